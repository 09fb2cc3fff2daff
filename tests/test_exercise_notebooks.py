"""The exercise notebooks: generated from solutions/, in sync, and their self-checks behave.

For every ``solutions/chNN_*.ipynb``:

(a) ``exercises/`` holds its generated counterpart, in sync
    (``course_lib.instructor.exercises --check``);
(b) the exercise notebook, generated afresh from the solution into a temporary folder and
    executed, runs without error up to its first self-check, and every ``selfcheck`` cell ends
    in ``CheckFailed`` ("not implemented yet"), shown without a traceback. From the first
    self-check on, only the exercises' own cells and their self-checks are run. The chapter's
    experiments between them feed no self-check, many fail on the unsolved answers anyway, and
    no test looks at their outputs; running them took 60 % of this test's time. A self-check
    that needed one would fail here with a ``NameError``, not pass;
(c) in the committed, executed solution notebook every self-check passed (no error, a "✔" line);
(d) the notebook has at least 5 self-checks, each right after a cell holding a solution region.

strict nbval (``make test``) re-executes the solution notebooks and compares their outputs, so
(c) reading the stored outputs is enough. Each exercise notebook is executed once per session.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import sys
from pathlib import Path

import ipykernel.kernelspec
import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from course_lib.instructor import exercises

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / exercises.SOLUTIONS_DIR).glob(exercises.NOTEBOOK_GLOB))
SELFCHECK_TAG = "selfcheck"
MIN_SELFCHECKS = 5
THIS_PYTHON = "course-tests-current-env"

pytestmark = pytest.mark.parametrize("solution", SOLUTIONS, ids=[p.name for p in SOLUTIONS])


class _CurrentEnvKernelSpecs(KernelSpecManager):
    """Serve one kernel: ipykernel in the interpreter running pytest (no installed kernelspec)."""

    def get_kernel_spec(self, kernel_name):
        if kernel_name == THIS_PYTHON:
            spec = ipykernel.kernelspec.get_kernel_dict()
            assert spec["argv"][0] == sys.executable
            return self.kernel_spec_class(resource_dir=ipykernel.kernelspec.RESOURCES, **spec)
        return super().get_kernel_spec(kernel_name)


def _is_selfcheck(cell) -> bool:
    return cell.cell_type == "code" and SELFCHECK_TAG in cell.get("metadata", {}).get("tags", [])


def _has_solution_region(cell) -> bool:
    return cell.cell_type == "code" and any(
        exercises.CODE_BEGIN.match(line) for line in cell.source.splitlines()
    )


def _errors(cell) -> list:
    return [out for out in cell.get("outputs", []) if out.output_type == "error"]


def _stdout(cell) -> str:
    return "".join(
        out.text
        for out in cell.get("outputs", [])
        if out.output_type == "stream" and out.name == "stdout"
    )


def _is_exercise(cell) -> bool:
    return cell.cell_type == "code" and bool(
        cell.get("metadata", {}).get("nbgrader", {}).get("solution")
    )


def _exercise_cells_only(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``nb`` up to its first self-check, then only the exercises' cells and self-checks."""
    first = next((i for i, cell in enumerate(nb.cells) if _is_selfcheck(cell)), len(nb.cells))
    keep = nb.cells[:first] + [
        cell for cell in nb.cells[first:] if _is_selfcheck(cell) or _is_exercise(cell)
    ]
    return nbformat.from_dict({**nb, "cells": keep})


_executed: dict[Path, nbformat.NotebookNode] = {}


def _kernel_env() -> dict[str, str] | None:
    """A fresh copy of :func:`_level_env` (worked out once per session), or ``None``."""
    env = _level_env()
    return None if env is None else dict(env)


@functools.cache
def _level_env() -> dict[str, str] | None:
    """The exercise kernels' environment: this process's, unless ``EXERCISE_ISA`` names a level
    of scripts/portability.py. CI does, after ``make portability`` left the solutions' compiled
    programs at that level in the course kernel's compilation cache (``.cache/jax``): the
    kernels then run at that level with that cache, and the cells an exercise notebook shares
    with its solution load those programs instead of compiling them again."""
    level = os.environ.get("EXERCISE_ISA", "").strip()
    if not level:
        return None
    spec = importlib.util.spec_from_file_location(
        "portability", ROOT / "scripts" / "portability.py"
    )
    portability = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(portability)
    env = portability.level_env(level, dict(os.environ))
    env.update(portability.cache_env(ROOT / ".cache" / "jax"))
    return env


