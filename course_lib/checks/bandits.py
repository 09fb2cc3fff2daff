r"""Self-checks for the exercises on multi-armed bandits (Aggarwal §9.2, Exercise 9.4).

Every check runs the student's function on a few fixed cases and compares with a reference
written out here in NumPy (a cumulative sum, a loop, the payoff matrix). Common slips are
recognized and answered with a targeted hint: an off-by-one count in the incremental mean,
exploring on the wrong side of $\varepsilon$, $n$ for $\sqrt n$ in the UCB bonus, a schedule
that is not capped at 1, regret from the sampled instead of the expected rewards, and the
opponent's payoff for ours.
"""

from __future__ import annotations

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


def _close(a, b, rtol: float = 1e-5, atol: float = 1e-6) -> bool:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=False))


# ------------------------------------------------------------------------------ incremental mean

_EX_MEAN = Exercise("incremental_mean", "")


def _means_dividing_by(r: np.ndarray, offset: int) -> np.ndarray:
    q, out = 0.0, []
    for n, x in enumerate(r, start=1):
        q = q + (x - q) / (n + offset) if n + offset else x
        out.append(q)
    return np.asarray(out)


def incremental_mean(fn: Callable) -> None:
    r"""Check ``fn(rewards)``: the running means $Q_t$ of ``rewards: (T,)``, shape ``(T,)``."""
    ex = _EX_MEAN
    rng = np.random.default_rng(9)
    cases = [
        ("rewards [1, 0, 0, 1]", np.array([1.0, 0.0, 0.0, 1.0])),
        ("rewards [3, 5, 10]", np.array([3.0, 5.0, 10.0])),
        ("one reward, 2.5", np.array([2.5])),
        ("50 Gaussian rewards", rng.normal(1.0, 2.0, 50)),
    ]
    for words, r in cases:
        got = _array(ex, words, "the running means", _call(ex, fn, (_f(r),), words), r.shape,
                     hint="return one mean per reward: Q after 1, 2, ..., T rewards.")  # fmt: skip
        expected = np.cumsum(r) / np.arange(1, r.size + 1)
        if _close(got, expected, 1e-5, 1e-5):
            continue
        if _close(got, _means_dividing_by(r, 1), 1e-5, 1e-5):
            hint = "off by one: n must count the new reward too (after the first reward, Q = r)."
        elif r.size > 1 and _close(got, _means_dividing_by(r, -1), 1e-5, 1e-5):
            hint = "off by one: divide by the number of rewards seen so far including this one."
        elif _close(got, np.cumsum(r), 1e-5, 1e-5):
            hint = "those are running sums; the update Q <- Q + (r - Q) / n keeps a mean."
        else:
            hint = (
                "start from Q = 0, n = 0; for each reward: n <- n + 1, then Q <- Q + (r - Q) / n."
            )
        _compare(ex, words, "the running means", got, expected, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ epsilon-greedy

_EX_EPS = Exercise("epsilon_greedy_choice", "")


def epsilon_greedy_choice(fn: Callable) -> None:
    r"""Check ``fn(q, eps, u, random_arm)``: ``random_arm`` if ``u < eps``, else
    $\arg\max_i q_i$ (the first one on a tie)."""
    ex = _EX_EPS
    q = np.array([0.2, 0.9, 0.4, 0.1])
    cases = [
        ("q = [0.2, 0.9, 0.4, 0.1], eps = 0.1, u = 0.5: exploit", q, 0.1, 0.5, 2),
        ("the same q, eps = 0.1, u = 0.05: explore", q, 0.1, 0.05, 3),
        ("eps = 0 (never explore), u = 0.0", q, 0.0, 0.0, 0),
        ("eps = 1 (always explore), u = 0.99", q, 1.0, 0.99, 3),
        ("q = [0.5, 0.5, 0.3], a tie, eps = 0.2, u = 0.7", np.array([0.5, 0.5, 0.3]), 0.2, 0.7, 2),
        ("q = [-1, -3], eps = 0.3, u = 0.9", np.array([-1.0, -3.0]), 0.3, 0.9, 1),
    ]
    for words, qv, eps, u, ra in cases:
        got = _scalar(ex, words, "the arm", _call(ex, fn, (_f(qv), eps, u, ra), words))
        greedy = int(np.argmax(qv))
        expected = ra if u < eps else greedy
        if got == expected:
            continue
        if got != round(got):
            raise CheckFailed(
                ex,
                f"the arm should be a whole number (an index), got {_fmt(got)}",
                case=words,
                hint="return the arm's index (jnp.argmax), not its mean reward.",
            )
        wrong_branch = greedy if u < eps else ra
        if got == wrong_branch and ra != greedy:
            hint = (
                "the two branches are swapped: u < eps (probability eps) explores with "
                "random_arm; otherwise exploit with argmax(q)."
            )
        elif got == int(np.argmin(qv)):
            hint = "the greedy arm has the *largest* mean reward: argmax, not argmin."
        elif got == int(np.flatnonzero(qv == qv.max())[-1]):
            hint = "on a tie take the first best arm (jnp.argmax does)."
        else:
            hint = "explore (random_arm) when u < eps, otherwise jnp.argmax(q)."
        raise CheckFailed(
            ex,
            "wrong arm",
            case=words,
            details=[f"expected arm {expected}, got {_fmt(got)} (random_arm = {ra})"],
            hint=hint,
        )
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ UCB scores

_EX_UCB = Exercise("ucb_scores", "")


def ucb_scores(fn: Callable) -> None:
    r"""Check ``fn(values, counts, sigmas, K)`` $= Q_i + K\sigma_i/\sqrt{n_i}$, and
    $+\infty$ where $n_i = 0$ (Eq 9.1)."""
    ex = _EX_UCB
    cases = [
        ("Q = [0.5, 0.6, 0.4], n = [4, 9, 1], sigma = [0.5, 0.3, 0.5], K = 3",
         [0.5, 0.6, 0.4], [4.0, 9.0, 1.0], [0.5, 0.3, 0.5], 3.0),
        ("an untried arm: n = [10, 0, 25]", [0.2, 0.0, 0.7], [10.0, 0.0, 25.0],
         [1.0, 0.5, 2.0], 2.0),
        ("K = 0: no bonus", [0.1, 0.9], [3.0, 5.0], [0.4, 0.4], 0.0),
        ("two untried arms, K = 1", [0.0, 0.3, 0.0, 0.8], [0.0, 16.0, 0.0, 100.0],
         [0.5, 0.5, 0.5, 1.0], 1.0),
    ]  # fmt: skip
    for words, q, n, s, K in cases:
        q, n, s = (np.asarray(v, np.float64) for v in (q, n, s))
        got = _array(ex, words, "the scores", _call(ex, fn, (_f(q), _f(n), _f(s), K), words),
                     q.shape, hint="one upper bound per arm.")  # fmt: skip
        safe = np.where(n > 0, n, 1.0)
        expected = np.where(n > 0, q + K * s / np.sqrt(safe), np.inf)
        tried = n > 0
        if np.array_equal(np.isinf(got) & (got > 0), ~tried) and _close(
            got[tried], expected[tried]
        ):
            continue
        if not np.all(np.isposinf(got[~tried])):
            hint = (
                "an untried arm (n = 0) must score +infinity (jnp.inf), so that it is pulled "
                "first; use jnp.where(counts > 0, ..., jnp.inf) (no division by zero)."
            )
        elif _close(got[tried], (q + K * s / safe)[tried]):
            hint = "the standard error of a mean falls like 1/sqrt(n), not 1/n."
        elif _close(got[tried], (q + K * s * np.sqrt(safe))[tried]):
            hint = "the bonus shrinks as an arm is tried more: divide by sqrt(n)."
        elif _close(got[tried], (K * s / np.sqrt(safe))[tried]):
            hint = "U = Q + C: add the bonus to the mean reward Q."
        else:
            hint = "U_i = Q_i + K * sigma_i / sqrt(n_i) for tried arms, +inf for untried ones."
        _compare(ex, words, "the scores", got, expected, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ annealing

_EX_ANNEAL = Exercise("annealed_epsilon", "")


def annealed_epsilon(fn: Callable) -> None:
    r"""Check ``fn(t, c)`` $= \min(1, c/t)$ for pulls $t = 1, 2, \dots$ (``t`` an array)."""
    ex = _EX_ANNEAL
    cases = [
        ("t = 1..10, c = 5", np.arange(1, 11), 5.0),
        ("t = [1, 10, 100, 1000], c = 20", np.array([1, 10, 100, 1000]), 20.0),
        ("t = [1, 2, 4], c = 0.5", np.array([1, 2, 4]), 0.5),
    ]
    for words, t, c in cases:
        got = _array(ex, words, "epsilon", _call(ex, fn, (_f(t), c), words), t.shape,
                     hint="one epsilon per entry of t.")  # fmt: skip
        expected = np.minimum(1.0, c / t)
        if _close(got, expected):
            continue
        if _close(got, c / t):
            hint = "a probability cannot exceed 1: cap the schedule, min(1, c / t)."
        elif _close(got, np.minimum(1.0, c / (t + 1))):
            hint = "t counts pulls from 1: use c / t, not c / (t + 1)."
        elif _close(got, np.minimum(1.0, c / t**2)) or _close(got, np.minimum(1.0, c / np.sqrt(t))):
            hint = "the schedule decays like 1/t: min(1, c / t)."
        else:
            hint = "epsilon_t = min(1, c / t), elementwise."
        _compare(ex, words, "epsilon", got, expected, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ regret

_EX_REGRET = Exercise("regret", "")


def regret(fn: Callable) -> None:
    r"""Check ``fn(arms, rewards, means)``: the cumulative *expected* regret
    $\sum_{s \le t}(\mu^* - \mu_{a_s})$, shape ``(T,)``."""
    ex = _EX_REGRET
    rng = np.random.default_rng(21)
    means3 = np.array([0.2, 0.5, 0.9])
    arms_a = np.array([0, 1, 2, 2, 1, 2])
    means5 = np.array([0.1, 0.7, 0.3, 0.65, 0.4])
    arms_b = rng.integers(0, 5, 40)
    cases = [
        ("means [0.2, 0.5, 0.9], arms [0, 1, 2, 2, 1, 2]", arms_a, means3),
        ("5 arms, 40 random pulls", arms_b, means5),
        ("always the best arm", np.array([1, 1, 1, 1]), np.array([0.3, 0.6])),
    ]
    for words, arms, means in cases:
        rewards = (rng.uniform(size=arms.size) < means[arms]).astype(np.float64)
        args = (np.asarray(arms, np.int32), _f(rewards), _f(means))
        got = _array(ex, words, "the regret", _call(ex, fn, args, words), arms.shape,
                     hint="one cumulative regret per pull.")  # fmt: skip
        gaps = means.max() - means[arms]
        expected = np.cumsum(gaps)
        if _close(got, expected):
            continue
        if _close(got, np.cumsum(means.max() - rewards)):
            hint = (
                "that uses the sampled rewards; expected regret uses the chosen arm's mean "
                "mu[a_t], which does not depend on luck."
            )
        elif _close(got, gaps):
            hint = "regret is cumulative: add up the gaps over the pulls so far (jnp.cumsum)."
        elif _close(got, np.cumsum(means[arms] - means.max())):
            hint = "regret counts what was lost: mu* - mu[a_t] >= 0."
        else:
            hint = "gap at each pull: max(means) - means[arms]; then a cumulative sum."
        _compare(ex, words, "the regret", got, expected, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ rock-paper-scissors

_EX_RPS = Exercise("rps_arm_means", "9.4")
_A = np.array([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]])


def rps_arm_means(fn: Callable) -> None:
    r"""Check ``fn(q)`` $= Aq$: against an opponent who plays rock, paper, scissors with
    probabilities ``q``, the expected reward of each of our three moves (the bandit's arm
    means; $A_{ij}$ is our payoff playing $i$ against $j$)."""
    ex = _EX_RPS
    cases = [
        ("the opponent always plays rock", [1.0, 0.0, 0.0]),
        ("the opponent always plays scissors", [0.0, 0.0, 1.0]),
        ("rock 0.5, paper 0.3, scissors 0.2", [0.5, 0.3, 0.2]),
        ("rock 0.1, paper 0.2, scissors 0.7", [0.1, 0.2, 0.7]),
        ("the uniform mix", [1 / 3, 1 / 3, 1 / 3]),
    ]
    for words, q in cases:
        q = np.asarray(q, np.float64)
        got = _array(
            ex,
            words,
            "the arm means",
            _call(ex, fn, (_f(q),), words),
            (3,),
            hint="one expected reward per move of ours: rock, paper, scissors.",
        )
        expected = _A @ q
        if _close(got, expected):
            continue
        if _close(got, -expected):
            hint = (
                "those are the opponent's winnings: A[i, j] is what *we* win playing i "
                "against j (paper beats rock: A[1, 0] = +1)."
            )
        elif _close(got, q):
            hint = "q is how often they play each move; our reward for move i is sum_j A[i, j] q_j."
        elif _close(got, _A @ q[[1, 2, 0]]) or _close(got, _A @ q[[2, 0, 1]]):
            hint = "keep the order rock, paper, scissors for both players' moves."
        else:
            hint = "the expected reward of move i is sum_j A[i, j] q_j, i.e. A @ q."
        _compare(ex, words, "the arm means", got, expected, hint=hint)
    _passed(ex, len(cases))
