r"""Hopfield networks: energy, threshold updates, Hebbian storage, recall (Aggarwal §6.2).

A Hopfield network has $d$ binary units $s_i \in \{0, 1\}$, symmetric weights $w_{ij} = w_{ji}$
with $w_{ii} = 0$, and biases $b_i$. Its **energy** (Eq 6.1) is

$$E(s) = -\sum_i b_i s_i - \sum_{i<j} w_{ij} s_i s_j = -b^\top s - \tfrac12 s^\top W s .$$

Because $E$ is linear in each $s_i$ (no self-loops), flipping unit $i$ from 0 to 1 lowers the
energy by the **energy gap** (Eq 6.2)

$$\Delta E_i = E(s_i{=}0) - E(s_i{=}1) = b_i + \sum_{j \ne i} w_{ij} s_j
            = -\frac{\partial E}{\partial s_i},$$

and the **threshold rule** (Eq 6.3) sets $s_i = 1$ if $\Delta E_i \ge 0$, else 0. Updating one
unit at a time (*asynchronously*) therefore never raises the energy, and since there are
finitely many states, repeated sweeps stop at a local minimum. Updating every unit at once
(*synchronously*) has no such guarantee: it can cycle between two states.

**Storage** (§6.2.2): the Hebbian rule (Eq 6.4) for $n$ training vectors $x_k \in \{0,1\}^d$,

$$w_{ij} = \frac4n \sum_k (x_{ki} - \tfrac12)(x_{kj} - \tfrac12), \qquad
  b_i = \frac2n \sum_k (x_{ki} - \tfrac12),$$

(the biases are the book's incremental bias rule, averaged like the weights; Eq 6.5 drops the
$1/n$). In the $\pm1$ convention $\sigma = 2x - 1$ the same increments read
$w_{ij} \mathrel{+}= \sigma_{ki}\sigma_{kj}$ and $b_i \mathrel{+}= \sigma_{ki}$.

**Two conventions, one network.** A $\pm1$ network with weights $J$ (zero diagonal) and biases
$c$, energy $E_\pm(\sigma) = -c^\top\sigma - \frac12\sigma^\top J\sigma$ and rule
$\sigma_i = \operatorname{sign}(c_i + \sum_j J_{ij}\sigma_j)$ (ties to $+1$), is *the same
network* as the 0/1 network with $W = 2J$, $b = c - J\mathbf 1$ (:func:`from_pm1`): the gaps
are equal, and $E_\pm(2s - 1) = 2E(s) + \text{const}$. The capacity experiment uses the
classical $\pm1$ form with zero biases, $J = \frac1N\sum_k \xi_k\xi_k^\top$ (diagonal zeroed).

States are float arrays ``(..., d)`` of 0.0/1.0 (or of -1.0/+1.0 where a name says ``pm1``).
Loops over units and sweeps are ``lax.scan``; the jitted entry points take the corruption
level, the pattern index and the number of patterns in use as traced values.
"""

from __future__ import annotations

import functools
import itertools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from course_lib import _validate
from course_lib._types import Array, ArrayLike, PRNGKey


class Hopfield(NamedTuple):
    """The parameters of a Hopfield network with ``d`` units (0/1 convention)."""

    W: Array  # (d, d) symmetric, zero diagonal
    b: Array  # (d,)


# ------------------------------------------------------------------------------ validation


def _params(params: Hopfield) -> Hopfield:
    if not isinstance(params, Hopfield):
        raise TypeError(f"`params` must be a hopfield.Hopfield(W, b), got {type(params).__name__}.")
    W = _validate.float_array("params.W", params.W, ndim=2)
    b = _validate.float_array("params.b", params.b, ndim=1)
    d = b.shape[0]
    if W.shape != (d, d):
        raise ValueError(
            f"`params.W` must have shape (d, d) = ({d}, {d}) to match `params.b`, "
            f"got {tuple(W.shape)}."
        )
    if not _validate.is_traced(W):
        w = np.asarray(W, np.float64)
        _validate.finite("params.W", W)
        if not np.allclose(w, w.T, rtol=0, atol=1e-6 * max(1.0, float(np.abs(w).max()))):
            raise ValueError(
                "`params.W` must be symmetric (w_ij = w_ji), got an asymmetric matrix."
            )
        if np.any(np.diag(w) != 0):
            raise ValueError("`params.W` must have a zero diagonal (no self-loops, w_ii = 0).")
    return Hopfield(W, b)


