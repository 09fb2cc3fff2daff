r"""Activation functions $\Phi$ and their hand-written derivatives $\Phi'$.

Aggarwal §1.2.1.3 (the functions) and §1.2.1.6 (their derivatives).

Every function acts elementwise on an array ``v`` of pre-activations (any shape) and returns an
array of the same shape. Each derivative is written from the closed form in the book (and
re-derived here), then tested against ``jax.grad`` in ``tests/test_activations.py``.

At kinks (ReLU at 0, hard tanh at ±1) the derivative is a subgradient; we pick the value the
book uses: $\mathrm{ReLU}'(0) = 1$ and hard-tanh$'(\pm 1) = 1$.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from course_lib import _validate
from course_lib._types import Array, ArrayLike


def _arr(v: ArrayLike) -> Array:
    return _validate.float_array("v", v)


def identity(v: ArrayLike) -> Array:
    r"""$\Phi(v) = v$."""
    return _arr(v)


def identity_grad(v: ArrayLike) -> Array:
    r"""$\Phi'(v) = 1$."""
    return jnp.ones_like(_arr(v))


def sigmoid(v: ArrayLike) -> Array:
    r"""Logistic sigmoid $\sigma(v) = \frac{1}{1 + e^{-v}}$, computed without overflow."""
    return jax.nn.sigmoid(_arr(v))


def sigmoid_grad(v: ArrayLike) -> Array:
    r"""$\sigma'(v) = \frac{e^{-v}}{(1 + e^{-v})^2} = \sigma(v)\,(1 - \sigma(v)) \le \tfrac14$.

    Aggarwal Eq 1.18; the maximum $\tfrac14$ is reached at $v = 0$.
    """
    s = sigmoid(v)
    return s * (1.0 - s)


def tanh(v: ArrayLike) -> Array:
    r"""$\tanh(v) = \frac{e^{2v} - 1}{e^{2v} + 1} = 2\sigma(2v) - 1$."""
    return jnp.tanh(_arr(v))


def tanh_grad(v: ArrayLike) -> Array:
    r"""$\tanh'(v) = \frac{4 e^{2v}}{(e^{2v} + 1)^2} = 1 - \tanh^2(v) \le 1$ (Eq 1.21)."""
    t = tanh(v)
    return 1.0 - t * t


def relu(v: ArrayLike) -> Array:
    r"""$\mathrm{ReLU}(v) = \max\{v, 0\}$."""
    return jnp.maximum(_arr(v), 0.0)


def relu_grad(v: ArrayLike) -> Array:
    r"""$\mathrm{ReLU}'(v) = 1$ for $v \ge 0$, else $0$ (the book's choice at $v = 0$)."""
    v = _arr(v)
    return jnp.where(v >= 0, 1.0, 0.0).astype(v.dtype)


def hard_tanh(v: ArrayLike) -> Array:
    r"""$\max\{\min\{v, 1\}, -1\}$."""
    return jnp.clip(_arr(v), -1.0, 1.0)


def hard_tanh_grad(v: ArrayLike) -> Array:
    r"""$1$ on $[-1, 1]$, else $0$."""
    v = _arr(v)
    return jnp.where(jnp.abs(v) <= 1.0, 1.0, 0.0).astype(v.dtype)


def leaky_relu(v: ArrayLike, alpha: float = 0.01) -> Array:
    r"""$\max\{\alpha v, v\}$ for a slope $0 \le \alpha < 1$ on the negative side."""
    _validate.in_range("alpha", alpha, 0.0, 1.0)
    v = _arr(v)
    return jnp.where(v >= 0, v, alpha * v)


def leaky_relu_grad(v: ArrayLike, alpha: float = 0.01) -> Array:
    r"""$1$ for $v \ge 0$, else $\alpha$."""
    _validate.in_range("alpha", alpha, 0.0, 1.0)
    v = _arr(v)
    return jnp.where(v >= 0, 1.0, alpha).astype(v.dtype)


def sign(v: ArrayLike) -> Array:
    r"""$\operatorname{sign}(v)$; its derivative is 0 wherever it exists (no gradient to follow)."""
    return jnp.sign(_arr(v))


def sign_grad(v: ArrayLike) -> Array:
    r"""$0$ (undefined at $v = 0$; we return 0 there too)."""
    return jnp.zeros_like(_arr(v))


