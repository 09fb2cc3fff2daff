r"""The variational autoencoder (Aggarwal §4.10.4, Eq 4.16–4.22).

The encoder maps an input $x$ to the mean $\mu(x)$ and standard deviation $\sigma(x)$ of a
Gaussian over the $k$-dimensional code; the code is drawn by the **reparametrization**
(Eq 4.16)

$$h = z\odot\sigma(x) + \mu(x), \qquad z\sim N(0, I),$$

so that $z$ is an *input* and $h$ is a differentiable function of $\mu$ and $\sigma$
($\partial h_i/\partial\mu_i = 1$, $\partial h_i/\partial\sigma_i = z_i$, Eq 4.20–4.22). The
regularizer is the KL divergence from $N(\mu, \mathrm{diag}\,\sigma^2)$ to $N(0, I)$
(Eq 4.18),

$$R = \tfrac12\Big(\|\mu\|^2 + \|\sigma\|^2 - 2\sum_i\ln\sigma_i - k\Big), \qquad
  \frac{\partial R}{\partial\mu_i} = \mu_i,\quad
  \frac{\partial R}{\partial\sigma_i} = \sigma_i - \frac1{\sigma_i}.$$

**The decoder here is Gaussian** with a fixed pixel standard deviation $\sigma_x$:
$p(x\mid h) = N(x;\, g(h),\, \sigma_x^2 I)$ with mean $g(h)$ in $[0, 1]$. Then

$$-\mathrm{ELBO}(x) = \mathbb E_z\Big[\frac{\|x - g(h)\|^2}{2\sigma_x^2}\Big]
   + \frac d2\ln(2\pi\sigma_x^2) + R \;\ge\; -\ln p(x),$$

a proper negative evidence lower bound in nats: the book's $J = L + \lambda R$ (Eq 4.19) with
$L = \|x - x'\|^2$, divided by $2\sigma_x^2$, i.e. $\lambda = 2\sigma_x^2$, plus a constant.
The encoder outputs $\ln\sigma$ (any real number), so $\sigma > 0$ without a constraint.

**Structure.** Pure functions of a :class:`VAE` pytree; :func:`fit` runs minibatch Adam over
all epochs in one jitted ``lax.scan`` whose shuffles and noise come from explicit keys.
``kl_weight`` and ``sample_scale`` are traced, so the same compiled loop also trains the
plain autoencoder of Fig 4.14 (``kl_weight=0, sample_scale=0``: $h = \mu$).
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from course_lib import _validate, optim
from course_lib._types import Array, ArrayLike, PRNGKey
from course_lib.mlp import Dense

# ------------------------------------------------------------------------------ the pieces


def reparametrize(mu: ArrayLike, sigma: ArrayLike, z: ArrayLike) -> Array:
    r"""Eq 4.16: $h = z\odot\sigma + \mu$ (all of one shape, e.g. ``(n, k)``)."""
    mu = _validate.float_array("mu", mu)
    sigma = _validate.float_array("sigma", sigma)
    z = _validate.float_array("z", z)
    if not (mu.shape == sigma.shape == z.shape):
        raise ValueError(
            f"`mu`, `sigma` and `z` must have one shape, got {mu.shape}, {sigma.shape}, {z.shape}."
        )
    return z * sigma + mu


def gaussian_kl(mu: ArrayLike, sigma: ArrayLike) -> Array:
    r"""Eq 4.18: $\mathrm{KL}(N(\mu,\mathrm{diag}\,\sigma^2)\,\|\,N(0, I)) =
    \tfrac12(\|\mu\|^2 + \|\sigma\|^2 - 2\sum_i\ln\sigma_i - k)$ over the last axis.

    Args:
        mu, sigma: ``(..., k)``, ``sigma > 0``.

    Returns:
        shape ``(...)``; 0 exactly when $\mu = 0$ and $\sigma = 1$.
    """
    mu = _validate.float_array("mu", mu)
    sigma = _validate.float_array("sigma", sigma)
    if mu.shape != sigma.shape:
        raise ValueError(f"`mu` and `sigma` must have one shape, got {mu.shape} and {sigma.shape}.")
    if not _validate.is_traced(sigma) and bool(jnp.any(sigma <= 0)):
        raise ValueError("`sigma` must be positive (a standard deviation).")
    return _kl(mu, jnp.log(sigma))


def _kl(mu: Array, log_sigma: Array) -> Array:
    k = mu.shape[-1]
    return 0.5 * (
        jnp.sum(mu**2, axis=-1) + jnp.sum(jnp.exp(2 * log_sigma), axis=-1)
        - 2 * jnp.sum(log_sigma, axis=-1) - k
    )  # fmt: skip


def kl_grads(mu: ArrayLike, sigma: ArrayLike) -> tuple[Array, Array]:
    r"""The derivatives of Eq 4.18 by hand: $\partial R/\partial\mu = \mu$,
    $\partial R/\partial\sigma = \sigma - 1/\sigma$ (what the book leaves to the reader)."""
    mu = _validate.float_array("mu", mu)
    sigma = _validate.float_array("sigma", sigma)
    return mu, sigma - 1.0 / sigma


def kl_monte_carlo(
    mu: ArrayLike, sigma: ArrayLike, *, key: PRNGKey, samples: int
) -> tuple[Array, Array]:
    r"""A Monte-Carlo estimate of Eq 4.18, independent of its closed form.

    $\mathrm{KL}(q\|p) = \mathbb E_{h\sim q}[\ln q(h) - \ln p(h)]$ with
    $q = N(\mu, \mathrm{diag}\,\sigma^2)$, $p = N(0, I)$, averaged over ``samples`` draws.

    Args:
        mu, sigma: ``(k,)``.

    Returns:
        ``(estimate, standard_error)``, both scalars.
    """
    mu = _validate.float_array("mu", mu, ndim=1)
    sigma = _validate.float_array("sigma", sigma, ndim=1)
    _validate.prng_key("key", key)
    samples = _validate.positive_int("samples", samples)
    return _kl_mc(mu, sigma, key, samples)


@functools.partial(jax.jit, static_argnames="samples")
def _kl_mc(mu, sigma, key, samples):
    z = jax.random.normal(key, (samples, mu.shape[0]), mu.dtype)
    h = mu[None, :] + sigma[None, :] * z
    log_q = jnp.sum(-0.5 * z**2 - jnp.log(sigma)[None, :], axis=1)  # the 2π terms cancel with log p
    log_p = jnp.sum(-0.5 * h**2, axis=1)
    terms = log_q - log_p
    return jnp.mean(terms), jnp.std(terms) / jnp.sqrt(samples)


def gaussian_nll(X: Array, X_mean: Array, sigma_x: ArrayLike) -> Array:
    r"""$-\ln N(x;\,\hat x,\,\sigma_x^2 I) = \frac{\|x-\hat x\|^2}{2\sigma_x^2}
    + \frac d2\ln(2\pi\sigma_x^2)$ for each row; ``(n, d)`` to ``(n,)``."""
    d = X.shape[-1]
    return jnp.sum((X - X_mean) ** 2, axis=-1) / (2 * sigma_x**2) + 0.5 * d * jnp.log(
        2 * math.pi * sigma_x**2
    )


# ------------------------------------------------------------------------------ the model


class VAE(NamedTuple):
    """Encoder ``enc -> (mu, log_sigma)`` and decoder ``dec_hidden -> dec_out`` (sigmoid mean)."""

    enc: Dense  # (d, hidden)
    mu: Dense  # (hidden, k)
    log_sigma: Dense  # (hidden, k)
    dec_hidden: Dense  # (k, hidden)
    dec_out: Dense  # (hidden, d)


def init(*, key: PRNGKey, d: int, hidden: int, k: int) -> VAE:
    """Glorot-scaled weights, zero biases (``log_sigma`` starts near 0: $\\sigma\\approx1$)."""
    _validate.prng_key("key", key)
    d, hidden, k = (
        _validate.positive_int(n, v) for n, v in (("d", d), ("hidden", hidden), ("k", k))
    )
    keys = jax.random.split(key, 5)
    shapes = [(d, hidden), (hidden, k), (hidden, k), (k, hidden), (hidden, d)]
    layers = [
        Dense(jax.random.normal(kk, s) * jnp.sqrt(2.0 / sum(s)), jnp.zeros(s[1]))
        for kk, s in zip(keys, shapes, strict=True)
    ]
    return VAE(*layers)


@jax.jit
def encode(params: VAE, X: Array) -> tuple[Array, Array]:
    r"""``X: (n, d)`` to ``(mu, log_sigma)``, each ``(n, k)`` (one tanh hidden layer)."""
    a = jnp.tanh(X @ params.enc.W + params.enc.b[None, :])
    return (
        a @ params.mu.W + params.mu.b[None, :],
        a @ params.log_sigma.W + params.log_sigma.b[None, :],
    )


@jax.jit
def decode(params: VAE, H: Array) -> Array:
    r"""Codes ``H: (n, k)`` to the decoder's mean $g(h)\in[0,1]^d$, shape ``(n, d)``."""
    a = jnp.tanh(H @ params.dec_hidden.W + params.dec_hidden.b[None, :])
    return jax.nn.sigmoid(a @ params.dec_out.W + params.dec_out.b[None, :])


