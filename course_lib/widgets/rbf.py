"""Chapter 5a: an RBF network's bumps and their fitted sum, live (prototypes and bandwidth)."""

from __future__ import annotations

from typing import Any, NamedTuple

import ipywidgets as W
import jax
import numpy as np

from course_lib import kmeans, plotting, rbf
from course_lib.widgets.demo import Demo, LiveFigure

_LAM = 1e-3  # a small ridge penalty: keeps the masked solve well posed at every (m, sigma)


class RBFFit(NamedTuple):
    """One setting of :func:`rbf_explorer`: the ``M`` padded prototypes (only ``m`` active)."""

    grid: np.ndarray  # (G,)
    bumps: np.ndarray  # (M, G) w_j Phi_j(grid), zero for the inactive units
    fit: np.ndarray  # (G,) their sum
    centers: np.ndarray  # (M,) prototype positions (1-D)
    weights: np.ndarray  # (M,)
    mask: np.ndarray  # (M,) bool
    train_mse: float
    val_mse: float


def rbf_explorer_cache_size() -> int:
    """Compiled variants of the jitted function the explorer calls (a move must add none)."""
    return rbf._two_stage_padded._cache_size()


def _np_activations(X: np.ndarray, C: np.ndarray, sigma: float) -> np.ndarray:
    # the picture's activations in NumPy (float64): cheap at these sizes, and nothing to compile
    return np.exp(-((X[:, None, :] - C[None, :, :]) ** 2).sum(-1) / (2.0 * sigma**2))


class _RBFView:
    """The training points, the true curve, every weighted bump and their sum."""

    def __init__(self, m_max: int, x: np.ndarray, y: np.ndarray) -> None:
        self.live = live = LiveFigure(1, width=7.4, height=3.9)
        ax = live.ax
        kw = {"animated": True}
        grid = np.linspace(-1.0, 1.0, 201)
        ax.plot(grid, np.asarray(rbf.target_curve(grid)), color="0.35", lw=1.2, ls="--",
                label="true curve")  # fmt: skip
        ax.plot(x, y, "o", ms=4, color="0.1", label="training points")
        self.bumps = [
            ax.plot([], [], color=plotting.OKABE_ITO[5], lw=0.9, alpha=0.8, **kw)[0]
            for _ in range(m_max)
        ]
        self.bumps[0].set_label(r"one unit, $w_j\Phi_j(x)$")
        (self.fit,) = ax.plot([], [], color=plotting.OKABE_ITO[3], lw=2.4,
                              label=r"network $\hat y = \sum_j w_j\Phi_j(x)$", **kw)  # fmt: skip
        (self.protos,) = ax.plot([], [], "^", ms=7, color=plotting.OKABE_ITO[2],
                                 label=r"prototypes $\mu_j$", **kw)  # fmt: skip
        ax.set(xlim=(-1.05, 1.05), ylim=(-2.6, 2.6), xlabel="$x$", ylabel="$y$")
        ax.legend(loc="upper left", fontsize=8, ncols=2)
        self.title = ax.set_title(" ", animated=True)

    def update(self, res: RBFFit, values: dict[str, Any]) -> None:
        for j, line in enumerate(self.bumps):
            if res.mask[j]:
                line.set_data(res.grid, np.clip(res.bumps[j], -5, 5))
            else:
                line.set_data([], [])
        self.fit.set_data(res.grid, np.clip(res.fit, -5, 5))
        c = res.centers[res.mask]
        self.protos.set_data(c, np.full(c.size, -2.45))
        self.title.set_text(
            f"m = {int(values['m'])}, σ = {values['sigma']:.3f}: train MSE {res.train_mse:.3f}, "
            f"held-out MSE {res.val_mse:.3f}"
        )

    def alt(self, res: RBFFit, values: dict[str, Any]) -> str:
        how = values["prototypes"]
        return (
            f"An RBF network with {int(values['m'])} Gaussian units of bandwidth "
            f"{values['sigma']:.3f}, prototypes from {how}, fitted by ridge least squares to 40 "
            f"noisy points of a wiggly curve: each weighted bump is a thin line and their sum "
            f"the thick one. Training mean squared error {res.train_mse:.3f}, held-out "
            f"{res.val_mse:.3f}."
        )


def rbf_explorer(*, m_max: int = 30, n: int = 40, noise: float = 0.2, seed: int = 0) -> Demo:
    r"""Slide the number of prototypes $m$ and the bandwidth $\sigma$; choose the prototypes by
    k-means or as a random sample of the training points (Aggarwal §5.1–5.2).

    All ``m_max`` prototypes are always computed, and a boolean mask switches on the first
    $m$ (:func:`course_lib.rbf.two_stage_padded`, one jitted function): $m$, $\sigma$ and the
    choice of prototypes are traced values, so no move recompiles. The output weights are the ridge
    solution (Eq 5.4) with a small $\lambda = 10^{-3}$; the held-out error is measured on 400
    fresh points of the same curve.
    """
    key = jax.random.key(seed)
    X, y = rbf.toy_regression(key=jax.random.fold_in(key, 0), n=n, noise=noise)
    Xv, yv = rbf.toy_regression(key=jax.random.fold_in(key, 1), n=400, noise=noise)
    C0 = kmeans.sample_prototypes(X, m_max, key=jax.random.fold_in(key, 2))
    X_np, y_np, Xv_np, yv_np = (np.asarray(a, np.float64) for a in (X, y, Xv, yv))
    grid = np.linspace(-1.0, 1.0, 201)

    def compute(m: int, sigma: float, prototypes: str) -> RBFFit:
        mask = np.arange(m_max) < int(m)
        refine = prototypes == "k-means"
        C, w = rbf.two_stage_padded(X, y, C0, mask, float(sigma), _LAM, refine=refine)
        C, w = np.asarray(C, np.float64), np.asarray(w, np.float64)
        s = float(sigma)
        bumps = _np_activations(grid[:, None], C, s).T * w[:, None]  # (M, G)
        train = float(np.mean((_np_activations(X_np, C, s) @ w - y_np) ** 2))
        val = float(np.mean((_np_activations(Xv_np, C, s) @ w - yv_np) ** 2))
        return RBFFit(grid, bumps, bumps.sum(axis=0), C[:, 0], w, mask, train, val)

    controls = {
        "m": W.IntSlider(
            value=8, min=1, max=m_max, description="prototypes m", continuous_update=False
        ),
        "sigma": W.FloatLogSlider(
            value=0.15,
            base=10,
            min=-2,
            max=0.3,
            step=0.05,
            description="bandwidth σ",
            readout_format=".3f",
            continuous_update=False,
        ),
        "prototypes": W.Dropdown(
            options=["k-means", "a random sample"], value="k-means", description="prototypes"
        ),
    }
    view = _RBFView(m_max, np.asarray(X)[:, 0], np.asarray(y))
    return Demo(controls, compute, view)
