r"""Self-checks for the exercises on ensembles, dropout and pretraining (Aggarwal §4.5, §4.7).

Every check runs the student's function on a few fixed cases and compares with a reference
written out here in NumPy: a set of the drawn indices (out-of-bag fraction), the covariance
algebra $\mathbf 1^\top\Sigma\mathbf 1/m^2$ (variance of an average), the same Bernoulli draw
(dropout), a loop over ``itertools.product`` of the masks (the geometric-mean ensemble) and a
forward pass (weight scaling, one pretraining stage). Common slips are recognized and answered
with a targeted hint.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from course_lib.checks import (
    Exercise,
    _array,
    _call,
    _close_within,
    _compare,
    _f,
    _passed,
    _scalar,
)

_close = _close_within(rtol=1e-5, atol=1e-7)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


# ------------------------------------------------------------------------------ out of bag

_EX_OOB = Exercise("oob_fraction", "")


def oob_fraction(fn: Callable) -> None:
    r"""Check ``fn(indices, n)``: the fraction of ``0..n-1`` that never occurs in ``indices``."""
    ex = _EX_OOB
    rng = np.random.default_rng(4)
    cases = [
        ("n = 5, indices [0, 0, 1, 3, 3]", np.array([0, 0, 1, 3, 3]), 5),
        ("n = 4, every point drawn once", np.array([2, 0, 3, 1]), 4),
        ("n = 6, one point drawn six times", np.array([4, 4, 4, 4, 4, 4]), 6),
        ("n = 100, a bootstrap sample of 100", rng.integers(0, 100, 100), 100),
        ("n = 50, a sample of 20 (s < n)", rng.integers(0, 50, 20), 50),
    ]
    for words, idx, n in cases:
        got = _scalar(ex, words, "the fraction", _call(ex, fn, (jnp.asarray(idx), n), words))
        expected = 1.0 - len(set(idx.tolist())) / n
        if math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-7):
            continue
        if math.isclose(got, 1.0 - expected, abs_tol=1e-7):
            hint = "that is the fraction of points that *were* drawn (in the bag); take the rest."
        elif math.isclose(got, (1.0 - 1.0 / n) ** len(idx), abs_tol=1e-7):
            hint = "(1 - 1/n)^s is the expected fraction; count what these indices actually miss."
        elif math.isclose(got, 1.0 - len(set(idx.tolist())) / len(idx), abs_tol=1e-7):
            hint = "divide by n, the number of points, not by the number of draws."
        else:
            hint = "mark every drawn index (e.g. with a boolean array of length n), then count."
        _compare(ex, words, "the fraction", np.float64(got), expected, rtol=1e-6, atol=1e-7,
                 hint=hint)  # fmt: skip
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ variance

_EX_EQUI = Exercise("equicorrelated_variance", "")


def equicorrelated_variance(fn: Callable) -> None:
    r"""Check ``fn(sigma2, rho, m)``: the variance of the mean of ``m`` variables of variance
    ``sigma2`` with pairwise correlation ``rho``."""
    ex = _EX_EQUI
    cases = [(1.0, 0.0, 4), (1.0, 1.0, 7), (2.0, 0.3, 10), (0.5, 0.1, 1), (3.0, 0.6, 25)]
    for sigma2, rho, m in cases:
        words = f"sigma2 = {sigma2}, rho = {rho}, m = {m}"
        got = _scalar(ex, words, "the variance", _call(ex, fn, (sigma2, rho, m), words))
        cov = sigma2 * (rho * np.ones((m, m)) + (1.0 - rho) * np.eye(m))
        expected = float(np.ones(m) @ cov @ np.ones(m)) / m**2
        if math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-9):
            continue
        if math.isclose(got, sigma2 / m, rel_tol=1e-6):
            hint = "sigma^2/m holds for independent members; correlated ones share rho sigma^2."
        elif math.isclose(got, rho * sigma2, rel_tol=1e-6):
            hint = (
                "rho sigma^2 is only the plateau (m -> infinity); add the part that falls with m."
            )
        elif math.isclose(got, rho + (1.0 - rho) / m, rel_tol=1e-6):
            hint = "scale by the members' variance sigma^2."
        else:
            hint = "add up all m^2 covariances (m variances, m(m-1) covariances), divide by m^2."
        _compare(ex, words, "the variance", np.float64(got), expected, rtol=1e-6, atol=1e-9,
                 hint=hint)  # fmt: skip
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ dropout

_EX_DROPOUT = Exercise("dropout_forward", "")


def dropout_forward(fn: Callable) -> None:
    r"""Check ``fn(key, x, keep)`` $= m \odot x / p$ with ``m = jax.random.bernoulli(key, keep,
    x.shape)``."""
    ex = _EX_DROPOUT
    cases = [
        ("x of shape (4, 5), keep = 0.5", 0, (4, 5), 0.5),
        ("x of shape (8, 3), keep = 0.8", 1, (8, 3), 0.8),
        ("x of shape (6,), keep = 0.2", 2, (6,), 0.2),
        ("keep = 1: nothing is dropped", 3, (3, 4), 1.0),
    ]
    for words, seed, shape, keep in cases:
        key = jax.random.key(100 + seed)
        x = _f(np.random.default_rng(seed).normal(size=shape) + 2.0)
        got = _array(ex, words, "the output", _call(ex, fn, (key, x, keep), words), shape,
                     hint="the output has the shape of x.")  # fmt: skip
        xn = np.asarray(x, np.float64)
        mask = np.asarray(jax.random.bernoulli(key, keep, shape), np.float64)
        expected = mask * xn / keep
        if _close(got, expected):
            continue
        flipped = np.asarray(jax.random.bernoulli(key, 1.0 - keep, shape), np.float64)
        if _close(got, mask * xn):
            hint = "inverted dropout divides the kept values by keep, so E[output] = x."
        elif _close(got, mask * xn * keep):
            hint = (
                "divide by keep, don't multiply: the kept values must grow to keep E[output] = x."
            )
        elif keep < 1.0 and _close(got, mask * xn / (1.0 - keep)):
            hint = "divide by the keep probability p, not by the drop probability 1 - p."
        elif _close(got, flipped * xn / keep) or _close(got, (1.0 - mask) * xn / keep):
            hint = "keep is the probability of *keeping* a unit: jax.random.bernoulli(key, keep)."
        else:
            hint = "draw the mask with jax.random.bernoulli(key, keep, x.shape), use the key as is."
        _compare(ex, words, "the output", got, expected, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ geometric mean

_EX_GEO = Exercise("geometric_mean_prediction", "")
_EX_SCALED = Exercise("weight_scaled_prediction", "")


def _softmax_regression_cases() -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray, float]]:
    rng = np.random.default_rng(7)
    out = []
    for words, d, k, n, keep in [
        ("d = 3 inputs, 2 classes, keep = 0.5", 3, 2, 2, 0.5),
        ("d = 5 inputs, 4 classes, keep = 0.8", 5, 4, 3, 0.8),
        ("d = 6 inputs, 3 classes, keep = 0.3", 6, 3, 4, 0.3),
    ]:
        out.append(
            (words, rng.normal(size=(d, k)), rng.normal(size=k), rng.normal(size=(n, d)), keep)
        )
    return out


def _geometric_reference(W, b, x, keep, *, weighted=True, normalize=True, arithmetic=False):
    d = W.shape[0]
    acc = np.zeros((x.shape[0], W.shape[1]))
    for bits in itertools.product([0.0, 1.0], repeat=d):
        m = np.asarray(bits)
        prob = keep ** m.sum() * (1.0 - keep) ** (d - m.sum()) if weighted else 0.5**d
        p = _softmax((x * m) @ W + b)
        acc += prob * (p if arithmetic else np.log(p))
    if arithmetic:
        return acc
    out = np.exp(acc)
    return out / out.sum(axis=1, keepdims=True) if normalize else out


def geometric_mean_prediction(fn: Callable) -> None:
    r"""Check ``fn(W, b, x, keep)``: the normalized, probability-weighted geometric mean of the
    softmax outputs of all $2^d$ input-dropout sub-networks of softmax regression."""
    ex = _EX_GEO
    cases = _softmax_regression_cases()
    for words, W, b, x, keep in cases:
        got = _array(
            ex,
            words,
            "the probabilities",
            _call(ex, fn, (_f(W), _f(b), _f(x), keep), words),
            (x.shape[0], W.shape[1]),
            hint="one row of class probabilities per row of x.",
        )
        expected = _geometric_reference(W, b, x, keep)
        if _close(got, expected, rtol=1e-4, atol=1e-6):
            continue
        if _close(got, _geometric_reference(W, b, x, keep, weighted=False), 1e-4, 1e-6):
            hint = (
                "weight each mask by its probability keep^|m| (1 - keep)^(d - |m|): with "
                "keep != 0.5 the masks are not equally likely."
            )
        elif _close(got, _geometric_reference(W, b, x, keep, arithmetic=True), 1e-4, 1e-6):
            hint = "that is the arithmetic mean; average the log-probabilities (geometric mean)."
        elif _close(got, _geometric_reference(W, b, x, keep, normalize=False), 1e-4, 1e-6):
            hint = "the geometric means do not sum to 1: renormalize each row (Eq 4.11)."
        else:
            hint = "loop over all 2^d masks m of the inputs: softmax((x * m) @ W + b) for each."
        _compare(ex, words, "the probabilities", got, expected, rtol=1e-4, atol=1e-6, hint=hint)
    _passed(ex, len(cases))


def weight_scaled_prediction(fn: Callable) -> None:
    r"""Check ``fn(W, b, x, keep)`` $= \mathrm{softmax}((p\,x) W + b)$: softmax regression
    trained with input dropout, evaluated by the weight-scaling rule."""
    ex = _EX_SCALED
    cases = _softmax_regression_cases()
    for words, W, b, x, keep in cases:
        got = _array(
            ex,
            words,
            "the probabilities",
            _call(ex, fn, (_f(W), _f(b), _f(x), keep), words),
            (x.shape[0], W.shape[1]),
            hint="one row of class probabilities per row of x.",
        )
        expected = _softmax(keep * x @ W + b)
        if _close(got, expected, rtol=1e-4, atol=1e-6):
            continue
        if _close(got, _softmax(x @ W + b), 1e-4, 1e-6):
            hint = "scale the weights leaving the dropped units (the inputs) by keep."
        elif _close(got, _softmax(keep * (x @ W + b)), 1e-4, 1e-6):
            hint = "only the inputs were dropped: scale x W, not the bias."
        elif _close(got, _softmax(x @ W / keep + b), 1e-4, 1e-6):
            hint = "dividing by keep belongs to inverted dropout during training; here multiply."
        else:
            hint = "the prediction is softmax((keep * x) @ W + b), one row per example."
        _compare(ex, words, "the probabilities", got, expected, rtol=1e-4, atol=1e-6, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ pretraining

_EX_STAGE = Exercise("stage_reconstruction_loss", "")


def _stage_reference(W, b, V, c, H, *, enc=True, dec_sigmoid=False, reduce="mean"):
    code = H @ W + b
    code = _sigmoid(code) if enc else code
    recon = code @ V + c
    recon = _sigmoid(recon) if dec_sigmoid else recon
    sq = (H - recon) ** 2
    return {"mean": sq.mean(), "sum": sq.sum(), "rows": sq.sum(axis=1).mean()}[reduce]


def stage_reconstruction_loss(fn: Callable) -> None:
    r"""Check ``fn(W, b, V, c, H)`` $= \frac{1}{nd}\|H - \sigma(HW + b)V - c\|_F^2$: the loss of
    one pretraining stage (sigmoid encoder, linear decoder)."""
    ex = _EX_STAGE
    rng = np.random.default_rng(11)
    cases = []
    for words, n, d, h in [
        ("n = 4 rows, d = 3, h = 2", 4, 3, 2),
        ("n = 10 rows, d = 6, h = 4", 10, 6, 4),
        ("n = 7 rows, d = 5, h = 8 (a wider code)", 7, 5, 8),
    ]:
        cases.append(
            (words, rng.normal(size=(d, h)), rng.normal(size=h), rng.normal(size=(h, d)),
             rng.normal(size=d), rng.uniform(size=(n, d)))
        )  # fmt: skip
    for words, W, b, V, c, H in cases:
        args = tuple(_f(a) for a in (W, b, V, c, H))
        got = _scalar(ex, words, "the loss", _call(ex, fn, args, words))
        expected = float(_stage_reference(W, b, V, c, H))
        if math.isclose(got, expected, rel_tol=1e-4, abs_tol=1e-7):
            continue
        if math.isclose(got, _stage_reference(W, b, V, c, H, reduce="sum"), rel_tol=1e-4):
            hint = "take the mean over all n * d entries, not the sum."
        elif math.isclose(got, _stage_reference(W, b, V, c, H, reduce="rows"), rel_tol=1e-4):
            hint = "divide by n * d (every entry), not only by the number of rows n."
        elif math.isclose(got, _stage_reference(W, b, V, c, H, enc=False), rel_tol=1e-4):
            hint = "the code is sigmoid(H W + b): apply the sigmoid in the encoder."
        elif math.isclose(got, _stage_reference(W, b, V, c, H, dec_sigmoid=True), rel_tol=1e-4):
            hint = "the decoder here is linear: H_hat = code @ V + c, no sigmoid."
        else:
            hint = "encode with sigmoid(H W + b), decode with @ V + c, then the mean squared error."
        _compare(ex, words, "the loss", np.float64(got), expected, rtol=1e-4, atol=1e-7,
                 hint=hint)  # fmt: skip
    _passed(ex, len(cases))
