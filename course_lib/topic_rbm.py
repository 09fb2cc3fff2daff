r"""The topic-model RBM, or *replicated softmax* (Aggarwal §6.5.4, Exercises 6.5, 6.8-6.9).

A document of $N$ words over a lexicon of $d$ words is an RBM with $N$ softmax groups of size
$d$, one per word position, all sharing the weights $W$ `(d, m)` and word biases $b$ `(d,)`;
the $m$ binary hidden units have biases $c$ `(m,)`. Because the groups share everything, the
document enters only through its **word counts** $n_k = \sum_i v_i^{(k)}$ (Eq 6.30):

$$P(h_j = 1 \mid \text{doc}) = \sigma\Big(c_j + \sum_{i=1}^{N}\sum_{k=1}^{d} v_i^{(k)} w_{kj}\Big)
= \sigma\big(c_j + (n W)_j\big),$$

and, given $h$, every position draws its word from the same softmax (Eq 6.31):

$$P(v_i^{(k)} = 1 \mid h) = \frac{\exp(b_k + (W h)_k)}{\sum_{l=1}^{d} \exp(b_l + (W h)_l)}.$$

The visible layer may hold several such groups side by side (``groups=(d_1, d_2, ...)``, the
columns of ``counts`` split in that order), each with its own softmax and its own number of
words, all feeding the same hidden units: the multimodal model of §6.5.5 / Exercise 6.9
(a node's neighbours and its keywords).

With positions distinguishable, $\log P(\text{doc}) = n \cdot b + \sum_j \mathrm{softplus}(c_j
+ (nW)_j) - \log Z_N$, where $\log Z_N = \log \sum_h \exp\big(c \cdot h + \sum_g N_g \log
\sum_{k \in g} e^{b_k + (Wh)_k}\big)$ is computed by enumerating the $2^m$ hidden vectors. Its
gradient (Exercise 6.5) is data statistics minus model statistics,
$\partial/\partial w_{kj} = n_k\, P(h_j{=}1 \mid \text{doc}) - \langle N_g\, p_k(h)\, h_j
\rangle_{P(h)}$. CD-1 replaces the model average by one Gibbs step: sample $h$, sample $N_g$
words from each group's softmax (a multinomial), recompute the hidden probabilities.

Parameters are :class:`course_lib.rbm.RBMParams` (``W``, ``b_v`` = word biases $b$,
``b_h`` = hidden biases $c$); :func:`init_topic_rbm` makes them with :func:`rbm.init_rbm`.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from course_lib import _validate, rbm
from course_lib._types import Array, ArrayLike, PRNGKey
from course_lib.boltzmann import all_states
from course_lib.rbm import RBMParams

#: Exact computations enumerate the hidden layer: at most this many hidden units.
MAX_ENUMERATED_HIDDEN = 12

__all__ = [
    "RBMParams",
    "cd_gradient",
    "exact_gradient",
    "exact_log_likelihood",
    "hidden_probs",
    "init_topic_rbm",
    "sample_words",
    "train_topic_rbm",
    "word_probs",
]


# ------------------------------------------------------------------------------ validation


def _check_groups(groups: Any, d: int) -> tuple[int, ...]:
    if groups is None:
        return (d,)
    if not isinstance(groups, (tuple, list)) or not groups:
        raise TypeError(f"`groups` must be a tuple of group sizes such as ({d},), got {groups!r}.")
    sizes = tuple(_validate.positive_int("groups", g) for g in groups)
    if sum(sizes) != d:
        raise ValueError(
            f"`groups` must add up to the {d} visible units of W, got {sizes} (sum {sum(sizes)})."
        )
    return sizes


def _check_counts(counts: Any, d: int) -> Array:
    counts = _validate.float_array("counts", counts, ndim=(1, 2))
    if counts.shape[-1] != d:
        raise ValueError(
            f"`counts` must have {d} word columns (the rows of W), got shape {tuple(counts.shape)}."
        )
    _validate.finite("counts", counts)
    if not _validate.is_traced(counts):
        c = np.asarray(counts)
        if np.any(c < 0) or np.any(c != np.round(c)):
            raise ValueError("`counts` must hold word counts (non-negative whole numbers).")
    return counts


def _bounds(groups):
    edges = np.concatenate([[0], np.cumsum(groups)])
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True)]


# ------------------------------------------------------------------------------ conditionals


def init_topic_rbm(
    *, key: PRNGKey, n_words: int, n_hidden: int, scale: float = 0.01, dtype: Any = None
) -> RBMParams:
    """Initial parameters: :func:`rbm.init_rbm` with ``n_words`` visible (lexicon) units."""
    return rbm.init_rbm(key=key, n_visible=n_words, n_hidden=n_hidden, scale=scale, dtype=dtype)


def _logits_h(params, counts):
    return counts @ params.W + rbm._bias(params.b_h, counts.ndim)


def _hidden_probs(params, counts):
    return jax.nn.sigmoid(_logits_h(params, counts))


def _group_softmax(logits, groups):
    return jnp.concatenate(
        [jax.nn.softmax(logits[..., a:b], axis=-1) for a, b in _bounds(groups)], axis=-1
    )


def _word_probs(params, h, groups):
    return _group_softmax(h @ params.W.T + rbm._bias(params.b_v, h.ndim), groups)


def hidden_probs(params: RBMParams, counts: ArrayLike) -> Array:
    r"""Eq 6.30: $P(h_j = 1 \mid \text{doc}) = \sigma(c_j + (nW)_j)$ for word counts
    ``counts: (d,)`` or ``(n_docs, d)``; returns ``(m,)`` or ``(n_docs, m)``. Depends on the
    document only through its counts, so the order of its words does not matter."""
    params = rbm._check_params(params)
    return _hidden_probs(params, _check_counts(counts, params.W.shape[0]))


def word_probs(params: RBMParams, h: ArrayLike, *, groups: Any = None) -> Array:
    r"""Eq 6.31: each group's softmax over its words, $p_k(h) \propto \exp(b_k + (Wh)_k)$, for
    hidden states or probabilities ``h: (m,)`` or ``(n, m)``; each group's entries sum to 1."""
    params = rbm._check_params(params)
    groups = _check_groups(groups, params.W.shape[0])
    h = rbm._check_layer("h", h, params.W.shape[1], "hidden", ndim=(1, 2))
    return _word_probs(params, h, groups)


