"""course_lib.checks.td_learning: each check passes a right answer and fails plausible mistakes.

The right answers here are written independently of the solutions notebook (NumPy loops and
copies where the notebook uses jnp, or the library where one exists).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import checks, mdp
from course_lib import td_learning as td
from course_lib.checks import CheckFailed


def _stub(*args):
    raise NotImplementedError("Exercise: replace this with your code")


ALL = [
    checks.discounted_return,
    checks.bellman_values,
    checks.td0_update,
    checks.q_learning_update,
    checks.sarsa_update,
    checks.n_step_td_target,
]


@pytest.mark.parametrize("check", ALL)
def test_every_check_says_not_implemented_for_the_stub(check):
    with pytest.raises(CheckFailed, match="not implemented yet"):
        check(_stub)


def _passes(check, fn, capsys):
    check(fn)
    assert "✔" in capsys.readouterr().out


# ------------------------------------------------------------------------------ returns


def _returns_loop(r, gamma):
    r = np.asarray(r, np.float64)
    out = np.zeros_like(r)
    for t in range(len(r)):
        out[t] = sum(gamma**k * r[t + k] for k in range(len(r) - t))
    return out


def test_discounted_return_passes_a_loop_and_the_library(capsys):
    _passes(checks.discounted_return, _returns_loop, capsys)
    _passes(checks.discounted_return, lambda r, g: mdp.discounted_return(r, gamma=g), capsys)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda r, g: g * _returns_loop(r, g), "not discounted"),
        (lambda r, g: np.cumsum(np.asarray(r) * g ** np.arange(len(r))), "sums the past"),
        (lambda r, g: np.full(len(r), _returns_loop(r, g)[0]), "differs for every t"),
        (lambda r, g: np.asarray(r), "go backwards"),
    ],
)
def test_discounted_return_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.discounted_return(wrong)


# ------------------------------------------------------------------------------ Bellman


def _bellman_iterate(P, r, g):
    P, r = np.asarray(P, np.float64), np.asarray(r, np.float64)
    V = np.zeros_like(r)
    for _ in range(3000):
        V = r + g * P @ V
    return V


def test_bellman_values_passes_an_iteration_and_a_solve(capsys):
    _passes(checks.bellman_values, _bellman_iterate, capsys)
    _passes(checks.bellman_values,
            lambda P, r, g: jnp.linalg.solve(jnp.eye(len(r)) - g * P, r), capsys)  # fmt: skip


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda P, r, g: np.linalg.solve(np.eye(len(r)) - g * np.asarray(P).T, r), "transpose"),
        (lambda P, r, g: np.asarray(r), "only the next reward"),
        (lambda P, r, g: np.linalg.solve(np.eye(len(r)) + g * np.asarray(P), r), "minus sign"),
        (lambda P, r, g: np.asarray(r) + g * np.asarray(P) @ np.asarray(r), "two steps"),
    ],
)
def test_bellman_values_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.bellman_values(wrong)


# ------------------------------------------------------------------------------ TD(0)


def _td0_right(V, s, r, s2, done, alpha, gamma):
    V = np.array(V, np.float64)
    future = 0.0 if done else gamma * V[s2]
    V[s] = V[s] + alpha * (r + future - V[s])
    return V


def _td0_bootstrap_always(V, s, r, s2, done, alpha, gamma):
    V = np.array(V, np.float64)
    V[s] += alpha * (r + gamma * V[s2] - V[s])
    return V


def _td0_forget(V, s, r, s2, done, alpha, gamma):
    V = np.array(V, np.float64)
    V[s] = alpha * (r + (0.0 if done else gamma * V[s2]))
    return V


def _td0_wrong_state(V, s, r, s2, done, alpha, gamma):
    V = np.array(V, np.float64)
    V[s2] += alpha * (r + (0.0 if done else gamma * V[s2]) - V[s2])
    return V


def test_td0_update_passes(capsys):
    _passes(checks.td0_update, _td0_right, capsys)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (_td0_bootstrap_always, "terminal next state"),
        (_td0_forget, "1 - alpha"),
        (_td0_wrong_state, "not V\\[s_next\\]"),
    ],
)
def test_td0_update_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.td0_update(wrong)


# ------------------------------------------------------------------------------ Q-learning, SARSA


def _q_generic(Q, s, a, r, s2, a2, done, alpha, gamma, *, use="max", terminal=True, keep=True):
    Q = np.array(Q, np.float64)
    nxt = {"max": Q[s2].max(), "next": Q[s2, a2], "same": Q[s2, a]}[use]
    target = r + (0.0 if (done and terminal) else gamma * nxt)
    Q[s, a] = ((1 - alpha) * Q[s, a] if keep else 0.0) + alpha * target
    return Q


def _ql(**kw):
    return lambda Q, s, a, r, s2, done, al, g: _q_generic(Q, s, a, r, s2, 0, done, al, g, **kw)


def _sa(**kw):
    return lambda Q, s, a, r, s2, a2, done, al, g: _q_generic(Q, s, a, r, s2, a2, done, al, g, **kw)


def test_q_learning_and_sarsa_updates_pass(capsys):
    _passes(checks.q_learning_update, _ql(use="max"), capsys)
    _passes(checks.sarsa_update, _sa(use="next"), capsys)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (_ql(use="max", terminal=False), "terminal next state"),
        (_ql(use="max", keep=False), "1 - alpha"),
        (_ql(use="same"), "not from the same a"),
    ],
)
def test_q_learning_update_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.q_learning_update(wrong)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (_sa(use="max"), "Q-learning's max"),
        (_sa(use="next", terminal=False), "terminal next state"),
        (_sa(use="next", keep=False), "1 - alpha"),
    ],
)
def test_sarsa_update_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.sarsa_update(wrong)


# ------------------------------------------------------------------------------ n-step


def _n_step_loop(r, nv, done, n, gamma, *, power=0, terminal=True):
    r, nv, done = np.asarray(r, np.float64), np.asarray(nv, np.float64), np.asarray(done)
    T, out = len(r), []
    for t in range(T):
        g, i = 0.0, 0
        while i < n and t + i < T:
            g += gamma**i * r[t + i]
            i += 1
        if t + n - 1 < T and not (terminal and done[t + n - 1]):
            g += gamma ** (n + power) * nv[t + n - 1]
        out.append(g)
    return np.array(out)


def test_n_step_td_target_passes_a_loop_and_the_library(capsys):
    _passes(checks.n_step_td_target, _n_step_loop, capsys)
    _passes(checks.n_step_td_target,
            lambda r, nv, d, n, g: td.n_step_return(r, nv, d, n=n, gamma=g), capsys)  # fmt: skip


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda *a: _n_step_loop(*a, terminal=False), "terminal state is 0"),
        (lambda *a: _n_step_loop(*a, power=-1), "gamma\\^n"),
        (lambda *a: _n_step_loop(*a, power=1), "gamma\\^n"),
        (lambda r, nv, d, n, g: np.asarray(r), "add gamma\\^i"),
    ],
)
def test_n_step_td_target_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.n_step_td_target(wrong)