@jax.jit
def negative_elbo(
    params: VAE,
    X: Array,
    z: Array,
    sigma_x: ArrayLike,
    *,
    kl_weight: ArrayLike = 1.0,
    sample_scale: ArrayLike = 1.0,
) -> Array:
    r"""The negative ELBO of each row of ``X: (n, d)``, with the noise ``z: (n, k)`` given.

    $-\mathrm{ELBO} = \frac{\|x - g(h)\|^2}{2\sigma_x^2} + \frac d2\ln(2\pi\sigma_x^2)
    + \mathrm{KL}$ with $h = \mu + \sigma\odot z$ (one sample of $z$: an unbiased estimate).
    ``kl_weight`` and ``sample_scale`` (both 1 for the VAE) scale the KL term and $z$: with
    both 0 this is a plain deterministic autoencoder's (scaled, shifted) squared error.

    Returns:
        shape ``(n,)``, in nats.
    """
    mu, log_sigma = encode(params, X)
    h = mu + sample_scale * jnp.exp(log_sigma) * z
    return gaussian_nll(X, decode(params, h), sigma_x) + kl_weight * _kl(mu, log_sigma)


@functools.partial(jax.jit, static_argnames="samples")
def _elbo(params, X, key, sigma_x, samples):
    z = jax.random.normal(key, (samples, X.shape[0], params.mu.W.shape[1]), X.dtype)
    return -jnp.mean(jax.vmap(lambda zz: negative_elbo(params, X, zz, sigma_x))(z))


