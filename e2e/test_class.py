"""A whole class on JupyterHub, on loopback (``make class-test``; ``CLASS_SIZE=30`` for thirty).

JupyterHub starts from the course's environment with ``deploy/jupyterhub_config.py`` (loaded
as it ships, with a few lines on top: the dummy authenticator, loopback ports, a token for the
instructor), the local process spawner and configurable-http-proxy. Each simulated student is a
system user of their own, created for the test with a private home (mode 700) and removed after
it. Every student logs in through the hub's login form; their server is started through the
hub's REST API; nbgitpuller copies the course into their home from a git daemon on loopback (the
course's own repository, as committed); they write their answers to an exercise set
(``CLASS_ASSIGNMENT``, ch08a's by default) into their copy (some all of them, some the first
few), run the notebook cell by cell in the course kernel through their server's kernel API (a
websocket), and save it: their hand-in. The instructor collects the hand-ins with
``course-collect --hub`` and grades them with ``course-grade`` (sandboxed with bubblewrap where it
is installed).

It asserts that every server started, every notebook ran with no error (a student who left
exercises undone gets their "not implemented yet" only after their last answer), every hand-in
got exactly the points of the exercises its student did, no student can read another's files
(from their kernel, through their own server, or with their token on another's server), and
that the hub, the proxy and every server are gone at the end, also when a step fails. Timings
and memory go to ``build/class_report.md`` and are printed.

Needs root (it creates system users; CI runs as root), Python 3.11 that every user may run, git,
and Node.js for the proxy (``make class-test`` installs it from ``deploy/package-lock.json``).
"""

from __future__ import annotations

import concurrent.futures
import csv
import json
import os
import secrets
import shutil
import signal
import socket
import stat
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import psutil
import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv"
N = int(os.environ.get("CLASS_SIZE", "10"))
# How many students run their notebook at the same moment (the rest a moment later): each kernel
# peaks near 1.2 GB, so thirty at once would not fit the 24 GB of a CI machine.
RUNNING = int(os.environ.get("CLASS_RUNNING", "5"))
# The exercise set every student does: ch08a's is the lightest (about 6 s of kernel time), which
# keeps the test inside CI's time; CLASS_ASSIGNMENT=ch01_perceptron is the heavier one the
# README's sizing table was measured with.
ASSIGNMENT = os.environ.get("CLASS_ASSIGNMENT", "ch08a_convolution")
FOLDER = "dl-course"
HANDIN = f"{FOLDER}/exercises/{ASSIGNMENT}_exercises.ipynb"
PROXY = ROOT / "deploy" / "node_modules" / ".bin" / "configurable-http-proxy"
REPORT = ROOT / "build" / "class_report.md"
TIMEOUT = 600  # seconds for any one step of the whole class
STOP_TIMEOUT = 120  # seconds the hub gets to stop its servers and its proxy after SIGTERM


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _others_can_enter(path: Path) -> bool:
    """Whether a user other than the owner can reach and run ``path`` (its folders included)."""
    path = path.resolve()
    for folder in path.parents:
        if not folder.stat().st_mode & stat.S_IXOTH:
            return False
    mode = path.stat().st_mode
    return bool(mode & stat.S_IROTH) and (path.is_dir() or bool(mode & stat.S_IXOTH))


def _students_python(tmp: Path) -> str:
    """A Python every student may run that imports the course's packages: the course's own, or,
    where that is out of their reach (on these machines it lives under /root, mode 700), the
    system's Python 3.11 with the course's site-packages added (same version, same ABI)."""
    own = VENV / "bin" / "python"
    if _others_can_enter(own):
        return str(own)
    site = VENV / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    for candidate in (
        f"/usr/bin/python{sys.version_info[0]}.{sys.version_info[1]}",
        "/usr/local/bin/python3.11",
    ):
        if Path(candidate).is_file() and _others_can_enter(Path(candidate)):
            env = tmp / "python"
            subprocess.run([candidate, "-m", "venv", "--without-pip", str(env)], check=True)
            (next((env / "lib").glob("python3*/site-packages")) / "course-env.pth").write_text(
                f"import site; site.addsitedir({str(site)!r})\n"
            )
            return str(env / "bin" / "python")
    pytest.fail(
        f"no Python {sys.version_info[0]}.{sys.version_info[1]} that other users may run: the "
        f"course's ({own.resolve()}) is out of their reach and there is no system one"
    )