def _states(name: str, s: ArrayLike, d: int, *, pm1: bool = False) -> Array:
    arr = _validate.float_array(name, s)
    if arr.ndim == 0 or arr.shape[-1] != d:
        raise ValueError(
            f"`{name}` must have shape (..., d) with d = {d} units, got {tuple(arr.shape)}."
        )
    if not _validate.is_traced(arr):
        values = np.asarray(arr)
        allowed = (-1.0, 1.0) if pm1 else (0.0, 1.0)
        if not np.all((values == allowed[0]) | (values == allowed[1])):
            found = np.unique(values)[:6].tolist()
            hint = (
                " (0/1 states? map them with 2 * s - 1)"
                if pm1
                else (" (+-1 states? map them with (s + 1) / 2)")
            )
            raise ValueError(
                f"`{name}` must hold only the states {allowed[0]:g} and {allowed[1]:g}, "
                f"found values {found}{hint}."
            )
    return arr


def _n_sweeps(sweeps: int) -> int:
    return _validate.positive_int("sweeps", sweeps)


# ------------------------------------------------------------------------------ energy


def energy(params: Hopfield, s: ArrayLike) -> Array:
    r"""The energy $E(s) = -b^\top s - \frac12 s^\top W s$ (Eq 6.1; $\frac12 s^\top W s$ is
    $\sum_{i<j} w_{ij}s_is_j$ for a symmetric zero-diagonal $W$).

    Args:
        params: :class:`Hopfield` with ``W: (d, d)``, ``b: (d,)``.
        s: ``(..., d)`` states in {0, 1} (any real values are accepted when traced).

    Returns:
        ``(...)`` energies.
    """
    p = _params(params)
    return _energy(p, _states("s", s, p.b.shape[0]))


@jax.jit
def _energy(p: Hopfield, s: Array) -> Array:
    return -(s @ p.b) - 0.5 * jnp.einsum("...i,ij,...j->...", s, p.W, s)


def energy_gap(params: Hopfield, s: ArrayLike) -> Array:
    r"""The energy gaps $\Delta E_i = E(s_i{=}0) - E(s_i{=}1) = b_i + \sum_{j\ne i} w_{ij}s_j$
    (Eq 6.2), for all units at once; equal to $-\partial E / \partial s_i$.

    Args:
        s: ``(..., d)`` states in {0, 1}.

    Returns:
        ``(..., d)``.
    """
    p = _params(params)
    return _gap(p, _states("s", s, p.b.shape[0]))


@jax.jit
def _gap(p: Hopfield, s: Array) -> Array:
    g = s @ p.W  # W symmetric with zero diagonal: the j = i term is absent
    return g + p.b.reshape((1,) * (g.ndim - 1) + (-1,))


# ------------------------------------------------------------------------------ updates


def _update_unit(p: Hopfield, s: Array, i: Array) -> Array:
    """Eq 6.3 for unit ``i`` of ``s: (..., d)`` (``i`` traced)."""
    gap_i = s @ p.W[:, i] + p.b[i]
    return s.at[..., i].set((gap_i >= 0).astype(s.dtype))


def _sweep(p: Hopfield, s: Array, order: Array, free: Array | None = None):
    """One asynchronous pass over ``order``; returns the state and the energy after each step."""

    def step(s, i):
        new = _update_unit(p, s, i)
        if free is not None:  # clamped units keep their value
            new = jnp.where(free[..., i][..., None], new, s)
        return new, _energy(p, new)

    return lax.scan(step, s, order)


@jax.jit
def _async_sweep(p, s, order):
    return _sweep(p, s, order)


