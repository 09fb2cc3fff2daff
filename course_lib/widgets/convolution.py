"""Chapter 8a: a filter sliding over a small input (padding, stride, filter size)."""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import ipywidgets as W
import jax.numpy as jnp
import numpy as np
from matplotlib import colors as mcolors
from PIL import Image, ImageDraw

from course_lib import cnn, plotting
from course_lib._types import Array
from course_lib.widgets.demo import Demo
from course_lib.widgets.raster import RasterFigure, font, text_image

_SLIDE_MAX_F = 5  # the largest filter the slider offers
_SLIDE_MAX_P = 2  # the largest padding
_slide_map = cnn._slide_map  # the jitted map (its old home was here; tests count its compiles)


def conv_slider_cache_size() -> int:
    """How many times the slider's jitted map has been compiled (should stay 1 per input size)."""
    return cnn.slide_map_cache_size()


class SlideResult(NamedTuple):
    """One setting of :func:`conv_slider`: the padded input, the filter and the output map."""

    padded: np.ndarray  # (n + 2p, n + 2p)
    filter: np.ndarray  # (f, f)
    out: np.ndarray  # (n_out, n_out)
    f: int
    padding: int
    stride: int
    exact: bool  # (n + 2p - f) / s is an integer (else the last rows/columns are dropped)

    def products(self, t: int) -> tuple[tuple[int, int], list[tuple[float, float]], float]:
        """Output cell ``t`` (row-major): its (row, column), the non-zero products, the sum."""
        k = self.out.shape[1]
        i, j = divmod(int(t), k)
        r0, c0 = i * self.stride, j * self.stride
        patch = self.padded[r0 : r0 + self.f, c0 : c0 + self.f]
        pairs = [
            (float(a), float(b))
            for a, b in zip(patch.ravel(), self.filter.ravel(), strict=True)
            if a * b
        ]
        return (i, j), pairs, float((patch * self.filter).sum())


def _rgb(color: str, alpha: float = 1.0) -> np.ndarray:
    """A colour as float RGB, blended over white with ``alpha``."""
    rgb = np.asarray(mcolors.to_rgb(color)) * 255
    return alpha * rgb + (1 - alpha) * 255


class _CellPainter:
    """Paints a grid of numbered cells into an RGB raster with NumPy.

    Why not one matplotlib ``Text`` per cell: the two grids hold up to 242 numbers, and
    matplotlib lays out and rasterises each text anew on every draw (about 0.3 ms each on one
    core), far over a slider's budget. Here every distinct label is rasterised once (PIL, the
    font matplotlib uses) into a cell-sized coverage mask and pasted with array slicing.
    """

    def __init__(self, cell: int, dpi: float) -> None:
        self.cell = cell
        self.fonts = {size: font(size, dpi) for size in (9.5, 11, 11.5, 12)}

    @functools.lru_cache(maxsize=512)  # noqa: B019 (one painter per widget; few labels)
    def mask(self, label: str, size: float, dy: float) -> np.ndarray:
        """``(cell, cell)`` coverage in [0, 1] of ``label`` centred in a cell, moved down by
        ``dy`` cells."""
        font, mid = self.fonts[size], self.cell / 2
        img = Image.new("L", (self.cell, self.cell), 0)
        draw = ImageDraw.Draw(img)
        draw.text((mid, mid + dy * self.cell), label, fill=255, font=font, anchor="mm")
        return np.asarray(img, np.float32)[..., None] / 255

    def line(self, label: str, width: int, size: float) -> np.ndarray:
        """A ``(h, width, 3)`` uint8 strip with ``label`` centred in black on white."""
        typeface = self.fonts[size]
        return text_image(label, (width, round(1.5 * typeface.size)), typeface)

    def fill(self, canvas: np.ndarray, r: int, c: int, rgb: np.ndarray) -> None:
        s = self.cell
        canvas[r * s : (r + 1) * s, c * s : (c + 1) * s] = rgb

    def text(
        self,
        canvas: np.ndarray,
        r: int,
        c: int,
        label: str,
        rgb: np.ndarray,
        size: float = 11.5,
        dy: float = 0.0,
    ) -> None:
        if len(label) > 3 and size > 9.5:
            size = 9.5  # long numbers: the smaller (still 9.5 pt) font keeps them in the cell
        s = self.cell
        m = self.mask(label, size, dy)
        block = canvas[r * s : (r + 1) * s, c * s : (c + 1) * s]
        block[...] = block * (1 - m) + rgb * m

    def grid(
        self, canvas: np.ndarray, r0: int, c0: int, rows: int, cols: int, rgb: np.ndarray
    ) -> None:
        s = self.cell
        for r in range(rows + 1):
            y = min((r0 + r) * s, canvas.shape[0] - 1)
            canvas[y, c0 * s : (c0 + cols) * s + 1] = rgb
        for c in range(cols + 1):
            x = min((c0 + c) * s, canvas.shape[1] - 1)
            canvas[r0 * s : (r0 + rows) * s + 1, x] = rgb

    def frame(
        self, canvas: np.ndarray, r0: int, c0: int, size: int, rgb: np.ndarray, width: int = 3
    ) -> None:
        s = self.cell
        y0, x0, y1, x1 = r0 * s, c0 * s, (r0 + size) * s, (c0 + size) * s
        y1, x1 = min(y1, canvas.shape[0] - 1), min(x1, canvas.shape[1] - 1)
        canvas[y0 : y0 + width, x0 : x1 + 1] = rgb
        canvas[y1 - width + 1 : y1 + 1, x0 : x1 + 1] = rgb
        canvas[y0 : y1 + 1, x0 : x0 + width] = rgb
        canvas[y0 : y1 + 1, x1 - width + 1 : x1 + 1] = rgb


