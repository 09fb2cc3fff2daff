r"""Self-checks for the exercises on modern CNNs (Aggarwal §8.3.4, §8.4.4, §8.4.5, Ex 8.6, 8.7;
Goodfellow et al. §9.8).

The references are written out here in NumPy: explicit loops over pixels and taps for the
convolutions (residual block, 1×1 convolution, Exercise 8.7), integer formulas for the counts,
and, for the random shift, a search over every admissible offset that could have produced each
output image. Common slips are recognized and answered with a hint.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import jax
import numpy as np

from course_lib import conv_variants
from course_lib.checks import (
    CheckFailed,
    Exercise,
    _array,
    _call,
    _close_within,
    _compare,
    _f,
    _passed,
    _scalar,
)

_close = _close_within(rtol=1e-5, atol=1e-6)


def _corr_valid(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Valid cross-correlation of NHWC x with HWIO w: the library's float64 loop reference."""
    return conv_variants.conv2d_counted(x, w)[0]


def _corr_same(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    p = (w.shape[0] - 1) // 2
    return _corr_valid(np.pad(x, ((0, 0), (p, p), (p, p), (0, 0))), w)


def _relu(z: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0.0)


# ------------------------------------------------------------------------ residual block

_EX_RES = Exercise("residual_block", "")


def residual_block(fn: Callable) -> None:
    r"""Check ``fn(x, w1, w2)`` $= \mathrm{ReLU}(x + W_2 * \mathrm{ReLU}(W_1 * x))$, 3×3
    convolutions with padding 1, no biases."""
    ex = _EX_RES
    rng = np.random.default_rng(11)
    cases = [("x (2, 5, 5, 3), 3x3 filters 3 -> 3", (2, 5, 5, 3)),
             ("x (1, 4, 6, 2), 3x3 filters 2 -> 2", (1, 4, 6, 2)),
             ("x (3, 3, 3, 1), one channel", (3, 3, 3, 1))]  # fmt: skip
    for words, shape in cases:
        c = shape[3]
        x = rng.normal(size=shape)
        w1, w2 = rng.normal(size=(3, 3, c, c)) * 0.5, rng.normal(size=(3, 3, c, c)) * 0.5
        got = _array(ex, words, "the output", _call(ex, fn, (_f(x), _f(w1), _f(w2)), words),
                     shape, hint="a residual block keeps the shape of its input.")  # fmt: skip
        branch = _corr_same(_relu(_corr_same(x, w1)), w2)
        expected = _relu(x + branch)
        if _close(got, expected):
            continue
        if _close(got, _relu(branch)):
            hint = "you dropped the skip connection: add the input x before the last ReLU."
        elif _close(got, x + branch):
            hint = "apply a ReLU after adding x (the block's output is ReLU(x + F(x)))."
        elif _close(got, x + _relu(branch)):
            hint = "add x before the last ReLU, not after it: ReLU(x + F(x))."
        elif _close(got, _relu(x + _corr_same(_corr_same(x, w1), w2))):
            hint = "the branch has a ReLU between its two convolutions."
        else:
            hint = (
                "use padding 1 so each 3x3 convolution keeps the size (cnn.conv2d(..., "
                "padding=1)), then add x and apply the ReLU."
            )
        _compare(ex, words, "the output", got, expected, rtol=1e-5, atol=1e-6, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------ 1x1 conv as dense

_EX_1X1 = Exercise("conv1x1_dense", "")


def conv1x1_dense(fn: Callable) -> None:
    r"""Check ``fn(x, W, b)``: a 1×1 convolution, $y_{nij} = W^\top x_{nij} + b$, for
    ``x (n, H, W, C)``, ``W (C, D)``, ``b (D,)``."""
    ex = _EX_1X1
    rng = np.random.default_rng(12)
    cases = [("x (2, 3, 3, 4), W (4, 2)", (2, 3, 3, 4), 2),
             ("x (1, 5, 2, 3), W (3, 6)", (1, 5, 2, 3), 6),
             ("x (4, 2, 2, 1), W (1, 3)", (4, 2, 2, 1), 3)]  # fmt: skip
    for words, shape, d in cases:
        x, W, b = rng.normal(size=shape), rng.normal(size=(shape[3], d)), rng.normal(size=d)
        out_shape = (*shape[:3], d)
        got = _array(ex, words, "the output", _call(ex, fn, (_f(x), _f(W), _f(b)), words),
                     out_shape, hint="the output keeps n, H, W and has D channels.")  # fmt: skip
        expected = np.zeros(out_shape)
        for n, i, j in itertools.product(*map(range, shape[:3])):
            expected[n, i, j] = W.T @ x[n, i, j] + b
        if _close(got, expected):
            continue
        if _close(got, expected - b):
            hint = "add the bias b to every pixel."
        else:
            hint = (
                "every pixel's channel vector goes through the same dense layer: reshape "
                "to (n*H*W, C), multiply by W, add b, reshape back."
            )
        _compare(ex, words, "the output", got, expected, rtol=1e-5, atol=1e-6, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------ bottleneck count

_EX_BOTTLE = Exercise("bottleneck_params", "")


def bottleneck_params(fn: Callable) -> None:
    r"""Check ``fn(d_in, d_mid, f, d_out)``: parameters (weights and biases) of a 1×1
    convolution $d_{in}\to d_{mid}$ followed by an $f\times f$ one $d_{mid}\to d_{out}$."""
    ex = _EX_BOTTLE
    cases = [(192, 16, 5, 32), (256, 64, 3, 256), (3, 1, 3, 1), (64, 32, 1, 8), (10, 5, 7, 2)]
    for d_in, d_mid, f, d_out in cases:
        words = f"d_in = {d_in}, d_mid = {d_mid}, f = {f}, d_out = {d_out}"
        got = _scalar(ex, words, "the count", _call(ex, fn, (d_in, d_mid, f, d_out), words),
                      integer=True)  # fmt: skip
        expected = d_in * d_mid + d_mid + f * f * d_mid * d_out + d_out
        if got == expected:
            continue
        if got == d_in * d_mid + f * f * d_mid * d_out:
            hint = "each convolution has one bias per output channel: add d_mid + d_out."
        elif got == f * f * d_in * d_out + d_out:
            hint = "that is the direct f x f convolution without the 1x1 reduction."
        elif got == d_in * d_mid + d_mid + f * d_mid * d_out + d_out:
            hint = "an f x f filter has f*f weights per input channel, not f."
        else:
            hint = "count each layer as (filter area x in-channels + 1) x out-channels."
        _compare(ex, words, "the count", np.float64(got), expected, rtol=0, atol=0, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------ receptive field

_EX_RF = Exercise("dilated_receptive_field", "")


def dilated_receptive_field(fn: Callable) -> None:
    r"""Check ``fn(filter_sizes, dilations)`` $= 1 + \sum_l d_l (F_l - 1)$ (stride 1)."""
    ex = _EX_RF
    cases = [([3], [1]), ([3, 3, 3], [1, 1, 1]), ([3, 3, 3], [1, 2, 4]), ([5, 3], [2, 3]),
             ([3, 3, 3, 3], [1, 2, 4, 8]), ([1, 7], [5, 1])]  # fmt: skip
    for fs, ds in cases:
        words = f"filter sizes {fs}, dilations {ds}"
        got = _scalar(ex, words, "the receptive field", _call(ex, fn, (list(fs), list(ds)),
                      words), integer=True)  # fmt: skip
        expected = 1 + sum(d * (f - 1) for f, d in zip(fs, ds, strict=True))
        if got == expected:
            continue
        if got == sum(d * f for f, d in zip(fs, ds, strict=True)):
            hint = "a filter of F taps spaced d apart spans d(F - 1) + 1 pixels, not d F."
        elif got == 1 + sum(f - 1 for f in fs):
            hint = "the dilation spreads the taps: each layer adds d(F - 1), not F - 1."
        elif got == int(np.prod([d * (f - 1) + 1 for f, d in zip(fs, ds, strict=True)])):
            hint = "receptive fields of stacked layers add up (minus the overlap), not multiply."
        else:
            hint = "start at 1 pixel; each layer widens the field by d (F - 1) pixels."
        _compare(ex, words, "the receptive field", np.float64(got), expected, rtol=0, atol=0,
                 hint=hint)  # fmt: skip
    _passed(ex, len(cases))


# ------------------------------------------------------------------------ random shift

_EX_SHIFT = Exercise("random_shift", "")


def _shifted(img: np.ndarray, dy: int, dx: int) -> np.ndarray:
    out = np.zeros_like(img)
    h, w = img.shape[:2]
    for i in range(h):
        for j in range(w):
            if 0 <= i - dy < h and 0 <= j - dx < w:
                out[i, j] = img[i - dy, j - dx]
    return out


def _which_shift(got: np.ndarray, img: np.ndarray, m: int) -> tuple[int, int] | None:
    for dy, dx in itertools.product(range(-m, m + 1), repeat=2):
        if np.allclose(got, _shifted(img, dy, dx), atol=1e-6):
            return dy, dx
    return None


def random_shift(fn: Callable) -> None:
    r"""Check ``fn(x, key, max_shift)``: every image of ``x (n, H, W, C)`` moved by its own
    whole-pixel offset $dy, dx \in \{-m, \dots, m\}$, zeros filling the uncovered border; the
    same key gives the same result."""
    ex = _EX_SHIFT
    rng = np.random.default_rng(13)
    x = rng.uniform(0.1, 1.0, size=(40, 6, 6, 1))  # no zeros inside: a shift is recognizable
    for m in (0, 1, 2):
        words = f"40 random 6x6 images, max_shift = {m}"
        key = jax.random.key(31 + m)
        got = _array(ex, words, "the output", _call(ex, fn, (_f(x), key, m), words), x.shape,
                     hint="return the images with the same shape (n, H, W, C).")  # fmt: skip
        found = [_which_shift(got[i], x[i], m) for i in range(len(x))]
        bad = [i for i, s in enumerate(found) if s is None]
        if bad:
            i = bad[0]
            wider = _which_shift(got[i], x[i], m + 3)
            if m == 0:
                hint = "max_shift = 0 must return the images unchanged."
            elif wider is not None:
                hint = f"image {i} moved by {wider}, more than max_shift = {m} pixels."
            elif np.allclose(got[i], np.roll(x[i], 1, axis=0)) or np.any(got[i] > 0):
                hint = "fill the uncovered border with zeros (np.roll wraps pixels around)."
            else:
                hint = "move every pixel by whole pixels; nothing else may change."
            raise CheckFailed(ex, f"image {i} is not a shift of the input by at most {m} pixels",
                              case=words, hint=hint)  # fmt: skip
        again = _array(ex, words, "the output", _call(ex, fn, (_f(x), key, m), words), x.shape)
        if not np.array_equal(again, got):
            raise CheckFailed(
                ex,
                "two calls with the same key gave different shifts",
                case=words,
                hint="draw the offsets with jax.random and the key you are given.",
            )
        if m > 0:
            distinct = len(set(found))
            if distinct < 3:
                raise CheckFailed(
                    ex,
                    f"only {distinct} different offset(s) among 40 images",
                    case=words,
                    hint="draw an offset for every image, not one for the batch.",
                )
            if not any(abs(s[0]) == m or abs(s[1]) == m for s in found):
                raise CheckFailed(
                    ex,
                    f"no image moved by the full {m} pixels",
                    case=words,
                    hint="offsets run from -max_shift to +max_shift inclusive.",
                )
            other = _array(
                ex,
                words,
                "the output",
                _call(ex, fn, (_f(x), jax.random.key(99), m), words),
                x.shape,
            )
            if np.array_equal(other, got):
                raise CheckFailed(
                    ex,
                    "another key gave exactly the same shifts",
                    case=words,
                    hint="the offsets must come from the key argument.",
                )
    _passed(ex, 3)


# ------------------------------------------------------------------------ Exercise 8.7

_EX_87 = Exercise("edge_response", "8.7")


def edge_response(fn: Callable) -> None:
    r"""Check ``fn(image, filt)``: the valid cross-correlation (the book's convolution, stride
    1, no padding) of one 2-D image with one 2-D filter."""
    from course_lib import cnn  # the Fig 8.2 input and the edge filter of the lecture

    ex = _EX_87
    rng = np.random.default_rng(14)
    cases = [
        ("the Fig 8.2 input with the horizontal-edge filter", cnn.FIG_8_2_INPUT,
         np.array([[1, 1, 1], [0, 0, 0], [-1, -1, -1]], float)),
        ("a random 6x5 image, a random 3x3 filter", rng.normal(size=(6, 5)),
         rng.normal(size=(3, 3))),
        ("a random 5x5 image, a 2x2 filter", rng.normal(size=(5, 5)), rng.normal(size=(2, 2))),
    ]  # fmt: skip
    for words, img, filt in cases:
        shape = (img.shape[0] - filt.shape[0] + 1, img.shape[1] - filt.shape[1] + 1)
        got = _array(ex, words, "the output", _call(ex, fn, (_f(img), _f(filt)), words), shape,
                     hint="no padding: the output is (H - F + 1) x (W - F + 1).")  # fmt: skip
        expected = _corr_valid(img[None, :, :, None], filt[:, :, None, None])[0, :, :, 0]
        if _close(got, expected):
            continue
        flipped = _corr_valid(img[None, :, :, None], filt[::-1, ::-1, None, None])[0, :, :, 0]
        if _close(got, flipped):
            hint = "the book's convolution does not flip the filter (it is a cross-correlation)."
        elif _close(got, expected.T):
            hint = "rows and columns are swapped."
        else:
            hint = "output (i, j) is the sum of filter * the FxF patch whose top-left is (i, j)."
        _compare(ex, words, "the output", got, expected, rtol=1e-5, atol=1e-6, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------ Exercise 8.6

_EX_86 = Exercise("class_subset", "8.6")


def class_subset(fn: Callable) -> None:
    r"""Check ``fn(y, per_class)``: the sorted indices of the first ``per_class`` examples of
    every class in the label vector ``y``."""
    ex = _EX_86
    rng = np.random.default_rng(15)
    cases = [("y = [2, 0, 1, 0, 2, 1, 1], 1 per class", np.array([2, 0, 1, 0, 2, 1, 1]), 1),
             ("y = [2, 0, 1, 0, 2, 1, 1], 2 per class", np.array([2, 0, 1, 0, 2, 1, 1]), 2),
             ("200 random labels 0..9, 5 per class", rng.integers(0, 10, 200), 5),
             ("labels 3 and 7 only, 4 per class", rng.choice([3, 7], 30), 4)]  # fmt: skip
    for words, y, k in cases:
        raw = _call(ex, fn, (y.copy(), k), words)
        got = _array(ex, words, "the indices", raw)
        expected = np.sort(np.concatenate([np.flatnonzero(y == c)[:k] for c in np.unique(y)]))
        if got.shape == expected.shape and np.array_equal(got, expected):
            continue
        if got.shape == expected.shape and np.array_equal(np.sort(got), expected):
            hint = "return the indices sorted (np.sort), so the subset keeps the data's order."
        elif got.size == k * 10 and len(np.unique(y)) < 10:
            hint = "take the classes that occur in y (np.unique), not always 0..9."
        elif got.size == expected.size and set(y[got.astype(int)].tolist()) == set(y.tolist()):
            hint = "take the *first* per_class examples of each class, in the order of y."
        else:
            hint = "for each class c, np.flatnonzero(y == c)[:per_class]; then join and sort."
        _compare(ex, words, "the indices", got, expected, rtol=0, atol=0, hint=hint)
    _passed(ex, len(cases))
