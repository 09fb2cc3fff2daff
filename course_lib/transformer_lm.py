r"""A character-level decoder-only transformer language model (Vaswani et al. 2017; GPT-style).

The same task as :mod:`course_lib.language_model`'s LSTM (Aggarwal §7.2.1.1): read a window of
characters, predict each next one, scored in nats per character,
$L = -\frac{1}{BT}\sum_{b,t}\log\hat p_\theta(x_{b,t+1}\mid x_{b,1..t})$.

**Model.** Character $x_t$ is looked up in an embedding ``E (V, d)`` and the sinusoidal
position $P_t$ (:func:`course_lib.transformer.sinusoidal_positions`) is added:
$z^{(0)}_t = E_{x_t} + P_t$. Then ``n_layers`` pre-LN blocks
(:func:`course_lib.transformer.block`) with the causal mask, so position $t$ sees only
$x_1..x_t$; a final layer norm and a readout $\hat p_t = \mathrm{softmax}(z_t W_{out} + b)$.
Every position of a window is predicted at once, in parallel: there is no time loop, which is
the transformer's advantage over a recurrent network on parallel hardware. The price: the model
sees at most ``max_len`` characters back, where an LSTM's state may carry further.

**Training.** :func:`train_step` is one Adam step, gradients clipped to global norm
``CLIP_NORM`` (as :func:`course_lib.language_model.train_step`); :func:`train` runs many in one
``lax.scan``. The learning rate is traced (a new value never recompiles).

**Sampling.** :func:`sample` draws $x_{t+1}\sim\mathrm{softmax}(z_t/T)$ one character at a time,
from the last ``max_len`` characters.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from course_lib import _validate, optim, rnn, transformer
from course_lib._types import Array, ArrayLike, PRNGKey

CLIP_NORM = 5.0  # gradient clipping by global norm, as the char-LSTM's train step


class TransformerLMParams(NamedTuple):
    """``embed (V, d)``, ``blocks`` (a tuple of :class:`~course_lib.transformer.BlockParams`),
    the final layer norm ``ln_gamma, ln_beta (d,)``, the readout ``W_out (d, V)``, ``b_out (V,)``,
    and the fixed ``positions (max_len, d)`` (sinusoids; not trained, not counted)."""

    embed: Array
    blocks: tuple
    ln_gamma: Array
    ln_beta: Array
    W_out: Array
    b_out: Array
    positions: Array


def init(
    *, key: PRNGKey, vocab_size: int, d_model: int, n_layers: int, n_heads: int, max_len: int
) -> TransformerLMParams:
    r"""A model with ``n_layers`` blocks of width ``d_model`` (divisible by ``n_heads``).

    The embedding is $\mathcal N(0, 1)$, like the sinusoids' scale; blocks as
    :func:`course_lib.transformer.block_init`; the readout $\mathcal N(0, 1/d)$, zero bias.
    """
    _validate.prng_key("key", key)
    V = _validate.positive_int("vocab_size", vocab_size)
    d = _validate.positive_int("d_model", d_model)
    n_layers = _validate.positive_int("n_layers", n_layers)
    h = _validate.positive_int("n_heads", n_heads)
    max_len = _validate.positive_int("max_len", max_len)
    if d % h or d % 2:
        raise ValueError(
            f"`d_model` must be even and divisible by n_heads = {h}, got d_model = {d}."
        )
    dt = jnp.result_type(float)
    k_embed, k_out, *k_blocks = jax.random.split(key, 2 + n_layers)
    blocks = tuple(transformer.block_init(key=k, d_model=d, n_layers=n_layers) for k in k_blocks)
    return TransformerLMParams(
        embed=jax.random.normal(k_embed, (V, d), dt),
        blocks=blocks,
        ln_gamma=jnp.ones((d,), dt),
        ln_beta=jnp.zeros((d,), dt),
        W_out=jax.random.normal(k_out, (d, V), dt) / jnp.sqrt(d).astype(dt),
        b_out=jnp.zeros((V,), dt),
        positions=transformer.sinusoidal_positions(max_len, d).astype(dt),
    )


def _check_params(params: Any) -> TransformerLMParams:
    if not isinstance(params, TransformerLMParams):
        raise TypeError(
            f"`params` must be TransformerLMParams (from init), got {type(params).__name__}."
        )
    return params


def _ids(name: str, ids: Any, ndim: int, params: TransformerLMParams) -> Array:
    ids = _validate.index_array(name, ids, size=params.embed.shape[0], ndim=ndim)
    if ids.shape[-1] > params.positions.shape[0]:
        raise ValueError(
            f"`{name}` has {ids.shape[-1]} positions; this model was built for at most "
            f"max_len = {params.positions.shape[0]}."
        )
    return ids


def n_heads_of(params: TransformerLMParams, n_heads: Any) -> int:
    h = _validate.positive_int("n_heads", n_heads)
    if params.embed.shape[1] % h:
        raise ValueError(f"`n_heads` = {h} does not divide d_model = {params.embed.shape[1]}.")
    return h


def hidden(params: TransformerLMParams, inputs: Array, *, n_heads: int) -> Array:
    """The residual stream after the last block and the final layer norm, ``(B, T, d)``."""
    T = inputs.shape[-1]
    x = params.embed[inputs] + params.positions[None, :T]  # (B, T, d)
    mask = transformer.causal_mask(T)
    for p in params.blocks:
        x = transformer.block(p, x, n_heads=n_heads, mask=mask)
    return transformer.layer_norm(x, params.ln_gamma, params.ln_beta)


def logits(params: TransformerLMParams, inputs: Array, *, n_heads: int) -> Array:
    r"""Next-character scores ``(B, T, V)`` for ``inputs (B, T)`` int, all positions at once."""
    return hidden(params, inputs, n_heads=n_heads) @ params.W_out + params.b_out[None, None, :]


def loss(params: TransformerLMParams, inputs: Array, targets: Array, *, n_heads: int) -> Array:
    r"""Mean cross-entropy in nats per character; ``inputs, targets (B, T)`` int."""
    logp = jax.nn.log_softmax(logits(params, inputs, n_heads=n_heads), axis=-1)
    return -jnp.mean(jnp.take_along_axis(logp, targets[..., None], axis=-1))


@functools.partial(jax.jit, static_argnames="n_heads")
def _loss(params, inputs, targets, *, n_heads):
    return loss(params, inputs, targets, n_heads=n_heads)


def evaluate(
    params: TransformerLMParams, inputs: ArrayLike, targets: ArrayLike, *, n_heads: int
) -> Array:
    """:func:`loss` under ``jit`` with checked arguments (nats per character)."""
    params = _check_params(params)
    n_heads = n_heads_of(params, n_heads)
    inputs = _ids("inputs", inputs, 2, params)
    targets = _ids("targets", targets, 2, params)
    if inputs.shape != targets.shape:
        raise ValueError(
            f"`inputs` {tuple(inputs.shape)} and `targets` {tuple(targets.shape)} must have "
            "the same shape."
        )
    return _loss(params, inputs, targets, n_heads=n_heads)


def adam_init(params: TransformerLMParams) -> Any:
    """The Adam state for :func:`train_step` (the learning rate is passed at every step)."""
    return optim.adam(1e-3).init(_check_params(params))


def _step(params, opt_state, inputs, targets, learning_rate, n_heads):
    tx = optim.adam(learning_rate)
    value, grads = jax.value_and_grad(loss)(params, inputs, targets, n_heads=n_heads)
    grads = grads._replace(positions=jnp.zeros_like(grads.positions))  # fixed, not trained
    grads = rnn.clip_by_norm(grads, CLIP_NORM)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optim.apply_updates(params, updates), opt_state, value


def train_step(
    params: TransformerLMParams,
    opt_state: Any,
    inputs: Array,
    targets: Array,
    learning_rate: Any,
    *,
    n_heads: int,
) -> tuple[TransformerLMParams, Any, Array]:
    r"""One Adam step on :func:`loss`, gradients clipped to global norm ``CLIP_NORM`` (jitted).

    The sinusoidal positions get no update. Returns ``(params, opt_state, loss)``, the loss
    before the update. ``learning_rate`` is traced: a new value never recompiles.
    """
    params = _check_params(params)
    n_heads = n_heads_of(params, n_heads)
    _validate.positive("learning_rate", learning_rate)
    return _train_step(params, opt_state, inputs, targets, learning_rate, n_heads=n_heads)


@functools.partial(jax.jit, static_argnames="n_heads")
def _train_step(params, opt_state, inputs, targets, learning_rate, *, n_heads):
    return _step(params, opt_state, inputs, targets, learning_rate, n_heads)


def train_step_cache_size() -> int:
    """Compiled versions of :func:`train_step` (a new learning rate must not add one)."""
    return _train_step._cache_size()


def train(
    params: TransformerLMParams,
    opt_state: Any,
    inputs: ArrayLike,
    targets: ArrayLike,
    learning_rate: Any,
    *,
    n_heads: int,
) -> tuple[TransformerLMParams, Any, Array]:
    r"""One :func:`train_step` per batch, all in one jitted ``lax.scan``.

    ``inputs, targets (steps, B, T)`` int: batch ``i`` is step ``i``'s. Returns the final
    ``(params, opt_state)`` and the ``(steps,)`` training losses; the same numbers as a Python
    loop over :func:`train_step`.
    """
    params = _check_params(params)
    n_heads = n_heads_of(params, n_heads)
    _validate.positive("learning_rate", learning_rate)
    inputs = _ids("inputs", inputs, 3, params)
    targets = _ids("targets", targets, 3, params)
    if inputs.shape != targets.shape:
        raise ValueError(
            f"`inputs` {tuple(inputs.shape)} and `targets` {tuple(targets.shape)} must have "
            "the same shape (steps, B, T)."
        )
    return _train(params, opt_state, inputs, targets, learning_rate, n_heads=n_heads)


@functools.partial(jax.jit, static_argnames="n_heads")
def _train(params, opt_state, inputs, targets, learning_rate, *, n_heads):
    def body(carry, batch):
        p, o = carry
        p, o, value = _step(p, o, *batch, learning_rate, n_heads)
        return (p, o), value

    (params, opt_state), losses = lax.scan(body, (params, opt_state), (inputs, targets))
    return params, opt_state, losses


def param_count(params: TransformerLMParams) -> int:
    """Trained parameters (the fixed sinusoids left out)."""
    params = _check_params(params)
    return transformer.param_count(params._replace(positions=jnp.zeros((0,))))


# ------------------------------------------------------------------------------ looking inside


def attention_maps(params: TransformerLMParams, inputs: ArrayLike, *, n_heads: int) -> Array:
    r"""The attention weights of every layer and head for one window ``inputs (T,)``:
    ``(n_layers, n_heads, T, T)``, row $t$ = what position $t$ attends to (jitted; the ids are
    traced, so a new window never recompiles)."""
    params = _check_params(params)
    n_heads = n_heads_of(params, n_heads)
    inputs = _ids("inputs", inputs, 1, params)
    return _attention_maps(params, inputs, n_heads=n_heads)


@functools.partial(jax.jit, static_argnames="n_heads")
def _attention_maps(params, inputs, *, n_heads):
    T = inputs.shape[0]
    x = params.embed[inputs] + params.positions[:T]
    mask = transformer.causal_mask(T)
    maps = []
    for p in params.blocks:
        ln = transformer.layer_norm(x, p.ln1_gamma, p.ln1_beta)
        maps.append(transformer.head_weights(p.attn, ln, n_heads=n_heads, mask=mask))
        x = transformer.block(p, x, n_heads=n_heads, mask=mask)
    return jnp.stack(maps)


def attention_maps_cache_size() -> int:
    """Compiled versions of :func:`attention_maps` (a new window must not add one)."""
    return _attention_maps._cache_size()


# ------------------------------------------------------------------------------ sampling


def sample(
    params: TransformerLMParams,
    prompt: ArrayLike,
    *,
    key: PRNGKey,
    length: int,
    n_heads: int,
    temperature: float = 1.0,
) -> Array:
    r"""Continue ``prompt (n,)`` by ``length`` characters drawn from $\mathrm{softmax}(z/T)$.

    Each step reads the last ``max_len`` characters (a longer past is invisible to the model).
    Returns the ``(length,)`` new ids. One jitted ``lax.scan``; temperature and key are traced.
    """
    params = _check_params(params)
    n_heads = n_heads_of(params, n_heads)
    _validate.prng_key("key", key)
    length = _validate.positive_int("length", length)
    _validate.positive("temperature", temperature)
    prompt = _validate.index_array("prompt", prompt, size=params.embed.shape[0], ndim=1)
    if prompt.shape[0] == 0:
        raise ValueError("`prompt` must hold at least one character.")
    return _sample(params, prompt, key, jnp.asarray(temperature, params.embed.dtype), length,
                   n_heads=n_heads)  # fmt: skip


@functools.partial(jax.jit, static_argnums=(4,), static_argnames="n_heads")
def _sample(params, prompt, key, temperature, length, *, n_heads):
    T = params.positions.shape[0]
    n0 = prompt.shape[0]
    pad = jnp.zeros((T,), jnp.int32)  # T zeros on each side: every window slice fits
    buf = jnp.concatenate([pad, prompt, jnp.zeros((length,), jnp.int32), pad])

    def body(buf, i):
        n = T + n0 + i  # the characters so far end at buf[n - 1]
        start = jnp.maximum(n - T, T)  # never read the padding in front
        window = lax.dynamic_slice(buf, (start,), (T,))
        last = n - 1 - start  # the position of the newest character inside the window
        z = logits(params, window[None], n_heads=n_heads)[0, last]
        tok = jax.random.categorical(jax.random.fold_in(key, i), z / temperature)
        return buf.at[n].set(tok.astype(jnp.int32)), tok

    _, new = lax.scan(body, buf, jnp.arange(length))
    return new.astype(jnp.int32)
