r"""Kernel methods seen from an RBF network (Aggarwal §5.4, Exercises 5.5, 5.7, 5.8).

Put a prototype on every training point, $\mu_j = X_j$, give all of them the same bandwidth
$\sigma$, and the hidden layer of an RBF network *is* the Gaussian kernel matrix,

$$ H_{ij} = \Phi_j(X_i) = \exp\!\Big(-\frac{\|X_i - X_j\|^2}{2\sigma^2}\Big) = K(X_i, X_j),
\qquad K \in \mathbb R^{n\times n}\ \text{symmetric positive definite.} $$

The network predicts $\hat y = K w$ (Eq 5.16–5.17), exactly the form of a kernel regression
$\hat y = K\alpha$ (Eq 5.18, with $\alpha_j = \lambda_j y_j$ in the book's notation). The model
families agree; the **regularizers** do not (course map, erratum E14):

- the RBF network's ridge output layer penalizes $\|w\|^2$:
  $\ w = (K^\top K + \lambda I)^{-1}K^\top y = (K^2 + \lambda I)^{-1} K y$
  (:func:`course_lib.rbf.ridge_output` with $H = K$);
- kernel ridge regression penalizes the RKHS norm $\alpha^\top K\alpha$:
  $\ \alpha = (K + \lambda I)^{-1} y$ (:func:`kernel_ridge`).

Both tend to the interpolant $K^{-1}y$ as $\lambda\to0$ and differ for every $\lambda > 0$. In
the eigenbasis $K = U\,\mathrm{diag}(s)\,U^\top$ the fitted values are
$U\,\mathrm{diag}(f(s))\,U^\top y$ with the shrinkage factors (:func:`shrinkage`)

$$ f_{\text{RBF ridge}}(s) = \frac{s^2}{s^2+\lambda}, \qquad
   f_{\text{kernel ridge}}(s) = \frac{s}{s+\lambda}, $$

so ($s^2 \le s$ exactly when $s \le 1$) the RBF ridge damps the directions of $K$ with
eigenvalues below 1 (the wiggly ones) harder, and those above 1 less, than kernel ridge.

Also here: the kernel SVM by subgradient descent on the hinge loss (§5.4.2), kernel PCA on the
centred kernel (Ex 5.5), a spectral embedding of an affinity matrix (Ex 5.7), the ROC AUC of
outlier scores (Ex 5.8), and two small data sets (two moons, a 1-D regression curve).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from course_lib import _validate, rbf
from course_lib._types import Array, ArrayLike, PRNGKey

# ------------------------------------------------------------------------------ kernel matrix


def gaussian_kernel(X: ArrayLike, Z: ArrayLike, sigma: ArrayLike) -> Array:
    r"""The Gaussian kernel matrix $K_{ij} = \exp(-\|X_i - Z_j\|^2 / 2\sigma^2)$ (Eq 5.16).

    It is the RBF hidden layer with the rows of ``Z`` as prototypes and one shared bandwidth,
    so it is computed by :func:`course_lib.rbf.rbf_activations`.

    Args:
        X: ``(n, d)``; Z: ``(m, d)``; sigma: a positive scalar (may be traced).

    Returns:
        ``(n, m)``; with ``Z = X`` the symmetric positive definite $n\times n$ kernel matrix.
    """
    sigma = _validate.float_array("sigma", sigma, ndim=0)
    return rbf.rbf_activations(X, Z, sigma)


def _square(name: str, K: ArrayLike) -> Array:
    K = _validate.float_array(name, K, ndim=2)
    if K.shape[0] != K.shape[1]:
        raise ValueError(f"`{name}` must be a square (n, n) kernel matrix, got shape {K.shape}.")
    _validate.nonempty(name, K)
    _validate.finite(name, K)
    return K


def _targets(y: ArrayLike, n: int) -> Array:
    y = _validate.float_array("y", y, ndim=(1, 2))
    if y.shape[0] != n:
        raise ValueError(f"`y` must have one row per row of K ({n}), got shape {tuple(y.shape)}.")
    _validate.finite("y", y)
    return y


def condition_number(K: ArrayLike) -> float:
    r"""$\kappa(K) = s_{\max}/s_{\min}$ from the singular values, computed in float64 NumPy."""
    K = _square("K", K)
    s = np.linalg.svd(np.asarray(K, np.float64), compute_uv=False)
    return float(s[0] / s[-1]) if s[-1] > 0 else float("inf")


# ------------------------------------------------------------------------------ regression


def kernel_interpolation(K: ArrayLike, y: ArrayLike) -> Array:
    r"""The exact interpolant's weights $w = K^{-1} y$ (Eq 5.13–5.14, $HW^\top = y$ with $H = K$).

    Args:
        K: ``(n, n)`` kernel matrix of distinct points (positive definite); y: ``(n,)`` or
        ``(n, k)``.

    Returns:
        ``w`` with the shape of ``y``. Use float64: $K$ is ill-conditioned for a wide $\sigma$.
    """
    K = _square("K", K)
    y = _targets(y, K.shape[0])
    _validate.nonsingular(
        "K", K, what="the kernel matrix", hint="use distinct points, a smaller sigma or float64."
    )
    return jnp.linalg.solve(K, y)


def kernel_ridge(K: ArrayLike, y: ArrayLike, lam: ArrayLike) -> Array:
    r"""Kernel ridge regression: $\alpha = (K + \lambda I)^{-1} y$, predictions $K_*\alpha$.

    It minimizes $\|y - K\alpha\|^2 + \lambda\,\alpha^\top K\alpha$ (the RKHS-norm penalty,
    §5.4.1). Not the same as the RBF network's ridge output $(K^2+\lambda I)^{-1}Ky$ for
    $\lambda > 0$ (erratum E14); both equal $K^{-1}y$ at $\lambda = 0$.

    Args:
        K: ``(n, n)``; y: ``(n,)`` or ``(n, k)``; lam: $\lambda \ge 0$ (may be traced).

    Returns:
        $\alpha$ with the shape of ``y``.
    """
    K = _square("K", K)
    y = _targets(y, K.shape[0])
    _validate.positive("lam", lam, allow_zero=True)
    if not _validate.is_traced(lam):
        _validate.nonsingular(
            "lam",
            K + float(lam) * jnp.eye(K.shape[0], dtype=K.dtype),
            what="K + lam I",
            hint="use a larger lam or float64.",
        )
    return _kernel_ridge(K, y, jnp.asarray(lam, K.dtype))


@jax.jit
def _kernel_ridge(K, y, lam):
    return jnp.linalg.solve(K + lam * jnp.eye(K.shape[0], dtype=K.dtype), y)


def shrinkage(s: ArrayLike, lam: ArrayLike) -> tuple[Array, Array]:
    r"""How much each eigen-direction of $K$ survives in the fitted values $\hat y = K w$.

    With $K = U\mathrm{diag}(s)U^\top$: RBF ridge gives $s^2/(s^2+\lambda)$, kernel ridge
    $s/(s+\lambda)$ (both 1 at $\lambda = 0$: interpolation). The first is the smaller one
    exactly when $s < 1$.

    Args:
        s: eigenvalues $\ge 0$, any shape; lam: $\lambda \ge 0$.

    Returns:
        ``(rbf_ridge, kernel_ridge)``, each with the shape of ``s``.
    """
    s = _validate.float_array("s", s)
    _validate.positive("lam", lam, allow_zero=True)
    return s**2 / (s**2 + lam), s / (s + lam)


class RidgeComparison(NamedTuple):
    r"""What :func:`ridge_comparison` returns (all float64).

    Attributes:
        grid_rbf, grid_kernel, grid_interp: the three fitted curves on the grid, ``(g,)``.
        test_mse: held-out mean squared error of (RBF ridge, kernel ridge, interpolation), ``(3,)``.
        lams: the penalties of the error sweep, ``(L,)``.
        sweep_mse: held-out error against ``lams`` for RBF ridge and kernel ridge, ``(2, L)``.
        max_diff: $\max_i |\hat y^{\text{RBF}}_i - \hat y^{\text{kernel}}_i|$ on the grid.
        condition: $\kappa(K) = s_{\max}/s_{\min}$.
    """

    grid_rbf: Array
    grid_kernel: Array
    grid_interp: Array
    test_mse: Array
    lams: Array
    sweep_mse: Array
    max_diff: Array
    condition: Array


@jax.jit
def _ridge_comparison(x, y, x_test, y_test, grid, sigma, lam, lams):
    def kern(a, b):
        return jnp.exp(-((a[:, None] - b[None, :]) ** 2) / (2.0 * sigma**2))

    K = kern(x, x)
    s, U = jnp.linalg.eigh(K)
    s = jnp.maximum(s, s[-1] * 1e-15)  # rounding can make the smallest ones <= 0
    c = U.T @ y

    def weights(f):  # K w = U diag(f) c  =>  w = U diag(f / s) c
        return U @ (f / s * c)

    K_grid, K_test = kern(grid, x), kern(x_test, x)

    def fits(lam):
        f_rbf, f_ker = s**2 / (s**2 + lam), s / (s + lam)
        return weights(f_rbf), weights(f_ker)

    w_rbf, w_ker = fits(lam)
    w_int = weights(jnp.ones_like(s))

    def mse(w):
        return jnp.mean((K_test @ w - y_test) ** 2)

    sweep = jax.vmap(lambda lam: jnp.stack([mse(w) for w in fits(lam)]))(lams).T
    g_rbf, g_ker = K_grid @ w_rbf, K_grid @ w_ker
    return RidgeComparison(
        g_rbf,
        g_ker,
        K_grid @ w_int,
        jnp.stack([mse(w_rbf), mse(w_ker), mse(w_int)]),
        lams,
        sweep,
        jnp.max(jnp.abs(g_rbf - g_ker)),
        s[-1] / s[0],
    )


def ridge_comparison(
    x: ArrayLike,
    y: ArrayLike,
    x_test: ArrayLike,
    y_test: ArrayLike,
    grid: ArrayLike,
    *,
    sigma: ArrayLike,
    lam: ArrayLike,
    lams: ArrayLike,
) -> RidgeComparison:
    r"""RBF ridge, kernel ridge and exact interpolation on 1-D data, in float64, one jitted call.

    All three use $K = U\mathrm{diag}(s)U^\top$ of the training inputs (prototypes = all
    points, shared ``sigma``): the fitted values are $U\mathrm{diag}(f(s))U^\top y$ with
    $f$ from :func:`shrinkage` ($f = 1$ for interpolation). ``sigma`` and ``lam`` are traced:
    a widget moving them never recompiles.

    Args:
        x, y: training inputs and targets, ``(n,)``; x_test, y_test: ``(t,)``; grid: ``(g,)``.
        sigma: bandwidth $> 0$; lam: $\lambda \ge 0$; lams: ``(L,)`` penalties for the sweep.
    """
    _validate.positive("sigma", sigma)
    _validate.positive("lam", lam, allow_zero=True)
    with jax.enable_x64(True):
        arrs = [
            _validate.float_array(name, v, ndim=1).astype(jnp.float64)
            for name, v in (
                ("x", x),
                ("y", y),
                ("x_test", x_test),
                ("y_test", y_test),
                ("grid", grid),
                ("lams", lams),
            )
        ]
        _validate.same_rows("x", arrs[0], "y", arrs[1])
        _validate.same_rows("x_test", arrs[2], "y_test", arrs[3])
        f64 = functools.partial(jnp.asarray, dtype=jnp.float64)
        return _ridge_comparison(*arrs[:5], f64(sigma), f64(lam), arrs[5])


def ridge_comparison_cache_size() -> int:
    """How many times :func:`ridge_comparison`'s jitted body has been compiled."""
    return _ridge_comparison._cache_size()


