r"""word2vec: CBOW, skip-gram with a softmax, and skip-gram with negative sampling (Aggarwal §2.6).

Every word $j$ of a vocabulary of size $d$ has two $p$-dimensional embeddings: an *input*
embedding $\bar u_j$ (row $j$ of ``U``) and an *output* embedding $\bar v_j$ (row $j$ of ``V``;
the book stores these as the columns of a $p\times d$ matrix, here they are rows so that a
lookup is ``V[j]``).

- **CBOW** (§2.6.1) sums the input embeddings of the $m = 2t$ context words,
  $\bar h = \sum_i \bar u_{w_i}$, and predicts the centre word with a softmax over
  $\bar h\cdot\bar v_j$ (Eq 2.46–2.49).
- **Skip-gram** (§2.6.2) does the reverse: $\bar h = \bar u_r$ for the centre word $r$ predicts
  each of its $m$ context words with the same softmax (Eq 2.51–2.53).
- **SGNS** (§2.6.2, Eq 2.55–2.56) replaces the softmax by $k+1$ logistic questions: for the
  true pair $(r, c)$, $\sigma(\bar u_r\cdot\bar v_c)$ should be 1, and for $k$ "negative"
  words drawn from the unigram distribution raised to the power 3/4, $\sigma(\bar u_r\cdot\bar v_n)$
  should be 0. Summed over a corpus, this is logistic matrix factorization of the
  co-occurrence counts (§2.6.3, :func:`sgns_count_matrices`).

The hand-written updates (``*_update``) follow the book's $\epsilon = y - \hat y$ form; the tests
check each against ``jax.grad``. Training runs minibatches of ``(centre, context, negatives)``
through one jitted function per epoch; the learning rate is traced.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from course_lib import _validate, data, optim
from course_lib._types import Array, ArrayLike, PRNGKey
from course_lib.autoencoders import logistic_mf_loss

# ------------------------------------------------------------------------------ text to ids


def tokenize(text: str) -> list[str]:
    """Lower-case words made of letters only (digits, punctuation and code symbols are dropped)."""
    if not isinstance(text, str):
        raise TypeError(f"`text` must be a str, got {type(text).__name__}.")
    return re.findall(r"[a-z]+", text.lower())


class Vocabulary(NamedTuple):
    """The words kept for training, most frequent first.

    Attributes:
        words: the words, a tuple of str (id ``j`` is ``words[j]``).
        counts: ``(d,)`` int32, how often each word occurs in the corpus.
        index: word -> id.
    """

    words: tuple[str, ...]
    counts: Array
    index: dict[str, int]

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, tokens: Sequence[str]) -> Array:
        """The ids of ``tokens``, dropping words not in the vocabulary; ``(n,)`` int32."""
        return jnp.asarray([self.index[w] for w in tokens if w in self.index], dtype=jnp.int32)


def build_vocabulary(
    tokens: Sequence[str], *, min_count: int = 1, max_size: int | None = None
) -> Vocabulary:
    """Count the words, drop the rare ones (fewer than ``min_count``), keep the ``max_size`` most
    frequent (ties in alphabetical order, so the result is deterministic)."""
    if isinstance(tokens, str):
        raise TypeError("`tokens` must be a list of words, got a str (call tokenize(text) first).")
    min_count = _validate.positive_int("min_count", min_count)
    counts = Counter(tokens)
    kept = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
    if max_size is not None:
        kept = kept[: _validate.positive_int("max_size", max_size)]
    if not kept:
        raise ValueError(f"no word occurs at least min_count={min_count} times.")
    return Vocabulary(
        tuple(kept),
        jnp.asarray([counts[w] for w in kept], dtype=jnp.int32),
        {w: i for i, w in enumerate(kept)},
    )


def subsample(ids: ArrayLike, counts: ArrayLike, *, key: PRNGKey, t: float = 1e-3) -> Array:
    r"""Drop occurrences of very frequent words at random (Mikolov et al.; Aggarwal §2.6.2).

    An occurrence of word $j$, of relative frequency $f_j$, is kept with probability
    $\min\{1, \sqrt{t/f_j} + t/f_j\}$: "the" loses most of its occurrences, rare words none.

    Returns:
        the kept ids, in order (a shorter ``(n',)`` int32 array).
    """
    _validate.prng_key("key", key)
    counts = _validate.float_array("counts", counts, ndim=1)
    ids = _validate.index_array("ids", ids, size=counts.shape[0], ndim=1)
    _validate.positive("t", t)
    return ids[np.asarray(_keep_mask(key, ids, counts, jnp.asarray(t, counts.dtype)))]


@jax.jit
def _keep_mask(key, ids, counts, t):
    f = counts / jnp.sum(counts)
    keep_p = jnp.minimum(1.0, jnp.sqrt(t / f) + t / f)
    return jax.random.uniform(key, ids.shape) < keep_p[ids]


def context_pairs(ids: ArrayLike, window: int) -> tuple[Array, Array]:
    r"""All (centre, context) pairs with the context at most ``window`` = $t$ positions away.

    Returns:
        ``(centres: (P,), contexts: (P,))`` int32, ordered by offset $-t..-1, 1..t$.
    """
    ids = np.asarray(_validate.index_array("ids", ids, ndim=1))
    window = _validate.positive_int("window", window)
    centres, contexts = [], []
    for off in [*range(-window, 0), *range(1, window + 1)]:
        lo, hi = max(0, -off), min(len(ids), len(ids) - off)
        centres.append(ids[lo:hi])
        contexts.append(ids[lo + off : hi + off])
    return jnp.asarray(np.concatenate(centres)), jnp.asarray(np.concatenate(contexts))


def cbow_windows(ids: ArrayLike, window: int) -> tuple[Array, Array]:
    r"""CBOW examples: the $m = 2t$ context words around every position that has a full window.

    Returns:
        ``(contexts: (n - 2t, 2t), targets: (n - 2t,))`` int32.
    """
    ids = np.asarray(_validate.index_array("ids", ids, ndim=1))
    window = _validate.positive_int("window", window)
    n = len(ids) - 2 * window
    if n < 1:
        raise ValueError(f"the corpus ({len(ids)} words) is shorter than one window.")
    offs = [*range(-window, 0), *range(1, window + 1)]
    ctx = np.stack([ids[window + o : window + o + n] for o in offs], axis=1)
    return jnp.asarray(ctx), jnp.asarray(ids[window : window + n])


# ------------------------------------------------------------------------------ parameters


class Embeddings(NamedTuple):
    """Input embeddings ``U: (d, p)`` (rows $\\bar u_j$) and output embeddings ``V: (d, p)``."""

    U: Array
    V: Array


def init(*, key: PRNGKey, vocab_size: int, dim: int) -> Embeddings:
    r"""word2vec's initialization: $U$ uniform in $[-\tfrac{1}{2p}, \tfrac{1}{2p}]$, $V = 0$."""
    _validate.prng_key("key", key)
    vocab_size = _validate.positive_int("vocab_size", vocab_size)
    dim = _validate.positive_int("dim", dim)
    return _init(key, vocab_size, dim)


@functools.partial(jax.jit, static_argnums=(1, 2))
def _init(key, vocab_size, dim):
    U = jax.random.uniform(key, (vocab_size, dim), minval=-0.5 / dim, maxval=0.5 / dim)
    return Embeddings(U, jnp.zeros((vocab_size, dim), U.dtype))


# ------------------------------------------------------------------------------ CBOW and skip-gram


def _ids(name: str, ids: Any, params: Embeddings) -> Array:
    """Word ids checked against the vocabulary of ``params`` (dtype always, range when concrete).

    JAX clamps an out-of-range gather and drops an out-of-range scatter, so an id of 99 in a
    vocabulary of 5, or -7, would give a finite, wrong loss or update without a word.
    """
    try:
        size = int(jnp.shape(params[0])[0])  # the rows of U: one per word
    except (TypeError, IndexError):
        raise TypeError(
            f"`params` must be word2vec Embeddings(U, V), got {type(params).__name__}."
        ) from None
    return _validate.index_array(name, ids, size=size)


def cbow_loss(params: Embeddings, context: Array, target: Array) -> Array:
    r"""CBOW's loss for one window: $-\log\hat y_r$ with $\hat y = \mathrm{softmax}(V\bar h)$ and
    $\bar h = \sum_{i=1}^m \bar u_{w_i}$ (Eq 2.46–2.49).

    Args:
        params: :class:`Embeddings`.
        context: ``(m,)`` int, the context word ids; target: ``()`` int, the centre word $r$.
    """
    context, target = _ids("context", context, params), _ids("target", target, params)
    h = jnp.sum(params.U[context], axis=0)  # (p,)
    return -jax.nn.log_softmax(params.V @ h)[target]


def cbow_update(params: Embeddings, context: Array, target: Array, lr: ArrayLike) -> Embeddings:
    r"""The book's CBOW update for one window (§2.6.1, Eq 2.50), written by hand.

    With $\epsilon_j = y_j - \hat y_j$ (one-hot minus softmax):
    $\bar u_i \leftarrow \bar u_i + \alpha\sum_j \epsilon_j\bar v_j$ for every context word $i$
    (a word twice in the window is updated twice) and
    $\bar v_j \leftarrow \bar v_j + \alpha\,\epsilon_j\,\bar h$ for every $j$.
    """
    context, target = _ids("context", context, params), _ids("target", target, params)
    _validate.positive("lr", lr)
    h = jnp.sum(params.U[context], axis=0)  # (p,)
    eps = jax.nn.one_hot(target, params.V.shape[0], dtype=h.dtype) - jax.nn.softmax(params.V @ h)
    U = params.U.at[context].add(lr * (eps @ params.V)[None, :])
    V = params.V + lr * eps[:, None] * h[None, :]
    return Embeddings(U, V)


def skipgram_loss(params: Embeddings, centre: Array, contexts: Array) -> Array:
    r"""Skip-gram's loss for one centre word: $-\sum_{i=1}^m \log\hat y_{c_i}$ with
    $\hat y = \mathrm{softmax}(V\bar u_r)$ (Eq 2.51–2.53).

    Args:
        centre: ``()`` int, the word $r$; contexts: ``(m,)`` int, the words around it.
    """
    centre, contexts = _ids("centre", centre, params), _ids("contexts", contexts, params)
    logp = jax.nn.log_softmax(params.V @ params.U[centre])
    return -jnp.sum(logp[contexts])


def skipgram_update(
    params: Embeddings, centre: Array, contexts: Array, lr: ArrayLike
) -> Embeddings:
    r"""The book's skip-gram update for one centre word (§2.6.2, Eq 2.54), written by hand.

    With $\epsilon_{ij} = y_{ij} - \hat y_j$ and $E_j = \sum_i \epsilon_{ij}$:
    $\bar u_r \leftarrow \bar u_r + \alpha\sum_j E_j\bar v_j$ (only the centre word) and
    $\bar v_j \leftarrow \bar v_j + \alpha E_j \bar h$ for every $j$, with $\bar h = \bar u_r$.
    """
    centre, contexts = _ids("centre", centre, params), _ids("contexts", contexts, params)
    _validate.positive("lr", lr)
    h = params.U[centre]
    d = params.V.shape[0]
    y = jnp.sum(jax.nn.one_hot(contexts, d, dtype=h.dtype), axis=0)  # (d,) counts
    E = y - contexts.shape[0] * jax.nn.softmax(params.V @ h)
    return Embeddings(
        params.U.at[centre].add(lr * (E @ params.V)), params.V + lr * E[:, None] * h[None, :]
    )


# ------------------------------------------------------------------------------ SGNS


def sgns_loss(params: Embeddings, centre: Array, context: Array, negatives: Array) -> Array:
    r"""SGNS for one positive pair and its $k$ negatives (Eq 2.55–2.56):

    $$ O = -\log\sigma(\bar u_r\cdot\bar v_c)
           - \sum_{n=1}^k \log\sigma(-\bar u_r\cdot\bar v_{w_n}). $$

    Args:
        centre, context: ``()`` int; negatives: ``(k,)`` int.
    """
    centre, context = _ids("centre", centre, params), _ids("context", context, params)
    negatives = _ids("negatives", negatives, params)
    u = params.U[centre]
    return -jax.nn.log_sigmoid(params.V[context] @ u) - jnp.sum(
        jax.nn.log_sigmoid(-(params.V[negatives] @ u))
    )


def sgns_grads(u: Array, v_pos: Array, v_neg: Array) -> tuple[Array, Array, Array]:
    r"""The SGNS gradient for one example, as "positive and negative mistakes" (§2.6.3).

    The positive mistake is $P(\text{wrongly } 0) = 1 - \sigma(u\cdot v_c)$, each negative
    mistake is $P(\text{wrongly } 1) = \sigma(u\cdot v_n)$:

    $\partial O/\partial u = -(1-\sigma(u\cdot v_c))\,v_c + \sum_n \sigma(u\cdot v_n)\,v_n$,
    $\partial O/\partial v_c = -(1-\sigma(u\cdot v_c))\,u$,
    $\partial O/\partial v_n = \sigma(u\cdot v_n)\,u$.

    Works batched: ``u: (..., p)``, ``v_pos: (..., p)``, ``v_neg: (..., k, p)``.

    Returns:
        ``(g_u: (..., p), g_pos: (..., p), g_neg: (..., k, p))``.
    """
    pos_mistake = jax.nn.sigmoid(-jnp.sum(u * v_pos, axis=-1))  # (...,)
    neg_mistake = jax.nn.sigmoid(jnp.einsum("...kp,...p->...k", v_neg, u))  # (..., k)
    g_u = -pos_mistake[..., None] * v_pos + jnp.einsum("...k,...kp->...p", neg_mistake, v_neg)
    g_pos = -pos_mistake[..., None] * u
    g_neg = neg_mistake[..., None] * u[..., None, :]
    return g_u, g_pos, g_neg


def sgns_update(
    params: Embeddings, centres: Array, contexts: Array, negatives: Array, lr: ArrayLike
) -> Embeddings:
    r"""One SGD step on a minibatch of SGNS examples, from :func:`sgns_grads`.

    All gradients are taken at the old parameters and scatter-added (a word seen twice in the
    batch gets both contributions), so this is exactly
    ``params - lr * jax.grad(batch_sgns_loss)(params, ...)``.

    Args:
        centres, contexts: ``(B,)`` int; negatives: ``(B, k)`` int.
    """
    centres, contexts = _ids("centres", centres, params), _ids("contexts", contexts, params)
    negatives = _ids("negatives", negatives, params)
    _validate.positive("lr", lr)
    U, V = params
    g_u, g_pos, g_neg = sgns_grads(U[centres], V[contexts], V[negatives])
    U = U.at[centres].add(-lr * g_u)
    V = V.at[contexts].add(-lr * g_pos).at[negatives].add(-lr * g_neg)
    return Embeddings(U, V)


def batch_sgns_loss(params: Embeddings, centres: Array, contexts: Array, negatives: Array) -> Array:
    """The SGNS objective (Eq 2.55) summed over a minibatch: ``(B,)``, ``(B,)``, ``(B, k)`` ids."""
    centres, contexts = _ids("centres", centres, params), _ids("contexts", contexts, params)
    negatives = _ids("negatives", negatives, params)
    return jnp.sum(
        jax.vmap(sgns_loss, in_axes=(None, 0, 0, 0))(params, centres, contexts, negatives)
    )


def negative_distribution(counts: ArrayLike, power: ArrayLike = 0.75) -> Array:
    r"""The noise distribution of SGNS: $q_j = f_j^{3/4} / \sum_l f_l^{3/4}$ (§2.6.2).

    ``power`` may be traced (1 gives the unigram distribution, 0 the uniform one).
    """
    counts = _validate.float_array("counts", counts, ndim=1)
    if not _validate.is_traced(counts) and bool(jnp.any(counts < 0)):
        raise ValueError("`counts` must be non-negative.")
    return _normalized_power(counts, power)


@jax.jit
def _normalized_power(counts, power):
    w = counts**power
    return w / jnp.sum(w)


@functools.partial(jax.jit, static_argnames="shape")
def sample_negatives(probs: Array, shape: tuple[int, ...], *, key: PRNGKey) -> Array:
    r"""Draw word ids with probabilities ``probs: (d,)`` by inverting the CDF (one search per draw).

    Args:
        probs: ``(d,)`` probabilities (need not be normalized).
        shape: the shape of the draw (static).
        key: a JAX random key.

    Returns:
        int32 ids of the given ``shape``.
    """
    cdf = jnp.cumsum(probs)
    u = jax.random.uniform(key, shape, dtype=cdf.dtype) * cdf[-1]
    return jnp.minimum(jnp.searchsorted(cdf, u, side="right"), probs.shape[0] - 1).astype(jnp.int32)


# ------------------------------------------------------------------------------ training


def _sgns_step(params, key, centres, contexts, probs, lr, k):
    negatives = sample_negatives(probs, (centres.shape[0], k), key=key)
    return sgns_update(params, centres, contexts, negatives, lr)


@functools.partial(jax.jit, static_argnames=("k", "batch_size"), donate_argnums=0)
def sgns_epoch(
    params: Embeddings,
    centres: Array,
    contexts: Array,
    probs: Array,
    lr: Array,
    *,
    key: PRNGKey,
    k: int,
    batch_size: int,
) -> Embeddings:
    """One shuffled pass of SGNS over all ``(centre, context)`` pairs, minibatches in ``lax.scan``.

    The last ``P % batch_size`` pairs of the shuffled order are skipped this epoch. ``params``
    is donated (its buffers are reused for the result).

    Args:
        params: :class:`Embeddings`; centres, contexts: ``(P,)`` int ids; probs: ``(d,)`` the
            negative-sampling distribution; lr: learning rate (traced);
        key: draws the order and the negatives; k: negatives per pair and batch_size (static).
    """
    k_perm, k_neg = jax.random.split(key)
    batches = data.minibatches(data.Dataset(centres, contexts), key=k_perm, batch_size=batch_size)
    nb = batches.X.shape[0]

    def body(p, xs):
        c, x, kk = xs
        return _sgns_step(p, kk, c, x, probs, lr, k), None

    params, _ = lax.scan(body, params, (*batches, jax.random.split(k_neg, nb)))
    return params


@functools.partial(jax.jit, static_argnames="k", donate_argnums=0)
def sgns_step(
    params: Embeddings,
    centres: Array,
    contexts: Array,
    probs: Array,
    lr: Array,
    *,
    key: PRNGKey,
    k: int,
) -> Embeddings:
    """One jitted SGNS minibatch step (negatives drawn inside); the Python-loop alternative."""
    return _sgns_step(params, key, centres, contexts, probs, lr, k)


def train_sgns(
    centres: ArrayLike,
    contexts: ArrayLike,
    counts: ArrayLike,
    *,
    key: PRNGKey,
    dim: int,
    negatives: int = 5,
    epochs: int = 3,
    batch_size: int = 256,
    lr: float = 0.05,
    power: float = 0.75,
) -> Embeddings:
    r"""Train SGNS embeddings: ``epochs`` shuffled passes of minibatch SGD over all pairs.

    The learning rate decays linearly from ``lr`` to ``lr / 10`` over the epochs (word2vec
    decays it too). Each epoch is one call of the jitted :func:`sgns_epoch` (measured faster
    than a Python loop over a jitted step: ``benchmarks/bench_word2vec.py``).

    Args:
        centres, contexts: ``(P,)`` int ids (see :func:`context_pairs`).
        counts: ``(d,)`` word counts; the negatives are drawn from ``counts ** power``.
        key: initializes the embeddings and draws orders and negatives.
        dim: embedding size $p$.
        negatives: $k \ge 1$ negatives per positive pair.

    Returns:
        :class:`Embeddings`; the rows of ``U`` are the usual word vectors.
    """
    _validate.prng_key("key", key)
    probs = negative_distribution(counts, power)
    centres = _validate.index_array("centres", centres, size=probs.shape[0])
    contexts = _validate.index_array("contexts", contexts, size=probs.shape[0])
    if centres.ndim != 1 or centres.shape != contexts.shape:
        raise ValueError(
            f"`centres` and `contexts` must be 1-D of the same length, got {centres.shape} "
            f"and {contexts.shape}."
        )
    negatives = _validate.positive_int("negatives", negatives)
    epochs = _validate.positive_int("epochs", epochs)
    batch_size = _validate.positive_int("batch_size", batch_size)
    if batch_size > centres.shape[0]:
        raise ValueError(f"`batch_size` ({batch_size}) exceeds the number of pairs.")
    _validate.positive("lr", lr)
    k_init, k_train = jax.random.split(key)
    params = init(key=k_init, vocab_size=probs.shape[0], dim=dim)
    for e, ke in enumerate(jax.random.split(k_train, epochs)):
        rate = lr * (1.0 - 0.9 * e / max(epochs - 1, 1))
        params = sgns_epoch(
            params,
            centres,
            contexts,
            probs,
            jnp.asarray(rate, params.U.dtype),
            key=ke,
            k=negatives,
            batch_size=batch_size,
        )
    return params


def sgns_epoch_cache_size() -> int:
    """Compilations of :func:`sgns_epoch` so far (for no-recompile checks)."""
    return sgns_epoch._cache_size()


@functools.partial(jax.jit, static_argnames=("kind", "steps"))
def _train_softmax(params, xs, ys, lr, kind, steps):
    loss = cbow_loss if kind == "cbow" else skipgram_loss

    def batch_loss(p, x, y):
        return jnp.mean(jax.vmap(loss, in_axes=(None, 0, 0))(p, x, y))

    def body(p, batch):
        value, g = jax.value_and_grad(batch_loss)(p, *batch)
        return jax.tree.map(lambda a, b: a - lr * b, p, g), value

    return lax.scan(body, params, (xs, ys))


def train_softmax(
    kind: str,
    inputs: ArrayLike,
    targets: ArrayLike,
    *,
    key: PRNGKey,
    vocab_size: int,
    dim: int,
    epochs: int = 5,
    batch_size: int = 64,
    lr: float = 1.0,
) -> tuple[Embeddings, Array]:
    r"""Train CBOW (``kind="cbow"``) or skip-gram (``kind="skipgram"``) with the full softmax.

    For CBOW, ``inputs: (n, m)`` are the context windows and ``targets: (n,)`` the centre words
    (:func:`cbow_windows`). For skip-gram, ``inputs: (n,)`` are the centre words and
    ``targets: (n, m)`` their contexts (the same windows, swapped). Minibatch SGD on the mean
    loss, ``epochs`` shuffled passes. Only small vocabularies: each step costs $O(Bd\,p)$.

    Returns:
        ``(params, losses: (steps,))``.
    """
    _validate.lookup("model", {"cbow": 0, "skipgram": 1}, kind)
    _validate.prng_key("key", key)
    vocab_size = _validate.positive_int("vocab_size", vocab_size)
    inputs = _validate.index_array("inputs", inputs, size=vocab_size)
    targets = _validate.index_array("targets", targets, size=vocab_size)
    _validate.positive("lr", lr)
    batch_size = _validate.positive_int("batch_size", batch_size)
    epochs = _validate.positive_int("epochs", epochs)
    k_init, k_perm = jax.random.split(key)
    params = init(key=k_init, vocab_size=vocab_size, dim=dim)
    params = Embeddings(params.U, 0.1 * jax.random.normal(k_perm, params.V.shape))
    epoch_batches = [  # each epoch shuffled anew, then all epochs' batches in one scan
        data.minibatches(data.Dataset(inputs, targets), key=k, batch_size=batch_size)
        for k in jax.random.split(k_perm, epochs)
    ]
    xs = jnp.concatenate([b.X for b in epoch_batches])
    ys = jnp.concatenate([b.y for b in epoch_batches])
    steps = xs.shape[0]
    return _train_softmax(params, xs, ys, jnp.asarray(lr, params.U.dtype), kind, steps)


# ------------------------------------------------------------------------------ SGNS = logistic MF


def cooccurrence(centres: ArrayLike, contexts: ArrayLike, vocab_size: int) -> Array:
    """The word-context count matrix $C$: ``C[i, j]`` = number of pairs (centre i, context j)."""
    vocab_size = _validate.positive_int("vocab_size", vocab_size)
    centres = _validate.index_array("centres", centres, size=vocab_size)
    contexts = _validate.index_array("contexts", contexts, size=vocab_size)
    if centres.shape != contexts.shape:
        raise ValueError(
            f"`centres` and `contexts` must have the same shape, got {tuple(centres.shape)} "
            f"and {tuple(contexts.shape)}."
        )
    return _cooccurrence(centres, contexts, vocab_size)


@functools.partial(jax.jit, static_argnums=2)
def _cooccurrence(centres, contexts, vocab_size):
    C = jnp.zeros((vocab_size, vocab_size), jnp.result_type(float))
    return C.at[centres, contexts].add(1.0)


def sgns_count_matrices(
    centres: ArrayLike, contexts: ArrayLike, negatives: ArrayLike, vocab_size: int
) -> tuple[Array, Array]:
    r"""The counts $(c^+, c^-)$ of the positive and negative pairs that SGNS visited (§2.6.3).

    Regrouping the SGNS sum (Eq 2.55) by distinct pairs gives the weighted logistic matrix
    factorization of Eq 2.59: ``batch_sgns_loss(params, centres, contexts, negatives)`` equals
    ``logistic_mf_loss(params.U, params.V, c_pos, c_neg)``.

    Args:
        centres, contexts: ``(B,)``; negatives: ``(B, k)``.

    Returns:
        ``(c_pos, c_neg)``, each ``(d, d)``.
    """
    vocab_size = _validate.positive_int("vocab_size", vocab_size)
    negatives = _validate.index_array("negatives", negatives, size=vocab_size, ndim=2)
    centres = _validate.index_array("centres", centres, size=vocab_size, ndim=1)
    if negatives.shape[0] != centres.shape[0]:
        raise ValueError(
            f"`negatives` must have one row per centre: expected ({centres.shape[0]}, k), "
            f"got {tuple(negatives.shape)}."
        )
    c_pos = cooccurrence(centres, contexts, vocab_size)
    rows = jnp.broadcast_to(jnp.asarray(centres, jnp.int32)[:, None], negatives.shape)
    c_neg = cooccurrence(rows.ravel(), negatives.ravel(), vocab_size)
    return c_pos, c_neg


def expected_negative_counts(C: ArrayLike, probs: ArrayLike, k: ArrayLike) -> Array:
    r"""What SGNS samples on average: $c^-_{ij} = k\,(\sum_l c_{il})\,q_j$ (§2.6.3)."""
    C = _validate.float_array("C", C, ndim=2)
    probs = _validate.float_array("probs", probs, ndim=1)
    return k * jnp.sum(C, axis=1)[:, None] * probs[None, :]


@functools.partial(jax.jit, static_argnames="steps")
def _fit_logistic_mf(params, c_pos, c_neg, lr, steps):
    scale = 1.0 / jnp.sum(c_pos + c_neg)

    def loss(p, a, b):
        return scale * logistic_mf_loss(p.U, p.V, a, b)

    adam = optim.adam(optim.linear_decay(lr, steps, 0.1))  # settle in: the last steps shrink
    return optim.minimize(loss, adam, params, steps, c_pos, c_neg)


def fit_logistic_mf(
    c_pos: ArrayLike,
    c_neg: ArrayLike,
    *,
    key: PRNGKey,
    dim: int,
    steps: int = 500,
    lr: float = 0.05,
) -> tuple[Embeddings, Array]:
    r"""Factorize the counts directly: full-batch Adam on Eq 2.59 (per-count mean).

    Returns:
        ``(params, losses: (steps,))`` with :class:`Embeddings` ``U, V: (d, dim)``.
    """
    c_pos = _validate.float_array("c_pos", c_pos, ndim=2)
    c_neg = _validate.float_array("c_neg", c_neg, ndim=2)
    _validate.prng_key("key", key)
    dim = _validate.positive_int("dim", dim)
    steps = _validate.positive_int("steps", steps)
    k_u, k_v = jax.random.split(key)
    shape = (c_pos.shape[0], dim)
    params = Embeddings(
        0.1 * jax.random.normal(k_u, shape, c_pos.dtype),
        0.1 * jax.random.normal(k_v, (c_pos.shape[1], dim), c_pos.dtype),
    )
    return _fit_logistic_mf(params, c_pos, c_neg, jnp.asarray(lr, c_pos.dtype), steps)


# ------------------------------------------------------------------------------ using embeddings


def cosine_similarities(E: ArrayLike) -> Array:
    """``(d, d)`` cosine similarities between the rows of ``E: (d, p)``."""
    E = _validate.float_array("E", E, ndim=2)
    En = E / jnp.maximum(jnp.linalg.norm(E, axis=1, keepdims=True), 1e-12)
    return En @ En.T


def nearest_neighbours(
    E: ArrayLike, vocab: Vocabulary, word: str, k: int = 5
) -> list[tuple[str, float]]:
    """The ``k`` words whose rows of ``E`` have the largest cosine with ``word``'s (not itself)."""
    if word not in vocab.index:
        raise ValueError(f"`word` {word!r} is not in the vocabulary.")
    k = _validate.positive_int("k", k)
    sims = np.array(cosine_similarities(E)[vocab.index[word]])
    sims[vocab.index[word]] = -np.inf
    best = np.argsort(-sims, kind="stable")[:k]
    return [(vocab.words[j], float(sims[j])) for j in best]


# ---------------------------------------------------------------- skip-gram = multinomial MF


def multinomial_mf_loss(U: ArrayLike, V: ArrayLike, C: ArrayLike) -> Array:
    r"""Vanilla skip-gram as multinomial matrix factorization of the counts (§2.6.4, Eq 2.60):

    $$ O = -\sum_{i=1}^d\sum_{j=1}^d c_{ij}
           \log\frac{\exp(\bar u_i\cdot\bar v_j)}{\sum_{q=1}^d\exp(\bar u_i\cdot\bar v_q)}. $$

    Grouping the skip-gram softmax loss of every (centre $i$, context $j$) pair by pair gives
    this sum: each distinct pair contributes its count $c_{ij}$ times.

    Args:
        U: ``(d, p)`` input embeddings; V: ``(d', p)`` output embeddings; C: ``(d, d')`` counts.

    Returns:
        the scalar $O$.
    """
    U = _validate.float_array("U", U, ndim=2)
    V = _validate.float_array("V", V, ndim=2)
    C = _validate.float_array("C", C, ndim=2)
    _check_mf_shapes(U, V, C)
    return _multinomial_mf(U, V, C)


def _multinomial_mf(U, V, C):
    return -jnp.sum(C * jax.nn.log_softmax(U @ V.T, axis=1))


def multinomial_mf_grads(U: ArrayLike, V: ArrayLike, C: ArrayLike) -> tuple[Array, Array]:
    r"""The gradient of Eq 2.60 by hand: with $n_i = \sum_j c_{ij}$ and
    $\hat y_{ij} = \mathrm{softmax}_j(\bar u_i\cdot\bar v_j)$, the error
    $E = \mathrm{diag}(n)\hat Y - C$ (predicted minus observed counts) gives

    $$ \frac{\partial O}{\partial U} = E\,V, \qquad \frac{\partial O}{\partial V} = E^\top U. $$

    Returns:
        ``(dU: (d, p), dV: (d', p))``.
    """
    U = _validate.float_array("U", U, ndim=2)
    V = _validate.float_array("V", V, ndim=2)
    C = _validate.float_array("C", C, ndim=2)
    _check_mf_shapes(U, V, C)
    E = jnp.sum(C, axis=1, keepdims=True) * jax.nn.softmax(U @ V.T, axis=1) - C  # (d, d')
    return E @ V, E.T @ U


def _check_mf_shapes(U: Array, V: Array, C: Array) -> None:
    if U.shape[1] != V.shape[1] or C.shape != (U.shape[0], V.shape[0]):
        raise ValueError(
            f"`U (d, p)`, `V (d', p)` and `C (d, d')` must fit together, got U {tuple(U.shape)}, "
            f"V {tuple(V.shape)}, C {tuple(C.shape)}."
        )


@functools.partial(jax.jit, static_argnames=("dim", "steps"))
def _fit_multinomial_mf(key, C, lr, dim, steps):
    k_u, k_v = jax.random.split(key)  # initialized inside: one compilation in all
    params = Embeddings(
        0.1 * jax.random.normal(k_u, (C.shape[0], dim), C.dtype),
        0.1 * jax.random.normal(k_v, (C.shape[1], dim), C.dtype),
    )
    scale = 1.0 / jnp.sum(C)

    def loss(p, counts):
        return scale * _multinomial_mf(p.U, p.V, counts)

    adam = optim.adam(optim.linear_decay(lr, steps, 0.1))
    return optim.minimize(loss, adam, params, steps, C)


def fit_multinomial_mf(
    C: ArrayLike, *, key: PRNGKey, dim: int, steps: int = 300, lr: float = 0.05
) -> tuple[Embeddings, Array]:
    r"""Factorize a count matrix with Eq 2.60: full-batch Adam on $O / \sum_{ij} c_{ij}$.

    This is skip-gram with the full softmax trained on all pairs at once; ``lr`` is traced.

    Returns:
        ``(params, losses: (steps,))``: :class:`Embeddings` ``U: (d, dim)``, ``V: (d', dim)``
        and the mean loss per pair before each step.
    """
    C = _validate.float_array("C", C, ndim=2)
    if not _validate.is_traced(C) and bool(jnp.any(C < 0)):
        raise ValueError("`C` must hold non-negative counts.")
    _validate.prng_key("key", key)
    dim = _validate.positive_int("dim", dim)
    steps = _validate.positive_int("steps", steps)
    _validate.positive("lr", lr)
    return _fit_multinomial_mf(key, C, jnp.asarray(lr, C.dtype), dim, steps)


def fit_multinomial_mf_cache_size() -> int:
    """Compilations of :func:`fit_multinomial_mf`'s jitted core so far (no-recompile checks)."""
    return _fit_multinomial_mf._cache_size()