def elbo(
    params: VAE, X: ArrayLike, *, key: PRNGKey, sigma_x: ArrayLike, samples: int = 16
) -> Array:
    r"""The ELBO per example (nats, higher is better), averaged over the rows of ``X`` and
    ``samples`` draws of $z$ per row: a lower bound on the average $\ln p(x)$."""
    X = _validate.float_array("X", X, ndim=2)
    _validate.prng_key("key", key)
    _validate.positive("sigma_x", sigma_x)
    samples = _validate.positive_int("samples", samples)
    return _elbo(params, X, key, jnp.asarray(sigma_x, X.dtype), samples)


def mean_model_elbo(X_train: ArrayLike, X: ArrayLike, sigma_x: ArrayLike) -> Array:
    r"""The baseline: a "decoder" that ignores the code and always outputs the per-pixel mean
    of ``X_train``. Its KL is 0 (take $q = p$), so its ELBO is its exact log-likelihood
    $-\frac1n\sum_r\big[\frac{\|x_r - \bar x\|^2}{2\sigma_x^2}
    + \frac d2\ln(2\pi\sigma_x^2)\big]$."""
    X_train = _validate.float_array("X_train", X_train, ndim=2)
    X = _validate.float_array("X", X, ndim=2)
    _validate.positive("sigma_x", sigma_x)
    mean = jnp.mean(X_train, axis=0)
    return -jnp.mean(gaussian_nll(X, jnp.broadcast_to(mean, X.shape), sigma_x))


# ------------------------------------------------------------------------------ training


