"""course_lib.transformer_lm: the character-level transformer language model.

Shapes, determinism, causality (a logit never depends on later characters), the scanned trainer
against a loop of steps, the loss against a NumPy forward pass of the readout, no recompiles
when the learning rate or the window changes, sampling, and bad input.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import transformer
from course_lib import transformer_lm as tlm

V, D, L, H, T = 7, 8, 2, 2, 6
_logits = jax.jit(tlm.logits, static_argnames="n_heads")


@functools.cache
def _params():
    return tlm.init(key=jax.random.key(0), vocab_size=V, d_model=D, n_layers=L, n_heads=H,
                    max_len=T)  # fmt: skip


def _batch(seed, shape=(3, T)):
    r = np.random.default_rng(seed)
    return jnp.asarray(r.integers(0, V, shape), jnp.int32), jnp.asarray(r.integers(0, V, shape),
                                                                         jnp.int32)  # fmt: skip


def test_shapes_and_parameter_count():
    p = _params()
    assert p.embed.shape == (V, D) and len(p.blocks) == L and p.W_out.shape == (D, V)
    assert p.positions.shape == (T, D)
    x, _ = _batch(0)
    assert jax.eval_shape(lambda: tlm.logits(p, x, n_heads=H)).shape == (3, T, V)
    assert tlm.param_count(p) == V * D + L * transformer.block_param_count(D) + 2 * D + D * V + V


def test_init_is_deterministic_under_a_fixed_key():
    a = _params()
    b = tlm.init(key=jax.random.key(0), vocab_size=V, d_model=D, n_layers=L, n_heads=H, max_len=T)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(x, y)
    c = tlm.init(key=jax.random.key(1), vocab_size=V, d_model=D, n_layers=L, n_heads=H, max_len=T)
    assert not np.array_equal(a.embed, c.embed)


def test_loss_is_the_mean_negative_log_probability_of_the_targets():
    p = _params()
    x, y = _batch(1)
    z = np.asarray(_logits(p, x, n_heads=H))
    logp = z - np.log(np.exp(z - z.max(-1, keepdims=True)).sum(-1, keepdims=True)) - z.max(
        -1, keepdims=True)  # fmt: skip
    want = -np.mean([logp[b, t, int(y[b, t])] for b in range(3) for t in range(T)])
    assert float(tlm.evaluate(p, x, y, n_heads=H)) == pytest.approx(want, rel=1e-10)
    h = np.asarray(jax.jit(tlm.hidden, static_argnames="n_heads")(p, x, n_heads=H))
    np.testing.assert_allclose(z, h @ np.asarray(p.W_out) + np.asarray(p.b_out), rtol=1e-10)


def test_a_logit_never_depends_on_later_characters():
    p = _params()
    x, _ = _batch(2, (1, T))
    z = np.asarray(_logits(p, x, n_heads=H))
    for t in range(T - 1):
        changed = x.at[0, t + 1 :].set((x[0, t + 1 :] + 1) % V)
        z2 = np.asarray(_logits(p, changed, n_heads=H))
        np.testing.assert_array_equal(z2[0, : t + 1], z[0, : t + 1])
        assert np.abs(z2[0, t + 1 :] - z[0, t + 1 :]).max() > 1e-6


def test_scanned_training_equals_a_loop_of_steps_and_lowers_the_loss():
    p0 = _params()
    r = np.random.default_rng(3)
    ids = jnp.asarray(np.tile(np.arange(V), 4)[: 4 * T + 1], jnp.int32)  # a periodic text
    starts = r.integers(0, ids.shape[0] - T, (30, 4))
    X = jnp.stack([jnp.stack([ids[s : s + T] for s in row]) for row in starts])
    Y = jnp.stack([jnp.stack([ids[s + 1 : s + T + 1] for s in row]) for row in starts])
    p, o = p0, tlm.adam_init(p0)
    losses = []
    for i in range(5):
        p, o, v = tlm.train_step(p, o, X[i], Y[i], 1e-2, n_heads=H)
        losses.append(float(v))
    ps, _, long = tlm.train(p0, tlm.adam_init(p0), X, Y, 1e-2, n_heads=H)
    np.testing.assert_allclose(long[:5], losses, rtol=1e-9)  # step i's loss: params after i - 1
    np.testing.assert_array_equal(ps.positions, p0.positions)  # the sinusoids are not trained
    assert not np.array_equal(ps.embed, p0.embed)
    assert float(long[-5:].mean()) < 0.5 * float(long[:3].mean())  # a periodic text is easy


def test_new_learning_rates_and_windows_do_not_recompile():
    p = _params()
    o = tlm.adam_init(p)
    x, y = _batch(4)
    tlm.train_step(p, o, x, y, 1e-3, n_heads=H)
    before = tlm.train_step_cache_size()
    for lr in (2e-3, 0.05):
        tlm.train_step(p, o, x, y, lr, n_heads=H)
    assert tlm.train_step_cache_size() == before
    maps = tlm.attention_maps(p, x[0], n_heads=H)
    before = tlm.attention_maps_cache_size()
    tlm.attention_maps(p, x[1], n_heads=H)
    assert tlm.attention_maps_cache_size() == before
    assert maps.shape == (L, H, T, T)
    np.testing.assert_allclose(maps.sum(-1), 1.0, atol=1e-12)
    assert np.all(np.asarray(maps)[..., np.triu_indices(T, 1)[0], np.triu_indices(T, 1)[1]] == 0)


def test_attention_maps_are_the_first_blocks_head_weights():
    p = _params()
    x, _ = _batch(5)
    maps = tlm.attention_maps(p, x[0], n_heads=H)
    b = p.blocks[0]
    z = p.embed[x[0]] + p.positions
    h = transformer.layer_norm(z, b.ln1_gamma, b.ln1_beta)
    want = transformer.head_weights(b.attn, h, n_heads=H, mask=transformer.causal_mask(T))
    np.testing.assert_allclose(maps[0], want, rtol=1e-10, atol=1e-12)


def test_sampling_is_deterministic_and_follows_the_model():
    p = _params()
    prompt = jnp.asarray([1, 2, 3], jnp.int32)
    a = tlm.sample(p, prompt, key=jax.random.key(0), length=12, n_heads=H)
    b = tlm.sample(p, prompt, key=jax.random.key(0), length=12, n_heads=H)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (12,) and a.dtype == jnp.int32 and int(a.max()) < V
    # a very low temperature is greedy decoding: the first draw is the argmax after the prompt
    g = tlm.sample(p, prompt, key=jax.random.key(1), length=12, n_heads=H, temperature=1e-4)
    z = _logits(p, prompt[None], n_heads=H)[0, -1]
    assert int(g[0]) == int(jnp.argmax(z))
    # once the text is longer than max_len, only the last max_len characters count
    ctx = jnp.concatenate([prompt, g])[-T - 1 : -1]
    assert int(g[-1]) == int(jnp.argmax(_logits(p, ctx[None], n_heads=H)[0, -1]))


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: tlm.init(key=jax.random.key(0), vocab_size=5, d_model=6, n_layers=1, n_heads=4,
                          max_len=4), ValueError, "divisible"),
        (lambda: tlm.init(key=None, vocab_size=5, d_model=8, n_layers=1, n_heads=2, max_len=4),
         TypeError, "`key`"),
        (lambda: tlm.evaluate(_params(), np.zeros((2, T + 1), int), np.zeros((2, T + 1), int),
                              n_heads=H), ValueError, "max_len"),
        (lambda: tlm.evaluate(_params(), np.full((2, 3), V), np.zeros((2, 3), int), n_heads=H),
         ValueError, "`inputs` must lie in"),
        (lambda: tlm.evaluate(_params(), np.zeros((2, 3)), np.zeros((2, 3), int), n_heads=H),
         TypeError, "`inputs`"),
        (lambda: tlm.evaluate(_params(), np.zeros((2, 3), int), np.zeros((2, 4), int), n_heads=H),
         ValueError, "same shape"),
        (lambda: tlm.evaluate(_params(), np.zeros((2, 3), int), np.zeros((2, 3), int), n_heads=3),
         ValueError, "does not divide"),
        (lambda: tlm.evaluate({"embed": 1}, np.zeros((2, 3), int), np.zeros((2, 3), int),
                              n_heads=H), TypeError, "TransformerLMParams"),
        (lambda: tlm.train_step(_params(), tlm.adam_init(_params()), *_batch(0), -1.0, n_heads=H),
         ValueError, "`learning_rate`"),
        (lambda: tlm.sample(_params(), np.zeros(0, int), key=jax.random.key(0), length=3,
                            n_heads=H), ValueError, "at least one"),
        (lambda: tlm.sample(_params(), np.zeros(2, int), key=jax.random.key(0), length=3,
                            n_heads=H, temperature=0.0), ValueError, "`temperature`"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_with_a_clear_error(call, error, match):
    with pytest.raises(error, match=match):
        call()
