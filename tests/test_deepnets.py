"""course_lib.deepnets: initialization, depth statistics, dead units, batch-norm network, fit."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import data, deepnets, layers, mlp, optim

# ------------------------------------------------------------------------------ Xavier


@pytest.mark.parametrize(("fan_in", "fan_out"), [(64, 64), (100, 30), (7, 500)])
def test_xavier_std_is_the_formula_and_matches_mlp_init_samples(fan_in, fan_out):
    std = deepnets.xavier_std(fan_in, fan_out)
    assert std == pytest.approx(math.sqrt(2.0 / (fan_in + fan_out)), rel=1e-15)
    (layer,) = mlp.init((fan_in, fan_out), key=jax.random.key(0), scheme="xavier")
    # The empirical std of fan_in * fan_out normal draws is within a few percent of sigma.
    assert float(jnp.std(layer.W)) == pytest.approx(std, rel=0.06)


def test_xavier_std_rejects_bad_fans():
    with pytest.raises(TypeError, match="fan_in"):
        deepnets.xavier_std(2.5, 3)
    with pytest.raises(ValueError, match="fan_out"):
        deepnets.xavier_std(3, 0)


# ------------------------------------------------------------------------------ depth statistics


def _numpy_depth_stats(key, activation, depth, gain, max_depth, width, n):
    """An independent NumPy forward and hand-written backward on the same random draws."""
    k_w, k_x, k_u = jax.random.split(key, 3)
    Ws = gain * np.asarray(jax.random.normal(k_w, (max_depth, width, width))) / math.sqrt(width)
    X = np.asarray(jax.random.normal(k_x, (n, width)))
    u = np.asarray(jax.random.normal(k_u, (width,)))
    fn = {
        "sigmoid": lambda a: 1 / (1 + np.exp(-a)),
        "tanh": np.tanh,
        "relu": lambda a: np.maximum(a, 0),
        "leaky_relu": lambda a: np.where(a >= 0, a, 0.01 * a),
    }[activation]
    dfn = {
        "sigmoid": lambda a: fn(a) * (1 - fn(a)),
        "tanh": lambda a: 1 - np.tanh(a) ** 2,
        # jax.grad of max(a, 0) splits an exact tie a = 0 (an input row of all zeros) in half
        "relu": lambda a: (a > 0) + 0.5 * (a == 0),
        "leaky_relu": lambda a: np.where(a >= 0, 1.0, 0.01),
    }[activation]
    hs, pres = [X], []
    for W in Ws[:depth]:
        pres.append(hs[-1] @ W)
        hs.append(fn(pres[-1]))
    g_h = np.tile(u, (n, 1))  # dL/dh_D
    g_a, g_W = [None] * depth, [None] * depth
    for t in range(depth - 1, -1, -1):
        g_a[t] = g_h * dfn(pres[t])
        g_W[t] = hs[t].T @ g_a[t]
        g_h = g_a[t] @ Ws[t].T
    return (
        np.array([h.var() for h in hs[1:]]),
        np.array([g.var() for g in g_a]),
        np.array([np.linalg.norm(g) for g in g_W]),
    )


@pytest.mark.parametrize("activation", deepnets.DEPTH_ACTIVATIONS)
def test_depth_statistics_equal_a_numpy_forward_and_backward(activation):
    key = jax.random.key(3)
    stats = deepnets.depth_statistics(
        activation, depth=5, gain=1.3, key=key, max_depth=8, width=6, n=10
    )
    act_var, grad_var, grad_norm = _numpy_depth_stats(key, activation, 5, 1.3, 8, 6, 10)
    np.testing.assert_allclose(stats.activation_var[:5], act_var, rtol=1e-10)
    np.testing.assert_allclose(stats.gradient_var[:5], grad_var, rtol=1e-10)
    np.testing.assert_allclose(stats.weight_grad_norm[:5], grad_norm, rtol=1e-10)
    for field in stats:  # the layers past `depth` do not exist
        assert np.all(np.isnan(np.asarray(field[5:])))


def test_depth_statistics_never_recompile_for_activation_depth_or_gain():
    key = jax.random.key(0)
    deepnets.depth_statistics("tanh", depth=3, gain=1.0, key=key, max_depth=9, width=5, n=7)
    before = deepnets.depth_statistics_cache_size()
    for act, depth, gain in [("relu", 9, 2.0), ("sigmoid", 1, 0.1), ("leaky_relu", 4, 1.41)]:
        deepnets.depth_statistics(act, depth=depth, gain=gain, key=key, max_depth=9, width=5, n=7)
    assert deepnets.depth_statistics_cache_size() == before


def test_tanh_gradients_vanish_for_small_init_and_explode_for_large_init():
    """Through 20 tanh layers (gradient variance at layer 1 over that at layer 20):
    gain 0.5 loses > 1e8, gain 3 gains > 1e3, Xavier (gain 1) stays within 1e-3..10."""
    key = jax.random.key(1)

    def ratios(gain):
        s = deepnets.depth_statistics("tanh", depth=20, gain=gain, key=key, max_depth=20)
        return s.gradient_var[0] / s.gradient_var[-1], s.activation_var[-1] / s.activation_var[0]

    small, small_act = ratios(0.5)
    xavier, _ = ratios(1.0)
    large, large_act = ratios(3.0)
    assert small < 1e-8 and small_act < 1e-8  # gradients and activations shrink to 0
    assert 1e-3 < xavier < 10.0
    assert large > 1e3 and large_act > 0.5  # exploding gradients, saturated units


def test_relu_needs_gain_sqrt2_to_keep_the_activation_variance():
    """ReLU zeroes half its inputs: Var halves per layer at gain 1, is kept at gain sqrt(2)."""
    key = jax.random.key(2)
    kw = {"depth": 20, "key": key, "max_depth": 20}  # the same compilation as the tanh test
    he = deepnets.depth_statistics("relu", gain=math.sqrt(2.0), **kw)
    xavier = deepnets.depth_statistics("relu", gain=1.0, **kw)
    assert 0.25 < he.activation_var[-1] / he.activation_var[0] < 4.0
    assert xavier.activation_var[-1] / xavier.activation_var[0] < 1e-3  # about 2**-19


def test_depth_statistics_validates_arguments():
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="activation"):
        deepnets.depth_statistics("softplus", depth=2, gain=1.0, key=key)
    with pytest.raises(ValueError, match="depth"):
        deepnets.depth_statistics("tanh", depth=31, gain=1.0, key=key)
    with pytest.raises(ValueError, match="gain"):
        deepnets.depth_statistics("tanh", depth=2, gain=0.0, key=key)
    with pytest.raises(TypeError, match="key"):
        deepnets.depth_statistics("tanh", depth=2, gain=1.0, key=None)


# ----------------------------------------------------------------------------- the chain of Fig 3.8


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_chain_gradient_equals_jax_grad_and_finite_differences(activation, fd_derivative):
    weights = jax.random.normal(jax.random.key(4), (7,))
    got = deepnets.chain_gradient(weights, 0.3, activation)
    for t in range(1, 8):
        expected = jax.grad(lambda x, t=t: _chain_output(weights[:t], x, activation))(0.3)
        np.testing.assert_allclose(got[t - 1], expected, rtol=1e-10, atol=1e-300)
        fd = fd_derivative(lambda x, t=t: _chain_output(weights[:t], x, activation), 0.3)
        np.testing.assert_allclose(got[t - 1], fd, rtol=1e-5, atol=1e-12)


def _chain_output(weights, x, activation):
    from course_lib import activations

    for w in weights:
        x = activations.get(activation).fn(w * x)
    return x


def test_sigmoid_chain_gradient_is_below_a_quarter_to_the_depth():
    """|dh_m/dx| <= 0.25^m prod |w_t| (Aggarwal §3.4), for many random chains of depth 10."""
    for seed in range(20):
        weights = jax.random.normal(jax.random.key(seed), (10,))
        g = np.abs(np.asarray(deepnets.chain_gradient(weights, 0.5)))
        bound = 0.25 ** np.arange(1, 11) * np.cumprod(np.abs(np.asarray(weights)))
        assert np.all(g <= bound)
    assert 0.25**10 < 1e-6


def test_relu_chain_with_positive_weights_passes_the_product_exactly():
    weights = jnp.array([0.5, 2.0, 1.5, 3.0])
    np.testing.assert_allclose(deepnets.chain_gradient(weights, 1.0, "relu"), np.cumprod(weights))


def test_chain_gradient_rejects_a_matrix():
    with pytest.raises(ValueError, match="weights"):
        deepnets.chain_gradient(jnp.ones((2, 2)), 0.1)


# ----------------------------------------------------------------------------- dead units, symmetry


def test_dead_unit_fraction_counts_units_that_never_fire():
    X = jax.random.uniform(jax.random.key(5), (50, 4))  # non-negative inputs
    W1 = jnp.ones((4, 8))
    b1 = jnp.array([-10.0, -10.0, -10.0, 0.5, 0.5, -10.0, 0.5, 0.5])  # 4 of 8 dead
    W2 = jnp.ones((8, 5)) * jnp.array([1.0, -1.0, 1.0, -1.0, 1.0])[None, :]
    params = (
        mlp.Dense(W1, b1),
        mlp.Dense(W2, jnp.zeros(5)),
        mlp.Dense(jnp.ones((5, 3)), jnp.zeros(3)),
    )
    got = deepnets.dead_unit_fraction(params, X)
    # layer 2: a = sum of live ReLUs times +-1: columns with -1 are never positive
    np.testing.assert_allclose(got, [0.5, 0.4])
    # an independent count in NumPy
    a1 = np.asarray(X) @ np.asarray(W1) + np.asarray(b1)
    assert np.mean(a1.max(axis=0) <= 0) == 0.5


def test_dead_relus_never_change_but_leaky_relus_recover():
    """A negative bias kills units; gradient descent leaves their weights exactly unchanged."""
    ds = data.digits()
    X, y = ds.X[:300], ds.y[:300]
    params = mlp.init((64, 32, 10), key=jax.random.key(6), scheme="he")
    b = jnp.where(jnp.arange(32) < 16, -4.0, 0.0)  # the first 16 units start dead
    pre = X @ params[0].W + b[None, :]
    params = (mlp.Dense(params[0].W, b), params[1])
    assert float(deepnets.dead_unit_fraction(params, X)[0]) >= 0.5
    dead = np.asarray(jnp.max(pre, axis=0) <= 0)
    relu, _ = mlp.train(params, X, y, lr=0.5, steps=50, activation="relu")
    np.testing.assert_array_equal(relu[0].W[:, dead], params[0].W[:, dead])
    np.testing.assert_array_equal(relu[0].b[dead], params[0].b[dead])
    leaky, _ = mlp.train(params, X, y, lr=0.5, steps=50, activation="leaky_relu")
    assert np.all(np.asarray(leaky[0].W[:, dead] != params[0].W[:, dead]).any(axis=0))


def test_dead_unit_fraction_validates_arguments():
    params = mlp.init((3, 4, 2), key=jax.random.key(0))
    with pytest.raises(ValueError, match="features"):
        deepnets.dead_unit_fraction(params, jnp.ones((5, 4)))
    with pytest.raises(ValueError, match="hidden layer"):
        deepnets.dead_unit_fraction(params[:1], jnp.ones((5, 3)))


def test_constant_init_stays_symmetric_after_training():
    ds = data.digits()
    X, y = ds.X[:200], ds.y[:200]
    const = mlp.init((64, 16, 16, 10), key=jax.random.key(0), scheme="constant", scale=0.1)
    trained, losses = mlp.train(const, X, y, lr=0.5, steps=30)
    assert float(losses[-1]) < float(losses[0])  # it did learn something ...
    assert float(deepnets.unit_spread(trained)) < 1e-6  # ... with identical units
    xavier = mlp.init((64, 16, 16, 10), key=jax.random.key(0))
    assert float(deepnets.unit_spread(xavier)) > 0.1
    with pytest.raises(TypeError, match="params"):
        deepnets.unit_spread(const[:1])


# ------------------------------------------------------------------------------ batch-norm network


def _small_net(batchnorm, sizes=(5, 4, 3, 3)):
    return deepnets.init_net(sizes, key=jax.random.key(7), batchnorm=batchnorm)


def _numpy_forward_train(params, X, act=np.tanh):
    """Batch-norm-before-activation forward pass in NumPy with batch statistics."""
    h = np.asarray(X)
    for k, layer in enumerate(params.dense):
        v = h @ np.asarray(layer.W) + np.asarray(layer.b)[None, :]
        if k == len(params.dense) - 1:
            return v
        mu, var = v.mean(axis=0), v.var(axis=0)
        bn = params.norms[k]
        v = np.asarray(bn.gamma) * (v - mu) / np.sqrt(var + layers.BATCHNORM_EPS) + np.asarray(
            bn.beta
        )
        h = act(v)


def test_init_net_shapes_and_stats():
    params, stats = _small_net(True)
    assert [layer.W.shape for layer in params.dense] == [(5, 4), (4, 3), (3, 3)]
    assert [bn.gamma.shape for bn in params.norms] == [(4,), (3,)]
    assert [m.shape for m in stats.mean] == [(4,), (3,)]
    np.testing.assert_array_equal(stats.var[0], 1.0)
    plain, plain_stats = _small_net(False)
    assert plain.norms == () and plain_stats.mean == ()
    for a, b in zip(plain.dense, params.dense, strict=True):  # same key, same weights
        np.testing.assert_array_equal(a.W, b.W)
    with pytest.raises(TypeError, match="batchnorm"):
        deepnets.init_net((2, 2), key=jax.random.key(0), batchnorm=1)


def test_apply_train_mode_equals_numpy_and_updates_running_averages():
    params, stats = _small_net(True)
    gamma = jnp.array([1.0, 2.0, 0.5, -1.0])
    params = params._replace(norms=(layers.BatchNorm(gamma, jnp.arange(4.0)), params.norms[1]))
    X = jax.random.normal(jax.random.key(8), (9, 5))
    logits, new = deepnets.apply(params, stats, X, train=True, activation="tanh", decay=0.8)
    np.testing.assert_allclose(logits, _numpy_forward_train(params, X), rtol=1e-10)
    v1 = np.asarray(X @ params.dense[0].W) + np.asarray(params.dense[0].b)
    np.testing.assert_allclose(new.mean[0], 0.2 * v1.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(new.var[0], 0.8 + 0.2 * v1.var(axis=0), rtol=1e-12)


def test_eval_mode_with_the_batch_statistics_equals_train_mode_and_is_per_example():
    params, stats = _small_net(True)
    X = jax.random.normal(jax.random.key(9), (9, 5))
    train_logits, batch_stats = deepnets.apply(params, stats, X, train=True, decay=0.0)
    eval_logits, same = deepnets.apply(params, batch_stats, X, train=False)
    np.testing.assert_allclose(eval_logits, train_logits, rtol=1e-9)
    assert all(jnp.array_equal(a, b) for a, b in zip(same.mean, batch_stats.mean, strict=True))
    # eval mode: each row's output does not depend on the other rows
    row, _ = deepnets.apply(params, batch_stats, X[:1], train=False)
    np.testing.assert_allclose(row[0], eval_logits[0], rtol=1e-12)


def test_net_loss_gradient_equals_finite_differences_and_bias_gradient_is_zero(fd_gradient):
    params, stats = _small_net(True)
    X = jax.random.normal(jax.random.key(10), (8, 5))
    y = jnp.array([0, 1, 2, 0, 1, 2, 0, 1])

    @jax.jit  # one compilation for the many finite-difference evaluations
    def loss(p):
        return deepnets.net_loss(p, stats, X, y, train=True)[0]

    g = jax.grad(loss)(params)
    W1 = params.dense[0].W
    fd = fd_gradient(
        lambda w: loss(params._replace(dense=(mlp.Dense(w, params.dense[0].b), *params.dense[1:]))),
        W1,
    )
    np.testing.assert_allclose(g.dense[0].W, fd, rtol=1e-6, atol=1e-9)
    g_gamma = fd_gradient(
        lambda gm: loss(
            params._replace(norms=(layers.BatchNorm(gm, params.norms[0].beta), params.norms[1]))
        ),
        params.norms[0].gamma,
    )
    np.testing.assert_allclose(g.norms[0].gamma, g_gamma, rtol=1e-6, atol=1e-9)
    # the bias before a batch norm is cancelled by the mean subtraction
    np.testing.assert_allclose(g.dense[0].b, 0.0, atol=1e-12)
    np.testing.assert_allclose(g.dense[1].b, 0.0, atol=1e-12)


# ------------------------------------------------------------------------------ fit


@pytest.fixture(scope="module")
def digits_split():
    return data.train_test_split(data.digits(), key=jax.random.key(1), test_fraction=0.25)


def test_fit_equals_a_python_loop_of_train_epoch(digits_split):
    train, test = digits_split
    params, stats = deepnets.init_net((64, 16, 16, 10), key=jax.random.key(2), batchnorm=True)
    key = jax.random.key(3)
    p_fit, s_fit, hist = deepnets.fit(
        params, stats, train, test, key=key, epochs=2, batch_size=64, lr=0.1, momentum=0.9
    )
    p, s, o = params, stats, optim.sgd(0.1, 0.9).init(params)
    for i, k in enumerate(jax.random.split(key, 2)):
        p, s, o, value = deepnets.train_epoch(
            p, s, o, train.X, train.y, k, 0.1, 0.9, batch_size=64, activation="sigmoid"
        )
        np.testing.assert_allclose(hist.train_loss[i], value, rtol=1e-9)
    for a, b in zip(jax.tree.leaves((p_fit, s_fit)), jax.tree.leaves((p, s)), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    logits, _ = deepnets.apply(p, s, test.X, train=False)
    np.testing.assert_allclose(
        hist.test_accuracy[-1], np.mean(np.argmax(np.asarray(logits), 1) == np.asarray(test.y))
    )


def test_fit_is_deterministic_and_does_not_recompile_for_new_lr(digits_split):
    train, test = digits_split
    # the sizes of the previous test: fit is compiled once for both
    params, stats = deepnets.init_net((64, 16, 16, 10), key=jax.random.key(2), batchnorm=True)
    kw = {"key": jax.random.key(4), "epochs": 2, "batch_size": 64}
    _, _, h1 = deepnets.fit(params, stats, train, test, lr=0.1, **kw)
    before = deepnets.fit_cache_size()
    _, _, h2 = deepnets.fit(params, stats, train, test, lr=0.1, **kw)
    _, _, h3 = deepnets.fit(params, stats, train, test, lr=0.7, momentum=0.5, **kw)
    assert deepnets.fit_cache_size() == before
    np.testing.assert_array_equal(h1.train_loss, h2.train_loss)
    assert not np.allclose(h1.train_loss, h3.train_loss)


def test_batchnorm_trains_a_deep_sigmoid_network_that_plain_sgd_cannot(digits_split):
    train, test = digits_split
    sizes = (64,) + (32,) * 8 + (10,)
    results = {}
    for bn in (False, True):
        params, stats = deepnets.init_net(sizes, key=jax.random.key(2), batchnorm=bn)
        _, _, hist = deepnets.fit(
            params, stats, train, test, key=jax.random.key(3), epochs=6, batch_size=32, lr=0.1
        )
        results[bn] = hist
    assert float(results[False].train_loss[-1]) > 2.0  # stuck near log(10) = 2.30
    assert float(results[True].train_loss[-1]) < 1.0
    assert float(results[True].test_accuracy[-1]) > 0.8
    assert float(results[False].test_accuracy[-1]) < 0.3


def test_fit_validates_arguments(digits_split):
    train, test = digits_split
    params, stats = deepnets.init_net((64, 8, 10), key=jax.random.key(2), batchnorm=False)
    kw = {"key": jax.random.key(4), "epochs": 1, "batch_size": 32, "lr": 0.1}
    with pytest.raises(ValueError, match="lr"):
        deepnets.fit(params, stats, train, test, **{**kw, "lr": -1.0})
    with pytest.raises(ValueError, match="momentum"):
        deepnets.fit(params, stats, train, test, momentum=1.5, **kw)
    with pytest.raises(ValueError, match="batch_size"):
        deepnets.fit(params, stats, train, test, **{**kw, "batch_size": 5000})
    with pytest.raises(TypeError, match="init_net"):
        deepnets.fit(params.dense, stats, train, test, **kw)
    with pytest.raises(ValueError, match="features"):
        deepnets.fit(params, stats, data.Dataset(train.X[:, :3], train.y), test, **kw)


# ------------------------------------------------------------------------------ preprocessing


def test_standardize_and_whiten():
    key = jax.random.key(11)
    A = jnp.array([[3.0, 0.0, 0.0], [2.0, 0.5, 0.0], [0.0, 1.0, 0.1]])
    X = jax.random.normal(key, (5000, 3)) @ A + jnp.array([[5.0, -2.0, 1.0]])
    Z = deepnets.standardize(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-10)
    np.testing.assert_allclose(Z.std(axis=0), 1.0, rtol=1e-10)
    U = deepnets.whiten(X, eps=1e-9)
    cov = np.cov(np.asarray(U), rowvar=False, bias=True)
    np.testing.assert_allclose(cov, np.eye(3), atol=1e-6)
    # an independent check: the whitened data is a rotation of sklearn-free PCA scores
    D = np.asarray(X) - np.asarray(X).mean(axis=0)
    _, s, Vt = np.linalg.svd(D, full_matrices=False)
    first = D @ Vt[0] / s[0] * np.sqrt(D.shape[0])  # the first principal score, unit variance
    np.testing.assert_allclose(np.abs(np.asarray(U[:, 0])), np.abs(first), rtol=1e-5, atol=1e-9)
    with pytest.raises(ValueError, match="X"):
        deepnets.whiten(jnp.ones(3))
    with pytest.raises(ValueError, match="eps"):
        deepnets.whiten(X, eps=0.0)


# ------------------------------------------------------------------------------ widget and plot


def test_depth_explorer_draws_and_never_recompiles():
    from course_lib import widgets

    demo = widgets.depth_explorer(max_depth=6, width=4, seed=1)  # computes and draws once
    before = deepnets.depth_statistics_cache_size()
    res = demo.compute(activation="sigmoid", depth=3, gain=2.0)
    demo.compute(activation="relu", depth=6, gain=0.5)
    assert deepnets.depth_statistics_cache_size() == before
    assert np.all(np.isfinite(res.weight_grad_norm[:3])) and np.all(
        np.isnan(res.weight_grad_norm[3:])
    )
    shown = demo.set(activation="sigmoid", depth=3, gain=2.0)  # the right panel: 3 layers
    np.testing.assert_allclose(demo.view.lines[1].get_xdata(), [1, 2, 3])
    np.testing.assert_allclose(
        demo.view.lines[1].get_ydata(), shown.weight_grad_norm[:3], rtol=1e-6
    )
    np.testing.assert_allclose(shown.weight_grad_norm[:3], res.weight_grad_norm[:3], rtol=1e-6)
    assert demo.view.live.full_draws == 1
