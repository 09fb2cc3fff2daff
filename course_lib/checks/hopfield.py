r"""Self-checks for the exercises on Hopfield networks (Aggarwal §6.2).

Every check runs the student's function on a few fixed networks and compares with a reference
written out here in NumPy: the double sum over pairs $i < j$ (energy), the difference of two
energies (gap), a Python loop over the units (sweep, clamped completion), a loop over the
training vectors (Hebbian storage) and a loop over all $2^d$ states and their $d$ single flips
(local minima). The networks have small integer weights, so that ties ($\Delta E_i = 0$) occur
and the threshold rule's "$\ge 0$" matters. Common slips are recognized and answered with a hint.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

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


def _network(seed: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric integer weights in -2..2 with a zero diagonal, integer biases in -1..1."""
    rng = np.random.default_rng(seed)
    A = np.triu(rng.integers(-2, 3, size=(d, d)).astype(np.float64), 1)
    return A + A.T, rng.integers(-1, 2, size=d).astype(np.float64)


def _state(seed: int, d: int) -> np.ndarray:
    return (np.random.default_rng(1000 + seed).uniform(size=d) < 0.5).astype(np.float64)


def _energy_ref(W: np.ndarray, b: np.ndarray, s: np.ndarray) -> float:
    d = len(s)
    pairs = sum(W[i, j] * s[i] * s[j] for i in range(d) for j in range(i + 1, d))
    return float(-b @ s - pairs)


_close = _close_within(rtol=1e-6, atol=1e-6)


_NETWORKS = [(0, 4), (1, 6), (2, 9), (3, 12)]

# ------------------------------------------------------------------------------ energy

_EX_ENERGY = Exercise("hopfield_energy", "")


def hopfield_energy(fn: Callable) -> None:
    r"""Check ``fn(W, b, s)`` $= -\sum_i b_is_i - \sum_{i<j} w_{ij}s_is_j$ (Eq 6.1)."""
    ex = _EX_ENERGY
    count = 0
    for seed, d in _NETWORKS:
        W, b = _network(seed, d)
        for k in range(2):
            s = _state(10 * seed + k, d)
            words = f"d = {d} units, s = {''.join(str(int(v)) for v in s)}"
            got = _scalar(ex, words, "the energy", _call(ex, fn, (_f(W), _f(b), _f(s)), words))
            want = _energy_ref(W, b, s)
            count += 1
            if abs(got - want) <= 1e-5 * max(1.0, abs(want)):
                continue
            quad = float(s @ W @ s)
            if abs(got - (-b @ s - quad)) < 1e-5:
                hint = "s^T W s counts every pair twice (w_ij and w_ji): halve it, or sum i < j."
            elif abs(got + want) < 1e-5:
                hint = "the energy has a minus sign: strong agreeing weights make it *low*."
            elif abs(got - (-0.5 * quad)) < 1e-5:
                hint = "don't forget the bias term -sum_i b_i s_i."
            else:
                hint = "E = -b . s - (1/2) s^T W s for a symmetric W with zero diagonal."
            _compare(ex, words, "the energy", np.float64(got), want, hint=hint)
    _passed(ex, count)


# ------------------------------------------------------------------------------ energy gap

_EX_GAP = Exercise("hopfield_energy_gap", "")


def hopfield_energy_gap(fn: Callable) -> None:
    r"""Check ``fn(W, b, s)`` $= \big(E(s_i{=}0) - E(s_i{=}1)\big)_i = b + Ws$ (Eq 6.2)."""
    ex = _EX_GAP
    count = 0
    for seed, d in _NETWORKS:
        W, b = _network(seed, d)
        s = _state(seed, d)
        words = f"d = {d} units, s = {''.join(str(int(v)) for v in s)}"
        got = _array(ex, words, "the gaps", _call(ex, fn, (_f(W), _f(b), _f(s)), words), (d,),
                     hint="one gap per unit: an array of shape (d,).")  # fmt: skip
        want = np.empty(d)
        for i in range(d):
            off, on = s.copy(), s.copy()
            off[i], on[i] = 0.0, 1.0
            want[i] = _energy_ref(W, b, off) - _energy_ref(W, b, on)
        count += 1
        if _close(got, want):
            continue
        if _close(got, -want):
            hint = "that is E(s_i = 1) - E(s_i = 0); the gap is E(s_i = 0) - E(s_i = 1)."
        elif _close(got, W @ s):
            hint = "add the bias b_i."
        elif _close(got, 2 * W @ s + b):
            hint = "each w_ij enters the gap of unit i once, not twice."
        else:
            hint = "compare E with s_i = 0 and with s_i = 1; only the terms touching i differ."
        _compare(ex, words, "the gaps", got, want, hint=hint)
    _passed(ex, count)


# ------------------------------------------------------------------------------ one sweep


def _sweep_ref(W, b, s, free=None, *, strict=False):
    s = s.copy()
    for i in range(len(s)):
        if free is not None and not free[i]:
            continue
        g = W[i] @ s + b[i]
        s[i] = 1.0 if (g > 0 if strict else g >= 0) else 0.0
    return s


