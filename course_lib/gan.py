r"""Generative adversarial networks on 2-D toy data (Aggarwal §10.4).

A generator $G$ maps noise $z \sim N(0, I)$ to a sample $G(z)$; a discriminator $D$ maps a
sample to the probability $D(x) = \sigma(\ell(x))$ that it is real ($\ell$ is its logit). The
book's objectives on a minibatch of $m$ real points $R_m$ and $m$ noise vectors $N_m$
(§10.4.1) are

$$\max_D\; J_D = \sum_{X\in R_m}\log D(X) + \sum_{Z\in N_m}\log\big(1 - D(G(Z))\big),
\qquad \min_G\; J_G = \sum_{Z\in N_m}\log\big(1 - D(G(Z))\big),$$

a zero-sum game $\min_G\max_D J_D$ (Eq 10.19). Early in training $D$ rejects the fakes,
$D(G(z)) \approx 0$, where $\log(1 - \sigma(\ell))$ is flat: its derivative in the logit is
$-\sigma(\ell) \approx 0$ (*saturation*). The *non-saturating* generator maximizes
$\sum\log D(G(Z))$ instead, whose derivative $1 - \sigma(\ell) \approx 1$ there.

Here the losses are written as *means to minimize*:
``discriminator_loss`` $= -\frac1m\sum\log\sigma(\ell_{\text{real}}) - \frac1m\sum\log(1-\sigma(
\ell_{\text{fake}}))$, ``generator_loss`` $= \frac1m\sum\log(1-\sigma(\ell))$ (saturating) or
$-\frac1m\sum\log\sigma(\ell)$ (non-saturating), with $\log\sigma$ computed stably.

Training (§10.4.1) alternates $k$ ascent steps on $D$ (fresh real and fake minibatches each)
with one descent step on $G$ through the frozen $D$; both use Adam. The whole run is one
``lax.scan`` under ``jax.jit``; the learning rates and the loss choice are traced, so changing
them never recompiles. A *conditional* GAN (§10.4.4) feeds the mode label, one-hot, to both
networks. The data is a ring of Gaussians, where *mode collapse* is easy to see and to count
(:func:`mode_coverage`).
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

from course_lib import _validate, mlp, optim
from course_lib._types import Array, ArrayLike, PRNGKey

# ------------------------------------------------------------------------------ toy data


def ring_centres(modes: int = 8, radius: float = 2.0) -> Array:
    r"""The centres $r(\cos 2\pi j/K, \sin 2\pi j/K)$, $j = 0..K-1$, shape ``(modes, 2)``."""
    modes = _validate.positive_int("modes", modes)
    radius = _validate.positive("radius", _validate.real_scalar("radius", radius))
    angle = 2.0 * jnp.pi * jnp.arange(modes) / modes
    return radius * jnp.stack([jnp.cos(angle), jnp.sin(angle)], axis=1)


def ring_of_gaussians(
    *, key: PRNGKey, n: int, modes: int = 8, radius: float = 2.0, std: float = 0.1
) -> tuple[Array, Array]:
    r"""``n`` points from an equal mixture of ``modes`` Gaussians $N(c_j, \text{std}^2 I)$ whose
    centres $c_j$ lie on a circle (:func:`ring_centres`).

    Returns:
        ``(X, labels)``: ``X: (n, 2)`` the points, ``labels: (n,)`` int32 the mode of each.
    """
    _validate.prng_key("key", key)
    n = _validate.positive_int("n", n)
    centres = ring_centres(modes, radius)
    std = _validate.positive("std", _validate.real_scalar("std", std))
    return _ring(key, n, centres, std)


def _ring(key, n, centres, std):
    k1, k2 = jax.random.split(key)
    labels = jax.random.randint(k1, (n,), 0, centres.shape[0], dtype=jnp.int32)
    return centres[labels] + std * jax.random.normal(k2, (n, 2)), labels


def mode_coverage(
    samples: ArrayLike,
    centres: ArrayLike,
    std: float,
    *,
    within: float = 3.0,
    share: float = 0.25,
) -> tuple[int, float, Array]:
    r"""How many modes a set of generated samples covers, and how many samples are good.

    A sample is **high quality** if it lies within ``within`` standard deviations of some
    centre, $\min_j\|x - c_j\| \le \text{within}\cdot\text{std}$, and then belongs to that
    (nearest) mode. With $n$ samples and $K$ modes each mode's fair share is $n/K$; a mode is
    **covered** if at least ``share`` of its fair share, $\text{share}\cdot n/K$, of the samples
    land on it.

    Args:
        samples: ``(n, 2)``; centres: ``(K, 2)``.

    Returns:
        ``(covered, quality, counts)``: the number of covered modes (an int), the fraction of
        high-quality samples (a float), and ``counts: (K,)`` int32 samples per mode.
    """
    X = _validate.float_array("samples", samples, ndim=2)
    C = _validate.float_array("centres", centres, ndim=2)
    if X.shape[1] != C.shape[1]:
        raise ValueError(
            f"`samples` and `centres` must have the same number of columns, got {X.shape[1]} "
            f"and {C.shape[1]}."
        )
    _validate.nonempty("samples", X)
    std = _validate.positive("std", _validate.real_scalar("std", std))
    within = _validate.positive("within", _validate.real_scalar("within", within))
    share = _validate.positive("share", _validate.real_scalar("share", share))
    counts = _mode_counts(X, C, std * within)
    need = share * X.shape[0] / C.shape[0]
    covered = int(jnp.sum(counts >= need))
    return covered, float(jnp.sum(counts) / X.shape[0]), counts


@jax.jit
def _mode_counts(X, C, reach):
    d2 = jnp.sum((X[:, None, :] - C[None, :, :]) ** 2, axis=-1)  # (n, K)
    nearest = jnp.argmin(d2, axis=1)
    good = jnp.min(d2, axis=1) <= reach**2
    onehot = jax.nn.one_hot(nearest, C.shape[0], dtype=jnp.int32) * good[:, None]
    return jnp.sum(onehot, axis=0)


# ------------------------------------------------------------------------------ losses


def discriminator_loss(real_logits: ArrayLike, fake_logits: ArrayLike) -> Array:
    r"""$-\frac1m\sum\log\sigma(\ell_r) - \frac1m\sum\log(1 - \sigma(\ell_f))$: the negative of
    the book's $J_D$ per example (Aggarwal §10.4.1), to be *minimized* by $D$.

    Args:
        real_logits: ``(m,)`` $D$'s logits on real samples; fake_logits: ``(m',)`` on fakes.
    """
    real = _validate.float_array("real_logits", real_logits, ndim=1)
    fake = _validate.float_array("fake_logits", fake_logits, ndim=1)
    return _d_loss(real, fake)


def _d_loss(real, fake):
    # log(1 - sigmoid(l)) = log_sigmoid(-l), stable for large |l|
    return -jnp.mean(jax.nn.log_sigmoid(real)) - jnp.mean(jax.nn.log_sigmoid(-fake))


def generator_loss(fake_logits: ArrayLike, *, non_saturating: bool | ArrayLike = True) -> Array:
    r"""The generator's loss on $D$'s logits $\ell$ of its fakes, to be minimized (§10.4.1):

    - saturating (the minimax game): $\frac1m\sum\log(1 - \sigma(\ell))$, derivative
      $-\sigma(\ell)/m$ per logit, vanishing when $D$ rejects the fakes ($\ell \ll 0$);
    - non-saturating: $-\frac1m\sum\log\sigma(\ell)$, derivative $-(1 - \sigma(\ell))/m$.

    ``non_saturating`` may be a traced boolean (chosen with ``jnp.where``).

    Args:
        fake_logits: ``(m,)``.
    """
    fake = _validate.float_array("fake_logits", fake_logits, ndim=1)
    return _g_loss(fake, non_saturating)


def _g_loss(fake, non_saturating):
    saturating = jnp.mean(jax.nn.log_sigmoid(-fake))
    nonsat = -jnp.mean(jax.nn.log_sigmoid(fake))
    return jnp.where(non_saturating, nonsat, saturating)


def optimal_discriminator(p_data: ArrayLike, p_gen: ArrayLike) -> Array:
    r"""$D^*(x) = p_d(x) / (p_d(x) + p_g(x))$: the best discriminator against a fixed generator
    (the pointwise maximizer of $p_d\log D + p_g\log(1-D)$), from the two densities at the same
    points (any shape; 1/2 where both vanish)."""
    pd = _validate.float_array("p_data", p_data)
    pg = _validate.float_array("p_gen", p_gen)
    if pd.shape != pg.shape:
        raise ValueError(
            f"`p_data` and `p_gen` must have the same shape, got {tuple(pd.shape)} and "
            f"{tuple(pg.shape)}."
        )
    total = pd + pg
    return jnp.where(total > 0, pd / jnp.where(total > 0, total, 1.0), 0.5)


# ------------------------------------------------------------------------------ networks


class GAN(NamedTuple):
    """The two players: ``gen`` and ``disc`` are :func:`course_lib.mlp.init` layer tuples."""

    gen: tuple
    disc: tuple


def init(
    *, key: PRNGKey, noise_dim: int = 2, hidden: int = 32, n_labels: int = 0, dim: int = 2
) -> GAN:
    r"""Two ReLU MLPs with two hidden layers of ``hidden`` units (He initialization):
    $G: \mathbb R^{\text{noise\_dim} + L} \to \mathbb R^{\text{dim}}$ and
    $D: \mathbb R^{\text{dim} + L} \to \mathbb R$ (one logit), where $L$ = ``n_labels`` is the
    size of the one-hot condition of a conditional GAN (0: unconditional)."""
    _validate.prng_key("key", key)
    noise_dim = _validate.positive_int("noise_dim", noise_dim)
    hidden = _validate.positive_int("hidden", hidden)
    dim = _validate.positive_int("dim", dim)
    if not isinstance(n_labels, int) or n_labels < 0:
        raise ValueError(f"`n_labels` must be an int >= 0, got {n_labels!r}.")
    return _init(key, noise_dim, hidden, n_labels, dim)


def _net(params, X):
    return mlp.forward_cache(params, X, "relu").pre[-1]


def generate(gen: tuple, z: ArrayLike, onehot: ArrayLike | None = None) -> Array:
    r"""$G(z)$ (or $G(z, c)$ with a one-hot condition ``onehot: (n, L)``) for ``z: (n, q)``;
    returns ``(n, dim)``."""
    z = _validate.float_array("z", z, ndim=2)
    if onehot is not None:
        onehot = _validate.float_array("onehot", onehot, ndim=2)
        _validate.same_rows("z", z, "onehot", onehot)
        z = jnp.concatenate([z, onehot], axis=1)
    if z.shape[1] != gen[0].W.shape[0]:
        raise ValueError(
            f"the generator takes {gen[0].W.shape[0]} inputs (noise + condition), got {z.shape[1]}."
        )
    return _net(gen, z)


def discriminate(disc: tuple, X: ArrayLike, onehot: ArrayLike | None = None) -> Array:
    r"""$D$'s logits $\ell(x)$, shape ``(n,)``, for ``X: (n, dim)`` (and the condition)."""
    X = _validate.float_array("X", X, ndim=2)
    if onehot is not None:
        onehot = _validate.float_array("onehot", onehot, ndim=2)
        _validate.same_rows("X", X, "onehot", onehot)
        X = jnp.concatenate([X, onehot], axis=1)
    if X.shape[1] != disc[0].W.shape[0]:
        raise ValueError(
            f"the discriminator takes {disc[0].W.shape[0]} inputs (sample + condition), got "
            f"{X.shape[1]}."
        )
    return _net(disc, X)[:, 0]


