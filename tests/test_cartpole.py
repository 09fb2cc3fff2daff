"""course_lib.cartpole against its definition: an independent NumPy transcription of Gym's
CartPole-v1 equations of motion (Barto, Sutton & Anderson 1983), the termination thresholds,
truncation at 500 steps, the auto-reset, determinism, vmap over thousands of environments and
the errors on bad input."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import cartpole


def numpy_cartpole_step(s, action):
    """Gym's CartPole-v1 physics, written out in plain Python floats (explicit Euler)."""
    x, x_dot, theta, theta_dot = (float(v) for v in s)
    g, m_cart, m_pole, half, f_mag, tau = 9.8, 1.0, 0.1, 0.5, 10.0, 0.02
    total = m_cart + m_pole
    force = f_mag if action == 1 else -f_mag
    c, si = math.cos(theta), math.sin(theta)
    temp = (force + m_pole * half * theta_dot * theta_dot * si) / total
    theta_acc = (g * si - c * temp) / (half * (4.0 / 3.0 - m_pole * c * c / total))
    x_acc = temp - m_pole * half * theta_acc * c / total
    new = [
        x + tau * x_dot,
        x_dot + tau * x_acc,
        theta + tau * theta_dot,
        theta_dot + tau * theta_acc,
    ]
    done = abs(new[0]) > 2.4 or abs(new[2]) > 12 * 2 * math.pi / 360
    return np.array(new), done


def test_constants():
    assert cartpole.OBS_DIM == 4 and cartpole.N_ACTIONS == 2 and cartpole.MAX_STEPS == 500
    assert cartpole.THETA_THRESHOLD == pytest.approx(math.radians(12))


def test_a_trajectory_equals_the_numpy_transcription_in_float64():
    rng = np.random.default_rng(0)
    if True:  # the tests run in float64 (tests/conftest.py)
        state, obs = cartpole.reset(jax.random.key(1))
        assert obs.dtype == jnp.float64
        s = np.asarray(obs)
        step = jax.jit(cartpole.step)
        for t in range(60):
            a = int(rng.integers(2))
            state, obs, reward, done = step(state, jnp.int32(a))
            s, np_done = numpy_cartpole_step(s, a)
            np.testing.assert_allclose(np.asarray(obs), s, rtol=1e-12, atol=1e-14)
            assert float(reward) == 1.0 and bool(done) == np_done and int(state.t) == t + 1
            if np_done:
                break
        # the dynamics alone, from states far from rest
        for _ in range(20):
            s0 = rng.uniform(-1, 1, 4) * np.array([2.0, 3.0, 0.2, 3.0])
            a = int(rng.integers(2))
            got = np.asarray(cartpole.dynamics(jnp.asarray(s0), a))
            np.testing.assert_allclose(got, numpy_cartpole_step(s0, a)[0], rtol=1e-12, atol=1e-14)


def test_reset_is_uniform_in_the_small_box_and_deterministic():
    states, obs = jax.vmap(cartpole.reset)(jax.random.split(jax.random.key(0), 4000))
    o = np.asarray(obs)
    assert o.shape == (4000, 4) and np.all(np.abs(o) <= 0.05)
    assert np.all(np.abs(o.mean(0)) < 0.003) and np.allclose(
        o.std(0), 0.1 / math.sqrt(12), rtol=0.05
    )
    assert np.all(np.asarray(states.t) == 0)
    a, b = cartpole.reset(jax.random.key(5)), cartpole.reset(jax.random.key(5))
    np.testing.assert_array_equal(np.asarray(a[1]), np.asarray(b[1]))


def _state(physics, t=0):
    return cartpole.CartPoleState(jnp.asarray(physics, jnp.float32), jnp.int32(t))


