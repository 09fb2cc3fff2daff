"""course_lib.checks.inside_cnns: each check passes a right answer and fails plausible mistakes.

The right answers are written here independently of the solutions notebook (the library's
lrn, custom-vjp ReLU and gradient ascent where the notebook writes loops and masks, and vice
versa).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import checks
from course_lib import cnn_visualization as cv
from course_lib.checks import CheckFailed


def _stub(*args):
    raise NotImplementedError("Exercise: replace this with your code")


ALL = [
    checks.lrn_loops,
    checks.guided_relu_backward,
    checks.backward_by_rule,
    checks.ascent_step,
    checks.greedy_caption,
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


# ---- LRN


def _lrn_loops(a, k, alpha, beta, n):
    a = np.asarray(a, float)
    out = []
    for i in range(a.size):
        lo, hi = max(0, i - n // 2), min(a.size - 1, i + n // 2)
        out.append(a[i] / (k + alpha * np.sum(a[lo : hi + 1] ** 2)) ** beta)
    return np.array(out)


def test_lrn_loops(capsys):
    with jax.enable_x64(True):
        _passes(
            checks.lrn_loops, lambda a, k, al, b, n: cv.lrn(jnp.asarray(a), k, al, b, n), capsys
        )
    _passes(checks.lrn_loops, _lrn_loops, capsys)
    _fails(checks.lrn_loops, lambda a, k, al, b, n: cv.lrn_as_printed(a, k, al, b, n), "typo")
    _fails(checks.lrn_loops, lambda a, k, al, b, n: cv.lrn(a, k, al / n, b, n), "PyTorch")
    _fails(checks.lrn_loops, lambda a, k, al, b, n: cv.lrn(a, k, al, b, 2 * n), "floor(n/2)")


# ---- guided ReLU


def test_guided_relu_backward(capsys):
    def via_vjp(z, g):
        return jax.vjp(cv.relu_guided, z)[1](g)[0]

    _passes(checks.guided_relu_backward, via_vjp, capsys)
    _passes(checks.guided_relu_backward, lambda z, g: g * (z > 0) * (g > 0), capsys)
    _fails(checks.guided_relu_backward, lambda z, g: g * (z > 0), "ordinary backprop")
    _fails(checks.guided_relu_backward, lambda z, g: jnp.maximum(g, 0.0), "deconvnet")
    _fails(checks.guided_relu_backward, lambda z, g: jax.nn.relu(z) * jax.nn.relu(g), "masks")


# ---- a tiny net by rule


def _by_rule(x, W1, W2, w, rule, first=True, swap=False):
    if swap:
        rule = {"deconvnet": "guided", "guided": "deconvnet"}.get(rule, rule)
    relu = cv.RELUS[rule]
    inner = relu if first else jax.nn.relu

    def score(x):
        return jnp.dot(w, relu(W2 @ inner(W1 @ x)))

    return jax.grad(score)(x)


def _by_rule_numpy(x, W1, W2, w, rule):
    g, zs = np.asarray(w), [np.asarray(W1 @ x)]
    zs.append(np.asarray(W2) @ np.maximum(zs[0], 0))
    for z, W in ((zs[1], W2), (zs[0], W1)):
        fwd, up = z > 0, g > 0
        g = g * {"gradient": fwd, "deconvnet": up, "guided": fwd & up}[rule]
        g = np.asarray(W).T @ g
    return g


def test_backward_by_rule(capsys):
    with jax.enable_x64(True):
        _passes(checks.backward_by_rule, _by_rule, capsys)
    _passes(checks.backward_by_rule, _by_rule_numpy, capsys)
    _fails(checks.backward_by_rule, lambda *a: _by_rule(*a, swap=True), "you computed the")
    _fails(checks.backward_by_rule, lambda *a: _by_rule(*a[:4], "gradient"), "you computed the")
    _fails(checks.backward_by_rule, lambda *a: _by_rule(*a, first=False), "both ReLUs")


# ---- one ascent step


def test_ascent_step(capsys):
    def via_library(x, grad_o, lr, lam):
        # a linear score o(x) = grad_o . x has exactly this gradient; one library step
        def score(v):
            return jnp.sum(grad_o * v)

        return cv.gradient_ascent(score, x, steps=1, lr=lr, lam=lam, low=0.0, high=1.0).x

    _passes(checks.ascent_step, via_library, capsys)
    _passes(
        checks.ascent_step,
        lambda x, g, lr, lam: np.clip(x * (1 - 2 * lr * lam) + lr * g, 0, 1),
        capsys,
    )
    _fails(checks.ascent_step, lambda x, g, lr, lam: np.clip(x + lr * (g - lam * x), 0, 1), "the 2")
    _fails(checks.ascent_step, lambda x, g, lr, lam: x + lr * (g - 2 * lam * x), "clip")
    _fails(
        checks.ascent_step,
        lambda x, g, lr, lam: np.clip(x - lr * (g - 2 * lam * x), 0, 1),
        "ascent",
    )


# ---- greedy caption


def _caption(F, W1, W2, feed=True, bias_first=False):
    F = jnp.asarray(F)
    ones = jnp.ones((F.shape[0], 1))
    first = jnp.argmax(jnp.concatenate([F, ones], 1) @ W1.T, axis=1)
    if bias_first:
        first = jnp.argmax(jnp.concatenate([ones, F], 1) @ W1.T, axis=1)
    onehot = jax.nn.one_hot(first, W1.shape[0]) * (1.0 if feed else 0.0)
    parts = [ones, F, onehot] if bias_first else [F, onehot, ones]
    second = jnp.argmax(jnp.concatenate(parts, 1) @ W2.T, axis=1)
    return jnp.stack([first, second], axis=1)


def test_greedy_caption(capsys):
    _passes(checks.greedy_caption, _caption, capsys)
    _fails(checks.greedy_caption, lambda F, a, b: _caption(F, a, b, feed=False), "feed the first")
    _fails(checks.greedy_caption, lambda F, a, b: _caption(F, a, b, bias_first=True), "comes last")
    _fails(checks.greedy_caption, lambda F, a, b: _caption(F, a, b)[:, ::-1], "argmax")
