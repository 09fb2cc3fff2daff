"""course_lib.transposed_conv: the transposed convolution against a NumPy scatter loop, the
transpose of the explicit convolution matrix and the VJP of the strided convolution (float64);
sizes and overlap counts; unpooling against the max-pool VJP and as an adjoint; the
autoencoder (shapes, gradients against finite differences, determinism, no recompile); bad
input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import widget_views

from course_lib import cnn, data
from course_lib import transposed_conv as tc

RNG = np.random.default_rng(0)


def _scatter(y, w, s, p, a=0):
    """Independent oracle: every input value scatters a scaled copy of the filter."""
    n, mh, mw, cout = y.shape
    f, _, cin, _ = w.shape
    H, W = (mh - 1) * s + f + a, (mw - 1) * s + f + a  # before cropping the padding
    out = np.zeros((n, H + 2 * p, W + 2 * p, cin))
    for i in range(mh):
        for j in range(mw):
            for r in range(f):
                for c in range(f):
                    out[:, p + i * s + r, p + j * s + c, :] += y[:, i, j, :] @ w[r, c].T
    return out[:, 2 * p : 2 * p + H - 2 * p, 2 * p : 2 * p + W - 2 * p, :]


CASES = [(5, 3, 1, 0, 0), (4, 3, 2, 1, 1), (4, 4, 2, 1, 0), (3, 3, 2, 0, 0), (3, 5, 3, 2, 2),
         (2, 2, 2, 0, 0)]  # fmt: skip


@pytest.mark.parametrize(("m", "f", "s", "p", "a"), CASES)
def test_transpose_equals_scatter_loop_matrix_transpose_and_vjp(m, f, s, p, a):
    with jax.enable_x64(True):
        y = RNG.normal(size=(2, m, m, 3))
        w = RNG.normal(size=(f, f, 2, 3))
        got = np.asarray(tc.conv2d_transpose(y, w, stride=s, padding=p, output_padding=a))
        n = tc.output_size(m, f, s, p, a)
        assert got.shape == (2, n, n, 2)
        ref = _scatter(y, w, s, p, a)
        np.testing.assert_allclose(got, ref, atol=1e-12)
        # the VJP of the forward strided convolution (lax floors the output size)
        dims = ("NHWC", "HWIO", "NHWC")

        def fwd(x):
            return jax.lax.conv_general_dilated(x, jnp.asarray(w), (s, s), [(p, p), (p, p)],
                                                dimension_numbers=dims)  # fmt: skip

        x0 = jnp.zeros((2, n, n, 2))
        out, vjp = jax.vjp(fwd, x0)
        assert out.shape == y.shape, "the transposed size inverts the forward size"
        np.testing.assert_allclose(vjp(jnp.asarray(y))[0], got, atol=1e-12)
        if (n + 2 * p - f) % s == 0:  # the course's conv_matrix needs an exact size
            C = np.asarray(cnn.conv_matrix((n, n, 2), w, stride=s, padding=p))
            via_matrix = np.stack([(C.T @ y[k].reshape(-1)).reshape(n, n, 2) for k in range(2)])
            np.testing.assert_allclose(via_matrix, got, atol=1e-12)


def test_adjoint_identity_and_overlap_counts():
    with jax.enable_x64(True):
        x, y = RNG.normal(size=(1, 8, 8, 2)), RNG.normal(size=(1, 4, 4, 3))
        w = RNG.normal(size=(4, 4, 2, 3))
        lhs = np.sum(np.asarray(cnn.conv2d(x, w, stride=2, padding=1)) * y)
        rhs = np.sum(x * np.asarray(tc.conv2d_transpose(y, w, stride=2, padding=1)))
        assert abs(lhs - rhs) < 1e-10
        for m, f, s, p, a in CASES:
            ones = tc.conv2d_transpose(np.ones((1, m, m, 1)), np.ones((f, f, 1, 1)), stride=s,
                                       padding=p, output_padding=a)[0, :, :, 0]  # fmt: skip
            c = tc.overlap_count(m, f, s, p, a)
            np.testing.assert_array_equal(np.asarray(ones), np.outer(c, c))
    np.testing.assert_array_equal(tc.overlap_count(4, 3, 2, 1, 1), [1, 2, 1, 2, 1, 2, 1, 1])
    np.testing.assert_array_equal(tc.overlap_count(4, 4, 2, 1), [1, 2, 2, 2, 2, 2, 2, 1])
    assert tc.output_size(2, 3, 2, 1, 1) == 4 and tc.output_size(4, 4, 2, 1) == 8
    assert tc.output_size(7, 3, 1) == 9


def test_resize_conv_is_even_and_equals_upsample_then_conv():
    with jax.enable_x64(True):
        out = np.asarray(tc.resize_conv(np.ones((1, 4, 4, 1)), np.ones((3, 3, 1, 1))))[0, :, :, 0]
        assert np.all(out[1:-1, 1:-1] == 9)
        x, w = RNG.normal(size=(2, 3, 3, 2)), RNG.normal(size=(3, 3, 2, 4))
        up = np.repeat(np.repeat(x, 2, axis=1), 2, axis=2)
        np.testing.assert_allclose(tc.resize_conv(x, w), cnn.conv2d(up, w, padding=1),
                                   atol=1e-12)  # fmt: skip


def test_unpool_is_the_max_pool_vjp_and_its_adjoint():
    with jax.enable_x64(True):
        x = jnp.asarray(RNG.normal(size=(2, 6, 4, 3)))
        pooled, sw = tc.max_pool_switches(x, 2)
        np.testing.assert_array_equal(pooled, cnn.max_pool(x, 2))
        g = jnp.asarray(RNG.normal(size=pooled.shape))
        _, vjp = jax.vjp(lambda z: cnn.max_pool(z, 2), x)
        np.testing.assert_allclose(tc.unpool(g, sw, 2), vjp(g)[0], atol=1e-14)
        # loop oracle
        xn, gn = np.asarray(x), np.asarray(g)
        ref = np.zeros_like(xn)
        for n, i, j, c in np.ndindex(*gn.shape):
            block = xn[n, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2, c]
            r, s = np.unravel_index(np.argmax(block), (2, 2))
            ref[n, 2 * i + r, 2 * j + s, c] = gn[n, i, j, c]
        np.testing.assert_allclose(tc.unpool(g, sw, 2), ref, atol=0)
        # <P x, g> = <x, P^T g>
        assert abs(float(jnp.sum(pooled * g) - jnp.sum(x * tc.unpool(g, sw, 2)))) < 1e-12


@pytest.mark.parametrize("decoder", tc.DECODERS)
def test_autoencoder_shapes_and_gradient(decoder):
    with jax.enable_x64(True):
        p = tc.init_autoencoder(key=jax.random.key(0), decoder=decoder, c1=3, c2=2)
        p = jax.tree.map(lambda a: a.astype(jnp.float64), p)
        x = jnp.asarray(RNG.uniform(size=(3, 8, 8, 1)))
        assert tc.encode(p, x).shape == (3, 2, 2, 2)
        assert tc.reconstruct(p, x, decoder=decoder).shape == (3, 8, 8, 1)
        g = jax.grad(tc.loss)(p, x, decoder=decoder)
        d = jax.tree.map(lambda a: jnp.asarray(RNG.normal(size=a.shape)), p)
        eps = 1e-6
        plus = tc.loss(jax.tree.map(lambda a, b: a + eps * b, p, d), x, decoder=decoder)
        minus = tc.loss(jax.tree.map(lambda a, b: a - eps * b, p, d), x, decoder=decoder)
        fd = (plus - minus) / (2 * eps)
        an = sum(jnp.sum(a * b) for a, b in zip(jax.tree.leaves(g), jax.tree.leaves(d),
                                                strict=True))  # fmt: skip
        assert abs(float(fd - an)) < 1e-6 * max(1.0, abs(float(an)))


def test_fit_learns_is_deterministic_and_does_not_recompile():
    X = cnn.as_images(data.digits().X[:200]).astype(jnp.float32)
    p0 = tc.init_autoencoder(key=jax.random.key(1), decoder="resize")
    a = tc.fit(p0, X, key=jax.random.key(2), decoder="resize", steps=40, batch=32)
    b = tc.fit(p0, X, key=jax.random.key(2), decoder="resize", steps=40, batch=32)
    n = widget_views.compiles()
    tc.fit(p0, X, key=jax.random.key(3), decoder="resize", steps=40, batch=32, lr=0.003)
    assert widget_views.compiles() == n, "a new learning rate or key must not recompile"
    np.testing.assert_array_equal(a.losses, b.losses)
    assert float(a.losses[-5:].mean()) < 0.5 * float(a.losses[:3].mean())


def test_bad_input():
    with pytest.raises(ValueError, match="padding"):
        tc.output_size(3, 3, 2, 3)
    with pytest.raises(ValueError, match="output_padding"):
        tc.output_size(3, 3, 2, 1, 2)
    with pytest.raises(TypeError, match="stride"):
        tc.overlap_count(3, 3, 1.5)
    with pytest.raises(ValueError, match="out_channels"):
        tc.conv2d_transpose(np.zeros((1, 3, 3, 2)), np.zeros((3, 3, 1, 4)))
    with pytest.raises(ValueError, match="square"):
        tc.conv2d_transpose(np.zeros((1, 3, 3, 2)), np.zeros((3, 2, 1, 2)))
    with pytest.raises(ValueError, match="odd"):
        tc.resize_conv(np.zeros((1, 3, 3, 1)), np.zeros((4, 4, 1, 1)))
    with pytest.raises(ValueError, match="divisible"):
        tc.max_pool_switches(np.zeros((1, 5, 4, 1)), 2)
    with pytest.raises(ValueError, match="switches"):
        tc.unpool(np.zeros((1, 2, 2, 1)), np.zeros((1, 2, 2, 1)), 2)
    with pytest.raises(ValueError, match="decoder"):
        tc.init_autoencoder(key=jax.random.key(0), decoder="deconv")
    with pytest.raises(TypeError, match="key"):
        tc.init_autoencoder(key=0, decoder="resize")
    p = tc.init_autoencoder(key=jax.random.key(0), decoder="resize")
    with pytest.raises(ValueError, match="8×8"):
        tc.fit(p, np.zeros((10, 6, 6, 1)), key=jax.random.key(0), decoder="resize")
    with pytest.raises(ValueError, match="batch"):
        tc.fit(p, np.zeros((10, 8, 8, 1)), key=jax.random.key(0), decoder="resize", batch=20)


def test_autoencoder_layers_equal_the_convolution_functions():
    with jax.enable_x64(True):
        x = RNG.normal(size=(2, 8, 8, 3))
        wb = (jnp.asarray(RNG.normal(size=(4, 4, 3, 2))), jnp.asarray(RNG.normal(size=2)))
        ref = cnn.conv2d(x, wb[0], wb[1], stride=2, padding=1)
        np.testing.assert_allclose(tc._conv(jnp.asarray(x), wb, 2, 1), ref, atol=1e-12)
        y = jnp.asarray(RNG.normal(size=(2, 4, 4, 2)))
        for f, a in ((3, 1), (4, 0)):
            w = jnp.asarray(RNG.normal(size=(f, f, 3, 2)))
            b = jnp.asarray(RNG.normal(size=3))
            ref = tc.conv2d_transpose(y, w, stride=2, padding=1, output_padding=a)
            ref = ref + b[None, None, None, :]
            np.testing.assert_allclose(tc._conv_t(y, (w, b), 8, 2, 1), ref, atol=1e-12)
        w3 = jnp.asarray(RNG.normal(size=(3, 3, 2, 3)))
        np.testing.assert_allclose(tc._up(y, (w3, jnp.zeros(3)), "resize"), tc.resize_conv(y, w3),
                                   atol=1e-12)  # fmt: skip
