"""Chapter 1: activations and why their derivatives matter for depth (activation explorer)."""

from __future__ import annotations

from typing import Any, NamedTuple

import ipywidgets as W
import jax
import jax.numpy as jnp
import numpy as np

from course_lib import (
    activations,
    plotting,
)
from course_lib.widgets.demo import Demo, LiveFigure


class ChainResult(NamedTuple):
    """Derivatives along a chain of one-unit layers $x_l = \\Phi(w\\,x_{l-1})$."""

    depths: np.ndarray  # (max_depth,) 1..max_depth
    grads: np.ndarray  # (max_depth,) d x_L / d x_0 for each depth L
    bound: np.ndarray  # (max_depth,) (|w| * max |Phi'|)^L


def _curves(v: np.ndarray, dots: np.ndarray) -> dict[str, tuple[np.ndarray, ...]]:
    """Every activation's curves on the left panel's grid, computed once (the weight does not
    change them): name -> (Phi(v), Phi'(v) by hand, jax.grad of Phi at the dots)."""
    out = {}
    for name in activations.CHAIN_ACTIVATIONS:
        act = activations.get(name)
        autodiff = jax.vmap(jax.grad(lambda t, f=act.fn: f(t)))(jnp.asarray(dots))
        out[name] = (
            np.asarray(act.fn(jnp.asarray(v))),
            np.asarray(act.grad(jnp.asarray(v))),
            np.asarray(autodiff),
        )
    return out


