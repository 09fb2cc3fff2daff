"""Lessons free of plumbing, and figures a person can read: checks over every committed notebook."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(
    p for folder in ("notebooks", "solutions", "exercises") for p in (ROOT / folder).glob("*.ipynb")
)
EXECUTED = [p for p in NOTEBOOKS if p.parent.name != "exercises"]
IDS = lambda p: f"{p.parent.name}/{p.stem}"  # noqa: E731


def _code(path: Path) -> list[dict]:
    return [
        c for c in json.loads(path.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_test_plumbing_in_lessons(path: Path):
    """nbval markers live in cell tags, and compile-count checks live in tests/."""
    for i, cell in enumerate(_code(path)):
        src = "".join(cell["source"])
        assert "# NBVAL_" not in src, f"code cell {i}: use the nbval-* cell tag, not a comment"
        assert "_cache_size()" not in src, f"code cell {i}: compile-count checks belong in tests/"


@pytest.mark.parametrize("path", EXECUTED, ids=IDS)
def test_every_figure_has_alt_text(path: Path):
    """Each PNG output carries alt text, and nbconvert's HTML (the website) uses it."""
    missing = [
        i
        for i, cell in enumerate(_code(path))
        for out in cell.get("outputs", [])
        if "image/png" in out.get("data", {})
        and not str(out.get("metadata", {}).get("image/png", {}).get("alt", "")).strip()
    ]
    assert not missing, (
        f"figures without alt text in code cells {missing}: use plotting.show(fig, alt=...)"
    )
    nb = nbformat.read(path, as_version=4)
    # nbconvert's classic template writes the output's alt metadata into <img alt=...> and
    # counts (and names) the images without it; its lab template ignores alt for now
    html, _ = HTMLExporter(template_name="classic").from_notebook_node(nb)
    assert "No description has been provided for this image" not in html


@pytest.mark.parametrize("path", EXECUTED, ids=IDS)
def test_no_warning_or_error_in_committed_outputs(path: Path):
    """A student who opens a committed notebook sees no warning and no traceback (nbval does
    not compare stderr, so a warning would otherwise only show in the browser test)."""
    for i, cell in enumerate(_code(path)):
        for out in cell.get("outputs", []):
            assert out.get("output_type") != "error", f"code cell {i} stores an error"
            text = "".join(out.get("text", "")) if out.get("name") == "stderr" else ""
            assert not text, f"code cell {i} stores stderr output: {text[:300]}"
