"""Animated text drawn with PIL: a title that changes with a slider, at a tenth of the cost.

matplotlib lays out and rasterises a changing ``Text`` anew on every draw: about 80 µs per
glyph on one laptop core, so a title of 80 characters costs 6-7 ms, often more than the
computation behind the widget. PIL draws the same string in the same font file at the same
size in about 0.5 ms. :func:`draw_text` does that for the plain texts a
:class:`~course_lib.widgets.demo.LiveFigure` animates, and :func:`supported` says which ones
qualify: one line, no rotation, no math (``$...$``), no box, no path effects, not an
``Annotation``. The rest are drawn by matplotlib as before.

The string is placed where matplotlib would put it: the anchor point from the artist's
transform, ``ha`` against the advance width, and ``va`` against the line box matplotlib uses
(the larger of the string's and ``"lp"``'s ascent and descent). The glyph shapes differ from
Agg's by hinting only (``tests/test_widgets_fasttext.py`` compares the two).
"""

from __future__ import annotations

import functools

import numpy as np
from matplotlib import colors as mcolors
from matplotlib import font_manager
from matplotlib.text import Text
from PIL import Image, ImageDraw, ImageFont

_VA = ("top", "bottom", "center", "baseline")
_HA = ("left", "center", "right")


def supported(artist: object) -> bool:
    """Whether :func:`draw_text` draws ``artist`` as matplotlib would (see the module doc)."""
    if type(artist) is not Text:  # Annotation (arrows, offsets) and other subclasses: no
        return False
    text = artist.get_text()
    return (
        "\n" not in text
        and not ("$" in text and artist.get_parse_math())
        and artist.get_rotation() % 360 == 0
        and artist.get_bbox_patch() is None
        and not artist.get_usetex()
        and not artist.get_path_effects()
        and not artist.get_wrap()
        and artist.get_ha() in _HA
        and artist.get_va() in _VA
    )


@functools.lru_cache(maxsize=64)
def _font(path: str, size_px: int) -> tuple[ImageFont.FreeTypeFont, int, int]:
    """The font, and the ascent and descent of "lp" in it (pixels, from the baseline)."""
    font = ImageFont.truetype(path, size_px, layout_engine=ImageFont.Layout.BASIC)
    _, top, _, bottom = font.getbbox("lp", anchor="ls")
    return font, -top, bottom


@functools.lru_cache(maxsize=256)
def _font_for(
    props: font_manager.FontProperties, dpi: float
) -> tuple[ImageFont.FreeTypeFont, int, int]:
    path = font_manager.findfont(props)
    return _font(path, max(1, round(props.get_size_in_points() * dpi / 72)))


def draw_text(artist: Text, rgba: np.ndarray, dpi: float) -> None:
    """Blend ``artist`` (one :func:`supported` text) into ``rgba``, the figure's ``(h, w, 4)``
    uint8 raster, in place. Clipped to the raster and to the artist's clip box."""
    text = artist.get_text()
    if not text or not artist.get_visible():
        return
    height, width = rgba.shape[:2]
    font, lp_ascent, lp_descent = _font_for(artist.get_fontproperties().copy(), dpi)
    x, y = artist.get_transform().transform(artist.get_unitless_position())
    top = height - y  # matplotlib counts y up from the bottom, the raster down from the top

    # matplotlib's line box: the larger of the string's and "lp"'s ascent and descent
    ink_left, ink_top, ink_right, ink_bottom = font.getbbox(text, anchor="ls")
    ascent, descent = max(-ink_top, lp_ascent), max(ink_bottom, lp_descent)
    va = artist.get_va()
    if va == "top":
        baseline = top + ascent
    elif va == "bottom":
        baseline = top - descent
    elif va == "center":
        baseline = top + (ascent - descent) / 2
    else:
        baseline = top
    advance = font.getlength(text)
    left = x - {"left": 0.0, "center": advance / 2, "right": advance}[artist.get_ha()]

    # the glyphs' coverage in a small mask, then blended into the raster in numpy
    x0, y0 = round(left) + ink_left, round(baseline) + ink_top
    mask = Image.new("L", (max(1, ink_right - ink_left), max(1, ink_bottom - ink_top)))
    ImageDraw.Draw(mask).text((-ink_left, -ink_top), text, fill=255, font=font, anchor="ls")
    cover = np.asarray(mask, dtype=np.float32) * np.float32(1 / 255)

    xmin, ymin, xmax, ymax = 0, 0, width, height
    clip = artist.get_clip_box() if artist.get_clip_on() else None
    if clip is not None:
        xmin, xmax = max(xmin, int(np.floor(clip.x0))), min(xmax, int(np.ceil(clip.x1)))
        ymin = max(ymin, int(np.floor(height - clip.y1)))
        ymax = min(ymax, int(np.ceil(height - clip.y0)))
    cx0, cy0 = max(x0, xmin), max(y0, ymin)
    cx1, cy1 = min(x0 + cover.shape[1], xmax), min(y0 + cover.shape[0], ymax)
    if cx0 >= cx1 or cy0 >= cy1:
        return
    cover = cover[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]
    r_, g_, b_, a_ = mcolors.to_rgba(artist.get_color(), artist.get_alpha())
    alpha = (cover * a_)[..., None]
    box = rgba[cy0:cy1, cx0:cx1]
    color = np.array([r_, g_, b_], np.float32) * 255.0
    box[..., :3] = (box[..., :3] * (1.0 - alpha) + color * alpha + 0.5).astype(np.uint8)
    box[..., 3] = np.maximum(box[..., 3], (alpha[..., 0] * 255.0 + 0.5).astype(np.uint8))