@pytest.mark.parametrize(
    ("physics", "action", "ends"),
    [
        ([2.39, 1.0, 0.0, 0.0], 1, True),  # x' = 2.41 > 2.4
        ([2.39, 0.0, 0.0, 0.0], 1, False),  # x' = 2.39: still on the track
        ([-2.39, -1.0, 0.0, 0.0], 0, True),
        ([0.0, 0.0, 0.205, 0.5], 1, True),  # theta' = 0.215 > 12 degrees (0.2094)
        ([0.0, 0.0, 0.2, 0.2], 1, False),  # theta' = 0.204 < 0.2094
        ([0.0, 0.0, -0.205, -0.5], 0, True),
    ],
)
def test_termination_thresholds(physics, action, ends):
    _, obs, _, done = cartpole.step(_state(physics), action)
    assert bool(done) == ends == bool(cartpole.terminated(obs))
    assert bool(numpy_cartpole_step(physics, action)[1]) == ends


def test_truncation_at_500_steps_is_done_but_not_terminated():
    _, obs, reward, done = cartpole.step(_state([0.0, 0.0, 0.0, 0.0], t=499), 1)
    assert bool(done) and not bool(cartpole.terminated(obs)) and float(reward) == 1.0
    _, _, _, done = cartpole.step(_state([0.0, 0.0, 0.0, 0.0], t=498), 1)
    assert not bool(done)


def test_auto_reset_starts_a_fresh_episode_and_keeps_the_real_next_obs():
    key = jax.random.key(3)
    out = cartpole.step_auto_reset(_state([2.39, 1.0, 0.0, 0.0], t=17), 1, key=key)
    _, fresh = cartpole.reset(key)
    assert bool(out.done) and bool(out.terminated)
    np.testing.assert_allclose(np.asarray(out.obs), np.asarray(fresh))
    assert int(out.state.t) == 0 and float(out.next_obs[0]) > 2.4
    out = cartpole.step_auto_reset(_state([0.0, 0.0, 0.0, 0.0], t=17), 1, key=key)
    assert not bool(out.done) and int(out.state.t) == 18
    np.testing.assert_array_equal(np.asarray(out.obs), np.asarray(out.next_obs))


def test_random_policy_vmapped_over_thousands_of_environments():
    lengths = np.asarray(cartpole.random_episode_lengths(key=jax.random.key(0), n_envs=4096))
    assert lengths.shape == (4096,) and lengths.min() >= 8 and lengths.max() <= 500
    # the random policy's mean episode length is about 22 steps (standard error ~0.2)
    assert 20.5 < lengths.mean() < 24.0
    again = cartpole.random_episode_lengths(key=jax.random.key(0), n_envs=4096)
    np.testing.assert_array_equal(lengths, np.asarray(again))


def test_step_works_under_vmap_and_jit():
    states, _ = jax.vmap(cartpole.reset)(jax.random.split(jax.random.key(2), 8))
    actions = jnp.array([0, 1] * 4, jnp.int32)
    new, obs, reward, done = jax.jit(jax.vmap(cartpole.step))(states, actions)
    assert obs.shape == (8, 4) and reward.shape == (8,) and done.shape == (8,)
    for i in range(8):
        single = cartpole.step(jax.tree.map(lambda a, i=i: a[i], states), int(actions[i]))
        np.testing.assert_allclose(np.asarray(single[1]), np.asarray(obs[i]), rtol=1e-6)


def test_bad_inputs_are_refused_with_clear_errors():
    state, _ = cartpole.reset(jax.random.key(0))
    with pytest.raises(ValueError, match="action"):
        cartpole.step(state, 2)
    with pytest.raises(TypeError, match="action"):
        cartpole.step(state, 0.5)
    with pytest.raises(TypeError, match="state"):
        cartpole.step((state.physics, state.t), 1)
    with pytest.raises(ValueError, match="physics"):
        cartpole.step(cartpole.CartPoleState(jnp.zeros((3, 4)), jnp.int32(0)), 1)
    with pytest.raises(ValueError, match="NaN"):
        cartpole.step(cartpole.CartPoleState(jnp.full(4, jnp.nan), jnp.int32(0)), 1)
    with pytest.raises(TypeError, match="key"):
        cartpole.reset(None)
    with pytest.raises(ValueError, match="n_envs"):
        cartpole.random_episode_lengths(key=jax.random.key(0), n_envs=0)
    with pytest.raises(ValueError, match="obs"):
        cartpole.terminated(jnp.zeros(3))
    # a bool action is read as 0/1
    assert np.allclose(cartpole.step(state, True)[1], cartpole.step(state, 1)[1])
