"""The ch09d widget (the REINFORCE explorer): every control changes the picture, nothing
recompiles, the picture fits JupyterLab, and the words and numbers are the library's."""

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
    course_style,
)

from course_lib import policy_gradient, widgets  # noqa: E402

MOVES = {"n": [200, 3], "use_baseline": [True, False], "b": [2.5, 0.5]}


def _build():
    return widgets.reinforce_explorer(repeats=200)


def test_every_control_changes_the_picture_and_nothing_recompiles():
    # b moves the picture only with the baseline on, so the toggle comes before it
    check_controls(_build, {"n": MOVES["n"], "use_baseline": [True], "b": MOVES["b"]})


def test_the_picture_fits_jupyterlab_and_has_words():
    demo = build_quietly(_build)
    check_fits_and_words(demo)
    res = demo.set(n=50, use_baseline=True, b=2.0)
    assert "averaging 50 sampled actions with a baseline b = 2.00" in demo.alt
    assert f"measured now {res.measured_var:.4f}" in demo.alt


def test_the_numbers_are_the_librarys():
    demo = build_quietly(_build)
    res = demo.set(n=40, use_baseline=True, b=1.0)
    z = jnp.array([0.5, -0.2, 0.1, 0.0])
    q = jnp.array([1.0, 2.0, 0.5, 3.0])
    ref = policy_gradient.sample_estimates(
        z, q, key=jax.random.key(0), n=40, baseline=1.0, repeats=200
    )
    np.testing.assert_allclose(res.estimates, ref, rtol=1e-6)
    np.testing.assert_allclose(res.exact, jax.grad(policy_gradient.expected_reward)(z, q))
    expected = float(policy_gradient.estimator_variance(z, q, 1.0)) / 40
    assert res.formula_var == pytest.approx(expected)
    assert res.measured_var == pytest.approx(expected, rel=0.3)  # 200 estimates: +-20 %
