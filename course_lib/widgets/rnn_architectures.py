"""Chapter 7c: how a gradient travels back through time, with and without layer norm (§7.3.1)."""

from __future__ import annotations

from typing import Any

import ipywidgets as W
import numpy as np

from course_lib import plotting, rnn
from course_lib import rnn_architectures as ra
from course_lib.widgets.demo import Demo, LiveFigure

_YLIM = (1e-12, 1e12)


class _GradientFlowView:
    """One log-scale panel: the gradient norm against t, plain and layer-normed."""

    def __init__(self, T: int) -> None:
        self.live = live = LiveFigure(1, width=7.0, height=3.6)
        ax = live.ax
        ts = np.arange(1, T + 1)
        self.ts = ts
        (self.plain,) = ax.semilogy(ts, np.ones(T), "-o", ms=3, lw=1.8,
                                    color=plotting.OKABE_ITO[5], label="plain tanh RNN",
                                    animated=True)  # fmt: skip
        (self.ln,) = ax.semilogy(ts, np.ones(T), "-s", ms=3, lw=1.8,
                                 color=plotting.OKABE_ITO[2], label="with layer norm",
                                 animated=True)  # fmt: skip
        ax.axhline(1.0, color="0.6", lw=0.8, ls=":")
        ax.set(xlim=(0.5, T + 0.5), ylim=_YLIM, xlabel="time step $t$ (the loss reads $h_T$)",
               ylabel=r"$\|\partial L/\partial h_t\|$")  # fmt: skip
        ax.legend(loc="lower right", fontsize=9)
        self.title = ax.set_title(" ", animated=True)

    @staticmethod
    def _clip(v: np.ndarray) -> np.ndarray:
        return np.clip(np.asarray(v, np.float64), _YLIM[0] * 1.01, _YLIM[1] * 0.99)

    def update(self, res: ra.GradientNorms, values: dict[str, Any]) -> None:
        self.plain.set_data(self.ts, self._clip(res.plain))
        self.ln.set_data(self.ts, self._clip(res.layer_norm))
        self.ln.set_visible(bool(values["layer_norm"]))
        text = f"gain {values['gain']:.2f}: first/last plain {_ratio(res.plain):.1e}"
        if values["layer_norm"]:
            text += f", layer norm {_ratio(res.layer_norm):.1e}"
        self.title.set_text(text)

    def alt(self, res: ra.GradientNorms, values: dict[str, Any]) -> str:
        words = (
            f"The norm of the gradient of a loss on the last state with respect to each earlier "
            f"state h_t, on a log scale, for a tanh RNN whose recurrent matrix is scaled by "
            f"{values['gain']:.2f}. Without layer norm it changes by a factor "
            f"{_ratio(res.plain):.1e} from the last step to the first"
        )
        if values["layer_norm"]:
            words += f"; with layer norm by a factor {_ratio(res.layer_norm):.1e}"
        return words + "."


def _ratio(norms: Any) -> float:
    v = np.asarray(norms, np.float64)
    return float(v[0] / v[-1])


def gradient_flow_explorer(params: rnn.RNNParams, xs: Any) -> Demo:
    r"""Slide the gain of $W_{hh}$; toggle the layer-normed curve (§7.3, §7.3.1).

    Each gain is one call of :func:`course_lib.rnn_architectures.gradient_norms` (gain traced:
    no recompiles); the checkbox only redraws.
    """
    xs = np.asarray(xs)

    def compute(gain: float) -> ra.GradientNorms:
        return ra.gradient_norms(params, xs, gain=float(gain))

    controls = {
        "gain": W.FloatSlider(
            value=1.0,
            min=0.25,
            max=4.0,
            step=0.05,
            description="gain of W_hh",
            readout_format=".2f",
            continuous_update=False,
        ),  # fmt: skip
        "layer_norm": W.Checkbox(value=True, description="show the layer-normed RNN"),
    }
    return Demo(controls, compute, _GradientFlowView(xs.shape[0]), redraw_only=("layer_norm",))
