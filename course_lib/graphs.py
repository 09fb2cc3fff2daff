r"""Node embeddings by logistic matrix factorization and SGNS-style edge sampling (Aggarwal §2.7).

A graph with adjacency matrix $B$ (symmetric, 0/1) is modelled as
$b_{ij} \sim \mathrm{Bernoulli}(\sigma(\bar u_i\cdot\bar v_j))$ (Eq 2.61–2.62): the same logistic
matrix factorization as SGNS (§2.6.3), with nodes in place of words and edges in place of
co-occurrences. Two ways to fit it:

- :func:`logistic_embedding`: full-batch on every pair (edges positive, non-edges negative);
- :func:`sgns_embedding`: the mini-batch recipe of §2.7.1: draw edges with probability
  $\propto c_{ij}$ and, for each, $k$ negative nodes with probability proportional to their
  (weighted) degree, then take the SGNS step of :mod:`course_lib.word2vec`.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from scipy.stats import rankdata

from course_lib import _validate, word2vec
from course_lib._types import Array, ArrayLike, PRNGKey


def degree_distribution(A: ArrayLike) -> Array:
    r"""Negative sampling over nodes: $q_j \propto \sum_r c_{rj}$ (§2.7.1, footnote 9)."""
    A = _adjacency(A)
    deg = jnp.sum(A, axis=0)
    return deg / jnp.sum(deg)


def logistic_embedding(
    A: ArrayLike, *, key: PRNGKey, dim: int = 3, steps: int = 500, lr: float = 0.05
) -> tuple[word2vec.Embeddings, Array]:
    r"""Logistic matrix factorization of the adjacency matrix: $B \approx \sigma(UV^T)$.

    Minimizes the Bernoulli negative log-likelihood over all ordered pairs $i \ne j$ (edges with
    $c^+ = 1$, non-edges with $c^- = 1$) by full-batch Adam.

    Returns:
        ``(params, losses)``; ``params.U, params.V: (n, dim)``.
    """
    A = _adjacency(A)
    off = 1.0 - jnp.eye(A.shape[0], dtype=A.dtype)
    return word2vec.fit_logistic_mf(A, off * (1.0 - A), key=key, dim=dim, steps=steps, lr=lr)


@functools.partial(jax.jit, static_argnames=("k", "batch_size", "steps"))
def _sgns_embedding(params, key, edge_i, edge_j, edge_p, q, lr, k, batch_size, steps):
    def body(p, kk):
        k_e, k_n = jax.random.split(kk)
        e = word2vec.sample_negatives(edge_p, (batch_size,), key=k_e)  # edges drawn ∝ c_ij
        neg = word2vec.sample_negatives(q, (batch_size, k), key=k_n)
        loss = word2vec.batch_sgns_loss(p, edge_i[e], edge_j[e], neg)
        return word2vec.sgns_update(p, edge_i[e], edge_j[e], neg, lr), loss

    return lax.scan(body, params, jax.random.split(key, steps))


def sgns_embedding(
    A: ArrayLike,
    *,
    key: PRNGKey,
    dim: int = 3,
    negatives: int = 3,
    steps: int = 2000,
    batch_size: int = 32,
    lr: float = 0.05,
) -> tuple[word2vec.Embeddings, Array]:
    r"""Node embeddings by edge sampling with $k$ degree-proportional negatives (§2.7.1).

    Each step draws ``batch_size`` directed edges $(i, j)$ with probability $\propto c_{ij}$,
    $k$ negatives per edge from :func:`degree_distribution`, and applies
    :func:`course_lib.word2vec.sgns_update`.

    Returns:
        ``(params, losses: (steps,))`` (the minibatch SGNS loss before each step).
    """
    _validate.prng_key("key", key)
    A = _adjacency(A)
    dim = _validate.positive_int("dim", dim)
    negatives = _validate.positive_int("negatives", negatives)
    steps = _validate.positive_int("steps", steps)
    batch_size = _validate.positive_int("batch_size", batch_size)
    _validate.positive("lr", lr)
    edge_i, edge_j = np.nonzero(np.asarray(A))  # both directions of every undirected edge
    if edge_i.size == 0:
        raise ValueError("`A` has no edge: nothing to embed.")
    weights = np.asarray(A)[edge_i, edge_j]
    k_u, k_v, k_run = jax.random.split(key, 3)
    n = A.shape[0]
    params = word2vec.Embeddings(
        0.1 * jax.random.normal(k_u, (n, dim), A.dtype),
        0.1 * jax.random.normal(k_v, (n, dim), A.dtype),
    )
    return _sgns_embedding(
        params,
        k_run,
        jnp.asarray(edge_i, jnp.int32),
        jnp.asarray(edge_j, jnp.int32),
        jnp.asarray(weights / weights.sum(), A.dtype),
        degree_distribution(A),
        jnp.asarray(lr, A.dtype),
        negatives,
        batch_size,
        steps,
    )


def link_probabilities(params: word2vec.Embeddings) -> Array:
    r"""$P(b_{ij} = 1) = \sigma(\bar u_i\cdot\bar v_j)$ for all pairs, ``(n, n)``."""
    return jax.nn.sigmoid(params.U @ params.V.T)


def node_vectors(params: word2vec.Embeddings) -> Array:
    r"""One vector per node, $(\bar u_i + \bar v_i)/2$ (undirected: both roles describe it)."""
    return 0.5 * (params.U + params.V)


def link_auc(scores: ArrayLike, A: ArrayLike) -> float:
    r"""Area under the ROC curve of ``scores`` for telling edges from non-edges ($i < j$ pairs).

    The probability that a random edge scores above a random non-edge (ties count 1/2), by
    the Mann–Whitney rank formula.
    """
    scores = _validate.float_array("scores", scores, ndim=2)
    A = _adjacency(A)
    iu = np.triu_indices(A.shape[0], k=1)
    # Symmetrize: an undirected pair is scored by the mean of both directions.
    s = np.asarray(scores + scores.T, dtype=np.float64)[iu]
    y = np.asarray(A)[iu] > 0
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("`A` needs at least one edge and one non-edge for an AUC.")
    ranks = rankdata(s)  # ties share their average rank
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def split_by_first_component(E: ArrayLike) -> Array:
    r"""Two groups from an embedding ``E: (n, p)``: the sign of the first principal component."""
    return _split(_validate.float_array("E", E, ndim=2))


@jax.jit
def _split(E):
    Ec = E - jnp.mean(E, axis=0)[None, :]
    _, _, Vt = jnp.linalg.svd(Ec, full_matrices=False)
    return (Ec @ Vt[0] > 0).astype(jnp.int32)


def agreement(labels: ArrayLike, truth: ArrayLike) -> float:
    """Fraction of nodes on which two 2-way splits agree, up to swapping the group names."""
    a = np.asarray(labels)
    b = np.asarray(truth)
    if a.shape != b.shape:
        raise ValueError(
            f"`labels` and `truth` must have the same shape, got {a.shape}, {b.shape}."
        )
    same = float(np.mean(a == b))
    return max(same, 1.0 - same)


def _adjacency(A: ArrayLike) -> Array:
    A = _validate.float_array("A", A, ndim=2)
    if A.shape[0] != A.shape[1]:
        raise ValueError(f"`A` must be a square adjacency matrix, got shape {tuple(A.shape)}.")
    if not _validate.is_traced(A) and bool(jnp.any(A < 0)):
        raise ValueError("`A` must have non-negative entries (edge counts).")
    return A
