r"""Self-checks for the exercises on regularized autoencoders and the VAE (Aggarwal §4.10).

References are independent of the student's code: NumPy loops (top-$k$, masking statistics),
the library's closed forms (:func:`course_lib.regularized_autoencoders.contractive_penalty`)
cross-checked here against ``jax.jacfwd`` Jacobians, and the textbook KL divergence between
two Gaussians written per coordinate. Common slips (the $k$ *smallest*, magnitudes instead of
values, a Bernoulli mask instead of an exact count, a missing $\tfrac12$ or square, the
normalizing constant of the Gaussian likelihood, ...) get a targeted hint.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from course_lib import regularized_autoencoders as ra
from course_lib.checks import (
    CheckFailed,
    Exercise,
    _array,
    _call,
    _close_within,
    _compare,
    _f,
    _passed,
)

_close = _close_within(rtol=1e-4, atol=1e-6)


# ------------------------------------------------------------------------------ top-k

_EX_TOPK = Exercise("top_k_activation", "")

_TOPK_CASES = [
    ("one row, k = 2", [[0.3, -1.2, 2.5, 0.9, 0.1]], 2),
    ("negative activations (tanh units), k = 2",
     [[-3.0, 0.5, -0.2, 0.4], [1.0, -4.0, 2.0, -0.5]], 2),
    ("three rows with different winners, k = 1",
     [[1.0, 2.0, 3.0], [3.0, 1.0, 2.0], [2.0, 3.0, 1.0]], 1),
    ("k = m keeps everything", [[0.5, -0.5, 1.5]], 3),
    ("tied values: exactly k survive", [[1.0, 1.0, 1.0, 0.5], [0.2, 0.7, 0.7, 0.7]], 2),
    ("a batch where one row is large", [[0.1, 0.2, 0.3, 0.4], [5.0, 6.0, 7.0, 8.0]], 2),
]  # fmt: skip


def top_k_activation(fn: Callable) -> None:
    r"""Check ``fn(h, k)``: the ``k`` largest entries of each row of ``h: (n, m)`` kept, the rest 0.

    With ties any choice of exactly ``k`` among the tied values is accepted.
    """
    ex = _EX_TOPK
    for words, rows, k in _TOPK_CASES:
        h = np.asarray(rows, np.float64)
        inputs = [f"h = {h.tolist()}", f"k = {k}"]
        got = _array(
            ex, words, "the output", _call(ex, fn, (_f(h), k), words, inputs), h.shape,
            hint="return an array of the shape of h, with the dropped units set to 0.",
        )  # fmt: skip
        for r in range(h.shape[0]):
            kept = got[r] != 0
            ok = (
                kept.sum() == k
                and np.allclose(got[r][kept], h[r][kept], rtol=1e-6)
                and np.allclose(np.sort(h[r][kept]), np.sort(h[r])[::-1][:k][::-1], rtol=1e-6)
            )
            if ok:
                continue
            hint = "keep, in each row, the k largest values and set every other entry to 0."
            smallest = np.sort(h[r])[:k]
            by_magnitude = h[r][np.argsort(-np.abs(h[r]), kind="stable")[:k]]
            if kept.sum() == k and np.allclose(np.sort(got[r][kept]), smallest):
                hint = "you kept the k smallest values; keep the k largest."
            elif kept.sum() == k and np.allclose(np.sort(got[r][kept]), np.sort(by_magnitude)):
                hint = (
                    "you ranked by magnitude |h|; rank by the value itself (a strongly "
                    "negative activation is not a strong one)."
                )
            elif kept.sum() > k:
                hint = (
                    f"row {r} keeps {int(kept.sum())} units, not exactly {k}: comparing with the "
                    "k-th largest value keeps every tie. Select by rank (an argsort, or "
                    "jax.lax.top_k) so that exactly k survive."
                )
            elif h.shape[0] > 1 and kept.sum() != k:
                hint = (
                    f"row {r} keeps {int(kept.sum())} units: select the top k in *each row* "
                    "(each example), not in the whole batch."
                )
            raise CheckFailed(
                ex,
                "wrong units kept",
                case=words,
                details=[*inputs, f"got row {r}: {got[r].tolist()}"],
                hint=hint,
            )
    _passed(ex, len(_TOPK_CASES))


# ------------------------------------------------------------------------------ masking noise

_EX_MASK = Exercise("masking_noise", "")


def masking_noise(fn: Callable) -> None:
    r"""Check ``fn(X, key, fraction)``: exactly $\lfloor f d\rfloor$ zeros per row, drawn without
    replacement, independently per row, uniformly over positions; the rest untouched."""
    ex = _EX_MASK
    count = 0
    for words, shape, f, seed in [
        ("X of shape (200, 10), fraction 0.27", (200, 10), 0.27, 0),
        ("X of shape (100, 64), fraction 0.5", (100, 64), 0.5, 1),
        ("fraction 0: nothing masked", (20, 8), 0.0, 2),
        ("fraction 1: everything masked", (20, 8), 1.0, 3),
    ]:
        X = 0.5 + np.asarray(jax.random.uniform(jax.random.key(100 + seed), shape), np.float64)
        key = jax.random.key(seed)
        got = _array(ex, words, "the output", _call(ex, fn, (_f(X), key, f), words), shape)
        zeros = np.sum(got == 0, axis=1)
        m = math.floor(f * shape[1] + 1e-9)
        if not np.all(zeros == m):
            hint = f"each row must have exactly floor(f*d) = {m} zeros."
            if zeros.min() != zeros.max():
                hint += (
                    " Yours varies from row to row: a coin per entry gives f*d zeros only on "
                    "average. Choose exactly that many positions without replacement (rank "
                    "uniform random numbers, or a random permutation, per row)."
                )
            elif zeros[0] == round(f * shape[1]) or zeros[0] == math.ceil(f * shape[1]):
                hint += " Round down (floor), not to the nearest integer or up."
            raise CheckFailed(
                ex,
                "wrong number of masked entries",
                case=words,
                details=[f"expected {m} per row, got counts from {zeros.min()} to {zeros.max()}"],
                hint=hint,
            )
        kept = got != 0
        if not np.allclose(got[kept], X[kept], rtol=1e-6):
            raise CheckFailed(
                ex, "entries that are not masked changed", case=words,
                hint="leave every unmasked entry equal to the input.",
            )  # fmt: skip
        again = _array(ex, words, "the output", _call(ex, fn, (_f(X), key, f), words), shape)
        if not np.array_equal(again, got):
            raise CheckFailed(
                ex, "the same key gave a different mask", case=words,
                hint="draw every random number from the key you are given, nothing else.",
            )  # fmt: skip
        if 0 < m < shape[1]:
            masks = got == 0
            if np.mean(np.all(masks == masks[:1], axis=1)) > 0.5:
                raise CheckFailed(
                    ex, "every row has the same mask", case=words,
                    hint="draw the positions independently for each row (a (n, d) array of "
                    "uniforms, ranked along axis 1).",
                )  # fmt: skip
            other = _array(
                ex, words, "the output", _call(ex, fn, (_f(X), jax.random.key(99), f), words), shape
            )
            if np.array_equal(other, got):
                raise CheckFailed(
                    ex, "a different key gave the same mask", case=words,
                    hint="the mask must come from the key.",
                )  # fmt: skip
        count += 1
    # uniform over positions: each column masked about f of the time
    words = "4000 rows of 10: each position masked with frequency 0.3"
    X = np.ones((4000, 10))
    got = _array(ex, words, "the output", _call(ex, fn, (_f(X), jax.random.key(7), 0.3), words))
    freq = np.mean(got == 0, axis=0)
    if np.any(np.abs(freq - 0.3) > 6 * math.sqrt(0.21 / 4000)):
        raise CheckFailed(
            ex, "some positions are masked far more often than others", case=words,
            details=[f"masking frequency per column: {np.round(freq, 3).tolist()}"],
            hint="every position of a row should be equally likely to be chosen.",
        )  # fmt: skip
    _passed(ex, count + 1)


# ------------------------------------------------------------------------------ contractive

_EX_CAE = Exercise("cae_penalty", "")
_EX_CAE_RELU = Exercise("cae_penalty_relu", "4.5")


def _cae_cases() -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    cases = []
    for words, d, k, n, seed, scale in [
        ("d = 5 inputs, k = 3 hidden units, 4 examples", 5, 3, 4, 0, 1.0),
        ("d = 3, k = 6 (overcomplete), 5 examples", 3, 6, 5, 1, 1.5),
        ("one example, large weights (saturated units)", 4, 2, 1, 2, 4.0),
    ]:
        kw, kb, kx = jax.random.split(jax.random.key(200 + seed), 3)
        W = scale * np.asarray(jax.random.normal(kw, (d, k)), np.float64)
        b = 0.5 * np.asarray(jax.random.normal(kb, (k,)), np.float64)
        X = np.asarray(jax.random.normal(kx, (n, d)), np.float64)
        cases.append((words, W, b, X))
    return cases


def _jacobian_penalty(W: np.ndarray, b: np.ndarray, X: np.ndarray, activation: str) -> float:
    """The reference: 1/2 of the squared Frobenius norm of jax.jacfwd's Jacobian, row-averaged."""
    with jax.enable_x64(True):
        p = ra.Autoencoder(
            jnp.asarray(W),
            jnp.asarray(b),
            jnp.zeros((W.shape[1], W.shape[0])),
            jnp.zeros(W.shape[0]),
        )
        return float(ra.contractive_penalty_autodiff(p, jnp.asarray(X), activation))


