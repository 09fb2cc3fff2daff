"""The course's commands on every platform: Linux, macOS and Windows (which has no `make`).

    python scripts/course.py setup   create or update the environment .venv (first time only)
    python scripts/course.py lab     set up, then open JupyterLab on the course
    python scripts/course.py test    set up, then lint, exercise sync check, unit tests, notebooks

On Windows: `py -3.11 scripts\\course.py lab` and `py -3.11 scripts\\course.py test`.
`make setup`, `make lab` and `make test` run these same commands.

setup creates .venv with the Python that runs this script (it must be 3.11, the version jax
0.10.2 and the lock file are made for), installs the pinned requirements.txt and course_lib
into it, registers the Jupyter kernel `dl-course` (with JAX's persistent compilation cache in
.cache/jax, so that a second run of a notebook skips most compilation), turns off nbgrader's
Jupyter extensions (nbgrader is installed only for a compatibility test) and JupyterLab's news
pop-up. A stamp in .venv holds the sha256 of requirements.txt, pyproject.toml and SETUP_VERSION:
while they are unchanged, setup does nothing.

Standard library only, and no syntax newer than Python 3.8, so that a too-old Python prints
the version message instead of a SyntaxError.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_NAME = ".venv"
REQUIRED_PYTHON = (3, 11)
NEED = "3.11"
# Bump when the steps of setup() change, so that existing environments are set up again.
SETUP_VERSION = "2"
STAMP_NAME = ".course-setup-sha256"
STAMPED_FILES = ("requirements.txt", "pyproject.toml")
KERNEL_NAME = "dl-course"
KERNEL_DISPLAY = "Deep Learning course (JAX)"
NBGRADER_SERVER_EXTENSIONS = ("formgrader", "validate_assignment", "assignment_list", "course_list")
NBGRADER_LAB_EXTENSION = "@jupyter/nbgrader"
LAB_OVERRIDES = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}
}
# What a first setup costs, measured on a fresh clone (the README's opening paragraph).
FIRST_TIME_NOTE = (
    "first time: pip downloads about 320 MB of packages and installs 1.3 GB into .venv.\n"
    "   Measured with 2 cores and a fast connection: 41 s on an idle machine, 3 minutes on a\n"
    "   busy one; add the download time on your connection. pip lists each package as it goes."
)
START_PAGE = "00_start_here.ipynb"
# make test's checks. Lint: code and notebooks; format: code only (notebooks are the authors').
FORMAT_PATHS = ("course_lib", "tests", "scripts", "benchmarks", "e2e", "conftest.py")
TEST_PATHS = ("tests", "notebooks", "solutions")
PYTEST_OPTIONS = ("--nbval", "--nbval-current-env", "--nbval-sanitize-with", "nbval_sanitize.cfg")
STEPS = ("lint", "check-exercises", "pytest")


def say(message: str) -> None:
    print(message, flush=True)


# ---------------------------------------------------------------------------- the environment
def venv_python(venv: Path, platform: str = sys.platform) -> Path:
    """The interpreter of the virtual environment ``venv`` on ``platform`` (sys.platform)."""
    if platform.startswith("win"):
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


def python_version_error(version_info: tuple[int, ...], executable: str) -> str | None:
    """Why this Python cannot create the course's environment, or None when it can."""
    if tuple(version_info[:2]) == REQUIRED_PYTHON:
        return None
    have = ".".join(str(v) for v in version_info[:3])
    need = NEED
    return (
        f"error: {executable} is Python {have}; the course needs Python {need}\n"
        f"       (jax 0.10.2 and the pinned requirements.txt are made for it).\n"
        f"       Run this script with Python {need}:\n"
        f"         Windows:        py -{need} scripts\\course.py setup\n"
        f"         Linux, macOS:   python{need} scripts/course.py setup\n"
        f"         with make:      make lab PYTHON=python{need}\n"
        f"       (python.org and your package manager have Python {need})."
    )


def setup_digest(root: Path) -> str:
    """sha256 of SETUP_VERSION and the stamped files; line endings do not count (git on Windows)."""
    h = hashlib.sha256(f"course setup {SETUP_VERSION}\n".encode())
    for name in STAMPED_FILES:
        h.update(b"\0" + name.encode() + b"\0")
        h.update((root / name).read_bytes().replace(b"\r\n", b"\n"))
    return h.hexdigest()


def is_up_to_date(root: Path, venv: Path, platform: str = sys.platform) -> bool:
    """True when ``venv`` has an interpreter and a stamp equal to the current setup_digest."""
    stamp = venv / STAMP_NAME
    if not venv_python(venv, platform).exists() or not stamp.is_file():
        return False
    return stamp.read_text(encoding="utf-8").strip() == setup_digest(root)


