r"""One neuron, many models: linear classifiers trained with different losses (Aggarwal §2.2–2.4).

A linear model scores an input $X$ with $\hat y = W\cdot X$ (binary) or with one row per class,
$v_r = W_r\cdot X$ (multiclass; ``W`` has shape ``(k, d)``, a bias is a constant feature, see
:func:`course_lib.data.add_bias`). The *loss* alone decides which classic model it is:

- binary (:data:`BINARY_LOSSES`): perceptron, hinge (SVM), logistic regression, Widrow–Hoff
  (least squares on $\pm1$ targets, i.e. Fisher's discriminant), L2-SVM;
- multiclass (:data:`MULTICLASS_LOSSES`): multiclass perceptron, Weston–Watkins SVM, softmax.

**Objective and update.** Both trainers minimize the mean loss plus an L2 penalty,

$$ J(W) = \frac1n\sum_{i=1}^n L_i(W) + \frac{\lambda}{2}\|W\|^2 , $$

whose gradient step is the book's $W \Leftarrow W(1-\alpha\lambda) - \alpha\,\nabla L$
(the $\lambda/2$ makes the shrink factor exactly $1-\alpha\lambda$).

- :func:`fit_binary` runs **full-batch** gradient descent: deterministic and, with a small
  enough step, convergent to the exact minimizer, which is what the comparison with the closed
  form $(D^TD + \lambda I)^{-1}D^Ty$ needs (SGD with a constant step only hovers around it).
- :func:`multiclass_fit` runs **stochastic** gradient descent, one example at a time in a keyed
  random order: the book's updates (Eq 2.24, 2.27, 2.37) are per-example, and it is per example
  that the multiclass perceptron changes at most two rows of $W$.

Both are one jitted ``lax.scan``; the learning rate, $\lambda$ **and the loss** are traced (the
loss is an integer index fed to ``lax.switch``), so trying another loss or moving a slider
never recompiles. ``fit_binary_cache_size()`` and ``multiclass_fit_cache_size()`` prove it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from course_lib import _validate, data, losses
from course_lib._types import Array, ArrayLike, PRNGKey

BINARY_LOSSES: tuple[str, ...] = ("perceptron", "hinge", "logistic", "widrow_hoff", "l2_svm")
"""The binary losses :func:`fit_binary` accepts (keys of :data:`losses.MARGIN_LOSSES`)."""

MULTICLASS_LOSSES: tuple[str, ...] = tuple(losses.MULTICLASS_LOSSES)
"""The multiclass losses :func:`multiclass_fit` accepts: ``multiclass_perceptron``,
``weston_watkins``, ``softmax``."""

# The book drops the factor 2 of the squared losses (Eq 2.7): -L'(z) = SCALE * y * delta.
_DELTA_SCALE = {"perceptron": 1.0, "hinge": 1.0, "logistic": 1.0, "widrow_hoff": 2.0, "l2_svm": 2.0}


# ------------------------------------------------------------------------------ closed forms


def ridge_closed_form(X: ArrayLike, y: ArrayLike, lam: float = 0.0) -> Array:
    r"""Least squares with an L2 penalty in closed form (Eq 2.11–2.12).

    $$ W = (D^TD + \lambda I)^{-1} D^T y , $$

    the minimizer of $\|DW - y\|^2 + \lambda\|W\|^2$ (a sum, not a mean: the same $W$ as
    :func:`fit_binary` with ``loss="widrow_hoff"`` and penalty $\lambda_{\mathrm{gd}}$ when
    $\lambda = n\lambda_{\mathrm{gd}}/2$). Solved with ``jnp.linalg.solve``, never an inverse.

    Args:
        X: the design matrix $D$, shape ``(n, d)``.
        y: real targets, shape ``(n,)``.
        lam: $\lambda \ge 0$ (with $\lambda = 0$, $D$ must have full column rank).

    Returns:
        $W$, shape ``(d,)``.
    """
    X = _validate.float_array("X", X, ndim=2)
    _validate.nonempty("X", X, what="example (row)")
    y = _validate.float_array("y", y, ndim=1)
    _validate.same_rows("X", X, "y", y)
    _validate.finite("X", X)
    _validate.finite("y", y)
    _validate.positive("lam", lam, allow_zero=True)
    d = X.shape[1]
    # Only lam = 0 is checked: with lam > 0 the system is positive definite by construction
    # (smallest eigenvalue >= lam), and a tiny user-chosen penalty may lose digits but gives no
    # NaN; second-guessing it would refuse ill-conditioned data the course shows on purpose.
    if not _validate.is_traced(lam) and float(lam) == 0.0:
        _validate.full_rank_gram(
            "X",
            X,
            what="D^T D (lam = 0)",
            hint="pass lam > 0, or drop duplicate, constant-zero or linearly dependent columns "
            "(with lam = 0, X needs at least as many independent rows as columns).",
        )
    return jnp.linalg.solve(X.T @ X + lam * jnp.eye(d, dtype=X.dtype), X.T @ y)


def fisher_direction(X: ArrayLike, y: ArrayLike) -> Array:
    r"""Fisher's linear discriminant direction $S_w^{-1}(\mu_+ - \mu_-)$ (§2.2.2.1).

    $\mu_\pm$ are the class means and $S_w = \sum_{i} (x_i - \mu_{y_i})(x_i - \mu_{y_i})^T$ the
    within-class scatter. It maximizes the ratio of between-class to within-class variance of
    the projection $W\cdot X$; on mean-centred data it is parallel to the least-squares
    (Widrow–Hoff) weights.

    Args:
        X: inputs, shape ``(n, d)`` (no bias column: a constant feature has no scatter).
        y: labels in $\{-1, +1\}$, shape ``(n,)``, both classes present.

    Returns:
        The direction, shape ``(d,)`` (not normalized).
    """
    X = _validate.float_array("X", X, ndim=2)
    _validate.finite("X", X)
    y = _validate.labels_pm1("y", y, n=X.shape[0])
    pos = (y > 0)[:, None]  # (n, 1)
    n_pos = jnp.sum(pos)
    if not _validate.is_traced(n_pos) and (int(n_pos) == 0 or int(n_pos) == X.shape[0]):
        raise ValueError("`y` must contain both classes (-1 and +1) to define a discriminant.")
    mu_pos = jnp.sum(jnp.where(pos, X, 0.0), axis=0) / n_pos
    mu_neg = jnp.sum(jnp.where(pos, 0.0, X), axis=0) / (X.shape[0] - n_pos)
    R = X - jnp.where(pos, mu_pos[None, :], mu_neg[None, :])  # (n, d) residuals
    _validate.full_rank_gram(
        "X",
        R,
        what="the within-class scatter S_w",
        hint="S_w has rank at most n - 2, so use at least d + 2 examples, and drop "
        "constant or duplicate columns (a bias column has no scatter).",
    )
    return jnp.linalg.solve(R.T @ R, mu_pos - mu_neg)


# ------------------------------------------------------------------------------ binary models


def mistake_factor(loss: str, z: ArrayLike) -> Array:
    r"""The book's "mistake function" $\delta$ of Exercise 2.13, a function of $z = yW\cdot X$.

    Every binary update has the form $W \Leftarrow W(1-\alpha\lambda) + \alpha\, y\,\delta\, X$:

    | loss | $\delta$ |
    | --- | --- |
    | perceptron | $[z \le 0]$ |
    | hinge | $[z < 1]$ |
    | logistic | $1/(1 + e^{z})$, the probability of a mistake |
    | widrow_hoff | $1 - z$ (negative when the point is "too correct") |
    | l2_svm | $\max\{1 - z, 0\}$ |

    For the two squared losses the true gradient is twice this, $-\nabla_W L = 2y\delta X$:
    the book absorbs the 2 into $\alpha$ (Eq 2.7).

    Args:
        loss: one of :data:`BINARY_LOSSES`.
        z: margins, any shape.

    Returns:
        $\delta$, same shape as ``z``.
    """
    _validate.lookup("loss", _DELTA_SCALE, loss)
    return -losses.get(loss).grad(z) / _DELTA_SCALE[loss]


def delta_scale(loss: str) -> float:
    r"""$s$ with $-L'(z) = s\,\delta(z)$: 2 for ``widrow_hoff`` and ``l2_svm`` (Eq 2.7), else 1."""
    return _validate.lookup("loss", _DELTA_SCALE, loss)


