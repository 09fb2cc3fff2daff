r"""Self-checks for the exercises on competitive learning and Kohonen maps (Aggarwal §10.5).

Every check runs the student's function on a few fixed cases and compares with a reference
written out here in NumPy loops (one prototype or one neuron at a time), independent of
:mod:`course_lib.competitive` and :mod:`course_lib.som`. Common slips are recognized and
answered with a targeted hint.
"""

from __future__ import annotations

import math
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


def _nearest(W: np.ndarray, x: np.ndarray) -> int:
    best, best_d = 0, math.inf
    for i in range(W.shape[0]):
        dist = math.sqrt(float(np.sum((W[i] - x) ** 2)))
        if dist < best_d:
            best, best_d = i, dist
    return best


def _cases(
    seed: int, specs: list[tuple[str, int, int]]
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [(words, rng.normal(size=(m, d)), rng.normal(size=d)) for words, m, d in specs]


# ------------------------------------------------------------------------------ Eq 10.20

_EX_WTA = Exercise("wta_step", "")


def _wta_reference(W, x, alpha, *, who="winner", sign=1.0):
    out = W.copy()
    p = _nearest(W, x)
    if who == "all":
        return W + sign * alpha * (x - W)
    if who == "loser":
        p = int(np.argmax(np.sum((W - x) ** 2, axis=1)))
    out[p] = W[p] + sign * alpha * (x - W[p])
    return out


def wta_step(fn: Callable) -> None:
    r"""Check ``fn(W, x, alpha)`` returns the prototypes after one winner-take-all update
    (Eq 10.20): only the nearest prototype moves, by $\alpha(x - W_p)$."""
    ex = _EX_WTA
    cases = _cases(
        1, [("m = 3 prototypes in d = 2", 3, 2), ("m = 5 in d = 4", 5, 4), ("m = 8 in d = 3", 8, 3)]
    )
    for (words, W, x), alpha in zip(cases, (0.1, 0.5, 0.25), strict=True):
        words = f"{words}, alpha = {alpha}"
        got = _array(ex, words, "the new W", _call(ex, fn, (_f(W), _f(x), alpha), words), W.shape,
                     hint="return all m prototypes, shape (m, d).")  # fmt: skip
        expected = _wta_reference(W, x, alpha)
        if _close(got, expected):
            continue
        if _close(got, _wta_reference(W, x, alpha, who="all")):
            hint = "winner-take-all: only the nearest prototype moves; the others stay."
        elif _close(got, _wta_reference(W, x, alpha, sign=-1.0)):
            hint = "the winner moves *towards* x: add alpha * (x - W_p)."
        elif _close(got, _wta_reference(W, x, alpha, who="loser")):
            hint = "the winner is the prototype *nearest* to x (argmin of the distances)."
        elif _close(got, _wta_reference(W, x, 1.0)):
            hint = "the winner moves only the fraction alpha of the way to x, not onto x."
        else:
            hint = "find p = argmin_i ||W_i - x||, then W_p + alpha (x - W_p); leave the rest."
        _compare(ex, words, "the new W", got, expected, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ sensitivity

_EX_VQ = Exercise("vq_winner", "")


def vq_winner(fn: Callable) -> None:
    r"""Check ``fn(W, x, s)`` $= \arg\min_i \|W_i - x\| - s_i$ (§10.5.1)."""
    ex = _EX_VQ
    W = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0], [1.0, 1.0]])
    cases = [
        ("no sensitivity: s = 0", W, np.array([0.9, 0.8]), np.zeros(4)),
        (
            "two near prototypes, distances 0.3 and 0.5",
            np.array([[0.0, 0.0], [0.8, 0.0]]),
            np.array([0.3, 0.0]),
            np.array([0.0, 0.17]),
        ),  # fmt: skip
        (
            "a far prototype with a large sensitivity",
            W,
            np.array([0.9, 0.8]),
            np.array([0.0, 0.0, 4.0, 0.0]),
        ),  # fmt: skip
        (
            "sensitivity too small to matter",
            W,
            np.array([2.8, 0.1]),
            np.array([0.1, 0.0, 0.3, 0.2]),
        ),  # fmt: skip
    ]
    rng = np.random.default_rng(3)
    Wr = rng.normal(size=(7, 3))
    cases.append(("m = 7 in d = 3, random sensitivities", Wr, rng.normal(size=3),
                  rng.uniform(0.0, 1.5, size=7)))  # fmt: skip
    for words, Wc, x, s in cases:
        got = _scalar(ex, words, "the winner", _call(ex, fn, (_f(Wc), _f(x), _f(s)), words),
                      integer=True)  # fmt: skip
        dist = np.sqrt(np.sum((Wc - x) ** 2, axis=1))
        expected = int(np.argmin(dist - s))
        if int(got) == expected:
            continue
        if int(got) == int(np.argmin(dist)):
            hint = "subtract each prototype's sensitivity s_i from its distance before the argmin."
        elif int(got) == int(np.argmin(dist + s)):
            hint = "the sensitivity *helps* a prototype win: subtract it, don't add it."
        elif int(got) == int(np.argmin(dist**2 - s)):
            hint = "use the distance ||W_i - x||, not its square, before subtracting s_i."
        elif int(got) == int(np.argmax(dist - s)):
            hint = "the winner has the *smallest* value of ||W_i - x|| - s_i."
        else:
            hint = "compute ||W_i - x|| - s_i for every i and return the index of the smallest."
        _compare(ex, words, "the winner", np.float64(got), expected, hint=hint,
                 details=[f"||W_i - x|| - s_i = {np.round(dist - s, 3).tolist()}"])  # fmt: skip
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ storage

