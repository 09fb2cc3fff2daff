r"""Self-checks for the exercises on margins, likelihoods and shallow ensembles (Aggarwal
Exercises 2.2, 2.7, 2.10, 2.11, 2.12).

The references are written out here in NumPy, with explicit loops over examples and classes
where the student is expected to vectorize. Common slips are recognized and answered with a
hint.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

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

_close = _close_within(rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------------ Weston-Watkins, margin a

_EX_WW = Exercise("ww_loss", "2.2")


def _ww_ref(W, X, y, a, *, own=False, sign=1.0):
    total = 0.0
    for i in range(X.shape[0]):
        for r in range(W.shape[0]):
            if r == y[i] and not own:
                continue
            total += max(0.0, a + sign * (W[r] @ X[i] - W[y[i]] @ X[i]))
    return total


def ww_loss(fn: Callable) -> None:
    r"""Check ``fn(W, X, y, a)`` $= \sum_i\sum_{r\ne y_i}\max(0,\ a + W_r\cdot X_i - W_{y_i}\cdot
    X_i)$ for ``W (k, d)``, ``X (n, d)``, integer labels ``y (n,)``, margin ``a``."""
    ex = _EX_WW
    rng = np.random.default_rng(21)
    cases = [("k = 3 classes, n = 5, d = 2, a = 1", 3, 5, 2, 1.0),
             ("k = 4, n = 6, d = 3, a = 0.5", 4, 6, 3, 0.5),
             ("k = 2, n = 4, d = 2, a = 2", 2, 4, 2, 2.0),
             ("k = 3, n = 3, d = 4, a = 0 (the perceptron criterion)", 3, 3, 4, 0.0)]  # fmt: skip
    for words, k, n, d, a in cases:
        W, X = rng.normal(size=(k, d)), rng.normal(size=(n, d))
        y = rng.integers(0, k, n)
        got = _scalar(ex, words, "the loss",
                      _call(ex, fn, (_f(W), _f(X), np.asarray(y), a), words))  # fmt: skip
        expected = _ww_ref(W, X, y, a)
        if np.isclose(got, expected, rtol=1e-4, atol=1e-5):
            continue
        if np.isclose(got, _ww_ref(W, X, y, a, own=True), rtol=1e-4, atol=1e-5):
            hint = "leave out r = y_i: the true class is not compared with itself (that adds a)."
        elif np.isclose(got, expected / n, rtol=1e-4, atol=1e-5):
            hint = "sum over the examples, do not average."
        elif np.isclose(got, _ww_ref(W, X, y, a, sign=-1.0), rtol=1e-4, atol=1e-5):
            hint = "the violation is a + (score of r) - (score of the true class), not minus."
        elif np.isclose(got, _ww_ref(W, X, y, 1.0), rtol=1e-4, atol=1e-5):
            hint = "use the margin a that is passed in, not 1."
        else:
            hint = "scores = X @ W.T (n, k); compare every wrong class r with the true one."
        _compare(ex, words, "the loss", got, expected, rtol=1e-4, atol=1e-5, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------ item neighbourhood

_EX_NB = Exercise("neighbourhood_step", "2.7")


def neighbourhood_step(fn: Callable) -> None:
    r"""Check ``fn(W, R, lr)``: one gradient step on $J = \frac12\|R - RW\|_F^2$ over the
    off-diagonal entries of ``W (d, d)`` only: $W - \alpha\,M\odot R^\top(RW - R)$, $M = 1 - I$."""
    ex = _EX_NB
    rng = np.random.default_rng(22)
    cases = [("R (6 users, 4 items), lr = 0.01", 6, 4, 0.01),
             ("R (5 users, 3 items), lr = 0.1", 5, 3, 0.1),
             ("R (8 users, 5 items), lr = 0.02", 8, 5, 0.02)]  # fmt: skip
    for words, n, d, lr in cases:
        R = rng.normal(size=(n, d))
        W = rng.normal(size=(d, d)) * 0.3
        np.fill_diagonal(W, 0.0)
        got = _array(ex, words, "the new W", _call(ex, fn, (_f(W), _f(R), lr), words), (d, d),
                     hint="W maps d items to d items: it stays (d, d).")  # fmt: skip
        G = R.T @ (R @ W - R)
        mask = 1.0 - np.eye(d)
        expected = W - lr * mask * G
        if _close(got, expected):
            if np.any(np.diag(got) != 0.0):
                raise CheckFailed(ex, "the diagonal of the new W is not exactly 0", case=words,
                                  hint="multiply the gradient by the mask (1 - I), so the "
                                  "diagonal never moves.")  # fmt: skip
            continue
        if _close(got, W - lr * G):
            hint = "an item may not predict itself: mask the gradient's diagonal with (1 - I)."
        elif _close(got, W + lr * mask * G):
            hint = "step against the gradient (W - lr * grad), not along it."
        elif _close(got, W - 2 * lr * mask * G):
            hint = "the loss has a factor 1/2: its gradient is R^T (R W - R), without the 2."
        else:
            hint = "the gradient of 1/2 ||R - R W||^2 in W is R^T (R W - R)."
        _compare(ex, words, "the new W", got, expected, rtol=1e-4, atol=1e-5, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------ PLSA / KL-NMF

_EX_PLSA = Exercise("plsa_update", "2.10")


def _kl_updates(D, U, V, *, simultaneous=False):
    U_old = U
    U = U * ((D / (U @ V.T)) @ V) / V.sum(axis=0)
    Uv = U_old if simultaneous else U
    V = V * ((D / (Uv @ V.T)).T @ Uv) / Uv.sum(axis=0)
    return U, V


def plsa_update(fn: Callable) -> None:
    r"""Check ``fn(D, U, V) -> (U, V)``: one round of the multiplicative updates that decrease
    the I-divergence of $D \approx UV^\top$: first $U$, then $V$ with the new $U$."""
    ex = _EX_PLSA
    rng = np.random.default_rng(23)
    cases = [("D (6, 5), rank 2", 6, 5, 2), ("D (4, 7), rank 3", 4, 7, 3),
             ("D (5, 5), rank 1", 5, 5, 1)]  # fmt: skip
    for words, n, m, r in cases:
        D = rng.poisson(3.0, size=(n, m)).astype(float) + 0.5
        U, V = rng.uniform(0.5, 1.5, (n, r)), rng.uniform(0.5, 1.5, (m, r))
        out = _unpack(ex, words, _call(ex, fn, (_f(D), _f(U), _f(V)), words), ("U", "V"))
        gU = _array(ex, words, "U", out[0], (n, r), hint="U keeps its shape (n, r).")
        gV = _array(ex, words, "V", out[1], (m, r), hint="V keeps its shape (m, r).")
        eU, eV = _kl_updates(D, U, V)
        if _close(gU, eU) and _close(gV, eV):
            continue
        frob_U = U * (D @ V) / (U @ V.T @ V)
        if _close(gU, eU) and _close(gV, _kl_updates(D, U, V, simultaneous=True)[1]):
            hint = "update V with the new U (alternate: U first, then V)."
        elif _close(gU, frob_U):
            hint = ("that is the update for the squared error (Lee & Seung's first rule); for "
                    "the I-divergence divide D by U V^T entrywise first.")  # fmt: skip
        elif _close(gU, U * ((D / (U @ V.T)) @ V)):
            hint = "divide by the column sums of V (for U) and of U (for V)."
        else:
            hint = "U <- U * ((D / (U V^T)) V) / colsum(V); then the same for V with U."
        _compare(ex, words, "U", gU, eU, rtol=1e-4, atol=1e-5, hint=hint)
        _compare(ex, words, "V", gV, eV, rtol=1e-4, atol=1e-5, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------ ensemble as a network

_EX_ENS = Exercise("ensemble_network", "2.11")


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def ensemble_network(fn: Callable) -> None:
    r"""Check ``fn(X, W1, v)``: hidden units $h_1 = W1_0\cdot x$ (Adaline, linear) and
    $h_2 = 2\sigma(W1_1\cdot x) - 1$ (logistic, mapped to $[-1, 1]$), output
    $v_1 h_1 + v_2 h_2$, for ``X (n, d)``, ``W1 (2, d)``, ``v (2,)``; returns ``(n,)``."""
    ex = _EX_ENS
    rng = np.random.default_rng(24)
    cases = [("n = 5, d = 3, v = (1/2, 1/2)", 5, 3, [0.5, 0.5]),
             ("n = 4, d = 2, v = (0.2, 1.3)", 4, 2, [0.2, 1.3]),
             ("n = 6, d = 4, v = (1, 0)", 6, 4, [1.0, 0.0])]  # fmt: skip
    for words, n, d, v in cases:
        X, W1, v = rng.normal(size=(n, d)), rng.normal(size=(2, d)), np.asarray(v)
        got = _array(ex, words, "the output", _call(ex, fn, (_f(X), _f(W1), _f(v)), words),
                     (n,), hint="one output per example: shape (n,).")  # fmt: skip
        a, b = X @ W1[0], X @ W1[1]
        expected = v[0] * a + v[1] * (2 * _sigmoid(b) - 1)
        if _close(got, expected):
            continue
        if _close(got, v[0] * a + v[1] * _sigmoid(b)):
            hint = ("rescale the logistic unit to [-1, 1] with 2 sigma(z) - 1, so that both "
                    "units predict the sign of the class.")  # fmt: skip
        elif _close(got, v[0] * (2 * _sigmoid(a) - 1) + v[1] * (2 * _sigmoid(b) - 1)):
            hint = "the Adaline unit is linear: no sigmoid on W1[0] . x."
        elif _close(got, v[1] * a + v[0] * (2 * _sigmoid(b) - 1)):
            hint = "v[0] weighs the Adaline unit (row 0 of W1), v[1] the logistic one."
        else:
            hint = "h = (X @ W1[0], 2 * sigmoid(X @ W1[1]) - 1); output v[0] h1 + v[1] h2."
        _compare(ex, words, "the output", got, expected, rtol=1e-4, atol=1e-5, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------ stacking features

_EX_STACK = Exercise("stack_features", "2.12")


def _stack_ref(X, W1):
    rows = []
    for x in X:
        adaline = float(x @ W1[0])
        logistic = 2.0 / (1.0 + np.exp(-float(x @ W1[1]))) - 1.0
        rows.append([adaline, logistic, 1.0])
    return np.array(rows)


def stack_features(fn: Callable) -> None:
    r"""Check ``fn(X, W1)``: the combiner's inputs, one row $[W1_0\cdot x,\ 2\sigma(W1_1\cdot x)
    - 1,\ 1]$ per example, for ``X (n, d)`` and the base models' weights ``W1 (2, d)``;
    returns ``(n, 3)``."""
    ex = _EX_STACK
    rng = np.random.default_rng(25)
    cases = [("n = 5, d = 3", 5, 3), ("n = 4, d = 2", 4, 2), ("n = 6, d = 4", 6, 4)]
    for words, n, d in cases:
        X, W1 = rng.normal(size=(n, d)), rng.normal(size=(2, d))
        got = _array(ex, words, "the features", _call(ex, fn, (_f(X), _f(W1)), words), (n, 3),
                     hint="one row per example: the two base models' outputs and a constant "
                     "1, shape (n, 3).")  # fmt: skip
        expected = _stack_ref(X, W1)
        if _close(got, expected):
            continue
        a, b, one = X @ W1[0], X @ W1[1], np.ones(n)
        sig = 1.0 / (1.0 + np.exp(-b))
        if _close(got, np.stack([a, sig, one], axis=1)):
            hint = ("rescale the logistic probability to [-1, 1] with 2 sigma(z) - 1, as the "
                    "hidden unit of Exercise 4 does.")  # fmt: skip
        elif _close(got, np.stack([a, b, one], axis=1)):
            hint = "the logistic model's output is 2 sigmoid(W1[1] . x) - 1, not its raw score."
        elif _close(got, np.stack([one, a, 2 * sig - 1], axis=1)):
            hint = "the constant feature 1 goes last (data.add_bias appends it)."
        elif _close(got, np.stack([2 * sig - 1, a, one], axis=1)):
            hint = "column 0 is Adaline (row 0 of W1), column 1 the logistic model."
        else:
            hint = "columns: X @ W1[0], 2 * sigmoid(X @ W1[1]) - 1, and a column of ones."
        _compare(ex, words, "the features", got, expected, rtol=1e-4, atol=1e-5, hint=hint)
    _passed(ex, len(cases))