class BinaryFit(NamedTuple):
    """Result of :func:`fit_binary`.

    Attributes:
        w: final weights, shape ``(d,)``.
        objective: $J(W)$ *before* each step, shape ``(steps,)``.
    """

    w: Array
    objective: Array


def _binary_objective_and_grad(w, X, y, lam, index):
    z = y * (X @ w)  # (n,)

    def branch(name):
        loss = losses.get(name)
        return lambda z: (jnp.mean(loss.fn(z)), loss.grad(z))

    mean_loss, dz = lax.switch(index, [branch(name) for name in BINARY_LOSSES], z)
    J = mean_loss + 0.5 * lam * jnp.sum(w**2)
    return J, X.T @ (dz * y) / X.shape[0] + lam * w


@functools.partial(jax.jit, static_argnames="steps")
def _fit_binary(w0, X, y, lr, lam, index, steps):
    def step(w, _):
        J, g = _binary_objective_and_grad(w, X, y, lam, index)
        return w - lr * g, J

    return BinaryFit(*lax.scan(step, w0, None, length=steps))


def fit_binary(
    X: ArrayLike,
    y: ArrayLike,
    *,
    loss: str,
    lr: float,
    lam: float = 0.0,
    steps: int,
    w0: ArrayLike | None = None,
) -> BinaryFit:
    r"""Full-batch GD on $J(w) = \frac1n\sum_i L(y_i w\cdot x_i) + \frac\lambda2\|w\|^2$.

    Each step is $w \Leftarrow w(1 - \alpha\lambda) - \frac{\alpha}{n}\sum_i L'(z_i)\,y_i\,x_i$.
    One jitted ``lax.scan``; ``lr``, ``lam`` and the loss are traced (no recompilation).

    Args:
        X: inputs, shape ``(n, d)`` (append a column of ones for a bias).
        y: labels in $\{-1, +1\}$, shape ``(n,)``.
        loss: one of :data:`BINARY_LOSSES`.
        lr: step size $\alpha > 0$.
        lam: penalty $\lambda \ge 0$.
        steps: number of gradient steps (a Python int: the scan length).
        w0: starting weights, shape ``(d,)``; zeros by default.

    Returns:
        :class:`BinaryFit` ``(w: (d,), objective: (steps,))``.
    """
    X = _validate.float_array("X", X, ndim=2)
    _validate.nonempty("X", X, what="example (row)")  # the mean loss of no examples is NaN
    _validate.finite("X", X)
    y = _validate.labels_pm1("y", y, n=X.shape[0])
    index = _loss_index(loss, BINARY_LOSSES)
    _validate.positive("lr", lr)
    _validate.positive("lam", lam, allow_zero=True)
    steps = _validate.positive_int("steps", steps)
    w0 = _start("w0", w0, (X.shape[1],), X.dtype)
    return _fit_binary(w0, X, y, jnp.asarray(lr, X.dtype), jnp.asarray(lam, X.dtype), index, steps)


