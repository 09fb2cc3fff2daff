"""Chapter 7b: temperature sampling from a trained character-level LSTM."""

from __future__ import annotations

from typing import Any, NamedTuple

import ipywidgets as W
import jax
import matplotlib as mpl
import numpy as np
from PIL import Image, ImageDraw

from course_lib import (
    language_model,
    plotting,
    rnn,
)
from course_lib.widgets.demo import Demo
from course_lib.widgets.raster import RasterFigure, font

_WRAP = 80  # characters per line of the sample


class TemperatureView(NamedTuple):
    """What :func:`temperature_explorer` shows for one temperature and seed."""

    probs: np.ndarray  # (V,) softmax(z / T) of the character after the prompt
    entropy: float  # its entropy in nats
    text: str  # a sampled continuation of the prompt


class _TemperatureFigure:
    """Top: the probabilities of the prompt's most likely next characters (their order does
    not depend on T: dividing the logits by T > 0 keeps it). Bottom: the prompt and a sample,
    in a monospace font at 11 pt, in a box exactly as tall as the text."""

    def __init__(self, prompt: str, chars: str, top: np.ndarray, length: int) -> None:
        self.prompt, self.top, self.length = prompt, np.asarray(top), length
        dpi = mpl.rcParams["figure.dpi"]
        self.mono = font(11, dpi, "DejaVu Sans Mono")
        self.label_font = font(11, dpi)
        self.advance = self.mono.getlength("M")  # monospace: every character this wide
        self.line_px = round(1.45 * self.mono.size)
        self.n_lines = -(-(len(prompt) + length) // _WRAP)
        text_px = self.line_px * (self.n_lines + 1) + round(0.1 * dpi)  # + the caption line
        width_in, bars_in = 9.3, 2.6
        height_in = bars_in + text_px / dpi + 0.25
        self.live = live = RasterFigure(1, width=width_in, height=height_in)
        live.fig.set_layout_engine("none")  # fixed boxes: the text is pasted at known pixels
        ax = live.ax
        bottom_in = text_px / dpi + 0.7  # room for the tick labels and the x label
        ax.set_position(
            [0.9 / width_in, bottom_in / height_in, 8.2 / width_in, (bars_in - 0.75) / height_in]
        )
        k = len(self.top)
        self.bars = ax.bar(np.arange(k), np.zeros(k), color=plotting.POS_COLOR, animated=True)
        ax.set_xticks(np.arange(k), [plotting.char_label(chars[i]) for i in self.top])
        ax.set(ylim=(0, 1), ylabel="probability")
        ax.set_xlabel(f"the {k} likeliest next characters (sp = space)")
        ax.grid(axis="x", visible=False)
        self.title = ax.set_title(" ", animated=True)
        self.text_box = (round(0.5 * dpi), round(height_in * dpi) - text_px - round(0.1 * dpi))
        self.text_size = (round(8.6 * dpi), text_px)

    def _sample_image(self, text: str, seed: int) -> np.ndarray:
        width, height = self.text_size
        img = Image.new("RGB", (width, height), "white")
        draw = ImageDraw.Draw(img)
        caption = (
            f"A sample of {self.length} characters (seed {seed}): the prompt in blue, then the "
            "model's text; ↵ marks a new line."
        )
        draw.text((0, 0), caption, fill="#4d4d4d", font=self.label_font)
        shown = (self.prompt + text).replace("\n", "↵")
        n_prompt = len(self.prompt)
        for line in range(self.n_lines):
            y = self.line_px * (line + 1) + round(0.1 * self.line_px)
            a, b = line * _WRAP, min((line + 1) * _WRAP, len(shown))
            split = min(max(n_prompt - a, 0), b - a)  # prompt characters on this line
            if split:
                draw.text((0, y), shown[a : a + split], fill=plotting.POS_COLOR, font=self.mono)
            if b > a + split:
                x = split * self.advance
                draw.text((x, y), shown[a + split : b], fill="black", font=self.mono)
        return np.asarray(img)

    def update(self, view: TemperatureView, values: dict[str, Any]) -> None:
        for bar, i in zip(self.bars, self.top, strict=True):
            bar.set_height(float(view.probs[i]))
        self.title.set_text(
            f"Next character after {self.prompt[-32:]!r}: T = {values['temperature']:.2f}, "
            f"entropy {view.entropy:.2f} nats"
        )
        left, top = self.text_box
        self.live.rasters["sample"] = (left, top, self._sample_image(view.text, values["seed"]))

    def alt(self, view: TemperatureView, values: dict[str, Any]) -> str:
        return (
            f"Bars: the probabilities of the {len(self.top)} likeliest characters after the "
            f"prompt at temperature {values['temperature']:.2f}, entropy "
            f"{view.entropy:.2f} nats. Below: the prompt and {self.length} sampled characters: "
            f"{view.text!r}"
        )


def temperature_explorer(
    params: rnn.LSTMParams,
    vocab: language_model.Vocab,
    prompt: str,
    *,
    length: int = 200,
) -> Demo:
    r"""Move the temperature $T$: see $\mathrm{softmax}(z/T)$ of the next character and a sample.

    Controls: ``temperature`` (log slider, 0.1 to 3) and ``seed`` (the sampling key). The
    temperature is a traced argument of the jitted sampler: moving it never recompiles
    (:func:`course_lib.language_model.decoding_cache_size`).
    """
    prompt_ids = language_model.encode(vocab, prompt)

    def compute(temperature: float, seed: int) -> TemperatureView:
        probs = language_model.next_char_probs(params, prompt_ids, temperature)
        toks = language_model.sample(
            params, prompt_ids, key=jax.random.key(seed), length=length, temperature=temperature
        )
        return TemperatureView(
            np.asarray(probs),
            float(language_model.entropy(probs)),
            language_model.decode(vocab, toks),
        )

    controls = {
        "temperature": W.FloatLogSlider(
            value=1.0,
            base=10,
            min=-1,
            max=np.log10(3.0),
            step=0.05,
            description="temperature T",
            readout_format=".2f",
            continuous_update=False,
        ),
        "seed": W.IntSlider(
            value=0, min=0, max=20, description="sampling seed", continuous_update=False
        ),
    }
    order = np.argsort(-np.asarray(language_model.next_char_probs(params, prompt_ids, 1.0)))
    view = _TemperatureFigure(prompt, vocab.chars, order[:15], length)
    return Demo(controls, compute, view)
