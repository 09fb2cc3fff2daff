r"""Overfitting and the bias–variance trade-off: polynomial regression as a linear network.

Aggarwal §1.4 (too few examples for the parameters), §4.1 (overfitting, Eq 4.1), §4.2
(the bias–variance decomposition, Fig 4.3) and §4.3 (training, validation and test data,
cross-validation).

What is here:

- :func:`min_norm_solution`: of all the weight vectors with the least squared error, the one of
  smallest norm, $W^+ = D^+ y$ (the pseudo-inverse, computed from an SVD);
- :func:`polynomial_features` (Eq 4.1 as a linear network with inputs $1, x, \dots, x^d$), with
  columns above a *traced* ``degree`` masked to zero, so one compiled function serves every
  degree; :func:`fit_polynomial` and :func:`evaluate_polynomial`;
- a synthetic regression problem (:func:`true_function`, a stand-in chosen for this course: the
  book gives no formula) and :func:`bias_variance_sweep`: a Monte-Carlo experiment that fits
  polynomials of several degrees to many independent training sets (one ``vmap``) and splits the
  error into :func:`bias_variance_terms`; :func:`learning_curve` does the same over training-set
  sizes;
- :func:`winners_curse`: choosing the best of many no-skill models on one validation set
  (Exercise 4.9);
- :func:`kfold_indices`: the folds of $k$-fold cross-validation (§4.3.1), and
  :func:`kfold_cv_mse`, the cross-validation error of every degree in one jitted call.

The polynomial experiments run in float64 whatever the default (they enter
``jax.enable_x64`` themselves and return NumPy arrays): the decomposition is an identity that the
notebook checks to ~1e-15, and raw powers $x^9$ on $[0, 4]$ need the precision. Sizes (the
largest degree, the largest training set, the number of datasets) are static; the degree, the
training-set size, the noise level and the number of datasets used are traced, so a widget
that moves them never recompiles (:func:`sweep_cache_size`).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from course_lib import _validate
from course_lib._types import Array, ArrayLike, PRNGKey

X_RANGE = (0.0, 4.0)
"""The inputs of the synthetic problem are drawn uniformly from this interval."""

X_TEST = 2.0
"""The test point of the book's Fig 4.1/4.2."""


# ------------------------------------------------------------------------------ least squares


def _pinv_solve(A: Array, b: Array) -> Array:
    r"""$A^+ b$ from the thin SVD $A = U\,\mathrm{diag}(s)\,V^T$: $V\,\mathrm{diag}(1/s)\,U^Tb$.

    Singular values below NumPy's ``matrix_rank`` tolerance ($s_{\max}\max(n, d)\,\epsilon$)
    count as zero: zero rows and columns (the masks below) then add nothing, and the result is
    the minimum-norm least-squares solution.
    """
    U, s, Vt = jnp.linalg.svd(A, full_matrices=False)
    tol = s[0] * max(A.shape) * jnp.finfo(A.dtype).eps
    keep = s > tol
    inv = jnp.where(keep, 1.0 / jnp.where(keep, s, 1.0), 0.0)
    return Vt.T @ (inv * (U.T @ b))


def min_norm_solution(D: ArrayLike, y: ArrayLike) -> Array:
    r"""The minimum-norm least-squares weights $W^+ = D^+ y$ (§1.4).

    When $D$ (``(n, d)``) has fewer independent rows than columns, infinitely many $W$ fit the
    data equally well: any $W^+ + v$ with $Dv = 0$. The pseudo-inverse picks the one of smallest
    $\|W\|$, which has no component in the null space of $D$. With independent rows it is
    $W^+ = D^T(DD^T)^{-1}y$; it is also the limit of ridge regression,
    $W^+ = \lim_{\lambda\to 0^+}(D^TD + \lambda I)^{-1}D^Ty$. Computed from the SVD of $D$ in
    $D$'s dtype (pass float64 for exact claims).

    Args:
        D: the design matrix, shape ``(n, d)``.
        y: targets, shape ``(n,)``.

    Returns:
        $W^+$, shape ``(d,)``.
    """
    D = _validate.float_array("D", D, ndim=2)
    _validate.nonempty("D", D, what="example (row)")
    y = _validate.float_array("y", y, ndim=1)
    _validate.same_rows("D", D, "y", y)
    _validate.finite("D", D)
    _validate.finite("y", y)
    if D.shape[1] == 0:
        raise ValueError(f"`D` must have at least one column, got shape {tuple(D.shape)}.")
    dtype = jnp.result_type(D.dtype, y.dtype)
    return _pinv_solve(D.astype(dtype), y.astype(dtype))