class _SlideView:
    """Left: the padded input with the filter's window; right: the output map filling in.

    Both grids sit in fixed squares sized for the largest setting (padding 2, filter 1: an
    11×11 input and output), centred, so nothing moves but the numbers and the window.
    """

    CELL_INCHES = 0.38

    def __init__(self, n: int) -> None:
        self.n = n
        self.G = G = n + 2 * _SLIDE_MAX_P  # largest padded input, and largest output (f = 1)
        self.live = live = RasterFigure(2, width=4.7, height=5.25)
        fig = live.fig
        fig.set_layout_engine("none")  # fixed positions: the rasters below map 1:1 to pixels
        dpi = fig.dpi
        self.cell = cell = round(self.CELL_INCHES * dpi)
        side = G * cell / dpi  # inches
        W_in, H_in = fig.get_size_inches()
        bottom, gap = 0.6, W_in - 2 * side - 0.5
        self.painter = _CellPainter(cell, dpi)
        # pixel boxes (from the top-left corner) of the two grids, their titles and the sum
        self.px_width, px_height = round(W_in * dpi), round(H_in * dpi)
        top = px_height - round((bottom + side) * dpi)
        self.boxes = [(round((0.25 + k * (side + gap)) * dpi), top) for k in range(2)]
        self.title_top = top - round(0.36 * dpi)
        self.sum_top = top + G * cell + round(0.12 * dpi)
        for ax in live.axes:
            ax.set_axis_off()  # the grids are pasted rasters (see RasterFigure)
        self.white = _rgb("white")
        self.pad_rgb = _rgb("0.85")
        self.line_rgb = _rgb("0.55")
        self.ink = _rgb("black")
        self.pad_ink = _rgb("0.45")
        self.window_rgb = _rgb(plotting.OKABE_ITO[1], 0.35)  # orange, light
        self.edge_rgb = _rgb(plotting.OKABE_ITO[3])  # vermillion
        self.weight_ink = _rgb(plotting.OKABE_ITO[0])  # blue
        self._input_cache: dict[int, np.ndarray] = {}

    def _input_canvas(self, res: SlideResult) -> np.ndarray:
        """The padded input without the window (cached per padding: it is all that changes)."""
        p = res.padding
        if p not in self._input_cache:
            G, N, o = self.G, res.padded.shape[0], _SLIDE_MAX_P - res.padding
            canvas = np.empty((G * self.cell, G * self.cell, 3), np.float32)
            canvas[...] = self.white
            for r in range(N):
                for c in range(N):
                    inside = p <= r < N - p and p <= c < N - p
                    if not inside:
                        self.painter.fill(canvas, o + r, o + c, self.pad_rgb)
                    ink = self.ink if inside else self.pad_ink
                    self.painter.text(canvas, o + r, o + c, f"{res.padded[r, c]:g}", ink)
            self.painter.grid(canvas, o, o, N, N, self.line_rgb)
            self._input_cache[p] = canvas
        return self._input_cache[p]

    def update(self, res: SlideResult, values: dict[str, Any]) -> None:
        paint, G, cell = self.painter, self.G, self.cell
        N, p, f, s = res.padded.shape[0], res.padding, res.f, res.stride
        o = _SLIDE_MAX_P - p  # where the padded input starts in the 11×11 square
        left = self._input_canvas(res).copy()
        right = np.empty((G * cell, G * cell, 3), np.float32)
        right[...] = self.white
        title = f"input {self.n}×{self.n}, padding {p} (grey), filter {f}×{f}"
        title2, below = "the filter is larger than the padded input", " "
        if res.out.size:
            t = min(int(values["t"]), res.out.size - 1)
            (i, j), pairs, total = res.products(t)
            r0, c0 = i * s, j * s
            for r in range(f):
                for c in range(f):
                    rr, cc = o + r0 + r, o + c0 + c
                    paint.fill(left, rr, cc, self.window_rgb)
                    # the value in the upper half of the cell, its weight in the lower half
                    value = f"{res.padded[r0 + r, c0 + c]:g}"
                    paint.text(left, rr, cc, value, self.ink, dy=-0.2)
                    weight = f"×{res.filter[r, c]:g}"
                    paint.text(left, rr, cc, weight, self.weight_ink, 9.5, dy=0.24)
            paint.grid(left, o, o, N, N, self.line_rgb)
            paint.frame(left, o + r0, o + c0, f, self.edge_rgb)
            k = res.out.shape[0]
            q = (G - k) // 2  # the output map, centred
            for idx in range(t + 1):
                a, b = divmod(idx, k)
                if (a, b) == (i, j):
                    paint.fill(right, q + a, q + b, self.window_rgb)
                paint.text(right, q + a, q + b, f"{res.out[a, b]:g}", self.ink)
            paint.grid(right, q, q, k, k, self.line_rgb)
            paint.frame(right, q + i, q + j, 1, self.edge_rgb)
            frac = (N - f) / s + 1
            note = " =" if res.exact else f" = {frac:.3g}, rounded down:"
            title2 = f"output ({self.n} + 2·{p} − {f})/{s} + 1{note} {k}×{k}"
            terms = " + ".join(f"{a:g}·{b:g}" for a, b in pairs) or "0"
            if len(terms) > 90:
                terms = terms[:87] + "..."
            below = f"output[{i}, {j}] = {terms} = {total:g}"
        rasters = self.live.rasters
        side = G * cell
        for name, canvas, (x0, y0), text in (
            ("input", left, self.boxes[0], title),
            ("output", right, self.boxes[1], title2),
        ):
            rasters[name] = (x0, y0, canvas.astype(np.uint8))
            rasters[name + " title"] = (x0 - 20, self.title_top, paint.line(text, side + 40, 12))
        rasters["sum"] = (0, self.sum_top, paint.line(below, self.px_width, 11))

    def alt(self, res: SlideResult, values: dict[str, Any]) -> str:
        k = res.out.shape[0]
        return (
            f"Left: the {self.n}×{self.n} input with padding {res.padding} and the "
            f"{res.f}×{res.f} filter's window at step {values['t']}, each cell showing its value "
            f"and the weight it is multiplied by. Right: the {k}×{k} output map filled in up to "
            "that step; underneath, the products that make the current output."
        )


