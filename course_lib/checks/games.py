r"""Self-checks for the exercises on games: tic-tac-toe, minimax, the table method and MCTS
(Aggarwal §9.3.2, §9.6, §9.7.1.1, Exercise 9.5).

The references are written out here independently of :mod:`course_lib.tictactoe` and
:mod:`course_lib.mcts`: the winner by loops over rows, columns and diagonals, minimax by plain
recursion with a memo, the credits and Eq 9.27 by their formulas, and $\pi \propto N^{1/\tau}$
in float64. Common slips (a missed diagonal, $\gamma^r$ for $\gamma^{r-1}$, $N$ for $N + 1$,
the value from the wrong player's point of view) are recognized and answered with a hint.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np

from course_lib.checks import (
    CheckFailed,
    Exercise,
    _array,
    _call,
    _compare,
    _f,
    _fmt,
    _passed,
    _scalar,
)

_ROWS = [(0, 1, 2), (3, 4, 5), (6, 7, 8)]
_COLS = [(0, 3, 6), (1, 4, 7), (2, 5, 8)]
_DIAGS = [(0, 4, 8), (2, 4, 6)]


def _winner(b: tuple[int, ...], lines=(*_ROWS, *_COLS, *_DIAGS)) -> int:
    for i, j, k in lines:
        if b[i] == b[j] == b[k] != 0:
            return b[i]
    return 0 if 0 not in b else 2


def _board(text: str) -> tuple[int, ...]:
    """'XO. ...' (9 symbols, spaces ignored) -> a tuple of 1 / -1 / 0."""
    sym = {"X": 1, "O": -1, ".": 0}
    return tuple(sym[c] for c in text.replace(" ", ""))


def _show(b: tuple[int, ...]) -> str:
    sym = {1: "X", -1: "O", 0: "."}
    return " / ".join("".join(sym[b[3 * r + c]] for c in range(3)) for r in range(3))


# ------------------------------------------------------------------------------ winner

_EX_WINNER = Exercise("winner", "")

_WINNER_CASES = [
    "XXX OO. ...",  # top row
    "OO. XXX ...",
    "OO. ... XXX",
    "XOO X.. X..",  # left column
    ".XO .XO .X.",
    "O.X O.X ..X",
    "XOO .X. ..X",  # main diagonal
    "O.X OX. X..",  # anti-diagonal
    "OXX .OX ..O",  # O on the main diagonal
    "X.O XO. O.X",  # O on the anti-diagonal
    "XOX XOO OXX",  # a draw
    "... ... ...",  # the start
    "XO. .X. ..O",  # going on
    "XOX OXO OX.",  # one square left, nobody has won yet
]


def winner(fn: Callable) -> None:
    """Check ``fn(board)`` -> 1 (X has a line), -1 (O has one), 0 (a draw), 2 (not over)."""
    ex = _EX_WINNER
    for text in _WINNER_CASES:
        b = _board(text)
        words = f"board {_show(b)}"
        got = _scalar(ex, words, "the winner", _call(ex, fn, (b,), words), integer=True)
        expected = _winner(b)
        if got == expected:
            continue
        if got == _winner(b, (*_ROWS, *_COLS)):
            hint = "there are 8 lines: 3 rows, 3 columns and the 2 diagonals (0-4-8 and 2-4-6)."
        elif got == _winner(b, (*_ROWS, *_DIAGS)) or got == _winner(b, (*_COLS, *_DIAGS)):
            hint = "check the rows and the columns: squares are numbered row by row, 0 1 2 on top."
        elif expected == 0 and got == 2:
            hint = "a full board with no line is a draw (0), not a game in progress."
        elif expected == 2 and got == 0:
            hint = "the game is a draw only when the board is full; with an empty square return 2."
        elif got == -expected:
            hint = "return the owner of the line: 1 for X, -1 for O."
        else:
            hint = "look for a line whose three squares hold the same non-zero mark."
        _compare(ex, words, "the winner", np.float64(got), expected, hint=hint)
    _passed(ex, len(_WINNER_CASES))


# ------------------------------------------------------------------------------ legal moves

_EX_LEGAL = Exercise("legal_moves", "")


def legal_moves(fn: Callable) -> None:
    """Check ``fn(board)`` -> 9 booleans: the empty squares, or none once the game is over."""
    ex = _EX_LEGAL
    cases = ["... ... ...", "XO. .X. ..O", "XXX OO. ...", "XOX XOO OXX", "XOX OXO OX.",
             "O.X OX. X..", "X.. ... ..."]  # fmt: skip
    for text in cases:
        b = _board(text)
        words = f"board {_show(b)}"
        got = _array(ex, words, "the mask", _call(ex, fn, (b,), words), (9,),
                     hint="return 9 booleans, one per square 0..8.")  # fmt: skip
        empty = np.array([v == 0 for v in b], dtype=np.float64)
        expected = empty * (_winner(b) == 2)
        if np.array_equal(got != 0, expected != 0):
            continue
        if np.array_equal(got != 0, empty != 0):
            hint = "after a win nobody moves: return no legal moves when someone has a line."
        elif np.array_equal(got != 0, empty == 0):
            hint = "the legal squares are the empty ones (value 0), not the occupied ones."
        else:
            hint = "mark the empty squares (value 0), unless the game is already over."
        _compare(ex, words, "the mask", got != 0, expected, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ minimax


@functools.cache
def _value(b: tuple[int, ...]) -> int:
    """Minimax value from X's point of view (plain recursion with a memo)."""
    w = _winner(b)
    if w != 2:
        return w
    p = 1 if sum(b) == 0 else -1
    kids = [_value(b[:a] + (p,) + b[a + 1 :]) for a in range(9) if b[a] == 0]
    return max(kids) if p == 1 else min(kids)


