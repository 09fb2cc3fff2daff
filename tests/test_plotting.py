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


def test_image_bank_puts_every_image_on_one_centred_scale_with_a_colorbar():
    images = np.stack([np.full((3, 3), 0.5), np.arange(9.0).reshape(3, 3) - 4.0, -np.eye(3)])
    fig = plt.figure(figsize=(6, 3), layout="constrained")
    axes = plotting.image_bank(fig, images, ncols=2, titles=["a", "b", "c"], label="weight")
    assert axes.shape == (2, 2) and not axes[1, 1].axison  # three images, the fourth panel off
    shown = [ax.get_images()[0] for ax in axes.ravel()[:3]]
    for im, want in zip(shown, images, strict=True):
        np.testing.assert_array_equal(im.get_array(), want)
        assert im.get_clim() == (-4.0, 4.0)  # one scale, centred at 0: a pale panel is small
    (colorbar_ax,) = [ax for ax in fig.axes if ax not in axes.ravel()]
    assert colorbar_ax.get_ylabel() == "weight"
    assert [ax.get_title() for ax in axes.ravel()[:3]] == ["a", "b", "c"]
    assert all(ax.title.get_fontsize() >= 10 for ax in axes.ravel()[:3])


def test_image_bank_shared_vmax_and_non_negative_maps():
    maps = np.abs(np.arange(8.0).reshape(2, 2, 2))
    fig = plt.figure(layout="constrained")
    top, bottom = fig.subfigures(2, 1)
    a = plotting.image_bank(top, maps, ncols=2, symmetric=False, vmax=10.0, cmap="magma")
    b = plotting.image_bank(bottom, -maps, ncols=2, vmax=10.0)
    assert a[0, 0].get_images()[0].get_clim() == (0.0, 10.0)
    assert b[0, 1].get_images()[0].get_clim() == (-10.0, 10.0)


@pytest.mark.parametrize(
    ("images", "kwargs", "name"),
    [
        (np.zeros((2, 3)), {}, "images"),
        (np.zeros((2, 3, 3)), {"ncols": 0}, "ncols"),
        (np.zeros((2, 3, 3)), {"titles": ["only one"]}, "titles"),
        (np.zeros((2, 3, 3)), {"vmax": -1.0}, "vmax"),
    ],
)
def test_image_bank_rejects_bad_arguments_by_name(images, kwargs, name):
    with pytest.raises((TypeError, ValueError), match=f"`{name}`"):
        plotting.image_bank(plt.figure(), images, **kwargs)


# ---------------------------------------------------------------- chapters 1 and 2 (ch01, ch02a/b)


def test_decision_regions_label_the_axes_and_class_legend_names_points_and_shades():
    fig, (ax, other) = plotting.figure(2)
    plotting.decision_regions(ax, lambda p: p[:, 0], xlim=(-1, 1), ylim=(-1, 1), resolution=5)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("$x_1$", "$x_2$")
    plotting.decision_regions(other, lambda p: p[:, 0], resolution=5, axis_labels=None)
    assert other.get_xlabel() == ""
    plotting.scatter_classes(ax, np.array([[0.5, 0.0], [-0.5, 0.0]]), np.array([1, -1]))
    plotting.class_legend(ax)
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["$y=+1$", "$y=-1$", "predicted $+1$", "predicted $-1$"]
    plotting.class_legend(ax, regions=False, where=fig)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["$y=+1$", "$y=-1$"]


def test_activation_zoom_shows_leaky_relus_negative_slope():
    fig, (ax,) = plotting.figure()
    plotting.activation(ax, "leaky_relu", zoom_negative=True)
    (inset,) = ax.child_axes
    assert [t.get_text() for t in inset.texts] == ["slope 0.01"]
    v, phi = inset.get_lines()[0].get_data()
    assert v.max() <= 0.0
    np.testing.assert_allclose(phi, 0.01 * v, rtol=1e-5, atol=1e-7)
    lo, hi = inset.get_ylim()
    assert hi - lo < 0.1  # magnified: the main panel spans about 4 units
    assert ax.get_legend().get_texts()[0].get_fontsize() >= 9


def test_digit_images_share_one_scale_when_asked():
    fig, axes = plotting.figure(2)
    images = np.stack([np.linspace(0, 1, 64), np.linspace(0, 3, 64)])
    plotting.digit_images(axes, images, ["a", "b"], vmin=0.0, vmax=3.0)
    assert [ax.get_images()[0].get_clim() for ax in axes] == [(0.0, 3.0)] * 2
    assert all(ax.title.get_fontsize() >= 9 for ax in axes)


def test_labelled_points_colour_groups_from_the_colour_blind_safe_palette():
    fig, (ax,) = plotting.figure()
    P = np.arange(6.0).reshape(3, 2)
    plotting.labelled_points(ax, P, ["x", "y", "z"], groups=["b", "a", "b"])
    colors = ax.collections[0].get_facecolors()
    np.testing.assert_allclose(colors[1], matplotlib.colors.to_rgba(plotting.OKABE_ITO[0]))
    np.testing.assert_allclose(colors[0], matplotlib.colors.to_rgba(plotting.OKABE_ITO[1]))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]
    assert min(t.get_fontsize() for t in ax.texts) >= 9
    with pytest.raises(ValueError, match="`groups` may hold at most 8 groups"):
        plotting.labelled_points(ax, np.zeros((9, 2)), list("abcdefghi"), groups=list("abcdefghi"))
