"""Pixels pasted into a :class:`~course_lib.widgets.demo.LiveFigure`: grids of numbers and text.

matplotlib lays out and rasterises every ``Text`` anew on each draw, a few ms per line of text
on one core, and ``imshow`` resamples an image on each draw even at one screen pixel per image
pixel. A widget whose picture is mostly numbers or prose (the ch08a filter grid, the ch07b
sampled text) would spend its whole budget there. :class:`RasterFigure` instead pastes RGB
arrays into the rendered frame at fixed pixel boxes, and :func:`text_image` rasterises text
with PIL in the font matplotlib uses (about 1 ms for a paragraph).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from matplotlib import font_manager
from PIL import Image, ImageDraw, ImageFont

from course_lib.widgets.demo import LiveFigure


class RasterFigure(LiveFigure):
    """A :class:`LiveFigure` that pastes RGB rasters into its frame after every render.

    ``rasters[name] = (left, top, array)``: an ``(h, w, 3)`` uint8 array whose top-left pixel
    goes to (``left``, ``top``), counted from the frame's top-left corner (clipped at its
    edges). Meant for a fixed layout (no layout engine), where every box is known in pixels.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rasters: dict[str, tuple[int, int, np.ndarray]] = {}

    def render(self) -> np.ndarray:
        rgba = super().render()
        height, width = rgba.shape[:2]
        for left, top, raster in self.rasters.values():
            h, w = min(raster.shape[0], height - top), min(raster.shape[1], width - left)
            rgba[top : top + h, left : left + w, :3] = raster[:h, :w]
        return rgba


@functools.lru_cache(maxsize=16)
def font(size_pt: float, dpi: float, family: str = "DejaVu Sans") -> ImageFont.FreeTypeFont:
    """The font matplotlib would use for ``family``, at ``size_pt`` points for ``dpi``."""
    path = font_manager.findfont(font_manager.FontProperties(family=family))
    return ImageFont.truetype(path, max(1, round(size_pt * dpi / 72)))


def text_image(
    text: str,
    size: tuple[int, int],
    typeface: ImageFont.FreeTypeFont,
    *,
    align: str = "center",
    color: str = "black",
    spacing: float = 0.35,
) -> np.ndarray:
    """``text`` (may hold newlines) drawn on white in a ``size = (width, height)`` box:
    centred (``align="center"``) or from the top-left corner (``"left"``). Returns
    ``(height, width, 3)`` uint8."""
    width, height = size
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    gap = round(spacing * typeface.size)
    if align == "center":
        draw.multiline_text(
            (width / 2, height / 2),
            text,
            fill=color,
            font=typeface,
            anchor="mm",
            spacing=gap,
            align="center",
        )
    elif align == "left":
        draw.multiline_text((0, 0), text, fill=color, font=typeface, spacing=gap)
    else:
        raise ValueError(f"text_image: align must be 'center' or 'left', got {align!r}.")
    return np.asarray(img)
