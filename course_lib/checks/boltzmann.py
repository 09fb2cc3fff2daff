r"""Self-checks for the exercises on Boltzmann machines and RBMs (Aggarwal §6.3–6.4, Ex 6.2–6.4).

The references are written out here in NumPy: the energy as the double sum of Eq 6.8, the
distribution by a loop over ``itertools.product`` of the states, the Gibbs conditional as a
ratio of enumerated probabilities, the fully visible gradient against ``jax.grad`` of the exact
log-likelihood, the RBM's conditionals and free energy against sums over the hidden states.
CD-1 is compared with :func:`course_lib.rbm.cd_gradient` under the same key, and its average
over many chains with the exact gradient of a weakly coupled machine. Common slips (a factor
of 2 on the weights, a flipped sign, the wrong state order, samples where probabilities belong)
are recognized and answered with a hint.
"""

from __future__ import annotations

import itertools
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
    _unpack,
)

_close = _close_within(rtol=1e-4, atol=1e-6)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _states(q: int) -> np.ndarray:
    """All 2^q binary states, unit 0 the most significant bit (the course's order)."""
    return np.array(list(itertools.product([0.0, 1.0], repeat=q)))


def _machine(q: int, seed: int, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    A = np.triu(rng.normal(0.0, scale, (q, q)), 1)
    return A + A.T, rng.normal(0.0, 0.7, q)


def _energy(W: np.ndarray, b: np.ndarray, s: np.ndarray) -> np.ndarray:
    q = b.shape[0]
    pairs = sum(W[i, j] * s[:, i] * s[:, j] for i in range(q) for j in range(i + 1, q))
    return -(s @ b) - pairs


def _distribution(W: np.ndarray, b: np.ndarray) -> np.ndarray:
    e = -_energy(W, b, _states(b.shape[0]))
    p = np.exp(e - e.max())
    return p / p.sum()


# ------------------------------------------------------------------------------ energy

_EX_ENERGY = Exercise("boltzmann_energy", "")


def boltzmann_energy(fn: Callable) -> None:
    r"""Check ``fn(W, b, s)``: $E(s) = -\sum_i b_i s_i - \sum_{i<j} w_{ij} s_i s_j$ per row."""
    ex = _EX_ENERGY
    cases = []
    for q, seed in ((3, 0), (5, 1), (4, 2)):
        W, b = _machine(q, seed)
        cases.append((f"{q} units, every state", W, b, _states(q)))
    W, b = _machine(6, 3)
    cases.append(("6 units, three states", W, b, _states(6)[[0, 21, 63]]))
    for words, W, b, s in cases:
        got = _array(ex, words, "the energies",
                     _call(ex, fn, (_f(W), _f(b), _f(s)), words), (s.shape[0],))  # fmt: skip
        expected = _energy(W, b, s)
        hint = None
        if not _close(got, expected):
            pairs = expected + s @ b
            if _close(got, -expected):
                hint = "the energy has minus signs: E = -sum b_i s_i - sum_{i<j} w_ij s_i s_j."
            elif _close(got, -(s @ b) + 2 * pairs):
                hint = (
                    "each pair i < j counts once: s W s sums both w_ij and w_ji, so halve it "
                    "(or sum over i < j only)."
                )
            elif _close(got, -(s @ b)) or _close(got, pairs):
                hint = "the energy has two parts: the bias terms and the pairwise terms."
            else:
                hint = "for a batch s of shape (n, q), return one energy per row, shape (n,)."
        _compare(ex, words, "the energies", got, expected, rtol=1e-4, atol=1e-5, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ distribution

_EX_DIST = Exercise("exact_distribution", "")


def exact_distribution(fn: Callable) -> None:
    r"""Check ``fn(W, b)``: $P(s) = e^{-E(s)}/Z$ for all $2^q$ states in the course's order."""
    ex = _EX_DIST
    cases = [(f"{q} units (seed {seed})", *_machine(q, seed, scale)) for q, seed, scale in
             ((3, 4, 1.0), (5, 5, 1.5), (2, 6, 0.5), (4, 7, 3.0))]  # fmt: skip
    for words, W, b in cases:
        q = b.shape[0]
        got = _array(ex, words, "P", _call(ex, fn, (_f(W), _f(b)), words), (2**q,))
        expected = _distribution(W, b)
        hint = None
        if not _close(got, expected):
            e = -_energy(W, b, _states(q))
            flipped = np.exp(-e - (-e).max())
            lsb = _states(q)[:, ::-1]
            p_lsb = np.exp(-_energy(W, b, lsb) - (-_energy(W, b, lsb)).max())
            if abs(got.sum() - 1.0) > 1e-3:
                hint = "divide by Z = sum over all states of exp(-E): the probabilities sum to 1."
            elif _close(got, flipped / flipped.sum()):
                hint = "P(s) is proportional to exp(-E(s)): low energy means high probability."
            elif _close(got, p_lsb / p_lsb.sum()):
                hint = (
                    "the states must come in the order of boltzmann.all_states(q): unit 0 is "
                    "the most significant bit (000, 001, 010, ...)."
                )
            else:
                hint = "enumerate boltzmann.all_states(q), compute every energy, then softmax(-E)."
        _compare(ex, words, "P", got, expected, rtol=1e-4, atol=1e-6, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ conditional

_EX_COND = Exercise("gibbs_conditional", "")


def gibbs_conditional(fn: Callable) -> None:
    r"""Check ``fn(W, b, s, i)``: $P(s_i = 1 \mid s_{-i})$ for each row of ``s``, against the
    ratio $P(s_{i=1})/(P(s_{i=1}) + P(s_{i=0}))$ of enumerated probabilities."""
    ex = _EX_COND
    cases = [(4, 8, 0), (4, 8, 3), (5, 9, 2), (3, 10, 1)]
    for q, seed, i in cases:
        words = f"{q} units, unit i = {i}, every state as the context"
        W, b = _machine(q, seed)
        S = _states(q)
        P = _distribution(W, b)
        index = {tuple(r): k for k, r in enumerate(S)}
        on, off = S.copy(), S.copy()
        on[:, i], off[:, i] = 1.0, 0.0
        p_on = P[[index[tuple(r)] for r in on]]
        p_off = P[[index[tuple(r)] for r in off]]
        expected = p_on / (p_on + p_off)
        got = _array(ex, words, "the probabilities",
                     _call(ex, fn, (_f(W), _f(b), _f(S), i), words), (S.shape[0],))  # fmt: skip
        hint = None
        if not _close(got, expected):
            field = b[i] + S @ W[i]
            if _close(got, 1.0 - expected):
                hint = "that is P(s_i = 0): sigmoid(ΔE_i) with ΔE_i = E(s_i=0) - E(s_i=1)."
            elif _close(got, _sigmoid(S @ W[i])):
                hint = "ΔE_i includes the unit's bias b_i."
            elif _close(got, _sigmoid(field + W[i, i] * S[:, i] + 1.0)) or _close(
                got, _sigmoid(b[i] + S @ W[:, 0])
            ):
                hint = "use row i of W: ΔE_i = b_i + sum_j w_ij s_j."
            else:
                hint = "ΔE_i = b_i + sum_{j != i} w_ij s_j, then the sigmoid (Eq 6.7)."
        _compare(ex, words, "the probabilities", got, expected, rtol=1e-4, atol=1e-6, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ Exercise 6.3

_EX_FV = Exercise("fully_visible_gradient", "6.3")


def _fv_log_likelihood(W, b, data, states):
    """Mean exact log-likelihood of a fully visible machine, in jnp (for jax.grad)."""

    def neg_energy(s):
        return s @ b + 0.5 * jnp.sum((s @ W) * s, axis=-1)

    return jnp.mean(neg_energy(data)) - jax.nn.logsumexp(neg_energy(states))


_fv_grad = jax.jit(jax.grad(_fv_log_likelihood, argnums=(0, 1)))


def fully_visible_gradient(fn: Callable) -> None:
    r"""Check ``fn(W, b, data) -> (grad_W, grad_b)`` for a machine whose units are all visible:
    ``grad_W`` = data correlations minus model correlations (symmetric, zero diagonal), against
    ``jax.grad`` of the exact log-likelihood (the shared weight's derivative is
    ``g[i, j] + g[j, i]``)."""
    ex = _EX_FV
    rng = np.random.default_rng(11)
    cases = []
    for q, seed, n in ((4, 12, 8), (4, 13, 8), (4, 14, 8)):  # one shape: one compilation
        W, b = _machine(q, seed)
        data = (rng.random((n, q)) < 0.5).astype(np.float64)
        cases.append((f"{q} units, {n} training vectors", W, b, data))
    for words, W, b, data in cases:
        q = b.shape[0]
        out = _call(ex, fn, (_f(W), _f(b), _f(data)), words)
        gW, gb = _unpack(ex, words, out, ("grad_W", "grad_b"))
        gW = _array(ex, words, "grad_W", gW, (q, q))
        gb = _array(ex, words, "grad_b", gb, (q,))
        with jax.enable_x64(True):
            S = jnp.asarray(_states(q))
            g = _fv_grad(jnp.asarray(W), jnp.asarray(b), jnp.asarray(data), S)
        off = 1.0 - np.eye(q)
        exp_W = (np.asarray(g[0]) + np.asarray(g[0]).T) * off
        exp_b = np.asarray(g[1])
        hint = None
        if not _close(gW, exp_W, atol=1e-5):
            data_corr = data.T @ data / data.shape[0]
            P = _distribution(W, b)
            model_corr = _states(q).T @ (P[:, None] * _states(q))
            if _close(gW, data_corr * off) or _close(gW, data_corr):
                hint = "subtract the model's correlations <s_i s_j>_model (all 2^q states, P(s))."
            elif _close(gW, -exp_W):
                hint = (
                    "the gradient of the log-likelihood is data minus model, not model minus data."
                )
            elif _close(gW, data_corr - model_corr):
                hint = "there is no self-weight: set the diagonal of grad_W to 0."
            elif _close(gW, exp_W / 2):
                hint = (
                    "w_ij sits in W twice (W[i, j] and W[j, i]); its gradient is s_i s_j, not half."
                )
            else:
                hint = "average s_i s_j over the data rows, minus its average under P(s)."
        _compare(ex, words, "grad_W", gW, exp_W, rtol=1e-4, atol=1e-5, hint=hint)
        _compare(ex, words, "grad_b", gb, exp_b, rtol=1e-4, atol=1e-5,
                 hint="the bias gradient is <s_i>_data - <s_i>_model.")  # fmt: skip
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ RBM: P(h | v)

_EX_HID = Exercise("hidden_probs", "6.2")


def _rbm(d: int, m: int, seed: int, scale: float = 1.0):
    rng = np.random.default_rng(seed)
    return rng.normal(0, scale, (d, m)), rng.normal(0, 0.5, d), rng.normal(0, 0.5, m)


def hidden_probs(fn: Callable) -> None:
    r"""Check ``fn(W, b_h, v)``: $P(h_j = 1 \mid v)$ for each row of ``v``, shape ``(n, m)``,
    against the conditional computed from the enumerated joint $P(v, h)$."""
    ex = _EX_HID
    cases = [(4, 3, 20), (3, 5, 21), (6, 2, 22)]
    for d, m, seed in cases:
        words = f"{d} visible, {m} hidden units, every visible vector"
        W, bv, bh = _rbm(d, m, seed)
        V, H = _states(d), _states(m)
        joint = np.exp(V @ bv[:, None] + (H @ bh)[None, :] + V @ W @ H.T)  # (2^d, 2^m)
        expected = joint @ H / joint.sum(axis=1, keepdims=True)
        got = _array(ex, words, "P(h | v)",
                     _call(ex, fn, (_f(W), _f(bh), _f(V)), words), expected.shape)  # fmt: skip
        hint = None
        if not _close(got, expected):
            if _close(got, 1.0 - expected):
                hint = "that is P(h_j = 0 | v): sigmoid(b_h + v W), with a plus sign."
            elif _close(got, _sigmoid(V @ W)):
                hint = "add the hidden biases b_h."
            else:
                hint = "one matrix product for the whole batch: sigmoid(v @ W + b_h) (Eq 6.15)."
        _compare(ex, words, "P(h | v)", got, expected, rtol=1e-4, atol=1e-6, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ visible biases

_EX_VB = Exercise("visible_bias_init", "")

BIAS_CLIP = 1e-3


def visible_bias_init(fn: Callable) -> None:
    r"""Check ``fn(data)``: $\log\frac{p_i}{1-p_i}$ with $p_i$ the fraction of ones in column
    $i$, clipped to $[10^{-3}, 1 - 10^{-3}]$; $\sigma(b_i) = p_i$."""
    ex = _EX_VB
    rng = np.random.default_rng(30)
    all_zero = (rng.random((50, 4)) < 0.4).astype(float)
    all_zero[:, 1] = 0.0
    all_zero[:, 3] = 1.0
    cases = [
        ("20 rows, 5 columns", (rng.random((20, 5)) < 0.3).astype(float)),
        ("8 rows with known fractions", np.array([[1, 0, 1]] * 2 + [[0, 0, 1]] * 6, float)),
        ("a column of zeros and one of ones", all_zero),
    ]
    for words, data in cases:
        got = _array(ex, words, "b_v", _call(ex, fn, (_f(data),), words), (data.shape[1],))
        p = np.clip(data.mean(axis=0), BIAS_CLIP, 1 - BIAS_CLIP)
        expected = np.log(p / (1 - p))
        hint = None
        if not _close(got, expected, rtol=1e-4, atol=1e-4):
            raw = data.mean(axis=0)
            if not np.all(np.isfinite(got)):
                hint = "a column of all 0s or all 1s gives log(0): clip p to [1e-3, 1 - 1e-3]."
            elif _close(got, -expected, atol=1e-4):
                hint = "log(p / (1 - p)), not log((1 - p) / p): sigmoid(b) should equal p."
            elif _close(got, np.log(np.clip(raw, BIAS_CLIP, 1)), atol=1e-4):
                hint = "the logit is log(p) - log(1 - p), not log(p)."
            else:
                hint = "p_i is the mean of column i of the data."
        _compare(ex, words, "b_v", got, expected, rtol=1e-4, atol=1e-4, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ CD-1 (Ex 6.2)

_EX_CD = Exercise("cd1_gradient", "6.2")


def cd1_gradient(fn: Callable) -> None:
    r"""Check ``fn(W, b_v, b_h, v, key) -> (grad_W, grad_b_v, grad_b_h)``: equal to
    ``rbm.cd_gradient(..., key=key, k=1)`` under the same key, and, averaged over many chains
    on a weakly coupled machine (where one Gibbs step nearly reaches equilibrium), close to
    the exact gradient."""
    from course_lib import rbm

    ex = _EX_CD
    rng = np.random.default_rng(40)
    cases = []
    for d, m, n, seed in ((4, 3, 10, 41), (4, 3, 10, 42), (4, 3, 10, 43)):  # one compilation
        W, bv, bh = _rbm(d, m, seed)
        v = (rng.random((n, d)) < 0.5).astype(float)
        cases.append((f"{d} visible, {m} hidden, {n} rows, key {seed}", W, bv, bh, v, seed))
    names = ("grad_W", "grad_b_v", "grad_b_h")
    for words, W, bv, bh, v, seed in cases:
        key = jax.random.key(seed)
        out = _call(ex, fn, (_f(W), _f(bv), _f(bh), _f(v), key), words)
        got = _unpack(ex, words, out, names)
        params = rbm.RBMParams(_f(W), _f(bv), _f(bh))
        ref = rbm.cd_gradient(params, _f(v), key=key, k=1)
        for name, g, r in zip(names, got, ref, strict=True):
            g = _array(ex, words, name, g, tuple(r.shape))
            hint = None
            if not _close(g, r, rtol=1e-4, atol=1e-5):
                hint = _cd1_hint(g, r, params, v, key, name)
            _compare(ex, words, name, g, np.asarray(r), rtol=1e-4, atol=1e-5, hint=hint)
    # its expectation: weak couplings, 4000 chains per row, against the exact gradient
    words = "the average over 4000 chains per row of a weakly coupled machine"
    W, bv, bh = _rbm(4, 3, 44, scale=0.1)
    v = np.tile((rng.random((6, 4)) < 0.5).astype(float), (4000, 1))
    out = _call(ex, fn, (_f(W), _f(bv), _f(bh), _f(v), jax.random.key(45)), words)
    got = _unpack(ex, words, out, names)
    exact = _rbm_exact_gradient(W, bv, bh, v[:6])
    for name, g, e in zip(names, got, exact, strict=True):
        g = _array(ex, words, name, g, tuple(e.shape))
        _compare(ex, words, name, g, np.asarray(e), rtol=0, atol=0.03,
                 hint="on average CD-1 should be close to the exact gradient here; check the "
                      "signs and that the negative phase starts from the data.")  # fmt: skip
    _passed(ex, len(cases) + 1)


def _rbm_exact_gradient(W, bv, bh, v):
    """The exact log-likelihood gradient of an RBM by enumerating the visible states (NumPy)."""
    V = _states(W.shape[0])
    neg_f = V @ bv + np.log1p(np.exp(V @ W + bh)).sum(axis=1)
    P = np.exp(neg_f - neg_f.max())
    P /= P.sum()
    ph, pV = _sigmoid(v @ W + bh), _sigmoid(V @ W + bh)
    n = v.shape[0]
    return (
        v.T @ ph / n - V.T @ (P[:, None] * pV),
        v.mean(axis=0) - P @ V,
        ph.mean(axis=0) - P @ pV,
    )


def _cd1_hint(g, r, params, v, key, name) -> str:
    r = np.asarray(r)
    if _close(g, -r, rtol=1e-4, atol=1e-5):
        return "positive minus negative statistics (data minus reconstruction), not the reverse."
    if _close(g, r * v.shape[0], rtol=1e-4, atol=1e-5):
        return "average over the rows of v: divide the sums by n."
    return (
        "follow the recipe exactly: kh, kv = jax.random.split(jax.random.fold_in(key, 0)); "
        "h = bernoulli(kh, P(h|v)); v1 = bernoulli(kv, P(v|h)) (binary samples); then use the "
        "hidden *probabilities* P(h|v) and P(h|v1) in the statistics (§6.4.3)."
    )


# ------------------------------------------------------------------------------ free energy

_EX_FE = Exercise("rbm_free_energy", "6.4")


def rbm_free_energy(fn: Callable) -> None:
    r"""Check ``fn(W, b_v, b_h, v)``: $F(v) = -b^{(v)\top}v - \sum_j \log(1 + e^{b^{(h)}_j +
    (vW)_j})$ per row, against $-\log\sum_h e^{-E(v, h)}$ summed over every hidden state."""
    ex = _EX_FE
    cases = [(4, 3, 50), (3, 5, 51), (5, 2, 52)]
    for d, m, seed in cases:
        words = f"{d} visible, {m} hidden units, every visible vector"
        W, bv, bh = _rbm(d, m, seed)
        V, H = _states(d), _states(m)
        neg_e = V @ bv[:, None] + (H @ bh)[None, :] + V @ W @ H.T
        expected = -np.log(np.exp(neg_e).sum(axis=1))
        out = _call(ex, fn, (_f(W), _f(bv), _f(bh), _f(V)), words)
        got = _array(ex, words, "F(v)", out, (V.shape[0],))
        hint = None
        if not _close(got, expected):
            soft = np.log1p(np.exp(bh[None, :] + V @ W)).sum(axis=1)
            if _close(got, -expected):
                hint = "F(v) = -log sum_h exp(-E(v, h)): mind the overall minus sign."
            elif _close(got, -soft):
                hint = "include the visible-bias term -b_v . v."
            elif _close(got, -(V @ bv) + soft):
                hint = "the softplus terms enter with a minus sign."
            else:
                hint = "sum h out in closed form: each hidden unit gives log(1 + exp(b_h + v W))."
        _compare(ex, words, "F(v)", got, expected, rtol=1e-4, atol=1e-5, hint=hint)
    _passed(ex, len(cases))
