"""course_lib.checks.bandits: each check passes a right answer and fails plausible mistakes.

The right answers here are written independently of the solutions notebook (NumPy loops where
the notebook uses jnp, the library where the notebook writes the formula out).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import bandits, checks
from course_lib.checks import CheckFailed


def _stub(*args):
    raise NotImplementedError("Exercise: replace this with your code")


ALL = [
    checks.incremental_mean,
    checks.epsilon_greedy_choice,
    checks.ucb_scores,
    checks.annealed_epsilon,
    checks.regret,
    checks.rps_arm_means,
]


@pytest.mark.parametrize("check", ALL)
def test_every_check_says_not_implemented_for_the_stub(check):
    with pytest.raises(CheckFailed, match="not implemented yet"):
        check(_stub)


def _passes(check, fn, capsys):
    check(fn)
    assert "✔" in capsys.readouterr().out


# ------------------------------------------------------------------------------ incremental_mean


def _mean_loop(rewards, offset=0):
    q, out = 0.0, []
    for n, r in enumerate(np.asarray(rewards, np.float64).tolist(), start=1):
        q += (r - q) / (n + offset)
        out.append(q)
    return np.array(out)


def test_incremental_mean_passes_a_loop_and_the_library(capsys):
    _passes(checks.incremental_mean, _mean_loop, capsys)
    _passes(checks.incremental_mean, bandits.running_mean, capsys)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda r: _mean_loop(r, offset=1), "n must count the new reward"),
        (lambda r: np.cumsum(np.asarray(r)), "running sums"),
        (lambda r: np.asarray(r), "start from Q = 0"),
        (lambda r: np.mean(np.asarray(r)), "wrong shape"),
    ],
)
def test_incremental_mean_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.incremental_mean(wrong)


# ------------------------------------------------------------------------------ epsilon_greedy


def _choice(q, eps, u, random_arm):
    q = np.asarray(q).tolist()
    if u < eps:
        return random_arm
    return max(range(len(q)), key=lambda i: (q[i], -i))  # the first of the best


@pytest.mark.parametrize(
    "right",
    [_choice, lambda q, eps, u, ra: jnp.where(u < eps, ra, jnp.argmax(q))],
)
def test_epsilon_greedy_choice_passes_two_answers(right, capsys):
    _passes(checks.epsilon_greedy_choice, right, capsys)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda q, eps, u, ra: ra if u > eps else int(np.argmax(q)), "branches are swapped"),
        (lambda q, eps, u, ra: ra if u < eps else int(np.argmin(q)), "largest"),
        (lambda q, eps, u, ra: ra if u < eps else float(np.max(q)), "index"),
        (lambda q, eps, u, ra: ra if u < eps else len(q) - 1 - int(np.argmax(q[::-1])), "tie"),
    ],
)
def test_epsilon_greedy_choice_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.epsilon_greedy_choice(wrong)


# ------------------------------------------------------------------------------ ucb_scores


def _ucb_loop(values, counts, sigmas, K):
    out = []
    for q, n, s in zip(*(np.asarray(a, np.float64).tolist() for a in (values, counts, sigmas)),
                       strict=True):  # fmt: skip
        out.append(q + K * s / n**0.5 if n > 0 else float("inf"))
    return np.array(out)


def test_ucb_scores_passes_a_loop_and_the_library(capsys):
    _passes(checks.ucb_scores, _ucb_loop, capsys)
    _passes(checks.ucb_scores, bandits.ucb_scores, capsys)


def _with_n(values, counts, sigmas, K, power):
    n = np.asarray(counts, np.float64)
    safe = np.where(n > 0, n, 1.0)
    return np.where(n > 0, np.asarray(values) + K * np.asarray(sigmas) * safe**power, np.inf)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda q, n, s, K: _with_n(q, n, s, K, -1.0), "1/sqrt\\(n\\), not 1/n"),
        (lambda q, n, s, K: _with_n(q, n, s, K, 0.5), "divide by sqrt"),
        (lambda q, n, s, K: np.asarray(q) + K * np.asarray(s) / np.sqrt(np.maximum(n, 1)), "inf"),
        (lambda q, n, s, K: _with_n(q, n, s, K, -0.5) - np.asarray(q), "add the bonus"),
    ],
)
def test_ucb_scores_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.ucb_scores(wrong)


# ------------------------------------------------------------------------------ annealed_epsilon


def test_annealed_epsilon_passes_a_loop_and_the_library(capsys):
    _passes(
        checks.annealed_epsilon,
        lambda t, c: np.array([min(1.0, c / x) for x in np.asarray(t).tolist()]),
        capsys,
    )
    _passes(
        checks.annealed_epsilon,
        lambda t, c: bandits.epsilon_at(t, eps=0.0, c=c, annealed=True),
        capsys,
    )


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda t, c: c / t, "cannot exceed 1"),
        (lambda t, c: jnp.minimum(1.0, c / (t + 1)), "counts pulls from 1"),
        (lambda t, c: jnp.minimum(1.0, c / t**2), "decays like 1/t"),
    ],
)
def test_annealed_epsilon_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.annealed_epsilon(wrong)


# ------------------------------------------------------------------------------ regret


def _regret_loop(arms, rewards, means):
    means = np.asarray(means, np.float64).tolist()
    total, out = 0.0, []
    for a in np.asarray(arms).tolist():
        total += max(means) - means[a]
        out.append(total)
    return np.array(out)


def test_regret_passes_a_loop_and_the_library(capsys):
    _passes(checks.regret, _regret_loop, capsys)
    _passes(checks.regret, lambda a, r, m: bandits.regret_from_arms(a, m), capsys)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda a, r, m: jnp.cumsum(jnp.max(m) - r), "sampled rewards"),
        (lambda a, r, m: jnp.max(m) - m[a], "cumulative"),
        (lambda a, r, m: jnp.cumsum(m[a] - jnp.max(m)), "what was lost"),
    ],
)
def test_regret_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.regret(wrong)


# ------------------------------------------------------------------------------ rock-paper-scissors


def _arm_means_loop(q):
    beats = {(1, 0), (0, 2), (2, 1)}  # (winner, loser): paper-rock, rock-scissors, scissors-paper
    q = np.asarray(q, np.float64).tolist()
    return np.array(
        [sum(q[j] * (((i, j) in beats) - ((j, i) in beats)) for j in range(3)) for i in range(3)]
    )


def test_rps_arm_means_passes_a_loop_and_the_payoff_matrix(capsys):
    from course_lib import policy_gradient

    _passes(checks.rps_arm_means, _arm_means_loop, capsys)
    _passes(checks.rps_arm_means, lambda q: policy_gradient.rps_payoff() @ q, capsys)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda q: -_arm_means_loop(q), "opponent's winnings"),
        (lambda q: _arm_means_loop(q) @ np.eye(3) * -1.0, "opponent's winnings"),
        (lambda q: np.asarray(q), "how often they play"),
        (lambda q: _arm_means_loop(np.asarray(q)[[1, 2, 0]]), "keep the order"),
    ],
)
def test_rps_arm_means_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.rps_arm_means(wrong)
