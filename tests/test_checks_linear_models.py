"""Tests for course_lib.checks.linear_models: each chapter-2a self-check passes a correct
implementation written here (not the notebook's), fails a stub with "not implemented", and fails
plausible wrong implementations (missing factor, wrong sign, forgotten regularization, a tie on
the wrong side) with the targeted hint."""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import checks
from course_lib.checks import CheckFailed

# ------------------------------------------------------------------------------ right answers


def good_mistake_factor(name, z):
    table = {
        "perceptron": lambda z: (z <= 0).astype(z.dtype),
        "hinge": lambda z: (z < 1).astype(z.dtype),
        "logistic": lambda z: jax.nn.sigmoid(-z),
        "widrow_hoff": lambda z: 1.0 - z,
    }
    return table[name](jnp.asarray(z))


def good_ridge(X, y, lam):
    X, y = np.asarray(X, float), np.asarray(y, float)
    return np.linalg.inv(X.T @ X + lam * np.eye(X.shape[1])) @ X.T @ y


def good_ww_grad(W, x, label):
    W, x = np.asarray(W, float), np.asarray(x, float)
    v = W @ x
    g = np.zeros(W.shape[0])
    for r in range(W.shape[0]):
        if r != label and v[r] - v[label] + 1 > 0:
            g[r] += 1.0
            g[label] -= 1.0
    return np.outer(g, x)


def good_softmax(W, X, labels):
    def J(W):
        v = X @ W.T
        return jnp.mean(jax.nn.logsumexp(v, axis=1) - v[jnp.arange(X.shape[0]), labels])

    return jax.value_and_grad(J)(W)


def good_margin_loss(w, X, y, a):
    return np.mean(np.maximum(0.0, a - np.asarray(y) * (np.asarray(X) @ np.asarray(w))))


def good_mcp_epoch(W, X, labels, lr):
    W = np.array(W, float)
    for x, c in zip(np.asarray(X), np.asarray(labels), strict=True):
        v = W @ x
        others = [r for r in range(W.shape[0]) if r != c]
        r = max(others, key=lambda r: (v[r], -r))  # first on a tie
        if v[r] >= v[c]:
            W[c] += lr * x
            W[r] -= lr * x
    return W


def _stub(*args):
    raise NotImplementedError("Exercise: replace this with your code")


def _fails(check, fn, *patterns):
    with pytest.raises(CheckFailed) as info:
        check(fn)
    text = str(info.value)
    for pattern in patterns:
        assert re.search(pattern, text), f"{pattern!r} not in:\n{text}"
    return text


CASES = [
    (checks.mistake_factor, good_mistake_factor),
    (checks.ridge_solution, good_ridge),
    (checks.weston_watkins_grad, good_ww_grad),
    (checks.softmax_loss_and_grad, good_softmax),
    (checks.scaled_margin_loss, good_margin_loss),
    (checks.multiclass_perceptron_epoch, good_mcp_epoch),
]


@pytest.mark.parametrize(("check", "good"), CASES, ids=[c.__name__ for c, _ in CASES])
def test_check_passes_a_correct_implementation(check, good, capsys):
    check(good)
    assert "✔" in capsys.readouterr().out


@pytest.mark.parametrize(("check", "good"), CASES, ids=[c.__name__ for c, _ in CASES])
def test_check_says_not_implemented_for_the_stub(check, good):
    text = _fails(check, _stub, r"not implemented yet")
    assert "Traceback" not in text


# ------------------------------------------------------------------------------ wrong answers


def test_mistake_factor_slips():
    def tie_not_mistake(name, z):
        return jnp.where(z < 0, 1.0, 0.0) if name == "perceptron" else good_mistake_factor(name, z)

    _fails(checks.mistake_factor, tie_not_mistake, r"boundary \(z = 0\) is a mistake")

    def with_factor_two(name, z):
        return 2 * (1 - z) if name == "widrow_hoff" else good_mistake_factor(name, z)

    _fails(checks.mistake_factor, with_factor_two, r"drops the factor 2")

    def prob_right(name, z):
        return jax.nn.sigmoid(z) if name == "logistic" else good_mistake_factor(name, z)

    _fails(checks.mistake_factor, prob_right, r"probability of being RIGHT")

    def hinge_le(name, z):
        return jnp.where(z <= 1, 1.0, 0.0) if name == "hinge" else good_mistake_factor(name, z)

    _fails(checks.mistake_factor, hinge_le, r"z < 1, strictly")

    def python_if(name, z):  # fine on concrete arrays, fails under jit
        if name == "perceptron":
            return jnp.array([1.0 if float(t) <= 0 else 0.0 for t in z])
        return good_mistake_factor(name, z)

    _fails(checks.mistake_factor, python_if, r"jax\.jit", r"jnp\.where")


