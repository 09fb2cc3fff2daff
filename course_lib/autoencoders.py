r"""Autoencoders as matrix factorization, and factorization for recommendation (Aggarwal §2.5).

A linear autoencoder with one hidden layer of $k$ units encodes a row $x$ of the data
$D$ (``n x d``) as the code $u = W x$ (``W: (k, d)``) and decodes it as $V u$ (``V: (d, k)``),
so it fits $D \approx D W^T V^T = U V^T$ (Eq 2.38). Its best reconstruction is the truncated
SVD (Eckart–Young), the columns of $V$ span the top-$k$ right singular vectors, the optimal
encoder for a fixed decoder is the pseudo-inverse $W = (V^TV)^{-1}V^T$ (Eq 2.39, Exercise 2.14)
and with tied weights $W = V^T$ the columns of $V$ come out orthonormal (Eq 2.41). With a
nonlinear (tanh) hidden layer the same network can follow a curved manifold (§2.5.2–2.5.3).

The recommender of §2.5.7 factorizes a ratings matrix with missing entries: only the observed
entries enter the loss (a *masked* loss), and SGD visits them one at a time with the
element-wise updates of the book.

**Structure.** Losses are plain functions; each ``fit_*`` validates its inputs and calls one
jitted function that runs the whole optimization in a ``lax.scan``. Learning rates, penalties
and the number of active code units ``k`` are traced, so changing them never recompiles.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from course_lib import _validate, data, optim
from course_lib._types import Array, ArrayLike, PRNGKey

# ------------------------------------------------------------------------------ SVD and PCA


def truncated_svd(D: ArrayLike, k: int) -> tuple[Array, Array]:
    r"""The rank-$k$ truncated SVD written as a factorization $D \approx U V^T$.

    $D = P \Sigma Q^T$; the codes are $U = P_k \Sigma_k$ and the basis is $V = Q_k$ (orthonormal
    columns), so $U V^T$ is the best rank-$k$ approximation in Frobenius norm (Eckart–Young).

    Args:
        D: data, shape ``(n, d)``.
        k: rank, ``1 <= k <= min(n, d)``.

    Returns:
        ``(U: (n, k), V: (d, k))``.
    """
    D = _data("D", D)
    return _truncated_svd(D, _rank("k", k, D))


@functools.partial(jax.jit, static_argnums=1)  # one compilation instead of op-by-op dispatch
def _truncated_svd(D, k):
    P, s, Qt = jnp.linalg.svd(D, full_matrices=False)
    return P[:, :k] * s[None, :k], Qt[:k].T


def svd_error(D: ArrayLike, k: ArrayLike) -> Array:
    r"""The Eckart–Young error $\min_{\mathrm{rank}(X)\le k}\|D - X\|_F^2 = \sum_{i>k}\sigma_i^2$.

    ``k`` may be traced (an integer array): the sum is masked, not sliced.
    """
    D = _data("D", D)
    s = jnp.linalg.svd(D, compute_uv=False)
    return jnp.sum(jnp.where(jnp.arange(s.shape[0]) >= k, s**2, 0.0))


def pca(X: ArrayLike, k: int) -> tuple[Array, Array, Array]:
    r"""Principal component analysis: the truncated SVD of the mean-centred data (§2.5.1.2).

    Returns:
        ``(scores: (n, k), components: (d, k), mean: (d,))``; the reconstruction is
        ``mean + scores @ components.T``.
    """
    X = _data("X", X)
    if X.shape[0] < 2:  # one centred row is all zeros: every direction would be a "component"
        raise ValueError(
            f"`X` must hold at least 2 rows for PCA (centring a single row leaves no variance "
            f"to analyse), got shape {tuple(X.shape)}."
        )
    return _pca(X, _rank("k", k, X))


@functools.partial(jax.jit, static_argnums=1)
def _pca(X, k):
    mean = jnp.mean(X, axis=0)
    scores, comps = _truncated_svd(X - mean[None, :], k)
    return scores, comps, mean


def principal_angles(A: ArrayLike, B: ArrayLike) -> Array:
    r"""The principal angles (radians, ascending) between the column spaces of ``A`` and ``B``.

    With orthonormal bases $Q_A, Q_B$ (QR), the cosines of the angles are the singular values
    of $Q_A^T Q_B$. Zero angles mean the same subspace.

    Args:
        A: shape ``(d, k)``; B: shape ``(d, k)``.
    """
    A = _validate.float_array("A", A, ndim=2)
    B = _validate.float_array("B", B, ndim=2)
    if A.shape != B.shape:
        raise ValueError(f"`A` and `B` must have the same shape, got {A.shape} and {B.shape}.")
    return _principal_angles(A, B)


@jax.jit
def _principal_angles(A, B):
    qa, _ = jnp.linalg.qr(A)
    qb, _ = jnp.linalg.qr(B)
    cos = jnp.linalg.svd(qa.T @ qb, compute_uv=False)
    return jnp.sort(jnp.arccos(jnp.clip(cos, -1.0, 1.0)))


# ------------------------------------------------------------------------------ linear autoencoder


class LinearAutoencoder(NamedTuple):
    """Encoder ``W: (k, d)`` and decoder ``V: (d, k)`` of a one-hidden-layer linear autoencoder."""

    W: Array
    V: Array


def init_linear(*, key: PRNGKey, d: int, k: int, scale: float = 0.1) -> LinearAutoencoder:
    """Small Gaussian weights ``W: (k, d)``, ``V: (d, k)``."""
    _validate.prng_key("key", key)
    d = _validate.positive_int("d", d)
    k = _validate.positive_int("k", k)
    kw, kv = jax.random.split(key)
    return LinearAutoencoder(
        scale * jax.random.normal(kw, (k, d)), scale * jax.random.normal(kv, (d, k))
    )


def linear_reconstruct(
    params: LinearAutoencoder, D: Array, *, tied: bool = False, code_mask: Array | None = None
) -> Array:
    r"""The reconstruction $D W^T V^T$ (tied: $W = V^T$), with optional unit mask on the code.

    Args:
        params: :class:`LinearAutoencoder`.
        D: data, shape ``(n, d)``.
        tied: use $W = V^T$ and ignore ``params.W`` (Eq 2.41).
        code_mask: ``(k,)`` of 0/1; units with 0 are switched off (a traced way to use fewer
            code units without changing shapes).

    Returns:
        shape ``(n, d)``.
    """
    W = params.V.T if tied else params.W
    U = D @ W.T  # (n, k) codes
    if code_mask is not None:
        U = U * code_mask[None, :]
    return U @ params.V.T


def linear_loss(
    params: LinearAutoencoder, D: Array, *, tied: bool = False, code_mask: Array | None = None
) -> Array:
    r"""Reconstruction error $J = \|D - D W^T V^T\|_F^2$ (Eq 2.38, the sum of squares)."""
    R = D - linear_reconstruct(params, D, tied=tied, code_mask=code_mask)
    return jnp.sum(R**2)


def code_mask(k: ArrayLike, k_max: int) -> Array:
    """``(k_max,)`` float mask with ones on the first ``k`` units; ``k`` may be traced."""
    return (jnp.arange(k_max) < k).astype(jnp.result_type(float))


def _adam(lr: Array, steps: int) -> optim.GradientTransformation:
    """Full-batch Adam whose step shrinks linearly to 10% over the run, so that the last
    steps settle into the minimum (needed to match the SVD to 1e-3)."""
    return optim.adam(optim.linear_decay(lr, steps, 0.1))


@functools.partial(jax.jit, static_argnames=("steps", "tied"))
def _fit_linear(params, D, lr, k, steps, tied):
    mask = code_mask(k, params.V.shape[1])
    scale = 1.0 / jnp.sum(D**2)  # a relative error: the step size does not depend on the data

    def loss(p, D):
        return scale * linear_loss(p, D, tied=tied, code_mask=mask)

    params, history = optim.minimize(loss, _adam(lr, steps), params, steps, D)
    return params, history / scale


def fit_linear(
    D: ArrayLike,
    *,
    key: PRNGKey,
    k: int,
    steps: int = 3000,
    lr: float = 0.03,
    tied: bool = False,
    k_active: ArrayLike | None = None,
) -> tuple[LinearAutoencoder, Array]:
    r"""Train a linear autoencoder with $k$ code units by full-batch Adam on $\|D - DW^TV^T\|_F^2$.

    Args:
        D: data, shape ``(n, d)`` (centre it first for PCA).
        key: initializes the weights.
        k: number of code units (sets the shapes).
        steps: Adam steps (static).
        lr: learning rate (traced).
        tied: train with tied weights $W = V^T$ (Eq 2.41).
        k_active: use only the first ``k_active <= k`` units (traced: a slider moving it never
            recompiles); all ``k`` by default.

    Returns:
        ``(params, loss_history: (steps,))``; with ``tied`` the encoder is ``params.V.T``.
    """
    D = _data("D", D)
    k = _rank("k", k, D)
    steps = _validate.positive_int("steps", steps)
    _validate.positive("lr", lr)
    k_active = k if k_active is None else k_active
    _validate.in_range("k_active", k_active, 0, k)
    params = init_linear(key=key, d=D.shape[1], k=k)
    params = jax.tree.map(lambda a: a.astype(D.dtype), params)
    return _fit_linear(
        params, D, jnp.asarray(lr, D.dtype), jnp.asarray(k_active), steps, bool(tied)
    )


def fit_linear_cache_size() -> int:
    """How many times the jitted linear-autoencoder fit has compiled (no-recompile checks)."""
    return _fit_linear._cache_size()


@functools.partial(jax.jit, static_argnames=("steps",))
def _fit_linear_sweep(params, D, lr, ks, steps):
    return jax.vmap(lambda k: _fit_linear(params, D, lr, k, steps, False))(ks)


def fit_linear_sweep(
    D: ArrayLike, *, key: PRNGKey, k_max: int, steps: int = 3000, lr: float = 0.03
) -> tuple[LinearAutoencoder, Array]:
    r""":func:`fit_linear` for every code size $k = 1..$``k_max`` at once (one ``jax.vmap``).

    Every run starts from the same ``k_max``-unit weights and switches off the units past
    $k$ with a mask, exactly as ``fit_linear(D, key=key, k=k_max, k_active=k)`` does: row
    $k - 1$ of the result is that run. One batched call is several times faster than
    ``k_max`` separate ones, which is what lets a slider over $k$ answer at once.

    Returns:
        ``(params, loss_history)`` with a leading axis of length ``k_max``: ``params.W``
        ``(k_max, k_max, d)``, ``params.V`` ``(k_max, d, k_max)``, history ``(k_max, steps)``.
    """
    D = _data("D", D)
    k_max = _rank("k_max", k_max, D)
    steps = _validate.positive_int("steps", steps)
    _validate.positive("lr", lr)
    params = init_linear(key=key, d=D.shape[1], k=k_max)
    params = jax.tree.map(lambda a: a.astype(D.dtype), params)
    ks = jnp.arange(1, k_max + 1)
    return _fit_linear_sweep(params, D, jnp.asarray(lr, D.dtype), ks, steps)


def optimal_encoder(V: ArrayLike) -> Array:
    r"""The best encoder for a fixed decoder: $W = (V^TV)^{-1}V^T$ (Eq 2.39, Exercise 2.14).

    For full-rank data, $\min_W \|D - DW^TV^T\|_F^2$ is solved by the pseudo-inverse of $V$,
    whatever $D$ is.

    Args:
        V: decoder, shape ``(d, k)`` with independent columns.

    Returns:
        ``W: (k, d)``.
    """
    V = _validate.float_array("V", V, ndim=2)
    return jnp.linalg.solve(V.T @ V, V.T)


# ---------------------------------------------------------------------- nonlinear autoencoder

MLPParams = list  # [(W: (d_in, d_out), b: (d_out,)), ...] one pair per layer


def init_mlp(*, key: PRNGKey, sizes: tuple[int, ...]) -> MLPParams:
    r"""Glorot-scaled weights for layers of the given widths, e.g. ``(3, 32, 2, 32, 3)``.

    Returns:
        a list of ``(W: (n_in, n_out), b: (n_out,))``.
    """
    _validate.prng_key("key", key)
    sizes = tuple(_validate.positive_int("sizes", s) for s in sizes)
    if len(sizes) < 3 or len(sizes) % 2 == 0:
        raise ValueError(
            "`sizes` must be symmetric-length and odd (input, ..., code, ..., output), "
            f"got {sizes}."
        )
    keys = jax.random.split(key, len(sizes) - 1)
    return [
        (jax.random.normal(k, (a, b)) * jnp.sqrt(2.0 / (a + b)), jnp.zeros(b))
        for k, a, b in zip(keys, sizes[:-1], sizes[1:], strict=True)
    ]


def mlp_encode(params: MLPParams, X: Array) -> Array:
    r"""The code of a symmetric tanh autoencoder: tanh hidden layers, a linear code layer.

    The first half of ``params`` is the encoder; $U = \Phi(\dots\Phi(X W_1 + b_1)\dots)W_m+b_m$
    (Eq 2.43 with more layers, §2.5.3).
    """
    half = len(params) // 2
    h = X
    for i, (W, b) in enumerate(params[:half]):
        h = h @ W + b[None, :]
        if i < half - 1:
            h = jnp.tanh(h)
    return h


def mlp_decode(params: MLPParams, U: Array) -> Array:
    """Decode codes ``U: (n, k)`` with the second half of ``params`` (tanh hidden, linear out)."""
    half = len(params) // 2
    h = U
    dec = params[half:]
    for i, (W, b) in enumerate(dec):
        h = h @ W + b[None, :]
        if i < len(dec) - 1:
            h = jnp.tanh(h)
    return h


def mlp_loss(params: MLPParams, X: Array) -> Array:
    """Mean squared reconstruction error per entry of ``X: (n, d)``."""
    return jnp.mean((X - mlp_decode(params, mlp_encode(params, X))) ** 2)


@functools.partial(jax.jit, static_argnames="steps")
def _fit_mlp(params, X, lr, steps):
    return optim.minimize(mlp_loss, _adam(lr, steps), params, steps, X)


def fit_mlp(
    X: ArrayLike,
    *,
    key: PRNGKey,
    sizes: tuple[int, ...],
    steps: int = 3000,
    lr: float = 0.01,
) -> tuple[MLPParams, Array]:
    """Train a deep tanh autoencoder by full-batch Adam on the mean squared error.

    Returns:
        ``(params, loss_history: (steps,))``.
    """
    X = _data("X", X)
    params = init_mlp(key=key, sizes=sizes)
    if sizes[0] != X.shape[1] or sizes[-1] != X.shape[1]:
        raise ValueError(
            f"`sizes` must start and end with the data dimension {X.shape[1]}, got {sizes}."
        )
    steps = _validate.positive_int("steps", steps)
    _validate.positive("lr", lr)
    params = jax.tree.map(lambda a: a.astype(X.dtype), params)
    return _fit_mlp(params, X, jnp.asarray(lr, X.dtype), steps)


# ------------------------------------------------------------------------------ logistic MF


def logistic_mf_loss(U: Array, V: Array, C_pos: Array, C_neg: Array) -> Array:
    r"""Weighted logistic matrix factorization (Eq 2.42, 2.59): a Bernoulli negative log-likelihood.

    $P(b_{ij} = 1) = \sigma(u_i\cdot v_j)$ and

    $$ J = -\sum_{i,j} c^+_{ij}\log\sigma(u_i\cdot v_j)
           - \sum_{i,j} c^-_{ij}\log\sigma(-u_i\cdot v_j), $$

    where $c^+_{ij}$ counts the times $(i, j)$ was seen as a positive ($b_{ij} = 1$) and $c^-_{ij}$
    as a negative. For a binary matrix $B$ observed once, $c^+ = B$, $c^- = 1 - B$ (Exercise 2.8).

    Args:
        U: ``(m, p)``; V: ``(n, p)``; C_pos, C_neg: ``(m, n)`` non-negative weights.
    """
    S = U @ V.T
    return -jnp.sum(C_pos * jax.nn.log_sigmoid(S) + C_neg * jax.nn.log_sigmoid(-S))


# ------------------------------------------------------------------------------ recommender


def masked_mf_loss(U: Array, V: Array, R: Array, mask: Array, lam: ArrayLike = 0.0) -> Array:
    r"""The masked loss of matrix factorization (Aggarwal §2.5.7):

    $J = \tfrac12\sum_{(i,j)\,\text{observed}} (r_{ij} - u_i\cdot v_j)^2
    + \tfrac\lambda2(\|U\|_F^2 + \|V\|_F^2)$.

    Missing entries of ``R`` may hold anything (even NaN): they are masked out *before* the
    square, so they do not reach the loss or its gradient.

    Args:
        U: user factors ``(m, k)``; V: item factors ``(n, k)``.
        R: ratings ``(m, n)``; mask: ``(m, n)``, 1 where observed, 0 where missing.
        lam: the penalty $\lambda \ge 0$.
    """
    E = jnp.where(mask > 0, R - U @ V.T, 0.0)
    return 0.5 * jnp.sum(E**2) + 0.5 * lam * (jnp.sum(U**2) + jnp.sum(V**2))


def masked_mf_grad(
    U: Array, V: Array, R: Array, mask: Array, lam: ArrayLike = 0.0
) -> tuple[Array, Array]:
    r"""The gradient of :func:`masked_mf_loss`, by hand.

    With the observed errors $E = M \odot (R - UV^T)$ (zero where missing):
    $\partial J/\partial U = -E V + \lambda U$ and $\partial J/\partial V = -E^T U + \lambda V$.

    Returns:
        ``(dU: (m, k), dV: (n, k))``.
    """
    E = jnp.where(mask > 0, R - U @ V.T, 0.0)
    return -E @ V + lam * U, -E.T @ U + lam * V


def mf_entry_loss(u: Array, v: Array, r: Array, lam: ArrayLike = 0.0) -> Array:
    r"""One rating's loss: $\tfrac12(r - u\cdot v)^2 + \tfrac\lambda2(\|u\|^2+\|v\|^2)$."""
    return 0.5 * (r - jnp.dot(u, v)) ** 2 + 0.5 * lam * (jnp.dot(u, u) + jnp.dot(v, v))


