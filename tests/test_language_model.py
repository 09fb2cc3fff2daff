"""Tests for course_lib.language_model: vocabulary, batching, the char-LSTM, decoding, baselines.

Oracles: a NumPy LSTM loop (gate order i, f, o, g) for the model's scores; ``collections.Counter``
for the n-gram baselines; brute force over all sequences (``itertools.product`` and the model's
own batched scores) for beam search; ``np.argmax`` loops for greedy decoding.
"""

import collections
import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import language_model as lm
from course_lib import rnn

KEY = jax.random.key(0)
TEXT = "the cat sat on the mat. the dog sat on the log. " * 4


def _np_sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def _np_lstm_logits(params, seq):
    """Independent NumPy forward pass: one sequence of ids -> (T, V) scores."""
    W, b, W_hy, b_y = (np.asarray(a, np.float64) for a in params)
    p = W_hy.shape[0]
    V = W.shape[0] - p
    h, c = np.zeros(p), np.zeros(p)
    out = []
    for tok in seq:
        x = np.zeros(V)
        x[tok] = 1.0
        z = np.concatenate([x, h]) @ W + b
        i, f, o = _np_sigmoid(z[:p]), _np_sigmoid(z[p : 2 * p]), _np_sigmoid(z[2 * p : 3 * p])
        g = np.tanh(z[3 * p :])
        c = f * c + i * g
        h = o * np.tanh(c)
        out.append(h @ W_hy + b_y)
    return np.stack(out)


@pytest.fixture(scope="module")
def small():
    vocab = lm.build_vocab(TEXT)
    params = lm.init(key=KEY, vocab_size=vocab.size, hidden_dim=6, forget_bias=1.0)
    # perturb the biases so the test does not rely on zeros
    params = params._replace(b_y=0.3 * jax.random.normal(jax.random.key(5), params.b_y.shape))
    return vocab, params


# ------------------------------------------------------------------------------ vocabulary


def test_vocab_roundtrip():
    vocab = lm.build_vocab(TEXT)
    assert vocab.chars == "".join(sorted(set(TEXT))) and vocab.size == len(set(TEXT))
    ids = lm.encode(vocab, TEXT)
    assert ids.dtype == jnp.int32 and ids.shape == (len(TEXT),)
    assert lm.decode(vocab, ids) == TEXT
    assert vocab.chars[int(ids[0])] == "t"


def test_vocab_errors():
    vocab = lm.build_vocab("abc")
    with pytest.raises(ValueError, match="outside the vocabulary"):
        lm.encode(vocab, "abz")
    with pytest.raises(TypeError, match="`text` must be a str"):
        lm.build_vocab(["a"])
    with pytest.raises(ValueError, match="must not be empty"):
        lm.build_vocab("")
    with pytest.raises(ValueError, match=r"`ids` must lie in \[0, 3\)"):
        lm.decode(vocab, [0, 3])
    with pytest.raises(TypeError, match="integer ids"):
        lm.decode(vocab, [0.5])
    with pytest.raises(TypeError, match="must be a Vocab"):
        lm.encode("abc", "a")


# ------------------------------------------------------------------------------ batching


def test_split_is_contiguous():
    ids = jnp.arange(100, dtype=jnp.int32)
    tr, va = lm.split_ids(ids, val_fraction=0.1)
    np.testing.assert_array_equal(np.concatenate([tr, va]), np.arange(100))
    assert va.shape == (10,)
    with pytest.raises(ValueError, match="val_fraction"):
        lm.split_ids(ids, val_fraction=1.5)
    with pytest.raises(ValueError, match="both need at least 2"):
        lm.split_ids(ids, val_fraction=0.001)


