r"""Monte Carlo tree search for tic-tac-toe, with a uniform prior (Aggarwal §9.6, §9.7.1.1).

Each node of the search tree is a position $s$, each edge a move $a$, and every edge keeps a
visit count $N(s, a)$ and a mean value $Q(s, a)$ (from the point of view of the player who
moves at $s$). One **simulation**:

1. **selection**: from the root, follow the edge with the largest upper bound (Eq 9.27)

   $$u(s, a) = Q(s, a) + K\,\frac{P(s, a)\sqrt{\sum_b N(s, b)}}{N(s, a) + 1},$$

   here with the uniform prior $P(s, a) = 1/|\text{legal moves}|$ (no policy network), ties
   going to the lowest square;
2. **expansion**: the first edge that leads out of the tree adds its position as a new leaf
   (all its $N$ and $Q$ zero);
3. **evaluation**: one random roll-out from the leaf (both sides play uniformly random legal
   moves to the end) gives $z \in \{+1, 0, -1\}$ (X's view); a terminal leaf is its outcome;
4. **backup**: every edge on the path gets $N \mathrel{+}= 1$ and its $Q$ becomes the mean of
   the values $z$ seen through it, signed for the player who moves there.

After ``n_sims`` simulations the root's counts sum to ``n_sims`` (each simulation leaves the
root through exactly one edge), and the move played is the most visited one. AlphaGo Zero
turns the counts into a policy target, $\pi(s, a) \propto N(s, a)^{1/\tau}$
(:func:`visit_policy`).

**Implementation.** The tree search is plain Python (a tree of small node objects over
tuples; about 5–30 µs a simulation on one core, so 400 simulations take a few ms). Its
randomness comes from an explicit JAX key: integers are drawn in blocks of 4,096 with
``jax.random.randint`` (one compiled shape), so the same key gives the same search on every
run. :func:`puct_scores` and :func:`visit_policy` are jitted JAX, and the tree uses the same
formula (``tests/test_mcts.py`` checks they agree).
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from course_lib import _validate, tictactoe
from course_lib._types import Array, ArrayLike, PRNGKey

_BLOCK = 4096  # integers drawn per call of jax.random.randint (one shape: one compile)
_THROUGH = [
    [tuple(line) for line in tictactoe.LINES.tolist() if sq in line]
    for sq in range(tictactoe.N_SQUARES)
]  # the lines through each square: a move can only complete one of these

# ------------------------------------------------------------------------------ the formulas (JAX)


@jax.jit
def puct_scores(q: ArrayLike, n: ArrayLike, prior: ArrayLike, k: ArrayLike) -> Array:
    r"""The upper bounds of Eq 9.27 for the children of one node.

    $$u(s, a) = Q(s, a) + K\,\frac{P(s, a)\sqrt{\sum_b N(s, b)}}{N(s, a) + 1}.$$

    The $+1$ keeps an unvisited child's bonus finite; with no visits at all every bonus is 0.

    Args:
        q: (A,) mean values $Q(s, a)$.
        n: (A,) visit counts $N(s, a)$.
        prior: (A,) prior probabilities $P(s, a)$ (0 for illegal moves gives them no bonus).
        k: () the exploration constant $K \ge 0$ (traced: changing it never recompiles).

    Returns:
        (A,) the scores $u(s, a)$.
    """
    q = jnp.asarray(q, jnp.float32)
    n = jnp.asarray(n, jnp.float32)
    return q + k * prior * jnp.sqrt(n.sum()) / (n + 1.0)


@jax.jit
def _visit_policy(counts: Array, tau: Array) -> Array:
    counts = counts.astype(jnp.float32)
    top = counts == counts.max()
    one_hot = top / top.sum()  # tau -> 0: all mass on the most visited (ties split)
    logits = jnp.where(counts > 0, jnp.log(jnp.maximum(counts, 1.0)) / jnp.maximum(tau, 1e-30),
                       -jnp.inf)  # fmt: skip
    soft = jax.nn.softmax(logits)
    return jnp.where(tau > 0, soft, one_hot)


def visit_policy(counts: ArrayLike, tau: ArrayLike) -> Array:
    r"""The policy AlphaGo Zero reads off the root's visit counts (§9.7.1.1):

    $$\pi(s, a) = \frac{N(s, a)^{1/\tau}}{\sum_b N(s, b)^{1/\tau}}.$$

    $\tau = 1$ gives the visit frequencies; $\tau \to 0$ the one-hot of the most visited move
    (``tau=0`` returns that limit, with ties split evenly); $\tau \to \infty$ the uniform
    policy over the visited moves. Computed as a softmax of $\log N / \tau$, so large
    $1/\tau$ does not overflow. ``tau`` is traced (a slider never recompiles).

    Args:
        counts: (A,) non-negative visit counts, at least one positive.
        tau: () temperature $\tau \ge 0$.

    Returns:
        (A,) probabilities summing to 1.
    """
    c = _validate.float_array("counts", counts, ndim=1)
    _validate.positive("tau", tau, allow_zero=True)
    if not _validate.is_traced(c):
        values = np.asarray(c)
        if (values < 0).any() or values.sum() <= 0:
            raise ValueError(
                f"`counts` must be non-negative with at least one visit, got {values.tolist()}."
            )
    return _visit_policy(c, jnp.asarray(tau, jnp.float32))


# ------------------------------------------------------------------------------ the tree (Python)


class _Draws:
    """An endless stream of random integers in [0, 2^30) from an explicit key, drawn a block
    at a time. Integers, not floats: a choice among $m$ moves is ``draw % m`` (bias below
    $10^{-8}$), so it is the same on every CPU and immune to float rounding."""

    def __init__(self, key: PRNGKey) -> None:
        self.key = key
        self.block = 0
        self.buffer: list[int] = []
        self.pos = 0

    def __call__(self) -> int:
        if self.pos == len(self.buffer):
            sub = jax.random.fold_in(self.key, self.block)
            self.buffer = np.asarray(jax.random.randint(sub, (_BLOCK,), 0, 2**30)).tolist()
            self.block += 1
            self.pos = 0
        r = self.buffer[self.pos]
        self.pos += 1
        return r

    def choice(self, items: list[int]) -> int:
        return items[self() % len(items)]


def _winner_after(board: tuple[int, ...] | list[int], square: int) -> int:
    """The outcome after a move on ``square`` (only lines through it can have been completed)."""
    for i, j, k in _THROUGH[square]:
        s = board[i] + board[j] + board[k]
        if s == 3 or s == -3:
            return s // 3
    return 0 if 0 not in board else tictactoe.ONGOING


def _rollout(board: tuple[int, ...], player: int, rng: _Draws) -> int:
    """Random play from ``board`` (``player`` to move) to the end; the outcome, X's view."""
    b = list(board)
    while True:
        empty = [i for i in range(9) if b[i] == 0]
        sq = rng.choice(empty)
        b[sq] = player
        result = _winner_after(b, sq)
        if result != tictactoe.ONGOING:
            return result
        player = -player


