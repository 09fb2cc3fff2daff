"""The picture of the ch07d decode explorer: every control changes it, nothing recompiles, it
fits JupyterLab, its words describe it, and what it shows is the library's greedy decoding."""

import functools

import matplotlib

matplotlib.use("Agg")

import jax  # noqa: E402
import numpy as np  # noqa: E402
from widget_views import (  # noqa: E402, F401 (course_style: an autouse fixture)
    build_quietly,
    check_controls,
    check_fits_and_words,
    course_style,
)

from course_lib import seq2seq, widgets  # noqa: E402


@functools.cache
def _inputs():
    models = {
        "model A": seq2seq.init(key=jax.random.key(0), hidden_dim=8),
        "model B": seq2seq.init(key=jax.random.key(1), hidden_dim=8),
    }
    batch = seq2seq.reversal_data(key=jax.random.key(2), n=6, max_len=4, min_len=2)
    return models, batch


def _build():
    return widgets.decode_explorer(*_inputs())


def test_every_control_changes_the_picture_and_nothing_recompiles():
    check_controls(_build, {"example": [3], "model": ["model A"]})


def test_the_picture_fits_and_its_words_are_the_librarys_decoding():
    demo = build_quietly(_build)
    check_fits_and_words(demo)
    models, batch = _inputs()
    res = demo.set(example=2, model="model A")
    tokens, probs = seq2seq.decode(models["model A"], batch.src[2], int(batch.length[2]))
    np.testing.assert_array_equal(res["tokens"], np.asarray(tokens))
    shown = " ".join(seq2seq.TOKENS[int(t)] for t in res["tokens"][: res["n_out"]])
    assert f"decodes greedily to {shown}," in demo.alt and "held-out example 2" in demo.alt
    np.testing.assert_allclose(demo.view.image.get_array(), np.asarray(probs).T)
    assert res["exact"] == bool(
        res["n_out"] == res["n_tgt"]
        and np.array_equal(res["tokens"][: res["n_out"]], batch.dec_tgt[2, : res["n_tgt"]])
    )