def book_objectives(gan: GAN, real: Array, z: Array) -> tuple[Array, Array]:
    r"""The book's sums $(J_D, J_G)$ on real points ``real: (m, dim)`` and noise ``z: (m, q)``
    (unconditional; §10.4.1). $J_D - J_G = \sum\log D(X_{\text{real}})$ does not depend on $G$:
    the game is zero-sum."""
    fake = _net(gan.gen, z)
    real_logits = _net(gan.disc, real)[:, 0]
    fake_logits = _net(gan.disc, fake)[:, 0]
    j_g = jnp.sum(jax.nn.log_sigmoid(-fake_logits))
    return jnp.sum(jax.nn.log_sigmoid(real_logits)) + j_g, j_g


# ------------------------------------------------------------------------------ training


class Hyper(NamedTuple):
    """Traced hyperparameters: moving them never recompiles."""

    lr_d: Array
    lr_g: Array
    non_saturating: Array  # bool
    conditional: Array  # bool: feed the one-hot label (True) or zeros (False)


class TrainState(NamedTuple):
    gan: GAN
    opt_d: tuple
    opt_g: tuple


class Run(NamedTuple):
    """What :func:`train` returns (with a leading run axis when several keys are given).

    ``snapshots: (S + 1, n_show, 2)`` the generator's samples of fixed noise after
    ``snap_steps[s]`` iterations (the first at the start); ``snap_labels: (n_show,)`` the
    condition of each shown sample (mode ``i % K``; ignored by an unconditional GAN);
    ``d_loss, g_loss: (steps,)`` the losses at each iteration; ``gan`` the final networks;
    ``grid_logits: (61, 61)`` the final $D$'s logits on :data:`GRID` (with a zero condition).
    """

    gan: GAN
    snapshots: Array
    snap_labels: Array
    snap_steps: Array
    d_loss: Array
    g_loss: Array
    grid_logits: Array


