r"""Self-checks for the exercises on RBF classifiers and kernel methods (Aggarwal §5.3–5.4, §5.7).

Every reference is written out here in NumPy (float64), independently of the library: a loop
over the set $S^+$ (hinge update, Eq 5.12), ``np.linalg.solve`` (kernel ridge, the ridge head on
the labelled rows), the softmax gradient $(P - Y)^\top H / n$ (Ex 5.4), an eigendecomposition of
the centred kernel compared through $ZZ^\top$ so that the eigenvectors' signs do not matter
(Ex 5.5), a per-row sort (top-$k$ RBF units, Ex 5.6) and a double loop over
(outlier, inlier) pairs (AUC, Ex 5.8). Common slips are recognized and answered with a hint.
"""

from __future__ import annotations

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
)

_close = _close_within(rtol=1e-4, atol=1e-5)


def _gauss(X: np.ndarray, C: np.ndarray, sigma: float, two: float = 2.0) -> np.ndarray:
    d2 = ((X[:, None, :] - C[None, :, :]) ** 2).sum(-1)
    return np.exp(-d2 / (two * sigma**2))


# ------------------------------------------------------------------------------ hinge update

_EX_HINGE = Exercise("hinge_update", "")


def _hinge_reference(W, H, y, lr, lam, *, mode="hinge", decay=True, mean=False):
    new = W * (1.0 - lr * lam) if decay else W.copy()
    z = y * (H @ W)
    step = lr / len(y) if mean else lr
    for h, t, zi in zip(H, y, z, strict=True):
        if (
            (mode == "hinge" and zi < 1)
            or (mode == "perceptron" and zi <= 0)
            or (mode == "hinge_le" and zi <= 1)
        ):
            new = new + step * t * h
    return new