class Activation(NamedTuple):
    """An activation with its hand-written derivative, for tables, plots and widgets."""

    name: str
    fn: Callable[[ArrayLike], Array]
    grad: Callable[[ArrayLike], Array]
    formula: str  # LaTeX of Φ(v)
    grad_formula: str  # LaTeX of Φ'(v)


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("identity", identity, identity_grad, r"v", r"1"),
        Activation("sign", sign, sign_grad, r"\mathrm{sign}(v)", r"0"),
        Activation(
            "sigmoid", sigmoid, sigmoid_grad, r"\frac{1}{1+e^{-v}}", r"\sigma(v)(1-\sigma(v))"
        ),
        Activation("tanh", tanh, tanh_grad, r"\tanh v", r"1-\tanh^2 v"),
        Activation("relu", relu, relu_grad, r"\max\{v,0\}", r"[v \geq 0]"),
        Activation(
            "hard_tanh", hard_tanh, hard_tanh_grad, r"\max\{\min\{v,1\},-1\}", r"[|v| \leq 1]"
        ),
        Activation(
            "leaky_relu", leaky_relu, leaky_relu_grad, r"\max\{0.01v, v\}", r"[v\geq0]+0.01[v<0]"
        ),
    )
}
"""All activations of chapter 1 by name: ``ACTIVATIONS["tanh"].grad(v)``."""


def get(name: str) -> Activation:
    """Look an activation up by name, with a clear error listing the choices."""
    return _validate.lookup("activation", ACTIVATIONS, name)


# --------------------------------------------------------------------------------------------
# Why the derivative bounds matter: gradients through a chain of one-unit layers (§1.4.2).

CHAIN_ACTIVATIONS = ("sigmoid", "tanh", "relu", "hard_tanh", "leaky_relu", "identity")
"""The activations :func:`chain_gradients` accepts, in the order its ``lax.switch`` uses."""


@functools.partial(jax.jit, static_argnames="max_depth")
def _chain_grads(index: Array, weight: Array, x0: Array, *, max_depth: int) -> Array:
    r"""$\partial x_L/\partial x_0 = \prod_{l=1}^{L} w\,\Phi'(w\,x_{l-1})$ for $L = 1..$max_depth.

    The activation is chosen by a traced ``index`` through ``lax.switch``, so changing it (in a
    widget, say) does not recompile; only a new ``max_depth`` does.
    """
    fns = [get(n).fn for n in CHAIN_ACTIVATIONS]
    grads = [get(n).grad for n in CHAIN_ACTIVATIONS]

    def body(carry, _):
        x, g = carry
        a = weight * x
        g = g * weight * lax.switch(index, grads, a)
        return (lax.switch(index, fns, a), g), g

    _, gs = lax.scan(body, (x0, jnp.ones_like(x0)), None, length=max_depth)
    return gs


def chain_gradients(name: str, weight: float, *, x0: float = 0.5, max_depth: int = 30) -> Array:
    r"""Hand-written chain-rule products $\partial x_L/\partial x_0$ for $L = 1..$``max_depth``.

    Each layer is one unit $x_l = \Phi(w\,x_{l-1})$, so the chain rule multiplies one factor
    $w\,\Phi'(w\,x_{l-1})$ per layer (Aggarwal §1.4.2).
    """
    max_depth = _validate.positive_int("max_depth", max_depth)
    if name not in CHAIN_ACTIVATIONS:
        raise ValueError(f"`name` must be one of {CHAIN_ACTIVATIONS}, got {name!r}.")
    return _chain_grads(
        jnp.int32(CHAIN_ACTIVATIONS.index(name)),
        jnp.float32(weight),
        jnp.float32(x0),
        max_depth=max_depth,
    )


def chain_gradients_cache_size() -> int:
    """How many times :func:`chain_gradients` has compiled (for no-recompile checks)."""
    return _chain_grads._cache_size()


CHAIN_MAX_SLOPE = {
    "sigmoid": 0.25,
    "tanh": 1.0,
    "relu": 1.0,
    "hard_tanh": 1.0,
    "leaky_relu": 1.0,
    "identity": 1.0,
}
r"""$\max_v |\Phi'(v)|$ for each of :data:`CHAIN_ACTIVATIONS` (sigmoid's is $\Phi'(0) = 1/4$)."""


@functools.partial(jax.jit, static_argnames="max_depth")
def _chain_bound(slope: Array, weight: Array, *, max_depth: int) -> Array:
    return (jnp.abs(weight) * slope) ** jnp.arange(1, max_depth + 1, dtype=weight.dtype)


def chain_gradient_bound(name: str, weight: float, *, max_depth: int = 30) -> Array:
    r"""The bound $|\partial x_L/\partial x_0| \le (|w| \max_v|\Phi'(v)|)^L$, $L = 1..$max_depth.

    Each of the $L$ factors $w\,\Phi'(w\,x_{l-1})$ of :func:`chain_gradients` is at most
    $|w|\max|\Phi'|$ in size, so the product vanishes when that number is below 1 and may
    explode when it is above (Aggarwal §1.4.2; for the sigmoid, $|w| < 4$ means vanishing).
    ``weight`` is traced: a new weight never recompiles.
    """
    max_depth = _validate.positive_int("max_depth", max_depth)
    if name not in CHAIN_ACTIVATIONS:
        raise ValueError(f"`name` must be one of {CHAIN_ACTIVATIONS}, got {name!r}.")
    return _chain_bound(
        jnp.float32(CHAIN_MAX_SLOPE[name]), jnp.float32(weight), max_depth=max_depth
    )
