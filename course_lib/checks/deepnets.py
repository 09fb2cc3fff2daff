r"""Self-checks for the exercises on training deep networks (Aggarwal §3.3, §3.4, §3.6).

Every check runs the student's function on a few fixed cases and compares with an independent
reference: a formula written out here (Xavier, batch-norm forward, dead units), ``jax.grad`` /
``jax.vjp`` (the sigmoid chain, the batch-norm backward), or the library's hand-written
backpropagation :func:`course_lib.mlp.backprop_pre` (gradient norms per layer). Common slips
(variance instead of standard deviation, the unbiased variance, forgetting the paths through
$\mu$ and $\sigma^2$, ...) are recognized and answered with a targeted hint.
"""

from __future__ import annotations

import functools
import math
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
    _unpack,
)

_close = _close_within(rtol=1e-4, atol=1e-6)


# ------------------------------------------------------------------------------ Xavier

_EX_XAVIER = Exercise("xavier_std", "")


def xavier_std(fn: Callable) -> None:
    r"""Check ``fn(fan_in, fan_out)`` $= \sqrt{2/(r_{in} + r_{out})}$ (a float)."""
    ex = _EX_XAVIER
    cases = [(64, 64), (784, 256), (100, 10), (3, 1), (1, 1000)]
    for fan_in, fan_out in cases:
        words = f"fan_in = {fan_in}, fan_out = {fan_out}"
        got = _scalar(ex, words, "the standard deviation", _call(ex, fn, (fan_in, fan_out), words))
        expected = math.sqrt(2.0 / (fan_in + fan_out))
        if math.isclose(got, expected, rel_tol=1e-6):
            continue
        if math.isclose(got, expected**2, rel_tol=1e-6):
            hint = "you returned the variance sigma^2; the function should return sigma."
        elif math.isclose(got, math.sqrt(1.0 / fan_in), rel_tol=1e-6):
            hint = (
                "1/fan_in keeps only the forward pass constant; the backward pass asks for "
                "1/fan_out. Xavier's variance is the compromise between the two."
            )
        else:
            hint = "the variance is 2 / (fan_in + fan_out); take its square root."
        _compare(ex, words, "sigma", np.float64(got), expected, rtol=1e-6, atol=0.0, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ sigmoid chain

_EX_CHAIN = Exercise("sigmoid_chain_grad", "")


def _chain_outputs(weights: jax.Array, x0: jax.Array) -> jax.Array:
    """h_1..h_m of the chain h_t = sigmoid(w_t h_{t-1}), h_0 = x0 (the reference forward)."""
    outs, h = [], x0
    for t in range(weights.shape[0]):
        h = jax.nn.sigmoid(weights[t] * h)
        outs.append(h)
    return jnp.stack(outs)


# Jitted references: one compilation per input shape instead of one per operation.
_chain_jacobian = jax.jit(jax.jacobian(_chain_outputs, argnums=1))


def sigmoid_chain_grad(fn: Callable) -> None:
    r"""Check ``fn(weights, x0)``: $\partial h_t/\partial x_0$ for $t = 1..m$, shape ``(m,)``.

    The reference is ``jax.jacobian`` of the chain's forward pass; the result must also respect
    the bound $|\partial h_t/\partial x_0| \le 0.25^t\prod_{s\le t}|w_s|$.
    """
    ex = _EX_CHAIN
    cases = [
        ("one layer, w = 2, x0 = 0", [2.0], 0.0),
        ("three layers", [1.0, -2.0, 0.5], 0.5),
        (
            "ten layers, N(0, 1)-sized weights",
            [0.3, -1.2, 0.8, 1.5, -0.4, 2.0, -0.9, 1.1, 0.6, -1.7],
            -1.0,
        ),
        ("five large weights", [4.0, 3.0, -5.0, 2.5, 3.5], 0.2),
    ]
    for words, w, x0 in cases:
        weights, x = _f(w), _f(x0)
        inputs = [f"weights = {np.asarray(w)}", f"x0 = {x0}"]
        got = _array(
            ex,
            words,
            "the derivatives",
            _call(ex, fn, (weights, x), words, inputs),
            (len(w),),
            hint="return one derivative per layer: shape (m,).",
        )
        expected = np.asarray(_chain_jacobian(weights, x))
        if not _close(got, expected, rtol=1e-4, atol=1e-12):
            hint = "multiply, layer after layer, w_t times sigmoid'(a_t) with a_t = w_t h_(t-1)."
            h = np.asarray(_chain_outputs(weights, x))
            s_of_h = 1 / (1 + np.exp(-h))
            if _close(got, np.cumprod(h * (1 - h)), rtol=1e-4, atol=1e-12):
                hint = "each factor needs the weight w_t too (the chain rule through a_t = w_t h)."
            elif _close(got, np.cumprod(np.asarray(w) * s_of_h * (1 - s_of_h)), 1e-4, 1e-12):
                hint = (
                    "sigmoid'(a) = sigmoid(a)(1 - sigmoid(a)) where sigmoid(a) is the layer's "
                    "output h_t: use h_t (1 - h_t), not sigmoid(h_t)(1 - sigmoid(h_t))."
                )
            _compare(
                ex,
                words,
                "dh_t/dx0",
                got,
                expected,
                rtol=1e-4,
                atol=1e-12,
                hint=hint,
                details=inputs,
            )
        bound = 0.25 ** np.arange(1, len(w) + 1) * np.cumprod(np.abs(np.asarray(w)))
        if np.any(np.abs(got) > bound * (1 + 1e-5)):
            raise CheckFailed(ex, "a derivative exceeds the bound 0.25^t prod |w_s|", case=words)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ batch norm

_EX_BN_FWD = Exercise("batchnorm_forward", "")
_EX_BN_BWD = Exercise("batchnorm_backward", "")

_BN_CASES = [
    # (words, x rows, gamma, beta, eps)
    (
        "4 examples, 3 units, gamma = 1, beta = 0",
        [[1.0, 2.0, -1.0], [3.0, 0.0, -1.5], [2.0, 4.0, 0.5], [0.0, 2.0, 2.0]],
        [1.0, 1.0, 1.0],
        [0.0, 0.0, 0.0],
        1e-5,
    ),
    (
        "5 examples, 2 units, gamma and beta not trivial",
        [[10.0, 0.1], [12.0, 0.3], [9.0, -0.2], [11.0, 0.0], [13.0, 0.4]],
        [2.0, 0.5],
        [1.0, -3.0],
        1e-5,
    ),
    (
        "3 examples, 2 units, a large eps = 1",
        [[1.0, -2.0], [2.0, 0.0], [4.0, 5.0]],
        [1.5, -1.0],
        [0.5, 0.0],
        1.0,
    ),
]


def _bn_reference(x, gamma, beta, eps):
    mu = x.mean(axis=0)
    var = ((x - mu[None, :]) ** 2).mean(axis=0)
    return gamma[None, :] * (x - mu[None, :]) / jnp.sqrt(var + eps)[None, :] + beta[None, :]


def batchnorm_forward(fn: Callable) -> None:
    r"""Check ``fn(x, gamma, beta, eps)`` $= \gamma\,(x - \mu)/\sqrt{\sigma^2 + \epsilon} + \beta$
    with the batch mean and (biased, $1/m$) variance of each column of ``x: (m, d)``."""
    ex = _EX_BN_FWD
    for words, x_, g_, b_, eps in _BN_CASES:
        x, gamma, beta = _f(x_), _f(g_), _f(b_)
        inputs = [f"x has shape {x.shape}", f"gamma = {g_}", f"beta = {b_}", f"eps = {eps:g}"]
        got = _array(
            ex,
            words,
            "y",
            _call(ex, fn, (x, gamma, beta, eps), words, inputs),
            x.shape,
            hint="y has the shape of x: one normalized value per example and unit.",
        )
        expected = np.asarray(_bn_reference(np.asarray(x_), np.asarray(g_), np.asarray(b_), eps))
        if _close(got, expected, rtol=1e-4, atol=1e-5):
            continue
        xn = np.asarray(x_)
        mu = xn.mean(axis=0)
        hint = "normalize each column (unit) over the rows (examples): axis=0."
        if _close(
            got,
            np.asarray(g_) * (xn - mu) / np.sqrt(xn.var(axis=0, ddof=1) + eps) + np.asarray(b_),
            1e-4,
            1e-5,
        ):
            hint = "batch norm uses the biased variance (divide by m, not m - 1)."
        elif _close(
            got, np.asarray(g_) * (xn - mu) / (xn.std(axis=0) + eps) + np.asarray(b_), 1e-4, 1e-5
        ):
            hint = "eps goes *inside* the square root: sqrt(var + eps)."
        _compare(ex, words, "y", got, expected, rtol=1e-4, atol=1e-5, hint=hint, details=inputs)
    _passed(ex, len(_BN_CASES))


def _nearer(got: np.ndarray, slip: np.ndarray, right: np.ndarray) -> bool:
    """Whether ``got`` is much closer to the ``slip`` than to the ``right`` answer."""
    got = np.asarray(got, dtype=np.float64)
    return bool(np.max(np.abs(got - slip)) < 0.1 * np.max(np.abs(got - right)))


@jax.jit
def _bn_vjp(x, gamma, beta, g, eps):
    _, vjp = jax.vjp(functools.partial(_bn_reference, eps=eps), x, gamma, beta)
    return vjp(g)


def batchnorm_backward(fn: Callable) -> None:
    r"""Check ``fn(x, gamma, eps, g) -> (g_x, g_gamma, g_beta)`` against ``jax.vjp``.

    ``g = dL/dy`` has the shape of ``x``; ``g_gamma`` and ``g_beta`` have shape ``(d,)``.
    """
    ex = _EX_BN_BWD
    rng = np.random.default_rng(3)
    for words, x_, g_, b_, eps in _BN_CASES:
        x, gamma, beta = _f(x_), _f(g_), _f(b_)
        g = _f(rng.standard_normal(np.shape(x_)).round(2))
        inputs = [f"x has shape {x.shape}", f"gamma = {g_}", f"eps = {eps:g}"]
        out = _call(ex, fn, (x, gamma, eps, g), words, inputs)
        g_x, g_gamma, g_beta = _unpack(ex, words, out, ("g_x", "g_gamma", "g_beta"))
        e_x, e_gamma, e_beta = (np.asarray(a) for a in _bn_vjp(x, gamma, beta, g, eps))
        # the same gradients with eps left out of sqrt(var + eps): a common slip
        no_eps = [np.asarray(a) for a in _bn_vjp(x, gamma, beta, g, 0.0)]
        eps_hint = (
            "eps is missing: the backward pass divides by s = sqrt(var + eps), like the "
            "forward pass, not by sqrt(var)."
        )
        d = x.shape[1]
        g_beta = _array(ex, words, "g_beta", g_beta, (d,), hint="one number per unit: shape (d,).")
        _compare(
            ex,
            words,
            "g_beta",
            g_beta,
            e_beta,
            rtol=1e-4,
            atol=1e-5,
            hint="beta is added to every example: sum dL/dy over the batch.",
        )
        g_gamma = _array(ex, words, "g_gamma", g_gamma, (d,), hint="shape (d,).")
        _compare(
            ex,
            words,
            "g_gamma",
            g_gamma,
            e_gamma,
            rtol=1e-4,
            atol=1e-5,
            hint=eps_hint
            if _nearer(g_gamma, no_eps[1], e_gamma)
            else "gamma multiplies x_hat: sum dL/dy * x_hat over the batch.",
            details=inputs,
        )
        g_x = _array(ex, words, "g_x", g_x, x.shape, hint="g_x has the shape of x.")
        if not _close(g_x, e_x, rtol=1e-4, atol=1e-5):
            xn = np.asarray(x_)
            s = np.sqrt(xn.var(axis=0) + eps)
            direct = np.asarray(g) * np.asarray(g_) / s
            hint = (
                "three paths lead from x to the loss: through x_hat directly, through the mean "
                "mu and through the variance sigma^2 (Eq 3.62-3.65)."
            )
            if _nearer(g_x, no_eps[0], e_x):
                hint = eps_hint
            elif _close(g_x, direct, 1e-4, 1e-5):
                hint = (
                    "you kept only the direct path gamma * g / sqrt(var + eps); mu and sigma^2 "
                    "depend on every example too (Eq 3.62-3.65)."
                )
            _compare(ex, words, "g_x", g_x, e_x, rtol=1e-4, atol=1e-5, hint=hint, details=inputs)
    _passed(ex, len(_BN_CASES))


# ------------------------------------------------------------------------------ dead units

_EX_DEAD = Exercise("dead_fraction", "")


def dead_fraction(fn: Callable) -> None:
    r"""Check ``fn(W, b, X)``: the fraction of ReLU units $j$ with $\max_i (XW + b)_{ij} \le 0$."""
    ex = _EX_DEAD
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.5, 0.25]])
    cases = [
        ("4 units, none dead", [[1.0, 0.5, -1.0, 2.0], [1.0, 0.5, 2.0, -1.0]], [0.0] * 4, 0.0),
        (
            "4 units, the last two have a large negative bias",
            [[1.0, 0.5, 1.0, 2.0], [1.0, 0.5, 2.0, 1.0]],
            [0.0, 0.0, -5.0, -4.0],
            0.5,
        ),
        (
            "3 units, all weights negative (inputs are >= 0)",
            [[-1.0, -0.5, -2.0], [-1.0, -0.5, -0.1]],
            [0.0, 0.0, 0.0],
            1.0,
        ),
        (
            "4 units, one is negative on most rows but fires once",
            [[1.0, -1.0, 2.0, -3.0], [-1.0, -1.0, 0.5, 1.0]],
            [-0.5, -0.25, 0.0, 0.0],
            0.25,
        ),
        (
            "4 units; the second's largest pre-activation is exactly 0 (relu(0) = 0, slope 0)",
            [[1.0, -1.0, 0.5, 2.0], [1.0, 0.0, 0.5, 1.0]],
            [0.0, 0.0, 0.0, 0.0],
            0.25,
        ),
    ]
    for words, W_, b_, expected in cases:
        W, b = _f(W_), _f(b_)
        inputs = [f"X = {X.tolist()}", f"W = {W_}", f"b = {b_}"]
        got = _scalar(ex, words, "the fraction", _call(ex, fn, (W, b, _f(X)), words, inputs))
        pre = X @ np.asarray(W_) + np.asarray(b_)[None, :]
        assert math.isclose(float(np.mean(pre.max(axis=0) <= 0)), expected)  # the cases are right
        if math.isclose(got, expected, abs_tol=1e-6):
            continue
        hint = "a unit is dead when its pre-activation is <= 0 on *every* row of X."
        if math.isclose(got, float(np.mean(pre <= 0)), abs_tol=1e-6):
            hint = (
                "you counted inactive (row, unit) pairs; count units (columns) that are "
                "inactive on all rows."
            )
        elif math.isclose(got, float(np.mean(pre.max(axis=0) < 0)), abs_tol=1e-6):
            hint = (
                "a unit whose pre-activation is at most exactly 0 is dead too: relu(0) = 0 and "
                "its slope there is 0, so no gradient reaches it. Use <= 0, not < 0."
            )
        _compare(
            ex, words, "the dead fraction", np.float64(got), expected, hint=hint, details=inputs
        )
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ gradient norms

