r"""Outlier detection from a reconstruction (Aggarwal §2.5.4).

A low-rank model $D' = UV^\top$ of a data matrix $D$ (truncated SVD / PCA, or any autoencoder)
keeps what most rows share and drops what is peculiar to a few. So the entries of the residual
$D - D'$ flag the peculiar: the squared residuals summed along a **row** score a data point, and
summed down a **column** score a feature (:func:`outlier_scores`).

Two ways to corrupt a data set on purpose and see whether the scores find it:

The reconstruction can come from :func:`pca_reconstruction` (rank $k$) or from a small
autoencoder, :func:`autoencoder_reconstruction`.

- :func:`inject_rows`: replace a few rows by other rows (e.g. noise images);
- :func:`shuffle_column`: permute one column across the rows, which keeps that feature's values
  (its mean and spread) but cuts its relation to every other feature.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from course_lib import _validate, optim
from course_lib._types import Array, ArrayLike, PRNGKey


def outlier_scores(D: ArrayLike, D_hat: ArrayLike) -> tuple[Array, Array]:
    r"""Row and column outlier scores of a reconstruction (§2.5.4):

    $$ \text{row}_i = \sum_j (d_{ij} - d'_{ij})^2, \qquad
       \text{col}_j = \sum_i (d_{ij} - d'_{ij})^2. $$

    Args:
        D: ``(n, d)`` data; D_hat: ``(n, d)`` its reconstruction $D'$.

    Returns:
        ``(rows: (n,), cols: (d,))``.
    """
    D = _validate.float_array("D", D, ndim=2)
    D_hat = _validate.float_array("D_hat", D_hat, ndim=2)
    if D.shape != D_hat.shape:
        raise ValueError(
            f"`D` and `D_hat` must have the same shape, got {tuple(D.shape)} and "
            f"{tuple(D_hat.shape)}."
        )
    R = (D - D_hat) ** 2
    return jnp.sum(R, axis=1), jnp.sum(R, axis=0)


def pca_reconstruction(D: ArrayLike, k: ArrayLike) -> Array:
    r"""$D' = \bar d + D_c V_kV_k^\top$ with $D_c = D - \bar d$: the rank-$k$ PCA reconstruction of
    ``D: (n, d)``, equal to the truncated SVD of the centred data (Eckart–Young; as
    :func:`course_lib.autoencoders.pca`).

    $V_k$ holds the top $k$ eigenvectors of the $d\times d$ Gram matrix $D_c^\top D_c$, which are
    the top right singular vectors of $D_c$: for $n \gg d$ a far cheaper computation than the SVD
    of $D_c$ itself (on a CPU, about a millisecond against most of a second for 500 digits).
    ``k`` is traced (the other eigenvectors are masked, not sliced), so every rank shares one
    compilation.
    """
    D = _validate.float_array("D", D, ndim=2)
    if not _validate.is_traced(k):
        k = _validate.positive_int("k", k)
        if k > min(D.shape):
            raise ValueError(f"`k` must be at most min(n, d) = {min(D.shape)}, got {k}.")
    return _pca_reconstruction(D, jnp.asarray(k, jnp.int32))


@jax.jit
def _pca_reconstruction(D, k):
    mean = jnp.mean(D, axis=0)
    Dc = D - mean[None, :]  # (n, d)
    _, vecs = jnp.linalg.eigh(Dc.T @ Dc)  # (d, d), eigenvalues ascending: the top k come last
    d = D.shape[1]
    Vk = vecs * (jnp.arange(d) >= d - k)[None, :]  # (d, d), all but the top k columns zeroed
    return mean[None, :] + (Dc @ Vk) @ Vk.T


def autoencoder_reconstruction(
    D: ArrayLike, *, key: PRNGKey, code: int = 5, steps: int = 300, lr: ArrayLike = 0.01
) -> Array:
    r"""$D' = \tanh(DW_1 + b_1)W_2 + b_2$: a small autoencoder with ``code`` tanh units
    (§2.5.2), trained on ``D: (n, d)`` itself by full-batch Adam (``steps``, traced ``lr``) on
    the mean squared error.

    The outliers are in the training data: the model has no clean set to learn from, and it is
    their rarity that keeps them from being learned well.
    """
    D = _validate.float_array("D", D, ndim=2)
    _validate.prng_key("key", key)
    code = _validate.positive_int("code", code)
    steps = _validate.positive_int("steps", steps)
    _validate.positive("lr", lr)
    return _fit_autoencoder(key, D, jnp.asarray(lr, D.dtype), code, steps)


def _decode(params, D):
    W1, b1, W2, b2 = params
    return jnp.tanh(D @ W1 + b1[None, :]) @ W2 + b2[None, :]  # (n, code) -> (n, d)


@functools.partial(jax.jit, static_argnames=("code", "steps"))
def _fit_autoencoder(key, D, lr, code, steps):
    k1, k2 = jax.random.split(key)
    d = D.shape[1]
    scale = jnp.sqrt(2.0 / (d + code)).astype(D.dtype)  # Glorot; zero biases
    params = (
        scale * jax.random.normal(k1, (d, code), D.dtype),
        jnp.zeros(code, D.dtype),
        scale * jax.random.normal(k2, (code, d), D.dtype),
        jnp.zeros(d, D.dtype),
    )

    def loss(p, X):
        return jnp.mean((_decode(p, X) - X) ** 2)

    params, _ = optim.minimize(loss, optim.adam(lr), params, steps, D)
    return _decode(params, D)


def inject_rows(D: ArrayLike, rows: ArrayLike, *, key: PRNGKey) -> tuple[Array, Array]:
    r"""Put ``rows: (m, d)`` in place of $m$ rows of ``D: (n, d)`` chosen at random (no repeats).

    Returns:
        ``(D_corrupted: (n, d), where: (m,) int32)``, the indices of the replaced rows.
    """
    D = _validate.float_array("D", D, ndim=2)
    rows = _validate.float_array("rows", rows, ndim=2)
    _validate.prng_key("key", key)
    if rows.shape[1] != D.shape[1] or rows.shape[0] > D.shape[0]:
        raise ValueError(
            f"`rows` must be (m, {D.shape[1]}) with m <= {D.shape[0]}, got {tuple(rows.shape)}."
        )
    return _inject_rows(D, rows.astype(D.dtype), key)


@jax.jit
def _inject_rows(D, rows, key):
    where = jax.random.choice(key, D.shape[0], (rows.shape[0],), replace=False).astype(jnp.int32)
    return D.at[where].set(rows), where


def shuffle_column(D: ArrayLike, column: int, *, key: PRNGKey) -> Array:
    r"""``D: (n, d)`` with column ``column`` permuted at random across the rows: the feature keeps
    its values but loses its relation to the others (a corrupted sensor, a mis-joined column)."""
    D = _validate.float_array("D", D, ndim=2)
    _validate.prng_key("key", key)
    if not isinstance(column, int) or isinstance(column, bool) or not 0 <= column < D.shape[1]:
        raise ValueError(f"`column` must be an int in [0, {D.shape[1]}), got {column!r}.")
    return _shuffle_column(D, column, key)


@functools.partial(jax.jit, static_argnums=1)
def _shuffle_column(D, column, key):
    return D.at[:, column].set(jax.random.permutation(key, D[:, column]))


def precision_at_k(scores: ArrayLike, truth: ArrayLike, k: int) -> float:
    r"""The fraction of the ``k`` highest ``scores`` whose index is in ``truth`` (ties: the lower
    index first, a stable sort)."""

    s = np.asarray(_validate.float_array("scores", scores, ndim=1))
    k = _validate.positive_int("k", k)
    top = np.argsort(-s, kind="stable")[:k]
    return float(np.mean(np.isin(top, np.asarray(truth))))
