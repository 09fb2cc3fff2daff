r"""Multi-armed bandits: reinforcement learning without states (Aggarwal §9.1-9.2).

A gambler faces $k$ slot machines (*arms*). Pulling arm $i$ pays a random reward with an unknown
mean $\mu_i$; the same arm always pays from the same distribution, so there is no state. A
strategy chooses arm $a_t$ at each pull $t = 1, \dots, T$ from what it has seen so far, and is
judged by its **expected regret**

$$R_T = \sum_{t=1}^{T} \big(\mu^* - \mu_{a_t}\big), \qquad \mu^* = \max_i \mu_i,$$

the reward it lost, in expectation, by not always pulling the best arm. Every strategy here
keeps, per arm, the number of pulls $n_i$ and the mean reward $Q_i$, updated incrementally:

$$Q_i \leftarrow Q_i + \frac{r - Q_i}{n_i} \qquad (n_i \text{ counts the new reward}).$$

The strategies (:func:`strategy`):

- ``"naive"`` (§9.2.1): pull every arm $m$ times in turn, then commit to the best mean forever;
- ``"epsilon"`` (§9.2.2): with probability $\varepsilon$ a uniformly random arm, otherwise the
  greedy arm $\arg\max_i Q_i$;
- ``"annealed"``: $\varepsilon$-greedy with $\varepsilon_t = \min(1, c/t)$, which decays like
  $1/t$ (the schedule of Auer, Cesa-Bianchi and Fischer, 2002);
- ``"ucb"`` (§9.2.3, Eq 9.1): $U_i = Q_i + K\,\sigma_i/\sqrt{n_i}$, the arm with the largest
  upper bound;
- ``"ucb1"``: $U_i = Q_i + K\sqrt{2\ln t / n_i}$ (Auer et al.'s UCB1 at $K = 1$).

All but ``"naive"`` first pull every arm once, lowest index first (an untried arm has
$n_i = 0$: an infinite bonus). Ties go to the lowest index.

One jitted :func:`simulate` runs a whole stack of strategies on many seeds at once: a
``lax.scan`` over the $T$ pulls inside ``vmap`` over seeds and strategies. Every
hyperparameter (the kind of strategy too) and the number of arms are traced arrays, so a
widget never recompiles: the bandit is padded to ``k_max`` arms and the arms past ``n_arms``
are masked out. The uniform numbers are made from ``jax.random.bits`` (24-bit, exact in
float32), so a Bernoulli bandit's run depends on no float rounding of the random draws.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from course_lib import _validate
from course_lib._types import Array, ArrayLike, PRNGKey

#: the strategies, by name, and the integer code :class:`Strategy` carries (traced)
KINDS = {"naive": 0, "epsilon": 1, "annealed": 2, "ucb": 3, "ucb1": 4}

# ------------------------------------------------------------------------------ the bandit


class Bandit(NamedTuple):
    """A bandit of ``n_arms`` arms padded to ``k_max = means.shape[0]`` (all arrays)."""

    means: Array  # (k_max,) expected reward mu_i of each arm (the padding is ignored)
    stds: Array  # (k_max,) reward standard deviation of a Gaussian arm (0 for Bernoulli)
    n_arms: Array  # () int32: arms 0 .. n_arms - 1 are in play
    bernoulli: Array  # () bool: rewards in {0, 1} with P(1) = mu_i, else N(mu_i, std_i^2)


def _bandit(means, stds, bernoulli: bool, k_max: int | None) -> Bandit:
    means = _validate.finite("means", _validate.float_array("means", means, ndim=1))
    _validate.nonempty("means", means, what="arm")
    k = int(means.shape[0])
    k_max = k if k_max is None else _validate.positive_int("k_max", k_max)
    if k_max < k:
        raise ValueError(f"`k_max` must be at least the number of arms {k}, got {k_max}.")
    stds = jnp.broadcast_to(jnp.asarray(stds, means.dtype), (k,))
    dtype = jnp.result_type(float)
    pad = k_max - k
    return Bandit(
        jnp.concatenate([means.astype(dtype), jnp.zeros(pad, dtype)]),
        jnp.concatenate([stds.astype(dtype), jnp.zeros(pad, dtype)]),
        jnp.asarray(k, jnp.int32),
        jnp.asarray(bernoulli),
    )


def bernoulli_bandit(means: ArrayLike, *, k_max: int | None = None) -> Bandit:
    r"""A bandit whose arm $i$ pays 1 with probability $\mu_i$ and 0 otherwise.

    Args:
        means: ``(k,)`` success probabilities in $[0, 1]$.
        k_max: pad to this many arms (the padding is never pulled); default ``k``.
    """
    arr = _validate.float_array("means", means, ndim=1)
    if not _validate.is_traced(arr):
        values = np.asarray(arr)
        if values.size and (values.min() < 0.0 or values.max() > 1.0):
            raise ValueError(
                "`means` of a Bernoulli bandit are probabilities and must lie in [0, 1], "
                f"got values in [{values.min():.3g}, {values.max():.3g}]."
            )
    return _bandit(arr, 0.0, True, k_max)


def gaussian_bandit(means: ArrayLike, stds: ArrayLike = 1.0, *, k_max: int | None = None) -> Bandit:
    r"""A bandit whose arm $i$ pays $\mathcal N(\mu_i, \sigma_i^2)$.

    Args:
        means: ``(k,)`` expected rewards.
        stds: ``()`` or ``(k,)`` standard deviations, positive.
        k_max: pad to this many arms; default ``k``.
    """
    s = _validate.float_array("stds", stds, ndim=(0, 1))
    if not _validate.is_traced(s) and not np.all(np.asarray(s) > 0.0):
        raise ValueError(f"`stds` must be positive, got {np.asarray(s).tolist()}.")
    m = _validate.float_array("means", means, ndim=1)
    if s.ndim == 1 and s.shape != m.shape:
        raise ValueError(
            f"`stds` must be one number or one per arm, shape {tuple(m.shape)}; got "
            f"shape {tuple(s.shape)}."
        )
    return _bandit(m, s, False, k_max)


def with_arms(bandit: Bandit, n_arms: int) -> Bandit:
    """The same bandit with only its first ``n_arms`` arms in play (a traced count: no
    recompile). ``n_arms`` must lie in ``[1, k_max]``."""
    n = _validate.positive_int("n_arms", n_arms)
    k_max = int(bandit.means.shape[0])
    if n > k_max:
        raise ValueError(f"`n_arms` must be at most k_max = {k_max}, got {n}.")
    return bandit._replace(n_arms=jnp.asarray(n, jnp.int32))


def _active(bandit: Bandit) -> Array:
    return jnp.arange(bandit.means.shape[0]) < bandit.n_arms


def best_mean(bandit: Bandit) -> Array:
    r"""$\mu^* = \max_i \mu_i$ over the arms in play."""
    return jnp.max(jnp.where(_active(bandit), bandit.means, -jnp.inf))


# ------------------------------------------------------------------------------ strategies


class Strategy(NamedTuple):
    """A strategy's hyperparameters, all traced (``()`` arrays; stacked: ``(S,)``)."""

    kind: Array  # int32 code from KINDS
    eps: Array  # epsilon of "epsilon"
    c: Array  # annealing constant of "annealed": eps_t = min(1, c / t)
    K: Array  # confidence multiplier of "ucb" and "ucb1"
    m: Array  # int32: pulls per arm in the exploration phase of "naive"
    sigma0: Array  # prior standard deviation in sigma_i of "ucb" (see ucb_scores)


