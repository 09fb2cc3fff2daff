r"""Looking inside a trained CNN (Aggarwal §8.5.1, §8.2.8, Eq 8.4; Goodfellow et al. ch. 9).

Three ways to carry a class score back to the pixels differ only in what the backward pass of
a ReLU does with the upstream gradient $g_{i+1}$ (Aggarwal Fig 8.14; $z_i$ is the ReLU's input
in the forward pass):

$$ \text{gradient: } g_i = g_{i+1}\odot I(z_i>0), \qquad
   \text{deconvnet: } g_i = g_{i+1}\odot I(g_{i+1}>0), \qquad
   \text{guided: } g_i = g_{i+1}\odot I(z_i>0)\odot I(g_{i+1}>0). $$

The first is ordinary backpropagation (a saliency map, :func:`course_lib.cnn.saliency`), the
second is Zeiler and Fergus's deconvnet rule (it ignores the forward mask), the third is
Springenberg et al.'s *guided backpropagation* (both masks). Each is a ReLU with a custom
backward rule (``jax.custom_vjp``): :data:`RELUS`. :func:`backward_maps` runs the LeNet of
:mod:`course_lib.cnn` with each rule in turn; everything else (convolutions, max-pooling, dense
layers) is differentiated as usual.

Contents:

- the three ReLUs :func:`relu_gradient`, :func:`relu_deconvnet`, :func:`relu_guided`, the
  LeNet forward pass with a chosen ReLU :func:`apply`, its hidden features :func:`features`,
  and the maps :func:`backward_map` / :func:`backward_maps`;
- activation maximization (Eq 8.4): projected gradient ascent on
  $J(x) = o_c(x) - \lambda\lVert x\rVert^2$, :func:`gradient_ascent` for any score and
  :func:`activation_maximization` for the LeNet's class scores, a ``lax.scan`` with traced
  step size and penalty;
- local response normalization (Eq 8.2, AlexNet) :func:`lrn` and the equation as printed,
  :func:`lrn_as_printed`, with every hyperparameter traced.
"""

from __future__ import annotations

from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from course_lib import _validate, cnn
from course_lib._types import Array, ArrayLike, Params

#: the names of the three backward rules, in the order of :func:`backward_maps`
RULES: tuple[str, ...] = ("gradient", "deconvnet", "guided")


def _relu_with(rule: str):
    """A ReLU whose forward pass is ``max(z, 0)`` and whose backward pass follows ``rule``."""

    @jax.custom_vjp
    def relu(z):
        return jnp.maximum(z, 0.0)

    def fwd(z):
        return jnp.maximum(z, 0.0), z

    def bwd(z, g):
        forward_mask = z > 0  # I(z_i > 0): where the unit was active
        upstream_mask = g > 0  # I(g_{i+1} > 0): where the signal from above is positive
        if rule == "gradient":
            mask = forward_mask
        elif rule == "deconvnet":
            mask = upstream_mask
        else:
            mask = forward_mask & upstream_mask
        return (jnp.where(mask, g, 0.0),)

    relu.defvjp(fwd, bwd)
    relu.__name__ = f"relu_{rule}"
    relu.__doc__ = f"ReLU forward; backward by the {rule} rule (see the module docstring)."
    return relu


relu_gradient = _relu_with("gradient")
relu_deconvnet = _relu_with("deconvnet")
relu_guided = _relu_with("guided")

#: rule name -> the ReLU with that backward rule
RELUS = {"gradient": relu_gradient, "deconvnet": relu_deconvnet, "guided": relu_guided}


def _rule(rule: Any) -> str:
    if not isinstance(rule, str) or rule not in RULES:
        raise ValueError(f"`rule` must be one of {RULES}, got {rule!r}.")
    return rule


def _forward(params: Params, x: Array, relu) -> tuple[Array, Array]:
    """(hidden features (n, hidden), logits (n, classes)) of the LeNet with ``relu``."""
    h = x.astype(params["conv"][0][0].dtype)  # images in the parameters' precision
    for w, b in params["conv"]:
        z = jax.lax.conv_general_dilated(
            h, w, (1, 1), ((1, 1), (1, 1)), dimension_numbers=("NHWC", "HWIO", "NHWC")
        )
        h = cnn.max_pool(relu(z + b[None, None, None, :]), 2)
    h = h.reshape(h.shape[0], -1)  # (n, H' W' C')
    (W1, b1), (W2, b2) = params["dense"]
    hidden = relu(h @ W1 + b1[None, :])
    return hidden, hidden @ W2 + b2[None, :]


