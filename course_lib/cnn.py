r"""Convolutional networks from the ground up (Aggarwal ch. 8; Goodfellow et al. ch. 9).

Layout. Images are **NHWC** arrays ``(batch, height, width, channels)`` and filter banks are
**HWIO** arrays ``(filter_height, filter_width, in_channels, out_channels)``, the layout of
``jax.lax.conv_general_dilated`` with ``dimension_numbers=("NHWC", "HWIO", "NHWC")``.

What the book calls a *convolution* (Aggarwal §8.2, the equation after Fig 8.1) is a
cross-correlation,

$$
h^{(q+1)}_{ijp} = b_p + \sum_{r=1}^{F}\sum_{s=1}^{F}\sum_{k=1}^{d_q}
w^{(p)}_{rsk}\, h^{(q)}_{S(i-1)+r,\; S(j-1)+s,\; k},
$$

on the zero-padded input, and so is ``lax.conv_general_dilated``. The mathematician's convolution
(Goodfellow Eq 9.4) flips the filter: :func:`convolve2d_true` is :func:`conv2d` with
:func:`flip_filter`.

Contents:

- size and parameter arithmetic (§8.2.1–8.2.3, §8.4.3, Exercises 8.2–8.5): :func:`output_size`,
  :func:`valid_stride`, :func:`conv_params`, :func:`dense_params`, :func:`vgg_layers`;
- the forward pass :func:`conv2d`, :func:`slide_map` (its output map for a filter size, padding
  and stride that a slider moves without recompiling), and the hand-written backward pass
  :func:`conv2d_input_grad` / :func:`conv2d_filter_grad` (§8.3.1–8.3.2, Eq 8.3);
- convolution as a sparse matrix :func:`conv_matrix` (§8.3.3): ``vec(out) = C vec(x)``, and the
  backward pass is $C^\top g$ (a transposed convolution);
- pooling (§8.2.5, §8.3): :func:`max_pool`, :func:`avg_pool` by reshape, their hand-written
  backward passes, and the general (overlapping) :func:`max_pool_window` /
  :func:`avg_pool_window` with ``lax.reduce_window``;
- a LeNet-style classifier for 8×8 (scikit-learn digits) or 28×28 images: :func:`init`,
  :func:`apply`, :func:`loss`, :func:`train_step`, :func:`train_steps`, :func:`fit`,
  :func:`accuracy`, with its layer table :func:`lenet_layers` and :func:`n_params`;
- inspecting a trained network (§8.5.1): :func:`feature_maps`, :func:`saliency`,
  :func:`occlude`, :func:`occlusion_map`, and all of them for one digit at once,
  :func:`inspect`;
- hand-designed filters: :func:`gabor` (Goodfellow §9.10, Eqs 9.16–9.18), :func:`edge_filters`.

Performance note (``/work/shared/TESTING.md``): on XLA:CPU jitted *steps* called from a Python
loop train a CNN faster than an epoch inside ``lax.scan`` (convolution weight gradients inside
a loop body compile to slow generic loops), and reshape-max pooling is faster than
``reduce_window``. Several steps unrolled in one jitted call (:func:`train_steps`) run faster
than one step per call (4 steps a call: 0.7-1.0 of the time, ``benchmarks/RESULTS.md``) but take
longer to compile (about 3 s more for the 8×8 LeNet here), so they pay off only in long runs:
:func:`fit` takes ``steps_per_call`` (default 1, one step a call), and the model pools by
reshape. ``benchmarks/bench_cnn.py`` measures these and other forms (NCHW, im2col, donated
buffers) and PyTorch on the same model.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from course_lib import _validate, data, optim
from course_lib._types import Array, ArrayLike, Params, PRNGKey

_DIMS = ("NHWC", "HWIO", "NHWC")

# ------------------------------------------------------------------ size and parameter arithmetic


def _pair(name: str, value: Any, *, allow_zero: bool) -> tuple[int, int]:
    """An int or a pair of ints -> a pair of non-negative (or positive) Python ints."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(items) != 2:
        raise ValueError(f"`{name}` must be an int or a pair of ints, got {value!r}.")
    out = []
    for v in items:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"`{name}` must be an int or a pair of ints, got {value!r}.")
        if v < 0 or (v == 0 and not allow_zero):
            bound = "non-negative" if allow_zero else "positive"
            raise ValueError(f"`{name}` must be {bound}, got {value!r}.")
        out.append(int(v))
    return out[0], out[1]


def output_size(n: int, f: int, padding: int = 0, stride: int = 1) -> int:
    r"""Output length of a convolution or pooling along one axis (Aggarwal §8.2.2).

    $$ n_{out} = \frac{n + 2p - f}{s} + 1 . $$

    The book assumes the division is exact (footnote 1 of §8.2.2); so does this function, which
    raises a ``ValueError`` when it is not, instead of silently dropping the last rows as
    ``lax`` would (its $\lfloor\cdot\rfloor$).

    Args:
        n: input length (height or width); f: filter length; padding: zeros added on *each*
        side; stride: the filter's step.

    Returns:
        the output length, a Python int.
    """
    n = _validate.positive_int("n", n)
    f = _validate.positive_int("f", f)
    stride = _validate.positive_int("stride", stride)
    if isinstance(padding, bool) or not isinstance(padding, (int, np.integer)) or padding < 0:
        raise ValueError(f"`padding` must be a non-negative integer, got {padding!r}.")
    span = n + 2 * int(padding) - f
    if span < 0:
        raise ValueError(
            f"`f` must fit in the padded input: the filter (f={f}) is larger than the padded "
            f"input (n + 2p = {n + 2 * padding})."
        )
    if span % stride:
        raise ValueError(
            f"(n + 2p - f)/s + 1 = ({n} + 2*{padding} - {f})/{stride} + 1 = "
            f"{span / stride + 1:.4g} is not an integer: the filter does not tile the input "
            "with this stride; change the padding or the stride."
        )
    return span // stride + 1


def valid_stride(n: int, f: int, stride: int, padding: int = 0) -> bool:
    """True when :func:`output_size` is an integer for these settings (Exercise 8.3)."""
    try:
        output_size(n, f, padding, stride)
    except ValueError as exc:
        if "not an integer" in str(exc) or "larger than" in str(exc):
            return False
        raise
    return True


def conv_params(f: int, d_in: int, d_out: int, *, bias: bool = True) -> int:
    r"""Parameters of a convolution layer: $F^2 d_{in} d_{out}$ weights plus $d_{out}$ biases.

    One bias per filter (Aggarwal §8.2.3). Example (the CS231n quiz): ten 5×5 filters on a
    32×32×3 input hold $10(5\cdot5\cdot3 + 1) = 760$ parameters.
    """
    f = _validate.positive_int("f", f)
    d_in = _validate.positive_int("d_in", d_in)
    d_out = _validate.positive_int("d_out", d_out)
    return f * f * d_in * d_out + (d_out if bias else 0)


def dense_params(n_in: int, n_out: int, *, bias: bool = True) -> int:
    """Parameters of a fully connected layer: ``n_in * n_out`` weights plus ``n_out`` biases."""
    n_in = _validate.positive_int("n_in", n_in)
    n_out = _validate.positive_int("n_out", n_out)
    return n_in * n_out + (n_out if bias else 0)


