"""Tests for the widgets' shared machinery (course_lib.widgets.demo): LiveFigure and Demo."""

from __future__ import annotations

import base64
import io
import time

import ipywidgets as W
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from course_lib import widgets  # noqa: E402
from course_lib.widgets import demo as demo_mod  # noqa: E402
from course_lib.widgets.demo import PENDING_CLASS, Demo, LiveFigure  # noqa: E402


class LineView:
    """A line y = a x on fixed axes; the title says a."""

    def __init__(self) -> None:
        self.live = LiveFigure(width=3, height=2.5, dpi=50)
        ax = self.live.ax
        ax.set(xlim=(-1, 1), ylim=(-3, 3), xlabel="x", ylabel="y")
        (self.line,) = ax.plot([], [], animated=True)
        self.title = ax.set_title(" ", animated=True)
        self.updates = 0

    def update(self, result, values) -> None:
        x = np.linspace(-1, 1, 5)
        self.line.set_data(x, result * x)
        self.title.set_text(f"a = {result:.1f}")
        self.updates += 1

    def alt(self, result, values) -> str:
        return f"The line y = {result:.1f} x."


def _line_demo(**kw) -> Demo:
    controls = {"a": W.FloatSlider(value=1.0, min=-2, max=2), "show": W.IntSlider(value=0)}
    return Demo(controls, lambda a: a, LineView(), redraw_only={"show"}, **kw)


def test_live_figure_draws_static_part_once_and_animated_artists_every_time():
    demo = _line_demo()
    first = demo.frame.copy()
    assert first.ndim == 3 and first.shape[2] == 4 and first.dtype == np.uint8
    demo.set(a=-1.5)
    assert not np.array_equal(demo.frame, first), "moving a control must change the picture"
    demo.set(a=1.0)
    np.testing.assert_array_equal(demo.frame, first)  # same state, same picture: nothing left over
    assert demo.view.live.full_draws == 1


def test_invalidate_redraws_the_static_part():
    demo = _line_demo()
    demo.view.live.ax.set_ylim(-10, 10)
    demo.view.live.invalidate()
    demo.set(a=0.5)
    assert demo.view.live.full_draws == 2


def test_redraw_only_controls_do_not_recompute():
    calls = []

    def compute(a):
        calls.append(a)
        return a

    controls = {"a": W.FloatSlider(value=1.0, min=-2, max=2), "show": W.IntSlider(value=0)}
    demo = Demo(controls, compute, LineView(), redraw_only={"show"})
    demo.set(show=3)
    assert calls == [1.0]
    assert demo.view.updates == 2  # but it redrew
    demo.set(a=0.0)
    assert calls == [1.0, 0.0]


def test_events_from_the_browser_refresh_and_clear_the_pending_cue():
    demo = _line_demo()
    demo.controls["a"].value = -2.0  # what a slider move from the front end does
    assert demo.last == -2.0
    assert PENDING_CLASS not in demo.widget._dom_classes


def test_play_interval_is_stretched_to_the_redraw_time():
    play = W.Play(interval=1, min=0, max=10)
    controls = {"a": W.FloatSlider(value=1.0, min=-2, max=2)}
    demo = Demo(controls, lambda a: a, LineView(), play=play)
    demo.controls["a"].value = 0.5
    assert play.interval >= 1000 * demo.last_redraw_s  # never faster than frames are drawn
    assert play in demo.widget.children[1].children


def test_frame_is_a_jpeg_and_the_saved_picture_a_png_with_alt_text():
    demo = _line_demo()
    assert Image.open(io.BytesIO(demo.image.value)).format == "JPEG"
    assert Image.open(io.BytesIO(demo.image.value)).size == demo.frame.shape[1::-1]
    assert demo.image.alt == "The line y = 1.0 x."  # the canvas's accessible name
    data, metadata = demo._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    png = base64.b64decode(data["image/png"])
    assert Image.open(io.BytesIO(png)).format == "PNG"
    assert metadata["image/png"]["alt"] == "The line y = 1.0 x."
    assert "run the notebook" in data["text/plain"]
    assert "VBox" not in data["text/plain"]
    demo.set(a=-0.5)
    assert demo.image.alt == "The line y = -0.5 x."  # the words follow the picture


def test_labels_are_never_cut():
    long = W.FloatSlider(description="a long description of the control")
    narrow = W.IntSlider(description="n", style={"description_width": "30px"})  # chosen: kept
    demo = Demo({"a": long, "show": narrow}, lambda a: a, LineView(), redraw_only={"show"})
    assert demo.controls["a"].style.description_width == "initial"
    assert demo.controls["show"].style.description_width == "30px"


def test_rows_and_layout_classes():
    controls = {n: W.IntSlider() for n in "abcd"}
    demo = Demo(controls, lambda **v: 0, LineView().__class__(), rows=[["a", "b"], ["c", "d"]])
    rows = [c for c in demo.widget.children if isinstance(c, W.HBox)]
    assert [len(r.children) for r in rows] == [2, 2]
    assert all("course-demo-controls" in r._dom_classes for r in rows)
    assert "flex-flow: row wrap" in demo_mod._CSS


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"controls": {}}, "controls must be a non-empty dict"),
        ({"view": 3}, "view must have .live"),
        ({"view": lambda r, v: None}, "view must have .live"),
        ({"redraw_only": {"nope"}}, "redraw_only names unknown control"),
        ({"rows": [["a"]]}, "rows leave out control"),
    ],
)
def test_bad_arguments_are_named(kwargs, match):
    args = {
        "controls": {"a": W.FloatSlider(), "b": W.FloatSlider()},
        "compute": lambda **v: 0.0,
        "view": LineView(),
    }
    args.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=match):
        Demo(args.pop("controls"), args.pop("compute"), args.pop("view"), **args)


def test_set_rejects_unknown_controls():
    with pytest.raises(ValueError, match="unknown control"):
        _line_demo().set(b=1)


def test_live_figure_rejects_bad_grids():
    with pytest.raises(ValueError, match="ncols must be a positive int"):
        LiveFigure(0)


def test_lazy_exports_resolve_and_unknown_names_fail():
    for name in widgets.__all__:
        assert getattr(widgets, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        widgets.nope  # noqa: B018


def _class_messages(demo):
    seen = []
    demo.widget.observe(lambda change: seen.append(list(change["new"])), names="_dom_classes")
    return seen


def test_a_fast_redraw_sends_no_pending_cue(monkeypatch):
    monkeypatch.setattr(demo_mod, "PENDING_AFTER_S", 1e9)  # every redraw counts as fast
    demo = _line_demo()
    seen = _class_messages(demo)
    demo.controls["a"].value = -1.0
    demo.controls["a"].value = 0.5
    assert seen == []  # no add/remove of the cue: two messages and two restyles saved


def test_a_slow_redraw_shows_the_pending_cue_while_it_runs():
    during, made = [], []

    def compute(a):
        during.append(bool(made) and PENDING_CLASS in made[0].widget._dom_classes)
        time.sleep(demo_mod.PENDING_AFTER_S * 1.5)  # slower than the threshold, on any machine
        return a

    demo = Demo({"a": W.FloatSlider(value=1.0, min=-2, max=2)}, compute, LineView())
    made.append(demo)
    seen = _class_messages(demo)
    demo.controls["a"].value = -1.0  # the first move after a slow draw: the cue is on
    assert during == [False, True]
    assert PENDING_CLASS not in demo.widget._dom_classes  # and off again afterwards
    assert len(seen) == 2
