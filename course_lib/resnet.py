r"""Plain and residual stacks of convolutions on small images (Aggarwal §8.4.5, §8.4.7).

The network: a stem convolution (1 → ``width`` channels), ``depth - 1`` further 3×3
convolutions of ``width`` channels (padding 1, so every layer keeps the image size), then a
linear head on the flattened last feature map. With $\alpha$ = ``residual``,

$$ h^{(1)} = \mathrm{ReLU}(W_1 * x + b_1), \qquad
   h^{(l+1)} = \alpha\, h^{(l)} + \mathrm{ReLU}(W_{l+1} * h^{(l)} + b_{l+1}),
   \qquad \text{logits} = \mathrm{vec}(h^{(L)})^\top V + c . $$

$\alpha = 0$ is a *plain* network, $\alpha = 1$ a *residual* one: every layer adds its output
to an identity skip connection (He et al. 2016). Because $\alpha$ is a traced number, the plain
and the residual network share one compiled program (and are trained side by side with
``vmap``).

Initialization: LeCun's $W \sim \mathcal N(0, 1/\text{fan-in})$ with zero biases for both
(the same weights for the same key). Through a ReLU this halves the mean square of the signal
at every layer, so in the plain network both the forward signal and the backward gradient
shrink geometrically with depth (§3.4 of Aggarwal: vanishing gradients), while the skip
connections carry them unchanged: $\partial h^{(l+1)}/\partial h^{(l)} = I + \dots$.

Contents: :func:`init`, :func:`apply`, :func:`loss`, :func:`accuracy`,
:func:`layer_grad_norms` (per-layer gradient norms), :func:`features` (the body's output, for
transfer), :func:`fit` (Adam, one jitted ``lax.scan`` over the steps, with optional random shifts
of the inputs (:mod:`course_lib.augmentation`) and an optionally frozen body), and
:func:`subset_indices` (class-balanced small training sets, Exercise 8.6).
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from course_lib import _validate, augmentation, optim
from course_lib._types import Array, ArrayLike, Params, PRNGKey

_DIMS = ("NHWC", "HWIO", "NHWC")


def _conv(h: Array, w: Array, b: Array) -> Array:
    """3×3 convolution, padding 1, as one matrix product of the 9 shifted copies (im2col):
    on XLA:CPU much faster than ``conv_general_dilated`` for a few channels (tested equal)."""
    H, W = h.shape[1], h.shape[2]
    p = jnp.pad(h, ((0, 0), (1, 1), (1, 1), (0, 0)))
    cols = jnp.concatenate([p[:, r : r + H, s : s + W, :] for r in range(3) for s in range(3)],
                           axis=3)  # fmt: skip
    return cols @ w.reshape(-1, w.shape[-1]) + b[None, None, None, :]


def init(
    *,
    key: PRNGKey,
    depth: int,
    width: int = 8,
    image_size: int = 8,
    n_classes: int = 10,
    in_channels: int = 1,
) -> Params:
    r"""Parameters of a ``depth``-layer conv stack plus a linear head, LeCun initialization.

    Returns:
        ``{"stem": (w (3,3,C_in,width), b), "body": (w (depth-1,3,3,width,width),
        b (depth-1,width)), "head": (V (image_size²·width, n_classes), c)}``.
    """
    key = _validate.prng_key("key", key)
    depth = _validate.positive_int("depth", depth)
    if depth < 2:
        raise ValueError(f"`depth` must be at least 2 (a stem and one more layer), got {depth}.")
    width = _validate.positive_int("width", width)
    size = _validate.positive_int("image_size", image_size)
    n_classes = _validate.positive_int("n_classes", n_classes)
    c_in = _validate.positive_int("in_channels", in_channels)
    return _init(key, depth, width, size, n_classes, c_in)


@partial(jax.jit, static_argnums=(1, 2, 3, 4, 5))
def _init(key, depth, width, size, n_classes, c_in):
    dt = jnp.result_type(float)
    k1, k2, k3 = jax.random.split(key, 3)
    stem = jax.random.normal(k1, (3, 3, c_in, width), dt) / math.sqrt(9 * c_in)
    body = jax.random.normal(k2, (depth - 1, 3, 3, width, width), dt) / math.sqrt(9 * width)
    n_feat = size * size * width
    head = jax.random.normal(k3, (n_feat, n_classes), dt) / math.sqrt(n_feat)
    return {
        "stem": (stem, jnp.zeros(width, dt)),
        "body": (body, jnp.zeros((depth - 1, width), dt)),
        "head": (head, jnp.zeros(n_classes, dt)),
    }


def _cast(params: Params, dtype) -> Params:
    return jax.tree.map(lambda a: a.astype(dtype), params)


def _features(params: Params, x: Array, residual: Array) -> Array:
    params = _cast(params, x.dtype)
    w0, b0 = params["stem"]
    h = jax.nn.relu(_conv(x, w0.astype(x.dtype), b0.astype(x.dtype)))

    def layer(h, wb):
        return residual * h + jax.nn.relu(_conv(h, wb[0], wb[1])), None

    h, _ = jax.lax.scan(layer, h, params["body"])  # one layer compiled, not depth of them
    return h


def _apply(params: Params, x: Array, residual: Array) -> Array:
    h = _features(params, x, residual)
    V, c = _cast(params["head"], x.dtype)
    return h.reshape(h.shape[0], -1) @ V + c[None, :]


def _loss(params: Params, x: Array, y: Array, residual: Array) -> Array:
    logits = _apply(params, x, residual)
    logp = jax.nn.log_softmax(logits, axis=1)
    return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))


def _check(params: Params, x: Any, residual: Any) -> tuple[Array, Array]:
    x = _validate.finite("x", _validate.float_array("x", x, ndim=4))
    if not isinstance(params, dict) or set(params) != {"stem", "body", "head"}:
        raise TypeError("`params` must be the dict returned by resnet.init.")
    if x.shape[3] != params["stem"][0].shape[2]:
        raise ValueError(
            f"`x` must have {params['stem'][0].shape[2]} channel(s), got shape {tuple(x.shape)}."
        )
    _validate.in_range("residual", residual, 0.0, 1.0)
    return x, jnp.asarray(residual, x.dtype)


def _labels(y: Any, n: int, n_classes: int) -> Array:
    y = jnp.asarray(y)
    if y.shape != (n,) or not jnp.issubdtype(y.dtype, jnp.integer):
        raise ValueError(f"`y` must be {n} integer labels, got {y.dtype}{tuple(y.shape)}.")
    if not _validate.is_traced(y) and n and not (0 <= int(y.min()) and int(y.max()) < n_classes):
        raise ValueError(f"`y` must lie in 0..{n_classes - 1}, got {int(y.min())}..{int(y.max())}.")
    return y.astype(jnp.int32)


def apply(params: Params, x: ArrayLike, *, residual: Any) -> Array:
    """Logits ``(n, n_classes)`` for images ``x: (n, H, W, C)``; ``residual`` is $\\alpha$."""
    x, a = _check(params, x, residual)
    return _apply_jit(params, x, a)


_apply_jit = jax.jit(_apply)


def features(params: Params, x: ArrayLike, *, residual: Any) -> Array:
    """The body's last feature map, flattened: ``(n, H·W·width)`` (what a new head reads)."""
    x, a = _check(params, x, residual)
    h = _features_jit(params, x, a)
    return h.reshape(h.shape[0], -1)


