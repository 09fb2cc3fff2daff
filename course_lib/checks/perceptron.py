r"""Self-checks for the chapter-1 exercises (Aggarwal §1.11): perceptron, XOR, activations.

Each public function takes the student's function, runs it on a few fixed cases and compares
with an independent reference: :mod:`course_lib.perceptron` for the update rules, ``jax.grad``
for derivatives, a layer-by-layer forward pass for the network of Exercise 1.9, and plain
definitions written out here for the rest. The inputs are multiples of 1/2 and the learning
rates powers of 2, so every update is exact in float32: a tie ($y\,w\cdot x = 0$, or $= 1$ for
the hinge) is an exact tie for the student's code and for the reference alike.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from course_lib import data, perceptron
from course_lib.checks import (
    _TRACING_ERRORS,
    CheckFailed,
    Exercise,
    _array,
    _call,
    _compare,
    _f,
    _first_line,
    _fmt,
    _passed,
    _scalar,
    _unpack,
)

# ------------------------------------------------------------------------------ shared data

# Small datasets on a grid of halves (exact in float32). Separable ones were labelled by a
# planted w*, the others have labels flipped (the third has the same point twice, labelled both
# ways, so no w can get it right).
_SEP_2D = (
    [
        [0.0, -2.0],
        [-1.5, 0.0],
        [2.0, 0.0],
        [1.5, 2.0],
        [1.5, 0.5],
        [-0.5, 0.0],
        [-1.0, 0.0],
        [-0.5, -1.0],
    ],
    [1.0, -1.0, 1.0, -1.0, 1.0, -1.0, -1.0, 1.0],
)
_SEP_3D = (
    [
        [2.0, -2.0, -2.0],
        [-1.5, 2.0, 1.0],
        [1.5, -1.5, 1.0],
        [-0.5, 0.0, -2.0],
        [0.5, 1.5, 0.5],
        [-1.5, 0.0, -1.0],
    ],
    [1.0, -1.0, -1.0, 1.0, 1.0, -1.0],
)
_NONSEP_2D = (
    [
        [2.0, 1.5],
        [-1.5, 0.0],
        [2.0, 1.5],
        [1.0, 0.5],
        [-2.0, 1.0],
        [0.0, -2.0],
        [-1.0, 0.0],
        [1.0, 0.0],
    ],
    [1.0, -1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0],
)
_NONSEP_BIAS = (
    [
        [0.0, 0.5, 1.0],
        [0.0, 1.0, 1.0],
        [2.0, -1.5, 1.0],
        [0.5, -0.5, 1.0],
        [-0.5, -1.0, 1.0],
        [-2.0, -0.5, 1.0],
    ],
    [-1.0, 1.0, 1.0, 1.0, 1.0, -1.0],
)
# Two ties: w = 0 at the first point, then w = (1, 1) exactly on the boundary of the second.
_TIES = (
    [[1.0, 1.0], [1.0, -1.0], [-0.5, 1.0], *_SEP_2D[0][:5]],
    [1.0, -1.0, -1.0, *_SEP_2D[1][:5]],
)
# For the hinge: a point at margin exactly 1 (no update), then one correct but inside the margin.
_MARGIN_TIES = (
    [[1.0, 0.5], [0.5, 2.0], [-1.0, 1.0], *_SEP_2D[0][:5]],
    [1.0, 1.0, -1.0, *_SEP_2D[1][:5]],
)
# _SEP_2D was labelled by w* = (1, -2) with |w*·x| >= 1/2, so 2 w* has every margin >= 1.
_SEP_2D_SOLVED = [2.0, -4.0]


class _EpochCase(NamedTuple):
    label: str  # what is special about it, in words
    X: Any
    y: Any
    w: Any
    lr: float


def _epoch_cases(hinge: bool) -> list[_EpochCase]:
    # Only two shapes, (8, 2) and (6, 3): every new shape costs a compilation, here and in the
    # student's code.
    first = (
        _EpochCase("a point at margin exactly 1, one inside the margin", *_MARGIN_TIES, [1, 0], 0.5)
        if hinge
        else _EpochCase("w = 0 and a point on the boundary: ties", *_TIES, [0, 0], 1.0)
    )
    return [
        first,
        _EpochCase("separable data", *_SEP_2D, [0, 0], 1.0),
        _EpochCase("separable data", *_SEP_3D, [0.5, -1, 0], 0.5),
        _EpochCase("not separable", *_NONSEP_2D, [1, 1], 0.25),
        _EpochCase("not separable, bias feature last", *_NONSEP_BIAS, [0, 0, 1], 2.0),
        _EpochCase("w already separates them, every margin >= 1", *_SEP_2D, _SEP_2D_SOLVED, 1.0),
    ]


def _describe_epoch_case(case: _EpochCase) -> str:
    n, d = np.shape(case.X)
    points = "1 point" if n == 1 else f"{n} points"
    return (
        f"{points} in {d}-D ({case.label}), lr={case.lr:g}, "
        f"w starting at {_fmt(np.asarray(case.w, float))}"
    )


def _input_lines(**arrays: Any) -> list[str]:
    return [f"input {name} = {_fmt(np.asarray(value, float))}" for name, value in arrays.items()]


# Models of common slips, in NumPy: if a student's answer equals one of them (and not the right
# answer), its hint says what went wrong. They only choose a hint; the reference is the library.
def _sgd_model(
    w, X, y, lr, *, update, count=None, sign=1.0, batch=False, count_after=False, factor=None
):
    """One epoch of a (possibly wrong) rule: ``update(z, score, y)`` decides, ``count(z)``
    decides what is counted (``None``: the updates), ``factor(score, y)`` (default ``y``)
    multiplies ``lr * x`` in the update."""
    w = np.asarray(w, float).copy()
    X, y = np.asarray(X, float), np.asarray(y, float)
    rows = list(zip(X, y, strict=True))
    counted = 0
    if batch:
        step = np.zeros_like(w)
        for xi, yi in rows:
            z = yi * (w @ xi)
            hit = bool(update(z, w @ xi, yi))
            counted += hit if count is None else bool(count(z))
            step = step + hit * yi * xi
        return w + sign * lr * step, counted
    for xi, yi in rows:
        z = yi * (w @ xi)
        hit = bool(update(z, w @ xi, yi))
        counted += hit if count is None else bool(count(z))
        if hit:
            w = w + sign * lr * (yi if factor is None else factor(w @ xi, yi)) * xi
    if count_after:
        counted = sum(bool(yi * (w @ xi) <= 0) for xi, yi in rows)
    return w, counted


def _slip_hint(got: tuple[np.ndarray, float], slips: list[tuple[Callable, str]], default: str):
    """The hint of the first slip model whose answer equals the student's, else ``default``."""
    for model, hint in slips:
        w_slip, count_slip = model()
        if np.allclose(got[0], w_slip, atol=1e-5) and np.isclose(got[1], count_slip):
            return hint
    return default


