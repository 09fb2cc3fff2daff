"""course_lib.mcts: Eq 9.27, pi from visit counts, and the tree search itself (Aggarwal §9.6,
§9.7.1.1)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import mcts as M
from course_lib import tictactoe as T

KEY = jax.random.key(0)


def test_puct_scores_match_eq_9_27_written_out():
    q = np.array([0.5, -0.2, 0.0, 0.1])
    n = np.array([4.0, 2.0, 0.0, 3.0])
    p = np.array([0.1, 0.2, 0.3, 0.4])
    expected = [q[a] + 1.5 * p[a] * math.sqrt(n.sum()) / (n[a] + 1) for a in range(4)]
    np.testing.assert_allclose(M.puct_scores(q, n, p, 1.5), expected, rtol=1e-6)
    np.testing.assert_allclose(M.puct_scores(q, np.zeros(4), p, 2.0), q)  # no visits: no bonus


def test_the_tree_selects_by_the_same_formula():
    node = M._Node((0,) * 9, T.ONGOING)
    rng = np.random.default_rng(0)
    node.N = rng.integers(0, 9, 9).tolist()
    node.W = (rng.uniform(-1, 1, 9) * np.array(node.N)).tolist()
    q = np.array([w / n if n else 0.0 for w, n in zip(node.W, node.N, strict=True)])
    u = np.asarray(M.puct_scores(q, np.array(node.N), np.full(9, 1 / 9), 1.3))
    assert node.select(1.3) == int(np.argmax(u))


def test_puct_scores_do_not_recompile_for_a_new_k():
    M.puct_scores(jnp.zeros(9), jnp.ones(9), jnp.full(9, 1 / 9), 1.0)
    before = M.puct_scores._cache_size()
    M.puct_scores(jnp.zeros(9), jnp.ones(9), jnp.full(9, 1 / 9), 2.5)
    assert M.puct_scores._cache_size() == before


def test_visit_policy_temperature():
    counts = jnp.array([10.0, 30.0, 60.0, 0.0])
    np.testing.assert_allclose(M.visit_policy(counts, 1.0), [0.1, 0.3, 0.6, 0.0], rtol=1e-6)
    sq = np.array([100.0, 900.0, 3600.0, 0.0])
    np.testing.assert_allclose(M.visit_policy(counts, 0.5), sq / sq.sum(), rtol=1e-5)
    np.testing.assert_allclose(M.visit_policy(counts, 0.0), [0, 0, 1, 0])
    np.testing.assert_allclose(M.visit_policy(counts, 1e-3), [0, 0, 1, 0], atol=1e-6)
    np.testing.assert_allclose(M.visit_policy(jnp.array([5.0, 5.0, 1.0]), 0.0), [0.5, 0.5, 0])
    for tau in (0.05, 0.3, 1.0, 4.0):
        assert float(M.visit_policy(counts, tau).sum()) == pytest.approx(1.0, abs=1e-6)
    before = M._visit_policy._cache_size()
    M.visit_policy(counts, 0.7)
    assert M._visit_policy._cache_size() == before
    with pytest.raises(ValueError, match="counts"):
        M.visit_policy(jnp.zeros(3), 1.0)
    with pytest.raises(ValueError, match="tau"):
        M.visit_policy(counts, -1.0)


def test_visit_counts_sum_to_the_simulations_and_search_is_deterministic():
    board = np.zeros(9, int)
    for n in (1, 25, 200):
        s = M.search(board, key=KEY, n_sims=n)
        assert s.counts.sum() == n and s.counts.shape == (9,)
        assert 1 < s.tree_size <= n + 1  # each simulation adds at most one node
    a, b = M.search(board, key=KEY, n_sims=100), M.search(board, key=KEY, n_sims=100)
    np.testing.assert_array_equal(a.counts, b.counts)
    c = M.search(board, key=jax.random.key(1), n_sims=100)
    assert not np.array_equal(a.counts, c.counts)


def test_a_forced_win_in_one_is_found_with_100_simulations():
    tree = T.game_tree()
    rng = np.random.default_rng(0)
    # positions where the only winning moves win at once
    nt = np.flatnonzero(tree.outcome == T.ONGOING)
    wins_now = tree.legal & (tree.outcome[np.maximum(tree.next_index, 0)] == tree.to_move[:, None])
    only = nt[[wins_now[i].any() and (wins_now[i] == tree.optimal[i]).all() for i in nt]]
    for j, i in enumerate(rng.choice(only, 40, replace=False)):
        s = M.search(tree.boards[i], key=jax.random.fold_in(KEY, j), n_sims=100)
        assert wins_now[i, s.move], T.render(tree.boards[i])


def test_q_values_are_from_the_movers_point_of_view():
    # O to move and O wins at square 5: Q there is +1 for O
    board = np.array([1, 1, 0, -1, -1, 0, 1, 0, 0])
    s = M.search(board, key=KEY, n_sims=60)
    assert s.move == 5 and s.q[5] == 1.0


def test_mcts_beats_random_and_agrees_with_minimax_more_with_more_simulations():
    r = M.play(key=KEY, opponent="random", n_games=8, n_sims=100)
    assert (r == 1).mean() >= 0.5 and r.shape == (8,)
    r = M.play(key=KEY, opponent="minimax", n_games=4, n_sims=100)
    assert (r <= 0).all()
    tree = T.game_tree()
    hard = np.flatnonzero((tree.outcome == T.ONGOING) & (tree.optimal.sum(1) < tree.legal.sum(1))
                          & (tree.legal.sum(1) >= 5))  # fmt: skip
    boards = tree.boards[np.random.default_rng(1).choice(hard, 40, replace=False)]
    low = M.agreement(boards, key=KEY, n_sims=10).mean()
    high = M.agreement(boards, key=KEY, n_sims=300).mean()
    assert high > low + 0.1 and high >= 0.9


@pytest.mark.parametrize(
    ("board", "kwargs", "error", "match"),
    [
        (np.zeros(9, int), {"n_sims": 0}, ValueError, "n_sims"),
        (np.zeros(9, int), {"n_sims": 10, "k": -1.0}, ValueError, "`k`"),
        (np.array([1, 1, 1, -1, -1, 0, 0, 0, 0]), {"n_sims": 10}, ValueError, "finished"),
        (np.array([1, 1, 0, 0, 0, 0, 0, 0, 0]), {"n_sims": 10}, ValueError, "cannot occur|not a"),
        (np.zeros(8, int), {"n_sims": 10}, ValueError, "shape"),
    ],
)
def test_bad_search_arguments(board, kwargs, error, match):
    with pytest.raises(error, match=match):
        M.search(board, key=KEY, **kwargs)


def test_search_needs_a_key():
    with pytest.raises(TypeError, match="key"):
        M.search(np.zeros(9, int), key=None, n_sims=5)
