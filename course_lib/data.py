r"""Datasets with a planted answer, all generated from an explicit key, and the loader interface.

Every generator is a pure function of its key and sizes: the same key gives the same data,
bit for bit. Nothing is downloaded. Binary labels are $-1/+1$ floats; multiclass labels are
integer class indices.

The loader interface that later chapters extend is small:

- a :class:`Dataset` is a NamedTuple ``(X, y)`` (arrays with the same number of rows), so it
  unpacks (``X, y = ds``) and is a pytree that ``jax.jit`` and ``jax.vmap`` accept;
- :func:`train_test_split` shuffles with a key and splits it;
- :func:`minibatches` reshapes a shuffled dataset into ``(num_batches, batch_size, ...)``
  arrays, ready to be consumed by ``lax.scan`` inside one jitted training epoch.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

import jax
import jax.numpy as jnp

from course_lib import _validate
from course_lib._types import Array, ArrayLike, PRNGKey


class Dataset(NamedTuple):
    """Inputs and targets with one row per example.

    Attributes:
        X: inputs, shape ``(n, d)`` (or ``(n, ...)`` for images and sequences).
        y: targets, shape ``(n,)``.
    """

    X: Array
    y: Array


class SeparableData(NamedTuple):
    r"""Linearly separable data through the origin with a *planted* separator.

    Attributes:
        X: points, shape ``(n, d)``.
        y: labels $\operatorname{sign}(w^\star\cdot x)$ in $\{-1, +1\}$, shape ``(n,)``.
        w_star: the planted unit normal $w^\star$, shape ``(d,)``.
        margin: $\gamma = \min_i y_i\, w^\star\cdot x_i$, the achieved margin (>= the one asked).
        radius: $R = \max_i \|x_i\|$, the achieved radius (<= the one asked).
    """

    X: Array
    y: Array
    w_star: Array
    margin: Array
    radius: Array

    @property
    def dataset(self) -> Dataset:
        """The ``(X, y)`` pair alone."""
        return Dataset(self.X, self.y)

    @property
    def mistake_bound(self) -> Array:
        r"""Novikoff's bound $R^2/\gamma^2$ on the number of perceptron updates from $w = 0$."""
        return (self.radius / self.margin) ** 2


def linearly_separable(
    *, key: PRNGKey, n: int, d: int = 2, margin: float = 0.1, radius: float = 1.0
) -> SeparableData:
    r"""Points in the ball of radius $R$ that a hyperplane through 0 separates with margin $\gamma$.

    A unit normal $w^\star$ is drawn at random. Each point is built in coordinates along and
    across $w^\star$: its signed distance to the hyperplane is $\pm t$ with
    $t = \gamma + (R - \gamma)u^2$, $u$ uniform on $[0, 1]$ (so more points lie near the margin,
    where the perceptron errs), and its component orthogonal to $w^\star$ has a random
    direction and a length up to $\sqrt{R^2 - t^2}$, so that $\|x\| \le R$ and
    $y\,w^\star\cdot x = t \ge \gamma$.
    The *achieved* margin and radius are returned, so the bound is exact for this sample.

    ``margin`` and ``radius`` may be traced (a slider can move them without recompiling);
    ``n`` and ``d`` set shapes and must be Python ints.

    Args:
        key: a JAX random key.
        n: number of points.
        d: dimension, at least 2.
        margin: $\gamma > 0$, the smallest distance to the separating hyperplane.
        radius: $R > \gamma$, the largest norm of a point.

    Returns:
        :class:`SeparableData` with ``X: (n, d)`` and ``y: (n,)``.
    """
    _validate.prng_key("key", key)
    n = _validate.positive_int("n", n)
    d = _validate.positive_int("d", d)
    if d < 2:
        raise ValueError(f"`d` must be at least 2 (a separating line needs a plane), got {d}.")
    _validate.positive("margin", margin)
    _validate.positive("radius", radius)
    if not (_validate.is_traced(margin) or _validate.is_traced(radius)) and margin >= radius:
        raise ValueError(
            f"`margin` must be smaller than `radius`, got margin={margin} and radius={radius}."
        )
    return _linearly_separable(key, n, d, jnp.asarray(margin, float), jnp.asarray(radius, float))


