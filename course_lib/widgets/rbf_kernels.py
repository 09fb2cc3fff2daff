"""Chapter 5b: RBF ridge, kernel ridge and exact interpolation, live (bandwidth and penalty)."""

from __future__ import annotations

from typing import Any

import ipywidgets as W
import jax
import numpy as np

from course_lib import kernel_methods, plotting
from course_lib.widgets.demo import Demo, LiveFigure

_YLIM = (-3.0, 3.0)
_ERR_LIM = (3e-3, 30.0)


class _RidgeView:
    """Left: the data, the true curve and the three fits. Right: held-out error against lambda."""

    def __init__(self, x, y, grid, lams) -> None:
        self.live = live = LiveFigure(2, width=4.6, height=3.7)
        ax, ax2 = live.axes
        kw = {"animated": True}
        ax.plot(
            grid, kernel_methods.wavy_curve(grid), color="0.2", lw=1.2, ls="--", label="true curve"
        )
        ax.plot(x, y, "o", ms=4, color="0.1", label="training data")
        (self.interp,) = ax.plot(
            [],
            [],
            color=plotting.OKABE_ITO[5],
            lw=1.0,
            alpha=0.8,
            label=r"interpolation $K^{-1}y$",
            **kw,
        )
        (self.rbf,) = ax.plot(
            [],
            [],
            color=plotting.OKABE_ITO[0],
            lw=2.2,
            label=r"RBF ridge $(K^2+\lambda I)^{-1}Ky$",
            **kw,
        )
        (self.kernel,) = ax.plot(
            [],
            [],
            color=plotting.OKABE_ITO[3],
            lw=1.6,
            ls="-.",
            label=r"kernel ridge $(K+\lambda I)^{-1}y$",
            **kw,
        )
        ax.set(xlim=(grid[0], grid[-1]), ylim=_YLIM, xlabel="$x$", ylabel="$y$")
        ax.legend(loc="lower right", fontsize=8)
        self.lams = lams
        (self.sweep_rbf,) = ax2.plot(
            [], [], color=plotting.OKABE_ITO[0], lw=1.8, label="RBF ridge", **kw
        )
        (self.sweep_kernel,) = ax2.plot(
            [], [], color=plotting.OKABE_ITO[3], lw=1.6, ls="-.", label="kernel ridge", **kw
        )
        (self.dots,) = ax2.plot([], [], "o", ms=7, color="0.1", **kw)
        ax2.set(
            xscale="log",
            yscale="log",
            xlim=(lams[0], lams[-1]),
            ylim=_ERR_LIM,
            xlabel=r"penalty $\lambda$",
            ylabel="held-out mean squared error",
        )
        ax2.legend(loc="upper left", fontsize=8.5)
        self.title = ax.set_title(" ", animated=True)
        self.title2 = ax2.set_title(" ", animated=True)
        self.grid = grid

    def update(self, res: kernel_methods.RidgeComparison, values: dict[str, Any]) -> None:
        lo, hi = _YLIM[0] * 1.5, _YLIM[1] * 1.5  # an exploding interpolant leaves the axes
        self.interp.set_data(self.grid, np.clip(np.asarray(res.grid_interp), lo, hi))
        self.rbf.set_data(self.grid, np.asarray(res.grid_rbf))
        self.kernel.set_data(self.grid, np.asarray(res.grid_kernel))
        sweep = np.clip(np.asarray(res.sweep_mse), *_ERR_LIM)
        self.sweep_rbf.set_data(self.lams, sweep[0])
        self.sweep_kernel.set_data(self.lams, sweep[1])
        mse = np.clip(np.asarray(res.test_mse), *_ERR_LIM)
        self.dots.set_data([values["lam"]] * 2, mse[:2])
        self.title.set_text(f"σ = {values['sigma']:.2f}, λ = {values['lam']:.0e}")
        self.title2.set_text(f"largest gap between the fits: {float(res.max_diff):.2f}")

    def alt(self, res: kernel_methods.RidgeComparison, values: dict[str, Any]) -> str:
        mse = np.asarray(res.test_mse)
        return (
            f"Left: 30 noisy points of a wavy curve and three fits with a Gaussian kernel of "
            f"width sigma = {values['sigma']:.2f} on every point: the exact interpolant "
            f"(held-out error {mse[2]:.3g}), the RBF ridge fit and the kernel ridge fit at "
            f"lambda = {values['lam']:.0e} (held-out errors {mse[0]:.3g} and {mse[1]:.3g}; "
            f"they differ by up to {float(res.max_diff):.2f}). Right: the two ridge fits' "
            f"held-out error against lambda, with the current lambda marked."
        )


def ridge_explorer(*, n: int = 30, seed: int = 0) -> Demo:
    r"""Slide the bandwidth $\sigma$ and the penalty $\lambda$ of an RBF network with a prototype
    on every one of ``n`` points, and compare its ridge output layer with kernel ridge
    regression and with exact interpolation (Aggarwal §5.3.4, §5.4; erratum E14).

    Each setting is one call of :func:`course_lib.kernel_methods.ridge_comparison` (float64,
    one eigendecomposition of $K$; ``sigma`` and ``lam`` traced: nothing recompiles).
    """
    key = jax.random.key(seed)
    x, y = kernel_methods.noisy_curve(key=key, n=n)
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    grid = np.linspace(-3.0, 3.0, 241)
    f_grid = np.asarray(kernel_methods.wavy_curve(grid), np.float64)
    lams = np.logspace(-6, 1, 29)

    def compute(sigma: float, lam: float) -> kernel_methods.RidgeComparison:
        return kernel_methods.ridge_comparison(
            x, y, grid, f_grid, grid, sigma=float(sigma), lam=float(lam), lams=lams
        )

    controls = {
        "sigma": W.FloatLogSlider(
            value=0.4,
            base=10,
            min=-1,
            max=0.3,
            step=0.05,
            description="bandwidth σ",
            readout_format=".2f",
            continuous_update=False,
            style={"description_width": "initial"},
        ),
        "lam": W.FloatLogSlider(
            value=0.1,
            base=10,
            min=-6,
            max=1,
            step=0.25,
            description="penalty λ",
            readout_format=".0e",
            continuous_update=False,
            style={"description_width": "initial"},
        ),
    }
    return Demo(controls, compute, _RidgeView(x, y, grid, lams))


def ridge_explorer_cache_size() -> int:
    """How many times the widget's jitted computation has been compiled."""
    return kernel_methods.ridge_comparison_cache_size()