def _max_words(counts, groups):
    """The longest document's word count in each group, rounded up to a multiple of 8 (a
    static loop bound: rounding lets similar corpora share one compilation)."""
    c = np.asarray(counts).reshape(-1, sum(groups))
    return tuple(8 * max(1, -(-int(c[:, a:b].sum(axis=1).max()) // 8)) for a, b in _bounds(groups))


def _sample_words(key, probs, counts, groups, max_words):
    """Multinomial draws: in each group, as many words as the document has there."""
    u = jax.random.uniform(key, (sum(max_words), *probs.shape[:-1]), probs.dtype)
    return _words_from_uniforms(u, probs, counts, groups, max_words)


def _words_from_uniforms(u, probs, counts, groups, max_words):
    """``max_words`` draws per group from uniform numbers ``u: (sum(max_words), ...)``, each
    inverting the group's cumulative distribution; draws past the document's length are masked
    out."""
    parts, start = [], 0
    for L, (a, b) in zip(max_words, _bounds(groups), strict=True):
        n = jnp.sum(counts[..., a:b], axis=-1)
        cdf = jnp.cumsum(probs[..., a:b], axis=-1)
        draws = jnp.sum(u[start : start + L, ..., None] > cdf[None, ..., :-1], axis=-1)  # (L, ...)
        pos = jnp.arange(L).reshape((-1,) + (1,) * n.ndim)
        keep = (pos < n[None]).astype(probs.dtype)
        parts.append(jnp.sum(jax.nn.one_hot(draws, b - a, dtype=probs.dtype) * keep[..., None], 0))
        start += L
    return jnp.concatenate(parts, axis=-1)


def sample_words(
    params: RBMParams, h: ArrayLike, counts: ArrayLike, *, key: PRNGKey, groups: Any = None
) -> Array:
    """A new document of the same length(s) as ``counts`` drawn from :func:`word_probs` given
    ``h: (n, m)``: its word counts ``(n, d)``, each group's total equal to the original's."""
    params = rbm._check_params(params)
    d = params.W.shape[0]
    groups = _check_groups(groups, d)
    counts = _check_counts(counts, d)
    h = rbm._check_layer("h", h, params.W.shape[1], "hidden", ndim=counts.ndim)
    _validate.prng_key("key", key)
    max_words = _max_words(counts, groups)
    return _sample_words(key, _word_probs(params, h, groups), counts, groups, max_words)


# ------------------------------------------------------------------------------ CD-1


def _uniforms(key, counts, m, max_words):
    kh, kv = jax.random.split(key)
    u_h = jax.random.uniform(kh, (*counts.shape[:-1], m), counts.dtype)
    return u_h, jax.random.uniform(kv, (sum(max_words), *counts.shape[:-1]), counts.dtype)


def _cd_from_uniforms(params, counts, u_h, u_w, groups, max_words):
    ph0 = _hidden_probs(params, counts)
    h = (u_h < ph0).astype(ph0.dtype)
    counts1 = _words_from_uniforms(u_w, _word_probs(params, h, groups), counts, groups, max_words)
    ph1 = _hidden_probs(params, counts1)
    pos, neg = rbm._statistics(counts, ph0), rbm._statistics(counts1, ph1)
    return jax.tree.map(jnp.subtract, pos, neg)


def _cd_gradient(params, counts, key, groups, max_words):
    u_h, u_w = _uniforms(key, counts, params.W.shape[1], max_words)
    return _cd_from_uniforms(params, counts, u_h, u_w, groups, max_words)


_cd_gradient_jit = jax.jit(_cd_gradient, static_argnums=(3, 4))


def cd_gradient(
    params: RBMParams, counts: ArrayLike, *, key: PRNGKey, groups: Any = None
) -> RBMParams:
    r"""CD-1 estimate of the mean log-likelihood gradient over documents ``counts: (n, d)``:
    $\langle n_k h_j\rangle_{data} - \langle n'_k h'_j\rangle_{1\ step}$ (counts times hidden
    probabilities, Exercise 6.5), the same for the biases. Ascend it."""
    params = rbm._check_params(params)
    d = params.W.shape[0]
    groups = _check_groups(groups, d)
    counts = _validate.nonempty("counts", _check_counts(counts, d))
    if counts.ndim != 2:
        raise ValueError(f"`counts` must be 2-dimensional (n_docs, d), got {counts.ndim}-D.")
    _validate.prng_key("key", key)
    max_words = _max_words(counts, groups)
    return _cd_gradient_jit(params, counts.astype(params.W.dtype), key, groups, max_words)


@functools.partial(jax.jit, static_argnames=("steps", "groups", "max_words"))
def _train(params, counts, key, lr, *, steps, groups, max_words):
    def step(p, i):
        g = _cd_gradient(p, counts, jax.random.fold_in(key, i), groups, max_words)
        return jax.tree.map(lambda a, b: a + lr * b, p, g), None

    params, _ = lax.scan(step, params, jnp.arange(steps))
    return params


def train_topic_rbm(
    params: RBMParams,
    counts: ArrayLike,
    *,
    key: PRNGKey,
    steps: int,
    lr: Any,
    groups: Any = None,
) -> RBMParams:
    """Full-batch CD-1 gradient ascent on ``counts: (n, d)`` for ``steps`` steps, one
    ``lax.scan`` (``lr`` traced; ``steps`` and ``groups`` static)."""
    params = rbm._check_params(params)
    d = params.W.shape[0]
    groups = _check_groups(groups, d)
    counts = _validate.nonempty("counts", _check_counts(counts, d))
    if counts.ndim != 2:
        raise ValueError(f"`counts` must be 2-dimensional (n_docs, d), got {counts.ndim}-D.")
    _validate.prng_key("key", key)
    steps = _validate.positive_int("steps", steps)
    _validate.positive("lr", lr)
    dt = params.W.dtype
    return _train(params, counts.astype(dt), key, jnp.asarray(lr, dt), steps=steps,
                  groups=groups, max_words=_max_words(counts, groups))  # fmt: skip


def train_topic_rbm_cache_size() -> int:
    """How many versions of the jitted training loop exist (moving ``lr`` adds none)."""
    return _train._cache_size()


# ------------------------------------------------------------------------------ exact


def _check_enumerable(params):
    m = params.W.shape[1]
    if m > MAX_ENUMERATED_HIDDEN:
        raise ValueError(
            f"exact computation enumerates the 2^m hidden states: it needs at most "
            f"{MAX_ENUMERATED_HIDDEN} hidden units, got {m}."
        )


def _exact_log_likelihood(params, counts, groups):
    H = jnp.asarray(all_states(params.W.shape[1]), params.W.dtype)
    logits = H @ params.W.T + params.b_v[None, :]  # (2^m, d)
    lse = jnp.stack([jax.nn.logsumexp(logits[:, a:b], axis=1) for a, b in _bounds(groups)], 1)
    N = jnp.stack([jnp.sum(counts[..., a:b], axis=-1) for a, b in _bounds(groups)], -1)
    log_z = jax.nn.logsumexp(rbm._bias(H @ params.b_h, N.ndim) + N @ lse.T, axis=-1)  # per doc
    neg_f = counts @ params.b_v + jnp.sum(jax.nn.softplus(_logits_h(params, counts)), -1)
    return neg_f - log_z


def exact_log_likelihood(params: RBMParams, counts: ArrayLike, *, groups: Any = None) -> Array:
    r"""$\log P(\text{doc})$ of each document (positions distinguishable: the probability of
    one particular word sequence with these counts), by enumerating the $2^m$ hidden vectors
    (at most :data:`MAX_ENUMERATED_HIDDEN` hidden units). ``counts: (d,)`` or ``(n, d)``."""
    params = rbm._check_params(params)
    _check_enumerable(params)
    groups = _check_groups(groups, params.W.shape[0])
    return _exact_log_likelihood(params, _check_counts(counts, params.W.shape[0]), groups)


def exact_gradient(params: RBMParams, counts: ArrayLike, *, groups: Any = None) -> RBMParams:
    r"""The exact gradient of the *mean* of :func:`exact_log_likelihood` over the rows of
    ``counts: (n, d)``, written out (Exercise 6.5): counts times $P(h \mid \text{doc})$ minus
    $\sum_h P_N(h)\, N_g\, p(h)\, h^\top$, $P_N(h) \propto \exp(c\cdot h + \sum_g N_g \log
    \sum_{k\in g} e^{b_k + (Wh)_k})$ for each document's lengths $N_g$."""
    params = rbm._check_params(params)
    _check_enumerable(params)
    d = params.W.shape[0]
    groups = _check_groups(groups, d)
    counts = _check_counts(counts, d)
    counts = counts.reshape(-1, d) if counts.ndim == 1 else counts
    return _exact_gradient(params, counts.astype(params.W.dtype), groups)


@functools.partial(jax.jit, static_argnums=2)
def _exact_gradient(params, counts, groups):
    H = jnp.asarray(all_states(params.W.shape[1]), params.W.dtype)
    logits = H @ params.W.T + params.b_v[None, :]
    bounds = _bounds(groups)
    lse = jnp.stack([jax.nn.logsumexp(logits[:, a:b], axis=1) for a, b in bounds], 1)
    words = _group_softmax(logits, groups)  # (2^m, d)
    N = jnp.stack([jnp.sum(counts[:, a:b], axis=-1) for a, b in bounds], -1)  # (n, G)
    P = jax.nn.softmax(
        (H @ params.b_h)[None, :] + N @ lse.T, axis=-1
    )  # (n, 2^m): P_N(h) per document
    Nk = jnp.concatenate([jnp.repeat(N[:, g : g + 1], b - a, 1) for g, (a, b) in
                          enumerate(bounds)], 1)  # fmt: skip
    # expected counts given h for document r: Nk[r, k] * words[h, k]
    neg_W = jnp.einsum("rh,rk,hk,hj->kj", P, Nk, words, H) / counts.shape[0]
    neg_b = jnp.einsum("rh,rk,hk->k", P, Nk, words) / counts.shape[0]
    neg_c = jnp.mean(P @ H, axis=0)
    pos = rbm._statistics(counts, _hidden_probs(params, counts))
    return RBMParams(pos.W - neg_W, pos.b_v - neg_b, pos.b_h - neg_c)