# ------------------------------------------------------------------------------ kernel SVM


class KernelSVM(NamedTuple):
    r"""Result of :func:`kernel_svm`: coefficients ``alpha: (n,)`` (predict
    $\mathrm{sign}(K_*\alpha)$) and the objective before each step, ``objective: (steps,)``."""

    alpha: Array
    objective: Array


@functools.partial(jax.jit, static_argnames="steps")
def _kernel_svm(K, y, lam, lr, steps):
    n = K.shape[0]

    def step(alpha, _):
        z = y * (K @ alpha)
        J = jnp.mean(jnp.maximum(0.0, 1.0 - z)) + 0.5 * lam * alpha @ K @ alpha
        violated = (z < 1.0).astype(K.dtype)
        grad = -K @ (violated * y) / n + lam * K @ alpha
        return alpha - lr * grad, J

    return KernelSVM(*lax.scan(step, jnp.zeros(n, K.dtype), None, length=steps))


def kernel_svm(
    K: ArrayLike, y: ArrayLike, *, lam: ArrayLike, lr: ArrayLike, steps: int
) -> KernelSVM:
    r"""Kernel SVM by full-batch subgradient descent (§5.4.2, Eq 5.19–5.21).

    Minimizes $J(\alpha) = \frac1n\sum_i \max\{0, 1 - y_i (K\alpha)_i\} +
    \frac\lambda2\alpha^\top K\alpha$; the subgradient is
    $-\frac1n K(\delta\odot y) + \lambda K\alpha$ with $\delta_i = [y_i(K\alpha)_i < 1]$.
    The hinge RBF network with prototypes = training points has the same predictions
    $\mathrm{sign}(K w)$ but penalizes $\|w\|^2$ instead (E14). ``lam`` and ``lr`` are traced.

    Args:
        K: ``(n, n)``; y: labels in $\{-1, +1\}$, ``(n,)``; lam $> 0$; lr $> 0$; steps: int.
    """
    K = _square("K", K)
    y = _validate.labels_pm1("y", y, n=K.shape[0])
    _validate.positive("lam", lam)
    _validate.positive("lr", lr)
    steps = _validate.positive_int("steps", steps)
    return _kernel_svm(K, y, jnp.asarray(lam, K.dtype), jnp.asarray(lr, K.dtype), steps)


