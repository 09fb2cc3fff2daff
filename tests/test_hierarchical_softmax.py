"""course_lib.hierarchical_softmax: the tree's shape, leaf probabilities summing to 1 (float64),
k = 2 equal to the flat softmax, log-probabilities against a NumPy walk down the tree, the
hand-derived gradient against jax.grad and finite differences, exact cost counts, bad input."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import hierarchical_softmax as hs
from course_lib import losses

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("k", [2, 3, 5, 8, 13, 64, 100])
def test_tree_paths_are_balanced_and_distinct(k):
    t = hs.build_tree(k)
    lengths = hs.path_lengths(k)
    assert lengths.max() == math.ceil(math.log2(k))
    assert lengths.min() == math.floor(math.log2(k))
    assert lengths.sum() == hs.total_path_length(k)
    codes = {tuple(t.signs[c, : lengths[c]]) for c in range(k)}
    assert len(codes) == k, "every class has its own left/right code"
    assert set(np.unique(t.nodes[t.signs != 0])) == set(range(k - 1)), "all nodes used"


def _numpy_walk(V, h, k):
    """Probability of each leaf by recursion over the ranges, numbering nodes in preorder."""
    out = np.zeros(k)
    counter = [0]

    def walk(lo, hi, p):
        if hi - lo == 1:
            out[lo] = p
            return
        j = counter[0]
        counter[0] += 1
        left = 1 / (1 + np.exp(-V[j] @ h))
        mid = lo + (hi - lo) // 2
        walk(lo, mid, p * left)
        walk(mid, hi, p * (1 - left))

    walk(0, k, 1.0)
    return out


@pytest.mark.parametrize("k", [2, 5, 16, 37])
def test_probabilities_sum_to_one_and_match_a_numpy_walk(k):
    with jax.enable_x64(True):
        t = hs.build_tree(k)
        V, h = RNG.normal(size=(k - 1, 4)), RNG.normal(size=(3, 4))
        p = np.exp(np.asarray(hs.log_probs(V, h, t)))
        np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-14)
        for i in range(3):
            np.testing.assert_allclose(p[i], _numpy_walk(V, h[i], k), rtol=1e-12)
        labels = jnp.asarray(RNG.integers(0, k, 3))
        np.testing.assert_allclose(
            hs.loss(V, h, labels, t), -np.log(p[np.arange(3), labels]).sum(), rtol=1e-12
        )


def test_k2_is_the_flat_softmax():
    with jax.enable_x64(True):
        W, h = RNG.normal(size=(2, 3)), RNG.normal(size=(5, 3))
        flat = losses.softmax(jnp.asarray(h @ W.T))
        tree = np.exp(hs.log_probs((W[0] - W[1])[None], h, hs.build_tree(2)))
        np.testing.assert_allclose(tree, flat, rtol=1e-13)


@pytest.mark.parametrize("k", [2, 7, 16])
def test_gradient_against_jax_grad_and_finite_differences(k):
    with jax.enable_x64(True):
        t = hs.build_tree(k)
        V, h = jnp.asarray(RNG.normal(size=(k - 1, 3))), jnp.asarray(RNG.normal(size=(6, 3)))
        labels = jnp.asarray(RNG.integers(0, k, 6))
        g = hs.loss_grad(V, h, labels, t)
        np.testing.assert_allclose(g, jax.grad(hs.loss)(V, h, labels, t), rtol=1e-12, atol=1e-14)
        eps = 1e-6
        for j, d in [(0, 0), (k - 2, 2)]:
            e = jnp.zeros_like(V).at[j, d].set(eps)
            fd = (hs.loss(V + e, h, labels, t) - hs.loss(V - e, h, labels, t)) / (2 * eps)
            np.testing.assert_allclose(g[j, d], fd, rtol=1e-6, atol=1e-9)


def test_cost_counts_are_exact():
    for k in (2, 3, 8, 1000, 2**16):
        c = hs.cost(k)
        assert (c.flat_dots, c.flat_exps, c.tree_max) == (k, k, math.ceil(math.log2(k)))
        if k & (k - 1) == 0:
            assert c.tree_mean == math.log2(k), "a power of two: every path has log2 k nodes"
    assert hs.total_path_length(2**16) == 16 * 2**16


def test_bad_input_is_rejected():
    t = hs.build_tree(4)
    with pytest.raises(ValueError, match="`k` must be at least 2"):
        hs.build_tree(1)
    with pytest.raises(ValueError, match="expected 3 rows for k = 4"):
        hs.log_probs(np.zeros((4, 2)), np.zeros((1, 2)), t)
    with pytest.raises(ValueError, match="`h` must have 2 columns"):
        hs.log_probs(np.zeros((3, 2)), np.zeros((1, 3)), t)
    with pytest.raises(ValueError, match="`labels` must lie in"):
        hs.loss(np.zeros((3, 2)), np.zeros((1, 2)), np.array([4]), t)
    with pytest.raises(TypeError, match="`tree` must be a Tree"):
        hs.log_probs(np.zeros((3, 2)), np.zeros((1, 2)), (1, 2))