def async_sweep(params: Hopfield, s: ArrayLike, order: ArrayLike | None = None):
    r"""One asynchronous sweep: apply Eq 6.3 to the units one at a time, in ``order``.

    Each update uses the states *already updated* earlier in the sweep, so the energy never
    rises from one single-unit step to the next.

    Args:
        s: ``(..., d)`` states in {0, 1}.
        order: ``(m,)`` unit indices (default ``0, 1, ..., d-1``); a unit may appear twice.

    Returns:
        ``(s_new, energies)``: ``(..., d)`` and ``(m, ...)``, the energy after each update.
    """
    p = _params(params)
    d = p.b.shape[0]
    s = _states("s", s, d)
    order = jnp.arange(d) if order is None else _validate.index_array("order", order, size=d,
                                                                      ndim=1)  # fmt: skip
    return _async_sweep(p, s, order)


class Recall(NamedTuple):
    """The result of :func:`recall` / :func:`complete`."""

    state: Array  # (..., d) the final state
    energies: Array  # (sweeps * d + 1, ...) the energy before any update, then after each one
    stable: Array  # (...) bool: the last sweep changed nothing (a local minimum was reached)


@functools.partial(jax.jit, static_argnames=("sweeps",))
def _recall(p, s, free, orders, *, sweeps):
    e0 = _energy(p, s)

    def one_sweep(s, order):
        new, energies = _sweep(p, s, order, free)
        return new, (energies, jnp.all(new == s, axis=-1))

    s, (energies, unchanged) = lax.scan(one_sweep, s, orders)
    energies = energies.reshape((-1, *energies.shape[2:]))
    return Recall(s, jnp.concatenate([e0[None], energies]), unchanged[-1])


def _orders(d: int, sweeps: int, key: PRNGKey | None) -> Array:
    if key is None:
        return jnp.tile(jnp.arange(d), (sweeps, 1))
    _validate.prng_key("key", key)
    return _random_orders(key, d, sweeps)


@functools.partial(jax.jit, static_argnums=(1, 2))
def _random_orders(key: PRNGKey, d: int, sweeps: int) -> Array:
    """``(sweeps, d)``: a new random order of the units for every sweep."""
    return jax.vmap(lambda k: jax.random.permutation(k, d))(jax.random.split(key, sweeps))


def recall(
    params: Hopfield, s0: ArrayLike, *, sweeps: int = 5, key: PRNGKey | None = None
) -> Recall:
    r"""Run ``sweeps`` asynchronous sweeps of Eq 6.3 from ``s0`` (associative recall, §6.2.1).

    The units are visited in the order ``0..d-1`` in every sweep, or, given ``key``, in a new
    random order per sweep. ``stable`` says whether the last sweep left the state unchanged,
    i.e. whether a local minimum of the energy was reached.

    Args:
        s0: ``(..., d)`` starting states in {0, 1} (a batch is recalled in parallel).

    Returns:
        :class:`Recall` with ``state: (..., d)``, ``energies: (sweeps * d + 1, ...)``,
        ``stable: (...)``.
    """
    p = _params(params)
    d = p.b.shape[0]
    s0 = _states("s0", s0, d)
    sweeps = _n_sweeps(sweeps)
    return _recall(p, s0, None, _orders(d, sweeps, key), sweeps=sweeps)


def complete(
    params: Hopfield,
    s0: ArrayLike,
    observed: ArrayLike,
    *,
    sweeps: int = 5,
    key: PRNGKey | None = None,
) -> Recall:
    r"""Attribute completion (§6.2.1): keep the ``observed`` units clamped at their values in
    ``s0`` and update only the others with Eq 6.3 until they settle.

    Args:
        s0: ``(..., d)`` states in {0, 1}: the observed values, and any start for the rest.
        observed: ``(..., d)`` booleans (or 0/1), True where a unit is clamped.

    Returns:
        :class:`Recall`; ``state`` equals ``s0`` wherever ``observed`` is True.
    """
    p = _params(params)
    d = p.b.shape[0]
    s0 = _states("s0", s0, d)
    obs = jnp.asarray(observed)
    if obs.shape[-1:] != (d,) or obs.ndim > s0.ndim:
        raise ValueError(
            f"`observed` must have shape (..., d) with d = {d}, matching `s0`, "
            f"got {tuple(obs.shape)}."
        )
    if obs.dtype != jnp.bool_:
        obs = _states("observed", obs, d) > 0.5
    free = jnp.broadcast_to(~obs, s0.shape)
    sweeps = _n_sweeps(sweeps)
    return _recall(p, s0, free, _orders(d, sweeps, key), sweeps=sweeps)