# ------------------------------------------------------------------------------ unsupervised


def center_kernel(K: ArrayLike) -> Array:
    r"""The centred kernel $\tilde K = JKJ$, $J = I - \frac1n\mathbf 1\mathbf 1^\top$: the Gram
    matrix of the feature vectors after their mean is removed. ``(n, n)`` -> ``(n, n)``."""
    K = _square("K", K)
    return K - K.mean(axis=0, keepdims=True) - K.mean(axis=1, keepdims=True) + K.mean()


def kernel_pca(K: ArrayLike, k: int) -> tuple[Array, Array]:
    r"""Kernel PCA (kernel SVD of the centred features; Ex 5.5).

    With $\tilde K = JKJ = U\mathrm{diag}(s)U^\top$ (eigenvalues descending), the embedding is
    $Z = U_k\,\mathrm{diag}(\sqrt{s_k})$: $ZZ^\top$ is the best rank-$k$ approximation of
    $\tilde K$. Each column's sign is fixed so that its largest-magnitude entry is positive.

    Args:
        K: ``(n, n)``; k: number of components, ``1 <= k <= n``.

    Returns:
        ``(Z: (n, k), s: (k,))``.
    """
    Kc = center_kernel(K)
    k = _validate.positive_int("k", k)
    if k > Kc.shape[0]:
        raise ValueError(f"`k` must be at most n = {Kc.shape[0]}, got {k}.")
    return _top_eigen(Kc, k, scale=True)


