"""course_lib.minimax: game values against loops, and gradient descent–ascent on sin(x + y)
(Ex 10.5, 10.6). Runs in float64 (tests/conftest.py enables x64)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import minimax


def _loops(F):
    m, n = F.shape
    mm = min(max(F[i, j] for j in range(n)) for i in range(m))
    xm = max(min(F[i, j] for i in range(m)) for j in range(n))
    return mm, xm


def test_game_values_match_loops_and_order():
    rng = np.random.default_rng(0)
    for _ in range(50):
        F = rng.normal(size=(rng.integers(1, 6), rng.integers(1, 6)))
        mm, xm = _loops(F)
        assert float(minimax.min_max(F)) == mm and float(minimax.max_min(F)) == xm
        assert xm <= mm


def test_equality_exactly_at_saddle_points():
    rng = np.random.default_rng(1)
    for _ in range(200):
        F = rng.integers(-3, 4, size=(3, 4)).astype(float)
        saddles = np.asarray(minimax.saddle_points(F))
        equal = float(minimax.min_max(F)) == float(minimax.max_min(F))
        assert equal == (len(saddles) > 0)
        for i, j in saddles:  # a saddle is its row's max and its column's min
            assert F[i, j] == F[i].max() == F[:, j].min() == float(minimax.min_max(F))


def test_convex_concave_grid_has_equal_values_and_sine_a_gap_of_two():
    g = jnp.linspace(-2.0, 2.0, 41)
    F = minimax.grid_payoff(lambda x, y: (x - 0.5) ** 2 - (y + 0.5) ** 2, g, g)
    assert float(minimax.min_max(F)) == float(minimax.max_min(F))
    assert abs(float(minimax.min_max(F))) < 1e-12
    S = minimax.grid_payoff(minimax.sin_sum, 2 * g, 2 * g)
    assert float(minimax.min_max(S)) > 0.99 and float(minimax.max_min(S)) < -0.99


def _gda_loop(x, y, eta, steps, alternating):
    out = [(x, y)]
    for _ in range(steps):
        xn = x - eta * math.cos(x + y)
        y = y + eta * math.cos((xn if alternating else x) + y)
        x = xn
        out.append((x, y))
    return np.array(out)


@pytest.mark.parametrize("alternating", [False, True])
def test_gda_matches_a_python_loop(alternating):
    got = minimax.gda(0.3, -1.2, eta=0.15, steps=40, alternating=alternating)
    assert got.shape == (41, 2) and got.dtype == jnp.float64
    np.testing.assert_allclose(np.asarray(got), _gda_loop(0.3, -1.2, 0.15, 40, alternating),
                               rtol=0, atol=1e-12)  # fmt: skip


def test_gda_gradients_are_those_of_sin_sum():
    # the update uses cos(x + y) for both partials: check against jax.grad of f
    gx, gy = jax.grad(minimax.sin_sum, argnums=(0, 1))(0.7, -0.2)
    assert float(gx) == float(gy) == pytest.approx(math.cos(0.5), abs=1e-15)
    path = minimax.gda(0.7, -0.2, eta=0.1, steps=1, alternating=False)
    np.testing.assert_allclose(np.asarray(path[1]), [0.7 - 0.1 * float(gx), -0.2 + 0.1 * float(gy)],
                               atol=1e-15)  # fmt: skip


def test_simultaneous_keeps_the_sum_to_rounding():
    starts = jnp.linspace(-3, 3, 7)
    path = minimax.gda(starts, -0.5 * starts + 0.3, eta=0.1, steps=3000, alternating=False)
    assert float(jnp.max(jnp.abs(path.sum(-1) - path[0].sum(-1)[None]))) < 1e-12


def test_alternating_drift_is_the_exact_formula_and_order_eta_squared():
    etas = np.array([0.005, 0.01, 0.02, 0.05, 0.1])
    for u in (0.3, math.pi / 4, 2.0, 4.0):
        p = minimax.gda(jnp.zeros(5), jnp.full(5, u), eta=jnp.asarray(etas), steps=1,
                        alternating=True)  # fmt: skip
        drift = np.asarray(p[1].sum(-1) - u)
        np.testing.assert_allclose(drift, np.asarray(minimax.alternating_drift(u, etas)),
                                   rtol=1e-9, atol=1e-16)  # fmt: skip
        approx = np.asarray(minimax.drift_approximation(u, etas))
        assert np.all(np.abs(drift - approx) < etas**3)  # the next term is O(eta^3)
        slope = np.polyfit(np.log(etas), np.log(np.abs(drift)), 1)[0]
        assert abs(slope - 2) < 0.1


def test_alternating_settles_at_sign_of_sin_start():
    rng = np.random.default_rng(2)
    x0, y0 = rng.uniform(-3, 3, 20), rng.uniform(-3, 3, 20)
    keep = np.abs(np.sin(x0 + y0)) > 0.2  # away from the unstable lines
    p = minimax.gda(jnp.asarray(x0), jnp.asarray(y0), eta=0.2, steps=2000, alternating=True)
    f = np.sin(np.asarray(p[-1].sum(-1)))
    np.testing.assert_allclose(f[keep], np.sign(np.sin(x0 + y0))[keep], atol=1e-6)


def test_gda_does_not_recompile_for_new_start_or_step_size():
    minimax.gda(0.1, 0.2, eta=0.1, steps=17, alternating=True)
    before = minimax.gda_cache_size()
    minimax.gda(-1.0, 2.0, eta=0.3, steps=17, alternating=False)
    assert minimax.gda_cache_size() == before


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda: minimax.min_max([1.0, 2.0]), ValueError, "2-dimensional"),
        (lambda: minimax.max_min([["a"]]), TypeError, "payoff"),
        (lambda: minimax.min_max(np.zeros((0, 3))), ValueError, "payoff"),
        (lambda: minimax.min_max([[1.0, np.nan]]), ValueError, "payoff"),
        (lambda: minimax.gda(0.0, 0.0, eta=-0.1, steps=3, alternating=True), ValueError, "eta"),
        (lambda: minimax.gda(0.0, 0.0, eta=0.1, steps=0, alternating=True), ValueError, "steps"),
        (lambda: minimax.gda(0.0, 0.0, eta=0.1, steps=3, alternating=1), TypeError, "alternating"),
    ],
)
def test_bad_input_is_rejected_clearly(call, error, words):
    with pytest.raises(error, match=words):
        call()
