r"""Self-checks for the exercises on deep Q-learning (Aggarwal §9.4.1–9.4.2).

Every check runs the student's function on fixed cases and compares with a reference written
out here in NumPy (the TD target, the squared TD error of the taken action and its
semi-gradient $-2\delta\,\partial F/\partial W$, a ring buffer driven by a Python list, the
Polyak average, Gym's CartPole equations) or with the same draws from the same key
($\varepsilon$-greedy). Common slips are recognized and answered with a targeted hint:
bootstrapping from a terminal step, the max over the wrong axis, a gradient through the
target, every action's output in the loss, a buffer that does not wrap around, a
semi-implicit Euler step.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from course_lib.checks import (
    CheckFailed,
    Exercise,
    _array,
    _call,
    _compare,
    _describe,
    _f,
    _passed,
    _scalar,
)


def _close(a: Any, b: Any, rtol: float = 1e-5, atol: float = 1e-6) -> bool:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol))


# ------------------------------------------------------------------------------ TD target

_EX_TARGET = Exercise("td_target", "")


def _target_cases():
    rng = np.random.default_rng(11)
    out = []
    for words, n, a, gamma, term in [
        ("4 transitions, 2 actions, gamma = 0.9, the 2nd terminal", 4, 2, 0.9, [0, 1, 0, 0]),
        ("5 transitions, 3 actions, gamma = 0.99, two terminal", 5, 3, 0.99, [1, 0, 0, 1, 0]),
        ("3 transitions, 4 actions, gamma = 0.5, none terminal", 3, 4, 0.5, [0, 0, 0]),
        ("3 transitions, 2 actions, gamma = 0 (myopic)", 3, 2, 0.0, [0, 1, 0]),
    ]:
        out.append((words, rng.normal(size=n), rng.normal(size=(n, a)) + 1.0,
                    np.asarray(term, bool), gamma))  # fmt: skip
    return out


def td_target(fn: Callable) -> None:
    r"""Check ``fn(reward, q_next, terminal, gamma)`` $= r + \gamma \max_a Q^-(s', a)$, and $r$
    where ``terminal``."""
    ex = _EX_TARGET
    cases = _target_cases()
    for words, r, q_next, term, gamma in cases:
        args = (_f(r), _f(q_next), jnp.asarray(term), gamma)
        got = _array(ex, words, "the targets", _call(ex, fn, args, words), r.shape,
                     hint="one target per transition: shape (B,).")  # fmt: skip
        expected = r + gamma * np.where(term, 0.0, q_next.max(axis=1))
        if _close(got, expected):
            continue
        if _close(got, r + gamma * q_next.max(axis=1)):
            hint = "a terminal step has no future: there the target is the reward alone."
        elif _close(got, r + gamma * np.where(term, 0.0, q_next.mean(axis=1))):
            hint = "Q-learning bootstraps from the *best* next action: the max, not the mean."
        elif _close(got, r + gamma * np.where(term, 0.0, q_next.max())):
            hint = "take the max over the actions (axis 1), once per transition, not over all."
        elif _close(got, r + np.where(term, 0.0, q_next.max(axis=1))):
            hint = "multiply the bootstrapped value by the discount gamma."
        elif _close(got, r + gamma * np.where(term, q_next.max(axis=1), 0.0)):
            hint = "the mask is the wrong way round: bootstrap where the step is NOT terminal."
        else:
            hint = "target = reward + gamma * max over actions of q_next, with 0 at terminal steps."
        _compare(ex, words, "the targets", got, expected, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ the loss

_EX_LOSS = Exercise("dqn_loss", "")


def _mlp_numpy(params, x):
    h = np.asarray(x, np.float64)
    for k, layer in enumerate(params):
        h = h @ np.asarray(layer.W, np.float64) + np.asarray(layer.b, np.float64)
        if k < len(params) - 1:
            h = np.maximum(h, 0.0)
    return h


_TRACE_ERRORS = (
    jax.errors.ConcretizationTypeError,
    jax.errors.TracerArrayConversionError,
    jax.errors.TracerIntegerConversionError,
    jax.errors.TracerBoolConversionError,
)


def _semi_gradient(params, batch, delta):
    r"""$-\tfrac2B\sum_t \delta_t\,\partial F(X_t, W, a_t)/\partial W$ for a one-hidden-layer
    ReLU network, by hand in NumPy: ``[dW1, db1, dW2, db2]``."""
    (W1, b1), (W2, b2) = ((np.asarray(a, np.float64) for a in layer) for layer in params)
    x = np.asarray(batch.obs, np.float64)
    a = np.asarray(batch.action)
    pre = x @ W1 + b1
    h = np.maximum(pre, 0.0)
    coef = -2.0 * np.asarray(delta, np.float64) / x.shape[0]  # (B,)
    onehot = np.eye(W2.shape[1])[a]  # (B, A)
    dW2 = h.T @ (coef[:, None] * onehot)
    db2 = coef @ onehot
    back = coef[:, None] * W2[:, a].T * (pre > 0)  # (B, hidden)
    return [x.T @ back, back.sum(0), dW2, db2]


def _student_loss(fn, shared, target, batch, gamma):
    """The student's loss as a function of the online weights only (the target too if shared)."""

    def loss(p):
        return fn(p, p if shared else target, batch, gamma)

    return loss


def dqn_loss(fn: Callable) -> None:
    r"""Check ``fn(params, target_params, batch, gamma)``: the mean over the batch of Eq 9.7,
    only the taken action's output, the target held constant (its value and its gradient)."""
    from course_lib import dqn  # imported late: checks load before the library is used

    ex = _EX_LOSS
    cases = []
    for seed, (words, n, shared) in enumerate([
        ("a batch of 6, a separate target network", 6, False),
        ("a batch of 5, target = the online network (no target network)", 5, True),
        ("a batch of 8, a separate target network", 8, False),
    ]):  # fmt: skip
        rng = np.random.default_rng(20 + seed)
        params = jax.tree.map(_f, dqn.init_q_network(key=jax.random.key(seed), sizes=(4, 6, 2)))
        target = (
            params
            if shared
            else jax.tree.map(
                _f, dqn.init_q_network(key=jax.random.key(50 + seed), sizes=(4, 6, 2))
            )
        )
        term = np.zeros(n, bool)
        term[::3] = True
        actions = jnp.asarray(rng.integers(0, 2, n), jnp.int32)
        batch = dqn.Batch(_f(rng.normal(size=(n, 4))), actions, _f(rng.normal(size=n) + 1.0),
                          _f(rng.normal(size=(n, 4))), jnp.asarray(term))  # fmt: skip
        cases.append((words, params, target, batch, 0.9))
    for words, params, target, batch, gamma in cases:
        q = _mlp_numpy(params, batch.obs)
        q_next = _mlp_numpy(target, batch.next_obs)
        r, a, term = (np.asarray(batch.reward, np.float64), np.asarray(batch.action),
                      np.asarray(batch.terminal))  # fmt: skip
        y = r + gamma * np.where(term, 0.0, q_next.max(1))
        q_a = q[np.arange(len(a)), a]
        expected = np.mean((y - q_a) ** 2)
        got = _scalar(ex, words, "the loss", _call(ex, fn, (params, target, batch, gamma), words))
        if not math.isclose(got, expected, rel_tol=1e-4, abs_tol=1e-6):
            y_boot = r + gamma * q_next.max(1)
            if math.isclose(got, np.mean((y_boot - q_a) ** 2), rel_tol=1e-4):
                hint = "no bootstrapping at a terminal step: the target there is the reward."
            elif math.isclose(got, np.mean((y[:, None] - q) ** 2), rel_tol=1e-4) or math.isclose(
                got, np.mean(np.sum((y[:, None] - q) ** 2, axis=1)), rel_tol=1e-4
            ):
                hint = "only the output of the action taken, Q(s_t, a_t), enters the loss."
            elif math.isclose(got, np.sum((y - q_a) ** 2), rel_tol=1e-4):
                hint = "average the squared errors over the batch (the mean, not the sum)."
            elif math.isclose(got, 0.5 * expected, rel_tol=1e-4):
                hint = "Eq 9.7 has no factor 1/2: the mean of the squared TD errors."
            else:
                hint = (
                    "target y = r + gamma * max_a Q_target(s', a) (r alone at terminal steps); "
                    "loss = mean of (y - Q(s, a_taken))^2."
                )
            _compare(ex, words, "the loss", np.float64(got), expected, rtol=1e-4, atol=1e-6,
                     hint=hint)  # fmt: skip
        # the gradient: -2/B sum_t delta_t dF(X_t, W, a_t)/dW, the target held constant
        loss_of_w = _student_loss(fn, target is params, target, batch, gamma)
        try:
            try:  # compiled: one trace instead of many small dispatches
                grads = jax.jit(jax.grad(loss_of_w))(params)
            except _TRACE_ERRORS:
                grads = jax.grad(loss_of_w)(params)
        except CheckFailed:
            raise
        except Exception as exc:
            raise CheckFailed(
                ex, f"jax.grad of your loss raised {type(exc).__name__}", case=words,
                details=[f"error: {str(exc).splitlines()[0][:200] if str(exc) else exc!r}"],
                hint="build the loss from jnp operations only, so that JAX can differentiate it.",
            ) from None  # fmt: skip
        got_g = np.concatenate(
            [np.ravel(np.asarray(g, np.float64)) for g in jax.tree.leaves(grads)]
        )
        exp_g = np.concatenate([np.ravel(g) for g in _semi_gradient(params, batch, y - q_a)])
        if not _close(got_g, exp_g, rtol=1e-3, atol=1e-5):
            hint = (
                "the value is right but the gradient is not: hold the target constant with "
                "jax.lax.stop_gradient, so that no gradient flows through max_a Q(s', a)."
            )
            raise CheckFailed(
                ex, "wrong gradient with respect to params", case=words,
                details=[f"largest difference {np.max(np.abs(got_g - exp_g)):.3g}"], hint=hint,
            )  # fmt: skip
    _passed(ex, 2 * len(cases))


# ------------------------------------------------------------------------------ replay buffer

_EX_REPLAY = Exercise("replay_insert", "")


def replay_insert(fn: Callable) -> None:
    r"""Check ``fn(buffer, obs, action, reward, next_obs, terminal)`` on a ring buffer of
    capacity 3: slot ``ptr`` is written, ``ptr`` moves on modulo 3, ``size`` stops at 3."""
    from course_lib import dqn

    ex = _EX_REPLAY
    capacity, n_inserts = 3, 7
    buffer = dqn.replay_init(capacity)
    slots: list[int | None] = [None] * capacity
    ptr, size = 0, 0
    for i in range(n_inserts):
        words = f"insert number {i + 1} into a buffer of capacity {capacity} (rewards 0, 1, 2, ...)"
        obs = _f(np.full(4, float(i)))
        out = _call(ex, fn, (buffer, obs, i % 2, _f(float(i)), obs + 0.5, i % 3 == 0), words)
        if not isinstance(out, dqn.ReplayBuffer):
            raise CheckFailed(
                ex, f"expected a ReplayBuffer, got {_describe(out)}", case=words,
                hint="return buffer._replace(...) or dqn.ReplayBuffer(...) with the new arrays.",
            )  # fmt: skip
        slots[ptr] = i
        ptr, size = (ptr + 1) % capacity, min(size + 1, capacity)
        expected_rewards = np.array([np.nan if s is None else s for s in slots], np.float64)
        got_rewards = _array(ex, words, "buffer.reward", out.reward, (capacity,))
        filled = ~np.isnan(expected_rewards)
        got_ptr = _scalar(ex, words, "buffer.ptr", out.ptr, integer=True)
        got_size = _scalar(ex, words, "buffer.size", out.size, integer=True)
        if got_ptr != ptr:
            hint = (
                "the pointer must wrap around: ptr = (ptr + 1) % capacity."
                if got_ptr >= capacity
                else "after writing slot ptr, the next slot is (ptr + 1) % capacity."
            )
            _compare(ex, words, "buffer.ptr", np.float64(got_ptr), ptr, hint=hint)
        if not np.allclose(got_rewards[filled], expected_rewards[filled]):
            if i >= capacity and float(i - capacity) in got_rewards.tolist():
                hint = (
                    "first in, first out: a full buffer overwrites the OLDEST transition "
                    "(slot ptr), so the oldest one must be gone."
                )
            else:
                hint = "write the new transition into slot buffer.ptr of every array."
            _compare(ex, words, "buffer.reward", np.where(filled, got_rewards, 0.0),
                     np.where(filled, expected_rewards, 0.0), hint=hint)  # fmt: skip
        if got_size != size:
            hint = "size counts the filled slots: it grows by one and stops at the capacity."
            _compare(ex, words, "buffer.size", np.float64(got_size), size, hint=hint)
        slot = (ptr - 1) % capacity
        for name, value, exp in [
            ("buffer.obs", out.obs, np.full(4, float(i))),
            ("buffer.next_obs", out.next_obs, np.full(4, i + 0.5)),
            ("buffer.action", out.action, i % 2),
            ("buffer.terminal", out.terminal, float(i % 3 == 0)),
        ]:
            arr = np.asarray(value, np.float64)
            if arr.shape[:1] != (capacity,) or not _close(arr[slot], exp):
                raise CheckFailed(
                    ex, f"wrong {name} in the slot just written", case=words,
                    details=[f"expected {name}[{slot}] = {exp}", f"got shape {arr.shape}"],
                    hint="store every part of the transition (obs, action, reward, next_obs, "
                    "terminal) in the same slot.",
                )  # fmt: skip
        buffer = out
    _passed(ex, n_inserts)


# ------------------------------------------------------------------------------ epsilon-greedy

_EX_EPS = Exercise("epsilon_greedy_action", "")


def _eps_reference(q, key, epsilon):
    k_explore, k_action = jax.random.split(key)
    if float(jax.random.uniform(k_explore)) < epsilon:
        return int(jax.random.randint(k_action, (), 0, q.shape[0]))
    return int(np.argmax(q))


def epsilon_greedy_action(fn: Callable) -> None:
    r"""Check ``fn(q, key, epsilon)``: with the draws of the statement, a random action with
    probability ``epsilon``, else ``argmax q``."""
    ex = _EX_EPS
    rng = np.random.default_rng(5)
    cases = []
    for i in range(24):
        n_actions = (2, 3, 4)[i % 3]
        epsilon = (0.0, 0.3, 0.7, 1.0)[i % 4]
        cases.append((rng.normal(size=n_actions), jax.random.key(300 + i), epsilon))
    results = []
    for q, key, epsilon in cases:
        words = f"q = {np.round(q, 2).tolist()}, epsilon = {epsilon}, key = jax.random.key(...)"
        got = _scalar(ex, words, "the action", _call(ex, fn, (_f(q), key, epsilon), words),
                      integer=True)  # fmt: skip
        results.append((words, q, key, epsilon, int(got), _eps_reference(q, key, epsilon)))
    wrong = [r for r in results if r[4] != r[5]]
    if wrong:
        words, q, key, epsilon, got, expected = wrong[0]
        k_explore, k_action = jax.random.split(key)
        u = float(jax.random.uniform(k_explore))
        random_action = int(jax.random.randint(k_action, (), 0, q.shape[0]))
        if all(r[4] == int(np.argmin(r[1])) for r in results):
            hint = "the greedy action has the LARGEST Q-value: argmax."
        elif all(r[4] == int(np.argmax(r[1])) for r in results):
            hint = (
                "it never explores: take a random action when the uniform draw is BELOW "
                "epsilon, so that epsilon = 1 always explores."
            )
        elif u >= epsilon and got == random_action:
            hint = (
                "explore (a random action) only when the uniform draw is BELOW epsilon; "
                "at or above it, act greedily: epsilon = 0 never explores."
            )
        elif u >= epsilon:
            hint = "with the uniform draw at or above epsilon, act greedily: argmax of q."
        elif got == int(np.argmax(q)):
            hint = (
                "explore (a random action) when the uniform draw is BELOW epsilon: "
                "then epsilon = 1 always explores and epsilon = 0 never does."
            )
        else:
            hint = (
                "split the key as the statement says, k_explore, k_action = jax.random.split(key), "
                "and draw the random action with jax.random.randint(k_action, (), 0, len(q))."
            )
        raise CheckFailed(
            ex, "wrong action", case=words,
            details=[f"expected action {expected}", f"got      action {got}",
                     f"(the uniform draw from k_explore is {u:.3f})"],
            hint=hint,
        )  # fmt: skip
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ Polyak

_EX_POLYAK = Exercise("polyak_update", "")


def polyak_update(fn: Callable) -> None:
    r"""Check ``fn(params, target_params, tau)`` $= \tau W + (1 - \tau) W^-$, leaf by leaf."""
    from course_lib import dqn

    ex = _EX_POLYAK
    cases = []
    for i, tau in enumerate((0.1, 0.005, 1.0, 0.5)):
        online = dqn.init_q_network(key=jax.random.key(70 + i), sizes=(4, 5, 2))
        target = dqn.init_q_network(key=jax.random.key(90 + i), sizes=(4, 5, 2))
        cases.append((f"a 4-5-2 network, tau = {tau}", jax.tree.map(_f, online),
                      jax.tree.map(_f, target), tau))  # fmt: skip
    for words, online, target, tau in cases:
        out = _call(ex, fn, (online, target, tau), words)
        leaves, ref = jax.tree.leaves(online), jax.tree.leaves(target)
        try:
            got_leaves = jax.tree.leaves(out)
            same = jax.tree.structure(out) == jax.tree.structure(online)
        except Exception:
            got_leaves, same = [], False
        if not same or len(got_leaves) != len(leaves):
            raise CheckFailed(
                ex, f"expected parameters shaped like params, got {_describe(out)}", case=words,
                hint="jax.tree.map(lambda w, t: ..., params, target_params) keeps the structure.",
            )  # fmt: skip
        got = np.concatenate([np.ravel(np.asarray(g, np.float64)) for g in got_leaves])
        w = np.concatenate([np.ravel(np.asarray(g, np.float64)) for g in leaves])
        t = np.concatenate([np.ravel(np.asarray(g, np.float64)) for g in ref])
        expected = tau * w + (1.0 - tau) * t
        if _close(got, expected):
            continue
        if _close(got, tau * t + (1.0 - tau) * w):
            hint = "tau weighs the ONLINE network: the target moves a small step tau towards it."
        elif _close(got, w):
            hint = (
                "that copies the online network (tau = 1); mix the two with weights tau, 1 - tau."
            )
        elif _close(got, t):
            hint = "the target did not move: add tau times the online weights."
        else:
            hint = "new target = tau * params + (1 - tau) * target_params, for every leaf."
        _compare(ex, words, "the new target parameters", got, expected, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ CartPole physics

_EX_CARTPOLE = Exercise("cartpole_step", "")


def _cartpole_reference(s, action, *, semi_implicit=False, sign=1.0, full_length=False):
    x, x_dot, theta, theta_dot = (float(v) for v in s)
    g, m_c, m_p, length, tau = 9.8, 1.0, 0.1, (1.0 if full_length else 0.5), 0.02
    total = m_c + m_p
    force = sign * (10.0 if action == 1 else -10.0)
    c, si = math.cos(theta), math.sin(theta)
    tmp = (force + m_p * length * theta_dot**2 * si) / total
    theta_acc = (g * si - c * tmp) / (length * (4.0 / 3.0 - m_p * c**2 / total))
    x_acc = tmp - m_p * length * theta_acc * c / total
    x_dot_new = x_dot + tau * x_acc
    theta_dot_new = theta_dot + tau * theta_acc
    if semi_implicit:
        return np.array(
            [x + tau * x_dot_new, x_dot_new, theta + tau * theta_dot_new, theta_dot_new]
        )
    return np.array([x + tau * x_dot, x_dot_new, theta + tau * theta_dot, theta_dot_new])


def cartpole_step(fn: Callable) -> None:
    r"""Check ``fn(physics, action)``: one explicit Euler step of Gym's CartPole equations."""
    ex = _EX_CARTPOLE
    rng = np.random.default_rng(9)
    cases = [
        ("at rest, pushed right", np.zeros(4), 1),
        ("at rest, pushed left", np.zeros(4), 0),
        ("moving and tilted", np.array([0.3, 1.2, 0.1, -0.8]), 1),
        ("falling left fast", np.array([-1.0, -0.5, -0.15, -2.0]), 0),
    ]
    for j in range(3):
        cases.append((f"a random state ({j + 1})", rng.uniform(-1, 1, 4) * [2, 2, 0.2, 2],
                      int(rng.integers(2))))  # fmt: skip
    for words, s, a in cases:
        hint = "return the four numbers (x, x_dot, theta, theta_dot) as one array."
        out = _call(ex, fn, (_f(s), a), words)
        got = _array(ex, words, "the next state", out, (4,), hint=hint)
        expected = _cartpole_reference(s, a)
        if _close(got, expected, rtol=1e-4, atol=1e-6):
            continue
        if _close(got, _cartpole_reference(s, a, semi_implicit=True), rtol=1e-4, atol=1e-6):
            hint = (
                "that is semi-implicit Euler: Gym's explicit Euler moves x and theta with the "
                "OLD velocities, x + tau * x_dot, before the velocities change."
            )
        elif _close(got, _cartpole_reference(s, a, sign=-1.0), rtol=1e-4, atol=1e-6):
            hint = "action 1 pushes to the right: force = +10 for action 1, -10 for action 0."
        elif _close(got, _cartpole_reference(s, a, full_length=True), rtol=1e-4, atol=1e-6):
            hint = "Gym's `length` 0.5 is HALF the pole's length; use l = 0.5 in the formulas."
        else:
            hint = (
                "compute tmp, then theta_acc, then x_acc (which uses theta_acc), then update all "
                "four numbers from the old state."
            )
        _compare(ex, words, "the next state", got, expected, rtol=1e-4, atol=1e-6, hint=hint)
    _passed(ex, len(cases))
