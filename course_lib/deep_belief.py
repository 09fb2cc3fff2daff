r"""Stacked RBMs unrolled into a deep autoencoder, fine-tuned by backpropagation
(Aggarwal §6.5.1, §6.7.1).

An RBM with its visible units clamped collapses into an encoder and a decoder that share one
weight matrix (Fig 6.4): replacing the samples by their probabilities gives

.. math::
    \hat h = \sigma(b^{(h)} + v W) \quad (6.19), \qquad
    \hat v = \sigma(b^{(v)} + \hat h W^\top) \quad (6.20).

Stacking (§6.7.1) trains RBM 1 on the data, RBM 2 on RBM 1's hidden probabilities, and so on
(greedy, one layer at a time: $d \to m_1 \to m_2 \to \dots$). Unrolled, the encoder uses
$W_1, W_2, \dots$ and the decoder $\dots, W_2^\top, W_1^\top$; backpropagation on the
reconstruction error then fine-tunes all of them, and the decoder stops being the transpose.

Shapes: data ``v: (n, d)`` in $[0, 1]$; layer $l$ has ``W: (d_l, d_{l+1})``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp

from course_lib import _validate, optim, rbm
from course_lib._types import Array, PRNGKey


class Layer(NamedTuple):
    """One sigmoid layer $\\sigma(b + x W)$: ``W: (d_in, d_out)``, ``b: (d_out,)``."""

    W: Array
    b: Array


class DeepAutoencoder(NamedTuple):
    """The unrolled stack: ``encoder`` layers bottom-up, ``decoder`` layers top-down."""

    encoder: tuple[Layer, ...]
    decoder: tuple[Layer, ...]


def stack_dims(dims: Sequence[int]) -> list[tuple[int, int]]:
    """The (visible, hidden) sizes of the RBMs of a stack ``d -> m_1 -> m_2 -> ...`` (§6.7).

    ``stack_dims([64, 32, 16])`` is ``[(64, 32), (32, 16)]``: RBM ``r + 1`` sees RBM ``r``'s
    hidden units as its visible ones.
    """
    if isinstance(dims, (str, bytes)) or not isinstance(dims, Sequence):
        raise TypeError(f"`dims` must be a sequence of layer sizes, got {type(dims).__name__}.")
    sizes = [_validate.positive_int(f"dims[{i}]", s) for i, s in enumerate(dims)]
    if len(sizes) < 2:
        raise ValueError(f"`dims` needs at least two sizes (data, one hidden layer), got {sizes}.")
    return list(zip(sizes[:-1], sizes[1:], strict=True))


def _check_ae(ae: DeepAutoencoder) -> DeepAutoencoder:
    if not isinstance(ae, DeepAutoencoder):
        raise TypeError(f"`ae` must be a DeepAutoencoder (see unroll), got {type(ae).__name__}.")
    return ae


def _check_rbms(rbms) -> list:
    if isinstance(rbms, rbm.RBMParams) or not isinstance(rbms, Sequence) or not rbms:
        raise TypeError("`rbms` must be a non-empty list of RBMParams, bottom layer first.")
    for i, p in enumerate(rbms):
        if not isinstance(p, rbm.RBMParams):
            raise TypeError(f"`rbms[{i}]` must be an RBMParams, got {type(p).__name__}.")
        if i and p.W.shape[0] != rbms[i - 1].W.shape[1]:
            raise ValueError(
                f"`rbms[{i}]` has {p.W.shape[0]} visible units but `rbms[{i - 1}]` has "
                f"{rbms[i - 1].W.shape[1]} hidden ones: a stack feeds one into the other."
            )
    return list(rbms)


def unroll(rbms: Sequence[rbm.RBMParams]) -> DeepAutoencoder:
    r"""Fig 6.4 / 6.10b: encoder $(W_l, b^{(h)}_l)$ bottom-up, decoder $(W_l^\top, b^{(v)}_l)$
    top-down. One RBM gives the encoder/decoder pair of Eq 6.19/6.20."""
    rbms = _check_rbms(rbms)
    encoder = tuple(Layer(p.W, p.b_h) for p in rbms)
    decoder = tuple(Layer(p.W.T, p.b_v) for p in reversed(rbms))
    return DeepAutoencoder(encoder, decoder)


def _affine(layer, x):
    z = x @ layer.W
    return z + layer.b.reshape((1,) * (z.ndim - 1) + layer.b.shape)


def _forward(layers, x):
    for layer in layers:
        x = jax.nn.sigmoid(_affine(layer, x))
    return x


def _check_x(ae, x, *, top=False):
    layers = ae.decoder if top else ae.encoder
    d = layers[0].W.shape[0]
    x = _validate.float_array("v" if not top else "code", x, ndim=(1, 2))
    if x.shape[-1] != d:
        raise ValueError(
            f"`{'code' if top else 'v'}` must have {d} units in its last axis, got "
            f"{tuple(x.shape)}."
        )
    return x


def encode(ae: DeepAutoencoder, v) -> Array:
    r"""The code: Eq 6.19 applied layer by layer, ``v: (n, d) -> (n, m_top)``."""
    ae = _check_ae(ae)
    return _forward(ae.encoder, _check_x(ae, v))


def decode(ae: DeepAutoencoder, code) -> Array:
    r"""Eq 6.20 applied layer by layer, top down: ``code: (n, m_top) -> (n, d)``."""
    ae = _check_ae(ae)
    return _forward(ae.decoder, _check_x(ae, code, top=True))


def reconstruct(ae: DeepAutoencoder, v) -> Array:
    """``decode(ae, encode(ae, v))``: the mean-field reconstruction ``(n, d)``."""
    ae = _check_ae(ae)
    return _forward(ae.decoder, _forward(ae.encoder, _check_x(ae, v)))


@jax.jit
def _mse(ae, v):
    return jnp.mean((_forward(ae.decoder, _forward(ae.encoder, v)) - v) ** 2)


def _cross_entropy(ae, v):
    x = _forward(ae.encoder, v)
    x = _forward(ae.decoder[:-1], x)
    logits = _affine(ae.decoder[-1], x)
    # -[v log s + (1 - v) log(1 - s)] with s = sigmoid(logits), written stably
    return jnp.mean(jnp.sum(jax.nn.softplus(logits) - v * logits, axis=-1))


def reconstruction_error(ae: DeepAutoencoder, v) -> Array:
    r"""Mean squared error per pixel $\frac{1}{nd}\|\hat v - v\|^2$ of the mean-field
    reconstruction."""
    ae = _check_ae(ae)
    return _mse(ae, _check_x(ae, v))


def cross_entropy(ae: DeepAutoencoder, v) -> Array:
    r"""The fine-tuning loss: $-\frac1n\sum_{n,i} [v_i\log\hat v_i + (1-v_i)\log(1-\hat v_i)]$."""
    ae = _check_ae(ae)
    return _cross_entropy(ae, _check_x(ae, v))


@functools.partial(jax.jit, static_argnames=("steps",))
def _finetune(ae, v, lr, *, steps):
    return optim.minimize(_cross_entropy, optim.adam(lr), ae, steps, v)


def finetune(ae: DeepAutoencoder, v, *, steps: int, lr: float = 0.003):
    """Backpropagation through the unrolled stack (§6.5.1, §6.7.1): full-batch Adam on
    :func:`cross_entropy`, in one jitted ``lax.scan`` (``lr`` traced).

    Encoder and decoder weights are separate parameters, so the decoder drifts away from the
    transposes it started from. Returns ``(ae, losses: (steps,))``.
    """
    ae = _check_ae(ae)
    v = _check_x(ae, v)
    steps = _validate.positive_int("steps", steps)
    _validate.positive("lr", lr)
    return _finetune(ae, v, jnp.asarray(lr, v.dtype), steps=steps)


def transpose_gap(ae: DeepAutoencoder) -> Array:
    r"""$\|W_{dec} - W_{enc}^\top\|_F / \|W_{enc}\|_F$ for each layer, bottom first: 0 right
    after :func:`unroll`, larger once fine-tuning has untied the decoder."""
    ae = _check_ae(ae)
    gaps = [
        jnp.linalg.norm(dec.W - enc.W.T) / jnp.linalg.norm(enc.W)
        for enc, dec in zip(ae.encoder, reversed(ae.decoder), strict=True)
    ]
    return jnp.stack(gaps)


def greedy_stack(
    v, *, key: PRNGKey, dims: Sequence[int], steps: int, batch_size: int = 50,
    lr: float = 0.05, k: int = 1,
) -> list[rbm.RBMParams]:  # fmt: skip
    """Train a stack of RBMs greedily (§6.7.1): RBM 1 on ``v`` (binary), RBM ``r + 1`` on
    binary hidden states sampled from RBM ``r`` given its data, each with
    :func:`course_lib.rbm.train_rbm` (CD-k).

    ``dims`` starts with the data's width, e.g. ``[64, 32, 16]``. Each layer gets its own key
    ``fold_in(key, r)``. Returns the RBMs bottom-up (pass them to :func:`unroll`).
    """
    key = _validate.prng_key("key", key)
    pairs = stack_dims(dims)
    v = _validate.float_array("v", v, ndim=2)
    if v.shape[1] != pairs[0][0]:
        raise ValueError(f"`dims[0]` ({pairs[0][0]}) must be the width of `v` {tuple(v.shape)}.")
    rbms, x = [], v
    for r, (d_in, d_out) in enumerate(pairs):
        k_init, k_train = jax.random.split(jax.random.fold_in(key, r))
        params = rbm.init_rbm(key=k_init, n_visible=d_in, n_hidden=d_out, data=x)
        params, _ = rbm.train_rbm(
            params, x, key=k_train, steps=steps, batch_size=batch_size, lr=lr, k=k
        )
        rbms.append(params)
        # train_rbm wants binary data: the next RBM sees sampled hidden states
        x = rbm.sample_hidden(params, x, key=jax.random.fold_in(k_train, 1))
    return rbms