def apply(params: Params, x: ArrayLike, *, rule: str = "gradient") -> Array:
    """Logits ``(n, classes)`` of the LeNet of :func:`course_lib.cnn.init` on ``x (n, H, W, C)``.

    The forward pass equals :func:`course_lib.cnn.apply` for every ``rule``; the rule changes
    only what ``jax.grad`` of it computes.
    """
    x = _validate.finite("x", cnn.as_images(x) if jnp.ndim(x) == 2 else jnp.asarray(x))
    return _forward(params, x, RELUS[_rule(rule)])[1]


@jax.jit
def _features(params, x):
    return _forward(params, x, relu_gradient)[0]


def features(params: Params, x: ArrayLike) -> Array:
    """The hidden layer the LeNet's output layer reads, ``(n, hidden)``: the image features a
    new head can reuse (frozen) for another task."""
    x = _validate.finite("x", jnp.asarray(x))
    if x.ndim != 4:
        raise ValueError(f"`x` must be images (n, H, W, C), got shape {tuple(x.shape)}.")
    return _features(params, x)


def _class_score(params, x, label, relu):
    logits = _forward(params, x, relu)[1]
    return jnp.sum(jnp.take_along_axis(logits, label[:, None], axis=1))


@partial(jax.jit, static_argnames="rule")
def _backward_map(params, x, label, rule):
    return jax.grad(_class_score, argnums=1)(params, x, label, RELUS[rule])


@jax.jit
def _backward_maps(params, x, label):
    return jnp.stack([jax.grad(_class_score, argnums=1)(params, x, label, RELUS[r]) for r in RULES])


def _inputs(params: Params, x: Any, label: Any) -> tuple[Array, Array]:
    x = jnp.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"`x` must be images (n, H, W, C), got shape {tuple(x.shape)}.")
    _validate.finite("x", x)
    label = jnp.asarray(label)
    if label.shape != (x.shape[0],) or not jnp.issubdtype(label.dtype, jnp.integer):
        raise ValueError(
            f"`label` must be {x.shape[0]} integer classes, got {label.dtype}{tuple(label.shape)}."
        )
    n_classes = params["dense"][1][0].shape[1]
    if label.size and (int(label.min()) < 0 or int(label.max()) >= n_classes):
        raise ValueError(f"`label` must lie in 0..{n_classes - 1}, got {label.tolist()}.")
    return x, label.astype(jnp.int32)


def backward_map(params: Params, x: ArrayLike, label: ArrayLike, *, rule: str) -> Array:
    r"""The class score $o_c$ (a logit) of each image carried back to its pixels by ``rule``.

    For ``rule="gradient"`` this is $\partial o_c/\partial x$ (``jax.grad``); ``"deconvnet"``
    and ``"guided"`` change every ReLU's backward pass (module docstring). Signed; the images of
    a batch do not interact, so one backward pass gives every image's map.

    Args:
        params: from :func:`course_lib.cnn.init`; x: images ``(n, H, W, C)``;
        label: int classes ``(n,)``; rule: one of :data:`RULES`.

    Returns:
        ``(n, H, W, C)``.
    """
    x, label = _inputs(params, x, label)
    return _backward_map(params, x, label, _rule(rule))


def backward_maps(params: Params, x: ArrayLike, label: ArrayLike) -> Array:
    """:func:`backward_map` for the three :data:`RULES` in one jitted call: ``(3, n, H, W, C)``."""
    x, label = _inputs(params, x, label)
    return _backward_maps(params, x, label)


def backward_maps_cache_size() -> int:
    """How many versions of :func:`backward_maps` have been compiled (one per input shape)."""
    return _backward_maps._cache_size()


# ------------------------------------------------------------------ activation maximization


class Ascent(NamedTuple):
    """The result of :func:`gradient_ascent` / :func:`activation_maximization`."""

    x: Array  # the synthesized input(s), the shape of x0
    objective: Array  # (steps + 1, ...) J(x) before the first step and after each step
    score: Array  # (steps + 1, ...) the score o(x) itself


