r"""Loss functions for one neuron, with hand-written derivatives (Aggarwal §1.2.1.1–1.2.1.5, §2.2).

**Binary losses as functions of the margin.** For labels $y \in \{-1, +1\}$ and a linear score
$\hat y = W \cdot X$, every binary loss of chapters 1–2 depends on the pair only through the
*margin* $z = y\,\hat y$ (positive when the point is on the correct side):

| name | $L(z)$ | $L'(z)$ |
| --- | --- | --- |
| ``zero_one`` | $[z \le 0]$ | $0$ |
| ``perceptron`` | $\max\{-z, 0\}$ (Eq 1.8) | $-[z \le 0]$ |
| ``hinge`` | $\max\{1 - z, 0\}$ (Eq 1.9) | $-[z < 1]$ |
| ``logistic`` | $\log(1 + e^{-z})$ (Eq 1.14) | $-\sigma(-z)$ |
| ``widrow_hoff`` | $(1 - z)^2 = (y - \hat y)^2$ | $-2(1 - z)$ |
| ``l2_svm`` | $\max\{1 - z, 0\}^2$ | $-2\max\{1 - z, 0\}$ |

At a kink the derivative is a subgradient. The perceptron criterion takes $-1$ at $z = 0$ so
that a point *on* the boundary counts as a mistake; this is what lets learning start from
$W = 0$, and it is the condition the convergence proof needs ($y\,W\cdot X \le 0$ for every
update). The hinge uses $y\,W\cdot X < 1$ as in the book's SVM update (§1.2.1.2).

**Empirical risk of a linear model.** ``risk(name, w, X, y)`` is $\frac1n\sum_i L(y_i\,w\cdot x_i)$
and ``risk_grad`` its gradient $\frac1n\sum_i L'(z_i)\,y_i\,x_i$, by the chain rule.

**Softmax cross-entropy** (Eq 1.12, 1.15) for $k$ classes: $L = -\log p_r$ with
$p = \operatorname{softmax}(v)$, computed through $\log\sum_j e^{v_j}$ with the maximum subtracted,
so it is finite for logits of any size; its gradient is $p - e_r$.

**Multiclass losses** (§2.3) take the score vector $v = (W_1\cdot X, \dots, W_k\cdot X)$ and the
true class $c$: the multiclass perceptron $\max_{r\ne c}\max\{v_r - v_c, 0\}$ (Eq 2.22), the
Weston–Watkins hinge $\sum_{r\ne c}\max\{v_r - v_c + 1, 0\}$ (Eq 2.25) and the softmax
cross-entropy (Eq 2.31), each with its hand-written gradient with respect to $v$; registry
:data:`MULTICLASS_LOSSES`, looked up with :func:`get_multiclass`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from course_lib import _validate
from course_lib._types import Array, ArrayLike


def _z(z: ArrayLike) -> Array:
    return _validate.float_array("z", z)


def zero_one(z: ArrayLike) -> Array:
    r"""0/1 loss $[z \le 0]$: 1 for a mistake (or a tie), 0 otherwise."""
    z = _z(z)
    return (z <= 0).astype(z.dtype)


def zero_one_grad(z: ArrayLike) -> Array:
    r"""Zero almost everywhere: the 0/1 loss gives gradient descent nothing to follow."""
    return jnp.zeros_like(_z(z))


def perceptron(z: ArrayLike) -> Array:
    r"""Perceptron criterion $\max\{-z, 0\}$ (Eq 1.8)."""
    return jnp.maximum(-_z(z), 0.0)


def perceptron_grad(z: ArrayLike) -> Array:
    r"""$-1$ for $z \le 0$ (a mistake or a tie), else $0$."""
    z = _z(z)
    return jnp.where(z <= 0, -1.0, 0.0).astype(z.dtype)


def hinge(z: ArrayLike) -> Array:
    r"""Hinge loss $\max\{1 - z, 0\}$ (Eq 1.9): the perceptron criterion moved right by 1."""
    return jnp.maximum(1.0 - _z(z), 0.0)


def hinge_grad(z: ArrayLike) -> Array:
    r"""$-1$ for $z < 1$, else $0$."""
    z = _z(z)
    return jnp.where(z < 1, -1.0, 0.0).astype(z.dtype)


def logistic(z: ArrayLike) -> Array:
    r"""Logistic loss $\log(1 + e^{-z})$ (Eq 1.14), as ``softplus(-z)`` so it never overflows."""
    return jax.nn.softplus(-_z(z))


def logistic_grad(z: ArrayLike) -> Array:
    r"""$-\frac{e^{-z}}{1 + e^{-z}} = -\sigma(-z)$."""
    return -jax.nn.sigmoid(-_z(z))


def widrow_hoff(z: ArrayLike) -> Array:
    r"""Widrow–Hoff (least-squares) loss $(1 - z)^2$, equal to $(y - \hat y)^2$ for $y = \pm 1$."""
    z = _z(z)
    return (1.0 - z) ** 2


def widrow_hoff_grad(z: ArrayLike) -> Array:
    r"""$-2(1 - z)$: it also punishes points that are *too* correct ($z > 1$)."""
    return -2.0 * (1.0 - _z(z))


def l2_svm(z: ArrayLike) -> Array:
    r"""L2-SVM (squared hinge) loss $\max\{1 - z, 0\}^2$."""
    return jnp.maximum(1.0 - _z(z), 0.0) ** 2


def l2_svm_grad(z: ArrayLike) -> Array:
    r"""$-2\max\{1 - z, 0\}$."""
    return -2.0 * jnp.maximum(1.0 - _z(z), 0.0)


class MarginLoss(NamedTuple):
    """A binary loss of the margin with its hand-written derivative."""

    name: str
    fn: Callable[[ArrayLike], Array]
    grad: Callable[[ArrayLike], Array]
    formula: str  # LaTeX of L(z)


MARGIN_LOSSES: dict[str, MarginLoss] = {
    m.name: m
    for m in (
        MarginLoss("zero_one", zero_one, zero_one_grad, r"[z \leq 0]"),
        MarginLoss("perceptron", perceptron, perceptron_grad, r"\max\{-z, 0\}"),
        MarginLoss("hinge", hinge, hinge_grad, r"\max\{1-z, 0\}"),
        MarginLoss("logistic", logistic, logistic_grad, r"\log(1+e^{-z})"),
        MarginLoss("widrow_hoff", widrow_hoff, widrow_hoff_grad, r"(1-z)^2"),
        MarginLoss("l2_svm", l2_svm, l2_svm_grad, r"\max\{1-z, 0\}^2"),
    )
}
"""The binary losses by name: ``MARGIN_LOSSES["hinge"].fn(z)``."""


def get(name: str) -> MarginLoss:
    """Look a margin loss up by name, with a clear error listing the choices."""
    return _validate.lookup("loss", MARGIN_LOSSES, name)


def _linear_inputs(w: ArrayLike, X: ArrayLike, y: ArrayLike) -> tuple[Array, Array, Array]:
    X = _validate.float_array("X", X, ndim=2)
    w = _validate.float_array("w", w, ndim=1)
    if w.shape[0] != X.shape[1]:
        raise ValueError(
            f"`w` must have one weight per feature: X has {X.shape[1]} columns, "
            f"w has shape {tuple(w.shape)}."
        )
    y = _validate.labels_pm1("y", y, n=X.shape[0])
    return w, X, y


def risk(name: str, w: ArrayLike, X: ArrayLike, y: ArrayLike) -> Array:
    r"""Mean loss $\frac1n\sum_i L(y_i\, w\cdot x_i)$ of a linear model.

    Args:
        name: a key of :data:`MARGIN_LOSSES`.
        w: weights, shape ``(d,)``.
        X: inputs, shape ``(n, d)``.
        y: labels in $\{-1, +1\}$, shape ``(n,)``.
    """
    loss = get(name)
    w, X, y = _linear_inputs(w, X, y)
    return jnp.mean(loss.fn(y * (X @ w)))


def risk_grad(name: str, w: ArrayLike, X: ArrayLike, y: ArrayLike) -> Array:
    r"""Hand-written gradient $\frac1n\sum_i L'(z_i)\,y_i\,x_i$ of :func:`risk`, shape ``(d,)``."""
    loss = get(name)
    w, X, y = _linear_inputs(w, X, y)
    z = y * (X @ w)
    return X.T @ (loss.grad(z) * y) / X.shape[0]


