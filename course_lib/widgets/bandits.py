"""Chapter 9a: four bandit strategies race, live (epsilon, K, the annealing constant, arms)."""

from __future__ import annotations

from typing import Any, NamedTuple

import ipywidgets as W
import jax
import numpy as np

from course_lib import bandits, plotting
from course_lib.widgets.demo import Demo, LiveFigure

#: The explorer's bandit: ten Bernoulli arms, the best (0.8) at index 1, so that every choice
#: of the number of arms (a prefix) contains it and no tie-break favours it.
EXPLORER_MEANS = (0.5, 0.8, 0.35, 0.7, 0.45, 0.65, 0.3, 0.6, 0.4, 0.55)
NAMES = ("naive (m = 10)", "ε-greedy", "annealed ε-greedy", "UCB (Eq 9.1)")
_STRIDE = 10  # the curves are drawn at every 10th pull


class RaceResult(NamedTuple):
    """What the explorer draws (NumPy)."""

    t: np.ndarray  # (P,) pull numbers drawn
    mean: np.ndarray  # (4, P) mean cumulative regret over the seeds
    low: np.ndarray  # (4, P) 10th percentile over the seeds
    high: np.ndarray  # (4, P) 90th percentile
    best_share: np.ndarray  # (4, P) fraction of seeds pulling the best arm at that pull
    final: np.ndarray  # (4,) mean regret after the last pull


def _summarize(run: bandits.BanditRun, best: int, steps: int) -> RaceResult:
    idx = np.arange(_STRIDE - 1, steps, _STRIDE)
    regret = np.asarray(run.regret)[:, :, idx]  # (4, R, P)
    arms = np.asarray(run.arms)[:, :, idx]
    sort = np.sort(regret, axis=1)
    r = regret.shape[1]
    lo, hi = int(0.1 * (r - 1)), int(round(0.9 * (r - 1)))
    return RaceResult(
        idx + 1.0,
        regret.mean(axis=1),
        sort[:, lo],
        sort[:, hi],
        (arms == best).mean(axis=1),
        np.asarray(run.regret)[:, :, -1].mean(axis=1),
    )


class _RaceView:
    """Left: mean cumulative regret with a 10-90 % band. Right: share of runs on the best arm."""

    def __init__(self, steps: int, y_top: float) -> None:
        self.live = live = LiveFigure(2, width=4.6, height=3.5)
        ax, ax2 = live.axes
        colors = [plotting.OKABE_ITO[i] for i in (1, 2, 5, 0)]
        self.lines, self.bands, self.share = [], [], []
        for name, color in zip(NAMES, colors, strict=True):
            band = ax.fill_between([0, 1], [0, 0], [0, 0], color=color, alpha=0.15, lw=0)
            live.animate(band)
            self.bands.append(band)
            self.lines.append(ax.plot([], [], color=color, lw=2, label=name, animated=True)[0])
            self.share.append(ax2.plot([], [], color=color, lw=1.8, animated=True)[0])
        ax.set(xlim=(0, steps), ylim=(0, y_top), xlabel="pull $t$",
               ylabel="cumulative expected regret")  # fmt: skip
        ax.legend(loc="upper left", fontsize=8.5)
        ax2.set(xlim=(0, steps), ylim=(0, 1.02), xlabel="pull $t$",
                ylabel="share of runs pulling the best arm")  # fmt: skip
        self.title = ax.set_title(" ", animated=True)
        self.title2 = ax2.set_title(" ", animated=True)
        self.y_top = y_top

    def update(self, res: RaceResult, values: dict[str, Any]) -> None:
        top = self.y_top * 0.999
        for i in range(4):
            self.lines[i].set_data(res.t, np.minimum(res.mean[i], top))
            lo, hi = np.minimum(res.low[i], top), np.minimum(res.high[i], top)
            verts = np.concatenate([np.c_[res.t, lo], np.c_[res.t[::-1], hi[::-1]]])
            self.bands[i].set_verts([verts])
            self.share[i].set_data(res.t, res.best_share[i])
        self.title.set_text(
            f"ε = {values['eps']:.2f}, K = {values['K']:.2f}, c = {values['c']:.0f}, "
            f"{values['arms']} arms"
        )
        best = int(np.argmin(res.final))
        self.title2.set_text(f"lowest regret: {NAMES[best]} ({res.final[best]:.0f})")

    def alt(self, res: RaceResult, values: dict[str, Any]) -> str:
        parts = ", ".join(f"{n} {f:.0f}" for n, f in zip(NAMES, res.final, strict=True))
        return (
            f"Left: cumulative expected regret over {int(res.t[-1])} pulls of a "
            f"{values['arms']}-armed Bernoulli bandit, mean and 10-90 percent band over the "
            f"runs, for four strategies (epsilon {values['eps']:.2f}, annealing constant "
            f"{values['c']:.0f}, UCB K {values['K']:.2f}); final mean regrets: {parts}. Right: "
            f"the share of runs pulling the best arm at each pull."
        )


def bandit_explorer(*, steps: int = 1000, seeds: int = 100, seed: int = 0) -> Demo:
    r"""Slide $\varepsilon$, $K$, the annealing constant $c$ and the number of arms; four
    strategies race on ``seeds`` runs of the same Bernoulli bandit.

    Each setting is one call of :func:`course_lib.bandits.simulate` (naive, $\varepsilon$-greedy,
    annealed $\varepsilon_t = \min(1, c/t)$ and UCB of Eq 9.1, stacked): every hyperparameter
    and the number of arms are traced (the bandit is padded to 10 arms), so no control ever
    recompiles.
    """
    key = jax.random.key(seed)
    full = bandits.bernoulli_bandit(np.asarray(EXPLORER_MEANS))
    best = int(np.argmax(EXPLORER_MEANS))

    def compute(eps: float, K: float, c: float, arms: int) -> RaceResult:
        strategies = bandits.stack(
            [
                bandits.strategy("naive", m=10),
                bandits.strategy("epsilon", eps=float(eps)),
                bandits.strategy("annealed", c=float(c)),
                bandits.strategy("ucb", K=float(K)),
            ]
        )
        run = bandits.simulate(
            bandits.with_arms(full, int(arms)), strategies, key=key, steps=steps, seeds=seeds
        )
        return _summarize(run, best, steps)

    controls = {
        "eps": W.FloatSlider(value=0.1, min=0.0, max=0.5, step=0.01, description="ε",
                             readout_format=".2f", continuous_update=False),
        "K": W.FloatSlider(value=3.0, min=0.0, max=5.0, step=0.25, description="UCB K",
                           readout_format=".2f", continuous_update=False),
        "c": W.FloatSlider(value=10.0, min=1.0, max=50.0, step=1.0, description="annealing c",
                           readout_format=".0f", continuous_update=False),
        "arms": W.IntSlider(value=10, min=2, max=10, description="arms",
                            continuous_update=False),
    }  # fmt: skip
    return Demo(controls, compute, _RaceView(steps, y_top=0.15 * steps))
