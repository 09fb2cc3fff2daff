"""Chapter 2a: three multiclass losses on three blobs (multiclass explorer)."""

from __future__ import annotations

from typing import Any, NamedTuple

import ipywidgets as W
import jax.numpy as jnp
import numpy as np
from matplotlib.colors import to_rgb
from matplotlib.ticker import MaxNLocator

from course_lib import (
    data,
    linear_models,
    plotting,
)
from course_lib._types import Array
from course_lib.widgets.demo import Demo, LiveFigure


class MulticlassRun(NamedTuple):
    """A multiclass fit on 2-D data and its training accuracy."""

    fit: Any  # linear_models.MulticlassFit
    accuracy: float


def _lighten(color: str, alpha: float) -> np.ndarray:
    """``color`` seen at opacity ``alpha`` over white, as opaque RGBA bytes."""
    rgb = 1.0 - alpha * (1.0 - np.asarray(to_rgb(color)))
    return np.round(255 * np.append(rgb, 1.0)).astype(np.uint8)


class _MulticlassView:
    """Left: the decision regions and the data. Right: the objective after each epoch."""

    RESOLUTION = 200  # near the panel's size in pixels: a cheap resample, a cheap prediction
    FLOOR = 1e-6  # a zero objective (the perceptron's, once separated) on a log axis

    def __init__(self, X: np.ndarray, labels: np.ndarray, epochs: int, ylim: tuple) -> None:
        self.live = live = LiveFigure(2, width=4.6, height=4.4)
        ax, ax2 = live.axes
        kw = {"animated": True}
        pad = 0.5
        self.xlim = (float(X[:, 0].min()) - pad, float(X[:, 0].max()) + pad)
        self.ylim = (float(X[:, 1].min()) - pad, float(X[:, 1].max()) + pad)
        gx, gy = np.meshgrid(
            np.linspace(*self.xlim, self.RESOLUTION), np.linspace(*self.ylim, self.RESOLUTION)
        )
        self.grid = data.add_bias(jnp.asarray(np.stack([gx.ravel(), gy.ravel()], 1), jnp.float32))
        k = int(labels.max()) + 1
        self.palette = np.stack([_lighten(c, 0.25) for c in plotting.CLASS_COLORS[:k]])
        self.regions = ax.imshow(
            np.full((self.RESOLUTION, self.RESOLUTION, 4), 255, np.uint8),
            origin="lower",
            extent=(*self.xlim, *self.ylim),
            interpolation="nearest",
            aspect="auto",
        )
        live.animate(self.regions)  # first: the points are drawn on top of it
        for c in range(k):  # the data never changes, but it must lie on top of the regions
            pts = X[labels == c]
            sc = ax.scatter(
                pts[:, 0],
                pts[:, 1],
                s=16,
                c=plotting.CLASS_COLORS[c],
                marker=plotting.CLASS_MARKERS[c],
                label=f"class {c}",
                zorder=3,
            )
            live.animate(sc)
        ax.set(xlim=self.xlim, ylim=self.ylim, xlabel="$x_1$", ylabel="$x_2$")
        ax.grid(False)
        ax.legend(
            title="shaded: the predicted class",
            loc="upper center",
            bbox_to_anchor=(0.5, -0.15),
            ncols=k,
            fontsize=9.5,
            title_fontsize=9.5,
        )
        self.title = ax.set_title(" ", animated=True)
        epochs_axis = np.arange(1, epochs + 1)
        ax2.set(yscale="log", xlim=(0.5, epochs + 0.5), ylim=ylim)
        ax2.set_xlabel("epoch")
        ax2.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax2.set_ylabel("objective $J(W)$ after the epoch")
        (self.curve,) = ax2.plot(
            epochs_axis, np.ones(epochs), "o-", ms=3, color=plotting.OKABE_ITO[0], **kw
        )
        self.title2 = ax2.set_title(" ", animated=True)

    def update(self, run: MulticlassRun, values: dict[str, Any]) -> None:
        pred = np.asarray(linear_models.predict_class(run.fit.W, self.grid))
        self.regions.set_data(self.palette[pred.reshape(self.RESOLUTION, self.RESOLUTION)])
        self.title.set_text(f"{values['loss']}: training accuracy {run.accuracy:.3f}")
        objective = np.asarray(run.fit.history.objective, dtype=float)
        self.curve.set_ydata(np.maximum(objective, self.FLOOR))
        norm = float(np.linalg.norm(np.asarray(run.fit.W)))
        self.title2.set_text(f"λ = {values['lam']:.3g},  ‖W‖ = {norm:.3g}")

    def alt(self, run: MulticlassRun, values: dict[str, Any]) -> str:
        return (
            f"Left: three classes of points in the plane and the regions the {values['loss']} "
            f"model assigns to each class, with training accuracy {run.accuracy:.2f}. Right: "
            f"the training objective after each epoch, on a log scale."
        )


def multiclass_explorer(
    X: Array, labels: Array, *, key: Array, epochs: int = 20, lr: float = 0.1
) -> Demo:
    r"""Switch the multiclass loss and move $\lambda$; see the decision regions it learns.

    ``X: (n, 2)`` points (a bias feature is added here) and ``labels: (n,)`` in ``0..k-1``.
    The loss is a traced index and $\lambda$ a traced float inside one jitted ``lax.scan``
    (:func:`course_lib.linear_models.multiclass_fit`), so nothing recompiles.
    """
    Xb = data.add_bias(X)
    lam_range = (1e-4, 1.0)

    def compute(loss: str, lam: float) -> MulticlassRun:
        fit = linear_models.multiclass_fit(
            Xb, labels, loss=loss, lr=lr, lam=lam, epochs=epochs, key=key
        )
        return MulticlassRun(fit, float(linear_models.accuracy(fit.W, Xb, labels)))

    # The objective's axis covers every loss at both ends of the lambda slider (it grows with
    # lambda), so that it never moves while the controls do.
    ends = np.concatenate(
        [
            np.asarray(compute(loss, lam).fit.history.objective).ravel()
            for loss in linear_models.MULTICLASS_LOSSES
            for lam in lam_range
        ]
    )
    ends = np.maximum(ends, _MulticlassView.FLOOR)
    ylim = (ends.min() / 2, ends.max() * 2)

    controls = {
        "loss": W.Dropdown(
            options=list(linear_models.MULTICLASS_LOSSES), value="softmax", description="loss"
        ),
        "lam": W.FloatLogSlider(
            value=1e-3,
            base=10,
            min=np.log10(lam_range[0]),
            max=np.log10(lam_range[1]),
            step=0.25,
            description="penalty λ",
            readout_format=".4f",
            continuous_update=False,
        ),
    }
    view = _MulticlassView(np.asarray(X), np.asarray(labels), epochs, ylim)
    return Demo(controls, compute, view)
