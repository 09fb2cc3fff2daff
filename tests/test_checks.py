"""Tests for course_lib.checks: every self-check passes a right answer and explains a wrong one.

For each check of chapter 1 there is an independent, correct implementation written here (not
the notebook's solution), which must pass; a function that raises NotImplementedError, which must
fail with "not implemented"; and a few plausible mistakes, each of which must fail with a message
that names the input case, shows expected against got, and (for the common slips) gives the
targeted hint. Rendered for IPython, no message may contain a traceback or the checker's code.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

import course_lib.checks
from course_lib import checks
from course_lib.checks import CheckFailed

# ------------------------------------------------------------------------------ right answers


def _margin_epoch(w, X, y, lr, *, threshold, strict):
    """One SGD pass with lax.scan: update when y (w.x) < threshold (or <= when not strict)."""

    def step(w, xy):
        x, t = xy
        z = t * (x @ w)
        hit = z < threshold if strict else z <= threshold
        return w + jnp.where(hit, lr * t, 0.0) * x, hit

    w, hits = lax.scan(step, jnp.asarray(w), (X, y))
    return w, jnp.sum(hits)


def good_perceptron_epoch(w, X, y, lr):
    return _margin_epoch(w, X, y, lr, threshold=0.0, strict=False)


def good_hinge_epoch(w, X, y, lr):
    return _margin_epoch(w, X, y, lr, threshold=1.0, strict=True)


def good_perceptron_updates(X, y, epochs):
    X, y = np.asarray(X), np.asarray(y)
    w = np.zeros(X.shape[1])
    path = [w.copy()]
    for _ in range(epochs):
        for x, t in zip(X, y, strict=True):
            if t * (x @ w) <= 0:
                w = w + t * x
                path.append(w.copy())
    return np.array(path)


def good_cycle_period(path):
    path = np.asarray(path)
    tail = path[len(path) - len(path) // 2 :]
    m = len(tail)
    return next(
        (
            p
            for p in range(1, m // 2 + 1)
            if all((tail[i] == tail[i + p]).all() for i in range(m - p))
        ),
        0,
    )


def good_xor_features(X):
    X = np.asarray(X)
    return np.concatenate([X, X[:, :1] * X[:, 1:]], axis=1)


def good_xor_relu_network():
    # Not the notebook's network: h1 = ReLU(x1 - x2), h2 = ReLU(x2 - x1), o = 2(h1 + h2) - 1.
    W1 = np.array([[1.0, -1.0], [-1.0, 1.0]])
    return W1, np.zeros(2), np.array([2.0, 2.0]), -1.0


def good_sigmoid_prime(v):
    return jnp.exp(-jnp.logaddexp(0.0, v) - jnp.logaddexp(0.0, -v))  # e^{-v}/(1+e^{-v})^2, stably


def good_tanh_prime(v):
    return 1.0 / jnp.cosh(v) ** 2


def good_grid_argmax(f, lo, hi, num):
    grid = np.linspace(lo, hi, num)
    values = np.asarray(f(jnp.asarray(grid)))
    best = int(np.argmax(values))
    return float(grid[best]), float(values[best])


def _ex9_parts(x1, x2):
    s = x1 + x2
    u = jax.nn.sigmoid(s) + jnp.tanh(s)
    return s, u, jax.nn.sigmoid(u) + jnp.tanh(u)


def good_ex9_output(x1, x2):
    return jax.nn.relu(_ex9_parts(x1, x2)[2])


def good_ex9_grad_x1(x1, x2):
    s, u, pre = _ex9_parts(x1, x2)

    def d(v):  # derivative of sigmoid(v) + tanh(v)
        sig = jax.nn.sigmoid(v)
        return sig * (1 - sig) + 1 - jnp.tanh(v) ** 2

    return (pre > 0) * d(u) * d(s)


GOOD: dict[str, Callable] = {
    "perceptron_epoch": good_perceptron_epoch,
    "perceptron_updates": good_perceptron_updates,
    "cycle_period": good_cycle_period,
    "xor_features": good_xor_features,
    "xor_relu_network": good_xor_relu_network,
    "sigmoid_prime": good_sigmoid_prime,
    "tanh_prime": good_tanh_prime,
    "grid_argmax": good_grid_argmax,
    "ex9_output": good_ex9_output,
    "ex9_grad_x1": good_ex9_grad_x1,
    "hinge_epoch": good_hinge_epoch,
}

# ------------------------------------------------------------------------------ wrong answers


def _python_loop_epoch(w, X, y, lr, *, hit):
    count = 0
    for i in range(X.shape[0]):
        z = y[i] * jnp.dot(w, X[i])
        if hit(z, jnp.dot(w, X[i]), y[i]):
            w = w + lr * y[i] * X[i]
            count += 1
    return w, count


def _where_epoch(w, X, y, lr, *, hit, count=None):
    n = 0
    for i in range(X.shape[0]):
        z = y[i] * jnp.dot(w, X[i])
        h = hit(z)
        w = jnp.where(h, w + lr * y[i] * X[i], w)
        n = n + (h if count is None else count(z))
    return w, n


def _batch_epoch(w, X, y, lr, *, hit):
    h = hit(y * (X @ w))
    return w + lr * (h * y) @ X, jnp.sum(h)


def _every_step_path(X, y, epochs):
    X, y = np.asarray(X), np.asarray(y)
    w = np.zeros(X.shape[1])
    path = [w.copy()]
    for _ in range(epochs):
        for x, t in zip(X, y, strict=True):
            if t * (x @ w) <= 0:
                w = w + t * x
            path.append(w.copy())
    return np.array(path)


def _period_of(path):
    m = len(path)
    for p in range(1, m):
        if all((path[i] == path[i + p]).all() for i in range(m - p)):
            return p
    return 0


def _last_row_period(path):
    path = np.asarray(path)
    for p in range(1, len(path)):
        if (path[-1] == path[-1 - p]).all():
            return p
    return 0


def _period_no_bound(path):
    path = np.asarray(path)
    return _period_of(path[len(path) - len(path) // 2 :])


def _negated(params):
    W1, b1, w2, b2 = params
    return W1, b1, -w2, -b2


def _scaled(params, c):
    W1, b1, w2, b2 = params
    return W1, b1, c * w2, c * b2


def _argmax_on(f, grid):
    values = f(grid)
    i = jnp.argmax(values)
    return grid[i], values[i]


def _argmax_index(f, lo, hi, num):
    values = f(jnp.linspace(lo, hi, num))
    i = jnp.argmax(values)
    return i, values[i]


def _argmax_last(f, lo, hi, num):
    grid = jnp.linspace(lo, hi, num)[::-1]
    return _argmax_on(f, grid)


def _no_relu_grad(x1, x2):
    s, u, _ = _ex9_parts(x1, x2)

    def d(v):
        sig = jax.nn.sigmoid(v)
        return sig * (1 - sig) + 1 - jnp.tanh(v) ** 2

    return d(u) * d(s)


def _without_inner(x1, x2):
    s, u, pre = _ex9_parts(x1, x2)
    sig = jax.nn.sigmoid(u)
    return (pre > 0) * (sig * (1 - sig) + 1 - jnp.tanh(u) ** 2)


def _epoch_with(hit, *, count=None, lr_scale=1.0):
    """A jittable epoch with a (possibly wrong) update condition ``hit(z)`` on z = y (w.x)."""
    return lambda w, X, y, lr: _where_epoch(w, X, y, lr_scale * lr, hit=hit, count=count)


def _forget_lr(hit):
    return lambda w, X, y, lr: _where_epoch(w, X, y, 1.0, hit=hit)


def _sign_zero_positive(w, X, y, lr):
    return _python_loop_epoch(w, X, y, lr, hit=lambda z, s, t: jnp.where(s >= 0, 1.0, -1.0) != t)


def _book_eq_1_4(w, X, y, lr):
    """Aggarwal's Eq 1.4 to the letter: w + lr (y - sign(w.x)) x, with jnp.sign(0) = 0."""
    n = 0
    for i in range(X.shape[0]):
        y_hat = jnp.sign(jnp.dot(w, X[i]))
        w = w + lr * (y[i] - y_hat) * X[i]
        n = n + (y_hat != y[i])
    return w, n


