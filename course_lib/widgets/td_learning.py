"""Chapter 9b: Q-learning against SARSA on the cliff walk, live (ε, α, γ)."""

from __future__ import annotations

from typing import Any, NamedTuple

import ipywidgets as W
import jax
import numpy as np

from course_lib import mdp, plotting
from course_lib import td_learning as td
from course_lib.widgets.demo import Demo, LiveFigure

_NAMES = ("Q-learning", "SARSA")
_COLORS = (plotting.OKABE_ITO[1], plotting.OKABE_ITO[5])
_SMOOTH = 10  # episodes in the moving average of the return curves
_Y_LOW = -150.0


class CliffResult(NamedTuple):
    """One setting of :func:`cliff_explorer`: both methods on the same ``n`` keys."""

    paths: list  # [method][run] -> (k, 2) grid cells of the greedy path from the start
    reached: np.ndarray  # (2, n) bool: the greedy path reaches the goal
    lengths: np.ndarray  # (2, n) steps of those paths (-1 where they do not arrive)
    curves: np.ndarray  # (2, E - _SMOOTH + 1): moving average over episodes of the mean return
    final: np.ndarray  # (2,) mean online return over the last 100 episodes and all runs


def cliff_result(run: td.ControlRun, cliff: mdp.MDP) -> CliffResult:
    """Summarize a :func:`course_lib.td_learning.compare_control` run for the picture."""
    returns = np.asarray(run.returns, np.float64)  # (2, n, E)
    paths, reached, lengths = [], np.zeros(returns.shape[:2], bool), np.zeros(returns.shape[:2])
    for m in range(2):
        row = []
        for i in range(returns.shape[1]):
            acts = td.greedy_actions(run.Q[m, i], run.visits[m, i])
            states, _, ended = mdp.deterministic_path(cliff, acts, max_steps=60)
            row.append(mdp.grid_cells(states))
            reached[m, i] = ended
            lengths[m, i] = len(states) - 1 if ended else -1
        paths.append(row)
    mean = returns.mean(axis=1)
    kernel = np.ones(_SMOOTH) / _SMOOTH
    curves = np.stack([np.convolve(c, kernel, mode="valid") for c in mean])
    return CliffResult(paths, reached, lengths, curves, mean[:, -100:].mean(axis=1))


