r"""Self-checks for the second-order exercises (Aggarwal §3.5.6, Exercises 3.11 and 3.12;
Goodfellow et al. §8.7.2).

Each check runs the student's function on a few fixed cases and compares with a reference
written out here in NumPy: conjugacy $Q^\top H Q$ diagonal and the span of the first $k$ inputs
(Gram-Schmidt in the $H$ inner product), the BFGS product formula (Eq 3.56) applied to explicit
matrices, $m$ dense BFGS updates of $I$ (for the two-loop recursion), ``jax.hessian`` times $v$
(for the Hessian-vector product), a loop over the coordinates (a sweep of coordinate descent) and
the directions of linear CG (Eq 3.49-3.50). Common slips are recognized and answered with a hint.
"""

from __future__ import annotations

from collections.abc import Callable

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
    _passed,
)

_close = _close_within(rtol=1e-4, atol=1e-5)


def _spd(seed: int, d: int, cond: float = 20.0) -> np.ndarray:
    """A symmetric positive definite matrix with eigenvalues from 1 to ``cond``."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    return (Q * np.geomspace(1.0, cond, d)) @ Q.T


# ------------------------------------------------------------------------------ Ex 3.11

_EX_CONJ = Exercise("conjugate_directions", "3.11")


def _gram_schmidt_h(H: np.ndarray, V: np.ndarray) -> np.ndarray:
    Q = np.zeros_like(V)
    for k in range(V.shape[1]):
        q = V[:, k].copy()
        for j in range(k):
            qj = Q[:, j]
            q -= (qj @ H @ V[:, k]) / (qj @ H @ qj) * qj
        Q[:, k] = q
    return Q


def conjugate_directions(fn: Callable) -> None:
    r"""Check ``fn(H, V)``: columns $q_k = v_k - \sum_{j<k} \frac{q_j^\top H v_k}{q_j^\top H q_j}
    q_j$ (Gram-Schmidt in the $H$ inner product), so $Q^\top H Q$ is diagonal. Columns may be
    rescaled (normalized), but each must point along the reference $q_k$."""
    ex = _EX_CONJ
    cases = [
        ("H = diag(1, 4), V = [[1, 1], [1, 0]]", np.diag([1.0, 4.0]),
         np.array([[1.0, 1.0], [1.0, 0.0]])),
        ("a 3x3 H and V = I (the coordinate axes)", _spd(1, 3), np.eye(3)),
        ("a 5x5 H with condition 20, random V", _spd(2, 5),
         np.random.default_rng(3).normal(size=(5, 5))),
    ]  # fmt: skip
    for words, H, V in cases:
        d = H.shape[0]
        Q = _array(ex, words, "Q", _call(ex, fn, (_f(H), _f(V)), words), (d, d))
        ref = _gram_schmidt_h(H, V)
        M = Q.T @ H @ Q
        off = np.abs(M - np.diag(np.diag(M))).max() / max(np.abs(np.diag(M)).max(), 1e-30)
        cos = np.abs(np.sum(Q * ref, 0)) / np.maximum(
            np.linalg.norm(Q, axis=0) * np.linalg.norm(ref, axis=0), 1e-30
        )
        if off < 1e-4 and np.all(cos > 1 - 1e-5):
            continue
        if np.allclose(Q, V, atol=1e-6):
            hint = "V came back unchanged: subtract from each v_k its H-projections on the q_j."
        elif np.allclose(Q, _gram_schmidt_h(np.eye(d), V), rtol=1e-3, atol=1e-4):
            hint = ("you orthogonalized in the ordinary inner product; the projections must use "
                    "q_j^T H v_k and q_j^T H q_j.")  # fmt: skip
        elif off < 1e-4:
            hint = ("the columns are H-conjugate, but not the ones Gram-Schmidt gives: q_k must "
                    "be v_k minus a combination of q_0 ... q_{k-1} only.")  # fmt: skip
        else:
            hint = ("subtract the projection on every earlier q_j (j < k), with q_j (not v_j) in "
                    "both the coefficient and the direction.")  # fmt: skip
        raise CheckFailed(
            ex, "the columns of Q are not the H-conjugate directions Gram-Schmidt builds",
            case=words,
            details=[f"largest |q_i^T H q_j| (i != j), relative to the diagonal: {off:.2g}",
                     f"smallest |cos| between your q_k and the reference: {cos.min():.6f}"],
            hint=hint,
        )  # fmt: skip
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ BFGS update

_EX_BFGS = Exercise("bfgs_update", "")


def _bfgs_np(G: np.ndarray, s: np.ndarray, y: np.ndarray) -> np.ndarray:
    rho = 1.0 / (s @ y)
    I = np.eye(len(s))  # noqa: E741
    return (I - rho * np.outer(s, y)) @ G @ (I - rho * np.outer(y, s)) + rho * np.outer(s, s)


def _bfgs_cases() -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(5)
    A = _spd(6, 4)
    s4 = rng.normal(size=4)
    return [
        ("G = I, s = (1, 0), y = (2, 1)", np.eye(2), np.array([1.0, 0.0]), np.array([2.0, 1.0])),
        ("G = diag(1, 0.5), s = (1, 2), y = (3, 1)", np.diag([1.0, 0.5]), np.array([1.0, 2.0]),
         np.array([3.0, 1.0])),
        ("4-D: G = I, s random, y = A s for an SPD A", np.eye(4), s4, A @ s4),
        ("4-D: G an SPD matrix, s random, y = A s", np.linalg.inv(_spd(7, 4, 5.0)), s4, A @ s4),
    ]  # fmt: skip


def bfgs_update(fn: Callable) -> None:
    r"""Check ``fn(G, s, y)`` $= (I - \rho s y^\top) G (I - \rho y s^\top) + \rho s s^\top$,
    $\rho = 1/(s^\top y)$ (Aggarwal Eq 3.56)."""
    ex = _EX_BFGS
    cases = _bfgs_cases()
    for words, G, s, y in cases:
        d = len(s)
        got = _array(ex, words, "G_new", _call(ex, fn, (_f(G), _f(s), _f(y)), words), (d, d))
        expected = _bfgs_np(G, s, y)
        if _close(got, expected):
            continue
        if _close(got, _bfgs_np(G, y, s)):
            hint = "s and y are swapped: the new G must map the gradient change y to the step s."
        elif _close(got @ y, s):
            hint = "G_new y = s holds, but G_new is not BFGS's matrix: check the product form."
        elif _close(got, expected - np.outer(s, s) / (s @ y)):
            hint = "the last term, rho s s^T, is missing."
        else:
            hint = ("build (I - rho s y^T), multiply G on both sides (the right factor is its "
                    "transpose), then add rho s s^T; test G_new @ y == s.")  # fmt: skip
        _compare(ex, words, "G_new", got, expected, rtol=1e-4, atol=1e-5, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ two loops

_EX_TWO = Exercise("two_loop", "")


def two_loop(fn: Callable) -> None:
    r"""Check ``fn(g, S, Y)`` $= G g$, where $G$ is $I$ updated by BFGS with the pairs
    ``(S[i], Y[i])`` in order (row 0 the oldest)."""
    ex = _EX_TWO
    rng = np.random.default_rng(8)
    cases = []
    for d, m, seed in ((2, 1, 9), (3, 2, 10), (6, 3, 11), (6, 5, 12)):
        A = _spd(seed, d, 10.0)
        S = rng.normal(size=(m, d))
        cases.append((f"d = {d}, m = {m} pairs, y_i = A s_i", rng.normal(size=d), S, S @ A))
    for words, g, S, Y in cases:
        got = _array(ex, words, "G g", _call(ex, fn, (_f(g), _f(S), _f(Y)), words), g.shape)
        G = np.eye(len(g))
        for s, y in zip(S, Y, strict=True):
            G = _bfgs_np(G, s, y)
        expected = G @ g
        if _close(got, expected):
            continue
        G_rev = np.eye(len(g))
        for s, y in zip(S[::-1], Y[::-1], strict=True):
            G_rev = _bfgs_np(G_rev, s, y)
        if _close(got, G_rev @ g):
            hint = ("the pairs are taken in the wrong order: the first loop runs newest to "
                    "oldest (last row first), the second oldest to newest.")  # fmt: skip
        elif _close(got, -expected):
            hint = "return G g itself; the search direction is its negative, taken outside."
        elif _close(got, g):
            hint = "the gradient came back unchanged: apply both loops."
        else:
            hint = ("keep the a_i of the first loop (one per pair) and reuse them in the second "
                    "loop: r <- r + (a_i - rho_i y_i^T r) s_i.")  # fmt: skip
        _compare(ex, words, "G g", got, expected, rtol=1e-4, atol=1e-5, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ HVP

_EX_HVP = Exercise("hvp", "")


def _loss_a(w):
    return jnp.sum(jnp.sin(w) * w**2) + (w @ w) ** 2


def _loss_b(w):
    return jnp.log(1.0 + jnp.exp(w[0] * w[1])) + 0.5 * w[1] ** 4


def _loss_c(w):
    return 0.5 * w @ _f(_spd(13, 4)) @ w


def hvp(fn: Callable) -> None:
    r"""Check ``fn(loss_fn, w, v)`` $= \nabla^2 L(w)\, v$, exactly (forward over reverse), on three
    losses; compared with the full ``jax.hessian`` times $v$."""
    ex = _EX_HVP
    cases = [
        ("L = sum(sin(w) w^2) + (w.w)^2 at (0.3, -1.2, 0.7), v = (1, 2, -1)", _loss_a,
         [0.3, -1.2, 0.7], [1.0, 2.0, -1.0]),
        ("L = log(1 + exp(w0 w1)) + w1^4/2 at (0.5, -1), v = (0, 1)", _loss_b, [0.5, -1.0],
         [0.0, 1.0]),
        ("a 4-D quadratic (H known) at (1, 2, 3, 4), v = (1, -1, 0.5, 2)", _loss_c,
         [1.0, 2.0, 3.0, 4.0], [1.0, -1.0, 0.5, 2.0]),
    ]  # fmt: skip
    for words, loss, w, v in cases:
        w, v = _f(w), _f(v)
        # jitted: one compilation per loss instead of one per primitive (a tracing error is
        # explained by _call's hint)
        student = jax.jit(lambda w, v, loss=loss: fn(loss, w, v))
        got = _array(ex, words, "Hv", _call(ex, student, (w, v), words))
        expected = np.asarray(jax.jit(jax.hessian(loss))(w) @ v, np.float64)
        if got.shape == expected.shape and _close(got, expected, rtol=2e-4, atol=1e-4):
            continue
        grad = jax.jit(jax.grad(loss))
        fd = np.asarray((grad(w + 1e-3 * v) - grad(w)) / 1e-3, np.float64)
        if got.shape == ():
            hint = ("a number came back: grad L . v is a directional derivative of L; Hv is "
                    "the directional derivative of the gradient, a vector.")  # fmt: skip
        elif _close(got, np.asarray(grad(w)), rtol=1e-4):
            hint = "that is the gradient: differentiate it once more, in the direction v."
        elif _close(got, fd, rtol=0.05, atol=1e-2):
            hint = ("close but not exact: the finite difference of Eq 3.51 is an approximation; "
                    "push v through jax.grad(loss_fn) with jax.jvp instead.")  # fmt: skip
        else:
            hint = ("jax.jvp(f, (w,), (v,)) returns (f(w), f'(w) v); use f = jax.grad(loss_fn) "
                    "and keep the second output.")  # fmt: skip
        _compare(ex, words, "Hv", got, expected, rtol=2e-4, atol=1e-4, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ coordinate sweep

_EX_SWEEP = Exercise("coordinate_sweep", "")


def coordinate_sweep(fn: Callable) -> None:
    r"""Check ``fn(A, b, w)``: one sweep of exact coordinate minimization of
    $\tfrac12 w^\top A w - b^\top w$, coordinates in order, each using the newest values."""
    ex = _EX_SWEEP
    cases = [
        ("A = diag(2, 5) (uncoupled), b = (2, 10), w = (7, -3)", np.diag([2.0, 5.0]),
         np.array([2.0, 10.0]), np.array([7.0, -3.0])),
        ("A = [[1, 0.9], [0.9, 1]] (coupled), b = (1, -1), w = 0", np.array([[1.0, 0.9],
         [0.9, 1.0]]), np.array([1.0, -1.0]), np.zeros(2)),
        ("a 5x5 SPD A, b random, w random", _spd(14, 5), np.random.default_rng(15).normal(size=5),
         np.random.default_rng(16).normal(size=5)),
    ]  # fmt: skip
    for words, A, b, w in cases:
        d = len(b)
        got = _array(ex, words, "w_new", _call(ex, fn, (_f(A), _f(b), _f(w)), words), (d,))
        expected = w.copy()
        for i in range(d):
            expected[i] = (b[i] - A[i] @ expected + A[i, i] * expected[i]) / A[i, i]
        if _close(got, expected):
            continue
        jacobi = (b - A @ w + np.diag(A) * w) / np.diag(A)
        if _close(got, jacobi):
            hint = ("every coordinate used the *old* w (a Jacobi step): update w[i] in place so "
                    "that coordinate i+1 sees the new w[i].")  # fmt: skip
        elif _close(got, (b - A @ w) / np.diag(A)):
            hint = "leave w_i itself out of the sum: b_i - sum over j != i of A_ij w_j."
        else:
            hint = "setting dL/dw_i = 0 gives w_i = (b_i - sum_{j != i} A_ij w_j) / A_ii."
        _compare(ex, words, "w_new", got, expected, rtol=1e-4, atol=1e-5, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ Ex 3.12

_EX_CG = Exercise("cg_directions", "3.12")


def cg_directions(fn: Callable) -> None:
    r"""Check ``fn(H, b, w0, steps)``: the ``(steps, d)`` search directions $q_0, q_1, \dots$ of
    linear CG on $\tfrac12 w^\top H w - b^\top w$ with exact line search and Eq 3.49-3.50."""
    ex = _EX_CG
    cases = [
        ("the bowl: H = diag(2, 8), b = 0, from (30, 20), 2 steps", np.diag([2.0, 8.0]),
         np.zeros(2), np.array([30.0, 20.0]), 2),
        ("a 4x4 SPD H, b = (1, 0, -1, 2), from 0, 3 steps", _spd(17, 4), np.array([1.0, 0, -1, 2]),
         np.zeros(4), 3),
        ("a 6x6 SPD H (condition 20), random b, from 1, 5 steps", _spd(18, 6),
         np.random.default_rng(19).normal(size=6), np.ones(6), 5),
    ]  # fmt: skip
    for words, H, b, w0, steps in cases:
        d = len(b)
        Q = _array(ex, words, "directions", _call(ex, fn, (_f(H), _f(b), _f(w0), steps), words),
                   (steps, d))  # fmt: skip
        w, q = w0.copy(), b - H @ w0
        expected = []
        for _ in range(steps):
            expected.append(q.copy())
            g = H @ w - b
            alpha = -(q @ g) / (q @ H @ q)
            w = w + alpha * q
            g_new = H @ w - b
            q = -g_new + (q @ H @ g_new) / (q @ H @ q) * q
        expected = np.array(expected)
        if _close(Q, expected, rtol=1e-3, atol=1e-3 * np.abs(expected).max()):
            continue
        M = Q @ H @ Q.T
        off = np.abs(M - np.diag(np.diag(M))).max() / max(np.abs(np.diag(M)).max(), 1e-30)
        if np.allclose(Q[0], -expected[0]):
            hint = "q_0 is the *negative* gradient, -(H w0 - b)."
        elif off > 1e-3:
            hint = ("the directions are not H-conjugate: beta_t = q_t^T H g_{t+1} / q_t^T H q_t "
                    "with g_{t+1} the gradient at the new point (Eq 3.50), and q_{t+1} = "
                    "-g_{t+1} + beta_t q_t.")  # fmt: skip
        else:
            hint = "the step along q_t must minimize exactly: alpha_t = -q_t^T g_t / q_t^T H q_t."
        _compare(ex, words, "directions", Q, expected, rtol=1e-3,
                 atol=1e-3 * np.abs(expected).max(), hint=hint)  # fmt: skip
    _passed(ex, len(cases))
