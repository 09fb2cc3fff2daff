"""course_lib.gan: toy data, the losses and their hand-derived gradients (float64, against
jax.grad and central differences), the optimal discriminator, the zero-sum structure, the
training loop's shapes, determinism and no-recompile, and bad input."""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.stats import norm

from course_lib import gan, optim


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# ------------------------------------------------------------------------------ data


def test_ring_shapes_labels_and_determinism():
    X, y = gan.ring_of_gaussians(key=jax.random.key(0), n=4000, modes=8, radius=2.0, std=0.1)
    assert X.shape == (4000, 2) and y.shape == (4000,) and y.dtype == jnp.int32
    assert set(np.asarray(y).tolist()) == set(range(8))
    X2, y2 = gan.ring_of_gaussians(key=jax.random.key(0), n=4000)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    C = np.asarray(gan.ring_centres(8, 2.0))
    resid = np.asarray(X) - C[np.asarray(y)]
    assert abs(resid.std() - 0.1) < 0.005 and np.allclose(np.linalg.norm(C, axis=1), 2.0)


def _coverage_loop(X, C, std, within=3.0, share=0.25):
    counts = np.zeros(len(C), int)
    for x in X:
        d = np.linalg.norm(C - x, axis=1)
        if d.min() <= within * std:
            counts[d.argmin()] += 1
    return int((counts >= share * len(X) / len(C)).sum()), counts.sum() / len(X), counts


def test_mode_coverage_matches_a_loop():
    rng = np.random.default_rng(0)
    C = np.asarray(gan.ring_centres())
    for X in (
        C[rng.integers(0, 8, 300)] + 0.1 * rng.normal(size=(300, 2)),
        C[rng.integers(0, 3, 200)] + 0.2 * rng.normal(size=(200, 2)),
        rng.uniform(-3, 3, size=(250, 2)),
    ):
        covered, quality, counts = gan.mode_coverage(X, C, 0.1)
        ref = _coverage_loop(X, C, 0.1)
        assert (
            covered == ref[0]
            and quality == pytest.approx(ref[1])
            and np.array_equal(counts, ref[2])
        )


# ------------------------------------------------------------------------------ losses


def _central(f, x, h=1e-6):
    x = np.asarray(x, np.float64)
    g = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e.flat[i] = h
        g.flat[i] = (float(f(jnp.asarray(x + e))) - float(f(jnp.asarray(x - e)))) / (2 * h)
    return g


def test_loss_values_against_numpy():
    r, f = np.array([1.5, -0.3, 2.0]), np.array([-1.0, 0.4])
    expected_d = -np.mean(np.log(_sigmoid(r))) - np.mean(np.log(1 - _sigmoid(f)))
    assert float(gan.discriminator_loss(r, f)) == pytest.approx(expected_d, rel=1e-12)
    assert float(gan.generator_loss(f, non_saturating=False)) == pytest.approx(
        np.mean(np.log(1 - _sigmoid(f))), rel=1e-12
    )
    assert float(gan.generator_loss(f, non_saturating=True)) == pytest.approx(
        -np.mean(np.log(_sigmoid(f))), rel=1e-12
    )
    # stable for large logits (no log(0))
    assert np.isfinite(float(gan.discriminator_loss(jnp.array([-80.0]), jnp.array([80.0]))))


def test_hand_gradients_of_the_losses():
    rng = np.random.default_rng(1)
    r, f = rng.normal(size=5) * 3, rng.normal(size=4) * 3
    # d/dl_r = -(1 - sigma(l_r))/m,  d/dl_f = sigma(l_f)/m'
    hand_r = -(1 - _sigmoid(r)) / len(r)
    hand_f = _sigmoid(f) / len(f)
    gr, gf = jax.grad(gan.discriminator_loss, argnums=(0, 1))(jnp.asarray(r), jnp.asarray(f))
    np.testing.assert_allclose(np.asarray(gr), hand_r, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(gf), hand_f, rtol=1e-12)
    np.testing.assert_allclose(
        _central(lambda v: gan.discriminator_loss(v, f), r), hand_r, atol=1e-8
    )
    np.testing.assert_allclose(
        _central(lambda v: gan.discriminator_loss(r, v), f), hand_f, atol=1e-8
    )
    for ns, hand in ((False, -_sigmoid(f) / len(f)), (True, -(1 - _sigmoid(f)) / len(f))):
        g = jax.grad(lambda v, ns=ns: gan.generator_loss(v, non_saturating=ns))(jnp.asarray(f))
        np.testing.assert_allclose(np.asarray(g), hand, rtol=1e-12)
        fd = _central(lambda v, ns=ns: gan.generator_loss(v, non_saturating=ns), f)
        np.testing.assert_allclose(fd, hand, atol=1e-8)