@functools.partial(jax.jit, static_argnums=(1, 2))
def _linearly_separable(key, n, d, margin, radius) -> SeparableData:
    k_w, k_sign, k_t, k_dir, k_len = jax.random.split(key, 5)
    w_star = jax.random.normal(k_w, (d,))
    w_star = w_star / jnp.linalg.norm(w_star)
    y = jnp.where(jax.random.bernoulli(k_sign, 0.5, (n,)), 1.0, -1.0)
    u = jax.random.uniform(k_t, (n,))
    t = margin + (radius - margin) * u**2  # squared: more points near the margin
    # A random direction orthogonal to w_star: project a Gaussian and normalize.
    g = jax.random.normal(k_dir, (n, d))
    g = g - (g @ w_star)[:, None] * w_star[None, :]  # (n, d): no implicit rank promotion
    g = g / jnp.linalg.norm(g, axis=1, keepdims=True)
    # Length across: uniform in the disc (d = 2) or up to the sphere; sqrt keeps ||x|| <= R.
    room = jnp.sqrt(jnp.maximum(radius**2 - t**2, 0.0))
    s = room * jax.random.uniform(k_len, (n,), minval=-1.0, maxval=1.0)
    X = (y * t)[:, None] * w_star[None, :] + s[:, None] * g  # (n, d)
    achieved_margin = jnp.min(y * (X @ w_star))
    achieved_radius = jnp.max(jnp.linalg.norm(X, axis=1))
    return SeparableData(X, y, w_star, achieved_margin, achieved_radius)


def xor_pm1() -> Dataset:
    r"""The four points of XOR in $\pm1$ form (Aggarwal Exercise 1.4).

    $\{(-1,-1), (1,1)\}$ have label $+1$ and $\{(1,-1), (-1,1)\}$ label $-1$, i.e.
    $y = x_1 x_2$. No line separates them, with or without a bias.
    """
    X = jnp.array([[-1.0, -1.0], [1.0, 1.0], [1.0, -1.0], [-1.0, 1.0]])
    return Dataset(X, X[:, 0] * X[:, 1])


