"""The course as a static website, built offline from the committed, executed notebooks.

    .venv/bin/python scripts/website.py              # build/site/: start page, lectures, exercises
    .venv/bin/python scripts/website.py --solutions  # the solutions too (a private build)
    .venv/bin/python scripts/website.py --out DIR    # somewhere else

``make site`` (``make site SOLUTIONS=1``) installs the JavaScript first (``npm ci`` in ``site/``,
from ``site/package-lock.json``) and then runs this. What comes out:

- ``index.html``, the start page (``notebooks/00_start_here.ipynb``);
- ``notebooks/<lecture>.html`` and ``exercises/<name>_exercises.html``, each with its notebook
  beside it to download, and with ``--solutions`` ``solutions/<lecture>.html``; solutions stay
  off a published site by default, because instructors grade those exercises;
- ``_static/``: JupyterLab's stylesheet (from nbconvert), the site's own CSS and JavaScript
  (``site/static/``), a search index, and MathJax 3 (from ``site/node_modules``), so that a page
  asks nothing of any other host;
- ``site.json``: what was built (the pages, whether solutions are in).

Each page is nbconvert's JupyterLab template (``site/templates/course``) with a sidebar (the
course in order), previous and next links and a search box around it. Links between notebooks
(``ch02a_shallow_models.ipynb``, ``../exercises/...``) become links between pages; a link to a
solution that is not published becomes plain text. An interactive figure is shown as the
picture it saved (its ``image/png``, with its alt text) and a caption that says the notebook
makes it interactive; a progress bar as its one-line summary. No widget state, no repr.

The folder is replaced on every build, but only if it is one this script made (it holds
``site.json``) or is empty: a folder of anyone's own work is never deleted.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import copy
import html
import json
import os
import posixpath
import re
import shutil
import sys
import time
from pathlib import Path
from typing import NamedTuple

import nbformat
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import navigation  # noqa: E402

SITE_SRC = ROOT / "site"
MATHJAX = SITE_SRC / "node_modules" / "mathjax"
OUT = ROOT / "build" / "site"
MANIFEST = "site.json"
COURSE_TITLE = "Deep learning, from the perceptron to attention"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# MathJax 3: one combined component with every TeX extension (so nothing is loaded on demand but
# the fonts, and the accessibility parts the reader may switch on from MathJax's menu).
MATHJAX_FILES = ("tex-chtml-full.js", "a11y", "sre", "ui", "input", "output/chtml")


class Page(NamedTuple):
    source: str  # the notebook, relative to the repository: "notebooks/ch01_perceptron.ipynb"
    out: str  # the page, relative to the site: "notebooks/ch01_perceptron.html"
    kind: str  # "start", "lecture", "exercises" or "solutions"
    label: str  # the short name in the sidebar and the previous/next links
    entry: navigation.Entry | None


def pages(*, solutions: bool = False) -> list[Page]:
    """Every page of the site in reading order: the start page, then per lecture its lecture,
    exercises and (``solutions``) solutions."""
    out = [Page(f"notebooks/{navigation.START}.ipynb", "index.html", "start", "Course map", None)]
    for e in navigation.COURSE:
        tag = e.stem.split("_")[0]
        ex = navigation.exercise_name(e.stem).removesuffix(".ipynb")
        out.append(
            Page(
                f"notebooks/{e.stem}.ipynb",
                f"notebooks/{e.stem}.html",
                "lecture",
                f"{tag} · {e.title}",
                e,
            )
        )
        out.append(
            Page(
                f"exercises/{ex}.ipynb",
                f"exercises/{ex}.html",
                "exercises",
                f"{tag} · exercises",
                e,
            )
        )
        if solutions:
            out.append(
                Page(
                    f"solutions/{e.stem}.ipynb",
                    f"solutions/{e.stem}.html",
                    "solutions",
                    f"{tag} · solutions",
                    e,
                )
            )
    return out


def relative(target: str, page: Page) -> str:
    """The href of site path ``target`` from ``page`` (``""``: the site's root folder)."""
    if not target:
        return "../" * page.out.count("/")
    return posixpath.relpath(target, posixpath.dirname(page.out) or ".")


# ---------------------------------------------------------------------------- notebooks


def prepare(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook as the site shows it: no widget state; an interactive figure becomes its
    saved picture (marked ``course_interactive`` for the caption), any other widget its text."""
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_VIEW not in data:
                continue
            del data[WIDGET_VIEW]
            if "image/png" in data:
                output.setdefault("metadata", {}).setdefault("image/png", {})[
                    "course_interactive"
                ] = True
            else:
                text = data.pop("text/plain", "")
                text = "".join(text) if isinstance(text, list) else text
                if not text.strip():
                    raise ValueError(
                        "a widget output with neither a picture nor a sentence to show"
                    )
                data["text/html"] = f'<p class="course-widget-text">{html.escape(text)}</p>'
    return nb


def _exporter():
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import ExtractOutputPreprocessor

    exporter = HTMLExporter(
        template_name="course",
        extra_template_basedirs=[str(SITE_SRC / "templates")],
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    extract = ExtractOutputPreprocessor(
        extract_output_types={"image/png", "image/jpeg", "image/svg+xml"}
    )
    exporter.register_preprocessor(extract, enabled=True)
    return exporter


def _sidebar(current: Page, all_pages: list[Page]) -> str:
    """The course in order: the start page, then each lecture with its exercises (and solutions)
    under it; the current page is marked for the eye and for screen readers."""

    def link(p: Page, text: str) -> str:
        cur = ' aria-current="page"' if p.out == current.out else ""
        return f'<a href="{relative(p.out, current)}"{cur}>{html.escape(text)}</a>'

    items, i = [f"<li>{link(all_pages[0], 'Course map')}</li>"], 1
    while i < len(all_pages):
        lecture = all_pages[i]
        subs = []
        i += 1
        while i < len(all_pages) and all_pages[i].kind in ("exercises", "solutions"):
            subs.append(f"<li>{link(all_pages[i], all_pages[i].kind)}</li>")
            i += 1
        items.append(f"<li>{link(lecture, lecture.label)}<ul>{''.join(subs)}</ul></li>")
    return f'<ol class="course-toc">{"".join(items)}</ol>'


def _meta(page: Page, all_pages: list[Page]) -> str:
    download = (
        f'<a class="course-download" href="{Path(page.source).name}" download>'
        f"Download this notebook (.ipynb)</a>"
    )
    if page.kind == "start":
        return (
            "You are reading the course as a website. To run it, move its sliders and do its "
            "exercises, clone the course and run <code>make lab</code> (the README says how)."
        )
    e = page.entry
    assert e is not None
    if page.kind == "lecture":
        n = navigation.COURSE.index(e) + 1
        return f"Lecture {n} of {len(navigation.COURSE)} · {html.escape(e.sources)} · {download}"
    if page.kind == "exercises":
        return (
            "Exercises, to read here: download the notebook and open it in the course's JupyterLab "
            f"(<code>make lab</code>), where every exercise checks itself · {download}"
        )
    return f"Solutions, for instructors and self-study · {download}"


def _rewrite_links(soup: BeautifulSoup, page: Page, by_source: dict[str, Page]) -> None:
    """Links between notebooks become links between pages; a link to an unpublished notebook
    (a solution) becomes its text."""
    base = Path(page.source).parent
    for a in soup.find_all("a", href=True):
        href = a["href"]
        if re.match(r"^[a-z][a-z0-9+.-]*:|^#|^/", href):
            continue
        path, _, frag = href.partition("#")
        if not path.endswith(".ipynb"):
            continue
        parts: list[str] = []
        for part in (base / path).parts:
            if part == "..":
                parts.pop()
            elif part != ".":
                parts.append(part)
        target = "/".join(parts)
        if target == page.source and a.get("download") is not None:
            continue  # the download link
        dest = by_source.get(target)
        if dest is None:
            if target.startswith("solutions/"):
                a.unwrap()
                continue
            raise ValueError(f"{page.source}: a link to {href!r}, which is not a page of the site")
        a["href"] = relative(dest.out, page) + (f"#{frag}" if frag else "")


def _search_entries(soup: BeautifulSoup, page: Page) -> list[dict]:
    """One entry per heading of the page: where it is, its words, and the prose under it."""
    entries: list[dict] = []
    main = soup.find("main")
    current: dict | None = None
    for el in main.find_all(["h1", "h2", "h3", "p", "li"]):
        if el.find_parent(class_="course-meta") or el.find_parent(class_="course-prevnext"):
            continue
        if el.name in ("h1", "h2", "h3"):
            for anchor in el.find_all("a", class_="anchor-link"):
                anchor.extract()
            current = {
                "u": page.out + (f"#{el['id']}" if el.get("id") else ""),
                "h": el.get_text(" ", strip=True),
                "x": "",
            }
            entries.append(current)
        elif (
            current is not None
            and el.find_parent(class_="jp-MarkdownCell")
            and len(current["x"]) < 500
        ):
            current["x"] = (current["x"] + " " + el.get_text(" ", strip=True))[:500]
    for e in entries:
        e["t"] = page.label
    return entries


def render(
    page: Page, all_pages: list[Page], exporter
) -> tuple[str, dict[str, bytes], list[dict], str]:
    """The page's HTML, its extracted pictures, its search entries and its title."""
    nb = prepare(nbformat.read(ROOT / page.source, as_version=4))
    i = all_pages.index(page)
    stem = Path(page.out).stem

    def neighbour(p: Page | None) -> dict | None:
        return None if p is None else {"href": relative(p.out, page), "label": p.label}

    title = next(
        (
            line.lstrip("#").strip()
            for cell in nb.cells
            if cell.cell_type == "markdown"
            for line in cell.source.splitlines()
            if line.startswith("# ")
        ),
        page.label,
    )
    plain_title = re.sub(r"[*_`$]", "", title)
    resources = {
        "metadata": {"name": stem},
        "output_files_dir": f"{stem}_files",
        "unique_key": stem,
        "course": {
            "root": relative("", page),
            # a solution notebook has its exercises' title
            "page_title": f"{plain_title} (solutions)" if page.kind == "solutions" else plain_title,
            "course_title": COURSE_TITLE,
            "sidebar": _sidebar(page, all_pages),
            "meta": _meta(page, all_pages),
            "prev": neighbour(all_pages[i - 1] if i > 0 else None),
            "next": neighbour(all_pages[i + 1] if i + 1 < len(all_pages) else None),
            "footer": (
                "Built offline from the course's executed notebooks with nbconvert; the math is "
                "typeset by MathJax, which this site carries. The course runs on a laptop: clone "
                "it and run <code>make lab</code>."
            ),
        },
    }
    body, res = exporter.from_notebook_node(nb, resources=resources)
    soup = BeautifulSoup(body, "html.parser")
    by_source = {p.source: p for p in all_pages}
    _rewrite_links(soup, page, by_source)
    search = _search_entries(BeautifulSoup(str(soup), "html.parser"), page)
    return str(soup), res.get("outputs", {}), search, plain_title


# ---------------------------------------------------------------------------- the folder


def _clear(out: Path) -> None:
    """Empty ``out`` for a new build, refusing any folder this script did not make."""
    if not out.exists():
        out.mkdir(parents=True)
        return
    if not out.is_dir():
        raise SystemExit(f"error: --out {out} is a file, not a folder")
    if any(out.iterdir()) and not (out / MANIFEST).is_file():
        raise SystemExit(
            f"error: --out {out} is a folder with files in it that this script did not write "
            f"(no {MANIFEST}); give an empty or new folder"
        )
    for child in out.iterdir():
        shutil.rmtree(child) if child.is_dir() else child.unlink()


def _static(out: Path) -> None:
    """The stylesheets, the site's JavaScript and MathJax, into ``out/_static``."""
    static = out / "_static"
    static.mkdir()
    lab = Path(sys.prefix) / "share" / "jupyter" / "nbconvert" / "templates" / "lab" / "static"
    (static / "lab.css").write_text(
        (lab / "index.css").read_text(encoding="utf-8")
        + "\n"
        + (lab / "theme-light.css").read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    from pygments.formatters import HtmlFormatter

    (static / "pygments.css").write_text(
        HtmlFormatter().get_style_defs(".highlight"), encoding="utf-8"
    )
    for name in ("course.css", "course.js"):
        shutil.copy(SITE_SRC / "static" / name, static / name)
    es5 = MATHJAX / "es5"
    if not (es5 / "tex-chtml-full.js").is_file():
        raise SystemExit(
            f"error: MathJax is not installed in {MATHJAX.parent}: run `make site`, which runs "
            "`npm ci` in site/ first"
        )
    mj = static / "mathjax"
    for rel in MATHJAX_FILES:
        src = es5 / rel
        (mj / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(src, mj / rel) if src.is_dir() else shutil.copy(src, mj / rel)
    shutil.copy(MATHJAX / "LICENSE", mj / "LICENSE")


_WORKER_EXPORTER = None


def _render_in_worker(page: Page, all_pages: list[Page]):
    """:func:`render` in a worker process, with that process's own exporter."""
    global _WORKER_EXPORTER
    if _WORKER_EXPORTER is None:
        _WORKER_EXPORTER = _exporter()
    return render(page, all_pages, _WORKER_EXPORTER)


def build(out: Path = OUT, *, solutions: bool = False, jobs: int | None = None) -> dict:
    """Build the site into ``out``; returns the manifest it writes there.

    The pages are rendered by ``jobs`` processes (default: one per CPU); the files are written
    here, in reading order, so the site is the same for any ``jobs``."""
    t0 = time.perf_counter()
    jobs = max(1, jobs or os.cpu_count() or 1)
    _clear(out)
    # The mark first, so that a build that fails half-way leaves a folder the next build may clear.
    (out / MANIFEST).write_text('{"building": true}\n', encoding="utf-8")
    _static(out)
    all_pages = pages(solutions=solutions)
    search: list[dict] = []
    manifest_pages = []
    if jobs == 1:
        exporter = _exporter()
        rendered = (render(page, all_pages, exporter) for page in all_pages)
        pool = None
    else:
        pool = concurrent.futures.ProcessPoolExecutor(max_workers=min(jobs, len(all_pages)))
        rendered = pool.map(_render_in_worker, all_pages, [all_pages] * len(all_pages))
    try:
        for page, (body, files, entries, title) in zip(all_pages, rendered, strict=True):
            _write_page(out, page, body, files, entries, title, search, manifest_pages)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    (out / "_static" / "search-index.js").write_text(
        "window.COURSE_SEARCH = "
        + json.dumps(search, ensure_ascii=False, separators=(",", ":"))
        + ";\n",
        encoding="utf-8",
    )
    manifest = {
        "title": COURSE_TITLE,
        "solutions": solutions,
        "pages": manifest_pages,
        "seconds": round(time.perf_counter() - t0, 1),
        "bytes": sum(f.stat().st_size for f in out.rglob("*") if f.is_file()),
    }
    (out / MANIFEST).write_text(
        json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return manifest


def _write_page(out, page, body, files, entries, title, search, manifest_pages) -> None:
    """Write one rendered page, its pictures and its notebook; add its search and manifest rows."""
    dest = out / page.out
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(body, encoding="utf-8")
    for name, data in files.items():
        (dest.parent / name).parent.mkdir(parents=True, exist_ok=True)
        (dest.parent / name).write_bytes(data)
    if page.kind != "start":
        shutil.copy(ROOT / page.source, dest.parent / Path(page.source).name)
    search.extend(entries)
    size = dest.stat().st_size + sum(len(d) for d in files.values())
    manifest_pages.append(
        {
            "page": page.out,
            "source": page.source,
            "kind": page.kind,
            "title": title,
            "bytes": size,
            "images": len(files),
        }
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--out", type=Path, default=OUT, help=f"the site's folder (default {OUT.relative_to(ROOT)})"
    )
    ap.add_argument("--solutions", action="store_true", help="also publish the solution notebooks")
    ap.add_argument(
        "--jobs", type=int, default=None, help="processes rendering pages (default: one per CPU)"
    )
    args = ap.parse_args(argv)
    if args.jobs is not None and args.jobs < 1:
        ap.error(f"--jobs must be at least 1, got {args.jobs}")
    m = build(args.out, solutions=args.solutions, jobs=args.jobs)
    kinds = {}
    for p in m["pages"]:
        kinds[p["kind"]] = kinds.get(p["kind"], 0) + 1
    print(
        f"site: {len(m['pages'])} pages ({', '.join(f'{v} {k}' for k, v in kinds.items())}), "
        f"{m['bytes'] / 1e6:.1f} MB, in {m['seconds']} s -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
