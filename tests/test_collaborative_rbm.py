"""course_lib.collaborative_rbm: the softmax-visible RBM for ratings (Aggarwal §6.5.2, Ex 6.1).

Oracles: NumPy loops over items and rating values for Eq 6.21/6.22, the book's connection
counts of Fig 6.5, ``jax.grad`` and central differences for the fine-tuning loss, and a planted
ratings matrix on which CD-1 must beat the item means.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import central_gradient
from course_lib import collaborative_rbm as C
from course_lib import data

KEY = jax.random.key(0)


def _tiny(seed=0, n=4, d=5, K=5, m=3):
    rng = np.random.default_rng(seed)
    params = C.CFParams(
        jnp.asarray(rng.normal(size=(d, K, m))),
        jnp.asarray(rng.normal(size=(d, K))),
        jnp.asarray(rng.normal(size=m)),
    )
    R = rng.integers(1, K + 1, size=(n, d)).astype(float)
    mask = (rng.uniform(size=(n, d)) < 0.6).astype(float)
    mask[:, 0] = 1.0  # every user rated something
    V = C.one_hot_ratings(R, mask)
    return params, R, mask, V


def test_one_hot_ratings_rounds_clips_and_zeroes_unrated_items():
    R = np.array([[0.2, 2.6, 4.5, 7.0], [3.0, 1.4, 5.0, 2.0]])
    mask = np.array([[1, 1, 1, 0], [1, 0, 1, 1]], float)
    V = np.asarray(C.one_hot_ratings(R, mask))
    assert V.shape == (2, 4, 5)
    np.testing.assert_array_equal(V.sum(-1), mask)
    assert V[0, 0].argmax() == 0 and V[0, 1].argmax() == 2 and V[1, 3].argmax() == 1
    np.testing.assert_array_equal(C.stars(R), np.clip(np.round(R), 1, 5))


def test_hidden_and_visible_probabilities_match_numpy_loops():
    params, R, mask, V = _tiny()
    W, b_v, b_h = (np.asarray(a) for a in params)
    n, d = mask.shape
    ph = np.asarray(C.cf_hidden_probs(params, V, mask))
    for u in range(n):
        act = b_h.copy()
        for i in range(d):
            if mask[u, i]:
                act += W[i, int(R[u, i]) - 1, :]  # Eq 6.21: only the rated items
        np.testing.assert_allclose(ph[u], 1 / (1 + np.exp(-act)), rtol=1e-12)
    pv = np.asarray(C.softmax_visible_probs(params, ph))
    for u in range(n):
        for i in range(d):
            z = b_v[i] + W[i] @ ph[u]  # Eq 6.22
            np.testing.assert_allclose(pv[u, i], np.exp(z) / np.exp(z).sum(), rtol=1e-12)
    np.testing.assert_allclose(pv.sum(-1), 1.0, atol=1e-12)
    pred = np.asarray(C.cf_predict(params, V, mask))
    np.testing.assert_allclose(pred, pv @ np.arange(1, 6), rtol=1e-12)
    assert pred.min() >= 1 and pred.max() <= 5


def test_connection_counts_of_fig_6_5():
    fig = np.array([[1, 1, 0, 0, 0], [1, 0, 1, 1, 1]], float)  # Sayani, Bob
    assert C.connection_counts(fig, n_hidden=2).tolist() == [20, 40]
    assert int(C.connection_counts(fig[0], n_hidden=2)) == 20


def test_cd_update_leaves_unrated_items_untouched():
    params, R, mask, V = _tiny(1, n=1)
    g = C.cf_cd_gradient(params, V, mask, key=KEY)
    assert g.W.shape == params.W.shape and g.b_v.shape == params.b_v.shape
    unrated = mask[0] == 0
    assert unrated.any()
    np.testing.assert_array_equal(np.asarray(g.W)[unrated], 0.0)
    np.testing.assert_array_equal(np.asarray(g.b_v)[unrated], 0.0)
    # the rated items do move (almost surely)
    assert np.abs(np.asarray(g.W)[~unrated]).sum() > 0


def test_cd_gradient_is_zero_in_expectation_when_the_negative_phase_returns_the_data():
    # With W = 0 and visible biases that make one rating certain, the negative sample equals
    # the data, so positive and negative statistics cancel exactly.
    params, R, mask, V = _tiny(2)
    certain = jnp.where(jax.nn.one_hot(jnp.asarray(R[0] - 1, int), 5) > 0, 50.0, -50.0)
    p = C.CFParams(0 * params.W, certain, params.b_h)
    Vsame = C.one_hot_ratings(np.broadcast_to(R[0], R.shape), mask)
    g = C.cf_cd_gradient(p, Vsame, mask, key=KEY)
    for leaf in g:
        np.testing.assert_allclose(np.asarray(leaf), 0.0, atol=1e-12)


def test_training_is_deterministic_does_not_recompile_and_beats_the_item_means():
    r = data.planted_ratings(key=KEY, n_users=120, n_items=12, rank=2, observed=0.5, noise=0.3)
    stars = C.stars(r.R)
    V = C.one_hot_ratings(r.R, jnp.ones_like(r.mask))
    p0 = C.init_cf_rbm(key=KEY, n_items=12, n_hidden=6, V=V, mask=r.mask)
    np.testing.assert_allclose(np.exp(np.asarray(p0.b_v)).sum(-1), 1.0, rtol=1e-12)
    p1 = C.train_cf_rbm(p0, V, r.mask, key=jax.random.key(1), steps=1500, lr=0.1)
    size = C._train._cache_size()
    p2 = C.train_cf_rbm(p0, V, r.mask, key=jax.random.key(1), steps=1500, lr=0.05)
    assert C._train._cache_size() == size, "a new learning rate must not recompile"
    again = C.train_cf_rbm(p0, V, r.mask, key=jax.random.key(1), steps=1500, lr=0.1)
    for a, b in zip(p1, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(p1.W, p2.W)
    base = C.item_mean_baseline(stars, r.mask)
    rmse_base = float(C.rmse(jnp.broadcast_to(base, stars.shape), stars, r.test_mask))
    rmse_rbm = float(C.rmse(C.cf_predict(p1, V, r.mask), stars, r.test_mask))
    assert rmse_rbm < 0.85 * rmse_base


def test_finetuning_gradient_and_training_rmse():
    params, R, mask, V = _tiny(3)
    leaves, tree = jax.tree.flatten(params)

    def loss_of_W(W):
        return C.masked_cross_entropy(C.CFParams(jnp.asarray(W), params.b_v, params.b_h), V, mask)

    g = jax.grad(C.masked_cross_entropy)(params, V, mask)
    np.testing.assert_allclose(g.W, central_gradient(loss_of_W, np.asarray(params.W)), rtol=1e-6,
                               atol=1e-9)  # fmt: skip
    tuned, losses = C.finetune_cf(params, V, mask, steps=200, lr=0.05)
    assert losses.shape == (200,) and float(losses[-1]) < 0.5 * float(losses[0])
    before = float(C.rmse(C.cf_predict(params, V, mask), jnp.asarray(R), jnp.asarray(mask)))
    after = float(C.rmse(C.cf_predict(tuned, V, mask), jnp.asarray(R), jnp.asarray(mask)))
    assert after < before


def test_bad_inputs_are_refused_with_clear_errors():
    params, R, mask, V = _tiny()
    with pytest.raises(TypeError, match="CFParams"):
        C.cf_predict((params.W, params.b_v, params.b_h), V, mask)
    with pytest.raises(ValueError, match="one-hot ratings"):
        C.cf_predict(params, V[:, :3], mask[:, :3])
    with pytest.raises(ValueError, match="mask"):
        C.cf_predict(params, V, mask[:, :3])
    with pytest.raises(ValueError, match="hidden units"):
        C.softmax_visible_probs(params, jnp.ones((2, 7)))
    with pytest.raises(TypeError, match="key"):
        C.cf_cd_gradient(params, V, mask, key=None)
    with pytest.raises(ValueError, match="lr"):
        C.train_cf_rbm(params, V, mask, key=KEY, steps=3, lr=-1.0, batch_size=2)
    with pytest.raises(ValueError, match="batch_size"):
        C.train_cf_rbm(params, V, mask, key=KEY, steps=3, batch_size=99)
    with pytest.raises(ValueError, match="NaN"):
        C.one_hot_ratings(np.array([[np.nan, 1.0]]), np.ones((1, 2)))
    with pytest.raises(ValueError, match="n_hidden"):
        C.init_cf_rbm(key=KEY, n_items=3, n_hidden=0)