#: the plot window of the ring (radius 2): a square of side 6 centred at 0, and a grid on it
EXTENT = 3.0
_GRID_N = 61
GRID = jnp.stack(
    jnp.meshgrid(jnp.linspace(-EXTENT, EXTENT, _GRID_N), jnp.linspace(-EXTENT, EXTENT, _GRID_N)),
    axis=-1,
).reshape(-1, 2)


def _adam():
    # the learning rate is applied outside, so that it can be a traced value
    return optim.scale_by_adam(b1=0.5, b2=0.999)


def _cat(x, c):
    return jnp.concatenate([x, c], axis=1)


def _step(state, key, hp, centres, std, *, k, batch, noise_dim):
    """k discriminator steps, then one generator step (Aggarwal §10.4.1)."""
    adam = _adam()
    n_modes = centres.shape[0]

    def cond(labels):  # one-hot condition, or zeros for an unconditional GAN
        return jax.nn.one_hot(labels, n_modes) * hp.conditional

    def d_step(carry, key_i):
        gan, opt_d = carry
        k_data, k_z = jax.random.split(key_i)
        real, labels = _ring(k_data, batch, centres, std)
        c = cond(labels)
        z = jax.random.normal(k_z, (batch, noise_dim))
        fake = _net(gan.gen, _cat(z, c))  # the fakes share the real batch's labels

        def loss(disc):
            return _d_loss(_net(disc, _cat(real, c))[:, 0], _net(disc, _cat(fake, c))[:, 0])

        value, grads = jax.value_and_grad(loss)(gan.disc)
        upd, opt_d = adam.update(grads, opt_d)
        disc = jax.tree.map(lambda p, u: p - hp.lr_d * u, gan.disc, upd)
        return (GAN(gan.gen, disc), opt_d), value

    keys = jax.random.split(key, k + 1)
    carry = (state.gan, state.opt_d)
    for i in range(k):  # k is small (the book: k < 5) and static: unrolled, no inner scan
        carry, d_value = d_step(carry, keys[i])
    gan, opt_d = carry
    k_lab, k_z = jax.random.split(keys[k])
    c = cond(jax.random.randint(k_lab, (batch,), 0, n_modes))
    z = jax.random.normal(k_z, (batch, noise_dim))

    def g_loss(gen):
        return _g_loss(_net(gan.disc, _cat(_net(gen, _cat(z, c)), c))[:, 0], hp.non_saturating)

    value, grads = jax.value_and_grad(g_loss)(gan.gen)
    upd, opt_g = adam.update(grads, state.opt_g)
    gen = jax.tree.map(lambda p, u: p - hp.lr_g * u, gan.gen, upd)
    return TrainState(GAN(gen, gan.disc), opt_d, opt_g), (d_value, value)


