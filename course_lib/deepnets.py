r"""Training deep networks: initialization, vanishing gradients, dead units, batch normalization.

Aggarwal §3.3 (preprocessing and initialization), §3.4 (vanishing and exploding gradients, dying
ReLUs, leaky ReLU), §3.6 (batch normalization); Goodfellow et al. §8.4 (initialization) and
§8.7.1 (batch normalization).

What is here:

- :func:`xavier_std`, the Glorot/Xavier standard deviation $\sqrt{2/(r_{in} + r_{out})}$;
- :func:`depth_statistics`: one forward and backward pass through a deep square network of a
  chosen activation and initial scale, measuring per layer the variance of the activations,
  the variance of the back-propagated gradient and the norm of the weight gradient. The
  activation, the depth and the scale are *traced*, so a widget that moves them never
  recompiles (:func:`depth_statistics_cache_size`);
- :func:`chain_gradient`: the chain of one-unit layers of the book's Fig 3.8, whose derivative
  is a product of $w_t\,\Phi'(a_t)$ factors (hence $\le 0.25^m\prod_t|w_t|$ for the sigmoid);
- :func:`dead_unit_fraction` (ReLU units that never fire on a dataset) and :func:`unit_spread`
  (how far the units of a layer are from being identical: the symmetry that a constant
  initialization never breaks);
- a network with optional **batch normalization** before every hidden activation
  (:func:`init_net`, :func:`apply`, :func:`net_loss`): train mode normalizes with the batch's
  statistics and updates running averages, eval mode uses the running averages;
- :func:`fit`: minibatch SGD with momentum (:mod:`course_lib.optim`), every epoch one
  ``lax.scan`` over :func:`course_lib.data.minibatches`, all epochs in one jitted ``lax.scan``,
  learning rate and momentum traced;
- :func:`standardize` and :func:`whiten` (§3.3.2).
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from course_lib import _validate, activations, data, layers, mlp, optim
from course_lib._types import Array, ArrayLike, PRNGKey

# ------------------------------------------------------------------------------ initialization


def xavier_std(fan_in: int, fan_out: int) -> float:
    r"""The Xavier/Glorot standard deviation $\sigma = \sqrt{2/(r_{in} + r_{out})}$ (§3.3.3).

    Forward, a unit sums $r_{in}$ terms $w\,h$, so $\mathrm{Var}(a) = r_{in}\,\sigma^2\,
    \mathrm{Var}(h)$: the activations keep their variance when $r_{in}\sigma^2 = 1$. Backward,
    $\partial L/\partial h$ sums $r_{out}$ terms, which asks for $r_{out}\sigma^2 = 1$. Glorot
    and Bengio take the harmonic compromise $\sigma^2 = 2/(r_{in} + r_{out})$.

    Args:
        fan_in: inputs per unit $r_{in}$ (a positive int).
        fan_out: outputs per unit $r_{out}$ (a positive int).
    """
    fan_in = _validate.positive_int("fan_in", fan_in)
    fan_out = _validate.positive_int("fan_out", fan_out)
    return math.sqrt(2.0 / (fan_in + fan_out))


# ------------------------------------------------------------------------------ depth experiments

DEPTH_ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu")
"""The activations :func:`depth_statistics` accepts, in the order of its ``lax.switch``."""


class DepthStats(NamedTuple):
    r"""Per-layer measurements of :func:`depth_statistics`; layer $l = 1..$max_depth.

    Entries of layers deeper than ``depth`` are NaN (those layers do not exist).
    """

    activation_var: Array  # (max_depth,) Var(h_l) over the batch and the units
    gradient_var: Array  # (max_depth,) Var(dL/da_l), the back-propagated gradient
    weight_grad_norm: Array  # (max_depth,) ||dL/dW_l||_F


@functools.partial(jax.jit, static_argnames=("max_depth", "width", "n"))
def _depth_stats(key, index, depth, gain, *, max_depth, width, n):
    k_w, k_x, k_u = jax.random.split(key, 3)
    # Square layers: xavier_std(width, width) = 1/sqrt(width); gain = 1 is Xavier.
    Ws = gain * jax.random.normal(k_w, (max_depth, width, width)) / math.sqrt(width)
    X = jax.random.normal(k_x, (n, width))  # (n, width), unit variance inputs
    u = jax.random.normal(k_u, (width,))  # the loss L = sum_i u . h_D,i : dL/dh_D = u
    fns = [activations.get(name).fn for name in DEPTH_ACTIVATIONS]
    layer_ids = jnp.arange(1, max_depth + 1)

    def forward(Ws, probes):
        def body(h, inputs):
            layer, W, z = inputs
            a = h @ W + z  # (n, width); z = 0 is a probe: dL/dz = dL/da
            h_new = jnp.where(layer <= depth, lax.switch(index, fns, a), h)  # identity past depth
            return h_new, h_new

        h_top, hs = lax.scan(body, X, (layer_ids, Ws, probes))
        return jnp.sum(h_top @ u), hs

    probes = jnp.zeros((max_depth, n, width), X.dtype)
    (_, hs), (g_W, g_a) = jax.value_and_grad(forward, argnums=(0, 1), has_aux=True)(Ws, probes)
    exists = layer_ids <= depth
    nan = jnp.nan
    return DepthStats(
        jnp.where(exists, jnp.var(hs, axis=(1, 2)), nan),
        jnp.where(exists, jnp.var(g_a, axis=(1, 2)), nan),
        jnp.where(exists, jnp.sqrt(jnp.sum(g_W**2, axis=(1, 2))), nan),
    )


def depth_statistics(
    activation: str,
    *,
    depth: int,
    gain: float,
    key: PRNGKey,
    max_depth: int = 30,
    width: int = 64,
    n: int = 256,
) -> DepthStats:
    r"""Activation and gradient statistics per layer of a deep square network (§3.3.3, §3.4).

    The network has ``depth`` layers $h_l = \Phi(h_{l-1} W_l)$ of ``width`` units (no biases),
    with $W_l$ entries drawn from $N(0, (\text{gain}\cdot\sigma_X)^2)$ where
    $\sigma_X = 1/\sqrt{\text{width}}$ is :func:`xavier_std` for square layers. The input
    $h_0$ is ``n`` standard normal rows, and the loss is $L = \sum_i u\cdot h_{D,i}$ for a
    random $u \sim N(0, I)$, so that the gradient arriving at the top has unit variance.

    ``activation``, ``depth`` and ``gain`` are traced: changing them does not recompile (the
    network always has ``max_depth`` layers; those past ``depth`` are the identity). The
    gradients are ``jax.grad``'s: at an exact ReLU tie $a = 0$ (a row of inputs that are all
    0) it takes the slope 1/2.

    Args:
        activation: one of :data:`DEPTH_ACTIVATIONS`.
        depth: number of layers, ``1 <= depth <= max_depth``.
        gain: the multiple of the Xavier scale (> 0).
        key: draws the weights, inputs and $u$.
        max_depth, width, n: static sizes.

    Returns:
        :class:`DepthStats`, each field of shape ``(max_depth,)`` (NaN past ``depth``).
    """
    _validate.prng_key("key", key)
    max_depth = _validate.positive_int("max_depth", max_depth)
    width = _validate.positive_int("width", width)
    n = _validate.positive_int("n", n)
    if activation not in DEPTH_ACTIVATIONS:
        raise ValueError(f"`activation` must be one of {DEPTH_ACTIVATIONS}, got {activation!r}.")
    depth = _validate.positive_int("depth", depth)
    if depth > max_depth:
        raise ValueError(f"`depth` must be at most max_depth={max_depth}, got {depth}.")
    _validate.positive("gain", gain)
    dtype = jnp.result_type(float)
    return _depth_stats(
        key,
        jnp.int32(DEPTH_ACTIVATIONS.index(activation)),
        jnp.int32(depth),
        jnp.asarray(gain, dtype),
        max_depth=max_depth,
        width=width,
        n=n,
    )


def depth_statistics_cache_size() -> int:
    """How many times :func:`depth_statistics` has compiled (for no-recompile checks)."""
    return _depth_stats._cache_size()


def chain_gradient(weights: ArrayLike, x0: float, activation: str = "sigmoid") -> Array:
    r"""$\partial h_t/\partial x_0$ for $t = 1..m$ along a chain of one-unit layers (Fig 3.8).

    Layer $t$ computes $a_t = w_t h_{t-1}$, $h_t = \Phi(a_t)$, with $h_0 = x_0$. By the chain
    rule (Eq 3.38, unrolled)

    $$\frac{\partial h_t}{\partial x_0} = \prod_{s=1}^{t} w_s\,\Phi'(a_s),$$

    written out here by hand (the forward pass collects the factors). For the sigmoid
    $\Phi' \le 1/4$, so $|\partial h_t/\partial x_0| \le 0.25^t \prod_{s\le t}|w_s|$.

    Args:
        weights: ``(m,)`` the weights $w_1..w_m$.
        x0: the input (a scalar).
        activation: a name from :data:`course_lib.activations.ACTIVATIONS`.

    Returns:
        shape ``(m,)``: the derivative of each $h_t$ with respect to $x_0$.
    """
    weights = _validate.float_array("weights", weights, ndim=1)
    act = activations.get(activation)
    x0 = jnp.asarray(x0, weights.dtype)

    def body(h, w):
        a = w * h
        return act.fn(a), w * act.grad(a)

    _, factors = lax.scan(body, x0, weights)
    return jnp.cumprod(factors)


def dead_unit_fraction(
    params: tuple[mlp.Dense, ...], X: ArrayLike, activation: str = "relu"
) -> Array:
    r"""The fraction of units in each hidden layer that never fire on the rows of ``X`` (§3.4.3).

    Unit $j$ of layer $k$ is *dead* on ``X`` when its pre-activation is never positive,
    $\max_i a_{k,ij} \le 0$: a ReLU then outputs 0 for every example, and its gradient
    $\mathrm{ReLU}'(a) = [a > 0]$ is 0 too, so gradient descent can never revive it.

    Args:
        params: a network from :func:`course_lib.mlp.init` (``L`` layers).
        X: inputs ``(n, d)``.
        activation: the hidden activation the network uses.

    Returns:
        shape ``(L - 1,)``: the dead fraction of each hidden layer.
    """
    X = mlp._check_inputs(params, X)
    activations.get(activation)
    if len(params) < 2:
        raise ValueError("`params` must have at least one hidden layer (2 Dense layers).")
    return _dead_fraction(params, X, activation=activation)


@functools.partial(jax.jit, static_argnames="activation")
def _dead_fraction(params, X, *, activation):
    cache = mlp.forward_cache(params, X, activation)
    return jnp.stack([jnp.mean(jnp.max(a, axis=0) <= 0) for a in cache.pre[:-1]])


def unit_spread(params: tuple[mlp.Dense, ...]) -> Array:
    r"""How far the hidden units of a network are from being identical copies (§3.3.3).

    Unit $j$ of hidden layer $k$ is described by its incoming weights (column $j$ of $W_k$),
    its bias $b_{k,j}$ and its outgoing weights (row $j$ of $W_{k+1}$). This returns the
    largest absolute difference between any unit's numbers and those of unit 0 of the same
    layer, over all hidden layers: exactly 0 when every layer is made of identical units.
    """
    if not isinstance(params, tuple) or len(params) < 2:
        raise TypeError("`params` must be a tuple of at least 2 Dense layers (from mlp.init).")
    return _unit_spread(params)


@jax.jit
def _unit_spread(params):
    gaps = []
    for k in range(len(params) - 1):
        W_in, b, W_out = params[k].W, params[k].b, params[k + 1].W
        gaps.append(jnp.max(jnp.abs(W_in - W_in[:, :1])))
        gaps.append(jnp.max(jnp.abs(b - b[0])))
        gaps.append(jnp.max(jnp.abs(W_out - W_out[:1, :])))
    return jnp.max(jnp.stack(gaps))


# ------------------------------------------------------------------------------ batch normalization


class Net(NamedTuple):
    """A deep network's parameters: ``L`` dense layers and, with batch norm, ``L - 1`` norms."""

    dense: tuple[mlp.Dense, ...]
    norms: tuple[layers.BatchNorm, ...]  # () without batch normalization


