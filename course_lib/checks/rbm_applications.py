r"""Self-checks for the exercises on RBM applications (Aggarwal §6.5-§6.7, Exercises 6.1, 6.5,
6.7, 6.8, 6.9).

Every check runs the student's function on a few fixed cases and compares with a reference
written out here: NumPy loops for the softmax visible units (Eq 6.22) and the expected rating,
a NumPy forward pass for the unrolled RBM (Eq 6.19-6.20), brute force over all $2^m$ hidden
vectors for the topic-model RBM's gradient (Exercise 6.5) and the discriminative RBM (Eq 6.28),
and the analytic gradients in NumPy (whose agreement with ``jax.grad`` of the brute-force
log-likelihoods is proved in ``tests/test_checks_rbm_applications.py``). Common slips are
recognized and
answered with a targeted hint, never with the reference code.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from course_lib.checks import (
    CheckFailed,
    Exercise,
    _array,
    _call,
    _close_within,
    _compare,
    _describe,
    _f,
    _passed,
    _unpack,
)


def _call_jit(ex: Any, fn: Callable, args: tuple, words: str) -> Any:
    """Call ``fn(*args)`` compiled once per case (one compilation is faster than dispatching
    each operation on its own); a function that cannot be traced (Python control flow on
    values, a stub) is called as it is, so its error is the one the student sees."""
    if callable(fn):
        try:
            return jax.jit(fn)(*args)
        except Exception:  # noqa: BLE001 - fall back to the plain call and its messages
            pass
    return _call(ex, fn, args, words)


_close = _close_within(rtol=1e-4, atol=1e-6)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def _states(m: int) -> np.ndarray:
    return np.array(list(itertools.product([0.0, 1.0], repeat=m)))


# ------------------------------------------------------------------------------ Eq 6.22

_EX_SOFTMAX = Exercise("softmax_visible_probs", "")


def _cf_case(seed: int, n: int, d: int, m: int, K: int = 5):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(d, K, m))
    b_v = rng.normal(size=(d, K))
    b_h = rng.normal(size=m)
    R = rng.integers(1, K + 1, size=(n, d))
    mask = (rng.uniform(size=(n, d)) < 0.6).astype(float)
    mask[:, 0] = 1.0
    V = np.eye(K)[R - 1] * mask[..., None]
    return W, b_v, b_h, V, mask


def _visible_loop(W, b_v, h):
    n, (d, K, _) = h.shape[0], W.shape
    out = np.zeros((n, d, K))
    for u in range(n):
        for i in range(d):
            out[u, i] = _softmax(b_v[i] + W[i] @ h[u])
    return out


def softmax_visible_probs(fn: Callable) -> None:
    r"""Check ``fn(W, b_v, h)``: Eq 6.22, ``W: (d, K, m)``, ``b_v: (d, K)``, ``h: (n, m)`` ->
    ``(n, d, K)``, a softmax over the K rating values of every item."""
    ex = _EX_SOFTMAX
    cases = [("n = 2 users, d = 3 items, m = 2 hidden", 0, 2, 3, 2),
             ("n = 4 users, d = 5 items, m = 3 hidden", 1, 4, 5, 3),
             ("n = 1 user, d = 6 items, m = 4 hidden", 2, 1, 6, 4)]  # fmt: skip
    for words, seed, n, d, m in cases:
        W, b_v, _, _, _ = _cf_case(seed, n, d, m)
        h = np.random.default_rng(seed + 10).uniform(size=(n, m))
        got = _array(ex, words, "the probabilities",
                     _call_jit(ex, fn, (_f(W), _f(b_v), _f(h)), words), (n, d, 5),
                     hint="5 probabilities per user and item: shape (n, d, K).")  # fmt: skip
        expected = _visible_loop(W, b_v, h)
        if _close(got, expected):
            continue
        z = b_v[None] + np.einsum("nj,ikj->nik", h, W)
        if _close(got, _softmax(z, axis=1)):
            hint = "normalize over the rating values of each item (the last axis), not over items."
        elif _close(got, _sigmoid(z)):
            hint = "a rating is one of K values: use a softmax over them, not K sigmoids."
        elif _close(got, _softmax(np.einsum("nj,ikj->nik", h, W))):
            hint = "add the visible biases b_v[i, k] inside the exponent."
        else:
            hint = "for each item i: softmax over k of b_v[i, k] + sum_j h_j W[i, k, j]."
        _compare(ex, words, "the probabilities", got, expected, rtol=1e-4, atol=1e-6, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ Ex 6.1

_EX_PREDICT = Exercise("cf_predict", "6.1")


def _predict_ref(W, b_v, b_h, V, mask, *, use_mask=True, mode=False, zero_based=False):
    Vin = V * mask[..., None] if use_mask else V
    ph = _sigmoid(b_h[None] + np.einsum("nik,ikj->nj", Vin, W))
    probs = _visible_loop(W, b_v, ph)
    if mode:
        return probs.argmax(-1) + 1.0
    values = np.arange(probs.shape[-1]) + (0.0 if zero_based else 1.0)
    return probs @ values


def cf_predict(fn: Callable) -> None:
    r"""Check ``fn(W, b_v, b_h, V, mask)``: the expected rating of every item, from
    $\hat p_j = \sigma(b_j + \sum_{i\ \text{rated}, k} v_i^{(k)} w_{ij}^{(k)})$ (Eq 6.21) put in
    place of $h$ in Eq 6.22. Returns ``(n, d)``."""
    ex = _EX_PREDICT
    cases = [("n = 3 users, d = 4 items, m = 2 hidden", 3, 3, 4, 2),
             ("n = 5 users, d = 6 items, m = 3 hidden", 4, 5, 6, 3)]  # fmt: skip
    for words, seed, n, d, m in cases:
        W, b_v, b_h, V, mask = _cf_case(seed, n, d, m)
        # the groups of unrated items hold a (wrong) rating: only the mask says "not rated"
        R_noise = np.random.default_rng(seed + 20).integers(1, 6, size=(n, d))
        V_full = np.where(mask[..., None] > 0, V, np.eye(5)[R_noise - 1])
        args = (_f(W), _f(b_v), _f(b_h), _f(V_full), _f(mask))
        got = _array(ex, words, "the predicted ratings", _call_jit(ex, fn, args, words), (n, d),
                     hint="one expected rating per user and item: shape (n, d).")  # fmt: skip
        expected = _predict_ref(W, b_v, b_h, V_full, mask)
        if _close(got, expected):
            continue
        if _close(got, _predict_ref(W, b_v, b_h, V_full, mask, use_mask=False)):
            hint = (
                "only the items the user rated enter Eq 6.21: multiply V by mask[..., None] "
                "before summing over items."
            )
        elif _close(got, _predict_ref(W, b_v, b_h, V_full, mask, mode=True)):
            hint = "take the expected rating sum_k k P(k), not the most probable one."
        elif _close(got, _predict_ref(W, b_v, b_h, V_full, mask, zero_based=True)):
            hint = "the ratings are 1..5, not 0..4: weight P(k) by k = 1, ..., K."
        else:
            hint = (
                "p_hat = sigmoid(b_h + sum over rated i, k of V W); then Eq 6.22; then sum_k k P."
            )
        _compare(ex, words, "the predicted ratings", got, expected, rtol=1e-4, atol=1e-5,
                 hint=hint)  # fmt: skip
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ Eq 6.19-6.20

_EX_UNROLL = Exercise("unrolled_reconstruction", "")


def unrolled_reconstruction(fn: Callable) -> None:
    r"""Check ``fn(W, b_v, b_h, v)`` $= \sigma(b^{(v)} + \sigma(b^{(h)} + vW)W^\top)$
    (Eq 6.19-6.20), ``W: (d, m)``, ``v: (n, d)`` -> ``(n, d)``."""
    ex = _EX_UNROLL
    rng = np.random.default_rng(5)
    cases = []
    for words, n, d, m in [("n = 3, d = 4 visible, m = 2 hidden", 3, 4, 2),
                           ("n = 5, d = 6 visible, m = 6 hidden", 5, 6, 6),
                           ("n = 2, d = 8 visible, m = 3 hidden", 2, 8, 3)]:  # fmt: skip
        cases.append((words, rng.normal(size=(d, m)), rng.normal(size=d), rng.normal(size=m),
                      (rng.uniform(size=(n, d)) < 0.5).astype(float)))  # fmt: skip
    for words, W, b_v, b_h, v in cases:
        got = _array(ex, words, "the reconstruction",
                     _call_jit(ex, fn, (_f(W), _f(b_v), _f(b_h), _f(v)), words), v.shape,
                     hint="the reconstruction has the shape of v.")  # fmt: skip
        h = _sigmoid(b_h + v @ W)
        expected = _sigmoid(b_v + h @ W.T)
        if _close(got, expected):
            continue
        if _close(got, _sigmoid(b_v + (b_h + v @ W) @ W.T)):
            hint = "the code is the hidden *probability* sigmoid(b_h + v W) (Eq 6.19)."
        elif _close(got, b_v + h @ W.T):
            hint = "the reconstruction is a probability too: apply the sigmoid (Eq 6.20)."
        elif W.shape[0] == W.shape[1] and _close(got, _sigmoid(b_v + _sigmoid(b_h + v @ W) @ W)):
            hint = "the decoder uses the transpose W^T."
        elif _close(got, _sigmoid(b_v + _sigmoid(v @ W) @ W.T)):
            hint = "add the hidden biases b_h in the encoder."
        else:
            hint = "encode with sigmoid(b_h + v W), decode with sigmoid(b_v + h W^T); no sampling."
        _compare(ex, words, "the reconstruction", got, expected, rtol=1e-4, atol=1e-6, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ stacking

_EX_STACK = Exercise("stack_dims", "")


def stack_dims(fn: Callable) -> None:
    r"""Check ``fn(dims)``: the (visible, hidden) sizes of the RBMs of a stack
    ``dims[0] -> dims[1] -> ...`` (§6.7), as a list of pairs."""
    ex = _EX_STACK
    cases = [[64, 32, 16], [64, 32, 16, 2], [10, 3], [784, 500, 500, 2000, 30]]
    for dims in cases:
        words = f"dims = {dims}"
        got = _call(ex, fn, (list(dims),), words)
        expected = list(zip(dims[:-1], dims[1:], strict=True))
        if not isinstance(got, (list, tuple)):
            raise CheckFailed(ex, f"expected a list of pairs, got {_describe(got)}", case=words,
                              hint="return a list like [(64, 32), (32, 16)].")  # fmt: skip
        try:
            pairs = [tuple(int(x) for x in p) for p in got]
        except (TypeError, ValueError):
            raise CheckFailed(ex, "expected a list of (visible, hidden) pairs", case=words,
                              details=[f"got {got!r}"[:200]],
                              hint="each entry is a pair (visible, hidden).") from None  # fmt: skip
        if pairs == expected:
            continue
        if pairs == [(b, a) for a, b in expected]:
            hint = "each RBM is (visible, hidden): the visible side is the layer below."
        elif pairs == expected[::-1]:
            hint = "list the RBMs bottom-up: the first one sees the data."
        elif len(pairs) == len(dims):
            hint = "a stack of L + 1 sizes has L RBMs, one per pair of neighbouring sizes."
        else:
            hint = "RBM r + 1 sees RBM r's hidden units as its visible units."
        raise CheckFailed(ex, "wrong list of RBM sizes", case=words,
                          details=[f"expected {expected}", f"got      {pairs}"],
                          hint=hint)  # fmt: skip
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ Ex 6.5


_EX_TOPIC = Exercise("topic_rbm_gradient", "6.5")


def _topic_loglik(W, b, c, counts):
    """log P(document) of the replicated-softmax RBM (positions distinguishable), by
    enumerating h: -E(v, h) = sum_k n_k b_k + sum_j h_j (c_j + sum_k n_k W_kj), and the
    partition function sums the N independent word positions in closed form."""
    N = jnp.sum(counts)
    H = jnp.asarray(_states(W.shape[1]), W.dtype)
    neg_f = counts @ b + jnp.sum(jax.nn.softplus(c + counts @ W))
    log_z = jax.nn.logsumexp(H @ c + N * jax.nn.logsumexp(b[None, :] + H @ W.T, axis=1))
    return neg_f - log_z


def _topic_stats(W, b, c, counts, *, negative=True, times_n=True, binary=False):
    n = (counts > 0).astype(float) if binary else counts
    N = counts.sum()
    ph = _sigmoid(c + n @ W)
    pos = (np.outer(n, ph), n, ph)
    if not negative:
        return pos
    H = _states(W.shape[1])
    logits = H @ c + N * np.log(np.exp(b[None, :] + H @ W.T).sum(axis=1))
    ph_model = _softmax(logits)
    words = _softmax(b[None, :] + H @ W.T)  # (2^m, d) word distribution given h
    scale = N if times_n else 1.0
    neg_W = scale * words.T @ (ph_model[:, None] * H)
    neg_b = scale * ph_model @ words
    neg_c = ph_model @ H
    return (pos[0] - neg_W, pos[1] - neg_b, pos[2] - neg_c)


def topic_rbm_gradient(fn: Callable) -> None:
    r"""Check ``fn(W, b, c, counts)``: the exact gradient $(\partial_W, \partial_b, \partial_c)$
    of $\log P(\text{document})$ for the topic-model RBM (Eq 6.30-6.31), a document given by its
    word counts ``counts: (d,)``, ``W: (d, m)``, word biases ``b: (d,)``, hidden biases
    ``c: (m,)``; positive statistics (counts times hidden probabilities) minus the model's,
    enumerated over the $2^m$ hidden vectors."""
    ex = _EX_TOPIC
    rng = np.random.default_rng(8)
    cases = []
    for words, d, m in [("vocabulary of 4 words, m = 2 hidden", 4, 2),
                        ("vocabulary of 6 words, m = 3 hidden", 6, 3),
                        ("vocabulary of 5 words, m = 4 hidden", 5, 4)]:  # fmt: skip
        counts = rng.integers(0, 4, size=d).astype(float)
        counts[0] += 1.0
        cases.append((f"{words}, counts {counts.astype(int).tolist()}",
                      0.5 * rng.normal(size=(d, m)),
                      0.5 * rng.normal(size=d), 0.5 * rng.normal(size=m), counts))  # fmt: skip
    for words, W, b, c, counts in cases:
        out = _call_jit(ex, fn, (_f(W), _f(b), _f(c), _f(counts)), words)
        gW, gb, gc = _unpack(ex, words, out, ("dW", "db", "dc"))
        got = [
            _array(ex, words, "dW", gW, W.shape, hint="dW has the shape of W (d, m)."),
            _array(ex, words, "db", gb, b.shape, hint="db has the shape of b (d,)."),
            _array(ex, words, "dc", gc, c.shape, hint="dc has the shape of c (m,)."),
        ]
        # the analytic gradient in NumPy (tests/test_checks_rbm_applications.py proves it
        # equals jax.grad of the brute-force log-likelihood _topic_loglik)
        expected = list(_topic_stats(W, b, c, counts))
        if all(_close(g, e) for g, e in zip(got, expected, strict=True)):
            continue
        if all(_close(g, e) for g, e in zip(got, _topic_stats(W, b, c, counts, negative=False),
                                             strict=True)):  # fmt: skip
            hint = (
                "that is only the positive phase; subtract the model's statistics, averaged "
                "over all 2^m hidden vectors with their probabilities P(h)."
            )
        elif all(_close(g, e) for g, e in zip(got, _topic_stats(W, b, c, counts, times_n=False),
                                               strict=True)):  # fmt: skip
            hint = (
                "a document has N = sum(counts) words, each drawn from the softmax: the model's "
                "expected count of word k given h is N times its probability."
            )
        elif all(_close(g, e) for g, e in zip(got, _topic_stats(W, b, c, counts, binary=True),
                                               strict=True)):  # fmt: skip
            hint = "use the word counts, not whether a word occurs."
        else:
            hint = (
                "positive: counts_k * P(h_j = 1 | doc); negative: sum over h of P(h) h_j N "
                "softmax_k(b + W h), with P(h) proportional to "
                "exp(c.h) (sum_k exp(b_k + (W h)_k))^N."
            )
        for name, g, e in zip(("dW", "db", "dc"), got, expected, strict=True):
            _compare(ex, words, name, g, e, rtol=1e-4, atol=1e-6, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ Ex 6.7

_EX_DISC = Exercise("discriminative_probs", "6.7")
_EX_DGRAD = Exercise("discriminative_grad", "6.7")


def _disc_case(seed: int, n: int, d: int, k: int, m: int):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(d, m)), rng.normal(size=(k, m)), rng.normal(size=m),
            rng.normal(size=k), (rng.uniform(size=(n, d)) < 0.5).astype(float))  # fmt: skip


def _disc_brute(W, U, b_h, b_c, v, *, class_bias=True):
    """P(y | v) by summing exp(-E(v, y, h)) over all 2^m hidden vectors, then normalizing."""
    k, m = U.shape
    H = _states(m)
    out = np.zeros((v.shape[0], k))
    for y in range(k):
        # -E = b_c[y] + h.(b_h + U[y] + v W) (+ b_f.v, which cancels in P(y | v))
        act = H @ (b_h[None, :] + U[y][None, :] + v @ W).T  # (2^m, n)
        out[:, y] = np.exp((b_c[y] if class_bias else 0.0) + act).sum(axis=0)
    return out / out.sum(axis=1, keepdims=True)


def discriminative_probs(fn: Callable) -> None:
    r"""Check ``fn(W, U, b_h, b_c, v)``: $P(y \mid v)$ of Eq 6.28 for every class,
    ``W: (d, m)``, ``U: (k, m)``, ``b_h: (m,)``, ``b_c: (k,)``, ``v: (n, d)`` -> ``(n, k)``,
    against the brute-force sum over all $2^m$ hidden vectors."""
    ex = _EX_DISC
    cases = [("n = 3, d = 4 features, k = 3 classes, m = 2 hidden", 0, 3, 4, 3, 2),
             ("n = 5, d = 6 features, k = 2 classes, m = 5 hidden", 1, 5, 6, 2, 5),
             ("n = 2, d = 3 features, k = 4 classes, m = 3 hidden", 2, 2, 3, 4, 3)]  # fmt: skip
    for words, seed, n, d, k, m in cases:
        W, U, b_h, b_c, v = _disc_case(seed, n, d, k, m)
        args = tuple(_f(a) for a in (W, U, b_h, b_c, v))
        got = _array(ex, words, "P(y | v)", _call_jit(ex, fn, args, words), (n, k),
                     hint="one row of k class probabilities per example.")  # fmt: skip
        expected = _disc_brute(W, U, b_h, b_c, v)
        if _close(got, expected):
            continue
        o = b_h[None, None, :] + U[None, :, :] + (v @ W)[:, None, :]  # (n, k, m)
        if _close(got, _disc_brute(W, U, b_h, b_c, v, class_bias=False)):
            hint = "multiply by exp(b_c[y]): the class biases are part of Eq 6.28."
        elif _close(got, _softmax(b_c[None] + _sigmoid(o).sum(-1))):
            hint = "each hidden unit gives a factor (1 + exp(o_yj)): sum softplus(o), not sigmoid."
        elif _close(got, _softmax(b_c[None] + o.sum(-1))):
            hint = "summing h_j over {0, 1} gives log(1 + exp(o_yj)) = softplus(o_yj), not o_yj."
        else:
            hint = (
                "log P(y | v) = b_c[y] + sum_j softplus(b_h + U[y] + v W)_j, minus its "
                "logsumexp over y."
            )
        _compare(ex, words, "P(y | v)", got, expected, rtol=1e-4, atol=1e-6, hint=hint)
    _passed(ex, len(cases))


def _disc_nll(params, v, y):
    W, U, b_h, b_c = params
    o = b_h[None, None, :] + U[None, :, :] + (v @ W)[:, None, :]
    scores = b_c[None, :] + jnp.sum(jax.nn.softplus(o), axis=-1)
    logp = scores - jax.nn.logsumexp(scores, axis=1, keepdims=True)
    return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))


def _disc_reference(W, U, b_h, b_c, v, y):
    """Gradient of the mean -log P(y | v): coefficient (P(l | v) - [l = y]) sigmoid(o_lj)."""
    n, k = v.shape[0], U.shape[0]
    o = b_h[None, None, :] + U[None, :, :] + (v @ W)[:, None, :]
    scores = b_c[None, :] + np.logaddexp(0.0, o).sum(-1)
    P = _softmax(scores)
    T = np.eye(k)[y]
    coef = (P - T)[:, :, None] * _sigmoid(o)
    return [v.T @ coef.sum(1) / n, coef.sum(0) / n, coef.sum((0, 1)) / n, (P - T).sum(0) / n]


def _disc_printed(W, U, b_h, b_c, v, y, sign=1.0):
    """The printed Eq 6.29 (no P(l | v) weights on the second sum), averaged over examples."""
    n = v.shape[0]
    o = b_h[None, None, :] + U[None, :, :] + (v @ W)[:, None, :]
    s = _sigmoid(o)  # (n, k, m)
    sy = s[np.arange(n), y]  # (n, m)
    gW = (np.einsum("nd,nm->dm", v, sy) - np.einsum("nd,nkm->dm", v, s)) / n
    onehot = np.eye(U.shape[0])[y]
    gU = (np.einsum("nk,nm->km", onehot, sy) - s.sum(0)) / n
    gb = (sy.sum(0) - s.sum(axis=(0, 1))) / n
    gc = (onehot.sum(0) - 1.0 * n) / n
    return [sign * -g for g in (gW, gU, gb, gc)]


def discriminative_grad(fn: Callable) -> None:
    r"""Check ``fn(W, U, b_h, b_c, v, y)``: the gradient of the mean $-\log P(y \mid v)$ of Eq
        6.28 with respect to ``(W, U, b_h, b_c)``, in the corrected form of Eq 6.29 (erratum E10:
        the second sum is weighted by $P(l \mid v)$), against a NumPy reference that the tests
    compare with ``jax.grad``. ``y: (n,)`` integer
        class labels."""
    ex = _EX_DGRAD
    cases = [("n = 4, d = 4 features, k = 3 classes, m = 2 hidden", 3, 4, 4, 3, 2),
             ("n = 6, d = 5 features, k = 2 classes, m = 4 hidden", 4, 6, 5, 2, 4)]  # fmt: skip
    for words, seed, n, d, k, m in cases:
        W, U, b_h, b_c, v = _disc_case(seed, n, d, k, m)
        y = np.random.default_rng(seed + 30).integers(0, k, size=n)
        args = (*(_f(a) for a in (W, U, b_h, b_c, v)), jnp.asarray(y, jnp.int32))
        out = _call_jit(ex, fn, args, words)
        names = ("dW", "dU", "db_h", "db_c")
        parts = _unpack(ex, words, out, names)
        shapes = (W.shape, U.shape, b_h.shape, b_c.shape)
        got = [_array(ex, words, nm, p, s, hint=f"{nm} has the shape of {nm[1:]} {s}.")
               for nm, p, s in zip(names, parts, shapes, strict=True)]  # fmt: skip
        # the corrected Eq 6.29 in NumPy (tests/test_checks_rbm_applications.py proves it
        # equals jax.grad of the mean -log of Eq 6.28, _disc_nll)
        expected = _disc_reference(W, U, b_h, b_c, v, y)
        if all(_close(g, e) for g, e in zip(got, expected, strict=True)):
            continue
        if all(_close(g, -e) for g, e in zip(got, expected, strict=True)):
            hint = "that is the gradient of +log P(y | v); the loss is the negative log-likelihood."
        elif all(_close(g, e) for g, e in zip(got, _disc_printed(W, U, b_h, b_c, v, y),
                                               strict=True)):  # fmt: skip
            hint = (
                "that is Eq 6.29 as printed: weight the second sum by P(l | v) (erratum E10), "
                "the model's belief in each class l."
            )
        elif _close(got[0], expected[0] * n) or _close(got[0], expected[0] / n):
            hint = "average the gradient over the n examples (the loss is a mean)."
        else:
            hint = (
                "d(-log P(y|v))/d theta = -sum_j sigmoid(o_yj) do_yj/dtheta + sum_l P(l|v) "
                "sum_j sigmoid(o_lj) do_lj/dtheta, plus the class-bias terms."
            )
        for nm, g, e in zip(names, got, expected, strict=True):
            _compare(ex, words, nm, g, e, rtol=1e-4, atol=1e-6, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ Ex 6.8, 6.9

_EX_NODES = Exercise("node_embeddings", "6.8")


def _graph_case(rng, n, p):
    upper = np.triu((rng.uniform(size=(n, n)) < p).astype(float), k=1)
    return upper + upper.T


def node_embeddings(fn: Callable) -> None:
    r"""Check ``fn(W, c, A)``: the topic-model RBM's hidden probabilities (Eq 6.30) for every
    node of a graph with adjacency ``A: (n, n)``, node $i$'s document holding the word $j$ once
    for every neighbour $j$ and the word $i$ once (itself), ``W: (n, m)``, ``c: (m,)`` ->
    ``(n, m)``."""
    ex = _EX_NODES
    rng = np.random.default_rng(68)
    cases = []
    for words, n, m, p in [("6 nodes, m = 2 hidden", 6, 2, 0.5),
                           ("9 nodes with an isolated node, m = 3 hidden", 9, 3, 0.3),
                           ("5 nodes, m = 4 hidden", 5, 4, 0.6)]:  # fmt: skip
        A = _graph_case(rng, n, p)
        if "isolated" in words:
            A[0, :] = A[:, 0] = 0.0
        A[1, 2] = A[2, 1] = 1.0  # at least one edge
        cases.append((words, rng.normal(size=(n, m)), rng.normal(size=m), A))
    for words, W, c, A in cases:
        out = _call_jit(ex, fn, (_f(W), _f(c), _f(A)), words)
        got = _array(ex, words, "the embeddings", out, (A.shape[0], W.shape[1]),
                     hint="one row of m probabilities per node.")  # fmt: skip
        counts = A + np.eye(A.shape[0])
        expected = _sigmoid(c + counts @ W)
        if _close(got, expected):
            continue
        deg = counts.sum(axis=1, keepdims=True)
        if _close(got, _sigmoid(c + A @ W)):
            hint = "each node's document also holds the node itself: add the identity to A."
        elif _close(got, _sigmoid(c + (counts / deg) @ W)):
            hint = "Eq 6.30 sums over the words of the document: use counts, not frequencies."
        elif _close(got, _softmax(c + counts @ W)):
            hint = "the hidden units are binary: each gets its own sigmoid, not a softmax."
        elif _close(got, _sigmoid(counts @ W)):
            hint = "add the hidden biases c."
        else:
            hint = "counts = A + I (row i: node i's document); then Eq 6.30, sigmoid(c + counts W)."
        _compare(ex, words, "the embeddings", got, expected, rtol=1e-4, atol=1e-6, hint=hint)
    _passed(ex, len(cases))


_EX_GROUPS = Exercise("group_word_probs", "6.9")


def group_word_probs(fn: Callable) -> None:
    r"""Check ``fn(W, b, h, split)``: Eq 6.31 for a visible layer of two softmax groups sharing
    the hidden units, words ``0..split-1`` (neighbours) and ``split..d-1`` (keywords): each
    group's softmax of $b + W h$ over its own words, ``W: (d, m)``, ``b: (d,)``,
    ``h: (n, m)`` -> ``(n, d)``."""
    ex = _EX_GROUPS
    rng = np.random.default_rng(69)
    cases = []
    for words, n, d, m, split in [("n = 3, 5 + 3 words, m = 2 hidden", 3, 8, 2, 5),
                                  ("n = 4, 4 + 6 words, m = 3 hidden", 4, 10, 3, 4),
                                  ("n = 2, 6 + 1 words, m = 4 hidden", 2, 7, 4, 6)]:  # fmt: skip
        cases.append((words, rng.normal(size=(d, m)), rng.normal(size=d),
                      rng.uniform(size=(n, m)), split))  # fmt: skip
    for words, W, b, h, split in cases:
        if callable(fn):  # ``split`` is a Python int: closed over, so that one jit suffices
            out = _call_jit(ex, lambda W, b, h, s=split: fn(W, b, h, s), (_f(W), _f(b), _f(h)),
                            words)  # fmt: skip
        else:
            out = _call(ex, fn, (_f(W), _f(b), _f(h), split), words)
        got = _array(ex, words, "the word probabilities", out, (h.shape[0], W.shape[0]),
                     hint="one row of d probabilities per h.")  # fmt: skip
        z = b + h @ W.T
        expected = np.concatenate([_softmax(z[:, :split]), _softmax(z[:, split:])], axis=1)
        if _close(got, expected):
            continue
        if _close(got, _softmax(z)):
            hint = "each group has its own softmax: normalize words [:split] and [split:] apart."
        elif _close(got, _sigmoid(z)):
            hint = "the visible groups are softmax units, not independent sigmoids."
        elif _close(got, np.concatenate([_softmax(h @ W.T[:, :split]),
                                         _softmax(h @ W.T[:, split:])], axis=1)):  # fmt: skip
            hint = "add the word biases b before the softmax."
        else:
            hint = "z = b + h W^T; softmax of z[:, :split] and of z[:, split:], side by side."
        _compare(ex, words, "the word probabilities", got, expected, rtol=1e-4, atol=1e-6,
                 hint=hint)  # fmt: skip
    _passed(ex, len(cases))
