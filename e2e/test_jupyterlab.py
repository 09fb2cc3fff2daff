"""Every lecture notebook, reached from the start page in JupyterLab in headless Chromium.

For each notebook: open the start page (``notebooks/00_start_here.ipynb``) and click its link to
the notebook, as a student would. Before anything runs, every widget the committed notebook
displays must already show (from the widget state saved in the notebook), with its picture.
Then clear the outputs, Run > Run All Cells from the menu, wait until the kernel has executed
every code cell (prompts ``[1]`` ... ``[N]`` in order) and is idle, and check that no cell shows
an error or anything on stderr and that every widget rendered again. Then every control of
every interactive figure is moved from the keyboard, several times, and the time from the key
press to the new picture on screen (decoded and painted) is recorded: the table is printed and
written to ``build/widget_latency.md`` (it is measured, not asserted: CI machines are loaded).
Beside them, in the same page, a *floor*: a slider whose kernel side only swaps two prepared
frames, so that its latency is Jupyter's message path and the browser's drawing alone, the
part no view or computation can remove.
A screenshot of each notebook goes to ``build/screenshots/`` (not committed). Run with
``make browser-test``.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "build" / "screenshots"

LECTURES = sorted((ROOT / "notebooks").glob("ch*.ipynb"))
START = "00_start_here.ipynb"
LATENCY = ROOT / "build" / "widget_latency.md"  # begun and summed up by conftest.py, one per run
# key presses timed per control (the floor gets twice as many): 3 by default, BROWSER_PRESSES
# sets it (CI: 1, each control moved once; 0 skips the latency table)
PRESSES = int(os.environ.get("BROWSER_PRESSES", "3"))
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
# BROWSER_ISA=SSE4_2+NUDGED (CI): the kernels run at that level of scripts/portability.py
ISA = os.environ.get("BROWSER_ISA", "").strip()
RUN_TIMEOUT = 300.0  # seconds for Run All (the slowest notebook takes ~45 s under nbval)

# One widget per chapter whose move is checked in the kernel too: (the widget's variable, code
# run before the move, what must hold after it). A cell added at the end of the notebook runs
# each; the claims are the ones the notebook makes about that widget.
KERNEL_CHECKS = {
    "ch01_perceptron": (
        "explorer",
        "_compiled = widgets.margin_run_cache_size()",
        "r = explorer.last\n"
        "assert r.converged and r.num_updates <= r.bound  # the perceptron convergence bound\n"
        "assert widgets.margin_run_cache_size() == _compiled",
    ),
    "ch02b_autoencoders_word2vec": (
        "explorer",
        "_compiled = autoencoders.fit_linear_cache_size()",
        "r = explorer.last\n"
        "assert r.k == explorer.values['k']\n"
        "assert r.svd_error <= r.error * (1 + 1e-5) and r.error <= r.svd_error * 1.01  # the SVD\n"
        "assert autoencoders.fit_linear_cache_size() == _compiled",
    ),
    "ch03a_backprop": (
        "demo",
        "_compiled = widgets.gradcheck_cache_size()",
        "eps = demo.values['eps']\n"
        "assert demo.last.rho[3] < 1e-6 or eps < 1e-9 or eps > 1e-3  # float64 central diff.\n"
        "assert widgets.gradcheck_cache_size() == _compiled",
    ),
    "ch07a_rnn_basics": (
        "demo",
        "_compiled = rnn.gradient_profile_cache_size()",
        "rho = demo.values['rho']\n"
        "assert np.allclose(demo.last.linear, rho ** np.arange(40, -1, -1.0), rtol=1e-3)  # rho^k\n"
        "assert rnn.gradient_profile_cache_size() == _compiled",
    ),
    "ch08a_convolution": (
        "demo",
        "_compiled = widgets.conv_slider_cache_size()",
        "f, p, s = (demo.values[k] for k in ('f', 'padding', 'stride'))\n"
        "assert demo.last.out.shape == ((7 + 2 * p - f) // s + 1,) * 2  # the output-size formula\n"
        "assert widgets.conv_slider_cache_size() == _compiled",
    ),
}


def select(paths: list[Path], scope: str) -> list[Path]:
    """The lectures a run covers: ``all``, or ``chapters`` (CI, for its 45 minutes): the first
    lecture of each chapter and every lecture with a kernel check above. Every lecture's widgets
    are also moved kernel-side by the unit tests (tests/test_widgets*.py) and its page opened in
    Chromium by the site test; ``make browser-test`` runs them all."""
    if scope == "all":
        return list(paths)
    if scope == "chapters":
        first: dict[str, Path] = {}
        for p in paths:
            first.setdefault(p.stem[:4], p)  # ch01_perceptron, ch10a_attention -> ch01, ch10
        return [p for p in paths if p in first.values() or p.stem in KERNEL_CHECKS]
    raise ValueError(f"BROWSER_SCOPE: expected 'all' or 'chapters', got {scope!r}")


NOTEBOOKS = select(LECTURES, os.environ.get("BROWSER_SCOPE", "").strip() or "all")


def _stored(path: Path) -> tuple[int, int]:
    """(code cells, widget views) of the committed notebook."""
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    widgets = sum(WIDGET_MIME in out.get("data", {}) for c in code for out in c.get("outputs", []))
    return len(code), widgets


def _menu(page, menu: str, item: str) -> None:
    page.get_by_role("menuitem", name=menu, exact=True).click()
    page.get_by_role("menuitem", name=re.compile(rf"^{re.escape(item)}")).first.click()


def _kernel_idle(page) -> bool:
    return page.locator(".jp-StatusBar-TextItem", has_text="| Idle").count() > 0


def _prompts(page) -> list[str]:
    return [p.strip() for p in page.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts()]


def _wait(condition, timeout: float, what: str, page=None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            detail = ""
            if page is not None:
                detail = f"; prompts {_prompts(page)}"
                SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SCREENSHOTS / "FAILED.png"))  # what the student sees
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{detail}")
        time.sleep(0.25)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_in_jupyterlab(lab, page, path: Path) -> None:
    n_code, n_widgets = _stored(path)
    _open_from_start_page(lab, page, path.name)
    _wait(lambda: _kernel_idle(page), 90, "the kernel to start")
    assert len(_prompts(page)) == n_code, "JupyterLab did not render every cell"

    # before running: the saved widgets show, each interactive figure with its picture
    views = page.locator(".jp-OutputArea-output > .jupyter-widgets")
    _wait(lambda: views.count() >= n_widgets, 60, f"{n_widgets} saved widget views", page)
    assert views.count() == n_widgets
    demos = page.locator(".course-demo")
    _wait(
        lambda: all(_frames(d) >= 1 for d in demos.all()),
        30,
        "the saved pictures of the interactive figures",
        page,
    )
    n_demos = demos.count()
    assert "VBox(children" not in page.locator(".jp-Notebook").inner_text()
    # not yet connected: one line under each picture says so, no broken-link icon per control
    icons = demos.evaluate_all(_VISIBLE_DISCONNECTED_ICONS)
    assert icons == 0, f"{icons} broken-link icon(s) in the saved interactive figures"
    if n_demos:
        note = demos.first.evaluate("d => getComputedStyle(d, '::after').content")
        assert "run the notebook" in note, note
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    if n_demos:
        demos.first.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / f"{path.stem}_before_running.png"))

    _menu(page, "Edit", "Clear Outputs of All Cells")
    _wait(lambda: page.locator(".jp-OutputArea-output").count() == 0, 30, "cleared outputs")
    started = time.monotonic()
    _menu(page, "Run", "Run All Cells")
    want = [f"[{i}]:" for i in range(1, n_code + 1)]
    _wait(
        lambda: _prompts(page) == want and _kernel_idle(page),
        RUN_TIMEOUT,
        f"{n_code} cells to run",
        page,
    )
    seconds = time.monotonic() - started

    stderr = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    assert stderr.count() == 0, "a cell shows an error or stderr:\n" + "\n---\n".join(
        stderr.all_inner_texts()
    )

    # every widget view of the committed notebook rendered, none failed
    _wait(lambda: views.count() >= n_widgets, 30, f"{n_widgets} widget views")
    assert views.count() == n_widgets
    body = page.locator(".jp-Notebook").inner_text()
    assert "Error displaying widget" not in body and "Loading widget" not in body

    n_added = 0
    if ISA and path.stem == "ch01_perceptron":
        # BROWSER_ISA reached the kernel (a level that silently did not would still pass)
        n_added += 1
        _run_new_cell(page, _isa_cell(ISA), n_code + n_added)
    check = KERNEL_CHECKS.get(path.stem)
    if check is not None:
        name, before, after = check
        n_added += 1
        _run_new_cell(page, f"_values_before = dict({name}.values)\n{before}", n_code + n_added)
    demo = _move_first_slider(page) if n_widgets else None
    if check is not None:
        # the kernel saw the move, and what the widget now shows satisfies the notebook's claim
        n_added += 1
        _run_new_cell(page, f"assert {name}.values != _values_before\n{after}", n_code + n_added)
    if demo is not None:
        demo.scroll_into_view_if_needed()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{path.stem}.png"))
    assert page.locator(".course-demo").count() == n_demos
    # each live picture is a canvas with role="img" and the figure's words as its name
    labels = page.locator(".course-demo canvas[role=img]").evaluate_all(
        "cs => cs.map(c => c.getAttribute('aria-label') || '')"
    )
    assert len(labels) == n_demos and all(len(x) > 20 for x in labels), labels
    if PRESSES > 0:
        results = _measure_latency(page)
        _run_new_cell(page, _FLOOR_CELL, _next_prompt(page))
        results.append((0, "floor: no kernel work", _measure_floor(page)))
        _record_latency(path.stem, results)
    _menu(page, "Kernel", "Shut Down Kernel")  # free the memory before the next notebook
    print(f"{path.name}: {n_code} cells ran in {seconds:.1f} s, {n_widgets} widget view(s)")


def _run_new_cell(page, code: str, number: int) -> None:
    """Add a code cell at the end (as a student would: select, B, Enter, type, Shift+Enter)."""
    page.locator(".jp-Notebook .jp-Cell").last.click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")
    page.keyboard.press("Enter")
    page.keyboard.insert_text(code)
    page.keyboard.press("Shift+Enter")
    prompt = f"[{number}]:"
    _wait(
        lambda: prompt in _prompts(page) and _kernel_idle(page),
        60,
        f"the added cell {prompt} to run",
        page,
    )
    cell = page.locator(".jp-Notebook .jp-CodeCell").filter(
        has=page.locator(".jp-InputPrompt", has_text=prompt)
    )
    errors = cell.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    shown = "\n".join(errors.all_inner_texts())
    assert errors.count() == 0, f"the check\n{code}\nfailed:\n{shown}"


def _isa_cell(level: str) -> str:
    """Code asserting that the kernel runs at ``level`` (its cap in XLA_FLAGS, its nudge)."""
    isa, _, nudge = level.partition("+")
    if isa == "NUDGED":
        isa, nudge = "", "NUDGED"
    lines = ["import os as _os, jax as _jax", "_flags = _os.environ.get('XLA_FLAGS', '')"]
    if isa and isa != "default":
        lines.append(f"assert '--xla_cpu_max_isa={isa}' in _flags, _flags")
    if nudge:
        lines.append("assert hasattr(_jax.random.normal, '__wrapped__'), 'not nudged'")
    return "\n".join(lines)


def _move_first_slider(page):
    """Press → on the first slider of the first widget with a figure; its figure must change.

    Returns the widget's locator."""
    demos = page.locator(".jp-OutputArea-output > .jupyter-widgets").filter(
        has=page.locator(".noUi-handle")
    )
    demos = demos.filter(has=page.locator(".course-frame"))
    assert demos.count() >= 1, "no widget with a slider and a figure"
    demo = demos.first
    demo.scroll_into_view_if_needed()
    slider = demo.locator(".widget-slider").first
    handle = slider.locator(".noUi-handle")
    label = slider.locator(".widget-label").inner_text()
    readout = slider.locator(".widget-readout")  # aria-valuenow is rounded to one decimal
    before_value = readout.inner_text()
    before_frames = _frames(demo)
    at_max = handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax")
    key = "ArrowLeft" if at_max else "ArrowRight"
    handle.focus()
    handle.press(key)
    _wait(
        lambda: readout.inner_text() != before_value,
        10,
        f"slider {label!r} to move",
        page,
    )
    _wait(
        lambda: _frames(demo) > before_frames,
        60,
        f"the figure to redraw after moving {label!r}",
        page,
    )
    return demo


