"""course_lib.dqn: the TD loss and its gradient (Eq 9.7-9.8) against jax.grad and central
differences in float64, the terminal target, the FIFO replay buffer against a deque, sampling,
target-network updates, epsilon-greedy acting, the jitted training loop (shapes, determinism,
no recompile for new hyperparameters), the Atari CNN's shapes, and errors on bad input."""

from __future__ import annotations

import collections
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import cartpole, dqn


def _params(key=0, sizes=(4, 8, 8, 2)):
    return dqn.init_q_network(key=jax.random.key(key), sizes=sizes)


def _batch(n=6, seed=0, terminal=None):
    rng = np.random.default_rng(seed)
    term = rng.random(n) < 0.3 if terminal is None else np.asarray(terminal)
    return dqn.Batch(
        jnp.asarray(rng.normal(size=(n, 4))),
        jnp.asarray(rng.integers(0, 2, n), jnp.int32),
        jnp.asarray(rng.normal(size=n)),
        jnp.asarray(rng.normal(size=(n, 4))),
        jnp.asarray(term),
    )


def _forward_numpy(params, x):
    h = np.asarray(x, np.float64)
    for k, layer in enumerate(params):
        h = h @ np.asarray(layer.W) + np.asarray(layer.b)
        if k < len(params) - 1:
            h = np.maximum(h, 0.0)
    return h


def test_q_values_shapes_and_a_numpy_forward_pass():
    params = _params()
    x = np.random.default_rng(1).normal(size=(5, 4))
    q = dqn.q_values(params, x)
    assert q.shape == (5, 2) and dqn.q_values(params, x[0]).shape == (2,)
    np.testing.assert_allclose(np.asarray(q), _forward_numpy(params, x), rtol=1e-12)
    np.testing.assert_array_equal(np.asarray(dqn.greedy_action(params, x)), q.argmax(1))


def test_td_target_bootstraps_only_from_non_terminal_steps():
    params = _params(1)
    batch = _batch(terminal=[True, False, True, False, False, True])
    y = np.asarray(dqn.td_target(params, batch.reward, batch.next_obs, batch.terminal, 0.9))
    best = _forward_numpy(params, batch.next_obs).max(1)
    term = np.asarray(batch.terminal)
    np.testing.assert_allclose(y[term], np.asarray(batch.reward)[term], rtol=1e-12)
    expected = np.asarray(batch.reward) + 0.9 * best
    np.testing.assert_allclose(y[~term], expected[~term], rtol=1e-12)


def _flat_grad(tree):
    return np.concatenate([np.ravel(np.asarray(g)) for g in jax.tree.leaves(tree)])


def test_td_loss_gradient_is_minus_two_delta_dF_dW():
    """Eq 9.8: with the target held constant, grad L_t = -2 delta_t dF(X_t, W, a_t)/dW, even
    when the target is computed from the same weights (no target network)."""
    params = _params(2)
    batch = _batch(n=5, seed=3)
    gamma = 0.95
    grad = jax.grad(dqn.td_loss)(params, params, batch, gamma)
    delta = np.asarray(dqn.td_errors(params, params, batch, gamma))
    expected = 0.0
    for t in range(5):
        dF = jax.grad(lambda p, t=t: dqn.q_values(p, batch.obs[t])[batch.action[t]])(params)
        expected = expected - 2.0 * delta[t] * _flat_grad(dF) / 5
    np.testing.assert_allclose(_flat_grad(grad), expected, rtol=1e-9, atol=1e-12)

    # the semi-gradient is not the full gradient of the squared error through the target
    def full(p):
        q_next = dqn.q_values(p, batch.next_obs).max(1)
        y = batch.reward + gamma * jnp.where(batch.terminal, 0.0, q_next)
        q = jnp.take_along_axis(dqn.q_values(p, batch.obs), batch.action[:, None], 1)[:, 0]
        return jnp.mean((y - q) ** 2)

    assert np.max(np.abs(_flat_grad(jax.grad(full)(params)) - expected)) > 1e-3


def test_td_loss_gradient_against_central_differences(fd_gradient):
    params = _params(4, sizes=(4, 3, 2))
    target = _params(5, sizes=(4, 3, 2))
    batch = _batch(n=4, seed=6)
    W = np.asarray(params[0].W)

    def loss_of_W(w):
        p = (params[0]._replace(W=jnp.asarray(w)), params[1])
        return dqn.td_loss(p, target, batch, 0.9)

    got = np.asarray(jax.grad(dqn.td_loss)(params, target, batch, 0.9)[0].W)
    np.testing.assert_allclose(got, fd_gradient(loss_of_W, W), rtol=1e-6, atol=1e-9)


