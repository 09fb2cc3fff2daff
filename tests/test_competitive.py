"""course_lib.competitive: winner-take-all (Eq 10.20), vector quantization with sensitivity
(§10.5.1), the storage formula, and online k-means with alpha = 1/n_p (Exercise 10.3).

Oracles: NumPy loops over the same visiting order, exact running means, exact integers, and
scikit-learn's KMeans. Competitive learning has no gradient, so there is no gradient check.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import competitive as C


def _blobs(key, n=300, spread=0.5):
    centres = jnp.array([[-2.0, 0.0], [2.0, 0.5], [0.0, 2.5]])
    lab = jax.random.randint(jax.random.fold_in(key, 0), (n,), 0, 3)
    return centres[lab] + spread * jax.random.normal(jax.random.fold_in(key, 1), (n, 2))


def _vq_loop(W0, X, order, alpha, gamma):
    """Vector quantization written out in NumPy, one point at a time."""
    W = np.array(W0, np.float64)
    s = np.zeros(W.shape[0])
    winners = []
    for i in order:
        x = np.asarray(X[i], np.float64)
        p = int(np.argmin(np.sqrt(((W - x) ** 2).sum(1)) - s))
        W[p] += alpha * (x - W[p])
        s += gamma
        s[p] = 0.0
        winners.append(p)
    return W, s, np.array(winners)


# ------------------------------------------------------------------------------ Eq 10.20


def test_the_winner_moves_exactly_alpha_of_the_way_and_nobody_else_moves():
    with jax.enable_x64(True):
        W = jax.random.normal(jax.random.key(0), (6, 3))
        x = jnp.array([0.3, -0.1, 0.8])
        for alpha in (0.01, 0.3, 1.0):
            new, p = C.wta_step(W, x, alpha)
            p = int(p)
            assert p == int(np.argmin(np.linalg.norm(np.asarray(W) - np.asarray(x), axis=1)))
            np.testing.assert_allclose(x - new[p], (1 - alpha) * (x - W[p]), atol=1e-14)
            others = np.delete(np.arange(6), p)
            np.testing.assert_array_equal(new[others], W[others])


def test_winner_with_sensitivity():
    W = jnp.array([[0.0, 0.0], [6.0, 0.0]])
    x = jnp.array([0.5, 0.0])
    assert int(C.winner(W, x)) == 0
    assert int(C.winner(W, x, jnp.array([0.0, 4.9]))) == 0
    assert int(C.winner(W, x, jnp.array([0.0, 5.1]))) == 1


# ------------------------------------------------------------------------------ VQ


@pytest.mark.parametrize("gamma", [0.0, 0.02])
def test_vq_train_equals_a_numpy_loop(gamma):
    with jax.enable_x64(True):
        X = _blobs(jax.random.key(1), n=120)
        W0 = jax.random.uniform(jax.random.key(2), (5, 2), minval=-3.0, maxval=3.0)
        state, winners, order = C.vq_train(W0, X, key=jax.random.key(3), alpha=0.1,
                                           gamma=gamma, epochs=2)  # fmt: skip
        W, s, won = _vq_loop(W0, X, np.asarray(order), 0.1, gamma)
    assert sorted(np.asarray(order)[:120].tolist()) == list(range(120))  # a permutation per epoch
    np.testing.assert_array_equal(np.asarray(winners), won)
    np.testing.assert_allclose(state.W, W, atol=1e-12)
    np.testing.assert_allclose(state.s, s, atol=1e-12)


def test_gamma_zero_is_plain_competitive_learning():
    X = _blobs(jax.random.key(4), n=80)
    W0 = X[:4]
    state, _, order = C.vq_train(W0, X, key=jax.random.key(5), alpha=0.2, gamma=0.0)
    W = W0
    for i in np.asarray(order):
        W, _ = C.wta_step(W, X[i], 0.2)
    np.testing.assert_allclose(state.W, W, atol=1e-6)
    assert float(jnp.max(state.s)) == 0.0


def test_vq_step_resets_the_winner_and_raises_the_losers():
    state = C.vq_init(jnp.array([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0]]))
    state = state._replace(s=jnp.array([0.2, 0.0, 0.3]))
    new, p = C.vq_step(state, jnp.array([0.9, 0.0]), 0.5, 0.1)
    assert int(p) == 1
    np.testing.assert_allclose(new.s, [0.3, 0.0, 0.4], atol=1e-7)
    np.testing.assert_allclose(new.W[1], [0.95, 0.0], atol=1e-7)


def test_sensitivity_revives_dead_prototypes():
    """Dense blob + sparse strip, prototypes started in a wide box (the lecture's claim)."""
    key = jax.random.key(6)
    dense = 0.3 * jax.random.normal(jax.random.fold_in(key, 0), (800, 2)) + jnp.array([[-1.5, 0]])
    sparse = jax.random.uniform(jax.random.fold_in(key, 1), (200, 2), minval=jnp.array([[0.0, -2]]),
                                maxval=jnp.array([[4.0, 2]]))  # fmt: skip
    X = jnp.concatenate([dense, sparse])
    W0 = jax.random.uniform(jax.random.fold_in(key, 2), (10, 2), minval=-4.0, maxval=4.0)
    sizes = {}
    for gamma in (0.0, 0.05):
        st, _, _ = C.vq_train(W0, X, key=jax.random.fold_in(key, 3), alpha=0.05, gamma=gamma,
                              epochs=5)  # fmt: skip
        sizes[gamma] = np.asarray(C.cluster_sizes(st.W, X))
    assert sizes[0.0].sum() == sizes[0.05].sum() == 1000
    assert np.sum(sizes[0.0] == 0) >= 2
    assert sizes[0.05].min() >= 30


def test_vq_is_deterministic_and_does_not_recompile_for_new_rates():
    X = _blobs(jax.random.key(7), n=50)
    a = C.vq_train(X[:3], X, key=jax.random.key(8), alpha=0.1, gamma=0.01)
    b = C.vq_train(X[:3], X, key=jax.random.key(8), alpha=0.1, gamma=0.01)
    np.testing.assert_array_equal(a[0].W, b[0].W)
    before = C.vq_train_cache_size()
    C.vq_train(X[:3], X, key=jax.random.key(9), alpha=0.3, gamma=0.2)
    assert C.vq_train_cache_size() == before


def test_quantization_error_and_assign_against_numpy():
    X = np.asarray(_blobs(jax.random.key(10), n=60))
    W = X[:4] + 0.1
    d = np.linalg.norm(X[:, None] - W[None], axis=-1)
    np.testing.assert_array_equal(C.assign(W, X), d.argmin(1))
    np.testing.assert_allclose(C.quantization_error(W, X), d.min(1).mean(), rtol=1e-5)
    np.testing.assert_array_equal(C.cluster_sizes(W, X), np.bincount(d.argmin(1), minlength=4))


# ------------------------------------------------------------------------------ storage


def test_storage_formula_and_the_texts_numbers():
    assert [C.code_bits(m) for m in (1, 2, 3, 4, 5, 16, 17, 10**6)] == [0, 1, 2, 2, 3, 4, 5, 20]
    n, d, m = 10**10, 100, 10**6
    assert C.raw_bits(n, d) == 32 * 10**12  # 4 TB
    assert C.storage_bits(n, d, m) == 32 * 10**8 + 20 * 10**10
    assert n * C.code_bits(m) // 8 == 25 * 10**9  # 25 GB of codes, not "< 3 GB"
    assert 10**9 * C.code_bits(m) // 8 < 3 * 10**9
    assert C.storage_bits(5, 3, 1, bits_per_number=8) == 24


# ------------------------------------------------------------------------------ Exercise 10.3


def test_online_kmeans_keeps_exact_running_means_in_float64():
    with jax.enable_x64(True):
        X = _blobs(jax.random.key(11), n=400)
        state, winners = C.online_kmeans(X[:3], X)
        Xn, won = np.asarray(X), np.asarray(winners)
        W = np.asarray(state.W)
        for j in range(3):
            pts = Xn[won == j]
            assert state.counts[j] == len(pts)
            np.testing.assert_allclose(W[j], pts.mean(0), rtol=0, atol=1e-12)
        # at every step, not only at the end: replay with the one-step function
        st = C.kmeans_init(X[:3])
        for t in range(50):
            st, p = C.online_kmeans_step(st, X[t])
            mine = Xn[: t + 1][won[: t + 1] == int(p)]
            np.testing.assert_allclose(st.W[int(p)], mine.mean(0), rtol=0, atol=1e-12)


def test_online_kmeans_is_close_to_sklearn_kmeans():
    from sklearn.cluster import KMeans

    X = np.asarray(_blobs(jax.random.key(12), n=600, spread=0.6), np.float64)
    state, _ = C.online_kmeans(jnp.asarray(X[:3]), jnp.asarray(X))
    ref = KMeans(n_clusters=3, n_init=10, random_state=0).fit(X)
    W = np.asarray(state.W, np.float64)
    sse = np.sum(np.min(((X[:, None] - W[None]) ** 2).sum(-1), 1))
    assert sse < 1.02 * ref.inertia_
    match = [int(np.argmin(((ref.cluster_centers_ - w) ** 2).sum(1))) for w in W]
    assert sorted(match) == [0, 1, 2]


# ------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: C.wta_step(np.zeros(3), np.zeros(3), 0.1), ValueError, "`W` must be 2-dim"),
        (lambda: C.wta_step(np.zeros((3, 2)), np.zeros(3), 0.1), ValueError, "`x` must have"),
        (lambda: C.wta_step(np.zeros((3, 2)), np.zeros(2), -0.1), ValueError, "`alpha` must be"),
        (lambda: C.wta_step(np.zeros((3, 2)), "ab", 0.1), TypeError, "`x` must be"),
        (lambda: C.wta_step(np.full((3, 2), np.nan), np.zeros(2), 0.1), ValueError, "NaN"),
        (lambda: C.winner(np.zeros((3, 2)), np.zeros(2), np.zeros(4)), ValueError, "`s` must"),
        (
            lambda: C.vq_train(np.zeros((3, 2)), np.zeros((5, 2)), key=None, alpha=0.1),
            TypeError,
            "`key` is required",
        ),  # fmt: skip
        (
            lambda: C.vq_train(
                np.zeros((3, 2)), np.zeros((5, 3)), key=jax.random.key(0), alpha=0.1
            ),
            ValueError,
            "`X` must have",
        ),  # fmt: skip
        (
            lambda: C.vq_train(
                np.zeros((3, 2)), np.zeros((5, 2)), key=jax.random.key(0), alpha=0.1, gamma=-1.0
            ),
            ValueError,
            "`gamma` must be non-negative",
        ),  # fmt: skip
        (lambda: C.storage_bits(10, 2, 0), ValueError, "`m` must be a positive integer"),
        (lambda: C.storage_bits(10, 2.5, 4), TypeError, "`d` must be a positive integer"),
        (
            lambda: C.online_kmeans_step(
                C.KMeansState(np.zeros((3, 2)), np.zeros(2, int)), np.zeros(2)
            ),
            ValueError,
            "`counts` must have",
        ),  # fmt: skip
    ],
)
def test_bad_input_is_named(call, error, match):
    with pytest.raises(error, match=match):
        call()