@functools.partial(jax.jit, static_argnames=("k", "scale"))
def _top_eigen(M, k, scale):
    s, U = jnp.linalg.eigh(0.5 * (M + M.T))
    s, U = s[::-1][:k], U[:, ::-1][:, :k]
    pivot = jnp.take_along_axis(U, jnp.argmax(jnp.abs(U), axis=0)[None, :], axis=0)
    U = U * jnp.sign(pivot)
    return (U * jnp.sqrt(jnp.maximum(s, 0.0))[None, :] if scale else U), s


def spectral_embedding(A: ArrayLike, k: int) -> Array:
    r"""The top-``k`` eigenvectors of the normalized affinity $D^{-1/2} A D^{-1/2}$ (Ex 5.7).

    $D = \mathrm{diag}(A\mathbf 1)$. These are the bottom eigenvectors of the normalized graph
    Laplacian $I - D^{-1/2}AD^{-1/2}$ (spectral clustering); the first is
    $\propto D^{1/2}\mathbf 1$ and carries no cluster information, so column 1 onward is used.

    Args:
        A: symmetric non-negative affinity ``(n, n)`` with positive row sums; k: ``1 <= k <= n``.

    Returns:
        ``(n, k)`` orthonormal columns, signs fixed as in :func:`kernel_pca`.
    """
    A = _square("A", A)
    k = _validate.positive_int("k", k)
    if k > A.shape[0]:
        raise ValueError(f"`k` must be at most n = {A.shape[0]}, got {k}.")
    if not _validate.is_traced(A):
        a = np.asarray(A, np.float64)
        if np.any(a < 0) or np.any(a.sum(axis=1) <= 0):
            raise ValueError("`A` must be non-negative with positive row sums (no isolated point).")
    d = jnp.sum(A, axis=1) ** -0.5
    return _top_eigen(d[:, None] * A * d[None, :], k, scale=False)[0]


