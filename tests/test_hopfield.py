"""course_lib.hopfield: energy, gaps, updates, Hebbian storage, recall, capacity (Aggarwal §6.2)."""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import hopfield as H

KEY = jax.random.key(0)


def _random_network(rng, d, scale=1.0):
    A = rng.normal(size=(d, d)) * scale
    W = np.triu(A, 1)
    W = W + W.T
    return H.Hopfield(jnp.asarray(W), jnp.asarray(rng.normal(size=d) * scale))


def _energy_loops(W, b, s):
    """Eq 6.1 written as the book's double sum over i < j (an independent oracle)."""
    d = len(s)
    e = -sum(b[i] * s[i] for i in range(d))
    for i in range(d):
        for j in range(i + 1, d):
            e -= W[i, j] * s[i] * s[j]
    return e


# ------------------------------------------------------------------------------ energy and gap


def test_energy_equals_the_double_sum_over_pairs():
    rng = np.random.default_rng(0)
    p = _random_network(rng, 7)
    S = np.asarray(H.all_states(7))
    got = np.asarray(H.energy(p, S))
    want = [_energy_loops(np.asarray(p.W), np.asarray(p.b), s) for s in S]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert got.shape == (128,) and H.energy(p, S[3]).shape == ()


def test_energy_gap_is_the_brute_force_difference_for_every_unit():
    rng = np.random.default_rng(1)
    for d in (3, 6, 9):
        p = _random_network(rng, d)
        S = H.all_states(d)
        E, gap = np.asarray(H.energy(p, S)), np.asarray(H.energy_gap(p, S))
        idx = np.arange(2**d)
        for i in range(d):
            bit = 1 << (d - 1 - i)  # all_states lists unit 0 as the leading bit
            brute = E[idx & ~bit] - E[idx | bit]  # E(s_i = 0) - E(s_i = 1)
            np.testing.assert_allclose(gap[:, i], brute, atol=1e-12)


