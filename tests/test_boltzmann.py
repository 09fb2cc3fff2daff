"""course_lib.boltzmann: energy, enumeration, Gibbs conditional and sampler, learning rule."""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import boltzmann as bm

KEY = jax.random.key(0)


def _machine(q=5, seed=0, scale=1.0):
    return bm.random_bm(key=jax.random.key(seed), n_units=q, scale=scale)


def _energy_loops(W, b, s):
    """Eq 6.8 as a double loop (the independent oracle)."""
    q = len(b)
    return -sum(b[i] * s[i] for i in range(q)) - sum(
        W[i, j] * s[i] * s[j] for i in range(q) for j in range(i + 1, q)
    )


# ------------------------------------------------------------------------------ states, energy


def test_all_states_order_labels_and_index():
    S = bm.all_states(3)
    assert S.shape == (8, 3)
    np.testing.assert_array_equal(S[1], [0, 0, 1])
    np.testing.assert_array_equal(S[4], [1, 0, 0])
    assert bm.state_labels(2) == ["00", "01", "10", "11"]
    np.testing.assert_array_equal(bm.state_index(S), np.arange(8))
    assert bm.state_index(jnp.ones((2, 4, 3))).shape == (2, 4)


def test_energy_and_distribution_match_loops():
    params = _machine()
    W, b = np.asarray(params.W), np.asarray(params.b)
    S = np.array(list(itertools.product([0.0, 1.0], repeat=5)))
    want = np.array([_energy_loops(W, b, s) for s in S])
    np.testing.assert_allclose(bm.energy(params, S), want, rtol=1e-12, atol=1e-12)
    P = np.exp(-want) / np.exp(-want).sum()
    np.testing.assert_allclose(bm.exact_distribution(params), P, rtol=1e-12)
    assert float(bm.log_partition(params)) == pytest.approx(np.log(np.exp(-want).sum()), rel=1e-12)


def test_make_bm_symmetrizes_from_the_upper_triangle():
    params = bm.make_bm(jnp.array([[9.0, 1.0], [5.0, 9.0]]), jnp.zeros(2))
    np.testing.assert_array_equal(params.W, [[0.0, 1.0], [1.0, 0.0]])


def test_gibbs_conditional_is_the_enumerated_ratio():
    params = _machine(4, seed=3, scale=1.5)
    S = jnp.asarray(bm.all_states(4))
    P = np.asarray(bm.exact_distribution(params))
    for i in range(4):
        on = np.asarray(bm.state_index(S.at[:, i].set(1.0)))
        off = np.asarray(bm.state_index(S.at[:, i].set(0.0)))
        np.testing.assert_allclose(
            bm.gibbs_conditional(params, S, i), P[on] / (P[on] + P[off]), rtol=1e-12
        )


# ------------------------------------------------------------------------------ sampling


def test_gibbs_chains_reach_the_exact_distribution():
    params = bm.example_machine(jnp.float32)
    P = np.asarray(bm.exact_distribution(bm.example_machine(jnp.float64)))
    samples = bm.gibbs_sample(params, key=KEY, n_chains=40, n_sweeps=2020)[20:]
    assert samples.shape == (2000, 40, 5)
    emp = np.asarray(bm.empirical_distribution(samples))
    assert float(bm.total_variation(emp, P)) < 0.02  # 80,000 correlated draws
    short = np.asarray(bm.empirical_distribution(samples[:20, :1]))
    assert float(bm.total_variation(short, P)) > 0.1


def test_gibbs_sample_is_deterministic_clamps_and_does_not_recompile():
    params = bm.example_machine(jnp.float32)
    a = bm.gibbs_sample(params, key=KEY, n_chains=3, n_sweeps=7)
    np.testing.assert_array_equal(a, bm.gibbs_sample(params, key=KEY, n_chains=3, n_sweeps=7))
    init = jnp.ones((3, 5), jnp.float32)
    clamped = jnp.array([True, True, False, False, False])
    c = bm.gibbs_sample(params, key=KEY, n_sweeps=7, init=init, clamped=clamped)
    assert np.all(np.asarray(c[:, :, :2]) == 1.0)
    before = bm.gibbs_sample_cache_size()
    hot = bm.BMParams(params.W / 2, params.b / 2)
    bm.gibbs_sample(hot, key=jax.random.key(1), n_sweeps=7, init=init, clamped=clamped)
    assert bm.gibbs_sample_cache_size() == before  # new parameters and keys: no recompilation


def test_total_variation_and_empirical_distribution():
    assert float(bm.total_variation(jnp.array([1.0, 0.0]), jnp.array([0.0, 1.0]))) == 1.0
    emp = bm.empirical_distribution(jnp.array([[[0.0, 1.0]], [[0.0, 1.0]], [[1.0, 1.0]]]))
    np.testing.assert_allclose(emp, [0, 2 / 3, 0, 1 / 3])


# ------------------------------------------------------------------------------ learning


