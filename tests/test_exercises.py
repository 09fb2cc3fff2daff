"""Tests for course_lib.instructor.exercises, the exercises/ generator, on notebooks in tmp_path."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from course_lib.instructor import exercises
from course_lib.instructor.exercises import (
    SolutionMarkerError,
    annotate,
    annotation_problems,
    content_hash,
    generate_notebook,
    main,
    split_hidden_tests,
    strip_hidden_tests,
    strip_solutions,
)

NAME = "ch01_demo.ipynb"
EX_NAME = "ch01_demo_exercises.ipynb"  # what solutions/NAME generates in exercises/

SOLVED_FUNCTION = """\
def add(a, b):
    \"\"\"Sum of a and b.\"\"\"
    ### BEGIN SOLUTION
    result = a + b
    return result
    ### END SOLUTION
"""


def solution_notebook() -> nbformat.NotebookNode:
    """A small solution notebook: prose, a solved function, a solution-only cell, a check."""
    solved = new_code_cell(SOLVED_FUNCTION, execution_count=3)
    solved.outputs = [new_output("stream", name="stdout", text="hi\n")]
    cells = [
        new_markdown_cell(
            "# Adding\nWhy?\n<!-- BEGIN SOLUTION -->\nBecause.\n<!-- END SOLUTION -->\nEnd."
        ),
        solved,
        new_code_cell("print('teacher only')", metadata={"tags": ["solution-only"]}),
        new_code_cell("assert add(1, 2) == 3", metadata={"tags": ["keep-me"]}),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "dl-course", "display_name": "DL", "language": "python"}
    nb.metadata["widgets"] = {"state": {}}
    return nb


def make_repo(tmp_path: Path, nb: nbformat.NotebookNode | None = None) -> Path:
    (tmp_path / "solutions").mkdir()
    nbformat.write(annotate(nb or solution_notebook())[0], tmp_path / "solutions" / NAME)
    return tmp_path


def run(root: Path, *args: str) -> int:
    return main(["--root", str(root), *args])


# ------------------------------------------------------------------------------ strip_solutions


def test_code_region_replaced_at_marker_indentation() -> None:
    assert strip_solutions(SOLVED_FUNCTION) == (
        "def add(a, b):\n"
        '    """Sum of a and b."""\n'
        "    # YOUR CODE HERE\n"
        f"    {exercises.CODE_STUB[1]}\n"
    )


def test_several_regions_and_unterminated_last_line() -> None:
    source = (
        "x = 1\n### BEGIN SOLUTION\ny = 2\n### END SOLUTION\n"
        "z = 3\n  ### BEGIN SOLUTION\n  w\n  ### END SOLUTION"
    )
    stripped = strip_solutions(source)
    assert stripped.count("# YOUR CODE HERE") == 2
    assert "y = 2" not in stripped and "  w" not in stripped
    assert stripped.startswith("x = 1\n# YOUR CODE HERE\nraise NotImplementedError(")
    assert "z = 3\n  # YOUR CODE HERE\n  raise NotImplementedError(" in stripped
    assert not stripped.endswith("\n")


def test_source_without_markers_is_unchanged() -> None:
    assert strip_solutions("a = 1\n# ### not a marker\n") == "a = 1\n# ### not a marker\n"


def test_markdown_region_replaced() -> None:
    source = "Q?\n<!-- BEGIN SOLUTION -->\nSecret.\n<!-- END SOLUTION -->\n"
    assert strip_solutions(source, "markdown") == "Q?\nYOUR ANSWER HERE\n"
    # code markers do not mark a region in markdown, nor the other way round: the solution
    # would be copied, so the wrong cell type's marker is an error that says which one to use
    with pytest.raises(SolutionMarkerError, match="a markdown answer uses '<!-- BEGIN SOLUTION"):
        strip_solutions("### BEGIN SOLUTION\nSecret.\n", "markdown")
    with pytest.raises(SolutionMarkerError, match="a code cell uses '### END SOLUTION'"):
        strip_solutions("<!-- END SOLUTION -->\n")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("### BEGIN SOLUTION\nx = 1\n", "never closed"),
        ("x = 1\n### END SOLUTION\n", "without a BEGIN"),
        ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n", "nested"),
    ],
)
def test_bad_markers_raise(source: str, message: str) -> None:
    with pytest.raises(SolutionMarkerError, match=message):
        strip_solutions(source, where="nb.ipynb, cell 7")


def test_bad_markers_error_names_notebook_and_cell() -> None:
    nb = solution_notebook()
    nb.cells[3].source = "### BEGIN SOLUTION\nx = 1"
    with pytest.raises(SolutionMarkerError, match=r"solutions/ch01_demo\.ipynb, cell 3: "):
        generate_notebook(nb, NAME)


# ------------------------------------------------------------------------------ generate_notebook


def test_generated_notebook() -> None:
    solution = solution_notebook()
    before = nbformat.writes(solution)
    exercise = generate_notebook(solution, NAME)

    assert nbformat.writes(solution) == before  # input untouched
    assert [cell.cell_type for cell in exercise.cells] == ["markdown", "code", "code"]
    assert "teacher only" not in nbformat.writes(exercise)  # solution-only cell dropped
    assert exercise.cells[0].source == "# Adding\nWhy?\nYOUR ANSWER HERE\nEnd."
    assert "result = a + b" not in exercise.cells[1].source
    assert "    # YOUR CODE HERE\n" in exercise.cells[1].source
    for cell in exercise.cells[1:]:
        assert cell.outputs == [] and cell.execution_count is None
    assert exercise.cells[2].metadata["tags"] == ["keep-me"]
    nbformat.validate(exercise)

    assert exercise.metadata["kernelspec"]["name"] == "dl-course"
    assert "widgets" not in exercise.metadata
    course = exercise.metadata["course"]
    assert course["generated_from"] == "solutions/ch01_demo.ipynb"
    assert course["source_sha256"] == content_hash(solution)
    assert course["content_sha256"] == content_hash(exercise)


def test_generation_is_deterministic(tmp_path: Path) -> None:
    solution = annotate(solution_notebook())[0]  # random cell ids: build it once
    first = exercises.notebook_text(generate_notebook(solution, NAME))
    second = exercises.notebook_text(generate_notebook(nbformat.from_dict(solution), NAME))
    assert first == second and first.endswith("}\n")

    root = make_repo(tmp_path, solution)
    assert run(root) == 0
    written = (root / "exercises" / EX_NAME).read_bytes()
    assert written == first.encode("utf-8")
    # byte-for-byte what nbformat.write produces for the same notebook
    nbformat.write(
        nbformat.read(root / "exercises" / EX_NAME, as_version=4), tmp_path / "again.ipynb"
    )
    assert (tmp_path / "again.ipynb").read_bytes() == written
    assert run(root) == 0
    assert (root / "exercises" / EX_NAME).read_bytes() == written


def test_content_hash_ignores_outputs_but_not_sources() -> None:
    nb = generate_notebook(solution_notebook(), NAME)
    ran = nbformat.from_dict(nb)
    ran.cells[2].outputs = [new_output("stream", name="stdout", text="ok\n")]
    ran.cells[2].execution_count = 5
    assert content_hash(ran) == content_hash(nb)
    ran.cells[1].source += "x = 1\n"
    assert content_hash(ran) != content_hash(nb)


# ------------------------------------------------------------------------------ command line


def test_check_detects_missing_and_stale(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = make_repo(tmp_path)
    assert run(root, "--check") == 1
    assert "missing: exercises/ch01_demo_exercises.ipynb" in capsys.readouterr().out
    assert not (root / "exercises").exists()  # --check writes nothing

    assert run(root) == 0
    assert run(root, "--check") == 0

    solution = solution_notebook()
    solution.cells[3].source = "assert add(2, 2) == 4"
    nbformat.write(annotate(solution)[0], root / "solutions" / NAME)
    capsys.readouterr()
    before = (root / "exercises" / EX_NAME).read_bytes()
    assert run(root, "--check") == 1
    assert "differs: exercises/ch01_demo_exercises.ipynb (out of date" in capsys.readouterr().out
    assert (root / "exercises" / EX_NAME).read_bytes() == before


def test_check_passes_when_only_outputs_differ(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    assert run(root) == 0
    target = root / "exercises" / EX_NAME
    nb = nbformat.read(target, as_version=4)
    nb.cells[2].outputs = [new_output("stream", name="stdout", text="ran\n")]
    nbformat.write(nb, target)
    assert run(root, "--check") == 0


def test_unedited_stale_exercise_is_regenerated(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    root = make_repo(tmp_path)
    assert run(root) == 0
    solution = solution_notebook()
    solution.cells.append(new_code_cell("print('new cell')"))
    nbformat.write(annotate(solution)[0], root / "solutions" / NAME)
    capsys.readouterr()

    assert run(root) == 0
    assert "updated: exercises/ch01_demo_exercises.ipynb" in capsys.readouterr().out
    regenerated = nbformat.read(root / "exercises" / EX_NAME, as_version=4)
    assert regenerated.cells[-1].source == "print('new cell')"
    assert list((root / "exercises").glob("*.bak-*")) == []
    assert run(root, "--check") == 0


def test_up_to_date_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = make_repo(tmp_path)
    assert run(root) == 0
    assert "created: exercises/ch01_demo_exercises.ipynb" in capsys.readouterr().out
    assert run(root, "ch01_demo") == 0
    assert "up to date: exercises/ch01_demo_exercises.ipynb" in capsys.readouterr().out


def test_edited_exercise_is_refused_then_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    root = make_repo(tmp_path)
    assert run(root) == 0
    target = root / "exercises" / EX_NAME
    student = nbformat.read(target, as_version=4)
    student.cells[1].source = "def add(a, b):\n    return a + b  # my answer\n"
    nbformat.write(student, target)
    edited = target.read_bytes()

    solution = solution_notebook()  # the solution changes too: the exercise is stale AND edited
    solution.cells[3].source = "assert add(2, 2) == 4"
    nbformat.write(annotate(solution)[0], root / "solutions" / NAME)
    capsys.readouterr()

    assert run(root) == 1
    err = capsys.readouterr().err
    assert (
        "exercises/ch01_demo_exercises.ipynb has been edited since it was generated; "
        "not overwritten" in err
    )
    assert "Use --force to regenerate" in err
    assert target.read_bytes() == edited
    assert list((root / "exercises").glob("*.bak-*")) == []

    assert run(root, "--check") == 1
    assert "edited by hand" in capsys.readouterr().out

    assert run(root, "--force") == 0
    out = capsys.readouterr().out
    backups = list((root / "exercises").glob(f"{EX_NAME}.bak-*"))
    assert len(backups) == 1
    assert backups[0].read_bytes() == edited
    assert f"kept as exercises/{backups[0].name}" in out
    regenerated = nbformat.read(target, as_version=4)
    assert "my answer" not in nbformat.writes(regenerated)
    assert regenerated.cells[2].source == "assert add(2, 2) == 4"
    assert run(root, "--check") == 0
    # backups are not notebooks: they are neither checked nor reported as orphans
    assert "orphaned" not in capsys.readouterr().out


def test_exercise_without_record_counts_as_edited(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    (root / "exercises").mkdir()
    nbformat.write(new_notebook(cells=[new_code_cell("mine = 1")]), root / "exercises" / EX_NAME)
    before = (root / "exercises" / EX_NAME).read_bytes()
    assert run(root) == 1
    assert (root / "exercises" / EX_NAME).read_bytes() == before


def test_bad_markers_exit_nonzero_with_message(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    nb = annotate(solution_notebook())[0]
    nb.cells[1].source = SOLVED_FUNCTION.replace("### BEGIN SOLUTION\n", "")
    root = make_repo(tmp_path)
    nbformat.write(nb, root / "solutions" / NAME)
    assert run(root) == 1
    assert (
        "solutions/ch01_demo.ipynb, cell 1 (grade_id 'add-code', defines add()): unbalanced"
        in capsys.readouterr().err
    )
    assert not (root / "exercises" / EX_NAME).exists()


def test_orphan_exercise_fails_check(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = make_repo(tmp_path)
    assert run(root) == 0
    nbformat.write(new_notebook(), root / "exercises" / "ch09_gone.ipynb")
    assert run(root, "--check") == 1
    assert "orphaned: exercises/ch09_gone.ipynb" in capsys.readouterr().out


def test_an_exercise_under_its_old_name_is_reported_and_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Exercises were named like their solutions before they got the _exercises suffix: a copy
    under the old name is a student's or an instructor's file, never deleted."""
    root = make_repo(tmp_path)
    assert run(root) == 0
    old = root / "exercises" / NAME
    nbformat.write(new_notebook(cells=[new_code_cell("mine = 1")]), old)
    before = old.read_bytes()
    assert run(root) == 0  # generating is not blocked by it
    out = capsys.readouterr().out
    assert (
        "orphaned: exercises/ch01_demo.ipynb is the old name; solutions/ch01_demo.ipynb now "
        "generates exercises/ch01_demo_exercises.ipynb (nothing was deleted)" in out
    )
    assert old.read_bytes() == before
    assert run(root, "--check") == 1