@functools.partial(jax.jit, static_argnames=("steps",))
def _sync(p, s, *, steps):
    def step(s, _):
        new = (_gap(p, s) >= 0).astype(s.dtype)
        return new, new

    _, path = lax.scan(step, s, None, length=steps)
    return jnp.concatenate([s[None], path])


def sync_run(params: Hopfield, s0: ArrayLike, *, steps: int = 6) -> Array:
    r"""Synchronous updates: every unit applies Eq 6.3 at once, ``steps`` times.

    Unlike the asynchronous sweep this can oscillate (a 2-cycle) instead of settling.

    Returns:
        ``(steps + 1, ..., d)``: ``s0`` then the state after each step.
    """
    p = _params(params)
    s0 = _states("s0", s0, p.b.shape[0])
    return _sync(p, s0, steps=_validate.positive_int("steps", steps))


# ------------------------------------------------------------------------------ storage


def _patterns01(name: str, x: ArrayLike) -> Array:
    arr = _validate.float_array(name, x, ndim=2)
    _validate.nonempty(name, arr, what="pattern")
    return _states(name, arr, arr.shape[1])


def hebbian(patterns: ArrayLike, *, normalize: bool = True) -> Hopfield:
    r"""Hebbian storage of 0/1 ``patterns`` (Eq 6.4 with the averaged bias rule; Eq 6.5 when
    ``normalize`` is False):

    $$w_{ij} = \frac4n\sum_k (x_{ki}-\tfrac12)(x_{kj}-\tfrac12)\ (i \ne j), \quad w_{ii} = 0,
      \qquad b_i = \frac2n\sum_k (x_{ki}-\tfrac12).$$

    Args:
        patterns: ``(n, d)`` training vectors in {0, 1}.

    Returns:
        :class:`Hopfield` with ``W: (d, d)``, ``b: (d,)``.
    """
    x = _patterns01("patterns", patterns)
    if not isinstance(normalize, bool):
        raise TypeError(f"`normalize` must be True or False, got {normalize!r}.")
    return _hebbian(x, x.shape[0] if normalize else 1)


@jax.jit
def _hebbian(x: Array, n: Array) -> Hopfield:
    c = x - 0.5
    W = 4.0 * (c.T @ c) / n
    W = W * (1.0 - jnp.eye(x.shape[1], dtype=W.dtype))
    return Hopfield(W, 2.0 * c.sum(axis=0) / n)


def hebbian_incremental(patterns: ArrayLike) -> Hopfield:
    r"""The book's point-by-point rule in the 0/1 convention, one pattern per ``lax.scan``
    step from zero weights: $w_{ij} \mathrel{+}= 4(x_{ki}-\frac12)(x_{kj}-\frac12)$,
    $b_i \mathrel{+}= 2(x_{ki}-\frac12)$ (the unnormalized Eq 6.5).

    Args:
        patterns: ``(n, d)`` in {0, 1}.
    """
    x = _patterns01("patterns", patterns)
    d = x.shape[1]
    off = 1.0 - jnp.eye(d, dtype=x.dtype)

    def step(p, xk):
        c = xk - 0.5
        return Hopfield(p.W + 4.0 * jnp.outer(c, c) * off, p.b + 2.0 * c), None

    zero = Hopfield(jnp.zeros((d, d), x.dtype), jnp.zeros(d, x.dtype))
    return lax.scan(step, zero, x)[0]


