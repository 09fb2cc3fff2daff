"""course_lib.quasi_newton: the BFGS update (Eq 3.55-3.56), the two-loop recursion, BFGS and
L-BFGS with a line search, against dense NumPy algebra, conjugate gradients and scipy."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize
import widget_views

from course_lib import optim
from course_lib import quasi_newton as qn


def _spd(seed, d, cond=30.0):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    return (Q * np.geomspace(1.0, cond, d)) @ Q.T


def _bfgs_np(G, s, y):
    rho = 1.0 / (s @ y)
    I = np.eye(len(s))  # noqa: E741
    return (I - rho * np.outer(s, y)) @ G @ (I - rho * np.outer(y, s)) + rho * np.outer(s, s)


def _rosenbrock(w):
    return jnp.sum(100.0 * (w[1:] - w[:-1] ** 2) ** 2 + (1.0 - w[:-1]) ** 2)


A6 = _spd(0, 6)
B6 = np.arange(1.0, 7.0)


def _quad(w):
    return 0.5 * w @ A6 @ w - B6 @ w


def test_bfgs_update_is_the_product_form_and_meets_the_secant_condition():
    rng = np.random.default_rng(1)
    G = np.linalg.inv(_spd(2, 5, 4.0))
    for _ in range(3):
        s = rng.normal(size=5)
        y = _spd(3, 5) @ s
        new = np.asarray(qn.bfgs_update(G, s, y))
        np.testing.assert_allclose(new, _bfgs_np(G, s, y), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(new @ y, s, rtol=1e-12, atol=1e-12)  # Eq 3.55
        np.testing.assert_allclose(new, new.T, atol=1e-13)
        assert np.linalg.eigvalsh(new).min() > 0
        G = new


def test_bfgs_update_skips_a_pair_without_positive_curvature():
    G = np.eye(3)
    s, y = np.array([1.0, 0.0, 0.0]), np.array([-1.0, 0.5, 0.0])
    np.testing.assert_array_equal(np.asarray(qn.bfgs_update(G, s, y)), G)


def test_two_loop_equals_dense_bfgs_from_the_identity():
    rng = np.random.default_rng(4)
    A = _spd(5, 7)
    S = rng.normal(size=(4, 7))
    Y = S @ A
    g = rng.normal(size=7)
    G = np.eye(7)
    for s, y in zip(S, Y, strict=True):
        G = _bfgs_np(G, s, y)
    np.testing.assert_allclose(np.asarray(qn.two_loop(g, S, Y)), G @ g, rtol=1e-10, atol=1e-12)
    # masked rows are left out: only the last two pairs
    G2 = np.eye(7)
    for s, y in zip(S[2:], Y[2:], strict=True):
        G2 = _bfgs_np(G2, s, y)
    valid = np.array([False, False, True, True])
    np.testing.assert_allclose(np.asarray(qn.two_loop(g, S, Y, valid)), G2 @ g, rtol=1e-10)


def test_bfgs_with_exact_line_search_takes_cgs_steps_and_ends_in_d_steps():
    w0 = jnp.zeros(6)
    path = jax.jit(lambda w: qn.bfgs(_quad, w, steps=6, line_search="exact"))(w0)
    cg = optim.conjugate_gradient(A6, B6, w0, 6)
    np.testing.assert_allclose(np.asarray(path.iterates), np.asarray(cg.iterates), atol=1e-10)
    np.testing.assert_allclose(np.asarray(path.iterates[-1]), np.linalg.solve(A6, B6), atol=1e-10)
    assert float(path.grad_norm[-1]) < 1e-10 < float(path.grad_norm[-2])


def test_armijo_backtracking_gives_sufficient_decrease():
    lg = jax.value_and_grad(_rosenbrock)
    w = jnp.array([-1.2, 1.0])
    v, g = lg(w)
    alpha, v_new, g_new, tries = qn.backtracking(lg, w, v, g, -g)
    assert float(v_new) <= float(v) + 1e-4 * float(alpha) * float(g @ -g)
    assert float(alpha) == 0.5 ** (int(tries) - 1)
    np.testing.assert_allclose(np.asarray(g_new), np.asarray(jax.grad(_rosenbrock)(w - alpha * g)))


@pytest.mark.parametrize("method", ["BFGS", "L-BFGS-B"])
def test_bfgs_and_lbfgs_reach_scipys_minimum_of_rosenbrock(method):
    w0 = jnp.array([-1.2, 1.0, -0.5, 0.8])
    f, grad = jax.jit(_rosenbrock), jax.jit(jax.grad(_rosenbrock))
    ref = scipy.optimize.minimize(
        lambda w: float(f(w)), np.asarray(w0), jac=lambda w: np.asarray(grad(w)),
        method=method, options={"gtol": 1e-10},
    )  # fmt: skip
    if method == "BFGS":
        path = qn.bfgs(_rosenbrock, w0, steps=120, tol=1e-9)
    else:
        path = qn.lbfgs(_rosenbrock, w0, steps=200, memory=8, tol=1e-9)
    k, evals = qn.iterations_to(path, 1e-9)
    assert 0 < k and evals >= k
    np.testing.assert_allclose(np.asarray(path.iterates[-1]), ref.x, atol=1e-5)
    np.testing.assert_allclose(np.asarray(path.iterates[-1]), np.ones(4), atol=1e-8)
    assert np.all(np.diff(np.asarray(path.loss)) <= 1e-12)  # a line search never goes up


def test_lbfgs_with_enough_memory_is_bfgs():
    w0 = jnp.array([-1.2, 1.0])
    b = qn.bfgs(_rosenbrock, w0, steps=25)
    lb = qn.lbfgs_jit(_rosenbrock, w0, 25, 0.0, steps=25, max_memory=25)
    np.testing.assert_allclose(np.asarray(lb.iterates), np.asarray(b.iterates), atol=1e-7)
    short = qn.lbfgs_jit(_rosenbrock, w0, 2, 0.0, steps=25, max_memory=25)  # no recompile
    assert np.abs(np.asarray(short.iterates) - np.asarray(b.iterates)).max() > 1e-3


def test_lbfgs_memory_and_tol_do_not_recompile_and_runs_repeat():
    w0 = jnp.array([3.0, -2.0, 1.0])
    first = qn.lbfgs_jit(_rosenbrock, w0, 2, 0.0, steps=20, max_memory=8)
    n = widget_views.compiles()
    again = qn.lbfgs_jit(_rosenbrock, w0, 2, 0.0, steps=20, max_memory=8)
    for m, tol in [(1, 1e-3), (5, 0.0), (8, 1e-8)]:
        qn.lbfgs_jit(_rosenbrock, w0, m, tol, steps=20, max_memory=8)
    assert widget_views.compiles() == n
    np.testing.assert_array_equal(np.asarray(first.iterates), np.asarray(again.iterates))


def test_a_converged_run_stops_counting():
    path = qn.bfgs(_quad, jnp.zeros(6), steps=30, tol=1e-8)
    k, evals = qn.iterations_to(path, 1e-8)
    assert int(path.evals[-1]) == evals and np.all(np.asarray(path.iterates[k:]) ==
                                                   np.asarray(path.iterates[k]))  # fmt: skip


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: qn.bfgs_update(np.eye(2), [1.0, 2.0, 3.0], [1.0, 0.0, 0.0]), ValueError, "G"),
        (lambda: qn.bfgs_update(np.eye(2), "s", [1.0, 0.0]), TypeError, "s"),
        (lambda: qn.two_loop([1.0, 2.0], np.ones((3, 2)), np.ones((2, 2))), ValueError, "S"),
        (lambda: qn.two_loop([1.0, 2.0], np.ones((3, 2)), np.ones((3, 2)), [True]), ValueError,
         "valid"),
        (lambda: qn.bfgs(_quad, jnp.zeros(6), steps=0), ValueError, "steps"),
        (lambda: qn.bfgs(_quad, jnp.zeros((2, 3)), steps=3), ValueError, "w0"),
        (lambda: qn.bfgs(_quad, jnp.zeros(6), steps=3, line_search="wolfe"), ValueError,
         "line_search"),
        (lambda: qn.bfgs(_quad, jnp.zeros(6), steps=3, tol=-1.0), ValueError, "tol"),
        (lambda: qn.lbfgs(_quad, jnp.zeros(6), steps=3, memory=0), ValueError, "memory"),
        (lambda: qn.lbfgs(_quad, jnp.zeros(6), steps=3, memory=40), ValueError, "max_memory"),
    ],
)  # fmt: skip
def test_bad_input_is_rejected_clearly(call, error, match):
    with pytest.raises(error, match=match):
        call()
