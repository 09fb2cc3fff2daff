"""Chapter 7d: an encoder–decoder decoding a held-out string step by step (greedy, free running)."""

from __future__ import annotations

from typing import Any

import ipywidgets as W
import numpy as np

from course_lib import plotting, seq2seq
from course_lib.widgets.demo import Demo, LiveFigure


def _digits(ids: Any) -> str:
    return " ".join(seq2seq.TOKENS[int(i)] for i in ids)


class _DecodeView:
    """The decoder's probabilities over the vocabulary at each output step (a heat map), with
    its greedy choice (dots) and the true target (rings)."""

    def __init__(self, max_len: int) -> None:
        self.live = live = LiveFigure(1, width=8.4, height=3.9)
        ax = live.ax
        steps = max_len + 1
        self.image = ax.imshow(np.zeros((seq2seq.VOCAB, steps)), origin="lower", aspect="auto",
                               cmap="Blues", vmin=0.0, vmax=1.0, animated=True)  # fmt: skip
        (self.chosen,) = ax.plot([], [], "o", ms=6, color=plotting.OKABE_ITO[5],
                                 label="greedy output (fed back)", animated=True)  # fmt: skip
        (self.truth,) = ax.plot([], [], "s", ms=13, mfc="none", mew=1.6,
                                color=plotting.OKABE_ITO[3], label="true target",
                                animated=True)  # fmt: skip
        ax.set_yticks(range(seq2seq.VOCAB), seq2seq.TOKENS)
        ax.set_xticks(range(steps), [str(t + 1) for t in range(steps)])
        ax.set(xlabel="output step $t$", ylabel="token", xlim=(-0.5, steps - 0.5))
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8.5)
        live.fig.colorbar(self.image, ax=ax, label="probability", fraction=0.04, pad=0.22)
        self.title = ax.set_title(" ", animated=True, fontsize=10)

    def update(self, res: Any, values: dict[str, Any]) -> None:
        self.image.set_data(res["probs"].T)
        out, tgt, m = res["tokens"], res["target"], res["n_out"]
        self.chosen.set_data(np.arange(m), out[:m])
        self.truth.set_data(np.arange(res["n_tgt"]), tgt[: res["n_tgt"]])
        mark = "correct" if res["exact"] else "wrong"
        self.title.set_text(
            f"{values['model']}: source {_digits(res['source'])}  ->  {_digits(out[:m])}  ({mark})"
        )

    def alt(self, res: Any, values: dict[str, Any]) -> str:
        verdict = "exactly right" if res["exact"] else "not the reversal"
        out = _digits(res["tokens"][: res["n_out"]])
        return (
            f"Heat map of the decoder's probabilities over the 13 tokens at each output step, "
            f"for the model {values['model']} on held-out example {values['example']}: the "
            f"source {_digits(res['source'])} decodes greedily to {out}, "
            f"{verdict} (target {_digits(res['target'][: res['n_tgt']])})."
        )


def decode_explorer(models: dict[str, seq2seq.Seq2SeqParams], batch: seq2seq.Batch) -> Demo:
    r"""Slide through held-out examples of ``batch`` and pick a model (e.g. checkpoints of one
    training run): each move is one call of :func:`course_lib.seq2seq.decode`, jitted once
    (the parameters are traced, so switching models never recompiles).

    ``models``: name -> :class:`~course_lib.seq2seq.Seq2SeqParams` (one seed each, same
    sizes); ``batch``: a :class:`~course_lib.seq2seq.Batch` of held-out pairs.
    """
    if not models:
        raise ValueError("`models` must name at least one model.")
    src = np.asarray(batch.src)
    length = np.asarray(batch.length)
    target = np.asarray(batch.dec_tgt)
    T = src.shape[1]

    def compute(example: int, model: str) -> dict[str, Any]:
        i = int(example)
        tokens, probs = seq2seq.decode(models[model], src[i], int(length[i]))
        tokens, probs = np.asarray(tokens), np.asarray(probs)
        ends = np.flatnonzero(tokens == seq2seq.END)
        n_out = int(ends[0]) + 1 if ends.size else T + 1
        n_tgt = int(length[i]) + 1
        exact = bool(n_out == n_tgt and np.array_equal(tokens[:n_out], target[i, :n_tgt]))
        return {"tokens": tokens, "probs": probs, "source": src[i, : int(length[i])],
                "target": target[i], "n_out": n_out, "n_tgt": n_tgt, "exact": exact}  # fmt: skip

    names = list(models)
    controls = {
        "example": W.IntSlider(
            value=0, min=0, max=src.shape[0] - 1, description="example", continuous_update=False
        ),  # fmt: skip
        "model": W.Dropdown(options=names, value=names[-1], description="model"),
    }
    return Demo(controls, compute, _DecodeView(T))