def hebbian_pm1(patterns: ArrayLike) -> tuple[Array, Array]:
    r"""The $\pm1$ form of the same increments: $J = \sum_k \sigma_k\sigma_k^\top$ with the
    diagonal zeroed and $c = \sum_k \sigma_k$, for ``patterns: (n, d)`` in {-1, +1}.

    Returns:
        ``(J, c)``: ``(d, d)`` and ``(d,)``.
    """
    sig = _validate.float_array("patterns", patterns, ndim=2)
    _validate.nonempty("patterns", sig, what="pattern")
    return _hebbian_pm1(_states("patterns", sig, sig.shape[1], pm1=True))


@jax.jit
def _hebbian_pm1(sig: Array) -> tuple[Array, Array]:
    J = (sig.T @ sig) * (1.0 - jnp.eye(sig.shape[1], dtype=sig.dtype))
    return J, sig.sum(axis=0)


def from_pm1(J: ArrayLike, c: ArrayLike | None = None) -> Hopfield:
    r"""The 0/1 network equivalent to the $\pm1$ network ``(J, c)``: $W = 2J$, $b = c - J\mathbf 1$
    (same energy gaps, so the same updates; $E_\pm(2s-1) = 2E(s) + \text{const}$).

    Args:
        J: ``(d, d)`` symmetric, zero diagonal. c: ``(d,)`` biases (default zero).
    """
    J = _validate.float_array("J", J, ndim=2)
    c = jnp.zeros(J.shape[0], J.dtype) if c is None else _validate.float_array("c", c, ndim=1)
    return _params(Hopfield(2.0 * J, c - J.sum(axis=1)))


def to_pm1(s: ArrayLike) -> Array:
    """``2 s - 1``: 0/1 states as -1/+1."""
    return 2.0 * jnp.asarray(s) - 1.0


def to_binary(sigma: ArrayLike) -> Array:
    """``(sigma + 1) / 2``: -1/+1 states as 0/1."""
    return (jnp.asarray(sigma) + 1.0) / 2.0


# ------------------------------------------------------------------------------ enumeration


def all_states(d: int) -> Array:
    """All $2^d$ states of ``d`` units as rows ``(2**d, d)``, unit 0 first (``d <= 16``)."""
    d = _validate.positive_int("d", d)
    if d > 16:
        raise ValueError(f"`d` must be at most 16 to enumerate 2^d states, got {d}.")
    return jnp.asarray(list(itertools.product([0.0, 1.0], repeat=d)), jnp.result_type(float))


def local_minima(params: Hopfield) -> Array:
    r"""Every state from which no single flip *lowers* the energy, found by enumeration.

    Flipping unit $i$ changes the energy by $+\Delta E_i$ if $s_i = 1$ (it is turned off) and by
    $-\Delta E_i$ if $s_i = 0$, so $s$ is a local minimum when $\Delta E_i \ge 0$ for every
    unit that is on and $\Delta E_i \le 0$ for every unit that is off. (A unit that is off with
    $\Delta E_i = 0$ is a tie: Eq 6.3 would still switch it on, at no change of energy.)

    Returns:
        ``(m, d)`` the minima, in the order of :func:`all_states` (``d <= 16``).
    """
    p = _params(params)
    S = all_states(p.b.shape[0])
    return S[np.flatnonzero(np.asarray(_is_minimum(p, S)))]


@jax.jit
def _is_minimum(p: Hopfield, S: Array) -> Array:
    gap = _gap(p, S)
    return jnp.all(jnp.where(S > 0.5, gap >= 0, gap <= 0), axis=-1)


def bits(s: ArrayLike) -> str:
    """A 0/1 state as a string such as ``'101000'`` (for printing)."""
    return "".join(str(int(round(float(v)))) for v in np.asarray(s).ravel())


def from_bits(text: str) -> Array:
    """``'101000'`` -> the state ``[1, 0, 1, 0, 0, 0]`` (float)."""
    if not isinstance(text, str) or not text or set(text) - {"0", "1"}:
        raise ValueError(f"`text` must be a non-empty string of 0s and 1s, got {text!r}.")
    return jnp.asarray([float(ch) for ch in text], jnp.result_type(float))