def test_text_windows_are_shifted_slices():
    ids = jnp.arange(50, dtype=jnp.int32) * 3
    x, y = lm.text_windows(ids, key=KEY, batch_size=7, seq_len=5)
    assert x.shape == y.shape == (7, 5)
    x, y = np.asarray(x), np.asarray(y)
    np.testing.assert_array_equal(y[:, :-1], x[:, 1:])  # targets are the next characters
    np.testing.assert_array_equal(np.diff(x, axis=1), 3)  # consecutive characters of the text
    assert np.all(y[:, -1] == x[:, -1] + 3) and y.max() <= 147
    x2, _ = lm.text_windows(ids, key=KEY, batch_size=7, seq_len=5)
    np.testing.assert_array_equal(x, x2)  # same key, same batch
    x3, _ = lm.text_windows(ids, key=jax.random.key(1), batch_size=7, seq_len=5)
    assert not np.array_equal(x, x3)
    with pytest.raises(ValueError, match="seq_len \\+ 1 = 51"):
        lm.text_windows(ids, key=KEY, batch_size=2, seq_len=50)
    with pytest.raises(TypeError, match="`key` is required"):
        lm.text_windows(ids, key=None, batch_size=2, seq_len=5)


def test_eval_windows_cover_every_target_once():
    ids = jnp.arange(23, dtype=jnp.int32)
    x, y = lm.eval_windows(ids, seq_len=5)
    assert x.shape == (4, 5)
    np.testing.assert_array_equal(np.asarray(y).ravel(), np.arange(1, 21))
    np.testing.assert_array_equal(np.asarray(x).ravel(), np.arange(0, 20))
    with pytest.raises(ValueError, match="a window needs"):
        lm.eval_windows(ids, seq_len=30)


# ------------------------------------------------------------------------------ the model


def test_logits_match_numpy_lstm(small):
    vocab, params = small
    ids = lm.encode(vocab, TEXT[:40]).reshape(4, 10)
    got = np.asarray(lm.logits(params, ids))
    assert got.shape == (4, 10, vocab.size)
    for b in range(4):
        np.testing.assert_allclose(got[b], _np_lstm_logits(params, np.asarray(ids[b])), atol=1e-10)
    # and the same as the library's rnn.lstm_forward on one-hot inputs
    hs = rnn.lstm_forward(params, jax.nn.one_hot(ids[1], vocab.size, dtype=params.W.dtype))
    np.testing.assert_allclose(got[1], hs @ params.W_hy + params.b_y[None], atol=1e-12)


def test_row_lookup_gradient_equals_the_one_hot_product(small):
    """logits() looks up the one-hot input products; its gradient (a scatter-add into W's
    input rows) must equal the gradient through rnn.lstm_forward on one-hot inputs."""
    vocab, params = small
    ids = lm.encode(vocab, TEXT[:41])
    x, y = ids[:-1].reshape(4, 10), ids[1:].reshape(4, 10)

    def one_hot_loss(params):
        def seq_logp(row):
            hs = rnn.lstm_forward(params, jax.nn.one_hot(row, vocab.size, dtype=params.W.dtype))
            return jax.nn.log_softmax(hs @ params.W_hy + params.b_y[None], axis=-1)

        logp = jax.vmap(seq_logp)(x)
        return -jnp.mean(jnp.take_along_axis(logp, y[..., None], axis=-1))

    want = jax.grad(one_hot_loss)(params)
    got = jax.grad(lm.loss)(params, x, y)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-13)
    assert float(jnp.max(jnp.abs(want.W[: vocab.size]))) > 0  # the input rows do get gradient


def test_loss_is_mean_cross_entropy(small):
    vocab, params = small
    ids = lm.encode(vocab, TEXT[:41])
    x, y = ids[:-1].reshape(4, 10), ids[1:].reshape(4, 10)
    z = _np_lstm_logits(params, np.asarray(ids[:10]))
    logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    first = -np.mean(logp[np.arange(10), np.asarray(y[0])])
    assert math.isclose(float(lm.loss(params, x[:1], y[:1])), first, rel_tol=1e-10)
    assert math.isclose(float(lm.evaluate(params, x[:1], y[:1])), first, rel_tol=1e-10)
    with pytest.raises(ValueError, match="the same shape"):
        lm.evaluate(params, x, y[:2])
    with pytest.raises(TypeError, match="LSTMParams"):
        lm.evaluate({"W": 1}, x, y)


