"""scripts/course.py: the setup / lab / test entry point that works without make (Windows).

The pieces are tested on their own (venv path per platform, the stamp, the Python-version
refusal, the command lines), then the script itself: `setup` against this checkout's .venv must
be a fast no-op, and `--dry-run` prints the lab and test commands without running them.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "course.py"

_spec = importlib.util.spec_from_file_location("course_entry", SCRIPT)
course = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(course)


def _script(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A minimal course checkout: the two stamped files and the folders the checks name."""
    (tmp_path / "requirements.txt").write_text("jax==0.10.2\n", encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "course-lib"\n', encoding="utf-8")
    for folder in ("course_lib", "tests", "notebooks", "scripts"):
        (tmp_path / folder).mkdir()
    return tmp_path


def _fake_venv(venv: Path, platform: str = sys.platform) -> None:
    py = course.venv_python(venv, platform)
    py.parent.mkdir(parents=True)
    py.write_text("", encoding="utf-8")


# ---------------------------------------------------------------------------- pieces
@pytest.mark.parametrize(
    ("platform", "parts"),
    [
        ("win32", ("Scripts", "python.exe")),
        ("linux", ("bin", "python")),
        ("darwin", ("bin", "python")),
    ],
)
def test_venv_python_per_platform(platform: str, parts: tuple[str, str]) -> None:
    venv = Path("somewhere") / ".venv"
    assert course.venv_python(venv, platform) == venv.joinpath(*parts), (
        f"the venv interpreter on {platform} should be .venv/{'/'.join(parts)}"
    )


def test_stamp_tracks_requirements_and_pyproject(checkout: Path) -> None:
    venv = checkout / ".venv"
    assert not course.is_up_to_date(checkout, venv), "no venv at all cannot be up to date"
    _fake_venv(venv)
    assert not course.is_up_to_date(checkout, venv), "a venv without a stamp is not up to date"
    (venv / course.STAMP_NAME).write_text(course.setup_digest(checkout) + "\n", encoding="utf-8")
    assert course.is_up_to_date(checkout, venv), "a venv with the current stamp is up to date"

    before = course.setup_digest(checkout)
    for name in course.STAMPED_FILES:
        path = checkout / name
        text = path.read_text(encoding="utf-8")
        path.write_text(text + "# changed\n", encoding="utf-8")
        assert course.setup_digest(checkout) != before, f"editing {name} must change the digest"
        assert not course.is_up_to_date(checkout, venv), f"editing {name} must redo the setup"
        path.write_text(text, encoding="utf-8")
    assert course.is_up_to_date(checkout, venv), "restoring the files restores the stamp's match"

    # A Windows checkout (git's autocrlf) has the same digest as a Linux one.
    req = checkout / "requirements.txt"
    req.write_bytes(req.read_bytes().replace(b"\n", b"\r\n"))
    assert course.setup_digest(checkout) == before, "line endings must not change the digest"


def test_stamp_includes_setup_version(checkout: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = course.setup_digest(checkout)
    monkeypatch.setattr(course, "SETUP_VERSION", course.SETUP_VERSION + "-next")
    assert course.setup_digest(checkout) != before, (
        "a new SETUP_VERSION must make existing environments set up again"
    )


def test_python_version_refusal_message() -> None:
    assert course.python_version_error((3, 11, 7, "final", 0), "/usr/bin/python3") is None
    for version in [(3, 12, 1), (3, 10, 14), (3, 8, 0)]:
        message = course.python_version_error(version, "/usr/bin/python3")
        have = ".".join(map(str, version))
        assert message is not None, f"Python {have} must be refused"
        assert f"/usr/bin/python3 is Python {have}" in message, message
        assert "needs Python 3.11" in message, message
        assert r"py -3.11 scripts\course.py setup" in message, "the Windows command is named"
        assert "python3.11 scripts/course.py setup" in message, "the Linux/macOS command is named"


def test_setup_refuses_wrong_python_before_creating_anything(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = course.setup(checkout, version_info=(3, 12, 0), executable="python3.12")
    assert rc == 1, "setup with Python 3.12 and no .venv must fail"
    assert "python3.12 is Python 3.12.0" in capsys.readouterr().err
    assert not (checkout / ".venv").exists(), "nothing is created with the wrong Python"


def test_setup_is_a_noop_when_stamp_matches(
    checkout: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    venv = checkout / ".venv"
    _fake_venv(venv)
    (venv / course.STAMP_NAME).write_text(course.setup_digest(checkout) + "\n", encoding="utf-8")
    monkeypatch.setattr(course.subprocess, "run", lambda *a, **k: pytest.fail(f"ran {a}"))
    # Even a wrong Python is fine when the environment exists and is current.
    assert course.setup(checkout, version_info=(3, 12, 0), executable="python3.12") == 0
    assert "environment up to date" in capsys.readouterr().out


def test_setup_dry_run_lists_every_step(checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert course.setup(checkout, dry_run=True, version_info=(3, 11, 7), executable="py311") == 0
    out = capsys.readouterr().out
    assert "first time: pip downloads" in out, "a first setup says what it will cost"
    steps = [
        "would run: py311 -m venv",
        "-m pip --disable-pip-version-check install -r requirements.txt",
        "install --quiet --no-deps -e .",
        "-m ipykernel install --sys-prefix --name dl-course",
        f"--env JAX_COMPILATION_CACHE_DIR {checkout / '.cache' / 'jax'}",
        "--env JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS 0",
    ]
    for step in steps:
        assert step in out, f"dry run does not show {step!r}:\n{out}"
    assert out.index("-m venv") < out.index("-r requirements.txt") < out.index("ipykernel")
    assert not (checkout / ".venv").exists(), "a dry run creates nothing"


def test_kernel_env_turns_on_compilation_cache(checkout: Path) -> None:
    env = course.kernel_env(checkout)
    assert env["JAX_COMPILATION_CACHE_DIR"] == str(checkout / ".cache" / "jax")
    assert Path(env["JAX_COMPILATION_CACHE_DIR"]).is_absolute(), "kernels start in other folders"
    assert float(env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"]) == 0.0, (
        "at JAX's default threshold (1 s) almost none of the course's functions is cached"
    )


def test_disable_nbgrader_writes_jupyters_files(tmp_path: Path) -> None:
    page_config = tmp_path / "etc" / "jupyter" / "labconfig" / "page_config.json"
    page_config.parent.mkdir(parents=True)
    page_config.write_text(json.dumps({"disabledExtensions": {"other": True}}), encoding="utf-8")
    course.disable_nbgrader(tmp_path)
    conf_d = tmp_path / "etc" / "jupyter" / "jupyter_server_config.d"
    for ext in course.NBGRADER_SERVER_EXTENSIONS:
        name = f"nbgrader.server_extensions.{ext}"
        data = json.loads((conf_d / f"{name}.json").read_text(encoding="utf-8"))
        assert data == {"ServerApp": {"jpserver_extensions": {name: False}}}, name
    data = json.loads(page_config.read_text(encoding="utf-8"))
    assert data["disabledExtensions"] == {"other": True, "@jupyter/nbgrader": True}, (
        "the lab extension is disabled and other entries are kept"
    )
    assert data["lockedExtensions"] == {"@jupyter/nbgrader": True}


# ---------------------------------------------------------------------------- command lines
def test_lab_command_opens_start_page_in_work_copy(checkout: Path) -> None:
    py = course.venv_python(checkout / ".venv", "linux")
    cmd = course.lab_command(checkout, py, platform="linux", environ={}, is_root=True)
    assert cmd[:3] == [str(py), "-m", "jupyterlab"]
    assert f"--ServerApp.root_dir={checkout}" in cmd
    assert "--MultiKernelManager.default_kernel_name=dl-course" in cmd
    assert "--LabApp.default_url=/lab/tree/notebooks" in cmd, "no start page yet: the folder"
    assert "--no-browser" in cmd, "Linux without a display prints a URL instead"
    assert "--allow-root" in cmd, "Jupyter refuses root without it"

    (checkout / "notebooks" / course.START_PAGE).write_text("{}", encoding="utf-8")
    cmd = course.lab_command(checkout, py, platform="linux", environ={}, is_root=False)
    assert f"--LabApp.default_url=/lab/tree/notebooks/{course.START_PAGE}" in cmd
    assert "--allow-root" not in cmd

    (checkout / "work" / "notebooks").mkdir(parents=True)
    (checkout / "work" / "notebooks" / course.START_PAGE).write_text("{}", encoding="utf-8")
    cmd = course.lab_command(checkout, py, platform="linux", environ={"DISPLAY": ":0"})
    assert f"--LabApp.default_url=/lab/tree/work/notebooks/{course.START_PAGE}" in cmd, (
        "the personal copy work/ is opened when it exists"
    )
    assert "--no-browser" not in cmd, "a Linux desktop opens the browser"


@pytest.mark.parametrize("platform", ["win32", "darwin"])
def test_lab_command_opens_browser_elsewhere(checkout: Path, platform: str) -> None:
    py = course.venv_python(checkout / ".venv", platform)
    cmd = course.lab_command(checkout, py, platform=platform, environ={}, extra=["--port", "9"])
    assert cmd[0].endswith("python.exe" if platform == "win32" else "python")
    assert "--no-browser" not in cmd
    assert cmd[-2:] == ["--port", "9"], "extra arguments go to jupyter lab, last"


def test_test_commands_match_make_test(checkout: Path) -> None:
    py = Path("/v/bin/python")
    steps = course.test_commands(checkout, py, ["-k", "ch01"])
    assert list(steps) == ["lint", "check-exercises", "pytest"]
    commands = [cmd for step in steps.values() for _, cmd in step]
    assert commands == [
        [str(py), "-m", "ruff", "check", "."],
        [str(py), "-m", "ruff", "format", "--check", "course_lib", "tests", "scripts"],
        [str(py), "-m", "course_lib.instructor.exercises", "--check"],
        [str(py), "-m", "pytest", "-n", "2", "--dist", "loadfile", "tests", "notebooks"]
        + ["--nbval", "--nbval-current-env", "--nbval-sanitize-with", "nbval_sanitize.cfg"]
        + ["-k", "ch01"],
    ], "missing folders (solutions, benchmarks, e2e, conftest.py) are left out"


# ---------------------------------------------------------------------------- the script
def test_help_names_the_three_commands() -> None:
    result = _script("--help")
    assert result.returncode == 0, result.stderr
    for command in ("setup", "lab", "test", "--dry-run", r"py -3.11 scripts\course.py lab"):
        assert command in result.stdout, f"--help does not mention {command!r}"


def _require_current_setup() -> None:
    venv = ROOT / course.VENV_NAME
    if not course.is_up_to_date(ROOT, venv):
        pytest.skip("this checkout's .venv is not set up (run `python scripts/course.py setup`)")


def test_setup_on_this_checkout_is_a_fast_noop() -> None:
    _require_current_setup()
    t0 = time.monotonic()
    result = _script("setup")
    elapsed = time.monotonic() - t0
    assert result.returncode == 0, result.stderr
    assert "environment up to date" in result.stdout, result.stdout
    assert "pip" not in result.stdout, "an unchanged setup installs nothing"
    assert elapsed < 10, f"an unchanged setup took {elapsed:.1f} s"


def test_installed_kernel_has_compilation_cache_env() -> None:
    _require_current_setup()
    spec = ROOT / course.VENV_NAME / "share" / "jupyter" / "kernels" / "dl-course" / "kernel.json"
    kernel = json.loads(spec.read_text(encoding="utf-8"))
    assert kernel.get("env") == course.kernel_env(ROOT), "setup registers the cache env"
    assert Path(kernel["argv"][0]).resolve() == course.venv_python(ROOT / ".venv").resolve()


def test_tests_run_without_compilation_cache() -> None:
    """pytest and nbval compile afresh: only the course kernel (JupyterLab) uses the cache."""
    import jax

    assert "JAX_COMPILATION_CACHE_DIR" not in os.environ, "the test run must not use the cache"
    assert jax.config.jax_compilation_cache_dir is None


def test_dry_run_prints_lab_and_test_commands() -> None:
    _require_current_setup()
    lab = _script("lab", "--dry-run", "--", "--port", "8899")
    assert lab.returncode == 0, lab.stderr
    assert "environment up to date" in lab.stdout
    assert " -m jupyterlab " in lab.stdout and "--port 8899" in lab.stdout, lab.stdout
    assert "--MultiKernelManager.default_kernel_name=dl-course" in lab.stdout
    test = _script("--dry-run", "test", "--only", "check-exercises")
    assert test.returncode == 0, test.stderr
    assert "would run: " in test.stdout
    assert "-m course_lib.instructor.exercises --check" in test.stdout
    assert "ruff" not in test.stdout and "pytest" not in test.stdout, "--only runs one step"
