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
    if is_traced(x):
        return x
    ok = None
    if isinstance(x, jax.Array) and any(d.platform != "cpu" for d in x.devices()):
        # on an accelerator, reduce there: one bool comes back, not the whole array
        ok = jnp.isfinite(x).all()
        # inside jax.jit even a concrete (closed-over) array's jnp.all is a tracer: use NumPy
        ok = None if is_traced(ok) else bool(ok)
    if ok is None:
        ok = bool(np.all(np.isfinite(np.asarray(x))))
    if not ok:
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


def real_scalar(name: str, value: Any) -> float:
    """``float(value)`` for a concrete real number, or a ``TypeError`` naming the argument.

    Strings are rejected even when they spell a number (``"0.1"``): ``float("0.1")`` would
    accept them here and the arithmetic further on would fail with an anonymous trace.
    """
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"`{name}` must be a real number, got {_describe(value)}.")
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"`{name}` must be a real number, got {_describe(value)}.") from exc


def positive(name: str, value: Any, *, allow_zero: bool = False, allow_inf: bool = False) -> Any:
    """Raise ``ValueError`` unless a concrete scalar ``value`` is > 0 (or >= 0) and finite.

    Infinity is refused unless ``allow_inf``: a learning rate, a penalty or a noise level of
    ``inf`` only turns the result into NaN (``perceptron.epoch(lr=inf)`` did, silently).
    """
    if is_traced(value):
        return value
    v = real_scalar(name, value)
    if math.isnan(v) or (v < 0 if allow_zero else v <= 0):
        bound = "non-negative" if allow_zero else "positive"
        raise ValueError(f"`{name}` must be {bound}, got {value!r}.")
    if math.isinf(v) and not allow_inf:
        raise ValueError(f"`{name}` must be a finite number, got {value!r}.")
    return value


def in_range(name: str, value: Any, low: float, high: float) -> Any:
    """Raise ``ValueError`` unless ``low <= value <= high`` (skipped for traced values)."""
    if is_traced(value):
        return value
    v = real_scalar(name, value)
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


def nonempty(name: str, x: Array, *, what: str = "row") -> Array:
    """Raise ``ValueError`` unless ``x`` has at least one entry along axis 0 (shapes are static)."""
    if x.ndim == 0 or x.shape[0] == 0:
        raise ValueError(f"`{name}` must hold at least one {what}, got shape {tuple(x.shape)}.")
    return x


def index_array(
    name: str, ids: Any, *, size: int | None = None, ndim: int | tuple[int, ...] | None = None
) -> Array:
    """Return integer ids (word ids, class ids, ...) as an int32 array, or raise a clear error.

    Float ids are refused with a ``TypeError`` (``int32`` would truncate 1.5 to 1 in silence);
    booleans too. For concrete ids, every value must lie in ``[0, size)`` (``[0, inf)`` when
    ``size`` is None): JAX clamps an out-of-range gather index and fills a scatter, so a bad id
    would give a finite, wrong answer. Traced ids get only the dtype and rank checks.
    """
    if isinstance(ids, (str, bytes)) or ids is None:
        raise TypeError(f"`{name}` must be integer ids, got {_describe(ids)}.")
    if isinstance(ids, jax.Array):
        arr = ids
    else:
        try:
            arr = np.asarray(ids)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"`{name}` must be integer ids, got {_describe(ids)}.") from exc
        if arr.dtype == object:
            raise TypeError(f"`{name}` must be integer ids, got {_describe(ids)}.")
    kind = np.dtype(arr.dtype).kind
    if kind not in "iu" and not (kind == "f" and arr.size == 0):  # [] is float64 in NumPy
        raise TypeError(
            f"`{name}` must be integer ids, got dtype {arr.dtype}"
            + (" (float ids would be truncated; round or cast them first)." if kind == "f" else ".")
        )
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(str(k) for k in allowed)
            raise ValueError(
                f"`{name}` must be {want}-dimensional, got shape {tuple(arr.shape)} "
                f"({arr.ndim}-dimensional)."
            )
    if not is_traced(arr) and arr.size:
        values = np.asarray(arr)  # NumPy: works on closed-over arrays inside jax.jit too
        lo, hi = int(values.min()), int(values.max())
        top = size if size is not None else None
        if lo < 0 or (top is not None and hi >= top):
            bound = f"[0, {top})" if top is not None else "[0, inf)"
            raise ValueError(f"`{name}` must lie in {bound}, got values in [{lo}, {hi}].")
    if is_traced(arr) or isinstance(arr, jax.Array):
        return arr.astype(jnp.int32)
    return jnp.asarray(arr, jnp.int32)


def full_rank_gram(name: str, A: Array, *, lam: Any = 0.0, what: str, hint: str) -> None:
    r"""Raise ``ValueError`` if $G = A^TA + \lambda I$ is singular at its working precision.

    $G$ (``d x d``) is the matrix a closed-form solver hands to ``jnp.linalg.solve``. Its
    eigenvalues $s_i^2 + \lambda$ come from the singular values $s_i$ of ``A: (n, d)``,
    computed in float64 (forming $A^TA$ in float32 first would add rounding of its own).
    $G$ counts as singular when $\lambda_{\min} \le \lambda_{\max}\, d\, \epsilon$, with
    $\epsilon$ the machine epsilon of ``A``'s own dtype (float32: 1.2e-7). This is NumPy's
    ``matrix_rank`` tolerance (``S.max() * max(M, N) * eps``) at the precision the solve runs
    in: past it, float32 rounding alone can zero or flip a pivot, and the solve returns
    NaN/inf or noise (a relative error near 1). A merely ill-conditioned system passes.
    Skipped for tracers.
    """
    if is_traced(A) or is_traced(lam):
        return
    a = np.asarray(A, np.float64)
    n, d = a.shape
    s = np.linalg.svd(a, compute_uv=False) if n and d else np.zeros(0)
    ev = np.zeros(d)
    ev[: s.shape[0]] = s**2
    ev = np.sort(ev + float(lam))
    tol = ev[-1] * d * float(np.finfo(np.dtype(A.dtype)).eps)
    if ev[-1] <= 0.0 or ev[0] <= tol:
        rank = int(np.sum(ev > tol))
        raise ValueError(
            f"{what} is singular for this `{name}` (numerical rank {rank} < {d}): the "
            f"solution is not unique and the solve would return NaN or noise; {hint}"
        )


def nonsingular(name: str, M: Array, *, what: str, hint: str) -> None:
    r"""Raise ``ValueError`` if the square ``M`` is singular at its working precision.

    The same test as :func:`full_rank_gram`, on ``M`` itself: singular values in float64, and
    singular when $s_{\min} \le s_{\max}\, d\, \epsilon$ (NumPy's ``matrix_rank`` tolerance,
    $\epsilon$ of ``M``'s dtype). Non-finite entries are refused too. Skipped for tracers.
    """
    if is_traced(M):
        return
    m = np.asarray(M, np.float64)
    if not np.all(np.isfinite(m)):
        raise ValueError(f"{what} at this `{name}` is not finite; {hint}")
    d = m.shape[0]
    s = np.linalg.svd(m, compute_uv=False)
    tol = s[0] * d * float(np.finfo(np.dtype(M.dtype)).eps) if d else 0.0
    if d == 0 or s[0] <= 0.0 or s[-1] <= tol:
        rank = int(np.sum(s > tol))
        raise ValueError(
            f"{what} at this `{name}` is singular (numerical rank {rank} < {d}); {hint}"
        )