def mf_entry_update(
    u: Array, v: Array, r: Array, lr: ArrayLike, lam: ArrayLike = 0.0
) -> tuple[Array, Array]:
    r"""The book's element-wise SGD update for one observed rating (Aggarwal §2.5.7, L4283).

    With $e = r - u\cdot v$:
    $u \leftarrow u(1-\alpha\lambda) + \alpha e v$ and
    $v \leftarrow v(1-\alpha\lambda) + \alpha e u$
    (both from the *old* $u, v$). This is one gradient step on :func:`mf_entry_loss`.

    Args:
        u: ``(k,)`` user row; v: ``(k,)`` item row; r: the rating, shape ``()``.

    Returns:
        ``(new_u, new_v)``.
    """
    e = r - jnp.dot(u, v)
    return u * (1 - lr * lam) + lr * e * v, v * (1 - lr * lam) + lr * e * u


class MFResult(NamedTuple):
    """A fitted recommender: predictions are ``mu + U @ V.T``.

    Attributes:
        U: ``(m, k)``; V: ``(n, k)``; mu: the mean observed rating (the baseline);
        train_rmse: ``(epochs,)`` RMSE on the observed entries after each epoch.
    """

    U: Array
    V: Array
    mu: Array
    train_rmse: Array

    def predict(self) -> Array:
        """All predicted ratings, ``(m, n)``."""
        return self.mu + self.U @ self.V.T