# VGG's conv stacks (Simonyan & Zisserman 2014; Aggarwal Table 8.2): (filter size, filters) per
# conv layer, "M" = 2×2 max-pool with stride 2. Every column ends M, FC4096, FC4096, FC1000.
_VGG = {
    "A": [(3, 64), "M", (3, 128), "M", (3, 256), (3, 256), "M"]
    + [(3, 512)] * 2
    + ["M"]
    + [(3, 512)] * 2
    + ["M"],
    "B": [(3, 64)] * 2
    + ["M"]
    + [(3, 128)] * 2
    + ["M"]
    + [(3, 256)] * 2
    + ["M"]
    + [(3, 512)] * 2
    + ["M"]
    + [(3, 512)] * 2
    + ["M"],
    "C": [(3, 64)] * 2
    + ["M"]
    + [(3, 128)] * 2
    + ["M"]
    + [(3, 256)] * 2
    + [(1, 256), "M"]
    + [(3, 512)] * 2
    + [(1, 512), "M"]
    + [(3, 512)] * 2
    + [(1, 512), "M"],
    "D": [(3, 64)] * 2
    + ["M"]
    + [(3, 128)] * 2
    + ["M"]
    + [(3, 256)] * 3
    + ["M"]
    + [(3, 512)] * 3
    + ["M"]
    + [(3, 512)] * 3
    + ["M"],
    "E": [(3, 64)] * 2
    + ["M"]
    + [(3, 128)] * 2
    + ["M"]
    + [(3, 256)] * 4
    + ["M"]
    + [(3, 512)] * 4
    + ["M"]
    + [(3, 512)] * 4
    + ["M"],
}


