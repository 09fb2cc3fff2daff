r"""Self-checks for the exercises on overfitting and the bias–variance trade-off (Aggarwal §1.4,
§4.1–4.3, Exercises 4.1, 4.2, 4.6, 4.8, 4.9, 4.10).

Every check runs the student's function on a few fixed cases and compares with an independent
reference written out here in NumPy (the pseudo-inverse from ``np.linalg.pinv``, powers by
``np.vander``, means over explicit axes, a matrix product of the layers) or with properties that
any right answer must have (folds that are disjoint and cover everything; a data set whose
properties are verified one by one). Common slips (the normal equations where $D^TD$ is
singular, powers in decreasing order, the unbiased variance, averaging before squaring, picking
the model by its test score, the rank of one factor, an absolute rank tolerance, measuring the
training error on points not fitted, ...) get a targeted hint.
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
    _fmt,
    _passed,
    _scalar,
    _unpack,
)

_close = _close_within(rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------------------ min_norm_solution

_EX_MIN_NORM = Exercise("min_norm_solution", "")

_BOOK_D = [[1, 1, 0, 0, 0], [2, 0, 1, 0, 0], [3, 0, 0, 1, 0], [4, 0, 0, 0, 1]]
_SINGULAR_HINT = (
    "D^T D (or D D^T) is singular here, so its inverse does not exist; use the "
    "pseudo-inverse (jnp.linalg.pinv) or the SVD of D."
)
_COLLINEAR_D = [[1, 1, 0, 2], [2, 2, 1, 0], [3, 3, 0, 1], [-1, -1, 2, 1], [0, 0, 1, 1]]


def min_norm_solution(fn: Callable) -> None:
    r"""Check ``fn(D, y)`` $= D^+y$, the least-squares weights of smallest norm, shape ``(d,)``."""
    ex = _EX_MIN_NORM
    rng = np.random.default_rng(4)
    wide = rng.normal(size=(3, 6))
    col = np.asarray(_COLLINEAR_D, np.float64)
    cases = [
        ("the book's 4 x 5 example (y = 2 x1)", np.asarray(_BOOK_D, np.float64), None),
        ("3 random rows, 6 columns", wide, rng.normal(size=3)),
        ("5 rows, 4 columns, column 2 = column 1 (Exercise 4.2: rank 3)", col, None),
        ("8 rows, 3 independent columns (an ordinary least-squares problem)",
         rng.normal(size=(8, 3)), rng.normal(size=8)),
    ]  # fmt: skip
    for words, D, y in cases:
        if y is None:
            y = 2.0 * D[:, 0]
        inputs = [f"D = {np.round(D, 3).tolist()}", f"y = {np.round(y, 3).tolist()}"]
        try:
            raw = _call(ex, fn, (_f(D), _f(y)), words, inputs)
        except CheckFailed as exc:
            if "LinAlgError" not in exc.problem:
                raise
            raise CheckFailed(
                ex, exc.problem, case=words, details=exc.details, hint=_SINGULAR_HINT
            ) from None
        got = _array(
            ex,
            words,
            "W",
            raw,
            (D.shape[1],),
            hint="return one weight per column of D: shape (d,).",
        )
        expected = np.linalg.pinv(D) @ y
        if _close(got, expected, rtol=1e-3, atol=1e-3):
            continue
        residual = np.linalg.norm(D @ got - y) if np.all(np.isfinite(got)) else np.inf
        best = np.linalg.norm(D @ expected - y)
        if not np.all(np.isfinite(got)):
            hint = _SINGULAR_HINT
        elif residual <= best + 1e-3 * (1 + best) and np.linalg.norm(got) > np.linalg.norm(
            expected
        ):
            hint = (
                "your W fits the data as well as possible, but it is not the one of smallest "
                "norm: it has a component in the null space of D (D v = 0). The pseudo-inverse "
                "removes it."
            )
        else:
            hint = (
                "minimize ||D W - y|| first, then ||W|| among those: W = pinv(D) @ y. The "
                "formula D^T (D D^T)^(-1) y only holds when the rows of D are independent."
            )
        _compare(ex, words, "W", got, expected, rtol=1e-3, atol=1e-3, hint=hint, details=inputs)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ polynomial_features

_EX_POLY = Exercise("polynomial_features", "")


def polynomial_features(fn: Callable) -> None:
    r"""Check ``fn(x, degree)`` $= [1, x, x^2, \dots, x^d]$, shape ``(n, degree + 1)``."""
    ex = _EX_POLY
    cases = [
        ("x = [2, 3], degree 1", [2.0, 3.0], 1),
        ("x = [0, 1, 2, -1], degree 4", [0.0, 1.0, 2.0, -1.0], 4),
        ("x = [0.5, 1.5, 2.5], degree 0 (a constant model)", [0.5, 1.5, 2.5], 0),
        ("five points in [0, 4], degree 3", [0.1, 0.9, 2.0, 3.3, 4.0], 3),
    ]
    for words, x, d in cases:
        xs = np.asarray(x, np.float64)
        expected = np.vander(xs, d + 1, increasing=True)
        raw = _call(ex, fn, (_f(xs), d), words, [f"x = {x}", f"degree = {d}"])
        got = _array(ex, words, "the features", raw)
        if got.shape == expected.shape and _close(got, expected):
            continue
        hint = "column i holds x ** i for i = 0, 1, ..., degree (column 0 is all ones: the bias)."
        if d > 0 and got.shape == (len(x), d) and _close(got, expected[:, 1:]):
            hint = "include the constant column x ** 0 = 1 first: it is the bias w_0 of Eq 4.1."
        elif got.shape == expected.shape and _close(got, expected[:, ::-1]):
            hint = (
                "the columns are in decreasing powers (np.vander's default); use increasing=True."
            )
        elif got.shape == expected.T.shape and _close(got, expected.T):
            hint = "one row per point and one column per power: shape (n, degree + 1)."
        _compare(ex, words, "the features", got, expected, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ bias_variance_terms

_EX_BV = Exercise("bias_variance_terms", "")


def bias_variance_terms(fn: Callable) -> None:
    r"""Check ``fn(predictions, f)`` $= (\text{bias}^2, \text{variance})$, two numbers, for
    predictions of shape ``(R, t)`` ($R$ training sets, $t$ test points)."""
    ex = _EX_BV
    rng = np.random.default_rng(7)
    cases = [
        ("2 datasets, 1 test point", np.array([[1.0], [3.0]]), np.array([0.0])),
        ("3 datasets, 2 test points", np.array([[1.0, 2.0], [2.0, 2.0], [3.0, 5.0]]),
         np.array([1.0, 4.0])),
        ("50 datasets, 7 test points, biased fits", rng.normal(0.5, 1.0, size=(50, 7)),
         rng.normal(size=7)),
        ("4 datasets, 3 points, positive and negative errors",
         np.array([[1.0, -1.0, 0.5], [-1.0, 1.0, 0.5], [2.0, 0.0, -0.5], [0.0, 2.0, 1.5]]),
         np.array([0.0, 0.0, 0.0])),
    ]  # fmt: skip
    for words, P, f in cases:
        inputs = [f"predictions shape {P.shape}", f"f = {np.round(f, 3).tolist()}"]
        out = _call(ex, fn, (_f(P), _f(f)), words, inputs)
        b2, var = _unpack(ex, words, out, ("bias2", "variance"))
        b2 = _scalar(ex, words, "bias2", b2)
        var = _scalar(ex, words, "variance", var)
        mean = P.mean(axis=0)
        exp_b2 = np.mean((mean - f) ** 2)
        exp_var = np.mean(P.var(axis=0))
        if not np.isclose(b2, exp_b2, rtol=1e-4, atol=1e-6):
            hint = "bias² = average over test points of (mean over datasets of g - f)²."
            if np.isclose(b2, np.mean(mean - f) ** 2, rtol=1e-4, atol=1e-6):
                hint = (
                    "square the bias at each test point, then average over the points: "
                    "averaging first lets positive and negative biases cancel."
                )
            elif np.isclose(b2, np.mean((P - f) ** 2), rtol=1e-4, atol=1e-6):
                hint = (
                    "that is the whole mean squared error (bias² + variance): average the "
                    "predictions over datasets before comparing with f."
                )
            _compare(ex, words, "bias2", np.float64(b2), exp_b2, rtol=1e-4, atol=1e-6, hint=hint)
        if not np.isclose(var, exp_var, rtol=1e-4, atol=1e-6):
            hint = "variance = average over test points of the variance over datasets (axis 0)."
            if P.shape[0] > 1 and np.isclose(
                var, np.mean(P.var(axis=0, ddof=1)), rtol=1e-4, atol=1e-6
            ):
                hint = (
                    "divide by R, not R - 1: with the plain average, mse = bias² + variance "
                    "holds exactly."
                )
            elif np.isclose(var, np.mean(P.var(axis=1)), rtol=1e-4, atol=1e-6):
                hint = (
                    "that is the spread over the test points; the variance is over the "
                    "datasets (axis 0), at each test point."
                )
            _compare(ex, words, "variance", np.float64(var), exp_var, rtol=1e-4, atol=1e-6,
                     hint=hint)  # fmt: skip
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ kfold_indices

_EX_KFOLD = Exercise("kfold_indices", "")


def kfold_indices(fn: Callable) -> None:
    r"""Check ``fn(n, k)``: ``k`` arrays of indices, disjoint, covering ``0..n-1``, sizes that
    differ by at most 1."""
    ex = _EX_KFOLD
    cases = [(10, 5), (10, 3), (7, 7), (23, 4), (5, 2)]
    for n, k in cases:
        words = f"n = {n}, k = {k}"
        folds = _call(ex, fn, (n, k), words)
        if not isinstance(folds, (list, tuple)) or len(folds) != k:
            raise CheckFailed(
                ex,
                f"expected a list of k = {k} folds, got "
                + (f"{len(folds)} folds" if isinstance(folds, (list, tuple)) else repr(folds)[:60]),
                case=words,
                hint="return a list with one array of validation indices per fold.",
            )
        arrays = []
        for j, fold in enumerate(folds):
            a = _array(ex, words, f"fold {j}", fold)
            if a.ndim != 1 or np.any(a != np.round(a)):
                raise CheckFailed(
                    ex, f"fold {j} should be a 1-D array of whole numbers", case=words
                )
            arrays.append(a.astype(np.int64))
        sizes = [a.size for a in arrays]
        everything = np.concatenate(arrays) if arrays else np.zeros(0, np.int64)
        if np.unique(everything).size != everything.size:
            raise CheckFailed(
                ex,
                "some example is in two folds",
                case=words,
                details=[f"fold sizes {sizes}"],
                hint="each example must be validated on exactly once: the folds are disjoint.",
            )
        if everything.size != n or set(everything.tolist()) != set(range(n)):
            missing = sorted(set(range(n)) - set(everything.tolist()))
            raise CheckFailed(
                ex,
                "the folds do not cover every example 0..n-1 exactly once",
                case=words,
                details=[f"fold sizes {sizes}", f"missing: {missing[:10]}"],
                hint=(
                    "when k does not divide n, n // k per fold leaves n % k examples out: give "
                    "one extra example to each of the first n % k folds."
                ),
            )
        if max(sizes) - min(sizes) > 1:
            raise CheckFailed(
                ex,
                f"fold sizes differ by more than 1: {sizes}",
                case=words,
                hint=(
                    "spread the n % k left-over examples over the first folds, one each, "
                    "instead of putting them all in the last fold."
                ),
            )
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ pick_on_validation

_EX_PICK = Exercise("pick_on_validation", "4.9")


def pick_on_validation(fn: Callable) -> None:
    r"""Check ``fn(val_acc, test_acc)`` $= (i^*, \text{val\_acc}[i^*], \text{test\_acc}[i^*])$
    with $i^* = \arg\max_i \text{val\_acc}[i]$."""
    ex = _EX_PICK
    cases = [
        ("3 models", [0.5, 0.7, 0.6], [0.55, 0.45, 0.8]),
        ("5 models, the best on validation is the last", [0.4, 0.5, 0.45, 0.52, 0.61],
         [0.6, 0.49, 0.7, 0.5, 0.47]),
        ("4 models, the best on validation is the first", [0.9, 0.2, 0.3, 0.1],
         [0.3, 0.95, 0.5, 0.6]),
    ]  # fmt: skip
    for words, val, test in cases:
        v, t = np.asarray(val), np.asarray(test)
        inputs = [f"val_acc = {val}", f"test_acc = {test}"]
        out = _call(ex, fn, (_f(v), _f(t)), words, inputs)
        i, got_v, got_t = _unpack(ex, words, out, ("index", "val", "test"))
        i = _scalar(ex, words, "index", i, integer=True)
        got_v = _scalar(ex, words, "val", got_v)
        got_t = _scalar(ex, words, "test", got_t)
        best = int(np.argmax(v))
        if int(i) != best:
            if int(i) == int(np.argmax(t)):
                hint = (
                    "you chose by the test accuracy: that is exactly the mistake the exercise "
                    "is about. The test set may only score the model chosen on validation."
                )
            elif int(i) == int(np.argmin(v)):
                hint = "you picked the lowest validation accuracy: use argmax, not argmin."
            else:
                hint = "pick the index of the largest validation accuracy."
            raise CheckFailed(
                ex,
                "wrong model chosen",
                case=words,
                details=[f"expected index {best}", f"got      index {int(i)}", *inputs],
                hint=hint,
            )
        _compare(ex, words, "val", np.float64(got_v), v[best], hint="return val_acc[index].")
        _compare(
            ex, words, "test", np.float64(got_t), t[best],
            hint="return the chosen model's test accuracy, test_acc[index].",
        )  # fmt: skip
    _passed(ex, len(cases))


# -------------------------------------------------------------------------- collapse_linear_stack

_EX_COLLAPSE = Exercise("collapse_linear_stack", "4.1")


def collapse_linear_stack(fn: Callable) -> None:
    r"""Check ``fn(Ws, bs)`` $= (W, b)$ with $hW + b$ equal to the stack
    $h \mapsto (\dots((hW_1 + b_1)W_2 + b_2)\dots)W_L + b_L$."""
    ex = _EX_COLLAPSE
    rng = np.random.default_rng(11)
    shapes = [
        ("two square 2 x 2 layers", [2, 2, 2]),
        ("three layers 3 -> 4 -> 2 -> 1", [3, 4, 2, 1]),
        ("one layer 3 -> 2", [3, 2]),
        ("four square 3 x 3 layers", [3, 3, 3, 3, 3]),
    ]
    for words, dims in shapes:
        Ws = [rng.normal(size=(a, b)) for a, b in zip(dims[:-1], dims[1:], strict=True)]
        bs = [rng.normal(size=b) for b in dims[1:]]
        W_exp, b_exp = Ws[0], bs[0]
        for W, b in zip(Ws[1:], bs[1:], strict=True):
            W_exp, b_exp = W_exp @ W, b_exp @ W + b
        out = _call(ex, fn, ([_f(W) for W in Ws], [_f(b) for b in bs]), words)
        W_got, b_got = _unpack(ex, words, out, ("W", "b"))
        shape_hint = "W maps the d_0 inputs to the d_L outputs: shape (d_0, d_L)."
        W_got = _array(ex, words, "W", W_got, W_exp.shape, hint=shape_hint)
        b_got = _array(ex, words, "b", b_got, b_exp.shape)
        if not _close(W_got, W_exp):
            rev = Ws[-1]
            for W in Ws[-2::-1]:
                rev = rev @ W
            hint = (
                "with row vectors h -> h W, the first layer's matrix comes first: W_1 W_2 ... W_L."
            )
            if rev.shape == W_exp.shape and _close(W_got, rev):
                hint = "the product is in the wrong order: " + hint
            _compare(ex, words, "W", W_got, W_exp, hint=hint)
        if not _close(b_got, b_exp):
            hint = (
                "push each bias through the layers after it: b = (..(b_1 W_2 + b_2) W_3 ..) + b_L."
            )
            if len({b.shape for b in bs}) == 1 and _close(b_got, np.sum(bs, axis=0)):
                hint = "adding the biases is not enough: " + hint
            _compare(ex, words, "b", b_got, b_exp, hint=hint)
    _passed(ex, len(shapes))


# ------------------------------------------------------------------------------ collinear_dataset

_EX_COLLINEAR = Exercise("collinear_dataset", "4.2")

_REL_RANK_TOL = 1e-5  # singular values below this fraction of the largest count as 0 (float32-safe)


def collinear_dataset(fn: Callable) -> None:
    r"""Check ``fn()`` $= (X, y)$: 5 distinct examples of 4 attributes with $y = 2x_1$, on which
    unregularized least squares has infinitely many exact solutions, one of them with $w_1 = 0$.

    Every property is verified on its own, in float64: the shapes, that no two rows coincide,
    $y = 2x_1$ exactly, $\operatorname{rank} X < 4$ (singular values below $10^{-5}$ times the
    largest count as zero, so data built in float32 passes), and that the least-squares fit
    *without* the column $x_1$ still has zero error (solved here with ``np.linalg.lstsq``).
    """
    ex = _EX_COLLINEAR
    words = "collinear_dataset()"
    out = _call(ex, fn, (), words)
    X, y = _unpack(ex, words, out, ("X", "y"))
    shape_hint = "five examples (one per row) of four attributes (columns): shape (5, 4)."
    X = _array(ex, words, "X", X, (5, 4), hint=shape_hint)
    y = _array(ex, words, "y", y, (5,), hint="one target per example: shape (5,).")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise CheckFailed(ex, "X and y must hold finite numbers (no NaN or infinity)", case=words)
    scale = max(1.0, float(np.max(np.abs(X))))
    shown = [f"X = {np.round(X, 4).tolist()}"]
    for i in range(5):
        for j in range(i + 1, 5):
            if np.max(np.abs(X[i] - X[j])) <= 1e-6 * scale:
                raise CheckFailed(
                    ex,
                    f"rows {i} and {j} of X are the same example",
                    case=words,
                    details=shown,
                    hint=(
                        "the exercise asks for 5 distinct examples: a repeated row adds no "
                        "information. Change the other attributes of one copy, keeping the "
                        "relation that makes x1 redundant (e.g. x2 = x1)."
                    ),
                )
    expected_y = 2.0 * X[:, 0]
    if not np.allclose(y, expected_y, rtol=1e-6, atol=1e-6 * scale):
        hint = "the target is y = 2 x1 for every example, exactly: y = 2 * X[:, 0]."
        if np.allclose(y, 2.0 * X[:, 1], rtol=1e-6, atol=1e-6 * scale):
            hint = "Python counts from 0: x1 is the first column, X[:, 0], not X[:, 1]."
        elif np.allclose(y, X[:, 0], rtol=1e-6, atol=1e-6 * scale):
            hint = "y is twice x1: y = 2 * X[:, 0]."
        _compare(ex, words, "y", y, expected_y, rtol=1e-6, atol=1e-6 * scale, hint=hint,
                 details=shown)  # fmt: skip
    if np.max(np.abs(X[:, 0])) <= 1e-6 * scale:
        raise CheckFailed(
            ex,
            "x1 is 0 in every example, so y is 0 and any weights with w2 = w3 = w4 = 0 fit",
            case=words,
            details=shown,
            hint=(
                "let x1 vary, and make it a combination of the other attributes (the simplest: "
                "x2 = x1 in every row), so that the data cannot tell x1 from the others."
            ),
        )
    s = np.linalg.svd(X, compute_uv=False)
    rank = int(np.sum(s > _REL_RANK_TOL * s[0]))
    if rank == 4:
        raise CheckFailed(
            ex,
            "X has rank 4: least squares then has exactly one solution, w = (2, 0, 0, 0)",
            case=words,
            details=[f"singular values of X: {_fmt(s)}", *shown],
            hint=(
                "for infinitely many exact solutions the four columns must be linearly "
                "dependent, and for one of them to have w1 = 0, x1 itself must be a "
                "combination of x2, x3, x4 (the simplest: x2 = x1 in every row)."
            ),
        )
    rest, *_ = np.linalg.lstsq(X[:, 1:], y, rcond=None)
    residual = float(np.linalg.norm(X[:, 1:] @ rest - y))
    if residual > 1e-5 * float(np.linalg.norm(y)):
        raise CheckFailed(
            ex,
            "no exact solution has w1 = 0",
            case=words,
            details=[
                f"rank of X: {rank} (fine: infinitely many exact solutions)",
                f"but the best fit using only x2, x3, x4 leaves an error ||X w - y|| = "
                f"{residual:.3g}",
                *shown,
            ],
            hint=(
                "the columns are dependent, but x1 is not part of the dependence (e.g. x3 = x4). "
                "With w1 = 0 the others must reproduce 2 x1 on every row: make x1 a combination "
                "of x2, x3, x4, e.g. x2 = x1."
            ),
        )
    _passed(ex, 6)


# ------------------------------------------------------------------------------ bottleneck_rank

_EX_BOTTLENECK = Exercise("bottleneck_rank", "4.8")


def _int_matrix(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Small integers: their products are exact in float32, so only the SVD rounds."""
    return rng.integers(-3, 4, size=shape).astype(np.float64)


