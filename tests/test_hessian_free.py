"""course_lib.hessian_free: Hessian-vector products (exact, Eq 3.51's finite difference,
Gauss-Newton) against the full Hessian and finite differences; truncated CG; Hessian-free
Newton against scipy on logistic regression."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize

from course_lib import hessian_free as hf
from course_lib import optim


def _loss(w):
    return jnp.sum(jnp.sin(w) * w**2) + (w @ w) ** 2 + jnp.prod(jnp.cos(w))


W = jnp.array([0.3, -1.2, 0.7, 0.1])
V = jnp.array([1.0, 2.0, -1.0, 0.5])


def test_forward_over_reverse_is_the_full_hessian_times_v(fd_gradient):
    exact = np.asarray(jax.jit(jax.hessian(_loss))(W) @ V)
    hvp = np.asarray(hf.hessian_vector_product(_loss, W, V))  # optim's, re-exported
    np.testing.assert_allclose(hvp, exact, rtol=1e-12, atol=1e-12)
    # an independent oracle: central differences of the directional derivative's gradient
    directional = jax.jit(lambda w: jax.grad(_loss)(w) @ V)
    fd = fd_gradient(lambda w: float(directional(w)), np.asarray(W))
    np.testing.assert_allclose(hvp, fd, rtol=1e-6, atol=1e-7)


def test_eq_3_51_is_first_order_accurate():
    exact = np.asarray(jax.jit(jax.hessian(_loss))(W) @ V)
    fd = jax.jit(lambda d: hf.finite_difference_hvp(_loss, W, V, d))  # one compile, delta traced
    errs = [np.abs(np.asarray(fd(d)) - exact).max()
            for d in (1e-3, 1e-4, 1e-5)]  # fmt: skip
    assert errs[0] < 0.2 and errs[2] < 1e-3
    assert 5 < errs[0] / errs[1] < 20 and 5 < errs[1] / errs[2] < 20  # error ~ delta


def _residuals(w):
    x = jnp.linspace(-1.0, 1.0, 7)
    return jnp.tanh(w[0] * x + w[1]) * w[2] - jnp.sin(2 * x)


def test_gauss_newton_product_is_jtj_v_and_psd():
    w = jnp.array([0.5, -0.2, 1.3])
    v = jnp.array([1.0, -1.0, 2.0])
    J = np.asarray(jax.jit(jax.jacfwd(_residuals))(w))
    gnvp = jax.jit(lambda w, v: hf.gauss_newton_vector_product(_residuals, w, v))
    np.testing.assert_allclose(np.asarray(gnvp(w, v)), J.T @ J @ np.asarray(v), rtol=1e-12,
                               atol=1e-12)  # fmt: skip
    for u in np.random.default_rng(0).normal(size=(5, 3)):
        assert float(u @ gnvp(w, jnp.asarray(u))) >= 0


def _spd(seed, d, cond=50.0):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    return (Q * np.geomspace(1.0, cond, d)) @ Q.T


def test_truncated_cg_is_exact_after_d_iterations_and_stops_early():
    A = _spd(1, 8)
    b = np.random.default_rng(2).normal(size=8)
    sol = hf.truncated_cg(lambda v: A @ v, jnp.asarray(b), iters=8, tol=0.0)
    np.testing.assert_allclose(np.asarray(sol.x), np.linalg.solve(A, b), rtol=1e-9, atol=1e-10)
    assert int(sol.iterations) == 8 and not bool(sol.negative_curvature)
    # the same as optim's CG (Eq 3.49-3.50) from 0 after the same number of steps
    ref = optim.conjugate_gradient(A, b, jnp.zeros(8), 3).iterates[-1]
    three = hf.truncated_cg(lambda v: A @ v, jnp.asarray(b), iters=3, tol=0.0)
    np.testing.assert_allclose(np.asarray(three.x), np.asarray(ref), rtol=1e-9, atol=1e-10)
    early = hf.truncated_cg(lambda v: A @ v, jnp.asarray(b), iters=8, tol=0.5)
    assert int(early.iterations) < 8 and float(early.residual) <= 0.5 * np.linalg.norm(b)


def test_truncated_cg_stops_on_negative_curvature():
    A = np.diag([1.0, -2.0, 3.0])
    b = np.array([0.0, 1.0, 0.0])  # straight into the negative direction
    sol = hf.truncated_cg(lambda v: A @ v, jnp.asarray(b), iters=3)
    assert bool(sol.negative_curvature) and int(sol.iterations) == 0
    np.testing.assert_array_equal(np.asarray(sol.x), b)


def _logistic_problem():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(80, 5))
    y = (X @ np.array([1.0, -2.0, 0.5, 0.0, 1.0]) + rng.normal(size=80) > 0).astype(float)

    def loss(w):
        z = X @ w
        return jnp.mean(jnp.logaddexp(0.0, z) - y * z) + 0.005 * w @ w

    return loss


def test_hessian_free_reaches_scipys_minimum_in_few_newton_steps():
    loss = _logistic_problem()
    f, grad = jax.jit(loss), jax.jit(jax.grad(loss))
    ref = scipy.optimize.minimize(lambda w: float(f(w)), np.zeros(5),
                                  jac=lambda w: np.asarray(grad(w)), method="BFGS",
                                  options={"gtol": 1e-11})  # fmt: skip
    path = hf.hessian_free(loss, jnp.zeros(5), steps=12, cg_iters=5, tol=1e-10)
    k = int(np.argmax(np.asarray(path.grad_norm) <= 1e-10))
    assert 0 < k <= 10  # Newton's quadratic convergence: a handful of outer steps
    np.testing.assert_allclose(np.asarray(path.iterates[-1]), ref.x, atol=1e-6)
    assert np.all(np.diff(np.asarray(path.loss)) <= 1e-14)
    assert np.all(np.diff(np.asarray(path.evals)) >= 0)


def test_newton_is_eq_3_48_and_solves_a_quadratic_in_one_step():
    loss = _logistic_problem()
    path = hf.newton(loss, jnp.zeros(5), steps=8, tol=1e-12)
    w0 = jnp.zeros(5)  # Eq 3.48 with jitted derivatives (optim.newton_step is the eager form)
    step = np.asarray(
        w0 - jnp.linalg.solve(jax.jit(jax.hessian(loss))(w0), jax.jit(jax.grad(loss))(w0))
    )
    np.testing.assert_allclose(np.asarray(path.iterates[1]), step, rtol=1e-12)
    assert float(path.grad_norm[-1]) < 1e-12 and int(path.evals[1]) == 1 + 1 + 5
    A = _spd(4, 5)
    quad = hf.newton(lambda w: 0.5 * w @ A @ w - jnp.ones(5) @ w, jnp.zeros(5), steps=2)
    np.testing.assert_allclose(np.asarray(quad.iterates[1]), np.linalg.solve(A, np.ones(5)),
                               rtol=1e-10)  # fmt: skip


def test_cg_limit_truncates_without_recompiling():
    import widget_views

    loss = _logistic_problem()
    run = jax.jit(lambda lim: hf.hessian_free(loss, jnp.zeros(5), steps=6, cg_iters=5,
                                              cg_limit=lim))  # fmt: skip
    full = run(5)
    n = widget_views.compiles()
    one = run(1)
    assert widget_views.compiles() == n
    plain = hf.hessian_free(loss, jnp.zeros(5), steps=6, cg_iters=1)
    np.testing.assert_allclose(np.asarray(one.iterates), np.asarray(plain.iterates), atol=1e-12)
    assert float(full.grad_norm[-1]) < float(one.grad_norm[-1])


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: hf.finite_difference_hvp(_loss, W, V[:3]), ValueError, "v"),
        (lambda: hf.finite_difference_hvp(_loss, W, V, delta=0.0), ValueError, "delta"),
        (lambda: hf.gauss_newton_vector_product(_residuals, W[:3], "v"), TypeError, "v"),
        (lambda: hf.truncated_cg(lambda v: v, jnp.ones(3), iters=0), ValueError, "iters"),
        (lambda: hf.hessian_free(_loss, W, steps=2, cg_iters=2, damping=-1.0), ValueError,
         "damping"),
        (lambda: hf.hessian_free(_loss, W[None], steps=2, cg_iters=2), ValueError, "w0"),
    ],
)  # fmt: skip
def test_bad_input_is_rejected_clearly(call, error, match):
    with pytest.raises(error, match=match):
        call()
