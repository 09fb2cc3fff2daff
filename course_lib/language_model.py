r"""A character-level language model: an LSTM that reads text and predicts the next character.

Aggarwal §7.2.1.1 (language modeling, temperature sampling, beam search), §7.5 (the LSTM);
Goodfellow et al. §10.2.1 (teacher forcing) and §10.10 (gated RNNs); Karpathy's char-RNN.

**Data.** A :class:`Vocab` maps each distinct character to an integer id. Training draws
random windows of ``seq_len + 1`` consecutive characters; the model reads the first
``seq_len`` and is scored on predicting each next one (teacher forcing):

$$L = -\frac{1}{BT}\sum_{b,t}\log \hat p_\theta(x_{b,t+1}\mid x_{b,1..t})
\quad\text{(nats per character)}.$$

Dividing by $\ln 2$ gives bits per character.

**Model.** The LSTM cell of :func:`course_lib.rnn.lstm_cell` (fused ``[x, h] @ W``) with a
one-hot input of size $V$ and a readout $\hat p_t = \mathrm{softmax}(h_t W_{hy} + b_y)$. The
time loop is one :func:`jax.lax.scan`; the readout is one matrix product after it. For a
one-hot $x_t$ the input half of $[x_t, h_{t-1}]W$ is row $x_t$ of $W$, so :func:`logits` looks
up all $T$ of those rows before the loop and multiplies only $h_{t-1}W_{hh}$ inside it (the
same numbers as the product, 15-20% less time per training step: ``benchmarks/RESULTS.md``).

**Decoding.** Temperature sampling draws $x_{t+1}\sim\mathrm{softmax}(z_t/T)$ (Aggarwal §7.2.1.1):
$T\to 0$ becomes greedy (argmax) decoding, $T = 1$ samples the model, $T > 1$ flattens it.
Beam search keeps the ``width`` best prefixes by total log-probability; with a wide enough
beam it equals exhaustive search (:func:`exhaustive_search`).

**Baselines.** Unigram and bigram models with add-$k$ (Laplace) smoothing,
$\hat p(b\mid a) = (n_{ab} + k)/(n_a + kV)$, estimated on the training text.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from course_lib import _validate, optim, rnn
from course_lib._types import Array, ArrayLike, PRNGKey

CLIP_NORM = 5.0  # gradient clipping by global norm in the train step (§7.3.1)
MAX_EXHAUSTIVE = 250_000  # the largest V**L that exhaustive_search enumerates

# ------------------------------------------------------------------------------ vocabulary


class Vocab(NamedTuple):
    """The characters of a text, sorted; a character's id is its position in ``chars``."""

    chars: str

    @property
    def size(self) -> int:
        """The number of distinct characters $V$."""
        return len(self.chars)


def build_vocab(text: str) -> Vocab:
    """The sorted set of characters of ``text`` (a non-empty ``str``)."""
    if not isinstance(text, str):
        raise TypeError(f"`text` must be a str, got {type(text).__name__}.")
    if not text:
        raise ValueError("`text` must not be empty.")
    return Vocab("".join(sorted(set(text))))


def _check_vocab(vocab: Any) -> Vocab:
    if not isinstance(vocab, Vocab):
        raise TypeError(f"`vocab` must be a Vocab (from build_vocab), got {type(vocab).__name__}.")
    return vocab


def encode(vocab: Vocab, text: str) -> Array:
    """Character ids ``(len(text),)`` int32; a character outside the vocabulary is a ValueError."""
    vocab = _check_vocab(vocab)
    if not isinstance(text, str):
        raise TypeError(f"`text` must be a str, got {type(text).__name__}.")
    index = {ch: i for i, ch in enumerate(vocab.chars)}
    unknown = sorted(set(text) - set(index))
    if unknown:
        raise ValueError(f"`text` holds characters outside the vocabulary: {unknown[:10]!r}.")
    return jnp.asarray(np.fromiter((index[ch] for ch in text), np.int32, len(text)))


def decode(vocab: Vocab, ids: ArrayLike) -> str:
    """The text of a 1-D array of ids."""
    vocab = _check_vocab(vocab)
    ids = _ids("ids", ids)
    arr = np.asarray(ids)
    if arr.size and (arr.min() < 0 or arr.max() >= vocab.size):
        raise ValueError(
            f"`ids` must lie in [0, {vocab.size}), got values in [{arr.min()}, {arr.max()}]."
        )
    return "".join(vocab.chars[i] for i in arr.tolist())


