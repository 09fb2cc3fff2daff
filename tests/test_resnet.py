"""course_lib.resnet: the im2col convolution against lax, the probed layer gradients against
jax.grad of the activations and finite differences (float64), plain vs residual at
initialization, training (frozen body, augmentation, determinism, no recompiles), bad input."""

import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import pytest
import widget_views

from course_lib import cnn, resnet

RNG = np.random.default_rng(0)


def test_im2col_conv_equals_lax():
    with jax.enable_x64(True):
        h, w, b = RNG.normal(size=(2, 5, 6, 3)), RNG.normal(size=(3, 3, 3, 4)), RNG.normal(size=4)
        np.testing.assert_allclose(resnet._conv(jnp.asarray(h), jnp.asarray(w), jnp.asarray(b)),
                                   cnn.conv2d(h, w, b, padding=1), atol=1e-12)  # fmt: skip


def _loop_forward(params, x, alpha):
    w0, b0 = params["stem"]
    h = jax.nn.relu(cnn.conv2d(x, w0, b0, padding=1))
    acts = [h]
    for w, b in zip(*params["body"], strict=True):
        h = alpha * h + jax.nn.relu(cnn.conv2d(h, w, b, padding=1))
        acts.append(h)
    V, c = params["head"]
    return h.reshape(h.shape[0], -1) @ V + c[None, :], acts


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_apply_and_layer_gradients_against_independent_forms(alpha):
    with jax.enable_x64(True):
        params = resnet.init(key=jax.random.key(1), depth=4, width=3, image_size=5, n_classes=3)
        x = jnp.asarray(RNG.normal(size=(4, 5, 5, 1)))
        y = jnp.array([0, 1, 2, 1])
        logits, _ = _loop_forward(params, x, alpha)
        np.testing.assert_allclose(resnet.apply(params, x, residual=alpha), logits, atol=1e-10)
        got = np.asarray(resnet.layer_grad_norms(params, x, y, residual=alpha))

        def loss_from(k, hk):  # the loss as a function of layer k's output
            h = hk
            for w, b in list(zip(*params["body"], strict=True))[k:]:
                h = alpha * h + jax.nn.relu(cnn.conv2d(h, w, b, padding=1))
            V, c = params["head"]
            logp = jax.nn.log_softmax(h.reshape(4, -1) @ V + c[None, :], axis=1)
            return -jnp.mean(logp[jnp.arange(4), y])

        _, acts = _loop_forward(params, x, alpha)
        for k, hk in enumerate(acts):
            g = jax.grad(loss_from, argnums=1)(k, hk)
            assert got[k] == pytest.approx(float(jnp.linalg.norm(g)), rel=1e-8)
            d = jnp.asarray(RNG.normal(size=hk.shape))  # a directional finite difference
            eps = 1e-6
            fd = (loss_from(k, hk + eps * d) - loss_from(k, hk - eps * d)) / (2 * eps)
            assert float(fd) == pytest.approx(float(jnp.sum(g * d)), rel=1e-5, abs=1e-9)


def test_plain_gradients_vanish_and_residual_ones_do_not():
    params = resnet.init(key=jax.random.key(2), depth=12, width=6)
    x = jnp.asarray(RNG.uniform(size=(32, 8, 8, 1)), jnp.float32)
    y = jnp.asarray(RNG.integers(0, 10, 32))
    plain = resnet.layer_grad_norms(params, x, y, residual=0.0)
    n = widget_views.compiles()
    res = resnet.layer_grad_norms(params, x, y, residual=1.0)
    assert widget_views.compiles() == n, "residual is traced: no recompile"
    assert plain[0] / plain[-1] < 0.05 and res[0] / res[-1] > 1.0


