r"""CartPole as pure JAX functions (Barto, Sutton & Anderson 1983; Gym's ``CartPole-v1``).

A pole is hinged on a cart that moves along a frictionless track; the agent pushes the cart
left or right with a fixed force and earns a reward of 1 for every step the pole stays up.
This is the control task of Aggarwal §9.4's deep Q-learning examples in miniature: a
four-number observation, two actions, and no table that could list its states.

The state is $s = (x, \dot x, \theta, \dot\theta)$: cart position (m), cart velocity (m/s),
pole angle from upright (rad, positive clockwise) and angular velocity. With force
$F = \pm 10$ N, gravity $g = 9.8$, cart mass $m_c = 1$, pole mass $m_p = 0.1$, half-length
$l = 0.5$ and $M = m_c + m_p$, Gym's equations of motion are

$$\text{tmp} = \frac{F + m_p l \dot\theta^2 \sin\theta}{M},\qquad
\ddot\theta = \frac{g\sin\theta - \cos\theta\,\text{tmp}}
                   {l\left(\tfrac43 - \tfrac{m_p\cos^2\theta}{M}\right)},\qquad
\ddot x = \text{tmp} - \frac{m_p l\,\ddot\theta\cos\theta}{M},$$

integrated with one explicit Euler step of $\tau = 0.02$ s, each variable updated from the
*old* values:

$$x' = x + \tau\dot x,\quad \dot x' = \dot x + \tau\ddot x,\quad
\theta' = \theta + \tau\dot\theta,\quad \dot\theta' = \dot\theta + \tau\ddot\theta.$$

The episode *terminates* when $|x'| > 2.4$ or $|\theta'| > 12°$ (the reward of that last step
still counts, as in Gym) and is *truncated* after 500 steps. A terminal step has no future,
so a Q-learning target does not bootstrap from it; a truncated step does (the pole was still
up, the clock merely ran out). :func:`terminated` tells the two apart.

Every function is pure: ``reset(key) -> (state, obs)``, ``step(state, action) ->
(state, obs, reward, done)``, with the step counter carried in the state. They compose with
``jax.jit``, ``jax.vmap`` (thousands of environments at once) and ``lax.scan`` (whole
episodes in one compiled loop). :func:`step_auto_reset` starts a fresh episode whenever one
ends, which is what a training loop over a fixed number of steps needs.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from course_lib import _validate
from course_lib._types import Array, ArrayLike, PRNGKey

#: Length of the observation vector $(x, \dot x, \theta, \dot\theta)$.
OBS_DIM = 4
#: Actions: 0 pushes the cart left, 1 pushes it right.
N_ACTIONS = 2

GRAVITY = 9.8
MASS_CART = 1.0
MASS_POLE = 0.1
TOTAL_MASS = MASS_CART + MASS_POLE
HALF_LENGTH = 0.5  # Gym's ``length`` is half the pole's length
POLE_MASS_LENGTH = MASS_POLE * HALF_LENGTH
FORCE = 10.0
TAU = 0.02
#: Termination thresholds: the cart leaves the track or the pole tilts past 12 degrees.
X_THRESHOLD = 2.4
THETA_THRESHOLD = 12 * 2 * math.pi / 360
#: Truncation: CartPole-v1 ends every episode after this many steps.
MAX_STEPS = 500
#: ``reset`` draws each state variable uniformly from [-RESET_BOUND, RESET_BOUND].
RESET_BOUND = 0.05


class CartPoleState(NamedTuple):
    """The environment's state: ``physics: (4,)`` $= (x, \\dot x, \\theta, \\dot\\theta)$ and
    ``t: ()`` int32, the number of steps taken in this episode."""

    physics: Array
    t: Array


class AutoResetStep(NamedTuple):
    """What :func:`step_auto_reset` returns.

    ``state``/``obs`` continue the stream (a fresh episode's after a ``done``);
    ``next_obs`` is the observation the action really led to (before any reset), which is
    what a replay transition stores; ``terminated`` marks the pole falling or the cart
    leaving the track (no bootstrap), ``done`` also includes truncation at 500 steps.
    """

    state: CartPoleState
    obs: Array
    reward: Array
    done: Array
    terminated: Array
    next_obs: Array


# ------------------------------------------------------------------------------ validation


def _check_state(state) -> None:
    if not isinstance(state, CartPoleState):
        raise TypeError(
            "`state` must be the CartPoleState that reset() or step() returned, got "
            f"{type(state).__name__}."
        )
    physics = _validate.float_array("state.physics", state.physics)
    if physics.shape != (OBS_DIM,):
        raise ValueError(
            f"`state.physics` must have shape ({OBS_DIM},) (one environment; use jax.vmap "
            f"for many), got {tuple(physics.shape)}."
        )
    _validate.finite("state.physics", physics)


def _check_action(action) -> Array:
    if isinstance(action, (bool, np.bool_)) or (
        hasattr(action, "dtype") and np.dtype(action.dtype).kind == "b"
    ):
        action = jnp.asarray(action).astype(jnp.int32)
    action = _validate.index_array("action", action, size=N_ACTIONS, ndim=0)
    return action


def _check_obs(obs) -> Array:
    obs = _validate.float_array("obs", obs)
    if obs.ndim == 0 or obs.shape[-1] != OBS_DIM:
        raise ValueError(
            f"`obs` must end in an axis of length {OBS_DIM} (x, x_dot, theta, theta_dot), "
            f"got shape {tuple(obs.shape)}."
        )
    return obs


# ------------------------------------------------------------------------------ physics


def dynamics(physics: ArrayLike, action: ArrayLike) -> Array:
    r"""One explicit Euler step of the equations of motion (no termination logic).

    Args:
        physics: ``(4,)`` $(x, \dot x, \theta, \dot\theta)$.
        action: int, 0 (force $-10$ N) or 1 (force $+10$ N).

    Returns:
        ``(4,)`` the next $(x', \dot x', \theta', \dot\theta')$, every component updated from
        the old values (explicit Euler, Gym's default ``kinematics_integrator``).
    """
    physics = _validate.float_array("physics", physics)
    if physics.shape[-1:] != (OBS_DIM,):
        raise ValueError(f"`physics` must have shape (4,), got {tuple(physics.shape)}.")
    action = _check_action(action)
    return _dynamics(physics, action)


def _dynamics(physics, action):
    x, x_dot, theta, theta_dot = physics[0], physics[1], physics[2], physics[3]
    force = jnp.where(action == 1, FORCE, -FORCE)
    cos, sin = jnp.cos(theta), jnp.sin(theta)
    tmp = (force + POLE_MASS_LENGTH * theta_dot**2 * sin) / TOTAL_MASS
    theta_acc = (GRAVITY * sin - cos * tmp) / (
        HALF_LENGTH * (4.0 / 3.0 - MASS_POLE * cos**2 / TOTAL_MASS)
    )
    x_acc = tmp - POLE_MASS_LENGTH * theta_acc * cos / TOTAL_MASS
    return jnp.stack(
        [x + TAU * x_dot, x_dot + TAU * x_acc, theta + TAU * theta_dot, theta_dot + TAU * theta_acc]
    ).astype(physics.dtype)


def terminated(obs: ArrayLike) -> Array:
    r"""True where the cart left the track ($|x| > 2.4$) or the pole fell ($|\theta| > 12°$).

    Args:
        obs: ``(..., 4)`` observations.

    Returns:
        bool array ``(...)``.
    """
    return _terminated(_check_obs(obs))


def _terminated(obs):
    return (jnp.abs(obs[..., 0]) > X_THRESHOLD) | (jnp.abs(obs[..., 2]) > THETA_THRESHOLD)


# ------------------------------------------------------------------------------ the environment


def reset(key: PRNGKey) -> tuple[CartPoleState, Array]:
    r"""Start an episode: each state variable uniform in $[-0.05, 0.05]$, step counter 0.

    Returns:
        ``(state, obs)`` with ``obs: (4,)`` equal to ``state.physics``.
    """
    _validate.prng_key("key", key)
    return _reset(key)


def _reset(key):
    physics = jax.random.uniform(key, (OBS_DIM,), jnp.result_type(float), -RESET_BOUND, RESET_BOUND)
    return CartPoleState(physics, jnp.zeros((), jnp.int32)), physics


def step(state: CartPoleState, action: ArrayLike) -> tuple[CartPoleState, Array, Array, Array]:
    r"""Advance one environment by one step of $\tau = 0.02$ s.

    Args:
        state: a :class:`CartPoleState` (one environment; ``jax.vmap`` for many).
        action: int 0 (push left) or 1 (push right); a bool is read as 0/1.

    Returns:
        ``(state, obs, reward, done)``: the next state, its observation ``(4,)``, the reward
        1.0 (every step earns it, the terminating one included) and ``done``, true when the
        episode terminated (:func:`terminated`) or reached 500 steps (truncation). Stepping
        on after ``done`` keeps integrating; use :func:`step_auto_reset` to start afresh.
    """
    _check_state(state)
    action = _check_action(action)
    return _step(state, action)


def _step(state, action):
    physics = _dynamics(state.physics, action)
    t = state.t + 1
    done = _terminated(physics) | (t >= MAX_STEPS)
    return CartPoleState(physics, t), physics, jnp.ones((), physics.dtype), done


def step_auto_reset(state: CartPoleState, action: ArrayLike, *, key: PRNGKey) -> AutoResetStep:
    r""":func:`step`, then :func:`reset` with ``key`` if the episode ended.

    For training loops that run a fixed number of steps: the returned ``state``/``obs`` are a
    fresh episode's whenever ``done``, while ``next_obs`` and ``terminated`` describe the
    transition the action really made (what a replay buffer stores).

    Returns:
        :class:`AutoResetStep`.
    """
    _check_state(state)
    action = _check_action(action)
    _validate.prng_key("key", key)
    return _step_auto_reset(state, action, key)


def _step_auto_reset(state, action, key):
    return _step_auto_reset_to(state, action, _reset(key)[1])


def _step_auto_reset_to(state, action, fresh_physics):
    """:func:`step_auto_reset` with the fresh episode's start drawn by the caller."""
    new_state, next_obs, reward, done = _step(state, action)
    fresh_state = CartPoleState(fresh_physics, jnp.zeros((), jnp.int32))
    fresh_obs = fresh_physics
    keep = lambda fresh, old: jnp.where(done, fresh, old)  # noqa: E731
    out_state = jax.tree.map(keep, fresh_state, new_state)
    return AutoResetStep(
        out_state,
        keep(fresh_obs, next_obs),
        reward,
        done,
        _terminated(next_obs),
        next_obs,
    )


# ------------------------------------------------------------------------------ rollouts


# LLVM optimization level 1 (XLA:CPU's default is 2): a faster compile, the same run time.
@functools.partial(
    jax.jit,
    static_argnames=("n_envs", "max_steps"),
    compiler_options={"xla_backend_optimization_level": 1},
)
def _random_episode_lengths(key, *, n_envs, max_steps):
    k_reset, k_act = jax.random.split(key)
    state, _ = jax.vmap(_reset)(jax.random.split(k_reset, n_envs))

    def body(carry, k):
        state, alive, length = carry
        actions = jax.random.bernoulli(k, 0.5, (n_envs,)).astype(jnp.int32)
        state, _, _, done = jax.vmap(_step)(state, actions)
        length = length + alive.astype(jnp.int32)
        return (state, alive & ~done, length), None

    init = (state, jnp.ones(n_envs, bool), jnp.zeros(n_envs, jnp.int32))
    (_, _, length), _ = jax.lax.scan(body, init, jax.random.split(k_act, max_steps))
    return length


def random_episode_lengths(*, key: PRNGKey, n_envs: int) -> Array:
    r"""Episode lengths of the uniformly random policy, one episode in each of ``n_envs``
    environments run side by side (``vmap``) for 500 steps in one ``lax.scan``.

    Each action is a fair coin, drawn from ``key``. Every step earns reward 1, so an
    episode's length is also its return.

    Returns:
        int32 ``(n_envs,)``, each in ``[1, 500]``.
    """
    _validate.prng_key("key", key)
    n_envs = _validate.positive_int("n_envs", n_envs)
    return _random_episode_lengths(key, n_envs=n_envs, max_steps=MAX_STEPS)