# ------------------------------------------------------------------------------ polynomials


def polynomial_features(x: ArrayLike, max_degree: int, degree: ArrayLike | None = None) -> Array:
    r"""The inputs of polynomial regression as a linear network (Eq 4.1): $[1, x, \dots, x^p]$.

    $\hat y = \sum_{i=0}^{d} w_i x^i$ is a single linear neuron whose inputs are the powers of
    $x$ (the constant 1 plays the bias). Columns $i > $ ``degree`` are set to 0, so that a model
    of any degree $d \le p$ = ``max_degree`` has the same shape; ``degree`` may be traced.

    Args:
        x: inputs, any shape ``S``.
        max_degree: $p$, a static int >= 0 (the number of columns is $p + 1$).
        degree: $d$ (default $p$); columns above it are zero.

    Returns:
        shape ``S + (p + 1,)``, column $i$ holds $x^i$ (or 0 when $i > d$).
    """
    if isinstance(max_degree, bool) or not isinstance(max_degree, (int, np.integer)):
        raise TypeError(f"`max_degree` must be an int >= 0, got {max_degree!r}.")
    if max_degree < 0:
        raise ValueError(f"`max_degree` must be an int >= 0, got {max_degree}.")
    x = _validate.float_array("x", x)
    powers = jnp.arange(int(max_degree) + 1).reshape((1,) * x.ndim + (-1,))  # (1.., p + 1)
    cols = x[..., None] ** powers.astype(x.dtype)  # (..., p + 1); 0 ** 0 = 1
    if degree is None:
        return cols
    if not _validate.is_traced(degree):
        _validate.in_range("degree", degree, 0, max_degree)
    return jnp.where(powers <= degree, cols, jnp.zeros((), x.dtype))


def _fit(x, y, weights, degree, max_degree):
    """Weighted least squares on masked features (rows with weight 0 are left out)."""
    V = polynomial_features(x, max_degree, degree)  # (n, p + 1)
    r = jnp.sqrt(weights)
    return _pinv_solve(V * r[:, None], y * r)


@functools.partial(jax.jit, static_argnames=("max_degree",))
def _fit_jit(x, y, weights, degree, *, max_degree):
    return _fit(x, y, weights, degree, max_degree)