def gradient_ascent(
    score_fn, x0: ArrayLike, *, steps: int, lr: Any, lam: Any, low: Any = None, high: Any = None
) -> Ascent:
    r"""Maximize $J(x) = o(x) - \lambda\lVert x\rVert^2$ by (projected) gradient ascent
    (Aggarwal Eq 8.4):

    $$ x \Leftarrow \mathrm{clip}\big(x + \alpha\,\nabla_x J(x),\ \text{low},\ \text{high}\big). $$

    ``score_fn(x) -> scalar`` is the score $o$; the weights of the network it closes over stay
    fixed. A ``lax.scan`` of ``steps`` steps; ``lr`` ($\alpha$), ``lam`` ($\lambda$), ``low``,
    ``high`` may be traced (``None``: no clipping on that side). For a linear score
    $o = w\cdot x$ without clipping, the fixed point is $x^* = w/(2\lambda)$.

    Returns:
        :class:`Ascent` with the final ``x`` and $J$, $o$ at the ``steps + 1`` iterates.
    """
    steps = _validate.positive_int("steps", steps)
    x0 = jnp.asarray(x0)
    if not jnp.issubdtype(x0.dtype, jnp.floating):
        raise TypeError(f"`x0` must be a float array, got dtype {x0.dtype}.")

    def objective(x):
        o = score_fn(x)
        return o - lam * jnp.sum(x * x), o

    def step(x, _):
        (j, o), g = jax.value_and_grad(objective, has_aux=True)(x)
        x_new = x + lr * g
        if low is not None or high is not None:
            x_new = jnp.clip(x_new, low, high)
        return x_new, (j, o)

    x, (js, os_) = jax.lax.scan(step, x0, None, length=steps)
    j_last, o_last = objective(x)
    return Ascent(x, jnp.append(js, j_last), jnp.append(os_, o_last))


@partial(jax.jit, static_argnames="steps")
def _activation_maximization(params, classes, x0, lr, lam, low, high, steps):
    def one(c, x):
        def score(img):
            return _forward(params, img[None], relu_gradient)[1][0, c]

        return gradient_ascent(score, x, steps=steps, lr=lr, lam=lam, low=low, high=high)

    return jax.vmap(one)(classes, x0)


def activation_maximization(
    params: Params,
    classes: ArrayLike,
    *,
    steps: int,
    lr: Any,
    lam: Any,
    low: float = 0.0,
    high: float = 1.0,
) -> Ascent:
    r"""Synthesize one image per class by :func:`gradient_ascent` on its logit $o_c$, from the
    zero image (Aggarwal §8.5.1, Eq 8.4), pixels kept in ``[low, high]`` (the range of the
    training images). ``lr``, ``lam``, ``low``, ``high`` are traced: changing them never
    recompiles; ``steps`` is static.

    Args:
        params: from :func:`course_lib.cnn.init`; classes: int ``(k,)``.

    Returns:
        :class:`Ascent` with ``x: (k, H, W, C)``, ``objective`` and ``score``: ``(k, steps+1)``.
    """
    classes = jnp.asarray(classes)
    if classes.ndim != 1 or not jnp.issubdtype(classes.dtype, jnp.integer):
        raise ValueError(
            f"`classes` must be a 1-D array of integers, got {classes.dtype}{classes.shape}."
        )
    n_classes = params["dense"][1][0].shape[1]
    if classes.size and (int(classes.min()) < 0 or int(classes.max()) >= n_classes):
        raise ValueError(f"`classes` must lie in 0..{n_classes - 1}, got {classes.tolist()}.")
    steps = _validate.positive_int("steps", steps)
    _validate.positive("lr", lr)
    _validate.positive("lam", lam, allow_zero=True)
    if not float(low) < float(high):
        raise ValueError(f"`low` must be below `high`, got low={low!r}, high={high!r}.")
    w1 = params["conv"][0][0]
    size = params["dense"][0][0].shape[0] // params["conv"][-1][0].shape[3]
    side = int(round(size**0.5)) * 2 ** len(params["conv"])
    dt = w1.dtype
    x0 = jnp.zeros((classes.size, side, side, w1.shape[2]), dt)
    args = [jnp.asarray(v, dt) for v in (lr, lam, low, high)]
    return _activation_maximization(params, classes.astype(jnp.int32), x0, *args, steps=steps)


