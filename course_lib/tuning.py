r"""Hyperparameter search: grid against random trials, all trained at once (Aggarwal §3.3.1;
Goodfellow et al. §11.4.2–11.4.3).

A *trial* is one setting of the hyperparameters, trained and scored on held-out data. Here the
two hyperparameters are searched on a log scale, $u = \log_{10}\alpha$ (learning rate) and
$v = \log_{10}\lambda$ (L2 weight decay), inside a box $[u_0, u_1]\times[v_0, v_1]$:

- **grid search** takes $m$ evenly spaced values per axis, $m^2$ trials, so it tries only
  $m = \sqrt{\text{budget}}$ distinct learning rates;
- **random search** draws every trial's $(u, v)$ uniformly in the box, so with probability 1 its
  budget-many trials try budget-many distinct learning rates. When only one hyperparameter
  matters (Bergstra & Bengio 2012) that is the argument for random search.

:func:`train_trials` trains one small MLP per trial (full-batch gradient descent on
$\mathcal L + \tfrac{\lambda}{2}\sum W^2$, the same initial weights for every trial) with
``jax.vmap`` over the trials inside one jitted ``lax.scan``; the hyperparameters are traced, so
a new set of trials never recompiles.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp

from course_lib import _validate, mlp
from course_lib._types import Array, ArrayLike, PRNGKey


class Box(NamedTuple):
    """The search box in log10 units: learning rate in ``lr``, weight decay in ``wd``."""

    lr: tuple[float, float]
    wd: tuple[float, float]


def _check_box(box: Box) -> Box:
    if not isinstance(box, tuple) or len(box) != 2:
        raise TypeError(f"`box` must be a Box((lr_lo, lr_hi), (wd_lo, wd_hi)), got {box!r}.")
    for name, (lo, hi) in zip(("box.lr", "box.wd"), box, strict=True):
        lo, hi = _validate.real_scalar(f"{name}[0]", lo), _validate.real_scalar(f"{name}[1]", hi)
        if not lo < hi:
            raise ValueError(f"`{name}` must be an interval (lo < hi), got ({lo}, {hi}).")
    return Box(tuple(map(float, box[0])), tuple(map(float, box[1])))


def grid_trials(box: Box, budget: int) -> Array:
    r"""The $m\times m$ grid of ``budget`` $= m^2$ trials, shape ``(budget, 2)`` (log10 units).

    The $m$ values per axis are evenly spaced and include both ends of the box; rows run over
    the learning rate fastest.
    """
    box = _check_box(box)
    budget = _validate.positive_int("budget", budget)
    m = round(budget**0.5)
    if m * m != budget or m < 2:
        raise ValueError(f"`budget` must be a square >= 4 (4, 9, 16, ...), got {budget}.")
    u = jnp.linspace(*box.lr, m)
    v = jnp.linspace(*box.wd, m)
    uu, vv = jnp.meshgrid(u, v)  # (m, m): the learning rate varies along a row
    return jnp.stack([uu.ravel(), vv.ravel()], axis=1)


def random_trials(box: Box, budget: int, *, key: PRNGKey) -> Array:
    r"""``budget`` trials drawn uniformly in the box (log10 units), shape ``(budget, 2)``."""
    box = _check_box(box)
    _validate.prng_key("key", key)
    budget = _validate.positive_int("budget", budget)
    lo = jnp.asarray([box.lr[0], box.wd[0]])
    hi = jnp.asarray([box.lr[1], box.wd[1]])
    return lo[None] + (hi - lo)[None] * jax.random.uniform(key, (budget, 2), lo.dtype)


def distinct_values(trials: ArrayLike, axis: int = 0) -> int:
    """How many different values column ``axis`` of ``trials (n, 2)`` takes."""
    t = _validate.float_array("trials", trials, ndim=2)
    return int(jnp.unique(t[:, axis]).size)


def _penalized_loss(params, X, labels, wd, activation):
    l2 = sum(jnp.sum(layer.W**2) for layer in params)
    return mlp.loss(params, X, labels, activation) + 0.5 * wd * l2


@functools.partial(jax.jit, static_argnames=("steps", "activation"))
def _train_trials(params, X, labels, Xv, yv, log_lr, log_wd, *, steps, activation):
    grad = jax.grad(_penalized_loss)

    def one(lr, wd):
        def body(p, _):
            g = grad(p, X, labels, wd, activation)
            return jax.tree.map(lambda w, gw: w - lr * gw, p, g), None

        p, _ = jax.lax.scan(body, params, None, length=steps)
        logits = mlp.forward_cache(p, Xv, activation).pre[-1]
        ok = jnp.argmax(logits, axis=1) == yv
        # a diverged run (NaN logits) scores as chance would not: count it as 0 correct
        return jnp.where(jnp.all(jnp.isfinite(logits)), jnp.mean(ok), 0.0)

    return jax.vmap(one)(10.0**log_lr, 10.0**log_wd)


def train_trials(
    params: tuple[mlp.Dense, ...],
    X: ArrayLike,
    labels: ArrayLike,
    X_val: ArrayLike,
    y_val: ArrayLike,
    trials: ArrayLike,
    *,
    steps: int,
    activation: str = "relu",
) -> Array:
    r"""Validation accuracy of every trial, shape ``(n_trials,)``.

    Each trial ``(u, v)`` of ``trials (n_trials, 2)`` trains ``params`` for ``steps`` full-batch
    gradient steps $W \leftarrow W - 10^u\,(\nabla\mathcal L + 10^v W)$ on ``X (n, d)``,
    ``labels (n,)``, then scores on ``X_val``, ``y_val``. A run that diverges scores 0.
    """
    X = mlp._check_inputs(params, X)
    X_val = mlp._check_inputs(params, X_val)
    k = params[-1].W.shape[1]
    labels = _validate.index_array("labels", labels, size=k, ndim=1)
    y_val = _validate.index_array("y_val", y_val, size=k, ndim=1)
    _validate.same_rows("X", X, "labels", labels)
    _validate.same_rows("X_val", X_val, "y_val", y_val)
    trials = _validate.float_array("trials", trials, ndim=2)
    if trials.shape[1] != 2:
        raise ValueError(
            f"`trials` must have 2 columns (log10 learning rate, log10 weight decay), got shape "
            f"{tuple(trials.shape)}."
        )
    steps = _validate.positive_int("steps", steps)
    trials = trials.astype(X.dtype)
    return _train_trials(params, X, labels, X_val, y_val, trials[:, 0], trials[:, 1],
                         steps=steps, activation=activation)  # fmt: skip


def train_trials_cache_size() -> int:
    """How many compiled versions of the trial trainer exist (for no-recompile tests)."""
    return _train_trials._cache_size()