def _ids(name: str, ids: Any, ndim: int = 1) -> Array:
    if isinstance(ids, str) or ids is None:
        raise TypeError(f"`{name}` must be an integer array, got {type(ids).__name__}.")
    arr = ids if isinstance(ids, jax.Array) else jnp.asarray(np.asarray(ids))
    if not jnp.issubdtype(arr.dtype, jnp.integer):
        raise TypeError(f"`{name}` must hold integer ids, got dtype {arr.dtype}.")
    if arr.ndim != ndim:
        raise ValueError(f"`{name}` must be {ndim}-dimensional, got shape {tuple(arr.shape)}.")
    return arr.astype(jnp.int32)


# ------------------------------------------------------------------------------ batching


def split_ids(ids: ArrayLike, *, val_fraction: float = 0.1) -> tuple[Array, Array]:
    """Split a text into a training part and the last ``val_fraction`` as validation.

    The split is contiguous (not shuffled): random characters would leak the validation text's
    neighbours into training. Returns ``(train (n - m,), val (m,))``.
    """
    ids = _ids("ids", ids)
    _validate.in_range("val_fraction", val_fraction, 0.0, 1.0)
    m = int(round(ids.shape[0] * float(val_fraction)))
    if m < 2 or ids.shape[0] - m < 2:
        raise ValueError(
            f"`val_fraction` = {val_fraction} leaves {ids.shape[0] - m} training and {m} "
            "validation characters; both need at least 2."
        )
    return ids[: ids.shape[0] - m], ids[ids.shape[0] - m :]


def text_windows(
    ids: ArrayLike, *, key: PRNGKey, batch_size: int, seq_len: int
) -> tuple[Array, Array]:
    r"""A random batch of windows for teacher forcing.

    Draws ``batch_size`` start positions $s$ uniformly; ``inputs[b] = ids[s : s+L]`` and
    ``targets[b] = ids[s+1 : s+L+1]`` (the next character at every position).
    Returns two int32 arrays ``(batch_size, seq_len)``. Jitted (the sizes are static).
    """
    _validate.prng_key("key", key)
    ids = _ids("ids", ids)
    batch_size = _validate.positive_int("batch_size", batch_size)
    seq_len = _validate.positive_int("seq_len", seq_len)
    if ids.shape[0] < seq_len + 1:
        raise ValueError(
            f"`ids` has {ids.shape[0]} characters; a window needs seq_len + 1 = {seq_len + 1}."
        )
    return _text_windows(ids, key, batch_size, seq_len)


@functools.partial(jax.jit, static_argnums=(2, 3))
def _text_windows(ids, key, batch_size, seq_len):
    starts = jax.random.randint(key, (batch_size,), 0, ids.shape[0] - seq_len)
    idx = starts[:, None] + jnp.arange(seq_len + 1)[None, :]  # (B, L+1)
    windows = ids[idx]
    return windows[:, :-1], windows[:, 1:]


def eval_windows(ids: ArrayLike, *, seq_len: int) -> tuple[Array, Array]:
    """Cut a text into consecutive non-overlapping windows for evaluation.

    Window $j$ covers ``ids[j L : (j+1) L + 1]`` (neighbours share one character, so every
    character after the first is a target exactly once, up to the ragged end, which is dropped).
    Returns ``inputs, targets``, each ``(n_windows, seq_len)``.
    """
    ids = _ids("ids", ids)
    seq_len = _validate.positive_int("seq_len", seq_len)
    n = (ids.shape[0] - 1) // seq_len
    if n < 1:
        raise ValueError(
            f"`ids` has {ids.shape[0]} characters; a window needs seq_len + 1 = {seq_len + 1}."
        )
    inputs = ids[: n * seq_len].reshape(n, seq_len)
    targets = ids[1 : n * seq_len + 1].reshape(n, seq_len)
    return inputs, targets


# ------------------------------------------------------------------------------ the model


def init(
    *, key: PRNGKey, vocab_size: int, hidden_dim: int, forget_bias: float = 1.0
) -> rnn.LSTMParams:
    """A char-LSTM: :func:`course_lib.rnn.lstm_init` with one-hot inputs and outputs of size $V$.

    ``W (V + p, 4p)``, ``b (4p,)``, ``W_hy (p, V)``, ``b_y (V,)``.
    """
    v = _validate.positive_int("vocab_size", vocab_size)
    return rnn.lstm_init(
        key=key, input_dim=v, hidden_dim=hidden_dim, output_dim=v, forget_bias=forget_bias
    )


