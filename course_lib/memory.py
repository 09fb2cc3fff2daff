r"""Neural networks with external memory (Aggarwal §10.3).

Two pieces of the section:

1. **The sorting-by-example game** (§10.3.1). A list of 4 numbers is the memory; an action is one
   of the $\binom42 = 6$ swaps SWAP$(i, j)$ (a read of two cells into registers, then two
   writes). A policy $\pi(a\mid x)$ picks swaps; the episode earns $F = +1$ if the list is
   sorted within $T$ swaps and $-1$ otherwise, and REINFORCE ascends
   $\nabla J = F\cdot\nabla\log\pi(a)$ for every action taken (Eq 10.8), here with a baseline
   (the batch's mean reward) subtracted from $F$. The policy is a linear softmax on the
   one-hot *ranks* of the 4 numbers (which position each number belongs at): the comparison
   information a sorting routine uses.

2. **Content-based addressing of a neural Turing machine** (§10.3.2). A memory
   $M\in\mathbb R^{N\times m}$ is read by soft attention over its rows:

   $$w(i) = \frac{\exp(\beta\cos(v, M_i))}{\sum_j\exp(\beta\cos(v, M_j))}\quad\text{(Eq 10.13,
   corrected)},\qquad r = \sum_i w(i)\,M_i\quad\text{(Eq 10.9)}.$$

   (The book prints $\text{cosine}(v_t\cdot M_t(j))$: a typo for the cosine *of the two
   vectors*, $\cos(v, M_j) = v\cdot M_j/(\lVert v\rVert\lVert M_j\rVert)$.) Writes erase and
   add (Eq 10.11-10.12); the rest of the addressing pipeline (interpolation, circular shift,
   sharpening, Eq 10.15-10.17) is here too.
"""

from __future__ import annotations

import functools
import itertools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from course_lib import _validate
from course_lib._types import Array, ArrayLike, PRNGKey

# ------------------------------------------------------------------------------ the sorting game

#: the 6 actions SWAP(i, j), i < j, of a list of 4
SWAPS: tuple[tuple[int, int], ...] = tuple(itertools.combinations(range(4), 2))
_SWAPS = np.array(SWAPS, np.int32)


def _action(action: Any) -> Any:
    if isinstance(action, (int, np.integer)) and not isinstance(action, bool):
        if not 0 <= action < len(SWAPS):
            raise ValueError(f"`action` must be in 0..{len(SWAPS) - 1}, got {action}.")
    return action


def swap(x: ArrayLike, action: Any) -> Array:
    """Apply SWAP(i, j) = ``SWAPS[action]`` to a list ``x (4,)``; returns the new list."""
    x = jnp.asarray(x)
    if x.shape != (4,):
        raise ValueError(f"`x` must be a list of 4 numbers, shape (4,), got {tuple(x.shape)}.")
    action = _action(action)
    return _swap(x, action)


def _swap(x: Array, action: Any) -> Array:
    i, j = jnp.asarray(_SWAPS)[action]
    return x.at[i].set(x[j]).at[j].set(x[i])


def is_sorted(x: ArrayLike) -> Array:
    """True when ``x (..., n)`` is in non-decreasing order along its last axis."""
    x = jnp.asarray(x)
    return jnp.all(x[..., 1:] >= x[..., :-1], axis=-1)


def min_swaps(perm: ArrayLike) -> int:
    """The fewest swaps that sort a permutation of ``0..n-1``: $n$ minus its number of cycles
    (each swap of two cells of one cycle splits it into two; sorted = $n$ cycles of length 1)."""
    perm = [int(v) for v in np.asarray(perm)]
    if sorted(perm) != list(range(len(perm))):
        raise ValueError(f"`perm` must be a permutation of 0..{len(perm) - 1}, got {perm}.")
    seen, cycles = set(), 0
    for start in range(len(perm)):
        if start not in seen:
            cycles += 1
            i = start
            while i not in seen:
                seen.add(i)
                i = perm[i]
    return len(perm) - cycles


def all_permutations(n: int = 4) -> Array:
    """Every permutation of ``0..n-1``, ``(n!, n)`` int32 (lexicographic order)."""
    n = _validate.positive_int("n", n)
    return jnp.array(list(itertools.permutations(range(n))), jnp.int32)