_features_jit = jax.jit(_features)


def loss(params: Params, x: ArrayLike, y: ArrayLike, *, residual: Any) -> Array:
    """Mean softmax cross-entropy of the labels ``y: (n,)``."""
    x, a = _check(params, x, residual)
    y = _labels(y, x.shape[0], params["head"][0].shape[1])
    return _loss_jit(params, x, y, a)


_loss_jit = jax.jit(_loss)


@jax.jit
def _accuracy(params, x, y, residual):
    return jnp.mean(jnp.argmax(_apply(params, x, residual), axis=1) == y)


def accuracy(params: Params, x: ArrayLike, y: ArrayLike, *, residual: Any) -> Array:
    """Fraction of ``x`` classified as ``y``."""
    x, a = _check(params, x, residual)
    y = _labels(y, x.shape[0], params["head"][0].shape[1])
    return _accuracy(params, x, y, a)


def _features_probed(params: Params, x: Array, residual: Array, probes: Array) -> Array:
    params = _cast(params, x.dtype)
    w0, b0 = params["stem"]
    h = jax.nn.relu(_conv(x, w0.astype(x.dtype), b0.astype(x.dtype))) + probes[0]

    def layer(h, wbe):
        w, b, e = wbe
        return residual * h + jax.nn.relu(_conv(h, w, b)) + e, None

    h, _ = jax.lax.scan(layer, h, (*params["body"], probes[1:]))
    return h


