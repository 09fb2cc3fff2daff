"""The chapter 9a bandit explorer: every control changes the picture, the static part is drawn
once, nothing recompiles, the figure fits JupyterLab, and its words and curves are the
library's numbers (tests/test_bandits.py tests those numbers)."""

import matplotlib

matplotlib.use("Agg")

import functools  # noqa: E402

import jax  # noqa: E402
import numpy as np  # noqa: E402
from widget_views import (  # noqa: E402, F401 (course_style: an autouse fixture)
    build_quietly,
    check_controls,
    check_fits_and_words,
    course_style,
)

from course_lib import bandits, widgets  # noqa: E402


def _build():
    return widgets.bandit_explorer(steps=300, seeds=20)


MOVES = {"eps": [0.3], "K": [1.0], "c": [40.0], "arms": [3]}


def test_every_control_changes_the_picture_and_nothing_recompiles():
    check_controls(_build, MOVES)


@functools.cache
def _demo():
    return build_quietly(_build)


def test_the_picture_fits_jupyterlab_and_has_words():
    check_fits_and_words(_demo())


def test_the_curves_and_words_are_the_librarys_numbers():
    demo = _demo()
    res = demo.set(eps=0.2, K=2.0, c=5.0, arms=4)
    bandit = bandits.with_arms(
        bandits.bernoulli_bandit(np.asarray(widgets.bandits.EXPLORER_MEANS)), 4
    )
    four = bandits.stack(
        [
            bandits.strategy("naive", m=10),
            bandits.strategy("epsilon", eps=0.2),
            bandits.strategy("annealed", c=5.0),
            bandits.strategy("ucb", K=2.0),
        ]
    )
    run = bandits.simulate(bandit, four, key=jax.random.key(0), steps=300, seeds=20)
    finals = np.asarray(run.regret)[:, :, -1].mean(axis=1)
    np.testing.assert_allclose(res.final, finals, rtol=1e-6)
    final = float(finals[3])
    x, y = demo.view.lines[3].get_data()
    assert x[-1] == 300 and abs(y[-1] - final) < 1e-3 * max(final, 1.0)
    assert f"UCB (Eq 9.1) {final:.0f}" in demo.alt and "4-armed" in demo.alt
    assert "K 2.00" in demo.alt