@jax.jit
def generator_step(gan: GAN, opt_g: tuple, z: Array, lr_g: ArrayLike, non_saturating=True):
    r"""One Adam step on $G$'s parameters only, through the frozen $D$ (an unconditional GAN;
    step 2 of the algorithm in §10.4.1); returns ``(gan, opt_g)`` with ``opt_g`` from
    ``optim.scale_by_adam(b1=0.5).init(gan.gen)``. $D$'s parameters come back unchanged."""
    adam = _adam()

    def g_loss(gen):
        return _g_loss(_net(gan.disc, _net(gen, z))[:, 0], non_saturating)

    upd, opt_g = adam.update(jax.grad(g_loss)(gan.gen), opt_g)
    gen = jax.tree.map(lambda p, u: p - lr_g * u, gan.gen, upd)
    return GAN(gen, gan.disc), opt_g


_STATIC = ("steps", "k", "batch", "noise_dim", "hidden", "n_snaps", "n_show")


def _train_one(key, hp, centres, std, *, steps, k, batch, noise_dim, hidden, n_snaps, n_show):
    k_init, k_show, k_run = jax.random.split(key, 3)
    n_modes, dim = centres.shape
    gan = _init(k_init, noise_dim, hidden, n_modes, dim)
    adam = _adam()
    state = TrainState(gan, adam.init(gan.disc), adam.init(gan.gen))
    show_labels = jnp.arange(n_show) % n_modes
    c_show = jax.nn.one_hot(show_labels, n_modes) * hp.conditional
    z_show = _cat(jax.random.normal(k_show, (n_show, noise_dim)), c_show)
    every = steps // n_snaps

    def chunk(state, keys):
        state, losses = jax.lax.scan(
            lambda s, kk: _step(s, kk, hp, centres, std, k=k, batch=batch, noise_dim=noise_dim),
            state,
            keys,
        )
        return state, (_net(state.gan.gen, z_show), losses)

    keys = jax.random.split(k_run, n_snaps * every).reshape(n_snaps, every)
    first = _net(gan.gen, z_show)
    state, (snaps, (d_loss, g_loss)) = jax.lax.scan(chunk, state, keys)
    zeros = jnp.zeros((GRID.shape[0], n_modes))
    grid_logits = _net(state.gan.disc, _cat(GRID, zeros))[:, 0].reshape(_GRID_N, _GRID_N)
    return Run(
        state.gan,
        jnp.concatenate([first[None], snaps], axis=0),
        show_labels,
        jnp.arange(n_snaps + 1) * every,
        d_loss.reshape(-1),
        g_loss.reshape(-1),
        grid_logits,
    )


