"""The chapter 2c widget (SVM margin explorer): every control changes the picture, nothing
recompiles, the picture fits JupyterLab, the words match the state, and the drawn band is the
path's solution."""

import matplotlib

matplotlib.use("Agg")

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from widget_views import (  # noqa: E402, F401 (course_style: an autouse fixture)
    build_quietly,
    check_controls,
    check_fits_and_words,
    course_style,
)

from course_lib import margin_classifiers, widgets  # noqa: E402

R = np.random.default_rng(0)
Y = np.where(np.arange(20) < 10, 1.0, -1.0)
X = np.c_[Y * (0.5 + np.abs(R.normal(size=20))), R.normal(size=20)]
PATH = margin_classifiers.svm_path(X, Y, jnp.array([0.01, 0.1, 1.0, 10.0]), epochs=100)


def _build():
    return widgets.svm_margin_explorer(X, Y, PATH)


def test_every_control_changes_the_picture_and_nothing_recompiles():
    check_controls(_build, {"lam": ["10"]})


def test_the_picture_fits_and_the_words_match_the_state():
    demo = build_quietly(_build)
    check_fits_and_words(demo)
    res = demo.set(lam="0.01")
    assert res.index == 0 and f"width {float(PATH.margin[0]):.2f}" in demo.alt
    n_sv = int(np.sum(np.asarray(PATH.alpha[0]) > 0))
    assert f"{n_sv} points lie on or inside the band" in demo.alt
    np.testing.assert_allclose(res.w, np.asarray(PATH.w[0]))
    xs, ys = demo.view.up.get_data()
    np.testing.assert_allclose(np.c_[xs, ys] @ res.w, 1.0, atol=1e-5)  # on w . x = 1


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="`X` must be 2-D points"):
        widgets.svm_margin_explorer(np.zeros((20, 3)), Y, PATH)
    with pytest.raises(ValueError, match="`path` must hold"):
        widgets.svm_margin_explorer(X[:5], Y[:5], PATH)
