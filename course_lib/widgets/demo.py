"""The machinery every widget of the course shares: :class:`LiveFigure` and :class:`Demo`.

A :class:`Demo` ties some controls (sliders, dropdowns, a play button) to two plain pieces:

- ``compute(**values) -> result``: the numbers, usually one call of a jitted function whose
  hyperparameters are traced arrays, so moving a slider never recompiles;
- a *view*: an object with a :class:`LiveFigure` (``view.live``) whose artists it created once,
  and ``view.update(result, values)``, which moves those artists in place (``set_data``,
  ``set_offsets``, ``set_text``, ``set_array``). ``view.alt(result, values)`` (optional) says in
  words what the figure shows.

Why a view and not a function that draws a new figure: matplotlib spends 50-300 ms laying out
and rasterising a whole figure (ticks, labels, legends), and the picture must follow a slider
within about 50 ms. A :class:`LiveFigure` draws its static part (axes, ticks, labels, legends)
once, keeps that raster, and on each update draws only the artists marked *animated* on top of
it (their plain texts with PIL, :mod:`course_lib.widgets.fasttext`), then sends a JPEG to a
:class:`~course_lib.widgets.frame.Frame`, which draws it on a canvas. Views therefore fix their
axis limits up front (the axes do not jump while you move a slider, which also reads better); a
view that must change something static calls ``live.invalidate()`` and pays for one full draw.

Tests and ``assert`` cells call ``demo.compute(...)`` directly, or ``demo.set(...)`` to move the
controls as a person would, and inspect ``demo.last``. Controls listed in ``redraw_only`` only
redraw the last result (e.g. which step of a stored run to show), without recomputing.

Before the notebook runs, the saved output shows the figure as a plain PNG (with alt text)
wherever the live widget cannot be shown (an untrusted notebook, GitHub, a static website):
:meth:`Demo._repr_mimebundle_` puts the current picture beside the widget view.
"""

from __future__ import annotations

import base64
import functools
import io
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import ipywidgets as W
import matplotlib as mpl
import numpy as np
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image as PILImage

from course_lib.widgets import fasttext
from course_lib.widgets.frame import Frame

#: The CSS of every demo: controls wrap onto new rows in a narrow window, a redraw that takes
#: longer than a moment dims the picture (the cue that one is pending), and before the notebook
#: runs (the saved view, not yet connected to a kernel) one line under the picture says so,
#: instead of ipywidgets' broken-link icon beside every control.
_CSS = """<style>
.course-demo-controls { flex-flow: row wrap; gap: 2px 12px; align-items: center; }
.course-demo-controls .widget-readout { min-width: 4.5em; }
.course-demo canvas { max-width: 100%; height: auto; }
.course-demo.course-demo-pending canvas { opacity: 0.45; transition: opacity 0.15s 0.12s; }
.course-demo.course-demo-pending { cursor: progress; }
.course-demo .jupyter-widgets-disconnected::before,
.course-demo.jupyter-widgets-disconnected::before { content: none; display: none; }
.course-demo.jupyter-widgets-disconnected::after {
  content: "A saved picture: run the notebook to move the controls.";
  color: var(--jp-ui-font-color2, #616161); font-size: 0.9em; padding: 2px 0;
}
</style>"""

PENDING_CLASS = "course-demo-pending"
#: A redraw slower than this (seconds) last time gets the pending cue the next time.
PENDING_AFTER_S = 0.06


def encode_png(rgba: np.ndarray) -> bytes:
    """An ``(h, w, 4)`` uint8 RGBA raster as PNG bytes (the saved, static picture)."""
    out = io.BytesIO()
    PILImage.fromarray(np.asarray(rgba), mode="RGBA").save(out, format="png", compress_level=6)
    return out.getvalue()


def encode_frame(rgba: np.ndarray) -> bytes:
    """An ``(h, w, 4)`` uint8 RGBA raster as a JPEG frame for the live widget.

    Measured on one laptop core for an 800 x 360 figure: JPEG at quality 92 encodes in about
    1 ms against 10 ms for the fastest PNG, at a similar size (~60 kB), and its ringing around
    lines is invisible at 100 % zoom. The saved picture stays PNG (:func:`encode_png`).
    """
    out = io.BytesIO()
    rgb = PILImage.fromarray(np.asarray(rgba), mode="RGBA").convert("RGB")  # faster than a slice
    rgb.save(out, format="jpeg", quality=92)
    return out.getvalue()


