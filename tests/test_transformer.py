"""course_lib.transformer: attention, heads, positions, masks, layer norm and the pre-LN block.

Oracles: a NumPy implementation written out here with loops over heads, queries and keys; the
hand-written backward passes against ``jax.vjp`` and central finite differences (float64).
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import central_gradient
from course_lib import transformer

SDPA = transformer.scaled_dot_product_attention

RNG = np.random.default_rng(0)


def _np_softmax(z):
    z = z - z.max()
    e = np.exp(z)
    return e / e.sum()


def _np_attention(Q, K, V, mask=None):
    """Loops: one query at a time, one key at a time."""
    Tq, dk = Q.shape
    out = np.zeros((Tq, V.shape[1]))
    for t in range(Tq):
        scores = np.array([Q[t] @ K[s] / math.sqrt(dk) for s in range(K.shape[0])])
        allowed = np.ones(K.shape[0], bool) if mask is None else mask[t]
        w = np.zeros(K.shape[0])
        w[allowed] = _np_softmax(scores[allowed])
        for s in range(K.shape[0]):
            out[t] += w[s] * V[s]
    return out


def _np_layer_norm(x, gamma, beta, eps=transformer.LN_EPS):
    out = np.zeros_like(x)
    for idx in np.ndindex(x.shape[:-1]):
        v = x[idx]
        out[idx] = gamma * (v - v.mean()) / math.sqrt(v.var() + eps) + beta
    return out


def _np_mha(params, x, h, mask=None):
    """Loops over heads: slice the projections' columns, attend, concatenate, project."""
    Wq, Wk, Wv, Wo = (np.asarray(w) for w in params)
    d = x.shape[1]
    dh = d // h
    heads = []
    for i in range(h):
        cols = slice(i * dh, (i + 1) * dh)
        heads.append(_np_attention(x @ Wq[:, cols], x @ Wk[:, cols], x @ Wv[:, cols], mask))
    return np.concatenate(heads, axis=1) @ Wo


def _np_gelu(z):
    from math import erf

    return np.vectorize(lambda v: 0.5 * v * (1.0 + erf(v / math.sqrt(2.0))))(z)


def _np_block(p, x, h, mask):
    ln1 = _np_layer_norm(x, np.asarray(p.ln1_gamma), np.asarray(p.ln1_beta))
    x = x + _np_mha(p.attn, ln1, h, mask)
    ln2 = _np_layer_norm(x, np.asarray(p.ln2_gamma), np.asarray(p.ln2_beta))
    m = p.mlp
    hid = _np_gelu(ln2 @ np.asarray(m.W1) + np.asarray(m.b1))
    return x + hid @ np.asarray(m.W2) + np.asarray(m.b2)


def _qkv(tq=5, tk=6, dk=4, dv=3, seed=0):
    r = np.random.default_rng(seed)
    return r.normal(size=(tq, dk)), r.normal(size=(tk, dk)), r.normal(size=(tk, dv))


# ------------------------------------------------------------------------------ attention


def test_attention_matches_numpy_loops_with_and_without_mask():
    Q, K, V = _qkv()
    np.testing.assert_allclose(SDPA(Q, K, V), _np_attention(Q, K, V),
                               rtol=1e-12, atol=1e-12)  # fmt: skip
    mask = RNG.random((5, 6)) < 0.6
    mask[:, 0] = True  # every query sees at least one key
    got = transformer.scaled_dot_product_attention(Q, K, V, jnp.asarray(mask))
    np.testing.assert_allclose(got, _np_attention(Q, K, V, mask), rtol=1e-12, atol=1e-12)


def test_attention_weights_are_a_distribution_and_zero_where_masked():
    Q, K, _ = _qkv(6, 6)
    A = np.asarray(transformer.attention_weights(Q, K, transformer.causal_mask(6)))
    np.testing.assert_allclose(A.sum(axis=1), 1.0, atol=1e-12)
    assert np.all(A >= 0) and np.all(A[np.triu_indices(6, 1)] == 0.0)
    np.testing.assert_allclose(A[0, 0], 1.0)  # the first position sees only itself


