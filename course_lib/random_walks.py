r"""Random walks on graphs: DeepWalk and node2vec's co-occurrence counts (Aggarwal §2.7.3).

A graph with (weighted, symmetric) adjacency matrix $A$ is turned into "sentences": walks that
start at a node and hop to a neighbour, again and again. Counting how often node $j$ appears
within $t$ steps of node $i$ on the walks gives a node-context matrix $c_{ij}$, which any word
embedding of §2.6 can factorize (here: Eq 2.60, :func:`course_lib.word2vec.fit_multinomial_mf`).

- **DeepWalk** (uniform walks): from node $v$ go to neighbour $x$ with probability
  $P_{vx} = a_{vx} / \sum_y a_{vy}$, the row-normalized transition matrix
  :func:`transition_matrix`.
- **node2vec** (biased, second-order walks): having come from $t$ to $v$, go to $x$ with
  probability proportional to $a_{vx}\,\alpha_{pq}(t, x)$, where $\alpha = 1/p$ to return to
  $t$, $1$ to a common neighbour of $t$ and $v$, and $1/q$ to move further away
  (:func:`node2vec_weights`). A small $p$ keeps the walk near home (breadth-first flavour), a
  small $q$ drives it outwards (depth-first flavour); $p = q = 1$ is DeepWalk.

All walkers move at once: one ``lax.scan`` over the steps, ``vmap`` over the walkers, one key
per step. ``p`` and ``q`` are traced, so a slider that moves them never recompiles.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from course_lib import _validate, word2vec
from course_lib._types import Array, ArrayLike, PRNGKey


def transition_matrix(A: ArrayLike) -> Array:
    r"""DeepWalk's transition matrix $P = D^{-1}A$: row $v$ is $a_{vx} / \sum_y a_{vy}$.

    Args:
        A: ``(n, n)`` non-negative adjacency (edge weights); every node needs an edge.

    Returns:
        ``(n, n)``, each row sums to 1.
    """
    A = _adjacency(A)
    return A / jnp.sum(A, axis=1, keepdims=True)


def node2vec_weights(
    prev: ArrayLike, cur: ArrayLike, A: ArrayLike, p: ArrayLike, q: ArrayLike
) -> Array:
    r"""node2vec's unnormalized probabilities of the next node (Grover & Leskovec 2016).

    Having arrived at ``cur`` $= v$ from ``prev`` $= t$, the weight of each node $x$ is
    $a_{vx}\,\alpha_{pq}(t, x)$ with $\alpha = 1/p$ if $x = t$, $1$ if $a_{tx} > 0$
    (one step from $t$), else $1/q$. Non-neighbours of $v$ get weight 0.

    Args:
        prev, cur: ``()`` int node ids (may be traced); A: ``(n, n)``; p, q: positive scalars.

    Returns:
        ``(n,)`` weights (divide by their sum for the probabilities).
    """
    A = _validate.float_array("A", A, ndim=2)
    return _node2vec_weights(prev, cur, A, p, q)


def _node2vec_weights(prev, cur, A, p, q):
    n = A.shape[0]
    alpha = jnp.where(A[prev] > 0, 1.0, 1.0 / q)
    alpha = jnp.where(jnp.arange(n) == prev, 1.0 / p, alpha)
    return A[cur] * alpha


def walks(
    A: ArrayLike,
    starts: ArrayLike,
    *,
    key: PRNGKey,
    length: int,
    p: ArrayLike = 1.0,
    q: ArrayLike = 1.0,
) -> Array:
    r"""Random walks from ``starts``: the first hop uniform over the weighted neighbours (DeepWalk's
    $P$), every later hop by node2vec's weights with return parameter $p$ and in-out parameter
    $q$ ($p = q = 1$: a DeepWalk walk throughout).

    Args:
        A: ``(n, n)`` symmetric non-negative adjacency, no isolated node.
        starts: ``(w,)`` int, where the ``w`` walkers start.
        key: the random key (one split per step).
        length: nodes per walk, at least 2 (static: it sets the shape).
        p, q: positive scalars (traced).

    Returns:
        ``(w, length)`` int32: row $r$ is walk $r$, column 0 its start.
    """
    A = _adjacency(A)
    starts = _validate.index_array("starts", starts, size=A.shape[0], ndim=1)
    _validate.prng_key("key", key)
    length = _validate.positive_int("length", length)
    if length < 2:
        raise ValueError(f"`length` must be at least 2 (a start and one hop), got {length}.")
    _validate.positive("p", p)
    _validate.positive("q", q)
    return _walks(A, starts, key, jnp.asarray(p, A.dtype), jnp.asarray(q, A.dtype), length)


@functools.partial(jax.jit, static_argnames="length")
def _walks(A, starts, key, p, q, length):
    k_first, k_rest = jax.random.split(key)
    logA = jnp.log(A)  # -inf off the edges: never drawn
    first = jax.random.categorical(k_first, logA[starts], axis=-1).astype(jnp.int32)  # (w,)

    def hop(prev, cur, k):
        return jax.random.categorical(k, jnp.log(_node2vec_weights(prev, cur, A, p, q)))

    def body(carry, k):
        prev, cur = carry  # (w,), (w,)
        keys = jax.random.split(k, prev.shape[0])
        nxt = jax.vmap(hop)(prev, cur, keys).astype(jnp.int32)
        return (cur, nxt), nxt

    _, rest = lax.scan(
        body, (starts.astype(jnp.int32), first), jax.random.split(k_rest, length - 2)
    )
    return jnp.concatenate([starts[:, None].astype(jnp.int32), first[:, None], rest.T], axis=1)


def walks_cache_size() -> int:
    """Compilations of :func:`walks`' jitted core so far (for no-recompile checks)."""
    return _walks._cache_size()


