r"""Policy gradients: learning a stochastic policy by ascending its expected reward (Aggarwal §9.5).

A policy $\pi_\theta(a \mid s)$ is a probability distribution over actions with parameters
$\theta$. Its objective is the expected (discounted) reward of the episodes it produces,
$J(\theta) = E\big[\sum_{i=0}^{H}\gamma^i r_i\big]$ (Eq 9.19), climbed by gradient *ascent*
$\theta \leftarrow \theta + \alpha\nabla J$ (Eq 9.20). Two ways to estimate $\nabla J$ from
samples:

- **finite differences** (§9.5.1): perturb the parameters $s$ times, measure the change
  $\Delta J_r$ of each, and solve the least-squares problem $D\,\nabla J^\top \approx y$, where
  $D$ is the $s\times N$ matrix of perturbations (Eq 9.21-9.23);
- the **likelihood ratio** (REINFORCE, §9.5.2): since $\nabla p = p\,\nabla\log p$,

  $$\nabla_\theta \sum_a \pi_\theta(a)\,Q(a)
  = \sum_a \pi_\theta(a)\,Q(a)\,\nabla_\theta\log\pi_\theta(a)
  = E_{a\sim\pi_\theta}\big[Q(a)\,\nabla_\theta\log\pi_\theta(a)\big],$$

  which only needs samples of $a$ and the *score* $\nabla_\theta\log\pi_\theta(a)$ (Eq 9.24).
  Subtracting a baseline $b$ that does not depend on the action keeps the mean (because
  $E[\nabla\log\pi] = \nabla\sum_a\pi(a) = 0$) and can shrink the variance a lot.

Here: the softmax and Gaussian policies and their scores, the REINFORCE estimator with and
without a baseline, the finite-difference regression estimator, returns-to-go, REINFORCE on
categorical "bandits" (rock-paper-scissors against a fixed opponent, a table of architectures
for neural architecture search, §9.7.5) and REINFORCE with a baseline on CartPole
(:mod:`course_lib.cartpole`). Every training loop is one jitted ``lax.scan``; learning rates,
sample counts and baseline values are traced, so a widget never recompiles.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp

from course_lib import _validate, optim
from course_lib._types import Array, ArrayLike, Params, PRNGKey

# ------------------------------------------------------------------------------ policies


def softmax_policy(logits: ArrayLike) -> Array:
    r"""$\pi(a) = e^{z_a} / \sum_b e^{z_b}$ for logits ``z: (..., k)``; returns ``(..., k)``."""
    z = _validate.float_array("logits", logits, ndim=(1, 2))
    return jax.nn.softmax(z, axis=-1)


def softmax_score(logits: ArrayLike, actions: ArrayLike) -> Array:
    r"""The score of a softmax policy: $\nabla_z \log\pi(a) = e_a - \pi$ (Aggarwal §9.5.2).

    From $\log\pi(a) = z_a - \log\sum_b e^{z_b}$: the derivative by $z_j$ is
    $[j = a] - \pi(j)$, the one-hot vector of the action minus the probabilities (the same
    vector as the gradient of softmax cross-entropy, with the opposite sign).

    Args:
        logits: ``(k,)``.
        actions: ``()`` or ``(n,)`` integers in ``0..k-1``.

    Returns:
        ``(k,)`` or ``(n, k)``.
    """
    z = _validate.float_array("logits", logits, ndim=1)
    a = _validate.index_array("actions", actions, size=z.shape[0], ndim=(0, 1))
    onehot = jax.nn.one_hot(a, z.shape[0], dtype=z.dtype)  # (k,) or (n, k)
    return onehot - jnp.broadcast_to(jax.nn.softmax(z), onehot.shape)


def expected_reward(logits: ArrayLike, q: ArrayLike) -> Array:
    r"""$J(z) = \sum_a \pi_z(a)\,Q(a)$ for logits ``z: (k,)`` and action values ``q: (k,)``.

    Its exact gradient is ``jax.grad(expected_reward)``; in closed form
    $\partial J/\partial z_j = \pi(j)\,(Q(j) - J)$.
    """
    z = _validate.float_array("logits", logits, ndim=1)
    q = _validate.float_array("q", q, ndim=1)
    if q.shape != z.shape:
        raise ValueError(f"`q` must have shape {tuple(z.shape)} like `logits`, got {q.shape}.")
    return jnp.sum(jax.nn.softmax(z) * q)


def gaussian_log_prob(a: ArrayLike, mu: ArrayLike, sigma: ArrayLike) -> Array:
    r"""The log-density of a Gaussian policy (Eq 9.26, Aggarwal §9.5.5), broadcasting:
    $\log\mathcal N(a;\mu,\sigma) = -\frac{(a-\mu)^2}{2\sigma^2} - \log\sigma - \frac12\log 2\pi$.
    """
    a, mu, sigma = (jnp.asarray(v, jnp.result_type(float)) for v in (a, mu, sigma))
    return -0.5 * ((a - mu) / sigma) ** 2 - jnp.log(sigma) - 0.5 * jnp.log(2.0 * jnp.pi)


def gaussian_score(a: ArrayLike, mu: ArrayLike, sigma: ArrayLike) -> tuple[Array, Array]:
    r"""The score of a Gaussian policy $a \sim \mathcal N(\mu, \sigma^2)$ (Exercise 9.1, §9.5.5):

    $$\frac{\partial \log\mathcal N}{\partial\mu} = \frac{a-\mu}{\sigma^2},\qquad
    \frac{\partial \log\mathcal N}{\partial\sigma} = \frac{(a-\mu)^2}{\sigma^3} - \frac1\sigma.$$

    Args:
        a: actions, any shape (broadcast with ``mu`` and ``sigma``).
        sigma: positive.

    Returns:
        ``(d_mu, d_sigma)``, each of the broadcast shape.
    """
    a = _validate.float_array("a", a)
    if not _validate.is_traced(sigma):
        s = _validate.float_array("sigma", sigma)
        if not bool(jnp.all(s > 0)):
            raise ValueError(f"`sigma` must be positive, got {sigma!r}.")
    a, mu, sigma = (jnp.asarray(v, jnp.result_type(float)) for v in (a, mu, sigma))
    d = a - mu
    return d / sigma**2, d**2 / sigma**3 - 1.0 / sigma


# ------------------------------------------------------------------------------ estimators


def reinforce_gradient(scores: ArrayLike, rewards: ArrayLike, baseline: ArrayLike = 0.0) -> Array:
    r"""The REINFORCE estimate $\hat g = \frac1n\sum_{i=1}^n (R_i - b)\,\nabla\log\pi(a_i)$
    (Eq 9.24-9.25, §9.5.2), from the scores of ``n`` sampled actions and their rewards.

    Args:
        scores: ``(n, k)``, row $i$ = $\nabla\log\pi(a_i)$.
        rewards: ``(n,)``.
        baseline: a scalar or ``(n,)`` (e.g. a state value per sample) that does not depend on
            the sampled action.

    Returns:
        ``(k,)``.
    """
    g = _validate.float_array("scores", scores, ndim=2)
    r = _validate.float_array("rewards", rewards, ndim=1)
    _validate.same_rows("scores", g, "rewards", r)
    b = jnp.asarray(baseline, g.dtype)
    return jnp.mean((r - b)[:, None] * g, axis=0)


def sample_estimates(
    logits: ArrayLike,
    q: ArrayLike,
    *,
    key: PRNGKey,
    n: ArrayLike,
    baseline: ArrayLike = 0.0,
    repeats: int = 500,
    n_max: int = 1000,
    noise: ArrayLike = 0.0,
) -> Array:
    r"""``repeats`` independent REINFORCE estimates of $\nabla_z\sum_a\pi_z(a)Q(a)$, each from
    ``n`` sampled actions (the experiment of the lecture's histogram).

    The reward of a sampled action is $R = Q(a) + \text{noise}\cdot\varepsilon$,
    $\varepsilon\sim\mathcal N(0,1)$. ``n`` (at most ``n_max``), ``baseline`` and ``noise`` are
    traced: the draws are made for ``n_max`` samples and the first ``n`` averaged, so changing
    them never recompiles. Estimate ``j`` uses ``jax.random.fold_in(key, j)``.

    Args:
        logits, q: ``(k,)``.

    Returns:
        ``(repeats, k)``.
    """
    z = _validate.float_array("logits", logits, ndim=1)
    q = _validate.float_array("q", q, ndim=1)
    if q.shape != z.shape:
        raise ValueError(f"`q` must have shape {tuple(z.shape)} like `logits`, got {q.shape}.")
    _validate.prng_key("key", key)
    repeats = _validate.positive_int("repeats", repeats)
    n_max = _validate.positive_int("n_max", n_max)
    _validate.in_range("n", n, 1, n_max)
    _validate.positive("noise", noise, allow_zero=True)
    return _sample_estimates(z, q, key, jnp.asarray(n, z.dtype), jnp.asarray(baseline, z.dtype),
                             jnp.asarray(noise, z.dtype), repeats, n_max)  # fmt: skip


@functools.partial(jax.jit, static_argnums=(6, 7))
def _sample_estimates(z, q, key, n, baseline, noise, repeats, n_max):
    k = z.shape[0]
    pi = jax.nn.softmax(z)
    use = (jnp.arange(n_max) < n).astype(z.dtype)  # (n_max,)

    def one(j):
        ka, kr = jax.random.split(jax.random.fold_in(key, j))
        a = jax.random.categorical(ka, z, shape=(n_max,))
        r = q[a] + noise * jax.random.normal(kr, (n_max,), z.dtype)
        score = jax.nn.one_hot(a, k, dtype=z.dtype) - pi[None, :]  # (n_max, k)
        return jnp.sum((use * (r - baseline))[:, None] * score, axis=0) / n

    return jax.vmap(one)(jnp.arange(repeats))


def estimator_variance(logits: ArrayLike, q: ArrayLike, baseline: ArrayLike = 0.0) -> Array:
    r"""The total variance (trace of the covariance) of the one-sample REINFORCE estimate
    $\hat g = (Q(a) - b)(e_a - \pi)$, $a\sim\pi$, in closed form:

    $$\operatorname{tr}\operatorname{Cov}\hat g
    = \sum_a \pi(a)\,(Q(a) - b)^2\,\lVert e_a - \pi\rVert^2 - \lVert\nabla J\rVert^2 .$$

    It is a quadratic in $b$, smallest at $b^* = \sum_a w_a Q(a) / \sum_a w_a$ with
    $w_a = \pi(a)\lVert e_a-\pi\rVert^2$ (close to, not equal to, the value
    $V = \sum_a\pi(a)Q(a)$). An average of $n$ samples has this variance divided by $n$.
    ``baseline`` broadcasts (a grid of values gives one variance each).
    """
    z = _validate.float_array("logits", logits, ndim=1)
    q = _validate.float_array("q", q, ndim=1)
    if q.shape != z.shape:
        raise ValueError(f"`q` must have shape {tuple(z.shape)} like `logits`, got {q.shape}.")
    return _estimator_variance(z, q, jnp.asarray(baseline, z.dtype))


@jax.jit
def _estimator_variance(z, q, b):
    pi = jax.nn.softmax(z)
    sq = jnp.sum((jnp.eye(z.shape[0], dtype=z.dtype) - pi[None, :]) ** 2, axis=1)  # ||e_a - pi||^2
    grad = pi * (q - pi @ q)
    lead = (1,) * b.ndim
    w = (pi * sq).reshape(lead + q.shape)
    second = jnp.sum(w * (q.reshape(lead + q.shape) - b[..., None]) ** 2, axis=-1)
    return second - grad @ grad


def fd_gradient(delta_w: ArrayLike, delta_j: ArrayLike) -> Array:
    r"""The finite-difference gradient by least squares (Eq 9.21-9.23, §9.5.1):
    $\nabla J^\top = (D^\top D)^{-1} D^\top y$.

    Args:
        delta_w: ``D``, ``(s, N)``: one perturbation $\Delta W_r$ per row (the book's
            "$N \times s$" is a slip: the rows are the $s$ roll-outs). Needs $s \ge N$ and
            linearly independent columns.
        delta_j: ``y``, ``(s,)``: the change $\Delta J_r$ each perturbation caused.

    Returns:
        ``(N,)``.
    """
    D = _validate.float_array("delta_w", delta_w, ndim=2)
    y = _validate.float_array("delta_j", delta_j, ndim=1)
    _validate.same_rows("delta_w", D, "delta_j", y)
    if D.shape[0] < D.shape[1]:
        raise ValueError(
            f"`delta_w` needs at least as many perturbations (rows) as parameters (columns) for "
            f"Eq 9.23, got shape {tuple(D.shape)}."
        )
    _validate.full_rank_gram("delta_w", D, what="the perturbations D", hint="draw them at random.")
    return _fd_solve(D, y)


@jax.jit
def _fd_solve(D, y):
    return jnp.linalg.solve(D.T @ D, D.T @ y)


def fd_perturbations(*, key: PRNGKey, s: int, n_params: int, eps: ArrayLike) -> Array:
    r"""``s`` random perturbations $\Delta W_r \sim \varepsilon\,\mathcal N(0, I)$: the ``(s, N)``
    matrix $D$ of Eq 9.22."""
    _validate.prng_key("key", key)
    s = _validate.positive_int("s", s)
    n_params = _validate.positive_int("n_params", n_params)
    _validate.positive("eps", eps)
    return eps * jax.random.normal(key, (s, n_params), jnp.result_type(float))


# ------------------------------------------------------------------------------ returns


def returns_to_go(rewards: ArrayLike, gamma: ArrayLike) -> Array:
    r"""$G_t = \sum_{i \ge t}\gamma^{\,i-t} r_i$ along the last axis, by the backward recursion
    $G_t = r_t + \gamma G_{t+1}$ (a reversed ``lax.scan``; §9.5.2 credits each action with the
    reward that *follows* it).

    Args:
        rewards: ``(H,)`` or ``(..., H)``.
        gamma: the discount in $[0, 1]$ (traced).

    Returns:
        the shape of ``rewards``.
    """
    r = _validate.float_array("rewards", rewards)
    if r.ndim == 0:
        raise ValueError("`rewards` must have a time axis (at least 1-dimensional), got a scalar.")
    _validate.in_range("gamma", gamma, 0.0, 1.0)
    return _returns_to_go(r, jnp.asarray(gamma, r.dtype))


@jax.jit
def _returns_to_go(r, gamma):
    def back(g, rt):
        g = rt + gamma * g
        return g, g

    _, out = jax.lax.scan(back, jnp.zeros(r.shape[:-1], r.dtype), jnp.moveaxis(r, -1, 0),
                          reverse=True)  # fmt: skip
    return jnp.moveaxis(out, 0, -1)


# ------------------------------------------------------------------------------ worked example


def log_prob_gain(p_action: ArrayLike, reward: ArrayLike, baseline: ArrayLike) -> Array:
    r"""The term $(R - b)\log p(a)$ that one sampled action adds to the objective whose gradient
    REINFORCE follows (the example of §9.5.2: $p = 0.2$, $b = 0.17$, $R = 1$ gives
    $0.83\log 0.2 \approx -1.336$)."""
    _validate.in_range("p_action", p_action, 0.0, 1.0)
    p = jnp.asarray(p_action, jnp.result_type(float))
    return (jnp.asarray(reward, p.dtype) - jnp.asarray(baseline, p.dtype)) * jnp.log(p)


# ------------------------------------------------------------------------------ Gaussian bandit


class GaussianRun(NamedTuple):
    """The trajectory of a Gaussian policy trained by REINFORCE: ``(steps + 1,)`` each."""

    mu: Array
    sigma: Array
    reward: Array  # the exact expected reward at each iterate


def gaussian_bandit_train(
    mu0: ArrayLike,
    sigma0: ArrayLike,
    *,
    key: PRNGKey,
    target: ArrayLike = 3.0,
    steps: int = 200,
    batch: int = 64,
    lr: ArrayLike = 0.05,
) -> GaussianRun:
    r"""REINFORCE on a continuous bandit with reward $r(a) = -(a - t)^2$ and policy
    $a\sim\mathcal N(\mu,\sigma^2)$ (Exercise 9.1).

    Each step samples ``batch`` actions, estimates $\nabla_{\mu,\sigma} E[r]$ with
    :func:`gaussian_score` and the batch-mean reward as baseline (the leave-one-out mean, so it
    adds no bias), and takes a gradient-ascent step on $(\mu, \log\sigma)$ (so $\sigma$ stays
    positive; $\partial/\partial\log\sigma = \sigma\,\partial/\partial\sigma$). The exact
    objective is $E[r] = -\big((\mu - t)^2 + \sigma^2\big)$, maximized at $\mu = t$, $\sigma \to 0$.
    """
    _validate.prng_key("key", key)
    _validate.positive("sigma0", sigma0)
    steps = _validate.positive_int("steps", steps)
    batch = _validate.positive_int("batch", batch)
    if batch < 2:
        raise ValueError(f"`batch` must be at least 2 (a leave-one-out baseline), got {batch}.")
    _validate.positive("lr", lr)
    dt = jnp.result_type(float)
    mu0, log_sigma0 = jnp.asarray(mu0, dt), jnp.log(jnp.asarray(sigma0, dt))
    target, lr = jnp.asarray(target, dt), jnp.asarray(lr, dt)
    return _gaussian_train(mu0, log_sigma0, target, lr, key, steps, batch)


@functools.partial(jax.jit, static_argnums=(5, 6))
def _gaussian_train(mu, log_sigma, target, lr, key, steps, batch):
    def exact(mu, sigma):
        return -((mu - target) ** 2 + sigma**2)

    def step(carry, i):
        mu, ls = carry
        sigma = jnp.exp(ls)
        a = mu + sigma * jax.random.normal(jax.random.fold_in(key, i), (batch,), mu.dtype)
        r = -((a - target) ** 2)
        b = (jnp.sum(r) - r) / (batch - 1)  # leave-one-out: independent of a_i
        d_mu, d_sigma = gaussian_score(a, mu, sigma)
        g_mu = jnp.mean((r - b) * d_mu)
        g_ls = jnp.mean((r - b) * d_sigma) * sigma
        mu, ls = mu + lr * g_mu, ls + lr * g_ls
        return (mu, ls), (mu, jnp.exp(ls))

    _, (mus, sigmas) = jax.lax.scan(step, (mu, log_sigma), jnp.arange(steps))
    mus = jnp.concatenate([mu[None], mus])
    sigmas = jnp.concatenate([jnp.exp(log_sigma)[None], sigmas])
    return GaussianRun(mus, sigmas, exact(mus, sigmas))


# ------------------------------------------------------------------------------ categorical bandits


def rps_payoff() -> Array:
    r"""Rock-paper-scissors: ``A[i, j]`` is the row player's payoff (+1 win, 0 draw, -1 loss)
    for move ``i`` against ``j``, in the order rock, paper, scissors (Exercise 9.4)."""
    return jnp.array([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]],
                     jnp.result_type(float))  # fmt: skip


def expected_payoff(p: ArrayLike, q: ArrayLike, payoff: ArrayLike | None = None) -> Array:
    r"""$p^\top A\, q$: the row player's expected payoff with mixed strategy ``p: (k,)`` against
    ``q: (m,)`` (``payoff`` $A$ defaults to :func:`rps_payoff`)."""
    p = _validate.float_array("p", p, ndim=1)
    q = _validate.float_array("q", q, ndim=1)
    A = rps_payoff() if payoff is None else _validate.float_array("payoff", payoff, ndim=2)
    if A.shape != (p.shape[0], q.shape[0]):
        raise ValueError(
            f"`payoff` must have shape ({p.shape[0]}, {q.shape[0]}) to match p and q, "
            f"got {tuple(A.shape)}."
        )
    return p @ A @ q


class BanditRun(NamedTuple):
    """A categorical policy trained by REINFORCE: ``probs (steps + 1, k)``, ``reward (steps,)``
    (the mean sampled reward of each batch)."""

    probs: Array
    reward: Array


def categorical_reinforce(
    logits0: ArrayLike,
    payoff: ArrayLike,
    opponent: ArrayLike,
    *,
    key: PRNGKey,
    steps: int = 300,
    batch: int = 32,
    lr: ArrayLike = 0.1,
    noise: ArrayLike = 0.0,
    baseline: bool = True,
) -> BanditRun:
    r"""REINFORCE for a one-step game: a softmax policy over ``k`` actions against a fixed mixed
    ``opponent``.

    Each step draws ``batch`` pairs $a\sim\pi_z$, $b\sim$ ``opponent``, gets the reward
    $R = A[a, b] + \text{noise}\cdot\varepsilon$ and ascends
    $\frac1n\sum_i (R_i - \bar R_{-i})(e_{a_i} - \pi)$ (the leave-one-out batch mean as
    baseline when ``baseline``). With ``payoff`` rock-paper-scissors this learns the best
    response to a biased opponent (Exercise 9.4); with ``payoff`` a ``(k, 1)`` column of
    rewards and ``opponent = [1.0]`` it is a bandit over ``k`` fixed choices (NAS-lite, §9.7.5).

    Args:
        logits0: ``(k,)``. payoff: ``(k, m)``. opponent: ``(m,)`` probabilities.
    """
    z = _validate.float_array("logits0", logits0, ndim=1)
    A = _validate.float_array("payoff", payoff, ndim=2)
    q = _validate.float_array("opponent", opponent, ndim=1)
    if A.shape != (z.shape[0], q.shape[0]):
        raise ValueError(
            f"`payoff` must have shape ({z.shape[0]}, {q.shape[0]}) to match logits0 and "
            f"opponent, got {tuple(A.shape)}."
        )
    if not _validate.is_traced(q) and not bool(jnp.all(q >= 0) & (jnp.abs(q.sum() - 1) < 1e-5)):
        raise ValueError(f"`opponent` must be probabilities (>= 0, summing to 1), got {q}.")
    _validate.prng_key("key", key)
    steps = _validate.positive_int("steps", steps)
    batch = _validate.positive_int("batch", batch)
    if batch < 2:
        raise ValueError(f"`batch` must be at least 2 (a leave-one-out baseline), got {batch}.")
    _validate.positive("lr", lr)
    _validate.positive("noise", noise, allow_zero=True)
    return _categorical_reinforce(z, A, q, key, jnp.asarray(lr, z.dtype),
                                  jnp.asarray(noise, z.dtype), jnp.asarray(baseline, z.dtype),
                                  steps, batch)  # fmt: skip


@functools.partial(jax.jit, static_argnums=(7, 8))
def _categorical_reinforce(z, A, q, key, lr, noise, use_baseline, steps, batch):
    k = z.shape[0]
    log_q = jnp.log(jnp.maximum(q, 1e-30))

    def step(z, i):
        ka, kb, kn = jax.random.split(jax.random.fold_in(key, i), 3)
        a = jax.random.categorical(ka, z, shape=(batch,))
        b = jax.random.categorical(kb, log_q, shape=(batch,))
        r = A[a, b] + noise * jax.random.normal(kn, (batch,), z.dtype)
        base = use_baseline * (jnp.sum(r) - r) / (batch - 1)
        score = jax.nn.one_hot(a, k, dtype=z.dtype) - jax.nn.softmax(z)[None, :]  # (batch, k)
        g = jnp.mean((r - base)[:, None] * score, axis=0)
        z = z + lr * g
        return z, (jax.nn.softmax(z), jnp.mean(r))

    _, (probs, rewards) = jax.lax.scan(step, z, jnp.arange(steps))
    return BanditRun(jnp.concatenate([jax.nn.softmax(z)[None], probs]), rewards)


# ------------------------------------------------------------------------------ CartPole


def policy_init(*, key: PRNGKey, obs_dim: int = 4, hidden: int = 16, n_actions: int = 2) -> Params:
    r"""A small softmax policy network ``obs -> tanh(W1 obs + b1) -> logits``: a dict of
    ``W1 (obs_dim, hidden)``, ``b1 (hidden,)``, ``W2 (hidden, n_actions)``, ``b2 (n_actions,)``
    (Glorot-scaled ``W1``; ``W2`` starts near zero, so the first policy is almost uniform)."""
    _validate.prng_key("key", key)
    obs_dim = _validate.positive_int("obs_dim", obs_dim)
    hidden = _validate.positive_int("hidden", hidden)
    n_actions = _validate.positive_int("n_actions", n_actions)
    k1, k2 = jax.random.split(key)
    dt = jnp.result_type(float)
    return {
        "W1": jax.random.normal(k1, (obs_dim, hidden), dt) * jnp.sqrt(2.0 / (obs_dim + hidden)),
        "b1": jnp.zeros(hidden, dt),
        "W2": 0.01 * jax.random.normal(k2, (hidden, n_actions), dt),
        "b2": jnp.zeros(n_actions, dt),
    }


def policy_logits(params: Params, obs: ArrayLike) -> Array:
    """The policy network's logits for ``obs: (..., obs_dim)``: ``(..., n_actions)``."""
    pre = jnp.asarray(obs) @ params["W1"]
    h = jnp.tanh(pre + jnp.broadcast_to(params["b1"], pre.shape))
    out = h @ params["W2"]
    return out + jnp.broadcast_to(params["b2"], out.shape)


class CartPoleRun(NamedTuple):
    """What :func:`cartpole_reinforce` returns: the final parameters and per-update curves."""

    params: Params
    returns: Array  # (updates,) mean undiscounted return of each update's batch of episodes
    lengths: Array  # (updates,) mean episode length (= return on CartPole)


def _rollout(params, start, uniforms):
    """One episode from ``start = (state, obs)``, at most ``len(uniforms)`` steps; the action at
    step ``t`` is 1 when ``uniforms[t] < pi(1 | s_t)`` (the random numbers are drawn before the
    loop: drawing them inside it made compiling several times slower). Returns the
    observations, actions, rewards and alive mask, each ``(H, ...)``."""
    from course_lib import cartpole

    state, obs = start

    def step(carry, u):
        state, obs, alive = carry
        p_right = jax.nn.softmax(policy_logits(params, obs))[1]
        a = (u < p_right).astype(jnp.int32)
        state2, obs2, r, done = cartpole.step(state, a)
        out = (obs, a, r * alive, alive)
        alive = alive * (1.0 - jnp.asarray(done, obs.dtype))
        return (state2, obs2, alive), out

    one = jnp.ones((), obs.dtype)
    _, (obs, acts, rew, alive) = jax.lax.scan(step, (state, obs, one), uniforms)
    return obs, acts, rew, alive


def _starts_and_uniforms(key, shape, horizon):
    """Start states ``shape`` and action uniforms ``shape + (horizon,)``, drawn in one go."""
    from course_lib import cartpole

    k_reset, k_act = jax.random.split(key)
    n = 1
    for d in shape:
        n *= d
    starts = jax.vmap(cartpole.reset)(jax.random.split(k_reset, n))
    starts = jax.tree.map(lambda x: x.reshape(shape + x.shape[1:]), starts)
    return starts, jax.random.uniform(k_act, (*shape, horizon), jnp.result_type(float))


def cartpole_reinforce(
    *,
    key: PRNGKey,
    updates: int = 60,
    episodes: int = 16,
    horizon: int = 200,
    hidden: int = 16,
    lr: ArrayLike = 0.01,
    gamma: ArrayLike = 0.99,
    baseline: ArrayLike = True,
    baseline_decay: ArrayLike = 0.9,
) -> CartPoleRun:
    r"""REINFORCE with a baseline on CartPole (:mod:`course_lib.cartpole`), §9.5.2.

    Each update rolls out ``episodes`` episodes of at most ``horizon`` steps (vmapped), computes
    the returns-to-go $G_t$ (:func:`returns_to_go`, discount ``gamma``), and ascends

    $$\hat g = \frac1B\sum_{e=1}^B\sum_t \big(G^{(e)}_t - b_t\big)\,
    \nabla_\theta\log\pi_\theta(a^{(e)}_t\mid s^{(e)}_t)$$

    with Adam. The baseline $b_t$ is a running mean (decay ``baseline_decay``) of the batches'
    mean return-to-go at step $t$, taken *before* the current batch updates it (so it does not
    depend on the current actions and adds no bias); ``baseline=False`` sets $b_t = 0$.
    ``lr``, ``gamma``, ``baseline`` and ``baseline_decay`` are traced; the whole run is one jitted
    ``lax.scan`` over the updates, and ``jax.vmap`` over keys runs several seeds at once.
    """
    _validate.prng_key("key", key)
    updates = _validate.positive_int("updates", updates)
    episodes = _validate.positive_int("episodes", episodes)
    horizon = _validate.positive_int("horizon", horizon)
    hidden = _validate.positive_int("hidden", hidden)
    _validate.positive("lr", lr)
    _validate.in_range("gamma", gamma, 0.0, 1.0)
    _validate.in_range("baseline_decay", baseline_decay, 0.0, 1.0)
    dt = jnp.result_type(float)
    return _cartpole_reinforce(key, jnp.asarray(lr, dt), jnp.asarray(gamma, dt),
                               jnp.asarray(baseline, dt), jnp.asarray(baseline_decay, dt),
                               updates, episodes, horizon, hidden)  # fmt: skip


@functools.partial(jax.jit, static_argnums=(5, 6, 7, 8))
def _cartpole_reinforce(key, lr, gamma, use_baseline, decay, updates, episodes, horizon, hidden):
    from course_lib import cartpole

    k_init, key = jax.random.split(key)
    params = policy_init(key=k_init, obs_dim=cartpole.OBS_DIM,
                         hidden=hidden, n_actions=cartpole.N_ACTIONS)  # fmt: skip
    opt = optim.adam(lr)
    opt_state = opt.init(params)
    b = jnp.zeros(horizon, lr.dtype)

    starts, uniforms = _starts_and_uniforms(key, (updates, episodes), horizon)

    def update(carry, xs):
        params, opt_state, b = carry
        obs, acts, rew, alive = jax.vmap(_rollout, in_axes=(None, 0, 0))(params, *xs)
        G = _returns_to_go(rew, gamma) * alive  # (B, H)
        adv = G - use_baseline * b[None, :]

        def surrogate(p):
            logp = jax.nn.log_softmax(policy_logits(p, obs), axis=-1)  # (B, H, A)
            logp_a = jnp.take_along_axis(logp, acts[..., None], axis=-1)[..., 0]
            return jnp.sum(adv * alive * logp_a) / episodes

        grads = jax.grad(surrogate)(params)
        neg = jax.tree.map(lambda g: -g, grads)  # ascent
        upd, opt_state = opt.update(neg, opt_state, params)
        params = optim.apply_updates(params, upd)
        alive_n = jnp.maximum(jnp.sum(alive, axis=0), 1.0)
        batch_mean = jnp.sum(G, axis=0) / alive_n
        b = decay * b + (1.0 - decay) * batch_mean
        ret = jnp.mean(jnp.sum(rew, axis=1))
        return (params, opt_state, b), (ret, jnp.mean(jnp.sum(alive, axis=1)))

    (params, _, _), (rets, lens) = jax.lax.scan(update, (params, opt_state, b), (starts, uniforms))
    return CartPoleRun(params, rets, lens)
