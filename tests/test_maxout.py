"""course_lib.maxout: forward pass against a NumPy loop, the hand-derived backward pass against
jax.vjp and finite differences (float64), the ReLU / leaky ReLU / |x| special cases, training on
the digits (deterministic, no recompile for a new learning rate), bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import widget_views

from course_lib import activations, data, maxout

RNG = np.random.default_rng(0)


def _numpy_maxout(x, W, b):
    n, (k, _, e) = x.shape[0], W.shape
    out = np.full((n, e), -np.inf)
    for i in range(n):
        for j in range(e):
            for p in range(k):
                out[i, j] = max(out[i, j], x[i] @ W[p, :, j] + b[p, j])
    return out


def test_forward_matches_a_numpy_loop():
    x, W, b = RNG.normal(size=(5, 4)), RNG.normal(size=(3, 4, 6)), RNG.normal(size=(3, 6))
    with jax.enable_x64(True):
        got = np.asarray(maxout.layer(x, W, b))
    np.testing.assert_allclose(got, _numpy_maxout(x, W, b), rtol=1e-12)


def test_hand_backward_equals_vjp_and_finite_differences():
    x, W, b = RNG.normal(size=(6, 3)), RNG.normal(size=(4, 3, 5)), RNG.normal(size=(4, 5))
    g = RNG.normal(size=(6, 5))
    with jax.enable_x64(True):
        x, W, b, g = map(jnp.asarray, (x, W, b, g))
        mine = maxout.layer_vjp(x, W, b, g)
        _, vjp = jax.vjp(lambda *a: maxout.layer(*a), x, W, b)
        ref = vjp(g)
        for m, r in zip(mine, ref, strict=True):
            np.testing.assert_allclose(np.asarray(m), np.asarray(r), rtol=1e-12, atol=1e-12)
        # a central difference of <g, h> in W[1, 2, 3]
        eps, E = 1e-6, jnp.zeros_like(W).at[1, 2, 3].set(1.0)
        f = lambda W_: jnp.sum(g * maxout.layer(x, W_, b))  # noqa: E731
        fd = (f(W + eps * E) - f(W - eps * E)) / (2 * eps)
        assert abs(float(fd) - float(mine[1][1, 2, 3])) < 1e-6


def test_relu_leaky_relu_and_abs_are_special_cases():
    x, W1, b1 = RNG.normal(size=(8, 3)), RNG.normal(size=(3, 4)), RNG.normal(size=4)
    with jax.enable_x64(True):
        a = x @ W1 + b1
        relu = maxout.layer(x, np.stack([W1, 0 * W1]), np.stack([b1, 0 * b1]))
        leaky = maxout.layer(x, np.stack([W1, 0.1 * W1]), np.stack([b1, 0.1 * b1]))
        absval = maxout.layer(x, np.stack([W1, -W1]), np.stack([b1, -b1]))
        np.testing.assert_allclose(relu, activations.relu(a), rtol=0, atol=1e-15)
        np.testing.assert_allclose(leaky, activations.leaky_relu(a, 0.1), rtol=0, atol=1e-15)
        np.testing.assert_allclose(absval, np.abs(a), rtol=0, atol=1e-15)


def test_training_learns_is_deterministic_and_does_not_recompile():
    d = data.digits()
    X, y = d.X[:400], d.y[:400]
    p0 = maxout.init((64, 8, 10), key=jax.random.key(1), k=3)
    assert p0[0].W.shape == (3, 64, 8) and p0[0].b.shape == (3, 8) and p0[1].W.shape == (8, 10)
    a, la = maxout.train(p0, X, y, lr=0.5, steps=60)
    b, lb = maxout.train(p0, X, y, lr=0.5, steps=60)
    np.testing.assert_array_equal(la, lb)
    n = widget_views.compiles()
    maxout.train(p0, X, y, lr=0.2, steps=60)
    assert widget_views.compiles() == n, "lr is traced: no recompile"
    assert float(la[-1]) < 0.5 * float(la[0])
    assert float(maxout.accuracy(a, X, y)) > 0.8


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="`b` must have shape"):
        maxout.layer(np.zeros((2, 3)), np.zeros((2, 3, 4)), np.zeros((2, 5)))
    with pytest.raises(ValueError, match="3 features"):
        maxout.layer(np.zeros((2, 3)), np.zeros((2, 4, 4)), np.zeros((2, 4)))
    with pytest.raises(TypeError, match="key"):
        maxout.init((4, 3, 2), key=None)
    with pytest.raises(ValueError, match="positive"):
        maxout.train(maxout.init((4, 2), key=jax.random.key(0)), np.zeros((3, 4)),
                     np.zeros(3, int), lr=-1.0, steps=3)  # fmt: skip
