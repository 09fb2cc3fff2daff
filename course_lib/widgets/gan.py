"""Chapter 10c: a GAN's training replayed (step slider, setting, seed) and the sin(x + y) game
under gradient descent–ascent (start point and step size)."""

from __future__ import annotations

from typing import Any

import ipywidgets as W
import jax
import jax.numpy as jnp
import numpy as np

from course_lib import gan, minimax, plotting
from course_lib.widgets.demo import Demo, LiveFigure


class _ReplayView:
    """Left: the real ring and the generator's samples at the chosen step. Right: the modes
    covered against training steps for the chosen run, with a marker at the step."""

    def __init__(self, centres: np.ndarray, std: float, real: np.ndarray, n_snaps: int) -> None:
        self.live = live = LiveFigure(2, width=4.4, height=4.0)
        ax, ax2 = live.axes
        self.centres, self.std = centres, std
        ax.scatter(*real.T, s=4, color="0.75", label="real data")
        ax.scatter(*centres.T, marker="+", s=60, color="0.2", label="mode centres")
        self.fake = ax.scatter([], [], s=5, color=plotting.OKABE_ITO[5], animated=True,
                               label="generated")  # fmt: skip
        ax.set(xlim=(-gan.EXTENT, gan.EXTENT), ylim=(-gan.EXTENT, gan.EXTENT), aspect="equal",
               xlabel="$x_1$", ylabel="$x_2$")  # fmt: skip
        ax.legend(loc="lower left", fontsize=8, markerscale=2)
        (self.curve,) = ax2.plot([], [], "-o", ms=3, color=plotting.OKABE_ITO[0], lw=1.6,
                                 animated=True, label="modes covered")  # fmt: skip
        (self.qual,) = ax2.plot([], [], "-", color=plotting.OKABE_ITO[2], lw=1.4, animated=True,
                                label="high-quality fraction × 8")  # fmt: skip
        (self.dot,) = ax2.plot([], [], "o", ms=9, color=plotting.OKABE_ITO[3], animated=True)
        ax2.set(ylim=(-0.3, len(centres) + 0.5), xlabel="training iteration",
                ylabel="modes covered (of 8)")  # fmt: skip
        ax2.legend(loc="lower right", fontsize=8)
        self.title = ax.set_title(" ", animated=True)
        self.title2 = ax2.set_title(" ", animated=True)
        self.xmax: float | None = None

    def update(self, res: dict[str, Any], values: dict[str, Any]) -> None:
        t = int(values["step"])
        steps = res["steps"]
        if self.xmax != float(steps[-1]):
            self.xmax = float(steps[-1])
            self.live.axes[1].set_xlim(-0.02 * self.xmax, 1.02 * self.xmax)
            self.live.invalidate()
        self.fake.set_offsets(res["snaps"][t])
        self.curve.set_data(steps, res["covered"])
        self.qual.set_data(steps, 8 * res["quality"])
        self.dot.set_data([steps[t]], [res["covered"][t]])
        self.title.set_text(f"{values['setting']}, seed {values['seed']}: iteration {steps[t]}")
        self.title2.set_text(
            f"{res['covered'][t]} of 8 modes covered, {res['quality'][t]:.0%} high quality"
        )

    def alt(self, res: dict[str, Any], values: dict[str, Any]) -> str:
        t = int(values["step"])
        return (
            f"Left: 512 samples of the generator ({values['setting']}, seed {values['seed']}) "
            f"after {res['steps'][t]} training iterations, over the real ring of 8 Gaussians. "
            f"Right: the number of modes covered during training, {res['covered'][t]} of 8 at "
            f"this iteration, with {res['quality'][t]:.0%} of the samples within 3 standard "
            f"deviations of a mode."
        )


def gan_replay(runs: dict[str, gan.Run], *, std: float = 0.1, seed: int = 0) -> Demo:
    r"""Replay stored GAN runs: slide through the training iterations, pick a setting and a seed.

    ``runs`` maps a setting's name to a :class:`course_lib.gan.Run` trained for several seeds
    at once (a leading seed axis, e.g. from one call of :func:`course_lib.gan.train` with a
    batch of keys). Nothing is trained here: the step slider only redraws, and a change of
    setting or seed only looks up stored snapshots and their mode counts (computed once, here).
    """
    if not isinstance(runs, dict) or not runs:
        raise ValueError("`runs` must be a non-empty dict: setting name -> gan.Run.")
    centres = np.asarray(gan.ring_centres())
    table: dict[tuple[str, int], dict[str, Any]] = {}
    n_seeds = None
    for name, run in runs.items():
        snaps = np.asarray(run.snapshots)
        if snaps.ndim != 4:
            raise ValueError(
                f"runs[{name!r}] must hold several seeds: snapshots of shape (seeds, S, n, 2), "
                f"got {snaps.shape}."
            )
        n_seeds = snaps.shape[0] if n_seeds is None else min(n_seeds, snaps.shape[0])
        for s in range(snaps.shape[0]):
            cov = [gan.mode_coverage(x, centres, std) for x in snaps[s]]
            table[name, s] = {
                "snaps": snaps[s],
                "steps": np.asarray(run.snap_steps[s]),
                "covered": np.array([c[0] for c in cov]),
                "quality": np.array([c[1] for c in cov]),
            }
    first = next(iter(runs.values()))
    n_steps = int(np.asarray(first.snapshots).shape[1])
    real, _ = gan.ring_of_gaussians(key=jax.random.key(seed), n=800, std=std)

    def compute(setting: str, seed: int) -> dict[str, Any]:
        return table[setting, int(seed)]

    controls = {
        "step": W.IntSlider(
            value=n_steps - 1,
            min=0,
            max=n_steps - 1,
            description="snapshot",
            continuous_update=True,
        ),  # fmt: skip
        "setting": W.Dropdown(options=list(runs), value=next(iter(runs)), description="setting"),
        "seed": W.Dropdown(options=list(range(n_seeds)), value=0, description="seed"),
    }
    return Demo(controls, compute, _ReplayView(centres, std, np.asarray(real), n_steps),
                redraw_only=("step",))  # fmt: skip


