r"""Attention: a learned, data-dependent weighted average (Aggarwal §10.2).

A decoder state $h^{(2)}_t$ (the *query*) scores every encoder state $h^{(1)}_s$ (the *keys*,
which are also the *values* here), the scores are turned into weights by a softmax, and the
*context* is the weighted average of the encoder states (Eq 10.3-10.4, Luong et al. 2015):

$$a(t, s) = \frac{\exp \mathrm{Score}(t, s)}{\sum_{j=1}^{T_s} \exp \mathrm{Score}(t, j)},
\qquad c_t = \sum_{j=1}^{T_s} a(t, j)\, h^{(1)}_j .$$

Luong's three scores (Eq 10.6) are *dot* $h^{(1)}_s\cdot h^{(2)}_t$, *general*
$(h^{(2)}_t)^\top W_a h^{(1)}_s$ and *concat* $v_a^\top\tanh(W_a[h^{(1)}_s; h^{(2)}_t])$; the
attentional state is $H^{(2)}_t = \tanh(W_c[c_t; h^{(2)}_t])$ (Eq 10.5).

The module also holds

- a small encoder-decoder with global attention (GRU cells from :mod:`course_lib.rnn`) trained on
  the reversal of random digit strings, whose planted alignment (output $t$ reads input
  $T-1-t$) the attention weights should find (§10.2.2);
- *hard* attention trained with REINFORCE against *soft* attention trained by backpropagation on
  a toy "pick the item the query points to" task (§10.2.1, Eq 10.1, Exercise 10.1).

Shapes: ``H (T_s, p)`` encoder states (one per row), ``h (p,)`` one decoder state.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from course_lib import _validate, optim, rnn
from course_lib._types import Array, ArrayLike, PRNGKey

SCORES = ("dot", "general", "concat")


# ------------------------------------------------------------------------------ scores and weights


def _states(H: ArrayLike, h: ArrayLike) -> tuple[Array, Array]:
    H = _validate.float_array("H", H, ndim=2)
    h = _validate.float_array("h", h, ndim=1)
    _validate.nonempty("H", H, what="encoder state (row)")
    if H.shape[1] != h.shape[0]:
        raise ValueError(
            f"`h` must have as many entries as `H` has columns ({H.shape[1]}), got "
            f"shape {tuple(h.shape)}."
        )
    return H, h


def luong_score(
    H: ArrayLike,
    h: ArrayLike,
    kind: str = "dot",
    *,
    W_a: ArrayLike | None = None,
    v_a: ArrayLike | None = None,
) -> Array:
    r"""Luong's scores of one decoder state against every encoder state (Aggarwal Eq 10.6).

    $$\mathrm{Score}(t,s)=\begin{cases}h^{(1)}_s\cdot h^{(2)}_t & \text{dot}\\
    (h^{(2)}_t)^\top W_a h^{(1)}_s & \text{general}\\
    v_a^\top\tanh\big(W_a[h^{(1)}_s; h^{(2)}_t]\big) & \text{concat}\end{cases}$$

    Args:
        H: ``(T_s, p)`` encoder states $h^{(1)}_s$, one per row.
        h: ``(p,)`` the decoder state $h^{(2)}_t$.
        kind: ``"dot"``, ``"general"`` or ``"concat"``.
        W_a: ``(p, p)`` for "general"; ``(k, 2p)`` for "concat".
        v_a: ``(k,)`` for "concat".

    Returns:
        ``(T_s,)`` the scores.
    """
    H, h = _states(H, h)
    _validate.lookup("score", dict.fromkeys(SCORES), kind)
    p = h.shape[0]
    if kind == "dot":
        return H @ h
    if W_a is None:
        raise ValueError(f"the {kind!r} score needs `W_a`.")
    W_a = _validate.float_array("W_a", W_a, ndim=2)
    if kind == "general":
        if W_a.shape != (p, p):
            raise ValueError(f"`W_a` must have shape ({p}, {p}), got {tuple(W_a.shape)}.")
        return H @ (W_a.T @ h)  # row s: h^T W_a h_s
    if v_a is None:
        raise ValueError("the 'concat' score needs `v_a`.")
    v_a = _validate.float_array("v_a", v_a, ndim=1)
    if W_a.shape != (v_a.shape[0], 2 * p):
        raise ValueError(
            f"`W_a` must have shape ({v_a.shape[0]}, {2 * p}) (rows: len(v_a); columns: the "
            f"stacked [h_s; h_t]), got {tuple(W_a.shape)}."
        )
    both = jnp.concatenate([H, jnp.broadcast_to(h, H.shape)], axis=1)  # (T_s, 2p)
    return jnp.tanh(both @ W_a.T) @ v_a


def soft_attention(
    H: ArrayLike,
    h: ArrayLike,
    kind: str = "dot",
    *,
    W_a: ArrayLike | None = None,
    v_a: ArrayLike | None = None,
) -> tuple[Array, Array]:
    r"""Attention weights and context (Aggarwal Eq 10.7 and 10.4).

    $$a(t,s)=\operatorname{softmax}_s \mathrm{Score}(t,s),\qquad c_t=\sum_s a(t,s)\,h^{(1)}_s.$$

    Returns:
        ``(weights (T_s,), context (p,))``.
    """
    scores = luong_score(H, h, kind, W_a=W_a, v_a=v_a)
    a = jax.nn.softmax(scores)
    return a, a @ jnp.asarray(H, a.dtype)


def context_ratio(H: ArrayLike, h: ArrayLike) -> Array:
    r"""The context as the book first writes it, one ratio of sums (Aggarwal Eq 10.2):

    $$c_t=\frac{\sum_j\exp(h^{(1)}_j\cdot h^{(2)}_t)\,h^{(1)}_j}{\sum_j\exp(h^{(1)}_j\cdot
    h^{(2)}_t)}.$$

    Written literally (no max subtracted), so that it is an independent check of
    :func:`soft_attention`; it overflows for scores above ~88 in float32. ``(p,)``.
    """
    H, h = _states(H, h)
    e = jnp.exp(H @ h)
    return (e @ H) / jnp.sum(e)


def attentional_state(W_c: ArrayLike, c: ArrayLike, h: ArrayLike) -> Array:
    r"""Luong's attentional hidden state $H^{(2)}_t=\tanh\big(W_c[c_t; h^{(2)}_t]\big)$
    (Aggarwal Eq 10.5). ``W_c (q, 2p)``, ``c (p,)``, ``h (p,)`` -> ``(q,)``."""
    W_c = _validate.float_array("W_c", W_c, ndim=2)
    c = _validate.float_array("c", c, ndim=1)
    h = _validate.float_array("h", h, ndim=1)
    if c.shape != h.shape or W_c.shape[1] != 2 * h.shape[0]:
        raise ValueError(
            f"`W_c` must have 2p columns for c and h of shape (p,): got W_c {tuple(W_c.shape)}, "
            f"c {tuple(c.shape)}, h {tuple(h.shape)}."
        )
    return jnp.tanh(W_c @ jnp.concatenate([c, h]))


def attend_tokens(H: ArrayLike) -> Array:
    r"""Token-wise dot-product self-attention for sequence labelling (Exercise 10.2).

    Every token $t$ of one sequence gets a context from the whole sequence,
    $c_t=\sum_s \operatorname{softmax}_s(h_s\cdot h_t)\,h_s$, concatenated with its own state:
    the row $[h_t, c_t]$. A token classifier (ch07's setting) then sees both.
    ``H (T, p)`` -> ``(T, 2p)``.
    """
    H = _validate.float_array("H", H, ndim=2)
    _validate.nonempty("H", H, what="token")
    A = jax.nn.softmax(H @ H.T, axis=1)  # (T, T): row t = weights of token t
    return jnp.concatenate([H, A @ H], axis=1)


# ------------------------------------------------------------------------------ seq2seq: reversal


def reversal_data(*, key: PRNGKey, n: int, length: int, vocab: int) -> tuple[Array, Array]:
    """``n`` random strings of ``length`` digits in ``0..vocab-1`` and their reversals.

    The planted alignment: output position ``t`` copies input position ``length - 1 - t``.
    Returns ``(src (n, length) int32, tgt (n, length) int32)``.
    """
    _validate.prng_key("key", key)
    n = _validate.positive_int("n", n)
    length = _validate.positive_int("length", length)
    vocab = _validate.positive_int("vocab", vocab)
    src = jax.random.randint(key, (n, length), 0, vocab)
    return src, src[:, ::-1]


class Seq2SeqParams(NamedTuple):
    """An encoder GRU, a decoder GRU (constant input 1), Luong's general score ``W_a (p, p)``,
    ``W_c (p, 2p)`` of Eq 10.5 and a readout ``W_y (p, V)``, ``b_y (V,)``. (The GRUs' own
    readouts are unused.)"""

    encoder: rnn.GRUParams
    decoder: rnn.GRUParams
    W_a: Array
    W_c: Array
    W_y: Array
    b_y: Array


def seq2seq_init(*, key: PRNGKey, vocab: int, hidden: int) -> Seq2SeqParams:
    """Random weights of the reversal model (Glorot-normal, zero biases)."""
    _validate.prng_key("key", key)
    V = _validate.positive_int("vocab", vocab)
    p = _validate.positive_int("hidden", hidden)
    return _seq2seq_init(key, V, p)


@functools.partial(jax.jit, static_argnums=(1, 2))
def _seq2seq_init(key: PRNGKey, V: int, p: int) -> Seq2SeqParams:
    # jitted: nine draws of nine shapes compile once together, not nine times one by one
    k = jax.random.split(key, 5)
    dt = jnp.result_type(float)
    enc = rnn.gru_init(key=k[0], input_dim=V, hidden_dim=p, output_dim=1)
    dec = rnn.gru_init(key=k[1], input_dim=1, hidden_dim=p, output_dim=1)
    W_a = jax.random.normal(k[2], (p, p), dt) / jnp.sqrt(p)
    W_c = jax.random.normal(k[3], (p, 2 * p), dt) * jnp.sqrt(2.0 / (3 * p))
    W_y = jax.random.normal(k[4], (p, V), dt) * jnp.sqrt(2.0 / (p + V))
    return Seq2SeqParams(enc, dec, W_a, W_c, W_y, jnp.zeros((V,), dt))


def _seq2seq(params: Seq2SeqParams, src: Array, gate: Array) -> tuple[Array, Array]:
    """One sequence ``src (T,)`` -> ``(logits (T, V), weights (T, T))``; ``gate`` 1 uses the
    context, 0 replaces it by zeros (the same compiled code for both models)."""
    V = params.W_y.shape[1]
    p = params.W_a.shape[0]
    xs = jax.nn.one_hot(src, V, dtype=params.W_y.dtype)

    def enc_step(h, x):
        h = rnn.gru_cell(params.encoder, h, x)
        return h, h

    h_T, H = lax.scan(enc_step, jnp.zeros((p,), xs.dtype), xs)  # H: (T, p)
    one = jnp.ones((1,), xs.dtype)

    def dec_step(s, _):
        s = rnn.gru_cell(params.decoder, s, one)
        a = jax.nn.softmax(H @ (params.W_a.T @ s))  # general score, Eq 10.6-10.7
        context = gate * (a @ H)  # Eq 10.4 (gate 0: no attention)
        hidden = jnp.tanh(params.W_c @ jnp.concatenate([context, s]))  # Eq 10.5
        return s, (hidden @ params.W_y + params.b_y, gate * a)

    _, (logits, weights) = lax.scan(dec_step, h_T, None, length=src.shape[0])
    return logits, weights


def _check_src(params: Any, src: ArrayLike) -> tuple[Seq2SeqParams, Array]:
    if not isinstance(params, Seq2SeqParams):
        raise TypeError(
            f"`params` must be Seq2SeqParams (from seq2seq_init), got {type(params).__name__}."
        )
    src = jnp.asarray(src)
    if src.ndim != 2 or not jnp.issubdtype(src.dtype, jnp.integer):
        raise ValueError(
            f"`src` must be a (n, T) array of integer tokens, got shape {tuple(src.shape)} "
            f"and dtype {src.dtype}."
        )
    return params, src


def seq2seq_apply(
    params: Seq2SeqParams, src: ArrayLike, *, attention: bool = True
) -> tuple[Array, Array]:
    r"""Logits and attention weights of the encoder-decoder on a batch ``src (n, T)``.

    The encoder GRU reads the one-hot tokens; the decoder GRU starts from the encoder's last
    state and runs $T$ steps on a constant input; at step $t$ it scores the encoder states with
    Luong's *general* score, takes the context $c_t$ (Eq 10.4) and predicts from
    $\tanh(W_c[c_t; h^{(2)}_t])$ (Eq 10.5). Without attention the prediction comes from
    $\tanh(W_c[0; h^{(2)}_t])$ and the weights are zeros (``attention=False``: the same
    compiled function, the context multiplied by a traced 0).

    Returns:
        ``(logits (n, T, V), weights (n, T_out, T_in))``.
    """
    params, src = _check_src(params, src)
    return _apply(params, src, _gate(attention))


_apply = jax.jit(jax.vmap(_seq2seq, in_axes=(None, 0, None)))


def _gate(attention: Any) -> Array:
    if not isinstance(attention, bool):
        raise TypeError(f"`attention` must be True or False, got {attention!r}.")
    return jnp.asarray(1.0 if attention else 0.0, jnp.result_type(float))


def _seq2seq_loss(params: Seq2SeqParams, src: Array, tgt: Array, gate: Array) -> Array:
    logits, _ = jax.vmap(_seq2seq, in_axes=(None, 0, None))(params, src, gate)
    logp = jax.nn.log_softmax(logits)
    return -jnp.mean(jnp.take_along_axis(logp, tgt[..., None], axis=-1))


@functools.partial(jax.jit, static_argnames=("steps", "batch", "length"))
def _train_reversal(params, key, learning_rate, gate, steps, batch, length):
    opt = optim.adam(learning_rate)
    V = params.W_y.shape[1]

    def step(carry, k):
        params, state = carry
        src = jax.random.randint(k, (batch, length), 0, V)
        loss, grads = jax.value_and_grad(_seq2seq_loss)(params, src, src[:, ::-1], gate)
        updates, state = opt.update(grads, state, params)
        return (optim.apply_updates(params, updates), state), loss

    (params, _), losses = lax.scan(step, (params, opt.init(params)), jax.random.split(key, steps))
    return params, losses


def train_reversal(
    params: Seq2SeqParams,
    *,
    key: PRNGKey,
    steps: int = 1000,
    batch: int = 32,
    length: int = 6,
    learning_rate: float = 0.01,
    attention: bool = True,
) -> tuple[Seq2SeqParams, Array]:
    """Adam on fresh random batches of the reversal task, the whole run one ``lax.scan``
    (``attention`` and ``learning_rate`` are traced: both models share one compilation).

    Returns ``(trained params, losses (steps,))`` (mean cross-entropy per token).
    """
    _check_src(params, jnp.zeros((1, 1), jnp.int32))
    _validate.prng_key("key", key)
    steps = _validate.positive_int("steps", steps)
    batch = _validate.positive_int("batch", batch)
    length = _validate.positive_int("length", length)
    _validate.positive("learning_rate", learning_rate)
    return _train_reversal(params, key, learning_rate, _gate(attention), steps, batch, length)


def train_reversal_cache_size() -> int:
    """Compiled versions of :func:`train_reversal`'s loop (tests: no recompiles)."""
    return _train_reversal._cache_size()


def alignment_accuracy(weights: ArrayLike) -> Array:
    r"""Fraction of (example, output position) pairs whose attention argmax is the planted
    source position $T-1-t$ of the reversal task. ``weights (n, T, T)`` -> scalar."""
    weights = _validate.float_array("weights", weights, ndim=3)
    T = weights.shape[1]
    return jnp.mean(jnp.argmax(weights, axis=-1) == (T - 1 - jnp.arange(T))[None, :])


# ------------------------------------------------------------------------------ hard vs soft


def pointer_data(
    *, key: PRNGKey, n: int, items: int, dim: int
) -> tuple[Array, Array, Array, Array]:
    r"""The "pick the item the query points to" task (hard vs soft attention).

    Each example has ``items`` keys $k_i\in\mathbb R^{d}$ (standard normal), scalar values
    $v_i$ (standard normal) and a target index $i^\*$; the query is a noisy copy of its key,
    $q = k_{i^\*} + 0.3\,\varepsilon$. The right answer is $v_{i^\*}$.

    Returns ``(keys (n, items, dim), values (n, items), query (n, dim), target (n,) int32)``.
    """
    _validate.prng_key("key", key)
    n = _validate.positive_int("n", n)
    m = _validate.positive_int("items", items)
    d = _validate.positive_int("dim", dim)
    k1, k2, k3, k4 = jax.random.split(key, 4)
    dt = jnp.result_type(float)
    keys = jax.random.normal(k1, (n, m, d), dt)
    values = jax.random.normal(k2, (n, m), dt)
    target = jax.random.randint(k3, (n,), 0, m)
    query = keys[jnp.arange(n), target] + 0.3 * jax.random.normal(k4, (n, d), dt)
    return keys, values, query, target


def pointer_logits(W: ArrayLike, keys: ArrayLike, query: ArrayLike) -> Array:
    r"""Scores $q^\top W k_i$ of every item: ``W (d, d)``, ``keys (n, m, d)``, ``query (n, d)``
    -> ``(n, m)``."""
    W = _validate.float_array("W", W, ndim=2)
    keys = _validate.float_array("keys", keys, ndim=3)
    query = _validate.float_array("query", query, ndim=2)
    n, m, d = keys.shape
    if W.shape != (d, d) or query.shape != (n, d):
        raise ValueError(
            f"for keys of shape {(n, m, d)}, `W` must be ({d}, {d}) and `query` ({n}, {d}); "
            f"got {tuple(W.shape)} and {tuple(query.shape)}."
        )
    return jnp.einsum("nd,de,nme->nm", query, W, keys)


def reinforce_gradient(logits: ArrayLike, index: ArrayLike, reward: ArrayLike, baseline: Any = 0.0):
    r"""The score-function (REINFORCE) estimate for one sampled choice (Aggarwal Eq 10.1).

    With $\pi = \operatorname{softmax}(z)$, a sampled index $i$ and its reward $R$,

    $$\widehat{\nabla_z \mathbb E[R]} = (R - b)\,\nabla_z \log \pi_i = (R - b)\,(e_i - \pi).$$

    Its expectation over $i\sim\pi$ is the exact gradient $\nabla_z\sum_i\pi_iR_i$ for any
    baseline $b$ that does not depend on $i$. ``logits (..., m)``, ``index (...)``,
    ``reward (...)`` -> ``(..., m)``.
    """
    logits = _validate.float_array("logits", logits)
    if logits.ndim == 0 or logits.shape[-1] == 0:
        raise ValueError(f"`logits` must have at least one entry, got shape {logits.shape}.")
    pi = jax.nn.softmax(logits, axis=-1)
    onehot = jax.nn.one_hot(index, logits.shape[-1], dtype=pi.dtype)
    return (jnp.asarray(reward) - baseline)[..., None] * (onehot - pi)


def _soft_loss(W, keys, values, query, target):
    a = jax.nn.softmax(pointer_logits(W, keys, query), axis=-1)
    pred = jnp.sum(a * values, axis=-1)
    return jnp.mean((pred - values[jnp.arange(values.shape[0]), target]) ** 2)


class PointerRun(NamedTuple):
    """Learning curves of :func:`train_pointer`, one entry per step: the squared error of the
    model's answer on the batch (soft: the weighted average; hard: the sampled item) and the
    mean attention on the right item; ``W (d, d)`` at the end."""

    loss: Array
    attention_on_target: Array
    W: Array


@functools.partial(jax.jit, static_argnames=("steps", "batch", "items", "dim"))
def _train_pointer(key, learning_rate, hard, steps, batch, items, dim):
    dt = jnp.result_type(float)
    W0 = jnp.zeros((dim, dim), dt)

    def step(carry, k):
        W, baseline = carry
        kd, ks = jax.random.split(k)
        keys, values, query, target = pointer_data(key=kd, n=batch, items=items, dim=dim)
        rows = jnp.arange(batch)
        z = pointer_logits(W, keys, query)
        a = jax.nn.softmax(z, axis=-1)
        on_target = jnp.mean(a[rows, target])
        right = values[rows, target]
        # hard: sample one item per example, ascend the REINFORCE estimate
        i = jax.random.categorical(ks, z, axis=-1)
        loss_each = (values[rows, i] - right) ** 2
        reward = -loss_each
        g_z = reinforce_gradient(z, i, reward, baseline)  # (batch, m): an ascent direction
        # chain rule through z = q^T W k: dz/dW = q k^T
        g_hard = jnp.einsum("nm,nd,nme->de", g_z, query, keys) / batch
        # soft: descend the gradient of the weighted average's squared error
        loss_soft, g_soft = jax.value_and_grad(_soft_loss)(W, keys, values, query, target)
        # `hard` is traced (one compilation for both); both are cheap at this size
        W = W + learning_rate * jnp.where(hard, g_hard, -g_soft)
        baseline = jnp.where(hard, 0.9 * baseline + 0.1 * jnp.mean(reward), baseline)
        loss = jnp.where(hard, jnp.mean(loss_each), loss_soft)
        return (W, baseline), (loss, on_target)

    (W, _), (loss, on) = lax.scan(step, (W0, jnp.zeros((), dt)), jax.random.split(key, steps))
    return PointerRun(loss, on, W)


def train_pointer(
    *,
    key: PRNGKey,
    hard: bool,
    steps: int = 400,
    learning_rate: float = 0.1,
    batch: int = 32,
    items: int = 5,
    dim: int = 8,
) -> PointerRun:
    r"""Train $W$ of the pointer task from $W = 0$ (uniform attention), by plain gradient steps.

    * soft (``hard=False``): backpropagate the squared error of $\sum_i a_i v_i$;
    * hard (``hard=True``): sample $i\sim a$, reward $R=-(v_i-v_{i^\*})^2$, ascend the REINFORCE
      estimate $(R-b)\nabla\log a_i$ with a running-mean baseline $b$ (Eq 10.1).

    The whole run is one jitted ``lax.scan``; ``learning_rate`` and ``hard`` are traced (one
    compilation serves both).
    """
    _validate.prng_key("key", key)
    if not isinstance(hard, bool):
        raise TypeError(f"`hard` must be True or False, got {hard!r}.")
    _validate.positive("learning_rate", learning_rate)
    return _train_pointer(
        key,
        learning_rate,
        hard,
        _validate.positive_int("steps", steps),
        _validate.positive_int("batch", batch),
        _validate.positive_int("items", items),
        _validate.positive_int("dim", dim),
    )


def train_pointer_cache_size() -> int:
    """Compiled versions of :func:`train_pointer`'s jitted loop (tests: no recompiles)."""
    return _train_pointer._cache_size()