def kernel_env(root: Path) -> dict[str, str]:
    """Environment of the course kernel: JAX's persistent compilation cache in <root>/.cache/jax.

    The threshold 0 caches every compiled function: at JAX's default (1 s) nearly none of the
    course's functions would be cached. pytest and nbval do not use this kernel, so the tests
    always compile afresh.
    """
    return {
        "JAX_COMPILATION_CACHE_DIR": str(root / ".cache" / "jax"),
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
    }


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def kernel_install(py: Path, env: dict[str, str]) -> list:
    """The command that registers the course kernel in ``py``'s environment, with ``env``."""
    cmd: list = [py, "-m", "ipykernel", "install", "--sys-prefix", "--name", KERNEL_NAME]
    cmd += ["--display-name", KERNEL_DISPLAY]
    for name, value in env.items():
        cmd += ["--env", name, value]
    return cmd


def disable_nbgrader(venv: Path) -> None:
    """Turn off nbgrader's Jupyter server and JupyterLab extensions in ``venv``.

    Writes the files that `jupyter server extension disable --sys-prefix` and `jupyter
    labextension disable --level=sys_prefix` write, in one step instead of five processes.
    """
    conf_d = venv / "etc" / "jupyter" / "jupyter_server_config.d"
    for ext in NBGRADER_SERVER_EXTENSIONS:
        name = f"nbgrader.server_extensions.{ext}"
        _write_json(conf_d / f"{name}.json", {"ServerApp": {"jpserver_extensions": {name: False}}})
    page_config = venv / "etc" / "jupyter" / "labconfig" / "page_config.json"
    data = json.loads(page_config.read_text(encoding="utf-8")) if page_config.is_file() else {}
    for key in ("disabledExtensions", "lockedExtensions"):
        data.setdefault(key, {})[NBGRADER_LAB_EXTENSION] = True
    _write_json(page_config, data)


def run(cmd: list[str], *, cwd: Path, dry_run: bool) -> int:
    """Run ``cmd`` (or, with dry_run, print it); its exit status."""
    if dry_run:
        say("   would run: " + shlex.join(str(c) for c in cmd))
        return 0
    return subprocess.run([str(c) for c in cmd], cwd=cwd).returncode


def setup(
    root: Path = ROOT,
    *,
    venv: Path | None = None,
    dry_run: bool = False,
    version_info: tuple[int, ...] = tuple(sys.version_info),
    executable: str = sys.executable,
) -> int:
    """Create or update the environment; 0 on success. A no-op while the stamp is current."""
    venv = venv or root / VENV_NAME
    py = venv_python(venv)
    if is_up_to_date(root, venv):
        files = " and ".join(STAMPED_FILES)
        say(f"== setup: environment up to date ({venv.name}; {files} unchanged)")
        return 0
    t0 = time.monotonic()
    if not py.exists():
        error = python_version_error(version_info, executable)
        if error:
            print(error, file=sys.stderr, flush=True)
            return 1
        say(f"== setup: creating {venv.name} with {executable} (Python {NEED})")
        say("== setup: " + FIRST_TIME_NOTE)
        if run([executable, "-m", "venv", venv], cwd=root, dry_run=dry_run):
            return _failed("creating the virtual environment")
    else:
        say(f"== setup: {' or '.join(STAMPED_FILES)} or the set-up changed; updating {venv.name}")
    stamp = venv / STAMP_NAME
    if stamp.exists() and not dry_run:
        stamp.unlink()
    pip = [py, "-m", "pip", "--disable-pip-version-check", "install"]
    say("== setup: pip install -r requirements.txt (the pinned packages)")
    if run([*pip, "-r", "requirements.txt"], cwd=root, dry_run=dry_run):
        return _failed("pip install -r requirements.txt")
    say("== setup: pip install --no-deps -e . (course_lib, editable)")
    if run([*pip, "--quiet", "--no-deps", "-e", "."], cwd=root, dry_run=dry_run):
        return _failed("pip install -e .")
    env = kernel_env(root)
    say(f"== setup: registering the Jupyter kernel '{KERNEL_NAME}' ({KERNEL_DISPLAY})")
    say(f"   with JAX's compilation cache in {env['JAX_COMPILATION_CACHE_DIR']}")
    if run(kernel_install(py, env), cwd=root, dry_run=dry_run):
        return _failed("registering the kernel")
    say("== setup: turning off nbgrader's Jupyter extensions (installed only for a test)")
    settings = venv / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    say(
        f"== setup: writing {venv.name}/share/jupyter/lab/settings/overrides.json"
        " (no news pop-up, no update check)"
    )
    if not dry_run:
        disable_nbgrader(venv)
        _write_json(settings, LAB_OVERRIDES)
        stamp.write_text(setup_digest(root) + "\n", encoding="utf-8")
    say(f"== setup: done in {time.monotonic() - t0:.0f} s")
    return 0