def _python_if(w, X, y, lr):
    return _python_loop_epoch(w, X, y, lr, hit=lambda z, s, t: z <= 0)


def _python_if_hinge(w, X, y, lr):
    return _python_loop_epoch(w, X, y, lr, hit=lambda z, s, t: z < 1)


def _ignores_relu(x1, x2):
    return good_ex9_grad_x1(x1, x2) + (_ex9_parts(x1, x2)[2] <= 0) * _no_relu_grad(x1, x2)


# name -> list of (description, wrong function, substring the message must contain)
WRONG: dict[str, list[tuple[str, Callable, str]]] = {
    "perceptron_epoch": [
        ("updates only when < 0", _epoch_with(lambda z: z < 0), "Use <= 0"),
        ("forgets the learning rate", _forget_lr(lambda z: z <= 0), "learning rate is missing"),
        ("wrong sign", _epoch_with(lambda z: z <= 0, lr_scale=-1.0), "wrong sign"),
        (
            "batch update",
            lambda w, X, y, lr: _batch_epoch(w, X, y, lr, hit=lambda z: z <= 0),
            "one after the other",
        ),
        ("sign(0) = +1", _sign_zero_positive, "treats w·x = 0 as +1"),
        ("the book's Eq 1.4 to the letter", _book_eq_1_4, "Eq 1.4 literally"),
        (
            "returns only w",
            lambda w, X, y, lr: good_perceptron_epoch(w, X, y, lr)[0],
            "expected a tuple (new_w, num_mistakes)",
        ),
        (
            "w with an extra axis",
            lambda w, X, y, lr: (good_perceptron_epoch(w, X, y, lr)[0][None, :], 0),
            "wrong shape",
        ),
        (
            "count as an array",
            lambda w, X, y, lr: (good_perceptron_epoch(w, X, y, lr)[0], jnp.zeros(3)),
            "single number",
        ),
    ],
    "hinge_epoch": [
        ("updates when <= 1", _epoch_with(lambda z: z <= 1), "Use < 1"),
        ("the perceptron rule", _epoch_with(lambda z: z <= 0), "perceptron's rule"),
        (
            "counts mistakes, not updates",
            _epoch_with(lambda z: z < 1, count=lambda z: z <= 0),
            "count every update",
        ),
        ("forgets the learning rate", _forget_lr(lambda z: z < 1), "learning rate is missing"),
        ("Python if: not traceable", _python_if_hinge, "jnp.where"),
    ],
    "perceptron_updates": [
        ("records every step", lambda X, y, e: _every_step_path(X, y, e), "only after an update"),
        ("forgets w_0", lambda X, y, e: good_perceptron_updates(X, y, e)[1:], "w_0 = 0"),
        (
            "updates only when < 0",
            lambda X, y, e: np.zeros((1, np.shape(X)[1])),
            "no update was recorded",
        ),
        ("a flat vector", lambda X, y, e: good_perceptron_updates(X, y, e).ravel(), "wrong shape"),
    ],
    "cycle_period": [
        ("compares the last row only", _last_row_period, "EVERY valid i"),
        ("the whole path, not its last half", lambda p: _period_of(np.asarray(p)), "period"),
        ("no 2p <= m bound", lambda path: _period_no_bound(path), "seen at least twice"),
        ("returns a float", lambda path: good_cycle_period(path) + 0.5, "whole number"),
    ],
    "xor_features": [
        ("only the product", lambda X: X[:, :1] * X[:, 1:], "wrong shape"),
        (
            "product first",
            lambda X: jnp.column_stack([X[:, 0] * X[:, 1], X[:, 0], X[:, 1]]),
            "wrong order",
        ),
        (
            "sum instead of product",
            lambda X: jnp.column_stack([X, X[:, 0] + X[:, 1]]),
            "expected features",
        ),
    ],
    "xor_relu_network": [
        (
            "a linear network",
            lambda: (np.eye(2), np.zeros(2), np.ones(2), -0.5),
            "x1 + x2 is 0, 1, 1 and 2",
        ),
        ("the classes swapped", lambda: _negated(good_xor_relu_network()), "every sign is flipped"),
        ("a tiny margin", lambda: _scaled(good_xor_relu_network(), 0.01), "margin is too small"),
        (
            "W1 of shape (2,)",
            lambda: (np.ones(2), np.zeros(2), np.ones(2), 0.0),
            "W1 has the wrong shape",
        ),
        ("three items", lambda: good_xor_relu_network()[:3], "expected a tuple (W1, b1, w2, b2)"),
    ],
    "sigmoid_prime": [
        ("the overflowing quotient", lambda v: jnp.exp(-v) / (1 + jnp.exp(-v)) ** 2, "overflows"),
        ("the sigmoid itself", lambda v: jax.nn.sigmoid(v), "itself"),
        ("s(1 + s)", lambda v: jax.nn.sigmoid(v) * (1 + jax.nn.sigmoid(v)), "wrong value"),
        ("a Python float", lambda v: 0.25, "wrong shape"),
    ],
    "tanh_prime": [
        (
            "the overflowing quotient",
            lambda v: 4 * jnp.exp(2 * v) / (jnp.exp(2 * v) + 1) ** 2,
            "overflows",
        ),
        ("1 - tanh", lambda v: 1 - jnp.tanh(v), "wrong value"),
    ],
    "grid_argmax": [
        (
            "leaves out hi",
            lambda f, lo, hi, num: _argmax_on(f, jnp.linspace(lo, hi, num + 1)[:-1]),
            "both ends",
        ),
        ("returns the index", _argmax_index, "index"),
        ("the last of tied maxima", _argmax_last, "the first"),
        ("returns one number", lambda f, lo, hi, num: 0.0, "expected a tuple (v_star, f_star)"),
    ],
    "ex9_output": [
        ("no ReLU", lambda x1, x2: _ex9_parts(x1, x2)[2], "wrong value of o"),
        ("one hidden layer", lambda x1, x2: jax.nn.relu(_ex9_parts(x1, x2)[1]), "SUM of its"),
    ],
    "ex9_grad_x1": [
        ("ignores the ReLU", _ignores_relu, "derivative is 0 there"),
        ("forgets the inner chain factor", lambda x1, x2: _without_inner(x1, x2), "chain rule"),
        ("returns the output", good_ex9_output, "wrong value of do/dx1"),
    ],
}


