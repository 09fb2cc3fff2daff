r"""Self-checks for the exercises on transposed convolution, unpooling and the hybrid
recommender (Aggarwal §8.5.2, Exercise 8.10; Goodfellow et al. §9.5).

The references are written out here in NumPy: a scatter loop for the transposed convolution,
the integer size formula, a count of the filter copies covering each output, a loop over
pooling blocks for unpooling, and the hybrid score formula. Common slips are recognized and
answered with a hint.
"""

from __future__ import annotations

from collections.abc import Callable

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
)

_close = _close_within(rtol=1e-5, atol=1e-6)


def _scatter(y: np.ndarray, w: np.ndarray, s: int, p: int) -> np.ndarray:
    """One-channel transposed convolution by a scatter loop, then the padding cropped."""
    m, f = y.shape[0], w.shape[0]
    full = np.zeros(((m - 1) * s + f, (m - 1) * s + f))
    for i in range(m):
        for j in range(m):
            full[i * s : i * s + f, j * s : j * s + f] += y[i, j] * w
    n = full.shape[0] - 2 * p
    return full[p : p + n, p : p + n]


# ------------------------------------------------------------------------ output size

_EX_SIZE = Exercise("transposed_output_size", "")


def transposed_output_size(fn: Callable) -> None:
    r"""Check ``fn(m, f, stride, padding)`` $= (m-1)S - 2p + F$."""
    ex = _EX_SIZE
    cases = [(4, 3, 1, 0), (2, 4, 2, 1), (4, 4, 2, 1), (3, 3, 2, 0), (5, 5, 3, 2), (7, 2, 2, 0)]
    for m, f, s, p in cases:
        words = f"m = {m}, f = {f}, stride = {s}, padding = {p}"
        got = _scalar(ex, words, "the size", _call(ex, fn, (m, f, s, p), words), integer=True)
        expected = (m - 1) * s - 2 * p + f
        if got == expected:
            continue
        if got == (m + 2 * p - f) // s + 1:
            hint = "that is the forward convolution's size; the transposed one inverts it."
        elif got == (m - 1) * s + f:
            hint = "the padding of the forward convolution is cropped off: subtract 2p."
        elif got == (m - 1) * s - p + f:
            hint = "the padding is cropped on both sides: subtract 2p, not p."
        elif got == m * s:
            hint = "m inputs placed S apart span (m - 1) S pixels, plus the filter's F."
        else:
            hint = "the copies of the filter start S apart: (m - 1) S + F, minus 2p."
        _compare(ex, words, "the size", np.float64(got), expected, rtol=0, atol=0, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------ scatter loop

_EX_SCATTER = Exercise("conv_transpose_scatter", "")


def conv_transpose_scatter(fn: Callable) -> None:
    r"""Check ``fn(y, w, stride, padding)`` for one-channel ``y (m, m)`` and ``w (F, F)``:
    each $y_{ij}$ adds $y_{ij} w$ at $(S i - p, S j - p)$; output ``(n, n)``,
    $n = (m-1)S - 2p + F$."""
    ex = _EX_SCATTER
    rng = np.random.default_rng(21)
    cases = [("y 3x3, w 3x3, stride 1, padding 0", 3, 3, 1, 0),
             ("y 2x2, w 3x3, stride 2, padding 0", 2, 3, 2, 0),
             ("y 3x3, w 4x4, stride 2, padding 1", 3, 4, 2, 1),
             ("y 2x2, w 2x2, stride 3, padding 0", 2, 2, 3, 0)]  # fmt: skip
    for words, m, f, s, p in cases:
        y, w = rng.normal(size=(m, m)), rng.normal(size=(f, f))
        n = (m - 1) * s - 2 * p + f
        got = _array(ex, words, "the output", _call(ex, fn, (_f(y), _f(w), s, p), words), (n, n),
                     hint=f"the output is (m - 1) S - 2p + F = {n} pixels on a side: place the "
                          "copies S apart, then crop p from every border.")  # fmt: skip
        expected = _scatter(y, w, s, p)
        if _close(got, expected):
            continue
        if _close(got, _scatter(y, w[::-1, ::-1], s, p)):
            hint = "do not flip the filter: copy w as it is (the transpose of a cross-correlation)."
        elif _close(got, _scatter(y, w.T, s, p)):
            hint = (
                "row r, column c of the filter lands at (S i + r - p, S j + c - p): you "
                "swapped them."
            )
        elif p > 0 and _close(got, _scatter(y, w, s, 0)[:n, :n]):
            hint = "crop p pixels from the top and left too, not only from the bottom and right."
        else:
            hint = "add y[i, j] * w into the block starting at row S i - p, column S j - p."
        _compare(ex, words, "the output", got, expected, rtol=1e-5, atol=1e-6, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------ overlap count


def _overlaps(m: int, f: int, s: int) -> np.ndarray:
    """How many of the copies i = 0..m-1 (covering S i .. S i + F - 1) cover each output t."""
    t = np.arange((m - 1) * s + f)[:, None] - s * np.arange(m)[None, :]
    return ((t >= 0) & (t < f)).sum(axis=1)


_EX_OVERLAP = Exercise("overlap_count", "")


def overlap_count(fn: Callable) -> None:
    r"""Check ``fn(m, f, stride)``: for a 1-D transposed convolution of ``m`` inputs with a
    filter of size ``f`` (no padding), the number $c_t$ of filter taps that land on each of the
    $(m-1)S + F$ outputs, $c_t = \#\{(i, r) : S i + r = t\}$."""
    ex = _EX_OVERLAP
    cases = [(4, 3, 2), (3, 4, 2), (5, 3, 1), (4, 2, 3), (3, 6, 3), (2, 5, 4)]
    for m, f, s in cases:
        words = f"m = {m}, f = {f}, stride = {s}"
        n = (m - 1) * s + f
        value = _call(ex, fn, (m, f, s), words)
        length = np.shape(value)[0] if np.ndim(value) == 1 else None
        if length == (m - 1) * f + s:
            shape_hint = "you swapped the filter size and the stride: copies start S apart."
        else:
            shape_hint = f"one count per output pixel: (m - 1) S + F = {n} of them."
        got = _array(ex, words, "the count vector", value, (n,), hint=shape_hint)
        expected = _overlaps(m, f, s)
        if np.array_equal(got, expected):
            continue
        starts = np.zeros(n)
        starts[: (m - 1) * s + 1 : s] = 1
        if np.array_equal(got, starts):
            hint = "each copy covers F outputs: add 1 at every S i + r for r = 0 .. F - 1."
        elif np.array_equal(got, np.r_[_overlaps(m - 1, f, s), np.zeros(s)]):
            hint = "there are m copies, one per input: i runs over 0 .. m - 1, the last one too."
        elif np.allclose(got, np.full(n, f / s)) or np.array_equal(got, np.full(n, f // s)):
            hint = (
                "count the copies at each output: near the borders fewer overlap, and when S "
                "does not divide F the count changes from pixel to pixel."
            )
        else:
            hint = "input i puts its filter's taps r = 0 .. F - 1 on outputs t = S i + r."
        _compare(ex, words, "the count vector", got, expected, rtol=0, atol=0, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------ unpooling

_EX_UNPOOL = Exercise("unpool_switches", "")


def unpool_switches(fn: Callable) -> None:
    r"""Check ``fn(y, x, size)``: ``y (H/size, W/size)`` goes back to where each block of
    ``x (H, W)`` had its maximum; zeros elsewhere."""
    ex = _EX_UNPOOL
    rng = np.random.default_rng(22)
    cases = [("x 4x4, size 2", 4, 4, 2), ("x 6x4, size 2", 6, 4, 2), ("x 6x6, size 3", 6, 6, 3)]
    for words, H, W, k in cases:
        x = rng.normal(size=(H, W))
        y = rng.normal(size=(H // k, W // k)) + 3.0  # away from zero: a dropped value shows
        got = _array(ex, words, "the output", _call(ex, fn, (_f(y), _f(x), k), words), (H, W),
                     hint="unpooling gives back the size of x.")  # fmt: skip
        expected = np.zeros((H, W))
        for i in range(H // k):
            for j in range(W // k):
                block = x[i * k : (i + 1) * k, j * k : (j + 1) * k]
                r, c = np.unravel_index(np.argmax(block), block.shape)
                expected[i * k + r, j * k + c] = y[i, j]
        if _close(got, expected):
            continue
        spread = np.repeat(np.repeat(y, k, axis=0), k, axis=1)
        corner = np.zeros((H, W))
        corner[::k, ::k] = y
        if _close(got, spread):
            hint = "that copies y to the whole block (nearest upsampling): keep only the arg-max."
        elif _close(got, spread / k**2):
            hint = "that spreads y evenly (the transpose of average pooling): use the arg-max."
        elif _close(got, corner):
            hint = "the value goes to where the block's maximum of x was, not to its corner."
        else:
            hint = "in each block of x find the arg-max (the switch) and put y[i, j] there."
        _compare(ex, words, "the output", got, expected, rtol=1e-5, atol=1e-6, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------ hybrid scores

_EX_HYBRID = Exercise("hybrid_predict", "8.10")


def hybrid_predict(fn: Callable) -> None:
    r"""Check ``fn(U, A, b, mu, F)`` $= \mu + b\mathbf 1^\top + U (F A)^\top$ for ``U (m, k)``,
    ``A (d, k)``, ``b (m,)``, scalar ``mu`` and ``F (n, d)``."""
    ex = _EX_HYBRID
    rng = np.random.default_rng(23)
    cases = [("3 users, 5 items, d = 4, k = 2", 3, 5, 4, 2),
             ("1 user, 7 items, d = 3, k = 3", 1, 7, 3, 3),
             ("4 users, 2 items, d = 6, k = 1", 4, 2, 6, 1)]  # fmt: skip
    for words, m, n, d, k in cases:
        U, A, b = rng.normal(size=(m, k)), rng.normal(size=(d, k)), rng.normal(size=m)
        mu, F = 3.0 + rng.normal(), rng.normal(size=(n, d))
        args = (_f(U), _f(A), _f(b), _f(mu), _f(F))
        got = _array(ex, words, "the scores", _call(ex, fn, args, words), (m, n),
                     hint="one score per user (rows) and item (columns).")  # fmt: skip
        inter = U @ (F @ A).T
        expected = mu + b[:, None] + inter
        if _close(got, expected):
            continue
        if _close(got, mu + inter):
            hint = "add each user's bias b[u] to that user's row."
        elif _close(got, b[:, None] + inter):
            hint = "add the global mean mu."
        elif _close(got, inter):
            hint = "add the global mean mu and each user's bias b[u]."
        else:
            hint = "the item vector of image i is A^T f_i, i.e. the rows of F @ A."
        _compare(ex, words, "the scores", got, expected, rtol=1e-5, atol=1e-5, hint=hint)
    _passed(ex, len(cases))
