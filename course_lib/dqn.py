r"""Deep Q-learning: a Q-network, experience replay and a target network (Aggarwal §9.4.1–9.4.2).

Tabular Q-learning keeps one number per state-action pair. When the states cannot be listed
(four real numbers for CartPole, four stacked video frames for Atari), a **function
approximator** $F(X_t, W, a) \approx \hat Q(s_t, a)$ takes the state's features $X_t$ and
returns one output per action (Eq 9.4). The Bellman equation (Eq 9.5–9.6) says what the output
of the action taken should be, and the network is moved towards it with the squared error

$$L_t = \Big\{\underbrace{\big[r_t + \gamma \max_a F(X_{t+1}, W^-, a)\big]}_{\text{target } y_t}
         - F(X_t, W, a_t)\Big\}^2 \qquad \text{(Eq 9.7)}.$$

The target $y_t$ is treated as a **constant**: the gradient flows only through
$F(X_t, W, a_t)$, so $\nabla_W L_t = -2\,\delta_t\,\partial F(X_t, W, a_t)/\partial W$ with the
TD error $\delta_t = y_t - F(X_t, W, a_t)$, and gradient descent is Eq 9.8. At a terminal step
(the pole fell) there is no future: $y_t = r_t$. Only the output of the action taken enters
the loss.

Two stabilizers of the DQN recipe (Mnih et al. 2015), both in §9.4.1:

- **experience replay**: transitions $(s_t, a_t, r_t, s_{t+1}, \text{terminal})$ go into a
  first-in-first-out pool of fixed size, and each update uses a random minibatch from it, so
  consecutive, strongly correlated steps do not follow one another in the gradient;
- a **target network** $W^-$: a copy of the weights used only in the target, refreshed every
  $C$ steps (or moved slowly, $W^- \leftarrow \tau W + (1-\tau) W^-$), so the target does not
  chase every update.

Acting is $\varepsilon$-greedy while the target uses the max over actions: Q-learning learns
about the greedy policy from data gathered by another one, it is **off-policy**, which is what
makes replaying old transitions legitimate.

Everything is pure JAX: the buffer is a NamedTuple of fixed-size arrays (an insert returns a
new buffer), every random choice takes an explicit key, and :func:`train` runs the whole
training loop (acting, storing, sampling, updating, evaluating) as one jitted ``lax.scan``,
vmapped over independent runs. Its hyperparameters are traced arrays, one per run, so runs with
and without a target network or replay share one compilation.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from course_lib import _validate, cartpole, mlp, optim
from course_lib._types import Array, ArrayLike, Params, PRNGKey

# LLVM optimization level 1 instead of XLA:CPU's default 2 halves the compile time of the
# training loop (measured 7.4 -> 3.9 s of CPU) and leaves its run time unchanged (1.2 s).
_FAST_COMPILE = {"xla_backend_optimization_level": 1}

# ------------------------------------------------------------------------------ the Q-network


def init_q_network(
    *, key: PRNGKey, sizes: tuple[int, ...] = (cartpole.OBS_DIM, 64, 64, cartpole.N_ACTIONS)
) -> tuple[mlp.Dense, ...]:
    r"""A ReLU MLP $F(X, W, \cdot)$ with one linear output per action (He initialization).

    Args:
        sizes: ``(obs_dim, hidden..., n_actions)``; the default is 4-64-64-2 for CartPole.

    Returns:
        a tuple of :class:`course_lib.mlp.Dense` layers.
    """
    return mlp.init(sizes, key=key, scheme="he")


def _check_params(params) -> None:
    if (
        not isinstance(params, tuple)
        or not params
        or not all(isinstance(layer, mlp.Dense) for layer in params)
    ):
        raise TypeError(
            "`params` must be the tuple of mlp.Dense layers that init_q_network() returns, "
            f"got {type(params).__name__}."
        )


def _check_obs(name: str, obs, params) -> Array:
    obs = _validate.float_array(name, obs)
    d = params[0].W.shape[0]
    if obs.ndim == 0 or obs.shape[-1] != d:
        raise ValueError(
            f"`{name}` must end in an axis of length {d} (the network's input size), "
            f"got shape {tuple(obs.shape)}."
        )
    return obs


def q_values(params: Params, obs: ArrayLike) -> Array:
    r"""$F(X, W, a)$ for every action: ``obs: (..., d)`` to ``(..., n_actions)`` (Eq 9.4)."""
    _check_params(params)
    obs = _check_obs("obs", obs, params)
    return _q_values(params, obs)


def _q_values(params, obs):
    h = obs
    for layer in params[:-1]:
        h = jax.nn.relu(_affine(h, layer))
    return _affine(h, params[-1])


def _affine(h, layer):
    """``h @ W + b`` for ``h: (..., d_in)``, the bias broadcast explicitly over the batch axes."""
    return h @ layer.W + layer.b.reshape((1,) * (h.ndim - 1) + layer.b.shape)


def greedy_action(params: Params, obs: ArrayLike) -> Array:
    r"""$a^* = \arg\max_a F(X, W, a)$ (Eq 9.3); ``obs: (..., d)`` to int32 ``(...)``."""
    _check_params(params)
    obs = _check_obs("obs", obs, params)
    return jnp.argmax(_q_values(params, obs), axis=-1).astype(jnp.int32)


def epsilon_greedy_action(
    params: Params, obs: ArrayLike, *, key: PRNGKey, epsilon: ArrayLike
) -> Array:
    r"""With probability $\varepsilon$ a uniformly random action, else the greedy one.

    ``obs: (d,)`` (one state; ``jax.vmap`` for many), ``epsilon`` in $[0, 1]$ (may be traced).
    The random action may happen to be the greedy one, so the greedy action is taken with
    probability $1 - \varepsilon + \varepsilon/|A|$. Returns an int32 scalar.
    """
    _check_params(params)
    obs = _check_obs("obs", obs, params)
    _validate.prng_key("key", key)
    _validate.in_range("epsilon", epsilon, 0.0, 1.0)
    return _epsilon_greedy(params, obs, key, epsilon)


def _epsilon_greedy(params, obs, key, epsilon):
    k_explore, k_action = jax.random.split(key)
    q = _q_values(params, obs)
    random_action = jax.random.randint(k_action, (), 0, q.shape[-1])
    explore = jax.random.uniform(k_explore) < epsilon
    return jnp.where(explore, random_action, jnp.argmax(q, axis=-1)).astype(jnp.int32)


def linear_epsilon(step: ArrayLike, start: ArrayLike, end: ArrayLike, steps: ArrayLike) -> Array:
    r"""The exploration schedule: $\varepsilon$ falls linearly from ``start`` to ``end`` over
    ``steps`` steps, then stays at ``end``."""
    frac = jnp.clip(jnp.asarray(step, jnp.result_type(float)) / steps, 0.0, 1.0)
    return start + frac * (end - start)


# ------------------------------------------------------------------------------ replay


class ReplayBuffer(NamedTuple):
    r"""A first-in-first-out pool of transitions in fixed-size arrays (capacity $N$).

    ``obs, next_obs: (N, d)``, ``action: (N,)`` int32, ``reward: (N,)``, ``terminal: (N,)``
    bool; ``ptr: ()`` the slot the next insert writes, ``size: ()`` how many slots hold data
    (at most $N$). Once full, each insert overwrites the oldest transition.
    """

    obs: Array
    action: Array
    reward: Array
    next_obs: Array
    terminal: Array
    ptr: Array
    size: Array


class Batch(NamedTuple):
    """A minibatch of transitions: ``obs, next_obs: (B, d)``, ``action, reward, terminal: (B,)``."""

    obs: Array
    action: Array
    reward: Array
    next_obs: Array
    terminal: Array


def replay_init(capacity: int, obs_dim: int = cartpole.OBS_DIM) -> ReplayBuffer:
    """An empty buffer of ``capacity`` slots (zeros, ``ptr = size = 0``)."""
    capacity = _validate.positive_int("capacity", capacity)
    obs_dim = _validate.positive_int("obs_dim", obs_dim)
    f = jnp.result_type(float)
    return ReplayBuffer(
        jnp.zeros((capacity, obs_dim), f),
        jnp.zeros(capacity, jnp.int32),
        jnp.zeros(capacity, f),
        jnp.zeros((capacity, obs_dim), f),
        jnp.zeros(capacity, bool),
        jnp.zeros((), jnp.int32),
        jnp.zeros((), jnp.int32),
    )


def _check_buffer(buffer) -> None:
    if not isinstance(buffer, ReplayBuffer):
        raise TypeError(
            f"`buffer` must be a ReplayBuffer from replay_init(), got {type(buffer).__name__}."
        )


def replay_insert(
    buffer: ReplayBuffer,
    obs: ArrayLike,
    action: ArrayLike,
    reward: ArrayLike,
    next_obs: ArrayLike,
    terminal: ArrayLike,
) -> ReplayBuffer:
    r"""Store one transition in slot ``ptr``, then ``ptr`` $\leftarrow$ (``ptr`` + 1) mod $N$.

    Returns a new buffer (the argument is unchanged); ``size`` grows to $N$ and stays there.
    """
    _check_buffer(buffer)
    obs = _validate.float_array("obs", obs, ndim=1)
    next_obs = _validate.float_array("next_obs", next_obs, ndim=1)
    for name, x in (("obs", obs), ("next_obs", next_obs)):
        if x.shape != buffer.obs.shape[1:]:
            raise ValueError(
                f"`{name}` must have shape {tuple(buffer.obs.shape[1:])}, got {tuple(x.shape)}."
            )
    action = _validate.index_array("action", action, ndim=0)
    reward = _validate.float_array("reward", reward, ndim=0)
    return _replay_insert(buffer, obs, action, reward, next_obs, jnp.asarray(terminal, bool))


def _replay_insert(buffer, obs, action, reward, next_obs, terminal):
    i = buffer.ptr
    capacity = buffer.action.shape[0]
    return ReplayBuffer(
        buffer.obs.at[i].set(obs.astype(buffer.obs.dtype)),
        buffer.action.at[i].set(action.astype(jnp.int32)),
        buffer.reward.at[i].set(reward.astype(buffer.reward.dtype)),
        buffer.next_obs.at[i].set(next_obs.astype(buffer.next_obs.dtype)),
        buffer.terminal.at[i].set(terminal),
        (i + 1) % capacity,
        jnp.minimum(buffer.size + 1, capacity),
    )


def replay_sample(
    buffer: ReplayBuffer, *, key: PRNGKey, batch_size: int, recent: ArrayLike | None = None
) -> Batch:
    r"""A minibatch drawn uniformly, with replacement, from the stored transitions.

    ``recent`` (may be traced) restricts the draw to the ``recent`` newest transitions:
    ``recent = 1`` gives ``batch_size`` copies of the last transition, i.e. plain online
    Q-learning *without* replay, in the same compiled code. The buffer must not be empty.
    """
    _check_buffer(buffer)
    _validate.prng_key("key", key)
    batch_size = _validate.positive_int("batch_size", batch_size)
    if not _validate.is_traced(buffer.size) and int(buffer.size) == 0:
        raise ValueError("`buffer` is empty: insert at least one transition before sampling.")
    if recent is None:
        recent = buffer.action.shape[0]
    else:
        _validate.positive("recent", recent)
    return _replay_sample(buffer, key, batch_size, recent)


def _replay_sample(buffer, key, batch_size, recent):
    capacity = buffer.action.shape[0]
    n = jnp.maximum(jnp.minimum(buffer.size, recent), 1)
    age = jax.random.randint(key, (batch_size,), 0, n)  # 0 = the newest transition
    return _gather(buffer, (buffer.ptr - 1 - age) % capacity)


def _replay_sample_uniform(buffer, u, recent):
    """:func:`replay_sample` from uniform numbers ``u: (B,)`` in [0, 1) drawn by the caller."""
    capacity = buffer.action.shape[0]
    n = jnp.maximum(jnp.minimum(buffer.size, recent), 1)
    age = jnp.minimum((u * n).astype(jnp.int32), n - 1)
    return _gather(buffer, (buffer.ptr - 1 - age) % capacity)


def _gather(buffer, idx):
    return Batch(
        buffer.obs[idx], buffer.action[idx], buffer.reward[idx], buffer.next_obs[idx],
        buffer.terminal[idx],
    )  # fmt: skip


# ------------------------------------------------------------------------------ the TD loss


def td_target(
    target_params: Params,
    reward: ArrayLike,
    next_obs: ArrayLike,
    terminal: ArrayLike,
    gamma: ArrayLike,
) -> Array:
    r"""$y = r + \gamma \max_a F(X_{t+1}, W^-, a)$, and $y = r$ where ``terminal`` (Eq 9.5).

    ``reward, terminal: (B,)``, ``next_obs: (B, d)``; returns ``(B,)``. The gradient is
    stopped: the target is a constant of the loss.
    """
    _check_params(target_params)
    next_obs = _check_obs("next_obs", next_obs, target_params)
    reward = _validate.float_array("reward", reward)
    _validate.in_range("gamma", gamma, 0.0, 1.0)
    return _td_target(target_params, reward, next_obs, jnp.asarray(terminal, bool), gamma)


def _td_target(target_params, reward, next_obs, terminal, gamma):
    best_next = jnp.max(_q_values(target_params, next_obs), axis=-1)
    y = reward + gamma * jnp.where(terminal, 0.0, best_next)
    return jax.lax.stop_gradient(y)


def td_loss(params: Params, target_params: Params, batch: Batch, gamma: ArrayLike) -> Array:
    r"""The mean over the minibatch of Eq 9.7, $\{y_t - F(X_t, W, a_t)\}^2$.

    Only the output of the action taken, $a_t$, enters; $y_t$ (:func:`td_target`) is held
    constant, so ``jax.grad`` with respect to ``params`` gives
    $-\tfrac{2}{B}\sum_t \delta_t\,\partial F(X_t, W, a_t)/\partial W$.
    """
    _check_params(params)
    _check_params(target_params)
    if not isinstance(batch, Batch):
        raise TypeError(f"`batch` must be a dqn.Batch, got {type(batch).__name__}.")
    _validate.in_range("gamma", gamma, 0.0, 1.0)
    return _td_loss(params, target_params, batch, gamma)


def _td_errors(params, target_params, batch, gamma):
    y = _td_target(target_params, batch.reward, batch.next_obs, batch.terminal, gamma)
    q_taken = jnp.take_along_axis(
        _q_values(params, batch.obs), batch.action[:, None].astype(jnp.int32), axis=1
    )[:, 0]
    return y - q_taken


def _td_loss(params, target_params, batch, gamma):
    return jnp.mean(_td_errors(params, target_params, batch, gamma) ** 2)


def td_errors(params: Params, target_params: Params, batch: Batch, gamma: ArrayLike) -> Array:
    r"""$\delta_t = y_t - F(X_t, W, a_t)$ for each transition of the batch: ``(B,)``."""
    _check_params(params)
    _check_params(target_params)
    _validate.in_range("gamma", gamma, 0.0, 1.0)
    return _td_errors(params, target_params, batch, gamma)


# ------------------------------------------------------------------------------ target network


def hard_target_update(
    params: Params, target_params: Params, step: ArrayLike, period: ArrayLike
) -> Params:
    r"""$W^- \leftarrow W$ when ``step`` is a multiple of ``period`` $C$, else unchanged.

    ``period = 1`` copies at every step: no target network at all. Both may be traced.
    """
    _check_params(params)
    _check_params(target_params)
    _validate.positive("period", period)
    return _hard_target_update(params, target_params, step, period)


def _hard_target_update(params, target_params, step, period):
    copy = (step % period) == 0
    return jax.tree.map(lambda w, t: jnp.where(copy, w, t), params, target_params)


def polyak_update(params: Params, target_params: Params, tau: ArrayLike) -> Params:
    r"""$W^- \leftarrow \tau W + (1 - \tau) W^-$ (a slowly moving target; ``tau`` in $[0, 1]$)."""
    _check_params(params)
    _check_params(target_params)
    _validate.in_range("tau", tau, 0.0, 1.0)
    return jax.tree.map(lambda w, t: tau * w + (1.0 - tau) * t, params, target_params)


# ------------------------------------------------------------------------------ evaluation


def _greedy_return(params, key, n_episodes):
    """Mean undiscounted return (= episode length) of the greedy policy over n_episodes."""
    state, obs = jax.vmap(cartpole._reset)(jax.random.split(key, n_episodes))

    def body(carry, _):
        state, obs, alive, total = carry
        action = jnp.argmax(_q_values(params, obs), axis=-1)
        state, obs, reward, done = jax.vmap(cartpole._step)(state, action)
        total = total + jnp.where(alive, reward, 0.0)
        return (state, obs, alive & ~done, total), None

    init = (state, obs, jnp.ones(n_episodes, bool), jnp.zeros(n_episodes, obs.dtype))
    (_, _, _, total), _ = jax.lax.scan(body, init, None, length=cartpole.MAX_STEPS)
    return total


def greedy_returns(params: Params, *, key: PRNGKey, n_episodes: int) -> Array:
    r"""Returns of the greedy policy $a = \arg\max_a F(X, W, a)$ on CartPole, one per episode.

    The episodes run side by side (``vmap``) for 500 steps in one ``lax.scan``; each starts
    from its own draw of ``key``. Returns ``(n_episodes,)``, each in $[1, 500]$.
    """
    _check_params(params)
    _validate.prng_key("key", key)
    n_episodes = _validate.positive_int("n_episodes", n_episodes)
    return _greedy_returns_jit(params, key, n_episodes=n_episodes)


@functools.partial(jax.jit, static_argnames=("n_episodes",), compiler_options=_FAST_COMPILE)
def _greedy_returns_jit(params, key, *, n_episodes):
    return _greedy_return(params, key, n_episodes)


# ------------------------------------------------------------------------------ training


class Hyper(NamedTuple):
    r"""The hyperparameters of :func:`train` that may differ between runs (all traced).

    ``learning_rate`` (Adam), ``gamma`` ($\gamma$), ``epsilon_start``/``epsilon_end``/
    ``epsilon_steps`` (the linear schedule :func:`linear_epsilon`), ``target_period`` ($C$:
    the target network is refreshed every $C$ steps; 1 means no target network),
    ``replay_recent`` (minibatches come from this many newest transitions; 1 means no
    replay), ``learning_starts`` (steps of pure data collection before the first update).
    """

    learning_rate: Array
    gamma: Array
    epsilon_start: Array
    epsilon_end: Array
    epsilon_steps: Array
    target_period: Array
    replay_recent: Array
    learning_starts: Array


#: Defaults that learn CartPole within 20 000 environment steps.
DEFAULTS = {
    "learning_rate": 1e-3,
    "gamma": 0.99,
    "epsilon_start": 1.0,
    "epsilon_end": 0.05,
    "epsilon_steps": 5000,
    "target_period": 200,
    "replay_recent": 10_000,
    "learning_starts": 500,
}
_INTS = ("epsilon_steps", "target_period", "replay_recent", "learning_starts")


def hyper(n_runs: int = 1, **overrides: ArrayLike) -> Hyper:
    """:class:`Hyper` for ``n_runs`` runs: :data:`DEFAULTS` with ``overrides``; each value a
    scalar (the same for every run) or a sequence of ``n_runs`` values (one per run)."""
    n_runs = _validate.positive_int("n_runs", n_runs)
    unknown = set(overrides) - set(DEFAULTS)
    if unknown:
        raise ValueError(
            f"unknown hyperparameter(s) {sorted(unknown)}; choose from {sorted(DEFAULTS)}."
        )
    values = {}
    for name, default in DEFAULTS.items():
        v = np.asarray(overrides.get(name, default), np.float64)
        if v.ndim > 1 or (v.ndim == 1 and v.shape[0] != n_runs):
            raise ValueError(
                f"`{name}` must be a number or a sequence of n_runs = {n_runs} values, "
                f"got shape {v.shape}."
            )
        if not np.all(np.isfinite(v)):
            raise ValueError(f"`{name}` must be finite, got {v.tolist()}.")
        if name == "gamma" and not np.all((v >= 0) & (v <= 1)):
            raise ValueError(f"`gamma` must lie in [0, 1], got {v.tolist()}.")
        if name.startswith("epsilon_") and name != "epsilon_steps":
            if not np.all((v >= 0) & (v <= 1)):
                raise ValueError(f"`{name}` must lie in [0, 1], got {v.tolist()}.")
        if name in _INTS:
            low = 0 if name == "learning_starts" else 1
            if not np.all((v == np.round(v)) & (v >= low)):
                raise ValueError(f"`{name}` must be whole numbers >= {low}, got {v.tolist()}.")
            arr = jnp.asarray(np.broadcast_to(v, (n_runs,)), jnp.int32)
        else:
            if name == "learning_rate" and not np.all(v > 0):
                raise ValueError(f"`learning_rate` must be positive, got {v.tolist()}.")
            arr = jnp.asarray(np.broadcast_to(v, (n_runs,)), jnp.float32)
        values[name] = arr
    return Hyper(**values)


class TrainState(NamedTuple):
    """Everything the training loop carries from one step to the next."""

    params: Params
    target_params: Params
    opt_state: optim.State
    buffer: ReplayBuffer
    env: cartpole.CartPoleState
    obs: Array
    step: Array
    episode_return: Array
    key: PRNGKey


class DQNRun(NamedTuple):
    r"""What :func:`train` returns; every leaf has a leading axis of ``n_runs``.

    ``steps: (chunks,)`` environment steps done at the end of each chunk (no run axis);
    ``greedy_return: (runs, chunks)`` the mean return of the greedy policy over the evaluation
    episodes after each chunk; ``train_return: (runs, chunks)`` the mean return of the
    $\varepsilon$-greedy training episodes that ended in the chunk (NaN if none did);
    ``loss: (runs, chunks)`` the mean TD loss of the chunk's updates; ``params``: the
    Q-network after each chunk (leaves ``(runs, chunks, ...)``); ``final``: the last
    :class:`TrainState`.
    """

    steps: Array
    greedy_return: Array
    train_return: Array
    loss: Array
    params: Params
    final: TrainState


def _train_one(h, key, *, sizes, chunks, steps_per_chunk, batch_size, capacity, eval_episodes):
    k_init, k_env, k_loop, k_eval = jax.random.split(key, 4)
    params = _init_float32(k_init, sizes)
    opt = optim.adam(h.learning_rate)
    env, obs = cartpole._reset(k_env)
    obs = obs.astype(jnp.float32)  # training is float32, also when x64 is switched on
    env = env._replace(physics=obs)
    state = TrainState(
        params, params, opt.init(params), _empty_buffer(capacity, sizes[0]), env, obs,
        jnp.zeros((), jnp.int32), jnp.zeros((), jnp.float32), k_loop,
    )  # fmt: skip
    grad_fn = jax.value_and_grad(_td_loss)

    def env_step(s: TrainState, k):
        # one uniform draw per step feeds every random choice of the step (cheaper to
        # compile and run than a split per use): explore?, which random action, the start of
        # a fresh episode, the minibatch's indices
        u = jax.random.uniform(k, (2 + sizes[0] + batch_size,), jnp.float32)
        eps = linear_epsilon(s.step, h.epsilon_start, h.epsilon_end, h.epsilon_steps)
        n_actions = sizes[-1]
        random_action = jnp.minimum((u[1] * n_actions).astype(jnp.int32), n_actions - 1)
        greedy = jnp.argmax(_q_values(s.params, s.obs)).astype(jnp.int32)
        action = jnp.where(u[0] < eps, random_action, greedy)
        fresh = cartpole.RESET_BOUND * (2.0 * u[2 : 2 + sizes[0]] - 1.0)
        out = cartpole._step_auto_reset_to(s.env, action, fresh)
        buffer = _replay_insert(s.buffer, s.obs, action, out.reward, out.next_obs, out.terminated)
        batch = _replay_sample_uniform(buffer, u[2 + sizes[0] :], h.replay_recent)
        loss, grads = grad_fn(s.params, s.target_params, batch, h.gamma)
        updates, opt_state = opt.update(grads, s.opt_state, s.params)
        learn = s.step >= h.learning_starts
        keep = lambda new, old: jax.tree.map(lambda n, o: jnp.where(learn, n, o), new, old)  # noqa: E731
        params = keep(optim.apply_updates(s.params, updates), s.params)
        opt_state = keep(opt_state, s.opt_state)
        step = s.step + 1
        target = _hard_target_update(params, s.target_params, step, h.target_period)
        ep_return = s.episode_return + out.reward
        finished = jnp.where(out.done, ep_return, jnp.nan)
        new = TrainState(
            params, target, opt_state, buffer, out.state, out.obs, step,
            jnp.where(out.done, 0.0, ep_return), s.key,
        )  # fmt: skip
        return new, (jnp.where(learn, loss, jnp.nan), finished)

    def chunk(s: TrainState, k):
        k_steps, k_eval = jax.random.split(k)
        s, (losses, finished) = jax.lax.scan(
            env_step, s, jax.random.split(k_steps, steps_per_chunk)
        )
        greedy = jnp.mean(_greedy_return(s.params, k_eval, eval_episodes))
        return s, (greedy, jnp.nanmean(finished), jnp.nanmean(losses), s.params)

    final, (greedy, train_ret, losses, snapshots) = jax.lax.scan(
        chunk, state, jax.random.split(k_eval, chunks)
    )
    return greedy, train_ret, losses, snapshots, final


def _init_float32(key, sizes):
    return jax.tree.map(lambda a: a.astype(jnp.float32), mlp.init(sizes, key=key, scheme="he"))


def _empty_buffer(capacity, obs_dim):
    return ReplayBuffer(
        jnp.zeros((capacity, obs_dim), jnp.float32),
        jnp.zeros(capacity, jnp.int32),
        jnp.zeros(capacity, jnp.float32),
        jnp.zeros((capacity, obs_dim), jnp.float32),
        jnp.zeros(capacity, bool),
        jnp.zeros((), jnp.int32),
        jnp.zeros((), jnp.int32),
    )


_STATIC = ("sizes", "chunks", "steps_per_chunk", "batch_size", "capacity", "eval_episodes")


@functools.partial(jax.jit, static_argnames=_STATIC, compiler_options=_FAST_COMPILE)
def _train(h, keys, **static):
    return jax.vmap(functools.partial(_train_one, **static))(h, keys)


def train(
    *,
    key: PRNGKey,
    hyperparameters: Hyper | None = None,
    n_runs: int = 4,
    chunks: int = 20,
    steps_per_chunk: int = 1000,
    batch_size: int = 64,
    capacity: int = 10_000,
    hidden: tuple[int, ...] = (64, 64),
    eval_episodes: int = 10,
) -> DQNRun:
    r"""Train ``n_runs`` DQN agents on CartPole side by side, in one jitted ``lax.scan``.

    Each environment step of each run: act $\varepsilon$-greedily, step the environment
    (:func:`course_lib.cartpole.step_auto_reset`), store the transition (:func:`replay_insert`),
    draw a minibatch (:func:`replay_sample`), take one Adam step on Eq 9.7 (:func:`td_loss`;
    none during the first ``learning_starts`` steps), and refresh the target network every
    ``target_period`` steps (:func:`hard_target_update`). After every ``steps_per_chunk``
    steps the greedy policy plays ``eval_episodes`` fresh episodes (:func:`greedy_returns`)
    and the Q-network is kept, for learning curves and the widget.

    Run $i$ draws everything from ``jax.random.split(key, n_runs)[i]`` and uses row $i$ of
    ``hyperparameters`` (default :func:`hyper` with ``n_runs``). The sizes are static (a
    new value compiles once); the hyperparameters are traced. Training is float32.

    Returns:
        :class:`DQNRun`.
    """
    _validate.prng_key("key", key)
    n_runs = _validate.positive_int("n_runs", n_runs)
    static = {
        "chunks": _validate.positive_int("chunks", chunks),
        "steps_per_chunk": _validate.positive_int("steps_per_chunk", steps_per_chunk),
        "batch_size": _validate.positive_int("batch_size", batch_size),
        "capacity": _validate.positive_int("capacity", capacity),
        "eval_episodes": _validate.positive_int("eval_episodes", eval_episodes),
    }
    if isinstance(hidden, int):
        hidden = (hidden,)
    hidden = tuple(_validate.positive_int("hidden[...]", w) for w in hidden)
    h = hyper(n_runs) if hyperparameters is None else hyperparameters
    if not isinstance(h, Hyper):
        raise TypeError(f"`hyperparameters` must come from dqn.hyper(), got {type(h).__name__}.")
    if h.gamma.shape != (n_runs,):
        raise ValueError(
            f"`hyperparameters` are for {h.gamma.shape[0] if h.gamma.ndim else 1} run(s), "
            f"but n_runs = {n_runs}: build them with dqn.hyper({n_runs}, ...)."
        )
    sizes = (cartpole.OBS_DIM, *hidden, cartpole.N_ACTIONS)
    greedy, train_ret, losses, snapshots, final = _train(
        h, jax.random.split(key, n_runs), sizes=sizes, **static
    )
    steps = jnp.arange(1, chunks + 1, dtype=jnp.int32) * steps_per_chunk
    return DQNRun(steps, greedy, train_ret, losses, snapshots, final)


def train_cache_size() -> int:
    """How many versions of the jitted training loop are compiled (for no-recompile tests)."""
    return _train._cache_size()


# ------------------------------------------------------------------------------ the Atari CNN

#: The convolutional Q-network of Mnih et al. (2015), Aggarwal §9.4.2 and Fig 9.4:
#: (filters, size, stride) per convolution, then a dense layer of 512 ReLUs.
ATARI_CONVS = ((32, 8, 4), (64, 4, 2), (64, 3, 1))
ATARI_HIDDEN = 512


def atari_q_network(x: ArrayLike, params: Params) -> tuple[Array, ...]:
    r"""The Atari Q-network's forward pass, returning every layer's output.

    ``x: (n, 84, 84, 4)`` (four stacked 84×84 grey frames, NHWC); ``params`` a dict
    ``{"conv": [(w, b)] * 3, "dense": [(W, b)] * 2}``. Three ReLU convolutions without padding
    or pooling (:func:`course_lib.cnn.conv2d`), a flatten, a ReLU dense layer and a linear
    output with one Q-value per action. Meant for :func:`jax.eval_shape` (no training here).
    """
    from course_lib import cnn  # the conv layers of chapter 8

    h = x
    outs = []
    for (w, b), (_, _, stride) in zip(params["conv"], ATARI_CONVS, strict=True):
        h = jax.nn.relu(cnn._conv2d(h, w, b, stride=stride, padding=0))
        outs.append(h)
    h = h.reshape(h.shape[0], -1)
    outs.append(h)
    (W1, b1), (W2, b2) = params["dense"]
    h = jax.nn.relu(h @ W1 + b1[None, :])
    outs.append(h)
    outs.append(h @ W2 + b2[None, :])
    return tuple(outs)


def atari_shapes(n_actions: int = 4, *, frames: int = 4, size: int = 84) -> list[tuple[int, ...]]:
    r"""The shapes of every layer of the Atari Q-network for one input of ``size x size x
    frames``, computed with :func:`jax.eval_shape` (nothing is allocated or trained).

    With the defaults: ``(20, 20, 32), (9, 9, 64), (7, 7, 64), (3136,), (512,), (n_actions,)``:
    $(84 - 8)/4 + 1 = 20$, $(20 - 4)/2 + 1 = 9$, $9 - 3 + 1 = 7$, and $7 \cdot 7 \cdot 64 = 3136$.
    """
    n_actions = _validate.positive_int("n_actions", n_actions)
    frames = _validate.positive_int("frames", frames)
    side = _validate.positive_int("size", size)
    c_in, convs = frames, []
    for c_out, f, stride in ATARI_CONVS:
        if side < f:
            raise ValueError(f"`size` = {size} is too small for the Atari network's filters.")
        side = (side - f) // stride + 1  # what lax's VALID convolution gives (floor)
        convs.append((jax.ShapeDtypeStruct((f, f, c_in, c_out), jnp.float32),
                      jax.ShapeDtypeStruct((c_out,), jnp.float32)))  # fmt: skip
        c_in = c_out
    flat = side * side * c_in
    dense = [
        (jax.ShapeDtypeStruct((flat, ATARI_HIDDEN), jnp.float32),
         jax.ShapeDtypeStruct((ATARI_HIDDEN,), jnp.float32)),
        (jax.ShapeDtypeStruct((ATARI_HIDDEN, n_actions), jnp.float32),
         jax.ShapeDtypeStruct((n_actions,), jnp.float32)),
    ]  # fmt: skip
    x = jax.ShapeDtypeStruct((1, size, size, frames), jnp.float32)
    outs = jax.eval_shape(atari_q_network, x, {"conv": convs, "dense": dense})
    return [tuple(o.shape[1:]) for o in outs]


def select_runs(run: DQNRun, index: ArrayLike) -> DQNRun:
    """The runs ``index`` (an int array or a slice) of a :class:`DQNRun`, e.g. the first four."""
    if not isinstance(run, DQNRun):
        raise TypeError(f"`run` must be a DQNRun from dqn.train(), got {type(run).__name__}.")
    pick = lambda a: a[index]  # noqa: E731
    return DQNRun(
        run.steps, pick(run.greedy_return), pick(run.train_return), pick(run.loss),
        jax.tree.map(pick, run.params), jax.tree.map(pick, run.final),
    )  # fmt: skip
