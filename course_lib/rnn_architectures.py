r"""Recurrent architectures beyond the single layer: bidirectional and stacked RNNs, layer norm
inside the recurrence, and the linear RNN read as an autoregressive model.

Aggarwal §7.2.3 (bidirectional), §7.2.4 (multilayer), §7.3.1 (layer normalization), §7.4 with
Exercise 7.2 (block-diagonal echo-state reservoirs) and §7.7.5 (linear RNNs and AR models).
Column-vector convention of :mod:`course_lib.rnn`: $W_{xh}\in\mathbb R^{p\times d}$,
$W_{hh}\in\mathbb R^{p\times p}$, $W_{hy}\in\mathbb R^{q\times p}$.

**Bidirectional RNN** (§7.2.3). Two recurrences that never meet, one reading left to right and
one right to left, and an output that sees both:

$$h^{(f)}_t = \tanh(W^{(f)}_{xh}x_t + W^{(f)}_{hh}h^{(f)}_{t-1} + b_f),\quad
h^{(b)}_t = \tanh(W^{(b)}_{xh}x_t + W^{(b)}_{hh}h^{(b)}_{t+1} + b_b),$$
$$y_t = W^{(f)}_{hy}h^{(f)}_t + W^{(b)}_{hy}h^{(b)}_t + b_y .$$

Its hand-written BPTT (:func:`birnn_bptt`) runs the forward direction's messages backward in
time and the backward direction's messages *forward* in time.

**Stacked RNN** (§7.2.4). Layer $k$ reads the states of layer $k-1$ at the same time step,
with the book's concatenated matrix $W^{(k)}\in\mathbb R^{p\times(p_{k-1}+p)}$:

$$h^{(k)}_t = \tanh\Big(W^{(k)}\begin{bmatrix}h^{(k-1)}_t\\ h^{(k)}_{t-1}\end{bmatrix}
+ b^{(k)}\Big),\qquad h^{(0)}_t = x_t,\qquad y_t = W_{hy}h^{(L)}_t + b_y .$$

**Layer-normalized RNN** (§7.3.1, Eq 7.6): $h_t = \tanh(\mathrm{LN}(a_t))$ with
$a_t = W_{xh}x_t + W_{hh}h_{t-1} + b_h$ and :func:`course_lib.transformer.layer_norm`.

**Linear RNN = AR model** (§7.7.5). With the identity activation and $h_0 = 0$,
$y_t = \sum_{j=0}^{t-1} W_{hy}W_{hh}^{\,j}W_{xh}\,x_{t-j}$: an autoregression on the inputs
with coefficients $a_j = W_{hy}W_{hh}^{\,j}W_{xh}$ (:func:`ar_coefficients`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from course_lib import _validate, optim, rnn, transformer
from course_lib._types import Array, ArrayLike, PRNGKey

# ------------------------------------------------------------------------------ validation


def _sequence(name: str, xs: Any, d: int, *, batched: bool = False) -> Array:
    want = 3 if batched else 2
    xs = _validate.float_array(name, xs, ndim=want)
    shape = "(n, T, d)" if batched else "(T, d)"
    if xs.shape[-1] != d or xs.shape[-2] < 1:
        raise ValueError(
            f"`{name}` must have shape {shape} with d = {d} (the input weights) and T >= 1, "
            f"got {tuple(xs.shape)}."
        )
    return xs


def _labels(name: str, labels: Any, shape: tuple[int, ...], q: int) -> Array:
    arr = labels if isinstance(labels, jax.Array) else jnp.asarray(np.asarray(labels))
    if not jnp.issubdtype(arr.dtype, jnp.integer):
        raise TypeError(f"`{name}` must hold integer class ids, got dtype {arr.dtype}.")
    if tuple(arr.shape) != tuple(shape):
        raise ValueError(f"`{name}` must have shape {tuple(shape)}, got {tuple(arr.shape)}.")
    if not _validate.is_traced(arr) and arr.size:
        v = np.asarray(arr)
        if v.min() < 0 or v.max() >= q:
            raise ValueError(
                f"`{name}` must hold ids in [0, {q - 1}] (the output size), "
                f"got values in [{v.min()}, {v.max()}]."
            )
    return arr


def _ce(ys: Array, labels: Array) -> Array:
    """Per-token cross-entropy $-\\log\\mathrm{softmax}(y_t)[j_t]$, shape of ``labels``."""
    logp = jax.nn.log_softmax(ys, axis=-1)
    return -jnp.take_along_axis(logp, labels[..., None], axis=-1)[..., 0]


def _tanh_states(W_x: Array, W_h: Array, b: Array, xs: Array, reverse: bool) -> Array:
    """``lax.scan`` of $h = \\tanh(W_x x + W_h h + b)$ from zeros; ``(T, d) -> (T, p)``, in time
    order whichever way it runs (``reverse=True`` starts at $t = T$)."""

    def step(h, x):
        h = jnp.tanh(W_x @ x + W_h @ h + b)
        return h, h

    _, hs = lax.scan(step, jnp.zeros((W_h.shape[0],), xs.dtype), xs, reverse=reverse)
    return hs


# ------------------------------------------------------------------------------ bidirectional


class BiRNNParams(NamedTuple):
    """Bidirectional RNN weights: forward ``W_xf (p,d), W_ff (p,p), b_f (p,)``, backward
    ``W_xb (p,d), W_bb (p,p), b_b (p,)``, outputs ``W_fy (q,p), W_by (q,p), b_y (q,)``."""

    W_xf: Array
    W_ff: Array
    b_f: Array
    W_xb: Array
    W_bb: Array
    b_b: Array
    W_fy: Array
    W_by: Array
    b_y: Array


def birnn_init(
    *, key: PRNGKey, input_dim: int, hidden_dim: int, output_dim: int, scale: float = 1.0
) -> BiRNNParams:
    r"""Random bidirectional weights, variance ``scale / fan_in``, zero biases (§7.2.3).

    Each direction has its own $W_{xh}, W_{hh}$ (``p`` units each); the parameter count is
    $2(pd + p^2 + p) + 2qp + q$.
    """
    _validate.prng_key("key", key)
    d = _validate.positive_int("input_dim", input_dim)
    p = _validate.positive_int("hidden_dim", hidden_dim)
    q = _validate.positive_int("output_dim", output_dim)
    _validate.positive("scale", scale)
    k = jax.random.split(key, 6)
    dt = jnp.result_type(float)

    def g(kk, shape, fan_in):
        return jax.random.normal(kk, shape, dt) * np.sqrt(scale / fan_in)

    zeros_p = jnp.zeros((p,), dt)
    return BiRNNParams(
        g(k[0], (p, d), d), g(k[1], (p, p), p), zeros_p,
        g(k[2], (p, d), d), g(k[3], (p, p), p), zeros_p,
        g(k[4], (q, p), p), g(k[5], (q, p), p), jnp.zeros((q,), dt),
    )  # fmt: skip


def _check_bi(params: Any) -> BiRNNParams:
    if not isinstance(params, BiRNNParams):
        raise TypeError(f"`params` must be a BiRNNParams, got {type(params).__name__}.")
    p, d = params.W_xf.shape
    q = params.W_fy.shape[0]
    want = {"W_ff": (p, p), "b_f": (p,), "W_xb": (p, d), "W_bb": (p, p), "b_b": (p,),
            "W_fy": (q, p), "W_by": (q, p), "b_y": (q,)}  # fmt: skip
    for name, shape in want.items():
        got = tuple(getattr(params, name).shape)
        if got != shape:
            raise ValueError(f"`params.{name}` must have shape {shape}, got {got}.")
    return params


@jax.jit
def _birnn(params: BiRNNParams, xs: Array, use_backward: Any = 1.0):
    hf = _tanh_states(params.W_xf, params.W_ff, params.b_f, xs, reverse=False)
    hb = _tanh_states(params.W_xb, params.W_bb, params.b_b, xs, reverse=True)
    ys = hf @ params.W_fy.T + use_backward * (hb @ params.W_by.T) + params.b_y[None, :]
    return hf, hb, ys


def birnn_forward(
    params: BiRNNParams, xs: ArrayLike, *, bidirectional: bool = True
) -> tuple[Array, Array, Array]:
    r"""Both directions of a bidirectional RNN and its outputs (§7.2.3).

    $h^{(f)}_t$ runs from $t = 1$ with $h^{(f)}_0 = 0$; $h^{(b)}_t$ from $t = T$ with
    $h^{(b)}_{T+1} = 0$ (the book suggests a constant such as 0.5, or a learned one; zero
    keeps the backward states equal to a forward RNN run on the reversed sequence).

    ``bidirectional=False`` leaves the backward states out of the outputs,
    $y_t = W^{(f)}_{hy}h^{(f)}_t + b_y$: a one-way RNN.

    ``xs (T, d)`` -> ``(hf (T, p), hb (T, p), ys (T, q))``, all in time order.
    """
    params = _check_bi(params)
    xs = _sequence("xs", xs, params.W_xf.shape[1])
    return _birnn(params, xs, 1.0 if bidirectional else 0.0)


def birnn_loss(params: BiRNNParams, xs: ArrayLike, labels: ArrayLike) -> Array:
    r"""Summed per-token cross-entropy $L = -\sum_t\log\mathrm{softmax}(y_t)[j_t]$ (Eq 7.3).

    ``xs (T, d)``, ``labels (T,)`` int ids in ``[0, q)``; returns a scalar.
    """
    params = _check_bi(params)
    xs = _sequence("xs", xs, params.W_xf.shape[1])
    labels = _labels("labels", labels, xs.shape[:1], params.W_fy.shape[0])
    return jnp.sum(_ce(_birnn(params, xs)[2], labels))


def birnn_bptt(params: BiRNNParams, xs: ArrayLike, labels: ArrayLike) -> tuple[Array, BiRNNParams]:
    r"""Hand-written BPTT for the bidirectional RNN (§7.2.3, the book's five steps).

    1-2: both state passes and the outputs; 3: $g_{y_t} = \mathrm{softmax}(y_t) - e_{j_t}$;
    4: one backward recursion per direction,

    $$g^{(f)}_{a_t} = (1 - h^{(f)2}_t)\odot\big(W^{(f)\top}_{hy}g_{y_t}
    + W^{(f)\top}_{hh}g^{(f)}_{a_{t+1}}\big)\quad(t = T, \dots, 1),$$
    $$g^{(b)}_{a_t} = (1 - h^{(b)2}_t)\odot\big(W^{(b)\top}_{hy}g_{y_t}
    + W^{(b)\top}_{hh}g^{(b)}_{a_{t-1}}\big)\quad(t = 1, \dots, T),$$

    (the backward direction's messages travel forward in time, since $h^{(b)}_{t-1}$ reads
    $h^{(b)}_t$); 5: the shared weights sum their per-step gradients, e.g.
    $\nabla W^{(f)}_{hh} = \sum_t g^{(f)}_{a_t}h^{(f)\top}_{t-1}$,
    $\nabla W^{(b)}_{hh} = \sum_t g^{(b)}_{a_t}h^{(b)\top}_{t+1}$.

    Returns ``(loss, grads)``, ``grads`` a :class:`BiRNNParams`.
    """
    params = _check_bi(params)
    xs = _sequence("xs", xs, params.W_xf.shape[1])
    labels = _labels("labels", labels, xs.shape[:1], params.W_fy.shape[0])
    return _birnn_bptt(params, xs, labels)


@jax.jit
def _birnn_bptt(params: BiRNNParams, xs: Array, labels: Array) -> tuple[Array, BiRNNParams]:
    hf, hb, ys = _birnn(params, xs)
    loss = jnp.sum(_ce(ys, labels))
    g_y = jax.nn.softmax(ys, axis=-1) - jax.nn.one_hot(labels, ys.shape[1], dtype=ys.dtype)

    def messages(W_hh, W_hy, hs, reverse):
        def back(delta, inp):
            h, gy = inp
            g_a = (1.0 - h**2) * (W_hy.T @ gy + delta)
            return W_hh.T @ g_a, g_a

        _, g_a = lax.scan(back, jnp.zeros_like(hs[0]), (hs, g_y), reverse=reverse)
        return g_a

    ga_f = messages(params.W_ff, params.W_fy, hf, reverse=True)
    ga_b = messages(params.W_bb, params.W_by, hb, reverse=False)
    zero = jnp.zeros_like(hf[:1])
    hf_prev = jnp.concatenate([zero, hf[:-1]], axis=0)  # h^(f)_{t-1}
    hb_next = jnp.concatenate([hb[1:], zero], axis=0)  # h^(b)_{t+1}
    grads = BiRNNParams(
        W_xf=ga_f.T @ xs, W_ff=ga_f.T @ hf_prev, b_f=ga_f.sum(0),
        W_xb=ga_b.T @ xs, W_bb=ga_b.T @ hb_next, b_b=ga_b.sum(0),
        W_fy=g_y.T @ hf, W_by=g_y.T @ hb, b_y=g_y.sum(0),
    )  # fmt: skip
    return loss, grads


# ------------------------------------------------------------------------------ token tagging


def next_token_data(*, key: PRNGKey, n: int, length: int, vocab: int) -> tuple[Array, Array]:
    r"""A tagging task that needs the future: label every token with the token that follows it.

    Tokens are drawn uniformly from ``vocab`` symbols; $j_t = s_{t+1}$ for $t < T$ and the last
    token gets the extra label ``vocab`` ("end"). A left-to-right RNN has not read $s_{t+1}$
    when it must answer at $t$: it can only guess, right with probability $1/\text{vocab}$ (the
    end label it can learn by counting). A bidirectional RNN has it in $h^{(b)}_{t+1}$.

    Returns one-hot ``xs (n, length, vocab)`` and int32 ``labels (n, length)`` in
    ``[0, vocab]``.
    """
    _validate.prng_key("key", key)
    n = _validate.positive_int("n", n)
    T = _validate.positive_int("length", length)
    K = _validate.positive_int("vocab", vocab)
    tokens = jax.random.randint(key, (n, T), 0, K)
    labels = jnp.concatenate([tokens[:, 1:], jnp.full((n, 1), K, tokens.dtype)], axis=1)
    return jax.nn.one_hot(tokens, K), labels.astype(jnp.int32)


def tagging_loss(logits: ArrayLike, labels: ArrayLike, mask: ArrayLike | None = None) -> Array:
    r"""Mean per-token cross-entropy over the real (unmasked) tokens (§7.2.3, Exercise 7.6).

    $$L = \frac{\sum_{i,t} m_{it}\,\big(-\log\mathrm{softmax}(y_{it})[j_{it}]\big)}
    {\sum_{i,t} m_{it}},$$

    with $m_{it} = 1$ for a real token and 0 for padding (sequences of different lengths in one
    batch). ``logits (n, T, q)``, ``labels (n, T)`` ints, ``mask (n, T)`` (all ones by
    default). Returns a scalar.
    """
    y = _validate.float_array("logits", logits, ndim=3)
    labels = _labels("labels", labels, y.shape[:2], y.shape[2])
    m = jnp.ones(y.shape[:2], y.dtype) if mask is None else _validate.float_array("mask", mask)
    if m.shape != y.shape[:2]:
        raise ValueError(f"`mask` must have shape {y.shape[:2]}, got {tuple(m.shape)}.")
    return jnp.sum(m * _ce(y, labels)) / jnp.sum(m)


def _tagger_logits(params: BiRNNParams, xs: Array, use_backward: Any) -> Array:
    return jax.vmap(lambda x: _birnn(params, x, use_backward)[2])(xs)


@functools.partial(jax.jit, static_argnames=("steps",))
def _train_tagger(params, xs, labels, learning_rate, use_backward, steps):
    tx = optim.adam(learning_rate)

    def loss(p):
        y = _tagger_logits(p, xs, use_backward)
        return jnp.mean(_ce(y, labels))

    def step(carry, _):
        p, state = carry
        value, grads = jax.value_and_grad(loss)(p)
        updates, state = tx.update(grads, state, p)
        return (optim.apply_updates(p, updates), state), value

    (params, _), losses = lax.scan(step, (params, tx.init(params)), None, length=steps)
    return params, losses


def train_tagger(
    params: BiRNNParams,
    xs: ArrayLike,
    labels: ArrayLike,
    *,
    steps: int,
    learning_rate: Any = 0.03,
    bidirectional: bool = True,
) -> tuple[BiRNNParams, Array]:
    r"""Full-batch Adam on the mean per-token cross-entropy, all steps in one jitted ``lax.scan``.

    ``bidirectional=False`` trains the same network with the backward direction cut off from
    the outputs ($y_t = W^{(f)}_{hy}h^{(f)}_t + b_y$): a one-way RNN. The switch and the
    learning rate are traced, so both variants share one compilation.
    ``xs (n, T, d)``, ``labels (n, T)``; returns ``(params, losses (steps,))``.
    """
    params = _check_bi(params)
    xs = _sequence("xs", xs, params.W_xf.shape[1], batched=True)
    labels = _labels("labels", labels, xs.shape[:2], params.W_fy.shape[0])
    steps = _validate.positive_int("steps", steps)
    _validate.positive("learning_rate", learning_rate)
    use = jnp.asarray(1.0 if bidirectional else 0.0, xs.dtype)
    return _train_tagger(params, xs, labels, jnp.asarray(learning_rate, xs.dtype), use, steps)


def tagger_accuracy(
    params: BiRNNParams, xs: ArrayLike, labels: ArrayLike, *, bidirectional: bool = True
) -> float:
    """Fraction of tokens whose arg-max output is the label; ``xs (n, T, d)``, ``labels (n, T)``."""
    params = _check_bi(params)
    xs = _sequence("xs", xs, params.W_xf.shape[1], batched=True)
    labels = _labels("labels", labels, xs.shape[:2], params.W_fy.shape[0])
    y = _tagger_logits(params, xs, 1.0 if bidirectional else 0.0)
    return float(jnp.mean(jnp.argmax(y, axis=-1) == labels))


# ------------------------------------------------------------------------------ stacked


class StackedRNNParams(NamedTuple):
    """``Ws``: one ``(p, p_in + p)`` matrix $[W_{xh}^{(k)}, W_{hh}^{(k)}]$ per layer
    ($p_{in} = d$ for the first layer, $p$ above); ``bs``: ``(p,)`` per layer;
    ``W_hy (q, p)``, ``b_y (q,)``."""

    Ws: tuple[Array, ...]
    bs: tuple[Array, ...]
    W_hy: Array
    b_y: Array


def stacked_init(
    *, key: PRNGKey, input_dim: int, hidden_dim: int, output_dim: int, layers: int
) -> StackedRNNParams:
    r"""Random weights for an ``layers``-deep RNN (§7.2.4), variance ``1 / fan_in``, zero biases."""
    _validate.prng_key("key", key)
    d = _validate.positive_int("input_dim", input_dim)
    p = _validate.positive_int("hidden_dim", hidden_dim)
    q = _validate.positive_int("output_dim", output_dim)
    L = _validate.positive_int("layers", layers)
    keys = jax.random.split(key, L + 1)
    dt = jnp.result_type(float)
    Ws = tuple(
        jax.random.normal(keys[k], (p, (d if k == 0 else p) + p), dt)
        * np.sqrt(1.0 / ((d if k == 0 else p) + p))
        for k in range(L)
    )
    bs = tuple(jnp.zeros((p,), dt) for _ in range(L))
    W_hy = jax.random.normal(keys[L], (q, p), dt) * np.sqrt(1.0 / p)
    return StackedRNNParams(Ws, bs, W_hy, jnp.zeros((q,), dt))


def stacked_param_count(input_dim: int, hidden_dim: int, output_dim: int, layers: int) -> int:
    r"""$p(d + p) + (L-1)\,2p^2 + Lp + qp + q$: weights shared over time, not over layers."""
    d = _validate.positive_int("input_dim", input_dim)
    p = _validate.positive_int("hidden_dim", hidden_dim)
    q = _validate.positive_int("output_dim", output_dim)
    L = _validate.positive_int("layers", layers)
    return p * (d + p) + (L - 1) * 2 * p * p + L * p + q * p + q


def _check_stacked(params: Any) -> StackedRNNParams:
    if not isinstance(params, StackedRNNParams):
        raise TypeError(f"`params` must be a StackedRNNParams, got {type(params).__name__}.")
    if len(params.Ws) < 1 or len(params.Ws) != len(params.bs):
        raise ValueError(
            f"`params.Ws` and `params.bs` must hold one entry per layer (at least one), got "
            f"{len(params.Ws)} and {len(params.bs)}."
        )
    p = params.W_hy.shape[1]
    for k, (W, b) in enumerate(zip(params.Ws, params.bs, strict=True)):
        p_in = W.shape[1] - p
        if W.shape[0] != p or (k > 0 and p_in != p) or p_in < 1 or b.shape != (p,):
            raise ValueError(
                f"layer {k + 1}: `Ws[{k}]` must have shape ({p}, p_in + {p}) and `bs[{k}]` "
                f"shape ({p},), got {tuple(W.shape)} and {tuple(b.shape)}."
            )
    return params


@jax.jit
def _stacked(params: StackedRNNParams, xs: Array) -> tuple[Array, Array]:
    p = params.W_hy.shape[1]
    below, states = xs, []
    for W, b in zip(params.Ws, params.bs, strict=True):
        p_in = W.shape[1] - p
        below = _tanh_states(W[:, :p_in], W[:, p_in:], b, below, reverse=False)
        states.append(below)
    return jnp.stack(states), below @ params.W_hy.T + params.b_y[None, :]


def stacked_forward(params: StackedRNNParams, xs: ArrayLike) -> tuple[Array, Array]:
    r"""Run an $L$-layer RNN (§7.2.4): each layer a ``lax.scan`` over the states of the one below.

    ``xs (T, d)`` -> ``(hs (L, T, p), ys (T, q))``; ``hs[k]`` is layer $k+1$'s states.
    """
    params = _check_stacked(params)
    xs = _sequence("xs", xs, params.Ws[0].shape[1] - params.W_hy.shape[1])
    return _stacked(params, xs)


def stacked_loss(params: StackedRNNParams, xs: ArrayLike, labels: ArrayLike) -> Array:
    """Summed per-step cross-entropy of the top layer's outputs (Eq 7.3); a scalar."""
    params = _check_stacked(params)
    xs = _sequence("xs", xs, params.Ws[0].shape[1] - params.W_hy.shape[1])
    labels = _labels("labels", labels, xs.shape[:1], params.W_hy.shape[0])
    return jnp.sum(_ce(_stacked(params, xs)[1], labels))


def stacked_bptt(
    params: StackedRNNParams, xs: ArrayLike, labels: ArrayLike
) -> tuple[Array, StackedRNNParams]:
    r"""Hand-written BPTT through $L$ layers and $T$ steps (§7.2.4).

    From the top layer down: layer $k$ receives the gradient $e^{(k)}_t$ for its states from
    above ($e^{(L)}_t = W_{hy}^\top g_{y_t}$), runs the single-layer recursion
    $g_{a_t} = (1 - h_t^{(k)2})\odot(e^{(k)}_t + W_{hh}^{(k)\top}g_{a_{t+1}})$ backward in time,
    collects $\nabla W^{(k)} = \sum_t g_{a_t}[h^{(k-1)}_t; h^{(k)}_{t-1}]^\top$, and hands
    $e^{(k-1)}_t = W_{xh}^{(k)\top}g_{a_t}$ down to the layer below.

    Returns ``(loss, grads)``, ``grads`` a :class:`StackedRNNParams`.
    """
    params = _check_stacked(params)
    p = params.W_hy.shape[1]
    xs = _sequence("xs", xs, params.Ws[0].shape[1] - p)
    labels = _labels("labels", labels, xs.shape[:1], params.W_hy.shape[0])
    return _stacked_bptt(params, xs, labels)


@jax.jit
def _stacked_bptt(params: StackedRNNParams, xs: Array, labels: Array):
    p = params.W_hy.shape[1]
    hs, ys = _stacked(params, xs)
    loss = jnp.sum(_ce(ys, labels))
    g_y = jax.nn.softmax(ys, axis=-1) - jax.nn.one_hot(labels, ys.shape[1], dtype=ys.dtype)
    from_above = g_y @ params.W_hy  # (T, p)
    gWs, gbs = [], []
    for k in reversed(range(len(params.Ws))):
        W = params.Ws[k]
        p_in = W.shape[1] - p
        W_hh = W[:, p_in:]

        def back(delta, inp, W_hh=W_hh):
            h, e = inp
            g_a = (1.0 - h**2) * (e + delta)
            return W_hh.T @ g_a, g_a

        _, g_a = lax.scan(back, jnp.zeros((p,), xs.dtype), (hs[k], from_above), reverse=True)
        below = xs if k == 0 else hs[k - 1]
        h_prev = jnp.concatenate([jnp.zeros((1, p), xs.dtype), hs[k][:-1]], axis=0)
        gWs.append(g_a.T @ jnp.concatenate([below, h_prev], axis=1))
        gbs.append(g_a.sum(0))
        from_above = g_a @ W[:, :p_in]
    grads = StackedRNNParams(tuple(reversed(gWs)), tuple(reversed(gbs)), g_y.T @ hs[-1], g_y.sum(0))
    return loss, grads


# ------------------------------------------------------------------------------ layer norm


def ln_rnn_forward(
    params: rnn.RNNParams, xs: ArrayLike, gamma: ArrayLike, beta: ArrayLike
) -> tuple[Array, Array]:
    r"""A tanh RNN with layer normalization of the pre-activation (§7.3.1, Eq 7.6).

    $h_t = \tanh\big(\frac{\gamma}{\sigma_t}\odot(a_t - \mu_t) + \beta\big)$,
    $a_t = W_{xh}x_t + W_{hh}h_{t-1} + b_h$, with $\mu_t, \sigma_t$ the mean and standard
    deviation of the $p$ entries of $a_t$ (one example, one step: nothing depends on the
    batch or on other time steps). Uses :func:`course_lib.transformer.layer_norm`.

    ``xs (T, d)``, ``gamma, beta (p,)`` -> ``(hs (T, p), ys (T, q))``.
    """
    if not isinstance(params, rnn.RNNParams):
        raise TypeError(f"`params` must be an rnn.RNNParams, got {type(params).__name__}.")
    p = params.W_hh.shape[0]
    xs = _sequence("xs", xs, params.W_xh.shape[1])
    gamma = _validate.float_array("gamma", gamma, ndim=1)
    beta = _validate.float_array("beta", beta, ndim=1)
    if gamma.shape != (p,) or beta.shape != (p,):
        raise ValueError(
            f"`gamma` and `beta` must have shape ({p},), got {gamma.shape} and {beta.shape}."
        )
    hs = _ln_states(params, xs, gamma, beta, jnp.zeros((xs.shape[0], p), xs.dtype), 1.0)
    return hs, hs @ params.W_hy.T + params.b_y[None, :]


def _ln_states(params, xs, gamma, beta, offsets, use_ln):
    """States with ``offsets[t]`` added to $h_t$ (zeros: their gradient is $\\partial L/\\partial
    h_t$); ``use_ln`` (traced 0/1) switches layer norm on or off."""

    def step(h, inp):
        x, o = inp
        a = params.W_xh @ x + params.W_hh @ h + params.b_h
        a = jnp.where(use_ln > 0, transformer.layer_norm(a, gamma, beta), a)
        h = jnp.tanh(a) + o
        return h, h

    _, hs = lax.scan(step, jnp.zeros((params.W_hh.shape[0],), xs.dtype), (xs, offsets))
    return hs


class GradientNorms(NamedTuple):
    """$\\|\\partial L/\\partial h_t\\|$ for $t = 1..T$, ``(T,)`` each: plain and layer-normed."""

    plain: Array
    layer_norm: Array


@jax.jit
def _gradient_norms(params, xs, gain):
    p = params.W_hh.shape[0]
    scaled = params._replace(W_hh=gain * params.W_hh)
    gamma, beta = jnp.ones((p,), xs.dtype), jnp.zeros((p,), xs.dtype)

    def norms(use_ln):
        def loss(offsets):
            hs = _ln_states(scaled, xs, gamma, beta, offsets, use_ln)
            return jnp.sum(params.W_hy @ hs[-1])

        g = jax.grad(loss)(jnp.zeros((xs.shape[0], p), xs.dtype))
        return jnp.linalg.norm(g, axis=1)

    return GradientNorms(norms(0.0), norms(1.0))


def gradient_norms(params: rnn.RNNParams, xs: ArrayLike, *, gain: Any = 1.0) -> GradientNorms:
    r"""How a gradient fades or grows through time, with and without layer norm (§7.3, §7.3.1).

    The loss is $L = \mathbf 1^\top W_{hy}h_T$ (it reads only the last state); the recurrent
    matrix is ``gain`` $\cdot W_{hh}$. Returns $\|\partial L/\partial h_t\|$ for every $t$, for
    the plain tanh RNN and for the layer-normalized one ($\gamma = 1, \beta = 0$). ``gain`` is
    traced: a slider that moves it never recompiles.
    """
    if not isinstance(params, rnn.RNNParams):
        raise TypeError(f"`params` must be an rnn.RNNParams, got {type(params).__name__}.")
    xs = _sequence("xs", xs, params.W_xh.shape[1])
    _validate.positive("gain", gain)
    return _gradient_norms(params, xs, jnp.asarray(gain, xs.dtype))


# ------------------------------------------------------------------------------ ESN blocks


def block_diagonal_esn(esns: Sequence[rnn.ESN]) -> rnn.ESN:
    r"""One reservoir made of $K$ separate ones (Exercise 7.2): inputs stacked, $W_{res}$
    block-diagonal.

    $W_{in} = [W^{(1)}_{in}; \dots; W^{(K)}_{in}]$, $W_{res} = \mathrm{diag}(W^{(1)}_{res},
    \dots, W^{(K)}_{res})$. No unit talks to another block, so its states are the $K$
    reservoirs' states side by side.
    """
    esns = list(esns)
    if not esns or not all(isinstance(e, rnn.ESN) for e in esns):
        raise TypeError("`esns` must be a non-empty sequence of rnn.ESN reservoirs.")
    d = esns[0].W_in.shape[1]
    if any(e.W_in.shape[1] != d for e in esns):
        raise ValueError("`esns` must all read the same input dimension d.")
    return rnn.ESN(
        jnp.concatenate([e.W_in for e in esns], axis=0),
        jax.scipy.linalg.block_diag(*[e.W_res for e in esns]),
    )


# ------------------------------------------------------------------------------ linear RNN = AR


def ar_coefficients(W_xh: ArrayLike, W_hh: ArrayLike, W_hy: ArrayLike, k: int) -> Array:
    r"""The first $k$ AR coefficients of a linear RNN (§7.7.5): $a_j = W_{hy}W_{hh}^{\,j}W_{xh}$.

    Unrolling $h_t = W_{hh}h_{t-1} + W_{xh}x_t$, $h_0 = 0$, $y_t = W_{hy}h_t$ gives
    $y_t = \sum_{j=0}^{t-1}a_j x_{t-j}$. ``W_xh (p, d)``, ``W_hh (p, p)``, ``W_hy (q, p)`` ->
    ``(k, q, d)``.
    """
    W_xh = _validate.float_array("W_xh", W_xh, ndim=2)
    W_hh = _validate.float_array("W_hh", W_hh, ndim=2)
    W_hy = _validate.float_array("W_hy", W_hy, ndim=2)
    p = W_hh.shape[0]
    if W_hh.shape != (p, p) or W_xh.shape[0] != p or W_hy.shape[1] != p:
        raise ValueError(
            f"need W_xh (p, d), W_hh (p, p), W_hy (q, p) with one p, got {tuple(W_xh.shape)}, "
            f"{tuple(W_hh.shape)}, {tuple(W_hy.shape)}."
        )
    return _ar_coefficients(W_xh, W_hh, W_hy, _validate.positive_int("k", k))


@functools.partial(jax.jit, static_argnames=("k",))
def _ar_coefficients(W_xh, W_hh, W_hy, k):
    def step(M, _):  # M = W_hh^j W_xh
        return W_hh @ M, W_hy @ M

    _, a = lax.scan(step, W_xh, None, length=k)
    return a


def shift_register(order: int) -> tuple[Array, Array]:
    r"""The book's exact AR construction (§7.7.5): ``(W_xh (p, 1), W_hh (p, p))``, $p$ = order.

    $W_{hh}$ has ones at $(i, i+1)$, so each step shifts the state up by one slot, and
    $W_{xh}$ writes $x_t$ into the slot vacated at the bottom (index $p$; the text's "(p, 0)"
    and "first element" disagree, the course map notes). With the identity activation
    $h_t = (x_{t-p+1}, \dots, x_t)$: a readout $W_{hy}$ on it is an AR($p$) model.
    """
    p = _validate.positive_int("order", order)
    dt = jnp.result_type(float)
    W_hh = jnp.eye(p, k=1, dtype=dt)
    W_xh = jnp.zeros((p, 1), dt).at[p - 1, 0].set(1.0)
    return W_xh, W_hh


def ar_series(*, key: PRNGKey, coefficients: ArrayLike, n: int, noise: float = 0.1) -> Array:
    r"""A simulated AR series $x_{t+1} = \sum_j c_j x_{t-j} + \varepsilon_t$,
    $\varepsilon\sim\mathcal N(0, \text{noise}^2)$, from zeros; ``(n,)``."""
    _validate.prng_key("key", key)
    c = _validate.float_array("coefficients", coefficients, ndim=1)
    n = _validate.positive_int("n", n)
    _validate.positive("noise", noise)
    return _ar_series(key, c, jnp.asarray(noise, c.dtype), n)


@functools.partial(jax.jit, static_argnames=("n",))
def _ar_series(key, c, noise, n):
    eps = noise * jax.random.normal(key, (n,), c.dtype)

    def step(past, e):  # past = (x_t, x_{t-1}, ...)
        x = c @ past + e
        return jnp.concatenate([x[None], past[:-1]]), x

    _, xs = lax.scan(step, jnp.zeros_like(c), eps)
    return xs


def fit_ar(x: ArrayLike, order: int) -> Array:
    r"""Least-squares AR fit: $\hat x_{t+1} = \sum_{j=0}^{p-1} a_j x_{t-j}$ (no intercept).

    Rows $t = p-1, \dots, n-2$ of the lagged design matrix $[x_t, x_{t-1}, \dots,
    x_{t-p+1}]$; returns ``a (p,)`` (``a[0]`` multiplies the newest value).
    """
    x = _validate.float_array("x", x, ndim=1)
    p = _validate.positive_int("order", order)
    if x.shape[0] <= 2 * p:
        raise ValueError(f"`x` must be longer than 2 * order = {2 * p}, got {x.shape[0]}.")
    n = x.shape[0]
    A = jnp.stack([x[p - 1 - j : n - 1 - j] for j in range(p)], axis=1)
    return jnp.linalg.lstsq(A, x[p:])[0]


def fit_linear_rnn_readout(W_xh: ArrayLike, W_hh: ArrayLike, x: ArrayLike, *, skip: int) -> Array:
    r"""Least-squares readout $W_{hy}$ of a linear RNN trained to forecast $x_{t+1}$ from $h_t$.

    States from :func:`course_lib.rnn.forward` with ``activation="linear"``; the first
    ``skip`` states (still filling up) are left out, so that with ``skip = p - 1`` the rows
    are those of :func:`fit_ar`. ``x (n,)`` -> ``W_hy (p,)``.
    """
    W_xh = _validate.float_array("W_xh", W_xh, ndim=2)
    W_hh = _validate.float_array("W_hh", W_hh, ndim=2)
    x = _validate.float_array("x", x, ndim=1)
    if W_hh.shape != (W_xh.shape[0],) * 2 or W_xh.shape[1] != 1:
        raise ValueError(
            f"need W_xh (p, 1) and W_hh (p, p), got {tuple(W_xh.shape)} and {tuple(W_hh.shape)}."
        )
    if not 0 <= skip < x.shape[0] - 1:
        raise ValueError(f"`skip` must lie in [0, {x.shape[0] - 2}], got {skip}.")
    return _fit_readout(W_xh, W_hh, x, skip)


@functools.partial(jax.jit, static_argnames=("skip",))
def _fit_readout(W_xh, W_hh, x, skip):
    p = W_hh.shape[0]
    params = rnn.RNNParams(W_xh, W_hh, jnp.zeros((1, p), x.dtype), jnp.zeros((p,), x.dtype),
                           jnp.zeros((1,), x.dtype))  # fmt: skip
    hs, _ = rnn.forward(params, x[:, None], activation="linear")
    return jnp.linalg.lstsq(hs[skip:-1], x[skip + 1 :])[0]
