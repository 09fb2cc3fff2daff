"""course_lib.conv_variants: the convolutions against lax / NumPy loops (float64), the counts
against counted arrays and multiplications, and bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import cnn
from course_lib import conv_variants as cv


@pytest.fixture(autouse=True)
def x64():
    with jax.enable_x64(True):
        yield


RNG = np.random.default_rng(0)


@pytest.mark.parametrize("dilation,padding", [(1, 0), (2, 1), (3, 3)])
def test_dilated_conv_equals_the_counted_loop_and_its_size(dilation, padding):
    x, w = RNG.normal(size=(2, 9, 8, 3)), RNG.normal(size=(3, 3, 3, 2))
    got = np.asarray(cv.dilated_conv2d(x, w, dilation=dilation, padding=padding))
    loop, mults = cv.conv2d_counted(x, w, dilation=dilation, padding=padding)
    np.testing.assert_allclose(got, loop, atol=1e-12)
    h, wd = (cv.dilated_output_size(n, 3, dilation, padding) for n in (9, 8))
    assert got.shape == (2, h, wd, 2) and mults == h * wd * 9 * 3 * 2


def test_dilation_1_is_the_ordinary_convolution():
    x, w = RNG.normal(size=(1, 6, 6, 2)), RNG.normal(size=(3, 3, 2, 4))
    np.testing.assert_allclose(cv.dilated_conv2d(x, w, padding=1), cnn.conv2d(x, w, padding=1),
                               atol=1e-12)  # fmt: skip


def test_receptive_field_formula_matches_the_gradient_support():
    size = 31
    for dil in ([1, 1, 1], [1, 2, 4], [2, 3]):
        ones = jnp.ones((3, 3, 1, 1))

        def unit(img, dil=dil, size=size, ones=ones):
            h = img[None, :, :, None]
            for d in dil:
                h = cv.dilated_conv2d(h, ones, dilation=d, padding=d)
            return h[0, size // 2, size // 2, 0]

        cols = np.flatnonzero(np.asarray(jax.grad(unit)(jnp.ones((size, size)))).any(axis=0))
        # the extent; with dilations 2, 3 (no 1) the field has holes inside it (gridding)
        assert cols[-1] - cols[0] + 1 == cv.receptive_field([3] * len(dil), dil)
    assert cv.receptive_field([3, 3, 3]) == 7


def test_conv1x1_is_a_dense_layer_per_pixel_and_a_1x1_lax_conv():
    x, W, b = RNG.normal(size=(2, 4, 3, 5)), RNG.normal(size=(5, 3)), RNG.normal(size=3)
    got = cv.conv1x1(x, W, b)
    np.testing.assert_allclose(got, np.einsum("nhwc,cd->nhwd", x, W) + b, atol=1e-12)
    np.testing.assert_allclose(got, cnn.conv2d(x, W[None, None], b), atol=1e-12)
    np.testing.assert_allclose(cv.conv1x1(x, W[None, None], b), got)


def test_separable_and_rank1_equal_full_convolutions():
    x, wd, wp = RNG.normal(size=(2, 7, 7, 3)), RNG.normal(size=(3, 3, 3)), RNG.normal(size=(3, 4))
    full = cnn.conv2d(x, wd[:, :, :, None] * wp[None, None], padding=1)
    np.testing.assert_allclose(cv.separable_conv2d(x, wd, wp, padding=1), full, atol=1e-12)
    g, u, v = RNG.normal(size=(2, 8, 6, 1)), RNG.normal(size=3), RNG.normal(size=3)
    kernel = np.outer(u, v)[:, :, None, None]
    np.testing.assert_allclose(cv.rank1_conv2d(g, u, v), cnn.conv2d(g, kernel), atol=1e-12)


def test_counts_are_exact_and_match_the_arrays():
    assert cv.conv_cost(28, 28, 5, 192, 32) == (153_632, 120_422_400)
    assert cv.bottleneck_cost(28, 28, 5, 192, 16, 32) == (15_920, 12_443_648)
    assert cv.depthwise_separable_cost(8, 8, 3, 64, 128).params == 3 * 3 * 64 + 64 * 128
    block = dict(d_in=12, c1=4, c3r=3, c3=5, c5r=2, c5=3, cp=2)
    params = cv.init_inception(key=jax.random.key(0), **block)
    assert cv.n_params(params) == cv.inception_cost(6, 6, **block).params
    out = cv.inception(params, RNG.normal(size=(2, 6, 6, 12)))
    assert out.shape == (2, 6, 6, 4 + 5 + 3 + 2) and bool(jnp.all(out >= 0))
    _, mults = cv.conv2d_counted(RNG.normal(size=(1, 5, 5, 2)), RNG.normal(size=(3, 3, 2, 4)),
                                 padding=1)  # fmt: skip
    assert mults == cv.conv_cost(5, 5, 3, 2, 4).mults


def test_inception_branches_are_the_pieces():
    block = dict(d_in=4, c1=2, c3r=2, c3=3, c5r=2, c5=2, cp=1)
    p = cv.init_inception(key=jax.random.key(1), **block)
    x = RNG.normal(size=(1, 5, 5, 4))
    out = cv.inception(p, x)
    w, b = p["b1"]
    np.testing.assert_allclose(out[..., :2], jax.nn.relu(cv.conv1x1(x, w, b)), atol=1e-12)


def test_bad_input():
    with pytest.raises(ValueError, match="`w` must have 3 rows"):
        cv.conv1x1(np.zeros((1, 2, 2, 3)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="one dilation per filter"):
        cv.receptive_field([3, 3], [1])
    with pytest.raises(ValueError, match="dilated filter spans"):
        cv.dilated_conv2d(np.zeros((1, 4, 4, 1)), np.zeros((3, 3, 1, 1)), dilation=3)
    with pytest.raises(TypeError, match="positive integer"):
        cv.conv_cost(8, 8, 3.0, 2, 2)
    with pytest.raises(ValueError, match="finite|NaN"):
        cv.conv1x1(np.full((1, 2, 2, 1), np.nan), np.ones((1, 1)))
