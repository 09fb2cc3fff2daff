r"""The Boltzmann machine: energy, exact distribution, Gibbs sampling and learning (Aggarwal §6.3).

A Boltzmann machine has $q$ binary units $s \in \{0, 1\}^q$ joined by symmetric weights
$w_{ij} = w_{ji}$ (no self-connections) with biases $b_i$. Its energy (Eq 6.8) and the
probability of a state (Eq 6.9–6.10) are

$$E(s) = -\sum_i b_i s_i - \sum_{i<j} w_{ij} s_i s_j, \qquad
P(s) = \frac{e^{-E(s)}}{Z}, \quad Z = \sum_{s} e^{-E(s)}.$$

$Z$ sums over all $2^q$ states, hopeless for a large machine but a few thousand terms for a
small one: :func:`exact_distribution` enumerates them, so every sampled quantity here has
an exact answer to compare with. One unit given all the others is easy (Eq 6.7; the book's
"the same condition as Equation 6.9" means 6.7, erratum E6):

$$P(s_i = 1 \mid s_{-i}) = \sigma(\Delta E_i), \qquad
\Delta E_i = E(s_{i=0}) - E(s_{i=1}) = b_i + \sum_{j \ne i} w_{ij} s_j.$$

Updating the units one at a time from these conditionals is **Gibbs sampling**; after a
*burn-in* the chain's states are draws from $P(s)$ (thermal equilibrium).

**Learning** (Eq 6.11–6.14). With the first ``n_visible`` units visible and the rest hidden,
$\partial \log P(v)/\partial w_{ij} = \langle s_i s_j\rangle_{data} -
\langle s_i s_j\rangle_{model}$, where the data average clamps $v$ to the training vectors
(hidden units drawn from $P(h \mid v)$) and the model average lets every unit run free. The
same rule holds for the biases with $s_j = 1$.

Parameters: :class:`BMParams` with a symmetric ``W: (q, q)`` with zero diagonal, so that
$E(s) = -b^\top s - \tfrac12 s^\top W s$. Exact computations run in the parameters' dtype
(use float64 for exact claims).
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from course_lib import _validate
from course_lib._types import Array, ArrayLike, PRNGKey

#: Enumerating 2^q states: at most this many units.
MAX_ENUMERATED_UNITS = 16


class BMParams(NamedTuple):
    """A Boltzmann machine with ``q`` units: symmetric weights with zero diagonal, biases."""

    W: Array  # (q, q): W[i, j] = W[j, i] = w_ij, W[i, i] = 0
    b: Array  # (q,)


# ------------------------------------------------------------------------------ states


def all_states(n: int) -> np.ndarray:
    """Every binary state of ``n`` units: ``(2**n, n)`` float64 NumPy, row ``r`` = the binary
    digits of ``r`` with unit 0 as the *most* significant bit (so rows read 000, 001, 010, ...)."""
    n = _validate.positive_int("n", n)
    if n > MAX_ENUMERATED_UNITS + 8:
        raise ValueError(f"`n` must be at most {MAX_ENUMERATED_UNITS + 8}, got {n}.")
    r = np.arange(2**n)[:, None]
    return ((r >> np.arange(n - 1, -1, -1)[None, :]) & 1).astype(np.float64)


def state_labels(n: int) -> list[str]:
    """The states of :func:`all_states` as strings, e.g. ``['00', '01', '10', '11']``."""
    return ["".join(str(int(x)) for x in row) for row in all_states(n)]


def state_index(s: ArrayLike) -> Array:
    """The row of :func:`all_states` that each binary state ``s: (..., q)`` is: ``(...)`` int32."""
    s = jnp.asarray(s)
    q = s.shape[-1]
    weights = (2 ** jnp.arange(q - 1, -1, -1)).astype(jnp.int32)
    return jnp.sum(s.astype(jnp.int32) * weights.reshape((1,) * (s.ndim - 1) + (q,)), axis=-1)


def total_variation(p: ArrayLike, q: ArrayLike) -> Array:
    r"""$\mathrm{TV}(p, q) = \tfrac12 \sum_s |p(s) - q(s)|$ over the last axis (between 0 and 1)."""
    p = _validate.float_array("p", p)
    q = _validate.float_array("q", q)
    if p.shape[-1:] != q.shape[-1:]:
        raise ValueError(
            f"`p` and `q` must be distributions over the same states, got shapes "
            f"{tuple(p.shape)} and {tuple(q.shape)}."
        )
    return 0.5 * jnp.sum(jnp.abs(p - q), axis=-1)


def empirical_distribution(samples: ArrayLike) -> Array:
    """The fraction of the states ``samples: (..., q)`` (all leading axes pooled) that falls
    on each of the ``2**q`` states of :func:`all_states`: ``(2**q,)``."""
    samples = _validate.float_array("samples", samples)
    if samples.ndim < 2:
        raise ValueError(
            f"`samples` must be (..., q) with at least one sample axis, got {samples.shape}."
        )
    q = samples.shape[-1]
    if q > MAX_ENUMERATED_UNITS:
        raise ValueError(f"`samples` have {q} units; at most {MAX_ENUMERATED_UNITS} can be binned.")
    idx = state_index(samples).reshape(-1)
    return jnp.bincount(idx, length=2**q).astype(samples.dtype) / idx.shape[0]


# ------------------------------------------------------------------------------ params


def _check_params(params: Any, name: str = "params") -> BMParams:
    if not isinstance(params, BMParams):
        raise TypeError(
            f"`{name}` must be a BMParams(W, b) (see make_bm), got {type(params).__name__}."
        )
    W = _validate.float_array(f"{name}.W", params.W, ndim=2)
    b = _validate.float_array(f"{name}.b", params.b, ndim=1)
    q = b.shape[0]
    if W.shape != (q, q):
        raise ValueError(f"`{name}.W` must be ({q}, {q}) for {q} biases, got {tuple(W.shape)}.")
    _validate.finite(f"{name}.W", W)
    _validate.finite(f"{name}.b", b)
    if not _validate.is_traced(W):
        w = np.asarray(W, np.float64)
        if not np.allclose(w, w.T, rtol=0, atol=1e-6) or np.any(np.diag(w) != 0):
            raise ValueError(
                f"`{name}.W` must be symmetric with a zero diagonal (w_ij = w_ji, no "
                "self-connections); build it with make_bm."
            )
    return BMParams(W, b)


def make_bm(W: ArrayLike, b: ArrayLike) -> BMParams:
    """A :class:`BMParams` from any square ``W`` (its upper triangle above the diagonal is kept
    and mirrored: ``W[i, j]`` for ``i < j`` is $w_{ij}$) and biases ``b: (q,)``."""
    W = _validate.float_array("W", W, ndim=2)
    b = _validate.float_array("b", b, ndim=1)
    if W.shape != (b.shape[0], b.shape[0]):
        raise ValueError(f"`W` must be ({b.shape[0]}, {b.shape[0]}), got {tuple(W.shape)}.")
    upper = jnp.triu(W, 1)
    dt = jnp.result_type(W.dtype, b.dtype)
    return _check_params(BMParams((upper + upper.T).astype(dt), b.astype(dt)))


def example_machine(dtype: Any = None) -> BMParams:
    """The five-unit machine of the lecture (units 0-2 visible, 3-4 hidden): a few strong
    couplings of both signs, so that $P(s)$ is far from uniform."""
    dtype = jnp.result_type(float) if dtype is None else jnp.dtype(dtype)
    W = np.zeros((5, 5))
    W[0, 1], W[0, 3], W[1, 2], W[1, 4], W[2, 4], W[3, 4] = 1.5, -2.0, -1.0, -1.5, 2.0, 1.0
    b = np.array([-0.5, 0.5, -1.0, 0.5, -0.5])
    return make_bm(jnp.asarray(W, dtype), jnp.asarray(b, dtype))


def random_bm(*, key: PRNGKey, n_units: int, scale: float = 1.0, dtype: Any = None) -> BMParams:
    r"""A machine with $w_{ij}, b_i \sim \mathcal N(0, \text{scale}^2)$ (symmetric W, zero
    diagonal)."""
    _validate.prng_key("key", key)
    q = _validate.positive_int("n_units", n_units)
    _validate.positive("scale", scale, allow_zero=True)
    dtype = jnp.result_type(float) if dtype is None else jnp.dtype(dtype)
    kw, kb = jax.random.split(key)
    return make_bm(scale * jax.random.normal(kw, (q, q), dtype),
                   scale * jax.random.normal(kb, (q,), dtype))  # fmt: skip


def _check_states(name: str, s: Any, q: int, *, ndim=None, binary: bool = True) -> Array:
    s = _validate.float_array(name, s, ndim=ndim)
    if s.ndim == 0 or s.shape[-1] != q:
        raise ValueError(
            f"`{name}` must have {q} units on its last axis, got shape {tuple(s.shape)}."
        )
    if binary and not _validate.is_traced(s):
        values = np.asarray(s)
        if not np.all((values == 0.0) | (values == 1.0)):
            raise ValueError(f"`{name}` must hold binary states (0 or 1 only).")
    return s


def _check_enumerable(q: int) -> None:
    if q > MAX_ENUMERATED_UNITS:
        raise ValueError(
            f"enumerating 2^q states needs q <= {MAX_ENUMERATED_UNITS} units, got q = {q}."
        )


# ------------------------------------------------------------------------------ energy


def _energy(params, s):
    quad = jnp.sum((s @ params.W) * s, axis=-1)
    return -(s @ params.b) - 0.5 * quad


def energy(params: BMParams, s: ArrayLike) -> Array:
    r"""$E(s) = -\sum_i b_i s_i - \sum_{i<j} w_{ij} s_i s_j$ (Eq 6.8). ``s: (..., q)`` ->
    ``(...)``."""
    params = _check_params(params)
    s = _check_states("s", s, params.b.shape[0])
    return _energy(params, s.astype(params.W.dtype))


def _log_z(params):
    S = jnp.asarray(all_states(params.b.shape[0]), params.W.dtype)
    return jax.nn.logsumexp(-_energy(params, S))


def exact_distribution(params: BMParams) -> Array:
    r"""$P(s) = e^{-E(s)}/Z$ for all $2^q$ states, in :func:`all_states` order (Eq 6.9–6.10).

    Computed as a softmax of $-E$ (subtracting the largest term first, so no overflow).
    Returns ``(2**q,)``.
    """
    params = _check_params(params)
    _check_enumerable(params.b.shape[0])
    S = jnp.asarray(all_states(params.b.shape[0]), params.W.dtype)
    return jax.nn.softmax(-_energy(params, S))


def log_partition(params: BMParams) -> Array:
    r"""$\log Z = \log\sum_s e^{-E(s)}$ by enumeration. Scalar."""
    params = _check_params(params)
    _check_enumerable(params.b.shape[0])
    return _log_z(params)


def gibbs_conditional(params: BMParams, s: ArrayLike, i: int) -> Array:
    r"""$P(s_i = 1 \mid s_{-i}) = \sigma(b_i + \sum_{j\ne i} w_{ij} s_j)$ (Eq 6.7).

    The value of ``s[..., i]`` itself is ignored. ``s: (..., q)`` -> ``(...)``.
    """
    params = _check_params(params)
    q = params.b.shape[0]
    s = _check_states("s", s, q)
    if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < q:
        raise ValueError(f"`i` must be a unit index in [0, {q}), got {i!r}.")
    return jax.nn.sigmoid(params.b[i] + s.astype(params.W.dtype) @ params.W[i])


# ------------------------------------------------------------------------------ Gibbs sampling


def _sweep(params, s, key, clamped):
    """One sweep: units 0..q-1 in turn, each redrawn from its conditional (``clamped`` kept)."""
    keys = jax.random.split(key, s.shape[-1])

    def unit(i, s):
        p = jax.nn.sigmoid(params.b[i] + params.W[i] @ s)
        new = jax.random.bernoulli(keys[i], p).astype(s.dtype)
        return s.at[i].set(jnp.where(clamped[i], s[i], new))

    return lax.fori_loop(0, s.shape[-1], unit, s)


@functools.partial(jax.jit, static_argnames=("n_sweeps",))
def _gibbs(params, init, key, clamped, *, n_sweeps):
    def chain(s0, ck):
        def step(s, i):
            s = _sweep(params, s, jax.random.fold_in(ck, i), clamped)
            return s, s

        _, states = lax.scan(step, s0, jnp.arange(n_sweeps))
        return states  # (n_sweeps, q)

    keys = jax.random.split(key, init.shape[0])
    return jnp.swapaxes(jax.vmap(chain)(init, keys), 0, 1)  # (n_sweeps, n_chains, q)


def gibbs_sample(
    params: BMParams,
    *,
    key: PRNGKey,
    n_sweeps: int,
    n_chains: int | None = None,
    init: ArrayLike | None = None,
    clamped: ArrayLike | None = None,
) -> Array:
    r"""Run Gibbs chains: ``lax.scan`` over sweeps, ``vmap`` over chains (§6.3).

    Each sweep visits the units $0, \dots, q-1$ in turn and redraws $s_i$ from
    $\sigma(\Delta E_i)$ (Eq 6.7), using the newest values of the others. Chains start at
    ``init: (n_chains, q)`` (binary) or, when it is None, at Bernoulli(1/2) states drawn from
    ``key``. ``clamped: (q,)`` booleans mark units that are never redrawn (the visible units
    when collecting data-centric samples). Every chain has its own key.

    Returns the state after each sweep: ``(n_sweeps, n_chains, q)``; discard the first sweeps
    as burn-in.
    """
    params = _check_params(params)
    q = params.b.shape[0]
    _validate.prng_key("key", key)
    n_sweeps = _validate.positive_int("n_sweeps", n_sweeps)
    k_init, k_run = jax.random.split(key)
    if init is None:
        if n_chains is None:
            raise ValueError("pass `n_chains` (random starts) or `init` (given starts).")
        n_chains = _validate.positive_int("n_chains", n_chains)
        init = jax.random.bernoulli(k_init, 0.5, (n_chains, q)).astype(params.W.dtype)
    else:
        init = _validate.nonempty("init", _check_states("init", init, q, ndim=2))
        if n_chains is not None and _validate.positive_int("n_chains", n_chains) != init.shape[0]:
            raise ValueError(
                f"`n_chains` ({n_chains}) differs from the rows of `init` ({init.shape[0]})."
            )
    if clamped is None:
        clamped = jnp.zeros((q,), bool)
    else:
        clamped = jnp.asarray(clamped)
        if clamped.shape != (q,) or clamped.dtype != jnp.bool_:
            raise ValueError(
                f"`clamped` must be a boolean array of shape ({q},), got shape "
                f"{tuple(clamped.shape)} and dtype {clamped.dtype}."
            )
    return _gibbs(params, init.astype(params.W.dtype), k_run, clamped, n_sweeps=n_sweeps)


def gibbs_sample_cache_size() -> int:
    """How many versions of the jitted sampler exist (one per chain count, length and dtype)."""
    return _gibbs._cache_size()


# ------------------------------------------------------------------------------ learning


def _split(params: BMParams, n_visible: Any) -> tuple[int, int]:
    q = params.b.shape[0]
    if isinstance(n_visible, bool) or not isinstance(n_visible, (int, np.integer)):
        raise TypeError(f"`n_visible` must be an integer, got {n_visible!r}.")
    if not 1 <= n_visible <= q:
        raise ValueError(
            f"`n_visible` must lie in [1, {q}] (the machine's units), got {n_visible}."
        )
    return int(n_visible), q - int(n_visible)


def _log_marginal(params, v, n_hidden):
    """log sum_h exp(-E(v, h)) for every row of v: (n, d) -> (n,)."""
    H = jnp.asarray(all_states(n_hidden), params.W.dtype) if n_hidden else jnp.zeros((1, 0))
    n = v.shape[0]
    S = jnp.concatenate(
        [jnp.broadcast_to(v[:, None, :], (n, H.shape[0], v.shape[1])),
         jnp.broadcast_to(H[None, :, :].astype(v.dtype), (n, H.shape[0], n_hidden))],
        axis=-1,
    )  # fmt: skip
    return jax.nn.logsumexp(-_energy(params, S), axis=-1)


def exact_log_likelihood(params: BMParams, v: ArrayLike, *, n_visible: int) -> Array:
    r"""$\frac1n\sum_r \log P(v^{(r)})$ with $P(v) = \sum_h e^{-E(v, h)}/Z$ (Eq 6.11 with the
    hidden units summed out); the first ``n_visible`` units are visible. ``v: (n, d)`` binary.
    Scalar. Differentiable in ``params`` (``jax.grad`` gives the learning rule)."""
    params = _check_params(params)
    _check_enumerable(params.b.shape[0])
    d, m = _split(params, n_visible)
    v = _validate.nonempty("v", _check_states("v", v, d, ndim=2)).astype(params.W.dtype)
    return jnp.mean(_log_marginal(params, v, m)) - _log_z(params)


def _correlations(S, w):
    """Weighted <s_i s_j> (zero diagonal) and <s_i> from states ``S: (N, q)``, weights ``w``."""
    C = S.T @ (w[:, None] * S)
    return BMParams(C * (1.0 - jnp.eye(S.shape[1], dtype=S.dtype)), w @ S)


def exact_statistics(
    params: BMParams, v: ArrayLike, *, n_visible: int
) -> tuple[BMParams, BMParams]:
    r"""The two averages of the learning rule, by enumeration: ``(data, model)``.

    ``data``: $\langle s_i s_j\rangle_{data}$ (off-diagonal, as ``W``) and
    $\langle s_i\rangle_{data}$ with $v$ clamped to each row of ``v: (n, d)`` and $h$ weighted
    by $P(h \mid v)$, averaged over the rows. ``model``: the same under $P(s)$. Both are
    :class:`BMParams`.
    """
    params = _check_params(params)
    q = params.b.shape[0]
    _check_enumerable(q)
    d, m = _split(params, n_visible)
    v = _validate.nonempty("v", _check_states("v", v, d, ndim=2)).astype(params.W.dtype)
    S = jnp.asarray(all_states(q), params.W.dtype)
    model = _correlations(S, jax.nn.softmax(-_energy(params, S)))
    # clamped: the states whose visible part is a data row, weighted P(h | v) / n
    match = jnp.all(S[None, :, :d] == v[:, None, :], axis=-1)  # (n, 2^q)
    logits = jnp.where(match, -_energy(params, S)[None, :], -jnp.inf)
    w = jnp.mean(jax.nn.softmax(logits, axis=-1), axis=0)
    return _correlations(S, w), model


def exact_gradient(params: BMParams, v: ArrayLike, *, n_visible: int) -> BMParams:
    r"""The learning rule (Eq 6.12–6.14): $\langle s_i s_j\rangle_{data} - \langle s_i
    s_j\rangle_{model}$ for each weight $w_{ij}$ (symmetric, zero diagonal) and
    $\langle s_i\rangle_{data} - \langle s_i\rangle_{model}$ for each bias, by enumeration.

    This is the gradient of :func:`exact_log_likelihood` with respect to the *shared* weight
    $w_{ij}$, which sits in ``W`` twice (``W[i, j]`` and ``W[j, i]``): ``g = jax.grad(...)``
    gives ``g.W + g.W.T`` (off the diagonal).
    """
    data, model = exact_statistics(params, v, n_visible=n_visible)
    return jax.tree.map(jnp.subtract, data, model)


def sampled_gradient(
    params: BMParams,
    v: ArrayLike,
    *,
    key: PRNGKey,
    n_visible: int,
    n_sweeps: int,
    burn_in: int,
    n_chains: int,
) -> BMParams:
    r"""The learning rule estimated by Gibbs sampling (§6.3.1), as the book describes it.

    Data-centric samples: for each row of ``v: (n, d)``, ``n_chains`` chains with the visible
    units clamped to it and the hidden units started at Bernoulli(1/2). Model samples:
    ``n * n_chains`` free chains. Each runs ``n_sweeps`` sweeps; the first ``burn_in`` are
    discarded and the rest averaged. Returns a :class:`BMParams` like :func:`exact_gradient`.
    """
    params = _check_params(params)
    q = params.b.shape[0]
    d, m = _split(params, n_visible)
    v = _validate.nonempty("v", _check_states("v", v, d, ndim=2)).astype(params.W.dtype)
    _validate.prng_key("key", key)
    n_sweeps = _validate.positive_int("n_sweeps", n_sweeps)
    n_chains = _validate.positive_int("n_chains", n_chains)
    if isinstance(burn_in, bool) or not isinstance(burn_in, (int, np.integer)):
        raise TypeError(f"`burn_in` must be an integer, got {burn_in!r}.")
    if not 0 <= burn_in < n_sweeps:
        raise ValueError(f"`burn_in` must lie in [0, n_sweeps) = [0, {n_sweeps}), got {burn_in}.")
    k_h, k_data, k_model = jax.random.split(key, 3)
    n = v.shape[0]
    vis = jnp.repeat(v, n_chains, axis=0)  # (n * n_chains, d)
    hid = jax.random.bernoulli(k_h, 0.5, (n * n_chains, m)).astype(v.dtype)
    clamped = jnp.arange(q) < d
    data_s = gibbs_sample(params, key=k_data, n_sweeps=n_sweeps,
                          init=jnp.concatenate([vis, hid], axis=1), clamped=clamped)  # fmt: skip
    model_s = gibbs_sample(params, key=k_model, n_sweeps=n_sweeps, n_chains=n * n_chains)

    def stats(samples):
        S = samples[burn_in:].reshape(-1, q)
        return _correlations(S, jnp.full((S.shape[0],), 1.0 / S.shape[0], S.dtype))

    return jax.tree.map(jnp.subtract, stats(data_s), stats(model_s))