def auc(scores: ArrayLike, positive: ArrayLike) -> float:
    r"""ROC area: the probability that a random positive scores above a random negative.

    Computed by counting pairs (ties count 1/2), the Mann–Whitney statistic,
    $$\mathrm{AUC} = \frac{1}{n_+n_-}\sum_{i\in+}\sum_{j\in-}
      \big([s_i > s_j] + \tfrac12[s_i = s_j]\big).$$

    Args:
        scores: ``(n,)``, higher = more likely positive (an outlier); positive: ``(n,)`` bool or
        0/1, with at least one of each.
    """
    s = np.asarray(_validate.float_array("scores", scores, ndim=1), np.float64)
    p = np.asarray(positive)
    if p.shape != s.shape:
        raise ValueError(f"`positive` must have shape {s.shape} like `scores`, got {p.shape}.")
    if not np.all((p == 0) | (p == 1)):
        raise ValueError("`positive` must hold booleans or 0/1 values.")
    p = p.astype(bool)
    if p.all() or not p.any():
        raise ValueError("`positive` needs at least one positive and one negative example.")
    pos, neg = s[p][:, None], s[~p][None, :]
    return float(np.mean((pos > neg) + 0.5 * (pos == neg)))


# ------------------------------------------------------------------------------ data


def two_moons(*, key: PRNGKey, n: int, noise: float = 0.08) -> tuple[Array, Array]:
    r"""Two interleaved half circles: $n$ points, labels 0 (upper moon) and 1 (lower moon).

    Upper: $(\cos t, \sin t)$, lower: $(1 - \cos t, \tfrac12 - \sin t)$, $t \sim U(0, \pi)$,
    plus $N(0, \text{noise}^2 I)$. The classes are not linearly separable and k-means on the
    raw inputs splits them wrongly. Returns ``(X: (n, 2), labels: (n,) int32)``.
    """
    _validate.prng_key("key", key)
    n = _validate.positive_int("n", n)
    _validate.positive("noise", noise, allow_zero=True)
    k_t, k_c, k_e = jax.random.split(key, 3)
    t = jax.random.uniform(k_t, (n,), maxval=jnp.pi)
    lab = jax.random.bernoulli(k_c, 0.5, (n,)).astype(jnp.int32)
    upper = jnp.stack([jnp.cos(t), jnp.sin(t)], axis=1)
    lower = jnp.stack([1.0 - jnp.cos(t), 0.5 - jnp.sin(t)], axis=1)
    X = jnp.where(lab[:, None] == 0, upper, lower) + noise * jax.random.normal(k_e, (n, 2))
    return X, lab


def wavy_curve(x: ArrayLike) -> Array:
    r"""The 1-D regression target of the lecture: $f(x) = \sin(2x) + 0.3x$."""
    x = jnp.asarray(x)
    return jnp.sin(2.0 * x) + 0.3 * x


def noisy_curve(*, key: PRNGKey, n: int, noise: float = 0.3) -> tuple[Array, Array]:
    r"""$n$ inputs spread over $[-3, 3]$ and $y = $ :func:`wavy_curve` $(x) + N(0, \text{noise}^2)$.

    The inputs are *stratified*: $x_i = -3 + 6\,(i + \tfrac12 + u_i)/n$ with
    $u_i \sim U(-0.3, 0.3)$, so no two points are closer than $0.4 \cdot 6/n$ (near-duplicate
    inputs would make the kernel matrix numerically singular). Returns ``(x: (n,), y: (n,))``
    in the default float dtype, ``x`` increasing.
    """
    _validate.prng_key("key", key)
    n = _validate.positive_int("n", n)
    _validate.positive("noise", noise, allow_zero=True)
    k_x, k_e = jax.random.split(key)
    u = jax.random.uniform(k_x, (n,), minval=-0.3, maxval=0.3)
    x = -3.0 + 6.0 * (jnp.arange(n) + 0.5 + u) / n
    return x, wavy_curve(x) + noise * jax.random.normal(k_e, (n,))
