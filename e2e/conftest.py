"""Fixtures of the browser test: a JupyterLab server and a headless Chromium, both torn down.

The server runs from the course's own environment (this Python's ``jupyter``) on a free loopback
port with a random token, on a *copy* of ``notebooks/`` in a temporary folder (running cells in
the browser must never autosave into the committed notebooks), with its own workspace and
settings folders so that nothing from a user's JupyterLab leaks in. Chromium is Debian's
(``/usr/bin/chromium``, or ``$CHROMIUM``), driven by Playwright; Playwright never downloads a
browser here.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LATENCY = ROOT / "build" / "widget_latency.md"  # the latency table test_jupyterlab.py fills
SITE_AUDIT = ROOT / "build" / "site_audit"  # axe's findings per page, from test_site.py
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str | None:
    """Debian's Chromium, or the one named by $CHROMIUM."""
    for candidate in (os.environ.get("CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def _portability():
    """scripts/portability.py, as a module."""
    spec = importlib.util.spec_from_file_location(
        "portability", ROOT / "scripts" / "portability.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Lab:
    url: str
    token: str
    root: Path
    log: Path

    def notebook_url(self, name: str) -> str:
        return f"{self.url}/lab/tree/{name}?token={self.token}&reset"


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    base = tmp_path_factory.mktemp("lab")
    (ROOT / "build" / "screenshots" / "FAILED.png").unlink(missing_ok=True)  # from an older run
    root = base / "course"
    # the layout a student's working copy has (work/notebooks, work/exercises), so that the links
    # between lectures and exercises resolve
    for folder in ("notebooks", "exercises"):
        shutil.copytree(
            ROOT / folder, root / folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints")
        )
    port, token = _free_port(), secrets.token_hex(16)
    log = base / "jupyter.log"
    # render every cell (JupyterLab 4 renders only the visible ones by default), so that the test
    # sees every prompt and output (no news pop-ups: make setup's overrides.json in .venv)
    settings = base / "user-settings" / "@jupyterlab"
    (settings / "notebook-extension").mkdir(parents=True)
    (settings / "notebook-extension" / "tracker.jupyterlab-settings").write_text(
        '{"windowingMode": "none"}'
    )
    env = {
        **os.environ,
        "JUPYTER_DATA_DIR": str(base / "data"),  # the notary's database of trusted notebooks
        "JUPYTER_CONFIG_DIR": str(base / "config"),
        "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
        "JUPYTERLAB_WORKSPACES_DIR": str(base / "workspaces"),
        "JUPYTERLAB_SETTINGS_DIR": str(base / "user-settings"),
    }
    # BROWSER_ISA=SSE4_2+NUDGED (CI): the kernels run at a level of scripts/portability.py, whose
    # run at that level, just before, left every lecture's compiled programs in the course
    # kernel's compilation cache (.cache/jax): found again there, they are not compiled twice
    level = os.environ.get("BROWSER_ISA", "").strip()
    if level:
        env = _portability().level_env(level, env)
    # the course's own notebooks are trusted, as `make lab` trusts the working copy it makes: their
    # saved widgets then show before anything runs
    subprocess.run(
        [str(Path(sys.executable).parent / "jupyter"), "trust", *map(str, root.glob("*/*.ipynb"))],
        env=env,
        check=True,
        capture_output=True,
    )
    cmd = [
        str(Path(sys.executable).parent / "jupyter"),
        "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--port-retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--MultiKernelManager.default_kernel_name=dl-course",
        "--ContentsManager.allow_hidden=False",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited ({proc.returncode}):\n{log.read_text()}")
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"jupyter lab did not start:\n{log.read_text()}") from None
                time.sleep(0.3)
        yield Lab(url, token, root, log)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the server and the kernels it started
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    path = chromium_path()
    if path is None:
        pytest.fail(
            "Chromium not found: install Debian's chromium (make browser-test does, as root), "
            "or point $CHROMIUM at a Chromium binary"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser, tmp_path: Path):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    try:
        yield pg
    finally:
        context.close()


# The latency table is one per run, also when `-n 2` spreads the notebooks over two workers
# (`make browser-test` does, BROWSER_JOBS=2): the main process begins it, the workers append their
# rows, and the main process sums it up at the end.
def _main_process(config: pytest.Config) -> bool:
    return not hasattr(config, "workerinput")


def _runs(config: pytest.Config, test_file: str) -> bool:
    """Whether this run includes ``test_file`` (all of e2e/ includes every file)."""
    args = [a.split("::")[0] for a in config.args] or ["e2e"]
    return any(Path(a).is_dir() or Path(a).name == test_file for a in args)


def pytest_sessionstart(session: pytest.Session) -> None:
    if _main_process(session.config) and _runs(session.config, "test_site.py"):
        shutil.rmtree(SITE_AUDIT, ignore_errors=True)  # axe's findings: this run's only
    # the latency table is test_jupyterlab.py's
    if _main_process(session.config) and _runs(session.config, "test_jupyterlab.py"):
        LATENCY.parent.mkdir(parents=True, exist_ok=True)
        LATENCY.write_text(
            "| notebook | figure | control | presses | median ms | min–max ms |\n"
            "| --- | --- | --- | --- | --- | --- |\n"
        )


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    """The median of the controls' medians against the floor's, appended to the table and
    printed."""
    if _main_process(config) and _runs(config, "test_site.py"):
        _site_audit_summary(terminalreporter)
    if not _main_process(config) or not _runs(config, "test_jupyterlab.py") or not LATENCY.exists():
        return
    controls, floor = [], []
    for line in LATENCY.read_text().splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) >= 5 and cells[4].isdigit():
            (floor if cells[2].startswith("floor") else controls).append(int(cells[4]))
    if not controls:
        return
    summary = (
        f"Median of the {len(controls)} controls' medians: {statistics.median(controls):.0f} ms "
        f"(target 50 ms); median of the {len(floor)} floors (no kernel work): "
        f"{statistics.median(floor) if floor else float('nan'):.0f} ms."
    )
    with LATENCY.open("a") as out:
        out.write(f"\n{summary}\n")
    terminalreporter.write_line(summary)


def _site_audit_summary(terminalreporter) -> None:
    """axe's findings on every page of the website (test_site.py), one table in
    build/site_audit.md, and one line printed."""
    files = sorted(SITE_AUDIT.glob("*.json")) if SITE_AUDIT.is_dir() else []
    if not files:
        return
    import json
    from collections import Counter

    found: Counter = Counter()
    pages: Counter = Counter()
    for f in files:
        for v in json.loads(f.read_text())["violations"]:
            found[(v["impact"], v["id"], v["help"])] += v["nodes"]
            pages[(v["impact"], v["id"], v["help"])] += 1
    rows = [
        f"| {impact} | {rule} | {text} | {found[k]} | {pages[k]} |"
        for k in sorted(
            found, key=lambda k: ["critical", "serious", "moderate", "minor"].index(k[0])
        )
        for impact, rule, text in [k]
    ]
    table = (
        f"axe-core on {len(files)} pages of the website\n\n"
        "| impact | rule | what it asks | elements | pages |\n| --- | --- | --- | --- | --- |\n"
        + ("\n".join(rows) if rows else "| none | | | 0 | 0 |")
        + "\n"
    )
    (SITE_AUDIT.parent / "site_audit.md").write_text(table)
    by_impact = Counter()
    for (impact, _, _), n in found.items():
        by_impact[impact] += n
    terminalreporter.write_line(
        f"axe-core on {len(files)} pages: "
        + (", ".join(f"{n} {i}" for i, n in by_impact.items()) if by_impact else "no violations")
        + " (build/site_audit.md)"
    )
