"""course_lib.rbm: conditionals, free energy, exact likelihood and gradient, CD-k, PCD, training."""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import rbm

KEY = jax.random.key(0)


def _params(d=4, m=3, seed=0, scale=1.0):
    k1, k2, k3 = jax.random.split(jax.random.key(seed), 3)
    return rbm.RBMParams(
        scale * jax.random.normal(k1, (d, m)),
        0.5 * jax.random.normal(k2, (d,)),
        0.5 * jax.random.normal(k3, (m,)),
    )


def _data(n=40, d=4, seed=1, p=0.4):
    return (jax.random.uniform(jax.random.key(seed), (n, d)) < p).astype(jnp.float64)


def _joint_numpy(params):
    """P(v, h) by a Python loop over every (v, h): the independent oracle."""
    W, bv, bh = (np.asarray(a) for a in params)
    d, m = W.shape
    vs = [np.array(v, float) for v in itertools.product([0, 1], repeat=d)]
    hs = [np.array(h, float) for h in itertools.product([0, 1], repeat=m)]
    E = np.array([[-(bv @ v) - (bh @ h) - v @ W @ h for h in hs] for v in vs])
    P = np.exp(-E)
    return np.array(vs), np.array(hs), P / P.sum()


# ------------------------------------------------------------------------------ init


def test_init_shapes_scale_and_visible_bias_from_data():
    p = rbm.init_rbm(key=KEY, n_visible=30, n_hidden=40)
    assert p.W.shape == (30, 40) and p.b_v.shape == (30,) and p.b_h.shape == (40,)
    assert float(jnp.std(p.W)) == pytest.approx(0.01, rel=0.1)
    assert not np.any(np.asarray(p.b_v)) and not np.any(np.asarray(p.b_h))
    data = np.zeros((10, 3))
    data[:3, 0] = 1.0
    data[:, 1] = 1.0  # all ones: clipped, finite
    q = rbm.init_rbm(key=KEY, n_visible=3, n_hidden=2, data=data)
    sig = np.asarray(jax.nn.sigmoid(q.b_v))
    np.testing.assert_allclose(sig, [0.3, 1 - rbm.BIAS_CLIP, rbm.BIAS_CLIP], rtol=1e-6)
    np.testing.assert_array_equal(q.W, rbm.init_rbm(key=KEY, n_visible=3, n_hidden=2).W)


# ------------------------------------------------------------------------------ conditionals


def test_conditionals_equal_the_enumerated_joint():
    params = _params()
    V, H, P = _joint_numpy(params)
    ph = np.asarray(rbm.hidden_probs(params, V))  # (16, 3)
    for j in range(3):
        want = P[:, H[:, j] == 1].sum(1) / P.sum(1)
        np.testing.assert_allclose(ph[:, j], want, rtol=1e-12)
    pv = np.asarray(rbm.visible_probs(params, H))  # (8, 4)
    for i in range(4):
        want = P[V[:, i] == 1, :].sum(0) / P.sum(0)
        np.testing.assert_allclose(pv[:, i], want, rtol=1e-12)
    # the library's joint table is the same, and P(v) = exp(-F) / Z
    _, _, Pl = rbm.joint_distribution(params)
    np.testing.assert_allclose(Pl, P, rtol=1e-12)
    np.testing.assert_allclose(rbm.visible_distribution(params), P.sum(1), rtol=1e-12)
    F = np.asarray(rbm.free_energy(params, V))
    np.testing.assert_allclose(np.exp(-F) / np.exp(-F).sum(), P.sum(1), rtol=1e-12)


def test_batched_leading_axes_and_sampling_shapes():
    params = _params()
    v = jnp.ones((2, 5, 4))
    assert rbm.hidden_probs(params, v).shape == (2, 5, 3)
    assert rbm.free_energy(params, v).shape == (2, 5)
    assert rbm.reconstruct(params, v).shape == (2, 5, 4)
    h = rbm.sample_hidden(params, v, key=KEY)
    assert h.shape == (2, 5, 3) and set(np.unique(h)) <= {0.0, 1.0}
    np.testing.assert_array_equal(h, rbm.sample_hidden(params, v, key=KEY))
    s = rbm.sample_visible(params, jnp.zeros((7, 3)), key=KEY)
    assert s.shape == (7, 4)
    np.testing.assert_allclose(
        rbm.reconstruct(params, v), rbm.visible_probs(params, rbm.hidden_probs(params, v))
    )


