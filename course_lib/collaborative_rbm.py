r"""A restricted Boltzmann machine with softmax visible units for ratings (Aggarwal §6.5.2).

Every user gets an RBM of their own, but all of them share one set of weights: user $u$'s RBM
has a visible *group* only for the items $u$ rated, and the group of item $i$ is a one-hot
vector $v_i = (v_i^{(1)}, \dots, v_i^{(K)})$ over the $K = 5$ rating values. (The book's
§6.5.2 says once that the *hidden* units are softmax; its equations make the *visible* units
softmax and keep the hidden ones binary, which is what this module does: erratum E9.)

Shapes: ``n`` users, ``d`` items, ``K`` rating values, ``m`` hidden units.

* ratings one-hot ``V: (n, d, K)``, observed-mask ``mask: (n, d)`` (1 where rated);
* weights ``W: (d, K, m)`` ($w_{ij}^{(k)}$), visible biases ``b_v: (d, K)``, hidden ``b_h: (m,)``.

Equations:

.. math::
    P(h_j = 1 \mid v) = \sigma\Big(b_j + \sum_{i\ \text{rated}} \sum_k v_i^{(k)} w_{ij}^{(k)}\Big)
    \qquad (6.21)

    P(v_i^{(k)} = 1 \mid h) = \frac{\exp(b_i^{(k)} + \sum_j h_j w_{ij}^{(k)})}
                                   {\sum_{r=1}^{K} \exp(b_i^{(r)} + \sum_j h_j w_{ij}^{(r)})}
    \qquad (6.22)

and contrastive divergence (Eq 6.23) updates $w_{ij}^{(k)}$ only for items the user rated.
Prediction puts the hidden *probabilities* $\hat p_j$ of Eq 6.21 in place of $h_j$ in
Eq 6.22 and takes the expected rating: a deterministic network (logistic hidden layer,
softmax outputs) that backpropagation can fine-tune (Exercise 6.1).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp

from course_lib import _validate, optim
from course_lib._types import Array, PRNGKey


class CFParams(NamedTuple):
    """Shared parameters of the per-user RBMs.

    Attributes:
        W: ``(d, K, m)`` weights $w_{ij}^{(k)}$ (item i, rating k, hidden j).
        b_v: ``(d, K)`` visible biases $b_i^{(k)}$.
        b_h: ``(m,)`` hidden biases $b_j$.
    """

    W: Array
    b_v: Array
    b_h: Array


# ------------------------------------------------------------------------------ validation


def _check_params(params: CFParams) -> CFParams:
    if not isinstance(params, CFParams):
        raise TypeError(f"`params` must be a CFParams, got {type(params).__name__}.")
    W = _validate.float_array("params.W", params.W, ndim=3)
    b_v = _validate.float_array("params.b_v", params.b_v, ndim=2)
    b_h = _validate.float_array("params.b_h", params.b_h, ndim=1)
    d, K, m = W.shape
    if b_v.shape != (d, K) or b_h.shape != (m,):
        raise ValueError(
            f"`params` shapes do not fit: W {tuple(W.shape)} needs b_v ({d}, {K}) and b_h "
            f"({m},), got b_v {tuple(b_v.shape)} and b_h {tuple(b_h.shape)}."
        )
    return CFParams(W, b_v, b_h)


def _check_V(params: CFParams, V, mask) -> tuple[Array, Array]:
    d, K, _ = params.W.shape
    V = _validate.float_array("V", V, ndim=(2, 3))
    mask = _validate.float_array("mask", mask, ndim=(1, 2))
    if V.shape[-2:] != (d, K):
        raise ValueError(
            f"`V` must be one-hot ratings of shape (n, {d}, {K}) (users, items, rating values), "
            f"got {tuple(V.shape)}."
        )
    if mask.shape != V.shape[:-1]:
        raise ValueError(
            f"`mask` must have shape {tuple(V.shape[:-1])} (one flag per user and item), got "
            f"{tuple(mask.shape)}."
        )
    return V, mask


# ------------------------------------------------------------------------------ data


def one_hot_ratings(R, mask, *, n_values: int = 5) -> Array:
    r"""Ratings ``R: (n, d)`` as one-hot groups ``(n, d, K)``; unrated items get all zeros.

    Real ratings are rounded and clipped to ``1..n_values`` first (a planted real-valued
    matrix becomes star ratings). ``mask: (n, d)`` is 1 where the user rated the item.
    """
    n_values = _validate.positive_int("n_values", n_values)
    R = _validate.finite("R", _validate.float_array("R", R, ndim=2))
    mask = _validate.float_array("mask", mask, ndim=2)
    if mask.shape != R.shape:
        raise ValueError(f"`mask` must have the shape of `R` {tuple(R.shape)}, got {mask.shape}.")
    return _one_hot(R, mask, n_values=n_values)


@functools.partial(jax.jit, static_argnames=("n_values",))
def _one_hot(R, mask, *, n_values):
    stars = jnp.clip(jnp.round(R), 1, n_values).astype(jnp.int32)
    return jax.nn.one_hot(stars - 1, n_values, dtype=R.dtype) * mask[..., None]


def stars(R) -> Array:
    """Real ratings rounded and clipped to the star values 1..5 (the targets of the RMSE)."""
    R = _validate.float_array("R", R)
    return _stars(R)


@jax.jit
def _stars(R):
    return jnp.clip(jnp.round(R), 1.0, 5.0)


def connection_counts(mask, n_hidden: int, n_values: int = 5) -> Array:
    r"""How many weights each user's RBM has: (rated items) x m x K (Fig 6.5).

    ``mask: (n, d)`` or ``(d,)``. The book's Sayani rated 2 films: $2 \cdot 2 \cdot 5 = 20$
    connections with $m = 2$; Bob rated 4: $4 \cdot 2 \cdot 5 = 40$.
    """
    mask = _validate.float_array("mask", mask, ndim=(1, 2))
    n_hidden = _validate.positive_int("n_hidden", n_hidden)
    n_values = _validate.positive_int("n_values", n_values)
    return (jnp.sum(mask, axis=-1) * n_hidden * n_values).astype(jnp.int32)


def init_cf_rbm(
    *, key: PRNGKey, n_items: int, n_hidden: int, n_values: int = 5, V=None, mask=None,
    scale: float = 0.01,
) -> CFParams:  # fmt: skip
    r"""Weights $\sim N(0, \text{scale}^2)$, hidden biases 0; visible biases the log-frequency
    of each rating value of each item when ``V``/``mask`` are given (the softmax analogue of
    the $\log(p_i/(1-p_i))$ rule of §6.4.3), else 0."""
    key = _validate.prng_key("key", key)
    d = _validate.positive_int("n_items", n_items)
    m = _validate.positive_int("n_hidden", n_hidden)
    K = _validate.positive_int("n_values", n_values)
    _validate.positive("scale", scale, allow_zero=True)
    W = scale * jax.random.normal(key, (d, K, m))
    b_v = jnp.zeros((d, K), W.dtype)
    if V is not None:
        V, mask = _check_V(CFParams(W, b_v, jnp.zeros(m)), V, mask)
        b_v = _log_frequencies(V, mask).astype(W.dtype)
    return CFParams(W, b_v, jnp.zeros(m, W.dtype))


@jax.jit
def _log_frequencies(V, mask):
    counts = jnp.sum(V * mask[..., None], axis=0) + 1.0  # (d, K), add-one smoothing
    return jnp.log(counts / jnp.sum(counts, axis=1, keepdims=True))


# ------------------------------------------------------------------------------ conditionals


def _lift(b, x):
    """``b`` reshaped with leading 1s to the rank of ``x`` (explicit broadcasting)."""
    return b.reshape((1,) * (x.ndim - b.ndim) + b.shape)


def _hidden_probs(params, V, mask):
    # (n, d, K) x (d, K, m) -> (n, m); unrated items have all-zero groups and drop out
    act = jnp.einsum("...ik,ikj->...j", V * mask[..., None], params.W)
    return jax.nn.sigmoid(act + _lift(params.b_h, act))


def _visible_probs(params, h):
    # (n, m) x (d, K, m) -> (n, d, K), softmax over the K rating values of each item
    act = jnp.einsum("...j,ikj->...ik", h, params.W)
    return jax.nn.softmax(act + _lift(params.b_v, act), axis=-1)


def cf_hidden_probs(params: CFParams, V, mask) -> Array:
    r"""Eq 6.21: $P(h_j=1\mid v) = \sigma(b_j + \sum_{i,k} v_i^{(k)} w_{ij}^{(k)})$, rated items.

    ``V: (n, d, K)`` or ``(d, K)``, ``mask`` of shape ``V.shape[:-1]``; returns ``(n, m)``.
    """
    params = _check_params(params)
    V, mask = _check_V(params, V, mask)
    return _hidden_probs(params, V, mask)


def softmax_visible_probs(params: CFParams, h) -> Array:
    r"""Eq 6.22: the probability of each rating value of every item given hidden states ``h``.

    ``h: (n, m)`` or ``(m,)`` (binary states or probabilities); returns ``(n, d, K)`` whose
    last axis sums to 1.
    """
    params = _check_params(params)
    m = params.W.shape[2]
    h = _validate.float_array("h", h, ndim=(1, 2))
    if h.shape[-1] != m:
        raise ValueError(f"`h` must have {m} hidden units in its last axis, got {tuple(h.shape)}.")
    return _visible_probs(params, h)


@jax.jit
def _expected_rating(params, V, mask):
    probs = _visible_probs(params, _hidden_probs(params, V, mask))
    values = jnp.arange(1, probs.shape[-1] + 1, dtype=probs.dtype)
    return probs @ values


def cf_predict(params: CFParams, V, mask) -> Array:
    r"""The expected rating of every item for every user (§6.5.2, Exercise 6.1).

    $\hat p = \sigma(\cdot)$ from Eq 6.21 on the user's rated items, put in place of $h$ in
    Eq 6.22, then $\hat r_i = \sum_k k\, P(v_i^{(k)} = 1 \mid \hat p)$. Returns ``(n, d)`` in
    $[1, K]$ (the rated items included).
    """
    params = _check_params(params)
    V, mask = _check_V(params, V, mask)
    return _expected_rating(params, V, mask)


def rmse(pred, R, mask) -> Array:
    r"""$\sqrt{\sum \text{mask}\,(\hat r - r)^2 / \sum \text{mask}}$: RMSE where mask is 1."""
    pred = _validate.float_array("pred", pred)
    R = _validate.float_array("R", R)
    mask = _validate.float_array("mask", mask)
    if not (pred.shape == R.shape == mask.shape):
        raise ValueError(
            f"`pred`, `R` and `mask` must have one shape, got {pred.shape}, {R.shape}, "
            f"{mask.shape}."
        )
    return _rmse(pred, R, mask)


@jax.jit
def _rmse(pred, R, mask):
    return jnp.sqrt(jnp.sum(mask * (pred - R) ** 2) / jnp.maximum(jnp.sum(mask), 1.0))


def item_mean_baseline(R, mask) -> Array:
    """Each item's mean observed rating (the global mean for an item nobody rated): ``(d,)``."""
    R = _validate.float_array("R", R, ndim=2)
    mask = _validate.float_array("mask", mask, ndim=2)
    return _item_means(R, mask)