def test_saturation_ratio_is_exp_minus_logit():
    for ell in (-6.0, -3.0, 0.0, 1.5):
        g_sat = jax.grad(lambda v: gan.generator_loss(v, non_saturating=False))(jnp.array([ell]))
        g_non = jax.grad(lambda v: gan.generator_loss(v, non_saturating=True))(jnp.array([ell]))
        ratio = float(g_non[0] / g_sat[0])
        assert ratio == pytest.approx(math.exp(-ell), rel=1e-12)
        assert gan.saturation_ratio(ell) == pytest.approx(ratio, rel=1e-12)
    assert 403 < gan.saturation_ratio(-6.0) < 404


# ------------------------------------------------------------------------------ D*


def test_optimal_discriminator_maximizes_the_pointwise_objective():
    a, b = np.array([0.2, 1.0, 3.0]), np.array([0.5, 1.0, 0.1])
    d_star = np.asarray(gan.optimal_discriminator(a, b))
    t = np.linspace(1e-4, 1 - 1e-4, 20001)
    for ai, bi, di in zip(a, b, d_star, strict=True):
        obj = ai * np.log(t) + bi * np.log(1 - t)
        assert abs(t[obj.argmax()] - di) < 1e-4
    assert float(gan.optimal_discriminator(0.0, 0.0)) == 0.5


def test_trained_logistic_discriminator_approaches_d_star():
    real = 0.0 + 1.0 * jax.random.normal(jax.random.key(1), (20000,))
    fake = 1.5 + 0.7 * jax.random.normal(jax.random.key(2), (20000,))
    w = gan.fit_quadratic_discriminator(real, fake, steps=3000, lr=0.5)
    xs = np.linspace(-3, 3.5, 200)
    d_star = np.asarray(gan.optimal_discriminator(norm.pdf(xs, 0, 1), norm.pdf(xs, 1.5, 0.7)))
    assert np.max(np.abs(np.asarray(gan.quadratic_discriminator(w, xs)) - d_star)) < 0.04
    # the exact log-ratio's coefficients, for comparison: w2 = -1/2 + 1/(2 * 0.49)
    assert float(w[2]) == pytest.approx(-0.5 + 1 / (2 * 0.49), abs=0.1)


# ------------------------------------------------------------------------------ the game


def _net_and_batch():
    net = gan.init(key=jax.random.key(3), hidden=16)
    real, _ = gan.ring_of_gaussians(key=jax.random.key(4), n=32)
    z = jax.random.normal(jax.random.key(5), (32, 2))
    return net, real, z


def test_zero_sum_gradient_wrt_generator_is_exactly_zero():
    net, real, z = _net_and_batch()

    def diff(gen):
        j_d, j_g = gan.book_objectives(gan.GAN(gen, net.disc), real, z)
        return j_d - j_g

    grads = jax.jit(jax.grad(diff))(net.gen)
    assert all(bool(jnp.all(g == 0)) for g in jax.tree.leaves(grads))
    # while J_G alone does depend on G
    g_only = jax.jit(jax.grad(lambda g: gan.book_objectives(gan.GAN(g, net.disc), real, z)[1]))(
        net.gen
    )
    assert any(float(jnp.abs(g).max()) > 0 for g in jax.tree.leaves(g_only))


def test_generator_step_leaves_discriminator_unchanged():
    net, _, z = _net_and_batch()
    opt = optim.scale_by_adam(b1=0.5).init(net.gen)
    new, _ = gan.generator_step(net, opt, z, 1e-2, non_saturating=False)
    for a, b in zip(jax.tree.leaves(net.disc), jax.tree.leaves(new.disc), strict=True):
        assert np.array_equal(a, b)
    pairs = zip(jax.tree.leaves(net.gen), jax.tree.leaves(new.gen), strict=True)
    assert any(not np.array_equal(a, b) for a, b in pairs)


