r"""A hybrid recommender for images: collaborative filtering whose item vectors come from the
images' content (Aggarwal Exercise 8.10; §2.5.7 for matrix factorization).

Plain matrix factorization $\hat r_{ui} = \mu + b_u + u_u^\top v_i$ learns one free vector
$v_i$ per item from that item's ratings, so an image nobody has rated yet (*cold start*) has no
learned $v_i$ and can be scored no better than by the user's mean. The hybrid replaces the free
vector by a learned linear map of the item's content features $f_i$ (e.g. the code of a
convolutional autoencoder, :mod:`course_lib.transposed_conv`):

$$ \hat r_{ui} = \mu + b_u + u_u^\top A^\top f_i, \qquad A \in \mathbb R^{d\times k}, $$

which scores any image whose features are known, rated or not.

:func:`synthetic_ratings` makes users whose taste depends on the image content (each likes a
few digit classes); :func:`fit_hybrid` trains $U, A, b$ by full-batch Adam on the observed
entries in one jitted ``lax.scan``; :func:`user_mean_baseline` is what a cold item gets
without content.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from course_lib import _validate, optim
from course_lib._types import Array, ArrayLike, PRNGKey


class HybridParams(NamedTuple):
    """$U$ ``(m, k)``, $A$ ``(d, k)``, user biases $b$ ``(m,)`` and the global mean $\\mu$."""

    U: Array
    A: Array
    b: Array
    mu: Array


def synthetic_ratings(
    labels: ArrayLike, *, key: PRNGKey, n_users: int, n_liked: int = 3, noise: Any = 0.5
) -> tuple[Array, Array]:
    r"""Ratings of images by users who each like ``n_liked`` of the 10 classes (drawn with
    ``key``): $r_{ui} = 2 + 2\,[\text{class}(i) \in L_u] + \varepsilon_{ui}$,
    $\varepsilon \sim \mathcal N(0, \text{noise}^2)$.

    Returns:
        ``(R, likes)``: ratings ``(n_users, n_items)`` and the 0/1 taste matrix ``(n_users, 10)``.
    """
    y = jnp.asarray(labels)
    if y.ndim != 1 or not jnp.issubdtype(y.dtype, jnp.integer):
        raise ValueError(f"`labels` must be a 1-D integer array, got {y.dtype}{tuple(y.shape)}.")
    key = _validate.prng_key("key", key)
    n_users = _validate.positive_int("n_users", n_users)
    n_liked = _validate.positive_int("n_liked", n_liked)
    if n_liked > 10:
        raise ValueError(f"`n_liked` must be at most 10 classes, got {n_liked}.")
    _validate.positive("noise", noise, allow_zero=True)
    dt = jnp.result_type(float)
    return _synthetic(y, key, jnp.asarray(noise, dt), n_users=n_users, n_liked=n_liked)


@functools.partial(jax.jit, static_argnames=("n_users", "n_liked"))
def _synthetic(y, key, noise, *, n_users, n_liked):
    k_taste, k_noise = jax.random.split(key)
    scores = jax.random.uniform(k_taste, (n_users, 10), noise.dtype)
    kth = jnp.sort(scores, axis=1)[:, 10 - n_liked][:, None]
    likes = (scores >= kth).astype(noise.dtype)
    eps = noise * jax.random.normal(k_noise, (n_users, y.shape[0]), noise.dtype)
    return 2.0 + 2.0 * likes[:, y] + eps, likes


def predict(params: HybridParams, F: ArrayLike) -> Array:
    r"""$\hat R = \mu + b\,\mathbf 1^\top + U (F A)^\top$ for item features ``F (n_items, d)``.

    Returns:
        ``(m, n_items)``.
    """
    F = _validate.float_array("F", F, ndim=2)
    if F.shape[1] != params.A.shape[0]:
        raise ValueError(f"`F` must have {params.A.shape[0]} features per item, got {F.shape}.")
    return params.mu + params.b[:, None] + params.U @ (F @ params.A).T


def _loss(params, R, mask, F, lam):
    err = jnp.where(mask > 0, predict(params, F) - R, 0.0)
    reg = jnp.sum(params.U**2) + jnp.sum(params.A**2)
    return jnp.sum(err**2) / jnp.sum(mask) + lam * reg


@functools.partial(jax.jit, static_argnames="steps")
def _fit(params, R, mask, F, lr, lam, steps):
    opt = optim.adam(lr)

    def loss_fn(p):
        return _loss(p._replace(mu=jax.lax.stop_gradient(p.mu)), R, mask, F, lam)

    return optim.minimize(loss_fn, opt, params, steps)


def fit_hybrid(
    R: ArrayLike,
    mask: ArrayLike,
    F: ArrayLike,
    *,
    key: PRNGKey,
    rank: int = 4,
    steps: int = 300,
    lr: Any = 0.05,
    lam: Any = 1e-3,
) -> tuple[HybridParams, Array]:
    r"""Fit $U, A, b$ by full-batch Adam on the mean squared error over the observed entries
    plus $\lambda(\lVert U\rVert^2 + \lVert A\rVert^2)$; $\mu$ is the observed mean (fixed).
    ``lr`` and ``lam`` are traced.

    Args:
        R: ``(m, n)`` ratings; mask: ``(m, n)``, 1 where observed; F: ``(n, d)`` features.

    Returns:
        ``(params, losses: (steps,))``.
    """
    R = _validate.float_array("R", R, ndim=2)
    mask = _validate.float_array("mask", mask, ndim=2)
    F = _validate.float_array("F", F, ndim=2)
    if mask.shape != R.shape:
        raise ValueError(f"`mask` must have the shape of `R` {R.shape}, got {mask.shape}.")
    if F.shape[0] != R.shape[1]:
        raise ValueError(f"`F` must have one row per item ({R.shape[1]}), got {F.shape}.")
    key = _validate.prng_key("key", key)
    rank = _validate.positive_int("rank", rank)
    steps = _validate.positive_int("steps", steps)
    _validate.positive("lr", lr)
    _validate.positive("lam", lam, allow_zero=True)
    R = jnp.where(mask > 0, R, 0.0)
    mu = jnp.sum(R * mask) / jnp.sum(mask)
    n_u, n_a = R.shape[0] * rank, F.shape[1] * rank
    # one draw of a fixed shape where it fits (the autoencoder's): one compiled generator
    draws = jax.random.normal(key, (4, max(2048, n_u, n_a)), R.dtype)
    params = HybridParams(
        0.1 * draws[0, :n_u].reshape(R.shape[0], rank),
        0.1 * draws[1, :n_a].reshape(F.shape[1], rank),
        jnp.zeros(R.shape[0], R.dtype),
        mu.astype(R.dtype),
    )
    dt = R.dtype
    return _fit(params, R, mask, F.astype(dt), jnp.asarray(lr, dt), jnp.asarray(lam, dt), steps)


def fit_cache_size() -> int:
    """How many versions of the jitted fit exist (for the no-recompile test)."""
    return _fit._cache_size()


def user_mean_baseline(R: ArrayLike, mask: ArrayLike) -> Array:
    r"""Each user's mean observed rating, for every item: the best a model without content can
    say about an unrated image. Returns ``(m, n)``."""
    R = _validate.float_array("R", R, ndim=2)
    mask = _validate.float_array("mask", mask, ndim=2)
    if mask.shape != R.shape:
        raise ValueError(f"`mask` must have the shape of `R` {R.shape}, got {mask.shape}.")
    means = jnp.sum(jnp.where(mask > 0, R, 0.0), axis=1) / jnp.maximum(jnp.sum(mask, axis=1), 1)
    return jnp.broadcast_to(means[:, None], R.shape)


def rmse(pred: ArrayLike, R: ArrayLike, mask: ArrayLike) -> Array:
    r"""$\sqrt{\sum M\odot(\hat R - R)^2 / \sum M}$ over the entries where ``mask`` is 1."""
    pred = _validate.float_array("pred", pred)
    R = _validate.float_array("R", R)
    mask = _validate.float_array("mask", mask)
    return jnp.sqrt(jnp.sum(jnp.where(mask > 0, pred - R, 0.0) ** 2) / jnp.sum(mask))