def test_batched_attention_equals_one_example_at_a_time():
    r = np.random.default_rng(1)
    Q, K, V = r.normal(size=(2, 3, 5, 4)), r.normal(size=(2, 3, 5, 4)), r.normal(size=(2, 3, 5, 2))
    got = transformer.scaled_dot_product_attention(Q, K, V, transformer.causal_mask(5))
    for b in range(2):
        for h in range(3):
            want = _np_attention(Q[b, h], K[b, h], V[b, h], np.tril(np.ones((5, 5), bool)))
            np.testing.assert_allclose(got[b, h], want, rtol=1e-12, atol=1e-12)


def test_the_scale_keeps_the_score_variance_at_one():
    r = np.random.default_rng(9)
    for dk in (4, 64, 256):
        raw = np.sum(r.normal(size=(4000, dk)) * r.normal(size=(4000, dk)), axis=1)
        assert abs(raw.var() / dk - 1.0) < 0.1  # variance d_k without the scale
        assert abs((raw / math.sqrt(dk)).var() - 1.0) < 0.1


def test_attention_backward_matches_vjp_and_finite_differences():
    Q, K, V = _qkv(4, 5, 3, 2, seed=3)
    mask = np.tril(np.ones((4, 5), bool), 1)
    G = np.random.default_rng(4).normal(size=(4, 2))
    dQ, dK, dV = transformer.attention_backward(Q, K, V, G, jnp.asarray(mask))

    def f(q, k, v):
        return transformer.scaled_dot_product_attention(q, k, v, jnp.asarray(mask))

    _, vjp = jax.vjp(f, jnp.asarray(Q), jnp.asarray(K), jnp.asarray(V))
    for mine, auto in zip((dQ, dK, dV), vjp(jnp.asarray(G)), strict=True):
        np.testing.assert_allclose(mine, auto, rtol=1e-10, atol=1e-12)
    loss = lambda q, k, v: float(jnp.sum(f(q, k, v) * G))  # noqa: E731
    np.testing.assert_allclose(dQ, central_gradient(lambda q: loss(q, K, V), Q), atol=1e-7)
    np.testing.assert_allclose(dK, central_gradient(lambda k: loss(Q, k, V), K), atol=1e-7)
    np.testing.assert_allclose(dV, central_gradient(lambda v: loss(Q, K, v), V), atol=1e-7)
    assert np.all(np.asarray(dK)[~mask.any(axis=0)] == 0.0)  # a key no query sees: no gradient


def test_causal_mask_and_a_jacobian_block_that_is_exactly_zero():
    np.testing.assert_array_equal(transformer.causal_mask(4), np.tril(np.ones((4, 4), bool)))
    params = transformer.block_init(key=jax.random.key(1), d_model=8)
    x = jax.random.normal(jax.random.key(2), (6, 8))
    J = jax.jit(
        jax.jacobian(
            lambda z: transformer.block(params, z, n_heads=2, mask=transformer.causal_mask(6))
        )
    )(x)
    J = np.asarray(J)  # (6, 8, 6, 8): output t, input s
    for t in range(6):
        assert np.all(J[t, :, t + 1 :, :] == 0.0)
        assert np.abs(J[t, :, : t + 1, :]).max() > 1e-3
    J_full = np.asarray(jax.jit(jax.jacobian(lambda z: transformer.block(params, z, n_heads=2)))(x))
    assert np.abs(J_full[0, :, 5, :]).max() > 1e-3  # without the mask the future leaks


# ------------------------------------------------------------------------------ heads


def test_split_and_merge_heads_are_inverse_and_slice_columns():
    x = jnp.asarray(RNG.normal(size=(2, 5, 12)))
    s = transformer.split_heads(x, 3)
    assert s.shape == (2, 3, 5, 4)
    np.testing.assert_array_equal(s[1, 2], x[1, :, 8:12])
    np.testing.assert_array_equal(transformer.merge_heads(s), x)


