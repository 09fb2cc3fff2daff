"""The picture of the ch06a widget (a Hopfield network cleaning a corrupted letter): every
control changes the picture, the static part is drawn once, nothing recompiles (the letter, the
noise level and the seed are traced), the figure fits JupyterLab, and the words under it give the
flipped and recalled pixel counts, which are the library's.
"""

import functools

import matplotlib

matplotlib.use("Agg")

import jax  # noqa: E402
import numpy as np  # noqa: E402
from widget_views import (  # noqa: E402, F401 (course_style: an autouse fixture)
    build_quietly,
    check_controls,
    check_fits_and_words,
    check_same_picture,
    course_style,
)

from course_lib import hopfield, widgets  # noqa: E402

MOVES = {"level": [0.4, 0.06], "letter": ["X", "A"], "seed": [7, 3]}


@functools.cache
def _demo():
    return build_quietly(widgets.hopfield_recall_explorer)


def test_every_control_changes_the_picture_and_nothing_recompiles():
    check_controls(widgets.hopfield_recall_explorer, MOVES)


def test_the_picture_fits_jupyterlab_and_has_words():
    check_fits_and_words(_demo())


def test_same_setting_same_picture():
    check_same_picture(_demo(), MOVES)


def test_the_words_and_the_energy_trace_are_the_librarys():
    demo = _demo()
    res = demo.set(level=0.2, letter="L", seed=4)
    G = hopfield.glyphs()
    J, _ = hopfield.hebbian_pm1(hopfield.to_pm1(G))
    lib = hopfield.glyph_recall(
        hopfield.from_pm1(J), G, index=2, level=0.2, key=jax.random.fold_in(jax.random.key(0), 4)
    )
    np.testing.assert_array_equal(res.recalled, lib.recalled)
    flipped = int(np.sum(np.asarray(lib.corrupted) != np.asarray(G[2])))
    assert f"letter L with {flipped} of its 100 pixels flipped" in demo.alt
    assert "the stored letter exactly" in demo.alt  # 20% noise is cleaned
    _, trace = demo.view.trace.get_data()
    assert np.all(np.diff(trace) <= 0)  # the energy never rises
    n = hopfield.glyph_recall_cache_size()
    demo.set(level=0.44, letter="T", seed=11)
    assert hopfield.glyph_recall_cache_size() == n