def activation_maximization_cache_size() -> int:
    """How many versions of :func:`activation_maximization` have been compiled."""
    return _activation_maximization._cache_size()


# ------------------------------------------------------------ local response normalization


def _lrn_args(a: Any, k: Any, alpha: Any, beta: Any, n: Any) -> Array:
    a = jnp.asarray(a)
    if a.ndim < 1 or not jnp.issubdtype(a.dtype, jnp.floating):
        raise TypeError(f"`a` must be a float array with a channel axis, got {a.dtype}{a.shape}.")
    _validate.positive("k", k, allow_zero=True)
    _validate.positive("alpha", alpha, allow_zero=True)
    _validate.positive("beta", beta, allow_zero=True)
    if not _validate.is_traced(n):
        if isinstance(n, bool) or int(n) != n or int(n) < 1:
            raise ValueError(f"`n` must be a positive integer (the window), got {n!r}.")
    return a


@jax.jit
def _lrn(a, k, alpha, beta, n):
    c = a.shape[-1]
    idx = jnp.arange(c)
    # the window of channel i: j = i - floor(n/2) .. i + floor(n/2), clipped to 0..C-1
    band = (jnp.abs(idx[:, None] - idx[None, :]) <= n // 2).astype(a.dtype)  # (C, C)
    s = (a * a) @ band  # (..., C): sum of a_j^2 over the window of each channel
    return a / (k + alpha * s) ** beta


@jax.jit
def _lrn_as_printed(a, k, alpha, beta, n):
    c = a.shape[-1]
    idx = jnp.arange(c)
    count = jnp.sum(jnp.abs(idx[:, None] - idx[None, :]) <= n // 2, axis=1).astype(a.dtype)
    count = count.reshape((1,) * (a.ndim - 1) + (c,))  # m_i: channels in i's clipped window
    return a / (k + alpha * count * a * a) ** beta


def lrn(a: ArrayLike, k: Any = 2.0, alpha: Any = 1e-4, beta: Any = 0.75, n: Any = 5) -> Array:
    r"""Local response normalization over the last (channel) axis (Aggarwal Eq 8.2; AlexNet):

    $$ b_i = \frac{a_i}{\Big(k + \alpha \sum_{j=\max(0,\,i-\lfloor n/2\rfloor)}^{\min(C-1,\,
       i+\lfloor n/2\rfloor)} a_j^2\Big)^{\beta}} . $$

    The book prints $a_i^2$ inside the sum; $a_j^2$ is meant (that version is
    :func:`lrn_as_printed`). Defaults are AlexNet's $k=2$, $\alpha=10^{-4}$, $\beta=0.75$,
    $n=5$. PyTorch's ``LocalResponseNorm`` divides $\alpha$ by $n$: its ``alpha`` is $n$ times
    this one. All four hyperparameters are traced (a slider never recompiles).

    Args:
        a: activations ``(..., C)``, channels last (e.g. NHWC maps).

    Returns:
        ``b``, the shape of ``a``.
    """
    a = _lrn_args(a, k, alpha, beta, n)
    return _lrn(a, *(jnp.asarray(v, a.dtype) for v in (k, alpha, beta)), jnp.asarray(n, jnp.int32))


def lrn_as_printed(
    a: ArrayLike, k: Any = 2.0, alpha: Any = 1e-4, beta: Any = 0.75, n: Any = 5
) -> Array:
    r"""Eq 8.2 as the book prints it, $a_i^2$ inside the sum: each channel divided by a power of
    its *own* square times the window's size, $b_i = a_i/(k + \alpha\, m_i a_i^2)^\beta$, with
    $m_i$ the number of channels in the clipped window. Not what AlexNet does (:func:`lrn`); it
    is here to show the typo matters."""
    a = _lrn_args(a, k, alpha, beta, n)
    return _lrn_as_printed(
        a, *(jnp.asarray(v, a.dtype) for v in (k, alpha, beta)), jnp.asarray(n, jnp.int32)
    )


def lrn_cache_size() -> int:
    """How many versions of :func:`lrn` have been compiled (one per shape and dtype)."""
    return _lrn._cache_size()
