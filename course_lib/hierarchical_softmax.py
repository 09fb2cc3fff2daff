r"""Hierarchical softmax: a class probability as a path of binary decisions (Aggarwal §2.3.4).

A flat softmax over $k$ classes needs all $k$ scores $W_r\cdot h$ and $k$ exponentials for one
probability, because of the normalizing sum. The hierarchical softmax puts the classes at the
leaves of a binary tree; each of the $k-1$ internal nodes $j$ has a vector $v_j$, and the
probability of going left at $j$ is $\sigma(v_j\cdot h)$ (right: $\sigma(-v_j\cdot h)$, since
$\sigma(z) + \sigma(-z) = 1$). A class's probability is the product along its root-to-leaf
path,

$$ P(c\mid h) = \prod_{j\in\mathrm{path}(c)} \sigma\big(s_{cj}\,v_j\cdot h\big),
   \qquad s_{cj} = +1 \text{ (left) or } -1 \text{ (right)}, $$

which sums to 1 over the leaves without any normalization, and costs one dot product and one
sigmoid per node on the path: at most $\lceil\log_2 k\rceil$ of each in the balanced tree
built here (:func:`build_tree`). With $k = 2$ it is the flat softmax with $v = W_1 - W_2$.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from course_lib import _validate
from course_lib._types import Array, ArrayLike


class Tree(NamedTuple):
    r"""A balanced binary tree over $k$ classes (NumPy, static).

    Attributes:
        nodes: ``(k, D)`` int32: the internal nodes on each class's path, root first (padding 0).
        signs: ``(k, D)`` float: $+1$ for a left turn, $-1$ for a right turn, 0 for padding.
        k: number of classes (leaves); there are ``k - 1`` internal nodes.
    """

    nodes: np.ndarray
    signs: np.ndarray
    k: int


def build_tree(k: int) -> Tree:
    r"""The balanced tree that splits the classes $\{lo, \dots, hi-1\}$ of every node into
    halves $\{lo, \dots, m-1\}$ (left) and $\{m, \dots, hi-1\}$ (right), $m = lo +
    \lfloor (hi - lo)/2 \rfloor$. Internal nodes are numbered $0, \dots, k-2$ in preorder; every
    path has $\lfloor\log_2 k\rfloor$ or $\lceil\log_2 k\rceil$ nodes."""
    k = _validate.positive_int("k", k)
    if k < 2:
        raise ValueError(f"`k` must be at least 2 (a tree needs two leaves), got {k}.")
    depth = math.ceil(math.log2(k))
    nodes = np.zeros((k, depth), np.int32)
    signs = np.zeros((k, depth))
    counter = 0
    stack = [(0, k, [], [])]  # (lo, hi, path nodes, path signs)
    while stack:
        lo, hi, path, turn = stack.pop()
        if hi - lo == 1:
            nodes[lo, : len(path)] = path
            signs[lo, : len(turn)] = turn
            continue
        j, counter = counter, counter + 1
        mid = lo + (hi - lo) // 2
        stack.append((mid, hi, [*path, j], [*turn, -1.0]))  # right: popped after the left
        stack.append((lo, mid, [*path, j], [*turn, 1.0]))
    return Tree(nodes, signs, k)


def path_lengths(k: int) -> np.ndarray:
    """Number of internal nodes on each class's path in :func:`build_tree` (``(k,)`` int)."""
    t = build_tree(k)
    return (t.signs != 0).sum(axis=1)