@pytest.mark.parametrize("n_visible", [3, 5])  # hidden units summed out; all visible
def test_learning_rule_equals_jax_grad_and_finite_differences(n_visible, fd_gradient):
    params = _machine(5, seed=4)
    v = jnp.asarray((np.random.default_rng(0).random((7, n_visible)) < 0.5).astype(float))
    rule = bm.exact_gradient(params, v, n_visible=n_visible)
    ll = jax.jit(lambda p: bm.exact_log_likelihood(p, v, n_visible=n_visible))
    g = jax.grad(ll)(params)
    off = 1.0 - np.eye(5)
    np.testing.assert_allclose(rule.W, off * np.asarray(g.W + g.W.T), atol=1e-12)
    np.testing.assert_allclose(rule.b, g.b, atol=1e-12)

    def ll_upper(u):  # the log-likelihood as a function of the 10 shared weights
        A = np.zeros((5, 5))
        A[np.triu_indices(5, 1)] = u
        return ll(bm.BMParams(jnp.asarray(A + A.T), params.b))

    fd = fd_gradient(ll_upper, np.asarray(params.W)[np.triu_indices(5, 1)])
    np.testing.assert_allclose(np.asarray(rule.W)[np.triu_indices(5, 1)], fd, rtol=1e-6, atol=1e-8)


def test_fully_visible_data_term_is_the_data_correlation():
    params = _machine(4, seed=5)
    v = jnp.asarray((np.random.default_rng(1).random((9, 4)) < 0.5).astype(float))
    data, model = bm.exact_statistics(params, v, n_visible=4)
    vv = np.asarray(v)
    np.testing.assert_allclose(data.W, (vv.T @ vv / 9) * (1 - np.eye(4)), atol=1e-12)
    np.testing.assert_allclose(data.b, vv.mean(0), atol=1e-12)
    S, P = bm.all_states(4), np.asarray(bm.exact_distribution(params))
    np.testing.assert_allclose(model.b, P @ S, atol=1e-12)


def test_sampled_gradient_approaches_the_exact_one():
    params = bm.example_machine(jnp.float32)
    v = jnp.array([[1, 1, 0], [0, 0, 1], [1, 0, 1]], jnp.float32)
    exact = bm.exact_gradient(bm.example_machine(jnp.float64), v.astype(jnp.float64), n_visible=3)
    est = bm.sampled_gradient(params, v, key=KEY, n_visible=3, n_sweeps=70, burn_in=20,
                              n_chains=100)  # fmt: skip
    assert np.abs(np.asarray(est.W) - np.asarray(exact.W)).max() < 0.03
    assert np.abs(np.asarray(est.b) - np.asarray(exact.b)).max() < 0.03


def test_exact_gradient_ascent_raises_the_likelihood_monotonically():
    params = _machine(4, seed=6, scale=0.3)
    v = jnp.asarray((np.random.default_rng(2).random((12, 3)) < 0.3).astype(float))
    lls = []
    for _ in range(30):
        lls.append(float(bm.exact_log_likelihood(params, v, n_visible=3)))
        g = bm.exact_gradient(params, v, n_visible=3)
        params = bm.BMParams(params.W + 0.2 * g.W, params.b + 0.2 * g.b)
    assert np.all(np.diff(lls) > 0)


# ------------------------------------------------------------------------------ errors


def test_bad_inputs_raise_clear_errors():
    params = _machine(3)
    with pytest.raises(TypeError, match="BMParams"):
        bm.energy((params.W, params.b), jnp.zeros(3))
    with pytest.raises(ValueError, match="symmetric"):
        bm.energy(bm.BMParams(jnp.eye(3), jnp.zeros(3)), jnp.zeros(3))
    with pytest.raises(ValueError, match="3 units"):
        bm.energy(params, jnp.zeros(4))
    with pytest.raises(ValueError, match="binary"):
        bm.energy(params, jnp.full(3, 0.5))
    with pytest.raises(ValueError, match="`i`"):
        bm.gibbs_conditional(params, jnp.zeros(3), 3)
    with pytest.raises(TypeError, match="key"):
        bm.gibbs_sample(params, key=None, n_chains=2, n_sweeps=3)
    with pytest.raises(ValueError, match="n_chains"):
        bm.gibbs_sample(params, key=KEY, n_sweeps=3)
    with pytest.raises(ValueError, match="clamped"):
        bm.gibbs_sample(params, key=KEY, n_chains=2, n_sweeps=3, clamped=jnp.zeros(3))
    with pytest.raises(ValueError, match="n_visible"):
        bm.exact_gradient(params, jnp.zeros((2, 3)), n_visible=4)
    with pytest.raises(ValueError, match="burn_in"):
        bm.sampled_gradient(params, jnp.zeros((1, 2)), key=KEY, n_visible=2, n_sweeps=5,
                            burn_in=5, n_chains=2)  # fmt: skip
    with pytest.raises(ValueError, match="q <= 16"):
        bm.exact_distribution(_machine(17))
    with pytest.raises(ValueError, match="same states"):
        bm.total_variation(jnp.ones(3), jnp.ones(4))
