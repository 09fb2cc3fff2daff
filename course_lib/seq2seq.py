r"""Encoder–decoder (sequence-to-sequence) recurrent networks, trained with teacher forcing.

Aggarwal §7.7.2 (machine translation with two RNNs), Goodfellow et al. §10.2.1 (teacher forcing
and free running), Sutskever et al. 2014.

An **encoder** GRU reads the source tokens $x_1, \dots, x_n$ and produces no outputs; its final
hidden state $c = h^{enc}_n$ (the *code*) is the **only** channel to the decoder. A link matrix
$W_{es}$ (Aggarwal §7.7.2) turns the code into the decoder's first state,

$$s_0 = \tanh(c\,W_{es} + b_{es}),$$

and the **decoder** GRU is a conditional language model over the target tokens:

$$s_t = \mathrm{GRU}(s_{t-1}, \mathrm{onehot}(y_{t-1})),\qquad
p(y_t \mid y_{<t}, x) = \mathrm{softmax}(s_t W_{hy} + b_y),$$

with $y_0 = \texttt{START}$; the target ends with an $\texttt{END}$ token.

**Teacher forcing** feeds the decoder the *true* previous token $y_{t-1}$ during training (the
decoder input is the target shifted right by one, with START in front), so every step's loss is
computed in one pass: $L = -\sum_t \log p(y_t \mid y_{<t}, x)$. At test time the true tokens are
unknown and the decoder **runs free**, feeding back its own prediction
$\hat y_{t-1} = \arg\max p(\cdot)$ (greedy decoding); a mistake then changes the inputs of every
later step, which the teacher-forced training never showed it (*exposure bias*).

The task of the course is **reversal**: a digit string of length $n$ (variable, padded to a
static ``T``) maps to the same digits backwards. Tokens: digits ``0..9``, ``START = 10``,
``END = 11``, ``PAD = 12``. The encoder keeps its state unchanged on padding (a mask), so one
compiled function serves every length.

Weights are the fused row-layout GRUs of :mod:`course_lib.rnn`: ``encoder.W_hy (p, p)`` and
``encoder.b_y (p,)`` are the link $W_{es}, b_{es}$; ``decoder.W_hy (p, V)`` is the output layer.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from course_lib import _validate, optim, rnn
from course_lib._types import Array, ArrayLike, PRNGKey

# Evaluation and decoding run a few times but compile once, and these small recurrent graphs
# spend far longer in XLA's CPU compiler than in running: at optimization level 0 they compile
# about twice as fast and run 2-3 times slower (still milliseconds). The training scan runs
# thousands of steps, so it keeps the default level.
FAST_COMPILE = {"xla_backend_optimization_level": 0}

START, END, PAD = 10, 11, 12
VOCAB = 13  # digits 0..9, START, END, PAD
TOKENS = tuple(str(d) for d in range(10)) + ("<s>", "</s>", "·")


class Seq2SeqParams(NamedTuple):
    """``encoder``: a GRU over one-hot tokens whose readout is the link $W_{es}$ ``(p, p)``;
    ``decoder``: a GRU over one-hot tokens with the output layer ``(p, V)``."""

    encoder: rnn.GRUParams
    decoder: rnn.GRUParams


class Batch(NamedTuple):
    """A batch of reversal pairs, all padded to a static length ``T``.

    ``src (n, T)`` source digits (``PAD`` beyond ``length``), ``length (n,)``,
    ``dec_in (n, T+1)`` the teacher-forced decoder inputs (START, then the target shifted
    right), ``dec_tgt (n, T+1)`` the targets (reversed digits, END, then PAD),
    ``mask (n, T+1)`` 1 on the ``length + 1`` target positions that count (digits and END).
    """

    src: Array
    length: Array
    dec_in: Array
    dec_tgt: Array
    mask: Array


class Metrics(NamedTuple):
    """Accuracies of a model on a batch (each a scalar).

    ``loss``: the teacher-forced cross-entropy per target token; ``forced_token``: fraction of
    target tokens (digits and END) predicted right with the true prefix fed in; ``free_token``:
    the same when the decoder runs free (greedy, its own predictions fed back);
    ``free_sequence``: fraction of sequences decoded exactly (every digit and the END)."""

    loss: Array
    forced_token: Array
    free_token: Array
    free_sequence: Array


# ------------------------------------------------------------------------------ data


def shift_right(targets: ArrayLike) -> Array:
    r"""The teacher-forced decoder inputs: ``[START, y_1, ..., y_{m-1}]`` for targets
    ``[y_1, ..., y_m]`` (the last target is never an input). ``targets (..., m)`` int ids."""
    t = _validate.index_array("targets", targets, size=VOCAB)
    if t.ndim == 0 or t.shape[-1] == 0:
        raise ValueError(f"`targets` must hold at least one token, got shape {tuple(t.shape)}.")
    start = jnp.full(t.shape[:-1] + (1,), START, jnp.int32)
    return jnp.concatenate([start, t[..., :-1]], axis=-1)


def make_batch(src: ArrayLike, length: ArrayLike, targets: ArrayLike | None = None) -> Batch:
    r"""A :class:`Batch` from padded sources ``src (n, T)`` and lengths ``(n,)``.

    ``targets (n, T)`` (padded like ``src``) defaults to the reversal of each source; pass
    ``targets=src`` for the copy task (the autoencoding pairs $x \to x$ of Aggarwal's
    Exercise 7.7). END is placed after the ``length`` target digits.
    """
    src = _validate.index_array("src", src, size=VOCAB, ndim=2)
    length = _validate.index_array("length", length, size=src.shape[1] + 1, ndim=1)
    _validate.same_rows("src", src, "length", length)
    if targets is not None:
        targets = _validate.index_array("targets", targets, size=VOCAB, ndim=2)
        if targets.shape != src.shape:
            raise ValueError(
                f"`targets` must have the shape of `src` {tuple(src.shape)}, "
                f"got {tuple(targets.shape)}."
            )
    return _make_batch(src, length, targets)


@jax.jit
def _make_batch(src, length, targets=None):
    T = src.shape[1]
    pos = jnp.arange(T + 1)[None, :]
    if targets is None:
        idx = length[:, None] - 1 - jnp.arange(T)[None, :]
        targets = jnp.take_along_axis(src, jnp.clip(idx, 0, T - 1), axis=1)
    tgt = jnp.concatenate([targets, jnp.full((src.shape[0], 1), PAD, jnp.int32)], axis=1)
    n = length[:, None]
    dec_tgt = jnp.where(pos < n, tgt, jnp.where(pos == n, END, PAD)).astype(jnp.int32)
    mask = (pos <= n).astype(jnp.result_type(float))
    src = jnp.where(jnp.arange(T)[None, :] < n, src, PAD).astype(jnp.int32)
    return Batch(src, length, shift_right(dec_tgt), dec_tgt, mask)


def reversal_data(
    *, key: PRNGKey, n: int, max_len: int, min_len: Any = 1, top_len: Any = None
) -> Batch:
    r"""``n`` random digit strings with lengths uniform in ``[min_len, top_len]`` (default
    ``top_len = max_len``), padded to ``T = max_len``, and their reversals as a :class:`Batch`.

    ``max_len`` fixes the shapes (static); ``min_len`` and ``top_len`` may be traced, so a
    curriculum or a per-length evaluation never recompiles.
    """
    _validate.prng_key("key", key)
    n = _validate.positive_int("n", n)
    T = _validate.positive_int("max_len", max_len)
    top = T if top_len is None else top_len
    for name, v in (("min_len", min_len), ("top_len", top)):
        _validate.in_range(name, v, 1, T)
    if not (_validate.is_traced(min_len) or _validate.is_traced(top)) and min_len > top:
        raise ValueError(f"`min_len` ({min_len}) must not exceed `top_len` ({top}).")
    return _reversal_data_jit(key, n, T, min_len, top)


def _reversal_data(key, n, T, min_len, top):
    k1, k2 = jax.random.split(key)
    digits = jax.random.randint(k1, (n, T), 0, 10, dtype=jnp.int32)
    length = jax.random.randint(k2, (n,), min_len, top + 1, dtype=jnp.int32)
    return _make_batch(digits, length)


_reversal_data_jit = jax.jit(_reversal_data, static_argnums=(1, 2), compiler_options=FAST_COMPILE)


# ------------------------------------------------------------------------------ the model


def init(*, key: PRNGKey, hidden_dim: int, vocab_size: int = VOCAB) -> Seq2SeqParams:
    """Glorot-normal GRU encoder (readout = link ``(p, p)``) and decoder (readout ``(p, V)``)."""
    _validate.prng_key("key", key)
    p = _validate.positive_int("hidden_dim", hidden_dim)
    v = _validate.positive_int("vocab_size", vocab_size)
    k1, k2 = jax.random.split(key)
    return Seq2SeqParams(
        rnn.gru_init(key=k1, input_dim=v, hidden_dim=p, output_dim=p),
        rnn.gru_init(key=k2, input_dim=v, hidden_dim=p, output_dim=v),
    )


def _check_params(params: Any) -> Seq2SeqParams:
    if not isinstance(params, Seq2SeqParams):
        raise TypeError(
            f"`params` must be seq2seq.Seq2SeqParams (from seq2seq.init), got "
            f"{type(params).__name__}."
        )
    return params


def _n_seeds(params: Seq2SeqParams) -> int | None:
    """The leading seed axis of stacked parameters (``init_seeds``), or None for one model."""
    return params.decoder.W_n.shape[0] if params.decoder.W_n.ndim == 3 else None


def init_seeds(*, keys: Array, hidden_dim: int) -> Seq2SeqParams:
    """One model per key in ``keys (S,)``, stacked along a leading seed axis: :func:`train`,
    :func:`accuracy_by_length` and :func:`evaluate` then run all seeds at once (``vmap``)."""
    if not isinstance(keys, jax.Array) or keys.ndim != 1:
        raise TypeError(f"`keys` must be a 1-D array of keys (jax.random.split), got {keys!r:.60}.")
    p = _validate.positive_int("hidden_dim", hidden_dim)
    return jax.vmap(lambda k: init(key=k, hidden_dim=p))(keys)


def select(params: Seq2SeqParams, seed: int) -> Seq2SeqParams:
    """The model of one seed out of stacked parameters."""
    return jax.tree.map(lambda a: a[seed], _check_params(params))


def _vocab(params: Seq2SeqParams) -> int:
    return params.decoder.W_hy.shape[1]


def encode(params: Seq2SeqParams, src: Array, length: Array) -> Array:
    r"""The code $c = h^{enc}_n$: the encoder GRU's state after the ``length`` real tokens of
    ``src (T,)`` (padding leaves the state unchanged). Returns ``(p,)``. Traceable."""
    enc = params.encoder
    p = enc.W_hy.shape[0]
    V = enc.W_zr.shape[0] - p

    def step(h, xt):
        x, t = xt
        h_new = rnn.gru_cell(enc, h, jax.nn.one_hot(x, V, dtype=h.dtype))
        return jnp.where(t < length, h_new, h), None

    h0 = jnp.zeros((p,), enc.W_hy.dtype)
    h, _ = lax.scan(step, h0, (src, jnp.arange(src.shape[0])))
    return h


def bridge(params: Seq2SeqParams, code: Array) -> Array:
    r"""The decoder's first state $s_0 = \tanh(c W_{es} + b_{es})$ from a code ``(p,)``."""
    return jnp.tanh(code @ params.encoder.W_hy + params.encoder.b_y)


