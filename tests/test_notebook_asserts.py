"""Every ``assert`` in the course's notebooks carries a message.

A student whose run fails an assert should read what was expected (and, ideally, what came),
not a bare ``AssertionError``. This walks the code cells of every lecture, solution and
generated exercise notebook with :mod:`ast` and lists each ``assert`` that has no message,
by notebook, code-cell index (as nbval counts them) and line.

A second test makes sure the scan itself works: it finds the bare assert in a made-up cell
and accepts the one with a message, so an empty report cannot come from a broken parser.
"""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(
    p for folder in ("notebooks", "solutions", "exercises") for p in (ROOT / folder).glob("*.ipynb")
)


def _python_source(cell_source: str) -> str:
    """The cell with IPython magics and shell escapes blanked (line numbers kept)."""
    return "\n".join(
        "" if line.lstrip().startswith(("%", "!")) else line for line in cell_source.splitlines()
    )


def bare_asserts(nb: nbformat.NotebookNode) -> list[tuple[int, int, str]]:
    """(code-cell index, line, source) of each ``assert`` without a message."""
    found = []
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    for index, cell in enumerate(code_cells):
        source = _python_source(cell.source)
        tree = ast.parse(source)  # a cell that does not parse fails here, loudly
        lines = source.splitlines()
        for node in ast.walk(tree):
            if isinstance(node, ast.Assert) and node.msg is None:
                found.append((index, node.lineno, lines[node.lineno - 1].strip()))
    return found


def test_the_scan_finds_a_bare_assert_and_accepts_one_with_a_message():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("assert in prose is not code"),
        nbformat.v4.new_code_cell("%time x = 1\nassert x == 1, f'x should be 1, got {x}'"),
        nbformat.v4.new_code_cell("y = 2\nif y:\n    assert y == 2"),
    ]
    assert bare_asserts(nb) == [(1, 3, "assert y == 2")]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[f"{p.parent.name}/{p.name}" for p in NOTEBOOKS])
def test_every_assert_has_a_message(path):
    nb = nbformat.read(path, as_version=4)
    bare = bare_asserts(nb)
    listing = "\n".join(f"  code cell {i}, line {line}: {src}" for i, line, src in bare)
    assert not bare, (
        f"{path.relative_to(ROOT)}: {len(bare)} assert(s) without a message; give each one "
        f"that says what was expected (and what came):\n{listing}"
    )