def fit_polynomial(
    x: ArrayLike,
    y: ArrayLike,
    *,
    degree: int,
    max_degree: int | None = None,
    weights: ArrayLike | None = None,
) -> np.ndarray:
    r"""Least-squares polynomial of degree ``degree`` through the points ``(x, y)`` (Eq 4.1).

    Minimizes $\sum_j m_j(y_j - \sum_{i=0}^d w_i x_j^i)^2$ (weights $m_j$ default to 1; a
    weight 0 leaves a point out, which is how cross-validation folds are fitted without new
    shapes). With at most $d+1$ distinct points the fit is exact (zero training error); with
    fewer it is the minimum-norm interpolant. Runs in float64.

    Args:
        x, y: shape ``(n,)``.
        degree: $d$, ``0 <= degree <= max_degree``.
        max_degree: the length of the result minus 1 (default ``degree``).
        weights: optional ``(n,)`` non-negative weights.

    Returns:
        float64 NumPy ``(max_degree + 1,)``: $w_0, \dots, w_d$, then zeros.
    """
    if max_degree is None:
        max_degree = degree
    if isinstance(degree, bool) or not isinstance(degree, (int, np.integer)):
        raise TypeError(f"`degree` must be an int >= 0, got {degree!r}.")
    with jax.enable_x64(True):
        x = _validate.float_array("x", x, ndim=1).astype(jnp.float64)
        _validate.nonempty("x", x, what="point")
        y = _validate.float_array("y", y, ndim=1).astype(jnp.float64)
        _validate.same_rows("x", x, "y", y)
        _validate.finite("x", x)
        _validate.finite("y", y)
        if weights is None:
            m = jnp.ones_like(x)
        else:
            m = _validate.float_array("weights", weights, ndim=1).astype(jnp.float64)
            _validate.same_rows("x", x, "weights", m)
            _validate.finite("weights", m)
            if bool(jnp.any(m < 0)):
                raise ValueError("`weights` must be non-negative.")
        polynomial_features(x[:1], max_degree, degree)  # validates max_degree and degree
        w = _fit_jit(x, y, m, jnp.int32(degree), max_degree=int(max_degree))
        return np.asarray(w, np.float64)


def evaluate_polynomial(w: ArrayLike, x: ArrayLike) -> np.ndarray:
    r"""$\hat y = \sum_i w_i x^i$ at every entry of ``x`` (float64 NumPy, the shape of ``x``)."""
    with jax.enable_x64(True):
        w = _validate.float_array("w", w, ndim=1).astype(jnp.float64)
        x = _validate.float_array("x", x).astype(jnp.float64)
        return np.asarray(_evaluate(w, x), np.float64)


@jax.jit
def _evaluate(w, x):
    return polynomial_features(x, w.shape[0] - 1) @ w


# -------------------------------------------------------------------------- the synthetic problem


def true_function(x: ArrayLike) -> Array:
    r"""The stand-in "true" curve $f(x) = 1.5\sin(0.9\,x + 0.5)$ on $[0, 4]$.

    Chosen for this course (the book's Fig 4.1–4.3 give no formula): smooth, visibly curved, and
    not a polynomial, so every degree has some bias and the bias falls gradually with the degree.
    """
    x = jnp.asarray(x)
    return 1.5 * jnp.sin(0.9 * x + 0.5)