def decoder_step(params: Seq2SeqParams, s: Array, token: Array) -> tuple[Array, Array]:
    r"""One decoder step: $s_t = \mathrm{GRU}(s_{t-1}, \mathrm{onehot}(y_{t-1}))$, returns
    ``(s_t (p,), logits (V,))`` with logits $s_t W_{hy} + b_y$. Traceable."""
    dec = params.decoder
    s = rnn.gru_cell(dec, s, jax.nn.one_hot(token, _vocab(params), dtype=s.dtype))
    return s, s @ dec.W_hy + dec.b_y


def forced_logits(params: Seq2SeqParams, src: Array, length: Array, dec_in: Array) -> Array:
    r"""Teacher-forced logits ``(T+1, V)``: the decoder is fed ``dec_in (T+1,)`` (the true
    previous tokens), one sequence. Traceable."""
    s0 = bridge(params, encode(params, src, length))

    def step(s, tok):
        s, logits = decoder_step(params, s, tok)
        return s, logits

    _, logits = lax.scan(step, s0, dec_in)
    return logits


def _masked_ce(logits, targets, mask):
    logp = jax.nn.log_softmax(logits, axis=-1)
    ce = -jnp.take_along_axis(logp, targets[..., None], axis=-1)[..., 0]
    return jnp.sum(ce * mask) / jnp.sum(mask)