def test_sample_frequencies_match_probabilities():
    params = _params()
    v = jnp.ones((20000, 4))
    h = rbm.sample_hidden(params, v, key=KEY)
    np.testing.assert_allclose(h.mean(0), rbm.hidden_probs(params, v[0]), atol=0.015)


# ------------------------------------------------------------------------------ exact


@pytest.mark.parametrize("shape", [(4, 3), (3, 6)])  # enumerate h, then enumerate v
def test_exact_gradient_equals_jax_grad_and_finite_differences(shape, fd_gradient):
    d, m = shape
    params = _params(d, m, seed=3)
    data = _data(30, d)
    g = rbm.exact_gradient(params, data)
    ll = jax.jit(lambda p: rbm.exact_log_likelihood(p, data))
    gj = jax.grad(ll)(params)
    for a, b in zip(g, gj, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    fd = fd_gradient(lambda W: ll(params._replace(W=jnp.asarray(W))), np.asarray(params.W))
    np.testing.assert_allclose(g.W, fd, rtol=1e-6, atol=1e-8)
    fd = fd_gradient(lambda b: ll(params._replace(b_h=jnp.asarray(b))), np.asarray(params.b_h))
    np.testing.assert_allclose(g.b_h, fd, rtol=1e-6, atol=1e-8)


def test_exact_log_likelihood_matches_the_oracle():
    params = _params()
    V, _, P = _joint_numpy(params)
    data = _data(25)
    idx = np.asarray(data) @ (2 ** np.arange(3, -1, -1))
    want = np.mean(np.log(P.sum(1)[idx.astype(int)]))
    assert float(rbm.exact_log_likelihood(params, data)) == pytest.approx(want, rel=1e-12)
    assert float(rbm.log_partition(params)) == pytest.approx(
        np.log(np.exp(-np.asarray(rbm.free_energy(params, V))).sum()), rel=1e-12
    )
    stats = rbm.model_statistics(params)
    Vm, Hm = np.asarray(V), _joint_numpy(params)[1]
    np.testing.assert_allclose(stats.W, Vm.T @ P @ Hm, rtol=1e-10)


# ------------------------------------------------------------------------------ CD-k


def test_cd_gradient_shapes_determinism_and_zero_when_phases_agree():
    params = _params()
    data = _data()
    g = rbm.cd_gradient(params, data, key=KEY, k=2)
    assert jax.tree.map(jnp.shape, g) == jax.tree.map(jnp.shape, params)
    for a, b in zip(g, rbm.cd_gradient(params, data, key=KEY, k=2), strict=True):
        np.testing.assert_array_equal(a, b)
    # with W = 0 and visible probabilities 0 or 1 the chain returns the data: gradient 0
    frozen = rbm.RBMParams(jnp.zeros((4, 3)), jnp.array([60.0, -60.0, 60.0, -60.0]), jnp.zeros(3))
    v = jnp.tile(jnp.array([[1.0, 0.0, 1.0, 0.0]]), (5, 1))
    for part in rbm.cd_gradient(frozen, v, key=KEY, k=3):
        np.testing.assert_allclose(part, 0.0, atol=1e-12)


def test_cd1_by_hand():
    params, data = _params(), _data(8)
    key = jax.random.key(5)
    kh, kv = jax.random.split(jax.random.fold_in(key, 0))
    ph0 = jax.nn.sigmoid(data @ params.W + params.b_h[None, :])
    h = jax.random.bernoulli(kh, jax.nn.sigmoid(data @ params.W + params.b_h[None, :]))
    v1 = jax.random.bernoulli(
        kv, jax.nn.sigmoid(h.astype(float) @ params.W.T + params.b_v[None, :])
    )
    v1 = v1.astype(float)
    ph1 = jax.nn.sigmoid(v1 @ params.W + params.b_h[None, :])
    g = rbm.cd_gradient(params, data, key=key, k=1)
    np.testing.assert_allclose(g.W, (data.T @ ph0 - v1.T @ ph1) / 8, rtol=1e-12)
    np.testing.assert_allclose(g.b_v, (data - v1).mean(0), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(g.b_h, (ph0 - ph1).mean(0), rtol=1e-12, atol=1e-15)


def test_cd_k_approaches_the_exact_gradient_and_cd1_is_biased():
    params = _params(scale=1.5)
    data = _data(16)
    exact = np.asarray(rbm.exact_gradient(params, data).W)
    big = jnp.tile(data, (400, 1))  # 6400 chains

    def err(k):
        return np.abs(np.asarray(rbm.cd_gradient(params, big, key=KEY, k=k).W) - exact).max()

    e1, e50 = err(1), err(50)
    assert e50 < 0.02 and e1 > 3 * e50, (e1, e50)


def test_pcd_gradient_returns_the_chain():
    params, data = _params(), _data(10)
    chain = _data(6, seed=9)
    g, new = rbm.pcd_gradient(params, data, chain, key=KEY, k=2)
    assert new.shape == (6, 4) and set(np.unique(new)) <= {0.0, 1.0}
    assert g.W.shape == (4, 3)


def test_k_is_traced_no_recompile():
    params, data = _params(), _data()
    rbm.cd_gradient(params, data, key=KEY, k=1)
    before = rbm.cd_gradient_cache_size()
    for k in (2, 7):
        rbm.cd_gradient(params, data, key=KEY, k=k)
    assert rbm.cd_gradient_cache_size() == before


# ------------------------------------------------------------------------------ training


def test_training_raises_the_exact_likelihood_deterministically_without_recompiling():
    d, m = 4, 3
    pattern = (jax.random.uniform(jax.random.key(2), (60, 1)) < 0.5).astype(jnp.float64)
    data = jnp.concatenate([pattern, pattern, 1 - pattern, 1 - pattern], axis=1)  # two modes
    params = rbm.init_rbm(key=KEY, n_visible=d, n_hidden=m, scale=0.1)
    ll0 = float(rbm.exact_log_likelihood(params, data))
    out, hist = rbm.train_rbm(params, data, key=KEY, steps=150, batch_size=10, lr=0.1)
    assert hist.shape == (150,) and np.all(np.isfinite(hist))
    assert float(rbm.exact_log_likelihood(out, data)) > ll0
    again, _ = rbm.train_rbm(params, data, key=KEY, steps=150, batch_size=10, lr=0.1)
    np.testing.assert_array_equal(out.W, again.W)
    before = rbm.train_rbm_cache_size()
    rbm.train_rbm(params, data, key=KEY, steps=150, batch_size=10, lr=0.05, k=3)
    assert rbm.train_rbm_cache_size() == before
    pcd, _ = rbm.train_rbm(params, data, key=KEY, steps=150, batch_size=10, lr=0.1, persistent=True)
    assert float(rbm.exact_log_likelihood(pcd, data)) > ll0


# ------------------------------------------------------------------------------ errors


def test_bad_inputs_raise_clear_errors():
    params = _params()
    with pytest.raises(TypeError, match="RBMParams"):
        rbm.hidden_probs((params.W, params.b_v, params.b_h), jnp.ones(4))
    with pytest.raises(ValueError, match="4 visible units"):
        rbm.hidden_probs(params, jnp.ones(5))
    with pytest.raises(ValueError, match="3 hidden units"):
        rbm.visible_probs(params, jnp.ones(4))
    with pytest.raises(ValueError, match="shapes do not fit"):
        rbm.hidden_probs(params._replace(b_h=jnp.zeros(2)), jnp.ones(4))
    with pytest.raises(ValueError, match="NaN"):
        rbm.free_energy(params._replace(W=params.W.at[0, 0].set(jnp.nan)), jnp.ones(4))
    with pytest.raises(TypeError, match="key"):
        rbm.sample_hidden(params, jnp.ones(4), key=None)
    with pytest.raises(ValueError, match="`k`"):
        rbm.cd_gradient(params, jnp.ones((2, 4)), key=KEY, k=0)
    with pytest.raises(TypeError, match="`k`"):
        rbm.cd_gradient(params, jnp.ones((2, 4)), key=KEY, k=1.5)
    with pytest.raises(ValueError, match="2-dimensional"):
        rbm.cd_gradient(params, jnp.ones(4), key=KEY)
    with pytest.raises(ValueError, match="binary"):
        rbm.exact_log_likelihood(params, jnp.full((2, 4), 0.5))
    with pytest.raises(ValueError, match="`lr`"):
        rbm.train_rbm(params, _data(), key=KEY, steps=3, batch_size=2, lr=-1.0)
    with pytest.raises(ValueError, match="batch_size"):
        rbm.train_rbm(params, _data(5), key=KEY, steps=3, batch_size=6, lr=0.1)
    with pytest.raises(ValueError, match="smaller layer"):
        rbm.exact_gradient(_params(20, 20), jnp.zeros((1, 20)))
    with pytest.raises(ValueError, match="positive integer"):
        rbm.init_rbm(key=KEY, n_visible=0, n_hidden=2)
