"""The picture of the ch10d widget (the Kohonen map unfolding): every control changes the
picture, the static part is drawn once, nothing recompiles (both lattices are trained when the
widget is built; a move only redraws), the figure fits JupyterLab, and the words under it give
the topographic error of the snapshot shown, which is the library's.
"""

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

from course_lib import som, widgets  # noqa: E402


def _build():
    return widgets.som_player(steps=600, snapshots=12)


@functools.cache
def _demo():
    return build_quietly(_build)


MOVES = {"snapshot": [0, 12, 6], "lattice": ["hexagonal", "rectangular"]}


def test_every_control_changes_the_picture_and_nothing_recompiles():
    check_controls(_build, MOVES)


def test_the_picture_fits_jupyterlab_and_has_words():
    check_fits_and_words(_demo())


def test_the_first_control_is_a_slider_and_moves_only_redraw():
    demo = _demo()
    first = next(iter(demo.controls.values()))
    assert type(first).__name__ == "IntSlider"
    res = demo.set(lattice="rectangular", snapshot=2)
    assert demo.set(snapshot=7) is res  # the snapshot only redraws the stored run
    assert demo.set(lattice="hexagonal").kind == "hexagonal"
    assert demo.set(lattice="rectangular") is res  # both runs were computed once, at build


def test_same_setting_same_picture():
    check_same_picture(_demo(), {"snapshot": [3, 11], "lattice": ["hexagonal", "rectangular"]})


@pytest.mark.parametrize("kind", som.LATTICES)
def test_the_words_give_the_librarys_topographic_error(kind):
    demo = _demo()
    res = demo.set(lattice=kind, snapshot=5)
    ld = som.lattice_distances(som.lattice_coords(8, 8, kind))
    X = np.asarray(jax.random.uniform(jax.random.key(100), (1000, 2)))
    te = float(som.topographic_error(res.snapshots[5], X, ld))
    assert res.topographic[5] == pytest.approx(te, abs=1e-6)
    assert f"{te:.3f} at this snapshot" in demo.alt and kind in demo.alt
    assert f"after {int(res.steps[5])} of 600 training steps" in demo.alt
    # the net drawn is the snapshot's weights joined along the lattice's neighbour pairs
    segments = demo.view.net.get_segments()
    assert len(segments) == len(som.lattice_edges(8, 8, kind))
    np.testing.assert_allclose(segments[0], res.snapshots[5][res.edges[0]], atol=1e-6)


def test_the_map_unfolds_in_the_widget():
    res = _demo().set(lattice="hexagonal", snapshot=12)
    assert res.topographic[0] > 0.5 and res.topographic[-1] < 0.15
