"""Your working copy of the course: ``work/``, refreshed from the course without losing your work.

    python -m course_lib.workspace sync [--dest work]

The course's ``notebooks/`` and ``exercises/`` are tracked by git; you work in ``work/``, a
git-ignored copy with the same layout (so ``work/notebooks/x.ipynb`` links to
``../exercises/x.ipynb`` as the course does). ``git pull`` of a new course version then never
conflicts with what you ran or wrote, and ``sync`` (``make lab`` runs it first) brings the new
version into ``work/`` by nbgitpuller's rule:

- a course file you never touched follows the course: new files appear, updated ones replace it;
- a file you changed (edited a cell, or ran it so that its outputs differ) is never overwritten;
  if the course updated it too, the new version is written beside it as
  ``<name>.course-update.ipynb`` (refreshed on later syncs) and sync says so;
- a course file you deleted comes back, fresh from the course (the way to start one over);
- files you created yourself are never read or written;
- a course file you changed in the course folder itself (git shows it modified: you ran it there
  before ``work/`` existed) is copied into the working copy as your edit, and sync prints the
  ``git checkout`` that restores the course's copy (``changed_in_course``).

Where nbgitpuller merges your file and the course's line by line, sync never does (two versions
of a notebook's JSON do not merge into a valid notebook): the course's version goes beside
yours. And where a new course file lands on a file of yours of the same name, nbgitpuller
renames yours; sync leaves yours where it is and puts the course's beside it.

What was copied is recorded in ``work/.course-sync.json`` (the sha256 of each file's bytes and
of its content). "Changed" means the content differs from what sync last wrote: for a notebook,
the cells' types, sources and outputs (execution counts, metadata and JSON layout left out, so a
notebook JupyterLab merely re-saved still counts as untouched); for any other file, its bytes.
Every write goes through a temporary file and ``os.replace``, never through a symbolic link and
never outside the working copy. Nothing here needs JAX.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The course folders copied into the working copy, each to the folder of the same name.
COURSE_DIRS = ("notebooks", "exercises")
#: The default working copy, relative to the course folder.
DEFAULT_DEST = "work"
#: The record of what sync copied, inside the working copy.
MANIFEST = ".course-sync.json"
MANIFEST_VERSION = 1
#: Marks the course's new version of a file you changed: ``ch01.course-update.ipynb``.
UPDATE_MARK = ".course-update"


class WorkspaceError(Exception):
    """A sync that cannot go ahead (a bad destination, no course); nothing was written."""


# ------------------------------------------------------------------------------ digests


def _bytes_sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _without_counts(output: Any) -> Any:
    if isinstance(output, dict):
        return {k: v for k, v in output.items() if k not in ("execution_count", "metadata")}
    return output


def content_sha256(data: bytes, name: str) -> str:
    """sha256 of what a person would call the file's content.

    For a notebook (``.ipynb`` that parses): each cell's type, source and outputs, in order,
    without execution counts or metadata. Otherwise (and for a notebook that does not parse):
    the bytes.
    """
    if name.endswith(".ipynb"):
        try:
            nb = json.loads(data.decode("utf-8"))
            cells = [
                [
                    cell.get("cell_type"),
                    _joined(cell.get("source", "")),
                    [_without_counts(o) for o in cell.get("outputs", [])],
                ]
                for cell in nb["cells"]
            ]
        except (ValueError, UnicodeDecodeError, KeyError, TypeError, AttributeError):
            return _bytes_sha(data)
        payload = json.dumps(cells, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return "cells:" + _bytes_sha(payload.encode("utf-8"))
    return _bytes_sha(data)


def _joined(source: Any) -> Any:
    return "".join(source) if isinstance(source, list) else source


@dataclass(frozen=True)
class _Digest:
    sha256: str  # of the bytes
    content: str  # content_sha256

    @classmethod
    def of(cls, data: bytes, name: str) -> _Digest:
        return cls(_bytes_sha(data), content_sha256(data, name))

    def same_content(self, other: _Digest | None) -> bool:
        return other is not None and (self.sha256 == other.sha256 or self.content == other.content)


# ------------------------------------------------------------------------------ the report


@dataclass
class SyncReport:
    """What one sync did; paths relative to the working copy, with ``/`` separators."""

    dest: Path
    copied: list[str] = field(default_factory=list)  # new course files
    updated: list[str] = field(default_factory=list)  # untouched files the course updated
    restored: list[str] = field(default_factory=list)  # files you deleted, brought back
    kept: list[tuple[str, str]] = field(default_factory=list)  # (your file, update beside it)
    edited: list[str] = field(default_factory=list)  # your changed files, no course update
    retired: list[str] = field(default_factory=list)  # files the course no longer has
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, why not written)
    removed_updates: list[str] = field(default_factory=list)  # .course-update files not needed
    moved: list[str] = field(default_factory=list)  # your changes in the course folder, copied
    moved_not: list[str] = field(default_factory=list)  # the same, not copied: work/ had a copy
    warnings: list[str] = field(default_factory=list)
    trusted: int = 0  # notebooks signed as the course's (sync(trust=True))

    def summary(self) -> str:
        kept = len(self.kept) + len(self.edited) + len(self.moved)
        line = (
            f"copied {len(self.copied)}, updated {len(self.updated)}, "
            f"kept your edits in {kept}, restored {len(self.restored)}"
        )
        if self.kept:
            line += f" ({len(self.kept)} with a course update beside them)"
        return line

    def lines(self) -> list[str]:
        """What to print: warnings, each change, then the summary and what you may want to do."""
        shown = self.dest.name
        out = [f"warning: {w}" for w in self.warnings]
        first = not (self.updated or self.restored or self.kept or self.edited)
        if self.copied and (first and len(self.copied) > 3):
            out.append(f"new: {len(self.copied)} course files copied into {shown}/")
        else:
            out += [f"new: {shown}/{p}" for p in self.copied]
        out += [f"updated from the course: {shown}/{p}" for p in self.updated]
        out += [f"restored (you had deleted it): {shown}/{p}" for p in self.restored]
        for path, why in self.skipped:
            out.append(f"left alone: {shown}/{path} ({why})")
        for path in self.retired:
            out.append(
                f"no longer in the course: {shown}/{path} (left in place; delete it if you "
                "no longer need it)"
            )
        out += [f"removed (no longer needed): {shown}/{p}" for p in self.removed_updates]
        for path in self.moved:
            out.append(f"copied your changes made in the course folder: {path} -> {shown}/{path}")
        for path in self.moved_not:
            out.append(
                f"note: {path} is changed in the course folder (git status shows it modified), "
                f"so git pull cannot update it. You work in {shown}/{path}: copy what you need "
                f"from the course folder's copy into it, then restore that one with: "
                f"git checkout -- {path}"
            )
        for path, beside in self.kept:
            out.append(f"kept your edits: {shown}/{path}; the course's new version is {beside}")
        changed = self.copied or self.updated or self.restored or self.kept or self.moved
        done = "" if changed else " (already up to date)"
        out.append(f"sync {shown}/: {self.summary()}{done}")
        if self.moved:
            out += [
                f"  You changed {len(self.moved)} file(s) in the course folder itself (running a",
                f"  notebook there does); your versions are now in {shown}/, where you work from",
                "  now on. git pull cannot update the course folder's copies until you restore",
                "  them: git checkout -- " + " ".join(self.moved),
            ]
        if self.kept:
            out += [
                "  Your files above are as you left them. The course changed them too: open the",
                "  .course-update file beside each, and copy over what you want from it. To take",
                "  the course's version instead, delete (or rename) your file and sync again",
                "  (make lab does); the .course-update file then goes away.",
            ]
        return out


# ------------------------------------------------------------------------------ paths


def _skip(name: str) -> bool:
    """Names that are never course files: hidden, checkpoints, backups, our own updates."""
    return (
        name.startswith(".")
        or name == "__pycache__"
        or ".bak-" in name
        or UPDATE_MARK in name
        or name.endswith((".tmp", "~"))
    )


def course_files(root: Path, dirs: Sequence[str] = COURSE_DIRS) -> list[str]:
    """The course's files under ``dirs`` of ``root``, as sorted ``dir/.../name`` paths.

    Symbolic links, hidden files and folders (``.ipynb_checkpoints``), backups (``*.bak-*``)
    and ``*.course-update*`` files are left out.
    """
    found = []
    for top in dirs:
        base = root / top
        if not base.is_dir():
            continue
        for folder, subdirs, names in os.walk(base):
            subdirs[:] = sorted(d for d in subdirs if not _skip(d))
            for name in names:
                path = Path(folder) / name
                if _skip(name) or path.is_symlink() or not path.is_file():
                    continue
                found.append(path.relative_to(root).as_posix())
    return sorted(found)


def update_name(rel: str, n: int = 1) -> str:
    """Where the course's update of the file ``rel`` goes when you changed ``rel``.

    ``notebooks/ch01.ipynb`` -> ``notebooks/ch01.course-update.ipynb`` (``n`` > 1 adds ``-n``).
    """
    head, _, name = rel.rpartition("/")
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, ext = name, ""
    mark = UPDATE_MARK if n == 1 else f"{UPDATE_MARK}-{n}"
    new = f"{stem}{mark}.{ext}" if ext else f"{stem}{mark}"
    return f"{head}/{new}" if head else new


def default_root() -> Path:
    """The course folder: the current folder or its nearest parent that has notebooks/ and
    exercises/; else the folder above this package."""
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if all((folder / d).is_dir() for d in COURSE_DIRS):
            return folder
    return Path(__file__).resolve().parent.parent


def resolve_dest(root: Path, dest: str | os.PathLike[str] = DEFAULT_DEST) -> Path:
    """The working copy's folder, checked: relative paths are taken from the course folder.

    Raises:
        WorkspaceError: ``dest`` is the course folder itself, is or is inside one of the course
            folders (``notebooks/``, ``exercises/``), or is a file.
    """
    root = Path(root).resolve()
    path = Path(dest).expanduser()
    path = (path if path.is_absolute() else root / path).resolve()
    if path == root:
        raise WorkspaceError(
            f"--dest {dest!s} is the course folder itself; the working copy must be a folder of "
            f"its own (the default is {DEFAULT_DEST}/)"
        )
    for top in COURSE_DIRS:
        course = (root / top).resolve()
        if path == course or course in path.parents:
            raise WorkspaceError(
                f"--dest {dest!s} is inside the course's {top}/ folder, which git updates; "
                f"choose a folder outside it (the default is {DEFAULT_DEST}/)"
            )
    if path.exists() and not path.is_dir():
        raise WorkspaceError(f"--dest {dest!s} is a file, not a folder")
    return path


def _target(dest: Path, rel: str) -> Path:
    """``dest/rel``, or WorkspaceError if writing it would leave ``dest`` (a symlink on the way)."""
    path = dest / rel
    parent = Path(os.path.realpath(path.parent))
    if parent != dest and dest not in parent.parents:
        raise WorkspaceError(f"{rel} would be written outside {dest} (a symbolic link on the way)")
    return path


def changed_in_course(root: Path, rels: Sequence[str]) -> dict[str, bytes | None]:
    """Course files you changed in the course folder itself (git shows them modified): path ->
    the committed version's bytes (None if git cannot give them). Empty without git.

    Running a notebook in ``notebooks/`` rewrites it; such a file is your work, and ``git pull``
    refuses to update it. Sync copies it into the working copy as your edit (recording the
    committed version as the course's), so that nothing of it is lost when you then restore the
    course folder's copy with ``git checkout``.
    """
    if not (root / ".git").exists():
        return {}
    import subprocess

    def git(*args: str) -> bytes | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(root), *args], capture_output=True, timeout=60, check=False
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout if done.returncode == 0 else None

    out = git("status", "--porcelain=v1", "-z", "--untracked-files=no", "--", *COURSE_DIRS)
    if out is None:
        return {}
    wanted, changed = set(rels), {}
    for item in out.decode("utf-8", "surrogateescape").split("\0"):
        rel = item[3:]
        if len(item) > 3 and "M" in item[:2] and rel in wanted:
            changed[rel] = git("show", f"HEAD:{rel}")
    return changed


# ------------------------------------------------------------------------------ files


def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and os.replace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_manifest(dest: Path, report: SyncReport) -> tuple[dict[str, Any], dict[str, str]]:
    """The recorded files and update files; a damaged record is set aside (renamed, never
    deleted) with a warning, and sync goes on as if it had none."""
    path = dest / MANIFEST
    if not path.exists():
        return {}, {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        files = data["files"]
        updates = data.get("updates", {})
        if data.get("version") != MANIFEST_VERSION:
            raise ValueError(f"version {data.get('version')!r}, expected {MANIFEST_VERSION}")
        for rel, entry in files.items():
            if not (isinstance(rel, str) and isinstance(entry, dict)):
                raise ValueError(f"bad entry {rel!r}")
            _Digest(str(entry["sha256"]), str(entry["content"]))
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in updates.items()):
            raise ValueError("bad 'updates'")
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as e:
        aside = path.with_name(f"{MANIFEST}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
        os.replace(path, aside)
        report.warnings.append(
            f"{dest.name}/{MANIFEST}, sync's record of what it copied, could not be read "
            f"({type(e).__name__}: {e}); it was moved to {aside.name}. This sync treats every "
            "file that differs from the course as yours: it keeps it and writes the course's "
            "version beside it. Nothing was deleted."
        )
        return {}, {}
    return files, updates


def _write_manifest(dest: Path, files: dict[str, Any], updates: dict[str, str]) -> None:
    data = {
        "version": MANIFEST_VERSION,
        "about": "What `python -m course_lib.workspace sync` copied from the course: the "
        "sha256 of each file's bytes and of its content. Delete a course file to get it back.",
        "files": dict(sorted(files.items())),
        "updates": dict(sorted(updates.items())),
    }
    text = json.dumps(data, indent=1, ensure_ascii=False) + "\n"
    _write_atomically(_target(dest, MANIFEST), text.encode("utf-8"))


# ------------------------------------------------------------------------------ sync


def sync(
    root: str | os.PathLike[str] | None = None,
    dest: str | os.PathLike[str] = DEFAULT_DEST,
    *,
    trust: bool = False,
):
    """Bring the working copy ``dest`` up to date with the course in ``root``.

    Args:
        root: the course folder (with ``notebooks/`` and ``exercises/``); default: found from
            the current folder (``default_root``).
        dest: the working copy; relative paths are taken from ``root``.
        trust: sign (Jupyter's "trust") every notebook in ``dest`` whose content is the
            course's, so that JupyterLab shows its saved widgets before it runs (see
            ``trust_course_notebooks``). The command line does this.

    Returns:
        A ``SyncReport`` of what was done.

    Raises:
        WorkspaceError: a bad ``dest`` (``resolve_dest``), or a course without its folders.
    """
    root = Path(root).resolve() if root is not None else default_root()
    if not any((root / d).is_dir() for d in COURSE_DIRS):
        raise WorkspaceError(f"{root} has no {' or '.join(f'{d}/' for d in COURSE_DIRS)} folder")
    dest = resolve_dest(root, dest)
    dest.mkdir(parents=True, exist_ok=True)
    report = SyncReport(dest=dest)
    recorded, updates = _read_manifest(dest, report)
    files: dict[str, Any] = {}

    in_course = course_files(root)
    local = changed_in_course(root, in_course)
    for rel in in_course:
        data = (root / rel).read_bytes()
        course = _Digest.of(data, rel)
        entry = recorded.get(rel)
        last = _Digest(entry["sha256"], entry["content"]) if entry else None
        try:
            target = _target(dest, rel)
        except WorkspaceError as e:
            report.skipped.append((rel, str(e)))
            if entry:
                files[rel] = entry
            continue
        if target.is_symlink() or (target.exists() and not target.is_file()):
            report.skipped.append((rel, "not a plain file: yours, so not written"))
            if entry:
                files[rel] = entry
            continue
        if rel in local:  # your changes in the course folder: the course's is the committed one
            yours, data = data, local[rel]
            if data is None:
                report.skipped.append((rel, "changed in the course folder, and git show failed"))
                if entry:
                    files[rel] = entry
                continue
            course = _Digest.of(data, rel)
            if not target.exists() and last is None:
                _write_atomically(target, yours)
                report.moved.append(rel)
                files[rel] = vars(course)  # the committed version: yours counts as an edit
                continue
            report.moved_not.append(rel)

        if not target.exists():
            _write_atomically(target, data)
            (report.restored if last else report.copied).append(rel)
            files[rel] = vars(course)
            _drop_update(dest, rel, course, updates, report)
            continue

        mine = _Digest.of(target.read_bytes(), rel)
        if mine.same_content(last):  # untouched since sync wrote it: follow the course
            if course.sha256 != last.sha256:
                _write_atomically(target, data)
                report.updated.append(rel)
            files[rel] = vars(course)
            _drop_update(dest, rel, course, updates, report)
            continue
        if mine.same_content(course):  # changed, but to what the course has now
            files[rel] = vars(course)
            _drop_update(dest, rel, course, updates, report)
            continue
        # yours: changed since sync wrote it, or there before sync ever wrote it
        if last is not None and last.sha256 == course.sha256:
            report.edited.append(rel)  # the course has nothing new for it
            files[rel] = vars(course)
            continue
        beside = _write_update(dest, rel, data, updates)
        if beside is None:
            report.skipped.append((rel, "its course update has nowhere to go"))
            if entry:
                files[rel] = entry
            continue
        report.kept.append((rel, f"{dest.name}/{beside}"))
        files[rel] = vars(course)

    gone = sorted(set(recorded) - set(in_course))
    report.retired = [rel for rel in gone if (dest / rel).exists()]
    _write_manifest(dest, files, updates)
    if trust:
        report.trusted = trust_course_notebooks(dest, files, updates)
    return report


def trust_course_notebooks(dest: Path, files: dict[str, Any], updates: dict[str, str]) -> int:
    """Sign the notebooks in ``dest`` that hold exactly the course's content; returns how many.

    JupyterLab renders a notebook's saved widgets (and its HTML) only in a *trusted* notebook,
    one whose signature is in Jupyter's database (``jupyter trust``). The course's notebooks
    are ours, so the working copies that still hold the course's content, and the course
    updates put beside a student's file, are signed; a file the student changed is left as
    JupyterLab left it (it signs what it saves itself). Needs nbformat (the course's
    environment has it); without it nothing is signed.
    """
    try:
        import nbformat
        from nbformat.sign import NotebookNotary
    except ImportError:  # pragma: no cover - the course's environment has nbformat
        return 0
    names = [rel for rel in files if rel.endswith(".ipynb")] + [
        u for u in updates if u.endswith(".ipynb")
    ]
    # our own logger: traitlets' default is the running Application's, whose handler may write
    # to a stream that no longer exists (seen under pytest); closes its database when done
    with NotebookNotary(log=logging.getLogger(__name__)) as notary:
        return sum(_sign_if_course(notary, nbformat, dest, rel, files, updates) for rel in names)


def _sign_if_course(notary, nbformat, dest: Path, rel: str, files: dict, updates: dict) -> bool:
    """Sign ``dest/rel`` if it holds the course's content (see ``trust_course_notebooks``)."""
    path = dest / rel
    if path.is_symlink() or not path.is_file():
        return False
    data = path.read_bytes()
    entry = files.get(rel)
    if entry is not None:
        if not _Digest.of(data, rel).same_content(_Digest(entry["sha256"], entry["content"])):
            return False  # the student's version
    elif _bytes_sha(data) != updates.get(rel):
        return False  # an update beside a student's file, since changed by the student
    try:
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
    except Exception:  # noqa: BLE001 - a damaged notebook is simply not signed
        return False
    if not notary.check_signature(nb):
        notary.sign(nb)
    return True


def _write_update(dest: Path, rel: str, data: bytes, updates: dict[str, str]) -> str | None:
    """Write the course's version of ``rel`` beside your changed copy; returns its path.

    The name is ``update_name(rel)``; one sync wrote before is refreshed, unless you changed
    it since (then the next free ``-2``, ``-3``, ... name is used)."""
    for n in range(1, 100):
        beside = update_name(rel, n)
        try:
            path = _target(dest, beside)
        except WorkspaceError:
            return None
        if path.is_symlink() or (path.exists() and not path.is_file()):
            continue
        if path.exists() and _bytes_sha(path.read_bytes()) != updates.get(beside):
            continue  # not ours as written: yours now
        _write_atomically(path, data)
        updates[beside] = _bytes_sha(data)
        return beside
    return None


def _drop_update(dest: Path, rel: str, course: _Digest, updates: dict, report: SyncReport):
    """Your file is the course's version again: the update files sync wrote beside it, when
    unchanged and equal to it, are no longer needed and go."""
    for beside in [b for b in updates if _is_update_of(b, rel)]:
        try:
            path = _target(dest, beside)
        except WorkspaceError:
            continue
        if not path.exists():
            del updates[beside]
            continue
        if path.is_symlink() or not path.is_file():
            continue
        sha = _bytes_sha(path.read_bytes())
        if sha == updates[beside] and sha == course.sha256:
            path.unlink()
            del updates[beside]
            report.removed_updates.append(beside)


def _is_update_of(beside: str, rel: str) -> bool:
    return any(beside == update_name(rel, n) for n in range(1, 100))


# ------------------------------------------------------------------------------ command line


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 done, 1 refused)."""
    parser = argparse.ArgumentParser(
        prog="python -m course_lib.workspace",
        description="Keep your working copy of the course (work/) up to date without losing "
        "your edits.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser(
        "sync",
        help="copy new and updated course notebooks into your working copy",
        description="Copy the course's notebooks/ and exercises/ into your working copy: new "
        "and untouched files follow the course, files you changed are kept (the course's new "
        "version goes beside them), files you deleted come back.",
    )
    p.add_argument(
        "--dest",
        default=DEFAULT_DEST,
        help=f"the working copy, relative to the course folder (default: {DEFAULT_DEST})",
    )
    p.add_argument("--root", default=None, help="the course folder (default: found from here)")
    p.add_argument("--quiet", action="store_true", help="print only the summary line")
    p.add_argument(
        "--no-trust",
        action="store_true",
        help="do not mark the course's notebooks as trusted (their saved widgets then show as "
        "still pictures until you run them)",
    )
    args = parser.parse_args(argv)
    try:
        report = sync(args.root, args.dest, trust=not args.no_trust)
    except WorkspaceError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    lines = report.lines()
    if args.quiet:
        lines = [line for line in lines if line.startswith(("sync ", "warning:", "kept "))]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
