r"""Regularized autoencoders: sparse, de-noising and contractive (Aggarwal §4.10.1–4.10.3).

An autoencoder with as many hidden units as inputs (or more) can learn the identity and
nothing else. A regularizer makes it learn the *shape* of the data instead:

- **sparse** (§4.10.1): an $L_1$ penalty $\lambda\sum_j|h_j|$ on the hidden units (as in
  §4.4.4), or a hard **top-$k$** layer that keeps the $k$ largest activations of each example
  and zeroes the rest (the gradient flows only through the kept units);
- **de-noising** (§4.10.2): the input is corrupted (Gaussian, masking or salt-and-pepper
  noise) and the target is the clean input, so the network learns to pull points back
  towards the data manifold;
- **contractive** (§4.10.3, Eq 4.12–4.15): the penalty
  $R = \tfrac12\sum_{i,j}(\partial h_j/\partial x_i)^2$ makes the code insensitive to
  small changes of the input, except along the directions in which the data vary.

The model here has one hidden layer, ``h = Φ(x W + b)`` with ``W: (d, k)``, and a linear
decoder ``x̂ = h V + c`` with ``V: (k, d)``. For an element-wise activation the Jacobian of
the code is $\partial h_j/\partial x_i = w_{ij}\,\Phi'(a_j)$, so the contractive penalty has
the closed form $R = \tfrac12\sum_j \Phi'(a_j)^2\sum_i w_{ij}^2$ (Eq 4.14 for the sigmoid,
$\Phi' = h(1-h)$; for ReLU $\Phi' = 1[a>0]$, Exercise 4.5; for the identity Eq 4.15).

A *linear* de-noising autoencoder with Gaussian input noise of variance $\lambda$ minimizes,
in expectation, the clean loss plus $\lambda\|BA\|_F^2$ per example (Exercise 4.7):
:func:`linear_dae_expected_loss` and :func:`linear_dae_optimum` give both in closed form.

**Structure.** Everything is a plain function of ``(params, X)``; :func:`fit` validates its
inputs and calls one jitted ``lax.scan`` over Adam steps. The activation and the noise *kind*
are static (they change the program); every level and penalty weight is traced, so a sweep
or a slider over them never recompiles.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from course_lib import _validate, optim
from course_lib._types import Array, ArrayLike, PRNGKey

ACTIVATIONS = ("sigmoid", "tanh", "relu", "identity")
NOISES = ("gaussian", "masking", "salt_and_pepper")

# ------------------------------------------------------------------------------ sparsity


def top_k_mask(h: ArrayLike, k: ArrayLike) -> Array:
    r"""0/1 mask of the ``k`` largest entries of each row of ``h`` (ties broken by position).

    The rank of entry $j$ in its row is the number of entries that beat it,
    $r_j = \#\{l : h_l > h_j\} + \#\{l < j : h_l = h_j\}$, and the mask is $r_j < k$. So ``k``
    may be a traced integer (a slider over $k$ never recompiles) and the mask has exactly ``k``
    ones per row (for $0 \le k \le m$). The $m\times m$ comparisons per row are cheaper than a
    sort on XLA's CPU backend for the widths used here (a few hundred units at most).

    Args:
        h: activations, shape ``(n, m)`` (or ``(m,)``).
        k: how many to keep per row.

    Returns:
        the mask, shape and dtype of ``h``.
    """
    h = _validate.float_array("h", h, ndim=(1, 2))
    m = h.shape[-1]
    beats = h[..., None, :] > h[..., :, None]  # [..., j, l]: h_l > h_j
    before = jnp.arange(m)[None, :] < jnp.arange(m)[:, None]  # [j, l]: l comes before j
    before = before.reshape((1,) * (h.ndim - 1) + (m, m))
    earlier_tie = (h[..., None, :] == h[..., :, None]) & before
    rank = jnp.sum(beats | earlier_tie, axis=-1)
    return (rank < k).astype(h.dtype)


def top_k_activation(h: ArrayLike, k: ArrayLike) -> Array:
    r"""Keep the ``k`` largest activations of each row, set the others to 0 (§4.10.1).

    $\mathrm{topk}(h)_j = h_j$ if $h_j$ is among the $k$ largest of its row, else $0$. The mask
    is piecewise constant, so the gradient is $\partial\,\mathrm{topk}(h)_j/\partial h_j = 1$
    for a kept unit and $0$ for a dropped one: backpropagation only updates the chosen units.

    Args:
        h: shape ``(n, m)`` or ``(m,)``; k: integer, may be traced.
    """
    h = _validate.float_array("h", h, ndim=(1, 2))
    return h * top_k_mask(h, k)


def l1_activity(H: ArrayLike) -> Array:
    r"""The sparsity penalty $\sum_j |h_j|$ of §4.4.4, averaged over the rows of ``H: (n, m)``."""
    H = _validate.float_array("H", H, ndim=2)
    return jnp.mean(jnp.sum(jnp.abs(H), axis=1))


# ------------------------------------------------------------------------------ corruption


def _n_corrupt(fraction: ArrayLike, d: int) -> Array:
    # floor(f d) computed in float64-safe integer arithmetic: f d = 3 must not become 2.9999
    return jnp.floor(jnp.asarray(fraction) * d + 1e-6).astype(jnp.int32)


@functools.partial(jax.jit, static_argnums=1)
def corruption_mask(key: PRNGKey, shape: tuple[int, int], fraction: ArrayLike) -> Array:
    r"""Boolean ``(n, d)`` mask with exactly $\lfloor f d\rfloor$ ``True`` per row.

    Each row's positions are drawn uniformly *without replacement* (the ranks of i.i.d.
    uniforms form a uniformly random permutation), independently across rows.
    """
    n, d = shape
    u = jax.random.uniform(key, (n, d))
    rank = jnp.argsort(jnp.argsort(u, axis=1), axis=1)
    return rank < _n_corrupt(fraction, d)


def gaussian_noise(X: ArrayLike, *, key: PRNGKey, variance: ArrayLike) -> Array:
    r"""Additive Gaussian corruption $\tilde x = x + \sqrt\lambda\,\varepsilon$,
    $\varepsilon\sim N(0, I)$, with variance $\lambda$ (§4.10.2, for real-valued inputs).

    Args:
        X: ``(n, d)``; key: the noise; variance: $\lambda \ge 0$ (may be traced).
    """
    X = _data("X", X)
    _validate.prng_key("key", key)
    _validate.positive("variance", variance, allow_zero=True)
    return _gaussian(X, key, variance)


@jax.jit
def _gaussian(X, key, variance):
    return X + jnp.sqrt(variance) * jax.random.normal(key, X.shape, X.dtype)


def masking_noise(X: ArrayLike, *, key: PRNGKey, fraction: ArrayLike) -> Array:
    r"""Masking corruption: in each row, $\lfloor f d\rfloor$ entries chosen without
    replacement are set to 0 (§4.10.2, for binary or non-negative inputs).

    Args:
        X: ``(n, d)``; key: which entries; fraction: $f\in[0, 1]$ (may be traced).
    """
    X = _data("X", X)
    _validate.prng_key("key", key)
    _validate.in_range("fraction", fraction, 0.0, 1.0)
    return _masking(X, key, fraction)


@jax.jit
def _masking(X, key, fraction):
    return jnp.where(corruption_mask(key, X.shape, fraction), 0.0, X)


def salt_and_pepper(
    X: ArrayLike,
    *,
    key: PRNGKey,
    fraction: ArrayLike,
    low: ArrayLike = 0.0,
    high: ArrayLike = 1.0,
) -> Array:
    r"""Salt-and-pepper corruption: in each row, $\lfloor f d\rfloor$ entries chosen without
    replacement are set to ``low`` or ``high`` by a fair coin (§4.10.2; 0 and 1 for
    binary inputs or grey levels in $[0, 1]$).

    Args:
        X: ``(n, d)``; key: positions and coins; fraction: $f\in[0, 1]$ (may be traced);
        low, high: the two values (the range of the data).
    """
    X = _data("X", X)
    _validate.prng_key("key", key)
    _validate.in_range("fraction", fraction, 0.0, 1.0)
    if not _validate.is_traced(low) and not _validate.is_traced(high):
        if _validate.real_scalar("low", low) >= _validate.real_scalar("high", high):
            raise ValueError(f"`low` must be smaller than `high`, got low={low}, high={high}.")
    return _salt_and_pepper(X, key, fraction, low, high)


@jax.jit
def _salt_and_pepper(X, key, fraction, low, high):
    k_pos, k_coin = jax.random.split(key)
    coin = jax.random.bernoulli(k_coin, 0.5, X.shape)
    value = jnp.where(coin, jnp.asarray(high, X.dtype), jnp.asarray(low, X.dtype))
    return jnp.where(corruption_mask(k_pos, X.shape, fraction), value, X)


def corrupt(X: Array, *, key: PRNGKey, kind: str, level: ArrayLike) -> Array:
    """Dispatch to one of :data:`NOISES` (``level`` is the variance or the fraction)."""
    _validate.lookup("noise kind", dict.fromkeys(NOISES, 0), kind)
    if kind == "gaussian":
        return _gaussian(X, key, level)
    if kind == "masking":
        return _masking(X, key, level)
    return _salt_and_pepper(X, key, level, 0.0, 1.0)


# ------------------------------------------------------------------------------ the model


class Autoencoder(NamedTuple):
    """One hidden layer: encoder ``W: (d, k)``, ``b: (k,)``; decoder ``V: (k, d)``, ``c: (d,)``."""

    W: Array
    b: Array
    V: Array
    c: Array


def init(*, key: PRNGKey, d: int, k: int) -> Autoencoder:
    """Glorot-scaled weights (variance $2/(d+k)$), zero biases."""
    _validate.prng_key("key", key)
    d = _validate.positive_int("d", d)
    k = _validate.positive_int("k", k)
    kw, kv = jax.random.split(key)
    s = jnp.sqrt(2.0 / (d + k))
    return Autoencoder(
        s * jax.random.normal(kw, (d, k)),
        jnp.zeros(k),
        s * jax.random.normal(kv, (k, d)),
        jnp.zeros(d),
    )


def _phi(a: Array, activation: str) -> Array:
    if activation == "sigmoid":
        return jax.nn.sigmoid(a)
    if activation == "tanh":
        return jnp.tanh(a)
    if activation == "relu":
        return jnp.maximum(a, 0.0)
    return a


def activation_slope(a: Array, activation: str) -> Array:
    r"""$\Phi'(a)$ written with the output where that is the usual form: $h(1-h)$ for the
    sigmoid, $1-h^2$ for tanh, $1[a>0]$ for ReLU, $1$ for the identity."""
    if activation == "sigmoid":
        h = jax.nn.sigmoid(a)
        return h * (1.0 - h)
    if activation == "tanh":
        return 1.0 - jnp.tanh(a) ** 2
    if activation == "relu":
        return (a > 0).astype(a.dtype)
    return jnp.ones_like(a)


@functools.partial(jax.jit, static_argnames="activation")
def encode(params: Autoencoder, X: Array, activation: str = "sigmoid") -> Array:
    r"""The code $h = \Phi(xW + b)$ of each row of ``X: (n, d)``; returns ``(n, k)``."""
    _activation(activation)
    return _phi(X @ params.W + params.b[None, :], activation)


@jax.jit
def decode(params: Autoencoder, H: Array) -> Array:
    r"""The linear decoder $\hat x = hV + c$; ``H: (n, k)`` to ``(n, d)``."""
    return H @ params.V + params.c[None, :]


@functools.partial(jax.jit, static_argnames="activation")
def reconstruct(params: Autoencoder, X: Array, activation: str = "sigmoid") -> Array:
    """``decode(encode(X))``, shape ``(n, d)``."""
    return decode(params, encode(params, X, activation))


@functools.partial(jax.jit, static_argnames="activation")
def reconstruction_error(
    params: Autoencoder, X: Array, target: Array | None = None, activation: str = "sigmoid"
) -> Array:
    r"""Eq 4.12 averaged over the rows: $\frac1n\sum_r\|x_r - \hat x_r\|^2$ (``target``
    defaults to ``X``; a de-noising autoencoder feeds corrupted ``X`` and clean ``target``)."""
    target = X if target is None else target
    return jnp.mean(jnp.sum((target - reconstruct(params, X, activation)) ** 2, axis=1))


# ------------------------------------------------------------------------------ contraction


def encoder_jacobian(params: Autoencoder, x: Array, activation: str = "sigmoid") -> Array:
    r"""$\partial h/\partial x$ at one input ``x: (d,)`` by ``jax.jacfwd``: shape ``(k, d)``."""
    _activation(activation)
    return jax.jacfwd(lambda v: _phi(v @ params.W + params.b, activation))(x)


@functools.partial(jax.jit, static_argnames="activation")
def contractive_penalty_autodiff(
    params: Autoencoder, X: Array, activation: str = "sigmoid"
) -> Array:
    r"""Eq 4.13 from the autodiff Jacobian: $\frac1n\sum_r\tfrac12\|\partial h/\partial x\|_F^2$."""
    J = jax.vmap(lambda x: encoder_jacobian(params, x, activation))(X)
    return 0.5 * jnp.mean(jnp.sum(J**2, axis=(1, 2)))


@functools.partial(jax.jit, static_argnames="activation")
def contractive_penalty(params: Autoencoder, X: Array, activation: str = "sigmoid") -> Array:
    r"""Eq 4.13 in closed form, averaged over the rows of ``X: (n, d)``:

    $$R = \frac12\sum_{j=1}^{k}\Phi'(a_j)^2\sum_{i=1}^{d} w_{ij}^2,$$

    since $\partial h_j/\partial x_i = w_{ij}\Phi'(a_j)$. Sigmoid: $\Phi' = h_j(1-h_j)$
    (Eq 4.14); ReLU: $1[a_j > 0]$, an $L_2$ penalty on the weights of the active units only
    (Exercise 4.5); identity: $\tfrac12\|W\|_F^2$, so $J$ becomes Eq 4.15.
    """
    _activation(activation)
    slope = activation_slope(X @ params.W + params.b[None, :], activation)  # (n, k)
    col = jnp.sum(params.W**2, axis=0)  # (k,): sum_i w_ij^2
    return 0.5 * jnp.mean(jnp.sum(slope**2 * col[None, :], axis=1))


class Grads(NamedTuple):
    """Hand-computed gradients of the contractive objective, one field per parameter."""

    W: Array
    b: Array
    V: Array
    c: Array


def contractive_loss_one(params: Autoencoder, x: Array, lam: ArrayLike) -> Array:
    r"""The book's per-example objective (sigmoid code, linear decoder):
    $J = \sum_i(x_i-\hat x_i)^2 + \frac\lambda2\sum_j h_j^2(1-h_j)^2\sum_i w_{ij}^2$."""
    h = jax.nn.sigmoid(x @ params.W + params.b)
    xh = h @ params.V + params.c
    col = jnp.sum(params.W**2, axis=0)
    return jnp.sum((x - xh) ** 2) + 0.5 * lam * jnp.sum((h * (1 - h)) ** 2 * col)


def contractive_grads_one(params: Autoencoder, x: Array, lam: ArrayLike) -> Grads:
    r"""The gradient of :func:`contractive_loss_one` by hand, as in §4.10.3.

    Backpropagate the reconstruction error to the hidden pre-activations, then add the
    penalty's two terms:

    $$\frac{\partial J}{\partial a_j} = \frac{\partial L}{\partial a_j}
      + \lambda h_j^2(1-h_j)^2(1-2h_j)\sum_i w_{ij}^2, \qquad
      \frac{\partial J}{\partial w_{ij}} = x_i\frac{\partial J}{\partial a_j}
      + \lambda w_{ij}h_j^2(1-h_j)^2,$$

    with $\partial L/\partial \hat x = -2(x - \hat x)$, $\partial L/\partial h = V\,\partial
    L/\partial\hat x$ and $\partial L/\partial a_j = h_j(1-h_j)\,\partial L/\partial h_j$.
    """
    h = jax.nn.sigmoid(x @ params.W + params.b)  # (k,)
    xh = h @ params.V + params.c  # (d,)
    g_out = -2.0 * (x - xh)  # dL/dx_hat
    g_h = params.V @ g_out  # (k,)
    s = h * (1.0 - h)
    col = jnp.sum(params.W**2, axis=0)
    g_a = s * g_h + lam * s**2 * (1.0 - 2.0 * h) * col
    g_W = jnp.outer(x, g_a) + lam * params.W * (s**2)[None, :]
    return Grads(g_W, g_a, jnp.outer(h, g_out), g_out)


# ------------------------------------------------------------------------------ training


def loss(
    params: Autoencoder,
    X_in: Array,
    X_target: Array,
    *,
    activation: str = "sigmoid",
    weight_decay: ArrayLike = 0.0,
    contraction: ArrayLike = 0.0,
    l1: ArrayLike = 0.0,
    top_k: ArrayLike | None = None,
) -> Array:
    r"""The regularized objective, per example:

    $$\frac1n\sum_r\|x_r - \hat x(\tilde x_r)\|^2 + \text{wd}(\|W\|_F^2 + \|V\|_F^2)
      + \lambda_c R + \lambda_1\frac1n\sum_r\sum_j|h_{rj}|,$$

    with the code optionally cut to its ``top_k`` largest units (§4.10.1).
    """
    H = _phi(X_in @ params.W + params.b[None, :], activation)
    if top_k is not None:
        H = H * top_k_mask(H, top_k)
    err = jnp.mean(jnp.sum((X_target - decode(params, H)) ** 2, axis=1))
    total = err + weight_decay * (jnp.sum(params.W**2) + jnp.sum(params.V**2))
    total = total + contraction * contractive_penalty(params, X_in, activation)
    return total + l1 * jnp.mean(jnp.sum(jnp.abs(H), axis=1))


@functools.partial(jax.jit, static_argnames=("activation", "noise", "steps", "sparse"))
def _fit(
    params, X, key, lr, noise_level, weight_decay, contraction, l1, top_k, activation, noise,
    steps, sparse,
):  # fmt: skip
    opt = optim.adam(optim.linear_decay(lr, steps, 0.1))

    def objective(p, k):
        X_in = corrupt(X, key=k, kind=noise, level=noise_level)  # fresh noise every step
        return loss(
            p, X_in, X, activation=activation, weight_decay=weight_decay,
            contraction=contraction, l1=l1, top_k=top_k if sparse else None,
        )  # fmt: skip

    grad_fn = jax.value_and_grad(objective)

    def body(carry, k):
        p, s = carry
        value, g = grad_fn(p, k)
        u, s = opt.update(g, s, p)
        return (optim.apply_updates(p, u), s), value

    keys = jax.random.split(key, steps)
    (params, _), history = lax.scan(body, (params, opt.init(params)), keys)
    return params, history


def fit(
    X: ArrayLike,
    *,
    key: PRNGKey,
    hidden: int,
    activation: str = "sigmoid",
    noise: str = "gaussian",
    noise_level: ArrayLike = 0.0,
    weight_decay: ArrayLike = 0.0,
    contraction: ArrayLike = 0.0,
    l1: ArrayLike = 0.0,
    top_k: ArrayLike | None = None,
    steps: int = 2000,
    lr: ArrayLike = 0.01,
) -> tuple[Autoencoder, Array]:
    r"""Train a one-hidden-layer autoencoder by full-batch Adam, with any of the regularizers.

    Each step corrupts the inputs afresh (``noise`` of level ``noise_level``: the variance
    $\lambda$ for ``"gaussian"``, the fraction $f$ otherwise; level 0 = a plain autoencoder)
    and compares the reconstruction with the *clean* data.

    Args:
        X: data ``(n, d)``.
        key: initializes the weights (``fold_in(key, 0)``) and draws the noise.
        hidden: $k$, the number of hidden units (static).
        activation: one of :data:`ACTIVATIONS` (static).
        noise: one of :data:`NOISES` (static).
        noise_level, weight_decay, contraction, l1: penalties (traced: sweeps never recompile).
        top_k: keep only the ``top_k`` largest code units per example (traced; passing any
            value, rather than ``None``, compiles the sorting version once).
        steps: Adam steps (static); lr: its step size, decaying linearly to 10% (traced).

    Returns:
        ``(params, loss_history: (steps,))``.
    """
    X = _data("X", X)
    _validate.prng_key("key", key)
    hidden = _validate.positive_int("hidden", hidden)
    _activation(activation)
    _validate.lookup("noise", dict.fromkeys(NOISES, 0), noise)
    for name, value in (
        ("noise_level", noise_level),
        ("weight_decay", weight_decay),
        ("contraction", contraction),
        ("l1", l1),
    ):
        _validate.positive(name, value, allow_zero=True)
    if noise != "gaussian":
        _validate.in_range("noise_level", noise_level, 0.0, 1.0)
    sparse = top_k is not None  # static: the sort it needs costs time on every step
    top_k = hidden if top_k is None else top_k
    _validate.in_range("top_k", top_k, 1, hidden)
    steps = _validate.positive_int("steps", steps)
    _validate.positive("lr", lr)
    params = init(key=jax.random.fold_in(key, 0), d=X.shape[1], k=hidden)
    params = jax.tree.map(lambda a: a.astype(X.dtype), params)
    f = functools.partial(jnp.asarray, dtype=X.dtype)
    return _fit(
        params, X, jax.random.fold_in(key, 1), f(lr), f(noise_level), f(weight_decay),
        f(contraction), f(l1), jnp.asarray(top_k, jnp.int32), activation, noise, steps, sparse,
    )  # fmt: skip


def fit_cache_size() -> int:
    """How many times :func:`fit`'s jitted loop has compiled (for no-recompile tests)."""
    return _fit._cache_size()


