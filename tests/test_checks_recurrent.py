"""course_lib.checks.recurrent: each check passes a right answer and fails plausible mistakes.

The right answers here are written independently of the solutions notebook and of the checks'
references (NumPy loops with explicit diagonal matrices, ``jax.grad`` of a loss written out
here, scikit-learn's Ridge).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.linear_model import Ridge

from course_lib import checks
from course_lib.checks import CheckFailed


def _stub(*args):
    raise NotImplementedError("Exercise: replace this with your code")


@pytest.mark.parametrize(
    "check",
    [
        checks.rnn_forward,
        checks.bptt_grads,
        checks.jacobian_norms,
        checks.rescale_spectral_radius,
        checks.esn_readout,
        checks.sigmoid_fixed_point,
    ],
)
def test_every_check_says_not_implemented_for_the_stub(check):
    with pytest.raises(CheckFailed, match="not implemented yet"):
        check(_stub)


# ------------------------------------------------------------------------------ rnn_forward


def _forward_np(W_xh, W_hh, b, xs, *, act=np.tanh, transpose=False, include_h0=False):
    W_xh, W_hh, b, xs = (np.asarray(a, np.float64) for a in (W_xh, W_hh, b, xs))
    h = np.zeros(W_hh.shape[0])
    out = [h] if include_h0 else []
    for x in xs:
        h = act(W_xh @ x + (h @ W_hh if transpose else W_hh @ h) + b)
        out.append(h)
    return np.array(out[: len(xs)])


def test_rnn_forward_passes_a_numpy_loop(capsys):
    checks.rnn_forward(_forward_np)
    assert "✔ rnn_forward" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda *a: _forward_np(*a, act=lambda z: z), "tanh"),
        (lambda *a: _forward_np(*a, transpose=True), "transpose"),
        (lambda *a: _forward_np(*a, include_h0=True), "h_1"),
    ],
)
def test_rnn_forward_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.rnn_forward(wrong)


# ------------------------------------------------------------------------------ bptt_grads


def _loss(W_xh, W_hh, W_hy, xs, targets):
    h = jnp.zeros(W_hh.shape[0])
    total = 0.0
    for t in range(xs.shape[0]):
        h = jnp.tanh(W_xh @ xs[t] + W_hh @ h)
        y = W_hy @ h
        total = total + jax.scipy.special.logsumexp(y) - y[targets[t]]
    return total


def _grads_by_jax(W_xh, W_hh, W_hy, xs, targets):
    return jax.grad(_loss, argnums=(0, 1, 2))(W_xh, W_hh, W_hy, xs, targets)


def _bptt_np(W_xh, W_hh, W_hy, xs, targets, *, slip=None):
    W_xh, W_hh, W_hy, xs = (np.asarray(a, np.float64) for a in (W_xh, W_hh, W_hy, xs))
    targets = np.asarray(targets)
    T, p = xs.shape[0], W_hh.shape[0]
    hs, h = [], np.zeros(p)
    for x in xs:
        h = np.tanh(W_xh @ x + W_hh @ h)
        hs.append(h)
    grads = [np.zeros_like(W_xh), np.zeros_like(W_hh), np.zeros_like(W_hy)]
    future = np.zeros(p)
    for t in reversed(range(T)):
        y = W_hy @ hs[t]
        g_y = np.exp(y - y.max()) / np.exp(y - y.max()).sum()
        g_y[targets[t]] -= 1.0
        g_h = W_hy.T @ g_y + future
        g_a = g_h if slip == "no tanh'" else np.diag(1 - hs[t] ** 2) @ g_h
        future = (W_hh if slip == "no transpose" else W_hh.T) @ (
            g_h if slip == "message skips tanh'" else g_a
        )
        h_prev = hs[t - 1] if t else np.zeros(p)
        contrib = [np.outer(g_a, xs[t]), np.outer(g_a, h_prev), np.outer(g_y, hs[t])]
        if slip == "last step only":
            if t == T - 1:
                grads = contrib
        else:
            grads = [g + c for g, c in zip(grads, contrib, strict=True)]
    return tuple(grads)


def test_bptt_grads_passes_jax_grad_and_a_numpy_loop(capsys):
    checks.bptt_grads(_grads_by_jax)
    checks.bptt_grads(_bptt_np)
    assert capsys.readouterr().out.count("✔ bptt_grads") == 2


@pytest.mark.parametrize(
    ("slip", "hint"),
    [
        ("no tanh'", "tanh'"),
        ("no transpose", "transpose"),
        ("last step only", "SUM over t"),
        ("message skips tanh'", r"W_hh.T @ g_h skips it"),
    ],
)
def test_bptt_grads_fails_common_mistakes(slip, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.bptt_grads(lambda *a: _bptt_np(*a, slip=slip))


def test_bptt_grads_wants_a_tuple_of_three():
    with pytest.raises(CheckFailed, match="expected a tuple"):
        checks.bptt_grads(lambda *a: _bptt_np(*a)[:2])


# ------------------------------------------------------------------------------ jacobian_norms


def _jac_np(W_hh, hs, *, tanh=True, order="right", norm=2):
    W, H = np.asarray(W_hh, np.float64), np.asarray(hs, np.float64)
    T, p = H.shape
    prod = np.eye(p)
    norms = np.ones(T + 1)
    for t in range(T - 1, -1, -1):  # norms[t] = ||dh_T/dh_t||; H[t] = h_(t+1)
        J = (np.diag(1 - H[t] ** 2) if tanh else np.eye(p)) @ W
        prod = prod @ J if order == "right" else J @ prod
        norms[t] = np.linalg.norm(prod, norm)
    return norms


def test_jacobian_norms_passes_explicit_diagonal_products(capsys):
    checks.jacobian_norms(_jac_np)
    assert "✔ jacobian_norms" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda W, H: _jac_np(W, H, tanh=False), "tanh'"),
        (lambda W, H: _jac_np(W, H, norm="fro"), "Frobenius"),
        (lambda W, H: _jac_np(W, H, order="left"), "RIGHT"),
        (lambda W, H: _jac_np(W, H)[::-1], "last one"),
    ],
)
def test_jacobian_norms_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.jacobian_norms(wrong)


# ------------------------------------------------------------------------------ rescale


def _radius_by_power_iteration_free(W):
    # the spectral radius as the limit of ||W^k||^(1/k) would converge slowly; use the roots
    # of the characteristic polynomial instead (an independent route to the eigenvalues)
    return np.max(np.abs(np.roots(np.poly(np.asarray(W, np.float64)))))


def test_rescale_spectral_radius_passes_a_characteristic_polynomial_version(capsys):
    checks.rescale_spectral_radius(
        lambda W, rho: np.asarray(W) * rho / _radius_by_power_iteration_free(W)
    )
    assert "✔ rescale_spectral_radius" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda W, rho: np.asarray(W) * rho / np.linalg.norm(np.asarray(W), 2), "spectral NORM"),
        (
            lambda W, rho: np.asarray(W) * rho / np.max(np.linalg.eigvals(np.asarray(W)).real),
            "ABSOLUTE",
        ),
        (lambda W, rho: np.asarray(W) / _radius_by_power_iteration_free(W), "multiply by rho"),
    ],
)
def test_rescale_spectral_radius_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.rescale_spectral_radius(wrong)


# ------------------------------------------------------------------------------ esn_readout


def _readout_sklearn(states, y, lam, *, bias_first=False, ridge=True):
    H = np.asarray(states, np.float64)
    ones = np.ones((H.shape[0], 1))
    S = np.hstack([ones, H]) if bias_first else np.hstack([H, ones])
    if ridge:
        return Ridge(alpha=lam, fit_intercept=False).fit(S, np.asarray(y)).coef_
    return np.linalg.pinv(S) @ np.asarray(y)


def test_esn_readout_passes_sklearn_ridge(capsys):
    checks.esn_readout(_readout_sklearn)
    assert "✔ esn_readout" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda H, y, lam: _readout_sklearn(H, y, lam, bias_first=True), "LAST"),
        (lambda H, y, lam: _readout_sklearn(H, y, lam, ridge=False), "lam"),
        (
            lambda H, y, lam: (
                Ridge(alpha=lam, fit_intercept=False).fit(np.asarray(H), np.asarray(y)).coef_
            ),
            "column of ones",
        ),
    ],
)
def test_esn_readout_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.esn_readout(wrong)


# ------------------------------------------------------------------------------ Exercise 7.4


def _fixed_point_np(W, b, h0, steps, *, jac="right", start=None):
    W, b = np.asarray(W, np.float64), np.asarray(b, np.float64)
    h = np.array(h0 if start is None else np.full(W.shape[0], start), np.float64)
    for _ in range(steps):
        h = 0.5 * (1 + np.tanh((W @ h + b) / 2))  # sigmoid written through tanh
    if jac == "right":
        J = np.diag(h * (1 - h)) @ W
    elif jac == "bound":
        J = 0.25 * W
    elif jac == "W":
        J = W
    elif jac == "norm":  # the spectral norm instead of the radius
        return h, float(np.linalg.norm(np.diag(h * (1 - h)) @ W, 2))
    else:  # sigma applied to h again
        s = 1 / (1 + np.exp(-h))
        J = np.diag(s * (1 - s)) @ W
    return h, float(np.max(np.abs(np.linalg.eigvals(J))))


def test_sigmoid_fixed_point_passes_a_numpy_loop(capsys):
    checks.sigmoid_fixed_point(_fixed_point_np)
    assert "✔ sigmoid_fixed_point (Exercise 7.4)" in capsys.readouterr().out


def test_exercise_74_answer_is_vanishing():
    h, rho = _fixed_point_np(np.full((2, 2), 3.5), np.zeros(2), np.full(2, 0.5), 200)
    assert 0.999 < h[0] < 1 and rho < 1e-2  # the course map's worked answer: ~6.4e-3


def test_exercise_74_bias_minus_3p5_is_an_unstable_fixed_point():
    """Oracle for the solution's b = -3.5 discussion, independent of the check's code.

    On the diagonal h = (u, u) the net is the scalar map f(u) = sigmoid(7u - 3.5). u = 0.5 is
    a fixed point with f'(0.5) = 7/4 > 1 (central differences), so it repels: a perturbation
    grows by about 7/4 per step until the state settles at a stable fixed point, where the
    step Jacobian's spectral radius is below 1 (a stable state means vanishing gradients).
    """

    def f(u):
        return 1.0 / (1.0 + np.exp(-(7.0 * u - 3.5)))

    assert f(0.5) == 0.5  # sigmoid(0) = 1/2 exactly
    slope = (f(0.5 + 1e-6) - f(0.5 - 1e-6)) / 2e-6
    np.testing.assert_allclose(slope, 1.75, rtol=1e-9)
    for sign in (1.0, -1.0):
        u, gaps = 0.5 + sign * 1e-6, []
        for _ in range(200):
            u = f(u)
            gaps.append(abs(u - 0.5))
        np.testing.assert_allclose(gaps[4] / gaps[3], 1.75, rtol=1e-4)  # still linear
        assert gaps[-1] > 0.4  # it left: 0.962 or 0.038
        assert abs(f(u) - u) < 1e-12  # ... for a fixed point
        J = np.diag([u * (1 - u)] * 2) @ np.full((2, 2), 3.5)
        rho = float(np.max(np.abs(np.linalg.eigvals(J))))
        assert rho < 0.3  # stable: gradients through it shrink by rho per step
        # the check's reference agrees, from either side
        h, r = _fixed_point_np(
            np.full((2, 2), 3.5), np.full(2, -3.5), np.full(2, 0.5 + sign * 1e-6), 200
        )
        np.testing.assert_allclose(h, [u, u], rtol=1e-9)
        np.testing.assert_allclose(r, rho, rtol=1e-9)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda W, b, h0, s: _fixed_point_np(W, b, h0, s, jac="bound"), "upper bound"),
        (lambda W, b, h0, s: _fixed_point_np(W, b, h0, s, jac="W"), "not W alone"),
        (lambda W, b, h0, s: _fixed_point_np(W, b, h0, s, jac="sigma twice"), "again"),
        (lambda W, b, h0, s: _fixed_point_np(W, b, h0, s, jac="norm"), "spectral RADIUS"),
        (lambda W, b, h0, s: _fixed_point_np(W, b, h0, s, start=0.5), "unstable"),
        (lambda W, b, h0, s: _fixed_point_np(W, b, h0, s, start=0.0), "start at h0"),
    ],
)
def test_sigmoid_fixed_point_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.sigmoid_fixed_point(wrong)
