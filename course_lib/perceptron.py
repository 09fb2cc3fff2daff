r"""The perceptron, and SGD on any margin loss, as jitted pure functions (Aggarwal §1.2.1).

The perceptron predicts $\hat y = \operatorname{sign}(w\cdot x)$ (a bias is a constant feature:
see :func:`course_lib.data.add_bias`). It visits the examples one at a time and, whenever
$y\,(w\cdot x) \le 0$ (a mistake, or a point on the boundary), updates

$$ w \leftarrow w + \alpha\, y\, x. $$

On a misclassified point this is the book's $w \leftarrow w + \alpha (y - \hat y) x$ (Eq 1.4)
with the factor $y - \hat y = 2y$ absorbed into $\alpha$ (Eq 1.10). On a point *on* the boundary
the two differ: Eq 1.4 with $\operatorname{sign}(0) = 0$ adds only $\alpha\,y\,x$ there, half
of its usual step, so the two rules follow different paths. The rule here is stochastic gradient
descent on the perceptron criterion $\max\{-y\,w\cdot x, 0\}$ (Eq 1.8). :func:`fit_sgd` runs
the same loop for any loss of :mod:`course_lib.losses`:
$w \leftarrow w - \alpha\, L'(y\,w\cdot x)\, y\, x$.

:func:`max_margin` finds the data's best margin $\gamma^\star$, the one that makes the
convergence bound $R^2/\gamma^2$ as tight as it can be.

**Structure.** One update is :func:`step`; one pass over the data is a ``lax.scan`` of steps;
:func:`fit` scans over epochs and is jitted once per (data shape, number of epochs, loss). The
learning rate is a traced argument, so changing it never recompiles.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from scipy.optimize import nnls

from course_lib import _validate, data, losses
from course_lib._types import Array, ArrayLike, PRNGKey


class History(NamedTuple):
    """What happened during training, step by step.

    Attributes:
        mistakes: ``(epochs,)`` int, examples with $y\\,w\\cdot x \\le 0$ when visited, per epoch.
        updated: ``(epochs, n)`` bool, whether the step changed $w$.
        weights: ``(epochs, n, d)``, the weights *after* each step (``None`` when the fit was
            asked not to keep them: large vmapped experiments need only the counts).
        order: ``(epochs, n)`` int, the index of the example visited at each step.
    """

    mistakes: Array
    updated: Array
    weights: Array | None
    order: Array


class FitResult(NamedTuple):
    """The final weights ``w: (d,)`` and the :class:`History`."""

    w: Array
    history: History

    @property
    def num_updates(self) -> Array:
        """Total number of steps that changed the weights."""
        return jnp.sum(self.history.updated)

    @property
    def converged(self) -> Array:
        """True when the last epoch made no mistake (so every later epoch would make none)."""
        return self.history.mistakes[-1] == 0


def predict(w: ArrayLike, X: ArrayLike) -> Array:
    r"""$\operatorname{sign}(X w)$, shape ``(n,)``; a point on the boundary gets 0 (never right)."""
    w, X = _weights_inputs(w, X)
    return jnp.sign(X @ w)


def accuracy(w: ArrayLike, X: ArrayLike, y: ArrayLike) -> Array:
    """Fraction of examples with ``predict(w, X) == y``."""
    w, X = _weights_inputs(w, X)
    _validate.nonempty("X", X, what="example (row)")  # the mean of no examples is NaN
    y = _validate.labels_pm1("y", y, n=X.shape[0])
    return jnp.mean(jnp.sign(X @ w) == y)


def step(w: Array, x: Array, y: Array, lr: Array, loss: str = "perceptron") -> tuple[Array, Array]:
    r"""One stochastic update on one example: $w - \alpha L'(y\,w\cdot x)\,y\,x$.

    Args:
        w: weights, shape ``(d,)``.
        x: one example, shape ``(d,)``.
        y: its label, $\pm 1$, shape ``()``.
        lr: the learning rate $\alpha$, shape ``()``.
        loss: a key of :data:`course_lib.losses.MARGIN_LOSSES`.

    Returns:
        ``(new_w, mistake)`` where ``mistake`` is $y\,w\cdot x \le 0$ before the update.
    """
    z = y * jnp.dot(w, x)
    return w - lr * losses.get(loss).grad(z) * y * x, z <= 0


@functools.partial(jax.jit, static_argnames="loss")
def _epoch(w, X, y, lr, order, loss):
    def body(w, i):
        new_w, mistake = step(w, X[i], y[i], lr, loss)
        return new_w, (mistake, jnp.any(new_w != w), new_w)

    return lax.scan(body, w, order)


@functools.partial(jax.jit, static_argnames=("loss", "keep_weights"))
def _fit(w0, X, y, lr, orders, loss, keep_weights=True):
    def one_epoch(w, order):
        w, (mistake, updated, weights) = _epoch(w, X, y, lr, order, loss)
        return w, (jnp.sum(mistake), updated, weights if keep_weights else None)

    w, (mistakes, updated, weights) = lax.scan(one_epoch, w0, orders)
    return FitResult(w, History(mistakes, updated, weights, orders))


def epoch(
    w: ArrayLike, X: ArrayLike, y: ArrayLike, *, lr: float = 1.0, loss: str = "perceptron"
) -> tuple[Array, Array]:
    """One pass over ``X`` in row order; returns ``(w, number_of_mistakes)``.

    Args:
        w: starting weights, shape ``(d,)``.
        X: inputs, shape ``(n, d)``.
        y: labels in $\\{-1, +1\\}$, shape ``(n,)``.
        lr: learning rate $\\alpha > 0$.
        loss: a key of :data:`course_lib.losses.MARGIN_LOSSES`.
    """
    X, y = _training_inputs(X, y, lr, loss)
    w, _ = _weights_inputs(w, X)
    _validate.finite("w", w)
    order = jnp.arange(X.shape[0])
    w, (mistake, _, _) = _epoch(w, X, y, jnp.asarray(lr, X.dtype), order, loss)
    return w, jnp.sum(mistake)


def fit_sgd(
    X: ArrayLike,
    y: ArrayLike,
    *,
    loss: str,
    epochs: int,
    lr: float = 1.0,
    w0: ArrayLike | None = None,
    shuffle_key: PRNGKey | None = None,
    keep_weights: bool = True,
) -> FitResult:
    r"""Stochastic gradient descent on a margin loss, one example at a time.

    Args:
        X: inputs, shape ``(n, d)`` (append a column of ones for a bias).
        y: labels in $\{-1, +1\}$, shape ``(n,)``.
        loss: a key of :data:`course_lib.losses.MARGIN_LOSSES` (``"perceptron"``, ``"hinge"``, …).
        epochs: number of passes over the data (a Python int: it sets the scan length).
        lr: learning rate $\alpha > 0$ (traced: changing it does not recompile).
        w0: starting weights, shape ``(d,)``; zeros by default.
        shuffle_key: if given, each epoch visits the examples in a fresh random order drawn
            from this key; if ``None`` the order is ``0, 1, …, n-1`` every epoch.
        keep_weights: record the weights after every step in ``history.weights``
            (``epochs * n * d`` numbers); ``False`` records ``None`` instead.

    Returns:
        :class:`FitResult` with the final ``w: (d,)`` and the full :class:`History`.
    """
    X, y = _training_inputs(X, y, lr, loss)
    epochs = _validate.positive_int("epochs", epochs)
    n, d = X.shape
    if w0 is None:
        w0 = jnp.zeros(d, X.dtype)
    else:
        w0, _ = _weights_inputs(w0, X, name="w0")
        _validate.finite("w0", w0)
    if shuffle_key is None:
        orders = jnp.broadcast_to(jnp.arange(n), (epochs, n))
    else:
        _validate.prng_key("shuffle_key", shuffle_key)
        orders = data.epoch_orders(key=shuffle_key, n=n, epochs=epochs)
    if not isinstance(keep_weights, bool):
        raise TypeError(f"`keep_weights` must be True or False, got {keep_weights!r}.")
    return _fit(w0.astype(X.dtype), X, y, jnp.asarray(lr, X.dtype), orders, loss, keep_weights)


def fit(
    X: ArrayLike,
    y: ArrayLike,
    *,
    epochs: int,
    lr: float = 1.0,
    w0: ArrayLike | None = None,
    shuffle_key: PRNGKey | None = None,
    keep_weights: bool = True,
) -> FitResult:
    r"""Train a perceptron: :func:`fit_sgd` with the perceptron criterion.

    Example:
        >>> from course_lib import data, perceptron
        >>> import jax
        >>> ds = data.linearly_separable(key=jax.random.key(0), n=50, margin=0.2)
        >>> res = perceptron.fit(ds.X, ds.y, epochs=20)
        >>> bool(res.converged), bool(res.num_updates <= ds.mistake_bound)
        (True, True)
    """
    return fit_sgd(
        X,
        y,
        loss="perceptron",
        epochs=epochs,
        lr=lr,
        w0=w0,
        shuffle_key=shuffle_key,
        keep_weights=keep_weights,
    )


def update_path(result: FitResult, w0: ArrayLike | None = None) -> np.ndarray:
    r"""The weights $w_0, w_1, \dots, w_t$ after each *update* (steps that changed nothing dropped).

    Returns:
        a NumPy array of shape ``(num_updates + 1, d)``; the first row is ``w0`` (zeros by
        default). NumPy, because its length depends on the data: a JAX array of every new
        length would cost a compilation, and a widget calls this on every slider move.
    """
    h = result.history
    if h.weights is None:
        raise ValueError("this fit did not keep its weights; refit with keep_weights=True.")
    weights = np.asarray(h.weights)
    d = weights.shape[-1]
    w0 = np.zeros(d, weights.dtype) if w0 is None else np.asarray(w0, weights.dtype)
    flat_w = weights.reshape(-1, d)
    flat_u = np.asarray(h.updated).reshape(-1)
    return np.concatenate([w0[None], flat_w[flat_u]], axis=0)


class MaxMargin(NamedTuple):
    r"""Result of :func:`max_margin` (float64 NumPy).

    Attributes:
        w: the unit normal $w^\star$ of the widest separating hyperplane through 0, ``(d,)``.
        margin: its margin $\min_i y_i\,w^\star\cdot x_i$, a lower bound on $\gamma^\star$.
        upper: the norm of a point of the convex hull of the $y_i x_i$, an upper bound on
            $\gamma^\star$. ``upper - margin`` certifies the solution (about ``1e-12`` or less).
    """

    w: np.ndarray
    margin: float
    upper: float


def max_margin(X: ArrayLike, y: ArrayLike) -> MaxMargin:
    r"""The largest margin $\gamma^\star$ with which a hyperplane through 0 separates the data.

    $$ \gamma^\star = \max_{\|w\| = 1}\ \min_i\ y_i\,(w\cdot x_i), $$

    the margin of the hard-margin SVM without a bias. Novikoff's bound $R^2/\gamma^2$ holds for
    the margin of *any* unit separator, so $\gamma^\star$ gives the tightest one. We solve
    $\min \|w\|^2$ subject to $y_i\,(w\cdot x_i) \ge 1$ exactly, in float64, by the
    Lawson–Hanson reduction of this least-distance problem to non-negative least squares
    (*Solving Least Squares Problems*, 1974, ch. 23): with $Z$ the rows $y_i x_i$, solve
    $\min_{u \ge 0}\|[Z^T; \mathbf 1^T]\,u - e_{d+1}\|$; the residual $r$ gives
    $w = -r_{1..d}/r_{d+1}$. Then $\gamma^\star = 1/\|w\|$, and $Z^Tu/\sum u$ is the point of
    the convex hull of the $y_i x_i$ closest to 0, whose norm is also $\gamma^\star$ (duality):
    both are returned, as a certificate.

    Not jitted (an active-set solver in SciPy): it is a measuring tool for small data, not a
    training step.

    Args:
        X: inputs, shape ``(n, d)`` (append a column of ones for a bias).
        y: labels in $\{-1, +1\}$, shape ``(n,)``.

    Returns:
        :class:`MaxMargin` ``(w: (d,), margin, upper)``.

    Raises:
        ValueError: if no hyperplane through 0 separates the data with a positive margin.
    """
    X = _validate.float_array("X", X, ndim=2)
    _validate.nonempty("X", X, what="example (row)")
    y = _validate.labels_pm1("y", y, n=X.shape[0])
    _validate.finite("X", X)
    Z = np.asarray(y, np.float64)[:, None] * np.asarray(X, np.float64)  # (n, d)
    n, d = Z.shape
    E = np.vstack([Z.T, np.ones((1, n))])  # (d + 1, n)
    f = np.zeros(d + 1)
    f[-1] = 1.0
    u, _ = nnls(E, f)
    r = E @ u - f
    if r[-1] > -1e-12 or not np.all(np.isfinite(r)):  # residual 0: the hull contains 0
        raise ValueError(
            "`X`, `y` are not linearly separable by a hyperplane through 0 (append a bias "
            "column with data.add_bias if the separator needs an offset)."
        )
    w = -r[:d] / r[-1]
    w = w / np.linalg.norm(w)
    margin = float(np.min(Z @ w))
    if margin <= 0.0:
        raise ValueError("`X`, `y` are not linearly separable by a hyperplane through 0.")
    upper = float(np.linalg.norm(Z.T @ u / np.sum(u)))
    return MaxMargin(w, margin, upper)


def _training_inputs(X: ArrayLike, y: ArrayLike, lr: Any, loss: str) -> tuple[Array, Array]:
    """Validate what every training function takes: data, labels, learning rate, loss name."""
    X = _validate.float_array("X", X, ndim=2)
    _validate.nonempty("X", X, what="example (row)")
    y = _validate.labels_pm1("y", y, n=X.shape[0])
    _validate.finite("X", X)
    _validate.positive("lr", lr)  # finite too: lr=inf turns every update into NaN
    losses.get(loss)
    return X, y


def _weights_inputs(w: ArrayLike, X: ArrayLike, name: str = "w") -> tuple[Array, Array]:
    X = _validate.float_array("X", X, ndim=2)
    w = _validate.float_array(name, w, ndim=1)
    if w.shape[0] != X.shape[1]:
        raise ValueError(
            f"`{name}` must have one weight per feature: X has {X.shape[1]} columns, "
            f"{name} has shape {tuple(w.shape)}."
        )
    return w, X
