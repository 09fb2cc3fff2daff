"""Chapter 9c: what a DQN agent has learned, step by step (a stored training run, no training
per move)."""

from __future__ import annotations

from typing import Any, NamedTuple

import ipywidgets as W
import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.colors import ListedColormap

from course_lib import cartpole, dqn, plotting
from course_lib.widgets.demo import Demo, LiveFigure

#: The slice of state space the widget shows: pole angle and angular velocity, cart at rest.
THETA_MAX = cartpole.THETA_THRESHOLD
THETA_DOT_MAX = 2.0


class PolicyView(NamedTuple):
    """What :func:`q_policy_explorer` computes for one setting (plain NumPy arrays)."""

    steps: int  # environment steps of training so far
    run: int
    actions: np.ndarray  # (grid, grid) greedy action, rows = theta_dot, columns = theta
    gap: np.ndarray  # (grid, grid) Q(s, right) - Q(s, left)
    greedy_return: float
    right_fraction: float  # share of the grid where the greedy action pushes right
    agrees_with_lean: float  # share where it pushes towards the side the pole leans


def _fields(params, grid: int):
    """Q-values on the (theta, theta_dot) grid, cart at rest, for every run and chunk."""
    theta = jnp.linspace(-THETA_MAX, THETA_MAX, grid)
    theta_dot = jnp.linspace(-THETA_DOT_MAX, THETA_DOT_MAX, grid)
    tt, dd = jnp.meshgrid(theta, theta_dot)  # rows: theta_dot, columns: theta
    zeros = jnp.zeros_like(tt)
    obs = jnp.stack([zeros, zeros, tt, dd], axis=-1).astype(jnp.float32)  # (G, G, 4)
    q = jax.jit(jax.vmap(jax.vmap(dqn._q_values, (0, None)), (0, None)))(params, obs)
    return np.asarray(q, np.float64), np.asarray(tt), np.asarray(dd)


class _PolicyView:
    def __init__(self, steps: np.ndarray, curves: np.ndarray) -> None:
        self.live = live = LiveFigure(2, width=4.6, height=3.7)
        ax, ax2 = live.axes
        left, right = plotting.OKABE_ITO[1], plotting.OKABE_ITO[4]
        extent = (-np.degrees(THETA_MAX), np.degrees(THETA_MAX), -THETA_DOT_MAX, THETA_DOT_MAX)
        self.image = ax.imshow(
            np.zeros((2, 2)), cmap=ListedColormap([left, right]), vmin=0, vmax=1,
            extent=extent, origin="lower", aspect="auto", interpolation="nearest", animated=True,
        )  # fmt: skip
        ax.axhline(0.0, color="0.3", lw=0.6)
        ax.axvline(0.0, color="0.3", lw=0.6)
        ax.set(xlabel="pole angle θ (degrees, + = leaning right)",
               ylabel="angular velocity θ̇ (rad/s)")  # fmt: skip
        ax.plot([], [], "s", color=left, label="push left")
        ax.plot([], [], "s", color=right, label="push right")
        # below the axes: the (animated) image is drawn over anything inside them
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=8.5)
        x = np.asarray(steps) / 1000.0
        for c in curves:
            ax2.plot(x, c, color="0.75", lw=1.0)
        ax2.plot([], [], color="0.75", lw=1.0, label="the other runs")
        (self.curve,) = ax2.plot([], [], color=plotting.OKABE_ITO[0], lw=2.2,
                                 label="this run", animated=True)  # fmt: skip
        (self.dot,) = ax2.plot([], [], "o", ms=8, color=plotting.OKABE_ITO[5], animated=True)
        ax2.axhline(22.3, color="0.3", ls=":", lw=1.2, label="random policy (≈ 22)")
        ax2.set(xlim=(0, x[-1] * 1.02), ylim=(0, 520), xlabel="environment steps (thousands)",
                ylabel="greedy return")  # fmt: skip
        ax2.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, fontsize=8.5)
        self.x = x
        self.curves = curves
        self.title = ax.set_title(" ", animated=True)
        self.title2 = ax2.set_title(" ", animated=True)

    def update(self, res: PolicyView, values: dict[str, Any]) -> None:
        self.image.set_data(res.actions)
        k = int(values["chunk"]) - 1
        self.curve.set_data(self.x, self.curves[res.run])
        self.dot.set_data([self.x[k]], [res.greedy_return])
        self.title.set_text(
            f"run {res.run}, after {res.steps} steps: pushes right on "
            f"{100 * res.right_fraction:.0f}% of the grid"
        )
        self.title2.set_text(f"greedy return {res.greedy_return:.0f} of 500")

    def alt(self, res: PolicyView, values: dict[str, Any]) -> str:
        return (
            f"Left: the greedy action of DQN run {res.run} after {res.steps} environment steps "
            f"over the pole angle (horizontal) and angular velocity (vertical), with the cart at "
            f"rest: it pushes right on {100 * res.right_fraction:.0f}% of the grid, and towards "
            f"the side the pole leans and turns on {100 * res.agrees_with_lean:.0f}% of the "
            f"grid where both agree. Right: the greedy return of every run against training "
            f"steps; this run is at {res.greedy_return:.0f} of 500."
        )


def q_policy_explorer(run: dqn.DQNRun) -> Demo:
    r"""Slide through a stored :class:`course_lib.dqn.DQNRun`: the greedy action of the
    Q-network over $(\theta, \dot\theta)$ with the cart at rest, after each chunk of training.

    Every field is computed once when the widget is built (one jitted, vmapped call over all
    runs and chunks); a move only picks a stored picture, so nothing trains or compiles.
    """
    if not isinstance(run, dqn.DQNRun):
        raise TypeError(
            f"`run` must be the DQNRun that dqn.train() returns, got {type(run).__name__}."
        )
    grid = 81
    q, tt, dd = _fields(run.params, grid)  # (R, C, G, G, 2)
    actions = (q[..., 1] > q[..., 0]).astype(np.float64)
    gap = q[..., 1] - q[..., 0]
    curves = np.asarray(run.greedy_return, np.float64)
    steps = np.asarray(run.steps)
    n_runs, n_chunks = curves.shape
    lean = np.sign(tt) == np.sign(dd)  # where angle and angular velocity point the same way
    toward = (tt > 0).astype(np.float64)

    def compute(chunk: int, seed_run: int) -> PolicyView:
        k, r = int(chunk) - 1, int(seed_run)
        a = actions[r, k]
        return PolicyView(
            int(steps[k]), r, a, gap[r, k], float(curves[r, k]), float(a.mean()),
            float(np.mean(a[lean] == toward[lean])),
        )  # fmt: skip

    controls = {
        "chunk": W.IntSlider(
            value=n_chunks,
            min=1,
            max=n_chunks,
            description="training chunk",
            continuous_update=True,
        ),  # fmt: skip
        "seed_run": W.IntSlider(value=0, min=0, max=n_runs - 1, description="run"),
    }
    view = _PolicyView(steps, curves)
    return Demo(controls, compute, view)
