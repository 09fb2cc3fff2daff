"""course_lib.checks.generalization: each check passes a right answer and fails plausible mistakes.

The right answers here are written independently of the solutions notebook (NumPy, loops).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import checks
from course_lib.checks import CheckFailed


def _stub(*args):
    raise NotImplementedError("Exercise: replace this with your code")


ALL = [
    checks.min_norm_solution,
    checks.polynomial_features,
    checks.bias_variance_terms,
    checks.kfold_indices,
    checks.pick_on_validation,
    checks.collapse_linear_stack,
    checks.collinear_dataset,
    checks.bottleneck_rank,
    checks.learning_curve,
]


@pytest.mark.parametrize("check", ALL)
def test_every_check_says_not_implemented_for_the_stub(check):
    with pytest.raises(CheckFailed, match="not implemented yet"):
        check(_stub)


# ------------------------------------------------------------------------------ min_norm_solution


def _min_norm_svd(D, y):
    U, s, Vt = np.linalg.svd(np.asarray(D, np.float64), full_matrices=False)
    keep = s > 1e-6 * s[0]
    return Vt[keep].T @ ((U[:, keep].T @ np.asarray(y)) / s[keep])


def _first_columns(D, y):
    """A zero-error but not minimal answer: solve with the first n columns, zero the rest."""
    D = np.asarray(D, np.float64)
    n, d = D.shape
    if n >= d:
        return np.linalg.lstsq(D, np.asarray(y), rcond=None)[0]
    w = np.zeros(d)
    w[:n] = np.linalg.lstsq(D[:, :n], np.asarray(y), rcond=None)[0]
    return w + 0.5 * np.linalg.svd(D)[2][-1]  # plus a null-space direction


def test_min_norm_solution_passes_an_svd(capsys):
    checks.min_norm_solution(_min_norm_svd)
    assert "✔ min_norm_solution" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda D, y: np.linalg.inv(np.asarray(D).T @ np.asarray(D)) @ np.asarray(D).T @ y,
         "pseudo-inverse|minimize"),
        (lambda D, y: np.asarray(D).T @ np.linalg.solve(np.asarray(D) @ np.asarray(D).T, y),
         "singular|rows of D are independent"),
        (_first_columns, "null space"),
        (lambda D, y: _min_norm_svd(D, y)[:-1], "wrong shape"),
    ],
)  # fmt: skip
def test_min_norm_solution_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.min_norm_solution(wrong)


# ------------------------------------------------------------------------------ polynomial_features


def _powers(x, d):
    x = np.asarray(x, np.float64)
    return np.stack([x**i for i in range(d + 1)], axis=1)


def test_polynomial_features_passes_a_loop(capsys):
    checks.polynomial_features(_powers)
    assert "✔ polynomial_features" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda x, d: np.vander(np.asarray(x), d + 1), "decreasing"),
        (lambda x, d: _powers(x, d)[:, 1:], "constant column"),
        (lambda x, d: _powers(x, d).T, "one row per point"),
        (lambda x, d: _powers(x, d) * 2.0, "column i holds"),
    ],
)
def test_polynomial_features_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.polynomial_features(wrong)


# ------------------------------------------------------------------------------ bias_variance_terms


def _bv_loops(P, f):
    P, f = np.asarray(P, np.float64), np.asarray(f, np.float64)
    R, t = P.shape
    means = [sum(P[r, i] for r in range(R)) / R for i in range(t)]
    b2 = sum((means[i] - f[i]) ** 2 for i in range(t)) / t
    var = sum((P[r, i] - means[i]) ** 2 for r in range(R) for i in range(t)) / (R * t)
    return b2, var


def test_bias_variance_terms_passes_loops(capsys):
    checks.bias_variance_terms(_bv_loops)
    assert "✔ bias_variance_terms" in capsys.readouterr().out


def _f64(P):
    return np.asarray(P, np.float64)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda P, f: (_bv_loops(P, f)[0], np.mean(_f64(P).var(axis=0, ddof=1))), "not R - 1"),
        (
            lambda P, f: (np.mean(_f64(P).mean(0) - _f64(f)) ** 2, _bv_loops(P, f)[1]),
            "averaging first",
        ),
        (lambda P, f: (_bv_loops(P, f)[0], np.mean(_f64(P).var(axis=1))), "axis 0"),
        (
            lambda P, f: (np.mean((_f64(P) - _f64(f)) ** 2), _bv_loops(P, f)[1]),
            "whole mean squared",
        ),
        (lambda P, f: _bv_loops(P, f)[0], "expected a tuple"),
    ],
)
def test_bias_variance_terms_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.bias_variance_terms(wrong)


# ------------------------------------------------------------------------------ kfold_indices


def _kfold_loop(n, k):
    folds, start = [], 0
    for j in range(k):
        size = n // k + (1 if j < n % k else 0)
        folds.append(list(range(start, start + size)))
        start += size
    return folds


def test_kfold_indices_passes_a_loop_and_array_split(capsys):
    checks.kfold_indices(_kfold_loop)
    checks.kfold_indices(lambda n, k: np.array_split(np.random.default_rng(0).permutation(n), k))
    assert capsys.readouterr().out.count("✔ kfold_indices") == 2


def _remainder_last(n, k):
    size = n // k
    return [np.arange(j * size, (j + 1) * size if j < k - 1 else n) for j in range(k)]


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda n, k: [np.arange(j * (n // k), (j + 1) * (n // k)) for j in range(k)], "n % k"),
        (_remainder_last, "instead of putting them all in the last fold"),
        (lambda n, k: [np.arange(j, min(j + n // k + 1, n)) for j in range(k)], "two folds"),
        (lambda n, k: _kfold_loop(n, k)[:-1], "k = "),
    ],
)
def test_kfold_indices_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.kfold_indices(wrong)


# ------------------------------------------------------------------------------ pick_on_validation


def _pick(val, test):
    val, test = list(np.asarray(val)), list(np.asarray(test))
    i = max(range(len(val)), key=lambda j: val[j])
    return i, val[i], test[i]


def test_pick_on_validation_passes(capsys):
    checks.pick_on_validation(_pick)
    assert "✔ pick_on_validation" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda v, t: _pick(t, v)[:1] + (np.asarray(v)[_pick(t, v)[0]], _pick(t, v)[1]),
         "test accuracy"),
        (lambda v, t: (int(np.argmin(v)), np.min(v), np.asarray(t)[int(np.argmin(v))]), "argmin"),
        (lambda v, t: (_pick(v, t)[0], _pick(v, t)[1], np.max(t)), "chosen model's test"),
        (lambda v, t: _pick(v, t)[:2], "expected a tuple"),
    ],
)  # fmt: skip
def test_pick_on_validation_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.pick_on_validation(wrong)


# -------------------------------------------------------------------------- collapse_linear_stack


def _collapse(Ws, bs):
    W = np.eye(np.asarray(Ws[0]).shape[0])
    b = np.zeros(np.asarray(Ws[0]).shape[0])
    for Wk, bk in zip(Ws, bs, strict=True):
        W = W @ np.asarray(Wk)
        b = b @ np.asarray(Wk) + np.asarray(bk)
    return W, b


def test_collapse_linear_stack_passes(capsys):
    checks.collapse_linear_stack(_collapse)
    assert "✔ collapse_linear_stack" in capsys.readouterr().out


def _reversed(Ws, bs):
    W = np.asarray(Ws[-1])
    for Wk in Ws[-2::-1]:
        W = W @ np.asarray(Wk)
    return W, _collapse(Ws, bs)[1]


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda Ws, bs: (_collapse(Ws, bs)[0], np.sum([np.asarray(b) for b in bs], axis=0)),
         "adding the biases"),
        (_reversed, "wrong order"),
        (lambda Ws, bs: (_collapse(Ws, bs)[0], np.asarray(bs[-1])), "push each bias"),
    ],
)  # fmt: skip
def test_collapse_linear_stack_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.collapse_linear_stack(wrong)


# ------------------------------------------------------------------------------ collinear_dataset


def _collinear_x4_sum():
    """x4 = x1 + x3 (x1 a combination of x3, x4), built in float32 arithmetic."""
    x1 = np.array([0.3, -1.7, 2.2, 0.9, -0.4], np.float32)
    x2 = np.array([1.0, 0.0, -2.0, 3.0, 1.5], np.float32)
    x3 = np.array([0.7, 0.1, -0.6, 1.3, 2.0], np.float32)
    return np.stack([x1, x2, x3, x1 + x3], axis=1), 2 * x1


def _copied_column():
    x1 = np.array([1.0, 2.0, -1.0, 3.0, 0.5])
    return np.stack([x1, x1, [0.0, 1, 1, 2, 0], [1.0, 0, 2, 1, 3]], axis=1), 2 * x1


def test_collinear_dataset_passes_two_different_constructions(capsys):
    checks.collinear_dataset(_collinear_x4_sum)
    checks.collinear_dataset(_copied_column)
    assert capsys.readouterr().out.count("✔ collinear_dataset") == 2


def _full_rank():
    X = np.random.default_rng(0).normal(size=(5, 4))
    return X, 2 * X[:, 0]


def _x3_equals_x4():
    X, y = _full_rank()
    X[:, 3] = X[:, 2]
    return X, y


def _repeated_row():
    X, y = _copied_column()
    X[4], y[4] = X[3], y[3]
    return X, y


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (_full_rank, "linearly dependent"),
        (_x3_equals_x4, "x1 is not part of the dependence"),
        (_repeated_row, "5 distinct examples"),
        (lambda: (_copied_column()[0], _copied_column()[1] / 2), "twice x1"),
        (lambda: (_collinear_x4_sum()[0], 2 * _collinear_x4_sum()[0][:, 1]), "counts from 0"),
        (lambda: (_copied_column()[0] * [0, 1, 1, 1], np.zeros(5)), "let x1 vary"),
        (lambda: (_copied_column()[0][:4], _copied_column()[1][:4]), "shape \\(5, 4\\)"),
        (lambda: _copied_column()[0], "expected a tuple"),
    ],
)
def test_collinear_dataset_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.collinear_dataset(wrong)


# ------------------------------------------------------------------------------ bottleneck_rank


def _rank_by_elimination(W_a, W_b):
    """Gaussian elimination with partial pivoting on the float64 product, relative tolerance."""
    M = np.asarray(W_a, np.float64) @ np.asarray(W_b, np.float64)
    tol = 1e-9 * np.abs(M).max()
    M, rank = M.copy(), 0
    for col in range(M.shape[1]):
        pivot = rank + int(np.argmax(np.abs(M[rank:, col])))
        if rank == M.shape[0] or abs(M[pivot, col]) <= tol:
            continue
        M[[rank, pivot]] = M[[pivot, rank]]
        M[rank + 1 :] -= np.outer(M[rank + 1 :, col] / M[rank, col], M[rank])
        rank += 1
    return rank


def test_bottleneck_rank_passes_elimination_and_matrix_rank(capsys):
    checks.bottleneck_rank(_rank_by_elimination)
    checks.bottleneck_rank(lambda W_a, W_b: jnp.linalg.matrix_rank(W_a @ W_b))
    assert capsys.readouterr().out.count("✔ bottleneck_rank") == 2


def test_bottleneck_cases_cover_narrow_square_wide_and_a_rank_drop():
    from course_lib.checks.generalization import _bottleneck_cases

    shapes, drops = set(), 0
    for _, W_a, W_b in _bottleneck_cases():
        p, q = W_a.shape
        shapes.add((q > p) - (q < p))
        r = _rank_by_elimination(W_a, W_b)
        drops += r < min(np.linalg.matrix_rank(W_a), np.linalg.matrix_rank(W_b))
    assert shapes == {-1, 0, 1} and drops >= 1


def _count_positive(W_a, W_b):
    return int(jnp.sum(jnp.linalg.svd(W_a @ W_b, compute_uv=False) > 0))


def _absolute_tol(W_a, W_b):
    return int(jnp.sum(jnp.linalg.svd(W_a @ W_b, compute_uv=False) > 1e-4))


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda W_a, W_b: jnp.linalg.matrix_rank(W_a), "the rank of W_a"),
        (lambda W_a, W_b: min(W_a.shape), "min\\(p, q\\)"),
        (_count_positive, "tolerance\\s+relative"),
        (_absolute_tol, "absolute threshold"),
        (lambda W_a, W_b: jnp.linalg.svd(W_a @ W_b, compute_uv=False), "single number"),
    ],
)
def test_bottleneck_rank_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.bottleneck_rank(wrong)


# ------------------------------------------------------------------------------ learning_curve


def _curve_polyfit(x, y, x_test, y_test, sizes, degree, *, train_on_all=False, rmse=False):
    x, y, xt, yt = (np.asarray(a, np.float64) for a in (x, y, x_test, y_test))
    train, test = [], []
    for n in sizes:
        tr, te = [], []
        for r in range(x.shape[0]):
            c = np.polynomial.polynomial.polyfit(x[r, :n], y[r, :n], degree)
            on = slice(None) if train_on_all else slice(0, n)
            tr.append(np.mean((np.polynomial.polynomial.polyval(x[r, on], c) - y[r, on]) ** 2))
            te.append(np.mean((np.polynomial.polynomial.polyval(xt, c) - yt) ** 2))
        if rmse:
            tr, te = np.sqrt(tr), np.sqrt(te)
        train.append(np.mean(tr))
        test.append(np.mean(te))
    return np.array(train), np.array(test)


def _curve_jax(x, y, x_test, y_test, sizes, degree):
    """float32 JAX: a vmapped lstsq per size."""
    powers = jnp.arange(degree + 1)
    train, test = [], []
    for n in sizes:
        V = x[:, :n, None] ** powers[None, None, :]
        w = jax.vmap(lambda A, b: jnp.linalg.lstsq(A, b)[0])(V, y[:, :n])
        train.append(jnp.mean((jnp.einsum("rnp,rp->rn", V, w) - y[:, :n]) ** 2))
        test.append(jnp.mean(((x_test[:, None] ** powers[None, :]) @ w.T - y_test[:, None]) ** 2))
    return jnp.array(train), jnp.array(test)


def test_learning_curve_passes_polyfit_and_float32_jax(capsys):
    checks.learning_curve(_curve_polyfit)
    checks.learning_curve(_curve_jax)
    assert capsys.readouterr().out.count("✔ learning_curve") == 2


def _fit_all(x, y, x_test, y_test, sizes, degree):
    N = np.asarray(x).shape[1]
    train, test = _curve_polyfit(x, y, x_test, y_test, [N], degree)
    return np.repeat(train, len(sizes)), np.repeat(test, len(sizes))


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda *a: _curve_polyfit(*a)[::-1], "swapped"),
        (_fit_all, "first n points only"),
        (lambda *a: _curve_polyfit(*a, train_on_all=True), "fitted to"),
        (lambda *a: _curve_polyfit(*a, rmse=True), "square roots"),
        (lambda x, y, xt, yt, s, d: _curve_polyfit(x, y, xt, yt, s, d + 1), "one column too many"),
        (lambda *a: (_curve_polyfit(*a)[0], _curve_polyfit(*a)[1] * 1.01), "for each n"),
        (lambda *a: tuple(np.stack([v, v]) for v in _curve_polyfit(*a)), "wrong shape"),
    ],
)
@pytest.mark.filterwarnings("ignore:The fit may be poorly conditioned")
def test_learning_curve_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.learning_curve(wrong)
