"""The self-checks of the games exercises (course_lib.checks.games): each fails with "not
implemented yet" on the stub, passes an answer written independently here, and rejects
plausible wrong answers with a hint."""

from __future__ import annotations

import functools

import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import checks
from course_lib.checks import CheckFailed

LINES = [(0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6)]


def stub(*args):
    raise NotImplementedError("write this function")


# ---- independent answers


def winner_good(board):
    b = np.asarray(board).reshape(3, 3)
    sums = [*b.sum(0), *b.sum(1), np.trace(b), np.trace(np.fliplr(b))]
    if 3 in sums:
        return 1
    if -3 in sums:
        return -1
    return 0 if (b != 0).all() else 2


def winner_no_diagonals(board):
    b = np.asarray(board).reshape(3, 3)
    sums = [*b.sum(0), *b.sum(1)]
    return 1 if 3 in sums else -1 if -3 in sums else 0 if (b != 0).all() else 2


def winner_draw_is_ongoing(board):
    w = winner_good(board)
    return 2 if w == 0 else w


def legal_good(board):
    return [v == 0 and winner_good(board) == 2 for v in board]


def legal_after_win(board):
    return [v == 0 for v in board]


@functools.cache
def minimax_good(board):
    board = tuple(int(v) for v in board)
    w = winner_good(board)
    if w != 2:
        return w
    p = 1 if sum(board) == 0 else -1
    vals = [minimax_good(board[:a] + (p,) + board[a + 1 :]) for a in range(9) if board[a] == 0]
    return max(vals) if p == 1 else min(vals)


@functools.cache
def minimax_negamax(board):
    """The value for the player to move (a sign slip for O)."""
    board = tuple(int(v) for v in board)
    w = winner_good(board)
    p = 1 if sum(board) == 0 else -1
    if w != 2:
        return w * p
    return max(
        -minimax_negamax(board[:a] + (p,) + board[a + 1 :]) for a in range(9) if board[a] == 0
    )


@functools.cache
def minimax_always_max(board):
    board = tuple(int(v) for v in board)
    w = winner_good(board)
    if w != 2:
        return w
    p = 1 if sum(board) == 0 else -1
    return max(
        minimax_always_max(board[:a] + (p,) + board[a + 1 :]) for a in range(9) if board[a] == 0
    )


def credit_good(n_moves, result, gamma):
    return np.array([result * gamma ** (n_moves - 1 - i) for i in range(n_moves)])


def credit_gamma_r(n_moves, result, gamma):
    return np.array([result * gamma ** (n_moves - i) for i in range(n_moves)])


def credit_reversed(n_moves, result, gamma):
    return credit_good(n_moves, result, gamma)[::-1]


def puct_good(q, n, prior, k):
    return q + k * prior * jnp.sqrt(jnp.sum(n)) / (n + 1)


def puct_no_plus_one(q, n, prior, k):
    return q + k * prior * jnp.sqrt(jnp.sum(n)) / n


def puct_own_count(q, n, prior, k):
    return q + k * prior * jnp.sqrt(n) / (n + 1)


def pi_good(counts, tau):
    c = np.asarray(counts, np.float64)
    if tau == 0:
        top = c == c.max()
        return top / top.sum()
    z = np.where(c > 0, np.log(np.maximum(c, 1)) / tau, -np.inf)
    e = np.exp(z - z.max())
    return e / e.sum()


def pi_power_tau(counts, tau):
    c = np.asarray(counts, np.float64)
    if tau == 0:
        return pi_good(counts, tau)
    return c**tau / (c**tau).sum()


def pi_unnormalized(counts, tau):
    c = np.asarray(counts, np.float64)
    return pi_good(counts, tau) if tau == 0 else c ** (1 / tau)


CASES = {
    "winner": (winner_good, [winner_no_diagonals, winner_draw_is_ongoing]),
    "legal_moves": (legal_good, [legal_after_win, lambda b: [v != 0 for v in b]]),
    "minimax_value": (minimax_good, [minimax_negamax, minimax_always_max]),
    "table_credit": (credit_good, [credit_gamma_r, credit_reversed]),
    "puct_scores": (puct_good, [puct_no_plus_one, puct_own_count]),
    "visit_policy": (pi_good, [pi_power_tau, pi_unnormalized]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_stub_fails_as_not_implemented(name):
    with pytest.raises(CheckFailed, match="not implemented yet"):
        getattr(checks, name)(stub)


@pytest.mark.parametrize("name", list(CASES))
def test_independent_answer_passes(name, capsys):
    getattr(checks, name)(CASES[name][0])
    assert capsys.readouterr().out.startswith(f"✔ {name}")


@pytest.mark.parametrize(("name", "which"), [(n, i) for n in CASES for i in (0, 1)])
def test_plausible_wrong_answers_fail_with_a_hint(name, which):
    with pytest.raises(CheckFailed) as info:
        getattr(checks, name)(CASES[name][1][which])
    assert info.value.hint, "a wrong answer should get a hint"


def test_targeted_hints():
    hints = {
        ("winner", 0): "diagonals",
        ("winner", 1): "draw",
        ("legal_moves", 0): "after a win",
        ("minimax_value", 0): "X's point of view",
        ("table_credit", 0): "gamma^(r-1)",
        ("table_credit", 1): "reversed",
        ("puct_scores", 0): "N(s, a) + 1",
        ("puct_scores", 1): "parent's total",
        ("visit_policy", 0): "1/tau",
        ("visit_policy", 1): "normalize",
    }
    for (name, which), words in hints.items():
        with pytest.raises(CheckFailed) as info:
            getattr(checks, name)(CASES[name][1][which])
        assert words in info.value.hint, (name, which, info.value.hint)
