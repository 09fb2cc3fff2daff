"""e2e/test_jupyterlab.py's choice of lectures: all of them, or (CI) one per chapter plus the
lectures whose widget is also checked in the kernel."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_SPEC = importlib.util.spec_from_file_location(
    "e2e_jupyterlab", ROOT / "e2e" / "test_jupyterlab.py"
)
browser = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(browser)


def test_all_is_every_lecture():
    assert browser.select(browser.LECTURES, "all") == browser.LECTURES
    assert len(browser.LECTURES) >= 30


def test_chapters_is_each_chapters_first_lecture_and_the_kernel_checked_ones():
    chosen = browser.select(browser.LECTURES, "chapters")
    chapters = sorted({p.stem[:4] for p in browser.LECTURES})
    assert sorted({p.stem[:4] for p in chosen}) == chapters, "a chapter left out"
    for ch in chapters:
        first = min(p for p in browser.LECTURES if p.stem.startswith(ch))
        assert first in chosen, first
    assert set(browser.KERNEL_CHECKS) <= {p.stem for p in chosen}
    assert chosen == sorted(chosen) and len(chosen) < len(browser.LECTURES)
    names = {p.stem for p in chosen}
    assert "ch02b_autoencoders_word2vec" in names and "ch02a_shallow_models" in names
    assert "ch10b_transformer" not in names


@pytest.mark.parametrize("bad", ["", "some", "chapter", "ALL"])
def test_an_unknown_scope_is_named(bad):
    with pytest.raises(
        ValueError, match=f"BROWSER_SCOPE: expected 'all' or 'chapters', got {bad!r}"
    ):
        browser.select(browser.LECTURES, bad)
