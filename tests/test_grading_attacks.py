"""Tests of the attack corpus (tests/grading_attacks.py) itself, cheaply and without the grader:
every attack builds what it says, is bounded, aims only inside the test's folder, and its
expectation is consistent. Running the corpus through the grader is tests/test_grade.py's job."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import grading_attacks as ga
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = nbformat.read(ROOT / "solutions" / f"{ga.ASSIGNMENT}.ipynb", as_version=4)
BLANK = nbformat.read(ROOT / "exercises" / f"{ga.ASSIGNMENT}_exercises.ipynb", as_version=4)
AUDIT_ROWS = {f"A{n}" for n in (14, 15, 16, 17, 18, 19, 21, 23, 24, 25, 28, 29, 31, 33)}
BY_NAME = {attack.name: attack for attack in ga.ATTACKS}


@pytest.fixture
def ctx(tmp_path: Path) -> ga.AttackContext:
    ctx = ga.AttackContext.create(tmp_path / "run", loopback_port=40000)
    ga.prepare(ctx, SOLUTION, BLANK)
    return ctx


def built(attack: ga.Attack, ctx: ga.AttackContext):
    return attack.build(nbformat.from_dict(SOLUTION), nbformat.from_dict(BLANK), ctx)


def _notebook(attack: ga.Attack, ctx: ga.AttackContext):
    out = built(attack, ctx)
    return nbformat.from_dict(out.notebook if isinstance(out, ga.Symlink) else out)


def _changed_code(nb) -> list[str]:
    """Sources of the code cells that are in neither the blank nor the solution notebook."""
    known = {c.source for c in BLANK.cells} | {c.source for c in SOLUTION.cells}
    return [c.source for c in nb.cells if c.cell_type == "code" and c.source not in known]


# ------------------------------------------------------------------------------ the corpus


def test_names_are_unique_and_usable_as_student_names() -> None:
    names = [attack.name for attack in ga.ATTACKS]
    assert len(names) == len(set(names))
    for attack in ga.ATTACKS:
        # the grader reads the student from the file name: NAME_ch01_perceptron.ipynb
        assert re.fullmatch(r"[a-z][a-z0-9]*", attack.name), attack.name
        assert attack.file_name == f"{attack.name}_ch01_perceptron.ipynb"
        assert attack.description.strip() and "\n" not in attack.description, attack.name


def test_every_audit_attack_is_covered_and_ten_more() -> None:
    rows = [attack.audit for attack in ga.ATTACKS if attack.audit]
    assert len(rows) == len(set(rows))
    assert set(rows) == AUDIT_ROWS
    assert len([attack for attack in ga.ATTACKS if attack.audit is None]) >= 10


@pytest.mark.parametrize("attack", ga.ATTACKS, ids=lambda a: a.name)
def test_attack_builds_a_valid_notebook_unless_meant_broken(
    attack: ga.Attack, ctx: ga.AttackContext
) -> None:
    out = built(attack, ctx)
    if attack.broken:
        assert isinstance(out, bytes)
        with pytest.raises((ValueError, RecursionError)):
            nb = json.loads(out)
            assert isinstance(nb, dict) and nb.get("nbformat") == 4  # pragma: no cover
            raise ValueError("parsed")  # pragma: no cover
        return
    if isinstance(out, ga.Symlink):
        assert out.target.parent == ctx.outside
        out = out.notebook
    nb = nbformat.from_dict(out)
    assert nb.nbformat == 4
    nbformat.validate(nb)
    for source in _changed_code(nb):
        ast.parse(source)  # every cell the attack wrote is Python


@pytest.mark.parametrize("attack", ga.ATTACKS, ids=lambda a: a.name)
def test_expectation_is_consistent(attack: ga.Attack, ctx: ga.AttackContext) -> None:
    expect = attack.expect
    assert 0 <= expect.max_points <= ga.TOTAL_POINTS
    assert expect.min_points is None or 0 <= expect.min_points <= expect.max_points
    assert set(expect.untouched) <= set(ga.TARGETS)
    assert set(ga.EVERYWHERE) <= set(expect.untouched), "nothing of anyone else may change"
    if expect.reason is not None:
        re.compile(expect.reason)
    if attack.broken:
        assert expect.max_points == 0 and expect.flagged
        return
    nb = _notebook(attack, ctx)
    cells = ga.solution_cells(nb)
    assert len(cells) == len(ga.CHECK_NAMES) == len(ga.exercise_points(SOLUTION)) == 11
    solved = [
        f for f, c in cells.items() if c.source == ga.solution_cells(SOLUTION)[f].source
    ]  # the instructor's own solution, unchanged
    # the most it may get is what it really solved; the canary does not count
    assert expect.max_points == float(len(solved)), (attack.name, solved)
    # an attack that need not be flagged says what the grader must show instead: a reason,
    # its honest points, or the gradebook or feedback pages it aims at
    if not expect.flagged:
        assert (
            expect.reason is not None
            or expect.min_points is not None
            or {"csv", "feedback"} & set(expect.untouched)
        ), attack.name
    # an attack that forges nothing (a name, a symlink) is graded for its work
    if expect.min_points is not None:
        assert expect.min_points == expect.max_points


@pytest.mark.parametrize("attack", ga.ATTACKS, ids=lambda a: a.name)
def test_aims_only_inside_the_test_folder(attack: ga.Attack, ctx: ga.AttackContext) -> None:
    """Every absolute path an attack names is in the test's folder, or a system path it only
    reads or probes (/proc, /dev/tty) or links to (/)."""
    if attack.broken:
        return
    nb = _notebook(attack, ctx)
    text = nbformat.writes(nb)
    assert str(ROOT) not in text  # not even the repository it is graded from
    for source in _changed_code(nb):
        tree = ast.parse(source)
        # pieces of a path (f"/proc/{pid}/cmdline", folder + "/**/*.ipynb") are not paths
        pieces = {id(n) for f in ast.walk(tree) if isinstance(f, ast.JoinedStr) for n in f.values}
        pieces |= {id(n.right) for n in ast.walk(tree) if isinstance(n, ast.BinOp)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                value = node.value
                if id(node) in pieces or not value.startswith("/"):
                    continue
                if not value.startswith(str(ctx.tmp_root)):
                    allowed = value in ("/", "/proc") or value.startswith(("/proc/", "/dev/tty"))
                    assert allowed, (attack.name, value)
    if "victim" in attack.name or str(ctx.victim) in text:
        assert "victim" in attack.expect.untouched
    if str(ctx.gradebook) in text:
        assert "gradebook" in attack.expect.untouched
    if str(ctx.outside) in text:
        assert "outside" in attack.expect.untouched


@pytest.mark.parametrize("attack", ga.ATTACKS, ids=lambda a: a.name)
def test_processes_are_bounded_and_marked(attack: ga.Attack, ctx: ga.AttackContext) -> None:
    if attack.broken:
        return
    code = "\n".join(_changed_code(_notebook(attack, ctx)))
    spawns = bool(re.search(r"Popen|os\.fork|_os\.fork|os\.system|posix_spawn", code))
    assert spawns == attack.expect.starts_processes, attack.name
    if spawns:
        assert ctx.marker in code  # so that the test finds every one left behind
        assert str(ga.MAX_PROCESS_SECONDS - 1) in code  # and each ends on its own
        loops = [int(n) for n in re.findall(r"range\((\d+)\)", code)]
        assert loops and sum(loops) <= ga.MAX_PROCESSES, loops
    for number in re.findall(r"b'x' \* \((\d+) << 20\)", code):  # MiB-sized writes
        assert int(number) <= 64


@pytest.mark.parametrize("attack", [a for a in ga.ATTACKS if a.probe], ids=lambda a: a.name)
def test_probes_show_a_breach_only_through_the_canary(
    attack: ga.Attack, ctx: ga.AttackContext
) -> None:
    nb = _notebook(attack, ctx)
    cells = ga.solution_cells(nb)
    solutions = ga.solution_cells(SOLUTION)
    first = cells[ga.FIRST].source
    assert first.startswith(f"{ga.BREACH} = False\n")  # nothing solved unless the probe says so
    for function, cell in cells.items():
        guard = f"if globals().get({ga.BREACH!r}):\n    exec({solutions[function].source!r}"
        assert guard in cell.source, function
        assert "NotImplementedError" in cell.source  # the blank stub is still there
    # the probe writes nothing: no open for writing, no unlink, no kill but signal 0
    # (killpg and kill -9 -1 only inside a PID namespace or on grader processes: see below)
    probe = first.split(f"def {ga.FIRST}(")[0]
    assert not re.search(r"open\([^)]*['\"][wa]b?['\"]", probe) or attack.name in {"thief"}
    assert "O_TRUNC" not in probe and "O_CREAT" not in probe


def test_attacks_without_probe_have_no_canary(ctx: ga.AttackContext) -> None:
    for attack in ga.ATTACKS:
        if attack.probe or attack.broken:
            continue
        assert ga.BREACH not in nbformat.writes(_notebook(attack, ctx)), attack.name


def test_the_forged_result_claims_full_marks() -> None:
    forged = ga._forged_result(SOLUTION)
    assert sum(e["points"] for e in forged["exercises"]) == ga.TOTAL_POINTS
    assert {e["grade_id"] for e in forged["exercises"]} == set(ga.CHECK_NAMES)


# ------------------------------------------------------------------------------ safety gates


def _run(code: str, *prefix: str) -> str:
    done = subprocess.run(
        [*prefix, sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_kill_gate_is_closed_outside_a_pid_namespace() -> None:
    """On the machine itself, kill -9 -1 and killpg only ever probe (signal 0)."""
    gate = ga.IN_OWN_PID_NAMESPACE + "print(_inside)\n"
    assert _run(gate) == "False"
    grader = ga.GRADER_PROCESS.replace("{{", "{").replace("}}", "}")
    # (this process's own command line names the grader module: its parent's does not)
    assert _run(grader + "import os\nprint(_is_grader(os.getppid()))") == "False"


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")
def test_kill_gate_opens_inside_a_pid_namespace() -> None:
    prefix = (
        "bwrap",
        "--unshare-pid",
        "--die-with-parent",
        "--ro-bind",
        "/",
        "/",
        "--proc",
        "/proc",
    )
    probe = subprocess.run([*prefix, "true"], capture_output=True, timeout=60)
    if probe.returncode != 0:
        pytest.skip(f"bwrap cannot make a PID namespace here: {probe.stderr[-200:]!r}")
    assert _run(ga.IN_OWN_PID_NAMESPACE + "print(_inside)\n", *prefix) == "True"


# ------------------------------------------------------------------------------ helpers


def test_context_and_prepared_files_lie_inside_the_test_folder(tmp_path: Path) -> None:
    ctx = ga.AttackContext.create(tmp_path)
    ga.prepare(ctx, SOLUTION, BLANK)
    for field in ("submissions", "victim", "gradebook", "feedback", "solutions", "outside"):
        assert getattr(ctx, field).is_relative_to(tmp_path.resolve()), field
    assert re.fullmatch(r"\d{8}", ctx.marker)
    assert ctx.sleep_args == [str(ga.MAX_PROCESS_SECONDS - 1), f"0.{ctx.marker}"]
    assert nbformat.read(ctx.victim, as_version=4).cells == SOLUTION.cells
    assert ctx.gradebook.read_text() == "an older gradebook\n"
    before = ga.fingerprints(tmp_path)
    assert set(before) == {
        "submissions/victim_ch01_perceptron.ipynb",
        "grades/grades.csv",
        "course/solutions/ch01_perceptron.ipynb",
        "outside/precious.txt",
    }


def test_write_submission_writes_each_kind(ctx: ga.AttackContext) -> None:
    for name in ("pat", "nested", "sym"):
        ga.write_submission(BY_NAME[name], ctx, SOLUTION, BLANK)
    assert nbformat.read(ctx.submissions / "pat_ch01_perceptron.ipynb", as_version=4).nbformat == 4
    assert (ctx.submissions / "nested_ch01_perceptron.ipynb").read_bytes().startswith(b"[[[")
    link = ctx.submissions / "sym_ch01_perceptron.ipynb"
    assert link.is_symlink() and link.resolve().parent == ctx.outside
    # links are not followed: the target is counted once, in its own folder
    assert "submissions/sym_ch01_perceptron.ipynb" not in ga.fingerprints(ctx.tmp_root)


@pytest.mark.parametrize(
    ("name", "points", "flags", "reasons", "problems"),
    [
        ("pat", 0, "tampering", "", []),
        ("pat", 9, "", "", ["got 9 points, at most 0", "not flagged"]),
        ("wes", 0, "", "add: stopped: used more than 1500 MB of memory", []),
        ("wes", 0, "", "timed out", ["no reason matching 'memory'"]),
        ("trav", 11, "", "", []),
        ("trav", 10, "", "", ["got 10 points, at least 11"]),
    ],
)
def test_judge(name: str, points: float, flags: str, reasons: str, problems: list[str]) -> None:
    got = ga.judge(BY_NAME[name], points=points, flags=flags, reasons=reasons)
    assert [p.split(" (")[0] for p in got] == problems