def strategy(
    kind: str,
    *,
    eps: float = 0.1,
    c: float = 10.0,
    K: float = 3.0,
    m: int = 10,
    sigma0: float = 0.5,
) -> Strategy:
    """Hyperparameters of one strategy (see the module docstring for the kinds).

    Only the ones the kind uses matter; all are stored, so that strategies of different kinds
    stack into one batch (:func:`stack`).
    """
    code = _validate.lookup("strategy kind", KINDS, kind)
    _validate.in_range("eps", eps, 0.0, 1.0)
    _validate.positive("c", c, allow_zero=True)
    _validate.positive("K", K, allow_zero=True)
    m = _validate.positive_int("m", m)
    _validate.positive("sigma0", sigma0, allow_zero=True)
    f = jnp.result_type(float)
    return Strategy(
        jnp.asarray(code, jnp.int32),
        jnp.asarray(eps, f),
        jnp.asarray(c, f),
        jnp.asarray(K, f),
        jnp.asarray(m, jnp.int32),
        jnp.asarray(sigma0, f),
    )


def stack(strategies: list[Strategy] | tuple[Strategy, ...]) -> Strategy:
    """Several strategies as one batch: every field gets a leading axis ``(S,)``."""
    if not strategies or not all(isinstance(s, Strategy) for s in strategies):
        raise TypeError("`strategies` must be a non-empty list of Strategy (from strategy()).")
    return jax.tree.map(lambda *a: jnp.stack(a), *strategies)