def test_loss_gradient_matches_finite_differences(small, fd_gradient):
    vocab, params = small
    ids = lm.encode(vocab, TEXT[:13])
    x, y = ids[:-1].reshape(2, 6), ids[1:].reshape(2, 6)
    g = jax.grad(lm.loss)(params, x, y)
    for field in ("b", "b_y"):
        f = jax.jit(lambda v, field=field: lm.loss(params._replace(**{field: v}), x, y))
        fd = fd_gradient(f, getattr(params, field))
        np.testing.assert_allclose(getattr(g, field), fd, rtol=1e-6, atol=1e-9)


def test_train_step_learns_and_does_not_recompile(small):
    vocab, params = small
    ids = lm.encode(vocab, TEXT)
    opt = lm.adam_init(params)
    x, y = lm.eval_windows(ids, seq_len=16)
    before = float(lm.loss(params, x, y))
    size = None
    for s in range(60):
        bx, by = lm.text_windows(ids, key=jax.random.fold_in(KEY, s), batch_size=8, seq_len=16)
        params, opt, value = lm.train_step(params, opt, bx, by, 3e-2 if s < 30 else 1e-2)
        if s == 0:
            size = lm.train_step_cache_size()
    assert lm.train_step_cache_size() == size  # a new learning rate did not recompile
    after = float(lm.loss(params, x, y))
    assert after < 0.6 * before  # the repetitive text is learned quickly


def test_nats_to_bits():
    assert math.isclose(float(lm.nats_to_bits(math.log(8.0))), 3.0, rel_tol=1e-12)


def test_forget_gate_jacobian_is_diagonal_f(small):
    """With h_{t-1} held fixed, dc_t/dc_{t-1} = diag(f_t)."""
    _, params = small
    p = params.W_hy.shape[0]
    x = jax.nn.one_hot(3, params.W.shape[0] - p)
    h = 0.2 * jax.random.normal(jax.random.key(2), (p,))
    c = jax.random.normal(jax.random.key(3), (p,))
    J = jax.jacobian(lambda c: rnn.lstm_cell(params, (h, c), x)[1])(c)
    f = rnn.lstm_gates(params, h, x).f
    np.testing.assert_allclose(J, np.diag(np.asarray(f)), atol=1e-12)


# ------------------------------------------------------------------------------ decoding


def test_decode_step_agrees_with_logits(small):
    vocab, params = small
    ids = lm.encode(vocab, TEXT[:12])
    ref = jax.nn.log_softmax(lm.logits(params, ids[None]))[0]  # (12, V)
    state, logp = lm.prompt_state(params, ids[:5])
    np.testing.assert_allclose(logp, ref[4], atol=1e-12)
    for t in range(5, 12):
        state, logp = lm.decode_step(params, state, ids[t])
        np.testing.assert_allclose(logp, ref[t], atol=1e-12)
    with pytest.raises(ValueError, match="at least one character"):
        lm.prompt_state(params, jnp.zeros((0,), jnp.int32))


def test_decode_step_is_the_lstm_cell_with_a_one_hot_input(small):
    # decode_step looks the input row up instead of multiplying by a one-hot vector
    vocab, params = small
    state, _ = lm.prompt_state(params, lm.encode(vocab, TEXT[:5]))
    for tok in (0, 3, vocab.size - 1):
        new, logp = lm.decode_step(params, state, jnp.int32(tok))
        x = jax.nn.one_hot(tok, vocab.size, dtype=params.W.dtype)
        h, c = rnn.lstm_cell(params, (state.h, state.c), x)
        np.testing.assert_allclose(new.h, h, atol=1e-12)
        np.testing.assert_allclose(new.c, c, atol=1e-12)
        np.testing.assert_allclose(
            logp, jax.nn.log_softmax(h @ params.W_hy + params.b_y), atol=1e-12
        )


