r"""Decoupled layers: each a forward function and a hand-written backward (Aggarwal §3.2.6, §3.6).

Backpropagation only needs every layer to answer one question: given the gradient $g_{out}$ of
the loss with respect to its output, what is the gradient with respect to its input (and its
parameters)? That is a vector–Jacobian product $g_{in} = J^\top g_{out}$ (Eq 3.24). Table 3.1
of the book lists them; here each layer is a pair

- ``forward(params, x) -> (y, cache)``,
- ``backward(params, cache, g_out) -> (g_params, g_in)``,

with ``cache`` holding what the backward pass needs. All act on a batch, ``x: (n, d)``.
``tests/test_layers.py`` checks every backward against ``jax.vjp`` of its forward.

| layer | forward | backward |
| --- | --- | --- |
| linear | $y = xW + b$ | $g_x = g W^\top$, $g_W = x^\top g$, $g_b = \sum_i g_i$ |
| sigmoid | $y = \sigma(x)$ | $g_x = g \odot y \odot (1 - y)$ |
| tanh | $y = \tanh x$ | $g_x = g \odot (1 - y^2)$ |
| relu | $y = \max(x, 0)$ | $g_x = g \odot [x > 0]$ |
| hard tanh | $y = \max(\min(x, 1), -1)$ | $g_x = g \odot [-1 < x < 1]$ |
| max | $y = \max_j x_j$ (per row) | $g$ to the arg-max entry, 0 elsewhere |
| softmax + CE | $\ell = \frac1n\sum_i -\log p_{i, y_i}$ | $g_x = (p - \text{onehot})/n$ |
| batch norm | $\hat x = (x - \mu)/\sqrt{\sigma^2 + \epsilon}$, $y = \gamma\hat x + \beta$ | below |

**Batch normalization** (Ioffe & Szegedy 2015; Aggarwal §3.6) normalizes each feature over the
batch. Its backward has to account for $\mu$ and $\sigma^2$ depending on every row:

$$
g_x = \frac{\gamma}{n\sqrt{\sigma^2 + \epsilon}}
      \Big(n\,g - \sum_i g_i - \hat x \odot \sum_i g_i \odot \hat x_i\Big),
\qquad g_\gamma = \sum_i g_i \odot \hat x_i, \qquad g_\beta = \sum_i g_i .
$$
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from course_lib._types import Array


class Linear(NamedTuple):
    """Parameters of a linear layer: ``W: (d_in, d_out)``, ``b: (d_out,)``."""

    W: Array
    b: Array


def linear_forward(params: Linear, x: Array) -> tuple[Array, Any]:
    """$y = xW + b$."""
    return x @ params.W + params.b[None, :], x


def linear_backward(params: Linear, cache: Array, g: Array) -> tuple[Linear, Array]:
    r"""$g_x = gW^\top$, $g_W = x^\top g$, $g_b = \sum_i g_i$."""
    x = cache
    return Linear(x.T @ g, g.sum(axis=0)), g @ params.W.T


def sigmoid_forward(params: None, x: Array) -> tuple[Array, Any]:
    y = jax.nn.sigmoid(x)
    return y, y


def sigmoid_backward(params: None, cache: Array, g: Array) -> tuple[None, Array]:
    r"""$g \odot y \odot (1 - y)$: the derivative from the *output* alone."""
    y = cache
    return None, g * y * (1.0 - y)


def tanh_forward(params: None, x: Array) -> tuple[Array, Any]:
    y = jnp.tanh(x)
    return y, y


def tanh_backward(params: None, cache: Array, g: Array) -> tuple[None, Array]:
    r"""$g \odot (1 - y^2)$."""
    y = cache
    return None, g * (1.0 - y * y)


def relu_forward(params: None, x: Array) -> tuple[Array, Any]:
    return jnp.maximum(x, 0.0), x


def relu_backward(params: None, cache: Array, g: Array) -> tuple[None, Array]:
    r"""$g \odot [x > 0]$."""
    x = cache
    return None, jnp.where(x > 0, g, 0.0)


def hard_tanh_forward(params: None, x: Array) -> tuple[Array, Any]:
    return jnp.clip(x, -1.0, 1.0), x


def hard_tanh_backward(params: None, cache: Array, g: Array) -> tuple[None, Array]:
    r"""$g \odot [-1 < x < 1]$: the gradient passes only where the input was not clipped."""
    x = cache
    return None, jnp.where((x > -1.0) & (x < 1.0), g, 0.0)


def max_forward(params: None, x: Array) -> tuple[Array, Any]:
    """The largest entry of each row, shape ``(n,)`` (the building block of max-pooling)."""
    return jnp.max(x, axis=1), x


def max_backward(params: None, cache: Array, g: Array) -> tuple[None, Array]:
    """Each row's gradient goes to its (first) arg-max entry; the others get 0."""
    x = cache
    winner = jax.nn.one_hot(jnp.argmax(x, axis=1), x.shape[1], dtype=g.dtype)
    return None, winner * g[:, None]


def softmax_ce_forward(labels: Array, x: Array) -> tuple[Array, Any]:
    r"""The mean cross-entropy $\frac1n\sum_i -\log\operatorname{softmax}(x_i)_{y_i}$ (a scalar).

    Here the "parameters" slot carries the integer labels, shape ``(n,)``.
    """
    logp = jax.nn.log_softmax(x, axis=1)
    loss = -jnp.mean(jnp.take_along_axis(logp, labels[:, None], axis=1))
    return loss, (jnp.exp(logp), labels)


