"""course_lib.checks.transformer: each check passes a right answer and fails plausible mistakes.

The right answers here are written independently of the solutions notebook (NumPy loops and
index comparisons where the notebook uses jnp; the library's functions as a second answer).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import checks, transformer
from course_lib.checks import CheckFailed


def _stub(*args, **kwargs):
    raise NotImplementedError("Exercise: replace this with your code")


ALL = [
    checks.scaled_dot_product_attention,
    checks.causal_mask,
    checks.sinusoidal_positions,
    checks.layer_norm,
    checks.split_heads,
    checks.block_param_count,
]


@pytest.mark.parametrize("check", ALL)
def test_every_check_says_not_implemented_for_the_stub(check):
    with pytest.raises(CheckFailed, match="not implemented yet"):
        check(_stub)


def _passes(check, fn, capsys):
    check(fn)
    assert "✔" in capsys.readouterr().out


# ------------------------------------------------------------------------------ attention


def _attention_loops(Q, K, V, mask=None):
    Q, K, V = (np.asarray(a, np.float64) for a in (Q, K, V))
    lead = Q.shape[:-2]
    out = np.zeros((*lead, Q.shape[-2], V.shape[-1]))
    for idx in np.ndindex(lead):
        for t in range(Q.shape[-2]):
            s = np.array([Q[idx][t] @ k for k in K[idx]]) / math.sqrt(Q.shape[-1])
            if mask is not None:
                s = np.where(np.asarray(mask)[t], s, -np.inf)
            w = np.exp(s - s.max())
            out[idx][t] = (w / w.sum()) @ V[idx]
    return out


def _sdpa(scale=lambda d: math.sqrt(d), axis=-1, after=False, use_mask=True):
    def fn(Q, K, V, mask=None):
        S = Q @ jnp.swapaxes(K, -1, -2) / scale(Q.shape[-1])
        if mask is not None and use_mask and not after:
            S = jnp.where(mask, S, -1e30)
        A = jnp.exp(S - S.max(axis=axis, keepdims=True))
        A = A / A.sum(axis=axis, keepdims=True)
        if mask is not None and use_mask and after:
            A = A * mask
        return A @ V

    return fn


def test_attention_passes_loops_and_the_library(capsys):
    _passes(checks.scaled_dot_product_attention, _attention_loops, capsys)
    _passes(checks.scaled_dot_product_attention, transformer.scaled_dot_product_attention, capsys)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (_sdpa(scale=lambda d: 1.0), "sqrt"),
        (_sdpa(scale=lambda d: d), "not by d_k itself"),
        (_sdpa(axis=-2), "over the keys"),
        (_sdpa(after=True), "before"),
        (_sdpa(use_mask=False), "mask was ignored"),
        (lambda Q, K, V, mask=None: jnp.swapaxes(_sdpa()(Q, K, V, mask), -1, -2), "shape"),
    ],
)
def test_attention_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.scaled_dot_product_attention(wrong)


# ------------------------------------------------------------------------------ causal mask


def test_causal_mask_passes_an_index_comparison_and_the_library(capsys):
    _passes(checks.causal_mask, lambda T: np.arange(T)[None, :] <= np.arange(T)[:, None], capsys)
    _passes(checks.causal_mask, transformer.causal_mask, capsys)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda T: np.tril(np.ones((T, T), bool), -1), "diagonal"),
        (lambda T: np.triu(np.ones((T, T), bool)), "rows are queries"),
        (lambda T: ~np.tril(np.ones((T, T), bool)), "may attend"),
        (lambda T: np.tril(np.ones((T, T))), "booleans"),
        (lambda T: np.ones((T, T), bool), "s <= t"),
    ],
)
def test_causal_mask_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.causal_mask(wrong)


# ------------------------------------------------------------------------------ positions


def _positions_loop(T, d, swap=False, half=False, rate=2.0):
    P = np.zeros((T, d))
    for t in range(T):
        for j in range(0, d, 2):
            a = t * math.exp(-math.log(10000.0) * (rate / 2) * j / d)
            s, c = (math.cos(a), math.sin(a)) if swap else (math.sin(a), math.cos(a))
            if half:
                P[t, j // 2], P[t, d // 2 + j // 2] = s, c
            else:
                P[t, j], P[t, j + 1] = s, c
    return P


def test_positions_pass_a_loop_and_the_library(capsys):
    _passes(checks.sinusoidal_positions, _positions_loop, capsys)
    _passes(checks.sinusoidal_positions, transformer.sinusoidal_positions, capsys)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda T, d: _positions_loop(T, d, swap=True), "even columns"),
        (lambda T, d: _positions_loop(T, d, half=True), "interleave"),
        (lambda T, d: _positions_loop(T, d, rate=1.0), "2i/d"),
        (lambda T, d: np.zeros((T, d)), "angle"),
    ],
)
def test_positions_fail_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.sinusoidal_positions(wrong)


# ------------------------------------------------------------------------------ layer norm


def _ln_rows(x, gamma, beta, eps=1e-5):
    x = np.asarray(x, np.float64)
    flat = x.reshape(-1, x.shape[-1])
    out = np.empty_like(flat)
    for i, row in enumerate(flat):
        m = sum(row) / len(row)
        v = sum((r - m) ** 2 for r in row) / len(row)
        out[i] = np.asarray(gamma) * (row - m) / math.sqrt(v + eps) + np.asarray(beta)
    return out.reshape(x.shape)


def _ln(axis=-1, ddof=0, eps_out=False, affine=True):
    def fn(x, gamma, beta, eps=1e-5):
        with jax.numpy_rank_promotion("allow"):  # as in a notebook (the tests raise on it)
            mu = jnp.mean(x, axis=axis, keepdims=True)
            var = jnp.var(x, axis=axis, keepdims=True, ddof=ddof)
            s = jnp.sqrt(var) + eps if eps_out else jnp.sqrt(var + eps)
            y = (x - mu) / s
            return gamma * y + beta if affine else y

    return fn


def test_layer_norm_passes_rows_and_the_library(capsys):
    _passes(checks.layer_norm, _ln_rows, capsys)
    _passes(checks.layer_norm, transformer.layer_norm, capsys)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (_ln(axis=0), "batch norm"),
        (_ln(ddof=1), "biased variance"),
        (_ln(eps_out=True), "inside the square root"),
        (_ln(affine=False), "gamma"),
    ],
)
def test_layer_norm_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.layer_norm(wrong)


# ------------------------------------------------------------------------------ heads


def _split_slices(x, n_heads):
    d = x.shape[-1]
    k = d // n_heads
    return np.stack([np.asarray(x)[..., :, i * k : (i + 1) * k] for i in range(n_heads)], axis=-3)


def test_split_heads_passes_slices_and_the_library(capsys):
    _passes(checks.split_heads, _split_slices, capsys)
    _passes(checks.split_heads, transformer.split_heads, capsys)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda x, h: x.reshape(*x.shape[:-2], h, x.shape[-2], x.shape[-1] // h), "plain reshape"),
        (lambda x, h: jnp.swapaxes(
            jnp.swapaxes(x.reshape(*x.shape[:-1], x.shape[-1] // h, h), -1, -2), -2, -3),
         "contiguous"),
        (lambda x, h: jnp.flip(
            jnp.swapaxes(x.reshape(*x.shape[:-1], h, x.shape[-1] // h), -2, -3), axis=-3),
         "stack the heads"),
        (lambda x, h: x, "shape"),
    ],
)  # fmt: skip
def test_split_heads_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.split_heads(wrong)


# ------------------------------------------------------------------------------ parameters


def test_block_param_count_passes_a_sum_and_the_library(capsys):
    from course_lib import transformer

    def by_shapes(d):
        attn = 4 * d * d
        ff = d * 4 * d + 4 * d + 4 * d * d + d
        return attn + ff + 2 * 2 * d

    _passes(checks.block_param_count, by_shapes, capsys)
    _passes(checks.block_param_count, transformer.block_param_count, capsys)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda d: 12 * d * d, "matrices only"),
        (lambda d: 12 * d * d + 5 * d, "gamma and a beta"),
        (lambda d: 12 * d * d + 13 * d, "no biases"),
        (lambda d: 6 * d * d + 7 * d, "4d wide"),
        (lambda d: 12 * d * d + 9 * d + 0.5, "whole number"),
        (lambda d: 1, "add up"),
    ],
)
def test_block_param_count_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.block_param_count(wrong)
