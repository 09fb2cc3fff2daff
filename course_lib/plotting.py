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
from matplotlib.figure import Figure, SubFigure
from matplotlib.image import AxesImage

from course_lib import activations, losses
from course_lib._types import Array, ArrayLike

#: The Okabe-Ito palette: eight colours that stay distinct under the common forms of colour
#: blindness (Okabe & Ito, "Color Universal Design", 2008). Every figure of the course draws
#: from it, in this order.
OKABE_ITO = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)
POS_COLOR = OKABE_ITO[0]
NEG_COLOR = OKABE_ITO[1]
BOUNDARY_COLOR = OKABE_ITO[2]

#: Widest figure (inches at ``figure.dpi``) that JupyterLab shows unscaled beside its file
#: browser at a 1400-px window: wider figures are shrunk and their text with them.
MAX_WIDTH = 9.5


def style() -> None:
    """Course-wide matplotlib defaults: text readable at JupyterLab's default zoom, the
    colour-blind-safe palette, no top/right spines."""
    from cycler import cycler

    plt.rcParams.update(
        {
            "figure.figsize": (6.4, 4.0),
            "figure.dpi": 90,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "axes.prop_cycle": cycler(color=OKABE_ITO),
            "grid.alpha": 0.3,
            "font.size": 11,
            "axes.titlesize": 12,
            "axes.labelsize": 11,
            "legend.fontsize": 10,
            "xtick.labelsize": 10,
            "ytick.labelsize": 10,
            "legend.frameon": False,
            "image.cmap": "viridis",
        }
    )


