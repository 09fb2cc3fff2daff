"""course_lib.checks.walk_embeddings: each check passes a right answer and fails plausible
mistakes.

The right answers are written here independently of the solutions notebook (the library's
functions, and NumPy versions where the notebook uses jnp).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import checks, outliers
from course_lib import random_walks as rw
from course_lib import word2vec as w2v
from course_lib.checks import CheckFailed


def _stub(*args):
    raise NotImplementedError("Exercise: replace this with your code")


ALL = [
    checks.cooccurrence,
    checks.multinomial_mf_loss,
    checks.transition_matrix,
    checks.node2vec_weights,
    checks.outlier_scores,
]


@pytest.mark.parametrize("check", ALL)
def test_every_check_says_not_implemented_for_the_stub(check):
    with pytest.raises(CheckFailed, match="not implemented yet"):
        check(_stub)


def _passes(check, fn, capsys):
    check(fn)
    assert "✔" in capsys.readouterr().out


def _fails(check, fn, hint_word):
    with pytest.raises(CheckFailed) as info:
        check(fn)
    assert hint_word in str(info.value), str(info.value)


# ---- co-occurrence counts


def _cooc_np(pairs, d):
    C = np.zeros((d, d))
    np.add.at(C, (np.asarray(pairs)[:, 0], np.asarray(pairs)[:, 1]), 1.0)
    return C


def test_cooccurrence(capsys):
    _passes(checks.cooccurrence, lambda pr, d: w2v.cooccurrence(pr[:, 0], pr[:, 1], d), capsys)
    _passes(checks.cooccurrence, _cooc_np, capsys)
    _fails(checks.cooccurrence, lambda pr, d: _cooc_np(pr, d).T, "C[i, j]")
    _fails(checks.cooccurrence, lambda pr, d: _cooc_np(pr, d) + _cooc_np(pr, d).T, "once")
    _fails(checks.cooccurrence, lambda pr, d: (_cooc_np(pr, d) > 0).astype(float), "count")


# ---- Eq 2.60


def _mmf_np(U, V, C):
    S = np.asarray(U, np.float64) @ np.asarray(V, np.float64).T
    log_z = np.log(np.exp(S - S.max(1, keepdims=True)).sum(1, keepdims=True)) + S.max(
        1, keepdims=True
    )
    return -np.sum(np.asarray(C) * (S - log_z))


def test_multinomial_mf_loss(capsys):
    _passes(checks.multinomial_mf_loss, w2v.multinomial_mf_loss, capsys)
    _passes(checks.multinomial_mf_loss, _mmf_np, capsys)
    _fails(checks.multinomial_mf_loss, lambda U, V, C: -jnp.sum(C * (U @ V.T)), "normalizer")
    _fails(
        checks.multinomial_mf_loss, lambda U, V, C: w2v.multinomial_mf_loss(U, V, C.T), "transpose"
    )
    _fails(
        checks.multinomial_mf_loss,
        lambda U, V, C: -jnp.sum(C * jax.nn.log_softmax(U @ V.T, axis=0)),
        "axis=1",
    )
    _fails(checks.multinomial_mf_loss, lambda U, V, C: _mmf_np(U, V, C) / np.sum(C), "not a mean")


# ---- transition matrix


def test_transition_matrix(capsys):
    _passes(checks.transition_matrix, rw.transition_matrix, capsys)
    _passes(
        checks.transition_matrix, lambda A: np.asarray(A) / np.asarray(A).sum(1)[:, None], capsys
    )
    _fails(checks.transition_matrix, lambda A: A / jnp.sum(A, axis=0, keepdims=True), "each row")
    _fails(checks.transition_matrix, lambda A: A / jnp.sum(A), "row's sum")
    _fails(checks.transition_matrix, lambda A: A, "degree")


# ---- node2vec weights


def _n2v_np(t, v, A, p, q):
    A = np.asarray(A)
    w = np.zeros(len(A))
    for x in np.flatnonzero(A[v]):
        w[x] = A[v, x] * (1 / p if x == t else (1.0 if A[t, x] > 0 else 1 / q))
    return 3.0 * w  # a positive multiple is accepted


def test_node2vec_weights(capsys):
    _passes(checks.node2vec_weights, rw.node2vec_weights, capsys)
    _passes(checks.node2vec_weights, _n2v_np, capsys)
    _fails(
        checks.node2vec_weights, lambda t, v, A, p, q: rw.node2vec_weights(t, v, A, q, p), "swapped"
    )
    _fails(
        checks.node2vec_weights,
        lambda t, v, A, p, q: rw.node2vec_weights(t, v, A, 1 / p, 1 / q),
        "divide",
    )
    _fails(
        checks.node2vec_weights,
        lambda t, v, A, p, q: rw.node2vec_weights(t, v, A, p, q) + 0.1,
        "A[cur]",
    )


# ---- outlier scores


def test_outlier_scores(capsys):
    _passes(checks.outlier_scores, outliers.outlier_scores, capsys)
    _passes(
        checks.outlier_scores,
        lambda D, Dh: tuple(np.sum((np.asarray(D) - np.asarray(Dh)) ** 2, axis=a) for a in (1, 0)),
        capsys,
    )
    _fails(checks.outlier_scores, lambda D, Dh: outliers.outlier_scores(D, Dh)[::-1], "rows first")
    _fails(
        checks.outlier_scores,
        lambda D, Dh: (jnp.abs(D - Dh).sum(1), jnp.abs(D - Dh).sum(0)),
        "square",
    )
    _fails(
        checks.outlier_scores,
        lambda D, Dh: (((D - Dh) ** 2).mean(1), ((D - Dh) ** 2).mean(0)),
        "do not average",
    )
    _fails(checks.outlier_scores, lambda D, Dh: ((D - Dh) ** 2).sum(1), "tuple")
