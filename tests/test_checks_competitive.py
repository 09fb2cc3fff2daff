"""course_lib.checks.competitive: each check passes a right answer and fails plausible mistakes.

The right answers here are written independently of the solutions notebook (NumPy loops where
the notebook vectorizes, the library where it exists).
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import checks, competitive, som
from course_lib.checks import CheckFailed


def _stub(*args):
    raise NotImplementedError("Exercise: replace this with your code")


ALL = [
    checks.wta_step,
    checks.vq_winner,
    checks.storage_bits,
    checks.online_kmeans_step,
    checks.lattice_coords,
    checks.som_step,
]


@pytest.mark.parametrize("check", ALL)
def test_every_check_says_not_implemented_for_the_stub(check):
    with pytest.raises(CheckFailed, match="not implemented yet"):
        check(_stub)


def _passes(check, fn, capsys):
    check(fn)
    assert "✔" in capsys.readouterr().out


def _nearest(W, x):
    W, x = np.asarray(W, np.float64), np.asarray(x, np.float64)
    return int(np.argmin(((W - x) ** 2).sum(1)))


# ------------------------------------------------------------------------------ wta_step


def _wta_loop(W, x, alpha):
    W = np.array(W, np.float64)
    p = _nearest(W, x)
    W[p] = (1 - alpha) * W[p] + alpha * np.asarray(x)
    return W


def test_wta_step_passes_a_loop_and_the_library(capsys):
    _passes(checks.wta_step, _wta_loop, capsys)
    _passes(checks.wta_step, lambda W, x, a: competitive.wta_step(W, x, a)[0], capsys)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda W, x, a: W + a * (x[None] - W), "only the nearest"),
        (lambda W, x, a: _wta_loop(W, x, -a), "towards"),
        (lambda W, x, a: _wta_loop(W, x, 1.0), "fraction alpha"),
        (lambda W, x, a: W, "argmin"),
    ],
)
def test_wta_step_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.wta_step(wrong)


# ------------------------------------------------------------------------------ vq_winner


def _vq_loop(W, x, s):
    scores = [math.dist(np.asarray(w).tolist(), np.asarray(x).tolist()) - float(si)
              for w, si in zip(W, s, strict=True)]  # fmt: skip
    return scores.index(min(scores))


def test_vq_winner_passes_a_loop_and_the_library(capsys):
    _passes(checks.vq_winner, _vq_loop, capsys)
    _passes(checks.vq_winner, competitive.winner, capsys)


def _dist(W, x):
    return jnp.sqrt(jnp.sum((W - x[None]) ** 2, axis=1))


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda W, x, s: jnp.argmin(_dist(W, x)), "subtract each"),
        (lambda W, x, s: jnp.argmin(_dist(W, x) ** 2 - s), "not its square"),
        (lambda W, x, s: jnp.argmax(_dist(W, x) - s), "smallest"),
    ],
)
def test_vq_winner_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.vq_winner(wrong)


# ------------------------------------------------------------------------------ storage_bits


def _storage(n, d, m):
    bits = 0
    while 2**bits < m:
        bits += 1
    return 32 * m * d + n * bits


def test_storage_bits_passes_a_loop_and_the_library(capsys):
    _passes(checks.storage_bits, _storage, capsys)
    _passes(checks.storage_bits, competitive.storage_bits, capsys)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda n, d, m: 32 * m * d + math.log2(m), "factor n"),
        (lambda n, d, m: m * d + n * (m - 1).bit_length(), "32 bits"),
        (lambda n, d, m: 32 * m * d + n * math.log2(m), "round log2"),
        (lambda n, d, m: _storage(n, d, m) / 8, "bits, not bytes"),
        (lambda n, d, m: 32 * n * d, "raw data"),
    ],
)
def test_storage_bits_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.storage_bits(wrong)


# ------------------------------------------------------------------------------ online k-means


def _kmeans_loop(W, counts, x):
    W = np.array(W, np.float64)
    counts = np.array(counts)
    p = _nearest(W, x)
    counts[p] += 1
    W[p] = ((counts[p] - 1) * W[p] + np.asarray(x)) / counts[p]  # the mean, updated
    return W, counts


def test_online_kmeans_step_passes_a_loop_and_the_library(capsys):
    _passes(checks.online_kmeans_step, _kmeans_loop, capsys)

    def lib(W, counts, x):
        st, _ = competitive.online_kmeans_step(competitive.KMeansState(W, counts), x)
        return st.W, st.counts

    _passes(checks.online_kmeans_step, lib, capsys)


def _kmeans_old_count(W, counts, x):
    W = np.array(W, np.float64)
    counts = np.array(counts)
    p = _nearest(W, x)
    W[p] += (np.asarray(x) - W[p]) / max(counts[p], 1)
    counts[p] += 1
    return W, counts


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda W, c, x: (_kmeans_loop(W, c, x)[0], c), "add 1 to the winner"),
        (_kmeans_old_count, "count the new point first"),
        (lambda W, c, x: (_wta_loop(W, x, 0.1), _kmeans_loop(W, c, x)[1]), "not a constant"),
        (lambda W, c, x: _kmeans_loop(W, c, x)[0], "expected a tuple"),
    ],
)
def test_online_kmeans_step_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.online_kmeans_step(wrong)


# ------------------------------------------------------------------------------ lattice_coords


def _coords_loop(rows, cols, kind):
    out = []
    for r in range(rows):
        for c in range(cols):
            if kind == "hexagonal":
                out.append([c + (0.5 if r % 2 else 0.0), r * math.sin(math.pi / 3)])
            else:
                out.append([float(c), float(r)])
    return np.array(out)


def test_lattice_coords_passes_a_loop_and_the_library(capsys):
    _passes(checks.lattice_coords, _coords_loop, capsys)
    _passes(checks.lattice_coords, som.lattice_coords, capsys)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda r, c, k: _coords_loop(r, c, k)[:, ::-1], "not \\(row, column\\)"),
        (
            lambda r, c, k: (
                _coords_loop(r, c, k) / np.array([1.0, math.sin(math.pi / 3)])
                if k == "hexagonal"
                else _coords_loop(r, c, k)
            ),
            "sqrt\\(3\\)/2",
        ),
        (
            lambda r, c, k: (
                _coords_loop(r, c, k)
                + np.array([[0.5, 0.0]]) * ((np.arange(r * c) // c) % 2 == 0)[:, None]
                - np.array([[0.5, 0.0]]) * ((np.arange(r * c) // c) % 2 == 1)[:, None]
                if k == "hexagonal"
                else _coords_loop(r, c, k)
            ),
            "odd rows",
        ),
        (lambda r, c, k: _coords_loop(r, c, "rectangular"), "every other row"),
    ],
)
def test_lattice_coords_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.lattice_coords(wrong)


# ------------------------------------------------------------------------------ som_step


def _som_right(W, x, alpha, sigma, coords):
    ld = som.lattice_distances(coords)
    return som.som_step(W, x, alpha, sigma, ld)[0]


def _som_variant(W, x, alpha, sigma, coords, how):
    W, x, coords = (np.asarray(a, np.float64) for a in (W, x, coords))
    p = _nearest(W, x)
    d2 = ((coords - coords[p]) ** 2).sum(1)
    h = {
        "winner": (np.arange(len(W)) == p).astype(float),
        "no square": np.exp(-np.sqrt(d2) / (2 * sigma**2)),
        "no two": np.exp(-d2 / sigma**2),
        "weights": np.exp(-((W - W[p]) ** 2).sum(1) / (2 * sigma**2)),
    }[how]
    return W + alpha * h[:, None] * (x - W)


def test_som_step_passes_the_library(capsys):
    _passes(checks.som_step, _som_right, capsys)


@pytest.mark.parametrize(
    ("how", "hint"),
    [
        ("winner", "every neuron moves"),
        ("no square", "square the lattice distance"),
        ("no two", "2 sigma\\^2"),
        ("weights", "on the \\*lattice\\*"),
    ],
)
def test_som_step_fails_common_mistakes(how, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.som_step(lambda W, x, a, s, c: _som_variant(W, x, a, s, c, how))
