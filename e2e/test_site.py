"""The course website (``make site``, scripts/website.py) in a real browser.

The built site (``build/site``, or ``$SITE_DIR``) is served on a free loopback port and every page
is opened in headless Chromium with every request outside the site blocked. Each page must load
with no console error and no failed, refused or blocked request; its math must be typeset
(no ``$...$`` left in the prose, no MathJax error); every image must load and say in words what it
shows; every interactive figure must show its saved picture and a caption, never a repr or an
empty box; its headings must go down one level at a time from a single ``h1``; every link inside
the site must reach a page, and an ``#anchor`` an element of it; and axe-core
(``site/node_modules/axe-core``) must find no serious or critical accessibility violation.
Screenshots go to ``build/screenshots/site/``, axe's findings (all impacts) to
``build/site_audit.md``.

    make site-test                      # builds the site first
    .venv/bin/python -m pytest e2e/test_site.py -n 2
"""

from __future__ import annotations

import functools
import json
import os
import re
import sys
import threading
import urllib.parse
import urllib.request
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import website as builder  # noqa: E402

SITE = Path(os.environ.get("SITE_DIR", builder.OUT))
SHOTS = ROOT / "build" / "screenshots" / "site"
AUDIT = ROOT / "build" / "site_audit"
AXE = builder.SITE_SRC / "node_modules" / "axe-core" / "axe.min.js"
WIDGET_VIEW = builder.WIDGET_VIEW


def _manifest() -> dict:
    path = SITE / builder.MANIFEST
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


MANIFEST = _manifest()
PAGES = builder.pages(solutions=bool(MANIFEST.get("solutions")))


def _need_site() -> None:
    if not MANIFEST or MANIFEST.get("building"):
        pytest.fail(f"no finished site in {SITE}: run `make site` first (make site-test does)")
    if not AXE.is_file():
        pytest.fail(
            f"axe-core is not installed ({AXE}): run `make site`, which runs npm ci in site/"
        )


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def base_url():
    _need_site()
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(SITE)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


class Visit:
    """A page opened with every request outside the site blocked and every problem recorded."""

    def __init__(self, browser, base: str, *, width: int = 1400, height: int = 1000):
        self.base = base
        self.problems: list[str] = []
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on(
            "console",
            lambda m: m.type == "error" and self.problems.append(f"console error: {m.text}"),
        )
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on(
            "requestfailed",
            lambda r: self.problems.append(f"failed request: {r.url} ({r.failure})"),
        )
        self.page.on(
            "response",
            lambda r: r.status >= 400 and self.problems.append(f"HTTP {r.status}: {r.url}"),
        )

    def _route(self, route) -> None:
        url = route.request.url
        if url.startswith(self.base) or url.startswith("data:"):
            route.continue_()
        else:
            self.problems.append(f"blocked request outside the site: {url}")
            route.abort()

    def open(self, path: str) -> None:
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        self.page.goto(self.base + path, wait_until="load")
        try:
            self.page.wait_for_function(
                "() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=15_000
            )
        except PlaywrightTimeout:
            pytest.fail(f"MathJax did not start on {path}: " + "; ".join(self.problems))
        self.page.evaluate("() => MathJax.startup.promise.then(() => true)")

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def visit(browser, base_url):
    opened: list[Visit] = []

    def make(**kw) -> Visit:
        v = Visit(browser, base_url, **kw)
        opened.append(v)
        return v

    yield make
    for v in opened:
        v.close()


# ---------------------------------------------------------------------------- what a page holds


def _expected(page) -> dict:
    """From the page's notebook: whether it has math, how many pictures and interactive figures."""
    nb = nbformat.read(ROOT / page.source, as_version=4)
    math = any(cell.cell_type == "markdown" and "$" in cell.source for cell in nb.cells)
    images = interactive = 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "image/png" in data:
                images += 1
                interactive += WIDGET_VIEW in data
    return {"math": math, "images": images, "interactive": interactive}


_IDS: dict[str, set[str]] = {}


def _ids(rel: str) -> set[str]:
    if rel not in _IDS:
        soup = BeautifulSoup((SITE / rel).read_text(encoding="utf-8"), "html.parser")
        _IDS[rel] = {el["id"] for el in soup.find_all(id=True)}
    return _IDS[rel]


