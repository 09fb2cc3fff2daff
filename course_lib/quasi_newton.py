r"""Quasi-Newton methods: BFGS and L-BFGS with a backtracking line search (Aggarwal §3.5.6.2;
Goodfellow et al. §8.6.3).

Newton's step $-H^{-1}\nabla L$ needs the Hessian and a $d \times d$ solve. A quasi-Newton method
keeps an approximation $G_t \approx H^{-1}$ instead and improves it after every step from what
the step taught it: the change of the parameters $s_t = w_{t+1} - w_t$ and of the gradient
$y_t = \nabla L(w_{t+1}) - \nabla L(w_t)$. (The book calls these $q_t$ and $v_t$; here $q$ is
kept for conjugate directions.) The step is $w_{t+1} = w_t - \alpha_t G_t \nabla L(w_t)$
(Eq 3.52-3.54) with $G_0 = I$ and $\alpha_t$ from a line search.

* **BFGS** (Eq 3.56) updates the whole $d \times d$ matrix:
  $G_{t+1} = (I - \rho_t s_t y_t^\top)\, G_t\, (I - \rho_t y_t s_t^\top) + \rho_t s_t s_t^\top$,
  $\rho_t = 1/(s_t^\top y_t)$, which satisfies the **secant condition** $G_{t+1} y_t = s_t$
  (Eq 3.55) and stays symmetric positive definite while $s_t^\top y_t > 0$.
* **L-BFGS** never forms $G$: it keeps the last $m$ pairs $(s_i, y_i)$ and applies the same
  product of updates to a vector with the *two-loop recursion* (:func:`two_loop`), $O(md)$ time
  and memory. With $m$ at least the number of steps taken it is BFGS exactly.

Everything is pure JAX: the line search is a ``lax.while_loop``, the iterations a
``lax.scan``; ``tol`` and ``memory`` are traced (a slider that moves them never recompiles),
the number of steps and the buffer size ``max_memory`` are static.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from course_lib import _validate
from course_lib._types import Array

LINE_SEARCHES = ("armijo", "exact")


class Path(NamedTuple):
    """What :func:`bfgs`, :func:`lbfgs` (and ``hessian_free.hessian_free``) return."""

    iterates: Array  # (steps + 1, d): w_0 ... w_steps
    loss: Array  # (steps + 1,)
    grad_norm: Array  # (steps + 1,) ||grad L(w_k)||
    evals: Array  # (steps + 1,) int32: gradient evaluations used to reach w_k (cumulative)


def bfgs_update(G: Array, s: Array, y: Array) -> Array:
    r"""One BFGS update of the inverse-Hessian approximation (Aggarwal Eq 3.56).

    $G_+ = (I - \rho s y^\top) G (I - \rho y s^\top) + \rho s s^\top$ with $\rho = 1/(s^\top y)$.
    Then $G_+ y = s$ (the secant condition, Eq 3.55) and $G_+$ is symmetric. When the
    curvature $s^\top y \le 0$ (never on a convex loss with a line search) the update could
    break positive definiteness, so ``G`` is returned unchanged.

    Args:
        G: ``(d, d)`` symmetric positive definite.
        s: ``(d,)`` the step $w_{t+1} - w_t$.
        y: ``(d,)`` the gradient change $\nabla L(w_{t+1}) - \nabla L(w_t)$.
    """
    G = _validate.float_array("G", G, ndim=2)
    s = _validate.float_array("s", s, ndim=1)
    y = _validate.float_array("y", y, ndim=1)
    d = s.shape[0]
    if G.shape != (d, d) or y.shape != (d,):
        raise ValueError(
            f"shapes do not match: G {tuple(G.shape)}, s {tuple(s.shape)}, y {tuple(y.shape)}; "
            "need G (d, d), s (d,), y (d,)."
        )
    return _bfgs_update(G, s, y)


def _bfgs_update(G: Array, s: Array, y: Array) -> Array:
    sy = s @ y
    ok = sy > 0
    rho = jnp.where(ok, 1.0 / jnp.where(ok, sy, 1.0), 0.0)
    Gy = G @ y
    # the product form expanded: G - rho (s Gy^T + Gy s^T) + (rho^2 y^T G y + rho) s s^T
    new = (
        G
        - rho * (jnp.outer(s, Gy) + jnp.outer(Gy, s))
        + (rho**2 * (y @ Gy) + rho) * jnp.outer(s, s)
    )
    return jnp.where(ok, new, G)


def two_loop(g: Array, S: Array, Y: Array, valid: Array | None = None) -> Array:
    r"""L-BFGS's two-loop recursion: $G g$ for the BFGS matrix built from the stored pairs.

    With $G^{(0)} = I$ and the pairs $(s_i, y_i)$, oldest first, $G$ is what :func:`bfgs_update`
    would make of $I$ after applying the pairs in order, but it is never formed:

    1. newest to oldest: $a_i = \rho_i s_i^\top q$, $q \leftarrow q - a_i y_i$ (from $q = g$);
    2. $r = q$ (the initial matrix is $I$);
    3. oldest to newest: $b_i = \rho_i y_i^\top r$, $r \leftarrow r + (a_i - b_i) s_i$.

    $O(md)$ operations for $m$ pairs. Pairs with $s_i^\top y_i \le 0$, or masked out by
    ``valid``, are skipped (as :func:`bfgs_update` skips them).

    Args:
        g: ``(d,)`` the vector (the gradient).
        S, Y: ``(m, d)`` the steps and gradient changes, row 0 the oldest.
        valid: ``(m,)`` booleans, which rows hold a pair (default: all).

    Returns:
        ``(d,)`` $G g$; the L-BFGS direction is its negative.
    """
    g = _validate.float_array("g", g, ndim=1)
    S = _validate.float_array("S", S, ndim=2)
    Y = _validate.float_array("Y", Y, ndim=2)
    if S.shape != Y.shape or S.shape[1:] != g.shape:
        raise ValueError(
            f"shapes do not match: g {tuple(g.shape)}, S {tuple(S.shape)}, Y {tuple(Y.shape)}; "
            "need g (d,), S (m, d), Y (m, d)."
        )
    if valid is None:
        valid = jnp.ones(S.shape[0], bool)
    else:
        valid = jnp.asarray(valid, bool)
        if valid.shape != S.shape[:1]:
            raise ValueError(f"`valid` must have shape {S.shape[:1]}, got {tuple(valid.shape)}.")
    return _two_loop(g, S, Y, valid)


def _two_loop(g: Array, S: Array, Y: Array, valid: Array) -> Array:
    sy = jnp.sum(S * Y, axis=1)
    use = valid & (sy > 0)
    rho = jnp.where(use, 1.0 / jnp.where(use, sy, 1.0), 0.0)

    def first(q, sy_rho):
        s, y, r = sy_rho
        a = r * (s @ q)
        return q - a * y, a

    q, a = jax.lax.scan(first, g, (S, Y, rho), reverse=True)

    def second(r, xs):
        s, y, rh, ai = xs
        b = rh * (y @ r)
        return r + (ai - b) * s, None

    r, _ = jax.lax.scan(second, q, (S, Y, rho, a))
    return r


# ------------------------------------------------------------------------------ line search


def backtracking(
    loss_and_grad: Callable[[Array], tuple[Array, Array]],
    w: Array,
    value: Array,
    g: Array,
    p: Array,
    *,
    c: float = 1e-4,
    shrink: float = 0.5,
    max_tries: int = 60,
) -> tuple[Array, Array, Array, Array]:
    r"""Armijo backtracking: the first $\alpha \in \{1, \tfrac12, \tfrac14, \dots\}$ with
    $L(w + \alpha p) \le L(w) + c\,\alpha\, \nabla L(w)^\top p$ (sufficient decrease).

    A ``lax.while_loop``; each try evaluates the loss and gradient once. ``p`` must be a
    descent direction ($g^\top p < 0$); if no $\alpha$ passes in ``max_tries`` the last one is
    taken. Returns ``(alpha, L(w + alpha p), grad L(w + alpha p), tries)``.
    """
    slope = g @ p

    def trial(alpha):
        v, gn = loss_and_grad(w + alpha * p)
        return v, gn

    def cond(state):
        alpha, v, _, tries = state
        bad = ~(v <= value + c * alpha * slope)  # NaN counts as bad
        return bad & (tries < max_tries)

    def body(state):
        alpha, _, _, tries = state
        alpha = alpha * shrink
        v, gn = trial(alpha)
        return alpha, v, gn, tries + 1

    one = jnp.ones((), w.dtype)
    v1, g1 = trial(one)
    alpha, v, gn, tries = jax.lax.while_loop(cond, body, (one, v1, g1, jnp.ones((), jnp.int32)))
    return alpha, v, gn, tries


def _search(line_search, loss_and_grad, hvp, w, value, g, p):
    """(alpha, new value, new gradient, gradient evaluations) for the chosen line search."""
    if line_search == "armijo":
        return backtracking(loss_and_grad, w, value, g, p)
    # exact on a quadratic: alpha = -g.p / p.Hp (one Hessian-vector product)
    curv = p @ hvp(w, p)
    alpha = jnp.where(curv > 0, -(g @ p) / jnp.where(curv > 0, curv, 1.0), 0.0)
    v, gn = loss_and_grad(w + alpha * p)
    return alpha, v, gn, jnp.asarray(2, jnp.int32)


def _check_common(w0, steps, tol, line_search):
    w0 = _validate.float_array("w0", w0, ndim=1)
    steps = _validate.positive_int("steps", steps)
    _validate.positive("tol", tol, allow_zero=True)
    if line_search not in LINE_SEARCHES:
        raise ValueError(f"`line_search` must be one of {LINE_SEARCHES}, got {line_search!r}.")
    return w0, steps


# ------------------------------------------------------------------------------ BFGS


def bfgs(
    loss_fn: Callable[[Array], Array],
    w0: Array,
    *,
    steps: int,
    tol: Any = 0.0,
    line_search: str = "armijo",
) -> Path:
    r"""BFGS (Aggarwal §3.5.6.2): $w_{t+1} = w_t - \alpha_t G_t \nabla L(w_t)$, $G_0 = I$, $G$
    updated by :func:`bfgs_update` after every step.

    ``line_search="armijo"`` backtracks from $\alpha = 1$ (:func:`backtracking`);
    ``"exact"`` takes $\alpha = -g^\top p / p^\top H p$ with one Hessian-vector product, which is
    the exact minimiser along $p$ only on a quadratic (there BFGS then reproduces the iterates
    of conjugate gradients and ends in at most $d$ steps). Once $\|\nabla L\| \le$ ``tol`` the
    iterate stays put and no more gradients are counted. One ``lax.scan`` of ``steps``
    iterations; call it inside ``jax.jit`` (``steps``, ``line_search`` and ``loss_fn`` static).

    Args:
        loss_fn: scalar function of a flat parameter vector ``(d,)``.
        w0: ``(d,)`` the start.
        steps: iterations (static).
        tol: gradient-norm tolerance (may be traced).

    Returns:
        :class:`Path` with ``(steps + 1, ...)`` leaves.
    """
    w0, steps = _check_common(w0, steps, tol, line_search)
    loss_and_grad = jax.value_and_grad(loss_fn)
    hvp = _hvp(loss_fn)

    def body(carry, _):
        w, G, value, g, evals = carry
        done = jnp.linalg.norm(g) <= tol
        p = -(G @ g)
        alpha, v_new, g_new, n = _search(line_search, loss_and_grad, hvp, w, value, g, p)
        w_new = w + alpha * p
        G_new = _bfgs_update(G, w_new - w, g_new - g)
        keep = lambda old, new: jnp.where(done, old, new)  # noqa: E731
        carry = (keep(w, w_new), keep(G, G_new), keep(value, v_new), keep(g, g_new),
                 evals + jnp.where(done, 0, n))  # fmt: skip
        return carry, (carry[0], carry[2], jnp.linalg.norm(carry[3]), carry[4])

    v0, g0 = loss_and_grad(w0)
    start = (w0, jnp.eye(w0.shape[0], dtype=w0.dtype), v0, g0, jnp.ones((), jnp.int32))
    _, (ws, vs, gns, ev) = jax.lax.scan(body, start, None, length=steps)
    return _path(w0, v0, g0, ws, vs, gns, ev)


def _hvp(loss_fn):
    return lambda w, v: jax.jvp(jax.grad(loss_fn), (w,), (v,))[1]


def _path(w0, v0, g0, ws, vs, gns, ev) -> Path:
    return Path(
        jnp.concatenate([w0[None], ws]),
        jnp.concatenate([v0[None], vs]),
        jnp.concatenate([jnp.linalg.norm(g0)[None], gns]),
        jnp.concatenate([jnp.ones((1,), jnp.int32), ev]),
    )


# ------------------------------------------------------------------------------ L-BFGS


def lbfgs(
    loss_fn: Callable[[Array], Array],
    w0: Array,
    *,
    steps: int,
    memory: Any = 10,
    max_memory: int = 32,
    tol: Any = 0.0,
    line_search: str = "armijo",
) -> Path:
    r"""L-BFGS (Aggarwal §3.5.6.2): BFGS whose $G_t g$ comes from the last ``memory`` pairs
    $(s_i, y_i)$ by :func:`two_loop`, with $G^{(0)} = I$ (as :func:`bfgs`'s $G_0$), so that with
    ``memory`` $\ge$ ``steps`` the iterates are BFGS's, up to rounding.

    The pairs live in a ``(max_memory, d)`` buffer (static size), newest last; ``memory``
    (traced, $1 \le m \le$ ``max_memory``) masks out the older rows, so changing it never
    recompiles. Other arguments as in :func:`bfgs`.
    """
    w0, steps = _check_common(w0, steps, tol, line_search)
    max_memory = _validate.positive_int("max_memory", max_memory)
    if not _validate.is_traced(memory):
        m = _validate.positive_int("memory", memory)
        if m > max_memory:
            raise ValueError(f"`memory` must be at most max_memory={max_memory}, got {m}.")
    loss_and_grad = jax.value_and_grad(loss_fn)
    hvp = _hvp(loss_fn)
    d = w0.shape[0]
    slots = jnp.arange(max_memory)

    def body(carry, _):
        w, S, Y, count, value, g, evals = carry
        done = jnp.linalg.norm(g) <= tol
        valid = slots >= max_memory - jnp.minimum(count, memory)
        p = -_two_loop(g, S, Y, valid)
        alpha, v_new, g_new, n = _search(line_search, loss_and_grad, hvp, w, value, g, p)
        w_new = w + alpha * p
        s, y = w_new - w, g_new - g
        store = (s @ y > 0) & ~done  # a pair with no positive curvature is not kept
        S_new = jnp.where(store, jnp.concatenate([S[1:], s[None]]), S)
        Y_new = jnp.where(store, jnp.concatenate([Y[1:], y[None]]), Y)
        keep = lambda old, new: jnp.where(done, old, new)  # noqa: E731
        carry = (keep(w, w_new), S_new, Y_new, count + store.astype(jnp.int32),
                 keep(value, v_new), keep(g, g_new), evals + jnp.where(done, 0, n))  # fmt: skip
        return carry, (carry[0], carry[4], jnp.linalg.norm(carry[5]), carry[6])

    v0, g0 = loss_and_grad(w0)
    zeros = jnp.zeros((max_memory, d), w0.dtype)
    start = (w0, zeros, zeros, jnp.zeros((), jnp.int32), v0, g0, jnp.ones((), jnp.int32))
    _, (ws, vs, gns, ev) = jax.lax.scan(body, start, None, length=steps)
    return _path(w0, v0, g0, ws, vs, gns, ev)


def iterations_to(path: Path, tol: Any) -> tuple[int, int]:
    r"""``(k, evals)``: the first iteration $k$ with $\|\nabla L(w_k)\| \le$ ``tol`` and the
    gradient evaluations used by then; ``(-1, -1)`` if never."""
    below = jnp.asarray(path.grad_norm) <= tol
    if not bool(jnp.any(below)):
        return -1, -1
    k = int(jnp.argmax(below))
    return k, int(path.evals[k])


@functools.partial(jax.jit, static_argnames=("loss_fn", "steps", "max_memory", "line_search"))
def lbfgs_jit(loss_fn, w0, memory, tol, *, steps, max_memory=32, line_search="armijo") -> Path:
    """:func:`lbfgs` compiled once per ``loss_fn``/``steps``; ``memory`` and ``tol`` traced."""
    return lbfgs(loss_fn, w0, steps=steps, memory=memory, max_memory=max_memory, tol=tol,
                 line_search=line_search)  # fmt: skip
