r"""Self-checks for the exercises on MDPs and bootstrapping (Aggarwal §9.3–9.4, Exercise 9.7).

Every check runs the student's function on a few fixed cases and compares with a reference
written here in plain NumPy: a Python loop for the returns, ``np.linalg.solve`` for the Bellman
values, and the one-line updates of Eq 9.11, 9.12 and 9.16 on copies of the table. Common slips
(bootstrapping from a terminal state, ``max`` and the next action swapped, $\gamma^n$ off by one,
forgetting $(1-\alpha)$) are recognized and answered with a targeted hint.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from course_lib.checks import Exercise, _array, _call, _compare, _f, _passed


def _close(a: Any, b: Any, atol: float = 1e-5) -> bool:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-5, atol=atol))


# ------------------------------------------------------------------------------ returns

_EX_RETURN = Exercise("discounted_return", "")


def _returns(r: np.ndarray, gamma: float, *, shift: int = 0) -> np.ndarray:
    T = len(r)
    return np.array([sum(gamma ** (i - t + shift) * r[i] for i in range(t, T)) for t in range(T)])


def discounted_return(fn: Callable) -> None:
    r"""Check ``fn(rewards, gamma)``: the returns $R_t = \sum_{i \ge t} \gamma^{i-t} r_i$ of every
    step (Eq 9.2), shape ``(T,)``."""
    ex = _EX_RETURN
    cases = [
        ("rewards [1, 0, 0, 1], gamma = 0.5", [1.0, 0.0, 0.0, 1.0], 0.5),
        ("rewards [0, 0, 0, 0, 1], gamma = 0.9 (a reward at the end)", [0, 0, 0, 0, 1.0], 0.9),
        ("rewards [-1, -1, -1], gamma = 1 (no discount)", [-1.0, -1.0, -1.0], 1.0),
        ("rewards [2, -1, 3], gamma = 0 (myopic)", [2.0, -1.0, 3.0], 0.0),
        ("one reward [5], gamma = 0.7", [5.0], 0.7),
    ]
    for words, r, gamma in cases:
        r = np.asarray(r, np.float64)
        got = _array(ex, words, "the returns", _call(ex, fn, (_f(r), gamma), words), r.shape,
                     hint="one return per step: R_0, ..., R_{T-1}.")  # fmt: skip
        expected = _returns(r, gamma)
        if _close(got, expected):
            continue
        if _close(got, _returns(r, gamma, shift=1)):
            hint = "the first reward is not discounted: R_t = r_t + gamma r_{t+1} + ..."
        elif _close(got, np.cumsum(r * gamma ** np.arange(len(r)))):
            hint = "that sums the past; R_t sums the rewards from t on (go backwards)."
        elif _close(got, np.full(len(r), expected[0])):
            hint = "R_t differs for every t: R_t = r_t + gamma R_{t+1}, from the last step back."
        else:
            hint = (
                "start after the last step with R = 0 and go backwards: R_t = r_t + gamma R_{t+1}."
            )
        _compare(ex, words, "the returns", got, expected, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ Bellman values

_EX_BELLMAN = Exercise("bellman_values", "")


def bellman_values(fn: Callable) -> None:
    r"""Check ``fn(P_pi, r_pi, gamma)`` $= (I - \gamma P_\pi)^{-1} r_\pi$, shape ``(S,)``."""
    ex = _EX_BELLMAN
    rng = np.random.default_rng(9)
    cases = []
    for words, S, gamma in [
        ("3 states, gamma = 0.9", 3, 0.9),
        ("5 states, gamma = 0.5", 5, 0.5),
        ("4 states, gamma = 0 (only the next reward)", 4, 0.0),
    ]:
        P = rng.uniform(size=(S, S)) ** 2
        P /= P.sum(1, keepdims=True)
        cases.append((words, P, rng.normal(size=S), gamma))
    # the random walk: terminal rows of P_pi are zero, gamma = 1 is fine
    P = np.zeros((7, 7))
    for s in range(1, 6):
        P[s, s - 1] = P[s, s + 1] = 0.5
    r = np.zeros(7)
    r[5] = 0.5
    cases.append(("the 5-state random walk (terminal rows zero), gamma = 1", P, r, 1.0))
    for words, P, r, gamma in cases:
        S = len(r)
        got = _array(ex, words, "V", _call(ex, fn, (_f(P), _f(r), gamma), words), (S,),
                     hint="one value per state.")  # fmt: skip
        expected = np.linalg.solve(np.eye(S) - gamma * P, r)
        if _close(got, expected, atol=1e-4):
            continue
        if _close(got, np.linalg.solve(np.eye(S) + gamma * P, r), 1e-4):
            hint = "move gamma P_pi V to the left: (I - gamma P_pi) V = r_pi, a minus sign."
        elif _close(got, np.linalg.solve(np.eye(S) - gamma * P.T, r), 1e-4):
            hint = "V(s) = r(s) + gamma sum_s' P[s, s'] V(s'): P_pi, not its transpose."
        elif _close(got, r):
            hint = "that is only the next reward; solve (I - gamma P_pi) V = r_pi."
        elif _close(got, r + gamma * P @ r, 1e-4):
            hint = "that is two steps of the Bellman backup; solve for the fixed point instead."
        else:
            hint = "V = r_pi + gamma P_pi V is linear in V: jnp.linalg.solve(I - gamma P_pi, r_pi)."
        _compare(ex, words, "V", got, expected, rtol=1e-4, atol=1e-4, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ TD(0)

_EX_TD0 = Exercise("td0_update", "")


def td0_update(fn: Callable) -> None:
    r"""Check ``fn(V, s, r, s_next, done, alpha, gamma)``: the table after one TD(0) step,
    $V(s) \leftarrow V(s) + \alpha(r + \gamma V(s') [\text{not done}] - V(s))$ (Eq 9.16)."""
    ex = _EX_TD0
    V = np.array([0.0, 0.2, 0.5, -0.4, 0.9, 0.0])
    cases = [
        ("s = 2 -> s' = 3, r = 1, alpha = 0.5, gamma = 0.9", 2, 1.0, 3, False, 0.5, 0.9),
        ("s = 4 -> s' = 1, r = -0.5, alpha = 0.1, gamma = 1", 4, -0.5, 1, False, 0.1, 1.0),
        ("s = 4 -> terminal s' = 5 with V(5) = 7, r = 1", 4, 1.0, 5, True, 0.5, 0.9),
        ("s = 1 -> s' = 1 (stays), r = 0, alpha = 0.2, gamma = 0.8", 1, 0.0, 1, False, 0.2, 0.8),
    ]
    for words, s, r, s2, done, alpha, gamma in cases:
        table = V.copy()
        if done:
            table[s2] = 7.0  # a value that must not be used
        got = _array(ex, words, "the new V",
                     _call(ex, fn, (_f(table), s, r, s2, done, alpha, gamma), words), V.shape,
                     hint="return the whole table, with only V[s] changed.")  # fmt: skip
        target = r + (0.0 if done else gamma * table[s2])
        expected = table.copy()
        expected[s] += alpha * (target - table[s])
        if _close(got, expected):
            continue
        boot = table.copy()
        boot[s] += alpha * (r + gamma * table[s2] - table[s])
        forgot = table.copy()
        forgot[s] = alpha * target
        wrong_state = table.copy()
        wrong_state[s2] += alpha * (target - table[s2])
        if done and _close(got, boot):
            hint = "a terminal next state has no future: when done, the target is r alone."
        elif _close(got, forgot):
            hint = "keep (1 - alpha) of the old V(s): V(s) + alpha (target - V(s))."
        elif _close(got, wrong_state):
            hint = "update the state you left, V[s], not V[s_next]."
        else:
            hint = "target = r + gamma V(s') (just r when done); move V[s] a step alpha towards it."
        _compare(ex, words, "the new V", got, expected, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ Q-learning, SARSA

_EX_Q = Exercise("q_learning_update", "")
_EX_SARSA = Exercise("sarsa_update", "")
_Q = np.array([[0.0, 1.0, -0.5], [2.0, -1.0, 0.5], [0.3, 0.3, 1.5], [-2.0, 0.1, -0.4]])


def _q_cases():
    # words, s, a, r, s', a', done, alpha, gamma   (a' is never the argmax of Q[s'])
    return [
        ("s = 0, a = 1, r = 1 -> s' = 2 (a' = 0), alpha = 0.5, gamma = 0.9",
         0, 1, 1.0, 2, 0, False, 0.5, 0.9),
        ("s = 2, a = 0, r = -1 -> s' = 1 (a' = 2), alpha = 0.1, gamma = 1",
         2, 0, -1.0, 1, 2, False, 0.1, 1.0),
        ("s = 1, a = 2, r = 2 -> terminal s' = 3 (Q[3] = 9), alpha = 0.5, gamma = 0.9",
         1, 2, 2.0, 3, 0, True, 0.5, 0.9),
        ("s = 3, a = 1, r = 0 -> s' = 0 (a' = 2), alpha = 0.3, gamma = 0.8",
         3, 1, 0.0, 0, 2, False, 0.3, 0.8),
    ]  # fmt: skip


def _q_update(Q, s, a, r, s2, a2, done, alpha, gamma, *, use, boot_terminal=False,
              forget=False, same_action=False):  # fmt: skip
    nxt = {"max": Q[s2].max(), "next": Q[s2, a2], "same": Q[s2, a], "mean": Q[s2].mean()}[use]
    target = r + (0.0 if done and not boot_terminal else gamma * nxt)
    out = Q.copy()
    out[s, a] = alpha * target if forget else (1 - alpha) * Q[s, a] + alpha * target
    return out


def _check_q(ex: Exercise, fn: Callable, sarsa: bool) -> None:
    cases = _q_cases()
    for words, s, a, r, s2, a2, done, alpha, gamma in cases:
        table = _Q.copy()
        if done:
            table[s2] = 9.0
        args = (_f(table), s, a, r, s2, a2, done, alpha, gamma) if sarsa else (
            _f(table), s, a, r, s2, done, alpha, gamma)  # fmt: skip
        got = _array(ex, words, "the new Q", _call(ex, fn, args, words), table.shape,
                     hint="return the whole table, with only Q[s, a] changed.")  # fmt: skip
        kw = (table, s, a, r, s2, a2, done, alpha, gamma)
        right = "next" if sarsa else "max"
        expected = _q_update(*kw, use=right)
        if _close(got, expected):
            continue
        if done and _close(got, _q_update(*kw, use=right, boot_terminal=True)):
            hint = "a terminal next state has no future: when done, the target is r alone."
        elif _close(got, _q_update(*kw, use=right, forget=True)):
            hint = "keep (1 - alpha) of the old Q(s, a): (1 - alpha) Q(s, a) + alpha target."
        elif sarsa and _close(got, _q_update(*kw, use="max")):
            hint = (
                "that is Q-learning's max; SARSA bootstraps from the action actually taken next, "
                "Q(s', a')."
            )
        elif not sarsa and _close(got, _q_update(*kw, use="same")):
            hint = "bootstrap from the best action in s', max_a Q(s', a), not from the same a."
        elif _close(got, _q_update(*kw, use="mean")):
            hint = "not the average over actions: " + (
                "Q(s', a') of the next action." if sarsa else "the maximum over a of Q(s', a)."
            )
        else:
            hint = "change only Q[s, a]: (1 - alpha) Q[s, a] + alpha (r + gamma * next value)."
        _compare(ex, words, "the new Q", got, expected, hint=hint)
    _passed(ex, len(cases))


def q_learning_update(fn: Callable) -> None:
    r"""Check ``fn(Q, s, a, r, s_next, done, alpha, gamma)``: Eq 9.11,
    $Q(s,a) \leftarrow (1-\alpha)Q(s,a) + \alpha(r + \gamma\max_{a'} Q(s', a'))$."""
    _check_q(_EX_Q, fn, sarsa=False)


def sarsa_update(fn: Callable) -> None:
    r"""Check ``fn(Q, s, a, r, s_next, a_next, done, alpha, gamma)``: Eq 9.12,
    $Q(s,a) \leftarrow (1-\alpha)Q(s,a) + \alpha(r + \gamma Q(s', a'))$."""
    _check_q(_EX_SARSA, fn, sarsa=True)


# ------------------------------------------------------------------------------ n-step target

_EX_NSTEP = Exercise("n_step_td_target", "9.7")


def _n_step(r, nv, done, n, gamma, *, boot_power=0, terminal_boot=False):
    T = len(r)
    out = np.zeros(T)
    for t in range(T):
        k = min(n, T - t)
        g = sum(gamma**i * r[t + i] for i in range(k))
        last = t + n - 1
        if last < T and (terminal_boot or not done[last]):
            g += gamma ** (n + boot_power) * nv[last]
        out[t] = g
    return out


def n_step_td_target(fn: Callable) -> None:
    r"""Check ``fn(rewards, next_values, dones, n, gamma)``: the n-step returns
    $R^{(n)}_t = \sum_{i<n}\gamma^i r_{t+i} + \gamma^n V(s_{t+n})$ of one episode, no bootstrap
    once the episode has ended (Exercise 9.7(a)), shape ``(T,)``."""
    ex = _EX_NSTEP
    r = np.array([0.0, 1.0, -1.0, 0.5, 2.0])
    nv = np.array([0.4, -0.3, 0.8, 0.1, 6.0])  # V(s_{t+1}); the last s' is terminal
    done = np.array([False, False, False, False, True])
    cases = [
        ("n = 1 (the TD(0) target), gamma = 0.9", 1),
        ("n = 2, gamma = 0.9", 2),
        ("n = 3, gamma = 0.9", 3),
        ("n = 5 = T (the Monte Carlo return), gamma = 0.9", 5),
        ("n = 8 > T, gamma = 0.9", 8),
    ]
    gamma = 0.9
    for words, n in cases:
        got = _array(ex, words, "the targets",
                     _call(ex, fn, (_f(r), _f(nv), done, n, gamma), words), r.shape,
                     hint="one target per step t = 0..T-1.")  # fmt: skip
        expected = _n_step(r, nv, done, n, gamma)
        if _close(got, expected):
            continue
        if _close(got, _n_step(r, nv, done, n, gamma, terminal_boot=True)):
            hint = "V of a terminal state is 0: no bootstrap term once the episode has ended."
        elif _close(got, _n_step(r, nv, done, n, gamma, boot_power=-1)) or _close(
            got, _n_step(r, nv, done, n, gamma, boot_power=1)
        ):
            hint = "n rewards are discounted by 1 ... gamma^(n-1); the bootstrap term by gamma^n."
        else:
            hint = (
                "add gamma^i r_{t+i} for i < n (while the episode lasts), then gamma^n times "
                "next_values[t + n - 1] if step t + n - 1 exists and is not done."
            )
        _compare(ex, words, "the targets", got, expected, hint=hint)
    _passed(ex, len(cases))