def sample_regression(key: PRNGKey, n: int, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    r"""``n`` points $x \sim U[0, 4]$, $y = f(x) + \sigma\varepsilon$, $\varepsilon \sim N(0, 1)$
    (float64 NumPy)."""
    _validate.prng_key("key", key)
    n = _validate.positive_int("n", n)
    _validate.positive("sigma", sigma, allow_zero=True)
    with jax.enable_x64(True):
        x, y = _draw(key, n, jnp.float64(sigma))
        return np.asarray(x), np.asarray(y)


def _draw(key, n, sigma):
    k_x, k_e = jax.random.split(key)
    x = jax.random.uniform(k_x, (n,), jnp.float64, *X_RANGE)
    return x, true_function(x) + sigma * jax.random.normal(k_e, (n,), jnp.float64)


class BiasVariance(NamedTuple):
    r"""The terms of the decomposition, each averaged over the test points (§4.2.1)."""

    bias2: Array  # (1/t) sum_i (E_D[g_i] - f_i)^2
    variance: Array  # (1/t) sum_i E_D[(g_i - E_D[g_i])^2]
    mse: Array  # (1/t) sum_i E_D[(g_i - f_i)^2], = bias2 + variance exactly


def _terms(preds, f, dataset_weights):
    m = dataset_weights / jnp.sum(dataset_weights)  # (R,)
    mean = m @ preds  # (T,)
    bias2 = jnp.mean((mean - f) ** 2)
    variance = jnp.mean(m @ (preds - mean[None, :]) ** 2)
    mse = jnp.mean(m @ (preds - f[None, :]) ** 2)
    return BiasVariance(bias2, variance, mse)


def bias_variance_terms(predictions: ArrayLike, f: ArrayLike) -> BiasVariance:
    r"""Bias², variance and mean squared error of predictions from $R$ training sets.

    With $g_{ri}$ the prediction at test point $Z_i$ of the model trained on dataset $r$ and
    $\bar g_i = \frac1R\sum_r g_{ri}$ (expectations over datasets replaced by averages):

    $$\underbrace{\frac1t\sum_i\frac1R\sum_r (g_{ri} - f_i)^2}_{\text{mse}}
      = \underbrace{\frac1t\sum_i(\bar g_i - f_i)^2}_{\text{bias}^2}
      + \underbrace{\frac1t\sum_i\frac1R\sum_r(g_{ri} - \bar g_i)^2}_{\text{variance}} ,$$

    an algebraic identity (the cross term $\frac1R\sum_r (g_{ri} - \bar g_i) = 0$ exactly),
    so ``mse - bias2 - variance`` is zero up to rounding. The variance divides by $R$, not
    $R - 1$.

    Args:
        predictions: ``(R, t)``.
        f: the true values $f(Z_i)$, ``(t,)``.
    """
    preds = _validate.float_array("predictions", predictions, ndim=2)
    f = _validate.float_array("f", f, ndim=1)
    if preds.shape[1] != f.shape[0] or preds.shape[0] == 0:
        raise ValueError(
            f"`predictions` must have shape (R, t) with R >= 1 and t = len(f) = {f.shape[0]}, "
            f"got {tuple(preds.shape)}."
        )
    dtype = jnp.result_type(preds.dtype, f.dtype)
    preds, f = preds.astype(dtype), f.astype(dtype)
    return _terms(preds, f, jnp.ones(preds.shape[0], dtype))


class Sweep(NamedTuple):
    r"""Result of :func:`bias_variance_sweep` / :func:`learning_curve` (float64 NumPy).

    The leading axis runs over the swept values (degrees or training-set sizes).
    """

    grid: np.ndarray  # (t,) the test points Z_i, evenly spaced over [0, 4]
    f: np.ndarray  # (t,) f(Z_i)
    predictions: np.ndarray  # (S, R, t) g(Z_i, D_r) (datasets past `datasets` are unused)
    bias2: np.ndarray  # (S,)
    variance: np.ndarray  # (S,)
    mse: np.ndarray  # (S,) mean of (g - f)^2 over datasets and test points
    test_mse: np.ndarray  # (S,) mean of (g - y)^2 with fresh noisy targets y = f + sigma eps
    noise: np.ndarray  # (S,) mean of (sigma eps)^2 for those fresh targets (the same for all S)
    cross: np.ndarray  # (S,) 2 * mean of (g - f) sigma eps, so test_mse = mse + noise - cross
    train_mse: np.ndarray  # (S,) mean over datasets of the training MSE


def _one_setting(key, degree, n, sigma, datasets, *, max_degree, max_n, max_datasets, grid):
    k_train, k_test = jax.random.split(key)
    xs, ys = jax.vmap(lambda k: _draw(k, max_n, sigma))(jax.random.split(k_train, max_datasets))
    rows = (jnp.arange(max_n) < n).astype(jnp.float64)  # the first n points of each draw
    fit = jax.vmap(lambda x, y: _fit(x, y, rows, degree, max_degree))
    W = fit(xs, ys)  # (R, p + 1)
    train_pred = jnp.einsum("rnp,rp->rn", polynomial_features(xs, max_degree), W)
    train_mse = jnp.sum(rows[None, :] * (train_pred - ys) ** 2, axis=1) / n  # (R,)
    preds = polynomial_features(grid, max_degree) @ W.T  # (t, R)
    preds = preds.T  # (R, t)
    f = true_function(grid)
    used = (jnp.arange(max_datasets) < datasets).astype(jnp.float64)  # (R,)
    m = used / jnp.sum(used)
    terms = _terms(preds, f, used)
    noise = sigma * jax.random.normal(k_test, preds.shape, jnp.float64)  # fresh test targets
    err = preds - (f[None, :] + noise)
    test_mse = jnp.mean(m @ err**2)
    noise2 = jnp.mean(m @ noise**2)
    cross = 2.0 * jnp.mean(m @ ((preds - f[None, :]) * noise))
    return preds, terms, test_mse, noise2, cross, m @ train_mse


@functools.partial(jax.jit, static_argnames=("max_degree", "max_n", "max_datasets", "test_points"))
def _sweep(key, degrees, sizes, sigma, datasets, *, max_degree, max_n, max_datasets, test_points):
    grid = jnp.linspace(*X_RANGE, test_points, dtype=jnp.float64)
    one = functools.partial(
        _one_setting, max_degree=max_degree, max_n=max_n, max_datasets=max_datasets, grid=grid
    )
    # Same key for every setting: the datasets are the same draws, nested in n (common random
    # numbers make the curves smooth and their comparisons sharper).
    out = jax.vmap(lambda d, n: one(key, d, n, sigma, datasets))(degrees, sizes)
    preds, terms, test_mse, noise2, cross, train_mse = out
    return grid, true_function(grid), preds, terms, test_mse, noise2, cross, train_mse


def _run_sweep(key, degrees, sizes, sigma, datasets, max_degree, max_n, max_datasets, test_points):
    _validate.prng_key("key", key)
    _validate.positive("sigma", sigma, allow_zero=True)
    max_n = _validate.positive_int("max_n", max_n)
    max_datasets = _validate.positive_int("max_datasets", max_datasets)
    test_points = _validate.positive_int("test_points", test_points)
    datasets = _validate.positive_int("datasets", datasets)
    if datasets > max_datasets:
        raise ValueError(f"`datasets` must be at most max_datasets={max_datasets}, got {datasets}.")
    for d in degrees:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or not 0 <= d <= max_degree:
            raise ValueError(f"every degree must be an int in [0, {max_degree}], got {d!r}.")
    for n in sizes:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= max_n:
            raise ValueError(f"every training-set size must be an int in [1, {max_n}], got {n!r}.")
    with jax.enable_x64(True):
        out = _sweep(
            key,
            jnp.asarray(degrees, jnp.int32),
            jnp.asarray(sizes, jnp.int32),
            jnp.float64(sigma),
            jnp.int32(datasets),
            max_degree=max_degree,
            max_n=max_n,
            max_datasets=max_datasets,
            test_points=test_points,
        )
        grid, f, preds, terms, test_mse, noise2, cross, train_mse = jax.tree.map(np.asarray, out)
    return Sweep(
        grid, f, preds, terms.bias2, terms.variance, terms.mse, test_mse, noise2, cross, train_mse
    )


def bias_variance_sweep(
    key: PRNGKey,
    *,
    degrees: tuple[int, ...] | list[int],
    n: int,
    sigma: float,
    datasets: int,
    max_degree: int = 9,
    max_n: int | None = None,
    max_datasets: int | None = None,
    test_points: int = 81,
) -> Sweep:
    r"""Monte-Carlo bias–variance decomposition of polynomial regression, one entry per degree.

    Draws ``max_datasets`` independent training sets of ``max_n`` points of the synthetic problem
    ($x \sim U[0, 4]$, $y = f(x) + \sigma\varepsilon$), fits each with the first ``n`` points
    and every degree (one ``vmap`` over datasets and one over degrees), and evaluates the fits
    on ``test_points`` evenly spaced test points $Z_i$. Only the first ``datasets`` training sets
    enter the averages. With fresh noisy targets $y_{ri} = f(Z_i) + \sigma\varepsilon_{ri}$

    $$\text{test\_mse} = \text{bias}^2 + \text{variance} + \text{noise} - \text{cross},$$

    exactly, where noise $= \overline{(\sigma\varepsilon)^2} \approx \sigma^2$ and the cross
    term $2\,\overline{(g - f)\,\sigma\varepsilon}$ averages to 0: the book's
    $\mathbb E[\mathrm{MSE}] = \text{bias}^2 + \text{variance} + \sigma^2$ (§4.2.1).

    Args:
        key: draws the training sets and the fresh test noise.
        degrees: the degrees to fit (ints in ``[0, max_degree]``).
        n: training-set size (``<= max_n``, default ``max_n = n``).
        sigma: noise standard deviation $\sigma \ge 0$.
        datasets: how many training sets to average over (``<= max_datasets``, default equal).
        max_degree, max_n, max_datasets, test_points: static sizes.

    Returns:
        :class:`Sweep` with a leading axis over ``degrees``.
    """
    n = _validate.positive_int("n", n)
    max_n = n if max_n is None else max_n
    max_datasets = datasets if max_datasets is None else max_datasets
    degrees = list(degrees)
    return _run_sweep(
        key, degrees, [n] * len(degrees), sigma, datasets, max_degree, max_n, max_datasets,
        test_points,
    )  # fmt: skip


def learning_curve(
    key: PRNGKey,
    *,
    degree: int,
    sizes: tuple[int, ...] | list[int],
    sigma: float,
    datasets: int,
    max_degree: int = 9,
    test_points: int = 81,
) -> Sweep:
    r"""Training and test error of a degree-``degree`` fit against the training-set size.

    The same experiment as :func:`bias_variance_sweep`, swept over ``sizes`` instead of the
    degree; the training sets are nested (the set of size $n$ is the first $n$ points of the
    largest one), averaged over ``datasets`` draws (§4.3.3, Exercises 4.6 and 4.10).
    """
    sizes = list(sizes)
    max_n = max(sizes) if sizes else 1
    return _run_sweep(
        key, [degree] * len(sizes), sizes, sigma, datasets, max_degree, max_n, datasets,
        test_points,
    )  # fmt: skip


def sweep_cache_size() -> int:
    """How many times the sweep has compiled (for no-recompile checks)."""
    return _sweep._cache_size()


# ------------------------------------------------------------------------------ model selection


class WinnersCurse(NamedTuple):
    """Result of :func:`winners_curse`."""

    val_acc: Array  # (m,) validation accuracy of each model
    test_acc: Array  # (m,) test accuracy of each model
    best: Array  # index of the model with the highest validation accuracy
    best_val: Array  # its validation accuracy
    best_test: Array  # its test accuracy


@functools.partial(jax.jit, static_argnames=("models", "val_size", "test_size"))
def _winners_curse(key, *, models, val_size, test_size):
    k_val, k_test = jax.random.split(key)
    # A model without skill is right on each example with probability 1/2, independently.
    val = jnp.mean(jax.random.bernoulli(k_val, 0.5, (models, val_size)), axis=1)
    test = jnp.mean(jax.random.bernoulli(k_test, 0.5, (models, test_size)), axis=1)
    best = jnp.argmax(val)
    return WinnersCurse(val, test, best, val[best], test[best])


def winners_curse(
    key: PRNGKey, *, models: int = 1000, val_size: int = 200, test_size: int = 200
) -> WinnersCurse:
    r"""Pick the best of ``models`` coin-flipping classifiers on one validation set (Ex 4.9).

    Every model labels each example correctly with probability 1/2, so its true accuracy is
    0.5. Its validation accuracy is a Binomial$(n_{val}, 1/2)/n_{val}$ draw of standard
    deviation $1/(2\sqrt{n_{val}})$; the maximum of ``models`` such draws is several standard
    deviations above 0.5, while the chosen model's test accuracy (independent examples) is
    again just a draw around 0.5. The selection, not the model, produced the high score.
    """
    _validate.prng_key("key", key)
    return _winners_curse(
        key,
        models=_validate.positive_int("models", models),
        val_size=_validate.positive_int("val_size", val_size),
        test_size=_validate.positive_int("test_size", test_size),
    )


@functools.partial(jax.jit, static_argnames=("max_degree",))
def _cv_mse(x, y, held_out, degrees, *, max_degree):
    def one(mask, degree):  # mask: (n,) 1 on the validation fold
        w = _fit(x, y, 1.0 - mask, degree, max_degree)
        pred = polynomial_features(x, max_degree) @ w
        return jnp.sum(mask * (pred - y) ** 2) / jnp.sum(mask)

    per_fold = jax.vmap(lambda m: jax.vmap(lambda d: one(m, d))(degrees))(held_out)  # (k, D)
    return jnp.mean(per_fold, axis=0)


def kfold_cv_mse(
    x: ArrayLike,
    y: ArrayLike,
    *,
    folds: tuple[ArrayLike, ...] | list[ArrayLike],
    degrees: tuple[int, ...] | list[int],
    max_degree: int = 9,
) -> np.ndarray:
    r"""$k$-fold cross-validation error of polynomial fits, one entry per degree (§4.3.1).

    For each fold $j$ and degree $d$: fit on the other folds (weight 0 on fold $j$, see
    :func:`fit_polynomial`), and take the mean squared error on fold $j$; return the average
    over the $k$ folds, $\frac1k\sum_j \mathrm{MSE}_j(d)$. One jitted call (``vmap`` over folds
    and degrees), in float64.

    Args:
        x, y: the data, shape ``(n,)``.
        folds: validation index arrays, e.g. from :func:`kfold_indices`.
        degrees: ints in ``[0, max_degree]``.

    Returns:
        float64 NumPy ``(len(degrees),)``.
    """
    with jax.enable_x64(True):
        x = _validate.float_array("x", x, ndim=1).astype(jnp.float64)
        y = _validate.float_array("y", y, ndim=1).astype(jnp.float64)
        _validate.same_rows("x", x, "y", y)
        _validate.finite("x", x)
        _validate.finite("y", y)
        n = x.shape[0]
        held_out = np.zeros((len(folds), n))
        for j, fold in enumerate(folds):
            idx = np.asarray(fold)
            if idx.ndim != 1 or idx.size == 0 or idx.min() < 0 or idx.max() >= n:
                raise ValueError(f"`folds[{j}]` must be a non-empty array of indices in [0, {n}).")
            held_out[j, idx] = 1.0
        if len(folds) < 2:
            raise ValueError(f"`folds` must hold at least 2 folds, got {len(folds)}.")
        for d in degrees:
            if (
                isinstance(d, bool)
                or not isinstance(d, (int, np.integer))
                or not 0 <= d <= max_degree
            ):
                raise ValueError(f"every degree must be an int in [0, {max_degree}], got {d!r}.")
        out = _cv_mse(
            x, y, jnp.asarray(held_out), jnp.asarray(degrees, jnp.int32), max_degree=max_degree
        )
        return np.asarray(out, np.float64)


def kfold_indices(n: int, k: int, *, key: PRNGKey | None = None) -> tuple[Array, ...]:
    r"""The validation folds of $k$-fold cross-validation over examples $0..n-1$ (§4.3.1).

    The folds are disjoint, together cover every example once, and their sizes differ by at
    most 1 (the first $n \bmod k$ folds get $\lfloor n/k\rfloor + 1$ examples). Without a
    ``key`` they are contiguous blocks in order; with one, the examples are shuffled first.
    $k = n$ is leave-one-out. Fold $j$ is validated on while the other $k-1$ train.

    Returns:
        a tuple of ``k`` int32 arrays of indices.
    """
    n = _validate.positive_int("n", n)
    k = _validate.positive_int("k", k)
    if not 2 <= k <= n:
        raise ValueError(f"`k` must be between 2 and n={n} (leave-one-out), got {k}.")
    order = jnp.arange(n, dtype=jnp.int32)
    if key is not None:
        _validate.prng_key("key", key)
        order = jax.random.permutation(key, order)
    base, extra = divmod(n, k)
    folds, start = [], 0
    for j in range(k):
        size = base + (1 if j < extra else 0)
        folds.append(order[start : start + size])
        start += size
    return tuple(folds)
