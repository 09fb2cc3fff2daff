"""course_lib.checks.modern_cnns: each check passes a right answer and fails plausible mistakes.

The right answers are written here independently of the solutions notebook (the library's
conv2d / augmentation / conv_variants where the notebook writes the loops, and vice versa).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import augmentation, checks, cnn, conv_variants, resnet
from course_lib.checks import CheckFailed


def _stub(*args):
    raise NotImplementedError("Exercise: replace this with your code")


ALL = [
    checks.residual_block,
    checks.conv1x1_dense,
    checks.bottleneck_params,
    checks.dilated_receptive_field,
    checks.random_shift,
    checks.edge_response,
    checks.class_subset,
]


@pytest.mark.parametrize("check", ALL)
def test_every_check_says_not_implemented_for_the_stub(check):
    with pytest.raises(CheckFailed, match="not implemented yet"):
        check(_stub)


def _passes(check, fn, capsys):
    check(fn)
    assert "✔" in capsys.readouterr().out


def _fails(check, fn, hint_word):
    with pytest.raises(CheckFailed) as info:
        check(fn)
    assert hint_word in str(info.value), str(info.value)


# ---- residual block


def _res(x, w1, w2, skip=True, last_relu=True):
    branch = cnn.conv2d(jax.nn.relu(cnn.conv2d(x, w1, padding=1)), w2, padding=1)
    out = x + branch if skip else branch
    return jax.nn.relu(out) if last_relu else out


def test_residual_block(capsys):
    _passes(checks.residual_block, _res, capsys)
    _fails(checks.residual_block, lambda x, a, b: _res(x, a, b, skip=False), "skip")
    _fails(checks.residual_block, lambda x, a, b: _res(x, a, b, last_relu=False), "ReLU")


# ---- 1x1 convolution


def test_conv1x1_dense(capsys):
    _passes(checks.conv1x1_dense, conv_variants.conv1x1, capsys)
    _passes(checks.conv1x1_dense, lambda x, W, b: cnn.conv2d(x, W[None, None], b), capsys)
    _fails(checks.conv1x1_dense, lambda x, W, b: conv_variants.conv1x1(x, W), "bias")
    _fails(checks.conv1x1_dense, lambda x, W, b: conv_variants.conv1x1(x, W, b) * 2, "dense")


# ---- bottleneck


def test_bottleneck_params(capsys):
    def lib(d_in, d_mid, f, d_out):
        return conv_variants.bottleneck_cost(1, 1, f, d_in, d_mid, d_out).params

    _passes(checks.bottleneck_params, lib, capsys)
    _fails(checks.bottleneck_params, lambda a, m, f, d: a * m + f * f * m * d, "bias")
    _fails(checks.bottleneck_params, lambda a, m, f, d: f * f * a * d + d, "direct")
    _fails(checks.bottleneck_params, lambda a, m, f, d: a * m + m + f * m * d + d, "f*f")


# ---- receptive field


def test_dilated_receptive_field(capsys):
    _passes(checks.dilated_receptive_field, conv_variants.receptive_field, capsys)

    def spans(fs, ds):
        return sum(f * d for f, d in zip(fs, ds, strict=True))

    _fails(checks.dilated_receptive_field, spans, "d(F - 1) + 1")
    _fails(checks.dilated_receptive_field, lambda fs, ds: 1 + sum(f - 1 for f in fs), "dilation")


# ---- random shift


def test_random_shift(capsys):
    def lib(x, key, m):
        return augmentation.random_shift(x, key=key, max_shift=m)

    _passes(checks.random_shift, lib, capsys)

    def rolled(x, key, m):
        d = jax.random.randint(key, (2,), -m, m + 1)
        return jnp.roll(x, (int(d[0]), int(d[1])), axis=(1, 2))

    def one_for_all(x, key, m):
        d = jax.random.randint(key, (2,), -m, m + 1)
        return augmentation.shift(x, d[0], d[1])

    def too_far(x, key, m):
        return augmentation.random_shift(x, key=key, max_shift=m + 2) if m else x

    def fixed_key(x, key, m):
        return augmentation.random_shift(x, key=jax.random.key(0), max_shift=m)

    _fails(checks.random_shift, rolled, "")
    _fails(checks.random_shift, one_for_all, "every image")
    _fails(checks.random_shift, too_far, "more than max_shift")
    _fails(checks.random_shift, fixed_key, "key")


# ---- Exercise 8.7


def test_edge_response(capsys):
    def lib(img, filt):
        return cnn.conv2d(img[None, :, :, None], filt[:, :, None, None])[0, :, :, 0]

    _passes(checks.edge_response, lib, capsys)
    _fails(checks.edge_response, lambda i, f: lib(i, f[::-1, ::-1]), "flip")
    _fails(checks.edge_response, lambda i, f: lib(i, f) + 1.0, "")


def test_the_fig_8_2_answer_is_the_maps():
    filt = np.array([[1, 1, 1], [0, 0, 0], [-1, -1, -1]], float)
    got = cnn.conv2d(cnn.FIG_8_2_INPUT[None, :, :, None], filt[:, :, None, None])[0, :, :, 0]
    expected = [[4, 6, 4, -3, -3], [0, -1, 0, 1, -2], [-5, -6, 1, 1, 0], [6, 11, 1, -3, 4],
                [3, 3, 4, 4, 2]]  # fmt: skip
    np.testing.assert_allclose(got, expected)


# ---- Exercise 8.6


def test_class_subset(capsys):
    _passes(checks.class_subset, resnet.subset_indices, capsys)

    def loop(y, k):
        out, count = [], {}
        for i, c in enumerate(np.asarray(y).tolist()):
            if count.get(c, 0) < k:
                out.append(i)
                count[c] = count.get(c, 0) + 1
        return np.array(out)

    _passes(checks.class_subset, loop, capsys)
    _fails(checks.class_subset, lambda y, k: np.concatenate(
        [np.flatnonzero(y == c)[:k] for c in np.unique(y)]), "sorted")  # fmt: skip
    _fails(checks.class_subset, lambda y, k: np.sort(np.concatenate(
        [np.flatnonzero(y == c)[-k:] for c in np.unique(y)])), "first")  # fmt: skip