#: The reconstructed training set of the book's six-unit example (Fig 6.1; its vectors are only
#: in the figure): two of the first three bits on, or two of the last three.
SIX_UNIT_PATTERNS = ("101000", "110000", "000101", "000011")


# ------------------------------------------------------------------------------ glyphs

_GLYPHS = {
    "A": ("...####...", "..##..##..", ".##....##.", ".##....##.", ".########.",
          ".########.", ".##....##.", ".##....##.", ".##....##.", ".##....##."),
    "H": ("##......##", "##......##", "##......##", "##......##", "##########",
          "##########", "##......##", "##......##", "##......##", "##......##"),
    "L": (".##.......", ".##.......", ".##.......", ".##.......", ".##.......",
          ".##.......", ".##.......", ".##.......", ".########.", ".########."),
    "T": ("##########", "##########", "....##....", "....##....", "....##....",
          "....##....", "....##....", "....##....", "....##....", "....##...."),
    "X": ("##......##", ".##....##.", "..##..##..", "...####...", "....##....",
          "...####...", "..##..##..", ".##....##.", "##......##", "#........#"),
}  # fmt: skip
GLYPH_NAMES = tuple(_GLYPHS)


def glyphs() -> Array:
    """Five hand-drawn 10 x 10 letters (A, H, L, T, X) as 0/1 rows ``(5, 100)``;
    ``glyphs()[k].reshape(10, 10)`` is letter ``GLYPH_NAMES[k]``."""
    rows = [[1.0 if ch == "#" else 0.0 for line in _GLYPHS[k] for ch in line] for k in _GLYPHS]
    return jnp.asarray(rows, jnp.result_type(float))


def random_states(n: int, d: int, *, key: PRNGKey) -> Array:
    """``n`` uniformly random 0/1 states of ``d`` units, ``(n, d)`` float."""
    n, d = _validate.positive_int("n", n), _validate.positive_int("d", d)
    _validate.prng_key("key", key)
    return _random_states(key, n, d)


@functools.partial(jax.jit, static_argnums=(1, 2))
def _random_states(key: PRNGKey, n: int, d: int) -> Array:
    return (_random_signs(key, (n, d), jnp.result_type(float)) + 1.0) / 2.0


def corrupt(s: ArrayLike, *, key: PRNGKey, level: ArrayLike) -> Array:
    r"""Flip each bit of the 0/1 state ``s: (..., d)`` independently with probability ``level``."""
    _validate.prng_key("key", key)
    s = _validate.float_array("s", s)
    _validate.in_range("level", level, 0.0, 1.0)
    return _corrupt(s, key, level)


@jax.jit
def _corrupt(s, key, level):
    flip = jax.random.uniform(key, s.shape, s.dtype) < level
    return jnp.where(flip, 1.0 - s, s)


class GlyphRecall(NamedTuple):
    """One recall of a stored glyph from a corrupted copy (:func:`glyph_recall`)."""

    target: Array  # (d,)
    corrupted: Array  # (d,)
    recalled: Array  # (d,)
    energies: Array  # (sweeps * d + 1,)
    overlap_before: Array  # () fraction of bits equal to the target before recall
    overlap_after: Array  # () ... after recall


@functools.partial(jax.jit, static_argnames=("sweeps",))
def _glyph_recall(p, patterns, index, level, key, *, sweeps):
    target = patterns[index]
    noisy = _corrupt(target, key, level)
    d = target.shape[0]
    res = _recall(p, noisy, None, jnp.tile(jnp.arange(d), (sweeps, 1)), sweeps=sweeps)
    return GlyphRecall(
        target,
        noisy,
        res.state,
        res.energies,
        jnp.mean(noisy == target),
        jnp.mean(res.state == target),
    )


