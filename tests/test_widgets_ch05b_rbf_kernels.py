"""The picture of the ch05b widget (RBF ridge vs kernel ridge vs interpolation): every control
changes the picture, the static part is drawn once, nothing recompiles, the figure fits
JupyterLab, and the curves and the words are the library's numbers."""

import functools

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from widget_views import (  # noqa: E402, F401 (course_style: an autouse fixture)
    build_quietly,
    check_controls,
    check_fits_and_words,
    check_same_picture,
    course_style,
)

from course_lib import kernel_methods, widgets  # noqa: E402

MOVES = {"sigma": [0.2, 1.0], "lam": [1e-4, 3.0]}


@functools.cache
def _demo():
    return build_quietly(widgets.ridge_explorer)


def test_every_control_changes_the_picture_and_nothing_recompiles():
    check_controls(widgets.ridge_explorer, MOVES)


def test_the_picture_fits_jupyterlab_and_has_words():
    check_fits_and_words(_demo())


def test_same_setting_same_picture():
    check_same_picture(build_quietly(widgets.ridge_explorer), MOVES)


def test_the_curves_and_words_are_the_librarys():
    demo = _demo()
    res = demo.set(sigma=0.5, lam=0.01)
    view = demo.view
    x, y = view.rbf.get_data()
    np.testing.assert_allclose(y, res.grid_rbf)
    np.testing.assert_allclose(view.kernel.get_data()[1], res.grid_kernel)
    assert f"{float(res.max_diff):.2f}" in demo.alt and "sigma = 0.50" in demo.alt
    assert f"{float(res.test_mse[0]):.3g}" in demo.alt
    # the widget's data: its fits equal the closed forms (float64)
    xs = np.asarray(view.grid)
    assert res.grid_rbf.shape == xs.shape
    assert float(res.max_diff) > 0.01  # lam > 0: the two ridge forms differ (E14)
    before = widgets.ridge_explorer_cache_size()
    demo.set(sigma=0.3, lam=1.0)
    assert widgets.ridge_explorer_cache_size() == before
    assert kernel_methods.ridge_comparison_cache_size() == before


@pytest.mark.parametrize("bad", [0.0, -1.0])
def test_a_bad_sigma_is_refused(bad):
    with pytest.raises(ValueError, match="sigma"):
        _demo().compute(sigma=bad, lam=0.1)
