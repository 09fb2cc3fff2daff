"""Chapter 2b: the linear autoencoder's code size k, live (code size explorer)."""

from __future__ import annotations

from typing import Any, NamedTuple

import ipywidgets as W
import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.ticker import MaxNLocator

from course_lib import (
    autoencoders,
    plotting,
)
from course_lib._types import Array
from course_lib.widgets.demo import Demo, LiveFigure


class CodeSizeResult(NamedTuple):
    """The linear autoencoder trained with ``k`` active code units, and the SVD's error."""

    k: int
    error: float  # relative reconstruction error of the autoencoder
    svd_error: float  # the Eckart–Young optimum at this k (relative)
    svd_curve: np.ndarray  # (k_max + 1,) relative SVD error for k = 0..k_max
    recon: np.ndarray  # (n_show, d) reconstructions of the first images (mean added back)
    originals: np.ndarray  # (n_show, d)


class _CodeSizeView:
    """Left: the first images and their reconstructions. Right: error against k, with the SVD."""

    def __init__(self, originals: np.ndarray, svd_curve: np.ndarray, side: int) -> None:
        self.side = side
        n_show = originals.shape[0]
        k_max = svd_curve.size - 1
        self.live = live = LiveFigure(1, width=9.2, height=3.0)
        live.ax.remove()
        left, right = live.fig.subfigures(1, 2, width_ratios=[1.35, 1.0])
        axes = left.subplots(2, n_show)
        kw = {"animated": True}
        self.images = []
        for c in range(n_show):
            axes[0, c].imshow(originals[c].reshape(side, side), cmap="gray_r", vmin=0, vmax=1)
            img = axes[1, c].imshow(np.zeros((side, side)), cmap="gray_r", vmin=0, vmax=1, **kw)
            self.images.append(img)
            for r in range(2):
                axes[r, c].set_xticks([])
                axes[r, c].set_yticks([])
                axes[r, c].grid(False)
                for spine in axes[r, c].spines.values():  # a thin frame on all four sides
                    spine.set_visible(True)
                    spine.set_linewidth(0.6)
        axes[0, 0].set_ylabel("input")
        axes[1, 0].set_ylabel("output")
        left.suptitle("digits through the autoencoder", fontsize=12)
        ax = right.subplots()
        ax.plot(
            np.arange(k_max + 1), svd_curve, "o-", ms=3, color="0.3",
            label="truncated SVD (the optimum)",
        )  # fmt: skip
        (self.dot,) = ax.plot(
            [], [], "o", ms=9, color=plotting.OKABE_ITO[3], label="linear autoencoder", **kw
        )
        ax.set(xlim=(-0.5, k_max + 0.5), ylim=(0.0, 1.05))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("code size $k$")
        ax.set_ylabel("relative error")
        ax.legend(loc="upper right", fontsize=9.5)
        self.title = ax.set_title(" ", animated=True)

    def update(self, res: CodeSizeResult, values: dict[str, Any]) -> None:
        recon = np.clip(res.recon, 0.0, 1.0)
        for img, r in zip(self.images, recon, strict=True):
            img.set_data(r.reshape(self.side, self.side))
        self.dot.set_data([res.k], [res.error])
        self.title.set_text(f"k = {res.k}: error {res.error:.3f} (SVD {res.svd_error:.3f})")

    def alt(self, res: CodeSizeResult, values: dict[str, Any]) -> str:
        return (
            f"Left: eight digit images above their reconstructions through a linear "
            f"autoencoder with {res.k} code units. Right: its relative error at this code size "
            f"lies on the curve of the truncated SVD's error, the best any rank-{res.k} model "
            f"can do."
        )


def code_size_explorer(
    X: Array, *, k_max: int = 16, steps: int = 600, n_show: int = 8, seed: int = 0
) -> Demo:
    r"""Slide $k$, the number of code units of a linear autoencoder on images ``X: (n, 64)``.

    The autoencoders for every $k = 1..k_{\max}$ are trained once, together
    (:func:`course_lib.autoencoders.fit_linear_sweep`: one shape, units switched off by a mask),
    so the slider only looks the chosen one up. Shows reconstructions and the error against the
    truncated SVD's (the best any rank-$k$ model can do).
    """
    X = jnp.asarray(X)
    side = int(round(np.sqrt(X.shape[1])))
    if side * side != X.shape[1]:
        raise ValueError(f"`X` must hold square images (n, side**2), got shape {X.shape}.")
    mean = jnp.mean(X, axis=0)
    D = X - mean[None, :]
    total = float(jnp.sum(D**2))
    # Eckart-Young at every k at once: the energy left in the discarded singular values
    s2 = np.asarray(jnp.linalg.svd(D, compute_uv=False), np.float64) ** 2
    svd_curve = np.array([s2[k:].sum() for k in range(k_max + 1)]) / total
    params, _ = autoencoders.fit_linear_sweep(D, key=jax.random.key(seed), k_max=k_max, steps=steps)
    errors, recons = {}, {}
    for k in range(1, k_max + 1):
        p = jax.tree.map(lambda a, i=k - 1: a[i], params)
        mask = autoencoders.code_mask(k, k_max)
        errors[k] = float(autoencoders.linear_loss(p, D, code_mask=mask)) / total
        recon = autoencoders.linear_reconstruct(p, D[:n_show], code_mask=mask) + mean[None, :]
        recons[k] = np.asarray(recon)
    originals = np.asarray(X[:n_show])

    def compute(k: int) -> CodeSizeResult:
        return CodeSizeResult(k, errors[k], float(svd_curve[k]), svd_curve, recons[k], originals)

    controls = {
        "k": W.IntSlider(
            value=4, min=1, max=k_max, description="code size k", continuous_update=False
        )
    }
    return Demo(controls, compute, _CodeSizeView(originals, svd_curve, side))
