"""The graph engine: path enumeration and dynamic programming agree with jax.grad and with FD."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import backprop


def _graph_fig_3_3():
    """o = sin(w^2) + cos(w^2): two paths that share the first edge (Aggarwal Fig 3.3)."""
    g = backprop.GraphBuilder()
    w = g.input("w")
    y = g.node("y", "square", w)
    p = g.node("p", "cos", y)
    q = g.node("q", "sin", y)
    g.node("o", "add", p, q)
    return g.build()


@pytest.mark.parametrize("w", [-1.3, 0.2, 0.9, 2.0])
def test_fig_3_3_both_algorithms_equal_jax_grad_and_finite_differences(w, fd_derivative):
    graph = _graph_fig_3_3()
    values = backprop.forward(graph, {"w": w})
    assert values[-1] == pytest.approx(math.sin(w * w) + math.cos(w * w))
    z = backprop.local_derivatives(graph, values)
    paths = backprop.path_sum(graph, z, "w", "o")
    dp = backprop.reverse_accumulate(graph, z, "o")

    def f(v):
        return jnp.sin(v**2) + jnp.cos(v**2)

    expected = float(jax.grad(f)(jnp.float64(w)))
    assert paths.paths == 2
    assert paths.derivative == pytest.approx(expected, rel=1e-12)
    assert dp.adjoints[graph.index("w")] == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(float(fd_derivative(f, np.float64(w))), rel=1e-6)
    # The book's closed form (Eq 3.5).
    assert expected == pytest.approx(-2 * w * math.sin(w * w) + 2 * w * math.cos(w * w), rel=1e-12)


@pytest.mark.parametrize("layers", [1, 2, 3, 5, 8])
def test_power_graph_has_2_to_the_L_paths_and_derivative_2L_w_to_the_2L_minus_1(layers):
    graph = backprop.power_graph(layers)
    w = 1.01
    values = backprop.forward(graph, {"w": w})
    n = 2**layers
    assert values[-1] == pytest.approx(w**n, rel=1e-12)
    z = backprop.local_derivatives(graph, values)
    paths = backprop.path_sum(graph, z, "w", "o")
    dp = backprop.reverse_accumulate(graph, z, "o")
    assert paths.paths == n == backprop.count_paths(graph, "w", "o")
    expected = float(jax.grad(lambda v: v**n)(jnp.float64(w)))
    assert expected == pytest.approx(n * w ** (n - 1), rel=1e-12)
    assert paths.derivative == pytest.approx(expected, rel=1e-12)
    assert dp.adjoints[0] == pytest.approx(expected, rel=1e-12)
    # Costs: every path has L + 1 edges; DP touches each of the 4L edges once.
    assert paths.multiplications == n * (layers + 1)
    assert dp.multiplications == len(graph.edges) == 4 * layers


def test_book_example_32_paths_and_32_w31():
    graph = backprop.power_graph(5)
    w = 0.9
    z = backprop.local_derivatives(graph, backprop.forward(graph, {"w": w}))
    result = backprop.path_sum(graph, z, "w", "o")
    assert result.paths == 32
    assert result.derivative == pytest.approx(32 * w**31, rel=1e-12)


@pytest.mark.parametrize(("width", "depth"), [(2, 3), (3, 3), (4, 2), (3, 4)])
def test_layered_graph_equals_jax_grad_and_counts_width_to_the_depth_paths(width, depth):
    graph = backprop.layered_graph(width, depth)

    def f(w):
        h = jnp.full((width,), jax.nn.sigmoid(w))
        for _ in range(depth - 1):
            h = jnp.full((width,), jax.nn.sigmoid(h.sum()))
        return h.sum()

    w = 0.3
    z = backprop.local_derivatives(graph, backprop.forward(graph, {"w": w}))
    paths = backprop.path_sum(graph, z, "w", "o")
    dp = backprop.reverse_accumulate(graph, z, "o")
    expected = float(jax.grad(f)(jnp.float64(w)))
    assert paths.paths == width**depth
    assert paths.derivative == pytest.approx(expected, rel=1e-10)
    assert dp.adjoints[0] == pytest.approx(expected, rel=1e-12)
    assert dp.multiplications == len(graph.edges) == width * (2 + (depth - 1) * width)


def test_path_enumeration_refuses_a_million_paths_that_dp_handles():
    graph = backprop.layered_graph(100, 3)  # the book's "a million paths"
    assert backprop.count_paths(graph, "w", "o") == 100**3
    z = backprop.local_derivatives(graph, backprop.forward(graph, {"w": 0.1}))
    with pytest.raises(ValueError, match=r"1000000 paths .* more than max_paths=1000"):
        backprop.path_sum(graph, z, "w", "o", max_paths=1000)
    dp = backprop.reverse_accumulate(graph, z, "o")
    assert dp.multiplications == 100 * 2 + 2 * 100 * 100

    def f(w):
        h = jnp.full((100,), jax.nn.sigmoid(w))
        for _ in range(2):
            h = jnp.full((100,), jax.nn.sigmoid(h.sum()))
        return h.sum()

    assert dp.adjoints[0] == pytest.approx(float(jax.grad(f)(jnp.float64(0.1))), rel=1e-10)


def test_gradient_of_several_inputs_and_every_op(fd_gradient):
    g = backprop.GraphBuilder()
    a, b = g.input("a"), g.input("b")
    m = g.node("m", "mul", a, b)
    s = g.node("s", "sigmoid", m)
    t = g.node("t", "tanh", a)
    r = g.node("r", "relu", b)
    e = g.node("e", "exp", s)
    c = g.node("c", "copy", t)
    g.node("o", "add", e, c, r)
    graph = g.build()

    def f(v):
        a, b = v[0], v[1]
        return jnp.exp(jax.nn.sigmoid(a * b)) + jnp.tanh(a) + jax.nn.relu(b)

    point = np.array([0.7, -0.4])
    grads = backprop.gradient(graph, {"a": point[0], "b": point[1]}, "o")
    expected = np.asarray(jax.grad(f)(jnp.asarray(point)))
    np.testing.assert_allclose([grads["a"], grads["b"]], expected, rtol=1e-12)
    np.testing.assert_allclose(expected, fd_gradient(f, point), rtol=1e-6)


def test_mul_local_derivatives_need_no_division_by_zero():
    g = backprop.GraphBuilder()
    a, b, c = g.input("a"), g.input("b"), g.input("c")
    g.node("o", "mul", a, b, c)
    grads = backprop.gradient(g.build(), {"a": 0.0, "b": 2.0, "c": 3.0}, "o")
    assert grads == {"a": 6.0, "b": 0.0, "c": 0.0}


def test_builder_and_graph_errors():
    g = backprop.GraphBuilder()
    w = g.input("w")
    with pytest.raises(ValueError, match=r"unknown op 'log'"):
        g.node("y", "log", w)
    with pytest.raises(ValueError, match=r"op 'square' takes 1 parent"):
        g.node("y", "square", w, w)
    with pytest.raises(ValueError, match=r"lists a parent twice"):
        g.node("y", "mul", w, w)
    with pytest.raises(ValueError, match=r"parent 3 of 'y' is not an existing node"):
        g.node("y", "sin", 3)
    with pytest.raises(ValueError, match=r"already a node called 'w'"):
        g.input("w")
    with pytest.raises(TypeError, match=r"non-empty string"):
        g.input("")
    graph = g.build()
    with pytest.raises(ValueError, match=r"no value given for input node\(s\) \['w'\]"):
        backprop.forward(graph, {})
    with pytest.raises(KeyError, match=r"no node called 'o'"):
        backprop.count_paths(graph, "w", "o")
    with pytest.raises(ValueError, match=r"expected 1 node values, got 2"):
        backprop.local_derivatives(graph, [1.0, 2.0])
    with pytest.raises(ValueError, match=r"`layers` must be an int >= 1"):
        backprop.power_graph(0)
    with pytest.raises(ValueError, match=r"`width` must be an int >= 1"):
        backprop.layered_graph(2.5, 2)


def test_builder_docstring_example():
    import doctest

    failures, tried = doctest.testmod(backprop, verbose=False)
    assert tried >= 4 and failures == 0


def test_sin_cos_graph_is_fig_3_3():
    graph = backprop.sin_cos_graph()
    assert graph == _graph_fig_3_3()
    w = 0.7
    grads = backprop.gradient(graph, {"w": w}, "o")
    assert grads["w"] == pytest.approx(2 * w * (math.cos(w * w) - math.sin(w * w)), rel=1e-12)


def test_averaged_layered_graph_does_not_saturate_and_equals_jax_grad():
    graph = backprop.layered_graph(100, 3, average=True)
    assert backprop.count_paths(graph, "w", "o") == 100**3
    assert graph.ops[-2] == "sigmoid_mean"

    def f(w):
        h = jnp.full((100,), jax.nn.sigmoid(w))
        for _ in range(2):
            h = jnp.full((100,), jax.nn.sigmoid(h.mean()))
        return h.sum()

    w = 0.5
    z = backprop.local_derivatives(graph, backprop.forward(graph, {"w": w}))
    dp = backprop.reverse_accumulate(graph, z, "o")
    expected = float(jax.grad(f)(jnp.float64(w)))
    assert abs(expected) > 1e-3  # no saturation
    assert dp.adjoints[0] == pytest.approx(expected, rel=1e-10)
    small = backprop.layered_graph(3, 3, average=True)
    zs = backprop.local_derivatives(small, backprop.forward(small, {"w": w}))
    assert backprop.path_sum(small, zs, "w", "o").derivative == pytest.approx(
        backprop.reverse_accumulate(small, zs, "o").adjoints[0], rel=1e-12
    )
