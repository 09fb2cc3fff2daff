"""Chapter 4a: model capacity against test error (the bias–variance explorer)."""

from __future__ import annotations

from typing import Any

import ipywidgets as W
import jax
import numpy as np
from matplotlib.ticker import MaxNLocator

from course_lib import generalization, plotting
from course_lib.widgets.demo import Demo, LiveFigure

_CURVES = 20  # fitted curves drawn on the left (the averages use every dataset)


class _CapacityView:
    """Left: the true curve and the fits of 20 training sets at one degree. Right: bias²,
    variance and test error against the degree, with the chosen degree marked."""

    YLIM_FIT = (-3.0, 3.5)
    YLIM_ERR = (1e-4, 1e4)

    def __init__(self, max_degree: int) -> None:
        self.live = live = LiveFigure(2, width=4.6, height=3.7)
        ax, ax2 = live.axes
        grid = np.linspace(*generalization.X_RANGE, 200)
        f = np.asarray(generalization.true_function(grid))
        ax.plot(grid, f, color="black", lw=2.0, label="true $f(x)$")
        ax.set(xlim=generalization.X_RANGE, ylim=self.YLIM_FIT, xlabel="$x$", ylabel="$y$")
        ax.axvline(generalization.X_TEST, color="0.7", lw=0.8, ls=":")
        self.fits = [
            ax.plot([], [], color=plotting.OKABE_ITO[4], lw=0.9, alpha=0.55, animated=True)[0]
            for _ in range(_CURVES)
        ]
        self.mean_fit = ax.plot(
            [], [], color=plotting.OKABE_ITO[5], lw=2.0, ls="--", animated=True,
            label="average fit",
        )[0]  # fmt: skip
        ax.legend(loc="lower left", fontsize=8)
        ax2.set(
            yscale="log",
            xlim=(-0.3, max_degree + 0.3),
            ylim=self.YLIM_ERR,
            xlabel="polynomial degree $d$",
            ylabel="error (mean over the test grid)",
        )
        ax2.xaxis.set_major_locator(MaxNLocator(integer=True))
        colors = plotting.OKABE_ITO
        self.lines = {
            name: ax2.plot([], [], marker, color=c, lw=1.6, ms=4, animated=True, label=label)[0]
            for name, marker, c, label in (
                ("bias2", "o-", colors[0], "bias²"),
                ("variance", "s-", colors[1], "variance"),
                ("test_mse", "^-", colors[2], "test MSE"),
            )
        }
        self.noise = ax2.axhline(1.0, color="0.5", lw=1.0, ls="--", animated=True)
        self.marker = ax2.axvline(0, color="0.3", lw=1.0, animated=True)
        ax2.legend(loc="upper left", fontsize=8)
        self.title = ax.set_title(" ", animated=True)
        self.title2 = ax2.set_title(" ", animated=True)

    def update(self, sweep: Any, values: dict[str, Any]) -> None:
        d = int(values["degree"])
        preds = sweep.predictions[d]  # (R, t)
        for line, p in zip(self.fits, preds[:_CURVES], strict=True):
            line.set_data(sweep.grid, np.clip(p, -1e3, 1e3))
        used = preds[: int(values["datasets"])]
        self.mean_fit.set_data(sweep.grid, np.clip(used.mean(axis=0), -1e3, 1e3))
        degrees = np.arange(sweep.bias2.shape[0])
        for name, line in self.lines.items():
            line.set_data(degrees, np.maximum(getattr(sweep, name), self.YLIM_ERR[0]))
        self.noise.set_ydata([values["sigma"] ** 2] * 2)
        self.marker.set_xdata([d, d])
        self.title.set_text(
            f"degree {d}: {_CURVES} of {values['datasets']} fits, n = {values['n']}"
        )
        self.title2.set_text(
            f"bias² {sweep.bias2[d]:.2g}, variance {sweep.variance[d]:.2g} (dashed: σ²)"
        )

    def alt(self, sweep: Any, values: dict[str, Any]) -> str:
        d = int(values["degree"])
        best = int(np.argmin(sweep.test_mse))
        return (
            f"Left: the true curve and polynomial fits of degree {d} to {_CURVES} training sets "
            f"of {values['n']} noisy points (noise sigma {values['sigma']:.2f}). Right, on a log "
            f"scale against the degree: bias squared, variance and test error over "
            f"{values['datasets']} training sets; the test error is lowest at degree {best}."
        )


def capacity_explorer(
    *, max_degree: int = 9, max_n: int = 60, max_datasets: int = 100, seed: int = 0
) -> Demo:
    r"""Degree, training-set size, noise and number of training sets against test error.

    Every setting is one call of :func:`course_lib.generalization.bias_variance_sweep` (all
    degrees $0..$``max_degree`` at once, training-set size, noise and number of datasets traced):
    moving a control never recompiles, and the degree slider only redraws.
    """
    key = jax.random.key(seed)
    degrees = list(range(max_degree + 1))

    def compute(n: int, sigma: float, datasets: int) -> Any:
        return generalization.bias_variance_sweep(
            key,
            degrees=degrees,
            n=n,
            sigma=sigma,
            datasets=datasets,
            max_degree=max_degree,
            max_n=max_n,
            max_datasets=max_datasets,
        )

    style = {"description_width": "initial"}
    controls = {
        "degree": W.IntSlider(value=3, min=0, max=max_degree, description="degree d", style=style),
        "n": W.IntSlider(
            value=min(20, max_n),
            min=3,
            max=max_n,
            description="training points n",
            continuous_update=False,
            style=style,
        ),  # fmt: skip
        "sigma": W.FloatSlider(
            value=0.5,
            min=0.05,
            max=1.5,
            step=0.05,
            description="noise σ",
            continuous_update=False,
            style=style,
        ),  # fmt: skip
        "datasets": W.IntSlider(
            value=max_datasets,
            min=10,
            max=max_datasets,
            step=10,
            description="training sets",
            continuous_update=False,
            style=style,
        ),  # fmt: skip
    }
    return Demo(controls, compute, _CapacityView(max_degree), redraw_only=["degree"])
