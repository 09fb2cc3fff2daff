"""course_lib.policy_gradient: scores, REINFORCE, finite differences, returns-to-go, training."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import policy_gradient as pg

KEY = jax.random.key(0)
Z = [0.5, -0.2, 0.1, 0.0]
Q = [1.0, 2.0, 0.5, 3.0]


def _central(f, x, h=1e-6):
    x = np.asarray(x, np.float64)
    out = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e.flat[i] = h
        out.flat[i] = (float(f(x + e)) - float(f(x - e))) / (2 * h)
    return out


# ------------------------------------------------------------------------------ scores


def test_softmax_score_against_grad_and_finite_differences():
    with jax.enable_x64(True):
        z = jnp.array(Z, jnp.float64)
        for a in range(4):
            score = pg.softmax_score(z, a)
            auto = jax.grad(lambda v, a=a: jax.nn.log_softmax(v)[a])(z)
            fd = _central(lambda v, a=a: jax.nn.log_softmax(jnp.asarray(v))[a], z)
            np.testing.assert_allclose(score, auto, rtol=1e-12, atol=1e-14)
            np.testing.assert_allclose(score, fd, rtol=1e-6, atol=1e-9)
        batch = pg.softmax_score(z, jnp.array([0, 3, 3]))
        assert batch.shape == (3, 4)
        np.testing.assert_allclose(batch[1], pg.softmax_score(z, 3))


def test_gaussian_score_against_grad_and_finite_differences():
    with jax.enable_x64(True):
        for a, mu, sigma in [(1.0, 0.0, 1.0), (2.5, 3.0, 0.5), (-1.0, 0.5, 2.0)]:
            d_mu, d_sigma = pg.gaussian_score(a, mu, sigma)
            auto = jax.grad(pg.gaussian_log_prob, argnums=(1, 2))(a, mu, sigma)
            fd_mu = _central(
                lambda m, a=a, sigma=sigma: pg.gaussian_log_prob(a, m[0], sigma), [mu]
            )[0]
            fd_s = _central(lambda s, a=a, mu=mu: pg.gaussian_log_prob(a, mu, s[0]), [sigma])[0]
            assert float(d_mu) == pytest.approx(float(auto[0]), rel=1e-12)
            assert float(d_sigma) == pytest.approx(float(auto[1]), rel=1e-12, abs=1e-14)
            assert float(d_mu) == pytest.approx(fd_mu, rel=1e-6, abs=1e-9)
            assert float(d_sigma) == pytest.approx(fd_s, rel=1e-6, abs=1e-9)
        # the log-density is scipy's formula
        lp = pg.gaussian_log_prob(1.3, 0.2, 0.7)
        want = -0.5 * ((1.3 - 0.2) / 0.7) ** 2 - np.log(0.7) - 0.5 * np.log(2 * np.pi)
        assert float(lp) == pytest.approx(want, rel=1e-14)


def test_expected_reward_gradient_closed_form():
    with jax.enable_x64(True):
        z, q = jnp.array(Z, jnp.float64), jnp.array(Q, jnp.float64)
        g = jax.grad(pg.expected_reward)(z, q)
        pi = np.asarray(jax.nn.softmax(z))
        np.testing.assert_allclose(g, pi * (np.asarray(q) - pi @ np.asarray(q)), rtol=1e-12)
        np.testing.assert_allclose(g, _central(lambda v: pg.expected_reward(v, q), z), rtol=1e-6)
        # the likelihood ratio: sum_a pi(a) Q(a) grad log pi(a) is the same vector, exactly
        lr = sum(pi[a] * Q[a] * np.asarray(pg.softmax_score(z, a)) for a in range(4))
        np.testing.assert_allclose(g, lr, rtol=1e-12)


# ------------------------------------------------------------------------------ estimators


def test_reinforce_gradient_is_a_numpy_loop():
    rng = np.random.default_rng(0)
    g, r = rng.normal(size=(7, 3)), rng.normal(size=7)
    want = sum((r[i] - 0.4) * g[i] for i in range(7)) / 7
    np.testing.assert_allclose(pg.reinforce_gradient(g, r, 0.4), want, rtol=1e-5)
    per = rng.normal(size=7)
    want = sum((r[i] - per[i]) * g[i] for i in range(7)) / 7
    np.testing.assert_allclose(pg.reinforce_gradient(g, r, per), want, rtol=1e-5, atol=1e-6)


def test_sample_estimates_unbiased_and_baseline_cuts_variance():
    z, q = jnp.array(Z), jnp.array(Q)
    exact = np.asarray(jax.grad(pg.expected_reward)(z, q))
    plain = np.asarray(pg.sample_estimates(z, q, key=KEY, n=100, repeats=400))
    v = float(pg.expected_reward(z, q))
    based = np.asarray(pg.sample_estimates(z, q, key=KEY, n=100, baseline=v, repeats=400))
    for est in (plain, based):
        se = est.std(axis=0) / np.sqrt(est.shape[0])
        assert np.all(np.abs(est.mean(axis=0) - exact) < 4 * se)
    ratio = plain.var(axis=0).sum() / based.var(axis=0).sum()
    exact_ratio = float(pg.estimator_variance(z, q, 0.0) / pg.estimator_variance(z, q, v))
    assert ratio == pytest.approx(exact_ratio, rel=0.25) and exact_ratio > 3
    # the measured variance is the closed form / n
    assert plain.var(axis=0).sum() == pytest.approx(
        float(pg.estimator_variance(z, q, 0.0)) / 100, rel=0.25
    )


def test_estimator_variance_is_a_numpy_sum():
    z, q = np.array(Z), np.array(Q)
    pi = np.exp(z) / np.exp(z).sum()
    grad = pi * (q - pi @ q)
    for b in (0.0, 1.7):
        cov = sum(
            pi[a] * np.outer((q[a] - b) * (np.eye(4)[a] - pi), (q[a] - b) * (np.eye(4)[a] - pi))
            for a in range(4)
        ) - np.outer(grad, grad)
        assert float(pg.estimator_variance(z, q, b)) == pytest.approx(np.trace(cov), rel=1e-5)
    assert pg.estimator_variance(z, q, jnp.linspace(0.0, 2.0, 5)).shape == (5,)


def test_sample_estimates_deterministic_and_no_recompile():
    z, q = jnp.array(Z), jnp.array(Q)
    a = pg.sample_estimates(z, q, key=KEY, n=10, repeats=400)
    np.testing.assert_array_equal(a, pg.sample_estimates(z, q, key=KEY, n=10, repeats=400))
    assert a.shape == (400, 4)
    before = pg._sample_estimates._cache_size()
    for n, b in [(3, 0.0), (700, 1.5), (1, -2.0)]:
        pg.sample_estimates(z, q, key=KEY, n=n, baseline=b, repeats=400)
    assert pg._sample_estimates._cache_size() == before


def test_fd_gradient_exact_for_linear_j_and_matches_lstsq():
    with jax.enable_x64(True):
        w = np.array([0.3, -1.2, 2.0])
        D = np.asarray(pg.fd_perturbations(key=KEY, s=5, n_params=3, eps=0.1))
        assert D.shape == (5, 3)
        y = D @ w  # J linear in W: Delta J = Delta W . grad exactly
        np.testing.assert_allclose(pg.fd_gradient(D, y), w, rtol=1e-10)
        rng = np.random.default_rng(2)
        D, y = rng.normal(size=(9, 4)), rng.normal(size=9)
        np.testing.assert_allclose(pg.fd_gradient(D, y), np.linalg.lstsq(D, y, rcond=None)[0],
                                   rtol=1e-10)  # fmt: skip


def test_returns_to_go_is_a_double_loop():
    rng = np.random.default_rng(3)
    r = rng.normal(size=(2, 6))
    for gamma in (0.0, 0.9, 1.0):
        want = [
            [sum(gamma ** (i - t) * row[i] for i in range(t, 6)) for t in range(6)] for row in r
        ]
        np.testing.assert_allclose(pg.returns_to_go(r, gamma), want, rtol=1e-5, atol=1e-6)


def test_worked_example_of_section_9_5_2():
    assert float(pg.log_prob_gain(0.2, 1.0, 0.17)) == pytest.approx(0.83 * np.log(0.2))
    assert round(float(pg.log_prob_gain(0.2, 1.0, 0.17)), 3) == -1.336


# ------------------------------------------------------------------------------ training


def test_gaussian_bandit_learns_the_target():
    run = pg.gaussian_bandit_train(0.0, 1.0, key=KEY, steps=200)
    assert run.mu.shape == (201,) and run.sigma.shape == (201,)
    assert abs(float(run.mu[-1]) - 3.0) < 0.2 and float(run.sigma[-1]) < 0.5
    np.testing.assert_allclose(run.reward, -((run.mu - 3.0) ** 2 + run.sigma**2), rtol=1e-6)
    again = pg.gaussian_bandit_train(0.0, 1.0, key=KEY, steps=200)
    np.testing.assert_array_equal(run.mu, again.mu)


def test_rps_uniform_is_nash_and_reinforce_finds_the_best_response():
    A = pg.rps_payoff()
    uniform = jnp.full(3, 1 / 3)
    for j in range(3):
        assert abs(float(pg.expected_payoff(uniform, jnp.eye(3)[j]))) < 1e-6
    np.testing.assert_allclose(A, -A.T)  # zero-sum and symmetric
    biased = jnp.array([0.5, 0.3, 0.2])  # rock-heavy: paper is the best response
    run = pg.categorical_reinforce(jnp.zeros(3), A, biased, key=KEY, steps=300)
    assert run.probs.shape == (301, 3) and float(run.probs[-1, 1]) > 0.8


def test_nas_lite_raises_the_best_architecture():
    # a (3, 3) table and 300 steps: the same shapes as the rock-paper-scissors run (one compile)
    rewards = jnp.array([[0.80] * 3, [0.91] * 3, [0.86] * 3])  # the opponent's move is ignored
    run = pg.categorical_reinforce(
        jnp.zeros(3), rewards, jnp.ones(3) / 3, key=KEY, steps=300, lr=1.0, noise=0.02
    )
    assert float(run.probs[-1, 1]) > 0.5 > float(run.probs[0, 1])


def test_cartpole_reinforce_shapes_determinism_and_no_recompile():
    kw = dict(key=KEY, updates=3, episodes=4, horizon=40, hidden=8)
    run = pg.cartpole_reinforce(**kw)
    assert run.returns.shape == (3,) and run.lengths.shape == (3,)
    assert np.all((np.asarray(run.returns) >= 1) & (np.asarray(run.returns) <= 40))
    np.testing.assert_array_equal(run.returns, pg.cartpole_reinforce(**kw).returns)
    before = pg._cartpole_reinforce._cache_size()
    pg.cartpole_reinforce(**kw, lr=0.05, baseline=False, gamma=0.9)
    assert pg._cartpole_reinforce._cache_size() == before


# ------------------------------------------------------------------------------ bad input


def test_bad_input_errors():
    z, q = jnp.array(Z), jnp.array(Q)
    with pytest.raises(ValueError, match="`actions` must lie in"):
        pg.softmax_score(z, 4)
    with pytest.raises(TypeError, match="`actions` must be integer ids"):
        pg.softmax_score(z, 1.5)
    with pytest.raises(ValueError, match="`q` must have shape"):
        pg.expected_reward(z, q[:3])
    with pytest.raises(ValueError, match="`sigma` must be positive"):
        pg.gaussian_score(1.0, 0.0, -1.0)
    with pytest.raises(ValueError, match="`n` must lie in"):
        pg.sample_estimates(z, q, key=KEY, n=0)
    with pytest.raises(TypeError, match="`key` is required"):
        pg.sample_estimates(z, q, key=None, n=3)
    with pytest.raises(ValueError, match="at least as many perturbations"):
        pg.fd_gradient(np.ones((2, 3)), np.ones(2))
    with pytest.raises(ValueError, match="same number of rows"):
        pg.reinforce_gradient(np.ones((3, 2)), np.ones(4))
    with pytest.raises(ValueError, match="`gamma` must lie in"):
        pg.returns_to_go([1.0, 2.0], 1.5)
    with pytest.raises(ValueError, match="`opponent` must be probabilities"):
        pg.categorical_reinforce(jnp.zeros(3), pg.rps_payoff(), jnp.ones(3), key=KEY)
    with pytest.raises(ValueError, match="`payoff` must have shape"):
        pg.expected_payoff(jnp.ones(3) / 3, jnp.ones(2) / 2)
    with pytest.raises(ValueError, match="`lr` must be positive"):
        pg.cartpole_reinforce(key=KEY, lr=0.0)
