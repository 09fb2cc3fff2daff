"""The solution notebooks are nbgrader source notebooks, and nbgrader agrees with our generator.

nbgrader 0.9.5 is installed as a test-only dependency (requirements.in); ``make setup`` disables
its Jupyter extensions so that students' JupyterLab is unchanged, which the last test checks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import nbformat
import pytest

from course_lib.instructor import exercises

with warnings.catch_warnings():  # nbgrader 0.9.5's models warn under SQLAlchemy 2.1
    warnings.simplefilter("ignore")
    from nbgrader.nbgraderformat import MetadataValidator

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob(exercises.NOTEBOOK_GLOB))
BIN = Path(sys.executable).parent


@pytest.mark.parametrize("solution", SOLUTIONS, ids=[p.name for p in SOLUTIONS])
def test_nbgrader_accepts_every_solution_notebook(solution: Path) -> None:
    nb = nbformat.read(solution, as_version=4)
    MetadataValidator().validate_nb(nb)  # raises on anything nbgrader would refuse
    graded = [c for c in nb.cells if c.metadata["nbgrader"]["grade"] and c.cell_type == "code"]
    assert graded and all(c.metadata["nbgrader"]["points"] > 0 for c in graded)


def test_nbgrader_generate_assignment_equals_make_exercises(tmp_path: Path) -> None:
    """Chapter 1 has code solutions, written answers in markdown and hidden tests: nbgrader's
    own ``generate_assignment`` (with our stub as its ``code_stub``) gives the same cells."""
    name = "ch01_perceptron"
    source = tmp_path / "source" / name
    source.mkdir(parents=True)
    (source / f"{name}.ipynb").write_bytes((ROOT / "solutions" / f"{name}.ipynb").read_bytes())
    stub = "\n".join(exercises.CODE_STUB)
    (tmp_path / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(tmp_path)!r}\n"
        f"c.ClearSolutions.code_stub = {{'python': {stub!r}}}\n"
        f"c.ClearSolutions.text_stub = {exercises.MARKDOWN_STUB[0]!r}\n"
    )
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    run = subprocess.run(
        [str(BIN / "nbgrader"), "generate_assignment", name, "--force"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    released = tmp_path / "release" / name / f"{name}.ipynb"
    assert run.returncode == 0 and released.exists(), run.stdout + run.stderr

    theirs = nbformat.read(released, as_version=4)
    ours = exercises.generate_notebook(
        nbformat.read(ROOT / "solutions" / f"{name}.ipynb", as_version=4), f"{name}.ipynb"
    )
    assert [(c.cell_type, c.source) for c in theirs.cells] == [
        (c.cell_type, c.source) for c in ours.cells
    ]
    assert any("BEGIN HIDDEN TESTS" in c.source for c in theirs.cells) is False
    for mine, nbg in zip(ours.cells, theirs.cells, strict=True):
        for key in ("grade", "solution", "locked", "grade_id", "points"):
            assert mine.metadata["nbgrader"].get(key) == nbg.metadata["nbgrader"].get(key)


def test_nbgrader_extensions_are_off_in_jupyterlab() -> None:
    """Students get plain JupyterLab: nbgrader's server and lab extensions are disabled."""
    listing = subprocess.run(
        [str(BIN / "jupyter"), "server", "extension", "list"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [
        line
        for line in (listing.stdout + listing.stderr).splitlines()
        if line.strip().startswith("nbgrader.server_extensions.") and "abled" in line
    ]
    assert lines and all("disabled" in line for line in lines), lines
    page_config = Path(sys.prefix) / "etc" / "jupyter" / "labconfig" / "page_config.json"
    disabled = json.loads(page_config.read_text()).get("disabledExtensions", {})
    assert disabled.get("@jupyter/nbgrader") is True
