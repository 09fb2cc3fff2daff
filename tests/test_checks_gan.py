"""course_lib.checks.gan: each check passes a right answer and fails plausible mistakes.

The right answers here are written independently of the solutions notebook (the library, NumPy
and Python loops where the notebook uses jnp).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import checks, gan, minimax
from course_lib.checks import CheckFailed


def _stub(*args):
    raise NotImplementedError("Exercise: replace this with your code")


ALL = [
    checks.game_values,
    checks.gda,
    checks.discriminator_loss,
    checks.generator_loss,
    checks.optimal_discriminator,
    checks.modes_covered,
]


@pytest.mark.parametrize("check", ALL)
def test_every_check_says_not_implemented_for_the_stub(check):
    with pytest.raises(CheckFailed, match="not implemented yet"):
        check(_stub)


def _passes(check, fn, capsys):
    check(fn)
    assert "✔" in capsys.readouterr().out


def _fails(check, fn, hint):
    with pytest.raises(CheckFailed) as err:
        check(fn)
    assert hint in str(err.value), str(err.value)


# ------------------------------------------------------------------------------ game values


def test_game_values_passes_the_library(capsys):
    _passes(checks.game_values, lambda F: (minimax.min_max(F), minimax.max_min(F)), capsys)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda F: (minimax.max_min(F), minimax.min_max(F)), "swapped"),
        (lambda F: (jnp.min(jnp.max(F, axis=0)), jnp.max(jnp.min(F, axis=1))), "rows belong"),
        (lambda F: (jnp.max(F), jnp.min(F)), "min_max: max over each row"),
    ],
)
def test_game_values_fails_common_mistakes(wrong, hint):
    _fails(checks.game_values, wrong, hint)


# ------------------------------------------------------------------------------ gda


def _gda_right(x0, y0, eta, steps, alternating):
    return minimax.gda(x0, y0, eta=eta, steps=steps, alternating=alternating)


def _gda_numpy(x0, y0, eta, steps, alternating, *, sign=1.0, swap=False, order=False):
    out = np.zeros((steps + 1, 2))
    x, y = x0, y0
    out[0] = x, y
    for t in range(steps):
        g = np.cos(x + y)
        xn = x - sign * eta * g
        y = y + sign * eta * (np.cos(xn + y) if (alternating != swap) else g)
        x = xn
        out[t + 1] = (y, x) if order else (x, y)
    if order:
        out[0] = y0, x0
    return out


def test_gda_passes_the_library_and_a_loop(capsys):
    _passes(checks.gda, _gda_right, capsys)
    _passes(checks.gda, _gda_numpy, capsys)


@pytest.mark.parametrize(
    ("kwargs", "hint"),
    [
        ({"swap": True}, "simultaneous steps use the old"),
        ({"sign": -1.0}, "check the signs"),
        ({"order": True}, "(x, y), in that order"),
    ],
)
def test_gda_fails_common_mistakes(kwargs, hint):
    _fails(checks.gda, lambda *a: _gda_numpy(*a, **kwargs), hint)


def test_gda_fails_without_the_start():
    _fails(checks.gda, lambda *a: _gda_numpy(*a)[1:], "the start included")


# ------------------------------------------------------------------------------ losses


def test_discriminator_loss_passes_the_library_and_numpy(capsys):
    _passes(checks.discriminator_loss, gan.discriminator_loss, capsys)

    def naive(r, f):
        r, f = np.asarray(r, np.float64), np.asarray(f, np.float64)
        s = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
        return -np.mean(np.log(s(r))) - np.mean(np.log(1 - s(f)))

    _passes(checks.discriminator_loss, naive, capsys)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda r, f: -gan.discriminator_loss(r, f), "its negative"),
        (
            lambda r, f: -jnp.mean(jax.nn.log_sigmoid(r)) - jnp.mean(jax.nn.log_sigmoid(f)),
            "log sigma(-l)",
        ),
        (
            lambda r, f: -jnp.sum(jax.nn.log_sigmoid(r)) - jnp.sum(jax.nn.log_sigmoid(-f)),
            "means, not sums",
        ),
    ],
)
def test_discriminator_loss_fails_common_mistakes(wrong, hint):
    _fails(checks.discriminator_loss, wrong, hint)


def test_generator_loss_passes_the_library(capsys):
    _passes(checks.generator_loss, lambda f, ns: gan.generator_loss(f, non_saturating=ns), capsys)

    def loop(f, ns):
        vals = [math.log(1 / (1 + math.exp(-v))) for v in np.asarray(f, float)]
        if ns:
            return -sum(vals) / len(vals)
        return sum(math.log(1 - 1 / (1 + math.exp(-v))) for v in np.asarray(f, float)) / len(f)

    _passes(checks.generator_loss, loop, capsys)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda f, ns: gan.generator_loss(f, non_saturating=not ns), "swapped"),
        (lambda f, ns: -gan.generator_loss(f, non_saturating=ns), "sign"),
        (
            lambda f, ns: (
                gan.generator_loss(f, non_saturating=True)
                if ns
                else -jnp.mean(jax.nn.log_sigmoid(-f))
            ),
            "no minus sign",
        ),
    ],
)
def test_generator_loss_fails_common_mistakes(wrong, hint):
    _fails(checks.generator_loss, wrong, hint)


# ------------------------------------------------------------------------------ D*


def _pdf(x, m, s):
    return jnp.exp(-0.5 * ((x - m) / s) ** 2) / (s * jnp.sqrt(2 * jnp.pi))


def test_optimal_discriminator_passes_the_library(capsys):
    def right(x, md, sd, mg, sg):
        return gan.optimal_discriminator(_pdf(x, md, sd), _pdf(x, mg, sg))

    _passes(checks.optimal_discriminator, right, capsys)
    # a second formula: sigma of the log density ratio
    from scipy.stats import norm

    def ratio(x, md, sd, mg, sg):
        x = np.asarray(x, np.float64)
        return 1 / (1 + np.exp(norm.logpdf(x, mg, sg) - norm.logpdf(x, md, sd)))

    _passes(checks.optimal_discriminator, ratio, capsys)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda x, md, sd, mg, sg: gan.optimal_discriminator(_pdf(x, mg, sg), _pdf(x, md, sd)),
         "probability of *real*"),
        (lambda x, md, sd, mg, sg: _pdf(x, md, sd) / _pdf(x, mg, sg), "sum p_d + p_g"),
        (lambda x, md, sd, mg, sg: gan.optimal_discriminator(
            jnp.exp(-0.5 * ((x - md) / sd) ** 2), jnp.exp(-0.5 * ((x - mg) / sg) ** 2)),
         "1/(sd sqrt(2 pi))"),
    ],
)  # fmt: skip
def test_optimal_discriminator_fails_common_mistakes(wrong, hint):
    _fails(checks.optimal_discriminator, wrong, hint)


# ------------------------------------------------------------------------------ modes covered


def test_modes_covered_passes_the_library(capsys):
    _passes(checks.modes_covered, lambda X, C, s: gan.mode_coverage(X, C, s)[0], capsys)


def _modes_variant(X, C, std, *, need="quarter"):
    X, C = np.asarray(X, np.float64), np.asarray(C, np.float64)
    d = np.sqrt(((X[:, None] - C[None]) ** 2).sum(-1))
    near = d.argmin(1)
    ok = d.min(1) <= 3 * std
    counts = np.bincount(near[ok], minlength=len(C))
    if need == "any":
        return int((counts > 0).sum())
    if need == "n":
        return int((counts >= 0.25 * len(X)).sum())
    return int((counts >= 0.25 * len(X) / len(C)).sum())


def test_modes_covered_passes_a_numpy_version(capsys):
    _passes(checks.modes_covered, _modes_variant, capsys)


@pytest.mark.parametrize(
    ("need", "hint"), [("any", "not just one sample"), ("n", "fair share of one mode is n/K")]
)
def test_modes_covered_fails_common_mistakes(need, hint):
    _fails(checks.modes_covered, lambda X, C, s: _modes_variant(X, C, s, need=need), hint)


def test_modes_covered_fails_without_the_distance_limit():
    def no_limit(X, C, std):
        return _modes_variant(X, C, 1e9)

    _fails(checks.modes_covered, no_limit, "within 3 std")
