"""course_lib.checks.hopfield: each check passes a right answer and fails plausible mistakes.

The right answers here are written independently of the solutions notebook (NumPy loops where
the notebook uses jnp, or the library itself).
"""

from __future__ import annotations

import itertools

import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import checks
from course_lib import hopfield as H
from course_lib.checks import CheckFailed


def _stub(*args):
    raise NotImplementedError("Exercise: replace this with your code")


ALL = [
    checks.hopfield_energy,
    checks.hopfield_energy_gap,
    checks.async_sweep,
    checks.hebbian_weights,
    checks.complete_attributes,
    checks.find_local_minima,
]


@pytest.mark.parametrize("check", ALL)
def test_every_check_says_not_implemented_for_the_stub(check):
    with pytest.raises(CheckFailed, match="not implemented yet"):
        check(_stub)


def _passes(check, fn, capsys):
    check(fn)
    assert "✔" in capsys.readouterr().out


# ------------------------------------------------------------------------------ energy


def _energy_loop(W, b, s):
    W, b, s = (np.asarray(a, np.float64) for a in (W, b, s))
    e = -float(b @ s)
    for i, j in itertools.combinations(range(len(s)), 2):
        e -= W[i, j] * s[i] * s[j]
    return e


def test_energy_passes_a_loop_and_the_library(capsys):
    _passes(checks.hopfield_energy, _energy_loop, capsys)
    _passes(checks.hopfield_energy, lambda W, b, s: H.energy(H.Hopfield(W, b), s), capsys)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda W, b, s: -b @ s - s @ W @ s, "twice"),
        (lambda W, b, s: -_energy_loop(W, b, s), "minus sign"),
        (lambda W, b, s: -0.5 * s @ W @ s, "bias"),
        (lambda W, b, s: -b @ s - 0.5 * s @ W @ s + 0.37, "symmetric W"),
    ],
)
def test_energy_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.hopfield_energy(wrong)


# ------------------------------------------------------------------------------ gap


def _gap_loop(W, b, s):
    W, b, s = (np.asarray(a, np.float64) for a in (W, b, s))
    return np.array([b[i] + sum(W[i, j] * s[j] for j in range(len(s)) if j != i)
                     for i in range(len(s))])  # fmt: skip


def test_energy_gap_passes_a_loop_and_the_library(capsys):
    _passes(checks.hopfield_energy_gap, _gap_loop, capsys)
    _passes(checks.hopfield_energy_gap, lambda W, b, s: H.energy_gap(H.Hopfield(W, b), s), capsys)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda W, b, s: -_gap_loop(W, b, s), "E\\(s_i = 1\\) - E\\(s_i = 0\\)"),
        (lambda W, b, s: W @ s, "add the bias"),
        (lambda W, b, s: 2 * W @ s + b, "once, not twice"),
        (lambda W, b, s: b, "compare E"),
    ],
)
def test_energy_gap_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.hopfield_energy_gap(wrong)


# ------------------------------------------------------------------------------ sweep


def _sweep_loop(W, b, s):
    W, b = np.asarray(W), np.asarray(b)
    s = np.array(s, np.float64)
    for i in range(len(s)):
        s[i] = float(W[i] @ s + b[i] >= 0)
    return s


def test_async_sweep_passes_a_loop_and_the_library(capsys):
    _passes(checks.async_sweep, _sweep_loop, capsys)
    _passes(checks.async_sweep, lambda W, b, s: H.async_sweep(H.Hopfield(W, b), s)[0], capsys)


def _strict(W, b, s):
    W, b = np.asarray(W), np.asarray(b)
    s = np.array(s, np.float64)
    for i in range(len(s)):
        s[i] = float(W[i] @ s + b[i] > 0)
    return s


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda W, b, s: (W @ s + b >= 0).astype(float), "synchronous"),
        (_strict, ">= 0"),
        (lambda W, b, s: 2 * _sweep_loop(W, b, s) - 1, "-1 and \\+1"),
        (lambda W, b, s: s, "for i = 0..d-1"),
    ],
)
def test_async_sweep_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.async_sweep(wrong)


# ------------------------------------------------------------------------------ Hebbian


def _hebb_pm1(X):
    """The +-1 form: sigma sigma^T and sigma summed, then averaged (an independent route)."""
    sig = 2 * np.asarray(X, np.float64) - 1
    n = len(sig)
    W = sig.T @ sig / n
    np.fill_diagonal(W, 0.0)
    return W, sig.sum(axis=0) / n