def softmax(v: ArrayLike, axis: int = -1) -> Array:
    r"""$\operatorname{softmax}(v)_i = e^{v_i} / \sum_j e^{v_j}$ along ``axis``; shift-invariant."""
    v = _validate.float_array("v", v)
    return jax.nn.softmax(v, axis=axis)


def _logits_labels(
    logits: ArrayLike, labels: ArrayLike, name: str = "logits"
) -> tuple[Array, Array]:
    logits = _validate.float_array(name, logits, ndim=(1, 2))
    labels_arr = jnp.asarray(labels)
    if not jnp.issubdtype(labels_arr.dtype, jnp.integer):
        raise TypeError(f"`labels` must be integer class indices, got dtype {labels_arr.dtype}.")
    expected = logits.shape[:-1]
    if labels_arr.shape != expected:
        raise ValueError(
            f"`labels` must have shape {expected} (one class index per row of `{name}`), "
            f"got {tuple(labels_arr.shape)}."
        )
    k = logits.shape[-1]
    # NumPy, not jnp: inside jax.jit even a concrete array's jnp.any would be a tracer.
    if not _validate.is_traced(labels_arr) and np.any(
        (np.asarray(labels_arr) < 0) | (np.asarray(labels_arr) >= k)
    ):
        raise ValueError(f"`labels` must lie in 0..{k - 1} for {k} classes.")
    return logits, labels_arr


