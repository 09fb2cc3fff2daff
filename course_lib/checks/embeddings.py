r"""Self-checks for the chapter-2b exercises (Aggarwal §2.5–2.7, exercises 2.8, 2.9, 2.14).

Autoencoders as matrix factorization, recommendation with a masked loss, and word2vec. Each
check runs the student's function on a few fixed cases and compares with an independent
reference: ``numpy.linalg.pinv`` for the optimal encoder, ``jax.grad`` of a loss written out
here for every gradient and update, and the definitions themselves for the rest. When a wrong
answer equals a known slip (a missing term, a wrong sign, a mean instead of a sum), the hint
names it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
    _f,
    _fmt,
    _passed,
    _scalar,
    _unpack,
)


def _rng_array(seed: int, shape: tuple[int, ...], scale: float = 1.0) -> np.ndarray:
    """Fixed inputs: rounded to multiples of 1/8, so float32 and float64 agree closely."""
    rng = np.random.default_rng(seed)
    return np.round(scale * rng.normal(size=shape) * 8) / 8


_close = _close_within(rtol=1e-4, atol=1e-4)


def _slip_hint(got: Sequence[np.ndarray], slips: Sequence[tuple[Callable, str]], default: str):
    """The hint of the first slip whose outputs equal the student's, else ``default``."""
    for model, hint in slips:
        try:
            want = model()
        except Exception:  # a slip model that does not apply to this case
            continue
        want = want if isinstance(want, tuple) else (want,)
        if len(want) == len(got) and all(_close(g, w) for g, w in zip(got, want, strict=True)):
            return hint
    return default


def _check_outputs(
    ex: Exercise,
    case: str,
    out: Any,
    names: Sequence[str],
    shapes: Sequence[tuple[int, ...]],
    expected: Sequence[np.ndarray],
    slips: Sequence[tuple[Callable, str]],
    default_hint: str,
    *,
    rtol: float = 1e-4,
    atol: float = 1e-4,
    details: Sequence[str] = (),
) -> None:
    """Unpack (when several outputs), shape-check and compare every output, with a slip hint."""
    parts = _unpack(ex, case, out, names) if len(names) > 1 else (out,)
    got = [
        _array(ex, case, n, p, s, hint=f"{n} should have shape {s}.")
        for n, p, s in zip(names, parts, shapes, strict=True)
    ]
    right = all(np.allclose(g, e, rtol=rtol, atol=atol) for g, e in zip(got, expected, strict=True))
    hint = None if right else _slip_hint(got, slips, default_hint)
    for n, g, e in zip(names, got, expected, strict=True):
        _compare(ex, case, n, g, e, rtol=rtol, atol=atol, hint=hint, details=details)


# ------------------------------------------------------------------------------ Exercise 2.14

_EX_ENCODER = Exercise("optimal_encoder", "2.14")


def optimal_encoder(fn: Callable) -> None:
    r"""Check ``fn(V) -> W``: the best encoder $W = (V^TV)^{-1}V^T$ for a fixed ``V: (d, k)``.

    The reference is ``numpy.linalg.pinv(V)``; the check also verifies the optimality
    condition of Exercise 2.14(a), $D^TD(W^TV^TV - V) = 0$, on random data.
    """
    ex = _EX_ENCODER
    cases = [
        ("V of shape (6, 2), columns not orthogonal", _rng_array(1, (6, 2))),
        ("V of shape (5, 3)", _rng_array(2, (5, 3))),
        ("V of shape (4, 1): one code unit", _rng_array(3, (4, 1))),
        ("V with orthonormal columns: then W = V^T", np.linalg.qr(_rng_array(4, (5, 2)))[0]),
    ]
    for words, V in cases:
        d, k = V.shape
        out = _call(ex, fn, (_f(V),), words, [f"input V = {_fmt(V)}"])
        expected = np.linalg.pinv(V)
        slips = [
            (
                lambda V=V: V.T,
                "V^T is the answer only when the columns of V are orthonormal; "
                "in general you need the inverse of V^T V in front of it.",
            ),
        ]
        _check_outputs(
            ex,
            words,
            out,
            ["W"],
            [(k, d)],
            [expected],
            slips,
            "set the gradient of ||D - D W^T V^T||^2 with respect to W to zero and solve for W "
            "(jnp.linalg.solve or jnp.linalg.inv).",
            details=[f"input V = {_fmt(V)}"],
        )
        W = np.asarray(out, float)
        D = _rng_array(10 + k, (8, d))
        residual = D.T @ D @ (W.T @ V.T @ V - V)
        if not np.allclose(residual, 0, atol=1e-3):
            raise CheckFailed(
                ex,
                "the optimality condition D^T D (W^T V^T V - V) = 0 fails",
                case=words,
                details=[f"max |residual| = {_fmt(np.abs(residual).max())}"],
            )
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ Exercise 2.8

