"""The chapter 8c widget (shift explorer): every control changes the picture, nothing
recompiles, the picture fits JupyterLab, the words match the state, and the shown digit is the
library's shift of the input."""

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

from course_lib import augmentation, data, widgets  # noqa: E402

SHIFTS = np.arange(-2, 3)
PLAIN = np.array([[0.1, 0.5, 0.97, 0.5, 0.1], [0.1, 0.4, 0.97, 0.4, 0.1]])
AUG = np.array([[0.4, 0.9, 0.95, 0.9, 0.5], [0.2, 0.8, 0.95, 0.9, 0.2]])


def _build():
    image = np.asarray(data.digits().X[0]).reshape(8, 8)
    return widgets.shift_explorer(image, SHIFTS, PLAIN, AUG)


def test_every_control_changes_the_picture_and_nothing_recompiles():
    check_controls(_build, {"shift": [1], "direction": ["down"]})


def test_the_picture_fits_and_the_words_match_the_state():
    demo = build_quietly(_build)
    check_fits_and_words(demo)
    res = demo.set(shift=-1, direction="down")
    assert "-1 pixels down" in demo.alt and "0.40" in demo.alt and "0.80" in demo.alt
    image = np.asarray(data.digits().X[0]).reshape(8, 8)
    expected = augmentation.shift(image[None, :, :, None], -1, 0)[0, :, :, 0]
    np.testing.assert_allclose(res.image, expected)
    np.testing.assert_allclose(demo.view.dots.get_ydata(), [0.4, 0.8])


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="`plain` must have shape"):
        widgets.shift_explorer(np.zeros((8, 8)), SHIFTS, PLAIN[:1], AUG)
