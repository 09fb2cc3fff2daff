"""Repository-wide pytest plugin: report how long each notebook took under nbval.

nbval turns every notebook cell into a test item (``path/to/nb.ipynb::Cell 3``). This plugin
adds up, per notebook, the durations of its items' setup, call and teardown phases (setup of
the first cell starts the kernel, teardown of the last one stops it) and prints a "notebook run
times" section at the end of the run, slowest first. A notebook over ``NOTEBOOK_BUDGET_S`` gets
a warning line; it does not fail the run.

Under pytest-xdist the reports of every worker reach the controller through
``pytest_runtest_logreport``, which is where the times are collected; workers print nothing.
(tests/conftest.py holds the unit tests' fixtures; this file is only the timing report.)
"""

from __future__ import annotations

from collections import defaultdict

import pytest

NOTEBOOK_BUDGET_S = 60.0

_seconds: defaultdict[str, float] = defaultdict(float)
_cells: defaultdict[str, int] = defaultdict(int)
_failed: defaultdict[str, int] = defaultdict(int)


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
