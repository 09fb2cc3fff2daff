r"""Dropout by hand, and the weight-scaling rule against the exact ensemble (Aggarwal §4.5.4).

**Dropout** trains a different *sub-network* at every step: each input or hidden unit is kept
with probability $p$ (the *keep* or *retention* probability) and dropped otherwise, by
multiplying its output with a Bernoulli mask $m_i \sim \mathrm{Bernoulli}(p)$ drawn from an
explicit key. All $2^M$ sub-networks of $M$ droppable units share one set of weights.

*Inverted* dropout divides the kept outputs by $p$ during training, $\tilde h = m \odot h / p$,
so that $\mathbb E_m[\tilde h] = h$: for a linear layer the expected output over the masks is
exactly the output of the full network, and at test time the network runs unchanged. The
book's form keeps the outputs at training time and instead multiplies each unit's outgoing
weights by $p$ at test time: the **weight-scaling inference rule**. Both say the same thing.

**Which ensemble does weight scaling compute?** For probabilistic outputs the natural average
of the sub-networks is the *geometric mean*, normalized (Eq 4.10–4.11). Over **all** $2^M$
masks, each weighted by its probability $P(m) = p^{|m|}(1-p)^{M-|m|}$,

$$\log p^{Ens}_c(x) = \sum_m P(m)\,\log \mathrm{softmax}_c(z(x, m)) + \text{const},$$

and when the logits $z(x, m)$ are *affine* in the mask (softmax regression with dropout on its
inputs, or dropout on the last hidden layer only), $\sum_m P(m)\,z(x, m) = z(x, p\mathbf 1)$
while the log-partition terms are the same for every class, so the normalized geometric mean
is **exactly** $\mathrm{softmax}(z(x, p\mathbf 1))$: the weight-scaled network (erratum E4 of
the course map: the exactness holds for this probability-weighted mean over all masks, not for
the plain mean over a few sampled networks). With a nonlinearity after the dropped units the
rule is only an approximation; :func:`geometric_mean_prediction` enumerates the masks so that
the gap can be measured.

Parameters are tuples of :class:`course_lib.mlp.Dense`; the exact enumerations run in float64.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from course_lib import _validate, activations, data, mlp, optim
from course_lib._types import Array, ArrayLike, PRNGKey

#: Enumerating 2^M masks: at most this many droppable units.
MAX_ENUMERATED_UNITS = 16

# ------------------------------------------------------------------------------ the mask


def dropout_mask(*, key: PRNGKey, shape: tuple[int, ...], keep: ArrayLike) -> Array:
    r"""A mask of 0s and 1s, each entry 1 with probability ``keep`` independently.

    Returns:
        float array of ``shape`` (the default float dtype).
    """
    _validate.prng_key("key", key)
    _validate.in_range("keep", keep, 0.0, 1.0)
    return jax.random.bernoulli(key, keep, tuple(shape)).astype(jnp.result_type(float))


def dropout(x: ArrayLike, *, key: PRNGKey, keep: ArrayLike) -> Array:
    r"""Inverted dropout: $\tilde x = m \odot x / p$ with $m_i \sim \mathrm{Bernoulli}(p)$.

    ``keep`` ($p$) may be traced; $p = 1$ returns ``x`` unchanged. Dividing by $p$ keeps the
    expectation: $\mathbb E[\tilde x] = x$.
    """
    x = _validate.float_array("x", x)
    _validate.prng_key("key", key)
    _validate.in_range("keep", keep, 0.0, 1.0)
    _validate.positive("keep", keep)
    return _dropout(x, key, keep)


def _dropout(x, key, keep):
    mask = jax.random.bernoulli(key, keep, x.shape)
    return jnp.where(mask, x / keep, 0.0)


# ------------------------------------------------------------------------------ enumeration


def all_masks(M: int) -> np.ndarray:
    """Every mask of ``M`` units: shape ``(2**M, M)``, row ``r`` = the binary digits of ``r``
    (unit 0 is the lowest bit). Float64 NumPy."""
    M = _validate.positive_int("M", M)
    if M > MAX_ENUMERATED_UNITS:
        raise ValueError(
            f"`M` must be at most {MAX_ENUMERATED_UNITS} (2^M sub-networks are enumerated), "
            f"got {M}."
        )
    r = np.arange(2**M)[:, None]
    return ((r >> np.arange(M)[None, :]) & 1).astype(np.float64)


def mask_probabilities(masks: ArrayLike, keep: ArrayLike) -> Array:
    r"""$P(m) = p^{|m|}(1 - p)^{M - |m|}$ for each row ``m`` of ``masks: (B, M)``."""
    masks = jnp.asarray(masks)
    kept = jnp.sum(masks, axis=-1)
    M = masks.shape[-1]
    return keep**kept * (1.0 - keep) ** (M - kept)


def masked_logits(
    params: tuple[mlp.Dense, ...],
    X: Array,
    mask: Array,
    *,
    layer: int = 0,
    activation: str = "tanh",
) -> Array:
    r"""Logits of the sub-network whose units entering layer ``layer`` are multiplied by ``mask``.

    ``layer = 0`` drops inputs; ``layer = k`` drops the outputs of hidden layer ``k``. A mask
    of 0/1 is one sub-network; the constant mask $p\mathbf 1$ is the weight-scaled network;
    $m/p$ is inverted dropout. ``X: (n, d)``, ``mask: (d_layer,)`` or ``(n, d_layer)``.
    Returns ``(n, k)``.
    """
    act = activations.get(activation)
    h = X
    for k, dense in enumerate(params):
        if k == layer:
            h = h * (mask[None, :] if jnp.ndim(mask) == 1 else mask)
        h = h @ dense.W + dense.b[None, :]
        if k < len(params) - 1:
            h = act.fn(h)
    return h


class MaskEnsemble(NamedTuple):
    """The three predictions of a dropout network for ``X: (n, d)``, each ``(n, k)`` float64."""

    geometric: np.ndarray  # normalized probability-weighted geometric mean over all 2^M masks
    arithmetic: np.ndarray  # probability-weighted arithmetic mean over all 2^M masks
    weight_scaled: np.ndarray  # softmax of the network with its dropped units scaled by keep


@functools.partial(jax.jit, static_argnames=("layer", "activation"))
def _mask_ensemble(params, X, masks, keep, *, layer, activation):
    probs = mask_probabilities(masks, keep)  # (B,)

    def log_probs(mask):
        return jax.nn.log_softmax(
            masked_logits(params, X, mask, layer=layer, activation=activation)
        )

    logp = jax.vmap(log_probs)(masks)  # (B, n, k)
    geo = jax.nn.softmax(jnp.tensordot(probs, logp, axes=1), axis=-1)
    arith = jnp.tensordot(probs, jnp.exp(logp), axes=1)
    scaled = jnp.full((masks.shape[1],), keep, X.dtype)
    ws = jax.nn.softmax(masked_logits(params, X, scaled, layer=layer, activation=activation))
    return geo, arith, ws


def mask_ensemble(
    params: tuple[mlp.Dense, ...],
    X: ArrayLike,
    *,
    keep: float,
    layer: int = 0,
    activation: str = "tanh",
) -> MaskEnsemble:
    r"""Enumerate all $2^M$ sub-networks (the $M$ units entering layer ``layer``) and average.

    Returns the normalized, probability-weighted **geometric** mean (Eq 4.10–4.11 over all
    masks), the probability-weighted **arithmetic** mean, and the **weight-scaled** network's
    softmax, all computed in float64.
    """
    mlp._check_inputs(params, X)
    _validate.in_range("keep", keep, 0.0, 1.0)
    _validate.positive("keep", keep)
    if not isinstance(layer, int) or not 0 <= layer < len(params):
        raise ValueError(f"`layer` must be an integer in [0, {len(params)}), got {layer!r}.")
    activations.get(activation)
    masks = all_masks(params[layer].W.shape[0])
    with jax.enable_x64(True):
        p64 = jax.tree.map(lambda a: jnp.asarray(a, jnp.float64), params)
        X64 = jnp.asarray(X, jnp.float64)
        out = _mask_ensemble(
            p64, X64, jnp.asarray(masks), jnp.float64(keep), layer=layer, activation=activation
        )
        return MaskEnsemble(*(np.asarray(a, np.float64) for a in out))


def linear_expectation(
    W: ArrayLike, b: ArrayLike, x: ArrayLike, *, keep: float
) -> tuple[np.ndarray, np.ndarray]:
    r"""$\sum_m P(m)\,[(m \odot x / p)\,W + b]$ over all $2^d$ input masks, and $xW + b$.

    The exact expectation of an inverted-dropout linear layer over its masks, beside the
    test-time (no dropout) output; ``W: (d, k)``, ``b: (k,)``, ``x: (n, d)``. Float64.
    """
    W = _validate.float_array("W", W, ndim=2)
    x = _validate.float_array("x", x, ndim=2)
    b = _validate.float_array("b", b, ndim=1)
    if x.shape[1] != W.shape[0] or b.shape[0] != W.shape[1]:
        raise ValueError(
            f"shapes do not fit: x {tuple(x.shape)}, W {tuple(W.shape)}, b {tuple(b.shape)}."
        )
    _validate.in_range("keep", keep, 0.0, 1.0)
    _validate.positive("keep", keep)
    masks = all_masks(W.shape[0])
    with jax.enable_x64(True):
        f64 = jnp.float64
        mean, plain = _linear_expectation(
            jnp.asarray(W, f64),
            jnp.asarray(b, f64),
            jnp.asarray(x, f64),
            jnp.asarray(masks),
            f64(keep),
        )
        return np.asarray(mean, np.float64), np.asarray(plain, np.float64)


@jax.jit
def _linear_expectation(W, b, x, masks, keep):
    probs = mask_probabilities(masks, keep)
    outs = jnp.einsum("bd,nd,dk->bnk", masks / keep, x, W) + b[None, None, :]  # (2^d, n, k)
    return jnp.tensordot(probs, outs, axes=1), x @ W + b[None, :]


# ------------------------------------------------------------------------------ training


def dropout_logits(
    params: tuple[mlp.Dense, ...],
    X: Array,
    *,
    key: PRNGKey,
    keep_in: ArrayLike,
    keep_hidden: ArrayLike,
    activation: str = "relu",
) -> Array:
    r"""Training-mode logits: inverted dropout on the inputs (keep ``keep_in``) and on every
    hidden layer's output (keep ``keep_hidden``), a fresh mask per example and unit."""
    act = activations.get(activation)
    # one uniform draw for every mask of the step (each jax.random call costs compile time);
    # u < p is a Bernoulli(p) mask, exactly as jax.random.bernoulli draws it
    widths = [dense.W.shape[0] for dense in params]
    u = jax.random.uniform(key, (X.shape[0], sum(widths)), X.dtype)
    starts = [sum(widths[:k]) for k in range(len(widths))]

    def drop(h, k, keep):
        mask = u[:, starts[k] : starts[k] + widths[k]] < keep
        return jnp.where(mask, h / keep, 0.0)

    h = drop(X, 0, keep_in)
    for k, dense in enumerate(params):
        h = h @ dense.W + dense.b[None, :]
        if k < len(params) - 1:
            h = drop(act.fn(h), k + 1, keep_hidden)
    return h