# ------------------------------------------------------------------------------ linear DAE


def linear_dae_expected_loss(A: ArrayLike, B: ArrayLike, X: ArrayLike, lam: ArrayLike) -> Array:
    r"""The expected loss of a linear de-noising autoencoder, in closed form (Exercise 4.7).

    Encoder ``A: (k, d)``, decoder ``B: (d, k)``, input $\tilde x = x + \sqrt\lambda\,\varepsilon$.
    Since $\mathbb E[\varepsilon] = 0$ and $\mathbb E[\varepsilon\varepsilon^T] = I$,

    $$\mathbb E\|x - BA\tilde x\|^2 = \|x - BAx\|^2 + \lambda\,\|BA\|_F^2 ,$$

    the clean loss plus an $L_2$ penalty on the end-to-end map $M = BA$. Returned per example
    (averaged over the rows of ``X: (n, d)``).
    """
    A = _validate.float_array("A", A, ndim=2)
    B = _validate.float_array("B", B, ndim=2)
    X = _data("X", X)
    if A.shape[1] != X.shape[1] or B.shape != (A.shape[1], A.shape[0]):
        raise ValueError(
            f"`A` must be (k, d) and `B` (d, k) with d = {X.shape[1]} columns of `X`, got "
            f"A {A.shape}, B {B.shape}."
        )
    _validate.positive("lam", lam, allow_zero=True)
    M = B @ A
    clean = jnp.mean(jnp.sum((X - X @ M.T) ** 2, axis=1))
    return clean + lam * jnp.sum(M**2)


