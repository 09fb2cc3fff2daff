r"""Penalties and early stopping: what an L2 or L1 term buys, and why stopping early is one too.

Aggarwal §4.4 (penalty-based regularization), §4.4.1 (noise injection), §4.4.2–4.4.3 (L1),
§4.4.4 (penalties on hidden units), §4.6 (early stopping); §1.4.1.1 and §1.4.1.3.

**Convention.** Linear models here use the book's *sum* of squared errors,

$$ J(w) = \|Xw - y\|^2 + \lambda\,\Omega(w), \qquad
   \Omega(w) = \|w\|^2 \ \text{(L2, ridge)} \quad\text{or}\quad \|w\|_1 \ \text{(L1)}, $$

the objective of :func:`course_lib.linear_models.ridge_closed_form`, whose minimizer for L2 is
$(X^\top X + \lambda I)^{-1}X^\top y$.

- **Weight decay (E2).** A gradient step on $L + \lambda\|w\|^2$ is
  $w \Leftarrow w(1 - 2\alpha\lambda) - \alpha\,\partial L/\partial w$; the book's factor
  $(1-\alpha\lambda)$ belongs to the penalty $\frac\lambda2\|w\|^2$ (:func:`decay_step`).
- **Noise = L2 (§4.4.1).** For a linear model, Gaussian input noise of variance $\lambda$ adds
  exactly $\lambda\|w\|^2$ to the *expected* squared error of one example
  (:func:`noisy_input_losses`, :func:`expected_noisy_loss`); over a sum of $n$ examples the
  penalty is $n\lambda\|w\|^2$ (:func:`noisy_copies`).
- **L1 (§4.4.2).** Plain subgradient descent leaves weights that should be 0 hopping around 0 by
  about $\alpha\lambda$ (E3); the proximal step (ISTA) soft-thresholds and gives exact zeros
  (:func:`soft_threshold`, :func:`fit_linear`).
- **Hidden units (§4.4.4).** A penalty $\lambda\sum|h|$ adds $\lambda\Phi'(a)\operatorname{sign}(h)$
  to each hidden unit's $\delta$ (:func:`hidden_l1_delta`, :func:`train_hidden_l1`).
- **Early stopping (§4.6).** Keep the parameters of the best validation epoch, stop after
  ``patience`` epochs without improvement (:func:`early_stopping`, :func:`early_stopping_fit`).
  From $w = 0$, $t$ steps of size $\alpha$ on a quadratic shrink the eigen-direction $i$ by
  $1 - (1-\alpha\lambda_i)^t$, close to ridge's $\lambda_i/(\lambda_i + \mu)$ with
  $\mu \approx 1/(\alpha t)$ (:func:`gd_shrinkage`, :func:`ridge_shrinkage`).

Every training loop is one jitted ``lax.scan`` with the step size and $\lambda$ traced (and the
penalty an index fed to ``lax.switch``): a slider never recompiles.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from course_lib import _validate, activations, linear_models, mlp
from course_lib._types import Array, ArrayLike, PRNGKey

PENALTIES: tuple[str, ...] = ("l2", "l1_subgradient", "l1_ista")
"""The penalties :func:`fit_linear` accepts: ridge by gradient descent, L1 by the subgradient
step of the book (§4.4.2), L1 by the proximal (soft-threshold) step."""


# ------------------------------------------------------------------------------ weight decay


def decay_step(w: ArrayLike, grad_loss: ArrayLike, *, lr: float, decay: float) -> Array:
    r"""One weight-decay step $w \Leftarrow w(1 - \alpha\,c) - \alpha\,\partial L/\partial w$.

    This is exactly a gradient step on $L + \frac{c}{2}\|w\|^2$. So $c = \lambda$ for the
    penalty $\frac\lambda2\|w\|^2$, and $c = 2\lambda$ for the book's $\lambda\|w\|^2$
    (erratum E2: the book's factor $1-\alpha\lambda$ is exact only for the first).

    Args:
        w: weights, any shape.
        grad_loss: $\partial L/\partial w$ of the *unpenalized* loss, the shape of ``w``.
        lr: step size $\alpha > 0$.
        decay: the decay coefficient $c \ge 0$.

    Returns:
        The new weights, the shape of ``w``.
    """
    w = _validate.float_array("w", w)
    grad_loss = _validate.float_array("grad_loss", grad_loss)
    if grad_loss.shape != w.shape:
        raise ValueError(
            f"`grad_loss` must have the shape of w, {tuple(w.shape)}, got {tuple(grad_loss.shape)}."
        )
    _validate.positive("lr", lr)
    _validate.positive("decay", decay, allow_zero=True)
    return w * (1.0 - lr * decay) - lr * grad_loss


# ------------------------------------------------------------------------------ noise and L2


def expected_noisy_loss(w: ArrayLike, x: ArrayLike, y: ArrayLike, lam: float) -> Array:
    r"""$(y - w\cdot x)^2 + \lambda\|w\|^2$: the expected loss under input noise (Eq 4.7).

    With $\tilde x = x + \sqrt\lambda\,\epsilon$, $\epsilon \sim N(0, I)$,
    $\mathbb E[(y - w\cdot\tilde x)^2] = (y - w\cdot x)^2 - 2\sqrt\lambda(y - w\cdot x)
    \mathbb E[w\cdot\epsilon] + \lambda\mathbb E[(w\cdot\epsilon)^2]$, and
    $\mathbb E[w\cdot\epsilon] = 0$, $\mathbb E[(w\cdot\epsilon)^2] = \|w\|^2$.

    Args:
        w: weights, shape ``(d,)``.
        x: one input, shape ``(d,)``.
        y: its target (a number).
        lam: the noise variance $\lambda \ge 0$.
    """
    w, x = _vector_pair(w, x)
    _validate.positive("lam", lam, allow_zero=True)
    return (y - w @ x) ** 2 + lam * jnp.sum(w**2)


def noisy_input_losses(
    w: ArrayLike, x: ArrayLike, y: ArrayLike, *, lam: float, key: PRNGKey, samples: int
) -> Array:
    r"""Monte-Carlo draws of $(y - w\cdot(x + \sqrt\lambda\,\epsilon))^2$, $\epsilon\sim N(0, I)$.

    Their mean estimates :func:`expected_noisy_loss`; their variance is
    $4r^2v + 2v^2$ with $r = y - w\cdot x$, $v = \lambda\|w\|^2$ (the loss is
    $(r - z)^2$ with $z \sim N(0, v)$), so the standard error of the mean is
    $\sqrt{(4r^2v + 2v^2)/\text{samples}}$.

    Args:
        w, x: shape ``(d,)``; y: a number; lam: $\lambda \ge 0$.
        key: the random key; samples: how many noise draws.

    Returns:
        shape ``(samples,)``.
    """
    w, x = _vector_pair(w, x)
    _validate.positive("lam", lam, allow_zero=True)
    _validate.prng_key("key", key)
    samples = _validate.positive_int("samples", samples)
    eps = jax.random.normal(key, (samples, x.shape[0]), x.dtype)  # (S, d)
    return (y - (x[None, :] + jnp.sqrt(lam) * eps) @ w) ** 2


def noisy_copies(
    X: ArrayLike, y: ArrayLike, *, lam: float, key: PRNGKey, copies: int
) -> tuple[Array, Array]:
    r"""``copies`` copies of the data, each input with fresh noise $\sqrt\lambda\,\epsilon$.

    Least squares on them, divided by ``copies``, averages the noisy losses; as ``copies``
    grows it tends to $\sum_i \mathbb E[(y_i - w\cdot\tilde x_i)^2] = \|Xw - y\|^2 +
    n\lambda\|w\|^2$: ridge with penalty $n\lambda$ (the noise is added to each of the $n$
    examples, so the penalty is added $n$ times).

    Args:
        X: inputs, shape ``(n, d)``; y: targets, shape ``(n,)``.
        lam: the noise variance $\lambda \ge 0$; key: the random key; copies: how many copies.

    Returns:
        ``(X_noisy: (copies * n, d), y_repeated: (copies * n,))``.
    """
    X, y = _regression_data(X, y)
    _validate.positive("lam", lam, allow_zero=True)
    _validate.prng_key("key", key)
    copies = _validate.positive_int("copies", copies)
    eps = jax.random.normal(key, (copies,) + X.shape, X.dtype)  # (c, n, d)
    Xn = (X[None] + jnp.sqrt(lam) * eps).reshape(-1, X.shape[1])
    return Xn, jnp.tile(y, copies)


# ------------------------------------------------------------------------------ L1, L2 fits


class SparseProblem(NamedTuple):
    """Regression data with a planted sparse answer.

    Attributes:
        X: inputs, shape ``(n, d)``, standard normal.
        y: targets $Xw^\\star + $ noise, shape ``(n,)``.
        w_true: the planted weights $w^\\star$, shape ``(d,)``, non-zero on the first ``k``.
    """

    X: Array
    y: Array
    w_true: Array


def planted_sparse(
    *, key: PRNGKey, n: int, d: int = 50, k: int = 5, noise: float = 0.5
) -> SparseProblem:
    r"""$y = Xw^\star + \text{noise}$ where only the first ``k`` of ``d`` weights are non-zero.

    The informative weights are $\pm(1 \ldots 2)$ with random signs; ``X`` is standard normal.
    """
    _validate.prng_key("key", key)
    n = _validate.positive_int("n", n)
    d = _validate.positive_int("d", d)
    k = _validate.positive_int("k", k)
    if k > d:
        raise ValueError(f"`k` (informative features) must be at most d = {d}, got {k}.")
    _validate.positive("noise", noise, allow_zero=True)
    return _planted_sparse(key, n, d, k, noise)


@functools.partial(jax.jit, static_argnums=(1, 2, 3))
def _planted_sparse(key, n, d, k, noise):
    k_x, k_m, k_s, k_e = jax.random.split(key, 4)
    dtype = jnp.result_type(float)
    X = jax.random.normal(k_x, (n, d), dtype)
    size = jax.random.uniform(k_m, (k,), dtype, 1.0, 2.0)
    sign = jnp.where(jax.random.bernoulli(k_s, 0.5, (k,)), 1.0, -1.0)
    w = jnp.zeros(d, dtype).at[:k].set(size * sign)
    return SparseProblem(X, X @ w + noise * jax.random.normal(k_e, (n,), dtype), w)


def soft_threshold(v: ArrayLike, t: float) -> Array:
    r"""The proximal map of $t\|w\|_1$: $\operatorname{sign}(v)\max(|v| - t, 0)$.

    It moves every entry $t$ towards 0 and stops *at* 0: entries with $|v| \le t$ become
    exactly 0.
    """
    v = _validate.float_array("v", v)
    _validate.positive("t", t, allow_zero=True)
    return _soft(v, t)


def _soft(v, t):
    return jnp.sign(v) * jnp.maximum(jnp.abs(v) - t, 0.0)


def stable_step(X: ArrayLike) -> Array:
    r"""$\alpha = 1/(2\sigma_{\max}(X)^2)$: one over the curvature of $\|Xw - y\|^2$.

    The Hessian of the sum of squared errors is $2X^\top X$; a step below 2 over its largest
    eigenvalue is stable, and $1/L$ (this value) is the usual ISTA step.
    """
    X = _validate.float_array("X", X, ndim=2)
    return 0.5 / jnp.linalg.norm(X, ord=2) ** 2


class LinearFit(NamedTuple):
    """A penalized linear fit by :func:`fit_linear`.

    Attributes:
        w: the final weights, shape ``(d,)``.
        path: the weights after every step, shape ``(steps, d)``.
        objective: $J(w)$ before every step, shape ``(steps,)``.
    """

    w: Array
    path: Array
    objective: Array


def _objective(w, X, y, lam, index):
    penalty = jnp.where(index == 0, jnp.sum(w**2), jnp.sum(jnp.abs(w)))
    return jnp.sum((X @ w - y) ** 2) + lam * penalty


@functools.partial(jax.jit, static_argnames="steps")
def _fit_linear(w0, X, y, lam, lr, index, steps):
    def l2(w, g):
        return w * (1.0 - 2.0 * lr * lam) - lr * g  # the exact decay form of lam * ||w||^2

    def l1_subgradient(w, g):
        return w - lr * lam * jnp.sign(w) - lr * g  # the book's update; s = 0 at w = 0

    def l1_ista(w, g):
        return _soft(w - lr * g, lr * lam)  # a gradient step on the data term, then the prox

    def step(w, _):
        J = _objective(w, X, y, lam, index)
        g = 2.0 * X.T @ (X @ w - y)  # gradient of the sum of squared errors
        w = lax.switch(index, [l2, l1_subgradient, l1_ista], w, g)
        return w, (w, J)

    w, (path, objective) = lax.scan(step, w0, None, length=steps)
    return LinearFit(w, path, objective)


def fit_linear(
    X: ArrayLike,
    y: ArrayLike,
    *,
    penalty: str,
    lam: float,
    lr: float,
    steps: int,
    w0: ArrayLike | None = None,
) -> LinearFit:
    r"""Minimize $\|Xw - y\|^2 + \lambda\,\Omega(w)$ by ``steps`` full-batch steps from ``w0``.

    With $g = 2X^\top(Xw - y)$ the three updates are

    - ``"l2"``: $w \Leftarrow w(1 - 2\alpha\lambda) - \alpha g$ (gradient descent on ridge);
    - ``"l1_subgradient"``: $w \Leftarrow w - \alpha\lambda\operatorname{sign}(w) - \alpha g$
      (§4.4.2; never lands on 0, see E3);
    - ``"l1_ista"``: $w \Leftarrow S_{\alpha\lambda}(w - \alpha g)$, the proximal step
      (:func:`soft_threshold`), whose fixed points are exactly the L1 minimizers.

    Use ``lr`` at most :func:`stable_step`. ``lam``, ``lr`` and the penalty are traced.

    Args:
        X: shape ``(n, d)``; y: shape ``(n,)``.
        penalty: one of :data:`PENALTIES`.
        lam: $\lambda \ge 0$; lr: $\alpha > 0$; steps: how many steps (static).
        w0: the start, shape ``(d,)``; zeros by default.

    Returns:
        :class:`LinearFit` ``(w: (d,), path: (steps, d), objective: (steps,))``.
    """
    X, y = _regression_data(X, y)
    index = jnp.asarray(
        _validate.lookup("penalty", {p: i for i, p in enumerate(PENALTIES)}, penalty)
    )
    _validate.positive("lam", lam, allow_zero=True)
    _validate.positive("lr", lr)
    steps = _validate.positive_int("steps", steps)
    w0 = _start(w0, X)
    return _fit_linear(w0, X, y, jnp.asarray(lam, X.dtype), jnp.asarray(lr, X.dtype), index, steps)


def fit_linear_cache_size() -> int:
    """How many times :func:`fit_linear`'s jitted loop has been compiled."""
    return _fit_linear._cache_size()


# ------------------------------------------------------------------------------ hidden units


def hidden_l1_delta(a: ArrayLike, lam: float, activation: str = "tanh") -> Array:
    r"""What the penalty $\lambda\sum_r |h_r|$ adds to $\delta = \partial L/\partial a$ (§4.4.4).

    With $h_r = \Phi(a_r)$, $\partial(\lambda|h_r|)/\partial a_r = \lambda\,\Phi'(a_r)\,
    \operatorname{sign}(h_r)$ (for $h_r \ne 0$): the book's adjustment of Eq 4.9, as if each
    hidden unit were an extra output with loss $\lambda|h_r|$.

    Args:
        a: pre-activations, any shape.
        lam: $\lambda \ge 0$.
        activation: a name from :data:`course_lib.activations.ACTIVATIONS`.
    """
    a = _validate.float_array("a", a)
    _validate.positive("lam", lam, allow_zero=True)
    act = activations.get(activation)
    return lam * act.grad(a) * jnp.sign(act.fn(a))


def hidden_l1_loss(
    params: tuple[mlp.Dense, ...], X: ArrayLike, labels: ArrayLike, lam: float, activation: str
) -> Array:
    r"""Mean cross-entropy plus $\lambda$ times the mean over examples of $\sum_r |h_r|$
    (all hidden layers of an :mod:`course_lib.mlp` network), Eq 4.8."""
    cache = mlp.forward_cache(params, X, activation)
    ce = jnp.mean(_softmax_ce(cache.pre[-1], labels))
    activity = sum(jnp.sum(jnp.abs(h)) for h in cache.post[1:]) / X.shape[0]
    return ce + lam * activity


def _softmax_ce(logits, labels):
    return (
        jax.nn.logsumexp(logits, axis=1)
        - jnp.take_along_axis(logits, labels[:, None], axis=1)[:, 0]
    )


@functools.partial(jax.jit, static_argnames=("activation", "steps"))
def _train_hidden_l1(params, X, labels, lam, lr, *, activation, steps):
    grad_fn = jax.value_and_grad(hidden_l1_loss)

    def body(p, _):
        value, g = grad_fn(p, X, labels, lam, activation)
        return jax.tree.map(lambda w, gw: w - lr * gw, p, g), value

    return lax.scan(body, params, None, length=steps)


def train_hidden_l1(
    params: tuple[mlp.Dense, ...],
    X: ArrayLike,
    labels: ArrayLike,
    *,
    lam: float,
    lr: float,
    steps: int,
    activation: str = "relu",
) -> tuple[tuple[mlp.Dense, ...], Array]:
    r"""Full-batch gradient descent on :func:`hidden_l1_loss` (one jitted ``lax.scan``).

    ``lam`` and ``lr`` are traced. Returns ``(params, objective before each step (steps,))``.
    """
    X = _validate.float_array("X", X, ndim=2)
    _validate.finite("X", X)
    if not isinstance(params, tuple) or not all(isinstance(p, mlp.Dense) for p in params):
        raise TypeError("`params` must be a non-empty tuple of Dense layers (from mlp.init).")
    labels = _validate.index_array("labels", labels, size=params[-1].W.shape[1], ndim=1)
    _validate.same_rows("X", X, "labels", labels)
    _validate.positive("lam", lam, allow_zero=True)
    _validate.positive("lr", lr)
    steps = _validate.positive_int("steps", steps)
    activations.get(activation)
    return _train_hidden_l1(
        params,
        X,
        labels,
        jnp.asarray(lam, X.dtype),
        jnp.asarray(lr, X.dtype),
        activation=activation,
        steps=steps,
    )


def mean_abs_hidden(params: tuple[mlp.Dense, ...], X: ArrayLike, activation: str = "relu") -> Array:
    """The mean of $|h|$ over the examples and units of the first hidden layer."""
    X = _validate.float_array("X", X, ndim=2)
    return jnp.mean(jnp.abs(mlp.forward_cache(params, X, activation).post[1]))


# ------------------------------------------------------------------------------ early stopping


def early_stopping(val_losses: ArrayLike, patience: int) -> tuple[int, int]:
    r"""The early-stopping decision on a validation curve: ``(best_epoch, stop_epoch)``.

    Epoch 0 is the first best. At each later epoch a *strictly* lower loss becomes the new
    best and resets the counter; otherwise the counter grows, and when it reaches
    ``patience`` training stops at that epoch. If it never does, ``stop_epoch`` is the last
    epoch. ``best_epoch`` is the best epoch up to ``stop_epoch``: the parameters to restore.

    Args:
        val_losses: one validation loss per epoch, shape ``(T,)``.
        patience: how many epochs without improvement to tolerate (>= 1).
    """
    v = _validate.float_array("val_losses", val_losses, ndim=1)
    _validate.nonempty("val_losses", v, what="epoch")
    patience = _validate.positive_int("patience", patience)
    best, stop = _early_stopping(v, patience)
    return int(best), int(stop)


def _early_stopping(v, patience):
    def body(carry, t):
        best_val, best_t, wait, stopped, stop_t = carry
        better = (v[t] < best_val) & ~stopped
        wait = jnp.where(stopped, wait, jnp.where(better, 0, wait + 1))
        newly = ~stopped & (wait >= patience)
        return (
            jnp.where(better, v[t], best_val),
            jnp.where(better, t, best_t),
            wait,
            stopped | newly,
            jnp.where(newly, t, stop_t),
        ), None

    T = v.shape[0]
    init = (v[0], jnp.int32(0), jnp.int32(0), jnp.bool_(False), jnp.int32(T - 1))
    (_, best_t, _, _, stop_t), _ = lax.scan(body, init, jnp.arange(1, T, dtype=jnp.int32))
    return best_t, stop_t


class EarlyStopRun(NamedTuple):
    """Gradient descent on least squares watched by an early stopper (:func:`early_stopping_fit`).

    Attributes:
        best: the weights the stopper kept (its snapshot of the best epoch), shape ``(d,)``.
        best_epoch: the epoch of the lowest validation loss before stopping (int array).
        stop_epoch: the epoch at which the patience ran out (the last epoch if it never did).
        train_loss: mean squared training error after every epoch, shape ``(epochs,)``.
        val_loss: mean squared validation error after every epoch, shape ``(epochs,)``.
        path: the weights after every epoch, shape ``(epochs, d)`` (for plots and checks:
            a real trainer keeps only ``best``).
    """

    best: Array
    best_epoch: Array
    stop_epoch: Array
    train_loss: Array
    val_loss: Array
    path: Array


@functools.partial(jax.jit, static_argnames=("epochs", "patience"))
def _early_stopping_fit(X, y, Xv, yv, lr, *, epochs, patience):
    def body(carry, t):
        w, best_w, best_val, best_t, wait, stopped, stop_t = carry
        w = w - lr * 2.0 * X.T @ (X @ w - y)  # one full-batch step = one epoch
        val = jnp.mean((Xv @ w - yv) ** 2)
        better = (val < best_val) & ~stopped
        wait = jnp.where(stopped, wait, jnp.where(better, 0, wait + 1))
        newly = ~stopped & (wait >= patience)
        carry = (
            w,
            jnp.where(better, w, best_w),  # the snapshot: restored, never recomputed
            jnp.where(better, val, best_val),
            jnp.where(better, t, best_t),
            wait,
            stopped | newly,
            jnp.where(newly, t, stop_t),
        )
        return carry, (w, jnp.mean((X @ w - y) ** 2), val)

    d = X.shape[1]
    zero = jnp.zeros(d, X.dtype)
    init = (
        zero,
        zero,
        jnp.asarray(jnp.inf, X.dtype),
        jnp.int32(0),
        jnp.int32(0),
        jnp.bool_(False),
        jnp.int32(epochs - 1),
    )
    carry, (path, train, val) = lax.scan(body, init, jnp.arange(epochs, dtype=jnp.int32))
    _, best_w, _, best_t, _, _, stop_t = carry
    return EarlyStopRun(best_w, best_t, stop_t, train, val, path)


def early_stopping_fit(
    X: ArrayLike,
    y: ArrayLike,
    X_val: ArrayLike,
    y_val: ArrayLike,
    *,
    lr: float,
    epochs: int,
    patience: int,
) -> EarlyStopRun:
    r"""Gradient descent from $w = 0$ on $\|Xw - y\|^2$, with an early stopper on the side.

    After every step (an "epoch") the stopper computes the validation error; when it is the
    lowest so far it keeps a copy of the weights; after ``patience`` epochs without
    improvement it stops (the same rule as :func:`early_stopping`). The run itself goes on to
    ``epochs`` so that the whole curves can be drawn. ``lr`` is traced.

    Returns:
        :class:`EarlyStopRun`.
    """
    X, y = _regression_data(X, y)
    Xv, yv = _regression_data(X_val, y_val, "X_val", "y_val")
    if Xv.shape[1] != X.shape[1]:
        raise ValueError(f"`X_val` must have {X.shape[1]} columns like X, got {Xv.shape[1]}.")
    _validate.positive("lr", lr)
    epochs = _validate.positive_int("epochs", epochs)
    patience = _validate.positive_int("patience", patience)
    return _early_stopping_fit(
        X, y, Xv, yv, jnp.asarray(lr, X.dtype), epochs=epochs, patience=patience
    )


def gd_shrinkage(eigvals: ArrayLike, lr: float, steps: int | Array) -> Array:
    r"""$1 - (1 - \alpha\lambda_i)^t$: how much of $w^\star_i$ gradient descent has reached.

    On a quadratic $\frac12(w - w^\star)^\top H (w - w^\star)$ with eigenvalues $\lambda_i$,
    $w(t) - w^\star = (I - \alpha H)^t (w(0) - w^\star)$; from $w(0) = 0$ each eigen-coordinate
    is $w_i(t) = \bigl(1 - (1 - \alpha\lambda_i)^t\bigr) w^\star_i$ (§4.6).
    """
    ev = _validate.float_array("eigvals", eigvals)
    _validate.positive("lr", lr)
    return 1.0 - (1.0 - lr * ev) ** steps


def ridge_shrinkage(eigvals: ArrayLike, mu: float) -> Array:
    r"""$\lambda_i/(\lambda_i + \mu)$: the same factor for the minimizer of the quadratic plus
    $\frac\mu2\|w\|^2$, $(H + \mu I)^{-1}Hw^\star$."""
    ev = _validate.float_array("eigvals", eigvals)
    _validate.positive("mu", mu, allow_zero=True)
    return ev / (ev + mu)


# ------------------------------------------------------------------------------ helpers


def _vector_pair(w, x):
    w = _validate.float_array("w", w, ndim=1)
    x = _validate.float_array("x", x, ndim=1)
    if w.shape != x.shape:
        raise ValueError(f"`x` must have the shape of w, {tuple(w.shape)}, got {tuple(x.shape)}.")
    return w, x


def _regression_data(X, y, name_x="X", name_y="y"):
    X = _validate.float_array(name_x, X, ndim=2)
    _validate.nonempty(name_x, X, what="example (row)")
    y = _validate.float_array(name_y, y, ndim=1)
    _validate.same_rows(name_x, X, name_y, y)
    _validate.finite(name_x, X)
    _validate.finite(name_y, y)
    return X, y


def _start(w0, X):
    if w0 is None:
        return jnp.zeros(X.shape[1], X.dtype)
    w0 = _validate.float_array("w0", w0, ndim=1)
    if w0.shape != (X.shape[1],):
        raise ValueError(f"`w0` must have shape ({X.shape[1]},), got {tuple(w0.shape)}.")
    return w0.astype(X.dtype)


# ------------------------------------------------------------------------------ Exercise 4.3


class SplitResults(NamedTuple):
    """Train/test accuracies and weight norms of :func:`penalty_on_splits`, each
    ``(splits, len(lams))``."""

    train_accuracy: Array
    test_accuracy: Array
    weight_norm: Array


def penalty_on_splits(
    X: ArrayLike,
    y: ArrayLike,
    *,
    key: PRNGKey,
    n_train: int,
    lams: ArrayLike,
    splits: int,
    loss: str = "logistic",
    lr: float = 1.0,
    steps: int = 500,
) -> SplitResults:
    r"""Exercise 4.3 in one jitted call: the same linear classifier with several penalties on
    ``splits`` random splits of ``(X, y)``.

    Each split shuffles with its own key (``fold_in(key, s)``), trains on the first
    ``n_train`` rows and tests on all the others. Features are standardized with the training
    rows' mean and spread and a bias feature is appended. The model is
    :func:`course_lib.linear_models.fit_binary`'s full-batch GD on
    $\frac1n\sum_i L(y_i w\cdot x_i) + \frac\lambda2\|w\|^2$.

    Args:
        X: shape ``(n, d)``; y: labels in $\{-1, +1\}$, shape ``(n,)``.
        key: the random key of the splits; n_train: training rows per split (< n).
        lams: the penalties $\lambda \ge 0$ to compare, shape ``(m,)``.
        splits: how many random splits; loss: one of ``linear_models.BINARY_LOSSES``.
        lr, steps: gradient descent's step size and number of steps.
    """
    X = _validate.float_array("X", X, ndim=2)
    _validate.finite("X", X)
    y = _validate.labels_pm1("y", y, n=X.shape[0])
    _validate.prng_key("key", key)
    n_train = _validate.positive_int("n_train", n_train)
    if n_train >= X.shape[0]:
        raise ValueError(
            f"`n_train` must leave test rows: at most {X.shape[0] - 1}, got {n_train}."
        )
    lams = _validate.float_array("lams", lams, ndim=1)
    if not bool(jnp.all(lams >= 0)):
        raise ValueError("`lams` must be non-negative.")
    splits = _validate.positive_int("splits", splits)
    index = linear_models._loss_index(loss, linear_models.BINARY_LOSSES)
    _validate.positive("lr", lr)
    steps = _validate.positive_int("steps", steps)
    return _penalty_on_splits(
        X, y, key, lams.astype(X.dtype), jnp.asarray(lr, X.dtype), index, n_train, splits, steps
    )


@functools.partial(jax.jit, static_argnums=(6, 7, 8))
def _penalty_on_splits(X, y, key, lams, lr, index, n_train, splits, steps):
    def one_split(s):
        perm = jax.random.permutation(jax.random.fold_in(key, s), X.shape[0])
        Xs, ys = X[perm], y[perm]
        Xtr, ytr, Xte, yte = Xs[:n_train], ys[:n_train], Xs[n_train:], ys[n_train:]
        mu, sd = Xtr.mean(0)[None, :], Xtr.std(0)[None, :] + 1e-8  # (1, d): training statistics
        ones = lambda Z: jnp.concatenate([Z, jnp.ones((Z.shape[0], 1), Z.dtype)], axis=1)  # noqa: E731
        Atr, Ate = ones((Xtr - mu) / sd), ones((Xte - mu) / sd)

        def one_lam(lam):
            w0 = jnp.zeros(Atr.shape[1], X.dtype)
            w = linear_models._fit_binary(w0, Atr, ytr, lr, lam, index, steps).w
            acc = lambda A, t: jnp.mean(jnp.where(A @ w >= 0, 1.0, -1.0) == t)  # noqa: E731
            return acc(Atr, ytr), acc(Ate, yte), jnp.linalg.norm(w[:-1])

        return jax.vmap(one_lam)(lams)

    return SplitResults(*jax.vmap(one_split)(jnp.arange(splits)))


# ------------------------------------------------------------------------------ lambda sweeps


SOLUTION_PENALTIES: tuple[str, ...] = ("l2", "l1")
"""The penalties :func:`penalized_solution` and :func:`lambda_sweep` accept."""


@functools.partial(jax.jit, static_argnames="steps")
def _penalized_solution(X, y, lam, index, steps):
    def ridge():
        return jnp.linalg.solve(X.T @ X + lam * jnp.eye(X.shape[1], dtype=X.dtype), X.T @ y)

    def lasso():
        lr = 0.5 / jnp.linalg.norm(X, ord=2) ** 2

        def step(w, _):
            return _soft(w - lr * 2.0 * X.T @ (X @ w - y), lr * lam), None

        return lax.scan(step, jnp.zeros(X.shape[1], X.dtype), None, length=steps)[0]

    return lax.cond(index == 0, ridge, lasso)


def penalized_solution(
    X: ArrayLike, y: ArrayLike, *, penalty: str, lam: float, steps: int = 3000
) -> Array:
    r"""The minimizer of $\|Xw - y\|^2 + \lambda\,\Omega(w)$: ridge in closed form
    (``"l2"``, $(X^\top X + \lambda I)^{-1}X^\top y$), or ``steps`` ISTA steps from 0 with
    $\alpha$ = :func:`stable_step` (``"l1"``). One jitted call; ``lam`` and the penalty are
    traced, so a widget moving either never recompiles.

    Returns:
        $w$, shape ``(d,)``.
    """
    X, y = _regression_data(X, y)
    index = _validate.lookup("penalty", {p: i for i, p in enumerate(SOLUTION_PENALTIES)}, penalty)
    _validate.positive("lam", lam, allow_zero=True)
    steps = _validate.positive_int("steps", steps)
    return _penalized_solution(X, y, jnp.asarray(lam, X.dtype), jnp.asarray(index), steps)


def penalized_solution_cache_size() -> int:
    """How many times :func:`penalized_solution`'s jitted function has been compiled."""
    return _penalized_solution._cache_size()


class Sweep(NamedTuple):
    """A penalized fit for each $\\lambda$ of a grid (:func:`lambda_sweep`).

    Attributes:
        lams: the grid, shape ``(m,)``.
        w: the weights, shape ``(m, d)``.
        train_mse: mean squared training error, shape ``(m,)``.
        val_mse: mean squared validation error, shape ``(m,)``.
        zeros: how many weights are exactly 0, shape ``(m,)``.
    """

    lams: Array
    w: Array
    train_mse: Array
    val_mse: Array
    zeros: Array


def lambda_sweep(
    X: ArrayLike,
    y: ArrayLike,
    X_val: ArrayLike,
    y_val: ArrayLike,
    *,
    penalty: str,
    lams: ArrayLike,
    steps: int = 3000,
) -> Sweep:
    """:func:`penalized_solution` for every ``lams[j]`` (one vmapped call), with its errors."""
    X, y = _regression_data(X, y)
    Xv, yv = _regression_data(X_val, y_val, "X_val", "y_val")
    index = _validate.lookup("penalty", {p: i for i, p in enumerate(SOLUTION_PENALTIES)}, penalty)
    lams = _validate.float_array("lams", lams, ndim=1).astype(X.dtype)
    if not bool(jnp.all(lams >= 0)):
        raise ValueError("`lams` must be non-negative.")
    steps = _validate.positive_int("steps", steps)
    return _sweep(X, y, Xv, yv, lams, jnp.asarray(index), steps)


@functools.partial(jax.jit, static_argnums=6)
def _sweep(X, y, Xv, yv, lams, index, steps):
    W = jax.vmap(lambda lam: _penalized_solution(X, y, lam, index, steps))(lams)  # (m, d)
    return Sweep(
        lams,
        W,
        jnp.mean((W @ X.T - y[None, :]) ** 2, axis=1),
        jnp.mean((W @ Xv.T - yv[None, :]) ** 2, axis=1),
        jnp.sum(W == 0, axis=1),
    )
