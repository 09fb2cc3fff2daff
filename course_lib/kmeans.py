r"""Batch (Lloyd's) k-means: choosing the prototypes of an RBF layer (Aggarwal §5.2.1).

Given points $X_1, \dots, X_n \in \mathbb R^d$ and $m$ prototypes $\mu_1, \dots, \mu_m$, one
*Lloyd step* does two things:

1. **assign** every point to its nearest prototype, $c_i = \arg\min_j \|X_i - \mu_j\|^2$;
2. **update** every prototype to the centroid of the points assigned to it,
   $\mu_j \Leftarrow \frac{1}{|C_j|}\sum_{i \in C_j} X_i$ (a prototype that won no point stays
   where it is).

Neither step can raise the objective

$$J(\mu) = \sum_{i=1}^n \min_j \|X_i - \mu_j\|^2 ,$$

(the assignment minimizes it for fixed prototypes, the centroid minimizes each cluster's sum of
squares for fixed assignments), so $J$ never increases along a run and the run stops at a fixed
point. The run starts, as the text says, from $m$ training points drawn at random without
replacement (:func:`sample_prototypes`: the "random sample" way of choosing prototypes, which
over-represents the dense regions).

The online (one point at a time) variant lives in :mod:`course_lib.competitive`. This module is
kept apart from :mod:`course_lib.rbf` because k-means is a clustering algorithm in its own right
(chapter 10 and the exercises use it without any RBF layer); the RBF module only consumes its
centroids.

Internally every run carries a boolean *mask* of active prototypes, so a widget can pad to a
maximum $m$ and move the number of prototypes without recompiling.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from course_lib import _validate
from course_lib._types import Array, ArrayLike, PRNGKey


class KMeansResult(NamedTuple):
    """One k-means run.

    Attributes:
        centers: ``(m, d)`` the final prototypes.
        assignments: ``(n,)`` int32, each point's nearest final prototype.
        objective: ``(iters + 1,)`` $J$ at the initial prototypes and after every Lloyd step.
    """

    centers: Array
    assignments: Array
    objective: Array


# ------------------------------------------------------------------------------ validation


def _points(X: ArrayLike) -> Array:
    X = _validate.float_array("X", X, ndim=2)
    _validate.nonempty("X", X, what="point")
    return _validate.finite("X", X)


def _centers(centers: ArrayLike, d: int) -> Array:
    C = _validate.float_array("centers", centers, ndim=2)
    _validate.nonempty("centers", C, what="prototype")
    if C.shape[1] != d:
        raise ValueError(
            f"`centers` must have the points' dimension d = {d} columns, got shape {C.shape}."
        )
    return _validate.finite("centers", C)


# ------------------------------------------------------------------------------ the pieces


def _sq_dists(X: Array, C: Array) -> Array:
    # (n, d), (m, d) -> (n, m); written as a difference, no cancellation for close points
    return jnp.sum((X[:, None, :] - C[None, :, :]) ** 2, axis=-1)


def _masked_sq_dists(X: Array, C: Array, mask: Array) -> Array:
    return jnp.where(mask[None, :], _sq_dists(X, C), jnp.inf)


def _step(X: Array, C: Array, mask: Array) -> tuple[Array, Array, Array]:
    D = _masked_sq_dists(X, C, mask)  # (n, m)
    a = jnp.argmin(D, axis=1).astype(jnp.int32)  # (n,)
    J = jnp.sum(jnp.min(D, axis=1))
    onehot = jax.nn.one_hot(a, C.shape[0], dtype=X.dtype)  # (n, m)
    counts = onehot.sum(axis=0)  # (m,)
    sums = onehot.T @ X  # (m, d)
    new = jnp.where(counts[:, None] > 0, sums / jnp.maximum(counts, 1.0)[:, None], C)
    return new, a, J


def objective(X: ArrayLike, centers: ArrayLike) -> Array:
    r"""The k-means objective $J = \sum_i \min_j \|X_i - \mu_j\|^2$ (a sum, not a mean).

    Args:
        X: ``(n, d)`` points.
        centers: ``(m, d)`` prototypes.

    Returns:
        ``()``.
    """
    X = _points(X)
    C = _centers(centers, X.shape[1])
    return _objective(X, C)


@jax.jit
def _objective(X, C):
    return jnp.sum(jnp.min(_sq_dists(X, C), axis=1))


def assign(X: ArrayLike, centers: ArrayLike) -> Array:
    """Index of each point's nearest prototype, ``(n,)`` int32 (ties go to the lower index)."""
    X = _points(X)
    C = _centers(centers, X.shape[1])
    return _assign(X, C)


