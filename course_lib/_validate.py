"""Input validation for public functions.

Public functions call these helpers *before* any traced computation, so that a wrong shape or
a bad hyperparameter gives a clear ``ValueError``/``TypeError`` that names the argument, says
what was expected and what came, instead of a JAX stack trace or a silently wrong answer.

Checks on *values* (labels in {-1, +1}, finiteness, positivity) need concrete numbers. When a
public function is itself traced (called inside ``jax.jit`` or ``jax.vmap``), its arguments
are tracers and value checks are skipped; shape and dtype checks still run because shapes and
dtypes are static.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, TypeVar

import jax
import jax.numpy as jnp
import numpy as np

from course_lib._types import Array

T = TypeVar("T")


def is_traced(x: Any) -> bool:
    """True when ``x`` is an abstract value inside a JAX transformation (no concrete value)."""
    return isinstance(x, jax.core.Tracer)


def _describe(x: Any) -> str:
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return f"an array of shape {tuple(x.shape)} and dtype {x.dtype}"
    return f"{type(x).__name__} {x!r}"[:120]


def float_array(name: str, x: Any, *, ndim: int | tuple[int, ...] | None = None) -> Array:
    """Return ``x`` as a floating JAX array, or raise a clear error.

    Integers are promoted to the default float dtype; booleans, complex numbers, strings and
    objects are rejected with a ``TypeError``. ``ndim`` (an int or a tuple of allowed ranks)
    is enforced with a ``ValueError``.
    """
    if isinstance(x, str) or x is None:
        raise TypeError(f"`{name}` must be a numeric array, got {_describe(x)}.")
    try:
        arr = x if isinstance(x, jax.Array) else jnp.asarray(np.asarray(x))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"`{name}` must be a numeric array, got {_describe(x)}.") from exc
    kind = np.dtype(arr.dtype).kind
    if kind == "b" or kind == "c" or kind not in "iuf":
        raise TypeError(f"`{name}` must hold real numbers, got dtype {arr.dtype}.")
    if kind in "iu":
        arr = arr.astype(jnp.result_type(float))
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(str(k) for k in allowed)
            raise ValueError(
                f"`{name}` must be {want}-dimensional, got shape {tuple(arr.shape)} "
                f"({arr.ndim}-dimensional)."
            )
    return arr


def finite(name: str, x: Array) -> Array:
    """Raise ``ValueError`` if a concrete ``x`` holds NaN or infinity."""
    # NumPy, not jnp: inside jax.jit even a concrete (closed-over) array's jnp.all is a tracer.
    if not is_traced(x) and not np.all(np.isfinite(np.asarray(x))):
        bad = int(np.sum(~np.isfinite(np.asarray(x))))
        raise ValueError(f"`{name}` contains {bad} NaN or infinite value(s); clean the data first.")
    return x


def labels_pm1(name: str, y: Any, *, n: int | None = None) -> Array:
    """Return binary labels as a float array of -1/+1, or raise a clear error.

    ``n`` is the number of examples the labels must match (the rows of the data).
    """
    arr = float_array(name, y, ndim=1)
    if n is not None and arr.shape[0] != n:
        raise ValueError(
            f"`{name}` must have one label per example: expected shape ({n},), "
            f"got {tuple(arr.shape)}."
        )
    if not is_traced(arr):
        values = np.asarray(arr)  # NumPy: works on closed-over arrays inside jax.jit too
        if not np.all((values == 1.0) | (values == -1.0)):
            found = np.unique(np.asarray(arr))[:6]
            raise ValueError(
                f"`{name}` must contain only the labels -1 and +1, found values {found.tolist()}. "
                "(Labels in {0, 1}? Map them with y = 2*y - 1.)"
            )
    return arr


def positive(name: str, value: Any, *, allow_zero: bool = False) -> Any:
    """Raise ``ValueError`` unless a concrete scalar ``value`` is > 0 (or >= 0)."""
    if is_traced(value):
        return value
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"`{name}` must be a real number, got {_describe(value)}.") from exc
    if math.isnan(v) or (v < 0 if allow_zero else v <= 0):
        bound = "non-negative" if allow_zero else "positive"
        raise ValueError(f"`{name}` must be {bound}, got {value!r}.")
    return value


def in_range(name: str, value: Any, low: float, high: float) -> Any:
    """Raise ``ValueError`` unless ``low <= value <= high`` (skipped for traced values)."""
    if is_traced(value):
        return value
    v = float(value)
    if not (low <= v <= high):
        raise ValueError(f"`{name}` must lie in [{low}, {high}], got {value!r}.")
    return value


def positive_int(name: str, value: Any) -> int:
    """Return ``value`` as a Python int >= 1, or raise a clear error (sizes are static)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"`{name}` must be a positive integer, got {_describe(value)}.")
    if value < 1:
        raise ValueError(f"`{name}` must be a positive integer, got {value}.")
    return int(value)


def prng_key(name: str, key: Any) -> Array:
    """Raise ``TypeError`` unless ``key`` looks like a JAX PRNG key."""
    if key is None:
        raise TypeError(
            f"`{name}` is required: pass a JAX random key, e.g. {name}=jax.random.key(0). "
            "Nothing in this library draws random numbers without an explicit key."
        )
    if isinstance(key, jax.Array):
        if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
            return key
        if key.dtype == jnp.uint32 and key.shape == (2,):  # legacy jax.random.PRNGKey
            return key
    raise TypeError(
        f"`{name}` must be a JAX random key such as jax.random.key(0), got {_describe(key)}."
    )


def same_rows(name_a: str, a: Array, name_b: str, b: Array) -> None:
    """Raise ``ValueError`` unless ``a`` and ``b`` have the same number of rows."""
    if a.shape[0] != b.shape[0]:
        raise ValueError(
            f"`{name_a}` and `{name_b}` must have the same number of rows, got "
            f"{a.shape[0]} and {b.shape[0]}."
        )


def lookup(what: str, registry: Mapping[str, T], name: str) -> T:
    """``registry[name]``, or a ``ValueError`` that lists the choices (``what`` names the kind)."""
    try:
        return registry[name]
    except (KeyError, TypeError):
        choices = ", ".join(sorted(registry))
        raise ValueError(f"unknown {what} {name!r}; choose one of: {choices}.") from None
