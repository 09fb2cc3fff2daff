"""course_lib.checks.tuning_compression: each check fails on the stub, passes a reference answer
and an independently written one, and rejects plausible mistakes with a helpful hint."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import checks, compression, mlp
from course_lib.checks import CheckFailed


def _stub(*args):
    raise NotImplementedError("Exercise: replace this with your code")


ALL = [
    checks.recurrence_jacobian,
    checks.sigmoid_vjp,
    checks.preactivation_backprop,
    checks.magnitude_prune,
    checks.quantize_uniform,
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


# ---- Exercise 3.1


def _rec(f, g, x, y, *, second_path=True, outer_at_t1=True, g_by_x=True):
    fx, fy, gx, gy = (jax.grad(f, 0), jax.grad(f, 1), jax.grad(g, 0), jax.grad(g, 1))
    x1, y1 = (f(x, y), g(x, y)) if outer_at_t1 else (x, y)
    out = fx(x1, y1) * fx(x, y)
    if second_path:
        out = out + fy(x1, y1) * (gx(x, y) if g_by_x else gy(x, y))
    return out


def _rec_by_jacobian(f, g, x, y):
    def step(z):
        return jnp.stack([f(z[0], z[1]), g(z[0], z[1])])

    z = jnp.stack([x, y])
    return (jax.jacobian(step)(step(z)) @ jax.jacobian(step)(z))[0, 0]


def test_recurrence_jacobian(capsys):
    _passes(checks.recurrence_jacobian, _rec, capsys)
    _passes(checks.recurrence_jacobian, _rec_by_jacobian, capsys)
    _fails(checks.recurrence_jacobian, lambda *a: _rec(*a, second_path=False), "two paths")
    _fails(checks.recurrence_jacobian, lambda *a: _rec(*a, outer_at_t1=False), "x_{t+1}")
    _fails(checks.recurrence_jacobian, lambda *a: _rec(*a, g_by_x=False), "dg/dx")


# ---- Exercise 3.5


def test_sigmoid_vjp(capsys):
    def ref(v, g):
        s = jax.nn.sigmoid(v)
        return g * s * (1 - s)

    def via_vjp(v, g):
        return jax.vjp(jax.nn.sigmoid, v)[1](g)[0]

    _passes(checks.sigmoid_vjp, ref, capsys)
    _passes(checks.sigmoid_vjp, via_vjp, capsys)
    _fails(checks.sigmoid_vjp, lambda v, g: g * jax.nn.sigmoid(v), "1 - sigma")
    _fails(checks.sigmoid_vjp, lambda v, g: jax.nn.sigmoid(v) * (1 - jax.nn.sigmoid(v)), "incoming")
    _fails(checks.sigmoid_vjp, lambda v, g: ref(v, g.sum(axis=-1, keepdims=True)), "diagonal")


# ---- Exercise 3.9


def _pre(params, X, y, *, deriv="h", mean=True):
    hs, pre = [X], []
    for k, layer in enumerate(params):
        a = hs[-1] @ layer.W + layer.b[None, :]
        pre.append(a)
        if k < len(params) - 1:
            hs.append(jnp.tanh(a))
    delta = jax.nn.softmax(pre[-1]) - jax.nn.one_hot(y, pre[-1].shape[1])
    if mean:
        delta = delta / X.shape[0]
    out = []
    for k in range(len(params) - 1, -1, -1):
        out.append((hs[k].T @ delta, delta.sum(axis=0)))
        if k > 0:
            d = {"h": 1 - hs[k] ** 2, "none": 1.0, "a": 1 - pre[k - 1] ** 2}[deriv]
            delta = d * (delta @ params[k].W.T)
    return tuple(reversed(out))


def test_the_reference_equals_jax_grad():
    from course_lib.checks.tuning_compression import _net, _post_activation

    params, X, y = _net(5, (4, 6, 5, 3), 7)
    with jax.enable_x64(True):
        p64 = tuple(mlp.Dense(jnp.asarray(layer.W), jnp.asarray(layer.b)) for layer in params)
        auto = jax.grad(mlp.loss)(p64, jnp.asarray(X), jnp.asarray(y), "tanh")
    for (dW, db), a in zip(_post_activation(params, X, y), auto, strict=True):
        np.testing.assert_allclose(dW, a.W, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(db, a.b, rtol=1e-10, atol=1e-12)


def test_preactivation_backprop(capsys):
    def by_library(params, X, y):
        return tuple((g.W, g.b) for g in mlp.backprop_post(params, X, y, "tanh"))

    _passes(checks.preactivation_backprop, _pre, capsys)
    _passes(checks.preactivation_backprop, by_library, capsys)
    _fails(checks.preactivation_backprop, lambda *a: _pre(*a, deriv="none"), "derivative")
    _fails(checks.preactivation_backprop, lambda *a: _pre(*a, deriv="a"), "1 - h^2")
    _fails(checks.preactivation_backprop, lambda *a: _pre(*a, mean=False), "divide")


# ---- pruning


def test_magnitude_prune(capsys):
    def by_numpy(W, fraction):
        W = np.asarray(W)
        k = int(fraction * W.size + 1e-9)
        threshold = np.sort(np.abs(W).ravel())[k - 1] if k else -1.0
        return np.where(np.abs(W) > threshold, W, 0.0)

    _passes(checks.magnitude_prune, compression.prune, capsys)
    _passes(checks.magnitude_prune, by_numpy, capsys)
    _fails(checks.magnitude_prune, lambda W, f: W - compression.prune(W, 1 - f), "largest")
    _fails(checks.magnitude_prune, lambda W, f: jnp.where(W > jnp.quantile(W, f), W, 0.0),
           "magnitude")  # fmt: skip
    _fails(checks.magnitude_prune, lambda W, f: compression.prune(W, min(1.0, f + 0.1)), "exactly")


# ---- quantization


def test_quantize_uniform(capsys):
    def by_codes(W, bits):
        W = np.asarray(W, np.float64)
        levels = 2 ** (bits - 1) - 1
        s = np.abs(W).max() / levels
        q = np.clip(np.floor(W / s + 0.5), -levels, levels)
        return q * s

    def asymmetric(W, bits):
        s = 2 * jnp.abs(W).max() / (2**bits - 1)
        return s * jnp.round(W / s)

    def truncated(W, bits):
        s = jnp.abs(W).max() / (2 ** (bits - 1) - 1)
        return s * jnp.trunc(W / s)

    def codes(W, bits):
        return jnp.round(W / (jnp.abs(W).max() / (2 ** (bits - 1) - 1)))

    _passes(checks.quantize_uniform, compression.quantize, capsys)
    _passes(checks.quantize_uniform, by_codes, capsys)
    _fails(checks.quantize_uniform, asymmetric, "2^(b-1) - 1")
    _fails(checks.quantize_uniform, truncated, "truncate")
    _fails(checks.quantize_uniform, codes, "integer codes")