def test_energy_gap_is_minus_the_gradient_jax_grad_and_finite_differences(fd_gradient):
    """E is linear in each s_i (no self-loops): dE/ds_i = -Delta E_i, at any real s."""
    rng = np.random.default_rng(2)
    p = _random_network(rng, 6)
    s = rng.uniform(size=6)  # a relaxed (real) state: the identity holds everywhere
    gap = np.asarray(H._gap(p, jnp.asarray(s)))
    grad = np.asarray(jax.grad(lambda v: H._energy(p, v))(jnp.asarray(s)))
    fd = fd_gradient(lambda v: H._energy(p, jnp.asarray(v)), s)
    np.testing.assert_allclose(-grad, gap, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(fd, grad, rtol=1e-6, atol=1e-8)


# ------------------------------------------------------------------------------ updates


def test_asynchronous_updates_never_raise_the_energy_in_many_random_networks():
    rng = np.random.default_rng(3)
    steps = 0
    for trial in range(45):
        d = (5, 12, 20)[trial % 3]  # three sizes: three compiles
        p = _random_network(rng, d)
        s0 = jnp.asarray((rng.uniform(size=(4, d)) < 0.5).astype(float))
        res = H.recall(p, s0, sweeps=4, key=jax.random.fold_in(KEY, trial))
        e = np.asarray(res.energies)  # (sweeps * d + 1, 4)
        assert np.all(np.diff(e, axis=0) <= 1e-12)
        steps += (e.shape[0] - 1) * e.shape[1]
    assert steps > 7000


def test_async_sweep_matches_a_python_loop_and_recall_reaches_a_local_minimum():
    rng = np.random.default_rng(4)
    p = _random_network(rng, 8)
    W, b = np.asarray(p.W), np.asarray(p.b)
    s = (rng.uniform(size=8) < 0.5).astype(float)
    order = rng.permutation(8)
    loop = s.copy()
    for i in order:
        loop[i] = 1.0 if W[i] @ loop + b[i] >= 0 else 0.0
    new, energies = H.async_sweep(p, s, order)
    np.testing.assert_array_equal(np.asarray(new), loop)
    assert energies.shape == (8,)
    res = H.recall(p, s, sweeps=20)
    assert bool(res.stable)
    minima = {H.bits(m) for m in H.local_minima(p)}
    assert H.bits(res.state) in minima


def test_synchronous_updates_can_cycle_where_asynchronous_ones_settle():
    p = H.Hopfield(jnp.array([[0.0, 1.0], [1.0, 0.0]]), jnp.array([-0.5, -0.5]))
    path = np.asarray(H.sync_run(p, jnp.array([1.0, 0.0]), steps=4))
    assert [H.bits(s) for s in path] == ["10", "01", "10", "01", "10"]
    res = H.recall(p, jnp.array([1.0, 0.0]), sweeps=3)
    assert bool(res.stable) and H.bits(res.state) == "00"


def test_recall_is_deterministic_under_a_key_and_orders_differ_between_keys():
    rng = np.random.default_rng(5)
    p = _random_network(rng, 12)
    s0 = jnp.asarray((rng.uniform(size=(6, 12)) < 0.5).astype(float))
    a = H.recall(p, s0, sweeps=3, key=KEY)
    b = H.recall(p, s0, sweeps=3, key=KEY)
    np.testing.assert_array_equal(a.state, b.state)
    np.testing.assert_array_equal(a.energies, b.energies)
    assert a.energies.shape == (37, 6) and a.stable.shape == (6,)
    o1, o2 = H._orders(12, 3, KEY), H._orders(12, 3, jax.random.key(1))
    assert not np.array_equal(o1, o2)
    assert sorted(np.asarray(o1[0]).tolist()) == list(range(12))


def test_complete_keeps_clamped_bits_and_never_raises_the_energy():
    rng = np.random.default_rng(6)
    p = _random_network(rng, 10)
    s0 = jnp.asarray((rng.uniform(size=(5, 10)) < 0.5).astype(float))
    observed = rng.uniform(size=(5, 10)) < 0.4
    res = H.complete(p, s0, observed, sweeps=6)
    np.testing.assert_array_equal(np.asarray(res.state)[observed], np.asarray(s0)[observed])
    assert np.all(np.diff(np.asarray(res.energies), axis=0) <= 1e-12)
    # a free unit ends agreeing with Eq 6.3 given the rest
    gap = np.asarray(H.energy_gap(p, res.state))
    st = np.asarray(res.state)
    free_ok = np.where(st > 0.5, gap >= 0, gap < 0)
    assert np.all(free_ok[~observed])


# ------------------------------------------------------------------------------ storage


def test_incremental_01_rule_equals_the_pm1_rule_and_eq_6_5():
    rng = np.random.default_rng(7)
    x = (rng.uniform(size=(9, 11)) < 0.4).astype(float)
    inc = H.hebbian_incremental(x)
    J, c = H.hebbian_pm1(2 * x - 1)
    full = H.hebbian(x, normalize=False)
    np.testing.assert_allclose(inc.W, J, atol=1e-12)
    np.testing.assert_allclose(inc.b, c, atol=1e-12)
    np.testing.assert_allclose(full.W, inc.W, atol=1e-12)
    norm = H.hebbian(x)
    np.testing.assert_allclose(np.asarray(norm.W) * 9, inc.W, atol=1e-12)
    assert np.all(np.diag(np.asarray(inc.W)) == 0)
    # a loop over pairs, the book's sum
    W = np.zeros((11, 11))
    for i, j in itertools.product(range(11), repeat=2):
        if i != j:
            W[i, j] = 4 * sum((x[k, i] - 0.5) * (x[k, j] - 0.5) for k in range(9)) / 9
    np.testing.assert_allclose(norm.W, W, atol=1e-12)


def test_from_pm1_gives_the_same_gaps_and_twice_the_energy():
    rng = np.random.default_rng(8)
    d = 7
    J = np.triu(rng.normal(size=(d, d)), 1)
    J = J + J.T
    c = rng.normal(size=d)
    p = H.from_pm1(J, c)
    S = np.asarray(H.all_states(d))
    sig = 2 * S - 1
    gap_pm1 = sig @ J + c
    np.testing.assert_allclose(H.energy_gap(p, S), gap_pm1, atol=1e-12)
    e_pm1 = -sig @ c - 0.5 * np.einsum("ni,ij,nj->n", sig, J, sig)
    diff = e_pm1 - 2 * np.asarray(H.energy(p, S))
    np.testing.assert_allclose(diff, diff[0], atol=1e-12)
    np.testing.assert_array_equal(H.to_binary(H.to_pm1(S)), S)


def test_the_six_unit_reconstruction_has_the_books_spurious_minima():
    x = jnp.stack([H.from_bits(t) for t in H.SIX_UNIT_PATTERNS])
    p = H.hebbian(x)
    minima = {H.bits(m) for m in H.local_minima(p)}
    assert set(H.SIX_UNIT_PATTERNS) <= minima
    assert {"111000", "000111"} <= minima
    assert minima == set(H.SIX_UNIT_PATTERNS) | {"111000", "000111", "000000", "100000", "000001"}
    W = np.asarray(p.W)
    assert np.all(W[:3, 3:] <= 0) and W[:3, 3:].sum() < 0  # across the groups: negative
    assert np.all(W[:3, :3] >= 0) and np.all(W[3:, 3:] >= 0)  # within: non-negative


def test_local_minima_match_a_brute_force_search_over_single_flips():
    rng = np.random.default_rng(9)
    p = _random_network(rng, 8)
    S = np.asarray(H.all_states(8))
    E = np.asarray(H.energy(p, S))
    brute = set()
    for n, s in enumerate(S):
        flips = [int("".join(str(int(v)) for v in np.where(np.arange(8) == i, 1 - s, s)), 2)
                 for i in range(8)]  # fmt: skip
        if all(E[f] >= E[n] - 1e-12 for f in flips):
            brute.add(H.bits(s))
    assert {H.bits(m) for m in H.local_minima(p)} == brute


def test_stored_random_patterns_and_their_inverses_are_fixed_points_at_low_load():
    xi = jnp.where(jax.random.bernoulli(KEY, 0.5, (4, 120)), 1.0, -1.0)
    J, _ = H.hebbian_pm1(xi)
    p = H.from_pm1(J)
    for pats in (H.to_binary(xi), H.to_binary(-xi)):
        res = H.recall(p, pats, sweeps=2)
        np.testing.assert_array_equal(res.state, pats)


# ------------------------------------------------------------------------------ glyphs, capacity


def test_glyph_recall_cleans_light_noise_and_does_not_recompile():
    G = H.glyphs()
    assert G.shape == (5, 100) and len(H.GLYPH_NAMES) == 5
    J, _ = H.hebbian_pm1(H.to_pm1(G))
    p = H.from_pm1(J)
    r = H.glyph_recall(p, G, index=1, level=0.1, key=KEY)
    assert float(r.overlap_after) == 1.0 and float(r.overlap_before) < 1.0
    assert np.all(np.diff(np.asarray(r.energies)) <= 1e-9)
    n = H.glyph_recall_cache_size()
    for idx, lvl, k in [(0, 0.3, 1), (4, 0.05, 2), (2, 0.45, 3)]:
        H.glyph_recall(p, G, index=idx, level=lvl, key=jax.random.key(k))
    assert H.glyph_recall_cache_size() == n


def test_capacity_has_a_soft_transition_near_the_classical_load():
    c = H.capacity_curve((60, 120), (0.05, 0.1, 0.3), key=KEY, seeds=3, sweeps=3)
    assert c.recalled.shape == (2, 3) and c.n_patterns.tolist() == [[3, 6, 18], [6, 12, 36]]
    assert np.all(c.recalled[:, 0] == 1.0) and np.all(c.recalled[:, 1] > 0.9)
    assert c.recalled[1, 2] < 0.5
    assert H.capacity_cache_size() <= 1  # one compile serves every size
    assert H.crossing([0.1, 0.2, 0.3], [1.0, 0.6, 0.2]) == pytest.approx(0.225)
    assert np.isnan(H.crossing([0.1, 0.2], [1.0, 0.9]))


# ------------------------------------------------------------------------------ bad input


def test_bad_inputs_raise_clear_errors():
    p = H.Hopfield(jnp.zeros((3, 3)), jnp.zeros(3))
    with pytest.raises(TypeError, match="params"):
        H.energy((p.W, p.b), jnp.zeros(3))
    with pytest.raises(ValueError, match="symmetric"):
        H.energy(H.Hopfield(jnp.array([[0.0, 1.0], [2.0, 0.0]]), jnp.zeros(2)), jnp.zeros(2))
    with pytest.raises(ValueError, match="zero diagonal"):
        H.energy(H.Hopfield(jnp.eye(2), jnp.zeros(2)), jnp.zeros(2))
    with pytest.raises(ValueError, match="shape"):
        H.energy(H.Hopfield(jnp.zeros((3, 3)), jnp.zeros(2)), jnp.zeros(2))
    with pytest.raises(ValueError, match="d = 3"):
        H.energy_gap(p, jnp.zeros(4))
    with pytest.raises(ValueError, match="only the states 0 and 1"):
        H.recall(p, jnp.array([1.0, -1.0, 0.0]))
    with pytest.raises(TypeError, match="sweeps"):
        H.recall(p, jnp.zeros(3), sweeps=2.5)
    with pytest.raises(TypeError, match="key"):
        H.recall(p, jnp.zeros(3), key=3)
    with pytest.raises(ValueError, match="-1 and 1"):
        H.hebbian_pm1(jnp.array([[0.0, 1.0]]))
    with pytest.raises(ValueError, match="at least one pattern"):
        H.hebbian(jnp.zeros((0, 4)))
    with pytest.raises(ValueError, match="observed"):
        H.complete(p, jnp.zeros(3), jnp.zeros(4, bool))
    with pytest.raises(ValueError, match="level"):
        H.corrupt(jnp.zeros(3), key=KEY, level=1.5)
    with pytest.raises(ValueError, match="index"):
        H.glyph_recall(p, jnp.zeros((2, 3)), index=5, level=0.1, key=KEY)
    with pytest.raises(ValueError, match="sizes"):
        H.capacity_curve((500,), (0.1,), key=KEY)
    with pytest.raises(ValueError, match="loads"):
        H.capacity_curve((50,), (0.0,), key=KEY)
    with pytest.raises(ValueError, match="at most 16"):
        H.all_states(17)
    with pytest.raises(ValueError, match="0s and 1s"):
        H.from_bits("1021")