def loss(params: Seq2SeqParams, batch: Batch) -> Array:
    r"""Teacher-forced cross-entropy per target token,
    $L = -\frac{1}{\sum_i (n_i+1)}\sum_i \sum_{t=1}^{n_i+1} \log p(y_{i,t}\mid y_{i,<t}, x_i)$
    (digits and END; padding masked out). Traceable; use :func:`evaluate` from outside."""
    logits = jax.vmap(functools.partial(forced_logits, params))(
        batch.src, batch.length, batch.dec_in
    )
    return _masked_ce(logits, batch.dec_tgt, batch.mask)


def greedy(params: Seq2SeqParams, src: Array, length: Array, steps: int) -> tuple[Array, Array]:
    r"""Free-running greedy decoding of one source ``src (T,)``: start from START, feed back
    $\hat y_{t-1} = \arg\max_v p(v)$; after the first END every output is PAD.

    Returns ``tokens (steps,)`` and the decoder's probabilities ``(steps, V)`` at each step
    (zeros once it has stopped). Traceable (``steps`` static)."""
    s0 = bridge(params, encode(params, src, length))

    def step(carry, _):
        s, tok, done = carry
        s, logits = decoder_step(params, s, tok)
        probs = jax.nn.softmax(logits)
        nxt = jnp.argmax(logits).astype(jnp.int32)
        out = jnp.where(done, PAD, nxt)
        probs = jnp.where(done, 0.0, probs)
        return (s, nxt, done | (nxt == END)), (out, probs)

    init_carry = (s0, jnp.asarray(START, jnp.int32), jnp.asarray(False))
    _, (tokens, probs) = lax.scan(step, init_carry, None, length=steps)
    return tokens, probs