def rank_features(x: Array) -> Array:
    """One-hot ranks of a list ``x (4,)``: row $i$ of the ``(4, 4)`` block is the position
    where $x_i$ belongs, flattened to ``(16,)``."""
    ranks = jnp.argsort(jnp.argsort(x))
    return jax.nn.one_hot(ranks, x.shape[0], dtype=jnp.result_type(float)).reshape(-1)


def policy_logits(W: Array, x: Array) -> Array:
    """The linear policy's scores of the 6 swaps: ``rank_features(x) @ W`` with ``W (16, 6)``."""
    return rank_features(x) @ W


def _episode(W: Array, x0: Array, key: PRNGKey, T: int, greedy: Any):
    """Play up to ``T`` swaps from ``x0``, stopping once sorted; ``greedy`` (may be traced)
    takes the likeliest swap instead of sampling one. Returns the final list, the actions, the
    log-probabilities of the actions and which steps were played."""

    def step(x, k):
        playing = ~is_sorted(x)
        z = policy_logits(W, x)
        a = jnp.where(greedy, jnp.argmax(z), jax.random.categorical(k, z))
        logp = jax.nn.log_softmax(z)[a]
        x = jnp.where(playing, _swap(x, a), x)
        return x, (a, logp, playing)

    x, (actions, logps, played) = lax.scan(step, x0, jax.random.split(key, T))
    return x, actions, logps, played


class SortingRun(NamedTuple):
    """What :func:`train_sorting_policy` returns: the policy ``W (16, 6)``, and per update the
    mean reward and the fraction of episodes sorted within ``T`` swaps (sampled actions)."""

    W: Array
    mean_reward: Array
    success: Array


@functools.partial(jax.jit, static_argnames=("updates", "episodes", "T"))
def _train_sorting(key, learning_rate, updates, episodes, T):
    dt = jnp.result_type(float)
    W0 = jnp.zeros((16, 6), dt)

    def objective(W, x0s, keys, advantage):
        _, _, logps, played = jax.vmap(_episode, in_axes=(None, 0, 0, None, None))(
            W, x0s, keys, T, False
        )
        # Eq 10.8: F(a) grad log pi(a), summed over the actions an episode played
        return jnp.mean(advantage * jnp.sum(jnp.where(played, logps, 0.0), axis=1))

    def update(W, k):
        kx, ke = jax.random.split(k)
        x0s = jax.vmap(lambda kk: jax.random.permutation(kk, 4))(jax.random.split(kx, episodes))
        keys = jax.random.split(ke, episodes)
        finals, _, _, _ = jax.vmap(_episode, in_axes=(None, 0, 0, None, None))(
            W, x0s, keys, T, False
        )
        sorted_ = is_sorted(finals)
        reward = jnp.where(sorted_, 1.0, -1.0).astype(dt)
        advantage = reward - jnp.mean(reward)  # the baseline: this batch's mean reward
        grad = jax.grad(objective)(W, x0s, keys, advantage)
        return W + learning_rate * grad, (jnp.mean(reward), jnp.mean(sorted_.astype(dt)))

    W, (mean_reward, success) = lax.scan(update, W0, jax.random.split(key, updates))
    return SortingRun(W, mean_reward, success)


def train_sorting_policy(
    *,
    key: PRNGKey,
    T: int = 3,
    updates: int = 200,
    episodes: int = 64,
    learning_rate: float = 0.5,
) -> SortingRun:
    r"""REINFORCE (Eq 10.8, with the batch-mean baseline) for the sorting game, from $W = 0$
    (every swap equally likely). Each update plays ``episodes`` games from random permutations
    of 0..3 with up to ``T`` swaps; reward $+1$ if sorted, else $-1$. One jitted ``lax.scan``."""
    _validate.prng_key("key", key)
    _validate.positive("learning_rate", learning_rate)
    return _train_sorting(
        key,
        learning_rate,
        _validate.positive_int("updates", updates),
        _validate.positive_int("episodes", episodes),
        _validate.positive_int("T", T),
    )


