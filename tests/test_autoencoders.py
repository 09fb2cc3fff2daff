"""Tests for course_lib.autoencoders: linear AE = SVD, tanh AE on a swiss roll, masked MF."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import autoencoders as ae
from course_lib import data

KEY = jax.random.key(0)


@pytest.fixture(scope="module")
def low_rank():
    k1, k2, k3 = jax.random.split(KEY, 3)
    D = jax.random.normal(k1, (120, 5)) @ jax.random.normal(k2, (5, 15))
    return D + 0.1 * jax.random.normal(k3, (120, 15))


def test_truncated_svd_matches_numpy_and_eckart_young(low_rank):
    U, V = ae.truncated_svd(low_rank, 5)
    D = np.asarray(low_rank)
    _, s, Vt = np.linalg.svd(D)
    np.testing.assert_allclose(np.asarray(V.T @ V), np.eye(5), atol=1e-10)
    err = np.sum((D - np.asarray(U @ V.T)) ** 2)
    np.testing.assert_allclose(err, np.sum(s[5:] ** 2), rtol=1e-10)
    np.testing.assert_allclose(float(ae.svd_error(D, 5)), np.sum(s[5:] ** 2), rtol=1e-10)
    assert float(jnp.max(ae.principal_angles(V, Vt[:5].T))) < 1e-6


def test_svd_error_accepts_traced_k(low_rank):
    f = jax.jit(ae.svd_error)
    s = np.linalg.svd(np.asarray(low_rank), compute_uv=False)
    for k in (1, 3, 7):
        np.testing.assert_allclose(float(f(low_rank, k)), np.sum(s[k:] ** 2), rtol=1e-10)


def test_pca_matches_sklearn():
    from sklearn.decomposition import PCA

    X = np.asarray(data.swiss_roll(key=KEY, n=200).X)
    scores, comps, mean = ae.pca(X, 2)
    ref = PCA(2).fit(X)
    np.testing.assert_allclose(np.asarray(mean), ref.mean_, atol=1e-12)
    # components agree up to sign
    np.testing.assert_allclose(
        np.abs(np.asarray(comps.T @ ref.components_.T)), np.eye(2), atol=1e-8
    )
    np.testing.assert_allclose(np.abs(np.asarray(scores)), np.abs(ref.transform(X)), atol=1e-8)


def test_principal_angles_of_known_planes():
    A = jnp.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    t = 0.3
    B = jnp.array([[1.0, 0.0], [0.0, np.cos(t)], [0.0, np.sin(t)]])
    np.testing.assert_allclose(np.asarray(ae.principal_angles(A, B)), [0.0, t], atol=1e-7)
    with pytest.raises(ValueError, match="`A` and `B` must have the same shape"):
        ae.principal_angles(A, B[:, :1])


@pytest.mark.parametrize("tied", [False, True])
def test_linear_autoencoder_reaches_the_svd(low_rank, tied):
    params, hist = ae.fit_linear(low_rank, key=KEY, k=5, tied=tied)
    err = float(ae.linear_loss(params, low_rank, tied=tied))
    best = float(ae.svd_error(low_rank, 5))
    # the SVD is the optimum: no fit goes below it beyond float64 round-off (err can reach it)
    assert best * (1 - 1e-12) <= err <= best * (1 + 1e-3)
    assert float(hist[-1]) < float(hist[0])
    _, V_svd = ae.truncated_svd(low_rank, 5)
    assert float(jnp.max(ae.principal_angles(params.V, V_svd))) < 1e-2
    if tied:  # Eq 2.41: tied weights give orthonormal columns
        assert float(jnp.max(jnp.abs(params.V.T @ params.V - jnp.eye(5)))) < 1e-3
    else:  # Eq 2.39: the trained encoder is (close to) the pseudo-inverse of the decoder
        # (on the data: directions the data barely uses are barely constrained)
        W_opt = ae.optimal_encoder(params.V)
        codes, codes_opt = low_rank @ params.W.T, low_rank @ W_opt.T
        rel = jnp.linalg.norm(codes - codes_opt) / jnp.linalg.norm(codes_opt)
        assert float(rel) < 1e-2
        assert float(jnp.max(jnp.abs(params.W @ params.V - jnp.eye(5)))) < 1e-2


def test_optimal_encoder_is_pinv_and_minimizes_over_w(low_rank):
    V = jax.random.normal(KEY, (15, 4))
    W = ae.optimal_encoder(V)
    np.testing.assert_allclose(np.asarray(W), np.linalg.pinv(np.asarray(V)), atol=1e-10)
    # Exercise 2.14(a): the gradient w.r.t. W vanishes at W for any data
    g = jax.grad(ae.linear_loss)(ae.LinearAutoencoder(W, V), low_rank).W
    assert float(jnp.max(jnp.abs(g))) < 1e-8


def test_linear_loss_gradient_against_finite_differences(low_rank, fd_gradient):
    params = ae.init_linear(key=KEY, d=15, k=3)
    D = low_rank[:10]
    g = jax.grad(ae.linear_loss)(params, D)
    fd = fd_gradient(
        lambda W: ae.linear_loss(ae.LinearAutoencoder(jnp.asarray(W), params.V), D), params.W
    )
    np.testing.assert_allclose(np.asarray(g.W), fd, rtol=1e-6, atol=1e-5)


def test_masked_k_does_not_recompile_and_matches_svd_error(low_rank):
    before = ae.fit_linear_cache_size()
    errors = []
    for k in (2, 4):
        p, _ = ae.fit_linear(low_rank, key=KEY, k=6, k_active=k)
        mask = ae.code_mask(k, 6)
        errors.append(float(ae.linear_loss(p, low_rank, code_mask=mask)))
    assert ae.fit_linear_cache_size() <= before + 1
    for k, err in zip((2, 4), errors, strict=True):
        best = float(ae.svd_error(low_rank, k))
        assert best <= err * (1 + 1e-9) and err <= best * 1.01


def test_fit_linear_errors(low_rank):
    with pytest.raises(ValueError, match="`k` must be at most"):
        ae.fit_linear(low_rank, key=KEY, k=16)
    with pytest.raises(ValueError, match="`k_active` must lie in"):
        ae.fit_linear(low_rank, key=KEY, k=3, k_active=5)
    with pytest.raises(TypeError, match="`key` is required"):
        ae.fit_linear(low_rank, key=None, k=3)
    with pytest.raises(ValueError, match="`D` must be 2-dimensional"):
        ae.fit_linear(low_rank[0], key=KEY, k=1)
    with pytest.raises(ValueError, match="`D` contains 1 NaN"):
        ae.fit_linear(low_rank.at[0, 0].set(jnp.nan), key=KEY, k=1)


def test_tanh_autoencoder_beats_pca_on_swiss_roll():
    X = data.swiss_roll(key=KEY, n=400).X
    scores, comps, mean = ae.pca(X, 2)
    pca_mse = float(jnp.mean((X - mean[None, :] - scores @ comps.T) ** 2))
    params, hist = ae.fit_mlp(X, key=KEY, sizes=(3, 32, 32, 2, 32, 32, 3), steps=2000)
    mse = float(ae.mlp_loss(params, X))
    assert mse < 0.5 * pca_mse
    assert ae.mlp_encode(params, X).shape == (400, 2)


def test_init_mlp_errors():
    with pytest.raises(ValueError, match="`sizes` must be symmetric-length and odd"):
        ae.init_mlp(key=KEY, sizes=(3, 2))
    with pytest.raises(ValueError, match="`sizes` must start and end"):
        ae.fit_mlp(jnp.ones((5, 3)), key=KEY, sizes=(4, 2, 4))


# ------------------------------------------------------------------------------ recommender


@pytest.fixture(scope="module")
def small_mf():
    k1, k2, k3, k4 = jax.random.split(KEY, 4)
    U = jax.random.normal(k1, (6, 3))
    V = jax.random.normal(k2, (5, 3))
    R = jax.random.normal(k3, (6, 5))
    mask = jax.random.bernoulli(k4, 0.5, (6, 5)).astype(R.dtype)
    return U, V, R, mask


def test_masked_grad_is_autodiff_and_fd(small_mf, fd_gradient):
    U, V, R, mask = small_mf
    gU, gV = ae.masked_mf_grad(U, V, R, mask, 0.3)
    aU, aV = jax.grad(ae.masked_mf_loss, argnums=(0, 1))(U, V, R, mask, 0.3)
    np.testing.assert_allclose(np.asarray(gU), np.asarray(aU), atol=1e-12)
    np.testing.assert_allclose(np.asarray(gV), np.asarray(aV), atol=1e-12)
    fd = fd_gradient(lambda u: ae.masked_mf_loss(jnp.asarray(u), V, R, mask, 0.3), U)
    np.testing.assert_allclose(np.asarray(gU), fd, rtol=1e-6, atol=1e-8)


def test_missing_entries_do_not_reach_the_gradient(small_mf):
    U, V, R, mask = small_mf
    R_nan = jnp.where(mask > 0, R, jnp.nan)  # missing = NaN: must not leak
    gR = jax.grad(ae.masked_mf_loss, argnums=2)(U, V, R, mask, 0.1)
    assert float(jnp.max(jnp.abs(gR * (1 - mask)))) == 0.0
    gU, gV = jax.grad(ae.masked_mf_loss, argnums=(0, 1))(U, V, R_nan, mask, 0.1)
    assert bool(jnp.all(jnp.isfinite(gU))) and bool(jnp.all(jnp.isfinite(gV)))
    # changing a missing rating changes nothing
    R2 = R + 5.0 * (1 - mask)
    np.testing.assert_allclose(
        np.asarray(ae.masked_mf_grad(U, V, R2, mask, 0.1)[0]),
        np.asarray(ae.masked_mf_grad(U, V, R, mask, 0.1)[0]),
    )


def test_element_wise_update_is_a_gradient_step(fd_gradient):
    k1, k2 = jax.random.split(KEY)
    u, v = jax.random.normal(k1, (4,)), jax.random.normal(k2, (4,))
    r, lr, lam = jnp.array(2.5), 0.1, 0.2
    new_u, new_v = ae.mf_entry_update(u, v, r, lr, lam)
    gu, gv = jax.grad(ae.mf_entry_loss, argnums=(0, 1))(u, v, r, lam)
    np.testing.assert_allclose(np.asarray(new_u), np.asarray(u - lr * gu), atol=1e-12)
    np.testing.assert_allclose(np.asarray(new_v), np.asarray(v - lr * gv), atol=1e-12)
    fd = fd_gradient(lambda a: ae.mf_entry_loss(jnp.asarray(a), v, r, lam), u)
    np.testing.assert_allclose(np.asarray((u - new_u) / lr), fd, rtol=1e-6, atol=1e-8)
    # the same step on the whole-matrix loss with a one-entry mask, regularizing only u and v
    U = jnp.zeros((3, 4)).at[1].set(u)
    V = jnp.zeros((2, 4)).at[0].set(v)
    mask = jnp.zeros((3, 2)).at[1, 0].set(1.0)
    R = jnp.zeros((3, 2)).at[1, 0].set(r)
    gU, gV = ae.masked_mf_grad(U, V, R, mask, lam)
    np.testing.assert_allclose(np.asarray(u - lr * gU[1]), np.asarray(new_u), atol=1e-12)
    np.testing.assert_allclose(np.asarray(v - lr * gV[0]), np.asarray(new_v), atol=1e-12)


def test_element_wise_update_against_numpy_loop():
    rng = np.random.default_rng(0)
    u, v, r = rng.normal(size=3), rng.normal(size=3), 1.5
    lr, lam = 0.05, 0.1
    exp_u, exp_v = u.copy(), v.copy()
    e = r - sum(u[q] * v[q] for q in range(3))
    for q in range(3):  # the book's per-coordinate form (L4283)
        exp_u[q] = u[q] * (1 - lr * lam) + lr * e * v[q]
        exp_v[q] = v[q] * (1 - lr * lam) + lr * e * u[q]
    got = ae.mf_entry_update(jnp.asarray(u), jnp.asarray(v), jnp.asarray(r), lr, lam)
    np.testing.assert_allclose(np.asarray(got[0]), exp_u, atol=1e-12)
    np.testing.assert_allclose(np.asarray(got[1]), exp_v, atol=1e-12)


def test_fit_mf_recovers_held_out_ratings():
    r = data.planted_ratings(key=KEY)
    res = ae.fit_mf(jnp.where(r.mask > 0, r.R, jnp.nan), r.mask, key=KEY, rank=3, epochs=150)
    test = float(ae.rmse(res.predict(), r.R, r.test_mask))
    baseline = float(ae.rmse(jnp.full_like(r.R, res.mu), r.R, r.test_mask))
    assert test < 0.5 * baseline
    assert float(res.train_rmse[-1]) < float(res.train_rmse[0])
    np.testing.assert_allclose(
        float(res.mu), float(np.mean(np.asarray(r.R)[np.asarray(r.mask) > 0]))
    )


def test_fit_mf_errors():
    R = jnp.ones((3, 4))
    with pytest.raises(ValueError, match="`mask` must have the shape of `R`"):
        ae.fit_mf(R, jnp.ones((4, 3)), key=KEY, rank=1)
    with pytest.raises(ValueError, match="observes no entry"):
        ae.fit_mf(R, jnp.zeros((3, 4)), key=KEY, rank=1)
    with pytest.raises(ValueError, match="`lam` must be non-negative"):
        ae.fit_mf(R, jnp.ones((3, 4)), key=KEY, rank=1, lam=-1.0)


def test_rmse_against_numpy():
    rng = np.random.default_rng(1)
    P, R = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
    M = (rng.uniform(size=(4, 5)) < 0.5).astype(float)
    exp = np.sqrt(((P - R) ** 2)[M > 0].mean())
    np.testing.assert_allclose(float(ae.rmse(P, R, M)), exp, rtol=1e-12)


def test_logistic_mf_loss_is_bernoulli_nll():
    rng = np.random.default_rng(2)
    U, V = rng.normal(size=(4, 2)), rng.normal(size=(3, 2))
    B = (rng.uniform(size=(4, 3)) < 0.5).astype(float)
    P = 1 / (1 + np.exp(-U @ V.T))
    exp = -np.sum(B * np.log(P) + (1 - B) * np.log(1 - P))
    np.testing.assert_allclose(float(ae.logistic_mf_loss(U, V, B, 1 - B)), exp, rtol=1e-10)


def test_fit_linear_sweep_rows_are_the_masked_fits():
    X = jnp.asarray(data.digits().X[:80])
    D = X - X.mean(axis=0, keepdims=True)
    params, history = ae.fit_linear_sweep(D, key=jax.random.key(4), k_max=5, steps=40)
    assert params.W.shape == (5, 5, 64) and params.V.shape == (5, 64, 5)
    assert history.shape == (5, 40)
    for k in (1, 3, 5):
        alone, h = ae.fit_linear(D, key=jax.random.key(4), k=5, k_active=k, steps=40)
        np.testing.assert_allclose(params.V[k - 1], alone.V, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(history[k - 1], h, rtol=1e-4)
    # more active units, less error at the end
    assert np.all(np.diff(np.asarray(history[:, -1])) < 0)
    with pytest.raises(ValueError, match="k_max"):
        ae.fit_linear_sweep(D, key=jax.random.key(4), k_max=65, steps=5)