def decode(params: Seq2SeqParams, src: ArrayLike, length: Any) -> tuple[Array, Array]:
    r"""Greedy decoding (:func:`greedy`) of one source ``src (T,)`` of the given length, for
    ``T + 1`` steps (enough for the reversal and its END). Jitted; returns ``(tokens, probs)``."""
    params = _check_params(params)
    src = _validate.index_array("src", src, size=VOCAB, ndim=1)
    _validate.in_range("length", length, 1, src.shape[0])
    return _decode(params, src, jnp.asarray(length, jnp.int32))


@functools.partial(jax.jit, compiler_options=FAST_COMPILE)
def _decode(params, src, length):
    return greedy(params, src, length, src.shape[0] + 1)


def _metrics(params, batch):
    T1 = batch.dec_in.shape[1]
    logits = jax.vmap(functools.partial(forced_logits, params))(
        batch.src, batch.length, batch.dec_in
    )
    m = batch.mask
    tf_loss = _masked_ce(logits, batch.dec_tgt, m)
    forced = jnp.sum((jnp.argmax(logits, -1) == batch.dec_tgt) * m) / jnp.sum(m)
    tokens, _ = jax.vmap(lambda s, n: greedy(params, s, n, T1))(batch.src, batch.length)
    hit = tokens == batch.dec_tgt
    free = jnp.sum(hit * m) / jnp.sum(m)
    exact = jnp.mean(jnp.all(hit | (m == 0), axis=1))
    return Metrics(tf_loss, forced, free, exact)


def evaluate(params: Seq2SeqParams, batch: Batch) -> Metrics:
    """:class:`Metrics` of ``params`` on ``batch`` (jitted; one compile per batch shape)."""
    params = _check_params(params)
    if not isinstance(batch, Batch):
        raise TypeError(f"`batch` must be a seq2seq.Batch, got {type(batch).__name__}.")
    if _n_seeds(params) is not None:
        return _evaluate_seeds(params, batch)
    return _evaluate(params, batch)


_evaluate = jax.jit(_metrics, compiler_options=FAST_COMPILE)
_evaluate_seeds = jax.jit(jax.vmap(_metrics, in_axes=(0, None)), compiler_options=FAST_COMPILE)


