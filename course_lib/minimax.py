r"""Two-player zero-sum games: min–max against max–min, and gradient descent–ascent
(Aggarwal §10.4.1 and Exercises 10.5, 10.6).

A GAN is a game $\min_G\max_D J$. For any payoff $f(x, y)$ that the $x$-player minimizes and
the $y$-player maximizes,

$$\max_y \min_x f(x, y) \;\le\; \min_x \max_y f(x, y),$$

because $\min_x f(x, y) \le f(x, y) \le \max_{y'} f(x, y')$ for every $x, y$ (Ex 10.5). The two
sides are equal exactly when the game has a *saddle point* $(x^*, y^*)$:
$f(x^*, y) \le f(x^*, y^*) \le f(x, y^*)$ for all $x, y$ (e.g. a convex–concave $f$, by the
minimax theorem). On a finite *payoff matrix* ``F[i, j]`` (row $i$ chosen by the minimizer,
column $j$ by the maximizer, pure strategies) both sides are a min and a max of mins or maxes.

**Gradient descent–ascent (GDA)** trains such a game with steps of size $\eta$: descent in
$x$, ascent in $y$. *Simultaneous* GDA uses the same old point for both,

$$x' = x - \eta\,\partial_x f(x, y), \qquad y' = y + \eta\,\partial_y f(x, y);$$

*alternating* GDA (as a GAN is trained) lets $y$ react to the new $x'$:
$y' = y + \eta\,\partial_y f(x', y)$. For $f(x, y) = \sin(x + y)$ (Ex 10.6) both partial
derivatives equal $\cos(x + y)$, so simultaneous GDA keeps $u = x + y$ fixed (the two steps
cancel) and slides along a line forever, while alternating GDA changes $u$ by
$\eta\,[\cos(u - \eta\cos u) - \cos u] = \tfrac{\eta^2}{2}\sin 2u + O(\eta^3)$ per step and
settles where $\cos u = 0$: at $f = +1$ if $\sin u_0 > 0$, at $f = -1$ if $\sin u_0 < 0$.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from course_lib import _validate
from course_lib._types import Array, ArrayLike

# ------------------------------------------------------------------------------ Ex 10.5


def _payoff(payoff: ArrayLike) -> Array:
    F = _validate.float_array("payoff", payoff, ndim=2)
    _validate.nonempty("payoff", F)
    if F.shape[1] == 0:
        raise ValueError("`payoff` must have at least one column.")
    return _validate.finite("payoff", F)


def min_max(payoff: ArrayLike) -> Array:
    r"""$\min_i \max_j F_{ij}$: the minimizer (rows) commits first, the maximizer answers.

    Args:
        payoff: ``(m, n)``, row $i$ = the minimizer's choice, column $j$ = the maximizer's.
    """
    return jnp.min(jnp.max(_payoff(payoff), axis=1))


def max_min(payoff: ArrayLike) -> Array:
    r"""$\max_j \min_i F_{ij}$: the maximizer (columns) commits first. Never above
    :func:`min_max` (Ex 10.5)."""
    return jnp.max(jnp.min(_payoff(payoff), axis=0))


def saddle_points(payoff: ArrayLike) -> Array:
    r"""The entries $(i, j)$ that are the largest of their row and the smallest of their
    column: pure saddle points, where neither player gains by moving alone. Returns
    ``(p, 2)`` int indices (``p = 0`` when there is none; then max–min < min–max)."""
    F = _payoff(payoff)
    is_saddle = (F == jnp.max(F, axis=1, keepdims=True)) & (F == jnp.min(F, axis=0, keepdims=True))
    return jnp.argwhere(is_saddle)


def grid_payoff(f, xs: ArrayLike, ys: ArrayLike) -> Array:
    r"""The payoff matrix $F_{ij} = f(x_i, y_j)$ of a function on a grid, shape
    ``(len(xs), len(ys))``; ``f`` must accept broadcast arrays."""
    xs = _validate.float_array("xs", xs, ndim=1)
    ys = _validate.float_array("ys", ys, ndim=1)
    return f(xs[:, None], ys[None, :])


# ------------------------------------------------------------------------------ Ex 10.6


def sin_sum(x: ArrayLike, y: ArrayLike) -> Array:
    r"""$f(x, y) = \sin(x + y)$, the game of Ex 10.6 ($x$ minimizes, $y$ maximizes)."""
    return jnp.sin(jnp.asarray(x) + jnp.asarray(y))


def gda(
    x0: ArrayLike, y0: ArrayLike, *, eta: ArrayLike, steps: int, alternating: ArrayLike
) -> Array:
    r"""Gradient descent in $x$, ascent in $y$ on $f(x, y) = \sin(x + y)$ (Ex 10.6).

    Simultaneous: $x' = x - \eta\cos(x + y)$, $y' = y + \eta\cos(x + y)$. Alternating:
    $x' = x - \eta\cos(x + y)$, then $y' = y + \eta\cos(x' + y)$.

    ``x0``, ``y0``, ``eta`` and ``alternating`` are traced (any of them may be arrays that
    broadcast together: many starts at once); ``steps`` is static. Runs in the dtype of the
    inputs (float64 under ``jax.experimental.enable_x64``).

    Returns:
        ``(steps + 1, ..., 2)``: the iterates $(x_t, y_t)$, starting with $(x_0, y_0)$.
    """
    steps = _validate.positive_int("steps", steps)
    x0 = _validate.float_array("x0", x0)
    y0 = _validate.float_array("y0", y0)
    eta = _validate.float_array("eta", eta)
    if not _validate.is_traced(eta) and not bool(jnp.all(eta > 0)):
        raise ValueError(f"`eta` must be > 0, got {eta}.")
    alternating = jnp.asarray(alternating)
    if alternating.dtype != jnp.bool_:
        raise TypeError(f"`alternating` must be True/False, got {alternating!r}.")
    x0, y0, eta, alternating = jnp.broadcast_arrays(x0, y0, eta.astype(x0.dtype), alternating)
    return _gda(x0, y0, eta, alternating, steps)


@functools.partial(jax.jit, static_argnums=4)
def _gda(x0, y0, eta, alternating, steps):
    def step(xy, _):
        x, y = xy
        g = jnp.cos(x + y)  # = df/dx = df/dy
        x_new = x - eta * g
        g_y = jnp.where(alternating, jnp.cos(x_new + y), g)
        y_new = y + eta * g_y
        return (x_new, y_new), jnp.stack([x_new, y_new], axis=-1)

    _, path = jax.lax.scan(step, (x0, y0), None, length=steps)
    return jnp.concatenate([jnp.stack([x0, y0], axis=-1)[None], path], axis=0)


def gda_cache_size() -> int:
    """How many versions of the jitted GDA loop exist (no-recompile tests read it)."""
    return _gda._cache_size()


def alternating_drift(u: ArrayLike, eta: ArrayLike) -> Array:
    r"""The exact change of $u = x + y$ in one alternating GDA step on $\sin(x + y)$:
    $\eta\,[\cos(u - \eta\cos u) - \cos u]$ (broadcasts)."""
    u, eta = jnp.asarray(u), jnp.asarray(eta)
    return eta * (jnp.cos(u - eta * jnp.cos(u)) - jnp.cos(u))


def drift_approximation(u: ArrayLike, eta: ArrayLike) -> Array:
    r"""The leading term $\tfrac{\eta^2}{2}\sin 2u$ of :func:`alternating_drift`."""
    u, eta = jnp.asarray(u), jnp.asarray(eta)
    return 0.5 * eta**2 * jnp.sin(2.0 * u)
