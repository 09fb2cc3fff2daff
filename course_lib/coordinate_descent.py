r"""Coordinate descent on a quadratic (Goodfellow et al. §8.7.2).

Minimise $L(w) = \tfrac12 w^\top A w - b^\top w$ ($A$ symmetric positive definite) one coordinate
at a time, each exactly: holding the others fixed, $\partial L/\partial w_i = 0$ gives

$$w_i \leftarrow \frac{b_i - \sum_{j \ne i} A_{ij} w_j}{A_{ii}},$$

and a **sweep** does this for $i = 1, \dots, d$ in order, always using the newest values (on a
quadratic this is the Gauss-Seidel iteration). When the coordinates do not interact ($A$
diagonal) one sweep lands on the minimum $A^{-1}b$ exactly; when they are strongly coupled each
exact coordinate step undoes part of the last one and the iterates zig-zag slowly down the
valley. **Block** coordinate descent minimises over a group of coordinates at once (a small
solve with $A_{BB}$), which helps when the coupled coordinates are put in the same block.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from course_lib import _validate
from course_lib._types import Array


def _check(A, b, w):
    A = _validate.float_array("A", A, ndim=2)
    b = _validate.float_array("b", b, ndim=1)
    w = _validate.float_array("w", w, ndim=1)
    d = b.shape[0]
    if A.shape != (d, d) or w.shape != (d,):
        raise ValueError(
            f"shapes do not match: A {tuple(A.shape)}, b {tuple(b.shape)}, w {tuple(w.shape)}; "
            "need A (d, d), b (d,), w (d,)."
        )
    if not _validate.is_traced(A) and not bool(jnp.all(jnp.diagonal(A) > 0)):
        raise ValueError(
            "`A` must have a positive diagonal (each coordinate's curvature A_ii > 0), "
            f"got diagonal {jnp.diagonal(A).tolist()}."
        )
    return A, b, w


def quadratic(A: Array, b: Array, w: Array) -> Array:
    r"""$L(w) = \tfrac12 w^\top A w - b^\top w$."""
    return 0.5 * w @ A @ w - b @ w


def _coordinate_step(A, b, w, i):
    return w.at[i].set((b[i] - A[i] @ w + A[i, i] * w[i]) / A[i, i])


def coordinate_sweep(A: Array, b: Array, w: Array) -> Array:
    r"""One sweep: exact minimisation along $w_1$, then $w_2$, ..., then $w_d$ (Gauss-Seidel).

    ``A: (d, d)`` symmetric with a positive diagonal, ``b, w: (d,)``. Returns the new ``(d,)``.
    """
    A, b, w = _check(A, b, w)
    return jax.lax.fori_loop(0, b.shape[0], lambda i, w: _coordinate_step(A, b, w, i), w)


class CoordinatePath(NamedTuple):
    """What :func:`coordinate_descent` returns."""

    points: Array  # (sweeps * d + 1, d): the start and the point after every coordinate step
    sweeps: Array  # (sweeps + 1, d): the start and the point after every sweep
    loss: Array  # (sweeps + 1,)


def coordinate_descent(A: Array, b: Array, w0: Array, *, sweeps: int) -> CoordinatePath:
    r"""``sweeps`` sweeps of :func:`coordinate_sweep` from ``w0``, every coordinate step kept
    (for drawing the zig-zag). ``sweeps`` is static; ``A``, ``b``, ``w0`` may be traced."""
    A, b, w0 = _check(A, b, w0)
    sweeps = _validate.positive_int("sweeps", sweeps)
    d = b.shape[0]

    def step(w, k):
        w = _coordinate_step(A, b, w, k % d)
        return w, w

    _, pts = jax.lax.scan(step, w0, jnp.arange(sweeps * d))
    points = jnp.concatenate([w0[None], pts])
    ends = points[::d]
    return CoordinatePath(points, ends, jax.vmap(lambda w: quadratic(A, b, w))(ends))


def block_coordinate_descent(
    A: Array, b: Array, w0: Array, *, block: int, sweeps: int
) -> CoordinatePath:
    r"""Block coordinate descent: blocks of ``block`` consecutive coordinates, each minimised
    exactly, $w_B \leftarrow A_{BB}^{-1}(b_B - A_{B,\bar B}\, w_{\bar B})$.

    ``block`` must divide $d$ (static). ``block = 1`` is :func:`coordinate_descent`;
    ``block = d`` is one Newton step. ``points`` holds the start and the point after every block.
    """
    A, b, w0 = _check(A, b, w0)
    sweeps = _validate.positive_int("sweeps", sweeps)
    block = _validate.positive_int("block", block)
    d = b.shape[0]
    if d % block:
        raise ValueError(f"`block` must divide the dimension d={d}, got {block}.")
    nb = d // block

    def step(w, k):
        start = (k % nb) * block
        rows = jax.lax.dynamic_slice_in_dim(A, start, block, axis=0)  # (block, d)
        A_bb = jax.lax.dynamic_slice_in_dim(rows, start, block, axis=1)
        w_b = jax.lax.dynamic_slice_in_dim(w, start, block)
        rhs = jax.lax.dynamic_slice_in_dim(b, start, block) - rows @ w + A_bb @ w_b
        w = jax.lax.dynamic_update_slice_in_dim(w, jnp.linalg.solve(A_bb, rhs), start, 0)
        return w, w

    _, pts = jax.lax.scan(step, w0, jnp.arange(sweeps * nb))
    points = jnp.concatenate([w0[None], pts])
    ends = points[::nb]
    return CoordinatePath(points, ends, jax.vmap(lambda w: quadratic(A, b, w))(ends))


def sweeps_to(path: CoordinatePath, w_star: Array, tol: float) -> int:
    """The first sweep after which $\\|w - w^*\\|_\\infty \\le$ ``tol``; -1 if never."""
    err = jnp.max(jnp.abs(path.sweeps - jnp.asarray(w_star)[None]), axis=1)
    below = err <= tol
    return int(jnp.argmax(below)) if bool(jnp.any(below)) else -1