def accuracy_by_length(
    params: Seq2SeqParams, *, key: PRNGKey, lengths: ArrayLike, n: int, max_len: int
) -> Metrics:
    r""":class:`Metrics` on ``n`` fresh strings of each length in ``lengths`` (padded to
    ``max_len``); every field has shape ``(len(lengths),)``. One compile for all lengths."""
    params = _check_params(params)
    _validate.prng_key("key", key)
    n = _validate.positive_int("n", n)
    T = _validate.positive_int("max_len", max_len)
    lengths = _validate.index_array("lengths", lengths, size=T + 1, ndim=1)
    if lengths.size == 0 or int(jnp.min(lengths)) < 1:
        raise ValueError("`lengths` must be a non-empty list of lengths in [1, max_len].")
    if _n_seeds(params) is not None:
        return _by_length_seeds(params, key, lengths, n, T)
    return _by_length(params, key, lengths, n, T)


def _by_length_impl(params, key, lengths, n, T):
    def one(i, L):
        batch = _reversal_data(jax.random.fold_in(key, i), n, T, L, L)
        return _metrics(params, batch)

    return jax.vmap(one)(jnp.arange(lengths.shape[0]), lengths)


_by_length = jax.jit(_by_length_impl, static_argnums=(3, 4), compiler_options=FAST_COMPILE)
_by_length_seeds = jax.jit(
    jax.vmap(_by_length_impl, in_axes=(0, None, None, None, None)),
    static_argnums=(3, 4),
    compiler_options=FAST_COMPILE,
)


# ------------------------------------------------------------------------------ training


class TrainState(NamedTuple):
    """``params`` and the Adam state ``opt_state`` (from :func:`train_init`)."""

    params: Seq2SeqParams
    opt_state: Any


def train_init(params: Seq2SeqParams) -> TrainState:
    """A :class:`TrainState` with fresh Adam moments for ``params``."""
    params = _check_params(params)
    init_fn = optim.adam(1e-3).init
    if _n_seeds(params) is not None:
        return TrainState(params, jax.vmap(init_fn)(params))
    return TrainState(params, init_fn(params))


def train(
    state: TrainState,
    *,
    key: PRNGKey,
    steps: int,
    batch_size: int = 64,
    max_len: int = 8,
    min_len: Any = 1,
    learning_rate: Any = 1e-2,
) -> tuple[TrainState, Array]:
    r"""``steps`` Adam steps of teacher-forced training on fresh reversal batches (one
    :func:`jax.lax.scan`, jitted; gradients clipped to norm 1). Lengths are uniform in
    ``[min_len, max_len]``. ``learning_rate`` and ``min_len`` are traced (never recompile);
    ``steps``, ``batch_size``, ``max_len`` fix the shapes. Returns ``(state, losses (steps,))``.

    With stacked parameters (:func:`init_seeds`) every seed trains at once on its own batches
    (``key`` folded with the seed index) and the losses are ``(S, steps)``.
    """
    if not isinstance(state, TrainState):
        raise TypeError(f"`state` must be a seq2seq.TrainState, got {type(state).__name__}.")
    _check_params(state.params)
    _validate.prng_key("key", key)
    steps = _validate.positive_int("steps", steps)
    batch_size = _validate.positive_int("batch_size", batch_size)
    T = _validate.positive_int("max_len", max_len)
    _validate.in_range("min_len", min_len, 1, T)
    _validate.positive("learning_rate", learning_rate)
    S = _n_seeds(state.params)
    if S is not None:
        keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(S))
        return _train_seeds(state, keys, steps, batch_size, T, min_len, learning_rate)
    return _train(state, key, steps, batch_size, T, min_len, learning_rate)


def _train_impl(state, key, steps, batch_size, T, min_len, learning_rate):
    tx = optim.adam(learning_rate)

    def step(st, i):
        batch = _reversal_data(jax.random.fold_in(key, i), batch_size, T, min_len, T)
        value, grads = jax.value_and_grad(loss)(st.params, batch)
        grads = rnn.clip_by_norm(grads, 1.0)
        updates, opt_state = tx.update(grads, st.opt_state, st.params)
        return TrainState(optim.apply_updates(st.params, updates), opt_state), value

    return lax.scan(step, state, jnp.arange(steps))


_train = jax.jit(_train_impl, static_argnums=(2, 3, 4))
_train_seeds = jax.jit(
    jax.vmap(_train_impl, in_axes=(0, 0, None, None, None, None, None)), static_argnums=(2, 3, 4)
)
