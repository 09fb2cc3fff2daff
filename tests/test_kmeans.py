"""course_lib.kmeans: Lloyd's algorithm (batch k-means)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import kmeans as K

KEY = jax.random.key(0)


def _blobs(seed=0):
    rng = np.random.default_rng(seed)
    means = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
    return np.concatenate([m + rng.normal(size=(30, 2)) for m in means])


def _lloyd_numpy(X, C):
    D = ((X[:, None, :] - C[None]) ** 2).sum(-1)
    a = D.argmin(1)
    new = C.copy()
    for j in range(C.shape[0]):
        if np.any(a == j):
            new[j] = X[a == j].mean(0)
    return new, a


def test_step_equals_a_numpy_loop_and_keeps_empty_clusters():
    X = _blobs()
    C = np.array([[0.5, 0.5], [3.0, 1.0], [1.0, 3.0], [50.0, 50.0]])  # the last wins nothing
    new, a = K.kmeans_step(X, C)
    want, wa = _lloyd_numpy(X, C)
    np.testing.assert_allclose(new, want, rtol=1e-12)
    np.testing.assert_array_equal(a, wa)
    np.testing.assert_array_equal(new[3], C[3])


def test_objective_never_increases_and_the_end_is_a_fixed_point():
    X = _blobs(1)
    res = K.kmeans(X, 5, key=KEY, iters=30)
    J = np.asarray(res.objective)
    assert J.shape == (31,)
    assert np.all(np.diff(J) <= 1e-9 * J[0])
    assert float(K.objective(X, res.centers)) == pytest.approx(J[-1], rel=1e-12)
    np.testing.assert_array_equal(res.assignments, K.assign(X, res.centers))
    again, _ = K.kmeans_step(X, res.centers)
    np.testing.assert_allclose(again, res.centers, atol=1e-12)


def test_sampling_shapes_distinct_rows_and_determinism():
    X = _blobs()
    S = K.sample_prototypes(X, 7, key=KEY)
    assert S.shape == (7, 2)
    assert len({tuple(r) for r in np.asarray(S).tolist()}) == 7
    assert all(any(np.array_equal(r, x) for x in X) for r in np.asarray(S))
    np.testing.assert_array_equal(S, K.sample_prototypes(X, 7, key=KEY))
    a = K.kmeans(X, 3, key=KEY)
    b = K.kmeans(X, 3, key=KEY)
    np.testing.assert_array_equal(a.centers, b.centers)


def test_masked_run_equals_the_unpadded_run_and_does_not_recompile():
    X = _blobs(2)
    C0 = np.asarray(K.sample_prototypes(X, 6, key=KEY))
    mask = np.arange(6) < 4
    padded = K.kmeans_masked(X, C0, mask, iters=10)
    plain = K._run(jnp.asarray(X), jnp.asarray(C0[:4]), jnp.ones(4, bool), 10)
    np.testing.assert_allclose(padded.centers[:4], plain.centers, rtol=1e-12)
    np.testing.assert_array_equal(padded.centers[4:], C0[4:])
    np.testing.assert_allclose(padded.objective, plain.objective, rtol=1e-12)
    before = K._run._cache_size()
    K.kmeans_masked(X, C0, np.arange(6) < 2, iters=10)
    assert K._run._cache_size() == before


@pytest.mark.parametrize(
    ("call", "exc", "words"),
    [
        (lambda: K.kmeans(np.zeros((3, 2)), 4, key=KEY), ValueError, "m"),
        (lambda: K.kmeans(np.zeros((3, 2)), 2, key=None), TypeError, "key"),
        (lambda: K.kmeans(np.zeros((3, 2)), 0, key=KEY), ValueError, "m"),
        (lambda: K.kmeans_step(np.zeros((3, 2)), np.zeros((2, 3))), ValueError, "centers"),
        (lambda: K.kmeans_step(np.full((3, 2), np.nan), np.zeros((2, 2))), ValueError, "X"),
        (lambda: K.kmeans_masked(np.zeros((3, 2)), np.zeros((2, 2)), [False, False]),
         ValueError, "mask"),
        (lambda: K.objective("X", np.zeros((2, 2))), TypeError, "X"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_clearly(call, exc, words):
    with pytest.raises(exc, match=words):
        call()
