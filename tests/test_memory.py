"""course_lib.memory: the sorting game (checked exhaustively) and NTM addressing.

Oracles: a breadth-first search over all 24 lists for the fewest swaps, ``jax.grad`` and
finite differences (float64) for the hand-derived gradient of the content read, NumPy loops for
the read, the write and the circular shift.
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import memory

PERMS = [tuple(p) for p in itertools.permutations(range(4))]


def test_six_swaps_each_an_involution_and_sorted_is_detected():
    assert memory.SWAPS == ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))
    for p in PERMS:
        x = jnp.array(p)
        for a in range(6):
            y = memory.swap(x, a)
            np.testing.assert_array_equal(memory.swap(y, a), x)
            i, j = memory.SWAPS[a]
            assert int(y[i]) == p[j] and int(y[j]) == p[i]
        assert bool(memory.is_sorted(x)) == (list(p) == sorted(p))


def test_min_swaps_is_the_breadth_first_distance_and_at_most_three():
    dist = {tuple(range(4)): 0}
    frontier = [tuple(range(4))]
    while frontier:
        nxt = []
        for x in frontier:
            for i, j in memory.SWAPS:
                y = list(x)
                y[i], y[j] = y[j], y[i]
                if tuple(y) not in dist:
                    dist[tuple(y)] = dist[x] + 1
                    nxt.append(tuple(y))
        frontier = nxt
    assert len(dist) == 24 and max(dist.values()) == 3
    assert all(memory.min_swaps(p) == dist[p] for p in PERMS)
    assert memory.all_permutations(4).shape == (24, 4)


@pytest.fixture(scope="module")
def policy():
    return memory.train_sorting_policy(key=jax.random.key(0), T=3, updates=150)


def test_sorting_policy_learns_and_is_deterministic(policy):
    assert float(memory.greedy_success(jnp.zeros((16, 6)))) < 0.5
    assert float(memory.sampled_success(jnp.zeros((16, 6)), key=jax.random.key(1))) < 0.3
    assert float(memory.greedy_success(policy.W)) >= 23 / 24
    assert float(memory.sampled_success(policy.W, key=jax.random.key(1))) > 0.85
    again = memory.train_sorting_policy(key=jax.random.key(0), T=3, updates=150)
    np.testing.assert_array_equal(policy.W, again.W)
    assert policy.success.shape == policy.mean_reward.shape == (150,)


def _read_loop(M, v, beta):
    cos = [M[i] @ v / (np.linalg.norm(M[i]) * np.linalg.norm(v)) for i in range(M.shape[0])]
    e = np.exp(beta * np.array(cos))
    w = e / e.sum()
    return w, sum(w[i] * M[i] for i in range(M.shape[0]))


M = np.random.default_rng(0).normal(size=(6, 4))
V = np.random.default_rng(1).normal(size=(4,))


def test_content_read_equals_a_loop_and_its_limits():
    w, r = memory.content_read(M, V, 3.0)
    w_ref, r_ref = _read_loop(M, V, 3.0)
    np.testing.assert_allclose(w, w_ref, rtol=1e-12)
    np.testing.assert_allclose(r, r_ref, rtol=1e-12)
    w0, r0 = memory.content_read(M, V, 0.0)
    np.testing.assert_allclose(w0, 1 / 6)
    np.testing.assert_allclose(r0, M.mean(axis=0))
    _, r_big = memory.content_read(M, M[4], 1e4)
    np.testing.assert_allclose(r_big, M[4], atol=1e-8)
    zero_row = np.vstack([M, np.zeros(4)])
    assert np.all(np.isfinite(memory.content_weights(zero_row, V, 2.0)))


@pytest.mark.parametrize("beta", [0.5, 4.0])
def test_hand_derived_read_gradient_against_grad_and_differences(beta, fd_gradient):
    g = np.random.default_rng(2).normal(size=(4,))
    dv, dbeta = memory.content_read_vjp(M, V, beta, g)
    auto_v, auto_b = jax.grad(lambda v, b: memory.content_read(M, v, b)[1] @ g, (0, 1))(V, beta)
    np.testing.assert_allclose(dv, auto_v, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dbeta, auto_b, rtol=1e-10, atol=1e-12)
    numeric = fd_gradient(lambda v: float(_read_loop(M, v, beta)[1] @ g), V)
    np.testing.assert_allclose(dv, numeric, rtol=1e-6, atol=1e-8)


def test_write_and_addressing_stages():
    onehot = np.eye(6)[2]
    erased = memory.erase_add(M, onehot, np.ones(4), np.zeros(4))
    np.testing.assert_allclose(erased[2], 0.0)
    np.testing.assert_allclose(np.delete(np.asarray(erased), 2, 0), np.delete(M, 2, 0))
    a = np.arange(4.0)
    np.testing.assert_allclose(memory.erase_add(M, onehot, np.ones(4), a)[2], a)
    w = np.array([0.05, 0.15, 0.5, 0.2, 0.1, 0.0])
    read = w @ np.asarray(memory.erase_add(M, w, 0.5 * np.ones(4), a))
    loop = sum(w[i] * (M[i] * (1 - 0.5 * w[i]) + w[i] * a) for i in range(6))
    np.testing.assert_allclose(read, loop, rtol=1e-12)
    prev = np.full(6, 1 / 6)
    np.testing.assert_allclose(memory.interpolate(w, prev, 1.0), w)
    np.testing.assert_allclose(memory.interpolate(w, prev, 0.0), prev)
    np.testing.assert_allclose(memory.shift(w, [0, 1, 0]), w)
    np.testing.assert_allclose(memory.shift(w, [0, 0, 1]), np.roll(w, 1))
    s = np.array([0.2, 0.5, 0.3])  # the book's example: s[-1], s[0], s[+1]
    loop = [sum(w[j] * {-1: s[0], 0: s[1], 1: s[2]}.get(((i - j + 1) % 6) - 1, 0.0)
                for j in range(6)) for i in range(6)]  # fmt: skip
    np.testing.assert_allclose(memory.shift(w, s), loop, rtol=1e-12)
    ws = memory.shift(w, s)
    assert abs(float(ws.sum()) - 1) < 1e-12
    np.testing.assert_allclose(memory.sharpen(ws, 1.0), ws, rtol=1e-12)
    sharp = np.asarray(memory.sharpen(ws, 50.0))
    assert sharp.max() > 0.99 and np.argmax(sharp) == np.argmax(ws)
    assert list(np.argsort(memory.sharpen(ws, 3.0))) == list(np.argsort(ws))


def test_bad_input_is_refused_clearly():
    with pytest.raises(ValueError, match="`action` must be in 0..5"):
        memory.swap(jnp.arange(4), 6)
    with pytest.raises(ValueError, match="list of 4 numbers"):
        memory.swap(jnp.arange(5), 0)
    with pytest.raises(ValueError, match="permutation of 0..3"):
        memory.min_swaps([0, 0, 1, 2])
    with pytest.raises(ValueError, match="one entry per memory column"):
        memory.content_read(M, np.ones(3), 1.0)
    with pytest.raises(ValueError, match="`beta` must be non-negative"):
        memory.content_read(M, V, -1.0)
    with pytest.raises(ValueError, match="`W` must have shape \\(16, 6\\)"):
        memory.greedy_success(np.zeros((4, 6)))
    with pytest.raises(ValueError, match="`g` must lie in"):
        memory.interpolate(np.ones(3) / 3, np.ones(3) / 3, 1.5)
    with pytest.raises(ValueError, match="`s` must be"):
        memory.shift(np.ones(4) / 4, np.ones(4))
    with pytest.raises(TypeError, match="`key` is required"):
        memory.train_sorting_policy(key=None)
