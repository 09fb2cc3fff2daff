"""course_lib.rnn_architectures: bidirectional and stacked RNNs (hand BPTT against jax.grad and
finite differences), the layer-normed RNN, block-diagonal ESNs and the linear RNN as an AR model.

float64 throughout (tests/conftest.py). Oracles: ``jax.grad``, central differences, a NumPy
loop for the recurrences, the reversed-sequence identity for the backward direction, and a
direct convolution for the AR coefficients.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import widget_views

from course_lib import layers, rnn, transformer
from course_lib import rnn_architectures as ra


def _max_diff(a, b):
    return max(
        float(jnp.max(jnp.abs(x - y)))
        for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True)
    )


@pytest.fixture(scope="module")
def bi():
    params = ra.birnn_init(key=jax.random.key(0), input_dim=3, hidden_dim=4, output_dim=5)
    xs = jax.random.normal(jax.random.key(1), (6, 3))
    return params, xs, jnp.array([0, 1, 2, 3, 4, 0])


@pytest.fixture(scope="module")
def stacked():
    params = ra.stacked_init(
        key=jax.random.key(2), input_dim=3, hidden_dim=4, output_dim=5, layers=3
    )
    xs = jax.random.normal(jax.random.key(3), (5, 3))
    return params, xs, jnp.array([4, 3, 2, 1, 0])


# ------------------------------------------------------------------------------ bidirectional


def test_birnn_shapes_and_numpy_loop(bi):
    params, xs, _ = bi
    hf, hb, ys = ra.birnn_forward(params, xs)
    assert hf.shape == hb.shape == (6, 4) and ys.shape == (6, 5)
    P = jax.tree.map(np.asarray, params)
    X = np.asarray(xs)
    h = np.zeros(4)
    for t in range(6):
        h = np.tanh(P.W_xf @ X[t] + P.W_ff @ h + P.b_f)
        np.testing.assert_allclose(hf[t], h, atol=1e-13)
    h = np.zeros(4)
    for t in reversed(range(6)):
        h = np.tanh(P.W_xb @ X[t] + P.W_bb @ h + P.b_b)
        np.testing.assert_allclose(hb[t], h, atol=1e-13)
    np.testing.assert_allclose(ys, hf @ P.W_fy.T + hb @ P.W_by.T + P.b_y[None, :], atol=1e-13)


def test_backward_states_are_a_forward_rnn_on_the_reversed_sequence(bi):
    params, xs, _ = bi
    _, hb, _ = ra.birnn_forward(params, xs)
    one_way = rnn.RNNParams(
        params.W_xb, params.W_bb, params.W_by, params.b_b, jnp.zeros(5, xs.dtype)
    )
    hs, _ = rnn.forward(one_way, xs[::-1])
    np.testing.assert_allclose(hb, hs[::-1], atol=1e-14)


def test_birnn_bptt_equals_jax_grad_and_finite_differences(bi, fd_gradient):
    params, xs, labels = bi
    loss, grads = ra.birnn_bptt(params, xs, labels)
    assert float(loss) == pytest.approx(float(ra.birnn_loss(params, xs, labels)), rel=1e-14)
    assert _max_diff(grads, jax.grad(ra.birnn_loss)(params, xs, labels)) < 1e-10
    for name in ("W_ff", "W_xb", "W_by"):
        fd = fd_gradient(
            jax.jit(lambda w, name=name: ra.birnn_loss(params._replace(**{name: w}), xs, labels)),
            np.asarray(getattr(params, name)),
        )
        np.testing.assert_allclose(getattr(grads, name), fd, atol=1e-7)


def test_one_way_outputs_ignore_the_future_bidirectional_do_not(bi):
    params, xs, _ = bi
    J_bi = jax.jacobian(lambda x: ra.birnn_forward(params, x)[2])(xs)  # (T, q, T, d)
    J_one = jax.jacobian(lambda x: ra.birnn_forward(params, x, bidirectional=False)[2])(xs)
    norm_bi = jnp.abs(J_bi).sum(axis=(1, 3))
    norm_one = jnp.abs(J_one).sum(axis=(1, 3))
    upper = np.triu(np.ones((6, 6), bool), k=1)
    assert float(jnp.max(norm_one[upper])) == 0.0
    assert float(jnp.min(norm_bi[upper])) > 0.0


def test_next_token_data_and_tagging_loss():
    xs, labels = ra.next_token_data(key=jax.random.key(0), n=5, length=7, vocab=3)
    assert xs.shape == (5, 7, 3) and labels.shape == (5, 7)
    tokens = np.argmax(np.asarray(xs), axis=-1)
    np.testing.assert_array_equal(labels[:, :-1], tokens[:, 1:])
    assert np.all(np.asarray(labels[:, -1]) == 3)
    logits = jax.random.normal(jax.random.key(1), (5, 7, 4))
    mask = (jnp.arange(7)[None, :] < jnp.array([7, 3, 5, 1, 6])[:, None]).astype(float)
    lp = np.asarray(jax.nn.log_softmax(logits, axis=-1))
    want = [-lp[i, t, int(labels[i, t])] for i in range(5) for t in range(7) if mask[i, t]]
    assert float(ra.tagging_loss(logits, labels, mask)) == pytest.approx(np.mean(want), rel=1e-12)


def test_train_tagger_learns_and_does_not_recompile():
    xs, labels = ra.next_token_data(key=jax.random.key(3), n=32, length=5, vocab=3)
    params = ra.birnn_init(key=jax.random.key(4), input_dim=3, hidden_dim=6, output_dim=4)
    p1, losses = ra.train_tagger(params, xs, labels, steps=60, learning_rate=0.05)
    assert losses.shape == (60,) and float(losses[-1]) < 0.5 * float(losses[0])
    again, _ = ra.train_tagger(params, xs, labels, steps=60, learning_rate=0.05)
    assert _max_diff(p1, again) == 0.0  # deterministic
    n = widget_views.compiles()
    ra.train_tagger(params, xs, labels, steps=60, learning_rate=0.01, bidirectional=False)
    assert widget_views.compiles() == n
    acc = ra.tagger_accuracy(p1, xs, labels)
    assert 0.0 <= acc <= 1.0


# ------------------------------------------------------------------------------ stacked


def test_stacked_forward_matches_two_matrix_form(stacked):
    params, xs, _ = stacked
    hs, ys = ra.stacked_forward(params, xs)
    assert hs.shape == (3, 5, 4) and ys.shape == (5, 5)
    below = np.asarray(xs)
    for k, (W, b) in enumerate(zip(params.Ws, params.bs, strict=True)):
        p_in = W.shape[1] - 4
        one = rnn.RNNParams(W[:, :p_in], W[:, p_in:], jnp.zeros((1, 4)), b, jnp.zeros(1))
        h, _ = rnn.forward(one, below)
        np.testing.assert_allclose(hs[k], h, atol=1e-14)
        below = h


def test_stacked_bptt_equals_jax_grad_and_finite_differences(stacked, fd_gradient):
    params, xs, labels = stacked
    loss, grads = ra.stacked_bptt(params, xs, labels)
    assert float(loss) == pytest.approx(float(ra.stacked_loss(params, xs, labels)), rel=1e-14)
    assert _max_diff(grads, jax.grad(ra.stacked_loss)(params, xs, labels)) < 1e-10
    fd = fd_gradient(
        jax.jit(lambda w: ra.stacked_loss(params._replace(Ws=(w, *params.Ws[1:])), xs, labels)),
        np.asarray(params.Ws[0]),
    )
    np.testing.assert_allclose(grads.Ws[0], fd, atol=1e-7)


@pytest.mark.parametrize("layers", [1, 2, 4])
def test_stacked_param_count(layers):
    params = ra.stacked_init(
        key=jax.random.key(0), input_dim=3, hidden_dim=5, output_dim=2, layers=layers
    )
    assert sum(a.size for a in jax.tree.leaves(params)) == ra.stacked_param_count(3, 5, 2, layers)


# ------------------------------------------------------------------------------ layer norm


def test_layer_norm_backward_equals_jax_grad_and_finite_differences(fd_gradient):
    x = jax.random.normal(jax.random.key(0), (3, 6)) * 2.0 + 1.0
    gamma = jax.random.normal(jax.random.key(1), (6,))
    beta = jax.random.normal(jax.random.key(2), (6,))
    dy = jax.random.normal(jax.random.key(3), (3, 6))

    def f(x, g, b):
        return jnp.sum(dy * transformer.layer_norm(x, g, b))

    dx, dg, db = transformer.layer_norm_backward(x, gamma, dy)
    ax, ag, ab = jax.grad(f, argnums=(0, 1, 2))(x, gamma, beta)
    assert _max_diff((dx, dg, db), (ax, ag, ab)) < 1e-10
    fd = fd_gradient(jax.jit(lambda v: f(v, gamma, beta)), np.asarray(x))
    np.testing.assert_allclose(dx, fd, atol=1e-7)


def test_layer_norm_and_batch_norm_invariances():
    X = jax.random.normal(jax.random.key(0), (8, 5))
    c_row = jax.random.uniform(jax.random.key(1), (8, 1), minval=0.5, maxval=3.0)
    b_row = jax.random.normal(jax.random.key(2), (8, 1))
    c_col = jax.random.uniform(jax.random.key(3), (1, 5), minval=0.5, maxval=3.0)
    b_col = jax.random.normal(jax.random.key(4), (1, 5))
    g, b = jnp.ones(5), jnp.zeros(5)

    def ln(v):
        return transformer.layer_norm(v, g, b, eps=0.0)

    def bn(v):
        return layers.batchnorm_forward(layers.BatchNorm(g, b), v)[0]

    np.testing.assert_allclose(ln(c_row * X + b_row), ln(X), atol=1e-12)
    np.testing.assert_allclose(bn(c_col * X + b_col), bn(X), atol=1e-4)  # BN keeps its eps
    assert float(jnp.max(jnp.abs(ln(c_col * X + b_col) - ln(X)))) > 0.1
    assert float(jnp.max(jnp.abs(bn(c_row * X + b_row) - bn(X)))) > 0.1


def test_ln_rnn_forward_loop_and_gradient_norms_no_recompile():
    params = rnn.init(key=jax.random.key(0), input_dim=2, hidden_dim=6, output_dim=1)
    xs = jax.random.normal(jax.random.key(1), (9, 2))
    g, b = jnp.full(6, 1.5), jnp.full(6, 0.1)
    hs, ys = ra.ln_rnn_forward(params, xs, g, b)
    h = jnp.zeros(6)
    for t in range(9):
        a = params.W_xh @ xs[t] + params.W_hh @ h + params.b_h
        h = jnp.tanh(g * (a - a.mean()) / jnp.sqrt(a.var() + transformer.LN_EPS) + b)
        np.testing.assert_allclose(hs[t], h, atol=1e-13)
    assert ys.shape == (9, 1)
    norms = ra.gradient_norms(params, xs, gain=2.0)
    assert norms.plain.shape == norms.layer_norm.shape == (9,)
    # oracle: jax.jacobian of the final output with respect to the first state's offset
    np.testing.assert_allclose(float(norms.plain[-1]), float(jnp.linalg.norm(params.W_hy[0])),
                               rtol=1e-12)  # fmt: skip
    n = widget_views.compiles()
    ra.gradient_norms(params, xs, gain=0.7)
    assert widget_views.compiles() == n


# ------------------------------------------------------------------------------ ESN, AR


def test_block_diagonal_esn_states_are_the_blocks_side_by_side():
    esns = [
        rnn.esn_init(key=jax.random.key(k), input_dim=2, reservoir_size=s)
        for k, s in enumerate((3, 5, 4))
    ]
    xs = jax.random.normal(jax.random.key(9), (20, 2))
    joint = rnn.esn_states(ra.block_diagonal_esn(esns), xs)
    apart = jnp.concatenate([rnn.esn_states(e, xs) for e in esns], axis=1)
    np.testing.assert_allclose(joint, apart, atol=1e-14)


def test_ar_coefficients_equal_the_unrolled_linear_rnn():
    params = rnn.init(key=jax.random.key(0), input_dim=1, hidden_dim=4, output_dim=1)
    x = np.asarray(jax.random.normal(jax.random.key(1), (15,)))
    _, ys = rnn.forward(params, x[:, None], activation="linear")
    a = np.asarray(ra.ar_coefficients(params.W_xh, params.W_hh, params.W_hy, 15))[:, 0, 0]
    conv = [sum(a[j] * x[t - j] for j in range(t + 1)) for t in range(15)]
    np.testing.assert_allclose(ys[:, 0], conv, atol=1e-12)
    assert ra.ar_coefficients(params.W_xh, params.W_hh, params.W_hy, 3).shape == (3, 1, 1)


def test_shift_register_readout_is_the_ar_fit():
    x = ra.ar_series(key=jax.random.key(0), coefficients=jnp.array([0.6, -0.3, 0.1]), n=300)
    W_xh, W_hh = ra.shift_register(3)
    hs, _ = rnn.forward(
        rnn.RNNParams(W_xh, W_hh, jnp.zeros((1, 3)), jnp.zeros(3), jnp.zeros(1)),
        x[:, None],
        activation="linear",
    )
    np.testing.assert_allclose(hs[5], x[3:6], atol=0)  # h_t = (x_{t-2}, x_{t-1}, x_t)
    readout = ra.fit_linear_rnn_readout(W_xh, W_hh, x, skip=2)
    np.testing.assert_allclose(readout[::-1], ra.fit_ar(x, 3), atol=1e-12)
    np.testing.assert_allclose(ra.fit_ar(x, 3), [0.6, -0.3, 0.1], atol=0.15)


# ------------------------------------------------------------------------------ bad input


def test_bad_inputs_raise_clear_errors(bi, stacked):
    params, xs, labels = bi
    with pytest.raises(TypeError, match="BiRNNParams"):
        ra.birnn_forward(stacked[0], xs)
    with pytest.raises(ValueError, match="xs"):
        ra.birnn_forward(params, jnp.ones((4, 2)))
    with pytest.raises(ValueError, match="labels"):
        ra.birnn_loss(params, xs, jnp.array([0, 1, 9, 0, 0, 0]))
    with pytest.raises(TypeError, match="labels"):
        ra.birnn_loss(params, xs, jnp.ones(6))
    with pytest.raises(TypeError, match="key"):
        ra.birnn_init(key=None, input_dim=1, hidden_dim=2, output_dim=2)
    with pytest.raises(ValueError, match="layers"):
        ra.stacked_init(key=jax.random.key(0), input_dim=1, hidden_dim=2, output_dim=2, layers=0)
    with pytest.raises(ValueError, match="gain"):
        ra.gradient_norms(rnn.init(key=jax.random.key(0), input_dim=1, hidden_dim=2,
                                   output_dim=1), jnp.ones((3, 1)), gain=-1.0)  # fmt: skip
    with pytest.raises(ValueError, match="mask"):
        ra.tagging_loss(jnp.zeros((2, 3, 4)), jnp.zeros((2, 3), int), jnp.ones((3, 2)))
    with pytest.raises(ValueError, match="order"):
        ra.fit_ar(jnp.ones(5), 3)
    with pytest.raises(TypeError, match="esns"):
        ra.block_diagonal_esn([])
