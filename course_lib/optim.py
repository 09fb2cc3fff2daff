r"""Gradient-descent strategies with optax's contract (Aggarwal §3.5; Goodfellow et al. §8.3–8.6).

An optimizer is a pair of pure functions, exactly as in optax:

- ``init(params) -> state``: the optimizer's memory (a NamedTuple of arrays, shaped like the
  parameters);
- ``update(grads, state, params=None) -> (updates, new_state)``: turns a gradient into the
  *step* to add to the parameters, which :func:`apply_updates` does.

Small transformations are composed with :func:`chain`, e.g. momentum SGD is
``chain(trace(beta), scale_by_learning_rate(lr))``, and gradient clipping is one more link
in front. Parameters, gradients and states are pytrees (an array, a tuple, a dict ...), so the
same optimizer trains a 2-D point on a bowl and a network.

Every hyperparameter may be a traced array: build the optimizer *inside* a jitted function
from its arguments and a slider that moves the learning rate never recompiles.

Each transformation is numerically the same as its optax namesake (``tests/test_optim.py``
checks them step by step against optax). Where the book writes the rule differently, the
docstring says how the two forms relate.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from course_lib import _validate
from course_lib._types import Array, Params

Updates = Any  # a pytree shaped like the parameters
State = Any


class GradientTransformation(NamedTuple):
    """A pair of pure functions ``(init, update)`` (optax's ``GradientTransformation``)."""

    init: Callable[[Params], State]
    update: Callable[..., tuple[Updates, State]]


class EmptyState(NamedTuple):
    """The state of a transformation that remembers nothing."""


def _check(
    name: str,
    value: Any,
    low: float,
    high: float,
    *,
    low_open: bool = False,
    allow_inf: bool = False,
) -> None:
    """A range check on a hyperparameter, skipped when it is traced (no concrete value).

    With ``high = inf`` the interval is open at infinity unless ``allow_inf`` (a clipping
    threshold of ``inf`` means "no clipping"; a learning rate of ``inf`` only makes NaN).
    Strings are refused even when they spell a number (``"0.1"``).
    """
    if _validate.is_traced(value):
        return
    v = _validate.real_scalar(name, value)
    high_open = high == _INF and not allow_inf
    ok = (low < v if low_open else low <= v) and (v < high if high_open else v <= high)
    if not ok or v != v:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        raise ValueError(f"`{name}` must be in {left}{low}, {high}{right}, got {value!r}.")


_INF = float("inf")


def _tree_map(f: Callable, *trees: Any) -> Any:
    return jax.tree.map(f, *trees)


# ------------------------------------------------------------------------------ composition


def chain(*transforms: GradientTransformation) -> GradientTransformation:
    """Apply ``transforms`` one after the other: the updates of one are the input of the next."""
    for i, t in enumerate(transforms):
        if not isinstance(t, GradientTransformation):
            raise TypeError(
                f"chain() argument {i} must be a GradientTransformation, got {type(t).__name__}."
            )

    def init(params: Params) -> tuple:
        return tuple(t.init(params) for t in transforms)

    def update(grads: Updates, state: tuple, params: Params | None = None):
        new_state = []
        for t, s in zip(transforms, state, strict=True):
            grads, s = t.update(grads, s, params)
            new_state.append(s)
        return grads, tuple(new_state)

    return GradientTransformation(init, update)


def apply_updates(params: Params, updates: Updates) -> Params:
    r"""$w \leftarrow w + \Delta w$, leaf by leaf (the updates already carry the minus sign).

    ``updates`` must have the structure and the leaf shapes of ``params`` (no broadcasting:
    an update of another shape is a bug upstream). Both are static, so the check also runs,
    once, when this is traced inside a jitted training step.
    """
    p_leaves, p_def = jax.tree.flatten(params)
    u_leaves, u_def = jax.tree.flatten(updates)
    if p_def != u_def:
        raise ValueError(
            "`updates` must have the same tree structure as `params` (the output of the "
            f"optimizer's update on grads of these params), got {u_def} for params {p_def}."
        )
    for i, (p, u) in enumerate(zip(p_leaves, u_leaves, strict=True)):
        if jnp.shape(p) != jnp.shape(u):
            keys = jax.tree_util.tree_flatten_with_path(params)[0][i][0]
            path = jax.tree_util.keystr(keys)
            raise ValueError(
                f"`updates`{path} must have the shape of `params`{path}, {tuple(jnp.shape(p))}, "
                f"got {tuple(jnp.shape(u))}."
            )
    new = [p + u.astype(jnp.result_type(p)) for p, u in zip(p_leaves, u_leaves, strict=True)]
    return jax.tree.unflatten(p_def, new)


# ------------------------------------------------------------------------------ transformations


def scale(factor: Any) -> GradientTransformation:
    r"""Multiply the updates by ``factor``."""

    def init(params):
        return EmptyState()

    def update(grads, state, params=None):
        return _tree_map(lambda g: factor * g, grads), state

    return GradientTransformation(init, update)


class ScaleByScheduleState(NamedTuple):
    count: Array  # how many updates so far (int32), the t of the schedule


def scale_by_schedule(step_size_fn: Callable[[Array], Array]) -> GradientTransformation:
    r"""Multiply the updates by ``step_size_fn(t)``, $t = 0, 1, 2, \dots$ the update's number."""
    if not callable(step_size_fn):
        raise TypeError(
            "`step_size_fn` must be a function of the step count, "
            f"got {type(step_size_fn).__name__}."
        )

    def init(params):
        return ScaleByScheduleState(jnp.zeros([], jnp.int32))

    def update(grads, state, params=None):
        factor = step_size_fn(state.count)
        out = _tree_map(lambda g: jnp.asarray(factor, g.dtype) * g, grads)
        return out, ScaleByScheduleState(state.count + 1)

    return GradientTransformation(init, update)


def scale_by_learning_rate(learning_rate: Any) -> GradientTransformation:
    r"""$\Delta w = -\alpha\, g$: the descent step of size $\alpha > 0$.

    ``learning_rate`` is a number or a *schedule* $t \mapsto \alpha_t$ (e.g.
    :func:`exponential_decay`), evaluated at $t = 0$ for the first update, as in optax.
    """
    if callable(learning_rate):
        return scale_by_schedule(lambda count: -learning_rate(count))
    _check("learning_rate", learning_rate, 0.0, _INF, low_open=True)
    return scale(-learning_rate)


# ------------------------------------------------------------------------------ schedules


def linear_decay(
    init_value: Any, steps: int, final_fraction: Any = 0.1
) -> Callable[[Array], Array]:
    r"""$\alpha_t = \alpha_0(1 - (1 - f)\,t/T)$: from $\alpha_0$ down to $f\alpha_0$ in $T$ steps.

    Letting the last steps of a full-batch fit shrink settles it into the minimum (the
    autoencoder of chapter 2 reaches the SVD's error to 1e-3 this way).
    """
    steps = _validate.positive_int("steps", steps)
    _check("final_fraction", final_fraction, 0.0, 1.0)
    return lambda count: init_value * (1.0 - (1.0 - final_fraction) * count / steps)


def exponential_decay(init_value: Any, rate: Any) -> Callable[[Array], Array]:
    r"""The schedule $\alpha_t = \alpha_0\, e^{-k t}$ (Aggarwal §3.5.1), $k$ = ``rate``.

    optax writes it as ``optax.exponential_decay(init_value, transition_steps=1,
    decay_rate=exp(-k))``; the values are the same.
    """
    _check("init_value", init_value, 0.0, _INF, low_open=True)
    _check("rate", rate, 0.0, _INF)

    def schedule(count: Array) -> Array:
        return init_value * jnp.exp(-rate * jnp.asarray(count, jnp.result_type(float)))

    return schedule


def inverse_decay(init_value: Any, rate: Any) -> Callable[[Array], Array]:
    r"""The schedule $\alpha_t = \alpha_0 / (1 + k t)$ (Aggarwal §3.5.1), $k$ = ``rate``.

    It satisfies the classical conditions for SGD to converge, $\sum_t \alpha_t = \infty$ and
    $\sum_t \alpha_t^2 < \infty$ (Goodfellow et al. §8.3.1, Eq 8.12–8.13); the exponential
    schedule does not (its sum is finite, so it can stop short of the minimum).
    """
    _check("init_value", init_value, 0.0, _INF, low_open=True)
    _check("rate", rate, 0.0, _INF)

    def schedule(count: Array) -> Array:
        return init_value / (1.0 + rate * jnp.asarray(count, jnp.result_type(float)))

    return schedule


def step_decay(init_value: Any, factor: Any, every: int) -> Callable[[Array], Array]:
    r"""The schedule $\alpha_t = \alpha_0 f^{\lfloor t/s \rfloor}$: times $f$ every $s$ steps.

    Aggarwal's example (§3.5.1) is $f = 0.5$ every 5 epochs. optax's
    ``exponential_decay(init_value, transition_steps=s, decay_rate=f, staircase=True)`` is the
    same schedule.
    """
    _check("init_value", init_value, 0.0, _INF, low_open=True)
    _check("factor", factor, 0.0, 1.0, low_open=True)
    every = _validate.positive_int("every", every)

    def schedule(count: Array) -> Array:
        return init_value * factor ** (jnp.asarray(count) // every).astype(jnp.result_type(float))

    return schedule


class TraceState(NamedTuple):
    trace: Updates  # the velocity, in gradient units


def trace(decay: Any, nesterov: bool = False) -> GradientTransformation:
    r"""Momentum (heavy ball), or Nesterov's momentum with ``nesterov=True`` (§3.5.2).

    Keeps $t \leftarrow g + \beta t$ and passes on $t$ (or $g + \beta t$ for Nesterov).

    *Relation to the book.* Aggarwal writes momentum as $V \leftarrow \beta V - \alpha g$,
    $W \leftarrow W + V$. With a constant $\alpha$, $V = -\alpha t$, so
    ``chain(trace(beta), scale_by_learning_rate(alpha))`` takes exactly the book's steps.
    The book's Nesterov evaluates the gradient at the look-ahead point $W + \beta V$, which an
    ``update(grads, ...)`` function cannot do; the form here (Sutskever et al. 2013, as in
    optax) is the same algorithm written in the shifted variable $\tilde W = W + \beta V$:
    its iterates are the book's look-ahead points. :func:`nesterov_iterates` turns a path of
    look-ahead points back into the book's $W$.
    """
    _check("decay", decay, 0.0, 1.0)

    def init(params):
        return TraceState(_tree_map(jnp.zeros_like, params))

    def update(grads, state, params=None):
        t = _tree_map(lambda g, t: g + decay * t, grads, state.trace)
        out = _tree_map(lambda g, t: g + decay * t, grads, t) if nesterov else t
        return out, TraceState(t)

    return GradientTransformation(init, update)


class ScaleByRssState(NamedTuple):
    sum_of_squares: Updates


def scale_by_rss(initial_accumulator_value: Any = 0.1, eps: Any = 1e-7) -> GradientTransformation:
    r"""AdaGrad's scaling (§3.5.3.1, Eq 3.40): $A \leftarrow A + g^2$, then $g/\sqrt{A+\epsilon}$.

    The book starts from $A = 0$; optax (and this default) from $A = 0.1$, which tames the
    very first step ($g/|g|$ when $A = g^2$). Pass ``initial_accumulator_value=0`` for the
    book's form; an entry whose $A$ is still 0 gets a zero step.
    """
    _check("initial_accumulator_value", initial_accumulator_value, 0.0, _INF)
    _check("eps", eps, 0.0, _INF)

    def init(params):
        return ScaleByRssState(
            _tree_map(lambda p: jnp.full_like(p, initial_accumulator_value), params)
        )

    def update(grads, state, params=None):
        acc = _tree_map(lambda g, a: a + g * g, grads, state.sum_of_squares)
        out = _tree_map(lambda g, a: jnp.where(a > 0, g * jax.lax.rsqrt(a + eps), 0.0), grads, acc)
        return out, ScaleByRssState(acc)

    return GradientTransformation(init, update)


class ScaleByRmsState(NamedTuple):
    nu: Updates


def scale_by_rms(
    decay: Any = 0.9, eps: Any = 1e-8, initial_scale: Any = 0.0
) -> GradientTransformation:
    r"""RMSProp's scaling (§3.5.3.2, Eq 3.41): $A \leftarrow \rho A + (1-\rho) g^2$, pass on
    $g / \sqrt{A + \epsilon}$ (optax's ``eps_in_sqrt=True``; the book writes $\sqrt{A}$)."""
    _check("decay", decay, 0.0, 1.0)
    _check("eps", eps, 0.0, _INF)

    def init(params):
        return ScaleByRmsState(_tree_map(lambda p: jnp.full_like(p, initial_scale), params))

    def update(grads, state, params=None):
        nu = _tree_map(lambda g, n: decay * n + (1.0 - decay) * g * g, grads, state.nu)
        out = _tree_map(lambda g, n: g * jax.lax.rsqrt(n + eps), grads, nu)
        return out, ScaleByRmsState(nu)

    return GradientTransformation(init, update)


class ScaleByAdaDeltaState(NamedTuple):
    e_g: Updates  # running mean of g^2 (the book's A)
    e_x: Updates  # running mean of the squared steps (the book's delta)


def scale_by_adadelta(rho: Any = 0.9, eps: Any = 1e-6) -> GradientTransformation:
    r"""AdaDelta (§3.5.3.4, Eq 3.43): $A \leftarrow \rho A + (1-\rho) g^2$, step
    $\Delta = \sqrt{(\delta + \epsilon)/(A + \epsilon)}\; g$, then
    $\delta \leftarrow \rho\delta + (1-\rho)\Delta^2$. No learning rate: combine with
    ``scale_by_learning_rate(1.0)``. The $\epsilon$ inside both roots is what makes the first
    steps non-zero (they are about $\sqrt\epsilon$ in size, so AdaDelta starts slowly)."""
    _check("rho", rho, 0.0, 1.0)
    _check("eps", eps, 0.0, _INF, low_open=True)

    def init(params):
        zeros = _tree_map(jnp.zeros_like, params)
        return ScaleByAdaDeltaState(zeros, zeros)

    def update(grads, state, params=None):
        e_g = _tree_map(lambda g, a: rho * a + (1.0 - rho) * g * g, grads, state.e_g)
        step = _tree_map(
            lambda g, a, d: jnp.sqrt(d + eps) / jnp.sqrt(a + eps) * g, grads, e_g, state.e_x
        )
        e_x = _tree_map(lambda s, d: rho * d + (1.0 - rho) * s * s, step, state.e_x)
        return step, ScaleByAdaDeltaState(e_g, e_x)

    return GradientTransformation(init, update)


class ScaleByAdamState(NamedTuple):
    count: Array  # the step number t (int32)
    mu: Updates  # first moment F
    nu: Updates  # second moment A


def scale_by_adam(b1: Any = 0.9, b2: Any = 0.999, eps: Any = 1e-8) -> GradientTransformation:
    r"""Adam (§3.5.3.5, Eq 3.44–3.46): $F \leftarrow \rho_f F + (1-\rho_f) g$,
    $A \leftarrow \rho A + (1-\rho) g^2$, pass on $\hat F / (\sqrt{\hat A} + \epsilon)$ with the
    bias corrections $\hat F = F/(1-\rho_f^t)$, $\hat A = A/(1-\rho^t)$.

    The book folds both corrections into one step size
    $\alpha_t = \alpha\sqrt{1-\rho^t}/(1-\rho_f^t)$ and writes $F/\sqrt{A}$: the same step when
    $\epsilon = 0$; they differ only in where $\epsilon$ enters. ``b1`` is the book's
    $\rho_f$, ``b2`` its $\rho$.
    """
    _check("b1", b1, 0.0, 1.0)
    _check("b2", b2, 0.0, 1.0)
    _check("eps", eps, 0.0, _INF)

    def init(params):
        zeros = _tree_map(jnp.zeros_like, params)
        return ScaleByAdamState(jnp.zeros([], jnp.int32), zeros, zeros)

    def update(grads, state, params=None):
        mu = _tree_map(lambda g, m: b1 * m + (1.0 - b1) * g, grads, state.mu)
        nu = _tree_map(lambda g, v: b2 * v + (1.0 - b2) * g * g, grads, state.nu)
        count = state.count + 1
        t = count.astype(jnp.result_type(float))
        out = _tree_map(
            lambda m, v: (m / (1.0 - b1**t)) / (jnp.sqrt(v / (1.0 - b2**t)) + eps), mu, nu
        )
        return out, ScaleByAdamState(count, mu, nu)

    return GradientTransformation(init, update)


def clip(max_delta: Any) -> GradientTransformation:
    r"""Value clipping (§3.5.5): every component to $[-c, c]$."""
    _check("max_delta", max_delta, 0.0, _INF, low_open=True, allow_inf=True)

    def init(params):
        return EmptyState()

    def update(grads, state, params=None):
        return _tree_map(lambda g: jnp.clip(g, -max_delta, max_delta), grads), state

    return GradientTransformation(init, update)


def global_norm(tree: Updates) -> Array:
    r"""$\sqrt{\sum \text{(every entry of every leaf)}^2}$."""
    return jnp.sqrt(sum(jnp.sum(jnp.square(leaf)) for leaf in jax.tree.leaves(tree)))


def clip_by_global_norm(max_norm: Any) -> GradientTransformation:
    r"""Norm clipping (§3.5.5): $g \leftarrow g \cdot \min(1, c / \|g\|)$; the direction is kept."""
    _check("max_norm", max_norm, 0.0, _INF, low_open=True, allow_inf=True)

    def init(params):
        return EmptyState()

    def update(grads, state, params=None):
        norm = global_norm(grads)
        factor = jnp.where(norm < max_norm, 1.0, max_norm / jnp.maximum(norm, 1e-30))
        return _tree_map(lambda g: g * factor.astype(g.dtype), grads), state

    return GradientTransformation(init, update)


# ------------------------------------------------------------------------------ optimizers


def sgd(learning_rate: Any, momentum: Any = None, nesterov: bool = False) -> GradientTransformation:
    r"""Gradient descent $w \leftarrow w - \alpha g$, with optional (Nesterov) momentum."""
    if momentum is None:
        if nesterov:
            raise ValueError("`nesterov=True` needs a `momentum`.")
        return chain(scale_by_learning_rate(learning_rate))
    return chain(trace(momentum, nesterov), scale_by_learning_rate(learning_rate))


def adagrad(
    learning_rate: Any, initial_accumulator_value: Any = 0.1, eps: Any = 1e-7
) -> GradientTransformation:
    """AdaGrad (§3.5.3.1): :func:`scale_by_rss`, then the learning rate."""
    return chain(
        scale_by_rss(initial_accumulator_value, eps), scale_by_learning_rate(learning_rate)
    )


def rmsprop(
    learning_rate: Any,
    decay: Any = 0.9,
    eps: Any = 1e-8,
    momentum: Any = None,
    nesterov: bool = False,
) -> GradientTransformation:
    r"""RMSProp (§3.5.3.2): :func:`scale_by_rms`, then the learning rate; optionally momentum.

    With ``momentum`` $\beta$ the scaled steps feed a velocity,
    $V \leftarrow \beta V - \alpha\, g/\sqrt{A}$, $W \leftarrow W + V$, and with
    ``nesterov=True`` this is the book's *RMSProp with Nesterov momentum* (§3.5.3.3, Eq 3.42),
    written, as in :func:`trace`, in the shifted variable whose iterates are the book's
    look-ahead points $W + \beta V$ (where the book evaluates the gradient that also feeds $A$).
    Same order of links as ``optax.rmsprop(..., momentum=, nesterov=)``.
    """
    links = [scale_by_rms(decay, eps), scale_by_learning_rate(learning_rate)]
    if momentum is not None:
        links.append(trace(momentum, nesterov))
    elif nesterov:
        raise ValueError("`nesterov=True` needs a `momentum`.")
    return chain(*links)


def adadelta(learning_rate: Any = 1.0, rho: Any = 0.9, eps: Any = 1e-6) -> GradientTransformation:
    """AdaDelta (§3.5.3.4): :func:`scale_by_adadelta`; the book's form has learning rate 1."""
    return chain(scale_by_adadelta(rho, eps), scale_by_learning_rate(learning_rate))


def adam(
    learning_rate: Any, b1: Any = 0.9, b2: Any = 0.999, eps: Any = 1e-8
) -> GradientTransformation:
    """Adam (§3.5.3.5): :func:`scale_by_adam`, then the learning rate."""
    return chain(scale_by_adam(b1, b2, eps), scale_by_learning_rate(learning_rate))


# ------------------------------------------------------------------------------ running


class Trajectory(NamedTuple):
    """What :func:`run` returns: every iterate and its loss."""

    params: Params  # each leaf has a leading axis of length steps + 1 (the start included)
    loss: Array  # (steps + 1,)


def run(
    loss_fn: Callable[[Params], Array],
    optimizer: GradientTransformation,
    params: Params,
    steps: int,
) -> Trajectory:
    r"""``steps`` iterations of ``optimizer`` on ``loss_fn`` from ``params``, in one ``lax.scan``.

    Jit the function that calls this (with ``steps`` static and the hyperparameters as traced
    arguments used to build ``optimizer``): the whole trajectory is then one compiled loop.
    """
    steps = _validate.positive_int("steps", steps)
    grad_fn = jax.value_and_grad(loss_fn)

    def body(carry, _):
        p, s = carry
        value, g = grad_fn(p)
        u, s = optimizer.update(g, s, p)
        return (apply_updates(p, u), s), (p, value)

    (last, _), (history, losses) = jax.lax.scan(
        body, (params, optimizer.init(params)), None, length=steps
    )
    history = _tree_map(lambda h, x: jnp.concatenate([h, x[None]]), history, last)
    return Trajectory(history, jnp.concatenate([losses, loss_fn(last)[None]]))


def run_noisy(
    loss_fn: Callable[[Params], Array],
    optimizer: GradientTransformation,
    params: Params,
    steps: int,
    noise: Any,
    *,
    key: Array,
) -> Trajectory:
    r"""Like :func:`run`, but every gradient carries additive Gaussian noise: a minibatch stand-in.

    Step $k$ gets $g_k = \nabla L(w_k) + \sigma\,\xi_k$ with $\xi_k \sim N(0, I)$ drawn from
    its own split of ``key`` ($\sigma$ = ``noise``, which may be traced): an unbiased gradient
    whose variance $\sigma^2$ per coordinate plays the part of the minibatch noise of SGD
    (Aggarwal §3.2.8; Goodfellow et al. §8.3.1). Same key, same run. The recorded ``loss`` is
    the *true* $L(w_k)$, without noise. ``noise=0`` gives exactly :func:`run`.
    """
    steps = _validate.positive_int("steps", steps)
    key = _validate.prng_key("key", key)
    _check("noise", noise, 0.0, _INF)
    grad_fn = jax.value_and_grad(loss_fn)
    leaves, treedef = jax.tree.flatten(params)

    def body(carry, step_key):
        p, s = carry
        value, g = grad_fn(p)
        leaf_keys = jax.random.split(step_key, len(leaves))
        xi = jax.tree.unflatten(
            treedef,
            [
                jax.random.normal(k, jnp.shape(x), jnp.result_type(x))
                for k, x in zip(leaf_keys, leaves, strict=True)
            ],
        )
        g = _tree_map(lambda gi, e: gi + noise * e, g, xi)
        u, s = optimizer.update(g, s, p)
        return (apply_updates(p, u), s), (p, value)

    (last, _), (history, losses) = jax.lax.scan(
        body, (params, optimizer.init(params)), jax.random.split(key, steps)
    )
    history = _tree_map(lambda h, x: jnp.concatenate([h, x[None]]), history, last)
    return Trajectory(history, jnp.concatenate([losses, loss_fn(last)[None]]))


def minimize(
    loss_fn: Callable[..., Array],
    optimizer: GradientTransformation,
    params: Params,
    steps: int,
    *args: Any,
) -> tuple[Params, Array]:
    r"""``steps`` iterations of ``optimizer`` on ``loss_fn(params, *args)``, in one ``lax.scan``.

    Like :func:`run`, but keeps only the final parameters and the loss before each step (no
    history of iterates: for models with many parameters). Returns ``(params, losses)`` with
    ``losses: (steps,)``. ``args`` (e.g. the data) are passed to ``loss_fn`` unchanged.
    """
    steps = _validate.positive_int("steps", steps)
    grad_fn = jax.value_and_grad(loss_fn)

    def body(carry, _):
        p, s = carry
        value, g = grad_fn(p, *args)
        u, s = optimizer.update(g, s, p)
        return (apply_updates(p, u), s), value

    (last, _), losses = jax.lax.scan(body, (params, optimizer.init(params)), None, length=steps)
    return last, losses


def race(
    loss_fn: Callable[[Params], Array],
    optimizers: Sequence[GradientTransformation],
    params: Params,
    steps: int,
) -> Trajectory:
    r"""Every optimizer in ``optimizers`` from the same ``params``, side by side, in one scan.

    Each scan step takes one step of every optimizer (each keeps its own iterate and state), so
    the whole race is a single compiled loop. Returns a :class:`Trajectory` whose leaves have a
    leading axis of length ``len(optimizers)``: ``params`` leaves ``(m, steps + 1, ...)`` and
    ``loss`` ``(m, steps + 1)``. Row ``i`` equals ``run(loss_fn, optimizers[i], params, steps)``.
    """
    optimizers = tuple(optimizers)
    if not optimizers:
        raise ValueError("`optimizers` must hold at least one optimizer, got none.")
    for i, opt in enumerate(optimizers):
        if not isinstance(opt, GradientTransformation):
            raise TypeError(
                f"`optimizers[{i}]` must be a GradientTransformation, got {type(opt).__name__}."
            )
    steps = _validate.positive_int("steps", steps)
    grad_fn = jax.value_and_grad(loss_fn)

    def body(carry, _):
        new_carry, points, values = [], [], []
        for opt, (p, s) in zip(optimizers, carry, strict=True):
            value, g = grad_fn(p)
            u, s = opt.update(g, s, p)
            new_carry.append((apply_updates(p, u), s))
            points.append(p)
            values.append(value)
        return tuple(new_carry), (tuple(points), jnp.stack(values))

    start = tuple((params, opt.init(params)) for opt in optimizers)
    last, (history, losses) = jax.lax.scan(body, start, None, length=steps)
    paths = [
        _tree_map(lambda h, x: jnp.concatenate([h, x[None]]), h, p)
        for h, (p, _) in zip(history, last, strict=True)
    ]
    final = jnp.stack([loss_fn(p) for p, _ in last])
    stacked = _tree_map(lambda *leaves: jnp.stack(leaves), *paths)
    return Trajectory(stacked, jnp.concatenate([losses, final[None]]).T)


def steps_to_tolerance(loss: Array, tol: Any, *, stay: bool = False) -> Array:
    r"""The first iteration $k$ with $L(w_k) < \text{tol}$, along the last axis; $-1$ if never.

    With ``stay=True``, the first $k$ from which the loss *stays* below ``tol`` to the end of
    the run (a method that dips below and bounces back, like RMSProp with a constant rate,
    does not count until it settles). ``loss: (..., steps + 1)`` as in
    :attr:`Trajectory.loss` (entry 0 is the start). Returns an int32 array of shape
    ``loss.shape[:-1]``. A NaN or infinite loss never counts as below.
    """
    loss = jnp.asarray(loss)
    below = jnp.isfinite(loss) & (loss < tol)
    if stay:  # below[k] and every later entry below: a reversed running "and"
        below = jnp.flip(jnp.cumprod(jnp.flip(below, -1), axis=-1), -1).astype(bool)
    first = jnp.argmax(below, axis=-1)
    return jnp.where(jnp.any(below, axis=-1), first, -1).astype(jnp.int32)


def nesterov_iterates(path: Array, momentum: Any) -> Array:
    r"""The book's Nesterov iterates $W_k$ from the look-ahead points of ``trace(nesterov=True)``.

    Aggarwal's Nesterov (§3.5.2.1) keeps $W$ and evaluates the gradient at $W + \beta V$;
    :func:`sgd` with ``nesterov=True`` (optax's form) moves the look-ahead point
    $\tilde W_k = W_k + \beta V_k$ itself. Since $V_k = W_k - W_{k-1}$,
    $\tilde W_k = (1 + \beta) W_k - \beta W_{k-1}$, so
    $W_k = (\tilde W_k + \beta W_{k-1}) / (1 + \beta)$ with $W_0 = \tilde W_0$ ($V_0 = 0$): a
    recursion along the path that holds for any learning rate or schedule. Both sequences reach
    the same minimum, but a count of iterations "until $L <$ tol" can differ between them (on
    the bowl from (30, 20) at $\alpha = 0.1$, $\beta = 0.5$: 16 for $\tilde W$, 17 for $W$).

    Args:
        path: the look-ahead points, shape ``(steps + 1, ...)`` (e.g. :attr:`Trajectory.params`).
        momentum: $\beta \in [0, 1]$, the one the path was run with (may be traced).

    Returns:
        The book's $W_0, \dots, W_{\text{steps}}$, the same shape as ``path``.
    """
    path = _validate.float_array("path", path)
    if path.ndim < 1 or path.shape[0] < 1:
        raise ValueError(f"`path` needs a leading time axis, got shape {tuple(path.shape)}.")
    _check("momentum", momentum, 0.0, 1.0)

    def body(w_prev, lookahead):
        w = (lookahead + momentum * w_prev) / (1.0 + momentum)
        return w, w

    _, rest = jax.lax.scan(body, path[0], path[1:])
    return jnp.concatenate([path[:1], rest])


#: The names of :func:`optimizer_zoo`'s optimizers, in its order.
ZOO = ("GD", "momentum", "Nesterov", "AdaGrad", "RMSProp", "AdaDelta", "Adam")


def optimizer_zoo(
    learning_rate: Any, adaptive_learning_rate: Any, momentum: Any
) -> dict[str, GradientTransformation]:
    r"""The seven first-order methods of Aggarwal §3.5.2–3.5.3, by name (:data:`ZOO` order).

    GD, momentum and Nesterov take ``learning_rate``; AdaGrad (started from $A = 0$, as in the
    book; optax's default starts from 0.1), RMSProp ($\rho = 0.9$, $\epsilon$ inside the root,
    as optax) and Adam (the book's defaults $\rho_f = 0.9$, $\rho = 0.999$, optax's $\epsilon$
    placement) take ``adaptive_learning_rate``: their
    steps do not scale with the gradient's size (RMSProp's and Adam's are about $\alpha$ per
    coordinate while the gradient is steady; AdaGrad's shrink like $\alpha/\sqrt t$), so a fair
    race gives them their own scale. AdaDelta has no learning rate (the book's form, $\alpha = 1$).
    ``momentum`` is $\beta$ for momentum and Nesterov. All three may be traced.
    """
    return {
        "GD": sgd(learning_rate),
        "momentum": sgd(learning_rate, momentum),
        "Nesterov": sgd(learning_rate, momentum, nesterov=True),
        "AdaGrad": adagrad(adaptive_learning_rate, initial_accumulator_value=0.0, eps=1e-8),
        "RMSProp": rmsprop(adaptive_learning_rate),
        "AdaDelta": adadelta(),
        "Adam": adam(adaptive_learning_rate),
    }


def polyak_average(path: Array, decay: Any = None) -> Array:
    r"""Polyak averages of iterates ``path: (T, ...)`` (Aggarwal §3.5.7; Goodfellow §8.7.3).

    With ``decay=None`` the running mean $\bar w_t = \frac1t\sum_{i=1}^t w_i$ (Eq 3.57);
    with $\beta$ = ``decay`` the exponential average
    $\bar w_t = \sum_{i\le t}\beta^{t-i} w_i / \sum_{i\le t}\beta^{t-i}$, computed by the
    recursion $m_t = \beta m_{t-1} + (1-\beta) w_t$, $m_0 = 0$, and $\bar w_t = m_t/(1-\beta^t)$:
    the same bias correction as Adam's. Returns the averages, shape ``(T, ...)``.
    """
    path = _validate.float_array("path", path)
    if path.ndim < 1 or path.shape[0] < 1:
        raise ValueError(f"`path` needs a leading time axis, got shape {tuple(path.shape)}.")
    t = jnp.arange(1, path.shape[0] + 1, dtype=path.dtype).reshape((-1,) + (1,) * (path.ndim - 1))
    if decay is None:
        return jnp.cumsum(path, axis=0) / t
    _check("decay", decay, 0.0, 1.0)

    def body(m, w):
        m = decay * m + (1.0 - decay) * w
        return m, m

    _, m = jax.lax.scan(body, jnp.zeros_like(path[0]), path)
    return m / (1.0 - decay**t)


# ------------------------------------------------------------------------------ second order


def newton_step(loss_fn: Callable[[Array], Array], w: Array) -> Array:
    r"""One Newton step (§3.5.6, Eq 3.48): $w - H^{-1}\nabla L(w)$, for a flat parameter vector.

    On a quadratic with positive definite $H$ it lands on the minimum in one step.
    """
    w = _validate.float_array("w", w, ndim=1)
    g = jax.grad(loss_fn)(w)
    H = jax.hessian(loss_fn)(w)
    _validate.nonsingular(
        "w",
        H,
        what="the Hessian of `loss_fn`",
        hint="Newton's step H^-1 g is undefined there (it would be NaN or inf): start from "
        "another `w`, damp the Hessian (H + mu*I), or take a gradient step.",
    )
    return w - jnp.linalg.solve(H, g)


class CGResult(NamedTuple):
    """The iterates and search directions of :func:`conjugate_gradient`."""

    iterates: Array  # (steps + 1, d)
    directions: Array  # (steps, d)


def hessian_vector_product(loss_fn: Callable[[Array], Array], w: Array, v: Array) -> Array:
    r"""$H(w)\,v$ without forming $H$: the derivative of $\nabla L$ at $w$ in the direction $v$.

    ``jax.jvp(jax.grad(loss_fn), (w,), (v,))``: forward mode through the backward pass, about
    the cost of two gradients and $O(d)$ memory, where the Hessian itself needs $d^2$ numbers.
    It is the exact form of Aggarwal's finite difference
    $Hv \approx (\nabla L(w + \delta v) - \nabla L(w))/\delta$ (Eq 3.51), and all that
    Hessian-free conjugate gradients need (§3.5.6.1; pass
    ``lambda v: hessian_vector_product(loss_fn, w, v)`` as ``A`` of
    :func:`conjugate_gradient`).

    Args:
        loss_fn: a scalar function of a flat parameter vector.
        w: the point, shape ``(d,)``.
        v: the direction, shape ``(d,)``.
    """
    w = _validate.float_array("w", w, ndim=1)
    v = _validate.float_array("v", v, ndim=1)
    if v.shape != w.shape:
        raise ValueError(f"`v` must have the shape of `w` {tuple(w.shape)}, got {tuple(v.shape)}.")
    return jax.jvp(jax.grad(loss_fn), (w,), (v.astype(w.dtype),))[1]


def conjugate_gradient(
    A: Array | Callable[[Array], Array], b: Array, w0: Array, steps: int
) -> CGResult:
    r"""Linear conjugate gradients on $L(w) = \tfrac12 w^\top A w - b^\top w$ (§3.5.6.1).

    $q_0 = -\nabla L(w_0)$; exact line search $\alpha_t = -q_t^\top\nabla L(w_t)/(q_t^\top A q_t)$;
    $q_{t+1} = -\nabla L(w_{t+1}) + \beta_t q_t$ with
    $\beta_t = q_t^\top A\,\nabla L(w_{t+1}) / (q_t^\top A q_t)$ (Eq 3.49–3.50), which makes
    the directions $A$-conjugate: $q_i^\top A q_j = 0$ for $i \ne j$. On a $d$-dimensional
    quadratic it reaches the minimum in at most $d$ steps (up to rounding).

    CG touches $A$ only through products $A q$, so ``A`` may also be a *function*
    ``v -> A v``: with :func:`hessian_vector_product` the Hessian is never formed
    (Hessian-free optimization).

    Args:
        A: symmetric positive definite, shape ``(d, d)``, or a function computing ``A @ v``
            for ``v: (d,)``.
        b: shape ``(d,)``.
        w0: start, shape ``(d,)``.
        steps: how many steps (usually ``d``).
    """
    b = _validate.float_array("b", b, ndim=1)
    w0 = _validate.float_array("w0", w0, ndim=1)
    d = b.shape[0]
    if callable(A):
        matvec = A
        if w0.shape != (d,):
            raise ValueError(
                f"shapes do not match: b {tuple(b.shape)}, w0 {tuple(w0.shape)}; "
                "need b (d,), w0 (d,)."
            )
    else:
        A = _validate.float_array("A", A, ndim=2)
        if A.shape != (d, d) or w0.shape != (d,):
            raise ValueError(
                f"shapes do not match: A {tuple(A.shape)}, b {tuple(b.shape)}, "
                f"w0 {tuple(w0.shape)}; need A (d, d), b (d,), w0 (d,)."
            )
        matvec = A.__matmul__
    steps = _validate.positive_int("steps", steps)

    def body(carry, _):
        w, q = carry
        g = matvec(w) - b
        Aq = matvec(q)
        curvature = q @ Aq
        safe = jnp.where(curvature > 0, curvature, 1.0)  # q = 0 once converged: stay put
        alpha = jnp.where(curvature > 0, -(q @ g) / safe, 0.0)
        w_next = w + alpha * q
        g_next = matvec(w_next) - b
        beta = jnp.where(curvature > 0, (Aq @ g_next) / safe, 0.0)
        return (w_next, -g_next + beta * q), (w_next, q)

    (_, _), (ws, qs) = jax.lax.scan(body, (w0, -(matvec(w0) - b)), None, length=steps)
    return CGResult(jnp.concatenate([w0[None], ws]), qs)


# ------------------------------------------------------------------------------ the bowl race
# The race of ch03b_optimizers (and its widget, ``widgets.optimizer_race``): every method of
# :func:`optimizer_zoo` on the bowl of Aggarwal Fig 3.9, in one jitted scan.


def bowl(w: Array, b: Any = 4.0, angle: Any = 0.0) -> Array:
    r"""The bowl $L = x^2 + b\,y^2$ of Aggarwal Fig 3.9 ($b = 4$; $b = 1$ is the round one),
    optionally turned by ``angle`` (radians): $L = u^2 + b\,v^2$ with
    $(u, v) = (x\cos\theta + y\sin\theta,\; -x\sin\theta + y\cos\theta)$. The same
    eigenvalues, but at $\theta \ne 0$ the Hessian is no longer diagonal in $(x, y)$.

    ``w`` has shape ``(2, ...)``: a point, or a grid of points stacked on the first axis.
    ``b`` and ``angle`` may be traced.
    """
    c, s = jnp.cos(angle), jnp.sin(angle)
    u, v = c * w[0] + s * w[1], c * w[1] - s * w[0]
    return u**2 + b * v**2


_NESTEROV = ZOO.index("Nesterov")


@functools.partial(jax.jit, static_argnames=("steps",))
def _race(lr, adaptive_lr, beta, b, angle, start, *, steps: int):
    # Turn the start with the bowl, so that the problem is the same one seen in turned axes.
    c, s = jnp.cos(angle), jnp.sin(angle)
    start = jnp.stack([c * start[0] - s * start[1], s * start[0] + c * start[1]])
    zoo = optimizer_zoo(lr, adaptive_lr, beta)
    out = race(lambda w: bowl(w, b, angle), list(zoo.values()), start, steps)
    # Nesterov's iterates in optax's form are the look-ahead points W + beta V: keep the book's W.
    book_w = nesterov_iterates(out.params[_NESTEROV], beta)
    book_loss = jax.vmap(lambda w: bowl(w, b, angle))(book_w)
    return Trajectory(out.params.at[_NESTEROV].set(book_w), out.loss.at[_NESTEROV].set(book_loss))


def race_cache_size() -> int:
    """How many times :func:`race_bowl`'s jitted scan has been compiled (no-recompile checks)."""
    return _race._cache_size()


class RaceResult(NamedTuple):
    """The seven methods of :data:`ZOO` on one bowl: their paths, losses and iteration counts."""

    names: tuple[str, ...]
    paths: np.ndarray  # (7, steps + 1, 2)
    losses: np.ndarray  # (7, steps + 1)
    counts: np.ndarray  # (7,) first k with L(w_k) < tol, -1 if never


def race_bowl(
    lr: float,
    adaptive_lr: float,
    beta: float,
    b: float = 4.0,
    angle: float = 0.0,
    *,
    start: tuple[float, float] = (30.0, 20.0),
    steps: int = 300,
    tol: float = 1e-6,
) -> RaceResult:
    r"""Race the seven methods of :func:`optimizer_zoo` on $x^2 + b\,y^2$ (:func:`bowl`),
    turned by ``angle`` radians together with ``start``: the same problem in turned axes, on
    which GD, momentum and Nesterov take the same (turned) steps (Aggarwal §3.5.2–3.5.3).

    One call of one jitted ``lax.scan``; ``lr``, ``adaptive_lr``, ``beta``, ``b`` and ``angle``
    are traced, so new values never recompile (only a new ``steps`` does). Nesterov's row holds
    the book's iterates $W$ (:func:`nesterov_iterates`), not optax's look-ahead points
    $W + \beta V$. Returns NumPy arrays (:class:`RaceResult`), ready to plot.
    """
    _validate.positive("lr", lr)
    _validate.positive("adaptive_lr", adaptive_lr)
    _check("beta", beta, 0.0, 1.0)
    _validate.positive("b", b)
    _validate.positive("tol", tol)
    steps = _validate.positive_int("steps", steps)
    f = jnp.result_type(float)
    out = _race(
        jnp.asarray(lr, f),
        jnp.asarray(adaptive_lr, f),
        jnp.asarray(beta, f),
        jnp.asarray(b, f),
        jnp.asarray(angle, f),
        jnp.asarray(start, f),
        steps=steps,
    )
    counts = steps_to_tolerance(out.loss, tol)
    return RaceResult(ZOO, np.asarray(out.params), np.asarray(out.loss), np.asarray(counts))