class RunningStats(NamedTuple):
    """Running averages of each batch-normalized layer's batch mean and variance (eval mode)."""

    mean: tuple[Array, ...]  # each (d_k,)
    var: tuple[Array, ...]  # each (d_k,)


def init_net(
    sizes: tuple[int, ...] | list[int],
    *,
    key: PRNGKey,
    batchnorm: bool,
    scheme: str = "xavier",
) -> tuple[Net, RunningStats]:
    r"""Parameters and running statistics of a network with optional batch normalization.

    The dense layers come from :func:`course_lib.mlp.init` (the same key gives the same
    weights with and without batch norm, so the two can be compared fairly). Batch norm starts
    as $\gamma = 1$, $\beta = 0$; the running mean starts at 0 and the running variance at 1.

    Returns:
        ``(Net, RunningStats)``; without ``batchnorm`` both tuples of norms/statistics are empty.
    """
    dense = mlp.init(sizes, key=key, scheme=scheme)
    if not isinstance(batchnorm, bool):
        raise TypeError(f"`batchnorm` must be True or False, got {batchnorm!r}.")
    hidden = tuple(sizes)[1:-1] if batchnorm else ()
    dtype = dense[0].W.dtype
    norms = tuple(layers.BatchNorm(jnp.ones(d, dtype), jnp.zeros(d, dtype)) for d in hidden)
    stats = RunningStats(
        tuple(jnp.zeros(d, dtype) for d in hidden), tuple(jnp.ones(d, dtype) for d in hidden)
    )
    return Net(dense, norms), stats


