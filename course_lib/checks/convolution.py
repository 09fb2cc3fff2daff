r"""Self-checks for the exercises on convolution, padding, stride and pooling (Aggarwal §8.2–8.3).

Every check runs the student's function on a few fixed cases and compares with an independent
reference: the library's convolution built on ``lax.conv_general_dilated``
(:func:`course_lib.cnn.conv2d`), ``jax.vjp`` for gradients, the size and parameter arithmetic
of :mod:`course_lib.cnn` (``output_size``, ``vgg_layers``) or a definition written out here.
Common slips (a flipped filter, a forgotten ``+ 1`` or bias, padding counted once, the gradient
sent to every entry of a pooling window, ...) are recognized and answered with a targeted hint.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from course_lib import cnn
from course_lib.checks import (
    CheckFailed,
    Exercise,
    _array,
    _call,
    _close_within,
    _compare,
    _describe,
    _f,
    _fmt,
    _passed,
    _scalar,
    _unpack,
)

_close = _close_within(rtol=1e-4, atol=1e-4)


def _corr2d(x: np.ndarray, w: np.ndarray, stride: int = 1, padding: int = 0) -> np.ndarray:
    """The library's 2-D cross-correlation of one grey image with one filter (the reference)."""
    x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
    y = cnn.conv2d(
        jnp.asarray(x)[None, :, :, None],
        jnp.asarray(w)[:, :, None, None],
        stride=stride,
        padding=padding,
    )
    return np.asarray(y, np.float64)[0, :, :, 0]


def _corr1d(x: np.ndarray, w: np.ndarray, padding: int) -> np.ndarray:
    return _corr2d(np.asarray(x)[None, :], np.asarray(w)[None, :], 1, (0, padding))[0]


# ------------------------------------------------------------------------------ Exercise 8.1

_EX_CONV1D = Exercise("conv1d_padded", "8.1")


def conv1d_padded(fn: Callable) -> None:
    r"""Check ``fn(x, w, padding)``: the 1-D convolution (cross-correlation, stride 1) of
    ``x: (n,)`` with ``w: (f,)`` after ``padding`` zeros on each side; shape
    ``(n + 2 padding - f + 1,)``."""
    ex = _EX_CONV1D
    cases = [
        ("Exercise 8.1: x = 2,1,3,4,7, w = 1,0,1, no padding", [2, 1, 3, 4, 7], [1, 0, 1], 0),
        ("Exercise 8.1 with half padding (1 zero each side)", [2, 1, 3, 4, 7], [1, 0, 1], 1),
        ("Exercise 8.1 with full padding (2 zeros each side)", [2, 1, 3, 4, 7], [1, 0, 1], 2),
        ("an asymmetric filter w = 1,2,-1, padding 1", [3, -1, 0, 2, 5, 1], [1, 2, -1], 1),
        ("a filter of length 2, no padding", [1, 4, 2, 8], [2, -1], 0),
    ]
    for words, x_, w_, p in cases:
        inputs = [f"x = {x_}", f"w = {w_}", f"padding = {p}"]
        n_out = len(x_) + 2 * p - len(w_) + 1
        got = _array(
            ex,
            words,
            "the output",
            _call(ex, fn, (_f(x_), _f(w_), p), words, inputs),
            (n_out,),
            hint=f"with {p} zeros on each side the output has n + 2p - f + 1 = {n_out} entries.",
        )
        expected = _corr1d(np.array(x_), np.array(w_), p)
        if _close(got, expected):
            continue
        hint = "slide w along the padded x and take the dot product at every position."
        if _close(got, _corr1d(np.array(x_), np.array(w_)[::-1], p)):
            hint = (
                "you flipped the filter (the mathematician's convolution); the book and deep-"
                "learning libraries do not flip: output[i] = sum_k w[k] * x_padded[i + k]."
            )
        _compare(ex, words, "the output", got, expected, hint=hint, details=inputs)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ Exercise 8.3

_EX_SIZE = Exercise("conv_output_size", "8.3")


def _size_reference(n: int, f: int, p: int, s: int) -> int | None:
    return cnn.output_size(n, f, p, s) if cnn.valid_stride(n, f, s, p) else None


