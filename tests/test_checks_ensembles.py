"""course_lib.checks.ensembles: each check passes a right answer and fails plausible mistakes.

The right answers here are written independently of the solutions notebook (NumPy loops and
sets where the notebook uses jnp, the library where the notebook writes the formula out).
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import checks, dropout, mlp
from course_lib.checks import CheckFailed


def _stub(*args):
    raise NotImplementedError("Exercise: replace this with your code")


ALL = [
    checks.oob_fraction,
    checks.equicorrelated_variance,
    checks.dropout_forward,
    checks.geometric_mean_prediction,
    checks.weight_scaled_prediction,
    checks.stage_reconstruction_loss,
]


@pytest.mark.parametrize("check", ALL)
def test_every_check_says_not_implemented_for_the_stub(check):
    with pytest.raises(CheckFailed, match="not implemented yet"):
        check(_stub)


def _passes(check, fn, capsys):
    check(fn)
    assert "✔" in capsys.readouterr().out


# ------------------------------------------------------------------------------ oob_fraction


def _oob_loop(indices, n):
    seen = [False] * n
    for i in np.asarray(indices).tolist():
        seen[i] = True
    return seen.count(False) / n


def test_oob_fraction_passes_a_loop_and_the_library(capsys):
    from course_lib import ensembles

    _passes(checks.oob_fraction, _oob_loop, capsys)
    _passes(checks.oob_fraction, ensembles.oob_fraction, capsys)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda idx, n: 1.0 - _oob_loop(idx, n), "were"),
        (lambda idx, n: (1.0 - 1.0 / n) ** len(idx), "expected fraction"),
        (lambda idx, n: 1.0 - len(set(np.asarray(idx).tolist())) / len(idx), "divide by n"),
        (lambda idx, n: 0.5, "mark every drawn index"),
    ],
)
def test_oob_fraction_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.oob_fraction(wrong)


# ------------------------------------------------------------------------------ equicorrelated


def test_equicorrelated_variance_passes_the_formula(capsys):
    _passes(
        checks.equicorrelated_variance,
        lambda s2, rho, m: s2 / m + (m - 1) / m * rho * s2,  # variances + covariances
        capsys,
    )


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda s2, rho, m: s2 / m, "independent"),
        (lambda s2, rho, m: rho * s2, "plateau"),
        (lambda s2, rho, m: rho + (1 - rho) / m, "scale by"),
        (lambda s2, rho, m: rho * s2 + (1 - rho) * s2 / m**2, "m\\^2 covariances"),
    ],
)
def test_equicorrelated_variance_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.equicorrelated_variance(wrong)


# ------------------------------------------------------------------------------ dropout_forward


def _dropout_right(key, x, keep):
    keep_mask = jax.random.bernoulli(key, keep, x.shape)
    return jnp.where(keep_mask, x / keep, 0.0)


def test_dropout_forward_passes_the_library_and_a_where(capsys):
    _passes(checks.dropout_forward, _dropout_right, capsys)
    _passes(checks.dropout_forward, lambda k, x, p: dropout.dropout(x, key=k, keep=p), capsys)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda k, x, p: x * jax.random.bernoulli(k, p, x.shape), "divides the kept"),
        (lambda k, x, p: x * jax.random.bernoulli(k, p, x.shape) * p, "don't multiply"),
        (lambda k, x, p: x * jax.random.bernoulli(k, p, x.shape) / (1 - p + 1e-30), "drop prob"),
        (lambda k, x, p: x * jax.random.bernoulli(k, 1 - p, x.shape) / p, "probability of"),
        (
            lambda k, x, p: x * jax.random.bernoulli(jax.random.split(k)[0], p, x.shape) / p,
            "use the key as is",
        ),
    ],
)
def test_dropout_forward_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.dropout_forward(wrong)


# ------------------------------------------------------------------------------ geometric mean


def _geo_right(W, b, x, keep):
    """Via the library's enumeration (float64), an implementation the check does not use."""
    return dropout.mask_ensemble((mlp.Dense(W, b),), x, keep=keep, layer=0).geometric