def apply(
    params: Net,
    stats: RunningStats,
    X: Array,
    *,
    train: bool,
    activation: str = "sigmoid",
    decay: float | Array = 0.9,
) -> tuple[Array, RunningStats]:
    r"""The logits of the network, and the running statistics (updated in train mode) (§3.6).

    Hidden layer $k$ computes $v_k = h_{k-1}W_k + b_k$, then (with batch norm, *before* the
    activation as Ioffe and Szegedy recommend, Fig 3.18b)

    $$\hat v_k = \frac{v_k - \mu_k}{\sqrt{\sigma_k^2 + \epsilon}}, \qquad
      h_k = \Phi(\gamma_k \odot \hat v_k + \beta_k).$$

    In **train** mode $\mu_k, \sigma^2_k$ are the batch's mean and (biased) variance
    (:func:`course_lib.layers.batchnorm_forward`) and the running averages move towards them,
    $m \leftarrow \rho\,m + (1 - \rho)\,\mu$; in **eval** mode the running averages are used,
    so each example's output no longer depends on the rest of the batch. With batch norm the
    bias $b_k$ is cancelled by the mean subtraction (its gradient is exactly 0; $\beta_k$
    takes its role).

    Args:
        params, stats: from :func:`init_net`.
        X: inputs ``(n, d)``.
        train: use batch statistics (True) or the running averages (False). Static.
        activation: hidden activation name.
        decay: $\rho$ of the running averages (may be traced).

    Returns:
        ``(logits (n, k), new_stats)``.
    """
    act = activations.get(activation)
    h = X
    means, variances = [], []
    L = len(params.dense)
    for k, layer in enumerate(params.dense):
        v = h @ layer.W + layer.b[None, :]  # (n, d_k)
        if k == L - 1:
            return v, RunningStats(tuple(means), tuple(variances))
        if params.norms:
            bn = params.norms[k]
            if train:
                mu, var = (
                    lax.stop_gradient(jnp.mean(v, axis=0)),
                    lax.stop_gradient(jnp.var(v, axis=0)),
                )
                v, _ = layers.batchnorm_forward(bn, v)
                means.append(decay * stats.mean[k] + (1.0 - decay) * mu)
                variances.append(decay * stats.var[k] + (1.0 - decay) * var)
            else:
                inv_std = lax.rsqrt(stats.var[k] + layers.BATCHNORM_EPS)
                v = bn.gamma[None, :] * (v - stats.mean[k][None, :]) * inv_std[None, :]
                v = v + bn.beta[None, :]
                means.append(stats.mean[k])
                variances.append(stats.var[k])
        h = act.fn(v)
    raise AssertionError("unreachable")  # pragma: no cover


