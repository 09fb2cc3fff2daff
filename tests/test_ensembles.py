"""course_lib.ensembles: sampling, the out-of-bag fraction, weighted fits, bagging."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import ensembles as E

KEY = jax.random.key(0)

# ------------------------------------------------------------------------------ sampling


def test_bootstrap_and_subsample_indices_shapes_ranges_and_determinism():
    b = E.bootstrap_indices(key=KEY, n=50, s=200)
    assert b.shape == (200,) and b.dtype == jnp.int32
    assert int(b.min()) >= 0 and int(b.max()) < 50
    assert len(set(np.asarray(b).tolist())) < 50  # 200 draws from 50 repeat some
    np.testing.assert_array_equal(b, E.bootstrap_indices(key=KEY, n=50, s=200))
    s = E.subsample_indices(key=KEY, n=50, s=30)
    assert s.shape == (30,) and len(set(np.asarray(s).tolist())) == 30
    full = E.subsample_indices(key=KEY, n=50, s=50)
    assert sorted(np.asarray(full).tolist()) == list(range(50))


def test_oob_fraction_equals_a_python_set_count():
    rng = np.random.default_rng(1)
    for n, s in [(10, 10), (100, 37), (1000, 1000)]:
        idx = rng.integers(0, n, s)
        assert float(E.oob_fraction(idx, n)) == pytest.approx(1 - len(set(idx.tolist())) / n)
    rows = rng.integers(0, 20, (5, 20))
    want = [1 - len(set(r.tolist())) / 20 for r in rows]
    np.testing.assert_allclose(E.oob_fraction(rows, 20), want, rtol=0, atol=1e-12)


def test_oob_fraction_exact_is_the_power_and_tends_to_one_over_e():
    for n in (1, 2, 7, 1000):
        assert E.oob_fraction_exact(n) == pytest.approx((1 - 1 / n) ** n, rel=1e-13, abs=1e-300)
    gaps = [math.exp(-1) - E.oob_fraction_exact(n) for n in (10, 100, 1000, 10**6)]
    assert all(g > 0 for g in gaps) and all(a > b for a, b in zip(gaps, gaps[1:], strict=False))
    # (1 - 1/n)^n = e^-1 (1 - 1/(2n) + O(1/n^2)): the gap is e^-1 / (2n) to first order
    for n in (1000, 10**6):
        assert (math.exp(-1) - E.oob_fraction_exact(n)) * 2 * n * math.e == pytest.approx(
            1, rel=2e-3
        )


def _empty_bins_sd(n):
    """Exact standard deviation of the number of points a size-n bootstrap sample misses."""
    p1, p2 = (1 - 1 / n) ** n, (1 - 2 / n) ** n
    return math.sqrt(n * p1 + n * (n - 1) * p2 - (n * p1) ** 2)


def test_empirical_oob_fraction_matches_the_formula_within_its_standard_error():
    n, B = 1000, 2000
    keys = jax.random.split(jax.random.key(3), B)
    idx = jax.vmap(lambda k: jax.random.randint(k, (n,), 0, n))(keys)
    fractions = np.asarray(E.oob_fraction(idx, n))
    se = _empty_bins_sd(n) / n / math.sqrt(B)
    assert abs(fractions.mean() - E.oob_fraction_exact(n)) < 4 * se
    # and the spread of one sample's fraction is the exact one (a loose check of the formula)
    assert fractions.std() == pytest.approx(_empty_bins_sd(n) / n, rel=0.1)


def test_equicorrelated_variance_against_the_covariance_algebra_and_monte_carlo():
    for s2, rho, m in [(1.0, 0.0, 5), (2.0, 0.3, 10), (0.7, 0.9, 3)]:
        cov = s2 * (rho * np.ones((m, m)) + (1 - rho) * np.eye(m))
        assert float(E.equicorrelated_variance(s2, rho, m)) == pytest.approx(
            np.ones(m) @ cov @ np.ones(m) / m**2, rel=1e-12
        )
    rng = np.random.default_rng(0)
    cov = 2.0 * (0.4 * np.ones((6, 6)) + 0.6 * np.eye(6))
    draws = rng.multivariate_normal(np.zeros(6), cov, size=200_000).mean(axis=1)
    assert draws.var() == pytest.approx(float(E.equicorrelated_variance(2.0, 0.4, 6)), rel=0.02)


# ------------------------------------------------------------------------------ the predictor


def test_chebyshev_features_equal_numpys_chebvander():
    x = np.linspace(-1, 1, 17)
    np.testing.assert_allclose(
        E.chebyshev_features(jnp.asarray(x), 8),
        np.polynomial.chebyshev.chebvander(x, 8),
        atol=1e-12,
    )


def test_weighted_fit_equals_least_squares_on_repeated_rows():
    """A bootstrap weight c_i is the same as repeating row i c_i times (an independent oracle)."""
    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, 12)
    y = np.sin(3 * x) + 0.1 * rng.normal(size=12)
    counts = rng.integers(0, 3, 12).astype(float)
    counts[:6] = np.maximum(counts[:6], 1)
    Phi = np.polynomial.chebyshev.chebvander(x, 4)
    rows = np.repeat(np.arange(12), counts.astype(int))
    ref, *_ = np.linalg.lstsq(Phi[rows], y[rows], rcond=None)
    got = E.fit_weighted(jnp.asarray(Phi), jnp.asarray(y), jnp.asarray(counts), 0.0)
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-10)


def test_weighted_ridge_solution_zeroes_the_gradient_by_jax_and_finite_differences():
    rng = np.random.default_rng(3)
    Phi, y = jnp.asarray(rng.normal(size=(9, 4))), jnp.asarray(rng.normal(size=9))
    c, lam = jnp.asarray(rng.integers(0, 3, 9).astype(float)), 0.3

    def objective(w):
        return jnp.sum(c * (y - Phi @ w) ** 2) + lam * jnp.sum(w**2)

    w = E.fit_weighted(Phi, y, c, lam)
    assert float(jnp.max(jnp.abs(jax.grad(objective)(w)))) < 1e-10
    h = 1e-6
    fd = [(objective(w + h * e) - objective(w - h * e)) / (2 * h) for e in jnp.eye(4)]
    assert max(abs(float(v)) for v in fd) < 1e-7
    assert float(objective(w)) < float(objective(w + 1e-3))  # a minimum, not a saddle


def test_sample_weights_count_the_draws():
    for frac in (0.3, 0.5, 1.0):
        s = round(frac * 40)
        w_b = E.sample_weights(KEY, 40, frac, True)
        w_s = E.sample_weights(KEY, 40, frac, False)
        assert float(w_b.sum()) == s and float(w_s.sum()) == s
        assert set(np.asarray(w_s).tolist()) <= {0.0, 1.0}
    np.testing.assert_array_equal(E.sample_weights(KEY, 40, 1.0, False), np.ones(40))


# ------------------------------------------------------------------------------ the experiment


@pytest.fixture(scope="module")
def runs():
    key = jax.random.key(5)
    return {
        "bootstrap": E.bagging_experiment(key=key, frac=1.0, replace=True, m=30),
        "subsample_half": E.bagging_experiment(key=key, frac=0.5, replace=False, m=30),
        "subsample_all": E.bagging_experiment(key=key, frac=1.0, replace=False, m=5),
    }


def test_bagging_lowers_the_variance_down_to_a_plateau(runs):
    for name in ("bootstrap", "subsample_half"):
        r = runs[name]
        assert r.var_curve[-1] < 0.5 * r.var_curve[0], name
        assert r.member_corr > 0.02, name  # correlated members: a residual variance remains
        plateau = r.member_corr * r.member_var
        assert r.var_curve[-1] > plateau
        formula = E.equicorrelated_variance(r.member_var, r.member_corr, np.arange(1, 31))
        # sigma^2 and rho are averages over all members; the first points of the curve depend
        # on a few particular (heavy-tailed) members, so compare from m = 20 on
        np.testing.assert_allclose(r.var_curve[19:], formula[19:], rtol=0.15)
        assert np.all(r.var_curve < 2 * formula) and np.all(r.var_curve > formula / 2)
        np.testing.assert_allclose(r.var_curve[-1], formula[-1], rtol=1e-9)  # an identity at m_max


def test_subsampling_all_points_gives_identical_members(runs):
    r = runs["subsample_all"]
    assert r.member_spread < 1e-10
    np.testing.assert_allclose(r.var_curve, r.full_var, rtol=1e-9)
    assert r.member_corr == pytest.approx(1.0, abs=1e-6)


def test_bagged_variance_masks_the_members_beyond_m(runs):
    r = runs["bootstrap"]
    assert r.bagged_var == pytest.approx(r.var_curve[29], rel=1e-12)
    r5 = E.bagging_experiment(key=jax.random.key(5), frac=1.0, replace=True, m=5)
    assert r5.bagged_var == pytest.approx(r.var_curve[4], rel=1e-12)
    np.testing.assert_allclose(r5.bagged_grid, r5.members_grid[:5].mean(axis=0), atol=1e-12)


def test_the_experiment_compiles_once_for_every_setting():
    E.bagging_experiment(key=KEY, frac=0.6, m=3, replace=True)
    before = E.bagging_cache_size()
    for frac, m, replace in [(0.3, 1, False), (0.9, 30, True), (1.0, 7, False)]:
        E.bagging_experiment(key=KEY, frac=frac, m=m, replace=replace, noise=0.2, x0=0.1)
    assert E.bagging_cache_size() == before


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: E.bootstrap_indices(key=None, n=5, s=5), TypeError, "key"),
        (lambda: E.bootstrap_indices(key=KEY, n=0, s=5), ValueError, "n"),
        (lambda: E.subsample_indices(key=KEY, n=5, s=6), ValueError, "at most n"),
        (lambda: E.oob_fraction([0, 5], 5), ValueError, "indices"),
        (lambda: E.oob_fraction([0.5, 1.0], 5), TypeError, "indices"),
        (lambda: E.bagging_experiment(key=KEY, frac=0.0), ValueError, "frac"),
        (lambda: E.bagging_experiment(key=KEY, frac=1.5), ValueError, "frac"),
        (lambda: E.bagging_experiment(key=KEY, m=31), ValueError, "at most m_max"),
        (lambda: E.bagging_experiment(key=KEY, replace=1), TypeError, "replace"),
        (lambda: E.bagging_experiment(key=KEY, x0=2.0), ValueError, "x0"),
        (lambda: E.bagging_experiment(key=KEY, repeats=1), ValueError, "repeats"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(call, error, match):
    with pytest.raises(error, match=match):
        call()