class LiveFigure:
    """A matplotlib figure drawn once and then updated in place, rendered to an RGBA raster.

    ``LiveFigure(ncols, nrows, width=..., height=...)`` makes a grid of axes (``live.axes``, a
    flat array; ``live.ax`` is the first). Create the static artists as usual; create the ones
    that change with ``animated=True`` or register them with :meth:`animate`. :meth:`render`
    draws the static part once (and lays the figure out with matplotlib's constrained layout,
    then freezes that layout), caches it, and on every later call restores the cache and draws
    the animated artists on top.
    """

    def __init__(
        self,
        ncols: int = 1,
        nrows: int = 1,
        *,
        width: float = 4.2,
        height: float = 3.6,
        dpi: float | None = None,
        fast_text: bool = True,
        **subplot_kw: Any,
    ) -> None:
        for name, value in (("ncols", ncols), ("nrows", nrows)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"LiveFigure: {name} must be a positive int, got {value!r}.")
        self.fig = Figure(
            figsize=(width * ncols, height * nrows),
            dpi=dpi or mpl.rcParams["figure.dpi"],
            layout="constrained",
        )
        self.canvas = FigureCanvasAgg(self.fig)
        self.axes = np.asarray(self.fig.subplots(nrows, ncols, squeeze=False, **subplot_kw)).ravel()
        self.ax = self.axes[0]
        self._animated: list[Artist] = []
        self._background: Any = None
        self.full_draws = 0  # how many times the static part was drawn (tests read it)
        #: animated plain texts drawn by PIL (:mod:`course_lib.widgets.fasttext`), not by Agg
        self.fast_text = fast_text

    def animate(self, *artists: Artist) -> Any:
        """Mark artists as redrawn on every update; returns the artist (or the tuple)."""
        for a in artists:
            a.set_animated(True)
            if a not in self._animated:
                self._animated.append(a)
        return artists[0] if len(artists) == 1 else artists

    def invalidate(self) -> None:
        """The static part changed (limits, labels): draw it again on the next render."""
        self._background = None

    def _collect_animated(self) -> None:
        # Artists created with animated=True but never passed to animate().
        for artist in self.fig.findobj(lambda a: a.get_animated()):
            if artist not in self._animated and artist is not self.fig:
                self._animated.append(artist)

    def render(self) -> np.ndarray:
        """The figure as an ``(h, w, 4)`` uint8 RGBA raster: static part (cached) + animated."""
        if self._background is None:
            self._collect_animated()
            self.canvas.draw()  # lays out (the first time) and draws every non-animated artist
            if self.fig.get_layout_engine() is not None:
                self.fig.set_layout_engine("none")  # freeze the layout: no jumps, no re-solve
            self._background = self.canvas.copy_from_bbox(self.fig.bbox)
            self.full_draws += 1
        else:
            self.canvas.restore_region(self._background)
        renderer = self.canvas.get_renderer()
        raster = np.asarray(renderer.buffer_rgba())  # a view: PIL's text and Agg share it
        for artist in self._animated:
            if artist.get_visible() and artist.figure is not None:
                if self.fast_text and fasttext.supported(artist):
                    fasttext.draw_text(artist, raster, self.fig.dpi)
                else:
                    artist.draw(renderer)
        return np.array(raster)

    def close(self) -> None:
        """Release the raster (the figure is not registered with pyplot: nothing else to do)."""
        self._background = None


class View(Protocol):
    """What :class:`Demo` needs from a view (see the module docstring)."""

    live: LiveFigure

    def update(self, result: Any, values: dict[str, Any]) -> None: ...


