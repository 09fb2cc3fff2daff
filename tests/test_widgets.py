"""Tests for course_lib.widgets: callbacks are plain functions, right, and never recompile."""

import contextlib
import io

import matplotlib

matplotlib.use("Agg")

import jax  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_lib import activations, data, perceptron, widgets  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def explorer():
    return widgets.margin_explorer(n=40, epochs=40)


def test_margin_explorer_compute_matches_the_library(explorer):
    run = explorer.compute(margin=0.05, seed=4)
    ds = data.linearly_separable(key=jax.random.key(4), n=40, margin=0.05)
    fit = perceptron.fit(ds.X, ds.y, epochs=40)
    assert run.num_updates == int(fit.num_updates)
    assert run.bound == pytest.approx(float(ds.mistake_bound), rel=1e-5)
    np.testing.assert_allclose(run.path[-1], np.asarray(fit.w), rtol=1e-5, atol=1e-6)
    assert run.converged and run.num_updates <= run.bound


def test_margin_explorer_moving_sliders_recomputes_without_recompiling(explorer):
    explorer.set(margin=0.2, seed=1)
    before = widgets.margin_run_cache_size()
    for margin, seed in [(0.03, 2), (0.4, 9), (0.011, 0)]:
        run = explorer.set(margin=margin, seed=seed)
        assert explorer.last is run
        assert explorer.controls["t"].max == run.num_updates  # the replay slider follows the run
        assert explorer.controls["t"].value == run.num_updates
        assert run.num_updates <= run.bound
    assert widgets.margin_run_cache_size() == before


def test_margin_explorer_replay_slider_only_redraws(explorer):
    run = explorer.set(margin=0.02, seed=5)
    assert explorer.set(t=0) is run  # no recomputation: the same stored result
    before = explorer.frame.copy()
    assert explorer.set(t=1) is run
    assert not np.array_equal(explorer.frame, before), "a new t must move w_t in the picture"
    assert explorer.view.title.get_text() == f"after update 1 of {run.num_updates}"


def test_demo_rejects_unknown_controls(explorer):
    with pytest.raises(ValueError, match="unknown control"):
        explorer.set(margn=0.1)


def test_activation_explorer_switches_without_recompiling():
    demo = widgets.activation_explorer(max_depth=12)
    before = activations.chain_gradients_cache_size()
    for name, weight in [("tanh", 2.0), ("relu", 0.5), ("identity", 1.5), ("sigmoid", 3.0)]:
        res = demo.set(name=name, weight=weight)
        assert res.grads.shape == (12,)
    assert activations.chain_gradients_cache_size() == before
    # what the right panel shows is the result: |d x_L / d x_0| and the bound, per depth
    np.testing.assert_allclose(demo.view.chain.get_ydata(), np.abs(res.grads))
    np.testing.assert_allclose(demo.view.bound.get_ydata(), 0.75**res.depths, rtol=1e-5)


# ---------------------------------------------------------------------- ch03a: gradient checking