def linear_dae_optimum(X: ArrayLike, k: int, lam: ArrayLike) -> tuple[Array, Array]:
    r"""The best end-to-end map $M = BA$ of rank $\le k$ for :func:`linear_dae_expected_loss`.

    With $C = X^TX/n = Q\,\mathrm{diag}(v)\,Q^T$ (the variances $v_1\ge v_2\ge\dots$ along the
    principal directions of centred data), the objective is
    $\mathrm{tr}\,C - 2\,\mathrm{tr}(MC) + \mathrm{tr}(M(C+\lambda I)M^T)$, minimized by

    $$M = \sum_{i\le k}\frac{v_i}{v_i + \lambda}\,q_iq_i^T :$$

    the top-$k$ principal subspace (as PCA/SVD), each direction *shrunk* by the factor
    $v_i/(v_i+\lambda)$, exactly like ridge regression (§4.4.1). Noisier inputs, stronger
    shrinkage; the least-varied kept directions shrink most.

    Returns:
        ``(M: (d, d), gains: (k,))`` with ``gains`` $= v_i/(v_i+\lambda)$.
    """
    X = _data("X", X)
    k = _validate.positive_int("k", k)
    if k > min(X.shape):
        raise ValueError(f"`k` must be at most min(n, d) = {min(X.shape)}, got {k}.")
    _validate.positive("lam", lam, allow_zero=True)
    v, Q = jnp.linalg.eigh(X.T @ X / X.shape[0])
    v, Q = v[::-1][:k], Q[:, ::-1][:, :k]
    gains = v / (v + lam)
    return (Q * gains[None, :]) @ Q.T, gains