def test_beam_of_length_one_ranks_the_first_token():
    params, state, logp = _tiny()
    res = lm.beam_search(lm.decode_step, params, state, logp, width=3, length=1)
    order = np.argsort(-np.asarray(logp))[:3]
    np.testing.assert_array_equal(res.tokens[:, 0], order)
    np.testing.assert_allclose(res.scores, np.asarray(logp)[order], atol=1e-12)
    one = lm.sequence_log_prob(lm.decode_step, params, state, logp, res.tokens[0])
    assert math.isclose(float(one), float(logp[order[0]]), rel_tol=1e-12)


def test_softmax_temperature_and_entropy():
    z = np.array([2.0, 1.0, -0.5, 0.0])
    for T in (0.25, 1.0, 3.0):
        e = np.exp(z / T)
        np.testing.assert_allclose(lm.softmax_temperature(z, T), e / e.sum(), rtol=1e-12)
    big = lm.softmax_temperature(np.array([1000.0, 999.0]), 0.5)
    assert np.all(np.isfinite(big)) and math.isclose(float(big[0]), 1 / (1 + math.exp(-2)))
    hs = [float(lm.entropy(lm.softmax_temperature(z, T))) for T in (0.1, 0.5, 1.0, 2.0, 10.0)]
    assert all(a < b for a, b in zip(hs, hs[1:], strict=False))  # entropy grows with T
    assert hs[-1] < math.log(4) and math.isclose(float(lm.entropy(np.ones(4) / 4)), math.log(4))
    assert float(lm.entropy(np.array([1.0, 0.0]))) == 0.0
    with pytest.raises(ValueError, match="`temperature` must be positive"):
        lm.softmax_temperature(z, 0.0)


def test_sample_reproducible_and_greedy_limit(small):
    vocab, params = small
    prompt = lm.encode(vocab, "the ")
    a = lm.sample(params, prompt, key=KEY, length=20, temperature=1.0)
    size = lm.sample_cache_size()
    b = lm.sample(params, prompt, key=KEY, length=20, temperature=1.0)
    np.testing.assert_array_equal(a, b)
    c = lm.sample(params, prompt, key=jax.random.key(1), length=20, temperature=1.7)
    assert not np.array_equal(a, c)
    cold = lm.sample(params, prompt, key=KEY, length=20, temperature=1e-4)
    assert lm.sample_cache_size() == size  # new temperatures and keys: no recompile
    # greedy by hand: argmax, feed back
    state, logp = lm.prompt_state(params, prompt)
    ref = []
    for _ in range(20):
        tok = int(np.argmax(np.asarray(logp)))
        ref.append(tok)
        state, logp = lm.decode_step(params, state, jnp.int32(tok))
    np.testing.assert_array_equal(lm.greedy(params, prompt, length=20), ref)
    np.testing.assert_array_equal(cold, ref)
    with pytest.raises(ValueError, match="`temperature` must be positive"):
        lm.sample(params, prompt, key=KEY, length=3, temperature=-1.0)
    with pytest.raises(TypeError, match="`key` is required"):
        lm.sample(params, prompt, key=None, length=3, temperature=1.0)


def test_first_sampled_char_follows_the_distribution(small):
    vocab, params = small
    prompt = lm.encode(vocab, "sat ")
    probs = np.asarray(lm.next_char_probs(params, prompt, 0.7))
    np.testing.assert_allclose(probs.sum(), 1.0, rtol=1e-12)
    keys = jax.random.split(jax.random.key(9), 4000)
    first = np.array(
        [int(lm.sample(params, prompt, key=k, length=1, temperature=0.7)[0]) for k in keys[:4000]]
    )
    freq = np.bincount(first, minlength=vocab.size) / len(first)
    assert np.max(np.abs(freq - probs)) < 4 * np.sqrt(0.25 / len(first))