def test_hebbian_weights_passes_the_pm1_form_and_the_library(capsys):
    _passes(checks.hebbian_weights, _hebb_pm1, capsys)
    _passes(checks.hebbian_weights, lambda X: tuple(H.hebbian(X)), capsys)


def _no_zero_diag(X):
    sig = 2 * np.asarray(X, np.float64) - 1
    return sig.T @ sig / len(sig), sig.sum(axis=0) / len(sig)


def _uncentred(X):
    X = np.asarray(X, np.float64)
    W = 4 * X.T @ X / len(X)
    np.fill_diagonal(W, 0.0)
    return W, 2 * (X - 0.5).sum(axis=0) / len(X)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (_no_zero_diag, "diagonal to zero"),
        (lambda X: (_hebb_pm1(X)[0] * len(X), _hebb_pm1(X)[1]), "divides the sum by n"),
        (_uncentred, "centre the bits"),
        (lambda X: (_hebb_pm1(X)[0], _hebb_pm1(X)[1] * len(X)), "average the bias"),
        (lambda X: (_hebb_pm1(X)[0], np.asarray(X).mean(axis=0)), "b_i = 2/n"),
    ],
)
def test_hebbian_weights_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.hebbian_weights(wrong)


# ------------------------------------------------------------------------------ completion


def _complete_loop(W, b, s, observed, sweeps):
    W, b = np.asarray(W), np.asarray(b)
    s = np.array(s, np.float64)
    for _ in range(sweeps):
        for i in range(len(s)):
            if not observed[i]:
                s[i] = float(W[i] @ s + b[i] >= 0)
    return s


def test_complete_attributes_passes_a_loop_and_the_library(capsys):
    _passes(checks.complete_attributes, _complete_loop, capsys)
    _passes(
        checks.complete_attributes,
        lambda W, b, s, o, k: H.complete(H.Hopfield(W, b), s, jnp.asarray(o), sweeps=k).state,
        capsys,
    )


def _everyone(W, b, s, observed, sweeps):
    return _complete_loop(W, b, s, np.zeros(len(s), bool), sweeps)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (_everyone, "updates every unit"),
        (lambda W, b, s, o, k: _complete_loop(W, b, s, ~np.asarray(o), k), "means \\*known\\*"),
        (lambda W, b, s, o, k: s, "repeat"),
    ],
)
def test_complete_attributes_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.complete_attributes(wrong)


# ------------------------------------------------------------------------------ minima


def _minima_flips(W, b):
    W, b = np.asarray(W, np.float64), np.asarray(b, np.float64)
    rows = []
    for bits in itertools.product([0.0, 1.0], repeat=len(b)):
        s = np.array(bits)
        gap = W @ s + b  # flipping on lowers E by gap, flipping off raises it by gap
        if np.all(np.where(s > 0, gap >= 0, gap <= 0)):
            rows.append(s)
    return np.array(rows)


def test_find_local_minima_passes_a_gap_test_and_the_library(capsys):
    _passes(checks.find_local_minima, _minima_flips, capsys)
    _passes(checks.find_local_minima, lambda W, b: H.local_minima(H.Hopfield(W, b)), capsys)


def _fixed_points(W, b):
    W, b = np.asarray(W, np.float64), np.asarray(b, np.float64)
    rows = [np.array(s) for s in itertools.product([0.0, 1.0], repeat=len(b))
            if np.array_equal((W @ np.array(s) + b > 0).astype(float), np.array(s))]  # fmt: skip
    return np.array(rows).reshape(-1, len(b))


def _fixed_points_ties_on(W, b):
    W, b = np.asarray(W, np.float64), np.asarray(b, np.float64)
    rows = [np.array(s) for s in itertools.product([0.0, 1.0], repeat=len(b))
            if np.array_equal((W @ np.array(s) + b >= 0).astype(float), np.array(s))]  # fmt: skip
    return np.array(rows).reshape(-1, len(b))


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda W, b: _minima_flips(W, b)[::-1], "order"),
        (lambda W, b: H.all_states(len(b)), "every\\* single flip"),
        (_fixed_points, "tie"),
        (_fixed_points_ties_on, "tie"),
    ],
)
def test_find_local_minima_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.find_local_minima(wrong)