def _frames(demo) -> int:
    """How many pictures the figure's canvas has drawn (its front end counts them)."""
    frame = demo.locator(".course-frame")
    if frame.count() == 0:
        return 0
    return int(frame.first.get_attribute("data-frames") or 0)


def _open_from_start_page(lab, page, name: str) -> None:
    """Open the start page and click its link to ``name``; the notebook must open."""
    page.goto(lab.notebook_url(f"notebooks/{START}"))
    page.wait_for_selector(".jp-Notebook .jp-MarkdownCell", timeout=60_000)
    # JupyterLab may rewrite a relative href; the lecture's link is the one not to its exercises
    links = page.locator(f'.jp-RenderedMarkdown a[href*="{name}"]:not([href*="exercises"])')
    _wait(lambda: links.count() > 0, 30, f"the start page's link to {name}", page)
    link = links.first
    link.scroll_into_view_if_needed()
    link.click()
    tab = page.locator(".lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel", has_text=name)
    _wait(lambda: tab.count() > 0, 30, f"the link to open {name}", page)
    # close the start page, so that only the notebook is in the page (JupyterLab asks to save it
    # when the kernel's start filled in its metadata: nothing of ours to keep, so discard)
    page.locator(".lm-TabBar-tab", has_text=START).locator(".lm-TabBar-tabCloseIcon").click()
    discard = page.locator(".jp-Dialog button", has_text="Discard")
    try:
        discard.wait_for(timeout=3000)
        discard.click()
    except Exception:  # no dialog: the tab just closed
        pass
    _wait(
        lambda: page.locator(".lm-TabBar-tab", has_text=START).count() == 0,
        30,
        "the start page to close",
    )
    page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=60_000)