_EX_SWEEP = Exercise("async_sweep", "")


def async_sweep(fn: Callable) -> None:
    r"""Check ``fn(W, b, s)``: one asynchronous sweep of Eq 6.3 over the units 0, 1, ..., d-1,
    each update seeing the ones before it."""
    ex = _EX_SWEEP
    count = 0
    for seed, d in _NETWORKS:
        W, b = _network(seed, d)
        for k in range(2):
            s = _state(20 * seed + k, d)
            words = f"d = {d} units, start s = {''.join(str(int(v)) for v in s)}"
            out = _call(ex, fn, (_f(W), _f(b), _f(s)), words)
            got = _array(ex, words, "the new state", out, (d,),
                         hint="return the whole state after the sweep, shape (d,).")  # fmt: skip
            want = _sweep_ref(W, b, s)
            count += 1
            if _close(got, want):
                continue
            sync = ((W @ s + b) >= 0).astype(np.float64)
            if _close(got, sync):
                hint = (
                    "that updates every unit from the *old* state at once (synchronous); "
                    "update unit i in place so that unit i + 1 sees its new value."
                )
            elif _close(got, _sweep_ref(W, b, s, strict=True)):
                hint = "a tie (gap exactly 0) switches the unit on: Eq 6.3 uses >= 0."
            elif _close(got, 2 * want - 1):
                hint = "the states are 0 and 1 here, not -1 and +1."
            else:
                hint = "for i = 0..d-1: s_i = 1 if b_i + sum_j w_ij s_j >= 0 else 0."
            _compare(ex, words, "the new state", got, want, hint=hint)
    _passed(ex, count)


# ------------------------------------------------------------------------------ Hebbian

_EX_HEBB = Exercise("hebbian_weights", "")


def _hebb_ref(X, *, normalize=True, center=True, zero_diag=True, bias_avg=True):
    n, d = X.shape
    W = np.zeros((d, d))
    b = np.zeros(d)
    for x in X:
        c = x - 0.5 if center else x
        W += 4.0 * np.outer(c, c)
        b += 2.0 * c
    if normalize:
        W /= n
    if bias_avg:
        b /= n
    if zero_diag:
        np.fill_diagonal(W, 0.0)
    return W, b


