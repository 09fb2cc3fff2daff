r"""Full-batch Adam in one ``lax.scan``: the small optimizer that chapter 2b's models share.

Chapter 3 (``optim``) builds optimizers properly; until then the autoencoder, matrix
factorization and embedding fits use this one private helper:
$m \leftarrow \beta_1 m + (1-\beta_1) g$, $s \leftarrow \beta_2 s + (1-\beta_2) g^2$,
$\theta \leftarrow \theta - \alpha\,\hat m / (\sqrt{\hat s} + \epsilon)$ with the bias-corrected
$\hat m = m/(1-\beta_1^t)$, $\hat s = s/(1-\beta_2^t)$ (Aggarwal §3.5.3.6).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax


def adam_minimize(
    loss: Callable[..., jax.Array],
    params: Any,
    *args: Any,
    steps: int,
    lr: jax.Array,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
) -> tuple[Any, jax.Array]:
    """Minimize ``loss(params, *args)`` with ``steps`` Adam steps; returns ``(params, losses)``.

    ``lr`` may be traced; ``steps`` is static. Meant to be called inside a jitted function. The
    step size decays linearly to 10% over the run, which lets the last steps settle into the
    minimum (needed to match the SVD to 1e-3).
    """
    value_and_grad = jax.value_and_grad(loss)
    zeros = jax.tree.map(jnp.zeros_like, params)

    def body(state, t):
        p, m, s = state
        value, g = value_and_grad(p, *args)
        m = jax.tree.map(lambda m_, g_: b1 * m_ + (1 - b1) * g_, m, g)
        s = jax.tree.map(lambda s_, g_: b2 * s_ + (1 - b2) * g_ * g_, s, g)
        tt = t + 1.0
        alpha = lr * (1.0 - 0.9 * t / steps) * jnp.sqrt(1 - b2**tt) / (1 - b1**tt)
        p = jax.tree.map(lambda p_, m_, s_: p_ - alpha * m_ / (jnp.sqrt(s_) + eps), p, m, s)
        return (p, m, s), value

    ts = jnp.arange(steps, dtype=jnp.result_type(float))
    (params, _, _), values = lax.scan(body, (params, zeros, zeros), ts)
    return params, values
