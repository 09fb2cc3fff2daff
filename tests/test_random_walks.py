"""course_lib.random_walks: P and node2vec's weights and second-order law against NumPy loops;
walks that only use edges, follow their law (chi-square, several seeds) and are deterministic,
with p and q traced (no recompile); the counts against NumPy loops; bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import widget_views

from course_lib import data
from course_lib import random_walks as rw

RNG = np.random.default_rng(0)


def _graph(n=10, p=0.35, seed=0):
    rng = np.random.default_rng(seed)
    upper = np.triu(rng.random((n, n)) < p, k=1).astype(float)
    ring = np.roll(np.eye(n), 1, axis=1)
    return np.minimum(upper + upper.T + ring + ring.T, 1.0)


def _n2v_loop(t, v, A, p, q):
    w = np.zeros(len(A))
    for x in range(len(A)):
        if A[v, x] > 0:
            alpha = 1 / p if x == t else (1.0 if A[t, x] > 0 else 1 / q)
            w[x] = A[v, x] * alpha
    return w


def test_transition_matrix_is_row_normalized():
    A = _graph() * RNG.integers(1, 4, size=(10, 10))
    A = np.triu(A) + np.triu(A, 1).T
    with jax.enable_x64(True):
        P = np.asarray(rw.transition_matrix(A))
    for v in range(10):
        np.testing.assert_allclose(P[v], [A[v, x] / A[v].sum() for x in range(10)], rtol=1e-12)


def test_node2vec_weights_and_second_order_law_against_loops():
    A = _graph()
    with jax.enable_x64(True):
        T = np.asarray(rw.second_order_transitions(A, 0.5, 3.0))
        for t, v in zip(*np.nonzero(A), strict=True):
            w = _n2v_loop(t, v, A, 0.5, 3.0)
            np.testing.assert_allclose(rw.node2vec_weights(t, v, A, 0.5, 3.0), w, rtol=1e-12)
            np.testing.assert_allclose(T[t, v], w / w.sum(), rtol=1e-12)
        assert np.all(T[A == 0] == 0)
        # p = q = 1 forgets the previous node: DeepWalk's P in every state
        T1 = np.asarray(rw.second_order_transitions(A, 1.0, 1.0))
        P = np.asarray(rw.transition_matrix(A))
        for t, v in zip(*np.nonzero(A), strict=True):
            np.testing.assert_allclose(T1[t, v], P[v], rtol=1e-12)


def test_walks_use_edges_are_deterministic_and_do_not_recompile():
    A = jnp.asarray(_graph(), jnp.float32)
    starts = jnp.arange(30, dtype=jnp.int32) % 10
    W = rw.walks(A, starts, key=jax.random.key(1), length=12, p=0.5, q=2.0)
    assert W.shape == (30, 12) and W.dtype == jnp.int32
    np.testing.assert_array_equal(W[:, 0], starts)
    Wn = np.asarray(W)
    assert np.all(np.asarray(A)[Wn[:, :-1], Wn[:, 1:]] > 0), "every hop is an edge"
    np.testing.assert_array_equal(
        W, rw.walks(A, starts, key=jax.random.key(1), length=12, p=0.5, q=2.0)
    )
    n = widget_views.compiles()
    rw.walks(A, starts, key=jax.random.key(2), length=12, p=4.0, q=0.25)
    assert widget_views.compiles() == n, "p and q are traced: no recompile"


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_walks_follow_their_law(seed):
    graph = data.two_communities(key=jax.random.key(seed), n=24, p_in=0.4, p_out=0.05)
    A = graph.A
    starts = jnp.arange(240, dtype=jnp.int32) % 24
    bound = lambda dof: dof + 5 * np.sqrt(2 * dof)  # noqa: E731
    W = rw.walks(A, starts, key=jax.random.key(10 + seed), length=30)
    stat, dof = rw.chi_square(rw.transition_counts(W, 24), rw.transition_matrix(A))
    assert stat < bound(dof)
    W2 = rw.walks(A, starts, key=jax.random.key(20 + seed), length=30, p=0.5, q=2.0)
    N2 = rw.second_order_counts(W2, 24)
    stat, dof = rw.chi_square(N2, rw.second_order_transitions(A, 0.5, 2.0))
    assert stat < bound(dof)
    stat, dof = rw.chi_square(N2, rw.second_order_transitions(A, 2.0, 0.5))
    assert stat > bound(dof), "the test tells p from q"


def test_counts_against_loops():
    W = RNG.integers(0, 6, size=(5, 9))
    C = np.zeros((6, 6))
    N1 = np.zeros((6, 6))
    N2 = np.zeros((6, 6, 6))
    for row in W:
        for a in range(9):
            for b in range(9):
                if a != b and abs(a - b) <= 2:
                    C[row[a], row[b]] += 1
            if a < 8:
                N1[row[a], row[a + 1]] += 1
            if a < 7:
                N2[row[a], row[a + 1], row[a + 2]] += 1
    np.testing.assert_array_equal(rw.walk_cooccurrence(W, 6, 2), C)
    np.testing.assert_array_equal(rw.transition_counts(W, 6), N1)
    np.testing.assert_array_equal(rw.second_order_counts(W, 6), N2)


def test_step_kinds_against_a_loop():
    A = _graph()
    W = np.asarray(rw.walks(A, jnp.arange(10, dtype=jnp.int32), key=jax.random.key(3), length=15))
    kinds = np.zeros(3)
    for row in W:
        for t, x in zip(row[:-2], row[2:], strict=True):
            kinds[0 if t == x else (1 if A[t, x] > 0 else 2)] += 1
    np.testing.assert_allclose(rw.step_kinds(W, A), kinds / kinds.sum(), rtol=1e-6)


def test_chi_square_by_hand():
    counts = np.array([[3.0, 1.0], [0.0, 0.0]])
    probs = np.array([[0.5, 0.5], [0.5, 0.5]])
    stat, dof = rw.chi_square(counts, probs)  # (3-2)^2/2 + (1-2)^2/2; the unvisited row is left out
    assert (stat, dof) == (pytest.approx(1.0), 1)
    assert rw.chi_square([[1.0, 1.0]], [[1.0, 0.0]])[0] == float("inf")


def test_bad_input():
    A = _graph()
    with pytest.raises(ValueError, match="square"):
        rw.transition_matrix(np.ones((3, 4)))
    with pytest.raises(ValueError, match="non-negative"):
        rw.transition_matrix(-A)
    isolated = A.copy()
    isolated[3] = isolated[:, 3] = 0
    with pytest.raises(ValueError, match=r"isolated.*\[3\]"):
        rw.walks(isolated, jnp.arange(3), key=jax.random.key(0), length=5)
    with pytest.raises(ValueError, match="`length` must be at least 2"):
        rw.walks(A, jnp.arange(3), key=jax.random.key(0), length=1)
    with pytest.raises(ValueError, match="p"):
        rw.walks(A, jnp.arange(3), key=jax.random.key(0), length=5, p=0.0)
    with pytest.raises(ValueError, match="`window` must be shorter"):
        rw.walk_cooccurrence(np.zeros((2, 3), int), 4, 3)
    with pytest.raises(ValueError, match="same shape"):
        rw.chi_square(np.ones((2, 2)), np.ones((2, 3)))
