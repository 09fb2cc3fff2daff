"""course_lib.kernel_methods: kernel interpolation and ridge vs the RBF ridge output (E14), the
shrinkage picture, the kernel SVM's subgradient, kernel PCA, the spectral embedding, the AUC."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import kernel_methods as KM
from course_lib import rbf

KEY = jax.random.key(0)


def _problem(n=20, sigma=0.5, seed=0):
    x, y = KM.noisy_curve(key=jax.random.fold_in(KEY, seed), n=n)
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    K = np.exp(-((x[:, None] - x[None, :]) ** 2) / (2 * sigma**2))  # NumPy oracle
    return x, y, K


def test_gaussian_kernel_is_the_rbf_layer_and_a_numpy_formula():
    rng = np.random.default_rng(0)
    X, Z = rng.normal(size=(7, 3)), rng.normal(size=(5, 3))
    with jax.enable_x64(True):
        K = np.asarray(KM.gaussian_kernel(X, Z, 0.8))
    want = np.exp(-((X[:, None, :] - Z[None]) ** 2).sum(-1) / (2 * 0.64))
    np.testing.assert_allclose(K, want, rtol=1e-12)
    np.testing.assert_allclose(K, rbf.rbf_activations(X, Z, 0.8), rtol=1e-6)


def test_interpolation_residual_symmetry_and_positive_definiteness():
    with jax.enable_x64(True):
        x, y, K = _problem()
        Kj = KM.gaussian_kernel(x[:, None], x[:, None], 0.5)
        np.testing.assert_allclose(Kj, K, rtol=1e-13)
        w = KM.kernel_interpolation(Kj, y)
        assert np.max(np.abs(K @ np.asarray(w) - y)) < 1e-8
        assert np.array_equal(np.asarray(Kj), np.asarray(Kj).T)
        assert np.linalg.eigvalsh(K).min() > 0
        assert KM.condition_number(Kj) == pytest.approx(np.linalg.cond(K), rel=1e-6)


def test_rbf_ridge_and_kernel_ridge_agree_at_zero_and_differ_for_positive_lam():
    """Erratum E14: (K^2 + lam I)^-1 K y vs (K + lam I)^-1 y."""
    with jax.enable_x64(True):
        x, y, K = _problem()
        interp = np.linalg.solve(K, y)
        np.testing.assert_allclose(rbf.pinv_output(K, y), interp, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(KM.kernel_ridge(K, y, 0.0), interp, rtol=1e-9)
        for lam in (0.01, 0.1, 1.0):
            a = np.asarray(KM.kernel_ridge(K, y, lam))
            w = np.asarray(rbf.ridge_output(K, y, lam))
            np.testing.assert_allclose(a, np.linalg.solve(K + lam * np.eye(20), y), rtol=1e-9)
            np.testing.assert_allclose(
                w, np.linalg.solve(K @ K + lam * np.eye(20), K @ y), rtol=1e-7
            )
            assert np.max(np.abs(K @ a - K @ w)) > 1e-3
            # the shrinkage picture: fitted values U diag(f(s)) U^T y
            s, U = np.linalg.eigh(K)
            f_rbf, f_ker = (np.asarray(v) for v in KM.shrinkage(s, lam))
            np.testing.assert_allclose(K @ w, U @ (f_rbf * (U.T @ y)), atol=1e-8)
            np.testing.assert_allclose(K @ a, U @ (f_ker * (U.T @ y)), atol=1e-8)
            # s^2/(s^2+lam) <= s/(s+lam) exactly when s <= 1: the RBF ridge damps the small
            # eigenvalues harder and the large ones (s > 1) less
            assert np.all((f_rbf <= f_ker + 1e-15) == (s <= 1 + 1e-12))


def test_ridge_comparison_matches_the_closed_forms_and_never_recompiles():
    x, y, K = _problem(n=30, sigma=0.4, seed=3)
    xt = np.linspace(-3, 3, 50)
    yt = np.asarray(KM.wavy_curve(xt))
    lams = np.logspace(-4, 1, 6)
    r = KM.ridge_comparison(x, y, xt, yt, xt, sigma=0.4, lam=0.1, lams=lams)
    Kt = np.exp(-((xt[:, None] - x[None, :]) ** 2) / (2 * 0.16))
    w = np.linalg.solve(K @ K + 0.1 * np.eye(30), K @ y)
    a = np.linalg.solve(K + 0.1 * np.eye(30), y)
    np.testing.assert_allclose(r.grid_rbf, Kt @ w, atol=1e-7)
    np.testing.assert_allclose(r.grid_kernel, Kt @ a, atol=1e-7)
    np.testing.assert_allclose(
        r.test_mse[:2], [np.mean((Kt @ v - yt) ** 2) for v in (w, a)], rtol=1e-7
    )
    assert r.sweep_mse.shape == (2, 6) and r.grid_rbf.dtype == jnp.float64
    assert float(r.max_diff) == pytest.approx(np.max(np.abs(Kt @ w - Kt @ a)), rel=1e-6)
    before = KM.ridge_comparison_cache_size()
    KM.ridge_comparison(x, y, xt, yt, xt, sigma=0.9, lam=0.003, lams=lams)
    assert KM.ridge_comparison_cache_size() == before


def test_kernel_svm_gradient_matches_jax_grad_and_finite_differences():
    with jax.enable_x64(True):
        x, _, K = _problem(n=12)
        y = np.where(np.sin(2 * x) > 0, 1.0, -1.0)
        lam = 0.05
        alpha = np.random.default_rng(1).normal(size=12) * 0.3

        def J(a):
            z = y * (K @ a)
            return jnp.mean(jnp.maximum(0.0, 1.0 - z)) + 0.5 * lam * a @ K @ a

        run = KM.kernel_svm(K, y, lam=lam, lr=1e-3, steps=2)
        assert float(run.objective[0]) == pytest.approx(float(J(np.zeros(12))))
        # one step from alpha via the library's update, against jax.grad
        z = y * (K @ alpha)
        g_hand = -K @ ((z < 1) * y) / 12 + lam * K @ alpha
        np.testing.assert_allclose(g_hand, jax.grad(J)(alpha), rtol=1e-10, atol=1e-12)
        eps = 1e-6
        fd = [(J(alpha + eps * e) - J(alpha - eps * e)) / (2 * eps) for e in np.eye(12)]
        np.testing.assert_allclose(g_hand, fd, rtol=1e-5, atol=1e-7)


def test_kernel_svm_separates_a_separable_set():
    with jax.enable_x64(True):
        x, _, K = _problem(n=30, sigma=0.4)
        y = np.where(np.sin(2 * x) > 0, 1.0, -1.0)
        run = KM.kernel_svm(K, y, lam=1e-3, lr=0.5, steps=400)
        assert np.all(np.sign(K @ np.asarray(run.alpha)) == y)
        assert float(run.objective[-1]) < 0.2 * float(run.objective[0])


def test_kernel_pca_is_the_top_eigenspace_of_the_centred_kernel():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(25, 3))
    with jax.enable_x64(True):
        K = np.asarray(KM.gaussian_kernel(X, X, 1.0))
        J = np.eye(25) - 1 / 25
        np.testing.assert_allclose(KM.center_kernel(K), J @ K @ J, atol=1e-12)
        Z, s = KM.kernel_pca(K, 3)
        ev = np.linalg.eigvalsh(J @ K @ J)[::-1]
        np.testing.assert_allclose(s, ev[:3], rtol=1e-9)
        Zn = np.asarray(Z)
        np.testing.assert_allclose(Zn.T @ Zn, np.diag(ev[:3]), atol=1e-9)
        np.testing.assert_allclose(Zn.sum(0), 0, atol=1e-9)  # centred features
        assert np.all(np.abs(Zn).argmax(0) == np.abs(Zn).argmax(0))
        assert np.all(Zn[np.abs(Zn).argmax(0), range(3)] > 0)  # sign convention
        # determinism
        np.testing.assert_array_equal(Z, KM.kernel_pca(K, 3)[0])


def test_spectral_embedding_finds_two_blocks():
    A = np.full((10, 10), 0.01)
    A[:5, :5] = A[5:, 5:] = 1.0
    E = np.asarray(KM.spectral_embedding(A, 2))
    d = A.sum(1)
    np.testing.assert_allclose(np.abs(E[:, 0]), np.sqrt(d) / np.linalg.norm(np.sqrt(d)), rtol=1e-5)
    assert len(set(np.sign(E[:5, 1]))) == 1 and np.all(np.sign(E[5:, 1]) == -np.sign(E[0, 1]))


def test_auc_against_a_pair_count_and_sklearn_style_cases():
    assert KM.auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == pytest.approx(0.75)
    assert KM.auc([1.0, 1.0], [0, 1]) == 0.5
    rng = np.random.default_rng(3)
    s, p = rng.normal(size=50), rng.random(50) < 0.3
    want = np.mean([[a > b or (a == b) * 0.5 for b in s[~p]] for a in s[p]])
    assert KM.auc(s, p) == pytest.approx(want)
    assert KM.auc(-s, p) == pytest.approx(1 - want)


def test_data_generators_shapes_and_determinism():
    X, lab = KM.two_moons(key=KEY, n=50)
    assert X.shape == (50, 2) and lab.shape == (50,) and set(np.asarray(lab)) == {0, 1}
    np.testing.assert_array_equal(X, KM.two_moons(key=KEY, n=50)[0])
    x, y = KM.noisy_curve(key=KEY, n=20)
    assert np.all(np.diff(np.asarray(x)) > 0.4 * 6 / 20 - 1e-6)
    np.testing.assert_array_equal(y, KM.noisy_curve(key=KEY, n=20)[1])


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda: KM.kernel_ridge(np.ones((3, 4)), np.ones(3), 0.1), ValueError, "square"),
        (lambda: KM.kernel_ridge(np.eye(3), np.ones(4), 0.1), ValueError, "one row per row"),
        (lambda: KM.kernel_ridge(np.eye(3), np.ones(3), -1.0), ValueError, "lam"),
        (lambda: KM.kernel_ridge(np.eye(3), np.ones(3), "0.1"), TypeError, "lam"),
        (lambda: KM.kernel_interpolation(np.ones((3, 3)), np.ones(3)), ValueError, "singular"),
        (lambda: KM.kernel_interpolation(np.full((2, 2), np.nan), np.ones(2)), ValueError, "NaN"),
        (
            lambda: KM.kernel_svm(np.eye(3), np.array([0, 1, 1]), lam=0.1, lr=0.1, steps=5),
            ValueError,
            "labels -1 and",
        ),
        (lambda: KM.kernel_pca(np.eye(3), 4), ValueError, "at most"),
        (lambda: KM.spectral_embedding(-np.eye(3), 1), ValueError, "non-negative"),
        (lambda: KM.auc([0.1, 0.2], [1, 1]), ValueError, "one positive and one negative"),
        (lambda: KM.auc([0.1, 0.2], [0, 2]), ValueError, "0/1"),
        (lambda: KM.gaussian_kernel(np.ones((2, 2)), np.ones((2, 2)), 0.0), ValueError, "sigma"),
        (lambda: KM.two_moons(key=None, n=5), TypeError, "key"),
        (
            lambda: KM.ridge_comparison(
                [0.0], [1.0, 2.0], [0.0], [0.0], [0.0], sigma=1.0, lam=0.1, lams=[0.1]
            ),
            ValueError,
            "same number",
        ),
    ],
)
def test_bad_input_is_rejected_with_a_clear_message(call, error, words):
    with pytest.raises(error, match=words):
        call()