_PAGE_STATE = """() => {
  const main = document.querySelector('main');
  const skip = (n) => n.parentElement.closest('code, pre, mjx-container, script, style');
  const leftovers = [];
  for (const md of document.querySelectorAll('.jp-RenderedMarkdown')) {
    const walker = document.createTreeWalker(md, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const t = n.textContent;
      if (!skip(n) && /\\$[^$]+\\$|\\\\\\(|\\\\\\[/.test(t)) leftovers.push(t.slice(0, 80));
    }
  }
  return {
    math: document.querySelectorAll('mjx-container').length,
    mathErrors: document.querySelectorAll('mjx-merror').length,
    leftovers: leftovers.slice(0, 5),
    images: [...document.querySelectorAll('img')].map((i) => ({
      src: i.getAttribute('src'),
      ok: i.complete && i.naturalWidth > 0,
      alt: (i.getAttribute('alt') || '').trim()})),
    interactive: [...document.querySelectorAll('.course-interactive')].map((f) => ({
      img: !!f.querySelector('img'),
      caption: (f.querySelector('figcaption') || {}).textContent || ''})),
    headings: [...main.querySelectorAll('h1, h2, h3, h4, h5, h6')].map(
      (h) => [Number(h.tagName[1]), h.textContent.trim().slice(0, 60)]),
    links: [...document.querySelectorAll('a[href]')].map((a) => a.href),
    text: main.innerText,
    widgetScripts: document.querySelectorAll('script[type*="jupyter.widget"]').length,
  };
}"""

# What a notebook front end prints when it cannot draw a widget or an object: never on the site.
REPR = re.compile(
    r"<[\w.]+ object at 0x|\b(?:Demo|Output|HBox|VBox|IntSlider|FloatSlider|interactive|Frame)\(|"
    r"Loading widget|application/vnd\.jupyter|Error displaying widget"
)


def _audit(v: Visit, page) -> list[dict]:
    v.page.add_script_tag(path=str(AXE))
    result = v.page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    violations = [
        {
            "id": x["id"],
            "impact": x["impact"],
            "help": x["help"],
            "nodes": len(x["nodes"]),
            "targets": [n["target"] for n in x["nodes"][:3]],
        }
        for x in result["violations"]
    ]
    AUDIT.mkdir(parents=True, exist_ok=True)
    (AUDIT / (page.out.replace("/", "__") + ".json")).write_text(
        json.dumps(
            {"page": page.out, "violations": violations, "passes": len(result.get("passes", []))}
        ),
        encoding="utf-8",
    )
    return violations


# ---------------------------------------------------------------------------- tests


def test_the_site_is_built_from_the_notebooks_as_they_are():
    """site.json lists every page, each notebook to download is the committed one (a stale site
    fails here), and the solutions are on the site only when it was built with them."""
    _need_site()
    assert [p["page"] for p in MANIFEST["pages"]] == [p.out for p in PAGES]
    for page in PAGES:
        assert (SITE / page.out).is_file(), page.out
        if page.kind != "start":
            copy = SITE / Path(page.out).parent / Path(page.source).name
            assert copy.read_bytes() == (ROOT / page.source).read_bytes(), (
                f"{copy} differs from {page.source}: the site is stale, run `make site`"
            )
            nbformat.validate(nbformat.read(copy, as_version=4))
    assert (SITE / "solutions").exists() == bool(MANIFEST["solutions"])
    # Nothing on any page asks another host for anything (the browser test below proves it too).
    for html_file in SITE.rglob("*.html"):
        soup = BeautifulSoup(html_file.read_text(encoding="utf-8"), "html.parser")
        for el in soup.find_all(["script", "link", "img", "iframe", "source"]):
            url = el.get("src") or el.get("href") or ""
            assert not re.match(r"^(https?:)?//", url), f"{html_file.relative_to(SITE)} loads {url}"


