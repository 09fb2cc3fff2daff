"""course_lib.checks.gated: each check passes a right answer and fails plausible mistakes.

The right answers here are written independently of the solutions notebook (NumPy where the
notebook uses jnp, a Python loop over pairs for the bigram model, a full sort for the beam step).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import checks
from course_lib.checks import CheckFailed


def _stub(*args):
    raise NotImplementedError("Exercise: replace this with your code")


ALL = [
    checks.lstm_step,
    checks.gru_step,
    checks.cell_path_jacobian,
    checks.softmax_with_temperature,
    checks.bigram_cross_entropy,
    checks.beam_step,
    checks.surprising_positions,
]


@pytest.mark.parametrize("check", ALL)
def test_every_check_says_not_implemented_for_the_stub(check):
    with pytest.raises(CheckFailed, match="not implemented yet"):
        check(_stub)


def _sig(a):
    return 1.0 / (1.0 + np.exp(-a))


# ------------------------------------------------------------------------------ lstm_step


def _lstm(W, b, h, c, x, *, order="ifog", swap=False, tanh_cell=True):
    W, b, h, c, x = (np.asarray(a, np.float64) for a in (W, b, h, c, x))
    blocks = dict(zip(order, np.split(np.concatenate([x, h]) @ W + b, 4), strict=True))
    i, f, o, g = _sig(blocks["i"]), _sig(blocks["f"]), _sig(blocks["o"]), np.tanh(blocks["g"])
    if swap:
        i, f = f, i
    c_new = f * c + i * g
    return (o * np.tanh(c_new) if tanh_cell else o * c_new), c_new


def test_lstm_step_passes(capsys):
    checks.lstm_step(lambda *a: _lstm(*a))
    assert "✔ lstm_step" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda *a: _lstm(*a, swap=True), "swapped"),
        (lambda *a: _lstm(*a, tanh_cell=False), "tanh"),
        (lambda *a: _lstm(*a, order="ifgo"), "column blocks"),
        (lambda *a: _lstm(*a)[::-1], "wrong value"),  # (c, h) instead of (h, c)
    ],
)
def test_lstm_step_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.lstm_step(wrong)


def test_lstm_step_wants_a_pair():
    with pytest.raises(CheckFailed, match="expected a tuple"):
        checks.lstm_step(lambda *a: _lstm(*a)[0])


# ------------------------------------------------------------------------------ gru_step


def _gru(W_zr, b_zr, W_n, b_n, h, x, *, swap_z=False, reset_after=False):
    W_zr, b_zr, W_n, b_n, h, x = (np.asarray(a, np.float64) for a in (W_zr, b_zr, W_n, b_n, h, x))
    d = x.shape[0]
    z, r = np.split(_sig(np.concatenate([x, h]) @ W_zr + b_zr), 2)
    if reset_after:
        n = np.tanh(x @ W_n[:d] + r * (h @ W_n[d:]) + b_n)
    else:
        n = np.tanh(np.concatenate([x, r * h]) @ W_n + b_n)
    return (1 - z) * h + z * n if swap_z else z * h + (1 - z) * n


def test_gru_step_passes(capsys):
    checks.gru_step(lambda *a: _gru(*a))
    assert "✔ gru_step" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda *a: _gru(*a, swap_z=True), "swapped"),
        (lambda *a: _gru(*a, reset_after=True), "BEFORE"),
        (lambda *a: np.asarray(a[4]), "wrong value"),  # returns the old state
    ],
)
def test_gru_step_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.gru_step(wrong)


# ------------------------------------------------------------------------------ cell_path_jacobian


def test_cell_path_jacobian_passes(capsys):
    checks.cell_path_jacobian(lambda f: np.diag(np.prod(np.asarray(f, np.float64), axis=0)))
    assert "✔ cell_path_jacobian" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda f: np.diag(np.asarray(f)[-1]), "ALL T steps"),
        (lambda f: np.diag(np.asarray(f).sum(0)), "multiplies"),
        (lambda f: np.prod(np.asarray(f), axis=0), "full p x p"),
        (
            lambda f: np.full((f.shape[1], f.shape[1]), 1.0) * np.prod(np.asarray(f), 0),
            "off-diagonal",
        ),
    ],
)
def test_cell_path_jacobian_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.cell_path_jacobian(wrong)


# ------------------------------------------------------------------------------ temperature


def _softmax_T(z, T):
    a = np.asarray(z, np.float64) / T
    e = np.exp(a - a.max())
    return e / e.sum()


def test_softmax_with_temperature_passes(capsys):
    checks.softmax_with_temperature(_softmax_T)
    assert "✔ softmax_with_temperature" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda z, T: _softmax_T(np.asarray(z) * T * T, T), "don't multiply"),
        (lambda z, T: _softmax_T(z, 1.0), "temperature is missing"),
        (
            lambda z, T: (
                np.exp(np.asarray(z, np.float32) / T) / np.exp(np.asarray(z, np.float32) / T).sum()
            ),
            "overflow",
        ),
    ],
)
def test_softmax_with_temperature_fails_common_mistakes(wrong, hint):
    with np.errstate(over="ignore", invalid="ignore"):
        with pytest.raises(CheckFailed, match=hint):
            checks.softmax_with_temperature(wrong)


# ------------------------------------------------------------------------------ bigram


def _bigram_ce(train, val, V, k, *, denom_k=None, log=math.log):
    train, val = np.asarray(train).tolist(), np.asarray(val).tolist()
    counts = {}
    prev = [0] * V
    for a, b in zip(train[:-1], train[1:], strict=True):
        counts[(a, b)] = counts.get((a, b), 0) + 1
        prev[a] += 1
    total = 0.0
    for a, b in zip(val[:-1], val[1:], strict=True):
        denom = prev[a] + (k * V if denom_k is None else denom_k)
        total -= log((counts.get((a, b), 0) + k) / denom)
    return total / (len(val) - 1)


def test_bigram_cross_entropy_passes(capsys):
    checks.bigram_cross_entropy(lambda *a: _bigram_ce(*a))
    assert "✔ bigram_cross_entropy" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda tr, va, V, k: _bigram_ce(tr, va, V, k, log=math.log2), "bits"),
        (lambda tr, va, V, k: _bigram_ce(tr, va, V, k, denom_k=k), "k \\* V"),
        (lambda tr, va, V, k: _bigram_ce(tr, va, V, 0.0 * k + 1e-9), "wrong value"),
    ],
)
def test_bigram_cross_entropy_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.bigram_cross_entropy(wrong)


# ------------------------------------------------------------------------------ beam step


def _beam(scores, logp, width, *, total=True, ascending=False):
    s, lp = np.asarray(scores, np.float64), np.asarray(logp, np.float64)
    cand = (s[:, None] + lp) if total else np.broadcast_to(lp, lp.shape)
    flat = cand.ravel()
    order = np.argsort(flat if ascending else -flat, kind="stable")[:width]
    V = lp.shape[1]
    return flat[order], order // V, order % V


def test_beam_step_passes(capsys):
    checks.beam_step(_beam)
    assert "✔ beam_step" in capsys.readouterr().out


def test_beam_step_accepts_jax_top_k(capsys):
    def top_k(scores, logp, width):
        best, flat = jax.lax.top_k((scores[:, None] + logp).ravel(), width)
        return best, flat // logp.shape[1], flat % logp.shape[1]

    checks.beam_step(top_k)
    assert "✔ beam_step" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda s, lp, w: _beam(s, lp, w, total=False), "TOTAL"),
        (lambda s, lp, w: _beam(s, lp, w, ascending=True), "LARGEST"),
        (lambda s, lp, w: (lambda r: (r[0], r[2], r[1]))(_beam(s, lp, w)), "parent = j // V"),
    ],
)
def test_beam_step_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.beam_step(wrong)


# ------------------------------------------------------------------------------ surprisal


def _surprise(logp, ids, thr, *, shift=1, bits=True):
    lp, ids = np.asarray(logp, np.float64), np.asarray(ids)
    s = -lp[ids[:-1], ids[1:]]
    if bits:
        s = s / math.log(2)
    return np.flatnonzero(s > thr) + shift


def test_surprising_positions_passes(capsys):
    checks.surprising_positions(_surprise)
    assert "✔ surprising_positions" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda lp, ids, t: _surprise(lp, ids, t, shift=0), "not t - 1"),
        (lambda lp, ids, t: _surprise(lp, ids, t, bits=False), "in bits"),
        (lambda lp, ids, t: jnp.zeros((0,)), "wrong"),
    ],
)
def test_surprising_positions_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.surprising_positions(wrong)
