r"""Recurrent networks: a vanilla RNN with hand-written BPTT, echo-state networks, LSTM and GRU.

Aggarwal ch. 7 (§7.2 architecture, §7.2.1 language-model toy, §7.2.2 BPTT and its truncated
form, §7.3 vanishing/exploding gradients, §7.4 echo-state networks, §7.5 LSTM, §7.6 GRU) and
Goodfellow et al. §10.2.2 (BPTT, Eq 10.17-10.21).

**Vanilla RNN** (Eq 7.1-7.2, column-vector convention of the book): with a $d$-dimensional input
$x_t$, a $p$-dimensional hidden state and $q$ outputs,

$$h_t = \tanh(W_{xh} x_t + W_{hh} h_{t-1} + b_h),\qquad y_t = W_{hy} h_t + b_y,$$

with $W_{xh}\in\mathbb R^{p\times d}$, $W_{hh}\in\mathbb R^{p\times p}$,
$W_{hy}\in\mathbb R^{q\times p}$. The same weights are used at every time step; the sequence
runs in one :func:`jax.lax.scan`.

**BPTT** (:func:`bptt`) is written by hand as a reverse scan. With
$\hat p_t = \mathrm{softmax}(y_t)$ and $L = -\sum_t \log \hat p_t[j_t]$ (Eq 7.3),
$\partial L/\partial y_t = \hat p_t - e_{j_t}$ (Eq 7.4) and, for $a_t$ the pre-activation,

$$\nabla_{h_t} L = W_{hy}^\top \nabla_{y_t} L + W_{hh}^\top \nabla_{a_{t+1}} L,\qquad
\nabla_{a_t} L = (1 - h_t^2)\odot\nabla_{h_t} L .$$

This is Goodfellow's Eq 10.21 in the dimensionally correct order
$W^\top \mathrm{diag}(1-h_{t+1}^2)\nabla_{h_{t+1}}L + V^\top\nabla_{o_t}L$ (the printed order
$W^\top(\nabla_{h_{t+1}}L)\mathrm{diag}(\cdot)$ does not type-check). Shared-weight gradients
are sums over time: $\nabla_{W_{hh}}L = \sum_t \nabla_{a_t}L\, h_{t-1}^\top$, etc.

**LSTM / GRU** cells use a fused *row* layout: one matrix multiplies the concatenation
$[x_t, h_{t-1}]$ (a row vector) for all gates at once, ``z = concat([x, h]) @ W + b``.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from course_lib import _validate, optim
from course_lib._types import Array, ArrayLike, PRNGKey

# ------------------------------------------------------------------------------ data: the toy

TOY_VOCAB: tuple[str, ...] = ("the", "cat", "chased", "mouse")
TOY_SENTENCE: tuple[str, ...] = ("the", "cat", "chased", "the", "mouse")


def toy_language_model_data() -> tuple[Array, Array]:
    r"""The 4-word language-model toy of Aggarwal §7.2.1: "the cat chased the mouse".

    Vocabulary ``TOY_VOCAB`` = (the, cat, chased, mouse), one-hot inputs. The inputs are the
    first four words (the, cat, chased, the) and the targets the next words (cat, chased, the,
    mouse). "the" occurs twice with different successors, so a bigram model gets at most 3 of
    the 4 predictions right; an RNN with memory can get all 4.

    Returns ``(xs, targets)``: one-hot inputs of shape ``(4, 4)`` (time, vocabulary) and int32
    target ids of shape ``(4,)``.
    """
    ids = np.array([TOY_VOCAB.index(w) for w in TOY_SENTENCE], dtype=np.int32)
    xs = jax.nn.one_hot(ids[:-1], len(TOY_VOCAB))
    return xs, jnp.asarray(ids[1:])


# ------------------------------------------------------------------------------ validation


def _sequence(name: str, xs: Any, dim: int | None = None) -> Array:
    xs = _validate.float_array(name, xs, ndim=2)
    if xs.shape[0] < 1:
        raise ValueError(f"`{name}` must hold at least one time step, got shape {xs.shape}.")
    if dim is not None and xs.shape[1] != dim:
        raise ValueError(
            f"`{name}` must have shape (T, {dim}) to match the input weights, "
            f"got {tuple(xs.shape)}."
        )
    return xs


def _targets(name: str, targets: Any, T: int, q: int) -> Array:
    if isinstance(targets, jax.Array):
        arr = targets
    else:
        arr = jnp.asarray(np.asarray(targets))
    if not jnp.issubdtype(arr.dtype, jnp.integer):
        raise TypeError(f"`{name}` must hold integer class ids, got dtype {arr.dtype}.")
    if arr.shape != (T,):
        raise ValueError(f"`{name}` must have shape ({T},) (one id per step), got {arr.shape}.")
    if not _validate.is_traced(arr):
        v = np.asarray(arr)
        if v.size and (v.min() < 0 or v.max() >= q):
            raise ValueError(
                f"`{name}` must hold ids in [0, {q - 1}] (the output size), "
                f"got values in [{v.min()}, {v.max()}]."
            )
    return arr


def _hidden(name: str, h0: Any, p: int, dtype: Any) -> Array:
    if h0 is None:
        return jnp.zeros((p,), dtype)
    h0 = _validate.float_array(name, h0, ndim=1)
    if h0.shape != (p,):
        raise ValueError(f"`{name}` must have shape ({p},), got {tuple(h0.shape)}.")
    return h0


_ACTIVATIONS = {"tanh": jnp.tanh, "linear": lambda a: a}


# ------------------------------------------------------------------------------ vanilla RNN


class RNNParams(NamedTuple):
    """Vanilla RNN weights (book's column convention): shapes (p,d), (p,p), (q,p), (p,), (q,)."""

    W_xh: Array
    W_hh: Array
    W_hy: Array
    b_h: Array
    b_y: Array


def init(
    *, key: PRNGKey, input_dim: int, hidden_dim: int, output_dim: int, scale: float = 1.0
) -> RNNParams:
    r"""Random RNN weights: Gaussian entries with variance ``scale / fan_in``, zero biases.

    $W_{xh}\sim\mathcal N(0, s/d)$, $W_{hh}\sim\mathcal N(0, s/p)$, $W_{hy}\sim\mathcal N(0, s/p)$
    (§7.2). The parameter count $pd + p^2 + qp + p + q$ does not depend on the sequence length.
    """
    _validate.prng_key("key", key)
    d = _validate.positive_int("input_dim", input_dim)
    p = _validate.positive_int("hidden_dim", hidden_dim)
    q = _validate.positive_int("output_dim", output_dim)
    _validate.positive("scale", scale)
    k1, k2, k3 = jax.random.split(key, 3)
    dt = jnp.result_type(float)
    return RNNParams(
        W_xh=jax.random.normal(k1, (p, d), dt) * np.sqrt(scale / d),
        W_hh=jax.random.normal(k2, (p, p), dt) * np.sqrt(scale / p),
        W_hy=jax.random.normal(k3, (q, p), dt) * np.sqrt(scale / p),
        b_h=jnp.zeros((p,), dt),
        b_y=jnp.zeros((q,), dt),
    )


def _check_params(params: Any) -> RNNParams:
    if not isinstance(params, RNNParams):
        raise TypeError(f"`params` must be an RNNParams, got {type(params).__name__}.")
    p, d = params.W_xh.shape
    q = params.W_hy.shape[0]
    want = {"W_hh": (p, p), "W_hy": (q, p), "b_h": (p,), "b_y": (q,)}
    for name, shape in want.items():
        got = tuple(getattr(params, name).shape)
        if got != shape:
            raise ValueError(f"`params.{name}` must have shape {shape}, got {got}.")
    return params


def rnn_step(params: RNNParams, h: Array, x: Array, activation: str = "tanh") -> Array:
    r"""One recurrence $h_t = \phi(W_{xh}x_t + W_{hh}h_{t-1} + b_h)$ (Eq 7.1).

    ``h (p,)``, ``x (d,)`` -> ``(p,)``.
    """
    phi = _validate.lookup("activation", _ACTIVATIONS, activation)
    return phi(params.W_xh @ x + params.W_hh @ h + params.b_h)


def forward(
    params: RNNParams, xs: ArrayLike, h0: ArrayLike | None = None, activation: str = "tanh"
) -> tuple[Array, Array]:
    r"""Run the RNN over a sequence with :func:`jax.lax.scan` (§7.2, Eq 7.1-7.2).

    $h_t = \phi(W_{xh}x_t + W_{hh}h_{t-1} + b_h)$, $y_t = W_{hy}h_t + b_y$, $t = 1..T$,
    $\phi = \tanh$ (or the identity with ``activation="linear"``).

    Args: ``xs (T, d)``; ``h0 (p,)`` (zeros by default).
    Returns ``(hs, ys)`` with ``hs (T, p)`` the hidden states $h_1..h_T$ and ``ys (T, q)`` the
    output scores.
    """
    params = _check_params(params)
    xs = _sequence("xs", xs, params.W_xh.shape[1])
    h0 = _hidden("h0", h0, params.W_hh.shape[0], xs.dtype)
    _validate.lookup("activation", _ACTIVATIONS, activation)

    def step(h, x):
        h = rnn_step(params, h, x, activation)
        return h, h

    _, hs = lax.scan(step, h0, xs)
    ys = hs @ params.W_hy.T + params.b_y[None, :]
    return hs, ys


def _step_losses(ys: Array, targets: Array) -> Array:
    return -jnp.take_along_axis(jax.nn.log_softmax(ys, axis=-1), targets[:, None], axis=-1)[:, 0]


def sequence_loss(
    params: RNNParams, xs: ArrayLike, targets: ArrayLike, h0: ArrayLike | None = None
) -> Array:
    r"""Summed per-step softmax cross-entropy $L = -\sum_{t=1}^T \log\hat p_t[j_t]$ (Eq 7.3).

    Args: ``xs (T, d)`` (one-hot rows for a language model), ``targets (T,)`` int ids in
    ``[0, q)``, ``h0 (p,)``. Returns a scalar.
    """
    params = _check_params(params)
    xs = _sequence("xs", xs, params.W_xh.shape[1])
    targets = _targets("targets", targets, xs.shape[0], params.W_hy.shape[0])
    _, ys = forward(params, xs, h0)
    return jnp.sum(_step_losses(ys, targets))


def bptt(
    params: RNNParams,
    xs: ArrayLike,
    targets: ArrayLike,
    h0: ArrayLike | None = None,
    truncate: int | None = None,
) -> tuple[Array, RNNParams]:
    r"""Hand-written backpropagation through time (§7.2.2; Goodfellow Eq 10.17-10.21, corrected).

    Backward recursion, a reverse :func:`jax.lax.scan` from $t = T$ to 1, with
    $\delta^{h}_{T+1} = 0$:

    $$g_{y_t} = \hat p_t - e_{j_t},\quad
    g_{h_t} = W_{hy}^\top g_{y_t} + \delta^h_{t+1},\quad
    g_{a_t} = (1-h_t^2)\odot g_{h_t},\quad \delta^h_t = W_{hh}^\top g_{a_t},$$

    and the shared weights collect the per-step copies' gradients:
    $\nabla W_{hy} = \sum_t g_{y_t}h_t^\top$, $\nabla W_{xh} = \sum_t g_{a_t}x_t^\top$,
    $\nabla W_{hh} = \sum_t g_{a_t}h_{t-1}^\top$, $\nabla b_h = \sum_t g_{a_t}$,
    $\nabla b_y = \sum_t g_{y_t}$.

    ``truncate=k`` gives truncated BPTT (§7.2.2): the message $\delta^h$ is not passed back
    across the boundaries $t = k, 2k, \dots$, i.e. $h_{t}$ for $t$ a multiple of $k$ is treated
    as a constant input to the next segment (the same as :func:`truncated_loss`'s
    ``stop_gradient``).

    Returns ``(loss, grads)`` with ``grads`` an :class:`RNNParams` of the same shapes.
    """
    params = _check_params(params)
    xs = _sequence("xs", xs, params.W_xh.shape[1])
    T = xs.shape[0]
    targets = _targets("targets", targets, T, params.W_hy.shape[0])
    h0 = _hidden("h0", h0, params.W_hh.shape[0], xs.dtype)
    k = T if truncate is None else _validate.positive_int("truncate", truncate)
    hs, ys = forward(params, xs, h0)
    loss = jnp.sum(_step_losses(ys, targets))
    g_ys = jax.nn.softmax(ys, axis=-1) - jax.nn.one_hot(targets, ys.shape[1], dtype=ys.dtype)
    h_prev = jnp.concatenate([h0[None, :], hs[:-1]], axis=0)
    steps = jnp.arange(1, T + 1)

    def back(delta, inputs):
        h, g_y, t = inputs
        g_h = params.W_hy.T @ g_y + delta
        g_a = (1.0 - h**2) * g_h
        delta = params.W_hh.T @ g_a
        # truncation: nothing flows from step t into step t-1 when t-1 is a multiple of k
        delta = jnp.where((t - 1) % k == 0, jnp.zeros_like(delta), delta)
        return delta, g_a

    _, g_as = lax.scan(back, jnp.zeros_like(h0), (hs, g_ys, steps), reverse=True)
    grads = RNNParams(
        W_xh=g_as.T @ xs,
        W_hh=g_as.T @ h_prev,
        W_hy=g_ys.T @ hs,
        b_h=jnp.sum(g_as, axis=0),
        b_y=jnp.sum(g_ys, axis=0),
    )
    return loss, grads


def truncated_forward(
    params: RNNParams, xs: ArrayLike, k: int, h0: ArrayLike | None = None
) -> tuple[Array, Array]:
    r""":func:`forward` with ``lax.stop_gradient`` on $h_t$ for every $t$ a multiple of $k$.

    The values are those of :func:`forward`; only the derivatives change: nothing flows back
    across a segment boundary, so $\partial y_t/\partial x_s = 0$ whenever $s$ lies in an earlier
    segment than $t$ (in particular for every $t - s \geq k$). Returns ``(hs (T, p), ys (T, q))``.
    """
    params = _check_params(params)
    xs = _sequence("xs", xs, params.W_xh.shape[1])
    k = _validate.positive_int("k", k)
    h0 = _hidden("h0", h0, params.W_hh.shape[0], xs.dtype)

    def step(h, inp):
        x, t = inp  # t = 1..T; h is h_{t-1}
        h = jnp.where((t - 1) % k == 0, lax.stop_gradient(h), h)
        h = rnn_step(params, h, x)
        return h, h

    _, hs = lax.scan(step, h0, (xs, jnp.arange(1, xs.shape[0] + 1)))
    return hs, hs @ params.W_hy.T + params.b_y[None, :]


def truncated_loss(
    params: RNNParams, xs: ArrayLike, targets: ArrayLike, k: int, h0: ArrayLike | None = None
) -> Array:
    r"""The loss of Eq 7.3 computed by :func:`truncated_forward` (segments of $k$ steps).

    The value equals :func:`sequence_loss`; its ``jax.grad`` is the truncated-BPTT gradient
    *estimate*: the sum of every segment's gradient, each backpropagated only within its segment
    (§7.2.2). For $k \geq T$ it is full BPTT. It costs as much as full BPTT (one backward pass
    over the whole graph) and makes no update between segments; :func:`train_truncated_bptt` is
    the book's algorithm.
    """
    params = _check_params(params)
    xs = _sequence("xs", xs, params.W_xh.shape[1])
    targets = _targets("targets", targets, xs.shape[0], params.W_hy.shape[0])
    _, ys = truncated_forward(params, xs, k, h0)
    return jnp.sum(_step_losses(ys, targets))


@functools.partial(jax.jit, static_argnames=("k",))
def _train_truncated(params, xs, targets, h0, learning_rate, k):
    n = xs.shape[0] // k
    segments = (xs.reshape(n, k, xs.shape[1]), targets.reshape(n, k))
    tx = optim.adam(learning_rate)

    def segment(carry, inp):
        params, opt_state, h = carry
        x, t = inp

        def loss(p):  # forward and backward over this segment only, from the carried state
            hs, ys = forward(p, x, h)
            return jnp.sum(_step_losses(ys, t)), hs[-1]

        (value, h_end), grads = jax.value_and_grad(loss, has_aux=True)(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return (optim.apply_updates(params, updates), opt_state, h_end), value

    (params, _, h), losses = lax.scan(segment, (params, tx.init(params), h0), segments)
    return params, losses, h


def train_truncated_bptt(
    params: RNNParams,
    xs: ArrayLike,
    targets: ArrayLike,
    *,
    k: int,
    learning_rate: Any = 1e-2,
    h0: ArrayLike | None = None,
) -> tuple[RNNParams, Array, Array]:
    r"""Truncated BPTT as Aggarwal §7.2.2 describes it: one pass over a long sequence in segments.

    The sequence is cut into $T/k$ segments of $k$ steps. For each segment in turn: run the
    forward pass from the state carried over from the previous segment (a constant: no
    gradient flows into it), backpropagate through these $k$ steps only, and **update the
    weights** (one Adam step), before the next segment is read with the new weights. The
    backward pass stores $k$ steps, not $T$, and the weights move $T/k$ times per pass. All
    segments run in one ``lax.scan`` under ``jit`` ($k$ fixes the shapes; the learning rate
    is traced).

    Args: ``xs (T, d)``, ``targets (T,)`` int ids, ``k`` a divisor of $T$, ``h0 (p,)``.
    Returns ``(params, losses (T/k,), h_T)``: the trained weights, each segment's summed
    cross-entropy *before* its update, and the last state.
    """
    params = _check_params(params)
    xs = _sequence("xs", xs, params.W_xh.shape[1])
    T = xs.shape[0]
    targets = _targets("targets", targets, T, params.W_hy.shape[0])
    k = _validate.positive_int("k", k)
    if T % k:
        raise ValueError(f"`k` must divide the sequence length T = {T}, got k = {k}.")
    _validate.positive("learning_rate", learning_rate)
    h0 = _hidden("h0", h0, params.W_hh.shape[0], xs.dtype)
    lr = jnp.asarray(learning_rate, xs.dtype)
    return _train_truncated(params, xs, targets, h0, lr, k)


def train_truncated_bptt_cache_size() -> int:
    """Number of compiled versions of :func:`train_truncated_bptt` (one per ``k`` and shape)."""
    return _train_truncated._cache_size()


# -------------------------------------------------------------------------- vanishing / exploding


def recurrent_matrix(
    *, key: PRNGKey, size: int, spectral_radius: float, normal: bool = False
) -> Array:
    r"""A ``(size, size)`` recurrent matrix rescaled to spectral radius $\rho$ (§7.3, §7.4 Eq 7.7).

    Gaussian entries, then $W \leftarrow \rho\, W / |\lambda_{\max}(W)|$. With ``normal=True``
    the matrix is $\rho Q$ for a random orthogonal $Q$ (from a QR factorization): a *normal*
    matrix, whose powers have spectral norm exactly $\|W^k\|_2 = \rho^k$.
    """
    _validate.prng_key("key", key)
    n = _validate.positive_int("size", size)
    _validate.positive("spectral_radius", spectral_radius)
    A = np.asarray(jax.random.normal(key, (n, n), jnp.result_type(float)), dtype=np.float64)
    if normal:
        Q, R = np.linalg.qr(A)
        W = Q * np.sign(np.diag(R))[None, :]
    else:
        W = A / np.max(np.abs(np.linalg.eigvals(A)))
    return jnp.asarray(spectral_radius * W, dtype=jnp.result_type(float))


def nonnormal_parts(*, key: PRNGKey, size: int) -> tuple[Array, Array]:
    r"""Orthogonal $Q$ and nilpotent $N$ with $\rho(\rho\,Q + s\,N) = \rho$ for every $s$ (§7.3).

    Built from a real Schur form: with $V$ a random orthogonal matrix, $B$ block diagonal
    with random $2\times2$ rotations (and a 1 if ``size`` is odd; ``size`` $\geq 3$) and $S$
    random, *strictly* block-upper-triangular (zero on and below the diagonal blocks), scaled
    to $\|S\|_2 = 1$,

    $$Q = VBV^\top,\qquad N = VSV^\top .$$

    $W = \rho Q + sN = V(\rho B + sS)V^\top$ is block triangular in the basis $V$, so its
    eigenvalues are those of $\rho B$: modulus $\rho$, whatever $s$. For $s = 0$, $W$ is normal
    and $\|W^k\|_2 = \rho^k$; for $s > 0$ it is non-normal, $\|W\|_2 > \rho$, and $\|W^k\|_2$ can
    grow for a while before it decays (the radius sets only the long-run rate,
    $\|W^k\|_2^{1/k}\to\rho$). Returns ``(Q, N)``, each ``(size, size)``.
    """
    _validate.prng_key("key", key)
    n = _validate.positive_int("size", size)
    if n < 3:
        raise ValueError(f"`size` must be at least 3 (N is zero for one 2x2 block), got {n}.")
    k1, k2, k3 = jax.random.split(key, 3)
    dt = jnp.result_type(float)
    A = np.asarray(jax.random.normal(k1, (n, n), dt), dtype=np.float64)
    V, R = np.linalg.qr(A)
    V = V * np.where(np.diag(R) < 0, -1.0, 1.0)[None, :]
    angles = np.asarray(jax.random.uniform(k2, (n // 2,), dt, 0.0, np.pi), dtype=np.float64)
    B, block = np.zeros((n, n)), np.arange(n) // 2  # block[i]: the diagonal block of row i
    for i, a in enumerate(angles):
        B[2 * i : 2 * i + 2, 2 * i : 2 * i + 2] = [[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]
    if n % 2:
        B[-1, -1] = 1.0
    S = np.asarray(jax.random.normal(k3, (n, n), dt), dtype=np.float64)
    S = np.where(block[:, None] < block[None, :], S, 0.0)
    S = S / np.linalg.norm(S, 2)
    return jnp.asarray(V @ B @ V.T, dtype=dt), jnp.asarray(V @ S @ V.T, dtype=dt)


def spectral_radius(W: ArrayLike) -> float:
    r"""$\rho(W) = \max_i |\lambda_i(W)|$ of a square matrix (NumPy eigenvalues)."""
    W = _validate.float_array("W", W, ndim=2)
    if W.shape[0] != W.shape[1]:
        raise ValueError(f"`W` must be square, got shape {tuple(W.shape)}.")
    return float(np.max(np.abs(np.linalg.eigvals(np.asarray(W, dtype=np.float64)))))


def hidden_jacobian_norms(
    params: RNNParams, xs: ArrayLike, h0: ArrayLike | None = None, activation: str = "tanh"
) -> Array:
    r"""Spectral norms $\|\partial h_T/\partial h_t\|_2$ for $t = 0..T$ (§7.3, Lemma 7.3.1).

    By the chain rule $\partial h_T/\partial h_t = \prod_{s=T}^{t+1} D_s W_{hh}$ with
    $D_s = \mathrm{diag}(1 - h_s^2)$ for tanh and $D_s = I$ for the linear recurrence. The
    product is accumulated by a reverse scan. Returns ``(T+1,)``; entry $t$ is the norm for
    $\partial h_T/\partial h_t$ (entry $T$ is $\|I\|_2 = 1$). For a linear recurrence with a
    normal $W_{hh}$ of spectral radius $\rho$ the entries are $\rho^{T-t}$: they vanish for
    $\rho<1$ and explode for $\rho>1$.
    """
    params = _check_params(params)
    hs, _ = forward(params, xs, h0, activation)
    p = hs.shape[1]
    eye = jnp.eye(p, dtype=hs.dtype)

    def back(M, h):
        d = (1.0 - h**2) if activation == "tanh" else jnp.ones_like(h)
        M = M @ (d[:, None] * params.W_hh)
        return M, jnp.linalg.norm(M, ord=2)

    _, norms = lax.scan(back, eye, hs, reverse=True)
    return jnp.concatenate([norms, jnp.ones((1,), hs.dtype)])


def clip_by_value(grads: Any, max_delta: float) -> Any:
    r"""Value clipping of a gradient pytree: each entry to $[-c, c]$ (§7.3; :func:`optim.clip`)."""
    return optim.clip(max_delta).update(grads, optim.EmptyState())[0]


def clip_by_norm(grads: Any, max_norm: float) -> Any:
    r"""Norm clipping $g \leftarrow g\min(1, c/\|g\|)$ over the whole pytree (§7.3).

    Uses :func:`optim.clip_by_global_norm`; the direction is kept.
    """
    return optim.clip_by_global_norm(max_norm).update(grads, optim.EmptyState())[0]


# ------------------------------------------------------------------------------ echo-state network


class ESN(NamedTuple):
    """A fixed reservoir: input weights ``W_in (p, d)``, recurrent ``W_res (p, p)``."""

    W_in: Array
    W_res: Array


def esn_init(
    *,
    key: PRNGKey,
    input_dim: int,
    reservoir_size: int,
    spectral_radius: float = 0.9,
    input_scaling: float = 1.0,
) -> ESN:
    r"""A random echo-state reservoir (§7.4): $W_{res} = \rho W_0/|\lambda_{\max}(W_0)|$ (Eq 7.7),
    $W_{in} = \beta W_1$ with $W_1$ uniform in $[-1, 1]$; neither is trained."""
    _validate.prng_key("key", key)
    d = _validate.positive_int("input_dim", input_dim)
    p = _validate.positive_int("reservoir_size", reservoir_size)
    _validate.positive("input_scaling", input_scaling)
    k1, k2 = jax.random.split(key)
    W_res = recurrent_matrix(key=k1, size=p, spectral_radius=spectral_radius)
    W_in = input_scaling * jax.random.uniform(k2, (p, d), W_res.dtype, -1.0, 1.0)
    return ESN(W_in, W_res)


def esn_states(esn: ESN, xs: ArrayLike) -> Array:
    r"""Reservoir states $h_t = \tanh(W_{in}x_t + W_{res}h_{t-1})$, $h_0 = 0$ (§7.4).

    ``xs (T, d)`` -> ``(T, p)``.
    """
    xs = _sequence("xs", xs, esn.W_in.shape[1])

    def step(h, x):
        h = jnp.tanh(esn.W_in @ x + esn.W_res @ h)
        return h, h

    _, hs = lax.scan(step, jnp.zeros((esn.W_res.shape[0],), xs.dtype), xs)
    return hs


def ridge_readout(states: ArrayLike, targets: ArrayLike, ridge: float = 1e-6) -> Array:
    r"""Closed-form ridge readout (§7.4: only the output layer is trained, by linear regression).

    With $S = [H, \mathbf 1]$ (states plus a bias column, ``(T, p+1)``) and targets $Y$ ``(T, q)``,
    $W_{out} = (S^\top S + \lambda I)^{-1} S^\top Y$, shape ``(p+1, q)``; predictions are
    $S W_{out}$ (:func:`readout_predict`). The bias is regularised too (a simplification).
    """
    H = _validate.float_array("states", states, ndim=2)
    Y = _validate.float_array("targets", targets, ndim=(1, 2))
    _validate.nonempty("states", H, what="time step (row)")
    _validate.same_rows("states", H, "targets", Y)
    _validate.finite("states", H)
    _validate.finite("targets", Y)
    _validate.positive("ridge", ridge, allow_zero=True)
    Y2 = Y[:, None] if Y.ndim == 1 else Y
    S = jnp.concatenate([H, jnp.ones((H.shape[0], 1), H.dtype)], axis=1)
    if not _validate.is_traced(ridge) and float(ridge) == 0.0:  # ridge > 0: positive definite
        _validate.full_rank_gram(
            "states",
            S,
            what="S^T S (ridge = 0, S = [states, 1])",
            hint="pass ridge > 0 (the default 1e-6), or use more time steps than states + 1.",
        )
    A = S.T @ S + ridge * jnp.eye(S.shape[1], dtype=S.dtype)
    W = jnp.linalg.solve(A, S.T @ Y2)
    return W[:, 0] if Y.ndim == 1 else W


def readout_predict(states: ArrayLike, W_out: ArrayLike) -> Array:
    r"""Readout predictions $\hat y = [H, \mathbf 1] W_{out}$ (§7.4).

    ``states (T, p)``, ``W_out (p+1,)`` or ``(p+1, q)`` -> ``(T,)`` or ``(T, q)``.
    """
    H = _validate.float_array("states", states, ndim=2)
    W = _validate.float_array("W_out", W_out, ndim=(1, 2))
    if W.shape[0] != H.shape[1] + 1:
        raise ValueError(
            f"`W_out` must have {H.shape[1] + 1} rows (states + bias), got {W.shape[0]}."
        )
    return H @ W[:-1] + W[-1:]


def mackey_glass(
    n: int,
    *,
    tau: int = 17,
    beta: float = 0.2,
    gamma: float = 0.1,
    power: float = 10.0,
    initial: float = 1.2,
) -> Array:
    r"""A Mackey-Glass-like chaotic series by unit-step Euler integration (a test series for §7.4).

    $x_{t+1} = x_t + \beta\, x_{t-\tau}/(1 + x_{t-\tau}^{n}) - \gamma x_t$, with $x \equiv$
    ``initial`` (1.2) before the start; returns ``(n,)``. Deterministic, so no key. Chaotic with
    the defaults: two starts $10^{-12}$ apart are $10^{-2}$ apart after about 3000 steps
    (``tests/test_rnn.py``).
    """
    n = _validate.positive_int("n", n)
    tau = _validate.positive_int("tau", tau)
    dt = jnp.result_type(float)
    _validate.positive("initial", initial)
    buf0 = jnp.full((tau + 1,), initial, dt)  # buf[0] = x_{t-tau}, buf[-1] = x_t

    def step(buf, _):
        x, xd = buf[-1], buf[0]
        x_new = x + beta * xd / (1.0 + xd**power) - gamma * x
        return jnp.concatenate([buf[1:], x_new[None]]), x_new

    _, xs = lax.scan(step, buf0, None, length=n)
    return xs


# ------------------------------------------------------------------------------ LSTM and GRU


class LSTMParams(NamedTuple):
    """Fused LSTM weights ``W (d+p, 4p)``, ``b (4p,)`` (gate blocks i, f, o, g) and a readout
    ``W_hy (p, q)``, ``b_y (q,)`` (row layout)."""

    W: Array
    b: Array
    W_hy: Array
    b_y: Array


class GRUParams(NamedTuple):
    """Fused GRU weights: update/reset gates ``W_zr (d+p, 2p)``, ``b_zr (2p,)``; candidate
    ``W_n (d+p, p)``, ``b_n (p,)``; readout ``W_hy (p, q)``, ``b_y (q,)``."""

    W_zr: Array
    b_zr: Array
    W_n: Array
    b_n: Array
    W_hy: Array
    b_y: Array


def _glorot(key: PRNGKey, shape: tuple[int, int]) -> Array:
    dt = jnp.result_type(float)
    return jax.random.normal(key, shape, dt) * np.sqrt(2.0 / (shape[0] + shape[1]))


def lstm_init(
    *, key: PRNGKey, input_dim: int, hidden_dim: int, output_dim: int, forget_bias: float = 1.0
) -> LSTMParams:
    """LSTM weights (Glorot-normal), zero biases except the forget gate's (``forget_bias``,
    Jozefowicz et al. 2015: start by remembering)."""
    _validate.prng_key("key", key)
    d = _validate.positive_int("input_dim", input_dim)
    p = _validate.positive_int("hidden_dim", hidden_dim)
    q = _validate.positive_int("output_dim", output_dim)
    k1, k2 = jax.random.split(key)
    dt = jnp.result_type(float)
    b = jnp.zeros((4 * p,), dt).at[p : 2 * p].set(forget_bias)
    return LSTMParams(_glorot(k1, (d + p, 4 * p)), b, _glorot(k2, (p, q)), jnp.zeros((q,), dt))


def gru_init(*, key: PRNGKey, input_dim: int, hidden_dim: int, output_dim: int) -> GRUParams:
    """GRU weights (Glorot-normal) and zero biases."""
    _validate.prng_key("key", key)
    d = _validate.positive_int("input_dim", input_dim)
    p = _validate.positive_int("hidden_dim", hidden_dim)
    q = _validate.positive_int("output_dim", output_dim)
    k1, k2, k3 = jax.random.split(key, 3)
    dt = jnp.result_type(float)
    return GRUParams(
        _glorot(k1, (d + p, 2 * p)),
        jnp.zeros((2 * p,), dt),
        _glorot(k2, (d + p, p)),
        jnp.zeros((p,), dt),
        _glorot(k3, (p, q)),
        jnp.zeros((q,), dt),
    )


class LSTMGates(NamedTuple):
    """The gate activations of one LSTM step, each ``(p,)``."""

    i: Array
    f: Array
    o: Array
    g: Array


def lstm_gates(params: LSTMParams, h: Array, x: Array) -> LSTMGates:
    r"""LSTM gates $[i; f; o; g] = [\sigma; \sigma; \sigma; \tanh]([x_t, h_{t-1}]W + b)$ (§7.5).

    Fused layout: one product for all four gates. ``h (p,)``, ``x (d,)``.
    """
    return lstm_gates_from(jnp.concatenate([x, h]) @ params.W + params.b)


def lstm_gates_from(z: Array) -> LSTMGates:
    r"""The gates from the pre-activations $z = [x_t, h_{t-1}]W + b$, ``(..., 4p)`` in blocks
    i, f, o, g (any leading batch axes)."""
    zi, zf, zo, zg = jnp.split(z, 4, axis=-1)
    return LSTMGates(jax.nn.sigmoid(zi), jax.nn.sigmoid(zf), jax.nn.sigmoid(zo), jnp.tanh(zg))


def lstm_update(z: Array, c: Array) -> tuple[Array, Array]:
    r"""The new ``(h, c)`` of :func:`lstm_cell` from the pre-activations ``z (..., 4p)`` and the
    previous cell state ``c (..., p)``: for callers that compute $z$ their own way (e.g. a row
    lookup for one-hot inputs, :func:`course_lib.language_model.logits`)."""
    gt = lstm_gates_from(z)
    c = gt.f * c + gt.i * gt.g
    return gt.o * jnp.tanh(c), c


def lstm_cell(params: LSTMParams, state: tuple[Array, Array], x: Array) -> tuple[Array, Array]:
    r"""One LSTM step (Aggarwal §7.5; Hochreiter & Schmidhuber 1997 with the forget gate of
    Gers, Schmidhuber & Cummins 2000; no peepholes):

    $$i,f,o = \sigma(\cdot),\quad g = \tanh(\cdot)\ \text{(from } [x_t, h_{t-1}]W + b),\qquad
    c_t = f\odot c_{t-1} + i\odot g,\qquad h_t = o\odot\tanh(c_t).$$

    The cell state's own path is additive: with the gates held fixed,
    $\partial c_t/\partial c_{t-1} = \mathrm{diag}(f_t)$, so gradients along it are scaled by
    the forget gate instead of repeatedly by $W_{hh}$ (why the LSTM fights vanishing gradients).
    ``state = (h (p,), c (p,))``, ``x (d,)``; returns the new ``(h, c)``.
    """
    h, c = state
    return lstm_update(jnp.concatenate([x, h]) @ params.W + params.b, c)


def gru_cell(params: GRUParams, h: Array, x: Array) -> Array:
    r"""One GRU step (Aggarwal §7.6; Cho et al. 2014):

    $$[z; r] = \sigma([x_t, h_{t-1}]W_{zr} + b_{zr}),\quad
    \tilde h = \tanh([x_t, r\odot h_{t-1}]W_n + b_n),\quad
    h_t = z\odot h_{t-1} + (1-z)\odot\tilde h.$$

    ($z$ is the update gate; Cho et al.'s convention, $z\to 1$ keeps the old state.)
    ``h (p,)``, ``x (d,)`` -> ``(p,)``.
    """
    zr = jax.nn.sigmoid(jnp.concatenate([x, h]) @ params.W_zr + params.b_zr)
    z, r = jnp.split(zr, 2)
    n = jnp.tanh(jnp.concatenate([x, r * h]) @ params.W_n + params.b_n)
    return z * h + (1.0 - z) * n


def _hidden_dim(params: Any) -> int:
    return params.W_hy.shape[0]


def lstm_forward(params: LSTMParams, xs: ArrayLike) -> Array:
    """Hidden states ``(T, p)`` of an LSTM over ``xs (T, d)`` from $h_0 = c_0 = 0$ (a scan)."""
    p = _hidden_dim(params)
    xs = _sequence("xs", xs, params.W.shape[0] - p)
    zero = jnp.zeros((p,), xs.dtype)

    def step(state, x):
        state = lstm_cell(params, state, x)
        return state, state[0]

    _, hs = lax.scan(step, (zero, zero), xs)
    return hs


def gru_forward(params: GRUParams, xs: ArrayLike) -> Array:
    """Hidden states ``(T, p)`` of a GRU over ``xs (T, d)`` from $h_0 = 0$ (``lax.scan``)."""
    p = _hidden_dim(params)
    xs = _sequence("xs", xs, params.W_n.shape[0] - p)

    def step(h, x):
        h = gru_cell(params, h, x)
        return h, h

    _, hs = lax.scan(step, jnp.zeros((p,), xs.dtype), xs)
    return hs


# ------------------------------------------------------------------------------ the memory task


def remember_first_bit_data(*, key: PRNGKey, n: int, gap: int) -> tuple[Array, Array]:
    r"""The "remember the first bit" task: a long-range memory test (§7.3, §7.5).

    Each sequence has $T = \text{gap} + 1$ steps of 2 features ``[bit, marker]``: every step
    carries a random bit in $\{-1, +1\}$, and the marker is 1 only at step 0. The label is the
    first bit (0 for -1, 1 for +1); the ``gap`` later bits are distractors.

    Returns ``xs (n, gap+1, 2)`` and int32 labels ``(n,)``.
    """
    _validate.prng_key("key", key)
    n = _validate.positive_int("n", n)
    gap = _validate.positive_int("gap", gap)
    dt = jnp.result_type(float)
    bits = jax.random.rademacher(key, (n, gap + 1), dt)
    marker = jnp.zeros((n, gap + 1), dt).at[:, 0].set(1.0)
    return jnp.stack([bits, marker], axis=-1), (bits[:, 0] > 0).astype(jnp.int32)


def delayed_copy_data(*, key: PRNGKey, length: int, delay: int) -> tuple[Array, Array]:
    r"""A stream for truncated BPTT (§7.2.2): output the bit read ``delay`` steps ago.

    One long sequence of random bits $b_t\in\{-1,+1\}$ (one feature per step); the target at
    step $t$ is the class of $b_{t-\text{delay}}$ (0 for -1, 1 for +1). The first ``delay``
    targets are bits drawn before the stream starts (unpredictable). Predicting the target
    needs a memory of exactly ``delay`` steps.

    Returns ``xs (length, 1)`` and int32 ``targets (length,)``.
    """
    _validate.prng_key("key", key)
    length = _validate.positive_int("length", length)
    delay = _validate.positive_int("delay", delay)
    bits = jax.random.rademacher(key, (length + delay,), jnp.result_type(float))
    return bits[delay:, None], (bits[:length] > 0).astype(jnp.int32)


def sequence_logits(params: LSTMParams | GRUParams | RNNParams, xs: Array) -> Array:
    r"""Many-to-one classification scores from the last hidden state: $h_T W_{hy} + b_y$.

    ``xs (T, d)`` -> ``(q,)`` for an LSTM/GRU (row layout) or an RNN ($W_{hy}h_T + b_y$)."""
    if isinstance(params, LSTMParams):
        return lstm_forward(params, xs)[-1] @ params.W_hy + params.b_y
    if isinstance(params, GRUParams):
        return gru_forward(params, xs)[-1] @ params.W_hy + params.b_y
    if isinstance(params, RNNParams):
        return forward(params, xs)[1][-1]
    raise TypeError(
        f"`params` must be LSTMParams, GRUParams or RNNParams, got {type(params).__name__}."
    )


def classification_loss(params: Any, xs: Array, labels: Array) -> Array:
    r"""Mean softmax cross-entropy of :func:`sequence_logits` over a batch ``xs (n, T, d)``."""
    logits = jax.vmap(lambda x: sequence_logits(params, x))(xs)
    logp = jax.nn.log_softmax(logits, axis=-1)
    return -jnp.mean(jnp.take_along_axis(logp, labels[:, None], axis=-1))


def accuracy(params: Any, xs: Array, labels: Array) -> Array:
    """Fraction of sequences whose argmax score equals the label."""
    logits = jax.vmap(lambda x: sequence_logits(params, x))(xs)
    return jnp.mean(jnp.argmax(logits, axis=-1) == labels)


@functools.partial(jax.jit, static_argnames=("batch_size", "gap"))
def _train_memory(params, opt_state, learning_rate, steps_keys, batch_size, gap):
    tx = optim.adam(learning_rate)

    def step(carry, k):
        params, opt_state = carry
        xs, ys = remember_first_bit_data(key=k, n=batch_size, gap=gap)
        loss, grads = jax.value_and_grad(classification_loss)(params, xs, ys)
        grads = clip_by_norm(grads, 1.0)
        updates, opt_state = tx.update(grads, opt_state, params)
        return (optim.apply_updates(params, updates), opt_state), loss

    (params, opt_state), losses = lax.scan(step, (params, opt_state), steps_keys)
    return params, opt_state, losses


def train_step(params: Any, opt_state: Any, xs: Array, labels: Array, learning_rate: Any):
    r"""One Adam step on :func:`classification_loss` with norm clipping at 1 (jitted; the
    learning rate is traced, so changing it never recompiles). Returns
    ``(params, opt_state, loss)``; ``opt_state`` starts as ``optim.adam(lr).init(params)``."""
    return _train_step(params, opt_state, xs, labels, learning_rate)


@jax.jit
def _train_step(params, opt_state, xs, labels, learning_rate):
    tx = optim.adam(learning_rate)
    loss, grads = jax.value_and_grad(classification_loss)(params, xs, labels)
    grads = clip_by_norm(grads, 1.0)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optim.apply_updates(params, updates), opt_state, loss


def train_step_cache_size() -> int:
    """Number of compiled versions of :func:`train_step` (a slider move must not add one)."""
    return _train_step._cache_size()


def train_memory_task_cache_size() -> int:
    """Number of compiled versions of the scan inside :func:`train_memory_task`."""
    return _train_memory._cache_size()


def train_memory_task(
    params: Any,
    *,
    key: PRNGKey,
    steps: int,
    batch_size: int = 32,
    gap: int = 30,
    learning_rate: Any = 1e-2,
) -> tuple[Any, Array]:
    r"""Train on fresh :func:`remember_first_bit_data` batches with Adam, all steps in one
    ``lax.scan`` under ``jit`` (the learning rate is traced).

    Returns ``(params, losses (steps,))``.
    """
    _validate.prng_key("key", key)
    steps = _validate.positive_int("steps", steps)
    batch_size = _validate.positive_int("batch_size", batch_size)
    gap = _validate.positive_int("gap", gap)
    _validate.positive("learning_rate", learning_rate)
    opt_state = optim.adam(learning_rate).init(params)
    keys = jax.random.split(key, steps)
    lr = jnp.asarray(learning_rate, jnp.result_type(float))
    params, _, losses = _train_memory(params, opt_state, lr, keys, batch_size, gap)
    return params, losses


# ------------------------------------------------------------------------------ training an RNN LM


def _batch_bptt(params: RNNParams, xs: Array, targets: Array) -> tuple[Array, RNNParams]:
    losses, grads = jax.vmap(lambda x, t: bptt(params, x, t))(xs, targets)
    return jnp.mean(losses), jax.tree.map(lambda g: jnp.mean(g, axis=0), grads)


@jax.jit
def _lm_step(params, opt_state, xs, targets, learning_rate):
    tx = optim.adam(learning_rate)
    loss, grads = _batch_bptt(params, xs, targets)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optim.apply_updates(params, updates), opt_state, loss


def _check_lm_batch(params: Any, xs: Any, targets: Any) -> tuple[RNNParams, Array, Array]:
    params = _check_params(params)
    xs = _validate.float_array("xs", xs, ndim=3)
    d, q = params.W_xh.shape[1], params.W_hy.shape[0]
    if xs.shape[2] != d or xs.shape[1] < 1:
        raise ValueError(f"`xs` must have shape (n, T, {d}), got {tuple(xs.shape)}.")
    targets = jnp.asarray(targets)
    if not jnp.issubdtype(targets.dtype, jnp.integer):
        raise TypeError(f"`targets` must hold integer class ids, got dtype {targets.dtype}.")
    if targets.shape != xs.shape[:2]:
        raise ValueError(
            f"`targets` must have shape {tuple(xs.shape[:2])} (one id per step), "
            f"got {tuple(targets.shape)}."
        )
    if not _validate.is_traced(targets):
        v = np.asarray(targets)
        if v.min() < 0 or v.max() >= q:
            raise ValueError(
                f"`targets` must hold ids in [0, {q - 1}], got values in [{v.min()}, {v.max()}]."
            )
    return params, xs, targets


def language_model_step(
    params: RNNParams, opt_state: Any, xs: ArrayLike, targets: ArrayLike, learning_rate: Any
) -> tuple[RNNParams, Any, Array]:
    r"""One Adam step on the mean over a batch of the summed cross-entropy (Eq 7.3), §7.2.1.

    The gradient is the hand-written :func:`bptt`, vmapped over the batch and averaged:
    $\nabla = \frac1n\sum_{i=1}^n \nabla L^{(i)}$. Jitted; the learning rate is traced (a slider
    move never recompiles). ``xs (n, T, d)``, ``targets (n, T)`` int ids, ``opt_state`` from
    ``optim.adam(lr).init(params)``. Returns ``(params, opt_state, mean loss)``.
    """
    params, xs, targets = _check_lm_batch(params, xs, targets)
    lr = jnp.asarray(learning_rate, params.W_xh.dtype)
    return _lm_step(params, opt_state, xs, targets, lr)


def language_model_step_cache_size() -> int:
    """Number of compiled versions of :func:`language_model_step`."""
    return _lm_step._cache_size()


@functools.partial(jax.jit, static_argnames=("steps",))
def _train_lm(params, xs, targets, learning_rate, steps):
    tx = optim.adam(learning_rate)

    def step(carry, _):
        params, opt_state = carry
        loss, grads = _batch_bptt(params, xs, targets)
        updates, opt_state = tx.update(grads, opt_state, params)
        return (optim.apply_updates(params, updates), opt_state), loss

    (params, _), losses = lax.scan(step, (params, tx.init(params)), None, length=steps)
    return params, losses


def train_language_model(
    params: RNNParams,
    xs: ArrayLike,
    targets: ArrayLike,
    *,
    steps: int,
    learning_rate: Any = 0.05,
) -> tuple[RNNParams, Array]:
    r"""Train an RNN language model with Adam on a fixed batch, all steps in one ``lax.scan``.

    Each step is :func:`language_model_step`'s update (hand-written BPTT, §7.2.2). ``xs (n, T,
    d)``, ``targets (n, T)``. Returns ``(params, losses (steps,))``, ``losses[s]`` being the mean
    summed cross-entropy *before* step ``s``.
    """
    params, xs, targets = _check_lm_batch(params, xs, targets)
    steps = _validate.positive_int("steps", steps)
    _validate.positive("learning_rate", learning_rate)
    lr = jnp.asarray(learning_rate, params.W_xh.dtype)
    return _train_lm(params, xs, targets, lr, steps)


# ------------------------------------------------------------------------------ gradient profile


class GradientProfile(NamedTuple):
    r"""What the spectral-radius widget shows: $\|\partial h_T/\partial h_t\|_2$, ``(T+1,)``,
    for the linear and the tanh recurrence, the BPTT gradient norm $\|\nabla_{W_{hh}} L\|_F$
    (a scalar) of the tanh RNN, and the spectral norm $\|W_{hh}\|_2$ (a scalar), which bounds
    every entry: $\|\partial h_T/\partial h_t\|_2 \leq \|W_{hh}\|_2^{T-t}$ (tanh$'\leq 1$)."""

    linear: Array
    tanh: Array
    grad_norm: Array
    spectral_norm: Array


@jax.jit
def _gradient_profile(params, W_unit, N_unit, xs, targets, rho, shear):
    params = params._replace(W_hh=rho * W_unit + shear * N_unit)
    lin = hidden_jacobian_norms(params, xs, activation="linear")
    th = hidden_jacobian_norms(params, xs, activation="tanh")
    _, grads = bptt(params, xs, targets)
    return GradientProfile(
        lin, th, jnp.linalg.norm(grads.W_hh), jnp.linalg.norm(params.W_hh, ord=2)
    )


def gradient_profile(
    params: RNNParams,
    W_unit: ArrayLike,
    xs: ArrayLike,
    targets: ArrayLike,
    rho: Any,
    *,
    N_unit: ArrayLike | None = None,
    shear: Any = 0.0,
) -> GradientProfile:
    r"""Jacobian-product norms and BPTT gradient norm with $W_{hh} = \rho\,W_{unit} + sN$ (§7.3).

    ``W_unit (p, p)`` should have spectral radius 1 (e.g. :func:`recurrent_matrix` with
    ``spectral_radius=1``), so with $s = 0$ (the default) $\rho$ *is* the spectral radius of
    $W_{hh}$. ``N_unit (p, p)`` (zeros by default) adds a non-normal part of size ``shear``
    $= s$; with ``(W_unit, N_unit)`` from :func:`nonnormal_parts` the spectral radius stays
    $\rho$ for every $s$ while $\|W_{hh}\|_2$ grows. ``params`` supplies $W_{xh}, W_{hy}$ and
    the biases (its $W_{hh}$ is replaced); ``xs (T, d)``, ``targets (T,)``. $\rho$ and $s$ are
    traced arguments: a new value never recompiles (see :func:`gradient_profile_cache_size`).
    Returns a :class:`GradientProfile`.
    """
    params = _check_params(params)
    p = params.W_hh.shape[0]
    W_unit = _validate.float_array("W_unit", W_unit, ndim=2)
    if W_unit.shape != (p, p):
        raise ValueError(f"`W_unit` must have shape ({p}, {p}), got {tuple(W_unit.shape)}.")
    if N_unit is None:
        N_unit = jnp.zeros((p, p), params.W_hh.dtype)
    N_unit = _validate.float_array("N_unit", N_unit, ndim=2)
    if N_unit.shape != (p, p):
        raise ValueError(f"`N_unit` must have shape ({p}, {p}), got {tuple(N_unit.shape)}.")
    xs = _sequence("xs", xs, params.W_xh.shape[1])
    targets = _targets("targets", targets, xs.shape[0], params.W_hy.shape[0])
    _validate.positive("rho", rho, allow_zero=True)
    _validate.positive("shear", shear, allow_zero=True)
    dt = params.W_hh.dtype
    return _gradient_profile(
        params,
        W_unit.astype(dt),
        N_unit.astype(dt),
        xs,
        targets,
        jnp.asarray(rho, dt),
        jnp.asarray(shear, dt),
    )


def gradient_profile_cache_size() -> int:
    """Number of compiled versions of :func:`gradient_profile` (the widget must not add one)."""
    return _gradient_profile._cache_size()
