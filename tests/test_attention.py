"""course_lib.attention: Luong's scores, soft attention, the reversal model, hard vs soft.

Oracles: NumPy loops over positions for the scores and the context, the book's one-fraction
Eq 10.2, ``jax.grad`` of the expected reward for the REINFORCE estimate (exact, and as the mean
of many samples), and finite differences for the hand-written chain rule of the pointer task.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from widget_views import compiles

from course_lib import attention


def _rand(seed, shape):
    return np.random.default_rng(seed).normal(size=shape)


H = _rand(0, (5, 3))
h = _rand(1, (3,))
W_G = _rand(2, (3, 3))
W_CAT = _rand(3, (4, 6))
V_A = _rand(4, (4,))


def _scores_loop(kind):
    out = []
    for s in range(H.shape[0]):
        if kind == "dot":
            out.append(sum(H[s, k] * h[k] for k in range(3)))
        elif kind == "general":
            out.append(sum(h[i] * W_G[i, j] * H[s, j] for i in range(3) for j in range(3)))
        else:
            stacked = np.concatenate([H[s], h])
            out.append(sum(V_A[r] * np.tanh(W_CAT[r] @ stacked) for r in range(4)))
    return np.array(out)


@pytest.mark.parametrize("kind", attention.SCORES)
def test_scores_equal_a_loop_and_weights_are_a_distribution(kind):
    W = {"dot": None, "general": W_G, "concat": W_CAT}[kind]
    v = V_A if kind == "concat" else None
    got = attention.luong_score(H, h, kind, W_a=W, v_a=v)
    assert got.shape == (5,)
    np.testing.assert_allclose(got, _scores_loop(kind), rtol=1e-12)
    a, c = attention.soft_attention(H, h, kind, W_a=W, v_a=v)
    assert np.all(np.asarray(a) >= 0) and abs(float(a.sum()) - 1) < 1e-12
    e = np.exp(_scores_loop(kind))
    np.testing.assert_allclose(c, sum(e[s] * H[s] for s in range(5)) / e.sum(), rtol=1e-12)


def test_general_with_identity_is_dot_and_eq_10_2_is_eq_10_4():
    np.testing.assert_allclose(
        attention.luong_score(H, h, "general", W_a=np.eye(3)), attention.luong_score(H, h, "dot")
    )
    np.testing.assert_allclose(attention.context_ratio(H, h), attention.soft_attention(H, h)[1])


def test_attentional_state_and_token_attention():
    W_c = _rand(5, (2, 6))
    c = attention.soft_attention(H, h)[1]
    np.testing.assert_allclose(
        attention.attentional_state(W_c, c, h), np.tanh(W_c @ np.concatenate([c, h]))
    )
    out = np.asarray(attention.attend_tokens(H))
    assert out.shape == (5, 6)
    for t in range(5):
        np.testing.assert_allclose(out[t, 3:], attention.soft_attention(H, H[t])[1], rtol=1e-12)
        np.testing.assert_allclose(out[t, :3], H[t])


def test_reinforce_estimate_is_the_score_function_and_unbiased():
    z = jnp.array([0.3, -0.4, 1.2, 0.0])
    R = jnp.array([1.0, -2.0, 0.5, 3.0])
    for i in range(4):  # one sample: (R_i - b) grad log pi_i, by jax.grad
        want = (R[i] - 0.7) * jax.grad(lambda z, i=i: jax.nn.log_softmax(z)[i])(z)
        np.testing.assert_allclose(attention.reinforce_gradient(z, i, R[i], 0.7), want, atol=1e-12)
    # the exact expectation sum_i pi_i (R_i - b) grad log pi_i is the gradient of E[R]
    pi = jax.nn.softmax(z)
    mean = sum(pi[i] * attention.reinforce_gradient(z, i, R[i], 0.7) for i in range(4))
    np.testing.assert_allclose(mean, jax.grad(lambda z: jax.nn.softmax(z) @ R)(z), atol=1e-12)
    # and a sample mean is within a few standard errors of it
    idx = jax.random.categorical(jax.random.key(0), z, shape=(5000,))
    est = np.asarray(attention.reinforce_gradient(jnp.broadcast_to(z, (5000, 4)), idx, R[idx]))
    se = est.std(axis=0) / np.sqrt(5000)
    assert np.all(np.abs(est.mean(axis=0) - np.asarray(mean)) < 4.5 * se)


def test_pointer_chain_rule_matches_finite_differences(fd_gradient):
    """The hard update's dz/dW = q k^T, written out in train_pointer, against differences."""
    keys, values, query, target = attention.pointer_data(key=jax.random.key(1), n=4, items=3, dim=2)
    keys, query = np.asarray(keys), np.asarray(query)
    g_z = _rand(6, (4, 3))
    W0 = _rand(7, (2, 2))
    loop = np.array([[query[n] @ W0 @ keys[n, m] for m in range(3)] for n in range(4)])
    np.testing.assert_allclose(attention.pointer_logits(W0, keys, query), loop, rtol=1e-12)
    written = np.einsum("nm,nd,nme->de", g_z, query, keys)
    logits = lambda W: np.einsum("nd,de,nme->nm", query, W, keys)  # noqa: E731
    numeric = fd_gradient(lambda W: float(np.sum(g_z * logits(W))), W0)
    np.testing.assert_allclose(written, numeric, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(np.asarray(values).shape, (4, 3))
    assert np.all(np.asarray(target) < 3)


def test_reversal_data_and_alignment_accuracy():
    src, tgt = attention.reversal_data(key=jax.random.key(2), n=10, length=5, vocab=7)
    assert src.shape == tgt.shape == (10, 5) and int(src.max()) < 7
    np.testing.assert_array_equal(tgt, np.asarray(src)[:, ::-1])
    perfect = np.broadcast_to(np.eye(5)[::-1], (10, 5, 5))
    assert float(attention.alignment_accuracy(perfect)) == 1.0
    assert float(
        attention.alignment_accuracy(np.broadcast_to(np.eye(5), (10, 5, 5)))
    ) == pytest.approx(0.2)


@pytest.fixture(scope="module")
def trained():
    params = attention.seq2seq_init(key=jax.random.key(3), vocab=5, hidden=16)
    before = attention.train_reversal_cache_size()
    out = attention.train_reversal(params, key=jax.random.key(4), steps=150, length=4)
    return params, out, before


def test_reversal_model_shapes_determinism_and_no_recompile(trained):
    params, (p1, losses), before = trained
    src, _ = attention.reversal_data(key=jax.random.key(5), n=3, length=4, vocab=5)
    logits, w = attention.seq2seq_apply(params, src)
    assert logits.shape == (3, 4, 5) and w.shape == (3, 4, 4) and losses.shape == (150,)
    np.testing.assert_allclose(np.asarray(w).sum(-1), 1.0, rtol=1e-12)
    _, w0 = attention.seq2seq_apply(params, src, attention=False)
    assert float(jnp.abs(w0).max()) == 0.0
    # same key, same run; another learning rate or attention=False: no new compilation
    p2, l2 = attention.train_reversal(params, key=jax.random.key(4), steps=150, length=4)
    np.testing.assert_array_equal(losses, l2)
    attention.train_reversal(params, key=jax.random.key(4), steps=150, length=4,
                             learning_rate=0.02, attention=False)  # fmt: skip
    assert attention.train_reversal_cache_size() <= before + 1


def test_reversal_learns_the_alignment(trained):
    _, (p1, losses), _ = trained
    assert float(losses[-20:].mean()) < 0.5 * float(losses[:20].mean())
    src, tgt = attention.reversal_data(key=jax.random.key(6), n=200, length=4, vocab=5)
    logits, w = attention.seq2seq_apply(p1, src)
    assert float(jnp.mean(jnp.argmax(logits, -1) == tgt)) > 0.9
    assert float(attention.alignment_accuracy(w)) > 0.9


def test_pointer_training_learns_both_ways_without_recompiling():
    soft = attention.train_pointer(key=jax.random.key(7), hard=False, steps=150)
    compiled = compiles()  # JAX's compile events (the jit's C++ cache can be evicted)
    hard = attention.train_pointer(key=jax.random.key(7), hard=True, steps=150)
    again = attention.train_pointer(key=jax.random.key(7), hard=True, steps=150)
    assert compiles() == compiled, "hard and soft attention share one compiled program"
    np.testing.assert_array_equal(hard.loss, again.loss)
    for run in (soft, hard):
        assert float(run.attention_on_target[0]) == pytest.approx(0.2)  # W = 0: uniform
        assert float(run.attention_on_target[-30:].mean()) > 0.7


def test_bad_input_is_refused_clearly():
    with pytest.raises(ValueError, match="unknown score 'cosine'"):
        attention.luong_score(H, h, "cosine")
    with pytest.raises(ValueError, match="needs `W_a`"):
        attention.luong_score(H, h, "general")
    with pytest.raises(ValueError, match="`W_a` must have shape"):
        attention.luong_score(H, h, "general", W_a=np.eye(2))
    with pytest.raises(ValueError, match="`h` must have as many entries"):
        attention.soft_attention(H, np.ones(4))
    with pytest.raises(TypeError, match="`H` must be a numeric array"):
        attention.soft_attention("H", h)
    with pytest.raises(TypeError, match="`key` is required"):
        attention.reversal_data(key=None, n=2, length=3, vocab=4)
    with pytest.raises(TypeError, match="`params` must be Seq2SeqParams"):
        attention.seq2seq_apply({"W": 1}, np.zeros((1, 3), np.int32))
    params = attention.seq2seq_init(key=jax.random.key(0), vocab=3, hidden=4)
    with pytest.raises(ValueError, match="`src` must be a \\(n, T\\) array of integer"):
        attention.seq2seq_apply(params, np.zeros((2, 3)))
    with pytest.raises(TypeError, match="`attention` must be True or False"):
        attention.seq2seq_apply(params, np.zeros((2, 3), np.int32), attention=1)
    with pytest.raises(ValueError, match="`learning_rate` must be positive"):
        attention.train_pointer(key=jax.random.key(0), hard=True, learning_rate=-1.0)
    with pytest.raises(ValueError, match="`W` must be \\(2, 2\\)"):
        attention.pointer_logits(np.eye(3), np.zeros((4, 5, 2)), np.zeros((4, 2)))
    with pytest.raises(TypeError, match="`logits` must hold real numbers"):
        attention.reinforce_gradient(np.array([True, False]), 0, 1.0)
    with pytest.raises(TypeError, match="`hard` must be True or False"):
        attention.train_pointer(key=jax.random.key(0), hard="yes")