def test_multi_head_attention_matches_numpy_loops_over_heads():
    params = transformer.block_init(key=jax.random.key(3), d_model=12).attn
    x = RNG.normal(size=(7, 12))
    mask = np.tril(np.ones((7, 7), bool))
    mha = jax.jit(transformer.multi_head_attention, static_argnames="n_heads")
    for h in (1, 3, 4):
        got = mha(params, jnp.asarray(x), n_heads=h, mask=jnp.asarray(mask))
        np.testing.assert_allclose(got, _np_mha(params, x, h, mask), rtol=1e-10, atol=1e-12)
    split = transformer.merge_heads(
        transformer.scaled_dot_product_attention(
            *(transformer.split_heads(jnp.asarray(x) @ W, 3) for W in params[:3]), jnp.asarray(mask)
        )
    )
    np.testing.assert_allclose(mha(params, jnp.asarray(x), n_heads=3, mask=jnp.asarray(mask)),
                               split @ params.W_o, rtol=1e-10, atol=1e-12)  # fmt: skip
    w = transformer.head_weights(params, jnp.asarray(x), n_heads=3, mask=jnp.asarray(mask))
    assert w.shape == (3, 7, 7)
    np.testing.assert_allclose(w.sum(-1), 1.0, atol=1e-12)


def test_self_attention_is_permutation_equivariant_without_positions():
    params = transformer.block_init(key=jax.random.key(4), d_model=8)
    x = jax.random.normal(jax.random.key(5), (6, 8))
    perm = np.array([3, 0, 5, 1, 4, 2])
    f = jax.jit(lambda z: transformer.block(params, z, n_heads=2))
    out = f(x)
    np.testing.assert_allclose(f(x[perm]), out[perm], atol=1e-12)
    P = transformer.sinusoidal_positions(6, 8)
    assert np.abs(np.asarray(f(x[perm] + P) - f(x + P)[perm])).max() > 1e-2


# ------------------------------------------------------------------------------ positions


def test_sinusoidal_positions_match_the_formula_entry_by_entry():
    T, d = 9, 6
    P = np.asarray(transformer.sinusoidal_positions(T, d))
    for t in range(T):
        for j in range(d):
            i = j // 2
            angle = t / 10000 ** (2 * i / d)
            assert P[t, j] == pytest.approx(math.sin(angle) if j % 2 == 0 else math.cos(angle),
                                            abs=1e-12)  # fmt: skip
    rows = {tuple(np.round(r, 9)) for r in P}
    assert len(rows) == T  # every position distinct


# ------------------------------------------------------------------------------ layer norm


def test_layer_norm_matches_numpy_and_normalizes():
    x = RNG.normal(size=(3, 4, 10)) * 5 + 2
    g, b = RNG.normal(size=10), RNG.normal(size=10)
    np.testing.assert_allclose(transformer.layer_norm(x, g, b), _np_layer_norm(x, g, b), rtol=1e-10)
    y = np.asarray(transformer.layer_norm(x, np.ones(10), np.zeros(10)))
    np.testing.assert_allclose(y.mean(-1), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.var(-1), 1.0, rtol=1e-4)


def test_layer_norm_backward_matches_vjp_and_finite_differences():
    r = np.random.default_rng(6)
    x, g, b, dy = r.normal(size=(3, 5)), r.normal(size=5), r.normal(size=5), r.normal(size=(3, 5))
    dx, dg, db = transformer.layer_norm_backward(x, g, dy)
    _, vjp = jax.vjp(transformer.layer_norm, jnp.asarray(x), jnp.asarray(g), jnp.asarray(b))
    for mine, auto in zip((dx, dg, db), vjp(jnp.asarray(dy)), strict=True):
        np.testing.assert_allclose(mine, auto, rtol=1e-10, atol=1e-12)
    loss = lambda xx, gg, bb: float(jnp.sum(transformer.layer_norm(xx, gg, bb) * dy))  # noqa: E731
    np.testing.assert_allclose(dx, central_gradient(lambda v: loss(v, g, b), x), atol=1e-7)
    np.testing.assert_allclose(dg, central_gradient(lambda v: loss(x, v, b), g), atol=1e-7)
    np.testing.assert_allclose(db, central_gradient(lambda v: loss(x, g, v), b), atol=1e-7)