def _init(key, noise_dim, hidden, n_labels, dim):
    kg, kd = jax.random.split(key)
    return GAN(
        mlp.init((noise_dim + n_labels, hidden, hidden, dim), key=kg, scheme="he"),
        mlp.init((dim + n_labels, hidden, hidden, 1), key=kd, scheme="he"),
    )


@functools.partial(jax.jit, static_argnames=_STATIC)
def _train_many(keys, hp, centres, std, **kw):
    return jax.vmap(lambda kk, h: _train_one(kk, h, centres, std, **kw))(keys, hp)


def train(
    *,
    key: PRNGKey,
    steps: int = 1500,
    k: int = 1,
    lr_d: ArrayLike = 1e-3,
    lr_g: ArrayLike = 1e-3,
    non_saturating: ArrayLike = True,
    conditional: ArrayLike = False,
    batch: int = 64,
    noise_dim: int = 2,
    hidden: int = 32,
    modes: int = 8,
    radius: float = 2.0,
    std: float = 0.1,
    n_snaps: int = 30,
    n_show: int = 512,
) -> Run:
    r"""Train GANs (or, with ``conditional``, cGANs on the mode label) on a ring of Gaussians.

    Each of ``steps`` iterations makes ``k`` Adam steps on $D$ (minibatches of ``batch`` real
    and ``batch`` fake points) and one on $G$ (``batch`` noise vectors), as in Aggarwal §10.4.1;
    Adam uses $\beta_1 = 0.5$, as is usual for GANs. Both networks always have an input for
    the one-hot label; an unconditional GAN feeds it zeros (which changes nothing: a zero input
    adds nothing and its weights get no gradient), so that GANs and cGANs share one compiled
    function. Everything is one jitted ``lax.scan``; ``lr_d``, ``lr_g``, ``non_saturating``
    and ``conditional`` are traced (no recompile), the sizes static.

    ``key`` is one key or a batch ``(s,)`` of keys; every hyperparameter is a scalar or an
    array of shape ``(s,)``: the ``s`` runs are made at once (``jax.vmap``), and every field of
    the returned :class:`Run` gets a leading axis ``s`` (none for a single key). ``steps``
    must be a multiple of ``n_snaps``: the generator's samples of ``n_show`` fixed noise
    vectors are stored every ``steps / n_snaps`` iterations (and at the start).
    """
    _validate.prng_key("key", key)
    if not jnp.issubdtype(key.dtype, jax.dtypes.prng_key) or key.ndim > 1:
        raise TypeError(
            "`key` must be one key jax.random.key(s) or a batch of them, shape (s,), got "
            f"shape {tuple(key.shape)} and dtype {key.dtype}."
        )
    steps = _validate.positive_int("steps", steps)
    n_snaps = _validate.positive_int("n_snaps", n_snaps)
    if steps % n_snaps:
        raise ValueError(f"`steps` ({steps}) must be a multiple of `n_snaps` ({n_snaps}).")
    sizes = {
        name: _validate.positive_int(name, value)
        for name, value in (("k", k), ("batch", batch), ("noise_dim", noise_dim),
                            ("hidden", hidden), ("n_show", n_show))
    }  # fmt: skip
    s = 1 if key.ndim == 0 else key.shape[0]
    hp = []
    for name, value, kind in (
        ("lr_d", lr_d, float),
        ("lr_g", lr_g, float),
        ("non_saturating", non_saturating, bool),
        ("conditional", conditional, bool),
    ):
        arr = jnp.asarray(value)
        if kind is bool and arr.dtype != jnp.bool_:
            raise TypeError(f"`{name}` must be True/False (or a boolean array), got {value!r}.")
        if kind is float:
            arr = _validate.float_array(name, value, ndim=(0, 1)).astype(jnp.float32)
            if not _validate.is_traced(arr) and not bool(jnp.all(arr > 0)):
                raise ValueError(f"`{name}` must be > 0, got {value!r}.")
        if arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] != s):
            raise ValueError(
                f"`{name}` must be a scalar or have shape ({s},) like `key`, got shape "
                f"{tuple(arr.shape)}."
            )
        hp.append(jnp.broadcast_to(arr, (s,)))
    centres = ring_centres(modes, radius)
    std = _validate.positive("std", _validate.real_scalar("std", std))
    keys = key[None] if key.ndim == 0 else key
    run = _train_many(keys, Hyper(*hp), centres, jnp.float32(std), steps=steps,
                      n_snaps=n_snaps, **sizes)  # fmt: skip
    return jax.tree.map(lambda a: a[0], run) if key.ndim == 0 else run