def _dropout_loss(params, X, y, key, keep_in, keep_hidden, activation):
    logits = dropout_logits(
        params, X, key=key, keep_in=keep_in, keep_hidden=keep_hidden, activation=activation
    )
    logp = jax.nn.log_softmax(logits)
    return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))


def _train_one(params, X, y, key, lr, keep_in, keep_hidden, steps, activation):
    opt = optim.adam(lr)
    grad_fn = jax.value_and_grad(_dropout_loss)

    def body(carry, k):
        p, s = carry
        value, g = grad_fn(p, X, y, k, keep_in, keep_hidden, activation)
        u, s = opt.update(g, s, p)
        return (optim.apply_updates(p, u), s), value

    (params, _), losses = jax.lax.scan(
        body, (params, opt.init(params)), jax.random.split(key, steps)
    )
    return params, losses


class DropoutRuns(NamedTuple):
    """What :func:`compare_dropout` measures: one row per seed, columns (plain, dropout).

    Everything is of the full network (no units dropped), after training."""

    train_accuracy: np.ndarray  # (seeds, 2)
    test_accuracy: np.ndarray  # (seeds, 2)
    train_loss: np.ndarray  # (seeds, 2) mean cross-entropy on the training set
    test_loss: np.ndarray  # (seeds, 2) mean cross-entropy on the test set

    @property
    def accuracy_gap(self) -> np.ndarray:
        """Train minus test accuracy, ``(seeds, 2)``."""
        return self.train_accuracy - self.test_accuracy

    @property
    def loss_gap(self) -> np.ndarray:
        """Test minus train cross-entropy, ``(seeds, 2)``."""
        return self.test_loss - self.train_loss


