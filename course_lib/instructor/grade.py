"""Grade students' exercise notebooks: one command, a CSV gradebook and a feedback page each.

::

    python -m course_lib.instructor.grade SUBMISSION... [--assignment NAME] [--out grades.csv]
                               [--feedback DIR] [--jobs N] [--cell-timeout S] [--timeout S]
                               [--memory-limit MB] [--root PATH]
                               [--require-sandbox | --no-sandbox]

(also installed as the console script ``course-grade``). A SUBMISSION is a notebook file or a
folder searched for ``*.ipynb``. The assignment is ``solutions/<NAME>.ipynb``; without
``--assignment`` it is read from the submissions (the exercise generator records it).

Every submitted file is read once, before any student code runs. The instructor's solution
is graded first: it must earn every point. Then the unsolved exercise: what it compiles (the
course's own programs, none of the answers) fills a JAX cache that the submissions only read.
Then, for each submission, in a worker process:

1. the notebook is rebuilt in the assignment's order: the student's code cells (matched by
   nbgrader ``grade_id`` or cell id), every other cell from ``solutions/`` -- the self-checks
   with their hidden tests (``### BEGIN HIDDEN TESTS``) put back, whatever the student did to
   them;
2. it runs in a fresh kernel -- in a bubblewrap sandbox (:mod:`sandbox`) where there is one --
   with a time limit per cell and for the whole notebook, a memory limit and an output limit;
   a cell that hangs, kills the kernel or blows the memory costs only its own exercise: the
   kernel is restarted, the earlier cells re-run, and grading goes on; each test cell imports
   the assignment's modules again first, and the kernel-side :mod:`harness` checks that nothing
   it relies on was replaced;
3. an exercise earns its points (nbgrader ``points`` in the solution's cell metadata) when its
   test cell ran without error; otherwise the reason is recorded (the self-check's message, the
   timeout, ...). The worker works this out from the kernel's replies and sends it to the
   parent over a pipe, with a token the kernel never sees; whatever the kernel started is
   killed. Code that no exercise needs (:func:`suspicious`) is flagged for review.

The gradebook has one row per submission (student, file, flags, points per exercise, total,
the reasons points were lost, notes)
and is written only at the end, atomically; the previous one is kept as ``<name>.bak-<time>``,
as it was read before grading began. Text a spreadsheet would run as a formula is neutralised
(:func:`csv_text`). A submitted file that changed during the run (possible only without the
sandbox) is put back and flagged. Students are
identified by ``metadata.course.student``, the file name (``alice_ch01_perceptron.ipynb``,
``alice.ipynb``) or the folder (``alice/ch01_perceptron.ipynb``, nbgrader's
``submitted/alice/<assignment>/``); a submission that cannot be identified is graded and
flagged, never dropped. Submissions are graded in parallel, ``--jobs`` at a time (default: the
number of CPU cores), with a progress bar on stderr.
"""

from __future__ import annotations

import argparse
import ast
import base64
import concurrent.futures
import csv
import dataclasses
import html
import io
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import nbformat

from course_lib.instructor import exercises, sandbox

RESULT_MIME = "application/vnd.course-grade+json"
DEFAULT_CELL_TIMEOUT = 120.0
DEFAULT_TIMEOUT = 900.0
DEFAULT_MEMORY_MB = 4096
DEFAULT_OUTPUT_LIMIT = 1_000_000  # characters a notebook may print in all
MAX_RESTARTS = 3
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


# ------------------------------------------------------------------------------ the assignment


@dataclasses.dataclass(frozen=True)
class Exercise:
    """One graded exercise: a self-check cell of the solution notebook."""

    grade_id: str
    points: float
    title: str
    test_source: str  # visible test and hidden tests, markers removed
    code_ids: tuple[str, ...]  # grade_ids of the solution cells it grades


@dataclasses.dataclass(frozen=True)
class Assignment:
    """A solution notebook seen as an assignment: its cells and its exercises, in order."""

    name: str
    notebook: Any
    exercises: tuple[Exercise, ...]
    imports: str = ""  # the import statements of the assignment's own cells, re-run before a test

    @property
    def possible(self) -> float:
        return sum(ex.points for ex in self.exercises)

    @property
    def cell_keys(self) -> set[str]:
        """Every grade_id and cell id of the assignment: how a student's cells are matched."""
        keys = {_grade_id(c) for c in self.notebook.cells}
        return (keys | {c.get("id") for c in self.notebook.cells}) - {None}


def _grade_id(cell: Any) -> str | None:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta.get("grade_id") if isinstance(meta, dict) else None


_GREEK = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "eta": "η",
    "theta": "θ", "lambda": "λ", "mu": "μ", "rho": "ρ", "sigma": "σ", "tau": "τ", "phi": "φ",
    "Phi": "Φ", "psi": "ψ", "omega": "ω", "nabla": "∇", "partial": "∂", "cdot": "·",
    "times": "×", "le": "≤", "ge": "≥", "to": "→",
}  # fmt: skip


def plain_title(title: str) -> str:
    r"""A heading's inline LaTeX as plain text for the gradebook and feedback pages:
    ``How large can $\sigma'$ be?`` becomes ``How large can σ′ be?``."""

    def command(match: re.Match) -> str:
        return _GREEK.get(match[1], match[1])

    def math(match: re.Match) -> str:
        text = re.sub(r"\\([A-Za-z]+)", command, match[1])
        return text.replace("'", "′").replace("{", "").replace("}", "")

    return re.sub(r"\$([^$]*)\$", math, title)


def load_assignment(path: Path) -> Assignment:
    """Read ``solutions/<name>.ipynb`` as an assignment (it must carry nbgrader metadata)."""
    nb = nbformat.read(path, as_version=4)
    if problems := exercises.annotation_problems(nb):
        raise ValueError(
            f"{path}: nbgrader metadata incomplete ({problems[0]}); run "
            "`python -m course_lib.instructor.exercises --annotate` first"
        )
    found, code_ids, title = [], [], path.stem
    for cell in nb.cells:
        meta = cell.metadata["nbgrader"]
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    title = plain_title(line.lstrip("#").strip())
        if cell.cell_type != "code":
            continue  # markdown answers are graded by hand
        if meta["solution"]:
            code_ids.append(meta["grade_id"])
        if meta["grade"]:
            visible, hidden = exercises.split_hidden_tests(cell.source)
            source = visible.rstrip("\n") + ("\n" + hidden if hidden.strip() else "")
            found.append(
                Exercise(meta["grade_id"], float(meta["points"]), title, source, tuple(code_ids))
            )
            code_ids = []
    return Assignment(path.stem, nb, tuple(found), _imports(nb))


