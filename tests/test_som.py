"""course_lib.som: lattices and their distances, the damping (Eq 10.21), the Kohonen step
(Eq 10.22) against a loop, sigma -> 0 as winner-take-all, training with lax.scan (determinism,
no recompiles), and the topographic and quantization errors against NumPy.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import competitive, som


def test_rectangular_coordinates_and_the_texts_sqrt13_example():
    xy = np.asarray(som.lattice_coords(5, 5, "rectangular"))
    assert xy.shape == (25, 2)
    np.testing.assert_array_equal(xy[7], [2, 1])  # neuron r * cols + c = (c, r)
    ld = np.asarray(som.lattice_distances(xy))
    assert ld[0, 17] == pytest.approx(math.sqrt(13), rel=1e-6)  # 2 columns, 3 rows apart
    np.testing.assert_allclose(ld, ld.T)
    np.testing.assert_array_equal(np.diag(ld), 0.0)


@pytest.mark.parametrize(("kind", "inner", "corner"), [("rectangular", 4, 2), ("hexagonal", 6, 2)])
def test_every_interior_node_has_the_right_number_of_neighbours(kind, inner, corner):
    rows, cols = 6, 7
    adj = np.asarray(som.adjacency(som.lattice_distances(som.lattice_coords(rows, cols, kind))))
    counts = adj.sum(1).reshape(rows, cols)
    assert set(counts[1:-1, 1:-1].ravel().tolist()) == {inner}
    assert counts[0, 0] == corner
    assert not adj.diagonal().any()
    # no two distinct neurons closer than 1: the neighbours are the nearest ones
    ld = np.asarray(som.lattice_distances(som.lattice_coords(rows, cols, kind)))
    assert ld[~np.eye(rows * cols, dtype=bool)].min() > 1 - 1e-5
    edges = np.asarray(som.lattice_edges(rows, cols, kind))
    assert len(edges) == adj.sum() // 2 and np.all(edges[:, 0] < edges[:, 1])


def test_damp_is_one_on_the_diagonal_gaussian_elsewhere_and_wta_at_sigma_zero():
    ld = som.lattice_distances(som.lattice_coords(4, 4, "hexagonal"))
    for sigma in (0.0, 1e-3, 0.5, 3.0):
        np.testing.assert_array_equal(np.diag(np.asarray(som.damp(ld, sigma))), 1.0)
    np.testing.assert_allclose(som.damp(ld, 1.5), np.exp(-(np.asarray(ld) ** 2) / 4.5), rtol=1e-6)
    off = ~np.eye(16, dtype=bool)
    assert np.all(np.asarray(som.damp(ld, 0.0))[off] == 0.0)


def _som_loop(W, x, alpha, sigma, coords):
    """Eq 10.22 one neuron at a time, in NumPy."""
    W = np.array(W, np.float64)
    x = np.asarray(x, np.float64)
    p = int(np.argmin([np.linalg.norm(w - x) for w in W]))
    out = W.copy()
    for i in range(len(W)):
        h = math.exp(-float(np.sum((coords[i] - coords[p]) ** 2)) / (2 * sigma**2))
        out[i] = W[i] + alpha * h * (x - W[i])
    return out, p


@pytest.mark.parametrize("kind", som.LATTICES)
def test_the_vectorized_step_equals_a_loop(kind):
    with jax.enable_x64(True):
        coords = som.lattice_coords(3, 4, kind)
        ld = som.lattice_distances(coords)
        W = jax.random.normal(jax.random.key(0), (12, 3))
        x = jnp.array([0.2, -0.4, 0.9])
        new, p = som.som_step(W, x, 0.3, 1.2, ld)
        ref, p_ref = _som_loop(W, x, 0.3, 1.2, np.asarray(coords))
    assert int(p) == p_ref
    np.testing.assert_allclose(new, ref, atol=1e-13)


def test_tiny_sigma_is_winner_take_all():
    ld = som.lattice_distances(som.lattice_coords(4, 4, "rectangular"))
    W = jax.random.normal(jax.random.key(1), (16, 2))
    x = jnp.array([0.5, 0.5])
    for sigma in (1e-3, 0.0):
        new, p = som.som_step(W, x, 0.4, sigma, ld)
        wta, q = competitive.wta_step(W, x, 0.4)
        assert int(p) == int(q)
        np.testing.assert_array_equal(new, wta)


def test_schedule_runs_from_start_to_end():
    t = jnp.arange(100)
    v = np.asarray(som.schedule(0.5, 0.02, t, 100))
    assert v[0] == pytest.approx(0.5) and v[-1] == pytest.approx(0.02)
    assert np.all(np.diff(v) < 0)


def _square_run(kind, seed=0, steps=1500):
    X = jax.random.uniform(jax.random.key(100 + seed), (500, 2))
    ld = som.lattice_distances(som.lattice_coords(6, 6, kind))
    W0 = som.init(jax.random.key(seed), X, 36)
    run = som.train(W0, X, ld, key=jax.random.key(50 + seed), steps=steps, alpha=(0.5, 0.02),
                    sigma=(2.0, 0.3), snapshots=15)  # fmt: skip
    return X, ld, W0, run


@pytest.mark.parametrize("kind", som.LATTICES)
def test_training_unfolds_the_map(kind):
    X, ld, W0, run = _square_run(kind)
    assert run.snapshots.shape == (16, 36, 2)
    np.testing.assert_array_equal(run.snapshots[0], W0)
    np.testing.assert_array_equal(run.snapshots[-1], run.W)
    te, qe = som.snapshot_errors(run.snapshots, X, ld)
    assert te[0] > 0.5 and te[-1] < 0.1
    assert qe[-1] < qe[0]


def test_training_is_deterministic_and_does_not_recompile():
    _, _, _, a = _square_run("hexagonal")
    X, ld, W0, b = _square_run("hexagonal")
    np.testing.assert_array_equal(a.W, b.W)
    before = som.train_cache_size()
    som.train(W0, X, ld, key=jax.random.key(9), steps=1500, alpha=(0.3, 0.01), sigma=(1.0, 0.2),
              snapshots=15)  # fmt: skip
    assert som.train_cache_size() == before


def test_errors_against_numpy():
    X = np.asarray(jax.random.uniform(jax.random.key(3), (200, 2)))
    W = np.asarray(jax.random.uniform(jax.random.key(4), (16, 2)))
    ld = np.asarray(som.lattice_distances(som.lattice_coords(4, 4, "rectangular")))
    d = np.linalg.norm(X[:, None] - W[None], axis=-1)
    order = np.argsort(d, axis=1)
    torn = np.abs(ld[order[:, 0], order[:, 1]] - 1) > 1e-5
    assert float(som.topographic_error(W, X, ld)) == pytest.approx(torn.mean())
    assert float(competitive.quantization_error(W, X)) == pytest.approx(d.min(1).mean(), rel=1e-5)
    b1, b2 = som.best_two(W, X)
    np.testing.assert_array_equal(b1, order[:, 0])
    np.testing.assert_array_equal(b2, order[:, 1])


def test_a_map_laid_out_on_its_own_lattice_never_tears():
    coords = som.lattice_coords(5, 5, "hexagonal")
    ld = som.lattice_distances(coords)
    X = np.asarray(coords) + 0.05 * np.asarray(jax.random.normal(jax.random.key(5), (25, 2)))
    assert float(som.topographic_error(coords, X, ld)) == 0.0


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: som.lattice_coords(0, 3), ValueError, "`rows` must be a positive integer"),
        (lambda: som.lattice_coords(3, 3, "triangle"), ValueError, "unknown lattice kind"),
        (
            lambda: som.som_step(np.zeros((4, 2)), np.zeros(2), 0.1, 1.0, np.zeros((3, 3))),
            ValueError,
            "`ldist` must be the \\(4, 4\\)",
        ),  # fmt: skip
        (
            lambda: som.som_step(np.zeros((4, 2)), np.zeros(2), 0.1, -1.0, np.zeros((4, 4))),
            ValueError,
            "`sigma` must be non-negative",
        ),  # fmt: skip
        (
            lambda: som.train(
                np.zeros((4, 2)),
                np.zeros((9, 2)),
                np.zeros((4, 4)),
                key=jax.random.key(0),
                steps=100,
                snapshots=7,
            ),
            ValueError,
            "multiple of `snapshots`",
        ),  # fmt: skip
        (
            lambda: som.train(
                np.zeros((4, 2)),
                np.zeros((9, 2)),
                np.zeros((4, 4)),
                key=jax.random.key(0),
                alpha=0.5,
            ),
            TypeError,
            "pair",
        ),  # fmt: skip
        (lambda: som.init(jax.random.key(0), np.zeros((3, 2)), 5), ValueError, "at least m"),
        (
            lambda: som.topographic_error(np.zeros((1, 2)), np.zeros((3, 2)), np.zeros((1, 1))),
            ValueError,
            "at least 2 neurons",
        ),  # fmt: skip
    ],
)
def test_bad_input_is_named(call, error, match):
    with pytest.raises(error, match=match):
        call()