def test_names_select_by_solution_or_exercise_file(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    for name in ("ch01_demo", NAME, f"solutions/{NAME}", f"exercises/{EX_NAME}", EX_NAME):
        assert run(root, name) == 0, name
    assert (root / "exercises" / EX_NAME).exists()
    assert exercises.exercise_name(NAME) == EX_NAME
    assert exercises.solution_name(EX_NAME) == NAME
    assert exercises.solution_name(NAME) == NAME


def test_unknown_name_and_empty_repo(tmp_path: Path) -> None:
    assert run(tmp_path, "--check") == 0  # no solutions/: nothing to do
    root = make_repo(tmp_path)
    with pytest.raises(SystemExit, match="no solution notebook"):
        run(root, "ch02_nope")


def test_lettered_chapter_notebooks_are_found_and_other_files_ignored(tmp_path: Path) -> None:
    """ch02a_..., ch03b_... are exercise sources too; backups and non-chapter files are not."""
    root = make_repo(tmp_path)
    for extra in ["ch02a_shallow.ipynb", "ch03b_optim.ipynb"]:
        nbformat.write(annotate(solution_notebook())[0], root / "solutions" / extra)
    for ignored in ["ch02a_shallow.ipynb.bak-20260101-000000", "notes.ipynb", "chapter2.ipynb"]:
        (root / "solutions" / ignored).write_text("{}")
    assert run(root) == 0
    made = sorted(p.name for p in (root / "exercises").iterdir())
    assert made == [
        "ch01_demo_exercises.ipynb",
        "ch02a_shallow_exercises.ipynb",
        "ch03b_optim_exercises.ipynb",
    ]
    assert run(root, "--check", "ch02a_shallow") == 0


# ------------------------------------------------------------------------------ hidden tests


def test_hidden_tests_are_removed_from_the_exercise() -> None:
    source = "check(f)\n### BEGIN HIDDEN TESTS\nassert f(2) == 4\n### END HIDDEN TESTS\nprint('ok')"
    assert strip_hidden_tests(source) == "check(f)\nprint('ok')"
    assert split_hidden_tests(source) == ("check(f)\nprint('ok')", "assert f(2) == 4\n")
    assert strip_hidden_tests(
        "check(f)\n### BEGIN HIDDEN TESTS\nassert 0\n### END HIDDEN TESTS"
    ) == ("check(f)")
    with pytest.raises(SolutionMarkerError, match="never closed"):
        strip_hidden_tests("### BEGIN HIDDEN TESTS\nassert 0\n")
    with pytest.raises(SolutionMarkerError, match="without a BEGIN HIDDEN TESTS"):
        strip_hidden_tests("### END HIDDEN TESTS\n")

    nb = solution_notebook()
    hidden = "### BEGIN HIDDEN TESTS\nassert add(5, 5) == 10\n### END HIDDEN TESTS"
    nb.cells[3].source = "assert add(1, 2) == 3\n" + hidden
    exercise = generate_notebook(nb, NAME)
    assert exercise.cells[2].source == "assert add(1, 2) == 3"
    assert "add(5, 5)" not in nbformat.writes(exercise)


# ------------------------------------------------------------------------------ nbgrader metadata


def graded_notebook() -> nbformat.NotebookNode:
    nb = solution_notebook()
    nb.cells[3].metadata["tags"] = ["selfcheck"]
    nb.cells[3].source = "checks.add(add)"
    return nb


def test_annotate_marks_solution_test_and_readonly_cells() -> None:
    nb = graded_notebook()
    assert annotation_problems(nb)  # nothing annotated yet
    annotated, changed = annotate(nb)
    assert changed == 4 and "nbgrader" not in nb.cells[0].metadata  # input untouched
    meta = [cell.metadata["nbgrader"] for cell in annotated.cells]
    # the markdown region is a manually graded answer (nbgrader wants grade and solution)
    assert [m["solution"] for m in meta] == [True, True, False, False]
    assert [m["grade"] for m in meta] == [True, False, False, True]
    assert [m["locked"] for m in meta] == [False, False, True, True]
    assert meta[0]["points"] == 0
    assert meta[1]["grade_id"] == "add-code" and meta[3]["grade_id"] == "add"
    assert meta[3]["points"] == exercises.DEFAULT_POINTS and "points" not in meta[1]
    assert all(m["schema_version"] == 3 for m in meta)
    assert annotation_problems(annotated) == []
    again, changed = annotate(annotated)
    assert changed == 0 and again == annotated


def test_annotate_keeps_points_and_grade_ids_and_makes_ids_unique() -> None:
    nb = graded_notebook()
    nb.cells[3].metadata["nbgrader"] = {"points": 3, "grade_id": "my-add"}
    nb.cells.append(new_code_cell("checks.add(add)", metadata={"tags": ["selfcheck"]}))
    annotated, _ = annotate(nb)
    assert annotated.cells[3].metadata["nbgrader"]["points"] == 3
    assert annotated.cells[3].metadata["nbgrader"]["grade_id"] == "my-add"
    assert annotated.cells[4].metadata["nbgrader"]["grade_id"] == "add"
    nb.cells.append(new_code_cell("checks.add(add)", metadata={"tags": ["selfcheck"]}))
    ids = [c.metadata["nbgrader"]["grade_id"] for c in annotate(nb)[0].cells]
    assert len(ids) == len(set(ids)) and "add-2" in ids


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda nb: nb.cells[0].metadata.pop("nbgrader"), "no nbgrader metadata"),
        (lambda nb: nb.cells[3].metadata["nbgrader"].update(points=0), "points must be positive"),
        (lambda nb: nb.cells[3].metadata["nbgrader"].update(points="2"), "points must be positive"),
        (lambda nb: nb.cells[2].metadata["nbgrader"].update(grade_id="add"), "duplicate grade_id"),
        (lambda nb: nb.cells[1].metadata["nbgrader"].update(solution=False), "do not match"),
        (lambda nb: nb.cells[0].metadata["nbgrader"].update(grade=False), "do not match"),
        (lambda nb: nb.cells[0].metadata["nbgrader"].update(points=-1), "a number >= 0"),
    ],
)
def test_annotation_problems_are_reported(edit, message: str) -> None:
    nb, _ = annotate(graded_notebook())
    edit(nb)
    assert any(
        message.replace("positive", "a positive number") in p for p in annotation_problems(nb)
    )