def hinge_update(fn: Callable) -> None:
    r"""Check ``fn(W, H, y, lr, lam)`` $= W(1-\alpha\lambda) + \alpha\sum_{S^+} y_iH_i$, with
    $S^+ = \{i : y_i W\cdot H_i < 1\}$ (Eq 5.12)."""
    ex = _EX_HINGE
    rng = np.random.default_rng(12)
    cases = []
    for words, n, m, lr, lam in [
        ("8 codes of width 4, lr = 0.1, lam = 0.05", 8, 4, 0.1, 0.05),
        ("20 codes of width 6, lr = 0.5, lam = 0.0", 20, 6, 0.5, 0.0),
        ("12 codes of width 3, lr = 0.2, lam = 0.3", 12, 3, 0.2, 0.3),
    ]:
        H = rng.random((n, m))
        W = rng.normal(size=m)
        y = np.where(rng.random(n) < 0.5, -1.0, 1.0)
        cases.append((words, W, H, y, lr, lam))
    # a point exactly on the margin (z = 1) is not in S+; a correct one beyond it neither
    cases.append(
        (
            "z = 1 exactly for the first point, z = 2 for the second",
            np.array([1.0, 0.0]),
            np.array([[1.0, 5.0], [2.0, 1.0], [-1.0, 0.5]]),
            np.array([1.0, 1.0, 1.0]),
            0.5,
            0.1,
        )
    )
    for words, W, H, y, lr, lam in cases:
        got = _array(
            ex,
            words,
            "the new W",
            _call(ex, fn, (_f(W), _f(H), _f(y), lr, lam), words),
            W.shape,
            hint="W keeps its shape (m,).",
        )
        want = _hinge_reference(W, H, y, lr, lam)
        if _close(got, want):
            continue
        if _close(got, _hinge_reference(W, H, y, lr, lam, mode="perceptron")):
            hint = (
                "that is the perceptron's S+ (mistakes only); the hinge also updates on the "
                "points with 0 < z < 1."
            )
        elif _close(got, _hinge_reference(W, H, y, lr, lam, mode="hinge_le")):
            hint = "a point with y W.H = 1 exactly sits on the margin and has zero loss: use z < 1."
        elif _close(got, _hinge_reference(W, H, y, lr, lam, decay=False)):
            hint = "shrink W by the factor (1 - lr * lam) first (the weight decay)."
        elif _close(got, _hinge_reference(W, H, y, lr, lam, mean=True)):
            hint = "Eq 5.12 sums over S+; it does not divide by the batch size."
        elif _close(got, 2 * W * (1 - lr * lam) - _hinge_reference(W, H, y, lr, lam)):
            hint = "the step goes *along* y_i H_i for points in S+ (add, don't subtract)."
        else:
            hint = "z_i = y_i (W . H_i); S+ = {i : z_i < 1}; then W(1 - lr lam) + lr sum y_i H_i."
        _compare(ex, words, "the new W", got, want, rtol=1e-4, atol=1e-5, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ kernel ridge

_EX_KRR = Exercise("kernel_ridge", "")


def _kernel_cases():
    rng = np.random.default_rng(5)
    out = []
    for words, n, sigma, lam in [
        ("6 points in 1-D, sigma = 0.7, lam = 0.1", 6, 0.7, 0.1),
        ("10 points in 2-D, sigma = 1.0, lam = 1.0", 10, 1.0, 1.0),
        ("8 points in 2-D, sigma = 0.5, lam = 0.01", 8, 0.5, 0.01),
    ]:
        X = rng.normal(size=(n, 1 if "1-D" in words else 2))
        out.append((words, _gauss(X, X, sigma), rng.normal(size=n), lam))
    return out


def kernel_ridge(fn: Callable) -> None:
    r"""Check ``fn(K, y, lam)`` $= (K + \lambda I)^{-1} y$ (kernel ridge regression)."""
    ex = _EX_KRR
    cases = _kernel_cases()
    for words, K, y, lam in cases:
        got = _array(
            ex,
            words,
            "alpha",
            _call(ex, fn, (_f(K), _f(y), lam), words),
            y.shape,
            hint="alpha has one entry per training point.",
        )
        n = len(y)
        want = np.linalg.solve(K + lam * np.eye(n), y)
        if _close(got, want, rtol=1e-3, atol=1e-4):
            continue
        if _close(got, np.linalg.solve(K @ K + lam * np.eye(n), K @ y), rtol=1e-3, atol=1e-4):
            hint = (
                "that is the RBF network's ridge output (K^2 + lam I)^-1 K y, which penalizes "
                "||w||^2; kernel ridge penalizes alpha^T K alpha and gives (K + lam I)^-1 y."
            )
        elif _close(got, np.linalg.solve(K, y), rtol=1e-3, atol=1e-4):
            hint = "you interpolated (lam = 0): add lam to the diagonal of K."
        elif _close(got, np.linalg.solve(K + lam, y), rtol=1e-3, atol=1e-4):
            hint = "K + lam adds lam to *every* entry; add lam * identity (the diagonal only)."
        else:
            hint = "solve (K + lam I) alpha = y with jnp.linalg.solve."
        _compare(ex, words, "alpha", got, want, rtol=1e-3, atol=1e-4, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ softmax head

_EX_SOFTMAX = Exercise("softmax_head_step", "5.4")


def _softmax(Z: np.ndarray) -> np.ndarray:
    Z = Z - Z.max(axis=1, keepdims=True)
    E = np.exp(Z)
    return E / E.sum(axis=1, keepdims=True)


def softmax_head_step(fn: Callable) -> None:
    r"""Check ``fn(W, H, labels, lr, lam)``: one gradient step on the mean softmax cross-entropy
    of the scores $HW^\top$ plus $\frac\lambda2\|W\|^2$,
    $W - \alpha\,[(P - Y)^\top H / n + \lambda W]$."""
    ex = _EX_SOFTMAX
    rng = np.random.default_rng(9)
    cases = []
    for words, n, m, k, lr, lam in [
        ("10 codes of width 5, 3 classes, lr = 0.5, lam = 0.01", 10, 5, 3, 0.5, 0.01),
        ("16 codes of width 4, 4 classes, lr = 1.0, lam = 0.0", 16, 4, 4, 1.0, 0.0),
        ("6 codes of width 3, 2 classes, lr = 0.1, lam = 0.2", 6, 3, 2, 0.1, 0.2),
    ]:
        cases.append(
            (words, rng.normal(size=(k, m)), rng.random((n, m)), rng.integers(0, k, n), lr, lam)
        )
    for words, W, H, labels, lr, lam in cases:
        args = (_f(W), _f(H), np.asarray(labels, np.int32), lr, lam)
        got = _array(
            ex,
            words,
            "the new W",
            _call(ex, fn, args, words),
            W.shape,
            hint="W has one row per class: shape (k, m).",
        )
        n, k = len(labels), W.shape[0]
        P, Y = _softmax(H @ W.T), np.eye(k)[labels]
        want = W - lr * ((P - Y).T @ H / n + lam * W)
        if _close(got, want):
            continue
        if _close(got, W - lr * ((P - Y).T @ H + lam * W)):
            hint = "average the gradient over the n examples (the loss is a mean)."
        elif _close(got, W - lr * (P - Y).T @ H / n):
            hint = "add the penalty's gradient lam * W."
        elif _close(got, W + lr * ((P - Y).T @ H / n + lam * W)):
            hint = "the gradient of the cross-entropy is (P - Y)^T H / n; step against it."
        elif _close(got, W - lr * (P.T @ H / n + lam * W)):
            hint = "subtract the one-hot labels: the score gradient is P - Y, not P."
        else:
            hint = "P = softmax(H W^T) row by row; Y one-hot; grad = (P - Y)^T H / n + lam W."
        _compare(ex, words, "the new W", got, want, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ kernel PCA

_EX_KPCA = Exercise("kernel_pca", "5.5")


def kernel_pca(fn: Callable) -> None:
    r"""Check ``fn(K, k)``: the kernel-PCA codes $Z = U_k\,\mathrm{diag}(\sqrt{s_k})$ of the centred
    kernel $JKJ$ (any sign per column: $ZZ^\top$ and $Z^\top Z$ are compared)."""
    ex = _EX_KPCA
    cases = [(w, K, k) for (w, K, _, _), k in zip(_kernel_cases(), (2, 3, 1), strict=True)]
    for words, K, k in cases:
        words = f"{words.split(', lam')[0]}, k = {k}"
        n = K.shape[0]
        got = _array(
            ex,
            words,
            "Z",
            _call(ex, fn, (_f(K), k), words),
            (n, k),
            hint="one row per point, one column per component: (n, k).",
        )
        J = np.eye(n) - 1.0 / n
        Kc = J @ K @ J
        s, U = np.linalg.eigh(Kc)
        s, U = s[::-1][:k], U[:, ::-1][:, :k]
        want = U * np.sqrt(np.maximum(s, 0))[None, :]
        if _close(got @ got.T, want @ want.T, rtol=1e-3, atol=1e-4):
            continue
        s_raw, U_raw = np.linalg.eigh(K)
        raw = U_raw[:, ::-1][:, :k] * np.sqrt(s_raw[::-1][:k])[None, :]
        if _close(got @ got.T, raw @ raw.T, rtol=1e-3, atol=1e-4):
            hint = (
                "centre the kernel first: J K J with J = I - 11^T/n (the features' mean removed)."
            )
        elif _close(got.T @ got, np.eye(k), rtol=1e-3, atol=1e-4):
            hint = "scale each eigenvector by the square root of its eigenvalue."
        elif _close(np.abs(got), np.abs(U * s[None, :]), rtol=1e-3, atol=1e-4):
            hint = (
                "scale by sqrt(eigenvalue), not by the eigenvalue: then Z Z^T approximates J K J."
            )
        else:
            low = np.linalg.eigh(Kc)[1][:, :k] * np.sqrt(np.maximum(np.linalg.eigh(Kc)[0][:k], 0))
            if _close(got @ got.T, low @ low.T, rtol=1e-3, atol=1e-4):
                hint = "jnp.linalg.eigh sorts eigenvalues in *ascending* order: take the last k."
            else:
                hint = "eigendecompose J K J, keep the k largest eigenvalues, Z = U_k sqrt(s_k)."
        _compare(ex, words, "Z Z^T", got @ got.T, want @ want.T, rtol=1e-3, atol=1e-4, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ top-k RBF

_EX_TOPK = Exercise("top_k_rbf", "5.6")


def _top_k_rows(H: np.ndarray, k: int, largest: bool = True) -> np.ndarray:
    out = np.zeros_like(H)
    for i, row in enumerate(H):
        order = np.argsort(-row if largest else row, kind="stable")[:k]
        out[i, order] = row[order]
    return out


def top_k_rbf(fn: Callable) -> None:
    r"""Check ``fn(X, centers, sigma, k)``: the Gaussian RBF layer
    $\exp(-\|X_i - \mu_j\|^2/2\sigma^2)$ with all but the ``k`` largest activations of each row
    set to 0."""
    ex = _EX_TOPK
    rng = np.random.default_rng(21)
    cases = []
    for words, n, m, d, sigma, k in [
        ("5 points, 6 prototypes in 2-D, sigma = 1.0, k = 2", 5, 6, 2, 1.0, 2),
        ("8 points, 10 prototypes in 3-D, sigma = 0.7, k = 3", 8, 10, 3, 0.7, 3),
        ("4 points, 5 prototypes in 2-D, sigma = 2.0, k = 1", 4, 5, 2, 2.0, 1),
        ("3 points, 4 prototypes in 2-D, sigma = 1.5, k = 4 (keep all)", 3, 4, 2, 1.5, 4),
    ]:
        cases.append((words, rng.normal(size=(n, d)), rng.normal(size=(m, d)), sigma, k))
    for words, X, C, sigma, k in cases:
        got = _array(
            ex,
            words,
            "the hidden codes",
            _call(ex, fn, (_f(X), _f(C), sigma, k), words),
            (X.shape[0], C.shape[0]),
            hint="one row per point, one column per prototype.",
        )
        H = _gauss(X, C, sigma)
        want = _top_k_rows(H, k)
        if _close(got, want):
            continue
        if _close(got, _top_k_rows(H, k, largest=False)):
            hint = "keep the k *largest* activations (the k nearest prototypes), not the smallest."
        elif _close(got, H):
            hint = "set every activation outside the k largest of its row to 0."
        elif _close(got, _top_k_rows(_gauss(X, C, sigma, two=1.0), k)):
            hint = "the Gaussian divides the squared distance by 2 sigma^2, not sigma^2."
        elif k > 1 and _close(got, _top_k_rows(H, k - 1)) or _close(got, _top_k_rows(H, k + 1)):
            hint = "keep exactly k entries per row (check a strict vs non-strict comparison)."
        else:
            hint = "compute H as in ch05a, then keep the k largest entries of each row."
        _compare(ex, words, "the hidden codes", got, want, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ AUC

_EX_AUC = Exercise("outlier_auc", "5.8")


def outlier_auc(fn: Callable) -> None:
    r"""Check ``fn(scores, is_outlier)``: the fraction of (outlier, inlier) pairs in which the
    outlier scores higher, ties counting 1/2."""
    ex = _EX_AUC
    rng = np.random.default_rng(3)
    cases = [
        (
            "4 points, scores [0.1, 0.4, 0.35, 0.8], outliers 3 and 4",
            np.array([0.1, 0.4, 0.35, 0.8]),
            np.array([0, 0, 1, 1], bool),
        ),
        ("perfect scores", np.array([0.0, 0.1, 0.2, 5.0, 6.0]), np.array([0, 0, 0, 1, 1], bool)),
        (
            "ties between an outlier and inliers",
            np.array([1.0, 1.0, 2.0, 1.0, 0.0]),
            np.array([1, 0, 1, 0, 0], bool),
        ),
        ("60 random scores, 10 outliers", rng.normal(size=60), np.arange(60) < 10),
    ]
    for words, s, out in cases:
        got = _scalar(ex, words, "the AUC", _call(ex, fn, (_f(s), out), words))
        pos, neg = s[out], s[~out]
        gt = (pos[:, None] > neg[None, :]).mean()
        eq = (pos[:, None] == neg[None, :]).mean()
        want = gt + 0.5 * eq
        if math.isclose(got, want, abs_tol=1e-6):
            continue
        if math.isclose(got, 1.0 - want, abs_tol=1e-6):
            hint = (
                "outliers should score *higher*: count pairs where the outlier's score is larger."
            )
        elif eq > 0 and math.isclose(got, gt, abs_tol=1e-6):
            hint = "a tie counts one half."
        elif eq > 0 and math.isclose(got, gt + eq, abs_tol=1e-6):
            hint = "a tie counts one half, not one."
        else:
            hint = "average [s_out > s_in] + 0.5 [s_out == s_in] over all (outlier, inlier) pairs."
        _compare(ex, words, "the AUC", np.float64(got), want, rtol=0, atol=1e-6, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ semi-supervised

_EX_SEMI = Exercise("semi_supervised_head", "5.10")


def semi_supervised_head(fn: Callable) -> None:
    r"""Check ``fn(H, Y, labelled, lam)``: ridge regression of the targets on the hidden codes of
    the *labelled* rows only, $(H_L^\top H_L + \lambda I)^{-1}H_L^\top Y_L$."""
    ex = _EX_SEMI
    rng = np.random.default_rng(17)
    cases = []
    for words, n, m, k, n_lab, lam in [
        (
            "30 codes of width 5, one-hot targets for 3 classes, 8 labelled, lam = 0.1",
            30,
            5,
            3,
            8,
            0.1,
        ),
        ("20 codes of width 4, 2 target columns, 12 labelled, lam = 1.0", 20, 4, 2, 12, 1.0),
        ("15 codes of width 6, 4 target columns, 6 labelled, lam = 0.01", 15, 6, 4, 6, 0.01),
    ]:
        H = rng.random((n, m))
        Y = rng.normal(size=(n, k))
        lab = np.zeros(n, bool)
        lab[rng.choice(n, n_lab, replace=False)] = True
        Y[~lab] = 0.0  # unknown targets are stored as zeros
        cases.append((words, H, Y, lab, lam))
    for words, H, Y, lab, lam in cases:
        got = _array(
            ex,
            words,
            "the output weights",
            _call(ex, fn, (_f(H), _f(Y), lab, lam), words),
            (H.shape[1], Y.shape[1]),
            hint="one row per hidden unit, one column per target: (m, k).",
        )
        m = H.shape[1]
        HL, YL = H[lab], Y[lab]
        want = np.linalg.solve(HL.T @ HL + lam * np.eye(m), HL.T @ YL)
        if _close(got, want, rtol=1e-3, atol=1e-4):
            continue
        if _close(got, np.linalg.solve(H.T @ H + lam * np.eye(m), H.T @ Y), rtol=1e-3, atol=1e-4):
            hint = "fit only the labelled rows: the zeros of the unlabelled rows are not targets."
        elif _close(got, np.linalg.lstsq(HL, YL, rcond=None)[0], rtol=1e-3, atol=1e-4):
            hint = "add the ridge penalty lam * I to H_L^T H_L."
        else:
            hint = (
                "select the labelled rows H_L, Y_L, then solve (H_L^T H_L + lam I) W = H_L^T Y_L."
            )
        _compare(ex, words, "the output weights", got, want, rtol=1e-3, atol=1e-4, hint=hint)
    _passed(ex, len(cases))
