"""course_lib.td_learning: every update against a NumPy loop written from the equations, the
identities between the methods (n = 1 is TD(0), n = inf and offline lambda = 1 are Monte Carlo,
SARSA with eps = 0 is Q-learning), the semi-gradient form of the updates (jax.grad and finite
differences, float64), convergence (random walk, chain), no recompiles, bad input."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import mdp
from course_lib import td_learning as td

KEY = jax.random.key(0)
WALK = mdp.random_walk()
V0 = np.array([0.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.0])
TRUE = np.arange(7) / 6.0 * (np.arange(7) % 6 != 0)


@functools.cache
def _episodes(n=6, T=60, seed=1):
    return mdp.sample_episodes(WALK, np.ones((7, 1)), key=jax.random.key(seed), n_episodes=n,
                               max_steps=T)  # fmt: skip


def _steps(ep):
    """The real steps of each episode, as Python tuples (s, r, s', done)."""
    s, r, s2, valid, done = (np.asarray(x) for x in (ep.states, ep.rewards, ep.next_states,
                                                      ep.valid, ep.done))  # fmt: skip
    return [[(int(s[e, t]), float(r[e, t]), int(s2[e, t]), bool(done[e, t]))
             for t in range(s.shape[1]) if valid[e, t]] for e in range(s.shape[0])]  # fmt: skip


def _returns(steps, gamma):
    g, out = 0.0, []
    for _, r, _, _ in reversed(steps):
        g = r + gamma * g
        out.append(g)
    return out[::-1]


# ------------------------------------------------------------------------------ oracles


def _td0_loop(episodes, alpha, gamma):
    v, hist = V0.copy(), []
    for steps in episodes:
        for s, r, s2, done in steps:
            v[s] += alpha * (r + (0.0 if done else gamma * v[s2]) - v[s])
        hist.append(v.copy())
    return np.array(hist)


def _mc_loop(episodes, alpha, gamma, first_visit=False):
    v, hist = V0.copy(), []
    for steps in episodes:
        seen = set()
        for (s, _, _, _), g in zip(steps, _returns(steps, gamma), strict=True):
            if not (first_visit and s in seen):
                v[s] += alpha * (g - v[s])
            seen.add(s)
        hist.append(v.copy())
    return np.array(hist)


def _td_lambda_explicit(episodes, alpha, gamma, lam):
    """Eq 9.18 written as the explicit sum over the past gradients (one-hot vectors)."""
    v, hist = V0.copy(), []
    for steps in episodes:
        for t, (s, r, s2, done) in enumerate(steps):
            delta = r + (0.0 if done else gamma * v[s2]) - v[s]
            for k in range(t + 1):
                v[steps[k][0]] += alpha * delta * (lam * gamma) ** (t - k)
        hist.append(v.copy())
    return np.array(hist)


def _n_step_loop(episodes, alpha, gamma, n):
    v, hist = V0.copy(), []
    for steps in episodes:
        T = len(steps)
        for t in range(T):
            g = sum(gamma**i * steps[t + i][1] for i in range(min(n, T - t)))
            if t + n <= T - 1 or (t + n == T and not steps[-1][3]):
                g += gamma**n * v[steps[t + n - 1][2]]
            v[steps[t][0]] += alpha * (g - v[steps[t][0]])
        hist.append(v.copy())
    return np.array(hist)


def test_td0_equals_the_numpy_loop():
    ep = _episodes()
    got = td.td0_values(ep, n_states=7, alpha=0.1, gamma=0.9, v0=V0)
    np.testing.assert_allclose(got, _td0_loop(_steps(ep), 0.1, 0.9), atol=1e-6)


@pytest.mark.parametrize("first_visit", [False, True])
def test_monte_carlo_equals_the_numpy_loop(first_visit):
    ep = _episodes()
    got = td.mc_values(ep, n_states=7, alpha=0.1, gamma=0.9, v0=V0, first_visit=first_visit)
    np.testing.assert_allclose(got, _mc_loop(_steps(ep), 0.1, 0.9, first_visit), atol=1e-6)


def test_td_lambda_traces_equal_the_explicit_sum_of_eq_9_18():
    ep = _episodes()
    for lam in (0.0, 0.6, 1.0):
        got = td.td_lambda_values(ep, n_states=7, alpha=0.1, lam=lam, gamma=0.9, v0=V0)
        np.testing.assert_allclose(got, _td_lambda_explicit(_steps(ep), 0.1, 0.9, lam), atol=1e-5)
    # lambda = 0 is TD(0)
    np.testing.assert_allclose(
        td.td_lambda_values(ep, n_states=7, alpha=0.1, lam=0.0, gamma=0.9, v0=V0),
        td.td0_values(ep, n_states=7, alpha=0.1, gamma=0.9, v0=V0),
        atol=1e-6,
    )


def test_offline_td_one_is_monte_carlo_with_summed_increments():
    ep = _episodes(n=1)
    (steps,) = _steps(ep)
    G = _returns(steps, 0.9)
    want = V0.copy()
    for (s, _, _, _), g in zip(steps, G, strict=True):
        want[s] += 0.1 * (g - V0[s])  # every increment uses the table before the episode
    got = td.td_lambda_values(ep, n_states=7, alpha=0.1, lam=1.0, gamma=0.9, v0=V0, offline=True)
    np.testing.assert_allclose(got[0], want, atol=1e-6)


def test_n_step_td_equals_the_loop_and_its_two_limits():
    ep = _episodes()
    for n in (2, 3):
        got = td.n_step_td_values(ep, n_states=7, n=n, alpha=0.1, gamma=0.9, v0=V0)
        np.testing.assert_allclose(got, _n_step_loop(_steps(ep), 0.1, 0.9, n), atol=1e-5)
    one = td.n_step_td_values(ep, n_states=7, n=1, alpha=0.1, gamma=0.9, v0=V0)
    np.testing.assert_allclose(one, td.td0_values(ep, n_states=7, alpha=0.1, gamma=0.9, v0=V0),
                               atol=1e-6)  # fmt: skip
    inf = td.n_step_td_values(ep, n_states=7, n=10**6, alpha=0.1, gamma=0.9, v0=V0)
    np.testing.assert_allclose(inf, td.mc_values(ep, n_states=7, alpha=0.1, gamma=0.9, v0=V0),
                               atol=1e-6)  # fmt: skip


def test_n_step_return_limits_on_a_fixed_episode():
    r = np.array([0.0, -1.0, 2.0, 0.5])
    nv = np.array([0.3, -0.2, 0.7, 0.0])
    d = np.array([False, False, False, True])
    one = td.n_step_return(r, nv, d, n=1, gamma=0.8)
    np.testing.assert_allclose(one, r + 0.8 * nv * ~d, atol=1e-6)
    np.testing.assert_allclose(td.n_step_return(r, nv, d, n=4, gamma=0.8),
                               mdp.discounted_return(r, gamma=0.8), atol=1e-6)  # fmt: skip
    two = td.n_step_return(r, nv, d, n=2, gamma=0.8)
    assert float(two[0]) == pytest.approx(0.0 + 0.8 * -1.0 + 0.64 * 0.7 * 0 + 0.64 * nv[1])


# ------------------------------------------------------------------------------ semi-gradients


def test_td0_and_q_learning_updates_are_semi_gradient_steps_in_float64():
    """Eq 9.8 with a table: the update is -alpha/2 times the gradient of the squared TD error
    with the target held constant (stop_gradient), checked by jax.grad and central differences."""
    with jax.enable_x64(True):
        rng = np.random.default_rng(0)
        V = jnp.asarray(rng.normal(size=7))
        s, r, s2, gamma, alpha = 2, 0.3, 3, 0.9, 0.25

        def loss(v):
            target = jax.lax.stop_gradient(r + gamma * v[s2])
            return (target - v[s]) ** 2

        step = -alpha / 2 * jax.grad(loss)(V)
        delta = r + gamma * V[s2] - V[s]
        want = np.zeros(7)
        want[s] = alpha * delta
        np.testing.assert_allclose(step, want, atol=1e-14)
        # finite differences of the loss with the target frozen at its current value
        frozen = float(r + gamma * V[s2])
        h = 1e-6
        fd = np.zeros(7)
        for i in range(7):
            e = np.zeros(7)
            e[i] = h
            fd[i] = ((frozen - (V + e)[s]) ** 2 - (frozen - (V - e)[s]) ** 2) / (2 * h)
        np.testing.assert_allclose(-alpha / 2 * fd, want, atol=1e-9)

        Q = jnp.asarray(rng.normal(size=(5, 3)))
        a = 1

        def q_loss(q):
            target = jax.lax.stop_gradient(r + gamma * jnp.max(q[s2]))
            return (target - q[s, a]) ** 2

        new = Q - alpha / 2 * jax.grad(q_loss)(Q)
        eq_9_11 = (1 - alpha) * Q[s, a] + alpha * (r + gamma * jnp.max(Q[s2]))
        assert float(new[s, a]) == pytest.approx(float(eq_9_11), abs=1e-14)
        assert float(jnp.abs(new - Q).sum() - jnp.abs(new[s, a] - Q[s, a])) == 0.0


# ------------------------------------------------------------------------------ convergence


def test_td0_on_the_random_walk_converges_to_one_sixth_to_five_sixths():
    ep = mdp.sample_episodes(WALK, np.ones((7, 1)), key=jax.random.key(7), n_episodes=3000,
                             max_steps=100)  # fmt: skip
    v = td.td0_values(ep, n_states=7, alpha=0.01, v0=V0)[-1]
    assert float(td.rms_error(v, TRUE, np.arange(1, 6))) < 0.03


def test_q_learning_on_the_chain_converges_to_powers_of_gamma():
    chain = mdp.chain(5)
    run = td.td_control(chain, key=KEY, n_episodes=300, alpha=0.5, gamma=0.9, eps=1.0,
                        max_steps=200)  # fmt: skip
    np.testing.assert_allclose(run.Q, mdp.chain_q_star(5, 0.9), atol=1e-4)


def test_sarsa_with_eps_zero_is_q_learning_and_runs_are_deterministic():
    cw = mdp.cliff_walk()
    kw = dict(key=jax.random.split(KEY, 3), n_episodes=60, alpha=0.5, eps=0.0, max_steps=200)
    q = td.td_control(cw, method="q_learning", **kw)
    s = td.td_control(cw, method="sarsa", **kw)
    for a, b in zip(q, s, strict=True):
        np.testing.assert_array_equal(a, b)
    again = td.td_control(cw, method="q_learning", **kw)
    np.testing.assert_array_equal(q.Q, again.Q)
    pair = td.compare_control(cw, keys=kw["key"], n_episodes=60, alpha=0.5, eps=0.0,
                              max_steps=200)  # fmt: skip
    np.testing.assert_array_equal(pair.Q[0], q.Q)
    np.testing.assert_array_equal(pair.Q[1], q.Q)
    assert q.Q.shape == (3, 48, 4) and q.returns.shape == (3, 60) and q.visits.shape == (3, 48, 4)
    assert int(q.visits.sum()) == int(q.lengths.sum())


def test_cliff_q_learning_finds_the_edge_and_moving_controls_never_recompiles():
    cw = mdp.cliff_walk()
    keys = jax.random.split(jax.random.key(3), 4)
    run = td.compare_control(cw, keys=keys, n_episodes=150, alpha=0.5, eps=0.1, max_steps=300)
    before = td.control_cache_size()
    for kw in (dict(alpha=0.3), dict(eps=0.2), dict(gamma=0.9), dict(q0=-1.0)):
        td.compare_control(cw, keys=keys, n_episodes=150, max_steps=300, **kw)
    assert td.control_cache_size() == before
    Qs = mdp.value_iteration(cw, gamma=1.0)
    for i in range(4):
        acts = td.greedy_actions(run.Q[0, i], run.visits[0, i])
        states, total, ended = mdp.deterministic_path(cw, acts)
        assert ended and total == -13.0
        assert mdp.optimal_actions(Qs)[states[:-1], acts[states[:-1]]].all()


# ------------------------------------------------------------------------------ bad input


def test_bad_inputs_raise_clear_errors():
    ep = _episodes()
    with pytest.raises(ValueError, match="alpha"):
        td.td0_values(ep, n_states=7, alpha=1.5)
    with pytest.raises(ValueError, match="lam"):
        td.td_lambda_values(ep, n_states=7, alpha=0.1, lam=-0.1)
    with pytest.raises(ValueError, match="episodes.states"):
        td.td0_values(ep, n_states=3, alpha=0.1)
    with pytest.raises(TypeError, match="mdp.Episodes"):
        td.mc_values(np.zeros((2, 3)), n_states=7, alpha=0.1)
    with pytest.raises(ValueError, match="v0"):
        td.td0_values(ep, n_states=7, alpha=0.1, v0=np.zeros(3))
    with pytest.raises(TypeError, match="n"):
        td.n_step_td_values(ep, n_states=7, n=1.5, alpha=0.1)
    with pytest.raises(ValueError, match="method"):
        td.td_control(mdp.chain(4), key=KEY, method="expected_sarsa", n_episodes=2)
    with pytest.raises(ValueError, match="eps"):
        td.td_control(mdp.chain(4), key=KEY, n_episodes=2, eps=2.0)
    with pytest.raises(TypeError, match="key"):
        td.td_control(mdp.chain(4), key=0, n_episodes=2)
    with pytest.raises(ValueError, match="keys"):
        td.compare_control(mdp.chain(4), keys=KEY, n_episodes=2)