def _epoch_check(
    ex: Exercise,
    fn: Callable,
    *,
    reference: Callable[[_EpochCase], tuple[np.ndarray, float]],
    count_name: str,
    slips: Callable[[_EpochCase], list[tuple[Callable, str]]],
    default_hint: str,
    cases: list[_EpochCase],
) -> int:
    """Shared by the perceptron and hinge epochs: run every case as plain (eager) Python, so a
    Python ``if`` on the margin is a correct answer. Returns the number of checks made."""
    names = ("new_w", count_name)
    for case in cases:
        words = _describe_epoch_case(case)
        X, y, w = _f(case.X), _f(case.y), _f(case.w)
        inputs = _input_lines(X=case.X, y=case.y)
        out = _unpack(ex, words, _call(ex, fn, (w, X, y, case.lr), words, inputs), names)
        d = X.shape[1]
        shape_hint = "new_w has one weight per column of X: shape (d,)."
        new_w = _array(ex, words, "new_w", out[0], (d,), hint=shape_hint)
        count = _scalar(ex, words, count_name, out[1], integer=True)
        w_ref, count_ref = reference(case)
        right = np.allclose(new_w, w_ref, rtol=1e-5, atol=1e-5) and count == count_ref
        hint = None if right else _slip_hint((new_w, count), slips(case), default_hint)
        _compare(ex, words, "new_w", new_w, w_ref, hint=hint, details=inputs)
        _compare(ex, words, count_name, count, count_ref, hint=hint, details=inputs)
    return len(cases)


def _traced_epoch_check(
    ex: Exercise,
    fn: Callable,
    case: _EpochCase,
    reference: tuple[np.ndarray, float],
    count_name: str,
    hint: str,
) -> None:
    """Run ``fn`` as the experiment of Exercise 1.11 does, under ``jax.jit`` and ``jax.vmap``
    (here over two copies of ``case``), and compare both answers with ``reference``.

    A function that JAX cannot trace (a Python ``if`` on an array, ``int(...)``, ``np.*``)
    fails with ``hint``, which says how to rewrite it."""
    words = _describe_epoch_case(case) + ", twice, under jax.jit and jax.vmap"
    batch = jax.jit(jax.vmap(fn, in_axes=(0, 0, 0, None)))
    args = tuple(jnp.stack([_f(a)] * 2) for a in (case.w, case.X, case.y)) + (case.lr,)
    try:
        out = batch(*args)
    except _TRACING_ERRORS as exc:
        raise CheckFailed(
            ex,
            f"calling it raised {type(exc).__name__}: JAX could not trace it",
            case=words,
            details=[f"error: {_first_line(exc)}"],
            hint=hint,
        ) from None
    except Exception:  # any other error: the usual report (calling it again raises it again)
        out = _call(ex, batch, args, words)
    new_w, count = _unpack(ex, words, out, ("new_w", count_name))
    new_w = _array(ex, words, "new_w", new_w, (2, np.shape(case.X)[1]))
    count = _array(ex, words, count_name, count, (2,))
    w_ref, count_ref = reference
    for row in range(2):
        _compare(ex, words, "new_w", new_w[row], w_ref)
        _compare(ex, words, count_name, float(count[row]), count_ref)