def test_check_fails_on_unannotated_solutions_and_annotate_fixes_them(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    (tmp_path / "solutions").mkdir()
    path = tmp_path / "solutions" / NAME
    nbformat.write(graded_notebook(), path)
    assert run(tmp_path) == 0  # generating works without metadata
    assert run(tmp_path, "--check") == 1
    assert "not annotated: solutions/ch01_demo.ipynb" in capsys.readouterr().out
    before = nbformat.read(path, as_version=4)
    assert run(tmp_path, "--annotate") == 0
    after = nbformat.read(path, as_version=4)
    assert [c.source for c in after.cells] == [c.source for c in before.cells]
    assert [c.get("outputs") for c in after.cells] == [c.get("outputs") for c in before.cells]
    assert annotation_problems(after) == []
    assert run(tmp_path) == 0 and run(tmp_path, "--check") == 0
    assert run(tmp_path, "--annotate") == 0
    assert "already annotated" in capsys.readouterr().out


def test_exercise_cells_are_protected_in_jupyterlab() -> None:
    exercise = generate_notebook(annotate(graded_notebook())[0], NAME)
    code, check = exercise.cells[1], exercise.cells[2]
    assert code.metadata["deletable"] is False and "editable" not in code.metadata
    assert check.metadata["deletable"] is False and check.metadata["editable"] is False
    assert check.metadata["nbgrader"]["grade"] is True  # nbgrader metadata travels along


# ------------------------------------------------------------------------------ solution leaks

DEMO_CELL = "solutions/ch01_demo.ipynb, cell 1 (grade_id 'add-code', defines add())"


def _break(nb: nbformat.NotebookNode, index: int, old: str, new: str) -> nbformat.NotebookNode:
    assert old in nb.cells[index].source, old
    nb.cells[index].source = nb.cells[index].source.replace(old, new)
    return nb


# The marker table of the audit (issue 16, Part B), and typos that used to leak silently:
# (edits to the solved cell of the demo notebook, the message after the cell's name)
BEGIN, END = "    ### BEGIN SOLUTION\n", "    ### END SOLUTION\n"
MARKER_VARIANTS = {
    "begin never closed": (
        [(END, "")],
        r"unbalanced solution marker: '### BEGIN SOLUTION' on line 3 is never closed by an END "
        r"SOLUTION line$",
    ),
    "end without begin": (
        [(BEGIN, "")],
        r"unbalanced solution marker: END SOLUTION on line 5 without a BEGIN SOLUTION before it$",
    ),
    "nested begin": (
        [(BEGIN, BEGIN + BEGIN)],
        r"nested solution marker: '### BEGIN SOLUTION' on line 4 while the region opened on "
        r"line 3 is still open$",
    ),
    "lower-case begin": (
        [("### BEGIN SOLUTION", "### begin solution")],
        r"line 3, '### begin solution', looks like a mis-typed '### BEGIN SOLUTION': markers are "
        r"upper case$",
    ),
    "both lower-case": (
        [("### BEGIN SOLUTION", "### begin solution"), ("### END SOLUTION", "### end solution")],
        r"line 3, '### begin solution', looks like a mis-typed '### BEGIN SOLUTION': markers are "
        r"upper case$",
    ),
    "text after end": (
        [("### END SOLUTION", "### END SOLUTION here")],
        r"line 6, '### END SOLUTION here', looks like a mis-typed '### END SOLUTION': text after "
        r"the marker \('here'\): the marker stands alone on its line$",
    ),
    "both markers deleted": (
        [(BEGIN, ""), (END, "")],
        r"its nbgrader metadata says it is a solution cell \(solution: true\), but it has no "
        r"solution region, so the whole cell, solution included, would be copied into the "
        r"exercise\. Expected a '### BEGIN SOLUTION' line before the code students write and a "
        r"'### END SOLUTION' line after it$",
    ),
    "two '#'": (
        [("### BEGIN SOLUTION", "## BEGIN SOLUTION")],
        r"line 3, '## BEGIN SOLUTION', looks like a mis-typed '### BEGIN SOLUTION': it starts "
        r"with 2 '#', a marker with exactly three$",
    ),
    "plural": (
        [("### END SOLUTION", "### END SOLUTIONS")],
        r"line 6, '### END SOLUTIONS', looks like a mis-typed '### END SOLUTION': SOLUTION, "
        r"singular$",
    ),
    "spacing": (
        [("### BEGIN SOLUTION", "###BEGIN  SOLUTION")],
        r"line 3, '###BEGIN  SOLUTION', looks like a mis-typed '### BEGIN SOLUTION': one space "
        r"between its words$",
    ),
}


def _broken(nb: nbformat.NotebookNode, variant: str) -> nbformat.NotebookNode:
    for old, new in MARKER_VARIANTS[variant][0]:
        nb = _break(nb, 1, old, new)
    return nb


@pytest.mark.parametrize("variant", MARKER_VARIANTS)
def test_bad_solution_markers_are_errors_that_name_the_cell(variant: str) -> None:
    nb = _broken(annotate(solution_notebook())[0], variant)
    message = MARKER_VARIANTS[variant][1]
    with pytest.raises(SolutionMarkerError, match=rf"^{re.escape(DEMO_CELL)}: {message}"):
        generate_notebook(nb, NAME)


@pytest.mark.parametrize("variant", MARKER_VARIANTS)
def test_bad_solution_markers_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture, variant: str
) -> None:
    root = make_repo(tmp_path)
    assert run(root) == 0
    target = root / "exercises" / EX_NAME
    generated = target.read_bytes()
    nb = _broken(nbformat.read(root / "solutions" / NAME, as_version=4), variant)
    nb.cells[3].source = "assert add(2, 2) == 4"  # the exercise is out of date as well
    nbformat.write(nb, root / "solutions" / NAME)
    capsys.readouterr()

    for args in [(), ("--force",), ("ch01_demo",)]:
        assert run(root, *args) == 1
        err = capsys.readouterr().err
        assert f"error: {DEMO_CELL}: " in err and "1 exercise notebook(s) not generated" in err
        assert target.read_bytes() == generated
    assert run(root, "--check") == 1
    assert f"error: {DEMO_CELL}: " in capsys.readouterr().err
    assert sorted(p.name for p in (root / "exercises").iterdir()) == [EX_NAME]  # no backup

    target.unlink()
    assert run(root) == 1
    assert not target.exists()