@jax.jit
def _item_means(R, mask):
    total = jnp.sum(mask)
    glob = jnp.sum(R * mask) / jnp.maximum(total, 1.0)
    count = jnp.sum(mask, axis=0)
    return jnp.where(count > 0, jnp.sum(R * mask, axis=0) / jnp.maximum(count, 1.0), glob)


# ------------------------------------------------------------------------------ training


def _cd_gradient(params, V, mask, key):
    n, d, K = V.shape
    m = params.b_h.shape[0]
    # one uniform draw per step for both phases: each random call inlines its own generator,
    # and fewer of them compile faster
    u = jax.random.uniform(key, (n, m + d), dtype=V.dtype)
    Vm = V * mask[..., None]
    ph = _hidden_probs(params, V, mask)
    h = (u[:, :m] < ph).astype(ph.dtype)
    pv = _visible_probs(params, h)  # (n, d, K)
    # negative phase: a sampled rating for each *rated* item only (the user's own RBM), drawn
    # by inverting the cumulative distribution over the K values
    below = jnp.cumsum(pv, axis=-1) < u[:, m:, None]
    idx = jnp.minimum(jnp.sum(below, axis=-1), K - 1)
    v_neg = jax.nn.one_hot(idx, K, dtype=V.dtype) * mask[..., None]
    ph_neg = _hidden_probs(params, v_neg, mask)
    dW = (jnp.einsum("nik,nj->ikj", Vm, ph) - jnp.einsum("nik,nj->ikj", v_neg, ph_neg)) / n
    db_v = jnp.sum(Vm - v_neg, axis=0) / n
    db_h = jnp.mean(ph - ph_neg, axis=0)
    return CFParams(dW, db_v, db_h)


