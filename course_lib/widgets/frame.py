"""The live picture of a :class:`~course_lib.widgets.demo.Demo`: frames drawn on a canvas.

ipywidgets' ``Image`` shows each new frame by handing the browser a fresh ``blob:`` URL; the
``<img>`` then loads and decodes it on the page's main thread before the next paint. In a full
lecture notebook that took 15-18 ms of the 60-70 ms from key press to picture. :class:`Frame`
(an `anywidget <https://anywidget.dev>`_) sends the same JPEG bytes, and its front end
(``frame.js``) decodes them with ``createImageBitmap`` off the main thread and draws them on a
``<canvas>`` in one call. The canvas carries ``role="img"`` and the figure's alt text.
"""

from __future__ import annotations

from pathlib import Path

import anywidget
import traitlets


class Frame(anywidget.AnyWidget):
    """A JPEG frame (``value``, bytes) shown at 100 % zoom, with ``alt`` as its accessible name."""

    _esm = Path(__file__).with_name("frame.js")
    value = traitlets.Bytes(b"").tag(sync=True)
    alt = traitlets.Unicode("").tag(sync=True)
