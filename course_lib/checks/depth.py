r"""Self-checks for the exercises on depth and capacity (Aggarwal §1.2.2, §1.5.1, §1.5.2).

The references are written out here in NumPy: a loop over the layers for the parameter count,
the matrix product taken one factor at a time for Theorem 1.5.1, ``np.maximum`` for the tent
map, the sigmoid sum for the staircase, and piecewise-linear test functions whose number of
pieces is known by construction. Common slips are recognized and answered with a hint.
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


def _relu(z: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0.0)


# ------------------------------------------------------------------------ parameter count

_EX_COUNT = Exercise("param_count", "")


def param_count(fn: Callable) -> None:
    r"""Check ``fn(widths)`` $= d p_1 + \sum_r p_r p_{r+1} + p_k o$ plus one bias per
    non-input unit, for ``widths = (d, p_1, ..., p_k, o)``."""
    ex = _EX_COUNT
    cases = [(2, 1), (3, 4, 2), (784, 300, 100, 10), (1, 2, 2, 2, 1), (5, 7, 3, 9, 4, 2)]
    for widths in cases:
        words = f"widths = {widths}"
        got = _scalar(ex, words, "the count", _call(ex, fn, (widths,), words), integer=True)
        weights = sum(a * b for a, b in zip(widths[:-1], widths[1:], strict=True))
        biases = sum(widths[1:])
        if got == weights + biases:
            continue
        if got == weights:
            hint = "add the biases: one per unit of every layer after the input."
        elif got == weights + sum(widths):
            hint = "the input layer has no biases: count one per unit of the later layers only."
        elif len(widths) > 2 and got in (
            weights - widths[-2] * widths[-1] + biases - widths[-1],
            weights - widths[0] * widths[1] + biases - widths[1],
        ):
            hint = (
                "a network with widths (d, p1, ..., pk, o) has len(widths) - 1 weight "
                "matrices: one between every two consecutive widths (check your loop's range)."
            )
        else:
            hint = "sum (p_r + 1) * p_(r+1) over every pair of consecutive widths."
        _compare(ex, words, "the count", np.float64(got), weights + biases, rtol=0, atol=0,
                 hint=hint)  # fmt: skip
    _passed(ex, len(cases))


# ------------------------------------------------------------------------ Theorem 1.5.1

_EX_COLLAPSE = Exercise("collapse", "")


def collapse(fn: Callable) -> None:
    r"""Check ``fn(Ws)`` $= W_1 W_2 \cdots W_{k+1}$, the matrix of a linear network."""
    ex = _EX_COLLAPSE
    rng = np.random.default_rng(15)
    cases = [("three 3x3 matrices", [(3, 3), (3, 3), (3, 3)]),
             ("two 2x2 matrices", [(2, 2), (2, 2)]),
             ("shapes (4, 3), (3, 5), (5, 2)", [(4, 3), (3, 5), (5, 2)]),
             ("one matrix (3, 2)", [(3, 2)])]  # fmt: skip
    for words, shapes in cases:
        Ws = [rng.normal(size=s) for s in shapes]
        expected = Ws[0]
        for W in Ws[1:]:
            expected = expected @ W
        out_shape = (shapes[0][0], shapes[-1][1])
        value = _call(ex, fn, ([_f(W) for W in Ws],), words)
        got = _array(ex, words, "the matrix", value, out_shape,
                     hint="the result maps d inputs to o outputs: shape (d, o).")  # fmt: skip
        if _close(got, expected):
            continue
        rev = Ws[-1]
        for W in Ws[-2::-1]:
            rev = rev @ W
        if _close(got, rev):
            hint = "the order matters: the first layer's matrix comes first, W1 @ W2 @ ... ."
        elif _close(got, expected.T):
            hint = (
                "that is the transpose: the network computes (W1 W2 ... W_k+1)^T x, and its "
                "matrix is W1 @ W2 @ ... @ W_k+1."
            )
        else:
            hint = "multiply the matrices in order, starting from the first layer's."
        _compare(ex, words, "the matrix", got, expected, rtol=1e-5, atol=1e-6, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------ the tent map

_EX_TENT = Exercise("tent", "")
_EX_COMPOSE = Exercise("compose_tent", "")


def _tent(x: np.ndarray) -> np.ndarray:
    return 2.0 * _relu(x) - 4.0 * _relu(x - 0.5)


def tent(fn: Callable) -> None:
    r"""Check ``fn(x)`` $= 2\,\mathrm{ReLU}(x) - 4\,\mathrm{ReLU}(x - 1/2)$ elementwise."""
    ex = _EX_TENT
    cases = [("x = 0, 1/4, 1/2, 3/4, 1", np.array([0.0, 0.25, 0.5, 0.75, 1.0])),
             ("x = 0.1, 0.3, 0.6, 0.9", np.array([0.1, 0.3, 0.6, 0.9])),
             ("x = -0.5, 1.5 (outside [0, 1])", np.array([-0.5, 1.5]))]  # fmt: skip
    for words, x in cases:
        got = _array(ex, words, "t(x)", _call(ex, fn, (_f(x),), words), x.shape,
                     hint="the tent map works elementwise: same shape as x.")  # fmt: skip
        expected = _tent(x)
        if _close(got, expected):
            continue
        if _close(got, expected / 2):
            hint = (
                "the peak t(1/2) must be 1 so that t maps [0, 1] onto [0, 1]: slopes +2 "
                "then -2, i.e. 2 ReLU(x) - 4 ReLU(x - 1/2)."
            )
        elif _close(got, 2.0 * _relu(x) - 2.0 * _relu(x - 0.5)):
            hint = "after x = 1/2 the slope must turn from +2 to -2: subtract 4 ReLU(x - 1/2)."
        else:
            hint = "t(x) = 2 ReLU(x) - 4 ReLU(x - 1/2): 0 at x = 0, 1 at 1/2, 0 at 1."
        _compare(ex, words, "t(x)", got, expected, rtol=1e-5, atol=1e-6, hint=hint)
    _passed(ex, len(cases))


def compose_tent(fn: Callable) -> None:
    r"""Check ``fn(x, r)`` $= t^{\circ r}(x)$, the tent map applied $r$ times."""
    ex = _EX_COMPOSE
    x = np.arange(33) / 32  # dyadic points: exact in float32
    cases = [1, 2, 3, 5, 0]
    for r in cases:
        words = f"x = 0, 1/32, ..., 1 and r = {r}"
        got = _array(ex, words, "t^r(x)", _call(ex, fn, (_f(x), r), words), x.shape,
                     hint="apply the tent map elementwise: same shape as x.")  # fmt: skip
        expected = x
        for _ in range(r):
            expected = _tent(expected)
        if _close(got, expected):
            continue
        minus, plus = x, _tent(x)
        for _ in range(r - 1):
            minus = _tent(minus)
        for _ in range(r):
            plus = _tent(plus)
        if r >= 1 and _close(got, minus):
            hint = "that is r - 1 compositions: apply t exactly r times (range(r))."
        elif _close(got, plus):
            hint = "that is r + 1 compositions: apply t exactly r times (r = 0 gives x back)."
        else:
            hint = "start from h = x and replace h by tent(h), r times."
        _compare(ex, words, "t^r(x)", got, expected, rtol=1e-5, atol=1e-6, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------ staircase

_EX_STAIR = Exercise("staircase", "")


def staircase(fn: Callable) -> None:
    r"""Check ``fn(x, centers, heights, steepness, baseline)``
    $= b + \sum_k h_k\,\sigma(s\,(x - c_k))$."""
    ex = _EX_STAIR
    rng = np.random.default_rng(16)
    cases = [("4 steps, steepness 10, baseline 0.5", 4, 10.0, 0.5),
             ("1 step, steepness 3, baseline -1", 1, 3.0, -1.0),
             ("7 steps, steepness 40, baseline 2", 7, 40.0, 2.0)]  # fmt: skip
    for words, n, s, b in cases:
        x = np.linspace(0.0, 1.0, 9)
        c, h = np.sort(rng.uniform(size=n)), rng.normal(size=n)
        args = (_f(x), _f(c), _f(h), s, b)
        got = _array(ex, words, "g(x)", _call(ex, fn, args, words), x.shape,
                     hint="one value per point of x: sum over the steps.")  # fmt: skip
        sig = 1.0 / (1.0 + np.exp(-s * (x[:, None] - c[None, :])))  # (points, steps)
        expected = b + sig @ h
        if _close(got, expected):
            continue
        flipped = b + (1.0 / (1.0 + np.exp(-s * (c[None, :] - x[:, None])))) @ h
        if _close(got, expected - b):
            hint = "add the baseline: the staircase starts at f(x_0), not at 0."
        elif _close(got, flipped):
            hint = (
                "wrong sign inside the sigmoid: a step at c_k switches on for x > c_k, "
                "sigma(s (x - c_k))."
            )
        else:
            hint = "g(x) = baseline + sum_k heights[k] * sigmoid(steepness * (x - centers[k]))."
        _compare(ex, words, "g(x)", got, expected, rtol=1e-5, atol=1e-6, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------ counting pieces

_EX_PIECES = Exercise("count_pieces", "")


def _pieces_cases() -> list[tuple[str, np.ndarray, np.ndarray, int]]:
    xs = np.linspace(0.0, 1.0, 101)  # kinks below sit on grid points
    xd = np.arange(65) / 64
    tent3 = _tent(_tent(_tent(xd)))
    return [
        ("a line 0.1 x + 0.3 on 101 points", xs, 0.1 * xs + 0.3, 1),
        ("|x - 0.3| + 0.5 |x - 0.7| on 101 points", xs,
         np.abs(xs - 0.3) + 0.5 * np.abs(xs - 0.7), 3),
        ("0.2 x + 0.7 ReLU(x - 0.25) - 1.3 ReLU(x - 0.5) on 101 points", xs,
         0.2 * xs + 0.7 * _relu(xs - 0.25) - 1.3 * _relu(xs - 0.5), 3),
        ("the tent map composed 3 times on 65 points", xd, tent3, 8),
    ]  # fmt: skip


def count_pieces(fn: Callable) -> None:
    r"""Check ``fn(xs, ys)``: the number of linear pieces, one more than the grid points where
    the slope changes by more than $10^{-3}$."""
    ex = _EX_PIECES
    cases = _pieces_cases()
    for words, xs, ys, expected in cases:
        got = _scalar(ex, words, "the count", _call(ex, fn, (xs.copy(), ys.copy()), words),
                      integer=True)  # fmt: skip
        if got == expected:
            continue
        if got == expected - 1:
            hint = "that is the number of kinks: a function with k kinks has k + 1 pieces."
        elif got > expected:
            hint = (
                "rounding makes second differences of a straight line tiny but not exactly 0: "
                "count a kink only where |y[i+1] - 2 y[i] + y[i-1]| / h exceeds 1e-3."
            )
        else:
            hint = (
                "a kink is a point where the slope changes: compare the slope before and after "
                "every inner grid point (second differences divided by h)."
            )
        _compare(ex, words, "the count", np.float64(got), expected, rtol=0, atol=0, hint=hint)
    _passed(ex, len(cases))
