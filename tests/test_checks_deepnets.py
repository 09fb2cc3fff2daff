"""course_lib.checks.deepnets: each check passes a right answer and fails plausible mistakes.

The right answers here are written independently of the solutions notebook (NumPy loops where
the notebook uses jnp, jax.vjp where the notebook writes the backward by hand).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import checks, mlp
from course_lib.checks import CheckFailed


def _stub(*args):
    raise NotImplementedError("Exercise: replace this with your code")


@pytest.mark.parametrize(
    "check",
    [
        checks.xavier_std,
        checks.sigmoid_chain_grad,
        checks.batchnorm_forward,
        checks.batchnorm_backward,
        checks.dead_fraction,
        checks.layer_grad_norms,
    ],
)
def test_every_check_says_not_implemented_for_the_stub(check):
    with pytest.raises(CheckFailed, match="not implemented yet"):
        check(_stub)


# ------------------------------------------------------------------------------ xavier_std


def test_xavier_std_passes_the_formula(capsys):
    checks.xavier_std(lambda fi, fo: (2.0 / (fi + fo)) ** 0.5)
    assert "✔ xavier_std" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda fi, fo: 2.0 / (fi + fo), "variance"),
        (lambda fi, fo: math.sqrt(1.0 / fi), "forward pass"),
        (lambda fi, fo: math.sqrt(1.0 / (fi + fo)), "square root"),
    ],
)
def test_xavier_std_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.xavier_std(wrong)


# ------------------------------------------------------------------------------ sigmoid_chain_grad


def _chain_numpy(weights, x0, *, weight_factor=True, sigmoid_of_h=False):
    w = np.asarray(weights, dtype=np.float64)
    h, prod, out = float(x0), 1.0, []
    for wt in w:
        h = 1.0 / (1.0 + math.exp(-wt * h))
        s = 1.0 / (1.0 + math.exp(-h)) if sigmoid_of_h else h
        prod *= (wt if weight_factor else 1.0) * s * (1.0 - s)
        out.append(prod)
    return np.array(out)


def test_sigmoid_chain_grad_passes_a_numpy_loop(capsys):
    checks.sigmoid_chain_grad(lambda w, x0: _chain_numpy(w, x0))
    assert "✔ sigmoid_chain_grad" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda w, x0: _chain_numpy(w, x0, weight_factor=False), "weight w_t"),
        (lambda w, x0: _chain_numpy(w, x0, sigmoid_of_h=True), "not sigmoid"),
        (lambda w, x0: _chain_numpy(w, x0)[-1:], "wrong shape"),
        (lambda w, x0: -_chain_numpy(w, x0), "multiply"),
    ],
)
def test_sigmoid_chain_grad_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.sigmoid_chain_grad(wrong)


# ------------------------------------------------------------------------------ batch norm


def _bn_numpy(x, gamma, beta, eps, *, ddof=0, eps_outside=False):
    x = np.asarray(x, dtype=np.float64)
    mu = x.mean(axis=0)
    if eps_outside:
        return np.asarray(gamma) * (x - mu) / (x.std(axis=0) + eps) + np.asarray(beta)
    return np.asarray(gamma) * (x - mu) / np.sqrt(x.var(axis=0, ddof=ddof) + eps) + np.asarray(beta)


def test_batchnorm_forward_passes_numpy(capsys):
    checks.batchnorm_forward(_bn_numpy)
    assert "✔ batchnorm_forward" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda x, g, b, e: _bn_numpy(x, g, b, e, ddof=1), "biased variance"),
        (lambda x, g, b, e: _bn_numpy(x, g, b, e, eps_outside=True), "inside"),
        (lambda x, g, b, e: _bn_numpy(np.asarray(x).T, g[:, None], b[:, None], e).T, "axis=0"),
        (lambda x, g, b, e: _bn_numpy(x, g, b, e)[0], "wrong shape"),
    ],
)
def test_batchnorm_forward_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.batchnorm_forward(wrong)


def _bn_backward_vjp(x, gamma, eps, g):
    """A right answer by automatic differentiation (the check's reference is its own vjp)."""

    def f(x, gamma, beta):
        mu = jnp.mean(x, axis=0)
        xc = x - mu[None, :]
        return (
            gamma[None, :] * xc / jnp.sqrt(jnp.mean(xc**2, axis=0) + eps)[None, :] + beta[None, :]
        )

    _, vjp = jax.vjp(f, x, gamma, jnp.zeros_like(gamma))
    return vjp(g)


def _bn_backward_numpy(x, gamma, eps, g, *, direct_only=False, drop_beta_sum=False):
    """The three-path form of Eq 3.62-3.65 in NumPy (a second right answer), or slips of it."""
    x, gamma, g = (np.asarray(a, dtype=np.float64) for a in (x, gamma, g))
    m = x.shape[0]
    mu = x.mean(axis=0)
    var = ((x - mu) ** 2).mean(axis=0)
    s = np.sqrt(var + eps)
    x_hat = (x - mu) / s
    d_var = -gamma / (2 * s**3) * np.sum(g * (x - mu), axis=0)
    d_mu = -gamma / s * g.sum(axis=0)
    g_x = gamma / s * g if direct_only else gamma / s * g + d_mu / m + 2 * (x - mu) / m * d_var
    g_beta = g.sum(axis=0)
    return g_x, (g * x_hat).sum(axis=0), (g_beta * 0 if drop_beta_sum else g_beta)


@pytest.mark.parametrize("right", [_bn_backward_vjp, _bn_backward_numpy])
def test_batchnorm_backward_passes_right_answers(right, capsys):
    checks.batchnorm_backward(right)
    assert "✔ batchnorm_backward" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda x, gm, e, g: _bn_backward_numpy(x, gm, e, g, direct_only=True), "direct path"),
        (lambda x, gm, e, g: _bn_backward_numpy(x, gm, e, g, drop_beta_sum=True), "beta is added"),
        (lambda x, gm, e, g: _bn_backward_numpy(x, gm, e, g)[:2], "expected a tuple"),
        (
            lambda x, gm, e, g: (*_bn_backward_numpy(x, gm, e, g)[:1], gm * 0, gm * 0 + 1),
            "beta is added",
        ),
    ],
)
def test_batchnorm_backward_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.batchnorm_backward(wrong)