_VISIBLE_DISCONNECTED_ICONS = """(demos) => demos
  .flatMap((d) => [d, ...d.querySelectorAll('.jupyter-widgets-disconnected')])
  .filter((e) => e.classList.contains('jupyter-widgets-disconnected'))
  .filter((e) => !['none', 'normal'].includes(getComputedStyle(e, '::before').content))
  .length"""


# Timing in the page: a key press or a click stores its time (a click comes after its key, so a
# button pressed with Space is timed from the click that toggles it); the new picture's time is
# taken when the figure's canvas has drawn the new frame (its "course-frame" event) and the
# browser painted the next frame after it.
_INSTALL = """(demo) => {
  demo.__lat = [];
  demo.__t0 = null;
  const start = () => { demo.__t0 = performance.now(); };
  demo.addEventListener('keydown', start, true);
  demo.addEventListener('click', start, true);
  demo.addEventListener('course-frame', () => {
    const t0 = demo.__t0;
    if (t0 === null) return;
    demo.__t0 = null;
    requestAnimationFrame(() => setTimeout(() => demo.__lat.push(performance.now() - t0), 0));
  });
}"""


_NEXT_OPTION = """(select) => {
  select.closest('.course-demo').__t0 = performance.now();
  select.selectedIndex = (select.selectedIndex + 1) % select.options.length;
  select.dispatchEvent(new Event('change', {bubbles: true}));
}"""