@functools.partial(jax.jit, static_argnames=("batch_size", "epochs"))
def _fit(params, X, key, lr, sigma_x, kl_weight, sample_scale, batch_size, epochs):
    n = X.shape[0]
    nb = n // batch_size
    k = params.mu.W.shape[1]
    opt = optim.adam(optim.linear_decay(lr, epochs * nb, 0.1))

    def objective(p, xb, z):
        return jnp.mean(
            negative_elbo(p, xb, z, sigma_x, kl_weight=kl_weight, sample_scale=sample_scale)
        )

    grad_fn = jax.value_and_grad(objective)

    def step(carry, batch):
        p, s = carry
        xb, z = batch
        value, g = grad_fn(p, xb, z)
        u, s = opt.update(g, s, p)
        return (optim.apply_updates(p, u), s), value

    def epoch(carry, e):
        k_perm, k_z = jax.random.split(jax.random.fold_in(key, e))
        perm = jax.random.permutation(k_perm, n)[: nb * batch_size].reshape(nb, batch_size)
        z = jax.random.normal(k_z, (nb, batch_size, k), X.dtype)
        carry, losses = lax.scan(step, carry, (X[perm], z))
        return carry, jnp.mean(losses)

    (params, _), history = lax.scan(epoch, (params, opt.init(params)), jnp.arange(epochs))
    return params, history


def fit(
    X: ArrayLike,
    *,
    key: PRNGKey,
    k: int = 2,
    hidden: int = 64,
    sigma_x: ArrayLike = 0.2,
    kl_weight: ArrayLike = 1.0,
    sample_scale: ArrayLike = 1.0,
    epochs: int = 60,
    batch_size: int = 64,
    lr: ArrayLike = 0.005,
) -> tuple[VAE, Array]:
    r"""Train a VAE by minibatch Adam on the negative ELBO (one jitted ``lax.scan``).

    Every epoch reshuffles ``X`` and draws the $z$'s from ``fold_in(key, epoch)``; the weights
    come from ``init(key=jax.random.fold_in(key, 10**6))``.
    ``kl_weight=0, sample_scale=0`` trains the plain autoencoder with the same network.

    Args:
        X: data ``(n, d)`` in $[0, 1]$.
        k: code size (static); hidden: width of the two hidden layers (static).
        sigma_x: the decoder's pixel standard deviation (traced).
        epochs, batch_size: static; lr: Adam's step size, decaying to 10% (traced).

    Returns:
        ``(params, loss_history: (epochs,))`` (mean minibatch negative ELBO per epoch).
    """
    X = _validate.float_array("X", X, ndim=2)
    _validate.finite("X", X)
    _validate.prng_key("key", key)
    k = _validate.positive_int("k", k)
    hidden = _validate.positive_int("hidden", hidden)
    epochs = _validate.positive_int("epochs", epochs)
    batch_size = _validate.positive_int("batch_size", batch_size)
    if batch_size > X.shape[0]:
        raise ValueError(
            f"`batch_size` ({batch_size}) is larger than the dataset ({X.shape[0]} rows)."
        )
    _validate.positive("sigma_x", sigma_x)
    _validate.positive("kl_weight", kl_weight, allow_zero=True)
    _validate.positive("sample_scale", sample_scale, allow_zero=True)
    _validate.positive("lr", lr)
    params = init(key=jax.random.fold_in(key, 10**6), d=X.shape[1], hidden=hidden, k=k)
    params = jax.tree.map(lambda a: a.astype(X.dtype), params)
    f = functools.partial(jnp.asarray, dtype=X.dtype)
    return _fit(
        params, X, key, f(lr), f(sigma_x), f(kl_weight), f(sample_scale), batch_size, epochs
    )


def fit_cache_size() -> int:
    """How many times :func:`fit`'s jitted loop has compiled (for no-recompile tests)."""
    return _fit._cache_size()


@jax.jit
def decode_one(params: VAE, z1: Array, z2: Array) -> Array:
    r"""The decoded image of the 2-D code $(z_1, z_2)$: shape ``(d,)`` (the widget's call)."""
    return decode(params, jnp.stack([z1, z2])[None, :])[0]


def interpolate(params: VAE, h_start: ArrayLike, h_end: ArrayLike, steps: int = 8) -> Array:
    r"""Decode ``steps`` codes on the segment from ``h_start`` to ``h_end`` (both ``(k,)``):
    $h(t) = (1-t)h_{start} + t\,h_{end}$, $t = 0..1$. Returns ``(steps, d)``."""
    h_start = _validate.float_array("h_start", h_start, ndim=1)
    h_end = _validate.float_array("h_end", h_end, ndim=1)
    steps = _validate.positive_int("steps", steps)
    t = jnp.linspace(0.0, 1.0, steps)[:, None]
    return decode(params, (1 - t) * h_start[None, :] + t * h_end[None, :])