def _not_implemented(*args):
    raise NotImplementedError("Exercise: replace this with your code")


# ------------------------------------------------------------------------------ helpers

CHECK_NAMES = sorted(GOOD)
WRONG_CASES = [
    (name, desc, fn, needle) for name in CHECK_NAMES for desc, fn, needle in WRONG.get(name, [])
]

CHECKS_DIR = Path(course_lib.checks.__file__).parent
CODE_LINES = {
    line.strip()
    for path in CHECKS_DIR.glob("*.py")
    for line in path.read_text(encoding="utf-8").splitlines()
    if len(line.strip()) >= 25
}


def run_failing(name: str, fn: Callable) -> CheckFailed:
    with pytest.raises(CheckFailed) as info:
        getattr(checks, name)(fn)
    return info.value


def assert_friendly(error: CheckFailed) -> str:
    """The rendered message has no traceback and no line of the checker's source."""
    rendered = "\n".join(error._render_traceback_())
    plain = re.sub(r"\x1b\[[0-9;]*m", "", rendered)
    assert "Traceback" not in plain
    assert 'File "' not in plain
    leaked = [line for line in plain.splitlines() if line.strip() in CODE_LINES]
    assert not leaked, f"source code in the message: {leaked}"
    assert plain.splitlines()[0].startswith("✘ ")
    assert plain == str(error)  # the same text as the exception's message, without colours
    return plain