_EX_STORAGE = Exercise("storage_bits", "")


def storage_bits(fn: Callable) -> None:
    r"""Check ``fn(n, d, m)`` $= 32\,m\,d + n\lceil\log_2 m\rceil$: the bits of a codebook of
    32-bit numbers plus one code per point, as an exact integer."""
    ex = _EX_STORAGE
    cases = [(1000, 10, 16), (1000, 10, 17), (10**10, 100, 10**6), (5, 3, 1), (123, 7, 100)]
    for n, d, m in cases:
        words = f"n = {n}, d = {d}, m = {m}"
        got = _scalar(ex, words, "the number of bits", _call(ex, fn, (n, d, m), words))  # fmt: skip
        bits = (m - 1).bit_length()
        expected = 32 * m * d + n * bits
        if got == expected:
            continue
        if got == 32 * m * d + bits or math.isclose(got, 32 * m * d + math.log2(m)):
            hint = "every one of the n points needs its own code: n * ceil(log2 m) bits (the "
            hint += "book's total leaves out the factor n)."
        elif got == m * d + n * bits:
            hint = "each codebook number takes 32 bits: 32 * m * d."
        elif math.isclose(got, 32 * m * d + n * math.log2(m), rel_tol=1e-12):
            hint = "a code is a whole number of bits: round log2(m) up (ceil)."
        elif got == (32 * m * d + n * bits) / 8 or got == 4 * m * d + n * bits / 8:
            hint = "count bits, not bytes."
        elif got == 32 * n * d:
            hint = "that is the raw data; count the codebook plus the codes."
        else:
            hint = "codebook: 32 * m * d bits; codes: n * ceil(log2 m) bits; add them."
        _compare(ex, words, "the number of bits", np.float64(got), expected, rtol=0.0, atol=0.5,
                 hint=hint)  # fmt: skip
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ Exercise 10.3

_EX_KMEANS = Exercise("online_kmeans_step", "10.3")