def test_only_the_taken_action_enters_the_loss():
    params = _params(6)
    batch = _batch(n=4, seed=7)
    q = _forward_numpy(params, batch.obs)
    y = np.asarray(dqn.td_target(params, batch.reward, batch.next_obs, batch.terminal, 0.5))
    expected = np.mean((y - q[np.arange(4), np.asarray(batch.action)]) ** 2)
    assert float(dqn.td_loss(params, params, batch, 0.5)) == pytest.approx(expected, rel=1e-12)


def test_replay_buffer_is_fifo_like_a_deque():
    capacity = 5
    buf = dqn.replay_init(capacity)
    reference = collections.deque(maxlen=capacity)
    insert = jax.jit(dqn._replay_insert)
    for i in range(13):
        obs = jnp.full(4, float(i))
        buf = insert(
            buf, obs, jnp.int32(i % 2), jnp.asarray(float(i)), obs + 0.5, jnp.bool_(i % 3 == 0)
        )
        reference.append(i)
        assert int(buf.size) == len(reference)
        stored = sorted(np.asarray(buf.reward[: int(buf.size)]).astype(int).tolist())
        assert stored == sorted(reference)
        # the newest sits just before ptr
        assert float(buf.reward[(int(buf.ptr) - 1) % capacity]) == i
    first = dqn.replay_insert(dqn.replay_init(3), jnp.ones(4), 1, 2.0, jnp.ones(4), True)
    assert int(first.ptr) == 1 and int(first.size) == 1 and bool(first.terminal[0])


def test_replay_sample_draws_stored_transitions_and_recent_one_is_online():
    buf = dqn.replay_init(8)
    for i in range(5):
        buf = dqn.replay_insert(buf, jnp.full(4, float(i)), i % 2, float(i), jnp.zeros(4), False)
    batch = dqn.replay_sample(buf, key=jax.random.key(0), batch_size=200)
    rewards = np.asarray(batch.reward)
    assert set(rewards.tolist()) == {0.0, 1.0, 2.0, 3.0, 4.0}  # only filled slots
    np.testing.assert_array_equal(np.asarray(batch.obs)[:, 0], rewards)  # rows stay together
    last = dqn.replay_sample(buf, key=jax.random.key(1), batch_size=7, recent=1)
    assert np.all(np.asarray(last.reward) == 4.0)
    again = dqn.replay_sample(buf, key=jax.random.key(0), batch_size=200)
    np.testing.assert_array_equal(np.asarray(again.reward), rewards)
    with pytest.raises(ValueError, match="empty"):
        dqn.replay_sample(dqn.replay_init(4), key=jax.random.key(0), batch_size=2)


def test_target_updates():
    online, target = _params(7), _params(8)
    same = dqn.hard_target_update(online, target, 400, 200)
    kept = dqn.hard_target_update(online, target, 401, 200)
    np.testing.assert_array_equal(_flat_grad(same), _flat_grad(online))
    np.testing.assert_array_equal(_flat_grad(kept), _flat_grad(target))
    mixed = dqn.polyak_update(online, target, 0.1)
    np.testing.assert_allclose(
        _flat_grad(mixed), 0.1 * _flat_grad(online) + 0.9 * _flat_grad(target), rtol=1e-12
    )


def test_epsilon_greedy_acting():
    params = _params(9)
    obs = jnp.asarray([0.1, -0.2, 0.05, 0.3])
    greedy = int(dqn.greedy_action(params, obs))
    keys = jax.random.split(jax.random.key(0), 4000)
    act = jax.jit(jax.vmap(lambda k, e: dqn._epsilon_greedy(params, obs, k, e), (0, None)))
    assert np.all(np.asarray(act(keys, 0.0)) == greedy)
    frac = np.mean(np.asarray(act(keys, 1.0)) == greedy)
    assert abs(frac - 0.5) < 0.04  # uniform over 2 actions; sd 0.008
    frac = np.mean(np.asarray(act(keys, 0.2)) == greedy)
    assert abs(frac - 0.9) < 0.03  # 1 - eps + eps/2
    one = dqn.epsilon_greedy_action(params, obs, key=keys[0], epsilon=0.2)
    assert int(one) == int(act(keys[:1], 0.2)[0])
    assert float(dqn.linear_epsilon(2500, 1.0, 0.05, 5000)) == pytest.approx(0.525)
    assert float(dqn.linear_epsilon(9000, 1.0, 0.05, 5000)) == pytest.approx(0.05)


