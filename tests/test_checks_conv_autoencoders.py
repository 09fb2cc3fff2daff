"""course_lib.checks.conv_autoencoders: each check passes a right answer and fails plausible
mistakes.

The right answers are written here independently of the solutions notebook (the library's
transposed_conv / hybrid_recommender where the notebook writes loops, and NumPy loops where it
uses the library).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import checks, hybrid_recommender
from course_lib import transposed_conv as tc
from course_lib.checks import CheckFailed


def _stub(*args):
    raise NotImplementedError("Exercise: replace this with your code")


ALL = [
    checks.transposed_output_size,
    checks.conv_transpose_scatter,
    checks.overlap_count,
    checks.unpool_switches,
    checks.hybrid_predict,
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


# ---- output size


def test_transposed_output_size(capsys):
    _passes(checks.transposed_output_size, lambda m, f, s, p: tc.output_size(m, f, s, p), capsys)
    _passes(checks.transposed_output_size, lambda m, f, s, p: len(tc.overlap_count(m, f, s, p)),
            capsys)  # fmt: skip
    _fails(checks.transposed_output_size, lambda m, f, s, p: (m + 2 * p - f) // s + 1, "forward")
    _fails(checks.transposed_output_size, lambda m, f, s, p: (m - 1) * s + f, "2p")
    _fails(checks.transposed_output_size, lambda m, f, s, p: (m - 1) * s - p + f, "both sides")


# ---- scatter loop


def _lib_scatter(y, w, s, p):
    return tc.conv2d_transpose(y[None, :, :, None], w[:, :, None, None], stride=s,
                               padding=p)[0, :, :, 0]  # fmt: skip


def _loop(y, w, s, p, flip=False, transpose=False):
    y, w = np.asarray(y), np.asarray(w)
    w = w[::-1, ::-1] if flip else (w.T if transpose else w)
    m, f = y.shape[0], w.shape[0]
    n = (m - 1) * s - 2 * p + f
    out = np.zeros((n, n))
    for i in range(m):
        for j in range(m):
            for r in range(f):
                for c in range(f):
                    a, b = s * i + r - p, s * j + c - p
                    if 0 <= a < n and 0 <= b < n:
                        out[a, b] += y[i, j] * w[r, c]
    return out


def test_conv_transpose_scatter(capsys):
    _passes(checks.conv_transpose_scatter, _lib_scatter, capsys)
    _passes(checks.conv_transpose_scatter, _loop, capsys)
    _fails(checks.conv_transpose_scatter, lambda y, w, s, p: _loop(y, w, s, p, flip=True), "flip")
    _fails(checks.conv_transpose_scatter, lambda y, w, s, p: _loop(y, w, s, p, transpose=True),
           "swapped")  # fmt: skip
    _fails(checks.conv_transpose_scatter, lambda y, w, s, p: _loop(y, w, 1, p)[:1, :1], "crop")


# ---- overlap count


def _loop_overlap(m, f, s, last=True, taps=True, swap=False):
    if swap:
        f, s = s, f
    out = np.zeros((m - 1) * s + f, dtype=int)
    for i in range(m if last else m - 1):
        for r in range(f if taps else 1):
            out[s * i + r] += 1
    return out


def test_overlap_count(capsys):
    _passes(checks.overlap_count, lambda m, f, s: tc.overlap_count(m, f, s), capsys)
    _passes(checks.overlap_count, _loop_overlap, capsys)
    _passes(checks.overlap_count, lambda m, f, s: jnp.asarray(_loop_overlap(m, f, s), jnp.float32),
            capsys)  # fmt: skip
    _fails(checks.overlap_count, lambda m, f, s: _loop_overlap(m, f, s, taps=False), "F outputs")
    _fails(checks.overlap_count, lambda m, f, s: _loop_overlap(m, f, s, last=False), "last one")
    _fails(checks.overlap_count, lambda m, f, s: _loop_overlap(m, f, s, swap=True), "swapped")
    _fails(checks.overlap_count, lambda m, f, s: np.full((m - 1) * s + f, f / s), "borders")


# ---- unpooling


def _lib_unpool(y, x, k):
    _, sw = tc.max_pool_switches(x[None, :, :, None], k)
    return tc.unpool(y[None, :, :, None], sw, k)[0, :, :, 0]


def _loop_unpool(y, x, k, where="max"):
    y, x = np.asarray(y), np.asarray(x)
    out = np.zeros(x.shape)
    for i in range(y.shape[0]):
        for j in range(y.shape[1]):
            block = x[i * k : (i + 1) * k, j * k : (j + 1) * k]
            if where == "max":
                r, c = np.unravel_index(np.argmax(block), block.shape)
                out[i * k + r, j * k + c] = y[i, j]
            elif where == "corner":
                out[i * k, j * k] = y[i, j]
            else:
                out[i * k : (i + 1) * k, j * k : (j + 1) * k] = y[i, j]
    return out


def test_unpool_switches(capsys):
    _passes(checks.unpool_switches, _lib_unpool, capsys)
    _passes(checks.unpool_switches, _loop_unpool, capsys)
    _fails(checks.unpool_switches, lambda y, x, k: _loop_unpool(y, x, k, "all"), "nearest")
    _fails(checks.unpool_switches, lambda y, x, k: _loop_unpool(y, x, k, "corner"), "corner")
    _fails(checks.unpool_switches, lambda y, x, k: _loop_unpool(y, x, k, "all") / k**2, "evenly")


# ---- hybrid


def _lib_hybrid(U, A, b, mu, F):
    return hybrid_recommender.predict(hybrid_recommender.HybridParams(U, A, b, mu), F)


def _loop_hybrid(U, A, b, mu, F, bias=True, mean=True):
    U, A, b, F = map(np.asarray, (U, A, b, F))
    out = np.zeros((U.shape[0], F.shape[0]))
    for u in range(U.shape[0]):
        for i in range(F.shape[0]):
            out[u, i] = float(mu) * mean + b[u] * bias + U[u] @ (A.T @ F[i])
    return out


def test_hybrid_predict(capsys):
    _passes(checks.hybrid_predict, _lib_hybrid, capsys)
    _passes(checks.hybrid_predict, _loop_hybrid, capsys)
    _fails(checks.hybrid_predict, lambda *a: _loop_hybrid(*a, bias=False), "bias")
    _fails(checks.hybrid_predict, lambda *a: _loop_hybrid(*a, mean=False), "global mean")
    _fails(checks.hybrid_predict, lambda U, A, b, mu, F: mu + b[:, None] + U @ (F @ A[:, ::-1]).T
           if A.shape[1] > 1 else jnp.zeros((U.shape[0], F.shape[0])), "F @ A")  # fmt: skip
