r"""Self-checks for the exercises on GANs and two-player games (Aggarwal §10.4, Ex 10.5, 10.6).

Every check runs the student's function on fixed cases and compares with a reference written
out here in NumPy: loops over the payoff matrix (min–max and max–min), a Python loop of the
descent–ascent updates, the GAN losses from $\log$ and the sigmoid in float64, the density
ratio $p_d/(p_d+p_g)$ and a loop over samples for the modes covered. Common slips are
recognized and answered with a hint.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from course_lib.checks import (
    CheckFailed,
    Exercise,
    _array,
    _call,
    _close_within,
    _compare,
    _f,
    _passed,
    _scalar,
    _unpack,
)

_close = _close_within(rtol=1e-5, atol=1e-6)


def _log_sigmoid(z: np.ndarray) -> np.ndarray:
    return -np.logaddexp(0.0, -z)


# ------------------------------------------------------------------------------ Ex 10.5

_EX_GAME = Exercise("game_values", "10.5")


def game_values(fn: Callable) -> None:
    r"""Check ``fn(payoff) -> (min_max, max_min)`` for a payoff matrix whose rows the minimizer
    picks and whose columns the maximizer picks."""
    ex = _EX_GAME
    rng = np.random.default_rng(10)
    cases = [
        ("a 2x2 game without a saddle point", np.array([[1.0, 3.0], [4.0, 2.0]])),
        ("a 2x3 game with a saddle point", np.array([[2.0, 1.0, 3.0], [5.0, 0.5, 4.0]])),
        ("matching pennies", np.array([[1.0, -1.0], [-1.0, 1.0]])),
        ("a 4x3 random game", np.round(rng.normal(size=(4, 3)), 2)),
        ("a tall 5x2 game", np.round(rng.normal(size=(5, 2)), 2)),
        ("a 1x4 game (one row)", np.array([[0.3, -2.0, 1.5, 0.2]])),
    ]
    for words, F in cases:
        out = _unpack(ex, words, _call(ex, fn, (_f(F),), words), ("min_max", "max_min"))
        got_mm = _scalar(ex, words, "min_max", out[0])
        got_xm = _scalar(ex, words, "max_min", out[1])
        mm = min(max(F[i, j] for j in range(F.shape[1])) for i in range(F.shape[0]))
        xm = max(min(F[i, j] for i in range(F.shape[0])) for j in range(F.shape[1]))
        if _close([got_mm, got_xm], [mm, xm]):
            continue
        if _close([got_mm, got_xm], [xm, mm]):
            hint = "the two are swapped: min_max is the larger one (or equal)."
        elif _close(got_mm, F.max(axis=0).min()) or _close(got_xm, F.min(axis=1).max()):
            hint = (
                "rows belong to the minimizer: for min_max take each row's largest entry "
                "(the maximizer answers), then the smallest of those."
            )
        else:
            hint = "min_max: max over each row, then min; max_min: min over each column, then max."
        _compare(ex, words, "(min_max, max_min)", np.array([got_mm, got_xm]), np.array([mm, xm]),
                 rtol=1e-5, atol=1e-6, hint=hint)  # fmt: skip
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ Ex 10.6

_EX_GDA = Exercise("gda", "10.6")


def _gda_loop(x, y, eta, steps, alternating):
    path = [(x, y)]
    for _ in range(steps):
        g = math.cos(x + y)
        x = x - eta * g
        y = y + eta * (math.cos(x + y) if alternating else g)
        path.append((x, y))
    return np.array(path)


def gda(fn: Callable) -> None:
    r"""Check ``fn(x0, y0, eta, steps, alternating)``: the ``(steps + 1, 2)`` iterates of
    gradient descent in $x$ and ascent in $y$ on $\sin(x + y)$."""
    ex = _EX_GDA
    cases = [
        (0.3, 0.5, 0.1, 5, False),
        (0.3, 0.5, 0.1, 5, True),
        (-1.0, 2.5, 0.3, 8, True),
        (2.0, 1.0, 0.05, 12, False),
        (0.0, 0.0, 0.5, 3, True),
    ]
    for x0, y0, eta, steps, alternating in cases:
        how = "alternating" if alternating else "simultaneous"
        words = f"{how}, start ({x0}, {y0}), eta = {eta}, {steps} steps"
        value = _call(ex, fn, (x0, y0, eta, steps, alternating), words)
        hint = "return every iterate, the start included: shape (steps + 1, 2)."
        got = _array(ex, words, "the iterates", value, (steps + 1, 2), hint=hint)
        expected = _gda_loop(x0, y0, eta, steps, alternating)
        if _close(got, expected, rtol=1e-5, atol=1e-5):
            continue
        if _close(got, _gda_loop(x0, y0, eta, steps, not alternating), rtol=1e-5, atol=1e-5):
            hint = (
                "simultaneous steps use the old (x, y) for both gradients; alternating steps "
                "evaluate y's gradient at the new x."
            )
        elif _close(got[:, ::-1], expected, rtol=1e-5, atol=1e-5):
            hint = "each row is (x, y), in that order."
        elif _close(got, _gda_flip(x0, y0, eta, steps, alternating), rtol=1e-5, atol=1e-5):
            hint = "x descends (x - eta * df/dx) and y ascends (y + eta * df/dy): check the signs."
        else:
            hint = "both partial derivatives of sin(x + y) are cos(x + y)."
        _compare(ex, words, "the iterates", got, expected, rtol=1e-5, atol=1e-5, hint=hint)
    _passed(ex, len(cases))


def _gda_flip(x, y, eta, steps, alternating):
    path = [(x, y)]
    for _ in range(steps):
        g = math.cos(x + y)
        x = x + eta * g
        y = y - eta * (math.cos(x + y) if alternating else g)
        path.append((x, y))
    return np.array(path)


# ------------------------------------------------------------------------------ losses

_EX_DLOSS = Exercise("discriminator_loss", "")


def discriminator_loss(fn: Callable) -> None:
    r"""Check ``fn(real_logits, fake_logits)``
    $= -\overline{\log\sigma(\ell_r)} - \overline{\log(1 - \sigma(\ell_f))}$."""
    ex = _EX_DLOSS
    rng = np.random.default_rng(11)
    cases = [
        ("two real, two fake logits", np.array([2.0, 0.5]), np.array([-1.0, 0.3])),
        ("logits 0: D unsure", np.zeros(4), np.zeros(4)),
        ("eight real, five fake", rng.normal(size=8), rng.normal(size=5)),
        ("confident D (|logit| about 8)", np.array([8.0, 7.5, 9.0]), np.array([-8.0, -9.5])),
    ]
    for words, r, f in cases:
        got = _scalar(ex, words, "the loss", _call(ex, fn, (_f(r), _f(f)), words))
        expected = -_log_sigmoid(r).mean() - _log_sigmoid(-f).mean()
        if math.isclose(got, expected, rel_tol=1e-4, abs_tol=1e-5):
            continue
        if math.isclose(got, -expected, rel_tol=1e-4, abs_tol=1e-5):
            hint = "D maximizes J_D; the loss to minimize is its negative."
        elif math.isclose(got, -_log_sigmoid(r).mean() - _log_sigmoid(f).mean(), rel_tol=1e-4):
            hint = "on fakes D wants sigma(l) small: use log(1 - sigma(l)) = log sigma(-l)."
        elif math.isclose(got, -_log_sigmoid(r).sum() - _log_sigmoid(-f).sum(), rel_tol=1e-4):
            hint = "average each term over its own batch (means, not sums)."
        else:
            hint = "log sigma(l) = -log(1 + exp(-l)); jax.nn.log_sigmoid computes it stably."
        _compare(ex, words, "the loss", np.float64(got), expected, rtol=1e-4, atol=1e-5,
                 hint=hint)  # fmt: skip
    _passed(ex, len(cases))


_EX_GLOSS = Exercise("generator_loss", "")


def generator_loss(fn: Callable) -> None:
    r"""Check ``fn(fake_logits, non_saturating)``: $\overline{\log(1-\sigma(\ell))}$
    (saturating) or $-\overline{\log\sigma(\ell)}$ (non-saturating)."""
    ex = _EX_GLOSS
    rng = np.random.default_rng(12)
    cases = [
        ("saturating, logits [-1, 0.5]", np.array([-1.0, 0.5]), False),
        ("non-saturating, logits [-1, 0.5]", np.array([-1.0, 0.5]), True),
        ("saturating, D rejects the fakes (logits near -6)", np.array([-6.0, -5.0, -7.0]), False),
        ("non-saturating, D rejects the fakes", np.array([-6.0, -5.0, -7.0]), True),
        ("non-saturating, six random logits", rng.normal(size=6) * 2, True),
    ]
    for words, f, ns in cases:
        got = _scalar(ex, words, "the loss", _call(ex, fn, (_f(f), ns), words))
        sat = _log_sigmoid(-f).mean()
        nonsat = -_log_sigmoid(f).mean()
        expected = nonsat if ns else sat
        if math.isclose(got, expected, rel_tol=1e-4, abs_tol=1e-5):
            continue
        if math.isclose(got, nonsat if not ns else sat, rel_tol=1e-4, abs_tol=1e-5):
            hint = "the two losses are swapped: non_saturating=True is -mean log sigma(l)."
        elif not ns and math.isclose(got, -sat, rel_tol=1e-4, abs_tol=1e-5):
            hint = "saturating: G *minimizes* mean log(1 - sigma(l)) (no minus sign)."
        elif math.isclose(got, -expected, rel_tol=1e-4, abs_tol=1e-5):
            hint = "check the sign: G minimizes mean log(1 - D) or, non-saturating, -mean log D."
        else:
            hint = "log(1 - sigma(l)) = log sigma(-l); use jax.nn.log_sigmoid."
        _compare(ex, words, "the loss", np.float64(got), expected, rtol=1e-4, atol=1e-5,
                 hint=hint)  # fmt: skip
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ D*

_EX_DSTAR = Exercise("optimal_discriminator", "")


def _normal_pdf(x, mu, sd):
    return np.exp(-0.5 * ((x - mu) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))


def optimal_discriminator(fn: Callable) -> None:
    r"""Check ``fn(x, mu_d, sd_d, mu_g, sd_g)``: $D^*(x) = p_d/(p_d + p_g)$ for Gaussian data
    and generator densities, at the points ``x``."""
    ex = _EX_DSTAR
    cases = [
        ((0.0, 1.0, 2.0, 1.0), np.linspace(-3, 5, 9)),
        ((0.0, 1.0, 0.0, 1.0), np.array([-1.0, 0.0, 2.0])),
        ((1.0, 0.5, -1.0, 2.0), np.linspace(-4, 4, 7)),
        ((-2.0, 1.5, 1.0, 0.7), np.array([-2.0, 1.0, 0.0, 3.0])),
    ]
    for (md, sd_d, mg, sd_g), x in cases:
        words = f"data N({md}, {sd_d}^2), generator N({mg}, {sd_g}^2), x of shape {x.shape}"
        value = _call(ex, fn, (_f(x), md, sd_d, mg, sd_g), words)
        got = _array(ex, words, "D*(x)", value, x.shape, hint="one value per point of x.")
        pd, pg = _normal_pdf(x, md, sd_d), _normal_pdf(x, mg, sd_g)
        expected = pd / (pd + pg)
        if _close(got, expected, rtol=1e-4, atol=1e-6):
            continue
        if _close(got, pg / (pd + pg), rtol=1e-4, atol=1e-6):
            hint = "D* is the probability of *real*: the data density goes on top."
        elif _close(got, pd / pg, rtol=1e-4, atol=1e-6):
            hint = "divide by the sum p_d + p_g, not by p_g alone."
        else:
            hint = "evaluate both Gaussian densities (with their 1/(sd sqrt(2 pi))) at x."
        _compare(ex, words, "D*(x)", got, expected, rtol=1e-4, atol=1e-6, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ coverage

_EX_MODES = Exercise("modes_covered", "")


def _modes_loop(X, C, std):
    n, K = len(X), len(C)
    counts = np.zeros(K, int)
    for x in X:
        d = np.sqrt(((C - x) ** 2).sum(axis=1))
        j = int(np.argmin(d))
        if d[j] <= 3 * std:
            counts[j] += 1
    return int(np.sum(counts >= 0.25 * n / K)), counts


def modes_covered(fn: Callable) -> None:
    r"""Check ``fn(samples, centres, std)``: how many modes receive at least a quarter of their
    fair share $n/K$ of the samples within $3\,\text{std}$ of their centre."""
    ex = _EX_MODES
    rng = np.random.default_rng(13)
    ang = 2 * np.pi * np.arange(8) / 8
    C = 2.0 * np.stack([np.cos(ang), np.sin(ang)], axis=1)
    lab = rng.integers(0, 8, 400)
    cases = [
        ("400 samples of the ring itself", C[lab] + 0.1 * rng.normal(size=(400, 2)), 8),
        ("collapsed: all 200 samples on mode 3", C[3] + 0.05 * rng.normal(size=(200, 2)), 1),
        ("samples spread over a disc", rng.uniform(-2.5, 2.5, size=(300, 2)), None),
        (
            "half on mode 0, the rest spread thinly over modes 1-7 (below a quarter share)",
            np.concatenate(
                [C[0] + 0.05 * rng.normal(size=(100, 2)), C[1 + np.arange(14) % 7] + 0.02]
            ),
            1,
        ),  # fmt: skip
        ("samples between the modes (off the ring)", 1.0 * C + 0.05 * rng.normal(size=(8, 2)), 0),
    ]
    for words, X, _ in cases:
        value = _call(ex, fn, (_f(X), _f(C), 0.1), words)
        got = _scalar(ex, words, "the number of modes covered", value, integer=True)
        expected, counts = _modes_loop(X, C, 0.1)
        if got == expected:
            continue
        if got == int(np.sum(counts > 0)):
            hint = "a mode needs at least a quarter of its fair share n/K, not just one sample."
        elif got == int(np.sum(counts >= 0.25 * len(X))):
            hint = "the fair share of one mode is n/K (samples / modes), not n."
        else:
            hint = (
                "for each sample find the nearest centre; count it only if it is within "
                "3 std of it; then compare each mode's count with n/(4K)."
            )
        raise CheckFailed(
            ex,
            "wrong number of modes covered",
            case=words,
            details=[
                f"expected {expected}",
                f"got      {got:g}",
                f"samples per mode within 3 std: {counts.tolist()}",
            ],  # fmt: skip
            hint=hint,
        )
    _passed(ex, len(cases))