SMALL = dict(chunks=2, steps_per_chunk=100, batch_size=8, capacity=64, hidden=(8,), eval_episodes=2)


@functools.cache
def _small_run(seed=0, **over):
    h = dqn.hyper(2, learning_starts=20, epsilon_steps=100, **over)
    return dqn.train(key=jax.random.key(seed), hyperparameters=h, n_runs=2, **SMALL)


def test_train_shapes_determinism_and_no_recompile():
    run = _small_run()
    assert run.steps.tolist() == [100, 200]
    assert run.greedy_return.shape == (2, 2) and run.loss.shape == (2, 2)
    assert run.params[0].W.shape == (2, 2, 4, 8) and run.params[-1].W.shape == (2, 2, 8, 2)
    g = np.asarray(run.greedy_return)
    assert np.all((g >= 1) & (g <= 500)) and np.all(np.isfinite(np.asarray(run.loss)))
    assert int(run.final.step[0]) == 200 and int(run.final.buffer.size[0]) == 64
    size = dqn.train_cache_size()
    other = _small_run(0, target_period=(1, 50), replay_recent=(1, 64), learning_rate=3e-4)
    assert dqn.train_cache_size() == size  # new hyperparameters: no recompile
    assert not np.array_equal(np.asarray(other.loss), np.asarray(run.loss))
    again = dqn.train(key=jax.random.key(0), hyperparameters=dqn.hyper(2, learning_starts=20,
                      epsilon_steps=100), n_runs=2, **SMALL)  # fmt: skip
    np.testing.assert_array_equal(np.asarray(again.loss), np.asarray(run.loss))
    # the greedy evaluation is the library's greedy_returns on the stored network
    p = jax.tree.map(lambda a: a[1, 0], run.params)
    assert np.isfinite(float(dqn.greedy_returns(p, key=jax.random.key(0), n_episodes=3).mean()))


def test_atari_cnn_shapes():
    assert dqn.atari_shapes(4) == [(20, 20, 32), (9, 9, 64), (7, 7, 64), (3136,), (512,), (4,)]
    assert dqn.atari_shapes(18)[-1] == (18,)


def test_bad_inputs_are_refused_with_clear_errors():
    params = _params()
    with pytest.raises(ValueError, match="obs"):
        dqn.q_values(params, jnp.zeros((3, 5)))
    with pytest.raises(TypeError, match="params"):
        dqn.q_values({"W": 1}, jnp.zeros(4))
    with pytest.raises(ValueError, match="epsilon"):
        dqn.epsilon_greedy_action(params, jnp.zeros(4), key=jax.random.key(0), epsilon=1.5)
    with pytest.raises(TypeError, match="key"):
        dqn.epsilon_greedy_action(params, jnp.zeros(4), key=None, epsilon=0.1)
    with pytest.raises(ValueError, match="gamma"):
        dqn.td_loss(params, params, _batch(), 1.5)
    with pytest.raises(ValueError, match="capacity"):
        dqn.replay_init(0)
    with pytest.raises(ValueError, match="obs"):
        dqn.replay_insert(dqn.replay_init(3), jnp.zeros(3), 0, 1.0, jnp.zeros(3), False)
    with pytest.raises(ValueError, match="period"):
        dqn.hard_target_update(params, params, 3, 0)
    with pytest.raises(ValueError, match="tau"):
        dqn.polyak_update(params, params, 2.0)
    with pytest.raises(ValueError, match="unknown hyperparameter"):
        dqn.hyper(2, learning_rat=0.1)
    with pytest.raises(ValueError, match="target_period"):
        dqn.hyper(2, target_period=0)
    with pytest.raises(ValueError, match="n_runs"):
        dqn.hyper(3, gamma=[0.9, 0.99])
    with pytest.raises(ValueError, match="n_runs"):
        dqn.train(key=jax.random.key(0), hyperparameters=dqn.hyper(2), n_runs=3)
    with pytest.raises(ValueError, match="chunks"):
        dqn.train(key=jax.random.key(0), chunks=0)
    assert cartpole.N_ACTIONS == dqn.q_values(params, jnp.zeros(4)).shape[-1]
