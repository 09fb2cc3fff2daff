"""Tests for course_lib.word2vec: hand updates = autodiff, the f^(3/4) sampler, SGNS = logistic MF,
and embeddings that recover a planted word-class structure."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import autoencoders, data
from course_lib import word2vec as w2v

KEY = jax.random.key(0)
D, P = 7, 4  # vocabulary size, embedding size


@pytest.fixture
def params():
    k1, k2 = jax.random.split(KEY)
    return w2v.Embeddings(jax.random.normal(k1, (D, P)), jax.random.normal(k2, (D, P)))


def _step(loss, params, lr, *args):
    g = jax.grad(loss)(params, *args)
    return jax.tree.map(lambda p, gp: p - lr * gp, params, g)


def _assert_params_close(a, b, atol=1e-12):
    np.testing.assert_allclose(np.asarray(a.U), np.asarray(b.U), atol=atol)
    np.testing.assert_allclose(np.asarray(a.V), np.asarray(b.V), atol=atol)


def test_tokenize_and_vocabulary():
    toks = w2v.tokenize("The cat, the DOG; the cat 42 x_y")
    assert toks == ["the", "cat", "the", "dog", "the", "cat", "x", "y"]
    v = w2v.build_vocabulary(toks, min_count=2)
    assert v.words == ("the", "cat") and v.counts.tolist() == [3, 2]
    assert v.encode(["cat", "dog", "the"]).tolist() == [1, 0]
    v2 = w2v.build_vocabulary(toks, max_size=3)
    assert v2.words == ("the", "cat", "dog")  # tie dog/x/y broken alphabetically
    with pytest.raises(TypeError, match="`tokens` must be a list of words"):
        w2v.build_vocabulary("the cat")
    with pytest.raises(ValueError, match="no word occurs at least min_count=9"):
        w2v.build_vocabulary(toks, min_count=9)
    with pytest.raises(TypeError, match="`text` must be a str"):
        w2v.tokenize(["a"])


def test_context_pairs_and_cbow_windows_against_loops():
    ids = np.array([3, 1, 4, 1, 5, 2, 6])
    c, x = w2v.context_pairs(ids, 2)
    expected = sorted(
        (int(ids[i]), int(ids[j]))
        for i in range(7)
        for j in range(max(0, i - 2), min(7, i + 3))
        if j != i
    )
    assert sorted(zip(c.tolist(), x.tolist(), strict=True)) == expected
    ctx, tgt = w2v.cbow_windows(ids, 2)
    assert tgt.tolist() == [4, 1, 5]
    assert ctx.tolist()[0] == [3, 1, 1, 5]
    with pytest.raises(ValueError, match="shorter than one window"):
        w2v.cbow_windows(ids[:3], 2)


def test_cbow_update_is_gradient_step(params, fd_gradient):
    context, target, lr = jnp.array([1, 3, 3, 5]), jnp.array(2), 0.1  # a repeated context word
    got = w2v.cbow_update(params, context, target, lr)
    _assert_params_close(got, _step(w2v.cbow_loss, params, lr, context, target))
    fd = fd_gradient(
        lambda V: w2v.cbow_loss(w2v.Embeddings(params.U, jnp.asarray(V)), context, target), params.V
    )
    np.testing.assert_allclose(np.asarray((params.V - got.V) / lr), fd, rtol=1e-6, atol=1e-8)


def test_cbow_update_against_numpy_loop(params):
    U, V = np.asarray(params.U).copy(), np.asarray(params.V).copy()
    context, target, lr = [0, 4, 4, 6], 1, 0.2
    h = sum(U[i] for i in context)
    s = V @ h
    yhat = np.exp(s - s.max()) / np.exp(s - s.max()).sum()
    eps = -yhat
    eps[target] += 1
    U2, V2 = U.copy(), V.copy()
    for i in context:  # the book: repeated words are updated repeatedly
        U2[i] += lr * sum(eps[j] * V[j] for j in range(D))
    for j in range(D):
        V2[j] += lr * eps[j] * h
    got = w2v.cbow_update(params, jnp.array(context), jnp.array(target), lr)
    np.testing.assert_allclose(np.asarray(got.U), U2, atol=1e-12)
    np.testing.assert_allclose(np.asarray(got.V), V2, atol=1e-12)


def test_skipgram_update_is_gradient_step(params, fd_gradient):
    centre, contexts, lr = jnp.array(4), jnp.array([0, 2, 2, 6]), 0.1
    got = w2v.skipgram_update(params, centre, contexts, lr)
    _assert_params_close(got, _step(w2v.skipgram_loss, params, lr, centre, contexts))
    fd = fd_gradient(
        lambda U: w2v.skipgram_loss(w2v.Embeddings(jnp.asarray(U), params.V), centre, contexts),
        params.U,
    )
    np.testing.assert_allclose(np.asarray((params.U - got.U) / lr), fd, rtol=1e-6, atol=1e-8)


def test_sgns_grads_are_autodiff_and_fd(params, fd_gradient):
    centre, context, negs = jnp.array(1), jnp.array(2), jnp.array([3, 5, 6])
    u, vp, vn = params.U[centre], params.V[context], params.V[negs]

    def loss(u, vp, vn):
        return -jax.nn.log_sigmoid(vp @ u) - jnp.sum(jax.nn.log_sigmoid(-(vn @ u)))

    hand = w2v.sgns_grads(u, vp, vn)
    auto = jax.grad(loss, argnums=(0, 1, 2))(u, vp, vn)
    for h, a in zip(hand, auto, strict=True):
        np.testing.assert_allclose(np.asarray(h), np.asarray(a), atol=1e-12)
    fd = fd_gradient(lambda x: loss(jnp.asarray(x), vp, vn), u)
    np.testing.assert_allclose(np.asarray(hand[0]), fd, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(
        float(loss(u, vp, vn)), float(w2v.sgns_loss(params, centre, context, negs))
    )


def test_batched_sgns_update_is_gradient_of_batch_loss(params):
    centres = jnp.array([0, 1, 1, 4])  # repeats: scatter-add must sum them
    contexts = jnp.array([2, 2, 3, 0])
    negs = jnp.array([[5, 6], [0, 5], [2, 2], [1, 4]])  # a negative equal to a context word
    got = w2v.sgns_update(params, centres, contexts, negs, 0.05)
    _assert_params_close(got, _step(w2v.batch_sgns_loss, params, 0.05, centres, contexts, negs))


def test_negative_sampler_matches_f_to_three_quarters():
    counts = jnp.array([500.0, 250.0, 120.0, 80.0, 50.0])
    q = w2v.negative_distribution(counts)
    f = np.asarray(counts) ** 0.75
    np.testing.assert_allclose(np.asarray(q), f / f.sum(), rtol=1e-12)
    draws = w2v.sample_negatives(q, (100_000,), key=KEY)
    emp = np.bincount(np.asarray(draws), minlength=5) / 100_000
    np.testing.assert_allclose(emp, np.asarray(q), rtol=0.02)
    # power 1 gives the unigram distribution, 0 the uniform one
    np.testing.assert_allclose(
        np.asarray(w2v.negative_distribution(counts, 1.0)), counts / counts.sum()
    )
    np.testing.assert_allclose(np.asarray(w2v.negative_distribution(counts, 0.0)), np.full(5, 0.2))
    with pytest.raises(ValueError, match="`counts` must be non-negative"):
        w2v.negative_distribution(jnp.array([1.0, -1.0]))


def test_sgns_objective_is_weighted_logistic_mf(params):
    k1, k2, k3 = jax.random.split(KEY, 3)
    centres = jax.random.randint(k1, (50,), 0, D)
    contexts = jax.random.randint(k2, (50,), 0, D)
    negs = jax.random.randint(k3, (50, 3), 0, D)
    c_pos, c_neg = w2v.sgns_count_matrices(centres, contexts, negs, D)
    assert float(c_pos.sum()) == 50 and float(c_neg.sum()) == 150
    np.testing.assert_allclose(
        float(w2v.batch_sgns_loss(params, centres, contexts, negs)),
        float(autoencoders.logistic_mf_loss(params.U, params.V, c_pos, c_neg)),
        rtol=1e-12,
    )


def test_expected_negative_counts():
    C = jnp.array([[0.0, 2.0], [1.0, 1.0]])
    q = jnp.array([0.25, 0.75])
    np.testing.assert_allclose(
        np.asarray(w2v.expected_negative_counts(C, q, 4)), [[2.0, 6.0], [2.0, 6.0]]
    )


@pytest.fixture(scope="module")
def planted():
    corpus = data.planted_corpus(key=KEY, n_sentences=1500)
    vocab = w2v.build_vocabulary(corpus.tokens)
    return corpus, vocab, vocab.encode(corpus.tokens)


def _same_class_neighbour_rate(E, corpus, vocab):
    S = np.array(w2v.cosine_similarities(E))
    np.fill_diagonal(S, -np.inf)
    words = [w for w in vocab.words if w in corpus.word_class]
    hits = [
        corpus.word_class.get(vocab.words[int(np.argmax(S[vocab.index[w]]))])
        == corpus.word_class[w]
        for w in words
    ]
    return np.mean(hits)


def test_sgns_recovers_the_planted_word_classes(planted):
    corpus, vocab, ids = planted
    c, x = w2v.context_pairs(ids, 2)
    before = w2v.sgns_epoch_cache_size()
    emb = w2v.train_sgns(c, x, vocab.counts, key=KEY, dim=16, epochs=4, batch_size=64)
    assert w2v.sgns_epoch_cache_size() <= before + 1  # one compile for all epochs and rates
    assert _same_class_neighbour_rate(emb.U, corpus, vocab) == 1.0
    nn = w2v.nearest_neighbours(emb.U, vocab, "cat", 3)
    assert all(corpus.word_class[w] == "animal" for w, _ in nn)


@pytest.mark.parametrize("kind", ["cbow", "skipgram"])
def test_softmax_models_recover_the_planted_word_classes(planted, kind):
    corpus, vocab, ids = planted
    ctx, tgt = w2v.cbow_windows(ids, 2)
    args = (ctx, tgt) if kind == "cbow" else (tgt, ctx)
    emb, losses = w2v.train_softmax(
        kind, *args, key=KEY, vocab_size=len(vocab), dim=16, epochs=4, lr=0.5
    )
    assert float(losses[-20:].mean()) < float(losses[:20].mean())
    E = emb.V if kind == "cbow" else emb.U  # the book: CBOW's natural embedding is the output one
    assert _same_class_neighbour_rate(E, corpus, vocab) >= 0.9


def test_logistic_mf_on_counts_recovers_the_classes(planted):
    corpus, vocab, ids = planted
    c, x = w2v.context_pairs(ids, 2)
    C = w2v.cooccurrence(c, x, len(vocab))
    np.testing.assert_allclose(float(C.sum()), c.shape[0])
    neg = w2v.expected_negative_counts(C, w2v.negative_distribution(vocab.counts), 5)
    emb, losses = w2v.fit_logistic_mf(C, neg, key=KEY, dim=16, steps=300)
    assert float(losses[-1]) < float(losses[0])
    assert _same_class_neighbour_rate(emb.U, corpus, vocab) >= 0.9


def test_subsample_drops_frequent_words_only():
    ids = jnp.array([0] * 900 + [1] * 90 + [2] * 10)
    counts = jnp.array([900.0, 90.0, 10.0])
    kept = w2v.subsample(ids, counts, key=KEY, t=0.01)
    n = np.bincount(np.asarray(kept), minlength=3)
    assert n[2] == 10 and n[0] < 300  # keep prob for word 0: sqrt(1/90) + 1/90 ~ 0.12


def test_training_errors(planted):
    _, vocab, ids = planted
    c, x = w2v.context_pairs(ids, 1)
    with pytest.raises(ValueError, match="`centres` and `contexts` must be 1-D"):
        w2v.train_sgns(c, x[:-1], vocab.counts, key=KEY, dim=4)
    with pytest.raises(TypeError, match="`negatives` must be a positive integer"):
        w2v.train_sgns(c, x, vocab.counts, key=KEY, dim=4, negatives=1.5)
    with pytest.raises(ValueError, match="`negatives` must be a positive integer"):
        w2v.train_sgns(c, x, vocab.counts, key=KEY, dim=4, negatives=0)
    with pytest.raises(TypeError, match="`key` is required"):
        w2v.train_sgns(c, x, vocab.counts, key=None, dim=4)
    with pytest.raises(ValueError, match="unknown model 'glove'"):
        w2v.train_softmax("glove", c, x, key=KEY, vocab_size=len(vocab), dim=4)
    with pytest.raises(ValueError, match="'zebra' is not in the vocabulary"):
        w2v.nearest_neighbours(jnp.ones((len(vocab), 2)), vocab, "zebra")
