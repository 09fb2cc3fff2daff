"""Chapter 8c: how a trained CNN copes with shifted digits, with and without augmentation."""

from __future__ import annotations

from typing import Any, NamedTuple

import ipywidgets as W
import numpy as np

from course_lib import augmentation, plotting
from course_lib.widgets.demo import Demo, LiveFigure


class ShiftResult(NamedTuple):
    """One setting of :func:`shift_explorer`."""

    image: np.ndarray  # (H, W) the digit, shifted
    shifts: np.ndarray  # (k,) the shifts of the curves
    plain: np.ndarray  # (k,) test accuracy of the model trained without augmentation
    augmented: np.ndarray  # (k,) test accuracy of the model trained with random shifts
    index: int  # which shift is selected


class _ShiftView:
    """Left: the digit as the networks see it. Right: test accuracy against the shift."""

    def __init__(self, shifts: np.ndarray, size: int) -> None:
        self.live = live = LiveFigure(2, width=4.3, height=3.5)
        ax, ax2 = live.axes
        kw = {"animated": True}
        self.img = ax.imshow(np.zeros((size, size)), cmap="gray_r", vmin=0.0, vmax=1.0, **kw)
        ax.set_xticks([])
        ax.set_yticks([])
        (self.plain,) = ax2.plot([], [], "o-", color=plotting.OKABE_ITO[1], lw=1.8,
                                 label="trained without shifts", **kw)  # fmt: skip
        (self.aug,) = ax2.plot([], [], "s-", color=plotting.OKABE_ITO[0], lw=1.8,
                               label="trained with random shifts (±1)", **kw)  # fmt: skip
        (self.dots,) = ax2.plot([], [], "o", ms=11, mfc="none", mec="0.1", mew=1.5, **kw)
        ax2.set(xlim=(shifts.min() - 0.4, shifts.max() + 0.4), ylim=(0.0, 1.02),
                xlabel="shift of every test digit (pixels)", ylabel="test accuracy")  # fmt: skip
        ax2.set_xticks(shifts)
        ax2.legend(loc="lower center", fontsize=8.5)
        self.title = ax.set_title(" ", animated=True)
        self.title2 = ax2.set_title(" ", animated=True)

    def update(self, res: ShiftResult, values: dict[str, Any]) -> None:
        self.img.set_data(res.image)
        self.plain.set_data(res.shifts, res.plain)
        self.aug.set_data(res.shifts, res.augmented)
        i = res.index
        self.dots.set_data([res.shifts[i]] * 2, [res.plain[i], res.augmented[i]])
        self.title.set_text(f"shifted {int(res.shifts[i]):+d} px {values['direction']}")
        self.title2.set_text(
            f"accuracy {res.plain[i]:.2f} (plain) vs {res.augmented[i]:.2f} (augmented)"
        )

    def alt(self, res: ShiftResult, values: dict[str, Any]) -> str:
        i = res.index
        return (
            f"Left: a test digit shifted {int(res.shifts[i]):+d} pixels {values['direction']}. "
            f"Right: test accuracy on digits shifted {values['direction']} by "
            f"{int(res.shifts.min())} to {int(res.shifts.max())} pixels; at this shift the "
            f"network trained without augmentation scores {res.plain[i]:.2f} and the one "
            f"trained on randomly shifted digits {res.augmented[i]:.2f}."
        )


def shift_explorer(image: Any, shifts: Any, plain: Any, augmented: Any) -> Demo:
    r"""Slide the shift of the test digits; pick the direction (sideways or down).

    Nothing is trained or compiled when a control moves: the accuracies are measured once by
    the notebook (``plain``, ``augmented``: arrays ``(2, k)``, row 0 for sideways shifts, row 1
    for vertical ones, at the integer ``shifts (k,)``) and the shifted images of ``image
    (H, W)`` are made here once (:func:`course_lib.augmentation.shift`).
    """
    image = np.asarray(image, dtype=np.float64)
    shifts = np.asarray(shifts)
    plain, augmented = np.asarray(plain, float), np.asarray(augmented, float)
    if image.ndim != 2:
        raise ValueError(f"`image` must be one grey image (H, W), got shape {image.shape}.")
    if shifts.ndim != 1 or shifts.dtype.kind not in "iu":
        raise ValueError(f"`shifts` must be a 1-D array of integers, got {shifts.dtype}"
                         f"{shifts.shape}.")  # fmt: skip
    for name, a in (("plain", plain), ("augmented", augmented)):
        if a.shape != (2, shifts.size):
            raise ValueError(f"`{name}` must have shape (2, {shifts.size}), got {a.shape}.")
    stack = np.repeat(image[None, :, :, None], shifts.size, axis=0)
    zeros = np.zeros(shifts.size, int)
    images = {
        "sideways": np.asarray(augmentation.shift(stack, zeros, shifts))[..., 0],
        "down": np.asarray(augmentation.shift(stack, shifts, zeros))[..., 0],
    }
    rows = {"sideways": 0, "down": 1}

    def compute(shift: int, direction: str) -> ShiftResult:
        i = int(np.flatnonzero(shifts == int(shift))[0])
        r = rows[direction]
        return ShiftResult(images[direction][i], shifts, plain[r], augmented[r], i)

    controls = {
        "shift": W.IntSlider(
            value=int(shifts[len(shifts) // 2]),
            min=int(shifts.min()),
            max=int(shifts.max()),
            description="shift (px)",
            continuous_update=True,
        ),  # fmt: skip
        "direction": W.ToggleButtons(
            options=["sideways", "down"], value="sideways", description="direction"
        ),  # fmt: skip
    }
    return Demo(controls, compute, _ShiftView(shifts, image.shape[0]))
