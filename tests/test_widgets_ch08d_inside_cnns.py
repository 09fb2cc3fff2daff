"""The chapter 8d widget (LRN explorer): every control changes the picture, nothing
recompiles, the picture fits JupyterLab, the words match the state, and the drawn profile is
the library's lrn of the input."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from widget_views import (  # noqa: E402, F401 (course_style: an autouse fixture)
    build_quietly,
    check_controls,
    check_fits_and_words,
    course_style,
)

from course_lib import cnn_visualization, widgets  # noqa: E402

A = np.array([20.0, 35.0, 50.0, 40.0, 100.0, 45.0, 30.0, 60.0, 25.0, 15.0, 30.0, 20.0])


def _build():
    return widgets.lrn_explorer(A)


def test_every_control_changes_the_picture_and_nothing_recompiles():
    check_controls(_build, {"k": [0.5], "log_alpha": [-2.5], "beta": [1.5], "n": [11]})


def test_the_picture_fits_and_the_words_match_the_state():
    demo = build_quietly(_build)
    check_fits_and_words(demo)
    res = demo.set(k=1.0, log_alpha=-3.0, beta=0.5, n=3)
    assert "k=1, alpha=1e-03, beta=0.5, n=3" in demo.alt
    expected = np.asarray(cnn_visualization.lrn(A, 1.0, 1e-3, 0.5, 3))
    np.testing.assert_allclose(res.b, expected)
    np.testing.assert_allclose(demo.view.b.get_ydata(), expected)
    assert f"from 100 to {expected[4]:.1f}" in demo.alt


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="`a` must be a 1-D vector of positive"):
        widgets.lrn_explorer(np.zeros((3, 4)))
