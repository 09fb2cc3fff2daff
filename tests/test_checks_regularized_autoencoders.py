"""course_lib.checks.regularized_autoencoders: each check passes a right answer and fails
plausible mistakes with its hint.

The right answers are written independently of the solutions notebook (NumPy loops and
NumPy random permutations where the notebook uses jnp and ranks of uniforms).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import checks
from course_lib.checks import CheckFailed


def _stub(*args):
    raise NotImplementedError("Exercise: replace this with your code")


@pytest.mark.parametrize(
    "check",
    [
        checks.top_k_activation,
        checks.masking_noise,
        checks.cae_penalty,
        checks.cae_penalty_relu,
        checks.gaussian_kl,
        checks.negative_elbo,
    ],
)
def test_every_check_says_not_implemented_for_the_stub(check):
    with pytest.raises(CheckFailed, match="not implemented yet"):
        check(_stub)


# ------------------------------------------------------------------------------ top_k_activation


def _top_k_loop(h, k, *, smallest=False, magnitude=False, batch=False, threshold=False):
    h = np.asarray(h, dtype=np.float64)
    out = np.zeros_like(h)
    if batch:
        flat = np.argsort(-h.ravel(), kind="stable")[: k * 1]
        out.ravel()[flat] = h.ravel()[flat]
        return out
    for r in range(h.shape[0]):
        if threshold:
            kth = np.sort(h[r])[::-1][k - 1]
            out[r] = np.where(h[r] >= kth, h[r], 0.0)
            continue
        key = np.abs(h[r]) if magnitude else h[r]
        order = np.argsort(key if smallest else -key, kind="stable")[:k]
        out[r, order] = h[r, order]
    return out


def test_top_k_passes_a_numpy_loop(capsys):
    checks.top_k_activation(_top_k_loop)
    assert "✔ top_k_activation" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda h, k: _top_k_loop(h, k, smallest=True), "k smallest"),
        (lambda h, k: _top_k_loop(h, k, magnitude=True), "magnitude"),
        (lambda h, k: _top_k_loop(h, k, threshold=True), "exactly"),
        (lambda h, k: _top_k_loop(h, k, batch=True), "each row"),
        (lambda h, k: np.asarray(h)[:, :k], "shape"),
    ],
)
def test_top_k_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.top_k_activation(wrong)


# ------------------------------------------------------------------------------ masking_noise


def _mask_numpy(X, key, fraction):
    X = np.array(X, dtype=np.float64)
    seed = int(jax.random.randint(key, (), 0, 2**30))
    rng = np.random.default_rng(seed)
    m = int(math.floor(fraction * X.shape[1] + 1e-9))
    for r in range(X.shape[0]):
        X[r, rng.permutation(X.shape[1])[:m]] = 0.0
    return X


def _mask_bernoulli(X, key, fraction):
    return jnp.where(jax.random.bernoulli(key, fraction, X.shape), 0.0, X)


def _mask_round(X, key, fraction):
    X = np.array(X, dtype=np.float64)
    rng = np.random.default_rng(int(jax.random.randint(key, (), 0, 2**30)))
    m = int(round(fraction * X.shape[1]))
    for r in range(X.shape[0]):
        X[r, rng.permutation(X.shape[1])[:m]] = 0.0
    return X


def _mask_same_rows(X, key, fraction):
    m = int(math.floor(fraction * X.shape[1] + 1e-9))
    cols = jax.random.permutation(key, X.shape[1])[:m]
    return jnp.asarray(X).at[:, cols].set(0.0)


def _mask_first_columns(X, key, fraction):
    u = jax.random.uniform(key, X.shape) + jnp.arange(X.shape[1])[None, :] * 0.02
    m = int(math.floor(fraction * X.shape[1] + 1e-9))
    ranks = jnp.argsort(jnp.argsort(u, axis=1), axis=1)
    return jnp.where(ranks < m, 0.0, X)


def test_masking_noise_passes_numpy_permutations(capsys):
    checks.masking_noise(_mask_numpy)
    assert "✔ masking_noise" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (_mask_bernoulli, "without replacement"),
        (_mask_round, "Round down"),
        (_mask_same_rows, "same mask"),
        (_mask_first_columns, "equally likely"),
        (lambda X, key, f: X * 0.5, "wrong number"),
    ],
)
def test_masking_noise_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.masking_noise(wrong)


# ------------------------------------------------------------------------------ cae penalties


def _penalty_loop(W, b, X, slope, *, half=True, square=True, mean=True):
    W, b, X = (np.asarray(a, dtype=np.float64) for a in (W, b, X))
    d, k = W.shape
    total = 0.0
    for x in X:
        for j in range(k):
            a = sum(x[i] * W[i, j] for i in range(d)) + b[j]
            s = slope(a)
            total += (s**2 if square else s) * sum(W[i, j] ** 2 for i in range(d))
    total *= 0.5 if half else 1.0
    return total / X.shape[0] if mean else total


def _sig_slope(a):
    h = 1 / (1 + math.exp(-a))
    return h * (1 - h)


def _relu_slope(a):
    return 1.0 if a > 0 else 0.0


def test_cae_penalty_passes_a_loop(capsys):
    checks.cae_penalty(lambda W, b, X: _penalty_loop(W, b, X, _sig_slope))
    assert "✔ cae_penalty" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda W, b, X: _penalty_loop(W, b, X, _sig_slope, half=False), "factor 2"),
        (lambda W, b, X: _penalty_loop(W, b, X, _sig_slope, square=False), "square"),
        (lambda W, b, X: _penalty_loop(W, b, X, _sig_slope, mean=False), "average"),
        (lambda W, b, X: _penalty_loop(W, b, X, lambda a: _sig_slope(1 / (1 + math.exp(-a)))),
         "not sigmoid"),
    ],
)  # fmt: skip
def test_cae_penalty_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.cae_penalty(wrong)


def test_cae_penalty_relu_passes_a_loop(capsys):
    checks.cae_penalty_relu(lambda W, b, X: _penalty_loop(W, b, X, _relu_slope))
    assert "✔ cae_penalty_relu (Exercise 4.5)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda W, b, X: _penalty_loop(W, b, X, lambda a: 1.0), "only the active units"),
        (lambda W, b, X: _penalty_loop(W, b, X, lambda a: max(a, 0.0)), "not the unit's value"),
        (lambda W, b, X: _penalty_loop(W, b, X, _sig_slope), "sigmoid's penalty"),
        (lambda W, b, X: _penalty_loop(W, b, X, _relu_slope, half=False), "factor 2"),
    ],
)
def test_cae_penalty_relu_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.cae_penalty_relu(wrong)


# ------------------------------------------------------------------------------ gaussian_kl


def _kl_loop(mu, sigma, *, half=0.5, square=True, minus_k=True, log_factor=2.0):
    mu, sigma = np.asarray(mu, np.float64), np.asarray(sigma, np.float64)
    out = []
    for m, s in zip(mu, sigma, strict=True):
        v = sum(m**2) + sum(s**2 if square else s) - log_factor * sum(np.log(s))
        out.append(half * (v - (len(m) if minus_k else 0)))
    return np.array(out)


def test_gaussian_kl_passes_a_loop(capsys):
    checks.gaussian_kl(_kl_loop)
    assert "✔ gaussian_kl" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda m, s: _kl_loop(m, s, half=1.0), "factor 2"),
        (lambda m, s: _kl_loop(m, s, minus_k=False), "subtract k"),
        (lambda m, s: _kl_loop(m, s, square=False), "squares"),
        (lambda m, s: _kl_loop(m, s, log_factor=1.0), "log term"),
        (lambda m, s: _kl_loop(m, s).sum(), "one value per row"),
    ],
)
def test_gaussian_kl_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.gaussian_kl(wrong)


# ------------------------------------------------------------------------------ negative_elbo


def _nelbo(x, xh, mu, s, sx, *, const=True, kl=True, var=True, sign=1.0):
    x, xh = np.asarray(x, np.float64), np.asarray(xh, np.float64)
    d = x.shape[1]
    sq = ((x - xh) ** 2).sum(axis=1)
    out = sq / (2 * (sx**2 if var else sx))
    if const:
        out = out + d / 2 * math.log(2 * math.pi * sx**2)
    if kl:
        out = out + _kl_loop(mu, s)
    return sign * out


def test_negative_elbo_passes_numpy(capsys):
    checks.negative_elbo(_nelbo)
    assert "✔ negative_elbo" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda *a: _nelbo(*a, const=False), "normalizing constant"),
        (lambda *a: _nelbo(*a, kl=False), "KL term"),
        (lambda *a: _nelbo(*a, var=False), "2 sigma_x\\^2 \\(the variance\\)"),
        (lambda *a: _nelbo(*a, sign=-1.0), "that is the ELBO"),
    ],
)
def test_negative_elbo_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.negative_elbo(wrong)
