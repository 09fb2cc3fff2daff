"""Chapter 3e: prune and quantize a trained digits MLP, live.

Two controls, the fraction of each layer's weights pruned and the bits per remaining weight;
the picture shows the first layer's weights after compression and the test accuracy against
the model's size. One jitted function (:func:`course_lib.compression.evaluate`) with traced
fraction and bits: no move recompiles.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import ipywidgets as W
import numpy as np

from course_lib import compression, plotting
from course_lib.widgets.demo import Demo, LiveFigure

#: the bit widths offered (32 = the trained float weights, no quantization)
BITS = (2, 3, 4, 6, 8, 32)
_EDGES = np.linspace(-1.0, 1.0, 61)  # histogram bins, in units of the largest |weight|


class CompressionResult(NamedTuple):
    """One setting of :func:`compression_explorer`."""

    accuracy: float  # test accuracy of the compressed network
    kbytes: float  # its size in kilobytes (:func:`course_lib.compression.size_bits` / 8000)
    counts: np.ndarray  # (60,) histogram of the first layer's weights / max |W| (zeros left out)
    zeros: float  # fraction of the first layer's weights that are 0
    levels: int  # distinct nonzero values in the first layer


class _CompressionView:
    def __init__(self, curves: dict[str, np.ndarray], full: tuple[float, float]) -> None:
        self.live = live = LiveFigure(2, width=4.3, height=3.5)
        ax, ax2 = live.axes
        kw = {"animated": True}
        self.hist = ax.stairs(np.zeros(len(_EDGES) - 1), _EDGES, fill=True,
                              color=plotting.OKABE_ITO[4], **kw)  # fmt: skip
        ax.set(xlim=(-1, 1), yscale="symlog", ylim=(0, 2000), ylabel="count (zeros left out)",
               xlabel="weight / largest |weight|, first layer")  # fmt: skip
        for (name, c), col, mark in zip(curves.items(), plotting.OKABE_ITO[1:3], "os", strict=True):
            ax2.plot(c[0], c[1], mark + "-", color=col, ms=4, lw=1.4, label=name)
        ax2.plot([full[0]], [full[1]], "k*", ms=9, label="trained (32-bit)")
        (self.dot,) = ax2.plot([], [], "o", ms=12, mfc="none", mec="0.1", mew=1.6, **kw)
        ax2.set(xscale="log", ylim=(0.0, 1.02), xlabel="size of the weights (kB, log scale)",
                ylabel="test accuracy")  # fmt: skip
        ax2.legend(loc="lower right", fontsize=8.5)
        self.title = ax.set_title(" ", animated=True)
        self.title2 = ax2.set_title(" ", animated=True)

    def update(self, res: CompressionResult, values: dict[str, Any]) -> None:
        self.hist.set_data(res.counts, _EDGES)
        self.dot.set_data([res.kbytes], [res.accuracy])
        self.title.set_text(f"{res.zeros:.0%} zeros, {res.levels} other values")
        self.title2.set_text(f"accuracy {res.accuracy:.3f} at {res.kbytes:.1f} kB")

    def alt(self, res: CompressionResult, values: dict[str, Any]) -> str:
        bits = int(values["bits"])
        how = "32-bit floats" if bits >= 32 else f"{bits}-bit integers"
        return (
            f"Left: histogram of the first layer's weights after pruning "
            f"{values['fraction']:.0%} of each layer and storing the rest as {how}: "
            f"{res.zeros:.0%} are zero and the others take {res.levels} distinct values. "
            f"Right: test accuracy against size for pruning alone and quantization alone; "
            f"this setting scores {res.accuracy:.3f} at {res.kbytes:.1f} kB."
        )


def compression_explorer(params: tuple, X: Any, y: Any, *, activation: str = "relu") -> Demo:
    """Slide the pruned fraction and the bit width of a trained MLP ``params`` (from
    :func:`course_lib.mlp.init`/``train``); scored on ``X (n, d)``, ``y (n,)``.

    The two reference curves (pruning alone, quantization alone) are computed once here with
    the same jitted function that every move calls.
    """

    def run(fraction: float, bits: int) -> tuple[float, tuple]:
        acc, small = compression.evaluate(params, X, y, float(fraction), int(bits),
                                          activation=activation)  # fmt: skip
        return float(acc), small

    def kb(fraction: float, bits: int) -> float:
        return compression.size_bits(params, float(fraction), int(bits)) / 8000.0

    fractions = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95)
    curves = {
        "pruning only": np.array(
            [[kb(f, 32) for f in fractions], [run(f, 32)[0] for f in fractions]]
        ),  # fmt: skip
        "quantization only": np.array([[kb(0.0, b) for b in BITS], [run(0.0, b)[0] for b in BITS]]),
    }
    full = (kb(0.0, 32), curves["pruning only"][1, 0])

    def compute(fraction: float, bits: int) -> CompressionResult:
        acc, small = run(fraction, bits)
        W1 = np.asarray(small[0].W).ravel()
        nz = W1[W1 != 0]
        top = np.abs(np.asarray(params[0].W)).max()
        counts = np.histogram(nz / top, bins=_EDGES)[0].astype(float)
        return CompressionResult(acc, kb(fraction, bits), counts, float(np.mean(W1 == 0)),
                                 int(np.unique(nz).size))  # fmt: skip

    controls = {
        "fraction": W.FloatSlider(
            value=0.5,
            min=0.0,
            max=0.95,
            step=0.05,
            description="pruned fraction",
            readout_format=".2f",
            continuous_update=False,
        ),  # fmt: skip
        "bits": W.SelectionSlider(
            options=list(BITS), value=8, description="bits per weight", continuous_update=False
        ),  # fmt: skip
    }
    return Demo(controls, compute, _CompressionView(curves, full))