def _he_uniform(key: PRNGKey, sizes: tuple[int, ...], dtype) -> tuple[mlp.Dense, ...]:
    r"""He initialization with uniform weights, $W_{ij} \sim U(-a, a)$, $a = \sqrt{6/d_{in}}$
    (variance $2/d_{in}$), zero biases; one uniform draw for all layers (cheap to compile)."""
    shapes = list(zip(sizes[:-1], sizes[1:], strict=True))
    u = jax.random.uniform(key, (sum(a * b for a, b in shapes),), dtype, -1.0, 1.0)
    layers, start = [], 0
    for d_in, d_out in shapes:
        W = jnp.sqrt(6.0 / d_in) * u[start : start + d_in * d_out].reshape(d_in, d_out)
        layers.append(mlp.Dense(W, jnp.zeros(d_out, dtype)))
        start += d_in * d_out
    return tuple(layers)


@functools.partial(jax.jit, static_argnames=("sizes", "seeds", "steps", "activation"))
def _compare(
    key, X, y, X_test, y_test, lr, keep_in, keep_hidden, *, sizes, seeds, steps, activation
):
    keeps = (
        jnp.stack([jnp.ones((), X.dtype), keep_in]),
        jnp.stack([jnp.ones((), X.dtype), keep_hidden]),
    )

    def one_seed(k):
        k_init, k_train = jax.random.split(k)
        start = _he_uniform(k_init, sizes, X.dtype)

        def one_config(ki, kh):  # same init and the same mask keys for both configurations
            p, _ = _train_one(start, X, y, k_train, lr, ki, kh, steps, activation)

            def measure(A, b):
                logp = jax.nn.log_softmax(mlp.forward_cache(p, A, activation).pre[-1])
                acc = jnp.mean(jnp.argmax(logp, axis=1) == b)
                return acc, -jnp.mean(jnp.take_along_axis(logp, b[:, None], axis=1))

            (a_tr, l_tr), (a_te, l_te) = measure(X, y), measure(X_test, y_test)
            return a_tr, a_te, l_tr, l_te

        return jax.vmap(one_config)(*keeps)

    return jax.vmap(one_seed)(jax.random.split(key, seeds))


