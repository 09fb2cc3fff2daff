"""course_lib.layers: every hand-written backward equals jax.vjp of its forward (Table 3.1)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import layers

X = jax.random.normal(jax.random.key(0), (6, 5)) * 1.5
G = jax.random.normal(jax.random.key(1), (6, 5))


def _vjp_input(forward, params, x, g):
    _, vjp = jax.vjp(lambda x: forward(params, x)[0], x)
    return vjp(g)[0]


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "hard_tanh"])
def test_elementwise_backward_equals_vjp(name):
    forward, backward = layers.LAYERS[name]
    _, cache = forward(None, X)
    _, g_x = backward(None, cache, G)
    np.testing.assert_allclose(g_x, _vjp_input(forward, None, X, G), rtol=1e-12, atol=1e-15)


def test_linear_backward_equals_vjp_for_input_and_parameters():
    params = layers.Linear(jax.random.normal(jax.random.key(2), (5, 3)), jnp.arange(3.0))
    g = jax.random.normal(jax.random.key(3), (6, 3))
    y, cache = layers.linear_forward(params, X)
    g_params, g_x = layers.linear_backward(params, cache, g)
    _, vjp = jax.vjp(lambda p, x: layers.linear_forward(p, x)[0], params, X)
    e_params, e_x = vjp(g)
    np.testing.assert_allclose(g_x, e_x, rtol=1e-12)
    np.testing.assert_allclose(g_params.W, e_params.W, rtol=1e-12)
    np.testing.assert_allclose(g_params.b, e_params.b, rtol=1e-12)


def test_max_sends_the_gradient_only_to_the_argmax():
    g = jnp.arange(1.0, 7.0)
    _, cache = layers.max_forward(None, X)
    _, g_x = layers.max_backward(None, cache, g)
    np.testing.assert_allclose(g_x, _vjp_input(layers.max_forward, None, X, g), rtol=1e-12)
    winners = np.asarray(jnp.argmax(X, axis=1))
    for i in range(6):
        row = np.asarray(g_x[i])
        assert row[winners[i]] == g[i] and np.count_nonzero(row) == 1


def test_softmax_cross_entropy_backward_is_p_minus_onehot():
    labels = jnp.array([0, 4, 2, 2, 1, 3])
    loss, cache = layers.softmax_ce_forward(labels, X)
    assert float(loss) == pytest.approx(
        float(jnp.mean(-jax.nn.log_softmax(X)[jnp.arange(6), labels]))
    )
    _, g_x = layers.softmax_ce_backward(labels, cache, jnp.asarray(1.0))
    _, vjp = jax.vjp(lambda x: layers.softmax_ce_forward(labels, x)[0], X)
    np.testing.assert_allclose(g_x, vjp(jnp.asarray(1.0))[0], rtol=1e-12)
    p = jax.nn.softmax(X)
    np.testing.assert_allclose(g_x, (p - jax.nn.one_hot(labels, 5)) / 6, rtol=1e-12)


def test_softmax_jacobian_is_diag_p_minus_p_pT():
    """Exercise 3.10: d o_i / d v_j = o_i (1 - o_i) if i = j, else -o_i o_j."""
    v = X[0]
    p = jax.nn.softmax(v)
    np.testing.assert_allclose(
        jax.jacobian(jax.nn.softmax)(v), jnp.diag(p) - jnp.outer(p, p), rtol=1e-12, atol=1e-15
    )


def test_batchnorm_forward_normalizes_and_backward_equals_vjp():
    params = layers.BatchNorm(jnp.array([1.0, 2.0, 0.5, -1.0, 3.0]), jnp.arange(5.0))
    y, cache = layers.batchnorm_forward(params, X)
    x_hat = (y - params.beta[None, :]) / params.gamma[None, :]
    np.testing.assert_allclose(x_hat.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(x_hat.var(axis=0), 1.0, rtol=1e-4)  # eps = 1e-5 under the root
    g_params, g_x = layers.batchnorm_backward(params, cache, G)
    _, vjp = jax.vjp(lambda p, x: layers.batchnorm_forward(p, x)[0], params, X)
    e_params, e_x = vjp(G)
    np.testing.assert_allclose(g_x, e_x, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(g_params.gamma, e_params.gamma, rtol=1e-10)
    np.testing.assert_allclose(g_params.beta, e_params.beta, rtol=1e-10)
    # A gradient that is constant over the batch cannot move x at all (the mean absorbs it).
    _, g_const = layers.batchnorm_backward(params, cache, jnp.ones((6, 5)))
    np.testing.assert_allclose(g_const, 0.0, atol=1e-12)


def test_layers_compose_into_a_network_whose_chain_of_backwards_is_jax_grad():
    k1, k2 = jax.random.split(jax.random.key(4))
    p1 = layers.Linear(jax.random.normal(k1, (5, 4)), jnp.zeros(4))
    bn = layers.BatchNorm(jnp.ones(4), jnp.zeros(4))
    p2 = layers.Linear(jax.random.normal(k2, (4, 3)), jnp.zeros(3))
    labels = jnp.array([0, 1, 2, 0, 1, 2])

    def net(p1, bn, p2):
        h, _ = layers.linear_forward(p1, X)
        h, _ = layers.batchnorm_forward(bn, h)
        h, _ = layers.tanh_forward(None, h)
        h, _ = layers.linear_forward(p2, h)
        return layers.softmax_ce_forward(labels, h)[0]

    a1, c1 = layers.linear_forward(p1, X)
    a2, c2 = layers.batchnorm_forward(bn, a1)
    a3, c3 = layers.tanh_forward(None, a2)
    a4, c4 = layers.linear_forward(p2, a3)
    _, c5 = layers.softmax_ce_forward(labels, a4)
    _, g = layers.softmax_ce_backward(labels, c5, jnp.asarray(1.0))
    g_p2, g = layers.linear_backward(p2, c4, g)
    _, g = layers.tanh_backward(None, c3, g)
    g_bn, g = layers.batchnorm_backward(bn, c2, g)
    g_p1, _ = layers.linear_backward(p1, c1, g)
    e_p1, e_bn, e_p2 = jax.grad(net, argnums=(0, 1, 2))(p1, bn, p2)
    for got, exp in [(g_p1, e_p1), (g_bn, e_bn), (g_p2, e_p2)]:
        for a, b in zip(got, exp, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_tied_autoencoder_gradient_is_the_sum_of_its_copies(fd_gradient):
    """§3.2.9: dL/dW = (dL/dW_enc)^T + dL/dW_dec, with the copies' gradients from jax.grad."""
    W = jax.random.normal(jax.random.key(5), (3, 5)) * 0.5  # (k, d)
    auto = jax.grad(layers.tied_autoencoder_loss)(W, X)
    g_enc, g_dec = jax.grad(layers.untied_autoencoder_loss, argnums=(0, 1))(W.T, W, X)
    hand = layers.tied_autoencoder_grad(W, X)
    np.testing.assert_allclose(hand.total, auto, rtol=1e-10)
    np.testing.assert_allclose(hand.enc_copy, g_enc, rtol=1e-10)
    np.testing.assert_allclose(hand.dec_copy, g_dec, rtol=1e-10)
    np.testing.assert_allclose(g_enc.T + g_dec, auto, rtol=1e-10)
    fd = fd_gradient(lambda w: layers.tied_autoencoder_loss(jnp.asarray(w), X), np.asarray(W))
    np.testing.assert_allclose(hand.total, fd, rtol=1e-6, atol=1e-9)
    # neither copy alone is the gradient
    assert not np.allclose(hand.dec_copy, auto, rtol=1e-3)


def test_softmax_jacobian_function_equals_jax_jacobian_and_gives_p_minus_y():
    v = X[1]
    J = layers.softmax_jacobian(v)
    np.testing.assert_allclose(J, jax.jacobian(jax.nn.softmax)(v), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(J.sum(axis=0), 0.0, atol=1e-15)  # probabilities sum to 1
    # Ex 3.10 (b): J^T (dL/do) with L = -log o_c is o - onehot(c)
    c = 2
    o = jax.nn.softmax(v)
    dL_do = -jax.nn.one_hot(c, 5) / o
    np.testing.assert_allclose(J.T @ dL_do, o - jax.nn.one_hot(c, 5), rtol=1e-10, atol=1e-14)
    with pytest.raises(ValueError, match="`v` must be one example"):
        layers.softmax_jacobian(X)
