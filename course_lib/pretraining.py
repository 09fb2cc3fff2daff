r"""Greedy layer-wise unsupervised pretraining of a deep network (Aggarwal §4.7).

A classifier with hidden widths $h_1, \dots, h_k$ is initialized one layer at a time, without
labels. Stage $j$ trains a shallow autoencoder on the codes $H_{j-1}$ of the stages below
($H_0 = X$):

$$H_j = \Phi(H_{j-1} W_j + b_j), \qquad \hat H_{j-1} = H_j V_j + c_j, \qquad
  \min_{W_j, b_j, V_j, c_j} \frac{1}{n\,h_{j-1}}\|H_{j-1} - \hat H_{j-1}\|_F^2,$$

keeps the encoder $(W_j, b_j)$ as the network's layer $j$ and throws the decoder
$(V_j, c_j)$ away. The output layer is then initialized by softmax regression on the final
codes $H_k$ (the only stage that sees the labels), and the whole network is **fine-tuned** by
backpropagation, exactly as a randomly initialized one would be.

Every stage and the fine-tuning are full-batch Adam in one jitted ``lax.scan``, with the
learning rate traced; networks are tuples of :class:`course_lib.mlp.Dense` with the
activation ``"sigmoid"`` or ``"tanh"``.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from course_lib import _validate, activations, data, mlp, optim
from course_lib._types import Array, ArrayLike, PRNGKey


class Stage(NamedTuple):
    """One shallow autoencoder: ``encoder`` maps ``(n, d) -> (n, h)``, ``decoder`` back."""

    encoder: mlp.Dense  # W: (d, h), b: (h,)
    decoder: mlp.Dense  # W: (h, d), b: (d,)


def init_stage(*, key: PRNGKey, d: int, h: int) -> Stage:
    """Xavier-initialized encoder ``d -> h`` and decoder ``h -> d`` (zero biases)."""
    enc, dec = mlp.init(
        (_validate.positive_int("d", d), _validate.positive_int("h", h), d), key=key
    )
    return Stage(enc, dec)


def encode(encoder: mlp.Dense, H: Array, activation: str = "sigmoid") -> Array:
    r"""$\Phi(H W + b)$: one layer's codes, ``(n, h)``."""
    return activations.get(activation).fn(H @ encoder.W + encoder.b[None, :])


def stage_loss(stage: Stage, H: Array, activation: str = "sigmoid") -> Array:
    r"""Mean squared reconstruction error of one stage, $\frac{1}{nd}\|H - \hat H\|_F^2$, where
    the decoder is linear: $\hat H = \Phi(HW + b)V + c$."""
    recon = encode(stage.encoder, H, activation) @ stage.decoder.W + stage.decoder.b[None, :]
    return jnp.mean((H - recon) ** 2)


@functools.partial(jax.jit, static_argnames=("steps", "activation"))
def _train_stage(stage, H, lr, *, steps, activation):
    return optim.minimize(
        lambda s, A: stage_loss(s, A, activation), optim.adam(lr), stage, steps, H
    )


def train_stage(
    stage: Stage, H: ArrayLike, *, steps: int, lr: float = 0.01, activation: str = "sigmoid"
) -> tuple[Stage, Array]:
    """Fit one autoencoder stage to ``H: (n, d)`` by full-batch Adam.

    Returns:
        ``(stage, losses: (steps,))``, the loss before each step.
    """
    if not isinstance(stage, Stage):
        raise TypeError("`stage` must be a pretraining.Stage (from init_stage).")
    H = _validate.float_array("H", H, ndim=2)
    if H.shape[1] != stage.encoder.W.shape[0]:
        raise ValueError(
            f"`H` has {H.shape[1]} columns but the stage expects {stage.encoder.W.shape[0]}."
        )
    steps = _validate.positive_int("steps", steps)
    _validate.positive("lr", lr)
    activations.get(activation)
    return _train_stage(stage, H, jnp.asarray(lr, H.dtype), steps=steps, activation=activation)


class Pretrained(NamedTuple):
    """What :func:`greedy_pretrain` returns."""

    stages: tuple[Stage, ...]  # the trained autoencoders, one per hidden layer
    initial_stages: tuple[Stage, ...]  # the same before training
    inputs: tuple[Array, ...]  # H_0 = X, H_1, ..., H_{k-1}: what each stage reconstructs
    losses: tuple[Array, ...]  # each (steps,)
    output: mlp.Dense  # softmax regression on H_k, the output layer's start

    @property
    def network(self) -> tuple[mlp.Dense, ...]:
        """The classifier to fine-tune: the encoders, then the output layer."""
        return tuple(s.encoder for s in self.stages) + (self.output,)


def greedy_pretrain(
    X: ArrayLike,
    y: ArrayLike,
    *,
    key: PRNGKey,
    sizes: tuple[int, ...],
    steps: int = 300,
    lr: float = 0.01,
    activation: str = "sigmoid",
) -> Pretrained:
    r"""Greedy layer-wise pretraining of the network ``sizes = (d, h_1, ..., h_k, classes)``.

    Stage $j = 1..k$ trains an autoencoder $h_{j-1} \to h_j \to h_{j-1}$ on the codes of the
    stages below (:func:`train_stage`, ``steps`` Adam steps each), then the output layer is
    fitted by softmax regression on $H_k$ (``steps`` steps; the labels ``y`` are used only
    there). The weights start from Xavier/Glorot-uniform draws; everything is one jitted call.
    """
    _validate.prng_key("key", key)
    sizes = tuple(_validate.positive_int("sizes", s) for s in sizes)
    if len(sizes) < 3:
        raise ValueError(f"`sizes` needs at least one hidden layer (3 widths), got {sizes}.")
    X = _validate.float_array("X", X, ndim=2)
    if X.shape[1] != sizes[0]:
        raise ValueError(f"`X` has {X.shape[1]} features but sizes[0] is {sizes[0]}.")
    _validate.finite("X", X)
    y = _validate.index_array("y", y, size=sizes[-1], ndim=1)
    _validate.same_rows("X", X, "y", y)
    steps = _validate.positive_int("steps", steps)
    _validate.positive("lr", lr)
    activations.get(activation)
    out = _greedy(
        key, X, y, jnp.asarray(lr, X.dtype), sizes=sizes, steps=steps, activation=activation
    )
    return Pretrained(*out)