def test_the_leak_the_audit_found_is_closed_on_the_real_chapter(tmp_path: Path) -> None:
    """Both markers deleted from solutions/ch01_perceptron.ipynb's perceptron_epoch cell."""
    real = Path(__file__).resolve().parents[1] / "solutions" / "ch01_perceptron.ipynb"
    nb = nbformat.read(real, as_version=4)
    index = next(i for i, c in enumerate(nb.cells) if c.source.startswith("def perceptron_epoch"))
    secret = nb.cells[index].source.split("### BEGIN SOLUTION\n")[1].split("### END SOLUTION")[0]
    for marker in ("### BEGIN SOLUTION\n", "### END SOLUTION\n", "### END SOLUTION"):
        nb.cells[index].source = nb.cells[index].source.replace(f"    {marker}", "")
    (tmp_path / "solutions").mkdir()
    nbformat.write(nb, tmp_path / "solutions" / real.name)
    assert secret.strip() in nb.cells[index].source  # the solution is still there, unmarked
    with pytest.raises(
        SolutionMarkerError,
        match=rf"cell {index} \(grade_id 'perceptron_epoch-code', defines perceptron_epoch\(\)\): "
        r"its nbgrader metadata says it is a solution cell",
    ):
        generate_notebook(nb, real.name)
    assert run(tmp_path) == 1
    assert not (tmp_path / "exercises").exists()