def fit_binary_cache_size() -> int:
    """How many times :func:`fit_binary`'s jitted loop has been compiled."""
    return _fit_binary._cache_size()


# ------------------------------------------------------------------------------ multiclass


class MulticlassHistory(NamedTuple):
    r"""What :func:`multiclass_fit` recorded.

    Attributes:
        objective: $J(W)$ on the whole training set after each epoch, shape ``(epochs,)``.
        rows_changed: per step, how many rows of $W$ the loss gradient touched (the shrink
            $W(1-\alpha\lambda)$ not counted), shape ``(epochs, n)`` int.
        order: the example visited at each step, shape ``(epochs, n)`` int.
    """

    objective: Array
    rows_changed: Array
    order: Array


class MulticlassFit(NamedTuple):
    """The final weights ``W: (k, d)`` and the :class:`MulticlassHistory`."""

    W: Array
    history: MulticlassHistory


def _score_grad(v, c, index):
    """(loss, dL/dv) of one example with scores ``v: (k,)``, the loss chosen by a traced index."""

    def branch(name):
        loss = losses.get_multiclass(name)
        return lambda v, c: (loss.fn(v, c), loss.grad(v, c))

    return lax.switch(index, [branch(name) for name in MULTICLASS_LOSSES], v, c)


def multiclass_objective(
    W: ArrayLike, X: ArrayLike, labels: ArrayLike, *, loss: str, lam: float = 0.0
) -> Array:
    r"""$J(W) = \frac1n\sum_i L(W X_i, c_i) + \frac\lambda2\|W\|_F^2$ for a multiclass loss.

    Args:
        W: weights, one row per class, shape ``(k, d)``.
        X: inputs, shape ``(n, d)``.
        labels: classes ``0..k-1``, shape ``(n,)``.
        loss: one of :data:`MULTICLASS_LOSSES`.
        lam: $\lambda \ge 0$.
    """
    W, X, labels = _multiclass_inputs(W, X, labels)
    return _objective(W, X, labels, lam, _loss_index(loss, MULTICLASS_LOSSES))


