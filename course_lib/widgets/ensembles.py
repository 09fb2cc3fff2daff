"""Chapter 4c: bagging and subsampling, live (number of bags and sample fraction)."""

from __future__ import annotations

from typing import Any

import ipywidgets as W
import jax
import numpy as np
from matplotlib.ticker import MaxNLocator

from course_lib import ensembles, plotting
from course_lib.widgets.demo import Demo, LiveFigure


class _BaggingView:
    """Left: the members fitted to one data set and their average. Right: Var ŷ(x₀) against m."""

    def __init__(self, m_max: int, x0: float, y_top: float) -> None:
        self.live = live = LiveFigure(2, width=4.6, height=3.7)
        ax, ax2 = live.axes
        kw = {"animated": True}
        grid = np.linspace(-1.0, 1.0, 121)
        ax.plot(grid, np.sin(np.pi * grid), color="0.2", lw=1.2, ls="--", label="true curve")
        self.members = [
            ax.plot([], [], color=plotting.OKABE_ITO[5], lw=0.6, alpha=0.6, **kw)[0]
            for _ in range(m_max)
        ]
        (self.bagged,) = ax.plot(
            [], [], color=plotting.OKABE_ITO[3], lw=2.2, label="average of the m bags", **kw
        )
        (self.points,) = ax.plot([], [], "o", ms=3.5, color="0.1", label="training data", **kw)
        ax.axvline(x0, color="0.5", lw=0.8, ls=":")
        ax.set(xlim=(-1.05, 1.05), ylim=(-2.5, 2.5), xlabel="$x$", ylabel="$y$")
        ax.legend(loc="lower left", fontsize=8.5)
        ms = np.arange(1, m_max + 1)
        (self.curve,) = ax2.plot([], [], "-", color=plotting.OKABE_ITO[0], lw=1.8,
                                 label="measured", **kw)  # fmt: skip
        (self.formula,) = ax2.plot([], [], ":", color="0.2", lw=1.4,
                                   label=r"$\rho\sigma^2 + (1-\rho)\sigma^2/m$", **kw)  # fmt: skip
        (self.full,) = ax2.plot([], [], "--", color=plotting.OKABE_ITO[2], lw=1.2,
                                label="one model on all n points", **kw)  # fmt: skip
        (self.dot,) = ax2.plot([], [], "o", ms=8, color=plotting.OKABE_ITO[3], **kw)
        self.ms = ms
        ax2.set(xlim=(0.5, m_max + 0.5), ylim=(0.0, y_top), xlabel="number of bags $m$")
        ax2.set_ylabel(r"variance of $\hat y(x_0)$ over data sets")
        ax2.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax2.legend(loc="upper right", fontsize=8.5)
        self.title = ax.set_title(" ", animated=True)
        self.title2 = ax2.set_title(" ", animated=True)
        self.y_top = y_top

    def update(self, res: ensembles.BaggingResult, values: dict[str, Any]) -> None:
        m = int(values["m"])
        for j, line in enumerate(self.members):
            if j < m:
                line.set_data(res.grid, res.members_grid[j])
            else:
                line.set_data([], [])
        self.bagged.set_data(res.grid, res.bagged_grid)
        self.points.set_data(res.x_train, res.y_train)
        top = self.y_top * 0.999  # a curve above the axis is drawn at its top edge
        self.curve.set_data(self.ms, np.minimum(res.var_curve, top))
        formula = ensembles.equicorrelated_variance(res.member_var, res.member_corr, self.ms)
        self.formula.set_data(self.ms, np.minimum(np.asarray(formula), top))
        self.full.set_data(self.ms, np.full(self.ms.size, min(float(res.full_var), top)))
        self.dot.set_data([m], [min(float(res.bagged_var), top)])
        how = "bootstrap" if values["replace"] else "subsample"
        self.title.set_text(f"{how}, s/n = {values['frac']:.2f}: {m} members")
        self.title2.set_text(
            f"m = {m}: {float(res.bagged_var):.3f} (plateau ρσ² = "
            f"{float(res.member_corr * res.member_var):.3f})"
        )

    def alt(self, res: ensembles.BaggingResult, values: dict[str, Any]) -> str:
        how = "with replacement" if values["replace"] else "without replacement"
        return (
            f"Left: {values['m']} degree-8 polynomials fitted to samples drawn {how} "
            f"(fraction {values['frac']:.2f}) of one set of 30 noisy points, and their average. "
            f"Right: the variance of the averaged prediction at x0 over 200 data sets against "
            f"the number of bags; it falls from {float(res.var_curve[0]):.3f} for one member "
            f"towards a plateau of about {float(res.member_corr * res.member_var):.3f}, against "
            f"{float(res.full_var):.3f} for one model fitted to all the points."
        )


def bagging_explorer(*, m_max: int = 30, x0: float = 0.9, seed: int = 0) -> Demo:
    r"""Slide the number of bags $m$ and the sample fraction $s/n$; toggle bootstrap/subsampling.

    Each setting is one call of :func:`course_lib.ensembles.bagging_experiment` (200 data sets,
    ``m_max`` members each, in one jitted float64 function whose ``frac``, ``m`` and
    ``replace`` are traced: no control ever recompiles). Members beyond $m$ are masked out of
    the average.
    """
    key = jax.random.key(seed)

    def compute(m: int, frac: float, replace: bool) -> ensembles.BaggingResult:
        return ensembles.bagging_experiment(
            key=key, frac=float(frac), m=int(m), replace=bool(replace), x0=x0, m_max=m_max
        )

    controls = {
        "m": W.IntSlider(value=10, min=1, max=m_max, description="bags m", continuous_update=False),
        "frac": W.FloatSlider(
            value=1.0,
            min=0.2,
            max=1.0,
            step=0.05,
            description="sample s/n",
            readout_format=".2f",
            continuous_update=False,
        ),
        "replace": W.Checkbox(value=True, description="with replacement (bootstrap)"),
    }
    return Demo(controls, compute, _BaggingView(m_max, x0, y_top=1.0))
