"""The ch10b widget, the attention-pattern explorer: every control changes the picture, nothing
recompiles, the static part is drawn once, the figure fits JupyterLab and its words match the
state (the weights shown are the library's attention maps of the chosen window)."""

import functools

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

from course_lib import language_model as lm  # noqa: E402
from course_lib import transformer_lm as tlm  # noqa: E402
from course_lib import widgets  # noqa: E402

TEXT = "the cat sat on the mat, and the dog sat on the log; " * 3
T, H = 12, 2


@functools.cache
def _model():
    vocab = lm.build_vocab(TEXT)
    params = tlm.init(key=jax.random.key(0), vocab_size=vocab.size, d_model=8, n_layers=2,
                      n_heads=H, max_len=T)  # fmt: skip
    return params, lm.encode(vocab, TEXT), vocab


def _build():
    params, ids, vocab = _model()
    return widgets.attention_pattern_explorer(params, ids, vocab, n_heads=H)


MOVES = {"query": [3, 8], "head": [1, 3], "window": [2, 5]}


def test_every_control_changes_the_picture_and_nothing_recompiles():
    check_controls(_build, MOVES)


def test_the_picture_fits_jupyterlab_and_has_words():
    check_fits_and_words(build_quietly(_build))


def test_same_setting_same_picture():
    check_same_picture(build_quietly(_build), {"query": [3, 8], "head": [1, 3], "window": [2, 5]})


def test_the_bars_are_the_library_weights_and_the_words_match():
    params, ids, vocab = _model()
    demo = build_quietly(_build)
    res = demo.set(window=4, head=3, query=6)  # head 3 = layer 2, head 2
    chunk = ids[4 * T : 5 * T]
    maps = np.asarray(tlm.attention_maps(params, chunk, n_heads=H))
    np.testing.assert_allclose(res.maps, maps, rtol=1e-6)
    heights = [bar.get_height() for bar in demo.view.bars]
    np.testing.assert_allclose(heights, maps[1, 1, 6], rtol=1e-6)
    assert all(h == 0.0 for h in heights[7:])  # the causal mask: nothing after the query
    assert res.chars == lm.decode(vocab, chunk)
    top = int(np.argmax(maps[1, 1, 6]))
    alt = demo.alt
    assert "layer 2, head 2" in alt and "query position 6" in alt and f"position {top}" in alt
    assert demo.set(query=2) is res  # the query only redraws


def test_bad_input_is_refused():
    params, ids, vocab = _model()
    with pytest.raises(ValueError, match="at least max_len"):
        widgets.attention_pattern_explorer(params, ids[:5], vocab, n_heads=H)
    with pytest.raises(ValueError, match="does not divide"):
        widgets.attention_pattern_explorer(params, ids, vocab, n_heads=3)
