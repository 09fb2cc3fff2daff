"""Run the lecture and solution notebooks under strict nbval once per XLA:CPU instruction set.

XLA's CPU code generator emits different instructions on different processors (SSE4.2, AVX,
AVX2, AVX-512), and with them different float rounding. ``XLA_FLAGS=--xla_cpu_max_isa=LEVEL``
caps what it emits, so one machine can compute what an older or smaller one would. A notebook
whose asserts or stored outputs change with the level would fail on some student's laptop.

    python scripts/portability.py                      # every level this CPU supports
    python scripts/portability.py --isa SSE4_2 AVX     # only these
    python scripts/portability.py --isa default        # no cap (what make test runs)
    python scripts/portability.py notebooks/ch01_perceptron.ipynb --isa AVX2
    python scripts/portability.py --isa NUDGED         # random draws nudged by 2 ulps
    python scripts/portability.py --isa SSE4_2+NUDGED  # both at once (CI)
    python scripts/portability.py --isa SSE4_2+NUDGED --compilation-cache .cache/jax

``SSE4_2+NUDGED`` (any ISA level joined to NUDGED with ``+``) runs both perturbations in one
pass: half the time of running them one after the other, which is what CI does. A cell that
changes under either one changes under both together (the two cannot cancel out to the last
printed digit except by chance); to tell which one it was, run them separately.

``NUDGED`` is a level of another kind, for what the CPU at hand cannot show: CPUs differ in more
than their instruction set (an AMD AVX2 laptop rounded differently from this machine capped at
AVX2). It runs at the default level with every float that ``jax.random`` draws multiplied by
``1 + 2 eps`` of its dtype (2 ulps: 2.4e-7 in float32, 4.4e-16 in float64), through an IPython
start-up file, so a stored output or an assert that depends on the last bits of the arithmetic,
such as the end of a long training run, which amplifies them, fails here.

For each level it runs ``pytest --nbval`` (the same options as ``make test``) with the level
appended to ``XLA_FLAGS``, reads the per-cell results from a JUnit XML report, and at the end
prints a table: one row per notebook, one column per level, ``pass`` or the cells that failed.
The table is also written to ``build/portability/table.md``. The exit status is 0 only when
every cell passed at every level.

By default every run compiles afresh. ``--compilation-cache DIR`` keeps every program the
kernels compile in JAX's persistent compilation cache in DIR; a later kernel with the same
``XLA_FLAGS`` (and nudge) loads them instead of compiling, and gets the same executable, so the
same numbers. CI gives the course kernel's own cache (``.cache/jax``) and then runs the browser
test at the same level (``make browser-test BROWSER_ISA=SSE4_2+NUDGED``): its kernels run the
lectures' programs without compiling them a second time.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "build" / "portability"
#: XLA:CPU's levels, oldest first, with the /proc/cpuinfo (Linux) or sysctl (macOS) flag that
#: says the processor has it.
LEVELS = {"SSE4_2": "sse4_2", "AVX": "avx", "AVX2": "avx2", "AVX512": "avx512f"}
DEFAULT = "default"
NUDGED = "NUDGED"
#: The IPython start-up file of the NUDGED level.
NUDGE_STARTUP = '''"""From scripts/portability.py: nudge the floats jax.random draws by 2 ulps."""
import functools

import jax
import jax.numpy as jnp


def _nudged(draw):
    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        out = draw(*args, **kwargs)
        if not jnp.issubdtype(out.dtype, jnp.floating):
            return out
        return out * jnp.asarray(1 + 2 * jnp.finfo(out.dtype).eps, out.dtype)

    return wrapper


for _name in ("normal", "uniform", "truncated_normal"):
    setattr(jax.random, _name, _nudged(getattr(jax.random, _name)))
'''


def cpu_flags() -> set[str]:
    """The processor's feature flags, lower-case; empty where they cannot be read."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        text = ""
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    if platform.system() == "Darwin":
        out = []
        for key in ("machdep.cpu.features", "machdep.cpu.leaf7_features"):
            res = subprocess.run(["sysctl", "-n", key], capture_output=True, text=True)
            out.append(res.stdout)
        # macOS spells them SSE4.2, AVX1.0, AVX2, AVX512F.
        words = " ".join(out).lower().replace("sse4.2", "sse4_2").replace("avx1.0", "avx")
        return set(words.split())
    return set()