@functools.partial(jax.jit, static_argnames=("steps",))
def _fit_linear_dae(A, B, X, key, lam, lr, steps):
    opt = optim.adam(optim.linear_decay(lr, steps, 0.05))

    def objective(p, k):
        A, B = p
        X_in = _gaussian(X, k, lam)
        return jnp.mean(jnp.sum((X - X_in @ A.T @ B.T) ** 2, axis=1))

    grad_fn = jax.value_and_grad(objective)

    def body(carry, k):
        p, s = carry
        value, g = grad_fn(p, k)
        u, s = opt.update(g, s, p)
        return (optim.apply_updates(p, u), s), value

    (p, _), history = lax.scan(body, ((A, B), opt.init((A, B))), jax.random.split(key, steps))
    return p[0], p[1], history


def fit_linear_dae(
    X: ArrayLike,
    *,
    key: PRNGKey,
    k: int,
    lam: ArrayLike,
    copies: int = 8,
    steps: int = 3000,
    lr: ArrayLike = 0.01,
) -> tuple[Array, Array, Array]:
    r"""Train a linear de-noising autoencoder $x \mapsto BA(x + \sqrt\lambda\varepsilon)$ by Adam.

    Every step draws fresh noise for ``copies`` noisy copies of each row of ``X`` (more copies,
    less gradient noise), and the step size decays to 5% so the iterates settle.

    Returns:
        ``(A: (k, d), B: (d, k), loss_history: (steps,))``.
    """
    X = _data("X", X)
    _validate.prng_key("key", key)
    k = _validate.positive_int("k", k)
    copies = _validate.positive_int("copies", copies)
    steps = _validate.positive_int("steps", steps)
    _validate.positive("lam", lam, allow_zero=True)
    _validate.positive("lr", lr)
    d = X.shape[1]
    ka, kb = jax.random.split(jax.random.fold_in(key, 0))
    A = 0.1 * jax.random.normal(ka, (k, d), X.dtype)
    B = 0.1 * jax.random.normal(kb, (d, k), X.dtype)
    Xc = jnp.tile(X, (copies, 1))
    f = functools.partial(jnp.asarray, dtype=X.dtype)
    return _fit_linear_dae(A, B, Xc, jax.random.fold_in(key, 1), f(lam), f(lr), steps)


