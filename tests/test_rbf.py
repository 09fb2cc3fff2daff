"""course_lib.rbf: the RBF layer, bandwidth rules, output layer, OLS, supervised gradients."""

from __future__ import annotations

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import rbf

KEY = jax.random.key(0)
SQUARE = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])


def _problem(n=40, d=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = np.sin(2 * X[:, 0]) + 0.5 * X[:, 1] ** 2 + 0.1 * rng.normal(size=n)
    return X, y


# ------------------------------------------------------------------------------ hidden layer


def test_activations_equal_a_numpy_loop_and_have_the_bump_properties():
    X, _ = _problem(7, 3)
    C = X[:4] + 0.3
    sig = np.array([0.5, 1.0, 2.0, 0.7])
    H = np.asarray(rbf.rbf_activations(X, C, sig))
    want = np.empty((7, 4))
    for i, j in itertools.product(range(7), range(4)):
        want[i, j] = math.exp(-np.sum((X[i] - C[j]) ** 2) / (2 * sig[j] ** 2))
    np.testing.assert_allclose(H, want, rtol=1e-12)
    # shared scalar sigma equals the broadcast vector
    np.testing.assert_allclose(rbf.rbf_activations(X, C, 0.8), rbf.rbf_activations(X, C, [0.8] * 4))
    # Phi(mu) = 1, Phi at distance sigma = e^{-1/2}, sigma = inf gives the bias unit
    np.testing.assert_allclose(np.diag(rbf.rbf_activations(C, C, sig)), 1.0)
    u = np.array([[0.6, 0.8, 0.0]])  # unit vector
    at = rbf.rbf_activations(C[:1] + 1.7 * u, C[:1], 1.7)
    assert float(at[0, 0]) == pytest.approx(math.exp(-0.5), rel=1e-12)
    np.testing.assert_array_equal(rbf.rbf_activations(X, C, np.inf), np.ones((7, 4)))


def test_predict_is_H_times_w():
    X, _ = _problem(6, 2)
    w = np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(
        rbf.predict(X, X[:3], 0.9, w), rbf.rbf_activations(X, X[:3], 0.9) @ w, rtol=1e-12
    )


def test_bandwidth_rules_on_the_unit_square():
    assert float(rbf.bandwidth(SQUARE, "max")) == pytest.approx(math.sqrt(2) / 2, rel=1e-12)
    d_ave = (4 + 2 * math.sqrt(2)) / 6
    assert float(rbf.bandwidth(SQUARE, "mean")) == pytest.approx(2 * d_ave, rel=1e-12)
    D = rbf.pairwise_distances(SQUARE)
    assert float(D.max()) == pytest.approx(math.sqrt(2))
    np.testing.assert_array_equal(np.diag(D), 0.0)
    np.testing.assert_allclose(rbf.nearest_bandwidths(SQUARE, 1), 1.0)
    np.testing.assert_allclose(rbf.nearest_bandwidths(SQUARE, 3), math.sqrt(2))


def test_nearest_bandwidths_equal_sorted_distances():
    rng = np.random.default_rng(3)
    C = rng.normal(size=(12, 3))
    for r in (1, 5, 11):
        want = [np.sort([np.linalg.norm(C[j] - C[k]) for k in range(12) if k != j])[r - 1]
                for j in range(12)]  # fmt: skip
        np.testing.assert_allclose(rbf.nearest_bandwidths(C, r), want, rtol=1e-12)


# ------------------------------------------------------------------------------ output layer


def test_ridge_pinv_lstsq_and_gd_agree():
    X, y = _problem()
    H = rbf.rbf_activations(X, X[:8], 1.0)
    w_r = rbf.ridge_output(H, y, 0.0)
    w_p = rbf.pinv_output(H, y)
    w_l = jnp.linalg.lstsq(H, y)[0]
    np.testing.assert_allclose(w_r, w_p, atol=1e-8)
    np.testing.assert_allclose(w_r, w_l, atol=1e-8)
    lam = 0.5
    w_lam = rbf.ridge_output(H, y, lam)
    np.testing.assert_allclose(
        w_lam, np.linalg.solve(H.T @ H + lam * np.eye(8), np.asarray(H).T @ y), rtol=1e-10
    )
    # the gradient of Eq 5.2 vanishes there, and equals H^T(Hw - y) + lam w anywhere
    g = jax.grad(lambda w: rbf.ridge_loss(H, y, w, lam))(w_lam)
    np.testing.assert_allclose(g, 0.0, atol=1e-10)
    w0 = jnp.linspace(-1, 1, 8)
    np.testing.assert_allclose(
        jax.grad(lambda w: rbf.ridge_loss(H, y, w, lam))(w0), H.T @ (H @ w0 - y) + lam * w0
    )
    s_max = float(np.linalg.svd(np.asarray(H), compute_uv=False)[0])
    w_gd, losses = rbf.ridge_gd(H, y, lam, lr=1.0 / (s_max**2 + lam), steps=3000)
    np.testing.assert_allclose(w_gd, w_lam, atol=1e-6)
    assert np.all(np.diff(np.asarray(losses)) <= 1e-12)


def test_pinv_is_the_inverse_for_square_invertible_H():
    X, y = _problem(10)
    H = rbf.rbf_activations(X, X, 0.7)
    np.testing.assert_allclose(rbf.pinv_output(H, y), np.linalg.solve(H, y), rtol=1e-6, atol=1e-8)


def test_masked_ridge_equals_ridge_on_the_kept_columns():
    X, y = _problem()
    H = rbf.rbf_activations(X, X[:10], 1.0)
    mask = np.arange(10) < 6
    w = rbf.masked_ridge_output(H, y, mask, 0.1)
    np.testing.assert_allclose(w[:6], rbf.ridge_output(H[:, :6], y, 0.1), rtol=1e-10)
    np.testing.assert_array_equal(w[6:], 0.0)


def test_ridge_gd_does_not_recompile_for_new_lam_or_lr():
    X, y = _problem()
    H = rbf.rbf_activations(X, X[:5], 1.0)
    rbf.ridge_gd(H, y, 0.1, lr=0.01, steps=7)
    before = rbf._ridge_gd._cache_size()
    rbf.ridge_gd(H, y, 0.3, lr=0.02, steps=7)
    assert rbf._ridge_gd._cache_size() == before


# ------------------------------------------------------------------------------ selection


def _brute_force_numpy(H, y, k):
    H, y = np.asarray(H), np.asarray(y)
    chosen = []
    for _ in range(k):
        best, best_j = np.inf, -1
        for j in range(H.shape[1]):
            if j in chosen:
                continue
            A = H[:, chosen + [j]]
            r = A @ np.linalg.lstsq(A, y, rcond=None)[0] - y
            if r @ r < best:
                best, best_j = r @ r, j
        chosen.append(best_j)
    return chosen


@pytest.mark.parametrize("seed", [0, 1])
def test_ols_greedy_and_a_numpy_brute_force_pick_the_same_sequence(seed):
    X, y = _problem(40, 2, seed)
    H = rbf.rbf_activations(X, X, 0.8)
    o_ols, sse_ols = rbf.ols_select(H, y, 8)
    o_gr, sse_gr = rbf.greedy_select(H, y, 8)
    assert o_ols.tolist() == o_gr.tolist() == _brute_force_numpy(H, y, 8)
    np.testing.assert_allclose(sse_ols, sse_gr, rtol=1e-8)
    assert np.all(np.diff(np.asarray(sse_ols)) < 0)
    tr, va = rbf.selection_errors(H, y, H, y, o_ols)
    np.testing.assert_allclose(tr, np.asarray(sse_ols) / 40, rtol=1e-8)
    np.testing.assert_allclose(tr, va)


# ------------------------------------------------------------------------------ supervised


def _params(seed=0):
    X, y = _problem(25, 2, seed)
    C = X[:5] + 0.1
    sig = np.array([0.6, 0.9, 1.2, 0.8, 1.0])
    w = np.array([1.0, -0.5, 0.7, 0.3, -1.2])
    return rbf.RBFParams(jnp.asarray(C), jnp.asarray(sig), jnp.asarray(w)), X, y


def test_hand_gradients_equal_jax_grad_and_finite_differences(fd_gradient):
    p, X, y = _params()
    g = rbf.loss_gradients(p, X, y)
    auto = jax.grad(lambda q: rbf.squared_loss(q, X, y))(p)
    for a, b in zip(g, auto, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    fd_mu = fd_gradient(lambda C: rbf.squared_loss(p._replace(centers=C), X, y), p.centers)
    np.testing.assert_allclose(g.centers, fd_mu, rtol=1e-6, atol=1e-8)
    fd_s = fd_gradient(lambda s: rbf.squared_loss(p._replace(sigma=s), X, y), p.sigma)
    np.testing.assert_allclose(g.sigma, fd_s, rtol=1e-6, atol=1e-8)
    fd_w = fd_gradient(lambda w: rbf.squared_loss(p._replace(w=w), X, y), p.w)
    np.testing.assert_allclose(g.w, fd_w, rtol=1e-6, atol=1e-8)


def test_shared_sigma_gradient_is_the_derivative_along_a_common_bandwidth(fd_gradient):
    p, X, y = _params(1)
    p = p._replace(sigma=jnp.full(5, 0.9))
    g = rbf.shared_sigma_gradient(p, X, y)
    f = lambda s: rbf.squared_loss(p._replace(sigma=jnp.full(5, s[0])), X, y)  # noqa: E731
    np.testing.assert_allclose(g, fd_gradient(f, np.array([0.9]))[0], rtol=1e-6)
    np.testing.assert_allclose(g, jax.grad(lambda s: f(jnp.array([s])))(0.9), rtol=1e-10)


def test_train_supervised_lowers_the_loss_is_deterministic_and_does_not_recompile():
    p, X, y = _params()
    q, losses = rbf.train_supervised(p, X, y, lr=0.2, steps=200)
    assert float(losses[-1]) < float(losses[0])
    assert np.all(np.asarray(q.sigma) > 0)
    q2, _ = rbf.train_supervised(p, X, y, lr=0.2, steps=200)
    np.testing.assert_array_equal(q.centers, q2.centers)
    before = rbf._train._cache_size()
    rbf.train_supervised(p, X, y, lr=0.05, steps=200)
    assert rbf._train._cache_size() == before
    q3, _ = rbf.train_supervised(p, X, y, lr=0.2, steps=50, train_hidden=False)
    np.testing.assert_array_equal(q3.centers, p.centers)


# ------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("call", "exc", "words"),
    [
        (lambda: rbf.rbf_activations(SQUARE, SQUARE, 0.0), ValueError, "sigma"),
        (lambda: rbf.rbf_activations(SQUARE, SQUARE, [1.0, 2.0]), ValueError, "sigma"),
        (lambda: rbf.rbf_activations(SQUARE, SQUARE[:, :1], 1.0), ValueError, "centers"),
        (lambda: rbf.rbf_activations("x", SQUARE, 1.0), TypeError, "X"),
        (lambda: rbf.rbf_activations(SQUARE * np.nan, SQUARE, 1.0), ValueError, "X"),
        (lambda: rbf.bandwidth(SQUARE, "median"), ValueError, "max"),
        (lambda: rbf.bandwidth(SQUARE[:1], "max"), ValueError, "centers"),
        (lambda: rbf.nearest_bandwidths(SQUARE, 4), ValueError, "r"),
        (lambda: rbf.ridge_output(np.ones((3, 2)), np.ones(4), 0.1), ValueError, "y"),
        (lambda: rbf.ridge_output(np.ones((3, 2)), np.ones(3), -1.0), ValueError, "lam"),
        (lambda: rbf.ridge_output(np.ones((3, 2)), np.ones(3), 0.0), ValueError, "singular"),
        (lambda: rbf.ridge_gd(np.ones((3, 2)), np.ones(3), lr=0.0, steps=3), ValueError, "lr"),
        (lambda: rbf.ols_select(np.eye(3), np.ones(3), 4), ValueError, "k"),
        (lambda: rbf.masked_ridge_output(np.eye(3), np.ones(3), [1, 0, 1], 0.1), ValueError,
         "mask"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_clearly(call, exc, words):
    with pytest.raises(exc, match=words):
        call()


def test_bad_params_are_refused():
    p, X, y = _params()
    with pytest.raises(ValueError, match="sigma"):
        rbf.loss_gradients(p._replace(sigma=-p.sigma), X, y)
    with pytest.raises(ValueError, match="w"):
        rbf.squared_loss(p._replace(w=p.w[:3]), X, y)
    with pytest.raises(TypeError, match="train_hidden"):
        rbf.train_supervised(p, X, y, lr=0.1, steps=2, train_hidden="yes")


# ------------------------------------------------------------------------------ padded fit


def test_two_stage_padded_equals_kmeans_then_ridge_and_does_not_recompile():
    from course_lib import kmeans

    X, y = rbf.toy_regression(key=KEY, n=30, noise=0.2)
    assert X.shape == (30, 1) and y.shape == (30,)
    np.testing.assert_array_equal(y, rbf.toy_regression(key=KEY, n=30, noise=0.2)[1])
    C0 = kmeans.sample_prototypes(X, 8, key=jax.random.key(1))
    mask = np.arange(8) < 5
    C, w = rbf.two_stage_padded(X, y, C0, mask, 0.3, 1e-3)
    ref = kmeans.kmeans_masked(X, C0, mask, iters=15).centers
    np.testing.assert_allclose(C, ref, rtol=1e-12)
    H = rbf.rbf_activations(X, ref, 0.3)
    np.testing.assert_allclose(w, rbf.masked_ridge_output(H, y, mask, 1e-3), rtol=1e-9)
    C_raw, _ = rbf.two_stage_padded(X, y, C0, mask, 0.3, 1e-3, refine=False)
    np.testing.assert_array_equal(C_raw, C0)
    before = rbf._two_stage_padded._cache_size()
    rbf.two_stage_padded(X, y, C0, np.arange(8) < 2, 0.9, 0.1, refine=False)
    assert rbf._two_stage_padded._cache_size() == before
    with pytest.raises(ValueError, match="mask"):
        rbf.two_stage_padded(X, y, C0, mask[:4], 0.3, 1e-3)
    with pytest.raises(ValueError, match="sigma"):
        rbf.two_stage_padded(X, y, C0, mask, -0.3, 1e-3)
    np.testing.assert_allclose(rbf.target_curve(0.0), 0.5)