@jax.jit
def _assign(X, C):
    return jnp.argmin(_sq_dists(X, C), axis=1).astype(jnp.int32)


def kmeans_step(X: ArrayLike, centers: ArrayLike) -> tuple[Array, Array]:
    r"""One Lloyd step (§5.2.1): assign each point to its nearest prototype, then move each
    prototype to the centroid of its points (an empty cluster keeps its prototype).

    Args:
        X: ``(n, d)`` points.
        centers: ``(m, d)`` current prototypes.

    Returns:
        ``(new_centers: (m, d), assignments: (n,) int32)``; the assignments are the ones the
        update used (to the *old* prototypes).
    """
    X = _points(X)
    C = _centers(centers, X.shape[1])
    new, a, _ = _step_jit(X, C, jnp.ones(C.shape[0], bool))
    return new, a


_step_jit = jax.jit(_step)


def sample_prototypes(X: ArrayLike, m: int, *, key: PRNGKey) -> Array:
    """``m`` distinct rows of ``X: (n, d)`` drawn uniformly without replacement, ``(m, d)``.

    This is both the "random sample" choice of RBF prototypes and k-means' starting point.
    """
    X = _points(X)
    m = _validate.positive_int("m", m)
    _validate.prng_key("key", key)
    if m > X.shape[0]:
        raise ValueError(f"`m` must be at most the number of points n = {X.shape[0]}, got {m}.")
    return _sample(key, X, m)


@functools.partial(jax.jit, static_argnums=2)
def _sample(key, X, m):
    return X[jax.random.permutation(key, X.shape[0])[:m]]


@functools.partial(jax.jit, static_argnames="iters")
def _run(X, C0, mask, iters):
    def body(C, _):
        new, _a, J = _step(X, C, mask)
        return new, J

    C, Js = lax.scan(body, C0, None, length=iters)
    D = _masked_sq_dists(X, C, mask)
    a = jnp.argmin(D, axis=1).astype(jnp.int32)
    J_end = jnp.sum(jnp.min(D, axis=1))
    return KMeansResult(C, a, jnp.concatenate([Js, J_end[None]]))


def kmeans(X: ArrayLike, m: int, *, key: PRNGKey, iters: int = 20) -> KMeansResult:
    r"""Batch k-means (Lloyd's algorithm) with ``m`` prototypes, started from ``m`` random
    training points (§5.2.1), for a fixed number of Lloyd steps (``lax.scan``).

    Args:
        X: ``(n, d)`` points.
        m: number of prototypes, ``1 <= m <= n``.
        key: a JAX random key (the random starting points).
        iters: Lloyd steps (a fixed point is usually reached well before 20 on small data;
            further steps change nothing).

    Returns:
        :class:`KMeansResult` ``(centers (m, d), assignments (n,), objective (iters + 1,))``;
        ``objective`` never increases.
    """
    C0 = sample_prototypes(X, m, key=key)
    X = _points(X)
    iters = _validate.positive_int("iters", iters)
    return _run(X, C0, jnp.ones(m, bool), iters)


def kmeans_masked(X: ArrayLike, C0: ArrayLike, mask: ArrayLike, *, iters: int = 20) -> KMeansResult:
    r"""k-means from given prototypes ``C0: (M, d)`` of which only ``mask: (M,)`` (bool) take
    part: the inactive ones are never nearest and never move.

    With ``mask`` a traced array, a widget pads the prototypes to a maximum $M$ and changes the
    number of active ones without recompiling. ``objective`` counts active prototypes only.
    """
    X = _points(X)
    C0 = _centers(C0, X.shape[1])
    mask = jnp.asarray(mask)
    if mask.shape != (C0.shape[0],) or mask.dtype != jnp.bool_:
        raise ValueError(
            f"`mask` must be a boolean array of shape ({C0.shape[0]},), got "
            f"shape {tuple(mask.shape)} and dtype {mask.dtype}."
        )
    if not _validate.is_traced(mask) and not bool(mask.any()):
        raise ValueError("`mask` must switch on at least one prototype, got all False.")
    iters = _validate.positive_int("iters", iters)
    return _run(X, C0, mask, iters)