def test_batchnorm_backward_wrong_gamma_gradient_is_named():
    def wrong(x, gm, e, g):
        g_x, g_gamma, g_beta = _bn_backward_numpy(x, gm, e, g)
        return g_x, g_gamma * 2, g_beta

    with pytest.raises(CheckFailed, match="g_gamma"):
        checks.batchnorm_backward(wrong)


# ------------------------------------------------------------------------------ dead_fraction


def _dead_numpy(W, b, X, *, per_entry=False, strict=False):
    pre = np.asarray(X) @ np.asarray(W) + np.asarray(b)[None, :]
    if per_entry:
        return float(np.mean(pre <= 0))
    if strict:  # the spec says <= 0: a unit whose best pre-activation is exactly 0 is dead
        return float(np.mean(pre.max(axis=0) < 0))
    never = [not any(pre[i, j] > 0 for i in range(pre.shape[0])) for j in range(pre.shape[1])]
    return sum(never) / len(never)


def test_dead_fraction_passes_a_numpy_loop(capsys):
    checks.dead_fraction(_dead_numpy)
    assert "✔ dead_fraction" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda W, b, X: _dead_numpy(W, b, X, per_entry=True), "inactive on all rows"),
        (lambda W, b, X: _dead_numpy(W, b, X, strict=True), "Use <= 0, not < 0"),
        (lambda W, b, X: 1.0 - _dead_numpy(W, b, X), "every"),
        (lambda W, b, X: np.zeros(3), "single number"),
    ],
)
def test_dead_fraction_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.dead_fraction(wrong)


# ------------------------------------------------------------------------------ layer_grad_norms


def _norms(params, X, y, *, reduce="mean", square=False):
    def loss(p):
        logits = mlp.forward(p, X)
        nll = -jnp.take_along_axis(jax.nn.log_softmax(logits, axis=1), y[:, None], axis=1)
        return jnp.mean(nll) if reduce == "mean" else jnp.sum(nll)

    grads = jax.grad(loss)(params)
    sq = np.array([float(jnp.sum(g.W**2)) for g in grads])
    return sq if square else np.sqrt(sq)


def test_layer_grad_norms_passes_jax_grad(capsys):
    checks.layer_grad_norms(_norms)
    assert "✔ layer_grad_norms" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda p, X, y: _norms(p, X, y, reduce="sum"), "mean"),
        (lambda p, X, y: _norms(p, X, y, square=True), "square root"),
        (lambda p, X, y: _norms(p, X, y)[:-1], "wrong shape"),
        (
            lambda p, X, y: np.array(
                [float(jnp.linalg.norm(g.b)) for g in jax.grad(mlp.loss)(p, X, y)]
            ),
            "jax.grad",
        ),
    ],
)
def test_layer_grad_norms_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.layer_grad_norms(wrong)


@pytest.mark.parametrize(
    "check",
    [
        checks.xavier_std,
        checks.sigmoid_chain_grad,
        checks.batchnorm_forward,
        checks.batchnorm_backward,
        checks.dead_fraction,
        checks.layer_grad_norms,
    ],
)
def test_messages_are_friendly_when_the_function_returns_nothing(check):
    with pytest.raises(CheckFailed) as info:
        check(lambda *args: None)
    rendered = "\n".join(info.value._render_traceback_())
    assert "Traceback" not in rendered and 'File "' not in rendered
    assert str(info.value).startswith("✘ ")
    assert check.__name__ in str(info.value)


def test_batchnorm_backward_names_a_dropped_eps_and_shows_the_difference():
    """Without eps in sqrt(var + eps) the gradients differ only in the 4th-5th digit when eps is
    small: the message must show digits where they differ, and the hint must name eps."""

    def no_eps(x, gm, e, g):
        return _bn_backward_numpy(x, gm, 0.0, g)

    with pytest.raises(CheckFailed) as info:
        checks.batchnorm_backward(no_eps)
    message = str(info.value)
    assert "eps is missing" in message
    expected = next(line for line in message.splitlines() if "expected g_" in line)
    got = next(line for line in message.splitlines() if line.lstrip().startswith("got      g_"))
    value = lambda line: line.split("=", 1)[1].split("shape")[0].strip()  # noqa: E731
    assert value(expected) != value(got), message  # the values visibly differ
