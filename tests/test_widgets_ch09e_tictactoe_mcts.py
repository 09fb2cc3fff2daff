"""The MCTS explorer of ch09e: every control changes the picture, nothing recompiles, the
picture fits JupyterLab, and the words and bars under the figure are the search's own numbers."""

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

from course_lib import mcts, widgets  # noqa: E402
from course_lib.widgets import games  # noqa: E402

MOVES = {"n_sims": [200], "k": [3.0], "position": ["O answers a corner"]}


def test_every_control_changes_the_picture_and_nothing_recompiles():
    check_controls(widgets.mcts_explorer, MOVES)


def test_the_picture_fits_and_the_words_match_the_search():
    demo = build_quietly(widgets.mcts_explorer)
    check_fits_and_words(demo)
    search, optimal = demo.set(n_sims=120, k=2.0, position="O must take an edge")
    board = np.array(games.POSITIONS["O must take an edge"])
    key = jax.random.fold_in(jax.random.key(0), list(games.POSITIONS).index("O must take an edge"))
    ref = mcts.search(board, key=key, n_sims=120, k=2.0)
    np.testing.assert_array_equal(search.counts, ref.counts)
    heights = [bar.get_height() for bar in demo.view.bars]
    np.testing.assert_allclose(heights, ref.counts / 120)
    assert f"most visited square is {ref.move} ({ref.counts[ref.move]} visits)" in demo.alt
    verdict = "one of" if optimal[ref.move] else "not one of"
    assert f"{verdict} the minimax-optimal moves (1, 3, 5, 7)" in demo.alt
    assert [f.get_visible() for f in demo.view.frames] == [i in (1, 3, 5, 7) for i in range(9)]