#: The course kernel's environment on a shared machine (a JupyterHub, a container image): JAX's
#: compilation cache in each user's home (Jupyter fills in ${HOME} when the kernel starts). A
#: cache shared between students would let one student's files be loaded as compiled code into
#: another's kernel. deploy/jupyterhub_config.py writes the same.
HUB_KERNEL_ENV = {
    "JAX_COMPILATION_CACHE_DIR": "${HOME}/.cache/dl-course/jax",
    "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
}


def image(root: Path = ROOT, *, dry_run: bool = False) -> int:
    """Set up *this* Python environment for a class (repo2docker's postBuild, .binder/): the
    packages are already installed from requirements.txt; add course_lib, the course kernel with
    a per-user JAX cache, and the same JupyterLab settings as ``setup``."""
    prefix = Path(sys.prefix)
    py = Path(sys.executable)
    say(f"== image: setting up {prefix} for a class")
    pip = [py, "-m", "pip", "--disable-pip-version-check", "install", "--no-cache-dir"]
    if run([*pip, "--quiet", "--no-deps", "-e", "."], cwd=root, dry_run=dry_run):
        return _failed("pip install -e .")
    if run(kernel_install(py, HUB_KERNEL_ENV), cwd=root, dry_run=dry_run):
        return _failed("registering the kernel")
    if not dry_run:
        disable_nbgrader(prefix)
        _write_json(
            prefix / "share" / "jupyter" / "lab" / "settings" / "overrides.json", LAB_OVERRIDES
        )
    say("== image: done")
    return 0


def _failed(step: str) -> int:
    print(
        f"error: setup failed while {step} (see pip's messages above); nothing was stamped,\n"
        "       so the next run tries again.",
        file=sys.stderr,
        flush=True,
    )
    return 1


# ---------------------------------------------------------------------------- JupyterLab
def start_path(root: Path) -> str:
    """The page JupyterLab opens: the start page in the personal copy work/, else in notebooks/."""
    for folder in ("work/notebooks", "notebooks"):
        if (root / folder / START_PAGE).is_file():
            return f"{folder}/{START_PAGE}"
        if (root / folder).is_dir():
            return folder
    return ""


def lab_command(
    root: Path,
    py: Path,
    *,
    platform: str = sys.platform,
    environ: dict[str, str] | None = None,
    is_root: bool = False,
    extra: list[str] | tuple[str, ...] = (),
) -> list[str]:
    """The JupyterLab command line: the course kernel by default, the start page open.

    No browser on a Linux machine without a display (JupyterLab prints a URL instead);
    --allow-root when running as root (containers), which Jupyter otherwise refuses.
    """
    environ = os.environ if environ is None else environ
    cmd = [str(py), "-m", "jupyterlab", f"--ServerApp.root_dir={root}"]
    cmd.append(f"--LabApp.default_url=/lab/tree/{start_path(root)}")
    cmd.append(f"--MultiKernelManager.default_kernel_name={KERNEL_NAME}")
    if platform.startswith("linux") and not (
        environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY")
    ):
        cmd.append("--no-browser")
    if is_root:
        cmd.append("--allow-root")
    return [*cmd, *extra]


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def lab(root: Path = ROOT, *, extra: list[str] = (), dry_run: bool = False) -> int:
    rc = setup(root, dry_run=dry_run)
    if rc:
        return rc
    py = venv_python(root / VENV_NAME)
    if (root / "course_lib" / "workspace.py").is_file():
        say("== lab: refreshing your copy work/ from notebooks/ and exercises/ (edits are kept)")
        if run(
            [py, "-m", "course_lib.workspace", "sync", "--root", root], cwd=root, dry_run=dry_run
        ):
            print("error: could not refresh work/ (see above)", file=sys.stderr, flush=True)
            return 1
    else:
        say("== lab: no course_lib/workspace.py yet, so no personal copy work/: opening notebooks/")
    cmd = lab_command(root, py, is_root=_is_root(), extra=extra)
    say(f"== lab: JupyterLab on {root}, opening {start_path(root) or '/'} (Ctrl-C to stop)")
    if dry_run:
        return run(cmd, cwd=root, dry_run=True)
    if os.name == "posix":
        # JupyterLab takes this process's place: Ctrl-C and other signals reach it directly.
        os.chdir(root)
        os.execv(cmd[0], cmd)
    proc = subprocess.Popen(cmd, cwd=root)
    while True:
        try:
            return proc.wait()
        except KeyboardInterrupt:
            continue  # Windows: JupyterLab gets the Ctrl-C too and shuts itself down


