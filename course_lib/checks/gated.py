r"""Self-checks for the exercises on gated RNNs and character language models
(Aggarwal §7.5, §7.6, §7.2.1.1, Exercise 7.5).

Every check runs the student's function on a few fixed cases and compares with an independent
reference: the library cells :func:`course_lib.rnn.lstm_cell` / :func:`course_lib.rnn.gru_cell`,
``jax.jacobian`` of the cell-state recursion, ``jax.nn.softmax``, the add-$k$ n-gram model of
:mod:`course_lib.language_model`, or a NumPy ranking. Common slips (gates in the wrong order, no
$\tanh$ on the cell, $z$ on the wrong side, the temperature multiplied instead of divided, $k$
instead of $kV$ in the denominator, ranking extensions by their last step only...) are recognized
and answered with a targeted hint.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from course_lib import language_model, rnn
from course_lib.checks import (
    CheckFailed,
    Exercise,
    _array,
    _call,
    _close_within,
    _compare,
    _f,
    _passed,
    _scalar,
    _unpack,
)

_close = _close_within(rtol=1e-4, atol=1e-5)


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-a))


# ------------------------------------------------------------------------------ LSTM step

_EX_LSTM = Exercise("lstm_step", "")


def _lstm_cases() -> list[tuple[str, tuple[jax.Array, ...]]]:
    cases = []
    for seed, (d, p) in enumerate([(2, 3), (3, 4), (1, 2)]):
        k = jax.random.split(jax.random.key(70 + seed), 5)
        W = _f(jax.random.normal(k[0], (d + p, 4 * p)))
        b = _f(0.5 * jax.random.normal(k[1], (4 * p,)))
        h = _f(0.5 * jax.random.normal(k[2], (p,)))
        c = _f(jax.random.normal(k[3], (p,)))
        x = _f(jax.random.normal(k[4], (d,)))
        cases.append((f"d = {d}, p = {p} (random W, b, h, c, x; seed {seed})", (W, b, h, c, x)))
    return cases


def _lstm_variants(W, b, h, c, x) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Plausible wrong LSTM steps (NumPy), to name the slip."""
    W, b, h, c, x = (np.asarray(a, np.float64) for a in (W, b, h, c, x))
    p = h.shape[0]
    z = np.concatenate([x, h]) @ W + b
    zi, zf, zo, zg = np.split(z, 4)
    i, f, o, g = _sigmoid(zi), _sigmoid(zf), _sigmoid(zo), np.tanh(zg)
    out = {}
    c1 = i * c + f * g
    out["swap_if"] = (o * np.tanh(c1), c1)
    c2 = f * c + i * g
    out["no_tanh"] = (o * c2, c2)
    out["order_ifgo"] = None  # filled below
    i2, f2, g2, o2 = _sigmoid(zi), _sigmoid(zf), np.tanh(zo), _sigmoid(zg)
    c3 = f2 * c + i2 * g2
    out["order_ifgo"] = (o2 * np.tanh(c3), c3)
    c4 = f * c + g
    out["no_input_gate"] = (o * np.tanh(c4), c4)
    del p
    return out


_LSTM_HINTS = {
    "swap_if": "the input and forget gates are swapped: f multiplies the old cell c_{t-1}, "
    "i multiplies the candidate g.",
    "no_tanh": "h_t = o * tanh(c_t): the cell state goes through tanh before the output gate.",
    "order_ifgo": "the four column blocks of W are, in order, i, f, o, g (the candidate last).",
    "no_input_gate": "the candidate g is added through the input gate: c_t = f*c + i*g.",
}


