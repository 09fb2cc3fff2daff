"""Run All, cold and warm: each lecture notebook with and without JAX's compilation cache.

    .venv/bin/python benchmarks/bench_runall.py [--notebooks ch01_perceptron ch08a_convolution]

The course kernel keeps JAX's persistent compilation cache (``scripts/course.py``: the folder
``.cache/jax``, every compiled function cached, however short its compile time), so that a
second Run All of a notebook loads its compiled programs instead of compiling them again. For
each lecture notebook (``notebooks/ch*.ipynb``, or those ``--notebooks`` names), one after
another in this one process, the script runs it top to bottom in a fresh kernel three times:

- *no cache*: the persistent cache switched off (``JAX_ENABLE_COMPILATION_CACHE=false``): the
  baseline, what every Run All cost before the kernel had the cache;
- *cold*: the cache on, in a fresh, empty temporary folder: the first Run All after installing
  or updating the course (it compiles everything and also writes the cache);
- *warm*: the same folder, filled by the cold run: a second Run All.

Each run is timed by the wall clock from starting the kernel to its shutdown after the last
cell, with nbclient (as ``jupyter nbconvert --execute`` does), the kernel's working folder the
notebook's own (as in JupyterLab). The kernel is this environment's Python with ipykernel and
only the environment set here: not the ``dl-course`` kernel spec, whose own cache folder would
win over the run's. Before the first notebook, an untimed kernel imports JAX, matplotlib and
course_lib so that no run pays for reading them from disk. The ratio is warm / no cache, both
measured here. Prints a Markdown table; a run that fails is marked FAILED (its error goes
to stderr) and left out of the total.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: The course kernel's cache settings (scripts/course.py, kernel_env), but for the folder.
CACHE_SETTINGS = {"JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"}
#: Variables that would point a kernel at another cache, removed from every run's environment.
CACHE_VARIABLES = (
    "JAX_COMPILATION_CACHE_DIR",
    "JAX_ENABLE_COMPILATION_CACHE",
    "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS",
    "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES",
)


@dataclasses.dataclass
class Row:
    """One notebook's three Run All times (seconds; None: that run failed)."""

    notebook: str
    no_cache: float | None
    cold: float | None
    warm: float | None
    cache_files: int = 0
    cache_bytes: int = 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--notebooks",
        nargs="+",
        default=None,
        metavar="NAME",
        help="lecture notebooks to run, by name (ch01_perceptron or notebooks/ch01_perceptron"
        ".ipynb); default: every notebooks/ch*.ipynb",
    )
    parser.add_argument("--timeout", type=float, default=600, help="seconds per cell")
    return parser.parse_args(argv)


def select(names: Sequence[str] | None, folder: Path = ROOT / "notebooks") -> list[Path]:
    """The lecture notebooks to run: all ``ch*.ipynb`` of ``folder``, or those named."""
    every = sorted(folder.glob("ch*.ipynb"))
    if not names:
        return every
    by_stem = {p.stem: p for p in every}
    chosen = []
    for name in names:
        stem = Path(name).name.removesuffix(".ipynb")
        if stem not in by_stem:
            raise SystemExit(f"error: no lecture notebook {stem!r}; there are {sorted(by_stem)}")
        chosen.append(by_stem[stem])
    return chosen


def kernel_env(cache_dir: str | None) -> dict[str, str]:
    """This process's environment for a kernel: the cache in ``cache_dir``, or off if None."""
    env = {k: v for k, v in os.environ.items() if k not in CACHE_VARIABLES}
    env.pop("JPY_PARENT_PID", None)
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    if cache_dir is None:
        env["JAX_ENABLE_COMPILATION_CACHE"] = "false"
    else:
        env["JAX_COMPILATION_CACHE_DIR"] = cache_dir
        env.update(CACHE_SETTINGS)
    return env


def _fmt(seconds: float | None) -> str:
    return "FAILED" if seconds is None else f"{seconds:.1f}"


def _ratio(a: float | None, b: float | None) -> str:
    return "" if a is None or b is None or b <= 0 else f"{a / b:.2f}"


