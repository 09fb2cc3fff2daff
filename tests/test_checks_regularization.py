"""course_lib.checks.regularization: each check passes a right answer and fails plausible mistakes.

The right answers here are written independently of the solutions notebook (NumPy where the
notebook uses jnp, a while loop where it uses a for loop, ``jax.grad`` for the hidden delta).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import checks
from course_lib.checks import CheckFailed


def _stub(*args):
    raise NotImplementedError("Exercise: replace this with your code")


@pytest.mark.parametrize(
    "check",
    [
        checks.weight_decay_step,
        checks.noise_equivalent_ridge,
        checks.soft_threshold,
        checks.hidden_l1_delta,
        checks.early_stopping,
        checks.gd_shrinkage,
        checks.perceptron_decay_step,
        checks.ridge_sweep,
    ],
)
def test_every_check_says_not_implemented_for_the_stub(check):
    with pytest.raises(CheckFailed, match="not implemented yet"):
        check(_stub)


# ------------------------------------------------------------------------------ weight decay


def test_weight_decay_step_passes_a_right_answer(capsys):
    checks.weight_decay_step(lambda w, g, lr, lam: w - lr * (g + 2 * lam * w))
    assert "✔ weight_decay_step" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda w, g, lr, lam: w * (1 - lr * lam) - lr * g, "E2"),
        (lambda w, g, lr, lam: w * (1 - 2 * lr * lam) + lr * g, "descent"),
        (lambda w, g, lr, lam: w * (1 + 2 * lr * lam) - lr * g, "below 1"),
        (lambda w, g, lr, lam: w[:1] * 0, "shape"),
    ],
)
def test_weight_decay_step_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.weight_decay_step(wrong)


# ------------------------------------------------------------------------------ noise = L2


def _ridge(X, y, pen):
    X, y = np.asarray(X, np.float64), np.asarray(y, np.float64)
    return np.linalg.solve(X.T @ X + pen * np.eye(X.shape[1]), X.T @ y)


def test_noise_equivalent_ridge_passes_a_right_answer(capsys):
    checks.noise_equivalent_ridge(lambda X, y, s2: _ridge(X, y, X.shape[0] * s2))
    assert "✔ noise_equivalent_ridge" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda X, y, s2: _ridge(X, y, s2), "n \\* sigma2"),
        (lambda X, y, s2: _ridge(X, y, X.shape[0] * np.sqrt(s2)), "square root"),
        (lambda X, y, s2: _ridge(X, y, 0.0), "expand"),
    ],
)
def test_noise_equivalent_ridge_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.noise_equivalent_ridge(wrong)


# ------------------------------------------------------------------------------ soft threshold


def _soft(v, t):
    v = np.asarray(v, np.float64)
    out = np.zeros_like(v)
    out[v > t] = v[v > t] - t
    out[v < -t] = v[v < -t] + t
    return out


def test_soft_threshold_passes_a_right_answer(capsys):
    checks.soft_threshold(_soft)
    assert "✔ soft_threshold" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda v, t: jnp.where(jnp.abs(v) > t, v, 0.0), "hard"),
        (lambda v, t: v - t * jnp.sign(v), "exactly 0"),
        (lambda v, t: jnp.maximum(v - t, 0.0), "negative"),
    ],
)
def test_soft_threshold_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.soft_threshold(wrong)


# ------------------------------------------------------------------------------ hidden units


def test_hidden_l1_delta_passes_a_right_answer(capsys):
    # independent: jax.grad of the penalty itself
    checks.hidden_l1_delta(
        lambda a, lam: jax.grad(lambda v: lam * jnp.sum(jnp.abs(jnp.tanh(v))))(a)
    )
    assert "✔ hidden_l1_delta" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda a, lam: lam * jnp.sign(jnp.tanh(a)), "Phi'\\(a\\)"),
        (lambda a, lam: lam * (1 - a**2) * jnp.sign(a), "not with a"),
        (lambda a, lam: lam * (1 - jnp.tanh(a) ** 2), "sign\\(h\\)"),
    ],
)
def test_hidden_l1_delta_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.hidden_l1_delta(wrong)


# ------------------------------------------------------------------------------ early stopping


def _stopping_while(v, patience):
    v = list(np.asarray(v, np.float64))
    t, best_t, since = 1, 0, 0
    while t < len(v):
        if v[t] < v[best_t]:
            best_t, since = t, 0
        else:
            since += 1
            if since == patience:
                break
        t += 1
    return best_t, min(t, len(v) - 1)


def test_early_stopping_passes_a_right_answer(capsys):
    checks.early_stopping(_stopping_while)
    assert "✔ early_stopping" in capsys.readouterr().out


def _argmin_rule(v, patience):
    return int(np.argmin(v)), _stopping_while(v, patience)[1]


def _no_stop(v, patience):
    v = list(np.asarray(v))
    return min(range(len(v)), key=lambda t: (v[t], t)), len(v) - 1


def _off_by_one(v, patience):
    return _stopping_while(v, patience + 1)


def _ties_improve(v, patience):
    v = list(np.asarray(v, np.float64))
    best_t, since = 0, 0
    for t in range(1, len(v)):
        if v[t] <= v[best_t]:
            best_t, since = t, 0
        else:
            since += 1
            if since == patience:
                return best_t, t
    return best_t, len(v) - 1


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (_argmin_rule, "before the stop"),
        (_off_by_one, "off by one"),
        (_no_stop, "before the stop|as soon as"),
        (_ties_improve, "strictly lower"),
        (lambda v, p: (1, 2, 3), "expected a tuple"),
    ],
)
def test_early_stopping_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.early_stopping(wrong)


# ------------------------------------------------------------------------------ shrinkage


def test_gd_shrinkage_passes_a_right_answer(capsys):
    checks.gd_shrinkage(lambda ev, lr, t: -np.expm1(t * np.log1p(-lr * np.asarray(ev))))
    assert "✔ gd_shrinkage" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda ev, lr, t: (1 - lr * ev) ** t, "still missing"),
        (lambda ev, lr, t: 1 - (1 - lr * ev) ** (t - 1), "off by one"),
        (lambda ev, lr, t: ev / (ev + 1.0 / (lr * t)), "ridge"),
    ],
)
def test_gd_shrinkage_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.gd_shrinkage(wrong)


# ------------------------------------------------------------------------------ Exercise 4.3


def _perceptron_step(w, b, X, y, lr, lam, *, strict=False, bias_decay=False, after=False, sign=1):
    """Independent: NumPy, a per-row loop that augments x with a 1 for the bias."""
    X, y = np.asarray(X, np.float64), np.asarray(y, np.float64)
    v = np.append(np.asarray(w, np.float64), float(b))  # (d + 1,): the bias is the last weight
    push = np.zeros_like(v)
    for xi, yi in zip(X, y, strict=True):
        a = np.append(xi, 1.0)
        margin = yi * (a @ v)
        if margin < 0 or (margin == 0 and not strict):
            push += yi * a
    keep = np.full_like(v, 1.0 - lr * lam)
    if not bias_decay:
        keep[-1] = 1.0
    new = (v + sign * lr * push) * keep if after else v * keep + sign * lr * push
    return new[:-1], new[-1]


def test_perceptron_decay_step_passes_a_right_answer(capsys):
    checks.perceptron_decay_step(_perceptron_step)
    assert "✔ perceptron_decay_step (Exercise 4.3)" in capsys.readouterr().out


def _times_two_error(w, b, X, y, lr, lam):
    """E(X) = y - sign(score): 2y on a mistake, y on a tie."""
    score = X @ w + b
    e = jnp.where(y * score <= 0, y - jnp.sign(score), 0.0)
    return w * (1 - lr * lam) + lr * e @ X, b + lr * jnp.sum(e)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (functools.partial(_perceptron_step, bias_decay=True), "do not decay the bias"),
        (functools.partial(_perceptron_step, after=True), "decay the \\*old\\* weights"),
        (functools.partial(_perceptron_step, sign=-1), "towards"),
        (functools.partial(_perceptron_step, strict=True), "on the boundary"),
        (
            lambda w, b, X, y, lr, lam: _perceptron_step(w, b, X, y, lr, 2 * lam),
            "erratum E2",
        ),
        (_times_two_error, "fold the factor 2"),
        (
            lambda w, b, X, y, lr, lam: (_perceptron_step(w, b, X, y, lr, lam)[0], b),
            "bias is updated",
        ),
        (lambda w, b, X, y, lr, lam: _perceptron_step(w, b, X, y, lr, lam)[0], "expected a tuple"),
    ],
)
def test_perceptron_decay_step_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.perceptron_decay_step(wrong)


# ------------------------------------------------------------------------------ Exercise 4.11


def _sweep(X, y, Xt, yt, lams, *, pen_bias=False, n_scale=False, sse=False, no_bias=False):
    """Independent: centre with the training means (or not), then an SVD filter per lambda."""
    X, y, Xt, yt = (np.asarray(a, np.float64) for a in (X, y, Xt, yt))
    if pen_bias or no_bias:
        A, At = (np.hstack([Z, np.ones((len(Z), 1))]) for Z in (X, Xt))
        if no_bias:
            A, At = X, Xt
        mx, my = np.zeros(A.shape[1]), 0.0
    else:
        A, At, mx, my = X, Xt, X.mean(0), y.mean()
    U, s, Vt = np.linalg.svd(A - mx, full_matrices=False)
    train, test = [], []
    for lam in np.asarray(lams, np.float64):
        pen = lam * (len(y) if n_scale else 1.0)
        w = Vt.T @ (s / (s**2 + pen) * (U.T @ (y - my)))
        b = my - mx @ w
        reduce = np.sum if sse else np.mean
        train.append(reduce((A @ w + b - y) ** 2))
        test.append(reduce((At @ w + b - yt) ** 2))
    return np.array(train), np.array(test)


def test_ridge_sweep_passes_a_right_answer(capsys):
    checks.ridge_sweep(_sweep)
    assert "✔ ridge_sweep (Exercise 4.11)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (functools.partial(_sweep, pen_bias=True), "bias is not penalized"),
        (functools.partial(_sweep, n_scale=True), "n lam"),
        (functools.partial(_sweep, sse=True), "mean"),
        (functools.partial(_sweep, no_bias=True), "not centred"),
        (lambda *args: _sweep(*args)[::-1], "in that order"),
        (lambda *args: _sweep(*args)[0], "expected a tuple"),
    ],
)
def test_ridge_sweep_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.ridge_sweep(wrong)