def lstm_step(fn: Callable) -> None:
    r"""Check ``fn(W, b, h, c, x) -> (h_new, c_new)``: one LSTM step with fused weights
    ``W (d+p, 4p)`` (gate blocks i, f, o, g), against :func:`course_lib.rnn.lstm_cell`."""
    ex = _EX_LSTM
    cases = _lstm_cases()
    for words, (W, b, h, c, x) in cases:
        p = h.shape[0]
        out = _unpack(ex, words, _call(ex, fn, (W, b, h, c, x), words), ("h_new", "c_new"))
        h_got = _array(ex, words, "h_new", out[0], (p,))
        c_got = _array(ex, words, "c_new", out[1], (p,))
        params = rnn.LSTMParams(W, b, jnp.zeros((p, 1), W.dtype), jnp.zeros((1,), W.dtype))
        h_ref, c_ref = rnn.lstm_cell(params, (h, c), x)
        hint = None
        for name, variant in _lstm_variants(W, b, h, c, x).items():
            if _close(h_got, variant[0]) and _close(c_got, variant[1]):
                hint = _LSTM_HINTS[name]
                break
        if hint is None and _close(c_got, c_ref) and _close(h_got, c_ref):
            hint = _LSTM_HINTS["no_tanh"]
        _compare(ex, words, "c_new", c_got, c_ref, hint=hint)
        _compare(ex, words, "h_new", h_got, h_ref, hint=hint or _LSTM_HINTS["no_tanh"])
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ GRU step

_EX_GRU = Exercise("gru_step", "")


def gru_step(fn: Callable) -> None:
    r"""Check ``fn(W_zr, b_zr, W_n, b_n, h, x) -> h_new``: one GRU step (book convention: $z$
    keeps the old state, $r$ applied before the product), against
    :func:`course_lib.rnn.gru_cell`."""
    ex = _EX_GRU
    n_cases = 0
    for seed, (d, p) in enumerate([(2, 3), (3, 2), (1, 4)]):
        k = jax.random.split(jax.random.key(80 + seed), 6)
        W_zr = _f(jax.random.normal(k[0], (d + p, 2 * p)))
        b_zr = _f(0.5 * jax.random.normal(k[1], (2 * p,)))
        W_n = _f(jax.random.normal(k[2], (d + p, p)))
        b_n = _f(0.5 * jax.random.normal(k[3], (p,)))
        h = _f(jax.random.normal(k[4], (p,)))
        x = _f(jax.random.normal(k[5], (d,)))
        words = f"d = {d}, p = {p} (random weights, h and x; seed {seed})"
        got = _array(ex, words, "h_new", _call(ex, fn, (W_zr, b_zr, W_n, b_n, h, x), words), (p,))
        params = rnn.GRUParams(
            W_zr, b_zr, W_n, b_n, jnp.zeros((p, 1), h.dtype), jnp.zeros((1,), h.dtype)
        )
        ref = rnn.gru_cell(params, h, x)
        # plausible slips, in NumPy
        Wz, bz, Wn, bn, hh, xx = (np.asarray(a, np.float64) for a in (W_zr, b_zr, W_n, b_n, h, x))
        z, r = np.split(_sigmoid(np.concatenate([xx, hh]) @ Wz + bz), 2)
        n = np.tanh(np.concatenate([xx, r * hh]) @ Wn + bn)
        n_after = np.tanh(
            np.concatenate([xx, 0 * hh]) @ Wn + r * (np.concatenate([0 * xx, hh]) @ Wn) + bn
        )
        n_no_r = np.tanh(np.concatenate([xx, hh]) @ Wn + bn)
        hint = None
        if _close(got, (1 - z) * hh + z * n):
            hint = "z and 1 - z are swapped: in this convention z keeps the OLD state, z * h_{t-1}."
        elif _close(got, z * hh + (1 - z) * n_after):
            hint = (
                "the reset gate multiplies h_{t-1} BEFORE the product with W_n (the book's "
                "and Cho et al.'s form), not the product's result (PyTorch's form)."
            )
        elif _close(got, z * hh + (1 - z) * n_no_r):
            hint = "the candidate reads r * h_{t-1}, the reset-gated old state."
        elif _close(got, r * hh + (1 - r) * n):
            hint = "the first p outputs of the sigmoid are z, the next p are r."
        _compare(ex, words, "h_new", got, ref, hint=hint)
        n_cases += 1
    _passed(ex, n_cases)


