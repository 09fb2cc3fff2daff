"""course_lib.checks.rbf_kernels: each check says "not implemented" for the stub, passes a right
answer written independently of the solutions notebook (NumPy loops, the library), and fails
plausible mistakes with a hint."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import checks, kernel_methods, rbf
from course_lib.checks import CheckFailed


def _stub(*args):
    raise NotImplementedError("Exercise: replace this with your code")


ALL = [
    checks.hinge_update,
    checks.kernel_ridge,
    checks.softmax_head_step,
    checks.kernel_pca,
    checks.top_k_rbf,
    checks.outlier_auc,
    checks.semi_supervised_head,
]


@pytest.mark.parametrize("check", ALL)
def test_every_check_says_not_implemented_for_the_stub(check):
    with pytest.raises(CheckFailed, match="not implemented yet"):
        check(_stub)


def _passes(check, fn, capsys):
    check(fn)
    assert "✔" in capsys.readouterr().out


def _np(*arrays):
    return [np.asarray(a, np.float64) for a in arrays]


# ------------------------------------------------------------------------------ hinge_update


def _hinge_loop(W, H, y, lr, lam, *, strict=True, decay=True, scale=1.0):
    W, H, y = _np(W, H, y)
    new = W * (1 - lr * lam) if decay else W.copy()
    for h, t in zip(H, y, strict=True):
        z = t * (W @ h)
        if (z < 1) if strict else (z <= 0):
            new = new + scale * lr * t * h
    return new


def test_hinge_update_passes_a_loop_and_the_library(capsys):
    from course_lib import rbf_classifiers

    _passes(checks.hinge_update, _hinge_loop, capsys)
    _passes(
        checks.hinge_update,
        lambda W, H, y, lr, lam: rbf_classifiers.margin_update(
            W, H, y, loss="hinge", lr=lr, lam=lam
        ),
        capsys,
    )


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda *a: _hinge_loop(*a, strict=False), "perceptron"),
        (lambda *a: _hinge_loop(*a, decay=False), "shrink W"),
        (lambda *a: _hinge_loop(*a, scale=-1.0), "along"),
        (lambda W, H, y, lr, lam: np.asarray(W) * 0.0, "S\\+"),
    ],
)
def test_hinge_update_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.hinge_update(wrong)


# ------------------------------------------------------------------------------ kernel_ridge


def test_kernel_ridge_passes_numpy_and_the_library(capsys):
    _passes(
        checks.kernel_ridge,
        lambda K, y, lam: np.linalg.solve(np.asarray(K) + lam * np.eye(len(y)), y),
        capsys,
    )
    _passes(checks.kernel_ridge, kernel_methods.kernel_ridge, capsys)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda K, y, lam: rbf.ridge_output(K, y, lam), "RBF network's ridge"),
        (lambda K, y, lam: np.linalg.solve(np.asarray(K), y), "interpolated"),
        (lambda K, y, lam: np.linalg.solve(np.asarray(K) + lam, y), "adds lam to"),
        (lambda K, y, lam: y, "solve"),
    ],
)
def test_kernel_ridge_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.kernel_ridge(wrong)


# ------------------------------------------------------------------------------ softmax head


def _softmax_step_loop(W, H, labels, lr, lam, *, mean=True, decay=True):
    W, H = _np(W, H)
    grad = np.zeros_like(W)
    for h, c in zip(H, np.asarray(labels), strict=True):
        v = W @ h
        p = np.exp(v - v.max())
        p /= p.sum()
        p[c] -= 1.0
        grad += np.outer(p, h)
    if mean:
        grad /= len(H)
    return W - lr * (grad + (lam * W if decay else 0.0))


def test_softmax_head_step_passes_a_loop(capsys):
    _passes(checks.softmax_head_step, _softmax_step_loop, capsys)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda *a: _softmax_step_loop(*a, mean=False), "average"),
        (lambda *a: _softmax_step_loop(*a, decay=False), "lam \\* W"),
        (lambda W, *a: 2 * np.asarray(W) - _softmax_step_loop(W, *a), "step against"),
    ],
)
def test_softmax_head_step_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.softmax_head_step(wrong)


# ------------------------------------------------------------------------------ kernel PCA


def _kpca_numpy(K, k, *, center=True, scale="sqrt", order=-1):
    K = np.asarray(K, np.float64)
    n = len(K)
    if center:
        K = K - K.mean(0) - K.mean(1)[:, None] + K.mean()
    s, U = np.linalg.eigh(K)
    idx = np.argsort(s)[::order][:k]
    s, U = np.maximum(s[idx], 0), U[:, idx]
    return (
        U
        * {"sqrt": np.sqrt(s), "none": np.ones_like(s), "s": s}[scale][None, :]
        * (-1.0 if n % 2 else 1.0)
    )  # a sign flip must not matter


def test_kernel_pca_passes_numpy_and_the_library(capsys):
    _passes(checks.kernel_pca, _kpca_numpy, capsys)
    _passes(checks.kernel_pca, lambda K, k: kernel_methods.kernel_pca(K, k)[0], capsys)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda K, k: _kpca_numpy(K, k, center=False), "centre the kernel"),
        (lambda K, k: _kpca_numpy(K, k, scale="none"), "square root"),
        (lambda K, k: _kpca_numpy(K, k, order=1), "ascending"),
    ],
)
def test_kernel_pca_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.kernel_pca(wrong)


# ------------------------------------------------------------------------------ top-k RBF


def _topk_loop(X, C, sigma, k, *, largest=True, two=2.0, zero=True):
    X, C = _np(X, C)
    H = np.array([[np.exp(-np.sum((x - c) ** 2) / (two * sigma**2)) for c in C] for x in X])
    if not zero:
        return H
    out = np.zeros_like(H)
    for i, row in enumerate(H):
        keep = sorted(range(len(row)), key=lambda j: -row[j] if largest else row[j])[:k]
        out[i, keep] = row[keep]
    return out


def test_top_k_rbf_passes_a_loop(capsys):
    _passes(checks.top_k_rbf, _topk_loop, capsys)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda *a: _topk_loop(*a, largest=False), "largest"),
        (lambda *a: _topk_loop(*a, zero=False), "set every activation"),
        (lambda *a: _topk_loop(*a, two=1.0), "2 sigma"),
    ],
)
def test_top_k_rbf_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.top_k_rbf(wrong)


# ------------------------------------------------------------------------------ AUC


def _auc_loop(scores, out, *, tie=0.5):
    s, o = np.asarray(scores, np.float64), np.asarray(out, bool)
    total = 0.0
    for a in s[o]:
        for b in s[~o]:
            total += 1.0 if a > b else tie if a == b else 0.0
    return total / (o.sum() * (~o).sum())


def test_outlier_auc_passes_a_loop_and_the_library(capsys):
    _passes(checks.outlier_auc, _auc_loop, capsys)
    _passes(checks.outlier_auc, kernel_methods.auc, capsys)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda s, o: 1.0 - _auc_loop(s, o), "higher"),
        (lambda s, o: _auc_loop(s, o, tie=0.0), "one half"),
        (lambda s, o: _auc_loop(s, o, tie=1.0), "not one"),
    ],
)
def test_outlier_auc_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.outlier_auc(wrong)


# ------------------------------------------------------------------------------ semi-supervised


def test_semi_supervised_head_passes_the_library(capsys):
    def right(H, Y, lab, lam):
        lab = np.asarray(lab)
        return rbf.ridge_output(np.asarray(H)[lab], np.asarray(Y)[lab], lam)

    _passes(checks.semi_supervised_head, right, capsys)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda H, Y, lab, lam: rbf.ridge_output(H, Y, lam), "only the labelled rows"),
        (
            lambda H, Y, lab, lam: np.linalg.lstsq(
                np.asarray(H)[np.asarray(lab)], np.asarray(Y)[np.asarray(lab)], rcond=None
            )[0],
            "ridge penalty",
        ),
    ],
)
def test_semi_supervised_head_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.semi_supervised_head(wrong)