@functools.partial(jax.jit, static_argnames=("epochs",))
def _fit_mf(U, V, R, mask, rows, cols, orders, lr, lam, mu, epochs):
    def visit(uv, t):
        U, V = uv
        i, j = rows[t], cols[t]
        u, v = mf_entry_update(U[i], V[j], R[i, j] - mu, lr, lam)
        return (U.at[i].set(u), V.at[j].set(v)), None

    def epoch(uv, order):
        uv, _ = lax.scan(visit, uv, order)
        E = jnp.where(mask > 0, R - mu - uv[0] @ uv[1].T, 0.0)
        return uv, jnp.sqrt(jnp.sum(E**2) / jnp.sum(mask))

    (U, V), train_rmse = lax.scan(epoch, (U, V), orders)
    return U, V, train_rmse


def fit_mf(
    R: ArrayLike,
    mask: ArrayLike,
    *,
    key: PRNGKey,
    rank: int,
    epochs: int = 100,
    lr: float = 0.02,
    lam: float = 0.05,
) -> MFResult:
    r"""Matrix factorization by SGD over the observed entries, one rating at a time (§2.5.7).

    Ratings are centred by their observed mean $\mu$; each epoch visits the observed entries in
    a fresh random order and applies :func:`mf_entry_update`.

    Args:
        R: ratings ``(m, n)`` (missing entries may be anything, NaN included).
        mask: ``(m, n)``, 1 where observed.
        key: initializes the factors and draws the visiting orders.
        rank: $k$, the number of factors.
        epochs: passes over the observed entries (static).
        lr, lam: learning rate $\alpha$ and penalty $\lambda$ (traced).
    """
    _validate.prng_key("key", key)
    R = _validate.float_array("R", R, ndim=2)
    mask = _validate.float_array("mask", mask, ndim=2)
    if mask.shape != R.shape:
        raise ValueError(f"`mask` must have the shape of `R` {R.shape}, got {mask.shape}.")
    rank = _validate.positive_int("rank", rank)
    epochs = _validate.positive_int("epochs", epochs)
    _validate.positive("lr", lr)
    _validate.positive("lam", lam, allow_zero=True)
    rows, cols = jnp.nonzero(mask > 0)  # concrete: the observed entries set the scan length
    if rows.size == 0:
        raise ValueError("`mask` observes no entry: nothing to learn from.")
    R = jnp.where(mask > 0, R, 0.0)
    mu = jnp.sum(R * mask) / jnp.sum(mask)
    k_u, k_v, k_o = jax.random.split(key, 3)
    U = 0.1 * jax.random.normal(k_u, (R.shape[0], rank), R.dtype)
    V = 0.1 * jax.random.normal(k_v, (R.shape[1], rank), R.dtype)
    orders = data.epoch_orders(key=k_o, n=int(rows.size), epochs=epochs)
    U, V, train_rmse = _fit_mf(
        U,
        V,
        R,
        mask,
        rows,
        cols,
        orders,
        jnp.asarray(lr, R.dtype),
        jnp.asarray(lam, R.dtype),
        mu,
        epochs,
    )
    return MFResult(U, V, mu, train_rmse)


def rmse(pred: ArrayLike, R: ArrayLike, mask: ArrayLike) -> Array:
    r"""$\sqrt{\sum M\odot(P - R)^2 / \sum M}$: root mean squared error on the masked entries."""
    pred = _validate.float_array("pred", pred)
    R = _validate.float_array("R", R)
    mask = _validate.float_array("mask", mask)
    return jnp.sqrt(jnp.sum(jnp.where(mask > 0, pred - R, 0.0) ** 2) / jnp.sum(mask))


# ------------------------------------------------------------------------------ helpers


def _data(name: str, D: ArrayLike) -> Array:
    D = _validate.float_array(name, D, ndim=2)
    _validate.finite(name, D)
    return D


def _rank(name: str, k: int, D: Array) -> int:
    k = _validate.positive_int(name, k)
    if k > min(D.shape):
        raise ValueError(f"`{name}` must be at most min(n, d) = {min(D.shape)}, got {k}.")
    return k
