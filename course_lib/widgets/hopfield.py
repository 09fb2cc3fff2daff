"""Chapter 6a: a Hopfield network cleaning a corrupted glyph, live (noise level, letter, seed)."""

from __future__ import annotations

from typing import Any

import ipywidgets as W
import jax
import numpy as np

from course_lib import hopfield, plotting
from course_lib.widgets.demo import Demo, LiveFigure

_SIDE = 10


class _RecallView:
    """Left: the corrupted glyph (the start). Middle: where recall ends. Right: the energy
    after each single-unit update, with the stored letter's energy as a dashed line."""

    def __init__(self, energy_range: tuple[float, float], steps: int, sweeps: int) -> None:
        self.live = live = LiveFigure(3, width=3.1, height=3.3)
        ax0, ax1, ax2 = live.axes
        kw = {"animated": True, "cmap": "gray_r", "vmin": 0, "vmax": 1, "interpolation": "nearest"}
        blank = np.zeros((_SIDE, _SIDE))
        self.noisy = ax0.imshow(blank, **kw)
        self.recalled = ax1.imshow(blank, **kw)
        for ax in (ax0, ax1):
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
        self.t0 = ax0.set_title(" ", animated=True)
        self.t1 = ax1.set_title(" ", animated=True)
        x = np.arange(steps + 1)
        (self.trace,) = ax2.plot([], [], color=plotting.OKABE_ITO[0], lw=1.8,
                                 label="energy E(s)", animated=True)  # fmt: skip
        (self.target,) = ax2.plot([], [], "--", color=plotting.OKABE_ITO[3], lw=1.2,
                                  label="E of the stored letter", animated=True)  # fmt: skip
        self.x = x
        lo, hi = energy_range
        pad = 0.05 * (hi - lo)
        ax2.set(xlim=(0, steps), ylim=(lo - pad, hi + pad), xlabel="single-unit update")
        ax2.set_xticks(np.arange(0, steps + 1, steps // sweeps))
        ax2.set_ylabel("energy")
        ax2.legend(loc="upper right", fontsize=8.5)
        self.t2 = ax2.set_title(" ", animated=True)
        self.lo, self.hi = lo - pad, hi + pad

    def update(self, res: hopfield.GlyphRecall, values: dict[str, Any]) -> None:
        self.noisy.set_data(np.asarray(res.corrupted).reshape(_SIDE, _SIDE))
        self.recalled.set_data(np.asarray(res.recalled).reshape(_SIDE, _SIDE))
        flipped = int(round(100 * (1.0 - float(res.overlap_before))))
        right = int(round(100 * float(res.overlap_after)))
        self.t0.set_text(f"start: {flipped} bits flipped")
        self.t1.set_text(f"recalled: {right}/100 bits right")
        e = np.clip(np.asarray(res.energies, np.float64), self.lo, self.hi)
        self.trace.set_data(self.x, e)
        e_star = float(np.clip(self.stored[values["letter"]], self.lo, self.hi))
        self.target.set_data([self.x[0], self.x[-1]], [e_star, e_star])
        self.t2.set_text(f"energy {float(res.energies[0]):.0f} → {float(res.energies[-1]):.0f}")

    def alt(self, res: hopfield.GlyphRecall, values: dict[str, Any]) -> str:
        flipped = int(round(100 * (1.0 - float(res.overlap_before))))
        right = int(round(100 * float(res.overlap_after)))
        verdict = (
            "the stored letter exactly"
            if right == 100
            else f"a state that agrees with the stored letter in {right} of 100 pixels"
        )
        return (
            f"Left: the letter {values['letter']} with {flipped} of its 100 pixels flipped "
            f"(noise level {values['level']:.2f}, seed {values['seed']}). Middle: three "
            f"asynchronous sweeps of the Hopfield network end at {verdict}. Right: the energy "
            f"after each single-unit update never rises; it falls from "
            f"{float(res.energies[0]):.0f} to {float(res.energies[-1]):.0f}, against "
            f"{self.stored[values['letter']]:.0f} for the stored letter."
        )


def hopfield_recall_explorer(*, sweeps: int = 3, seed: int = 0) -> Demo:
    r"""Slide the noise level; pick the letter and the noise seed. Five 10 x 10 letters
    (:func:`course_lib.hopfield.glyphs`) are stored in the zero-bias $\pm1$ Hebbian network
    (as a 0/1 network via :func:`course_lib.hopfield.from_pm1`); each setting corrupts one and
    recalls it with ``sweeps`` asynchronous sweeps, in one jitted call whose letter index, noise
    level and key are traced (no control recompiles).
    """
    G = hopfield.glyphs()
    J, _ = hopfield.hebbian_pm1(hopfield.to_pm1(G))
    params = hopfield.from_pm1(J)
    base = jax.random.key(seed)
    names = list(hopfield.GLYPH_NAMES)

    # fixed energy axis: from the lowest stored letter to the highest of 64 random states
    randoms = hopfield.random_states(64, G.shape[1], key=jax.random.fold_in(base, 10_000))
    e_rand = np.asarray(hopfield.energy(params, randoms))
    e_store = np.asarray(hopfield.energy(params, G))
    view = _RecallView((float(e_store.min()), float(e_rand.max())), sweeps * G.shape[1], sweeps)
    view.stored = {name: float(e) for name, e in zip(names, e_store, strict=True)}

    def compute(level: float, letter: str, seed: int) -> hopfield.GlyphRecall:
        return hopfield.glyph_recall(
            params,
            G,
            index=names.index(letter),
            level=float(level),
            key=jax.random.fold_in(base, int(seed)),
            sweeps=sweeps,
        )

    controls = {
        "level": W.FloatSlider(
            value=0.2,
            min=0.0,
            max=0.5,
            step=0.02,
            description="noise level",
            readout_format=".2f",
            continuous_update=False,
        ),  # fmt: skip
        "letter": W.Dropdown(options=names, value="H", description="letter"),
        "seed": W.IntSlider(
            value=0, min=0, max=20, description="noise seed", continuous_update=False
        ),  # fmt: skip
    }
    return Demo(controls, compute, view)