def _check_params(params: Any) -> rnn.LSTMParams:
    if not isinstance(params, rnn.LSTMParams):
        raise TypeError(f"`params` must be LSTMParams (from init), got {type(params).__name__}.")
    return params


def _sizes(params: rnn.LSTMParams) -> tuple[int, int]:
    """(V, p)."""
    p = params.W_hy.shape[0]
    return params.W.shape[0] - p, p


def logits(params: rnn.LSTMParams, inputs: Array) -> Array:
    r"""Next-character scores $z_{b,t} = h_{b,t}W_{hy} + b_y$ for a batch of id sequences.

    ``inputs (B, T)`` int -> ``(B, T, V)``; every sequence starts from $h_0 = c_0 = 0$.
    The cell is :func:`course_lib.rnn.lstm_cell`'s, with its one-hot input product done as a row
    lookup: $[x_t, h_{t-1}]W = W_{x_t,:} + h_{t-1}W_{hh}$, all $T$ lookups before the loop. The
    time loop is one ``lax.scan`` (time-major inside), over the whole batch at once.
    """
    V, p = _sizes(params)
    B = inputs.shape[0]
    W_x, W_hh = params.W[:V], params.W[V:]
    zx = jnp.take(W_x, inputs.T, axis=0) + params.b[None, None, :]  # (T, B, 4p): one-hot products
    zero = jnp.zeros((B, p), params.W.dtype)

    def step(state, z):
        h, c = state
        h, c = rnn.lstm_update(z + h @ W_hh, c)
        return (h, c), h

    _, hs = lax.scan(step, (zero, zero), zx)  # (T, B, p)
    return jnp.swapaxes(hs @ params.W_hy + params.b_y[None, None, :], 0, 1)  # (B, T, V)


def loss(params: rnn.LSTMParams, inputs: Array, targets: Array) -> Array:
    r"""Mean cross-entropy in nats per character, $-\frac{1}{BT}\sum\log\hat p(x_{t+1})$.

    ``inputs, targets (B, T)`` int.
    """
    logp = jax.nn.log_softmax(logits(params, inputs), axis=-1)
    return -jnp.mean(jnp.take_along_axis(logp, targets[..., None], axis=-1))


@jax.jit
def _loss(params, inputs, targets):
    return loss(params, inputs, targets)


def evaluate(params: rnn.LSTMParams, inputs: ArrayLike, targets: ArrayLike) -> Array:
    """:func:`loss` under ``jit`` with checked arguments (nats per character)."""
    params = _check_params(params)
    inputs = _ids("inputs", inputs, 2)
    targets = _ids("targets", targets, 2)
    if inputs.shape != targets.shape:
        raise ValueError(
            f"`inputs` {tuple(inputs.shape)} and `targets` {tuple(targets.shape)} must have "
            "the same shape."
        )
    return _loss(params, inputs, targets)


def adam_init(params: rnn.LSTMParams) -> Any:
    """The Adam state for :func:`train_step` (the learning rate is passed at every step)."""
    return optim.adam(1e-3).init(params)


def train_step(
    params: rnn.LSTMParams, opt_state: Any, inputs: Array, targets: Array, learning_rate: Any
) -> tuple[rnn.LSTMParams, Any, Array]:
    r"""One Adam step on :func:`loss`, gradients clipped to global norm ``CLIP_NORM`` (jitted).

    The learning rate is traced (a new value never recompiles). Returns
    ``(params, opt_state, loss)``; the loss is the one *before* the update.
    """
    return _train_step(params, opt_state, inputs, targets, learning_rate)


@jax.jit
def _train_step(params, opt_state, inputs, targets, learning_rate):
    tx = optim.adam(learning_rate)
    value, grads = jax.value_and_grad(loss)(params, inputs, targets)
    grads = rnn.clip_by_norm(grads, CLIP_NORM)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optim.apply_updates(params, updates), opt_state, value


def train_step_cache_size() -> int:
    """Compiled versions of :func:`train_step` (a new learning rate must not add one)."""
    return _train_step._cache_size()


def nats_to_bits(nats: ArrayLike) -> Array:
    r"""Convert a loss in nats to bits: $\log_2 x = \ln x / \ln 2$."""
    return jnp.asarray(nats) / math.log(2.0)


# ------------------------------------------------------------------------------ decoding