def transition_counts(W: ArrayLike, n: int) -> Array:
    r"""How often each hop $v \to x$ occurs in the walks ``W: (w, L)``: an ``(n, n)`` count matrix.

    Divided by its row sums it estimates $P$ (:func:`transition_matrix`) for uniform walks.
    """
    n = _validate.positive_int("n", n)
    W = _validate.index_array("W", W, size=n, ndim=2)
    # the hops are (centre, context) pairs of word2vec's count matrix
    return word2vec.cooccurrence(W[:, :-1].ravel(), W[:, 1:].ravel(), n)


def second_order_counts(W: ArrayLike, n: int) -> Array:
    r"""How often each hop $(t, v) \to x$ occurs in the walks ``W: (w, L)``: ``(n, n, n)`` counts,
    ``[t, v, x]``, for comparing node2vec walks with their second-order transition law."""
    n = _validate.positive_int("n", n)
    W = _validate.index_array("W", W, size=n, ndim=2)
    return _triple_counts(W[:, :-2].ravel(), W[:, 1:-1].ravel(), W[:, 2:].ravel(), n)


def second_order_transitions(A: ArrayLike, p: ArrayLike, q: ArrayLike) -> Array:
    r"""node2vec's transition law $T_{tvx} = P(x \mid t \to v)$, ``(n, n, n)``: the weights of
    :func:`node2vec_weights` normalized over $x$ (rows $(t, v)$ without an edge $t\!-\!v$ are 0)."""
    A = _adjacency(A)
    _validate.positive("p", p)
    _validate.positive("q", q)
    return _second_order_transitions(A, jnp.asarray(p, A.dtype), jnp.asarray(q, A.dtype))


@jax.jit
def _second_order_transitions(A, p, q):
    n = A.shape[0]
    t, v = jnp.meshgrid(jnp.arange(n), jnp.arange(n), indexing="ij")
    w = jax.vmap(jax.vmap(lambda a, b: _node2vec_weights(a, b, A, p, q)))(t, v)  # (n, n, n)
    T = w / jnp.sum(w, axis=2, keepdims=True)
    return jnp.where((A > 0)[:, :, None], T, 0.0)