def cf_cd_gradient(params: CFParams, V, mask, *, key: PRNGKey) -> CFParams:
    r"""The CD-1 ascent direction of Eq 6.23, averaged over the users in ``V``.

    $\Delta w_{ij}^{(k)} = \langle v_i^{(k)} h_j\rangle_{pos} - \langle v_i^{(k)} h_j\rangle_{neg}$:
    the positive phase uses $P(h\mid v)$ of the observed ratings; the negative phase samples
    $h$, then a rating for each item the user *rated* (Eq 6.22), then $P(h \mid v_{neg})$.
    Items a user did not rate contribute nothing to any update (their groups are zero in both
    phases). Returns a :class:`CFParams` of the same shapes (add ``lr`` times it).
    """
    params = _check_params(params)
    key = _validate.prng_key("key", key)
    V, mask = _check_V(params, V, mask)
    if V.ndim != 3:
        raise ValueError(f"`V` must be a batch (n, d, K), got shape {tuple(V.shape)}.")
    return _cd_gradient(params, V, mask, key)


@functools.partial(jax.jit, static_argnames=("steps", "batch_size"))
def _train(params, V, mask, key, lr, *, steps, batch_size):
    n = V.shape[0]
    k_order, k_steps = jax.random.split(key)
    # shuffled passes over the users, cut into minibatches (drawn once, outside the loop)
    epochs = -(-steps * batch_size // n)
    order = jax.vmap(lambda k: jax.random.permutation(k, n))(jax.random.split(k_order, epochs))
    rows = order.reshape(-1)[: steps * batch_size].reshape(steps, batch_size)

    def body(p, inputs):
        i, r = inputs
        g = _cd_gradient(p, V[r], mask[r], jax.random.fold_in(k_steps, i))
        return jax.tree.map(lambda a, b: a + lr * b, p, g), None

    params, _ = jax.lax.scan(body, params, (jnp.arange(steps), rows))
    return params


def train_cf_rbm(
    params: CFParams, V, mask, *, key: PRNGKey, steps: int, lr: float = 0.05,
    batch_size: int = 20,
) -> CFParams:  # fmt: skip
    """``steps`` CD-1 minibatch updates (Eq 6.23) over shuffled passes through the users, in one
    jitted ``lax.scan`` (``lr`` traced: no recompilation when it changes)."""
    params = _check_params(params)
    key = _validate.prng_key("key", key)
    V, mask = _check_V(params, V, mask)
    steps = _validate.positive_int("steps", steps)
    batch_size = _validate.positive_int("batch_size", batch_size)
    if V.ndim != 3 or batch_size > V.shape[0]:
        raise ValueError(f"`batch_size` ({batch_size}) must not exceed the users in `V` {V.shape}.")
    _validate.positive("lr", lr)
    return _train(params, V, mask, key, jnp.asarray(lr, params.W.dtype), steps=steps,
                  batch_size=batch_size)  # fmt: skip


# ------------------------------------------------------------------------------ Exercise 6.1


def masked_cross_entropy(params: CFParams, V, mask) -> Array:
    r"""Loss of the deterministic network on the rated items:
    $-\frac{1}{|\Omega|}\sum_{(u,i)\in\Omega} \log P(v_{ui}^{(r_{ui})} = 1 \mid \hat p_u)$."""
    probs = _visible_probs(params, _hidden_probs(params, V, mask))
    logp = jnp.sum(V * jnp.log(probs + 1e-30), axis=-1)
    return -jnp.sum(logp * mask) / jnp.maximum(jnp.sum(mask), 1.0)


@functools.partial(jax.jit, static_argnames=("steps",))
def _finetune(params, V, mask, lr, *, steps):
    return optim.minimize(masked_cross_entropy, optim.adam(lr), params, steps, V, mask)


def finetune_cf(params: CFParams, V, mask, *, steps: int, lr: float = 0.01):
    """Exercise 6.1: backpropagation through the deterministic network Eq 6.21 -> Eq 6.22.

    Full-batch Adam on :func:`masked_cross_entropy` (inputs and targets are the rated items).
    Returns ``(params, losses: (steps,))``.
    """
    params = _check_params(params)
    V, mask = _check_V(params, V, mask)
    steps = _validate.positive_int("steps", steps)
    _validate.positive("lr", lr)
    return _finetune(params, V, mask, jnp.asarray(lr, params.W.dtype), steps=steps)
