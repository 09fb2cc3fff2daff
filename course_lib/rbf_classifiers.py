r"""Classification with an RBF network: margin losses on the hidden layer (Aggarwal §5.3).

The hidden layer $H_i = (\Phi_1(X_i), \dots, \Phi_m(X_i))$ of
:func:`course_lib.rbf.rbf_activations` is fixed (prototypes and bandwidths chosen without
labels), so training the output layer $\hat y_i = \mathrm{sign}(W\cdot H_i)$ is a *linear*
classifier on the features $H_i$, with the losses of chapter 2 (:mod:`course_lib.linear_models`):

- perceptron criterion (Eq 5.9), $L_i = \max\{-y_i\,W\cdot H_i, 0\}$;
- hinge loss (Eq 5.11), $L_i = \max\{1 - y_i\,W\cdot H_i, 0\}$ (Gaussian RBF + hinge is an SVM);
- logistic loss (Ex 5.2), $L_i = \log(1 + e^{-y_i W\cdot H_i})$.

The mini-batch update of Eq 5.10/5.12 is

$$ W \Leftarrow W(1 - \alpha\lambda) + \alpha\!\!\sum_{(H_i, y_i)\in S^+}\!\! y_i\,\delta_i\,H_i, $$

where $S^+$ holds the batch's misclassified points (perceptron, $z_i = y_iW\cdot H_i \le 0$) or
its margin violators (hinge, $z_i < 1$) and $\delta_i = 1$ there; for the logistic loss every
point counts with $\delta_i = 1/(1 + e^{z_i})$ (:func:`course_lib.linear_models.mistake_factor`).
It is exactly a gradient step on $\sum_{i\in\text{batch}} L_i + \frac\lambda2\|W\|^2$ (the
$\frac\lambda2$ is what makes the shrink factor $1-\alpha\lambda$, erratum E2).

Why it helps: the hidden layer maps data that no line separates (XOR's four blobs, concentric
rings) to a space where a hyperplane does (§5.3.3, Cover's theorem).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from course_lib import _validate, data, linear_models
from course_lib._types import Array, ArrayLike, PRNGKey

LOSSES: tuple[str, ...] = ("perceptron", "hinge", "logistic")
"""The margin losses of :func:`margin_update` and :func:`fit_output`."""

XOR_PROTOTYPES = jnp.array([[1.0, 1.0], [1.0, -1.0], [-1.0, -1.0], [-1.0, 1.0]])
"""The four XOR corners as prototypes, ordered so that the classes alternate (+, -, +, -)."""

XOR_WEIGHTS = jnp.array([1.0, -1.0, 1.0, -1.0])
"""The book's output weights $W = [1, -1, 1, -1]$ for :data:`XOR_PROTOTYPES` (§5.3.3)."""


def _loss_index(loss: str) -> Array:
    _validate.lookup("loss", {name: None for name in LOSSES}, loss)
    return jnp.asarray(LOSSES.index(loss), jnp.int32)


def _delta(z: Array, index: Array) -> Array:
    branches = [functools.partial(linear_models.mistake_factor, name) for name in LOSSES]
    return lax.switch(index, branches, z)


def _update(W, H, y, lr, lam, index):
    z = y * (H @ W)
    return W * (1.0 - lr * lam) + lr * H.T @ (y * _delta(z, index))


