"""course_lib.mlp: both hand-written backprop recursions equal jax.grad; init schemes; training."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import data, mlp

KEY = jax.random.key(0)
ACTS = ["sigmoid", "tanh", "relu", "identity"]


def _problem(sizes=(4, 5, 3, 3), n=7, seed=1):
    k_p, k_x, k_y = jax.random.split(jax.random.key(seed), 3)
    params = mlp.init(sizes, key=k_p, scheme="normal", scale=0.7)
    X = jax.random.normal(k_x, (n, sizes[0]))
    labels = jax.random.randint(k_y, (n,), 0, sizes[-1])
    return params, X, labels


@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("sizes", [(4, 3), (4, 5, 3), (4, 5, 3, 3), (2, 6, 6, 6, 2)])
def test_pre_and_post_activation_recursions_equal_jax_grad(activation, sizes):
    params, X, labels = _problem(sizes)
    expected = jax.grad(mlp.loss)(params, X, labels, activation)
    for grads in (
        mlp.backprop_pre(params, X, labels, activation),
        mlp.backprop_post(params, X, labels, activation),
    ):
        assert len(grads) == len(params)
        for g, e in zip(grads, expected, strict=True):
            np.testing.assert_allclose(g.W, e.W, rtol=1e-10, atol=1e-14)
            np.testing.assert_allclose(g.b, e.b, rtol=1e-10, atol=1e-14)


def test_hand_gradient_equals_finite_differences(fd_gradient):
    params, X, labels = _problem()
    grads = mlp.backprop_pre(params, X, labels, "tanh")
    for k in range(len(params)):

        def f(W, k=k):
            p = list(params)
            p[k] = mlp.Dense(jnp.asarray(W), p[k].b)
            return mlp.loss(tuple(p), X, labels, "tanh")

        np.testing.assert_allclose(grads[k].W, fd_gradient(f, params[k].W), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize(
    ("scheme", "expected_var"),
    [("xavier", 2.0 / (300 + 200)), ("he", 2.0 / 300), ("normal", 0.05**2)],
)
def test_init_variances(scheme, expected_var):
    (layer,) = mlp.init((300, 200), key=KEY, scheme=scheme, scale=0.05)
    assert layer.W.shape == (300, 200) and layer.b.shape == (200,)
    assert float(jnp.var(layer.W)) == pytest.approx(expected_var, rel=0.03)
    assert float(jnp.abs(layer.b).max()) == 0.0
    again = mlp.init((300, 200), key=KEY, scheme=scheme, scale=0.05)
    np.testing.assert_array_equal(again[0].W, layer.W)


def test_constant_init_never_breaks_symmetry():
    params = mlp.init((4, 6, 3), key=KEY, scheme="constant", scale=0.3)
    ds = data.blobs(key=KEY, n=60, centers=[[0, 0, 0, 0], [2, 2, 0, 0], [0, 2, 2, 0]])
    trained, _ = mlp.train(params, ds.X, ds.y, lr=0.5, steps=50, activation="tanh")
    W1 = np.asarray(trained[0].W)
    assert not np.allclose(W1, 0.3)  # it did learn something ...
    np.testing.assert_allclose(W1, W1[:, :1] * np.ones((1, 6)), rtol=1e-10)  # ... all units equal


def test_training_lowers_the_loss_and_does_not_recompile_for_a_new_rate():
    ds = data.blobs(key=KEY, n=120)
    params = mlp.init((2, 8, 3), key=KEY)
    trained, losses = mlp.train(params, ds.X, ds.y, lr=0.5, steps=200, activation="tanh")
    assert losses.shape == (200,) and float(losses[-1]) < 0.5 * float(losses[0])
    assert float(mlp.accuracy(trained, ds.X, ds.y, "tanh")) > 0.9
    before = mlp._train._cache_size()
    mlp.train(params, ds.X, ds.y, lr=0.1, steps=200, activation="tanh")
    assert mlp._train._cache_size() == before


def test_errors():
    params, X, labels = _problem()
    with pytest.raises(ValueError, match=r"`X` has 3 features but the first layer expects 4"):
        mlp.forward(params, X[:, :3])
    with pytest.raises(TypeError, match=r"tuple of Dense layers"):
        mlp.forward(list(params), X)
    with pytest.raises(ValueError, match=r"unknown `scheme` 'glorot'"):
        mlp.init((2, 3), key=KEY, scheme="glorot")
    with pytest.raises(ValueError, match=r"at least 2 widths"):
        mlp.init((2,), key=KEY)
    with pytest.raises(ValueError, match=r"unknown activation"):
        mlp.backprop_pre(params, X, labels, "swish")
    with pytest.raises(ValueError, match=r"`lr`"):
        mlp.train(params, X, labels, lr=-1.0, steps=3)
