"""The class deployment's files, read as JupyterHub, repo2docker and Helm read them (the hub
itself runs in e2e/test_class.py), and the hand-in collector."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import nbformat
import pytest
import yaml
from traitlets.config.loader import PyFileConfigLoader

from course_lib.instructor import collect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import course  # noqa: E402

START = "notebooks/00_start_here.ipynb"


def _hub_config(monkeypatch, tmp_path: Path, **env: str):
    for name in ("COURSE_REPO", "COURSE_STUDENTS", "COURSE_ADMINS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COURSE_HUB_DIR", str(tmp_path / "hub"))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return PyFileConfigLoader("jupyterhub_config.py", path=str(ROOT / "deploy")).load_config()


def test_the_hub_config_spawns_the_course_as_each_student(monkeypatch, tmp_path: Path):
    cfg = _hub_config(
        monkeypatch, tmp_path, COURSE_REPO="https://example.org/course.git", COURSE_ADMINS="ada, bo"
    )
    assert cfg.JupyterHub.spawner_class == "localprocess"  # each student's own system user
    assert cfg.Spawner.cmd == [
        str(ROOT / ".venv" / "bin" / "python"),
        "-m",
        "jupyterhub.singleuser",
    ]
    assert cfg.Authenticator.admin_users == {"ada", "bo"}
    url = urlparse(cfg.Spawner.default_url)
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert url.path == "/git-pull"
    assert query == {
        "repo": "https://example.org/course.git",
        "branch": "main",
        "targetpath": "dl-course",
        "urlpath": f"lab/tree/dl-course/{START}",
    }
    assert (ROOT / START).is_file()
    # the kernel: the course's Python, JAX's cache in each student's home, readable by all
    share = tmp_path / "hub" / "share" / "jupyter"
    kernel = share / "kernels" / "dl-course" / "kernel.json"
    spec = json.loads(kernel.read_text())
    assert spec["argv"][0] == cfg.Spawner.cmd[0]
    assert spec["env"] == course.HUB_KERNEL_ENV
    assert stat.S_IMODE(kernel.stat().st_mode) == 0o644
    assert cfg.Spawner.environment["JUPYTER_PATH"].split(os.pathsep)[0] == str(share)
    assert cfg.Spawner.args == ["--MultiKernelManager.default_kernel_name=dl-course"]
    # idle servers are stopped by a service with just the scopes it needs
    (culler,) = cfg.JupyterHub.services
    assert "jupyterhub_idle_culler" in culler["command"] and "--timeout=3600" in culler["command"]
    (role,) = cfg.JupyterHub.load_roles
    assert role["services"] == ["idle-culler"] and "admin:users" not in role["scopes"]


def test_without_a_repo_or_with_a_class_list(monkeypatch, tmp_path: Path):
    cfg = _hub_config(monkeypatch, tmp_path)
    assert cfg.Spawner.default_url == "/lab" and cfg.Authenticator.allow_all is True
    names = tmp_path / "students.txt"
    names.write_text("ann\nben\n\ncy\n")
    cfg = _hub_config(monkeypatch, tmp_path, COURSE_STUDENTS=str(names), COURSE_ADMINS="prof")
    assert cfg.Authenticator.allowed_users == {"ann", "ben", "cy", "prof"}


def test_repo2docker_builds_the_pinned_environment():
    binder = ROOT / ".binder"
    assert (binder / "runtime.txt").read_text().strip() == f"python-{course.NEED}"
    lines = [
        ln for ln in (binder / "requirements.txt").read_text().splitlines() if ln and ln[0] != "#"
    ]
    assert lines == ["-r ../requirements.txt"]  # the same pins as make setup, nothing else
    post = binder / "postBuild"
    assert post.stat().st_mode & stat.S_IXUSR, "repo2docker runs postBuild only when executable"
    assert "python scripts/course.py image" in post.read_text()
    plan = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "course.py"), "--dry-run", "image"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "ipykernel install --sys-prefix --name dl-course" in plan
    assert "JAX_COMPILATION_CACHE_DIR '${HOME}/.cache/dl-course/jax'" in plan
    assert "--no-deps -e ." in plan


def test_the_helm_values_use_the_image_and_pull_the_course():
    values = yaml.safe_load((ROOT / "deploy" / "values.yaml").read_text())
    single = values["singleuser"]
    assert single["defaultUrl"] == f"/lab/tree/dl-course/{START}"
    command = single["lifecycleHooks"]["postStart"]["exec"]["command"]
    assert command[0] == "gitpuller" and command[2:] == ["main", "dl-course"]
    assert single["image"]["name"] and single["image"]["tag"]
    assert values["cull"]["enabled"] is True
    # room for the measured peak (about 1.2 GB, README) under the limit
    assert float(single["memory"]["limit"].rstrip("G")) >= 2 * 1.2


# ---------------------------------------------------------------------------- course-collect


def _handin(home: Path, text: str | None = None) -> Path:
    path = home / collect.handin_path("ch01_perceptron")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text if text is not None else nbformat.writes(nbformat.v4.new_notebook()))
    return path


def test_collect_from_homes(tmp_path: Path):
    homes, out = tmp_path / "home", tmp_path / "handins"
    _handin(homes / "ann")
    (homes / "ben").mkdir(parents=True)  # nothing handed in
    _handin(homes / "cy", "{not a notebook")
    # dan's hand-in is a link to ann's file: never followed
    (homes / "dan" / "dl-course").mkdir(parents=True)
    (homes / "dan" / "dl-course" / "exercises").symlink_to(
        homes / "ann" / "dl-course" / "exercises"
    )
    done = {c.user: c.status for c in collect.from_homes(homes, "ch01_perceptron", out)}
    assert done == {"ann": "collected", "ben": "missing", "cy": "invalid", "dan": "missing"}
    assert [p.relative_to(out).as_posix() for p in out.rglob("*.ipynb")] == [
        "ann/ch01_perceptron.ipynb"
    ]
    # again: unchanged; after a change, the earlier copy is kept
    assert collect.from_homes(homes, "ch01_perceptron", out)[0].status == "unchanged"
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("x = 1"))
    _handin(homes / "ann", nbformat.writes(nb))
    assert collect.from_homes(homes, "ch01_perceptron", out)[0].status == "collected"
    assert len(list((out / "ann").glob("ch01_perceptron.ipynb.bak-*"))) == 1


def test_collect_says_what_is_wrong(tmp_path: Path, monkeypatch, capsys):
    with pytest.raises(SystemExit):
        collect.main(["../../etc", "--homes", str(tmp_path), "--out", str(tmp_path / "o")])
    assert "assignment: expected a lecture such as ch01_perceptron" in capsys.readouterr().err
    monkeypatch.delenv("JUPYTERHUB_API_TOKEN", raising=False)
    with pytest.raises(SystemExit):
        collect.main(
            ["ch01_perceptron", "--hub", "http://127.0.0.1:9", "--out", str(tmp_path / "o")]
        )
    assert "$JUPYTERHUB_API_TOKEN" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        collect.main(
            ["ch01_perceptron", "--homes", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]
        )
    assert "--homes: expected a folder of home folders" in capsys.readouterr().err