class Demo:
    """Controls bound to a compute function and a view (see the module docstring).

    ``Demo(controls, compute, view)``. ``rows`` groups the controls by name into rows
    (default: one wrapping row), ``extra`` adds widgets (a Play button) after the controls,
    and ``play`` names a Play widget whose interval is stretched to the measured redraw
    time, so that playing never queues frames.
    """

    def __init__(
        self,
        controls: dict[str, W.ValueWidget],
        compute: Callable[..., Any],
        view: View,
        *,
        redraw_only: Iterable[str] = (),
        after_compute: Callable[[Demo, Any], None] | None = None,
        extra: Iterable[W.Widget] = (),
        rows: Iterable[Iterable[str]] | None = None,
        play: W.Play | None = None,
        alt: str | Callable[[Any, dict[str, Any]], str] | None = None,
    ) -> None:
        if not isinstance(controls, dict) or not controls:
            raise ValueError(
                f"Demo: controls must be a non-empty dict name -> widget, got {controls!r}."
            )
        self.controls = dict(controls)
        self.compute = compute
        if not (hasattr(view, "update") and hasattr(view, "live")):
            raise TypeError(
                "Demo: view must have .live (a LiveFigure) and .update(result, values); "
                f"got {type(view).__name__}."
            )
        self.view = view
        self.redraw_only = set(redraw_only)
        unknown = self.redraw_only - set(self.controls)
        if unknown:
            raise ValueError(f"Demo: redraw_only names unknown control(s) {sorted(unknown)}.")
        self.after_compute = after_compute
        self._alt = alt
        self.play = play
        self._play_interval = play.interval if play is not None else None
        self.image = Frame()
        self.image.add_class("course-demo-figure")
        self.output = self.image  # older code and tests look for .output
        extra = list(extra)
        if play is not None and play not in extra:
            extra.append(play)
        if rows is None:
            row_widgets = [[*self.controls.values(), *extra]]
        else:
            row_widgets = [[self.controls[n] for n in row] for row in rows]
            placed = {n for row in rows for n in row}
            missing = set(self.controls) - placed
            if missing:
                raise ValueError(f"Demo: rows leave out control(s) {sorted(missing)}.")
            row_widgets[-1].extend(extra)
        for control in self.controls.values():
            # a label as wide as its words ("temperature T", not "temperat..."): the rows wrap
            style = getattr(control, "style", None)
            if style is not None and getattr(style, "description_width", None) == "":
                style.description_width = "initial"
        boxes = []
        for row in row_widgets:
            box = W.HBox(row)
            box.add_class("course-demo-controls")
            boxes.append(box)
        self.widget = W.VBox([W.HTML(_CSS), *boxes, self.image])
        self.widget.add_class("course-demo")
        self.last: Any = None
        self.frame = np.zeros((1, 1, 4), np.uint8)  # the current picture, RGBA
        self.last_redraw_s = 0.0  # seconds the last refresh took (compute + draw + encode)
        self._busy = False
        self._redraw_s: dict[bool, float] = {}  # the last redraw time, by recompute or not
        for name, control in self.controls.items():
            control.observe(functools.partial(self._on_change, name), names="value")
        self.refresh()

    @property
    def values(self) -> dict[str, Any]:
        """The current value of every control, by name."""
        return {name: c.value for name, c in self.controls.items()}

    def compute_values(self) -> dict[str, Any]:
        """The values that ``compute`` takes (all but the redraw-only controls)."""
        return {k: v for k, v in self.values.items() if k not in self.redraw_only}

    @property
    def alt(self) -> str:
        """Words for the current picture (the view's ``alt``, or the one given to Demo)."""
        if self._alt is not None:
            return self._alt(self.last, self.values) if callable(self._alt) else self._alt
        if hasattr(self.view, "alt"):
            return self.view.alt(self.last, self.values)
        return "An interactive figure; run the notebook to move its controls."

    def refresh(self, *, recompute: bool = True, render: bool = True) -> Any:
        """Recompute (unless told not to) and redraw; returns the result."""
        t0 = time.perf_counter()
        if recompute or self.last is None:
            self.last = self.compute(**self.compute_values())
            if self.after_compute is not None:
                self._busy = True  # after_compute may move controls: do not recurse
                try:
                    self.after_compute(self, self.last)
                finally:
                    self._busy = False
        if render:
            self.view.update(self.last, self.values)
            self.frame = self.view.live.render()
            with self.image.hold_sync():  # one message: the picture and its words together
                self.image.value = encode_frame(self.frame)
                self.image.alt = self.alt
        self.last_redraw_s = time.perf_counter() - t0
        if render:
            self._redraw_s[recompute] = self.last_redraw_s
        return self.last

    def set(self, **values: Any) -> Any:
        """Move controls as a person would (one refresh at the end); returns the result."""
        unknown = set(values) - set(self.controls)
        if unknown:
            raise ValueError(f"unknown control(s) {sorted(unknown)}; have {sorted(self.controls)}.")
        self._busy = True
        try:
            for name, value in values.items():
                self.controls[name].value = value
        finally:
            self._busy = False
        recompute = any(name not in self.redraw_only for name in values)
        return self.refresh(recompute=recompute)

    @property
    def png(self) -> bytes:
        """The current picture as PNG bytes."""
        return encode_png(self.frame)

    def _on_change(self, name: str, change: dict) -> None:
        if self._busy:
            return
        recompute = name not in self.redraw_only
        # The cue costs two messages and two restyles in the browser, so it is sent only when
        # this kind of redraw (recompute or not) was slow last time; a fast one is on screen
        # before the cue's CSS delay would have shown it anyway.
        cue = self._redraw_s.get(recompute, 0.0) > PENDING_AFTER_S
        if cue:
            self.widget.add_class(PENDING_CLASS)
        try:
            self.refresh(recompute=recompute)
        finally:
            if cue:
                self.widget.remove_class(PENDING_CLASS)
        if self.play is not None and self._play_interval is not None:
            # Never ask for frames faster than they are drawn: a queue of stale frames is what
            # makes a picture lag behind its slider.
            need = int(1000 * self.last_redraw_s * 1.5) + 20
            self.play.interval = max(self._play_interval, need)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> tuple[dict, dict]:
        data = self.widget._repr_mimebundle_(include=include, exclude=exclude)
        if isinstance(data, tuple):
            data = data[0]
        data = dict(data or {})
        data["image/png"] = base64.b64encode(self.png).decode("ascii")
        data["text/plain"] = "(an interactive figure: run the notebook to move its controls)"
        return data, {"image/png": {"alt": self.alt}}
