"""course_lib.compression: pruning removes exactly floor(p N) weights, the smallest in magnitude
(against a NumPy sort); quantization against a NumPy formula with its error bound and level count;
traced fraction and bits (no recompile), masked fine-tuning keeps the zeros, sizes, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import widget_views

from course_lib import compression, data, mlp

RNG = np.random.default_rng(1)


@pytest.mark.parametrize("fraction", [0.0, 0.3, 0.5, 0.7, 0.9, 0.95, 1.0])
def test_prune_zeroes_exactly_the_smallest_magnitudes(fraction):
    W = RNG.normal(size=(16, 10))
    with jax.enable_x64(True):
        got = np.asarray(compression.prune(W, fraction))
    k = int(fraction * W.size + 1e-9)
    expected = W.ravel().copy()
    expected[np.argsort(np.abs(W).ravel(), kind="stable")[:k]] = 0.0
    np.testing.assert_array_equal(got, expected.reshape(W.shape))
    assert np.sum(got == 0) == k  # the fraction of zeros equals the target


def test_prune_float32_counts_like_float64():
    W = jnp.asarray(RNG.normal(size=(64, 32)), jnp.float32)
    for f in (0.1, 0.3, 0.6, 0.7, 0.9):
        assert int(jnp.sum(compression.prune(W, f) == 0)) == int(f * W.size + 1e-9)


@pytest.mark.parametrize("bits", [2, 3, 4, 8])
def test_quantize_matches_numpy_bound_and_levels(bits):
    W = RNG.normal(size=(12, 9))
    with jax.enable_x64(True):
        got = np.asarray(compression.quantize(W, bits))
    s = np.abs(W).max() / (2 ** (bits - 1) - 1)
    np.testing.assert_allclose(got, s * np.round(W / s), rtol=1e-12)
    assert np.max(np.abs(got - W)) <= s / 2 + 1e-12
    assert np.unique(got).size <= 2**bits - 1
    assert np.isclose(np.abs(got).max(), np.abs(W).max())  # the largest weight is kept


def test_quantize_zero_matrix_stays_zero():
    assert np.all(np.asarray(compression.quantize(np.zeros((3, 3)), 4)) == 0)


def _trained():
    d = data.digits()
    p0 = mlp.init((64, 16, 10), key=jax.random.key(2), scheme="he")
    p, _ = mlp.train(p0, d.X[:500], d.y[:500], lr=0.5, steps=100, activation="relu")
    return p, d.X[500:900], d.y[500:900]


def test_evaluate_is_traced_and_matches_compress():
    p, X, y = _trained()
    acc, small = compression.evaluate(p, X, y, 0.5, 8)
    n = widget_views.compiles()
    acc2, small2 = compression.evaluate(p, X, y, 0.8, 3)
    acc3, _ = compression.evaluate(p, X, y, 0.0, 32)
    assert widget_views.compiles() == n, "fraction and bits are traced: no recompile"
    ref = compression.compress(p, 0.8, 3)
    for a, b in zip(small2, ref, strict=True):
        np.testing.assert_array_equal(np.asarray(a.W), np.asarray(b.W))
    assert float(acc3) == float(mlp.accuracy(p, X, y, "relu"))  # 32 bits, nothing pruned
    assert float(jnp.mean(small[0].W == 0)) == 0.5


def test_fine_tune_keeps_the_zeros_and_helps():
    p, X, y = _trained()
    pruned = compression.compress(p, 0.9, 32)
    tuned = compression.fine_tune(pruned, X, y, lr=0.5, steps=40)
    for a, b in zip(pruned, tuned, strict=True):
        assert np.all(np.asarray(b.W)[np.asarray(a.W) == 0] == 0)
    assert float(mlp.loss(tuned, X, y, "relu")) < float(mlp.loss(pruned, X, y, "relu"))


def test_size_bits():
    p = mlp.init((64, 16, 10), key=jax.random.key(0))
    full = 32 * (64 * 16 + 16 + 16 * 10 + 10)
    assert compression.size_bits(p, 0.0, 32) == full
    assert compression.size_bits(p, 0.0, 8) == 8 * (64 * 16 + 16 * 10) + 2 * 32 + 32 * 26
    assert compression.size_bits(p, 0.5, 32) == 32 * (512 + 80) + 32 * 26


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="fraction"):
        compression.prune(np.ones(4), 1.5)
    with pytest.raises(ValueError, match="bits"):
        compression.quantize(np.ones(4), 1)
    with pytest.raises(ValueError, match="bits"):
        compression.quantize(np.ones(4), 2.5)
    with pytest.raises(TypeError, match="params"):
        compression.compress([np.ones(3)], 0.5, 8)
