r"""Hessian-free optimization: Newton steps solved by truncated conjugate gradients, touching the
Hessian only through Hessian-vector products (Aggarwal §3.5.6.1, Eq 3.51; Martens 2010).

The Newton step solves $H p = -\nabla L(w)$. Conjugate gradients solve that system using only
products $H v$, and a product costs about two gradients, not $d^2$ numbers:

* exactly, by forward-over-reverse differentiation, $Hv = \frac{d}{d\epsilon}\nabla L(w +
  \epsilon v)\big|_{\epsilon=0}$, i.e. ``jax.jvp(jax.grad(L), (w,), (v,))`` (that is
  :func:`course_lib.optim.hessian_vector_product`, reused here);
* approximately, by the finite difference of Eq 3.51,
  $Hv \approx (\nabla L(w + \delta v) - \nabla L(w))/\delta$ (:func:`finite_difference_hvp`);
* for a least-squares loss $\tfrac12\|r(w)\|^2$, the **Gauss-Newton** product $J^\top (J v)$
  ($J$ the Jacobian of the residuals), which is always positive semi-definite
  (:func:`gauss_newton_vector_product`).

CG is *truncated*: a few iterations give a good enough step, and it stops at once where it meets
negative curvature ($q^\top H q \le 0$), since there the quadratic model has no minimum.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from course_lib import _validate, quasi_newton
from course_lib._types import Array
from course_lib.optim import hessian_vector_product

__all__ = [
    "CGSolve",
    "finite_difference_hvp",
    "gauss_newton_vector_product",
    "hessian_free",
    "hessian_vector_product",
    "newton",
    "truncated_cg",
]


def finite_difference_hvp(
    loss_fn: Callable[[Array], Array], w: Array, v: Array, delta: Any = 1e-6
) -> Array:
    r"""Aggarwal's Eq 3.51: $Hv \approx (\nabla L(w + \delta v) - \nabla L(w)) / \delta$.

    A forward difference, so its error is $O(\delta)$ (plus a rounding error of order
    $\epsilon_{\text{mach}}/\delta$): use float64. ``w, v: (d,)``; returns ``(d,)``.
    """
    w = _validate.float_array("w", w, ndim=1)
    v = _validate.float_array("v", v, ndim=1)
    if v.shape != w.shape:
        raise ValueError(f"`v` must have the shape of `w` {tuple(w.shape)}, got {tuple(v.shape)}.")
    _validate.positive("delta", delta)
    grad = jax.grad(loss_fn)
    return (grad(w + delta * v) - grad(w)) / delta


def gauss_newton_vector_product(residual_fn: Callable[[Array], Array], w: Array, v: Array) -> Array:
    r"""$J^\top J v$ for $L(w) = \tfrac12\|r(w)\|^2$, $J = \partial r/\partial w$ (Martens 2010).

    One forward-mode product $Jv$ (``jax.jvp``) and one reverse-mode product $J^\top u$
    (``jax.vjp``). The Gauss-Newton matrix drops the term $\sum_i r_i \nabla^2 r_i$ of the
    Hessian, so it is positive semi-definite and CG never meets negative curvature on it; at a
    zero-residual minimum it equals the Hessian. ``w, v: (d,)``, ``residual_fn(w): (n,)``.
    """
    w = _validate.float_array("w", w, ndim=1)
    v = _validate.float_array("v", v, ndim=1)
    if v.shape != w.shape:
        raise ValueError(f"`v` must have the shape of `w` {tuple(w.shape)}, got {tuple(v.shape)}.")
    r, Jv = jax.jvp(residual_fn, (w,), (v,))
    _, pullback = jax.vjp(residual_fn, w)
    return pullback(Jv)[0]


class CGSolve(NamedTuple):
    """What :func:`truncated_cg` returns."""

    x: Array  # (d,) the approximate solution of A x = b
    iterations: Array  # int32: CG iterations taken (= matrix-vector products)
    residual: Array  # ||b - A x||
    negative_curvature: Array  # bool: stopped on q^T A q <= 0


def truncated_cg(
    matvec: Callable[[Array], Array],
    b: Array,
    *,
    iters: int,
    tol: Any = 1e-10,
    limit: Any = None,
) -> CGSolve:
    r"""Linear conjugate gradients for $A x = b$ from $x = 0$, stopped early (§3.5.6.1).

    Residual $r = b - Ax$, direction $q$: $\alpha = r^\top r / q^\top A q$, $x \leftarrow x +
    \alpha q$, $r \leftarrow r - \alpha A q$, $q \leftarrow r + (r_+^\top r_+ / r^\top r)\, q$:
    one product $Aq$ per iteration. Stops after ``iters`` iterations (static), when
    $\|r\| \le$ ``tol`` $\|b\|$, or on negative curvature $q^\top A q \le 0$ (then it returns
    the $x$ reached so far, or $b$ itself if that happens at once: the steepest-descent
    direction when $b = -\nabla L$). On a symmetric positive definite $d \times d$ system it
    is exact after $d$ iterations (up to rounding). ``limit`` (may be traced, at most
    ``iters``) stops it after fewer iterations without recompiling.
    """
    b = _validate.float_array("b", b, ndim=1)
    iters = _validate.positive_int("iters", iters)
    _validate.positive("tol", tol, allow_zero=True)
    if limit is None:
        limit = iters
    elif not _validate.is_traced(limit):
        limit = _validate.positive_int("limit", limit)
    target = tol * jnp.linalg.norm(b)

    def body(carry, _):
        x, r, q, rr, k, stop, neg = carry
        Aq = matvec(q)
        curv = q @ Aq
        neg_now = ~stop & (curv <= 0)
        step = ~stop & ~neg_now
        alpha = jnp.where(step, rr / jnp.where(step, curv, 1.0), 0.0)
        x = x + alpha * q
        r = r - alpha * Aq
        rr_new = r @ r
        q = jnp.where(step, r + (rr_new / jnp.where(rr > 0, rr, 1.0)) * q, q)
        k = k + step.astype(jnp.int32)
        stop = stop | neg_now | (jnp.sqrt(rr_new) <= target) | (k >= limit)
        return (x, r, q, jnp.where(step, rr_new, rr), k, stop, neg | neg_now), None

    zero = jnp.zeros_like(b)
    start = (zero, b, b, b @ b, jnp.zeros((), jnp.int32), jnp.linalg.norm(b) <= target,
             jnp.zeros((), bool))  # fmt: skip
    (x, r, _, _, k, _, neg), _ = jax.lax.scan(body, start, None, length=iters)
    x = jnp.where(neg & (k == 0), b, x)
    return CGSolve(x, k, jnp.linalg.norm(r), neg)


def hessian_free(
    loss_fn: Callable[[Array], Array],
    w0: Array,
    *,
    steps: int,
    cg_iters: int,
    damping: Any = 0.0,
    tol: Any = 0.0,
    matvec: Callable[[Array, Array], Array] | None = None,
    cg_limit: Any = None,
    cg_tol: Any = 1e-10,
) -> quasi_newton.Path:
    r"""Hessian-free Newton: at each $w_t$ solve $(H + \lambda I)\,p = -\nabla L(w_t)$ with
    :func:`truncated_cg` (``cg_iters`` products), then take $w_{t+1} = w_t + \alpha p$ with an
    Armijo backtracking line search (:func:`course_lib.quasi_newton.backtracking`).

    ``matvec(w, v)`` is the curvature product (default: the exact Hessian-vector product,
    forward-over-reverse; pass a Gauss-Newton product for least squares). ``damping``
    $\lambda \ge 0$ (Levenberg-Marquardt) keeps the system positive definite. The returned
    :class:`~course_lib.quasi_newton.Path` counts each Hessian-vector product as one
    gradient evaluation (it costs about one to two), plus the line search's gradients.
    ``cg_limit`` (may be traced, at most ``cg_iters``) truncates CG earlier without a
    recompile: ``cg_iters`` is the static size of the loop. ``cg_tol`` is CG's relative
    residual tolerance (0: always run the full ``cg_limit`` iterations, so that the count of
    products does not depend on rounding).
    """
    w0 = _validate.float_array("w0", w0, ndim=1)
    steps = _validate.positive_int("steps", steps)
    cg_iters = _validate.positive_int("cg_iters", cg_iters)
    _validate.positive("damping", damping, allow_zero=True)
    _validate.positive("tol", tol, allow_zero=True)
    _validate.positive("cg_tol", cg_tol, allow_zero=True)
    if matvec is None:
        matvec = lambda w, v: jax.jvp(jax.grad(loss_fn), (w,), (v,))[1]  # noqa: E731
    loss_and_grad = jax.value_and_grad(loss_fn)

    def body(carry, _):
        w, value, g, evals = carry
        done = jnp.linalg.norm(g) <= tol
        sol = truncated_cg(lambda v: matvec(w, v) + damping * v, -g, iters=cg_iters,
                           tol=cg_tol, limit=cg_limit)  # fmt: skip
        p = jnp.where(g @ sol.x < 0, sol.x, -g)  # keep a descent direction
        alpha, v_new, g_new, n = quasi_newton.backtracking(loss_and_grad, w, value, g, p)
        keep = lambda old, new: jnp.where(done, old, new)  # noqa: E731
        used = jnp.maximum(sol.iterations, 1) + n
        carry = (keep(w, w + alpha * p), keep(value, v_new), keep(g, g_new),
                 evals + jnp.where(done, 0, used))  # fmt: skip
        return carry, (carry[0], carry[1], jnp.linalg.norm(carry[2]), carry[3])

    v0, g0 = loss_and_grad(w0)
    _, (ws, vs, gns, ev) = jax.lax.scan(
        body, (w0, v0, g0, jnp.ones((), jnp.int32)), None, length=steps
    )
    return quasi_newton._path(w0, v0, g0, ws, vs, gns, ev)


def newton(
    loss_fn: Callable[[Array], Array], w0: Array, *, steps: int, tol: Any = 0.0
) -> quasi_newton.Path:
    r"""Plain Newton iterations $w_{t+1} = w_t - H(w_t)^{-1}\nabla L(w_t)$ (Aggarwal Eq 3.48),
    the dense method that Hessian-free optimization approximates: the full $d \times d$ Hessian
    and a solve every step, no line search (each step as
    :func:`course_lib.optim.newton_step`, but in one ``lax.scan`` that can be jitted).

    The :class:`~course_lib.quasi_newton.Path` counts each step as $1 + d$ gradient
    evaluations (one gradient, and a Hessian costs about $d$ Hessian-vector products). Once
    $\|\nabla L\| \le$ ``tol`` the iterate stays put.
    """
    w0 = _validate.float_array("w0", w0, ndim=1)
    steps = _validate.positive_int("steps", steps)
    _validate.positive("tol", tol, allow_zero=True)
    loss_and_grad = jax.value_and_grad(loss_fn)
    hessian = jax.hessian(loss_fn)
    d = w0.shape[0]

    def body(carry, _):
        w, g, evals = carry
        done = jnp.linalg.norm(g) <= tol
        w_new = jnp.where(done, w, w - jnp.linalg.solve(hessian(w), g))
        v, g_new = loss_and_grad(w_new)
        carry = (w_new, g_new, evals + jnp.where(done, 0, 1 + d))
        return carry, (w_new, v, jnp.linalg.norm(g_new), carry[2])

    v0, g0 = loss_and_grad(w0)
    _, (ws, vs, gns, ev) = jax.lax.scan(body, (w0, g0, jnp.ones((), jnp.int32)), None, length=steps)
    return quasi_newton._path(w0, v0, g0, ws, vs, gns, ev)
