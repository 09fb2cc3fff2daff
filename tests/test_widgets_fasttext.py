"""Animated plain text drawn by PIL (course_lib.widgets.fasttext) against matplotlib's Agg.

The two rasterisers hint glyphs differently, so pixels differ at the edges of strokes; what must
agree is where the text goes (its ink box, for every alignment), how much ink there is, its
colour and its clipping. Texts the fast path cannot draw as matplotlib would are left to
matplotlib, pixel for pixel.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.patheffects as pe  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_lib.widgets import fasttext  # noqa: E402
from course_lib.widgets.demo import LiveFigure  # noqa: E402


def _live(**text_kw):
    live = LiveFigure(width=4, height=2, dpi=100)
    live.ax.set(xlim=(0, 1), ylim=(0, 1))
    live.ax.axvline(0.5, color="0.8")  # something static under the text
    text = live.ax.text(0.5, 0.5, "", animated=True, **text_kw)
    return live, text


def _both(live) -> tuple[np.ndarray, np.ndarray]:
    live.fast_text = True
    fast = live.render()
    live.fast_text = False
    slow = live.render()
    return fast, slow


def _ink(rgba: np.ndarray, background: np.ndarray) -> np.ndarray:
    """How much darker than the background each pixel is, 0..1."""
    diff = background[..., :3].astype(float) - rgba[..., :3].astype(float)
    return np.clip(diff.max(-1), 0, None) / 255.0


def _box(ink: np.ndarray, threshold: float = 0.3) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(ink > threshold)
    assert xs.size, "no ink"
    return xs.min(), ys.min(), xs.max(), ys.max()


@pytest.mark.parametrize("ha", ["left", "center", "right"])
@pytest.mark.parametrize("va", ["top", "bottom", "center", "baseline"])
def test_fast_text_lands_where_matplotlib_puts_it(ha, va):
    live, text = _live(ha=ha, va=va, fontsize=13)
    live.fast_text = False
    background = live.render()  # the empty string draws nothing
    text.set_text("Tq = 1.25, entropy 4.6 nats (lp)")
    assert fasttext.supported(text)
    fast, slow = _both(live)
    ink_fast, ink_slow = _ink(fast, background), _ink(slow, background)
    sides = "left top right bottom".split()
    for got, want, side in zip(_box(ink_fast), _box(ink_slow), sides, strict=True):
        assert abs(int(got) - int(want)) <= 2, f"{ha}/{va}: ink box {side} {got} vs {want}"
    ratio = ink_fast.sum() / ink_slow.sum()
    assert 0.8 < ratio < 1.25, f"{ha}/{va}: ink {ratio:.2f} x matplotlib's"


def test_fast_text_has_the_artists_colour_weight_and_size():
    live, text = _live(ha="center", va="center", fontsize=20, color="#d55e00", weight="bold")
    live.fast_text = False
    background = live.render()
    text.set_text("HHHH")
    fast, slow = _both(live)
    for rgba in (fast, slow):
        solid = _ink(rgba, background) > 0.5
        mean = rgba[solid][:, :3].mean(0)
        np.testing.assert_allclose(mean, [0xD5, 0x5E, 0x00], atol=25)
    widths = [np.ptp(np.nonzero(_ink(r, background) > 0.3)[1]) for r in (fast, slow)]
    assert abs(widths[0] - widths[1]) <= 3, widths  # bold 20 pt, not the regular face


def test_fast_text_is_clipped_to_the_clip_box():
    live, text = _live(ha="left", va="center", fontsize=14, clip_on=True)
    live.fast_text = True
    background = live.render()
    text.set_position((0.8, 0.5))
    text.set_text("a long string that runs out of the axes")
    fast = live.render()
    x1 = int(np.ceil(live.ax.bbox.x1))
    np.testing.assert_array_equal(fast[:, x1 + 1 :], background[:, x1 + 1 :])
    assert _ink(fast, background)[:, : x1 + 1].max() > 0.5


def test_text_leaving_the_figure_is_cut_not_an_error():
    live, text = _live(ha="left", va="baseline", fontsize=14)
    live.render()  # laid out with the text empty, as a view does
    text.set_position((1.5, 3.0))  # far outside the figure
    text.set_text("off the page")
    live.fast_text = True
    live.render()
    text.set_position((-0.2, 0.5))  # half outside on the left
    live.render()


@pytest.mark.parametrize(
    "kw, text",
    [
        ({}, "$\\gamma = 0.5$"),
        ({}, "two\nlines"),
        ({"rotation": 90}, "rotated"),
        ({"bbox": {"facecolor": "yellow"}}, "boxed"),
        ({"path_effects": [pe.withStroke(linewidth=3, foreground="w")]}, "outlined"),
        ({"va": "center_baseline"}, "odd alignment"),
    ],
)
def test_texts_it_cannot_draw_are_left_to_matplotlib(kw, text):
    live, artist = _live(**kw)
    artist.set_text(text)
    assert not fasttext.supported(artist)
    fast, slow = _both(live)
    np.testing.assert_array_equal(fast, slow)


def test_annotations_are_left_to_matplotlib():
    live, _ = _live()
    note = live.ax.annotate("peak", (0.2, 0.2), (0.6, 0.8), arrowprops={"arrowstyle": "->"})
    live.animate(note)
    assert not fasttext.supported(note)
    fast, slow = _both(live)
    np.testing.assert_array_equal(fast, slow)


def test_math_is_not_mistaken_for_plain_text_unless_parsing_is_off():
    live, artist = _live()
    artist.set_text("costs $5")
    assert not fasttext.supported(artist)
    artist.set_parse_math(False)
    assert fasttext.supported(artist)


def test_an_animated_title_takes_the_fast_path():
    live, _ = _live()
    title = live.ax.set_title(" ", animated=True)
    live.render()
    title.set_text("a title that changes with every move of a slider: 1.234")
    calls = []
    original = fasttext.draw_text
    try:
        fasttext.draw_text = lambda *a: (calls.append(a[0]), original(*a))
        live.fast_text = True
        live.render()
    finally:
        fasttext.draw_text = original
    assert title in calls