def test_fit_learns_is_deterministic_freezes_and_does_not_recompile():
    from course_lib import data

    d = data.digits()
    X = cnn.as_images(d.X[:300]).astype(jnp.float32)
    y = d.y[:300]
    p0 = resnet.init(key=jax.random.key(3), depth=2, width=4)
    a = resnet.fit(p0, X, y, key=jax.random.key(4), steps=60, batch_size=16)
    b = resnet.fit(p0, X, y, key=jax.random.key(4), steps=60, batch_size=16)
    frozen = resnet.fit(
        p0, X, y, key=jax.random.key(5), steps=60, batch_size=16, max_shift=1,
        train_body=0.0, residual=0.0, lr=1e-2, pool=np.arange(300),
    )  # fmt: skip
    n = widget_views.compiles()
    resnet.fit(
        p0, X, y, key=jax.random.key(6), steps=60, batch_size=16, max_shift=2,
        train_body=0.5, residual=1.0, lr=5e-3, pool=np.arange(300) % 50,
    )  # fmt: skip
    assert widget_views.compiles() == n, "traced settings must not recompile the training"
    np.testing.assert_array_equal(a.losses, b.losses)
    assert float(a.losses[-10:].mean()) < 0.6 * float(a.losses[:5].mean())
    np.testing.assert_array_equal(frozen.params["stem"][0], p0["stem"][0])
    np.testing.assert_array_equal(frozen.params["body"][0], p0["body"][0])
    assert not np.array_equal(frozen.params["head"][0], p0["head"][0])
    assert float(resnet.accuracy(a.params, X, y, residual=1.0)) > 0.5
    assert resnet.features(a.params, X[:5], residual=1.0).shape == (5, 8 * 8 * 4)


def test_subset_indices():
    y = np.array([2, 0, 1, 0, 2, 1, 1])
    np.testing.assert_array_equal(resnet.subset_indices(y, 1), [0, 1, 2])
    np.testing.assert_array_equal(resnet.subset_indices(y, 2), [0, 1, 2, 3, 4, 5])
    with pytest.raises(ValueError, match="fewer than 3"):
        resnet.subset_indices(y, 3)


def test_bad_input():
    p = resnet.init(key=jax.random.key(0), depth=2, width=2)
    x = np.zeros((2, 8, 8, 1))
    with pytest.raises(ValueError, match="at least 2"):
        resnet.init(key=jax.random.key(0), depth=1)
    with pytest.raises(TypeError, match="random key"):
        resnet.init(key=0, depth=3)
    with pytest.raises(ValueError, match="channel"):
        resnet.apply(p, np.zeros((2, 8, 8, 3)), residual=1.0)
    with pytest.raises(ValueError, match="residual"):
        resnet.apply(p, x, residual=2.0)
    with pytest.raises(ValueError, match="0..9"):
        resnet.loss(p, x, np.array([0, 12]), residual=1.0)
    with pytest.raises(ValueError, match="pool"):
        resnet.fit(p, x, np.array([0, 1]), key=jax.random.key(0), steps=2, pool=np.array([5]))
    with pytest.raises(ValueError, match="max_shift"):
        resnet.fit(p, x, np.array([0, 1]), key=jax.random.key(0), steps=2, max_shift=-1)
    with pytest.raises(ValueError, match="finite|NaN"):
        resnet.apply(p, np.full((2, 8, 8, 1), np.nan), residual=1.0)


def _digits(n):
    from course_lib import data

    d = data.digits()
    return cnn.as_images(d.X[:n]).astype(jnp.float32), d.y[:n]


def test_probed_step_gradients_equal_layer_grad_norms_and_param_grads():
    """The training step's one backward pass gives the same dL/dh as layer_grad_norms and the
    same weight gradient as jax.grad of the plain loss (float64)."""
    with jax.enable_x64(True):
        p = resnet.init(key=jax.random.key(7), depth=4, width=3, image_size=5, n_classes=3)
        x = jnp.asarray(RNG.normal(size=(4, 5, 5, 1)))
        y = jnp.array([0, 2, 1, 1])
        for alpha in (0.0, 1.0):
            a = jnp.asarray(alpha)
            grad = jax.value_and_grad(resnet._probed_loss, argnums=(0, 1), has_aux=True)
            (value, _), (g, g_h) = grad(p, resnet._zero_probes(p, x), x, y, a)
            np.testing.assert_allclose(value, resnet.loss(p, x, y, residual=alpha), rtol=1e-12)
            ref = jax.grad(resnet._loss)(p, x, y, a)
            for u, v in zip(jax.tree.leaves(g), jax.tree.leaves(ref), strict=True):
                np.testing.assert_allclose(u, v, rtol=1e-10, atol=1e-14)
            np.testing.assert_allclose(
                resnet._norms(g_h), resnet.layer_grad_norms(p, x, y, residual=alpha), rtol=1e-10
            )