@pytest.fixture
def executed_exercise(solution: Path, tmp_path_factory: pytest.TempPathFactory):
    """The exercise notebook generated from ``solution``, executed (errors allowed); cached."""
    if solution not in _executed:
        nb = _exercise_cells_only(
            exercises.generate_notebook(nbformat.read(solution, as_version=4), solution.name)
        )
        folder = tmp_path_factory.mktemp(solution.stem)
        nbformat.write(nb, folder / exercises.exercise_name(solution.name))
        km = KernelManager(kernel_name=THIS_PYTHON, kernel_spec_manager=_CurrentEnvKernelSpecs())
        client = NotebookClient(
            nb,
            km=km,
            allow_errors=True,
            timeout=300,
            resources={"metadata": {"path": str(folder)}},
        )
        try:
            env = _kernel_env()
            # its outputs are never compared
            client.execute(**({"env": env} if env else {}))
        finally:
            # nbclient stops only a kernel it started itself: this one is ours to stop (left
            # running, each held ~500 MB with JAX loaded and polled a core for the whole session)
            if km.has_kernel:
                km.shutdown_kernel(now=True)
        _executed[solution] = nb
    return _executed[solution]


# ------------------------------------------------------------------------------ (a)


def test_exercise_exists_and_is_in_sync(solution: Path, capsys: pytest.CaptureFixture[str]) -> None:
    exercise = ROOT / exercises.EXERCISES_DIR / exercises.exercise_name(solution.name)
    assert exercise.exists(), f"{exercise} is missing: run `make exercises`"
    status = exercises.main(["--check", "--root", str(ROOT), solution.name])
    output = capsys.readouterr()
    assert status == 0, f"exercises/{exercise.name} is out of sync:\n{output.out}{output.err}"


# ------------------------------------------------------------------------------ (b)


def test_unsolved_exercises_fail_their_selfchecks(
    solution: Path, executed_exercise: nbformat.NotebookNode
) -> None:
    cells = executed_exercise.cells
    selfchecks = [i for i, cell in enumerate(cells) if _is_selfcheck(cell)]
    assert selfchecks, "no selfcheck cells"
    # Up to the first self-check, the notebook runs cleanly (imports, statements, definitions).
    for i, cell in enumerate(cells[: selfchecks[0]]):
        assert not _errors(cell), f"cell {i} fails before any exercise: {_errors(cell)}"
    for i in selfchecks:
        errors = _errors(cells[i])
        assert len(errors) == 1, f"selfcheck cell {i} did not fail: {cells[i].source!r}"
        error = errors[0]
        assert error.ename == "CheckFailed", f"cell {i}: {error.ename}: {error.evalue}"
        assert "not implemented yet" in error.evalue, f"cell {i}: {error.evalue}"
        shown = "\n".join(error.traceback)
        assert "Traceback" not in shown and 'File "' not in shown, f"cell {i} shows a traceback"


# ------------------------------------------------------------------------------ (c)


def test_solution_selfchecks_pass(solution: Path) -> None:
    nb = nbformat.read(solution, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.execution_count is not None, f"cell {i} was not executed: commit it run"
            assert not _errors(cell), f"cell {i} has an error output: {_errors(cell)}"
        if _is_selfcheck(cell):
            assert "✔" in _stdout(cell), f"selfcheck cell {i} printed no ✔: {_stdout(cell)!r}"


# ------------------------------------------------------------------------------ (d)


def test_every_selfcheck_follows_an_exercise(solution: Path) -> None:
    nb = nbformat.read(solution, as_version=4)
    selfchecks = [i for i, cell in enumerate(nb.cells) if _is_selfcheck(cell)]
    assert len(selfchecks) >= MIN_SELFCHECKS, f"only {len(selfchecks)} selfcheck cells"
    for i in selfchecks:
        assert i > 0 and _has_solution_region(nb.cells[i - 1]), (
            f"selfcheck cell {i} does not follow a cell with a solution region"
        )
    assert nb.metadata["kernelspec"]["name"] == "dl-course"
