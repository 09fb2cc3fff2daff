"""Collect hand-ins on a JupyterHub: every student's copy of one exercise notebook, laid out the
way ``course-grade`` reads them.

::

    course-collect ch01_perceptron --hub https://hub.example.edu --out handins/ch01
    course-collect ch01_perceptron --homes /home --out handins/ch01

(also ``python -m course_lib.instructor.collect``). A student's hand-in is their copy of the
exercise notebook, ``<folder>/exercises/<assignment>_exercises.ipynb`` in their home
(``--folder``, default ``dl-course``, where nbgitpuller puts the course), as last saved. It is
written to ``<out>/<user>/<assignment>.ipynb``, and ``course-grade <out> --assignment
<assignment>`` grades the folder.

- ``--hub URL`` reads each file through the student's running server (the hub's REST API, then
  the server's contents API), with the token in ``$JUPYTERHUB_API_TOKEN``: an admin's token
  (Token page of the hub's control panel) or a service's with the scopes ``list:users``,
  ``read:users`` and ``access:servers``. Works on any hub, Kubernetes included. A student whose
  server is not running is listed as such and skipped: start it from the admin page, or collect
  with ``--homes`` on the server that holds the homes.
- ``--homes DIR`` reads the files straight from the home folders under ``DIR`` (run as root on a
  single-server hub, where homes are ``/home/<user>``).

Nothing is overwritten: a collected file that differs from a new one is kept beside it as
``<name>.bak-<time>``. Only notebooks are copied (a file that is not valid JSON nbformat is
reported and skipped), and a user name that is not a plain name is refused.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import nbformat

from course_lib.instructor.exercises import exercise_name

DEFAULT_FOLDER = "dl-course"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$")


@dataclass
class Collected:
    user: str
    status: str  # "collected", "unchanged", "missing", "not running", "invalid"
    path: Path | None = None


def handin_path(assignment: str, folder: str = DEFAULT_FOLDER) -> str:
    """The hand-in's path inside a student's home."""
    return f"{folder}/exercises/{exercise_name(assignment)}"


def _save(nb_json: str, dest: Path) -> str:
    """Write a notebook unless the same is there; an older, different one is kept as .bak-*."""
    nb = nbformat.reads(nb_json, as_version=4)  # raises on anything that is not a notebook
    text = nbformat.writes(nb)
    if dest.exists():
        if dest.read_text(encoding="utf-8") == text:
            return "unchanged"
        dest.rename(dest.with_name(f"{dest.name}.bak-{time.strftime('%Y%m%d-%H%M%S')}"))
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(dest)
    return "collected"


def _get(url: str, token: str) -> bytes:
    req = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return resp.read()


def users_on_hub(hub: str, token: str) -> list[dict]:
    """Every user of the hub, page by page."""
    users: list[dict] = []
    offset = 0
    while True:
        url = f"{hub}/hub/api/users?offset={offset}&limit=200&include_stopped_servers=1"
        req = urllib.request.Request(
            url,
            headers={
                "Authorization": f"token {token}",
                "Accept": "application/jupyterhub-pagination+json",
            },
        )
        with urllib.request.urlopen(req, timeout=60) as resp:
            page = json.loads(resp.read())
        items = page["items"] if isinstance(page, dict) else page
        users.extend(items)
        nxt = page.get("_pagination", {}).get("next") if isinstance(page, dict) else None
        if not nxt:
            return users
        offset = nxt["offset"]


def from_hub(
    hub: str, token: str, assignment: str, out: Path, folder: str = DEFAULT_FOLDER
) -> list[Collected]:
    hub = hub.rstrip("/")
    rel = urllib.parse.quote(handin_path(assignment, folder))
    done: list[Collected] = []
    for user in sorted(users_on_hub(hub, token), key=lambda u: u["name"]):
        name = user["name"]
        if not _NAME.match(name):
            done.append(Collected(name, "invalid"))
            continue
        server = (user.get("servers") or {}).get("")
        if not server or not server.get("ready"):
            done.append(Collected(name, "not running"))
            continue
        base = hub + server["url"].rstrip("/") if server["url"].startswith("/") else server["url"]
        try:
            model = json.loads(_get(f"{base}/api/contents/{rel}?content=1&type=notebook", token))
        except urllib.error.HTTPError as e:
            done.append(Collected(name, "missing" if e.code == 404 else f"HTTP {e.code}"))
            continue
        dest = out / name / f"{assignment}.ipynb"
        try:
            status = _save(json.dumps(model["content"]), dest)
        except Exception:  # noqa: BLE001 - a file that is not a notebook is reported, not raised
            done.append(Collected(name, "invalid"))
            continue
        done.append(Collected(name, status, dest))
    return done


def from_homes(
    homes: Path, assignment: str, out: Path, folder: str = DEFAULT_FOLDER
) -> list[Collected]:
    rel = handin_path(assignment, folder)
    done: list[Collected] = []
    for home in sorted(p for p in homes.iterdir() if p.is_dir()):
        name = home.name
        if not _NAME.match(name):
            continue
        src = home / rel
        # a link (of the file or of a folder on its way) could point at anyone's file
        if not src.is_file() or not src.resolve().is_relative_to(home.resolve()):
            done.append(Collected(name, "missing"))
            continue
        dest = out / name / f"{assignment}.ipynb"
        try:
            status = _save(src.read_text(encoding="utf-8"), dest)
        except Exception:  # noqa: BLE001
            done.append(Collected(name, "invalid"))
            continue
        done.append(Collected(name, status, dest))
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="course-collect", description=__doc__.split("\n\n")[0].replace("\n", " ")
    )
    parser.add_argument("assignment", help="e.g. ch01_perceptron")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--hub", help="the hub's address, e.g. https://hub.example.edu")
    where.add_argument("--homes", type=Path, help="the folder of home folders, e.g. /home")
    parser.add_argument("--out", type=Path, required=True, help="where the hand-ins go")
    parser.add_argument("--folder", default=DEFAULT_FOLDER, help="the course's folder in each home")
    args = parser.parse_args(argv)
    if not re.match(r"^ch\d\d[a-z]?_[a-z0-9_]+$", args.assignment):
        parser.error(
            f"assignment: expected a lecture such as ch01_perceptron, got {args.assignment!r}"
        )
    if args.hub:
        token = os.environ.get("JUPYTERHUB_API_TOKEN", "")
        if not token:
            parser.error("--hub needs an admin's API token in $JUPYTERHUB_API_TOKEN")
        done = from_hub(args.hub, token, args.assignment, args.out, args.folder)
    else:
        if not args.homes.is_dir():
            parser.error(f"--homes: expected a folder of home folders, got {str(args.homes)!r}")
        done = from_homes(args.homes, args.assignment, args.out, args.folder)
    counts: dict[str, int] = {}
    for c in done:
        counts[c.status] = counts.get(c.status, 0) + 1
        if c.status not in ("collected", "unchanged"):
            print(f"  {c.user}: {c.status}", file=sys.stderr)
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no users"
    print(f"course-collect {args.assignment}: {summary} -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
