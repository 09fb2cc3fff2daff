"""course_lib.topic_rbm: the replicated-softmax RBM (Aggarwal §6.5.4, Eq 6.30-6.31, Ex 6.5).

Oracles: brute force over every word *sequence* of a tiny document (the RBM with one softmax
group per position, positions distinguishable), ``jax.grad`` and central differences of the
exact log-likelihood (float64, conftest), the definition of Eq 6.30 over positions.
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import central_gradient
from course_lib import topic_rbm as T
from course_lib.rbm import RBMParams

KEY = jax.random.key(0)


def _tiny(seed=0, d=4, m=3, scale=0.7):
    rng = np.random.default_rng(seed)
    return RBMParams(
        jnp.asarray(scale * rng.normal(size=(d, m))),
        jnp.asarray(scale * rng.normal(size=d)),
        jnp.asarray(scale * rng.normal(size=m)),
    )


def test_eq_6_30_sums_over_positions_and_ignores_their_order():
    p = _tiny()
    words = [0, 2, 2, 3, 1, 2]
    onehot = np.eye(4)[words]  # (N, d): one softmax group per position
    direct = 1 / (1 + np.exp(-(np.asarray(p.b_h) + (onehot @ np.asarray(p.W)).sum(0))))
    counts = onehot.sum(0)
    np.testing.assert_allclose(T.hidden_probs(p, counts), direct, rtol=1e-12)
    perm = np.random.default_rng(1).permutation(len(words))
    shuffled = np.eye(4)[np.asarray(words)[perm]].sum(0)
    np.testing.assert_array_equal(T.hidden_probs(p, shuffled), T.hidden_probs(p, counts))


def test_word_probs_sum_to_one_per_group():
    p = _tiny(d=7)
    h = jax.random.bernoulli(KEY, 0.5, (5, 3)).astype(float)
    one = T.word_probs(p, h)
    np.testing.assert_allclose(one.sum(-1), 1.0, rtol=1e-12)
    two = T.word_probs(p, h, groups=(4, 3))
    np.testing.assert_allclose(two[:, :4].sum(-1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(two[:, 4:].sum(-1), 1.0, rtol=1e-12)


def test_log_likelihood_equals_brute_force_over_word_sequences_and_hidden_states():
    p = _tiny(d=3, m=2)
    W, b, c = (np.asarray(x) for x in p)
    N = 3

    def energy_terms(seq, h):
        return sum(b[k] + W[k] @ h for k in seq) + c @ h

    hs = [np.array(s, float) for s in itertools.product([0, 1], repeat=2)]
    seqs = list(itertools.product(range(3), repeat=N))
    Z = sum(np.exp(energy_terms(s, h)) for s in seqs for h in hs)
    seq = (0, 2, 2)
    want = np.log(sum(np.exp(energy_terms(seq, h)) for h in hs) / Z)
    counts = np.bincount(seq, minlength=3).astype(float)
    np.testing.assert_allclose(T.exact_log_likelihood(p, counts), want, rtol=1e-10)


@pytest.mark.parametrize("groups", [None, (3, 2)])
def test_exact_gradient_equals_jax_grad_and_finite_differences(groups):
    p = _tiny(seed=2, d=5, m=3)
    counts = jnp.asarray([[3.0, 1.0, 0.0, 2.0, 1.0], [0.0, 2.0, 4.0, 0.0, 3.0]])

    def mean_ll(q):
        return jnp.mean(T.exact_log_likelihood(q, counts, groups=groups))

    want = jax.grad(mean_ll)(p)
    got = T.exact_gradient(p, counts, groups=groups)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-12)
    fd = central_gradient(lambda W: mean_ll(RBMParams(jnp.asarray(W), p.b_v, p.b_h)), p.W)
    np.testing.assert_allclose(got.W, fd, rtol=1e-5, atol=1e-8)


def test_cd_gradient_is_unbiased_when_words_and_hidden_units_are_independent():
    # W = 0: one Gibbs step samples the model exactly, so CD-1 averages to the exact gradient
    p = _tiny(seed=3, d=5, m=2)._replace(W=jnp.zeros((5, 2)))
    counts = jnp.asarray([[3.0, 1.0, 0.0, 2.0, 1.0], [0.0, 2.0, 4.0, 0.0, 3.0]])
    cd = jax.jit(jax.vmap(lambda k: T._cd_gradient(p, counts, k, (5,), (9,))))(
        jax.random.split(KEY, 256)
    )
    exact = T.exact_gradient(p, counts)
    for g, e in zip(cd, exact, strict=True):  # about 5 standard errors
        np.testing.assert_allclose(g.mean(0), e, atol=0.2)
    np.testing.assert_allclose(cd.b_h.mean(0), exact.b_h, atol=0.1)
    single = T.cd_gradient(p, counts, key=KEY)
    assert all(a.shape == b.shape for a, b in zip(single, p, strict=True))


def test_sampled_documents_keep_their_lengths():
    p = _tiny(d=6)
    counts = jnp.asarray([[3.0, 0, 1, 0, 2, 1], [0, 0, 5, 2, 0, 1]])
    h = jnp.ones((2, 3))
    new = T.sample_words(p, h, counts, key=KEY, groups=(4, 2))
    np.testing.assert_array_equal(new[:, :4].sum(-1), counts[:, :4].sum(-1))
    np.testing.assert_array_equal(new[:, 4:].sum(-1), counts[:, 4:].sum(-1))


def test_training_raises_the_likelihood_deterministically_and_lr_does_not_recompile():
    rng = np.random.default_rng(4)
    topics = np.array([[5, 5, 5, 0, 0, 0], [0, 0, 0, 5, 5, 5]], float) / 15
    counts = np.stack([rng.multinomial(8, topics[i % 2]) for i in range(20)]).astype(float)
    p0 = T.init_topic_rbm(key=KEY, n_words=6, n_hidden=2, scale=0.1)
    p1 = T.train_topic_rbm(p0, counts, key=jax.random.key(1), steps=150, lr=0.05)
    p2 = T.train_topic_rbm(p0, counts, key=jax.random.key(1), steps=150, lr=0.05)
    before = float(jnp.mean(T.exact_log_likelihood(p0, counts)))
    after = float(jnp.mean(T.exact_log_likelihood(p1, counts)))
    assert after > before + 0.5, (before, after)
    for a, b in zip(p1, p2, strict=True):
        np.testing.assert_array_equal(a, b)
    size = T.train_topic_rbm_cache_size()
    T.train_topic_rbm(p0, counts, key=jax.random.key(1), steps=150, lr=0.01)
    assert T.train_topic_rbm_cache_size() == size


def test_bad_inputs_are_rejected_clearly():
    p = _tiny()
    with pytest.raises(ValueError, match="counts"):
        T.hidden_probs(p, np.ones(5))
    with pytest.raises(ValueError, match="whole numbers"):
        T.hidden_probs(p, np.array([1.0, -1.0, 0.0, 2.0]))
    with pytest.raises(ValueError, match="whole numbers"):
        T.hidden_probs(p, np.array([0.5, 1.0, 0.0, 2.0]))
    with pytest.raises(ValueError, match="groups"):
        T.word_probs(p, np.ones(3), groups=(2, 3))
    with pytest.raises(TypeError, match="params"):
        T.hidden_probs((p.W, p.b_v, p.b_h), np.ones(4))
    with pytest.raises(TypeError, match="key"):
        T.cd_gradient(p, np.ones((2, 4)), key=None)
    with pytest.raises(ValueError, match="2-dimensional"):
        T.train_topic_rbm(p, np.ones(4), key=KEY, steps=2, lr=0.1)
    with pytest.raises(ValueError, match="lr"):
        T.train_topic_rbm(p, np.ones((2, 4)), key=KEY, steps=2, lr=-0.1)
    big = T.init_topic_rbm(key=KEY, n_words=4, n_hidden=T.MAX_ENUMERATED_HIDDEN + 1)
    with pytest.raises(ValueError, match="hidden units"):
        T.exact_log_likelihood(big, np.ones(4))
