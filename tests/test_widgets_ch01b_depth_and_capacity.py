"""The chapter 1b widget (tent explorer): the depth slider changes the picture, nothing
recompiles, the picture fits JupyterLab, the words match the state, and the curve is the
library's composed tent map with 2^r pieces."""

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

from course_lib import depth, widgets  # noqa: E402


def _build():
    return widgets.tent_explorer(10)


def test_every_control_changes_the_picture_and_nothing_recompiles():
    check_controls(_build, {"r": [1, 6, 10]})


def test_the_picture_fits_and_the_words_match_the_state():
    demo = build_quietly(_build)
    check_fits_and_words(demo)
    res = demo.set(r=5)
    assert res.pieces == 32 and res.deep_params == 31 and res.shallow_params == 94
    assert "5 times" in demo.alt and "32 linear pieces" in demo.alt and "31 parameters" in demo.alt
    np.testing.assert_array_equal(res.ys, depth.compose_tent(res.xs, 5))
    np.testing.assert_array_equal(demo.view.line.get_ydata(), res.ys)
    for r in (1, 10):
        assert demo.set(r=r).pieces == 2**r


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="`max_depth` must lie in"):
        widgets.tent_explorer(13)
