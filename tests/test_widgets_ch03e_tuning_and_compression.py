"""The chapter 3e widget (compression explorer): both controls change the picture without a
recompile, the picture fits JupyterLab, the words match the state, and the numbers are the
library's (the accuracy of compression.compress, the zero fraction, the levels, the size)."""

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

from course_lib import compression, data, mlp, widgets  # noqa: E402


@functools.cache
def _trained():
    d = data.digits()
    p0 = mlp.init((64, 16, 10), key=jax.random.key(0), scheme="he")
    p, _ = mlp.train(p0, d.X[:400], d.y[:400], lr=0.5, steps=60, activation="relu")
    return p, d.X[400:700], d.y[400:700]


def _build():
    return widgets.compression_explorer(*_trained())


def test_every_control_changes_the_picture_and_nothing_recompiles():
    check_controls(_build, {"fraction": [0.9], "bits": [2]})


def test_the_picture_fits_and_the_words_match_the_state():
    demo = build_quietly(_build)
    check_fits_and_words(demo)
    p, X, y = _trained()
    res = demo.set(fraction=0.8, bits=2)
    assert res.zeros >= 0.8  # 2 bits may round further small weights to 0
    assert res.levels <= 2  # ternary: -s and s besides the zeros
    assert "2-bit integers" in demo.alt and "80%" in demo.alt
    small = compression.compress(p, 0.8, 2)
    assert res.accuracy == float(mlp.accuracy(small, X, y, "relu"))
    res = demo.set(fraction=0.5, bits=32)
    assert res.zeros == 0.5 and "32-bit floats" in demo.alt
    assert np.isclose(res.kbytes, compression.size_bits(p, 0.5, 32) / 8000)
    assert f"{res.accuracy:.3f}" in demo.alt
