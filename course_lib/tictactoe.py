r"""Tic-tac-toe as a finite game: rules, every reachable position, exact minimax values, and
the book's table method (Aggarwal §9.3.2–9.3.3, Exercises 9.5 and 9.6).

**Boards.** A board is a length-9 integer array, squares numbered row by row

    0 1 2
    3 4 5
    6 7 8

holding 0 (empty), 1 (X) or -1 (O). X moves first, so X is to move exactly when the board
sums to 0. A game is over when a player owns one of the 8 lines (3 rows, 3 columns, 2
diagonals) or the board is full; its *outcome* is 1 (X won), -1 (O won), 0 (a draw), or
:data:`ONGOING` (2) while it goes on.

**The game as an MDP** (§9.3). For a learner playing against a fixed opponent, a state is a
position where the learner is to move, an action is an empty square, the opponent's reply is
part of the environment's (random) transition, and the only reward comes at the end: +1, 0 or
-1. There are at most $3^9 = 19\,683$ boards, but only **5,478** can occur in play
(:func:`game_tree` enumerates them).

**Minimax.** With both sides playing perfectly, the value of a position (from X's point of
view) is

$$V(s) = \begin{cases} \text{outcome}(s) & s \text{ terminal},\\
\max_a V(s') & \text{X to move},\\ \min_a V(s') & \text{O to move}, \end{cases}$$

where $s'$ is the position after move $a$. The start has value 0: perfect play draws.

**Implementation.** The enumeration and the minimax values are computed **once**, in plain
Python (a depth-first search with a memo over the 5,478 positions, about 0.1 s), and cached
as NumPy arrays: :class:`GameTree`. Every position gets an index; the tree stores, for every
index and square, the index of the position after that move. Games played in bulk are then
pure JAX on these integer indices (``lax.scan`` over the 9 plies, ``vmap`` over games, one
``jit`` per player pair), and so is the table method's training (one ``lax.scan`` over games).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from course_lib import _validate
from course_lib._types import Array, ArrayLike, PRNGKey

ONGOING = 2  #: the outcome of a game that is not over yet
N_SQUARES = 9
#: the 8 winning lines: 3 rows, 3 columns, 2 diagonals
LINES = np.array(
    [[0, 1, 2], [3, 4, 5], [6, 7, 8], [0, 3, 6], [1, 4, 7], [2, 5, 8], [0, 4, 8], [2, 4, 6]]
)
_POWERS = 3 ** np.arange(N_SQUARES)
PLAYERS = ("random", "minimax")  #: the fixed players :func:`play` knows by name

# ------------------------------------------------------------------------------ rules (JAX)


def _board(name: str, board: ArrayLike) -> Array:
    """``board`` as an int32 array of shape (..., 9) holding only -1, 0, 1, or a clear error."""
    if isinstance(board, (str, bytes)) or board is None:
        raise TypeError(f"`{name}` must be a length-9 array of -1, 0, 1, got {board!r}.")
    raw = board if isinstance(board, jax.Array) else np.asarray(board)
    if raw.dtype == object or np.dtype(raw.dtype).kind not in "iuf":
        raise TypeError(f"`{name}` must hold integers -1, 0, 1, got dtype {raw.dtype}.")
    if raw.ndim == 0 or raw.shape[-1] != N_SQUARES:
        raise ValueError(
            f"`{name}` must have shape (9,) or (..., 9) (squares 0..8 row by row), "
            f"got shape {tuple(raw.shape)}."
        )
    if not _validate.is_traced(raw):
        values = np.asarray(raw)
        if not np.isin(values, (-1, 0, 1)).all():
            bad = sorted(set(np.unique(values).tolist()) - {-1, 0, 1})[:4]
            raise ValueError(f"`{name}` may hold only -1 (O), 0 (empty) and 1 (X), found {bad}.")
    return jnp.asarray(raw).astype(jnp.int32)


def outcome(board: ArrayLike) -> Array:
    r"""The result of a board: 1 (X owns a line), -1 (O does), 0 (full board, a draw) or
    :data:`ONGOING` (2). Jittable and batched.

    Args:
        board: (..., 9) of -1, 0, 1.

    Returns:
        (...,) int32.
    """
    b = _board("board", board)
    sums = b[..., LINES].sum(-1)  # (..., 8): +3 / -3 on a completed line
    x_won = jnp.any(sums == 3, axis=-1)
    o_won = jnp.any(sums == -3, axis=-1)
    full = jnp.all(b != 0, axis=-1)
    return jnp.where(x_won, 1, jnp.where(o_won, -1, jnp.where(full, 0, ONGOING))).astype(jnp.int32)


def player_to_move(board: ArrayLike) -> Array:
    """1 when X is to move (the board sums to 0), else -1. Batched: (..., 9) -> (...,)."""
    b = _board("board", board)
    return jnp.where(b.sum(-1) == 0, 1, -1).astype(jnp.int32)


def legal_moves(board: ArrayLike) -> Array:
    """The legal moves as a boolean mask (..., 9): the empty squares, none once the game is over."""
    b = _board("board", board)
    return (b == 0) & (outcome(b) == ONGOING)[..., None]


def step(board: ArrayLike, action: ArrayLike) -> tuple[Array, Array]:
    """The player to move marks square ``action``: returns ``(new_board, outcome(new_board))``.

    Jittable and vmappable (one board (9,) and one action ()). An illegal action (an occupied
    square, a finished game) is refused with a ``ValueError`` when the values are concrete;
    under ``jit`` it leaves the board unchanged.
    """
    b = _board("board", board)
    if b.shape != (N_SQUARES,):
        raise ValueError(f"`board` must have shape (9,); vmap step over games, got {b.shape}.")
    a = _validate.index_array("action", action, size=N_SQUARES, ndim=0)
    if not (_validate.is_traced(b) or _validate.is_traced(a)):
        if not bool(legal_moves(b)[int(a)]):
            raise ValueError(
                f"`action` {int(a)} is not legal on this board (square taken or game over)."
            )
    ok = legal_moves(b)[a]
    new = jnp.where(ok, b.at[a].set(player_to_move(b)), b)
    return new, outcome(new)


# ------------------------------------------------------------------------------ enumeration


class GameTree(NamedTuple):
    """Every position reachable from the empty board, with exact minimax values (NumPy arrays).

    Index 0 is the empty board. ``P = 5478`` positions.

    Attributes:
        boards: (P, 9) int8.
        code_index: (3^9,) int32: the index of the board whose base-3 code is ``c`` (-1 for
            boards that cannot occur); the code of a board is $\\sum_i (b_i \\bmod 3)\\,3^i$.
        outcome: (P,) int8, as :func:`outcome`.
        to_move: (P,) int8: 1 or -1 (also set on terminal positions).
        legal: (P, 9) bool.
        next_index: (P, 9) int32: the index after each legal move, -1 where illegal.
        value: (P,) int8: the minimax value from X's point of view.
        move_value: (P, 9) int8: the value (X's view) after each legal move, 0 where illegal.
        optimal: (P, 9) bool: the legal moves that achieve ``value`` (the minimax-optimal set).
        plies_left: (P,) int8: how many moves a game from here lasts under perfect play
            when the winner hurries and the loser delays (0 for terminal positions).
    """

    boards: np.ndarray
    code_index: np.ndarray
    outcome: np.ndarray
    to_move: np.ndarray
    legal: np.ndarray
    next_index: np.ndarray
    value: np.ndarray
    move_value: np.ndarray
    optimal: np.ndarray
    plies_left: np.ndarray


def _outcome_py(b: tuple[int, ...]) -> int:
    for i, j, k in LINES.tolist():
        s = b[i] + b[j] + b[k]
        if s == 3:
            return 1
        if s == -3:
            return -1
    return 0 if 0 not in b else ONGOING


@functools.cache
def game_tree() -> GameTree:
    """Enumerate the reachable positions and their minimax values once (cached; ~0.1 s).

    A depth-first search from the empty board, in plain Python with a memo: each position is
    expanded once, its value is the max (X to move) or min (O to move) over its children, and
    terminal positions are their outcome. The arrays are read-only.
    """
    index: dict[tuple[int, ...], int] = {}
    boards: list[tuple[int, ...]] = []
    children: list[list[int]] = []
    values: list[int] = []
    plies: list[int] = []

    def visit(b: tuple[int, ...]) -> int:
        if b in index:
            return index[b]
        i = len(boards)
        index[b] = i
        boards.append(b)
        children.append([-1] * N_SQUARES)
        values.append(0)
        plies.append(0)
        result = _outcome_py(b)
        if result != ONGOING:
            values[i] = result
            return i
        player = 1 if sum(b) == 0 else -1
        kids = []
        for a in range(N_SQUARES):
            if b[a] == 0:
                c = visit(b[:a] + (player,) + b[a + 1 :])
                children[i][a] = c
                kids.append(c)
        best = max(values[c] * player for c in kids) * player
        values[i] = best
        # the winner hurries, the loser (and a drawn game) delays: a tidy tie-break for plots
        same = [plies[c] for c in kids if values[c] == best]
        plies[i] = 1 + (min(same) if best * player > 0 else max(same))
        return i

    visit((0,) * N_SQUARES)
    B = np.array(boards, dtype=np.int8)
    nxt = np.array(children, dtype=np.int32)
    val = np.array(values, dtype=np.int8)
    legal = nxt >= 0
    move_value = np.where(legal, val[np.maximum(nxt, 0)], 0).astype(np.int8)
    code_index = np.full(3**N_SQUARES, -1, dtype=np.int32)
    code_index[(B.astype(np.int64) % 3) @ _POWERS] = np.arange(len(B), dtype=np.int32)
    out = np.array([_outcome_py(b) for b in boards], dtype=np.int8)
    tree = GameTree(
        boards=B,
        code_index=code_index,
        outcome=out,
        to_move=np.where(B.sum(1) == 0, 1, -1).astype(np.int8),
        legal=legal,
        next_index=nxt,
        value=val,
        move_value=move_value,
        optimal=legal & (move_value == val[:, None]),
        plies_left=np.array(plies, dtype=np.int8),
    )
    for arr in tree:
        arr.setflags(write=False)
    return tree


def position_index(board: ArrayLike) -> Array:
    """The index in :func:`game_tree` of a reachable board (..., 9) -> (...,) int32.

    A board that cannot occur in a game (e.g. two X's and no O) is refused with a ``ValueError``
    when concrete; under ``jit`` it maps to -1.
    """
    b = _board("board", board)
    tree = game_tree()
    idx = jnp.asarray(tree.code_index)[(b % 3) @ jnp.asarray(_POWERS, jnp.int32)]
    if not _validate.is_traced(idx) and bool(jnp.any(idx < 0)):
        raise ValueError(
            "`board` is not a position that can occur in a game of tic-tac-toe (X moves first, "
            "the players alternate, and nobody moves after a win)."
        )
    return idx


def minimax_value(board: ArrayLike) -> Array:
    """The exact minimax value of a reachable board, from X's point of view: 1, 0 or -1."""
    return jnp.asarray(game_tree().value)[position_index(board)].astype(jnp.int32)


def optimal_moves(board: ArrayLike) -> Array:
    """The minimax-optimal moves of a reachable board as a boolean mask (..., 9)."""
    return jnp.asarray(game_tree().optimal)[position_index(board)]


def render(board: ArrayLike) -> str:
    """A board as three lines of text (X, O and . for empty)."""
    b = np.asarray(_board("board", board)).reshape(3, 3)
    sym = {1: "X", -1: "O", 0: "."}
    return "\n".join(" ".join(sym[int(v)] for v in row) for row in b)


# ------------------------------------------------------------------------------ playing (JAX)


class _Rules(NamedTuple):
    """The game tree's arrays on the device, handed to jitted functions as *arguments* (closed
    over, they would be baked into the compiled program as large constants, which XLA folds
    slowly)."""

    next_index: Array
    legal: Array
    optimal: Array
    outcome: Array
    to_move: Array


@functools.cache
def _rules() -> _Rules:
    t = game_tree()
    return _Rules(
        jnp.asarray(t.next_index),
        jnp.asarray(t.legal),
        jnp.asarray(t.optimal),
        jnp.asarray(t.outcome, jnp.int32),
        jnp.asarray(t.to_move, jnp.int32),
    )


_WORDS = 3  # random 32-bit words per ply: the learner's epsilon test and move, the opponent's


def _uniform_among(word: Array, mask: Array) -> Array:
    """A uniformly random index where ``mask`` (9,) is True, from one random uint32 ``word``
    (``word mod count``; the bias is below $10^{-9}$). Integers only: the same on every CPU."""
    j = word % jnp.maximum(mask.sum(), 1).astype(jnp.uint32)
    return jnp.argmax(jnp.cumsum(mask) > j.astype(jnp.int32))


def _random_policy(rules: _Rules, word: Array, s: Array) -> Array:
    return _uniform_among(word, rules.legal[s])


def _minimax_policy(rules: _Rules, word: Array, s: Array) -> Array:
    return _uniform_among(word, rules.optimal[s])


_POLICIES = {"random": _random_policy, "minimax": _minimax_policy}


def _opponent(rules: _Rules, perfect: Array, word: Array, s: Array) -> Array:
    """The random or the minimax player, chosen by a traced flag (one compile for both)."""
    return jnp.where(perfect, _minimax_policy(rules, word, s), _random_policy(rules, word, s))


def _powers(gamma: Array) -> Array:
    """``gamma ** arange(9)`` by repeated multiplication: bit-identical on every CPU."""
    out = [jnp.ones_like(gamma)]
    for _ in range(N_SQUARES - 1):
        out.append(out[-1] * gamma)
    return jnp.stack(out)


class Game(NamedTuple):
    """One game (or a batch, with a leading axis) played on position indices.

    Attributes:
        positions: (9,) int32: the position index before each ply (the last one repeats
            after the game ended).
        actions: (9,) int32: the square played at each ply.
        played: (9,) bool: whether the ply happened (False after the end).
        result: () int32: the outcome, 1 / 0 / -1 (X's view).
    """

    positions: Array
    actions: Array
    played: Array
    result: Array


def _play_one(rules: _Rules, key: PRNGKey, policy) -> Game:
    """One game; ``policy(words, s)`` moves for whoever is to move at ``s``, using the ply's
    random uint32 words (3,). A ``lax.scan`` over the 9 plies (plies after the end change
    nothing). All the game's random bits come from one draw: few random-number kernels keep
    the compile short."""

    def ply(s, words):
        ongoing = rules.outcome[s] == ONGOING
        a = policy(words, s)
        s_new = jnp.where(ongoing, rules.next_index[s, a], s)
        return s_new, (s, a, ongoing)

    bits = jax.random.bits(key, (N_SQUARES, _WORDS), jnp.uint32)
    s_end, (pos, act, played) = jax.lax.scan(ply, jnp.int32(0), bits)
    return Game(pos, act, played, rules.outcome[s_end])


@functools.partial(jax.jit, static_argnames=("n_games",))
def _play(rules: _Rules, key: PRNGKey, perfect_x: Array, perfect_o: Array, n_games: int) -> Game:
    def policy(words, s):
        perfect = jnp.where(rules.to_move[s] == 1, perfect_x, perfect_o)
        return _opponent(rules, perfect, words[2], s)

    return jax.vmap(lambda k: _play_one(rules, k, policy))(jax.random.split(key, n_games))


def play(*, key: PRNGKey, x: str, o: str, n_games: int) -> Game:
    """``n_games`` games between two fixed players, named ``"random"`` (uniform over the legal
    moves) or ``"minimax"`` (uniform over the minimax-optimal moves: a perfect player).

    All games run at once (``vmap`` of a ``lax.scan`` over the 9 plies). Which player is which
    is a traced flag, so one compile serves every pairing of a given ``n_games``. Returns a
    :class:`Game` with a leading axis ``n_games``.
    """
    _validate.prng_key("key", key)
    _validate.lookup("player", _POLICIES, x)
    _validate.lookup("player", _POLICIES, o)
    n = _validate.positive_int("n_games", n_games)
    return _play(_rules(), key, jnp.asarray(x == "minimax"), jnp.asarray(o == "minimax"), n)


# ------------------------------------------------------------------------------ the table method


class Table(NamedTuple):
    r"""The book's table of state–action values (§9.3.2), over (position index, square).

    The value used for play is the *normalized* one, ``total / count`` where the pair was
    credited, and the small random ``init`` where it never was.

    Attributes:
        init: (P, 9) float32: the small random starting values.
        total: (P, 9) float32: the summed credits $\pm\gamma^{r-1}$.
        count: (P, 9) float32: how many times each pair was credited.
    """

    init: Array
    total: Array
    count: Array


def table_init(*, key: PRNGKey, scale: float = 1e-3) -> Table:
    """A fresh table: random values in ``[-scale, scale]``, no credits yet."""
    _validate.prng_key("key", key)
    _validate.positive("scale", scale)
    shape = game_tree().next_index.shape
    init = jax.random.uniform(key, shape, minval=-scale, maxval=scale)
    return Table(init, jnp.zeros(shape), jnp.zeros(shape))


def table_values(table: Table) -> Array:
    """The normalized values (P, 9): ``total / count`` where credited, else ``init``."""
    return jnp.where(table.count > 0, table.total / jnp.maximum(table.count, 1.0), table.init)


def table_credit(n_moves: ArrayLike, result: ArrayLike, gamma: ArrayLike) -> Array:
    r"""The credits of one player's moves in a finished game (§9.3.2), a (9,) float array.

    A move made $r$ of the player's own moves before the end (counting itself, so the last
    move has $r = 1$) is credited $+\gamma^{r-1}$ after a win, $-\gamma^{r-1}$ after a loss
    and 0 after a draw. Entry $i$ is the credit of the player's $(i+1)$-th move, for
    $i <$ ``n_moves`` (so $r = n - i$), and 0 beyond. Jittable (all arguments may be traced).

    Args:
        n_moves: () int, the number of moves the player made (0..5).
        result: () the game's result from this player's point of view, 1, 0 or -1.
        gamma: () the discount $\gamma \in (0, 1]$.
    """
    r = jnp.asarray(n_moves) - jnp.arange(N_SQUARES)
    powers = _powers(jnp.asarray(gamma, jnp.float32))
    return jnp.where(r >= 1, result * powers[jnp.clip(r - 1, 0, N_SQUARES - 1)], 0.0)


def _eps_greedy(rules: _Rules, row_values, words: Array, s: Array, eps: Array) -> Array:
    """An epsilon-greedy move at ``s``; ``row_values(s)`` gives the 9 values there."""
    greedy = jnp.argmax(jnp.where(rules.legal[s], row_values(s), -jnp.inf))
    u = (words[0] >> 8).astype(jnp.float32) * 2.0**-24  # uniform in [0, 1), exactly
    return jnp.where(u < eps, _uniform_among(words[1], rules.legal[s]), greedy)


def _table_row(table: Table):
    def row(s):
        c = table.count[s]
        return jnp.where(c > 0, table.total[s] / jnp.maximum(c, 1.0), table.init[s])

    return row


def _learner_game(rules: _Rules, row_values, key, side, eps, opponent):
    """One game of an epsilon-greedy learner (playing ``side``) against the random player or,
    when the traced flag ``opponent`` is True, the minimax player.
    Returns the game and ``mine`` (9,): the plies where the learner moved."""

    def policy(words, s):
        mine = _eps_greedy(rules, row_values, words, s, eps)
        return jnp.where(rules.to_move[s] == side, mine, _opponent(rules, opponent, words[2], s))

    game = _play_one(rules, key, policy)
    return game, game.played & (rules.to_move[game.positions] == side)


def _batch_of_games(rules, row_values, key, i, batch, eps, opponent):
    """``batch`` games at step ``i``; the learner plays X in even games, O in odd ones."""
    g = i * batch + jnp.arange(batch)
    side = jnp.where(g % 2 == 0, 1, -1)
    keys = jax.vmap(lambda j: jax.random.fold_in(key, j))(g)
    game, mine = jax.vmap(lambda k, sd: _learner_game(rules, row_values, k, sd, eps, opponent))(
        keys, side
    )
    return game, mine, side


@functools.partial(jax.jit, static_argnames=("n_steps", "batch"))
def _train_table(rules, table, key, gamma, eps, n_steps, batch, opponent):
    def one(table, i):
        game, mine, side = _batch_of_games(rules, _table_row(table), key, i, batch, eps, opponent)
        # r = the number of the learner's own moves from this one to the end, inclusive
        r = jnp.cumsum(mine[:, ::-1], axis=1)[:, ::-1]
        mover_result = (game.result * side)[:, None]
        credit = jnp.where(mine, mover_result * _powers(gamma)[jnp.clip(r - 1, 0, 8)], 0.0)
        total = table.total.at[game.positions, game.actions].add(credit)
        count = table.count.at[game.positions, game.actions].add(mine.astype(jnp.float32))
        return Table(table.init, total, count), game.result * side

    table, results = jax.lax.scan(one, table, jnp.arange(n_steps))
    return table, results.reshape(-1)


def _games_and_batch(n_games: int, batch: int) -> tuple[int, int]:
    n = _validate.positive_int("n_games", n_games)
    b = _validate.positive_int("batch", batch)
    if n % b:
        raise ValueError(f"`n_games` ({n}) must be a multiple of `batch` ({b}).")
    return n // b, b


def train_table(
    table: Table,
    *,
    key: PRNGKey,
    n_games: int,
    gamma: float = 0.9,
    eps: float = 0.1,
    opponent: str = "random",
    batch: int = 20,
) -> tuple[Table, Array]:
    r"""Train the table method (§9.3.2) by playing ``n_games`` games against a fixed opponent.

    The learner plays X in even games and O in odd ones, choosing each move $\epsilon$-greedily
    from the normalized table values (a random legal move with probability $\epsilon$). After
    the games, each of its moves is credited $\pm\gamma^{r-1}$ or 0 (:func:`table_credit`) and
    its count grows by one. Games are played ``batch`` at a time (vmapped) and credited together:
    the sums and counts are the same as one game at a time, only the policy is refreshed every
    ``batch`` games rather than every game (``batch=1`` is the book's exact schedule). One
    jitted ``lax.scan`` over the batches; ``gamma`` and ``eps`` are traced.

    Returns:
        ``(table, results)``: the trained table and the (n_games,) results from the learner's
        point of view (1 win, 0 draw, -1 loss), in the order played.
    """
    _validate.prng_key("key", key)
    _validate.in_range("gamma", gamma, 0.0, 1.0)
    _validate.in_range("eps", eps, 0.0, 1.0)
    _validate.lookup("opponent", _POLICIES, opponent)
    steps, b = _games_and_batch(n_games, batch)
    perfect = jnp.asarray(opponent == "minimax")
    return _train_table(_rules(), table, key, jnp.float32(gamma), jnp.float32(eps), steps, b,
                        perfect)  # fmt: skip


# ------------------------------------------------------------------------------ Q-learning


def _q_deltas(rules: _Rules, q: Array, game: Game, mine: Array, side: Array, alpha, gamma):
    """The Q-learning updates (Eq 9.5) of one game: positions, actions, deltas, each (9,)."""
    order = jnp.argsort(~mine, stable=True)  # the learner's decisions s_0..s_{k-1} first
    s, a, valid = game.positions[order], game.actions[order], mine[order]
    last = jnp.arange(N_SQUARES) == mine.sum() - 1
    s_next = jnp.roll(s, -1)  # the learner's next decision position
    best_next = jnp.max(jnp.where(rules.legal[s_next], q[s_next], -jnp.inf), axis=-1)
    target = jnp.where(last, game.result * side, gamma * best_next)
    # a position occurs at most once in a game, so updating every pair from the Q before the
    # game equals updating online after each move
    return s, a, jnp.where(valid, alpha * (target - q[s, a]), 0.0), valid


@functools.partial(jax.jit, static_argnames=("n_steps", "batch"))
def _train_q(rules, q, key, alpha, gamma, eps, n_steps, batch, opponent):
    def one(q, i):
        game, mine, side = _batch_of_games(rules, lambda s: q[s], key, i, batch, eps, opponent)
        s, a, delta, valid = jax.vmap(lambda g, m, sd: _q_deltas(rules, q, g, m, sd, alpha, gamma))(
            game, mine, side
        )
        # a pair met in several games of the batch moves by the mean of their updates
        hits = jnp.zeros_like(q).at[s, a].add(valid.astype(q.dtype))
        step = jnp.zeros_like(q).at[s, a].add(delta)
        return q + step / jnp.maximum(hits, 1.0), game.result * side

    q, results = jax.lax.scan(one, q, jnp.arange(n_steps))
    return q, results.reshape(-1)


def train_q_learning(
    q: ArrayLike,
    *,
    key: PRNGKey,
    n_games: int,
    alpha: float = 0.2,
    gamma: float = 0.9,
    eps: float = 0.1,
    opponent: str = "random",
    batch: int = 20,
) -> tuple[Array, Array]:
    r"""Tabular Q-learning (Eq 9.5, Exercise 9.6) against a fixed opponent.

    A state is a position where the learner is to move; after its move $a$ in $s$ the opponent
    replies, giving the learner's next position $s'$ (or the end, with reward $\pm1$ or 0):

    $$Q(s, a) \leftarrow Q(s, a) + \alpha\,\big(r + \gamma \max_{a'} Q(s', a') - Q(s, a)\big),$$

    with no bootstrap term at the end. Start from ``q = jnp.zeros((5478, 9))`` (the
    exercise's initialization). Moves are $\epsilon$-greedy; the learner alternates X and O.
    Games run ``batch`` at a time; a pair met in several of them moves by the mean of their
    updates (``batch=1``: the plain online rule).

    Returns:
        ``(q, results)`` as :func:`train_table`.
    """
    _validate.prng_key("key", key)
    q = _validate.float_array("q", q, ndim=2)
    if q.shape != game_tree().next_index.shape:
        raise ValueError(f"`q` must have shape (5478, 9), got {tuple(q.shape)}.")
    _validate.in_range("alpha", alpha, 0.0, 1.0)
    _validate.in_range("gamma", gamma, 0.0, 1.0)
    _validate.in_range("eps", eps, 0.0, 1.0)
    _validate.lookup("opponent", _POLICIES, opponent)
    steps, b = _games_and_batch(n_games, batch)
    f32 = jnp.float32
    perfect = jnp.asarray(opponent == "minimax")
    return _train_q(_rules(), q, key, f32(alpha), f32(gamma), f32(eps), steps, b, perfect)


@functools.partial(jax.jit, static_argnames=("n_games",))
def _evaluate(rules, values, key, n_games, opponent):
    game, _, side = _batch_of_games(rules, lambda s: values[s], key, 0, n_games, 0.0, opponent)
    return game.result * side


def evaluate(values: ArrayLike, *, key: PRNGKey, n_games: int, opponent: str) -> Array:
    """Play the greedy policy of a value table (P, 9) (a :func:`table_values` or a Q) against
    ``"random"`` or ``"minimax"``, as X in even games and O in odd ones.

    Returns:
        (n_games,) results from the learner's point of view: 1 win, 0 draw, -1 loss.
    """
    _validate.prng_key("key", key)
    values = _validate.float_array("values", values, ndim=2)
    if values.shape != game_tree().next_index.shape:
        raise ValueError(f"`values` must have shape (5478, 9), got {tuple(values.shape)}.")
    _validate.lookup("opponent", _POLICIES, opponent)
    n = _validate.positive_int("n_games", n_games)
    return _evaluate(_rules(), values, key, n, jnp.asarray(opponent == "minimax"))
