"""Chapter 2c: the SVM's margin band and support vectors as the penalty λ moves."""

from __future__ import annotations

from typing import Any, NamedTuple

import ipywidgets as W
import numpy as np

from course_lib import plotting
from course_lib.widgets.demo import Demo, LiveFigure


class SVMMarginResult(NamedTuple):
    """One setting of :func:`svm_margin_explorer`."""

    lam: float  # the penalty
    w: np.ndarray  # (2,) the SVM's weights
    support: np.ndarray  # (n,) bool: alpha > 0
    margin: float  # 2 / ||w||
    hinge: float  # training hinge loss
    index: int  # which lambda of the grid


def _line(w: np.ndarray, level: float, lim: float) -> tuple[np.ndarray, np.ndarray]:
    """Points of {x : w . x = level} across the square [-lim, lim]^2."""
    t = np.linspace(-2 * lim, 2 * lim, 2)
    normal = w / (w @ w)
    direction = np.array([-w[1], w[0]]) / np.linalg.norm(w)
    return level * normal[0] + t * direction[0], level * normal[1] + t * direction[1]


class _SVMView:
    """Left: the data, the separator and the band |w . x| <= 1. Right: margin and hinge vs λ."""

    def __init__(self, X: np.ndarray, y: np.ndarray, lams: np.ndarray, margin, hinge) -> None:
        self.live = live = LiveFigure(2, width=4.3, height=3.7)
        ax, ax2 = live.axes
        self.lim = lim = float(np.abs(X).max()) * 1.1
        kw = {"animated": True}
        for label, marker, color in (
            (1, "o", plotting.OKABE_ITO[0]),
            (-1, "s", plotting.OKABE_ITO[1]),
        ):
            pts = X[y == label]
            ax.plot(pts[:, 0], pts[:, 1], marker, ms=5, color=color, ls="none",
                    label=f"y = {label:+d}")  # fmt: skip
        (self.sep,) = ax.plot([], [], "-", color="0.15", lw=1.6, **kw)
        (self.up,) = ax.plot([], [], "--", color="0.4", lw=1.1, **kw)
        (self.down,) = ax.plot([], [], "--", color="0.4", lw=1.1, **kw)
        (self.sv,) = ax.plot([], [], "o", ms=11, mfc="none", mec="0.1", mew=1.3,
                             label="support vectors", **kw)  # fmt: skip
        ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal", xlabel="$x_1$", ylabel="$x_2$")
        ax.legend(loc="upper left", fontsize=7.5)
        ax2.semilogx(lams, margin, "o-", color=plotting.OKABE_ITO[2], ms=3, lw=1.5,
                     label=r"margin $2/\|w\|$")  # fmt: skip
        ax2.semilogx(lams, hinge / max(hinge.max(), 1e-12) * margin.max(), "s-",
                     color=plotting.OKABE_ITO[4], ms=3, lw=1.5,
                     label="hinge loss (scaled to fit)")  # fmt: skip
        (self.dot,) = ax2.plot([], [], "o", ms=10, mfc="none", mec="0.1", mew=1.5, **kw)
        ax2.set(xlabel=r"penalty $\lambda$", ylabel="margin width")
        ax2.legend(loc="upper left", fontsize=8)
        self.title = ax.set_title(" ", animated=True)
        self.title2 = ax2.set_title(" ", animated=True)
        self.X = X

    def update(self, res: SVMMarginResult, values: dict[str, Any]) -> None:
        self.sep.set_data(*_line(res.w, 0.0, self.lim))
        self.up.set_data(*_line(res.w, 1.0, self.lim))
        self.down.set_data(*_line(res.w, -1.0, self.lim))
        pts = self.X[res.support]
        self.sv.set_data(pts[:, 0], pts[:, 1])
        self.dot.set_data([res.lam], [res.margin])
        self.title.set_text(f"λ = {res.lam:.3g}: {int(res.support.sum())} support vectors")
        self.title2.set_text(f"margin {res.margin:.2f}, hinge loss {res.hinge:.2f}")

    def alt(self, res: SVMMarginResult, values: dict[str, Any]) -> str:
        return (
            f"Left: the two classes in the plane, the SVM's separating line for penalty "
            f"lambda = {res.lam:.3g} and the dashed band of width {res.margin:.2f} around it; "
            f"{int(res.support.sum())} points lie on or inside the band (the support vectors, "
            f"circled). Right: the margin width and the training hinge loss against lambda "
            f"(log scale), both rising; this lambda gives a hinge loss of {res.hinge:.2f}."
        )


def svm_margin_explorer(X: Any, y: Any, path: Any) -> Demo:
    r"""Slide the SVM's penalty $\lambda$ along a precomputed path.

    ``path`` is a :class:`course_lib.margin_classifiers.SVMPath` for 2-D data ``X (n, 2)``,
    labels ``y (n,)`` in $\{-1, +1\}$: all solutions were computed in one vmapped call, so
    moving the slider computes and compiles nothing.
    """
    X, y = np.asarray(X, float), np.asarray(y, float)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"`X` must be 2-D points of shape (n, 2), got {X.shape}.")
    lams, w = np.asarray(path.lams, float), np.asarray(path.w, float)
    alpha = np.asarray(path.alpha, float)
    if w.shape != (lams.size, 2) or alpha.shape != (lams.size, X.shape[0]):
        raise ValueError(
            f"`path` must hold w ({lams.size}, 2) and alpha ({lams.size}, {X.shape[0]}) for "
            f"these X, got w {w.shape} and alpha {alpha.shape}."
        )
    margin, hinge = np.asarray(path.margin, float), np.asarray(path.hinge, float)
    labels = [f"{v:.3g}" for v in lams]

    def compute(lam: str) -> SVMMarginResult:
        i = labels.index(lam)
        return SVMMarginResult(float(lams[i]), w[i], alpha[i] > 0, float(margin[i]),
                               float(hinge[i]), i)  # fmt: skip

    controls = {
        "lam": W.SelectionSlider(
            options=labels,
            value=labels[len(labels) // 2],
            description="penalty λ",
            continuous_update=True,
        ),  # fmt: skip
    }
    return Demo(controls, compute, _SVMView(X, y, lams, margin, hinge))