def _penalty_variant(W, b, X, slope_fn, *, half=True, square=True, mean=True) -> float:
    a = X @ W + b[None, :]
    s = slope_fn(a)
    s = s**2 if square else s
    per_row = np.sum(s * np.sum(W**2, axis=0)[None, :], axis=1) * (0.5 if half else 1.0)
    return float(per_row.mean() if mean else per_row.sum())


def _sig(a):
    return 1 / (1 + np.exp(-a))


def _check_penalty(fn: Callable, ex: Exercise, activation: str) -> None:
    cases = _cae_cases()
    for words, W, b, X in cases:
        inputs = [f"W: shape {W.shape}", f"b = {np.round(b, 3).tolist()}", f"X: shape {X.shape}"]
        got = _array(
            ex, words, "R", _call(ex, fn, (_f(W), _f(b), _f(X)), words, inputs), (),
            hint="return one number: R averaged over the examples (rows of X).",
        )  # fmt: skip
        expected = _jacobian_penalty(W, b, X, activation)
        if _close(got, expected, rtol=1e-4, atol=1e-7):
            continue
        sig_slope = lambda a: _sig(a) * (1 - _sig(a))  # noqa: E731
        relu_slope = lambda a: (a > 0).astype(float)  # noqa: E731
        slope = sig_slope if activation == "sigmoid" else relu_slope
        hint = (
            "R = 1/2 sum_j (dh_j/da_j)^2 sum_i w_ij^2, averaged over the rows of X, with "
            "sum_i running over the inputs (axis 0 of W)."
        )
        if _close(got, _penalty_variant(W, b, X, slope, half=False), 1e-4, 1e-7):
            hint = "you are off by a factor 2: R has a factor 1/2 in front (Eq 4.13)."
        elif _close(got, _penalty_variant(W, b, X, slope, mean=False), 1e-4, 1e-7):
            hint = "average over the examples (rows of X) instead of summing."
        elif activation == "sigmoid" and _close(
            got, _penalty_variant(W, b, X, slope, square=False), 1e-4, 1e-7
        ):
            hint = "square the derivative: (dh_j/dx_i)^2 = w_ij^2 h_j^2 (1 - h_j)^2."
        elif activation == "relu" and _close(
            got, _penalty_variant(W, b, X, lambda a: np.ones_like(a)), 1e-4, 1e-7
        ):
            hint = (
                "only the active units count: dh_j/dx_i = w_ij 1[a_j > 0], so an inactive "
                "unit (a_j <= 0) contributes nothing."
            )
        elif activation == "relu" and _close(
            got, _penalty_variant(W, b, X, lambda a: np.maximum(a, 0)), 1e-4, 1e-7
        ):
            hint = "the derivative of ReLU is 1[a > 0] (0 or 1), not the unit's value max(a, 0)."
        elif activation == "relu" and _close(got, _penalty_variant(W, b, X, sig_slope), 1e-4, 1e-7):
            hint = "that is the sigmoid's penalty; for ReLU the slope is 1[a_j > 0]."
        elif activation == "sigmoid" and _close(
            got,
            _penalty_variant(W, b, X, lambda a: _sig(_sig(a)) * (1 - _sig(_sig(a)))),
            1e-4,
            1e-7,
        ):
            hint = "use h_j (1 - h_j) with h_j = sigmoid(a_j), not sigmoid(h_j)."
        _compare(ex, words, "R", got, expected, rtol=1e-4, atol=1e-7, hint=hint, details=inputs)
    _passed(ex, len(cases))


