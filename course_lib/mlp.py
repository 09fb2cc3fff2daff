r"""The multilayer perceptron, and backpropagation written out by hand (Aggarwal §3.2.3–3.2.4).

A network with layers $k = 1..L$ computes, for a batch $X$ of shape ``(n, d)``,

$$
a_k = h_{k-1} W_k + b_k, \qquad h_k = \Phi(a_k) \;(k < L), \qquad h_0 = X,
$$

and the output layer is linear: the logits are $a_L$, scored by the mean softmax
cross-entropy $\mathcal L = \frac1n\sum_i -\log\operatorname{softmax}(a_{L,i})_{y_i}$.

Backpropagation is the dynamic program of :mod:`course_lib.backprop` on this layered graph, in
one of two equivalent bookkeepings:

- **pre-activation** (Eq 3.18–3.19): $\delta_k = \partial\mathcal L/\partial a_k$, with
  $\delta_L = (\operatorname{softmax}(a_L) - \text{onehot}(y))/n$ and
  $\delta_k = \Phi'(a_k) \odot (\delta_{k+1} W_{k+1}^\top)$; then
  $\partial\mathcal L/\partial W_k = h_{k-1}^\top\delta_k$ and
  $\partial\mathcal L/\partial b_k = \sum_i \delta_{k,i}$;
- **post-activation** (Eq 3.12–3.13): $\Delta_k = \partial\mathcal L/\partial h_k$, with
  $\Delta_{L-1} = \delta_L W_L^\top$ and
  $\Delta_{k-1} = (\Delta_k \odot \Phi'(a_k))\, W_k^\top$; then
  $\partial\mathcal L/\partial W_k = h_{k-1}^\top(\Delta_k \odot \Phi'(a_k))$.

Both are tested to equal ``jax.grad`` of :func:`loss` in float64. Parameters are a tuple of
:class:`Dense` layers (a pytree), made by :func:`init` with an explicit key.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

from course_lib import _validate, activations, losses
from course_lib._types import Array, ArrayLike, PRNGKey


class Dense(NamedTuple):
    """One fully connected layer: ``W: (d_in, d_out)``, ``b: (d_out,)``."""

    W: Array
    b: Array


INIT_SCHEMES = ("xavier", "he", "normal", "constant")


def init(
    sizes: tuple[int, ...] | list[int],
    *,
    key: PRNGKey,
    scheme: str = "xavier",
    scale: float = 0.01,
) -> tuple[Dense, ...]:
    r"""Weights for a network with layer widths ``sizes = (d, h_1, ..., h_{L-1}, k)`` (§3.3.2).

    Biases start at 0. The weight schemes:

    - ``"xavier"`` (Glorot & Bengio 2010): $W_{ij} \sim N(0, 2/(d_{in} + d_{out}))$, which keeps
      the variance of activations and of gradients roughly constant through tanh layers;
    - ``"he"``: $N(0, 2/d_{in})$, the same idea for ReLU, which zeroes half its inputs;
    - ``"normal"``: $N(0, \text{scale}^2)$;
    - ``"constant"``: every weight equal to ``scale``: the symmetric start that gradient
      descent can never break (all units of a layer stay identical).
    """
    _validate.prng_key("key", key)
    sizes = tuple(sizes)
    if len(sizes) < 2:
        raise ValueError(f"`sizes` needs at least 2 widths (input and output), got {sizes}.")
    for s in sizes:
        _validate.positive_int("sizes[...]", s)
    if scheme not in INIT_SCHEMES:
        raise ValueError(f"unknown `scheme` {scheme!r}; choose one of {list(INIT_SCHEMES)}.")
    keys = jax.random.split(key, len(sizes) - 1)
    layers = []
    for k, d_in, d_out in zip(keys, sizes[:-1], sizes[1:], strict=True):
        if scheme == "constant":
            W = jnp.full((d_in, d_out), scale, jnp.result_type(float))
        else:
            std = {
                "xavier": math.sqrt(2.0 / (d_in + d_out)),
                "he": math.sqrt(2.0 / d_in),
                "normal": scale,
            }[scheme]
            W = std * jax.random.normal(k, (d_in, d_out))
        layers.append(Dense(W, jnp.zeros(d_out, W.dtype)))
    return tuple(layers)


class Cache(NamedTuple):
    """The forward pass's intermediate values, for the backward pass."""

    pre: tuple[Array, ...]  # a_1 .. a_L, each (n, d_k)
    post: tuple[Array, ...]  # h_0 = X, h_1 .. h_{L-1}, each (n, d_k)


def forward_cache(params: tuple[Dense, ...], X: Array, activation: str = "sigmoid") -> Cache:
    """The forward pass, keeping every pre-activation $a_k$ and post-activation $h_k$."""
    act = activations.get(activation)
    h = X
    pre, post = [], [X]
    for k, layer in enumerate(params):
        a = h @ layer.W + layer.b[None, :]  # (n, d_out)
        pre.append(a)
        if k < len(params) - 1:
            h = act.fn(a)
            post.append(h)
    return Cache(tuple(pre), tuple(post))