def test_markdown_answer_without_markers_is_an_error() -> None:
    nb = annotate(solution_notebook())[0]
    nb.cells[0].source = "# Adding\nWhy?\nBecause.\nEnd."
    with pytest.raises(
        SolutionMarkerError,
        match=r"^solutions/ch01_demo\.ipynb, cell 0 \(grade_id 'cell-[^']+'\): its nbgrader "
        r"metadata says it is a solution cell .* Expected a '<!-- BEGIN SOLUTION -->' line before "
        r"the answer and a '<!-- END SOLUTION -->' line after it$",
    ):
        generate_notebook(nb, NAME)
    nb.cells[0].source = "Why?\n<!-- begin solution -->\nBecause.\n<!-- END SOLUTION -->"
    with pytest.raises(
        SolutionMarkerError,
        match=r"line 2, '<!-- begin solution -->', looks like a mis-typed "
        r"'<!-- BEGIN SOLUTION -->': markers are upper case$",
    ):
        generate_notebook(nb, NAME)


def test_every_bad_cell_is_named_at_once() -> None:
    nb = annotate(solution_notebook())[0]
    nb.cells[0].source = "Why?\nBecause."
    nb.cells[1].source = SOLVED_FUNCTION.replace("### END SOLUTION", "### end solution")
    with pytest.raises(SolutionMarkerError) as raised:
        generate_notebook(nb, NAME)
    lines = str(raised.value).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("solutions/ch01_demo.ipynb, cell 0 (grade_id 'cell-")
    assert lines[1].startswith(f"{DEMO_CELL}: line 6, '### end solution', looks like a mis-typed")


