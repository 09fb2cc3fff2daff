"""Chapter 1: the perceptron convergence theorem, live (margin explorer)."""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import ipywidgets as W
import jax
import jax.numpy as jnp
import numpy as np

from course_lib import (
    data,
    perceptron,
    plotting,
)
from course_lib._types import Array
from course_lib.widgets.demo import Demo, LiveFigure


class MarginRun(NamedTuple):
    """One keyed separable dataset and the perceptron's run on it."""

    data: data.SeparableData
    fit: perceptron.FitResult
    path: np.ndarray  # (num_updates + 1, 2) weights after each update
    num_updates: int
    bound: float
    converged: bool


@functools.partial(jax.jit, static_argnames=("n", "epochs"))
def _margin_run(key: Array, margin: Array, *, n: int, epochs: int):
    ds = data.linearly_separable(key=key, n=n, d=2, margin=margin, radius=1.0)
    return ds, perceptron.fit(ds.X, ds.y, epochs=epochs)


def _segment(w: np.ndarray, lim: float = 1.5) -> tuple[np.ndarray, np.ndarray]:
    """Two points of the line w . x = 0 (through the origin), far enough to cross the axes."""
    w = np.asarray(w, dtype=float)[:2]
    norm = np.hypot(*w)
    if norm == 0:
        return np.array([np.nan, np.nan]), np.array([np.nan, np.nan])
    d = np.array([-w[1], w[0]]) / norm * 3 * lim
    return np.array([-d[0], d[0]]), np.array([-d[1], d[1]])


class _MarginView:
    """Left: the data, the planted separator and w_t. Right: updates so far against the bound."""

    LIM = 1.15

    def __init__(self, n: int, epochs: int) -> None:
        self.n, self.epochs = n, epochs
        self.live = live = LiveFigure(2, width=4.6, height=4.7)
        ax, ax2 = live.axes
        lim = self.LIM
        ax.set(xlim=(-lim, lim), ylim=(-lim, lim), xlabel="$x_1$", ylabel="$x_2$", aspect="equal")
        kw = {"animated": True}
        self.pos = ax.scatter([], [], s=22, c=plotting.POS_COLOR, marker="o", label="$y=+1$", **kw)
        self.neg = ax.scatter([], [], s=26, c=plotting.NEG_COLOR, marker="x", label="$y=-1$", **kw)
        (self.planted,) = ax.plot(
            [], [], color="0.55", ls="--", lw=1.5, label="planted $w^\\star$", **kw
        )
        (self.current,) = ax.plot(
            [], [], color=plotting.BOUNDARY_COLOR, lw=2.5, label="$w_t$", **kw
        )
        self.ring = ax.scatter(
            [],
            [],
            s=190,
            facecolors="none",
            edgecolors="k",
            lw=1.5,
            label="caused update $t$",
            **kw,
        )
        # Below the panel, not on it: inside, any corner covers some seed's points.
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=3, fontsize=9.5)
        self.title = ax.set_title(" ", animated=True)
        # Right panel: cumulative updates on log-log axes wide enough for every slider setting
        # (the bound R^2/gamma^2 runs from 4 to 10^4), so the axes never move.
        ax2.set(xscale="log", yscale="log", xlim=(0.8 / n, epochs), ylim=(0.8, 2.5e4))
        ax2.set_xlabel("epoch (log scale)")
        ax2.set_ylabel("number of updates so far")
        (self.cum,) = ax2.plot(
            [], [], lw=2, color=plotting.OKABE_ITO[0], label="updates so far", **kw
        )
        (self.bound,) = ax2.plot(
            [], [], color=plotting.OKABE_ITO[3], ls="--", lw=2, label="bound $R^2/\\gamma^2$", **kw
        )
        (self.marker,) = ax2.plot([], [], "ko", ms=8, mfc="none", label="update $t$", **kw)
        ax2.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=2, fontsize=9.5)
        self.bound_text = ax2.text(epochs * 0.9, 1, "", ha="right", va="bottom", **kw)
        self.title2 = ax2.set_title(" ", animated=True)

    def update(self, run: MarginRun, values: dict[str, Any]) -> None:
        t = min(int(values["t"]), run.num_updates)
        X, y = np.asarray(run.data.X), np.asarray(run.data.y)
        self.pos.set_offsets(X[y > 0])
        self.neg.set_offsets(X[y <= 0])
        self.planted.set_data(*_segment(np.asarray(run.data.w_star), self.LIM))
        self.current.set_data(*_segment(run.path[t], self.LIM))
        updated = np.asarray(run.fit.history.updated).ravel()
        update_steps = np.flatnonzero(updated)
        if t > 0:
            i = int(np.asarray(run.fit.history.order).ravel()[update_steps[t - 1]])
            self.ring.set_offsets(X[i : i + 1])
            self.marker.set_data([(update_steps[t - 1] + 1) / self.n], [t])
        else:
            self.ring.set_offsets(np.zeros((0, 2)))
            self.marker.set_data([], [])
        self.title.set_text(f"after update {t} of {run.num_updates}")
        cum = np.cumsum(updated)
        steps = np.arange(1, cum.size + 1) / self.n
        keep = cum > 0  # log axes: start at the first update
        self.cum.set_data(steps[keep], cum[keep])
        self.bound.set_data([0.8 / self.n, self.epochs], [run.bound, run.bound])
        self.bound_text.set_position((self.epochs * 0.9, run.bound * 1.15))
        self.bound_text.set_text(f"$R^2/\\gamma^2 = {run.bound:.1f}$")
        status = "converged" if run.converged else f"not converged in {self.epochs} epochs"
        self.title2.set_text(f"{run.num_updates} updates, {status}")

    def alt(self, run: MarginRun, values: dict[str, Any]) -> str:
        return (
            f"Left: {self.n} points of two classes separated by a line through the origin, the "
            f"planted separator dashed and the perceptron's line after update {values['t']}. "
            f"Right: the number of updates so far, on log-log axes, levelling off below the "
            f"bound R^2/gamma^2 = {run.bound:.0f} drawn as a dashed line."
        )


