"""The pictures of the chapter 7 and 8 widgets (spectral radius, temperature, sliding filter,
digit inspector): every control changes the picture, the static part is drawn once, the
figures fit JupyterLab, the words describe them, and nothing recompiles.

Their numbers are tested beside the library they show (tests/test_rnn.py,
test_language_model.py, test_cnn.py, test_checks_cnn_training.py).
"""

import contextlib
import io

import matplotlib

matplotlib.use("Agg")

import jax  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_lib import cnn, data, plotting, widgets  # noqa: E402
from course_lib import language_model as lm  # noqa: E402
from course_lib.widgets import raster  # noqa: E402

_COMPILES = [0]


def _count(event: str, duration: float, **kwargs) -> None:
    if event == "/jax/core/compile/backend_compile_duration":
        _COMPILES[0] += 1


jax.monitoring.register_event_duration_secs_listener(_count)


@pytest.fixture(autouse=True)
def _course_style():
    with matplotlib.rc_context():
        plotting.style()  # dpi 90, as in the notebooks
        yield


def _temperature():
    text = "the cat sat on the mat. the dog sat on the log.\nthe end."
    vocab = lm.build_vocab(text)
    params = lm.init(key=jax.random.key(0), vocab_size=vocab.size, hidden_dim=16)
    return widgets.temperature_explorer(params, vocab, "the cat ", length=100)


def _digits():
    digits = data.digits()
    params = cnn.init(jax.random.key(0), image_size=8, channels=(4, 4), hidden=8)
    return widgets.digit_inspector(params, cnn.as_images(digits.X[:30]), digits.y[:30])


# widget -> (how to build it, {control: values to move it through})
CASES = {
    "spectral_radius_explorer": (
        lambda: widgets.spectral_radius_explorer(hidden=8, steps=20),
        {"rho": [0.5, 1.3], "shear": [0.5, 1.5]},
    ),
    "temperature_explorer": (_temperature, {"temperature": [0.3, 2.0], "seed": [4, 9]}),
    "conv_slider": (
        widgets.conv_slider,
        {"f": [2, 5], "padding": [1, 2], "stride": [2, 3], "t": [1, 3]},
    ),
    "digit_inspector": (
        _digits,
        {"index": [4, 11], "patch": [1, 4], "row": [3, 5], "col": [1, 6]},
    ),
}


def _build(name):
    build, moves = CASES[name]
    with contextlib.redirect_stdout(io.StringIO()):
        return build(), moves


@pytest.mark.parametrize("name", list(CASES))
def test_every_control_changes_the_picture_and_nothing_recompiles(name):
    """From the defaults, each move of each control changes the frame (so the defaults leave
    every control something visible to do); the static part is drawn once for all of them."""
    demo, moves = _build(name)
    demo.set(**{c: v[0] for c, v in moves.items()})  # every setting once: any compile is here
    demo.set(**{c: demo.controls[c].value for c in moves})  # no-op
    demo, moves = _build(name)  # again from the defaults
    before = _COMPILES[0]
    for control, values in moves.items():
        for value in values:
            previous = demo.frame.copy()
            demo.set(**{control: value})
            assert not np.array_equal(demo.frame, previous), f"{control} = {value} changed nothing"
    assert _COMPILES[0] == before, f"{_COMPILES[0] - before} compilation(s) while moving"
    assert demo.view.live.full_draws == 1  # only the animated artists were redrawn


@pytest.mark.parametrize("name", list(CASES))
def test_the_picture_fits_jupyterlab_and_has_words(name):
    demo, _ = _build(name)
    height, width = demo.frame.shape[:2]
    assert width <= plotting.MAX_WIDTH * 90 + 1, f"{width} px is wider than MAX_WIDTH at dpi 90"
    assert demo.frame[..., :3].min() < 50  # something dark was drawn (text, lines)
    alt = demo.alt
    assert isinstance(alt, str) and len(alt) > 60 and alt.rstrip().endswith((".", "'", '"'))
    bundle, meta = demo._repr_mimebundle_()
    assert bundle["image/png"] and meta["image/png"]["alt"] == alt


def test_same_setting_same_picture():
    """The pasted rasters and animated artists leave nothing behind between frames."""
    for name in ("conv_slider", "temperature_explorer", "spectral_radius_explorer"):
        demo, moves = _build(name)
        a = {c: v[0] for c, v in moves.items()}
        b = {c: v[1] for c, v in moves.items()}
        demo.set(**a)
        first = demo.frame.copy()
        demo.set(**b)
        demo.set(**a)
        np.testing.assert_array_equal(demo.frame, first)


def test_conv_slider_step_only_redraws_and_the_window_follows_it():
    demo, _ = _build("conv_slider")
    res = demo.set(f=3, padding=0, stride=1, t=0)
    assert demo.set(t=9) is res  # the step redraws the stored result
    assert demo.controls["t"].max == 24
    assert "step 9" in demo.alt
    # t = 9 is output (1, 4); its window starts at input (1, 4): the products in the picture
    (i, j), pairs, total = res.products(9)
    assert (i, j) == (1, 4) and total == 26
    demo.set(f=5, padding=0, stride=3)  # (7 - 5)/3 + 1 is not an integer: rounded down
    assert demo.last.out.shape == (1, 1) and not demo.last.exact
    assert demo.controls["t"].max == 0 and demo.controls["t"].value == 0


def test_digit_inspector_defaults_show_a_patch_and_a_fixed_colour_scale():
    demo, _ = _build("digit_inspector")
    assert demo.controls["patch"].value > 0  # the row and column sliders move something
    view = demo.view
    assert view.patch.get_visible() and view.patch.get_width() == demo.controls["patch"].value
    scale = view.sal.get_clim()
    demo.set(index=7)
    assert view.sal.get_clim() == scale  # the colorbar stays true for every digit
    assert len(view.live.fig.axes) == 4  # image, saliency, its colorbar, probabilities
    demo.set(patch=0)
    assert not view.patch.get_visible()
    assert "no patch" in demo.alt


def test_temperature_explorer_shows_the_whole_sample_in_a_box_its_size():
    demo, _ = _build("temperature_explorer")
    view = demo.view
    lines = -(-(len("the cat ") + 100) // 80)
    assert view.n_lines == lines
    left, top, image = view.live.rasters["sample"]
    assert image.shape[0] == view.line_px * (lines + 1) + round(0.1 * 90)
    # text reaches the last line of the box, and the box ends inside the frame
    last_line = image[view.line_px * lines :, :, :3]
    assert last_line.min() < 100 and top + image.shape[0] <= demo.frame.shape[0]
    assert view.mono.size >= round(9 * 90 / 72)  # no text below 9 pt
    # the bars keep their characters' order at every temperature
    probs = demo.set(temperature=2.5).probs
    assert np.all(np.diff(probs[view.top]) <= 1e-12)


def test_raster_text_image_checks_its_alignment():
    typeface = raster.font(11, 90)
    image = raster.text_image("ab\ncd", (60, 40), typeface, align="left")
    assert image.shape == (40, 60, 3) and image.min() < 100
    with pytest.raises(ValueError, match="align must be"):
        raster.text_image("ab", (60, 40), typeface, align="right")