def net_loss(
    params: Net,
    stats: RunningStats,
    X: Array,
    labels: Array,
    *,
    train: bool,
    activation: str = "sigmoid",
    decay: float | Array = 0.9,
) -> tuple[Array, RunningStats]:
    """The mean softmax cross-entropy of :func:`apply`'s logits, and the new statistics."""
    logits, new_stats = apply(params, stats, X, train=train, activation=activation, decay=decay)
    logp = jax.nn.log_softmax(logits, axis=1)
    return -jnp.mean(jnp.take_along_axis(logp, labels[:, None], axis=1)), new_stats


class History(NamedTuple):
    """Per-epoch measurements of :func:`fit`, each of shape ``(epochs,)``."""

    train_loss: Array  # mean minibatch loss during the epoch (train mode)
    test_loss: Array  # on the test set, eval mode, after the epoch
    test_accuracy: Array  # on the test set, eval mode, after the epoch


def _epoch(params, stats, opt_state, X, y, key, lr, momentum, *, batch_size, activation):
    """One pass over shuffled minibatches of ``(X, y)``: a ``lax.scan`` of SGD steps."""
    opt = optim.sgd(lr, momentum)
    batches = data.minibatches(data.Dataset(X, y), key=key, batch_size=batch_size)

    def step(carry, batch):
        p, s, o = carry
        Xb, yb = batch
        (value, s_new), g = jax.value_and_grad(net_loss, has_aux=True)(
            p, s, Xb, yb, train=True, activation=activation
        )
        updates, o = opt.update(g, o, p)
        return (optim.apply_updates(p, updates), s_new, o), value

    (params, stats, opt_state), values = lax.scan(step, (params, stats, opt_state), batches)
    return params, stats, opt_state, jnp.mean(values)


