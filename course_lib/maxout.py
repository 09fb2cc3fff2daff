r"""Maxout units: the largest of $k$ affine pieces (Aggarwal §3.4.3.2; Goodfellow et al. 2013).

A maxout layer with $k$ pieces maps a batch ``x (n, d_in)`` to

$$ h_{ij} = \max_{p = 1..k}\, \big(x_i W_p + b_p\big)_j, \qquad W_p \in \mathbb R^{d_{in}\times
   d_{out}},\; b_p \in \mathbb R^{d_{out}}, $$

a piecewise-linear, convex function of each unit's input. Special cases with $k = 2$:
$W_2 = 0, b_2 = 0$ gives $\mathrm{ReLU}(xW_1 + b_1)$; $W_2 = \alpha W_1, b_2 = \alpha b_1$ gives the
leaky ReLU; $W_2 = -W_1, b_2 = -b_1$ gives $|xW_1 + b_1|$. It never saturates and has no dead
region (some piece is always active), at $k$ times the parameters.

**Backward pass** (:func:`layer_vjp`): the gradient flows only through the winning piece. With
$g = \partial L/\partial h$ and the one-hot $e_{pij} = [p = \arg\max_q a_{qij}]$,

$$ \frac{\partial L}{\partial W_p} = x^\top (g \odot e_p), \quad
   \frac{\partial L}{\partial b_p} = \textstyle\sum_i (g \odot e_p)_i, \quad
   \frac{\partial L}{\partial x} = \textstyle\sum_p (g \odot e_p) W_p^\top . $$

(Ties go to the first piece, as in ``jnp.argmax``.)
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

from course_lib import _validate, losses
from course_lib._types import Array, ArrayLike, PRNGKey


class Maxout(NamedTuple):
    """One maxout layer: ``W: (k, d_in, d_out)``, ``b: (k, d_out)``."""

    W: Array
    b: Array


class Linear(NamedTuple):
    """The linear output layer: ``W: (d_in, n_classes)``, ``b: (n_classes,)``."""

    W: Array
    b: Array


def _check_layer(W: ArrayLike, b: ArrayLike) -> tuple[Array, Array]:
    W = _validate.float_array("W", W, ndim=3)
    b = _validate.float_array("b", b, ndim=2)
    if b.shape != (W.shape[0], W.shape[2]):
        raise ValueError(
            f"`b` must have shape (k, d_out) = {(W.shape[0], W.shape[2])} for W of shape "
            f"{tuple(W.shape)}, got {tuple(b.shape)}."
        )
    return W, b


def pieces(x: Array, W: Array, b: Array) -> Array:
    """The $k$ affine pieces $a_p = x W_p + b_p$, shape ``(k, n, d_out)``."""
    return jnp.einsum("nd,kde->kne", x, W) + b[:, None, :]


def layer(x: ArrayLike, W: ArrayLike, b: ArrayLike) -> Array:
    """Maxout of ``x (n, d_in)`` with ``W (k, d_in, d_out)``, ``b (k, d_out)``: ``(n, d_out)``."""
    x = _validate.float_array("x", x, ndim=2)
    W, b = _check_layer(W, b)
    if x.shape[1] != W.shape[1]:
        raise ValueError(f"`x` has {x.shape[1]} features but W expects {W.shape[1]}.")
    return jnp.max(pieces(x, W, b), axis=0)


def layer_vjp(x: ArrayLike, W: ArrayLike, b: ArrayLike, g: ArrayLike) -> tuple[Array, Array, Array]:
    r"""The hand-derived backward pass: ``(dL/dx, dL/dW, dL/db)`` for ``g = dL/dh (n, d_out)``;
    only each unit's winning piece receives gradient (see the module docstring)."""
    x = _validate.float_array("x", x, ndim=2)
    W, b = _check_layer(W, b)
    g = _validate.float_array("g", g, ndim=2)
    a = pieces(x, W, b)  # (k, n, d_out)
    win = jax.nn.one_hot(jnp.argmax(a, axis=0), W.shape[0], axis=0, dtype=g.dtype)  # (k, n, e)
    gp = win * g[None]  # (k, n, d_out): the gradient routed to each piece
    dW = jnp.einsum("nd,kne->kde", x, gp)
    db = gp.sum(axis=1)
    dx = jnp.einsum("kne,kde->nd", gp, W)
    return dx, dW, db


def init(
    sizes: tuple[int, ...] | list[int], *, key: PRNGKey, k: int = 2
) -> tuple[Maxout | Linear, ...]:
    r"""A maxout network: hidden maxout layers of widths ``sizes[1:-1]`` with ``k`` pieces each,
    then a linear output layer. Weights $N(0, 1/d_{in})$, biases 0."""
    _validate.prng_key("key", key)
    sizes = tuple(sizes)
    if len(sizes) < 2:
        raise ValueError(f"`sizes` needs at least 2 widths (input and output), got {sizes}.")
    for s in sizes:
        _validate.positive_int("sizes[...]", s)
    k = _validate.positive_int("k", k)
    keys = jax.random.split(key, len(sizes) - 1)
    out: list[Maxout | Linear] = []
    for i, (kk, d_in, d_out) in enumerate(zip(keys, sizes[:-1], sizes[1:], strict=True)):
        std = 1.0 / math.sqrt(d_in)
        if i < len(sizes) - 2:
            W = std * jax.random.normal(kk, (k, d_in, d_out))
            out.append(Maxout(W, jnp.zeros((k, d_out), W.dtype)))
        else:
            W = std * jax.random.normal(kk, (d_in, d_out))
            out.append(Linear(W, jnp.zeros(d_out, W.dtype)))
    return tuple(out)


def apply(params: tuple[Maxout | Linear, ...], X: Array) -> Array:
    """The logits ``(n, n_classes)`` of a maxout network for ``X (n, d)``."""
    h = X
    for p in params[:-1]:
        h = jnp.max(pieces(h, p.W, p.b), axis=0)
    return h @ params[-1].W + params[-1].b[None, :]


def loss(params: tuple[Maxout | Linear, ...], X: Array, labels: Array) -> Array:
    """The mean softmax cross-entropy of :func:`apply`."""
    return jnp.mean(losses.softmax_cross_entropy(apply(params, X), labels))


@functools.partial(jax.jit, static_argnames=("steps",))
def _train(params, X, labels, lr, *, steps):
    grad = jax.value_and_grad(loss)

    def body(p, _):
        value, g = grad(p, X, labels)
        return jax.tree.map(lambda w, gw: w - lr * gw, p, g), value

    return jax.lax.scan(body, params, None, length=steps)


def train(
    params: tuple[Maxout | Linear, ...], X: ArrayLike, labels: ArrayLike, *, lr: float, steps: int
) -> tuple[tuple[Maxout | Linear, ...], Array]:
    """Full-batch gradient descent, one jitted ``lax.scan`` (``lr`` traced). Returns
    ``(params, losses)``, the loss before each step."""
    X = _validate.float_array("X", X, ndim=2)
    labels = _validate.index_array("labels", labels, size=params[-1].W.shape[1], ndim=1)
    _validate.same_rows("X", X, "labels", labels)
    _validate.positive("lr", lr)
    steps = _validate.positive_int("steps", steps)
    return _train(params, X, labels, jnp.asarray(lr, X.dtype), steps=steps)


def accuracy(params: tuple[Maxout | Linear, ...], X: ArrayLike, labels: ArrayLike) -> Array:
    """The fraction of rows whose largest logit is the true class."""
    X = _validate.float_array("X", X, ndim=2)
    return jnp.mean(jnp.argmax(apply(params, X), axis=1) == jnp.asarray(labels))