def vgg_layers(column: str = "D", *, image_size: int = 224, n_classes: int = 1000) -> list[dict]:
    r"""Layer-by-layer shapes and parameter counts of a VGG network (Aggarwal §8.4.3, Table 8.2).

    Convolutions are $F\times F$ with stride 1 and padding $(F-1)/2$, so they keep the spatial
    size; each max-pool halves it (:func:`output_size` with f = s = 2). Column D is VGG-16
    (138,357,544 parameters, Exercise 8.5); Exercise 8.4 asks for the spatial sizes.

    Returns:
        one dict per layer with keys ``name`` (conv1_1, ..., pool5, fc6, fc7, fc8), ``shape``
        (output H, W, C), ``weights`` and ``biases`` (0 for pooling).
    """
    if column not in _VGG:
        raise ValueError(f"`column` must be one of {sorted(_VGG)}, got {column!r}.")
    size = _validate.positive_int("image_size", image_size)
    n_classes = _validate.positive_int("n_classes", n_classes)
    depth, block, index, rows = 3, 1, 1, []
    for layer in _VGG[column]:
        if layer == "M":
            size = output_size(size, 2, 0, 2)
            rows.append(dict(name=f"pool{block}", shape=(size, size, depth), weights=0, biases=0))
            block, index = block + 1, 1
            continue
        f, d_out = layer
        size = output_size(size, f, (f - 1) // 2, 1)
        weights = conv_params(f, depth, d_out, bias=False)
        rows.append(
            dict(
                name=f"conv{block}_{index}",
                shape=(size, size, d_out),
                weights=weights,
                biases=d_out,
            )
        )
        depth, index = d_out, index + 1
    n_in = size * size * depth
    for name, n_out in (("fc6", 4096), ("fc7", 4096), ("fc8", n_classes)):
        rows.append(
            dict(
                name=name,
                shape=(n_out,),
                weights=dense_params(n_in, n_out, bias=False),
                biases=n_out,
            )
        )
        n_in = n_out
    return rows


# ----------------------------------------------------------------------- forward convolution


def _images(name: str, x: Any) -> Array:
    return _validate.float_array(name, x, ndim=4)


def _filters(name: str, w: Any, channels: int | None = None) -> Array:
    w = _validate.float_array(name, w, ndim=4)
    if channels is not None and w.shape[2] != channels:
        raise ValueError(
            f"`{name}` must have in_channels = {channels} (the input's channels, axis 2 of an "
            f"HWIO filter bank), got shape {tuple(w.shape)}."
        )
    return w


def _geometry(x_shape, w_shape, stride, padding) -> tuple[tuple[int, int], tuple[int, int], tuple]:
    """Validate stride/padding; return them as pairs and the output (H, W)."""
    s = _pair("stride", stride, allow_zero=False)
    p = _pair("padding", padding, allow_zero=True)
    out = tuple(
        output_size(int(x_shape[a]), int(w_shape[a - 1]), p[a - 1], s[a - 1]) for a in (1, 2)
    )
    return s, p, out


def conv2d(
    x: ArrayLike, w: ArrayLike, b: ArrayLike | None = None, *, stride: Any = 1, padding: Any = 0
) -> Array:
    r"""The book's convolution (a cross-correlation) of a batch of images with a filter bank.

    $$ y_{n,i,j,p} = b_p + \sum_{r,s,k} w_{r,s,k,p}\; \tilde x_{n,\,S i + r,\; S j + s,\; k}
       \qquad (0\text{-indexed}), $$

    with $\tilde x$ the input zero-padded by ``padding`` on each side (Aggarwal §8.2.1–8.2.3).
    Built on ``jax.lax.conv_general_dilated``.

    Args:
        x: images ``(n, H, W, C_in)`` (NHWC).
        w: filters ``(F_h, F_w, C_in, C_out)`` (HWIO).
        b: biases ``(C_out,)`` or None.
        stride, padding: ints or (height, width) pairs; the output size must be an integer
            (:func:`output_size`).

    Returns:
        ``(n, H_out, W_out, C_out)``.

    Raises:
        ValueError: for a concrete ``x`` or ``w`` holding NaN or infinity (one host-side check
            per call at this public entry; skipped when traced, so jitted steps pay nothing).
    """
    x = _images("x", x)
    w = _filters("w", w, x.shape[3])
    _validate.finite("x", x)
    _validate.finite("w", w)
    return _conv2d(x, w, b, stride=stride, padding=padding)


def _conv2d(x: Array, w: Array, b: ArrayLike | None, *, stride: Any, padding: Any) -> Array:
    """:func:`conv2d` on validated ``x``, ``w``, without the finiteness check (for layers)."""
    w = _filters("w", w, x.shape[3])
    s, p, _ = _geometry(x.shape, w.shape, stride, padding)
    y = jax.lax.conv_general_dilated(
        x,
        w.astype(x.dtype),
        window_strides=s,
        padding=[(p[0], p[0]), (p[1], p[1])],
        dimension_numbers=_DIMS,
    )
    if b is not None:
        b = _validate.float_array("b", b, ndim=1)
        if b.shape[0] != w.shape[3]:
            raise ValueError(
                f"`b` must have one bias per filter: expected shape ({w.shape[3]},), "
                f"got {tuple(b.shape)}."
            )
        y = y + b.astype(y.dtype)[None, None, None, :]
    return y


def flip_filter(w: ArrayLike) -> Array:
    """Rotate every filter by 180° (flip height and width): ``w[::-1, ::-1]`` (Fig 8.7)."""
    w = _filters("w", w)
    return w[::-1, ::-1]


def convolve2d_true(
    x: ArrayLike, w: ArrayLike, b: ArrayLike | None = None, *, stride: Any = 1, padding: Any = 0
) -> Array:
    r"""The mathematician's convolution (Goodfellow Eq 9.4): cross-correlation with the flipped
    filter, $(K * I)(i, j) = \sum_{m,n} I(i - m, j - n) K(m, n)$, on the valid/padded window.

    Same arguments and shapes as :func:`conv2d`; equal to ``conv2d(x, flip_filter(w), b)``.
    """
    return conv2d(x, flip_filter(w), b, stride=stride, padding=padding)


@partial(jax.jit, static_argnames=("max_padding",))
def _slide_map(
    x: Array, w: Array, f: Array, p: Array, s: Array, *, max_padding: int = 2
) -> tuple[Array, Array]:
    n, P, F = x.shape[0], max_padding, w.shape[0]
    canvas = jnp.pad(x, ((P, P + F), (P, P + F)))  # (n + 2P + F, n + 2P + F)
    rows = jnp.arange(F)
    wm = jnp.where((rows[:, None] < f) & (rows[None, :] < f), w, 0.0)
    corr = jax.lax.conv_general_dilated(
        canvas[None, :, :, None], wm[:, :, None, None], (1, 1), "VALID", dimension_numbers=_DIMS
    )[0, :, :, 0]  # (n + 2P + 1, n + 2P + 1): every top-left corner in canvas coordinates
    m = n + 2 * P
    n_out = (n + 2 * p - f) // s + 1  # floor, as lax does when the stride does not fit
    # output (i, j) of the p-padded input starts at canvas index P - p + s*i
    idx = jnp.clip(P - p + s * jnp.arange(m), 0, corr.shape[0] - 1)
    out = corr[idx][:, idx]
    used = jnp.arange(m) < n_out
    return jnp.where(used[:, None] & used[None, :], out, jnp.nan), n_out


def slide_map(
    x: ArrayLike, w: ArrayLike, f: Any, padding: Any, stride: Any, *, max_padding: int = 2
) -> tuple[Array, Array]:
    r"""The output map of the top-left ``f``×``f`` block of ``w`` slid over ``x`` zero-padded by
    ``padding`` with stride ``stride``, for a widget whose sliders move ``f``, ``padding`` and
    ``stride`` without recompiling (Aggarwal §8.2.1–8.2.2, Fig 8.2):

    $$ y_{ij} = \sum_{r,s < f} w_{rs}\, \tilde x_{S i + r,\; S j + s}, \qquad
       0 \le i, j < \Big\lfloor \frac{n + 2p - f}{S} \Big\rfloor + 1, $$

    with $\tilde x$ the input padded by $p$. When $(n + 2p - f)/S$ is not an integer the last
    rows and columns of the padded input are never reached (the floor, as ``lax`` does; the
    book would call the stride invalid, :func:`valid_stride`).

    ``f``, ``padding`` and ``stride`` may be traced ints: shapes never depend on them. The
    input sits in a canvas with room for ``max_padding`` and the largest filter, the filter
    is masked outside its ``f``×``f`` block, and the output is gathered at the strided
    positions into a fixed ``(m, m)`` array, ``m = n + 2·max_padding`` (the largest output).

    Args:
        x: one square input ``(n, n)``; w: the largest filter ``(F, F)``.
        f: the filter size, ``1 ≤ f ≤ F``; padding: ``0 ≤ padding ≤ max_padding``;
        stride: ``≥ 1``.
        max_padding: the largest padding the caller will ask for (static).

    Returns:
        ``(out, n_out)``: ``out: (m, m)`` with the output in its top-left ``n_out``×``n_out``
        block and NaN elsewhere, and ``n_out`` (an int array; 0 or less when the filter does
        not fit in the padded input).
    """
    x = _validate.float_array("x", x, ndim=2)
    w = _validate.float_array("w", w, ndim=2)
    for name, a in (("x", x), ("w", w)):
        if a.shape[0] != a.shape[1]:
            raise ValueError(f"`{name}` must be square, got shape {tuple(a.shape)}.")
    if isinstance(max_padding, bool) or not isinstance(max_padding, int) or max_padding < 0:
        raise ValueError(f"`max_padding` must be an int >= 0, got {max_padding!r}.")
    if not _validate.is_traced(f) and not 1 <= int(f) <= w.shape[0]:
        raise ValueError(f"`f` must be between 1 and {w.shape[0]} (the size of `w`), got {f}.")
    if not _validate.is_traced(padding) and not 0 <= int(padding) <= max_padding:
        raise ValueError(
            f"`padding` must be between 0 and max_padding={max_padding}, got {padding}."
        )
    if not _validate.is_traced(stride) and int(stride) < 1:
        raise ValueError(f"`stride` must be a positive int, got {stride}.")
    dtype = jnp.result_type(x.dtype, w.dtype)
    ints = (jnp.asarray(v, jnp.int32) for v in (f, padding, stride))  # one dtype, one compile
    return _slide_map(x.astype(dtype), w.astype(dtype), *ints, max_padding=max_padding)


def slide_map_cache_size() -> int:
    """How many versions of the jitted :func:`slide_map` exist (one per input shape)."""
    return _slide_map._cache_size()


# ---------------------------------------------------------------------- backward convolution


def conv2d_input_grad(
    g: ArrayLike, w: ArrayLike, *, input_shape: Sequence[int], stride: Any = 1, padding: Any = 0
) -> Array:
    r"""Gradient of a loss with respect to the input of :func:`conv2d`, by hand (Aggarwal §8.3.2).

    For stride 1 it is the *full* convolution of the output gradient with the filter rotated by
    180° and with its channel axes swapped (Eq 8.3, $u^{(k)}_{rsp} = w^{(p)}_{F-r+1,\,F-s+1,\,k}$):

    $$ \frac{\partial L}{\partial x} = \mathrm{corr}\big(\mathrm{pad}_{F-1-P}(g),\
       \mathrm{flip}(w)^{\top_{IO}}\big), $$

    where the forward padding $P$ and the backward padding $F - 1 - P$ sum to $F - 1$. With
    stride $S$, first put $S - 1$ zeros between neighbouring gradient entries (input dilation):
    an output cell moved by $S$ input cells.

    Args:
        g: output gradient ``(n, H_out, W_out, C_out)``.
        w: the filters ``(F_h, F_w, C_in, C_out)``.
        input_shape: the forward input's shape ``(n, H, W, C_in)``.
        stride, padding: as in the forward call.

    Returns:
        ``(n, H, W, C_in)``.
    """
    g = _images("g", g)
    w = _filters("w", w)
    input_shape = tuple(int(v) for v in input_shape)
    if len(input_shape) != 4 or input_shape[3] != w.shape[2]:
        raise ValueError(f"`input_shape` must be (n, H, W, {w.shape[2]}), got {input_shape}.")
    s, p, out = _geometry(input_shape, w.shape, stride, padding)
    want = (input_shape[0], *out, w.shape[3])
    if tuple(g.shape) != want:
        raise ValueError(f"`g` must have the output's shape {want}, got {tuple(g.shape)}.")
    u = jnp.swapaxes(w[::-1, ::-1], 2, 3).astype(g.dtype)  # flipped, channel-transposed
    pads = [(w.shape[a] - 1 - p[a], w.shape[a] - 1 - p[a]) for a in (0, 1)]
    return jax.lax.conv_general_dilated(
        g, u, window_strides=(1, 1), padding=pads, lhs_dilation=s, dimension_numbers=_DIMS
    )


def conv2d_filter_grad(
    x: ArrayLike, g: ArrayLike, *, filter_shape: Sequence[int], stride: Any = 1, padding: Any = 0
) -> Array:
    r"""Gradient of a loss with respect to the filters of :func:`conv2d`, by hand (§8.3.1).

    Every copy of a shared weight contributes "input activation × output gradient", summed:

    $$ \frac{\partial L}{\partial w_{r,s,k,p}} = \sum_{n,i,j} \tilde x_{n,\,S i + r,\,S j + s,\,k}\;
       g_{n,i,j,p}, $$

    a cross-correlation of the padded input with the output gradient (dilated by the stride),
    in which the batch axis plays the role of the summed channel axis. The bias gradient is
    ``g.sum((0, 1, 2))``.

    Args:
        x: the forward input ``(n, H, W, C_in)``; g: output gradient ``(n, H_out, W_out, C_out)``;
        filter_shape: ``(F_h, F_w, C_in, C_out)``; stride, padding: as in the forward call.

    Returns:
        ``(F_h, F_w, C_in, C_out)``.
    """
    x = _images("x", x)
    g = _images("g", g)
    filter_shape = tuple(int(v) for v in filter_shape)
    if len(filter_shape) != 4 or filter_shape[2] != x.shape[3]:
        raise ValueError(
            f"`filter_shape` must be (F_h, F_w, {x.shape[3]}, C_out), got {filter_shape}."
        )
    s, p, out = _geometry(x.shape, filter_shape, stride, padding)
    want = (x.shape[0], *out, filter_shape[3])
    if tuple(g.shape) != want:
        raise ValueError(f"`g` must have the output's shape {want}, got {tuple(g.shape)}.")
    return jax.lax.conv_general_dilated(
        x,
        g.astype(x.dtype),
        window_strides=(1, 1),
        padding=[(p[0], p[0]), (p[1], p[1])],
        rhs_dilation=s,
        dimension_numbers=("CHWN", "IHWO", "HWNC"),
    )


def conv_matrix(
    input_shape: Sequence[int], w: ArrayLike, *, stride: Any = 1, padding: Any = 0
) -> Array:
    r"""The sparse matrix $C$ of a convolution, as a dense array (Aggarwal §8.3.3, Fig 8.8).

    For one image $x$ of shape ``(H, W, C_in)`` flattened row-major,
    $\mathrm{vec}(\texttt{conv2d}(x)) = C\,\mathrm{vec}(x)$, where row
    $(i, j, p)$ of $C$ holds the filter $p$ placed at output position $(i, j)$ (entries that
    fall on padding are dropped). The backward pass is multiplication by $C^\top$, which is why
    the input gradient is also called a *transposed convolution*.

    Built with plain NumPy loops from the definition (independent of ``lax``).

    Args:
        input_shape: ``(H, W)`` (one channel) or ``(H, W, C_in)``.
        w: ``(F_h, F_w)`` (one channel in, one out) or ``(F_h, F_w, C_in, C_out)``.

    Returns:
        $C$ of shape ``(H_out * W_out * C_out, H * W * C_in)``.
    """
    shape = tuple(int(v) for v in input_shape)
    if len(shape) == 2:
        shape = (*shape, 1)
    if len(shape) != 3:
        raise ValueError(f"`input_shape` must be (H, W) or (H, W, C_in), got {tuple(input_shape)}.")
    w = _validate.float_array("w", w, ndim=(2, 4))
    if w.ndim == 2:
        w = w[:, :, None, None]
    w = _filters("w", w, shape[2])
    (sh, sw), (ph, pw), (ho, wo) = _geometry((1, *shape), w.shape, stride, padding)
    H, W, cin = shape
    fh, fw, _, cout = w.shape
    wn = np.asarray(w)
    C = np.zeros((ho * wo * cout, H * W * cin), dtype=wn.dtype)
    for i in range(ho):
        for j in range(wo):
            for r in range(fh):
                for s in range(fw):
                    y, x = i * sh + r - ph, j * sw + s - pw
                    if 0 <= y < H and 0 <= x < W:
                        for k in range(cin):
                            rows = (i * wo + j) * cout + np.arange(cout)
                            C[rows, (y * W + x) * cin + k] = wn[r, s, k, :]
    return jnp.asarray(C)


# --------------------------------------------------------------------------------- pooling


def _pool_blocks(x: Array, size: int) -> Array:
    n, H, W, C = x.shape
    if H % size or W % size:
        raise ValueError(
            f"reshape pooling needs height and width divisible by `size`={size}, got "
            f"{H}×{W}; use max_pool_window/avg_pool_window for other sizes."
        )
    return x.reshape(n, H // size, size, W // size, size, C)


def max_pool(x: ArrayLike, size: int = 2) -> Array:
    r"""Non-overlapping max-pooling by reshape (Aggarwal §8.2.5): $y_{ij} = \max_{(r,s)\in
    \text{block}(i,j)} x_{rs}$ with ``size``×``size`` blocks and stride ``size``.

    Args: x ``(n, H, W, C)`` with H, W divisible by ``size``. Returns ``(n, H/size, W/size, C)``.
    """
    x = _images("x", x)
    size = _validate.positive_int("size", size)
    return _pool_blocks(x, size).max(axis=(2, 4))


def avg_pool(x: ArrayLike, size: int = 2) -> Array:
    """Non-overlapping average pooling by reshape: the mean of each ``size``×``size`` block."""
    x = _images("x", x)
    size = _validate.positive_int("size", size)
    return _pool_blocks(x, size).mean(axis=(2, 4))


def _upsample(y: Array, size: int) -> Array:
    return jnp.repeat(jnp.repeat(y, size, axis=1), size, axis=2)


def max_pool_backward(x: ArrayLike, g: ArrayLike, size: int = 2) -> Array:
    r"""Hand-written backward pass of :func:`max_pool` (Aggarwal §8.3): each block's gradient goes
    to its arg-max, $\partial L/\partial x_{rs} = g_{ij}\,[x_{rs} = y_{ij}] / m_{ij}$, where
    $m_{ij}$ counts ties (a tie splits the gradient equally, as ``jax.grad`` of ``max`` does).

    Args: x ``(n, H, W, C)``; g ``(n, H/size, W/size, C)``. Returns ``(n, H, W, C)``.
    """
    x = _images("x", x)
    g = _images("g", g)
    size = _validate.positive_int("size", size)
    y = max_pool(x, size)
    if g.shape != y.shape:
        raise ValueError(f"`g` must have the pooled shape {tuple(y.shape)}, got {tuple(g.shape)}.")
    hit = (x == _upsample(y, size)).astype(x.dtype)
    count = _upsample(_pool_blocks(hit, size).sum(axis=(2, 4)), size)
    return _upsample(g, size) * hit / count


def avg_pool_backward(g: ArrayLike, size: int = 2) -> Array:
    r"""Hand-written backward pass of :func:`avg_pool`.

    Every cell of a block gets $g_{ij}/\text{size}^2$. Args: g ``(n, H/size, W/size, C)``.
    """
    g = _images("g", g)
    size = _validate.positive_int("size", size)
    return _upsample(g, size) / size**2


def max_pool_window(
    x: ArrayLike, size: int = 2, stride: int | None = None, padding: int = 0
) -> Array:
    r"""Max-pooling over ``size``×``size`` windows moved by ``stride`` (default ``size``), with
    ``lax.reduce_window``; overlapping windows (stride < size) are allowed (Fig 8.4). Padding is
    $-\infty$. Output size from :func:`output_size`. Equal to :func:`max_pool` when stride = size.
    """
    x = _images("x", x)
    size = _validate.positive_int("size", size)
    stride = size if stride is None else _validate.positive_int("stride", stride)
    for a in (1, 2):
        output_size(x.shape[a], size, padding, stride)
    pads = ((0, 0), (padding, padding), (padding, padding), (0, 0))
    return jax.lax.reduce_window(
        x, -jnp.inf, jax.lax.max, (1, size, size, 1), (1, stride, stride, 1), pads
    )


def avg_pool_window(x: ArrayLike, size: int = 2, stride: int | None = None) -> Array:
    """Average pooling with ``lax.reduce_window`` (sum / size²), no padding."""
    x = _images("x", x)
    size = _validate.positive_int("size", size)
    stride = size if stride is None else _validate.positive_int("stride", stride)
    for a in (1, 2):
        output_size(x.shape[a], size, 0, stride)
    window = (1, size, size, 1)
    total = jax.lax.reduce_window(x, 0.0, jax.lax.add, window, (1, stride, stride, 1), "VALID")
    return total / size**2


# ------------------------------------------------------------------------ a LeNet-style model


def as_images(X: ArrayLike, size: int | None = None) -> Array:
    """Flattened square grey images ``(n, size*size)`` -> NHWC ``(n, size, size, 1)``."""
    X = _validate.float_array("X", X, ndim=2)
    d = X.shape[1]
    size = math.isqrt(d) if size is None else _validate.positive_int("size", size)
    if size * size != d:
        raise ValueError(f"`X` rows must hold size*size pixels; {d} is not {size}*{size}.")
    return X.reshape(X.shape[0], size, size, 1)


def init(
    key: PRNGKey,
    *,
    image_size: int = 8,
    channels: Sequence[int] = (16, 32),
    hidden: int = 64,
    n_classes: int = 10,
    in_channels: int = 1,
) -> Params:
    r"""Parameters of a small LeNet (LeCun et al. 1998; Aggarwal §8.4, Goodfellow §9.3):
    [3×3 conv (padding 1) → ReLU → 2×2 max-pool] per entry of ``channels``, then a ReLU dense
    layer of ``hidden`` units and a linear layer to ``n_classes`` logits.

    He initialization: weights $\sim\mathcal N(0, 2/\text{fan-in})$, biases 0.

    Returns:
        a dict ``{"conv": [(w, b), ...], "dense": [(W, b), (W, b)]}``.
    """
    key = _validate.prng_key("key", key)
    image_size = _validate.positive_int("image_size", image_size)
    c_in = _validate.positive_int("in_channels", in_channels)
    hidden = _validate.positive_int("hidden", hidden)
    n_classes = _validate.positive_int("n_classes", n_classes)
    channels = [_validate.positive_int("channels", c) for c in channels]
    size = image_size
    for _ in channels:
        if size % 2:
            raise ValueError(
                f"`image_size` must stay even through {len(channels)} 2×2 poolings; got "
                f"{image_size} (odd size {size} reached)."
            )
        size //= 2
    return _init(key, image_size, tuple(channels), hidden, n_classes, c_in)


@partial(jax.jit, static_argnums=(1, 2, 3, 4, 5))
def _init(key, size, channels, hidden, n_classes, c_in):
    """The random draws of :func:`init`, jitted (one compilation instead of one per draw)."""
    dt = jnp.result_type(float)
    shapes, fans = [], []
    for c_out in channels:
        shapes.append((3, 3, c_in, c_out))
        fans.append(9 * c_in)
        c_in, size = c_out, size // 2
    shapes += [(size * size * c_in, hidden), (hidden, n_classes)]
    fans += [size * size * c_in, hidden]
    # one draw for all weights (one random-bits kernel to compile), then cut into layers
    z = jax.random.normal(key, (sum(math.prod(sh) for sh in shapes),), dt)
    weights, start = [], 0
    for sh, fan in zip(shapes, fans, strict=True):
        count = math.prod(sh)
        weights.append(math.sqrt(2.0 / fan) * z[start : start + count].reshape(sh))
        start += count
    layers = [(w, jnp.zeros(w.shape[-1], dt)) for w in weights]
    convs, dense = layers[: len(channels)], layers[len(channels) :]
    return {"conv": convs, "dense": dense}


def apply(params: Params, x: ArrayLike) -> Array:
    """Logits ``(n, n_classes)`` of the LeNet of :func:`init` for images ``x: (n, H, W, C)``."""
    h = _validate.finite("x", _images("x", x))
    for w, b in params["conv"]:
        h = max_pool(jax.nn.relu(_conv2d(h, w, b, stride=1, padding=1)), 2)
    h = h.reshape(h.shape[0], -1)
    (W1, b1), (W2, b2) = params["dense"]
    h = jax.nn.relu(h @ W1 + b1[None, :])
    return h @ W2 + b2[None, :]


def loss(params: Params, x: ArrayLike, y: ArrayLike) -> Array:
    r"""Mean softmax cross-entropy $\frac1n\sum_i -\log \mathrm{softmax}(f(x_i))_{y_i}$.

    ``x``: images ``(n, H, W, C)``; ``y``: int labels ``(n,)``.
    """
    x = _images("x", x)
    y = jnp.asarray(y)
    if y.shape != (x.shape[0],):
        raise ValueError(f"`y` must have shape ({x.shape[0]},), got {tuple(y.shape)}.")
    logits = apply(params, x)
    logp = jax.nn.log_softmax(logits, axis=1)
    return -jnp.mean(jnp.take_along_axis(logp, y[:, None].astype(jnp.int32), axis=1))


def accuracy(params: Params, x: ArrayLike, y: ArrayLike) -> Array:
    """Fraction of images whose arg-max logit is the label."""
    return jnp.mean(jnp.argmax(apply(params, x), axis=1) == jnp.asarray(y))


def init_optimizer(params: Params) -> Any:
    """Adam's state for :func:`train_step` (it does not depend on the learning rate)."""
    return optim.adam(1e-3).init(params)


def _step(params, opt_state, x, y, lr):
    value, grads = jax.value_and_grad(loss)(params, x, y)
    updates, opt_state = optim.adam(lr).update(grads, opt_state, params)
    return optim.apply_updates(params, updates), opt_state, value


_train_step = jax.jit(_step)


@jax.jit
def _train_steps(params, opt_state, xs, ys, lr):
    values = []
    for i in range(xs.shape[0]):  # unrolled: one XLA program for the k steps
        params, opt_state, value = _step(params, opt_state, xs[i], ys[i], lr)
        values.append(value)
    return params, opt_state, jnp.stack(values)


def train_step(
    params: Params, opt_state: Any, x: ArrayLike, y: ArrayLike, lr: Any
) -> tuple[Params, Any, Array]:
    r"""One jitted Adam step on a minibatch (Aggarwal §3.5.3.5): returns ``(params, opt_state,
    loss)``. ``lr`` is a traced argument: changing it never recompiles
    (:func:`train_step_cache_size`)."""
    return _train_step(params, opt_state, x, y, _lr_argument(lr))


def _lr_argument(lr: Any) -> Array:
    """A validated learning rate as a strongly typed float array (Python floats and JAX arrays
    then share one compiled version of the step). :func:`fit` converts once per run, not once
    per step (the conversion is one more dispatched operation, ~20 µs of a ~0.8 ms step)."""
    _validate.positive("lr", lr)
    return jnp.asarray(lr, jnp.result_type(float))


def train_steps(
    params: Params, opt_state: Any, xs: ArrayLike, ys: ArrayLike, lr: Any
) -> tuple[Params, Any, Array]:
    r"""``k`` Adam steps, one per minibatch, unrolled in one jitted call: the same updates as
    :func:`train_step` on ``xs[0], ys[0]``, then ``xs[1], ys[1]``, ... with one dispatch
    instead of ``k`` (XLA also schedules across step boundaries).

    ``xs``: ``(k, n, H, W, C)`` images; ``ys``: ``(k, n)`` int labels. Returns ``(params,
    opt_state, losses)`` with the ``k`` minibatch losses (each before its update). One
    compilation per ``k`` and minibatch shape; ``lr`` is traced.
    """
    xs = jnp.asarray(xs)
    ys = jnp.asarray(ys)
    if xs.ndim != 5:
        raise ValueError(
            f"`xs` must be a stack of minibatches (k, n, H, W, C), got shape {tuple(xs.shape)}."
        )
    if ys.shape != xs.shape[:2]:
        raise ValueError(f"`ys` must have shape {tuple(xs.shape[:2])}, got {tuple(ys.shape)}.")
    if not jnp.issubdtype(ys.dtype, jnp.integer):
        raise TypeError(f"`ys` must hold integer labels, got dtype {ys.dtype}.")
    return _train_steps(params, opt_state, xs, ys, _lr_argument(lr))


def train_step_cache_size() -> int:
    """How many versions of the jitted steps have been compiled: :func:`train_step` (one per
    batch shape) and :func:`train_steps` (one per number of steps and batch shape)."""
    return _train_step._cache_size() + _train_steps._cache_size()


def fit(
    params: Params,
    train: data.Dataset,
    *,
    key: PRNGKey,
    epochs: int,
    batch_size: int = 64,
    lr: float = 3e-3,
    image_size: int | None = None,
    callback: Callable[[int, Params, list[float]], Any] | None = None,
    steps_per_call: int = 1,
) -> tuple[Params, list[float]]:
    """Train with Adam for ``epochs`` passes over shuffled minibatches.

    A Python loop over the jitted :func:`train_step` (faster than ``lax.scan`` for convolutions
    on CPU, see the module note). With ``steps_per_call`` = k > 1 it calls :func:`train_steps`
    on k minibatches at a time (and :func:`train_step` for an epoch's last few): faster per
    step, slower to compile, worth it for long runs; the same updates up to round-off.
    The last incomplete minibatch of each epoch is dropped (one compiled shape).
    ``callback(epoch, params, epoch_losses)``, if given, runs after every epoch (1-based epoch
    number; the epoch's minibatch losses as floats): for a progress display or a test curve.

    Returns:
        ``(params, losses)``: the trained parameters and the minibatch losses (floats).
    """
    key = _validate.prng_key("key", key)
    epochs = _validate.positive_int("epochs", epochs)
    batch_size = _validate.positive_int("batch_size", batch_size)
    X = as_images(train.X, image_size)
    y = jnp.asarray(train.y)
    n = X.shape[0]
    if batch_size > n:
        raise ValueError(f"`batch_size`={batch_size} exceeds the {n} training examples.")
    if callback is not None and not callable(callback):
        raise TypeError(f"`callback` must be callable or None, got {type(callback).__name__}.")
    steps_per_call = _validate.positive_int("steps_per_call", steps_per_call)
    lr = _lr_argument(lr)  # validated and converted once, not at every step
    opt_state, losses = init_optimizer(params), []
    for epoch, k in enumerate(jax.random.split(key, epochs), start=1):
        batches = data.minibatches(data.Dataset(X, y), key=k, batch_size=batch_size)
        values, count = [], batches.X.shape[0]
        grouped = 0 if steps_per_call == 1 else count - count % steps_per_call
        for start in range(0, grouped, steps_per_call):
            group = slice(start, start + steps_per_call)
            params, opt_state, value = _train_steps(
                params, opt_state, batches.X[group], batches.y[group], lr
            )
            values.append(value)
        for i in range(grouped, count):
            params, opt_state, value = _train_step(
                params, opt_state, batches.X[i], batches.y[i], lr
            )
            values.append(value[None])
        values = [float(v) for v in np.concatenate([np.asarray(v) for v in values])]
        losses.extend(values)
        if callback is not None:
            callback(epoch, params, values)
    return params, losses


# ------------------------------------------------- inspecting a trained CNN (ch08b_cnn_training)


def lenet_layers(
    *,
    image_size: int = 8,
    channels: Sequence[int] = (16, 32),
    hidden: int = 64,
    n_classes: int = 10,
    in_channels: int = 1,
) -> list[dict]:
    r"""Layer-by-layer output shapes and parameter counts of the LeNet of :func:`init`.

    Each 3×3 convolution has padding 1 and stride 1, so :func:`output_size` keeps the size
    ($n + 2 - 3 + 1 = n$); each 2×2 max-pool with stride 2 halves it. Parameters from
    :func:`conv_params` ($9\,d_{in}d_{out} + d_{out}$) and :func:`dense_params`
    (Aggarwal §8.2.2–8.2.3, §8.4). Same arguments as :func:`init`.

    Returns:
        one dict per layer with keys ``name`` (conv1, pool1, ..., fc1, fc2), ``shape`` (the
        output's (H, W, C) or (units,)) and ``params`` (0 for pooling).
    """
    size = _validate.positive_int("image_size", image_size)
    depth = _validate.positive_int("in_channels", in_channels)
    hidden = _validate.positive_int("hidden", hidden)
    n_classes = _validate.positive_int("n_classes", n_classes)
    rows = []
    for i, c in enumerate(channels, start=1):
        c = _validate.positive_int("channels", c)
        size = output_size(size, 3, 1, 1)
        rows.append(dict(name=f"conv{i}", shape=(size, size, c), params=conv_params(3, depth, c)))
        size, depth = output_size(size, 2, 0, 2), c
        rows.append(dict(name=f"pool{i}", shape=(size, size, depth), params=0))
    n_in = size * size * depth
    rows.append(dict(name="fc1", shape=(hidden,), params=dense_params(n_in, hidden)))
    rows.append(dict(name="fc2", shape=(n_classes,), params=dense_params(hidden, n_classes)))
    return rows


def n_params(params: Params) -> int:
    """The number of scalars in a parameter pytree (sum of the leaves' sizes)."""
    return int(sum(np.size(leaf) for leaf in jax.tree.leaves(params)))


def feature_maps(params: Params, x: ArrayLike) -> list[Array]:
    r"""The rectified feature maps $\max(0, w * h + b)$ of every convolution layer of
    :func:`apply` (before pooling; Aggarwal §8.2.4), for images ``x: (n, H, W, C)``.

    Returns:
        a list with one ``(n, H_l, W_l, C_l)`` array per conv layer.
    """
    h, maps = _validate.finite("x", _images("x", x)), []
    for w, b in params["conv"]:
        a = jax.nn.relu(_conv2d(h, w, b, stride=1, padding=1))
        maps.append(a)
        h = max_pool(a, 2)
    return maps


def _labels(name: str, y: Any, n: int, n_classes: int) -> Array:
    y = jnp.asarray(y)
    if y.shape != (n,) or not jnp.issubdtype(y.dtype, jnp.integer):
        raise ValueError(
            f"`{name}` must be {n} integer class labels, shape ({n},), got {y.dtype}"
            f"{tuple(y.shape)}."
        )
    return y


def _class_scores(params: Params, x: Array, label: Array) -> Array:
    """Sum over the batch of the logit of each image's own class (examples are independent)."""
    logits = apply(params, x)
    return jnp.sum(jnp.take_along_axis(logits, label[:, None].astype(jnp.int32), axis=1))


@jax.jit
def _saliency(params, x, label):
    g = jax.grad(_class_scores, argnums=1)(params, x, label)
    return jnp.max(jnp.abs(g), axis=3)


def saliency(params: Params, x: ArrayLike, label: ArrayLike) -> Array:
    r"""Saliency maps (Simonyan et al. 2014; Aggarwal §8.5.1): how strongly each pixel moves the
    score of class $c$,

    $$ M_{ij} = \max_k \Big| \frac{\partial f_c(x)}{\partial x_{ijk}} \Big|, $$

    where $f_c$ is the *logit* (the score before the softmax) of class ``label`` and the max
    runs over the channels. Computed with ``jax.grad`` of the summed class scores (the images
    of a batch do not interact, so one gradient gives every image's map). Jitted; ``label`` is
    traced (a new class does not recompile).

    Args:
        params: from :func:`init`; x: images ``(n, H, W, C)``; label: int classes ``(n,)``.

    Returns:
        ``(n, H, W)``, non-negative.
    """
    x = _images("x", x)
    label = _labels("label", label, x.shape[0], params["dense"][1][0].shape[1])
    return _saliency(params, x, label)


def saliency_cache_size() -> int:
    """How many versions of the jitted saliency have been compiled (one per input shape)."""
    return _saliency._cache_size()


def occlude(x: ArrayLike, row: Any, col: Any, size: Any, value: Any = 0.0) -> Array:
    r"""Images ``x: (n, H, W, C)`` with the ``size``×``size`` square whose top-left pixel is
    (``row``, ``col``) set to ``value`` (clipped at the border). ``row``, ``col`` and ``size``
    may be traced: a mask, not a slice, so moving the patch never recompiles. ``size`` 0 leaves
    the images unchanged."""
    x = _images("x", x)
    rows = jnp.arange(x.shape[1])[:, None]
    cols = jnp.arange(x.shape[2])[None, :]
    inside = (rows >= row) & (rows < row + size) & (cols >= col) & (cols < col + size)
    return jnp.where(inside[None, :, :, None], jnp.asarray(value, x.dtype), x)


@partial(jax.jit, static_argnums=(3,))
def _occlusion_map(params, x, label, size, value):
    H, W = x.shape[0] - size + 1, x.shape[1] - size + 1
    ii, jj = jnp.meshgrid(jnp.arange(H), jnp.arange(W), indexing="ij")

    def prob(r, c):
        p = jax.nn.softmax(apply(params, occlude(x[None], r, c, size, value)), axis=1)
        return p[0, label]

    base = jax.nn.softmax(apply(params, x[None]), axis=1)[0, label]
    return base - jax.vmap(prob)(ii.ravel(), jj.ravel()).reshape(H, W)


def occlusion_map(
    params: Params, x: ArrayLike, label: Any, *, size: int = 2, value: float = 0.0
) -> Array:
    r"""Occlusion sensitivity (Zeiler & Fergus 2014; Aggarwal §8.5): the drop in the predicted
    probability of class ``label`` when a ``size``×``size`` patch of one image is blanked,

    $$ D_{ij} = p(c \mid x) - p(c \mid x \text{ with the patch at } (i, j) \text{ set to }
       \text{value}), $$

    for every top-left position $(i, j)$ with the patch inside the image.

    Args:
        params: from :func:`init`; x: one image ``(H, W, C)``; label: its class (int).
        size: the patch side; value: the fill (0 = the digits' blank background).

    Returns:
        ``(H - size + 1, W - size + 1)``; large where the evidence for the class lies.
    """
    x = _validate.float_array("x", x, ndim=3)
    size = _validate.positive_int("size", size)
    if size > min(x.shape[0], x.shape[1]):
        raise ValueError(f"`size`={size} is larger than the image {x.shape[0]}×{x.shape[1]}.")
    label = jnp.asarray(label)
    if label.shape != () or not jnp.issubdtype(label.dtype, jnp.integer):
        raise ValueError(f"`label` must be one integer class, got {label.dtype}{label.shape}.")
    return _occlusion_map(params, x, label, size, jnp.asarray(value, x.dtype))


class Inspection(NamedTuple):
    """One test digit as the CNN sees it (:func:`inspect`)."""

    image: Array  # (H, W) the image, with the patch blanked
    label: Array  # () its true class
    probs: Array  # (n_classes,) the predicted class probabilities
    saliency: Array  # (H, W) |d f_label / d x| of the occluded image


@jax.jit
def _inspect(params, images, labels, index, row, col, patch):
    x = jax.lax.dynamic_index_in_dim(images, index, keepdims=True)
    label = jax.lax.dynamic_index_in_dim(labels, index, keepdims=True)
    x = occlude(x, row, col, patch)
    probs = jax.nn.softmax(apply(params, x)[0])
    sal = _saliency(params, x, label)[0]
    return Inspection(x[0, :, :, 0], label[0], probs, sal)


def inspect(
    params: Params, images: ArrayLike, labels: ArrayLike, index: Any, row: Any, col: Any, size: Any
) -> Inspection:
    r"""Digit ``index`` of ``images`` with a ``size``×``size`` patch blanked at (``row``,
    ``col``) (:func:`occlude`; ``size`` 0 = no patch): the image, its label, the network's
    class probabilities $\mathrm{softmax}(f(x))$ and the saliency map
    $|\partial f_c/\partial x|$ of the occluded image for its true class $c$ (:func:`saliency`;
    Aggarwal §8.5.1; Zeiler & Fergus 2014).

    One jitted function with every int argument traced: picking another digit or moving the
    patch never recompiles (:func:`inspect_cache_size`).

    Args:
        params: from :func:`init`; images: ``(n, H, W, 1)``; labels: ``(n,)`` ints;
        index, row, col, size: ints (or int arrays).

    Returns:
        :class:`Inspection` with ``image: (H, W)``, ``label: ()``, ``probs: (n_classes,)``,
        ``saliency: (H, W)``.
    """
    images = _images("images", images)
    labels = _labels("labels", labels, images.shape[0], params["dense"][1][0].shape[1])
    if not _validate.is_traced(index) and not 0 <= int(index) < images.shape[0]:
        raise ValueError(f"`index` must be between 0 and {images.shape[0] - 1}, got {index}.")
    if not _validate.is_traced(size) and int(size) < 0:
        raise ValueError(f"`size` must be >= 0 (0 = no patch), got {size}.")
    ints = (jnp.asarray(v, jnp.int32) for v in (index, row, col, size))  # one dtype, one compile
    return _inspect(params, images, labels, *ints)


def inspect_cache_size() -> int:
    """How many versions of the jitted :func:`inspect` exist (one per data shape)."""
    return _inspect._cache_size()


# --------------------------------------------------------------------- hand-designed filters


def gabor(
    size: int, theta: float, sigma: float, lam: float, psi: float = 0.0, gamma: float = 1.0
) -> Array:
    r"""A Gabor filter (Goodfellow et al. §9.10, Eqs 9.16–9.18), the model of a V1 simple cell:

    $$ g(x, y) = \exp\Big(-\frac{x'^2 + \gamma^2 y'^2}{2\sigma^2}\Big)
       \cos\Big(\frac{2\pi x'}{\lambda} + \psi\Big),
       \quad x' = x\cos\theta + y\sin\theta,\ y' = -x\sin\theta + y\cos\theta, $$

    on a ``size``×``size`` grid centred at 0 ($x$ = column, $y$ = row). In Goodfellow's notation
    $\beta_x = 1/2\sigma^2$, $\beta_y = \gamma^2/2\sigma^2$, $f = 2\pi/\lambda$, $\phi = \psi$.
    The stripes run perpendicular to the direction $\theta$; $\psi = \pm\pi/2$ gives an odd
    (edge-like) filter, $\psi = 0$ an even (bar-like) one.

    Returns:
        ``(size, size)``.
    """
    size = _validate.positive_int("size", size)
    for name, v in (("sigma", sigma), ("lam", lam), ("gamma", gamma)):
        _validate.positive(name, v)
    c = (size - 1) / 2.0
    yy, xx = jnp.meshgrid(jnp.arange(size) - c, jnp.arange(size) - c, indexing="ij")
    xr = xx * jnp.cos(theta) + yy * jnp.sin(theta)
    yr = -xx * jnp.sin(theta) + yy * jnp.cos(theta)
    envelope = jnp.exp(-(xr**2 + gamma**2 * yr**2) / (2.0 * sigma**2))
    return envelope * jnp.cos(2.0 * jnp.pi * xr / lam + psi)


def gabor_bank(
    size: int, thetas: Sequence[float], sigma: float, lam: float, psi: float = 0.0
) -> Array:
    """Gabor filters at several orientations as an HWIO bank ``(size, size, 1, len(thetas))``."""
    return jnp.stack([gabor(size, t, sigma, lam, psi) for t in thetas], axis=-1)[:, :, None, :]


def edge_filters() -> tuple[list[str], Array]:
    r"""Hand-made 3×3 edge detectors as an HWIO bank ``(3, 3, 1, 4)`` with their names.

    - ``"horizontal"``: a horizontal-edge detector in the spirit of the book's Fig 8.1b (our own
      choice: the extract gives no numbers for that figure), rows $(1,1,1), (0,0,0),
      (-1,-1,-1)$: large on horizontal edges, 0 on vertical ones;
    - ``"vertical"``: its transpose;
    - ``"sobel_x"``: $\begin{pmatrix}-1&0&1\\-2&0&2\\-1&0&1\end{pmatrix}$ (a horizontal
      derivative: responds to vertical edges); ``"sobel_y"``: its transpose.
    """
    horizontal = np.array([[1, 1, 1], [0, 0, 0], [-1, -1, -1]], dtype=float)
    sobel_x = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=float)
    bank = np.stack([horizontal, horizontal.T, sobel_x, sobel_x.T], axis=-1)[:, :, None, :]
    return ["horizontal", "vertical", "sobel_x", "sobel_y"], jnp.asarray(
        bank, jnp.result_type(float)
    )


# ---------------------------------------------------------------- ch08a additions


def grating(size: int, theta: float, lam: float, phase: float = 0.0) -> Array:
    r"""A sinusoidal grating $\cos(2\pi x'/\lambda + \phi)$, $x' = x\cos\theta + y\sin\theta$.

    On the same ``size``×``size`` grid as :func:`gabor` (centred at 0, $x$ = column, $y$ = row),
    so a grating of the same $\theta$ and $\lambda$ is the stimulus a Gabor filter is tuned to
    (Goodfellow et al. §9.10). Moving ``phase`` slides the stripes across the image.

    Returns:
        ``(size, size)``.
    """
    size = _validate.positive_int("size", size)
    _validate.positive("lam", lam)
    c = (size - 1) / 2.0
    yy, xx = jnp.meshgrid(jnp.arange(size) - c, jnp.arange(size) - c, indexing="ij")
    xr = xx * jnp.cos(theta) + yy * jnp.sin(theta)
    return jnp.cos(2.0 * jnp.pi * xr / lam + phase)


def quadrature_pair(size: int, theta: float, sigma: float, lam: float, gamma: float = 1.0) -> Array:
    r"""An even and an odd Gabor filter of one orientation, a *quadrature pair*, as an HWIO bank.

    The even filter has $\psi = 0$ (a cosine under the Gaussian envelope), the odd one
    $\psi = -\pi/2$ (a sine): the two are 90° out of phase (Goodfellow et al. §9.10, the
    complex-cell model of Eq 9.19).

    Returns:
        ``(size, size, 1, 2)``: channel 0 even, channel 1 odd.
    """
    even = gabor(size, theta, sigma, lam, 0.0, gamma)
    odd = gabor(size, theta, sigma, lam, -jnp.pi / 2, gamma)
    return jnp.stack([even, odd], axis=-1)[:, :, None, :]


def complex_cell(
    x: ArrayLike,
    *,
    size: int,
    theta: float,
    sigma: float,
    lam: float,
    gamma: float = 1.0,
) -> tuple[Array, Array, Array]:
    r"""Simple-cell responses of a quadrature pair and the complex cell's energy (§9.10, Eq 9.19).

    $$ s_{even} = x \star g_{even}, \qquad s_{odd} = x \star g_{odd}, \qquad
       c = \sqrt{s_{even}^2 + s_{odd}^2}, $$

    with $\star$ the valid cross-correlation :func:`conv2d` and $g$ the
    :func:`quadrature_pair`. Each simple cell oscillates as a grating slides under it (its
    phase); the energy $c$ hardly moves: it is (nearly) invariant to small shifts.

    Args:
        x: grey images ``(n, H, W, 1)``; size, theta, sigma, lam, gamma: as in :func:`gabor`.

    Returns:
        ``(s_even, s_odd, energy)``, each ``(n, H - size + 1, W - size + 1)``.
    """
    x = _images("x", x)
    if x.shape[3] != 1:
        raise ValueError(f"`x` must hold grey images (one channel), got shape {tuple(x.shape)}.")
    s = conv2d(x, quadrature_pair(size, theta, sigma, lam, gamma))
    even, odd = s[..., 0], s[..., 1]
    return even, odd, jnp.sqrt(even**2 + odd**2)


def receptive_field(shape: Sequence[int], ws: Sequence[ArrayLike], *, at: Sequence[int]) -> Array:
    r"""Which input pixels one output unit of stacked convolutions depends on (Aggarwal §8.2).

    Stacks valid :func:`conv2d` layers with the filters ``ws`` (no nonlinearity) on one image
    of ``shape`` ``(H, W, C)`` and returns the support of $\partial y_{at}/\partial x$, found by
    ``jax.grad``: ``True`` where the gradient is non-zero. Three stacked 3×3 layers see a 7×7
    patch (§8.4.3, the argument for VGG's small filters).

    Args:
        shape: the input ``(H, W, C)``; ws: HWIO filter banks; at: ``(i, j, p)`` of the last
        layer's output.

    Returns:
        a boolean ``(H, W)`` array (any channel).
    """
    shape = tuple(int(v) for v in shape)
    if len(shape) != 3:
        raise ValueError(f"`shape` must be (H, W, C), got {shape}.")
    at = tuple(int(v) for v in at)
    if len(at) != 3:
        raise ValueError(f"`at` must be an output position (i, j, p), got {at}.")
    ws = [_filters(f"ws[{k}]", w) for k, w in enumerate(ws)]
    # The support depends only on the filter shapes: all-ones filters and an all-ones input
    # make every path positive, so a zero gradient means "no path", never a cancellation.
    ones = [jnp.ones(w.shape, jnp.result_type(float)) for w in ws]

    def unit(x):
        h = x[None]
        for w in ones:
            h = conv2d(h, w)
        if not all(0 <= a < n for a, n in zip(at, h.shape[1:], strict=True)):
            raise ValueError(f"`at`={at} lies outside the output of shape {tuple(h.shape[1:])}.")
        return h[0, at[0], at[1], at[2]]

    return jnp.any(jax.grad(unit)(jnp.ones(shape, jnp.result_type(float))) != 0, axis=-1)


# The worked example of Aggarwal Fig 8.2 (a 7×7 input, a 3×3 filter). The figure's matrices are
# lost from the extract; this reconstruction (course map, ch. 8) reproduces both sums the text
# quotes, 5·1 + 8·1 + 1·1 + 1·2 = 16 and 4·1 + 4·1 + 4·1 + 7·2 = 26, but is unverified.
FIG_8_2_INPUT = np.array(
    [
        [6, 3, 4, 4, 5, 0, 3],
        [4, 7, 4, 0, 4, 0, 4],
        [7, 0, 2, 3, 4, 5, 2],
        [3, 7, 5, 0, 3, 0, 7],
        [5, 8, 1, 2, 5, 4, 2],
        [8, 0, 1, 0, 6, 0, 0],
        [6, 4, 1, 3, 0, 4, 5],
    ],
    dtype=float,
)
FIG_8_2_FILTER = np.array([[1, 0, 1], [1, 0, 0], [0, 0, 2]], dtype=float)
