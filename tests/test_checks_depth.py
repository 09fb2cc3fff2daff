"""course_lib.checks.depth: each check passes a right answer and fails plausible mistakes.

The right answers are written here twice: with the library (course_lib.depth) and
independently (loops, functools.reduce, jax.nn), never copied from the solutions notebook.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import checks, depth
from course_lib.checks import CheckFailed


def _stub(*args):
    raise NotImplementedError("Exercise: replace this with your code")


ALL = [
    checks.param_count,
    checks.collapse,
    checks.tent,
    checks.compose_tent,
    checks.staircase,
    checks.count_pieces,
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


# ---- parameter count


def test_param_count(capsys):
    def loop(widths):
        total = 0
        for r in range(1, len(widths)):
            total += (widths[r - 1] + 1) * widths[r]
        return total

    _passes(checks.param_count, depth.param_count, capsys)
    _passes(checks.param_count, loop, capsys)
    _fails(checks.param_count, lambda w: depth.param_count(w, biases=False), "biases")
    _fails(checks.param_count, lambda w: depth.param_count(w) + w[0], "input layer")
    _fails(checks.param_count, lambda w: loop(w[:-1]) if len(w) > 2 else loop(w), "range")


# ---- Theorem 1.5.1


def test_collapse(capsys):
    _passes(checks.collapse, depth.collapse, capsys)
    _passes(checks.collapse, lambda Ws: functools.reduce(jnp.matmul, Ws), capsys)
    _fails(checks.collapse, lambda Ws: functools.reduce(jnp.matmul, Ws[::-1]), "order")
    _fails(checks.collapse, lambda Ws: functools.reduce(jnp.matmul, Ws).T, "transpose")


# ---- tent map


def _tent(x):
    return 2 * jax.nn.relu(x) - 4 * jax.nn.relu(x - 0.5)


def _compose(x, r, tent=_tent):
    for _ in range(r):
        x = tent(x)
    return x


def test_tent(capsys):
    _passes(checks.tent, depth.tent, capsys)
    _passes(checks.tent, lambda x: jnp.where(x < 0.5, 2 * x, 2 - 2 * x) * (x > 0), capsys)
    _fails(checks.tent, lambda x: jax.nn.relu(x) - 2 * jax.nn.relu(x - 0.5), "peak")
    _fails(checks.tent, lambda x: 2 * jax.nn.relu(x) - 2 * jax.nn.relu(x - 0.5), "-2")


def test_compose_tent(capsys):
    _passes(checks.compose_tent, depth.compose_tent, capsys)
    _passes(checks.compose_tent, _compose, capsys)
    _fails(checks.compose_tent, lambda x, r: _compose(x, max(r - 1, 0)), "r - 1")
    _fails(checks.compose_tent, lambda x, r: _compose(x, r + 1), "r + 1")
    _fails(checks.compose_tent, lambda x, r: _compose(x, r, depth.tent) / 2, "tent(h)")


# ---- staircase


def _stairs(x, c, h, s, b, sign=1.0, base=True):
    return (b if base else 0.0) + jax.nn.sigmoid(sign * s * (x[:, None] - c[None, :])) @ h


def test_staircase(capsys):
    _passes(checks.staircase, depth.staircase, capsys)
    _passes(checks.staircase, _stairs, capsys)
    _fails(checks.staircase, lambda *a: _stairs(*a, base=False), "baseline")
    _fails(checks.staircase, lambda *a: _stairs(*a, sign=-1.0), "sign")


# ---- counting pieces


def _second_differences(xs, ys, tol=1e-3, plus=1):
    h = xs[1] - xs[0]
    d2 = np.abs(ys[2:] - 2 * ys[1:-1] + ys[:-2]) / h
    return plus + int(np.sum(d2 > tol))


def test_count_pieces(capsys):
    _passes(checks.count_pieces, depth.count_pieces, capsys)
    _passes(checks.count_pieces, _second_differences, capsys)
    # float32 arithmetic (jnp without x64) must pass too: its rounding stays below 1e-3
    with jax.enable_x64(False):
        _passes(checks.count_pieces, lambda x, y: _second_differences(
            np.asarray(jnp.asarray(x)), np.asarray(jnp.asarray(y))), capsys)  # fmt: skip
    _fails(checks.count_pieces, lambda x, y: _second_differences(x, y, plus=0), "kinks")
    _fails(checks.count_pieces, lambda x, y: _second_differences(x, y, tol=0.0), "rounding")
