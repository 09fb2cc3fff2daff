r"""Self-checks for the exercises on RNN architectures (Aggarwal §7.2.3, §7.2.4, §7.3.1, §7.4,
§7.7.5; Exercises 7.2, 7.6, 7.9).

Every check runs the student's function on a few fixed cases and compares with a reference
written out here in NumPy loops (the recurrences, layer norm's backward pass, the masked loss,
the ridge readouts, the matrix powers). Common slips are recognized and answered with a hint.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course_lib import rnn
from course_lib import rnn_architectures as ra
from course_lib.checks import (
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

_close = _close_within(rtol=1e-4, atol=1e-5)
_LN_EPS = 1e-5  # transformer.LN_EPS, the epsilon the exercises use


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _np_states(W_x, W_h, b, xs, reverse=False):
    T, p = xs.shape[0], W_h.shape[0]
    hs, h = np.zeros((T, p)), np.zeros(p)
    order = range(T - 1, -1, -1) if reverse else range(T)
    for t in order:
        h = np.tanh(W_x @ xs[t] + W_h @ h + b)
        hs[t] = h
    return hs


# ------------------------------------------------------------------------------ bidirectional

_EX_BI = Exercise("birnn_states", "")


def _bi_case(seed: int, T: int, d: int, p: int, q: int):
    r = _rng(seed)
    arrays = [r.normal(size=s) * 0.7 for s in
              [(p, d), (p, p), (p,), (p, d), (p, p), (p,), (q, p), (q, p), (q,)]]  # fmt: skip
    return ra.BiRNNParams(*[_f(a) for a in arrays]), arrays, r.normal(size=(T, d))


def birnn_states(fn: Callable) -> None:
    r"""Check ``fn(params, xs) -> (hf, hb, ys)`` for a :class:`BiRNNParams` and ``xs (T, d)``."""
    ex = _EX_BI
    cases = [("T = 5, d = 2, p = 3, q = 2", 0, 5, 2, 3, 2),
             ("T = 1 (a single step)", 1, 1, 3, 2, 4),
             ("T = 7, d = 4, p = 5, q = 3", 2, 7, 4, 5, 3)]  # fmt: skip
    for words, seed, T, d, p, q in cases:
        params, a, xs = _bi_case(seed, T, d, p, q)
        out = _unpack(ex, words, _call(ex, fn, (params, _f(xs)), words), ("hf", "hb", "ys"))
        hf = _array(ex, words, "hf", out[0], (T, p))
        hb = _array(ex, words, "hb", out[1], (T, p))
        ys = _array(ex, words, "ys", out[2], (T, q))
        want_f = _np_states(a[0], a[1], a[2], xs)
        want_b = _np_states(a[3], a[4], a[5], xs, reverse=True)
        want_y = want_f @ a[6].T + want_b @ a[7].T + a[8]
        hint_f = "h_f runs left to right from zeros: tanh(W_xf x_t + W_ff h_{t-1} + b_f)."
        _compare(ex, words, "hf", hf, want_f, rtol=1e-4, atol=1e-5, hint=hint_f)
        if not _close(hb, want_b):
            forward_b = _np_states(a[3], a[4], a[5], xs)
            if _close(hb, forward_b):
                hint = "the backward direction must start at t = T and read h^(b)_{t+1}."
            elif _close(hb, want_b[::-1]):
                hint = "return hb in time order: hb[t] is the backward state at step t."
            else:
                hint = "h_b = tanh(W_xb x_t + W_bb h^(b)_{t+1} + b_b), from zeros at T + 1."
            _compare(ex, words, "hb", hb, want_b, rtol=1e-4, atol=1e-5, hint=hint)
        if not _close(ys, want_y):
            if _close(ys, want_f @ a[6].T + a[8]):
                hint = "the outputs read both directions: add W_by h^(b)_t."
            else:
                hint = "y_t = W_fy h^(f)_t + W_by h^(b)_t + b_y."
            _compare(ex, words, "ys", ys, want_y, rtol=1e-4, atol=1e-5, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ stacked

_EX_STACK = Exercise("stacked_states", "")


def stacked_states(fn: Callable) -> None:
    r"""Check ``fn(params, xs) -> hs (L, T, p)`` for a :class:`StackedRNNParams`."""
    ex = _EX_STACK
    cases = [("2 layers, T = 4, d = p = 3", 0, 2, 4, 3, 3),
             ("3 layers, T = 6, d = 2, p = 4", 1, 3, 6, 2, 4),
             ("1 layer, T = 3, d = 5, p = 2", 2, 1, 3, 5, 2)]  # fmt: skip
    for words, seed, L, T, d, p in cases:
        r = _rng(seed)
        Ws = [r.normal(size=(p, (d if k == 0 else p) + p)) * 0.6 for k in range(L)]
        bs = [r.normal(size=p) * 0.3 for _ in range(L)]
        xs = r.normal(size=(T, d))
        params = ra.StackedRNNParams(tuple(_f(W) for W in Ws), tuple(_f(b) for b in bs),
                                     _f(r.normal(size=(2, p))), _f(np.zeros(2)))  # fmt: skip
        got = _array(ex, words, "hs", _call(ex, fn, (params, _f(xs)), words), (L, T, p),
                     hint="stack the states of all L layers: shape (L, T, p).")  # fmt: skip
        want, below = [], xs
        for W, b in zip(Ws, bs, strict=True):
            p_in = W.shape[1] - p
            below = _np_states(W[:, :p_in], W[:, p_in:], b, below)
            want.append(below)
        want = np.stack(want)
        if _close(got, want):
            continue
        hint = "layer k runs tanh(W^(k) [h^(k-1)_t ; h^(k)_{t-1}] + b^(k)) over time, from zeros."
        if d == p and L > 1:
            same_input = np.stack([_np_states(W[:, :d], W[:, d:], b, xs)
                                   for W, b in zip(Ws, bs, strict=True)])  # fmt: skip
            if _close(got, same_input):
                hint = "each layer above the first reads the states of the layer below, not x."
        if L > 1 and _close(got[0], want[0]) and not _close(got[1], want[1]):
            hint = (
                "layer 1 is right; a higher layer reads h^(k-1)_t at the *same* step t, "
                "and its own previous state h^(k)_{t-1}; the first column block of W^(k) "
                "multiplies the layer below."
            )
        _compare(ex, words, "hs", got, want, rtol=1e-4, atol=1e-5, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ layer norm

_EX_LN = Exercise("layer_norm_grads", "")


def layer_norm_grads(fn: Callable) -> None:
    r"""Check ``fn(x, gamma, dy) -> (dx, dgamma, dbeta)`` for layer norm over the last axis."""
    ex = _EX_LN
    cases = [("x of shape (3, 5)", 0, (3, 5)), ("x of shape (1, 4)", 1, (1, 4)),
             ("x of shape (6, 8), large values", 2, (6, 8))]  # fmt: skip
    for words, seed, shape in cases:
        r = _rng(seed)
        x = r.normal(size=shape) * (1.0 + 3 * seed) + seed
        gamma = r.normal(size=shape[-1])
        dy = r.normal(size=shape)
        out = _unpack(ex, words, _call(ex, fn, (_f(x), _f(gamma), _f(dy)), words),
                      ("dx", "dgamma", "dbeta"))  # fmt: skip
        dx = _array(ex, words, "dx", out[0], shape)
        dgamma = _array(ex, words, "dgamma", out[1], shape[-1:])
        dbeta = _array(ex, words, "dbeta", out[2], shape[-1:])
        mu = x.mean(-1, keepdims=True)
        s = np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + _LN_EPS)
        xhat = (x - mu) / s
        g = gamma * dy
        want_dx = (g - g.mean(-1, keepdims=True) - xhat * (g * xhat).mean(-1, keepdims=True)) / s
        want_dg, want_db = (dy * xhat).sum(0), dy.sum(0)
        if not _close(dbeta, want_db):
            _compare(ex, words, "dbeta", dbeta, want_db, rtol=1e-4, atol=1e-5,
                     hint="beta is added to every row: sum dy over the rows.")  # fmt: skip
        if not _close(dgamma, want_dg):
            hint = "dgamma sums dy * xhat over the rows (xhat: the normalized x)."
            if _close(dgamma, want_db):
                hint = "that is dbeta; gamma multiplies xhat, so weight dy by xhat."
            _compare(ex, words, "dgamma", dgamma, want_dg, rtol=1e-4, atol=1e-5, hint=hint)
        if not _close(dx, want_dx, atol=1e-4):
            hint = (
                "mu and sigma depend on every x_i of the row: dx = (g - mean(g) - xhat * "
                "mean(g * xhat)) / s with g = gamma * dy."
            )
            if _close(dx, g / s, atol=1e-4):
                hint = "gamma * dy / s treats mu and sigma as constants; they depend on x too."
            _compare(ex, words, "dx", dx, want_dx, rtol=1e-4, atol=1e-4, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ tagging loss

_EX_TAG = Exercise("tagging_loss", "7.6")


def tagging_loss(fn: Callable) -> None:
    r"""Check ``fn(logits (n, T, q), labels (n, T), mask (n, T))``: the masked mean token CE."""
    ex = _EX_TAG
    cases = [("n = 2, T = 4, q = 3, no padding", 0, 2, 4, 3, [4, 4]),
             ("n = 3, T = 5, q = 4, lengths 5, 2, 3", 1, 3, 5, 4, [5, 2, 3]),
             ("n = 1, T = 6, q = 2, length 1", 2, 1, 6, 2, [1])]  # fmt: skip
    for words, seed, n, T, q, lengths in cases:
        r = _rng(seed)
        logits = r.normal(size=(n, T, q)) * 2.0
        labels = r.integers(0, q, (n, T))
        mask = (np.arange(T)[None, :] < np.array(lengths)[:, None]).astype(np.float64)
        args = (_f(logits), labels.astype(np.int32), _f(mask))
        got = _scalar(ex, words, "the loss", _call(ex, fn, args, words))
        ce = np.zeros((n, T))
        for i in range(n):
            for t in range(T):
                z = logits[i, t] - logits[i, t].max()
                ce[i, t] = -(z[labels[i, t]] - np.log(np.exp(z).sum()))
        want = (ce * mask).sum() / mask.sum()
        if np.isclose(got, want, rtol=1e-5, atol=1e-6):
            continue
        if np.isclose(got, ce.mean(), rtol=1e-5):
            hint = "padded positions are not tokens: multiply by the mask before averaging."
        elif np.isclose(got, (ce * mask).sum(), rtol=1e-5):
            hint = "divide the masked sum by the number of real tokens, mask.sum()."
        elif np.isclose(got, (ce * mask).sum() / ce.size, rtol=1e-5):
            hint = "divide by the number of real tokens (mask.sum()), not by n * T."
        else:
            hint = "per token: -log softmax(logits)[label] (jax.nn.log_softmax), then the mean."
        _compare(ex, words, "the loss", np.float64(got), want, rtol=1e-5, atol=1e-6, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ ESN blocks

_EX_ESN = Exercise("block_esn_predictions", "7.2")


def block_esn_predictions(fn: Callable) -> None:
    r"""Check ``fn(esns, xs, targets, ridge) -> (joint (T,), averaged (T,))``."""
    ex = _EX_ESN
    cases = [("K = 2 reservoirs of 4 units, T = 40", 0, (4, 4), 40),
             ("K = 3 reservoirs of 4 units, T = 40", 1, (4, 4, 4), 40),
             ("K = 1 reservoir of 4 units, T = 40", 2, (4,), 40)]  # fmt: skip
    for words, seed, sizes, T in cases:
        r = _rng(seed)
        esns = []
        for s in sizes:
            W = r.normal(size=(s, s))
            W = 0.9 * W / np.max(np.abs(np.linalg.eigvals(W)))
            esns.append(rnn.ESN(_f(r.uniform(-1, 1, (s, 1))), _f(W)))
        xs = np.sin(0.3 * np.arange(T))[:, None] + 0.1 * r.normal(size=(T, 1))
        targets = np.roll(xs[:, 0], -1)
        ridge = 1e-3
        out = _unpack(ex, words, _call(ex, fn, (esns, _f(xs), _f(targets), ridge), words),
                      ("joint", "averaged"))  # fmt: skip
        joint = _array(ex, words, "joint", out[0], (T,))
        averaged = _array(ex, words, "averaged", out[1], (T,))
        states = [_np_states(np.asarray(e.W_in, np.float64), np.asarray(e.W_res, np.float64),
                             np.zeros(e.W_res.shape[0]), xs) for e in esns]  # fmt: skip

        def fit_predict(H, T=T, ridge=ridge, targets=targets):
            S = np.concatenate([H, np.ones((T, 1))], axis=1)
            w = np.linalg.solve(S.T @ S + ridge * np.eye(S.shape[1]), S.T @ targets)
            return S @ w

        want_joint = fit_predict(np.concatenate(states, axis=1))
        separate = np.stack([fit_predict(H) for H in states])
        want_avg = separate.mean(0)
        if not _close(joint, want_joint, atol=1e-3):
            hint = "fit one ridge readout on all K reservoirs' states side by side."
            if _close(joint, want_avg, atol=1e-3):
                hint = "that is the average of separate readouts; 'joint' fits one readout."
            _compare(ex, words, "joint", joint, want_joint, rtol=1e-3, atol=1e-3, hint=hint)
        if not _close(averaged, want_avg, atol=1e-3):
            hint = "fit a ridge readout on each reservoir's own states, then average."
            if _close(averaged, separate.sum(0), atol=1e-3):
                hint = "average the K predictions (divide the sum by K)."
            elif len(sizes) > 1 and _close(averaged, want_joint, atol=1e-3):
                hint = "that is the joint readout; fit each reservoir separately, then average."
            _compare(ex, words, "averaged", averaged, want_avg, rtol=1e-3, atol=1e-3, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ standardize

_EX_STD = Exercise("standardize", "7.9")


def standardize(fn: Callable) -> None:
    r"""Check ``fn(x, axis)`` $= (x - \mu)/\sqrt{\sigma^2 + 10^{-5}}$ along ``axis``."""
    ex = _EX_STD
    cases = [("x (4, 6), axis = 1 (layer norm)", 0, (4, 6), 1),
             ("x (4, 6), axis = 0 (batch norm)", 1, (4, 6), 0),
             ("x (8, 3), axis = 0, shifted and scaled", 2, (8, 3), 0)]  # fmt: skip
    for words, seed, shape, axis in cases:
        r = _rng(seed)
        x = r.normal(size=shape) * (1 + 2 * seed) + 3 * seed
        got = _array(ex, words, "the output", _call(ex, fn, (_f(x), axis), words), shape,
                     hint="the output has the shape of x.")  # fmt: skip

        def std(v, ax, ddof=0, center=True):
            mu = v.mean(ax, keepdims=True) if center else 0.0
            return (v - mu) / np.sqrt(v.var(ax, ddof=ddof, keepdims=True) + _LN_EPS)

        want = std(x, axis)
        if _close(got, want):
            continue
        if _close(got, std(x, 1 - axis)):
            hint = "that standardizes along the other axis: use the axis you are given."
        elif _close(got, std(x, axis, ddof=1)):
            hint = "use the population variance (divide by the count, ddof = 0), as the book does."
        elif _close(got, std(x, axis, center=False)):
            hint = "subtract the mean along the axis before dividing."
        else:
            hint = "(x - mean) / sqrt(var + 1e-5), both with keepdims=True along `axis`."
        _compare(ex, words, "the output", got, want, rtol=1e-4, atol=1e-5, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ AR coefficients

_EX_AR = Exercise("ar_coefficients", "")


def ar_coefficients(fn: Callable) -> None:
    r"""Check ``fn(W_xh (p, 1), W_hh (p, p), W_hy (1, p), k) -> (k,)``:
    $a_j = W_{hy}W_{hh}^{\,j}W_{xh}$, $j = 0..k-1$."""
    ex = _EX_AR
    cases = [("p = 3, k = 5", 0, 3, 5), ("p = 1, k = 4", 1, 1, 4), ("p = 5, k = 8", 2, 5, 8)]
    for words, seed, p, k in cases:
        r = _rng(seed)
        W_xh, W_hh, W_hy = r.normal(size=(p, 1)), r.normal(size=(p, p)) * 0.5, r.normal(size=(1, p))
        args = (_f(W_xh), _f(W_hh), _f(W_hy), k)
        got = _array(ex, words, "the coefficients", _call(ex, fn, args, words), (k,),
                     hint="return k numbers a_0 .. a_{k-1}.")  # fmt: skip
        powers = [np.linalg.matrix_power(W_hh, j) for j in range(k + 1)]
        want = np.array([(W_hy @ powers[j] @ W_xh)[0, 0] for j in range(k)])
        if _close(got, want):
            continue
        if _close(got, np.array([(W_hy @ powers[j + 1] @ W_xh)[0, 0] for j in range(k)])):
            hint = "a_0 = W_hy W_xh (x_t reaches y_t with no recurrent step): start at W_hh^0."
        elif _close(got, want[::-1]):
            hint = "a_0 multiplies the newest input x_t: keep the order j = 0, 1, ..., k-1."
        else:
            hint = "unroll h_t = W_hh h_{t-1} + W_xh x_t: x_{t-j} reaches y_t through W_hh^j."
        _compare(ex, words, "the coefficients", got, want, rtol=1e-4, atol=1e-5, hint=hint)
    _passed(ex, len(cases))