def test_hidden_test_marker_typo_is_an_error() -> None:
    nb = annotate(graded_notebook())[0]
    nb.cells[3].source = "checks.add(add)\n### Begin Hidden Tests\nassert add(5, 5) == 10\n"
    with pytest.raises(
        SolutionMarkerError,
        match=r"cell 3 \(grade_id 'add'\): line 2, '### Begin Hidden Tests', looks like a "
        r"mis-typed '### BEGIN HIDDEN TESTS': markers are upper case$",
    ):
        generate_notebook(nb, NAME)


def test_unannotated_cell_tested_by_a_selfcheck_needs_a_region(tmp_path: Path) -> None:
    """Without nbgrader metadata the self-check that tests a function makes its cell a solution."""
    nb = graded_notebook()  # not annotated
    nb.cells[1].source = SOLVED_FUNCTION.replace("    ### BEGIN SOLUTION\n", "").replace(
        "    ### END SOLUTION\n", ""
    )
    message = (
        r"^solutions/ch01_demo\.ipynb, cell 1 \(defines add\(\)\): the self-check in cell 3 "
        r"tests add\(\), so it is a solution cell, but it has no solution region"
    )
    with pytest.raises(SolutionMarkerError, match=message):
        generate_notebook(nb, NAME)
    # --annotate would make it read-only, and the next run would copy it: it refuses too
    (tmp_path / "solutions").mkdir()
    path = tmp_path / "solutions" / NAME
    nbformat.write(nb, path)
    before = path.read_bytes()
    with pytest.raises(SolutionMarkerError, match=message):
        annotate(nb, NAME)
    assert run(tmp_path, "--annotate") == 1
    assert path.read_bytes() == before

    # a function the students are given as it is says so in its metadata, and is copied
    nb.cells[1].metadata["nbgrader"] = {"solution": False}
    exercise = generate_notebook(nb, NAME)
    assert "result = a + b" in exercise.cells[1].source
    assert annotate(nb)[0].cells[1].metadata["nbgrader"]["locked"] is True


