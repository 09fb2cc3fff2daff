"""Chapter 2d: node2vec's return and in-out parameters (p, q) steering random walks."""

from __future__ import annotations

from typing import Any, NamedTuple

import ipywidgets as W
import jax
import jax.numpy as jnp
import numpy as np

from course_lib import plotting, random_walks
from course_lib.widgets.demo import Demo, LiveFigure

#: the slider's values for p and q (a log scale: 1/4 .. 4)
PQ_VALUES = (0.25, 0.5, 1.0, 2.0, 4.0)
_KINDS = ("back to\nprevious", "stay near\nprevious", "move\noutwards")


class WalkResult(NamedTuple):
    """One setting of :func:`node2vec_explorer`."""

    p: float
    q: float
    kinds: np.ndarray  # (3,) fractions of hops: back, stay close, move out
    crossing: float  # fraction of hops between the two communities
    distinct: float  # mean number of different nodes on one walk
    walk: np.ndarray  # (L,) the first walker's nodes, drawn on the graph


def _layout(community: np.ndarray) -> np.ndarray:
    """A fixed 2-D layout: each community's nodes on its own circle, left and right."""
    xy = np.zeros((community.size, 2))
    for c, centre in ((0, -0.52), (1, 0.52)):
        members = np.flatnonzero(community == c)
        angle = 2 * np.pi * np.arange(members.size) / max(members.size, 1)
        xy[members] = np.stack([centre + 0.42 * np.cos(angle), 0.42 * np.sin(angle)], axis=1)
    return xy


class _WalkView:
    """Left: the graph with one walk drawn on it. Right: the three kinds of hop, as bars."""

    def __init__(self, A: np.ndarray, community: np.ndarray, length: int) -> None:
        self.live = live = LiveFigure(2, width=4.3, height=3.6)
        ax, ax2 = live.axes
        self.xy = xy = _layout(community)
        for i, j in zip(*np.nonzero(np.triu(A)), strict=True):
            ax.plot(xy[[i, j], 0], xy[[i, j], 1], color="0.85", lw=0.6, zorder=0)
        for c in (0, 1):
            ax.scatter(
                *xy[community == c].T, s=22, color=plotting.CLASS_COLORS[c], zorder=1,
                marker=plotting.CLASS_MARKERS[c], label=f"community {c}",
            )  # fmt: skip
        (self.path,) = ax.plot([], [], "-", color="0.1", lw=1.4, alpha=0.8, animated=True)
        (self.start,) = ax.plot([], [], "*", ms=13, color=plotting.OKABE_ITO[2], animated=True)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set(xlim=(-1.0, 1.0), ylim=(-0.75, 0.6))
        ax.legend(loc="lower center", ncols=2, fontsize=8)
        self.title = ax.set_title(" ", animated=True)
        self.bars = ax2.bar(range(3), [0.0, 0.0, 0.0], color=plotting.OKABE_ITO[:3])
        live.animate(*self.bars)
        ax2.set_xticks(range(3), _KINDS)
        ax2.set(ylim=(0.0, 1.0), ylabel="fraction of hops")
        self.title2 = ax2.set_title(" ", animated=True)
        self.shown = min(length, 16)  # the first hops only: a whole walk hides the graph

    def update(self, res: WalkResult, values: dict[str, Any]) -> None:
        walk = res.walk[: self.shown]
        self.path.set_data(self.xy[walk, 0], self.xy[walk, 1])
        self.start.set_data([self.xy[res.walk[0], 0]], [self.xy[res.walk[0], 1]])
        for bar, h in zip(self.bars, res.kinds, strict=True):
            bar.set_height(float(h))
        self.title.set_text(f"a walk's first {self.shown} nodes, p = {res.p:g}, q = {res.q:g}")
        self.title2.set_text(f"{res.crossing:.0%} of hops cross; {res.distinct:.1f} nodes per walk")

    def alt(self, res: WalkResult, values: dict[str, Any]) -> str:
        back, close, out = res.kinds
        return (
            f"node2vec walks with p = {res.p:g} and q = {res.q:g} on a two-community graph. "
            f"Left: the first nodes of one walk drawn on the graph. Right: of all hops, "
            f"{back:.0%} go back to the previous node, {close:.0%} stay next to it and "
            f"{out:.0%} move outwards; "
            f"{res.crossing:.0%} of hops cross between the communities, and a walk visits "
            f"{res.distinct:.1f} different nodes on average."
        )


def node2vec_explorer(
    A: Any, community: Any, *, key: jax.Array, walkers: int = 400, length: int = 40
) -> Demo:
    r"""Sliders for node2vec's $p$ (return) and $q$ (in-out): ``walkers`` walks of ``length``
    nodes are drawn anew (same key) on every move, by :func:`course_lib.random_walks.walks`
    with $p, q$ traced, so nothing recompiles.

    Args:
        A: ``(n, n)`` adjacency; community: ``(n,)`` 0/1 labels (only for colours and the
        crossing rate); key: the walks' key.
    """
    A_np = np.asarray(A, dtype=np.float64)
    community = np.asarray(community)
    if A_np.ndim != 2 or A_np.shape[0] != A_np.shape[1]:
        raise ValueError(f"`A` must be a square adjacency matrix, got shape {A_np.shape}.")
    if community.shape != (A_np.shape[0],) or not np.isin(community, (0, 1)).all():
        raise ValueError(
            f"`community` must hold one label 0 or 1 per node ({A_np.shape[0]}), got "
            f"shape {community.shape}."
        )
    A_j = jnp.asarray(A_np, jnp.result_type(float))
    random_walks.transition_matrix(A_j)  # validates: no isolated node, no negative weight
    n = A_np.shape[0]
    starts = jnp.arange(walkers, dtype=jnp.int32) % n
    comm = jnp.asarray(community)

    def compute(p: float, q: float) -> WalkResult:
        Wk = random_walks.walks(A_j, starts, key=key, length=length, p=p, q=q)
        kinds = np.asarray(random_walks.step_kinds(Wk, A_j), np.float64)
        Wn = np.asarray(Wk)
        c = np.asarray(comm)[Wn]
        crossing = float(np.mean(c[:, 1:] != c[:, :-1]))
        distinct = float(np.mean([len(set(row)) for row in Wn.tolist()]))
        return WalkResult(float(p), float(q), kinds, crossing, distinct, Wn[0])

    def slider(name: str) -> W.SelectionSlider:
        return W.SelectionSlider(options=list(PQ_VALUES), value=1.0, description=name,
                                 continuous_update=True)  # fmt: skip

    controls = {"p": slider("p (return)"), "q": slider("q (in-out)")}
    return Demo(controls, compute, _WalkView(A_np, community, length))
