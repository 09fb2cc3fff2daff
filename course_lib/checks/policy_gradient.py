r"""Self-checks for the exercises on policy gradients (Aggarwal §9.5, Exercises 9.1 and 9.4).

Every check runs the student's function on a few fixed cases and compares with a reference
written out here in NumPy: the softmax score $e_a - \pi$, the Gaussian score
$((a-\mu)/\sigma^2,\ (a-\mu)^2/\sigma^3 - 1/\sigma)$, the REINFORCE average
$\frac1n\sum_i (R_i - b)\,g_i$, returns-to-go by a double loop, the normal equations of
Eq 9.23 and the bilinear payoff $p^\top A q$. Common slips are recognized and answered with a
targeted hint.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from course_lib.checks import (
    Exercise,
    _array,
    _call,
    _compare,
    _f,
    _passed,
    _scalar,
    _unpack,
)


def _close(a: Any, b: Any, rtol: float = 1e-4, atol: float = 1e-6) -> bool:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol))


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


# ------------------------------------------------------------------------------ softmax score

_EX_SOFTMAX = Exercise("softmax_score", "")


def softmax_score(fn: Callable) -> None:
    r"""Check ``fn(logits, a)`` $= \nabla_z\log\pi_z(a) = e_a - \mathrm{softmax}(z)$, shape
    ``(k,)``."""
    ex = _EX_SOFTMAX
    cases = [
        ("logits [0, 0, 0], action 1", [0.0, 0.0, 0.0], 1),
        ("logits [1, -1, 0.5, 2], action 3", [1.0, -1.0, 0.5, 2.0], 3),
        ("logits [2, 0.3, -1, 0, 1], action 0", [2.0, 0.3, -1.0, 0.0, 1.0], 0),
        ("logits [-0.5, 0.5], action 1", [-0.5, 0.5], 1),
    ]
    for words, z, a in cases:
        z = np.asarray(z)
        got = _array(ex, words, "the score", _call(ex, fn, (_f(z), a), words), z.shape,
                     hint="one entry per logit.")  # fmt: skip
        pi = _softmax(z)
        onehot = np.eye(z.size)[a]
        expected = onehot - pi
        if _close(got, expected):
            continue
        if _close(got, pi - onehot):
            hint = (
                "the sign is flipped: log pi(a) grows with z_a, so the a-th entry is 1 - pi(a) > 0."
            )
        elif _close(got, onehot - pi[a]):
            hint = "subtract the whole vector pi (d log-sum-exp / dz_j = pi_j), not just pi(a)."
        elif _close(got, onehot * (1.0 - pi)):
            hint = "every logit moves the normalizer: the other entries are -pi_j, not 0."
        else:
            hint = "write log pi(a) = z_a - log sum_b exp(z_b) and differentiate by each z_j."
        _compare(ex, words, "the score", got, expected, rtol=1e-4, atol=1e-6, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ Gaussian score

_EX_GAUSS = Exercise("gaussian_score", "9.1")


def gaussian_score(fn: Callable) -> None:
    r"""Check ``fn(a, mu, sigma) -> (d_mu, d_sigma)``: the derivatives of
    $\log\mathcal N(a;\mu,\sigma)$, ``(a - mu)/sigma**2`` and ``(a - mu)**2/sigma**3 - 1/sigma``."""
    ex = _EX_GAUSS
    cases = [(1.0, 0.0, 1.0), (2.5, 3.0, 0.5), (-1.0, 0.5, 2.0), (4.0, 3.0, 1.5)]
    for a, mu, sigma in cases:
        words = f"a = {a}, mu = {mu}, sigma = {sigma}"
        out = _call(ex, fn, (_f(a), _f(mu), _f(sigma)), words)
        d_mu, d_sigma = _unpack(ex, words, out, ("d_mu", "d_sigma"))
        d_mu = _scalar(ex, words, "d_mu", d_mu)
        d_sigma = _scalar(ex, words, "d_sigma", d_sigma)
        want_mu = (a - mu) / sigma**2
        want_sigma = (a - mu) ** 2 / sigma**3 - 1.0 / sigma
        if not np.isclose(d_mu, want_mu, rtol=1e-4, atol=1e-6):
            if np.isclose(d_mu, (a - mu) / sigma, rtol=1e-4) and sigma != 1.0:
                hint = "divide by the variance sigma^2, not by sigma."
            elif np.isclose(d_mu, (mu - a) / sigma**2, rtol=1e-4):
                hint = "the sign is flipped: log N grows with mu when a > mu."
            else:
                hint = "differentiate -(a - mu)^2 / (2 sigma^2) by mu."
            _compare(ex, words, "d_mu", np.float64(d_mu), want_mu, rtol=1e-4, atol=1e-6,
                     hint=hint)  # fmt: skip
        if not np.isclose(d_sigma, want_sigma, rtol=1e-4, atol=1e-6):
            if np.isclose(d_sigma, (a - mu) ** 2 / sigma**3, rtol=1e-4):
                hint = "the normalizing term -log sigma of the log-density adds -1/sigma."
            elif np.isclose(d_sigma, (a - mu) ** 2 / sigma**2 - 1.0 / sigma, rtol=1e-4):
                hint = "d/dsigma of -(a - mu)^2 / (2 sigma^2) is (a - mu)^2 / sigma^3."
            else:
                hint = "log N = -(a - mu)^2/(2 sigma^2) - log sigma - log(2 pi)/2: differentiate."
            _compare(ex, words, "d_sigma", np.float64(d_sigma), want_sigma, rtol=1e-4,
                     atol=1e-6, hint=hint)  # fmt: skip
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ REINFORCE


def _score_cases() -> list[tuple[str, np.ndarray, np.ndarray, float]]:
    rng = np.random.default_rng(9)
    out = []
    for i, (n, k) in enumerate([(5, 3), (8, 4), (1, 2), (20, 5)]):
        scores = rng.normal(size=(n, k))
        rewards = rng.normal(size=n) + 1.5
        out.append((f"{n} samples of {k} actions", scores, rewards, [0.7, -0.3, 2.0, 1.1][i]))
    return out


_EX_REINFORCE = Exercise("reinforce_estimate", "")


def reinforce_estimate(fn: Callable) -> None:
    r"""Check ``fn(scores, rewards)`` $= \frac1n\sum_i R_i\,g_i$ for ``scores (n, k)`` and
    ``rewards (n,)``."""
    ex = _EX_REINFORCE
    cases = _score_cases()
    for words, g, r, _ in cases:
        got = _array(ex, words, "the estimate", _call(ex, fn, (_f(g), _f(r)), words),
                     (g.shape[1],), hint="one entry per parameter (column of scores).")  # fmt: skip
        expected = (r[:, None] * g).mean(axis=0)
        if _close(got, expected):
            continue
        if _close(got, (r[:, None] * g).sum(axis=0)) and g.shape[0] > 1:
            hint = "average over the n samples (a mean), don't add them up."
        elif _close(got, r.mean() * g.mean(axis=0)):
            hint = "weight each sample's score by its own reward before averaging."
        else:
            hint = "multiply row i of the scores by reward i, then take the mean over rows."
        _compare(ex, words, "the estimate", got, expected, rtol=1e-4, atol=1e-6, hint=hint)
    _passed(ex, len(cases))


_EX_BASELINE = Exercise("with_baseline", "")


def with_baseline(fn: Callable) -> None:
    r"""Check ``fn(scores, rewards, b)`` $= \frac1n\sum_i (R_i - b)\,g_i$."""
    ex = _EX_BASELINE
    cases = _score_cases()
    for words, g, r, b in cases:
        words = f"{words}, baseline {b}"
        got = _array(ex, words, "the estimate", _call(ex, fn, (_f(g), _f(r), b), words),
                     (g.shape[1],), hint="one entry per parameter (column of scores).")  # fmt: skip
        expected = ((r - b)[:, None] * g).mean(axis=0)
        if _close(got, expected):
            continue
        if _close(got, (r[:, None] * g).mean(axis=0)):
            hint = "subtract the baseline b from every reward before weighting the scores."
        elif _close(got, ((r + b)[:, None] * g).mean(axis=0)):
            hint = "subtract the baseline, don't add it."
        elif _close(got, (r[:, None] * g).mean(axis=0) - b):
            hint = "b multiplies the scores too: weight each score by (R_i - b)."
        else:
            hint = "weight score i by R_i - b, then average over the samples."
        _compare(ex, words, "the estimate", got, expected, rtol=1e-4, atol=1e-6, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ returns-to-go

_EX_RTG = Exercise("returns_to_go", "")


def returns_to_go(fn: Callable) -> None:
    r"""Check ``fn(rewards, gamma)``: $G_t = \sum_{i\ge t}\gamma^{i-t} r_i$, shape ``(H,)``."""
    ex = _EX_RTG
    cases = [
        ("rewards [1, 1, 1, 1], gamma 0.5", [1.0, 1.0, 1.0, 1.0], 0.5),
        ("rewards [0, 0, 1], gamma 0.9", [0.0, 0.0, 1.0], 0.9),
        ("rewards [2, -1, 0.5, 3, 1], gamma 0.8", [2.0, -1.0, 0.5, 3.0, 1.0], 0.8),
        ("rewards [1, 2, 3], gamma 1", [1.0, 2.0, 3.0], 1.0),
        ("one reward [4], gamma 0.3", [4.0], 0.3),
    ]
    for words, r, gamma in cases:
        r = np.asarray(r)
        H = r.size
        got = _array(ex, words, "the returns", _call(ex, fn, (_f(r), gamma), words), (H,),
                     hint="one return per time step.")  # fmt: skip
        expected = np.array([sum(gamma ** (i - t) * r[i] for i in range(t, H)) for t in range(H)])
        if _close(got, expected):
            continue
        if _close(got, np.cumsum(r[::-1])[::-1]):
            hint = "discount: each step further away is multiplied by one more factor gamma."
        elif _close(got, np.cumsum(r)) or _close(
            got, np.array([sum(gamma**i * r[i] for i in range(t + 1)) for t in range(H)])
        ):
            hint = "a return counts the rewards *after* step t (t to H-1), not those before it."
        elif _close(got, np.array([sum(gamma**i * r[i] for i in range(t, H)) for t in range(H)])):
            hint = "discount from step t: the reward at step i gets gamma^(i - t), not gamma^i."
        else:
            hint = "go backwards: G_{H-1} = r_{H-1}, then G_t = r_t + gamma G_{t+1}."
        _compare(ex, words, "the returns", got, expected, rtol=1e-4, atol=1e-6, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ finite differences

_EX_FD = Exercise("fd_gradient", "")


def fd_gradient(fn: Callable) -> None:
    r"""Check ``fn(D, y)`` $= (D^\top D)^{-1}D^\top y$ (Eq 9.23), ``D (s, N)``, ``y (s,)``."""
    ex = _EX_FD
    rng = np.random.default_rng(23)
    cases = []
    for s, n in [(6, 3), (10, 2), (4, 4), (25, 5)]:
        D = rng.normal(size=(s, n))
        y = D @ rng.normal(size=n) + 0.1 * rng.normal(size=s)
        cases.append((f"D of shape ({s}, {n})", D, y))
    for words, D, y in cases:
        n = D.shape[1]
        got = _array(ex, words, "the gradient", _call(ex, fn, (_f(D), _f(y)), words), (n,),
                     hint="one entry per parameter: the columns of D.")  # fmt: skip
        expected = np.linalg.solve(D.T @ D, D.T @ y)
        if _close(got, expected, rtol=1e-3, atol=1e-4):
            continue
        if _close(got, D.T @ y, rtol=1e-3, atol=1e-4):
            hint = "D^T y is only the right-hand side; solve (D^T D) x = D^T y."
        elif _close(got, D.T @ y / D.shape[0], rtol=1e-3, atol=1e-4):
            hint = "an average of y_r Delta W_r is not least squares; solve (D^T D) x = D^T y."
        else:
            hint = "solve the normal equations (D^T D) grad = D^T y (jnp.linalg.solve)."
        _compare(ex, words, "the gradient", got, expected, rtol=1e-3, atol=1e-4, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ rock-paper-scissors

_EX_RPS = Exercise("rps_expected_payoff", "9.4")

_RPS = np.array([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]])


def rps_expected_payoff(fn: Callable) -> None:
    r"""Check ``fn(p, q)`` $= \sum_{i,j} p_i q_j A_{ij}$: the expected payoff of the mix ``p``
    against ``q`` in rock-paper-scissors (order rock, paper, scissors; +1 win, -1 loss)."""
    ex = _EX_RPS
    cases = [
        ("p = rock, q = scissors", [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]),
        ("p = paper, q = scissors", [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]),
        ("p = [0.2, 0.5, 0.3], q = [0.6, 0.1, 0.3]", [0.2, 0.5, 0.3], [0.6, 0.1, 0.3]),
        ("p uniform, q = [0.7, 0.2, 0.1]", [1 / 3, 1 / 3, 1 / 3], [0.7, 0.2, 0.1]),
        ("p = [0.1, 0.1, 0.8], q = [0.5, 0.5, 0.0]", [0.1, 0.1, 0.8], [0.5, 0.5, 0.0]),
    ]
    for words, p, q in cases:
        p, q = np.asarray(p), np.asarray(q)
        got = _scalar(ex, words, "the payoff", _call(ex, fn, (_f(p), _f(q)), words))
        expected = float(p @ _RPS @ q)
        if np.isclose(got, expected, atol=1e-5):
            continue
        if np.isclose(got, -expected, atol=1e-5):
            hint = (
                "that is the opponent's payoff: paper beats rock, so p = paper vs q = rock is +1."
            )
        elif np.isclose(got, float(p @ _RPS.T @ q), atol=1e-5):
            hint = "rows are your move and columns the opponent's: A[i, j] is your payoff."
        else:
            hint = "sum p_i q_j times the payoff of move i against move j: +1 win, 0 tie, -1 loss."
        _compare(ex, words, "the payoff", np.float64(got), expected, atol=1e-5, hint=hint)
    _passed(ex, len(cases))