def margin_explorer(*, n: int = 60, epochs: int = 60, seed: int = 0) -> Demo:
    r"""Move the margin $\gamma$ and the seed; watch the perceptron's updates and $R^2/\gamma^2$.

    Controls: ``margin`` (the requested $\gamma$, with $R = 1$), ``seed`` (the data key), and
    ``t``, which update of the run to show (a play button steps through them).
    """

    def compute(margin: float, seed: int) -> MarginRun:
        ds, fit = _margin_run(jax.random.key(seed), jnp.float32(margin), n=n, epochs=epochs)
        path = np.asarray(perceptron.update_path(fit))
        return MarginRun(
            ds, fit, path, int(fit.num_updates), float(ds.mistake_bound), bool(fit.converged)
        )

    def after_compute(demo: Demo, run: MarginRun) -> None:
        demo.controls["t"].max = run.num_updates
        demo.controls["t"].value = run.num_updates

    controls = {
        "margin": W.FloatLogSlider(
            value=0.1,
            base=10,
            min=-2,
            max=np.log10(0.5),
            step=0.05,
            description="margin γ",
            readout_format=".3f",
            continuous_update=False,
        ),
        "seed": W.IntSlider(
            value=seed, min=0, max=49, description="data seed", continuous_update=False
        ),
        "t": W.IntSlider(value=0, min=0, max=1, description="update t"),
    }
    play = W.Play(interval=600, min=0, description="play the updates")
    W.jslink((play, "value"), (controls["t"], "value"))
    W.jslink((controls["t"], "max"), (play, "max"))
    return Demo(
        controls,
        compute,
        _MarginView(n, epochs),
        redraw_only={"t"},
        after_compute=after_compute,
        play=play,
    )


def margin_run_cache_size() -> int:
    """How many times the explorer's jitted run has been compiled (for no-recompile checks)."""
    return _margin_run._cache_size()
