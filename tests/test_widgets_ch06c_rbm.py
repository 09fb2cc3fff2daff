"""The picture of the chapter 6c widget (the Gibbs-chain explorer): every control changes the
picture, the static part is drawn once, the figure fits JupyterLab, the words describe it, and
a move computes and compiles nothing (the chains are precomputed)."""

import functools

import matplotlib

matplotlib.use("Agg")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from widget_views import (  # noqa: E402, F401 (course_style: an autouse fixture)
    build_quietly,
    check_controls,
    check_fits_and_words,
    check_same_picture,
    course_style,
)

from course_lib import rbm, widgets  # noqa: E402


@functools.cache
def _setup():
    key = jax.random.key(0)
    digits = (jax.random.uniform(key, (40, 64)) < 0.3).astype(jnp.float32)
    params = rbm.init_rbm(key=jax.random.key(1), n_visible=64, n_hidden=8, data=digits, scale=0.5)
    return params, digits[:6]


def _build():
    params, digits = _setup()
    return widgets.gibbs_explorer(params, digits, steps_max=12)


MOVES = {"t": [0, 12, 3], "start": ["random noise", "held-out digits"]}


def test_gibbs_explorer_controls_move_the_picture_without_compiling():
    check_controls(_build, MOVES)


def test_gibbs_explorer_fits_and_its_words_match_the_state():
    demo = build_quietly(_build)
    check_fits_and_words(demo)
    demo.set(t=7, start="random noise")
    chains = demo.view.chains
    assert "random noise" in demo.alt and "after 7 block-Gibbs steps" in demo.alt
    assert f"{float(np.mean(chains.free[1, 7])):.1f}" in demo.alt
    np.testing.assert_array_equal(demo.view.bottom.get_array().filled(np.nan)[:, :8],
                                  chains.probs[1, 7, 0].reshape(8, 8))  # fmt: skip
    check_same_picture(demo, MOVES)


def test_gibbs_chains_start_at_the_data_and_are_deterministic():
    params, digits = _setup()
    a = widgets.gibbs_chains(params, digits, key=jax.random.key(3), steps=5)
    b = widgets.gibbs_chains(params, digits, key=jax.random.key(3), steps=5)
    np.testing.assert_array_equal(a.probs, b.probs)
    assert a.probs.shape == (2, 6, 6, 64) and a.free.shape == (2, 6, 6)
    np.testing.assert_array_equal(a.probs[0, 0], np.asarray(digits))
    np.testing.assert_allclose(a.free[0, 0], rbm.free_energy(params, digits), rtol=1e-5)
    assert 0.0 <= a.probs.min() and a.probs.max() <= 1.0