def margin_update(
    W: ArrayLike, H: ArrayLike, y: ArrayLike, *, loss: str, lr: ArrayLike, lam: ArrayLike = 0.0
) -> Array:
    r"""One mini-batch update of Eq 5.10 (perceptron), 5.12 (hinge) or Ex 5.2 (logistic).

    $W \Leftarrow W(1-\alpha\lambda) + \alpha\sum_i y_i\,\delta(z_i)\,H_i$ with
    $z_i = y_i W\cdot H_i$: $\delta = [z \le 0]$ (perceptron, the set $S^+$ of mistakes),
    $[z < 1]$ (hinge, mistakes and margin violators), $1/(1+e^{z})$ (logistic).

    Args:
        W: ``(m,)``; H: the batch's hidden codes ``(b, m)``; y: labels $\pm1$, ``(b,)``;
        loss: one of :data:`LOSSES`; lr: $\alpha > 0$; lam: $\lambda \ge 0$.

    Returns:
        the new ``W``, ``(m,)``.
    """
    H = _validate.float_array("H", H, ndim=2)
    W = _validate.float_array("W", W, ndim=1)
    if W.shape[0] != H.shape[1]:
        raise ValueError(f"`W` must have one weight per column of H ({H.shape[1]}), got {W.shape}.")
    y = _validate.labels_pm1("y", y, n=H.shape[0])
    index = _loss_index(loss)
    _validate.positive("lr", lr)
    _validate.positive("lam", lam, allow_zero=True)
    return _update(W, H, y, jnp.asarray(lr, H.dtype), jnp.asarray(lam, H.dtype), index)


class OutputFit(NamedTuple):
    """Result of :func:`fit_output`: weights ``W: (m,)`` and per epoch the training accuracy
    ``accuracy: (epochs,)`` and the number of updates that changed W (``|S+|`` summed over the
    batches, ``active: (epochs,)``)."""

    W: Array
    accuracy: Array
    active: Array


@functools.partial(jax.jit, static_argnames="batch_size")
def _fit_output(W0, H, y, lr, lam, index, orders, batch_size):
    n = H.shape[0]
    nb = n // batch_size

    def epoch(W, order):
        batches = order[: nb * batch_size].reshape(nb, batch_size)

        def step(W, idx):
            Hb, yb = H[idx], y[idx]
            active = jnp.sum(_delta(yb * (Hb @ W), index) > 0)
            return _update(W, Hb, yb, lr, lam, index), active

        W, active = lax.scan(step, W, batches)
        return W, (jnp.mean(jnp.sign(H @ W) == y), jnp.sum(active))

    W, (acc, active) = lax.scan(epoch, W0, orders)
    return OutputFit(W, acc, active)


def fit_output(
    H: ArrayLike,
    y: ArrayLike,
    *,
    loss: str,
    lr: ArrayLike,
    lam: ArrayLike = 0.0,
    epochs: int,
    batch_size: int,
    key: PRNGKey,
) -> OutputFit:
    r"""Train the output layer with mini-batch updates :func:`margin_update` (Eq 5.10, 5.12).

    Each epoch visits the rows in a fresh order from ``key`` (``data.epoch_orders``), in
    ``n // batch_size`` batches (a remainder is skipped that epoch). One jitted ``lax.scan``;
    ``lr``, ``lam`` and the loss are traced.

    Args:
        H: hidden codes ``(n, m)`` (append a column of ones for a bias); y: $\pm1$, ``(n,)``.
        loss: one of :data:`LOSSES`; lr $> 0$; lam $\ge 0$; epochs, batch_size: ints.
        key: a JAX random key (required).
    """
    _validate.prng_key("key", key)
    H = _validate.float_array("H", H, ndim=2)
    _validate.nonempty("H", H, what="example (row)")
    _validate.finite("H", H)
    y = _validate.labels_pm1("y", y, n=H.shape[0])
    index = _loss_index(loss)
    _validate.positive("lr", lr)
    _validate.positive("lam", lam, allow_zero=True)
    epochs = _validate.positive_int("epochs", epochs)
    batch_size = _validate.positive_int("batch_size", batch_size)
    if batch_size > H.shape[0]:
        raise ValueError(f"`batch_size` must be at most n = {H.shape[0]}, got {batch_size}.")
    orders = data.epoch_orders(key=key, n=H.shape[0], epochs=epochs)
    W0 = jnp.zeros(H.shape[1], H.dtype)
    lr, lam = jnp.asarray(lr, H.dtype), jnp.asarray(lam, H.dtype)
    return _fit_output(W0, H, y, lr, lam, index, orders, batch_size)


