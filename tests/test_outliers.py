"""course_lib.outliers: the scores against NumPy sums, the PCA reconstruction against NumPy's
SVD and autoencoders.pca (float64) with a traced rank (no recompile), the corruptions (rows
replaced, a column permuted), precision at k, determinism, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import autoencoders, outliers

RNG = np.random.default_rng(0)


def test_scores_are_row_and_column_sums_of_squared_residuals():
    D, Dh = RNG.normal(size=(6, 4)), RNG.normal(size=(6, 4))
    with jax.enable_x64(True):
        rows, cols = outliers.outlier_scores(D, Dh)
    R = [[(D[i, j] - Dh[i, j]) ** 2 for j in range(4)] for i in range(6)]
    np.testing.assert_allclose(rows, [sum(r) for r in R], rtol=1e-12)
    np.testing.assert_allclose(cols, [sum(R[i][j] for i in range(6)) for j in range(4)], rtol=1e-12)


def test_pca_reconstruction_equals_numpy_svd_and_autoencoders_pca():
    with jax.enable_x64(True):
        D = RNG.normal(size=(20, 6)) @ RNG.normal(size=(6, 6))
        for k in (1, 3, 6):
            mean = D.mean(axis=0)
            U, s, Vt = np.linalg.svd(D - mean, full_matrices=False)
            expected = mean + (U[:, :k] * s[:k]) @ Vt[:k]
            got = outliers.pca_reconstruction(D, k)
            np.testing.assert_allclose(got, expected, atol=1e-10)
            scores, comps, mu = autoencoders.pca(D, k)
            np.testing.assert_allclose(got, mu[None, :] + scores @ comps.T, atol=1e-10)
        np.testing.assert_allclose(outliers.pca_reconstruction(D, 6), D, atol=1e-10)


def test_pca_rank_is_traced():
    D = jnp.asarray(RNG.normal(size=(10, 5)), jnp.float32)
    outliers.pca_reconstruction(D, 2)
    n = outliers._pca_reconstruction._cache_size()
    outliers.pca_reconstruction(D, 4)
    assert outliers._pca_reconstruction._cache_size() == n


def test_inject_rows_and_shuffle_column():
    D = jnp.asarray(RNG.normal(size=(30, 5)), jnp.float32)
    new = jnp.full((4, 5), 9.0)
    out, where = outliers.inject_rows(D, new, key=jax.random.key(1))
    again, where2 = outliers.inject_rows(D, new, key=jax.random.key(1))
    np.testing.assert_array_equal(out, again)
    np.testing.assert_array_equal(where, where2)
    assert len(set(np.asarray(where).tolist())) == 4
    np.testing.assert_array_equal(out[where], new)
    keep = np.setdiff1d(np.arange(30), np.asarray(where))
    np.testing.assert_array_equal(out[keep], D[keep])
    sh = outliers.shuffle_column(D, 2, key=jax.random.key(2))
    np.testing.assert_array_equal(np.sort(sh[:, 2]), np.sort(D[:, 2]))
    assert not np.array_equal(sh[:, 2], D[:, 2])
    np.testing.assert_array_equal(np.delete(np.asarray(sh), 2, 1), np.delete(np.asarray(D), 2, 1))


def test_precision_at_k_and_the_scores_find_planted_outliers():
    assert outliers.precision_at_k(jnp.array([0.1, 5.0, 3.0, 0.2]), [1, 3], 2) == 0.5
    low_rank = RNG.normal(size=(200, 2)) @ RNG.normal(size=(2, 10))
    D, where = outliers.inject_rows(low_rank, RNG.normal(size=(5, 10)) * 3, key=jax.random.key(3))
    rows, _ = outliers.outlier_scores(D, outliers.pca_reconstruction(D, 2))
    assert outliers.precision_at_k(rows, where, 5) == 1.0


def test_autoencoder_reconstruction_beats_the_mean_and_does_not_recompile():
    D = jnp.asarray(RNG.normal(size=(64, 3)) @ RNG.normal(size=(3, 8)), jnp.float32)
    Dh = outliers.autoencoder_reconstruction(D, key=jax.random.key(0), code=3, steps=300, lr=0.02)
    assert Dh.shape == D.shape
    base = float(jnp.mean((D - D.mean(0, keepdims=True)) ** 2))
    assert float(jnp.mean((D - Dh) ** 2)) < 0.5 * base
    again = outliers.autoencoder_reconstruction(
        D, key=jax.random.key(0), code=3, steps=300, lr=0.02
    )
    np.testing.assert_array_equal(Dh, again)
    n = outliers._fit_autoencoder._cache_size()
    outliers.autoencoder_reconstruction(D, key=jax.random.key(1), code=3, steps=300, lr=0.01)
    assert outliers._fit_autoencoder._cache_size() == n, "the rate is traced"


def test_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        outliers.outlier_scores(jnp.zeros((3, 2)), jnp.zeros((2, 3)))
    with pytest.raises(ValueError, match="`k` must be at most"):
        outliers.pca_reconstruction(jnp.ones((4, 3)), 5)
    with pytest.raises(ValueError, match="`rows` must be"):
        outliers.inject_rows(jnp.zeros((4, 3)), jnp.zeros((2, 5)), key=jax.random.key(0))
    with pytest.raises((TypeError, ValueError), match="code"):
        outliers.autoencoder_reconstruction(jnp.ones((4, 3)), key=jax.random.key(0), code=0)
    with pytest.raises(ValueError, match="`column`"):
        outliers.shuffle_column(jnp.zeros((4, 3)), 3, key=jax.random.key(0))
