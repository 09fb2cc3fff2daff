r"""Shrinking a trained network: magnitude pruning and low-precision weights (Aggarwal §3.7.3).

**Magnitude pruning** sets the smallest weights of each layer to zero: with a fraction $p$ of a
layer's $N$ weights to remove, the $\lfloor pN\rfloor$ weights of smallest $|w|$ become 0 (ties
broken by position, so exactly that many). Biases are kept.

**Uniform symmetric quantization** to $b$ bits stores each weight of a layer as an integer
$q \in \{-(2^{b-1}-1), \dots, 2^{b-1}-1\}$ and one scale per layer,

$$ s = \frac{\max_{ij} |W_{ij}|}{2^{b-1}-1}, \qquad \hat W = s\,\operatorname{round}(W / s), $$

so the largest weight is kept exactly and every other one moves by at most $s/2$. With $b = 2$
the levels are $\{-s, 0, s\}$ (ternary weights).

Both take their amount (``fraction``, ``bits``) as a traced number, so a slider that moves it
never recompiles (:func:`compress`).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from course_lib import _validate, mlp
from course_lib._types import Array, ArrayLike


def prune(W: ArrayLike, fraction: ArrayLike) -> Array:
    r"""``W`` with its $\lfloor \text{fraction}\cdot N\rfloor$ smallest-magnitude entries set to 0.

    ``W`` has any shape ($N$ entries); ``fraction`` in $[0, 1]$ may be traced. Among equal
    magnitudes the earlier entries (in row-major order) go first.
    """
    W = _validate.float_array("W", W)
    _validate.in_range("fraction", fraction, 0.0, 1.0)
    return _prune(W, jnp.asarray(fraction, W.dtype))


def _prune(W, fraction):
    flat = jnp.abs(W).ravel()
    # rank 0 = smallest |w|; a stable sort makes ties go by position
    rank = (
        jnp.zeros(flat.size, jnp.int32)
        .at[jnp.argsort(flat, stable=True)]
        .set(jnp.arange(flat.size, dtype=jnp.int32))
    )
    n_drop = jnp.floor(fraction * flat.size + 1e-3)  # + 1e-3: 0.3 * 10 may round to 2.99999
    return jnp.where((rank >= n_drop).reshape(W.shape), W, 0.0)


def quantize(W: ArrayLike, bits: ArrayLike) -> Array:
    r"""Uniform symmetric quantization of ``W`` to ``bits`` $\ge 2$ bits (values, not codes).

    $\hat W = s\,\operatorname{round}(W/s)$ with $s = \max|W| / (2^{b-1}-1)$; an all-zero ``W``
    stays zero. ``bits`` may be traced (a whole number; it is not rounded here).
    """
    W = _validate.float_array("W", W)
    if not _validate.is_traced(bits):
        b = _validate.real_scalar("bits", bits)
        if b != round(b) or b < 2:
            raise ValueError(f"`bits` must be a whole number >= 2, got {bits!r}.")
    return _quantize(W, jnp.asarray(bits, W.dtype))


def _quantize(W, bits):
    levels = 2.0 ** (bits - 1) - 1.0
    top = jnp.max(jnp.abs(W))
    s = jnp.where(top > 0, top / levels, 1.0)
    return s * jnp.round(W / s)


def compress(params: tuple[mlp.Dense, ...], fraction: ArrayLike, bits: ArrayLike) -> tuple:
    """Prune every layer's weights by ``fraction``, then quantize them to ``bits`` (biases kept
    in full precision). ``bits >= 32`` means no quantization. Both may be traced."""
    if not isinstance(params, tuple) or not all(isinstance(p, mlp.Dense) for p in params):
        raise TypeError("`params` must be a tuple of Dense layers (from mlp.init).")
    _validate.in_range("fraction", fraction, 0.0, 1.0)
    if not _validate.is_traced(bits):
        b = _validate.real_scalar("bits", bits)
        if b != round(b) or b < 2:
            raise ValueError(f"`bits` must be a whole number >= 2, got {bits!r}.")
    return _compress(params, fraction, bits)


def _compress(params, fraction, bits):
    out = []
    for layer in params:
        W = _prune(layer.W, jnp.asarray(fraction, layer.W.dtype))
        Wq = _quantize(W, jnp.asarray(bits, layer.W.dtype))
        out.append(mlp.Dense(jnp.where(bits >= 32, W, Wq), layer.b))
    return tuple(out)


@functools.partial(jax.jit, static_argnames=("activation",))
def _evaluate(params, X, y, fraction, bits, *, activation):
    small = _compress(params, fraction, bits)
    logits = mlp.forward_cache(small, X, activation).pre[-1]
    return jnp.mean(jnp.argmax(logits, axis=1) == y), small


def evaluate(
    params: tuple[mlp.Dense, ...],
    X: ArrayLike,
    y: ArrayLike,
    fraction: ArrayLike,
    bits: ArrayLike,
    *,
    activation: str = "relu",
) -> tuple[Array, tuple]:
    """``(accuracy, compressed params)`` of :func:`compress` on ``X (n, d)``, ``y (n,)``, in one
    jitted call: ``fraction`` and ``bits`` are traced, so new values never recompile."""
    compress(params, fraction, bits)  # validation only
    X = mlp._check_inputs(params, X)
    y = _validate.index_array("y", y, size=params[-1].W.shape[1], ndim=1)
    _validate.same_rows("X", X, "y", y)
    f = jnp.asarray(fraction, X.dtype)
    b = jnp.asarray(bits, X.dtype)
    return _evaluate(params, X, y, f, b, activation=activation)


def evaluate_cache_size() -> int:
    """How many compiled versions of :func:`evaluate` exist (for no-recompile tests)."""
    return _evaluate._cache_size()


def size_bits(params: tuple[mlp.Dense, ...], fraction: float, bits: int) -> int:
    r"""Storage in bits of the compressed weights: the kept weights at ``bits`` each (32 when
    ``bits >= 32``), plus one 32-bit scale per quantized layer and the 32-bit biases. (Where the
    kept weights sit costs extra index bits in a real sparse format; not counted here.)"""
    total = 0
    for layer in params:
        n = layer.W.size
        kept = n - int(fraction * n + 1e-3)
        total += kept * min(int(bits), 32) + (32 if bits < 32 else 0) + 32 * layer.b.size
    return total


@functools.partial(jax.jit, static_argnames=("steps", "activation"))
def _fine_tune(params, X, y, lr, *, steps, activation):
    masks = [(layer.W != 0).astype(layer.W.dtype) for layer in params]
    grad = jax.grad(mlp.loss)

    def body(p, _):
        g = grad(p, X, y, activation)
        new = tuple(
            mlp.Dense((layer.W - lr * gl.W) * m, layer.b - lr * gl.b)
            for layer, gl, m in zip(p, g, masks, strict=True)
        )
        return new, None

    return jax.lax.scan(body, params, None, length=steps)[0]


def fine_tune(
    params: tuple[mlp.Dense, ...],
    X: ArrayLike,
    y: ArrayLike,
    *,
    lr: float,
    steps: int,
    activation: str = "relu",
) -> tuple[mlp.Dense, ...]:
    r"""Retrain a pruned network with its zeros held at zero: full-batch gradient steps
    $W \leftarrow M \odot (W - \alpha\nabla_W\mathcal L)$ with the mask $M = [W \ne 0]$ taken
    from ``params`` (Aggarwal §3.7.3: prune, then fine-tune). One jitted ``lax.scan``; ``lr`` is
    traced."""
    X = mlp._check_inputs(params, X)
    y = _validate.index_array("y", y, size=params[-1].W.shape[1], ndim=1)
    _validate.same_rows("X", X, "y", y)
    _validate.positive("lr", lr)
    steps = _validate.positive_int("steps", steps)
    return _fine_tune(params, X, y, jnp.asarray(lr, X.dtype), steps=steps, activation=activation)