class _Node:
    __slots__ = ("board", "player", "outcome", "moves", "N", "W", "children")

    def __init__(self, board: tuple[int, ...], outcome: int) -> None:
        self.board = board
        self.player = 1 if sum(board) == 0 else -1
        self.outcome = outcome
        self.moves = [i for i in range(9) if board[i] == 0] if outcome == tictactoe.ONGOING else []
        self.N = [0] * 9
        self.W = [0.0] * 9
        self.children: dict[int, _Node] = {}

    def select(self, k: float) -> int:
        """Eq 9.27 with a uniform prior; the first (lowest) square wins a tie."""
        bonus = k * math.sqrt(sum(self.N)) / len(self.moves)
        best, best_u = -1, -math.inf
        for a in self.moves:
            n = self.N[a]
            u = (self.W[a] / n if n else 0.0) + bonus / (n + 1)
            if u > best_u:
                best, best_u = a, u
        return best


def _simulate(root: _Node, k: float, rng: _Draws) -> None:
    node, path = root, []
    while True:
        a = node.select(k)
        path.append((node, a))
        child = node.children.get(a)
        if child is None:  # expansion: a new leaf, evaluated by one roll-out
            board = node.board[:a] + (node.player,) + node.board[a + 1 :]
            child = _Node(board, _winner_after(board, a))
            node.children[a] = child
            z = child.outcome if not child.moves else _rollout(board, child.player, rng)
            break
        if not child.moves:  # a terminal position already in the tree
            z = child.outcome
            break
        node = child
    for nd, a in path:  # backup: Q is the running mean, from the mover's point of view
        nd.N[a] += 1
        nd.W[a] += z * nd.player


class Search(NamedTuple):
    """The root's statistics after a search.

    Attributes:
        counts: (9,) int: the visit counts $N(s, a)$ (0 for illegal moves); they sum to the
            number of simulations.
        q: (9,) float: the mean values $Q(s, a)$ for the player to move (0 where unvisited).
        move: int: the most visited square (ties: the lowest).
        tree_size: int: how many positions the tree holds (root included).
    """

    counts: np.ndarray
    q: np.ndarray
    move: int
    tree_size: int


