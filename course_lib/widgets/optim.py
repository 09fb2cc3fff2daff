"""Chapter 3b: the optimizer race on the bowl L = x^2 + b y^2 (optimizer race).

The mathematics (the bowl, the jitted race, the iteration counts) lives in
:mod:`course_lib.optim` (:func:`~course_lib.optim.bowl`, :func:`~course_lib.optim.race_bowl`);
the names are re-exported here because the notebooks and tests know them as ``widgets.*``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import ipywidgets as W
import matplotlib.ticker
import numpy as np
import traitlets
from matplotlib.figure import Figure

from course_lib import (
    optim,
    plotting,
)
from course_lib.optim import _NESTEROV, RaceResult, _race, bowl, race_bowl, race_cache_size
from course_lib.widgets.demo import Demo, LiveFigure

__all__ = [
    "_NESTEROV",
    "_POWER_OF_TEN",
    "RaceResult",
    "_race",
    "bowl",
    "draw_race",
    "optimizer_race",
    "race_bowl",
    "race_cache_size",
]

_POWER_OF_TEN = matplotlib.ticker.FuncFormatter(lambda v, _: f"1e{round(np.log10(v)):d}")


class MethodToggles(W.HBox):
    """One toggle button per method in a row: a compact multi-select whose ``value`` is the
    tuple of the methods switched on (in the order of ``options``), like ``SelectMultiple``."""

    value = traitlets.Tuple()

    def __init__(self, options: Sequence[str], value: Iterable[str], description: str) -> None:
        value = tuple(value)
        self.buttons = {
            m: W.ToggleButton(
                value=m in value,
                description=m,
                tooltip=f"show {m}",
                layout=W.Layout(width="auto"),
                style={"text_color": plotting.METHOD_COLORS.get(m, "black"), "font_weight": "bold"},
            )
            for m in options
        }
        super().__init__([W.Label(description), *self.buttons.values()])
        self.add_class("course-demo-controls")
        self.value = tuple(m for m in options if m in value)
        self._syncing = False
        for button in self.buttons.values():
            button.observe(self._from_buttons, names="value")
        self.observe(self._to_buttons, names="value")

    def _from_buttons(self, change: dict) -> None:
        if not self._syncing:
            self.value = tuple(m for m, b in self.buttons.items() if b.value)

    @traitlets.validate("value")
    def _known(self, proposal: dict) -> tuple[str, ...]:
        unknown = set(proposal["value"]) - set(self.buttons)
        if unknown:
            raise ValueError(f"unknown method(s) {sorted(unknown)}; have {list(self.buttons)}.")
        return tuple(m for m in self.buttons if m in proposal["value"])

    def _to_buttons(self, change: dict) -> None:
        self._syncing = True
        try:
            for m, b in self.buttons.items():
                b.value = m in change["new"]
        finally:
            self._syncing = False


class _RaceView:
    """Left: the paths over the bowl's level sets. Right: the loss curves. Below: the counts."""

    LIM = 40.0
    RESOLUTION = 300  # about the panel's size in pixels: drawing the image is a copy
    LEVELS = np.geomspace(10, 4000, 9)  # the bands of the background
    FLOOR = 1e-12  # L = 0 on a log axis

    def __init__(self, steps: int, tol: float, *, width: float = 4.6, height: float = 4.4) -> None:
        self.steps, self.tol = steps, tol
        self.live = live = LiveFigure(2, width=width, height=height)
        fig = live.fig
        ax, ax2 = live.axes
        # The panels leave the bottom strip free for the counts: text that changes, which the
        # layout solver (run once, on the first draw) would not leave room for.
        strip = 0.2
        fig.get_layout_engine().set(rect=(0.0, strip, 1.0, 1.0 - strip))
        kw = {"animated": True}
        lim = self.LIM
        g = np.linspace(-lim, lim, self.RESOLUTION)
        self.grid = np.stack(np.meshgrid(g, g))  # (2, res, res)
        # Banded level sets, white at the minimum and darker outwards (an image, not contours:
        # cheap to redraw when b or the angle moves).
        grey = np.round(255 * np.linspace(1.0, 0.78, self.LEVELS.size + 1)).astype(np.uint8)
        self.palette = np.stack([grey, grey, grey, np.full_like(grey, 255)], axis=1)  # RGBA
        self.bands = ax.imshow(
            np.full((self.RESOLUTION, self.RESOLUTION, 4), 255, np.uint8),
            origin="lower",
            extent=(-lim, lim, -lim, lim),
            interpolation="nearest",
        )
        live.animate(self.bands)  # first: everything else lies on top of it
        live.animate(ax.plot([0], [0], "k+", ms=10, mew=1.5)[0])
        ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal", xlabel="$x$", ylabel="$y$")
        ax.grid(False)
        self.paths, self.ends, self.curves, self.counts = {}, {}, {}, {}
        for m in optim.ZOO:
            color = plotting.METHOD_COLORS[m]
            (self.paths[m],) = ax.plot([], [], "o-", color=color, lw=1.3, ms=3, label=m, **kw)
            (self.ends[m],) = ax.plot([], [], "o", color=color, ms=7, mec="k", mew=0.8, **kw)
        self.title = ax.set_title(" ", animated=True)
        ax2.set(yscale="log", xlim=(0, steps), ylim=(self.FLOOR, 1e9))
        ax2.set_xlabel("iteration $k$")
        ax2.set_ylabel("loss $L(w_k)$")
        ax2.yaxis.set_major_formatter(_POWER_OF_TEN)
        ax2.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax2.axhline(tol, color="k", ls=":", lw=1)
        ax2.text(steps, tol * 3, f"tolerance {tol:g}", ha="right", va="bottom", fontsize=9.5)
        for m in optim.ZOO:
            (self.curves[m],) = ax2.plot(
                np.arange(steps + 1), np.ones(steps + 1), color=plotting.METHOD_COLORS[m],
                lw=1.6, label=m, **kw,
            )  # fmt: skip
        self.now = ax2.axvline(0, color="0.4", lw=1, **kw)
        ax2.set_title("the loss, on a log scale")
        # The colour key and the result below the panels: "GD: 47" per method shown, in its
        # colour, each in a fixed slot so that nothing jumps when methods come and go.
        fig.text(
            0.02, strip - 0.02, f"Iterations to reach L < {tol:g} (— never), in each method's "
            "colour:", fontsize=10.5, va="top",
        )  # fmt: skip
        for j, m in enumerate(optim.ZOO):
            x, y = 0.06 + 0.235 * (j % 4), strip - 0.095 - 0.07 * (j // 4)
            self.counts[m] = fig.text(
                x, y, "", color=plotting.METHOD_COLORS[m], fontsize=11, fontweight="bold",
                va="top", **kw,
            )  # fmt: skip
        self._shape: tuple[float, float] | None = None

    def _background(self, b: float, angle: float) -> None:
        if self._shape == (b, angle):
            return
        self._shape = (b, angle)
        loss = np.asarray(optim.bowl(self.grid, b, angle))
        self.bands.set_data(self.palette[np.digitize(loss, self.LEVELS)])

    def update(self, result: RaceResult, values: dict[str, Any]) -> None:
        b, angle = float(values["b"]), np.radians(float(values.get("angle", 0.0)))
        t = int(min(max(int(values["t"]), 0), result.paths.shape[1] - 1))
        chosen = set(values["methods"])
        self._background(b, angle)
        for i, m in enumerate(result.names):
            show = m in chosen
            path = np.clip(result.paths[i, : t + 1], -1e3, 1e3)
            self.paths[m].set_data(path[:, 0], path[:, 1])
            self.ends[m].set_data(path[-1:, 0], path[-1:, 1])
            self.curves[m].set_ydata(np.clip(result.losses[i], self.FLOOR, 1e12))
            n = int(result.counts[i])
            self.counts[m].set_text(f"{m}: {n if n >= 0 else '—'}")
            for artist in (self.paths[m], self.ends[m], self.curves[m], self.counts[m]):
                artist.set_visible(show)
        self.now.set_xdata([t, t])
        turned = f", turned {np.degrees(angle):.0f}°" if angle else ""
        self.title.set_text(f"L = x² + {b:.3g} y²{turned},  iteration {t}")

    def alt(self, result: RaceResult, values: dict[str, Any]) -> str:
        chosen = [m for m in result.names if m in set(values["methods"])]
        index = {m: i for i, m in enumerate(result.names)}
        counts = ", ".join(
            f"{m} {result.counts[index[m]]}" if result.counts[index[m]] >= 0 else f"{m} never"
            for m in chosen
        )
        return (
            f"Left: the paths of {', '.join(chosen) or 'no method'} on the level sets of the "
            f"bowl up to iteration {values['t']}. Right: their losses on a log scale; "
            f"iterations to reach the tolerance: {counts or 'none shown'}."
        )


def draw_race(
    result: RaceResult,
    methods: Iterable[str],
    t: int,
    b: float,
    angle: float = 0.0,
    *,
    tol: float = 1e-6,
    width: float = 4.6,
    height: float = 4.4,
) -> Figure:
    """The race at iteration ``t`` as a figure (``angle`` in radians): paths over the bowl's
    level sets, the loss curves (log scale) and the iteration counts of the chosen methods."""
    view = _RaceView(result.paths.shape[1] - 1, tol, width=width, height=height)
    values = {"methods": tuple(methods), "t": t, "b": b, "angle": np.degrees(angle)}
    view.update(result, values)
    view.live.render()
    return view.live.fig


def optimizer_race(*, steps: int = 300, tol: float = 1e-6) -> Demo:
    r"""Race GD, momentum, Nesterov, AdaGrad, RMSProp, AdaDelta and Adam on $x^2 + b\,y^2$.

    Controls: ``lr`` ($\alpha$ of GD, momentum and Nesterov), ``adaptive_lr`` ($\alpha$ of
    AdaGrad, RMSProp and Adam), ``beta`` (momentum), ``b`` (the bowl's $y$ curvature),
    ``angle`` (degrees the bowl is turned by: the adaptive methods lose their edge when its
    axes are not the coordinate axes),
    ``methods`` (which to show) and ``t`` (the iteration shown; the play button animates it).
    All seven methods are computed at once by one jitted scan (:func:`course_lib.optim.race_bowl`);
    ``methods`` and ``t`` only redraw.
    """

    def compute(
        lr: float, adaptive_lr: float, beta: float, b: float, angle: float = 0.0
    ) -> RaceResult:
        return race_bowl(lr, adaptive_lr, beta, b, np.radians(angle), steps=steps, tol=tol)

    def slider(kind: type, width: str = "340px", **kw: Any) -> W.ValueWidget:
        return kind(
            continuous_update=False,
            style={"description_width": "initial"},
            layout=W.Layout(width=width),
            **kw,
        )

    controls = {
        "lr": slider(
            W.FloatLogSlider,
            "400px",
            value=0.1,
            base=10,
            min=-2,
            max=np.log10(0.3),
            step=0.02,
            description="step α of GD, momentum, Nesterov",
            readout_format=".3f",
        ),
        "adaptive_lr": slider(
            W.FloatLogSlider,
            "400px",
            value=1.0,
            base=10,
            min=-1.5,
            max=1.5,
            step=0.05,
            description="step α of AdaGrad, RMSProp, Adam",
            readout_format=".3f",
        ),
        "beta": slider(
            W.FloatSlider, value=0.5, min=0.0, max=0.99, step=0.01, description="momentum β"
        ),
        "b": slider(W.FloatSlider, value=4.0, min=1.0, max=10.0, step=0.5, description="bowl b"),
        "angle": slider(
            W.FloatSlider, value=0.0, min=0.0, max=90.0, step=5.0, description="bowl turned by (°)"
        ),
        "methods": MethodToggles(optim.ZOO, ("GD", "momentum", "Adam"), "show"),
        "t": W.IntSlider(
            value=60,
            min=0,
            max=steps,
            description="iteration t",
            style={"description_width": "initial"},
            layout=W.Layout(width="400px"),
        ),
    }
    play = W.Play(value=60, min=0, max=100, step=1, interval=150, description="play")
    W.jslink((play, "value"), (controls["t"], "value"))
    return Demo(
        controls,
        compute,
        _RaceView(steps, tol),
        redraw_only={"methods", "t"},
        rows=[["lr", "adaptive_lr"], ["beta", "b", "angle"], ["methods"], ["t"]],
        play=play,
    )