def fit_output_cache_size() -> int:
    """How many times :func:`fit_output`'s jitted loop has been compiled."""
    return _fit_output._cache_size()


def accuracy(W: ArrayLike, H: ArrayLike, y: ArrayLike) -> Array:
    r"""Fraction of rows with $\mathrm{sign}(W\cdot H_i) = y_i$ (a score of 0 counts as wrong)."""
    H = _validate.float_array("H", H, ndim=2)
    W = _validate.float_array("W", W, ndim=1)
    y = _validate.labels_pm1("y", y, n=H.shape[0])
    return jnp.mean(jnp.sign(H @ W) == y)


# ------------------------------------------------------------------------------ linear baseline


def best_linear_accuracy(X: ArrayLike, y: ArrayLike, *, angles: int = 720) -> Array:
    r"""The best training accuracy of any line $\mathrm{sign}(u\cdot x - b)$ on 2-D inputs.

    For each of ``angles`` directions $u = (\cos\theta, \sin\theta)$, $\theta\in[0, 2\pi)$,
    the points are sorted by $u\cdot x$ and every threshold between neighbours is tried (a
    cumulative count of the labels), so the answer is the exact optimum over lines up to the
    angular resolution. A baseline for "not linearly separable" (§5.3.3).

    Args:
        X: ``(n, 2)``; y: labels $\pm1$, ``(n,)``; angles: number of directions.

    Returns:
        ``()``, the best accuracy in $[\frac12, 1]$.
    """
    X = _validate.float_array("X", X, ndim=2)
    if X.shape[1] != 2:
        raise ValueError(f"`X` must have 2 columns (points in the plane), got shape {X.shape}.")
    y = _validate.labels_pm1("y", y, n=X.shape[0])
    angles = _validate.positive_int("angles", angles)
    return _best_linear_accuracy(X, y, angles)


@functools.partial(jax.jit, static_argnums=2)
def _best_linear_accuracy(X, y, angles):
    theta = jnp.arange(angles) * (2.0 * jnp.pi / angles)
    U = jnp.stack([jnp.cos(theta), jnp.sin(theta)], axis=1)  # (A, 2)
    proj = U @ X.T  # (A, n)
    ys = jnp.take_along_axis(jnp.broadcast_to(y, proj.shape), jnp.argsort(proj, axis=1), axis=1)
    pos = (ys > 0).astype(X.dtype)
    # threshold after the first t sorted points: predict -1 for them, +1 for the rest
    correct_left = jnp.concatenate([jnp.zeros((angles, 1), X.dtype), jnp.cumsum(1 - pos, 1)], 1)
    right_pos = jnp.sum(pos, axis=1, keepdims=True) - jnp.concatenate(
        [jnp.zeros((angles, 1), X.dtype), jnp.cumsum(pos, 1)], 1
    )
    return jnp.max(correct_left + right_pos) / X.shape[0]


# ------------------------------------------------------------------------------ data


def rings(*, key: PRNGKey, n: int, k: int = 3, noise: float = 0.1) -> tuple[Array, Array]:
    r"""$k$ concentric rings of radii $1, 2, \dots, k$: class $c$ lies on radius $c + 1$.

    Angles uniform, radius $+ N(0, \text{noise}^2)$; classes drawn uniformly. No line (and for
    $k = 3$ no linear multiclass model) separates them (Ex 5.4).

    Returns:
        ``(X: (n, 2), labels: (n,) int32)``.
    """
    _validate.prng_key("key", key)
    n = _validate.positive_int("n", n)
    k = _validate.positive_int("k", k)
    _validate.positive("noise", noise, allow_zero=True)
    k_c, k_t, k_r = jax.random.split(key, 3)
    labels = jax.random.randint(k_c, (n,), 0, k)
    t = jax.random.uniform(k_t, (n,), maxval=2.0 * jnp.pi)
    r = labels + 1.0 + noise * jax.random.normal(k_r, (n,))
    return jnp.stack([r * jnp.cos(t), r * jnp.sin(t)], axis=1), labels.astype(jnp.int32)