class LSTMState(NamedTuple):
    """The recurrent state ``(h (p,), c (p,))`` of one sequence."""

    h: Array
    c: Array


def decode_step(params: rnn.LSTMParams, state: LSTMState, token: Array) -> tuple[LSTMState, Array]:
    r"""Feed one character id; return the new state and $\log\hat p(\cdot)$ ``(V,)`` of the next.

    This is the ``step`` that :func:`beam_search` and :func:`exhaustive_search` expect. The
    cell is :func:`course_lib.rnn.lstm_cell`'s with the one-hot input product done as a row
    lookup, $[x_t, h_{t-1}]W = W_{x_t,:} + h_{t-1}W_{hh}$, as in :func:`logits`.
    """
    V, _ = _sizes(params)
    z = params.W[token] + state.h @ params.W[V:] + params.b
    h, c = rnn.lstm_update(z, state.c)
    return LSTMState(h, c), jax.nn.log_softmax(h @ params.W_hy + params.b_y)


def prompt_state(params: rnn.LSTMParams, prompt: ArrayLike) -> tuple[LSTMState, Array]:
    """Read a prompt ``(n,)`` of ids from a zero state; return the state and the next-char
    log-probabilities ``(V,)``."""
    params = _check_params(params)
    prompt = _ids("prompt", prompt)
    if prompt.shape[0] == 0:
        raise ValueError("`prompt` must hold at least one character.")
    return _prompt_state(params, prompt)


@jax.jit
def _prompt_state(params, prompt):
    _, p = _sizes(params)
    zero = jnp.zeros((p,), params.W.dtype)

    def step(carry, tok):
        state, _ = carry
        return decode_step(params, state, tok), None

    init = (LSTMState(zero, zero), jnp.zeros((params.b_y.shape[0],), params.W.dtype))
    (state, logp), _ = lax.scan(step, init, prompt)
    return state, logp


def softmax_temperature(scores: ArrayLike, temperature: Any) -> Array:
    r"""$\mathrm{softmax}(z/T)_j = e^{z_j/T}/\sum_k e^{z_k/T}$ over the last axis (stable)."""
    _validate.positive("temperature", temperature)
    return jax.nn.softmax(jnp.asarray(scores) / temperature, axis=-1)


def entropy(probs: ArrayLike) -> Array:
    r"""$H(p) = -\sum_j p_j\ln p_j$ in nats over the last axis (with $0\ln 0 = 0$)."""
    p = jnp.asarray(probs)
    return -jnp.sum(jnp.where(p > 0, p * jnp.log(jnp.where(p > 0, p, 1.0)), 0.0), axis=-1)


def next_char_probs(params: rnn.LSTMParams, prompt: ArrayLike, temperature: Any) -> Array:
    r"""$\mathrm{softmax}(z/T)$ ``(V,)`` for the character after ``prompt`` (temperature traced)."""
    _validate.positive("temperature", temperature)
    _, logp = prompt_state(params, prompt)
    return _tempered(logp, jnp.asarray(temperature, logp.dtype))


@jax.jit
def _tempered(logp, temperature):
    return jax.nn.softmax(logp / temperature)


def sample(
    params: rnn.LSTMParams, prompt: ArrayLike, *, key: PRNGKey, length: int, temperature: Any
) -> Array:
    r"""Continue ``prompt`` by ``length`` characters drawn from $\mathrm{softmax}(z_t/T)$.

    Each draw uses its own split of ``key`` (same key, same text). The temperature is traced:
    a new value does not recompile. Returns the ``(length,)`` new ids.
    """
    _validate.prng_key("key", key)
    length = _validate.positive_int("length", length)
    _validate.positive("temperature", temperature)
    state, logp = prompt_state(params, prompt)
    return _sample(params, state, logp, key, jnp.asarray(temperature, logp.dtype), length)


@functools.partial(jax.jit, static_argnums=(5,))
def _sample(params, state, logp, key, temperature, length):
    def step(carry, k):
        state, logp = carry
        tok = jax.random.categorical(k, logp / temperature)
        return decode_step(params, state, tok), tok

    _, toks = lax.scan(step, (state, logp), jax.random.split(key, length))
    return toks


def sample_cache_size() -> int:
    """Compiled versions of the sampler (a new temperature or key must not add one)."""
    return _sample._cache_size()


def greedy(params: rnn.LSTMParams, prompt: ArrayLike, *, length: int) -> Array:
    """Greedy decoding: append the most probable character ``length`` times (``(length,)``)."""
    length = _validate.positive_int("length", length)
    state, logp = prompt_state(params, prompt)
    return _greedy(params, state, logp, length)


