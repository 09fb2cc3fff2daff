"""Tests for course_lib.cnn: size arithmetic, convolution forward/backward, the convolution
matrix, pooling, the LeNet on digits and the hand-made filters.

Oracles independent of the library: naive NumPy loops written here from the book's definition,
scipy.signal (correlate2d / convolve2d), jax.vjp, float64 central differences, and the numbers
computed in the course map (/work/shared/course-map/seed003_ch7-10.md, ch. 8 and "8.9 Exercises")
and the CS231n slide quiz.
"""

import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import signal

from course_lib import cnn, data

# ------------------------------------------------------------------------------ oracles


def naive_conv(x, w, b=None, stride=(1, 1), padding=(0, 0)):
    """The book's convolution (cross-correlation) by explicit loops, NHWC x HWIO."""
    x, w = np.asarray(x, float), np.asarray(w, float)
    n, H, W, cin = x.shape
    fh, fw, _, cout = w.shape
    (sh, sw), (ph, pw) = stride, padding
    xp = np.zeros((n, H + 2 * ph, W + 2 * pw, cin))
    xp[:, ph : ph + H, pw : pw + W] = x
    ho, wo = (H + 2 * ph - fh) // sh + 1, (W + 2 * pw - fw) // sw + 1
    out = np.zeros((n, ho, wo, cout))
    for a in range(n):
        for i in range(ho):
            for j in range(wo):
                for p in range(cout):
                    patch = xp[a, i * sh : i * sh + fh, j * sw : j * sw + fw, :]
                    out[a, i, j, p] = np.sum(patch * w[:, :, :, p])
    if b is not None:
        out += np.asarray(b)[None, None, None, :]
    return out


def naive_max_pool(x, size, stride):
    x = np.asarray(x)
    n, H, W, C = x.shape
    ho, wo = (H - size) // stride + 1, (W - size) // stride + 1
    out = np.zeros((n, ho, wo, C))
    for i in range(ho):
        for j in range(wo):
            win = x[:, i * stride : i * stride + size, j * stride : j * stride + size, :]
            out[:, i, j, :] = win.max(axis=(1, 2))
    return out


def rand(seed, shape):
    """Standard normal float64 test data (NumPy: no per-shape JAX compilation)."""
    return jnp.asarray(np.random.default_rng(seed).standard_normal(shape))


# Fig 8.2 as reconstructed in the course map (reproduces both sums the text quotes: 16 and 26).
FIG82_X = np.array(
    [
        [6, 3, 4, 4, 5, 0, 3],
        [4, 7, 4, 0, 4, 0, 4],
        [7, 0, 2, 3, 4, 5, 2],
        [3, 7, 5, 0, 3, 0, 7],
        [5, 8, 1, 2, 5, 4, 2],
        [8, 0, 1, 0, 6, 0, 0],
        [6, 4, 1, 3, 0, 4, 5],
    ],
    dtype=float,
)
FIG82_W = np.array([[1, 0, 1], [1, 0, 0], [0, 0, 2]], dtype=float)


def as_nhwc(m):
    return jnp.asarray(m, jnp.float64)[None, :, :, None]


def as_hwio(m):
    return jnp.asarray(m, jnp.float64)[:, :, None, None]


# ------------------------------------------------------------------- size and parameter counts


def test_output_size_formula_and_slide_quiz():
    assert cnn.output_size(32, 5) == 28  # Aggarwal §8.2.1: 32 - 5 + 1
    assert cnn.output_size(32, 5, 2, 1) == 32  # slide quiz: 32×32×3, 5×5, pad 2 -> 32×32×10
    assert cnn.output_size(7, 3, 0, 2) == 3
    assert cnn.output_size(227, 11, 0, 4) == 55  # AlexNet's first layer needs 227
    with pytest.raises(ValueError, match="not an integer"):
        cnn.output_size(224, 11, 0, 4)  # (224 - 11)/4 + 1 = 54.25
    with pytest.raises(ValueError, match="larger than the padded input"):
        cnn.output_size(3, 5)
    with pytest.raises(ValueError, match="`padding` must be a non-negative"):
        cnn.output_size(8, 3, -1, 1)
    with pytest.raises(TypeError, match="`stride` must be a positive integer"):
        cnn.output_size(8, 3, 0, 1.5)
    with pytest.raises(ValueError, match="`f` must be a positive integer"):
        cnn.output_size(8, 0)


def test_output_size_matches_lax_shapes():
    for n, f, p, s in [(13, 3, 0, 2), (13, 3, 1, 3), (9, 5, 2, 2), (8, 1, 0, 1)]:
        y = cnn.conv2d(jnp.zeros((1, n, n, 2)), jnp.zeros((f, f, 2, 3)), stride=s, padding=p)
        assert y.shape == (1, cnn.output_size(n, f, p, s), cnn.output_size(n, f, p, s), 3)