def conv_slider(x: Array | None = None, w: Array | None = None) -> Demo:
    r"""Slide a filter over a small input: filter size, padding, stride, and which output cell.

    Left, the zero-padded input with the filter's current window (its receptive field); right,
    the output map filling in, cell by cell, with $(n + 2p - f)/s + 1$ in the title and the
    products that make the current cell underneath (Aggarwal §8.2, Fig 8.2; §8.2.1–8.2.2).

    ``x: (n, n)`` defaults to the 7×7 input of Fig 8.2; ``w: (5, 5)`` to a filter whose top-left
    3×3 block is Fig 8.2's; filter size ``f`` uses the top-left ``f``×``f`` block. Filter size,
    padding and stride are traced arguments of one jitted function (:func:`cnn.slide_map`,
    :func:`conv_slider_cache_size`); the step ``t`` only redraws.
    """
    x = np.asarray(cnn.FIG_8_2_INPUT if x is None else x, dtype=np.float64)
    if w is None:
        w = np.array(
            [[1, 0, 1, 0, 1], [1, 0, 0, 1, 0], [0, 0, 2, 0, 0], [0, 1, 0, 1, 0], [1, 0, 0, 0, 1]],
            dtype=float,
        )
    w = np.asarray(w, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] != x.shape[1]:
        raise ValueError(f"`x` must be a square (n, n) image, got shape {x.shape}.")
    if w.shape != (_SLIDE_MAX_F, _SLIDE_MAX_F):
        raise ValueError(f"`w` must have shape (5, 5), got {w.shape}.")
    n = x.shape[0]
    xj, wj = jnp.asarray(x, jnp.float32), jnp.asarray(w, jnp.float32)

    def compute(f: int, padding: int, stride: int) -> SlideResult:
        full, n_out = cnn.slide_map(xj, wj, f, padding, stride, max_padding=_SLIDE_MAX_P)
        n_out = max(int(n_out), 0)
        return SlideResult(
            np.pad(x, padding),
            w[:f, :f],
            np.asarray(full)[:n_out, :n_out],
            f,
            padding,
            stride,
            (n + 2 * padding - f) % stride == 0,
        )

    def after_compute(demo: Demo, res: SlideResult) -> None:
        last = res.out.size - 1
        demo.controls["t"].max = max(last, 0)
        demo.controls["t"].value = min(demo.controls["t"].value, max(last, 0))

    slider = {"continuous_update": False}
    controls = {
        "f": W.IntSlider(value=3, min=1, max=_SLIDE_MAX_F, description="filter size f", **slider),
        "padding": W.IntSlider(value=0, min=0, max=_SLIDE_MAX_P, description="padding p", **slider),
        "stride": W.IntSlider(value=1, min=1, max=3, description="stride s", **slider),
        "t": W.IntSlider(value=0, min=0, max=24, description="output cell t"),
    }
    for control in controls.values():
        control.style = {"description_width": "initial"}
    play = W.Play(value=0, min=0, max=24, step=1, interval=600, description="play the steps")
    W.jslink((play, "value"), (controls["t"], "value"))
    W.jslink((controls["t"], "max"), (play, "max"))
    return Demo(
        controls,
        compute,
        _SlideView(n),
        redraw_only={"t"},
        after_compute=after_compute,
        rows=[["f", "padding", "stride"], ["t"]],
        play=play,
    )
