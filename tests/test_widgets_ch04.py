"""The pictures of the chapter 4 widgets (capacity explorer, penalty explorer, bagging explorer,
the VAE's latent explorer): every control changes the picture, the static part is drawn once,
the figures fit JupyterLab, the words describe them, and nothing recompiles. Beside these, each
widget shows the library's numbers: the degree only redraws the capacity sweep, the penalty
explorer's weights are the library's (and it redraws fast), the bagging explorer draws only m
members, and the latent explorer's image is the decoder at the chosen code (bad codes are
rejected).

Their numbers are tested beside the library they show (tests/test_generalization.py,
test_regularization.py, test_ensembles.py, test_vae.py and test_regularized_autoencoders.py).
"""

import functools

import matplotlib

matplotlib.use("Agg")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from widget_views import (  # noqa: E402, F401 (course_style: an autouse fixture)
    build_quietly,
    check_controls,
    check_fits_and_words,
    check_same_picture,
    course_style,
)

from course_lib import (  # noqa: E402
    data,
    ensembles,
    generalization,
    linear_models,
    regularization,
    vae,
    widgets,
)


@functools.cache
def _problem():
    return regularization.planted_sparse(key=jax.random.key(3), n=160, d=20, k=3, noise=1.0)


def _vae_params():
    params = vae.init(key=jax.random.key(0), d=64, hidden=16, k=2)
    return jax.tree.map(lambda a: a.astype(jnp.float32), params)


def _latent():
    digits = data.digits()
    params = _vae_params()
    mu, _ = vae.encode(params, digits.X[:200].astype(jnp.float32))
    return widgets.latent_explorer(params, mu, digits.y[:200])


# widget -> (how to build it, {control: values to move it through})
CASES = {
    "capacity_explorer": (
        lambda: widgets.capacity_explorer(max_n=40, max_datasets=60),
        {"degree": [1, 8], "n": [8, 40], "sigma": [0.2, 1.0], "datasets": [30, 60]},
    ),
    "penalty_explorer": (
        lambda: widgets.penalty_explorer(_problem(), n_train=40, steps=500),
        {"lam": [1.0, 100.0], "penalty": ["l2", "l1"]},  # the defaults are lam 10, L1
    ),
    "bagging_explorer": (
        widgets.bagging_explorer,
        {"m": [3, 30], "frac": [0.5, 0.8], "replace": [False, True]},
    ),
    "latent_explorer": (_latent, {"z1": [-2.0, 2.5], "z2": [1.5, -2.5]}),
}


def _build(name):
    build, moves = CASES[name]
    return build_quietly(build), moves


@pytest.mark.parametrize("name", list(CASES))
def test_every_control_changes_the_picture_and_nothing_recompiles(name):
    check_controls(*CASES[name])


@pytest.mark.parametrize("name", list(CASES))
def test_the_picture_fits_jupyterlab_and_has_words(name):
    check_fits_and_words(_build(name)[0])


@pytest.mark.parametrize("name", list(CASES))
def test_same_setting_same_picture(name):
    """The animated artists leave nothing behind between frames."""
    check_same_picture(*_build(name))


# ---- capacity explorer (ch04a) ----


def test_degree_only_redraws_and_the_picture_shows_the_sweep():
    demo, _ = _build("capacity_explorer")
    res = demo.set(n=20, sigma=0.5, datasets=60)
    assert demo.set(degree=6) is res  # the degree redraws the stored result
    view = demo.view
    x, y = view.lines["bias2"].get_data()
    np.testing.assert_allclose(y, np.maximum(res.bias2, view.YLIM_ERR[0]))
    _, fit = view.fits[3].get_data()
    np.testing.assert_allclose(fit, np.clip(res.predictions[6, 3], -1e3, 1e3))
    assert view.noise.get_ydata()[0] == pytest.approx(0.25)
    assert f"lowest at degree {int(np.argmin(res.test_mse))}" in demo.alt
    np.testing.assert_allclose(res.f, generalization.true_function(res.grid))


# ---- penalty explorer (ch04b) ----


def test_penalty_explorer_numbers_are_the_librarys():
    demo, _ = _build("penalty_explorer")
    problem = _problem()
    X, y = problem.X[:40], problem.y[:40]
    res = demo.set(penalty="l2", lam=5.0)
    np.testing.assert_allclose(res.w, linear_models.ridge_closed_form(X, y, 5.0), atol=1e-8)
    assert res.zeros == 0
    res = demo.set(penalty="l1", lam=60.0)
    lib = regularization.penalized_solution(X, y, penalty="l1", lam=60.0, steps=500)
    np.testing.assert_allclose(res.w, lib, atol=1e-12)
    assert res.zeros == int(np.sum(np.asarray(lib) == 0)) and res.zeros >= 10
    Xv, yv = np.asarray(problem.X[40:]), np.asarray(problem.y[40:])
    assert res.val_mse == pytest.approx(float(np.mean((Xv @ res.w - yv) ** 2)))


def test_penalty_explorer_names_the_zeros():
    # (how fast it redraws is measured in the browser test and benchmarks/bench_widgets.py,
    # not asserted here)
    demo, _ = _build("penalty_explorer")
    alt = demo.alt
    assert "L1" in alt and "exactly zero" in alt
    res = demo.set(penalty="l2")
    assert "L2-penalized" in demo.alt and f"{res.zeros} fitted weights are exactly zero" in demo.alt


# ---- bagging explorer (ch04c) ----


def test_bagging_explorer_shows_the_library_numbers_and_only_m_members():
    demo, _ = _build("bagging_explorer")
    res = demo.set(m=4, frac=0.6, replace=True)
    ref = ensembles.bagging_experiment(key=jax.random.key(0), m=4, frac=0.6, replace=True)
    np.testing.assert_array_equal(res.var_curve, ref.var_curve)
    drawn = [line for line in demo.view.members if len(line.get_xdata())]
    assert len(drawn) == 4
    demo.set(replace=False, frac=1.0)
    assert "without replacement" in demo.alt
    assert demo.last.member_spread < 1e-10  # s = n without replacement: one model repeated


# ---- latent explorer (ch04d) ----


def test_latent_explorer_image_is_the_decoder_at_the_chosen_code():
    demo, _ = _build("latent_explorer")
    res = demo.set(z1=0.7, z2=-1.3)
    expected = vae.decode(_vae_params(), jnp.array([[0.7, -1.3]], jnp.float32))[0]
    np.testing.assert_allclose(res.image, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(res.z, [0.7, -1.3])


def test_latent_explorer_rejects_bad_codes():
    with pytest.raises(ValueError, match="`codes` must have shape"):
        widgets.latent_explorer(_vae_params(), np.zeros((5, 3)), np.zeros(5))
