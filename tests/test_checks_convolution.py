"""course_lib.checks.convolution: each check passes a right answer and fails plausible mistakes.

The right answers here are written independently of the solutions notebook and of the library:
NumPy loops from the book's definitions, scipy.signal for correlations, plain arithmetic for the
sizes and parameter counts, and the course map's computed answers to Exercise 8.1.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import signal

from course_lib import checks, cnn
from course_lib.checks import CheckFailed
from course_lib.checks import convolution as conv_checks


def _stub(*args):
    raise NotImplementedError("Exercise: replace this with your code")


@pytest.mark.parametrize(
    "check",
    [
        checks.conv1d_padded,
        checks.conv_output_size,
        checks.vgg_sizes_and_params,
        checks.conv2d_loops,
        checks.conv_backward,
        checks.maxpool_backward,
        checks.convolution_matrix,
    ],
)
def test_every_check_says_not_implemented_for_the_stub(check):
    with pytest.raises(CheckFailed, match="not implemented yet"):
        check(_stub)


# ------------------------------------------------------------------------------ conv1d_padded


def _conv1d(x, w, padding, *, flip=False):
    x = np.concatenate([np.zeros(padding), np.asarray(x, float), np.zeros(padding)])
    w = np.asarray(w, float)[::-1] if flip else np.asarray(w, float)
    return np.array([np.dot(x[i : i + len(w)], w) for i in range(len(x) - len(w) + 1)])


def test_conv1d_padded_reproduces_the_course_map_answers():
    # Exercise 8.1's answers, computed in the course map by hand
    assert _conv1d([2, 1, 3, 4, 7], [1, 0, 1], 0).tolist() == [5, 5, 10]
    assert _conv1d([2, 1, 3, 4, 7], [1, 0, 1], 1).tolist() == [1, 5, 5, 10, 4]
    assert _conv1d([2, 1, 3, 4, 7], [1, 0, 1], 2).tolist() == [2, 1, 5, 5, 10, 4, 7]


def test_conv1d_padded_passes_numpy_loops(capsys):
    checks.conv1d_padded(lambda x, w, p: _conv1d(x, w, p))
    assert "✔ conv1d_padded (Exercise 8.1)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (lambda x, w, p: _conv1d(x, w, p, flip=True), "flipped the filter"),
        (lambda x, w, p: _conv1d(x, w, 0), "wrong shape"),  # ignores the padding
        (lambda x, w, p: np.convolve(np.asarray(x), np.asarray(w), "same"), "wrong"),
    ],
)
def test_conv1d_padded_fails_common_mistakes(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.conv1d_padded(wrong)


# ------------------------------------------------------------------------------ conv_output_size


def _size(n, f, p, s):
    span = n + 2 * p - f
    return span // s + 1 if span >= 0 and span % s == 0 else None


def test_conv_output_size_passes_the_formula(capsys):
    checks.conv_output_size(_size)
    assert "✔ conv_output_size" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (lambda n, f, p, s: None if (n + 2 * p - f) % s else (n + 2 * p - f) // s, "off by one"),
        (lambda n, f, p, s: (n + 2 * p - f) // s + 1, "return None"),  # floor, never None
        (lambda n, f, p, s: None if (n + p - f) % s else (n + p - f) // s + 1, "each"),
        (lambda n, f, p, s: None if (n + 2 * p - f) % s else (n + 2 * p - f) / s + 1.5, "whole"),
    ],
)
def test_conv_output_size_fails_common_mistakes(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.conv_output_size(wrong)


# ------------------------------------------------------------------------- vgg_sizes_and_params


def _vgg(config, size, n_classes, *, bias=True, dense=True, pools=True):
    sizes, depth, total = [], 3, 0
    for layer in config:
        if layer == "M":
            size = size // 2 if pools else size
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


def test_vgg_reference_agrees_with_the_library_and_the_paper():
    assert _vgg(conv_checks._VGG_D, 224, 1000)[1] == 138_357_544  # VGG-16
    assert _vgg(conv_checks._VGG_A, 224, 1000)[1] == 132_863_336  # VGG-11
    rows = cnn.vgg_layers("A")
    assert sum(r["weights"] + r["biases"] for r in rows) == 132_863_336


def test_vgg_sizes_and_params_passes_a_plain_loop(capsys):
    checks.vgg_sizes_and_params(_vgg)
    assert "✔ vgg_sizes_and_params" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (lambda c, s, k: _vgg(c, s, k, bias=False), "forgot the biases"),
        (lambda c, s, k: _vgg(c, s, k, dense=False), "three dense layers"),
        (lambda c, s, k: _vgg(c, s, k, pools=False), "halve"),
        (lambda c, s, k: _vgg(c, s, k)[1], "expected a tuple"),
    ],
)
def test_vgg_sizes_and_params_fails_common_mistakes(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.vgg_sizes_and_params(wrong)


# ------------------------------------------------------------------------------ conv2d_loops


def _loops(x, w, s, p, *, flip=False, pad=True):
    x, w = np.asarray(x, float), np.asarray(w, float)
    if flip:
        w = w[::-1, ::-1]
    if pad:
        x = np.pad(x, p)
    F = w.shape[0]
    ho, wo = (x.shape[0] - F) // s + 1, (x.shape[1] - F) // s + 1
    out = np.zeros((ho, wo))
    for i in range(ho):
        for j in range(wo):
            out[i, j] = np.sum(w * x[i * s : i * s + F, j * s : j * s + F])
    return out


def test_conv2d_loops_passes_numpy_loops_and_scipy(capsys):
    checks.conv2d_loops(lambda x, w, s, p: _loops(x, w, s, p))
    checks.conv2d_loops(
        lambda x, w, s, p: signal.correlate2d(np.pad(np.asarray(x), p), np.asarray(w), "valid")[
            ::s, ::s
        ]
    )
    assert capsys.readouterr().out.count("✔ conv2d_loops") == 2


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (lambda x, w, s, p: _loops(x, w, s, p, flip=True), "flipped the filter"),
        (lambda x, w, s, p: _loops(x, w, s, p, pad=False), "wrong shape"),
        (lambda x, w, s, p: _loops(x, w, 1, p), "wrong shape"),  # stride ignored
    ],
)
def test_conv2d_loops_fails_common_mistakes(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.conv2d_loops(wrong)


# ------------------------------------------------------------------------------ conv_backward


def _backward(x, w, g, *, flip=True, flip_dw=False):
    x, w, g = (np.asarray(a, float) for a in (x, w, g))
    F = w.shape[0]
    u = w[::-1, ::-1] if flip else w
    dx = signal.correlate2d(np.pad(g, F - 1), u, "valid")
    dw = signal.correlate2d(x, g, "valid")
    return dx, (dw[::-1, ::-1] if flip_dw else dw)


def _backward_by_definition(x, w, g):
    """dx and dw by the chain rule, one output cell at a time (Aggarwal §8.3.1)."""
    x, w, g = (np.asarray(a, float) for a in (x, w, g))
    F = w.shape[0]
    dx, dw = np.zeros_like(x), np.zeros_like(w)
    for i in range(g.shape[0]):
        for j in range(g.shape[1]):
            dx[i : i + F, j : j + F] += g[i, j] * w
            dw += g[i, j] * x[i : i + F, j : j + F]
    return dx, dw


def test_conv_backward_passes_two_independent_right_answers(capsys):
    checks.conv_backward(_backward)
    checks.conv_backward(_backward_by_definition)
    assert capsys.readouterr().out.count("✔ conv_backward") == 2


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (lambda x, w, g: _backward(x, w, g, flip=False), "rotate the filter"),
        (lambda x, w, g: _backward(x, w, g, flip_dw=True), "rotated by 180"),
        (
            lambda x, w, g: (
                signal.correlate2d(np.asarray(g), np.asarray(w)[::-1, ::-1], "same"),
                0,
            ),
            "wrong shape",
        ),
    ],
)
def test_conv_backward_fails_common_mistakes(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.conv_backward(wrong)


# ------------------------------------------------------------------------------ maxpool_backward


def _pool_back(x, g, *, mode="argmax"):
    x, g = np.asarray(x, float), np.asarray(g, float)
    dx = np.zeros_like(x)
    for i in range(g.shape[0]):
        for j in range(g.shape[1]):
            win = x[2 * i : 2 * i + 2, 2 * j : 2 * j + 2]
            if mode == "argmax":
                r, c = np.unravel_index(np.argmax(win), win.shape)
                dx[2 * i + r, 2 * j + c] = g[i, j]
            elif mode == "all":
                dx[2 * i : 2 * i + 2, 2 * j : 2 * j + 2] = g[i, j]
            elif mode == "average":
                dx[2 * i : 2 * i + 2, 2 * j : 2 * j + 2] = g[i, j] / 4
            elif mode == "argmin":
                r, c = np.unravel_index(np.argmin(win), win.shape)
                dx[2 * i + r, 2 * j + c] = g[i, j]
            elif mode == "split":  # ties share g equally, as jax.grad of max does
                hit = win == win.max()
                dx[2 * i : 2 * i + 2, 2 * j : 2 * j + 2] = g[i, j] * hit / hit.sum()
            elif mode == "last":  # the last tied entry (row-major), another valid subgradient
                flat = np.flatnonzero(win.ravel() == win.max())[-1]
                r, c = np.unravel_index(flat, win.shape)
                dx[2 * i + r, 2 * j + c] = g[i, j]
            elif mode == "every_tie":  # g copied to every tied entry: m·g per window
                dx[2 * i : 2 * i + 2, 2 * j : 2 * j + 2] = g[i, j] * (win == win.max())
            elif mode == "strict":  # only a strictly largest entry gets g: nothing at a tie
                hit = win == win.max()
                if hit.sum() == 1:
                    dx[2 * i : 2 * i + 2, 2 * j : 2 * j + 2] = g[i, j] * hit
            elif mode == "spread":  # at a tie, g/4 to every entry of the window, tied or not
                hit = win == win.max()
                if hit.sum() > 1:
                    dx[2 * i : 2 * i + 2, 2 * j : 2 * j + 2] = g[i, j] / 4
                else:
                    dx[2 * i : 2 * i + 2, 2 * j : 2 * j + 2] = g[i, j] * hit
    return dx


def test_maxpool_backward_passes_a_loop(capsys):
    checks.maxpool_backward(_pool_back)
    assert "✔ maxpool_backward" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("mode", "message"),
    [("all", "all four entries"), ("average", "average"), ("argmin", "arg-max")],
)
def test_maxpool_backward_fails_common_mistakes(mode, message):
    with pytest.raises(CheckFailed, match=message):
        checks.maxpool_backward(lambda x, g: _pool_back(x, g, mode=mode))


@pytest.mark.parametrize("mode", ["split", "last"])
def test_maxpool_backward_accepts_any_split_at_ties(mode, capsys):
    # np.argmax (the solution; reduce_window's gradient) gives a tie to the first entry, jax.grad
    # of max splits it equally: both, and any other split that adds up to g, are subgradients
    checks.maxpool_backward(lambda x, g: _pool_back(x, g, mode=mode))
    assert "✔ maxpool_backward" in capsys.readouterr().out


def test_maxpool_backward_equal_split_is_the_library_and_jax_grad():
    x = np.full((4, 4), 2.0)
    x[0, 1] = 5.0  # one untied window, three four-way ties
    g = np.array([[1.0, 2.0], [3.0, 4.0]])
    _, vjp = jax.vjp(lambda v: cnn.max_pool(v[None, :, :, None], 2)[0, :, :, 0], jnp.asarray(x))
    np.testing.assert_allclose(_pool_back(x, g, mode="split"), vjp(jnp.asarray(g))[0], atol=1e-6)


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("every_tie", "every tied entry"),  # passes every untied case, fails at the ties
        ("strict", "no entry received"),
        ("spread", "other entries get 0"),
    ],
)
def test_maxpool_backward_rejects_wrong_answers_at_ties(mode, message):
    x = np.arange(16.0).reshape(4, 4)  # no ties: these wrong answers are right here
    g = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_allclose(_pool_back(x, g, mode=mode), _pool_back(x, g))
    with pytest.raises(CheckFailed, match=message) as err:
        checks.maxpool_backward(lambda x, g: _pool_back(x, g, mode=mode))
    assert "tie" in err.value.case  # a case with ties caught it


# ------------------------------------------------------------------------------ convolution_matrix


def _matrix(n, w, *, flip=False, transpose=False):
    w = np.asarray(w, float)
    if flip:
        w = w[::-1, ::-1]
    F = w.shape[0]
    m = n - F + 1
    C = np.zeros((m * m, n * n))
    for i in range(m):
        for j in range(m):
            for r in range(F):
                for c in range(F):
                    C[i * m + j, (i + r) * n + (j + c)] = w[r, c]
    return C.T if transpose else C


def test_convolution_matrix_reproduces_fig_8_8_and_passes(capsys):
    a, b, c, d = 1.0, 2.0, 3.0, 4.0  # the symbolic rows of Fig 8.8 (course map)
    expected = np.array(
        [
            [a, b, 0, c, d, 0, 0, 0, 0],
            [0, a, b, 0, c, d, 0, 0, 0],
            [0, 0, 0, a, b, 0, c, d, 0],
            [0, 0, 0, 0, a, b, 0, c, d],
        ]
    )
    np.testing.assert_array_equal(_matrix(3, [[a, b], [c, d]]), expected)
    checks.convolution_matrix(_matrix)
    assert "✔ convolution_matrix" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (lambda n, w: _matrix(n, w, flip=True), "flipped filter"),
        (lambda n, w: _matrix(n, w, transpose=True), "wrong shape"),
        (lambda n, w: _matrix(n, w)[:, ::-1], "wrong value"),
    ],
)
def test_convolution_matrix_fails_common_mistakes(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.convolution_matrix(wrong)