class _GDAView:
    """The sin(x + y) landscape with a simultaneous and an alternating GDA path; right, f along
    each path."""

    def __init__(self, steps: int) -> None:
        self.live = live = LiveFigure(2, width=4.4, height=3.9)
        ax, ax2 = live.axes
        g = np.linspace(-4.0, 4.0, 161)
        X, Y = np.meshgrid(g, g)
        im = ax.contourf(X, Y, np.sin(X + Y), levels=15, cmap="RdBu_r", alpha=0.55)
        live.fig.colorbar(im, ax=ax, label=r"$f = \sin(x + y)$", shrink=0.85)
        (self.sim,) = ax.plot([], [], "-", color=plotting.OKABE_ITO[4], lw=1.8, animated=True,
                              label="simultaneous")  # fmt: skip
        (self.alt_,) = ax.plot([], [], "-", color="0.1", lw=1.8, animated=True,
                               label="alternating")  # fmt: skip
        (self.start,) = ax.plot([], [], "o", ms=8, color=plotting.OKABE_ITO[3], animated=True,
                                label="start")  # fmt: skip
        ax.set(xlim=(-4, 4), ylim=(-4, 4), aspect="equal", xlabel="$x$ (minimizes)",
               ylabel="$y$ (maximizes)")  # fmt: skip
        ax.legend(loc="lower left", fontsize=8)
        t = np.arange(steps + 1)
        self.t = t
        (self.f_sim,) = ax2.plot([], [], color=plotting.OKABE_ITO[4], lw=1.8, animated=True,
                                 label="simultaneous")  # fmt: skip
        (self.f_alt,) = ax2.plot([], [], color="0.1", lw=1.8, animated=True, label="alternating")
        ax2.set(xlim=(0, steps), ylim=(-1.1, 1.1), xlabel="step $t$",
                ylabel=r"$f(x_t, y_t)$")  # fmt: skip
        ax2.legend(loc="center right", fontsize=8)
        self.title = ax2.set_title(" ", animated=True)

    def update(self, res: dict[str, Any], values: dict[str, Any]) -> None:
        sim, alt = res["sim"], res["alt"]
        self.sim.set_data(sim[:, 0], sim[:, 1])
        self.alt_.set_data(alt[:, 0], alt[:, 1])
        self.start.set_data([values["x0"]], [values["y0"]])
        self.f_sim.set_data(self.t, np.sin(sim.sum(axis=1)))
        self.f_alt.set_data(self.t, np.sin(alt.sum(axis=1)))
        self.title.set_text(
            f"η = {values['eta']:.2f}: alternating ends at f = {res['f_alt']:+.3f}, "
            f"simultaneous at {res['f_sim']:+.3f}"
        )

    def alt(self, res: dict[str, Any], values: dict[str, Any]) -> str:
        return (
            f"Left: gradient descent in x and ascent in y on sin(x + y) from "
            f"({values['x0']:.1f}, {values['y0']:.1f}) with step {values['eta']:.2f}. The "
            f"simultaneous path slides along the line x + y = {values['x0'] + values['y0']:.2f}; "
            f"the alternating one bends towards a line where cos(x + y) = 0. Right: f along "
            f"both paths; the alternating one ends at {res['f_alt']:+.3f}, the simultaneous one "
            f"stays at {res['f_sim']:+.3f}."
        )


def gda_explorer(*, steps: int = 400) -> Demo:
    r"""Pick a start $(x_0, y_0)$ and a step size $\eta$; see simultaneous and alternating GDA on
    $\sin(x + y)$ (:func:`course_lib.minimax.gda`, one jitted scan whose start, $\eta$ and
    mode are traced: no control recompiles)."""

    def compute(x0: float, y0: float, eta: float) -> dict[str, Any]:
        both = jnp.array([False, True])  # simultaneous and alternating, in one call
        path = minimax.gda(jnp.float32(x0), jnp.float32(y0), eta=jnp.float32(eta), steps=steps,
                           alternating=both)  # fmt: skip
        path = np.asarray(path)
        sim, alt = path[:, 0], path[:, 1]  # (steps + 1, 2) each
        return {"sim": sim, "alt": alt, "f_sim": float(np.sin(sim[-1].sum())),
                "f_alt": float(np.sin(alt[-1].sum()))}  # fmt: skip

    def slider(value: float, lo: float, hi: float, step: float, name: str) -> W.FloatSlider:
        return W.FloatSlider(value=value, min=lo, max=hi, step=step, description=name,
                             readout_format=".2f", continuous_update=False)  # fmt: skip

    controls = {
        "x0": slider(-1.0, -3.0, 3.0, 0.1, "start x₀"),
        "y0": slider(0.5, -3.0, 3.0, 0.1, "start y₀"),
        "eta": slider(0.2, 0.02, 0.5, 0.02, "step η"),
    }
    return Demo(controls, compute, _GDAView(steps))
