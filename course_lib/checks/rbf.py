r"""Self-checks for the exercises on RBF networks (Aggarwal §5.1–5.2 and Exercises 5.1–5.3, 5.9).

Every check runs the student's function on a few fixed cases and compares with a reference
written out here in NumPy loops (the Lloyd step, the pairwise distances, the hard-ball units,
the sigmoid output layer's update, the nearest prototype, the composed linear map, the gradient
of Eq 5.8). Common slips are recognized and answered with a targeted hint.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np

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

_close = _close_within(rtol=1e-5, atol=1e-6)


def _sq_dist_loops(X: np.ndarray, C: np.ndarray) -> np.ndarray:
    D = np.zeros((X.shape[0], C.shape[0]))
    for i, j in itertools.product(range(X.shape[0]), range(C.shape[0])):
        D[i, j] = float(np.sum((X[i] - C[j]) ** 2))
    return D


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


# ------------------------------------------------------------------------------ Lloyd step

_EX_LLOYD = Exercise("kmeans_step", "")


def _lloyd_reference(X, C, *, keep_empty=True, mean=True):
    D = _sq_dist_loops(X, C)
    a = D.argmin(axis=1)
    new = C.copy()
    for j in range(C.shape[0]):
        members = X[a == j]
        if len(members):
            new[j] = members.mean(axis=0) if mean else members.sum(axis=0)
        elif not keep_empty:
            new[j] = np.nan
    return new, a


def kmeans_step(fn: Callable) -> None:
    r"""Check ``fn(X, centers) -> (new_centers, assignments)``: one Lloyd step of batch k-means
    (assign to the nearest prototype, move each prototype to its points' mean; a prototype with
    no points stays put)."""
    ex = _EX_LLOYD
    rng = np.random.default_rng(51)
    blobs = np.concatenate([rng.normal(size=(6, 2)) + c for c in ([0, 0], [5, 0], [0, 5])])
    cases = [
        ("6 points on a line, 2 prototypes", np.array([[0.0], [1], [2], [6], [7], [9]]),
         np.array([[1.5], [5.0]])),
        ("three blobs, 3 prototypes", blobs, blobs[[0, 6, 12]] + 0.5),
        ("three blobs, a 3rd prototype far away (it wins no point)", blobs,
         np.concatenate([blobs[[1, 7]], [[40.0, -40.0]]])),
        ("three blobs, 3 random prototypes", blobs, rng.normal(size=(3, 2)) * 3.0),
    ]  # fmt: skip
    for words, X, C in cases:
        out = _call(ex, fn, (_f(X), _f(C)), words)
        new, a = _unpack(ex, words, out, ("new_centers", "assignments"))
        new = _array(ex, words, "new_centers", new, C.shape)
        a = _array(ex, words, "assignments", a, (X.shape[0],),
                   hint="one prototype index per point.")  # fmt: skip
        want, want_a = _lloyd_reference(X, C)
        if not np.array_equal(a, want_a):
            if np.array_equal(a, _lloyd_reference(X, want)[1]):
                hint = "return the assignments the update used: to the *old* prototypes."
            else:
                hint = "assign each point to the prototype at the smallest squared distance."
            _compare(ex, words, "assignments", a, want_a, rtol=0, atol=0, hint=hint)
        if _close(new, want):
            continue
        if not np.all(np.isfinite(new)):
            hint = (
                "a prototype that wins no point has an empty mean (0/0); keep it where it was "
                "(e.g. jnp.where on the counts)."
            )
        elif _close(new, _lloyd_reference(X, C, mean=False)[0]):
            hint = "divide each cluster's sum by the number of its points: the centroid is a mean."
        else:
            hint = "each new prototype is the mean of the points assigned to it."
        _compare(ex, words, "new_centers", new, want, atol=1e-6, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ bandwidths

_EX_BW = Exercise("bandwidth_rules", "")


def bandwidth_rules(fn: Callable) -> None:
    r"""Check ``fn(centers) -> (sigma_max, sigma_mean)``: $d_{\max}/\sqrt m$ and
    $2 d_{\mathrm{ave}}$, with $d_{\mathrm{ave}}$ the mean distance over pairs of distinct
    prototypes (§5.2.1)."""
    ex = _EX_BW
    rng = np.random.default_rng(52)
    cases = [
        ("the unit square's 4 corners", np.array([[0.0, 0], [1, 0], [0, 1], [1, 1]])),
        ("4 random prototypes in 2-D", rng.uniform(-2, 2, size=(4, 2))),
        ("6 random prototypes in 3-D", rng.normal(size=(6, 3))),
    ]
    for words, C in cases:
        out = _unpack(ex, words, _call(ex, fn, (_f(C),), words), ("sigma_max", "sigma_mean"))
        got_max = _scalar(ex, words, "sigma_max", out[0])
        got_mean = _scalar(ex, words, "sigma_mean", out[1])
        m = C.shape[0]
        D = np.sqrt(_sq_dist_loops(C, C))
        pairs = [D[i, j] for i in range(m) for j in range(i + 1, m)]
        want_max = max(pairs) / math.sqrt(m)
        want_mean = 2.0 * float(np.mean(pairs))
        if not math.isclose(got_max, want_max, rel_tol=1e-5):
            if math.isclose(got_max, max(pairs), rel_tol=1e-5):
                hint = "divide the largest distance by sqrt(m), m the number of prototypes."
            elif math.isclose(got_max, max(pairs) / m, rel_tol=1e-5):
                hint = "divide by sqrt(m), not by m."
            else:
                hint = "d_max is the largest Euclidean distance between two prototypes."
            _compare(ex, words, "sigma_max", np.float64(got_max), want_max, rtol=1e-5,
                     hint=hint)  # fmt: skip
        if not math.isclose(got_mean, want_mean, rel_tol=1e-5):
            if math.isclose(got_mean, 2.0 * D.mean(), rel_tol=1e-5):
                hint = (
                    "average over pairs of *distinct* prototypes: the m zeros on the diagonal "
                    "of the distance matrix are not pairs."
                )
            elif math.isclose(got_mean, want_mean / 2.0, rel_tol=1e-5):
                hint = "the rule is twice the average distance."
            elif math.isclose(got_mean, 2.0 * float(np.mean(np.square(pairs))), rel_tol=1e-5):
                hint = "average the distances, not the squared distances."
            else:
                hint = "d_ave is the mean of the m(m-1)/2 distances between distinct prototypes."
            _compare(ex, words, "sigma_mean", np.float64(got_mean), want_mean, rtol=1e-5,
                     hint=hint)  # fmt: skip
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ Ex 5.1

_EX_BALL = Exercise("hard_ball_layer", "5.1")


def hard_ball_layer(fn: Callable) -> None:
    r"""Check ``fn(X, centers, sigma) -> H``: $H_{ij} = 1$ if $\|X_i - \mu_j\| < \sigma$ else 0
    (Exercise 5.1), shape ``(n, m)``."""
    ex = _EX_BALL
    rng = np.random.default_rng(53)
    cases = [
        ("1-D, sigma = 1 (a point exactly at distance 1 is outside)",
         np.array([[0.0], [0.5], [1.0], [2.5]]), np.array([[0.0], [2.0]]), 1.0),
        ("2-D, sigma = 2.5", rng.integers(-3, 4, size=(8, 2)).astype(float),
         np.array([[0.0, 0.0], [2.0, 1.0], [-3.0, 2.0]]), 2.5),
        ("2-D, sigma = 0.6", rng.normal(size=(8, 2)), rng.normal(size=(3, 2)), 0.6),
    ]  # fmt: skip
    for words, X, C, sigma in cases:
        out = _call(ex, fn, (_f(X), _f(C), sigma), words)
        got = _array(ex, words, "H", out, (X.shape[0], C.shape[0]),
                     hint="one row per input, one column per prototype.")  # fmt: skip
        D2 = _sq_dist_loops(X, C)
        want = (np.sqrt(D2) < sigma).astype(float)
        if np.array_equal(got, want):
            continue
        if np.array_equal(got, (D2 < sigma).astype(float)):
            hint = "compare the distance with sigma (or the squared distance with sigma**2)."
        elif np.array_equal(got, (np.sqrt(D2) <= sigma).astype(float)):
            hint = "a point exactly at distance sigma is outside the ball: use a strict <."
        elif np.array_equal(got, 1.0 - want):
            hint = "the unit answers 1 *inside* the ball, 0 outside."
        elif np.all((got > 0) & (got <= 1)):
            hint = "the output should be exactly 0 or 1 (a step), not a Gaussian."
        else:
            hint = "H[i, j] = 1.0 when ||X[i] - centers[j]|| < sigma, else 0.0."
        _compare(ex, words, "H", got, want, rtol=0, atol=0, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ Ex 5.2

_EX_LOGIT = Exercise("sigmoid_output_step", "5.2")


def _logistic_step(W, H, y, lr, lam, sign=1.0, decay=True):
    z = H @ W
    grad = (y * _sigmoid(-sign * y * z)) @ H
    return W * ((1.0 - lr * lam) if decay else 1.0) + lr * grad


def sigmoid_output_step(fn: Callable) -> None:
    r"""Check ``fn(W, H, y, lr, lam) -> W_new``: one gradient step on the regularized negative
    log-likelihood of a sigmoid output unit (Exercise 5.2), with labels $y_i \in \{-1, +1\}$:
    $W \Leftarrow W(1 - \alpha\lambda) + \alpha\sum_i y_i H_i\,\sigma(-y_i\, W\cdot H_i)$."""
    ex = _EX_LOGIT
    rng = np.random.default_rng(54)
    cases = []
    for words, n, m, lr, lam in [
        ("n = 4, m = 3, lr = 0.5, lam = 0", 4, 3, 0.5, 0.0),
        ("n = 10, m = 5, lr = 0.1, lam = 0.2", 10, 5, 0.1, 0.2),
        ("n = 10, m = 5, lr = 0.05, lam = 1.0", 10, 5, 0.05, 1.0),
    ]:
        H = np.exp(-rng.uniform(0, 3, size=(n, m)))  # activations in (0, 1]
        y = rng.choice([-1.0, 1.0], size=n)
        cases.append((words, rng.normal(size=m), H, y, lr, lam))
    for words, W, H, y, lr, lam in cases:
        got = _array(ex, words, "W_new", _call(ex, fn, (_f(W), _f(H), _f(y), lr, lam), words),
                     W.shape)  # fmt: skip
        want = _logistic_step(W, H, y, lr, lam)
        if _close(got, want):
            continue
        if _close(got, _logistic_step(W, H, y, lr, lam, sign=-1.0)):
            hint = (
                "the weight of example i is sigmoid(-y_i W.H_i): large when the example is "
                "misclassified, small when it is classified with a margin."
            )
        elif lam > 0 and _close(got, _logistic_step(W, H, y, lr, lam, decay=False)):
            hint = "the penalty shrinks W by the factor (1 - lr * lam) at every step."
        elif _close(got, W - lr * ((y * _sigmoid(-y * (H @ W))) @ H) * 1.0 - lr * lam * W):
            hint = "this is gradient *descent* on the loss: the likelihood term is added."
        else:
            hint = (
                "compute z = H @ W, the weights y * sigmoid(-y * z), then their sum of rows of H."
            )
        _compare(ex, words, "W_new", got, want, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ Ex 5.3

_EX_NN = Exercise("rbf_sign", "5.3")


def _rbf_sign_reference(X, C, w, sigma):
    D2 = _sq_dist_loops(X, C)
    # multiply each row by exp(min_j d^2 / 2 sigma^2) > 0: the sign is unchanged, no underflow
    S = np.exp(-(D2 - D2.min(axis=1, keepdims=True)) / (2.0 * sigma**2))
    return np.sign(S @ w)


def rbf_sign(fn: Callable) -> None:
    r"""Check ``fn(X, centers, w, sigma)``: the sign of the RBF network's output
    $\sum_j w_j \Phi_j(X_i)$, computed so that it stays right for tiny $\sigma$ (Exercise 5.3:
    then it is the sign of the nearest prototype's weight)."""
    ex = _EX_NN
    rng = np.random.default_rng(55)
    C = rng.normal(size=(6, 2))
    w = np.array([1.0, -2.0, 0.5, -0.7, 1.5, -1.0])
    X = rng.normal(size=(12, 2))
    cases = [
        ("sigma = 1 (every unit contributes)", X, C, w, 1.0),
        ("sigma = 0.3", X, C, w, 0.3),
        ("sigma = 0.01 (exp underflows: the nearest prototype decides)", X, C, w, 0.01),
        ("sigma = 1e-4, points far from every prototype", 4.0 * X + 3.0, C, w, 1e-4),
    ]
    for words, Xc, Cc, wc, sigma in cases:
        got = _array(ex, words, "the signs", _call(ex, fn, (_f(Xc), _f(Cc), _f(wc), sigma), words),
                     (Xc.shape[0],), hint="one sign per input.")  # fmt: skip
        want = _rbf_sign_reference(Xc, Cc, wc, sigma)
        if np.array_equal(got, want):
            continue
        D2 = _sq_dist_loops(Xc, Cc)
        nearest = np.sign(wc[D2.argmin(axis=1)])
        if np.any(got == 0):
            hint = (
                "for small sigma every exp(-d^2 / 2 sigma^2) underflows to 0. Multiply each row "
                "by exp(+min_j d^2 / 2 sigma^2) (a positive factor: the sign does not change) "
                "before summing, as log-sum-exp does."
            )
        elif np.array_equal(got, nearest):
            hint = "for a moderate sigma all units contribute: take the sign of the whole sum."
        else:
            hint = "the sign of H @ w, with H_ij = exp(-||X_i - mu_j||^2 / (2 sigma^2))."
        _compare(ex, words, "the signs", got, want, rtol=0, atol=0, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ Ex 5.9

_EX_LIN = Exercise("collapse_dot_product_net", "5.9")


def collapse_dot_product_net(fn: Callable) -> None:
    r"""Check ``fn(P, w) -> v``: a hidden layer of dot products with the prototypes,
    $h_j = P_j \cdot X$, followed by the linear output $\hat y = w \cdot h$, is the single
    linear map $\hat y = v \cdot X$ (Exercise 5.9); ``P: (m, d)``, ``w: (m,)``, ``v: (d,)``."""
    ex = _EX_LIN
    rng = np.random.default_rng(59)
    cases = [
        ("m = 3 prototypes in d = 3 (square P)", rng.normal(size=(3, 3)), rng.normal(size=3)),
        ("m = 5 prototypes in d = 2", rng.normal(size=(5, 2)), rng.normal(size=5)),
        ("m = 5 prototypes in d = 2, other values", rng.normal(size=(5, 2)), rng.normal(size=5)),
    ]
    for words, P, w in cases:
        got = _array(ex, words, "v", _call(ex, fn, (_f(P), _f(w)), words), (P.shape[1],),
                     hint="v has one entry per input dimension d.")  # fmt: skip
        want = np.zeros(P.shape[1])
        for j in range(P.shape[0]):
            want += w[j] * P[j]
        if _close(got, want):
            continue
        if P.shape[0] == P.shape[1] and _close(got, P @ w):
            hint = "h = P @ x, so w . h = w . (P @ x) = (P^T w) . x: transpose P."
        elif _close(got, want / P.shape[0]):
            hint = "the output layer sums the weighted units; it does not average them."
        else:
            hint = "write w . (P @ x) as a single dot product with x."
        _compare(ex, words, "v", got, want, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ Eq 5.8

_EX_MU = Exercise("mu_gradient", "")


def _mu_grad_reference(X, y, C, sigma, w, *, power=2, sign=1.0, with_w=True):
    n, m = X.shape[0], C.shape[0]
    H = np.exp(-_sq_dist_loops(X, C) / (2.0 * sigma**2))
    err = H @ w - y
    G = np.zeros_like(C)
    for i, j in itertools.product(range(n), range(m)):
        G[j] += err[i] * (w[j] if with_w else 1.0) * H[i, j] * sign * (X[i] - C[j])
    return G / (sigma[:, None] ** power)


def mu_gradient(fn: Callable) -> None:
    r"""Check ``fn(X, y, centers, sigma, w) -> G``: $\partial L/\partial\mu_{jk}$ of
    $L = \frac12\sum_i (H_i\cdot W - y_i)^2$ (Eq 5.8), shape ``(m, d)``; ``sigma: (m,)``."""
    ex = _EX_MU
    rng = np.random.default_rng(58)
    cases = []
    for words, n, m, d in [
        ("n = 5, m = 2, d = 1", 5, 2, 1),
        ("n = 12, m = 4, d = 2", 12, 4, 2),
        ("n = 12, m = 4, d = 2, other values", 12, 4, 2),
    ]:
        X = rng.normal(size=(n, d))
        cases.append((words, X, rng.normal(size=n), X[:m] + 0.3, rng.uniform(0.5, 2.0, m),
                      rng.normal(size=m)))  # fmt: skip
    for words, X, y, C, sigma, w in cases:
        got = _array(ex, words, "G", _call(ex, fn, tuple(_f(a) for a in (X, y, C, sigma, w)),
                     words), C.shape, hint="one row per prototype, like centers.")  # fmt: skip
        want = _mu_grad_reference(X, y, C, sigma, w)
        if _close(got, want, rtol=1e-4, atol=1e-5):
            continue
        if _close(got, -want, rtol=1e-4, atol=1e-5):
            hint = "the factor is (x_ik - mu_jk), not (mu_jk - x_ik): check the sign."
        elif _close(got, _mu_grad_reference(X, y, C, sigma, w, power=3), rtol=1e-4, atol=1e-5):
            hint = "for mu the factor is 1/sigma_j**2 (sigma_j**3 belongs to dL/dsigma_j)."
        elif _close(got, _mu_grad_reference(X, y, C, sigma, w, with_w=False), rtol=1e-4,
                    atol=1e-5):  # fmt: skip
            hint = "unit j reaches the output through its weight w_j: multiply by it."
        else:
            hint = (
                "sum over the examples: error_i * w_j * Phi_j(X_i) * (X_i - mu_j) / sigma_j**2, "
                "with error_i = H_i . w - y_i."
            )
        _compare(ex, words, "G", got, want, rtol=1e-4, atol=1e-5, hint=hint)
    _passed(ex, len(cases))
