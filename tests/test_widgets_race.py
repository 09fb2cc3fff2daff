"""The optimizer race widget of ch03b_optimizers (course_lib.widgets, plotting sections).

Kept apart from tests/test_widgets.py (chapter 1) so that the chapters can evolve separately.
"""

import matplotlib

matplotlib.use("Agg")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from course_lib import optim, plotting, widgets  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def race():
    return widgets.optimizer_race(steps=120)


def test_race_widget_shows_the_library_runs(race):
    result = race.compute(lr=0.1, adaptive_lr=1.0, beta=0.5, b=4.0)
    assert result.names == optim.ZOO
    assert result.paths.shape == (7, 121, 2) and result.losses.shape == (7, 121)
    zoo = optim.optimizer_zoo(0.1, 1.0, 0.5)
    for i, (name, opt) in enumerate(zoo.items()):
        alone = optim.run(widgets.bowl, opt, jnp.array([30.0, 20.0]), 120)
        path, loss = alone.params, alone.loss
        if name == "Nesterov":  # the widget shows the book's W, not the look-ahead point
            path = optim.nesterov_iterates(path, 0.5)
            loss = jax.vmap(widgets.bowl)(path)
        np.testing.assert_allclose(result.paths[i], path, rtol=1e-6, atol=1e-8)
        assert result.counts[i] == int(optim.steps_to_tolerance(loss, 1e-6))
    assert result.counts[0] == 47  # GD at alpha = 0.1 on x^2 + 4y^2 (the lecture's closed form)


def _book_counts(alpha, adaptive_alpha, beta, angle, steps=300, tol=1e-6):
    """An independent NumPy oracle: GD, momentum, Nesterov (the book's W) and AdaGrad (A from 0,
    eps 1e-8) on x^2 + 4 y^2 turned by `angle`, from (30, 20) turned with it."""
    c, s = np.cos(angle), np.sin(angle)
    R = np.array([[c, s], [-s, c]])  # (u, v) = R w
    H = R.T @ np.diag([2.0, 8.0]) @ R  # L = w^T H w / 2
    w0 = R.T @ np.array([30.0, 20.0])

    def first_below(path):
        losses = [0.5 * w @ H @ w for w in path]
        return next((k for k, v in enumerate(losses) if v < tol), -1)

    def iterate(step):
        w, state, path = w0.copy(), None, [w0.copy()]
        for _ in range(steps):
            w, state = step(w, state)
            path.append(w.copy())
        return path

    def gd(w, _):
        return w - alpha * H @ w, None

    def momentum(w, v):
        v = (np.zeros(2) if v is None else v) * beta - alpha * H @ w
        return w + v, v

    def nesterov(w, v):
        v = np.zeros(2) if v is None else v
        v = beta * v - alpha * H @ (w + beta * v)
        return w + v, v

    def adagrad(w, acc):
        g = H @ w
        acc = (np.zeros(2) if acc is None else acc) + g * g
        return w - adaptive_alpha * g / np.sqrt(acc + 1e-8), acc

    return {
        name: first_below(iterate(step))
        for name, step in [
            ("GD", gd),
            ("momentum", momentum),
            ("Nesterov", nesterov),
            ("AdaGrad", adagrad),
        ]
    }


@pytest.mark.parametrize("angle", [0.0, 45.0])
def test_race_counts_equal_a_numpy_oracle_on_the_bowl_and_the_turned_bowl(angle):
    result = widgets.race_bowl(0.1, 23.0, 0.5, 4.0, np.radians(angle))
    oracle = _book_counts(0.1, 23.0, 0.5, np.radians(angle))
    for name, n in oracle.items():
        assert result.counts[optim.ZOO.index(name)] == n, name
    # GD, momentum and Nesterov do not notice the turn; AdaGrad (a diagonal rescaling) does.
    assert oracle["GD"] == 47 and oracle["momentum"] == 28 and oracle["Nesterov"] == 17
    assert oracle["AdaGrad"] == (8 if angle == 0.0 else 30)


