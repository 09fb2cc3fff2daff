"""Chapter 9e: Monte Carlo tree search on a tic-tac-toe position, live (simulations and K).

The picture is the root's visit counts after a search (a heatmap on the board, with the
minimax-optimal squares outlined) and the share of visits per square as bars. The search is
plain Python (:mod:`course_lib.mcts`, a few ms for hundreds of simulations) and nothing is
compiled when a control moves.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as W
import jax
import numpy as np
from matplotlib.patches import Rectangle

from course_lib import mcts, plotting, tictactoe
from course_lib.widgets.demo import Demo, LiveFigure

#: the positions the explorer offers: name -> board (X = 1, O = -1), squares row by row
POSITIONS: dict[str, tuple[int, ...]] = {
    "the empty board": (0,) * 9,
    "O answers a corner": (1, 0, 0, 0, 0, 0, 0, 0, 0),
    "X can set a trap (fork)": (1, -1, 0, 0, 1, 0, 0, 0, -1),
    "O must take an edge": (1, 0, 0, 0, -1, 0, 0, 0, 1),
    "X wins in one": (1, 1, 0, -1, -1, 0, 0, 0, 0),
}
_SYMBOL = {1: "X", -1: "O"}
_OPTIMAL = plotting.OKABE_ITO[2]
_OTHER = "0.65"


class _SearchView:
    """Left: the board with the visit share of each empty square as a heatmap. Right: bars."""

    def __init__(self) -> None:
        self.live = live = LiveFigure(2, width=4.1, height=3.9)
        ax, ax2 = live.axes
        self.heat = ax.imshow(np.zeros((3, 3)), cmap="Blues", vmin=0.0, vmax=1.0, animated=True)
        ax.set_xticks([]), ax.set_yticks([])
        for v in (0.5, 1.5):
            ax.axhline(v, color="0.3", lw=1.5), ax.axvline(v, color="0.3", lw=1.5)
        self.cells = [
            ax.text(i % 3, i // 3, "", ha="center", va="center", fontsize=15, animated=True)
            for i in range(9)
        ]
        self.frames = [
            ax.add_patch(Rectangle((i % 3 - 0.45, i // 3 - 0.45), 0.9, 0.9, fill=False,
                                   ec=_OPTIMAL, lw=3.0, animated=True))
            for i in range(9)
        ]  # fmt: skip
        ax.set_xlabel("visit share on the board; green frames: minimax-optimal")
        self.bars = ax2.bar(np.arange(9), np.zeros(9), color=_OTHER, animated=True)
        ax2.set(xlim=(-0.6, 8.6), ylim=(0.0, 1.0), xticks=range(9))
        ax2.set(xlabel="square (0-2 top row, 6-8 bottom row)", ylabel="share of the visits N/n")
        ax2.bar([0], [0], color=_OPTIMAL, label="minimax-optimal move")
        ax2.bar([0], [0], color=_OTHER, label="other legal move")
        ax2.legend(loc="upper right", fontsize=8.5)
        self.title = ax.set_title(" ", animated=True)
        self.title2 = ax2.set_title(" ", animated=True)

    def update(self, res: tuple[mcts.Search, np.ndarray], values: dict[str, Any]) -> None:
        search, optimal = res
        board = POSITIONS[values["position"]]
        n = int(values["n_sims"])
        share = search.counts / n
        self.heat.set_array(share.reshape(3, 3))
        for i, (cell, frame, bar) in enumerate(zip(self.cells, self.frames, self.bars,
                                                   strict=True)):  # fmt: skip
            if board[i]:
                cell.set_text(_SYMBOL[board[i]])
                cell.set_color("0.1")
            else:
                cell.set_text(str(int(search.counts[i])))
                cell.set_color("white" if share[i] > 0.55 else "0.1")
            frame.set_visible(bool(optimal[i]))
            bar.set_height(share[i])
            bar.set_color(_OPTIMAL if optimal[i] else _OTHER)
        mover = "X" if sum(board) == 0 else "O"
        self.title.set_text(f"{mover} to move: {n} simulations, K = {values['k']:.2f}")
        verdict = "optimal" if optimal[search.move] else "NOT optimal"
        self.title2.set_text(f"most visited: square {search.move} ({verdict})")

    def alt(self, res: tuple[mcts.Search, np.ndarray], values: dict[str, Any]) -> str:
        search, optimal = res
        n = int(values["n_sims"])
        best = search.move
        verdict = "one of" if optimal[best] else "not one of"
        squares = ", ".join(str(i) for i in np.flatnonzero(optimal))
        return (
            f"Monte Carlo tree search on the position '{values['position']}' with {n} "
            f"simulations and K = {values['k']:.2f}. Left: the board, each empty square shaded "
            f"by its share of the root's visits and labelled with its count; right: the same "
            f"shares as bars. The most visited square is {best} ({int(search.counts[best])} "
            f"visits), {verdict} the minimax-optimal moves ({squares})."
        )


def mcts_explorer(*, seed: int = 0, position: str = "X can set a trap (fork)") -> Demo:
    r"""Slide the number of simulations and the exploration constant $K$ of Eq 9.27, and pick
    a position: the visit counts of :func:`course_lib.mcts.search` with the minimax-optimal
    moves (:func:`course_lib.tictactoe.optimal_moves`) marked.

    The search for a position uses the key ``fold_in(key(seed), i)`` of that position, so a
    setting always shows the same counts.
    """
    if position not in POSITIONS:
        raise ValueError(f"unknown position {position!r}; choose one of: {', '.join(POSITIONS)}.")
    key = jax.random.key(seed)
    names = list(POSITIONS)
    optimal = {name: np.asarray(tictactoe.optimal_moves(np.array(b))) for name, b in
               POSITIONS.items()}  # fmt: skip

    def compute(n_sims: int, k: float, position: str) -> tuple[mcts.Search, np.ndarray]:
        board = np.array(POSITIONS[position])
        sub = jax.random.fold_in(key, names.index(position))
        return mcts.search(board, key=sub, n_sims=int(n_sims), k=float(k)), optimal[position]

    controls = {
        "n_sims": W.IntSlider(value=25, min=5, max=800, step=5, description="simulations",
                              continuous_update=False),
        "k": W.FloatSlider(value=1.0, min=0.0, max=4.0, step=0.25, description="K",
                           readout_format=".2f", continuous_update=False),
        "position": W.Dropdown(options=names, value=position, description="position"),
    }  # fmt: skip
    return Demo(controls, compute, _SearchView())
