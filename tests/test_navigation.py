"""The way through the course: the start page, the nav cells, and every link in every notebook."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import navigation  # noqa: E402

NOTEBOOKS = sorted(
    p for folder in ("notebooks", "solutions", "exercises") for p in (ROOT / folder).glob("*.ipynb")
)
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _markdown(path: Path) -> list[str]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]


def test_start_page_and_nav_cells_are_up_to_date():
    stale = [p for p, text in navigation.plan().items() if p.read_text(encoding="utf-8") != text]
    assert not stale, (
        f"out of date: {[str(p.relative_to(ROOT)) for p in stale]}; run "
        "python scripts/navigation.py, then python -m course_lib.instructor.exercises"
    )


def test_start_page_links_every_lecture_and_its_exercises():
    text = "\n".join(_markdown(ROOT / "notebooks" / "00_start_here.ipynb"))
    lectures = sorted(p.name for p in (ROOT / "notebooks").glob("ch*.ipynb"))
    assert [e.stem + ".ipynb" for e in navigation.COURSE] == lectures, "COURSE lists every lecture"
    for name in lectures:
        assert f"]({name})" in text, f"the start page does not link {name}"
        exercise = name.replace(".ipynb", "_exercises.ipynb")
        assert f"](../exercises/{exercise})" in text, "the start page does not link its exercises"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_relative_link_resolves(path: Path):
    broken = []
    for text in _markdown(path):
        for target in LINK.findall(text):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue  # a web address or an anchor in the same notebook
            if not (path.parent / target.split("#")[0]).resolve().exists():
                broken.append(target)
    assert not broken, f"{path.relative_to(ROOT)} links to missing files: {broken}"


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p.stem != "00_start_here"], ids=str)
def test_each_notebook_opens_with_where_it_sits_and_ends_with_what_next(path: Path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    first, last = nb["cells"][0], nb["cells"][-1]
    for cell in (first, last):
        assert navigation.NAV_TAG in cell["metadata"].get("tags", []), path.name
    assert "Course map" in "".join(first["source"])
    assert "**Next:**" in "".join(last["source"]) or "last notebook" in "".join(last["source"])


def test_code_spans_become_links_once():
    once = navigation.link_code_spans(
        "see `ch07a_rnn_basics` and `exercises/ch01_perceptron_exercises.ipynb`", "lecture"
    )
    assert once == (
        "see [`ch07a_rnn_basics`](ch07a_rnn_basics.ipynb) and "
        "[`exercises/ch01_perceptron_exercises.ipynb`](../exercises/ch01_perceptron_exercises.ipynb)"
    )
    # the exercises' name before they got the suffix is linked under the new name
    assert navigation.link_code_spans("`exercises/ch01_perceptron.ipynb`", "lecture") == (
        "[`exercises/ch01_perceptron_exercises.ipynb`](../exercises/ch01_perceptron_exercises.ipynb)"
    )
    assert navigation.link_code_spans(once, "lecture") == once  # idempotent
    assert "../notebooks/ch07a" in navigation.link_code_spans("`ch07a_rnn_basics`", "solution")


def test_the_gap_in_the_chapters_is_explained(monkeypatch):
    # every chapter of the book is in the course: no footer and no start page speaks of a gap
    stems = [e.stem for e in navigation.COURSE]
    assert sorted({e.chapter for e in navigation.COURSE}) == list(range(1, 11))
    for i in range(len(stems)):
        assert "not in the course yet" not in navigation.footer(i, "lecture")
    assert "still being written" not in json.dumps(navigation.start_page())
    # a chapter taken out again would be named where the notebooks jump over it
    monkeypatch.setattr(navigation, "COURSE", tuple(e for e in navigation.COURSE if e.chapter != 9))
    monkeypatch.setattr(navigation, "COMING", ((9, "Deep reinforcement learning", "later"),))
    j = max(i for i, e in enumerate(navigation.COURSE) if e.chapter == 8)  # chapter 8's last
    assert "chapter 9 is not in the course yet" in navigation.footer(j, "lecture")
    assert "not in the course yet" not in navigation.footer(j - 1, "lecture")
    assert "Chapter 9: Deep reinforcement learning" in json.dumps(navigation.start_page())