@functools.partial(jax.jit, static_argnums=(3,))
def _greedy(params, state, logp, length):
    def step(carry, _):
        state, logp = carry
        tok = jnp.argmax(logp)
        return decode_step(params, state, tok), tok

    _, toks = lax.scan(step, (state, logp), None, length=length)
    return toks


class SearchResult(NamedTuple):
    """Sequences ``(n, L)`` int32 and their total log-probabilities ``(n,)``, best first."""

    tokens: Array
    scores: Array


def beam_search(
    step: Callable[[Any, Any, Array], tuple[Any, Array]],
    params: Any,
    state: Any,
    log_probs: ArrayLike,
    *,
    width: int,
    length: int,
) -> SearchResult:
    r"""Beam search (Aggarwal §7.2.1.1): keep the ``width`` most probable prefixes.

    At each of ``length`` steps every kept prefix $y_{1..t}$ is extended by every token $v$,
    scored $s(y_{1..t}v) = s(y_{1..t}) + \log p(v\mid y_{1..t})$, and the ``width`` best of
    the ``width`` $\times V$ extensions survive. ``width = 1`` is greedy decoding; a beam of
    width $\geq V^{L-1}$ never drops a prefix before the last step, so its best sequence is
    the exhaustive optimum (and width $V^L$ returns every sequence).

    ``step(params, state, token) -> (state, log_probs (V,))`` advances one hypothesis (e.g.
    :func:`decode_step`; a module-level function, so jit caches it); ``state`` is the pytree
    after the prompt and ``log_probs (V,)`` the distribution of the first new token.
    Returns a :class:`SearchResult` with ``tokens (width, length)``; slots that could not be
    filled (width $> V^L$) have score $-\infty$.
    """
    width = _validate.positive_int("width", width)
    length = _validate.positive_int("length", length)
    log_probs = _validate.float_array("log_probs", log_probs, ndim=1)
    if not callable(step):
        raise TypeError(f"`step` must be a function, got {type(step).__name__}.")
    return _beam_search(step, width, length, params, state, log_probs)


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _beam_search(step, width, length, params, state, log_probs):
    V = log_probs.shape[0]
    states = jax.tree.map(lambda s: jnp.broadcast_to(s, (width, *s.shape)), state)
    logp = jnp.broadcast_to(log_probs, (width, V))
    # one live hypothesis at the start: the others are -inf so they are never chosen twice
    scores = jnp.full((width,), -jnp.inf, log_probs.dtype).at[0].set(0.0)
    tokens = jnp.zeros((width, length), jnp.int32)
    advance = jax.vmap(step, in_axes=(None, 0, 0))

    def body(carry, t):
        scores, tokens, states, logp = carry
        cand = (scores[:, None] + logp).reshape(-1)  # (width * V,)
        best, flat = lax.top_k(cand, width)
        parent, tok = flat // V, (flat % V).astype(jnp.int32)
        tokens = tokens[parent].at[:, t].set(tok)
        states = jax.tree.map(lambda s: s[parent], states)
        states, logp = advance(params, states, tok)
        return (best, tokens, states, logp), None

    (scores, tokens, _, _), _ = lax.scan(body, (scores, tokens, states, logp), jnp.arange(length))
    return SearchResult(tokens, scores)


def sequence_log_prob(
    step: Callable[[Any, Any, Array], tuple[Any, Array]],
    params: Any,
    state: Any,
    log_probs: ArrayLike,
    tokens: ArrayLike,
) -> Array:
    r"""Total log-probability $\sum_t \log p(y_t\mid y_{<t})$ of sequences ``tokens (n, L)``
    (or ``(L,)``) under ``step`` from ``state``/``log_probs``; returns ``(n,)`` (or a scalar)."""
    tokens = _ids("tokens", tokens, 1 if np.ndim(tokens) == 1 else 2)
    log_probs = _validate.float_array("log_probs", log_probs, ndim=1)
    single = tokens.ndim == 1
    out = _sequence_log_prob(step, params, state, log_probs, tokens[None] if single else tokens)
    return out[0] if single else out


