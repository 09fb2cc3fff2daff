"""course_lib.checks.attention: each check passes a right answer and fails plausible mistakes.

The right answers here are written independently of the solutions notebook (NumPy loops where
the notebook uses jnp, the library where it can serve).
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import attention, checks, memory
from course_lib.checks import CheckFailed


def _stub(*args):
    raise NotImplementedError("Exercise: replace this with your code")


ALL = [
    checks.luong_score,
    checks.soft_attention,
    checks.reinforce_gradient,
    checks.attend_tokens,
    checks.content_read,
    checks.sorting_step,
]


@pytest.mark.parametrize("check", ALL)
def test_every_check_says_not_implemented_for_the_stub(check):
    with pytest.raises(CheckFailed, match="not implemented yet"):
        check(_stub)


def _passes(check, fn, capsys):
    check(fn)
    assert "✔" in capsys.readouterr().out


def _fails(check, fn, hint):
    with pytest.raises(CheckFailed) as info:
        check(fn)
    assert hint in str(info.value), str(info.value)


# ------------------------------------------------------------------------------ luong_score


def _score_loop(H, h, kind, W_a=None, v_a=None):
    H, h = np.asarray(H, np.float64), np.asarray(h, np.float64)
    out = []
    for row in H:
        if kind == "dot":
            out.append(float(np.sum(row * h)))
        elif kind == "general":
            out.append(float(h @ np.asarray(W_a) @ row))
        else:
            out.append(float(np.asarray(v_a) @ np.tanh(np.asarray(W_a) @ np.r_[row, h])))
    return np.array(out)


def test_luong_score(capsys):
    _passes(checks.luong_score, _score_loop, capsys)
    _passes(checks.luong_score, lambda H, h, k, W, v: attention.luong_score(H, h, k, W_a=W, v_a=v),
            capsys)  # fmt: skip

    def transposed(H, h, kind, W_a=None, v_a=None):
        if kind == "general":
            return H @ W_a @ h
        return _score_loop(H, h, kind, W_a, v_a)

    def swapped(H, h, kind, W_a=None, v_a=None):
        if kind == "concat":
            both = np.concatenate([np.broadcast_to(h, H.shape), H], axis=1)
            return np.tanh(both @ np.asarray(W_a).T) @ np.asarray(v_a)
        return _score_loop(H, h, kind, W_a, v_a)

    _fails(checks.luong_score, transposed, "W_a acts on the encoder state")
    _fails(checks.luong_score, swapped, "stack the encoder state first")


# ------------------------------------------------------------------------------ soft_attention


def _soft_loop(H, h):
    H, h = np.asarray(H, np.float64), np.asarray(h, np.float64)
    scores = [float(row @ h) for row in H]
    top = max(scores)
    e = [np.exp(s - top) for s in scores]
    a = np.array(e) / sum(e)
    return a, sum(a[s] * H[s] for s in range(len(H)))


def test_soft_attention(capsys):
    _passes(checks.soft_attention, _soft_loop, capsys)
    _passes(checks.soft_attention, attention.soft_attention, capsys)

    def raw_scores(H, h):
        s = H @ h
        return s, s @ H

    def plain_mean(H, h):
        return jax.nn.softmax(H @ h), H.mean(axis=0)

    _fails(checks.soft_attention, raw_scores, "those are the scores")
    _fails(checks.soft_attention, plain_mean, "that is the plain mean of the rows")


# ------------------------------------------------------------------------------ REINFORCE


def _reinforce_by_grad(logits, index, reward, baseline):
    logp = jax.grad(lambda z: jax.nn.log_softmax(z)[index])(jnp.asarray(logits))
    return (reward - baseline) * logp


def test_reinforce_gradient(capsys):
    _passes(checks.reinforce_gradient, _reinforce_by_grad, capsys)
    _passes(checks.reinforce_gradient, attention.reinforce_gradient, capsys)

    def flipped(z, i, R, b):
        return -_reinforce_by_grad(z, i, R, b)

    def no_baseline(z, i, R, b):
        return _reinforce_by_grad(z, i, R, 0.0)

    def no_normalizer(z, i, R, b):
        return (R - b) * jax.nn.one_hot(i, z.shape[0])

    _fails(checks.reinforce_gradient, flipped, "the sign is flipped")
    _fails(checks.reinforce_gradient, no_baseline, "subtract the baseline")
    _fails(checks.reinforce_gradient, no_normalizer, "subtract pi")


# ------------------------------------------------------------------------------ attend_tokens


def _tokens_loop(H):
    H = np.asarray(H, np.float64)
    rows = []
    for t in range(len(H)):
        _, c = _soft_loop(H, H[t])
        rows.append(np.r_[H[t], c])
    return np.array(rows)


def test_attend_tokens(capsys):
    _passes(checks.attend_tokens, _tokens_loop, capsys)
    _passes(checks.attend_tokens, attention.attend_tokens, capsys)

    def context_first(H):
        out = _tokens_loop(H)
        p = H.shape[1]
        return np.concatenate([out[:, p:], out[:, :p]], axis=1)

    def wrong_axis(H):
        A = jax.nn.softmax(H @ H.T, axis=0)
        return jnp.concatenate([H, A @ H], axis=1)

    _fails(checks.attend_tokens, context_first, "put the token's own state first")
    _fails(checks.attend_tokens, wrong_axis, "softmax along axis 1")


# ------------------------------------------------------------------------------ content_read


def _read_loop(M, v, beta):
    M, v = np.asarray(M, np.float64), np.asarray(v, np.float64)
    cos = np.array([row @ v / np.sqrt((row @ row) * (v @ v)) for row in M])
    e = np.exp(beta * cos - np.max(beta * cos))
    w = e / e.sum()
    return w, sum(w[i] * M[i] for i in range(len(M)))


def test_content_read(capsys):
    _passes(checks.content_read, _read_loop, capsys)
    _passes(checks.content_read, memory.content_read, capsys)

    def dot_product(M, v, beta):
        w = jax.nn.softmax(beta * (M @ v))
        return w, w @ M

    def no_beta(M, v, beta):
        w, _ = _read_loop(M, v, 1.0)
        return w, w @ np.asarray(M, np.float64)

    _fails(checks.content_read, dot_product, "use the cosine of v and M_i")
    _fails(checks.content_read, no_beta, "multiply the cosines by the key strength beta")


# ------------------------------------------------------------------------------ sorting_step


def _step_python(x, action):
    i, j = list(itertools.combinations(range(4), 2))[action]
    y = [float(v) for v in np.asarray(x)]
    y[i], y[j] = y[j], y[i]
    return np.array(y), all(a <= b for a, b in zip(y, y[1:], strict=False))


def test_sorting_step(capsys):
    _passes(checks.sorting_step, _step_python, capsys)

    def library(x, a):
        y = memory.swap(x, a)
        return y, memory.is_sorted(y)

    _passes(checks.sorting_step, library, capsys)

    def no_swap(x, action):
        return x, bool(np.all(np.diff(np.asarray(x)) >= 0))

    def descending(x, action):
        y, _ = _step_python(x, action)
        return y, bool(np.all(np.diff(y) <= 0))

    def wrong_pairs(x, action):  # numbering the pairs in another order
        pairs = [(0, 1), (1, 2), (2, 3), (0, 2), (1, 3), (0, 3)]
        i, j = pairs[action]
        y = np.asarray(x, np.float64).copy()
        y[[i, j]] = y[[j, i]]
        return y, bool(np.all(np.diff(y) >= 0))

    _fails(checks.sorting_step, no_swap, "the list did not change")
    _fails(checks.sorting_step, descending, "*increasing* order")
    _fails(checks.sorting_step, wrong_pairs, "itertools.combinations(range(4), 2)")
