r"""Finite Markov decision processes as arrays, and their exact solutions (Aggarwal §9.3, §9.4).

An agent in state $s_t$ takes action $a_t$, receives the reward $r_t$ and moves to $s_{t+1}$;
the *Markov property* says that $s_{t+1}$ and $r_t$ depend only on $(s_t, a_t)$, not on the
earlier history. An episode is the trajectory $s_0 a_0 r_0 s_1 a_1 r_1 \dots$ up to a terminal
state. A finite MDP is therefore three arrays:

- ``P: (S, A, S)``, the transition probabilities $P[s, a, s'] = \Pr(s_{t+1}=s' \mid s, a)$;
- ``R: (S, A, S)``, the reward $R[s, a, s']$ of that transition;
- ``terminal: (S,)``, the states where an episode ends (their value is 0),

plus ``start: (S,)``, the distribution of $s_0$. The return from time $t$ (Eq 9.2) is
$R_t = \sum_{i \ge 0} \gamma^i r_{t+i}$, and a policy $\pi$ ``(S, A)`` has the value
$V^\pi(s) = E[R_t \mid s_t = s]$, the solution of the linear Bellman equation
$V = r_\pi + \gamma P_\pi V$ (Eq 9.14 in expectation). The optimal action values satisfy
$Q^*(s, a) = \sum_{s'} P[s, a, s'](R[s, a, s'] + \gamma \max_{a'} Q^*(s', a'))$ (the
expectation of Eq 9.5); :func:`value_iteration` finds them.

Three small worlds: the 5-state random walk (:func:`random_walk`), the 4 x 12 cliff walk
(:func:`cliff_walk`) and a deterministic chain (:func:`chain`). :func:`sample_episodes` draws
episodes of a policy as one pure, jitted function (``lax.scan`` over steps with a "still
running" mask, ``vmap`` over episodes).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from course_lib import _validate
from course_lib._types import Array, ArrayLike, PRNGKey


class MDP(NamedTuple):
    """A finite MDP (see the module docstring). A pytree of arrays."""

    P: Array  # (S, A, S) transition probabilities, rows sum to 1
    R: Array  # (S, A, S) reward of each transition
    terminal: Array  # (S,) bool: the episode ends on entering these states
    start: Array  # (S,) distribution of the first state


class Episodes(NamedTuple):
    """A batch of episodes padded to ``max_steps``; step ``t`` of episode ``e`` is real when
    ``valid[e, t]``. ``done[e, t]`` says that ``next_states[e, t]`` is terminal."""

    states: Array  # (E, T) int32, s_t
    actions: Array  # (E, T) int32, a_t
    rewards: Array  # (E, T) float, r_t (0 on padding)
    next_states: Array  # (E, T) int32, s_{t+1}
    valid: Array  # (E, T) bool
    done: Array  # (E, T) bool


# ------------------------------------------------------------------------------ validation


def check_mdp(mdp: MDP) -> MDP:
    """Return ``mdp`` with float arrays, or raise a clear error about its shapes and values."""
    if not isinstance(mdp, MDP):
        raise TypeError(f"`mdp` must be an mdp.MDP, got {type(mdp).__name__}.")
    P = _validate.float_array("mdp.P", mdp.P, ndim=3)
    R = _validate.float_array("mdp.R", mdp.R, ndim=3)
    S, A, S2 = P.shape
    if S2 != S or S == 0 or A == 0:
        raise ValueError(f"`mdp.P` must have shape (S, A, S), got {tuple(P.shape)}.")
    if R.shape != P.shape:
        raise ValueError(f"`mdp.R` must have the shape of P, {tuple(P.shape)}, got {R.shape}.")
    terminal = jnp.asarray(mdp.terminal)
    start = _validate.float_array("mdp.start", mdp.start, ndim=1)
    if terminal.shape != (S,) or start.shape != (S,):
        raise ValueError(
            f"`mdp.terminal` and `mdp.start` must have shape ({S},), got "
            f"{tuple(terminal.shape)} and {tuple(start.shape)}."
        )
    if not _validate.is_traced(P):
        p = np.asarray(P, np.float64)
        if np.any(p < 0) or not np.allclose(p.sum(-1), 1.0, atol=1e-5):
            raise ValueError("`mdp.P[s, a]` must be probability vectors (>= 0, summing to 1).")
        _validate.finite("mdp.R", R)
    return MDP(P, R, terminal.astype(bool), start)


def _check_policy(policy: ArrayLike, S: int, A: int) -> Array:
    pi = _validate.float_array("policy", policy, ndim=2)
    if pi.shape != (S, A):
        raise ValueError(f"`policy` must have shape ({S}, {A}) (states, actions), got {pi.shape}.")
    if not _validate.is_traced(pi):
        p = np.asarray(pi, np.float64)
        if np.any(p < 0) or not np.allclose(p.sum(-1), 1.0, atol=1e-5):
            raise ValueError("`policy[s]` must be a probability vector over the actions.")
    return pi


def _check_gamma(gamma: float, *, allow_one: bool = True) -> float:
    _validate.in_range("gamma", gamma, 0.0, 1.0)
    if not allow_one and not _validate.is_traced(gamma) and float(gamma) >= 1.0:
        raise ValueError(f"`gamma` must be < 1 here, got {gamma!r}.")
    return gamma


# ------------------------------------------------------------------------------ returns


@jax.jit
def _returns(rewards: Array, gamma: Array) -> Array:
    def back(g, r):  # scan from the last step: R_t = r_t + gamma R_{t+1}
        g = r + gamma * g
        return g, g

    _, out = jax.lax.scan(back, jnp.zeros(rewards.shape[:-1], rewards.dtype),
                          jnp.moveaxis(rewards, -1, 0), reverse=True)  # fmt: skip
    return jnp.moveaxis(out, 0, -1)


def discounted_return(rewards: ArrayLike, *, gamma: float) -> Array:
    r"""The return from every step, $R_t = \sum_{i \ge 0} \gamma^i r_{t+i}$ (Aggarwal Eq 9.2).

    Computed backwards, $R_t = r_t + \gamma R_{t+1}$ with $R_T = 0$ (one ``lax.scan``;
    ``gamma`` is traced). $\gamma = 0$ is the myopic agent ($R_t = r_t$).

    Args:
        rewards: ``(..., T)``, the rewards of one episode (or a batch, on the last axis); pad
            after the end with zeros.
        gamma: the discount factor in $[0, 1]$.

    Returns:
        ``(..., T)``, the returns $R_0, \dots, R_{T-1}$.
    """
    r = _validate.float_array("rewards", rewards)
    if r.ndim == 0:
        raise ValueError("`rewards` must have a time axis (shape (..., T)), got a scalar.")
    _validate.finite("rewards", r)
    _check_gamma(gamma)
    return _returns(r, jnp.asarray(gamma, r.dtype))


# ------------------------------------------------------------------------------ exact solutions


def policy_arrays(mdp: MDP, policy: ArrayLike) -> tuple[Array, Array]:
    r"""$P_\pi[s, s'] = \sum_a \pi(a|s) P[s, a, s']$ and $r_\pi[s] = \sum_{a, s'} \pi(a|s)
    P[s, a, s'] R[s, a, s']$, with the rows of terminal states zeroed (nothing follows them).

    Returns:
        ``(P_pi: (S, S), r_pi: (S,))``.
    """
    mdp = check_mdp(mdp)
    S, A, _ = mdp.P.shape
    pi = _check_policy(policy, S, A)
    live = (~mdp.terminal).astype(mdp.P.dtype)
    P_pi = jnp.einsum("sa,sat->st", pi, mdp.P) * live[:, None]
    r_pi = jnp.einsum("sa,sat,sat->s", pi, mdp.P, mdp.R) * live
    return P_pi, r_pi


def evaluate_policy(mdp: MDP, policy: ArrayLike, *, gamma: float) -> np.ndarray:
    r"""The exact value of a policy: $V^\pi = (I - \gamma P_\pi)^{-1} r_\pi$ (float64).

    The Bellman equation $V(s) = r_\pi(s) + \gamma \sum_{s'} P_\pi(s, s') V(s')$ (the
    expectation of Aggarwal Eq 9.15) is linear in $V$, so one linear solve gives it exactly.
    Terminal states have value 0. With $\gamma = 1$ this needs every episode to end (a proper
    policy); otherwise the matrix is singular and a ``ValueError`` says so.

    Returns:
        ``(S,)`` float64 NumPy array.
    """
    mdp = check_mdp(mdp)
    _check_gamma(gamma)
    with jax.enable_x64(True):
        m64 = jax.tree.map(lambda a: jnp.asarray(np.asarray(a, np.float64)), mdp)
        m64 = MDP(m64.P, m64.R, jnp.asarray(mdp.terminal), m64.start)
        P_pi, r_pi = policy_arrays(m64, jnp.asarray(np.asarray(policy, np.float64)))
        M = jnp.eye(P_pi.shape[0], dtype=jnp.float64) - float(gamma) * P_pi
        _validate.nonsingular(
            "gamma", M, what="I - gamma P_pi",
            hint="with gamma = 1 some episodes never end; use gamma < 1.",
        )  # fmt: skip
        return np.asarray(jnp.linalg.solve(M, r_pi))


@functools.partial(jax.jit, static_argnames=("max_iter",))
def _value_iteration(P, R, terminal, gamma, tol, max_iter):
    live = (~terminal).astype(P.dtype)
    expected_r = jnp.einsum("sat,sat->sa", P, R)

    def backup(Q):
        V = jnp.max(Q, axis=1) * live
        return (expected_r + gamma * jnp.einsum("sat,t->sa", P, V)) * live[:, None]

    def cond(c):
        _, gap, i = c
        return (gap > tol) & (i < max_iter)

    def body(c):
        Q, _, i = c
        Q2 = backup(Q)
        return Q2, jnp.max(jnp.abs(Q2 - Q)), i + 1

    Q0 = jnp.zeros(expected_r.shape, P.dtype)
    Q, gap, iters = jax.lax.while_loop(cond, body, (Q0, jnp.asarray(jnp.inf, P.dtype), 0))
    return Q, gap, iters


def value_iteration(
    mdp: MDP, *, gamma: float, tol: float = 1e-12, max_iter: int = 10_000
) -> np.ndarray:
    r"""The optimal action values $Q^*$ by value iteration, in float64.

    Repeats the Bellman optimality backup
    $Q(s, a) \leftarrow \sum_{s'} P[s, a, s'] \big(R[s, a, s'] + \gamma \max_{a'} Q(s', a')\big)$
    (the expectation of Aggarwal Eq 9.5; terminal states have $Q = 0$) from $Q = 0$ until no
    entry moves by more than ``tol``. It converges for $\gamma < 1$, and for $\gamma = 1$ on
    the episodic worlds here (every optimal path ends). Raises ``RuntimeError`` if it has not
    converged after ``max_iter`` sweeps.

    Returns:
        ``Q*: (S, A)`` float64 NumPy array; $V^* = \max_a Q^*$.
    """
    mdp = check_mdp(mdp)
    _check_gamma(gamma)
    _validate.positive("tol", tol)
    max_iter = _validate.positive_int("max_iter", max_iter)
    with jax.enable_x64(True):
        f = lambda a: jnp.asarray(np.asarray(a, np.float64))  # noqa: E731
        Q, gap, _ = _value_iteration(f(mdp.P), f(mdp.R), jnp.asarray(np.asarray(mdp.terminal)),
                                     jnp.float64(gamma), jnp.float64(tol), max_iter)  # fmt: skip
        if not float(gap) <= tol:
            raise RuntimeError(
                f"value iteration did not converge in {max_iter} sweeps (last change {gap:.3g})."
            )
        return np.asarray(Q)


def greedy_policy(Q: ArrayLike) -> Array:
    """The deterministic policy $\\pi(s) = \\arg\\max_a Q(s, a)$ as one-hot rows ``(S, A)``
    (ties go to the lowest action index)."""
    Q = _validate.float_array("Q", Q, ndim=2)
    return jax.nn.one_hot(jnp.argmax(Q, axis=1), Q.shape[1], dtype=Q.dtype)


def optimal_actions(Q: ArrayLike, *, tol: float = 1e-9) -> np.ndarray:
    """Boolean ``(S, A)``: the actions within ``tol`` of the best, i.e. every optimal action."""
    q = np.asarray(_validate.float_array("Q", Q, ndim=2), np.float64)
    return q >= q.max(axis=1, keepdims=True) - tol


# ------------------------------------------------------------------------------ sampling


def _draw(cdf: Array, u: Array) -> Array:
    """Inverse-CDF sampling: the first index whose cumulative probability exceeds ``u``."""
    return jnp.minimum(jnp.sum(cdf <= u), cdf.shape[0] - 1)


@functools.partial(jax.jit, static_argnames=("n_episodes", "max_steps"))
def _sample(key, P, R, terminal, start, policy, n_episodes, max_steps):
    # all uniforms in one draw (vectorized threefry), then inverse-CDF sampling inside the scan
    u0 = jax.random.uniform(jax.random.fold_in(key, 0), (n_episodes,))
    u = jax.random.uniform(jax.random.fold_in(key, 1), (n_episodes, max_steps, 2))
    P_cdf, pi_cdf = jnp.cumsum(P, axis=-1), jnp.cumsum(policy, axis=-1)
    start_cdf = jnp.cumsum(start)

    def episode(u0, u):
        s0 = _draw(start_cdf, u0)

        def step(carry, ut):
            s, alive = carry
            a = _draw(pi_cdf[s], ut[0])
            s2 = _draw(P_cdf[s, a], ut[1])
            r = R[s, a, s2] * alive
            done = terminal[s2]
            out = (s, a, r, s2, alive, done & alive)
            return (jnp.where(alive, s2, s), alive & ~done), out

        return jax.lax.scan(step, (s0, ~terminal[s0]), u)[1]

    s, a, r, s2, valid, done = jax.vmap(episode)(u0, u)
    i32 = jnp.int32
    return Episodes(s.astype(i32), a.astype(i32), r, s2.astype(i32), valid, done)


def sample_episodes(
    mdp: MDP, policy: ArrayLike, *, key: PRNGKey, n_episodes: int, max_steps: int
) -> Episodes:
    r"""Draw ``n_episodes`` episodes of ``policy`` (``(S, A)`` probabilities) in ``mdp``.

    One ``lax.scan`` of ``max_steps`` steps per episode, ``vmap`` over episodes: at step $t$
    draw $a_t \sim \pi(\cdot|s_t)$, $s_{t+1} \sim P[s_t, a_t]$, $r_t = R[s_t, a_t, s_{t+1}]$;
    after a terminal state the remaining steps are padding (``valid`` False). Episodes that
    last longer than ``max_steps`` are cut (their last ``done`` is False).

    Returns:
        :class:`Episodes`, every field ``(n_episodes, max_steps)``.
    """
    _validate.prng_key("key", key)
    mdp = check_mdp(mdp)
    S, A, _ = mdp.P.shape
    pi = _check_policy(policy, S, A)
    n_episodes = _validate.positive_int("n_episodes", n_episodes)
    max_steps = _validate.positive_int("max_steps", max_steps)
    return _sample(key, mdp.P, mdp.R, mdp.terminal, mdp.start, pi, n_episodes, max_steps)


def deterministic_path(
    mdp: MDP, actions: ArrayLike, *, max_steps: int = 100
) -> tuple[np.ndarray, float, bool]:
    """Follow the deterministic policy ``actions: (S,)`` from the most likely start state,
    taking the most likely next state each step (exact for a deterministic MDP).

    Returns:
        ``(states, total_reward, reached_terminal)``: the visited states (the start first, the
        terminal last when reached), the undiscounted sum of rewards, and whether it ended.
    """
    mdp = check_mdp(mdp)
    S = mdp.P.shape[0]
    acts = np.asarray(_validate.index_array("actions", actions, size=mdp.P.shape[1], ndim=1))
    if acts.shape != (S,):
        raise ValueError(f"`actions` must have shape ({S},), got {acts.shape}.")
    max_steps = _validate.positive_int("max_steps", max_steps)
    P, R, term = (np.asarray(x) for x in (mdp.P, mdp.R, mdp.terminal))
    s = int(np.argmax(np.asarray(mdp.start)))
    states, total = [s], 0.0
    for _ in range(max_steps):
        if term[s]:
            break
        s2 = int(np.argmax(P[s, acts[s]]))
        total += float(R[s, acts[s], s2])
        s = s2
        states.append(s)
    return np.asarray(states), total, bool(term[s])


# ------------------------------------------------------------------------------ worlds


def _mdp(P: np.ndarray, R: np.ndarray, terminal: np.ndarray, start: np.ndarray) -> MDP:
    return MDP(jnp.asarray(P, jnp.float32), jnp.asarray(R, jnp.float32),
               jnp.asarray(terminal, bool), jnp.asarray(start, jnp.float32))  # fmt: skip


def random_walk(n: int = 5) -> MDP:
    r"""The random walk of ``n`` states (Sutton & Barto's example 6.2): states ``1..n`` in a
    row between two terminal states ``0`` and ``n + 1``; one action, a fair step left or
    right; reward +1 on reaching the right end, 0 otherwise; start in the middle.

    With $\gamma = 1$ the value of state $i$ is the probability of leaving on the right,
    $V(i) = i / (n + 1)$: $1/6, \dots, 5/6$ for ``n = 5``.
    """
    n = _validate.positive_int("n", n)
    S = n + 2
    P = np.zeros((S, 1, S))
    R = np.zeros((S, 1, S))
    for s in range(1, n + 1):
        P[s, 0, s - 1] = P[s, 0, s + 1] = 0.5
    P[0, 0, 0] = P[S - 1, 0, S - 1] = 1.0
    R[n, 0, n + 1] = 1.0
    terminal = np.zeros(S, bool)
    terminal[[0, S - 1]] = True
    start = np.zeros(S)
    start[(n + 1) // 2] = 1.0
    return _mdp(P, R, terminal, start)


#: The cliff walk's grid, its moves and its special cells.
CLIFF_ROWS, CLIFF_COLS = 4, 12
ACTIONS = ("up", "right", "down", "left")
_MOVES = ((-1, 0), (0, 1), (1, 0), (0, -1))
CLIFF_START = (3, 0)
CLIFF_GOAL = (3, 11)


def cliff_walk() -> MDP:
    r"""The 4 x 12 cliff walk (Sutton & Barto's example 6.6, Aggarwal §9.4.3).

    State ``row * 12 + col``; start at the bottom left (3, 0), goal (terminal) at the bottom
    right (3, 11); the cells between them on the bottom row are the cliff. Actions
    :data:`ACTIONS` (up, right, down, left) move one cell (a move off the grid stays put).
    Every step costs -1; stepping into the cliff costs -100 and sends the agent back to the
    start. The shortest path runs along the cliff's edge: 13 steps, return -13.
    """
    S = CLIFF_ROWS * CLIFF_COLS
    P = np.zeros((S, 4, S))
    R = np.full((S, 4, S), -1.0)
    start = CLIFF_START[0] * CLIFF_COLS + CLIFF_START[1]
    for r in range(CLIFF_ROWS):
        for c in range(CLIFF_COLS):
            s = r * CLIFF_COLS + c
            for a, (dr, dc) in enumerate(_MOVES):
                r2 = min(max(r + dr, 0), CLIFF_ROWS - 1)
                c2 = min(max(c + dc, 0), CLIFF_COLS - 1)
                if r2 == CLIFF_ROWS - 1 and 0 < c2 < CLIFF_COLS - 1:
                    P[s, a, start] = 1.0  # fell: back to the start
                    R[s, a, start] = -100.0
                else:
                    P[s, a, r2 * CLIFF_COLS + c2] = 1.0
    terminal = np.zeros(S, bool)
    terminal[CLIFF_GOAL[0] * CLIFF_COLS + CLIFF_GOAL[1]] = True
    p0 = np.zeros(S)
    p0[start] = 1.0
    return _mdp(P, R, terminal, p0)


def chain(n: int = 6) -> MDP:
    r"""A deterministic chain of ``n`` states; state ``n - 1`` (the right end) is terminal.

    Action 0 moves left (state 0 stays), action 1 moves right; reaching the right end pays +1,
    every other step 0. Start at state 0. The optimal values are powers of $\gamma$:
    $Q^*(s, \text{right}) = \gamma^{n-2-s}$ and
    $Q^*(s, \text{left}) = \gamma^{n-1-\max(s-1, 0)}$ (one step back, then the best path).
    """
    n = _validate.positive_int("n", n)
    if n < 2:
        raise ValueError(f"`n` must be at least 2 (a state and the goal), got {n}.")
    P = np.zeros((n, 2, n))
    R = np.zeros((n, 2, n))
    for s in range(n):
        P[s, 0, max(s - 1, 0)] = 1.0
        P[s, 1, min(s + 1, n - 1)] = 1.0
    R[n - 2, 1, n - 1] = 1.0
    terminal = np.zeros(n, bool)
    terminal[n - 1] = True
    start = np.zeros(n)
    start[0] = 1.0
    return _mdp(P, R, terminal, start)


def chain_q_star(n: int, gamma: float) -> np.ndarray:
    """The closed form of :func:`chain`'s $Q^*$ (powers of $\\gamma$), float64 ``(n, 2)``."""
    n = _validate.positive_int("n", n)
    _check_gamma(gamma)
    Q = np.zeros((n, 2))
    for s in range(n - 1):
        Q[s, 1] = gamma ** (n - 2 - s)
        Q[s, 0] = gamma ** (n - 1 - max(s - 1, 0))
    return Q


def grid_cells(states: ArrayLike, cols: int = CLIFF_COLS) -> np.ndarray:
    """``(row, col)`` of grid states ``row * cols + col``: ``(k, 2)`` int."""
    s = np.asarray(states, np.int64).reshape(-1)
    return np.stack([s // cols, s % cols], axis=1)