# ------------------------------------------------------------------------------ pieces


def update_mean(q: ArrayLike, n: ArrayLike, r: ArrayLike) -> Array:
    r"""The incremental mean: $Q \leftarrow Q + (r - Q)/n$, where $n$ counts the new reward.

    If ``q`` is the mean of $n - 1$ rewards, the result is the mean of those and ``r``.
    """
    q, n, r = jnp.asarray(q), jnp.asarray(n), jnp.asarray(r)
    return q + (r - q) / n


def running_mean(rewards: ArrayLike) -> Array:
    r"""The mean of the first $t$ rewards for $t = 1..T$, by :func:`update_mean` in a
    ``lax.scan`` (``rewards: (T,)`` -> ``(T,)``). Equals ``cumsum(r) / arange(1, T + 1)`` up to
    rounding."""
    r = _validate.float_array("rewards", rewards, ndim=1)
    return _running_mean(r)


@jax.jit
def _running_mean(r):
    def step(carry, x):
        q, n = carry
        n = n + 1
        q = update_mean(q, n, x)
        return (q, n), q

    _, out = lax.scan(step, (jnp.zeros((), r.dtype), jnp.zeros((), r.dtype)), r)
    return out


def epsilon_at(t: ArrayLike, *, eps: ArrayLike, c: ArrayLike, annealed: ArrayLike) -> Array:
    r"""The exploration probability at pull $t \ge 1$: $\min(1, c/t)$ when annealed, else
    $\varepsilon$ (broadcasts)."""
    t = jnp.asarray(t, jnp.result_type(float))
    return jnp.where(annealed, jnp.minimum(1.0, c / t), eps)


def ucb_scores(values: ArrayLike, counts: ArrayLike, sigmas: ArrayLike, K: ArrayLike) -> Array:
    r"""Eq 9.1: $U_i = Q_i + K\,\sigma_i/\sqrt{n_i}$, and $U_i = +\infty$ for an untried arm.

    Args:
        values: ``(k,)`` mean rewards $Q_i$.
        counts: ``(k,)`` pulls $n_i$ (an arm with $n_i = 0$ gets an infinite bonus).
        sigmas: ``(k,)`` standard deviations $\sigma_i$ of one reward of arm $i$.
        K: the confidence multiplier ($K = 3$: a one-sided Gaussian bound at 99.87 %).
    """
    q, n, s = jnp.asarray(values), jnp.asarray(counts), jnp.asarray(sigmas)
    safe = jnp.where(n > 0, n, 1.0)
    return jnp.where(n > 0, q + K * s / jnp.sqrt(safe), jnp.inf)


def reward_sigmas(counts: ArrayLike, sq_dev: ArrayLike, sigma0: ArrayLike) -> Array:
    r"""The $\sigma_i$ of Eq 9.1 from the sums of squared deviations $S_i = \sum (r - Q_i)^2$:
    $\sigma_i = \sqrt{(S_i + \sigma_0^2)/n_i}$.

    This is the sample standard deviation with one pseudo-observation of variance
    $\sigma_0^2$ added: without it an arm whose first rewards happen to agree (a Bernoulli arm
    that paid 0 once) gets $\sigma_i = 0$, no bonus, and may never be tried again. The
    default $\sigma_0 = 1/2$ is the largest standard deviation a reward in $[0, 1]$ can have.
    """
    n = jnp.asarray(counts)
    return jnp.sqrt((jnp.asarray(sq_dev) + jnp.asarray(sigma0) ** 2) / jnp.maximum(n, 1.0))


