"""Generate the exercise notebooks in ``exercises/`` from the solution notebooks in ``solutions/``.

``solutions/`` is the single source: every ``solutions/chNN_*.ipynb`` becomes
``exercises/chNN_*_exercises.ipynb`` (see :func:`exercise_name`), with

- in code cells, every region from a line ``### BEGIN SOLUTION`` to a line ``### END SOLUTION``
  (both included) replaced, at the indentation of the BEGIN line, by::

      # YOUR CODE HERE
      raise NotImplementedError("...")

- in markdown cells, every region from ``<!-- BEGIN SOLUTION -->`` to ``<!-- END SOLUTION -->``
  replaced by ``YOUR ANSWER HERE``;
- in code cells, every region from ``### BEGIN HIDDEN TESTS`` to ``### END HIDDEN TESTS``
  removed: hidden tests stay in the solution notebook and are run only by the grader
  (:mod:`course_lib.instructor.grade`);
- cells tagged ``solution-only`` dropped, all outputs and execution counts cleared;
- cells that hold a solution region or a self-check made undeletable in JupyterLab, and
  self-checks also read-only (the standard ``deletable``/``editable`` cell metadata);
- ``metadata["course"]`` recording the source notebook, a hash of its cells, and a hash of the
  generated cells (``content_sha256``).

Every solution notebook carries nbgrader's cell metadata (schema 3): solution cells,
self-checks as autograded test cells with their ``points``, every other cell read-only, each with a
unique ``grade_id``, so that instructors who use nbgrader can use the notebooks unchanged.
``--annotate`` writes the missing metadata into ``solutions/`` (it never changes points already
set, nor anything but cell metadata); ``--check`` fails while any is missing.

A solution never reaches an exercise silently: unbalanced, nested or mis-typed markers
(``### begin solution``, ``### END SOLUTION here``), and a solution cell without a solution
region (nbgrader ``solution: true``, or, without metadata, the cell defining the function a
self-check tests), are errors that name the cell; nothing is written for that notebook, and
``--annotate`` refuses it too (:func:`solution_cell_problems`).

The recorded ``content_sha256`` is how a student's work is protected: an existing exercise whose
cells no longer hash to it has been edited, and is not overwritten unless ``--force`` is given,
in which case the edited file is first copied to ``<name>.ipynb.bak-YYYYmmdd-HHMMSS``.

Command line (from the repository root, or with ``--root``)::

    python -m course_lib.instructor.exercises [--force] [--check] [--annotate]
                                              [--root PATH] [NAME ...]

``--check`` writes nothing and exits 1 if any exercise is missing or differs from what would be
generated (cell types, sources and tags are compared). NAMEs select notebooks (``ch01_perceptron``,
``ch01_perceptron.ipynb`` or ``solutions/ch01_perceptron.ipynb``); the default is all of them.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import nbformat

SOLUTIONS_DIR = "solutions"
EXERCISES_DIR = "exercises"
NOTEBOOK_GLOB = "ch[0-9][0-9]*_*.ipynb"  # ch01_perceptron, ch02a_shallow_models, ...
SOLUTION_ONLY_TAG = "solution-only"
#: ``solutions/ch01_perceptron.ipynb`` becomes ``exercises/ch01_perceptron_exercises.ipynb``: in
#: JupyterLab a tab shows only the file name, and a lecture and its exercises open side by side.
EXERCISE_SUFFIX = "_exercises"


def exercise_name(solution_name: str) -> str:
    """The exercise notebook's file name for a solution notebook's (``ch01_x.ipynb`` ->
    ``ch01_x_exercises.ipynb``)."""
    return f"{solution_name.removesuffix('.ipynb')}{EXERCISE_SUFFIX}.ipynb"


def solution_name(exercise_name: str) -> str:
    """The inverse of :func:`exercise_name`; a name without the suffix comes back unchanged."""
    return f"{exercise_name.removesuffix('.ipynb').removesuffix(EXERCISE_SUFFIX)}.ipynb"


CODE_BEGIN = re.compile(r"^(?P<indent>[ \t]*)### BEGIN SOLUTION[ \t]*$")
CODE_END = re.compile(r"^[ \t]*### END SOLUTION[ \t]*$")
MARKDOWN_BEGIN = re.compile(r"^(?P<indent>[ \t]*)<!-- BEGIN SOLUTION -->[ \t]*$")
MARKDOWN_END = re.compile(r"^[ \t]*<!-- END SOLUTION -->[ \t]*$")
HIDDEN_BEGIN = re.compile(r"^(?P<indent>[ \t]*)### BEGIN HIDDEN TESTS[ \t]*$")
HIDDEN_END = re.compile(r"^[ \t]*### END HIDDEN TESTS[ \t]*$")
SELFCHECK_TAG = "selfcheck"
NBGRADER_SCHEMA = 3
DEFAULT_POINTS = 1

CODE_STUB = (
    "# YOUR CODE HERE",
    'raise NotImplementedError("Exercise: replace this with your code")',
)
MARKDOWN_STUB = ("YOUR ANSWER HERE",)

# Notebook-level metadata carried over from the solution; everything else (widget state, ...)
# is dropped. Cell-level "execution" timings are dropped too.
KEPT_NOTEBOOK_METADATA = ("kernelspec", "language_info")
DROPPED_CELL_METADATA = ("execution", "collapsed", "scrolled")


class SolutionMarkerError(ValueError):
    """A solution notebook's markers would leak or mangle a solution in the exercise.

    Raised for markers that are unbalanced, nested or mis-typed (``### begin solution``,
    ``### END SOLUTION here``), and for a solution cell without a solution region, which would
    otherwise be copied into the exercise whole.
    """


# A line that looks like a marker but is not one exactly (case, number of '#', spacing, a plural,
# text after it, the other cell type's syntax) marks a region that the generator would not see,
# so its solution would reach the exercise: such a line is an error, with a hint naming the typo.
_LOOSE_MARKER = re.compile(
    r"^[ \t]*(?:(?P<hashes>#+)|(?P<html><!-*))(?P<gap1>[ \t]*)(?P<kw>begin|end)(?P<gap2>[ \t]*)"
    r"(?P<what>solutions?|hidden(?P<gap3>[ \t]*)tests?)(?P<rest>.*)$",
    re.IGNORECASE,
)


def marker_typo(line: str, cell_type: str = "code") -> tuple[str, str] | None:
    """``(kind, hint)`` if a line looks like a mis-typed marker, else None.

    ``kind`` is ``"SOLUTION"`` or ``"HIDDEN TESTS"``; ``hint`` names the likely typo, e.g.
    ``"looks like a mis-typed '### BEGIN SOLUTION': markers are upper case"``. Exact markers
    (:data:`CODE_BEGIN`, ...) and ordinary lines give None.
    """
    text = line.rstrip("\r\n")
    match = _LOOSE_MARKER.match(text)
    if match is None:
        return None
    keyword, hidden = match["kw"].upper(), match["what"].lower().startswith("hidden")
    html = match["html"] is not None
    kind = "HIDDEN TESTS" if hidden else "SOLUTION"
    if cell_type == "code" and not html:
        exact = (HIDDEN_BEGIN, HIDDEN_END) if hidden else (CODE_BEGIN, CODE_END)
        if any(pattern.match(text) for pattern in exact):
            return None
    if cell_type == "markdown" and html and not hidden:
        if MARKDOWN_BEGIN.match(text) or MARKDOWN_END.match(text):
            return None
    if cell_type == "markdown" and hidden:
        return kind, (
            f"hidden tests belong in code cells ('### {keyword} HIDDEN TESTS'); in a markdown "
            "cell this line would be shown to students"
        )
    wanted = f"<!-- {keyword} SOLUTION -->" if cell_type == "markdown" else f"### {keyword} {kind}"
    if cell_type == "markdown" and not html:
        return kind, f"a code cell's marker in a markdown cell: a markdown answer uses {wanted!r}"
    if cell_type == "code" and html:
        return kind, f"a markdown marker in a code cell: a code cell uses {wanted!r}"

    reasons = []
    if match["kw"] != keyword or match["what"] != match["what"].upper():
        reasons.append("markers are upper case")
    if html and match["html"] != "<!--":
        reasons.append("a markdown marker opens with '<!--'")
    if not html and len(match["hashes"]) != 3:
        reasons.append(f"it starts with {len(match['hashes'])} '#', a marker with exactly three")
    what = match["what"].upper()
    if what == "SOLUTIONS" or (hidden and not what.endswith("TESTS")):
        reasons.append("HIDDEN TESTS, plural" if hidden else "SOLUTION, singular")
    gaps = [match["gap1"], match["gap2"]] + ([match["gap3"]] if hidden else [])
    rest = match["rest"]
    if html:
        closing = rest.lstrip(" \t")
        if not closing.startswith("-->"):
            reasons.append("a markdown marker closes with ' -->'")
        else:
            gaps.append(rest[: len(rest) - len(closing)])  # the space before '-->'
            if closing[3:].strip():
                reasons.append(f"text after the marker ({closing[3:].strip()!r}): it stands alone")
    elif rest.strip():
        reasons.append(
            f"text after the marker ({rest.strip()!r}): the marker stands alone on its line"
        )
    if any(gap != " " for gap in gaps):
        reasons.append("one space between its words")
    return kind, f"looks like a mis-typed {wanted!r}: " + "; ".join(reasons or ["check it"])


# ------------------------------------------------------------------------------ transforming


def strip_solutions(source: str, cell_type: str = "code", where: str = "") -> str:
    """Replace every solution region of one cell's source by the exercise stub.

    Args:
        source: the cell's source text.
        cell_type: ``"code"`` (``### BEGIN/END SOLUTION`` markers, replaced by ``# YOUR CODE
            HERE`` and ``raise NotImplementedError(...)`` at the BEGIN line's indentation) or
            ``"markdown"`` (``<!-- BEGIN/END SOLUTION -->``, replaced by ``YOUR ANSWER HERE``).
            Other cell types are returned unchanged.
        where: prefix for error messages, e.g. ``"solutions/ch01_x.ipynb, cell 3"``.

    Returns:
        The source with markers and everything between them replaced.

    Raises:
        SolutionMarkerError: a BEGIN inside a region, an END outside one, a BEGIN never closed,
            or a line that looks like a mis-typed marker (:func:`marker_typo`; in a markdown
            cell, hidden-tests markers too, which mean nothing there).
    """
    if cell_type == "code":
        return _replace_regions(
            source, CODE_BEGIN, CODE_END, CODE_STUB, "### BEGIN SOLUTION", "SOLUTION", where
        )
    if cell_type == "markdown":
        return _replace_regions(
            source,
            MARKDOWN_BEGIN,
            MARKDOWN_END,
            MARKDOWN_STUB,
            "<!-- BEGIN SOLUTION -->",
            "SOLUTION",
            where,
            cell_type="markdown",
        )
    return source


def strip_hidden_tests(source: str, where: str = "") -> str:
    """Remove every ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` region (markers too).

    Hidden tests are nbgrader's convention for tests that the grader runs but students never
    see. Raises :class:`SolutionMarkerError` on unbalanced, nested or mis-typed markers.
    """
    return _replace_regions(
        source, HIDDEN_BEGIN, HIDDEN_END, (), "### BEGIN HIDDEN TESTS", "HIDDEN TESTS", where
    )


def split_hidden_tests(source: str) -> tuple[str, str]:
    """(visible part, hidden part) of a test cell's source; the hidden part keeps no markers."""
    visible, hidden, inside = [], [], False
    for line in source.splitlines(keepends=True):
        text = line.rstrip("\r\n")
        if HIDDEN_BEGIN.match(text):
            inside = True
        elif HIDDEN_END.match(text):
            inside = False
        else:
            (hidden if inside else visible).append(line)
    return "".join(visible), "".join(hidden)


def _replace_regions(source, begin, end, stub, name, what, where, cell_type="code") -> str:
    prefix = f"{where}: " if where else ""
    out: list[str] = []
    open_line: int | None = None  # 1-based line number of the BEGIN marker of the open region
    for number, line in enumerate(source.splitlines(keepends=True), start=1):
        text = line.rstrip("\r\n")
        typo = marker_typo(text, cell_type)
        if typo is not None and (typo[0] == what or cell_type == "markdown"):
            raise SolutionMarkerError(f"{prefix}line {number}, {text.strip()!r}, {typo[1]}")
        if (match := begin.match(text)) is not None:
            if open_line is not None:
                raise SolutionMarkerError(
                    f"{prefix}nested {what.lower()} marker: {name!r} on line {number} while the "
                    f"region opened on line {open_line} is still open"
                )
            open_line = number
            indent = match["indent"]
            out.extend(f"{indent}{stub_line}\n" for stub_line in stub)
        elif end.match(text) is not None:
            if open_line is None:
                raise SolutionMarkerError(
                    f"{prefix}unbalanced {what.lower()} marker: END {what} on line {number} "
                    f"without a BEGIN {what} before it"
                )
            open_line = None
            if not line.endswith("\n") and out and out[-1].endswith("\n"):
                out[-1] = out[-1][:-1]  # the END line was the last, unterminated line
        elif open_line is None:
            out.append(line)
    if open_line is not None:
        raise SolutionMarkerError(
            f"{prefix}unbalanced {what.lower()} marker: {name!r} on line {open_line} is never "
            f"closed by an END {what} line"
        )
    return "".join(out)


# ------------------------------------------------------------------------------ nbgrader metadata


def has_solution_region(cell: Any) -> bool:
    """True if a code or markdown cell holds a solution region."""
    begin = {"code": CODE_BEGIN, "markdown": MARKDOWN_BEGIN}.get(cell.get("cell_type"))
    return begin is not None and any(begin.match(line) for line in _source(cell).splitlines())


def is_selfcheck(cell: Any) -> bool:
    """True for a code cell tagged ``selfcheck``: an autograded test cell."""
    return cell.get("cell_type") == "code" and SELFCHECK_TAG in cell.get("metadata", {}).get(
        "tags", []
    )


def _role(cell: Any) -> str:
    """test (a self-check), solution (code to write), answer (prose to write), or readonly."""
    if is_selfcheck(cell):
        return "test"
    if has_solution_region(cell):
        return "answer" if cell.get("cell_type") == "markdown" else "solution"
    return "readonly"


def _base_grade_id(cell: Any, role: str) -> str:
    source = _source(cell)
    if role == "test" and (match := re.search(r"checks\.(\w+)\s*\(", source)):
        return match[1]
    if role == "solution" and (match := re.search(r"^\s*def\s+(\w+)", source, re.M)):
        return f"{match[1]}-code"
    return f"cell-{cell.get('id') or 'x'}"


def _defined_functions(cell: Any) -> list[str]:
    """Names of the functions a code cell defines at its top level."""
    if cell.get("cell_type") != "code":
        return []
    return re.findall(r"^(?:async[ \t]+)?def[ \t]+(\w+)[ \t]*\(", _source(cell), re.M)


def _nbgrader(cell: Any) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def _cell_label(name: str, index: int, cell: Any) -> str:
    """``solutions/NAME, cell 4 (grade_id 'f-code', defines f())``: for error messages."""
    details = []
    if isinstance(grade_id := _nbgrader(cell).get("grade_id"), str):
        details.append(f"grade_id {grade_id!r}")
    if defined := _defined_functions(cell):
        details.append("defines " + ", ".join(f"{function}()" for function in defined))
    return f"{SOLUTIONS_DIR}/{name}, cell {index}" + (f" ({', '.join(details)})" if details else "")


def _tested_definitions(cells: Sequence[Any]) -> dict[int, tuple[str, int]]:
    """{index of a code cell: (function, index of the self-check that tests it)}.

    A self-check ``checks.f(f, ...)`` tests the function passed first; the cell that defines it
    is the nearest code cell above the self-check with a top-level ``def f(``.
    """
    found: dict[int, tuple[str, int]] = {}
    for check_index, check in enumerate(cells):
        if not is_selfcheck(check):
            continue
        for match in re.finditer(r"\bchecks\.\w+\s*\(\s*(\w+)", _source(check)):
            for index in range(check_index - 1, -1, -1):
                cell = cells[index]
                if not is_selfcheck(cell) and match[1] in _defined_functions(cell):
                    found.setdefault(index, (match[1], check_index))
                    break
    return found


_EXPECTED_REGION = {
    "code": "a '### BEGIN SOLUTION' line before the code students write and a "
    "'### END SOLUTION' line after it",
    "markdown": "a '<!-- BEGIN SOLUTION -->' line before the answer and a "
    "'<!-- END SOLUTION -->' line after it",
}


def solution_cell_problems(nb: nbformat.NotebookNode, name: str = "<notebook>") -> list[str]:
    """Every reason the generator cannot turn a solution notebook into an exercise safely.

    One message per cell (cells tagged ``solution-only`` are dropped from the exercise and not
    looked at), naming the cell (:func:`_cell_label`):

    - its markers are unbalanced, nested or mis-typed (:func:`strip_solutions`,
      :func:`strip_hidden_tests`, :func:`marker_typo`);
    - it is a solution cell but holds no solution region, so the whole cell, solution included,
      would be copied into the exercise. A cell is a solution cell when its nbgrader metadata
      says ``solution: true`` (self-checks aside: their tag makes them test cells, as in
      :func:`annotate`), or, when its metadata says nothing about it, when it defines the
      function a self-check below it tests (``checks.f(f)``). A function that students are
      meant to get as it is needs ``"solution": false`` in its cell's nbgrader metadata.

    The other disagreement, a solution region in a cell whose metadata says ``solution:
    false``, leaks nothing: the region is replaced like any other (the markers decide, as in
    :func:`annotate`), and :func:`annotation_problems` reports the metadata.
    """
    problems = []
    tested = _tested_definitions(nb.cells)
    for index, cell in enumerate(nb.cells):
        cell_type = cell.get("cell_type")
        tags = cell.get("metadata", {}).get("tags", [])
        if cell_type not in _EXPECTED_REGION or SOLUTION_ONLY_TAG in tags:
            continue
        label = _cell_label(name, index, cell)
        try:
            stripped = strip_solutions(_source(cell), cell_type, where=label)
            if cell_type == "code":
                strip_hidden_tests(stripped, where=label)
        except SolutionMarkerError as error:
            problems.append(str(error))
            continue
        if has_solution_region(cell):
            continue
        meta = _nbgrader(cell)
        if meta.get("solution") is True and not is_selfcheck(cell):
            why = "its nbgrader metadata says it is a solution cell (solution: true)"
        elif "solution" not in meta and index in tested:
            function, check_index = tested[index]
            why = (
                f"the self-check in cell {check_index} tests {function}(), so it is a solution cell"
            )
        else:
            continue
        problems.append(
            f"{label}: {why}, but it has no solution region, so the whole cell, solution "
            f"included, would be copied into the exercise. Expected {_EXPECTED_REGION[cell_type]}"
        )
    return problems


def annotate(
    nb: nbformat.NotebookNode, name: str = "<notebook>"
) -> tuple[nbformat.NotebookNode, int]:
    """A copy of a solution notebook with nbgrader metadata on every cell, and the count changed.

    Self-checks become autograded test cells (``grade``, ``locked``, ``points``: kept when set,
    else :data:`DEFAULT_POINTS`), code cells with a solution region become solution cells,
    markdown cells with one become manually graded answers (``grade`` and ``solution``, as
    nbgrader requires; 0 points unless set: the autograder skips them), the rest read-only.
    Existing ``grade_id``s are kept; new ones come from the checked function's name.

    Raises:
        SolutionMarkerError: :func:`solution_cell_problems` finds a problem. Annotating would
            otherwise call a solution cell whose markers were deleted or mis-typed read-only,
            and the generator would then copy its solution into the exercise.
    """
    if problems := solution_cell_problems(nb, name):
        raise SolutionMarkerError("\n".join(problems))
    nb = copy.deepcopy(nb)
    taken = {
        cell.metadata["nbgrader"]["grade_id"]
        for cell in nb.cells
        if "grade_id" in cell.get("metadata", {}).get("nbgrader", {})
    }
    changed = 0
    for cell in nb.cells:
        role = _role(cell)
        old = copy.deepcopy(cell.metadata.get("nbgrader", {}))
        meta = dict(old)
        if "grade_id" not in meta:
            base = grade_id = _base_grade_id(cell, role)
            counter = 2
            while grade_id in taken:
                grade_id, counter = f"{base}-{counter}", counter + 1
            taken.add(grade_id)
            meta["grade_id"] = grade_id
        meta.update(
            grade=role in ("test", "answer"),
            solution=role in ("solution", "answer"),
            locked=role in ("test", "readonly"),
            task=False,
            schema_version=NBGRADER_SCHEMA,
        )
        if role == "test":
            meta.setdefault("points", DEFAULT_POINTS)
        elif role == "answer":
            meta.setdefault("points", 0)
        else:
            meta.pop("points", None)
        if meta != old:
            cell.metadata["nbgrader"] = meta
            changed += 1
    return nb, changed


def annotation_problems(nb: nbformat.NotebookNode) -> list[str]:
    """What is missing or wrong in a solution notebook's nbgrader metadata (empty when fine)."""
    problems, seen = [], set()
    for index, cell in enumerate(nb.cells):
        meta, role = cell.get("metadata", {}).get("nbgrader"), _role(cell)
        if not isinstance(meta, dict) or "grade_id" not in meta:
            problems.append(f"cell {index}: no nbgrader metadata")
            continue
        if meta["grade_id"] in seen:
            problems.append(f"cell {index}: duplicate grade_id {meta['grade_id']!r}")
        seen.add(meta["grade_id"])
        if meta.get("grade") != (role in ("test", "answer")) or meta.get("solution") != (
            role in ("solution", "answer")
        ):
            problems.append(
                f"cell {index}: nbgrader flags do not match a {role} cell (it has solution="
                f"{meta.get('solution')!r}, grade={meta.get('grade')!r}; a {role} cell has "
                f"solution={role in ('solution', 'answer')}, grade={role in ('test', 'answer')})"
            )
        if role in ("test", "answer"):
            points = meta.get("points")
            least = 0 if role == "answer" else 1e-12
            if not isinstance(points, int | float) or isinstance(points, bool) or points < least:
                wanted = "a number >= 0" if role == "answer" else "a positive number"
                problems.append(f"cell {index}: points must be {wanted}, got {points!r}")
    return problems


def content_hash(nb: nbformat.NotebookNode) -> str:
    """sha256 of a notebook's cell types and sources, in order (outputs and metadata ignored)."""
    cells = [[cell.cell_type, _source(cell)] for cell in nb.cells]
    payload = json.dumps(cells, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def generate_notebook(
    solution_nb: nbformat.NotebookNode, name: str = "<notebook>"
) -> nbformat.NotebookNode:
    """Build the exercise notebook for one solution notebook (the input is not modified).

    Args:
        solution_nb: the solution notebook (nbformat 4).
        name: its file name, for ``metadata.course.generated_from`` and error messages.

    Raises:
        SolutionMarkerError: :func:`solution_cell_problems` finds a problem: markers unbalanced,
            nested or mis-typed, or a solution cell without a solution region. The message has
            one line per cell, naming the notebook, the cell index, its grade_id and the
            function it defines.
    """
    if problems := solution_cell_problems(solution_nb, name):
        raise SolutionMarkerError("\n".join(problems))
    cells = []
    for cell in solution_nb.cells:
        if SOLUTION_ONLY_TAG in cell.get("metadata", {}).get("tags", []):
            continue
        new = copy.deepcopy(cell)
        new.source = strip_solutions(_source(cell), cell.cell_type)
        if cell.cell_type == "code":
            new.source = strip_hidden_tests(new.source)
        for key in DROPPED_CELL_METADATA:
            new.metadata.pop(key, None)
        if is_selfcheck(cell) or has_solution_region(cell):
            new.metadata["deletable"] = False  # JupyterLab refuses to delete it
        if is_selfcheck(cell):
            new.metadata["editable"] = False  # the grader runs its own copy anyway
        if new.cell_type == "code":
            new.outputs = []
            new.execution_count = None
        cells.append(new)

    metadata = {
        key: copy.deepcopy(solution_nb.metadata[key])
        for key in KEPT_NOTEBOOK_METADATA
        if key in solution_nb.metadata
    }
    exercise = nbformat.v4.new_notebook(cells=cells, metadata=metadata)
    exercise.nbformat_minor = max(solution_nb.get("nbformat_minor", 4), 4)
    exercise.metadata["course"] = {
        "generated_from": f"{SOLUTIONS_DIR}/{name}",
        "source_sha256": content_hash(solution_nb),
        "content_sha256": content_hash(exercise),
    }
    return nbformat.from_dict(exercise)


def notebook_text(nb: nbformat.NotebookNode) -> str:
    """Serialize exactly as ``nbformat.write`` does (indent 1, sorted keys, final newline)."""
    nbformat.validate(nb)
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


def _source(cell: Any) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


_SIGNED_METADATA = ("tags", "nbgrader", "deletable", "editable")


def _signature(nb: nbformat.NotebookNode) -> list[tuple[str, str, str]]:
    """What --check compares: each cell's type, source, tags, nbgrader and lock metadata."""
    return [
        (
            cell.cell_type,
            _source(cell),
            json.dumps(
                {k: cell.get("metadata", {}).get(k) for k in _SIGNED_METADATA}, sort_keys=True
            ),
        )
        for cell in nb.cells
    ]


# ------------------------------------------------------------------------------ files


def _write_atomically(path: Path, text: str) -> None:
    """Write text to path through a temporary file in the same folder and os.replace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _backup_path(path: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    candidate = path.with_name(f"{path.name}.bak-{stamp}")
    counter = 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.bak-{stamp}-{counter}")
        counter += 1
    return candidate


def _read(path: Path) -> nbformat.NotebookNode | None:
    """The notebook at path, or None if it cannot be parsed."""
    try:
        return nbformat.read(path, as_version=4)
    except Exception:  # unreadable JSON, wrong format: treat as an edited file
        return None


def _is_edited(nb: nbformat.NotebookNode | None) -> bool:
    """True if the notebook's cells no longer hash to the content_sha256 recorded in it."""
    if nb is None:
        return True
    recorded = nb.metadata.get("course", {}).get("content_sha256")
    return recorded is None or recorded != content_hash(nb)


def _default_root() -> Path:
    """The current folder or its nearest parent that has solutions/; else the package's parent."""
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / SOLUTIONS_DIR).is_dir():
            return folder
    return Path(__file__).resolve().parent.parent


def _select(solutions: list[Path], names: Sequence[str]) -> list[Path]:
    if not names:
        return solutions
    by_stem = {path.stem: path for path in solutions}
    chosen = []
    for name in names:
        stem = solution_name(Path(name).name).removesuffix(".ipynb")
        if stem not in by_stem:
            raise SystemExit(f"error: no solution notebook {SOLUTIONS_DIR}/{stem}.ipynb")
        chosen.append(by_stem[stem])
    return chosen


# ------------------------------------------------------------------------------ command line


def _annotate_files(paths: list[Path]) -> int:
    status = 0
    for path in paths:
        shown = f"{SOLUTIONS_DIR}/{path.name}"
        try:
            nb, changed = annotate(nbformat.read(path, as_version=4), path.name)
        except SolutionMarkerError as error:
            print(f"error: {error}\nnot annotated: {shown}", file=sys.stderr)
            status = 1
            continue
        if changed:
            _write_atomically(path, notebook_text(nb))
            print(f"annotated: {shown} ({changed} cell(s))")
        else:
            print(f"already annotated: {shown}")
    return status


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 refused/out of date/bad markers)."""
    parser = argparse.ArgumentParser(
        prog="python -m course_lib.instructor.exercises",
        description="Generate exercises/ from solutions/ (never overwrites edited exercises).",
    )
    parser.add_argument("names", nargs="*", help="notebooks to process (default: all)")
    parser.add_argument(
        "--force",
        action="store_true",
        help="regenerate edited exercises too; the edited file is kept as <name>.ipynb.bak-<time>",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if any exercise is missing or out of date",
    )
    parser.add_argument(
        "--annotate",
        action="store_true",
        help="write missing nbgrader cell metadata into solutions/ (points already set are kept)",
    )
    parser.add_argument(
        "--root", type=Path, default=None, help="repository root (default: found from cwd)"
    )
    args = parser.parse_args(argv)
    if args.check and args.force:
        parser.error("--check and --force exclude each other")
    if args.annotate and (args.check or args.force):
        parser.error("--annotate runs alone")

    root = (args.root or _default_root()).resolve()
    solutions_dir, exercises_dir = root / SOLUTIONS_DIR, root / EXERCISES_DIR
    solutions = sorted(solutions_dir.glob(NOTEBOOK_GLOB)) if solutions_dir.is_dir() else []
    if not solutions:
        print(f"no {SOLUTIONS_DIR}/{NOTEBOOK_GLOB} notebooks under {root}; nothing to do")
        return 0
    selected = _select(solutions, args.names)
    if args.annotate:
        return _annotate_files(selected)

    problems = 0
    for solution_path in selected:
        name = solution_path.name
        target = exercises_dir / exercise_name(name)
        shown = f"{EXERCISES_DIR}/{target.name}"
        solution_nb = nbformat.read(solution_path, as_version=4)
        if args.check and (missing := annotation_problems(solution_nb)):
            print(
                f"not annotated: {SOLUTIONS_DIR}/{name}: {missing[0]}"
                + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
                + "; run `python -m course_lib.instructor.exercises --annotate`"
            )
            problems += 1
        try:
            exercise = generate_notebook(solution_nb, name)
        except SolutionMarkerError as error:
            print(f"error: {error}", file=sys.stderr)
            problems += 1
            continue
        text = notebook_text(exercise)
        existing = _read(target) if target.exists() else None

        if args.check:
            if not target.exists():
                print(f"missing: {shown} (run `make exercises`)")
                problems += 1
            elif existing is None or _signature(existing) != _signature(exercise):
                why = "edited by hand" if _is_edited(existing) else "out of date"
                print(f"differs: {shown} ({why}; run `make exercises`)")
                problems += 1
            continue

        if not target.exists():
            _write_atomically(target, text)
            print(f"created: {shown}")
        elif (
            existing is not None
            and _signature(existing) == _signature(exercise)
            and existing.metadata.get("course") == exercise.metadata["course"]
        ):
            print(f"up to date: {shown}")
        elif _is_edited(existing):
            backup = _backup_path(target)
            if not args.force:
                print(
                    f"{shown} has been edited since it was generated; not overwritten. "
                    f"Use --force to regenerate (your version will be kept as "
                    f"{EXERCISES_DIR}/{backup.name})",
                    file=sys.stderr,
                )
                problems += 1
                continue
            shutil.copy2(target, backup)
            _write_atomically(target, text)
            print(
                f"regenerated: {shown} "
                f"(your edited version is kept as {EXERCISES_DIR}/{backup.name})"
            )
        else:
            _write_atomically(target, text)
            print(f"updated: {shown}")

    if not args.names:
        expected = {exercise_name(path.name) for path in solutions}
        sources = {path.name for path in solutions}
        for orphan in sorted(exercises_dir.glob(NOTEBOOK_GLOB)) if exercises_dir.is_dir() else []:
            if orphan.name in expected:
                continue
            source = solution_name(orphan.name)
            if source in sources:  # the name exercises had before they got their suffix
                print(
                    f"orphaned: {EXERCISES_DIR}/{orphan.name} is the old name; "
                    f"{SOLUTIONS_DIR}/{source} now generates {EXERCISES_DIR}/"
                    f"{exercise_name(source)} (nothing was deleted)"
                )
            else:
                print(f"orphaned: {EXERCISES_DIR}/{orphan.name} has no {SOLUTIONS_DIR}/{source}")
            problems += args.check

    if problems:
        verb = "out of sync" if args.check else "not generated"
        print(f"{problems} exercise notebook(s) {verb}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
