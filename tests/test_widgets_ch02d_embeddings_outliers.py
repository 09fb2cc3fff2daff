"""The chapter 2d widget (node2vec explorer): every control changes the picture, nothing
recompiles, the picture fits JupyterLab, the words match the state, and the numbers shown are
the library's walk statistics."""

import matplotlib

matplotlib.use("Agg")

import jax  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from widget_views import (  # noqa: E402, F401 (course_style: an autouse fixture)
    build_quietly,
    check_controls,
    check_fits_and_words,
    course_style,
)

from course_lib import data, widgets  # noqa: E402
from course_lib import random_walks as rw  # noqa: E402

GRAPH = data.two_communities(key=jax.random.key(0), n=20, p_in=0.4, p_out=0.05)
KEY = jax.random.key(1)


def _build():
    return widgets.node2vec_explorer(GRAPH.A, GRAPH.community, key=KEY, walkers=60, length=12)


def test_every_control_changes_the_picture_and_nothing_recompiles():
    check_controls(_build, {"p": [0.25, 4.0], "q": [0.25, 4.0]})


def test_the_picture_fits_and_the_words_match_the_state():
    demo = build_quietly(_build)
    check_fits_and_words(demo)
    res = demo.set(p=0.25, q=4.0)
    assert "p = 0.25 and q = 4" in demo.alt
    assert f"{res.kinds[0]:.0%} go back" in demo.alt
    starts = np.arange(60) % 20
    W = rw.walks(GRAPH.A, starts, key=KEY, length=12, p=0.25, q=4.0)
    np.testing.assert_allclose(res.kinds, rw.step_kinds(W, GRAPH.A), rtol=1e-6)
    np.testing.assert_array_equal(res.walk, np.asarray(W[0]))
    assert res.kinds[0] > demo.compute(p=4.0, q=4.0).kinds[0], "a small p: more returns"
    heights = [bar.get_height() for bar in demo.view.bars]
    np.testing.assert_allclose(heights, res.kinds)


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="`community` must hold"):
        widgets.node2vec_explorer(GRAPH.A, np.zeros(5), key=KEY)
    with pytest.raises(ValueError, match="square"):
        widgets.node2vec_explorer(np.ones((3, 4)), np.zeros(3), key=KEY)
