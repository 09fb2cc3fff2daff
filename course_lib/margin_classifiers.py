r"""Binary linear classifiers seen three ways: by errors, by likelihood, by margin (Aggarwal
§1.2.1.1, §2.2.3, §2.2.4).

A linear classifier scores an input with $\hat y = w\cdot x$ and predicts its sign (a bias is a
constant feature, :func:`course_lib.data.add_bias`). Labels are $y\in\{-1,+1\}$. Three questions
about the same $w$:

- **How many mistakes?** The 0/1 loss (Eq 1.7) counts them; it is what we care about but has no
  useful gradient. The perceptron criterion $\sum_i\max(0, -y_i\,w\cdot x_i)$ is its surrogate,
  and on data that no line separates lowering one need not lower the other. The **pocket
  algorithm** runs the perceptron and keeps ("in its pocket") the weights with the fewest
  training errors seen so far (:func:`pocket`).
- **How likely are the labels?** Logistic regression models $P(y\mid x) = \sigma(y\,w\cdot x)$;
  its negative log-likelihood (Eq 2.15) is $\sum_i \log(1 + e^{-y_i w\cdot x_i})$
  (:func:`nll_eq215`, :func:`logistic_nll`), minimized here by Newton's method
  (:func:`fit_logistic`), whose asymptotic covariance is the inverse Fisher information.
- **How wide is the margin?** The SVM minimizes $\frac\lambda2\|w\|^2 + \sum_i\max(0,
  1 - y_i\,w\cdot x_i)$; the band $|w\cdot x| \le 1$ has width $2/\|w\|$, and $\lambda$ trades
  that width against the hinge loss (:func:`svm_path`, solved exactly by dual coordinate
  descent).

Training loops are one jitted ``lax.scan`` each; learning rates and $\lambda$ are traced, so a
new value never recompiles (``*_cache_size()`` prove it in the tests).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from course_lib import _validate, data
from course_lib._types import Array, ArrayLike, PRNGKey

# ------------------------------------------------------------------------ errors and pocket


def zero_one_errors(w: ArrayLike, X: ArrayLike, y: ArrayLike) -> Array:
    r"""Training errors of $w$ (the 0/1 loss summed, Eq 1.7): $\#\{i : y_i\,w\cdot x_i \le 0\}$.

    A point on the hyperplane counts as an error, as in the perceptron's update rule.
    ``w: (d,)``, ``X: (n, d)``, ``y: (n,)``; returns an int32 scalar.
    """
    w, X, y = _inputs(w, X, y)
    return _errors(w, X, y)


def perceptron_criterion(w: ArrayLike, X: ArrayLike, y: ArrayLike) -> Array:
    r"""The perceptron criterion $\sum_i \max(0, -y_i\,w\cdot x_i)$ (Eq 1.8). Returns a scalar."""
    w, X, y = _inputs(w, X, y)
    return _criterion(w, X, y)


@jax.jit
def _errors(w, X, y):
    return jnp.sum(y * (X @ w) <= 0).astype(jnp.int32)


@jax.jit
def _criterion(w, X, y):
    return jnp.sum(jnp.maximum(0.0, -y * (X @ w)))


class PocketRun(NamedTuple):
    r"""Result of :func:`pocket`: one entry per perceptron step (one example visited).

    Attributes:
        w: the perceptron's weights after each step, ``(T, d)``.
        errors: training errors of those weights, ``(T,)`` int32.
        criterion: their perceptron criterion, ``(T,)``.
        pocket_errors: training errors of the pocket weights after each step, ``(T,)``.
        updated: whether the step changed $w$ (the example was misclassified), ``(T,)`` bool.
        pocket_w: the pocket weights at the end, ``(d,)``.
    """

    w: Array
    errors: Array
    criterion: Array
    pocket_errors: Array
    updated: Array
    pocket_w: Array


@jax.jit
def _pocket(w0, X, y, lr, order):
    def step(carry, i):
        w, best_w, best_e = carry
        wrong = y[i] * (X[i] @ w) <= 0
        w = w + lr * wrong * y[i] * X[i]
        e = _errors(w, X, y)
        better = e < best_e  # strictly fewer errors: the pocket swaps its weights
        best_w = jnp.where(better, w, best_w)
        best_e = jnp.minimum(e, best_e)
        return (w, best_w, best_e), (w, e, _criterion(w, X, y), best_e, wrong)

    start = (w0, w0, _errors(w0, X, y))
    (_, best_w, _), (ws, es, cs, bs, up) = lax.scan(step, start, order)
    return PocketRun(ws, es, cs, bs, up, best_w)


def pocket(
    X: ArrayLike,
    y: ArrayLike,
    *,
    key: PRNGKey,
    epochs: int,
    lr: float = 1.0,
    w0: ArrayLike | None = None,
) -> PocketRun:
    r"""The perceptron with a pocket (Gallant 1990; Aggarwal §1.2.1.1).

    Each epoch visits the examples in a fresh keyed order; a misclassified example
    ($y_i\,w\cdot x_i \le 0$) moves $w \Leftarrow w + \alpha\,y_i x_i$. After every step the
    training errors of $w$ are counted, and the pocket keeps the weights with the fewest so
    far, so ``pocket_errors`` never increases. With integer data, ``lr = 1`` and ``w0 = 0``
    every weight stays an integer and all counts are exact.

    Args:
        X: inputs ``(n, d)``; y: labels ``(n,)`` in $\{-1, +1\}$.
        key: PRNG key for the visiting orders (keyword-only, required).
        epochs: number of passes over the data.
        lr: step $\alpha$ (traced: a new value does not recompile).
        w0: start ``(d,)``, zeros by default.

    Returns:
        :class:`PocketRun` with ``T = epochs * n`` steps.
    """
    X = _validate.finite("X", _validate.float_array("X", X, ndim=2))
    y = _validate.labels_pm1("y", y, n=X.shape[0])
    _validate.positive("lr", lr)
    epochs = _validate.positive_int("epochs", epochs)
    key = _validate.prng_key("key", key)
    d = X.shape[1]
    w0 = jnp.zeros(d, X.dtype) if w0 is None else _validate.float_array("w0", w0, ndim=1)
    if w0.shape != (d,):
        raise ValueError(f"`w0` must have shape ({d},) to match X, got {tuple(w0.shape)}.")
    order = data.epoch_orders(key=key, n=X.shape[0], epochs=epochs).reshape(-1)
    return _pocket(w0.astype(X.dtype), X, y.astype(X.dtype), jnp.asarray(lr, X.dtype), order)


def pocket_cache_size() -> int:
    """Compiled variants of the pocket loop (tests check a new ``lr`` adds none)."""
    return _pocket._cache_size()


# ------------------------------------------------------------------------ likelihood


def nll_eq215(w: ArrayLike, X: ArrayLike, y: ArrayLike) -> Array:
    r"""The book's negative log-likelihood (Eq 2.13–2.15), written as the book writes it.

    $\hat y_i = \sigma(w\cdot x_i) = P(y_i = 1)$ (Eq 2.13) and
    $-\log\mathcal L = \sum_i -\log\lvert y_i/2 - 1/2 + \hat y_i\rvert$ (Eq 2.15): for $y_i = 1$
    the term is $-\log\hat y_i$, for $y_i = -1$ it is $-\log(1 - \hat y_i)$. Algebraically equal
    to :func:`logistic_nll`; this form loses precision when $\hat y_i$ is near 0 or 1.
    """
    w, X, y = _inputs(w, X, y)
    return _nll_eq215(w, X, y)


@jax.jit
def _nll_eq215(w, X, y):
    p = jax.nn.sigmoid(X @ w)  # Eq 2.13
    return -jnp.sum(jnp.log(jnp.abs(y / 2 - 0.5 + p)))


def logistic_nll(w: ArrayLike, X: ArrayLike, y: ArrayLike) -> Array:
    r"""$\sum_i \log\big(1 + e^{-y_i\,w\cdot x_i}\big)$: the identity output with the logistic
    loss (Aggarwal §2.2.3), computed stably with ``logaddexp``. Returns a scalar."""
    w, X, y = _inputs(w, X, y)
    return _nll(w, X, y)


@jax.jit
def _nll(w, X, y):
    return jnp.sum(jnp.logaddexp(0.0, -y * (X @ w)))


def logistic_nll_grad(w: ArrayLike, X: ArrayLike, y: ArrayLike) -> Array:
    r"""Hand-derived gradient of :func:`logistic_nll` (Eq 2.16 summed):
    $\nabla = -\sum_i y_i\,\sigma(-y_i\,w\cdot x_i)\,x_i$. Returns ``(d,)``."""
    w, X, y = _inputs(w, X, y)
    return _nll_grad(w, X, y)


@jax.jit
def _nll_grad(w, X, y):
    return -X.T @ (y * jax.nn.sigmoid(-y * (X @ w)))


def fisher_information(w: ArrayLike, X: ArrayLike) -> Array:
    r"""The Hessian of :func:`logistic_nll`, $I(w) = \sum_i p_i(1-p_i)\,x_i x_i^\top$ with
    $p_i = \sigma(w\cdot x_i)$; it does not depend on the labels. Returns ``(d, d)``."""
    X = _validate.float_array("X", X, ndim=2)
    w = _validate.float_array("w", w, ndim=1)
    _check_d(w, X)
    return _fisher(w, X)


@jax.jit
def _fisher(w, X):
    p = jax.nn.sigmoid(X @ w)
    return (X * (p * (1 - p))[:, None]).T @ X


@functools.partial(jax.jit, static_argnames="steps")
def _fit_logistic(w0, X, y, steps):
    def newton(w, _):
        p = jax.nn.sigmoid(X @ w)
        H = (X * (p * (1 - p))[:, None]).T @ X
        w = w - jnp.linalg.solve(H, _nll_grad(w, X, y))
        return w, _nll(w, X, y)

    return lax.scan(newton, w0, None, length=steps)


def fit_logistic(X: ArrayLike, y: ArrayLike, *, steps: int = 25) -> tuple[Array, Array]:
    r"""Maximum-likelihood logistic regression by Newton's method from $w = 0$.

    $w \Leftarrow w - I(w)^{-1}\nabla(-\log\mathcal L)$; the likelihood is concave, so from 0
    a few dozen steps reach the optimum to machine precision when it exists (the data must not
    be separable: then the likelihood has no maximum and $\|w\|$ grows without bound).

    Returns ``(w (d,), nll (steps,))``: the estimate and the NLL after each step.
    """
    X = _validate.finite("X", _validate.float_array("X", X, ndim=2))
    y = _validate.labels_pm1("y", y, n=X.shape[0])
    steps = _validate.positive_int("steps", steps)
    w, hist = _fit_logistic(jnp.zeros(X.shape[1], X.dtype), X, y.astype(X.dtype), steps)
    return w, hist


def logistic_data(*, key: PRNGKey, w: ArrayLike, n: int) -> tuple[Array, Array]:
    r"""Draw from a true logistic model: $x = (1, z)$ with $z\sim\mathcal N(0, I)$, then
    $y = +1$ with probability $\sigma(w\cdot x)$. ``w: (d,)`` (``w[0]`` is the bias).

    Returns ``(X (n, d), y (n,))``.
    """
    key = _validate.prng_key("key", key)
    w = _validate.float_array("w", w, ndim=1)
    n = _validate.positive_int("n", n)
    kx, ky = jax.random.split(key)
    Z = jax.random.normal(kx, (n, w.shape[0] - 1), w.dtype)
    X = jnp.concatenate([jnp.ones((n, 1), w.dtype), Z], axis=1)
    u = jax.random.uniform(ky, (n,), w.dtype)
    y = jnp.where(u < jax.nn.sigmoid(X @ w), 1.0, -1.0).astype(w.dtype)
    return X, y


# ------------------------------------------------------------------------ SVM margin


class SVMPath(NamedTuple):
    r"""Exact soft-margin SVM solutions for a grid of $\lambda$ (:func:`svm_path`).

    Attributes:
        lams: the penalties, ``(m,)``.
        w: the weights, ``(m, d)``.
        alpha: the dual variables $\alpha_i\in[0,1]$, ``(m, n)``; $\alpha_i > 0$ marks a
            support vector ($y_i\,w\cdot x_i \le 1$).
        primal: $\frac\lambda2\|w\|^2 + \sum_i\max(0, 1-y_i\,w\cdot x_i)$, ``(m,)``.
        dual: $\sum_i\alpha_i - \frac\lambda2\|w\|^2$, ``(m,)``; ``primal - dual >= 0`` is the
            duality gap, a certificate of how close to optimal ``w`` is.
        hinge: the training hinge loss $\sum_i\max(0, 1-y_i\,w\cdot x_i)$, ``(m,)``.
        margin: the width $2/\|w\|$ of the band $|w\cdot x|\le 1$, ``(m,)``.
    """

    lams: Array
    w: Array
    alpha: Array
    primal: Array
    dual: Array
    hinge: Array
    margin: Array


def _svm_one(X, y, lam, epochs):
    n = X.shape[0]
    q = jnp.sum(X * X, axis=1) / lam  # diagonal of Q = (y y^T) * (X X^T) / lam

    def coordinate(carry, i):
        alpha, w = carry
        g = y[i] * (X[i] @ w) - 1.0  # derivative of the dual objective in alpha_i
        new = jnp.clip(alpha[i] - g / q[i], 0.0, 1.0)
        w = w + (new - alpha[i]) * y[i] * X[i] / lam
        return (alpha.at[i].set(new), w), None

    def epoch(carry, _):
        return lax.scan(coordinate, carry, jnp.arange(n))[0], None

    start = (jnp.zeros(n, X.dtype), jnp.zeros(X.shape[1], X.dtype))
    (alpha, w), _ = lax.scan(epoch, start, None, length=epochs)
    hinge = jnp.sum(jnp.maximum(0.0, 1.0 - y * (X @ w)))
    sq = w @ w
    return w, alpha, lam / 2 * sq + hinge, jnp.sum(alpha) - lam / 2 * sq, hinge, 2 / jnp.sqrt(sq)


@functools.partial(jax.jit, static_argnames="epochs")
def _svm_path(X, y, lams, epochs):
    return jax.vmap(lambda lam: _svm_one(X, y, lam, epochs))(lams)


def svm_path(X: ArrayLike, y: ArrayLike, lams: ArrayLike, *, epochs: int = 300) -> SVMPath:
    r"""The SVM $\min_w \frac\lambda2\|w\|^2 + \sum_i\max(0, 1 - y_i\,w\cdot x_i)$ for every
    $\lambda$ in ``lams``, in one vmapped, jitted call (Aggarwal §2.2.4).

    Solved in the dual, $\max_{0\le\alpha\le1}\sum_i\alpha_i - \frac1{2\lambda}\|\sum_i
    \alpha_i y_i x_i\|^2$ with $w = \frac1\lambda\sum_i\alpha_i y_i x_i$, by exact coordinate
    ascent (Hsieh et al. 2008): each step maximizes over one $\alpha_i$ in closed form and
    clips it to $[0, 1]$. ``epochs`` sweeps over all coordinates; the returned duality gap
    says how far from the optimum the result is. No bias: the separator passes through 0
    (append a constant feature for one, which is then penalized too).

    Args:
        X: ``(n, d)``; y: ``(n,)`` in $\{-1, +1\}$; lams: ``(m,)`` positive penalties
            (traced: a new grid of the same length does not recompile).
        epochs: sweeps of coordinate ascent (static).

    Returns:
        :class:`SVMPath`.
    """
    X = _validate.finite("X", _validate.float_array("X", X, ndim=2))
    y = _validate.labels_pm1("y", y, n=X.shape[0])
    lams = _validate.float_array("lams", lams, ndim=1)
    if not _validate.is_traced(lams) and not bool(jnp.all(lams > 0)):
        raise ValueError(f"`lams` must all be positive, got {lams.tolist()}.")
    epochs = _validate.positive_int("epochs", epochs)
    lams = lams.astype(X.dtype)
    return SVMPath(lams, *_svm_path(X, y.astype(X.dtype), lams, epochs))


def svm_path_cache_size() -> int:
    """Compiled variants of :func:`svm_path` (tests check a new ``lams`` adds none)."""
    return _svm_path._cache_size()


# ------------------------------------------------------------------------ helpers


def _check_d(w: Array, X: Array) -> None:
    if w.shape[0] != X.shape[1]:
        raise ValueError(
            f"`w` must have one weight per column of X: expected shape ({X.shape[1]},), "
            f"got {tuple(w.shape)}."
        )


def _inputs(w: ArrayLike, X: ArrayLike, y: ArrayLike) -> tuple[Array, Array, Array]:
    X = _validate.float_array("X", X, ndim=2)
    w = _validate.float_array("w", w, ndim=1)
    _check_d(w, X)
    y = _validate.labels_pm1("y", y, n=X.shape[0])
    return w, X, y.astype(X.dtype)
