"""Repository-wide pytest plugin: report how long each notebook took under nbval.

nbval turns every notebook cell into a test item (``path/to/nb.ipynb::Cell 3``). This plugin
adds up, per notebook, the durations of its items' setup, call and teardown phases (setup of
the first cell starts the kernel, teardown of the last one stops it) and prints a "notebook run
times" section at the end of the run, slowest first. A notebook over ``NOTEBOOK_BUDGET_S`` gets
a warning line; it does not fail the run.

Under pytest-xdist the reports of every worker reach the controller through
``pytest_runtest_logreport``, which is where the times are collected; workers print nothing.
It also refuses, with a message that says why, to run notebooks where the loopback interface
is down (``unshare -n`` leaves it so): Jupyter kernels talk to nbval over 127.0.0.1, and without
it every cell would fail after a minute with "Kernel didn't respond".

(tests/conftest.py holds the unit tests' fixtures; this file is the timing report and that check.)
"""

from __future__ import annotations

import socket
from collections import defaultdict

import pytest

NOTEBOOK_BUDGET_S = 60.0

_seconds: defaultdict[str, float] = defaultdict(float)
_cells: defaultdict[str, int] = defaultdict(int)
_failed: defaultdict[str, int] = defaultdict(int)


def loopback_works() -> bool:
    """True if a TCP connection to 127.0.0.1 can be made (what a kernel's channels need)."""
    try:
        with socket.socket() as server:
            server.bind(("127.0.0.1", 0))
            server.listen(1)
            with socket.create_connection(server.getsockname(), timeout=5):
                return True
    except OSError:
        return False


def pytest_configure(config: pytest.Config) -> None:
    if getattr(config.option, "nbval", False) and not loopback_works():
        raise pytest.UsageError(
            "the notebooks' kernels talk over the loopback interface (127.0.0.1), which does not "
            "work here (inside `unshare -n` it is down): bring it up with `ip link set lo up`, or "
            "run outside the network namespace. Nothing here uses any other network."
        )


def _notebook_of(nodeid: str) -> str | None:
    """The notebook path of an nbval item's node id, or None for any other test."""
    path = nodeid.split("::", 1)[0]
    return path if path.endswith(".ipynb") else None


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    notebook = _notebook_of(report.nodeid)
    if notebook is None:
        return
    _seconds[notebook] += report.duration
    if report.when == "call":
        _cells[notebook] += 1
    if report.failed:
        _failed[notebook] += 1


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if not _seconds:
        return
    tr = terminalreporter
    tr.write_sep("=", "notebook run times")
    width = max(len(name) for name in _seconds)
    for name, seconds in sorted(_seconds.items(), key=lambda item: (-item[1], item[0])):
        note = f", {_failed[name]} failed" if _failed[name] else ""
        tr.write_line(f"{seconds:7.1f} s  {name:<{width}}  ({_cells[name]} cells{note})")
    tr.write_line(f"{sum(_seconds.values()):7.1f} s  summed over {len(_seconds)} notebooks")
    for name, seconds in sorted(_seconds.items()):
        if seconds > NOTEBOOK_BUDGET_S:
            tr.write_line(
                f"WARNING: {name} took {seconds:.1f} s, over the {NOTEBOOK_BUDGET_S:.0f} s budget"
                " for one notebook",
                yellow=True,
                bold=True,
            )
