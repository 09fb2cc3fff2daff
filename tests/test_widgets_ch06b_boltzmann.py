"""The picture of the ch06b widget (the equilibrium explorer): every control changes it, nothing
recompiles, the figure fits JupyterLab, and the words under it match the numbers it shows (the
exact distribution is the library's, the sampled bars are the chain's state frequencies)."""

import matplotlib

matplotlib.use("Agg")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from widget_views import (  # noqa: E402, F401 (course_style: an autouse fixture)
    build_quietly,
    check_controls,
    check_fits_and_words,
    check_same_picture,
    course_style,
)

from course_lib import boltzmann, widgets  # noqa: E402

MOVES = {"length": [10, 3000], "T": [0.5, 2.0]}


def test_every_control_changes_the_picture_and_nothing_recompiles():
    check_controls(widgets.equilibrium_explorer, MOVES)


def test_the_picture_fits_jupyterlab_and_has_words():
    check_fits_and_words(build_quietly(widgets.equilibrium_explorer))


def test_same_setting_same_picture():
    check_same_picture(build_quietly(widgets.equilibrium_explorer), MOVES)


def test_the_numbers_and_words_match_the_state():
    demo = build_quietly(widgets.equilibrium_explorer)
    res = demo.set(length=300, T=1.5)
    base = boltzmann.example_machine(jnp.float64)
    exact = boltzmann.exact_distribution(boltzmann.BMParams(base.W / 1.5, base.b / 1.5))
    np.testing.assert_allclose(res.exact, exact, rtol=1e-5)
    assert abs(res.sampled.sum() - 1) < 1e-12 and np.all(res.sampled * 300 % 1 < 1e-9)
    assert res.tv == 0.5 * np.abs(res.sampled - res.exact).sum()
    assert res.tv_curve[-1] < res.tv_curve[0]
    assert "temperature 1.50" in demo.alt and "300 sweeps" in demo.alt
    assert f"{res.tv:.3f} at this length" in demo.alt
    before = boltzmann.gibbs_sample_cache_size()
    demo.set(T=2.5)
    assert boltzmann.gibbs_sample_cache_size() == before
    assert jax.numpy.isfinite(res.tv)
