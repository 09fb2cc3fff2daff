r"""Gradient checking: hand-derived gradients against finite differences (Aggarwal §3.2.10).

The book's test compares an analytic gradient $G_a$ with a finite-difference estimate $G_e$
through the relative error (Eq 3.34)

$$
\rho = \frac{|G_e - G_a|}{|G_e + G_a|},
$$

and asks for $\rho < 10^{-6}$ (about $10^{-3}$ near the kinks of ReLU-like units). Two estimates:

- forward difference (Eq 3.33): $\big(L(w + \epsilon e_i) - L(w)\big)/\epsilon$, error
  $O(\epsilon)$;
- central difference: $\big(L(w + \epsilon e_i) - L(w - \epsilon e_i)\big)/2\epsilon$, error
  $O(\epsilon^2)$.

Both also suffer round-off of order (machine epsilon)$/\epsilon$, so $\rho$ against $\epsilon$
is V-shaped, with its bottom near $\sqrt{\text{eps}}$ (forward) or $\text{eps}^{1/3}$ (central);
in float32 the bottom is far above $10^{-6}$, which is why the check is done in float64.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from course_lib import _validate, mlp
from course_lib._types import Array, ArrayLike

KINDS = ("forward", "central")


def finite_difference(
    f: Callable[[Array], Array], w: ArrayLike, eps: float, kind: str = "central"
) -> np.ndarray:
    r"""The finite-difference gradient of a scalar ``f`` at ``w``, one coordinate at a time.

    Evaluated in ``w``'s dtype (pass float64 for the book's thresholds). Returns a NumPy
    array shaped like ``w``.
    """
    w = _validate.float_array("w", w)
    _validate.positive("eps", eps)
    if kind not in KINDS:
        raise ValueError(f"unknown `kind` {kind!r}; choose one of {list(KINDS)}.")
    _scalar_function("f", f, w)
    f = jax.jit(f)
    flat = w.reshape(-1)
    step = jnp.asarray(eps, w.dtype)
    base = f(w) if kind == "forward" else None
    out = np.empty(flat.shape[0], dtype=np.float64)
    for i in range(flat.shape[0]):
        plus = f(flat.at[i].add(step).reshape(w.shape))
        if kind == "forward":
            out[i] = float(plus - base) / float(step)
        else:
            minus = f(flat.at[i].add(-step).reshape(w.shape))
            out[i] = float(plus - minus) / (2.0 * float(step))
    return out.reshape(w.shape)


def _scalar_function(name: str, f: Callable, w: Array) -> None:
    """Raise unless ``f(w)`` is one real number; shapes only (``jax.eval_shape``: nothing runs)."""
    if not callable(f):
        raise TypeError(f"`{name}` must be a function of w, got {type(f).__name__}.")
    out = jax.eval_shape(f, w)
    shape = getattr(out, "shape", None)
    if shape is None or math.prod(shape) != 1:
        got = f"shape {tuple(shape)}" if shape is not None else type(out).__name__
        raise ValueError(
            f"`{name}` must return a scalar (the loss) for a finite difference, got {got}; "
            "differentiate one output at a time, e.g. lambda w: f(w)[0], or sum them."
        )


def relative_error(estimate: ArrayLike, analytic: ArrayLike) -> np.ndarray:
    r"""$\rho = |G_e - G_a| / |G_e + G_a|$ entry by entry (Eq 3.34); 0 where both are 0."""
    ge = np.asarray(estimate, dtype=np.float64)
    ga = np.asarray(analytic, dtype=np.float64)
    if ge.shape != ga.shape:
        raise ValueError(
            f"shapes differ: `estimate` has shape {tuple(ge.shape)}, `analytic` has "
            f"{tuple(ga.shape)}; they must be the same."
        )
    num = np.abs(ge - ga)
    den = np.abs(ge + ga)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(num == 0, 0.0, np.where(den == 0, np.inf, num / den))


def fd_gradient(
    f: Callable[[Array], Array], w: Array, eps: ArrayLike, kind: str = "central"
) -> Array:
    r"""Every coordinate's finite difference at once: a jittable :func:`finite_difference`.

    Row $i$ of the identity, scaled by $\epsilon$, is the step $\epsilon e_i$; ``jax.vmap``
    evaluates ``f`` at all of them in one call, so the whole estimate can live inside
    ``jax.jit`` with ``eps`` a *traced* scalar (a new $\epsilon$ does not recompile):

    $$
    G_e^{\text{fwd}} = \frac{f(w + \epsilon e_i) - f(w)}{\epsilon}, \qquad
    G_e^{\text{cen}} = \frac{f(w + \epsilon e_i) - f(w - \epsilon e_i)}{2\epsilon}.
    $$

    Args:
        f: a scalar function of a vector.
        w: the point, shape ``(p,)``; its dtype sets the precision of every evaluation.
        eps: the step $\epsilon > 0$ (cast to ``w``'s dtype).
        kind: ``"forward"`` (Eq 3.33) or ``"central"``.

    Returns:
        The estimate, shape ``(p,)``, in ``w``'s dtype (Aggarwal §3.2.10).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown `kind` {kind!r}; choose one of {list(KINDS)}.")
    w = jnp.asarray(w)
    if w.ndim != 1 or not jnp.issubdtype(w.dtype, jnp.floating):
        raise ValueError(f"`w` must be a 1-D float array, got shape {w.shape}, dtype {w.dtype}.")
    _scalar_function("f", f, w)
    eps = jnp.asarray(eps, w.dtype)
    steps = eps * jnp.eye(w.shape[0], dtype=w.dtype)  # (p, p): row i is eps * e_i
    plus = jax.vmap(f)(w[None, :] + steps)  # (p,)
    if kind == "forward":
        return (plus - f(w)) / eps
    minus = jax.vmap(f)(w[None, :] - steps)
    return (plus - minus) / (2.0 * eps)


def vector_relative_error(estimate: ArrayLike, analytic: ArrayLike) -> Array:
    r"""Eq 3.34 for the whole gradient vector at once, traceable:
    $\rho = \lVert G_e - G_a\rVert / \lVert G_e + G_a\rVert$.

    The per-parameter $\rho_i$ of :func:`relative_error` is a relative error of each entry,
    and an entry that happens to be nearly 0 makes it large however good the code is (in
    float32 such entries are pure round-off). Taking norms weighs every parameter by its
    size, so a single number judges the gradient; it is 0 when both vectors are 0.
    """
    ge, ga = jnp.asarray(estimate), jnp.asarray(analytic)
    if ge.shape != ga.shape:
        raise ValueError(
            f"shapes differ: `estimate` has shape {tuple(ge.shape)}, `analytic` has "
            f"{tuple(ga.shape)}; they must be the same."
        )
    num = jnp.linalg.norm((ge - ga).reshape(-1))
    den = jnp.linalg.norm((ge + ga).reshape(-1))
    return jnp.where(num == 0, 0.0, num / jnp.where(den == 0, 1.0, den))


# ------------------------------------------------------------------------------ precision and step
# The experiment of ch03a_backprop (and its widget, ``widgets.gradcheck_explorer``): the
# relative error of an MLP's hand-written backprop against both differences, in both precisions.

PRECISION_CONFIGS = (
    ("float32", "forward"),
    ("float32", "central"),
    ("float64", "forward"),
    ("float64", "central"),
)
"""The (dtype, kind) pairs of :func:`mlp_relative_errors`, in the order of its result."""


def _mlp_rho(params, X, labels, eps, activation):
    """Relative error of ``mlp.backprop_pre`` vs finite differences, for every config."""
    out = []
    for dtype_name, kind in PRECISION_CONFIGS:
        dtype = jnp.dtype(dtype_name)
        p = jax.tree.map(lambda a, dt=dtype: a.astype(dt), params)
        Xd = X.astype(dtype)
        flat, unravel = ravel_pytree(p)
        analytic = ravel_pytree(mlp.backprop_pre(p, Xd, labels, activation))[0]

        def f(v, Xd=Xd, unravel=unravel):
            return mlp.loss(unravel(v), Xd, labels, activation)

        estimate = fd_gradient(f, flat, eps.astype(dtype), kind)
        out.append(vector_relative_error(estimate, analytic).astype(jnp.float64))
    return jnp.stack(out)


_mlp_rho_jit = jax.jit(_mlp_rho, static_argnames=("activation",))


def mlp_relative_errors(
    params, X: ArrayLike, labels: ArrayLike, eps: float, *, activation: str = "tanh"
) -> np.ndarray:
    r"""$\rho$ (Eq 3.34, :func:`vector_relative_error`) of an MLP's hand-written gradient
    (``mlp.backprop_pre``) against :func:`fd_gradient` with step ``eps``, for each
    (precision, difference) of :data:`PRECISION_CONFIGS` (Aggarwal §3.2.10).

    ``params`` (a tuple of ``mlp.Dense``) and ``X: (n, d)`` are cast to each precision inside
    one jitted function, run with float64 enabled; ``eps`` is traced, so a new step never
    recompiles (:func:`mlp_relative_errors_cache_size`). Returns a float64 array of shape (4,).
    """
    _validate.positive("eps", eps)
    with jax.enable_x64(True):
        p64 = jax.tree.map(lambda a: jnp.asarray(a, jnp.float64), params)
        X64 = _validate.float_array("X", X, ndim=2).astype(jnp.float64)
        labels = jnp.asarray(labels)
        if labels.shape != (X64.shape[0],):
            raise ValueError(
                f"`labels` must have shape ({X64.shape[0]},) to match X, got {labels.shape}."
            )
        rho = _mlp_rho_jit(p64, X64, labels, jnp.float64(eps), activation=activation)
        return np.asarray(rho, np.float64)


def mlp_relative_errors_cache_size() -> int:
    """How many versions of :func:`mlp_relative_errors`' jitted function exist (should stay 1)."""
    return _mlp_rho_jit._cache_size()
