"""course_lib.mdp: finite MDPs as arrays, returns, exact Bellman solutions, the three worlds,
the episode sampler. Oracles: NumPy loops (iterative policy evaluation, value iteration,
returns) and closed forms (1/6..5/6, powers of gamma, the 13-step cliff path)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import mdp

KEY = jax.random.key(0)
WALK = mdp.random_walk()
ONE_ACTION = np.ones((7, 1))


def _random_mdp(seed, S=5, A=3):
    rng = np.random.default_rng(seed)
    P = rng.uniform(size=(S, A, S)) ** 3
    P /= P.sum(-1, keepdims=True)
    R = rng.normal(size=(S, A, S))
    terminal = np.zeros(S, bool)
    terminal[-1] = True
    P[-1] = 0.0
    P[-1, :, -1] = 1.0
    start = np.full(S, 1.0 / S)
    return mdp.MDP(jnp.asarray(P), jnp.asarray(R), jnp.asarray(terminal), jnp.asarray(start)), P, R


# ------------------------------------------------------------------------------ returns


def test_discounted_return_equals_a_python_loop_and_gamma_zero_is_myopic():
    r = np.array([1.0, 0.0, -2.0, 3.0, 0.5])
    for gamma in (0.0, 0.5, 0.9, 1.0):
        want, g = [], 0.0
        for x in r[::-1]:
            g = x + gamma * g
            want.append(g)
        np.testing.assert_allclose(mdp.discounted_return(r, gamma=gamma), want[::-1], rtol=1e-6)
    np.testing.assert_allclose(mdp.discounted_return(r, gamma=0.0), r)
    batch = mdp.discounted_return(np.stack([r, 2 * r]), gamma=0.9)
    assert batch.shape == (2, 5)
    np.testing.assert_allclose(batch[1], 2 * batch[0], rtol=1e-6)


# ------------------------------------------------------------------------------ exact values


def test_random_walk_values_are_one_sixth_to_five_sixths_in_float64():
    v = mdp.evaluate_policy(WALK, ONE_ACTION, gamma=1.0)
    assert v.dtype == np.float64
    np.testing.assert_allclose(v, [0, 1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6, 0], rtol=0, atol=1e-14)


def test_evaluate_policy_equals_iterative_policy_evaluation_in_numpy():
    m, P, R = _random_mdp(1)
    pi = np.random.default_rng(2).dirichlet(np.ones(3), size=5)
    gamma = 0.9
    V = np.zeros(5)
    for _ in range(2000):  # the Bellman expectation backup, iterated
        V = np.einsum("sa,sat,sat->s", pi, P, R + gamma * V[None, None, :])
        V[-1] = 0.0
    np.testing.assert_allclose(mdp.evaluate_policy(m, pi, gamma=gamma), V, rtol=1e-10, atol=1e-12)


def test_value_iteration_equals_a_numpy_loop_and_the_chain_closed_form():
    m, P, R = _random_mdp(3)
    Q = np.zeros((5, 3))
    for _ in range(3000):
        V = Q.max(1)
        V[-1] = 0.0
        Q = np.einsum("sat,sat->sa", P, R + 0.8 * V[None, None, :])
        Q[-1] = 0.0
    np.testing.assert_allclose(mdp.value_iteration(m, gamma=0.8), Q, rtol=1e-9, atol=1e-10)
    for gamma in (0.5, 0.9, 1.0):
        np.testing.assert_allclose(
            mdp.value_iteration(mdp.chain(6), gamma=gamma), mdp.chain_q_star(6, gamma), atol=1e-12
        )


def test_the_optimal_greedy_policy_is_at_least_as_good_as_any_other():
    m, _, _ = _random_mdp(4)
    Qs = mdp.value_iteration(m, gamma=0.9)
    best = mdp.evaluate_policy(m, mdp.greedy_policy(Qs), gamma=0.9)
    np.testing.assert_allclose(best, Qs.max(1), atol=1e-9)  # V^{greedy(Q*)} = V*
    pi = np.random.default_rng(5).dirichlet(np.ones(3), size=5)
    assert np.all(mdp.evaluate_policy(m, pi, gamma=0.9) <= best + 1e-9)


def test_cliff_walk_shortest_path_runs_along_the_edge_in_13_steps():
    cw = mdp.cliff_walk()
    Qs = mdp.value_iteration(cw, gamma=1.0)
    assert Qs.max(1)[36] == -13.0
    states, total, ended = mdp.deterministic_path(cw, Qs.argmax(1))
    assert ended and total == -13.0 and len(states) == 14
    cells = mdp.grid_cells(states)
    assert cells[0].tolist() == [3, 0] and cells[-1].tolist() == [3, 11]
    assert (cells[1:-1, 0] == 2).all()  # every cell in between is on the row above the cliff
    # one step right from the start falls: -100 and back to the start
    assert float(cw.R[36, 1, 36]) == -100.0 and float(cw.P[36, 1, 36]) == 1.0
    assert mdp.optimal_actions(Qs)[36].tolist() == [True, False, False, False]


# ------------------------------------------------------------------------------ sampling


def test_sample_episodes_shapes_determinism_and_consistency():
    e = mdp.sample_episodes(WALK, ONE_ACTION, key=KEY, n_episodes=400, max_steps=100)
    assert all(x.shape == (400, 100) for x in e)
    again = mdp.sample_episodes(WALK, ONE_ACTION, key=KEY, n_episodes=400, max_steps=100)
    for a, b in zip(e, again, strict=True):
        np.testing.assert_array_equal(a, b)
    valid, s, s2 = np.asarray(e.valid), np.asarray(e.states), np.asarray(e.next_states)
    assert (s[:, 0] == 3).all()  # every episode starts in the middle
    assert (np.diff(valid.astype(int), axis=1) <= 0).all()  # a prefix of real steps
    assert (s[:, 1:][valid[:, 1:]] == s2[:, :-1][valid[:, 1:]]).all()  # s_{t+1} continues
    assert (np.abs(s2 - s)[valid] == 1).all()
    assert (np.asarray(e.done).sum(1) == 1).all()  # every episode ended once, within 100
    right = np.asarray(e.rewards).sum(1)
    assert set(np.unique(right).tolist()) <= {0.0, 1.0}
    # P(leave right from C) = 1/2: 400 episodes, within 4 standard errors
    assert abs(right.mean() - 0.5) < 4 * 0.5 / np.sqrt(400)


# ------------------------------------------------------------------------------ bad input


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="gamma"):
        mdp.evaluate_policy(WALK, ONE_ACTION, gamma=1.5)
    with pytest.raises(ValueError, match="policy"):
        mdp.evaluate_policy(WALK, np.ones((7, 2)), gamma=0.9)
    with pytest.raises(ValueError, match="probability"):
        mdp.evaluate_policy(WALK, np.full((7, 1), 0.5), gamma=0.9)
    with pytest.raises(TypeError, match="mdp.MDP"):
        mdp.value_iteration("cliff", gamma=0.9)
    with pytest.raises(TypeError, match="key"):
        mdp.sample_episodes(WALK, ONE_ACTION, key=None, n_episodes=2, max_steps=3)
    with pytest.raises(TypeError, match="n_episodes"):
        mdp.sample_episodes(WALK, ONE_ACTION, key=KEY, n_episodes=2.5, max_steps=3)
    with pytest.raises(ValueError, match="time axis"):
        mdp.discounted_return(1.0, gamma=0.5)
    # a policy that never ends (always left in the chain) has no value at gamma = 1
    with pytest.raises(ValueError, match="singular"):
        mdp.evaluate_policy(mdp.chain(4), np.tile([1.0, 0.0], (4, 1)), gamma=1.0)
    with pytest.raises(ValueError, match="at least 2"):
        mdp.chain(1)