def _controls(demo):
    """(kind, label, element to focus, keys to press in turn) for every control of a figure."""
    out = []
    for slider in demo.locator(".widget-slider").all():
        label = slider.locator(".widget-label").inner_text().strip() or "slider"
        out.append(("slider", label, slider.locator(".noUi-handle"), None))
    for dropdown in demo.locator(".widget-dropdown").all():
        label = dropdown.locator(".widget-label").inner_text().strip() or "dropdown"
        out.append(("dropdown", label, dropdown.locator("select"), None))
    for button in demo.locator("button.widget-toggle-button").all():
        out.append(("toggle", button.inner_text().strip() or "toggle", button, ["Space"]))
    return out


def _measure_latency(page) -> list[tuple[int, str, list[float]]]:
    """(figure number, control, latencies in ms) for every control of every interactive figure:
    sliders (arrow keys), dropdowns (the next option) and toggle buttons (Space)."""
    results = []
    demos = page.locator(".course-demo")
    for k in range(demos.count()):
        demo = demos.nth(k)
        demo.scroll_into_view_if_needed()
        demo.evaluate(_INSTALL)
        for kind, label, target, keys in _controls(demo):
            times = []
            for i in range(PRESSES):
                n = demo.evaluate("d => d.__lat.length")
                if kind == "dropdown":
                    # a closed <select> ignores arrow keys in headless Chromium: pick the next
                    # option as the list would, timed from the same moment
                    target.evaluate(_NEXT_OPTION)
                    key = None
                elif kind == "slider":
                    at_max = target.get_attribute("aria-valuenow") == target.get_attribute(
                        "aria-valuemax"
                    )
                    key = "ArrowLeft" if at_max or i % 2 else "ArrowRight"
                else:
                    key = keys[i % len(keys)]
                if key is not None:
                    target.focus()
                    page.keyboard.press(key)
                try:
                    page.wait_for_function(
                        "([d, n]) => d.__lat.length > n",
                        arg=[demo.element_handle(), n],
                        # not every animation frame (the default): a poll on every frame keeps
                        # the page's main thread busy and adds to the latency being measured
                        polling=100,
                        timeout=10_000,
                    )
                except Exception:  # no new picture: this value draws the same figure
                    demo.evaluate("d => { d.__t0 = null; }")
                    continue
                times.append(demo.evaluate("d => d.__lat[d.__lat.length - 1]"))
                page.wait_for_timeout(150)  # let the kernel go idle between presses
            results.append((k + 1, f"{label} ({kind})" if kind != "slider" else label, times))
    return results


