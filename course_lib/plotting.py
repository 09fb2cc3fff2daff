"""Figures the notebooks share: matplotlib on concrete arrays, never inside traced code.

Every function draws into an ``ax`` it is given (or makes its own figure and returns it), so a
notebook or a widget composes panels freely. Colours are fixed so that the classes look the
same in every chapter: +1 is blue circles, -1 is orange crosses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from course_lib import activations, losses
from course_lib._types import Array, ArrayLike

POS_COLOR = "#1f77b4"
NEG_COLOR = "#ff7f0e"
BOUNDARY_COLOR = "#2ca02c"


def style() -> None:
    """Course-wide matplotlib defaults: readable sizes, no top/right spines."""
    plt.rcParams.update(
        {
            "figure.figsize": (6.4, 4.0),
            "figure.dpi": 90,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "font.size": 10,
            "legend.frameon": False,
        }
    )


def scatter_classes(ax: Axes, X: ArrayLike, y: ArrayLike, *, s: float = 30, **kw) -> None:
    """Scatter 2-D points ``X: (n, 2)`` with labels ``y: (n,)`` in {-1, +1}."""
    X, y = np.asarray(X), np.asarray(y)
    pos, neg = y > 0, y <= 0
    ax.scatter(X[pos, 0], X[pos, 1], s=s, c=POS_COLOR, marker="o", label="$y=+1$", **kw)
    ax.scatter(X[neg, 0], X[neg, 1], s=s, c=NEG_COLOR, marker="x", label="$y=-1$", **kw)
    ax.set_aspect("equal", adjustable="box")


def linear_boundary(
    ax: Axes,
    w: ArrayLike,
    *,
    lim: tuple[float, float] = (-1.2, 1.2),
    normal: bool = True,
    color: str = BOUNDARY_COLOR,
    label: str | None = "$w\\cdot x = 0$",
    **kw,
) -> None:
    r"""Draw the line $w_1 x_1 + w_2 x_2 + b = 0$ for ``w = (w1, w2)`` or ``(w1, w2, b)``.

    With ``normal=True`` an arrow from the line's closest point to the origin shows the
    direction of $w$, the side predicted $+1$. Nothing is drawn for $w = 0$.
    """
    w = np.asarray(w, dtype=float)
    w1, w2 = w[0], w[1]
    b = w[2] if w.shape[0] > 2 else 0.0
    norm = np.hypot(w1, w2)
    if norm == 0:
        return
    t = np.linspace(-3, 3, 2) * (lim[1] - lim[0])
    p0 = -b * np.array([w1, w2]) / norm**2  # closest point of the line to the origin
    direction = np.array([-w2, w1]) / norm
    pts = p0[:, None] + direction[:, None] * t
    ax.plot(pts[0], pts[1], color=color, label=label, **kw)
    if normal:
        scale = 0.25 * (lim[1] - lim[0])
        ax.annotate(
            "",
            xy=p0 + scale * np.array([w1, w2]) / norm,
            xytext=p0,
            arrowprops={"arrowstyle": "->", "color": color, "lw": 1.5},
        )
    ax.set_xlim(*lim)
    ax.set_ylim(*lim)


def decision_regions(
    ax: Axes,
    predict: Callable[[Array], Array],
    *,
    xlim: tuple[float, float] = (-1.5, 1.5),
    ylim: tuple[float, float] = (-1.5, 1.5),
    resolution: int = 200,
    alpha: float = 0.25,
) -> None:
    """Shade where ``predict(points: (m, 2)) -> (m,)`` is positive (blue) or not (orange)."""
    xs = np.linspace(*xlim, resolution)
    ys = np.linspace(*ylim, resolution)
    gx, gy = np.meshgrid(xs, ys)
    pts = jnp.asarray(np.stack([gx.ravel(), gy.ravel()], axis=1), dtype=jnp.float32)
    z = np.asarray(predict(pts)).reshape(gx.shape)
    ax.contourf(
        gx,
        gy,
        (z > 0).astype(float),
        levels=[-0.5, 0.5, 1.5],
        colors=[NEG_COLOR, POS_COLOR],
        alpha=alpha,
    )
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)


def margin_losses(
    ax: Axes,
    names: Sequence[str] = ("zero_one", "perceptron", "hinge", "logistic"),
    *,
    zlim: tuple[float, float] = (-2.5, 2.5),
) -> None:
    """Plot binary losses against the margin $z = y\\,\\hat y$ (the book's Fig 1.6 and Fig 2.4)."""
    z = jnp.linspace(*zlim, 501)
    for name in names:
        loss = losses.get(name)
        ax.plot(np.asarray(z), np.asarray(loss.fn(z)), label=f"{name}: ${loss.formula}$", lw=2)
    ax.axvline(0, color="k", lw=0.8)
    ax.set_xlabel("margin $z = y\\,(w\\cdot x)$")
    ax.set_ylabel("loss")
    ax.set_ylim(-0.2, 4)
    ax.legend(fontsize=8)


def activation(
    ax: Axes, name: str, *, vlim: tuple[float, float] = (-4.0, 4.0), autodiff: bool = True
) -> None:
    """Plot an activation $\\Phi$, its hand-written $\\Phi'$ and (dots) ``jax.grad`` of $\\Phi$."""
    act = activations.get(name)
    v = jnp.linspace(*vlim, 401)
    ax.plot(np.asarray(v), np.asarray(act.fn(v)), lw=2, label=f"$\\Phi(v) = {act.formula}$")
    ax.plot(np.asarray(v), np.asarray(act.grad(v)), lw=2, ls="--", label="$\\Phi'(v)$ by hand")
    if autodiff:
        vs = jnp.linspace(*vlim, 25) + 0.013  # off the kinks, where jax.grad picks a side
        g = jax.vmap(jax.grad(lambda t: act.fn(t)))(vs)
        ax.plot(np.asarray(vs), np.asarray(g), "k.", ms=5, label="jax.grad")
    ax.set_title(name)
    ax.set_xlabel("$v$")
    ax.legend(fontsize=8, loc="upper left")


def curves(
    ax: Axes,
    series: dict[str, ArrayLike],
    *,
    xlabel: str = "epoch",
    ylabel: str = "loss",
    logy: bool = False,
) -> None:
    """Plot named 1-D series (loss or mistake curves) on shared axes."""
    for name, values in series.items():
        ax.plot(np.arange(1, len(np.asarray(values)) + 1), np.asarray(values), label=name, lw=2)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    ax.legend()


def figure(
    ncols: int = 1, nrows: int = 1, *, width: float = 4.2, height: float = 3.6
) -> tuple[Figure, np.ndarray]:
    """A figure with a grid of axes (always returned as a flat array)."""
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False, layout="constrained"
    )
    return fig, axes.ravel()
