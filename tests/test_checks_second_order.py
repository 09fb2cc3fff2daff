"""course_lib.checks.second_order: each check fails the stub, passes a right answer and fails
plausible mistakes with a hint.

The right answers here are written independently of the solutions notebook (NumPy loops, the
library's functions, scipy's linear algebra) where the notebook uses jnp.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import checks, coordinate_descent, optim, quasi_newton
from course_lib.checks import CheckFailed


def _stub(*args):
    raise NotImplementedError("Exercise: replace this with your code")


ALL = [
    checks.conjugate_directions,
    checks.bfgs_update,
    checks.two_loop,
    checks.hvp,
    checks.coordinate_sweep,
    checks.cg_directions,
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


# ------------------------------------------------------------------------------ Ex 3.11


def _gs(H, V, *, inner=True, use_q=True, normalize=False):
    H, V = np.asarray(H, np.float64), np.asarray(V, np.float64)
    M = H if inner else np.eye(len(H))
    cols = []
    for k in range(V.shape[1]):
        q = V[:, k].copy()
        for j, qj in enumerate(cols):
            basis = qj if use_q else V[:, j]
            q = q - (basis @ M @ V[:, k]) / (basis @ M @ basis) * basis
        cols.append(q / np.linalg.norm(q) if normalize else q)
    return np.stack(cols, axis=1)


def _qr_conjugate(H, V):
    # an independent route: with H = L L^T, QR of L^T V gives H-orthonormal columns V R^-1
    L = np.linalg.cholesky(np.asarray(H, np.float64))
    _, R = np.linalg.qr(L.T @ np.asarray(V, np.float64))
    return np.asarray(V, np.float64) @ np.linalg.inv(R)


def test_conjugate_directions_passes_loops_and_qr(capsys):
    _passes(checks.conjugate_directions, _gs, capsys)
    _passes(checks.conjugate_directions, lambda H, V: _gs(H, V, normalize=True), capsys)
    _passes(checks.conjugate_directions, _qr_conjugate, capsys)


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (lambda H, V: _gs(H, V, inner=False), "ordinary inner product"),
        (lambda H, V: V, "unchanged"),
        (lambda H, V: _gs(H, V, use_q=False), "q_j"),
        (lambda H, V: np.linalg.eigh(np.asarray(H))[1], "conjugate, but not"),
    ],
)
def test_conjugate_directions_fails_common_mistakes(wrong, hint):
    _fails(checks.conjugate_directions, wrong, hint)


# ------------------------------------------------------------------------------ BFGS update


def _bfgs_expanded(G, s, y):
    G, s, y = (np.asarray(a, np.float64) for a in (G, s, y))
    rho = 1.0 / (s @ y)
    Gy = G @ y
    return G - rho * (np.outer(s, Gy) + np.outer(Gy, s)) + (rho**2 * y @ Gy + rho) * np.outer(s, s)


def test_bfgs_update_passes_the_expanded_form_and_the_library(capsys):
    _passes(checks.bfgs_update, _bfgs_expanded, capsys)
    _passes(checks.bfgs_update, quasi_newton.bfgs_update, capsys)


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (lambda G, s, y: _bfgs_expanded(G, y, s), "swapped"),
        (lambda G, s, y: _bfgs_expanded(G, s, y) - np.outer(s, s) / (s @ y), "rho s s"),
        (lambda G, s, y: G, "transpose"),
    ],
)
def test_bfgs_update_fails_common_mistakes(wrong, hint):
    _fails(checks.bfgs_update, wrong, hint)


# ------------------------------------------------------------------------------ two loops


def _dense(g, S, Y, *, reverse=False):
    G = np.eye(len(g))
    pairs = list(zip(np.asarray(S, np.float64), np.asarray(Y, np.float64), strict=True))
    for s, y in pairs[::-1] if reverse else pairs:
        G = _bfgs_expanded(G, s, y)
    return G @ np.asarray(g, np.float64)


def test_two_loop_passes_dense_bfgs_and_the_library(capsys):
    _passes(checks.two_loop, _dense, capsys)
    _passes(checks.two_loop, quasi_newton.two_loop, capsys)


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (lambda g, S, Y: _dense(g, S, Y, reverse=True), "wrong order"),
        (lambda g, S, Y: -_dense(g, S, Y), "negative"),
        (lambda g, S, Y: g, "unchanged"),
        (lambda g, S, Y: 2.0 * _dense(g, S, Y), "a_i"),
    ],
)
def test_two_loop_fails_common_mistakes(wrong, hint):
    _fails(checks.two_loop, wrong, hint)


# ------------------------------------------------------------------------------ HVP


def _hvp_reverse_over_reverse(loss_fn, w, v):
    return jax.grad(lambda x: jax.grad(loss_fn)(x) @ v)(w)


def test_hvp_passes_the_library_and_reverse_over_reverse(capsys):
    _passes(checks.hvp, optim.hessian_vector_product, capsys)
    _passes(checks.hvp, _hvp_reverse_over_reverse, capsys)


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (lambda f, w, v: jax.grad(f)(w) @ v, "a number came back"),
        (lambda f, w, v: jax.grad(f)(w), "that is the gradient"),
        (lambda f, w, v: (jax.grad(f)(w + 1e-2 * v) - jax.grad(f)(w)) / 1e-2, "Eq 3.51"),
        (lambda f, w, v: jnp.diagonal(jax.hessian(f)(w)) * v, "jax.jvp"),
    ],
)
def test_hvp_fails_common_mistakes(wrong, hint):
    _fails(checks.hvp, wrong, hint)


# ------------------------------------------------------------------------------ coordinate sweep


def _sweep_loop(A, b, w):
    A, b, w = (np.asarray(a, np.float64) for a in (A, b, w))
    w = w.copy()
    for i in range(len(b)):
        rest = np.delete(np.arange(len(b)), i)
        w[i] = (b[i] - A[i, rest] @ w[rest]) / A[i, i]
    return w


def test_coordinate_sweep_passes_a_loop_and_the_library(capsys):
    _passes(checks.coordinate_sweep, _sweep_loop, capsys)
    _passes(checks.coordinate_sweep, coordinate_descent.coordinate_sweep, capsys)


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (lambda A, b, w: (b - A @ w + jnp.diagonal(A) * w) / jnp.diagonal(A), "Jacobi"),
        (lambda A, b, w: (b - A @ w) / jnp.diagonal(A), "leave w_i itself out"),
        (lambda A, b, w: w - 0.1 * (A @ w - b), "dL/dw_i = 0"),
    ],
)
def test_coordinate_sweep_fails_common_mistakes(wrong, hint):
    _fails(checks.coordinate_sweep, wrong, hint)


# ------------------------------------------------------------------------------ Ex 3.12


def test_cg_directions_passes_the_library(capsys):
    _passes(
        checks.cg_directions,
        lambda H, b, w0, steps: optim.conjugate_gradient(H, b, w0, steps).directions,
        capsys,
    )


def _cg_variant(H, b, w0, steps, *, sign=1.0, beta_zero=False):
    H, b, w = (np.asarray(a, np.float64) for a in (H, b, w0))
    q = sign * (b - H @ w)
    out = []
    for _ in range(steps):
        out.append(q)
        g = H @ w - b
        w = w - (q @ g) / (q @ H @ q) * q
        g = H @ w - b
        q = -g + (0.0 if beta_zero else (q @ H @ g) / (q @ H @ q)) * q
    return np.array(out)


@pytest.mark.parametrize(
    "kwargs, hint",
    [({"sign": -1.0}, "negative"), ({"beta_zero": True}, "not H-conjugate")],
)
def test_cg_directions_fails_common_mistakes(kwargs, hint):
    _fails(checks.cg_directions, lambda *a: _cg_variant(*a, **kwargs), hint)