def ucb_coverage(K: ArrayLike) -> Array:
    r"""$\Phi(K)$: how often a one-sided Gaussian upper bound at $K$ standard errors holds.

    $K = 3$ gives $\Phi(3) = 0.99865$ (Aggarwal §9.2.3 says 99.99 %, an erratum); the
    two-sided interval is :func:`ucb_coverage_two_sided`."""
    return jax.scipy.stats.norm.cdf(jnp.asarray(K, jnp.result_type(float)))


def ucb_coverage_two_sided(K: ArrayLike) -> Array:
    r"""$2\Phi(K) - 1$: the coverage of the two-sided interval $\pm K$ standard errors."""
    return 2.0 * ucb_coverage(K) - 1.0


# ------------------------------------------------------------------------------ simulation


class BanditState(NamedTuple):
    """What a strategy knows after some pulls (per run)."""

    counts: Array  # (k_max,) pulls n_i
    values: Array  # (k_max,) mean rewards Q_i (the incremental mean)
    sums: Array  # (k_max,) sums of the rewards
    sq_sums: Array  # (k_max,) sums of the squared rewards
    commit: Array  # () int32: the arm "naive" committed to (-1 before it commits)

    @property
    def sq_dev(self) -> Array:
        r"""$S_i = \sum (r - \bar r_i)^2 = \sum r^2 - (\sum r)^2 / n_i$ per arm (0 if untried)."""
        return jnp.maximum(
            self.sq_sums - self.sums * self.sums / jnp.maximum(self.counts, 1.0), 0.0
        )


class BanditRun(NamedTuple):
    """Runs of :func:`simulate`: leading axes ``(S, R)`` (strategies, seeds), or ``(R,)``."""

    rewards: Array  # (..., T) the reward of each pull
    arms: Array  # (..., T) int32, the arm pulled
    regret: Array  # (..., T) cumulative expected regret sum_{s<=t} (mu* - mu_{a_s})
    counts: Array  # (..., k_max) final pulls per arm
    values: Array  # (..., k_max) final mean reward per arm


def init_state(k_max: int) -> BanditState:
    """Nothing seen yet: ``k_max`` arms with $n_i = 0$, $Q_i = 0$."""
    k_max = _validate.positive_int("k_max", k_max)
    z = jnp.zeros(k_max, jnp.result_type(float))
    return BanditState(z, z, z, z, jnp.asarray(-1, jnp.int32))


def select_arm(
    state: BanditState,
    bandit: Bandit,
    strat: Strategy,
    t: ArrayLike,
    u_explore: ArrayLike,
    u_arm: ArrayLike,
) -> tuple[Array, Array]:
    r"""The arm a strategy pulls at pull ``t`` (0-based), and the state with naive's commitment.

    ``u_explore`` and ``u_arm`` are uniform numbers in $[0, 1)$: $\varepsilon$-greedy explores
    when ``u_explore`` $< \varepsilon_t$, and then pulls arm ``floor(u_arm * n_arms)``.
    Pure and traceable; :func:`simulate` calls it in its scan.

    Returns:
        ``(arm, state)``: ``()`` int32 and the state (only ``commit`` may change).
    """
    active = _active(bandit)
    k = bandit.n_arms
    t = jnp.asarray(t, jnp.int32)
    masked_q = jnp.where(active, state.values, -jnp.inf)
    greedy = jnp.argmax(masked_q).astype(jnp.int32)
    untried = active & (state.counts == 0)
    first_untried = jnp.argmax(untried).astype(jnp.int32)
    # naive: m rounds of every arm in turn, then the best mean forever
    explore_end = strat.m * k
    commit = jnp.where(t == explore_end, greedy, state.commit)
    naive = jnp.where(t < explore_end, t % k, commit)
    # epsilon-greedy, constant or annealed (t + 1 is the 1-based pull number)
    eps_t = epsilon_at(t + 1, eps=strat.eps, c=strat.c, annealed=strat.kind == KINDS["annealed"])
    random_arm = jnp.minimum(jnp.floor(u_arm * k).astype(jnp.int32), k - 1)
    eps_arm = jnp.where(u_explore < eps_t, random_arm, greedy)
    # upper bounds: Eq 9.1 and UCB1
    # Eq 9.1 with sigma_i from reward_sigmas, rearranged as K sqrt(S_i + sigma0^2) / n_i: only
    # correctly rounded operations (no product that a processor could fuse into an FMA, no
    # division by a square root that a compiler could turn into an approximate rsqrt), so that
    # a Bernoulli bandit's runs are the same to the last bit on every CPU.
    n_safe = jnp.maximum(state.counts, 1.0)
    bonus = strat.K * jnp.sqrt(state.sq_dev + strat.sigma0 * strat.sigma0) / n_safe
    u91 = jnp.where(state.counts > 0, state.values + bonus, jnp.inf)
    log_t = jnp.log(jnp.maximum(t + 1, 1).astype(state.values.dtype))
    u1 = ucb_scores(state.values, state.counts, jnp.sqrt(2.0 * log_t), strat.K)
    ucb = jnp.argmax(jnp.where(active, u91, -jnp.inf)).astype(jnp.int32)
    ucb1 = jnp.argmax(jnp.where(active, u1, -jnp.inf)).astype(jnp.int32)
    by_kind = jnp.stack([naive, eps_arm, eps_arm, ucb, ucb1])[strat.kind]
    first = (strat.kind != KINDS["naive"]) & jnp.any(untried)
    arm = jnp.where(first, first_untried, by_kind)
    return arm, state._replace(commit=commit)


