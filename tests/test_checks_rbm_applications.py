"""course_lib.checks.rbm_applications: each check passes a right answer and fails plausible
mistakes; the checks' NumPy references for the two gradients equal ``jax.grad``.

The right answers here are written independently of the solutions notebook: the library
(``collaborative_rbm``, ``rbm``, ``deep_belief``), NumPy loops, and ``jax.grad`` of
brute-force log-likelihoods where the notebook derives the gradient by hand.
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import checks, collaborative_rbm, deep_belief, rbm, topic_rbm
from course_lib.checks import CheckFailed
from course_lib.checks import rbm_applications as R


def _stub(*args):
    raise NotImplementedError("Exercise: replace this with your code")


ALL = [
    checks.softmax_visible_probs,
    checks.cf_predict,
    checks.unrolled_reconstruction,
    checks.stack_dims,
    checks.topic_rbm_gradient,
    checks.discriminative_probs,
    checks.discriminative_grad,
    checks.node_embeddings,
    checks.group_word_probs,
]


@pytest.mark.parametrize("check", ALL)
def test_every_check_says_not_implemented_for_the_stub(check):
    with pytest.raises(CheckFailed, match="not implemented yet"):
        check(_stub)


def _passes(check, fn, capsys):
    check(fn)
    assert "✔" in capsys.readouterr().out


def _fails(check, fn, hint):
    with pytest.raises(CheckFailed, match=hint):
        check(fn)


# ------------------------------------------------------------------------------ Eq 6.22


def _softmax_library(W, b_v, h):
    return collaborative_rbm.softmax_visible_probs(
        collaborative_rbm.CFParams(W, b_v, jnp.zeros(W.shape[2])), h
    )


def test_softmax_visible_probs(capsys):
    _passes(checks.softmax_visible_probs, _softmax_library, capsys)

    def over_items(W, b_v, h):
        return jax.nn.softmax(jnp.einsum("nj,ikj->nik", h, W) + b_v[None], axis=1)

    def sigmoids(W, b_v, h):
        return jax.nn.sigmoid(jnp.einsum("nj,ikj->nik", h, W) + b_v[None])

    def no_bias(W, b_v, h):
        return jax.nn.softmax(jnp.einsum("nj,ikj->nik", h, W), axis=-1)

    _fails(checks.softmax_visible_probs, over_items, "last axis")
    _fails(checks.softmax_visible_probs, sigmoids, "not K sigmoids")
    _fails(checks.softmax_visible_probs, no_bias, "visible biases")


# ------------------------------------------------------------------------------ Ex 6.1


def _predict_library(W, b_v, b_h, V, mask):
    return collaborative_rbm.cf_predict(collaborative_rbm.CFParams(W, b_v, b_h), V, mask)


def _predict_loop(W, b_v, b_h, V, mask, *, use_mask=True, mode=False, base=1):
    W, b_v, b_h, V, mask = (np.asarray(a, np.float64) for a in (W, b_v, b_h, V, mask))
    n, d = mask.shape
    out = np.zeros((n, d))
    for u in range(n):
        act = b_h.copy()
        for i in range(d):
            if mask[u, i] or not use_mask:
                act += V[u, i] @ W[i]
        ph = 1 / (1 + np.exp(-act))
        for i in range(d):
            z = b_v[i] + W[i] @ ph
            p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
            out[u, i] = p.argmax() + 1 if mode else p @ (np.arange(5) + base)
    return out


def test_cf_predict(capsys):
    _passes(checks.cf_predict, _predict_library, capsys)
    _passes(checks.cf_predict, _predict_loop, capsys)
    _fails(checks.cf_predict, lambda *a: _predict_loop(*a, use_mask=False), "mask")
    _fails(checks.cf_predict, lambda *a: _predict_loop(*a, mode=True), "expected rating")
    _fails(checks.cf_predict, lambda *a: _predict_loop(*a, base=0), "1..5")


# ------------------------------------------------------------------------------ Eq 6.19-6.20


def test_unrolled_reconstruction(capsys):
    def library(W, b_v, b_h, v):
        return rbm.reconstruct(rbm.RBMParams(W, b_v, b_h), v)

    def via_deep_belief(W, b_v, b_h, v):
        return deep_belief.reconstruct(deep_belief.unroll([rbm.RBMParams(W, b_v, b_h)]), v)

    _passes(checks.unrolled_reconstruction, library, capsys)
    _passes(checks.unrolled_reconstruction, via_deep_belief, capsys)

    def no_sigmoid_code(W, b_v, b_h, v):
        return jax.nn.sigmoid(b_v[None] + (b_h[None] + v @ W) @ W.T)

    def linear_decoder(W, b_v, b_h, v):
        return b_v[None] + jax.nn.sigmoid(b_h[None] + v @ W) @ W.T

    def no_hidden_bias(W, b_v, b_h, v):
        return jax.nn.sigmoid(b_v[None] + jax.nn.sigmoid(v @ W) @ W.T)

    _fails(checks.unrolled_reconstruction, no_sigmoid_code, "hidden \\*probability\\*")
    _fails(checks.unrolled_reconstruction, linear_decoder, "probability too")
    _fails(checks.unrolled_reconstruction, no_hidden_bias, "hidden biases")


# ------------------------------------------------------------------------------ stacking


def test_stack_dims(capsys):
    _passes(checks.stack_dims, deep_belief.stack_dims, capsys)
    _passes(checks.stack_dims, lambda dims: list(itertools.pairwise(dims)), capsys)
    _fails(checks.stack_dims, lambda d: [(b, a) for a, b in itertools.pairwise(d)], "visible")
    _fails(checks.stack_dims, lambda d: list(itertools.pairwise(d))[::-1], "bottom-up")
    _fails(checks.stack_dims, lambda d: [(x, x) for x in d], "L RBMs")
    _fails(checks.stack_dims, lambda d: 3, "list of pairs")


# ------------------------------------------------------------------------------ Ex 6.5


def _topic_by_grad(W, b, c, counts):
    with jax.enable_x64(True):
        args = tuple(jnp.asarray(np.asarray(a), jnp.float64) for a in (W, b, c, counts))
        return jax.grad(R._topic_loglik, argnums=(0, 1, 2))(*args)


def test_topic_reference_equals_jax_grad_and_central_differences():
    rng = np.random.default_rng(0)
    W, b, c = rng.normal(size=(5, 3)), rng.normal(size=5), rng.normal(size=3)
    counts = np.array([2.0, 0.0, 3.0, 1.0, 1.0])
    for got, want in zip(R._topic_stats(W, b, c, counts), _topic_by_grad(W, b, c, counts),
                         strict=True):  # fmt: skip
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    h = 1e-6
    E = np.zeros_like(b)
    E[2] = h
    fd = (float(R._topic_loglik(*map(jnp.asarray, (W, b + E, c, counts))))
          - float(R._topic_loglik(*map(jnp.asarray, (W, b - E, c, counts))))) / (2 * h)  # fmt: skip
    assert fd == pytest.approx(R._topic_stats(W, b, c, counts)[1][2], rel=1e-6)


def test_topic_rbm_gradient(capsys):
    _passes(checks.topic_rbm_gradient, _topic_by_grad, capsys)

    def positive_only(W, b, c, counts):
        return R._topic_stats(*(np.asarray(a, np.float64) for a in (W, b, c, counts)),
                              negative=False)  # fmt: skip

    def without_n(W, b, c, counts):
        return R._topic_stats(*(np.asarray(a, np.float64) for a in (W, b, c, counts)),
                              times_n=False)  # fmt: skip

    def occurrence(W, b, c, counts):
        return R._topic_stats(*(np.asarray(a, np.float64) for a in (W, b, c, counts)),
                              binary=True)  # fmt: skip

    _fails(checks.topic_rbm_gradient, positive_only, "positive phase")
    _fails(checks.topic_rbm_gradient, without_n, "N = sum")
    _fails(checks.topic_rbm_gradient, occurrence, "counts, not whether")
    _fails(checks.topic_rbm_gradient, lambda *a: a[0], "tuple")


# ------------------------------------------------------------------------------ Ex 6.7


def _disc_brute_jnp(W, U, b_h, b_c, v):
    """P(y | v) by enumerating every (y, h): an independent loop over classes and states."""
    k, m = U.shape
    H = jnp.asarray(list(itertools.product([0.0, 1.0], repeat=m)), W.dtype)
    scores = jnp.stack(
        [b_c[y] + jax.nn.logsumexp(H @ (b_h + U[y])[:, None] + H @ W.T @ v.T, axis=0)
         for y in range(k)], axis=1)  # fmt: skip
    return jax.nn.softmax(scores, axis=1)


def test_discriminative_probs(capsys):
    _passes(checks.discriminative_probs, _disc_brute_jnp, capsys)

    def no_class_bias(W, U, b_h, b_c, v):
        return _disc_brute_jnp(W, U, b_h, 0 * b_c, v)

    def sigmoid_sum(W, U, b_h, b_c, v):
        o = (v @ W)[:, None] + U[None] + b_h[None, None]
        return jax.nn.softmax(b_c[None] + jax.nn.sigmoid(o).sum(-1), axis=1)

    def linear_sum(W, U, b_h, b_c, v):
        o = (v @ W)[:, None] + U[None] + b_h[None, None]
        return jax.nn.softmax(b_c[None] + o.sum(-1), axis=1)

    _fails(checks.discriminative_probs, no_class_bias, "exp\\(b_c\\[y\\]\\)")
    _fails(checks.discriminative_probs, sigmoid_sum, "softplus")
    _fails(checks.discriminative_probs, linear_sum, "softplus")


def _disc_by_grad(W, U, b_h, b_c, v, y):
    with jax.enable_x64(True):
        params = tuple(jnp.asarray(np.asarray(a), jnp.float64) for a in (W, U, b_h, b_c))
        return jax.grad(R._disc_nll)(params, jnp.asarray(np.asarray(v), jnp.float64),
                                     jnp.asarray(y))  # fmt: skip


def test_discriminative_reference_equals_jax_grad():
    W, U, b_h, b_c, v = R._disc_case(7, 5, 4, 3, 3)
    y = np.array([0, 2, 1, 1, 0])
    for got, want in zip(R._disc_reference(W, U, b_h, b_c, v, y),
                         _disc_by_grad(W, U, b_h, b_c, v, y), strict=True):  # fmt: skip
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    # the printed Eq 6.29 is a different vector (erratum E10)
    printed = R._disc_printed(W, U, b_h, b_c, v, y)
    assert not np.allclose(printed[0], R._disc_reference(W, U, b_h, b_c, v, y)[0])


def test_discriminative_grad(capsys):
    _passes(checks.discriminative_grad, _disc_by_grad, capsys)

    def printed(W, U, b_h, b_c, v, y):
        return R._disc_printed(*(np.asarray(a, np.float64) for a in (W, U, b_h, b_c, v)),
                               np.asarray(y))  # fmt: skip

    def ascent(*args):
        return [-g for g in _disc_by_grad(*args)]

    def summed(*args):
        return [g * args[4].shape[0] for g in _disc_by_grad(*args)]

    _fails(checks.discriminative_grad, printed, "E10")
    _fails(checks.discriminative_grad, ascent, "negative log-likelihood")
    _fails(checks.discriminative_grad, summed, "average")


# ------------------------------------------------------------------------------ Ex 6.8, 6.9


def test_node_embeddings(capsys):
    def library(W, c, A):  # the topic-model RBM of course_lib, documents = A + I
        params = rbm.RBMParams(W, jnp.zeros(W.shape[0]), c)
        return topic_rbm.hidden_probs(params, A + jnp.eye(A.shape[0]))

    def loops(W, c, A):  # one word at a time, as Eq 6.30's double sum reads
        W, c, A = (np.asarray(x) for x in (W, c, A))
        out = np.zeros((A.shape[0], W.shape[1]))
        for i in range(A.shape[0]):
            words = [i] + [j for j in range(A.shape[0]) if A[i, j] > 0]
            out[i] = 1 / (1 + np.exp(-(c + sum(W[k] for k in words))))
        return out

    _passes(checks.node_embeddings, library, capsys)
    _passes(checks.node_embeddings, loops, capsys)

    def neighbours_only(W, c, A):
        return jax.nn.sigmoid(A @ W + c[None, :])

    def frequencies(W, c, A):
        counts = A + jnp.eye(A.shape[0])
        return jax.nn.sigmoid((counts / counts.sum(1, keepdims=True)) @ W + c[None, :])

    def softmax_hidden(W, c, A):
        return jax.nn.softmax((A + jnp.eye(A.shape[0])) @ W + c[None, :], axis=1)

    _fails(checks.node_embeddings, neighbours_only, "node itself")
    _fails(checks.node_embeddings, frequencies, "not frequencies")
    _fails(checks.node_embeddings, softmax_hidden, "own sigmoid")


def test_group_word_probs(capsys):
    def library(W, b, h, split):
        params = rbm.RBMParams(W, b, jnp.zeros(W.shape[1]))
        return topic_rbm.word_probs(params, h, groups=(split, W.shape[0] - split))

    def loops(W, b, h, split):
        W, b, h = (np.asarray(x) for x in (W, b, h))
        out = np.zeros((h.shape[0], W.shape[0]))
        for r in range(h.shape[0]):
            for lo, hi in ((0, split), (split, W.shape[0])):
                e = np.exp([b[k] + W[k] @ h[r] for k in range(lo, hi)])
                out[r, lo:hi] = e / e.sum()
        return out

    _passes(checks.group_word_probs, library, capsys)
    _passes(checks.group_word_probs, loops, capsys)

    def one_softmax(W, b, h, split):
        return jax.nn.softmax(h @ W.T + b[None, :], axis=1)

    def sigmoids(W, b, h, split):
        return jax.nn.sigmoid(h @ W.T + b[None, :])

    def no_bias(W, b, h, split):
        z = h @ W.T
        return jnp.concatenate(
            [jax.nn.softmax(z[:, :split], axis=1), jax.nn.softmax(z[:, split:], axis=1)], 1
        )

    _fails(checks.group_word_probs, one_softmax, "own softmax")
    _fails(checks.group_word_probs, sigmoids, "not independent sigmoids")
    _fails(checks.group_word_probs, no_bias, "word biases")
