"""Tests for course_lib.plotting: the figures draw what they claim, and every formula renders."""

import matplotlib

matplotlib.use("Agg")

import jax.numpy as jnp  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.mathtext import MathTextParser  # noqa: E402

from course_lib import activations, losses, plotting  # noqa: E402

FORMULAS = [a.formula for a in activations.ACTIVATIONS.values()]
FORMULAS += [a.grad_formula for a in activations.ACTIVATIONS.values()]
FORMULAS += [m.formula for m in losses.MARGIN_LOSSES.values()]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("formula", FORMULAS)
def test_every_formula_renders_in_matplotlib_mathtext(formula):
    # Legends show these strings; mathtext knows less LaTeX than MathJax (no \le, \operatorname).
    MathTextParser("path").parse(f"${formula}$")


@pytest.mark.parametrize("w", [[1.0, 2.0], [0.5, -1.0, 0.3], [-2.0, 0.1, -0.4]])
def test_linear_boundary_draws_the_line_w_dot_x_plus_b_equals_zero(w):
    fig, (ax,) = plotting.figure()
    plotting.linear_boundary(ax, w, normal=True)
    (line,) = ax.get_lines()
    xs, ys = line.get_data()
    b = w[2] if len(w) > 2 else 0.0
    np.testing.assert_allclose(w[0] * np.asarray(xs) + w[1] * np.asarray(ys) + b, 0.0, atol=1e-9)
    arrow = ax.texts[0]  # the normal arrow points to the +1 side: along (w1, w2)
    tip, tail = np.asarray(arrow.xy), np.asarray(arrow.xyann)
    assert np.dot(tip - tail, w[:2]) > 0


def test_linear_boundary_of_zero_weights_draws_nothing():
    fig, (ax,) = plotting.figure()
    plotting.linear_boundary(ax, [0.0, 0.0])
    assert len(ax.get_lines()) == 0 and len(ax.texts) == 0


def test_scatter_classes_splits_by_label():
    X = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])
    y = np.array([1.0, -1.0, 1.0])
    fig, (ax,) = plotting.figure()
    plotting.scatter_classes(ax, X, y)
    pos, neg = ax.collections
    np.testing.assert_array_equal(pos.get_offsets(), X[y > 0])
    np.testing.assert_array_equal(neg.get_offsets(), X[y < 0])


def test_decision_regions_shades_where_predict_is_positive():
    fig, (ax,) = plotting.figure()
    calls = []

    def predict(p):
        calls.append(p.shape)
        return p[:, 0]  # positive on the right half

    plotting.decision_regions(ax, predict, xlim=(-1, 1), ylim=(-1, 1), resolution=11)
    assert calls == [(121, 2)]
    assert len(ax.collections) >= 1 and ax.get_xlim() == (-1, 1)


def test_margin_losses_plots_each_loss_as_a_function_of_the_margin():
    fig, (ax,) = plotting.figure()
    names = ("perceptron", "hinge", "logistic")
    plotting.margin_losses(ax, names, zlim=(-2.0, 2.0))
    curves = ax.get_lines()[: len(names)]
    for name, line in zip(names, curves, strict=True):
        z, value = line.get_data()
        np.testing.assert_allclose(value, np.asarray(losses.get(name).fn(jnp.asarray(z))))


def test_activation_panel_plots_function_hand_derivative_and_autodiff_dots():
    fig, (ax,) = plotting.figure()
    plotting.activation(ax, "tanh")
    fn_line, grad_line, dots = ax.get_lines()
    v, g = grad_line.get_data()
    np.testing.assert_allclose(g, 1 - np.tanh(v) ** 2, atol=1e-6)
    vd, gd = dots.get_data()
    np.testing.assert_allclose(gd, 1 - np.tanh(vd) ** 2, atol=1e-6)


def test_curves_and_figure_grid():
    fig, axes = plotting.figure(3, 2)
    assert axes.shape == (6,)
    plotting.curves(axes[0], {"train": [3.0, 2.0, 1.0]}, logy=True)
    (line,) = axes[0].get_lines()
    np.testing.assert_array_equal(line.get_data()[0], [1, 2, 3])
    assert axes[0].get_yscale() == "log"


def test_computational_graph_draws_every_node_and_edge_label():
    from course_lib import backprop

    graph = backprop.power_graph(3)
    fig, (ax,) = plotting.figure(1)
    labels = {e: f"z{e[0]}{e[1]}" for e in graph.edges}
    plotting.computational_graph(ax, graph, edge_labels=labels, highlight=[0, 1, 3, 5, 7])
    texts = {t.get_text() for t in ax.texts}
    assert set(labels.values()) <= texts
    assert set(graph.names) <= texts
    assert len(ax.patches) == len(graph.names)
    # columns: inputs left, the output right
    pos = plotting._graph_layout(graph.parents)
    assert pos[0, 0] == 0 and pos[-1, 0] == pos[:, 0].max() == 4
