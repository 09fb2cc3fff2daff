"""Chapter 8d: local response normalization on one pixel's channel vector, live."""

from __future__ import annotations

from typing import Any, NamedTuple

import ipywidgets as W
import numpy as np

from course_lib import cnn_visualization, plotting
from course_lib.widgets.demo import Demo, LiveFigure


class LrnResult(NamedTuple):
    """One setting of :func:`lrn_explorer`."""

    a: np.ndarray  # (C,) the activations before normalization
    b: np.ndarray  # (C,) after LRN
    k: float
    alpha: float
    beta: float
    n: int


class _LrnView:
    """Left: a and b per channel. Right: both profiles scaled to their own maximum."""

    def __init__(self, a: np.ndarray) -> None:
        self.live = live = LiveFigure(2, width=4.3, height=3.4)
        ax, ax2 = live.axes
        ch = np.arange(a.size)
        kw = {"animated": True}
        ax.plot(ch, a, "o-", color="0.55", lw=1.4, ms=4, label="$a_i$ (before)")
        (self.b,) = ax.plot([], [], "s-", color=plotting.OKABE_ITO[0], lw=1.8, ms=4,
                            label="$b_i$ (after LRN)", **kw)  # fmt: skip
        ax.set(xlabel="channel $i$", ylabel="activation", ylim=(0.0, 1.05 * a.max()))
        ax.legend(loc="upper left", fontsize=8.5)
        ax2.plot(ch, a / a.max(), "o-", color="0.55", lw=1.4, ms=4, label="$a_i / \\max a$")
        (self.bn,) = ax2.plot([], [], "s-", color=plotting.OKABE_ITO[0], lw=1.8, ms=4,
                              label="$b_i / \\max b$", **kw)  # fmt: skip
        ax2.set(xlabel="channel $i$", ylabel="relative to the largest", ylim=(0.0, 1.08))
        ax2.legend(loc="upper left", fontsize=8.5)
        self.title = ax.set_title(" ", animated=True)
        self.title2 = ax2.set_title(" ", animated=True)
        self.ch = ch

    def update(self, res: LrnResult, values: dict[str, Any]) -> None:
        self.b.set_data(self.ch, res.b)
        self.bn.set_data(self.ch, res.b / res.b.max())
        self.title.set_text(f"k={res.k:.2g}, α={res.alpha:.0e}, β={res.beta:.2g}, n={res.n}")
        i = int(np.argmax(res.a))
        self.title2.set_text(f"peak kept {res.b[i] / res.a[i]:.2f} of itself")

    def alt(self, res: LrnResult, values: dict[str, Any]) -> str:
        i = int(np.argmax(res.a))
        return (
            f"Left: activations of {res.a.size} channels at one pixel before and after local "
            f"response normalization with k={res.k:.2g}, alpha={res.alpha:.0e}, "
            f"beta={res.beta:.2g}, n={res.n}; the peak channel {i} goes from "
            f"{res.a[i]:.0f} to {res.b[i]:.1f}. Right: both profiles divided by their maximum."
        )


def lrn_explorer(a: Any) -> Demo:
    r"""Move $k$, $\log_{10}\alpha$, $\beta$ and the window $n$ of
    :func:`course_lib.cnn_visualization.lrn` and see what it does to one channel vector ``a
    (C,)`` (positive, e.g. ReLU outputs). Every hyperparameter is a traced argument of the
    jitted ``lrn``: moving a slider never recompiles."""
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 1 or a.size < 2 or not np.all(a > 0):
        raise ValueError(f"`a` must be a 1-D vector of positive activations, got shape {a.shape}.")

    def compute(k: float, log_alpha: float, beta: float, n: int) -> LrnResult:
        alpha = 10.0**log_alpha
        b = np.asarray(cnn_visualization.lrn(a, k, alpha, beta, n))
        return LrnResult(a, b, float(k), alpha, float(beta), int(n))

    slider = {"continuous_update": True, "style": {"description_width": "initial"}}
    controls = {
        "k": W.FloatSlider(value=2.0, min=0.5, max=4.0, step=0.5, description="k", **slider),
        "log_alpha": W.FloatSlider(
            value=-4.0, min=-5.0, max=-2.0, step=0.5, description="log10 α", **slider
        ),
        "beta": W.FloatSlider(value=0.75, min=0.25, max=1.5, step=0.25, description="β", **slider),
        "n": W.IntSlider(value=5, min=1, max=11, step=2, description="window n", **slider),
    }
    return Demo(controls, compute, _LrnView(a))
