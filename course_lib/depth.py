r"""Depth, width and what a network can represent (Aggarwal §1.2.2, §1.2.3, §1.5.1, §1.5.2).

What is here:

- :func:`layer_shapes` and :func:`param_count`: a network with widths $(d, p_1, \dots, p_k, o)$
  has weight matrices $d\times p_1$, $p_r\times p_{r+1}$, $p_k\times o$ (§1.2.2) and
  $d p_1 + \sum_{r=1}^{k-1} p_r p_{r+1} + p_k o$ weights, plus one bias per non-input unit;
- :func:`collapse`: with identity activations the whole network is one matrix,
  $W_1 W_2 \cdots W_{k+1}$ (Theorem 1.5.1);
- :func:`staircase_params` and :func:`staircase`: a sum of steep sigmoids placed between the
  points of a grid reproduces any Lipschitz function on an interval (the universal
  approximation sketch of §1.5.1);
- :func:`tent`, :func:`compose_tent`, :func:`deep_tent_params`, :func:`shallow_tent_params`:
  the tent map $t(x) = 2\,\mathrm{ReLU}(x) - 4\,\mathrm{ReLU}(x - 1/2)$ composed $r$ times has
  $2^r$ linear pieces; a deep ReLU network of $2r$ hidden units computes it, a one-hidden-layer
  one needs at least $2^r - 1$ (§1.5.2, Fig 1.15);
- :func:`count_pieces`, :func:`random_shallow`, :func:`shallow_kinks`, :func:`grid_with`:
  counting the linear pieces of a sampled piecewise-linear function, and of random
  one-hidden-layer ReLU networks (at most width + 1 on a line).

Networks are :mod:`course_lib.mlp` parameter tuples (:class:`course_lib.mlp.Dense` layers); the
depth $r$ of :func:`compose_tent` and the steepness of :func:`staircase` are traced, so a widget
that moves them never recompiles.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from course_lib import _validate, mlp
from course_lib._types import Array, ArrayLike, PRNGKey

# ------------------------------------------------------------------------ shapes and counts


def _widths(widths: Sequence[int]) -> tuple[int, ...]:
    if isinstance(widths, (str, bytes)) or not hasattr(widths, "__len__"):
        raise TypeError(f"`widths` must be a sequence of layer widths, got {widths!r}.")
    widths = tuple(widths)
    if len(widths) < 2:
        raise ValueError(f"`widths` needs at least 2 widths (input and output), got {widths}.")
    for w in widths:
        _validate.positive_int("widths[...]", w)
    return tuple(int(w) for w in widths)


def layer_shapes(widths: Sequence[int]) -> tuple[tuple[tuple[int, int], tuple[int]], ...]:
    r"""The shapes ``((p_r, p_{r+1}), (p_{r+1},))`` of each layer's weights and biases (§1.2.2).

    ``widths = (d, p_1, ..., p_k, o)``: the first matrix is $d\times p_1$, the last
    $p_k\times o$, as in the book's convention $h_{r+1} = \Phi(W_{r+1}^\top h_r + b_{r+1})$.
    """
    w = _widths(widths)
    return tuple(((a, b), (b,)) for a, b in zip(w[:-1], w[1:], strict=True))


def param_count(widths: Sequence[int], *, biases: bool = True) -> int:
    r"""The number of parameters of a fully connected network with ``widths = (d, p_1..p_k, o)``:

    $$ d\,p_1 + \sum_{r=1}^{k-1} p_r\,p_{r+1} + p_k\,o \;+\; \Big(\sum_{r=1}^{k} p_r + o\Big), $$

    the last bracket (one bias per non-input unit) only when ``biases`` (§1.2.2).
    """
    shapes = layer_shapes(widths)
    return sum(a * b + (b if biases else 0) for (a, b), _ in shapes)


# ------------------------------------------------------------------------ Theorem 1.5.1


def collapse(Ws: Sequence[ArrayLike]) -> Array:
    r"""The single matrix of a network with identity activations and no biases (Theorem 1.5.1).

    With $h_{r+1} = W_{r+1}^\top h_r$ (``W_r: (p_{r-1}, p_r)``) the output is
    $o = W_{k+1}^\top \cdots W_1^\top x = (W_1 W_2 \cdots W_{k+1})^\top x$, so for row inputs
    ``X (n, d)`` the network computes ``X @ collapse(Ws)``, shape ``(d, o)``.
    """
    if isinstance(Ws, (str, bytes)) or not isinstance(Ws, Sequence) or len(Ws) == 0:
        raise ValueError(f"`Ws` must be a non-empty list of matrices, got {Ws!r:.80}.")
    mats = [_validate.float_array(f"Ws[{i}]", W, ndim=2) for i, W in enumerate(Ws)]
    for i in range(1, len(mats)):
        if mats[i - 1].shape[1] != mats[i].shape[0]:
            raise ValueError(
                f"`Ws[{i - 1}]` has shape {mats[i - 1].shape} but `Ws[{i}]` has shape "
                f"{mats[i].shape}: consecutive layers must chain (p_r, p_(r+1)) @ (p_(r+1), ...)."
            )
    out = mats[0]
    for W in mats[1:]:
        out = out @ W
    return out


# ------------------------------------------------------------------------ universal approximation


def staircase_params(
    f: Callable[[Array], Array], n: int, lo: float = 0.0, hi: float = 1.0
) -> tuple[Array, Array, Array]:
    r"""Centres, heights and baseline of the $n$-step staircase of ``f`` on ``[lo, hi]`` (§1.5.1).

    With grid points $x_k = lo + k\,(hi - lo)/n$, $k = 0..n$, step $k$ sits half-way between
    $x_{k-1}$ and $x_k$ and rises by $f(x_k) - f(x_{k-1})$; the baseline is $f(x_0)$. Returns
    ``centers (n,)``, ``heights (n,)``, ``baseline ()``.
    """
    n = _validate.positive_int("n", n)
    if not hi > lo:
        raise ValueError(f"the interval needs lo < hi, got lo = {lo}, hi = {hi}.")
    xs = np.linspace(lo, hi, n + 1)
    values = np.asarray(f(jnp.asarray(xs, jnp.result_type(float))))
    dt = values.dtype  # the float dtype f computed in; the rest in NumPy (nothing to compile)
    centers, heights = (0.5 * (xs[:-1] + xs[1:])).astype(dt), np.diff(values).astype(dt)
    return jnp.asarray(centers), jnp.asarray(heights), jnp.asarray(values[0])


@jax.jit
def _staircase(x, centers, heights, steepness, baseline):
    # (m, 1) - (n,) -> (m, n): every point against every step
    z = steepness * (x[:, None] - centers[None, :])
    return baseline + jax.nn.sigmoid(z) @ heights


def staircase(
    x: ArrayLike, centers: ArrayLike, heights: ArrayLike, steepness: ArrayLike, baseline: ArrayLike
) -> Array:
    r"""A one-hidden-layer sigmoid network: $g(x) = b + \sum_k h_k\,\sigma\big(s\,(x - c_k)\big)$.

    ``x (m,)``, ``centers (n,)``, ``heights (n,)``; ``steepness`` $s$ and ``baseline`` $b$ are
    traced scalars. As $s\to\infty$ each unit becomes a step of height $h_k$ at $c_k$ (§1.5.1).
    """
    x = _validate.float_array("x", x, ndim=1)
    centers = _validate.float_array("centers", centers, ndim=1)
    heights = _validate.float_array("heights", heights, ndim=1)
    if centers.shape != heights.shape:
        raise ValueError(
            f"`centers` and `heights` need one entry per step, got shapes {centers.shape} "
            f"and {heights.shape}."
        )
    return _staircase(x, centers, heights, jnp.asarray(steepness), jnp.asarray(baseline))


# ------------------------------------------------------------------------ the tent map


def tent(x: ArrayLike) -> Array:
    r"""The tent map $t(x) = 2\,\mathrm{ReLU}(x) - 4\,\mathrm{ReLU}(x - 1/2)$: on $[0, 1]$ it
    rises from 0 to 1 on $[0, 1/2]$ and falls back to 0 on $[1/2, 1]$ (§1.5.2)."""
    x = jnp.asarray(x)
    return 2.0 * jax.nn.relu(x) - 4.0 * jax.nn.relu(x - 0.5)


#: the deepest composition :func:`compose_tent` runs (2^20 pieces: beyond float32's resolution)
MAX_DEPTH = 20


@jax.jit
def _compose_tent(x, r):
    # a fixed number of steps, the ones past r masked: r stays traced and reverse-mode
    # differentiation works (a fori_loop with a traced bound would be a while_loop)
    def step(h, i):
        return jnp.where(i < r, tent(h), h), None

    return jax.lax.scan(step, x, jnp.arange(MAX_DEPTH))[0]


def compose_tent(x: ArrayLike, r: ArrayLike) -> Array:
    r"""$t^{\circ r}(x) = t(t(\cdots t(x)))$, $r$ times; ``r`` is traced (one compile for all r).

    On $[0, 1]$ it has $2^r$ linear pieces with kinks at $k/2^r$, $k = 1..2^r - 1$, and
    $t^{\circ r}(k/2^r) = k \bmod 2$: a zig-zag of $2^{r-1}$ teeth.
    """
    x = _validate.float_array("x", x)
    if not _validate.is_traced(r):
        r_val = np.asarray(r)
        if r_val.ndim != 0 or r_val.dtype.kind not in "iu" or not 0 <= int(r_val) <= MAX_DEPTH:
            raise ValueError(f"`r` must be a whole number in [0, {MAX_DEPTH}], got {r!r}.")
    return _compose_tent(x, jnp.asarray(r, jnp.int32))


def deep_tent_params(r: int) -> tuple[mlp.Dense, ...]:
    r"""An :mod:`course_lib.mlp` ReLU network of widths $(1, 2, \dots, 2, 1)$ ($r$ hidden layers of
    2 units, $6r + 1$ parameters) that computes $t^{\circ r}$ exactly (§1.5.2, Fig 1.15).

    Each hidden layer holds $\mathrm{ReLU}(u)$ and $\mathrm{ReLU}(u - 1/2)$ of the previous
    tent's output $u = 2h_1 - 4h_2$; that linear combination is folded into the next layer's
    weights. Use with ``mlp.forward(params, x[:, None], activation="relu")``.
    """
    r = _validate.positive_int("r", r)
    dt = jnp.result_type(float)
    first = mlp.Dense(jnp.array([[1.0, 1.0]], dt), jnp.array([0.0, -0.5], dt))
    middle = mlp.Dense(jnp.array([[2.0, 2.0], [-4.0, -4.0]], dt), jnp.array([0.0, -0.5], dt))
    last = mlp.Dense(jnp.array([[2.0], [-4.0]], dt), jnp.zeros(1, dt))
    return (first, *([middle] * (r - 1)), last)


def shallow_tent_params(r: int) -> tuple[mlp.Dense, ...]:
    r"""A one-hidden-layer ReLU network of $2^r$ units that equals $t^{\circ r}$ on $[0, 1]$:
    $3\cdot 2^r + 1$ parameters (§1.5.2). No such network has fewer than $2^r - 1$ units.

    With $\delta = 2^{-r}$: unit 0 is $\mathrm{ReLU}(x)$ with output weight $2^r$ (the first
    piece rises with slope $2^r$); unit $k = 1..2^r - 1$ is $\mathrm{ReLU}(x - k\delta)$ and turns
    the slope from $+2^r$ to $-2^r$ (output weight $-2^{r+1}$, $k$ odd) or back ($+2^{r+1}$).
    """
    r = _validate.positive_int("r", r)
    dt = jnp.result_type(float)
    slope = 2.0**r
    k = np.arange(2**r)
    b_in = -k / slope
    w_out = np.where(k == 0, slope, np.where(k % 2 == 1, -2.0, 2.0) * slope)
    hidden = mlp.Dense(jnp.ones((1, k.size), dt), jnp.asarray(b_in, dt))
    out = mlp.Dense(jnp.asarray(w_out[:, None], dt), jnp.zeros(1, dt))
    return hidden, out


# ------------------------------------------------------------------------ counting pieces


def count_pieces(xs: ArrayLike, ys: ArrayLike, *, tol: float = 1e-3) -> int:
    r"""The number of linear pieces of a piecewise-linear function sampled at ``xs`` (sorted).

    Slopes $s_i = (y_{i+1} - y_i)/(x_{i+1} - x_i)$; a kink is a point where the slope changes
    by more than ``tol``, $|s_i - s_{i-1}| > \mathrm{tol}$ (on a uniform grid,
    $|y_{i+1} - 2y_i + y_{i-1}|/h > \mathrm{tol}$: a second difference). The pieces are one
    more than the kinks. Exact when every kink is a grid point (else a kink between two grid
    points shows as two); the tolerance keeps rounding noise from counting as kinks.
    """
    xs = np.asarray(_validate.float_array("xs", xs, ndim=1), np.float64)
    ys = np.asarray(_validate.float_array("ys", ys, ndim=1), np.float64)
    if xs.shape != ys.shape or xs.size < 2:
        raise ValueError(
            f"`xs` and `ys` need the same length >= 2, got shapes {xs.shape} and {ys.shape}."
        )
    h = np.diff(xs)
    if not np.all(h > 0):
        raise ValueError("`xs` must be strictly increasing.")
    _validate.positive("tol", tol)
    slopes = np.diff(ys) / h
    return 1 + int(np.sum(np.abs(np.diff(slopes)) > tol))


def random_shallow(*, key: PRNGKey, width: int) -> tuple[mlp.Dense, ...]:
    r"""A random one-hidden-layer network of widths $(1, m, 1)$, every weight and bias drawn
    from $N(0, 1)$, so its ReLU kinks $-b_j/w_j$ fall at random places on the line.

    The draws come from one ``(4, max(m, 64))`` array, so every width up to 64 shares one
    compiled sampler; row 0 holds the input weights, 1 the biases, 2 the output weights.
    """
    _validate.prng_key("key", key)
    width = _validate.positive_int("width", width)
    # sliced in NumPy: slicing a jax array compiles once per width
    z = np.asarray(jax.random.normal(key, (4, max(width, 64))))[:, :width]
    Dense = mlp.Dense
    return (Dense(jnp.asarray(z[0][None, :]), jnp.asarray(z[1])),
            Dense(jnp.asarray(z[2][:, None]), jnp.asarray(z[3, :1])))  # fmt: skip


def shallow_kinks(params: tuple[mlp.Dense, ...], lo: float, hi: float) -> np.ndarray:
    r"""The sorted distinct kinks $-b_j/w_j$ in $(lo, hi)$ of a one-hidden-layer ReLU network
    (units with $w_j = 0$ or output weight 0 bend nothing). At most its width, so the network
    has at most width + 1 linear pieces on the line."""
    if len(params) != 2:
        raise ValueError(f"`params` must be one hidden layer (2 Dense layers), got {len(params)}.")
    w = np.asarray(params[0].W[0], np.float64)
    b = np.asarray(params[0].b, np.float64)
    a = np.asarray(params[1].W[:, 0], np.float64)
    live = (w != 0) & (a != 0)
    x = -b[live] / w[live]
    return np.unique(x[(x > lo) & (x < hi)])


def grid_with(points: ArrayLike, lo: float, hi: float, n: int, *, gap: float = 1e-6) -> np.ndarray:
    r"""A grid of ``n`` uniform points on ``[lo, hi]`` with ``points`` added (and uniform points
    closer than ``gap`` to one of them dropped, so no slope is taken over a tiny interval):
    every kink is then a grid point and :func:`count_pieces` counts exactly."""
    n = _validate.positive_int("n", n)
    pts = np.asarray(points, np.float64).ravel()
    grid = np.linspace(lo, hi, n)
    if pts.size:
        near = np.min(np.abs(grid[:, None] - pts[None, :]), axis=1) < gap
        grid = grid[~near | (grid == lo) | (grid == hi)]
    return np.unique(np.concatenate([grid, pts]))
