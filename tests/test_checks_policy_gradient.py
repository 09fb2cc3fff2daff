"""course_lib.checks.policy_gradient: each check passes a right answer and fails plausible mistakes.

The right answers here are written independently of the solutions notebook (NumPy loops where
the notebook uses jnp and lax.scan, the library where the notebook writes the formula out).
"""

from __future__ import annotations

import jax
import numpy as np
import pytest

from course_lib import checks, policy_gradient
from course_lib.checks import CheckFailed


def _stub(*args):
    raise NotImplementedError("Exercise: replace this with your code")


ALL = [
    checks.softmax_score,
    checks.gaussian_score,
    checks.reinforce_estimate,
    checks.with_baseline,
    checks.returns_to_go,
    checks.fd_gradient,
    checks.rps_expected_payoff,
]


@pytest.mark.parametrize("check", ALL)
def test_every_check_says_not_implemented_for_the_stub(check):
    with pytest.raises(CheckFailed, match="not implemented yet"):
        check(_stub)


def _passes(check, fn, capsys):
    check(fn)
    assert "✔" in capsys.readouterr().out


def _fails(check, fn, hint):
    with pytest.raises(CheckFailed, match=hint):
        check(fn)


def _softmax(z):
    e = np.exp(np.asarray(z, np.float64) - np.max(z))
    return e / e.sum()


# ------------------------------------------------------------------------------ softmax_score


def test_softmax_score(capsys):
    def loop(z, a):  # d/dz_j of z_a - log sum exp z, entry by entry
        pi = _softmax(z)
        return np.array([(1.0 if j == a else 0.0) - pi[j] for j in range(len(pi))])

    _passes(checks.softmax_score, loop, capsys)
    _passes(checks.softmax_score, policy_gradient.softmax_score, capsys)
    _fails(checks.softmax_score, lambda z, a: -loop(z, a), "sign is flipped")
    _fails(checks.softmax_score, lambda z, a: np.eye(len(z))[a] * (1 - _softmax(z)), "normalizer")
    _fails(checks.softmax_score, lambda z, a: np.eye(len(z))[a] - _softmax(z)[a], "whole vector")


# ------------------------------------------------------------------------------ gaussian_score


def test_gaussian_score(capsys):
    def grad_based(a, mu, sigma):
        return tuple(jax.grad(policy_gradient.gaussian_log_prob, argnums=(1, 2))(a, mu, sigma))

    _passes(checks.gaussian_score, grad_based, capsys)
    _passes(checks.gaussian_score, policy_gradient.gaussian_score, capsys)
    _fails(
        checks.gaussian_score,
        lambda a, mu, s: ((a - mu) / s, (a - mu) ** 2 / s**3 - 1 / s),
        "variance sigma",
    )
    _fails(
        checks.gaussian_score,
        lambda a, mu, s: ((a - mu) / s**2, (a - mu) ** 2 / s**3),
        "adds -1/sigma",
    )
    _fails(checks.gaussian_score, lambda a, mu, s: (a - mu) / s**2, "expected a tuple")


# ------------------------------------------------------------------------------ REINFORCE


def _loop_estimate(scores, rewards, b=0.0):
    g, r = np.asarray(scores, np.float64), np.asarray(rewards, np.float64)
    total = np.zeros(g.shape[1])
    for i in range(g.shape[0]):
        total += (r[i] - b) * g[i]
    return total / g.shape[0]


def test_reinforce_estimate(capsys):
    _passes(checks.reinforce_estimate, _loop_estimate, capsys)
    _passes(checks.reinforce_estimate, policy_gradient.reinforce_gradient, capsys)
    _fails(
        checks.reinforce_estimate,
        lambda g, r: np.sum(np.asarray(r)[:, None] * np.asarray(g), axis=0),
        "average over the n samples",
    )
    _fails(
        checks.reinforce_estimate,
        lambda g, r: np.mean(r) * np.mean(np.asarray(g), axis=0),
        "its own reward",
    )


def test_with_baseline(capsys):
    _passes(checks.with_baseline, _loop_estimate, capsys)
    _passes(checks.with_baseline, policy_gradient.reinforce_gradient, capsys)
    _fails(checks.with_baseline, lambda g, r, b: _loop_estimate(g, r), "subtract the baseline")
    _fails(checks.with_baseline, lambda g, r, b: _loop_estimate(g, r, -b), "don't add it")
    _fails(checks.with_baseline, lambda g, r, b: _loop_estimate(g, r) - b, "multiplies the scores")


# ------------------------------------------------------------------------------ returns_to_go


def test_returns_to_go(capsys):
    def loop(r, gamma):
        r = np.asarray(r, np.float64)
        return np.array(
            [sum(gamma ** (i - t) * r[i] for i in range(t, r.size)) for t in range(r.size)]
        )

    _passes(checks.returns_to_go, loop, capsys)
    _passes(checks.returns_to_go, policy_gradient.returns_to_go, capsys)
    _fails(checks.returns_to_go, lambda r, g: np.cumsum(np.asarray(r)[::-1])[::-1], "discount")
    _fails(checks.returns_to_go, lambda r, g: np.cumsum(np.asarray(r)), "after")

    def gamma_from_zero(r, gamma):
        r = np.asarray(r, np.float64)
        return np.array([sum(gamma**i * r[i] for i in range(t, r.size)) for t in range(r.size)])

    _fails(checks.returns_to_go, gamma_from_zero, "gamma\\^\\(i - t\\)")


# ------------------------------------------------------------------------------ fd_gradient


def test_fd_gradient(capsys):
    _passes(checks.fd_gradient, lambda D, y: np.linalg.lstsq(D, y, rcond=None)[0], capsys)
    _passes(checks.fd_gradient, policy_gradient.fd_gradient, capsys)
    _fails(checks.fd_gradient, lambda D, y: np.asarray(D).T @ np.asarray(y), "right-hand side")
    _fails(
        checks.fd_gradient,
        lambda D, y: np.asarray(D).T @ np.asarray(y) / np.asarray(D).shape[0],
        "not least squares",
    )


# ------------------------------------------------------------------------------ rock-paper-scissors


def test_rps_expected_payoff(capsys):
    beats = {(1, 0), (2, 1), (0, 2)}  # (winner, loser): paper-rock, scissors-paper, rock-scissors

    def loop(p, q):
        total = 0.0
        for i in range(3):
            for j in range(3):
                pay = 1.0 if (i, j) in beats else -1.0 if (j, i) in beats else 0.0
                total += float(p[i]) * float(q[j]) * pay
        return total

    _passes(checks.rps_expected_payoff, loop, capsys)
    _passes(checks.rps_expected_payoff, policy_gradient.expected_payoff, capsys)
    _fails(checks.rps_expected_payoff, lambda p, q: -loop(p, q), "opponent's payoff")
    _fails(checks.rps_expected_payoff, lambda p, q: float(np.dot(p, q)), "win")