def png_bytes(fig: Figure, *, tight: bool = True) -> bytes:
    """``fig`` rendered as PNG bytes at the figure's dpi (what the inline backend shows)."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight" if tight else None)
    return buf.getvalue()


def show(fig: Figure, alt: str) -> None:
    """Display ``fig`` in the notebook with alternative text, then close it.

    ``alt`` says what the figure shows, for a reader who cannot see it (a screen reader, a
    broken image on the course website). It is stored in the output's metadata, where
    nbconvert's HTML (and so the website) puts it in the ``<img alt=...>``.
    """
    from IPython.display import Image, display

    if not isinstance(fig, Figure):
        raise TypeError(f"show: fig must be a matplotlib Figure, got {type(fig).__name__}.")
    if not isinstance(alt, str) or len(alt.strip()) < 10:
        raise ValueError(
            f"show: alt must describe the figure in words (at least 10 characters), got {alt!r}."
        )
    data = png_bytes(fig)
    plt.close(fig)
    display(Image(data=data, format="png", alt=alt.strip()))


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
    axis_labels: tuple[str, str] | None = ("$x_1$", "$x_2$"),
) -> None:
    """Shade where ``predict(points: (m, 2)) -> (m,)`` is positive (blue) or not (orange),
    and label the axes with ``axis_labels`` (``None``: leave them alone)."""
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
    if axis_labels is not None:
        ax.set_xlabel(axis_labels[0])
        ax.set_ylabel(axis_labels[1])


def class_legend(
    ax: Axes, *, regions: bool = True, where: Axes | Figure | None = None, **kw
) -> None:
    """A legend for the :func:`scatter_classes` points (and any labelled lines) of ``ax``,
    plus, with ``regions=True``, the two shades of :func:`decision_regions`. It goes on
    ``where`` (default ``ax``; a figure for one legend under several panels, e.g. with
    ``loc="outside lower center"``)."""
    from matplotlib.patches import Patch

    handles, labels = ax.get_legend_handles_labels()
    if regions:
        for color, text in ((POS_COLOR, "predicted $+1$"), (NEG_COLOR, "predicted $-1$")):
            handles.append(Patch(facecolor=color, alpha=0.25, edgecolor="none"))
            labels.append(text)
    (ax if where is None else where).legend(handles, labels, **kw)


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
    ax.legend(loc="upper right")


def activation(
    ax: Axes,
    name: str,
    *,
    vlim: tuple[float, float] = (-4.0, 4.0),
    autodiff: bool = True,
    zoom_negative: bool = False,
) -> None:
    """Plot an activation $\\Phi$, its hand-written $\\Phi'$ and (dots) ``jax.grad`` of $\\Phi$.

    With ``zoom_negative=True`` an inset magnifies $\\Phi$ for $v < 0$ and states its slope
    there: leaky ReLU's slope of 0.01 is invisible at the panel's scale.
    """
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
    ax.legend(fontsize=9, loc="upper left")
    if zoom_negative:
        slope = float(act.fn(jnp.float32(-1.0))) / -1.0  # Phi is linear for v < 0
        vn = jnp.linspace(vlim[0], 0.0, 101)
        inset = ax.inset_axes((0.06, 0.5, 0.5, 0.3))
        inset.plot(np.asarray(vn), np.asarray(act.fn(vn)), lw=2)
        inset.axhline(0.0, color="0.5", lw=1, ls=":")  # where ReLU would be
        inset.set_title("$v < 0$, magnified", fontsize=9)
        inset.text(0.96, 0.1, f"slope {slope:g}", ha="right", transform=inset.transAxes, fontsize=9)
        inset.set_xticks([])
        inset.set_yticks([])
        inset.spines[["top", "right"]].set_visible(True)


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


# --------------------------------------------------------------------------------------------
# Chapter 2a (ch02a_shallow_models): multiclass decision regions and 8x8 digit images.

CLASS_COLORS = OKABE_ITO[:6]
CLASS_MARKERS = ("o", "x", "s", "^", "v", "D")


def class_regions(
    ax: Axes,
    predict: Callable[[Array], Array],
    X: ArrayLike,
    labels: ArrayLike,
    *,
    xlim: tuple[float, float] = (-3.5, 3.5),
    ylim: tuple[float, float] = (-3.0, 3.5),
    resolution: int = 150,
    alpha: float = 0.2,
    s: float = 14,
) -> None:
    """Shade the class ``predict(points: (m, 2)) -> (m,)`` gives each point of the plane, and
    scatter ``X: (n, 2)`` coloured by ``labels: (n,)`` (integers ``0..k-1``, at most 6)."""
    labels = np.asarray(labels)
    k = int(labels.max()) + 1
    if k > len(CLASS_COLORS):
        raise ValueError(f"class_regions draws at most {len(CLASS_COLORS)} classes, got {k}.")
    xs, ys = np.linspace(*xlim, resolution), np.linspace(*ylim, resolution)
    gx, gy = np.meshgrid(xs, ys)
    pts = jnp.asarray(np.stack([gx.ravel(), gy.ravel()], axis=1), dtype=jnp.float32)
    z = np.asarray(predict(pts)).reshape(gx.shape)
    ax.contourf(gx, gy, z, levels=np.arange(k + 1) - 0.5, colors=CLASS_COLORS[:k], alpha=alpha)
    X = np.asarray(X)
    for c in range(k):
        pts_c = X[labels == c]
        ax.scatter(
            pts_c[:, 0],
            pts_c[:, 1],
            s=s,
            c=CLASS_COLORS[c],
            marker=CLASS_MARKERS[c],
            label=f"class {c}",
        )
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal", adjustable="box")


def digit_images(
    axes: Sequence[Axes],
    images: ArrayLike,
    titles: Sequence[str] | None = None,
    *,
    cmap: str = "gray_r",
    vmin: float | None = None,
    vmax: float | None = None,
) -> None:
    """Show rows of ``images: (m, 64)`` as 8x8 pictures, one per axis (ticks and grid off).

    ``vmin``/``vmax`` put every picture on one colour scale (then one colorbar serves them
    all, e.g. ``fig.colorbar(axes[0].images[0], ax=axes)``); by default each has its own."""
    images = np.asarray(images)
    for i, ax in enumerate(axes):
        ax.imshow(images[i].reshape(8, 8), cmap=cmap, interpolation="nearest", vmin=vmin, vmax=vmax)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        if titles is not None:
            ax.set_title(titles[i], fontsize=9)


# --------------------------------------------------------------------------------------------
# ch02b_autoencoders_word2vec: labelled 2-D embeddings.


def labelled_points(
    ax: Axes,
    P: ArrayLike,
    labels: Sequence[str],
    *,
    groups: Sequence[str] | None = None,
    fontsize: float = 9,
) -> None:
    """Scatter 2-D points ``P: (n, 2)`` with a text label each, coloured by ``groups`` if given
    (at most 8 groups: the Okabe-Ito colours)."""
    P = np.asarray(P)
    names = sorted(set(groups)) if groups is not None else []
    if len(names) > len(OKABE_ITO):
        raise ValueError(
            f"labelled_points: `groups` may hold at most {len(OKABE_ITO)} groups, got {len(names)}."
        )
    colors = [OKABE_ITO[names.index(g)] for g in groups] if groups is not None else ["C0"] * len(P)
    ax.scatter(P[:, 0], P[:, 1], s=12, c=colors)
    for (x, y), text, col in zip(P, labels, colors, strict=True):
        ax.annotate(
            text, (x, y), fontsize=fontsize, color=col, xytext=(2, 2), textcoords="offset points"
        )
    for i, g in enumerate(names):
        ax.scatter([], [], color=OKABE_ITO[i], label=g, s=12)
    if names:
        ax.legend(fontsize=9, loc="best")


# --------------------------------------------------------------------------------------------
# Chapter 3a (ch03a_backprop): computational graphs with their local derivatives.


def _graph_layout(parents: Sequence[Sequence[int]]) -> np.ndarray:
    """(x, y) for every node: x is the longest distance from an input, y spreads each column."""
    depth: list[int] = []
    for ps in parents:
        depth.append(1 + max(depth[p] for p in ps) if ps else 0)
    pos = np.zeros((len(parents), 2))
    for column in set(depth):
        members = [i for i, dpt in enumerate(depth) if dpt == column]
        for rank, i in enumerate(members):
            pos[i] = column, (len(members) - 1) / 2 - rank
    return pos


def computational_graph(
    ax: Axes,
    graph,
    *,
    values: Sequence[float] | None = None,
    edge_labels: dict[tuple[int, int], str] | None = None,
    node_labels: Sequence[str] | None = None,
    highlight: Sequence[int] = (),
    node_size: float = 0.28,
    fontsize: float = 10,
) -> None:
    r"""Draw a :class:`course_lib.backprop.Graph` left to right, edges labelled.

    Args:
        ax: where to draw.
        graph: the graph (nodes in topological order).
        values: optional node values, written under each node's name.
        edge_labels: text for each edge ``(i, j)``, e.g. the local derivative $z(i, j)$.
        node_labels: text for each node (default: its name).
        highlight: node indices of one path to draw in red (its edges too).
        node_size: circle radius in layout units (columns are 1 apart).
        fontsize: node text size in points; edge labels are 1 pt smaller, never below 9.
    """
    hot_color = OKABE_ITO[3]  # vermillion: the highlighted path
    pos = _graph_layout(graph.parents)
    on_path = set(zip(highlight[:-1], highlight[1:], strict=True)) if len(highlight) > 1 else set()
    for i, j in graph.edges:
        (x0, y0), (x1, y1) = pos[i], pos[j]
        vec = np.array([x1 - x0, y1 - y0])
        unit = vec / np.linalg.norm(vec)
        start, end = pos[i] + node_size * unit, pos[j] - node_size * unit
        hot = (i, j) in on_path
        ax.annotate(
            "",
            xy=end,
            xytext=start,
            arrowprops={
                "arrowstyle": "-|>",
                "color": hot_color if hot else "0.35",
                "lw": 2.0 if hot else 1.1,
                "shrinkA": 0,
                "shrinkB": 0,
            },
        )
        if edge_labels and (i, j) in edge_labels:
            mid = start + 0.4 * (end - start)  # off-centre: crossing edges keep apart
            ax.text(
                *mid,
                edge_labels[(i, j)],
                ha="center",
                va="center",
                fontsize=max(fontsize - 1, 9),
                color=hot_color if hot else "0.15",
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.9},
            )
    for k, name in enumerate(graph.names):
        is_input = graph.ops[k] == "input"
        face = "#fde0c5" if is_input else ("#ffd1d1" if k in highlight else "#d6e6f5")
        ax.add_patch(plt.Circle(pos[k], node_size, fc=face, ec="0.2", lw=1.2, zorder=3))
        text = name if node_labels is None else node_labels[k]
        if values is not None:
            text = f"{text}\n{values[k]:.3g}"
        ax.text(*pos[k], text, ha="center", va="center", fontsize=fontsize, zorder=4)
    ax.set_aspect("equal")
    ax.set_xlim(pos[:, 0].min() - 0.5, pos[:, 0].max() + 0.5)
    ax.set_ylim(pos[:, 1].min() - 0.5, pos[:, 1].max() + 0.5)
    ax.axis("off")


# --------------------------------------------------------------------------------------------
# ch03b_optimizers: optimizer paths over the contours of a 2-D loss.

#: One colour per method, the same in every figure of the optimizer notebook.
METHOD_COLORS = {
    "GD": OKABE_ITO[0],
    "momentum": OKABE_ITO[1],
    "Nesterov": OKABE_ITO[2],
    "AdaGrad": OKABE_ITO[3],
    "RMSProp": OKABE_ITO[4],
    "AdaDelta": OKABE_ITO[5],
    "Adam": OKABE_ITO[7],
    "Newton": "#999999",
    "CG": "#7f3f98",
}


def loss_contours(
    ax: Axes,
    loss_fn: Callable[[np.ndarray], ArrayLike],
    *,
    xlim: tuple[float, float] = (-40.0, 40.0),
    ylim: tuple[float, float] = (-40.0, 40.0),
    levels: int | Sequence[float] = 12,
    resolution: int = 121,
    filled: bool = False,
) -> None:
    """Contours of a 2-D loss; ``loss_fn(w)`` gets a grid ``w: (2, ny, nx)`` (use w[0], w[1])."""
    gx, gy = np.meshgrid(np.linspace(*xlim, resolution), np.linspace(*ylim, resolution))
    z = np.asarray(loss_fn(np.stack([gx, gy])))
    draw = ax.contourf if filled else ax.contour
    kw = {"cmap": "Greys_r", "alpha": 0.35} if filled else {"colors": "0.75", "linewidths": 0.8}
    draw(gx, gy, z, levels=levels, **kw)
    ax.plot(0, 0, "k+", ms=9)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("$x$")
    ax.set_ylabel("$y$")


def optimizer_paths(
    ax: Axes,
    paths: dict[str, ArrayLike],
    *,
    upto: int | None = None,
    marker_size: float = 3,
    legend: bool = True,
) -> None:
    """Draw each named path ``(T, 2)`` of iterates (the first ``upto + 1``), a dot at its end."""
    for i, (name, path) in enumerate(paths.items()):
        path = np.asarray(path)
        if upto is not None:
            path = path[: upto + 1]
        color = METHOD_COLORS.get(name, f"C{i % 10}")
        ax.plot(path[:, 0], path[:, 1], "o-", color=color, lw=1.3, ms=marker_size, label=name)
        ax.plot(path[-1, 0], path[-1, 1], "o", color=color, ms=7, mec="k", mew=0.8)
    if legend and paths:
        ax.legend(loc="upper left", framealpha=0.85, frameon=True)


def loss_curves(
    ax: Axes,
    losses: dict[str, ArrayLike],
    *,
    upto: int | None = None,
    tol: float | None = None,
    floor: float = 1e-12,
) -> None:
    """Semi-log plot of each named loss curve ``(T,)`` against the iteration, from 0."""
    for i, (name, values) in enumerate(losses.items()):
        values = np.asarray(values, dtype=float)
        if upto is not None:
            values = values[: upto + 1]
        shown = np.clip(values, floor, 1e12)
        color = METHOD_COLORS.get(name, f"C{i % 10}")
        ax.semilogy(np.arange(len(shown)), shown, color=color, lw=1.6, label=name)
    if tol is not None:
        ax.axhline(tol, color="k", ls=":", lw=1, label=f"tolerance {tol:g}")
    ax.set_xlabel("iteration $k$")
    ax.set_ylabel("$L(w_k)$")
    ax.set_ylim(floor, 1e9)


# --------------------------------------------------------------------------------------------
# Chapter 3c (ch03c_training_deep_nets): per-layer profiles through a deep network.


def layer_profile(
    ax: Axes,
    series: dict[str, ArrayLike],
    *,
    ylabel: str,
    logy: bool = True,
    floor: float = 1e-30,
) -> None:
    """Plot named per-layer series ``(depth,)`` against the layer number 1..depth.

    NaN entries (layers that do not exist) are left out; values are clipped below at
    ``floor`` so that a vanished gradient still shows on a log scale.
    """
    from matplotlib.ticker import MaxNLocator  # only this plot needs it

    for name, values in series.items():
        values = np.asarray(values, dtype=float)
        keep = np.isfinite(values)
        layers_ = np.arange(1, values.size + 1)[keep]
        shown = np.maximum(values[keep], floor) if logy else values[keep]
        ax.plot(layers_, shown, "o-", ms=3, lw=1.5, label=name)
    ax.set_xlabel("layer $l$ (1 = next to the input)")
    ax.set_ylabel(ylabel)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if logy:
        ax.set_yscale("log")
    if len(series) > 1:
        ax.legend()


# --------------------------------------------------------------------------------------------
# Chapter 7a (ch07a_rnn_basics): Jacobian-product norms over time.


def jacobian_norms(
    ax: Axes,
    series: dict[str, ArrayLike],
    *,
    floor: float = 1e-30,
    ylabel: str = "$\\|\\partial h_T/\\partial h_t\\|_2$",
) -> None:
    r"""Plot named series ``(T+1,)`` of $\|\partial h_T/\partial h_t\|$, $t = 0..T$, against the
    number of steps back $T - t$, on a log scale (values clipped below at ``floor``)."""
    for name, values in series.items():
        values = np.asarray(values, dtype=float)
        back = np.arange(values.size - 1, -1, -1)
        ax.plot(back, np.maximum(values, floor), lw=1.6, label=name)
    ax.set_yscale("log")
    ax.set_xlabel("steps back $T - t$")
    ax.set_ylabel(ylabel)
    if len(series) > 1:
        ax.legend()


# --------------------------------------------------------------------------------------------
# Chapter 8 (ch08a_convolution, ch08b_cnn_training): filter banks and per-pixel maps of small
# images, on shared colour scales with colorbars.


def image_grid(
    axes: Sequence[Axes],
    images: ArrayLike,
    titles: Sequence[str] | None = None,
    *,
    cmap: str = "RdBu_r",
    symmetric: bool = True,
    vmax: float | None = None,
) -> AxesImage | None:
    """Show ``images: (m, h, w)`` one per axis (ticks off) and return the last image drawn
    (for a colorbar). With ``symmetric`` the colour scale is centred at 0 (blue negative, red
    positive): right for filters and gradients. ``vmax`` puts every image on one scale
    (``[-vmax, vmax]``, or ``[0, vmax]`` without ``symmetric``); by default each image gets
    its own, and then a colorbar would be meaningless."""
    images = np.asarray(images)
    shown = None
    for i, ax in enumerate(axes):
        im = images[i]
        if vmax is not None:
            lo = -vmax if symmetric else min(0.0, float(im.min()))
            shown = ax.imshow(im, cmap=cmap, vmin=lo, vmax=vmax, interpolation="nearest")
        elif symmetric:
            v = float(np.abs(im).max()) or 1.0
            shown = ax.imshow(im, cmap=cmap, vmin=-v, vmax=v, interpolation="nearest")
        else:
            shown = ax.imshow(im, cmap=cmap, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        if titles is not None:
            ax.set_title(titles[i], fontsize=10)
    return shown


def image_bank(
    fig: Figure | SubFigure,
    images: ArrayLike,
    *,
    ncols: int = 8,
    titles: Sequence[str] | None = None,
    title: str | None = None,
    cmap: str = "RdBu_r",
    symmetric: bool = True,
    vmax: float | None = None,
    label: str = "weight",
) -> np.ndarray:
    """Draw ``images: (m, h, w)`` (filters, feature maps) in rows of ``ncols`` panels of
    ``fig`` (a figure or a subfigure), all on one colour scale, with one colorbar labelled
    ``label``, so that a pale panel means a small value. ``symmetric``: the scale is
    ``[-vmax, vmax]`` with 0 in the middle (white in ``RdBu_r``), for signed weights;
    otherwise it starts at 0, for non-negative maps. ``vmax`` defaults to the largest
    ``|value|``; pass the same ``vmax`` to two banks to compare them. Returns the axes
    ``(rows, ncols)`` (unused ones switched off)."""
    from course_lib import _validate

    images = np.asarray(images, dtype=float)
    if images.ndim != 3:
        raise ValueError(f"image_bank: `images` must have shape (m, h, w), got {images.shape}.")
    ncols = _validate.positive_int("ncols", ncols)
    if titles is not None and len(titles) != len(images):
        raise ValueError(
            f"image_bank: `titles` must have one entry per image ({len(images)}), "
            f"got {len(titles)}."
        )
    if vmax is None:
        vmax = float(np.abs(images).max()) or 1.0
    elif not vmax > 0:
        raise ValueError(f"image_bank: `vmax` must be positive, got {vmax}.")
    rows = -(-len(images) // ncols)
    axes = fig.subplots(rows, ncols, squeeze=False)
    used = axes.ravel()[: len(images)]
    shown = image_grid(used, images, titles, cmap=cmap, symmetric=symmetric, vmax=vmax)
    for ax in axes.ravel()[len(images) :]:
        ax.axis("off")
    fig.colorbar(shown, ax=axes.ravel().tolist(), label=label, shrink=0.9)
    if title:
        fig.suptitle(title)
    return axes


# --------------------------------------------------------------------------------------------
# ch07b_lstm_language_models: a next-character distribution and sampled text.


def char_label(ch: str) -> str:
    """A printable label for one character (space, newline and tab get names)."""
    return {" ": "sp", "\n": "\\n", "\t": "\\t"}.get(ch, ch)


def next_char_bars(
    ax: Axes, probs: ArrayLike, chars: str, *, top: int = 15, title: str | None = None
) -> None:
    """Bar chart of the ``top`` most probable next characters, ``probs: (V,)`` over ``chars``."""
    probs = np.asarray(probs, np.float64)
    order = np.argsort(-probs, kind="stable")[:top]
    ax.bar(range(len(order)), probs[order], color=POS_COLOR)
    ax.set_xticks(range(len(order)), [char_label(chars[i]) for i in order])
    ax.set_ylabel("probability")
    ax.set_ylim(0, 1)
    if title:
        ax.set_title(title)


def text_panel(ax: Axes, text: str, *, width: int = 64, title: str | None = None) -> None:
    """Show ``text`` wrapped at ``width`` characters in a monospace panel (no math parsing)."""
    lines = []
    for para in text.split("\n"):
        lines.extend([para[i : i + width] for i in range(0, max(len(para), 1), width)])
    ax.text(
        0.0,
        1.0,
        "\n".join(lines[:14]),
        family="monospace",
        fontsize=8,
        va="top",
        ha="left",
        transform=ax.transAxes,
        parse_math=False,
    )
    ax.axis("off")
    if title:
        ax.set_title(title, loc="left", fontsize=9)