def _probed_loss(params, probes, x, y, residual):
    """The loss, with a zero probe added to every layer's output (``probes: (depth, n, H, W,
    width)``); its gradient with respect to the probes is $\\partial L/\\partial h^{(l)}$."""
    h = _features_probed(params, x, residual, probes)
    V, c = _cast(params["head"], x.dtype)
    logits = h.reshape(h.shape[0], -1) @ V + c[None, :]
    logp = jax.nn.log_softmax(logits, axis=1)
    return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1)), logits


def _zero_probes(params, x):
    depth = params["body"][0].shape[0] + 1
    return jnp.zeros((depth, *x.shape[:3], params["stem"][0].shape[-1]), x.dtype)


def _norms(g):
    return jnp.sqrt(jnp.sum(g.reshape(g.shape[0], -1) ** 2, axis=1))


@jax.jit
def _grad_norms(params, x, y, residual):
    probes = _zero_probes(params, x)
    g, _ = jax.grad(_probed_loss, argnums=1, has_aux=True)(params, probes, x, y, residual)
    return _norms(g)


def layer_grad_norms(params: Params, x: ArrayLike, y: ArrayLike, *, residual: Any) -> Array:
    r"""The size of the backpropagated gradient at every layer,
    $\lVert \partial L / \partial h^{(l)} \rVert$ for $l = 1, \dots, L$ (the stem's output
    first, the last feature map last): ``(depth,)``.

    Computed with ``jax.grad`` of the loss with respect to a zero *probe* added to every
    layer's output (the derivative with respect to the probe is the derivative with respect
    to $h^{(l)}$). In a plain ReLU stack with LeCun initialization each layer backwards
    multiplies its mean square by about 1/2, so it shrinks geometrically towards the input;
    with skip connections $\partial h^{(l+1)}/\partial h^{(l)} = I + \dots$ and it does not
    (Aggarwal §8.4.5). Jitted with ``residual`` traced: plain and residual share one program.
    """
    x, a = _check(params, x, residual)
    y = _labels(y, x.shape[0], params["head"][0].shape[1])
    return _grad_norms(params, x, y, a)


class FitResult(NamedTuple):
    """What :func:`fit` returns."""

    params: Params  # the trained parameters
    losses: Array  # (steps,) the minibatch loss before each step


@jax.jit
def _fit(params, X, y, idx, keys, residual, max_shift, train_body, lr):
    opt = optim.adam(lr)

    def step(carry, inputs):
        p, state = carry
        rows, k = inputs
        xb = augmentation._random_shift(X[rows], k, max_shift)
        value, g = jax.value_and_grad(_loss)(p, xb, y[rows], residual)
        g = {
            "stem": jax.tree.map(lambda a: a * train_body, g["stem"]),
            "body": jax.tree.map(lambda a: a * train_body, g["body"]),
            "head": g["head"],
        }
        updates, state = opt.update(g, state, p)
        return (optim.apply_updates(p, updates), state), value

    (params, _), values = jax.lax.scan(step, (params, opt.init(params)), (idx, keys))
    return params, values