@dataclass
class Student:
    name: str
    solved: tuple[str, ...]  # grade_ids of the exercises this student answers
    expected: float
    uid: int = -1
    home: Path = Path()
    token: str = ""
    logged_in: bool = False
    spawn_s: float = float("nan")
    pull_s: float = float("nan")
    run_s: float = float("nan")
    idle_mb: float = float("nan")
    loaded_mb: float = float("nan")
    after_mb: float = float("nan")
    peak_mb: float = float("nan")
    kernel_cpu_s: float = float("nan")
    errors: list[tuple[int, str]] = field(default_factory=list)  # (cell index, ename)
    first_unsolved_cell: int | None = None
    isolation: dict[str, str] = field(default_factory=dict)


class Classroom:
    """The hub, its students and their servers; ``stop()`` ends all of it and removes the users."""

    def __init__(self, n: int):
        if os.geteuid() != 0:
            pytest.fail(
                "the class test creates system users, one per student: run it as root (CI does)"
            )
        for tool in ("useradd", "userdel", "git"):
            if shutil.which(tool) is None:
                pytest.fail(f"the class test needs {tool}")
        if not PROXY.exists():
            pytest.fail(
                f"{PROXY} is missing: run `make class-test`, which installs it (npm ci in deploy/)"
            )
        # Students' servers read the course (course_lib, .venv's packages) as themselves. A
        # folder above the checkout that they may not enter is opened for traversal (o+x, not
        # listing) for the test's length in CI, and put back by stop(); elsewhere the test says so.
        self.opened: list[tuple[Path, int]] = []
        blocked = [d for d in reversed(ROOT.parents) if not d.stat().st_mode & stat.S_IXOTH]
        if blocked and os.environ.get("CI") != "true":
            pytest.fail(
                f"the students cannot reach the course at {ROOT}: {blocked[0]} is private "
                "(clone the course somewhere others may enter, or run with CI=true to open it "
                "for traversal during the test)"
            )
        for d in blocked:
            self.opened.append((d, stat.S_IMODE(d.stat().st_mode)))
            d.chmod(stat.S_IMODE(d.stat().st_mode) | stat.S_IXOTH)
            print(f"class test: {d} opened for traversal (o+x) until the test ends", flush=True)
        self.n = n
        self.tag = secrets.token_hex(2)
        self.tmp = Path(tempfile.mkdtemp(prefix="dl-class-"))
        self.tmp.chmod(0o755)
        self.homes = self.tmp / "home"
        self.homes.mkdir(mode=0o755)
        self.homes.chmod(0o755)
        self.hub_dir = self.tmp / "hub"
        self.hub_dir.mkdir()
        self.token = secrets.token_hex(32)
        self.password = secrets.token_urlsafe(12)
        self.port, self.hub_port, self.api_port, self.git_port = (_free_port() for _ in range(4))
        self.url = f"http://127.0.0.1:{self.port}"
        self.procs: list[subprocess.Popen] = []
        self.users: list[str] = []
        self.students: list[Student] = []
        self.timings: dict[str, float] = {}
        self.stopped = False
        self.leftovers: list[str] = []

    # ------------------------------------------------------------------ set-up
    def api(self, method: str, path: str, token: str | None = None, **kw) -> requests.Response:
        headers = {"Authorization": f"token {token or self.token}"}
        return requests.request(method, f"{self.url}{path}", headers=headers, timeout=120, **kw)

    def add_users(self, plan: list[tuple[tuple[str, ...], float]]) -> None:
        for i, (solved, expected) in enumerate(plan):
            name = f"dlc{self.tag}s{i + 1:02d}"
            home = self.homes / name
            subprocess.run(
                ["useradd", "--create-home", "--home-dir", str(home),
                 "--shell", "/usr/sbin/nologin",
                 "--user-group", "--comment", "dl-course class test", name],
                check=True,
            )  # fmt: skip
            self.users.append(name)
            home.chmod(0o700)
            import pwd

            self.students.append(
                Student(name, solved, expected, uid=pwd.getpwnam(name).pw_uid, home=home)
            )

    def start(self) -> None:
        python = _students_python(self.tmp)
        branch = subprocess.run(
            ["git", "-C", str(ROOT), "symbolic-ref", "--short", "HEAD"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        if not branch:
            pytest.fail("the course's checkout is on a detached HEAD: nbgitpuller needs a branch")
        self.repo = f"git://127.0.0.1:{self.git_port}/{ROOT.name}"
        self.branch = branch
        self.procs.append(
            subprocess.Popen(
                ["git", "daemon", "--listen=127.0.0.1", f"--port={self.git_port}", "--reuseaddr",
                 "--export-all", f"--base-path={ROOT.parent}", str(ROOT)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            )
        )  # fmt: skip
        overlay = self.hub_dir / "class_test_config.py"
        overlay.write_text(
            f"""c = get_config()  # noqa
load_subconfig({str(ROOT / "deploy" / "jupyterhub_config.py")!r})
# the class test's lines on top of deploy/jupyterhub_config.py
c.JupyterHub.bind_url = "{self.url}"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{self.hub_port}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{self.api_port}"
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = {self.password!r}
c.Authenticator.allow_all = False
c.Authenticator.allowed_users = {set(self.users)!r}
c.JupyterHub.services.append({{"name": "instructor", "api_token": {self.token!r}}})
c.JupyterHub.load_roles.append({{
    "name": "instructor",
    "scopes": ["admin:users", "admin:servers", "access:servers", "tokens", "list:users",
               "read:users"],
    "services": ["instructor"],
}})
c.Spawner.start_timeout = {TIMEOUT}
c.Spawner.http_timeout = {TIMEOUT}
c.JupyterHub.concurrent_spawn_limit = 0
"""
        )
        env = dict(
            os.environ,
            COURSE_DIR=str(ROOT),
            COURSE_PYTHON=python,
            COURSE_REPO=self.repo,
            COURSE_BRANCH=branch,
            COURSE_HUB_DIR=str(self.hub_dir),
        )
        t0 = time.perf_counter()
        self.log = (self.hub_dir / "hub.log").open("w")
        self.hub = subprocess.Popen(
            [str(VENV / "bin" / "jupyterhub"), "-f", str(overlay)],
            cwd=self.hub_dir, env=env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self.procs.append(self.hub)
        while True:
            try:
                if self.api("GET", "/hub/api/").status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if self.hub.poll() is not None or time.perf_counter() - t0 > 120:
                pytest.fail(
                    "the hub did not start:\n" + (self.hub_dir / "hub.log").read_text()[-3000:]
                )
            time.sleep(0.3)
        self.timings["hub start"] = time.perf_counter() - t0

    # ------------------------------------------------------------------ each student
    def login(self, s: Student) -> None:
        with requests.Session() as web:
            web.get(f"{self.url}/hub/login", timeout=60)
            reply = web.post(
                f"{self.url}/hub/login",
                data={
                    "username": s.name,
                    "password": self.password,
                    "_xsrf": web.cookies.get("_xsrf", ""),
                },
                allow_redirects=False,
                timeout=60,
            )
            s.logged_in = reply.status_code == 302 and "jupyterhub-hub-login" in web.cookies
        reply = self.api(
            "POST",
            f"/hub/api/users/{s.name}/tokens",
            json={"note": "class test", "expires_in": 3600},
        )
        reply.raise_for_status()
        s.token = reply.json()["token"]

    def spawn(self, s: Student) -> None:
        t0 = time.perf_counter()
        self.api("POST", f"/hub/api/users/{s.name}/server").raise_for_status()
        while time.perf_counter() - t0 < TIMEOUT:
            server = self.api("GET", f"/hub/api/users/{s.name}").json().get("servers", {}).get("")
            if server and server.get("ready"):
                s.spawn_s = time.perf_counter() - t0
                s.idle_mb = _rss_mb(s.uid)
                return
            time.sleep(0.5)
        raise TimeoutError(f"{s.name}'s server did not start in {TIMEOUT} s")

    def pull(self, s: Student) -> None:
        t0 = time.perf_counter()
        query = urllib.parse.urlencode(
            {"repo": self.repo, "branch": self.branch, "targetpath": FOLDER}
        )
        with requests.get(
            f"{self.url}/user/{s.name}/git-pull/api?{query}",
            headers={"Authorization": f"token {s.token}"}, stream=True, timeout=TIMEOUT,
        ) as reply:  # fmt: skip
            reply.raise_for_status()
            for line in reply.iter_lines(decode_unicode=True):
                if line and line.startswith("data:"):
                    event = json.loads(line[5:])
                    if event.get("phase") == "error":
                        raise RuntimeError(
                            f"nbgitpuller failed for {s.name}: {event.get('message')}"
                        )
                    if event.get("phase") == "finished":
                        break
        s.pull_s = time.perf_counter() - t0

    def contents(self, s: Student, path: str, model: dict | None = None, token: str | None = None):
        url = f"/user/{s.name}/api/contents/{urllib.parse.quote(path)}"
        if model is None:
            return self.api("GET", url + "?content=1", token=token or s.token)
        return self.api("PUT", url, token=token or s.token, json=model)

    def work(
        self, s: Student, solution: nbformat.NotebookNode, exercises: dict[str, tuple[str, ...]]
    ) -> None:
        """The student writes their answers, runs the notebook cell by cell, and saves it."""
        reply = self.contents(s, HANDIN)
        reply.raise_for_status()
        nb = nbformat.from_dict(reply.json()["content"])
        answers = {
            c.metadata["nbgrader"]["grade_id"]: "".join(
                line for line in c.source.splitlines(keepends=True) if "### " not in line
            )
            for c in solution.cells
            if c.get("metadata", {}).get("nbgrader", {}).get("solution") and c.cell_type == "code"
        }
        mine = {cid for ex in s.solved for cid in exercises[ex]}
        for i, cell in enumerate(nb.cells):
            gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if gid in mine:
                cell.source = answers[gid]
            elif gid in answers and s.first_unsolved_cell is None:
                s.first_unsolved_cell = i
        self.contents(
            s, HANDIN, {"type": "notebook", "format": "json", "content": nb}
        ).raise_for_status()
        kernel = self.api(
            "POST", f"/user/{s.name}/api/kernels", token=s.token, json={"name": "dl-course"}
        )
        kernel.raise_for_status()
        kid = kernel.json()["id"]
        sampler = _PeakSampler(s.uid)
        t0 = time.perf_counter()
        try:
            with _Kernel(
                f"{self.url.replace('http', 'ws')}/user/{s.name}/api/kernels/{kid}/channels",
                s.token,
            ) as k:
                # the unit a server is sized by: JupyterLab and a kernel with JAX loaded
                k.run("import jax, jax.numpy as jnp, matplotlib.pyplot, course_lib")
                s.loaded_mb = _rss_mb(s.uid)
                for i, cell in enumerate(nb.cells):
                    if cell.cell_type != "code":
                        continue
                    cell.outputs = k.run(cell.source)
                    cell.execution_count = k.count
                    s.errors += [(i, o.ename) for o in cell.outputs if o.output_type == "error"]
                s.run_s = time.perf_counter() - t0
                s.kernel_cpu_s = _cpu_s(s.uid)
                s.after_mb = _rss_mb(s.uid)  # what an open notebook keeps holding
                # can this student read anyone else's files from their kernel?
                other = next(o for o in self.students if o.name != s.name)
                probe = k.run(
                    "import os\n"
                    f"for p in ({str(other.home)!r}, {str(other.home / HANDIN)!r}):\n"
                    "    try:\n"
                    "        os.listdir(p) if os.path.isdir(p) else open(p).read(1)\n"
                    "        print('READ', p)\n"
                    "    except PermissionError:\n"
                    "        print('DENIED', p)\n"
                )
                s.isolation["kernel"] = "".join(
                    o.get("text", "") for o in probe if o.output_type == "stream"
                )
        finally:
            s.peak_mb = sampler.stop()
            self.api("DELETE", f"/user/{s.name}/api/kernels/{kid}", token=s.token)
        self.contents(
            s, HANDIN, {"type": "notebook", "format": "json", "content": nb}
        ).raise_for_status()
        # ... through their own server, outside their home, and with their token on another's server
        escape = self.api("GET", f"/user/{s.name}/api/contents/..%2F{other.name}", token=s.token)
        s.isolation["own server, ../other"] = str(escape.status_code)
        s.isolation["other's server"] = str(self.contents(other, HANDIN, token=s.token).status_code)

    # ------------------------------------------------------------------ the end
    def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        t0 = time.perf_counter()
        try:
            for s in self.students:
                try:
                    self.api("DELETE", f"/hub/api/users/{s.name}/server")
                except requests.RequestException:
                    pass
        finally:
            for proc in self.procs:
                if proc.poll() is None:
                    try:
                        os.killpg(proc.pid, signal.SIGTERM)
                    except ProcessLookupError:
                        pass
            killed = False
            for proc in self.procs:
                try:
                    # on SIGTERM the hub stops every server still running, then its proxy: 30 s
                    # was once too short on 2 busy cores (CI, 10 students)
                    proc.wait(timeout=STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    killed = True
            self._stop_proxy(hub_was_killed=killed)
            if hasattr(self, "log"):
                self.log.close()
            self.timings["stop"] = time.perf_counter() - t0
            # whatever is left: processes of the students, or anything started from the hub's folder
            time.sleep(0.5)
            for p in psutil.process_iter(["uids", "cmdline", "pid"]):
                try:
                    mine = p.info["uids"] and p.info["uids"].real in {s.uid for s in self.students}
                    ours = str(self.tmp) in " ".join(p.info["cmdline"] or [])
                    if mine or ours:
                        self.leftovers.append(" ".join(p.info["cmdline"] or [])[:120])
                        p.kill()
                except psutil.Error:
                    pass
            for name in self.users:
                subprocess.run(["userdel", "--remove", name], capture_output=True)
            shutil.rmtree(self.tmp, ignore_errors=True)
            for d, mode in self.opened:
                d.chmod(mode)

    def _stop_proxy(self, *, hub_was_killed: bool) -> None:
        """The proxy runs in a session of its own, and the hub stops it when it exits cleanly.
        If the hub had to be killed, stopping the proxy is ours to do; if the hub exited on its
        own and left it running, that is a leftover (the test below fails on it)."""
        pid_file = self.hub_dir / "jupyterhub-proxy.pid"
        try:
            proxy = psutil.Process(int(pid_file.read_text().strip()))
            if "configurable-http-proxy" not in " ".join(proxy.cmdline()):
                return
        except (OSError, ValueError, psutil.Error):
            return
        if not hub_was_killed:
            self.leftovers.append("the proxy, still running after the hub exited")
        try:
            proxy.terminate()
            proxy.wait(timeout=10)
        except psutil.TimeoutExpired:
            proxy.kill()
        except psutil.Error:
            pass


def _user_procs(uid: int) -> list[psutil.Process]:
    out = []
    for p in psutil.process_iter(["uids"]):
        try:
            if p.info["uids"] and p.info["uids"].real == uid:
                out.append(p)
        except psutil.Error:
            pass
    return out


def _rss_mb(uid: int) -> float:
    total = 0
    for p in _user_procs(uid):
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total / 2**20


def _cpu_s(uid: int) -> float:
    """CPU seconds of the student's kernel (their processes other than the server)."""
    total = 0.0
    for p in _user_procs(uid):
        try:
            if "ipykernel_launcher" in " ".join(p.cmdline()):
                t = p.cpu_times()
                total += t.user + t.system
        except psutil.Error:
            pass
    return total


class _PeakSampler:
    """The largest memory (RSS, MB) a student's processes used together, sampled every 0.2 s."""

    def __init__(self, uid: int):
        self.uid, self.peak, self._stop = uid, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, _rss_mb(self.uid))

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak


class _Kernel:
    """A kernel through the server's websocket, as JupyterLab talks to it."""

    def __init__(self, url: str, token: str):
        self.url, self.token, self.count = url, token, 0
        self.session = secrets.token_hex(8)

    def __enter__(self) -> _Kernel:
        import websocket

        self.ws = websocket.create_connection(
            self.url, header=[f"Authorization: token {self.token}"], timeout=TIMEOUT
        )
        return self

    def __exit__(self, *exc) -> None:
        self.ws.close()

    def run(self, code: str) -> list:
        msg_id = secrets.token_hex(8)
        self.ws.send(
            json.dumps(
                {
                    "header": {"msg_id": msg_id, "msg_type": "execute_request",
                               "session": self.session,
                               "username": "student", "version": "5.3", "date": ""},
                    "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
                    "content": {"code": code, "silent": False, "store_history": True,
                                "user_expressions": {},
                                "allow_stdin": False, "stop_on_error": False},
                }
            )
        )  # fmt: skip
        outputs, replied, idle = [], False, False
        while not (replied and idle):
            msg = json.loads(self.ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["header"]["msg_type"]
            if msg["channel"] == "shell" and kind == "execute_reply":
                replied = True
                self.count = msg["content"].get("execution_count", self.count)
            elif kind == "status" and msg["content"]["execution_state"] == "idle":
                idle = True
            elif kind in ("stream", "display_data", "execute_result", "error"):
                outputs.append(nbformat.v4.output_from_msg(msg))
        return outputs


# ---------------------------------------------------------------------------- the class, once


@pytest.fixture(scope="module")
def classroom():
    from course_lib.instructor import grade

    solution = nbformat.read(ROOT / "solutions" / f"{ASSIGNMENT}.ipynb", as_version=4)
    assignment = grade.load_assignment(ROOT / "solutions" / f"{ASSIGNMENT}.ipynb")
    exs = [ex.grade_id for ex in assignment.exercises]
    points = {ex.grade_id: ex.points for ex in assignment.exercises}
    exercises = {ex.grade_id: ex.code_ids for ex in assignment.exercises}
    # two students in three finish every exercise; the third does the first k (1 <= k < all)
    plan = []
    for i in range(N):
        k = len(exs) if i % 3 != 2 else 1 + (i // 3) % (len(exs) - 1)
        plan.append((tuple(exs[:k]), sum(points[e] for e in exs[:k])))
    room = Classroom(N)
    try:
        t_class = time.perf_counter()
        room.add_users(plan)
        room.start()
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=N)
        for step, fn in (("login", room.login), ("spawn", room.spawn), ("pull", room.pull)):
            t0 = time.perf_counter()
            list(pool.map(fn, room.students))
            room.timings[f"{step}, whole class"] = time.perf_counter() - t0
        pool.shutdown()
        t0 = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(N, RUNNING)) as running:
            list(running.map(lambda s: room.work(s, solution, exercises), room.students))
        room.timings["notebooks, whole class"] = time.perf_counter() - t0
        handins = room.tmp / "handins"
        t0 = time.perf_counter()
        collect = subprocess.run(
            [str(VENV / "bin" / "course-collect"), ASSIGNMENT, "--hub", room.url,
             "--out", str(handins)],
            env=dict(os.environ, JUPYTERHUB_API_TOKEN=room.token), capture_output=True, text=True,
            timeout=TIMEOUT,
        )  # fmt: skip
        room.timings["collect"] = time.perf_counter() - t0
        room.collect_output = collect.stdout + collect.stderr
        gradebook = room.tmp / "grades.csv"
        t0 = time.perf_counter()
        graded = subprocess.run(
            [str(VENV / "bin" / "course-grade"), str(handins), "--assignment", ASSIGNMENT,
             "--root", str(ROOT),
             "--out", str(gradebook), "--jobs", str(os.cpu_count() or 2)],
            capture_output=True, text=True, timeout=3 * TIMEOUT,
        )  # fmt: skip
        room.timings["grade"] = time.perf_counter() - t0
        room.grade_output = graded.stdout + graded.stderr[-3000:]
        rows = list(csv.DictReader(gradebook.open(encoding="utf-8"))) if gradebook.exists() else []
        # the gradebook's first row is the points possible, not a student
        room.grades = {r["student"]: r for r in rows if not r["student"].startswith("(")}
        room.timings["whole class"] = time.perf_counter() - t_class
        room.homes_modes = {s.name: stat.S_IMODE(s.home.stat().st_mode) for s in room.students}
        yield room
    finally:
        room.stop()
        _report(room)


def _report(room: Classroom) -> None:
    def spread(values: list[float], unit: str, fmt: str = ".1f") -> str:
        values = [v for v in values if v == v]
        if not values:
            return "–"
        return f"{statistics.median(values):{fmt}} {unit} (max {max(values):{fmt}})"

    s = room.students
    rows = [
        ("students", str(room.n)),
        ("hub start", f"{room.timings.get('hub start', float('nan')):.1f} s"),
        ("spawn, per student", spread([x.spawn_s for x in s], "s")),
        ("spawn, whole class", f"{room.timings.get('spawn, whole class', float('nan')):.1f} s"),
        ("nbgitpuller, per student", spread([x.pull_s for x in s], "s")),
        ("notebook run, per student", spread([x.run_s for x in s], "s")),
        (
            f"notebooks, whole class ({min(room.n, RUNNING)} at a time)",
            f"{room.timings.get('notebooks, whole class', float('nan')):.1f} s",
        ),
        ("kernel CPU per notebook", spread([x.kernel_cpu_s for x in s], "s")),
        ("memory, idle server", spread([x.idle_mb for x in s], "MB", ".0f")),
        ("memory, server + kernel with JAX loaded", spread([x.loaded_mb for x in s], "MB", ".0f")),
        (
            "memory, server + kernel, peak while running",
            spread([x.peak_mb for x in s], "MB", ".0f"),
        ),
        ("memory, server + kernel, after the run", spread([x.after_mb for x in s], "MB", ".0f")),
        ("collect (course-collect --hub)", f"{room.timings.get('collect', float('nan')):.1f} s"),
        ("grade (course-grade)", f"{room.timings.get('grade', float('nan')):.1f} s"),
        ("stop everything", f"{room.timings.get('stop', float('nan')):.1f} s"),
        ("whole class, users to grades", f"{room.timings.get('whole class', float('nan')):.1f} s"),
    ]
    table = f"| the class on JupyterHub, {ASSIGNMENT} | measured |\n| --- | --- |\n" + "\n".join(
        f"| {a} | {b} |" for a, b in rows
    )
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(
        table + f"\n\n{os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB\n"
    )
    print("\n" + table, flush=True)


# ---------------------------------------------------------------------------- what must hold


def test_every_student_logged_in_and_every_server_started(classroom):
    assert all(s.logged_in for s in classroom.students), [
        s.name for s in classroom.students if not s.logged_in
    ]
    assert all(s.spawn_s == s.spawn_s for s in classroom.students), "a server did not start"


def test_every_student_got_the_course(classroom):
    assert all(s.pull_s == s.pull_s for s in classroom.students)


def test_every_notebook_ran_with_no_error(classroom):
    for s in classroom.students:
        if s.first_unsolved_cell is None:
            assert not s.errors, (
                f"{s.name} did every exercise, and their notebook failed: {s.errors}"
            )
        else:
            early = [e for e in s.errors if e[0] < s.first_unsolved_cell]
            assert not early, (
                f"{s.name}: errors before the first exercise they left undone: {early}"
            )
            assert s.errors, f"{s.name} left exercises undone, and nothing said so"


def test_every_hand_in_was_collected_and_graded_with_the_expected_score(classroom):
    assert f"{classroom.n} collected" in classroom.collect_output, classroom.collect_output
    assert set(classroom.grades) == {s.name for s in classroom.students}, classroom.grade_output
    for s in classroom.students:
        row = classroom.grades[s.name]
        assert float(row["total"]) == s.expected, (s.name, s.solved, row)
        assert not row["flags"], (s.name, row["flags"])


def test_no_student_can_read_another_students_files(classroom):
    for s in classroom.students:
        # the server (and later the kernel) runs as the student's own system user
        assert s.idle_mb > 50, f"no process of {s.name}'s own user: the server runs as someone else"
        assert classroom.homes_modes[s.name] == 0o700, (s.name, oct(classroom.homes_modes[s.name]))
        assert "READ" not in s.isolation["kernel"] and s.isolation["kernel"].count("DENIED") == 2, (
            s.isolation
        )
        assert s.isolation["own server, ../other"] in ("403", "404"), s.isolation
        assert s.isolation["other's server"] in ("403", "404"), s.isolation


def test_the_hub_and_every_server_are_stopped(classroom):
    classroom.stop()
    assert not classroom.leftovers, classroom.leftovers
    for port in (classroom.port, classroom.hub_port, classroom.api_port, classroom.git_port):
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still answers"
    for name in classroom.users:
        assert subprocess.run(["id", name], capture_output=True).returncode != 0, (
            f"user {name} remains"
        )
