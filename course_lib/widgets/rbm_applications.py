"""Chapter 6c: Gibbs sampling from a trained digit RBM, step by step (Aggarwal §6.4-§6.5).

The chains are run once, when the widget is built (``steps_max`` block-Gibbs steps for six
held-out digits and for six random-noise images, with :func:`course_lib.rbm.sample_hidden`
and :func:`course_lib.rbm.sample_visible`); a move of a control only picks a step and a start
from those arrays, so nothing is computed or compiled while the sliders move.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import ipywidgets as W
import jax
import numpy as np

from course_lib import plotting, rbm
from course_lib.widgets.demo import Demo, LiveFigure

_STARTS = ("held-out digits", "random noise")


class GibbsChains(NamedTuple):
    """Precomputed chains: ``probs: (2, steps + 1, c, d)`` P(v = 1 | h_t) (for the pictures),
    ``free: (2, steps + 1, c)`` the free energy of the sampled v_t; axis 0 is the start
    (held-out digits, noise)."""

    probs: np.ndarray
    free: np.ndarray


def gibbs_chains(params: rbm.RBMParams, digits, *, key: jax.Array, steps: int) -> GibbsChains:
    """Run block-Gibbs chains v -> h -> v for ``steps`` steps from ``digits: (c, d)`` (binary)
    and from ``c`` random binary images; keep P(v | h_t) and F(v_t) at every step."""
    digits = np.asarray(digits, np.float32)
    c, d = digits.shape
    noise = np.asarray(jax.random.bernoulli(jax.random.fold_in(key, 0), 0.5, (c, d)), np.float32)
    probs = np.zeros((2, steps + 1, c, d), np.float32)
    free = np.zeros((2, steps + 1, c), np.float32)
    for s, start in enumerate((digits, noise)):
        v = start
        probs[s, 0] = v
        free[s, 0] = np.asarray(rbm.free_energy(params, v))
        for t in range(1, steps + 1):
            kt = jax.random.fold_in(key, 1000 * (s + 1) + t)
            h = rbm.sample_hidden(params, v, key=jax.random.fold_in(kt, 0))
            probs[s, t] = np.asarray(rbm.visible_probs(params, h))
            v = rbm.sample_visible(params, h, key=jax.random.fold_in(kt, 1))
            free[s, t] = np.asarray(rbm.free_energy(params, v))
    return GibbsChains(probs, free)


def _mosaic(images: np.ndarray) -> np.ndarray:
    """``(c, 64)`` -> one ``(8, 9c - 1)`` strip of 8x8 pictures with a blank column between."""
    c = images.shape[0]
    out = np.full((8, 9 * c - 1), np.nan, np.float32)
    for i in range(c):
        out[:, 9 * i : 9 * i + 8] = images[i].reshape(8, 8)
    return out


class _GibbsView:
    """Left: the six starting images (top) and P(v | h) after t steps (bottom). Right: the
    free energy of every chain against the step, a marker at t."""

    def __init__(self, chains: GibbsChains) -> None:
        self.chains = chains
        _, steps1, c, _ = chains.probs.shape
        self.live = live = LiveFigure(2, width=4.7, height=3.5)
        ax, ax2 = live.axes
        kw = {"animated": True}
        blank = _mosaic(np.zeros((c, 64), np.float32))
        cmap = "gray_r"
        # the y axis points down (as in an image): the starts on top, step t below them
        self.top = ax.imshow(blank, cmap=cmap, vmin=0, vmax=1, interpolation="nearest",
                             extent=(0, blank.shape[1], 8, 0), **kw)  # fmt: skip
        self.bottom = ax.imshow(blank, cmap=cmap, vmin=0, vmax=1, interpolation="nearest",
                                extent=(0, blank.shape[1], 18, 10), **kw)  # fmt: skip
        ax.set(xlim=(0, blank.shape[1]), ylim=(18, 0), xticks=[], yticks=[4, 14])
        ax.set_yticklabels(["start", "after t\nsteps"])
        ax.grid(False)
        for side in ("left", "bottom"):
            ax.spines[side].set_visible(False)
        self.title = ax.set_title(" ", animated=True)
        lo = float(np.min(chains.free)) - 2.0
        hi = float(np.max(chains.free)) + 2.0
        steps = np.arange(steps1)
        self.steps = steps
        self.lines = [
            ax2.plot([], [], lw=1.2, color=plotting.OKABE_ITO[i % 8], **kw)[0] for i in range(c)
        ]
        self.marker = ax2.axvline(0, color="0.2", lw=1.0, ls=":", animated=True)
        ax2.set(xlim=(0, steps1 - 1), ylim=(lo, hi), xlabel="Gibbs step t",
                ylabel="free energy F(v_t)")  # fmt: skip
        self.title2 = ax2.set_title(" ", animated=True)

    def update(self, res: tuple[int, int], values: dict[str, Any]) -> None:
        s, t = res
        self.top.set_data(_mosaic(self.chains.probs[s, 0]))
        self.bottom.set_data(_mosaic(self.chains.probs[s, t]))
        for i, line in enumerate(self.lines):
            line.set_data(self.steps, self.chains.free[s, :, i])
        self.marker.set_xdata([t, t])
        self.title.set_text(f"from {_STARTS[s]}: step t = {t}")
        self.title2.set_text(f"mean F(v_t) = {float(np.mean(self.chains.free[s, t])):.1f}")

    def alt(self, res: tuple[int, int], values: dict[str, Any]) -> str:
        s, t = res
        c = self.chains.probs.shape[2]
        return (
            f"Left: {c} Gibbs chains of the trained digit RBM started from {_STARTS[s]} (top) "
            f"and the probabilities P(v = 1 | h) after {t} block-Gibbs steps (bottom). Right: "
            f"the free energy of each chain's visible state against the step; at step {t} its "
            f"mean is {float(np.mean(self.chains.free[s, t])):.1f}, against "
            f"{float(np.mean(self.chains.free[s, 0])):.1f} at the start."
        )


def gibbs_explorer(params: rbm.RBMParams, digits, *, steps_max: int = 60, seed: int = 0) -> Demo:
    r"""Slide the number of Gibbs steps $t$ and pick the start (held-out digits or noise).

    ``digits: (c, 64)`` binary images (six is a good number). The chains are precomputed by
    :func:`gibbs_chains`; the controls only index them (no compile, no JAX work per move).
    """
    chains = gibbs_chains(params, digits, key=jax.random.key(seed), steps=steps_max)

    def compute(t: int, start: str) -> tuple[int, int]:
        return _STARTS.index(start), int(t)

    controls = {
        "t": W.IntSlider(
            value=5, min=0, max=steps_max, description="Gibbs steps t", continuous_update=True
        ),  # fmt: skip
        "start": W.ToggleButtons(options=list(_STARTS), value=_STARTS[0], description="start"),
    }
    return Demo(controls, compute, _GibbsView(chains))