def update_state(state: BanditState, arm: ArrayLike, reward: ArrayLike) -> BanditState:
    r"""Record one reward: $n_a \mathrel{+}= 1$, $Q_a \leftarrow Q_a + (r - Q_a)/n_a$, and the
    sums of $r$ and $r^2$ (for $\sigma_a$).

    Written with a one-hot mask of the arm rather than an indexed update: under ``vmap`` an
    indexed update becomes a scatter, several times slower on a CPU than this elementwise form.
    """
    hit = jnp.arange(state.counts.shape[0]) == arm
    n = state.counts + hit
    q_new = update_mean(state.values, jnp.maximum(n, 1.0), reward)
    return state._replace(
        counts=n,
        values=jnp.where(hit, q_new, state.values),
        sums=jnp.where(hit, state.sums + reward, state.sums),
        sq_sums=jnp.where(hit, state.sq_sums + reward * reward, state.sq_sums),
    )


def _draws(key: PRNGKey, steps: int, dtype) -> tuple[Array, Array]:
    """One run's random numbers from one call of ``jax.random.bits``: ``(T, 3)`` uniforms in
    $[0, 1)$ on a $2^{-24}$ grid, exact in float32 (explore?, which random arm, Bernoulli
    reward), and ``(T,)`` standard normals by Box-Muller (Gaussian reward noise)."""
    bits = jax.random.bits(key, (steps, 4), jnp.uint32) >> 8
    u = bits.astype(dtype) * jnp.asarray(2.0**-24, dtype)
    radius = jnp.sqrt(-2.0 * jnp.log1p(-u[:, 2]))  # 1 - u in (0, 1]: the log is finite
    z = radius * jnp.cos(2.0 * jnp.pi * u[:, 3])
    return u[:, :3], z


def _one_run(bandit: Bandit, strat: Strategy, u: Array, z: Array) -> BanditRun:
    dtype = bandit.means.dtype
    k_max = bandit.means.shape[0]
    mu_star = best_mean(bandit)

    def step(state, inputs):
        t, u_t, z_t = inputs
        arm, state = select_arm(state, bandit, strat, t, u_t[0], u_t[1])
        hit = jnp.arange(k_max) == arm  # one-hot: cheaper than a gather under vmap
        mu = jnp.sum(jnp.where(hit, bandit.means, 0.0))
        sd = jnp.sum(jnp.where(hit, bandit.stds, 0.0))
        reward = jnp.where(bandit.bernoulli, (u_t[2] < mu).astype(dtype), mu + sd * z_t)
        state = update_state(state, arm, reward)
        return state, (reward, arm, mu_star - mu)

    ts = jnp.arange(u.shape[0], dtype=jnp.int32)
    final, (rewards, arms, gaps) = lax.scan(step, init_state(k_max), (ts, u, z))
    return BanditRun(rewards, arms, jnp.cumsum(gaps), final.counts, final.values)


@functools.partial(jax.jit, static_argnames=("steps",))
def _simulate(bandit, strats, keys, *, steps):
    u, z = jax.vmap(lambda k: _draws(k, steps, bandit.means.dtype))(keys)  # (R, T, 3), (R, T)
    over_seeds = jax.vmap(_one_run, in_axes=(None, None, 0, 0))
    return jax.vmap(over_seeds, in_axes=(None, 0, None, None))(bandit, strats, u, z)


