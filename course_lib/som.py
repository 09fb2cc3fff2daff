r"""Kohonen self-organizing maps on rectangular and hexagonal lattices (Aggarwal §10.5.2).

A self-organizing map is competitive learning (:mod:`course_lib.competitive`) whose $m$ neurons
sit on a fixed 2-D *lattice*. Neuron $i$ has lattice coordinates $c_i$ and the lattice distance
$\mathrm{LDist}(i, j) = \|c_i - c_j\|$, with adjacent neurons exactly 1 apart:

- **rectangular**: $c = (\text{col}, \text{row})$; 4 neighbours at distance 1, and e.g. a node 2
  columns and 3 rows away is $\sqrt{2^2 + 3^2} = \sqrt{13}$ away;
- **hexagonal**: odd rows shifted by $\tfrac12$, rows $\tfrac{\sqrt3}2$ apart, so every interior
  node has 6 neighbours at distance 1.

For an input $X$ the winner is $p = \arg\min_i\|W_i - X\|$, and *every* neuron moves towards
$X$, damped by its lattice distance to the winner:

$$\mathrm{Damp}(i, p) = \exp\Big(-\frac{\mathrm{LDist}(i,p)^2}{2\sigma^2}\Big)
\quad\text{(Eq 10.21)},$$

$$W_i \Leftarrow W_i + \alpha\,\mathrm{Damp}(i, p)\,(X - W_i)\ \ \forall i
\quad\text{(Eq 10.22)}.$$

As $\sigma \to 0$ only the winner moves (winner-take-all, Eq 10.20). Training decays $\alpha$ and
$\sigma$ geometrically from a start to an end value; both are traced, so changing them never
recompiles. Quality: the *quantization error* (mean distance of a point to its best unit) and
the *topographic error* (the fraction of points whose best and second-best units are not
lattice neighbours: how often the map tears).
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from course_lib import _validate, competitive
from course_lib._types import Array, ArrayLike, PRNGKey

LATTICES = ("rectangular", "hexagonal")

#: Lattice distances within this of 1 count as "adjacent" (the hexagonal row spacing sqrt(3)/2
#: makes a diagonal neighbour's distance 1 only up to rounding).
ADJACENT_TOL = 1e-5


# ------------------------------------------------------------------------------ lattices


def lattice_coords(rows: int, cols: int, kind: str = "rectangular") -> Array:
    r"""Lattice coordinates of ``rows * cols`` neurons, neuron ``i = r * cols + c``.

    Rectangular: $(c, r)$. Hexagonal: $(c + \tfrac12 [r \text{ odd}],\ r\tfrac{\sqrt3}{2})$, so
    that the six nearest neighbours of an interior node are all at distance 1.

    Returns:
        ``(rows * cols, 2)`` float array (x, y).
    """
    rows = _validate.positive_int("rows", rows)
    cols = _validate.positive_int("cols", cols)
    if kind not in LATTICES:
        raise ValueError(f"unknown lattice kind {kind!r}; choose one of: {', '.join(LATTICES)}.")
    # static geometry: built in NumPy (float64), no small XLA programs to compile
    r, c = np.divmod(np.arange(rows * cols), cols)
    if kind == "hexagonal":
        xy = np.stack([c + 0.5 * (r % 2), r * (math.sqrt(3.0) / 2.0)], axis=1)
    else:
        xy = np.stack([c, r], axis=1).astype(np.float64)
    return jnp.asarray(xy, jnp.result_type(float))


def lattice_distances(coords: ArrayLike) -> Array:
    r"""All lattice distances $\mathrm{LDist}(i, j) = \|c_i - c_j\|$ of ``coords: (m, 2)``:
    ``(m, m)``, symmetric, zero diagonal."""
    coords = _validate.float_array("coords", coords, ndim=2)
    return _pairwise(coords)


@jax.jit
def _pairwise(coords):
    diff = coords[:, None, :] - coords[None, :, :]
    return jnp.sqrt(jnp.sum(diff**2, axis=-1))


def adjacency(ldist: ArrayLike) -> Array:
    """``(m, m)`` bool: which pairs of neurons are lattice neighbours (distance 1)."""
    ldist = _validate.float_array("ldist", ldist, ndim=2)
    return jnp.abs(ldist - 1.0) < ADJACENT_TOL


def lattice_edges(rows: int, cols: int, kind: str = "rectangular") -> Array:
    """The neighbour pairs ``(i, j)``, ``i < j``, of a lattice: ``(E, 2)`` int32 (for drawing)."""
    xy = np.asarray(lattice_coords(rows, cols, kind), np.float64)
    dist = np.sqrt(np.sum((xy[:, None, :] - xy[None, :, :]) ** 2, axis=-1))
    i, j = np.nonzero(np.triu(np.abs(dist - 1.0) < ADJACENT_TOL, k=1))
    return jnp.asarray(np.stack([i, j], axis=1), jnp.int32)


def damp(ldist: ArrayLike, sigma: ArrayLike) -> Array:
    r"""The Gaussian damping $\exp(-\mathrm{LDist}^2 / 2\sigma^2)$ (Eq 10.21), elementwise.

    $\mathrm{Damp} = 1$ at distance 0 for every $\sigma$; $\sigma = 0$ gives exactly
    winner-take-all (0 at every positive distance).
    """
    ldist = jnp.asarray(ldist)
    _validate.positive("sigma", sigma, allow_zero=True)
    return _damp(ldist, sigma)


def _damp(ldist, sigma):
    sig2 = jnp.asarray(sigma, ldist.dtype) ** 2
    safe = jnp.where(sig2 > 0, sig2, 1.0)
    gauss = jnp.exp(-(ldist**2) / (2.0 * safe))
    return jnp.where(ldist == 0, 1.0, jnp.where(sig2 > 0, gauss, 0.0))


# ------------------------------------------------------------------------------ one step


def _som_step(W, x, alpha, sigma, ldist):
    p = jnp.argmin(jnp.sum((W - x[None, :]) ** 2, axis=1)).astype(jnp.int32)
    h = _damp(ldist[p], sigma)  # (m,): how strongly each neuron follows the winner
    return W + alpha * h[:, None] * (x[None, :] - W), p


_som_step_jit = jax.jit(_som_step)


def som_step(
    W: ArrayLike, x: ArrayLike, alpha: ArrayLike, sigma: ArrayLike, ldist: ArrayLike
) -> tuple[Array, Array]:
    r"""One Kohonen update (Eq 10.22): winner $p = \arg\min_i \|W_i - x\|$, then
    $W_i \Leftarrow W_i + \alpha\,\mathrm{Damp}(i, p)(x - W_i)$ for every neuron $i$.

    Args:
        W: ``(m, d)`` weights. x: ``(d,)`` input. alpha: learning rate (traced).
        sigma: damping bandwidth $\sigma \ge 0$ (traced). ldist: ``(m, m)`` lattice distances.

    Returns:
        ``(W_new: (m, d), p: () int32)``.
    """
    W = competitive._prototypes(W)
    x = competitive._point(x, W.shape[1])
    ldist = _ldist(ldist, W.shape[0])
    _validate.positive("alpha", alpha)
    _validate.positive("sigma", sigma, allow_zero=True)
    return _som_step_jit(W, x, alpha, sigma, ldist)


def _ldist(ldist: ArrayLike, m: int) -> Array:
    ldist = _validate.float_array("ldist", ldist, ndim=2)
    if ldist.shape != (m, m):
        raise ValueError(
            f"`ldist` must be the ({m}, {m}) lattice distances of the m = {m} neurons, "
            f"got shape {ldist.shape}."
        )
    return ldist


# ------------------------------------------------------------------------------ training


class SOMRun(NamedTuple):
    """A training run: the final weights ``W: (m, d)`` and ``snapshots: (S + 1, m, d)``, the
    weights at the start and after each of ``S`` equal stretches of training."""

    W: Array
    snapshots: Array


def schedule(start: ArrayLike, end: ArrayLike, t: ArrayLike, steps: int) -> Array:
    r"""Geometric decay from ``start`` (at $t = 0$) to ``end`` (at $t = T - 1$):
    $v_t = v_0 (v_1 / v_0)^{t / (T - 1)}$."""
    frac = jnp.asarray(t, jnp.result_type(float)) / max(steps - 1, 1)
    return start * (end / start) ** frac


def init(key: PRNGKey, X: ArrayLike, m: int) -> Array:
    """A random start: ``m`` distinct data points of ``X: (n, d)`` (``m <= n``), in random order
    on the lattice, so the map starts tangled. Returns ``(m, d)``."""
    _validate.prng_key("key", key)
    X = _validate.float_array("X", X, ndim=2)
    m = _validate.positive_int("m", m)
    if m > X.shape[0]:
        raise ValueError(f"`m` = {m} neurons need at least m points in `X`, got {X.shape[0]}.")
    return _init(key, X, m)


@functools.partial(jax.jit, static_argnames="m")
def _init(key, X, m):
    return X[jax.random.permutation(key, X.shape[0])[:m]]


@functools.partial(jax.jit, static_argnames=("steps", "snapshots"))
def _train(W0, X, ldist, key, alpha0, alpha1, sigma0, sigma1, steps, snapshots):
    idx = jax.random.randint(key, (steps,), 0, X.shape[0])
    per = steps // snapshots
    ts = jnp.arange(steps).reshape(snapshots, per)

    def step(W, t):
        alpha = schedule(alpha0, alpha1, t, steps)
        sigma = schedule(sigma0, sigma1, t, steps)
        W, _ = _som_step(W, X[idx[t]], alpha, sigma, ldist)
        return W, None

    def stretch(W, ts_chunk):
        W, _ = lax.scan(step, W, ts_chunk)
        return W, W

    W, snaps = lax.scan(stretch, W0, ts)
    return SOMRun(W, jnp.concatenate([W0[None], snaps], axis=0))


def train(
    W0: ArrayLike,
    X: ArrayLike,
    ldist: ArrayLike,
    *,
    key: PRNGKey,
    steps: int = 3000,
    alpha: tuple[float, float] = (0.5, 0.02),
    sigma: tuple[float, float] = (3.0, 0.3),
    snapshots: int = 30,
) -> SOMRun:
    r"""Train a self-organizing map with Eq 10.22 on ``steps`` points drawn uniformly from
    ``X: (n, d)`` (with replacement, from ``key``), $\alpha$ and $\sigma$ decaying geometrically
    from their first to their second value (:func:`schedule`). One jitted ``lax.scan``;
    ``alpha`` and ``sigma`` are traced (no recompile), ``steps`` and ``snapshots`` are static
    and ``steps`` must be a multiple of ``snapshots``.

    Args:
        W0: ``(m, d)`` starting weights (e.g. :func:`init`). ldist: ``(m, m)`` lattice distances.

    Returns:
        :class:`SOMRun` with ``snapshots: (snapshots + 1, m, d)``.
    """
    W0 = competitive._prototypes(W0)
    X = competitive._data(X, W0.shape[1])
    ldist = _ldist(ldist, W0.shape[0])
    _validate.prng_key("key", key)
    steps = _validate.positive_int("steps", steps)
    snapshots = _validate.positive_int("snapshots", snapshots)
    if steps % snapshots:
        raise ValueError(f"`steps` ({steps}) must be a multiple of `snapshots` ({snapshots}).")
    for name, pair in (("alpha", alpha), ("sigma", sigma)):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(f"`{name}` must be a pair (start, end), got {pair!r}.")
        for v in pair:
            _validate.positive(name, v)
    return _train(W0, X, ldist, key, *alpha, *sigma, steps, snapshots)


def train_cache_size() -> int:
    """How many versions of the jitted training loop are compiled (tests: no recompiles)."""
    return _train._cache_size()


# ------------------------------------------------------------------------------ quality


def best_two(W: ArrayLike, X: ArrayLike) -> tuple[Array, Array]:
    """The best and second-best unit of every point: two ``(n,)`` int32 arrays."""
    W = competitive._prototypes(W)
    X = competitive._data(X, W.shape[1])
    if W.shape[0] < 2:
        raise ValueError(f"`W` needs at least 2 neurons for a second-best unit, got {W.shape[0]}.")
    return _best_two(W, X)


@jax.jit
def _best_two(W, X):
    d2 = competitive._sq_dists(W, X)  # (n, m)
    b1 = jnp.argmin(d2, axis=1)
    # the runner-up: hide the best unit and take the argmin again (cheaper than top_k on CPU)
    masked = jnp.where(jnp.arange(W.shape[0])[None, :] == b1[:, None], jnp.inf, d2)
    return b1.astype(jnp.int32), jnp.argmin(masked, axis=1).astype(jnp.int32)


@jax.jit
def _topographic_error(W, X, ldist):
    b1, b2 = _best_two(W, X)
    apart = jnp.abs(ldist[b1, b2] - 1.0) >= ADJACENT_TOL
    return jnp.mean(apart.astype(W.dtype))


def topographic_error(W: ArrayLike, X: ArrayLike, ldist: ArrayLike) -> Array:
    r"""The fraction of points of ``X: (n, d)`` whose best and second-best units (nearest and
    next-nearest weight vectors) are **not** lattice neighbours: 0 for a map that never tears.
    """
    W = competitive._prototypes(W)
    X = competitive._data(X, W.shape[1])
    ldist = _ldist(ldist, W.shape[0])
    if W.shape[0] < 2:
        raise ValueError(f"`W` needs at least 2 neurons for a second-best unit, got {W.shape[0]}.")
    return _topographic_error(W, X, ldist)


@jax.jit
def _snapshot_errors(snaps, X, ldist):
    te = jax.vmap(lambda W: _topographic_error(W, X, ldist))(snaps)
    qe = jax.vmap(lambda W: competitive._quantization_error(W, X))(snaps)
    return te, qe


def snapshot_errors(snapshots: ArrayLike, X: ArrayLike, ldist: ArrayLike) -> tuple[Array, Array]:
    """Topographic and quantization error of every snapshot ``(S, m, d)``: two ``(S,)`` arrays."""
    snaps = _validate.float_array("snapshots", snapshots, ndim=3)
    X = competitive._data(X, snaps.shape[2])
    ldist = _ldist(ldist, snaps.shape[1])
    return _snapshot_errors(snaps, X, ldist)