_EX_NORMS = Exercise("layer_grad_norms", "")


_backprop = jax.jit(mlp.backprop_pre)


def layer_grad_norms(fn: Callable) -> None:
    r"""Check ``fn(params, X, y)``: $\|\partial L/\partial W_k\|_F$ for each layer, shape ``(L,)``.

    ``params`` is a tuple of :class:`course_lib.mlp.Dense` (sigmoid hidden layers) and $L$ the
    mean softmax cross-entropy; the reference is the library's hand-written backpropagation.
    """
    ex = _EX_NORMS
    cases = [
        ("a 4-5-3 network, 6 examples", (4, 5, 3), 6, 0),
        ("a 6-layer 3-8-8-8-8-8-2 sigmoid network, 10 examples", (3, 8, 8, 8, 8, 8, 2), 10, 1),
    ]
    for words, sizes, n, seed in cases:
        rng = np.random.default_rng(seed)  # NumPy draws: no compilation for the inputs
        params = tuple(
            mlp.Dense(_f(rng.normal(0.0, math.sqrt(2.0 / (a + b)), (a, b))), _f(np.zeros(b)))
            for a, b in zip(sizes[:-1], sizes[1:], strict=True)
        )
        X = _f(rng.standard_normal((n, sizes[0])))
        y = jnp.asarray(rng.integers(0, sizes[-1], n), dtype=jnp.int32)
        got = _array(
            ex,
            words,
            "the norms",
            _call(ex, fn, (params, X, y), words),
            (len(sizes) - 1,),
            hint="one norm per Dense layer: shape (L,).",
        )
        grads = _backprop(params, X, y)
        expected = np.array([float(jnp.linalg.norm(g.W)) for g in grads])
        if _close(got, expected, rtol=1e-4, atol=1e-9):
            continue
        hint = (
            "differentiate mlp.loss with jax.grad and take jnp.linalg.norm of each layer's W "
            "gradient (the square root of the sum of squares)."
        )
        if _close(got, expected * n, rtol=1e-4, atol=1e-9):
            hint = "the loss is the *mean* cross-entropy over the examples, not the sum."
        elif _close(got, expected**2, rtol=1e-4, atol=1e-12):
            hint = "the Frobenius norm is the square root of the sum of squares."
        _compare(ex, words, "the norms", got, expected, rtol=1e-4, atol=1e-9, hint=hint)
    _passed(ex, len(cases))
