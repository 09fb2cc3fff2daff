r"""Self-checks for the exercises of lecture 3e (Aggarwal Exercises 3.1, 3.5, 3.9; §3.7.3).

The references are independent of what the student writes: ``jax.jacobian`` of the two-step
recurrence in float64 (Exercise 3.1), the sigmoid's full $d\times d$ Jacobian in NumPy
(Exercise 3.5), the post-activation recursion in float64 NumPy (Exercise 3.9), and NumPy sorts and
rounding for pruning and quantization. Common slips are recognized and answered with a hint.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from course_lib import mlp
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

_close = _close_within(rtol=1e-4, atol=1e-6)

# ------------------------------------------------------------------------------ Ex 3.1

_EX_REC = Exercise("recurrence_jacobian", "3.1")

#: (words, f, g, x, y): the recurrence (x, y) -> (f(x, y), g(x, y)) at a start point
_RECURRENCES = (
    ("f = 0.5x + 2y, g = 3x - y (linear)", lambda x, y: 0.5 * x + 2.0 * y,
     lambda x, y: 3.0 * x - y, 0.3, -0.7),
    ("f = sin(x) y + x^2 / 2, g = cos(x y)", lambda x, y: jnp.sin(x) * y + 0.5 * x**2,
     lambda x, y: jnp.cos(x * y), 0.4, 1.3),
    ("f = tanh(0.9x - 1.2y), g = tanh(0.7x + 0.5y) (an RNN)",
     lambda x, y: jnp.tanh(0.9 * x - 1.2 * y), lambda x, y: jnp.tanh(0.7 * x + 0.5 * y),
     -0.6, 0.8),
)  # fmt: skip


def _partials(f, x, y):
    return float(jax.grad(f, 0)(x, y)), float(jax.grad(f, 1)(x, y))


def recurrence_jacobian(fn: Callable) -> None:
    r"""Check ``fn(f, g, x, y)`` $= \partial x_{t+2}/\partial x_t$ at $(x_t, y_t) = (x, y)$ for
    $(x_{t+1}, y_{t+1}) = (f(x_t, y_t), g(x_t, y_t))$, against ``jax.jacobian`` in float64."""
    ex = _EX_REC
    for words, f, g, x0, y0 in _RECURRENCES:
        case = f"{words}, (x_t, y_t) = ({x0}, {y0})"
        got = _scalar(ex, case, "dx_{t+2}/dx_t", _call(ex, fn, (f, g, _f(x0), _f(y0)), case))
        with jax.enable_x64(True):
            z = jnp.asarray([x0, y0], jnp.float64)

            def step(z, f=f, g=g):
                return jnp.stack([f(z[0], z[1]), g(z[0], z[1])])

            expected = float(jax.jit(jax.jacobian(lambda z: step(step(z))))(z)[0, 0])
        if _close(got, expected):
            continue
        with jax.enable_x64(True):  # the partial derivatives, to recognize the usual slips
            x, y = jnp.float64(x0), jnp.float64(y0)
            x1, y1 = f(x, y), g(x, y)
            fx0, fy0 = _partials(f, x, y)
            gx0, gy0 = _partials(g, x, y)
            fx1, fy1 = _partials(f, x1, y1)
        if _close(got, fx1 * fx0):
            hint = (
                "x_{t+2} depends on x_t along two paths: through x_{t+1} and through y_{t+1}. "
                "Add the second one, (df/dy at t+1) * (dg/dx at t)."
            )
        elif _close(got, fx0 * fx0 + fy0 * gx0):
            hint = "the outer derivatives of f belong at (x_{t+1}, y_{t+1}), not at (x_t, y_t)."
        elif _close(got, fx1 * fx0 + fy1 * gy0):
            hint = "y_{t+1} = g(x_t, y_t) changes with x_t at the rate dg/dx, not dg/dy."
        else:
            hint = (
                "chain rule: dx_{t+2}/dx_t = f_x(x_{t+1}, y_{t+1}) f_x(x_t, y_t) + "
                "f_y(x_{t+1}, y_{t+1}) g_x(x_t, y_t); get the partials with jax.grad(f, 0) "
                "and jax.grad(f, 1)."
            )
        _compare(ex, case, "dx_{t+2}/dx_t", np.float64(got), expected, rtol=1e-4, atol=1e-6,
                 hint=hint)  # fmt: skip
    _passed(ex, len(_RECURRENCES))


# ------------------------------------------------------------------------------ Ex 3.5

_EX_VJP = Exercise("sigmoid_vjp", "3.5")


def _sig(v: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-v))


def sigmoid_vjp(fn: Callable) -> None:
    r"""Check ``fn(v, g)`` $= g\,J$ for $h = \sigma(v)$, where $J = \mathrm{diag}(\sigma(v)(1 -
    \sigma(v)))$ is built in full here, for ``v``, ``g`` of shape ``(d,)``; and that ``fn`` is
    elementwise (it also works on a batch ``(n, d)``)."""
    ex = _EX_VJP
    rng = np.random.default_rng(35)
    cases = [("d = 5", (5,)), ("d = 12", (12,)), ("a batch (4, 7)", (4, 7))]
    for words, shape in cases:
        v, g = rng.normal(size=shape) * 2.0, rng.normal(size=shape)
        got = _array(ex, words, "g J", _call(ex, fn, (_f(v), _f(g)), words), shape,
                     hint="the result has the shape of g: one number per unit.")  # fmt: skip
        s = _sig(v)
        if len(shape) == 1:
            J = np.diag(s * (1 - s))  # the full d x d Jacobian of the sigmoid layer
            expected = g @ J
        else:
            expected = np.stack([gi @ np.diag(si * (1 - si)) for gi, si in zip(g, s, strict=True)])
        if _close(got, expected):
            continue
        if _close(got, g * s):
            hint = "the sigmoid's derivative is sigma(v) (1 - sigma(v)), not sigma(v)."
        elif _close(got, s * (1 - s)):
            hint = "multiply the local derivative by the incoming gradient g."
        elif _close(got, g.sum(axis=-1, keepdims=True) * s * (1 - s)):
            hint = (
                "unit i's output depends only on its own input v_i (the Jacobian is diagonal): "
                "use g_i, not the sum of all g."
            )
        else:
            hint = "g J with a diagonal J is the elementwise product g * sigma'(v)."
        _compare(ex, words, "g J", got, expected, rtol=1e-4, atol=1e-6, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ Ex 3.9

_EX_PRE = Exercise("preactivation_backprop", "3.9")


def _net(seed: int, sizes: tuple[int, ...], n: int):
    rng = np.random.default_rng(seed)
    params = tuple(
        mlp.Dense(rng.normal(size=(a, b)) / np.sqrt(a), rng.normal(size=b) * 0.1)
        for a, b in zip(sizes[:-1], sizes[1:], strict=True)
    )
    X = rng.normal(size=(n, sizes[0]))
    y = rng.integers(0, sizes[-1], n)
    return params, X, y


def _wrong_pre(params, X, y, *, deriv, scale):
    """The pre-activation recursion with a chosen mistake (for recognizing slips)."""
    hs, pre = [X], []
    for k, layer in enumerate(params):
        a = hs[-1] @ layer.W + layer.b
        pre.append(a)
        if k < len(params) - 1:
            hs.append(np.tanh(a))
    logits = pre[-1]
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    delta = (p - np.eye(logits.shape[1])[y]) / (X.shape[0] if scale else 1.0)
    grads = []
    for k in range(len(params) - 1, -1, -1):
        grads.append((hs[k].T @ delta, delta.sum(axis=0)))
        if k > 0:
            delta = deriv(pre[k - 1], hs[k]) * (delta @ params[k].W.T)
    return list(reversed(grads))


def _post_activation(params, X, y):
    """The reference: the *post-activation* recursion (Eq 3.12-3.13) in float64 NumPy, with
    Delta_k = dL/dh_k (tested against jax.grad in tests/test_checks_tuning_compression.py)."""
    hs, pre = [X], []
    for k, layer in enumerate(params):
        a = hs[-1] @ layer.W + layer.b
        pre.append(a)
        if k < len(params) - 1:
            hs.append(np.tanh(a))
    logits = pre[-1]
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    out_delta = (p - np.eye(logits.shape[1])[y]) / X.shape[0]
    L = len(params)
    grads = [(hs[L - 1].T @ out_delta, out_delta.sum(axis=0))]
    Delta = out_delta @ params[L - 1].W.T  # dL/dh_{L-1}
    for k in range(L - 2, -1, -1):
        local = Delta * (1.0 - np.tanh(pre[k]) ** 2)
        grads.append((hs[k].T @ local, local.sum(axis=0)))
        Delta = local @ params[k].W.T
    return list(reversed(grads))


def preactivation_backprop(fn: Callable) -> None:
    r"""Check ``fn(params, X, y)``: the gradients ``((dW_1, db_1), ..., (dW_L, db_L))`` of the
    mean softmax cross-entropy of a tanh MLP (``mlp.loss(..., "tanh")``), against the
    post-activation recursion written in float64 NumPy."""
    ex = _EX_PRE
    cases = [
        ("2 layers 4 -> 5 -> 3, 6 examples", 91, (4, 5, 3), 6),
        ("3 layers 3 -> 6 -> 4 -> 2, 5 examples", 92, (3, 6, 4, 2), 5),
        ("4 layers 5 -> 4 -> 4 -> 3 -> 4, 8 examples", 93, (5, 4, 4, 3, 4), 8),
    ]
    for words, seed, sizes, n in cases:
        params, X, y = _net(seed, sizes, n)
        args = (tuple(mlp.Dense(_f(layer.W), _f(layer.b)) for layer in params), _f(X),
                jnp.asarray(y, jnp.int32))  # fmt: skip
        # jitted: one compilation per case instead of one per operation
        out = _call(ex, jax.jit(fn), args, words)
        if not isinstance(out, (tuple, list)) or len(out) != len(params):
            raise CheckFailed(
                ex,
                f"expected {len(params)} (dW, db) pairs, one per layer",
                case=words,
                hint="return a tuple with one (dW, db) per layer.",
            )
        ref = _post_activation(params, X, y)
        no_deriv = _wrong_pre(params, X, y, deriv=lambda a, h: 1.0, scale=True)
        with_h = _wrong_pre(params, X, y, deriv=lambda a, h: 1 - a**2, scale=True)
        no_mean = _wrong_pre(params, X, y, deriv=lambda a, h: 1 - h**2, scale=False)
        for k, (pair, layer) in enumerate(zip(out, ref, strict=True)):  # layer = (dW, db)
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise CheckFailed(ex, f"layer {k + 1}: expected a pair (dW, db)", case=words,
                                  hint="return ((dW_1, db_1), (dW_2, db_2), ...).")  # fmt: skip
            for name, got_raw, exp, wrongs in (
                (f"dW_{k + 1}", pair[0], layer[0], 0),
                (f"db_{k + 1}", pair[1], layer[1], 1),
            ):
                got = _array(ex, words, name, got_raw, exp.shape)
                if _close(got, exp):
                    continue
                if _close(got, no_deriv[k][wrongs]):
                    hint = "multiply by the activation's derivative tanh'(a) = 1 - tanh(a)^2."
                elif _close(got, with_h[k][wrongs]):
                    hint = "tanh'(a) = 1 - tanh(a)^2 = 1 - h^2, not 1 - a^2."
                elif _close(got, no_mean[k][wrongs]):
                    hint = "the loss is a mean over the n examples: divide the output delta by n."
                else:
                    hint = (
                        "delta_L = (softmax(a_L) - onehot(y)) / n; delta_k = (1 - h_k^2) * "
                        "(delta_{k+1} W_{k+1}^T); dW_k = h_{k-1}^T delta_k, db_k = sum of delta_k."
                    )
                _compare(ex, words, name, got, exp, rtol=1e-4, atol=1e-6, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ pruning

_EX_PRUNE = Exercise("magnitude_prune", "")


def magnitude_prune(fn: Callable) -> None:
    r"""Check ``fn(W, fraction)``: ``W`` with its $\lfloor \text{fraction}\cdot N\rfloor$
    smallest-magnitude entries set to 0 (the check's weights have no ties)."""
    ex = _EX_PRUNE
    rng = np.random.default_rng(37)
    cases = [
        ("W (4, 5), fraction 0.5", (4, 5), 0.5),
        ("W (10,), fraction 0.3", (10,), 0.3),
        ("W (6, 8), fraction 0.9", (6, 8), 0.9),
        ("W (3, 3), fraction 0", (3, 3), 0.0),
    ]
    for words, shape, frac in cases:
        W = rng.normal(size=shape)
        got = _array(ex, words, "the pruned W", _call(ex, fn, (_f(W), frac), words), shape,
                     hint="pruning keeps the shape: it only sets entries to 0.")  # fmt: skip
        n_drop = int(frac * W.size + 1e-9)
        order = np.argsort(np.abs(W).ravel())
        expected = W.ravel().copy()
        expected[order[:n_drop]] = 0.0
        expected = expected.reshape(shape)
        if _close(got, expected):
            continue
        largest = W.ravel().copy()
        largest[order[W.size - n_drop :]] = 0.0
        by_value = W.ravel().copy()
        by_value[np.argsort(W.ravel())[:n_drop]] = 0.0
        if _close(got, largest.reshape(shape)):
            hint = "you removed the largest weights: keep those, zero the smallest |w|."
        elif _close(got, by_value.reshape(shape)):
            hint = "sort by magnitude |w|, not by value: -3 is a large weight."
        elif np.sum(got == 0) != n_drop:
            hint = f"exactly floor(fraction * N) = {n_drop} entries should become 0."
        else:
            hint = "zero the entries with the smallest |w| and leave the others unchanged."
        _compare(ex, words, "the pruned W", got, expected, rtol=1e-6, atol=1e-7, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ quantization

_EX_QUANT = Exercise("quantize_uniform", "")


def quantize_uniform(fn: Callable) -> None:
    r"""Check ``fn(W, bits)`` $= s\,\mathrm{round}(W/s)$, $s = \max|W| / (2^{b-1}-1)$."""
    ex = _EX_QUANT
    rng = np.random.default_rng(38)
    cases = [("W (5, 4), 8 bits", (5, 4), 8), ("W (20,), 4 bits", (20,), 4),
             ("W (6, 6), 2 bits", (6, 6), 2), ("W (3, 7), 3 bits", (3, 7), 3)]  # fmt: skip
    for words, shape, bits in cases:
        W = rng.normal(size=shape)
        got = _array(ex, words, "the quantized W", _call(ex, fn, (_f(W), bits), words), shape)
        top = np.abs(W).max()
        s = top / (2 ** (bits - 1) - 1)
        expected = s * np.round(W / s)
        if _close(got, expected, rtol=1e-4, atol=1e-5 * top):
            continue
        s_all = 2 * top / (2**bits - 1)
        if _close(got, s_all * np.round(W / s_all), rtol=1e-4, atol=1e-5 * top):
            hint = (
                "a symmetric code uses 2^(b-1) - 1 positive levels, the same negative ones and "
                "0 (one code is left unused); the step is max|W| / (2^(b-1) - 1)."
            )
        elif np.mean(np.isclose(got, s * np.trunc(W / s), rtol=1e-4, atol=1e-5 * top)) > 0.8:
            # (most entries, not all: float32 may put max|W| / s just below the top level)
            hint = "round to the nearest level (jnp.round), do not truncate towards 0."
        elif _close(got, np.round(W / s), rtol=1e-4, atol=1e-5):
            hint = "return the values s * q, not the integer codes q."
        else:
            hint = "s = max|W| / (2^(b-1) - 1), then s * round(W / s)."
        _compare(ex, words, "the quantized W", got, expected, rtol=1e-4, atol=1e-5 * top,
                 hint=hint)  # fmt: skip
    _passed(ex, len(cases))