def simulate(
    bandit: Bandit,
    strategies: Strategy,
    *,
    key: PRNGKey,
    steps: int,
    seeds: int,
) -> BanditRun:
    r"""Run strategies for ``steps`` pulls on ``seeds`` independent runs of a bandit.

    Run $j$ of every strategy uses the same random numbers (``jax.random.split(key,
    seeds)[j]``), so strategies are compared on the same luck. One jitted call: a ``lax.scan``
    over the pulls in ``vmap`` over seeds and strategies; the hyperparameters, the kind and
    ``bandit.n_arms`` are traced, only ``steps``, ``seeds``, ``k_max`` and the number of
    strategies fix the compiled shapes.

    Args:
        bandit: from :func:`bernoulli_bandit` or :func:`gaussian_bandit`.
        strategies: one :func:`strategy` (fields ``()``) or several from :func:`stack`
            (fields ``(S,)``).
        key: the random key.
        steps: pulls per run $T$.
        seeds: number of runs $R$.

    Returns:
        :class:`BanditRun` with arrays ``(S, R, T)`` (``(R, T)`` for one strategy).
    """
    if not isinstance(bandit, Bandit):
        raise TypeError(f"`bandit` must be a Bandit (bernoulli_bandit()), got {type(bandit)}.")
    if not isinstance(strategies, Strategy):
        raise TypeError(
            f"`strategies` must be a Strategy (strategy() or stack()), got {type(strategies)}."
        )
    _validate.prng_key("key", key)
    steps = _validate.positive_int("steps", steps)
    seeds = _validate.positive_int("seeds", seeds)
    single = strategies.kind.ndim == 0
    strats = stack([strategies]) if single else strategies
    out = _simulate(bandit, strats, jax.random.split(key, seeds), steps=steps)
    return jax.tree.map(lambda a: a[0], out) if single else out


def simulate_cache_size() -> int:
    """How many versions of the jitted simulator exist (for no-recompile tests)."""
    return _simulate._cache_size()


# ------------------------------------------------------------------------------ summaries


def regret_from_arms(arms: ArrayLike, means: ArrayLike) -> Array:
    r"""Cumulative expected regret $\sum_{s \le t} (\mu^* - \mu_{a_s})$ of a sequence of arms
    (``arms: (..., T)`` int, ``means: (k,)``) -> ``(..., T)``."""
    mu = _validate.float_array("means", means, ndim=1)
    a = _validate.index_array("arms", arms, size=int(mu.shape[0]))
    return jnp.cumsum(jnp.max(mu) - mu[a], axis=-1)


def greedy_after(rewards: ArrayLike, arms: ArrayLike, k: int) -> Array:
    r"""For each pull $t$, the greedy arm $\arg\max_i Q_i$ from the pulls before it.

    ``rewards`` and ``arms`` are ``(T,)`` (one run) or ``(R, T)`` (runs); the result has their
    shape, with -1 while some arm is still untried. The means are kept by :func:`update_state`,
    so they round exactly as in :func:`simulate`: a run of $\varepsilon$-greedy with
    $\varepsilon = 0$ pulls exactly this arm after its first $k$ pulls.
    """
    k = _validate.positive_int("k", k)
    r = _validate.float_array("rewards", rewards, ndim=(1, 2))
    a = _validate.index_array("arms", arms, size=k, ndim=(1, 2))
    if r.shape != a.shape:
        raise ValueError(
            f"`rewards` and `arms` must have the same shape, got {tuple(r.shape)} and "
            f"{tuple(a.shape)}."
        )
    return _greedy_after(r, a, k) if r.ndim == 1 else jax.vmap(_greedy_after, (0, 0, None))(r, a, k)


@functools.partial(jax.jit, static_argnums=2)
def _greedy_after(r, a, k):
    def step(state, x):
        arm, rew = x
        out = jnp.where(jnp.all(state.counts > 0), jnp.argmax(state.values), -1)
        return update_state(state, arm, rew), out

    z = jnp.zeros(k, r.dtype)
    state = BanditState(z, z, z, z, jnp.asarray(-1, jnp.int32))
    return lax.scan(step, state, (a, r))[1]