def test_gradcheck_explorer_matches_an_independent_check_and_never_recompiles():
    from course_lib import gradcheck, mlp

    k1, k2, k3 = jax.random.split(jax.random.key(3), 3)
    params = mlp.init((4, 5, 3), key=k1, scheme="normal", scale=0.8)
    X = jax.random.normal(k2, (6, 4))
    y = jax.random.randint(k3, (6,), 0, 3)
    demo = widgets.gradcheck_explorer(params, X, y, grid=12)
    size = widgets.gradcheck_cache_size()
    result = demo.compute(eps=1e-3)  # truncation dominates: a deterministic error
    # independent: the coordinate loop of gradcheck.finite_difference on a flat float64 vector
    flat = np.concatenate([np.asarray(a, np.float64).ravel() for a in jax.tree.leaves(params)])
    shapes = [a.shape for a in jax.tree.leaves(params)]

    def unflatten(v):
        out, i = [], 0
        for s in shapes:
            n = int(np.prod(s))
            out.append(v[i : i + n].reshape(s))
            i += n
        return tuple(mlp.Dense(out[2 * j], out[2 * j + 1]) for j in range(len(out) // 2))

    X64 = np.asarray(X, np.float64)
    fds = [
        gradcheck.finite_difference(lambda v: mlp.loss(unflatten(v), X64, y, "tanh"), flat, 1e-3, k)
        for k in ("forward", "central")
    ]
    hand = np.concatenate(
        [
            np.asarray(a).ravel()
            for a in jax.tree.leaves(mlp.backprop_pre(unflatten(flat), X64, y, "tanh"))
        ]
    )
    for fd, k in zip(fds, (2, 3), strict=True):
        expected = np.linalg.norm(fd - hand) / np.linalg.norm(fd + hand)
        assert result.rho[k] == pytest.approx(expected, rel=1e-3)
    small = demo.compute(eps=1e-5)
    assert small.rho[3] < 1e-8 < 1e-6 < small.rho[1]  # float64 passes, float32 cannot
    demo.compute(eps=1e-9)
    assert widgets.gradcheck_cache_size() == size == 1
    # the curves are V-shaped: too small and too large a step both hurt
    best = int(np.argmin(demo.curves[:, 3]))
    assert 0 < best < len(demo.eps_grid) - 1
    demo.set(eps=1e-3)  # the picture marks the chosen step on each curve
    dots = [dot.get_ydata()[0] for dot in demo.view.dots]
    np.testing.assert_allclose(dots, np.maximum(result.rho, demo.view.FLOOR))


# ------------------------------------------------------------------------------ every widget

_COMPILES: list[int] = [0]


def _count_compiles(event: str, duration: float, **kwargs) -> None:
    if event == "/jax/core/compile/backend_compile_duration":
        _COMPILES[0] += 1


jax.monitoring.register_event_duration_secs_listener(_count_compiles)


def _widget_cases():
    from course_lib import mlp

    def multiclass():
        three = data.blobs(key=jax.random.key(1), n=90)
        return widgets.multiclass_explorer(three.X, three.y, key=jax.random.key(3), epochs=5)

    def code_size():
        return widgets.code_size_explorer(data.digits().X[:200], steps=50)

    def gradcheck():
        k1, k2, k3 = jax.random.split(jax.random.key(2), 3)
        net = mlp.init((4, 5, 3), key=k1, scheme="normal", scale=0.8)
        X = jax.random.normal(k2, (6, 4))
        return widgets.gradcheck_explorer(net, X, jax.random.randint(k3, (6,), 0, 3), grid=9)

    def temperature():
        from course_lib import language_model

        text = "the cat sat on the mat. the dog sat on the log."
        vocab = language_model.build_vocab(text)
        model = language_model.init(key=jax.random.key(0), vocab_size=vocab.size, hidden_dim=16)
        return widgets.temperature_explorer(model, vocab, "the cat ", length=60)

    def digits():
        from course_lib import cnn

        digits = data.digits()
        return widgets.digit_inspector(
            cnn.init(jax.random.key(0), image_size=8), cnn.as_images(digits.X[:50]), digits.y[:50]
        )

    return {
        "margin_explorer": (widgets.margin_explorer, "margin", [0.03, 0.07, 0.2]),
        "activation_explorer": (widgets.activation_explorer, "weight", [0.7, 1.3, 2.1]),
        "multiclass_explorer": (multiclass, "lam", [1e-3, 0.1, 0.5]),
        "code_size_explorer": (code_size, "k", [2, 5, 9]),
        "gradcheck_explorer": (gradcheck, "eps", [1e-9, 1e-4, 1e-2]),
        "optimizer_race": (widgets.optimizer_race, "lr", [0.02, 0.11, 0.3]),
        "depth_explorer": (
            lambda: widgets.depth_explorer(max_depth=12, width=16),
            "gain",
            [0.6, 1.4],
        ),
        "spectral_radius_explorer": (widgets.spectral_radius_explorer, "rho", [0.5, 1.0, 1.5]),
        "temperature_explorer": (temperature, "temperature", [0.3, 1.7, 2.5]),
        "conv_slider": (widgets.conv_slider, "stride", [1, 2, 3]),
        "digit_inspector": (digits, "index", [0, 5, 17]),
    }


@pytest.mark.parametrize("name", list(_widget_cases()))
def test_moving_any_widget_compiles_nothing_at_all(name):
    """Not only the widget's own jitted function: no JAX compilation of any kind (an eager op
    on a new shape compiles too) after the first value, and every move draws a new picture."""
    build, control, values = _widget_cases()[name]
    with contextlib.redirect_stdout(io.StringIO()):
        demo = build()  # computes and draws the default setting
    before = _COMPILES[0]
    for value in values:
        previous, moved = demo.frame.copy(), demo.controls[control].value != value
        demo.set(**{control: value})  # compute + redraw, as a slider move does
        changed = demo.frame.shape != previous.shape or not np.array_equal(demo.frame, previous)
        assert changed == moved, f"{name}: moving {control} to {value!r}: picture changed {changed}"
    assert _COMPILES[0] == before, f"{name}: {_COMPILES[0] - before} compilation(s)"
