"""The chapter 3d widget (second_order_explorer): both sliders change the picture without a
recompile, the figure fits JupyterLab and its words name the counts it shows, and the numbers
are the library's (GD's rate, CG's two steps, Newton's one, coordinate descent's one sweep on an
unturned bowl)."""

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

from course_lib import optim, widgets  # noqa: E402

MOVES = {"b": [30.0], "angle_deg": [0.0]}


@pytest.fixture
def demo():
    return build_quietly(widgets.second_order_explorer)


def test_every_control_changes_the_picture_and_nothing_recompiles():
    check_controls(widgets.second_order_explorer, MOVES)


def test_the_picture_fits_jupyterlab_and_has_words(demo):
    check_fits_and_words(demo)
    counts = demo.last.counts
    assert f"CG {counts[2]}, BFGS {counts[3]}, Newton 1." in demo.alt


def test_the_numbers_are_the_librarys(demo):
    res = demo.set(b=10.0, angle_deg=0.0)
    assert list(res.counts[[1, 2, 4]]) == [2, 2, 1]  # one sweep (2 coordinates), CG 2, Newton 1
    start = res.paths[0, 0]
    np.testing.assert_allclose(start, [30.0, 20.0], rtol=1e-6)
    gd = optim.run(lambda w: optim.bowl(w, 10.0), optim.sgd(1.0 / 11.0), start, 40).params
    np.testing.assert_allclose(res.paths[0], np.asarray(gd), rtol=1e-4, atol=1e-4)
    res = demo.set(angle_deg=45.0)
    assert res.counts[1] == -1  # turned: coupled coordinates, no longer one sweep
    assert res.counts[2] == 2 and res.counts[4] == 1