def greedy_success(W: ArrayLike, *, T: int = 3) -> Array:
    """Fraction of the 24 permutations of 0..3 that the greedy policy (always the most likely
    swap) sorts within ``T`` swaps: an exhaustive, noise-free success rate. (It runs the same
    compiled player as :func:`sampled_success`, each list played ``_REPS`` times: a greedy
    player gives the same result every time.)"""
    W = _validate.float_array("W", W, ndim=2)
    if W.shape != (16, 6):
        raise ValueError(f"`W` must have shape (16, 6), got {tuple(W.shape)}.")
    T = _validate.positive_int("T", T)
    x0s = jnp.tile(all_permutations(4), (_REPS, 1))
    keys = jax.random.split(jax.random.key(0), x0s.shape[0])  # unused by a greedy player
    return _play(W, x0s, keys, True, T)


@functools.partial(jax.jit, static_argnames=("T",))
def _play(W, x0s, keys, greedy, T):
    finals, _, _, _ = jax.vmap(_episode, in_axes=(None, 0, 0, None, None))(W, x0s, keys, T, greedy)
    return jnp.mean(is_sorted(finals))


_REPS = 84  # 84 x 24 = 2016 games


def sampled_success(W: ArrayLike, *, key: PRNGKey, T: int = 3) -> Array:
    """Fraction of 2016 games (each of the 24 permutations of 0..3 played 84 times) sorted
    within ``T`` swaps when the actions are *sampled* from the policy (``W = 0``: a random
    player)."""
    W = _validate.float_array("W", W, ndim=2)
    _validate.prng_key("key", key)
    T = _validate.positive_int("T", T)
    x0s = jnp.tile(all_permutations(4), (_REPS, 1))
    return _play(W, x0s, jax.random.split(key, x0s.shape[0]), False, T)


# ------------------------------------------------------------------------------ content addressing


def _memory(M: ArrayLike, v: ArrayLike) -> tuple[Array, Array]:
    M = _validate.float_array("M", M, ndim=2)
    v = _validate.float_array("v", v, ndim=1)
    _validate.nonempty("M", M, what="memory row")
    if v.shape[0] != M.shape[1]:
        raise ValueError(
            f"the key `v` must have one entry per memory column ({M.shape[1]}), got shape "
            f"{tuple(v.shape)}."
        )
    return M, v


def cosine_similarity(M: ArrayLike, v: ArrayLike, eps: float = 1e-8) -> Array:
    r"""$\cos(v, M_i) = \dfrac{v\cdot M_i}{\lVert v\rVert\,\lVert M_i\rVert}$ for every row:
    ``M (N, m)``, ``v (m,)`` -> ``(N,)`` (norms below ``eps`` are raised to ``eps``, so a zero
    row reads as similarity 0, not NaN)."""
    M, v = _memory(M, v)
    # max(., eps) rather than + eps: exact (and so is its gradient) whenever no norm is tiny
    nM = jnp.maximum(jnp.linalg.norm(M, axis=1), eps)
    return (M @ v) / (nM * jnp.maximum(jnp.linalg.norm(v), eps))


def content_weights(M: ArrayLike, v: ArrayLike, beta: Any) -> Array:
    r"""Content addressing, Aggarwal Eq 10.13 (corrected: the cosine of $v$ and $M_i$):
    $w(i) = \operatorname{softmax}_i\big(\beta\cos(v, M_i)\big)$. $\beta\ge0$ is the key
    strength: $\beta = 0$ reads every row equally, large $\beta$ reads the best match.
    ``M (N, m)``, ``v (m,)``, ``beta`` scalar (may be traced) -> ``(N,)``."""
    _validate.positive("beta", beta, allow_zero=True)
    return jax.nn.softmax(beta * cosine_similarity(M, v))


def content_read(M: ArrayLike, v: ArrayLike, beta: Any) -> tuple[Array, Array]:
    r"""A content-addressed read: the weights of Eq 10.13 and $r=\sum_i w(i)M_i$ (Eq 10.9).

    Returns ``(w (N,), r (m,))``.
    """
    w = content_weights(M, v, beta)
    return w, w @ jnp.asarray(M, w.dtype)