# Why a traced function cannot branch with `if`, in the words both epoch checks use.
_TRACE_REASON = (
    "jax.jit and jax.vmap run the function on placeholders (tracers) that have a shape but no "
    "values yet, so a Python `if` on an array, int(...), bool(...) or np.* fails. Write the "
    "branch as jnp.where(condition, new_value, old_value) and add the condition to the count "
    "(num + condition); a Python `for` loop over range(n) is fine."
)


# ------------------------------------------------------------------------------ Exercise 1.6

_EX_EPOCH = Exercise("perceptron_epoch", "1.6")


def _perceptron_reference(case: _EpochCase) -> tuple[np.ndarray, float]:
    w, m = perceptron.epoch(_f(case.w), _f(case.X), _f(case.y), lr=case.lr)
    return np.asarray(w, float), float(m)


def perceptron_epoch(fn: Callable) -> None:
    r"""Check ``fn(w, X, y, lr) -> (new_w, num_mistakes)``: one perceptron pass in row order.

    The reference is :func:`course_lib.perceptron.epoch`: update $w \leftarrow w + \alpha y x$
    whenever $y\,(w\cdot x) \le 0$, counting those steps. The function runs as plain Python
    (no ``jax.jit``), so a Python ``if`` on the margin is a right answer here; Exercise 1.11,
    which runs it under ``jax.jit`` and ``jax.vmap``, checks that it traces (see
    :func:`hinge_epoch`).
    """
    ex = _EX_EPOCH
    reference = _perceptron_reference

    def slips(case: _EpochCase):
        args = (case.w, case.X, case.y, case.lr)
        on_mistake = lambda z, s, yi: z <= 0  # noqa: E731  (the right condition)
        return [
            (
                lambda: _sgd_model(*args, update=lambda z, s, yi: z < 0),
                "a point exactly on the boundary (y (w·x) = 0) counts as a mistake and must "
                "update; otherwise w = 0 never moves. Use <= 0, not < 0.",
            ),
            (
                lambda: _sgd_model(*args, update=lambda z, s, yi: (1.0 if s >= 0 else -1.0) != yi),
                "your prediction treats w·x = 0 as +1. On the boundary the perceptron has no "
                "opinion: count it as a mistake (y (w·x) <= 0).",
            ),
            (
                lambda: _sgd_model(case.w, case.X, case.y, 1.0, update=on_mistake),
                "the learning rate is missing: the update is w + lr * y * x.",
            ),
            (
                # Eq 1.4 to the letter, with sign(0) = 0: a full step 2 lr y x on a mistake,
                # half of that, lr y x, on a point on the boundary. (It comes after the missing-lr
                # slip: with lr = 1/2 and no tie, the two give the same answer.)
                lambda: _sgd_model(
                    *args, update=on_mistake, factor=lambda s, yi: yi - float(np.sign(s))
                ),
                "you implemented the book's Eq 1.4 literally, w + lr (y - sign(w·x)) x: that adds "
                "2 lr y x on a mistake but only lr y x on a point on the boundary (sign(0) = 0). "
                "This exercise uses the perceptron rule w + lr y x for every point with "
                "y (w·x) <= 0: Eq 1.4 with its factor 2 folded into lr, the same step on the "
                "boundary as everywhere else.",
            ),
            (
                lambda: _sgd_model(*args, update=on_mistake, sign=-1.0),
                "the update has the wrong sign: a mistake on (x, y) moves w towards y * x.",
            ),
            (
                lambda: _sgd_model(*args, update=on_mistake, batch=True),
                "the points must be visited one after the other: each one is tested with the w "
                "left by the previous update, not with the w the epoch started from.",
            ),
            (
                lambda: _sgd_model(*args, update=on_mistake, count_after=True),
                "count the mistakes while you pass over the data (when each point is visited), "
                "not with the final w.",
            ),
        ]

    checked = _epoch_check(
        ex,
        fn,
        reference=reference,
        count_name="num_mistakes",
        slips=slips,
        default_hint=(
            "visit the rows in order; for each, test y (w·x) <= 0 with the current w, and if so "
            "add lr * y * x to w and count one mistake. Run your function on the inputs above by "
            "hand (they are small)."
        ),
        cases=_epoch_cases(hinge=False),
    )
    _passed(ex, checked)


# ------------------------------------------------------------------------------ Exercise 1.4

_EX_UPDATES = Exercise("perceptron_updates", "1.4")
_EX_PERIOD = Exercise("cycle_period", "1.4")