def hebbian_weights(fn: Callable) -> None:
    r"""Check ``fn(X) -> (W, b)``: Eq 6.4, $w_{ij} = \frac4n\sum_k(x_{ki}-\frac12)(x_{kj}-\frac12)$
    with $w_{ii} = 0$, and $b_i = \frac2n\sum_k(x_{ki}-\frac12)$."""
    ex = _EX_HEBB
    rng = np.random.default_rng(31)
    cases = [
        ("the four 6-bit patterns 101000, 110000, 000101, 000011",
         np.array([[1, 0, 1, 0, 0, 0], [1, 1, 0, 0, 0, 0], [0, 0, 0, 1, 0, 1],
                   [0, 0, 0, 0, 1, 1]], np.float64)),
        ("one pattern 10110", np.array([[1, 0, 1, 1, 0]], np.float64)),
        ("7 random patterns of 8 bits", (rng.uniform(size=(7, 8)) < 0.5).astype(np.float64)),
    ]  # fmt: skip
    for words, X in cases:
        d = X.shape[1]
        out = _unpack(ex, words, _call(ex, fn, (_f(X),), words), ("W", "b"))
        W = _array(ex, words, "W", out[0], (d, d))
        b = _array(ex, words, "b", out[1], (d,))
        W_ref, b_ref = _hebb_ref(X)
        if _close(W, W_ref) and _close(b, b_ref):
            continue
        if not _close(W, W_ref):
            if _close(W, _hebb_ref(X, zero_diag=False)[0]):
                hint = "set the diagonal to zero: a unit has no connection to itself (w_ii = 0)."
            elif len(X) > 1 and _close(W, _hebb_ref(X, normalize=False)[0]):
                hint = "Eq 6.4 divides the sum by n, the number of training vectors."
            elif _close(W, _hebb_ref(X, center=False)[0]):
                hint = "centre the bits first: (x_ki - 0.5), so that disagreeing bits give < 0."
            else:
                hint = "w_ij = 4/n sum_k (x_ki - 0.5)(x_kj - 0.5), zero on the diagonal."
            _compare(ex, words, "W", W, W_ref, hint=hint)
        if len(X) > 1 and _close(b, _hebb_ref(X, bias_avg=False)[1]):
            hint = "average the bias increments like the weights: divide by n."
        elif _close(b, _hebb_ref(X, center=False)[1]):
            hint = "the bias increment is 2 (x_ki - 0.5), from a dummy unit that is always on."
        else:
            hint = "b_i = 2/n sum_k (x_ki - 0.5)."
        _compare(ex, words, "b", b, b_ref, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ completion

_EX_COMPLETE = Exercise("complete_attributes", "")


def complete_attributes(fn: Callable) -> None:
    r"""Check ``fn(W, b, s, observed, sweeps)``: ``sweeps`` sweeps over units 0..d-1 that update
    only the units where ``observed`` is False, the others keeping their values from ``s``."""
    ex = _EX_COMPLETE
    count = 0
    for seed, d in _NETWORKS:
        W, b = _network(seed + 50, d)
        rng = np.random.default_rng(seed + 60)
        s = _state(seed + 70, d)
        observed = rng.uniform(size=d) < 0.5
        observed[0], observed[-1] = True, False
        for sweeps in (1, 3):
            obs_bits = "".join("1" if o else "0" for o in observed)
            words = f"d = {d}, s = {''.join(str(int(v)) for v in s)}, observed = {obs_bits}, "
            words += f"{sweeps} sweep(s)"
            got = _array(ex, words, "the completed state",
                         _call(ex, fn, (_f(W), _f(b), _f(s), observed.copy(), sweeps), words),
                         (d,))  # fmt: skip
            want = s.copy()
            for _ in range(sweeps):
                want = _sweep_ref(W, b, want, ~observed)
            count += 1
            if _close(got, want):
                continue
            everyone = s.copy()
            for _ in range(sweeps):
                everyone = _sweep_ref(W, b, everyone)
            wrong_mask = s.copy()
            for _ in range(sweeps):
                wrong_mask = _sweep_ref(W, b, wrong_mask, observed)
            if _close(got, wrong_mask):
                hint = "observed True means *known*: update the units where observed is False."
            elif _close(got, everyone):
                hint = "that updates every unit; update only those with observed False."
            elif not np.array_equal(got[observed], s[observed]):
                hint = "the observed units are clamped: they must keep their values from s."
            else:
                hint = "repeat `sweeps` times: for each unobserved i in order, apply Eq 6.3."
            _compare(ex, words, "the completed state", got, want, hint=hint)
    _passed(ex, count)


# ------------------------------------------------------------------------------ minima

_EX_MINIMA = Exercise("find_local_minima", "")


def _minima_ref(W, b, *, strict=False):
    d = len(b)
    out = []
    for bits in itertools.product([0.0, 1.0], repeat=d):
        s = np.asarray(bits)
        e = _energy_ref(W, b, s)
        ok = True
        for i in range(d):
            t = s.copy()
            t[i] = 1.0 - t[i]
            et = _energy_ref(W, b, t)
            if et < e - 1e-9 or (strict and et <= e + 1e-9):
                ok = False
                break
        if ok:
            out.append(s)
    return np.asarray(out).reshape(-1, d)


def _fixed_points_ref(W, b, *, ties_on=True):
    """The fixed points of Eq 6.3 (a tie switches a unit on, or, ``ties_on=False``, off)."""
    rows = []
    for bits in itertools.product([0.0, 1.0], repeat=len(b)):
        s = np.asarray(bits)
        g = W @ s + b
        if np.array_equal(((g >= 0) if ties_on else (g > 0)).astype(np.float64), s):
            rows.append(s)
    return np.asarray(rows).reshape(-1, len(b))


def find_local_minima(fn: Callable) -> None:
    r"""Check ``fn(W, b)``: every state from which no single flip lowers the energy, as rows of
    0/1 in the order of ``itertools.product([0, 1], repeat=d)``."""
    ex = _EX_MINIMA
    six = np.array([[1, 0, 1, 0, 0, 0], [1, 1, 0, 0, 0, 0], [0, 0, 0, 1, 0, 1],
                    [0, 0, 0, 0, 1, 1]], np.float64)  # fmt: skip
    W6, b6 = _hebb_ref(six)
    cases = [("the six-unit Hebbian network of the lecture", W6, b6)]
    for seed, d in [(0, 4), (1, 6), (5, 7)]:
        W, b = _network(seed + 80, d)
        cases.append((f"a random integer network with d = {d}", W, b))
    for words, W, b in cases:
        d = len(b)
        got = _array(ex, words, "the minima", _call(ex, fn, (_f(W), _f(b)), words))
        want = _minima_ref(W, b)
        if got.ndim != 2 or got.shape[1:] != (d,):
            raise CheckFailed(
                ex,
                "the minima have the wrong shape",
                case=words,
                details=[
                    f"expected ({len(want)}, {d}): one row per minimum",
                    f"got      {tuple(got.shape)}",
                ],  # fmt: skip
                hint="stack the minimum states as rows: shape (number of minima, d).",
            )
        if _close(got, want):
            continue
        fixed = [_fixed_points_ref(W, b, ties_on=t) for t in (True, False)]
        if any(_close(got, f) for f in [_minima_ref(W, b, strict=True), *fixed]):
            hint = (
                "a flip that leaves the energy unchanged (a tie) does not lower it: such a "
                "state still counts as a local minimum."
            )
        elif got.shape == want.shape and _close(np.sort(got, axis=0), np.sort(want, axis=0)):
            hint = "list the minima in the order itertools.product([0, 1], repeat=d) gives."
        elif got.shape[0] > want.shape[0]:
            hint = "a state is a minimum only if *every* single flip leaves E the same or higher."
        else:
            hint = "for each of the 2^d states, compare its energy with its d one-flip neighbours."
        _compare(ex, words, "the minima", got, want, hint=hint)
    _passed(ex, len(cases))
