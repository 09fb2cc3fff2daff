r"""Radial basis function networks and their training (Aggarwal §5.1–5.2).

An RBF network has one special hidden layer. Hidden unit $j$ holds a *prototype*
$\mu_j \in \mathbb R^d$ and a *bandwidth* $\sigma_j > 0$ and answers with a Gaussian bump
(Eq 5.1):

$$h_j = \Phi_j(X) = \exp\Big(-\frac{\|X - \mu_j\|^2}{2\sigma_j^2}\Big), \qquad j = 1..m,$$

and the output is linear in these activations, $\hat y = \sum_j w_j h_j = H W^\top$ with
$H$ the ``(n, m)`` matrix of activations. $\Phi_j(\mu_j) = 1$, $\Phi_j = e^{-1/2}$ at distance
$\sigma_j$, and $\sigma_j \to \infty$ gives the constant 1: a bias unit.

Training (§5.2) usually runs in two stages: the hidden layer *without* the labels
(prototypes from a random sample or k-means, :mod:`course_lib.kmeans`; bandwidth from a rule of
thumb, :func:`bandwidth`, :func:`nearest_bandwidths`), then the output layer as a linear least
squares problem (:func:`ridge_output` Eq 5.4, :func:`ridge_gd`, :func:`pinv_output` Eq 5.5–5.6).
Orthogonal least squares (§5.2.3, :func:`ols_select`) picks prototypes among the training points
one at a time; fully supervised training (§5.2.4, :func:`loss_gradients`,
:func:`train_supervised`) moves the prototypes and bandwidths by gradient descent too.

Every function is pure; the iterative ones are ``lax.scan`` loops jitted once, with the
hyperparameters a widget moves (learning rate, penalty) as traced arguments.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from course_lib import _validate, kmeans, optim
from course_lib._types import Array, ArrayLike

# ------------------------------------------------------------------------------ validation


def _matrix(name: str, A: ArrayLike, *, what: str = "row") -> Array:
    A = _validate.float_array(name, A, ndim=2)
    _validate.nonempty(name, A, what=what)
    return _validate.finite(name, A)


def _centers(centers: ArrayLike, d: int | None = None) -> Array:
    C = _matrix("centers", centers, what="prototype")
    if d is not None and C.shape[1] != d:
        raise ValueError(
            f"`centers` must have the inputs' dimension d = {d} columns, got shape {C.shape}."
        )
    return C


def _sigma(sigma: ArrayLike, m: int, *, allow_inf: bool = True) -> Array:
    s = _validate.float_array("sigma", sigma, ndim=(0, 1))
    if s.ndim == 1 and s.shape[0] != m:
        raise ValueError(
            f"`sigma` must be a scalar or hold one bandwidth per prototype ({m},), got "
            f"shape {tuple(s.shape)}."
        )
    if not _validate.is_traced(s):
        v = np.asarray(s, np.float64)
        if np.any(np.isnan(v)) or np.any(v <= 0) or (not allow_inf and np.any(np.isinf(v))):
            bad = v[np.isnan(v) | (v <= 0) | (np.isinf(v) & (not allow_inf))].ravel()[:4]
            raise ValueError(f"`sigma` must be positive, got value(s) {bad.tolist()}.")
    return s


def _targets(y: ArrayLike, n: int) -> Array:
    y = _validate.float_array("y", y, ndim=(1, 2))
    if y.shape[0] != n:
        raise ValueError(f"`y` must have one target per row of H (n = {n}), got shape {y.shape}.")
    return _validate.finite("y", y)


# ------------------------------------------------------------------------------ the hidden layer


def _sq_dists(X: Array, C: Array) -> Array:
    # (n, d), (m, d) -> (n, m), as a difference (no cancellation for nearby points)
    return jnp.sum((X[:, None, :] - C[None, :, :]) ** 2, axis=-1)


def _activations(X: Array, C: Array, sigma: Array) -> Array:
    s = sigma[None, :] if sigma.ndim == 1 else sigma  # (1, m) or a shared scalar
    return jnp.exp(-_sq_dists(X, C) / (2.0 * s**2))


def rbf_activations(X: ArrayLike, centers: ArrayLike, sigma: ArrayLike) -> Array:
    r"""The hidden layer's activations, Eq 5.1 (§5.1):

    $$H_{ij} = \Phi_j(X_i) = \exp\Big(-\frac{\|X_i - \mu_j\|^2}{2\sigma_j^2}\Big).$$

    Args:
        X: ``(n, d)`` inputs.
        centers: ``(m, d)`` prototypes $\mu_j$.
        sigma: bandwidth, a positive scalar (shared) or ``(m,)`` (one per prototype);
            ``inf`` is allowed and gives the constant-1 bias unit.

    Returns:
        $H$, ``(n, m)``.
    """
    X = _matrix("X", X)
    C = _centers(centers, X.shape[1])
    s = _sigma(sigma, C.shape[0])
    return _activations_jit(X, C, s)


_activations_jit = jax.jit(_activations)


def predict(X: ArrayLike, centers: ArrayLike, sigma: ArrayLike, w: ArrayLike) -> Array:
    r"""The network's output $\hat y_i = \sum_j w_j \Phi_j(X_i) = (H W^\top)_i$ (§5.1).

    Args:
        X: ``(n, d)``; centers: ``(m, d)``; sigma: scalar or ``(m,)``; w: ``(m,)``.

    Returns:
        ``(n,)``.
    """
    H = rbf_activations(X, centers, sigma)
    w = _validate.float_array("w", w, ndim=1)
    if w.shape[0] != H.shape[1]:
        raise ValueError(f"`w` must hold one weight per prototype ({H.shape[1]},), got {w.shape}.")
    return H @ w


def pairwise_distances(centers: ArrayLike) -> Array:
    """Euclidean distances between all prototypes, ``(m, m)`` (zero diagonal)."""
    C = _centers(centers)
    return _pairwise(C)


@jax.jit
def _pairwise(C):
    D2 = _sq_dists(C, C)
    # sqrt has an infinite derivative at 0: keep the diagonal out of it
    eye = jnp.eye(C.shape[0], dtype=bool)
    return jnp.where(eye, 0.0, jnp.sqrt(jnp.where(eye, 1.0, D2)))


def bandwidth(centers: ArrayLike, rule: str = "max") -> Array:
    r"""A shared bandwidth from a rule of thumb (§5.2.1).

    - ``"max"``: $\sigma = d_{\max}/\sqrt m$, with $d_{\max}$ the largest distance between two
      prototypes;
    - ``"mean"``: $\sigma = 2\,d_{\mathrm{ave}}$, with $d_{\mathrm{ave}}$ the mean distance over
      the $m(m-1)/2$ pairs of distinct prototypes.

    For the four corners of the unit square, $d_{\max} = \sqrt 2$ (so $\sigma = \sqrt2/2$) and
    $d_{\mathrm{ave}} = (4 + 2\sqrt 2)/6$.

    Args:
        centers: ``(m, d)`` prototypes, $m \ge 2$.
        rule: ``"max"`` or ``"mean"``.

    Returns:
        ``()``.
    """
    C = _centers(centers)
    fn = _validate.lookup("bandwidth rule", {"max": _bw_max, "mean": _bw_mean}, rule)
    if C.shape[0] < 2:
        raise ValueError(
            f"`centers` must hold at least 2 prototypes for a distance rule, got {C.shape[0]}."
        )
    return fn(C)


@jax.jit
def _bw_max(C):
    return jnp.max(_pairwise(C)) / jnp.sqrt(jnp.asarray(C.shape[0], C.dtype))


@jax.jit
def _bw_mean(C):
    m = C.shape[0]
    iu = jnp.triu_indices(m, k=1)
    return 2.0 * jnp.mean(_pairwise(C)[iu])


def nearest_bandwidths(centers: ArrayLike, r: int = 5) -> Array:
    r"""One bandwidth per prototype: $\sigma_j$ = the distance from $\mu_j$ to its $r$-th
    nearest *other* prototype (§5.2.1 suggests $r$ = 5 or 10).

    Args:
        centers: ``(m, d)`` prototypes.
        r: $1 \le r \le m - 1$.

    Returns:
        ``(m,)``.
    """
    C = _centers(centers)
    r = _validate.positive_int("r", r)
    if r > C.shape[0] - 1:
        raise ValueError(
            f"`r` must be at most m - 1 = {C.shape[0] - 1} (the other prototypes), got {r}."
        )
    return _nearest(C, r)


@functools.partial(jax.jit, static_argnums=1)
def _nearest(C, r):
    D = jnp.sort(_pairwise(C), axis=1)  # column 0 is the prototype itself (distance 0)
    return D[:, r]


# ------------------------------------------------------------------------------ the output layer


def _h_and_y(H: ArrayLike, y: ArrayLike) -> tuple[Array, Array]:
    H = _matrix("H", H, what="example (row)")
    y = _targets(y, H.shape[0])
    return H, y


def ridge_output(H: ArrayLike, y: ArrayLike, lam: Any = 0.0) -> Array:
    r"""The output weights in closed form, Eq 5.4 (§5.2.2):

    $$W^\top = (H^\top H + \lambda I)^{-1} H^\top y,$$

    the minimizer of $L = \frac12\|HW^\top - y\|^2 + \frac\lambda2\|W\|^2$ (Eq 5.2). Solved
    with ``jnp.linalg.solve``, never an explicit inverse.

    Args:
        H: ``(n, m)`` hidden activations.
        y: ``(n,)`` targets (or ``(n, k)`` for $k$ outputs).
        lam: $\lambda \ge 0$; with $\lambda = 0$, $H$ must have full column rank
            (else use :func:`pinv_output`).

    Returns:
        $W^\top$, ``(m,)`` (or ``(m, k)``).
    """
    H, y = _h_and_y(H, y)
    _validate.positive("lam", lam, allow_zero=True)
    _validate.full_rank_gram(
        "H", H, lam=lam, what="H^T H + lam I",
        hint="raise `lam` or use pinv_output (the minimum-norm solution).",
    )  # fmt: skip
    return _ridge(H, y, jnp.asarray(lam, H.dtype))


@jax.jit
def _ridge(H, y, lam):
    A = H.T @ H + lam * jnp.eye(H.shape[1], dtype=H.dtype)
    return jnp.linalg.solve(A, H.T @ y)


def pinv_output(H: ArrayLike, y: ArrayLike) -> Array:
    r"""The least-squares output weights through the pseudo-inverse, Eq 5.5–5.6 (§5.2.2.1):

    $$W^\top = H^+ y \;(= (H^\top H)^{-1}H^\top y \text{ when } H \text{ has full column rank}),$$

    the minimum-norm minimizer of $\frac12\|HW^\top - y\|^2$; for a square invertible $H$,
    $H^+ = H^{-1}$.

    Returns:
        ``(m,)`` (or ``(m, k)``).
    """
    H, y = _h_and_y(H, y)
    return _pinv(H, y)


@jax.jit
def _pinv(H, y):
    return jnp.linalg.pinv(H) @ y


def ridge_loss(H: ArrayLike, y: ArrayLike, w: ArrayLike, lam: Any = 0.0) -> Array:
    r"""Eq 5.2: $L = \frac12\|HW^\top - y\|^2 + \frac\lambda2\|W\|^2$ (a sum over examples)."""
    H, y = _h_and_y(H, y)
    w = _validate.float_array("w", w, ndim=y.ndim)
    _validate.positive("lam", lam, allow_zero=True)
    return _ridge_loss(H, y, w, lam)


@jax.jit
def _ridge_loss(H, y, w, lam):
    r = H @ w - y
    return 0.5 * jnp.sum(r**2) + 0.5 * lam * jnp.sum(w**2)


@functools.partial(jax.jit, static_argnames="steps")
def _ridge_gd(H, y, w0, lam, lr, steps):
    def body(w, _):
        err = H @ w - y  # the current errors
        loss = 0.5 * jnp.sum(err**2) + 0.5 * lam * jnp.sum(w**2)
        return w * (1.0 - lr * lam) - lr * (H.T @ err), loss

    w, losses = lax.scan(body, w0, None, length=steps)
    return w, losses


def ridge_gd(
    H: ArrayLike, y: ArrayLike, lam: Any = 0.0, *, lr: Any, steps: int, w0: ArrayLike | None = None
) -> tuple[Array, Array]:
    r"""Gradient descent on Eq 5.2 with the update after Eq 5.4 (§5.2.2):

    $$W^\top \Leftarrow W^\top(1 - \alpha\lambda) - \alpha H^\top(HW^\top - y).$$

    It converges to :func:`ridge_output` for $0 < \alpha < 2/(s_{\max}^2 + \lambda)$, $s_{\max}$
    the largest singular value of $H$. ``lam`` and ``lr`` are traced (no recompile).

    Args:
        H: ``(n, m)``; y: ``(n,)``; lam: $\lambda \ge 0$; lr: $\alpha > 0$; steps: iterations;
        w0: ``(m,)`` start (zeros by default).

    Returns:
        ``(w: (m,), losses: (steps,))``, ``losses[t]`` the loss *before* step ``t``.
    """
    H, y = _h_and_y(H, y)
    if y.ndim != 1:
        raise ValueError(f"`y` must be 1-dimensional for ridge_gd, got shape {y.shape}.")
    _validate.positive("lam", lam, allow_zero=True)
    _validate.positive("lr", lr)
    steps = _validate.positive_int("steps", steps)
    if w0 is None:
        w0 = jnp.zeros(H.shape[1], H.dtype)
    else:
        w0 = _validate.float_array("w0", w0, ndim=1)
        if w0.shape[0] != H.shape[1]:
            raise ValueError(f"`w0` must have shape ({H.shape[1]},), got {w0.shape}.")
    return _ridge_gd(
        H, y, w0.astype(H.dtype), jnp.asarray(lam, H.dtype), jnp.asarray(lr, H.dtype), steps
    )


def masked_ridge_output(H: ArrayLike, y: ArrayLike, mask: ArrayLike, lam: Any) -> Array:
    r"""Eq 5.4 on the columns of ``H: (n, M)`` that ``mask: (M,)`` (bool) switches on; the
    others get weight 0. With a traced mask the number of prototypes changes without a new
    shape (widgets). Needs $\lambda > 0$ (the switched-off columns make $H^\top H$ singular
    otherwise: the penalty keeps their weights at 0)."""
    H, y = _h_and_y(H, y)
    mask = jnp.asarray(mask)
    if mask.shape != (H.shape[1],) or mask.dtype != jnp.bool_:
        raise ValueError(
            f"`mask` must be a boolean array of shape ({H.shape[1]},), got shape "
            f"{tuple(mask.shape)} and dtype {mask.dtype}."
        )
    _validate.positive("lam", lam)
    return _masked_ridge(H, y, mask, jnp.asarray(lam, H.dtype))


@jax.jit
def _masked_ridge(H, y, mask, lam):
    return _ridge(H * mask[None, :], y, lam) * (mask if y.ndim == 1 else mask[:, None])


def two_stage_padded(
    X: ArrayLike,
    y: ArrayLike,
    C0: ArrayLike,
    mask: ArrayLike,
    sigma: Any,
    lam: Any,
    *,
    refine: Any = True,
    kmeans_iters: int = 15,
) -> tuple[Array, Array]:
    r"""Two-stage training (§5.2) with ``M`` padded prototypes of which ``mask`` switches on
    some: k-means from ``C0`` (:func:`course_lib.kmeans.kmeans_masked`, or ``C0`` as it is
    when ``refine`` is False: the random-sample choice), then the ridge output layer (Eq 5.4)
    on the active units with a shared bandwidth ``sigma``.

    ``mask``, ``sigma``, ``lam`` and ``refine`` are traced: one compiled function serves every
    number of prototypes, bandwidth and choice (widgets).

    Args:
        X: ``(n, d)``; y: ``(n,)``; C0: ``(M, d)`` starting prototypes; mask: ``(M,)`` bool;
        sigma: shared bandwidth > 0; lam: ridge penalty > 0; refine: run k-means or not.

    Returns:
        ``(centers: (M, d), w: (M,))``, zero weights for the switched-off units.
    """
    X = _matrix("X", X)
    y = _targets(y, X.shape[0])
    C0 = _centers(C0, X.shape[1])
    mask = jnp.asarray(mask)
    if mask.shape != (C0.shape[0],) or mask.dtype != jnp.bool_:
        raise ValueError(
            f"`mask` must be a boolean array of shape ({C0.shape[0]},), got shape "
            f"{tuple(mask.shape)} and dtype {mask.dtype}."
        )
    _sigma(sigma, C0.shape[0], allow_inf=False)
    _validate.positive("lam", lam)
    iters = _validate.positive_int("kmeans_iters", kmeans_iters)
    dt = X.dtype
    return _two_stage_padded(
        X, y, C0, mask, jnp.asarray(sigma, dt), jnp.asarray(lam, dt), jnp.asarray(refine, bool),
        iters,
    )  # fmt: skip


@functools.partial(jax.jit, static_argnums=7)
def _two_stage_padded(X, y, C0, mask, sigma, lam, refine, iters):
    C = jnp.where(refine, kmeans._run(X, C0, mask, iters).centers, C0)
    H = _activations(X, C, sigma)
    return C, _masked_ridge(H, y, mask, lam)


# ------------------------------------------------------------------------------ forward selection


def _sse_with(H, y, cols_mask):
    # training SSE of the least-squares fit on the switched-on columns (min-norm lstsq: the
    # zeroed columns change nothing)
    Hm = H * cols_mask[None, :]
    w = jnp.linalg.lstsq(Hm, y)[0]
    return jnp.sum((Hm @ w - y) ** 2)


@functools.partial(jax.jit, static_argnames="k")
def _greedy(H, y, k):
    N = H.shape[1]

    def body(chosen, r):
        sel = jnp.zeros(N, bool).at[chosen].set(jnp.arange(k) < r)

        def try_one(j):
            return _sse_with(H, y, sel.at[j].set(True))

        sse = jax.vmap(try_one)(jnp.arange(N))
        sse = jnp.where(sel, jnp.inf, sse)
        j = jnp.argmin(sse).astype(jnp.int32)
        return chosen.at[r].set(j), sse[j]

    chosen, sses = lax.scan(body, jnp.zeros(k, jnp.int32), jnp.arange(k))
    return chosen, sses


def greedy_select(H: ArrayLike, y: ArrayLike, k: int) -> tuple[Array, Array]:
    r"""Brute-force greedy forward selection of hidden units (§5.2.3): at each of ``k`` steps,
    refit the output layer by least squares once for *every* remaining candidate column of
    ``H`` and keep the one with the smallest training error. ($N$ refits per step: the
    inefficiency OLS removes.)

    Args:
        H: ``(n, N)`` activations of all candidate prototypes (e.g. every training point).
        y: ``(n,)`` targets.
        k: number of units to select, ``k <= N``.

    Returns:
        ``(order: (k,) int32, sse: (k,))``, the training sum of squared errors after each pick.
    """
    H, y = _h_and_y(H, y)
    k = _check_k(k, H.shape[1], y)
    return _greedy(H, y, k)


def _check_k(k, N, y):
    k = _validate.positive_int("k", k)
    if k > N:
        raise ValueError(f"`k` must be at most the number of candidate columns N = {N}, got {k}.")
    if y.ndim != 1:
        raise ValueError(f"`y` must be 1-dimensional here, got shape {y.shape}.")
    return k


@functools.partial(jax.jit, static_argnames="k")
def _ols(H, y, k):
    N = H.shape[1]
    tiny = jnp.finfo(H.dtype).eps * jnp.max(jnp.sum(H * H, axis=0))

    def body(carry, _):
        Q, taken, sse = carry
        qq = jnp.sum(Q * Q, axis=0)  # (N,)
        qy = Q.T @ y  # (N,)
        # error reduction of candidate j: (q_j . y)^2 / (q_j . q_j)
        gain = jnp.where(taken | (qq <= tiny), -jnp.inf, qy**2 / jnp.where(qq > tiny, qq, 1.0))
        j = jnp.argmax(gain).astype(jnp.int32)
        q = Q[:, j]
        # Gram-Schmidt: remove the new direction from every remaining candidate column
        Q = Q - jnp.outer(q, (q @ Q) / (q @ q))
        sse = sse - gain[j]
        return (Q, taken.at[j].set(True), sse), (j, sse)

    init = (H, jnp.zeros(N, bool), jnp.sum(y**2))
    _, (order, sses) = lax.scan(body, init, None, length=k)
    return order, sses


def ols_select(H: ArrayLike, y: ArrayLike, k: int) -> tuple[Array, Array]:
    r"""Orthogonal least squares forward selection (§5.2.3, Chen, Cowan & Grant 1991).

    Keep every candidate column orthogonalized (Gram–Schmidt) against the columns already
    chosen: $q_j \Leftarrow q_j - \frac{q_p^\top q_j}{q_p^\top q_p}\,q_p$ after picking $p$.
    Adding candidate $j$ then lowers the training error by exactly
    $(q_j^\top y)^2/(q_j^\top q_j)$ (the *error reduction*; divided by $y^\top y$ it is Chen et
    al.'s error-reduction ratio), so the best next unit comes from one matrix product instead
    of $N$ refits: the same sequence as :func:`greedy_select`.

    Args:
        H: ``(n, N)`` candidate activations; y: ``(n,)``; k: units to select.

    Returns:
        ``(order: (k,) int32, sse: (k,))`` as :func:`greedy_select`.
    """
    H, y = _h_and_y(H, y)
    k = _check_k(k, H.shape[1], y)
    return _ols(H, y, k)


def selection_errors(
    H: ArrayLike, y: ArrayLike, H_val: ArrayLike, y_val: ArrayLike, order: ArrayLike
) -> tuple[Array, Array]:
    r"""Training and held-out mean squared error of the least-squares output layer on the
    first $r$ selected units, for $r = 1..k$ (§5.2.3: stop where the held-out error is least).

    Args:
        H: ``(n, N)``; y: ``(n,)``; H_val: ``(n_val, N)`` (the same candidate units);
        y_val: ``(n_val,)``; order: ``(k,)`` column indices (from :func:`ols_select`).

    Returns:
        ``(train_mse: (k,), val_mse: (k,))``.
    """
    H, y = _h_and_y(H, y)
    Hv = _matrix("H_val", H_val, what="example (row)")
    if Hv.shape[1] != H.shape[1]:
        raise ValueError(f"`H_val` must have N = {H.shape[1]} columns, got shape {Hv.shape}.")
    yv = _targets(y_val, Hv.shape[0])
    order = _validate.index_array("order", order, size=H.shape[1], ndim=1)
    return _selection_errors(H, y, Hv, yv, order)


@jax.jit
def _selection_errors(H, y, Hv, yv, order):
    k, N = order.shape[0], H.shape[1]

    def one(r):
        sel = jnp.zeros(N, bool).at[order].set(jnp.arange(k) < r)
        Hm = H * sel[None, :]
        w = jnp.linalg.lstsq(Hm, y)[0]
        return jnp.mean((Hm @ w - y) ** 2), jnp.mean(((Hv * sel[None, :]) @ w - yv) ** 2)

    return jax.vmap(one)(jnp.arange(1, k + 1))


# ------------------------------------------------------------------------------ supervised training


class RBFParams(NamedTuple):
    """An RBF network: ``centers (m, d)``, ``sigma (m,)`` bandwidths, output weights ``w (m,)``."""

    centers: Array
    sigma: Array
    w: Array


def _params(params: RBFParams, d: int) -> RBFParams:
    C = _centers(params.centers, d)
    m = C.shape[0]
    s = _sigma(params.sigma, m, allow_inf=False)
    if s.ndim != 1:
        raise ValueError(f"`params.sigma` must have shape ({m},), got a scalar.")
    w = _validate.float_array("w", params.w, ndim=1)
    if w.shape[0] != m:
        raise ValueError(f"`params.w` must have shape ({m},), got {w.shape}.")
    return RBFParams(C, s, _validate.finite("w", w))


def _xy(X, y):
    X = _matrix("X", X)
    y = _validate.float_array("y", y, ndim=1)
    _validate.same_rows("X", X, "y", y)
    return X, _validate.finite("y", y)


def _loss(params, X, y):
    H = _activations(X, params.centers, params.sigma)
    return 0.5 * jnp.sum((H @ params.w - y) ** 2)


def squared_loss(params: RBFParams, X: ArrayLike, y: ArrayLike) -> Array:
    r"""Eq 5.7: $L = \frac12\sum_{i=1}^n (H_i\cdot W - y_i)^2$ as a function of all the
    parameters (prototypes, bandwidths, weights)."""
    X, y = _xy(X, y)
    return _loss_jit(_params(params, X.shape[1]), X, y)


_loss_jit = jax.jit(_loss)


def _hand_grads(params, X, y):
    C, s, w = params
    H = _activations(X, C, s)  # (n, m)
    err = H @ w - y  # (n,)
    diff = X[:, None, :] - C[None, :, :]  # (n, m, d)
    G = err[:, None] * w[None, :] * H  # (n, m): (H_i.W - y_i) w_j Phi_j(X_i)
    g_mu = jnp.einsum("nm,nmd->md", G, diff) / s[:, None] ** 2  # Eq 5.8
    g_sigma = jnp.sum(G * jnp.sum(diff**2, axis=-1), axis=0) / s**3
    g_w = H.T @ err
    return RBFParams(g_mu, g_sigma, g_w)


_hand_grads_jit = jax.jit(_hand_grads)


def loss_gradients(params: RBFParams, X: ArrayLike, y: ArrayLike) -> RBFParams:
    r"""The hand-derived gradients of Eq 5.7 (§5.2.4), with $e_i = H_i\cdot W - y_i$:

    $$\frac{\partial L}{\partial \mu_{jk}} = \sum_i e_i\, w_j\, \Phi_j(X_i)\,
      \frac{x_{ik} - \mu_{jk}}{\sigma_j^2} \quad\text{(Eq 5.8)},\qquad
      \frac{\partial L}{\partial \sigma_j} = \sum_i e_i\, w_j\, \Phi_j(X_i)\,
      \frac{\|X_i - \mu_j\|^2}{\sigma_j^3},$$

    and $\partial L/\partial W^\top = H^\top e$. (Aggarwal's vector $\partial L/\partial W$
    runs to $w_d$; it has $m$ components, one per hidden unit.)

    Returns:
        an :class:`RBFParams` of gradients with the parameters' shapes.
    """
    X, y = _xy(X, y)
    return _hand_grads_jit(_params(params, X.shape[1]), X, y)


def shared_sigma_gradient(params: RBFParams, X: ArrayLike, y: ArrayLike) -> Array:
    r"""$\partial L/\partial\sigma$ when every unit shares one bandwidth $\sigma$
    (``params.sigma`` all equal to it): $\sum_j \partial L/\partial\sigma_j$ (§5.2.4)."""
    return jnp.sum(loss_gradients(params, X, y).sigma)


@functools.partial(jax.jit, static_argnames=("steps", "train_hidden"))
def _train(params, X, y, lr, steps, train_hidden):
    n = X.shape[0]
    opt = optim.adam(lr)
    floor = 0.01 * params.sigma

    def body(carry, _):
        p, state = carry
        g = _hand_grads(p, X, y)
        g = jax.tree.map(lambda a: a / n, g)  # the gradient of the mean loss
        if not train_hidden:
            g = g._replace(centers=jnp.zeros_like(g.centers), sigma=jnp.zeros_like(g.sigma))
        u, state = opt.update(g, state, p)
        p = optim.apply_updates(p, u)
        # a bandwidth must stay positive: a floor of 1% of its start keeps the bumps defined
        p = p._replace(sigma=jnp.maximum(p.sigma, floor))
        return (p, state), _loss(carry[0], X, y) / n

    (p, _), losses = lax.scan(body, (params, opt.init(params)), None, length=steps)
    return p, losses


def train_supervised(
    params: RBFParams, X: ArrayLike, y: ArrayLike, *, lr: Any, steps: int, train_hidden: bool = True
) -> tuple[RBFParams, Array]:
    r"""Fully supervised training (§5.2.4): Adam (§3.5.3.5, :func:`course_lib.optim.adam`)
    on the *mean* of Eq 5.7 over the prototypes, bandwidths and weights (or the weights alone
    with ``train_hidden=False``), fed with the hand gradients of :func:`loss_gradients`.

    Plain gradient descent is a poor fit here: the output weights of a two-stage fit are often
    large, the gradients for $\mu$ and $\sigma$ scale with them, and a step size small enough
    for those is far too small for the rest. Adam scales each coordinate's step. Bandwidths are
    kept above 1% of their starting values.

    Args:
        params: start (e.g. k-means prototypes, a rule-of-thumb bandwidth, ridge weights).
        X: ``(n, d)``; y: ``(n,)``; lr: Adam's step size $\alpha > 0$ (traced);
        steps: iterations.

    Returns:
        ``(params, losses: (steps,))``, the mean loss before each step.
    """
    X, y = _xy(X, y)
    params = _params(params, X.shape[1])
    _validate.positive("lr", lr)
    steps = _validate.positive_int("steps", steps)
    if not isinstance(train_hidden, bool):
        raise TypeError(f"`train_hidden` must be True or False, got {train_hidden!r}.")
    return _train(params, X, y, jnp.asarray(lr, X.dtype), steps, train_hidden)


# ------------------------------------------------------------------------------ a 1-D example


def target_curve(x: ArrayLike) -> Array:
    r"""The smooth 1-D curve the chapter's regression examples sample:
    $f(x) = \sin(3x) + 0.5\cos(7x)$ on $[-1, 1]$ (wiggly enough to need several bumps)."""
    return _target(jnp.asarray(x))


@jax.jit
def _target(x):
    return jnp.sin(3.0 * x) + 0.5 * jnp.cos(7.0 * x)


def toy_regression(*, key: Any, n: int, noise: Any = 0.2) -> tuple[Array, Array]:
    r"""``n`` inputs uniform on $[-1, 1]$ (as an ``(n, 1)`` matrix) and targets
    $f(x) + \varepsilon$, $\varepsilon \sim \mathcal N(0, \text{noise}^2)$ (:func:`target_curve`).

    Returns:
        ``(X: (n, 1), y: (n,))``.
    """
    _validate.prng_key("key", key)
    n = _validate.positive_int("n", n)
    _validate.positive("noise", noise, allow_zero=True)
    return _toy(key, n, noise)


@functools.partial(jax.jit, static_argnums=1)
def _toy(key, n, noise):
    kx, ke = jax.random.split(key)
    x = jax.random.uniform(kx, (n,), minval=-1.0, maxval=1.0)
    return x[:, None], _target(x) + noise * jax.random.normal(ke, (n,))