def glyph_recall(
    params: Hopfield,
    patterns: ArrayLike,
    *,
    index: int,
    level: float,
    key: PRNGKey,
    sweeps: int = 3,
) -> GlyphRecall:
    r"""Corrupt stored pattern ``index`` (each bit flipped with probability ``level``), then
    recall it with ``sweeps`` asynchronous sweeps. ``index``, ``level`` and ``key`` are traced:
    a widget moving them never recompiles.

    Args:
        patterns: ``(n, d)`` in {0, 1}.
    """
    p = _params(params)
    x = _patterns01("patterns", patterns)
    if x.shape[1] != p.b.shape[0]:
        raise ValueError(f"`patterns` must have d = {p.b.shape[0]} columns, got {tuple(x.shape)}.")
    idx = _validate.index_array("index", index, size=x.shape[0], ndim=0)
    _validate.in_range("level", level, 0.0, 1.0)
    _validate.prng_key("key", key)
    lvl = jnp.asarray(level, x.dtype)
    return _glyph_recall(p, x, idx, lvl, key, sweeps=_n_sweeps(sweeps))


def glyph_recall_cache_size() -> int:
    """How many versions of the jitted glyph recall exist (for no-recompile tests)."""
    return _glyph_recall._cache_size()


# ------------------------------------------------------------------------------ capacity


class Capacity(NamedTuple):
    """Result of :func:`capacity_curve`: one row per network size ``N``."""

    sizes: np.ndarray  # (m,) the network sizes N
    load: np.ndarray  # (k,) the loads n / N asked for
    n_patterns: np.ndarray  # (m, k) the numbers of stored patterns, round(load * N)
    recalled: np.ndarray  # (m, k) fraction of the stored patterns recalled (patterns, seeds)
    overlap: np.ndarray  # (m, k) mean final overlap m = xi . sigma / N