# ---------------------------------------------------------------------------- checks
def test_commands(root: Path, py: Path, pytest_args: list[str] | tuple[str, ...] = ()) -> dict:
    """step -> [(what it says, command)], the checks of `make test` (missing folders left out)."""
    fmt = [p for p in FORMAT_PATHS if (root / p).exists()]
    tests = [p for p in TEST_PATHS if (root / p).exists()]
    py = str(py)
    return {
        "lint": [
            ("ruff check . (code and notebooks)", [py, "-m", "ruff", "check", "."]),
            (
                f"ruff format --check ({', '.join(fmt)}; not notebooks)",
                [py, "-m", "ruff", "format", "--check", *fmt],
            ),
        ],
        "check-exercises": [
            (
                "exercises/ in sync with solutions/",
                [py, "-m", "course_lib.instructor.exercises", "--check"],
            ),
        ],
        "pytest": [
            (
                f"unit tests and notebooks ({' '.join(tests)}) on 2 workers",
                [
                    py,
                    "-m",
                    "pytest",
                    "-n",
                    "2",
                    "--dist",
                    "loadfile",
                    *tests,
                    *PYTEST_OPTIONS,
                    *pytest_args,
                ],
            ),
        ],
    }


def test(
    root: Path = ROOT,
    *,
    only: list[str] | None = None,
    pytest_args: list[str] = (),
    dry_run: bool = False,
) -> int:
    """Set up, then every check step (all run even if one fails); non-zero if any failed."""
    t0 = time.monotonic()
    rc = setup(root, dry_run=dry_run)
    if rc:
        return rc
    t1 = time.monotonic()
    steps = test_commands(root, venv_python(root / VENV_NAME), pytest_args)
    failed = []
    for step in only or STEPS:
        for what, cmd in steps[step]:
            say(f"== {step}: {what}")
            if run(cmd, cwd=root, dry_run=dry_run):
                failed.append(step)
    t2 = time.monotonic()
    if only:
        return 1 if failed else 0
    say(f"== test: setup took {t1 - t0:.0f} s, checks and tests took {t2 - t1:.0f} s")
    if failed:
        print(f"== test: FAILED ({', '.join(dict.fromkeys(failed))})", file=sys.stderr, flush=True)
        return 1
    say("== test: all passed")
    return 0


# ---------------------------------------------------------------------------- command line
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="course.py",
        description="Set up the course's environment, open JupyterLab, or run every check. "
        "Works wherever Python 3.11 does (Windows: py -3.11 scripts\\course.py lab).",
    )
    parser.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{setup,lab,test,image}")
    sub.add_parser("setup", help="create or update .venv (a no-op when nothing changed)")
    sub.add_parser(
        "image",
        help="set up the running Python for a class image (repo2docker's postBuild, .binder/)",
    )
    p_lab = sub.add_parser("lab", help="set up, then open JupyterLab on the course's start page")
    p_lab.add_argument(
        "lab_args",
        nargs="*",
        metavar="ARG",
        help="passed on to jupyter lab (after --), e.g. -- --port 8899",
    )
    p_test = sub.add_parser(
        "test", help="set up, then lint, exercise sync check, unit tests, notebooks"
    )
    p_test.add_argument(
        "--only", action="append", choices=STEPS, help="run only this step (repeatable)"
    )
    p_test.add_argument(
        "pytest_args",
        nargs="*",
        metavar="ARG",
        help="passed on to pytest (after --), e.g. -- -k ch01",
    )
    for p in (p_lab, p_test):
        p.add_argument(
            "--dry-run",
            action="store_true",
            default=argparse.SUPPRESS,
            help="print the commands, run nothing",
        )
    args = parser.parse_args(argv)
    if args.command == "setup":
        return setup(dry_run=args.dry_run)
    if args.command == "image":
        return image(dry_run=args.dry_run)
    if args.command == "lab":
        return lab(extra=args.lab_args, dry_run=args.dry_run)
    return test(only=args.only, pytest_args=args.pytest_args, dry_run=args.dry_run)


if __name__ == "__main__":
    sys.exit(main())
