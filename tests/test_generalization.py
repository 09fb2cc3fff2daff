"""course_lib.generalization: least squares, polynomial fits, the bias–variance experiment.

Oracles: NumPy's pinv / lstsq / polyfit / vander, the closed form D^T (D D^T)^-1 y, ridge from
course_lib.linear_models, NumPy loops over datasets, and jax.grad + central differences of the
least-squares loss (zero at the solution).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import generalization as G
from course_lib import linear_models

BOOK_D = np.array(
    [[1, 1, 0, 0, 0], [2, 0, 1, 0, 0], [3, 0, 0, 1, 0], [4, 0, 0, 0, 1]], dtype=np.float64
)
BOOK_Y = 2.0 * BOOK_D[:, 0]

# ------------------------------------------------------------------------------ min-norm


def test_min_norm_solution_matches_the_closed_form_and_pinv():
    w = np.asarray(G.min_norm_solution(BOOK_D, BOOK_Y))
    closed = BOOK_D.T @ np.linalg.solve(BOOK_D @ BOOK_D.T, BOOK_Y)
    np.testing.assert_allclose(w, closed, rtol=0, atol=1e-13)
    np.testing.assert_allclose(w, np.linalg.pinv(BOOK_D) @ BOOK_Y, rtol=0, atol=1e-13)
    np.testing.assert_allclose(BOOK_D @ w, BOOK_Y, atol=1e-13)
    # both of the book's solutions fit exactly, and are longer
    for other in ([2, 0, 0, 0, 0], [0, 2, 4, 6, 8]):
        np.testing.assert_allclose(BOOK_D @ np.array(other, float), BOOK_Y, atol=0)
        assert np.linalg.norm(w) < np.linalg.norm(other)
    # no component in the null space of D
    _, _, Vt = np.linalg.svd(BOOK_D)
    assert abs(float(Vt[-1] @ w)) < 1e-13


def test_min_norm_solution_rank_deficient_and_overdetermined_against_lstsq():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 4))
    X[:, 1] = X[:, 0]  # collinear (Exercise 4.2)
    y = 2.0 * X[:, 0]
    np.testing.assert_allclose(
        G.min_norm_solution(X, y), np.linalg.lstsq(X, y, rcond=None)[0], atol=1e-12
    )
    np.testing.assert_allclose(G.min_norm_solution(X, y)[:2], [1.0, 1.0], atol=1e-12)  # split
    A, b = rng.normal(size=(9, 3)), rng.normal(size=9)
    np.testing.assert_allclose(
        G.min_norm_solution(A, b), np.linalg.solve(A.T @ A, A.T @ b), atol=1e-12
    )


def test_min_norm_solution_zeroes_the_least_squares_gradient(fd_gradient):
    rng = np.random.default_rng(1)
    A, b = rng.normal(size=(7, 3)), rng.normal(size=7)
    w = np.asarray(G.min_norm_solution(A, b))

    def loss(v):
        return jnp.sum((jnp.asarray(A) @ v - b) ** 2)

    np.testing.assert_allclose(jax.grad(loss)(jnp.asarray(w)), 0.0, atol=1e-10)
    np.testing.assert_allclose(fd_gradient(loss, w), 0.0, atol=1e-6)


def test_ridge_tends_to_the_min_norm_solution():
    w = np.asarray(G.min_norm_solution(BOOK_D, BOOK_Y))
    gaps = [
        np.linalg.norm(np.asarray(linear_models.ridge_closed_form(BOOK_D, BOOK_Y, lam)) - w)
        for lam in (1e-2, 1e-4, 1e-6)
    ]
    assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 1e-5


# ------------------------------------------------------------------------------ polynomials


def test_polynomial_features_match_vander_and_mask_traced_degrees():
    x = np.array([0.0, 0.5, 1.0, 2.0, 3.5])
    np.testing.assert_allclose(G.polynomial_features(x, 4), np.vander(x, 5, increasing=True))
    masked = jax.jit(lambda d: G.polynomial_features(jnp.asarray(x), 6, d))
    for d in range(7):
        want = np.zeros((5, 7))
        want[:, : d + 1] = np.vander(x, d + 1, increasing=True)
        np.testing.assert_allclose(masked(d), want)


@pytest.mark.parametrize("degree", [0, 1, 2, 3, 5])
def test_fit_polynomial_matches_polyfit_and_masking(degree):
    x, y = G.sample_regression(jax.random.key(3), 12, 0.3)
    w = G.fit_polynomial(x, y, degree=degree, max_degree=9)
    np.testing.assert_allclose(w[: degree + 1], np.polyfit(x, y, degree)[::-1], atol=1e-8)
    assert np.all(w[degree + 1 :] == 0.0)
    np.testing.assert_allclose(G.evaluate_polynomial(w, x), np.polyval(np.polyfit(x, y, degree), x),
                               atol=1e-9)  # fmt: skip


def test_fit_polynomial_weights_leave_points_out():
    x, y = G.sample_regression(jax.random.key(4), 10, 0.3)
    m = np.array([1, 1, 0, 1, 0, 1, 1, 1, 0, 1], float)
    keep = m > 0
    np.testing.assert_allclose(
        G.fit_polynomial(x, y, degree=3, weights=m),
        G.fit_polynomial(x[keep], y[keep], degree=3),
        atol=1e-10,
    )


def test_weighted_fit_zeroes_the_gradient_of_its_loss(fd_gradient):
    x, y = G.sample_regression(jax.random.key(5), 9, 0.3)
    m = np.linspace(0.5, 2.0, 9)
    w = G.fit_polynomial(x, y, degree=3, weights=m)
    V = np.vander(x, 4, increasing=True)

    def loss(v):
        return jnp.sum(m * (jnp.asarray(V) @ v - y) ** 2)

    np.testing.assert_allclose(jax.grad(loss)(jnp.asarray(w)), 0.0, atol=1e-8)
    np.testing.assert_allclose(fd_gradient(loss, w), 0.0, atol=1e-5)


def test_interpolation_and_nested_training_error():
    for seed in range(5):
        x, y = G.sample_regression(jax.random.key(10 + seed), 5, 0.5)
        w = G.fit_polynomial(x, y, degree=4)
        assert np.mean((G.evaluate_polynomial(w, x) - y) ** 2) < 1e-8
    x, y = G.sample_regression(jax.random.key(20), 15, 0.5)
    train = [
        np.mean((G.evaluate_polynomial(G.fit_polynomial(x, y, degree=d), x) - y) ** 2)
        for d in range(10)
    ]
    assert np.all(np.diff(train) <= 1e-10)  # nested models: never worse with a higher degree


def test_underdetermined_fit_is_the_min_norm_interpolant():
    x, y = G.sample_regression(jax.random.key(6), 4, 0.2)
    w = G.fit_polynomial(x, y, degree=6)
    np.testing.assert_allclose(w, np.linalg.pinv(np.vander(x, 7, increasing=True)) @ y, atol=1e-8)


# ------------------------------------------------------------------------------ bias-variance


def _terms_numpy(P, f):
    R, t = P.shape
    b2 = var = mse = 0.0
    for i in range(t):
        mean = sum(P[r, i] for r in range(R)) / R
        b2 += (mean - f[i]) ** 2 / t
        var += sum((P[r, i] - mean) ** 2 for r in range(R)) / R / t
        mse += sum((P[r, i] - f[i]) ** 2 for r in range(R)) / R / t
    return b2, var, mse


def test_bias_variance_terms_against_loops_and_the_identity():
    rng = np.random.default_rng(2)
    P, f = rng.normal(1.0, 3.0, size=(40, 6)), rng.normal(size=6)
    terms = G.bias_variance_terms(P, f)
    np.testing.assert_allclose([float(t) for t in terms], _terms_numpy(P, f), rtol=1e-12)
    assert abs(float(terms.mse - terms.bias2 - terms.variance)) < 1e-12


SIZES = dict(max_degree=9, max_n=30, max_datasets=40, test_points=21)


def test_sweep_predictions_are_fits_to_the_drawn_datasets():
    key = jax.random.key(7)
    sweep = G.bias_variance_sweep(key, degrees=[1, 3], n=12, sigma=0.4, datasets=40, **SIZES)
    k_train, _ = jax.random.split(key)
    keys = jax.random.split(k_train, 40)
    grid = np.linspace(0.0, 4.0, 21)
    for r in (0, 17, 39):
        x, y = G.sample_regression(keys[r], 30, 0.4)
        for j, d in enumerate((1, 3)):
            w = np.polyfit(x[:12], y[:12], d)
            np.testing.assert_allclose(sweep.predictions[j, r], np.polyval(w, grid), atol=1e-8)


def test_sweep_decomposition_adds_up_and_noise_is_sigma_squared():
    sigma = 0.5
    sweep = G.bias_variance_sweep(
        jax.random.key(8), degrees=list(range(10)), n=20, sigma=sigma, datasets=40, **SIZES
    )
    np.testing.assert_allclose(sweep.mse, sweep.bias2 + sweep.variance, rtol=1e-12)
    np.testing.assert_allclose(
        sweep.test_mse, sweep.bias2 + sweep.variance + sweep.noise - sweep.cross, rtol=1e-12
    )
    # 40 x 21 noise draws: mean of eps^2 has sd sigma^2 sqrt(2 / 840)
    assert np.all(np.abs(sweep.noise - sigma**2) < 4 * sigma**2 * np.sqrt(2 / 840))
    for j in range(10):
        terms = G.bias_variance_terms(sweep.predictions[j], sweep.f)
        np.testing.assert_allclose(float(terms.bias2), sweep.bias2[j], rtol=1e-10)
    assert sweep.bias2[0] > sweep.bias2[1] > sweep.bias2[2] > sweep.bias2[3]
    assert sweep.variance[8] > 10 * sweep.variance[1]


def test_sweep_uses_only_the_first_datasets_and_does_not_recompile():
    key = jax.random.key(9)
    full = G.bias_variance_sweep(key, degrees=list(range(10)), n=15, sigma=0.3, datasets=40,
                                 **SIZES)  # fmt: skip
    before = G.sweep_cache_size()
    part = G.bias_variance_sweep(key, degrees=list(range(10)), n=15, sigma=0.3, datasets=10,
                                 **SIZES)  # fmt: skip
    for j in range(10):
        terms = G.bias_variance_terms(full.predictions[j, :10], full.f)
        np.testing.assert_allclose(float(terms.variance), part.variance[j], rtol=1e-10)
    G.bias_variance_sweep(key, degrees=list(range(9, -1, -1)), n=7, sigma=1.1, datasets=33,
                          **SIZES)  # fmt: skip
    assert G.sweep_cache_size() == before


def test_learning_curve_train_error_rises_and_test_error_falls():
    lc = G.learning_curve(jax.random.key(11), degree=3, sizes=[6, 10, 20, 40, 80], sigma=0.5,
                          datasets=60)  # fmt: skip
    assert np.all(np.diff(lc.train_mse) > 0)
    assert np.all(np.diff(lc.test_mse) < 0)
    gap = lc.test_mse - lc.train_mse
    assert gap[-1] < 0.2 * gap[1]
    assert abs(lc.test_mse[-1] - 0.25) < 0.05  # bias^2 + variance small for degree 3, n = 80


# ------------------------------------------------------------------------------ model selection


def test_winners_curse():
    best_val, best_test = [], []
    for seed in range(10):
        r = G.winners_curse(jax.random.key(seed), models=1000, val_size=200, test_size=200)
        assert int(r.best) == int(np.argmax(np.asarray(r.val_acc)))
        assert float(r.best_test) == float(r.test_acc[int(r.best)])
        best_val.append(float(r.best_val))
        best_test.append(float(r.best_test))
        assert abs(float(jnp.mean(r.val_acc)) - 0.5) < 4 * 0.5 / np.sqrt(200 * 1000)
    # max of 1000 Binomial(200, 1/2)/200 draws: about 0.5 + 3.2 * 0.035
    assert min(best_val) > 0.57
    assert abs(np.mean(best_test) - 0.5) < 4 * 0.035 / np.sqrt(10)


@pytest.mark.parametrize(("n", "k"), [(10, 2), (10, 3), (23, 4), (7, 7), (100, 10)])
def test_kfold_indices_partition(n, k):
    for key in (None, jax.random.key(n + k)):
        folds = G.kfold_indices(n, k, key=key)
        assert len(folds) == k
        sizes = [int(f.shape[0]) for f in folds]
        assert max(sizes) - min(sizes) <= 1
        everything = np.concatenate([np.asarray(f) for f in folds])
        assert sorted(everything.tolist()) == list(range(n))
    if k == n:
        assert all(s == 1 for s in sizes)  # leave-one-out


def test_kfold_cv_mse_matches_a_loop_over_folds():
    x, y = G.sample_regression(jax.random.key(12), 17, 0.4)
    folds = G.kfold_indices(17, 4, key=jax.random.key(13))
    got = G.kfold_cv_mse(x, y, folds=folds, degrees=[0, 2, 5])
    for j, d in enumerate((0, 2, 5)):
        errs = []
        for fold in folds:
            out = np.zeros(17, bool)
            out[np.asarray(fold)] = True
            w = np.polyfit(x[~out], y[~out], d)
            errs.append(np.mean((np.polyval(w, x[out]) - y[out]) ** 2))
        np.testing.assert_allclose(got[j], np.mean(errs), rtol=1e-8)


# ------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: G.min_norm_solution([1.0, 2.0], [1.0]), ValueError, "`D` must be 2-dimensional"),
        (lambda: G.min_norm_solution(BOOK_D, [1.0, 2.0]), ValueError, "rows"),
        (lambda: G.min_norm_solution(BOOK_D * np.nan, BOOK_Y), ValueError, "`D`"),
        (lambda: G.min_norm_solution("D", BOOK_Y), TypeError, "`D` must be a numeric array"),
        (lambda: G.polynomial_features([1.0], -1), ValueError, "`max_degree`"),
        (lambda: G.polynomial_features([1.0], 2.5), TypeError, "`max_degree`"),
        (lambda: G.polynomial_features([1.0], 3, 5), ValueError, "`degree`"),
        (lambda: G.fit_polynomial([1.0, 2.0], [1.0], degree=1), ValueError, "rows"),
        (lambda: G.fit_polynomial([1.0, 2.0], [1.0, 2.0], degree=1, weights=[1.0, -1.0]),
         ValueError, "`weights`"),
        (lambda: G.fit_polynomial([1.0, 2.0], [1.0, 2.0], degree=3, max_degree=2), ValueError,
         "`degree`"),
        (lambda: G.fit_polynomial([1.0, 2.0], [1.0, 2.0], degree=1.5), TypeError, "`degree`"),
        (lambda: G.bias_variance_terms(np.ones((3, 2)), np.ones(3)), ValueError, "predictions"),
        (lambda: G.bias_variance_sweep(None, degrees=[1], n=5, sigma=0.1, datasets=2),
         TypeError, "`key` is required"),
        (lambda: G.bias_variance_sweep(jax.random.key(0), degrees=[1], n=5, sigma=-1.0,
                                       datasets=2), ValueError, "`sigma`"),
        (lambda: G.bias_variance_sweep(jax.random.key(0), degrees=[12], n=5, sigma=0.1,
                                       datasets=2), ValueError, "degree"),
        (lambda: G.bias_variance_sweep(jax.random.key(0), degrees=[1], n=5, sigma=0.1,
                                       datasets=5, max_datasets=4), ValueError, "`datasets`"),
        (lambda: G.bias_variance_sweep(jax.random.key(0), degrees=[1], n=9, sigma=0.1,
                                       datasets=2, max_n=4), ValueError, "training-set size"),
        (lambda: G.kfold_indices(10, 1), ValueError, "`k`"),
        (lambda: G.kfold_cv_mse([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], folds=[[0], [5]], degrees=[1]),
         ValueError, "folds"),
        (lambda: G.kfold_cv_mse([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], folds=[[0], [1, 2]],
                                degrees=[10]), ValueError, "degree"),
        (lambda: G.kfold_indices(3, 4), ValueError, "`k`"),
        (lambda: G.kfold_indices(10, 2, key=42), TypeError, "`key`"),
        (lambda: G.winners_curse(jax.random.key(0), models=0), ValueError, "`models`"),
        (lambda: G.sample_regression(jax.random.key(0), 0, 0.1), ValueError, "`n`"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_with_a_clear_message(call, error, match):
    with pytest.raises(error, match=match):
        call()
