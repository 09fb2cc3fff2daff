"""The chapter 8e widget (upsampling explorer): every control changes the picture, nothing
recompiles, the picture fits JupyterLab, the words match the state, and the counts are the
library's (an all-ones transposed convolution)."""

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

from course_lib import transposed_conv, widgets  # noqa: E402
from course_lib.widgets import conv_autoencoders as ch08e_widgets  # noqa: E402


def test_every_control_changes_the_picture_and_nothing_recompiles():
    check_controls(widgets.upsampling_explorer, {"f": [4], "stride": [3], "method": ["resize"]})


def test_the_picture_fits_and_the_words_match_the_state():
    demo = build_quietly(widgets.upsampling_explorer)
    check_fits_and_words(demo)
    assert "between 1 and 2 taps" in demo.alt  # the default: F = 3, S = 2
    res = demo.set(f=4, stride=2, method="transposed")
    assert res.even and "every interior pixel gets 2 taps" in demo.alt
    ones = transposed_conv.conv2d_transpose(np.ones((1, 5, 5, 1)), np.ones((4, 4, 1, 1)),
                                            stride=2)[0, :, :, 0]  # fmt: skip
    np.testing.assert_array_equal(res.image, np.asarray(ones))
    res = demo.set(f=3, stride=2, method="resize")
    assert res.even and res.interior == (3, 3)
    check_same_picture(demo, {"f": [5, 2], "method": ["transposed", "resize"]})


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="`method`"):
        ch08e_widgets.overlap(3, 2, "deconv")
