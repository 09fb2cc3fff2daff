"""Tests for course_lib.exercises: the exercises/ generator, on synthetic notebooks in tmp_path."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from course_lib import exercises
from course_lib.exercises import (
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
    # code markers mean nothing in markdown, and the other way round
    assert strip_solutions("### BEGIN SOLUTION\n", "markdown") == "### BEGIN SOLUTION\n"
    assert strip_solutions("<!-- BEGIN SOLUTION -->\n") == "<!-- BEGIN SOLUTION -->\n"


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
    written = (root / "exercises" / NAME).read_bytes()
    assert written == first.encode("utf-8")
    # byte-for-byte what nbformat.write produces for the same notebook
    nbformat.write(nbformat.read(root / "exercises" / NAME, as_version=4), tmp_path / "again.ipynb")
    assert (tmp_path / "again.ipynb").read_bytes() == written
    assert run(root) == 0
    assert (root / "exercises" / NAME).read_bytes() == written


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
    assert "missing: exercises/ch01_demo.ipynb" in capsys.readouterr().out
    assert not (root / "exercises").exists()  # --check writes nothing

    assert run(root) == 0
    assert run(root, "--check") == 0

    solution = solution_notebook()
    solution.cells[3].source = "assert add(2, 2) == 4"
    nbformat.write(annotate(solution)[0], root / "solutions" / NAME)
    capsys.readouterr()
    before = (root / "exercises" / NAME).read_bytes()
    assert run(root, "--check") == 1
    assert "differs: exercises/ch01_demo.ipynb (out of date" in capsys.readouterr().out
    assert (root / "exercises" / NAME).read_bytes() == before


def test_check_passes_when_only_outputs_differ(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    assert run(root) == 0
    target = root / "exercises" / NAME
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
    assert "updated: exercises/ch01_demo.ipynb" in capsys.readouterr().out
    regenerated = nbformat.read(root / "exercises" / NAME, as_version=4)
    assert regenerated.cells[-1].source == "print('new cell')"
    assert list((root / "exercises").glob("*.bak-*")) == []
    assert run(root, "--check") == 0


def test_up_to_date_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = make_repo(tmp_path)
    assert run(root) == 0
    assert "created: exercises/ch01_demo.ipynb" in capsys.readouterr().out
    assert run(root, "ch01_demo") == 0
    assert "up to date: exercises/ch01_demo.ipynb" in capsys.readouterr().out


def test_edited_exercise_is_refused_then_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    root = make_repo(tmp_path)
    assert run(root) == 0
    target = root / "exercises" / NAME
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
        "exercises/ch01_demo.ipynb has been edited since it was generated; not overwritten" in err
    )
    assert "Use --force to regenerate" in err
    assert target.read_bytes() == edited
    assert list((root / "exercises").glob("*.bak-*")) == []

    assert run(root, "--check") == 1
    assert "edited by hand" in capsys.readouterr().out

    assert run(root, "--force") == 0
    out = capsys.readouterr().out
    backups = list((root / "exercises").glob(f"{NAME}.bak-*"))
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
    nbformat.write(new_notebook(cells=[new_code_cell("mine = 1")]), root / "exercises" / NAME)
    before = (root / "exercises" / NAME).read_bytes()
    assert run(root) == 1
    assert (root / "exercises" / NAME).read_bytes() == before


def test_bad_markers_exit_nonzero_with_message(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    nb = solution_notebook()
    nb.cells[1].source = "### END SOLUTION\n"
    root = make_repo(tmp_path, nb)
    assert run(root) == 1
    assert "solutions/ch01_demo.ipynb, cell 1: unbalanced" in capsys.readouterr().err
    assert not (root / "exercises" / NAME).exists()


def test_orphan_exercise_fails_check(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = make_repo(tmp_path)
    assert run(root) == 0
    nbformat.write(new_notebook(), root / "exercises" / "ch09_gone.ipynb")
    assert run(root, "--check") == 1
    assert "orphaned: exercises/ch09_gone.ipynb" in capsys.readouterr().out


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
    assert made == ["ch01_demo.ipynb", "ch02a_shallow.ipynb", "ch03b_optim.ipynb"]
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
