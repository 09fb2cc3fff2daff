"""course_lib.hybrid_recommender: scores against a loop, the synthetic tastes, the fit (learns
the training entries, scores cold items better than the user mean, is deterministic, does not
recompile on new hyperparameters), the baseline, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import widget_views

from course_lib import hybrid_recommender as hr

RNG = np.random.default_rng(0)


def test_predict_equals_a_loop():
    with jax.enable_x64(True):
        U, A, b = RNG.normal(size=(3, 2)), RNG.normal(size=(4, 2)), RNG.normal(size=3)
        F = RNG.normal(size=(5, 4))
        got = hr.predict(hr.HybridParams(jnp.asarray(U), jnp.asarray(A), jnp.asarray(b),
                                         jnp.asarray(2.5)), F)  # fmt: skip
        ref = np.array([[2.5 + b[u] + U[u] @ (A.T @ F[i]) for i in range(5)] for u in range(3)])
        np.testing.assert_allclose(got, ref, atol=1e-12)


def test_synthetic_ratings_follow_the_tastes():
    y = jnp.asarray(np.arange(50) % 10, dtype=jnp.int32)
    R, likes = hr.synthetic_ratings(y, key=jax.random.key(0), n_users=6, n_liked=3, noise=0.0)
    assert R.shape == (6, 50) and likes.shape == (6, 10)
    np.testing.assert_array_equal(np.asarray(likes).sum(axis=1), 3)
    np.testing.assert_allclose(R, 2.0 + 2.0 * np.asarray(likes)[:, np.asarray(y)])
    R2, _ = hr.synthetic_ratings(y, key=jax.random.key(0), n_users=6, noise=0.0)
    np.testing.assert_array_equal(R, R2)


def _problem(seed):
    # content features that determine the taste exactly: one-hot classes plus noise columns
    y = np.arange(200) % 10
    F = np.c_[np.eye(10)[y], RNG.normal(size=(200, 3)), np.ones(200)]
    R, _ = hr.synthetic_ratings(jnp.asarray(y, jnp.int32), key=jax.random.key(seed),
                                n_users=30, noise=0.3)  # fmt: skip
    cold = np.arange(200) >= 150
    obs = (np.random.default_rng(seed).uniform(size=R.shape) < 0.3) & ~cold[None, :]
    return R, obs.astype(float), np.broadcast_to(cold, R.shape).astype(float), F


def test_fit_scores_cold_items_is_deterministic_and_does_not_recompile():
    R, mask, cold, F = _problem(1)
    p, losses = hr.fit_hybrid(R, mask, F, key=jax.random.key(2), rank=6, steps=300)
    p2, losses2 = hr.fit_hybrid(R, mask, F, key=jax.random.key(2), rank=6, steps=300)
    np.testing.assert_array_equal(losses, losses2)
    n = widget_views.compiles()
    hr.fit_hybrid(R, mask, F, key=jax.random.key(3), rank=6, steps=300, lr=0.02, lam=0.0)
    assert widget_views.compiles() == n, "new lr, lam or key must not recompile"
    assert float(losses[-1]) < 0.3 * float(losses[0])
    hybrid = float(hr.rmse(hr.predict(p, F), R, cold))
    base = float(hr.rmse(hr.user_mean_baseline(R, mask), R, cold))
    assert hybrid < 0.6 * base, (hybrid, base)


def test_user_mean_baseline():
    R = np.array([[1.0, 2.0, 9.0], [4.0, 0.0, 0.0]])
    mask = np.array([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    np.testing.assert_allclose(hr.user_mean_baseline(R, mask), [[1.5] * 3, [4.0] * 3])
    assert abs(float(hr.rmse(np.zeros_like(R), R, mask)) - np.sqrt(21 / 3)) < 1e-6


def test_bad_input():
    y = jnp.arange(5, dtype=jnp.int32)
    with pytest.raises(ValueError, match="labels"):
        hr.synthetic_ratings(np.zeros(5), key=jax.random.key(0), n_users=2)
    with pytest.raises(ValueError, match="n_liked"):
        hr.synthetic_ratings(y, key=jax.random.key(0), n_users=2, n_liked=11)
    with pytest.raises(TypeError, match="key"):
        hr.synthetic_ratings(y, key=1, n_users=2)
    R, mask = np.ones((2, 5)), np.ones((2, 5))
    with pytest.raises(ValueError, match="one row per item"):
        hr.fit_hybrid(R, mask, np.ones((4, 3)), key=jax.random.key(0))
    with pytest.raises(ValueError, match="shape of `R`"):
        hr.fit_hybrid(R, np.ones((2, 4)), np.ones((5, 3)), key=jax.random.key(0))
    p, _ = hr.fit_hybrid(R, mask, np.ones((5, 3)), key=jax.random.key(0), steps=2)
    with pytest.raises(ValueError, match="3 features"):
        hr.predict(p, np.ones((5, 4)))