def chi_square(counts: ArrayLike, probs: ArrayLike) -> tuple[float, int]:
    r"""Pearson's goodness-of-fit statistic of observed transition counts against a law.

    Each row $s$ (a state: a node, or a pair $(t, v)$) with $N_s > 0$ visits contributes
    $\sum_x (N_{sx} - N_s\pi_{sx})^2 / (N_s\pi_{sx})$ over the $x$ with $\pi_{sx} > 0$, and
    (its number of such $x$) $- 1$ degrees of freedom. Given the visits, the hops from a state
    are independent draws of its law (the Markov property), so the statistic is close to a
    $\chi^2$ with that many degrees of freedom: mean $k$, standard deviation $\sqrt{2k}$.

    Args:
        counts: ``(..., n)`` observed hops per state; probs: the same shape, each row a law.

    Returns:
        ``(statistic, degrees_of_freedom)`` as Python numbers. A count where the law says
        probability 0 makes the statistic infinite.
    """

    N = np.asarray(_validate.float_array("counts", counts), np.float64)
    P = np.asarray(_validate.float_array("probs", probs), np.float64)
    if N.shape != P.shape or N.ndim < 2:
        raise ValueError(
            f"`counts` and `probs` must have the same shape (..., n), got {N.shape}, {P.shape}."
        )
    N, P = N.reshape(-1, N.shape[-1]), P.reshape(-1, P.shape[-1])
    seen = N.sum(axis=1) > 0
    N, P = N[seen], P[seen]
    if np.any(N[P == 0] > 0):
        return float("inf"), int(np.sum(P > 0) - len(P))
    expected = N.sum(axis=1, keepdims=True) * P
    pos = P > 0
    stat = float(np.sum((N[pos] - expected[pos]) ** 2 / expected[pos]))
    return stat, int(np.sum(pos) - len(P))


def walk_cooccurrence(W: ArrayLike, n: int, window: int) -> Array:
    r"""The node-context counts $c_{ij}$ of the walks (§2.7.3): how often node $j$ stands at most
    ``window`` $= t$ places from node $i$ on a walk, both directions (so $C$ is symmetric), exactly
    as :func:`course_lib.word2vec.context_pairs` counts words in a sentence.

    Args:
        W: ``(w, L)`` walks; n: number of nodes; window: $t \ge 1$.

    Returns:
        ``(n, n)`` float counts.
    """
    n = _validate.positive_int("n", n)
    window = _validate.positive_int("window", window)
    W = _validate.index_array("W", W, size=n, ndim=2)
    if window >= W.shape[1]:
        raise ValueError(f"`window` must be shorter than the walks ({W.shape[1]}), got {window}.")
    return _walk_cooccurrence(W, n, window)


@functools.partial(jax.jit, static_argnums=(1, 2))
def _walk_cooccurrence(W, n, window):
    C = jnp.zeros((n, n), jnp.result_type(float))
    for off in range(1, window + 1):  # a static, short loop: one scatter per offset
        a, b = W[:, :-off].ravel(), W[:, off:].ravel()
        C = C.at[a, b].add(1.0).at[b, a].add(1.0)
    return C


@functools.partial(jax.jit, static_argnums=3)
def _triple_counts(a, b, c, n):
    return jnp.zeros((n, n, n), jnp.result_type(float)).at[a, b, c].add(1.0)


def step_kinds(W: ArrayLike, A: ArrayLike) -> Array:
    r"""Fractions of node2vec's three kinds of hop in the walks ``W: (w, L)`` (from the third node
    on): back to the previous node $t$, to a common neighbour of $t$ (distance 1 from $t$), and
    outwards (distance 2 from $t$).

    Returns:
        ``(3,)``: (return, stay close, move out), summing to 1.
    """
    A = _adjacency(A)
    W = _validate.index_array("W", W, size=A.shape[0], ndim=2)
    if W.shape[1] < 3:
        raise ValueError(f"`W` needs walks of at least 3 nodes, got length {W.shape[1]}.")
    return _step_kinds(W, A)


@jax.jit
def _step_kinds(W, A):
    t, x = W[:, :-2], W[:, 2:]
    back = t == x
    close = (A[t, x] > 0) & ~back
    kinds = jnp.stack([back, close, ~back & ~close]).reshape(3, -1)
    return jnp.mean(kinds.astype(A.dtype), axis=1)


def _adjacency(A: ArrayLike) -> Array:
    A = _validate.float_array("A", A, ndim=2)
    if A.shape[0] != A.shape[1]:
        raise ValueError(f"`A` must be a square adjacency matrix, got shape {tuple(A.shape)}.")
    if not _validate.is_traced(A):
        a = np.asarray(A)  # NumPy: checking a concrete matrix compiles nothing
        if (a < 0).any():
            raise ValueError("`A` must have non-negative entries (edge weights).")
        isolated = np.flatnonzero(a.sum(axis=1) == 0)
        if isolated.size:
            raise ValueError(
                f"`A` must give every node an edge (a walk cannot leave an isolated node); "
                f"nodes {[int(i) for i in isolated[:5]]} have none."
            )
    return A