def perceptron_updates(fn: Callable) -> None:
    r"""Check ``fn(X, y, epochs) -> (k + 1, d)`` array: $w_0 = 0$, then $w$ after each update.

    The reference is :func:`course_lib.perceptron.update_path` of :func:`course_lib.perceptron.fit`
    (learning rate 1, rows in order).
    """
    ex = _EX_UPDATES
    xor = data.xor_pm1()
    cases = [  # few shapes, one number of epochs: every new one costs a compilation
        ("the ±1-XOR corners", xor.X, xor.y, 4),
        ("separable data: the updates stop", *_SEP_2D, 4),
        ("not separable", *_NONSEP_2D, 4),
    ]
    for label, X, y, epochs in cases:
        X, y = _f(X), _f(y)
        n, d = X.shape
        words = f"{n} points in {d}-D ({label}), epochs={epochs}"
        got = _array(ex, words, "path", _call(ex, fn, (X, y, epochs), words))
        expected = np.asarray(perceptron.update_path(perceptron.fit(X, y, epochs=epochs)), float)
        if got.ndim != 2 or got.shape[1] != d:
            raise CheckFailed(
                ex,
                "path has the wrong shape",
                case=words,
                details=[f"expected shape {expected.shape}", f"got      shape {got.shape}"],
                hint="stack the weight vectors as rows: one row per vector, d columns.",
            )
        k = expected.shape[0] - 1
        if got.shape[0] == n * epochs + 1 and got.shape[0] != expected.shape[0]:
            hint = "record w only after an update (a mistake), not after every point."
        elif got.shape[0] == k:
            hint = "the first row must be the starting weights w_0 = 0."
        elif got.shape[0] == 1:
            hint = (
                "no update was recorded: starting from w = 0 every score is 0, which must "
                "count as a mistake (y (w·x) <= 0)."
            )
        else:
            hint = (
                f"there are {k} updates here, so {k + 1} rows: w_0 = 0 and w after each update "
                "(rows visited in order, learning rate 1)."
            )
        _compare(ex, words, "path", got, expected, hint=hint, details=_input_lines(X=X, y=y))
    _passed(ex, len(cases))


