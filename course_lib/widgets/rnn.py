"""Chapter 7a: the spectral radius of W_hh against the gradient through time."""

from __future__ import annotations

import functools
from typing import Any

import ipywidgets as W
import jax
import numpy as np

from course_lib import (
    plotting,
    rnn,
)
from course_lib.widgets.demo import Demo
from course_lib.widgets.raster import RasterFigure, font, text_image

_FLOOR, _CEIL = 1e-12, 1e12  # the y-axis: wide enough for every slider setting


class _RadiusView:
    """The four curves of :func:`spectral_radius_explorer` on fixed log axes, the legend and
    the numbers (radius, norm, long-range factors, gradient norm) beside them."""

    def __init__(self, steps: int) -> None:
        self.steps = steps
        width_in, height_in = 9.3, 3.9
        self.live = live = RasterFigure(1, width=width_in, height=height_in)
        live.fig.set_layout_engine("none")  # fixed boxes: the numbers are pasted at known pixels
        ax = live.ax
        ax.set_position([0.95 / width_in, 0.6 / height_in, 5.0 / width_in, 2.95 / height_in])
        ax.set(yscale="log", xlim=(0, steps), ylim=(_FLOOR, _CEIL))
        ax.set_xlabel("steps back $T - t$")
        ax.set_ylabel("$\\|\\partial h_T/\\partial h_t\\|_2$ (log scale)")
        ax.set_title("How far back a gradient reaches")
        kw = {"animated": True}
        c = plotting.OKABE_ITO
        (self.linear,) = ax.plot([], [], lw=2, color=c[0], label="linear recurrence", **kw)
        (self.tanh,) = ax.plot([], [], lw=2, color=c[1], label="tanh recurrence", **kw)
        (self.law,) = ax.plot([], [], "k:", lw=1.5, label="$\\rho^{T-t}$", **kw)
        (self.bound,) = ax.plot(
            [], [], "--", color="0.4", lw=1.2, label="$\\|W_{hh}\\|_2^{T-t}$", **kw
        )
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
        # the numbers under the legend, pasted as pixels (a matplotlib text of six lines
        # costs more than the rest of the redraw; see course_lib.widgets.raster)
        dpi = live.fig.dpi
        self.font = font(11, dpi)
        self.readout_box = (round(6.15 * dpi), round(1.65 * dpi))  # (left, top) pixels
        self.readout_size = (round(3.1 * dpi), round(1.5 * dpi))

    def update(self, prof: Any, values: dict[str, Any]) -> None:
        rho = float(values["rho"])
        back = np.arange(self.steps + 1, dtype=float)
        clip = functools.partial(np.clip, a_min=_FLOOR / 10, a_max=_CEIL * 10)
        self.linear.set_data(back, clip(np.asarray(prof.linear, float)[::-1]))
        self.tanh.set_data(back, clip(np.asarray(prof.tanh, float)[::-1]))
        self.law.set_data(back, clip(rho**back))
        norm = float(prof.spectral_norm)
        self.bound.set_data(back, clip(norm**back))
        readout = (
            f"ρ(W_hh) = {rho:.2f}\n‖W_hh‖₂ = {norm:.2f}\n"
            f"‖∂h_T/∂h_0‖₂ = {float(prof.linear[0]):.2g} (linear)\n"
            f"                     {float(prof.tanh[0]):.2g} (tanh)\n"
            f"BPTT gradient ‖∇_W_hh L‖_F = {float(prof.grad_norm):.3g}"
        )
        image = text_image(readout, self.readout_size, self.font, align="left")
        self.live.rasters["readout"] = (*self.readout_box, image)

    def alt(self, prof: Any, values: dict[str, Any]) -> str:
        end = "below" if float(prof.linear[0]) < 1 else "above"
        return (
            "On a log scale against the number of steps back, the norm of the Jacobian product "
            f"of a linear and a tanh recurrence with spectral radius {values['rho']:.2f} and "
            f"non-normal part {values['shear']:.1f}, beside the law rho^(T-t) and the bound "
            f"||W_hh||^(T-t): the linear product ends {end} 1 after {self.steps} steps, and the "
            "tanh product stays under the bound."
        )


def spectral_radius_explorer(
    *, hidden: int = 16, steps: int = 40, input_dim: int = 3, output_dim: int = 5, seed: int = 0
) -> Demo:
    r"""Move the spectral radius $\rho$ of $W_{hh}$ and its non-normal part $s$; see
    $\|\partial h_T/\partial h_t\|_2$ by step.

    One fixed random RNN (input and output weights, a random input sequence and targets) whose
    recurrent matrix is $W_{hh} = \rho\,Q + s\,N$ (:func:`course_lib.rnn.nonnormal_parts`:
    $Q$ orthogonal, $N$ nilpotent in $Q$'s Schur basis), so its spectral radius is $\rho$ for
    every $s$; $s = 0$ gives a normal matrix. Draws the Jacobian-product norms for the linear
    and the tanh recurrence on a log scale, with the long-run law $\rho^{T-t}$ and the bound
    $\|W_{hh}\|_2^{T-t}$, and reports the BPTT gradient norm $\|\nabla_{W_{hh}}L\|_F$
    (:func:`course_lib.rnn.gradient_profile`, $\rho$ and $s$ traced: moving a slider never
    recompiles).
    """
    k = jax.random.split(jax.random.key(seed), 4)
    params = rnn.init(key=k[0], input_dim=input_dim, hidden_dim=hidden, output_dim=output_dim)
    W_unit, N_unit = rnn.nonnormal_parts(key=k[1], size=hidden)
    xs = jax.random.normal(k[2], (steps, input_dim))
    targets = jax.random.randint(k[3], (steps,), 0, output_dim)

    def compute(rho: float, shear: float = 0.0) -> Any:
        prof = rnn.gradient_profile(params, W_unit, xs, targets, rho, N_unit=N_unit, shear=shear)
        return jax.tree.map(np.asarray, prof)

    controls = {
        "rho": W.FloatSlider(
            value=0.9,
            min=0.1,
            max=2.0,
            step=0.05,
            description="ρ(W_hh)",
            readout_format=".2f",
            continuous_update=False,
        ),
        "shear": W.FloatSlider(
            value=0.0,
            min=0.0,
            max=2.0,
            step=0.1,
            description="non-normal s",
            readout_format=".1f",
            continuous_update=False,
            style={"description_width": "initial"},
        ),
    }
    demo = Demo(controls, compute, _RadiusView(steps))
    demo.params, demo.W_unit, demo.N_unit = params, W_unit, N_unit
    demo.xs, demo.targets = xs, targets
    return demo
