"""The pictures of the ch10c widgets (the GAN training replay, the sin(x + y) descent–ascent
explorer): every control changes the picture, the static part is drawn once, the figures fit
JupyterLab, the words describe them, and nothing recompiles. Beside these, each widget shows
the library's numbers: the replay's counts are gan.mode_coverage of the stored snapshots and
its step slider only redraws; the explorer's paths are minimax.gda's.

The replay is fed small synthetic runs (snapshots drawn from the ring, spreading out over the
"training"), so that these tests train nothing.
"""

import functools

import matplotlib

matplotlib.use("Agg")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from widget_views import (  # noqa: E402, F401 (course_style: an autouse fixture)
    build_quietly,
    check_controls,
    check_fits_and_words,
    check_same_picture,
    course_style,
)

from course_lib import gan, minimax, widgets  # noqa: E402


def _fake_run(seed: int, modes_reached: int, seeds: int = 2, snaps: int = 6) -> gan.Run:
    """A Run whose snapshots start at the origin and end on the first ``modes_reached`` modes."""
    rng = np.random.default_rng(seed)
    C = np.asarray(gan.ring_centres())
    shots = np.zeros((seeds, snaps, 64, 2))
    for s in range(seeds):
        target = C[rng.integers(0, modes_reached, 64)]
        target = target + 0.05 * rng.normal(size=(64, 2))
        for t in range(snaps):
            shots[s, t] = (t / (snaps - 1)) * target + 0.3 * rng.normal(size=(64, 2)) * (
                1 - t / snaps
            )
    steps = np.tile(np.arange(snaps) * 100, (seeds, 1))
    zeros = np.zeros(seeds)
    return gan.Run(None, jnp.asarray(shots), jnp.zeros((seeds, 64), int), jnp.asarray(steps),
                   zeros, zeros, zeros)  # fmt: skip


@functools.cache
def _runs():
    return {"good": _fake_run(0, 8), "collapsed": _fake_run(1, 2)}


def _replay():
    return widgets.gan_replay(_runs())


CASES = {
    "gan_replay": (_replay, {"step": [0, 3], "setting": ["collapsed", "good"], "seed": [1, 0]}),
    "gda_explorer": (
        widgets.gda_explorer,
        {"x0": [0.5, -2.0], "y0": [-1.0, 2.0], "eta": [0.1, 0.4]},
    ),
}


def _build(name):
    build, moves = CASES[name]
    return build_quietly(build), moves


@pytest.mark.parametrize("name", list(CASES))
def test_every_control_changes_the_picture_and_nothing_recompiles(name):
    check_controls(*CASES[name])


@pytest.mark.parametrize("name", list(CASES))
def test_the_picture_fits_jupyterlab_and_has_words(name):
    check_fits_and_words(_build(name)[0])


@pytest.mark.parametrize("name", list(CASES))
def test_same_setting_same_picture(name):
    check_same_picture(*_build(name))


def test_replay_counts_are_mode_coverage_and_the_step_only_redraws():
    demo, _ = _build("gan_replay")
    res = demo.set(setting="collapsed", seed=1)
    assert demo.set(step=2) is res  # the step slider redraws the stored result
    snaps = np.asarray(_runs()["collapsed"].snapshots[1])
    for t in range(len(snaps)):
        covered, quality, _ = gan.mode_coverage(snaps[t], gan.ring_centres(), 0.1)
        assert res["covered"][t] == covered and res["quality"][t] == pytest.approx(quality)
    assert res["covered"][-1] == 2 and demo.set(setting="good")["covered"][-1] == 8
    demo.set(step=5)
    assert "8 of 8" in demo.alt or "8 of 8" in demo.view.title2.get_text()
    np.testing.assert_allclose(
        demo.view.fake.get_offsets(), np.asarray(_runs()["good"].snapshots[1, 5])
    )


def test_replay_rejects_runs_without_a_seed_axis():
    single = jax.tree.map(lambda a: a if a is None else a[0], _runs()["good"])
    with pytest.raises(ValueError, match="several seeds"):
        widgets.gan_replay({"one": single})
    with pytest.raises(ValueError, match="non-empty"):
        widgets.gan_replay({})


def test_gda_explorer_paths_are_the_librarys():
    demo, _ = _build("gda_explorer")
    res = demo.set(x0=-1.0, y0=1.5, eta=0.2)
    lib = minimax.gda(jnp.float32(-1.0), jnp.float32(1.5), eta=jnp.float32(0.2), steps=400,
                      alternating=True)  # fmt: skip
    np.testing.assert_allclose(res["alt"], np.asarray(lib), rtol=1e-6, atol=1e-6)
    assert res["f_alt"] > 0.99  # sin(0.5) > 0: settles at +1
    assert "+1.000" in demo.view.title.get_text()
    assert "x + y = 0.50" in demo.alt
