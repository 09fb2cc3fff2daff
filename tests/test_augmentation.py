"""course_lib.augmentation: shifts against a NumPy loop, randomness keyed and bounded,
flips and rotations against NumPy, no recompiles for new amounts, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import widget_views

from course_lib import augmentation as aug

RNG = np.random.default_rng(0)
X = RNG.uniform(0.1, 1.0, size=(30, 6, 7, 2)).astype(np.float32)


def _loop_shift(img, dy, dx):
    out = np.zeros_like(img)
    for i in range(img.shape[0]):
        for j in range(img.shape[1]):
            if 0 <= i - dy < img.shape[0] and 0 <= j - dx < img.shape[1]:
                out[i, j] = img[i - dy, j - dx]
    return out


@pytest.mark.parametrize("dy,dx", [(0, 0), (1, -2), (-3, 0), (7, 1)])
def test_shift_equals_a_loop(dy, dx):
    got = np.asarray(aug.shift(X[:3], dy, dx))
    for i in range(3):
        np.testing.assert_array_equal(got[i], _loop_shift(X[i], dy, dx))


def test_random_shift_is_keyed_bounded_and_varied():
    a = np.asarray(aug.random_shift(X, key=jax.random.key(1), max_shift=2))
    np.testing.assert_array_equal(a, aug.random_shift(X, key=jax.random.key(1), max_shift=2))
    assert not np.array_equal(a, aug.random_shift(X, key=jax.random.key(2), max_shift=2))
    found = set()
    for i in range(len(X)):
        hits = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                if np.array_equal(a[i], _loop_shift(X[i], dy, dx))]  # fmt: skip
        assert hits, f"image {i} is not a shift within 2 pixels"
        found.add(hits[0])
    assert len(found) > 5
    np.testing.assert_array_equal(aug.random_shift(X, key=jax.random.key(3), max_shift=0), X)


def test_random_shift_does_not_recompile_for_a_new_amount():
    aug.random_shift(X, key=jax.random.key(0), max_shift=1)
    n = widget_views.compiles()
    aug.random_shift(X, key=jax.random.key(5), max_shift=3)
    assert widget_views.compiles() == n


def test_flips_and_rotations():
    np.testing.assert_array_equal(aug.flip_horizontal(X), X[:, :, ::-1])
    f = np.asarray(aug.random_flip(X, key=jax.random.key(0), p=0.5))
    flipped = [np.array_equal(f[i], X[i, :, ::-1]) for i in range(len(X))]
    kept = [np.array_equal(f[i], X[i]) for i in range(len(X))]
    assert all(a or b for a, b in zip(flipped, kept, strict=True)) and any(flipped) and any(kept)
    sq = RNG.normal(size=(2, 5, 5, 1))
    np.testing.assert_allclose(aug.rotate(sq, 0.0), sq, atol=1e-6)
    np.testing.assert_allclose(aug.rotate(sq, 90.0), np.rot90(sq, -1, axes=(1, 2)), atol=1e-5)
    r = aug.random_rotate(sq, key=jax.random.key(0), max_degrees=10.0)
    assert r.shape == sq.shape and bool(jnp.all(jnp.isfinite(r)))


def test_bad_input():
    with pytest.raises(ValueError, match="4-dimensional"):
        aug.shift(np.zeros((5, 5)), 1, 1)
    with pytest.raises(TypeError, match="whole numbers"):
        aug.shift(X, 0.5, 1)
    with pytest.raises(ValueError, match="max_shift"):
        aug.random_shift(X, key=jax.random.key(0), max_shift=-1)
    with pytest.raises(TypeError, match="random key"):
        aug.random_shift(X, key=0, max_shift=1)
    with pytest.raises(ValueError, match=r"\[0.0, 1.0\]"):
        aug.random_flip(X, key=jax.random.key(0), p=1.5)
