r"""Self-checks for the exercises on attention and external memory (Aggarwal §10.2-10.3).

Every check runs the student's function on a few fixed cases and compares with a reference
written out here in NumPy: Luong's three scores (Eq 10.6), softmax weights and the context
(Eq 10.3-10.4), the REINFORCE estimate $(R-b)(e_i-\pi)$ (Eq 10.1, Exercise 10.1), token-wise
attention for sequence labelling (Exercise 10.2), a content-addressed read (Eq 10.13 corrected,
Eq 10.9) and one move of the sorting game (§10.3.1). Common slips are recognized and answered
with a targeted hint.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import jax.numpy as jnp
import numpy as np

from course_lib.checks import (
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

_close = _close_within(rtol=1e-5, atol=1e-6)


def _softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def _rng_array(seed: int, shape: tuple[int, ...], scale: float = 1.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=shape) * scale


# ------------------------------------------------------------------------------ Luong's scores

_EX_SCORE = Exercise("luong_score", "")


def luong_score(fn: Callable) -> None:
    r"""Check ``fn(H, h, kind, W_a, v_a)``: the scores of Eq 10.6 for ``kind`` in
    {"dot", "general", "concat"}; ``H (T, p)``, ``h (p,)``; returns ``(T,)``."""
    ex = _EX_SCORE
    cases = []
    for seed, (T, p, k) in enumerate([(5, 3, 4), (4, 2, 3), (6, 4, 2)]):
        H = _rng_array(10 + seed, (T, p))
        h = _rng_array(20 + seed, (p,))
        Wg = _rng_array(30 + seed, (p, p), 0.7)
        Wc = _rng_array(40 + seed, (k, 2 * p), 0.7)
        v = _rng_array(50 + seed, (k,))
        cases.append((f"dot, T = {T}, p = {p}", "dot", H, h, None, None, H @ h))
        cases.append((f"general, T = {T}, p = {p}", "general", H, h, Wg, None, H @ Wg.T @ h))
        both = np.concatenate([H, np.broadcast_to(h, H.shape)], axis=1)
        cases.append(
            (f"concat, T = {T}, p = {p}, k = {k}", "concat", H, h, Wc, v, np.tanh(both @ Wc.T) @ v)
        )
    for words, kind, H, h, Wa, v, expected in cases:
        args = (_f(H), _f(h), kind, None if Wa is None else _f(Wa), None if v is None else _f(v))
        got = _array(ex, words, "the scores", _call(ex, fn, args, words), expected.shape,
                     hint="one score per encoder state: shape (T,).")  # fmt: skip
        if _close(got, expected):
            continue
        hint = "write the score of each kind as in Eq 10.6 and compare on this case."
        if kind == "general" and _close(got, H @ Wa @ h):
            hint = "general is h_t^T W_a h_s: W_a acts on the encoder state h_s (H @ W_a.T @ h)."
        elif kind == "concat":
            swapped = np.concatenate([np.broadcast_to(h, H.shape), H], axis=1)
            if _close(got, np.tanh(swapped @ Wa.T) @ v):
                hint = "stack the encoder state first: [h_s; h_t], as in Eq 10.6."
            elif _close(got, (both @ Wa.T) @ v):
                hint = "concat applies tanh to W_a [h_s; h_t] before the product with v_a."
        elif kind == "dot" and _close(got, _softmax(expected)):
            hint = "return the scores themselves; the softmax comes later (Eq 10.7)."
        _compare(ex, words, "the scores", got, expected, rtol=1e-5, atol=1e-5, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ soft attention

_EX_SOFT = Exercise("soft_attention", "")


def soft_attention(fn: Callable) -> None:
    r"""Check ``fn(H, h)`` = ``(a, c)``: dot-score softmax weights ``(T,)`` and the context
    $c=\sum_s a_s H_s$ ``(p,)`` (Eq 10.3-10.4)."""
    ex = _EX_SOFT
    cases = [
        ("T = 5, p = 3", _rng_array(1, (5, 3)), _rng_array(2, (3,))),
        ("T = 1: one encoder state", _rng_array(3, (1, 4)), _rng_array(4, (4,))),
        ("large scores (up to ~100): subtract the max", _rng_array(5, (4, 2), 7.0),
         _rng_array(6, (2,), 7.0)),
        ("T = 7, p = 6", _rng_array(7, (7, 6)), _rng_array(8, (6,))),
    ]  # fmt: skip
    for words, H, h in cases:
        out = _call(ex, fn, (_f(H), _f(h)), words)
        a_got, c_got = _unpack(ex, words, out, ("a", "c"))
        T, p = H.shape
        a_got = _array(ex, words, "the weights a", a_got, (T,), hint="one weight per row of H.")
        c_got = _array(ex, words, "the context c", c_got, (p,), hint="c has the shape of a row.")
        scores = H @ h
        a = _softmax(scores)
        if not _close(a_got, a):
            if _close(a_got, scores):
                hint = "those are the scores; the weights are their softmax (Eq 10.3)."
            elif _close(a_got, scores / scores.sum()):
                hint = "normalize exp(score), not the score itself: weights must be positive."
            elif not np.all(np.isfinite(a_got)):
                hint = "exp overflowed: subtract the largest score first (or use jax.nn.softmax)."
            else:
                hint = "a_s = exp(h_s . h) / sum_j exp(h_j . h)."
            _compare(ex, words, "the weights a", a_got, a, rtol=1e-5, atol=1e-6, hint=hint)
        c = a @ H
        hint = "c = sum_s a_s h_s: weight the rows of H (a @ H)."
        if _close(c_got, H.mean(axis=0)):
            hint = "that is the plain mean of the rows; weight them by a."
        elif p == T and _close(c_got, H @ a):
            hint = "a weights the *rows* of H: a @ H, not H @ a."
        _compare(ex, words, "the context c", c_got, c, rtol=1e-5, atol=1e-5, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ REINFORCE

_EX_REINFORCE = Exercise("reinforce_gradient", "10.1")


def reinforce_gradient(fn: Callable) -> None:
    r"""Check ``fn(logits, index, reward, baseline)``: the one-sample score-function estimate
    $(R-b)\nabla_z\log\pi_i = (R-b)(e_i-\pi)$, ``(m,)``."""
    ex = _EX_REINFORCE
    cases = [
        ("3 logits, index 0, reward 1, baseline 0", [0.2, -0.5, 1.0], 0, 1.0, 0.0),
        ("uniform logits over 4, index 2, reward -2, baseline -1", [0.0] * 4, 2, -2.0, -1.0),
        ("5 logits, index 4, reward 0.5, baseline 0.2", [1.0, 0.3, -0.7, 2.0, 0.0], 4, 0.5, 0.2),
        ("reward equal to the baseline: no update", [0.5, 0.1], 1, 0.3, 0.3),
    ]
    for words, z, i, R, b in cases:
        z = np.asarray(z, np.float64)
        out = _call(ex, fn, (_f(z), jnp.int32(i), R, b), words)
        got = _array(ex, words, "the gradient estimate", out, z.shape,
                     hint="one entry per logit: shape (m,).")  # fmt: skip
        pi = _softmax(z)
        e = np.eye(z.size)[i]
        expected = (R - b) * (e - pi)
        if _close(got, expected):
            continue
        hint = "the gradient of log softmax(z)_i with respect to z is e_i - softmax(z)."
        if _close(got, -expected):
            hint = "the sign is flipped: grad log pi_i = e_i - pi, scaled by (R - b)."
        elif _close(got, R * (e - pi)):
            hint = "subtract the baseline from the reward: (R - b)."
        elif _close(got, (R - b) * e):
            hint = "log pi_i depends on every logit through the normalizer: subtract pi."
        elif _close(got, (R - b) * e / max(pi[i], 1e-12)):
            hint = "that is (R - b) grad pi_i / pi_i with grad pi_i taken as e_i: use e_i - pi."
        _compare(ex, words, "the gradient estimate", got, expected, rtol=1e-5, atol=1e-6,
                 hint=hint)  # fmt: skip
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ token attention

_EX_TOKENS = Exercise("attend_tokens", "10.2")


def attend_tokens(fn: Callable) -> None:
    r"""Check ``fn(H)``: for every token $t$, $[h_t, c_t]$ with
    $c_t=\sum_s\operatorname{softmax}_s(h_s\cdot h_t)h_s$; ``(T, p)`` -> ``(T, 2p)``."""
    ex = _EX_TOKENS
    cases = [
        ("T = 4, p = 3", _rng_array(60, (4, 3))),
        ("T = 1, p = 2: one token attends to itself", _rng_array(61, (1, 2))),
        ("T = 6, p = 6 (square: a transposed softmax would fit the shape)", _rng_array(62, (6, 6))),
        ("T = 5, p = 2", _rng_array(63, (5, 2))),
    ]
    for words, H in cases:
        T, p = H.shape
        got = _array(
            ex,
            words,
            "the token features",
            _call(ex, fn, (_f(H),), words),
            (T, 2 * p),
            hint="each row is the token's state h_t followed by its context c_t: (T, 2p).",
        )
        S = H @ H.T
        A = _softmax(S, axis=1)
        expected = np.concatenate([H, A @ H], axis=1)
        if _close(got, expected):
            continue
        hint = "row t: [h_t, sum_s softmax_s(h_s . h_t) h_s], all tokens s of the sequence."
        if _close(got, np.concatenate([A @ H, H], axis=1)):
            hint = "put the token's own state first: [h_t, c_t]."
        elif _close(got, np.concatenate([H, _softmax(S, axis=0).T @ H], axis=1)) or _close(
            got, np.concatenate([H, _softmax(S, axis=0) @ H], axis=1)
        ):
            hint = "normalize each token's weights over the positions s: softmax along axis 1."
        elif _close(got, np.concatenate([H, np.broadcast_to(H.mean(axis=0), H.shape)], axis=1)):
            hint = "the context is a *weighted* average: weights from the dot products h_s . h_t."
        _compare(ex, words, "the token features", got, expected, rtol=1e-5, atol=1e-5, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ content read

_EX_READ = Exercise("content_read", "")


def content_read(fn: Callable) -> None:
    r"""Check ``fn(M, v, beta)`` = ``(w, r)``: $w=\operatorname{softmax}(\beta\cos(v,M_i))$
    ``(N,)`` (Eq 10.13 corrected) and $r=\sum_iw(i)M_i$ ``(m,)`` (Eq 10.9)."""
    ex = _EX_READ
    M1 = _rng_array(70, (6, 4))
    cases = [
        ("N = 6, m = 4, beta = 5", M1, M1[3] + 0.2 * _rng_array(71, (4,)), 5.0),
        ("beta = 0: every row equally", M1, _rng_array(72, (4,)), 0.0),
        ("rows of very different lengths, beta = 3",
         _rng_array(73, (5, 3)) * np.array([[0.1], [10.0], [1.0], [3.0], [0.5]]),
         _rng_array(74, (3,)), 3.0),
        ("a long key (norm ~ 20), beta = 2", M1, 20.0 * _rng_array(75, (4,)), 2.0),
    ]  # fmt: skip
    for words, M, v, beta in cases:
        out = _call(ex, fn, (_f(M), _f(v), beta), words)
        w_got, r_got = _unpack(ex, words, out, ("w", "r"))
        N, m = M.shape
        w_got = _array(ex, words, "the weights w", w_got, (N,), hint="one weight per memory row.")
        r_got = _array(ex, words, "the read r", r_got, (m,), hint="r has the shape of a row.")
        cos = (M @ v) / (np.linalg.norm(M, axis=1) * np.linalg.norm(v))
        w = _softmax(beta * cos)
        if not _close(w_got, w):
            hint = "w(i) = softmax_i(beta * cos(v, M_i)), cos = v . M_i / (|v| |M_i|)."
            if _close(w_got, _softmax(beta * (M @ v))):
                hint = "use the cosine of v and M_i (divide by both norms), not the dot product."
            elif _close(w_got, _softmax(cos)):
                hint = "multiply the cosines by the key strength beta before the softmax."
            elif _close(w_got, _softmax(beta * (M @ v) / np.linalg.norm(v))):
                hint = "divide by the norm of each row M_i too."
            _compare(ex, words, "the weights w", w_got, w, rtol=1e-5, atol=1e-6, hint=hint)
        r = w @ M
        hint = "r = sum_i w(i) M_i (w @ M)."
        if _close(r_got, M.mean(axis=0)) and beta > 0:
            hint = "that is the mean row; weight the rows by w."
        _compare(ex, words, "the read r", r_got, r, rtol=1e-5, atol=1e-5, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ sorting game

_EX_SORT = Exercise("sorting_step", "")
_PAIRS = list(itertools.combinations(range(4), 2))


def sorting_step(fn: Callable) -> None:
    r"""Check ``fn(x, action)`` = ``(new_x, done)``: apply SWAP$(i, j)$, the ``action``-th pair
    of ``itertools.combinations(range(4), 2)``, and say whether the new list is sorted."""
    ex = _EX_SORT
    cases = [
        ([3.0, 1.0, 2.0, 0.0], 2),
        ([0.0, 2.0, 1.0, 3.0], 3),
        ([1.0, 0.0, 2.0, 3.0], 0),
        ([4.0, 3.0, 2.0, 1.0], 5),
        ([0.5, 0.5, 0.2, 0.9], 1),
        ([2.0, 9.0, 5.0, 7.0], 4),
    ]
    for x, action in cases:
        i, j = _PAIRS[action]
        words = f"x = {x}, action {action} = SWAP({i}, {j})"
        out = _call(ex, fn, (_f(x), action), words)
        new_got, done_got = _unpack(ex, words, out, ("new_x", "done"))
        new_got = _array(ex, words, "the new list", new_got, (4,), hint="a list of 4 numbers.")
        expected = np.array(x)
        expected[[i, j]] = expected[[j, i]]
        hint = f"action {action} is the pair {(i, j)} of itertools.combinations(range(4), 2)."
        if _close(new_got, np.array(x)):
            hint = "the list did not change: swap the two positions (e.g. with .at[...].set)."
        _compare(ex, words, "the new list", new_got, expected, rtol=0, atol=1e-6, hint=hint)
        done = bool(np.all(expected[1:] >= expected[:-1]))
        got = _scalar(ex, words, "done", done_got)
        if got != float(done):
            hint = "done means sorted in increasing order: every x[k] <= x[k + 1]."
            if got == float(bool(np.all(expected[1:] <= expected[:-1]))):
                hint = "sorted means *increasing* order here (x[k] <= x[k + 1])."
            _compare(ex, words, "done", np.float64(got), float(done), rtol=0, atol=0, hint=hint)
    _passed(ex, len(cases))
