"""Every attack of ``tests/grading_attacks.py`` graded for real, next to honest submissions.

One folder holds the audit's attacks and ours (43), another student's perfect submission (the
victim), and three honest students: one perfect, one blank, one with the first three
exercises solved. The grader's command line grades it once, in the sandbox, with the grader's
temporary files inside the test's folder. The assignment is chapter 1's exercises without the
chapter's own experiments and figures between them (the setup cell, every exercise's code and
check cells, the text): the same 11 exercises, hidden tests included, the same grader, without
the cells that took about two thirds of a submission's run (``make class-test`` grades a whole
assignment end to end). Then:

- every honest submission gets its right score;
- every attack gets no more than what it really solved, and a flag (or its expected reason);
- every file outside the grader's outputs hashes the same as before (the submissions, the
  victim, ``solutions/``, a folder standing for the rest of the machine, the ``course_lib``
  package), and the old gradebook is kept intact in its backup;
- no process an attack started is left, and the loopback listener saw no connection.

The attacks rely on the sandbox (the probes treat a reachable file or network as a breach that
shows as points), so this runs only where bubblewrap works; CI installs it.
"""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import grading_attacks as ga
import nbformat
import pytest

from course_lib.instructor import grade, sandbox

ROOT = Path(__file__).resolve().parents[1]
BWRAP, WHY = sandbox.find_bwrap()
pytestmark = pytest.mark.skipif(BWRAP is None, reason=f"no sandbox here: {WHY}")
HONEST = {"alice": 11.0, "bob": 0.0, "carol": 3.0}


def _partly(solution_nb, blank_nb, solved: int):
    nb = ga._copy(blank_nb)
    theirs, done = ga.solution_cells(solution_nb), 0
    for name, cell in ga.solution_cells(nb).items():
        if done == solved:
            break
        lines = ga._source(theirs[name]).splitlines(keepends=True)
        cell.source = "".join(line for line in lines if "### " not in line)
        done += 1
    return nb


def _lean(nb):
    """``nb`` without its locked code cells after the first (the setup cell): the chapter's
    experiments and figures, which no exercise's check uses."""
    nb, seen_code = ga._copy(nb), False
    kept = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and not (meta.get("solution") or meta.get("grade")):
            if seen_code:
                continue
            seen_code = True
        kept.append(cell)
    nb.cells = kept
    return nb


def _alive(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if marker in (entry / "cmdline").read_bytes().decode("utf-8", "replace"):
                found.append(int(entry.name))
        except OSError:
            pass
    return found


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.5)
    connections: list[object] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connections.append(listener.accept())
            except OSError:
                pass

    threading.Thread(target=accept, daemon=True).start()
    ctx = ga.AttackContext.create(
        tmp_path_factory.mktemp("attacks"), loopback_port=listener.getsockname()[1]
    )
    solution = _lean(nbformat.read(ROOT / "solutions" / f"{ga.ASSIGNMENT}.ipynb", as_version=4))
    blank = _lean(
        nbformat.read(ROOT / "exercises" / f"{ga.ASSIGNMENT}_exercises.ipynb", as_version=4)
    )
    ga.prepare(ctx, solution, blank)
    for attack in ga.ATTACKS:
        ga.write_submission(attack, ctx, solution, blank)
    for name, nb in (
        ("alice", solution),
        ("bob", blank),
        ("carol", _partly(solution, blank, 3)),
    ):
        nbformat.write(nb, ctx.submissions / f"{name}_{ga.ASSIGNMENT}.ipynb")
    library = Path(sandbox.__file__).resolve().parents[1]
    watched = {
        "submissions": ctx.submissions,
        "solutions": ctx.solutions,
        "outside": ctx.outside,
        "library": library,
    }
    before = {k: ga.fingerprints(v) for k, v in watched.items()}
    grader_tmp = ctx.tmp_root / "grader-tmp"
    grader_tmp.mkdir()
    done = subprocess.run(
        [
            sys.executable, "-m", "course_lib.instructor.grade", str(ctx.submissions),
            "--assignment", ga.ASSIGNMENT, "--root", str(ctx.solutions.parent),
            "--out", str(ctx.gradebook), "--jobs", "2", "--cell-timeout", "30",
            "--timeout", "240", "--memory-limit", str(int(ctx.memory_limit_mb)),
            "--require-sandbox",
        ],
        env={**os.environ, "TMPDIR": str(grader_tmp)},
        capture_output=True,
        text=True,
        timeout=1800,
    )  # fmt: skip
    after = {k: ga.fingerprints(v) for k, v in watched.items()}
    left = _alive(ctx.marker)
    for pid in left:  # the test's own clean-up; the assertion below reports them
        try:
            os.kill(pid, 9)
        except OSError:
            pass
    stop.set()
    listener.close()
    rows = {}
    if ctx.gradebook.exists():
        for row in list(csv.DictReader(ctx.gradebook.open(encoding="utf-8")))[1:]:
            rows[Path(row["submission"]).name] = row
    return {
        "ctx": ctx,
        "done": done,
        "rows": rows,
        "before": before,
        "after": after,
        "left": left,
        "connections": connections,
    }


