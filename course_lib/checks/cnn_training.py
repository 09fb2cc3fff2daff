r"""Self-checks for the exercises on training and inspecting a CNN (Aggarwal §8.2–8.3, §8.5.1).

Each check runs the student's function on fixed cases and compares with an independent
reference: the library (:func:`course_lib.cnn.conv2d`, :func:`course_lib.cnn.max_pool`,
:func:`course_lib.cnn.saliency`, :func:`course_lib.cnn.occlusion_map`, the size of the
parameter pytree of :func:`course_lib.cnn.init`), ``jax.vjp`` (the filter and bias gradients)
or a formula written out here (cross-entropy and accuracy). Common slips (no padding, the flipped
filter, forgetting the bias, the average instead of the max, the probability instead of the
logit, ...) are recognized and answered with a targeted hint.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

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
    _f,
    _passed,
    _scalar,
    _unpack,
)

_close = _close_within(rtol=1e-4, atol=1e-5)


def _rand(seed: int, shape: tuple[int, ...]) -> jax.Array:
    return _f(np.random.default_rng(seed).standard_normal(shape))


# ------------------------------------------------------------------------------ conv layer

_EX_CONV = Exercise("conv_layer", "")

# (words, x shape NHWC, w shape HWIO, stride, padding)
_CONV_CASES = [
    ("2 images 6×6×1, four 3×3 filters, stride 1, padding 1", (2, 6, 6, 1), (3, 3, 1, 4), 1, 1),
    ("1 image 7×7×3, two 3×3×3 filters, stride 2, padding 0", (1, 7, 7, 3), (3, 3, 3, 2), 2, 0),
    ("3 images 5×5×2, five 2×2×2 filters, stride 1, padding 0", (3, 5, 5, 2), (2, 2, 2, 5), 1, 0),
    ("1 image 9×9×2, three 3×3×2 filters, stride 2, padding 1", (1, 9, 9, 2), (3, 3, 2, 3), 2, 1),
]


def conv_layer(fn: Callable) -> None:
    r"""Check ``fn(x, w, b, stride, padding)``: the book's convolution (a cross-correlation)
    of NHWC images ``x`` with HWIO filters ``w`` plus one bias per filter, against
    :func:`course_lib.cnn.conv2d`."""
    ex = _EX_CONV
    for i, (words, xs, ws, stride, padding) in enumerate(_CONV_CASES):
        x, w, b = _rand(10 + i, xs), _rand(20 + i, ws), _rand(30 + i, (ws[3],))
        inputs = [f"x: {xs}, w: {ws}, stride = {stride}, padding = {padding}"]
        expected = np.asarray(cnn.conv2d(x, w, b, stride=stride, padding=padding))
        got = _array(
            ex,
            words,
            "the output",
            _call(ex, fn, (x, w, b, stride, padding), words, inputs),
            expected.shape,
            hint="output size per axis: (n + 2p - f) / s + 1; one channel per filter (NHWC).",
        )
        if _close(got, expected):
            continue
        hint = "use jax.lax.conv_general_dilated with dimension_numbers ('NHWC', 'HWIO', 'NHWC')."
        flipped = cnn.conv2d(x, w[::-1, ::-1], b, stride=stride, padding=padding)
        if _close(got, expected - np.asarray(b)):
            hint = "add the bias b[p] to every position of output channel p."
        elif _close(got, flipped):
            hint = "the book's convolution does not flip the filter: it is a cross-correlation."
        _compare(
            ex, words, "the output", got, expected, rtol=1e-4, atol=1e-4, hint=hint, details=inputs
        )
    _passed(ex, len(_CONV_CASES))


# ------------------------------------------------------------------------------ conv grads

_EX_GRADS = Exercise("conv_layer_grads", "")


@functools.partial(jax.jit, static_argnums=(3,))
def _conv_param_vjp(x, w, g, padding):
    b = jnp.zeros(w.shape[3], w.dtype)
    _, vjp = jax.vjp(lambda w_, b_: cnn.conv2d(x, w_, b_, padding=padding), w, b)
    return vjp(g)


def conv_layer_grads(fn: Callable) -> None:
    r"""Check ``fn(x, w, g, padding) -> (dw, db)``: the gradients of a loss with respect to the
    filters and biases of a stride-1 convolution layer (§8.3.1), given ``g = dL/dy``. Reference:
    ``jax.vjp`` of :func:`course_lib.cnn.conv2d`."""
    ex = _EX_GRADS
    cases = [
        ("2 images 5×5×1, three 3×3 filters, padding 0", (2, 5, 5, 1), (3, 3, 1, 3), 0),
        ("3 images 6×6×2, four 3×3×2 filters, padding 1", (3, 6, 6, 2), (3, 3, 2, 4), 1),
        ("1 image 4×5×3, two 2×2×3 filters, padding 0", (1, 4, 5, 3), (2, 2, 3, 2), 0),
    ]
    for i, (words, xs, ws, padding) in enumerate(cases):
        x, w = _rand(40 + i, xs), _rand(50 + i, ws)
        out_shape = cnn.conv2d(x, w, padding=padding).shape
        g = _rand(60 + i, out_shape)
        inputs = [f"x: {xs}, w: {ws}, g: {tuple(out_shape)}, padding = {padding}"]
        dw, db = _unpack(ex, words, _call(ex, fn, (x, w, g, padding), words, inputs), ("dw", "db"))
        e_dw, e_db = (np.asarray(a, np.float64) for a in _conv_param_vjp(x, w, g, padding))
        dw = _array(ex, words, "dw", dw, ws, hint="dw has the filters' shape (F, F, C_in, C_out).")
        hint = (
            "dw[r, s, k, p] = sum over images n and positions (i, j) of "
            "x_padded[n, i + r, j + s, k] * g[n, i, j, p]."
        )
        if _close(dw, e_dw[::-1, ::-1]):
            hint = "dw is rotated by 180°: correlate the input with g, without a flip."
        elif x.shape[0] > 1 and _close(dw * x.shape[0], e_dw):
            hint = "sum over the batch: do not average (the loss's own mean is already in g)."
        elif x.shape[0] > 1 and _close(dw, _conv_param_vjp(x[:1], w, g[:1], padding)[0]):
            hint = "every image of the batch contributes: sum over the batch axis too."
        _compare(ex, words, "dw", dw, e_dw, rtol=1e-4, atol=1e-4, hint=hint, details=inputs)
        db = _array(ex, words, "db", db, (ws[3],), hint="db has one entry per filter.")
        _compare(
            ex,
            words,
            "db",
            db,
            e_db,
            rtol=1e-4,
            atol=1e-4,
            hint="each bias is added at every position of every image: sum g over (n, i, j).",
            details=inputs,
        )
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ max-pool

_EX_POOL = Exercise("max_pool_reshape", "")


def _tied_images() -> jax.Array:
    """Two 4×4×2 images whose 2×2 blocks tie for the maximum: a constant image, and blocks with
    2-, 3- and 4-way ties (some negative) beside untied ones."""
    a = np.full((4, 4, 2), 0.5)
    b = np.array([[5, 5, 0, 7], [1, 2, 7, 7], [-1, -2, 4, 9], [-1, -3, 4, 4]], dtype=float)
    b = np.stack([b, -np.ones((4, 4))], axis=-1)
    return _f(np.stack([a, b]))


def max_pool_reshape(fn: Callable) -> None:
    r"""Check ``fn(x, size)``: non-overlapping ``size``×``size`` max-pooling of NHWC images,
    against :func:`course_lib.cnn.max_pool` (and :func:`course_lib.cnn.max_pool_window`).
    One case has tied maxima (a constant image among them): the pooled value is the maximum
    however many entries share it."""
    ex = _EX_POOL
    cases = [
        ("2 images 4×4×3, size 2", _rand(70, (2, 4, 4, 3)), 2),
        ("1 image 6×4×2, size 2 (not square)", _rand(71, (1, 6, 4, 2)), 2),
        ("3 images 6×6×1, size 3", _rand(72, (3, 6, 6, 1)), 3),
        ("2 images 4×4×2 with tied maxima (one constant), size 2", _tied_images(), 2),
    ]
    for words, x, size in cases:
        xs = tuple(x.shape)
        expected = np.asarray(cnn.max_pool(x, size))
        assert _close(expected, cnn.max_pool_window(x, size))  # two library forms agree
        got = _array(
            ex,
            words,
            "the pooled images",
            _call(ex, fn, (x, size), words, [f"x: {xs}"]),
            expected.shape,
            hint="the output is (n, H / size, W / size, C).",
        )
        if _close(got, expected):
            continue
        n, H, W, C = xs
        blocks = np.asarray(x).reshape(n, H // size, size, W // size, size, C)
        hint = "reshape to (n, H/size, size, W/size, size, C) and take the max over axes 2 and 4."
        if _close(got, cnn.avg_pool(x, size)):
            hint = "that is average pooling: take the max of each block."
        elif _close(got, np.asarray(x).reshape(n, H // size, W // size, size, size, C).max((3, 4))):
            hint = (
                "a block's rows and columns are interleaved in memory: reshape to "
                "(n, H/size, size, W/size, size, C), not (n, H/size, W/size, size, size, C)."
            )
        elif _close(got, (blocks * (blocks == expected[:, :, None, :, None, :])).sum((2, 4))):
            hint = (
                "where several entries tie for a block's maximum you added them up; the "
                "pooled value is the maximum itself, however many entries share it."
            )
        _compare(ex, words, "the pooled images", got, expected, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ parameter count

_EX_COUNT = Exercise("lenet_param_count", "")


def lenet_param_count(fn: Callable) -> None:
    r"""Check ``fn(image_size, channels, hidden, n_classes)``: the number of parameters of
    :func:`course_lib.cnn.init`'s LeNet (3×3 convolutions with padding 1, 2×2 pools, one input
    channel), against the size of the parameter pytree that ``cnn.init`` builds."""
    ex = _EX_COUNT
    cases = [(8, (16, 32), 64, 10), (28, (6, 16), 84, 10), (16, (4,), 20, 3), (32, (8, 8, 8), 5, 2)]
    for size, channels, hidden, k in cases:
        words = f"image_size = {size}, channels = {channels}, hidden = {hidden}, n_classes = {k}"
        got = _scalar(
            ex, words, "the count", _call(ex, fn, (size, channels, hidden, k), words), integer=True
        )
        params = cnn.init(
            jax.random.key(0), image_size=size, channels=channels, hidden=hidden, n_classes=k
        )
        expected = cnn.n_params(params)
        if got == expected:
            continue
        flat = size // 2 ** len(channels)
        c_last = channels[-1]
        no_bias = expected - sum(channels) - hidden - k
        hint = (
            "per conv layer 9 * d_in * d_out + d_out; the first dense layer sees "
            "(size / 2^L)^2 * channels[-1] inputs after L poolings."
        )
        if got == no_bias:
            hint = "count the biases too: one per filter and one per dense unit."
        elif got == expected - (flat * flat * c_last) * hidden + (size * size * c_last) * hidden:
            hint = "each 2×2 pooling halves the height and the width before the dense layer."
        raise CheckFailed(
            ex,
            "wrong parameter count",
            case=words,
            details=[f"expected {expected:,d}", f"got      {got:,.0f}"],
            hint=hint,
        )
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ evaluate

_EX_EVAL = Exercise("evaluate", "")


def _eval_reference(logits: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    loss = -np.mean(logp[np.arange(len(labels)), labels])
    return float(loss), float(np.mean(logits.argmax(axis=1) == labels))


def evaluate(fn: Callable) -> None:
    r"""Check ``fn(logits, labels) -> (loss, accuracy)``: the mean softmax cross-entropy
    $-\frac1n\sum_i \log\mathrm{softmax}(z_i)_{y_i}$ and the fraction of correct arg-maxes."""
    ex = _EX_EVAL
    rng = np.random.default_rng(80)
    cases = [
        ("4 examples, 3 classes", rng.standard_normal((4, 3)), np.array([0, 2, 1, 1])),
        ("6 examples, 10 classes", 3 * rng.standard_normal((6, 10)), np.array([1, 9, 0, 3, 3, 7])),
        (
            "3 examples, large logits (1000)",
            np.array([[1000.0, 0, 0], [0, 1000, 1], [5, 4, 1000]]),
            np.array([0, 2, 2]),
        ),
    ]
    for words, z, y in cases:
        inputs = [f"logits shape {z.shape}, labels = {y.tolist()}"]
        result = _call(ex, fn, (_f(z), jnp.asarray(y)), words, inputs)
        loss, acc = _unpack(ex, words, result, ("loss", "accuracy"))
        e_loss, e_acc = _eval_reference(z, y)
        loss = _scalar(ex, words, "loss", loss)
        acc = _scalar(ex, words, "accuracy", acc)
        hint = "the loss is the mean over examples of -log softmax(z_i)[y_i]."
        if np.isclose(loss, e_loss * len(y), rtol=1e-4):
            hint = "average over the examples, do not sum."
        elif np.isclose(loss, -e_loss, rtol=1e-4):
            hint = "the cross-entropy is -log p: mind the sign."
        elif not np.isfinite(loss):
            hint = "exp(1000) overflows: use jax.nn.log_softmax (it subtracts the max first)."
        _compare(
            ex,
            words,
            "loss",
            np.float64(loss),
            e_loss,
            rtol=1e-4,
            atol=1e-5,
            hint=hint,
            details=inputs,
        )
        _compare(
            ex,
            words,
            "accuracy",
            np.float64(acc),
            e_acc,
            atol=1e-6,
            hint="accuracy: the fraction of rows whose largest logit is at the label.",
            details=inputs,
        )
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ saliency

_EX_SAL = Exercise("saliency_map", "")


def _small_net(seed: int) -> Any:
    return cnn.init(jax.random.key(seed), image_size=8, channels=(4, 8), hidden=16)


def _prob(params: Any, x: jax.Array, label: int) -> jax.Array:
    return jax.nn.softmax(cnn.apply(params, x[None])[0])[label]


def saliency_map(fn: Callable) -> None:
    r"""Check ``fn(params, x, label)``: $|\partial f_c/\partial x|$ for one image ``x: (H, W, 1)``
    and the logit $f_c$ of class ``label`` of :func:`course_lib.cnn.apply`, shape ``(H, W)``;
    against :func:`course_lib.cnn.saliency`."""
    ex = _EX_SAL
    cases = [(0, 3), (1, 7), (2, 0)]
    for seed, label in cases:
        params = _small_net(90 + seed)
        x = _f(np.random.default_rng(seed).uniform(0, 1, (8, 8, 1)))
        words = f"a random 8×8 image and a random small LeNet, class {label}"
        expected = np.asarray(cnn.saliency(params, x[None], jnp.asarray([label]))[0])
        got = _array(
            ex,
            words,
            "the saliency map",
            _call(ex, fn, (params, x, label), words),
            expected.shape,
            hint="return an (H, W) map: drop the channel axis (max of |gradient| over channels).",
        )
        if _close(got, expected, rtol=1e-4, atol=1e-6):
            continue
        hint = "differentiate the logit cnn.apply(params, x[None])[0, label] with respect to x."
        g_prob = jax.grad(_prob, argnums=1)(params, x, label)
        if _close(got, np.abs(np.asarray(g_prob))[..., 0], rtol=1e-4, atol=1e-6):
            hint = "use the class score before the softmax (the logit), not the probability."
        elif _close(np.abs(got), expected, rtol=1e-4, atol=1e-6):
            hint = "take the absolute value of the gradient."
        _compare(ex, words, "the saliency map", got, expected, rtol=1e-4, atol=1e-6, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ occlusion

_EX_OCC = Exercise("occlusion_drop", "")


def occlusion_drop(fn: Callable) -> None:
    r"""Check ``fn(params, x, label, size)``: for every top-left position $(i, j)$ of a
    ``size``×``size`` patch inside the image ``x: (H, W, 1)``, the drop
    $p(c\mid x) - p(c\mid x \text{ with the patch set to } 0)$, shape
    ``(H - size + 1, W - size + 1)``; against :func:`course_lib.cnn.occlusion_map`."""
    ex = _EX_OCC
    cases = [(0, 2, 2), (1, 5, 3)]
    for seed, label, size in cases:
        params = _small_net(95 + seed)
        x = _f(np.random.default_rng(seed).uniform(0, 1, (8, 8, 1)))
        words = f"a random 8×8 image, class {label}, a {size}×{size} patch"
        expected = np.asarray(cnn.occlusion_map(params, x, label, size=size))
        got = _array(
            ex,
            words,
            "the occlusion map",
            _call(ex, fn, (params, x, label, size), words),
            expected.shape,
            hint="one value per patch position: (H - size + 1, W - size + 1).",
        )
        if _close(got, expected, rtol=1e-4, atol=1e-6):
            continue
        base = float(jax.nn.softmax(cnn.apply(params, x[None])[0])[label])
        hint = "blank x[i:i+size, j:j+size] (set it to 0) and compare p(label) with the original."
        if _close(got, -expected, rtol=1e-4, atol=1e-6):
            hint = "the drop is p(original) - p(occluded): mind the sign."
        elif _close(got, base - expected, rtol=1e-4, atol=1e-6):
            hint = "return the drop p(original) - p(occluded), not p(occluded)."
        _compare(ex, words, "the occlusion map", got, expected, rtol=1e-4, atol=1e-6, hint=hint)
    _passed(ex, len(cases))
