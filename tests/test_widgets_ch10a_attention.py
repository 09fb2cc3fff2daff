"""The picture of the chapter 10a widget (the content-read explorer): every control changes the
picture, the static part is drawn once, the figure fits JupyterLab, the words describe it, and
nothing recompiles. Its numbers are the library's (tests/test_memory.py tests the read)."""

import matplotlib

matplotlib.use("Agg")

import jax  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from widget_views import (  # noqa: E402, F401 (course_style: an autouse fixture)
    build_quietly,
    check_controls,
    check_fits_and_words,
    check_same_picture,
    course_style,
)

from course_lib import memory, widgets  # noqa: E402

MOVES = {"beta": [0.0, 30.0], "row": [0, 7], "noise": [0.0, 1.5]}


def _build():
    return widgets.content_read_explorer()


def test_every_control_changes_the_picture_and_nothing_recompiles():
    check_controls(_build, MOVES)


def test_the_picture_fits_jupyterlab_and_has_words():
    check_fits_and_words(build_quietly(_build))


def test_same_setting_same_picture():
    check_same_picture(
        build_quietly(_build), {"beta": [3.0, 20.0], "row": [1, 6], "noise": [0.2, 1.0]}
    )


def test_the_read_is_the_librarys_and_the_words_follow_it():
    demo = build_quietly(_build)
    before = widgets.read_cache_size()
    res = demo.set(beta=12.5, row=4, noise=0.35)
    assert widgets.read_cache_size() == before
    M = np.asarray(jax.random.normal(jax.random.key(0), (8, 5)))
    w, r = memory.content_read(M, res.v, 12.5)
    np.testing.assert_allclose(res.w, w, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(res.r, r, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(res.target, M[4], rtol=1e-6)
    best = int(np.argmax(res.w))
    assert f"is on row {best}" in demo.alt and "beta = 12.5" in demo.alt
    heights = [bar.get_height() for bar in demo.view.bars.patches]
    np.testing.assert_allclose(heights, res.w, rtol=1e-6)
    assert demo.view.title.get_text().startswith("β = 12.5")


def test_rejects_a_bad_memory():
    with pytest.raises(ValueError, match="`M` must be 2-dimensional"):
        widgets.content_read_explorer(np.zeros(5))