def _objective(W, X, labels, lam, index):
    # One switch on the whole batch (not one per example): it compiles to a smaller program.
    branches = [
        lambda V, c, name=name: jnp.mean(losses.get_multiclass(name).fn(V, c))
        for name in MULTICLASS_LOSSES
    ]
    return lax.switch(index, branches, X @ W.T, labels) + 0.5 * lam * jnp.sum(W**2)


def multiclass_sgd_step(
    W: Array, x: Array, label: Array, lr: Array, lam: Array, index: Array
) -> tuple[Array, Array]:
    r"""One SGD update $W \Leftarrow W(1-\alpha\lambda) - \alpha\,(\partial L/\partial v)\,x^T$.

    With $v = Wx$, Eq 2.35 gives $\partial L/\partial W_r = (\partial L/\partial v_r)\,x$, so
    the update of row $r$ is $-\alpha\,(\partial L/\partial v_r)\,x$ (Eq 2.24, 2.27, 2.37).

    Args:
        W: ``(k, d)``; x: ``(d,)``; label: ``()`` int; lr, lam: ``()``; index: ``()`` int, the
        position of the loss in :data:`MULTICLASS_LOSSES`.

    Returns:
        ``(new_W, rows_changed)``: the weights and how many rows the loss gradient touched.
    """
    _, g = _score_grad(W @ x, label, index)  # (k,)
    return W * (1.0 - lr * lam) - lr * g[:, None] * x[None, :], jnp.sum(g != 0)


@jax.jit
def _multiclass_fit(W0, X, labels, lr, lam, index, orders):
    def one_epoch(W, order):
        def one_step(W, i):
            return multiclass_sgd_step(W, X[i], labels[i], lr, lam, index)

        W, changed = lax.scan(one_step, W, order)
        return W, (_objective(W, X, labels, lam, index), changed)

    W, (objective, changed) = lax.scan(one_epoch, W0, orders)
    return MulticlassFit(W, MulticlassHistory(objective, changed, orders))


def multiclass_fit(
    X: ArrayLike,
    labels: ArrayLike,
    *,
    loss: str,
    lr: float,
    lam: float = 0.0,
    epochs: int,
    key: PRNGKey,
    num_classes: int | None = None,
    W0: ArrayLike | None = None,
) -> MulticlassFit:
    r"""Train a linear multiclass model with SGD, one example at a time (Aggarwal §2.3).

    Each epoch visits the examples in a fresh random order (drawn from ``key`` exactly as
    :func:`course_lib.perceptron.fit_sgd` draws it) and applies :func:`multiclass_sgd_step`.
    ``lr``, ``lam`` and ``loss`` are traced: one compilation per data shape and number of
    epochs, whatever the loss or the hyperparameters.

    Args:
        X: inputs, shape ``(n, d)`` (append a column of ones for a bias).
        labels: classes ``0..k-1``, integers, shape ``(n,)``.
        loss: one of :data:`MULTICLASS_LOSSES`.
        lr: step size $\alpha > 0$.
        lam: penalty $\lambda \ge 0$.
        epochs: passes over the data (a Python int).
        key: a JAX random key for the visiting order (required).
        num_classes: $k$; by default ``max(labels) + 1``.
        W0: starting weights, shape ``(k, d)``; zeros by default.

    Returns:
        :class:`MulticlassFit` with ``W: (k, d)`` and its history.
    """
    _validate.prng_key("key", key)
    X = _validate.float_array("X", X, ndim=2)
    _validate.nonempty("X", X, what="example (row)")
    _validate.finite("X", X)
    labels = _int_labels(labels, X.shape[0])
    if num_classes is None:
        num_classes = int(jnp.max(labels)) + 1
    k = _validate.positive_int("num_classes", num_classes)
    if k < 2 or int(jnp.max(labels)) >= k:
        raise ValueError(
            f"`num_classes` must be at least 2 and larger than every label, got {k} "
            f"(largest label {int(jnp.max(labels))})."
        )
    index = _loss_index(loss, MULTICLASS_LOSSES)
    _validate.positive("lr", lr)
    _validate.positive("lam", lam, allow_zero=True)
    epochs = _validate.positive_int("epochs", epochs)
    W0 = _start("W0", W0, (k, X.shape[1]), X.dtype)
    n = X.shape[0]
    orders = data.epoch_orders(key=key, n=n, epochs=epochs)
    lr, lam = jnp.asarray(lr, X.dtype), jnp.asarray(lam, X.dtype)
    return _multiclass_fit(W0, X, labels, lr, lam, index, orders)