def train_cache_size() -> int:
    """How many versions of the jitted training function exist (tests and widgets read it)."""
    return _train_many._cache_size()


def saturation_ratio(logit: float) -> float:
    r"""$\big|\tfrac{d}{d\ell}\log\sigma(\ell)\big| / \big|\tfrac{d}{d\ell}\log(1-\sigma(\ell))\big|
    = (1 - \sigma(\ell))/\sigma(\ell) = e^{-\ell}$: how much larger the non-saturating
    generator's gradient is at logit $\ell$ (about 403 at $\ell = -6$)."""
    return math.exp(-_validate.real_scalar("logit", logit))


# ------------------------------------------------------------------------------ 1-D D*


def fit_quadratic_discriminator(
    real: ArrayLike, fake: ArrayLike, *, steps: int = 2000, lr: float = 0.1
) -> Array:
    r"""Train a logistic discriminator $D(x) = \sigma(w_0 + w_1 x + w_2 x^2)$ on 1-D samples by
    full-batch gradient descent on :func:`discriminator_loss`; returns ``w: (3,)``.

    For two Gaussian densities $\log(p_d/p_g)$ is quadratic in $x$, so this family contains
    $D^* = p_d/(p_d+p_g)$ (:func:`optimal_discriminator`), and with many samples the trained
    $D$ approaches it. Inputs are standardized internally (the returned $w$ is for raw $x$).
    """
    r = _validate.float_array("real", real, ndim=1)
    f = _validate.float_array("fake", fake, ndim=1)
    steps = _validate.positive_int("steps", steps)
    lr = _validate.positive("lr", _validate.real_scalar("lr", lr))
    return _fit_quad(r, f, jnp.asarray(lr, r.dtype), steps)


@functools.partial(jax.jit, static_argnums=3)
def _fit_quad(r, f, lr, steps):
    both = jnp.concatenate([r, f])
    mu, sd = jnp.mean(both), jnp.std(both)

    def feats(x):
        s = (x - mu) / sd
        return jnp.stack([jnp.ones_like(s), s, s * s - 1.0], axis=1)

    Fr, Ff = feats(r), feats(f)

    def loss(v):
        return _d_loss(Fr @ v, Ff @ v)

    v = jax.lax.fori_loop(0, steps, lambda _, v: v - lr * jax.grad(loss)(v), jnp.zeros(3, r.dtype))
    # back to raw x: s = (x - mu)/sd; v0 + v1 s + v2 (s^2 - 1)
    w2 = v[2] / sd**2
    w1 = v[1] / sd - 2.0 * v[2] * mu / sd**2
    w0 = v[0] - v[1] * mu / sd + v[2] * (mu**2 / sd**2 - 1.0)
    return jnp.stack([w0, w1, w2])


def quadratic_discriminator(w: ArrayLike, x: ArrayLike) -> Array:
    r"""$\sigma(w_0 + w_1 x + w_2 x^2)$ for ``w: (3,)`` and any ``x``."""
    w = _validate.float_array("w", w, ndim=1)
    if w.shape != (3,):
        raise ValueError(f"`w` must have shape (3,), got {tuple(w.shape)}.")
    x = _validate.float_array("x", x)
    return jax.nn.sigmoid(w[0] + w[1] * x + w[2] * x * x)
