"""course_lib.gradcheck: the V-shaped error, the book's thresholds, and that it catches a bug."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from widget_views import compiles

from course_lib import gradcheck, mlp


def _logistic(w):
    x = jnp.array([0.3, -1.2, 2.0])
    return jnp.log1p(jnp.exp(-(w @ x)))


W = jnp.array([0.5, 0.1, -0.4])


def test_central_differences_meet_the_books_threshold_in_float64():
    g = jax.grad(_logistic)(W)
    rho = gradcheck.relative_error(gradcheck.finite_difference(_logistic, W, 1e-5), g)
    assert rho.max() < 1e-8
    rho_fwd = gradcheck.relative_error(
        gradcheck.finite_difference(_logistic, W, 1e-7, kind="forward"), g
    )
    assert rho_fwd.max() < 1e-6


def test_error_against_eps_is_v_shaped():
    g = jax.grad(_logistic)(W)
    eps = 10.0 ** np.arange(-13, 0)
    rho = [
        gradcheck.relative_error(gradcheck.finite_difference(_logistic, W, e, "forward"), g).max()
        for e in eps
    ]
    best = int(np.argmin(rho))
    assert 0 < best < len(eps) - 1  # the minimum is inside: too small and too large both hurt
    assert rho[0] > 100 * rho[best] and rho[-1] > 100 * rho[best]
    assert 1e-10 < eps[best] < 1e-5  # near sqrt(machine epsilon) = 1.5e-8


def test_float32_cannot_reach_the_threshold():
    w32 = W.astype(jnp.float32)
    g = jax.grad(_logistic)(W)
    best = min(
        gradcheck.relative_error(gradcheck.finite_difference(_logistic, w32, e), g).max()
        for e in 10.0 ** np.arange(-6, 0)
    )
    assert best > 1e-6


def test_catches_a_missing_activation_derivative():
    k1, k2, k3 = jax.random.split(jax.random.key(0), 3)
    params = mlp.init((3, 4, 2), key=k1, scheme="normal", scale=0.8)
    X = jax.random.normal(k2, (5, 3))
    y = jax.random.randint(k3, (5,), 0, 2)
    good = mlp.backprop_pre(params, X, y, "tanh")[0].W

    def f(W0):
        return mlp.loss((mlp.Dense(W0, params[0].b), params[1]), X, y, "tanh")

    estimate = gradcheck.finite_difference(f, params[0].W, 1e-5)
    assert gradcheck.relative_error(estimate, good).max() < 1e-7
    # The classic bug: forget Phi'(a) in the recursion.
    cache = mlp.forward_cache(params, X, "tanh")
    delta = (jax.nn.softmax(cache.pre[-1]) - jax.nn.one_hot(y, 2)) / 5
    buggy = X.T @ (delta @ params[1].W.T)
    assert gradcheck.relative_error(estimate, buggy).max() > 1e-2


def test_relative_error_edge_cases_and_errors():
    np.testing.assert_array_equal(gradcheck.relative_error([0.0, 1.0], [0.0, 1.0]), [0.0, 0.0])
    assert np.isinf(gradcheck.relative_error([1.0], [-1.0])[0])
    with pytest.raises(ValueError, match=r"shapes differ"):
        gradcheck.relative_error([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match=r"unknown `kind` 'backward'"):
        gradcheck.finite_difference(_logistic, W, 1e-3, "backward")
    with pytest.raises(ValueError, match=r"`eps`"):
        gradcheck.finite_difference(_logistic, W, 0.0)


@pytest.mark.parametrize("kind", ["forward", "central"])
def test_vectorized_fd_gradient_equals_the_loop_and_jax_grad(kind):
    eps = 1e-6 if kind == "forward" else 1e-5
    vec = gradcheck.fd_gradient(_logistic, W, eps, kind)
    loop = gradcheck.finite_difference(_logistic, W, eps, kind)
    np.testing.assert_allclose(vec, loop, rtol=1e-8)
    np.testing.assert_allclose(
        vec, jax.grad(_logistic)(W), rtol=1e-5 if kind == "forward" else 1e-9
    )


def test_fd_gradient_under_jit_does_not_recompile_for_a_new_eps():
    fn = jax.jit(lambda w, e: gradcheck.fd_gradient(_logistic, w, e))
    a = fn(W, 1e-3)
    compiled = compiles()
    b = fn(W, 1e-5)
    # counted through JAX's compile events: the jit's own C++ cache (_cache_size) sits in a
    # process-wide LRU that a long test session can evict from, which is not a recompile
    assert compiles() == compiled, "a new eps must not recompile"
    g = jax.grad(_logistic)(W)
    # central differences: the error shrinks like eps^2 until round-off takes over
    assert float(gradcheck.vector_relative_error(b, g)) < float(
        gradcheck.vector_relative_error(a, g)
    )


def test_vector_relative_error_is_the_norm_ratio_and_zero_for_equal_vectors():
    ge = np.array([1.0, 2.0, -2.0])
    ga = np.array([1.0, 2.5, -2.0])
    expected = 0.5 / np.linalg.norm(ge + ga)
    assert float(gradcheck.vector_relative_error(ge, ga)) == pytest.approx(expected, rel=1e-12)
    assert float(gradcheck.vector_relative_error(ga, ga)) == 0.0
    assert float(gradcheck.vector_relative_error(np.zeros(3), np.zeros(3))) == 0.0
    # a gradient entry near 0 spoils the per-entry maximum, not the vector version
    ge, ga = np.array([1.0, 1e-12]), np.array([1.0, -1e-12])
    assert gradcheck.relative_error(ge, ga).max() == np.inf
    assert float(gradcheck.vector_relative_error(ge, ga)) < 1e-11


def test_fd_gradient_errors():
    with pytest.raises(ValueError, match="unknown `kind`"):
        gradcheck.fd_gradient(_logistic, W, 1e-3, "backward")
    with pytest.raises(ValueError, match="`w` must be a 1-D float array"):
        gradcheck.fd_gradient(_logistic, jnp.ones((2, 2)), 1e-3)
    with pytest.raises(ValueError, match="shapes differ"):
        gradcheck.vector_relative_error(np.ones(2), np.ones(3))


# ------------------------------------------------------------------------------ precision and step


def _small_net():
    k1, k2, k3 = jax.random.split(jax.random.key(7), 3)
    params = mlp.init((3, 4, 2), key=k1, scheme="normal", scale=0.8)
    return params, jax.random.normal(k2, (5, 3)), jax.random.randint(k3, (5,), 0, 2)


def test_mlp_relative_errors_match_a_float64_coordinate_loop_and_never_recompile():
    params, X, y = _small_net()
    rho = gradcheck.mlp_relative_errors(params, X, y, 1e-3, activation="tanh")
    assert rho.shape == (4,) and rho.dtype == np.float64
    assert gradcheck.PRECISION_CONFIGS[2:] == (("float64", "forward"), ("float64", "central"))
    leaves = jax.tree.leaves(params)
    flat = np.concatenate([np.asarray(a, np.float64).ravel() for a in leaves])

    def unflatten(v):
        out, i = [], 0
        for a in leaves:
            out.append(v[i : i + a.size].reshape(a.shape))
            i += a.size
        return tuple(mlp.Dense(out[j], out[j + 1]) for j in range(0, len(out), 2))

    with jax.enable_x64(True):
        X64 = np.asarray(X, np.float64)
        hand = np.concatenate(
            [
                np.asarray(a).ravel()
                for a in jax.tree.leaves(mlp.backprop_pre(unflatten(flat), X64, y, "tanh"))
            ]
        )
        for k, kind in ((2, "forward"), (3, "central")):
            fd = gradcheck.finite_difference(
                lambda v: mlp.loss(unflatten(v), X64, y, "tanh"), flat, 1e-3, kind
            )
            expected = np.linalg.norm(fd - hand) / np.linalg.norm(fd + hand)
            assert rho[k] == pytest.approx(expected, rel=1e-3), kind
    size = gradcheck.mlp_relative_errors_cache_size()
    small = gradcheck.mlp_relative_errors(params, X, y, 1e-5)
    assert small[3] < 1e-8 < 1e-6 < small[1]  # float64 central passes, float32 cannot
    assert gradcheck.mlp_relative_errors_cache_size() == size


def test_mlp_relative_errors_reject_bad_input_naming_the_argument():
    params, X, y = _small_net()
    with pytest.raises(ValueError, match="`eps` must be positive"):
        gradcheck.mlp_relative_errors(params, X, y, 0.0)
    with pytest.raises(ValueError, match="`X` must be 2-dimensional"):
        gradcheck.mlp_relative_errors(params, X[0], y, 1e-4)
    with pytest.raises(ValueError, match="`labels` must have shape"):
        gradcheck.mlp_relative_errors(params, X, y[:3], 1e-4)
