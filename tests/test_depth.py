"""course_lib.depth: parameter counts against initialised networks and a loop, Theorem 1.5.1
against the forward pass and a NumPy loop (float64), the staircase against a loop and its error
bound, the tent map's pieces, values and slopes (jax.grad, finite differences), deep and shallow
networks that compute it, piece counting, no recompiles, determinism, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import widget_views

from course_lib import depth, mlp

RNG = np.random.default_rng(0)
ARCHS = [(2, 1), (64, 32, 16, 10), (1, 2, 2, 2, 1), (784, 300, 100, 10), (5, 7, 3, 9, 4, 2)]


# ------------------------------------------------------------------------ counts


def _loop_count(widths, biases=True):
    total = 0
    for r in range(len(widths) - 1):
        for _ in range(widths[r]):
            for _ in range(widths[r + 1]):
                total += 1
        if biases:
            total += widths[r + 1]
    return total


@pytest.mark.parametrize("widths", ARCHS)
def test_param_count_equals_initialised_arrays_and_a_loop(widths):
    params = mlp.init(widths, key=jax.random.key(1))
    sizes = sum(int(leaf.size) for leaf in jax.tree.leaves(params))
    assert depth.param_count(widths) == sizes == _loop_count(widths)
    assert depth.param_count(widths, biases=False) == _loop_count(widths, biases=False)
    shapes = depth.layer_shapes(widths)
    assert [(W.shape, b.shape) for W, b in params] == list(shapes)


def test_book_formula():
    d, ps, o = 10, [7, 5, 3], 2
    formula = d * ps[0] + sum(a * b for a, b in zip(ps[:-1], ps[1:], strict=True)) + ps[-1] * o
    assert depth.param_count((d, *ps, o), biases=False) == formula
    assert depth.param_count((d, *ps, o)) == formula + sum(ps) + o


# ------------------------------------------------------------------------ Theorem 1.5.1


def test_collapse_equals_identity_network_and_a_loop():
    params = mlp.init((4, 6, 5, 3), key=jax.random.key(2), scheme="normal", scale=1.0)
    X = RNG.normal(size=(7, 4))
    W = depth.collapse([layer.W for layer in params])
    net = mlp.forward(params, X, activation="identity")
    np.testing.assert_allclose(X @ np.asarray(W), net, rtol=1e-12, atol=1e-12)
    mats = [np.asarray(layer.W) for layer in params]
    loop = np.zeros((4, 3))  # (W1 W2 W3)_{ij} = sum_{k,l} W1_ik W2_kl W3_lj
    for i in range(4):
        for j in range(3):
            for k in range(6):
                for m in range(5):
                    loop[i, j] += mats[0][i, k] * mats[1][k, m] * mats[2][m, j]
    np.testing.assert_allclose(W, loop, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------------ staircase


def test_staircase_equals_a_loop_and_obeys_the_lipschitz_bound():
    x = RNG.uniform(size=9)
    c, h = RNG.uniform(size=4), RNG.normal(size=4)
    got = depth.staircase(x, c, h, 7.0, 0.3)
    loop = [0.3 + sum(h[k] / (1 + np.exp(-7.0 * (xi - c[k]))) for k in range(4)) for xi in x]
    np.testing.assert_allclose(got, loop, rtol=1e-12)

    def f(x):
        return jnp.sin(2 * jnp.pi * x)

    xs = jnp.linspace(0.0, 1.0, 2001)
    errs = []
    for n in (4, 8, 16, 32):
        c, h, b = depth.staircase_params(f, n)
        errs.append(float(jnp.max(jnp.abs(depth.staircase(xs, c, h, 20.0 * n, b) - f(xs)))))
        assert errs[-1] <= 2 * np.pi / n * (1 + 1e-4)
    assert all(a > b for a, b in zip(errs, errs[1:], strict=False))


def test_steep_staircase_is_the_step_function():
    c, h, b = depth.staircase_params(lambda x: x**2, 5)
    np.testing.assert_allclose(c, [0.1, 0.3, 0.5, 0.7, 0.9], atol=1e-15)
    np.testing.assert_allclose(b + np.cumsum(h), (np.arange(1, 6) / 5) ** 2, atol=1e-15)
    g = depth.staircase(jnp.array([0.05, 0.35, 0.95]), c, h, 1e4, b)
    np.testing.assert_allclose(g, [0.0, 0.16, 1.0], atol=1e-12)


def test_staircase_steepness_is_traced():
    c, h, b = depth.staircase_params(jnp.sin, 6)
    x = jnp.linspace(0, 1, 11)
    depth.staircase(x, c, h, 5.0, b)
    n = widget_views.compiles()
    depth.staircase(x, c, h, 50.0, b)
    assert widget_views.compiles() == n, "steepness is traced: no recompile"


# ------------------------------------------------------------------------ tent map


def _loop_tent(x, r):
    for _ in range(r):
        x = 2 * max(x, 0.0) - 4 * max(x - 0.5, 0.0)
    return x


@pytest.mark.parametrize("r", range(1, 11))
def test_tent_pieces_values_and_networks(r):
    x = jnp.arange(2 ** (r + 2) + 1) / 2 ** (r + 2)  # dyadic: exact in float64
    y = depth.compose_tent(x, r)
    assert depth.count_pieces(x, y) == 2**r
    np.testing.assert_array_equal(y[::4], np.arange(2**r + 1) % 2)
    for params, n in ((depth.deep_tent_params(r), 6 * r + 1),
                      (depth.shallow_tent_params(r), 3 * 2**r + 1)):  # fmt: skip
        assert sum(int(leaf.size) for leaf in jax.tree.leaves(params)) == n
        np.testing.assert_array_equal(mlp.forward(params, x[:, None], activation="relu")[:, 0], y)
    assert depth.param_count((1, *[2] * r, 1)) == 6 * r + 1
    assert depth.param_count((1, 2**r, 1)) == 3 * 2**r + 1


def test_tent_matches_a_loop_and_its_slope_is_plus_minus_2_to_the_r():
    xs = RNG.uniform(size=20)
    for r in (1, 3, 5):
        np.testing.assert_allclose(
            depth.compose_tent(xs, r), [_loop_tent(v, r) for v in xs], atol=1e-12
        )
        grads = jax.vmap(jax.grad(lambda v, r=r: depth.compose_tent(v, r)))(jnp.asarray(xs))
        np.testing.assert_allclose(np.abs(grads), 2.0**r)
        fd = [(_loop_tent(v + 1e-9, r) - _loop_tent(v - 1e-9, r)) / 2e-9 for v in xs]
        np.testing.assert_allclose(grads, fd, rtol=1e-4)


def test_compose_tent_depth_is_traced_and_deterministic():
    x = jnp.linspace(0, 1, 33)
    a = depth.compose_tent(x, 2)
    n = widget_views.compiles()
    depth.compose_tent(x, 7)
    assert widget_views.compiles() == n, "r is traced: no recompile"
    np.testing.assert_array_equal(a, depth.compose_tent(x, 2))
    np.testing.assert_array_equal(depth.compose_tent(x, 0), x)


# ------------------------------------------------------------------------ counting pieces


def test_count_pieces_ignores_rounding_and_counts_kinks_plus_one():
    xs = np.linspace(0.0, 1.0, 101)
    assert depth.count_pieces(xs, 0.1 * xs + 0.3) == 1
    assert depth.count_pieces(xs, np.abs(xs - 0.3) + np.abs(xs - 0.7)) == 3


@pytest.mark.parametrize("width", [1, 3, 8, 20])
def test_random_shallow_nets_have_at_most_width_plus_one_pieces(width):
    for s in range(3):
        params = depth.random_shallow(key=jax.random.key(10 * width + s), width=width)
        kinks = depth.shallow_kinks(params, -3.0, 3.0)
        xs = depth.grid_with(kinks, -3.0, 3.0, 1001)
        ys = mlp.forward(params, jnp.asarray(xs)[:, None], activation="relu")[:, 0]
        pieces = depth.count_pieces(xs, ys, tol=1e-6)
        assert pieces == len(kinks) + 1 <= width + 1


def test_random_shallow_is_deterministic():
    a = depth.random_shallow(key=jax.random.key(3), width=4)
    b = depth.random_shallow(key=jax.random.key(3), width=4)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(x, y)


# ------------------------------------------------------------------------ bad input


def test_bad_input():
    with pytest.raises(ValueError, match="`widths` needs at least 2"):
        depth.param_count((3,))
    with pytest.raises(ValueError, match="positive integer"):
        depth.param_count((3, 0, 1))
    with pytest.raises(TypeError, match="`widths` must be a sequence"):
        depth.layer_shapes(5)
    with pytest.raises(ValueError, match="must chain"):
        depth.collapse([np.ones((2, 3)), np.ones((2, 3))])
    with pytest.raises(ValueError, match="non-empty list"):
        depth.collapse([])
    with pytest.raises(ValueError, match="one entry per step"):
        depth.staircase(np.zeros(3), np.zeros(2), np.zeros(3), 1.0, 0.0)
    with pytest.raises(ValueError, match="`r` must be a whole number in"):
        depth.compose_tent(np.zeros(3), 1.5)
    with pytest.raises(ValueError, match="strictly increasing"):
        depth.count_pieces([0.0, 0.0, 1.0], [0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="same length"):
        depth.count_pieces([0.0, 1.0], [0.0])
    with pytest.raises(TypeError, match="key"):
        depth.random_shallow(key=0, width=3)
    with pytest.raises(ValueError, match="lo < hi"):
        depth.staircase_params(jnp.sin, 4, 1.0, 0.0)
