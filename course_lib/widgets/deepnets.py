"""Chapter 3c: gradients and activations through a deep network (depth explorer)."""

from __future__ import annotations

from typing import Any

import ipywidgets as W
import jax
import numpy as np
from matplotlib.ticker import MaxNLocator, NullLocator

from course_lib import (
    deepnets,
    plotting,
)
from course_lib.widgets.demo import Demo, LiveFigure


class _DepthView:
    """Left: the variance of the activations per layer. Right: the weight-gradient norms."""

    # Every setting of the controls fits: from a vanished tanh signal (~1e-37, drawn at the
    # floor) to an exploding ReLU one (~1e27). A slope on these axes is what matters.
    FLOOR = 1e-30
    YLIM = (1e-31, 1e31)

    def __init__(self, max_depth: int) -> None:
        self.live = live = LiveFigure(2, width=4.6, height=3.9)
        kw = {"animated": True}
        self.lines = []
        for ax, ylabel in zip(
            live.axes,
            (
                "variance of the activations Var$(h_l)$",
                "gradient norm $\\|\\partial L/\\partial W_l\\|$",
            ),
            strict=True,
        ):
            ax.set(yscale="log", xlim=(0.5, max_depth + 0.5), ylim=self.YLIM)
            ax.set_xlabel("layer $l$ (1 = next to the input)")
            ax.set_ylabel(ylabel)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_yticks(10.0 ** np.arange(-30, 31, 10))
            ax.yaxis.set_minor_locator(NullLocator())
            ax.axhline(1.0, color="0.6", lw=0.8)
            (line,) = ax.plot([], [], "o-", ms=3, lw=1.5, color=plotting.OKABE_ITO[0], **kw)
            self.lines.append(line)
        self.title = live.axes[0].set_title(" ", animated=True)
        self.title2 = live.axes[1].set_title(" ", animated=True)

    def update(self, stats: Any, values: dict[str, Any]) -> None:
        for line, series in zip(
            self.lines, (stats.activation_var, stats.weight_grad_norm), strict=True
        ):
            series = np.asarray(series, dtype=float)
            keep = np.isfinite(series)  # NaN: layers past the chosen depth
            line.set_data(np.arange(1, series.size + 1)[keep], np.maximum(series[keep], self.FLOOR))
        self.title.set_text(f"{values['activation']}, gain {values['gain']:.2f}: activations")
        self.title2.set_text(f"gradients: layer 1 / top = {self.ratio(stats):.2g}")

    @staticmethod
    def ratio(stats: Any) -> float:
        g = np.asarray(stats.weight_grad_norm, dtype=float)
        g = g[np.isfinite(g)]
        return float(g[0] / g[-1]) if g[-1] > 0 else float("inf")

    def alt(self, stats: Any, values: dict[str, Any]) -> str:
        r = self.ratio(stats)
        trend = "vanish" if r < 1e-2 else ("grow" if r > 1e2 else "keep their size")
        return (
            f"Per layer of a {values['depth']}-layer {values['activation']} network at "
            f"{values['gain']:.2f} times the Xavier scale: left, the variance of the "
            f"activations; right, the weight-gradient norms, which {trend} towards the input."
        )


def depth_explorer(*, max_depth: int = 30, width: int = 64, seed: int = 0) -> Demo:
    r"""Pick the activation, the depth and the initial scale; see what reaches each layer.

    Draws, per layer of a deep square network (:func:`course_lib.deepnets.depth_statistics`),
    the variance of the activations $h_l$ and the norm of the weight gradient
    $\|\partial L/\partial W_l\|$. The activation, depth and gain are traced arguments of one
    jitted function: moving any control never recompiles.
    """
    key = jax.random.key(seed)

    def compute(activation: str, depth: int, gain: float) -> Any:
        stats = deepnets.depth_statistics(
            activation, depth=depth, gain=gain, key=key, max_depth=max_depth, width=width
        )
        return jax.tree.map(np.asarray, stats)

    controls = {
        "activation": W.Dropdown(
            options=list(deepnets.DEPTH_ACTIVATIONS),
            value="tanh",
            description="activation Φ",
            style={"description_width": "initial"},
        ),
        "depth": W.IntSlider(
            value=min(20, max_depth),
            min=1,
            max=max_depth,
            description="depth",
            continuous_update=False,
        ),
        "gain": W.FloatLogSlider(
            value=1.0,
            base=2,
            min=-2,
            max=2,
            step=0.25,
            description="gain × Xavier",
            readout_format=".2f",
            continuous_update=False,
            style={"description_width": "initial"},
        ),
    }
    return Demo(controls, compute, _DepthView(max_depth))