def _imports(nb: Any) -> str:
    """Every top-level import statement of the notebook's non-solution code cells, as source.

    A test cell runs them again just before the test, so that the names it uses (``checks``,
    ``jnp``, ...) are the modules themselves, whatever a student's cell bound to those names.
    """
    lines: list[str] = []
    for cell in nb.cells:
        if cell.cell_type != "code" or cell.metadata["nbgrader"]["solution"]:
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:  # IPython magics: take the import lines one by one
            body = []
            for line in cell.source.splitlines():
                if re.match(r"^(import|from)\s", line):
                    try:
                        body += ast.parse(line).body
                    except SyntaxError:
                        pass
        else:
            body = tree.body
        for node in body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                text = ast.unparse(node)
                if text not in lines and "__future__" not in text:
                    lines.append(text)
    return "\n".join(lines)


# ------------------------------------------------------------------------------ results


@dataclasses.dataclass
class ExerciseResult:
    grade_id: str
    title: str
    points: float
    possible: float
    reason: str = ""


@dataclasses.dataclass
class SubmissionResult:
    path: str
    student: str
    flags: list[str]
    exercises: list[ExerciseResult]
    notes: list[str]
    seconds: float = 0.0

    @property
    def total(self) -> float:
        return sum(ex.points for ex in self.exercises)

    @property
    def possible(self) -> float:
        return sum(ex.possible for ex in self.exercises)


def _zero(assignment: Assignment, reason: str) -> list[ExerciseResult]:
    return [
        ExerciseResult(ex.grade_id, ex.title, 0.0, ex.points, reason) for ex in assignment.exercises
    ]


# ------------------------------------------------------------------------------ identity


_SEPARATORS = " _-.()[]{}"
_GENERIC = {"submission", "submitted", "submissions", "copy", "final", "exercises", "autograded"}


def identify(path: Path, nb: Any, assignment: str, roots: Sequence[Path]) -> str | None:
    """The student a submission belongs to, or None.

    In order: ``metadata.course.student``; the file name without the assignment's name
    (``alice_ch01_perceptron.ipynb``, ``ch01_perceptron-alice.ipynb``, ``alice.ipynb``); the
    nearest folder above it that is neither the assignment's name nor a folder given on the
    command line (``alice/ch01_perceptron.ipynb``, ``submitted/alice/ch01_perceptron/...``).
    """
    if nb is not None:
        course = nb.get("metadata", {}).get("course", {})
        student = course.get("student") if isinstance(course, dict) else None
        if isinstance(student, str) and student.strip():
            return _clean(student)
    stem = path.name.removesuffix(".ipynb")
    rest = stem.replace(assignment, " ")
    rest = re.sub(r"(?i)^ch\d\d[a-z]?(?=[_\- ]|$)", " ", rest.strip(_SEPARATORS))
    rest = _strip_generic(rest.strip(_SEPARATORS))
    if rest and rest.lower() not in _GENERIC:
        return _clean(rest)
    resolved_roots = {r.resolve() for r in roots}
    for folder in path.resolve().parents:
        if folder in resolved_roots or folder.parent == folder:
            break
        name = folder.name
        if name != assignment and name.lower() not in _GENERIC:
            return _clean(name)
    return None


def _strip_generic(rest: str) -> str:
    """``alice_exercises`` -> ``alice`` (the exercise file is ``ch01_x_exercises.ipynb``), and
    the same for the other generic words at either end; a name made only of them stays."""
    words = [w for w in re.split(f"[{re.escape(_SEPARATORS)}]+", rest) if w]
    start, end = 0, len(words)
    while end - start > 1 and words[end - 1].lower() in _GENERIC:
        end -= 1
    while end - start > 1 and words[start].lower() in _GENERIC:
        start += 1
    if (start, end) == (0, len(words)):
        return rest  # nothing generic at the ends: the name as written
    return " ".join(words[start:end])


def _clean(name: str) -> str:
    return re.sub(r"\s+", " ", name).strip()[:80]


# ------------------------------------------------------------------------------ one submission


def build_grading_notebook(
    assignment: Assignment, submission: Any, nonce: str, output_limit: int
) -> tuple[Any, list[int | None], list[str], dict[int, str]]:
    """The notebook that is run: the assignment's cells, with the student's code cells in.

    Returns:
        (notebook, owner, notes, missing): ``owner[i]`` is the index of the exercise whose test
        cell is cell ``i`` (None for other cells); ``notes`` say what was repaired (moved cells);
        ``missing`` maps exercise index -> reason when its code cell was not found.
    """
    by_id: dict[str, list[Any]] = {}
    order: list[str] = []
    for cell in submission.get("cells", []):
        if not isinstance(cell, dict):
            continue
        key = _grade_id(cell) or cell.get("id")
        if isinstance(key, str):
            by_id.setdefault(key, []).append(cell)
            order.append(key)
    # extra cells the student added are kept after the solution cell they follow
    extras: dict[str, list[Any]] = {}
    last_code: str | None = None
    solution_ids = {
        c.metadata["nbgrader"]["grade_id"]
        for c in assignment.notebook.cells
        if c.metadata["nbgrader"]["solution"] and c.cell_type == "code"
    }
    known = assignment.cell_keys
    for cell in submission.get("cells", []):
        if not isinstance(cell, dict):
            continue
        key = _grade_id(cell) or cell.get("id")
        if key in solution_ids:
            last_code = key
        elif key not in known and last_code is not None and cell.get("cell_type") == "code":
            extras.setdefault(last_code, []).append(cell)

    notes: list[str] = []
    expected_order = [c.metadata["nbgrader"]["grade_id"] for c in assignment.notebook.cells]
    seen_order = list(dict.fromkeys(k for k in order if k in set(expected_order)))
    if seen_order != [k for k in expected_order if k in set(seen_order)]:
        notes.append("cells were moved; they were graded in the assignment's order")

    setup = nbformat.v4.new_code_cell(
        "import course_lib.instructor.harness as _course_grading_harness\n"
        f"_g{nonce} = _course_grading_harness.install({nonce!r}, {output_limit})\n"
        "del _course_grading_harness"
    )
    cells, owner, missing = [setup], [None], {}
    student: set[int] = set()  # indices of the cells that hold the student's code
    exercise_of_code = {
        code_id: index for index, ex in enumerate(assignment.exercises) for code_id in ex.code_ids
    }
    test_index = {ex.grade_id: i for i, ex in enumerate(assignment.exercises)}
    for cell in assignment.notebook.cells:
        meta = cell.metadata["nbgrader"]
        gid = meta["grade_id"]
        if cell.cell_type != "code":
            continue
        if meta["solution"]:
            mine = by_id.get(gid) or by_id.get(cell.get("id"), [])
            mine = [c for c in mine if c.get("cell_type") == "code"]
            if not mine:
                where = exercise_of_code.get(gid)
                name = re.search(r"^\s*def\s+(\w+)", cell.source, re.M)
                what = f"`{name[1]}`" if name else "this exercise"
                if where is not None:
                    missing[where] = f"the code cell for {what} is missing (deleted?)"
                continue
            if len(mine) > 1:
                notes.append(f"cell {gid!r} appears {len(mine)} times; the first one was graded")
            for student_cell in [mine[0], *extras.get(gid, [])]:
                student.add(len(cells))
                cells.append(nbformat.v4.new_code_cell(_text(student_cell.get("source", ""))))
                owner.append(None)
        elif meta["grade"]:
            index = test_index[gid]
            ex = assignment.exercises[index]
            cells.append(
                nbformat.v4.new_code_cell(
                    f"_g{nonce}.begin({gid!r})\n{assignment.imports}\n"
                    f"{ex.test_source.rstrip()}\n_g{nonce}.passed({gid!r})"
                )
            )
            owner.append(index)
        else:
            cells.append(nbformat.v4.new_code_cell(cell.source))
            owner.append(None)
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["course_grade_student_cells"] = sorted(student)
    nb.metadata["course_grade_suspicious"] = list(
        dict.fromkeys(
            x
            for i in sorted(student)
            for x in suspicious(cells[i].source, _bound_names(assignment.imports))
        )
    )
    return nb, owner, notes, missing