class _ChainView:
    """Left: Phi, Phi' by hand and jax.grad, with the negative side zoomed. Right: the chain."""

    VLIM = (-3.0, 3.0)
    YLIM = (-1.3, 3.1)
    ZOOM_Y = (-0.04, 0.02)  # the inset: Phi for v < 0 at 100x the panel's vertical scale
    PROBE = -2.0  # where the slope of the negative side is read off

    def __init__(self, max_depth: int) -> None:
        self.live = live = LiveFigure(2, width=4.6, height=4.3)
        ax, ax2 = live.axes
        kw = {"animated": True}
        c = plotting.OKABE_ITO
        self.v = np.linspace(*self.VLIM, 401)
        self.dots = np.linspace(*self.VLIM, 25) + 0.013  # off the kinks, where grad picks a side
        self.curves = _curves(self.v, self.dots)
        self.slopes = {  # Phi'(PROBE) by hand, once per activation
            n: float(activations.get(n).grad(jnp.float32(self.PROBE)))
            for n in activations.CHAIN_ACTIVATIONS
        }
        ax.set(xlim=self.VLIM, ylim=self.YLIM, xlabel="$v$", ylabel="value")
        ax.axhline(0.0, color="0.6", lw=0.8)
        (self.fn,) = ax.plot([], [], lw=2.2, color=c[0], label="$\\Phi(v)$", **kw)
        (self.grad,) = ax.plot([], [], lw=2, ls="--", color=c[1], label="$\\Phi'(v)$ by hand", **kw)
        (self.auto,) = ax.plot([], [], "k.", ms=5, label="jax.grad of $\\Phi$", **kw)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncols=3, fontsize=9.5)
        self.formula = ax.text(
            0.97, 0.04, "", transform=ax.transAxes, ha="right", va="bottom", fontsize=11, **kw
        )
        self.title = ax.set_title(" ", animated=True)
        # The negative side at 100x: leaky ReLU's slope of 0.01 is invisible at the panel's
        # scale and is the whole difference from ReLU. The inset sits where no curve goes.
        inset = ax.inset_axes((0.09, 0.62, 0.44, 0.26))  # above Phi' = 1 and its labels
        inset.set(xlim=(self.VLIM[0], 0.0), ylim=self.ZOOM_Y)
        inset.axhline(0.0, color="0.6", lw=0.8)
        inset.set_title("$v < 0$, vertical scale ×100", fontsize=9)
        inset.tick_params(labelsize=9)
        inset.set_xticks([self.VLIM[0], self.PROBE, 0.0])
        inset.set_yticks([-0.03, 0.0])
        inset.patch.set_alpha(0.9)
        neg = self.v <= 0
        self.neg = neg
        (self.fn_zoom,) = inset.plot([], [], lw=2, color=c[0], **kw)
        self.slope = inset.text(
            0.97, 0.06, "", transform=inset.transAxes, ha="right", va="bottom", fontsize=9.5, **kw
        )
        # Right: |d x_L / d x_0| against the depth, on axes wide enough for every weight.
        depths = np.arange(1, max_depth + 1)
        ax2.set(yscale="log", xlim=(0.5, max_depth + 0.5), ylim=(1e-20, 1e10))
        ax2.set_xlabel("depth $L$ (layers)")
        ax2.set_ylabel("gradient size")
        ax2.axhline(1.0, color="0.6", lw=0.8)
        (self.chain,) = ax2.plot(
            depths, np.ones(max_depth), "o-", ms=3, color=c[0],
            label="$|\\partial x_L/\\partial x_0|$", **kw,
        )  # fmt: skip
        (self.bound,) = ax2.plot(
            depths, np.ones(max_depth), "--", lw=2, color=c[3],
            label="bound $(|w|\\,\\max|\\Phi'|)^L$", **kw,
        )  # fmt: skip
        ax2.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncols=2, fontsize=9.5)
        self.title2 = ax2.set_title(" ", animated=True)

    def update(self, res: ChainResult, values: dict[str, Any]) -> None:
        name = values["name"]
        fn, grad, auto = self.curves[name]
        self.fn.set_data(self.v, fn)
        self.grad.set_data(self.v, grad)
        self.auto.set_data(self.dots, auto)
        self.fn_zoom.set_data(self.v[self.neg], fn[self.neg])
        self.slope.set_text(f"slope at $v = {self.PROBE:g}$: {self.slopes[name]:.3g}")
        self.title.set_text(f"$\\Phi$ = {name}")
        self.formula.set_text(f"$\\Phi(v) = {activations.get(name).formula}$")
        floor = 1e-30  # a vanished gradient still shows, at the bottom
        self.chain.set_ydata(np.maximum(np.abs(res.grads), floor))
        self.bound.set_ydata(np.maximum(res.bound, floor))
        self.title2.set_text(f"through $L$ layers, $w$ = {values['weight']:.2f}")

    def alt(self, res: ChainResult, values: dict[str, Any]) -> str:
        g = abs(float(res.grads[-1]))
        trend = "vanishes" if g < 1e-3 else ("explodes" if g > 1e3 else "stays moderate")
        return (
            f"Left: the activation {values['name']} and its derivative, with the negative side "
            f"magnified in an inset. Right: the gradient through a chain of one-unit layers "
            f"with weight {values['weight']:.2f}, which {trend} with depth, under its bound."
        )


def activation_explorer(*, max_depth: int = 30) -> Demo:
    """Pick an activation and a weight; see $\\Phi$, $\\Phi'$ and the gradient through L layers."""
    max_depth_ = int(max_depth)

    def compute(name: str, weight: float) -> ChainResult:
        g = np.asarray(activations.chain_gradients(name, weight, max_depth=max_depth_))
        bound = np.asarray(activations.chain_gradient_bound(name, weight, max_depth=max_depth_))
        return ChainResult(np.arange(1, max_depth_ + 1), g, bound)

    controls = {
        "name": W.Dropdown(
            options=list(activations.CHAIN_ACTIVATIONS),
            value="sigmoid",
            description="activation Φ",
            style={"description_width": "initial"},
        ),
        "weight": W.FloatSlider(
            value=1.0, min=0.25, max=4.0, step=0.05, description="weight w", continuous_update=False
        ),
    }
    return Demo(controls, compute, _ChainView(max_depth_))