@functools.partial(jax.jit, static_argnums=(0,))
def _sequence_log_prob(step, params, state, log_probs, tokens):
    def one(seq):
        def body(carry, tok):
            state, logp, total = carry
            total = total + logp[tok]
            state, logp = step(params, state, tok)
            return (state, logp, total), None

        # the last token is scored but never fed: the model is not advanced past it
        init = (state, log_probs, jnp.zeros((), log_probs.dtype))
        (_, logp, total), _ = lax.scan(body, init, seq[:-1])
        return total + logp[seq[-1]]

    return jax.vmap(one)(tokens)


def exhaustive_search(
    step: Callable[[Any, Any, Array], tuple[Any, Array]],
    params: Any,
    state: Any,
    log_probs: ArrayLike,
    *,
    length: int,
) -> SearchResult:
    r"""Score all $V^L$ continuations of length ``length`` and sort them, best first.

    The reference that :func:`beam_search` must match on small cases. $V^L$ may be at most
    ``MAX_EXHAUSTIVE``. Returns a :class:`SearchResult` with ``tokens (V**L, length)``.
    """
    length = _validate.positive_int("length", length)
    log_probs = _validate.float_array("log_probs", log_probs, ndim=1)
    V = log_probs.shape[0]
    if V**length > MAX_EXHAUSTIVE:
        raise ValueError(
            f"exhaustive search over V**length = {V}**{length} = {V**length} sequences is too "
            f"large (at most {MAX_EXHAUSTIVE}); shorten `length` or use a smaller vocabulary."
        )
    seqs = jnp.asarray(np.array(list(itertools.product(range(V), repeat=length)), np.int32))
    scores = _sequence_log_prob(step, params, state, log_probs, seqs)
    order = jnp.argsort(-scores, stable=True)
    return SearchResult(seqs[order], scores[order])


# ------------------------------------------------------------------------------ baselines


def _smoothing(k: Any) -> float:
    _validate.positive("k", k, allow_zero=True)
    return float(k)


def unigram_log_probs(ids: ArrayLike, *, vocab_size: int, k: float = 1.0) -> Array:
    r"""Add-$k$ unigram model $\log\hat p(v) = \log\frac{n_v + k}{n + kV}$, ``(V,)``."""
    ids = _ids("ids", ids)
    V = _validate.positive_int("vocab_size", vocab_size)
    k = _smoothing(k)
    counts = jnp.zeros((V,), jnp.result_type(float)).at[ids].add(1.0)
    return jnp.log(counts + k) - jnp.log(ids.shape[0] + k * V)


def bigram_log_probs(ids: ArrayLike, *, vocab_size: int, k: float = 1.0) -> Array:
    r"""Add-$k$ bigram model $\log\hat p(b\mid a) = \log\frac{n_{ab} + k}{n_a + kV}$, ``(V, V)``
    with rows $a$ (the previous character), from the pairs ``(ids[t], ids[t+1])``.

    A row never seen in training ($n_a = 0$) falls back to uniform when $k > 0$.
    """
    ids = _ids("ids", ids)
    V = _validate.positive_int("vocab_size", vocab_size)
    k = _smoothing(k)
    counts = jnp.zeros((V, V), jnp.result_type(float)).at[ids[:-1], ids[1:]].add(1.0)
    return jnp.log(counts + k) - jnp.log(counts.sum(axis=1, keepdims=True) + k * V)


def unigram_loss(log_probs: ArrayLike, targets: ArrayLike) -> Array:
    r"""Mean $-\log\hat p(x)$ over ``targets`` (any shape) in nats per character."""
    log_probs = _validate.float_array("log_probs", log_probs, ndim=1)
    targets = jnp.asarray(targets)
    return -jnp.mean(log_probs[targets])


def bigram_loss(log_probs: ArrayLike, inputs: ArrayLike, targets: ArrayLike) -> Array:
    r"""Mean $-\log\hat p(x_{t+1}\mid x_t)$ over matching ``inputs``/``targets`` (nats/char)."""
    log_probs = _validate.float_array("log_probs", log_probs, ndim=2)
    inputs, targets = jnp.asarray(inputs), jnp.asarray(targets)
    if inputs.shape != targets.shape:
        raise ValueError(
            f"`inputs` {tuple(inputs.shape)} and `targets` {tuple(targets.shape)} must have "
            "the same shape."
        )
    return -jnp.mean(log_probs[inputs, targets])


def decoding_cache_size() -> int:
    """Compiled versions of the prompt reader, the tempered softmax and the sampler together
    (a widget that moves the temperature or the seed must not add one)."""
    return _prompt_state._cache_size() + _tempered._cache_size() + _sample._cache_size()
