"""The pictures of the chapter 7 and 8 widgets (spectral radius, temperature, sliding filter,
digit inspector): every control changes the picture, the static part is drawn once, the
figures fit JupyterLab, the words describe them, and nothing recompiles.

Their numbers are tested beside the library they show (tests/test_rnn.py,
test_language_model.py, test_cnn.py, test_checks_cnn_training.py).
"""

import matplotlib

matplotlib.use("Agg")

import jax  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from widget_views import (  # noqa: E402, F401 (course_style: an autouse fixture)
    build_quietly,
    check_controls,
    check_fits_and_words,
    check_same_picture,
    course_style,
)

from course_lib import cnn, data, widgets  # noqa: E402
from course_lib import language_model as lm  # noqa: E402
from course_lib.widgets import raster  # noqa: E402


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
    return build_quietly(build), moves


@pytest.mark.parametrize("name", list(CASES))
def test_every_control_changes_the_picture_and_nothing_recompiles(name):
    check_controls(*CASES[name])


@pytest.mark.parametrize("name", list(CASES))
def test_the_picture_fits_jupyterlab_and_has_words(name):
    check_fits_and_words(_build(name)[0], alt_endings=(".", "'", '"'))


def test_same_setting_same_picture():
    """The pasted rasters and animated artists leave nothing behind between frames."""
    for name in ("conv_slider", "temperature_explorer", "spectral_radius_explorer"):
        check_same_picture(*_build(name))


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
