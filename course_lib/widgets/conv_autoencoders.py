"""Chapter 8e: how many filter taps land on each output pixel of an upsampling layer, for a
transposed convolution and for a resize-convolution (the checkerboard of Odena et al. 2016)."""

from __future__ import annotations

from typing import Any, NamedTuple

import ipywidgets as W
import numpy as np

from course_lib import plotting, transposed_conv
from course_lib.widgets.demo import Demo, LiveFigure

_M = 5  # the constant input is _M x _M
_MAX_F, _MAX_S = 6, 3


class OverlapResult(NamedTuple):
    """One setting of :func:`upsampling_explorer`."""

    counts: np.ndarray  # (n,) taps per output pixel along one axis
    image: np.ndarray  # (n, n) np.outer(counts, counts): the output for an all-ones input
    interior: tuple[int, int]  # (min, max) count away from the borders
    even: bool  # min == max in the interior


def overlap(f: int, stride: int, method: str) -> OverlapResult:
    """The overlap counts for an all-ones ``_M``×``_M`` input and an all-ones ``f``×``f`` filter:
    ``"transposed"``: a transposed convolution with that stride (no padding); ``"resize"``:
    nearest upsampling by ``stride``, then a stride-1 (full) convolution."""
    if method == "transposed":
        c = transposed_conv.overlap_count(_M, f, stride)
    elif method == "resize":
        c = transposed_conv.overlap_count(_M * stride, f, 1)
    else:
        raise ValueError(f"`method` must be 'transposed' or 'resize', got {method!r}.")
    inner = c[f - 1 : len(c) - f + 1] if len(c) > 2 * (f - 1) else c
    lo, hi = int(inner.min()), int(inner.max())
    return OverlapResult(c, np.outer(c, c), (lo, hi), lo == hi)


class _OverlapView:
    """Left: the output of the layer for an all-ones input (the count image). Right: one row."""

    def __init__(self) -> None:
        self.live = live = LiveFigure(2, width=4.0, height=3.6)
        ax, ax2 = live.axes
        n = (_M - 1) * _MAX_S + _MAX_F
        self.img = ax.imshow(np.zeros((n, n)), cmap="viridis", vmin=0, vmax=_MAX_F**2,
                             animated=True)  # fmt: skip
        ax.set_xticks([])
        ax.set_yticks([])
        (self.bars,) = ax2.plot([], [], "o-", color=plotting.OKABE_ITO[0], lw=1.8, animated=True)
        ax2.set(xlim=(-0.5, n - 0.5), ylim=(0, _MAX_F + 0.5), xlabel="output pixel along one row",
                ylabel="filter taps landing there")  # fmt: skip
        self.title = ax.set_title(" ", animated=True)
        self.title2 = ax2.set_title(" ", animated=True)

    def update(self, res: OverlapResult, values: dict[str, Any]) -> None:
        n = len(res.counts)
        full = np.full(((_M - 1) * _MAX_S + _MAX_F,) * 2, np.nan)
        full[:n, :n] = res.image
        self.img.set_data(full)
        self.bars.set_data(np.arange(n), res.counts)
        self.title.set_text(f"{values['method']}: output for a constant input")
        lo, hi = res.interior
        self.title2.set_text("even overlap" if res.even else f"uneven: {lo} to {hi} taps")

    def alt(self, res: OverlapResult, values: dict[str, Any]) -> str:
        lo, hi = res.interior
        what = (f"every interior pixel gets {lo} taps" if res.even
                else f"interior pixels get between {lo} and {hi} taps, a checkerboard")  # fmt: skip
        return (
            f"Left: the output of a {values['method']} layer (filter {values['f']}x{values['f']}, "
            f"stride {values['stride']}) for a constant {_M}x{_M} input and an all-ones filter. "
            f"Right: the number of filter taps on each pixel of one row; {what}."
        )


def upsampling_explorer() -> Demo:
    r"""Choose the filter size $F$, the stride (upsampling factor) $S$ and the method.

    Nothing is trained or compiled when a control moves: the counts are a small NumPy loop
    (:func:`course_lib.transposed_conv.overlap_count`). A transposed convolution overlaps
    evenly when $S$ divides $F$; the resize-convolution always does.
    """

    def compute(f: int, stride: int, method: str) -> OverlapResult:
        return overlap(int(f), int(stride), method)

    controls = {
        "f": W.IntSlider(value=3, min=1, max=_MAX_F, description="filter size F"),
        "stride": W.IntSlider(value=2, min=1, max=_MAX_S, description="stride S"),
        "method": W.ToggleButtons(
            options=["transposed", "resize"], value="transposed", description="method"
        ),  # fmt: skip
    }
    return Demo(controls, compute, _OverlapView())