_EX_MINIMAX = Exercise("minimax_value", "9.5")

_MINIMAX_CASES = [
    ("X wins in one", "XX. OO. ..."),  # X to move
    ("O wins in one", "XX. OO. X.."),  # O to move
    ("X's two corners", "X.. .O. ..X"),  # O to move: an edge draws
    ("O answered a corner with the opposite corner", "X.. ... ..O"),
    ("a finished game (O won)", "XXO .O. OX."),
    ("a full board, a draw", "XOX XOO OXX"),
    ("the empty board", "... ... ..."),
    ("O took the centre", "X.. .O. ..."),
]


def minimax_value(fn: Callable) -> None:
    """Check ``fn(board)``: the minimax value from X's point of view (1, 0, -1)."""
    ex = _EX_MINIMAX
    for name, text in _MINIMAX_CASES:
        b = _board(text)
        words = f"{name}: board {_show(b)}, {'X' if sum(b) == 0 else 'O'} to move"
        got = _scalar(ex, words, "the value", _call(ex, fn, (b,), words), integer=True)
        expected = _value(b)
        if got == expected:
            continue
        mover = 1 if sum(b) == 0 else -1
        if got == expected * mover and mover == -1:
            hint = (
                "that is the value for the player to move; return it from X's point of view "
                "(+1 means X can force a win, whoever is to move)."
            )
        elif got == -expected:
            hint = "the sign is flipped: +1 is a forced win for X, -1 for O."
        else:
            hint = (
                "X (to move when the board sums to 0) takes the max over its moves, O the min; "
                "a finished game is worth its winner (0 for a draw)."
            )
        _compare(ex, words, "the value", np.float64(got), expected, hint=hint)
    _passed(ex, len(_MINIMAX_CASES))


# ------------------------------------------------------------------------------ table credits

_EX_CREDIT = Exercise("table_credit", "")


