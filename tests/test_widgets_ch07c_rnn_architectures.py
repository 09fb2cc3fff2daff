"""The picture of the ch07c widget (gradient flow through time, with and without layer norm):
every control changes the picture, nothing recompiles, the figure fits JupyterLab, the words
describe it, and the curves are the library's numbers.
"""

import matplotlib

matplotlib.use("Agg")

import functools  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from widget_views import (  # noqa: E402, F401 (course_style: an autouse fixture)
    build_quietly,
    check_controls,
    check_fits_and_words,
    course_style,
)

from course_lib import rnn, widgets  # noqa: E402
from course_lib import rnn_architectures as ra  # noqa: E402


@functools.cache
def _inputs():
    cell = rnn.init(key=jax.random.key(0), input_dim=2, hidden_dim=16, output_dim=1)
    cell = jax.tree.map(lambda a: a.astype(jnp.float32), cell)
    drive = (0.5 * jax.random.normal(jax.random.key(1), (20, 2))).astype(jnp.float32)
    return cell, drive


def _build():
    return widgets.gradient_flow_explorer(*_inputs())


MOVES = {"gain": [3.0], "layer_norm": [False]}


def test_every_control_changes_the_picture_and_nothing_recompiles():
    check_controls(_build, MOVES)


def test_fits_words_and_numbers_are_the_librarys():
    demo = build_quietly(_build)
    check_fits_and_words(demo)
    res = demo.set(gain=2.0, layer_norm=True)
    want = ra.gradient_norms(*_inputs(), gain=2.0)
    np.testing.assert_allclose(demo.view.plain.get_ydata(), np.asarray(want.plain), rtol=1e-6)
    assert demo.view.ln.get_visible()
    ratio = float(res.plain[0] / res.plain[-1])
    assert f"{ratio:.1e}" in demo.alt and "gain 2.00" in demo.view.title.get_text()
    demo.set(layer_norm=False)
    assert not demo.view.ln.get_visible() and "layer norm" not in demo.view.title.get_text()
