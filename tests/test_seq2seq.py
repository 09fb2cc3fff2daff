"""course_lib.seq2seq and course_lib.sentence_classifier: the data, the encoder–decoder against a
NumPy forward pass, gradients against finite differences, training (determinism, seeds, no
recompiles) and bad input."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import widget_views

from course_lib import sentence_classifier as sc
from course_lib import seq2seq as S

KEY = jax.random.key(0)


# ------------------------------------------------------------------------------ NumPy oracle


def _sig(z):
    return 1.0 / (1.0 + np.exp(-z))


def _gru_np(g, h, x_id, V):
    x = np.zeros(V)
    x[x_id] = 1.0
    zr = _sig(np.concatenate([x, h]) @ g.W_zr + g.b_zr)
    z, r = np.split(zr, 2)
    n = np.tanh(np.concatenate([x, r * h]) @ g.W_n + g.b_n)
    return z * h + (1 - z) * n


def _np_params(params):
    return jax.tree.map(lambda a: np.asarray(a, np.float64), params)


def _np_forward(params, src, length, dec_in):
    """Teacher-forced logits written as plain NumPy loops."""
    p = _np_params(params)
    V = S.VOCAB
    h = np.zeros(p.encoder.W_hy.shape[0])
    for t in range(length):  # only the real tokens
        h = _gru_np(p.encoder, h, int(src[t]), V)
    s = np.tanh(h @ p.encoder.W_hy + p.encoder.b_y)
    out = []
    for tok in dec_in:
        s = _gru_np(p.decoder, s, int(tok), V)
        out.append(s @ p.decoder.W_hy + p.decoder.b_y)
    return np.array(out)


@functools.cache
def _small():
    params = S.init(key=jax.random.key(1), hidden_dim=8)
    batch = S.reversal_data(key=jax.random.key(2), n=5, max_len=4)
    return params, batch


# ------------------------------------------------------------------------------ data


def test_reversal_batches_reverse_end_and_mask():
    b = S.reversal_data(key=KEY, n=50, max_len=6, min_len=2)
    src, tgt, dec_in, mask = (np.asarray(a) for a in (b.src, b.dec_tgt, b.dec_in, b.mask))
    assert src.shape == (50, 6) and tgt.shape == dec_in.shape == mask.shape == (50, 7)
    for i, n in enumerate(np.asarray(b.length)):
        assert 2 <= n <= 6
        assert list(tgt[i, :n]) == list(src[i, :n][::-1])
        assert tgt[i, n] == S.END and set(tgt[i, n + 1 :]) <= {S.PAD}
        assert set(src[i, n:]) <= {S.PAD} and mask[i].sum() == n + 1
        assert dec_in[i, 0] == S.START and list(dec_in[i, 1:]) == list(tgt[i, :-1])
    again = S.reversal_data(key=KEY, n=50, max_len=6, min_len=2)
    np.testing.assert_array_equal(again.src, b.src)  # same key, same data


def test_copy_targets_and_shift_right():
    src = jnp.array([[4, 2, 7, 1], [5, 5, 0, 3]])
    b = S.make_batch(src, jnp.array([3, 1]), targets=src)
    np.testing.assert_array_equal(b.dec_tgt, [[4, 2, 7, S.END, S.PAD], [5, S.END, S.PAD, S.PAD,
                                                                         S.PAD]])  # fmt: skip
    np.testing.assert_array_equal(S.shift_right(jnp.array([[1, 2, S.END]])), [[S.START, 1, 2]])


# ------------------------------------------------------------------------------ the model


def test_forced_logits_and_loss_equal_a_numpy_forward_pass():
    params, b = _small()
    logits = jax.jit(jax.vmap(lambda s, n, d: S.forced_logits(params, s, n, d)))(
        b.src, b.length, b.dec_in
    )
    total, count = 0.0, 0
    for i in range(5):
        ref = _np_forward(params, b.src[i], int(b.length[i]), b.dec_in[i])
        np.testing.assert_allclose(logits[i], ref, rtol=1e-4, atol=1e-5)
        logp = ref - np.log(np.exp(ref).sum(1, keepdims=True))
        for t in range(int(b.length[i]) + 1):  # the sum of per-step cross-entropies
            total -= logp[t, int(b.dec_tgt[i, t])]
            count += 1
    assert float(S.evaluate(params, b).loss) == pytest.approx(total / count, rel=1e-5)


def test_padding_does_not_reach_the_code():
    params, _ = _small()
    a = S.encode(params, jnp.array([3, 1, 4, S.PAD]), 3)
    b = S.encode(params, jnp.array([3, 1, 4, 9]), 3)
    np.testing.assert_allclose(a, b)
    assert not np.allclose(a, S.encode(params, jnp.array([3, 1, 5, 9]), 3))


def test_greedy_decoding_matches_numpy_and_stops_at_end():
    params, b = _small()
    # a decoder that strongly prefers END after the first step, to see it stop
    dec = params.decoder._replace(b_y=params.decoder.b_y.at[S.END].add(2.0))
    for p in (params, params._replace(decoder=dec)):
        for i in range(3):
            tokens, probs = S.decode(p, b.src[i], int(b.length[i]))
            tokens = np.asarray(tokens)
            out, done = [], False
            # greedy by hand with the NumPy forward: feed the argmax back
            seq = [S.START]
            for _ in range(5):
                nxt = int(np.argmax(_np_forward(p, b.src[i], int(b.length[i]), seq)[-1]))
                out.append(S.PAD if done else nxt)
                done = done or nxt == S.END
                seq.append(nxt)
            np.testing.assert_array_equal(tokens, out)
            ends = np.flatnonzero(tokens == S.END)
            if ends.size:  # after END only PAD, and zero probabilities
                assert set(tokens[ends[0] + 1 :]) <= {S.PAD}
                assert np.all(np.asarray(probs)[ends[0] + 1 :] == 0)


def test_only_the_decoder_has_outputs_yet_the_encoder_gets_gradients():
    params, b = _small()
    grads = jax.jit(jax.grad(S.loss))(params, b)
    assert float(jnp.abs(grads.encoder.W_zr).max()) > 1e-4
    assert float(jnp.abs(grads.encoder.W_hy).max()) > 1e-4  # the link W_es too


# ------------------------------------------------------------------------------ training


def test_training_is_deterministic_learns_for_every_seed_and_does_not_recompile():
    kw = {"steps": 40, "batch_size": 16, "max_len": 3}
    keys = jax.random.split(KEY, 2)
    stacked = S.train_init(S.init_seeds(keys=keys, hidden_dim=16))
    out, losses = S.train(stacked, key=KEY, learning_rate=1e-2, **kw)
    assert losses.shape == (2, 40) and float(losses[:, -5:].mean()) < float(losses[:, 0].mean())
    again, _ = S.train(stacked, key=KEY, learning_rate=1e-2, **kw)
    np.testing.assert_array_equal(out.params.decoder.W_n, again.params.decoder.W_n)
    n = widget_views.compiles()
    S.train(stacked, key=KEY, learning_rate=3e-3, min_len=2, **kw)  # traced: no recompile
    assert widget_views.compiles() == n


def test_decode_does_not_recompile_for_other_params_or_examples():
    params, b = _small()
    S.decode(params, b.src[0], 2)
    n = widget_views.compiles()
    other = S.init(key=jax.random.key(9), hidden_dim=8)
    S.decode(other, b.src[1], 4)
    assert widget_views.compiles() == n


# ------------------------------------------------------------------------------ sentences


def test_negation_sentences_label_by_position_and_bags_do_not_tell():
    tokens, labels = sc.negation_data(key=KEY, n=400)
    tokens, labels = np.asarray(tokens), np.asarray(labels)
    for row, y in zip(tokens, labels, strict=True):
        (j,) = np.flatnonzero((row == sc.GOOD) | (row == sc.BAD))
        (k,) = np.flatnonzero(row == sc.NOT)
        assert y == int((row[j] == sc.GOOD) != (k == j - 1))
    assert 0.4 < labels.mean() < 0.6
    # a sentence and the same words with `not` moved away from the sentiment word: same bag
    a = jnp.array([[0, sc.NOT, sc.GOOD, 1, 2, 3]])
    b = jnp.array([[0, 1, sc.GOOD, sc.NOT, 2, 3]])
    np.testing.assert_array_equal(sc.bag_of_tokens(a), sc.bag_of_tokens(b))
    assert sc.sentence_text(a[0]) == "the not good film plot was"


def test_sentence_classifiers_train_the_rnn_past_the_bag():
    clf = sc.init(key=KEY, hidden_dim=16)
    clf, losses = sc.train(clf, key=jax.random.key(1), steps=300)
    rnn_acc, bag_acc = sc.accuracies(clf, *sc.negation_data(key=jax.random.key(2), n=1000))
    assert float(rnn_acc) > 0.95 and abs(float(bag_acc) - 0.5) < 0.06


# ------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: S.reversal_data(key=None, n=3, max_len=4), TypeError, "key"),
        (lambda: S.reversal_data(key=KEY, n=3, max_len=4, min_len=5), ValueError, "min_len"),
        (
            lambda: S.reversal_data(key=KEY, n=3, max_len=4, min_len=3, top_len=2),
            ValueError,
            "top_len",
        ),  # fmt: skip
        (lambda: S.make_batch([[1, 2]], [3]), ValueError, "length"),
        (lambda: S.make_batch([[1.5, 2]], [1]), TypeError, "src"),
        (lambda: S.shift_right([[1, 20]]), ValueError, "targets"),
        (lambda: S.init(key=KEY, hidden_dim=0), ValueError, "hidden_dim"),
        (lambda: S.decode({"W": 1}, [1, 2], 2), TypeError, "params"),
        (lambda: S.decode(_small()[0], [1, 2], 3), ValueError, "length"),
        (lambda: S.train(None, key=KEY, steps=2), TypeError, "state"),
        (
            lambda: S.train(S.train_init(_small()[0]), key=KEY, steps=2, learning_rate=-1.0),
            ValueError,
            "learning_rate",
        ),  # fmt: skip
        (lambda: S.evaluate(_small()[0], (1, 2)), TypeError, "batch"),
        (lambda: sc.negation_data(key=KEY, n=3, length=2), ValueError, "length"),
        (lambda: sc.bag_of_tokens([[0, 9]]), ValueError, "tokens"),
        (lambda: sc.accuracies(None, [[0]], [1]), TypeError, "params"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(call, error, match):
    with pytest.raises(error, match=match):
        call()