def _size(node: _Node) -> int:
    return 1 + sum(_size(c) for c in node.children.values())


def _check_board(board: ArrayLike) -> tuple[int, ...]:
    b = tictactoe._board("board", board)
    if b.shape != (9,):
        raise ValueError(f"`board` must have shape (9,), got {tuple(b.shape)}.")
    tictactoe.position_index(b)  # a reachable position, or a clear error
    t = tuple(int(v) for v in np.asarray(b))
    if tictactoe._outcome_py(t) != tictactoe.ONGOING:
        raise ValueError("`board` is a finished game: there is no move to search for.")
    return t


def _search(board: tuple[int, ...], n_sims: int, k: float, rng: _Draws) -> Search:
    root = _Node(board, tictactoe.ONGOING)
    for _ in range(n_sims):
        _simulate(root, k, rng)
    counts = np.array(root.N, dtype=np.int64)
    q = np.array([w / n if n else 0.0 for w, n in zip(root.W, root.N, strict=True)])
    return Search(counts, q, int(np.argmax(counts)), _size(root))


def search(board: ArrayLike, *, key: PRNGKey, n_sims: int, k: float = 1.0) -> Search:
    r"""Run ``n_sims`` simulations of MCTS (Eq 9.27, uniform prior, random roll-outs) from a
    reachable, unfinished ``board`` (9,) and return the root's :class:`Search` statistics."""
    b = _check_board(board)
    _validate.prng_key("key", key)
    n = _validate.positive_int("n_sims", n_sims)
    _validate.positive("k", k, allow_zero=True)
    return _search(b, n, float(k), _Draws(key))


# ------------------------------------------------------------------------------ playing


@functools.cache
def _optimal_by_board() -> dict[tuple[int, ...], list[int]]:
    t = tictactoe.game_tree()
    return {
        tuple(int(v) for v in b): np.flatnonzero(opt).tolist()
        for b, opt in zip(t.boards, t.optimal, strict=True)
    }


def play(*, key: PRNGKey, opponent: str, n_games: int, n_sims: int, k: float = 1.0) -> np.ndarray:
    """MCTS (``n_sims`` simulations a move) against ``"random"`` or ``"minimax"`` (a random
    choice among the optimal moves), playing X in even games and O in odd ones. Plain Python.

    Returns:
        (n_games,) int: 1 win, 0 draw, -1 loss, from MCTS's point of view.
    """
    _validate.prng_key("key", key)
    _validate.lookup("opponent", {p: p for p in tictactoe.PLAYERS}, opponent)
    games = _validate.positive_int("n_games", n_games)
    sims = _validate.positive_int("n_sims", n_sims)
    _validate.positive("k", k, allow_zero=True)
    optimal = _optimal_by_board()
    results = np.zeros(games, dtype=np.int64)
    for g in range(games):
        rng = _Draws(jax.random.fold_in(key, g))
        side = 1 if g % 2 == 0 else -1
        board, player, result = (0,) * 9, 1, tictactoe.ONGOING
        while result == tictactoe.ONGOING:
            if player == side:
                a = _search(board, sims, float(k), rng).move
            elif opponent == "minimax":
                a = rng.choice(optimal[board])
            else:
                a = rng.choice([i for i in range(9) if board[i] == 0])
            board = board[:a] + (player,) + board[a + 1 :]
            result = _winner_after(board, a)
            player = -player
        results[g] = result * side
    return results


def agreement(boards: ArrayLike, *, key: PRNGKey, n_sims: int, k: float = 1.0) -> np.ndarray:
    """For each board (B, 9), whether the move MCTS picks is one of the minimax-optimal moves.

    Board ``i`` is searched with the key ``fold_in(key, i)``. Returns a (B,) bool array.
    """
    b = tictactoe._board("boards", boards)
    if b.ndim != 2:
        raise ValueError(f"`boards` must have shape (B, 9), got {tuple(b.shape)}.")
    _validate.prng_key("key", key)
    sims = _validate.positive_int("n_sims", n_sims)
    _validate.positive("k", k, allow_zero=True)
    optimal = np.asarray(tictactoe.optimal_moves(b))
    out = np.zeros(len(b), dtype=bool)
    for i, row in enumerate(np.asarray(b)):
        board = _check_board(row)
        move = _search(board, sims, float(k), _Draws(jax.random.fold_in(key, i))).move
        out[i] = bool(optimal[i, move])
    return out