def softmax_cross_entropy(logits: ArrayLike, labels: ArrayLike) -> Array:
    r"""Cross-entropy $-\log \operatorname{softmax}(v)_r$ of the true class $r$ (Eq 1.15).

    Computed as $\log\sum_j e^{v_j - m} - (v_r - m)$ with $m = \max_j v_j$: every term is
    formed from the differences $v_j - m$, which float32 holds exactly when the logits are close to
    one another, so the loss stays accurate to a few float32 ulps of its own size even for logits
    of order $10^4$. (The form $\operatorname{logsumexp}(v) - v_r$ subtracts two numbers of
    order $10^4$ and loses about $10^{-3}$; see ``tests/test_losses.py``.)

    Args:
        logits: scores $v$, shape ``(k,)`` or ``(n, k)``.
        labels: true classes $r$, integers, shape ``()`` or ``(n,)``.

    Returns:
        The loss, shape ``()`` or ``(n,)``.
    """
    logits, labels = _logits_labels(logits, labels)
    logp = jax.nn.log_softmax(logits, axis=-1)
    return -jnp.take_along_axis(logp, labels[..., None], axis=-1)[..., 0]


def softmax_cross_entropy_grad(logits: ArrayLike, labels: ArrayLike) -> Array:
    r"""Hand-written gradient with respect to the logits: $p - e_r$, same shape as ``logits``."""
    logits, labels = _logits_labels(logits, labels)
    p = jax.nn.softmax(logits, axis=-1)
    return p - jax.nn.one_hot(labels, logits.shape[-1], dtype=p.dtype)


# --------------------------------------------------------------------------------------------
# Multiclass losses of the scores v = (W_1·X, ..., W_k·X) (Aggarwal §2.3).


def _others(scores: Array, labels: Array) -> tuple[Array, Array]:
    """The true class's score $v_c$ (shape ``(...)``) and a mask of the other classes."""
    k = scores.shape[-1]
    true = jax.nn.one_hot(labels, k, dtype=bool)
    v_c = jnp.take_along_axis(scores, labels[..., None], axis=-1)[..., 0]
    return v_c, ~true


def multiclass_perceptron(scores: ArrayLike, labels: ArrayLike) -> Array:
    r"""Multiclass perceptron criterion (Eq 2.22): $\max_{r \ne c}\max\{v_r - v_c, 0\}$.

    Args:
        scores: $v_r = W_r\cdot X$, shape ``(k,)`` or ``(n, k)``.
        labels: true classes $c$, integers, shape ``()`` or ``(n,)``.

    Returns:
        The loss, shape ``()`` or ``(n,)``.
    """
    scores, labels = _logits_labels(scores, labels, "scores")
    v_c, other = _others(scores, labels)
    worst = jnp.max(jnp.where(other, scores, -jnp.inf), axis=-1)
    return jnp.maximum(worst - v_c, 0.0)