def _glorot_uniform(key: PRNGKey, shapes: list[tuple[int, int]], dtype) -> list[mlp.Dense]:
    r"""Xavier/Glorot weights drawn uniformly, $U(-a, a)$ with $a = \sqrt{6/(d_{in} + d_{out})}$
    (variance $2/(d_{in} + d_{out})$), zero biases; one uniform draw for all the layers."""
    u = jax.random.uniform(key, (sum(a * b for a, b in shapes),), dtype, -1.0, 1.0)
    layers, start = [], 0
    for d_in, d_out in shapes:
        W = jnp.sqrt(6.0 / (d_in + d_out)) * u[start : start + d_in * d_out].reshape(d_in, d_out)
        layers.append(mlp.Dense(W, jnp.zeros(d_out, dtype)))
        start += d_in * d_out
    return layers


def init_network(*, key: PRNGKey, sizes: tuple[int, ...]) -> tuple[mlp.Dense, ...]:
    r"""A randomly initialized network of widths ``sizes``: Xavier/Glorot-uniform weights
    $U(-a, a)$, $a = \sqrt{6/(d_{in} + d_{out})}$, zero biases (the scheme the pretraining stages
    start from, so a comparison with pretraining is fair). One jitted draw."""
    _validate.prng_key("key", key)
    sizes = tuple(_validate.positive_int("sizes", s) for s in sizes)
    if len(sizes) < 2:
        raise ValueError(f"`sizes` needs at least 2 widths (input and output), got {sizes}.")
    return _init_network(key, sizes=sizes)


@functools.partial(jax.jit, static_argnames=("sizes",))
def _init_network(key, *, sizes):
    shapes = list(zip(sizes[:-1], sizes[1:], strict=True))
    return tuple(_glorot_uniform(key, shapes, jnp.result_type(float)))


@functools.partial(jax.jit, static_argnames=("sizes", "steps", "activation"))
def _greedy(key, X, y, lr, *, sizes, steps, activation):
    hidden = list(zip(sizes[:-2], sizes[1:-1], strict=True))
    shapes = [s for d, h in hidden for s in ((d, h), (h, d))] + [(sizes[-2], sizes[-1])]
    layers = _glorot_uniform(key, shapes, X.dtype)
    H, stages, starts, inputs, curves = X, [], [], [], []
    for j in range(len(hidden)):
        start = Stage(layers[2 * j], layers[2 * j + 1])
        stage, losses = optim.minimize(
            lambda s, A: stage_loss(s, A, activation), optim.adam(lr), start, steps, H
        )
        starts.append(start)
        stages.append(stage)
        inputs.append(H)
        curves.append(losses)
        H = encode(stage.encoder, H, activation)
    out, _ = optim.minimize(
        lambda p, A, b: mlp.loss((p,), A, b), optim.adam(lr), layers[-1], steps, H, y
    )
    return tuple(stages), tuple(starts), tuple(inputs), tuple(curves), out


@functools.partial(jax.jit, static_argnames=("steps", "activation"))
def _fine_tune(params, X, y, lr, *, steps, activation):
    return optim.minimize(
        lambda p, A, b: mlp.loss(p, A, b, activation), optim.adam(lr), params, steps, X, y
    )


def fine_tune(
    params: tuple[mlp.Dense, ...],
    X: ArrayLike,
    y: ArrayLike,
    *,
    steps: int,
    lr: float = 0.01,
    activation: str = "sigmoid",
) -> tuple[tuple[mlp.Dense, ...], Array]:
    """Train the whole network by full-batch Adam on the mean cross-entropy (:func:`mlp.loss`).

    The first step starts from ``params`` exactly (pretrained or random alike).

    Returns:
        ``(params, losses: (steps,))``, the loss before each step.
    """
    X = mlp._check_inputs(params, X)
    y = _validate.index_array("y", y, size=params[-1].W.shape[1], ndim=1)
    _validate.same_rows("X", X, "y", y)
    steps = _validate.positive_int("steps", steps)
    _validate.positive("lr", lr)
    activations.get(activation)
    params = jax.tree.map(lambda a: a.astype(X.dtype), params)
    return _fine_tune(params, X, y, jnp.asarray(lr, X.dtype), steps=steps, activation=activation)


def relative_change(before: tuple[mlp.Dense, ...], after: tuple[mlp.Dense, ...]) -> np.ndarray:
    r"""$\|W_k^{after} - W_k^{before}\|_F / \|W_k^{before}\|_F$ for every layer $k$: how far
    training moved each layer's weights from where it started. Shape ``(L,)``."""
    if len(before) != len(after):
        raise ValueError(f"`before` has {len(before)} layers but `after` has {len(after)}.")
    return np.array(
        [
            float(jnp.linalg.norm(a.W - b.W) / jnp.linalg.norm(b.W))
            for b, a in zip(before, after, strict=True)
        ]
    )


def accuracy(
    params: tuple[mlp.Dense, ...], split: data.Dataset, activation: str = "sigmoid"
) -> float:
    """The classification accuracy of ``params`` on ``split`` (a Python float)."""
    return float(mlp.accuracy(params, split.X, split.y, activation))
