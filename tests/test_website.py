"""The website builder (scripts/website.py) without a browser: which pages, how a notebook's
widgets and links become a page's, and that it never deletes a folder it did not make.
e2e/test_site.py opens the built site in Chromium."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import navigation  # noqa: E402
import website  # noqa: E402

VIEW = website.WIDGET_VIEW


def test_pages_follow_the_course_and_keep_solutions_off_by_default():
    pages = website.pages()
    assert pages[0].out == "index.html" and pages[0].source == "notebooks/00_start_here.ipynb"
    assert [p.kind for p in pages[1:3]] == ["lecture", "exercises"]
    assert len(pages) == 1 + 2 * len(navigation.COURSE)
    assert not any(p.kind == "solutions" or p.source.startswith("solutions/") for p in pages)
    assert [p.entry.stem for p in pages if p.kind == "lecture"] == [
        e.stem for e in navigation.COURSE
    ]
    with_solutions = website.pages(solutions=True)
    assert len(with_solutions) == 1 + 3 * len(navigation.COURSE)
    assert [p.kind for p in with_solutions[1:4]] == ["lecture", "exercises", "solutions"]
    for p in with_solutions:
        assert (ROOT / p.source).is_file(), p.source
        assert p.out.endswith(".html") and Path(p.out).stem in (Path(p.source).stem, "index")


def _nb_with(*outputs) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("demo")
    cell.outputs = [nbformat.v4.new_output("display_data", data=d, metadata=m) for d, m in outputs]
    nb.cells = [cell]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    return nb


def test_an_interactive_figure_becomes_its_saved_picture():
    view = {"model_id": "abc", "version_major": 2, "version_minor": 0}
    nb = _nb_with(
        (
            {VIEW: view, "image/png": "iVBOR", "text/plain": "(an interactive figure)"},
            {"image/png": {"alt": "a bowl"}},
        ),
        ({VIEW: view, "text/plain": "LeNet: 20 epochs, loss <0.007> & more"}, {}),
    )
    out = website.prepare(nb)
    fig, bar = out.cells[0].outputs
    assert VIEW not in fig.data and fig.data["image/png"] == "iVBOR"
    assert fig.metadata["image/png"] == {"alt": "a bowl", "course_interactive": True}
    assert set(bar.data) == {"text/html"}
    assert (
        bar.data["text/html"]
        == '<p class="course-widget-text">LeNet: 20 epochs, loss &lt;0.007&gt; &amp; more</p>'
    )
    assert "widgets" not in out.metadata
    # the notebook itself is not changed
    assert VIEW in nb.cells[0].outputs[0].data and "widgets" in nb.metadata


def test_a_widget_with_nothing_to_show_is_an_error():
    nb = _nb_with(({VIEW: {"model_id": "abc"}, "text/plain": "  "}, {}))
    with pytest.raises(ValueError, match="neither a picture nor a sentence"):
        website.prepare(nb)


def _links(page_out: str, hrefs: list[str], *, solutions: bool = False) -> list[str]:
    pages = website.pages(solutions=solutions)
    page = next(p for p in pages if p.out == page_out)
    soup = BeautifulSoup("".join(f'<a href="{h}">x</a>' for h in hrefs), "html.parser")
    website._rewrite_links(soup, page, {p.source: p for p in pages})
    # each link's new href, or "text" where it became plain text
    return [a["href"] if getattr(a, "name", None) == "a" else "text" for a in soup.contents]


def test_links_between_notebooks_become_links_between_pages():
    got = _links(
        "notebooks/ch01_perceptron.html",
        [
            "ch02a_shallow_models.ipynb#1.-One-neuron",
            "../exercises/ch01_perceptron_exercises.ipynb",
            "00_start_here.ipynb",
            "https://example.org/a.ipynb",
            "#section",
        ],
    )
    assert got == [
        "ch02a_shallow_models.html#1.-One-neuron",
        "../exercises/ch01_perceptron_exercises.html",
        "../index.html",
        "https://example.org/a.ipynb",
        "#section",
    ]
    assert _links(
        "index.html", ["ch01_perceptron.ipynb", "../exercises/ch01_perceptron_exercises.ipynb"]
    ) == [
        "notebooks/ch01_perceptron.html",
        "exercises/ch01_perceptron_exercises.html",
    ]


def test_a_link_to_an_unpublished_solution_becomes_text():
    assert _links(
        "exercises/ch01_perceptron_exercises.html", ["../solutions/ch01_perceptron.ipynb"]
    ) == ["text"]
    assert _links(
        "exercises/ch01_perceptron_exercises.html",
        ["../solutions/ch01_perceptron.ipynb"],
        solutions=True,
    ) == ["../solutions/ch01_perceptron.html"]


def test_a_link_to_a_notebook_that_is_no_page_is_an_error():
    with pytest.raises(ValueError, match="ch99_nothing.ipynb.*not a page"):
        _links("notebooks/ch01_perceptron.html", ["ch99_nothing.ipynb"])


def test_the_builder_never_deletes_a_folder_it_did_not_make(tmp_path: Path):
    mine = tmp_path / "work"
    mine.mkdir()
    (mine / "essay.md").write_text("my own work")
    with pytest.raises(SystemExit, match="did not write"):
        website._clear(mine)
    assert (mine / "essay.md").read_text() == "my own work"
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(SystemExit, match="is a file"):
        website._clear(a_file)
    # a folder it made (it has site.json), or a new one, is fine
    built = tmp_path / "site"
    (built / "notebooks").mkdir(parents=True)
    (built / website.MANIFEST).write_text("{}")
    (built / "notebooks" / "old.html").write_text("old")
    website._clear(built)
    assert list(built.iterdir()) == []
    website._clear(tmp_path / "new" / "site")
    assert (tmp_path / "new" / "site").is_dir()


def test_without_mathjax_the_build_says_to_run_make_site(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(website, "MATHJAX", tmp_path / "node_modules" / "mathjax")
    with pytest.raises(SystemExit, match="make site"):
        website.build(tmp_path / "site")


def test_a_page_shows_pictures_with_alt_text_and_widgets_without_state():
    pages = website.pages()
    page = next(p for p in pages if p.out == "notebooks/ch08b_cnn_training.html")
    body, files, search, title = website.render(page, pages, website._exporter())
    soup = BeautifulSoup(body, "html.parser")
    nb = nbformat.read(ROOT / page.source, as_version=4)
    alts = [
        o.metadata["image/png"]["alt"]
        for c in nb.cells
        for o in c.get("outputs", [])
        if "image/png" in o.get("data", {})
    ]
    imgs = soup.find_all("img")
    assert [i["alt"] for i in imgs] == alts and len(files) == len(alts)
    assert all(i["src"] in files for i in imgs)
    assert len(soup.select("figure.course-interactive figcaption")) == 1
    assert [p.get_text() for p in soup.select(".course-widget-text")] == [
        o.data["text/plain"]
        for c in nb.cells
        for o in c.get("outputs", [])
        if o.get("data", {}).keys() == {VIEW, "text/plain"}
    ]
    assert "widget-state" not in body and "widget-view" not in body and "require.js" not in body
    assert soup.select_one('a[aria-current="page"]')["href"] == "ch08b_cnn_training.html"
    assert soup.select_one("a[rel=prev]")["href"] == "../exercises/ch08a_convolution_exercises.html"
    assert (
        soup.select_one("a[rel=next]")["href"] == "../exercises/ch08b_cnn_training_exercises.html"
    )
    assert title.startswith("Chapter 8") and soup.title.get_text() == title
    assert (
        search[0]["u"].startswith("notebooks/ch08b_cnn_training.html#")
        and search[0]["t"] == page.label
    )


def test_jobs_must_be_at_least_one(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit):
        website.main(["--out", "unused", "--jobs", "0"])
    assert "--jobs must be at least 1, got 0" in capsys.readouterr().err