def _period_reference(path: np.ndarray) -> int:
    """Smallest p with 2p <= m and tail[i + p] == tail[i] for the last m = T // 2 rows; else 0."""
    m = path.shape[0] // 2
    tail = path[path.shape[0] - m :]
    for p in range(1, m // 2 + 1):
        if all(np.array_equal(tail[i + p], tail[i]) for i in range(m - p)):
            return p
    return 0


def cycle_period(fn: Callable) -> None:
    r"""Check ``fn(path) -> int``: the period of the last half of a weight path, 0 if none.

    With $T$ rows and $m = \lfloor T/2 \rfloor$, the tail is the last $m$ rows; the period is
    the smallest $p \ge 1$ with $2p \le m$ and ``tail[i + p] == tail[i]`` for every
    $0 \le i < m - p$, or 0 if there is none. The reference is written out here.
    """
    ex = _EX_PERIOD
    xor = data.xor_pm1()
    xor_path = np.asarray(perceptron.update_path(perceptron.fit(xor.X, xor.y, epochs=4)))
    sep_path = np.asarray(perceptron.update_path(perceptron.fit(*map(_f, _SEP_2D), epochs=4)))
    a, b, c = [1.0, -1.0], [0.0, 2.0], [3.0, 0.5]
    e1, e2, e3 = [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]
    cases = [
        ("the perceptron's path on ±1-XOR, 4 epochs", xor_path),
        ("the perceptron's path on separable data (it converges)", sep_path),
        ("one vector repeated 6 times", [a] * 6),
        ("a transient, then a, b, a, b, ...", [[9.0, 9.0], [5.0, 5.0], c, a, b, a, b, a, b, a]),
        ("a, b, a four times (the last row also equals the one 2 rows up)", [a, b, a] * 4),
        ("strictly increasing weights", [[float(t), 0.0] for t in range(10)]),
        ("c, c, c, a, b, a: the tail (a, b, a) shows a repeat only once", [c, c, c, a, b, a]),
        ("a single row", [a]),
        ("3-D vectors, period 3 after a transient", [[0, 0, 0], [1, 1, 1]] + [e1, e2, e3] * 4),
    ]
    for label, path in cases:
        path = np.asarray(path, dtype=np.float64)
        words = f"a path of {path.shape[0]} rows in {path.shape[1]}-D: {label}"
        got = _scalar(ex, words, "period", _call(ex, fn, (_f(path),), words), integer=True)
        expected = _period_reference(path)
        hint = None
        if got != expected:
            if expected == 0 and got > 0:
                hint = (
                    "a period counts only if the pattern is seen at least twice in the tail "
                    "(2p <= m) and holds for every row of the tail; otherwise return 0."
                )
            elif got > expected > 0 or expected == 0:
                hint = "return the smallest period; check p = 1, 2, ... in increasing order."
            else:
                hint = (
                    "p is a period only if tail[i + p] equals tail[i] for EVERY valid i, not just "
                    "for the last row; and look only at the last half of the path."
                )
        _compare(
            ex,
            words,
            "period",
            got,
            expected,
            atol=0,
            rtol=0,
            hint=hint,
            details=[f"input path = {_fmt(path)}"] if path.shape[0] <= 14 else [],
        )
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ Exercise 1.5

_EX_FEATURES = Exercise("xor_features", "1.5")


def xor_features(fn: Callable) -> None:
    r"""Check ``fn(X: (n, 2)) -> (n, 3)`` $= [x_1, x_2, x_1 x_2]$, and that it separates XOR."""
    ex = _EX_FEATURES
    xor = data.xor_pm1()
    cases = [
        ("the ±1-XOR corners", xor.X),
        ("assorted points", [*_SEP_2D[0], [0.5, -2.0], [0.0, 3.0], [-1.0, 0.25], [2.0, -0.5]]),
    ]
    for label, X in cases:
        X = np.asarray(X, dtype=np.float64)
        words = f"{X.shape[0]} point(s) in 2-D ({label})"
        expected = np.column_stack([X[:, 0], X[:, 1], X[:, 0] * X[:, 1]])
        got = _array(
            ex,
            words,
            "features",
            _call(ex, fn, (_f(X),), words),
            expected.shape,
            hint="return all three columns, in this order: x1, x2, x1 * x2.",
        )
        hint = None
        if np.allclose(np.sort(got, axis=1), np.sort(expected, axis=1)):
            hint = "the columns are in the wrong order: x1, x2, then x1 * x2."
        _compare(ex, words, "features", got, expected, hint=hint, details=_input_lines(X=X))
    # The point of the exercise: in the new features a plane through 0 separates XOR.
    corners = np.asarray(xor.X, dtype=np.float64)
    X = np.concatenate([corners, 0.5 * corners, 2.0 * corners])
    y = np.concatenate([np.asarray(xor.y, dtype=np.float64)] * 3)
    words = "the ±1-XOR corners and copies scaled by 1/2 and 2 (12 points)"
    Z = _array(ex, words, "features", _call(ex, fn, (_f(X),), words), (12, 3))
    run = perceptron.fit(_f(Z), _f(y), epochs=50)
    if not bool(run.converged):
        raise CheckFailed(
            ex,
            "the perceptron does not converge on your features",
            case=words,
            hint="with the right third feature, the plane z = 0 separates the two classes.",
        )
    _passed(ex, len(cases) + 1)


# ------------------------------------------------------------------------------ Exercise 1.1

_EX_RELU = Exercise("xor_relu_network", "1.1")


def xor_relu_network(fn: Callable) -> None:
    r"""Check ``fn() -> (W1 (2, 2), b1 (2,), w2 (2,), b2 ())`` by what the network does.

    $o(x) = w_2\cdot\mathrm{ReLU}(W_1^\top x + b_1) + b_2$ must be $\ge 0.1$ on $(1,0), (0,1)$
    and $\le -0.1$ on $(0,0), (1,1)$; any such network passes. The hidden representations must
    then be linearly separable: the library's perceptron converges on them (with a bias).
    """
    ex = _EX_RELU
    words = "the four XOR points (0,0), (1,1), (1,0), (0,1)"
    out = _unpack(ex, words, _call(ex, fn, (), words), ("W1", "b1", "w2", "b2"))
    W1 = _array(ex, words, "W1", out[0], (2, 2), hint="W1 has one column per hidden unit: (2, 2).")
    b1 = _array(ex, words, "b1", out[1], (2,), hint="b1 holds one bias per hidden unit: (2,).")
    w2 = _array(ex, words, "w2", out[2], (2,), hint="w2 holds one weight per hidden unit: (2,).")
    b2 = _scalar(ex, words, "b2", out[3])
    for name, value in (("W1", W1), ("b1", b1), ("w2", w2), ("b2", b2)):
        if not bool(np.all(np.isfinite(value))):
            raise CheckFailed(ex, f"{name} contains NaN or infinity", case=words)

    xor = data.xor_01()
    X, y = np.asarray(xor.X, dtype=np.float64), np.asarray(xor.y, dtype=np.float64)
    H = np.maximum(X @ W1 + b1[None, :], 0.0)  # (4, 2): the hidden layer, one row per point
    o = H @ w2 + b2  # (4,)
    table = [
        f"x = ({x[0]:g}, {x[1]:g}): expected o {'>= 0.1' if t > 0 else '<= -0.1'}, "
        f"got o = {oi:.4g}, hidden h = {_fmt(h)}"
        for x, t, oi, h in zip(X, y, o, H, strict=True)
    ]
    wrong = y * o < 0.1
    if bool(np.any(wrong)):
        if bool(np.all(y * o <= -0.1)):
            hint = "every sign is flipped: (1,0) and (0,1) are the positive class (o > 0)."
        elif bool(np.all(y * o > 0)):
            hint = "the signs are right but the margin is too small: scale w2 and b2 up."
        else:
            hint = (
                "on the four points x1 + x2 is 0, 1, 1 and 2: o must be high for the middle "
                "value and low at both ends. A ReLU whose kink sits between 1 and 2 can bend "
                "a rising line back down."
            )
        raise CheckFailed(
            ex,
            f"o(x) has the wrong sign (or |o| < 0.1) on {int(np.sum(wrong))} of the 4 points",
            case=words,
            details=table,
            hint=hint,
        )
    run = perceptron.fit(data.add_bias(_f(H)), _f(y), epochs=1000)
    if not bool(run.converged):  # cannot happen when o is right, but it is the point: check it
        raise CheckFailed(
            ex,
            "the perceptron did not separate the hidden representations",
            case=words,
            details=table,
        )
    _passed(ex, 6)  # four shapes/finiteness, four points (as one), separability: 6 in all


# ------------------------------------------------------------------------------ Exercises 1.7, 1.8

_EX_SIGMOID = Exercise("sigmoid_prime", "1.7")
_EX_TANH = Exercise("tanh_prime", "1.8")


def _derivative_check(
    ex: Exercise, fn: Callable, phi: Callable, name: str, derive_hint: str
) -> None:
    large = [-1000.0, -100.0, -50.0, 50.0, 100.0, 1000.0]  # exp overflows in float32 and float64
    cases = [
        (
            "25 values evenly spaced in [-6, 6], then -1000, -100, -50, 50, 100, 1000",
            np.concatenate([np.linspace(-6.0, 6.0, 25), large]),
        ),
        ("a 3 x 4 array of values in [-3, 3]", np.linspace(-3.0, 3.0, 12).reshape(3, 4)),
        ("the single number v = 0 (an array of shape ())", np.array(0.0)),
    ]
    # All reference values in one call (one compilation): jax.grad of phi at every value.
    flat = np.concatenate([v.reshape(-1) for _, v in cases])
    auto = np.asarray(jax.vmap(jax.grad(phi))(_f(flat)), dtype=np.float64)
    start = 0
    for label, v in cases:
        words = f"v = {label}"
        got = _array(
            ex,
            words,
            f"{name}'(v)",
            _call(ex, fn, (_f(v),), words),
            v.shape,
            hint="work elementwise: the result has the same shape as v.",
        )
        expected = auto[start : start + v.size].reshape(v.shape)
        start += v.size
        hint = derive_hint
        if not bool(np.all(np.isfinite(got))):
            bad = _fmt(v[~np.isfinite(got)])
            hint = (
                f"your result is NaN or infinite at v = {bad}: the formula overflows (exp(-v) or "
                "exp(2v) is inf once the exponent passes about 88 in float32, 709 in float64, and "
                f"inf/inf = nan). Write the derivative through the value {name}(v) itself, which "
                "stays bounded."
            )
        elif not np.allclose(got, expected, rtol=1e-4, atol=1e-6) and np.allclose(
            got, np.asarray(phi(_f(v)), dtype=np.float64), atol=1e-6
        ):
            hint = f"that is {name}(v) itself; the exercise asks for its derivative."
        wrong = ~np.isclose(got, expected, rtol=1e-4, atol=1e-6).reshape(-1)
        where = [
            f"at v = {_fmt(vi)}: expected {_fmt(e)}, got {_fmt(g)}"
            for vi, e, g in zip(v.reshape(-1), expected.reshape(-1), got.reshape(-1), strict=True)
        ]
        shown = [where[i] for i in np.flatnonzero(wrong)[:3]]
        _compare(
            ex,
            words,
            f"{name}'(v)",
            got,
            expected,
            rtol=1e-4,
            atol=1e-6,
            hint=hint,
            details=[f"{int(wrong.sum())} of {wrong.size} values are wrong, e.g.:", *shown],
            summary=False,
        )
    _passed(ex, len(cases))


def sigmoid_prime(fn: Callable) -> None:
    r"""Check ``fn(v)`` $= \sigma'(v)$ elementwise against ``jax.grad(jax.nn.sigmoid)``."""
    _derivative_check(
        _EX_SIGMOID,
        fn,
        jax.nn.sigmoid,
        "sigmoid",
        "differentiate 1 / (1 + e^(-v)) with the chain rule, then write the result using "
        "sigmoid(v) itself.",
    )


def tanh_prime(fn: Callable) -> None:
    r"""Check ``fn(v)`` $= \tanh'(v)$ elementwise against ``jax.grad(jnp.tanh)``."""
    _derivative_check(
        _EX_TANH,
        fn,
        jnp.tanh,
        "tanh",
        "differentiate (e^(2v) - 1) / (e^(2v) + 1) with the quotient rule, then write the "
        "result using tanh(v) itself.",
    )


_EX_ARGMAX = Exercise("grid_argmax", "1.7")


def grid_argmax(fn: Callable) -> None:
    r"""Check ``fn(f, lo, hi, num) -> (v_star, f_star)``: the best of ``num`` grid points.

    The grid is ``jnp.linspace(lo, hi, num)`` (both ends included); among tied maxima the
    first grid point wins, as with ``jnp.argmax``.
    """
    ex = _EX_ARGMAX
    # (words, f, lo, hi, num, the known answer (v*, f*) on that grid)
    cases = [
        ("f(v) = -(v - 0.3)^2", lambda v: -((v - 0.3) ** 2), -1.0, 1.0, 201, (0.3, 0.0)),
        ("f(v) = v: the maximum is at the right end", lambda v: v, 0.0, 2.0, 5, (2.0, 2.0)),
        (
            "f(v) = exp(-v): the maximum is at the left end",
            lambda v: jnp.exp(-v),
            -1.0,
            3.0,
            5,
            (-1.0, math.e),
        ),
        (
            "f(v) = sin(v) on the grid 0, 1, 2, 3, 4: the best grid point, not pi/2",
            jnp.sin,
            0.0,
            4.0,
            5,
            (2.0, math.sin(2.0)),
        ),
        (
            "f(v) = -(v^2 - 1)^2 on the grid -2, -1, 0, 1, 2: two maxima, the first one wins",
            lambda v: -((v**2 - 1) ** 2),
            -2.0,
            2.0,
            5,
            (-1.0, 0.0),
        ),
    ]
    for label, f, lo, hi, num, (v_ref, f_ref) in cases:
        words = f"{label}, lo={lo:g}, hi={hi:g}, num={num}"
        out = _unpack(ex, words, _call(ex, fn, (f, lo, hi, num), words), ("v_star", "f_star"))
        v_got = _scalar(ex, words, "v_star", out[0])
        f_got = _scalar(ex, words, "f_star", out[1])
        hint = (
            f"evaluate f at the num = {num} points of jnp.linspace(lo, hi, num) (both ends "
            "included) and return the point with the largest value, and that value; if several "
            "tie, the first."
        )
        best = round((v_ref - lo) / (hi - lo) * (num - 1))  # the index of v_ref on the grid
        if v_got == best and v_ref != best:
            hint = "you returned the index of the best point; return the point itself, grid[i]."
        _compare(ex, words, "v_star", v_got, v_ref, hint=hint)
        _compare(ex, words, "f_star", f_got, f_ref, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ Exercises 1.9, 1.10

_EX_OUT9 = Exercise("ex9_output", "1.9")
_EX_GRAD9 = Exercise("ex9_grad_x1", "1.10")

# The points (x1, x2): every pair from this list (36 points). Where x1 + x2 < -0.89 or so the
# output ReLU is inactive; no point lies within 0.05 of that kink.
_EX9_VALUES = (-3.0, -1.5, -0.6, 0.0, 0.7, 2.0)


def _ex9_forward(x: jax.Array) -> jax.Array:
    """Exercise 9's network, layer by layer, for one input ``x: (2,)``; every weight is 1."""
    ones = jnp.ones((2, 2), x.dtype)  # (inputs, units): each unit sums all of its inputs
    a1 = ones.T @ x  # (2,) pre-activations of hidden layer 1
    h1 = jnp.stack([jax.nn.sigmoid(a1[0]), jnp.tanh(a1[1])])  # top unit sigmoid, bottom tanh
    a2 = ones.T @ h1  # (2,) pre-activations of hidden layer 2
    h2 = jnp.stack([jax.nn.sigmoid(a2[0]), jnp.tanh(a2[1])])
    return jax.nn.relu(jnp.sum(h2))  # the output unit: ReLU of the sum of its two inputs


def _ex9_points() -> np.ndarray:
    g = np.asarray(_EX9_VALUES)
    x1, x2 = np.meshgrid(g, g, indexing="ij")
    return np.stack([x1.ravel(), x2.ravel()], axis=1)  # (36, 2)


def _ex9_check(ex: Exercise, fn: Callable, grad: bool) -> None:
    target = jax.grad(_ex9_forward) if grad else _ex9_forward
    name = "do/dx1" if grad else "o"
    pts = _ex9_points()
    s = pts.sum(axis=1)
    inactive = int(np.sum(s < -0.9))
    cases = [
        (
            f"{len(pts)} points: every pair (x1, x2) of values from {list(_EX9_VALUES)}, as two "
            f"arrays of shape (36,); at {inactive} of them the output ReLU is inactive",
            pts,
        ),
        ("x1 = 0.5, x2 = -0.25 (two arrays of shape ())", np.array([[0.5, -0.25]])),
    ]
    # All reference values in one call (one compilation), then split by case.
    everything = np.concatenate([P for _, P in cases])
    reference = np.asarray(jax.vmap(target)(_f(everything)), dtype=np.float64)
    reference = reference[:, 0] if grad else reference
    start = 0
    for k, (label, P) in enumerate(cases):
        scalar = k > 0
        x1, x2 = (_f(P[0, 0]), _f(P[0, 1])) if scalar else (_f(P[:, 0]), _f(P[:, 1]))
        shape = () if scalar else (P.shape[0],)
        got = _array(
            ex,
            label,
            name,
            _call(ex, fn, (x1, x2), label),
            shape,
            hint="work elementwise on x1 and x2: the result has their shape.",
        )
        expected = reference[start : start + P.shape[0]].reshape(shape)
        start += P.shape[0]
        right = np.allclose(got, expected, rtol=1e-4, atol=1e-5)
        if grad:
            hint = (
                "apply the chain rule from the output back to x1, one layer at a time; the "
                "ReLU contributes a factor 1 where its input is positive and 0 where it is not."
            )
            if not right:
                no_relu = jax.vmap(jax.grad(_ex9_no_relu))(_f(P))[:, 0]
                if np.allclose(got, np.asarray(no_relu).reshape(shape), rtol=1e-4, atol=1e-5):
                    hint = (
                        "where the output ReLU's input is negative the output is constant 0, "
                        "so the derivative is 0 there."
                    )
        else:
            hint = (
                "each unit applies its activation to the SUM of its inputs, all weights are 1; "
                "build the output from the inside out: x1 + x2, then layer 1, then layer 2."
            )
        wrong = ~np.isclose(got, expected, rtol=1e-4, atol=1e-5).reshape(-1)
        details = [f"{int(wrong.sum())} of {wrong.size} points are wrong, e.g.:"]
        flat_expected, flat_got = expected.reshape(-1), got.reshape(-1)
        for i in np.flatnonzero(wrong)[:3]:
            details.append(
                f"at (x1, x2) = ({P[i, 0]:g}, {P[i, 1]:g}): expected {flat_expected[i]:.4g}, "
                f"got {flat_got[i]:.4g}"
            )
        _compare(
            ex,
            label,
            name,
            got,
            expected,
            rtol=1e-4,
            atol=1e-5,
            hint=hint,
            details=details,
            summary=False,
        )
    _passed(ex, len(cases))


def _ex9_no_relu(x: jax.Array) -> jax.Array:
    """The same network without the output ReLU (a slip model for the hint only)."""
    s = x[0] + x[1]
    u = jax.nn.sigmoid(s) + jnp.tanh(s)
    return jax.nn.sigmoid(u) + jnp.tanh(u)


def ex9_output(fn: Callable) -> None:
    """Check ``fn(x1, x2)``: the closed-form output of Exercise 9's network, elementwise."""
    _ex9_check(_EX_OUT9, fn, grad=False)


def ex9_grad_x1(fn: Callable) -> None:
    """Check ``fn(x1, x2)``: the hand-derived partial derivative of that output in x1."""
    _ex9_check(_EX_GRAD9, fn, grad=True)


# ------------------------------------------------------------------------------ Exercise 1.11

_EX_HINGE = Exercise("hinge_epoch", "1.11")


def hinge_epoch(fn: Callable, *, perceptron_epoch: Callable | None = None) -> None:
    r"""Check ``fn(w, X, y, lr) -> (new_w, num_updates)``: one hinge-loss SGD pass in row order.

    Update $w \leftarrow w + \alpha y x$ whenever $y\,(w\cdot x) < 1$, counting the updates.
    The reference is :func:`course_lib.perceptron.fit_sgd` with ``loss="hinge"`` for one epoch.

    The experiment of Exercise 1.11 trains on 100 datasets at once, with both epoch functions
    under ``jax.jit`` and ``jax.vmap``: after the plain-Python cases, ``fn`` and (if given) the
    student's ``perceptron_epoch`` of Exercise 1.6 are run that way. Exercise 1.6 itself
    accepts a Python ``if``; this is where such an answer is told to use ``jnp.where``.
    """
    ex = _EX_HINGE

    def reference(case: _EpochCase):
        res = perceptron.fit_sgd(
            _f(case.X), _f(case.y), loss="hinge", epochs=1, lr=case.lr, w0=_f(case.w)
        )
        return np.asarray(res.w, float), float(res.num_updates)

    def slips(case: _EpochCase):
        args = (case.w, case.X, case.y, case.lr)
        inside = lambda z, s, yi: z < 1  # noqa: E731  (the right condition)
        return [
            (
                lambda: _sgd_model(*args, update=lambda z, s, yi: z <= 1),
                "a point at margin exactly 1 (y (w·x) = 1) has hinge loss 0: no update. Use < 1.",
            ),
            (
                lambda: _sgd_model(*args, update=lambda z, s, yi: z <= 0),
                "that is the perceptron's rule. The hinge loss also updates on correct points "
                "that are too close to the boundary: y (w·x) < 1.",
            ),
            (
                lambda: _sgd_model(*args, update=inside, count=lambda z: z <= 0),
                "count every update (y (w·x) < 1), not only the mistakes (y (w·x) <= 0).",
            ),
            (
                lambda: _sgd_model(case.w, case.X, case.y, 1.0, update=inside),
                "the learning rate is missing: the update is w + lr * y * x.",
            ),
            (
                lambda: _sgd_model(*args, update=inside, batch=True),
                "the points must be visited one after the other: each one is tested with the w "
                "left by the previous update.",
            ),
        ]

    cases = _epoch_cases(hinge=True)
    checked = _epoch_check(
        ex,
        fn,
        reference=reference,
        count_name="num_updates",
        slips=slips,
        default_hint=(
            "visit the rows in order; for each, test y (w·x) < 1 with the current w, and if so "
            "add lr * y * x to w and count one update."
        ),
        cases=cases,
    )
    hint = "the experiment below runs hinge_epoch on 100 training sets at once. " + _TRACE_REASON
    _traced_epoch_check(ex, fn, cases[3], reference(cases[3]), "num_updates", hint)
    checked += 1
    if perceptron_epoch is not None:
        case = _epoch_cases(hinge=False)[3]
        hint = (
            "your perceptron_epoch passed Exercise 1.6, where it runs as plain Python, but the "
            "experiment below runs it under jax.jit and jax.vmap too. " + _TRACE_REASON + " "
            "Rewrite it that way in its cell, run that cell and its self-check, then this one."
        )
        _traced_epoch_check(
            _EX_EPOCH, perceptron_epoch, case, _perceptron_reference(case), "num_mistakes", hint
        )
        checked += 1
    _passed(ex, checked)
