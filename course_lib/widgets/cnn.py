"""Chapter 8b: what a trained CNN looks at (prediction, saliency, occlusion)."""

from __future__ import annotations

from typing import Any

import ipywidgets as W
import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.patches import Rectangle

from course_lib import (
    cnn,
    plotting,
)
from course_lib.widgets.demo import Demo, LiveFigure

DigitView = cnn.Inspection  # the result's old name (tests and notebooks use it)
_inspect_digit = cnn._inspect  # the jitted function (its old home was here)


def inspect_digit_cache_size() -> int:
    """Compiled versions of the digit inspector's jitted function (one per data shape)."""
    return cnn.inspect_cache_size()


class _DigitView:
    """Left: the digit with the blanked patch outlined. Middle: its saliency map on a fixed
    colour scale. Right: the predicted class probabilities, the true class highlighted."""

    def __init__(self, height: int, width: int, n_classes: int, vmax: float) -> None:
        self.n_classes = n_classes
        self.live = live = LiveFigure(3, width=3.1, height=3.3)
        ax, ax2, ax3 = live.axes
        kw = {"animated": True}
        blank = np.zeros((height, width))
        self.image = ax.imshow(blank, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest", **kw)
        self.patch = ax.add_patch(
            Rectangle((0, 0), 0, 0, fill=False, ec=plotting.OKABE_ITO[3], lw=2.5, **kw)
        )
        self.title = ax.set_title(" ", animated=True)
        self.sal = ax2.imshow(blank, cmap="hot", vmin=0, vmax=vmax, interpolation="nearest", **kw)
        ax2.set_title("saliency of the true class")
        # one fixed scale for every digit and patch, so that a darker map means a weaker
        # gradient; the few larger values saturate (the arrow on the bar)
        live.fig.colorbar(
            self.sal, ax=ax2, shrink=0.8, extend="max", label="$|\\partial f_c/\\partial x|$"
        )
        live.animate(self.image, self.patch, self.sal)  # in this order, and before the frames
        for a in (ax, ax2):
            a.set_xticks([])
            a.set_yticks([])
            a.grid(False)
            for spine in a.spines.values():
                # a frame where a white digit's image ends; animated, so that it is drawn
                # after (over) the animated image
                spine.set_visible(True)
                live.animate(spine)
        classes = np.arange(n_classes)
        self.bars = ax3.bar(classes, np.zeros(n_classes), color="0.6", **kw)
        ax3.set(
            xticks=classes,
            ylim=(0, 1),
            xlabel="class (green: the true label)",
            ylabel="predicted probability",
        )
        ax3.grid(axis="x", visible=False)
        self.title3 = ax3.set_title(" ", animated=True)

    def update(self, view: cnn.Inspection, values: dict[str, Any]) -> None:
        label = int(view.label)
        self.image.set_data(view.image)
        p = int(values["patch"])
        self.patch.set_visible(p > 0)
        self.patch.set_bounds(int(values["col"]) - 0.5, int(values["row"]) - 0.5, p, p)
        self.title.set_text(f"test digit {values['index']} (label {label})")
        self.sal.set_data(view.saliency)
        for c, bar in enumerate(self.bars):
            bar.set_height(float(view.probs[c]))
            bar.set_color(plotting.OKABE_ITO[2] if c == label else "0.6")
        guess = int(np.argmax(view.probs))
        self.title3.set_text(f"predicted {guess} (p = {view.probs[guess]:.2f})")

    def alt(self, view: cnn.Inspection, values: dict[str, Any]) -> str:
        guess = int(np.argmax(view.probs))
        p = int(values["patch"])
        patch = (
            f"with a {p}×{p} patch blanked at row {values['row']}, column {values['col']}"
            if p
            else "with no patch"
        )
        return (
            f"Test digit {values['index']} (label {int(view.label)}) {patch}; its saliency map, "
            f"bright where a pixel moves the true class's score most; and the predicted class "
            f"probabilities, highest for {guess}."
        )


def digit_inspector(params: Any, images: Any, labels: Any) -> Demo:
    r"""Pick a test digit and blank a square patch of it; see the CNN's class probabilities and
    its saliency map $|\partial f_c/\partial x|$ (:func:`course_lib.cnn.inspect`, which calls
    :func:`course_lib.cnn.occlude`, :func:`course_lib.cnn.apply` and
    :func:`course_lib.cnn.saliency`).

    ``images``: ``(n, H, W, 1)``; ``labels``: ``(n,)`` ints. The digit index, the patch's
    position and its size (0 = no patch) are traced arguments of one jitted function: moving
    any control never recompiles. The saliency colour scale is fixed for all digits: the 95th
    percentile of the unoccluded maps' maxima.
    """
    images = cnn._images("images", images)
    labels = jnp.asarray(labels)
    n, height, width = images.shape[:3]
    n_classes = int(params["dense"][1][0].shape[1])
    # The same call (and shapes) as the notebook's own saliency maps: no extra compilation.
    peaks = np.asarray(cnn.saliency(params, images, labels)).reshape(n, -1).max(axis=1)
    vmax = float(np.percentile(peaks, 95)) or 1.0

    def compute(index: int, row: int, col: int, patch: int) -> cnn.Inspection:
        return jax.tree.map(np.asarray, cnn.inspect(params, images, labels, index, row, col, patch))

    size = max(height, width) // 2
    # The patch starts small in the top-left corner, where a centred digit has little ink:
    # the prediction starts as the network makes it, and moving the patch onto the digit
    # shows what it relies on (every slider moves something from the start).
    slider = {"style": {"description_width": "initial"}}
    controls = {
        "index": W.IntSlider(value=0, min=0, max=n - 1, description="test digit", **slider),
        "patch": W.IntSlider(
            value=min(2, size), min=0, max=size, description="patch size (0 = none)", **slider
        ),
        "row": W.IntSlider(value=0, min=0, max=height - 1, description="patch row", **slider),
        "col": W.IntSlider(value=0, min=0, max=width - 1, description="patch column", **slider),
    }
    return Demo(
        controls,
        compute,
        _DigitView(height, width, n_classes, vmax),
        rows=[["index", "patch"], ["row", "col"]],
    )
