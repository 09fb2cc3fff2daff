"""The picture of the ch09b widget (the cliff explorer): every control changes it, the static
part is drawn once, nothing recompiles, it fits JupyterLab, and its words match the numbers of
the library's run (course_lib.td_learning.compare_control, tested in tests/test_td_learning.py).
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
    course_style,
)

from course_lib import mdp, widgets  # noqa: E402
from course_lib import td_learning as td  # noqa: E402

# a small version (the same code, fewer episodes) keeps the test fast
BUILD = functools.partial(widgets.cliff_explorer, n_runs=3, n_episodes=120, max_steps=100)
MOVES = {"eps": [0.2], "alpha": [0.5], "gamma": [0.9]}


def test_every_control_changes_the_picture_and_nothing_recompiles():
    check_controls(BUILD, MOVES)


def test_the_picture_fits_and_its_words_are_the_librarys_numbers():
    demo = build_quietly(BUILD)
    check_fits_and_words(demo)
    res = demo.set(eps=0.0)
    keys = jax.random.split(jax.random.key(9), 3)
    run = td.compare_control(
        mdp.cliff_walk(), keys=keys, n_episodes=120, alpha=0.1, gamma=1.0, eps=0.0, max_steps=100
    )
    final = np.asarray(run.returns, np.float64).mean(axis=1)[:, -100:].mean(axis=1)
    np.testing.assert_allclose(res.final, final)
    # with eps = 0 both methods are one algorithm: the same paths and the same curves
    np.testing.assert_array_equal(res.curves[0], res.curves[1])
    assert res.lengths[0].tolist() == res.lengths[1].tolist()
    assert f"Q-learning averages {res.final[0]:.0f} and SARSA {res.final[1]:.0f}" in demo.alt
    assert "eps 0.00" in demo.alt and "ε = 0.00" in demo.view.title.get_text()