train_epoch = jax.jit(_epoch, static_argnames=("batch_size", "activation"))
train_epoch.__doc__ = r"""One jitted epoch of minibatch SGD with momentum (lr, momentum traced).

``train_epoch(params, stats, opt_state, X, y, key, lr, momentum, *, batch_size, activation)``
returns ``(params, stats, opt_state, mean_minibatch_loss)``; ``opt_state`` comes from
``optim.sgd(lr, momentum).init(params)``. The batches are :func:`course_lib.data.minibatches`.
"""


@functools.partial(jax.jit, static_argnames=("epochs", "batch_size", "activation"))
def _fit(params, stats, X, y, X_test, y_test, key, lr, momentum, *, epochs, batch_size, activation):
    opt_state = optim.sgd(lr, momentum).init(params)

    def one_epoch(carry, k):
        p, s, o = carry
        p, s, o, train_loss = _epoch(
            p, s, o, X, y, k, lr, momentum, batch_size=batch_size, activation=activation
        )
        logits, _ = apply(p, s, X_test, train=False, activation=activation)
        logp = jax.nn.log_softmax(logits, axis=1)
        test_loss = -jnp.mean(jnp.take_along_axis(logp, y_test[:, None], axis=1))
        test_acc = jnp.mean(jnp.argmax(logits, axis=1) == y_test)
        return (p, s, o), (train_loss, test_loss, test_acc)

    (params, stats, _), hist = lax.scan(
        one_epoch, (params, stats, opt_state), jax.random.split(key, epochs)
    )
    return params, stats, History(*hist)


