"""course_lib.tictactoe: rules, the enumeration of reachable positions, exact minimax values,
games in JAX, the table method and tabular Q-learning (Aggarwal §9.3.2, Ex 9.5, 9.6)."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import tictactoe as T

KEY = jax.random.key(0)


def _np_outcome(b):
    """An independent oracle: loops over rows, columns and both diagonals."""
    g = np.asarray(b).reshape(3, 3)
    lines = [*g, *g.T, g.diagonal(), np.fliplr(g).diagonal()]
    for line in lines:
        if abs(line.sum()) == 3:
            return int(line[0])
    return 0 if (g != 0).all() else 2


def test_outcome_on_every_line_for_both_players_and_draws():
    for line in T.LINES:
        for p in (1, -1):
            b = np.zeros(9, int)
            b[line] = p
            assert int(T.outcome(b)) == p
    draw = np.array([1, -1, 1, 1, -1, -1, -1, 1, 1])
    assert int(T.outcome(draw)) == 0 and int(T.outcome(np.zeros(9, int))) == T.ONGOING
    assert not np.asarray(T.legal_moves(draw)).any()
    won = np.array([1, 1, 1, -1, -1, 0, 0, 0, 0])
    assert not np.asarray(T.legal_moves(won)).any()  # nobody moves after a win


def test_outcome_matches_the_loop_oracle_on_random_boards():
    boards = np.random.default_rng(0).integers(-1, 2, size=(800, 9))
    sums = boards[:, T.LINES].sum(-1)
    boards = boards[~((sums == 3).any(1) & (sums == -3).any(1))]  # not both players winning
    np.testing.assert_array_equal(T.outcome(boards), [_np_outcome(b) for b in boards])


def _brute_force_reachable():
    """An independent count: every sequence of moves from the empty board, as a set."""
    seen, frontier = {(0,) * 9}, [(0,) * 9]
    while frontier:
        new = []
        for b in frontier:
            if _np_outcome(b) != 2:
                continue
            p = 1 if sum(b) == 0 else -1
            for a in range(9):
                if b[a] == 0:
                    c = b[:a] + (p,) + b[a + 1 :]
                    if c not in seen:
                        seen.add(c)
                        new.append(c)
        frontier = new
    return seen


def test_enumeration_finds_5478_positions_and_the_start_is_a_draw():
    tree = T.game_tree()
    assert len(tree.boards) == 5478 < 3**9
    assert {tuple(b) for b in tree.boards.tolist()} == _brute_force_reachable()
    assert tree.value[0] == 0 and (tree.boards[0] == 0).all()
    nonterminal = tree.outcome == T.ONGOING
    assert nonterminal.sum() == 4520
    counts = [int(((tree.value == v) & nonterminal).sum()) for v in (1, 0, -1)]
    assert counts == [2310, 1052, 1158]  # Ex 9.5: most positions are decided


def _negamax(b):
    """A second minimax, without memo tables: plain recursion, mover's point of view."""
    r = _np_outcome(b)
    if r != 2:
        return r * (1 if sum(b) == 0 else -1)
    p = 1 if sum(b) == 0 else -1
    return max(-_negamax(b[:a] + (p,) + b[a + 1 :]) for a in range(9) if b[a] == 0)


def test_minimax_values_match_plain_negamax_on_sampled_positions():
    tree = T.game_tree()
    idx = np.random.default_rng(1).choice(np.flatnonzero(tree.boards.astype(bool).sum(1) >= 3), 60)
    for i in idx:
        b = tuple(int(v) for v in tree.boards[i])
        assert tree.value[i] == _negamax(b) * tree.to_move[i]
    assert int(T.minimax_value(tree.boards[7])) == tree.value[7]
    opt = np.asarray(T.optimal_moves(tree.boards[:50]))
    np.testing.assert_array_equal(opt, tree.optimal[:50])


def test_a_fork_is_a_forced_win():
    # X in two opposite corners, O in the centre and X to move... here: X can fork at 6
    b = np.array([1, 0, 0, 0, -1, 0, 0, 0, 1])  # X: 0, 8; O: 4; O to move
    assert int(T.player_to_move(b)) == -1
    assert int(T.minimax_value(b)) == 0  # O must take an edge to survive
    opt = np.flatnonzero(np.asarray(T.optimal_moves(b)))
    assert set(opt.tolist()) == {1, 3, 5, 7}


def test_step_is_jittable_vmappable_and_refuses_illegal_moves():
    b = jnp.zeros(9, jnp.int32)
    b1, r = T.step(b, 4)
    assert int(b1[4]) == 1 and int(r) == T.ONGOING
    boards, results = jax.jit(jax.vmap(T.step))(jnp.zeros((9, 9), jnp.int32), jnp.arange(9))
    np.testing.assert_array_equal(boards, np.eye(9, dtype=int))
    with pytest.raises(ValueError, match="not legal"):
        T.step(b1, 4)
    with pytest.raises(ValueError, match="must lie in"):
        T.step(b, 9)


def test_bad_boards_are_refused_clearly():
    with pytest.raises(ValueError, match="shape"):
        T.outcome(np.zeros(8, int))
    with pytest.raises(ValueError, match="only -1"):
        T.outcome(np.full(9, 2))
    with pytest.raises(TypeError, match="board"):
        T.outcome("xxx")
    with pytest.raises(ValueError, match="cannot|not a position"):
        T.minimax_value(np.array([1, 1, 0, 0, 0, 0, 0, 0, 0]))


