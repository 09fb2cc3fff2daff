r"""Competitive learning: winner-take-all, vector quantization, online k-means (Aggarwal §10.5).

$m$ prototypes (the neurons' weight vectors) $W_1, \dots, W_m \in \mathbb R^d$ compete for each
input $X$. The *winner* is the nearest one, $p = \arg\min_i \|W_i - X\|$, and only it learns:

$$W_p \Leftarrow W_p + \alpha\,(X - W_p) \qquad \text{(Eq 10.20)}$$

so it moves exactly the fraction $\alpha$ of the way towards $X$.

**Vector quantization** (§10.5.1) adds a *sensitivity* $s_i \ge 0$ per prototype: the winner is
$\arg\min_i \|W_i - X\| - s_i$; after each input every loser's $s_i$ grows by $\gamma$ and the
winner's is reset to 0. A prototype that has not won for a while is eventually chosen anyway
and pulled towards the data, which balances the clusters; $\gamma = 0$ is plain competitive
learning. Storing $n$ points by their nearest prototype costs $m\,d$ numbers for the codebook
plus $\lceil\log_2 m\rceil$ bits per point (:func:`storage_bits`; the text's total omits the
factor $n$).

**Online k-means** (Exercise 10.3) is competitive learning with a per-prototype step
$\alpha = 1/n_p$, where $n_p$ counts the inputs prototype $p$ has won so far: then $W_p$ is
exactly the running mean of those inputs.

Every function here is pure: state in, state out; loops over inputs are ``lax.scan``;
the step sizes $\alpha$ and $\gamma$ are traced, so changing them never recompiles.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from course_lib import _validate
from course_lib._types import Array, ArrayLike, PRNGKey

# ------------------------------------------------------------------------------ validation


def _prototypes(W: ArrayLike) -> Array:
    W = _validate.float_array("W", W, ndim=2)
    _validate.nonempty("W", W, what="prototype")
    return _validate.finite("W", W)


def _point(x: ArrayLike, d: int) -> Array:
    x = _validate.float_array("x", x, ndim=1)
    if x.shape[0] != d:
        raise ValueError(f"`x` must have the prototypes' dimension d = {d}, got shape {x.shape}.")
    return _validate.finite("x", x)


def _data(X: ArrayLike, d: int) -> Array:
    X = _validate.float_array("X", X, ndim=2)
    _validate.nonempty("X", X, what="point")
    if X.shape[1] != d:
        raise ValueError(
            f"`X` must have the prototypes' dimension d = {d} columns, got shape {X.shape}."
        )
    return _validate.finite("X", X)


def _sensitivity(s: ArrayLike, m: int) -> Array:
    s = _validate.float_array("s", s, ndim=1)
    if s.shape[0] != m:
        raise ValueError(f"`s` must hold one sensitivity per prototype ({m},), got {s.shape}.")
    return _validate.finite("s", s)


# ------------------------------------------------------------------------------ winner-take-all


def _distances(W: Array, x: Array) -> Array:
    # (m, d), (d,) -> (m,): Euclidean distances, the neurons' "activations" (smaller = stronger)
    return jnp.sqrt(jnp.sum((W - x[None, :]) ** 2, axis=1))


def winner(W: ArrayLike, x: ArrayLike, s: ArrayLike | None = None) -> Array:
    r"""The winning prototype $p = \arg\min_i \|W_i - x\| - s_i$ (§10.5, §10.5.1).

    Args:
        W: ``(m, d)`` prototypes.
        x: ``(d,)`` one input.
        s: ``(m,)`` sensitivities, or ``None`` for plain competitive learning ($s = 0$).

    Returns:
        ``()`` int32 index (the first one on a tie).
    """
    W = _prototypes(W)
    x = _point(x, W.shape[1])
    s = jnp.zeros(W.shape[0], W.dtype) if s is None else _sensitivity(s, W.shape[0])
    return _winner(W, x, s)


@jax.jit
def _winner(W, x, s):
    return jnp.argmin(_distances(W, x) - s).astype(jnp.int32)


def wta_step(W: ArrayLike, x: ArrayLike, alpha: ArrayLike) -> tuple[Array, Array]:
    r"""One winner-take-all update (Eq 10.20): $W_p \Leftarrow W_p + \alpha(x - W_p)$ for the
    nearest prototype $p$; the others do not move.

    Args:
        W: ``(m, d)`` prototypes.
        x: ``(d,)`` input.
        alpha: learning rate $\alpha > 0$ (traced).

    Returns:
        ``(W_new: (m, d), p: () int32)``.
    """
    W = _prototypes(W)
    x = _point(x, W.shape[1])
    _validate.positive("alpha", alpha)
    state, p = _vq_step_jit(VQState(W, jnp.zeros(W.shape[0], W.dtype)), x, alpha, 0.0)
    return state.W, p


# ------------------------------------------------------------------------------ vector quantization


class VQState(NamedTuple):
    """Vector quantization state: prototypes ``W: (m, d)`` and sensitivities ``s: (m,)``."""

    W: Array
    s: Array


def vq_init(W0: ArrayLike) -> VQState:
    """The start of vector quantization: prototypes ``W0: (m, d)``, every sensitivity 0."""
    W0 = _prototypes(W0)
    return VQState(W0, jnp.zeros(W0.shape[0], W0.dtype))


def _vq_step(state: VQState, x: Array, alpha, gamma) -> tuple[VQState, Array]:
    W, s = state
    p = jnp.argmin(_distances(W, x) - s).astype(jnp.int32)
    W = W.at[p].add(alpha * (x - W[p]))
    s = (s + gamma).at[p].set(0.0)  # losers gain gamma, the winner starts again from 0
    return VQState(W, s), p


def vq_step(
    state: VQState, x: ArrayLike, alpha: ArrayLike, gamma: ArrayLike
) -> tuple[VQState, Array]:
    r"""One vector-quantization update with sensitivity (§10.5.1).

    Winner $p = \arg\min_i \|W_i - x\| - s_i$; then $W_p \Leftarrow W_p + \alpha(x - W_p)$,
    $s_i \Leftarrow s_i + \gamma$ for $i \ne p$ and $s_p \Leftarrow 0$. With $\gamma = 0$ the
    sensitivities stay 0 and this is :func:`wta_step`.

    Returns:
        ``(new_state, p)``.
    """
    W = _prototypes(state.W)
    s = _sensitivity(state.s, W.shape[0])
    x = _point(x, W.shape[1])
    _validate.positive("alpha", alpha)
    _validate.positive("gamma", gamma, allow_zero=True)
    return _vq_step_jit(VQState(W, s), x, alpha, gamma)


_vq_step_jit = jax.jit(_vq_step)


@functools.partial(jax.jit, static_argnames="epochs")
def _vq_train(W0, X, key, alpha, gamma, epochs):
    n = X.shape[0]
    order = jnp.concatenate(
        [jax.random.permutation(jax.random.fold_in(key, e), n) for e in range(epochs)]
    )

    def body(state, i):
        state, p = _vq_step(state, X[i], alpha, gamma)
        return state, p

    s0 = jnp.zeros(W0.shape[0], W0.dtype)
    state, winners = lax.scan(body, VQState(W0, s0), order)
    return state, winners, order


def vq_train(
    W0: ArrayLike,
    X: ArrayLike,
    *,
    key: PRNGKey,
    alpha: ArrayLike,
    gamma: ArrayLike = 0.0,
    epochs: int = 1,
) -> tuple[VQState, Array, Array]:
    r"""Vector quantization (or, with ``gamma = 0``, plain competitive learning) over ``epochs``
    passes of ``X``, each in a fresh random order (``jax.random.fold_in(key, epoch)``).

    Args:
        W0: ``(m, d)`` starting prototypes.
        X: ``(n, d)`` data.
        key: a JAX random key (the visiting order).
        alpha: learning rate (traced). gamma: sensitivity increment $\gamma \ge 0$ (traced).
        epochs: passes over the data (static).

    Returns:
        ``(state, winners: (epochs*n,) int32, order: (epochs*n,) int32)``: the final state, and
        which prototype won each visited point ``X[order[t]]``.
    """
    W0 = _prototypes(W0)
    X = _data(X, W0.shape[1])
    _validate.prng_key("key", key)
    _validate.positive("alpha", alpha)
    _validate.positive("gamma", gamma, allow_zero=True)
    epochs = _validate.positive_int("epochs", epochs)
    return _vq_train(W0, X, key, alpha, gamma, epochs)


def vq_train_cache_size() -> int:
    """How many versions of the jitted VQ training loop are compiled (tests: no recompiles)."""
    return _vq_train._cache_size()


# ------------------------------------------------------------------------------ quality


def assign(W: ArrayLike, X: ArrayLike) -> Array:
    r"""The nearest prototype of every point, $\arg\min_i\|W_i - X_j\|$: ``(n,)`` int32."""
    W = _prototypes(W)
    X = _data(X, W.shape[1])
    return _assign(W, X)


@jax.jit
def _sq_dists(W, X):
    # (m, d), (n, d) -> (n, m), written as a difference (no cancellation for nearby points)
    return jnp.sum((X[:, None, :] - W[None, :, :]) ** 2, axis=-1)


@jax.jit
def _assign(W, X):
    return jnp.argmin(_sq_dists(W, X), axis=1).astype(jnp.int32)


def cluster_sizes(W: ArrayLike, X: ArrayLike) -> Array:
    """How many points of ``X: (n, d)`` each prototype of ``W: (m, d)`` is nearest to: ``(m,)``
    int32. A size of 0 is a *dead* prototype."""
    W = _prototypes(W)
    idx = assign(W, X)
    return jnp.bincount(idx, length=W.shape[0]).astype(jnp.int32)


def quantization_error(W: ArrayLike, X: ArrayLike) -> Array:
    r"""Mean distance from each point to its nearest prototype,
    $\frac1n\sum_j \min_i \|X_j - W_i\|$ (the error of replacing a point by its code)."""
    W = _prototypes(W)
    X = _data(X, W.shape[1])
    return _quantization_error(W, X)


@jax.jit
def _quantization_error(W, X):
    return jnp.mean(jnp.sqrt(jnp.min(_sq_dists(W, X), axis=1)))


# ------------------------------------------------------------------------------ storage


def code_bits(m: int) -> int:
    r"""Bits of one code, $\lceil \log_2 m \rceil$ (0 for $m = 1$), computed exactly on integers."""
    m = _validate.positive_int("m", m)
    return (m - 1).bit_length()


def storage_bits(n: int, d: int, m: int, *, bits_per_number: int = 32) -> int:
    r"""Bits to store $n$ points of dimension $d$ vector-quantized with $m$ prototypes:

    $$m\,d\,b + n\,\lceil\log_2 m\rceil,$$

    the codebook ($m d$ numbers of $b$ bits) plus one code per point. (Aggarwal §10.5.1 writes
    the total as "$m\cdot d + \log_2(m)$", leaving out the factor $n$.) Exact Python integers.
    """
    n = _validate.positive_int("n", n)
    d = _validate.positive_int("d", d)
    m = _validate.positive_int("m", m)
    b = _validate.positive_int("bits_per_number", bits_per_number)
    return m * d * b + n * code_bits(m)


def raw_bits(n: int, d: int, *, bits_per_number: int = 32) -> int:
    """Bits to store ``n`` points of dimension ``d`` as they are: $n\\,d\\,b$."""
    n = _validate.positive_int("n", n)
    d = _validate.positive_int("d", d)
    b = _validate.positive_int("bits_per_number", bits_per_number)
    return n * d * b


# ------------------------------------------------------------------------------ online k-means


class KMeansState(NamedTuple):
    """Online k-means state: prototypes ``W: (m, d)`` and win counts ``counts: (m,)`` int32."""

    W: Array
    counts: Array


def kmeans_init(W0: ArrayLike) -> KMeansState:
    """Start online k-means from ``W0: (m, d)`` with every count 0 (the first win copies the
    point, since then $\\alpha = 1/1$)."""
    W0 = _prototypes(W0)
    return KMeansState(W0, jnp.zeros(W0.shape[0], jnp.int32))


def _kmeans_step(state: KMeansState, x: Array) -> tuple[KMeansState, Array]:
    W, counts = state
    p = jnp.argmin(_distances(W, x)).astype(jnp.int32)
    counts = counts.at[p].add(1)
    alpha = 1.0 / counts[p].astype(W.dtype)  # alpha = 1 / n_p, n_p counting this point
    W = W.at[p].add(alpha * (x - W[p]))
    return KMeansState(W, counts), p


def online_kmeans_step(state: KMeansState, x: ArrayLike) -> tuple[KMeansState, Array]:
    r"""One step of online k-means (Exercise 10.3): the nearest prototype $p$ wins, its count
    becomes $n_p \Leftarrow n_p + 1$ and it moves by Eq 10.20 with $\alpha = 1/n_p$:

    $$W_p \Leftarrow W_p + \frac{1}{n_p}(x - W_p),$$

    which keeps $W_p$ equal to the mean of the $n_p$ points it has won.

    Returns:
        ``(new_state, p)``.
    """
    W = _prototypes(state.W)
    counts = _validate.index_array("counts", state.counts, ndim=1)
    if counts.shape[0] != W.shape[0]:
        raise ValueError(f"`counts` must have shape ({W.shape[0]},), got {counts.shape}.")
    x = _point(x, W.shape[1])
    return _kmeans_step_jit(KMeansState(W, counts), x)


_kmeans_step_jit = jax.jit(_kmeans_step)


@jax.jit
def _online_kmeans(W0, X):
    state = KMeansState(W0, jnp.zeros(W0.shape[0], jnp.int32))
    return lax.scan(_kmeans_step, state, X)


def online_kmeans(W0: ArrayLike, X: ArrayLike) -> tuple[KMeansState, Array]:
    r"""Online k-means over the rows of ``X: (n, d)`` in the order given, from ``W0: (m, d)``
    with zero counts (MacQueen's algorithm; :func:`online_kmeans_step` in a ``lax.scan``).

    Returns:
        ``(state, winners: (n,) int32)``.
    """
    W0 = _prototypes(W0)
    X = _data(X, W0.shape[1])
    return _online_kmeans(W0, X)