#: Modules an exercise never needs and an attack on the grader does (files, processes, the
#: network, the interpreter's internals).
SUSPICIOUS_MODULES = {
    "os", "sys", "subprocess", "socket", "ctypes", "gc", "signal", "shutil", "pathlib",
    "importlib", "builtins", "inspect", "threading", "multiprocessing", "pty", "tempfile",
    "urllib", "http", "requests", "pickle", "marshal", "resource", "mmap", "io", "glob",
}  # fmt: skip
SUSPICIOUS_CALLS = {"open", "exec", "eval", "compile", "__import__", "globals", "get_ipython"}
SUSPICIOUS_ATTRS = {
    "__file__", "__globals__", "__builtins__", "__subclasses__", "__code__", "__closure__",
    "__dict__", "__setattr__", "f_back", "f_locals", "f_globals", "tb_frame", "gi_frame",
    "__class__", "__bases__", "__mro__", "__self__", "__func__", "__defaults__",
    "cell_contents",
}  # fmt: skip


def suspicious(source: str, protected: Sequence[str] = ()) -> list[str]:
    """What in a student's code cell an exercise never needs but an attack on the grader does:
    imports of :data:`SUSPICIOUS_MODULES`, calls of :data:`SUSPICIOUS_CALLS`, attributes in
    :data:`SUSPICIOUS_ATTRS`, shell escapes, and binding one of the ``protected`` names (those
    the assignment imports, such as ``checks``). The grader flags these for the instructor to
    look at; they cost no points by themselves."""
    found: list[str] = []
    if re.search(r"^\s*[!%]", source, re.M):
        found.append("a shell command or magic (! or %)")
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return found
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            names = []
        for name in names:
            if name.split(".")[0] in SUSPICIOUS_MODULES:
                found.append(f"import {name}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in SUSPICIOUS_CALLS:
                found.append(f"{node.func.id}()")
        if isinstance(node, ast.Attribute) and node.attr in SUSPICIOUS_ATTRS:
            found.append(f".{node.attr}")
        bound = []
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            bound.append(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.append(node.name)
        elif isinstance(node, ast.Global):
            bound += node.names
        found += [f"rebinds `{n}`" for n in bound if n in protected]
    return list(dict.fromkeys(found))


def _bound_names(imports: str) -> list[str]:
    """The names that import statements bind (``import jax.numpy as jnp`` binds ``jnp``)."""
    names = []
    for node in ast.parse(imports).body if imports else []:
        for alias in node.names:
            names.append(alias.asname or alias.name.split(".")[0])
    return names


def _text(source: Any) -> str:
    if isinstance(source, list):
        return "".join(s for s in source if isinstance(s, str))
    return source if isinstance(source, str) else ""


def _reason_from_error(output: Any) -> str:
    ename, evalue = output.get("ename", "Error"), _ANSI.sub("", str(output.get("evalue", "")))
    if ename == "CheckFailed":
        if "not implemented yet" in evalue:
            return "not attempted: the function still raises NotImplementedError"
        lines = [line.strip() for line in evalue.strip().splitlines() if line.strip()]
        return _shorten(" ".join(lines[:6]))
    if ename == "NotImplementedError":
        return "not attempted: the function still raises NotImplementedError"
    if ename == "GradingTampered":
        return "tampering: " + _shorten(evalue)
    if ename == "NameError":
        return _shorten(f"{evalue} (a renamed or deleted function, or a cell that failed?)")
    if ename == "AssertionError":
        return _shorten("a test failed" + (f": {evalue}" if evalue else ""))
    if ename == "KeyboardInterrupt":
        return "interrupted"
    return _shorten(f"{ename}: {evalue}")


def _shorten(text: str, limit: int = 400) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _children() -> dict[int, list[int]]:
    """Every process's children, from /proc (Linux): pid -> [child pids]."""
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _descendants(pid: int) -> list[int]:
    """``pid``'s descendants (children, their children, ...), from /proc; [] where there is none."""
    if not Path("/proc/self/stat").exists():
        return []
    tree, out, todo = _children(), [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _kill(pids: Sequence[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


class _Watchdog(threading.Thread):
    """Kills the kernel, with every process it started, when together they use more memory
    than the limit (resident memory from Linux /proc, summed over the process tree)."""

    def __init__(self, pid: int, limit_mb: float) -> None:
        super().__init__(daemon=True)
        self.pid, self.limit_kb, self.fired = pid, limit_mb * 1024, False
        self._stop = threading.Event()
        self._page_kb = os.sysconf("SC_PAGE_SIZE") // 1024 if hasattr(os, "sysconf") else 4

    def _rss_kb(self, pids: Sequence[int]) -> int:
        total = 0
        for pid in pids:
            try:
                total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * self._page_kb
            except (OSError, IndexError, ValueError):
                pass
        return total

    def run(self) -> None:
        if not Path(f"/proc/{self.pid}").exists():
            return
        while not self._stop.wait(0.15):
            pids = [self.pid, *_descendants(self.pid)]
            if not Path(f"/proc/{self.pid}").exists():
                return
            if self._rss_kb(pids) > self.limit_kb:
                self.fired = True
                _kill(pids)
                return

    def stop(self) -> None:
        self._stop.set()


def _make_client(nb: Any, workdir: Path, output_limit: int, box: sandbox.Sandbox | None, env):
    """An nbclient NotebookClient on a kernel running this very Python, with output capped.

    With ``box``, the kernel runs in that sandbox and talks over Unix sockets in
    ``box.shared[0]`` (the sandbox has no network); ``env`` is then its whole environment."""
    import ipykernel.kernelspec
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient

    class _ThisPython(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            spec = ipykernel.kernelspec.get_kernel_dict()
            if box is not None:
                spec["argv"] = box.command(spec["argv"], env)
            return self.kernel_spec_class(resource_dir=ipykernel.kernelspec.RESOURCES, **spec)

    class _Client(NotebookClient):
        kept = 0

        def output(self, outs, msg, display_id, cell_index):
            content = msg.get("content", {})
            size = len(json.dumps(content, default=str)) if msg["msg_type"] != "error" else 0
            is_result = RESULT_MIME in content.get("data", {})
            if not is_result and msg["msg_type"] != "error":
                if self.kept + size > 2 * output_limit:
                    return None  # defence in depth: the kernel caps its streams already
                self.kept += size
            return super().output(outs, msg, display_id, cell_index)

    # the async manager matters: with a blocking client, nbclient waits forever on a dead kernel
    km = AsyncKernelManager(kernel_name="course-grader", kernel_spec_manager=_ThisPython())
    if box is not None:
        sockets = box.shared[0]
        km.transport, km.ip = "ipc", str(sockets / "k")
        km.connection_file = str(sockets / "kernel.json")
    return _Client(
        nb,
        km=km,
        allow_errors=True,
        timeout=DEFAULT_CELL_TIMEOUT,
        resources={"metadata": {"path": str(workdir)}},
        record_timing=False,
    )


def _kernel_env(cache_dir: str | None, *, cache_writable: bool = True) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("JPY_PARENT_PID", None)
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    if cache_dir:  # programs the instructor's solution compiled, shared by every submission
        env["JAX_COMPILATION_CACHE_DIR"] = cache_dir
        # a submission only reads the cache: nothing it compiles is written for the next one
        env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0" if cache_writable else "1e9"
        env["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] = "0"
    return env


def run_notebook(
    nb: Any,
    workdir: Path,
    *,
    cell_timeout: float,
    timeout: float,
    memory_mb: float,
    output_limit: int,
    cache_dir: str | None = None,
    cache_writable: bool = True,
    bwrap: str | None = None,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Execute the grading notebook cell by cell, surviving hangs and kernel deaths.

    With ``bwrap`` (the path of bubblewrap), each kernel runs in a :class:`sandbox.Sandbox`
    whose only writable folder is ``workdir/home``.

    Returns one status per cell (``{"status": "ok" | "error" | "timeout" | "died" |
    "memory" | "skipped" | "deadline", "outputs": [...]}``) and notes for the gradebook.
    """
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    n = len(nb.cells)
    status: list[dict[str, Any]] = [{"status": "skipped", "outputs": []} for _ in range(n)]
    bad: set[int] = set()
    notes: list[str] = []
    deadline = time.monotonic() + timeout
    start_at, restarts = 0, 0
    env = _kernel_env(cache_dir, cache_writable=cache_writable)
    home = workdir / "home"
    home.mkdir(exist_ok=True)
    while start_at < n:
        box = None
        if bwrap is not None:
            sockets = workdir / f"sockets-{restarts}"  # a fresh folder for each kernel
            sockets.mkdir()
            ro = (Path(cache_dir),) if cache_dir and Path(cache_dir).is_dir() else ()
            box = sandbox.Sandbox(bwrap, home, shared=(sockets,), readonly=ro)
        inside = sandbox.kernel_env(env, home) if box is not None else env
        client = _make_client(nb, home, output_limit, box, inside)
        watchdog = None
        failed_at = None
        try:
            with client.setup_kernel(env=env, cwd=str(home)):
                pid = getattr(getattr(client.km, "provisioner", None), "process", None)
                if pid is not None and memory_mb:
                    watchdog = _Watchdog(pid.pid, memory_mb)
                    watchdog.start()
                for index in range(n):
                    if index in bad:
                        continue
                    replay = index < start_at
                    left = deadline - time.monotonic()
                    if left <= 0:
                        for rest in range(index, n):
                            if status[rest]["status"] == "skipped":
                                status[rest]["status"] = "deadline"
                        return status, notes
                    cell = nb.cells[index]
                    cell.outputs = []
                    client.timeout = max(1, int(min(cell_timeout, left)))
                    try:
                        client.execute_cell(cell, index)
                    except CellTimeoutError:
                        failed_at, kind = index, "timeout"
                    except DeadKernelError:
                        failed_at = index
                        kind = "memory" if watchdog is not None and watchdog.fired else "died"
                    if failed_at is not None:
                        if replay:  # a cell that worked before fails on the re-run
                            kind = "died-on-replay"
                        status[index] = {"status": kind, "outputs": []}
                        break
                    if not replay:
                        errors = [o for o in cell.outputs if o.get("output_type") == "error"]
                        status[index] = {
                            "status": "error" if errors else "ok",
                            "outputs": [dict(o) for o in cell.outputs],
                        }
                else:
                    return status, notes
        except Exception as error:  # the kernel would not start, or the client crashed
            if failed_at is None:
                failed_at = start_at
                status[failed_at] = {"status": "died", "outputs": []}
                notes.append(f"the grader could not run the notebook: {_shorten(str(error), 200)}")
        finally:
            if watchdog is not None:
                watchdog.stop()
            if _SWEEP:  # whatever the kernel started and left behind (this worker reaps orphans)
                _kill(_descendants(os.getpid()))
        bad.add(failed_at)
        restarts += 1
        start_at = failed_at + 1
        if restarts > MAX_RESTARTS:
            notes.append(f"the kernel failed {restarts} times; the rest was not run")
            for rest in range(start_at, n):
                if status[rest]["status"] == "skipped":
                    status[rest]["status"] = "abandoned"
            break
    return status, notes


def grade_notebook(
    assignment: Assignment,
    data: bytes,
    *,
    cell_timeout: float = DEFAULT_CELL_TIMEOUT,
    timeout: float = DEFAULT_TIMEOUT,
    memory_mb: float = DEFAULT_MEMORY_MB,
    output_limit: int = DEFAULT_OUTPUT_LIMIT,
    cache_dir: str | None = None,
    cache_writable: bool = True,
    bwrap: str | None = None,
) -> tuple[list[ExerciseResult], list[str], list[str], Any]:
    """Grade one submission given as the bytes of its file.

    Returns (per-exercise results, flags, notes, the parsed notebook or None).
    """
    converted = []
    try:
        raw = json.loads(data.decode("utf-8"))
        if isinstance(raw, dict) and raw.get("nbformat") == 3 and "worksheets" in raw:
            try:
                raw = json.loads(nbformat.writes(nbformat.reads(data.decode("utf-8"), 4)))
            except Exception as error:
                raise ValueError(
                    f"an nbformat 3 notebook that could not be converted ({error}); open it in "
                    "JupyterLab and save it again, which writes format 4"
                ) from None
            converted.append("the notebook was in the old nbformat 3 and was converted to 4")
        if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
            raise ValueError("no list of cells")
        submission = nbformat.from_dict(raw)
    except RecursionError:
        why = "not a notebook (its JSON is nested too deeply to read)"
        return _zero(assignment, why), [why], [], None
    except (UnicodeDecodeError, ValueError) as error:
        why = f"not a notebook ({_shorten(str(error), 240)})"
        return _zero(assignment, why), [why], [], None

    origin = submission.get("metadata", {}).get("course", {})
    origin = origin.get("generated_from", "") if isinstance(origin, dict) else ""
    theirs = {_grade_id(c) or c.get("id") for c in submission.cells if isinstance(c, dict)}
    other = Path(origin).stem if isinstance(origin, str) and origin else ""
    if (other and other != assignment.name) or not (assignment.cell_keys & theirs):
        what = (
            f"exercises/{exercises.exercise_name(other)}"
            if other
            else "a notebook without this assignment's cells"
        )
        why = f"wrong notebook: this is {what}, not {assignment.name}"
        return _zero(assignment, why), [why], [], submission

    nonce = secrets.token_hex(8)
    nb, owner, notes, missing = build_grading_notebook(assignment, submission, nonce, output_limit)
    notes = converted + notes
    student_cells = set(nb.metadata.pop("course_grade_student_cells", []))
    odd = nb.metadata.pop("course_grade_suspicious", [])
    with tempfile.TemporaryDirectory(prefix="course-grade-") as tmp:
        status, run_notes = run_notebook(
            nb,
            Path(tmp),
            cell_timeout=cell_timeout,
            timeout=timeout,
            memory_mb=memory_mb,
            output_limit=output_limit,
            cache_dir=cache_dir,
            cache_writable=cache_writable,
            bwrap=bwrap,
        )
    notes += run_notes
    flags: list[str] = []
    results = []
    first_error: dict[int, str] = {}
    span_start = 0
    for i, index in enumerate(owner):
        if index is None:
            continue
        # a failure in the exercise's own code cells explains a failing test best
        for j in range(span_start, i):
            st = status[j]
            if st["status"] in ("timeout", "died", "memory") and index not in first_error:
                first_error[index] = _cell_problem(st["status"], cell_timeout, memory_mb)
            elif st["status"] == "error" and index not in first_error:
                err = next(o for o in st["outputs"] if o.get("output_type") == "error")
                if err.get("ename") in ("SyntaxError", "IndentationError"):
                    first_error[index] = "your code does not compile: " + _reason_from_error(err)
        span_start = i + 1
    for i, index in enumerate(owner):
        if index is None:
            continue
        ex = assignment.exercises[index]
        st = status[i]
        passed = st["status"] == "ok" and any(
            o.get("output_type") == "display_data"
            and o.get("data", {}).get(RESULT_MIME, {}).get("nonce") == nonce
            and o["data"][RESULT_MIME].get("grade_id") == ex.grade_id
            for o in st["outputs"]
        )
        if passed:
            results.append(ExerciseResult(ex.grade_id, ex.title, ex.points, ex.points))
            continue
        if index in missing:
            reason = missing[index]
        elif st["status"] == "error":
            err = next(o for o in st["outputs"] if o.get("output_type") == "error")
            reason = _reason_from_error(err)
            if err.get("ename") == "NameError" and index in first_error:
                reason = first_error[index]
            if err.get("ename") == "GradingTampered":
                flags.append("tampering")
        elif st["status"] == "ok":
            reason = (
                "tampering suspected: the test cell did not run to its end (something in the "
                "notebook rewrote, skipped or silenced it)"
            )
            flags.append("tampering")
        else:
            reason = _cell_problem(st["status"], cell_timeout, memory_mb)
            if st["status"] in ("skipped", "deadline", "abandoned") and index in first_error:
                reason = first_error[index] + "; " + reason
        results.append(ExerciseResult(ex.grade_id, ex.title, 0.0, ex.points, reason))
    for st in status:
        text = "".join(o.get("text", "") for o in st["outputs"] if o.get("output_type") == "stream")
        if "[grader: output limit reached" in text:
            notes.append(
                f"the notebook printed more than {output_limit:,} characters; the rest was dropped"
            )
            flags.append("for review: hit the output limit")
            break
    if any(st["status"] == "memory" for st in status):
        flags.append("for review: hit the memory limit")
    if any(st["status"] in ("died", "died-on-replay") for st in status):
        flags.append("for review: the kernel died")
    for i, (st, index) in enumerate(zip(status, owner, strict=True)):
        if index is None and st["status"] in ("timeout", "died", "memory"):
            where = "one of your code cells" if i in student_cells else "a cell of the assignment"
            notes.append(f"{where}: " + _cell_problem(st["status"], cell_timeout, memory_mb))
    if odd:
        shown = ", ".join(odd[:6]) + (" ..." if len(odd) > 6 else "")
        flags.append(f"for review: {shown} (no exercise needs this)")
    return results, sorted(set(flags)), notes, submission


def _cell_problem(kind: str, cell_timeout: float, memory_mb: float) -> str:
    return {
        "timeout": f"timed out: a cell ran longer than {cell_timeout:g} s (an endless loop?)",
        "died": "the kernel died (os._exit, a crash, or a signal)",
        "died-on-replay": "the kernel died while re-running earlier cells",
        "memory": f"stopped: used more than {memory_mb:g} MB of memory",
        "deadline": "not run: the notebook's time limit was used up",
        "abandoned": "not run: the kernel failed too many times",
        "skipped": "not run",
    }.get(kind, kind)


# ------------------------------------------------------------------------------ worker process


_SWEEP = False  # set in a worker process: kill what each kernel leaves behind


def _become_subreaper() -> None:
    """Orphans of the kernel's processes become this process's children (Linux), so that
    :func:`_descendants` finds them even after a ``setsid`` or a double fork; and this worker
    dies with the grader that started it (an interrupted run leaves no worker behind)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the grader was already gone before the line above
        os._exit(1)


def _worker(result_fd: int) -> int:
    """Grade one submission: the job comes as JSON on stdin, the result goes to ``result_fd``.

    The result carries the job's token, which only the parent and this process know: the
    kernel never sees the job, and its sandbox cannot reach this process, its files or its pipes.
    """
    global _SWEEP
    os.set_inheritable(result_fd, False)  # the kernel must not inherit the result pipe
    job = json.loads(sys.stdin.read())
    _SWEEP = True
    _become_subreaper()
    assignment = load_assignment(Path(job["assignment"]))
    data = base64.b64decode(job["submission"])
    results, flags, notes, _ = grade_notebook(
        assignment,
        data,
        cell_timeout=job["cell_timeout"],
        timeout=job["timeout"],
        memory_mb=job["memory_mb"],
        output_limit=job["output_limit"],
        cache_dir=job.get("cache_dir"),
        cache_writable=job.get("cache_writable", False),
        bwrap=job.get("bwrap"),
    )
    out = {
        "token": job["token"],
        "exercises": [dataclasses.asdict(r) for r in results],
        "flags": flags,
        "notes": notes,
    }
    with os.fdopen(result_fd, "w", encoding="utf-8") as pipe:
        pipe.write(json.dumps(out))
    _kill(_descendants(os.getpid()))
    return 0


def _run_worker(job: dict[str, Any], timeout: float) -> tuple[dict[str, Any] | None, str]:
    """Run one worker process on ``job``; (its result, or None; and what went wrong)."""
    token = secrets.token_hex(16)
    read_end, write_end = os.pipe()
    proc = subprocess.Popen(
        [sys.executable, "-m", "course_lib.instructor.grade", "--worker", str(write_end)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        pass_fds=(write_end,),
        start_new_session=True,
    )
    os.close(write_end)
    received: list[bytes] = []
    reader = threading.Thread(
        target=lambda: received.append(_read_rest(read_end)),
        daemon=True,
    )
    reader.start()
    try:
        _, err = proc.communicate(json.dumps({**job, "token": token}).encode(), timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill([proc.pid, *_descendants(proc.pid)])
        _, err = proc.communicate()
    reader.join(timeout=10)
    os.close(read_end)
    tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] if err else []
    why = "the grader crashed on this submission" + (f" ({tail[0]})" if tail else "")
    if proc.returncode != 0:
        code = proc.returncode
        how = f"killed by signal {-code}" if code < 0 else f"exit status {code}"
        return None, f"the grader's worker failed ({how}){': ' + tail[0] if tail else ''}"
    try:
        out = json.loads(b"".join(received).decode("utf-8"))
    except ValueError:
        return None, why
    if not isinstance(out, dict) or out.get("token") != token:
        return None, "the grader's result did not come from its own worker"
    return out, ""


def _read_rest(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


# ------------------------------------------------------------------------------ many submissions


def find_submissions(paths: Sequence[Path]) -> list[Path]:
    """Every notebook named or found under the given folders (checkpoints skipped), sorted."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += [
                p
                for p in sorted(path.rglob("*.ipynb"))
                if ".ipynb_checkpoints" not in p.parts and p.is_file()
            ]
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(f"submission {path} does not exist")
    unique: dict[Path, Path] = {}
    for path in found:
        unique.setdefault(Path(os.path.abspath(path)), path)  # a link is its own submission
    return list(unique.values())


def _guess_assignment(paths: Sequence[Path], names: Sequence[str]) -> str:
    votes: dict[str, int] = {}
    for path in paths:
        name = None
        try:
            meta = json.loads(path.read_bytes()).get("metadata", {}).get("course", {})
            name = Path(meta.get("generated_from", "")).stem or None
        except Exception:
            pass
        if name is None:
            name = next((n for n in names if n in path.name or n in path.parent.name), None)
        if name in names:
            votes[name] = votes.get(name, 0) + 1
    if not votes:
        raise SystemExit("error: cannot tell which assignment these are; pass --assignment NAME")
    ranked = sorted(votes.items(), key=lambda kv: -kv[1])
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        raise SystemExit(
            f"error: submissions of several assignments {sorted(votes)}; pass --assignment"
        )
    return ranked[0][0]


def grade_submissions(
    paths: Sequence[Path],
    assignment_path: Path,
    *,
    roots: Sequence[Path] = (),
    jobs: int | None = None,
    cell_timeout: float = DEFAULT_CELL_TIMEOUT,
    timeout: float = DEFAULT_TIMEOUT,
    memory_mb: float = DEFAULT_MEMORY_MB,
    output_limit: int = DEFAULT_OUTPUT_LIMIT,
    progress: Any = None,
    bwrap: str | None = None,
    warm_up: bool = True,
) -> list[SubmissionResult]:
    """Grade submissions in parallel worker processes; one result per submission, in order.

    Every submission is read once, before any student code runs; the graded bytes are those.
    With ``bwrap``, each kernel runs in a sandbox (:mod:`sandbox`). First (``warm_up``) the
    instructor's own solution is graded: it must earn every point; then the unsolved exercise,
    whose compiled programs (the course's, none of the answers) fill a JAX cache that the
    submissions only read. At the end every submitted file is
    compared with what was read, and one that changed on disk meanwhile (only possible without
    the sandbox) is put back and flagged.
    """
    assignment = load_assignment(assignment_path)
    jobs = max(1, jobs or os.cpu_count() or 1)
    contents: list[bytes] = [Path(p).read_bytes() for p in paths]
    results: list[SubmissionResult | None] = [None] * len(paths)
    settings = {
        "assignment": str(assignment_path),
        "cell_timeout": cell_timeout,
        "timeout": timeout,
        "memory_mb": memory_mb,
        "output_limit": output_limit,
        "bwrap": bwrap,
    }
    with tempfile.TemporaryDirectory(prefix="course-grade-run-") as run_dir:
        cache_dir = os.path.join(run_dir, "jax-cache")
        os.mkdir(cache_dir)
        if warm_up:
            # 1. the solution must earn every point (its compiled programs are not kept: they
            #    are the solutions, compiled); 2. the unsolved exercise fills the cache that
            #    every submission reads: the course's own programs, none of the answers
            blank = exercises.generate_notebook(assignment.notebook, assignment_path.name)
            for what, data, cache in (
                ("solution", assignment_path.read_bytes(), None),
                ("unsolved exercise", nbformat.writes(blank).encode(), cache_dir),
            ):
                job = {
                    **settings,
                    "submission": base64.b64encode(data).decode(),
                    "cache_dir": cache,
                    "cache_writable": True,
                    "bwrap": None,  # the instructor's own notebooks: no sandbox needed
                }
                out, why = _run_worker(job, timeout + 60)
                if out is None:
                    raise RuntimeError(f"grading the {what} notebook failed: {why}")
                lost = [r for r in out["exercises"] if r["points"] < r["possible"]]
                if what == "solution" and lost:
                    raise RuntimeError(
                        f"the solution notebook {assignment_path} itself does not earn every "
                        "point: " + "; ".join(f"{r['grade_id']}: {r['reason']}" for r in lost[:3])
                    )

        def one(i: int) -> SubmissionResult:
            path = paths[i]
            started = time.monotonic()
            try:
                nb = json.loads(contents[i])
                nb = nb if isinstance(nb, dict) else None
            except Exception:
                nb = None
            student = identify(path, nb, assignment.name, roots)
            flags: list[str] = []
            if student is None:
                flags.append("student not identified")
            if Path(path).is_symlink():
                flags.append(f"the submission is a symbolic link (to {os.readlink(path)})")
            if student and (csv_text(student) != student or re.search(r"[/\\\x00-\x1f]", student)):
                flags.append("for review: an unusual student name (shown neutralised)")
            job = {
                **settings,
                "submission": base64.b64encode(contents[i]).decode(),
                "cache_dir": cache_dir if warm_up else None,
                "cache_writable": False,
            }
            out, why = _run_worker(job, timeout + 60)
            if out is not None:
                exs = [ExerciseResult(**r) for r in out["exercises"]]
                flags += out["flags"]
                notes = out["notes"]
            else:
                exs, notes = _zero(assignment, why), []
                flags.append("grading failed")
            return SubmissionResult(
                str(path), student or "", flags, exs, notes, time.monotonic() - started
            )

        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(one, i): i for i in range(len(paths))}
            for future in concurrent.futures.as_completed(futures):
                i = futures[future]
                results[i] = future.result()
                if progress is not None:
                    progress(results[i])
    done = [r for r in results if r is not None]
    for i, path in enumerate(paths):
        if _restore(Path(path), contents[i]):
            for r in done:
                if r.path == str(path):
                    r.flags.append("the file was changed on disk during grading and was restored")
    _mark_unidentified_and_duplicates(done)
    return done


def _restore(path: Path, data: bytes) -> bool:
    """Put ``data`` back into ``path`` if its content changed; True if it did."""
    try:
        if path.read_bytes() == data:
            return False
    except OSError:
        pass
    target = path.resolve()
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".restore")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, target)
    print(
        f"warning: {path} was changed during grading; its submitted content was put back",
        file=sys.stderr,
    )
    return True


def _mark_unidentified_and_duplicates(results: list[SubmissionResult]) -> None:
    counter = 0
    for r in results:
        if not r.student:
            counter += 1
            r.student = f"unidentified-{counter}"
    names: dict[str, int] = {}
    for r in results:
        names[r.student] = names.get(r.student, 0) + 1
    for r in results:
        if names[r.student] > 1:
            r.flags.append(f"{names[r.student]} submissions from {r.student}")


# ------------------------------------------------------------------------------ outputs


def write_gradebook(
    path: Path,
    assignment: Assignment,
    results: Sequence[SubmissionResult],
    previous: bytes | None = None,
) -> Path | None:
    """Write the CSV gradebook atomically; the previous one is kept as ``<name>.bak-<time>``.

    ``previous`` is the old gradebook's content as read before grading began (so that nothing
    written to that path meanwhile can take its place); without it, the file on disk is kept.
    Text that a spreadsheet would read as a formula is neutralised (:func:`csv_text`)."""
    backup = None
    if previous is None and path.exists():
        previous = path.read_bytes()
    if previous is not None:
        backup = exercises._backup_path(path)
        _write_atomic(backup, previous)
    ids = [ex.grade_id for ex in assignment.exercises]
    rows = [["student", "submission", "flags", *ids, "total", "possible", "reasons", "notes"]]
    rows.append(
        [
            "(points possible)",
            "",
            "",
            *[_num(ex.points) for ex in assignment.exercises],
            _num(assignment.possible),
            _num(assignment.possible),
            "",
            "",
        ]
    )
    for r in sorted(results, key=lambda r: (csv_text(r.student).lower(), r.path)):
        points = {ex.grade_id: ex.points for ex in r.exercises}
        reasons = "; ".join(f"{ex.grade_id}: {ex.reason}" for ex in r.exercises if ex.reason)
        rows.append(
            [
                csv_text(r.student),
                csv_text(r.path),
                csv_text("; ".join(r.flags)),
                *[_num(points.get(i, 0.0)) for i in ids],
                _num(r.total),
                _num(r.possible),
                csv_text(reasons),
                csv_text("; ".join(r.notes)),
            ]
        )
    out = io.StringIO(newline="")
    csv.writer(out).writerows(rows)
    _write_atomic(path, out.getvalue().encode("utf-8"))
    return backup


def csv_text(text: str) -> str:
    """Text for a CSV cell that no spreadsheet runs as a formula (OWASP's rule: a cell that
    starts with = + - @, a tab or a carriage return gets a leading apostrophe)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename: never half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _num(x: float) -> str:
    return f"{x:g}"


_STYLE = """
body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.5rem} .total{font-size:1.25rem;margin:.5rem 0 1.5rem}
table{border-collapse:collapse;width:100%} td,th{border-bottom:1px solid #ddd;padding:.5rem;
text-align:left;vertical-align:top} th{background:#f5f5f5} .ok{color:#1a7f37;font-weight:600}
.no{color:#b3261e;font-weight:600} .flag{background:#fff4ce;border-left:4px solid #e0a800;
padding:.5rem 1rem;margin:.5rem 0} .note{color:#555} code{background:#f2f2f2;padding:0 .2rem}
"""


def feedback_html(assignment: Assignment, result: SubmissionResult) -> str:
    """A feedback page for one submission: total, then each exercise with its reason."""
    e = html.escape
    rows = []
    for ex in result.exercises:
        mark = (
            '<span class="ok">✔</span>' if ex.points >= ex.possible else '<span class="no">✘</span>'
        )
        detail = e(ex.reason) if ex.reason else "passed every test"
        rows.append(
            f"<tr><td>{mark}</td><td>{e(ex.title)}<br><code>{e(ex.grade_id)}</code></td>"
            f"<td>{_num(ex.points)} / {_num(ex.possible)}</td><td>{detail}</td></tr>"
        )
    flags = "".join(f'<p class="flag">{e(f)}</p>' for f in result.flags)
    notes = "".join(f'<li class="note">{e(n)}</li>' for n in result.notes)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Feedback: {e(assignment.name)} · {e(result.student)}</title>
<style>{_STYLE}</style></head><body>
<h1>{e(assignment.name)} · feedback for {e(result.student)}</h1>
<p class="total"><b>{_num(result.total)} / {_num(result.possible)}</b> points</p>
{flags}
<table><tr><th></th><th>exercise</th><th>points</th><th>what the tests found</th></tr>
{"".join(rows)}
</table>
{f"<ul>{notes}</ul>" if notes else ""}
<p class="note">Graded from <code>{e(Path(result.path).name)}</code>. Run the self-check cell after
each exercise in JupyterLab to see the full message; some exercises also have hidden tests.</p>
</body></html>
"""


def _feedback_name(result: SubmissionResult, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_.-]+", "_", result.student).lstrip(".") or "student"
    name, counter = f"{base}.html", 2
    while name in taken:
        name, counter = f"{base}-{counter}.html", counter + 1
    taken.add(name)
    return name


class _Progress:
    """A one-line progress bar on stderr (one line per submission when not a terminal)."""

    def __init__(self, total: int, stream: Any = None) -> None:
        self.total, self.done, self.stream = total, 0, stream or sys.stderr
        self.start = time.monotonic()
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def __call__(self, result: SubmissionResult) -> None:
        self.done += 1
        width = 24
        filled = round(width * self.done / max(self.total, 1))
        bar = "█" * filled + "·" * (width - filled)
        line = (
            f"grading [{bar}] {self.done}/{self.total}  {result.student or '?'}: "
            f"{_num(result.total)}/{_num(result.possible)}  ({time.monotonic() - self.start:.0f} s)"
        )
        if self.tty:
            self.stream.write("\r" + line[:120].ljust(120))
            if self.done == self.total:
                self.stream.write("\n")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


# ------------------------------------------------------------------------------ command line


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns 0 when every submission was graded (bad ones included)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--worker"]:
        return _worker(int(argv[1]))
    parser = argparse.ArgumentParser(
        prog="python -m course_lib.instructor.grade",
        description="Autograde exercise notebooks: a CSV gradebook and a feedback page each.",
    )
    parser.add_argument("submissions", nargs="+", type=Path, help="notebooks or folders of them")
    parser.add_argument("--assignment", help="e.g. ch01_perceptron (default: read from the files)")
    parser.add_argument("--out", type=Path, default=Path("grades.csv"), help="the CSV gradebook")
    parser.add_argument(
        "--feedback",
        type=Path,
        default=None,
        help="folder for feedback pages (default: feedback/ beside --out)",
    )
    parser.add_argument(
        "--jobs", type=int, default=None, help="submissions graded at once (default: CPU cores)"
    )
    parser.add_argument(
        "--cell-timeout", type=float, default=DEFAULT_CELL_TIMEOUT, help="seconds per cell"
    )
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per notebook"
    )
    parser.add_argument(
        "--memory-limit", type=float, default=DEFAULT_MEMORY_MB, help="MB per kernel"
    )
    parser.add_argument("--root", type=Path, default=None, help="course folder holding solutions/")
    box = parser.add_mutually_exclusive_group()
    box.add_argument(
        "--require-sandbox",
        action="store_true",
        help="refuse to grade where the sandbox (bubblewrap) is not available",
    )
    box.add_argument(
        "--no-sandbox",
        action="store_true",
        help="run kernels without the sandbox even where it is available (not recommended)",
    )
    args = parser.parse_args(argv)
    for name in ("jobs", "cell_timeout", "timeout", "memory_limit"):
        value = getattr(args, name)
        if value is not None and value <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive, got {value}")

    root = (args.root or exercises._default_root()).resolve()
    solutions = sorted((root / exercises.SOLUTIONS_DIR).glob(exercises.NOTEBOOK_GLOB))
    names = [p.stem for p in solutions]
    try:
        paths = find_submissions(args.submissions)
    except FileNotFoundError as error:
        parser.error(str(error))
    if not paths:
        parser.error("no .ipynb files among the submissions")
    name = args.assignment or _guess_assignment(paths, names)
    name = Path(name).name.removesuffix(".ipynb")
    if name not in names:
        parser.error(f"no solutions/{name}.ipynb under {root} (have: {', '.join(names)})")
    assignment_path = root / exercises.SOLUTIONS_DIR / f"{name}.ipynb"
    assignment = load_assignment(assignment_path)
    out = args.out.resolve()
    if any(p.resolve() == out for p in paths):
        parser.error("--out would overwrite a submission")
    out.parent.mkdir(parents=True, exist_ok=True)
    feedback_dir = (args.feedback or out.parent / "feedback").resolve()
    previous = out.read_bytes() if out.exists() else None  # before any student code runs

    bwrap, why = (None, "--no-sandbox was given") if args.no_sandbox else sandbox.find_bwrap()
    if bwrap is None and args.require_sandbox:
        print(f"error: --require-sandbox, but no sandbox: {why}", file=sys.stderr)
        return 2
    if bwrap is None:
        print(
            f"warning: grading WITHOUT a sandbox ({why}). Student code can then read and write "
            "whatever your account can: other submissions are restored if changed, but files "
            "elsewhere are not protected. Install bubblewrap, or pass --require-sandbox to refuse.",
            file=sys.stderr,
        )

    print(
        f"grading {len(paths)} submission(s) of {name} ({len(assignment.exercises)} exercises, "
        f"{_num(assignment.possible)} points), "
        + ("each in a sandbox" if bwrap else "unsandboxed"),
        file=sys.stderr,
    )
    started = time.monotonic()
    results = grade_submissions(
        paths,
        assignment_path,
        roots=args.submissions,
        jobs=args.jobs,
        cell_timeout=args.cell_timeout,
        timeout=args.timeout,
        memory_mb=args.memory_limit,
        progress=_Progress(len(paths)),
        bwrap=bwrap,
    )
    backup = write_gradebook(out, assignment, results, previous)
    feedback_dir.mkdir(parents=True, exist_ok=True)
    taken: set[str] = set()
    for r in sorted(results, key=lambda r: (r.student.lower(), r.path)):
        target = feedback_dir / _feedback_name(r, taken)
        if any(p.resolve() == target for p in paths):
            continue
        _write_atomic(target, feedback_html(assignment, r).encode("utf-8"))
    flagged = sum(bool(r.flags) for r in results)
    print(
        f"graded {len(results)} submission(s) in {time.monotonic() - started:.1f} s; "
        f"gradebook: {out}"
        + (f" (previous one kept as {backup.name})" if backup else "")
        + f"; feedback: {feedback_dir}/"
        + (f"; {flagged} flagged" if flagged else ""),
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
