"""Chapter 10b: what a trained character transformer attends to (query position, head, text)."""

from __future__ import annotations

from typing import Any, NamedTuple

import ipywidgets as W
import numpy as np

from course_lib import _validate, plotting
from course_lib import language_model as lm
from course_lib import transformer_lm as tlm
from course_lib.widgets.demo import Demo, LiveFigure

_SHOWN = {" ": "␣", "\n": "↵", "\t": "⇥"}


def _shown(ch: str) -> str:
    return _SHOWN.get(ch, ch)


class AttentionPatterns(NamedTuple):
    """One window of text and the attention of every layer and head on it."""

    maps: np.ndarray  # (n_layers, n_heads, T, T)
    chars: str  # the T characters of the window
    start: int  # where the window starts in the text


class _AttentionView:
    """Left: one head's T x T weights, the chosen query's row marked. Right: that row as bars
    over the characters it may see."""

    def __init__(self, T: int, n_heads: int) -> None:
        self.T, self.n_heads = T, n_heads
        self.live = live = LiveFigure(2, width=4.6, height=3.9)
        ax, ax2 = live.axes
        kw = {"animated": True}
        self.image = ax.imshow(np.zeros((T, T)), cmap="viridis", vmin=0.0, vmax=1.0,
                               interpolation="nearest", **kw)  # fmt: skip
        live.fig.colorbar(self.image, ax=ax, fraction=0.046, pad=0.03, label="weight")
        (self.row,) = ax.plot([], [], color=plotting.OKABE_ITO[1], lw=2.0, **kw)
        ax.set(xlabel="key position s (what is read)", ylabel="query position t (who reads)")
        ax.grid(False)
        self.bars = ax2.bar(np.arange(T), np.zeros(T), width=0.8, color=plotting.OKABE_ITO[0])
        for bar in self.bars:
            live.animate(bar)
        ax2.set(xlim=(-0.7, T - 0.3), ylim=(0.0, 1.08), ylabel="attention weight")
        ax2.set_xticks([])
        ax2.set_xlabel("the window's characters (the query's in orange)", labelpad=22)
        self.labels = [
            ax2.text(
                i,
                -0.035,
                " ",
                ha="center",
                va="top",
                fontsize=9,
                family="monospace",
                transform=ax2.get_xaxis_transform(),
                **kw,
            )  # fmt: skip
            for i in range(T)
        ]
        self.title = ax.set_title(" ", **kw)
        self.title2 = ax2.set_title(" ", **kw)

    def _chosen(self, values: dict[str, Any]) -> tuple[int, int, int]:
        layer, head = divmod(int(values["head"]), self.n_heads)
        return int(values["query"]), layer, head

    def update(self, res: AttentionPatterns, values: dict[str, Any]) -> None:
        q, layer, head = self._chosen(values)
        A = res.maps[layer, head]
        self.image.set_data(A)
        self.row.set_data([-0.5, q + 0.5, q + 0.5, -0.5, -0.5], [q - 0.5, q - 0.5, q + 0.5,
                                                                q + 0.5, q - 0.5])  # fmt: skip
        for i, bar in enumerate(self.bars):
            bar.set_height(float(A[q, i]))
            bar.set_color(plotting.OKABE_ITO[1] if i == q else plotting.OKABE_ITO[0])
        for i, label in enumerate(self.labels):
            label.set_text(_shown(res.chars[i]))
            label.set_color(plotting.OKABE_ITO[1] if i == q else ("0.1" if i <= q else "0.7"))
        self.title.set_text(f"layer {layer + 1}, head {head + 1}: all {self.T} queries")
        top = int(np.argmax(A[q]))
        self.title2.set_text(
            f"query {q} '{_shown(res.chars[q])}': most weight on {top} "
            f"'{_shown(res.chars[top])}' ({A[q, top]:.2f})"
        )

    def alt(self, res: AttentionPatterns, values: dict[str, Any]) -> str:
        q, layer, head = self._chosen(values)
        A = res.maps[layer, head]
        order = np.argsort(-A[q])[:3]
        best = ", ".join(f"position {i} '{_shown(res.chars[i])}' ({A[q, i]:.2f})" for i in order)
        return (
            f"Attention of layer {layer + 1}, head {head + 1} of the trained transformer on the "
            f"window {res.chars!r}. Left: the {self.T} by {self.T} weights, zero above the "
            f"diagonal (the causal mask). Right: what query position {q} "
            f"('{_shown(res.chars[q])}') reads; the most weight goes to {best}."
        )


def attention_pattern_explorer(
    params: tlm.TransformerLMParams,
    ids: Any,
    vocab: lm.Vocab,
    *,
    n_heads: int,
    query: int | None = None,
) -> Demo:
    r"""Slide the query position; pick a layer and head; pick a window of the text ``ids``.

    The window is ``max_len`` characters of ``ids (n,)`` (e.g. the validation text); each
    window is one call of :func:`course_lib.transformer_lm.attention_maps` (jitted, the ids
    traced: a new window never recompiles), and the query and head only redraw.
    """
    T = params.positions.shape[0]
    n_heads = tlm.n_heads_of(params, n_heads)
    ids = _validate.index_array("ids", ids, size=params.embed.shape[0], ndim=1)
    if ids.shape[0] < T:
        raise ValueError(f"`ids` must hold at least max_len = {T} characters, got {ids.shape[0]}.")
    n_windows = int(ids.shape[0] // T)
    n_layers = len(params.blocks)
    options = [
        (f"layer {li + 1}, head {hi + 1}", li * n_heads + hi)
        for li in range(n_layers)
        for hi in range(n_heads)
    ]

    def compute(window: int) -> AttentionPatterns:
        start = int(window) * T
        chunk = ids[start : start + T]
        maps = np.asarray(tlm.attention_maps(params, chunk, n_heads=n_heads), np.float64)
        return AttentionPatterns(maps, lm.decode(vocab, chunk), start)

    controls = {
        "query": W.IntSlider(
            value=T - 1 if query is None else int(query),
            min=0,
            max=T - 1,
            description="query position",
            continuous_update=True,
        ),  # fmt: skip
        "head": W.Dropdown(options=options, value=0, description="layer, head"),
        "window": W.IntSlider(
            value=0,
            min=0,
            max=min(n_windows, 200) - 1,
            description="text window",
            continuous_update=False,
        ),  # fmt: skip
    }
    return Demo(controls, compute, _AttentionView(T, n_heads), redraw_only=("query", "head"))