def xor_01() -> Dataset:
    r"""XOR in $\{0,1\}$ form (Aggarwal Exercise 1.1): label $+1$ for $(1,0), (0,1)$, else $-1$."""
    X = jnp.array([[0.0, 0.0], [1.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    return Dataset(X, jnp.array([-1.0, -1.0, 1.0, 1.0]))


def xor_blobs(*, key: PRNGKey, n: int, noise: float = 0.2) -> Dataset:
    r"""$n$ noisy copies of the $\pm1$ XOR corners $c$: $x = c + \epsilon$.

    The noise is $\epsilon \sim N(0, \text{noise}^2 I)$.

    The label is that of the corner $c$, so $y = \operatorname{sign}(c_1 c_2)$.
    """
    _validate.prng_key("key", key)
    n = _validate.positive_int("n", n)
    _validate.positive("noise", noise, allow_zero=True)
    k_c, k_e = jax.random.split(key)
    corners = xor_pm1().X
    idx = jax.random.randint(k_c, (n,), 0, 4)
    c = corners[idx]
    X = c + noise * jax.random.normal(k_e, (n, 2))
    return Dataset(X, c[:, 0] * c[:, 1])


def above_diagonal(*, key: PRNGKey, n: int) -> Dataset:
    r"""Uniform points in the unit square, labelled $+1$ when $x_1 > x_2$ (Aggarwal Ex. 1.11)."""
    _validate.prng_key("key", key)
    n = _validate.positive_int("n", n)
    X = jax.random.uniform(key, (n, 2))
    return Dataset(X, jnp.where(X[:, 0] > X[:, 1], 1.0, -1.0))


def blobs(
    *, key: PRNGKey, n: int, centers: ArrayLike | None = None, spread: float = 0.6
) -> Dataset:
    r"""$n$ points around $k$ centres, $x = c_{y} + \text{spread}\cdot\epsilon$, labels $0..k-1$.

    The class $y$ of each point is drawn uniformly; $\epsilon \sim N(0, I)$. The default
    centres are three points on a circle of radius 2 (a 3-class problem in the plane).

    Args:
        key: a JAX random key.
        n: number of points.
        centers: the class centres, shape ``(k, d)`` with ``k >= 2``.
        spread: the standard deviation of each blob, ``>= 0``.

    Returns:
        ``Dataset(X: (n, d) float, y: (n,) int32)``.
    """
    _validate.prng_key("key", key)
    n = _validate.positive_int("n", n)
    _validate.positive("spread", spread, allow_zero=True)
    if centers is None:
        angles = jnp.array([90.0, 210.0, 330.0]) * jnp.pi / 180.0
        centers = 2.0 * jnp.stack([jnp.cos(angles), jnp.sin(angles)], axis=1)
    centers = _validate.float_array("centers", centers, ndim=2)
    if centers.shape[0] < 2:
        raise ValueError(f"`centers` needs at least 2 rows (classes), got {centers.shape[0]}.")
    k_y, k_e = jax.random.split(key)
    y = jax.random.randint(k_y, (n,), 0, centers.shape[0])
    X = centers[y] + spread * jax.random.normal(k_e, (n, centers.shape[1]), centers.dtype)
    return Dataset(X, y.astype(jnp.int32))


def digits() -> Dataset:
    r"""The 1797 real handwritten digits bundled with scikit-learn (UCI optdigits, 8×8 pixels).

    Each image is 8×8 grey levels 0..16, scaled here to $[0, 1]$ and flattened. The rows are in
    scikit-learn's order (not sorted by class); shuffle with :func:`train_test_split`.

    Returns:
        ``Dataset(X: (1797, 64) float, y: (1797,) int32)``; ``X[i].reshape(8, 8)`` is image i.
    """
    from sklearn.datasets import load_digits  # imported here: only this loader needs it

    bunch = load_digits()
    X = jnp.asarray(bunch.data / 16.0, dtype=jnp.result_type(float))
    return Dataset(X, jnp.asarray(bunch.target, dtype=jnp.int32))


def breast_cancer() -> Dataset:
    r"""The 569 Wisconsin breast-cancer biopsies bundled with scikit-learn (UCI WDBC), offline.

    Each row holds 30 real measurements of cell nuclei (radius, texture, ...), on very different
    scales: standardize them with the *training* part's mean and spread before training. The
    label is $+1$ for benign (357 rows) and $-1$ for malignant (212), the $\pm1$ convention of
    the binary linear models. The rows are in scikit-learn's order; shuffle with
    :func:`train_test_split`.

    Returns:
        ``Dataset(X: (569, 30) float, y: (569,) float in {-1, +1})``.
    """
    from sklearn.datasets import load_breast_cancer  # imported here: only this loader needs it

    bunch = load_breast_cancer()
    dtype = jnp.result_type(float)
    X = jnp.asarray(bunch.data, dtype=dtype)
    return Dataset(X, jnp.asarray(2.0 * bunch.target - 1.0, dtype=dtype))


def english_text() -> str:
    r"""About 0.46 MB of real English prose that ships with every CPython: the help topics of
    :mod:`pydoc_data.topics` (the Python reference manual's text), joined in sorted key order.

    Nothing is downloaded. It is technical prose (code samples included), so a language model
    or word embedding trained on it learns Python-manual English.
    """
    from pydoc_data.topics import topics

    return "\n\n".join(topics[k] for k in sorted(topics))


_UNDERLINE = re.compile(r"([*=\-~^#+])\1{2,}")  # a heading's underline: *****, =====, -----
_PLAIN_WORD = re.compile(r"[(“\"'‘]*[A-Za-z][a-z’'-]*[)”\"'’,.;:?!]*")
_SENTENCE_END = re.compile(r"[.?!:][)”\"’]?( \[\d+\])?$")  # may end with a footnote mark [2]
_EMPHASIS = re.compile(r"(?<![\w*])\*\*?([A-Za-z][^*]*?[^\s*])\*\*?(?![\w*])")


def _is_prose_paragraph(lines: list[str]) -> bool:
    """Whether a paragraph (its non-blank lines) reads as running English text.

    True when it has at least 8 whitespace-separated tokens, at least 3/4 of them plain words
    (letters, possibly with surrounding quotes or punctuation), it ends with a sentence mark
    (``. ? ! :``), and no line is a heading's underline, an interactive session (``>>>``,
    ``...``) or a grammar rule (``::=``). Code samples, tables and short fragments fail it.
    """
    stripped = [line.strip() for line in lines]
    if any(
        _UNDERLINE.fullmatch(s) or ">>>" in s or "::=" in s or s.startswith("...") for s in stripped
    ):
        return False
    tokens = " ".join(stripped).split()
    if len(tokens) < 8:
        return False
    words = sum(_PLAIN_WORD.fullmatch(t) is not None for t in tokens)
    return 4 * words >= 3 * len(tokens) and _SENTENCE_END.search(" ".join(tokens)) is not None


def english_prose() -> str:
    r"""About 0.33 million characters of English prose that ship with CPython: the running text
    of the Python Language Reference's help topics (:mod:`pydoc_data.topics`, the text
    ``help("for")`` shows), with the code taken out. Nothing is downloaded. The text is
    © the Python Software Foundation, distributed with Python under the PSF License.

    Each topic is cut into paragraphs at blank lines; a paragraph is kept when
    :func:`_is_prose_paragraph` says it reads as prose, so headings, code samples, interactive
    sessions (``>>>``), grammar rules (``::=``) and tables are dropped. A kept paragraph is
    joined into one line (a word broken at a line end is mended, runs of spaces become one,
    reStructuredText's ``*emphasis*`` stars and list bullets are removed); paragraphs are
    separated by one ``"\n"``, topics in sorted order, so every call returns the same string.
    The prose is technical (names of Python objects appear in double quotes), but it is
    sentences, not code.
    """
    from pydoc_data.topics import topics

    paragraphs = []
    for name in sorted(topics):
        for block in re.split(r"\n[ \t]*\n", topics[name]):
            lines = [line for line in block.split("\n") if line.strip()]
            if lines:
                lines[0] = re.sub(r"^(\s*)[*-] ", r"\1", lines[0])  # a list item's bullet
            if not lines or not _is_prose_paragraph(lines):
                continue
            text = " ".join(line.strip() for line in lines)
            text = re.sub(r"(?<=[a-z])- (?=[a-z])", "-", text)  # "reference- counting"
            text = _EMPHASIS.sub(r"\1", re.sub(r"\s+", " ", text))
            paragraphs.append(text)
    return "\n".join(paragraphs)


def add_bias(X: ArrayLike) -> Array:
    r"""Append a constant feature 1, so that $w\cdot[x, 1] = w_{1:d}\cdot x + b$ (Aggarwal §1.2.1).

    Args:
        X: inputs, shape ``(n, d)``.

    Returns:
        shape ``(n, d + 1)``.
    """
    X = _validate.float_array("X", X, ndim=2)
    return jnp.concatenate([X, jnp.ones((X.shape[0], 1), X.dtype)], axis=1)


def train_test_split(
    data: Dataset, *, key: PRNGKey, test_fraction: float = 0.25
) -> tuple[Dataset, Dataset]:
    """Shuffle ``data`` with ``key`` and split it into ``(train, test)``.

    The test part has ``round(test_fraction * n)`` rows (at least 1 and at most n - 1).
    """
    _validate.prng_key("key", key)
    X, y = _check_dataset(data)
    _validate.in_range("test_fraction", test_fraction, 0.0, 1.0)
    n = X.shape[0]
    if n < 2:
        raise ValueError(f"need at least 2 examples to split, got {n}.")
    n_test = min(max(int(round(test_fraction * n)), 1), n - 1)
    perm = jax.random.permutation(key, n)
    test, train = perm[:n_test], perm[n_test:]
    return Dataset(X[train], y[train]), Dataset(X[test], y[test])


def minibatches(data: Dataset, *, key: PRNGKey, batch_size: int) -> Dataset:
    """Shuffle and cut ``data`` into equal minibatches stacked along a new leading axis.

    The last ``n % batch_size`` examples of the shuffled order are dropped (a different set
    each epoch, since the key changes), so every batch has the same shape and one
    ``lax.scan`` over the leading axis runs a whole epoch without recompiling.

    Returns:
        ``Dataset(X: (n // batch_size, batch_size, ...), y: (n // batch_size, batch_size, ...))``.
    """
    _validate.prng_key("key", key)
    X, y = _check_dataset(data)
    batch_size = _validate.positive_int("batch_size", batch_size)
    n = X.shape[0]
    if batch_size > n:
        raise ValueError(f"`batch_size` ({batch_size}) is larger than the dataset ({n} rows).")
    nb = n // batch_size
    perm = jax.random.permutation(key, n)[: nb * batch_size]
    return Dataset(
        X[perm].reshape(nb, batch_size, *X.shape[1:]),
        y[perm].reshape(nb, batch_size, *y.shape[1:]),
    )


def epoch_orders(*, key: PRNGKey, n: int, epochs: int) -> Array:
    """A fresh random visiting order of ``n`` examples for each of ``epochs`` epochs.

    For training loops that visit the examples one at a time (the perceptron, per-example SGD)
    inside ``lax.scan``: row ``e`` is the order of epoch ``e``.

    Returns:
        int32 ``(epochs, n)``; every row is a permutation of ``0..n-1``.
    """
    _validate.prng_key("key", key)
    return _epoch_orders(
        key, _validate.positive_int("n", n), _validate.positive_int("epochs", epochs)
    )


@functools.partial(jax.jit, static_argnums=(1, 2))
def _epoch_orders(key, n, epochs):
    return jax.vmap(lambda k: jax.random.permutation(k, n))(jax.random.split(key, epochs))


def _check_dataset(data: Dataset) -> tuple[Array, Array]:
    if not isinstance(data, tuple) or len(data) != 2:
        raise TypeError(f"`data` must be a Dataset (X, y), got {type(data).__name__}.")
    X, y = jnp.asarray(data[0]), jnp.asarray(data[1])
    if X.ndim < 1 or y.ndim < 1:
        raise ValueError("`data.X` and `data.y` must have a leading example axis.")
    _validate.same_rows("data.X", X, "data.y", y)
    return X, y


# --------------------------------------------------------------------------------------------
# Chapter 2b (autoencoders, matrix factorization, word2vec, graph embeddings): planted answers.


def swiss_roll(*, key: PRNGKey, n: int, turns: float = 1.25, noise: float = 0.02) -> Dataset:
    r"""Points on a rolled-up sheet in 3-D (a 2-D manifold), the curved data of Aggarwal Fig 2.9.

    With $t$ uniform on $[0, 2\pi\,\text{turns}]$ and $h$ uniform on $[-1, 1]$, the point is
    $x = (t\cos t / \tau,\ h,\ t\sin t / \tau) + \text{noise}\cdot\epsilon$ with
    $\tau = 2\pi\,\text{turns}$ (so the roll fits in $[-1, 1]^3$). The planted 2-D coordinates
    are $(t, h)$.

    Returns:
        ``Dataset(X: (n, 3), y: (n,))`` with ``y`` the position $t/\tau \in [0, 1]$ along the roll.
    """
    _validate.prng_key("key", key)
    n = _validate.positive_int("n", n)
    _validate.positive("turns", turns)
    _validate.positive("noise", noise, allow_zero=True)
    return _swiss_roll(key, n, jnp.asarray(turns, float), jnp.asarray(noise, float))


@functools.partial(jax.jit, static_argnums=1)  # one compiled call instead of a dozen eager ops
def _swiss_roll(key, n, turns, noise) -> Dataset:
    k_t, k_h, k_e = jax.random.split(key, 3)
    tau = 2.0 * jnp.pi * turns
    t = tau * jax.random.uniform(k_t, (n,))
    h = jax.random.uniform(k_h, (n,), minval=-1.0, maxval=1.0)
    X = jnp.stack([t * jnp.cos(t) / tau, h, t * jnp.sin(t) / tau], axis=1)
    X = X + noise * jax.random.normal(k_e, (n, 3), X.dtype)
    return Dataset(X, t / tau)


class Ratings(NamedTuple):
    r"""A ratings matrix with a planted low-rank structure, and which entries are observed.

    Attributes:
        R: all ratings, shape ``(n_users, n_items)`` (the held-out ones included).
        mask: ``(n_users, n_items)`` float, 1 where a rating is observed for training.
        test_mask: ``(n_users, n_items)`` float, 1 on the held-out entries (``1 - mask``).
        U: the planted user factors, shape ``(n_users, rank)``.
        V: the planted item factors, shape ``(n_items, rank)``.
    """

    R: Array
    mask: Array
    test_mask: Array
    U: Array
    V: Array


def planted_ratings(
    *,
    key: PRNGKey,
    n_users: int = 40,
    n_items: int = 30,
    rank: int = 3,
    observed: float = 0.4,
    noise: float = 0.1,
) -> Ratings:
    r"""Ratings $R = 3 + U V^T + \text{noise}\cdot\epsilon$ with a planted rank-``rank`` $U V^T$.

    Each entry is observed with probability ``observed`` (Aggarwal §2.5.7): a recommender
    learns from the observed entries and is scored on the others.

    Returns:
        :class:`Ratings` (``R``, ``mask``, ``test_mask`` of shape ``(n_users, n_items)``).
    """
    _validate.prng_key("key", key)
    n_users = _validate.positive_int("n_users", n_users)
    n_items = _validate.positive_int("n_items", n_items)
    rank = _validate.positive_int("rank", rank)
    _validate.in_range("observed", observed, 0.0, 1.0)
    _validate.positive("noise", noise, allow_zero=True)
    return _planted_ratings(
        key, n_users, n_items, rank, jnp.asarray(observed, float), jnp.asarray(noise, float)
    )


@functools.partial(jax.jit, static_argnums=(1, 2, 3))
def _planted_ratings(key, n_users, n_items, rank, observed, noise) -> Ratings:
    k_u, k_v, k_m, k_e = jax.random.split(key, 4)
    scale = rank**-0.25  # so that u . v has unit variance
    U = scale * jax.random.normal(k_u, (n_users, rank))
    V = scale * jax.random.normal(k_v, (n_items, rank))
    R = 3.0 + U @ V.T + noise * jax.random.normal(k_e, (n_users, n_items))
    mask = jax.random.bernoulli(k_m, observed, (n_users, n_items)).astype(R.dtype)
    return Ratings(R, mask, 1.0 - mask, U, V)


class PlantedCorpus(NamedTuple):
    """Sentences from a tiny grammar whose words belong to hidden classes.

    Attributes:
        tokens: the corpus as one list of words (sentences joined, no punctuation).
        word_class: the hidden class of every content word, e.g. ``{"cat": "animal", ...}``.
    """

    tokens: list[str]
    word_class: dict[str, str]


_GRAMMAR_CLASSES = {
    "animal": ["cat", "dog", "horse", "cow", "sheep", "goat"],
    "food": ["bread", "apple", "cheese", "rice", "soup", "cake"],
    "furniture": ["table", "chair", "bed", "sofa", "desk", "bench"],
    "color": ["red", "blue", "green", "yellow", "black", "white"],
    "person": ["alice", "bob", "carol", "dave", "erin", "frank"],
}
# Each template is a sentence whose capitalized slots are filled from a class; a class appears
# in characteristic contexts, so words of one class share neighbours (the distributional
# hypothesis, which word2vec exploits).
_GRAMMAR_TEMPLATES = [
    "the ANIMAL eats the FOOD",
    "the ANIMAL sleeps under the FURNITURE",
    "PERSON feeds the ANIMAL",
    "PERSON cooks FOOD for PERSON",
    "PERSON buys a COLOR FURNITURE",
    "PERSON paints the FURNITURE COLOR",
    "the FOOD on the FURNITURE is COLOR",
    "a COLOR ANIMAL runs home",
]


def planted_corpus(*, key: PRNGKey, n_sentences: int = 2000) -> PlantedCorpus:
    r"""A synthetic corpus with a planted answer: words of a hidden class share their contexts.

    Each sentence picks one of eight templates ("the ANIMAL eats the FOOD", "PERSON buys a COLOR
    FURNITURE", ...) and fills every slot with a uniformly drawn word of that class (five
    classes of six words). Word embeddings trained on it (Aggarwal §2.6) should place words of
    the same class next to each other.

    Returns:
        :class:`PlantedCorpus` with ``tokens`` (a list of str) and ``word_class``.
    """
    _validate.prng_key("key", key)
    n_sentences = _validate.positive_int("n_sentences", n_sentences)
    k_t, k_w = jax.random.split(key)
    templates = jax.device_get(
        jax.random.randint(k_t, (n_sentences,), 0, len(_GRAMMAR_TEMPLATES))
    ).tolist()
    # At most 3 slots per template: draw 3 word choices for every sentence at once.
    choices = jax.device_get(jax.random.randint(k_w, (n_sentences, 3), 0, 6)).tolist()
    tokens: list[str] = []
    for t, pick in zip(templates, choices, strict=True):
        slot = 0
        for word in _GRAMMAR_TEMPLATES[t].split():
            if word.isupper():
                tokens.append(_GRAMMAR_CLASSES[word.lower()][pick[slot]])
                slot += 1
            else:
                tokens.append(word)
    word_class = {w: c for c, words in _GRAMMAR_CLASSES.items() for w in words}
    return PlantedCorpus(tokens, word_class)


class Graph(NamedTuple):
    """An undirected graph as a symmetric 0/1 adjacency matrix, and its planted communities.

    Attributes:
        A: adjacency, shape ``(n, n)``, symmetric, zero diagonal.
        community: ``(n,)`` int32, the planted block of each node (0 or 1).
    """

    A: Array
    community: Array


def two_communities(*, key: PRNGKey, n: int = 40, p_in: float = 0.35, p_out: float = 0.02) -> Graph:
    r"""A stochastic block model: two halves, edges with probability $p_{in}$ inside a half and
    $p_{out}$ across (Aggarwal §2.7's graph embeddings should separate the halves).

    Returns:
        :class:`Graph` with ``A: (n, n)`` and ``community: (n,)`` (first ``n // 2`` nodes are 0).
    """
    _validate.prng_key("key", key)
    n = _validate.positive_int("n", n)
    if n < 4:
        raise ValueError(f"`n` must be at least 4 (two communities of 2), got {n}.")
    _validate.in_range("p_in", p_in, 0.0, 1.0)
    _validate.in_range("p_out", p_out, 0.0, 1.0)
    return _two_communities(key, n, jnp.asarray(p_in, float), jnp.asarray(p_out, float))


@functools.partial(jax.jit, static_argnums=1)
def _two_communities(key, n, p_in, p_out) -> Graph:
    community = (jnp.arange(n) >= n // 2).astype(jnp.int32)
    same = community[:, None] == community[None, :]
    p = jnp.where(same, p_in, p_out)
    upper = jnp.triu(jax.random.bernoulli(key, p).astype(jnp.result_type(float)), k=1)
    return Graph(upper + upper.T, community)


# ------------------------------------------------------------------ ch08a additions


def photo(*, downsample: int = 1) -> Array:
    r"""A real photograph as a grey image: Grace Hopper, from matplotlib's bundled sample data.

    ``matplotlib.cbook.get_sample_data("grace_hopper.jpg")`` (600×512 RGB, nothing is
    downloaded), converted to luminance $0.299R + 0.587G + 0.114B$ and scaled to $[0, 1]$.
    ``downsample`` averages non-overlapping ``downsample``×``downsample`` blocks (the image is
    first cropped to a multiple of it), for faster convolutions.

    Returns:
        ``(H, W)`` float32 in $[0, 1]$: ``(600, 512)`` at ``downsample=1``, ``(300, 256)`` at 2.
    """
    import matplotlib.cbook  # imported here: only this loader needs them
    import matplotlib.image
    import numpy as np

    k = _validate.positive_int("downsample", downsample)
    if k > 64:
        raise ValueError(f"`downsample` must be at most 64 (the image is 600×512), got {k}.")
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as f:
        rgb = np.asarray(matplotlib.image.imread(f), dtype=np.float64) / 255.0
    grey = rgb[..., :3] @ np.array([0.299, 0.587, 0.114])
    H, W = (grey.shape[0] // k) * k, (grey.shape[1] // k) * k
    grey = grey[:H, :W].reshape(H // k, k, W // k, k).mean(axis=(1, 3))
    return jnp.asarray(grey, dtype=jnp.float32)