# ------------------------------------------------------------------------------ cell path

_EX_PATH = Exercise("cell_path_jacobian", "")


def _cell_chain(c0: jax.Array, forget: jax.Array, additions: jax.Array) -> jax.Array:
    """c_T of the recursion c_t = f_t * c_{t-1} + u_t with the gates held fixed."""
    c = c0
    for t in range(forget.shape[0]):
        c = forget[t] * c + additions[t]
    return c


def cell_path_jacobian(fn: Callable) -> None:
    r"""Check ``fn(forget_gates) -> J (p, p)``: $\partial c_T/\partial c_0$ along the cell path
    with every gate held fixed, given ``forget_gates (T, p)``; the reference is
    ``jax.jacobian`` of the recursion $c_t = f_t\odot c_{t-1} + u_t$."""
    ex = _EX_PATH
    cases = [((1, 3), 0), ((5, 3), 1), ((20, 4), 2), ((3, 1), 3)]
    for (T, p), seed in cases:
        k1, k2, k3 = jax.random.split(jax.random.key(90 + seed), 3)
        forget = _f(jax.random.uniform(k1, (T, p), minval=0.5, maxval=1.0))
        adds = _f(jax.random.normal(k2, (T, p)))
        c0 = _f(jax.random.normal(k3, (p,)))
        words = f"T = {T} steps, p = {p} units (forget gates in [0.5, 1])"
        shape_hint = (
            "return the full p x p Jacobian matrix (entry [j, k] = dc_T[j] / dc_0[k]), "
            "not only its diagonal."
        )
        got = _array(ex, words, "J", _call(ex, fn, (forget,), words), (p, p), hint=shape_hint)
        ref = jax.jacobian(_cell_chain)(c0, forget, adds)
        f64 = np.asarray(forget, np.float64)
        hint = None
        if _close(got, np.diag(f64[-1])) and T > 1:
            hint = "that is one step; the cell path multiplies the forget gates of ALL T steps."
        elif _close(got, np.diag(f64.sum(0))):
            hint = "the chain rule multiplies the per-step Jacobians; it does not add them."
        elif _close(np.diag(got), np.prod(f64, 0)):
            hint = "the off-diagonal entries are 0: unit j's cell never reads unit k's."
        _compare(ex, words, "J", got, ref, rtol=1e-4, atol=1e-6, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ temperature

_EX_TEMP = Exercise("softmax_with_temperature", "")


def softmax_with_temperature(fn: Callable) -> None:
    r"""Check ``fn(scores, T)`` $= \mathrm{softmax}(z/T)$ ``(V,)``, including large scores
    (it must not overflow), against ``jax.nn.softmax``."""
    ex = _EX_TEMP
    cases = [
        ([2.0, 1.0, 0.0, -1.0], 1.0),
        ([2.0, 1.0, 0.0, -1.0], 0.5),
        ([2.0, 1.0, 0.0, -1.0], 3.0),
        ([0.3, -1.2, 2.5], 0.1),
        ([500.0, 499.0, 490.0], 0.5),
    ]
    for scores, T in cases:
        z = _f(scores)
        words = f"scores = {scores}, T = {T}"
        got = _array(ex, words, "probabilities", _call(ex, fn, (z, T), words), (len(scores),))
        ref = np.asarray(jax.nn.softmax(np.asarray(scores, np.float64) / T))
        z64 = np.asarray(scores, np.float64)
        hint = None
        if not np.all(np.isfinite(got)):
            hint = (
                "exp overflowed: subtract the largest scaled score before exponentiating; "
                "softmax(a) = softmax(a - max(a)) leaves the result unchanged."
            )
        elif _close(
            got, np.exp(z64 * T - np.max(z64 * T)) / np.exp(z64 * T - np.max(z64 * T)).sum()
        ):
            hint = (
                "divide the scores by T (a small T must sharpen the distribution), don't multiply."
            )
        elif _close(got, np.exp(z64 - z64.max()) / np.exp(z64 - z64.max()).sum()):
            hint = "the temperature is missing: use softmax(scores / T)."
        _compare(ex, words, "probabilities", got, ref, rtol=1e-4, atol=1e-6, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ bigram

_EX_BIGRAM = Exercise("bigram_cross_entropy", "")


def bigram_cross_entropy(fn: Callable) -> None:
    r"""Check ``fn(train_ids, val_ids, vocab_size, k)``: the mean
    $-\ln\hat p(x_{t+1}\mid x_t)$ over the consecutive pairs of ``val_ids`` under the add-$k$
    bigram model of ``train_ids``, in nats; reference
    :func:`course_lib.language_model.bigram_log_probs`."""
    ex = _EX_BIGRAM
    rng = np.random.default_rng(7)
    cases = [
        (np.array([0, 1, 0, 1, 2, 0, 1]), np.array([0, 1, 2, 2]), 3, 1.0),
        (rng.integers(0, 5, 60), rng.integers(0, 5, 20), 5, 0.5),
        (rng.integers(0, 4, 40), rng.integers(0, 4, 30), 6, 2.0),  # ids 4, 5 never seen
    ]
    for train, val, V, k in cases:
        words = f"{len(train)} training ids, {len(val)} validation ids, V = {V}, k = {k}"
        tr, va = jnp.asarray(train, jnp.int32), jnp.asarray(val, jnp.int32)
        got = _scalar(ex, words, "the cross-entropy", _call(ex, fn, (tr, va, V, k), words))
        logp = language_model.bigram_log_probs(tr, vocab_size=V, k=k)
        ref = float(language_model.bigram_loss(logp, va[:-1], va[1:]))
        counts = np.zeros((V, V))
        np.add.at(counts, (train[:-1], train[1:]), 1.0)
        rows = counts.sum(1, keepdims=True)

        def ce(P: np.ndarray, val: np.ndarray = val) -> float:
            return float(-np.mean(np.log(P[val[:-1], val[1:]])))

        hint = None
        if math.isclose(got, ref / math.log(2), rel_tol=1e-4):
            hint = "that is in bits (log2); this exercise asks for nats (natural log)."
        elif math.isclose(got, ce((counts + k) / (rows + k)), rel_tol=1e-4):
            hint = "the denominator adds k once per possible next character: n_a + k * V."
        elif math.isclose(got, ce((counts + k) / (counts.sum() + k * V)), rel_tol=1e-4):
            hint = (
                "normalize by the count of the PREVIOUS character n_a (a row sum), not by "
                "all pairs."
            )
        elif math.isclose(got, ce((counts.T + k) / (counts.sum(0)[:, None] + k * V)), rel_tol=1e-4):
            hint = "rows are the previous character a, columns the next one b: count (a, b) pairs."
        _compare(
            ex, words, "the cross-entropy", np.float64(got), ref, rtol=1e-4, atol=1e-6, hint=hint
        )
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ beam step

_EX_BEAM = Exercise("beam_step", "")


def beam_step(fn: Callable) -> None:
    r"""Check ``fn(scores, log_probs, width) -> (new_scores, parents, tokens)``: the ``width``
    best extensions $s_i + \log p_i(v)$ of beams ``scores (B,)`` by tokens ``log_probs (B, V)``,
    best first; ``parents``/``tokens`` are integer arrays. Reference: a NumPy sort."""
    ex = _EX_BEAM
    cases = [(1, 4, 2, 0), (3, 5, 3, 1), (2, 6, 12, 2), (4, 3, 4, 3)]
    for B, V, width, seed in cases:
        k1, k2 = jax.random.split(jax.random.key(100 + seed))
        scores = _f(-3.0 * jax.random.uniform(k1, (B,)))
        logp = _f(jax.nn.log_softmax(2.0 * jax.random.normal(k2, (B, V))))
        words = f"B = {B} beams, V = {V} tokens, width = {width}"
        out = _call(ex, fn, (scores, logp, width), words)
        new, parents, tokens = _unpack(ex, words, out, ("new_scores", "parents", "tokens"))
        new = _array(ex, words, "new_scores", new, (width,))
        parents = _array(ex, words, "parents", parents, (width,))
        tokens = _array(ex, words, "tokens", tokens, (width,))
        total = np.asarray(scores, np.float64)[:, None] + np.asarray(logp, np.float64)
        order = np.argsort(-total.ravel(), kind="stable")[:width]
        ref_new = total.ravel()[order]
        hint = None
        lp = np.asarray(logp, np.float64).ravel()
        if _close(new, np.sort(lp)[::-1][:width]):
            hint = (
                "rank the extensions by the TOTAL score s_i + log p_i(v), not by the last "
                "step alone."
            )
        elif _close(new, np.sort(total.ravel())[:width]):
            hint = "keep the LARGEST scores (log-probabilities are <= 0; closer to 0 is better)."
        elif _close(np.sort(new), np.sort(ref_new)):
            hint = "return the extensions sorted best first."
        _compare(ex, words, "new_scores", new, ref_new, rtol=1e-5, atol=1e-6, hint=hint)
        # parents/tokens must point at extensions with exactly those totals
        picked = total[parents.astype(int).clip(0, B - 1), tokens.astype(int).clip(0, V - 1)]
        bad = (parents != parents.astype(int)) | (parents < 0) | (parents >= B)
        bad |= (tokens != tokens.astype(int)) | (tokens < 0) | (tokens >= V)
        if np.any(bad) or not _close(picked, ref_new, rtol=1e-5, atol=1e-6):
            raise CheckFailed(
                ex,
                "parents/tokens do not point at the extensions with those scores",
                case=words,
                details=[
                    f"scores[parents] + log_probs[parents, tokens] = {picked.round(4).tolist()}"
                ],
                hint="for a flat index j into the (B, V) table, parent = j // V and token = j % V.",
            )
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ mutations

_EX_SURPRISE = Exercise("surprising_positions", "7.5")


def surprising_positions(fn: Callable) -> None:
    r"""Check ``fn(log_probs, ids, threshold_bits)``: the positions $t\geq 1$ whose surprisal
    $-\log_2\hat p(x_t\mid x_{t-1})$ under a bigram table ``log_probs (V, V)`` (natural logs)
    exceeds ``threshold_bits``, as a sorted integer array."""
    ex = _EX_SURPRISE
    # a DNA-like bigram model: A->C->G->T->A is likely, everything else unlikely (Exercise 7.5)
    V = 4
    P = np.full((V, V), 0.02)
    for a in range(V):
        P[a, (a + 1) % V] = 0.94
    logp = _f(np.log(P))
    base = [0, 1, 2, 3] * 5
    cases = [
        (base, 2.0, []),
        (base[:7] + [0] + base[8:], 2.0, None),
        (base[:3] + [1] + base[4:12] + [3] + base[13:], 5.0, None),
        ([0, 0, 0, 1, 2], 0.07, None),
    ]
    for ids, thr, _ in cases:
        words = f"ids = {ids}, threshold = {thr} bits"
        ids_arr = jnp.asarray(ids, jnp.int32)
        got = _call(ex, fn, (logp, ids_arr, thr), words)
        got = _array(ex, words, "positions", got)
        lp = np.log(P)[np.array(ids[:-1]), np.array(ids[1:])]
        bits = -lp / math.log(2)
        ref = (np.flatnonzero(bits > thr) + 1).astype(np.float64)
        hint = None
        if got.shape == ref.shape and np.array_equal(got, ref - 1):
            hint = (
                "position t is the character x_t being predicted: the pair (x_{t-1}, x_t) "
                "gives t, not t - 1."
            )
        elif np.array_equal(
            got, (np.flatnonzero(-lp > thr) + 1).astype(np.float64)
        ) and not np.array_equal(got, ref):
            hint = "the threshold is in bits: divide the natural-log surprisal by ln 2."
        _compare(
            ex, words, "positions", got.ravel() if got.ndim else got, ref, rtol=0, atol=0, hint=hint
        )
    _passed(ex, len(cases))