def online_kmeans_step(fn: Callable) -> None:
    r"""Check ``fn(W, counts, x)`` returns ``(W_new, counts_new)``: the nearest prototype $p$
    gets $n_p + 1$ and moves by $\frac{1}{n_p + 1}(x - W_p)$; nothing else changes."""
    ex = _EX_KMEANS
    rng = np.random.default_rng(5)
    cases = []
    for words, m, d, counts in [
        ("m = 3 in d = 2, counts [4, 1, 7]", 3, 2, [4, 1, 7]),
        ("m = 4 in d = 3, counts [2, 2, 2, 2]", 4, 3, [2, 2, 2, 2]),
        ("a prototype that has never won (count 0)", 3, 2, [0, 0, 0]),
        ("m = 6 in d = 5, mixed counts", 6, 5, [10, 3, 0, 1, 25, 6]),
    ]:
        cases.append((words, rng.normal(size=(m, d)), np.array(counts), rng.normal(size=d)))
    for words, W, counts, x in cases:
        args = (_f(W), jnp.asarray(counts, jnp.int32), _f(x))
        out = _unpack(ex, words, _call(ex, fn, args, words), ("W_new", "counts_new"))
        got_W = _array(ex, words, "W_new", out[0], W.shape)
        got_c = _array(ex, words, "counts_new", out[1], counts.shape)
        p = _nearest(W, x)
        exp_c = counts.astype(np.float64)
        exp_c[p] += 1
        exp_W = W.copy()
        exp_W[p] = W[p] + (x - W[p]) / exp_c[p]
        if _close(got_W, exp_W) and _close(got_c, exp_c, 0.0, 0.0):
            continue
        old = W.copy()
        old[p] = W[p] + (x - W[p]) / max(counts[p], 1)
        if not _close(got_c, exp_c, 0.0, 0.0):
            hint = "add 1 to the winner's count (and only the winner's); return the new counts."
        elif _close(got_W, old):
            hint = "count the new point first: alpha = 1 / (n_p + 1), where n_p is the old count."
        elif _close(got_W, _wta_reference(W, x, 0.1)) or _close(got_W, _wta_reference(W, x, 0.5)):
            hint = "the step is not a constant: alpha = 1 / (the winner's new count)."
        else:
            hint = "W_p moves to the mean of its points: W_p + (x - W_p) / n_p, n_p counting x."
        if not _close(got_c, exp_c, 0.0, 0.0):
            _compare(ex, words, "counts_new", got_c, exp_c, rtol=0.0, atol=0.0, hint=hint)
        _compare(ex, words, "W_new", got_W, exp_W, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ Exercise 10.4

_EX_COORDS = Exercise("lattice_coords", "10.4")


def _coords_reference(rows, cols, kind, *, shift_even=False, spacing=None):
    out = []
    for r in range(rows):
        for c in range(cols):
            if kind == "rectangular":
                out.append((c, r))
            else:
                shifted = (r % 2 == 0) if shift_even else (r % 2 == 1)
                h = math.sqrt(3.0) / 2.0 if spacing is None else spacing
                out.append((c + 0.5 * shifted, r * h))
    return np.array(out, np.float64)


def lattice_coords(fn: Callable) -> None:
    r"""Check ``fn(rows, cols, kind)``: the ``(rows * cols, 2)`` lattice coordinates (x, y) of
    neuron ``i = r * cols + c``; rectangular $(c, r)$, hexagonal
    $(c + \tfrac12[r \text{ odd}],\ r\sqrt3/2)$."""
    ex = _EX_COORDS
    cases = [(2, 3, "rectangular"), (4, 4, "rectangular"), (3, 4, "hexagonal"),
             (5, 2, "hexagonal"), (1, 5, "hexagonal")]  # fmt: skip
    for rows, cols, kind in cases:
        words = f"rows = {rows}, cols = {cols}, kind = {kind!r}"
        out = _call(ex, fn, (rows, cols, kind), words)
        got = _array(ex, words, "the coordinates", out, (rows * cols, 2),
                     hint="one (x, y) row per neuron: shape (rows * cols, 2).")  # fmt: skip
        expected = _coords_reference(rows, cols, kind)
        if _close(got, expected):
            continue
        if _close(got, expected[:, ::-1]):
            hint = "give (x, y) = (column, row), not (row, column)."
        elif kind == "hexagonal" and _close(got, _coords_reference(rows, cols, kind, spacing=1.0)):
            hint = "with rows 1 apart the diagonal neighbours are sqrt(1.25) away: space the rows "
            hint += "by sqrt(3)/2."
        elif kind == "hexagonal" and _close(
            got, _coords_reference(rows, cols, kind, shift_even=True)
        ):
            hint = "shift the odd rows (r = 1, 3, ...) by 1/2, not the even ones."
        elif kind == "hexagonal" and _close(got, _coords_reference(rows, cols, "rectangular")):
            hint = "the hexagonal lattice shifts every other row by 1/2 and packs rows closer."
        else:
            hint = "neuron i = r * cols + c: loop over rows r, then columns c."
        _compare(ex, words, "the coordinates", got, expected, hint=hint)
    _passed(ex, len(cases))


_EX_SOM = Exercise("som_step", "10.4")


def _som_reference(W, x, alpha, sigma, coords, *, square=True, two=True, weight_space=False,
                   winner_only=False):  # fmt: skip
    p = _nearest(W, x)
    out = W.copy()
    for i in range(W.shape[0]):
        if weight_space:
            dist = math.sqrt(float(np.sum((W[i] - W[p]) ** 2)))
        else:
            dist = math.sqrt(float(np.sum((coords[i] - coords[p]) ** 2)))
        top = dist**2 if square else dist
        h = math.exp(-top / ((2.0 if two else 1.0) * sigma**2))
        if winner_only:
            h = 1.0 if i == p else 0.0
        out[i] = W[i] + alpha * h * (x - W[i])
    return out


def som_step(fn: Callable) -> None:
    r"""Check ``fn(W, x, alpha, sigma, coords)`` returns the weights after one Kohonen update
    (Eq 10.21-10.22): every neuron moves by $\alpha\,\mathrm{Damp}(i, p)(x - W_i)$, with
    $\mathrm{Damp}(i,p) = \exp(-\|c_i - c_p\|^2 / 2\sigma^2)$ on the lattice."""
    ex = _EX_SOM
    rng = np.random.default_rng(8)
    rect = _coords_reference(3, 3, "rectangular")
    hexa = _coords_reference(3, 4, "hexagonal")
    cases = [
        ("3x3 rectangular lattice, d = 2, sigma = 1", rng.normal(size=(9, 2)), rect, 0.5, 1.0),
        ("3x3 rectangular lattice, d = 3, sigma = 2", rng.normal(size=(9, 3)), rect, 0.3, 2.0),
        ("3x4 hexagonal lattice, d = 2, sigma = 0.7", rng.normal(size=(12, 2)), hexa, 0.4, 0.7),
    ]
    for words, W, coords, alpha, sigma in cases:
        x = rng.normal(size=W.shape[1])
        words = f"{words}, alpha = {alpha}"
        args = (_f(W), _f(x), alpha, sigma, _f(coords))
        got = _array(ex, words, "the new W", _call(ex, fn, args, words), W.shape,
                     hint="return all m weight vectors, shape (m, d).")  # fmt: skip
        expected = _som_reference(W, x, alpha, sigma, coords)
        if _close(got, expected):
            continue
        if _close(got, _som_reference(W, x, alpha, sigma, coords, winner_only=True)):
            hint = "every neuron moves (damped by its lattice distance), not only the winner."
        elif _close(got, _som_reference(W, x, alpha, sigma, coords, square=False)):
            hint = "square the lattice distance in the Gaussian: exp(-LDist^2 / (2 sigma^2))."
        elif _close(got, _som_reference(W, x, alpha, sigma, coords, two=False)):
            hint = "the Gaussian has 2 sigma^2 in its denominator (Eq 10.21)."
        elif _close(got, _som_reference(W, x, alpha, sigma, coords, weight_space=True)):
            hint = "damp by the distance on the *lattice* (coords), not between weight vectors."
        else:
            hint = "p = argmin ||W_i - x||; h_i = exp(-||c_i - c_p||^2 / (2 sigma^2)); "
            hint += "W_i + alpha h_i (x - W_i)."
        _compare(ex, words, "the new W", got, expected, hint=hint)
    _passed(ex, len(cases))