def conv_output_size(fn: Callable) -> None:
    r"""Check ``fn(n, f, padding, stride)``: $(n + 2p - f)/s + 1$ as an int, or ``None`` when the
    filter does not tile the padded input (the division is not exact)."""
    ex = _EX_SIZE
    cases = [(13, 3, p, s) for p in (0, 1) for s in (2, 3, 4, 5)]
    cases += [(32, 5, 0, 1), (32, 5, 2, 1), (224, 11, 0, 4), (227, 11, 0, 4), (7, 3, 0, 2)]
    for n, f, p, s in cases:
        words = f"n = {n}, f = {f}, padding = {p}, stride = {s}"
        out = _call(ex, fn, (n, f, p, s), words)
        expected = _size_reference(n, f, p, s)
        exact = (n + 2 * p - f) / s + 1
        if expected is None:
            if out is None:
                continue
            raise CheckFailed(
                ex,
                f"expected None (the filter does not tile the input), got {_describe(out)}",
                case=words,
                details=[f"(n + 2p - f)/s + 1 = {exact:.4g} is not a whole number"],
                hint="return None when (n + 2p - f) is not divisible by the stride.",
            )
        if out is None:
            hint = f"(n + 2p - f)/s + 1 = {exact:.4g} is a whole number here."
            if p and (n + p - f) % s:
                hint += " Padding adds p zeros on *each* side: n + 2p."
            raise CheckFailed(ex, f"expected {expected}, got None", case=words, hint=hint)
        got = _scalar(ex, words, "the output size", out, integer=True)
        if got == expected:
            continue
        hint = "the output size is (n + 2 padding - f) / stride + 1."
        if got == expected - 1:
            hint = "off by one: count the first position too, (n + 2p - f)/s + 1."
        elif p and got == (n + p - f) // s + 1:
            hint = "padding adds p zeros on *each* side: n + 2p."
        _compare(ex, words, "the output size", np.float64(got), expected, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ Exercises 8.4, 8.5

_EX_VGG = Exercise("vgg_sizes_and_params", "8.4, 8.5")

# Table 8.2's columns A and D as (filter size, filters) per conv layer, "M" = 2×2 max-pool.
_VGG_A = [(3, 64), "M", (3, 128), "M", (3, 256), (3, 256), "M"] + [(3, 512)] * 2 + ["M"]
_VGG_A += [(3, 512)] * 2 + ["M"]
_VGG_D = [(3, 64)] * 2 + ["M"] + [(3, 128)] * 2 + ["M"] + [(3, 256)] * 3 + ["M"]
_VGG_D += [(3, 512)] * 3 + ["M"] + [(3, 512)] * 3 + ["M"]
_SMALL = [(3, 16), (1, 8), "M", (5, 32), "M"]


def _vgg_reference(config, image_size, n_classes, *, bias=True, dense=True, halve=True):
    size, depth, total, sizes = image_size, 3, 0, []
    for layer in config:
        if layer == "M":
            size = size // 2 if halve else size
        else:
            f, d = layer
            total += f * f * depth * d + (d if bias else 0)
            depth = d
        sizes.append(size)
    if dense:
        n_in = size * size * depth
        for n_out in (4096, 4096, n_classes):
            total += n_in * n_out + (n_out if bias else 0)
            n_in = n_out
    return sizes, total


def vgg_sizes_and_params(fn: Callable) -> None:
    r"""Check ``fn(config, image_size, n_classes) -> (sizes, total)``: the spatial size after each
    entry of a VGG ``config`` (3×3/1×1 convolutions with half padding keep it, ``"M"`` halves
    it) and the total number of parameters, weights and biases, including the three dense
    layers (4096, 4096, ``n_classes``)."""
    ex = _EX_VGG
    cases = [
        ("VGG-16 (Table 8.2, column D) on 224×224, 1000 classes", _VGG_D, 224, 1000),
        ("VGG-11 (column A) on 224×224, 1000 classes", _VGG_A, 224, 1000),
        ("a small config [(3,16), (1,8), M, (5,32), M] on 32×32, 10 classes", _SMALL, 32, 10),
    ]
    for words, config, size, n_classes in cases:
        out = _call(ex, fn, (list(config), size, n_classes), words)
        sizes, total = _unpack(ex, words, out, ("sizes", "total"))
        want_sizes, want_total = _vgg_reference(config, size, n_classes)
        got_sizes = _array(
            ex,
            words,
            "sizes",
            sizes,
            (len(config),),
            hint="one spatial size per entry of the config (convolutions and pools).",
        )
        hint = "a convolution with half padding keeps the size; a 2×2 pool with stride 2 halves it."
        if _close(got_sizes, _vgg_reference(config, size, n_classes, halve=False)[0], 0, 0):
            hint = 'the max-pools ("M") halve the spatial size.'
        _compare(ex, words, "sizes", got_sizes, want_sizes, rtol=0, atol=0, hint=hint)
        got = _scalar(ex, words, "total", total, integer=True)
        if got == want_total:
            continue
        hint = "each conv layer has f*f*d_in*d_out weights plus d_out biases; then 3 dense layers."
        if got == _vgg_reference(config, size, n_classes, bias=False)[1]:
            hint = "you forgot the biases: one per filter and one per dense unit."
        elif got == _vgg_reference(config, size, n_classes, dense=False)[1]:
            hint = "add the three dense layers: flattened size -> 4096 -> 4096 -> n_classes."
        raise CheckFailed(
            ex,
            "wrong value of total",
            case=words,
            details=[f"expected total = {want_total:,d}", f"got      total = {int(got):,d}"],
            hint=hint,
        )
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ loops

_EX_LOOPS = Exercise("conv2d_loops", "")

_FIG_CASES = [
    (
        "Fig 8.2: 7×7 input, 3×3 filter, stride 1, no padding",
        cnn.FIG_8_2_INPUT,
        cnn.FIG_8_2_FILTER,
        1,
        0,
    ),
    ("Fig 8.2 with stride 2 and padding 1", cnn.FIG_8_2_INPUT, cnn.FIG_8_2_FILTER, 2, 1),
]


def _random_cases(seed: int) -> list[tuple[str, np.ndarray, np.ndarray, int, int]]:
    rng = np.random.default_rng(seed)
    return [
        (
            "a 6×8 input (not square), a 3×3 filter, padding 1",
            rng.integers(-3, 4, (6, 8)).astype(float),
            rng.integers(-2, 3, (3, 3)).astype(float),
            1,
            1,
        ),
        (
            "a 6×6 input, a 2×2 filter, stride 2",
            rng.integers(-3, 4, (6, 6)).astype(float),
            np.array([[1.0, 2.0], [-1.0, 0.5]]),
            2,
            0,
        ),
    ]


def conv2d_loops(fn: Callable) -> None:
    r"""Check ``fn(x, w, stride, padding)``: the book's convolution of a grey image ``x: (H, W)``
    with a filter ``w: (F, F)``, with zero padding and a stride, computed with loops."""
    ex = _EX_LOOPS
    cases = _FIG_CASES + _random_cases(81)
    for words, x_, w_, s, p in cases:
        inputs = [f"x has shape {x_.shape}", f"w = {_fmt(w_)}", f"stride = {s}, padding = {p}"]
        expected = _corr2d(x_, w_, s, p)
        got = _array(
            ex,
            words,
            "the output",
            _call(ex, fn, (_f(x_), _f(w_), s, p), words, inputs),
            expected.shape,
            hint="(n + 2p - f)/s + 1 rows and columns; pad first, then slide with the stride.",
        )
        if _close(got, expected):
            continue
        hint = "output[i, j] = sum over r, c of w[r, c] * x_padded[s*i + r, s*j + c]."
        if _close(got, _corr2d(x_, w_[::-1, ::-1], s, p)):
            hint = "you flipped the filter; the book's convolution uses w[r, c] as it is."
        _compare(ex, words, "the output", got, expected, hint=hint, details=inputs)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ backward

_EX_BACK = Exercise("conv_backward", "")


@jax.jit
def _conv_vjp(x, w, g):
    _, vjp = jax.vjp(
        lambda a, b: cnn.conv2d(a[None, :, :, None], b[:, :, None, None])[0, :, :, 0], x, w
    )
    return vjp(g)


def conv_backward(fn: Callable) -> None:
    r"""Check ``fn(x, w, g) -> (dx, dw)`` for $y = $ the valid convolution (stride 1) of a grey
    image ``x: (H, W)`` with ``w: (F, F)`` and ``g = dL/dy``: against ``jax.vjp``."""
    ex = _EX_BACK
    rng = np.random.default_rng(5)
    shapes = [("a 5×5 input, a 3×3 filter", 5, 5, 3), ("a 6×7 input, a 2×2 filter", 6, 7, 2)]
    shapes += [("a 7×7 input, a 3×3 filter", 7, 7, 3)]
    for words, H, W, F in shapes:
        x_ = rng.integers(-3, 4, (H, W)).astype(float)
        w_ = rng.integers(-2, 3, (F, F)).astype(float)
        w_[0, -1] = 3.0  # never symmetric under a 180° rotation
        g_ = rng.integers(-2, 3, (H - F + 1, W - F + 1)).astype(float)
        x, w, g = _f(x_), _f(w_), _f(g_)
        inputs = [f"x has shape {x_.shape}", f"w = {_fmt(w_)}", f"g has shape {g_.shape}"]
        dx, dw = _unpack(ex, words, _call(ex, fn, (x, w, g), words, inputs), ("dx", "dw"))
        e_dx, e_dw = (np.asarray(a, np.float64) for a in _conv_vjp(x, w, g))
        dx = _array(
            ex,
            words,
            "dx",
            dx,
            x_.shape,
            hint="dx has the input's shape: pad g with F - 1 zeros on each side (full padding).",
        )
        hint = "dx is the full convolution of g with the filter rotated by 180° (Aggarwal §8.3.2)."
        if _close(dx, _corr2d(g_, w_, 1, F - 1)):
            hint = "rotate the filter by 180° (w[::-1, ::-1]) before the full convolution of g."
        _compare(ex, words, "dx", dx, e_dx, hint=hint, details=inputs)
        dw = _array(ex, words, "dw", dw, w_.shape, hint="dw has the filter's shape (F, F).")
        hint = "dw[r, c] = sum over i, j of x[i + r, j + c] * g[i, j]: correlate x with g."
        if _close(dw, e_dw[::-1, ::-1]):
            hint = (
                "dw is rotated by 180°: correlate x with g without any flip, "
                "dw[r, c] = sum x[i + r, j + c] g[i, j]."
            )
        _compare(ex, words, "dw", dw, e_dw, hint=hint, details=inputs)
    _passed(ex, len(shapes))


# ------------------------------------------------------------------------------ max-pool backward

_EX_POOL = Exercise("maxpool_backward", "")


def _tie_windows(x: np.ndarray) -> np.ndarray:
    """For each 2×2 window of ``x: (H, W)``, 1 at the entries equal to the window's maximum."""
    up = np.repeat(np.repeat(_pool2(x), 2, 0), 2, 1)
    return (x == up).astype(float)


def _pool2(x: np.ndarray) -> np.ndarray:
    H, W = x.shape
    return x.reshape(H // 2, 2, W // 2, 2).max(axis=(1, 3))


def _window_sums(a: np.ndarray) -> np.ndarray:
    H, W = a.shape
    return a.reshape(H // 2, 2, W // 2, 2).sum(axis=(1, 3))


def _valid_at_ties(got: np.ndarray, x: np.ndarray, g: np.ndarray, tol: float = 1e-6) -> bool:
    """A subgradient of the max-pool: in each window the tied maxima share g (each a fraction in
    [0, 1] of it, g > 0 here), the other entries get 0, and the shares add up to g."""
    hit = _tie_windows(x).astype(bool)
    up = np.repeat(np.repeat(g, 2, 0), 2, 1)
    return bool(
        np.all(np.abs(got[~hit]) <= tol)
        and np.all(got[hit] >= -tol)
        and np.all(got[hit] <= up[hit] + tol)
        and np.allclose(_window_sums(got), g, rtol=1e-6, atol=tol)
    )


def maxpool_backward(fn: Callable) -> None:
    r"""Check ``fn(x, g) -> dx`` for the 2×2 max-pool with stride 2 of ``x: (H, W)`` (even sizes)
    and ``g = dL/dy: (H/2, W/2)``: each window's gradient goes to its largest entry only.

    At a tie (several entries share a window's maximum) the max has no derivative, and any split
    of the window's gradient among the tied entries that adds up to it is a subgradient. Two
    conventions are common and both pass: an equal split (``jax.grad`` of ``max``, and
    :func:`course_lib.cnn.max_pool_backward`) and everything to the first tied entry
    (``np.argmax``; the gradient of ``lax.reduce_window``). Sending the gradient to every tied
    entry (each window then passes back a multiple of it), or to none, fails."""
    ex = _EX_POOL
    rng = np.random.default_rng(7)
    cases = []
    for words, H, W in (("a 4×4 input", 4, 4), ("a 6×8 input", 6, 8), ("a 2×2 input", 2, 2)):
        x_ = rng.permutation(H * W).reshape(H, W).astype(float)  # distinct values: no ties
        g_ = rng.integers(1, 6, (H // 2, W // 2)).astype(float)
        cases.append((words, x_, g_))
    # ties: a constant image (every window a four-way tie), and windows with 2-, 3-way and no ties
    cases.append(
        ("a constant 4×4 input (ties)", np.full((4, 4), 3.0), np.array([[1.0, 2], [3, 4]]))
    )
    x_tied = np.array([[5, 5, 0, 7], [1, 2, 7, 7], [-1, -2, 4, 9], [-1, -3, 4, 4]], dtype=float)
    cases.append(("a 4×4 input with tied maxima", x_tied, np.array([[2.0, 3], [5, 1]])))
    for words, x_, g_ in cases:
        inputs = [f"x = {_fmt(x_)}", f"g = {_fmt(g_)}"]
        expected = np.asarray(
            cnn.max_pool_backward(
                jnp.asarray(x_)[None, :, :, None], jnp.asarray(g_)[None, :, :, None]
            ),
            np.float64,
        )[0, :, :, 0]
        got = _array(
            ex,
            words,
            "dx",
            _call(ex, fn, (_f(x_), _f(g_)), words, inputs),
            x_.shape,
            hint="dx has the input's shape.",
        )
        ties = bool(np.any(_window_sums(_tie_windows(x_)) > 1))
        if _close(got, expected) or (ties and _valid_at_ties(got, x_, g_)):
            continue
        up = np.repeat(np.repeat(g_, 2, 0), 2, 1)
        hint = "in each 2×2 window only the arg-max receives the window's gradient; the rest get 0."
        if ties:
            sums = _window_sums(got)
            inputs = [
                *inputs,
                "at a tie any split of a window's g among its tied maxima is accepted; "
                "expected shows the equal split",
            ]
            if _close(got, up * _tie_windows(x_)):
                hint = (
                    "at a tie you sent the window's gradient to every tied entry, so the window "
                    "passes back a multiple of g; give each window's g once: split it among the "
                    "tied entries or give it to one of them (np.argmax picks the first)."
                )
            elif np.allclose(sums[_window_sums(_tie_windows(x_)) > 1], 0.0, atol=1e-6):
                hint = (
                    "at a tie no entry received the gradient: the max is still one of the tied "
                    "entries (compare with >=, or use np.argmax)."
                )
            else:
                hint = (
                    "at a tie the tied entries share the window's gradient: their shares must "
                    "add up to g, and the other entries get 0."
                )
        elif _close(got, up):
            hint = (
                "you sent the gradient to all four entries; only the maximum affected the output."
            )
        elif _close(got, up / 4):
            hint = (
                "g/4 to every entry is the backward pass of *average* pooling; max-pooling "
                "routes g to the arg-max."
            )
        _compare(ex, words, "dx", got, expected, hint=hint, details=inputs)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ the matrix C

_EX_MATRIX = Exercise("convolution_matrix", "")


def convolution_matrix(fn: Callable) -> None:
    r"""Check ``fn(n, w) -> C``: the matrix of the valid convolution (stride 1) of an ``(n, n)``
    image with ``w: (F, F)``, so that ``C @ x.ravel() == conv(x).ravel()`` (row-major);
    shape ``((n - F + 1)**2, n**2)`` (Aggarwal §8.3.3, Fig 8.8)."""
    ex = _EX_MATRIX
    cases = [
        (
            "Fig 8.8: a 3×3 input and the 2×2 filter [[1, 2], [3, 4]]",
            3,
            np.array([[1.0, 2.0], [3.0, 4.0]]),
        ),
        ("a 5×5 input, a 3×3 filter", 5, np.arange(1.0, 10.0).reshape(3, 3)),
        ("a 4×4 input, a 1×1 filter", 4, np.array([[2.5]])),
    ]
    for words, n, w_ in cases:
        inputs = [f"n = {n}", f"w = {_fmt(w_)}"]
        m = n - w_.shape[0] + 1
        expected = np.asarray(cnn.conv_matrix((n, n), w_), np.float64)
        got = _array(
            ex,
            words,
            "C",
            _call(ex, fn, (n, _f(w_)), words, inputs),
            expected.shape,
            hint=f"one row per output cell, one column per input pixel: ({m * m}, {n * n}).",
        )
        if _close(got, expected):
            continue
        hint = "row i*m + j holds w[r, c] in column (i + r)*n + (j + c)."
        if _close(got, np.asarray(cnn.conv_matrix((n, n), w_[::-1, ::-1]))):
            hint = "you placed the flipped filter; use w[r, c] as it is (cross-correlation)."
        _compare(ex, words, "C", got, expected, hint=hint, details=inputs)
    _passed(ex, len(cases))