def multiclass_fit_cache_size() -> int:
    """How many times :func:`multiclass_fit`'s jitted loop has been compiled."""
    return _multiclass_fit._cache_size()


def predict_class(W: ArrayLike, X: ArrayLike) -> Array:
    r"""$\arg\max_r W_r\cdot X$ for each row of ``X: (n, d)``; returns ``(n,)`` int."""
    W, X = _weights_and_inputs(W, X)
    return jnp.argmax(X @ W.T, axis=-1)


def accuracy(W: ArrayLike, X: ArrayLike, labels: ArrayLike) -> Array:
    """Fraction of rows whose predicted class equals the label."""
    W, X, labels = _multiclass_inputs(W, X, labels)
    return jnp.mean(jnp.argmax(X @ W.T, axis=-1) == labels)


# ------------------------------------------------------------------------------ saliency


def saliency(scores_fn: Callable[[Array], Array], x: ArrayLike) -> tuple[Array, Array]:
    r"""Backpropagated saliency $|\partial o_m/\partial x_j|$ of the winning class $m$ (§2.4).

    $o = $ ``scores_fn(x)`` are the class scores and $m = \arg\max_r o_r$. The Jacobian is
    computed with ``jax.jacrev``; for a linear model $o = Wx$ the saliency is $|W_m|$.

    Args:
        scores_fn: maps one input ``(d,)`` to the class scores ``(k,)`` (any differentiable
            JAX function, e.g. ``lambda x: W @ x``).
        x: one input, shape ``(d,)``.

    Returns:
        ``(saliency: (d,), m: ())``.
    """
    if not callable(scores_fn):
        raise TypeError(f"`scores_fn` must be a function x -> scores, got {type(scores_fn)}.")
    x = _validate.float_array("x", x, ndim=1)
    o = scores_fn(x)
    if jnp.ndim(o) != 1:
        raise ValueError(
            f"`scores_fn(x)` must return a vector of class scores, got shape {o.shape}."
        )
    m = jnp.argmax(o)
    return jnp.abs(jax.jacrev(scores_fn)(x)[m]), m


# ------------------------------------------------------------------------------ helpers


def _loss_index(loss: str, names: tuple[str, ...]) -> Array:
    _validate.lookup("loss", dict.fromkeys(names), loss)
    return jnp.asarray(names.index(loss), jnp.int32)


def _start(name: str, w0: ArrayLike | None, shape: tuple[int, ...], dtype) -> Array:
    if w0 is None:
        return jnp.zeros(shape, dtype)
    w0 = _validate.float_array(name, w0, ndim=len(shape))
    if w0.shape != shape:
        raise ValueError(f"`{name}` must have shape {shape}, got {tuple(w0.shape)}.")
    _validate.finite(name, w0)
    return w0.astype(dtype)


def _int_labels(labels: ArrayLike, n: int) -> Array:
    labels = jnp.asarray(labels)
    if not jnp.issubdtype(labels.dtype, jnp.integer):
        raise TypeError(f"`labels` must be integer class indices, got dtype {labels.dtype}.")
    if labels.shape != (n,):
        raise ValueError(f"`labels` must have shape ({n},) (one per row of X), got {labels.shape}.")
    if not _validate.is_traced(labels) and bool(jnp.any(labels < 0)):
        raise ValueError("`labels` must be class indices 0..k-1, found a negative one.")
    return labels.astype(jnp.int32)


def _weights_and_inputs(W: ArrayLike, X: ArrayLike) -> tuple[Array, Array]:
    W = _validate.float_array("W", W, ndim=2)
    X = _validate.float_array("X", X, ndim=2)
    if W.shape[1] != X.shape[1]:
        raise ValueError(
            f"`W` must have one column per feature: X has {X.shape[1]} columns, "
            f"W has shape {tuple(W.shape)}."
        )
    return W, X


def _multiclass_inputs(W: ArrayLike, X: ArrayLike, labels: ArrayLike) -> tuple[Array, Array, Array]:
    W, X = _weights_and_inputs(W, X)
    _validate.nonempty("X", X, what="example (row)")  # a mean over no examples is NaN
    labels = _int_labels(labels, X.shape[0])
    if not _validate.is_traced(labels) and int(jnp.max(labels)) >= W.shape[0]:
        raise ValueError(
            f"`labels` must lie in 0..{W.shape[0] - 1} for W with {W.shape[0]} rows (classes)."
        )
    return W, X, labels
