r"""Self-checks for the exercises on co-occurrence factorization, random walks and outliers
(Aggarwal §2.5.4, §2.6.4, §2.7.3).

The references are written out here in NumPy, independently of the library: loops over the
pairs for the counts, an explicit double sum with a log-sum-exp for Eq 2.60, a loop over the
candidate next nodes for node2vec. Common slips are recognized and answered with a hint.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course_lib.checks import (
    Exercise,
    _array,
    _call,
    _close_within,
    _compare,
    _f,
    _passed,
    _scalar,
    _unpack,
)

_close = _close_within(rtol=1e-5, atol=1e-6)


def _random_graph(rng: np.random.Generator, n: int, p: float) -> np.ndarray:
    """A symmetric 0/1 adjacency with no isolated node (a ring keeps every node connected)."""
    upper = np.triu(rng.random((n, n)) < p, k=1).astype(float)
    A = upper + upper.T
    ring = np.roll(np.eye(n), 1, axis=1)
    return np.minimum(A + ring + ring.T, 1.0)


# ------------------------------------------------------------------------ co-occurrence counts

_EX_COOC = Exercise("cooccurrence", "")


def _cooc_reference(pairs: np.ndarray, d: int) -> np.ndarray:
    C = np.zeros((d, d))
    for i, j in pairs:
        C[i, j] += 1.0
    return C


def cooccurrence(fn: Callable) -> None:
    r"""Check ``fn(pairs, d)``: the ``(d, d)`` counts $c_{ij}$ of the (centre $i$, context $j$)
    rows of ``pairs: (P, 2)``."""
    ex = _EX_COOC
    rng = np.random.default_rng(21)
    cases = [
        ("6 pairs, d = 4, one pair repeated", [[0, 1], [1, 0], [0, 1], [2, 3], [3, 3], [1, 2]], 4),
        ("40 random pairs, d = 5", rng.integers(0, 5, size=(40, 2)), 5),
        ("3 pairs, d = 6 (words that never occur)", [[5, 0], [0, 2], [5, 0]], 6),
    ]
    for words, pairs, d in cases:
        pairs = np.asarray(pairs, dtype=np.int32)
        got = _array(
            ex, words, "C", _call(ex, fn, (pairs, d), words), (d, d),
            hint="C has one row per centre word and one column per context word.",
        )  # fmt: skip
        expected = _cooc_reference(pairs, d)
        if _close(got, expected):
            continue
        if _close(got, expected.T):
            hint = "row i is the centre word, column j the context word: C[i, j], not C[j, i]."
        elif _close(got, expected + expected.T):
            hint = "count each (centre, context) pair once, in its own direction only."
        elif _close(got, (expected > 0).astype(float)):
            hint = "count the pairs, do not just mark them: a pair seen twice gives c_ij = 2."
        else:
            hint = "add 1 to C[i, j] for every row (i, j) of pairs (C.at[i, j].add(1.0))."
        _compare(ex, words, "C", got, expected, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------ Eq 2.60

_EX_MMF = Exercise("multinomial_mf_loss", "")


def _mmf_reference(U: np.ndarray, V: np.ndarray, C: np.ndarray) -> float:
    total = 0.0
    for i in range(U.shape[0]):
        s = U[i] @ V.T  # (d',)
        log_norm = s.max() + np.log(np.sum(np.exp(s - s.max())))
        for j in range(V.shape[0]):
            total -= C[i, j] * (s[j] - log_norm)
    return total


def multinomial_mf_loss(fn: Callable) -> None:
    r"""Check ``fn(U, V, C)`` $= -\sum_{ij} c_{ij}\log\mathrm{softmax}_j(\bar u_i\cdot\bar v_j)$
    (Eq 2.60) for ``U (d, p)``, ``V (d, p)``, ``C (d, d)``."""
    ex = _EX_MMF
    rng = np.random.default_rng(22)
    cases = [("d = 4, p = 2", 4, 2), ("d = 6, p = 3", 6, 3), ("d = 3, p = 5, large scores", 3, 5)]
    for words, d, p in cases:
        scale = 3.0 if "large" in words else 0.7
        U, V = rng.normal(size=(d, p)) * scale, rng.normal(size=(d, p)) * scale
        C = rng.integers(0, 5, size=(d, d)).astype(float)
        C[0, 1] += 3.0  # never symmetric: a transposed C gives a different loss
        got = _scalar(ex, words, "the loss", _call(ex, fn, (_f(U), _f(V), _f(C)), words))
        expected = _mmf_reference(U, V, C)
        if _close(got, expected, rtol=1e-5, atol=1e-4):
            continue
        S = U @ V.T
        if _close(got, -np.sum(C * S), rtol=1e-5, atol=1e-4):
            hint = (
                "the softmax needs its normalizer: subtract log sum_q exp(u_i . v_q) from each "
                "score (jax.nn.log_softmax(scores, axis=1))."
            )
        elif _close(got, _mmf_reference(U, V, C.T), rtol=1e-5, atol=1e-4):
            hint = "C[i, j] weighs centre i with context j: use C, not its transpose."
        elif _close(got, -np.sum(C * (S - np.log(np.exp(S).sum(axis=0, keepdims=True)))),
                    rtol=1e-5, atol=1e-4):  # fmt: skip
            hint = "normalize over the contexts j of each centre i (axis=1), not over the centres."
        elif _close(got, expected / C.sum(), rtol=1e-5, atol=1e-4):
            hint = "Eq 2.60 is a sum over all pairs, not a mean."
        else:
            hint = "O = -sum_ij C[i, j] * log softmax(U @ V.T, axis=1)[i, j]."
        _compare(ex, words, "the loss", got, expected, rtol=1e-5, atol=1e-4, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------ transition matrix

_EX_P = Exercise("transition_matrix", "")


def transition_matrix(fn: Callable) -> None:
    r"""Check ``fn(A)`` $= D^{-1}A$: row $v$ of the result is $a_{vx} / \sum_y a_{vy}$."""
    ex = _EX_P
    rng = np.random.default_rng(23)
    A_w = _random_graph(rng, 5, 0.4) * rng.integers(1, 4, size=(5, 5))
    A_w = np.triu(A_w) + np.triu(A_w, 1).T  # weighted, still symmetric
    star = np.zeros((4, 4))
    star[0, 1:] = star[1:, 0] = 1.0
    cases = [("a random 0/1 graph of 6 nodes", _random_graph(rng, 6, 0.3)),
             ("a weighted graph of 5 nodes", A_w),
             ("a star: node 0 linked to 1, 2, 3", star)]  # fmt: skip
    for words, A in cases:
        n = A.shape[0]
        got = _array(ex, words, "P", _call(ex, fn, (_f(A),), words), (n, n))
        expected = A / A.sum(axis=1, keepdims=True)
        if _close(got, expected):
            continue
        if _close(got, A / A.sum(axis=0, keepdims=True)) and not _close(expected, expected.T):
            hint = "normalize each row (the node you are at), not each column: sum over axis=1."
        elif _close(got, A / A.sum()):
            hint = "each row is its own probability distribution: divide by the row's sum."
        elif _close(got, A):
            hint = "divide each row by the node's (weighted) degree so that it sums to 1."
        else:
            hint = "P[v, x] = A[v, x] / sum_y A[v, y]; every row of P sums to 1."
        _compare(ex, words, "P", got, expected, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------ node2vec weights

_EX_N2V = Exercise("node2vec_weights", "")


def _n2v_reference(prev: int, cur: int, A: np.ndarray, p: float, q: float) -> np.ndarray:
    w = np.zeros(A.shape[0])
    for x in range(A.shape[0]):
        if A[cur, x] == 0:
            continue
        if x == prev:
            alpha = 1.0 / p
        elif A[prev, x] > 0:
            alpha = 1.0
        else:
            alpha = 1.0 / q
        w[x] = A[cur, x] * alpha
    return w


def node2vec_weights(fn: Callable) -> None:
    r"""Check ``fn(prev, cur, A, p, q)``: node2vec's weights of the next node, $a_{vx}\alpha(t, x)$
    with $\alpha = 1/p$ (back to $t$), $1$ (a neighbour of $t$), $1/q$ (further away).

    Compared after dividing by their sum, so any positive multiple of the weights passes."""
    ex = _EX_N2V
    rng = np.random.default_rng(24)
    A = _random_graph(rng, 8, 0.3)
    edges = np.argwhere(np.triu(A) > 0)
    cases = []
    for k, (p, q) in enumerate([(0.5, 2.0), (4.0, 0.25), (1.0, 3.0), (2.0, 2.0)]):
        t, v = edges[(5 * k) % len(edges)]
        cases.append(
            (f"8 nodes, arrived at {v} from {t}, p = {p:g}, q = {q:g}", int(t), int(v), p, q)
        )
    for words, t, v, p, q in cases:
        got = _array(ex, words, "the weights", _call(ex, fn, (t, v, _f(A), p, q), words), (8,),
                     hint="one weight per node of the graph (0 for non-neighbours).")  # fmt: skip
        expected = _n2v_reference(t, v, A, p, q)
        total = got.sum()
        if not np.isfinite(total) or total <= 0:
            hint = "the weights are non-negative and some neighbour has a positive one."
            _compare(ex, words, "the weights", got, expected, hint=hint)
        got_n, exp_n = got / total, expected / expected.sum()
        if _close(got_n, exp_n):
            continue

        def norm(w):
            return w / w.sum()

        if _close(got_n, norm(_n2v_reference(t, v, A, q, p))):
            hint = "p and q are swapped: 1/p weighs the step back to prev, 1/q the steps away."
        elif _close(got_n, norm(_n2v_reference(t, v, A, 1 / p, 1 / q))):
            hint = "divide by p and q (weights 1/p and 1/q), do not multiply."
        elif (got_n[A[v] == 0] > 0).any():
            hint = "only neighbours of cur can come next: multiply by A[cur]."
        else:
            hint = "1/p if x == prev, 1 if A[prev, x] > 0, else 1/q; times A[cur, x]."
        _compare(ex, words, "the weights (divided by their sum)", got_n, exp_n, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------ outlier scores

_EX_OUT = Exercise("outlier_scores", "")


def outlier_scores(fn: Callable) -> None:
    r"""Check ``fn(D, D_hat)`` returns ``(rows, cols)``: the squared residuals
    $(d_{ij} - d'_{ij})^2$ summed along each row and down each column."""
    ex = _EX_OUT
    rng = np.random.default_rng(25)
    cases = [("D (5, 3)", (5, 3)), ("D (4, 7)", (4, 7)), ("D (6, 6)", (6, 6))]
    for words, shape in cases:
        D, D_hat = rng.normal(size=shape), rng.normal(size=shape)
        got = _unpack(ex, words, _call(ex, fn, (_f(D), _f(D_hat)), words), ("rows", "cols"))
        R = (D - D_hat) ** 2
        rows, cols = R.sum(axis=1), R.sum(axis=0)
        g_rows = _array(ex, words, "rows", got[0])
        g_cols = _array(ex, words, "cols", got[1])
        if _close(g_rows, rows) and _close(g_cols, cols):
            continue
        A = np.abs(D - D_hat)
        if _close(g_rows, cols) and _close(g_cols, rows):
            hint = "rows first: one score per data point (sum over axis=1), then per feature."
        elif _close(g_rows, A.sum(axis=1)) or _close(g_cols, A.sum(axis=0)):
            hint = "square the residuals before summing (absolute values weigh a large error less)."
        elif _close(g_rows, R.mean(axis=1)) or _close(g_cols, R.mean(axis=0)):
            hint = "sum the squared residuals, do not average them."
        else:
            hint = "R = (D - D_hat)**2; rows = R.sum(axis=1), cols = R.sum(axis=0)."
        _compare(ex, words, "rows", g_rows, rows, hint=hint)
        _compare(ex, words, "cols", g_cols, cols, hint=hint)
    _passed(ex, len(cases))