def test_plain_vs_residual_first_steps_match_a_numpy_optimizer():
    """Two steps of the library's training equal clipped momentum SGD written out in NumPy
    (float64), starting from resnet.init with the documented key split, for both networks."""
    with jax.enable_x64(True):
        X, y = _digits(40)
        X = X.astype(jnp.float64)
        key = jax.random.key(11)
        r = resnet.train_plain_and_residual(
            X, y, key=key, depth=3, width=2, steps=2, batch_size=8, lr=0.3, seeds=1
        )
        k_init, k_idx = jax.random.split(jax.random.fold_in(key, 0))
        idx = jax.random.randint(k_idx, (2, 8), 0, 40)
        for j, alpha in enumerate((0.0, 1.0)):
            p = resnet.init(key=k_init, depth=3, width=2)
            flat, unravel = jax.flatten_util.ravel_pytree(p)
            w, v, losses = np.asarray(flat), 0.0, []
            for rows in idx:
                pw = unravel(jnp.asarray(w))
                losses.append(float(resnet.loss(pw, X[rows], y[rows], residual=alpha)))
                g_tree = jax.grad(resnet._loss)(pw, X[rows], y[rows], jnp.asarray(alpha))
                g = np.asarray(jax.flatten_util.ravel_pytree(g_tree)[0])
                g = g * min(1.0, 1.0 / np.linalg.norm(g))
                v = 0.9 * v + g
                w = w - 0.3 * v
            np.testing.assert_allclose(r.losses[0, j], losses, rtol=1e-10)
            trained = jax.tree.map(lambda a, j=j: a[0, j], r.params)
            got = jax.flatten_util.ravel_pytree(trained)[0]
            np.testing.assert_allclose(got, w, rtol=1e-9, atol=1e-12)


def test_plain_vs_residual_deterministic_learns_and_does_not_recompile():
    X, y = _digits(300)
    kw = dict(depth=6, width=3, steps=60, batch_size=16, seeds=2)
    a = resnet.train_plain_and_residual(X, y, key=jax.random.key(12), lr=0.05, **kw)
    b = resnet.train_plain_and_residual(X, y, key=jax.random.key(12), lr=0.05, **kw)
    for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(u, v)
    assert a.losses.shape == (2, 2, 60) and a.accuracies.shape == (2, 2, 60)
    assert a.grad_norms.shape == (2, 2, 60, 6)
    assert a.params["body"][0].shape == (2, 2, 5, 3, 3, 3, 3)
    # the residual net's loss decreases on both seeds
    res = np.asarray(a.losses[:, 1])
    assert np.all(res[:, -10:].mean(axis=1) < 0.7 * res[:, :5].mean(axis=1))
    n = widget_views.compiles()
    c = resnet.train_plain_and_residual(
        X, y, key=jax.random.key(13), lr=0.02, momentum=0.5, max_grad_norm=2.0, **kw
    )
    assert widget_views.compiles() == n, "lr, momentum and max_grad_norm are traced"
    assert not np.array_equal(c.losses, a.losses)


def test_plain_vs_residual_bad_input():
    X, y = _digits(20)
    k = jax.random.key(0)
    ok = dict(key=k, depth=3, steps=2)
    with pytest.raises(ValueError, match="depth.*at least 2"):
        resnet.train_plain_and_residual(X, y, key=k, depth=1)
    with pytest.raises(TypeError, match="random key"):
        resnet.train_plain_and_residual(X, y, key=0, depth=3)
    with pytest.raises(ValueError, match="lr"):
        resnet.train_plain_and_residual(X, y, lr=0.0, **ok)
    with pytest.raises(ValueError, match="momentum"):
        resnet.train_plain_and_residual(X, y, momentum=1.0, **ok)
    with pytest.raises(ValueError, match="max_grad_norm"):
        resnet.train_plain_and_residual(X, y, max_grad_norm=-1.0, **ok)
    with pytest.raises(TypeError, match="steps"):
        resnet.train_plain_and_residual(X, y, key=k, depth=3, steps=2.5)
    with pytest.raises(TypeError, match="seeds"):
        resnet.train_plain_and_residual(X, y, seeds=0.5, **ok)
    with pytest.raises(ValueError, match="0..9"):
        resnet.train_plain_and_residual(X, np.full(20, 10), **ok)
    with pytest.raises(ValueError, match="`y` must be 20"):
        resnet.train_plain_and_residual(X, y[:5], **ok)
    with pytest.raises(ValueError, match="X"):
        resnet.train_plain_and_residual(X[:, :, :, 0], y, **ok)
