r"""Bagging and subsampling: averaging models trained on resampled data (Aggarwal §4.5.1).

An ensemble trains $m$ members on $m$ samples of the training data and averages their
real-valued predictions, $\bar g(x) = \frac1m\sum_{j=1}^m g_j(x)$. Two ways to draw a sample of
size $s$ from $n$ training points:

- **bagging** (bootstrap aggregating) draws *with* replacement; a point is left out of one
  sample of size $s = n$ with probability $(1 - 1/n)^n \to 1/e \approx 0.368$ (the
  *out-of-bag* fraction);
- **subsampling** draws *without* replacement and needs $s < n$: at $s = n$ every member sees
  the same data and the ensemble is one model repeated.

If each member's prediction at $x_0$ has variance $\sigma^2$ and any two members are correlated
with coefficient $\rho$ (their samples overlap), the average of $m$ members has variance

$$\operatorname{Var}\Big(\frac1m\sum_j g_j\Big) = \rho\,\sigma^2 + \frac{(1-\rho)\,\sigma^2}{m},$$

which falls with $m$ only down to the plateau $\rho\sigma^2$: the *residual* variance that no
number of bags removes.

The experiment here is a deliberately unstable predictor, a degree-$d$ polynomial fitted by
(weighted, nearly unregularized) least squares to $n$ noisy points of a smooth curve. A sample
is written as *weights* on the $n$ points (how often each was drawn), so the sample fraction
$s/n$ and the number of bags are traced values and a widget never recompiles. Everything runs
in float64.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

from course_lib import _validate
from course_lib._types import Array, ArrayLike, PRNGKey

# ------------------------------------------------------------------------------ sampling


def bootstrap_indices(*, key: PRNGKey, n: int, s: int) -> Array:
    """``s`` indices drawn uniformly *with* replacement from ``0..n-1`` (a bootstrap sample).

    Returns:
        ``(s,)`` int32.
    """
    _validate.prng_key("key", key)
    n = _validate.positive_int("n", n)
    s = _validate.positive_int("s", s)
    return jax.random.randint(key, (s,), 0, n, dtype=jnp.int32)


def subsample_indices(*, key: PRNGKey, n: int, s: int) -> Array:
    """``s`` distinct indices drawn *without* replacement from ``0..n-1`` (``s <= n``).

    Returns:
        ``(s,)`` int32.
    """
    _validate.prng_key("key", key)
    n = _validate.positive_int("n", n)
    s = _validate.positive_int("s", s)
    if s > n:
        raise ValueError(f"`s` must be at most n = {n} when sampling without replacement, got {s}.")
    return jax.random.permutation(key, n)[:s].astype(jnp.int32)


def oob_fraction(indices: ArrayLike, n: int) -> Array:
    r"""The fraction of the points ``0..n-1`` that ``indices`` never picks (out of bag).

    Args:
        indices: ``(s,)`` or ``(b, s)`` integer indices in ``[0, n)``; a 2-D array gives one
            fraction per row (per sample).

    Returns:
        ``()`` or ``(b,)``.
    """
    n = _validate.positive_int("n", n)
    idx = _validate.index_array("indices", indices, size=n, ndim=(1, 2))
    return _oob_fraction(idx, n)


@functools.partial(jax.jit, static_argnums=1)
def _oob_fraction(idx, n):
    def one(row):
        seen = jnp.zeros(n, bool).at[row].set(True)
        return 1.0 - jnp.mean(seen.astype(jnp.result_type(float)))

    return one(idx) if idx.ndim == 1 else jax.vmap(one)(idx)


def oob_fraction_exact(n: int) -> float:
    r"""$(1 - 1/n)^n$: the probability that a given point is missing from a bootstrap sample of
    size $n$ (computed in float64 as $\exp(n\,\mathrm{log1p}(-1/n))$)."""
    n = _validate.positive_int("n", n)
    return math.exp(n * math.log1p(-1.0 / n)) if n > 1 else 0.0


def equicorrelated_variance(sigma2: ArrayLike, rho: ArrayLike, m: ArrayLike) -> Array:
    r"""$\rho\sigma^2 + (1-\rho)\sigma^2/m$: the variance of the mean of ``m`` variables with
    variance $\sigma^2$ and pairwise correlation $\rho$ (broadcasts)."""
    sigma2, rho, m = (jnp.asarray(v, jnp.result_type(float)) for v in (sigma2, rho, m))
    return rho * sigma2 + (1.0 - rho) * sigma2 / m


# ------------------------------------------------------------------------------ the predictor


def true_curve(x: ArrayLike) -> Array:
    r"""The smooth curve the experiment samples: $f(x) = \sin(\pi x)$."""
    return jnp.sin(jnp.pi * jnp.asarray(x))


def chebyshev_features(x: ArrayLike, degree: int) -> Array:
    r"""Chebyshev polynomials $T_0(x), \dots, T_d(x)$ of ``x: (n,)`` in $[-1, 1]$, shape
    ``(n, d + 1)``; $T_0 = 1$, $T_1 = x$, $T_{k+1} = 2xT_k - T_{k-1}$.

    The same polynomials as the monomials $1, x, \dots, x^d$ (the same fitted curves), but far
    better conditioned for least squares.
    """
    x = jnp.asarray(x)
    cols = [jnp.ones_like(x), x]
    for _ in range(degree - 1):
        cols.append(2.0 * x * cols[-1] - cols[-2])
    return jnp.stack(cols[: degree + 1], axis=-1)


def fit_weighted(Phi: Array, y: Array, weights: Array, lam: ArrayLike) -> Array:
    r"""Weighted ridge least squares,
    $\arg\min_w \sum_i c_i (y_i - \phi_i^\top w)^2 + \lambda\|w\|^2$, i.e.
    $w = (\Phi^\top C \Phi + \lambda I)^{-1}\Phi^\top C y$ with $C = \mathrm{diag}(c)$.

    A bootstrap sample is the weights $c_i$ = how often point $i$ was drawn."""
    A = Phi.T @ (weights[:, None] * Phi) + lam * jnp.eye(Phi.shape[1], dtype=Phi.dtype)
    return jnp.linalg.solve(A, Phi.T @ (weights * y))


def sample_weights(key: PRNGKey, n: int, frac: ArrayLike, replace: ArrayLike) -> Array:
    r"""How often each of ``n`` points is drawn in one sample of size $s = \mathrm{round}(f n)$.

    ``frac`` and ``replace`` may be traced: ``n`` draws are made and only the first $s$ count
    (with replacement: ``n`` uniform indices; without: the order of ``n`` uniform numbers, a
    random permutation), so every sample size has the same array shapes. Returns ``(n,)``
    float counts summing to $s$.
    """
    k1, k2 = jax.random.split(key)
    dtype = jnp.result_type(float)
    idx = jax.random.randint(k1, (n,), 0, n)
    u = jax.random.uniform(k2, (n,), dtype)
    return _weights(idx, u, frac, replace)


def _weights(idx: Array, u: Array, frac: ArrayLike, replace: ArrayLike) -> Array:
    """Counts from ``n`` random indices ``idx`` (with replacement) or from the ranks of ``n``
    uniform numbers ``u`` (without), using the first ``round(frac * n)`` draws."""
    n = idx.shape[-1]
    dtype = u.dtype
    s = jnp.clip(jnp.round(frac * n), 1, n)
    use = (jnp.arange(n) < s).astype(dtype)
    with_repl = jnp.zeros(n, dtype).at[idx].add(use)
    without = jnp.zeros(n, dtype).at[jnp.argsort(u)].set(use)
    return jnp.where(replace, with_repl, without)


class BaggingResult(NamedTuple):
    """One run of :func:`bagging_experiment` (float64 NumPy-convertible arrays)."""

    var_curve: Array  # (m_max,) variance over data sets of the mean of the first m members at x0
    member_var: Array  # () variance of one member's prediction at x0 (sigma^2)
    member_corr: Array  # () mean correlation between two members' predictions at x0 (rho)
    full_var: Array  # () variance of the single model fitted to all n points
    bagged_var: Array  # () variance of the mean of the first m members
    grid: Array  # (n_grid,) x values for the pictures
    members_grid: Array  # (m_max, n_grid) the members of the first data set on the grid
    bagged_grid: Array  # (n_grid,) their mean over the first m members
    x_train: Array  # (n,) the first data set
    y_train: Array  # (n,)
    member_spread: Array  # () largest |g_j - g_1| at x0 over members and data sets


@functools.partial(jax.jit, static_argnames=("n", "degree", "repeats", "m_max", "n_grid"))
def _bagging(key, frac, m, replace, noise, x0, lam, *, n, degree, repeats, m_max, n_grid):
    dtype = jnp.result_type(float)
    grid = jnp.linspace(-1.0, 1.0, n_grid, dtype=dtype)
    phi0 = chebyshev_features(jnp.asarray([x0], dtype), degree)[0]
    phi_grid = chebyshev_features(grid, degree)

    # Every random number comes from one uniform draw (each separate jax.random call costs
    # compile time): x, the noise (Box-Muller), the bootstrap indices and the permutations.
    u = jax.random.uniform(key, (repeats, 3 * n + 2 * m_max * n), dtype)
    u = u.at[:, n : 3 * n].set(jnp.clip(u[:, n : 3 * n], 1e-300, 1.0))
    xs = 2.0 * u[:, :n] - 1.0
    gauss = jnp.sqrt(-2.0 * jnp.log(u[:, n : 2 * n])) * jnp.cos(2.0 * jnp.pi * u[:, 2 * n : 3 * n])
    ys = true_curve(xs) + noise * gauss
    rest = u[:, 3 * n :].reshape(repeats, 2, m_max, n)
    idx = jnp.minimum(jnp.floor(rest[:, 0] * n), n - 1).astype(jnp.int32)
    u = rest[:, 1]

    def one_dataset(x, y, idx_r, u_r):
        Phi = chebyshev_features(x, degree)
        full = phi0 @ fit_weighted(Phi, y, jnp.ones(n, dtype), lam)
        weights = jax.vmap(lambda i, v: _weights(i, v, frac, replace))(idx_r, u_r)
        coefs = jax.vmap(lambda w: fit_weighted(Phi, y, w, lam))(weights)  # (m_max, d + 1)
        return full, coefs @ phi0, coefs

    full, at_x0, coefs = jax.vmap(one_dataset)(xs, ys, idx, u)
    # at_x0: (repeats, m_max); running means over the first m members
    counts = jnp.arange(1, m_max + 1, dtype=dtype)
    running = jnp.cumsum(at_x0, axis=1) / counts[None, :]
    var_curve = jnp.var(running, axis=0)
    member_var = jnp.mean(jnp.var(at_x0, axis=0))
    centred = at_x0 - jnp.mean(at_x0, axis=0, keepdims=True)
    cov = centred.T @ centred / repeats  # (m_max, m_max)
    off = ~jnp.eye(m_max, dtype=bool)
    member_corr = jnp.sum(jnp.where(off, cov, 0.0)) / jnp.sum(off) / member_var
    active = (jnp.arange(m_max) < m).astype(dtype)
    bagged_x0 = (at_x0 @ active) / jnp.sum(active)
    members_grid = coefs[0] @ phi_grid.T  # (m_max, n_grid)
    bagged_grid = active @ members_grid / jnp.sum(active)
    spread = jnp.max(jnp.abs(at_x0 - at_x0[:, :1]))
    return BaggingResult(
        var_curve,
        member_var,
        member_corr,
        jnp.var(full),
        jnp.var(bagged_x0),
        grid,
        members_grid,
        bagged_grid,
        xs[0],
        ys[0],
        spread,
    )


def bagging_experiment(
    *,
    key: PRNGKey,
    frac: float = 1.0,
    m: int = 20,
    replace: bool = True,
    noise: float = 0.3,
    x0: float = 0.9,
    lam: float = 1e-2,
    n: int = 30,
    degree: int = 8,
    repeats: int = 200,
    m_max: int = 30,
    n_grid: int = 121,
) -> BaggingResult:
    r"""Measure how bagging changes the variance of a degree-``degree`` polynomial fit at ``x0``.

    ``repeats`` training sets of ``n`` points $x_i \sim U[-1, 1]$, $y_i = \sin(\pi x_i) +
    \epsilon_i$, $\epsilon_i \sim N(0, \text{noise}^2)$ are drawn; on each, the polynomial is
    fitted once to all points (the single model) and ``m_max`` times to samples of size
    $s = \mathrm{round}(\text{frac}\cdot n)$ (with or without replacement, :func:`sample_weights`).
    The variances are over the training sets. Runs in float64, in one jitted call in which
    ``frac``, ``m``, ``replace``, ``noise``, ``x0`` and ``lam`` are traced.

    Returns:
        :class:`BaggingResult`; ``var_curve[m - 1]`` is the variance of the average of
        ``m`` members.
    """
    _validate.prng_key("key", key)
    _validate.in_range("frac", frac, 0.0, 1.0)
    _validate.positive("frac", frac)
    m_max = _validate.positive_int("m_max", m_max)
    m = _validate.positive_int("m", m)
    if m > m_max:
        raise ValueError(f"`m` must be at most m_max = {m_max}, got {m}.")
    if not isinstance(replace, bool):
        raise TypeError(f"`replace` must be True or False, got {replace!r}.")
    _validate.positive("noise", noise, allow_zero=True)
    _validate.in_range("x0", x0, -1.0, 1.0)
    _validate.positive("lam", lam, allow_zero=True)
    n = _validate.positive_int("n", n)
    degree = _validate.positive_int("degree", degree)
    repeats = _validate.positive_int("repeats", repeats)
    if repeats < 2:
        raise ValueError(f"`repeats` must be at least 2 to measure a variance, got {repeats}.")
    n_grid = _validate.positive_int("n_grid", n_grid)
    with jax.enable_x64(True):
        f64 = jnp.float64
        out = _bagging(
            key,
            f64(frac),
            jnp.int32(m),
            jnp.asarray(replace),
            f64(noise),
            f64(x0),
            f64(lam),
            n=n,
            degree=degree,
            repeats=repeats,
            m_max=m_max,
            n_grid=n_grid,
        )
        return jax.tree.map(lambda a: jax.device_get(a), out)


def bagging_cache_size() -> int:
    """How many versions of the jitted experiment exist (for no-recompile tests)."""
    return _bagging._cache_size()