def test_annotate_refuses_a_solution_cell_without_region(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    root = make_repo(tmp_path)
    path = root / "solutions" / NAME
    nb = _break(nbformat.read(path, as_version=4), 1, "    ### BEGIN SOLUTION\n", "")
    nb = _break(nb, 1, "    ### END SOLUTION\n", "")
    nbformat.write(nb, path)
    before = path.read_bytes()
    assert run(root, "--annotate") == 1
    err = capsys.readouterr().err
    assert f"error: {DEMO_CELL}: its nbgrader metadata says it is a solution cell" in err
    assert "not annotated: solutions/ch01_demo.ipynb" in err
    assert path.read_bytes() == before  # still solution: true, so generating still refuses
    assert run(root) == 1


def test_region_in_a_cell_whose_metadata_says_not_solution_is_still_replaced(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """The other disagreement leaks nothing: the markers decide, --check reports the metadata."""
    root = make_repo(tmp_path)
    path = root / "solutions" / NAME
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].metadata["nbgrader"].update(solution=False, locked=True)
    nbformat.write(nb, path)
    assert run(root) == 0
    exercise = nbformat.read(root / "exercises" / EX_NAME, as_version=4)
    assert "result = a + b" not in exercise.cells[1].source
    assert "raise NotImplementedError" in exercise.cells[1].source
    capsys.readouterr()
    assert run(root, "--check") == 1
    assert (
        "cell 1: nbgrader flags do not match a solution cell (it has solution=False, "
        "grade=False; a solution cell has solution=True, grade=False)"
    ) in capsys.readouterr().out
    assert run(root, "--annotate") == 0
    assert nbformat.read(path, as_version=4).cells[1].metadata["nbgrader"]["solution"] is True
    assert run(root) == 0 and run(root, "--check") == 0


def test_solution_only_cells_are_not_checked_for_regions() -> None:
    nb = annotate(solution_notebook())[0]
    nb.cells[2].metadata["nbgrader"]["solution"] = True  # dropped from the exercise anyway
    nb.cells[2].source = "### end solution\nprint('teacher only')"
    assert "teacher only" not in nbformat.writes(generate_notebook(nb, NAME))


@pytest.mark.parametrize(
    "line",
    [
        "### BEGIN SOLUTION",
        "  ### END SOLUTION  ",
        "\t### BEGIN HIDDEN TESTS",
        "### END HIDDEN TESTS\r\n",
        "# the solution begins below",
        "x = 1  # END SOLUTION",
        "### Beginners' solution",
    ],
)
def test_marker_typo_leaves_markers_and_ordinary_lines_alone(line: str) -> None:
    assert exercises.marker_typo(line, "code") is None


@pytest.mark.parametrize(
    ("line", "cell_type", "kind", "hint"),
    [
        ("### begin solution", "code", "SOLUTION", "'### BEGIN SOLUTION': markers are upper case"),
        ("# BEGIN SOLUTION", "code", "SOLUTION", "starts with 1 '#', a marker with exactly three"),
        (
            "### END HIDDEN TEST",
            "code",
            "HIDDEN TESTS",
            "'### END HIDDEN TESTS': HIDDEN TESTS, plural",
        ),
        ("### BEGIN HIDDENTESTS", "code", "HIDDEN TESTS", "one space between its words"),
        ("### END SOLUTION # done", "code", "SOLUTION", r"text after the marker ('# done')"),
        ("<!-- BEGIN SOLUTION -->", "code", "SOLUTION", "a markdown marker in a code cell"),
        ("<!-- END SOLUTION -->", "markdown", None, None),
        ("<!-- END SOLUTION ->", "markdown", "SOLUTION", "closes with ' -->'"),
        ("<!--- BEGIN SOLUTION -->", "markdown", "SOLUTION", "opens with '<!--'"),
        ("<!-- END SOLUTION --> ok", "markdown", "SOLUTION", "text after the marker ('ok')"),
        (
            "### END SOLUTION",
            "markdown",
            "SOLUTION",
            "a markdown answer uses '<!-- END SOLUTION -->'",
        ),
        ("### BEGIN HIDDEN TESTS", "markdown", "HIDDEN TESTS", "hidden tests belong in code cells"),
    ],
)
def test_marker_typo_names_the_typo(line: str, cell_type: str, kind, hint) -> None:
    found = exercises.marker_typo(line, cell_type)
    if kind is None:
        assert found is None
    else:
        assert found is not None and found[0] == kind and hint in found[1], found