def fit(
    params: Params,
    X: ArrayLike,
    y: ArrayLike,
    *,
    key: PRNGKey,
    steps: int,
    batch_size: int = 32,
    lr: Any = 3e-3,
    residual: Any = 1.0,
    pool: ArrayLike | None = None,
    max_shift: Any = 0,
    train_body: Any = 1.0,
) -> FitResult:
    r"""Train with Adam, one jitted ``lax.scan`` over the steps.

    Each step takes ``batch_size`` rows drawn uniformly (with replacement) from ``pool`` (row
    indices of ``X``; default all rows), shifts each image by a random offset in
    $\{-m,\dots,m\}^2$ (``max_shift``; 0 = no augmentation,
    :func:`course_lib.augmentation.random_shift`) and takes one Adam step on the
    cross-entropy. ``train_body`` = 0 freezes the stem and the body (their gradients are
    multiplied by 0): only the head learns, as when a pretrained network's features are reused
    for a new task (Aggarwal §8.4.7).

    ``residual``, ``max_shift``, ``train_body``, ``lr`` and the pool's contents are traced:
    changing them never recompiles; ``steps``, ``batch_size`` and the shapes of ``X`` and
    ``params`` are static (one compilation per network shape and number of steps).

    Returns:
        :class:`FitResult` ``(params, losses (steps,))``.
    """
    key = _validate.prng_key("key", key)
    X, a = _check(params, X, residual)
    y = _labels(y, X.shape[0], params["head"][0].shape[1])
    steps = _validate.positive_int("steps", steps)
    batch_size = _validate.positive_int("batch_size", batch_size)
    _validate.positive("lr", lr)
    _validate.in_range("train_body", train_body, 0.0, 1.0)
    if not _validate.is_traced(max_shift) and (
        isinstance(max_shift, bool) or int(max_shift) != max_shift or max_shift < 0
    ):
        raise ValueError(f"`max_shift` must be a whole number >= 0, got {max_shift!r}.")
    pool = jnp.arange(X.shape[0]) if pool is None else jnp.asarray(pool)
    if pool.ndim != 1 or pool.size == 0 or not jnp.issubdtype(pool.dtype, jnp.integer):
        raise ValueError(f"`pool` must be a non-empty 1-D array of row indices, got {pool.shape}.")
    if int(pool.min()) < 0 or int(pool.max()) >= X.shape[0]:
        raise ValueError(f"`pool` indices must lie in 0..{X.shape[0] - 1}.")
    k_idx, k_aug = jax.random.split(key)
    idx = pool[jax.random.randint(k_idx, (steps, batch_size), 0, pool.size)]
    return FitResult(
        *_fit(
            params,
            X,
            y,
            idx,
            jax.random.split(k_aug, steps),
            a,
            jnp.asarray(max_shift, jnp.int32),
            jnp.asarray(train_body, X.dtype),
            jnp.asarray(lr, X.dtype),
        )
    )


def subset_indices(y: ArrayLike, per_class: int) -> np.ndarray:
    r"""Indices of the first ``per_class`` examples of every class present in ``y``, in the
    order of ``y`` (a class-balanced small training set, Exercise 8.6).

    Raises ``ValueError`` when some class has fewer than ``per_class`` examples.
    """
    y = np.asarray(y)
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise ValueError(f"`y` must be a 1-D array of integer labels, got {y.dtype}{y.shape}.")
    per_class = _validate.positive_int("per_class", per_class)
    chosen = []
    for c in np.unique(y):
        where = np.flatnonzero(y == c)
        if where.size < per_class:
            raise ValueError(f"class {c} has {where.size} examples, fewer than {per_class}.")
        chosen.append(where[:per_class])
    return np.sort(np.concatenate(chosen))


class PlainVsResidual(NamedTuple):
    """What :func:`train_plain_and_residual` returns; axis 1 is ``(plain, residual)``."""

    losses: Array  # (seeds, 2, steps) the minibatch loss before each step
    accuracies: Array  # (seeds, 2, steps) the minibatch accuracy before each step
    grad_norms: Array  # (seeds, 2, steps, depth) ||dL/dh^(l)|| on the minibatch of each step
    params: Params  # the trained parameters, every leaf stacked with leading (seeds, 2)


@partial(jax.jit, static_argnames=("depth", "width", "steps", "batch_size", "seeds", "n_classes"))
def _plain_vs_residual(
    key, X, y, lr, momentum, max_grad_norm, *, depth, width, steps, batch_size, seeds, n_classes
):
    opt = optim.chain(optim.clip_by_global_norm(max_grad_norm), optim.sgd(lr, momentum))
    grad = jax.value_and_grad(_probed_loss, argnums=(0, 1), has_aux=True)

    def train(k_init, idx, residual):
        p0 = _init(k_init, depth, width, X.shape[1], n_classes, X.shape[3])

        def step(carry, rows):
            p, state = carry
            xb, yb = X[rows], y[rows]
            # one backward pass gives the weights' gradient and every layer's dL/dh
            (value, logits), (g, g_h) = grad(p, _zero_probes(p, xb), xb, yb, residual)
            updates, state = opt.update(g, state, p)
            acc = jnp.mean(jnp.argmax(logits, axis=1) == yb)
            return (optim.apply_updates(p, updates), state), (value, acc, _norms(g_h))

        (p, _), (values, accs, norms) = jax.lax.scan(step, (p0, opt.init(p0)), idx)
        return values, accs, norms, p

    def one_seed(k):
        k_init, k_idx = jax.random.split(k)
        idx = jax.random.randint(k_idx, (steps, batch_size), 0, X.shape[0])
        # the same initial weights and the same minibatches for both networks
        return jax.vmap(train, in_axes=(None, None, 0))(k_init, idx, jnp.array([0.0, 1.0], X.dtype))

    keys = jax.vmap(lambda s: jax.random.fold_in(key, s))(jnp.arange(seeds))
    return PlainVsResidual(*jax.vmap(one_seed)(keys))