def cae_penalty(fn: Callable) -> None:
    r"""Check ``fn(W, b, X)``: Eq 4.13 for a sigmoid code $h = \sigma(xW + b)$,
    $R = \tfrac12\sum_j h_j^2(1-h_j)^2\sum_i w_{ij}^2$ averaged over the rows of ``X``.
    The reference is $\tfrac12\|\partial h/\partial x\|_F^2$ from ``jax.jacfwd``."""
    _check_penalty(fn, _EX_CAE, "sigmoid")


def cae_penalty_relu(fn: Callable) -> None:
    r"""Check ``fn(W, b, X)``: the contractive penalty of a ReLU code (Exercise 4.5),
    $R = \tfrac12\sum_j 1[a_j > 0]\sum_i w_{ij}^2$ averaged over the rows of ``X``."""
    _check_penalty(fn, _EX_CAE_RELU, "relu")


# ------------------------------------------------------------------------------ KL

_EX_KL = Exercise("gaussian_kl", "")

_KL_CASES = [
    ("the prior itself: mu = 0, sigma = 1", [[0.0, 0.0, 0.0]], [[1.0, 1.0, 1.0]]),
    ("one code of size 2", [[1.0, -2.0]], [[0.5, 2.0]]),
    ("three codes of size 2",
     [[0.3, 0.1], [0.0, 1.5], [-1.0, -1.0]], [[0.1, 3.0], [1.0, 0.2], [1.0, 1.0]]),
    ("a wide code (k = 5)", [[0.2, -0.4, 0.6, 0.0, 1.0]], [[0.9, 1.1, 0.7, 1.3, 0.5]]),
]  # fmt: skip