def fit(
    params: Net,
    stats: RunningStats,
    train: data.Dataset,
    test: data.Dataset,
    *,
    key: PRNGKey,
    epochs: int,
    batch_size: int,
    lr: float,
    momentum: float = 0.9,
    activation: str = "sigmoid",
) -> tuple[Net, RunningStats, History]:
    r"""Minibatch SGD with momentum for ``epochs`` epochs, all in one jitted ``lax.scan``.

    Each step is $\theta \leftarrow \theta + \Delta\theta$ with the momentum update of
    :func:`course_lib.optim.sgd` on the minibatch loss of :func:`net_loss` in train mode;
    each epoch reshuffles with its own key. ``lr`` and ``momentum`` are traced (a new value
    does not recompile).

    Args:
        params, stats: from :func:`init_net`.
        train, test: ``Dataset(X (n, d), y (n,) int)``.
        key: shuffles the minibatches.
        epochs, batch_size: static sizes.
        lr: learning rate (> 0); momentum: in [0, 1].

    Returns:
        ``(params, stats, History)``.
    """
    _validate.prng_key("key", key)
    if not isinstance(params, Net) or not isinstance(stats, RunningStats):
        raise TypeError("`params` and `stats` must come from deepnets.init_net.")
    X = mlp._check_inputs(params.dense, train[0])
    X_test = mlp._check_inputs(params.dense, test[0])
    y, y_test = jnp.asarray(train[1]), jnp.asarray(test[1])
    _validate.same_rows("train.X", X, "train.y", y)
    _validate.same_rows("test.X", X_test, "test.y", y_test)
    epochs = _validate.positive_int("epochs", epochs)
    batch_size = _validate.positive_int("batch_size", batch_size)
    if batch_size > X.shape[0]:
        raise ValueError(f"`batch_size` ({batch_size}) is larger than the training set.")
    _validate.positive("lr", lr)
    _validate.in_range("momentum", momentum, 0.0, 1.0)
    activations.get(activation)
    dtype = X.dtype
    return _fit(
        params,
        stats,
        X,
        y,
        X_test,
        y_test,
        key,
        jnp.asarray(lr, dtype),
        jnp.asarray(momentum, dtype),
        epochs=epochs,
        batch_size=batch_size,
        activation=activation,
    )


def fit_cache_size() -> int:
    """How many times :func:`fit` has compiled (for no-recompile checks)."""
    return _fit._cache_size()


# ------------------------------------------------------------------------------ preprocessing


def standardize(X: ArrayLike) -> Array:
    r"""Centre every column and scale it to unit standard deviation (§3.3.2).

    $x_{ij} \leftarrow (x_{ij} - \mu_j)/\sigma_j$; a constant column (σ = 0) is only centred.
    """
    X = _validate.float_array("X", X, ndim=2)
    mu, sd = jnp.mean(X, axis=0), jnp.std(X, axis=0)
    return (X - mu[None, :]) / jnp.where(sd > 0, sd, 1.0)[None, :]


def whiten(X: ArrayLike, *, eps: float = 1e-5) -> Array:
    r"""PCA whitening (§3.3.2, Eq 3.36–3.37): decorrelate the columns and give them unit variance.

    With $D$ the mean-centred data and $C = D^\top D/n = P\Lambda P^\top$, returns
    $U = D P\,(\Lambda + \epsilon)^{-1/2}$, whose covariance is $\approx I$ (exactly
    $\Lambda/(\Lambda+\epsilon)$).

    Args:
        X: ``(n, d)``.
        eps: added to every eigenvalue, so directions of (almost) zero variance stay finite.

    Returns:
        ``(n, d)``, columns ordered by decreasing variance of the original data.
    """
    X = _validate.float_array("X", X, ndim=2)
    _validate.positive("eps", eps)
    D = X - jnp.mean(X, axis=0)[None, :]
    lam, P = jnp.linalg.eigh(D.T @ D / X.shape[0])
    lam, P = lam[::-1], P[:, ::-1]
    return (D @ P) / jnp.sqrt(jnp.maximum(lam, 0.0) + eps)[None, :]
