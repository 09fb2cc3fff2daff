r"""Bootstrapping with a table: TD(0), Monte Carlo, TD(λ), n-step TD, Q-learning and SARSA
(Aggarwal §9.4; the tabular forms of Eq 9.11, 9.12, 9.16–9.18 and Exercise 9.7).

**Prediction** (learn $V^\pi$ of the policy that generated the episodes). With a table,
$G(X_t, W) = V(s_t)$ and $\nabla G(X_t, W)$ is the one-hot vector of $s_t$, so the book's
updates become:

- TD(0) (Eq 9.16): $\delta_t = r_t + \gamma V(s_{t+1}) - V(s_t)$,
  $V(s_t) \mathrel{+}= \alpha\delta_t$ (with $V = 0$ at a terminal $s_{t+1}$: the target is $r_t$);
- Monte Carlo: $V(s_t) \mathrel{+}= \alpha (R_t - V(s_t))$ with the whole return $R_t$ (Eq 9.2),
  once the episode is over (every visit, or the first visit of each state);
- TD(λ) (Eq 9.18): $V \mathrel{+}= \alpha\,\delta_t\, e_t$ with the eligibility trace
  $e_t = \sum_{k \le t} (\lambda\gamma)^{t-k}\, \mathbb 1_{s_k}
  = \lambda\gamma\, e_{t-1} + \mathbb 1_{s_t}$.
  (The book's text calls the λ = 1 case a variant of "Eq 9.16" in Exercise 9.7(b); the
  trace form it means is Eq 9.18.)
- n-step TD (Exercise 9.7): the target is the n-step return
  $R^{(n)}_t = \sum_{i<n} \gamma^i r_{t+i} + \gamma^n V(s_{t+n})$ (no bootstrap term when the
  episode ends first); $n = 1$ is TD(0) and $n \ge$ the episode length is Monte Carlo.

Every prediction function takes pre-sampled :class:`course_lib.mdp.Episodes` (so all methods
see the same data), runs one ``lax.scan`` over episodes and one over steps, and returns the
value table after every episode. Leading batch axes (seeds) are ``vmap``-ed. ``alpha``,
``gamma``, ``lam`` and ``n`` are traced: changing them never recompiles.

**Control** (learn $Q^*$ while acting ε-greedily), Eq 9.11 and 9.12:

$$Q(s_t, a_t) \leftarrow (1-\alpha) Q(s_t, a_t) + \alpha\big(r_t + \gamma \max_a Q(s_{t+1}, a)\big)
\quad\text{(Q-learning, off-policy)}$$
$$Q(s_t, a_t) \leftarrow (1-\alpha) Q(s_t, a_t) + \alpha\big(r_t + \gamma Q(s_{t+1}, a_{t+1})\big)
\quad\text{(SARSA, on-policy)}$$

with target $r_t$ alone at a terminal $s_{t+1}$. :func:`td_control` runs either (``method``
is traced too, so one compiled function serves both).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from course_lib import _validate
from course_lib._types import Array, ArrayLike, PRNGKey
from course_lib.mdp import MDP, Episodes, check_mdp

# ------------------------------------------------------------------------------ validation


def _check_episodes(episodes: Episodes, n_states: int) -> Episodes:
    if not isinstance(episodes, Episodes):
        raise TypeError(f"`episodes` must be an mdp.Episodes, got {type(episodes).__name__}.")
    n_states = _validate.positive_int("n_states", n_states)
    shape = jnp.shape(episodes.states)
    if len(shape) < 2:
        raise ValueError(f"`episodes` fields must be (..., E, T), got shape {shape}.")
    for name in Episodes._fields:
        if jnp.shape(getattr(episodes, name)) != shape:
            raise ValueError(f"`episodes.{name}` must have shape {shape} like `states`.")
    _validate.index_array("episodes.states", episodes.states, size=n_states)
    _validate.index_array("episodes.next_states", episodes.next_states, size=n_states)
    return episodes


def _hyper(alpha, gamma, lam=None):
    _validate.in_range("alpha", alpha, 0.0, 1.0)
    _validate.positive("alpha", alpha)
    _validate.in_range("gamma", gamma, 0.0, 1.0)
    if lam is not None:
        _validate.in_range("lam", lam, 0.0, 1.0)


def _init_values(v0, n_states: int) -> Array:
    v = _validate.float_array("v0", v0, ndim=(0, 1))
    if v.ndim == 0:
        v = jnp.full((n_states,), v)
    if v.shape != (n_states,):
        raise ValueError(f"`v0` must be a number or shape ({n_states},), got {v.shape}.")
    return _validate.finite("v0", v)


def _batched(fn, episodes: Episodes, *args):
    """Apply ``fn(episodes (E, T), *args)`` over any leading axes of the episodes (the rewards
    in the dtype of the table, ``args[0]``)."""
    episodes = episodes._replace(rewards=jnp.asarray(episodes.rewards, args[0].dtype))
    lead = episodes.states.shape[:-2]
    flat = jax.tree.map(lambda a: a.reshape((-1, *a.shape[-2:])), episodes)
    out = jax.vmap(fn, in_axes=(0, *([None] * len(args))))(flat, *args)
    return out.reshape((*lead, *out.shape[1:]))


# ------------------------------------------------------------------------------ prediction


def _td0_episode(v, ep, alpha, gamma):
    def step(v, x):
        s, r, s2, valid, done = x
        target = r + gamma * v[s2] * (1.0 - done)  # at a terminal s' the target is r
        delta = target - v[s]
        return v.at[s].add(alpha * delta * valid), None

    v, _ = jax.lax.scan(step, v, (ep.states, ep.rewards, ep.next_states,
                                  ep.valid.astype(v.dtype), ep.done.astype(v.dtype)))  # fmt: skip
    return v


@jax.jit
def _td0_run(episodes, v0, alpha, gamma):
    def one(v, ep):
        v = _td0_episode(v, ep, alpha, gamma)
        return v, v

    return jax.lax.scan(one, v0, episodes)[1]


def td0_values(
    episodes: Episodes, *, n_states: int, alpha: float, gamma: float = 1.0, v0: ArrayLike = 0.0
) -> Array:
    r"""Online tabular TD(0) (Aggarwal Eq 9.16 with a table): after each real step,
    $V(s_t) \leftarrow V(s_t) + \alpha\,(r_t + \gamma V(s_{t+1}) - V(s_t))$, with
    $V(s_{t+1}) = 0$ when $s_{t+1}$ is terminal.

    Args:
        episodes: :class:`~course_lib.mdp.Episodes` with fields ``(..., E, T)``.
        n_states: ``S``. alpha: step size in (0, 1]. gamma: discount in [0, 1].
        v0: the initial table, a number or ``(S,)`` (terminal entries should be 0).

    Returns:
        ``(..., E, S)``: the table after each episode.
    """
    episodes = _check_episodes(episodes, n_states)
    _hyper(alpha, gamma)
    v = _init_values(v0, n_states)
    return _batched(_td0_run, episodes, v, jnp.asarray(alpha, v.dtype), jnp.asarray(gamma, v.dtype))


def _episode_returns(ep, gamma):
    def back(g, x):
        r, valid = x
        g = (r + gamma * g) * valid
        return g, g

    rv = (ep.rewards, ep.valid.astype(ep.rewards.dtype))
    return jax.lax.scan(back, jnp.zeros((), ep.rewards.dtype), rv, reverse=True)[1]


@functools.partial(jax.jit, static_argnames=("first_visit",))
def _mc_run(episodes, v0, alpha, gamma, first_visit):
    S = v0.shape[0]

    def one(v, ep):
        G = _episode_returns(ep, gamma)
        use = ep.valid
        if first_visit:
            seen = jnp.cumsum(jax.nn.one_hot(ep.states, S) * ep.valid[:, None], axis=0)
            use = use & (jnp.take_along_axis(seen, ep.states[:, None], axis=1)[:, 0] == 1)

        def step(v, x):
            s, g, u = x
            return v.at[s].add(alpha * (g - v[s]) * u), None

        v, _ = jax.lax.scan(step, v, (ep.states, G, use.astype(v.dtype)))
        return v, v

    return jax.lax.scan(one, v0, episodes)[1]


def mc_values(
    episodes: Episodes,
    *,
    n_states: int,
    alpha: float,
    gamma: float = 1.0,
    v0: ArrayLike = 0.0,
    first_visit: bool = False,
) -> Array:
    r"""Constant-α Monte Carlo prediction: when an episode ends, for $t = 0, 1, \dots$
    $V(s_t) \leftarrow V(s_t) + \alpha\,(R_t - V(s_t))$ with the observed return $R_t$
    (Eq 9.2). Every visit of a state counts, or only its first visit in the episode.

    Returns:
        ``(..., E, S)``: the table after each episode.
    """
    episodes = _check_episodes(episodes, n_states)
    _hyper(alpha, gamma)
    if not isinstance(first_visit, bool):
        raise TypeError(f"`first_visit` must be True or False, got {first_visit!r}.")
    v = _init_values(v0, n_states)
    f = functools.partial(_mc_run, first_visit=first_visit)
    return _batched(f, episodes, v, jnp.asarray(alpha, v.dtype), jnp.asarray(gamma, v.dtype))


@functools.partial(jax.jit, static_argnames=("offline",))
def _td_lambda_run(episodes, v0, alpha, gamma, lam, offline):
    S = v0.shape[0]

    def one(v, ep):
        def step(c, x):
            v, dv, e = c
            s, r, s2, valid, done = x
            e = gamma * lam * e + jax.nn.one_hot(s, S, dtype=v.dtype) * valid
            delta = (r + gamma * v[s2] * (1.0 - done) - v[s]) * valid
            if offline:  # V frozen during the episode, the increments summed
                return (v, dv + alpha * delta * e, e), None
            return (v + alpha * delta * e, dv, e), None

        zero = jnp.zeros_like(v)
        xs = (ep.states, ep.rewards, ep.next_states, ep.valid.astype(v.dtype),
              ep.done.astype(v.dtype))  # fmt: skip
        (v, dv, _), _ = jax.lax.scan(step, (v, zero, zero), xs)
        v = v + dv
        return v, v

    return jax.lax.scan(one, v0, episodes)[1]


def td_lambda_values(
    episodes: Episodes,
    *,
    n_states: int,
    alpha: float,
    lam: float,
    gamma: float = 1.0,
    v0: ArrayLike = 0.0,
    offline: bool = False,
) -> Array:
    r"""Tabular TD(λ) with accumulating eligibility traces (the table form of Aggarwal Eq 9.18).

    $e_t = \lambda\gamma\, e_{t-1} + \mathbb 1_{s_t}$ (reset to 0 at each episode's start), so
    $e_t = \sum_{k=0}^{t} (\lambda\gamma)^{t-k} \nabla_V V(s_k)$, and
    $V \leftarrow V + \alpha\,\delta_t\,e_t$ with the TD error $\delta_t$ of Eq 9.16.
    ``offline=True`` keeps $V$ fixed during an episode and adds the summed increments at its
    end; then λ = 1 is exactly every-visit Monte Carlo with summed increments (the TD errors
    telescope: $\sum_{t' \ge t} \gamma^{t'-t}\delta_{t'} = R_t - V(s_t)$), and λ = 0 is TD(0).
    (Exercise 9.7(b) of the book refers to this as "Eq 9.16"; Eq 9.18 is meant.)

    Returns:
        ``(..., E, S)``: the table after each episode.
    """
    episodes = _check_episodes(episodes, n_states)
    _hyper(alpha, gamma, lam)
    if not isinstance(offline, bool):
        raise TypeError(f"`offline` must be True or False, got {offline!r}.")
    v = _init_values(v0, n_states)
    f = functools.partial(_td_lambda_run, offline=offline)
    dt = v.dtype
    return _batched(f, episodes, v, jnp.asarray(alpha, dt), jnp.asarray(gamma, dt),
                    jnp.asarray(lam, dt))  # fmt: skip


def _n_step_target(v, ep, n, gamma, t):
    """$R^{(n)}_t$ of step ``t`` of one episode ``(T,)``, bootstrapping from the table ``v``."""
    T = ep.states.shape[0]
    lag = jnp.arange(T) - t  # j - t
    w = jnp.where((lag >= 0) & (lag < n), gamma ** jnp.maximum(lag, 0).astype(v.dtype), 0.0)
    reward_part = w @ (ep.rewards * ep.valid)
    last = t + n - 1  # the step whose next state is s_{t+n}
    idx = jnp.minimum(last, T - 1)
    boot = (ep.valid[idx] & ~ep.done[idx] & (last < T)).astype(v.dtype)
    return reward_part + boot * gamma**n * v[ep.next_states[idx]]


@jax.jit
def _n_step_targets(v, ep, n, gamma):
    """$R^{(n)}_t$ for every $t$ of one episode (a fixed table)."""
    T = ep.states.shape[0]
    return jax.vmap(lambda t: _n_step_target(v, ep, n, gamma, t))(jnp.arange(T))


def n_step_return(
    rewards: ArrayLike, next_values: ArrayLike, dones: ArrayLike, *, n: int, gamma: float
) -> Array:
    r"""The n-step returns $R^{(n)}_t = \sum_{i<n}\gamma^i r_{t+i} + \gamma^n V(s_{t+n})$ of one
    episode with a *fixed* table (Exercise 9.7(a)); no bootstrap term when the episode ends
    within $n$ steps. $n = 1$ is the TD(0) target, $n \ge T$ the Monte Carlo return.

    Args:
        rewards: ``(T,)``, $r_0, \dots, r_{T-1}$.
        next_values: ``(T,)``, $V(s_{t+1})$ for each step.
        dones: ``(T,)`` bool, whether $s_{t+1}$ is terminal.

    Returns:
        ``(T,)``.
    """
    r = _validate.float_array("rewards", rewards, ndim=1)
    nv = _validate.float_array("next_values", next_values, ndim=1)
    d = jnp.asarray(dones, bool)
    if nv.shape != r.shape or d.shape != r.shape:
        raise ValueError(
            f"`rewards`, `next_values` and `dones` must share one shape, got {r.shape}, "
            f"{nv.shape} and {d.shape}."
        )
    n = _validate.positive_int("n", n)
    _validate.in_range("gamma", gamma, 0.0, 1.0)
    T = r.shape[0]
    ep = Episodes(jnp.arange(T), jnp.zeros(T, jnp.int32), r, jnp.arange(T),
                  jnp.ones(T, bool), d)  # fmt: skip
    return _n_step_targets(nv, ep, jnp.asarray(min(n, T + 1)), jnp.asarray(gamma, r.dtype))


@jax.jit
def _n_step_run(episodes, v0, alpha, gamma, n):
    def one(v, ep):
        def step(v, t):
            # the target of step t uses the table as it is after the updates of steps < t,
            # exactly as the online algorithm that updates step t at time t + n
            g = _n_step_target(v, ep, n, gamma, t)
            s = ep.states[t]
            return v.at[s].add(alpha * (g - v[s]) * ep.valid[t]), None

        v, _ = jax.lax.scan(step, v, jnp.arange(ep.states.shape[0]))
        return v, v

    return jax.lax.scan(one, v0, episodes)[1]


def n_step_td_values(
    episodes: Episodes,
    *,
    n_states: int,
    n: int,
    alpha: float,
    gamma: float = 1.0,
    v0: ArrayLike = 0.0,
) -> Array:
    r"""n-step TD prediction (Aggarwal Exercise 9.7): $V(s_t) \leftarrow V(s_t) +
    \alpha\,(R^{(n)}_t - V(s_t))$, step by step, each target using the current table.

    ``n = 1`` gives exactly :func:`td0_values`; ``n`` at least the episode length gives
    every-visit Monte Carlo (:func:`mc_values`). ``n`` is traced (no recompiles).

    Returns:
        ``(..., E, S)``: the table after each episode.
    """
    episodes = _check_episodes(episodes, n_states)
    _hyper(alpha, gamma)
    n = _validate.positive_int("n", n)
    v = _init_values(v0, n_states)
    T = episodes.states.shape[-1]
    dt = v.dtype
    return _batched(_n_step_run, episodes, v, jnp.asarray(alpha, dt), jnp.asarray(gamma, dt),
                    jnp.asarray(min(n, T + 1), jnp.int32))  # fmt: skip


def rms_error(values: ArrayLike, true_values: ArrayLike, states: ArrayLike) -> Array:
    r"""Root-mean-square error over ``states``: $\sqrt{\frac1{|S|}\sum_s (V(s) - V^\pi(s))^2}$.

    ``values: (..., S)``; returns ``(...)``.
    """
    v = _validate.float_array("values", values)
    tv = _validate.float_array("true_values", true_values, ndim=1)
    idx = _validate.index_array("states", states, size=tv.shape[0], ndim=1)
    diff = v[..., idx] - tv[idx].astype(v.dtype)
    return jnp.sqrt(jnp.mean(diff**2, axis=-1))


# ------------------------------------------------------------------------------ control


class ControlRun(NamedTuple):
    """What :func:`td_control` returns (leading axes: one per key)."""

    Q: Array  # (..., S, A) the table at the end
    returns: Array  # (..., E) undiscounted online return of each episode
    lengths: Array  # (..., E) steps of each episode
    visits: Array  # (..., S, A) how often each action was taken in each state


METHODS = ("q_learning", "sarsa")


def _eps_greedy(u, q_row, eps):
    """ε-greedy from three uniforms ``u``: explore if ``u[0] < eps`` (then the action
    ``floor(A u[1])``), else the best action, ties broken at random by ``u[2]``."""
    A = q_row.shape[0]
    best = q_row >= jnp.max(q_row)
    k = jnp.floor(u[2] * jnp.sum(best)).astype(jnp.int32)  # which of the tied best actions
    greedy = jnp.argmax(jnp.cumsum(best) > k)
    random = jnp.minimum(jnp.floor(u[1] * A).astype(jnp.int32), A - 1)
    return jnp.where(u[0] < eps, random, greedy)


def _draw(cdf, u):
    return jnp.minimum(jnp.sum(cdf <= u), cdf.shape[0] - 1)


@functools.partial(jax.jit, static_argnames=("n_episodes", "max_steps"))
def _control(key, P, R, terminal, start, sarsa, alpha, gamma, eps, q0, n_episodes, max_steps):
    S, A, _ = P.shape
    live = (~terminal).astype(P.dtype)
    P_cdf = jnp.cumsum(P, axis=-1)

    def episode(QN, e):
        Q = QN[0]
        # every uniform this episode may need, drawn at once: row 0 starts, row t + 1 is step t
        u = jax.random.uniform(jax.random.fold_in(key, e), (max_steps + 1, 4))
        s0 = _draw(jnp.cumsum(start), u[0, 3])
        a0 = _eps_greedy(u[0], Q[s0], eps)

        def cond(c):
            _, s, _, t, _ = c
            return (t < max_steps) & ~terminal[s]

        def body(c):
            (Q, N), s, a, t, ret = c
            ut = u[t + 1]
            s2 = _draw(P_cdf[s, a], ut[3])
            r = R[s, a, s2]
            # the next action is drawn before the update (SARSA needs it for its target; for
            # Q-learning this matters only when s' = s)
            a2 = _eps_greedy(ut, Q[s2], eps)
            nxt = jnp.where(sarsa, Q[s2, a2], jnp.max(Q[s2]))
            target = r + gamma * nxt * live[s2]  # terminal s': the target is r alone
            Q = Q.at[s, a].set((1.0 - alpha) * Q[s, a] + alpha * target)
            return (Q, N.at[s, a].add(1)), s2, a2, t + 1, ret + r

        init = (QN, s0, a0, 0, jnp.zeros((), P.dtype))
        QN, _, _, t, ret = jax.lax.while_loop(cond, body, init)
        return QN, (ret, t)

    Q0 = jnp.full((S, A), q0, P.dtype) * live[:, None]
    N0 = jnp.zeros((S, A), jnp.int32)
    (Q, N), (returns, lengths) = jax.lax.scan(episode, (Q0, N0), jnp.arange(n_episodes))
    return ControlRun(Q, returns, lengths, N)


@functools.partial(jax.jit, static_argnames=("n_episodes", "max_steps"))
def _control_many(keys, *args, n_episodes, max_steps):
    one = functools.partial(_control, n_episodes=n_episodes, max_steps=max_steps)
    return jax.vmap(one, in_axes=(0, *([None] * len(args))))(keys, *args)


def td_control(
    mdp: MDP,
    *,
    key: PRNGKey,
    method: str = "q_learning",
    n_episodes: int,
    alpha: float = 0.5,
    gamma: float = 1.0,
    eps: float = 0.1,
    q0: float = 0.0,
    max_steps: int = 1000,
) -> ControlRun:
    r"""Tabular Q-learning (Aggarwal Eq 9.11) or SARSA (Eq 9.12), acting ε-greedily.

    Each episode starts from ``mdp.start`` and runs until a terminal state or ``max_steps``
    steps. At each step: move, draw the next action ε-greedily from the current table (ties
    broken at random), then update
    $Q(s, a) \leftarrow (1-\alpha)Q(s, a) + \alpha(r + \gamma\,\cdot)$ with
    $\max_{a'} Q(s', a')$ (Q-learning) or $Q(s', a')$ for the action actually taken next
    (SARSA), and with target $r$ at a terminal $s'$. With ``eps = 0`` the two are the same
    algorithm and, with the same key, give the same trajectories.

    ``key`` may be one key or an array of keys ``(n,)`` (independent runs, ``vmap``-ed).
    ``method``, ``alpha``, ``gamma``, ``eps`` and ``q0`` are traced; ``n_episodes`` and
    ``max_steps`` are sizes.

    Returns:
        :class:`ControlRun` (with a leading axis ``n`` for a batch of keys).
    """
    _validate.prng_key("key", key)
    mdp = check_mdp(mdp)
    sarsa = _validate.lookup("method", {"q_learning": False, "sarsa": True}, method)
    n_episodes = _validate.positive_int("n_episodes", n_episodes)
    max_steps = _validate.positive_int("max_steps", max_steps)
    _hyper(alpha, gamma)
    _validate.in_range("eps", eps, 0.0, 1.0)
    _validate.finite("q0", _validate.float_array("q0", q0, ndim=0))
    dt = mdp.P.dtype
    args = (mdp.P, mdp.R, mdp.terminal, mdp.start, jnp.asarray(sarsa), jnp.asarray(alpha, dt),
            jnp.asarray(gamma, dt), jnp.asarray(eps, dt), jnp.asarray(q0, dt))  # fmt: skip
    if key.ndim == 0 or (key.dtype == jnp.uint32 and key.shape == (2,)):
        return _control(key, *args, n_episodes=n_episodes, max_steps=max_steps)
    return _control_many(key, *args, n_episodes=n_episodes, max_steps=max_steps)


@functools.partial(jax.jit, static_argnames=("n_episodes", "max_steps"))
def _control_pair(keys, P, R, terminal, start, alpha, gamma, eps, q0, *, n_episodes, max_steps):
    def both(sarsa):
        return _control_many(keys, P, R, terminal, start, sarsa, alpha, gamma, eps, q0,
                             n_episodes=n_episodes, max_steps=max_steps)  # fmt: skip

    return jax.vmap(both)(jnp.array([False, True]))


def compare_control(
    mdp: MDP,
    *,
    keys: PRNGKey,
    n_episodes: int,
    alpha: float = 0.5,
    gamma: float = 1.0,
    eps: float = 0.1,
    q0: float = 0.0,
    max_steps: int = 1000,
) -> ControlRun:
    """Q-learning and SARSA on the same keys in one compiled call (see :func:`td_control`).

    ``keys: (n,)``. Returns a :class:`ControlRun` whose fields have leading axes ``(2, n)``:
    index 0 is Q-learning, index 1 SARSA. ``alpha``, ``gamma``, ``eps``, ``q0`` are traced.
    """
    _validate.prng_key("keys", keys)
    if keys.ndim != 1 or keys.shape[0] < 1:
        raise ValueError(f"`keys` must be a 1-D array of keys, e.g. jax.random.split(key, 10), "
                         f"got shape {keys.shape}.")  # fmt: skip
    mdp = check_mdp(mdp)
    n_episodes = _validate.positive_int("n_episodes", n_episodes)
    max_steps = _validate.positive_int("max_steps", max_steps)
    _hyper(alpha, gamma)
    _validate.in_range("eps", eps, 0.0, 1.0)
    _validate.finite("q0", _validate.float_array("q0", q0, ndim=0))
    dt = mdp.P.dtype
    return _control_pair(keys, mdp.P, mdp.R, mdp.terminal, mdp.start, jnp.asarray(alpha, dt),
                         jnp.asarray(gamma, dt), jnp.asarray(eps, dt), jnp.asarray(q0, dt),
                         n_episodes=n_episodes, max_steps=max_steps)  # fmt: skip


def control_cache_size() -> int:
    """Compiled versions of the control loops (for no-recompile tests)."""
    return _control_many._cache_size() + _control_pair._cache_size() + _control._cache_size()


def greedy_actions(Q: ArrayLike, visits: ArrayLike | None = None) -> np.ndarray:
    """$\\arg\\max_a Q(s, a)$ for every state (ties to the lowest index): ``(S,)`` int.

    With ``visits: (S, A)``, only actions tried at least once count (where a state has some):
    an untried action keeps its initial value, which would otherwise look best.
    """
    q = np.asarray(_validate.float_array("Q", Q, ndim=2), np.float64)
    if visits is not None:
        n = np.asarray(visits)
        if n.shape != q.shape:
            raise ValueError(f"`visits` must have the shape of Q, {q.shape}, got {n.shape}.")
        tried = n > 0
        q = np.where(tried | ~tried.any(axis=1, keepdims=True), q, -np.inf)
    return np.argmax(q, axis=1)
