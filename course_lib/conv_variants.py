r"""Variants of the convolution in modern CNNs and what they cost (Aggarwal §8.4.4, §8.4.5;
Goodfellow et al. §9.8; Yu & Koltun 2016; Chollet 2017).

Layout as in :mod:`course_lib.cnn`: images NHWC ``(n, H, W, C)``, filters HWIO
``(F, F, C_in, C_out)``.

- **1×1 convolutions** (:func:`conv1x1`): a dense layer applied to every pixel's channel
  vector, $y_{nij} = W^\top x_{nij} + b$; GoogLeNet uses them as *bottlenecks* that shrink the
  channels before an expensive 3×3 or 5×5 filter (:func:`bottleneck_cost`).
- **an inception block** (:func:`init_inception`, :func:`inception`): four parallel branches
  (1×1; 1×1 → 3×3; 1×1 → 5×5; 3×3 max-pool → 1×1) concatenated along the channels.
- **dilated convolutions** (:func:`dilated_conv2d`): the filter's taps are ``dilation``
  pixels apart, so an $F\times F$ filter covers $d(F-1)+1$ pixels with $F^2$ weights;
  stacked, the receptive field grows as $1 + \sum_l d_l (F_l - 1)$ (:func:`receptive_field`).
- **depthwise-separable convolutions** (:func:`depthwise_conv2d`, :func:`separable_conv2d`):
  one $F\times F$ filter per input channel, then a 1×1 convolution mixing the channels.
- **separable (rank-1) kernels** (Goodfellow §9.8, :func:`rank1_conv2d`): a kernel
  $K = u v^\top$ is two 1-D convolutions, $F^2 \to 2F$ multiplications per output.

The counts (:func:`conv_cost`) are exact integers; :func:`conv2d_counted` is a NumPy loop that
counts its own multiplications, the independent check.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from course_lib import _validate
from course_lib._types import Array, ArrayLike, Params, PRNGKey

_DIMS = ("NHWC", "HWIO", "NHWC")


def _images(name: str, x: Any) -> Array:
    return _validate.finite(name, _validate.float_array(name, x, ndim=4))


def _nonneg_int(name: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
        raise ValueError(f"`{name}` must be a non-negative integer, got {v!r}.")
    return int(v)


# ------------------------------------------------------------------------------ counting


class Cost(NamedTuple):
    """Parameters and multiply-adds of one layer (or a sum of layers)."""

    params: int
    mults: int


def conv_cost(h: int, w: int, f: int, d_in: int, d_out: int, *, bias: bool = True) -> Cost:
    r"""Parameters and multiply-adds of an $F\times F$ convolution with 'same' output size
    $h\times w$ (stride 1):

    $$ P = F^2 d_{in} d_{out} + d_{out}, \qquad M = h\,w\,F^2 d_{in} d_{out} . $$
    """
    vals = [_validate.positive_int(n, v) for n, v in
            (("h", h), ("w", w), ("f", f), ("d_in", d_in), ("d_out", d_out))]  # fmt: skip
    h, w, f, d_in, d_out = vals
    return Cost(f * f * d_in * d_out + (d_out if bias else 0), h * w * f * f * d_in * d_out)


def depthwise_separable_cost(h: int, w: int, f: int, d_in: int, d_out: int) -> Cost:
    r"""A depthwise $F\times F$ convolution (one filter per channel) followed by a 1×1
    convolution, no biases: $P = F^2 d_{in} + d_{in} d_{out}$, $M = hw\,P$ (Chollet 2017),
    against $F^2 d_{in} d_{out}$ for the full convolution."""
    h, w, f = (_validate.positive_int(n, v) for n, v in (("h", h), ("w", w), ("f", f)))
    d_in = _validate.positive_int("d_in", d_in)
    d_out = _validate.positive_int("d_out", d_out)
    p = f * f * d_in + d_in * d_out
    return Cost(p, h * w * p)


def bottleneck_cost(h: int, w: int, f: int, d_in: int, d_mid: int, d_out: int) -> Cost:
    r"""A 1×1 convolution $d_{in}\to d_{mid}$ followed by an $F\times F$ one
    $d_{mid}\to d_{out}$ (GoogLeNet's reduction, Aggarwal §8.4.4), with biases:

    $$ P = (d_{in} d_{mid} + d_{mid}) + (F^2 d_{mid} d_{out} + d_{out}), \quad
       M = hw\,(d_{in} d_{mid} + F^2 d_{mid} d_{out}). $$
    """
    d_mid = _validate.positive_int("d_mid", d_mid)
    a = conv_cost(h, w, 1, d_in, d_mid)
    b = conv_cost(h, w, f, d_mid, d_out)
    return Cost(a.params + b.params, a.mults + b.mults)


def conv2d_counted(x: ArrayLike, w: ArrayLike, *, padding: int = 0, dilation: int = 1):
    r"""A plain NumPy loop over outputs and taps (stride 1) that counts its multiplications:
    an independent check of :func:`dilated_conv2d` and of :func:`conv_cost`.

    Returns:
        ``(y, mults)``: the output ``(n, H_out, W_out, C_out)`` as float64 and the number of
        multiplications per image (zero-padding taps included, as in the formula).
    """
    x = np.asarray(x, np.float64)
    w = np.asarray(w, np.float64)
    if x.ndim != 4 or w.ndim != 4 or w.shape[2] != x.shape[3]:
        raise ValueError(f"need x (n,H,W,C) and w (F,F,C,D); got {x.shape} and {w.shape}.")
    p, d = _nonneg_int("padding", padding), _validate.positive_int("dilation", dilation)
    xp = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
    f = w.shape[0]
    span = d * (f - 1) + 1
    ho, wo = xp.shape[1] - span + 1, xp.shape[2] - span + 1
    if ho < 1 or wo < 1:
        raise ValueError("the dilated filter is larger than the padded input.")
    y = np.zeros((x.shape[0], ho, wo, w.shape[3]))
    mults = 0
    for i in range(ho):
        for j in range(wo):
            for r in range(f):
                for s in range(w.shape[1]):
                    patch = xp[:, i + d * r, j + d * s, :]  # (n, C)
                    y[:, i, j, :] += patch @ w[r, s]
                    mults += w.shape[2] * w.shape[3]  # per image
    return y, mults


# ------------------------------------------------------------------------------ 1x1


def conv1x1(x: ArrayLike, w: ArrayLike, b: ArrayLike | None = None) -> Array:
    r"""A 1×1 convolution: $y_{nij} = W^\top x_{nij} + b$ at every pixel.

    Args:
        x: ``(n, H, W, C_in)``; w: ``(C_in, C_out)`` (or an HWIO ``(1, 1, C_in, C_out)``);
        b: ``(C_out,)`` or None.

    Returns:
        ``(n, H, W, C_out)``.
    """
    x = _images("x", x)
    w = _validate.float_array("w", w, ndim=(2, 4))
    if w.ndim == 4:
        if w.shape[:2] != (1, 1):
            raise ValueError(f"`w` must be a 1×1 filter bank, got shape {tuple(w.shape)}.")
        w = w[0, 0]
    if w.shape[0] != x.shape[3]:
        raise ValueError(f"`w` must have {x.shape[3]} rows (the channels), got {tuple(w.shape)}.")
    y = jnp.einsum("nhwc,cd->nhwd", x, w.astype(x.dtype))
    if b is not None:
        b = _validate.float_array("b", b, ndim=1)
        if b.shape[0] != w.shape[1]:
            raise ValueError(f"`b` must have shape ({w.shape[1]},), got {tuple(b.shape)}.")
        y = y + b.astype(x.dtype)[None, None, None, :]
    return y


# ------------------------------------------------------------------------------ dilated


def dilated_output_size(n: int, f: int, dilation: int = 1, padding: int = 0) -> int:
    r"""Output length of a stride-1 convolution with a dilated filter:
    $n + 2p - d(F-1)$ (the filter spans $d(F-1)+1$ pixels)."""
    n, f = _validate.positive_int("n", n), _validate.positive_int("f", f)
    d, p = _validate.positive_int("dilation", dilation), _nonneg_int("padding", padding)
    out = n + 2 * p - d * (f - 1)
    if out < 1:
        raise ValueError(f"the dilated filter spans {d * (f - 1) + 1} pixels, more than "
                         f"the padded input's {n + 2 * p}.")  # fmt: skip
    return out


def receptive_field(filter_sizes: Any, dilations: Any = None) -> int:
    r"""Receptive field (in pixels, along one axis) of stacked stride-1 convolutions:

    $$ r = 1 + \sum_l d_l (F_l - 1), $$

    e.g. three 3×3 layers: 7; three 3×3 layers dilated 1, 2, 4: 15 (Yu & Koltun 2016: with
    dilations doubling, the field grows exponentially with depth at a linear cost).
    """
    fs = [_validate.positive_int("filter_sizes", f) for f in filter_sizes]
    ds = [1] * len(fs) if dilations is None else [
        _validate.positive_int("dilations", d) for d in dilations]  # fmt: skip
    if len(ds) != len(fs):
        raise ValueError(f"need one dilation per filter: {len(fs)} filters, {len(ds)} dilations.")
    return 1 + sum(d * (f - 1) for f, d in zip(fs, ds, strict=True))


def dilated_conv2d(x: ArrayLike, w: ArrayLike, *, dilation: int = 1, padding: int = 0) -> Array:
    r"""Cross-correlation with a dilated filter (stride 1):

    $$ y_{n,i,j,p} = \sum_{r,s,k} w_{r,s,k,p}\, \tilde x_{n,\, i + d r,\, j + d s,\, k}, $$

    ``lax.conv_general_dilated`` with ``rhs_dilation`` (tested against
    :func:`conv2d_counted`). Output size :func:`dilated_output_size`.
    """
    x = _images("x", x)
    w = _validate.float_array("w", w, ndim=4)
    if w.shape[2] != x.shape[3]:
        raise ValueError(f"`w` must have in_channels {x.shape[3]}, got shape {tuple(w.shape)}.")
    d, p = _validate.positive_int("dilation", dilation), _nonneg_int("padding", padding)
    for a in (1, 2):
        dilated_output_size(x.shape[a], w.shape[a - 1], d, p)
    return jax.lax.conv_general_dilated(x, w.astype(x.dtype), (1, 1), [(p, p), (p, p)],
                                        rhs_dilation=(d, d), dimension_numbers=_DIMS)  # fmt: skip


# ------------------------------------------------------------------------------ separable


def depthwise_conv2d(x: ArrayLike, w: ArrayLike, *, padding: int = 0) -> Array:
    r"""One $F\times F$ filter per channel, no mixing: $y_{n,i,j,k} = \sum_{r,s} w_{r,s,k}\,
    \tilde x_{n,i+r,j+s,k}$. ``w``: ``(F, F, C)``; returns ``(n, H_out, W_out, C)``."""
    x = _images("x", x)
    w = _validate.float_array("w", w, ndim=3)
    if w.shape[2] != x.shape[3]:
        raise ValueError(f"`w` must have one filter per channel ({x.shape[3]}), got {w.shape}.")
    p = _nonneg_int("padding", padding)
    for a in (1, 2):
        dilated_output_size(x.shape[a], w.shape[a - 1], 1, p)
    return jax.lax.conv_general_dilated(
        x, w[:, :, None, :].astype(x.dtype), (1, 1), [(p, p), (p, p)],
        dimension_numbers=_DIMS, feature_group_count=x.shape[3])  # fmt: skip


def separable_conv2d(x: ArrayLike, w_depth: ArrayLike, w_point: ArrayLike, *,
                     padding: int = 0) -> Array:  # fmt: skip
    r"""Depthwise-separable convolution: :func:`depthwise_conv2d` with ``w_depth (F, F, C)``,
    then :func:`conv1x1` with ``w_point (C, D)``. Equals a full convolution whose filter is
    $w_{r,s,k,p} = w^{depth}_{r,s,k}\, w^{point}_{k,p}$ (tested)."""
    return conv1x1(depthwise_conv2d(x, w_depth, padding=padding), w_point)


def rank1_conv2d(x: ArrayLike, u: ArrayLike, v: ArrayLike) -> Array:
    r"""Valid cross-correlation of grey images ``x (n, H, W, 1)`` with the rank-1 kernel
    $K = u v^\top$, done as two 1-D passes (Goodfellow §9.8): first along the columns with
    $v$ (a $1\times F$ filter), then along the rows with $u$ (an $F\times 1$ filter). Equal to
    ``cnn.conv2d(x, outer(u, v))``; $2F$ instead of $F^2$ multiplications per output.
    """
    x = _images("x", x)
    u = _validate.float_array("u", u, ndim=1)
    v = _validate.float_array("v", v, ndim=1)
    if x.shape[3] != 1:
        raise ValueError(f"`x` must hold grey images (one channel), got {tuple(x.shape)}.")
    rows = jax.lax.conv_general_dilated(x, v[None, :, None, None].astype(x.dtype), (1, 1),
                                        "VALID", dimension_numbers=_DIMS)  # fmt: skip
    return jax.lax.conv_general_dilated(rows, u[:, None, None, None].astype(x.dtype), (1, 1),
                                        "VALID", dimension_numbers=_DIMS)  # fmt: skip


# ------------------------------------------------------------------------------ inception


def init_inception(*, key: PRNGKey, d_in: int, c1: int, c3r: int, c3: int, c5r: int, c5: int,
                   cp: int) -> Params:  # fmt: skip
    r"""Parameters of an inception block (Szegedy et al. 2015; Aggarwal §8.4.4), He init:
    branch 1: 1×1 ($d_{in}\to c_1$); branch 2: 1×1 ($\to c_{3r}$) then 3×3 ($\to c_3$);
    branch 3: 1×1 ($\to c_{5r}$) then 5×5 ($\to c_5$); branch 4: 3×3 max-pool then 1×1
    ($\to c_p$). Output channels $c_1 + c_3 + c_5 + c_p$.

    Returns:
        a dict of ``(w, b)`` pairs named ``b1, b2_reduce, b2, b3_reduce, b3, b4``.
    """
    key = _validate.prng_key("key", key)
    sizes = dict(d_in=d_in, c1=c1, c3r=c3r, c3=c3, c5r=c5r, c5=c5, cp=cp)
    s = {k: _validate.positive_int(k, v) for k, v in sizes.items()}
    shapes = {
        "b1": (1, 1, s["d_in"], s["c1"]),
        "b2_reduce": (1, 1, s["d_in"], s["c3r"]),
        "b2": (3, 3, s["c3r"], s["c3"]),
        "b3_reduce": (1, 1, s["d_in"], s["c5r"]),
        "b3": (5, 5, s["c5r"], s["c5"]),
        "b4": (1, 1, s["d_in"], s["cp"]),
    }
    dt = jnp.result_type(float)
    keys = jax.random.split(key, len(shapes))
    return {
        name: (
            jax.random.normal(k, sh, dt) * np.sqrt(2.0 / (sh[0] * sh[1] * sh[2])),
            jnp.zeros(sh[3], dt),
        )
        for k, (name, sh) in zip(keys, shapes.items(), strict=True)
    }


def n_params(params: Params) -> int:
    """How many numbers a parameter pytree holds (counted from the arrays themselves)."""
    return int(sum(np.size(a) for a in jax.tree.leaves(params)))


def _same(h: Array, wb: tuple[Array, Array]) -> Array:
    w, b = wb
    p = (w.shape[0] - 1) // 2
    y = jax.lax.conv_general_dilated(h, w.astype(h.dtype), (1, 1), [(p, p), (p, p)],
                                     dimension_numbers=_DIMS)  # fmt: skip
    return jax.nn.relu(y + b.astype(h.dtype)[None, None, None, :])


def inception(params: Params, x: ArrayLike) -> Array:
    r"""The inception block's forward pass: the four branches (ReLU after every convolution,
    'same' padding, so every branch keeps $H\times W$) concatenated along the channels.

    Returns:
        ``(n, H, W, c1 + c3 + c5 + cp)``.
    """
    x = _images("x", x)
    if x.shape[3] != params["b1"][0].shape[2]:
        raise ValueError(f"`x` must have {params['b1'][0].shape[2]} channels, got {x.shape}.")
    b1 = _same(x, params["b1"])
    b2 = _same(_same(x, params["b2_reduce"]), params["b2"])
    b3 = _same(_same(x, params["b3_reduce"]), params["b3"])
    pooled = jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 3, 3, 1), (1, 1, 1, 1),
                                   [(0, 0), (1, 1), (1, 1), (0, 0)])  # fmt: skip
    b4 = _same(pooled, params["b4"])
    return jnp.concatenate([b1, b2, b3, b4], axis=3)


def inception_cost(h: int, w: int, *, d_in: int, c1: int, c3r: int, c3: int, c5r: int, c5: int,
                   cp: int) -> Cost:  # fmt: skip
    """Parameters and multiply-adds of :func:`inception` on an ``h``×``w`` map (the pooling
    branch's comparisons are not multiplications)."""
    parts = [
        conv_cost(h, w, 1, d_in, c1),
        bottleneck_cost(h, w, 3, d_in, c3r, c3),
        bottleneck_cost(h, w, 5, d_in, c5r, c5),
        conv_cost(h, w, 1, d_in, cp),
    ]
    return Cost(sum(p.params for p in parts), sum(p.mults for p in parts))
