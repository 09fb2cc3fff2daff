"""JupyterHub for a class on one server, The Littlest JupyterHub's way.

Every student is a system user with a private home (mode 700), logs in with a password, and gets
a JupyterLab that runs as that user. On the way in, nbgitpuller copies the course into
``~/dl-course`` (the first time) or merges the instructor's updates into it (every later time,
keeping the student's own edits), then opens the start page. Notebooks run on the course kernel
(``dl-course``), with a JAX compilation cache of each student's own. Servers idle for an hour
are stopped (jupyterhub-idle-culler). README "A class on JupyterHub" is the guide; the class test
(``make class-test``, ``e2e/test_class.py``) runs this file with 10 students on loopback.

    sudo COURSE_REPO=https://github.com/<you>/<course>.git \\
         .venv/bin/jupyterhub -f deploy/jupyterhub_config.py

run from a clone of the course after ``make setup`` and ``make class-js`` (the proxy). Settings
come from environment variables, with these defaults:

  COURSE_REPO     the git URL students pull the course from (default: none, and then no
                  nbgitpuller link: students start in an empty home)
  COURSE_BRANCH   its branch (main)
  COURSE_FOLDER   the folder in each home the course goes to (dl-course)
  COURSE_DIR      this clone of the course (the folder above deploy/)
  COURSE_PYTHON   the Python students' servers and kernels run (COURSE_DIR/.venv/bin/python); it
                  and its packages must be readable by every student
  COURSE_HUB_DIR  the hub's own state: database, cookie secret, kernel spec (/srv/jupyterhub)
  COURSE_HUB_URL  where the hub listens (http://:8000); put a TLS proxy (Caddy, nginx) in front,
                  or give JupyterHub a certificate (c.JupyterHub.ssl_cert / ssl_key)
  COURSE_ADMINS   comma-separated instructors' user names (admin rights on the hub)
  COURSE_STUDENTS a file with one allowed user name per line; without it, any system user
                  with a password may log in
  COURSE_IDLE_S   seconds of inactivity before a server is stopped (3600)

Anything else: add ``c.<Class>.<trait> = ...`` lines below, or load this file from your own
(``load_subconfig("deploy/jupyterhub_config.py")``, as the class test does).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from urllib.parse import urlencode

c = get_config()  # noqa: F821 (JupyterHub's config loader defines it)

COURSE_DIR = Path(os.environ.get("COURSE_DIR", Path(__file__).resolve().parents[1]))
COURSE_PYTHON = os.environ.get("COURSE_PYTHON", str(COURSE_DIR / ".venv" / "bin" / "python"))
COURSE_REPO = os.environ.get("COURSE_REPO", "")
COURSE_BRANCH = os.environ.get("COURSE_BRANCH", "main")
COURSE_FOLDER = os.environ.get("COURSE_FOLDER", "dl-course")
HUB_DIR = Path(os.environ.get("COURSE_HUB_DIR", "/srv/jupyterhub"))
ADMINS = {name.strip() for name in os.environ.get("COURSE_ADMINS", "").split(",") if name.strip()}
STUDENTS = os.environ.get("COURSE_STUDENTS", "")
IDLE_S = int(os.environ.get("COURSE_IDLE_S", "3600"))
KERNEL_NAME = "dl-course"


def start_url() -> str:
    """The nbgitpuller link every login goes through: pull (or merge) the course, then open its
    start page. Share the same link with students by e-mail or on the course page, with the
    hub's address in front: https://hub.example.edu/hub/user-redirect/git-pull?..."""
    if not COURSE_REPO:
        return "/lab"
    query = urlencode(
        {
            "repo": COURSE_REPO,
            "branch": COURSE_BRANCH,
            "targetpath": COURSE_FOLDER,
            "urlpath": f"lab/tree/{COURSE_FOLDER}/notebooks/00_start_here.ipynb",
        }
    )
    return f"/git-pull?{query}"


def course_kernel(share: Path) -> Path:
    """The course kernel for the hub's students, in ``share/kernels/dl-course``: the course's
    Python, and JAX's persistent compilation cache in each student's home. (A cache shared
    between students would let one student's files be loaded as compiled code into another's
    kernel; the laptop set-up, ``make setup``, keeps it in the course folder instead.)"""
    folder = share / "kernels" / KERNEL_NAME
    folder.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [
            COURSE_PYTHON,
            "-Xfrozen_modules=off",
            "-m",
            "ipykernel_launcher",
            "-f",
            "{connection_file}",
        ],
        "display_name": "Deep Learning course (JAX)",
        "language": "python",
        "metadata": {"debugger": True},
        "env": {
            # ${HOME} is filled in by Jupyter when the kernel starts, from the student's server
            "JAX_COMPILATION_CACHE_DIR": "${HOME}/.cache/dl-course/jax",
            "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
        },
    }
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1) + "\n", encoding="utf-8")
    for path in (share, share / "kernels", folder, folder / "kernel.json"):
        path.chmod(0o755 if path.is_dir() else 0o644)  # every student reads it
    return folder


# ---------------------------------------------------------------------------- the hub
HUB_DIR.mkdir(parents=True, exist_ok=True)
c.JupyterHub.bind_url = os.environ.get("COURSE_HUB_URL", "http://:8000")
c.JupyterHub.db_url = f"sqlite:///{HUB_DIR / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(HUB_DIR / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.command = [
    str(COURSE_DIR / "deploy" / "node_modules" / ".bin" / "configurable-http-proxy")
]
c.ConfigurableHTTPProxy.pid_file = str(HUB_DIR / "jupyterhub-proxy.pid")
# Stopping the hub stops every student's server too (the default, said out loud).
c.JupyterHub.cleanup_servers = True

# ---------------------------------------------------------------------------- who logs in
# System users and their passwords (PAM). For a university login, install an OAuthenticator
# (pip install oauthenticator) and set c.JupyterHub.authenticator_class instead.
c.JupyterHub.authenticator_class = "pam"
c.Authenticator.admin_users = ADMINS
if STUDENTS:
    names = Path(STUDENTS).read_text(encoding="utf-8").split()
    c.Authenticator.allowed_users = set(names) | ADMINS
else:
    c.Authenticator.allow_all = True

# ---------------------------------------------------------------------------- each student's server
c.JupyterHub.spawner_class = "localprocess"  # runs as the student's own system user
c.Spawner.cmd = [COURSE_PYTHON, "-m", "jupyterhub.singleuser"]
c.Spawner.notebook_dir = "~"
c.Spawner.default_url = start_url()
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
KERNELS = HUB_DIR / "share" / "jupyter"
course_kernel(KERNELS)
c.Spawner.environment = {
    # the hub's course kernel first, then the course environment's JupyterLab extensions
    # (widgets) and server extensions (nbgitpuller): found also when COURSE_PYTHON is another
    # Python 3.11 that imports the course's packages
    "JUPYTER_PATH": os.pathsep.join(
        [str(KERNELS), str(COURSE_DIR / ".venv" / "share" / "jupyter")]
    ),
    "JUPYTER_CONFIG_PATH": str(COURSE_DIR / ".venv" / "etc" / "jupyter"),
}
c.Spawner.args = [f"--MultiKernelManager.default_kernel_name={KERNEL_NAME}"]

# ---------------------------------------------------------------------------- idle servers
c.JupyterHub.services = [
    {
        "name": "idle-culler",
        "command": [sys.executable, "-m", "jupyterhub_idle_culler", f"--timeout={IDLE_S}"],
    }
]
c.JupyterHub.load_roles = [
    {
        "name": "idle-culler",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["idle-culler"],
    }
]