@functools.cache
def total_path_length(k: int) -> int:
    r"""$\sum_c |\mathrm{path}(c)|$ for :func:`build_tree` ``(k)`` without building it:
    $T(1) = 0$, $T(k) = k + T(\lfloor k/2\rfloor) + T(\lceil k/2\rceil)$ (every leaf below a
    node passes through it). Exact integers, fast for any $k$."""
    if k <= 1:
        return 0
    return k + total_path_length(k // 2) + total_path_length(k - k // 2)


def log_probs(V: ArrayLike, h: ArrayLike, tree: Tree) -> Array:
    r"""$\log P(c\mid h)$ for every class: ``V (k-1, d)``, ``h (n, d)`` -> ``(n, k)``.

    Computed as $\sum_j \log\sigma(s_{cj}\,v_j\cdot h)$ with ``log_sigmoid`` (stable), the
    padded entries contributing 0.
    """
    V, h = _inputs(V, h, tree)
    return _log_probs(V, h, jnp.asarray(tree.nodes), jnp.asarray(tree.signs, V.dtype))


@jax.jit
def _log_probs(V, h, nodes, signs):
    scores = h @ V.T  # (n, k-1): one per internal node (all of them, for all classes)
    z = signs[None] * scores[:, nodes]  # (n, k, D)
    return jnp.sum(jnp.where(signs[None] != 0, jax.nn.log_sigmoid(z), 0.0), axis=-1)


def loss(V: ArrayLike, h: ArrayLike, labels: ArrayLike, tree: Tree) -> Array:
    r"""$-\sum_i \log P(c_i\mid h_i)$, touching only the $\le\lceil\log_2k\rceil$ nodes on each
    label's path. ``labels (n,)`` ints in $[0, k)$. Returns a scalar."""
    V, h = _inputs(V, h, tree)
    labels = _labels(labels, h.shape[0], tree.k)
    return _loss(V, h, labels, jnp.asarray(tree.nodes), jnp.asarray(tree.signs, V.dtype))


@jax.jit
def _loss(V, h, labels, nodes, signs):
    nodes, signs = nodes[labels], signs[labels]  # (n, D): each label's path
    z = signs * jnp.einsum("nd,njd->nj", h, V[nodes])  # the path's scores only
    return -jnp.sum(jnp.where(signs != 0, jax.nn.log_sigmoid(z), 0.0))


def loss_grad(V: ArrayLike, h: ArrayLike, labels: ArrayLike, tree: Tree) -> Array:
    r"""Hand-derived gradient of :func:`loss` with respect to ``V``: for every node $j$ on the
    path of $c_i$, $\partial/\partial v_j\,[-\log\sigma(s\,v_j\cdot h_i)] =
    -s\,\sigma(-s\,v_j\cdot h_i)\,h_i$; nodes off the path get 0. Returns ``(k-1, d)``."""
    V, h = _inputs(V, h, tree)
    labels = _labels(labels, h.shape[0], tree.k)
    return _loss_grad(V, h, labels, jnp.asarray(tree.nodes), jnp.asarray(tree.signs, V.dtype))


@jax.jit
def _loss_grad(V, h, labels, nodes, signs):
    nodes, signs = nodes[labels], signs[labels]
    z = signs * jnp.einsum("nd,njd->nj", h, V[nodes])
    coef = -signs * jax.nn.sigmoid(-z)  # (n, D); 0 on padding because the sign is 0
    return jnp.zeros_like(V).at[nodes].add(coef[..., None] * h[:, None, :])


class Cost(NamedTuple):
    """Work for one example's class probability (:func:`cost`)."""

    flat_dots: int  # dot products W_r . h of the flat softmax (all k)
    flat_exps: int  # exponentials of the flat softmax (all k)
    tree_max: int  # most dot products (= sigmoids) on one path of the tree
    tree_mean: float  # mean over the classes


def cost(k: int) -> Cost:
    r"""Exact counts for a flat softmax against :func:`build_tree` ``(k)``: $k$ dot products
    and $k$ exponentials, against $\lceil\log_2 k\rceil$ (at most) dot products and sigmoids."""
    k = _validate.positive_int("k", k)
    if k < 2:
        raise ValueError(f"`k` must be at least 2, got {k}.")
    return Cost(k, k, math.ceil(math.log2(k)), total_path_length(k) / k)


def _inputs(V: ArrayLike, h: ArrayLike, tree: Tree) -> tuple[Array, Array]:
    if not isinstance(tree, Tree):
        raise TypeError(f"`tree` must be a Tree from build_tree(k), got {type(tree).__name__}.")
    V = _validate.float_array("V", V, ndim=2)
    h = _validate.float_array("h", h, ndim=2)
    if V.shape[0] != tree.k - 1:
        raise ValueError(
            f"`V` must have one row per internal node: expected {tree.k - 1} rows for k = "
            f"{tree.k}, got shape {tuple(V.shape)}."
        )
    if h.shape[1] != V.shape[1]:
        raise ValueError(
            f"`h` must have {V.shape[1]} columns to match V, got shape {tuple(h.shape)}."
        )
    return V, h


def _labels(labels: ArrayLike, n: int, k: int) -> Array:
    arr = jnp.asarray(labels)
    if arr.shape != (n,) or np.dtype(arr.dtype).kind not in "iu":
        raise ValueError(
            f"`labels` must be ({n},) integers, got {arr.dtype} of shape {tuple(arr.shape)}."
        )
    if not _validate.is_traced(arr) and (int(arr.min()) < 0 or int(arr.max()) >= k):
        raise ValueError(f"`labels` must lie in [0, {k}), got values {np.unique(arr)[:6]}.")
    return arr