def supported_levels() -> list[str]:
    """The XLA:CPU levels this processor runs, oldest first; none off x86-64."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return []
    flags = cpu_flags()
    return [level for level, flag in LEVELS.items() if flag in flags]


def _isa_part(level: str) -> str:
    """The instruction-set part of a level: ``SSE4_2+NUDGED`` -> ``SSE4_2``."""
    return level.split("+")[0]


def _is_nudged(level: str) -> bool:
    """Whether a level nudges the random draws: ``NUDGED`` or ``<ISA>+NUDGED``."""
    return NUDGED in level.split("+")


def xla_flags_for(level: str, base: str) -> str:
    """``base`` (the caller's XLA_FLAGS) with the cap for ``level``; any earlier cap removed."""
    kept = [f for f in base.split() if not f.startswith("--xla_cpu_max_isa")]
    isa = _isa_part(level)
    if isa in LEVELS:
        kept.append(f"--xla_cpu_max_isa={isa}")
    return " ".join(kept)


def notebook_results(junit_xml: Path) -> dict[str, list[str]]:
    """``{notebook path: [failed cell names]}`` from a pytest JUnit XML report of nbval items."""
    results: dict[str, list[str]] = defaultdict(list)
    for case in ET.parse(junit_xml).iter("testcase"):
        # nbval items: classname "notebooks.ch01_perceptron.ipynb", name "Cell 3"
        nb = case.get("classname", "")
        if not nb.endswith(".ipynb"):
            continue
        stem, _ = nb.rsplit(".ipynb", 1)
        folder, _, name = stem.partition(".")
        path = f"{folder}/{name}.ipynb"
        failed = case.find("failure") is not None or case.find("error") is not None
        results.setdefault(path, [])
        if failed:
            # nbval numbers the code cells only, from 0
            results[path].append(case.get("name", "?").replace("Cell ", "code cell "))
    return dict(results)


def level_env(level: str, base: dict[str, str], python: str = sys.executable) -> dict[str, str]:
    """``base`` (an environment) as a process run at ``level`` needs it: ``XLA_FLAGS`` with the
    level's cap and, for a nudged level, ``IPYTHONDIR`` pointing at the nudge's start-up file
    (checked to load: a level that silently nudged nothing would pass everything). The browser
    test uses it too (``BROWSER_ISA``), so that in CI its kernels compile exactly the programs
    this script's run compiled."""
    parts = level.split("+")
    if level not in (DEFAULT, NUDGED, *LEVELS) and not (
        len(parts) == 2 and parts[0] in LEVELS and parts[1] == NUDGED
    ):
        raise ValueError(
            f"level: expected one of {DEFAULT}, {NUDGED}, {', '.join(LEVELS)} or an ISA level "
            f"joined to {NUDGED} with + (SSE4_2+{NUDGED}), got {level!r}"
        )
    env = dict(base)
    env["XLA_FLAGS"] = xla_flags_for(level, base.get("XLA_FLAGS", ""))
    if _is_nudged(level):
        startup = OUT_DIR / "ipython" / "profile_default" / "startup"
        startup.mkdir(parents=True, exist_ok=True)
        # whole or not at all: two browser-test workers may write it at the same moment
        tmp = startup / f".00_nudge.{os.getpid()}.tmp"
        tmp.write_text(NUDGE_STARTUP)
        os.replace(tmp, startup / "00_nudge.py")
        env["IPYTHONDIR"] = str(OUT_DIR / "ipython")
        probe = "import jax; print(hasattr(jax.random.normal, '__wrapped__'))"
        out = subprocess.run(
            [python, "-m", "IPython", "-c", probe], env=env, capture_output=True, text=True
        )
        if out.stdout.strip().splitlines()[-1:] != ["True"]:
            sys.exit(f"error: the {NUDGED} start-up file did not load in IPython: {out.stderr}")
    return env


def cache_env(folder: str | Path) -> dict[str, str]:
    """JAX's persistent compilation cache in ``folder``, keeping every compiled program (at
    JAX's default threshold of 1 s it would keep almost none of the course's): the settings the
    course kernel has (scripts/course.py), for a run whose kernels are nbval's."""
    return {
        "JAX_COMPILATION_CACHE_DIR": str(Path(folder).resolve()),
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
    }


def run_level(
    level: str, paths: list[str], workers: int, python: str, cache: str | None = None
) -> tuple[dict, float]:
    """Run nbval on ``paths`` at ``level``; the per-notebook failures and the wall time."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    report = OUT_DIR / f"{level}.xml"
    report.unlink(missing_ok=True)
    env = level_env(level, dict(os.environ), python)
    if cache:
        env.update(cache_env(cache))
    cmd = [python, "-m", "pytest", *paths, "--nbval", "--nbval-current-env"]
    cmd += ["--nbval-sanitize-with", "nbval_sanitize.cfg", f"--junitxml={report}", "-q"]
    cmd += ["-p", "no:cacheprovider", "-o", "junit_family=xunit2"]
    # a kernel's first start on a busy machine once took over nbval's default 60 s (every cell of
    # ch01 then failed at set-up); a kernel that never starts still fails, after 3 minutes
    cmd += ["--nbval-kernel-startup-timeout", "180"]
    if workers > 1:
        cmd += ["-n", str(workers), "--dist", "loadfile"]
    where = f", compilation cache {env['JAX_COMPILATION_CACHE_DIR']}" if cache else ""
    print(f"== portability: {level} (XLA_FLAGS={env['XLA_FLAGS']!r}{where})", flush=True)
    t0 = time.perf_counter()
    log = OUT_DIR / f"{level}.log"
    with open(log, "w") as fh:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - t0
    if not report.exists():
        sys.exit(f"error: pytest wrote no report at {level} (exit {proc.returncode}); see {log}")
    results = notebook_results(report)
    n_failed = sum(len(v) for v in results.values())
    print(f"   {len(results)} notebooks, {n_failed} failed cells, {seconds:.0f} s; log: {log}")
    return results, seconds


def table(columns: dict[str, dict[str, list[str]]]) -> str:
    """A Markdown table: notebook x level, ``pass`` or the failed cells."""
    levels = list(columns)
    notebooks = sorted({nb for res in columns.values() for nb in res})
    head = "| notebook | " + " | ".join(levels) + " |"
    rows = [head, "|" + " --- |" * (len(levels) + 1)]
    for nb in notebooks:
        cells = []
        for level in levels:
            res = columns[level]
            if nb not in res:
                cells.append("not run")
            elif res[nb]:
                cells.append("FAIL: " + ", ".join(res[nb]))
            else:
                cells.append("pass")
        rows.append(f"| {nb} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "paths", nargs="*", default=["notebooks", "solutions"], help="notebooks or folders"
    )
    parser.add_argument(
        "--isa",
        nargs="+",
        metavar="LEVEL",
        help=f"levels to run: any of {', '.join([DEFAULT, *LEVELS, NUDGED])} (default: every"
        " level this CPU supports, then NUDGED)",
    )
    parser.add_argument("--workers", type=int, default=2, help="pytest-xdist workers (default 2)")
    parser.add_argument(
        "--compilation-cache",
        metavar="DIR",
        help="keep every compiled program in JAX's persistent compilation cache in DIR, where"
        " later runs with the same XLA_FLAGS find them (CI: .cache/jax, the course kernel's, so"
        " that the browser test's kernels reuse this run's programs); default: compile afresh",
    )
    args = parser.parse_args(argv)

    supported = supported_levels()
    if args.isa:
        levels = []
        for level in args.isa:
            level = level.upper() if level.lower() != DEFAULT else DEFAULT
            level = re.sub(r"^SSE4\.?2(?=$|\+)", "SSE4_2", level)
            combined = level.count("+") == 1 and level.endswith(f"+{NUDGED}")
            if level not in (DEFAULT, NUDGED, *LEVELS) and not (
                combined and _isa_part(level) in LEVELS
            ):
                parser.error(
                    f"--isa: unknown level {level!r}; expected one of {DEFAULT}, {NUDGED}, "
                    + ", ".join(LEVELS)
                    + f", or an ISA level joined to {NUDGED} with + (SSE4_2+{NUDGED})"
                )
            isa = _isa_part(level)
            if combined and isa not in supported:
                # the cap cannot apply here, the nudge still can
                print(f"== portability: {level}: this CPU does not support {isa}; {NUDGED} only")
                level = NUDGED
            elif isa in LEVELS and isa not in supported:
                # e.g. .ci/run's SSE4_2 on an ARM machine: say so, and go on with the rest
                print(
                    f"== portability: skipping {level}: this CPU does not support it (it "
                    f"supports: {', '.join(supported) or 'none of them; it is not x86-64'})"
                )
                continue
            levels.append(level)
        if not levels:
            print("== portability: no level left to run")
            return 0
    elif supported:
        levels = [*supported, NUDGED]
    else:
        print("== portability: not an x86-64 CPU: XLA's ISA cap does not apply here")
        levels = [DEFAULT, NUDGED]

    columns: dict[str, dict[str, list[str]]] = {}
    seconds: dict[str, float] = {}
    for level in levels:
        columns[level], seconds[level] = run_level(
            level, args.paths, args.workers, sys.executable, args.compilation_cache
        )

    out = table(columns)
    times = ", ".join(f"{lvl} {s:.0f} s" for lvl, s in seconds.items())
    failed = sum(len(cells) for res in columns.values() for cells in res.values())
    verdict = "no failure" if not failed else f"{failed} failed cells"
    text = f"{out}\n\n{verdict}; {times}\n"
    (OUT_DIR / "table.md").write_text(text)
    print("\n== portability: notebook x level (strict nbval)\n")
    print(text)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