def _kl_ref(mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    # per coordinate: KL(N(m, s^2) || N(0, 1)) = ln(1/s) + (s^2 + m^2)/2 - 1/2
    return np.sum(np.log(1 / sigma) + (sigma**2 + mu**2) / 2 - 0.5, axis=-1)


def gaussian_kl(fn: Callable) -> None:
    r"""Check ``fn(mu, sigma)``: Eq 4.18 for each row, shape ``(n,)``, against the textbook KL
    between two Gaussians summed over the coordinates."""
    ex = _EX_KL
    for words, mu, sigma in _KL_CASES:
        mu, sigma = np.asarray(mu), np.asarray(sigma)
        inputs = [f"mu = {mu.tolist()}", f"sigma = {sigma.tolist()}"]
        got = _array(
            ex, words, "R", _call(ex, fn, (_f(mu), _f(sigma)), words, inputs), (mu.shape[0],),
            hint="return one value per row (sum over the code's k coordinates, axis=-1).",
        )  # fmt: skip
        expected = _kl_ref(mu, sigma)
        if _close(got, expected, 1e-5, 1e-6):
            continue
        k = mu.shape[1]
        s2, m2, ls = np.sum(sigma**2, 1), np.sum(mu**2, 1), np.sum(np.log(sigma), 1)
        hint = "R = 1/2 (||mu||^2 + ||sigma||^2 - 2 sum_i ln sigma_i - k) for each row."
        if _close(got, 2 * expected, 1e-5, 1e-6):
            hint = "you are off by a factor 2: the whole bracket is multiplied by 1/2."
        elif _close(got, 0.5 * (m2 + s2 - 2 * ls), 1e-5, 1e-6):
            hint = "subtract k: R must be 0 at the prior (mu = 0, sigma = 1)."
        elif _close(got, 0.5 * (m2 + np.sum(sigma, 1) - 2 * ls - k), 1e-5, 1e-6):
            hint = "||sigma||^2 is the sum of the squares sigma_i^2."
        elif _close(got, 0.5 * (m2 + s2 - ls - k), 1e-5, 1e-6):
            hint = "the log term is -2 sum_i ln sigma_i (that is, -sum_i ln sigma_i^2)."
        _compare(ex, words, "R", got, expected, rtol=1e-5, atol=1e-6, hint=hint, details=inputs)
    _passed(ex, len(_KL_CASES))


# ------------------------------------------------------------------------------ negative ELBO

_EX_ELBO = Exercise("negative_elbo", "")


def negative_elbo(fn: Callable) -> None:
    r"""Check ``fn(x, x_hat, mu, sigma, sigma_x)``: the negative ELBO of each row for a Gaussian
    decoder, $\frac{\|x-\hat x\|^2}{2\sigma_x^2} + \frac d2\ln(2\pi\sigma_x^2) + \mathrm{KL}$."""
    ex = _EX_ELBO
    cases = []
    for words, n, d, k, sx, seed in [
        ("2 images of 4 pixels, code size 2, sigma_x = 0.2", 2, 4, 2, 0.2, 0),
        ("3 images of 64 pixels, code size 3, sigma_x = 0.5", 3, 64, 3, 0.5, 1),
        ("1 image, sigma_x = 1 (log term 0.5 d ln 2 pi)", 1, 6, 2, 1.0, 2),
    ]:
        ks = jax.random.split(jax.random.key(300 + seed), 4)
        x = np.asarray(jax.random.uniform(ks[0], (n, d)), np.float64)
        xh = np.asarray(jax.random.uniform(ks[1], (n, d)), np.float64)
        mu = np.asarray(jax.random.normal(ks[2], (n, k)), np.float64)
        sigma = np.exp(0.5 * np.asarray(jax.random.normal(ks[3], (n, k)), np.float64))
        cases.append((words, x, xh, mu, sigma, sx))
    for words, x, xh, mu, sigma, sx in cases:
        d = x.shape[1]
        args = (_f(x), _f(xh), _f(mu), _f(sigma), sx)
        got = _array(
            ex, words, "the negative ELBO", _call(ex, fn, args, words), (x.shape[0],),
            hint="return one value per row (image).",
        )  # fmt: skip
        sq = np.sum((x - xh) ** 2, axis=1)
        const = 0.5 * d * math.log(2 * math.pi * sx**2)
        kl = _kl_ref(mu, sigma)
        expected = sq / (2 * sx**2) + const + kl
        if _close(got, expected, 1e-5, 1e-5):
            continue
        hint = "-ELBO = ||x - x_hat||^2 / (2 sigma_x^2) + (d/2) ln(2 pi sigma_x^2) + KL, per row."
        if _close(got, -expected, 1e-5, 1e-5):
            hint = "that is the ELBO; return its negative (a loss to minimize)."
        elif _close(got, sq / (2 * sx**2) + kl, 1e-5, 1e-5):
            hint = (
                "add the Gaussian's normalizing constant (d/2) ln(2 pi sigma_x^2): without it "
                "the number is not a negative log-likelihood bound (it does not change the "
                "gradient, but it changes the ELBO)."
            )
        elif _close(got, sq / (2 * sx**2) + const, 1e-5, 1e-5):
            hint = "add the KL term of Eq 4.18 (the regularizer R)."
        elif _close(got, sq / (2 * sx) + const + kl, 1e-5, 1e-5):
            hint = "divide by 2 sigma_x^2 (the variance), not 2 sigma_x."
        elif _close(got, sq + const + kl, 1e-5, 1e-5):
            hint = "the squared error is divided by 2 sigma_x^2."
        _compare(ex, words, "-ELBO", got, expected, rtol=1e-5, atol=1e-5, hint=hint)
    _passed(ex, len(cases))
