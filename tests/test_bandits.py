"""course_lib.bandits: the incremental mean, the strategies' choices against NumPy loops, the
simulator's bookkeeping (regret, counts, means), masking of padded arms, determinism, no
recompiles when a hyperparameter moves, the UCB coverage, and clear errors on bad input."""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import bandits

MEANS = np.array([0.2, 0.7, 0.4, 0.55, 0.3])
STEPS, SEEDS = 200, 8
KEY = jax.random.key(3)


def _five():
    """One strategy of every kind (one compiled shape for the whole file)."""
    return bandits.stack(
        [
            bandits.strategy("naive", m=4),
            bandits.strategy("epsilon", eps=0.0),
            bandits.strategy("annealed", c=5.0),
            bandits.strategy("ucb", K=2.0),
            bandits.strategy("ucb1", K=1.0),
        ]
    )


@functools.cache
def _runs():
    return bandits.simulate(bandits.bernoulli_bandit(MEANS), _five(), key=KEY, steps=STEPS,
                            seeds=SEEDS)  # fmt: skip


# ------------------------------------------------------------------------------ the mean


def test_running_mean_equals_the_batch_mean_in_float64():
    with jax.enable_x64(True):
        r = np.random.default_rng(0).normal(3.0, 2.0, 1000)
        got = np.asarray(bandits.running_mean(jnp.asarray(r, jnp.float64)))
        np.testing.assert_allclose(got, np.cumsum(r) / np.arange(1, 1001), rtol=1e-13)
        assert got.dtype == np.float64


def test_update_mean_is_the_mean_of_one_more():
    assert float(bandits.update_mean(2.0, 3, 5.0)) == pytest.approx((2.0 * 2 + 5.0) / 3)
    assert float(bandits.update_mean(0.0, 1, 7.0)) == 7.0  # the first reward is the mean


# ------------------------------------------------------------------------------ the pieces


def test_ucb_scores_eq_9_1_and_untried_arms_score_infinity():
    q, n, s = jnp.array([0.5, 0.1, 0.3]), jnp.array([4.0, 0.0, 9.0]), jnp.array([1.0, 1.0, 0.6])
    u = np.asarray(bandits.ucb_scores(q, n, s, 3.0))
    assert u[1] == np.inf
    np.testing.assert_allclose(u[[0, 2]], [0.5 + 3 * 1 / 2, 0.3 + 3 * 0.6 / 3], rtol=1e-6)


def test_reward_sigmas_is_the_sample_sd_with_a_pseudo_observation():
    r = np.array([1.0, 0.0, 0.0, 1.0, 1.0])
    state = bandits.init_state(2)
    for x in r:
        state = bandits.update_state(state, 1, x)
    assert float(state.counts[1]) == 5 and float(state.counts[0]) == 0
    assert float(state.values[1]) == pytest.approx(r.mean())
    sd = bandits.reward_sigmas(state.counts, state.sq_dev, 0.0)
    assert float(sd[1]) == pytest.approx(r.std(), rel=1e-5)  # Welford's sum, ddof = 0
    sd0 = bandits.reward_sigmas(state.counts, state.sq_dev, 0.5)
    assert float(sd0[1]) == pytest.approx(math.sqrt((np.sum((r - r.mean()) ** 2) + 0.25) / 5))


def test_annealed_epsilon_schedule():
    t = jnp.arange(1, 8)
    got = bandits.epsilon_at(t, eps=0.1, c=3.0, annealed=True)
    np.testing.assert_allclose(got, np.minimum(1.0, 3.0 / np.arange(1, 8)), rtol=1e-6)
    np.testing.assert_allclose(bandits.epsilon_at(t, eps=0.1, c=3.0, annealed=False), 0.1)


def test_ucb_coverage_is_phi_of_k_not_99_99_percent():
    phi = 0.5 * (1.0 + math.erf(3.0 / math.sqrt(2.0)))
    assert float(bandits.ucb_coverage(3.0)) == pytest.approx(phi, rel=1e-6)
    assert round(float(bandits.ucb_coverage(3.0)), 5) == 0.99865
    assert round(float(bandits.ucb_coverage_two_sided(3.0)), 4) == 0.9973
    assert float(bandits.ucb_coverage(3.0)) < 0.9999


# ------------------------------------------------------------------------------ the simulator


def test_shapes_and_single_strategy():
    runs = _runs()
    assert runs.arms.shape == (5, SEEDS, STEPS) and runs.arms.dtype == jnp.int32
    assert runs.rewards.shape == runs.regret.shape == (5, SEEDS, STEPS)
    assert runs.counts.shape == runs.values.shape == (5, SEEDS, MEANS.size)
    one = bandits.simulate(bandits.bernoulli_bandit(MEANS), bandits.strategy("ucb"), key=KEY,
                           steps=50, seeds=3)  # fmt: skip
    assert one.arms.shape == (3, 50)