def table(rows: Sequence[Row]) -> list[str]:
    """Markdown lines: notebook | no cache | cold | warm | warm / no cache | cache, and a total
    over the notebooks whose three runs all finished."""
    lines = [
        "| notebook | no cache (s) | cold (s) | warm (s) | warm / no cache | cache written |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        cache = f"{r.cache_files} files, {r.cache_bytes / 1e6:.1f} MB"
        ratio = _ratio(r.warm, r.no_cache) if r.cold is not None else ""  # warm needs a cold run
        lines.append(
            f"| {r.notebook} | {_fmt(r.no_cache)} | {_fmt(r.cold)} | {_fmt(r.warm)} "
            f"| {ratio} | {cache} |"
        )
    done = [r for r in rows if None not in (r.no_cache, r.cold, r.warm)]
    if len(rows) > 1 and done:
        total = Row(
            f"**all {len(done)}**" + (f" (of {len(rows)})" if len(done) < len(rows) else ""),
            sum(r.no_cache for r in done),
            sum(r.cold for r in done),
            sum(r.warm for r in done),
        )
        lines.append(
            f"| {total.notebook} | **{_fmt(total.no_cache)}** | **{_fmt(total.cold)}** "
            f"| **{_fmt(total.warm)}** | **{_ratio(total.warm, total.no_cache)}** | |"
        )
    return lines


def _client(nb, folder: Path, timeout: float):
    """An nbclient NotebookClient on a kernel running this very Python (no kernel spec env)."""
    import ipykernel.kernelspec
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient

    class _ThisPython(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            spec = ipykernel.kernelspec.get_kernel_dict()
            return self.kernel_spec_class(resource_dir=ipykernel.kernelspec.RESOURCES, **spec)

    km = AsyncKernelManager(kernel_name="bench-runall", kernel_spec_manager=_ThisPython())
    return NotebookClient(
        nb,
        km=km,
        timeout=timeout,
        startup_timeout=300,  # a loaded machine can take more than nbclient's 60 s
        resources={"metadata": {"path": str(folder)}},
        record_timing=False,
    )


def run_all(path: Path, cache_dir: str | None, timeout: float) -> float | None:
    """Seconds to execute the notebook at ``path`` in a fresh kernel; None if a cell failed."""
    import nbformat
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    try:
        _client(nb, path.parent, timeout).execute(env=kernel_env(cache_dir), cwd=str(path.parent))
    except (CellExecutionError, TimeoutError, RuntimeError) as e:
        print(f"{path.name}: {type(e).__name__}: {str(e)[:500]}", file=sys.stderr)
        return None
    return time.perf_counter() - start


def _warm_up(timeout: float) -> None:
    """An untimed kernel that imports what every notebook imports (files into the OS cache)."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(cells=[new_code_cell("import jax, matplotlib.pyplot, course_lib")])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "warm_up.ipynb"
        nbformat.write(nb, path)
        run_all(path, None, timeout)


def _size(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    notebooks = select(args.notebooks)
    import jax  # the version only; the kernels import their own

    print(
        f"# Run All, cold and warm ({platform.machine()}, {os.cpu_count()} CPUs, "
        f"jax {jax.__version__}, Python {sys.version.split()[0]})"
    )
    _warm_up(args.timeout)
    rows = []
    for path in notebooks:
        print(f"# {path.name} ...", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory(prefix="jax-cache-") as cache:
            no_cache = run_all(path, None, args.timeout)
            cold = run_all(path, cache, args.timeout)
            files, size = _size(Path(cache))
            warm = run_all(path, cache, args.timeout)
        rows.append(Row(path.name, no_cache, cold, warm, files, size))
        print(f"# {table(rows[-1:])[-1]}", file=sys.stderr, flush=True)  # progress
    print(
        "Each lecture notebook run top to bottom in a fresh kernel (kernel start included), "
        "three times in a row: without JAX's persistent compilation cache (the baseline), with "
        "it empty (cold: a first Run All) and with it filled by the cold run (warm: a second "
        "Run All); the cache is the course kernel's (every compiled function kept), in a "
        "temporary folder. Last column: the cache the cold run wrote."
    )
    print()
    print("\n".join(table(rows)))
    return 0  # a failed run is marked FAILED in the table (and its error is on stderr)


if __name__ == "__main__":
    raise SystemExit(main())