def _geo_variant(W, b, x, keep, *, weighted=True, normalize=True, arithmetic=False):
    W, b, x = (np.asarray(a, np.float64) for a in (W, b, x))
    d = W.shape[0]
    logs, probs = [], []
    for bits in itertools.product([0, 1], repeat=d):
        m = np.array(bits, float)
        z = (x * m) @ W + b
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        logs.append(logp)
        probs.append(keep ** m.sum() * (1 - keep) ** (d - m.sum()) if weighted else 1 / 2**d)
    logs, probs = np.array(logs), np.array(probs)
    if arithmetic:
        return np.tensordot(probs, np.exp(logs), axes=1)
    g = np.exp(np.tensordot(probs, logs, axes=1))
    return g / g.sum(axis=1, keepdims=True) if normalize else g


def test_geometric_mean_prediction_passes_two_implementations(capsys):
    _passes(checks.geometric_mean_prediction, _geo_right, capsys)
    _passes(checks.geometric_mean_prediction, _geo_variant, capsys)


@pytest.mark.parametrize(
    ("kwargs", "hint"),
    [
        ({"weighted": False}, "weight each mask"),
        ({"arithmetic": True}, "arithmetic mean"),
        ({"normalize": False}, "renormalize"),
    ],
)
def test_geometric_mean_prediction_fails_common_mistakes(kwargs, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.geometric_mean_prediction(
            lambda W, b, x, keep: _geo_variant(W, b, x, keep, **kwargs)
        )


# ------------------------------------------------------------------------------ weight scaling


def test_weight_scaled_prediction_passes_the_library(capsys):
    _passes(
        checks.weight_scaled_prediction,
        lambda W, b, x, keep: (
            dropout.mask_ensemble((mlp.Dense(W, b),), x, keep=keep, layer=0).weight_scaled
        ),
        capsys,
    )


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda W, b, x, p: jax.nn.softmax(x @ W + b[None, :]), "scale the weights"),
        (lambda W, b, x, p: jax.nn.softmax(p * (x @ W + b[None, :])), "not the bias"),
        (lambda W, b, x, p: jax.nn.softmax(x @ W / p + b[None, :]), "inverted dropout"),
        (lambda W, b, x, p: jax.nn.softmax(p * x @ W), "softmax\\(\\(keep"),
    ],
)
def test_weight_scaled_prediction_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.weight_scaled_prediction(wrong)


# ------------------------------------------------------------------------------ pretraining stage


def test_stage_reconstruction_loss_passes_the_library(capsys):
    from course_lib import pretraining

    def right(W, b, V, c, H):
        return pretraining.stage_loss(pretraining.Stage(mlp.Dense(W, b), mlp.Dense(V, c)), H)

    _passes(checks.stage_reconstruction_loss, right, capsys)


def _stage(W, b, V, c, H, *, enc=True, dec=False, reduce="mean"):
    code = jax.nn.sigmoid(H @ W + b[None, :]) if enc else H @ W + b[None, :]
    recon = code @ V + c[None, :]
    recon = jax.nn.sigmoid(recon) if dec else recon
    sq = (H - recon) ** 2
    return {"mean": sq.mean(), "sum": sq.sum(), "rows": sq.sum(axis=1).mean()}[reduce]


@pytest.mark.parametrize(
    ("kwargs", "hint"),
    [
        ({"reduce": "sum"}, "not the sum"),
        ({"reduce": "rows"}, "divide by n \\* d"),
        ({"enc": False}, "apply the sigmoid"),
        ({"dec": True}, "decoder here is linear"),
    ],
)
def test_stage_reconstruction_loss_fails_common_mistakes(kwargs, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.stage_reconstruction_loss(lambda *a: _stage(*a, **kwargs))