def multiclass_perceptron_grad(scores: ArrayLike, labels: ArrayLike) -> Array:
    r"""Gradient of :func:`multiclass_perceptron` with respect to the scores (Eq 2.23).

    On a mistake, $e_{r^\ast} - e_c$ with $r^\ast = \arg\max_{r\ne c} v_r$ (the most
    misclassified class, the first one on a tie), else 0: at most two entries are non-zero,
    so an SGD step changes at most two rows of $W$ (Eq 2.24). As for the binary perceptron, a
    tie $\max_{r\ne c} v_r = v_c$ counts as a mistake, so that learning can start from $W = 0$.

    Returns:
        Same shape as ``scores``.
    """
    scores, labels = _logits_labels(scores, labels, "scores")
    k = scores.shape[-1]
    v_c, other = _others(scores, labels)
    masked = jnp.where(other, scores, -jnp.inf)
    worst = jnp.argmax(masked, axis=-1)
    mistake = jnp.max(masked, axis=-1) >= v_c
    g = jax.nn.one_hot(worst, k, dtype=scores.dtype) - jax.nn.one_hot(labels, k, dtype=scores.dtype)
    return jnp.where(mistake[..., None], g, 0.0)


def weston_watkins(scores: ArrayLike, labels: ArrayLike) -> Array:
    r"""Weston–Watkins multiclass hinge loss (Eq 2.25): $\sum_{r\ne c}\max\{v_r - v_c + 1, 0\}$.

    Args:
        scores: $v_r = W_r\cdot X$, shape ``(k,)`` or ``(n, k)``.
        labels: true classes $c$, integers, shape ``()`` or ``(n,)``.

    Returns:
        The loss, shape ``()`` or ``(n,)``.
    """
    scores, labels = _logits_labels(scores, labels, "scores")
    v_c, other = _others(scores, labels)
    terms = jnp.maximum(scores - v_c[..., None] + 1.0, 0.0)  # (..., k)
    return jnp.sum(jnp.where(other, terms, 0.0), axis=-1)


def weston_watkins_grad(scores: ArrayLike, labels: ArrayLike) -> Array:
    r"""Gradient of :func:`weston_watkins` with respect to the scores (Eq 2.26).

    With $\delta_r = [v_r - v_c + 1 > 0]$ for $r \ne c$ (class $r$ adds to the loss):
    $\partial L/\partial v_r = \delta_r$ for $r\ne c$ and
    $\partial L/\partial v_c = -\sum_{r\ne c}\delta_r$.

    Returns:
        Same shape as ``scores``.
    """
    scores, labels = _logits_labels(scores, labels, "scores")
    k = scores.shape[-1]
    v_c, other = _others(scores, labels)
    delta = (other & (scores - v_c[..., None] + 1.0 > 0)).astype(scores.dtype)
    onehot = jax.nn.one_hot(labels, k, dtype=scores.dtype)
    return delta - onehot * jnp.sum(delta, axis=-1, keepdims=True)


class MulticlassLoss(NamedTuple):
    """A loss of the score vector and the true class, with its hand-written score gradient."""

    name: str
    fn: Callable[[ArrayLike, ArrayLike], Array]
    grad: Callable[[ArrayLike, ArrayLike], Array]
    formula: str  # LaTeX of L(v, c)


MULTICLASS_LOSSES: dict[str, MulticlassLoss] = {
    m.name: m
    for m in (
        MulticlassLoss(
            "multiclass_perceptron",
            multiclass_perceptron,
            multiclass_perceptron_grad,
            r"\max_{r\neq c}\max\{v_r - v_c, 0\}",
        ),
        MulticlassLoss(
            "weston_watkins",
            weston_watkins,
            weston_watkins_grad,
            r"\sum_{r\neq c}\max\{v_r - v_c + 1, 0\}",
        ),
        MulticlassLoss(
            "softmax",
            softmax_cross_entropy,
            softmax_cross_entropy_grad,
            r"-v_c + \log\sum_j e^{v_j}",
        ),
    )
}
"""The multiclass losses by name (Aggarwal §2.3.1–2.3.3); ``"softmax"`` is the cross-entropy."""


def get_multiclass(name: str) -> MulticlassLoss:
    """Look a multiclass loss up by name, with a clear error listing the choices."""
    return _validate.lookup("multiclass loss", MULTICLASS_LOSSES, name)
