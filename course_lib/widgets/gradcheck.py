"""Chapter 3a: gradient checking, the relative error against the step epsilon.

The mathematics (the relative error of an MLP's backprop in both precisions and both
differences) lives in :func:`course_lib.gradcheck.mlp_relative_errors`; the old names
(``GRADCHECK_CONFIGS``, ``_gradcheck_rho``, ``_gradcheck_point``) stay importable here.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import ipywidgets as W
import numpy as np

from course_lib import (
    gradcheck,
    plotting,
)
from course_lib._types import Array
from course_lib.widgets.demo import Demo, LiveFigure

GRADCHECK_CONFIGS = gradcheck.PRECISION_CONFIGS
"""The four curves of :func:`gradcheck_explorer`, in the order of its results."""

_gradcheck_rho = gradcheck._mlp_rho
_gradcheck_point = gradcheck._mlp_rho_jit


def gradcheck_cache_size() -> int:
    """How many versions of the per-epsilon function are compiled (should stay 1)."""
    return gradcheck.mlp_relative_errors_cache_size()


class GradcheckResult(NamedTuple):
    """What :func:`gradcheck_explorer` computes for one epsilon."""

    eps: float
    rho: np.ndarray  # (4,) relative error for each of GRADCHECK_CONFIGS


#: colour and line style of each curve: float32 warm colours, float64 cool; central solid.
_STYLE = {
    ("float32", "forward"): (plotting.OKABE_ITO[1], "--"),
    ("float32", "central"): (plotting.OKABE_ITO[3], "-"),
    ("float64", "forward"): (plotting.OKABE_ITO[0], "--"),
    ("float64", "central"): (plotting.OKABE_ITO[2], "-"),
}


class _GradcheckView:
    """Left: the four V-shaped curves and the chosen step. Right: the four values at it."""

    FLOOR = 1e-17  # an exact match (rho = 0) cannot go on a log axis

    def __init__(self, eps_grid: np.ndarray, curves: np.ndarray, threshold: float) -> None:
        self.threshold = threshold
        self.live = live = LiveFigure(1, width=9.2, height=4.2)
        fig = live.fig
        live.ax.remove()
        ax, side = fig.subplots(1, 2, width_ratios=[2.3, 1.0])
        live.axes, live.ax = np.array([ax, side]), ax
        kw = {"animated": True}
        for k, cfg in enumerate(GRADCHECK_CONFIGS):
            color, ls = _STYLE[cfg]
            ax.plot(eps_grid, np.maximum(curves[:, k], self.FLOOR), ls=ls, color=color, lw=1.8)
        ax.axhline(threshold, color="k", ls=":", lw=1)
        ax.text(eps_grid[0], threshold * 2, f"threshold {threshold:g}", fontsize=9.5)
        ax.set(xscale="log", yscale="log", xlim=(eps_grid[0], eps_grid[-1]), ylim=(1e-13, 3.0))
        ax.set_xlabel(r"step $\epsilon$")
        ax.set_ylabel(r"relative error $\rho$")
        self.now = ax.axvline(eps_grid[0], color="0.4", lw=1, **kw)
        self.dots = [
            ax.plot([], [], "o", color=_STYLE[cfg][0], ms=8, mec="k", mew=0.6, **kw)[0]
            for cfg in GRADCHECK_CONFIGS
        ]
        self.title = ax.set_title(" ", animated=True)
        # Right: the key of the curves, each with its value at the chosen step.
        side.set_axis_off()
        side.set(xlim=(0, 1), ylim=(0, 1))
        side.set_title("ρ at this step", loc="left")
        self.values = []
        for k, cfg in enumerate(GRADCHECK_CONFIGS):
            color, ls = _STYLE[cfg]
            y = 0.88 - 0.22 * k
            side.plot([0.0, 0.16], [y, y], ls=ls, color=color, lw=2)
            side.text(0.22, y, f"{cfg[0]}, {cfg[1]}", va="center", fontsize=10.5)
            self.values.append(
                side.text(0.22, y - 0.09, "", va="center", fontsize=10.5, color="0.15", **kw)
            )

    def update(self, result: GradcheckResult, values: dict[str, Any]) -> None:
        self.now.set_xdata([result.eps, result.eps])
        for dot, text, rho in zip(self.dots, self.values, result.rho, strict=True):
            dot.set_data([result.eps], [max(rho, self.FLOOR)])
            verdict = "passes" if rho < self.threshold else "fails"
            text.set_text(f"ρ = {rho:.1e}  ({verdict})")
        self.title.set_text(f"step ε = {result.eps:.1e}")

    def alt(self, result: GradcheckResult, values: dict[str, Any]) -> str:
        passing = [
            f"{dt} {kind}"
            for (dt, kind), r in zip(GRADCHECK_CONFIGS, result.rho, strict=True)
            if r < self.threshold
        ]
        return (
            f"Four V-shaped curves of the relative error of backprop against finite differences "
            f"as the step shrinks, for forward and central differences in float32 and float64. "
            f"At the chosen step {result.eps:.0e}, "
            + (
                f"{' and '.join(passing)} pass{'es' if len(passing) == 1 else ''} the threshold."
                if passing
                else "none passes the threshold."
            )
        )


def gradcheck_explorer(
    params,
    X: Array,
    labels: Array,
    *,
    activation: str = "tanh",
    eps: float = 1e-6,
    grid: int = 45,
    threshold: float = 1e-6,
) -> Demo:
    r"""Slide $\epsilon$ (log scale, $10^{-12}$ to $10^{-1}$) and watch the relative error $\rho$.

    The four V-shaped curves ($\rho$ against $\epsilon$ for forward/central differences in
    float32/float64, Aggarwal §3.2.10) are computed once, on a grid, by the same jitted function
    that the slider calls for the chosen $\epsilon$
    (:func:`course_lib.gradcheck.mlp_relative_errors`); $\epsilon$ is traced, so moving the
    slider never recompiles (:func:`gradcheck_cache_size`). ``params`` (a tuple of
    ``mlp.Dense``) and ``X: (n, d)`` are cast to each precision inside.
    """
    eps_grid = np.logspace(-12, -1, grid)

    def rho(e: float) -> np.ndarray:
        return gradcheck.mlp_relative_errors(params, X, labels, e, activation=activation)

    curves = np.stack([rho(e) for e in eps_grid])  # (grid, 4)

    def compute(eps: float) -> GradcheckResult:
        return GradcheckResult(float(eps), rho(eps))

    controls = {
        "eps": W.FloatLogSlider(
            value=eps,
            base=10,
            min=-12,
            max=-1,
            step=0.25,
            description="step ε",
            readout_format=".1e",
            continuous_update=False,
        )
    }
    demo = Demo(controls, compute, _GradcheckView(eps_grid, curves, threshold))
    demo.curves = curves
    demo.eps_grid = eps_grid
    return demo