# ------------------------------------------------------------------------------ toy manifold


def noisy_circle(*, key: PRNGKey, n: int, noise: ArrayLike = 0.2) -> tuple[Array, Array]:
    r"""Points on the unit circle (a 1-D manifold in the plane, Fig 4.10 bottom) and noisy copies.

    Returns:
        ``(clean: (n, 2), noisy: (n, 2))`` with ``noisy = clean + noise * N(0, I)``.
    """
    _validate.prng_key("key", key)
    n = _validate.positive_int("n", n)
    _validate.positive("noise", noise, allow_zero=True)
    kt, ke = jax.random.split(key)
    t = jax.random.uniform(kt, (n,), maxval=2 * jnp.pi)
    clean = jnp.stack([jnp.cos(t), jnp.sin(t)], axis=1)
    return clean, clean + noise * jax.random.normal(ke, (n, 2), clean.dtype)


def distance_to_circle(X: ArrayLike, basis: ArrayLike | None = None) -> Array:
    r"""Each point's distance to the unit circle.

    In the plane (``basis=None``, ``X: (n, 2)``) that is $|\,\|x\| - 1\,|$. For a circle placed
    in the plane spanned by the orthonormal columns of ``basis: (d, 2)`` inside $\mathbb R^d$
    (``X: (n, d)``), split $x$ into its in-plane coordinates $u = x\,\text{basis}$ and the rest
    $x_\perp$: the distance is $\sqrt{\|x_\perp\|^2 + (\|u\| - 1)^2}$.

    Returns:
        shape ``(n,)``.
    """
    X = _validate.float_array("X", X, ndim=2)
    if basis is None:
        return jnp.abs(jnp.linalg.norm(X, axis=1) - 1.0)
    basis = _validate.float_array("basis", basis, ndim=2)
    if basis.shape != (X.shape[1], 2):
        raise ValueError(f"`basis` must have shape ({X.shape[1]}, 2), got {basis.shape}.")
    U = X @ basis
    off = X - U @ basis.T
    return jnp.sqrt(jnp.sum(off**2, axis=1) + (jnp.linalg.norm(U, axis=1) - 1.0) ** 2)


# ------------------------------------------------------------------------------ helpers


def _data(name: str, X: ArrayLike) -> Array:
    X = _validate.float_array(name, X, ndim=2)
    _validate.finite(name, X)
    return X


def _activation(activation: str) -> None:
    _validate.lookup("activation", dict.fromkeys(ACTIVATIONS, 0), activation)


@functools.partial(jax.jit, static_argnames="activation")
def jacobian_spectrum(params: Autoencoder, X: Array, activation: str = "sigmoid") -> Array:
    r"""The singular values of the encoder Jacobian $\partial h/\partial x$ at every row of
    ``X: (n, d)``, averaged over the rows: shape ``(min(k, d),)``, largest first.

    Large values are directions in which the code follows the input; a contractive
    autoencoder drives the values for directions off the data manifold towards 0 (§4.10.3).
    """
    J = jax.vmap(lambda x: encoder_jacobian(params, x, activation))(X)  # (n, k, d)
    return jnp.mean(jnp.linalg.svd(J, compute_uv=False), axis=0)