def forward(params: tuple[Dense, ...], X: ArrayLike, activation: str = "sigmoid") -> Array:
    """The logits $a_L$, shape ``(n, k)``, for inputs ``X: (n, d)``."""
    X = _check_inputs(params, X)
    return forward_cache(params, X, activation).pre[-1]


def loss(
    params: tuple[Dense, ...], X: ArrayLike, labels: ArrayLike, activation: str = "sigmoid"
) -> Array:
    """The mean softmax cross-entropy of the network's logits."""
    return jnp.mean(losses.softmax_cross_entropy(forward(params, X, activation), labels))


def _output_delta(cache: Cache, labels: Array) -> Array:
    logits = cache.pre[-1]
    onehot = jax.nn.one_hot(labels, logits.shape[1], dtype=logits.dtype)
    return (jax.nn.softmax(logits) - onehot) / logits.shape[0]


def backprop_pre(
    params: tuple[Dense, ...], X: ArrayLike, labels: ArrayLike, activation: str = "sigmoid"
) -> tuple[Dense, ...]:
    r"""$\partial\mathcal L/\partial(W_k, b_k)$ by the pre-activation recursion (Eq 3.18–3.19)."""
    X = _check_inputs(params, X)
    act = activations.get(activation)
    cache = forward_cache(params, X, activation)
    delta = _output_delta(cache, jnp.asarray(labels))
    grads = []
    for k in range(len(params) - 1, -1, -1):
        grads.append(Dense(cache.post[k].T @ delta, delta.sum(axis=0)))
        if k > 0:
            delta = act.grad(cache.pre[k - 1]) * (delta @ params[k].W.T)
    return tuple(reversed(grads))


def backprop_post(
    params: tuple[Dense, ...], X: ArrayLike, labels: ArrayLike, activation: str = "sigmoid"
) -> tuple[Dense, ...]:
    r"""$\partial\mathcal L/\partial(W_k, b_k)$ by the post-activation recursion (Eq 3.12–3.13)."""
    X = _check_inputs(params, X)
    act = activations.get(activation)
    cache = forward_cache(params, X, activation)
    out_delta = _output_delta(cache, jnp.asarray(labels))
    L = len(params)
    grads = [Dense(cache.post[L - 1].T @ out_delta, out_delta.sum(axis=0))]
    if L > 1:
        Delta = out_delta @ params[L - 1].W.T  # dL/dh_{L-1}
        for k in range(L - 2, -1, -1):  # layer k + 1 in the book's 1-based numbering
            local = Delta * act.grad(cache.pre[k])  # dL/da_{k+1}, computed from Delta
            grads.append(Dense(cache.post[k].T @ local, local.sum(axis=0)))
            if k > 0:
                Delta = local @ params[k].W.T
    return tuple(reversed(grads))


def accuracy(
    params: tuple[Dense, ...], X: ArrayLike, labels: ArrayLike, activation: str = "sigmoid"
) -> Array:
    """The fraction of rows whose largest logit is the true class."""
    return jnp.mean(jnp.argmax(forward(params, X, activation), axis=1) == jnp.asarray(labels))


@functools.partial(jax.jit, static_argnames=("activation", "steps"))
def _train(params, X, labels, lr, *, activation, steps):
    grad_fn = jax.value_and_grad(loss)

    def body(p, _):
        value, g = grad_fn(p, X, labels, activation)
        return jax.tree.map(lambda w, gw: w - lr * gw, p, g), value

    return jax.lax.scan(body, params, None, length=steps)


def train(
    params: tuple[Dense, ...],
    X: ArrayLike,
    labels: ArrayLike,
    *,
    lr: float,
    steps: int,
    activation: str = "sigmoid",
) -> tuple[tuple[Dense, ...], Array]:
    """Full-batch gradient descent for ``steps`` steps in one jitted ``lax.scan``.

    ``lr`` is traced (a new value does not recompile). Returns ``(params, losses)`` with the
    loss *before* each step, shape ``(steps,)``.
    """
    X = _check_inputs(params, X)
    # one_hot of a label >= k is all zeros: the loss would silently ignore that example
    labels = _validate.index_array("labels", labels, size=params[-1].W.shape[1], ndim=1)
    if labels.shape[0] != X.shape[0]:
        raise ValueError(
            f"`labels` must have one class per row of X: expected shape ({X.shape[0]},), "
            f"got {tuple(labels.shape)}."
        )
    _validate.positive("lr", lr)
    steps = _validate.positive_int("steps", steps)
    activations.get(activation)
    return _train(params, X, labels, jnp.asarray(lr, X.dtype), activation=activation, steps=steps)


def _check_inputs(params: tuple[Dense, ...], X: ArrayLike) -> Array:
    if not isinstance(params, tuple) or not params or not all(isinstance(p, Dense) for p in params):
        raise TypeError("`params` must be a non-empty tuple of Dense layers (from mlp.init).")
    X = _validate.float_array("X", X, ndim=2)
    if X.shape[1] != params[0].W.shape[0]:
        raise ValueError(
            f"`X` has {X.shape[1]} features but the first layer expects {params[0].W.shape[0]}."
        )
    # One host-side check of a concrete X per call (skipped for tracers: nothing inside jit).
    _validate.finite("X", X)
    return X