def softmax_ce_backward(labels: Array, cache: Any, g: Array) -> tuple[None, Array]:
    r"""$g \cdot (p - \text{onehot}(y))/n$ (Eq 3.22)."""
    p, labels = cache
    onehot = jax.nn.one_hot(labels, p.shape[1], dtype=p.dtype)
    return None, g * (p - onehot) / p.shape[0]


class BatchNorm(NamedTuple):
    """Batch-norm parameters: scale ``gamma: (d,)`` and shift ``beta: (d,)``."""

    gamma: Array
    beta: Array


BATCHNORM_EPS = 1e-5


def batchnorm_forward(params: BatchNorm, x: Array) -> tuple[Array, Any]:
    r"""$y = \gamma \odot (x - \mu)/\sqrt{\sigma^2 + \epsilon} + \beta$ (batch statistics)."""
    mu = x.mean(axis=0)
    var = x.var(axis=0)
    inv_std = jax.lax.rsqrt(var + BATCHNORM_EPS)
    x_hat = (x - mu[None, :]) * inv_std[None, :]
    return params.gamma[None, :] * x_hat + params.beta[None, :], (x_hat, inv_std)


def batchnorm_backward(params: BatchNorm, cache: Any, g: Array) -> tuple[BatchNorm, Array]:
    """The hand-derived backward pass (module docstring)."""
    x_hat, inv_std = cache
    n = x_hat.shape[0]
    g_gamma = jnp.sum(g * x_hat, axis=0)
    g_beta = jnp.sum(g, axis=0)
    g_x = (params.gamma * inv_std / n)[None, :] * (
        n * g - g_beta[None, :] - x_hat * g_gamma[None, :]
    )
    return BatchNorm(g_gamma, g_beta), g_x


LAYERS = {
    "linear": (linear_forward, linear_backward),
    "sigmoid": (sigmoid_forward, sigmoid_backward),
    "tanh": (tanh_forward, tanh_backward),
    "relu": (relu_forward, relu_backward),
    "hard_tanh": (hard_tanh_forward, hard_tanh_backward),
    "max": (max_forward, max_backward),
    "softmax_ce": (softmax_ce_forward, softmax_ce_backward),
    "batchnorm": (batchnorm_forward, batchnorm_backward),
}
"""Every layer by name: ``forward, backward = LAYERS["tanh"]``."""


# ------------------------------------------------------------------------------ shared weights


def untied_autoencoder_loss(W_enc: Array, W_dec: Array, X: Array) -> Array:
    r"""A linear autoencoder with two matrices.

    $L = \frac1n\sum_i \lVert x_i W_{enc} W_{dec} - x_i\rVert^2$.


    Args:
        W_enc: the encoder, shape ``(d, k)``; W_dec: the decoder, shape ``(k, d)``;
        X: the data, shape ``(n, d)``.
    """
    residual = X @ W_enc @ W_dec - X  # (n, d)
    return jnp.sum(residual * residual) / X.shape[0]


def tied_autoencoder_loss(W: Array, X: Array) -> Array:
    r"""The autoencoder with one shared matrix ``W: (k, d)``: encoder $W^\top$, decoder $W$."""
    return untied_autoencoder_loss(W.T, W, X)


class TiedGradient(NamedTuple):
    """The gradient of a shared matrix and the gradients of its two copies."""

    total: Array  # dL/dW, shape (k, d)
    enc_copy: Array  # dL/dW_enc at W_enc = W^T, shape (d, k)
    dec_copy: Array  # dL/dW_dec at W_dec = W, shape (k, d)


def tied_autoencoder_grad(W: Array, X: Array) -> TiedGradient:
    r"""The gradient of :func:`tied_autoencoder_loss` by hand: the sum of its copies (§3.2.9).

    Backpropagate through two *separate* linear layers, the encoder $W_{enc} = W^\top$ and the
    decoder $W_{dec} = W$, as if they were unrelated; then, because
    $\partial W_{dec}/\partial W$ is the identity and $W_{enc}$ is $W$ transposed,

    $$
    \frac{\partial L}{\partial W} = \Big(\frac{\partial L}{\partial W_{enc}}\Big)^{\!\top}
      + \frac{\partial L}{\partial W_{dec}} .
    $$

    Args:
        W: the shared matrix, shape ``(k, d)``; X: the data, shape ``(n, d)``.
    """
    k, d = W.shape
    enc = Linear(W.T, jnp.zeros(k, W.dtype))
    dec = Linear(W, jnp.zeros(d, W.dtype))
    h, enc_cache = linear_forward(enc, X)  # (n, k)
    X_hat, dec_cache = linear_forward(dec, h)  # (n, d)
    g = 2.0 * (X_hat - X) / X.shape[0]  # dL/dX_hat
    g_dec, g_h = linear_backward(dec, dec_cache, g)
    g_enc, _ = linear_backward(enc, enc_cache, g_h)
    return TiedGradient(g_enc.W.T + g_dec.W, g_enc.W, g_dec.W)


def softmax_jacobian(v: Array) -> Array:
    r"""The softmax Jacobian $J_{ij} = \partial o_i/\partial v_j = o_i(\delta_{ij} - o_j)$, Ex 3.10.

    As a matrix, $J = \operatorname{diag}(o) - o o^\top$.

    Args:
        v: the scores of one example, shape ``(k,)``.

    Returns:
        The ``(k, k)`` Jacobian of $o = \operatorname{softmax}(v)$ (Eq 3.20).
    """
    v = jnp.asarray(v)
    if v.ndim != 1:
        raise ValueError(f"`v` must be one example's scores, shape (k,), got shape {v.shape}.")
    o = jax.nn.softmax(v)
    return jnp.diag(o) - o[:, None] * o[None, :]