def content_read_vjp(M: ArrayLike, v: ArrayLike, beta: Any, g: ArrayLike) -> tuple[Array, Array]:
    r"""Hand-derived gradients of $L = g\cdot r$ (any upstream gradient $g$ of the read) with
    respect to the key $v$ and the strength $\beta$.

    With $c_i=\cos(v,M_i)$, $w=\operatorname{softmax}(\beta c)$ and $u_i = g\cdot M_i$:

    $$\frac{\partial L}{\partial w_i}=u_i,\qquad
    \delta_i=\frac{\partial L}{\partial(\beta c_i)}=w_i\Big(u_i-\sum_j w_ju_j\Big),$$
    $$\frac{\partial L}{\partial\beta}=\sum_i\delta_ic_i,\qquad
    \frac{\partial L}{\partial v}=\beta\sum_i\delta_i\Big(\frac{M_i}{\lVert v\rVert
    \lVert M_i\rVert}-c_i\frac{v}{\lVert v\rVert^2}\Big).$$

    (The softmax Jacobian $\operatorname{diag}(w)-ww^\top$ gives $\delta$; the gradient of a
    cosine is the other vector's direction minus the part along $v$.) Assumes no row and no key
    of norm below the ``eps`` of :func:`cosine_similarity`. Returns ``(dL/dv (m,), dL/dbeta ())``.
    """
    M, v = _memory(M, v)
    g = _validate.float_array("g", g, ndim=1)
    if g.shape != v.shape:
        raise ValueError(
            f"`g` must have the shape of a memory row {tuple(v.shape)}, got {g.shape}."
        )
    nv = jnp.linalg.norm(v)
    nM = jnp.linalg.norm(M, axis=1)
    c = (M @ v) / (nM * nv)
    w = jax.nn.softmax(beta * c)
    u = M @ g
    delta = w * (u - w @ u)
    dbeta = delta @ c
    dv = beta * ((delta / (nM * nv)) @ M - (delta @ c) * v / nv**2)
    return dv, dbeta


def erase_add(M: ArrayLike, w: ArrayLike, e: ArrayLike, a: ArrayLike) -> Array:
    r"""An NTM write (Aggarwal Eq 10.11-10.12): erase, then add,
    $M_i \leftarrow M_i\odot(1-w(i)\,e) + w(i)\,a$. ``M (N, m)``, ``w (N,)``, ``e`` in
    $[0,1]^m$, ``a (m,)`` -> the new memory ``(N, m)``."""
    M = _validate.float_array("M", M, ndim=2)
    w = _validate.float_array("w", w, ndim=1)
    e = _validate.float_array("e", e, ndim=1)
    a = _validate.float_array("a", a, ndim=1)
    if w.shape[0] != M.shape[0] or e.shape[0] != M.shape[1] or a.shape[0] != M.shape[1]:
        raise ValueError(
            f"for M of shape {tuple(M.shape)}, `w` needs shape ({M.shape[0]},) and `e`, `a` "
            f"shape ({M.shape[1]},); got {tuple(w.shape)}, {tuple(e.shape)}, {tuple(a.shape)}."
        )
    return M * (1.0 - jnp.outer(w, e)) + jnp.outer(w, a)


def interpolate(w_content: ArrayLike, w_prev: ArrayLike, g: Any) -> Array:
    r"""$w^g = g\,w^c + (1-g)\,w_{t-1}$ (Eq 10.15): $g=1$ addresses by content, $g=0$ keeps the
    previous weights."""
    _validate.in_range("g", g, 0.0, 1.0)
    return g * jnp.asarray(w_content) + (1.0 - g) * jnp.asarray(w_prev)


def shift(w: ArrayLike, s: ArrayLike) -> Array:
    r"""Circular shift by a distribution over the offsets $-1, 0, +1$ (Eq 10.16, corrected):
    $w^s(i)=\sum_j w^g(j)\,s[(i-j)\bmod N]$, with ``s = (s[-1], s[0], s[+1])``."""
    w = _validate.float_array("w", w, ndim=1)
    s = _validate.float_array("s", s, ndim=1)
    if s.shape != (3,):
        raise ValueError(f"`s` must be (s[-1], s[0], s[+1]), shape (3,), got {tuple(s.shape)}.")
    return s[0] * jnp.roll(w, -1) + s[1] * w + s[2] * jnp.roll(w, 1)


def sharpen(w: ArrayLike, gamma: Any) -> Array:
    r"""$w(i) = w^s(i)^\gamma/\sum_j w^s(j)^\gamma$, $\gamma\ge1$ (Eq 10.17)."""
    _validate.positive("gamma", gamma)
    wg = jnp.asarray(w) ** gamma
    return wg / jnp.sum(wg)