_EX_LOGMF = Exercise("logistic_mf_nll", "2.8")


@jax.jit  # one compilation per input shape, instead of op-by-op dispatch
def _bernoulli_nll(U, V, B):
    S = U @ V.T
    return -jnp.sum(B * jax.nn.log_sigmoid(S) + (1 - B) * jax.nn.log_sigmoid(-S))


def logistic_mf_nll(fn: Callable) -> None:
    r"""Check ``fn(U, V, B)``: the Bernoulli negative log-likelihood of $B \approx \sigma(UV^T)$.

    $-\sum_{ij} b_{ij}\log\sigma(u_i\cdot v_j) + (1-b_{ij})\log(1-\sigma(u_i\cdot v_j))$, a sum,
    for binary $B$ (a) and for fractional $B \in [0, 1]$ (b); the reference is written out here
    with ``jax.nn.log_sigmoid``.
    """
    ex = _EX_LOGMF
    U1, V1 = _rng_array(5, (4, 2)), _rng_array(6, (3, 2))
    B1 = (np.random.default_rng(7).uniform(size=(4, 3)) < 0.5).astype(float)
    cases = [
        ("binary B of shape (4, 3), rank-2 factors", U1, V1, B1),
        (
            "fractional B in [0, 1] (Exercise 2.8b)",
            U1,
            V1,
            np.round(np.random.default_rng(8).uniform(size=(4, 3)) * 4) / 4,
        ),
        ("B all ones", _rng_array(9, (2, 3)), _rng_array(10, (5, 3)), np.ones((2, 5))),
        (
            "large scores |u.v| up to 60: log(1 - sigmoid) must not give -inf",
            10 * _rng_array(11, (3, 2)),
            3 * _rng_array(12, (3, 2)),
            np.eye(3),
        ),
    ]
    for words, U, V, B in cases:
        inputs = [f"input B = {_fmt(B)}"]
        out = _call(ex, fn, (_f(U), _f(V), _f(B)), words, inputs)
        got = _scalar(ex, words, "loss", out)
        expected = float(_bernoulli_nll(jnp.asarray(U), jnp.asarray(V), jnp.asarray(B)))
        S = U @ V.T
        p = 1 / (1 + np.exp(-S))
        slips = [
            (
                lambda B=B, S=S: -np.sum(B * np.log(1 / (1 + np.exp(-S)))),
                "the entries with b = 0 count too: add (1 - b) log(1 - sigmoid(u.v)).",
            ),
            (
                lambda B=B, U=U, V=V: (
                    float(_bernoulli_nll(jnp.asarray(U), jnp.asarray(V), jnp.asarray(B))) / B.size
                ),
                "the loss is a sum over the entries, not a mean.",
            ),
            (
                lambda B=B, p=p: np.sum(B * np.log(p) + (1 - B) * np.log(1 - p)),
                "a negative log-likelihood: put a minus sign in front.",
            ),
        ]
        hint = None
        if not np.isclose(got, expected, rtol=1e-4, atol=1e-4):
            if not np.isfinite(got):
                hint = (
                    "log(sigmoid(s)) underflows for large |s|: use jax.nn.log_sigmoid(s), and "
                    "log(1 - sigmoid(s)) = log_sigmoid(-s)."
                )
            else:
                hint = _slip_hint(
                    [np.asarray(got)],
                    slips,
                    "write the likelihood of one entry, "
                    "sigmoid(s)^b (1 - sigmoid(s))^(1 - b), take -log and sum.",
                )
        _compare(ex, words, "loss", got, expected, rtol=1e-4, atol=1e-4, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ Exercise 2.9

_EX_NMF = Exercise("nmf_step", "2.9")


@jax.jit
def _nmf_reference(D, U, V, lr):
    def loss(U, V):
        return 0.5 * jnp.sum((D - U @ V.T) ** 2)

    gU, gV = jax.grad(loss, argnums=(0, 1))(U, V)
    return jnp.maximum(U - lr * gU, 0.0), jnp.maximum(V - lr * gV, 0.0)


def nmf_step(fn: Callable) -> None:
    r"""Check ``fn(D, U, V, lr) -> (new_U, new_V)``: one projected gradient step of NMF.

    On $J = \tfrac12\|D - UV^T\|_F^2$, both factors from the *old* values, then clipped at 0:
    $U \leftarrow \max(0, U - \alpha\,\partial J/\partial U)$, same for $V$. The reference takes
    the gradients with ``jax.grad``.
    """
    ex = _EX_NMF
    cases = [
        (
            "D (5, 4) >= 0, rank-2 factors",
            np.abs(_rng_array(20, (5, 4))),
            np.abs(_rng_array(21, (5, 2))),
            np.abs(_rng_array(22, (4, 2))),
            0.05,
        ),
        (
            "a large step: some entries must be clipped to 0",
            np.abs(_rng_array(23, (4, 3))),
            np.abs(_rng_array(24, (4, 2))),
            np.abs(_rng_array(25, (3, 2))) + 1,
            0.5,
        ),
        (
            "D (3, 6), one factor",
            np.abs(_rng_array(26, (3, 6))),
            np.abs(_rng_array(27, (3, 1))),
            np.abs(_rng_array(28, (6, 1))),
            0.1,
        ),
    ]
    for words, D, U, V, lr in cases:
        out = _call(ex, fn, (_f(D), _f(U), _f(V), lr), words)
        eU, eV = _nmf_reference(jnp.asarray(D), jnp.asarray(U), jnp.asarray(V), lr)
        E = D - U @ V.T
        slips = [
            (
                lambda E=E, U=U, V=V, lr=lr: (U - lr * (-E @ V), V - lr * (-E.T @ U)),
                "after the gradient step, project: negative entries become 0 (jnp.maximum(., 0)).",
            ),
            (
                lambda E=E, U=U, V=V, lr=lr: (
                    np.maximum(U + lr * (-E @ V), 0),
                    np.maximum(V + lr * (-E.T @ U), 0),
                ),
                "the step goes against the gradient: U - lr * dJ/dU, with dJ/dU = -(D - U V^T) V.",
            ),
            (
                lambda D=D, U=U, V=V, lr=lr: (
                    np.maximum(U + lr * (D - U @ V.T) @ V, 0),
                    np.maximum(
                        V
                        + lr
                        * (D - np.maximum(U + lr * (D - U @ V.T) @ V, 0) @ V.T).T
                        @ np.maximum(U + lr * (D - U @ V.T) @ V, 0),
                        0,
                    ),
                ),
                "update U and V from the same old values (compute both gradients first).",
            ),
        ]
        _check_outputs(
            ex,
            words,
            out,
            ["new_U", "new_V"],
            [U.shape, V.shape],
            [np.asarray(eU), np.asarray(eV)],
            slips,
            "dJ/dU = -(D - U V^T) V and dJ/dV = -(D - U V^T)^T U; step, then clip at 0.",
        )
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ SGNS update

_EX_SGNS = Exercise("sgns_example_update", "")


@jax.jit
def _sgns_reference(u, vp, vn, lr):
    def loss(u, vp, vn):
        return -jax.nn.log_sigmoid(vp @ u) - jnp.sum(jax.nn.log_sigmoid(-(vn @ u)))

    g = jax.grad(loss, argnums=(0, 1, 2))(u, vp, vn)
    return u - lr * g[0], vp - lr * g[1], vn - lr * g[2]


def sgns_example_update(fn: Callable) -> None:
    r"""Check ``fn(u, v_pos, v_neg, lr) -> (new_u, new_v_pos, new_v_neg)``: one SGNS step.

    For the centre word's $u$ (``(p,)``), the true context's $v_c$ (``(p,)``) and $k$ negatives
    $v_n$ (``(k, p)``), one gradient step on
    $-\log\sigma(u\cdot v_c) - \sum_n\log\sigma(-u\cdot v_n)$, all gradients at the old values.
    The reference is ``jax.grad``.
    """
    ex = _EX_SGNS
    cases = [
        (
            "p = 4, k = 3 negatives",
            _rng_array(30, (4,)),
            _rng_array(31, (4,)),
            _rng_array(32, (3, 4)),
            0.1,
        ),
        (
            "p = 3, k = 1 negative",
            _rng_array(33, (3,)),
            _rng_array(34, (3,)),
            _rng_array(35, (1, 3)),
            0.5,
        ),
        (
            "p = 5, k = 5, large scores",
            2 * _rng_array(36, (5,)),
            2 * _rng_array(37, (5,)),
            2 * _rng_array(38, (5, 5)),
            0.05,
        ),
    ]
    sig = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    for words, u, vp, vn, lr in cases:
        out = _call(ex, fn, (_f(u), _f(vp), _f(vn), lr), words)
        expected = [
            np.asarray(a)
            for a in _sgns_reference(jnp.asarray(u), jnp.asarray(vp), jnp.asarray(vn), lr)
        ]
        pm, nm = 1 - sig(u @ vp), sig(vn @ u)
        slips = [
            (
                lambda u=u, vp=vp, vn=vn, lr=lr, pm=pm, nm=nm: (
                    u - lr * (pm * vp - nm @ vn),
                    vp - lr * pm * u,
                    vn - lr * nm[:, None] * u[None, :],
                ),
                "the signs: the positive mistake pulls u TOWARDS v_pos "
                "(u + lr * (1 - s(u.v_pos)) v_pos), "
                "negative mistakes push it away.",
            ),
            (
                lambda u=u, vp=vp, vn=vn, lr=lr: (
                    u + lr * (sig(u @ vp) * vp - sig(vn @ u) @ vn),
                    vp + lr * sig(u @ vp) * u,
                    vn - lr * sig(vn @ u)[:, None] * u[None, :],
                ),
                "the positive mistake is the probability of saying 'no' to the true pair: "
                "1 - sigmoid(u.v_pos), not sigmoid(u.v_pos).",
            ),
            (
                lambda u=u, vp=vp, vn=vn, lr=lr, pm=pm, nm=nm: (
                    u + lr * pm * vp,
                    vp + lr * pm * u,
                    vn - lr * nm[:, None] * u[None, :],
                ),
                "the negatives also move u: subtract lr * sum_n sigmoid(u.v_n) v_n.",
            ),
        ]
        p, k = u.shape[0], vn.shape[0]
        _check_outputs(
            ex,
            words,
            out,
            ["new_u", "new_v_pos", "new_v_neg"],
            [(p,), (p,), (k, p)],
            expected,
            slips,
            "differentiate -log s(u.v_pos) - sum_n log s(-u.v_n), using s'(x) = s(x)(1 - s(x)).",
        )
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ CBOW update

_EX_CBOW = Exercise("cbow_update", "")


@jax.jit
def _cbow_reference(U, V, context, target, lr):
    def loss(U, V):
        h = jnp.sum(U[context], axis=0)
        return -jax.nn.log_softmax(V @ h)[target]

    gU, gV = jax.grad(loss, argnums=(0, 1))(U, V)
    return U - lr * gU, V - lr * gV


def cbow_update(fn: Callable) -> None:
    r"""Check ``fn(U, V, context, target, lr) -> (new_U, new_V)``: the CBOW $\epsilon$ update.

    ``U: (d, p)`` input embeddings, ``V: (d, p)`` output embeddings (row $j$ is $\bar v_j$),
    ``context: (m,)`` ids, ``target`` an id. With $\bar h = \sum_i \bar u_{w_i}$ and
    $\epsilon = y - \mathrm{softmax}(V\bar h)$: $\bar u_{w_i} \mathrel{+}= \alpha V^T\epsilon$
    per occurrence, $\bar v_j \mathrel{+}= \alpha\epsilon_j\bar h$. Reference: ``jax.grad``.
    """
    ex = _EX_CBOW
    cases = [
        (
            "vocabulary 6, p = 3, window of 4 distinct words",
            _rng_array(40, (6, 3)),
            _rng_array(41, (6, 3)),
            [0, 2, 3, 5],
            1,
            0.1,
        ),
        (
            "a word twice in the window: it is updated twice",
            _rng_array(42, (6, 3)),
            _rng_array(43, (6, 3)),
            [4, 2, 2, 0],
            3,
            0.2,
        ),
        (
            "the target also appears in the context",
            _rng_array(44, (5, 2)),
            _rng_array(45, (5, 2)),
            [1, 3],
            1,
            0.5,
        ),
    ]
    for words, U, V, context, target, lr in cases:
        ctx = jnp.asarray(context, dtype=jnp.int32)
        out = _call(
            ex,
            fn,
            (_f(U), _f(V), ctx, jnp.asarray(target, jnp.int32), lr),
            words,
            [f"input context = {context}, target = {target}"],
        )
        eU, eV = _cbow_reference(jnp.asarray(U), jnp.asarray(V), ctx, target, lr)
        h = U[context].sum(axis=0)
        s = V @ h
        yhat = np.exp(s - s.max()) / np.exp(s - s.max()).sum()
        eps = -yhat
        eps[target] += 1
        once = U.copy()
        once[np.unique(context)] += lr * (V.T @ eps)
        slips = [
            (
                lambda once=once, V=V, eps=eps, h=h, lr=lr: (once, V + lr * np.outer(eps, h)),
                "a word that appears twice in the window contributes twice to h, so its embedding "
                "gets the update twice (U.at[context].add(...) adds per occurrence; "
                ".set does not).",
            ),
            (
                lambda U=U, V=V, eps=eps, h=h, lr=lr, context=context: (
                    _add_rows(U, context, -lr * (V.T @ eps)),
                    V - lr * np.outer(eps, h),
                ),
                "the signs: epsilon = y - y_hat is minus the gradient, so the update ADDS "
                "lr * epsilon terms.",
            ),
            (
                lambda U=U, V=V, eps=eps, h=h, lr=lr, context=context: (
                    _add_rows(U, context, lr * (V.T @ eps)),
                    V,
                ),
                "update the output embeddings too: v_j += lr * epsilon_j * h for every word j.",
            ),
        ]
        _check_outputs(
            ex,
            words,
            out,
            ["new_U", "new_V"],
            [U.shape, V.shape],
            [np.asarray(eU), np.asarray(eV)],
            slips,
            "h = sum of the context rows of U; epsilon = onehot(target) - softmax(V h).",
            details=[f"input context = {context}, target = {target}"],
        )
    _passed(ex, len(cases))


def _add_rows(U: np.ndarray, rows: Sequence[int], delta: np.ndarray) -> np.ndarray:
    out = U.copy()
    for r in rows:
        out[r] += delta
    return out


# ------------------------------------------------------------------------------ the f^(3/4) sampler

_EX_NEG = Exercise("negative_sampling_distribution", "")


def negative_sampling_distribution(fn: Callable) -> None:
    r"""Check ``fn(counts, power) -> q``: $q_j = c_j^{\,p} / \sum_l c_l^{\,p}$ (SGNS: $p = 3/4$)."""
    ex = _EX_NEG
    cases = [
        ("counts [400, 200, 100, 60, 40], power 3/4", [400.0, 200.0, 100.0, 60.0, 40.0], 0.75),
        ("power 1: the unigram distribution", [5.0, 3.0, 2.0], 1.0),
        ("power 0: uniform", [9.0, 1.0, 1.0, 5.0], 0.0),
        ("a word with count 0 is never drawn", [8.0, 0.0, 8.0], 0.75),
    ]
    for words, counts, power in cases:
        c = np.asarray(counts)
        out = _call(ex, fn, (_f(c), power), words)
        w = c**power if power else (c >= 0).astype(float)
        expected = w / w.sum()
        slips = [
            (
                lambda c=c, power=power: c**power,
                "divide by the sum so that the probabilities add up to 1.",
            ),
            (
                lambda c=c, power=power: (c / c.sum()) ** power,
                "normalize AFTER raising to the power: (c/N)^p does not sum to 1.",
            ),
            (lambda c=c: c / c.sum(), "raise the counts to the power p first (3/4 for SGNS)."),
        ]
        if power == 0.0:  # 0 ** 0 = 1 gives the uniform distribution also for a zero count
            expected = np.ones_like(c) / len(c)
        _check_outputs(
            ex,
            words,
            out,
            ["q"],
            [c.shape],
            [expected],
            slips,
            "q_j = counts_j ** power / sum_l counts_l ** power.",
        )
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ masked MF gradient

_EX_MASKED = Exercise("masked_mf_grad", "")


@jax.jit
def _masked_reference(U, V, R, M, lam):
    def loss(U, V):
        E = jnp.where(M > 0, R - U @ V.T, 0.0)
        return 0.5 * jnp.sum(E**2) + 0.5 * lam * (jnp.sum(U**2) + jnp.sum(V**2))

    return jax.grad(loss, argnums=(0, 1))(U, V)


def masked_mf_grad(fn: Callable) -> None:
    r"""Check ``fn(U, V, R, mask, lam) -> (dU, dV)``: the gradient of the masked MF loss.

    $J = \tfrac12\sum_{\text{observed}}(r_{ij} - u_i\cdot v_j)^2 + \tfrac\lambda2(\|U\|^2+\|V\|^2)$;
    missing entries (mask 0) may hold NaN. The reference is ``jax.grad`` of $J$ written out here.
    """
    ex = _EX_MASKED
    rng = np.random.default_rng(50)
    M1 = (rng.uniform(size=(5, 4)) < 0.5).astype(float)
    R1 = _rng_array(51, (5, 4))
    cases = [
        (
            "5 users, 4 items, half observed, lam = 0.1",
            _rng_array(52, (5, 2)),
            _rng_array(53, (4, 2)),
            R1,
            M1,
            0.1,
        ),
        (
            "everything observed, lam = 0",
            _rng_array(54, (3, 2)),
            _rng_array(55, (4, 2)),
            _rng_array(56, (3, 4)),
            np.ones((3, 4)),
            0.0,
        ),
        (
            "missing ratings stored as NaN",
            _rng_array(52, (5, 2)),
            _rng_array(53, (4, 2)),
            np.where(M1 > 0, R1, np.nan),
            M1,
            0.1,
        ),
    ]
    for words, U, V, R, M, lam in cases:
        out = _call(ex, fn, (_f(U), _f(V), _f(R), _f(M), lam), words)
        eU, eV = _masked_reference(
            jnp.asarray(U), jnp.asarray(V), jnp.asarray(R), jnp.asarray(M), lam
        )
        E = np.where(M > 0, R - U @ V.T, 0.0)
        Efull = np.nan_to_num(R) - U @ V.T
        slips = [
            (
                lambda Efull=Efull, U=U, V=V, lam=lam: (
                    -Efull @ V + lam * U,
                    -Efull.T @ U + lam * V,
                ),
                "the missing entries must not count: mask the errors before using them.",
            ),
            (
                lambda E=E, U=U, V=V: (-E @ V, -E.T @ U),
                "add the penalty's gradient, lam * U and lam * V.",
            ),
            (
                lambda E=E, U=U, V=V, lam=lam: (E @ V + lam * U, E.T @ U + lam * V),
                "the sign of the error term: dJ/dU = -(errors) V + lam U with errors = R - U V^T.",
            ),
        ]
        parts = out if isinstance(out, (tuple, list)) else None
        if parts is not None and len(parts) == 2 and R is not None and np.isnan(R).any():
            got = [np.asarray(p, float) for p in parts]
            if not all(np.all(np.isfinite(g)) for g in got):
                raise CheckFailed(
                    ex,
                    "the gradient contains NaN",
                    case=words,
                    hint=(
                        "NaN * 0 is NaN: multiplying by the mask does not remove a NaN rating. "
                        "Choose with jnp.where(mask > 0, R - U @ V.T, 0.0) instead."
                    ),
                )
        _check_outputs(
            ex,
            words,
            out,
            ["dU", "dV"],
            [U.shape, V.shape],
            [np.asarray(eU), np.asarray(eV)],
            slips,
            "with errors E = mask * (R - U V^T): dJ/dU = -E V + lam U, dJ/dV = -E^T U + lam V.",
        )
    _passed(ex, len(cases))