# The floor: a slider and a Frame of a lecture figure's size whose kernel side only swaps two
# JPEGs encoded beforehand (no computation, no drawing, no encoding).
_FLOOR_CELL = """import ipywidgets as _W
import numpy as _np
from course_lib.widgets.demo import encode_frame as _enc
from course_lib.widgets.frame import Frame as _Frame
_pics = [_enc(_np.full((380, 900, 4), v, _np.uint8)) for v in (255, 230)]
_floor = _Frame(value=_pics[0])
_floor_s = _W.IntSlider(0, 0, 1000, description='floor', continuous_update=False)
_floor_s.observe(lambda ch: setattr(_floor, 'value', _pics[ch['new'] % 2]), names='value')
_floor_box = _W.VBox([_floor_s, _floor])
_floor_box.add_class('course-floor')
_floor_box"""


def _next_prompt(page) -> int:
    numbers = [int(p[1:-2]) for p in _prompts(page) if re.fullmatch(r"\[\d+\]:", p)]
    return max(numbers, default=0) + 1


def _measure_floor(page) -> list[float]:
    """Latencies (ms) of the floor slider, timed as the figures' controls are."""
    box = page.locator(".course-floor").last
    box.scroll_into_view_if_needed()
    box.evaluate(_INSTALL)
    handle = box.locator(".noUi-handle")
    times = []
    for _ in range(2 * PRESSES):
        n = box.evaluate("d => d.__lat.length")
        handle.focus()
        page.keyboard.press("ArrowRight")
        page.wait_for_function(
            "([d, n]) => d.__lat.length > n", arg=[box.element_handle(), n], polling=100
        )
        times.append(box.evaluate("d => d.__lat[d.__lat.length - 1]"))
        page.wait_for_timeout(150)
    return times


def _record_latency(stem: str, results) -> None:
    lines = []
    for k, label, times in results:
        if times:
            med = statistics.median(times)
            lines.append(
                f"| {stem} | {k or '-'} | {label} | {len(times)} | {med:.0f} | "
                f"{min(times):.0f}–{max(times):.0f} |"
            )
        else:
            lines.append(f"| {stem} | {k} | {label} | 0 | no redraw seen | |")
    with LATENCY.open("a") as out:  # one write: two workers append whole rows, never mixed
        out.write("".join(line + "\n" for line in lines))
    print("\n".join(lines))