def test_beam_width_one_is_greedy(small):
    vocab, params = small
    prompt = lm.encode(vocab, "on the ")
    state, logp = lm.prompt_state(params, prompt)
    res = lm.beam_search(lm.decode_step, params, state, logp, width=1, length=8)
    np.testing.assert_array_equal(res.tokens[0], lm.greedy(params, prompt, length=8))
    seq_lp = lm.sequence_log_prob(lm.decode_step, params, state, logp, res.tokens[0])
    assert math.isclose(float(res.scores[0]), float(seq_lp), rel_tol=1e-10)


def _tiny(V=5, seed=3):
    params = lm.init(key=jax.random.key(seed), vocab_size=V, hidden_dim=4)
    params = params._replace(W_hy=3.0 * params.W_hy)  # peaked distributions: beams matter
    return params, *lm.prompt_state(params, jnp.array([0, 1], jnp.int32))


def test_exhaustive_scores_are_independent_log_probs():
    params, state, logp = _tiny()
    L = 3
    ex = lm.exhaustive_search(lm.decode_step, params, state, logp, length=L)
    assert ex.tokens.shape == (125, 3)
    assert np.all(np.diff(np.asarray(ex.scores)) <= 0)  # sorted, best first
    # the probabilities of all sequences sum to 1
    assert math.isclose(float(jnp.sum(jnp.exp(ex.scores))), 1.0, rel_tol=1e-10)
    # independent scores from the batched teacher-forced model
    prompt = np.array([0, 1])
    for seq, score in zip(np.asarray(ex.tokens)[:5], np.asarray(ex.scores)[:5], strict=True):
        full = np.concatenate([prompt, seq])
        z = _np_lstm_logits(params, full[:-1])
        lp = z - np.log(np.exp(z).sum(-1, keepdims=True))
        ref = sum(lp[len(prompt) - 1 + t, seq[t]] for t in range(L))
        assert math.isclose(score, ref, rel_tol=1e-9)
    brute = {tuple(s): None for s in itertools.product(range(5), repeat=3)}
    assert {tuple(s) for s in np.asarray(ex.tokens).tolist()} == set(brute)


def test_wide_beam_equals_exhaustive():
    params, state, logp = _tiny()
    V, L = 5, 4
    ex = lm.exhaustive_search(lm.decode_step, params, state, logp, length=L)
    wide = lm.beam_search(lm.decode_step, params, state, logp, width=V ** (L - 1), length=L)
    np.testing.assert_array_equal(wide.tokens[0], ex.tokens[0])
    assert math.isclose(float(wide.scores[0]), float(ex.scores[0]), rel_tol=1e-10)
    full = lm.beam_search(lm.decode_step, params, state, logp, width=V**L, length=L)
    np.testing.assert_array_equal(full.tokens, ex.tokens)
    np.testing.assert_allclose(full.scores, ex.scores, rtol=1e-10)
    # widths beyond V**L leave -inf slots
    over = lm.beam_search(lm.decode_step, params, state, logp, width=30, length=2)
    assert np.all(np.isneginf(np.asarray(over.scores)[25:])) and np.all(
        np.isfinite(over.scores[:25])
    )
    # beams never get worse with width on this case, and the score is the sum of log-probs
    best = [
        float(lm.beam_search(lm.decode_step, params, state, logp, width=w, length=L).scores[0])
        for w in (1, 5, 125)
    ]
    assert best[-1] == pytest.approx(float(ex.scores[0]))
    assert max(best) <= float(ex.scores[0]) + 1e-12