def compare_dropout(
    train: data.Dataset,
    test: data.Dataset,
    *,
    key: PRNGKey,
    sizes: tuple[int, ...],
    seeds: int = 4,
    steps: int = 300,
    lr: float = 3e-3,
    keep_in: float = 0.8,
    keep_hidden: float = 0.5,
    activation: str = "relu",
) -> DropoutRuns:
    r"""Train the same network with and without dropout, for several seeds, and measure both.

    For each seed one He initialization (uniform weights of variance $2/d_{in}$) is trained
    twice by full-batch Adam for ``steps`` steps: once plainly (keep probabilities 1) and once
    with inverted dropout (``keep_in`` on the inputs, ``keep_hidden`` on the hidden units),
    from the same start with the same keys.
    Accuracies are of the full network (no dropout, which is the weight-scaling rule for
    inverted dropout). All ``2 x seeds`` runs are one jitted, vmapped call, in float64 (so
    that the last bits of the arithmetic of different processors cannot change a prediction).
    """
    _validate.prng_key("key", key)
    sizes = tuple(_validate.positive_int("sizes", s) for s in sizes)
    params_shape = mlp.init(sizes, key=jax.random.key(0))
    X = mlp._check_inputs(params_shape, train[0])
    X_test = mlp._check_inputs(params_shape, test[0])
    y = _validate.index_array("train.y", train[1], size=sizes[-1], ndim=1)
    y_test = _validate.index_array("test.y", test[1], size=sizes[-1], ndim=1)
    _validate.same_rows("train.X", X, "train.y", y)
    _validate.same_rows("test.X", X_test, "test.y", y_test)
    seeds = _validate.positive_int("seeds", seeds)
    steps = _validate.positive_int("steps", steps)
    _validate.positive("lr", lr)
    for name, value in (("keep_in", keep_in), ("keep_hidden", keep_hidden)):
        _validate.in_range(name, value, 0.0, 1.0)
        _validate.positive(name, value)
    activations.get(activation)
    with jax.enable_x64(True):
        f64 = jnp.float64
        out = _compare(
            key,
            jnp.asarray(X, f64),
            y,
            jnp.asarray(X_test, f64),
            y_test,
            f64(lr),
            f64(keep_in),
            f64(keep_hidden),
            sizes=sizes,
            seeds=seeds,
            steps=steps,
            activation=activation,
        )
        return DropoutRuns(*(np.asarray(a, np.float64) for a in out))
