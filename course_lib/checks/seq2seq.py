r"""Self-checks for the exercises on encoder–decoders and sentence-level models (Aggarwal §7.7.2,
§7.7.3; Exercises 7.3, 7.7, 7.8, 7.10; Goodfellow §10.2.1).

References are written out here in NumPy (the shift with START, the masked cross-entropy, the
recurrent recommender, the softmax over tags, the cosine) or are the library itself where the
exercise is to reproduce it (:func:`course_lib.seq2seq.decode`). Common slips get a hint.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from course_lib import seq2seq
from course_lib.checks import Exercise, _array, _call, _compare, _passed, _unpack

START, END, PAD = seq2seq.START, seq2seq.END, seq2seq.PAD


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-5, atol=1e-6))


# ------------------------------------------------------------------------------ decoder inputs

_EX_SHIFT = Exercise("decoder_inputs", "")


def decoder_inputs(fn: Callable) -> None:
    """Check ``fn(targets)``: the teacher-forced decoder inputs, START then the targets shifted
    right by one (the last target dropped)."""
    ex = _EX_SHIFT
    rng = np.random.default_rng(0)
    cases = [
        ("one target sequence [3, 1, 4, END]", np.array([[3, 1, 4, END]])),
        (
            "two sequences of length 5 with padding",
            np.array([[2, 7, END, PAD, PAD], [9, 9, 0, 5, END]]),
        ),  # fmt: skip
        ("a batch of 4 random sequences of length 6", rng.integers(0, 10, (4, 6))),
        ("a single token", np.array([[END]])),
    ]
    for words, t in cases:
        got = _array(ex, words, "the decoder inputs", _call(ex, fn, (jnp.asarray(t),), words))
        expected = np.concatenate([np.full((t.shape[0], 1), START), t[:, :-1]], axis=1)
        if _same(got, expected):
            continue
        hint = "the decoder's first input is START, and input t is the *previous* target y_{t-1}."
        if got.shape == (t.shape[0], t.shape[1] + 1):
            hint = "keep the length of the targets: drop the last target (it is never an input)."
        elif _same(got, np.concatenate([t[:, 1:], np.full((t.shape[0], 1), START)], axis=1)):
            hint = "that shifts left; the inputs lag the targets by one step (shift right)."
        elif _same(got, t):
            hint = "the inputs are not the targets themselves: the decoder would copy its answer."
        _compare(ex, words, "the decoder inputs", got, expected, atol=0, rtol=0, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ loss

_EX_LOSS = Exercise("teacher_forced_loss", "")


def teacher_forced_loss(fn: Callable) -> None:
    """Check ``fn(logits, targets, mask)``: the mean cross-entropy over the target tokens whose
    mask is 1 (logits ``(n, m, V)``, targets and mask ``(n, m)``)."""
    ex = _EX_LOSS
    rng = np.random.default_rng(1)
    cases = []
    for n, m, V, words in [(1, 3, 4, "one sequence, no padding"),
                           (3, 5, 13, "three sequences with padding"),
                           (4, 6, 13, "four sequences of different lengths")]:  # fmt: skip
        logits = rng.normal(0, 2, (n, m, V))
        targets = rng.integers(0, V, (n, m))
        lengths = rng.integers(1, m + 1, n) if n > 1 else np.array([m])
        mask = (np.arange(m)[None, :] < lengths[:, None]).astype(float)
        cases.append((words, logits, targets, mask))
    for words, logits, targets, mask in cases:
        args = (jnp.asarray(logits, jnp.float32), jnp.asarray(targets), jnp.asarray(mask))
        got = _array(ex, words, "the loss", _call(ex, fn, args, words), ())
        ce = -np.take_along_axis(_log_softmax(logits), targets[..., None], axis=-1)[..., 0]
        expected = (ce * mask).sum() / mask.sum()
        if np.isclose(got, expected, rtol=1e-4):
            continue
        if np.isclose(got, ce.mean(), rtol=1e-4):
            hint = "padding counts here: multiply by the mask before averaging."
        elif np.isclose(got, (ce * mask).sum(), rtol=1e-4):
            hint = "divide by the number of real target tokens (the sum of the mask)."
        elif np.isclose(got, np.mean((ce * mask).sum(1) / mask.sum(1)), rtol=1e-4):
            hint = "average over all real tokens together, not per sequence first."
        else:
            hint = (
                "log_softmax over the vocabulary, pick the target's entry, negate, mask, average."
            )
        _compare(ex, words, "the loss", got, expected, rtol=1e-4, atol=1e-6, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ greedy decoding

_EX_GREEDY = Exercise("greedy_decode", "")


def _greedy_cases():
    """The cases, built one at a time (a stub fails before the later models are made)."""
    for seed, p, boost in [(0, 8, 0.0), (1, 8, 0.0), (2, 8, 2.5), (3, 8, 4.0)]:
        params = seq2seq.init(key=jax.random.key(seed), hidden_dim=p)
        dec = params.decoder._replace(b_y=params.decoder.b_y.at[END].add(boost))
        params = params._replace(decoder=dec)
        src = np.array(jax.random.randint(jax.random.key(10 + seed), (6,), 0, 10))
        length = 3 + seed
        yield f"hidden size {p}, a source of length {length} (seed {seed})", params, src, length


def greedy_decode(fn: Callable) -> None:
    """Check ``fn(params, src, length)``: greedy free-running decoding for ``len(src) + 1``
    steps, PAD after the first END; compared with :func:`course_lib.seq2seq.decode`."""
    ex = _EX_GREEDY
    count = 0
    for words, params, src, length in _greedy_cases():
        count += 1
        out = _call(ex, fn, (params, jnp.asarray(src), length), words)
        got = _array(ex, words, "the tokens", out)
        expected = np.asarray(seq2seq.decode(params, src, length)[0], np.float64)
        if _same(got, expected):
            continue
        hint = "start from START and feed back the argmax of each step's logits."
        if got.shape == expected.shape:
            first = int(np.argmax(expected == END)) if (expected == END).any() else None
            if first is not None and _same(got[: first + 1], expected[: first + 1]):
                hint = "after the first END the decoder has stopped: every later output is PAD."
        _compare(ex, words, "the tokens", got, expected, atol=0, rtol=0, hint=hint)
    _passed(ex, count)


# ------------------------------------------------------------------------------ Ex 7.3

_EX_REC = Exercise("recommender_scores", "7.3")


def recommender_scores(fn: Callable) -> None:
    r"""Check ``fn(items, W_xh, W_hh, W_hy)``: $h_t = \tanh(W_{xh}[i_t] + h_{t-1}W_{hh})$ from
    $h_0 = 0$ over the history ``items``, scores $h_T W_{hy}$ for the next item."""
    ex = _EX_REC
    rng = np.random.default_rng(3)
    cases = []
    for n_items, p, T in [(5, 3, 1), (6, 4, 3), (10, 6, 7), (8, 5, 5)]:
        cases.append((f"{n_items} items, hidden size {p}, a history of {T} items",
                      rng.integers(0, n_items, T), rng.normal(0, 1, (n_items, p)),
                      rng.normal(0, 1, (p, p)), rng.normal(0, 1, (p, n_items))))  # fmt: skip
    for words, items, Wx, Wh, Wy in cases:
        args = (jnp.asarray(items), *(jnp.asarray(a, jnp.float32) for a in (Wx, Wh, Wy)))
        got = _array(ex, words, "the scores", _call(ex, fn, args, words))
        h = np.zeros(Wh.shape[0])
        for i in items:
            h = np.tanh(Wx[i] + h @ Wh)
        expected = h @ Wy
        if _same(got, expected):
            continue
        hint = "run the recurrence over the whole history, then apply W_hy to the last state."
        if _same(got, np.tanh(Wx[items[-1]]) @ Wy):
            hint = "that uses only the last item (the feed-forward model); carry h through time."
        elif got.shape == expected.shape:
            h2 = np.zeros(Wh.shape[0])
            for i in items:
                h2 = Wx[i] + h2 @ Wh
            if _same(got, h2 @ Wy):
                hint = "apply tanh at every step."
        _compare(ex, words, "the scores", got, expected, rtol=1e-4, atol=1e-5, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ Ex 7.7

_EX_COPY = Exercise("copy_targets", "7.7")


def copy_targets(fn: Callable) -> None:
    """Check ``fn(src, length)``: the decoder targets ``(n, T+1)`` of the autoencoding pairs
    x -> x: the source digits, then END, then PAD."""
    ex = _EX_COPY
    rng = np.random.default_rng(4)
    cases = [
        ("one source [4, 2, 7] of length 3", np.array([[4, 2, 7]]), np.array([3])),
        ("sources padded to 5, lengths 2 and 5", rng.integers(0, 10, (2, 5)), np.array([2, 5])),
        ("six sources padded to 8", rng.integers(0, 10, (6, 8)), rng.integers(1, 9, 6)),
    ]
    for words, src, length in cases:
        out = _call(ex, fn, (jnp.asarray(src), jnp.asarray(length)), words)
        got = _array(ex, words, "the targets", out)
        expected = np.asarray(seq2seq.make_batch(src, length, targets=src).dec_tgt, np.float64)
        if _same(got, expected):
            continue
        hint = "copy the first `length` digits, put END right after them, PAD the rest."
        rev = np.asarray(seq2seq.make_batch(src, length).dec_tgt, np.float64)
        if _same(got, rev):
            hint = "those are the reversal task's targets; autoencoding copies x -> x."
        elif got.shape == (src.shape[0], src.shape[1]):
            hint = "the targets have one more position than the source: the END token."
        elif got.shape == expected.shape and not (got == END).any():
            hint = "the decoder must learn where to stop: put END after the last digit."
        _compare(ex, words, "the targets", got, expected, atol=0, rtol=0, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ Ex 7.8

_EX_TAGS = Exercise("top_hashtags", "7.8")


def top_hashtags(fn: Callable) -> None:
    r"""Check ``fn(h, W, b, k)``: the ``k`` most probable tags under
    $\mathrm{softmax}(hW + b)$, as ``(indices (k,), probabilities (k,))``, most probable first."""
    ex = _EX_TAGS
    rng = np.random.default_rng(5)
    cases = [(f"hidden size {p}, {m} tags, k = {k}", rng.normal(0, 1, p),
              rng.normal(0, 1.5, (p, m)), rng.normal(0, 0.5, m), k)
             for p, m, k in [(3, 5, 1), (4, 8, 3), (6, 12, 5)]]  # fmt: skip
    for words, h, W, b, k in cases:
        args = (*(jnp.asarray(a, jnp.float32) for a in (h, W, b)), k)
        idx, probs = _unpack(ex, words, _call(ex, fn, args, words), ("indices", "probabilities"))
        idx = _array(ex, words, "the indices", idx, (k,))
        probs = _array(ex, words, "the probabilities", probs, (k,))
        z = h @ W + b
        p_all = np.exp(_log_softmax(z))
        order = np.argsort(-p_all)[:k]
        hint = "softmax over all tags, then the k largest, in decreasing order."
        if _same(idx, order[::-1].astype(float)):
            hint = "most probable first: sort in decreasing order."
        _compare(ex, words, "the indices", idx, order, atol=0, rtol=0, hint=hint)
        hint = "probabilities, not scores: softmax over *all* tags (they sum to 1)."
        if _same(probs, z[order]):
            hint = "those are the raw scores; turn them into probabilities with a softmax."
        elif _same(probs, 1 / (1 + np.exp(-z[order]))):
            hint = "one tag per message: a softmax over the tags, not a sigmoid per tag."
        _compare(ex, words, "the probabilities", probs, p_all[order], rtol=1e-4, atol=1e-6,
                 hint=hint)  # fmt: skip
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ Ex 7.10

_EX_COS = Exercise("code_cosine", "7.10")


def code_cosine(fn: Callable) -> None:
    r"""Check ``fn(a, b)``: the cosine similarity of each pair of rows,
    $a_i^\top b_i/(\|a_i\|\|b_i\|)$, shape ``(n,)``."""
    ex = _EX_COS
    rng = np.random.default_rng(6)
    a3 = rng.normal(0, 1, (3, 4))
    cases = [
        ("a row and twice itself", np.array([[1.0, 2.0, 2.0]]), np.array([[2.0, 4.0, 4.0]])),
        (
            "orthogonal and opposite rows",
            np.array([[1.0, 0.0], [1.0, 1.0]]),
            np.array([[0.0, 3.0], [-2.0, -2.0]]),
        ),  # fmt: skip
        ("three random pairs of codes in 4-d", a3, rng.normal(0, 1, (3, 4))),
        ("five codes in 16-d, scaled", rng.normal(0, 3, (5, 16)), rng.normal(0, 0.2, (5, 16))),
    ]
    for words, a, b in cases:
        args = (jnp.asarray(a, jnp.float32), jnp.asarray(b, jnp.float32))
        got = _array(ex, words, "the cosines", _call(ex, fn, args, words))
        expected = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
        if _same(got, expected):
            continue
        hint = "divide each row pair's dot product by the product of the two rows' norms."
        if _same(got, (a * b).sum(1)):
            hint = "that is the dot product; normalize by both lengths."
        elif _same(got, 1 - expected):
            hint = "that is the cosine *distance*; return the similarity."
        elif got.shape == (a.shape[0], a.shape[0]):
            hint = "one number per pair of rows (a_i with b_i), not all pairs."
        _compare(ex, words, "the cosines", got, expected, rtol=1e-4, atol=1e-5, hint=hint)
    _passed(ex, len(cases))