def train_plain_and_residual(
    X: ArrayLike,
    y: ArrayLike,
    *,
    key: PRNGKey,
    depth: int,
    width: int = 4,
    steps: int = 150,
    batch_size: int = 16,
    lr: Any = 0.05,
    momentum: Any = 0.9,
    max_grad_norm: Any = 1.0,
    seeds: int = 3,
    n_classes: int = 10,
) -> PlainVsResidual:
    r"""Train a plain and a residual network of the same depth side by side (Aggarwal §8.4.5).

    For each of ``seeds`` seeds (key ``fold_in(key, s)``): one :func:`init` (LeCun's
    $\mathcal N(0, 1/\text{fan-in})$, no normalization layer), used by both networks
    ($\alpha = 0$ and $\alpha = 1$), the same ``steps`` minibatches of ``batch_size`` rows
    drawn with replacement, and ``steps`` steps of momentum SGD on the cross-entropy,

    $$ g \leftarrow g\,\min\!\big(1, c/\lVert g\rVert\big), \qquad
       v \leftarrow \beta v + g, \qquad w \leftarrow w - \eta\, v , $$

    with $c$ = ``max_grad_norm`` (norm clipping, §3.5.5: it keeps the residual network's
    large first gradients from throwing it off), $\beta$ = ``momentum``, $\eta$ = ``lr``. At
    every step the same backward pass also gives the per-layer gradient norms
    $\lVert\partial L/\partial h^{(l)}\rVert$ on that step's minibatch (as
    :func:`layer_grad_norms`), and the minibatch loss and accuracy are recorded.

    One jitted program: a ``lax.scan`` over the steps, ``vmap`` over the two networks and
    the seeds. ``lr``, ``momentum`` and ``max_grad_norm`` are traced (changing them never
    recompiles); ``depth``, ``width``, ``steps``, ``batch_size``, ``seeds`` and the shape of
    ``X`` are static.

    Args:
        X: ``(n, H, W, C)`` images; y: ``(n,)`` integer labels in ``0..n_classes-1``.

    Returns:
        :class:`PlainVsResidual`, every array with leading axes ``(seeds, 2)``, axis 1 being
        (plain, residual).
    """
    key = _validate.prng_key("key", key)
    X = _validate.finite("X", _validate.float_array("X", X, ndim=4))
    n_classes = _validate.positive_int("n_classes", n_classes)
    y = _labels(y, X.shape[0], n_classes)
    depth = _validate.positive_int("depth", depth)
    if depth < 2:
        raise ValueError(f"`depth` must be at least 2 (a stem and one more layer), got {depth}.")
    width = _validate.positive_int("width", width)
    steps = _validate.positive_int("steps", steps)
    batch_size = _validate.positive_int("batch_size", batch_size)
    seeds = _validate.positive_int("seeds", seeds)
    _validate.positive("lr", lr)
    _validate.positive("max_grad_norm", max_grad_norm, allow_inf=True)
    if not _validate.is_traced(momentum):
        _validate.in_range("momentum", momentum, 0.0, 1.0)
        if float(momentum) >= 1.0:
            raise ValueError(f"`momentum` must be in [0, 1), got {momentum!r}.")
    dt = X.dtype
    return _plain_vs_residual(
        key,
        X,
        y,
        jnp.asarray(lr, dt),
        jnp.asarray(momentum, dt),
        jnp.asarray(max_grad_norm, dt),
        depth=depth,
        width=width,
        steps=steps,
        batch_size=batch_size,
        seeds=seeds,
        n_classes=n_classes,
    )