class _CliffView:
    """Left: the grid, the cliff, and every run's greedy path. Right: the return curves."""

    def __init__(self, n_runs: int, n_episodes: int) -> None:
        self.live = live = LiveFigure(1, 2, width=9.0, height=2.7)
        ax, ax2 = live.axes
        rows, cols = mdp.CLIFF_ROWS, mdp.CLIFF_COLS
        for r in range(rows + 1):
            ax.plot([-0.5, cols - 0.5], [r - 0.5, r - 0.5], color="0.8", lw=0.6)
        for c in range(cols + 1):
            ax.plot([c - 0.5, c - 0.5], [-0.5, rows - 0.5], color="0.8", lw=0.6)
        ax.fill_between([0.5, cols - 1.5], rows - 1.5, rows - 0.5, color="0.35", lw=0)
        ax.text(cols / 2 - 0.5, rows - 1, "the cliff (-100)", color="white", ha="center",
                va="center", fontsize=9)  # fmt: skip
        ax.text(0, rows - 1, "S", ha="center", va="center", fontsize=11, weight="bold")
        ax.text(cols - 1, rows - 1, "G", ha="center", va="center", fontsize=11, weight="bold")
        ax.set(xlim=(-0.6, cols - 0.4), ylim=(rows - 0.4, -0.6), xticks=[], yticks=[])
        ax.set_aspect("equal")
        self.offsets = (0.12, -0.12)  # the two methods' paths side by side, not on top
        self.paths = [
            [ax.plot([], [], color=_COLORS[m], lw=2.0, alpha=0.55, animated=True,
                     label=_NAMES[m] if i == 0 else None)[0] for i in range(n_runs)]
            for m in range(2)
        ]  # fmt: skip
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=9)
        x = np.arange(_SMOOTH, n_episodes + 1)
        self.x = x
        self.curves = [
            ax2.plot([], [], color=_COLORS[m], lw=1.8, label=_NAMES[m], animated=True)[0]
            for m in range(2)
        ]
        ax2.axhline(-13, color="0.3", lw=0.8, ls=":")
        ax2.text(n_episodes, -11, "best possible, -13", ha="right", fontsize=8.5, color="0.3")
        ax2.set(xlim=(0, n_episodes), ylim=(_Y_LOW, 0), xlabel="episode")
        ax2.set_ylabel("return per episode")
        ax2.text(n_episodes * 0.01, -8.0, f"mean of {n_runs} runs, moving average over "
                 f"{_SMOOTH} episodes", fontsize=8.5, color="0.3")  # fmt: skip
        ax2.legend(loc="lower right", fontsize=9, ncol=2)
        self.title = ax.set_title(" ", animated=True, fontsize=10)
        self.title2 = ax2.set_title(" ", animated=True, fontsize=10)

    def update(self, res: CliffResult, values: dict[str, Any]) -> None:
        for m in range(2):
            for line, cells in zip(self.paths[m], res.paths[m], strict=True):
                line.set_data(cells[:, 1] + self.offsets[m], cells[:, 0] + self.offsets[m])
            self.curves[m].set_data(self.x, np.maximum(res.curves[m], _Y_LOW * 0.999))
        self.title.set_text(
            f"ε = {values['eps']:.2f}, α = {values['alpha']:.2f}, γ = {values['gamma']:.2f}: "
            f"greedy paths of Q-learning {self._words(res, 0)}, of SARSA {self._words(res, 1)}"
        )
        self.title2.set_text(
            f"last 100 episodes: Q-learning {res.final[0]:.0f}, SARSA {res.final[1]:.0f}"
        )

    @staticmethod
    def _words(res: CliffResult, m: int) -> str:
        ok = res.lengths[m][res.reached[m]]
        if ok.size == 0:
            return "none arrive"
        return f"{int(np.median(ok))} steps"

    def alt(self, res: CliffResult, values: dict[str, Any]) -> str:
        n = res.reached.shape[1]
        parts = []
        for m in range(2):
            ok = res.lengths[m][res.reached[m]]
            edge = int(np.sum(ok == 13))
            parts.append(
                f"{_NAMES[m]}'s greedy paths reach the goal in {ok.size} of {n} runs, "
                f"{edge} of them along the cliff edge in 13 steps"
            )
        return (
            f"Cliff walk with eps {values['eps']:.2f}, alpha {values['alpha']:.2f}, gamma "
            f"{values['gamma']:.2f}. Left: the 4 by 12 grid with the cliff along the bottom; "
            f"{parts[0]}; {parts[1]}. Right: the online return per episode averaged over the "
            f"runs; over the last 100 episodes Q-learning averages {res.final[0]:.0f} and SARSA "
            f"{res.final[1]:.0f}."
        )


def cliff_explorer(
    *, n_runs: int = 5, n_episodes: int = 500, max_steps: int = 200, seed: int = 9
) -> Demo:
    r"""Slide ε (and α, γ): Q-learning and SARSA relearn the cliff walk at once.

    Each setting is one call of :func:`course_lib.td_learning.compare_control`: both methods,
    ``n_runs`` runs of ``n_episodes`` episodes each, in one compiled function whose ε, α and γ
    are traced (no control recompiles). The same ``(n_runs, n_episodes, max_steps)`` as the
    lecture's experiment share its compiled code.
    """
    cliff = mdp.cliff_walk()
    keys = jax.random.split(jax.random.key(seed), n_runs)

    def compute(eps: float, alpha: float, gamma: float) -> CliffResult:
        run = td.compare_control(
            cliff,
            keys=keys,
            n_episodes=n_episodes,
            alpha=float(alpha),
            gamma=float(gamma),
            eps=float(eps),
            max_steps=max_steps,
        )
        return cliff_result(run, cliff)

    slider = {"continuous_update": False, "readout_format": ".2f"}
    controls = {
        "eps": W.FloatSlider(
            value=0.1, min=0.0, max=0.3, step=0.02, description="ε (explore)", **slider
        ),  # fmt: skip
        "alpha": W.FloatSlider(
            value=0.1, min=0.05, max=1.0, step=0.05, description="α (step size)", **slider
        ),  # fmt: skip
        "gamma": W.FloatSlider(
            value=1.0, min=0.8, max=1.0, step=0.02, description="γ (discount)", **slider
        ),  # fmt: skip
    }
    return Demo(controls, compute, _CliffView(n_runs, n_episodes))
