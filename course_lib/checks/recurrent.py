r"""Self-checks for the exercises on recurrent networks (Aggarwal §7.2-7.4, Ex. 7.4).

Every check runs the student's function on a few fixed cases and compares with an independent
reference: the library (:func:`course_lib.rnn.forward`), ``jax.grad`` of the sequence loss
(BPTT), float64 NumPy written out here (Jacobian products, eigenvalues, the ridge normal
equations, the sigmoid fixed point of Exercise 7.4). Common slips (a transposed $W_{hh}$, a
missing $\tanh'$ factor, the spectral norm instead of the spectral radius, a forgotten bias
column, ...) are recognized and answered with a targeted hint.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from course_lib import rnn
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

_close = _close_within(rtol=1e-4, atol=1e-6)


def _rng_cases(seed: int, shapes: list[tuple[int, ...]], scale: float = 1.0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(size=s) * scale for s in shapes]


def _np_states(W_xh, W_hh, b, xs, *, act=np.tanh) -> np.ndarray:
    h = np.zeros(W_hh.shape[0])
    out = []
    for x in xs:
        h = act(W_xh @ x + W_hh @ h + b)
        out.append(h)
    return np.array(out)


# ------------------------------------------------------------------------------ forward

_EX_FORWARD = Exercise("rnn_forward", "")


def _forward_cases() -> list[tuple[str, tuple[np.ndarray, ...]]]:
    cases = []
    for words, (d, p, T), seed in [
        ("d = 2 inputs, p = 3 hidden units, T = 4 steps", (2, 3, 4), 0),
        ("one-hot words: d = 4, p = 2, T = 4", (4, 2, 4), 1),
        ("a single step: d = 3, p = 3, T = 1", (3, 3, 1), 2),
        ("d = 1, p = 5, T = 12", (1, 5, 12), 3),
    ]:
        W_xh, W_hh, b, xs = _rng_cases(seed, [(p, d), (p, p), (p,), (T, d)])
        if seed == 1:
            xs = np.eye(4)[[0, 1, 2, 0]]
        cases.append((words, (W_xh, W_hh * 0.8, b * 0.3, xs)))
    return cases


def rnn_forward(fn: Callable) -> None:
    r"""Check ``fn(W_xh, W_hh, b, xs) -> hs``: $h_t = \tanh(W_{xh}x_t + W_{hh}h_{t-1} + b)$,
    $h_0 = 0$, ``hs (T, p)`` = $h_1..h_T$; the reference is :func:`course_lib.rnn.forward`."""
    ex = _EX_FORWARD
    cases = _forward_cases()
    for words, (W_xh, W_hh, b, xs) in cases:
        T, p = xs.shape[0], W_hh.shape[0]
        inputs = [f"W_xh {W_xh.shape}, W_hh {W_hh.shape}, b {b.shape}, xs {xs.shape}"]
        got = _array(
            ex,
            words,
            "hs",
            _call(ex, fn, (_f(W_xh), _f(W_hh), _f(b), _f(xs)), words, inputs),
            (T, p),
            hint="return the T hidden states h_1..h_T stacked into shape (T, p) (not h_0).",
        )
        params = rnn.RNNParams(
            _f(W_xh), _f(W_hh), jnp.zeros((1, p)), _f(b), jnp.zeros((1,))
        )  # the readout is irrelevant here
        expected = np.asarray(rnn.forward(params, _f(xs))[0], np.float64)
        if _close(got, expected):
            continue
        if _close(got, _np_states(W_xh, W_hh, b, xs, act=lambda a: a)):
            hint = "the state goes through tanh at every step: h_t = tanh(a_t)."
        elif _close(got, _np_states(W_xh, W_hh.T, b, xs)):
            hint = (
                "W_hh is applied as W_hh @ h_(t-1) (column vectors); you used its transpose "
                "(h @ W_hh)."
            )
        elif T > 1 and _close(got[1:], expected[:-1]):
            hint = "row t of hs must be h_(t+1): the state AFTER reading x_(t+1), starting at h_1."
        else:
            hint = "start from h_0 = 0 and apply the same step to x_1, ..., x_T in order."
        _compare(ex, words, "hs", got, expected, rtol=1e-4, atol=1e-5, hint=hint, details=inputs)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ BPTT

_EX_BPTT = Exercise("bptt_grads", "")


def _np_bptt(
    W_xh, W_hh, W_hy, xs, targets, *, tanh_prime=True, transpose=True, carry=True, message=True
):
    """Float64 BPTT with switches that reproduce common slips (for hints only)."""
    hs = _np_states(W_xh, W_hh, np.zeros(W_hh.shape[0]), xs)
    T, p = hs.shape
    ys = hs @ W_hy.T
    pr = np.exp(ys - ys.max(axis=1, keepdims=True))
    pr /= pr.sum(axis=1, keepdims=True)
    g_y = pr - np.eye(W_hy.shape[0])[targets]
    gx, gh, gy = np.zeros_like(W_xh), np.zeros_like(W_hh), np.zeros_like(W_hy)
    msg = np.zeros(p)
    Wb = W_hh.T if transpose else W_hh
    for t in range(T - 1, -1, -1):
        g_h = W_hy.T @ g_y[t] + (msg if carry else 0.0)
        g_a = (1 - hs[t] ** 2) * g_h if tanh_prime else g_h
        msg = Wb @ (g_a if message else g_h)  # message=False: tanh' left off the message only
        h_prev = hs[t - 1] if t > 0 else np.zeros(p)
        gx += np.outer(g_a, xs[t])
        gh += np.outer(g_a, h_prev)
        gy += np.outer(g_y[t], hs[t])
    return gx, gh, gy


def _bptt_cases():
    cases = []
    for words, (d, p, q, T), seed in [
        ("the toy sentence: d = q = 4, p = 3, T = 4", (4, 3, 4, 4), 10),
        ("d = 2, p = 4, q = 3, T = 7", (2, 4, 3, 7), 11),
        ("one step: d = 3, p = 2, q = 2, T = 1", (3, 2, 2, 1), 12),
        ("a longer sequence: d = 3, p = 5, q = 4, T = 15", (3, 5, 4, 15), 13),
    ]:
        W_xh, W_hh, W_hy, xs = _rng_cases(seed, [(p, d), (p, p), (q, p), (T, d)])
        W_hh = W_hh * 1.2 / np.sqrt(p)
        targets = np.random.default_rng(seed + 100).integers(0, q, size=T)
        if seed == 10:
            xs, targets = np.eye(4)[[0, 1, 2, 0]], np.array([1, 2, 0, 3])
        cases.append((words, (W_xh, W_hh, W_hy, xs, targets)))
    return cases


def _loss3(W_xh, W_hh, W_hy, xs, targets):
    p, q = W_hh.shape[0], W_hy.shape[0]
    params = rnn.RNNParams(W_xh, W_hh, W_hy, jnp.zeros((p,), W_hh.dtype), jnp.zeros((q,)))
    return rnn.sequence_loss(params, xs, targets)


_bptt_reference = jax.jit(jax.grad(_loss3, argnums=(0, 1, 2)))


def bptt_grads(fn: Callable) -> None:
    r"""Check ``fn(W_xh, W_hh, W_hy, xs, targets) -> (dW_xh, dW_hh, dW_hy)``: the gradient of
    $L = -\sum_t\log\mathrm{softmax}(W_{hy}h_t)[j_t]$ ($h_0 = 0$, no biases) by BPTT, against
    ``jax.grad``."""
    ex = _EX_BPTT
    cases = _bptt_cases()
    names = ("dW_xh", "dW_hh", "dW_hy")
    for words, (W_xh, W_hh, W_hy, xs, targets) in cases:
        args = (_f(W_xh), _f(W_hh), _f(W_hy), _f(xs), jnp.asarray(targets, jnp.int32))
        inputs = [f"W_xh {W_xh.shape}, W_hh {W_hh.shape}, W_hy {W_hy.shape}, xs {xs.shape}"]
        out = _unpack(ex, words, _call(ex, fn, args, words, inputs), names)
        expected = [np.asarray(g, np.float64) for g in _bptt_reference(*args)]
        got = [
            _array(ex, words, name, o, e.shape, hint=f"{name} has the shape of its matrix.")
            for name, o, e in zip(names, out, expected, strict=True)
        ]
        for name, g, e in zip(names, got, expected, strict=True):
            if _close(g, e, rtol=1e-3, atol=1e-5):
                continue
            slips = {
                "tanh_prime": "multiply by tanh'(a_t) = 1 - h_t**2 before the gradient reaches "
                "a_t: g_a = (1 - h_t**2) * g_h.",
                "transpose": "the message to h_(t-1) is W_hh.T @ g_a (the transpose: the "
                "backward pass runs the forward matrix backwards).",
                "carry": "g_h at step t has two parts: from the output y_t AND from the future "
                "step t+1 (W_hh.T @ g_a(t+1)); you dropped the second.",
                "message": "the message to h_(t-1) is W_hh.T @ g_a, with g_a = (1 - h_t**2) * g_h: "
                "it goes back through tanh' too, not only the local outer products "
                "(W_hh.T @ g_h skips it).",
            }
            hint = None
            for slip, text in slips.items():
                wrong = _np_bptt(W_xh, W_hh, W_hy, xs, targets, **{slip: False})
                if _close(g, wrong[names.index(name)], rtol=1e-3, atol=1e-5):
                    hint = text
                    break
            if hint is None and xs.shape[0] > 1:
                # only the last time step's copy of the weight: a missing sum over time
                hint = (
                    "W is shared by all T steps: its gradient is the SUM over t of the "
                    "per-step outer products (e.g. dW_hy = sum_t g_y(t) h_t^T)."
                )
            _compare(ex, words, name, g, e, rtol=1e-3, atol=1e-5, hint=hint, details=inputs)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ Jacobian norms

_EX_JAC = Exercise("jacobian_norms", "")


def _np_jac_norms(W_hh, hs, *, tanh=True, order="right", ord_=2):
    T, p = hs.shape
    M = np.eye(p)
    out = [1.0]
    for s in range(T - 1, -1, -1):
        step = ((1 - hs[s] ** 2)[:, None] * W_hh) if tanh else W_hh
        M = M @ step if order == "right" else step @ M
        out.append(np.linalg.norm(M, ord=ord_))
    return np.array(out[::-1])


def _jac_cases():
    cases = []
    for words, (p, T, rho), seed in [
        ("p = 2, T = 3", (2, 3, 0.9), 20),
        ("p = 4, T = 10, rho(W_hh) = 1.3", (4, 10, 1.3), 21),
        ("p = 3, T = 1", (3, 1, 0.7), 22),
        ("p = 6, T = 20, rho(W_hh) = 0.8", (6, 20, 0.8), 23),
    ]:
        (A, x) = _rng_cases(seed, [(p, p), (T, p)])
        W = rho * A / np.max(np.abs(np.linalg.eigvals(A)))
        hs = _np_states(np.eye(p), W, np.zeros(p), x)
        cases.append((words, (W, hs)))
    return cases


def jacobian_norms(fn: Callable) -> None:
    r"""Check ``fn(W_hh, hs) -> norms (T+1,)``: $\|\partial h_T/\partial h_t\|_2$ for
    $t = 0..T$ of a tanh RNN whose states are ``hs`` = $h_1..h_T$; the reference is a float64
    product of the per-step Jacobians $\mathrm{diag}(1-h_s^2)W_{hh}$."""
    ex = _EX_JAC
    cases = _jac_cases()
    for words, (W, hs) in cases:
        T = hs.shape[0]
        inputs = [f"W_hh {W.shape}, hs {hs.shape}"]
        got = _array(
            ex,
            words,
            "norms",
            _call(ex, fn, (_f(W), _f(hs)), words, inputs),
            (T + 1,),
            hint="one norm per t = 0, 1, ..., T: shape (T+1,), the last entry (t = T) is 1.",
        )
        expected = _np_jac_norms(W, hs)
        if _close(got, expected, rtol=1e-3, atol=1e-7):
            continue
        if _close(got, _np_jac_norms(W, hs, tanh=False), rtol=1e-3, atol=1e-7):
            hint = "each step's Jacobian is diag(1 - h_s**2) @ W_hh: you left out tanh'."
        elif _close(got, _np_jac_norms(W, hs, ord_="fro"), rtol=1e-3, atol=1e-7):
            hint = "use the spectral norm (largest singular value, ord=2), not the Frobenius norm."
        elif _close(got, _np_jac_norms(W, hs, order="left"), rtol=1e-3, atol=1e-7):
            hint = (
                "the chain rule multiplies dh_T/dh_s by dh_s/dh_(s-1) on the RIGHT as you walk "
                "back in time: M <- M @ (D_s W_hh)."
            )
        elif _close(got[::-1], expected, rtol=1e-3, atol=1e-7):
            hint = "entry t is for dh_T/dh_t: the entry at t = T (the last one) is 1."
        else:
            hint = "start from M = I at t = T and multiply in one Jacobian per step back."
        _compare(ex, words, "norms", got, expected, rtol=1e-3, atol=1e-7, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ spectral radius

_EX_RESCALE = Exercise("rescale_spectral_radius", "")


def rescale_spectral_radius(fn: Callable) -> None:
    r"""Check ``fn(W, rho) -> W'``: $W' = \rho\,W/\max_i|\lambda_i(W)|$, so $\rho(W') = \rho$
    (the echo-state recipe, §7.4); the reference uses NumPy's eigenvalues in float64."""
    ex = _EX_RESCALE
    rng = np.random.default_rng(30)
    rot = np.array([[0.0, -2.0], [2.0, 0.0]])  # eigenvalues +-2i: purely imaginary
    cases = [
        ("an upper-triangular 3x3 (eigenvalues on the diagonal), rho = 1.5",
         np.array([[1.0, 5.0, 2.0], [0.0, -3.0, 4.0], [0.0, 0.0, 0.5]]), 1.5),
        ("a rotation-scaling with eigenvalues +-2i, rho = 0.5", rot, 0.5),
        ("a random 4x4 matrix, rho = 0.9", rng.normal(size=(4, 4)), 0.9),
        ("a random 10x10 matrix, rho = 1.0", rng.normal(size=(10, 10)), 1.0),
    ]  # fmt: skip
    for words, W, rho in cases:
        got = _array(
            ex,
            words,
            "the rescaled matrix",
            _call(ex, fn, (_f(W), rho), words, [f"W {W.shape}, rho = {rho}"]),
            W.shape,
        )
        radius = np.max(np.abs(np.linalg.eigvals(W)))
        expected = rho * W / radius
        if _close(got, expected, rtol=1e-4, atol=1e-6):
            continue
        ev = np.linalg.eigvals(W)
        if _close(got, rho * W / np.linalg.norm(W, 2), rtol=1e-4, atol=1e-6):
            hint = (
                "you divided by the spectral NORM (largest singular value); the spectral "
                "RADIUS is the largest |eigenvalue|, which is smaller for non-normal matrices."
            )
        elif np.max(ev.real) > 0 and _close(got, rho * W / np.max(ev.real), rtol=1e-4, atol=1e-6):
            hint = "take the largest ABSOLUTE value |lambda| of the (possibly complex) eigenvalues."
        elif _close(got, W / radius, rtol=1e-4, atol=1e-6):
            hint = "after dividing by the spectral radius, multiply by rho."
        else:
            hint = "W' = rho * W / max_i |lambda_i(W)|; eigenvalues with np.linalg.eigvals."
        _compare(ex, words, "W'", got, expected, rtol=1e-4, atol=1e-6, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ ESN readout

_EX_READOUT = Exercise("esn_readout", "")


def esn_readout(fn: Callable) -> None:
    r"""Check ``fn(states, y, lam) -> w (p+1,)``: ridge regression on $S = [H, \mathbf 1]$ (bias
    column LAST), $w = (S^\top S + \lambda I)^{-1}S^\top y$; reference: float64 NumPy."""
    ex = _EX_READOUT
    cases = []
    for words, (T, p, lam), seed in [
        ("T = 20 states of p = 3 units, lam = 0.1", (20, 3, 0.1), 40),
        ("T = 50, p = 8, lam = 1.0", (50, 8, 1.0), 41),
        ("T = 6, p = 2, lam = 0.5", (6, 2, 0.5), 42),
        ("more units than steps: T = 5, p = 8, lam = 0.3", (5, 8, 0.3), 43),
    ]:
        H, w_true = _rng_cases(seed, [(T, p), (p,)])
        H = np.tanh(H)
        y = H @ w_true + 0.7 + 0.05 * np.random.default_rng(seed + 1).normal(size=T)
        cases.append((words, H, y, lam))
    for words, H, y, lam in cases:
        p = H.shape[1]
        got = _array(
            ex,
            words,
            "w",
            _call(ex, fn, (_f(H), _f(y), lam), words, [f"states {H.shape}, y {y.shape}"]),
            (p + 1,),
            hint="append a column of ones to the states: w has p + 1 entries, the bias last.",
        )
        S = np.hstack([H, np.ones((H.shape[0], 1))])
        expected = np.linalg.solve(S.T @ S + lam * np.eye(p + 1), S.T @ y)
        if _close(got, expected, rtol=1e-3, atol=1e-4):
            continue
        S0 = np.hstack([np.ones((H.shape[0], 1)), H])
        bias_first = np.linalg.solve(S0.T @ S0 + lam * np.eye(p + 1), S0.T @ y)
        if _close(got, bias_first, rtol=1e-3, atol=1e-4):
            hint = "put the column of ones LAST (w[-1] is the bias)."
        elif _close(got, np.linalg.lstsq(S, y, rcond=None)[0], rtol=1e-3, atol=1e-4):
            hint = "add lam * I to S^T S (the ridge penalty); you solved plain least squares."
        else:
            hint = "solve (S^T S + lam I) w = S^T y with S = [states, 1] (np.linalg.solve)."
        _compare(ex, words, "w", got, expected, rtol=1e-3, atol=1e-4, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ Exercise 7.4

_EX_74 = Exercise("sigmoid_fixed_point", "7.4")


def _np_fixed_point(W, b, h0, steps):
    h = np.array(h0, dtype=np.float64)
    for _ in range(steps):
        h = 1.0 / (1.0 + np.exp(-(W @ h + b)))
    return h


def sigmoid_fixed_point(fn: Callable) -> None:
    r"""Check ``fn(W, b, h0, steps) -> (h_star, rho_J)`` for Exercise 7.4: iterate
    $h \leftarrow \sigma(Wh + b)$ ``steps`` times from ``h0``, then
    $\rho_J = \max_i|\lambda_i(\mathrm{diag}(h^*(1-h^*))\,W)|$, the spectral radius of the step
    Jacobian at $h^*$ (float64 NumPy reference). One case starts next to the unstable fixed
    point $h = 0.5$ of $b = -3.5$: a function that ignores ``h0`` stays there and fails."""
    ex = _EX_74
    W35 = np.full((2, 2), 3.5)
    W3 = np.array([[0.5, -1.0, 2.0], [1.5, 0.2, -0.7], [-1.2, 0.8, 0.3]])
    cases = [
        ("Exercise 7.4: W = [[3.5, 3.5], [3.5, 3.5]], b = 0, from h0 = 0.5",
         W35, np.zeros(2), np.full(2, 0.5), 200),
        ("the same W with b = -7, from h0 = 0.5: the low fixed point",
         W35, np.full(2, -7.0), np.full(2, 0.5), 200),
        ("the same W with b = -3.5, from h0 = 0.6 (next to the fixed point 0.5)",
         W35, np.full(2, -3.5), np.full(2, 0.6), 200),
        ("a 3-unit net with mixed signs, from h0 = (0.9, 0.1, 0.4)",
         W3, np.array([0.1, -0.2, 0.3]), np.array([0.9, 0.1, 0.4]), 300),
    ]  # fmt: skip
    for words, W, b, h0, steps in cases:
        inputs = [f"W = {W.tolist()}, b = {b.tolist()}, h0 = {h0.tolist()}, steps = {steps}"]
        h_got, r_got = _unpack(
            ex,
            words,
            _call(ex, fn, (_f(W), _f(b), _f(h0), steps), words, inputs),
            ("h_star", "rho_J"),
        )
        h_star = _np_fixed_point(W, b, h0, steps)
        got_h = _array(ex, words, "h_star", h_got, h_star.shape)
        if np.allclose(got_h, _np_fixed_point(W, b, np.full(W.shape[0], 0.5), steps), atol=1e-4):
            start_hint = (
                "start at the given h0, not at 0.5: from h0 = 0.6 the state leaves the "
                "fixed point 0.5, because that fixed point is unstable."
            )
        else:
            start_hint = "start at h0 and apply h <- sigmoid(W @ h + b) exactly `steps` times."
        _compare(
            ex,
            words,
            "h_star",
            got_h,
            h_star,
            rtol=1e-4,
            atol=1e-6,
            hint=start_hint,
            details=inputs,
        )
        rho = float(np.max(np.abs(np.linalg.eigvals((h_star * (1 - h_star))[:, None] * W))))
        got_r = _scalar(ex, words, "rho_J", r_got)
        if np.isclose(got_r, rho, rtol=1e-3, atol=1e-7):
            continue
        rho_W = float(np.max(np.abs(np.linalg.eigvals(W))))
        s = 1 / (1 + np.exp(-h_star))
        if np.isclose(got_r, 0.25 * rho_W, rtol=1e-3):
            hint = (
                "0.25 * rho(W) is only the upper bound (sigma' <= 1/4); use the actual "
                "sigma'(a) = h*(1 - h*) at the fixed point."
            )
        elif np.isclose(got_r, rho_W, rtol=1e-3):
            hint = "the step's Jacobian is diag(sigma'(a)) @ W, not W alone."
        elif np.isclose(
            got_r,
            float(np.max(np.abs(np.linalg.eigvals((s * (1 - s))[:, None] * W)))),
            rtol=1e-3,
        ):
            hint = (
                "sigma'(a) = sigma(a)(1 - sigma(a)) = h*(1 - h*): do not apply sigma to h* again."
            )
        elif np.isclose(got_r, float(np.linalg.norm((h_star * (1 - h_star))[:, None] * W, 2))):
            hint = (
                "rho_J is the spectral RADIUS (largest |eigenvalue|) of the Jacobian, not its "
                "spectral norm."
            )
        else:
            hint = "rho_J = max |eigenvalue| of diag(h*(1-h*)) @ W."
        _compare(ex, words, "rho_J", np.float64(got_r), rho, rtol=1e-3, atol=1e-7, hint=hint)
    _passed(ex, len(cases))
