r"""Sentence-level classification with a recurrent network, against a bag of tokens.

Aggarwal §7.7.3: one label per sentence (sentiment, say), read off the **last** hidden state of
an RNN, $P(y \mid x_{1:T}) = \mathrm{softmax}(h_T W_{hy} + b_y)$ (:func:`course_lib.rnn.
sequence_logits`). Contextual valence shifters ("not", "hardly") flip a sentiment
word's meaning, but only when they stand *in front of it*: order matters.

The synthetic task here isolates that. Every sentence of ``T`` tokens holds one sentiment word
(``good`` or ``bad``), one ``not`` and ``T - 2`` filler words. With probability 1/2 the ``not``
stands directly before the sentiment word and negates it; otherwise it stands elsewhere and
negates nothing. The label is *positive* iff (``good`` and not negated) or (``bad`` and
negated). Whether the sentence is negated is independent of which words it contains, so a
**bag of tokens** (any function of the word counts, not only a linear one) sees the same
multiset under both labels: its best accuracy is exactly 1/2. An RNN reads the order.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from course_lib import _validate, optim, rnn
from course_lib._types import Array, ArrayLike, PRNGKey
from course_lib.seq2seq import FAST_COMPILE

WORDS: tuple[str, ...] = ("the", "film", "plot", "was", "really", "quite", "good", "bad", "not")
GOOD, BAD, NOT = 6, 7, 8
N_FILLER = 6
VOCAB = len(WORDS)


def negation_data(*, key: PRNGKey, n: int, length: int = 6) -> tuple[Array, Array]:
    r"""``n`` sentences ``(n, length)`` of word ids and their labels ``(n,)`` (1 = positive).

    One sentiment word at a uniform position $j \ge 1$; ``not`` at $j - 1$ with probability 1/2
    (negated), else at a uniform position other than $j - 1$ and $j$; fillers elsewhere.
    Label $= [\text{good}] \oplus [\text{negated}]$.
    """
    _validate.prng_key("key", key)
    n = _validate.positive_int("n", n)
    T = _validate.positive_int("length", length)
    if T < 3:
        raise ValueError(
            f"`length` must be at least 3 (a sentiment word, a not, a filler), got {T}."
        )
    return _negation_data_jit(key, n, T)


def _negation_data(key, n, T):
    ks = jax.random.split(key, 5)
    tokens = jax.random.randint(ks[0], (n, T), 0, N_FILLER, dtype=jnp.int32)
    j = jax.random.randint(ks[1], (n,), 1, T, dtype=jnp.int32)  # sentiment position
    good = jax.random.bernoulli(ks[2], 0.5, (n,))
    negated = jax.random.bernoulli(ks[3], 0.5, (n,))
    # elsewhere: a uniform position among the T - 2 that are neither j - 1 nor j
    r = jax.random.randint(ks[4], (n,), 0, T - 2, dtype=jnp.int32)
    elsewhere = jnp.where(r < j - 1, r, r + 2)
    k = jnp.where(negated, j - 1, elsewhere)
    pos = jnp.arange(T)[None, :]
    tokens = jnp.where(pos == j[:, None], jnp.where(good, GOOD, BAD)[:, None], tokens)
    tokens = jnp.where(pos == k[:, None], NOT, tokens)
    return tokens, (good ^ negated).astype(jnp.int32)


_negation_data_jit = jax.jit(_negation_data, static_argnums=(1, 2), compiler_options=FAST_COMPILE)


def sentence_text(tokens: ArrayLike) -> str:
    """The words of one sentence ``(T,)`` of ids, joined by spaces."""
    ids = _validate.index_array("tokens", tokens, size=VOCAB, ndim=1)
    return " ".join(WORDS[int(i)] for i in ids)


def bag_of_tokens(tokens: ArrayLike) -> Array:
    r"""Word counts ``(n, V)`` of sentences ``(n, T)``: what a bag-of-tokens model sees (order
    is lost)."""
    ids = _validate.index_array("tokens", tokens, size=VOCAB, ndim=2)
    return jnp.sum(jax.nn.one_hot(ids, VOCAB), axis=1)


class Classifiers(NamedTuple):
    """``rnn``: a vanilla tanh RNN classifier (last state -> softmax over 2 classes, the book's
    §7.2 cell, :class:`course_lib.rnn.RNNParams`); ``bag``: logistic
    regression on word counts, ``(W (V, 2), b (2,))``."""

    rnn: rnn.RNNParams
    bag: tuple[Array, Array]


def init(*, key: PRNGKey, hidden_dim: int = 16) -> Classifiers:
    """A tanh-RNN sentence classifier and a zero bag-of-tokens logistic regression."""
    _validate.prng_key("key", key)
    p = _validate.positive_int("hidden_dim", hidden_dim)
    dt = jnp.result_type(float)
    gru = rnn.init(key=key, input_dim=VOCAB, hidden_dim=p, output_dim=2)
    return Classifiers(gru, (jnp.zeros((VOCAB, 2), dt), jnp.zeros((2,), dt)))


def _losses(params: Classifiers, tokens: Array, labels: Array) -> Array:
    xs = jax.nn.one_hot(tokens, VOCAB)
    rnn_loss = rnn.classification_loss(params.rnn, xs, labels)
    W, b = params.bag
    logp = jax.nn.log_softmax(jnp.sum(xs, axis=1) @ W + b[None, :], axis=-1)
    bag_loss = -jnp.mean(jnp.take_along_axis(logp, labels[:, None], axis=-1))
    return rnn_loss + bag_loss


def accuracies(params: Classifiers, tokens: ArrayLike, labels: ArrayLike) -> tuple[Array, Array]:
    """``(rnn accuracy, bag-of-tokens accuracy)`` on sentences ``(n, T)`` with labels ``(n,)``."""
    if not isinstance(params, Classifiers):
        raise TypeError(
            f"`params` must be sentence_classifier.Classifiers, got {type(params).__name__}."
        )
    tokens = _validate.index_array("tokens", tokens, size=VOCAB, ndim=2)
    labels = _validate.index_array("labels", labels, size=2, ndim=1)
    _validate.same_rows("tokens", tokens, "labels", labels)
    return _accuracies(params, tokens, labels)


@functools.partial(jax.jit, compiler_options=FAST_COMPILE)
def _accuracies(params, tokens, labels):
    xs = jax.nn.one_hot(tokens, VOCAB)
    W, b = params.bag
    bag = jnp.mean(jnp.argmax(jnp.sum(xs, axis=1) @ W + b[None, :], axis=-1) == labels)
    return rnn.accuracy(params.rnn, xs, labels), bag


def train(
    params: Classifiers,
    *,
    key: PRNGKey,
    steps: int,
    batch_size: int = 64,
    length: int = 6,
    learning_rate: Any = 1e-2,
) -> tuple[Classifiers, Array]:
    r"""Train both classifiers on the same fresh batches: ``steps`` Adam steps on the sum of
    their cross-entropies (the two share no weights, so each gets its own gradient; the joint
    gradient is clipped to norm 1). One jitted ``lax.scan``, compiled at XLA's optimization
    level 0 (a few hundred steps of this tiny model run faster than the default level
    compiles). Returns ``(params, losses (steps,))``."""
    if not isinstance(params, Classifiers):
        raise TypeError(
            f"`params` must be sentence_classifier.Classifiers, got {type(params).__name__}."
        )
    _validate.prng_key("key", key)
    steps = _validate.positive_int("steps", steps)
    batch_size = _validate.positive_int("batch_size", batch_size)
    T = _validate.positive_int("length", length)
    _validate.positive("learning_rate", learning_rate)
    return _train(params, key, steps, batch_size, T, learning_rate)


@functools.partial(jax.jit, static_argnums=(2, 3, 4), compiler_options=FAST_COMPILE)
def _train(params, key, steps, batch_size, T, learning_rate):
    tx = optim.adam(learning_rate)

    def step(carry, i):
        params, opt_state = carry
        tokens, labels = _negation_data(jax.random.fold_in(key, i), batch_size, T)
        value, grads = jax.value_and_grad(_losses)(params, tokens, labels)
        grads = rnn.clip_by_norm(grads, 1.0)
        updates, opt_state = tx.update(grads, opt_state, params)
        return (optim.apply_updates(params, updates), opt_state), value

    (params, _), losses = lax.scan(step, (params, tx.init(params)), jnp.arange(steps))
    return params, losses