# ------------------------------------------------------------------------------ tests


def test_every_exercise_has_a_check_and_tests() -> None:
    exported = {name for name in checks.__all__ if name not in ("CheckFailed", "Exercise")}
    chapter1 = {
        name
        for name in exported
        if getattr(checks, name).__module__ == "course_lib.checks.perceptron"
    }
    assert chapter1 == set(GOOD)  # this file tests the chapter-1 checks ...
    assert set(WRONG) == set(GOOD)
    # ... and every later chapter's checks are tested in tests/test_checks_<concept>.py.
    others = "".join(p.read_text() for p in Path(__file__).parent.glob("test_checks_*.py"))
    untested = sorted(n for n in exported - chapter1 if not re.search(rf"\b{n}\b", others))
    assert not untested, f"checks without tests in tests/test_checks_*.py: {untested}"
    assert issubclass(CheckFailed, AssertionError)


@pytest.mark.parametrize("name", CHECK_NAMES)
def test_right_answer_passes(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    getattr(checks, name)(GOOD[name])
    out = capsys.readouterr().out
    assert re.fullmatch(rf"✔ {name} \(Exercise 1\.\d+\): all \d+ checks passed\.\n", out), out


@pytest.mark.parametrize("name", CHECK_NAMES)
def test_not_implemented(name: str) -> None:
    error = run_failing(name, _not_implemented)
    text = assert_friendly(error)
    assert "not implemented yet" in text
    assert name in text
    assert "YOUR CODE HERE" in text  # tells the student what to replace


@pytest.mark.parametrize(
    ("name", "desc", "fn", "needle"), WRONG_CASES, ids=[f"{c[0]}-{c[1]}" for c in WRONG_CASES]
)
def test_wrong_answer_is_explained(name: str, desc: str, fn: Callable, needle: str) -> None:
    error = run_failing(name, fn)
    text = assert_friendly(error)
    assert needle in text, text
    assert error.exercise.name == name
    assert error.case, "the message must say which input went wrong"
    assert "case: " in text
    if error.problem.startswith(("wrong value", "o(x) has the wrong sign")):
        assert "expected" in text and "got" in text
    if "wrong shape" in error.problem:
        assert "expected shape" in text or "shape (" in text


def test_wrong_value_shows_both_arrays_and_shapes() -> None:
    error = run_failing(
        "perceptron_epoch", lambda w, X, y, lr: _where_epoch(w, X, y, lr, hit=lambda z: z < 0)
    )
    text = str(error)
    assert "case: 8 points in 2-D (w = 0 and a point on the boundary: ties), lr=1" in text
    assert "expected new_w = [0.5,  -1]   shape (2,)" in text
    assert "got      new_w = [0, 0]   shape (2,)" in text
    assert "input X = " in text and "input y = " in text


def _audit_python_if_epoch(w, X, y, lr):
    """The answer a student wrote in the walk-through: a `for` loop with a Python `if`."""
    num_mistakes = 0
    for xi, yi in zip(X, y, strict=True):
        if yi * jnp.dot(w, xi) <= 0:
            w = w + lr * yi * xi
            num_mistakes += 1
    return w, num_mistakes


def _concrete_only(fn):
    """``fn``, refusing tracers: proves a check runs it eagerly."""

    def wrapped(w, X, y, lr):
        assert not any(isinstance(a, jax.core.Tracer) for a in (w, X, y, lr)), "traced"
        return fn(w, X, y, lr)

    return wrapped


@pytest.mark.parametrize("answer", [_audit_python_if_epoch, _python_if], ids=["zip", "range"])
def test_exercise_1_6_accepts_a_python_if(answer, capsys: pytest.CaptureFixture[str]) -> None:
    """The first exercise of the course takes a plain Python answer: no jit in its check."""
    checks.perceptron_epoch(_concrete_only(answer))
    assert capsys.readouterr().out == "✔ perceptron_epoch (Exercise 1.6): all 6 checks passed.\n"


def test_exercise_1_11_checks_both_epochs_under_jit_and_vmap(
    capsys: pytest.CaptureFixture[str],
) -> None:
    checks.hinge_epoch(good_hinge_epoch, perceptron_epoch=good_perceptron_epoch)
    assert capsys.readouterr().out == "✔ hinge_epoch (Exercise 1.11): all 8 checks passed.\n"


def test_exercise_1_11_explains_a_perceptron_epoch_that_does_not_trace() -> None:
    with pytest.raises(CheckFailed) as info:
        checks.hinge_epoch(good_hinge_epoch, perceptron_epoch=_audit_python_if_epoch)
    error = info.value
    text = assert_friendly(error)
    assert error.exercise.name == "perceptron_epoch"
    assert "JAX could not trace it" in error.problem
    assert "under jax.jit and jax.vmap" in error.case
    assert "passed Exercise 1.6" in text and "jnp.where(" in text and "Python `if`" in text


def test_exercise_1_11_still_checks_the_values_of_a_traced_perceptron_epoch() -> None:
    wrong = _epoch_with(lambda z: z <= 0, lr_scale=-1.0)  # traces, but steps the wrong way
    with pytest.raises(CheckFailed, match="wrong value") as info:
        checks.hinge_epoch(good_hinge_epoch, perceptron_epoch=wrong)
    assert info.value.exercise.name == "perceptron_epoch"


def test_not_a_function() -> None:
    with pytest.raises(CheckFailed, match="expected a function") as info:
        checks.perceptron_epoch(
            good_perceptron_epoch(jnp.zeros(2), jnp.ones((1, 2)), jnp.ones(1), 1.0)
        )
    assert "without parentheses" in str(info.value)


def test_other_exceptions_are_reported_with_the_input() -> None:
    error = run_failing("perceptron_epoch", lambda w, X, y, lr: 1 / 0)
    text = assert_friendly(error)
    assert "raised ZeroDivisionError" in text and "error: division by zero" in text
    assert "case: 8 points in 2-D" in text


def test_numpy_answers_are_accepted(capsys: pytest.CaptureFixture[str]) -> None:
    checks.xor_features(lambda X: np.column_stack([X[:, 0], X[:, 1], np.prod(X, axis=1)]))
    checks.cycle_period(lambda path: np.int64(good_cycle_period(path)))
    checks.grid_argmax(
        lambda f, lo, hi, num: tuple(map(jnp.asarray, good_grid_argmax(f, lo, hi, num)))
    )
    assert capsys.readouterr().out.count("✔") == 3


def test_period_reference_on_hand_made_paths() -> None:
    from course_lib.checks.perceptron import _period_reference

    a, b, c = [1.0, 0.0], [0.0, 1.0], [2.0, 2.0]
    assert _period_reference(np.array([a] * 4)) == 1
    assert _period_reference(np.array([c, c, a, b, a, b, a, b])) == 2
    assert _period_reference(np.array([a, b, a] * 4)) == 3
    assert _period_reference(np.array([a, b, c] * 2)) == 0  # tail (a, b, c) shows no repeat
    assert _period_reference(np.array([c, c, c, a, b, a])) == 0  # (a, b, a): one repeat only
    assert _period_reference(np.array([a])) == 0


def test_cases_are_exact_in_float32() -> None:
    """Inputs are multiples of 1/2 and rates powers of 2, so ties are exact for everyone."""
    from course_lib.checks.perceptron import _epoch_cases

    for hinge in (False, True):
        for case in _epoch_cases(hinge):
            X = np.asarray(case.X)
            assert np.array_equal(X * 2, np.round(X * 2))
            assert math.log2(case.lr).is_integer()


def test_ex9_points_stay_away_from_the_relu_kink() -> None:
    from course_lib.checks.perceptron import _ex9_points

    s = _ex9_points().sum(axis=1)
    u = jax.nn.sigmoid(s) + np.tanh(s)
    pre = np.asarray(jax.nn.sigmoid(u) + np.tanh(u))
    assert np.min(np.abs(pre)) > 0.05
    assert 10 < int(np.sum(pre < 0)) < 26  # both sides of the kink are well represented
