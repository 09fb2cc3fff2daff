"""course_lib.checks.rbf: each check passes a right answer and fails plausible mistakes.

The right answers here are written independently of the solutions notebook (NumPy loops, or the
library, where the notebook writes jnp).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import checks, kmeans, rbf
from course_lib.checks import CheckFailed


def _stub(*args):
    raise NotImplementedError("Exercise: replace this with your code")


ALL = [
    checks.kmeans_step,
    checks.bandwidth_rules,
    checks.hard_ball_layer,
    checks.sigmoid_output_step,
    checks.rbf_sign,
    checks.collapse_dot_product_net,
    checks.mu_gradient,
]


@pytest.mark.parametrize("check", ALL)
def test_every_check_says_not_implemented_for_the_stub(check):
    with pytest.raises(CheckFailed, match="not implemented yet"):
        check(_stub)


def _passes(check, fn, capsys):
    check(fn)
    assert "✔" in capsys.readouterr().out


def _fails(check, fn, hint):
    with pytest.raises(CheckFailed, match=hint):
        check(fn)


# ------------------------------------------------------------------------------ kmeans_step


def _lloyd_loops(X, C):
    X, C = np.asarray(X, np.float64), np.asarray(C, np.float64)
    a = np.array([int(np.argmin([np.sum((x - c) ** 2) for c in C])) for x in X])
    new = C.copy()
    for j in range(len(C)):
        if np.any(a == j):
            new[j] = X[a == j].mean(axis=0)
    return new, a


def test_kmeans_step_passes_loops_and_the_library(capsys):
    _passes(checks.kmeans_step, _lloyd_loops, capsys)
    _passes(checks.kmeans_step, kmeans.kmeans_step, capsys)


def _empty_nan(X, C):
    new, a = _lloyd_loops(X, C)
    counts = np.bincount(a, minlength=len(C))
    new[counts == 0] = np.nan
    return new, a


def _sums(X, C):
    new, a = _lloyd_loops(X, C)
    X = np.asarray(X, np.float64)
    for j in range(len(C)):
        if np.any(a == j):
            new[j] = X[a == j].sum(axis=0)
    return new, a


def _assign_to_new(X, C):
    new, _ = _lloyd_loops(X, C)
    return new, _lloyd_loops(X, new)[1]


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [(_empty_nan, "wins no point|empty"), (_sums, "divide each cluster"),
     (_assign_to_new, "old"), (lambda X, C: (C, np.zeros(len(X))), "nearest|smallest")],
)  # fmt: skip
def test_kmeans_step_fails_common_mistakes(wrong, hint):
    _fails(checks.kmeans_step, wrong, hint)


# ------------------------------------------------------------------------------ bandwidths


def _bw_loops(C):
    C = np.asarray(C, np.float64)
    m = len(C)
    d = [np.linalg.norm(C[i] - C[j]) for i in range(m) for j in range(i + 1, m)]
    return max(d) / np.sqrt(m), 2 * np.mean(d)


def test_bandwidth_rules_pass_loops_and_the_library(capsys):
    _passes(checks.bandwidth_rules, _bw_loops, capsys)
    lib = lambda C: (rbf.bandwidth(C, "max"), rbf.bandwidth(C, "mean"))  # noqa: E731
    _passes(checks.bandwidth_rules, lib, capsys)


def _full_mean(C):
    D = np.asarray(rbf.pairwise_distances(C))
    return D.max() / np.sqrt(len(C)), 2 * D.mean()


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (_full_mean, "distinct"),
        (lambda C: (_bw_loops(C)[0] * np.sqrt(len(C)), _bw_loops(C)[1]), "sqrt"),
        (lambda C: (_bw_loops(C)[0], _bw_loops(C)[1] / 2), "twice"),
        (lambda C: (_bw_loops(C)[0] / np.sqrt(len(C)), _bw_loops(C)[1]), "not by m"),
    ],
)
def test_bandwidth_rules_fail_common_mistakes(wrong, hint):
    _fails(checks.bandwidth_rules, wrong, hint)


# ------------------------------------------------------------------------------ hard ball


def _ball_loops(X, C, sigma):
    X, C = np.asarray(X, np.float64), np.asarray(C, np.float64)
    return np.array([[float(np.linalg.norm(x - c) < sigma) for c in C] for x in X])


def test_hard_ball_layer_passes_loops(capsys):
    _passes(checks.hard_ball_layer, _ball_loops, capsys)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda X, C, s: (np.linalg.norm(np.asarray(X)[:, None] - np.asarray(C)[None], axis=-1)
                          <= s).astype(float), "strict"),
        (lambda X, C, s: 1.0 - _ball_loops(X, C, s), "inside"),
        (lambda X, C, s: rbf.rbf_activations(X, C, s), "exactly 0 or 1"),
        (lambda X, C, s: (np.sum((np.asarray(X)[:, None] - np.asarray(C)[None]) ** 2, -1) < s)
         .astype(float), "squared distance"),
    ],
)  # fmt: skip
def test_hard_ball_layer_fails_common_mistakes(wrong, hint):
    _fails(checks.hard_ball_layer, wrong, hint)


# ------------------------------------------------------------------------------ sigmoid output


def _logistic_by_grad(W, H, y, lr, lam):
    def loss(w):
        return jnp.sum(jnp.logaddexp(0.0, -y * (H @ w))) + 0.5 * lam * jnp.sum(w**2)

    return W - lr * jax.grad(loss)(W)


def test_sigmoid_output_step_passes_gradient_descent_by_jax_grad(capsys):
    _passes(checks.sigmoid_output_step, _logistic_by_grad, capsys)


def _no_decay(W, H, y, lr, lam):
    return _logistic_by_grad(W, H, y, lr, 0.0)


def _wrong_sign(W, H, y, lr, lam):
    W, H, y = (np.asarray(a, np.float64) for a in (W, H, y))
    return W * (1 - lr * lam) + lr * (y / (1 + np.exp(-y * (H @ W)))) @ H


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [(_no_decay, "shrinks"), (_wrong_sign, "misclassified"), (lambda W, H, y, lr, lam: W, "z = H")],
)
def test_sigmoid_output_step_fails_common_mistakes(wrong, hint):
    _fails(checks.sigmoid_output_step, wrong, hint)


# ------------------------------------------------------------------------------ rbf_sign


def _sign_by_logsumexp(X, C, w, sigma):
    # log |sum_j w_j Phi_j| is not needed: split the sum by the sign of w and compare two
    # log-sum-exps (an answer written differently from the notebook's shift)
    X, C, w = (np.asarray(a, np.float64) for a in (X, C, w))
    logits = -np.sum((X[:, None] - C[None]) ** 2, -1) / (2 * sigma**2)

    def lse(mask):
        z = np.where(mask[None, :], logits + np.log(np.abs(w) + 1e-300)[None, :], -np.inf)
        top = z.max(axis=1, keepdims=True)
        return (top + np.log(np.exp(z - top).sum(axis=1, keepdims=True)))[:, 0]

    return np.sign(lse(w > 0) - lse(w < 0))


def test_rbf_sign_passes_a_log_sum_exp_answer(capsys):
    _passes(checks.rbf_sign, _sign_by_logsumexp, capsys)


def _nearest_only(X, C, w, sigma):
    return np.sign(np.asarray(w)[np.asarray(kmeans.assign(X, C))])


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda X, C, w, s: jnp.sign(rbf.predict(X, C, s, w)), "underflow"),
        (_nearest_only, "moderate sigma"),
        (lambda X, C, w, s: -_sign_by_logsumexp(X, C, w, s), "sign of H @ w"),
    ],
)
def test_rbf_sign_fails_common_mistakes(wrong, hint):
    _fails(checks.rbf_sign, wrong, hint)


# ------------------------------------------------------------------------------ Ex 5.9


def test_collapse_passes_a_loop(capsys):
    def loop(P, w):
        P, w = np.asarray(P), np.asarray(w)
        return sum(w[j] * P[j] for j in range(len(w)))

    _passes(checks.collapse_dot_product_net, loop, capsys)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda P, w: np.asarray(P) @ np.asarray(w) if P.shape[0] == P.shape[1]
         else np.asarray(P).T @ np.asarray(w), "transpose"),
        (lambda P, w: np.asarray(P).T @ np.asarray(w) / len(w), "average"),
        (lambda P, w: np.asarray(P).sum(axis=0), "single dot product"),
    ],
)  # fmt: skip
def test_collapse_fails_common_mistakes(wrong, hint):
    _fails(checks.collapse_dot_product_net, wrong, hint)


# ------------------------------------------------------------------------------ Eq 5.8


def _mu_by_grad(X, y, C, sigma, w):
    return rbf.loss_gradients(rbf.RBFParams(C, sigma, w), X, y).centers


def _mu_by_jax(X, y, C, sigma, w):
    return jax.grad(lambda c: rbf.squared_loss(rbf.RBFParams(c, sigma, w), X, y))(C)


def test_mu_gradient_passes_the_library_and_jax_grad(capsys):
    _passes(checks.mu_gradient, _mu_by_grad, capsys)
    _passes(checks.mu_gradient, _mu_by_jax, capsys)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda X, y, C, s, w: -_mu_by_grad(X, y, C, s, w), "sign"),
        (lambda X, y, C, s, w: _mu_by_grad(X, y, C, s, w) / s[:, None], "sigma_j\\*\\*2"),
        (lambda X, y, C, s, w: _mu_by_grad(X, y, C, s, w) / w[:, None], "w_j"),
        (lambda X, y, C, s, w: jnp.zeros_like(C), "sum over the examples"),
    ],
)
def test_mu_gradient_fails_common_mistakes(wrong, hint):
    _fails(checks.mu_gradient, wrong, hint)
