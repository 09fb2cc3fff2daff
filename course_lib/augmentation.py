r"""Data augmentation for images as pure, keyed JAX (Aggarwal §8.3.4).

A convolutional network that must recognise a digit wherever it sits can be *told* so by the
data: every training image is shown again shifted, mirrored or slightly rotated, with its label
unchanged. The transformations here act on NHWC batches ``(n, H, W, C)`` and take every
amount (shift, angle, probability) as a traced value, so moving it inside a jitted training
loop never recompiles.

- :func:`shift` moves each image by whole pixels, filling the uncovered border with 0 (the
  digits' blank background); :func:`random_shift` draws the offsets uniformly in
  $\{-m, \dots, m\}^2$;
- :func:`flip_horizontal` / :func:`random_flip` mirror left and right (harmless for photos of
  objects, wrong for digits: a mirrored 2 is no longer a 2; the lecture says so);
- :func:`rotate` / :func:`random_rotate` rotate about the image centre by bilinear
  interpolation.

Colour (PCA) augmentation (Krizhevsky et al. 2012, mentioned in §8.3.4) adds to every pixel's
RGB vector a random combination of the principal components of the training set's pixel
colours; the digits are grey, so it is described in the lecture but not implemented.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from course_lib import _validate
from course_lib._types import Array, ArrayLike, PRNGKey


def _images(name: str, x: Any) -> Array:
    return _validate.float_array(name, x, ndim=4)


def _offsets(name: str, v: Any, n: int) -> Array:
    v = jnp.asarray(v)
    if not jnp.issubdtype(v.dtype, jnp.integer):
        raise TypeError(f"`{name}` must hold whole numbers of pixels, got dtype {v.dtype}.")
    if v.ndim == 0:
        v = jnp.broadcast_to(v, (n,))
    if v.shape != (n,):
        raise ValueError(f"`{name}` must be one int or one per image, shape ({n},); got {v.shape}.")
    return v.astype(jnp.int32)


def _shift_one(img: Array, dy: Array, dx: Array) -> Array:
    h, w = img.shape[0], img.shape[1]
    rows = jnp.arange(h) - dy  # output row i shows input row i - dy
    cols = jnp.arange(w) - dx
    ok = ((rows >= 0) & (rows < h))[:, None] & ((cols >= 0) & (cols < w))[None, :]
    out = img[jnp.clip(rows, 0, h - 1)][:, jnp.clip(cols, 0, w - 1)]
    return jnp.where(ok[:, :, None], out, jnp.zeros((), img.dtype))


def shift(x: ArrayLike, dy: Any, dx: Any) -> Array:
    r"""Move every image down by ``dy`` and right by ``dx`` whole pixels, zero fill:

    $$ y_{n,i,j,c} = \begin{cases} x_{n,\,i-dy_n,\,j-dx_n,\,c} & \text{inside the image}\\
       0 & \text{otherwise.}\end{cases} $$

    Args:
        x: images ``(n, H, W, C)``; dy, dx: ints, one for all images or one per image ``(n,)``
            (negative = up / left); may be traced.

    Returns:
        ``(n, H, W, C)``, the same dtype.
    """
    x = _images("x", x)
    n = x.shape[0]
    return _shift(x, _offsets("dy", dy, n), _offsets("dx", dx, n))


_shift = jax.jit(jax.vmap(_shift_one))  # one compilation per batch shape, offsets traced


def random_shift(x: ArrayLike, *, key: PRNGKey, max_shift: Any) -> Array:
    r"""Shift each image by its own offsets $dy, dx$ drawn uniformly from
    $\{-m, \dots, m\}$ (:func:`shift`), $m$ = ``max_shift`` (traced; 0 returns ``x``).

    The same key gives the same shifts; the labels are unchanged (Aggarwal §8.3.4).
    """
    key = _validate.prng_key("key", key)
    x = _images("x", x)
    if not _validate.is_traced(max_shift):
        if isinstance(max_shift, bool) or int(max_shift) != max_shift or max_shift < 0:
            raise ValueError(f"`max_shift` must be a whole number >= 0, got {max_shift!r}.")
    return _random_shift(x, key, jnp.asarray(max_shift, jnp.int32))


@jax.jit
def _random_shift(x: Array, key: Array, m: Array) -> Array:
    d = jax.random.randint(key, (2, x.shape[0]), -m, m + 1)
    return jax.vmap(_shift_one)(x, d[0], d[1])


def flip_horizontal(x: ArrayLike) -> Array:
    """Mirror every image left to right: ``x[:, :, ::-1, :]``."""
    return _images("x", x)[:, :, ::-1, :]


def random_flip(x: ArrayLike, *, key: PRNGKey, p: Any = 0.5) -> Array:
    """Mirror each image with probability ``p`` (traced), independently (Aggarwal §8.3.4)."""
    key = _validate.prng_key("key", key)
    x = _images("x", x)
    _validate.in_range("p", p, 0.0, 1.0)
    flip = jax.random.bernoulli(key, p, (x.shape[0],))
    return jnp.where(flip[:, None, None, None], x[:, :, ::-1, :], x)


def _rotate_one(img: Array, angle: Array) -> Array:
    h, w = img.shape[0], img.shape[1]
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    ii, jj = jnp.meshgrid(jnp.arange(h, dtype=img.dtype), jnp.arange(w, dtype=img.dtype),
                          indexing="ij")  # fmt: skip
    c, s = jnp.cos(angle).astype(img.dtype), jnp.sin(angle).astype(img.dtype)
    # the output pixel (i, j) samples the input at the point rotated back by -angle
    src_i = cy + c * (ii - cy) - s * (jj - cx)
    src_j = cx + s * (ii - cy) + c * (jj - cx)

    def channel(ch):
        return jax.scipy.ndimage.map_coordinates(ch, [src_i, src_j], order=1, cval=0.0)

    return jax.vmap(channel, in_axes=2, out_axes=2)(img)


def rotate(x: ArrayLike, degrees: Any) -> Array:
    r"""Rotate every image about its centre by ``degrees`` (clockwise as displayed, row 0 at
    the top; one angle for all or one per image; traced), bilinear interpolation, zero outside.

    A rotation by 0 returns ``x``; by 90° on a square image it equals
    ``np.rot90(x, -1, axes=(1, 2))`` (up to rounding).
    """
    x = _images("x", x)
    a = jnp.broadcast_to(jnp.asarray(degrees, x.dtype), (x.shape[0],))
    return jax.vmap(_rotate_one)(x, jnp.deg2rad(a))


def random_rotate(x: ArrayLike, *, key: PRNGKey, max_degrees: Any) -> Array:
    """Rotate each image by its own angle drawn uniformly from ``[-max_degrees, max_degrees]``."""
    key = _validate.prng_key("key", key)
    x = _images("x", x)
    _validate.positive("max_degrees", max_degrees, allow_zero=True)
    a = jax.random.uniform(key, (x.shape[0],), x.dtype, -1.0, 1.0) * max_degrees
    return rotate(x, a)