def test_turning_the_bowl_turns_the_gd_path_and_keeps_the_loss():
    aligned = widgets.race_bowl(0.1, 1.0, 0.5, 4.0, 0.0, steps=50)
    theta = np.radians(30.0)
    turned = widgets.race_bowl(0.1, 1.0, 0.5, 4.0, theta, steps=50)
    c, s = np.cos(theta), np.sin(theta)
    R = np.array([[c, s], [-s, c]])
    for name in ("GD", "momentum", "Nesterov"):
        i = optim.ZOO.index(name)
        np.testing.assert_allclose(turned.paths[i] @ R.T, aligned.paths[i], rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(turned.losses[i], aligned.losses[i], rtol=1e-9, atol=1e-12)


def test_moving_any_slider_never_recompiles(race):
    race.compute(lr=0.1, adaptive_lr=1.0, beta=0.5, b=4.0)
    before = widgets.race_cache_size()
    for lr, adaptive_lr, beta, b in [(0.3, 0.05, 0.99, 1.0), (0.01, 10.0, 0.0, 10.0)]:
        race.set(lr=lr, adaptive_lr=adaptive_lr, beta=beta, b=b)
    race.set(angle=45.0)
    race.set(methods=("Adam",), t=3)  # redraw-only controls
    assert widgets.race_cache_size() == before


def test_gd_in_the_race_converges_iff_alpha_below_one_over_b(race):
    for b in (1.0, 4.0, 8.0):
        for factor, converges in [(0.95, True), (1.05, False)]:
            result = race.compute(lr=factor / b, adaptive_lr=1.0, beta=0.5, b=b)
            assert (result.counts[0] >= 0) == converges


def test_redraw_only_controls_do_not_recompute(race, monkeypatch):
    race.set(lr=0.1)
    calls = []
    original = race.compute
    monkeypatch.setattr(race, "compute", lambda **kw: calls.append(kw) or original(**kw))
    race.set(t=10)
    race.set(methods=("GD", "Nesterov"))
    assert calls == []
    race.set(beta=0.7)
    assert len(calls) == 1


def test_draw_race_has_the_chosen_methods(race):
    result = race.compute(lr=0.1, adaptive_lr=1.0, beta=0.5, b=4.0)
    fig = widgets.draw_race(result, ["GD", "Adam"], 5, 4.0)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    # the counts below the panels, in the methods' colours, only for the chosen methods
    labels = [t.get_text() for t in fig.texts if t.get_visible() and ":" in t.get_text()]
    adam = int(result.counts[6])
    assert labels[1:] == ["GD: 47", f"Adam: {adam}" if adam >= 0 else "Adam: —"]
    # the paths panel draws each chosen method up to iteration t: t + 1 points
    shown = {
        ln.get_label(): len(ln.get_xdata())
        for ln in fig.axes[0].get_lines()
        if ln.get_visible() and not ln.get_label().startswith("_")
    }
    assert shown == {"GD": 6, "Adam": 6}


def test_race_widget_layout_and_controls(race):
    """Rows of at most three controls, a compact method selector, and every control moves
    the picture; the static part is drawn once."""
    rows = [box for box in race.widget.children if hasattr(box, "children")]
    assert all(len(row.children) <= 4 for row in rows)  # the last row: t and Play
    methods = race.controls["methods"]
    assert methods.value == tuple(m for m in optim.ZOO if m in methods.value)
    methods.buttons["AdaGrad"].value = True  # a click on a toggle button
    assert "AdaGrad" in methods.value and "AdaGrad" in race.view.alt(race.last, race.values)
    race.set(methods=("GD",))
    assert [m for m, b in methods.buttons.items() if b.value] == ["GD"]
    with pytest.raises(ValueError, match="unknown method"):
        race.set(methods=("Adagrad",))
    race.set(methods=("GD", "momentum", "Adam"))
    moves = {
        "lr": 0.2, "adaptive_lr": 0.5, "beta": 0.9, "b": 2.0, "angle": 30.0,
        "methods": ("GD", "Adam"), "t": 12,
    }  # fmt: skip
    for name, value in moves.items():
        before = race.frame.copy()
        race.set(**{name: value})
        assert not np.array_equal(race.frame, before), f"moving {name} changed nothing"
    assert race.view.live.full_draws == 1
    title = race.view.title.get_text()
    assert "turned 30°" in title and "iteration 12" in title


def test_plotting_helpers_draw_what_they_are_given():
    fig, (ax1, ax2) = plotting.figure(2)
    plotting.loss_contours(ax1, widgets.bowl, xlim=(-5, 5), ylim=(-4, 4), levels=5)
    assert ax1.get_xlim() == (-5, 5) and ax1.get_ylim() == (-4, 4)
    path = np.array([[3.0, 2.0], [1.0, -1.0], [0.5, 0.2]])
    plotting.optimizer_paths(ax1, {"GD": path}, upto=1)
    drawn = [ln for ln in ax1.get_lines() if ln.get_label() == "GD"][0]
    np.testing.assert_array_equal(drawn.get_xydata(), path[:2])
    assert drawn.get_color() == plotting.METHOD_COLORS["GD"]
    plotting.loss_curves(ax2, {"Adam": np.array([1.0, 0.1, 0.0])}, tol=1e-6)
    curve = [ln for ln in ax2.get_lines() if ln.get_label() == "Adam"][0]
    assert curve.get_ydata()[-1] == pytest.approx(1e-12)  # zero clipped to the floor (log axis)
