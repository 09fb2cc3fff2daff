"""course_lib.checks.dqn: each check says "not implemented" for the stub, passes a right answer
written here independently of the solutions notebook (NumPy and Python loops where the notebook
uses jnp, or the library), and fails at least two plausible wrong answers with a hint."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import cartpole, checks, dqn
from course_lib.checks import CheckFailed


def _stub(*args):
    raise NotImplementedError("Exercise: replace this with your code")


ALL = [
    checks.td_target,
    checks.dqn_loss,
    checks.replay_insert,
    checks.epsilon_greedy_action,
    checks.polyak_update,
    checks.cartpole_step,
]


@pytest.mark.parametrize("check", ALL)
def test_every_check_says_not_implemented_for_the_stub(check):
    with pytest.raises(CheckFailed, match="not implemented yet"):
        check(_stub)


def _passes(check, fn, capsys):
    check(fn)
    assert "✔" in capsys.readouterr().out


# ------------------------------------------------------------------------------ td_target


def _target_loop(r, q_next, terminal, gamma):
    out = []
    for i in range(len(r)):
        future = 0.0 if bool(terminal[i]) else max(float(v) for v in q_next[i])
        out.append(float(r[i]) + gamma * future)
    return np.array(out)


def test_td_target(capsys):
    _passes(checks.td_target, _target_loop, capsys)
    with pytest.raises(CheckFailed, match="terminal step has no future"):
        checks.td_target(lambda r, q, t, g: r + g * q.max(1))
    with pytest.raises(CheckFailed, match="max, not the mean"):
        checks.td_target(lambda r, q, t, g: r + g * jnp.where(t, 0.0, q.mean(1)))
    with pytest.raises(CheckFailed, match="shape"):
        checks.td_target(lambda r, q, t, g: g * q.max(0))  # max over the transitions
    with pytest.raises(CheckFailed, match="not over all"):
        checks.td_target(lambda r, q, t, g: r + g * jnp.where(t, 0.0, q.max()))


# ------------------------------------------------------------------------------ dqn_loss


def _loss_right(params, target_params, batch, gamma):
    y = dqn.td_target(target_params, batch.reward, batch.next_obs, batch.terminal, gamma)
    q = dqn.q_values(params, batch.obs)
    q_taken = q[jnp.arange(q.shape[0]), batch.action]
    return jnp.mean((y - q_taken) ** 2)


def _loss_through_target(params, target_params, batch, gamma):
    best = dqn.q_values(target_params, batch.next_obs).max(1)  # no stop_gradient
    y = batch.reward + gamma * jnp.where(batch.terminal, 0.0, best)
    q = dqn.q_values(params, batch.obs)
    return jnp.mean((y - q[jnp.arange(q.shape[0]), batch.action]) ** 2)


def _loss_bootstraps_terminal(params, target_params, batch, gamma):
    y = jax.lax.stop_gradient(
        batch.reward + gamma * dqn.q_values(target_params, batch.next_obs).max(1)
    )
    q = dqn.q_values(params, batch.obs)
    return jnp.mean((y - q[jnp.arange(q.shape[0]), batch.action]) ** 2)


def _loss_all_actions(params, target_params, batch, gamma):
    y = dqn.td_target(target_params, batch.reward, batch.next_obs, batch.terminal, gamma)
    return jnp.mean((y[:, None] - dqn.q_values(params, batch.obs)) ** 2)


def test_dqn_loss(capsys):
    _passes(checks.dqn_loss, _loss_right, capsys)
    _passes(checks.dqn_loss, dqn.td_loss, capsys)
    with pytest.raises(CheckFailed, match="stop_gradient"):
        checks.dqn_loss(_loss_through_target)
    with pytest.raises(CheckFailed, match="terminal step"):
        checks.dqn_loss(_loss_bootstraps_terminal)
    with pytest.raises(CheckFailed, match="action taken"):
        checks.dqn_loss(_loss_all_actions)


# ------------------------------------------------------------------------------ replay_insert


def _insert_right(buffer, obs, action, reward, next_obs, terminal):
    i = int(buffer.ptr)
    n = buffer.reward.shape[0]
    return dqn.ReplayBuffer(
        buffer.obs.at[i].set(obs), buffer.action.at[i].set(action),
        buffer.reward.at[i].set(reward), buffer.next_obs.at[i].set(next_obs),
        buffer.terminal.at[i].set(terminal), jnp.int32((i + 1) % n),
        jnp.int32(min(int(buffer.size) + 1, n)),
    )  # fmt: skip


def _insert_no_wrap(buffer, *transition):
    out = _insert_right(buffer, *transition)
    return out._replace(ptr=buffer.ptr + 1)


def _insert_lifo(buffer, *transition):
    # when full, keep overwriting the newest slot: a stack, not a queue
    n = buffer.reward.shape[0]
    out = _insert_right(buffer, *transition)
    return out._replace(ptr=jnp.minimum(buffer.ptr + 1, n - 1))


def _insert_size_grows(buffer, *transition):
    return _insert_right(buffer, *transition)._replace(size=buffer.size + 1)


def test_replay_insert(capsys):
    _passes(checks.replay_insert, _insert_right, capsys)
    _passes(checks.replay_insert, dqn.replay_insert, capsys)
    with pytest.raises(CheckFailed, match="wrap around"):
        checks.replay_insert(_insert_no_wrap)
    with pytest.raises(CheckFailed, match="ptr"):
        checks.replay_insert(_insert_lifo)
    with pytest.raises(CheckFailed, match="stops at the capacity"):
        checks.replay_insert(_insert_size_grows)


def test_replay_insert_lifo_contents_are_named():
    # a stack that writes slot n-1 again once full, with the right pointer shown to the check
    def lifo_contents(buffer, obs, action, reward, next_obs, terminal):
        out = _insert_right(buffer, obs, action, reward, next_obs, terminal)
        if int(buffer.size) == buffer.reward.shape[0]:
            j = (int(buffer.ptr) - 1) % buffer.reward.shape[0]  # the newest slot
            out = _insert_right(buffer._replace(ptr=jnp.int32(j)), obs, action, reward,
                                next_obs, terminal)._replace(ptr=out.ptr)  # fmt: skip
        return out

    with pytest.raises(CheckFailed, match="OLDEST"):
        checks.replay_insert(lifo_contents)


# ------------------------------------------------------------------------------ epsilon-greedy


def _eps_right(q, key, epsilon):
    k_explore, k_action = jax.random.split(key)
    if jax.random.uniform(k_explore) < epsilon:
        return jax.random.randint(k_action, (), 0, len(q))
    return int(np.argmax(np.asarray(q)))


def test_epsilon_greedy_action(capsys):
    _passes(checks.epsilon_greedy_action, _eps_right, capsys)
    with pytest.raises(CheckFailed, match="BELOW epsilon"):
        checks.epsilon_greedy_action(
            lambda q, k, e: jnp.where(
                jax.random.uniform(jax.random.split(k)[0]) > e,
                jax.random.randint(jax.random.split(k)[1], (), 0, len(q)),
                jnp.argmax(q),
            )
        )
    with pytest.raises(CheckFailed, match="argmax"):
        checks.epsilon_greedy_action(lambda q, k, e: jnp.argmin(q))
    with pytest.raises(CheckFailed, match="never explores"):
        checks.epsilon_greedy_action(lambda q, k, e: jnp.argmax(q))


# ------------------------------------------------------------------------------ Polyak


def test_polyak_update(capsys):
    def right(params, target, tau):
        return tuple(
            type(p)(
                *(
                    tau * np.asarray(a) + (1 - tau) * np.asarray(b)
                    for a, b in zip(p, t, strict=True)
                )
            )
            for p, t in zip(params, target, strict=True)
        )

    _passes(checks.polyak_update, right, capsys)
    _passes(checks.polyak_update, dqn.polyak_update, capsys)
    with pytest.raises(CheckFailed, match="ONLINE"):
        checks.polyak_update(
            lambda p, t, tau: jax.tree.map(lambda a, b: tau * b + (1 - tau) * a, p, t)
        )
    with pytest.raises(CheckFailed, match="copies the online"):
        checks.polyak_update(lambda p, t, tau: p)
    with pytest.raises(CheckFailed, match="shaped like params"):
        checks.polyak_update(lambda p, t, tau: 0.5)


# ------------------------------------------------------------------------------ CartPole


def _step_math(s, action):
    x, x_dot, th, th_dot = (float(v) for v in s)
    f = 10.0 if int(action) == 1 else -10.0
    tmp = (f + 0.05 * th_dot**2 * math.sin(th)) / 1.1
    th_acc = (9.8 * math.sin(th) - math.cos(th) * tmp) / (
        0.5 * (4 / 3 - 0.1 * math.cos(th) ** 2 / 1.1)
    )
    x_acc = tmp - 0.05 * th_acc * math.cos(th) / 1.1
    return [x + 0.02 * x_dot, x_dot + 0.02 * x_acc, th + 0.02 * th_dot, th_dot + 0.02 * th_acc]


def _semi_implicit(s, action):
    nxt = _step_math(s, action)
    return [float(s[0]) + 0.02 * nxt[1], nxt[1], float(s[2]) + 0.02 * nxt[3], nxt[3]]


def test_cartpole_step(capsys):
    _passes(checks.cartpole_step, _step_math, capsys)
    _passes(checks.cartpole_step, cartpole.dynamics, capsys)
    with pytest.raises(CheckFailed, match="semi-implicit"):
        checks.cartpole_step(_semi_implicit)
    with pytest.raises(CheckFailed, match="pushes to the right"):
        checks.cartpole_step(lambda s, a: _step_math(s, 1 - int(a)))
    with pytest.raises(CheckFailed, match="shape"):
        checks.cartpole_step(lambda s, a: _step_math(s, a)[:2])