@pytest.mark.parametrize("page", PAGES, ids=[p.out for p in PAGES])
def test_page(page, visit):
    expected = _expected(page)
    v = visit()
    v.open(page.out)
    state = v.page.evaluate(_PAGE_STATE)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = page.out.replace("/", "__").removesuffix(".html")
    v.page.screenshot(path=str(SHOTS / f"{shot}.png"))
    figure = v.page.query_selector(".course-interactive")
    if figure is not None:
        figure.scroll_into_view_if_needed()
        v.page.screenshot(path=str(SHOTS / f"{shot}-figure.png"))

    # math
    if expected["math"]:
        assert state["math"] > 0, "the notebook has math and none was typeset"
    assert state["mathErrors"] == 0, f"{state['mathErrors']} MathJax errors"
    assert not state["leftovers"], f"TeX left untypeset: {state['leftovers']}"
    # pictures
    assert len(state["images"]) == expected["images"], (state["images"], expected)
    for img in state["images"]:
        assert img["ok"], f"image did not load: {img['src']}"
        assert len(img["alt"]) >= 20, (
            f"image without alt text that says what it shows: {img['src']}"
        )
    # interactive figures: the saved picture and a caption; no widget, no repr
    assert len(state["interactive"]) == expected["interactive"]
    for fig in state["interactive"]:
        assert fig["img"] and "run it to move its controls" in fig["caption"], fig
    assert state["widgetScripts"] == 0
    assert not REPR.search(state["text"]), REPR.search(state["text"]).group(0)
    # headings: one h1 first, then never a level skipped on the way down
    levels = [lvl for lvl, _ in state["headings"]]
    assert levels and levels[0] == 1 and levels.count(1) == 1, state["headings"][:5]
    for (a, ta), (b, tb) in zip(state["headings"], state["headings"][1:], strict=False):
        assert b <= a + 1, f"heading h{b} {tb!r} follows h{a} {ta!r}"
    # links inside the site reach a page, and their anchors an element of it
    for href in sorted(set(state["links"])):
        if not href.startswith(v.base):
            continue
        path, _, frag = href[len(v.base) :].partition("#")
        path = urllib.parse.unquote(path) or "index.html"
        target = SITE / path
        assert target.is_file(), f"broken link: {href}"
        if frag and path.endswith(".html"):
            # the browser tries the fragment as written, then percent-decoded
            ids = _ids(path)
            assert frag in ids or urllib.parse.unquote(frag) in ids, f"no #{frag} on {path}"
    # accessibility
    violations = _audit(v, page)
    bad = [x for x in violations if x["impact"] in ("serious", "critical")]
    assert not bad, json.dumps(bad, indent=1)
    assert not v.problems, "\n".join(v.problems)


def test_search_finds_a_section_and_goes_there(visit):
    v = visit()
    v.open("index.html")
    v.page.fill("#course-search-input", "momentum nesterov")
    hits = v.page.locator("#course-search-results a")
    assert hits.count() > 0
    assert any(
        "ch03b_optimizers.html" in (hits.nth(i).get_attribute("href") or "")
        for i in range(hits.count())
    )
    v.page.fill("#course-search-input", "qwxzzy")
    assert "Nothing found" in v.page.inner_text("#course-search-results")
    v.page.fill("#course-search-input", "Nesterov")
    first = hits.first.get_attribute("href")
    v.page.press("#course-search-input", "Enter")
    v.page.wait_for_load_state("load")
    assert v.page.url.split("#")[0].endswith(first.split("#")[0].lstrip("./"))
    assert not v.problems, "\n".join(v.problems)


def test_a_phone_sized_screen_opens_the_contents(visit):
    v = visit(width=390, height=844)
    v.open("notebooks/ch03b_optimizers.html")
    sidebar = v.page.locator("#course-sidebar")
    button = v.page.locator(".course-menu")
    assert not sidebar.is_visible() and button.is_visible()
    button.click()
    assert sidebar.is_visible() and button.get_attribute("aria-expanded") == "true"
    assert v.page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1"), (
        "the page scrolls sideways on a phone"
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    v.page.screenshot(path=str(SHOTS / "phone-contents.png"))
    button.click()
    assert not sidebar.is_visible()
    v.page.screenshot(path=str(SHOTS / "phone-ch03b.png"))
    assert not v.problems, "\n".join(v.problems)
