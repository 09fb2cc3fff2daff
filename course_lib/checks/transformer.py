r"""Self-checks for the transformer exercises (Aggarwal §10.2.2, Vaswani et al. 2017, §7.3.1).

Every check runs the student's function on a few fixed cases and compares with a reference
written out here in NumPy (loops over queries for attention, the formula entry by entry for the
positions, a per-row mean and variance for layer norm, column slices for the heads, a sum of
the weight shapes for the parameter count). Common slips are recognized and answered with a
targeted hint.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax.numpy as jnp
import numpy as np

from course_lib.checks import (
    CheckFailed,
    Exercise,
    _array,
    _call,
    _close_within,
    _compare,
    _f,
    _fmt,
    _passed,
    _scalar,
)

_close = _close_within(rtol=1e-4, atol=1e-5)


def _softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


# ------------------------------------------------------------------------------ attention

_EX_ATTN = Exercise("scaled_dot_product_attention", "")


def _attention_ref(Q, K, V, mask=None, *, scale=True, axis=-1, after=False):
    """Loops over leading axes and queries; the keyword arguments build the common slips."""
    Q, K, V = (np.asarray(a, np.float64) for a in (Q, K, V))
    S = Q @ np.swapaxes(K, -1, -2)
    if scale:
        S = S / math.sqrt(Q.shape[-1])
    if mask is not None and not after:
        S = np.where(mask, S, -1e30)
    A = _softmax(S, axis=axis)
    if mask is not None and after:
        A = A * mask
    return A @ V


def scaled_dot_product_attention(fn: Callable) -> None:
    r"""Check ``fn(Q, K, V, mask=None)`` $= \mathrm{softmax}(QK^\top/\sqrt{d_k})V$, masked
    entries (``mask`` False) getting weight 0."""
    ex = _EX_ATTN
    rng = np.random.default_rng(10)
    tril = lambda t: np.tril(np.ones((t, t), bool))  # noqa: E731
    # few distinct shapes: every new shape costs the student's function a compilation
    cases = [
        ("Q, K (4, 8), V (4, 3), no mask", (4, 4, 8, 3), None, ()),
        ("Q, K (4, 8), V (4, 3), the causal mask", (4, 4, 8, 3), tril(4), ()),
        ("Q (3, 8), K (4, 8), V (4, 3): fewer queries than keys", (3, 4, 8, 3), None, ()),
        ("Q, K (4, 32), V (4, 3), the causal mask", (4, 4, 32, 3), tril(4), ()),
        ("2 heads: Q, K (2, 4, 8), V (2, 4, 3), the causal mask", (4, 4, 8, 3), tril(4), (2,)),
    ]
    for words, (tq, tk, dk, dv), mask, lead in cases:
        Q = 1.5 * rng.normal(size=(*lead, tq, dk))
        K = 1.5 * rng.normal(size=(*lead, tk, dk))
        V = rng.normal(size=(*lead, tk, dv))
        args = (_f(Q), _f(K), _f(V)) if mask is None else (_f(Q), _f(K), _f(V), jnp.asarray(mask))
        got = _array(ex, words, "the output", _call(ex, fn, args, words), (*lead, tq, dv),
                     hint="the output has one row per query and V's number of columns: "
                     "(..., Tq, d_v).")  # fmt: skip
        expected = _attention_ref(Q, K, V, mask)
        if _close(got, expected):
            continue
        if _close(got, _attention_ref(Q, K, V, mask, scale=False)):
            hint = "divide the scores QK^T by sqrt(d_k), the square root of Q's last dimension."
        elif _close(got, _sdk(Q, K, V, mask)):
            hint = "divide by the square root of d_k, not by d_k itself."
        elif _close(got, _attention_ref(Q, K, V, mask, axis=-2)):
            hint = (
                "the softmax runs over the keys (the last axis of the scores), one row per query."
            )
        elif mask is not None and _close(got, _attention_ref(Q, K, V, mask, after=True)):
            hint = (
                "mask the scores *before* the softmax (jnp.where(mask, scores, -1e30)): zeroing "
                "weights afterwards leaves rows that no longer sum to 1."
            )
        elif mask is not None and _close(got, _attention_ref(Q, K, V, None)):
            hint = "the mask was ignored: positions where mask is False must get weight 0."
        else:
            hint = "scores = Q @ K^T / sqrt(d_k); weights = softmax over the last axis; then @ V."
        _compare(ex, words, "the output", got, expected, rtol=1e-4, atol=1e-5, hint=hint)
    _passed(ex, len(cases))


def _sdk(Q, K, V, mask):
    """Scaled by d_k instead of its square root."""
    Q = np.asarray(Q, np.float64)
    return _attention_ref(Q / math.sqrt(Q.shape[-1]), K, V, mask)


# ------------------------------------------------------------------------------ causal mask

_EX_MASK = Exercise("causal_mask", "")


def causal_mask(fn: Callable) -> None:
    r"""Check ``fn(T)``: the ``(T, T)`` boolean mask, True where key $s \le$ query $t$."""
    ex = _EX_MASK
    cases = [1, 2, 4, 7]
    for T in cases:
        words = f"T = {T}"
        raw = _call(ex, fn, (T,), words)
        got = _array(ex, words, "the mask", raw, (T, T),
                     hint="one row per query position t, one column per key s.")  # fmt: skip
        expected = np.tril(np.ones((T, T), bool))
        if np.asarray(raw).dtype != np.bool_:
            raise CheckFailed(
                ex,
                f"the mask should hold booleans (True: may attend), got dtype "
                f"{np.asarray(raw).dtype}",
                case=words,
                hint="build it with a comparison (of two index arrays, say) or jnp.tril of "
                "ones(bool).",
            )
        if np.array_equal(got, expected):
            continue
        if np.array_equal(got, np.tril(np.ones((T, T)), -1)):
            hint = "a position may attend to itself: keep the diagonal (s <= t, not s < t)."
        elif np.array_equal(got, expected.T):
            hint = "rows are queries t, columns keys s: True below the diagonal, where s <= t."
        elif np.array_equal(got, ~expected):
            hint = "True means 'may attend': the visible keys are the past and the present."
        else:
            hint = "entry (t, s) is True exactly when s <= t."
        _compare(ex, words, "the mask", got, expected.astype(np.float64), rtol=0, atol=0,
                 hint=hint)  # fmt: skip
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ positions

_EX_POS = Exercise("sinusoidal_positions", "")


def _positions_ref(T, d, *, swap=False, half=False, rate=2.0):
    P = np.zeros((T, d))
    for t in range(T):
        for i in range(d // 2):
            angle = t / 10000.0 ** (rate * i / d)
            s, c = math.sin(angle), math.cos(angle)
            if swap:
                s, c = c, s
            if half:
                P[t, i], P[t, d // 2 + i] = s, c
            else:
                P[t, 2 * i], P[t, 2 * i + 1] = s, c
    return P


def sinusoidal_positions(fn: Callable) -> None:
    r"""Check ``fn(T, d)``: $P_{t,2i} = \sin(t/10000^{2i/d})$, $P_{t,2i+1} = \cos(\cdot)$."""
    ex = _EX_POS
    cases = [(1, 2), (4, 2), (5, 8), (16, 6), (32, 64)]
    for T, d in cases:
        words = f"T = {T}, d = {d}"
        got = _array(ex, words, "P", _call(ex, fn, (T, d), words), (T, d),
                     hint="one row per position, d columns.")  # fmt: skip
        expected = _positions_ref(T, d)
        if _close(got, expected, atol=1e-4):
            continue
        if _close(got, _positions_ref(T, d, swap=True), atol=1e-4):
            hint = "even columns (0, 2, ...) hold the sines, odd columns the cosines."
        elif _close(got, _positions_ref(T, d, half=True), atol=1e-4):
            hint = "interleave the pairs: column 2i is sin, column 2i + 1 is cos of the same angle."
        elif _close(got, _positions_ref(T, d, rate=1.0), atol=1e-4):
            hint = "pair i uses the exponent 2i/d (the column index of its sine over d), not i/d."
        else:
            hint = "angle(t, i) = t / 10000**(2*i/d) for pair i = 0 .. d/2 - 1."
        _compare(ex, words, "P", got, expected, rtol=1e-4, atol=1e-4, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ layer norm

_EX_LN = Exercise("layer_norm", "")


def _ln_ref(x, g, b, eps, *, axis=-1, ddof=0, eps_out=False):
    mu = x.mean(axis=axis, keepdims=True)
    var = x.var(axis=axis, keepdims=True, ddof=ddof)
    s = np.sqrt(var) + eps if eps_out else np.sqrt(var + eps)
    return g * (x - mu) / s + b


def layer_norm(fn: Callable) -> None:
    r"""Check ``fn(x, gamma, beta, eps=1e-5)`` $=\gamma\odot(x-\mu)/\sqrt{\sigma^2+\epsilon}+\beta$
    over the last axis."""
    ex = _EX_LN
    rng = np.random.default_rng(11)
    cases = [
        ("x (4, 6), gamma = 1, beta = 0", (4, 6), True, 1e-5),
        ("x (5, 8), random gamma and beta", (5, 8), False, 1e-5),
        ("x (2, 3, 10) (batch, time, features)", (2, 3, 10), False, 1e-5),
        ("x (3, 4) of tiny spread, eps = 0.1", (3, 4), False, 0.1),
    ]
    for words, shape, plain, eps in cases:
        d = shape[-1]
        x = rng.normal(size=shape) * 3.0 + 1.0
        if eps == 0.1:
            x = 0.05 * rng.normal(size=shape)
        g = np.ones(d) if plain else rng.normal(size=d) + 1.0
        b = np.zeros(d) if plain else rng.normal(size=d)
        args = (_f(x), _f(g), _f(b)) if eps == 1e-5 else (_f(x), _f(g), _f(b), eps)
        got = _array(ex, words, "the output", _call(ex, fn, args, words), shape,
                     hint="layer norm keeps the shape of x.")  # fmt: skip
        expected = _ln_ref(x, g, b, eps)
        if _close(got, expected):
            continue
        if _close(got, _ln_ref(x, g, b, eps, axis=0)):
            hint = (
                "normalize each position over its features (the last axis), not over the batch "
                "(axis 0): that would be batch norm."
            )
        elif _close(got, _ln_ref(x, g, b, eps, ddof=1)):
            hint = "use the biased variance (divide by d, jnp.var's default), not by d - 1."
        elif _close(got, _ln_ref(x, g, b, eps, eps_out=True)):
            hint = "epsilon goes inside the square root: sqrt(var + eps)."
        elif _close(got, _ln_ref(x, 1.0, 0.0, eps)):
            hint = "scale by gamma and shift by beta after normalizing."
        else:
            hint = (
                "per row: subtract the mean, divide by sqrt(variance + eps), then gamma * . + beta."
            )
        _compare(ex, words, "the output", got, expected, rtol=1e-4, atol=1e-4, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ heads

_EX_SPLIT = Exercise("split_heads", "")


def split_heads(fn: Callable) -> None:
    r"""Check ``fn(x, n_heads)``: ``(..., T, d)`` -> ``(..., h, T, d/h)``, head $i$ = columns
    $i\,d/h, \dots, (i+1)d/h - 1$."""
    ex = _EX_SPLIT
    rng = np.random.default_rng(12)
    cases = [((5, 8), 2), ((3, 12), 3), ((4, 6), 1), ((2, 5, 8), 4)]
    for shape, h in cases:
        *lead, T, d = shape
        words = f"x of shape {shape}, n_heads = {h}"
        x = rng.normal(size=shape)
        out_shape = (*lead, h, T, d // h)
        got = _array(ex, words, "the heads", _call(ex, fn, (_f(x), h), words), out_shape,
                     hint="(..., T, d) becomes (..., n_heads, T, d // n_heads).")  # fmt: skip
        expected = np.stack([x[..., :, i * (d // h) : (i + 1) * (d // h)] for i in range(h)], -3)
        if _close(got, expected):
            continue
        if _close(got, x.reshape(out_shape)):
            hint = (
                "a plain reshape to (h, T, d/h) mixes positions: reshape to (T, h, d/h) first, "
                "then swap the T and h axes."
            )
        elif _close(got, np.swapaxes(x.reshape(*lead, T, d // h, h), -1, -2).swapaxes(-2, -3)):
            hint = "head i takes a contiguous block of d/h columns, not every h-th column."
        else:
            hint = "head i is x[..., :, i*(d//h):(i+1)*(d//h)]; stack the heads before the T axis."
        _compare(ex, words, "the heads", got, expected, rtol=1e-6, atol=1e-6, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ parameters

_EX_COUNT = Exercise("block_param_count", "")


def block_param_count(fn: Callable) -> None:
    r"""Check ``fn(d_model)``: the parameters of one pre-LN block as the lecture builds it."""
    ex = _EX_COUNT
    cases = [8, 64, 100, 512]
    for d in cases:
        words = f"d_model = {d}"
        got = _scalar(ex, words, "the count", _call(ex, fn, (d,), words), integer=True)
        shapes = [(d, d)] * 4 + [(d, 4 * d), (4 * d,), (4 * d, d), (d,)] + [(d,)] * 4
        expected = sum(int(np.prod(s)) for s in shapes)
        if got == expected:
            continue
        if got == 12 * d * d:
            hint = (
                "12 d^2 counts the matrices only: add the MLP's two biases and the two layer norms."
            )
        elif got == 12 * d * d + 5 * d:
            hint = "each of the two layer norms has a gamma and a beta of d entries."
        elif got == 12 * d * d + 13 * d:
            hint = "the lecture's attention projections W_q, W_k, W_v, W_o have no biases."
        elif got == 4 * d * d + 2 * d * d + 3 * d + 4 * d or got == 6 * d * d + 7 * d:
            hint = "the MLP's hidden layer is 4d wide: d -> 4d -> d."
        else:
            hint = (
                "add up: 4 (d x d) projections, W1 (d x 4d), b1 (4d), W2 (4d x d), b2 (d), "
                "2 x (gamma, beta)."
            )
        raise CheckFailed(
            ex,
            "wrong number of parameters",
            case=words,
            details=[f"expected {expected}", f"got      {_fmt(got, 12)}"],
            hint=hint,
        )
    _passed(ex, len(cases))
