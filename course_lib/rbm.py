r"""The restricted Boltzmann machine and contrastive divergence (Aggarwal §6.4).

An RBM has $d$ binary visible units $v$ and $m$ binary hidden units $h$, with weights only
*between* the two layers (a bipartite graph, no $v$–$v$ or $h$–$h$ edges). Its energy is

$$E(v, h) = -\sum_i b^{(v)}_i v_i - \sum_j b^{(h)}_j h_j - \sum_{i,j} v_i w_{ij} h_j,
\qquad P(v, h) = \frac{e^{-E(v, h)}}{Z}.$$

Because no two units of one layer are joined, each layer is independent *given* the other,
and the conditionals are products of sigmoids (Eq 6.15–6.18):

$$P(h_j = 1 \mid v) = \sigma\big(b^{(h)}_j + \textstyle\sum_i v_i w_{ij}\big), \qquad
P(v_i = 1 \mid h) = \sigma\big(b^{(v)}_i + \textstyle\sum_j w_{ij} h_j\big).$$

Summing $h$ out gives the **free energy**
$F(v) = -b^{(v)\top} v - \sum_j \log(1 + e^{b^{(h)}_j + (vW)_j})$, with $P(v) = e^{-F(v)}/Z$.

The log-likelihood gradient is "data statistics minus model statistics" (Eq 6.12 for the
RBM's edges): $\partial \log P(v)/\partial w_{ij} = \langle v_i h_j\rangle_{pos} -
\langle v_i h_j\rangle_{neg}$. **Contrastive divergence** CD-$k$ (§6.4.2) replaces the model
average by $k$ steps of Gibbs sampling started at the data. For a small machine
(:data:`MAX_ENUMERATED_UNITS` units on one side) the exact log-likelihood and gradient are
computed by enumerating the smaller layer, so every estimate can be compared with the truth.

Parameters are :class:`RBMParams`; functions are pure, keys explicit and keyword-only.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from course_lib import _validate
from course_lib._types import Array, ArrayLike, PRNGKey
from course_lib.boltzmann import all_states

#: Exact log-likelihoods enumerate the smaller layer: at most this many units on it.
MAX_ENUMERATED_UNITS = 16

#: Visible-bias initialisation clips the fraction of ones to [eps, 1 - eps] (no infinite logit).
BIAS_CLIP = 1e-3


class RBMParams(NamedTuple):
    """Parameters of a binary RBM with ``d`` visible and ``m`` hidden units."""

    W: Array  # (d, m): w_ij joins visible unit i and hidden unit j
    b_v: Array  # (d,): visible biases b^(v)
    b_h: Array  # (m,): hidden biases b^(h)


# ------------------------------------------------------------------------------ validation


def _check_params(params: Any, name: str = "params") -> RBMParams:
    if not isinstance(params, RBMParams):
        raise TypeError(
            f"`{name}` must be an RBMParams(W, b_v, b_h) (see init_rbm), got "
            f"{type(params).__name__}."
        )
    W = _validate.float_array(f"{name}.W", params.W, ndim=2)
    b_v = _validate.float_array(f"{name}.b_v", params.b_v, ndim=1)
    b_h = _validate.float_array(f"{name}.b_h", params.b_h, ndim=1)
    d, m = W.shape
    if b_v.shape != (d,) or b_h.shape != (m,):
        raise ValueError(
            f"`{name}` shapes do not fit: W {tuple(W.shape)} needs b_v ({d},) and b_h ({m},), "
            f"got b_v {tuple(b_v.shape)} and b_h {tuple(b_h.shape)}."
        )
    for part, arr in (("W", W), ("b_v", b_v), ("b_h", b_h)):
        _validate.finite(f"{name}.{part}", arr)
    return RBMParams(W, b_v, b_h)


def _check_layer(name: str, x: Any, size: int, what: str, *, ndim=None) -> Array:
    x = _validate.float_array(name, x, ndim=ndim)
    if x.ndim == 0 or x.shape[-1] != size:
        raise ValueError(
            f"`{name}` must have {size} {what} units on its last axis, got shape {tuple(x.shape)}."
        )
    return _validate.finite(name, x)


def _check_binary(name: str, x: Array) -> None:
    if _validate.is_traced(x):
        return
    import numpy as np

    values = np.asarray(x)
    if not np.all((values == 0.0) | (values == 1.0)):
        raise ValueError(f"`{name}` must hold binary states (0 or 1 only).")


def _bias(b: Array, ndim: int) -> Array:
    """``b: (k,)`` reshaped to broadcast against an array of rank ``ndim`` (explicit ranks)."""
    return b.reshape((1,) * (ndim - 1) + b.shape)


# ------------------------------------------------------------------------------ init


def visible_bias_init(data: ArrayLike, *, eps: float = BIAS_CLIP) -> Array:
    r"""The §6.4.3 visible biases $b^{(v)}_i = \log\frac{p_i}{1 - p_i}$, $p_i$ the fraction of
    ones in column ``i`` of ``data: (n, d)``, clipped to $[\epsilon, 1 - \epsilon]$.

    Then $\sigma(b^{(v)}_i) = p_i$: with zero weights the model already has the data's means.
    Returns ``(d,)``.
    """
    data = _validate.nonempty("data", _validate.float_array("data", data, ndim=2))
    _validate.finite("data", data)
    _validate.in_range("eps", eps, 0.0, 0.5)
    _validate.positive("eps", eps)
    p = jnp.clip(jnp.mean(data, axis=0), eps, 1.0 - eps)
    return jnp.log(p) - jnp.log1p(-p)


def init_rbm(
    *,
    key: PRNGKey,
    n_visible: int,
    n_hidden: int,
    data: ArrayLike | None = None,
    scale: float = 0.01,
    dtype: Any = None,
) -> RBMParams:
    r"""Initial parameters (§6.4.3): $w_{ij} \sim \mathcal N(0, \text{scale}^2)$, hidden
    biases 0, visible biases $\log(p_i/(1-p_i))$ from ``data: (n, n_visible)`` when given
    (:func:`visible_bias_init`), else 0.

    ``dtype`` defaults to the default float (float32, or float64 under x64).
    """
    _validate.prng_key("key", key)
    d = _validate.positive_int("n_visible", n_visible)
    m = _validate.positive_int("n_hidden", n_hidden)
    _validate.positive("scale", scale, allow_zero=True)
    dtype = jnp.result_type(float) if dtype is None else jnp.dtype(dtype)
    W = scale * jax.random.normal(key, (d, m), dtype)
    if data is None:
        b_v = jnp.zeros((d,), dtype)
    else:
        data = _check_layer("data", data, d, "visible", ndim=2)
        b_v = visible_bias_init(data).astype(dtype)
    return RBMParams(W, b_v, jnp.zeros((m,), dtype))


# ------------------------------------------------------------------------------ conditionals


def _hidden_probs(params, v):
    return jax.nn.sigmoid(v @ params.W + _bias(params.b_h, v.ndim))


def _visible_probs(params, h):
    return jax.nn.sigmoid(h @ params.W.T + _bias(params.b_v, h.ndim))


def _bernoulli(key, p):
    return jax.random.bernoulli(key, p).astype(p.dtype)


def hidden_probs(params: RBMParams, v: ArrayLike) -> Array:
    r"""$P(h_j = 1 \mid v) = \sigma(b^{(h)}_j + \sum_i v_i w_{ij})$ (Eq 6.15–6.16).

    ``v: (..., d)`` (binary or real-valued) -> ``(..., m)``. One matrix product: no sampling
    is needed to infer the hidden layer of an RBM.
    """
    params = _check_params(params)
    v = _check_layer("v", v, params.W.shape[0], "visible")
    return _hidden_probs(params, v)


def visible_probs(params: RBMParams, h: ArrayLike) -> Array:
    r"""$P(v_i = 1 \mid h) = \sigma(b^{(v)}_i + \sum_j w_{ij} h_j)$ (Eq 6.17–6.18).

    ``h: (..., m)`` -> ``(..., d)``.
    """
    params = _check_params(params)
    h = _check_layer("h", h, params.W.shape[1], "hidden")
    return _visible_probs(params, h)


def sample_hidden(params: RBMParams, v: ArrayLike, *, key: PRNGKey) -> Array:
    """Binary hidden states $h_j \\sim \\mathrm{Bernoulli}(P(h_j = 1 \\mid v))$: ``(..., m)``."""
    p = hidden_probs(params, v)
    _validate.prng_key("key", key)
    return _bernoulli(key, p)


def sample_visible(params: RBMParams, h: ArrayLike, *, key: PRNGKey) -> Array:
    """Binary visible states $v_i \\sim \\mathrm{Bernoulli}(P(v_i = 1 \\mid h))$: ``(..., d)``."""
    p = visible_probs(params, h)
    _validate.prng_key("key", key)
    return _bernoulli(key, p)


def _free_energy(params, v):
    lin = v @ params.W + _bias(params.b_h, v.ndim)
    return -(v @ params.b_v) - jnp.sum(jax.nn.softplus(lin), axis=-1)


def free_energy(params: RBMParams, v: ArrayLike) -> Array:
    r"""$F(v) = -\sum_i b^{(v)}_i v_i - \sum_j \log\big(1 + e^{b^{(h)}_j + \sum_i v_i w_{ij}}\big)$.

    $e^{-F(v)} = \sum_h e^{-E(v, h)}$, so $P(v) = e^{-F(v)}/Z$: a *low* free energy is a
    *likely* visible vector (used as an outlier score, Exercise 6.4). ``v: (..., d)`` ->
    ``(...)``.
    """
    params = _check_params(params)
    v = _check_layer("v", v, params.W.shape[0], "visible")
    return _free_energy(params, v)


def reconstruct(params: RBMParams, v: ArrayLike) -> Array:
    r"""Mean-field reconstruction (Eq 6.19–6.20): $\hat h = P(h = 1 \mid v)$, then
    $\hat v = P(v = 1 \mid \hat h)$, real values throughout, no sampling. ``v: (..., d)`` ->
    ``(..., d)``."""
    params = _check_params(params)
    v = _check_layer("v", v, params.W.shape[0], "visible")
    return _visible_probs(params, _hidden_probs(params, v))


# ------------------------------------------------------------------------------ CD-k and PCD


def _statistics(v, ph):
    """Averages over the rows: <v_i h_j>, <v_i>, <h_j> for ``v: (n, d)``, ``ph: (n, m)``."""
    n = v.shape[0]
    return RBMParams(v.T @ ph / n, jnp.mean(v, axis=0), jnp.mean(ph, axis=0))


def _gibbs_chain(params, v, key, k):
    """``k`` block-Gibbs steps v -> h -> v from binary ``v`` (k traced). Returns the last
    binary ``v`` and its ``P(h = 1 | v)``."""

    def step(i, v):
        kh, kv = jax.random.split(jax.random.fold_in(key, i))
        h = _bernoulli(kh, _hidden_probs(params, v))
        return _bernoulli(kv, _visible_probs(params, h))

    v = lax.fori_loop(0, k, step, v)
    return v, _hidden_probs(params, v)


def _cd_gradient(params, v, key, k):
    ph0 = _hidden_probs(params, v)
    vk, phk = _gibbs_chain(params, v, key, k)
    pos, neg = _statistics(v, ph0), _statistics(vk, phk)
    return jax.tree.map(jnp.subtract, pos, neg)


def _pcd_gradient(params, v, chain, key, k):
    ph0 = _hidden_probs(params, v)
    vk, phk = _gibbs_chain(params, chain, key, k)
    pos, neg = _statistics(v, ph0), _statistics(vk, phk)
    return jax.tree.map(jnp.subtract, pos, neg), vk


_cd_gradient_jit = jax.jit(_cd_gradient)
_pcd_gradient_jit = jax.jit(_pcd_gradient)


def _check_k(k: Any) -> Any:
    if _validate.is_traced(k):
        return k
    if (
        isinstance(k, bool)
        or not isinstance(k, (int,))
        and not (hasattr(k, "dtype") and jnp.issubdtype(k.dtype, jnp.integer) and jnp.ndim(k) == 0)
    ):
        raise TypeError(f"`k` must be a positive integer (Gibbs steps), got {k!r}.")
    if int(k) < 1:
        raise ValueError(f"`k` must be a positive integer (Gibbs steps), got {int(k)}.")
    return jnp.asarray(k, jnp.int32)


def cd_gradient(params: RBMParams, v: ArrayLike, *, key: PRNGKey, k: Any = 1) -> RBMParams:
    r"""The CD-$k$ estimate of $\nabla \frac1n\sum \log P(v)$ (§6.4.1–6.4.2), an *ascent* direction.

    Positive phase: the data ``v: (n, d)`` clamped, $\langle v_i h_j\rangle_{pos} =
    \frac1n \sum v_i\,P(h_j{=}1 \mid v)$. Negative phase: $k$ block-Gibbs steps
    $v \to h \to v$ started at the data (binary states drawn each step), then
    $\langle v_i h_j\rangle_{neg} = \frac1n \sum v^{(k)}_i\,P(h_j{=}1 \mid v^{(k)})$.
    Using the hidden *probabilities* in the last step of both phases is the §6.4.3 practice;
    it averages the last hidden draw out exactly, so it changes the variance and not the
    expectation. The visible units in the chain are sampled (not replaced by probabilities),
    so the chain is a true Gibbs sampler and CD-$k$ tends to the exact gradient as $k$ grows.

    ``k`` may be a traced integer (a slider moves it without recompiling). Returns an
    :class:`RBMParams` of the same shapes: positive minus negative statistics.
    """
    params = _check_params(params)
    v = _validate.nonempty("v", _check_layer("v", v, params.W.shape[0], "visible", ndim=2))
    _validate.prng_key("key", key)
    k = _check_k(k)
    return _cd_gradient_jit(params, v.astype(params.W.dtype), key, k)


def pcd_gradient(
    params: RBMParams, v: ArrayLike, chain: ArrayLike, *, key: PRNGKey, k: Any = 1
) -> tuple[RBMParams, Array]:
    r"""Persistent CD: like :func:`cd_gradient`, but the negative chain continues from
    ``chain: (c, d)`` (binary visible states kept from the previous call) instead of
    restarting at the data. Returns ``(gradient, new_chain)``, ``new_chain: (c, d)``.
    """
    params = _check_params(params)
    d = params.W.shape[0]
    v = _validate.nonempty("v", _check_layer("v", v, d, "visible", ndim=2))
    chain = _validate.nonempty("chain", _check_layer("chain", chain, d, "visible", ndim=2))
    _check_binary("chain", chain)
    _validate.prng_key("key", key)
    k = _check_k(k)
    dt = params.W.dtype
    return _pcd_gradient_jit(params, v.astype(dt), chain.astype(dt), key, k)


# ------------------------------------------------------------------------------ training


def _batch_indices(key, n, steps, batch_size):
    """(steps, batch_size) row indices: shuffled passes over the data, one after the other."""
    epochs = -(-steps * batch_size // n)
    keys = jax.random.split(key, epochs)
    perms = jax.vmap(lambda kk: jax.random.permutation(kk, n))(keys).reshape(-1)
    return perms[: steps * batch_size].reshape(steps, batch_size)


@functools.partial(jax.jit, static_argnames=("steps", "batch_size"))
def _train(params, data, key, lr, k, persistent, *, steps, batch_size):
    k_batches, k_chain, k_steps = jax.random.split(key, 3)
    idx = _batch_indices(k_batches, data.shape[0], steps, batch_size)
    chain0 = data[jax.random.randint(k_chain, (batch_size,), 0, data.shape[0])]

    def step(carry, inputs):
        params, chain = carry
        i, rows = inputs
        batch = data[rows]
        kk = jax.random.fold_in(k_steps, i)
        # CD-k is PCD-k whose chains restart at the batch: one compiled loop serves both
        # (``persistent`` traced)
        grad, chain = _pcd_gradient(params, batch, jnp.where(persistent, chain, batch), kk, k)
        params = jax.tree.map(lambda p, g: p + lr * g, params, grad)
        err = jnp.mean((batch - _visible_probs(params, _hidden_probs(params, batch))) ** 2)
        return (params, chain), err

    (params, _), history = lax.scan(step, (params, chain0), (jnp.arange(steps), idx))
    return params, history


def train_rbm(
    params: RBMParams,
    data: ArrayLike,
    *,
    key: PRNGKey,
    steps: int,
    batch_size: int,
    lr: Any,
    k: Any = 1,
    persistent: bool = False,
) -> tuple[RBMParams, Array]:
    r"""Train by gradient *ascent* with CD-$k$ (or persistent CD): the loop is one ``lax.scan``.

    Each step takes the next ``batch_size`` rows of shuffled passes over ``data: (n, d)``
    (binary), estimates the gradient with :func:`cd_gradient` (``persistent=False``) or
    :func:`pcd_gradient` (``persistent=True``: ``batch_size`` persistent chains, started at
    random data rows) and adds ``lr`` times it to every parameter (Eq 6.13–6.14 for the RBM).
    ``lr``, ``k`` and ``persistent`` are traced (no recompilation when they change);
    ``steps`` and ``batch_size`` are static.

    Returns ``(params, history)``, ``history: (steps,)`` the mean squared reconstruction
    error :func:`reconstruct` of each step's batch after its update (a cheap progress signal,
    *not* the likelihood: use :func:`exact_log_likelihood` on small machines).
    """
    params = _check_params(params)
    data = _validate.nonempty("data", _check_layer("data", data, params.W.shape[0], "visible",
                                                    ndim=2))  # fmt: skip
    _check_binary("data", data)
    _validate.prng_key("key", key)
    steps = _validate.positive_int("steps", steps)
    batch_size = _validate.positive_int("batch_size", batch_size)
    if batch_size > data.shape[0]:
        raise ValueError(
            f"`batch_size` must be at most the number of rows of `data` ({data.shape[0]}), "
            f"got {batch_size}."
        )
    _validate.positive("lr", lr)
    k = _check_k(k)
    if not isinstance(persistent, bool):
        raise TypeError(f"`persistent` must be True or False, got {persistent!r}.")
    dt = params.W.dtype
    return _train(params, data.astype(dt), key, jnp.asarray(lr, dt), k, jnp.asarray(persistent),
                  steps=steps, batch_size=batch_size)  # fmt: skip


def train_rbm_cache_size() -> int:
    """How many versions of the jitted training loop exist (one per static setting and
    shape; moving ``lr``, ``k`` or ``persistent`` adds none)."""
    return _train._cache_size()


def cd_gradient_cache_size() -> int:
    """How many versions of the jitted :func:`cd_gradient` exist (one per shape and dtype)."""
    return _cd_gradient_jit._cache_size()


# ------------------------------------------------------------------------------ exact


def _check_enumerable(params: RBMParams) -> None:
    d, m = params.W.shape
    if min(d, m) > MAX_ENUMERATED_UNITS:
        raise ValueError(
            f"exact computation enumerates the smaller layer: it needs n_visible or n_hidden "
            f"<= {MAX_ENUMERATED_UNITS}, got W of shape {(d, m)}."
        )


def _log_partition(params):
    d, m = params.W.shape
    if m <= d:  # sum over h of exp(-F(h)), F(h) = -b_h.h - sum_i softplus(b_v_i + (W h)_i)
        H = jnp.asarray(all_states(m), params.W.dtype)
        neg_f = H @ params.b_h + jnp.sum(jax.nn.softplus(H @ params.W.T + params.b_v[None, :]),
                                          axis=-1)  # fmt: skip
    else:
        V = jnp.asarray(all_states(d), params.W.dtype)
        neg_f = -_free_energy(params, V)
    return jax.nn.logsumexp(neg_f)


def log_partition(params: RBMParams) -> Array:
    r"""$\log Z = \log \sum_{v, h} e^{-E(v, h)}$, by enumerating the smaller layer (the other
    one is summed out in closed form). Scalar."""
    params = _check_params(params)
    _check_enumerable(params)
    return _log_partition(params)


def _exact_log_likelihood(params, v):
    return jnp.mean(-_free_energy(params, v)) - _log_partition(params)


def exact_log_likelihood(params: RBMParams, v: ArrayLike) -> Array:
    r"""The average exact log-likelihood $\frac1n \sum_r \log P(v^{(r)}) = \frac1n\sum_r
    -F(v^{(r)}) - \log Z$ of binary ``v: (n, d)`` (or one vector ``(d,)``). Scalar.

    Needs ``min(d, m) <= MAX_ENUMERATED_UNITS``.
    """
    params = _check_params(params)
    _check_enumerable(params)
    v = _check_layer("v", v, params.W.shape[0], "visible", ndim=(1, 2))
    _check_binary("v", v)
    return _exact_log_likelihood(params, jnp.atleast_2d(v).astype(params.W.dtype))


def _model_statistics(params):
    d, m = params.W.shape
    if m <= d:  # enumerate h: P(h) = exp(-F(h)) / Z, E[v | h] = P(v = 1 | h)
        H = jnp.asarray(all_states(m), params.W.dtype)
        pv = _visible_probs(params, H)
        logits = H @ params.b_h + jnp.sum(
            jax.nn.softplus(H @ params.W.T + params.b_v[None, :]), axis=-1
        )
        w = jax.nn.softmax(logits)
        return RBMParams(pv.T @ (w[:, None] * H), w @ pv, w @ H)
    V = jnp.asarray(all_states(d), params.W.dtype)
    w = jax.nn.softmax(-_free_energy(params, V))
    ph = _hidden_probs(params, V)
    return RBMParams(V.T @ (w[:, None] * ph), w @ V, w @ ph)


def model_statistics(params: RBMParams) -> RBMParams:
    r"""The exact model averages $\langle v_i h_j\rangle_{model}$, $\langle v_i\rangle_{model}$,
    $\langle h_j\rangle_{model}$ by enumeration, as an :class:`RBMParams` of the same shapes."""
    params = _check_params(params)
    _check_enumerable(params)
    return _model_statistics(params)


def exact_gradient(params: RBMParams, v: ArrayLike) -> RBMParams:
    r"""The exact gradient of :func:`exact_log_likelihood`, written as the learning rule
    (Eq 6.12–6.14 for the RBM): data statistics $\frac1n\sum v_i P(h_j{=}1 \mid v)$ minus the
    enumerated model statistics (:func:`model_statistics`). Same shapes as ``params``."""
    params = _check_params(params)
    _check_enumerable(params)
    v = _check_layer("v", v, params.W.shape[0], "visible", ndim=(1, 2))
    _check_binary("v", v)
    v = jnp.atleast_2d(v).astype(params.W.dtype)
    pos = _statistics(v, _hidden_probs(params, v))
    return jax.tree.map(jnp.subtract, pos, _model_statistics(params))


def joint_distribution(params: RBMParams) -> tuple[Array, Array, Array]:
    r"""Every joint state and its probability: ``(V, H, P)`` with ``V: (2^d, d)``,
    ``H: (2^m, m)`` (:func:`course_lib.boltzmann.all_states` order) and
    ``P: (2^d, 2^m)``, ``P[a, b] = P(v = V[a], h = H[b])``. Needs ``d + m <= 16``."""
    params = _check_params(params)
    d, m = params.W.shape
    if d + m > MAX_ENUMERATED_UNITS:
        raise ValueError(
            f"the joint table has 2^(d + m) entries: needs d + m <= {MAX_ENUMERATED_UNITS}, "
            f"got d + m = {d + m}."
        )
    V = jnp.asarray(all_states(d), params.W.dtype)
    H = jnp.asarray(all_states(m), params.W.dtype)
    neg_e = (V @ params.b_v)[:, None] + (H @ params.b_h)[None, :] + V @ params.W @ H.T
    P = jnp.exp(neg_e - jax.nn.logsumexp(neg_e))
    return V, H, P


def visible_distribution(params: RBMParams) -> Array:
    r"""$P(v)$ for every visible state in :func:`course_lib.boltzmann.all_states` order:
    ``(2^d,)``, by $P(v) = e^{-F(v)}/Z$. Needs ``d <= MAX_ENUMERATED_UNITS``."""
    params = _check_params(params)
    d = params.W.shape[0]
    if d > MAX_ENUMERATED_UNITS:
        raise ValueError(
            f"`params` has {d} visible units: enumerating 2^d states needs d <= "
            f"{MAX_ENUMERATED_UNITS}."
        )
    V = jnp.asarray(all_states(d), params.W.dtype)
    return jax.nn.softmax(-_free_energy(params, V))


# ------------------------------------------------------------------------------ the example

#: The visible units of the ice-cream example (§6.4) and its hidden units (the trucks).
ICE_CREAMS = ("cone", "sundae", "popsicle", "cup")
TRUCKS = ("Ben", "Jerry", "Tom")


def ice_cream_trucks(dtype: Any = None) -> RBMParams:
    r"""A planted RBM for Aggarwal's ice-cream example (§6.4, Fig 6.3): 4 visible units
    (:data:`ICE_CREAMS`), 3 hidden ones (:data:`TRUCKS`). As the text suggests, Ben's truck
    favours cones and sundaes, Tom's popsicles and cups; Jerry's sits between (sundaes and
    popsicles). Negative visible biases: most days bring few ice-creams."""
    dtype = jnp.result_type(float) if dtype is None else jnp.dtype(dtype)
    W = jnp.array([[3.0, 0.0, -1.0], [3.0, 1.5, -1.0], [-1.0, 1.5, 3.0], [-1.0, 0.0, 3.0]], dtype)
    return RBMParams(W, jnp.array([-2.0, -2.5, -2.0, -2.5], dtype), jnp.array([-0.5, -1.0, -0.5],
                                                                              dtype))  # fmt: skip