def test_games_between_fixed_players():
    g = T.play(key=KEY, x="minimax", o="minimax", n_games=2000)
    assert (np.asarray(g.result) == 0).all()  # perfect play draws
    g = T.play(key=KEY, x="random", o="minimax", n_games=2000)
    assert (np.asarray(g.result) <= 0).all()  # nobody beats perfect play
    g = T.play(key=KEY, x="random", o="random", n_games=2000)
    x_wins = float((np.asarray(g.result) == 1).mean())
    assert abs(x_wins - 0.585) < 0.04  # the known 58.5 % for random X
    g2 = T.play(key=KEY, x="random", o="random", n_games=2000)
    np.testing.assert_array_equal(g.actions, g2.actions)  # same key, same games
    with pytest.raises(ValueError, match="unknown player"):
        T.play(key=KEY, x="alphago", o="random", n_games=2)


def test_table_credit_against_a_loop():
    for n, result, gamma in [(3, 1, 0.9), (5, -1, 0.5), (4, 0, 0.9), (1, 1, 0.7)]:
        expected = np.zeros(9)
        for i in range(n):
            r = n - i  # counting the move itself
            expected[i] = result * gamma ** (r - 1)
        np.testing.assert_allclose(T.table_credit(n, result, gamma), expected, rtol=1e-6)


@functools.cache
def _trained():
    table, results = T.train_table(T.table_init(key=KEY), key=jax.random.key(1), n_games=4000)
    return table, results


def test_table_method_counts_and_credits_add_up():
    table, results = _trained()
    assert results.shape == (4000,)
    # every game credits each of the learner's moves once: 5 + 4 moves per pair of games at most
    total_moves = float(table.count.sum())
    assert 4000 * 2.5 < total_moves <= 4000 * 4.5
    credited = table.count > 0
    v = np.asarray(T.table_values(table))
    assert (np.abs(v[np.asarray(credited)]) <= 1 + 1e-6).all()
    again = T.train_table(T.table_init(key=KEY), key=jax.random.key(1), n_games=4000)[0]
    np.testing.assert_array_equal(again.total, table.total)


def test_table_method_learns_against_random_and_never_beats_minimax():
    table, _ = _trained()
    v = T.table_values(table)
    r = np.asarray(T.evaluate(v, key=jax.random.key(2), n_games=500, opponent="random"))
    fresh = T.table_values(T.table_init(key=jax.random.key(9)))
    r0 = np.asarray(T.evaluate(fresh, key=jax.random.key(2), n_games=500, opponent="random"))
    assert (r >= 0).mean() > (r0 >= 0).mean() + 0.1 and (r >= 0).mean() > 0.85
    rm = np.asarray(T.evaluate(v, key=jax.random.key(3), n_games=500, opponent="minimax"))
    assert (rm <= 0).all()


def test_q_learning_update_equals_eq_9_5_for_one_game():
    """batch=1, one game: the Q-table moves exactly as the online rule written out here."""
    q0 = (
        jnp.zeros((5478, 9))
        .at[:, :]
        .set(jax.random.uniform(jax.random.key(5), (5478, 9), minval=-0.5, maxval=0.5))
    )
    q1, results = T.train_q_learning(q0, key=KEY, n_games=1, batch=1, alpha=0.3, gamma=0.8)
    # replay the same game (the learner plays X in game 0) to get its trajectory
    rules = T._rules()
    game, mine = T._learner_game(
        rules, lambda s: q0[s], jax.random.fold_in(KEY, 0), 1, jnp.float32(0.1), jnp.asarray(False)
    )
    tree = T.game_tree()
    trajectory = zip(game.positions, game.actions, mine, strict=True)
    steps = [(int(s), int(a)) for s, a, m in trajectory if m]
    expected = np.asarray(q0).copy()
    q = np.asarray(q0)
    for j, (s, a) in enumerate(steps):
        if j + 1 < len(steps):
            s2 = steps[j + 1][0]
            target = 0.8 * q[s2][tree.legal[s2]].max()
        else:
            target = float(results[0])
        expected[s, a] = q[s, a] + 0.3 * (target - q[s, a])
    np.testing.assert_allclose(q1, expected, rtol=1e-6, atol=1e-7)


def test_training_does_not_recompile_for_new_hyperparameters():
    table = T.table_init(key=KEY)
    _trained()
    before = T._train_table._cache_size()
    T.train_table(table, key=KEY, n_games=4000, gamma=0.5, eps=0.3, opponent="minimax")
    assert T._train_table._cache_size() == before
    ucb = T._evaluate._cache_size()
    v = T.table_values(table)
    T.evaluate(v, key=KEY, n_games=500, opponent="random")
    T.evaluate(v, key=KEY, n_games=500, opponent="minimax")
    assert T._evaluate._cache_size() <= ucb + 1


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_games": 30, "batch": 20}, ValueError, "multiple"),
        ({"n_games": 40, "gamma": 1.5}, ValueError, "gamma"),
        ({"n_games": 40, "eps": -0.1}, ValueError, "eps"),
        ({"n_games": 40, "opponent": "human"}, ValueError, "unknown opponent"),
        ({"n_games": 0}, ValueError, "n_games"),
    ],
)
def test_bad_training_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        T.train_table(T.table_init(key=KEY), key=KEY, **kwargs)


def test_keys_are_required():
    with pytest.raises(TypeError, match="key"):
        T.table_init(key=None)
    with pytest.raises(ValueError, match="shape"):
        T.train_q_learning(jnp.zeros((10, 9)), key=KEY, n_games=20)


def test_render():
    assert T.render([1, 0, -1, 0, 1, 0, 0, 0, 0]) == "X . O\n. X .\n. . ."


def test_every_reachable_board_round_trips_through_its_index():
    tree = T.game_tree()
    np.testing.assert_array_equal(T.position_index(tree.boards), np.arange(5478))
    legal = np.asarray(T.legal_moves(tree.boards))
    np.testing.assert_array_equal(legal, tree.legal)
