"""course_lib.regularized_autoencoders: sparse, de-noising and contractive autoencoders (§4.10).

Oracles: NumPy loops (top-k, the Jacobian formula), jax.jacfwd / jax.grad, central finite
differences in float64, Monte Carlo (the linear DAE's expected loss) and closed forms (ridge).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import autoencoders, data
from course_lib import regularized_autoencoders as ra


def _params(key, d=5, k=4, scale=0.8):
    p = ra.init(key=jax.random.key(key), d=d, k=k)
    kb, kc = jax.random.split(jax.random.key(key + 100))
    return ra.Autoencoder(
        p.W * scale / math.sqrt(2.0 / (d + k)),
        0.5 * jax.random.normal(kb, (k,)),
        p.V,
        0.3 * jax.random.normal(kc, (d,)),
    )


# ------------------------------------------------------------------------------ top-k


@pytest.mark.parametrize("k", [1, 3, 7])
def test_top_k_keeps_exactly_the_k_largest_of_each_row(k):
    h = np.asarray(jax.random.normal(jax.random.key(k), (6, 7)))
    got = np.asarray(ra.top_k_activation(h, k))
    expected = np.zeros_like(h)
    for r in range(h.shape[0]):  # a NumPy loop: sort, keep the k largest
        keep = np.argsort(-h[r], kind="stable")[:k]
        expected[r, keep] = h[r, keep]
    np.testing.assert_array_equal(got, expected)
    assert np.all(np.count_nonzero(got, axis=1) == k)


def test_top_k_gradient_is_zero_for_the_dropped_units():
    h = jax.random.uniform(jax.random.key(1), (4, 9)) + 0.1  # positive, as after a ReLU
    w = jax.random.normal(jax.random.key(2), (4, 9))
    g = np.asarray(jax.grad(lambda v: jnp.sum(w * ra.top_k_activation(v, 3)))(h))
    mask = np.asarray(ra.top_k_mask(h, 3))
    np.testing.assert_allclose(g, np.asarray(w) * mask, rtol=0, atol=0)
    assert np.all(g[mask == 0] == 0) and np.all(g[mask == 1] != 0)


def test_top_k_traced_k_compiles_once():
    f = jax.jit(ra.top_k_activation)
    h = jax.random.normal(jax.random.key(3), (2, 10))
    counts = [int(np.count_nonzero(np.asarray(f(h, jnp.asarray(k)))[0])) for k in range(1, 11)]
    assert counts == list(range(1, 11))
    assert f._cache_size() <= 1


def test_l1_activity_is_the_mean_row_l1_norm():
    H = np.array([[1.0, -2.0, 0.0], [0.5, 0.5, -0.5]])
    assert float(ra.l1_activity(H)) == pytest.approx((3.0 + 1.5) / 2)


# ------------------------------------------------------------------------------ corruption


@pytest.mark.parametrize(("fraction", "d"), [(0.27, 10), (0.5, 64), (0.0, 8), (1.0, 8), (0.3, 10)])
def test_masking_zeroes_exactly_floor_f_d_entries_per_row(fraction, d):
    X = jax.random.uniform(jax.random.key(4), (50, d)) + 0.5  # no zeros to start with
    Xm = np.asarray(ra.masking_noise(X, key=jax.random.key(5), fraction=fraction))
    zeros = np.sum(Xm == 0, axis=1)
    assert np.all(zeros == math.floor(round(fraction * d, 9)))
    kept = Xm != 0
    np.testing.assert_array_equal(Xm[kept], np.asarray(X)[kept])  # the rest is untouched


def test_masking_picks_every_position_equally_often_and_rows_differ():
    X = jnp.ones((4000, 10))
    Xm = np.asarray(ra.masking_noise(X, key=jax.random.key(6), fraction=0.3))
    freq = np.mean(Xm == 0, axis=0)
    se = math.sqrt(0.3 * 0.7 / 4000)
    assert np.all(np.abs(freq - 0.3) < 5 * se)
    assert len({tuple(r) for r in (Xm[:50] == 0)}) > 40  # not one mask for every row


def test_salt_and_pepper_values_are_low_or_high_at_the_corrupted_positions():
    X = jax.random.uniform(jax.random.key(7), (200, 20), minval=0.2, maxval=0.8)
    Xs = np.asarray(ra.salt_and_pepper(X, key=jax.random.key(8), fraction=0.25, low=-1.0, high=2.0))
    changed = Xs != np.asarray(X)
    assert np.all(changed.sum(axis=1) == 5)
    assert set(np.unique(Xs[changed]).tolist()) == {-1.0, 2.0}
    share_high = np.mean(Xs[changed] == 2.0)
    assert abs(share_high - 0.5) < 5 * math.sqrt(0.25 / changed.sum())  # a fair coin


def test_gaussian_noise_has_the_requested_variance():
    X = jnp.zeros((20000, 3))
    Xn = np.asarray(ra.gaussian_noise(X, key=jax.random.key(9), variance=0.25))
    assert abs(Xn.var() - 0.25) < 0.01 and abs(Xn.mean()) < 0.01


def test_same_key_same_corruption():
    X = jax.random.uniform(jax.random.key(10), (5, 8))
    for f in (ra.masking_noise, ra.salt_and_pepper):
        a = f(X, key=jax.random.key(1), fraction=0.5)
        np.testing.assert_array_equal(a, f(X, key=jax.random.key(1), fraction=0.5))
        assert not np.array_equal(a, f(X, key=jax.random.key(2), fraction=0.5))


# ------------------------------------------------------------------------------ contractive


def test_sigmoid_jacobian_is_w_ij_h_j_1_minus_h_j():
    p = _params(0)
    x = jax.random.normal(jax.random.key(11), (5,))
    J = np.asarray(ra.encoder_jacobian(p, x, "sigmoid"))  # (k, d)
    W, b = np.asarray(p.W), np.asarray(p.b)
    h = 1 / (1 + np.exp(-(np.asarray(x) @ W + b)))
    expected = np.array([[W[i, j] * h[j] * (1 - h[j]) for i in range(5)] for j in range(4)])
    np.testing.assert_allclose(J, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("activation", ra.ACTIVATIONS)
def test_closed_form_penalty_equals_the_autodiff_jacobian(activation):
    p = _params(1)
    X = jax.random.normal(jax.random.key(12), (7, 5))
    np.testing.assert_allclose(
        ra.contractive_penalty(p, X, activation),
        ra.contractive_penalty_autodiff(p, X, activation),
        rtol=1e-12,
    )


def test_hand_gradients_equal_jax_grad_and_finite_differences(fd_gradient):
    p = _params(2)
    x = jax.random.normal(jax.random.key(13), (5,))
    lam = 0.7
    hand = ra.contractive_grads_one(p, x, lam)
    auto = jax.grad(ra.contractive_loss_one)(p, x, lam)
    for name in ("W", "b", "V", "c"):
        np.testing.assert_allclose(getattr(hand, name), getattr(auto, name), rtol=1e-10, atol=1e-12)

        def f(v, name=name):
            return ra.contractive_loss_one(p._replace(**{name: jnp.asarray(v)}), x, lam)

        fd = fd_gradient(f, np.asarray(getattr(p, name)))
        np.testing.assert_allclose(getattr(hand, name), fd, rtol=1e-6, atol=1e-8)


def test_identity_activation_reduces_to_eq_4_15():
    p = _params(3)
    X = jax.random.normal(jax.random.key(14), (6, 5))
    lam = 0.3
    J = ra.loss(p, X, X, activation="identity", contraction=lam)
    Xn, W, V = np.asarray(X), np.asarray(p.W), np.asarray(p.V)
    recon = np.mean(np.sum((Xn - (Xn @ W + np.asarray(p.b)) @ V - np.asarray(p.c)) ** 2, axis=1))
    np.testing.assert_allclose(J, recon + lam / 2 * np.sum(W**2), rtol=1e-12)


def test_relu_penalty_is_l2_on_the_active_units_weights(fd_gradient):
    """Exercise 4.5: dR/dw_ij = w_ij * (share of examples on which unit j is active)."""
    p = _params(4)
    X = jax.random.normal(jax.random.key(15), (9, 5))
    active = np.asarray(X @ p.W + p.b[None, :] > 0, dtype=float)  # (n, k)
    W = np.asarray(p.W)
    R = 0.5 * np.mean(active @ np.sum(W**2, axis=0))
    np.testing.assert_allclose(ra.contractive_penalty(p, X, "relu"), R, rtol=1e-12)
    g = jax.grad(lambda W_: ra.contractive_penalty(p._replace(W=W_), X, "relu"))(p.W)
    np.testing.assert_allclose(g, W * active.mean(axis=0)[None, :], rtol=1e-12)
    fd = fd_gradient(lambda W_: ra.contractive_penalty(p._replace(W=jnp.asarray(W_)), X, "relu"), W)
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-9)


# ------------------------------------------------------------------------------ linear DAE


def test_linear_dae_expected_loss_matches_monte_carlo():
    kx, ka, kb, ke = jax.random.split(jax.random.key(16), 4)
    X = np.asarray(jax.random.normal(kx, (20, 6)))
    A = np.asarray(jax.random.normal(ka, (3, 6))) * 0.4
    B = np.asarray(jax.random.normal(kb, (6, 3))) * 0.4
    lam = 0.5
    eps = np.asarray(jax.random.normal(ke, (20000, 20, 6)))
    noisy = X[None] + math.sqrt(lam) * eps
    losses = np.sum((X[None] - noisy @ A.T @ B.T) ** 2, axis=2).mean(axis=1)
    mc, se = losses.mean(), losses.std() / math.sqrt(losses.size)
    exact = float(ra.linear_dae_expected_loss(A, B, X, lam))
    assert abs(mc - exact) < 4 * se


def test_linear_dae_optimum_is_ridge_at_full_rank_and_stationary_at_rank_k():
    X = np.asarray(
        jax.random.normal(jax.random.key(17), (40, 5)) * jnp.array([[3.0, 2, 1, 0.5, 0.2]])
    )
    lam = 0.7
    C = X.T @ X / 40
    M, gains = ra.linear_dae_optimum(X, 5, lam)
    np.testing.assert_allclose(M, np.linalg.solve(C + lam * np.eye(5), C), rtol=1e-9, atol=1e-12)
    M2, g2 = ra.linear_dae_optimum(X, 2, lam)
    v, Q = np.linalg.eigh(C)
    Q2 = Q[:, ::-1][:, :2]
    A, B = np.diag(np.asarray(g2)) @ Q2.T, Q2  # one factorization of M2
    np.testing.assert_allclose(B @ A, M2, atol=1e-12)
    gA, gB = jax.grad(lambda ab: ra.linear_dae_expected_loss(ab[0], ab[1], X, lam))((A, B))
    assert float(jnp.max(jnp.abs(gA))) < 1e-10 and float(jnp.max(jnp.abs(gB))) < 1e-10
    best = float(ra.linear_dae_expected_loss(A, B, X, lam))
    for s in range(5):  # nearby rank-2 maps are worse
        dA = 0.05 * np.asarray(jax.random.normal(jax.random.key(s), A.shape))
        assert float(ra.linear_dae_expected_loss(A + dA, B, X, lam)) > best


def test_trained_linear_dae_finds_the_shrunk_pca_subspace():
    X = data.digits().X[:300]
    X = X - X.mean(axis=0)[None, :]
    A, B, hist = ra.fit_linear_dae(X, key=jax.random.key(18), k=3, lam=0.2, copies=4, steps=1500)
    M, gains = ra.linear_dae_optimum(X, 3, 0.2)
    _, comps, _ = autoencoders.pca(X, 3)
    assert float(jnp.max(autoencoders.principal_angles(B, comps))) < math.radians(2)
    s = jnp.linalg.svd(B @ A, compute_uv=False)[:3]
    np.testing.assert_allclose(s, gains, atol=0.02)
    assert float(hist[-1]) < float(hist[0])


# ------------------------------------------------------------------------------ training


def test_dae_pulls_noisy_points_back_to_the_circle_and_never_recompiles():
    clean, _ = ra.noisy_circle(key=jax.random.key(19), n=200, noise=0.15)
    _, test_noisy = ra.noisy_circle(key=jax.random.key(20), n=200, noise=0.15)
    before = None
    for var in (0.0225, 0.03):
        p, hist = ra.fit(
            clean, key=jax.random.key(21), hidden=32, activation="tanh", noise_level=var,
            steps=1500, lr=0.01,
        )  # fmt: skip
        rec = ra.reconstruct(p, test_noisy, "tanh")
        assert float(ra.distance_to_circle(rec).mean()) < 0.5 * float(
            ra.distance_to_circle(test_noisy).mean()
        )
        assert float(hist[-1]) < float(hist[0])
        before = ra.fit_cache_size() if before is None else before
    assert ra.fit_cache_size() == before


def test_fit_is_deterministic_under_a_fixed_key():
    X = jax.random.uniform(jax.random.key(22), (30, 6))
    a, _ = ra.fit(X, key=jax.random.key(1), hidden=4, noise="masking", noise_level=0.3, steps=20)
    b, _ = ra.fit(X, key=jax.random.key(1), hidden=4, noise="masking", noise_level=0.3, steps=20)
    np.testing.assert_array_equal(a.W, b.W)


def test_shapes_of_init_and_apply():
    p = ra.init(key=jax.random.key(0), d=7, k=3)
    assert (p.W.shape, p.b.shape, p.V.shape, p.c.shape) == ((7, 3), (3,), (3, 7), (7,))
    X = jnp.ones((5, 7))
    assert ra.encode(p, X).shape == (5, 3) and ra.reconstruct(p, X).shape == (5, 7)


# ------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: ra.masking_noise(jnp.ones((3, 4)), key=jax.random.key(0), fraction=1.5),
         ValueError, "`fraction` must lie in"),
        (lambda: ra.masking_noise(jnp.ones(4), key=jax.random.key(0), fraction=0.5),
         ValueError, "`X`"),
        (lambda: ra.masking_noise(jnp.ones((3, 4)), key=None, fraction=0.5), TypeError, "`key`"),
        (lambda: ra.salt_and_pepper(jnp.ones((3, 4)), key=jax.random.key(0), fraction=0.5,
                                    low=1.0, high=0.0), ValueError, "`low` must be smaller"),
        (lambda: ra.gaussian_noise(jnp.ones((3, 4)), key=jax.random.key(0), variance=-1.0),
         ValueError, "`variance`"),
        (lambda: ra.fit(jnp.ones((3, 4)), key=jax.random.key(0), hidden=2, activation="softsign"),
         ValueError, "activation"),
        (lambda: ra.fit(jnp.ones((3, 4)), key=jax.random.key(0), hidden=2, top_k=5),
         ValueError, "`top_k`"),
        (lambda: ra.fit(jnp.array([[1.0, np.nan]]), key=jax.random.key(0), hidden=2),
         ValueError, "`X`"),
        (lambda: ra.fit(jnp.ones((3, 4)), key=jax.random.key(0), hidden=0), ValueError, "`hidden`"),
        (lambda: ra.linear_dae_expected_loss(jnp.ones((2, 3)), jnp.ones((2, 3)), jnp.ones((5, 3)),
                                             0.1), ValueError, "`A` must be"),
        (lambda: ra.linear_dae_optimum(jnp.ones((5, 3)), 4, 0.1), ValueError, "`k`"),
        (lambda: ra.top_k_activation("abc", 2), TypeError, "`h`"),
    ],
)  # fmt: skip
def test_bad_input_is_rejected_with_a_clear_message(call, error, match):
    with pytest.raises(error, match=match):
        call()