def table_credit(fn: Callable) -> None:
    r"""Check ``fn(n_moves, result, gamma)`` -> the (n_moves,) credits $\text{result}\cdot
    \gamma^{r-1}$ of a player's moves in order, $r = n - i$ for move $i$ (0-based)."""
    ex = _EX_CREDIT
    cases = [(3, 1, 0.9), (4, -1, 0.5), (5, 0, 0.9), (1, 1, 0.8), (5, 1, 0.7), (2, -1, 1.0)]
    for n, result, gamma in cases:
        words = f"n_moves = {n}, result = {result:+d}, gamma = {gamma}"
        got = _array(ex, words, "the credits", _call(ex, fn, (n, result, gamma), words), (n,),
                     hint="one credit per move the player made, first move first.")  # fmt: skip
        r = n - np.arange(n)
        expected = result * gamma ** (r - 1.0)
        if np.allclose(got, expected, rtol=1e-5, atol=1e-7):
            continue
        if np.allclose(got, result * gamma**r, rtol=1e-5, atol=1e-7):
            hint = "the last move itself counts (r = 1), so it gets gamma^0 = 1: use gamma^(r-1)."
        elif np.allclose(got, expected[::-1], rtol=1e-5, atol=1e-7):
            hint = "the order is reversed: the first move is the furthest from the end."
        elif np.allclose(got, gamma ** (r - 1.0), rtol=1e-5, atol=1e-7):
            hint = "multiply by the result: +1 after a win, -1 after a loss, 0 after a draw."
        else:
            hint = "the move r of the player's moves before the end gets result * gamma^(r-1)."
        _compare(ex, words, "the credits", got, expected, rtol=1e-5, atol=1e-7, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ Eq 9.27

_EX_PUCT = Exercise("puct_scores", "")


def _puct(q, n, prior, k, plus_one=True, sqrt=True):
    total = n.sum()
    top = math.sqrt(total) if sqrt else total
    return q + k * prior * top / (n + (1.0 if plus_one else 0.0))


def puct_scores(fn: Callable) -> None:
    r"""Check ``fn(q, n, prior, k)`` $= Q + K P \sqrt{\sum_b N_b} / (N + 1)$ (Eq 9.27)."""
    ex = _EX_PUCT
    rng = np.random.default_rng(27)
    cases = [
        ("3 children, some visits", [0.5, -0.2, 0.1], [4.0, 2.0, 3.0], [1 / 3] * 3, 1.0),
        ("an unvisited child", [0.0, 0.3, -0.5, 0.2], [0.0, 5.0, 1.0, 3.0], [0.25] * 4, 2.0),
        ("a non-uniform prior", [0.1, 0.1, 0.1], [1.0, 1.0, 1.0], [0.6, 0.3, 0.1], 1.5),
        ("no visits yet", [0.0] * 5, [0.0] * 5, [0.2] * 5, 1.0),
        ("K = 0: pure exploitation", [0.3, -0.1], [7.0, 2.0], [0.5, 0.5], 0.0),
        ("9 children", rng.uniform(-1, 1, 9), rng.integers(1, 20, 9), [1 / 9] * 9, 3.0),
    ]
    for words, q, n, prior, k in cases:
        q, n, prior = (np.asarray(v, np.float64) for v in (q, n, prior))
        args = (_f(q), _f(n), _f(prior), k)
        details = [f"Q = {_fmt(q)}", f"N = {_fmt(n)}", f"P = {_fmt(prior)}, K = {k}"]
        got = _array(ex, words, "u", _call(ex, fn, args, words, details), q.shape,
                     hint="one score per child.")  # fmt: skip
        expected = _puct(q, n, prior, k)
        if np.allclose(got, expected, rtol=1e-5, atol=1e-6):
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            no_plus = _puct(q, n, prior, k, plus_one=False)
        if np.allclose(got, no_plus, rtol=1e-5, atol=1e-6, equal_nan=True) or not np.all(
            np.isfinite(got)
        ):
            hint = "divide by N(s, a) + 1, not N(s, a): an unvisited child must get a finite bonus."
        elif np.allclose(got, _puct(q, n, prior, k, sqrt=False), rtol=1e-5, atol=1e-6):
            hint = "take the square root of the total visit count sum_b N(s, b)."
        elif np.allclose(got, q + k * prior * np.sqrt(n) / (n + 1), rtol=1e-5, atol=1e-6):
            hint = "the square root is of the parent's total, sum_b N(s, b), the same for all."
        else:
            hint = "u = Q + K * P * sqrt(sum of all N) / (N + 1), entry by entry."
        raise CheckFailed(
            ex, "wrong value of u", case=words,
            details=[f"expected u = {_fmt(expected)}", f"got      u = {_fmt(got)}", *details],
            hint=hint,
        )  # fmt: skip
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ pi from N

_EX_PI = Exercise("visit_policy", "")


def visit_policy(fn: Callable) -> None:
    r"""Check ``fn(counts, tau)`` $= N^{1/\tau} / \sum_b N_b^{1/\tau}$, and the one-hot of the
    most visited move at ``tau = 0``."""
    ex = _EX_PI
    cases = [
        ([10, 30, 60], 1.0),
        ([10, 30, 60], 0.5),
        ([10, 30, 60], 2.0),
        ([0, 5, 20, 75], 0.25),
        ([0, 5, 20, 75], 0.0),
        ([400, 350, 250, 0, 0], 0.1),
        ([3, 9, 1, 0, 2, 0, 1, 4, 5], 1.0),
    ]
    for counts, tau in cases:
        c = np.asarray(counts, np.float64)
        words = f"counts {counts}, tau = {tau}"
        got = _array(ex, words, "pi", _call(ex, fn, (_f(c), tau), words), c.shape,
                     hint="one probability per move.")  # fmt: skip
        if tau == 0:
            expected = (c == c.max()) / (c == c.max()).sum()
        else:
            logits = np.where(c > 0, np.log(np.maximum(c, 1)) / tau, -np.inf)
            expected = np.exp(logits - logits.max())
            expected /= expected.sum()
        if np.allclose(got, expected, rtol=1e-4, atol=1e-6):
            continue
        if tau > 0 and np.allclose(got, c**tau / (c**tau).sum(), rtol=1e-4, atol=1e-6):
            hint = "the exponent is 1/tau, not tau: a small tau must sharpen the policy."
        elif tau > 0 and np.allclose(got, c ** (1 / tau), rtol=1e-4, atol=1e-6):
            hint = "normalize: the probabilities must sum to 1."
        elif tau > 0 and np.allclose(got, c / c.sum(), rtol=1e-4, atol=1e-6):
            hint = "raise the counts to the power 1/tau before normalizing."
        elif not np.all(np.isfinite(got)):
            hint = (
                "tau = 0 is the limit: all the mass on the most visited move. For tau > 0, "
                "large powers overflow; work with log(N)/tau and a softmax."
            )
        else:
            hint = "pi = N^(1/tau) / sum_b N_b^(1/tau); at tau = 0, one-hot on the argmax."
        _compare(ex, words, "pi", got, expected, rtol=1e-4, atol=1e-6, hint=hint)
    _passed(ex, len(cases))
