"""course_lib.coordinate_descent: exact coordinate minimization on a quadratic (Goodfellow
§8.7.2) against NumPy loops, the Gauss-Seidel matrix form and the 2x2 contraction rate."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import coordinate_descent as cd


def _spd(seed, d, cond=20.0):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    return (Q * np.geomspace(1.0, cond, d)) @ Q.T


def test_a_sweep_is_gauss_seidel():
    A = _spd(0, 5)
    b, w = np.random.default_rng(1).normal(size=(2, 5))
    got = np.asarray(cd.coordinate_sweep(A, b, w))
    # (D + L) w_new = b - U w: the matrix form of a forward sweep
    lower, upper = np.tril(A), np.triu(A, 1)
    np.testing.assert_allclose(got, np.linalg.solve(lower, b - upper @ w), rtol=1e-12)
    loop = w.copy()
    for i in range(5):  # each coordinate exactly minimized: dL/dw_i = 0 afterwards
        loop[i] = (b[i] - A[i] @ loop + A[i, i] * loop[i]) / A[i, i]
        assert abs((A @ loop - b)[i]) < 1e-12
    np.testing.assert_allclose(got, loop, rtol=1e-12)


def test_uncoupled_coordinates_converge_in_one_sweep_exactly():
    A = jnp.diag(jnp.array([2.0, 5.0, 0.5]))
    b = jnp.array([2.0, -10.0, 1.5])
    path = cd.coordinate_descent(A, b, jnp.array([7.0, -3.0, 4.0]), sweeps=3)
    np.testing.assert_array_equal(np.asarray(path.sweeps[1]), np.asarray(b / jnp.diagonal(A)))
    np.testing.assert_array_equal(np.asarray(path.sweeps[3]), np.asarray(path.sweeps[1]))
    assert path.points.shape == (10, 3) and path.sweeps.shape == (4, 3) and path.loss.shape == (4,)


def test_coupled_coordinates_contract_by_rho_squared_per_sweep():
    c = 0.95
    A = jnp.array([[1.0, c], [c, 1.0]])
    b = jnp.array([1.0, -1.0])
    w_star = np.linalg.solve(A, b)
    path = cd.coordinate_descent(A, b, jnp.zeros(2), sweeps=40)
    err = np.abs(np.asarray(path.sweeps) - w_star).max(axis=1)
    np.testing.assert_allclose(err[2:] / err[1:-1], c**2, rtol=1e-6)  # A12^2 / (A11 A22)
    k = cd.sweeps_to(cd.coordinate_descent(A, b, jnp.zeros(2), sweeps=300), w_star, 1e-6)
    assert k > 100
    assert np.all(np.diff(np.asarray(path.loss)) <= 1e-15)


def test_blocks_of_the_whole_space_are_one_newton_step_and_blocks_of_one_are_coordinates():
    A = _spd(2, 6)
    b = np.arange(6.0)
    w0 = np.ones(6)
    full = cd.block_coordinate_descent(A, b, w0, block=6, sweeps=1)
    np.testing.assert_allclose(np.asarray(full.sweeps[1]), np.linalg.solve(A, b), rtol=1e-10)
    ones = cd.block_coordinate_descent(A, b, w0, block=1, sweeps=4)
    plain = cd.coordinate_descent(A, b, w0, sweeps=4)
    np.testing.assert_allclose(np.asarray(ones.points), np.asarray(plain.points), rtol=1e-12)
    # coupled pairs in the same block: one block sweep, where coordinates need over 100
    pair = np.array([[1.0, 0.95], [0.95, 1.0]])
    P = np.kron(np.eye(3), pair)
    w_star = np.linalg.solve(P, b)
    blocks = cd.block_coordinate_descent(P, b, w0, block=2, sweeps=2)
    np.testing.assert_allclose(np.asarray(blocks.sweeps[1]), w_star, rtol=1e-10)
    assert cd.sweeps_to(cd.coordinate_descent(P, b, w0, sweeps=200), w_star, 1e-6) > 100


def test_jitted_paths_do_not_recompile_for_new_matrices():
    import widget_views

    run = jax.jit(lambda A, b, w: cd.coordinate_descent(A, b, w, sweeps=5).sweeps)
    run(_spd(3, 4), np.ones(4), np.zeros(4))
    n = widget_views.compiles()
    run(_spd(4, 4), np.arange(4.0), np.ones(4))
    assert widget_views.compiles() == n


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: cd.coordinate_sweep(np.eye(3), np.ones(2), np.ones(3)), ValueError, "shapes"),
        (lambda: cd.coordinate_sweep(np.diag([1.0, 0.0]), np.ones(2), np.ones(2)), ValueError,
         "positive diagonal"),
        (lambda: cd.coordinate_sweep(np.eye(2), "b", np.ones(2)), TypeError, "b"),
        (lambda: cd.coordinate_descent(np.eye(2), np.ones(2), np.ones(2), sweeps=0), ValueError,
         "sweeps"),
        (lambda: cd.block_coordinate_descent(np.eye(4), np.ones(4), np.ones(4), block=3,
                                             sweeps=1), ValueError, "divide"),
    ],
)  # fmt: skip
def test_bad_input_is_rejected_clearly(call, error, match):
    with pytest.raises(error, match=match):
        call()
