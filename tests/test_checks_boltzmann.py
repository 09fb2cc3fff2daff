"""course_lib.checks.boltzmann: each check passes a right answer and fails plausible mistakes.

The right answers here are written independently of the solutions notebook (NumPy loops over
the states, the library's functions where the notebook writes the formula out).
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import boltzmann, checks, rbm
from course_lib.checks import CheckFailed


def _stub(*args):
    raise NotImplementedError("Exercise: replace this with your code")


ALL = [
    checks.boltzmann_energy,
    checks.exact_distribution,
    checks.gibbs_conditional,
    checks.fully_visible_gradient,
    checks.hidden_probs,
    checks.visible_bias_init,
    checks.cd1_gradient,
    checks.rbm_free_energy,
]


@pytest.mark.parametrize("check", ALL)
def test_every_check_says_not_implemented_for_the_stub(check):
    with pytest.raises(CheckFailed, match="not implemented yet"):
        check(_stub)


def _passes(check, fn, capsys):
    check(fn)
    assert "✔" in capsys.readouterr().out


def _fails(check, fn, hint_words):
    with pytest.raises(CheckFailed) as info:
        check(fn)
    assert hint_words in str(info.value), str(info.value)


def _sig(z):
    return 1.0 / (1.0 + np.exp(-np.asarray(z, np.float64)))


# ------------------------------------------------------------------------------ energy


def _energy_loops(W, b, s):
    W, b, s = (np.asarray(a, np.float64) for a in (W, b, s))
    q = b.size
    return np.array(
        [-b @ r - sum(W[i, j] * r[i] * r[j] for i in range(q) for j in range(i + 1, q)) for r in s]
    )


def test_energy(capsys):
    _passes(checks.boltzmann_energy, _energy_loops, capsys)
    _passes(checks.boltzmann_energy, lambda W, b, s: boltzmann.energy(boltzmann.make_bm(W, b), s),
            capsys)  # fmt: skip
    _fails(checks.boltzmann_energy, lambda W, b, s: -_energy_loops(W, b, s), "minus signs")
    _fails(checks.boltzmann_energy,
           lambda W, b, s: -(s @ b) - jnp.sum((s @ W) * s, axis=1), "counts once")  # fmt: skip
    _fails(checks.boltzmann_energy, lambda W, b, s: -(s @ b), "two parts")


# ------------------------------------------------------------------------------ distribution


def _dist_loops(W, b):
    q = np.asarray(b).size
    S = np.array(list(itertools.product([0, 1], repeat=q)), float)
    w = np.exp(-_energy_loops(W, b, S))
    return w / w.sum()


def test_exact_distribution(capsys):
    _passes(checks.exact_distribution, _dist_loops, capsys)
    _fails(checks.exact_distribution, lambda W, b: _dist_loops(W, b) * 2.0, "sum to 1")
    _fails(checks.exact_distribution, lambda W, b: _dist_loops(-W, -b), "low energy")

    def lsb_first(W, b):
        q = np.asarray(b).size
        S = np.array(list(itertools.product([0, 1], repeat=q)), float)[:, ::-1]
        w = np.exp(-_energy_loops(W, b, S))
        return w / w.sum()

    _fails(checks.exact_distribution, lsb_first, "most significant")


# ------------------------------------------------------------------------------ conditional


def _conditional_by_energies(W, b, s, i):
    on, off = np.array(s, float), np.array(s, float)
    on[:, i], off[:, i] = 1.0, 0.0
    return _sig(_energy_loops(W, b, off) - _energy_loops(W, b, on))


def test_gibbs_conditional(capsys):
    _passes(checks.gibbs_conditional, _conditional_by_energies, capsys)
    _fails(checks.gibbs_conditional, lambda W, b, s, i: 1 - _conditional_by_energies(W, b, s, i),
           "P(s_i = 0)")  # fmt: skip
    _fails(checks.gibbs_conditional, lambda W, b, s, i: _sig(np.asarray(s) @ np.asarray(W)[i]),
           "bias")  # fmt: skip
    _fails(checks.gibbs_conditional,
           lambda W, b, s, i: _sig(np.asarray(b)[i] + np.asarray(s) @ np.asarray(W)[:, 0]),
           "row i")  # fmt: skip


# ------------------------------------------------------------------------------ Exercise 6.3


def _fv_library(W, b, data):
    g = boltzmann.exact_gradient(boltzmann.make_bm(W, b), data, n_visible=np.asarray(b).size)
    return g.W, g.b


def _fv_loops(W, b, data):
    data = np.asarray(data, np.float64)
    q = data.shape[1]
    S = np.array(list(itertools.product([0, 1], repeat=q)), float)
    P = _dist_loops(W, b)
    gW = np.zeros((q, q))
    for i in range(q):
        for j in range(q):
            if i != j:
                gW[i, j] = np.mean(data[:, i] * data[:, j]) - np.sum(P * S[:, i] * S[:, j])
    return gW, data.mean(0) - P @ S


def test_fully_visible_gradient(capsys):
    _passes(checks.fully_visible_gradient, _fv_loops, capsys)
    _passes(checks.fully_visible_gradient, _fv_library, capsys)

    def data_only(W, b, data):
        d = np.asarray(data, np.float64)
        return d.T @ d / d.shape[0] * (1 - np.eye(d.shape[1])), d.mean(0)

    def reversed_sign(W, b, data):
        gW, gb = _fv_loops(W, b, data)
        return -gW, -gb

    def half(W, b, data):
        gW, gb = _fv_loops(W, b, data)
        return gW / 2, gb

    _fails(checks.fully_visible_gradient, data_only, "model's correlations")
    _fails(checks.fully_visible_gradient, reversed_sign, "data minus model")
    _fails(checks.fully_visible_gradient, half, "twice")


# ------------------------------------------------------------------------------ RBM inference


def test_hidden_probs(capsys):
    _passes(
        checks.hidden_probs,
        lambda W, bh, v: _sig(np.asarray(v) @ np.asarray(W) + np.asarray(bh)),
        capsys,
    )
    _passes(checks.hidden_probs,
            lambda W, bh, v: rbm.hidden_probs(rbm.RBMParams(W, jnp.zeros(W.shape[0]), bh), v),
            capsys)  # fmt: skip
    _fails(
        checks.hidden_probs,
        lambda W, bh, v: _sig(-(np.asarray(v) @ np.asarray(W) + np.asarray(bh))),
        "P(h_j = 0",
    )
    _fails(
        checks.hidden_probs, lambda W, bh, v: _sig(np.asarray(v) @ np.asarray(W)), "hidden biases"
    )


def test_visible_bias_init(capsys):
    def mine(data):
        p = np.clip(np.asarray(data).mean(0), 1e-3, 1 - 1e-3)
        return np.log(p / (1 - p))

    _passes(checks.visible_bias_init, mine, capsys)
    _passes(checks.visible_bias_init, rbm.visible_bias_init, capsys)
    _fails(checks.visible_bias_init, lambda d: -mine(d), "sigmoid(b) should equal p")

    def unclipped(data):
        p = np.asarray(data).mean(0)
        with np.errstate(divide="ignore"):
            return np.log(p / (1 - p))

    _fails(checks.visible_bias_init, unclipped, "clip")
    _fails(checks.visible_bias_init, lambda d: np.log(np.clip(np.asarray(d).mean(0), 1e-3, 1)),
           "log(p) - log(1 - p)")  # fmt: skip


# ------------------------------------------------------------------------------ CD-1


def _cd1_mine(W, b_v, b_h, v, key):
    """CD-1 written with NumPy arithmetic around the same jax.random draws."""
    W, b_v, b_h, v = (np.asarray(a, np.float64) for a in (W, b_v, b_h, v))
    kh, kv = jax.random.split(jax.random.fold_in(key, 0))
    ph0 = _sig(v @ W + b_h)
    h = np.asarray(jax.random.bernoulli(kh, jnp.asarray(ph0)), float)
    v1 = np.asarray(jax.random.bernoulli(kv, jnp.asarray(_sig(h @ W.T + b_v))), float)
    ph1 = _sig(v1 @ W + b_h)
    n = v.shape[0]
    return (v.T @ ph0 - v1.T @ ph1) / n, (v - v1).mean(0), (ph0 - ph1).mean(0)


def test_cd1_gradient(capsys):
    _passes(checks.cd1_gradient, _cd1_mine, capsys)

    def negated(*args):
        return tuple(-g for g in _cd1_mine(*args))

    def summed(W, b_v, b_h, v, key):
        return tuple(g * np.asarray(v).shape[0] for g in _cd1_mine(W, b_v, b_h, v, key))

    def sampled_positive(W, b_v, b_h, v, key):  # samples h in the statistics: same mean, new draw
        W, b_v, b_h, v = (np.asarray(a, np.float64) for a in (W, b_v, b_h, v))
        kh, kv = jax.random.split(jax.random.fold_in(key, 0))
        h = np.asarray(jax.random.bernoulli(kh, jnp.asarray(_sig(v @ W + b_h))), float)
        v1 = np.asarray(jax.random.bernoulli(kv, jnp.asarray(_sig(h @ W.T + b_v))), float)
        h1 = _sig(v1 @ W + b_h)
        return (v.T @ h - v1.T @ h1) / v.shape[0], (v - v1).mean(0), (h - h1).mean(0)

    _fails(checks.cd1_gradient, negated, "positive minus negative")
    _fails(checks.cd1_gradient, summed, "divide the sums by n")
    _fails(checks.cd1_gradient, sampled_positive, "probabilities")


# ------------------------------------------------------------------------------ free energy


def _free_energy_loops(W, b_v, b_h, v):
    W, b_v, b_h, v = (np.asarray(a, np.float64) for a in (W, b_v, b_h, v))
    H = np.array(list(itertools.product([0, 1], repeat=b_h.size)), float)
    return np.array([-np.log(np.sum(np.exp(r @ b_v + H @ b_h + r @ W @ H.T))) for r in v])


def test_rbm_free_energy(capsys):
    _passes(checks.rbm_free_energy, _free_energy_loops, capsys)
    _passes(checks.rbm_free_energy,
            lambda W, bv, bh, v: rbm.free_energy(rbm.RBMParams(W, bv, bh), v), capsys)  # fmt: skip
    _fails(checks.rbm_free_energy, lambda *a: -_free_energy_loops(*a), "minus sign")

    def no_visible_bias(W, b_v, b_h, v):
        return _free_energy_loops(W, np.zeros_like(np.asarray(b_v)), b_h, v)

    _fails(checks.rbm_free_energy, no_visible_bias, "visible-bias term")