# ------------------------------------------------------------------------------ the block


def test_block_matches_numpy_and_counts_its_parameters():
    params = transformer.block_init(key=jax.random.key(7), d_model=8)
    params = params._replace(ln1_beta=params.ln1_beta + 0.1, ln2_gamma=params.ln2_gamma * 1.5)
    x = RNG.normal(size=(5, 8))
    mask = np.tril(np.ones((5, 5), bool))
    got = jax.jit(transformer.block, static_argnames="n_heads")(
        params, jnp.asarray(x), n_heads=2, mask=jnp.asarray(mask)
    )
    np.testing.assert_allclose(got, _np_block(params, x, 2, mask), rtol=1e-9, atol=1e-10)
    for d in (8, 64):
        p = jax.eval_shape(lambda d=d: transformer.block_init(key=jax.random.key(d), d_model=d))
        assert transformer.param_count(p) == transformer.block_param_count(d) == 12 * d * d + 9 * d


def test_block_init_is_deterministic_and_scales_the_residual_writers():
    a = transformer.block_init(key=jax.random.key(8), d_model=32, n_layers=8)
    b = transformer.block_init(key=jax.random.key(8), d_model=32, n_layers=8)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(x, y)
    ratio = float(jnp.std(a.attn.W_o) / jnp.std(a.attn.W_q))
    assert ratio == pytest.approx(1 / 4, rel=0.15)  # 1/sqrt(2 * 8)


# ------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: SDPA(np.ones((3, 4)), np.ones((3, 5)), np.ones((3, 2))),
         ValueError, "same last dimension"),
        (lambda: SDPA(np.ones((3, 4)), np.ones((3, 4)), np.ones((2, 2))),
         ValueError, "one row per key"),
        (lambda: SDPA(np.ones(4), np.ones(4), np.ones(4)),
         ValueError, "at least 2 dimensions"),
        (lambda: SDPA(np.ones((3, 4)), np.ones((3, 4)), np.ones((3, 2)),
                                                 np.ones((3, 3))), TypeError, "boolean"),
        (lambda: SDPA(np.ones((3, 4)), np.ones((3, 4)), np.ones((3, 2)),
                                                 np.ones((2, 3), bool)), ValueError, r"\(Tq, Tk\)"),
        (lambda: SDPA("Q", np.ones((3, 4)), np.ones((3, 2))),
         TypeError, "`Q`"),
        (lambda: transformer.causal_mask(0), ValueError, "`T`"),
        (lambda: transformer.causal_mask(2.5), TypeError, "`T`"),
        (lambda: transformer.sinusoidal_positions(4, 5), ValueError, "even"),
        (lambda: transformer.split_heads(np.ones((4, 6)), 4), ValueError, "divisible"),
        (lambda: transformer.layer_norm_backward(np.ones((2, 3)), np.ones(4), np.ones((2, 3))),
         ValueError, "`gamma`"),
        (lambda: transformer.attention_backward(np.ones((3, 4)), np.ones((3, 4)), np.ones((3, 2)),
                                       np.ones((3, 3))), ValueError, "`dO`"),
        (lambda: transformer.block_init(key=None, d_model=4), TypeError, "`key`"),
        (lambda: transformer.block_param_count(-1), ValueError, "`d_model`"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_with_a_clear_error(call, error, match):
    with pytest.raises(error, match=match):
        call()