def test_exercise_8_2_and_8_3_strides():
    # 8.2: output length L - F + 1; padding (F - 1)/2 per side keeps the size for odd F.
    for f in (1, 3, 5, 7):
        assert cnn.output_size(20, f) == 20 - f + 1
        assert cnn.output_size(20, f, (f - 1) // 2) == 20
    # 8.3: 13×13 input, 3×3 filter. Answers computed in the course map.
    got = {s: cnn.valid_stride(13, 3, s) for s in (2, 3, 4, 5)}
    assert got == {2: True, 3: False, 4: False, 5: True}
    assert [cnn.output_size(13, 3, 0, s) for s in (2, 5)] == [6, 3]
    got_pad = {s: cnn.valid_stride(13, 3, s, 1) for s in (2, 3, 4, 5)}
    assert got_pad == {2: True, 3: True, 4: True, 5: False}
    assert [cnn.output_size(13, 3, 1, s) for s in (2, 3, 4)] == [7, 5, 4]
    assert cnn.valid_stride(3, 5, 1) is False


def test_conv_params_slide_quiz_and_vgg_receptive_field_argument():
    assert cnn.conv_params(5, 3, 10) == 760  # ten 5×5×3 filters + 10 biases
    assert cnn.conv_params(5, 3, 1) == 76
    # three stacked 3×3 vs one 7×7 per channel pair: 27 vs 49 weights (§8.4.3)
    assert 3 * cnn.conv_params(3, 1, 1, bias=False) == 27
    assert cnn.conv_params(7, 1, 1, bias=False) == 49
    assert cnn.dense_params(7 * 7 * 512, 4096, bias=False) == 102_760_448  # VGG's FC6
    with pytest.raises(ValueError, match="`d_out` must be a positive integer"):
        cnn.conv_params(3, 3, 0)


# Exercise 8.5 table from the course map (VGG-16, column D): layer -> (weights, biases).
VGG16 = {
    "conv1_1": (1_728, 64),
    "conv1_2": (36_864, 64),
    "conv2_1": (73_728, 128),
    "conv2_2": (147_456, 128),
    "conv3_1": (294_912, 256),
    "conv3_2": (589_824, 256),
    "conv3_3": (589_824, 256),
    "conv4_1": (1_179_648, 512),
    **{k: (2_359_296, 512) for k in ("conv4_2", "conv4_3", "conv5_1", "conv5_2", "conv5_3")},
    "fc6": (102_760_448, 4_096),
    "fc7": (16_777_216, 4_096),
    "fc8": (4_096_000, 1_000),
}


def test_vgg16_per_layer_parameters_exercise_8_5():
    rows = cnn.vgg_layers("D")
    counts = {r["name"]: (r["weights"], r["biases"]) for r in rows if r["weights"]}
    assert counts == VGG16
    total = sum(w + b for w, b in counts.values())
    assert total == 138_357_544
    # FC6 alone holds about 75% of the parameters, dense layers about 90% (§8.4.3)
    assert 0.73 < sum(VGG16["fc6"]) / total < 0.76
    assert 0.88 < sum(sum(VGG16[k]) for k in ("fc6", "fc7", "fc8")) / total < 0.91


def test_vgg_columns_totals_and_spatial_sizes_exercise_8_4():
    totals = {c: sum(r["weights"] + r["biases"] for r in cnn.vgg_layers(c)) for c in "ABCDE"}
    # the VGG paper's Table 2: 133, 133, 134, 138, 144 million (course map's exact totals)
    assert totals == {
        "A": 132_863_336,
        "B": 133_047_848,
        "C": 133_638_952,
        "D": 138_357_544,
        "E": 143_667_240,
    }
    for c in "ABCDE":
        pools = [r["shape"][0] for r in cnn.vgg_layers(c) if r["name"].startswith("pool")]
        assert pools == [112, 56, 28, 14, 7]
        convs = [r for r in cnn.vgg_layers(c) if r["name"].startswith("conv")]
        assert convs[0]["shape"] == (224, 224, 64)
    with pytest.raises(ValueError, match="`column` must be one of"):
        cnn.vgg_layers("F")


# --------------------------------------------------------------------------- forward conv


@pytest.mark.parametrize(
    "shape, f, cout, stride, padding",
    [
        ((2, 7, 7, 1), (3, 3), 1, 1, 0),
        ((2, 7, 7, 3), (3, 3), 4, 2, 0),
        ((1, 8, 6, 2), (3, 3), 5, 1, 1),
        ((3, 9, 9, 2), (5, 5), 3, 2, 2),
        ((1, 6, 8, 3), (2, 4), 2, (2, 1), (0, 1)),
        ((2, 5, 5, 2), (1, 1), 3, 1, 0),
    ],
)
def test_conv2d_matches_naive_loops_and_scipy(shape, f, cout, stride, padding):
    x = rand(0, shape)
    w = rand(1, (*f, shape[3], cout))
    b = rand(2, (cout,))
    s = stride if isinstance(stride, tuple) else (stride, stride)
    p = padding if isinstance(padding, tuple) else (padding, padding)
    got = cnn.conv2d(x, w, b, stride=stride, padding=padding)
    np.testing.assert_allclose(got, naive_conv(x, w, b, s, p), rtol=1e-12, atol=1e-12)
    if s == (1, 1) and p == (0, 0):  # scipy's correlate2d, summed over input channels
        ref = sum(
            signal.correlate2d(np.asarray(x[0, :, :, k]), np.asarray(w[:, :, k, 0]), "valid")
            for k in range(shape[3])
        )
        np.testing.assert_allclose(got[0, :, :, 0] - b[0], ref, atol=1e-12)


def test_fig_8_2_worked_example():
    y = cnn.conv2d(as_nhwc(FIG82_X), as_hwio(FIG82_W))[0, :, :, 0]
    expected = [
        [18, 20, 21, 14, 16],
        [25, 7, 16, 3, 26],
        [14, 14, 21, 16, 13],
        [15, 15, 21, 2, 15],
        [16, 16, 7, 14, 23],
    ]
    np.testing.assert_array_equal(y, expected)
    assert y[1, 4] == 4 * 1 + 4 * 1 + 4 * 1 + 7 * 2 == 26
    assert y[4, 0] == 5 + 8 + 1 + 1 * 2 == 16


def test_exercise_8_1_one_dimensional_paddings():
    x = jnp.asarray([[2.0, 1, 3, 4, 7]])[None, :, :, None]  # a 1×5 "image"
    w = jnp.asarray([[1.0, 0, 1]])[:, :, None, None]  # a 1×3 filter
    row = lambda p: np.asarray(cnn.conv2d(x, w, padding=(0, p))[0, 0, :, 0])  # noqa: E731
    np.testing.assert_array_equal(row(1), [1, 5, 5, 10, 4])  # half padding
    np.testing.assert_array_equal(row(0), [5, 5, 10])  # no padding
    np.testing.assert_array_equal(row(2), [2, 1, 5, 5, 10, 4, 7])  # full padding
    # the filter is symmetric, so the true convolution agrees (and numpy's)
    np.testing.assert_array_equal(
        cnn.convolve2d_true(x, w, padding=(0, 2))[0, 0, :, 0],
        np.convolve([2, 1, 3, 4, 7], [1, 0, 1]),
    )


def test_exercise_8_7_horizontal_edge_filter_on_fig_8_2():
    names, bank = cnn.edge_filters()
    h = bank[:, :, :, names.index("horizontal")][:, :, :, None]
    y = cnn.conv2d(as_nhwc(FIG82_X), h)[0, :, :, 0]
    expected = [
        [4, 6, 4, -3, -3],
        [0, -1, 0, 1, -2],
        [-5, -6, 1, 1, 0],
        [6, 11, 1, -3, 4],
        [3, 3, 4, 4, 2],
    ]
    np.testing.assert_array_equal(y, expected)


def test_true_convolution_is_correlation_with_flipped_filter():
    x, w = rand(3, (1, 6, 7, 1)), rand(4, (3, 2, 1, 1))
    got = cnn.convolve2d_true(x, w)[0, :, :, 0]
    ref = signal.convolve2d(np.asarray(x[0, :, :, 0]), np.asarray(w[:, :, 0, 0]), "valid")
    np.testing.assert_allclose(got, ref, atol=1e-12)
    assert not np.allclose(got, cnn.conv2d(x, w)[0, :, :, 0])  # they differ for this filter
    np.testing.assert_array_equal(cnn.flip_filter(cnn.flip_filter(w)), w)


def test_translation_equivariance():
    x = jnp.zeros((1, 10, 10, 1)).at[0, 2:5, 3:6, 0].set(rand(5, (3, 3)))
    w = rand(6, (3, 3, 1, 2))
    shifted = jnp.roll(x, (2, 1), axis=(1, 2))
    np.testing.assert_allclose(
        cnn.conv2d(shifted, w), jnp.roll(cnn.conv2d(x, w), (2, 1), axis=(1, 2)), atol=1e-12
    )


def test_conv2d_validation():
    x, w = jnp.zeros((1, 6, 6, 2)), jnp.zeros((3, 3, 2, 4))
    with pytest.raises(ValueError, match="`x` must be 4-dimensional"):
        cnn.conv2d(jnp.zeros((6, 6, 2)), w)
    with pytest.raises(ValueError, match="`w` must have in_channels = 2"):
        cnn.conv2d(x, jnp.zeros((3, 3, 3, 4)))
    with pytest.raises(ValueError, match="`b` must have one bias per filter"):
        cnn.conv2d(x, w, jnp.zeros(3))
    with pytest.raises(ValueError, match="not an integer"):
        cnn.conv2d(x, w, stride=2)  # (6 - 3)/2 + 1 = 2.5
    with pytest.raises(ValueError, match="`padding` must be non-negative"):
        cnn.conv2d(x, w, padding=-1)
    with pytest.raises(TypeError, match="`stride` must be an int or a pair"):
        cnn.conv2d(x, w, stride=1.0)
    with pytest.raises(ValueError, match="`stride` must be positive"):
        cnn.conv2d(x, w, stride=(1, 0))
    with pytest.raises(TypeError, match="`x` must hold real numbers"):
        cnn.conv2d(jnp.zeros((1, 6, 6, 2), bool), w)


# -------------------------------------------------------------------------- backward conv

GRAD_CASES = [
    ((2, 6, 6, 1), (3, 3, 1, 1), 1, 0),
    ((2, 6, 7, 3), (3, 3, 3, 4), 1, 1),
    ((1, 7, 7, 2), (3, 3, 2, 3), 2, 0),
    ((2, 8, 8, 2), (4, 4, 2, 2), 2, 1),
    ((1, 9, 7, 3), (3, 1, 3, 2), (3, 2), (0, 0)),
    ((1, 5, 5, 1), (3, 3, 1, 2), 1, 3),  # padding > F - 1: negative backward padding
]


@pytest.mark.parametrize("xshape, wshape, stride, padding", GRAD_CASES)
def test_hand_written_conv_gradients_equal_vjp(xshape, wshape, stride, padding):
    x, w = rand(7, xshape), rand(8, wshape)
    y, vjp = jax.vjp(lambda x, w: cnn.conv2d(x, w, stride=stride, padding=padding), x, w)
    g = rand(9, y.shape)
    gx_ref, gw_ref = vjp(g)
    gx = cnn.conv2d_input_grad(g, w, input_shape=x.shape, stride=stride, padding=padding)
    gw = cnn.conv2d_filter_grad(x, g, filter_shape=w.shape, stride=stride, padding=padding)
    np.testing.assert_allclose(gx, gx_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gw, gw_ref, rtol=1e-10, atol=1e-12)


def test_conv_gradients_match_finite_differences(fd_gradient):
    x, w = rand(10, (1, 5, 5, 2)), rand(11, (3, 3, 2, 2))
    g = rand(12, (1, 3, 3, 2))  # stride 2, padding 1: (5 + 2 - 3)/2 + 1 = 3
    kw = dict(stride=2, padding=1)
    fx = jax.jit(lambda v: jnp.sum(g * cnn.conv2d(v, w, **kw)))
    fw = jax.jit(lambda v: jnp.sum(g * cnn.conv2d(x, v, **kw)))
    gx = cnn.conv2d_input_grad(g, w, input_shape=x.shape, **kw)
    gw = cnn.conv2d_filter_grad(x, g, filter_shape=w.shape, **kw)
    np.testing.assert_allclose(gx, fd_gradient(fx, np.asarray(x)), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(gw, fd_gradient(fw, np.asarray(w)), rtol=1e-6, atol=1e-8)


def test_input_grad_is_full_conv_with_flipped_transposed_filter_eq_8_3():
    """Stride 1: build Eq 8.3's filter u[r, s, p, k] = w[F-1-r, F-1-s, k, p] by loops and
    correlate the fully padded gradient with it (naive loops), independent of the library."""
    x, w = rand(13, (1, 6, 6, 3)), rand(14, (3, 3, 3, 2))
    g = rand(15, (1, 4, 4, 2))
    F = 3
    u = np.zeros((F, F, 2, 3))
    for r in range(F):
        for s in range(F):
            for k in range(3):
                for p in range(2):
                    u[r, s, p, k] = w[F - 1 - r, F - 1 - s, k, p]
    ref = naive_conv(g, u, padding=(F - 1, F - 1))  # forward 0 + backward F-1 = F-1
    got = cnn.conv2d_input_grad(g, w, input_shape=x.shape)
    np.testing.assert_allclose(got, ref, atol=1e-12)


def test_backward_validation():
    w = jnp.zeros((3, 3, 2, 4))
    with pytest.raises(ValueError, match="`g` must have the output's shape"):
        cnn.conv2d_input_grad(jnp.zeros((1, 3, 3, 4)), w, input_shape=(1, 6, 6, 2))
    with pytest.raises(ValueError, match="`input_shape` must be"):
        cnn.conv2d_input_grad(jnp.zeros((1, 4, 4, 4)), w, input_shape=(1, 6, 6, 3))
    with pytest.raises(ValueError, match="`filter_shape` must be"):
        cnn.conv2d_filter_grad(
            jnp.zeros((1, 6, 6, 2)), jnp.zeros((1, 4, 4, 4)), filter_shape=(3, 3)
        )


# --------------------------------------------------------------------------- conv matrix


def test_conv_matrix_fig_8_8_structure():
    a, b, c, d = 2.0, 3.0, 5.0, 7.0
    C = cnn.conv_matrix((3, 3), jnp.asarray([[a, b], [c, d]]))
    expected = [
        [a, b, 0, c, d, 0, 0, 0, 0],
        [0, a, b, 0, c, d, 0, 0, 0],
        [0, 0, 0, a, b, 0, c, d, 0],
        [0, 0, 0, 0, a, b, 0, c, d],
    ]
    np.testing.assert_array_equal(C, expected)
    # valid padding: every filter entry appears once per output cell (A_O times)
    for v in (a, b, c, d):
        assert int(np.sum(np.asarray(C) == v)) == 4


@pytest.mark.parametrize(
    "H, W, f, cin, cout, stride, padding",
    [(5, 5, 3, 1, 1, 1, 0), (6, 5, 3, 1, 1, 1, 1), (7, 7, 3, 2, 3, 2, 0), (6, 6, 2, 3, 2, 2, 1)],
)
def test_conv_matrix_forward_and_transpose(H, W, f, cin, cout, stride, padding):
    x = rand(16, (1, H, W, cin))
    w = rand(17, (f, f, cin, cout))
    C = cnn.conv_matrix((H, W, cin), w, stride=stride, padding=padding)
    y = cnn.conv2d(x, w, stride=stride, padding=padding)
    assert C.shape == (y.size, x.size)
    np.testing.assert_allclose(C @ x.reshape(-1), y.reshape(-1), atol=1e-12)
    g = rand(18, y.shape)
    gx = cnn.conv2d_input_grad(g, w, input_shape=x.shape, stride=stride, padding=padding)
    np.testing.assert_allclose(C.T @ g.reshape(-1), gx.reshape(-1), atol=1e-12)
    # C^T g is also lax's transposed convolution (stride 1, valid)
    if stride == 1 and padding == 0:
        ct = jax.lax.conv_transpose(
            g, w, (1, 1), "VALID", dimension_numbers=("NHWC", "HWOI", "NHWC"), transpose_kernel=True
        )
        np.testing.assert_allclose(ct, gx, atol=1e-12)


def test_conv_matrix_validation():
    with pytest.raises(ValueError, match="`input_shape` must be"):
        cnn.conv_matrix((3,), jnp.ones((2, 2)))
    with pytest.raises(ValueError, match="`w` must be 2 or 4-dimensional"):
        cnn.conv_matrix((3, 3), jnp.ones((2, 2, 1)))
    with pytest.raises(ValueError, match="`w` must have in_channels = 2"):
        cnn.conv_matrix((3, 3, 2), jnp.ones((2, 2, 1, 1)))


# ------------------------------------------------------------------------------- pooling


def test_pooling_against_loops_and_reduce_window():
    x = rand(19, (2, 6, 8, 3))
    np.testing.assert_allclose(cnn.max_pool(x, 2), naive_max_pool(x, 2, 2), atol=0)
    np.testing.assert_array_equal(cnn.max_pool(x, 2), cnn.max_pool_window(x, 2))
    np.testing.assert_allclose(
        cnn.avg_pool(x, 2), np.asarray(x).reshape(2, 3, 2, 4, 2, 3).mean(axis=(2, 4)), atol=1e-14
    )
    np.testing.assert_allclose(cnn.avg_pool(x, 2), cnn.avg_pool_window(x, 2), atol=1e-14)
    np.testing.assert_allclose(cnn.max_pool_window(x, 3, 1), naive_max_pool(x, 3, 1), atol=0)
    assert cnn.avg_pool_window(x, 3, 1).shape == (2, 4, 6, 3)
    # padding is -inf, so a padded border never wins the max (all-negative input to check it)
    neg = -jnp.abs(x)
    padded = np.pad(np.asarray(neg), ((0, 0), (1, 1), (1, 1), (0, 0)), constant_values=-np.inf)
    np.testing.assert_array_equal(
        cnn.max_pool_window(neg, 3, 1, padding=1), naive_max_pool(padded, 3, 1)
    )


def test_exercise_8_8_overlapping_max_pool():
    got = cnn.max_pool_window(as_nhwc(FIG82_X), 4, 1)[0, :, :, 0]
    np.testing.assert_array_equal(got, [[7, 7, 5, 7], [8, 8, 5, 7], [8, 8, 6, 7], [8, 8, 6, 7]])
    # Fig 8.4: 3×3 pooling of a 7×7 map, stride 1 -> 5×5, stride 2 -> 3×3
    assert cnn.max_pool_window(as_nhwc(FIG82_X), 3, 1).shape == (1, 5, 5, 1)
    assert cnn.max_pool_window(as_nhwc(FIG82_X), 3, 2).shape == (1, 3, 3, 1)


def test_pool_backward_equals_vjp_and_finite_differences(fd_gradient):
    x = rand(20, (2, 4, 6, 2))
    g = rand(21, (2, 2, 3, 2))
    _, vjp = jax.vjp(lambda v: cnn.max_pool(v, 2), x)
    np.testing.assert_allclose(cnn.max_pool_backward(x, g, 2), vjp(g)[0], atol=1e-14)
    _, vjp_w = jax.vjp(lambda v: cnn.max_pool_window(v, 2), x)
    np.testing.assert_allclose(cnn.max_pool_backward(x, g, 2), vjp_w(g)[0], atol=1e-14)
    fd = fd_gradient(jax.jit(lambda v: jnp.sum(g * cnn.max_pool(v, 2))), np.asarray(x))
    np.testing.assert_allclose(cnn.max_pool_backward(x, g, 2), fd, atol=1e-8)
    # exactly one nonzero per block (the arg-max), holding the block's gradient
    back = np.asarray(cnn.max_pool_backward(x, g, 2)).reshape(2, 2, 2, 3, 2, 2)
    assert np.all((back != 0).sum(axis=(2, 4)) == 1)
    np.testing.assert_allclose(back.sum(axis=(2, 4)), g, atol=1e-14)
    _, vjp_a = jax.vjp(lambda v: cnn.avg_pool(v, 2), x)
    np.testing.assert_allclose(cnn.avg_pool_backward(g, 2), vjp_a(g)[0], atol=1e-14)
    fd_a = fd_gradient(jax.jit(lambda v: jnp.sum(g * cnn.avg_pool(v, 2))), np.asarray(x))
    np.testing.assert_allclose(cnn.avg_pool_backward(g, 2), fd_a, atol=1e-8)


def test_max_pool_backward_ties_split_like_jax_grad():
    x = jnp.ones((1, 2, 2, 1)).at[0, 1, 1, 0].set(0.0)  # three tied maxima
    g = jnp.full((1, 1, 1, 1), 3.0)
    got = cnn.max_pool_backward(x, g, 2)
    np.testing.assert_allclose(got[0, :, :, 0], [[1, 1], [1, 0]])
    np.testing.assert_allclose(got, jax.vjp(lambda v: cnn.max_pool(v, 2), x)[1](g)[0])


def test_overlapping_max_pool_gradients_are_summed():
    """§8.3: with overlapping windows, an input cell collects the gradient of every window
    it wins."""
    x = rand(22, (1, 5, 5, 1))
    g = rand(23, (1, 3, 3, 1))
    _, vjp = jax.vjp(lambda v: cnn.max_pool_window(v, 3, 1), x)
    ref = np.zeros((5, 5))
    xn = np.asarray(x[0, :, :, 0])
    for i in range(3):
        for j in range(3):
            r, s = np.unravel_index(np.argmax(xn[i : i + 3, j : j + 3]), (3, 3))
            ref[i + r, j + s] += g[0, i, j, 0]
    np.testing.assert_allclose(vjp(g)[0][0, :, :, 0], ref, atol=1e-14)


def test_pooling_validation():
    with pytest.raises(ValueError, match="divisible by `size`=2"):
        cnn.max_pool(jnp.zeros((1, 5, 4, 1)), 2)
    with pytest.raises(ValueError, match="divisible by `size`=3"):
        cnn.avg_pool(jnp.zeros((1, 6, 4, 1)), 3)
    with pytest.raises(ValueError, match="`g` must have the pooled shape"):
        cnn.max_pool_backward(jnp.zeros((1, 4, 4, 1)), jnp.zeros((1, 4, 4, 1)), 2)
    with pytest.raises(ValueError, match="not an integer"):
        cnn.max_pool_window(jnp.zeros((1, 6, 6, 1)), 3, 2)
    with pytest.raises(TypeError, match="`size` must be a positive integer"):
        cnn.max_pool(jnp.zeros((1, 4, 4, 1)), 2.0)


# ------------------------------------------------------------------------------- LeNet


def test_lenet_shapes_loss_and_validation():
    params = cnn.init(jax.random.key(0), image_size=8)
    assert [w.shape for w, _ in params["conv"]] == [(3, 3, 1, 16), (3, 3, 16, 32)]
    assert params["dense"][0][0].shape == (2 * 2 * 32, 64)
    x = rand(24, (5, 8, 8, 1))
    y = jnp.asarray([0, 3, 9, 1, 1])
    apply = jax.jit(cnn.apply)  # one compilation instead of one per eager op
    logits = apply(params, x)
    assert logits.shape == (5, 10)
    logp = np.asarray(jax.nn.log_softmax(logits))
    assert np.isclose(
        float(jax.jit(cnn.loss)(params, x, y)), -np.mean(logp[np.arange(5), np.asarray(y)])
    )
    p28 = cnn.init(jax.random.key(1), image_size=28, channels=(6, 16), hidden=84)
    assert apply(p28, jnp.zeros((2, 28, 28, 1))).shape == (2, 10)
    assert p28["dense"][0][0].shape == (7 * 7 * 16, 84)
    # He initialization: std sqrt(2 / fan-in) (65,856 draws: within 2%), zero biases
    w1 = np.asarray(p28["dense"][0][0])
    assert abs(w1.std() / np.sqrt(2 / 784) - 1) < 0.02 and abs(w1.mean()) < 0.01
    assert all(float(jnp.abs(b).max()) == 0 for _, b in p28["conv"] + p28["dense"])
    with pytest.raises(TypeError, match="`key` is required"):
        cnn.init(None)
    with pytest.raises(ValueError, match="`image_size` must stay even"):
        cnn.init(jax.random.key(0), image_size=6, channels=(4, 4))
    with pytest.raises(ValueError, match="`y` must have shape"):
        cnn.loss(params, x, y[:3])
    with pytest.raises(ValueError, match="is not 8\\*8"):
        cnn.as_images(jnp.zeros((2, 63)), 8)
    with pytest.raises(ValueError, match="`lr` must be positive"):
        cnn.train_step(params, cnn.init_optimizer(params), x, y, -1.0)
    small = data.Dataset(jnp.zeros((10, 64)), jnp.zeros(10, jnp.int32))
    with pytest.raises(ValueError, match="`batch_size`=64 exceeds the 10 training examples"):
        cnn.fit(params, small, key=jax.random.key(0), epochs=1, batch_size=64)
    with pytest.raises(TypeError, match="`key` is required"):
        cnn.fit(params, small, key=None, epochs=1, batch_size=5)


def test_lenet_trains_on_digits():
    train, test = data.train_test_split(data.digits(), key=jax.random.key(0), test_fraction=0.25)
    params = cnn.init(jax.random.key(1), image_size=8)
    X_test = cnn.as_images(test.X)
    acc0 = float(cnn.accuracy(params, X_test, test.y))
    start = time.perf_counter()
    params, losses = cnn.fit(
        params, train, key=jax.random.key(2), epochs=20, batch_size=64, lr=3e-3
    )
    seconds = time.perf_counter() - start
    acc = float(cnn.accuracy(params, X_test, test.y))
    print(
        f"\nLeNet on digits: test accuracy {acc0:.3f} -> {acc:.4f} in {seconds:.2f} s "
        f"({len(losses)} steps, float64)"
    )
    assert acc0 < 0.3  # untrained: near chance (0.1)
    assert np.mean(losses[-10:]) < 0.2 * np.mean(losses[:5])
    assert acc >= 0.97


def test_train_step_lr_is_traced_and_step_time():
    train, _ = data.train_test_split(data.digits(), key=jax.random.key(0), test_fraction=0.25)
    X, y = cnn.as_images(train.X[:64]), train.y[:64]
    params = cnn.init(jax.random.key(3), image_size=8)
    opt = cnn.init_optimizer(params)
    p1, opt, l1 = cnn.train_step(params, opt, X, y, 1e-3)
    before = cnn.train_step_cache_size()
    p2, _, l2 = cnn.train_step(p1, opt, X, y, 2e-3)
    p3, _, _ = cnn.train_step(p1, opt, X, y, 1e-2)
    assert cnn.train_step_cache_size() == before  # new lr values: no recompilation
    assert float(l2) < float(l1)
    step = lambda a, b: np.asarray(a["dense"][1][1] - b["dense"][1][1])  # noqa: E731
    assert not np.allclose(step(p2, p1), step(p3, p1))  # the lr is not ignored
    jax.block_until_ready(cnn.train_step(p1, opt, X, y, 1e-3))
    start = time.perf_counter()
    for _ in range(20):
        out = cnn.train_step(p1, opt, X, y, 1e-3)
    jax.block_until_ready(out)
    print(
        "\nLeNet 8×8 train_step, batch 64, float64: "
        f"{(time.perf_counter() - start) / 20 * 1e3:.2f} ms"
    )


# ------------------------------------------------- inspecting a trained CNN (ch08b)


@pytest.mark.parametrize(
    "kw", [dict(image_size=8), dict(image_size=28, channels=(6, 16), hidden=84, in_channels=3)]
)
def test_lenet_layers_match_the_parameter_pytree_and_feature_maps(kw):
    rows = cnn.lenet_layers(**kw)
    params = cnn.init(jax.random.key(0), **kw)
    assert sum(r["params"] for r in rows) == cnn.n_params(params)
    leaves = [w.size + b.size for w, b in params["conv"] + params["dense"]]
    assert [r["params"] for r in rows if r["params"]] == leaves
    size, c_in = kw["image_size"], kw.get("in_channels", 1)
    x = rand(30, (2, size, size, c_in))
    maps = cnn.feature_maps(params, x)
    convs = [r for r in rows if r["name"].startswith("conv")]
    assert [m.shape[1:] for m in maps] == [r["shape"] for r in convs]
    pools = [r for r in rows if r["name"].startswith("pool")]
    assert [cnn.max_pool(m).shape[1:] for m in maps] == [r["shape"] for r in pools]
    if size == 8:  # the 8×8 model by hand: 160 + 4,640 + 8,256 + 650
        assert [r["params"] for r in rows] == [160, 0, 4640, 0, 8256, 650]
        assert rows[-2]["shape"] == (64,) and rows[3]["shape"] == (2, 2, 32)
    with pytest.raises(ValueError, match="`hidden` must be a positive integer"):
        cnn.lenet_layers(hidden=0)
    with pytest.raises(TypeError, match="`channels` must be a positive integer"):
        cnn.lenet_layers(channels=(4, 2.5))
    with pytest.raises(ValueError, match="not an integer"):  # 6 -> 3 cannot be halved again
        cnn.lenet_layers(image_size=6, channels=(4, 4))


def test_feature_maps_are_the_forward_pass():
    params = cnn.init(jax.random.key(1), image_size=8)
    x = rand(31, (3, 8, 8, 1))
    maps = cnn.feature_maps(params, x)
    # the first map, by the naive loop oracle
    w, b = params["conv"][0]
    want = np.maximum(naive_conv(np.asarray(x), np.asarray(w), np.asarray(b), padding=(1, 1)), 0)
    np.testing.assert_allclose(maps[0], want, atol=1e-12)
    h = cnn.max_pool(maps[-1]).reshape(3, -1)
    (W1, b1), (W2, b2) = params["dense"]
    logits = jax.nn.relu(h @ W1 + b1[None, :]) @ W2 + b2[None, :]
    np.testing.assert_allclose(logits, cnn.apply(params, x), atol=1e-12)


def test_saliency_equals_per_image_grad_and_finite_differences(fd_gradient):
    params = cnn.init(jax.random.key(2), image_size=8, channels=(4, 4), hidden=8, in_channels=2)
    x = rand(32, (3, 8, 8, 2))
    label = jnp.asarray([3, 0, 7])
    sal = cnn.saliency(params, x, label)
    assert sal.shape == (3, 8, 8)
    for i in range(3):
        g = jax.grad(lambda xi, i=i: cnn.apply(params, xi[None])[0, label[i]])(x[i])
        np.testing.assert_allclose(sal[i], np.abs(np.asarray(g)).max(axis=2), atol=1e-12)
    fd = fd_gradient(lambda xi: cnn.apply(params, jnp.asarray(xi)[None])[0, 3], np.asarray(x[0]))
    np.testing.assert_allclose(sal[0], np.abs(fd).max(axis=2), atol=1e-6)
    before = cnn.saliency_cache_size()
    other = cnn.saliency(params, x, jnp.asarray([1, 1, 1]))  # new labels: traced, no recompile
    assert cnn.saliency_cache_size() == before
    assert not np.allclose(other, sal)
    with pytest.raises(ValueError, match="`label` must be 3 integer class labels"):
        cnn.saliency(params, x, jnp.asarray([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="`label` must be 3 integer"):
        cnn.saliency(params, x, jnp.asarray([1, 2]))


def test_occlude_and_occlusion_map_against_loops():
    x = rand(33, (2, 6, 6, 1))
    out = np.asarray(cnn.occlude(x, 4, 1, 3, value=-1.0))
    want = np.asarray(x).copy()
    want[:, 4:7, 1:4, :] = -1.0  # clipped at the border
    np.testing.assert_array_equal(out, want)
    np.testing.assert_array_equal(cnn.occlude(x, 2, 2, 0), x)  # size 0: unchanged
    with pytest.raises(ValueError, match="`x`"):
        cnn.occlude(x[0], 1, 1, 2)  # one image without the batch axis
    params = cnn.init(jax.random.key(3), image_size=8, channels=(4, 4), hidden=8)
    img = rand(34, (8, 8, 1))
    occ = cnn.occlusion_map(params, img, 5, size=3)
    assert occ.shape == (6, 6)
    p = lambda im: np.asarray(jax.nn.softmax(cnn.apply(params, im[None]))[0, 5])  # noqa: E731
    base = p(img)
    for i, j in [(0, 0), (2, 5), (5, 3)]:
        im = np.asarray(img).copy()
        im[i : i + 3, j : j + 3] = 0.0
        assert np.isclose(occ[i, j], base - p(jnp.asarray(im)), atol=1e-12)
    with pytest.raises(ValueError, match="`size`=9 is larger than the image 8×8"):
        cnn.occlusion_map(params, img, 5, size=9)
    with pytest.raises(ValueError, match="`label` must be one integer class"):
        cnn.occlusion_map(params, img, 5.0)


def _train_step_loop(params, train, key, epochs, batch):
    p, opt, losses = params, cnn.init_optimizer(params), []
    X = cnn.as_images(train.X)
    for k in jax.random.split(key, epochs):
        batches = data.minibatches(data.Dataset(X, train.y), key=k, batch_size=batch)
        for xb, yb in zip(batches.X, batches.y, strict=True):
            p, opt, value = cnn.train_step(p, opt, xb, yb, 3e-3)
            losses.append(float(value))
    return p, losses


def test_fit_equals_a_loop_of_train_step():
    # fit calls the jitted step directly with the learning rate converted once (the fastest form
    # measured in benchmarks/bench_cnn.py): the same numbers as the public step in a loop
    train, _ = data.train_test_split(data.digits(), key=jax.random.key(0), test_fraction=0.25)
    params = cnn.init(jax.random.key(1), image_size=8, channels=(4, 4), hidden=8)
    fitted, losses = cnn.fit(params, train, key=jax.random.key(2), epochs=2, batch_size=256)
    p, manual = _train_step_loop(params, train, jax.random.key(2), 2, 256)
    assert manual == losses
    for a, b in zip(jax.tree.leaves(fitted), jax.tree.leaves(p), strict=True):
        np.testing.assert_array_equal(a, b)


def test_fit_with_several_steps_per_call_equals_the_loop_up_to_round_off():
    # steps_per_call=4: train_steps on groups of 4 minibatches, train_step for the rest of an
    # epoch; XLA may order a sum differently inside the unrolled program (float64 here)
    train, _ = data.train_test_split(data.digits(), key=jax.random.key(0), test_fraction=0.25)
    params = cnn.init(jax.random.key(1), image_size=8, channels=(4, 4), hidden=8)
    batch = 128  # 1347 training digits: 10 minibatches, 2 groups of 4 and 2 single steps
    fitted, losses = cnn.fit(
        params, train, key=jax.random.key(2), epochs=2, batch_size=batch, steps_per_call=4
    )
    p, manual = _train_step_loop(params, train, jax.random.key(2), 2, batch)
    assert len(losses) == len(manual) == 2 * (train.X.shape[0] // batch) == 20
    np.testing.assert_allclose(losses, manual, rtol=1e-12)
    for a, b in zip(jax.tree.leaves(fitted), jax.tree.leaves(p), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError, match="`steps_per_call`"):
        cnn.fit(params, train, key=jax.random.key(2), epochs=1, batch_size=batch, steps_per_call=0)


def test_train_steps_equals_train_step_in_turn():
    params = cnn.init(jax.random.key(5), image_size=8, channels=(4, 4), hidden=8)
    opt = cnn.init_optimizer(params)
    xs = rand(40, (3, 16, 8, 8, 1))
    ys = jax.random.randint(jax.random.key(41), (3, 16), 0, 10)
    got_p, got_opt, got = cnn.train_steps(params, opt, xs, ys, 1e-2)
    p, o, want = params, opt, []
    for i in range(3):
        p, o, value = cnn.train_step(p, o, xs[i], ys[i], 1e-2)
        want.append(float(value))
    assert got.shape == (3,)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    for a, b in zip(jax.tree.leaves((got_p, got_opt)), jax.tree.leaves((p, o)), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    assert float(got[2]) < float(got[0])  # the steps do train
    with pytest.raises(ValueError, match=r"`xs` must be a stack of minibatches \(k, n, H, W, C\)"):
        cnn.train_steps(params, opt, xs[0], ys[0], 1e-2)
    with pytest.raises(ValueError, match=r"`ys` must have shape \(3, 16\), got \(3, 15\)"):
        cnn.train_steps(params, opt, xs, ys[:, :15], 1e-2)
    with pytest.raises(TypeError, match="`ys` must hold integer labels"):
        cnn.train_steps(params, opt, xs, ys.astype(float), 1e-2)
    with pytest.raises(ValueError, match="`lr`"):
        cnn.train_steps(params, opt, xs, ys, -1.0)


def test_fit_callback_sees_every_epoch():
    train, _ = data.train_test_split(data.digits(), key=jax.random.key(0), test_fraction=0.25)
    params = cnn.init(jax.random.key(1), image_size=8, channels=(4, 4), hidden=8)
    seen = []
    _, losses = cnn.fit(
        params,
        train,
        key=jax.random.key(2),
        epochs=2,
        batch_size=256,
        callback=lambda e, p, v: seen.append((e, len(v), v)),
    )
    n_batches = train.X.shape[0] // 256
    assert [(e, k) for e, k, _ in seen] == [(1, n_batches), (2, n_batches)]
    assert [v for _, _, vs in seen for v in vs] == losses
    with pytest.raises(TypeError, match="`callback` must be callable"):
        cnn.fit(params, train, key=jax.random.key(2), epochs=1, batch_size=256, callback=3)


# ------------------------------------------------------------------------- filters


def test_gabor_shape_symmetry_and_parameters():
    g = cnn.gabor(11, 0.3, 2.0, 5.0, 0.0)
    assert g.shape == (11, 11)
    np.testing.assert_allclose(g, g[::-1, ::-1], atol=1e-14)  # even phase: symmetric
    odd = cnn.gabor(11, 0.7, 2.0, 5.0, np.pi / 2)
    np.testing.assert_allclose(odd, -odd[::-1, ::-1], atol=1e-14)  # odd phase: antisymmetric
    assert abs(float(odd.sum())) < 1e-12  # zero mean: no response to flat images
    # an explicit evaluation of the formula at one pixel (row 2, column 7 of an 11×11 grid)
    xx, yy, th, s, lam = 7 - 5.0, 2 - 5.0, 0.3, 2.0, 5.0
    xr, yr = xx * np.cos(th) + yy * np.sin(th), -xx * np.sin(th) + yy * np.cos(th)
    ref = np.exp(-(xr**2 + yr**2) / (2 * s**2)) * np.cos(2 * np.pi * xr / lam)
    assert np.isclose(float(g[2, 7]), ref)
    with pytest.raises(ValueError, match="`sigma` must be positive"):
        cnn.gabor(5, 0.0, -1.0, 4.0)
    with pytest.raises(ValueError, match="`lam` must be positive"):
        cnn.gabor(5, 0.0, 1.0, 0.0)


def test_gabor_bank_orientation_selectivity():
    """Each filter of a 4-orientation bank answers most strongly to the grating of its own
    orientation (phase-averaged: the energy over a quadrature pair of grating phases)."""
    thetas = [0.0, np.pi / 4, np.pi / 2, 3 * np.pi / 4]
    bank = cnn.gabor_bank(15, thetas, sigma=3.0, lam=6.0)
    assert bank.shape == (15, 15, 1, 4)
    rr, cc = np.meshgrid(np.arange(15.0), np.arange(15.0), indexing="ij")
    gratings = [
        np.cos(2 * np.pi * (cc * np.cos(t) + rr * np.sin(t)) / 6.0 + phase)
        for t in thetas
        for phase in (0.0, np.pi / 2)
    ]
    out = np.asarray(cnn.conv2d(jnp.asarray(np.stack(gratings))[:, :, :, None], bank))
    energy = (out[:, 0, 0, :] ** 2).reshape(4, 2, 4).sum(axis=1)  # (grating angle, filter)
    np.testing.assert_array_equal(np.argmax(energy, axis=1), np.arange(4))


def test_edge_filters_respond_to_their_edges():
    names, bank = cnn.edge_filters()
    assert bank.shape == (3, 3, 1, 4)
    for k in range(4):
        assert float(bank[:, :, 0, k].sum()) == 0.0  # no response to flat regions
    horizontal_edge = jnp.zeros((1, 8, 8, 1)).at[0, 4:, :, 0].set(1.0)
    vertical_edge = jnp.zeros((1, 8, 8, 1)).at[0, :, 4:, 0].set(1.0)
    on_h = np.abs(np.asarray(cnn.conv2d(horizontal_edge, bank))).max(axis=(0, 1, 2))
    on_v = np.abs(np.asarray(cnn.conv2d(vertical_edge, bank))).max(axis=(0, 1, 2))
    idx = {n: names.index(n) for n in names}
    assert on_h[idx["horizontal"]] == 3 and on_v[idx["horizontal"]] == 0
    assert on_v[idx["vertical"]] == 3 and on_h[idx["vertical"]] == 0
    assert on_v[idx["sobel_x"]] == 4 and on_h[idx["sobel_x"]] == 0
    assert on_h[idx["sobel_y"]] == 4 and on_v[idx["sobel_y"]] == 0


# ---------------------------------------------------------------- ch08a additions


def test_fig_8_2_constants_reproduce_the_quoted_sums():
    np.testing.assert_array_equal(cnn.FIG_8_2_INPUT, FIG82_X)
    np.testing.assert_array_equal(cnn.FIG_8_2_FILTER, FIG82_W)
    out = np.asarray(cnn.conv2d(as_nhwc(cnn.FIG_8_2_INPUT), as_hwio(cnn.FIG_8_2_FILTER)))[
        0, :, :, 0
    ]
    ref = naive_conv(cnn.FIG_8_2_INPUT[None, :, :, None], cnn.FIG_8_2_FILTER[:, :, None, None])[
        0, :, :, 0
    ]
    np.testing.assert_allclose(out, ref)
    assert out[4, 0] == 5 * 1 + 8 * 1 + 1 * 1 + 1 * 2 == 16
    assert out[1, 4] == 4 * 1 + 4 * 1 + 4 * 1 + 7 * 2 == 26


def test_grating_and_quadrature_pair():
    g = np.asarray(cnn.grating(15, 0.0, 5.0, 0.0))
    np.testing.assert_allclose(g[3], np.cos(2 * np.pi * (np.arange(15) - 7) / 5.0), atol=1e-12)
    np.testing.assert_allclose(g, g[0][None, :].repeat(15, 0), atol=1e-12)  # vertical stripes
    pair = np.asarray(cnn.quadrature_pair(11, 0.4, 3.0, 6.0))
    assert pair.shape == (11, 11, 1, 2)
    np.testing.assert_allclose(pair[:, :, 0, 0], cnn.gabor(11, 0.4, 3.0, 6.0, 0.0), atol=1e-12)
    np.testing.assert_allclose(pair[:, :, 0, 0], pair[::-1, ::-1, 0, 0], atol=1e-12)  # even
    np.testing.assert_allclose(pair[:, :, 0, 1], -pair[::-1, ::-1, 0, 1], atol=1e-12)  # odd
    with pytest.raises(ValueError, match="`lam` must be positive"):
        cnn.grating(5, 0.0, 0.0)


def test_complex_cell_energy_is_phase_invariant_simple_cells_are_not():
    phases = np.linspace(0, 2 * np.pi, 13)
    x = jnp.stack([cnn.grating(31, 0.3, 8.0, ph) for ph in phases])[..., None]
    even, odd, energy = (
        np.asarray(a)[:, 0, 0] for a in cnn.complex_cell(x, size=31, theta=0.3, sigma=4.0, lam=8.0)
    )
    # oracle: the dot products of the grating with the two Gabor filters, in NumPy
    ge, go = (np.asarray(cnn.gabor(31, 0.3, 4.0, 8.0, psi)) for psi in (0.0, -np.pi / 2))
    np.testing.assert_allclose(
        even, [(ge * np.asarray(xi[..., 0])).sum() for xi in x], rtol=1e-10, atol=1e-9
    )
    np.testing.assert_allclose(
        odd, [(go * np.asarray(xi[..., 0])).sum() for xi in x], rtol=1e-10, atol=1e-9
    )
    np.testing.assert_allclose(energy, np.hypot(even, odd), rtol=1e-12)
    assert energy.max() / energy.min() - 1 < 1e-4  # measured 1.7e-5
    assert even.min() < -0.9 * energy.max() and even.max() > 0.9 * energy.max()
    with pytest.raises(ValueError, match="grey images"):
        cnn.complex_cell(jnp.zeros((1, 8, 8, 3)), size=3, theta=0.0, sigma=1.0, lam=2.0)


def test_receptive_field_of_stacked_filters():
    rf = np.asarray(
        cnn.receptive_field(
            (12, 12, 2),
            [rand(1, (3, 3, 2, 4)), rand(2, (3, 3, 4, 4)), rand(3, (3, 3, 4, 1))],
            at=(2, 3, 0),
        )
    )
    expected = np.zeros((12, 12), bool)
    expected[2:9, 3:10] = True  # three 3×3 layers: a 7×7 patch
    np.testing.assert_array_equal(rf, expected)
    rf5 = np.asarray(cnn.receptive_field((9, 9, 1), [rand(4, (5, 5, 1, 1))], at=(0, 0, 0)))
    assert rf5.sum() == 25 and rf5[:5, :5].all()
    with pytest.raises(ValueError, match="outside the output"):
        cnn.receptive_field((5, 5, 1), [rand(4, (3, 3, 1, 1))], at=(3, 0, 0))
    with pytest.raises(ValueError, match="`shape` must be"):
        cnn.receptive_field((5, 5), [rand(4, (3, 3, 1, 1))], at=(0, 0, 0))


def test_conv_slider_widget_matches_conv2d_without_recompiling():
    from course_lib import widgets

    demo = widgets.conv_slider()
    before = widgets.conv_slider_cache_size()
    for f, p, s in [(3, 0, 1), (3, 1, 2), (5, 2, 1), (2, 0, 2), (1, 2, 3), (4, 1, 3)]:
        res = demo.compute(f=f, padding=p, stride=s)
        n_out = (7 + 2 * p - f) // s + 1
        assert res.out.shape == (n_out, n_out)
        assert res.exact == ((7 + 2 * p - f) % s == 0)
        ref = naive_conv(
            np.pad(cnn.FIG_8_2_INPUT, p)[None, :, :, None], res.filter[:, :, None, None]
        )
        np.testing.assert_allclose(res.out, ref[0, ::s, ::s, 0][:n_out, :n_out], atol=1e-5)
    assert widgets.conv_slider_cache_size() == before
    res = demo.compute(f=3, padding=0, stride=1)
    assert res.products(20) == ((4, 0), [(5.0, 1.0), (1.0, 1.0), (8.0, 1.0), (1.0, 2.0)], 16.0)
    assert demo.set(stride=2, padding=1).out.shape == (4, 4)
    assert demo.controls["t"].max == 15
    with pytest.raises(ValueError, match="must have shape"):
        widgets.conv_slider(w=np.ones((3, 3)))


def test_slide_map_is_the_strided_correlation_for_every_setting_with_one_compilation():
    rng = np.random.default_rng(8)
    x, w = rng.normal(size=(6, 6)), rng.normal(size=(4, 4))
    cnn.slide_map(x, w, 2, 0, 1, max_padding=2)  # compile once for these shapes
    before = cnn.slide_map_cache_size()
    for f in range(1, 5):
        for p in range(3):
            for s in range(1, 4):
                out, n_out = cnn.slide_map(x, w, f, p, s, max_padding=2)
                k = (6 + 2 * p - f) // s + 1
                assert out.shape == (10, 10) and int(n_out) == k
                padded = np.pad(x, p)
                want = np.array(
                    [
                        [
                            np.sum(padded[s * i : s * i + f, s * j : s * j + f] * w[:f, :f])
                            for j in range(k)
                        ]
                        for i in range(k)
                    ]
                )
                np.testing.assert_allclose(np.asarray(out)[:k, :k], want, rtol=1e-10, atol=1e-12)
                assert (
                    np.isnan(np.asarray(out)[k:]).all() and np.isnan(np.asarray(out)[:, k:]).all()
                )
    assert cnn.slide_map_cache_size() == before  # f, padding and stride are traced
    with pytest.raises(ValueError, match="`w` must be square"):
        cnn.slide_map(x, w[:3], 2, 0, 1)
    with pytest.raises(ValueError, match="`f` must be between 1 and 4"):
        cnn.slide_map(x, w, 5, 0, 1)
    with pytest.raises(ValueError, match="`padding` must be between 0 and max_padding=1"):
        cnn.slide_map(x, w, 2, 2, 1, max_padding=1)
    with pytest.raises(ValueError, match="`stride` must be a positive int"):
        cnn.slide_map(x, w, 2, 0, 0)
    with pytest.raises(ValueError, match="`x` must"):
        cnn.slide_map(np.ones(4), w, 2, 0, 1)


def test_inspect_is_occlude_then_apply_and_saliency_with_one_compilation():
    params = cnn.init(jax.random.key(1), image_size=8, channels=(3, 3), hidden=6)
    images = jnp.asarray(np.random.default_rng(2).uniform(0, 1, (4, 8, 8, 1)))
    labels = jnp.asarray([1, 4, 7, 2])
    cnn.inspect(params, images, labels, 0, 0, 0, 0)
    before = cnn.inspect_cache_size()
    for index, row, col, size in [(1, 2, 5, 3), (3, 0, 0, 0), (2, 6, 6, 4)]:
        got = cnn.inspect(params, images, labels, index, row, col, size)
        x = cnn.occlude(images[index : index + 1], row, col, size)
        np.testing.assert_allclose(got.image, x[0, :, :, 0])
        np.testing.assert_allclose(got.probs, jax.nn.softmax(cnn.apply(params, x)[0]), rtol=1e-6)
        np.testing.assert_allclose(
            got.saliency, cnn.saliency(params, x, labels[index : index + 1])[0], rtol=1e-6
        )
        assert int(got.label) == int(labels[index])
    assert cnn.inspect_cache_size() == before  # every int argument is traced
    with pytest.raises(ValueError, match="`index` must be between 0 and 3"):
        cnn.inspect(params, images, labels, 4, 0, 0, 0)
    with pytest.raises(ValueError, match="`size` must be >= 0"):
        cnn.inspect(params, images, labels, 0, 0, 0, -1)
    with pytest.raises(ValueError, match="`labels` must be 4 integer"):
        cnn.inspect(params, images, labels[:3], 0, 0, 0, 0)