def _bottleneck_cases() -> list[tuple[str, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(48)
    cases = [
        ("p = 5, q = 3 (a narrow linear layer)",
         _int_matrix(rng, (5, 3)), _int_matrix(rng, (3, 5))),
        ("p = 4, q = 4", _int_matrix(rng, (4, 4)), _int_matrix(rng, (4, 4))),
        ("p = 3, q = 6 (a wide linear layer)", _int_matrix(rng, (3, 6)), _int_matrix(rng, (6, 3))),
    ]  # fmt: skip
    # p = 4, q = 6: W_a = [I | C] has rank 4, and W_b (rank 4) sends two of its four directions
    # into the null space of W_a (spanned by the columns of [-C; I]): the product has rank 2.
    C = _int_matrix(rng, (4, 2))
    perm = rng.permutation(6)  # shuffle the units of the linear layer (W_a @ null stays 0)
    W_a = np.concatenate([np.eye(4), C], axis=1)[:, perm]
    null = np.concatenate([-C, np.eye(2)], axis=0)[perm]
    mix = np.array([[1, 1, 0, 2], [0, 1, 1, 0], [1, 0, 1, 1], [2, 1, 0, 1]], np.float64)
    W_b = np.concatenate([null, _int_matrix(rng, (6, 2))], axis=1) @ mix
    cases.append(("p = 4, q = 6, both weight matrices of rank 4", W_a, W_b))
    cases.append(
        (
            "p = 6, q = 2, tiny weights (entries about 1e-6)",
            _int_matrix(rng, (6, 2)) * 2.0**-20,
            _int_matrix(rng, (2, 6)) * 2.0**-20,
        )
    )
    cases.append(
        (
            "p = 5, q = 4, large weights (entries about 1e4)",
            _int_matrix(rng, (5, 4)) * 2.0**12,
            _int_matrix(rng, (4, 5)) * 2.0**12,
        )
    )
    return cases  # fmt: skip


def bottleneck_rank(fn: Callable) -> None:
    r"""Check ``fn(W_a, W_b)`` $= \operatorname{rank}(W_aW_b)$, a whole number, for $W_a$ of
    shape $(p, q)$ and $W_b$ of shape $(q, p)$.

    The reference is ``np.linalg.matrix_rank`` of the float64 product (a tolerance relative to
    the largest singular value). The cases cover $q < p$, $q = p$, $q > p$, a product whose
    rank is below that of either factor, and weights scaled far below and above 1 (which an
    absolute tolerance gets wrong).
    """
    ex = _EX_BOTTLENECK
    cases = _bottleneck_cases()
    for words, W_a, W_b in cases:
        p, q = W_a.shape
        expected = int(np.linalg.matrix_rank(W_a @ W_b))
        got = _scalar(ex, words, "the rank", _call(ex, fn, (_f(W_a), _f(W_b)), words), integer=True)
        if int(got) == expected:
            continue
        details = [f"expected rank {expected}", f"got      rank {int(got)}",
                   f"W_a: shape {W_a.shape}, W_b: shape {W_b.shape}"]  # fmt: skip
        bounds = []
        if int(got) == int(np.linalg.matrix_rank(W_a)):
            bounds.append("the rank of W_a")
        if int(got) == int(np.linalg.matrix_rank(W_b)):
            bounds.append("the rank of W_b")
        if int(got) == min(p, q):
            bounds.append("min(p, q)")
        if int(got) > expected and bounds:
            hint = (
                f"{int(got)} is {', '.join(bounds)}: only an upper bound. The map goes through "
                "both layers, and W_b can send directions into the null space of W_a: compute "
                "the rank of the product W_a @ W_b itself."
            )
        elif int(got) > expected:
            hint = (
                "too many: rounding leaves the 'zero' singular values of W_a @ W_b near 1e-7 "
                "times the largest (float32), not at 0. Count only the singular values above a "
                "tolerance relative to the largest, e.g. s.max() * max(p, q) * eps, as "
                "jnp.linalg.matrix_rank does."
            )
        elif max(np.abs(W_a).max(), np.abs(W_b).max()) < 1e-3:
            hint = (
                "with tiny weights every singular value is tiny: an absolute threshold (such as "
                "s > 1e-6) calls them all zero. Make the tolerance relative to the largest "
                "singular value."
            )
        else:
            hint = (
                "count the singular values of W_a @ W_b (p x p) that are above a small "
                "tolerance relative to the largest one."
            )
        raise CheckFailed(ex, "wrong rank", case=words, details=details, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ learning_curve

_EX_CURVE = Exercise("learning_curve", "4.10")


def _curve(x, y, x_test, y_test, sizes, degree, *, rows="first", train_on="fitted",
           powers=None, root=False):  # fmt: skip
    """A learning curve written with loops and ``np.linalg.lstsq``, plus the variants the
    check recognizes as slips (``rows``: which points are fitted; ``train_on``: where the
    training error is measured; ``powers``: the columns of the features; ``root``: RMSE)."""
    R, N = x.shape
    powers = np.arange(degree + 1) if powers is None else np.asarray(powers)
    V_test = x_test[:, None] ** powers
    train, test = [], []
    for n in sizes:
        tr, te = [], []
        for r in range(R):
            idx = {"first": np.arange(n), "last": np.arange(N - n, N), "all": np.arange(N)}[rows]
            w = np.linalg.lstsq(x[r, idx, None] ** powers, y[r, idx], rcond=None)[0]
            on = idx if train_on == "fitted" else np.arange(N)
            tr.append(np.mean((x[r, on, None] ** powers @ w - y[r, on]) ** 2))
            te.append(np.mean((V_test @ w - y_test) ** 2))
        tr, te = np.array(tr), np.array(te)
        if root:
            tr, te = np.sqrt(tr), np.sqrt(te)
        train.append(tr.mean())
        test.append(te.mean())
    return np.array(train), np.array(test)


def _curve_cases() -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray, list, int]]:
    rng = np.random.default_rng(410)

    def draw(R, N, t):
        x = rng.uniform(0.0, 4.0, size=(R, N))
        y = 1.5 * np.sin(0.9 * x + 0.5) + 0.5 * rng.normal(size=(R, N))
        xt = np.linspace(0.0, 4.0, t)
        return x, y, xt, 1.5 * np.sin(0.9 * xt + 0.5) + 0.5 * rng.normal(size=t)

    small = (
        np.array([[0.0, 1.0, 2.0, 3.0]]),
        np.array([[1.0, 0.0, 2.0, 4.0]]),
        np.array([0.5, 2.5]),
        np.array([1.0, 3.0]),
    )
    return [
        ("one training set of 4 points, a line (degree 1), sizes [2, 4]", *small, [2, 4], 1),
        ("3 training sets of 10 points, a constant (degree 0), sizes [1, 3, 10]",
         *draw(3, 10, 9), [1, 3, 10], 0),
        ("20 training sets of 30 points, degree 1, sizes [3, 5, 10, 30]",
         *draw(20, 30, 25), [3, 5, 10, 30], 1),
        ("20 training sets of 30 points, degree 3, sizes [6, 8, 15, 30]",
         *draw(20, 30, 25), [6, 8, 15, 30], 3),
    ]  # fmt: skip


def learning_curve(fn: Callable) -> None:
    r"""Check ``fn(x, y, x_test, y_test, sizes, degree)`` $=$ ``(train_mse, test_mse)``, each of
    shape ``(len(sizes),)``: for every size $n$, the least-squares polynomial of the given degree
    fitted to the first $n$ points of each of the $R$ training sets (``x``, ``y`` of shape
    ``(R, N)``), its mean squared error on those $n$ points and on the test set, averaged over
    the $R$ sets.

    The reference is written with loops, ``np.vander`` and ``np.linalg.lstsq`` in float64 on the
    very inputs handed to ``fn`` (rounded to the default float dtype first).
    """
    ex = _EX_CURVE
    cases = _curve_cases()
    slips = [
        (dict(rows="all"), "fit each model on the first n points only (x[:, :n], y[:, :n]): "
         "fitted on all N points, the curves cannot change with n."),
        (dict(train_on="all"), "measure the training error on the n points the model was "
         "fitted to; the other N - n points of the set are data it has not seen."),
        (dict(root=True), "return mean squared errors, not their square roots (RMSE)."),
        (dict(rows="last"), "use the first n points of each set (x[:, :n]), so that the "
         "training sets are nested: the set of size n is part of every larger one."),
        (dict(powers="no bias"), "a polynomial of degree d has d + 1 weights, for 1, x, ..., "
         "x^d: include the constant column (the bias)."),
        (dict(powers="one more"), "a polynomial of degree d has d + 1 weights, for 1, x, ..., "
         "x^d: one column too many."),
    ]  # fmt: skip
    for words, x, y, xt, yt, sizes, degree in cases:
        x, y, xt, yt = (np.asarray(_f(a), np.float64) for a in (x, y, xt, yt))
        R, N = x.shape
        inputs = [f"x, y: shape {x.shape}, x_test, y_test: shape {xt.shape}",
                  f"sizes = {sizes}, degree = {degree}"]  # fmt: skip
        out = _call(ex, fn, (_f(x), _f(y), _f(xt), _f(yt), list(sizes), degree), words, inputs)
        train, test = _unpack(ex, words, out, ("train_mse", "test_mse"))
        shape_hint = (
            f"one number per training-set size: shape ({len(sizes)},), averaged over the "
            f"R = {R} training sets."
        )
        train = _array(ex, words, "train_mse", train, (len(sizes),), hint=shape_hint)
        test = _array(ex, words, "test_mse", test, (len(sizes),), hint=shape_hint)
        exp_train, exp_test = _curve(x, y, xt, yt, sizes, degree)
        tol = dict(rtol=2e-3, atol=1e-5)
        if _close(train, exp_train, **tol) and _close(test, exp_test, **tol):
            continue
        hint = (
            "for each n: fit the polynomial to the first n points of every set by least "
            "squares, take its mean squared error on those n points and on the test set, then "
            "average each over the sets."
        )
        if _close(train, exp_test, **tol) and _close(test, exp_train, **tol):
            hint = "training and test errors are swapped: return (train_mse, test_mse)."
        else:
            for kwargs, words_hint in slips:
                kw = dict(kwargs)
                if kw.get("powers") == "no bias":
                    if degree == 0:
                        continue
                    kw["powers"] = np.arange(1, degree + 1)
                elif kw.get("powers") == "one more":
                    kw["powers"] = np.arange(degree + 2)
                alt_train, alt_test = _curve(x, y, xt, yt, sizes, degree, **kw)
                if _close(train, alt_train, **tol) and _close(test, alt_test, **tol):
                    hint = words_hint
                    break
        _compare(ex, words, "train_mse", train, exp_train, hint=hint, details=inputs, **tol)
        _compare(ex, words, "test_mse", test, exp_test, hint=hint, details=inputs, **tol)
    _passed(ex, len(cases))