def test_bookkeeping_against_numpy():
    runs = jax.tree.map(np.asarray, _runs())
    assert set(np.unique(runs.rewards)) <= {0.0, 1.0}
    gaps = MEANS.max() - MEANS[runs.arms]
    np.testing.assert_allclose(runs.regret, np.cumsum(gaps, axis=-1), rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(
        bandits.regret_from_arms(runs.arms, MEANS), runs.regret, rtol=1e-5, atol=1e-4
    )
    assert np.all(runs.counts.sum(-1) == STEPS)
    for s in range(5):
        for j in range(SEEDS):
            a, r = runs.arms[s, j], runs.rewards[s, j]
            n = np.bincount(a, minlength=MEANS.size)
            np.testing.assert_array_equal(runs.counts[s, j], n)
            sums = np.bincount(a, weights=r, minlength=MEANS.size)
            means = np.where(n > 0, sums / np.maximum(n, 1), 0.0)
            np.testing.assert_allclose(runs.values[s, j], means, atol=1e-5)


def test_every_strategy_but_naive_tries_each_arm_first_and_naive_commits():
    arms = np.asarray(_runs().arms)
    k = MEANS.size
    for s in range(1, 5):
        np.testing.assert_array_equal(arms[s, :, :k], np.tile(np.arange(k), (SEEDS, 1)))
    naive = arms[0]
    m = 4
    np.testing.assert_array_equal(naive[:, : m * k], np.tile(np.arange(k), (SEEDS, m)))
    rewards = np.asarray(_runs().rewards[0])
    for j in range(SEEDS):
        explore_means = np.bincount(naive[j, : m * k], weights=rewards[j, : m * k]) / m
        assert np.all(naive[j, m * k :] == np.argmax(explore_means))


def test_epsilon_zero_is_greedy_after_the_first_pulls():
    runs = _runs()
    k = MEANS.size
    for j in range(SEEDS):
        greedy = np.asarray(bandits.greedy_after(runs.rewards[1, j], runs.arms[1, j], k))
        np.testing.assert_array_equal(np.asarray(runs.arms[1, j, k:]), greedy[k:])


def _numpy_run(u, means, kind, eps=0.0, K=0.0, c=0.0, sigma0=0.5):
    """A plain loop over the pulls (float64), for epsilon-greedy and UCB (Eq 9.1)."""
    k = means.size
    n, q, s2 = np.zeros(k), np.zeros(k), np.zeros(k)
    arms = []
    for t in range(u.shape[0]):
        untried = np.flatnonzero(n == 0)
        if untried.size:
            a = untried[0]
        elif kind == "ucb":
            sig = np.sqrt((s2 + sigma0**2) / n)
            a = int(np.argmax(q + K * sig / np.sqrt(n)))
        else:
            e = min(1.0, c / (t + 1)) if kind == "annealed" else eps
            a = min(int(np.floor(u[t, 1] * k)), k - 1) if u[t, 0] < e else int(np.argmax(q))
        r = float(u[t, 2] < means[a])
        n[a] += 1
        old = q[a]
        q[a] += (r - q[a]) / n[a]
        s2[a] += (r - old) * (r - q[a])
        arms.append(a)
    return np.array(arms)


@pytest.mark.parametrize(
    ("kind", "kw"),
    [("epsilon", {"eps": 0.2}), ("annealed", {"c": 8.0}), ("ucb", {"K": 1.5})],
)
def test_simulator_equals_a_numpy_loop(kind, kw):
    with jax.enable_x64(True):
        bandit = bandits.bernoulli_bandit(jnp.asarray(MEANS, jnp.float64))
        run = bandits.simulate(bandit, bandits.strategy(kind, **kw), key=KEY, steps=150, seeds=2)
        keys = jax.random.split(KEY, 2)
        for j in range(2):
            u, _ = bandits._draws(keys[j], 150, jnp.float64)
            expected = _numpy_run(np.asarray(u), MEANS, kind, **kw)
            np.testing.assert_array_equal(np.asarray(run.arms[j]), expected)


def test_padded_arms_are_never_pulled_and_change_nothing():
    padded = bandits.with_arms(bandits.bernoulli_bandit(np.r_[MEANS, 0.99, 0.99]), MEANS.size)
    runs_pad = bandits.simulate(padded, _five(), key=KEY, steps=STEPS, seeds=SEEDS)
    runs = _runs()
    assert int(jnp.max(runs_pad.arms)) < MEANS.size
    np.testing.assert_array_equal(runs_pad.arms, runs.arms)
    np.testing.assert_allclose(runs_pad.regret, runs.regret, rtol=1e-6)


def test_determinism_under_a_fixed_key():
    a = _runs()
    b = bandits.simulate(bandits.bernoulli_bandit(MEANS), _five(), key=KEY, steps=STEPS,
                         seeds=SEEDS)  # fmt: skip
    np.testing.assert_array_equal(a.arms, b.arms)
    c = bandits.simulate(bandits.bernoulli_bandit(MEANS), _five(), key=jax.random.key(4),
                         steps=STEPS, seeds=SEEDS)  # fmt: skip
    assert not np.array_equal(a.arms, c.arms)
    assert not np.array_equal(a.arms[3, 0], a.arms[3, 1])  # seeds differ


def test_moving_hyperparameters_and_arms_does_not_recompile():
    _runs()
    before = bandits.simulate_cache_size()
    moved = bandits.stack(
        [
            bandits.strategy("ucb", K=0.5),
            bandits.strategy("annealed", c=1.0),
            bandits.strategy("epsilon", eps=0.9),
            bandits.strategy("naive", m=2),
            bandits.strategy("naive", m=7),
        ]
    )
    bandit = bandits.with_arms(bandits.bernoulli_bandit(MEANS), 3)
    run = bandits.simulate(bandit, moved, key=jax.random.key(9), steps=STEPS, seeds=SEEDS)
    assert bandits.simulate_cache_size() == before
    assert int(jnp.max(run.arms)) <= 2


def test_gaussian_bandit_rewards_have_the_right_mean_and_spread():
    bandit = bandits.gaussian_bandit(MEANS, 2.0)
    run = bandits.simulate(bandit, _five(), key=KEY, steps=STEPS, seeds=SEEDS)
    r = np.asarray(run.rewards[2]).ravel()  # annealed: mostly one arm, but any arm is fine
    a = np.asarray(run.arms[2]).ravel()
    resid = r - MEANS[a]
    assert abs(resid.mean()) < 4 * 2.0 / math.sqrt(resid.size)
    assert abs(resid.std() - 2.0) < 0.1


# ------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("thunk", "err", "match"),
    [
        (lambda: bandits.bernoulli_bandit([0.2, 1.5]), ValueError, "`means`.*\\[0, 1\\]"),
        (lambda: bandits.bernoulli_bandit([[0.2]]), ValueError, "`means` must be 1-dim"),
        (lambda: bandits.bernoulli_bandit([]), ValueError, "`means` must hold at least one"),
        (lambda: bandits.bernoulli_bandit([0.2, 0.3], k_max=1), ValueError, "`k_max`"),
        (lambda: bandits.gaussian_bandit([0.2, 0.3], -1.0), ValueError, "`stds` must be pos"),
        (lambda: bandits.gaussian_bandit([0.2, float("nan")]), ValueError, "`means` contains"),
        (lambda: bandits.strategy("greedy"), ValueError, "unknown strategy kind 'greedy'"),
        (lambda: bandits.strategy("epsilon", eps=1.5), ValueError, "`eps` must lie in"),
        (lambda: bandits.strategy("ucb", K=-1.0), ValueError, "`K` must be non-negative"),
        (lambda: bandits.strategy("naive", m=0), ValueError, "`m` must be a positive"),
        (lambda: bandits.strategy("epsilon", eps="0.1"), TypeError, "`eps` must be a real"),
        (lambda: bandits.with_arms(bandits.bernoulli_bandit(MEANS), 9), ValueError, "`n_arms`"),
        (lambda: bandits.simulate(bandits.bernoulli_bandit(MEANS), bandits.strategy("ucb"),
                                  key=None, steps=5, seeds=2), TypeError, "`key` is required"),
        (lambda: bandits.simulate(bandits.bernoulli_bandit(MEANS), bandits.strategy("ucb"),
                                  key=KEY, steps=0, seeds=2), ValueError, "`steps`"),
        (lambda: bandits.simulate(MEANS, bandits.strategy("ucb"), key=KEY, steps=5, seeds=2),
         TypeError, "`bandit` must be a Bandit"),
        (lambda: bandits.simulate(bandits.bernoulli_bandit(MEANS), "ucb", key=KEY, steps=5,
                                  seeds=2), TypeError, "`strategies` must be a Strategy"),
        (lambda: bandits.regret_from_arms([0, 7], MEANS), ValueError, "`arms` must lie in"),
        (lambda: bandits.running_mean("abc"), TypeError, "`rewards`"),
    ],
)  # fmt: skip
def test_bad_input_gives_a_clear_error(thunk, err, match):
    with pytest.raises(err, match=match):
        thunk()
