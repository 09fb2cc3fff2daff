"""What every interactive figure of the course must do, shared by the per-chapter widget tests
(tests/test_widgets_ch*.py).

- :func:`check_controls`: from the defaults, each move of each control changes the picture, the
  static part is drawn once, and nothing recompiles (counted with a ``jax.monitoring`` listener);
- :func:`check_fits_and_words`: the picture fits JupyterLab, something dark is drawn, and the
  alt text says in words what it shows and travels with the PNG;
- :func:`check_same_picture`: a setting drawn again after another gives the same picture (the
  animated artists and pasted rasters leave nothing behind);
- :func:`course_style`: the notebooks' matplotlib style (dpi 90) for a test, as a fixture.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable

import jax
import matplotlib
import numpy as np
import pytest

from course_lib import plotting

_COMPILES = [0]


def _count(event: str, duration: float, **kwargs) -> None:
    if event == "/jax/core/compile/backend_compile_duration":
        _COMPILES[0] += 1


jax.monitoring.register_event_duration_secs_listener(_count)


def compiles() -> int:
    """How many XLA compilations this process has run so far."""
    return _COMPILES[0]


@pytest.fixture(autouse=True)
def course_style():
    with matplotlib.rc_context():
        plotting.style()  # dpi 90, as in the notebooks
        yield


def build_quietly(build: Callable):
    """``build()`` with its progress lines swallowed."""
    with contextlib.redirect_stdout(io.StringIO()):
        return build()


def check_controls(build: Callable, moves: dict) -> None:
    """From the defaults, each move of each control changes the frame (so the defaults leave
    every control something visible to do); the static part is drawn once for all of them, and
    no move compiles anything."""
    demo = build_quietly(build)
    demo.set(**{c: v[0] for c, v in moves.items()})  # every setting once: any compile is here
    demo.set(**{c: demo.controls[c].value for c in moves})  # no-op
    demo = build_quietly(build)  # again from the defaults
    before = compiles()
    for control, values in moves.items():
        for value in values:
            previous = demo.frame.copy()
            demo.set(**{control: value})
            assert not np.array_equal(demo.frame, previous), f"{control} = {value} changed nothing"
    assert compiles() == before, f"{compiles() - before} compilation(s) while moving"
    assert demo.view.live.full_draws == 1  # only the animated artists were redrawn


def check_fits_and_words(demo, alt_endings: tuple[str, ...] = (".",)) -> None:
    """The frame fits JupyterLab's width, shows something dark (text, lines), and its alt text
    (over 60 characters, a whole sentence) is the PNG's alt too."""
    height, width = demo.frame.shape[:2]
    assert width <= plotting.MAX_WIDTH * 90 + 1, f"{width} px is wider than MAX_WIDTH at dpi 90"
    assert demo.frame[..., :3].min() < 50  # something dark was drawn (text, lines)
    alt = demo.alt
    assert isinstance(alt, str) and len(alt) > 60 and alt.rstrip().endswith(alt_endings)
    bundle, meta = demo._repr_mimebundle_()
    assert bundle["image/png"] and meta["image/png"]["alt"] == alt


def check_same_picture(demo, moves: dict) -> None:
    """Setting ``a`` (each control's first value in ``moves``), then ``b`` (the second), then
    ``a`` again draws exactly the first picture: nothing of ``b`` is left behind."""
    a = {c: v[0] for c, v in moves.items()}
    b = {c: v[1] for c, v in moves.items()}
    demo.set(**a)
    first = demo.frame.copy()
    demo.set(**b)
    demo.set(**a)
    np.testing.assert_array_equal(demo.frame, first)