def test_search_errors():
    params, state, logp = _tiny()
    with pytest.raises(ValueError, match="too large"):
        lm.exhaustive_search(lm.decode_step, params, state, logp, length=9)
    with pytest.raises(TypeError, match="`width` must be a positive integer"):
        lm.beam_search(lm.decode_step, params, state, logp, width=2.0, length=3)
    with pytest.raises(TypeError, match="`step` must be a function"):
        lm.beam_search(None, params, state, logp, width=2, length=3)
    with pytest.raises(ValueError, match="`log_probs` must be 1-dimensional"):
        lm.beam_search(lm.decode_step, params, state, logp[None], width=2, length=3)


# ------------------------------------------------------------------------------ baselines


def test_ngram_baselines_match_counter():
    vocab = lm.build_vocab(TEXT)
    ids = np.asarray(lm.encode(vocab, TEXT))
    V, n, k = vocab.size, len(ids), 0.5
    uni = collections.Counter(ids.tolist())
    pairs = collections.Counter(zip(ids[:-1].tolist(), ids[1:].tolist(), strict=True))
    prev = collections.Counter(ids[:-1].tolist())
    lu = np.asarray(lm.unigram_log_probs(ids, vocab_size=V, k=k))
    lb = np.asarray(lm.bigram_log_probs(ids, vocab_size=V, k=k))
    for a in range(V):
        assert math.isclose(lu[a], math.log((uni[a] + k) / (n + k * V)), rel_tol=1e-12)
        for b in range(V):
            ref = math.log((pairs[(a, b)] + k) / (prev[a] + k * V))
            assert math.isclose(lb[a, b], ref, rel_tol=1e-12)
    np.testing.assert_allclose(np.exp(lb).sum(1), 1.0, rtol=1e-12)
    x, y = ids[:-1], ids[1:]
    ref_bi = -np.mean(
        [math.log((pairs[(a, b)] + k) / (prev[a] + k * V)) for a, b in zip(x, y, strict=True)]
    )
    assert math.isclose(float(lm.bigram_loss(lb, x, y)), ref_bi, rel_tol=1e-12)
    ref_uni = -np.mean([lu[b] for b in y])
    assert math.isclose(float(lm.unigram_loss(lu, y)), ref_uni, rel_tol=1e-12)
    # on this text the bigram beats the unigram, and k = 0 is the maximum-likelihood fit
    assert float(lm.bigram_loss(lb, x, y)) < float(lm.unigram_loss(lu, y))
    mle = np.asarray(lm.unigram_log_probs(ids, vocab_size=V, k=0.0))
    np.testing.assert_allclose(np.exp(mle), np.bincount(ids, minlength=V) / n, rtol=1e-12)
    with pytest.raises(ValueError, match="`k` must be non-negative"):
        lm.bigram_log_probs(ids, vocab_size=V, k=-1.0)
    with pytest.raises(ValueError, match="the same shape"):
        lm.bigram_loss(lb, x[:3], y)


# ------------------------------------------------------------------------------ the widget


def test_temperature_explorer_matches_library_and_does_not_recompile(small):
    from course_lib import widgets

    vocab, params = small
    demo = widgets.temperature_explorer(params, vocab, "the cat ", length=40)
    first = demo.compute(temperature=0.5, seed=1)
    size = lm.decoding_cache_size()
    views = {T: demo.compute(temperature=T, seed=s) for T, s in [(0.2, 0), (1.0, 3), (2.5, 7)]}
    assert lm.decoding_cache_size() == size  # moving the sliders never recompiles
    prompt = lm.encode(vocab, "the cat ")
    for (T, s), v in zip([(0.2, 0), (1.0, 3), (2.5, 7)], views.values(), strict=True):
        np.testing.assert_allclose(v.probs, lm.next_char_probs(params, prompt, T), rtol=1e-10)
        toks = lm.sample(params, prompt, key=jax.random.key(s), length=40, temperature=T)
        assert v.text == lm.decode(vocab, toks) and len(v.text) == 40
    assert views[0.2].entropy < views[1.0].entropy < views[2.5].entropy
    assert first.text != views[1.0].text
    assert demo.set(temperature=1.0, seed=3).text == views[1.0].text  # the picture's sample
