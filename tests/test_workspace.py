"""Tests for course_lib.workspace: the student's working copy work/, on course trees in tmp_path."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from course_lib import workspace
from course_lib.workspace import MANIFEST, WorkspaceError, sync, update_name

LECTURE = "notebooks/ch01_demo.ipynb"
EXERCISE = "exercises/ch01_demo.ipynb"


def notebook(source: str = "x = 1", output: str = "1\n", count: int = 1) -> str:
    """A small notebook's text: a markdown link to its exercise and one code cell with output."""
    code = new_code_cell(source, execution_count=count)
    code.outputs = [
        new_output("stream", name="stdout", text=output),
        new_output("execute_result", data={"text/plain": "'ok'"}, execution_count=count),
    ]
    link = new_markdown_cell("Exercises: [ch01](../exercises/ch01_demo.ipynb)")
    code.id, link.id = "code", "link"  # fixed, so that the same arguments give the same text
    return nbformat.writes(new_notebook(cells=[link, code])) + "\n"


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """``python -m course_lib.workspace ARGS`` in a child process, as make lab runs it (trusting
    the course's notebooks writes Jupyter's database: kept out of the test process)."""
    return subprocess.run(
        [sys.executable, "-m", "course_lib.workspace", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(autouse=True)
def _own_jupyter_data(tmp_path: Path, monkeypatch) -> None:
    """Signing (trust) writes Jupyter's notebook database: a test's own, never the user's."""
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter-data"))


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """A course with a lecture, its exercise and a data file in a subfolder."""
    root = tmp_path / "course"
    write(root / LECTURE, notebook())
    write(root / EXERCISE, notebook("def f():\n    raise NotImplementedError", ""))
    write(root / "notebooks" / "data" / "table.csv", "a,b\n1,2\n")
    return root


def test_first_sync_copies_the_course_with_its_layout(course: Path):
    report = sync(course)
    work = course / "work"
    for rel in (LECTURE, EXERCISE, "notebooks/data/table.csv"):
        assert (work / rel).read_bytes() == (course / rel).read_bytes(), rel
    assert sorted(report.copied) == sorted([LECTURE, EXERCISE, "notebooks/data/table.csv"])
    # the lecture's link ../exercises/... points at the working copy's exercise
    link = re.search(r"\]\(([^)]+)\)", (work / LECTURE).read_text()).group(1)
    assert ((work / LECTURE).parent / link).resolve() == (work / EXERCISE).resolve()
    manifest = json.loads((work / MANIFEST).read_text())
    assert set(manifest["files"]) == set(report.copied)
    assert report.summary() == "copied 3, updated 0, kept your edits in 0, restored 0"


def test_second_sync_changes_nothing(course: Path):
    sync(course)
    work = course / "work"
    before = {p: p.read_bytes() for p in work.rglob("*") if p.is_file()}
    stamps = {p: p.stat().st_mtime_ns for p in before}
    report = sync(course)
    assert (report.copied, report.updated, report.restored, report.kept) == ([], [], [], [])
    after = {p: p.read_bytes() for p in work.rglob("*") if p.is_file()}
    assert after == before
    assert {p: p.stat().st_mtime_ns for p in before if p.name != MANIFEST} == {
        p: t for p, t in stamps.items() if p.name != MANIFEST
    }, "a course file was rewritten though nothing changed"
    assert "already up to date" in report.lines()[-1]


def test_untouched_file_follows_the_course_and_new_files_appear(course: Path):
    sync(course)
    write(course / LECTURE, notebook("x = 2", "2\n"))
    write(course / "notebooks" / "ch02_new.ipynb", notebook("y = 3", "3\n"))
    report = sync(course)
    work = course / "work"
    assert report.updated == [LECTURE]
    assert report.copied == ["notebooks/ch02_new.ipynb"]
    assert (work / LECTURE).read_bytes() == (course / LECTURE).read_bytes()
    assert (work / "notebooks" / "ch02_new.ipynb").exists()
    assert not (work / update_name(LECTURE)).exists()


def test_a_resaved_notebook_still_counts_as_untouched(course: Path):
    """JupyterLab may re-save a notebook with other metadata or layout: not an edit."""
    sync(course)
    work = course / "work"
    nb = json.loads((work / LECTURE).read_text())
    nb["metadata"]["widgets"] = {"state": {}}
    nb["cells"][1]["execution_count"] = 7
    nb["cells"][1]["outputs"][1]["execution_count"] = 7
    (work / LECTURE).write_text(json.dumps(nb, indent=2))
    write(course / LECTURE, notebook("x = 2", "2\n"))
    report = sync(course)
    assert report.updated == [LECTURE] and report.kept == []
    assert (work / LECTURE).read_bytes() == (course / LECTURE).read_bytes()


def test_edited_file_is_kept_and_the_update_goes_beside_it(course: Path):
    sync(course)
    work = course / "work"
    mine = notebook("x = 1  # my note", "1\n")
    write(work / LECTURE, mine)
    write(course / LECTURE, notebook("x = 2", "2\n"))
    done = run_cli("sync", "--root", str(course))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    beside = work / "notebooks" / "ch01_demo.course-update.ipynb"
    assert (work / LECTURE).read_text() == mine, "the student's edits were overwritten"
    assert beside.read_bytes() == (course / LECTURE).read_bytes()
    assert "kept your edits: work/notebooks/ch01_demo.ipynb" in out
    assert "work/notebooks/ch01_demo.course-update.ipynb" in out
    assert "copied 0, updated 0, kept your edits in 1, restored 0" in out

    # a later course update refreshes the file beside; the student's file is still untouched
    write(course / LECTURE, notebook("x = 3", "3\n"))
    report = sync(course)
    assert [p for p, _ in report.kept] == [LECTURE]
    assert beside.read_bytes() == (course / LECTURE).read_bytes()
    assert (work / LECTURE).read_text() == mine

    # no course update: the edit is counted, nothing is written
    report = sync(course)
    assert report.kept == [] and report.edited == [LECTURE]
    assert (work / LECTURE).read_text() == mine


def test_run_only_change_outputs_is_kept(course: Path):
    sync(course)
    work = course / "work"
    ran = notebook("x = 1", "1.0000001\n")  # same code, another output
    write(work / LECTURE, ran)
    write(course / LECTURE, notebook("x = 2", "2\n"))
    report = sync(course)
    assert [p for p, _ in report.kept] == [LECTURE]
    assert (work / LECTURE).read_text() == ran


def test_an_update_file_the_student_edited_is_not_overwritten(course: Path):
    sync(course)
    work = course / "work"
    write(work / LECTURE, notebook("mine", "1\n"))
    write(course / LECTURE, notebook("x = 2", "2\n"))
    sync(course)
    beside = work / update_name(LECTURE)
    write(beside, notebook("merged by hand", ""))
    write(course / LECTURE, notebook("x = 3", "3\n"))
    report = sync(course)
    assert beside.read_text() == notebook("merged by hand", "")
    assert report.kept == [(LECTURE, "work/" + update_name(LECTURE, 2))]
    assert (work / update_name(LECTURE, 2)).read_bytes() == (course / LECTURE).read_bytes()


def test_deleted_file_is_restored_and_its_update_file_goes(course: Path):
    sync(course)
    work = course / "work"
    write(work / LECTURE, notebook("mine", "1\n"))
    write(course / LECTURE, notebook("x = 2", "2\n"))
    sync(course)
    assert (work / update_name(LECTURE)).exists()
    (work / LECTURE).unlink()  # "give me a fresh copy"
    (work / EXERCISE).unlink()
    report = sync(course)
    assert sorted(report.restored) == sorted([LECTURE, EXERCISE])
    assert (work / LECTURE).read_bytes() == (course / LECTURE).read_bytes()
    assert (work / EXERCISE).read_bytes() == (course / EXERCISE).read_bytes()
    assert not (work / update_name(LECTURE)).exists()
    assert report.removed_updates == [update_name(LECTURE)]


def test_students_own_files_are_left_alone(course: Path):
    sync(course)
    work = course / "work"
    own = {
        "notebooks/Untitled.ipynb": notebook("my own", "x\n"),
        "notes.txt": "my notes\n",
        "exercises/scratch/try.py": "print(1)\n",
    }
    for rel, text in own.items():
        write(work / rel, text)
    write(course / LECTURE, notebook("x = 2", "2\n"))
    report = sync(course)
    assert report.updated == [LECTURE]
    for rel, text in own.items():
        assert (work / rel).read_text() == text, rel
    assert not set(own) & set(json.loads((work / MANIFEST).read_text())["files"])


def test_a_student_file_where_a_new_course_file_lands_is_kept(course: Path):
    sync(course)
    work = course / "work"
    write(work / "notebooks" / "ch02_new.ipynb", notebook("the student's", "s\n"))
    write(course / "notebooks" / "ch02_new.ipynb", notebook("the course's", "c\n"))
    report = sync(course)
    assert report.kept == [
        ("notebooks/ch02_new.ipynb", "work/notebooks/ch02_new.course-update.ipynb")
    ]
    assert (work / "notebooks" / "ch02_new.ipynb").read_text() == notebook("the student's", "s\n")


def test_a_file_the_course_dropped_stays(course: Path):
    sync(course)
    (course / EXERCISE).unlink()
    report = sync(course)
    assert report.retired == [EXERCISE]
    assert (course / "work" / EXERCISE).exists()
    assert EXERCISE not in json.loads((course / "work" / MANIFEST).read_text())["files"]


@pytest.mark.parametrize(
    "dest, why",
    [
        ("notebooks", "inside the course's notebooks/"),
        ("exercises/mine", "inside the course's exercises/"),
        (".", "the course folder itself"),
        ("notes.txt", "is a file"),
    ],
)
def test_bad_dest_is_refused_with_a_clear_error(course: Path, dest: str, why: str):
    write(course / "notes.txt", "x\n")
    before = sorted(p.relative_to(course) for p in course.rglob("*"))
    with pytest.raises(WorkspaceError, match=re.escape(why)):
        sync(course, dest)
    done = run_cli("sync", "--root", str(course), "--dest", dest)
    assert done.returncode == 1
    err = done.stderr
    assert err.startswith("error: --dest") and "Traceback" not in err
    assert sorted(p.relative_to(course) for p in course.rglob("*")) == before


def test_dest_through_a_symlink_into_the_course_is_refused(course: Path):
    (course / "work").symlink_to(course / "notebooks", target_is_directory=True)
    with pytest.raises(WorkspaceError, match="inside the course's notebooks/"):
        sync(course)


def test_never_writes_through_a_symlink_out_of_the_working_copy(course: Path, tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    work = course / "work"
    work.mkdir()
    (work / "notebooks").symlink_to(outside, target_is_directory=True)
    report = sync(course)
    assert list(outside.iterdir()) == [], "sync wrote outside the working copy"
    assert {p for p, _ in report.skipped} == {LECTURE, "notebooks/data/table.csv"}
    assert (work / EXERCISE).exists()
    (work / "notebooks").unlink()
    (work / "notebooks").mkdir()
    (work / LECTURE).symlink_to(outside / "x.ipynb")
    report = sync(course)
    assert LECTURE in {p for p, _ in report.skipped}
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("damage", ["{not json", '{"version": 1}', '{"version": 1, "files": [1]}'])
def test_a_damaged_manifest_is_set_aside_and_nothing_is_lost(course: Path, damage: str):
    sync(course)
    work = course / "work"
    mine = notebook("mine", "1\n")
    write(work / LECTURE, mine)
    (work / MANIFEST).write_text(damage)
    write(course / LECTURE, notebook("x = 2", "2\n"))
    (work / EXERCISE).unlink()
    done = run_cli("sync", "--root", str(course))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("warning: work/.course-sync.json") and "Nothing was deleted" in out
    assert "Traceback" not in out
    (aside,) = work.glob(f"{MANIFEST}.damaged-*")
    assert aside.read_text() == damage
    assert (work / LECTURE).read_text() == mine
    assert (work / update_name(LECTURE)).read_bytes() == (course / LECTURE).read_bytes()
    assert (work / EXERCISE).exists()
    assert json.loads((work / MANIFEST).read_text())["version"] == workspace.MANIFEST_VERSION


def test_writes_are_atomic_and_leave_no_temporary_files(course: Path, monkeypatch):
    sync(course)
    write(course / LECTURE, notebook("x = 2", "2\n"))

    def fail(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        sync(course)
    work = course / "work"
    assert (work / LECTURE).read_text() == notebook(), "a half-written file replaced the old one"
    assert not [p for p in work.rglob("*.tmp")]


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        check=True,
        capture_output=True,
    )


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_changes_made_in_the_course_folder_move_to_work_and_stay_yours(course: Path):
    """A notebook run in place in notebooks/ (before work/ existed): its changes go to work/ as
    the student's edit, and survive restoring the course copy and a course update."""
    git(course, "init", "-q")
    git(course, "add", "notebooks", "exercises")
    git(course, "commit", "-q", "-m", "course v1")
    ran = notebook("x = 1", "ran in place\n")
    write(course / LECTURE, ran)
    done = run_cli("sync", "--root", str(course))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    work = course / "work"
    assert (work / LECTURE).read_text() == ran
    assert f"copied your changes made in the course folder: {LECTURE} -> work/{LECTURE}" in out
    assert f"git checkout -- {LECTURE}" in out
    git(course, "checkout", "--", LECTURE)  # as the message says
    write(course / LECTURE, notebook("x = 2", "2\n"))
    git(course, "commit", "-q", "-am", "course v2")  # stands for git pull
    report = sync(course)
    assert (work / LECTURE).read_text() == ran, "the student's run was lost"
    assert report.kept == [(LECTURE, "work/" + update_name(LECTURE))]
    # changed in the course folder again, while work/ has its own copy: only a note
    write(course / LECTURE, notebook("x = 1", "again\n"))
    report = sync(course)
    assert report.moved_not == [LECTURE] and (work / LECTURE).read_text() == ran
    assert any(line.startswith(f"note: {LECTURE} is changed") for line in report.lines())


def test_update_name():
    assert update_name("notebooks/ch01.ipynb") == "notebooks/ch01.course-update.ipynb"
    assert update_name("notebooks/ch01.ipynb", 2) == "notebooks/ch01.course-update-2.ipynb"
    assert update_name("a/b/README") == "a/b/README.course-update"
    assert update_name("x.tar.gz") == "x.tar.course-update.gz"


def test_course_files_skip_checkpoints_backups_and_updates(course: Path):
    write(course / "notebooks" / ".ipynb_checkpoints" / "ch01_demo-checkpoint.ipynb", "{}")
    write(course / "exercises" / "ch01_demo.ipynb.bak-20250101-000000", "{}")
    write(course / "notebooks" / "ch01_demo.course-update.ipynb", "{}")
    assert workspace.course_files(course) == [
        EXERCISE,
        LECTURE,
        "notebooks/data/table.csv",
    ]


def broken_links(work: Path, rels: list[str]) -> list[str]:
    """Relative links (markdown or href) in the notebooks ``rels`` of ``work`` that lead nowhere."""
    broken = []
    for rel in rels:
        if not rel.endswith(".ipynb"):
            continue
        for cell in json.loads((work / rel).read_text())["cells"]:
            if cell["cell_type"] != "markdown":
                continue
            text = "".join(cell["source"])
            targets = re.findall(r"\]\(<?([^)\s>]+)>?\)", text)
            targets += re.findall(r'href="([^"]+)"', text)
            for target in targets:
                if re.match(r"[a-z]+:|#", target):
                    continue
                if not ((work / rel).parent / target.split("#")[0]).resolve().exists():
                    broken.append(f"{rel}: {target}")
    return broken


def test_broken_links_finds_a_link_out_of_the_working_copy(course: Path):
    write(course / "notebooks" / "ch02.ipynb", notebook().replace("../exercises/", "../solutions/"))
    report = sync(course)
    assert broken_links(course / "work", report.copied) == [
        "notebooks/ch02.ipynb: ../solutions/ch01_demo.ipynb"
    ]


def test_the_real_course_syncs_and_its_links_resolve_in_the_working_copy(tmp_path: Path):
    """Every relative link in the course's notebooks reaches a file of the working copy."""
    root = Path(__file__).resolve().parents[1]
    report = sync(root, tmp_path / "work")
    assert report.copied and not (report.kept or report.skipped)
    broken = broken_links(tmp_path / "work", report.copied + report.moved)
    assert not broken, f"links that do not resolve in work/: {broken}"


def test_trust_signs_the_course_notebooks_and_not_the_students(course: Path):
    """JupyterLab shows saved widgets only in trusted notebooks: sync signs the course's own."""
    sync(course)
    work = course / "work"
    write(work / EXERCISE, notebook("def f():\n    return 42", "42\n"))  # the student's answer
    assert not sync(course).trusted  # the default (and every other test) signs nothing
    done = run_cli("sync", "--root", str(course))  # the command line trusts
    assert done.returncode == 0, done.stderr
    check = (
        "import sys, nbformat\n"
        "from nbformat.sign import NotebookNotary\n"
        "with NotebookNotary() as n:\n"
        "    print([n.check_signature(nbformat.read(p, as_version=4)) for p in sys.argv[1:]])\n"
    )
    signed = subprocess.run(
        [sys.executable, "-c", check, str(work / LECTURE), str(work / EXERCISE)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert signed == "[True, False]", signed
