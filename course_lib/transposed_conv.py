r"""Transposed convolution, unpooling with switches, and a convolutional autoencoder
(Aggarwal §8.5.2; Goodfellow et al. §9.5; Odena, Dumoulin & Olah 2016).

Layout as in :mod:`course_lib.cnn`: images NHWC ``(n, H, W, C)``, filters HWIO
``(F, F, C_in, C_out)`` *of the forward convolution* that maps ``C_in`` to ``C_out`` channels.

- **transposed convolution** (:func:`conv2d_transpose`): if the strided convolution is
  $\mathrm{vec}(y) = C\,\mathrm{vec}(x)$ (:func:`course_lib.cnn.conv_matrix`), its transpose is
  $\mathrm{vec}(\hat x) = C^\top \mathrm{vec}(y)$: every input value $y_{ij}$ *scatters* a copy
  of the filter, scaled by $y_{ij}$, into the output at position $(S i - p, S j - p)$, and the
  copies add up where they overlap. It is also the gradient of the convolution with respect to
  its input (the VJP), which is how the backward pass of a CNN computes it (§8.3.3). The output
  size is :func:`output_size`, $(m-1)S - 2p + F + a$ (``a`` = ``output_padding``).
- **the checkerboard** (:func:`overlap_count`): how many filter copies land on each output
  pixel. With stride $S$ and a filter size $F$ that $S$ does not divide, the count alternates
  (1, 2, 1, 2, ... for $F=3, S=2$), so even a constant input gives a striped output; with
  $S \mid F$ it is constant away from the border. Nearest-neighbour upsampling followed by a
  stride-1 convolution (:func:`resize_conv`) has no such unevenness.
- **unpooling with switches** (:func:`max_pool_switches`, :func:`unpool`): remember where each
  pooling window's maximum was and put the value back there, zeros elsewhere. This is the
  transpose of the selection that max-pooling makes (and equals the max-pool VJP).
- **a convolutional autoencoder** (:func:`init_autoencoder`, :func:`fit`): two stride-2
  convolutions down to a ``2×2×c`` code, and a decoder made of transposed convolutions
  (``"transposed3"``: $F=3$, uneven overlap; ``"transposed4"``: $F=4$, even) or of
  resize-convolutions (``"resize"``).
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from course_lib import _validate, cnn, optim
from course_lib._types import Array, ArrayLike, PRNGKey

_DIMS = ("NHWC", "HWIO", "NHWC")
DECODERS = ("transposed3", "transposed4", "resize")
_DRAW = 2048  # random numbers drawn per layer at initialization (the largest filter bank)


def _nonneg_int(name: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"`{name}` must be a non-negative integer, got {v!r}.")
    if v < 0:
        raise ValueError(f"`{name}` must be a non-negative integer, got {v!r}.")
    return int(v)


def _geometry(f: Any, stride: Any, padding: Any, output_padding: Any) -> tuple[int, int, int, int]:
    f = _validate.positive_int("f", f)
    s = _validate.positive_int("stride", stride)
    p = _nonneg_int("padding", padding)
    a = _nonneg_int("output_padding", output_padding)
    if p > f - 1:
        raise ValueError(f"`padding` must be at most f - 1 = {f - 1} (filter size {f}), got {p}.")
    if a >= s:
        raise ValueError(f"`output_padding` must be smaller than the stride {s}, got {a}.")
    return f, s, p, a


# ------------------------------------------------------------------------------ sizes


def output_size(m: int, f: int, stride: int = 1, padding: int = 0, output_padding: int = 0) -> int:
    r"""Output length of a transposed convolution of an input of length ``m``:

    $$ n = (m - 1)\,S - 2p + F + a . $$

    It inverts the forward size $m = \lfloor (n + 2p - F)/S \rfloor + 1$; when $S$ does not
    divide $n + 2p - F$, several $n$ give the same $m$ and ``output_padding`` $a < S$ picks one.
    """
    m = _validate.positive_int("m", m)
    f, s, p, a = _geometry(f, stride, padding, output_padding)
    n = (m - 1) * s - 2 * p + f + a
    if n < 1:
        raise ValueError(f"the output would have {n} pixels: use less padding.")
    return n


def overlap_count(
    m: int, f: int, stride: int = 1, padding: int = 0, output_padding: int = 0
) -> np.ndarray:
    r"""How many filter taps land on each output pixel of a 1-D transposed convolution of
    length ``m``: $c_t = \#\{(i, r) : S i + r - p = t\}$, $0 \le i < m$, $0 \le r < F$.

    Exact integers (a NumPy count, cheap enough for a widget). The 2-D count of a square filter
    is the outer product ``np.outer(c, c)``; it is what :func:`conv2d_transpose` gives for an
    all-ones input and an all-ones filter.

    Returns:
        ``(n,)`` int array, ``n`` = :func:`output_size`.
    """
    n = output_size(m, f, stride, padding, output_padding)
    counts = np.zeros(n, dtype=np.int64)
    for i in range(m):
        for r in range(f):
            t = i * stride + r - padding
            if 0 <= t < n:
                counts[t] += 1
    return counts


# ------------------------------------------------------------------------------ transposed conv


def conv2d_transpose(
    y: ArrayLike, w: ArrayLike, *, stride: int = 1, padding: int = 0, output_padding: int = 0
) -> Array:
    r"""The transposed convolution $\hat x = C^\top y$ of the strided convolution with filters
    ``w`` (Aggarwal §8.5.2; Goodfellow §9.5):

    $$ \hat x_{n,\,S i + r - p,\; S j + s - p,\; k} \mathrel{+}= w_{r,s,k,q}\; y_{n,i,j,q} . $$

    Computed as a stride-1 convolution of ``y`` dilated by $S$ (zeros between its pixels),
    padded by $F - 1 - p$, with the filter rotated by 180° and its channel axes swapped.

    Args:
        y: ``(n, m_h, m_w, C_out)``.
        w: ``(F, F, C_in, C_out)``, the forward convolution's filters.
        stride, padding: those of the forward convolution; ``output_padding`` extra rows and
            columns at the bottom and right (see :func:`output_size`).

    Returns:
        ``(n, H, W, C_in)`` with ``H = output_size(m_h, F, stride, padding, output_padding)``.
    """
    y = _validate.float_array("y", y, ndim=4)
    w = _validate.float_array("w", w, ndim=4)
    if w.shape[0] != w.shape[1]:
        raise ValueError(f"`w` must hold square filters (F, F, C_in, C_out), got {w.shape}.")
    if w.shape[3] != y.shape[3]:
        raise ValueError(
            f"`w` must have out_channels = {y.shape[3]} (the channels of `y`, axis 3 of an "
            f"HWIO filter bank), got shape {tuple(w.shape)}."
        )
    f, s, p, a = _geometry(w.shape[0], stride, padding, output_padding)
    for axis in (1, 2):
        output_size(y.shape[axis], f, s, p, a)
    w_t = jnp.swapaxes(w[::-1, ::-1], 2, 3).astype(y.dtype)  # (F, F, C_out, C_in)
    q = f - 1 - p
    return jax.lax.conv_general_dilated(
        y, w_t, (1, 1), [(q, q + a), (q, q + a)], lhs_dilation=(s, s), dimension_numbers=_DIMS
    )


def upsample_nearest(x: ArrayLike, factor: int = 2) -> Array:
    """Repeat every pixel ``factor``×``factor`` times: ``(n, H, W, C) -> (n, fH, fW, C)``."""
    x = _validate.float_array("x", x, ndim=4)
    k = _validate.positive_int("factor", factor)
    return jnp.repeat(jnp.repeat(x, k, axis=1), k, axis=2)


def resize_conv(x: ArrayLike, w: ArrayLike, *, factor: int = 2) -> Array:
    r"""Resize-convolution (Odena et al. 2016): :func:`upsample_nearest` by ``factor``, then a
    stride-1 'same' convolution with an odd filter ``w (F, F, C_in, C_out)``. Every output
    pixel sees the same number of taps, so there is no checkerboard from uneven overlap."""
    x = upsample_nearest(x, factor)
    w = _validate.float_array("w", w, ndim=4)
    if w.shape[0] % 2 == 0 or w.shape[0] != w.shape[1]:
        raise ValueError(f"`w` must hold square filters of odd size, got shape {w.shape}.")
    return cnn.conv2d(x, w, padding=(w.shape[0] - 1) // 2)


# ------------------------------------------------------------------------------ unpooling


def _blocks(x: Array, size: int) -> Array:
    n, H, W, C = x.shape
    if H % size or W % size:
        raise ValueError(f"height and width must be divisible by `size`={size}, got {H}×{W}.")
    b = x.reshape(n, H // size, size, W // size, size, C)
    return b.transpose(0, 1, 3, 5, 2, 4).reshape(n, H // size, W // size, C, size * size)


def max_pool_switches(x: ArrayLike, size: int = 2) -> tuple[Array, Array]:
    r"""Max-pooling over non-overlapping ``size``×``size`` blocks that also returns the
    *switches*: where in each block the maximum was, as the index $r \cdot \text{size} + s$
    (the first one on a tie).

    Returns:
        ``(pooled, switches)``, both ``(n, H/size, W/size, C)``; switches are int32.
    """
    x = _validate.float_array("x", x, ndim=4)
    size = _validate.positive_int("size", size)
    b = _blocks(x, size)
    return b.max(axis=-1), jnp.argmax(b, axis=-1).astype(jnp.int32)


def unpool(y: ArrayLike, switches: ArrayLike, size: int = 2) -> Array:
    r"""Unpooling with switches (Aggarwal §8.5.2; Zeiler & Fergus 2014): each value of ``y``
    goes back to the place its block's maximum came from; the other places get 0.

    It is the transpose of max-pooling's selection matrix $P$ (fixed by the switches), so
    $\langle P x, y\rangle = \langle x, \mathrm{unpool}(y)\rangle$; for an input without ties
    it is the gradient of :func:`max_pool_switches` w.r.t. ``x``, i.e. the max-pool VJP.

    Args:
        y: ``(n, h, w, C)``; switches: ``(n, h, w, C)`` integers in ``[0, size²)``.

    Returns:
        ``(n, h·size, w·size, C)``.
    """
    y = _validate.float_array("y", y, ndim=4)
    size = _validate.positive_int("size", size)
    sw = jnp.asarray(switches)
    if sw.shape != y.shape or not jnp.issubdtype(sw.dtype, jnp.integer):
        raise ValueError(
            f"`switches` must be integers of the shape of `y` {tuple(y.shape)}, got "
            f"{sw.dtype}{tuple(sw.shape)}."
        )
    n, h, w, c = y.shape
    spread = jax.nn.one_hot(sw, size * size, dtype=y.dtype) * y[..., None]  # (n, h, w, C, s*s)
    spread = spread.reshape(n, h, w, c, size, size).transpose(0, 1, 4, 2, 5, 3)
    return spread.reshape(n, h * size, w * size, c)


# ------------------------------------------------------------------------------ autoencoder


class ConvAE(NamedTuple):
    """Parameters of :func:`init_autoencoder`: two encoder and two decoder layers ``(w, b)``."""

    enc1: tuple[Array, Array]  # (4, 4, 1, c1): 8x8 -> 4x4
    enc2: tuple[Array, Array]  # (4, 4, c1, c2): 4x4 -> 2x2, the code
    dec1: tuple[Array, Array]  # 2x2x c2 -> 4x4x c1
    dec2: tuple[Array, Array]  # 4x4x c1 -> 8x8x1


def _decoder_name(decoder: Any) -> str:
    if decoder not in DECODERS:
        raise ValueError(f"`decoder` must be one of {DECODERS}, got {decoder!r}.")
    return decoder


def init_autoencoder(*, key: PRNGKey, decoder: str, c1: int = 8, c2: int = 4) -> ConvAE:
    r"""He-scaled filters, zero biases. Encoder: 4×4 convolutions, stride 2, padding 1
    (8×8 → 4×4 → 2×2, code of $4 c_2$ numbers). Decoder (``decoder``):

    - ``"transposed3"``: transposed 3×3, stride 2, padding 1, ``output_padding`` 1;
    - ``"transposed4"``: transposed 4×4, stride 2, padding 1;
    - ``"resize"``: nearest ×2 then a 3×3 'same' convolution.
    """
    key = _validate.prng_key("key", key)
    decoder = _decoder_name(decoder)
    c1, c2 = _validate.positive_int("c1", c1), _validate.positive_int("c2", c2)
    if 16 * c1 * c2 > _DRAW:
        raise ValueError(f"c1 * c2 must be at most {_DRAW // 16}, got {c1} * {c2}.")
    fd = 4 if decoder == "transposed4" else 3
    dt = jnp.result_type(float)
    # decoder filters in the layout each layer uses: the forward (C_in=out, C_out=in) for the
    # transposed ones, plain HWIO for the resize ones
    if decoder == "resize":
        shapes = [(4, 4, 1, c1), (4, 4, c1, c2), (fd, fd, c2, c1), (fd, fd, c1, 1)]
    else:
        shapes = [(4, 4, 1, c1), (4, 4, c1, c2), (fd, fd, c1, c2), (fd, fd, 1, c1)]
    fan_in = [16, 16 * c1, fd * fd * c2, fd * fd * c1]
    bias = [c1, c2, c1, 1]
    # one draw of a fixed shape, sliced: every decoder and seed reuses one compiled generator
    draws = jax.random.normal(key, (4, _DRAW), dt)
    layers = []
    for row, sh, fi, nb in zip(draws, shapes, fan_in, bias, strict=True):
        w = row[: int(np.prod(sh))].reshape(sh) * np.sqrt(2.0 / fi)
        layers.append((w, jnp.zeros(nb, dt)))
    return ConvAE(*layers)


@functools.cache
def _taps(n: int, f: int, stride: int, padding: int) -> np.ndarray:
    """``T[r, s, o, i] = 1`` when output pixel ``o`` of an ``f``×``f`` convolution (stride,
    padding, floored output size) reads input pixel ``i`` of an ``n``×``n`` image with tap
    ``(r, s)``: the 0/1 pattern that the weights fill in to make the matrix $C$."""
    m = (n + 2 * padding - f) // stride + 1
    T = np.zeros((f, f, m * m, n * n))
    for i in range(m):
        for j in range(m):
            for r in range(f):
                for c in range(f):
                    a, b = i * stride + r - padding, j * stride + c - padding
                    if 0 <= a < n and 0 <= b < n:
                        T[r, c, i * m + j, a * n + b] = 1.0
    return T


def _matrix(w: Array, n: int, stride: int, padding: int) -> Array:
    r"""The convolution matrix $C$ ``(m·m·C_out, n·n·C_in)`` of filters ``w`` on ``n``×``n``
    images (pixel-major, channel-minor, as :func:`course_lib.cnn.conv_matrix`)."""
    T = jnp.asarray(_taps(n, w.shape[0], stride, padding), w.dtype)
    C = jnp.einsum("rsoi,rskq->oqik", T, w)  # (m*m, C_out, n*n, C_in)
    return C.reshape(C.shape[0] * C.shape[1], C.shape[2] * C.shape[3])


def _conv(x: Array, wb: tuple[Array, Array], stride: int, padding: int) -> Array:
    """Forward convolution as one matrix product (fast on a CPU for 8×8 images)."""
    w, b = wb
    n, H = x.shape[0], x.shape[1]
    C = _matrix(w.astype(x.dtype), H, stride, padding)
    m = (H + 2 * padding - w.shape[0]) // stride + 1
    y = x.reshape(n, -1) @ C.T  # (n, m*m*C_out)
    return y.reshape(n, m, m, w.shape[3]) + b.astype(x.dtype)[None, None, None, :]


def _conv_t(y: Array, wb: tuple[Array, Array], n_out: int, stride: int, padding: int) -> Array:
    r"""Transposed convolution as the product with $C^\top$, $C$ the matrix of the forward
    convolution that maps ``n_out``×``n_out`` images to the size of ``y``."""
    w, b = wb
    C = _matrix(w.astype(y.dtype), n_out, stride, padding)
    x = y.reshape(y.shape[0], -1) @ C  # (n, n_out*n_out*C_in)
    return x.reshape(y.shape[0], n_out, n_out, w.shape[2]) + b.astype(y.dtype)[None, None, None, :]


def encode(params: ConvAE, x: ArrayLike) -> Array:
    """The code ``(n, 2, 2, c2)`` of images ``x (n, 8, 8, 1)`` (ReLU after the first layer).

    Every layer of the autoencoder is computed as a product with its convolution matrix,
    which is fast on a CPU for images this small (equal to :func:`course_lib.cnn.conv2d`,
    :func:`conv2d_transpose` and :func:`resize_conv`: tested)."""
    return _encode_jit(params, _ae_input(x))


_encode_jit = jax.jit(lambda params, x: _encode(params, x))


def _up(h: Array, wb: tuple[Array, Array], decoder: str) -> Array:
    if decoder == "resize":
        return _conv(upsample_nearest(h, 2), wb, 1, (wb[0].shape[0] - 1) // 2)
    return _conv_t(h, wb, 2 * h.shape[1], 2, 1)


def decode(params: ConvAE, code: ArrayLike, *, decoder: str) -> Array:
    """Images ``(n, 8, 8, 1)`` from codes ``(n, 2, 2, c2)``: two ×2 upsampling layers."""
    decoder = _decoder_name(decoder)
    code = _validate.float_array("code", code, ndim=4)
    return _decode(params, code, decoder=decoder)


@functools.partial(jax.jit, static_argnames="decoder")
def _decode(params, code, *, decoder):
    return _up(jax.nn.relu(_up(code, params.dec1, decoder)), params.dec2, decoder)


def _encode(params, x):
    h = jax.nn.relu(_conv(x, params.enc1, 2, 1))
    return _conv(h, params.enc2, 2, 1)


def _loss(params, x, decoder):
    return jnp.mean((_decode(params, _encode(params, x), decoder=decoder) - x) ** 2)


def reconstruct(params: ConvAE, x: ArrayLike, *, decoder: str) -> Array:
    """``decode(encode(x))``: ``(n, 8, 8, 1) -> (n, 8, 8, 1)``."""
    return decode(params, encode(params, x), decoder=decoder)


def loss(params: ConvAE, x: ArrayLike, *, decoder: str) -> Array:
    """Mean squared reconstruction error per pixel (jitted)."""
    decoder = _decoder_name(decoder)
    x = _ae_input(x)
    return _loss_jit(params, x, decoder=decoder)


_loss_jit = jax.jit(_loss, static_argnames="decoder")


def _ae_input(x: ArrayLike) -> Array:
    """Validate images for the autoencoder: ``(n, 8, 8, 1)`` floats."""
    x = _validate.float_array("x", x, ndim=4)
    if x.shape[1:] != (8, 8, 1):
        raise ValueError(f"`x` must hold 8×8 grey images (n, 8, 8, 1), got {tuple(x.shape)}.")
    return x


class FitResult(NamedTuple):
    """What :func:`fit` returns."""

    params: ConvAE
    losses: Array  # (steps,) minibatch loss before each step


@functools.partial(jax.jit, static_argnames=("decoder", "steps", "batch"))
def _fit(params, X, key, lr, *, decoder, steps, batch):
    opt = optim.adam(lr)

    def body(carry, k):
        p, s = carry
        idx = jax.random.choice(k, X.shape[0], (batch,), replace=False)
        value, g = jax.value_and_grad(_loss)(p, X[idx], decoder)
        u, s = opt.update(g, s, p)
        return (optim.apply_updates(p, u), s), value

    keys = jax.random.split(key, steps)
    (p, _), losses = jax.lax.scan(body, (params, opt.init(params)), keys)
    return p, losses


def fit(
    params: ConvAE,
    X: ArrayLike,
    *,
    key: PRNGKey,
    decoder: str,
    steps: int = 300,
    batch: int = 64,
    lr: Any = 0.01,
) -> FitResult:
    """Adam on minibatches of ``batch`` images (drawn with ``key``), ``steps`` steps, in one
    jitted ``lax.scan``. ``lr`` is traced: a new value does not recompile."""
    X = _validate.float_array("X", X, ndim=4)
    if X.shape[1:] != (8, 8, 1):
        raise ValueError(f"`X` must hold 8×8 grey images (n, 8, 8, 1), got {tuple(X.shape)}.")
    key = _validate.prng_key("key", key)
    decoder = _decoder_name(decoder)
    steps = _validate.positive_int("steps", steps)
    batch = _validate.positive_int("batch", batch)
    if batch > X.shape[0]:
        raise ValueError(f"`batch` must be at most the {X.shape[0]} images, got {batch}.")
    _validate.positive("lr", lr)
    params = jax.tree.map(lambda a: a.astype(X.dtype), params)
    p, losses = _fit(params, X, key, jnp.asarray(lr, X.dtype), decoder=decoder, steps=steps,
                     batch=batch)  # fmt: skip
    return FitResult(p, losses)


def fit_cache_size() -> int:
    """How many versions of the jitted training loop exist (for the no-recompile test)."""
    return _fit._cache_size()