def _random_signs(key: PRNGKey, shape: tuple[int, ...], dtype) -> Array:
    """Independent fair random signs: 32 per random uint32 word (one bit each). Drawing
    ``prod(shape) / 32`` words instead of one number per sign keeps the compile short."""
    size = int(np.prod(shape))
    words = jax.random.bits(key, (-(-size // 32),), jnp.uint32)
    bit = (words[:, None] >> jnp.arange(32, dtype=jnp.uint32)[None, :]) & jnp.uint32(1)
    return (2.0 * bit.reshape(-1)[:size].astype(dtype) - 1.0).reshape(shape)


@functools.partial(jax.jit, static_argnames=("n_max", "seeds", "sweeps"))
def _capacity(key, N, counts, tol, *, n_max, seeds, sweeps):
    # Every size N <= N_max runs in the same padded arrays: units >= N hold 0 and never move.
    dtype = jnp.float32
    k, N_max = counts.shape[0], _N_MAX
    alive = (jnp.arange(N_max) < N).astype(dtype)
    xi = _random_signs(key, (k, seeds, n_max, N_max), dtype) * alive[None, None, None, :]
    used = (jnp.arange(n_max)[None, :] < counts[:, None]).astype(dtype)  # (k, n_max)
    # J = sum_k xi_k xi_k^T without the 1/N: whole numbers, so every field below is an exact
    # integer on every CPU (a tie h = 0 stays a tie), and the signs are the same.
    off = 1.0 - jnp.eye(N_max, dtype=dtype)
    J = jnp.einsum("kp,kspi,kspj->ksij", used, xi, xi) * off[None, None]

    def step(sig, i):  # sig: (k, seeds, n_max, N_max): unit i of every network at once
        h = jnp.einsum("kspj,ksj->ksp", sig, J[:, :, :, i])
        new = jnp.where(h >= 0, 1.0, -1.0).astype(dtype) * alive[i]
        return sig.at[..., i].set(new), None

    sig, _ = lax.scan(step, xi, jnp.tile(jnp.arange(N_max), sweeps))
    m = jnp.sum(sig * xi, axis=-1) / N  # (k, seeds, n_max) overlaps with the start
    w = jnp.broadcast_to(used[:, None, :], m.shape)
    total = jnp.sum(w, axis=(1, 2))
    recalled = jnp.sum(w * (m >= 1.0 - 2.0 * tol), axis=(1, 2)) / total
    return recalled, jnp.sum(w * m, axis=(1, 2)) / total


_N_MAX = 200


def capacity_curve(
    sizes: tuple[int, ...] = (50, 100, 200),
    loads: ArrayLike = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3),
    *,
    key: PRNGKey,
    seeds: int = 6,
    sweeps: int = 4,
    tol: float = 0.02,
) -> Capacity:
    r"""How many random $\pm1$ patterns a network of $N$ units holds (§6.2.2, erratum E13).

    For each size $N$ in ``sizes`` (at most 200), each load $\alpha$ in ``loads`` and each of
    ``seeds`` draws, $n = \mathrm{round}(\alpha N)$ random patterns $\xi_k \in \{-1, 1\}^N$
    are stored with $J = \frac1N\sum_k\xi_k\xi_k^\top$ (zero diagonal, zero biases). Each stored
    pattern is the starting state of ``sweeps`` asynchronous sweeps; it counts as *recalled*
    when the final state differs from it in at most a fraction ``tol`` of the bits (overlap
    $m = \xi\cdot\sigma/N \ge 1 - 2\,\mathrm{tol}$). The classical analysis for large $N$
    puts the edge at $\alpha \approx 0.138$, where the retrieval state (still about 98%
    correct) disappears; at finite $N$ the drop is soft and sits higher.

    Float32, one jitted function for every size (the arrays are padded to 200 units and to
    the largest count; patterns beyond $n$ are masked out of $J$ and of the averages), each
    size drawing from ``fold_in(key, N)``.

    Returns:
        :class:`Capacity` (NumPy arrays; ``recalled[j, i]`` is size ``sizes[j]``, load
        ``loads[i]``).
    """
    _validate.prng_key("key", key)
    if isinstance(sizes, int) or not hasattr(sizes, "__iter__"):
        raise TypeError(f"`sizes` must be a sequence of network sizes, got {sizes!r}.")
    sizes = tuple(_validate.positive_int("sizes", N) for N in sizes)
    if not sizes or max(sizes) > _N_MAX or min(sizes) < 2:
        raise ValueError(f"`sizes` must hold sizes between 2 and {_N_MAX}, got {sizes}.")
    alpha = np.asarray(_validate.float_array("loads", loads, ndim=1), np.float64)
    if alpha.size == 0 or not np.all((alpha > 0) & (alpha <= 1)):
        raise ValueError(f"`loads` must lie in (0, 1], got {alpha.tolist()}.")
    seeds = _validate.positive_int("seeds", seeds)
    sweeps = _n_sweeps(sweeps)
    _validate.in_range("tol", tol, 0.0, 0.5)
    counts = np.maximum(1, np.round(np.outer(sizes, alpha))).astype(np.int32)  # (m, k)
    n_max = int(np.round(alpha.max() * _N_MAX)) + 1
    rec, ov = [], []
    for N, row in zip(sizes, counts, strict=True):
        r, o = _capacity(
            jax.random.fold_in(key, N), jnp.int32(N), jnp.asarray(row), jnp.float32(tol),
            n_max=n_max, seeds=seeds, sweeps=sweeps,
        )  # fmt: skip
        rec.append(np.asarray(r, np.float64))
        ov.append(np.asarray(o, np.float64))
    return Capacity(np.asarray(sizes), alpha, counts, np.stack(rec), np.stack(ov))


def capacity_cache_size() -> int:
    """How many versions of the jitted capacity experiment exist (one for every size)."""
    return _capacity._cache_size()


def crossing(load: ArrayLike, recalled: ArrayLike, level: float = 0.5) -> float:
    """The load where ``recalled`` first falls through ``level``, by linear interpolation
    between the two measured points around it (NaN if it never does)."""
    x, y = np.asarray(load, np.float64), np.asarray(recalled, np.float64)
    below = np.flatnonzero(y < level)
    if below.size == 0 or below[0] == 0:
        return float("nan")
    j = below[0]
    x0, x1, y0, y1 = x[j - 1], x[j], y[j - 1], y[j]
    return float(x0 + (y0 - level) * (x1 - x0) / (y0 - y1))