def test_the_run_finished(run) -> None:
    assert run["done"].returncode == 0, run["done"].stderr[-3000:]
    assert "each in a sandbox" in run["done"].stderr


def test_honest_submissions_get_their_right_score(run) -> None:
    """The real chapter's exercises, hidden tests included: the perfect submission earns every
    point, the blank one none, and carol exactly the points of the three she solved, exercise by
    exercise (tests/test_grade.py grades the same three students where there is no sandbox)."""
    solution = ROOT / "solutions" / f"{ga.ASSIGNMENT}.ipynb"
    assert any("HIDDEN" in ga._source(c) for c in nbformat.read(solution, as_version=4).cells)
    points = {ex.grade_id: ex.points for ex in grade.load_assignment(solution).exercises}
    assert sum(points.values()) == HONEST["alice"] == ga.TOTAL_POINTS
    blank = nbformat.read(ROOT / "exercises" / f"{ga.ASSIGNMENT}_exercises.ipynb", as_version=4)
    carols = list(ga.solution_cells(blank))[:3]  # what _partly(..., 3) solves
    for name, total in HONEST.items():
        row = run["rows"][f"{name}_{ga.ASSIGNMENT}.ipynb"]
        assert float(row["total"]) == total, (name, row["reasons"])
        assert row["flags"] == "", (name, row["flags"])
    carol = run["rows"][f"carol_{ga.ASSIGNMENT}.ipynb"]
    for grade_id, worth in points.items():
        assert float(carol[grade_id]) == (worth if grade_id in carols else 0), grade_id
    victim = run["rows"][run["ctx"].victim.name]
    assert float(victim["total"]) == ga.TOTAL_POINTS


@pytest.mark.parametrize("attack", ga.ATTACKS, ids=[a.name for a in ga.ATTACKS])
def test_attack_earns_nothing_it_forged_and_is_flagged(run, attack: ga.Attack) -> None:
    row = run["rows"].get(attack.file_name)
    assert row is not None, f"{attack.name}: no row in the gradebook"
    problems = ga.judge(
        attack,
        points=float(row["total"]),
        flags=row["flags"],
        reasons=row["reasons"] + " " + row.get("notes", ""),
    )
    assert problems == []


def test_nothing_else_changed(run) -> None:
    for what in run["before"]:
        assert run["after"][what] == run["before"][what], f"{what} changed"
    backups = list(run["ctx"].gradebook.parent.glob(f"{run['ctx'].gradebook.name}.bak-*"))
    assert [b.read_text() for b in backups] == ["an older gradebook\n"]


def test_the_outputs_are_safe(run) -> None:
    text = run["ctx"].gradebook.read_text(encoding="utf-8")
    for row in csv.reader(text.splitlines()):
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    pages = list(run["ctx"].feedback.iterdir())
    assert pages and all(p.parent == run["ctx"].feedback for p in pages)
    assert not any(p.name.startswith(".") for p in pages)


def test_no_process_outlives_the_run_and_no_connection_was_made(run) -> None:
    assert run["left"] == [], "processes started by submissions survived the run"
    assert run["connections"] == [], "a submission reached the machine's loopback"
