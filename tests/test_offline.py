"""The course runs offline: the only network it needs is the loopback interface, and where that
is down (``unshare -n``), a notebook run stops at once with a message saying so."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("_root_conftest", ROOT / "conftest.py")
plugin = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(plugin)


def test_loopback_check_sees_a_working_loopback() -> None:
    assert plugin.loopback_works()


def test_loopback_check_sees_a_broken_one(monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise OSError(101, "Network is unreachable")

    monkeypatch.setattr(plugin.socket, "create_connection", refuse)
    assert not plugin.loopback_works()


@pytest.mark.skipif(shutil.which("unshare") is None, reason="no unshare(1) here")
def test_a_notebook_run_without_loopback_says_why(tmp_path: Path) -> None:
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("unshare -n is not permitted here")
    nb = ROOT / "notebooks" / "ch08a_convolution.ipynb"
    done = subprocess.run(
        ["unshare", "-n", sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p",
         "no:xdist", "--nbval", "--nbval-current-env", str(nb), "-q"],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode != 0
    assert "loopback interface" in done.stdout + done.stderr