def test_generate_and_discriminate_shapes():
    net = gan.init(key=jax.random.key(6), hidden=8, n_labels=3, noise_dim=4)
    z = jnp.zeros((5, 4))
    c = jax.nn.one_hot(jnp.arange(5) % 3, 3)
    x = gan.generate(net.gen, z, c)
    assert x.shape == (5, 2) and gan.discriminate(net.disc, x, c).shape == (5,)
    with pytest.raises(ValueError, match="generator takes 7 inputs"):
        gan.generate(net.gen, z)


# ------------------------------------------------------------------------------ training

_SMALL = dict(steps=20, n_snaps=2, n_show=16, batch=16, hidden=8)
_KEYS = jax.random.split(jax.random.key(7), 2)


@functools.cache
def _run():
    return gan.train(key=_KEYS, lr_d=jnp.array([1e-3, 2e-3]), **_SMALL)


def test_train_shapes_determinism_and_no_recompile():
    run = _run()
    assert run.snapshots.shape == (2, 3, 16, 2)
    assert run.d_loss.shape == (2, 20) and run.g_loss.shape == (2, 20)
    assert run.grid_logits.shape == (2, 61, 61)
    assert np.array_equal(run.snap_steps[0], [0, 10, 20])
    assert bool(jnp.all(jnp.isfinite(run.snapshots)))
    before = gan.train_cache_size()
    again = gan.train(key=_KEYS, lr_d=jnp.array([1e-3, 2e-3]), **_SMALL)
    assert np.array_equal(run.snapshots, again.snapshots)
    other = gan.train(key=_KEYS, lr_d=jnp.array([5e-4, 1e-2]), lr_g=3e-3, non_saturating=False,
                      conditional=jnp.array([True, False]), **_SMALL)  # fmt: skip
    assert gan.train_cache_size() == before, "traced hyperparameters must not recompile"
    assert not np.array_equal(other.snapshots, run.snapshots)
    # different seeds give different runs
    assert not np.array_equal(run.snapshots[0, 0], run.snapshots[1, 0])


def test_unconditional_label_inputs_are_zero_and_their_weights_never_move():
    # an unconditional GAN feeds zeros to the label inputs: those weights get zero gradients
    run = jax.tree.map(lambda a: a[0], _run())
    start = gan.init(key=jax.random.split(_KEYS[0], 3)[0], hidden=8, n_labels=8)
    for trained, initial in ((run.gan.gen[0].W, start.gen[0].W),
                             (run.gan.disc[0].W, start.disc[0].W)):  # fmt: skip
        assert trained.shape == (2 + 8, 8)
        # equal up to rounding (the initialization ran inside jit there, eagerly here)
        np.testing.assert_allclose(trained[2:], initial[2:], rtol=1e-12, atol=1e-12)
        assert float(jnp.abs(trained[:2] - initial[:2]).max()) > 1e-3


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda: gan.ring_of_gaussians(key=None, n=10), TypeError, "key"),
        (lambda: gan.ring_of_gaussians(key=jax.random.key(0), n=0), ValueError, "n"),
        (lambda: gan.ring_of_gaussians(key=jax.random.key(0), n=5, std=-1.0), ValueError, "std"),
        (lambda: gan.mode_coverage(np.zeros((4, 3)), gan.ring_centres(), 0.1), ValueError,
         "columns"),
        (lambda: gan.mode_coverage(np.zeros(4), gan.ring_centres(), 0.1), ValueError, "samples"),
        (lambda: gan.discriminator_loss(np.zeros((2, 2)), np.zeros(2)), ValueError, "real_logits"),
        (lambda: gan.generator_loss("x"), TypeError, "fake_logits"),
        (lambda: gan.optimal_discriminator(np.ones(3), np.ones(2)), ValueError, "same shape"),
        (lambda: gan.train(key=jax.random.key(0), steps=25, n_snaps=2), ValueError, "multiple"),
        (lambda: gan.train(key=jax.random.key(0), lr_d=-1.0, **_SMALL), ValueError, "lr_d"),
        (lambda: gan.train(key=jax.random.key(0), non_saturating=1, **_SMALL), TypeError,
         "non_saturating"),
        (lambda: gan.train(key=jax.random.split(jax.random.key(0), 2), lr_g=jnp.ones(3), **_SMALL),
         ValueError, "lr_g"),
        (lambda: gan.quadratic_discriminator(np.ones(2), 0.0), ValueError, "w"),
    ],
)  # fmt: skip
def test_bad_input_is_rejected_clearly(call, error, words):
    with pytest.raises(error, match=words):
        call()
