"""The in-place views of the chapter 1-3 widgets (course_lib.widgets: perceptron, activations,
linear_models, autoencoders, optim, gradcheck, deepnets).

For each widget: every control changes the picture (``demo.frame``) where it should, the
static part (axes, ticks, legends) is drawn once however the controls move, the picture fits
the notebook's width, ``demo.alt`` says in words what it shows, and nothing recompiles.
"""

import contextlib
import io

import matplotlib

matplotlib.use("Agg")

import ipywidgets  # noqa: E402
import jax  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_lib import data, mlp, plotting, widgets  # noqa: E402

_COMPILES = [0]


def _count(event: str, duration: float, **kwargs) -> None:
    if event == "/jax/core/compile/backend_compile_duration":
        _COMPILES[0] += 1


jax.monitoring.register_event_duration_secs_listener(_count)


def _gradcheck():
    k1, k2, k3 = jax.random.split(jax.random.key(2), 3)
    net = mlp.init((4, 5, 3), key=k1, scheme="normal", scale=0.8)
    X = jax.random.normal(k2, (6, 4))
    return widgets.gradcheck_explorer(net, X, jax.random.randint(k3, (6,), 0, 3), grid=9)


def _multiclass():
    three = data.blobs(key=jax.random.key(1), n=60)
    return widgets.multiclass_explorer(three.X, three.y, key=jax.random.key(3), epochs=5)


#: widget -> (how to build it small, [(control, new value), ...] in the order they are moved)
CASES = {
    "margin_explorer": (
        lambda: widgets.margin_explorer(n=30, epochs=20),
        [("margin", 0.05), ("seed", 3), ("t", 1)],
    ),
    "activation_explorer": (
        lambda: widgets.activation_explorer(max_depth=10),
        [("name", "relu"), ("name", "leaky_relu"), ("weight", 2.0)],
    ),
    "multiclass_explorer": (_multiclass, [("loss", "weston_watkins"), ("lam", 0.3)]),
    "code_size_explorer": (
        lambda: widgets.code_size_explorer(data.digits().X[:120], k_max=6, steps=30),
        [("k", 2), ("k", 6)],
    ),
    "optimizer_race": (
        lambda: widgets.optimizer_race(steps=60),
        [
            ("lr", 0.2),
            ("adaptive_lr", 0.3),
            ("beta", 0.9),
            ("b", 2.0),
            ("angle", 45.0),
            ("methods", ("GD", "Nesterov")),
            ("t", 7),
        ],
    ),
    "gradcheck_explorer": (_gradcheck, [("eps", 1e-3), ("eps", 1e-9)]),
    "depth_explorer": (
        lambda: widgets.depth_explorer(max_depth=8, width=8),
        [("activation", "relu"), ("depth", 4), ("gain", 2.0)],
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_every_control_changes_the_picture_and_the_static_part_is_drawn_once(name):
    build, moves = CASES[name]
    with contextlib.redirect_stdout(io.StringIO()):
        demo = build()
    live = demo.view.live
    height, width = demo.frame.shape[:2]
    dpi = live.fig.dpi
    assert width <= plotting.MAX_WIDTH * dpi + 1, f"{name}: {width} px is wider than the notebook"
    before = _COMPILES[0]
    for control, value in moves:
        previous = demo.frame.copy()
        demo.set(**{control: value})
        assert demo.frame.shape == previous.shape, f"{name}: the picture changed size"
        assert not np.array_equal(demo.frame, previous), f"{name}: moving {control} did nothing"
    assert live.full_draws == 1, f"{name}: the static part was drawn {live.full_draws} times"
    assert _COMPILES[0] == before, f"{name}: {_COMPILES[0] - before} compilation(s)"
    alt = demo.alt
    assert isinstance(alt, str) and alt.endswith(".") and len(alt.split()) >= 12, alt
    assert "interactive figure" not in alt  # the view's own words, not the fallback


@pytest.mark.parametrize("name", list(CASES))
def test_no_text_below_nine_points(name):
    build, moves = CASES[name]
    with contextlib.redirect_stdout(io.StringIO()):
        demo = build()
    for control, value in moves:
        demo.set(**{control: value})
    fig = demo.view.live.fig
    texts = [t for t in fig.findobj(matplotlib.text.Text) if t.get_visible() and t.get_text()]
    small = {t.get_text(): t.get_fontsize() for t in texts if t.get_fontsize() < 9}
    assert not small, f"{name}: text below 9 pt: {small}"


def test_margin_explorer_legends_sit_below_the_data():
    demo = widgets.margin_explorer(n=30, epochs=20)
    fig = demo.view.live.fig
    renderer = fig.canvas.get_renderer()
    for ax in demo.view.live.axes:
        legend = ax.get_legend().get_window_extent(renderer)
        assert legend.y1 < ax.get_window_extent(renderer).y0, "the legend covers the panel"


def test_activation_explorer_tells_leaky_relu_from_relu():
    demo = widgets.activation_explorer(max_depth=5)
    demo.set(name="relu")
    relu_slope, relu_zoom = demo.view.slope.get_text(), demo.view.fn_zoom.get_ydata().copy()
    relu = demo.frame.copy()
    demo.set(name="leaky_relu")
    assert relu_slope.endswith(": 0") and demo.view.slope.get_text().endswith(": 0.01")
    # the zoomed negative side: flat for ReLU, down to 0.01 * v_min for leaky ReLU
    assert np.all(relu_zoom == 0)
    v_min = demo.view.VLIM[0]
    assert demo.view.fn_zoom.get_ydata()[0] == pytest.approx(0.01 * v_min, rel=1e-5)
    assert demo.view.ZOOM_Y[0] < 0.01 * v_min  # and it lies inside the inset
    # and the two pictures differ in the inset, not only in the title
    x0, y0, x1, y1 = (
        demo.view.fn_zoom.axes.get_window_extent(demo.view.live.fig.canvas.get_renderer())
        .extents.round()
        .astype(int)
    )
    h = relu.shape[0]
    inset_relu, inset_leaky = relu[h - y1 : h - y0, x0:x1], demo.frame[h - y1 : h - y0, x0:x1]
    assert not np.array_equal(inset_relu, inset_leaky)


def test_optimizer_race_controls_sit_in_short_rows():
    demo = widgets.optimizer_race(steps=30)
    rows = [box for box in demo.widget.children if getattr(box, "children", None)]
    sizes = [len(row.children) for row in rows]
    assert max(sizes) <= 3 and sum(sizes) == len(demo.controls) + 1  # + the Play button
    # the method selector is one row of toggle buttons, not a tall list
    buttons = demo.controls["methods"].buttons.values()
    assert all(isinstance(b, ipywidgets.ToggleButton) for b in buttons)
