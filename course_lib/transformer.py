r"""The pieces of a transformer: attention, heads, positions, masks, layer norm, the pre-LN block.

Aggarwal §10.2.2 stops at Luong's attention: a decoder state $h^{(2)}_t$ scores every encoder
state $h^{(1)}_s$ by a dot product, a softmax turns the scores into weights $a(t, s)$, and the
context is $c_t = \sum_s a(t, s) h^{(1)}_s$ (Eq 10.2-10.4). Vaswani et al. (2017, "Attention is
all you need") keep that mechanism and drop the recurrence. With row vectors stacked in
matrices (``Q (Tq, d_k)`` queries, ``K (Tk, d_k)`` keys, ``V (Tk, d_v)`` values):

$$\mathrm{Attention}(Q, K, V) = \mathrm{softmax}\Big(\frac{QK^\top}{\sqrt{d_k}}\Big)V .$$

Each row of the softmax is one query's weights over the keys (Luong's $a(t,\cdot)$). The
$\sqrt{d_k}$: for query and key entries with mean 0 and variance 1, a score $q\cdot k$ is a sum
of $d_k$ products and has variance $d_k$; without the division the softmax saturates (nearly
one-hot weights, vanishing gradients) as $d_k$ grows.

**Masks.** A boolean ``mask (Tq, Tk)`` says which keys each query may see (True: may attend);
the scores of the others are replaced by the dtype's most negative number before the softmax,
so their weights are exactly 0. The **causal** mask $M_{ts} = [s \le t]$ lets position $t$ see
only the positions up to itself: a language model cannot peek at the character it predicts.

**Multi-head attention** projects the inputs $h$ times with $W_Q, W_K, W_V$ (each ``(d, d)``,
split into $h$ heads of $d/h$ columns), attends in each head separately, concatenates the heads
and projects with $W_O$:
$\mathrm{MHA}(X) = \mathrm{concat}_i\,\mathrm{Attention}(XW_Q^{(i)}, XW_K^{(i)}, XW_V^{(i)})\,W_O$.

**Positions.** Self-attention treats its inputs as a set: permuting the rows of $X$ permutes the
rows of the output the same way (it is permutation-equivariant). Adding the sinusoids
$P_{t,2i} = \sin(t/10000^{2i/d})$, $P_{t,2i+1} = \cos(t/10000^{2i/d})$ to the inputs tells
every position where it is.

**Layer normalization** (Aggarwal §7.3.1) normalizes each position's vector over its $d$
features, $\mathrm{LN}(x) = \gamma\odot(x - \mu)/\sqrt{\sigma^2 + \epsilon} + \beta$. A
**pre-LN block** adds two residual branches, $x \leftarrow x + \mathrm{MHA}(\mathrm{LN}_1(x))$,
then $x \leftarrow x + \mathrm{MLP}(\mathrm{LN}_2(x))$, with the MLP $d \to 4d \to d$ (GELU).

The backward passes of attention and of layer norm are written out by hand
(:func:`attention_backward`, :func:`layer_norm_backward`) and tested against ``jax.grad`` and
finite differences; everything else is differentiated by JAX.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from course_lib import _validate
from course_lib._types import Array, ArrayLike, PRNGKey

LN_EPS = 1e-5  # layer norm's epsilon (PyTorch's and Flax's default)
MLP_RATIO = 4  # the MLP's hidden width is MLP_RATIO * d_model (Vaswani et al.)

# ------------------------------------------------------------------------------ validation


def _qkv(Q: Any, K: Any, V: Any) -> tuple[Array, Array, Array]:
    Q = _validate.float_array("Q", Q)
    K = _validate.float_array("K", K)
    V = _validate.float_array("V", V)
    for name, a in (("Q", Q), ("K", K), ("V", V)):
        if a.ndim < 2:
            raise ValueError(
                f"`{name}` must have at least 2 dimensions (..., T, d), got shape {tuple(a.shape)}."
            )
    if Q.shape[-1] != K.shape[-1]:
        raise ValueError(
            f"`Q` and `K` must have the same last dimension d_k, got {Q.shape[-1]} and "
            f"{K.shape[-1]} (shapes {tuple(Q.shape)} and {tuple(K.shape)})."
        )
    if K.shape[-2] != V.shape[-2]:
        raise ValueError(
            f"`K` and `V` must have one row per key, got {K.shape[-2]} and {V.shape[-2]} rows "
            f"(shapes {tuple(K.shape)} and {tuple(V.shape)})."
        )
    return Q, K, V


def _mask(mask: Any, tq: int, tk: int) -> Array | None:
    if mask is None:
        return None
    if isinstance(mask, (str, bytes)):
        raise TypeError(f"`mask` must be a boolean array, got {type(mask).__name__}.")
    m = mask if isinstance(mask, jax.Array) else jnp.asarray(np.asarray(mask))
    if m.dtype != jnp.bool_:
        raise TypeError(
            f"`mask` must be a boolean array (True: may attend), got dtype {m.dtype}; "
            "build it with a comparison, e.g. causal_mask(T)."
        )
    if m.ndim < 2 or m.shape[-2:] != (tq, tk):
        raise ValueError(
            f"`mask` must end in the shape (Tq, Tk) = ({tq}, {tk}), got {tuple(m.shape)}."
        )
    return m


def _lift(v: Array, ndim: int) -> Array:
    """``v`` with leading axes of size 1 up to ``ndim`` (explicit broadcasting, no silent rank
    promotion)."""
    return v.reshape((1,) * (ndim - v.ndim) + v.shape)


# ------------------------------------------------------------------------------ attention


def _scores(Q: Array, K: Array, mask: Array | None) -> Array:
    s = Q @ jnp.swapaxes(K, -1, -2) / jnp.sqrt(jnp.asarray(Q.shape[-1], Q.dtype))
    if mask is not None:
        # the most negative finite number, not -inf: a row with no visible key stays finite
        s = jnp.where(_lift(mask, s.ndim), s, jnp.finfo(s.dtype).min)
    return s


def attention_weights(Q: ArrayLike, K: ArrayLike, mask: ArrayLike | None = None) -> Array:
    r"""The weights $A = \mathrm{softmax}(QK^\top/\sqrt{d_k})$, row by row (Luong's $a(t,s)$).

    ``Q (..., Tq, d_k)``, ``K (..., Tk, d_k)``, ``mask`` boolean, broadcastable, ending in
    ``(Tq, Tk)`` (True: may attend). Returns ``(..., Tq, Tk)``; every row sums to 1, masked
    entries are exactly 0.
    """
    Q = _validate.float_array("Q", Q)
    K = _validate.float_array("K", K)
    Q, K, _ = _qkv(Q, K, K)
    return jax.nn.softmax(_scores(Q, K, _mask(mask, Q.shape[-2], K.shape[-2])), axis=-1)


def scaled_dot_product_attention(
    Q: ArrayLike, K: ArrayLike, V: ArrayLike, mask: ArrayLike | None = None
) -> Array:
    r"""$\mathrm{softmax}(QK^\top/\sqrt{d_k})\,V$ (Vaswani et al. 2017, Eq 1; Aggarwal Eq 10.4).

    ``Q (..., Tq, d_k)``, ``K (..., Tk, d_k)``, ``V (..., Tk, d_v)``, with the same leading
    axes (batch, heads). ``mask``: boolean ending in ``(Tq, Tk)``, True where a query may attend.
    Returns ``(..., Tq, d_v)``: row $t$ is the weighted average $\sum_s A_{ts} V_s$.
    """
    Q, K, V = _qkv(Q, K, V)
    A = jax.nn.softmax(_scores(Q, K, _mask(mask, Q.shape[-2], K.shape[-2])), axis=-1)
    return A @ V


def attention_backward(
    Q: ArrayLike, K: ArrayLike, V: ArrayLike, dO: ArrayLike, mask: ArrayLike | None = None
) -> tuple[Array, Array, Array]:
    r"""Gradients of a loss through :func:`scaled_dot_product_attention`, by hand.

    With $S = QK^\top/\sqrt{d_k}$, $A = \mathrm{softmax}(S)$ by rows, $O = AV$ and the upstream
    gradient $G = \partial L/\partial O$ (``dO (..., Tq, d_v)``):

    $$\frac{\partial L}{\partial V} = A^\top G,\qquad \frac{\partial L}{\partial A} = GV^\top,
    \qquad \frac{\partial L}{\partial S} = A\odot\Big(\frac{\partial L}{\partial A}
    - \mathrm{rowsum}\big(A\odot\tfrac{\partial L}{\partial A}\big)\Big),$$

    $$\frac{\partial L}{\partial Q} = \frac{1}{\sqrt{d_k}}\frac{\partial L}{\partial S}K,
    \qquad \frac{\partial L}{\partial K} = \frac{1}{\sqrt{d_k}}
    \Big(\frac{\partial L}{\partial S}\Big)^\top Q .$$

    The softmax line is the softmax Jacobian $\mathrm{diag}(a) - aa^\top$ applied row by row;
    masked entries have $A = 0$ and get no gradient. Returns ``(dQ, dK, dV)``, shaped like
    ``Q, K, V`` (no broadcasting over leading axes here: give them the same leading shape).
    """
    Q, K, V = _qkv(Q, K, V)
    dO = _validate.float_array("dO", dO)
    if dO.shape != (*Q.shape[:-1], V.shape[-1]):
        raise ValueError(
            f"`dO` must have the output's shape {(*Q.shape[:-1], V.shape[-1])}, "
            f"got {tuple(dO.shape)}."
        )
    m = _mask(mask, Q.shape[-2], K.shape[-2])
    A = jax.nn.softmax(_scores(Q, K, m), axis=-1)
    T = lambda x: jnp.swapaxes(x, -1, -2)  # noqa: E731
    dV = T(A) @ dO
    dA = dO @ T(V)
    dS = A * (dA - jnp.sum(A * dA, axis=-1, keepdims=True))
    scale = 1.0 / math.sqrt(Q.shape[-1])
    return scale * dS @ K, scale * T(dS) @ Q, dV


def causal_mask(T: int) -> Array:
    r"""The ``(T, T)`` boolean mask $M_{ts} = [s \le t]$: position $t$ sees $0, \dots, t$ only."""
    T = _validate.positive_int("T", T)
    return jnp.tril(jnp.ones((T, T), bool))


# ------------------------------------------------------------------------------ heads


def split_heads(x: ArrayLike, n_heads: int) -> Array:
    r"""``(..., T, d)`` -> ``(..., h, T, d/h)``; head $i$ gets columns $i\,d/h$ to $(i+1)d/h-1$."""
    x = _validate.float_array("x", x)
    h = _validate.positive_int("n_heads", n_heads)
    if x.ndim < 2 or x.shape[-1] % h:
        raise ValueError(
            f"`x` must have shape (..., T, d) with d divisible by n_heads = {h}, "
            f"got {tuple(x.shape)}."
        )
    *lead, T, d = x.shape
    return jnp.swapaxes(x.reshape(*lead, T, h, d // h), -2, -3)  # (..., h, T, d/h)


def merge_heads(x: ArrayLike) -> Array:
    """The inverse of :func:`split_heads`: ``(..., h, T, d/h)`` -> ``(..., T, d)`` (concat)."""
    x = _validate.float_array("x", x)
    if x.ndim < 3:
        raise ValueError(f"`x` must have shape (..., h, T, d/h), got {tuple(x.shape)}.")
    *lead, h, T, dh = x.shape
    return jnp.swapaxes(x, -2, -3).reshape(*lead, T, h * dh)


class AttentionParams(NamedTuple):
    """Self-attention projections, each ``(d, d)`` (no biases): ``W_q, W_k, W_v, W_o``."""

    W_q: Array
    W_k: Array
    W_v: Array
    W_o: Array


def multi_head_attention(
    params: AttentionParams, x: Array, *, n_heads: int, mask: Array | None = None
) -> Array:
    r"""Multi-head self-attention $\mathrm{concat}_i(\mathrm{Attention}(XW_Q^{(i)},
    XW_K^{(i)}, XW_V^{(i)}))W_O$ of ``x (..., T, d)`` -> ``(..., T, d)``; ``mask (T, T)``.

    The same numbers as :func:`split_heads`, :func:`scaled_dot_product_attention` per head and
    :func:`merge_heads` (the tests check it), but the heads stay an axis of a reshaped
    ``(..., T, h, d/h)`` array that ``einsum`` contracts directly: no transposed copies,
    forward or backward (about 20% off the language model's training step).
    """
    *lead, T, d = x.shape
    if d % n_heads:
        raise ValueError(f"`n_heads` = {n_heads} must divide the width d = {d}.")
    dh = d // n_heads
    q = (x @ params.W_q).reshape(*lead, T, n_heads, dh)  # (..., T, h, d/h): a view, no copy
    k = (x @ params.W_k).reshape(*lead, T, n_heads, dh)
    v = (x @ params.W_v).reshape(*lead, T, n_heads, dh)
    s = jnp.einsum("...qhc,...khc->...hqk", q, k) / jnp.sqrt(jnp.asarray(dh, q.dtype))
    if mask is not None:
        s = jnp.where(_lift(_mask(mask, T, T), s.ndim), s, jnp.finfo(s.dtype).min)
    a = jax.nn.softmax(s, axis=-1)  # (..., h, T, T)
    out = jnp.einsum("...hqk,...khc->...qhc", a, v).reshape(*lead, T, d)  # concat the heads
    return out @ params.W_o


def head_weights(
    params: AttentionParams, x: Array, *, n_heads: int, mask: Array | None = None
) -> Array:
    """The attention weights of every head, ``(..., h, T, T)`` (what :func:`multi_head_attention`
    averages the values with)."""
    q = split_heads(x @ params.W_q, n_heads)
    k = split_heads(x @ params.W_k, n_heads)
    return attention_weights(q, k, mask)


# ------------------------------------------------------------------------------ positions


def sinusoidal_positions(T: int, d: int) -> Array:
    r"""The ``(T, d)`` encodings $P_{t,2i} = \sin(t\,\omega_i)$, $P_{t,2i+1} = \cos(t\,\omega_i)$,
    $\omega_i = 10000^{-2i/d}$ (Vaswani et al. §3.5); ``d`` must be even.

    Column pair $i$ turns at frequency $\omega_i$, from one radian per position ($i = 0$) down
    to $1/10000$: every position gets a distinct pattern, and $P_{t+k}$ is a fixed rotation of
    $P_t$ in each pair.
    """
    T = _validate.positive_int("T", T)
    d = _validate.positive_int("d", d)
    if d % 2:
        raise ValueError(f"`d` must be even (sin and cos pairs), got {d}.")
    t = jnp.arange(T, dtype=jnp.result_type(float))[:, None]
    omega = 10000.0 ** (-jnp.arange(0, d, 2, dtype=t.dtype) / d)  # (d/2,)
    angles = t * omega[None, :]  # (T, d/2)
    return jnp.stack([jnp.sin(angles), jnp.cos(angles)], axis=-1).reshape(T, d)


# ------------------------------------------------------------------------------ layer norm


def layer_norm(x: ArrayLike, gamma: ArrayLike, beta: ArrayLike, eps: float = LN_EPS) -> Array:
    r"""$\gamma\odot(x-\mu)/\sqrt{\sigma^2+\epsilon} + \beta$ over the last axis (Aggarwal §7.3.1).

    ``x (..., d)``; ``gamma, beta (d,)``. $\mu$ and $\sigma^2$ (the biased variance, divided by
    $d$) are computed separately for every position, so, unlike batch norm, nothing depends on
    the other examples of the batch.
    """
    mu = jnp.mean(x, axis=-1, keepdims=True)
    var = jnp.mean((x - mu) ** 2, axis=-1, keepdims=True)
    return _lift(gamma, x.ndim) * (x - mu) / jnp.sqrt(var + eps) + _lift(beta, x.ndim)


def layer_norm_backward(
    x: ArrayLike, gamma: ArrayLike, dy: ArrayLike, eps: float = LN_EPS
) -> tuple[Array, Array, Array]:
    r"""Gradients through :func:`layer_norm`, by hand: returns ``(dx, dgamma, dbeta)``.

    With $\hat x = (x - \mu)/s$, $s = \sqrt{\sigma^2 + \epsilon}$ and $g = \gamma\odot\partial
    L/\partial y$, per position:

    $$\frac{\partial L}{\partial x}
    = \frac{1}{s}\Big(g - \overline{g} - \hat x\,\overline{g\odot\hat x}\Big),$$

    where a bar is the mean over the $d$ features; $\partial L/\partial\gamma = \sum
    \hat x\odot\partial L/\partial y$ and $\partial L/\partial\beta = \sum\partial L/\partial y$,
    summed over all positions. ``x, dy (..., d)``, ``gamma (d,)``.
    """
    x = _validate.float_array("x", x)
    dy = _validate.float_array("dy", dy)
    gamma = _validate.float_array("gamma", gamma, ndim=1)
    if dy.shape != x.shape or gamma.shape != x.shape[-1:]:
        raise ValueError(
            f"`dy` must have x's shape {tuple(x.shape)} and `gamma` shape {x.shape[-1:]}, "
            f"got {tuple(dy.shape)} and {tuple(gamma.shape)}."
        )
    mu = jnp.mean(x, axis=-1, keepdims=True)
    s = jnp.sqrt(jnp.mean((x - mu) ** 2, axis=-1, keepdims=True) + eps)
    xhat = (x - mu) / s
    g = _lift(gamma, x.ndim) * dy
    dx = (g - g.mean(-1, keepdims=True) - xhat * (g * xhat).mean(-1, keepdims=True)) / s
    lead = tuple(range(x.ndim - 1))
    return dx, jnp.sum(dy * xhat, axis=lead), jnp.sum(dy, axis=lead)


# ------------------------------------------------------------------------------ the block


class MLPParams(NamedTuple):
    """The position-wise MLP $d \\to 4d \\to d$: ``W1 (d, 4d)``, ``b1 (4d,)``, ``W2 (4d, d)``,
    ``b2 (d,)``."""

    W1: Array
    b1: Array
    W2: Array
    b2: Array


class BlockParams(NamedTuple):
    """One pre-LN transformer block: two layer norms (``(d,)`` each), attention and MLP."""

    ln1_gamma: Array
    ln1_beta: Array
    attn: AttentionParams
    ln2_gamma: Array
    ln2_beta: Array
    mlp: MLPParams


def mlp(params: MLPParams, x: Array) -> Array:
    r"""$\mathrm{GELU}(xW_1 + b_1)W_2 + b_2$, the same at every position; ``x (..., d)``."""
    hid = jax.nn.gelu(x @ params.W1 + _lift(params.b1, x.ndim), approximate=False)
    return hid @ params.W2 + _lift(params.b2, x.ndim)


def block_init(*, key: PRNGKey, d_model: int, n_layers: int = 1) -> BlockParams:
    r"""A block with layer norms at $\gamma = 1, \beta = 0$, zero biases, and Gaussian weights of
    standard deviation $1/\sqrt{\text{fan-in}}$; the two matrices that write into the residual
    stream ($W_O$, $W_2$) are scaled down by a further $1/\sqrt{2 L}$ for a stack of
    ``n_layers`` $= L$ blocks, so the stream's variance does not grow with depth (GPT-2's rule).
    """
    _validate.prng_key("key", key)
    d = _validate.positive_int("d_model", d_model)
    n_layers = _validate.positive_int("n_layers", n_layers)
    dt = jnp.result_type(float)
    k = jax.random.split(key, 6)
    out = 1.0 / math.sqrt(2.0 * n_layers)

    def normal(kk, shape, std):
        return std * jax.random.normal(kk, shape, dt)

    s, h = 1.0 / math.sqrt(d), MLP_RATIO * d
    attn = AttentionParams(
        normal(k[0], (d, d), s),
        normal(k[1], (d, d), s),
        normal(k[2], (d, d), s),
        normal(k[3], (d, d), s * out),
    )
    ff = MLPParams(
        normal(k[4], (d, h), s),
        jnp.zeros((h,), dt),
        normal(k[5], (h, d), out / math.sqrt(h)),
        jnp.zeros((d,), dt),
    )
    ones, zeros = jnp.ones((d,), dt), jnp.zeros((d,), dt)
    return BlockParams(ones, zeros, attn, ones, zeros, ff)


def block(params: BlockParams, x: Array, *, n_heads: int, mask: Array | None = None) -> Array:
    r"""One pre-LN block: $x + \mathrm{MHA}(\mathrm{LN}_1 x)$, then the same with the MLP.

    ``x (..., T, d)`` -> ``(..., T, d)``. The residual path carries $x$ through unchanged, so
    the gradient reaches the first block undamped (Aggarwal §7.3's worry about depth).
    """
    x = x + multi_head_attention(
        params.attn, layer_norm(x, params.ln1_gamma, params.ln1_beta), n_heads=n_heads, mask=mask
    )
    return x + mlp(params.mlp, layer_norm(x, params.ln2_gamma, params.ln2_beta))


def block_param_count(d_model: int) -> int:
    r"""Parameters of one block: $4d^2$ (attention) $+\,8d^2 + 5d$ (MLP) $+\,4d$ (two LNs)
    $= 12d^2 + 9d$."""
    d = _validate.positive_int("d_model", d_model)
    return 12 * d * d + 9 * d


def param_count(params: Any) -> int:
    """The number of scalars in a pytree of arrays."""
    return int(sum(int(np.prod(a.shape)) for a in jax.tree.leaves(params)))