def test_ridge_slips():
    def no_lambda(X, y, lam):
        return good_ridge(X, y, 0.0)

    _fails(checks.ridge_solution, no_lambda, r"λ is missing")

    def lambda_everywhere(X, y, lam):
        X, y = np.asarray(X, float), np.asarray(y, float)
        return np.linalg.solve(X.T @ X + lam * np.ones((3, 3)), X.T @ y)

    _fails(checks.ridge_solution, lambda_everywhere, r"diagonal only")

    def column(X, y, lam):
        return good_ridge(X, y, lam)[:, None]

    _fails(checks.ridge_solution, column, r"wrong shape", r"one weight per column")


def test_weston_watkins_slips():
    def no_true_row(W, x, label):
        g = good_ww_grad(W, x, label)
        g[label] = 0.0
        return g

    _fails(checks.weston_watkins_grad, no_true_row, r"true class's row")

    def flipped(W, x, label):
        return -good_ww_grad(W, x, label)

    _fails(checks.weston_watkins_grad, flipped, r"wrong sign")

    def ge_zero(W, x, label):
        W, x = np.asarray(W, float), np.asarray(x, float)
        v = W @ x
        g = np.zeros(W.shape[0])
        for r in range(W.shape[0]):
            if r != label and v[r] - v[label] + 1 >= 0:
                g[r] += 1.0
                g[label] -= 1.0
        return np.outer(g, x)

    _fails(checks.weston_watkins_grad, ge_zero, r"exactly 0", r"> 0, not >= 0")

    def transposed(W, x, label):
        return good_ww_grad(W, x, label).T[:, :2]

    _fails(checks.weston_watkins_grad, transposed, r"wrong shape")


def test_softmax_slips():
    def summed(W, X, labels):
        loss, grad = good_softmax(W, X, labels)
        return X.shape[0] * loss, X.shape[0] * grad

    _fails(checks.softmax_loss_and_grad, summed, r"mean")

    def sign(W, X, labels):
        loss, grad = good_softmax(W, X, labels)
        return loss, -grad

    _fails(checks.softmax_loss_and_grad, sign, r"wrong sign")

    def unstable(W, X, labels):
        v = X @ W.T
        loss = jnp.mean(jnp.log(jnp.sum(jnp.exp(v), axis=1)) - v[jnp.arange(X.shape[0]), labels])
        return loss, good_softmax(W, X, labels)[1]

    _fails(checks.softmax_loss_and_grad, unstable, r"huge scores", r"subtract the largest")

    def only_loss(W, X, labels):
        return good_softmax(W, X, labels)[0]

    _fails(checks.softmax_loss_and_grad, only_loss, r"expected a tuple \(loss, grad\)")


def test_scaled_margin_slips():
    def summed(w, X, y, a):
        return X.shape[0] * good_margin_loss(w, X, y, a)

    _fails(checks.scaled_margin_loss, summed, r"mean over the examples")

    def margin_one(w, X, y, a):
        return good_margin_loss(w, X, y, 1.0)

    _fails(checks.scaled_margin_loss, margin_one, r"margin a you are given")

    def no_label(w, X, y, a):
        return np.mean(np.maximum(0.0, a - np.asarray(X) @ np.asarray(w)))

    _fails(checks.scaled_margin_loss, no_label, r"multiply by the label")


def test_multiclass_perceptron_slips():
    def strict(W, X, labels, lr):  # a tie is not a mistake: nothing moves from W = 0
        W = np.array(W, float)
        for x, c in zip(np.asarray(X), np.asarray(labels), strict=True):
            v = W @ x
            r = max((r for r in range(W.shape[0]) if r != c), key=lambda r: (v[r], -r))
            if v[r] > v[c]:
                W[c] += lr * x
                W[r] -= lr * x
        return W

    _fails(checks.multiclass_perceptron_epoch, strict, r"nothing changed", r"tie")

    def all_rows(W, X, labels, lr):  # updates every wrong row that scores at least as high
        W = np.array(W, float)
        for x, c in zip(np.asarray(X), np.asarray(labels), strict=True):
            v = W @ x
            for r in range(W.shape[0]):
                if r != c and v[r] >= v[c]:
                    W[c] += lr * x
                    W[r] -= lr * x
        return W

    _fails(checks.multiclass_perceptron_epoch, all_rows, r"wrong value of new_W")

    def no_lr(W, X, labels, lr):
        return good_mcp_epoch(W, X, labels, 1.0)

    _fails(checks.multiclass_perceptron_epoch, no_lr, r"wrong value of new_W")


def test_not_a_function():
    _fails(checks.ridge_solution, 3.0, r"expected a function")
