r"""Self-checks for the chapter-2 exercises on shallow models (Aggarwal §2.2–2.3, §2.10).

Each public function takes the student's function, runs it on a few fixed cases and compares
with an independent reference: :mod:`course_lib.linear_models` and :mod:`course_lib.losses`
(themselves tested against ``jax.grad`` and finite differences), ``jax.value_and_grad`` of a
loss written out here, NumPy's least squares, or a definition written out in the check. Common
slips are modelled too: when a student's answer equals one, the hint says what went wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from course_lib import linear_models, losses
from course_lib.checks import (
    Exercise,
    _array,
    _call,
    _compare,
    _f,
    _fmt,
    _passed,
    _scalar,
    _unpack,
)


def _same(a: Any, b: Any, tol: float = 1e-4) -> bool:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=tol, atol=tol))


def _slip_hint(got: Any, slips: list[tuple[Any, str]], default: str | None) -> str | None:
    for value, hint in slips:
        if _same(got, value):
            return hint
    return default


# Small fixed data (multiples of 1/4, so scores are exact in float32 and ties are exact ties).
_X4 = [
    [1.0, 0.5, -0.25],
    [-0.5, 1.0, 0.75],
    [0.25, -1.0, 0.5],
    [1.5, 0.25, 1.0],
    [-1.0, -0.5, 0.25],
    [0.5, 0.75, -1.0],
]
_LABELS4 = [0, 2, 1, 2, 0, 1]
_W4 = [[0.5, -0.25, 0.0], [0.0, 0.5, 0.25], [-0.25, 0.0, 0.5]]

# ------------------------------------------------------------------------------ Exercise 2.13

_EX_DELTA = Exercise("mistake_factor", "2.13")
_DELTA_NAMES = ("perceptron", "hinge", "logistic", "widrow_hoff")
_Z = [-2.0, -0.5, 0.0, 0.25, 1.0, 1.5, 3.0]


def mistake_factor(fn: Callable) -> None:
    r"""Check ``fn(loss_name, z) -> delta`` for the four losses of Exercise 2.13.

    The reference is :func:`course_lib.linear_models.mistake_factor`: $[z\le0]$, $[z<1]$,
    $1/(1+e^z)$ and $1-z$ (the book's form, without the factor 2 of the squared loss). The
    margins include the ties $z = 0$ and $z = 1$, and the function is also run under
    ``jax.jit`` (the loss name fixed, ``z`` traced).
    """
    ex = _EX_DELTA
    z = _f(_Z)
    count = 0
    for name in _DELTA_NAMES:
        case = f"loss_name={name!r}, z = {_fmt(np.asarray(_Z))}"
        got = _array(ex, case, "delta", _call(ex, fn, (name, z), case), (len(_Z),))
        expected = np.asarray(linear_models.mistake_factor(name, z), float)
        zz = np.asarray(_Z)
        slips = {
            "perceptron": [
                (
                    (zz < 0).astype(float),
                    "a point exactly on the boundary (z = 0) is a mistake: z <= 0.",
                ),
                ((zz <= 0) * -1.0, "delta is 1 (not -1) on a mistake: the update adds +α y δ X."),
            ],
            "hinge": [
                ((zz <= 1).astype(float), "the SVM updates when z < 1, strictly: z = 1 is fine."),
                ((zz <= 0).astype(float), "the hinge counts near misses too: update when z < 1."),
            ],
            "logistic": [
                (
                    1 / (1 + np.exp(-zz)),
                    "that is the probability of being RIGHT; δ is the "
                    "probability of a mistake, 1/(1 + e^z).",
                ),
            ],
            "widrow_hoff": [
                (
                    2 * (1 - zz),
                    "the book drops the factor 2 of the squared loss (Eq 2.7): δ = 1 - z.",
                ),
                (
                    np.maximum(1 - zz, 0),
                    "Widrow–Hoff keeps going for z > 1: δ = 1 - z can be "
                    "negative (that is its Achilles heel); no max with 0.",
                ),
            ],
        }[name]
        hint = None if _same(got, expected) else _slip_hint(got, slips, None)
        _compare(ex, case, "delta", got, expected, hint=hint)
        count += 1
    # Under jit: the name is a Python string (static), z is traced.
    for name in _DELTA_NAMES:
        case = f"loss_name={name!r} under jax.jit (z traced)"
        jitted = jax.jit(lambda z, name=name: fn(name, z))
        got = _array(ex, case, "delta", _call(ex, jitted, (z,), case), (len(_Z),))
        _compare(ex, case, "delta", got, linear_models.mistake_factor(name, z))
        count += 1
    _passed(ex, count)


# ------------------------------------------------------------------------------ Eq 2.12

_EX_RIDGE = Exercise("ridge_solution", "")


def _ridge_reference(X: np.ndarray, y: np.ndarray, lam: float) -> np.ndarray:
    """Least squares on the stacked system [X; sqrt(lam) I] w = [y; 0] (independent of solve)."""
    d = X.shape[1]
    A = np.vstack([X, np.sqrt(lam) * np.eye(d)])
    b = np.concatenate([y, np.zeros(d)])
    return np.linalg.lstsq(A, b, rcond=None)[0]


def ridge_solution(fn: Callable) -> None:
    r"""Check ``fn(X, y, lam) -> W`` of shape ``(d,)``: $(X^TX + \lambda I)^{-1}X^Ty$ (Eq 2.12).

    The reference solves the equivalent stacked least-squares problem with ``np.linalg.lstsq``.
    """
    ex = _EX_RIDGE
    rng = np.random.default_rng(212)
    X1 = np.round(rng.normal(size=(12, 3)) * 4) / 4
    y1 = np.round(rng.normal(size=12) * 4) / 4
    X2 = np.array(_X4)
    y2 = np.array([1.0, -1.0, 1.0, -1.0, 1.0, 1.0])
    cases = [
        ("12 points in 3-D, lam = 0 (ordinary least squares)", X1, y1, 0.0),
        ("12 points in 3-D, lam = 2", X1, y1, 2.0),
        ("6 points in 3-D with ±1 targets, lam = 0.5", X2, y2, 0.5),
        ("6 points in 3-D, a huge lam = 1000 (W close to 0)", X2, y2, 1000.0),
    ]
    for words, X, y, lam in cases:
        got = _array(
            ex,
            words,
            "W",
            _call(ex, fn, (_f(X), _f(y), lam), words),
            (X.shape[1],),
            hint="return a vector with one weight per column of X.",
        )
        expected = _ridge_reference(X, y, lam)
        slips = [
            (_ridge_reference(X, y, 0.0), "λ is missing: add λ times the identity to XᵀX."),
            (
                np.linalg.solve(X.T @ X + lam * np.ones((3, 3)), X.T @ y),
                "the penalty adds λ on the diagonal only: λ * I (jnp.eye), not λ everywhere.",
            ),
            (
                np.linalg.solve(X.T @ X + 2 * lam * np.eye(3), X.T @ y),
                "use λ itself on the diagonal (the objective is ||Xw - y||² + λ||w||²).",
            ),
        ]
        hint = (
            None
            if _same(got, expected)
            else _slip_hint(got, slips, "solve (XᵀX + λI) W = Xᵀy with jnp.linalg.solve.")
        )
        _compare(ex, words, "W", got, expected, rtol=1e-4, atol=1e-4, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ Exercise 2.4

_EX_WW = Exercise("weston_watkins_grad", "2.4")


def _ww_reference(W: np.ndarray, x: np.ndarray, label: int) -> np.ndarray:
    g = np.asarray(losses.weston_watkins_grad(_f(W @ x), jnp.asarray(label)), float)
    return np.outer(g, x)


def weston_watkins_grad(fn: Callable) -> None:
    r"""Check ``fn(W, x, label) -> dL/dW`` of shape ``(k, d)`` for the Weston–Watkins loss.

    Reference: $\partial L/\partial W_r = \delta_r x$ for $r \ne c$ and
    $-\sum_{j\ne c}\delta_j\,x$ for $r = c$, with $\delta_r = [W_r\cdot x - W_c\cdot x + 1 > 0]$
    (Eq 2.26), from :func:`course_lib.losses.weston_watkins_grad` (tested against
    ``jax.grad``). One case has a term exactly at $0$: it does not count ($\delta_r = 0$).
    """
    ex = _EX_WW
    W = np.array(_W4)
    cases = []
    for i in (0, 1, 3):
        cases.append(
            (
                f"W (3 classes, 3 features), x = {_fmt(np.array(_X4[i]))}, label {_LABELS4[i]}",
                W,
                np.array(_X4[i]),
                _LABELS4[i],
            )
        )
    # Every wrong class far behind: zero loss, zero gradient.
    cases.append(
        (
            "a point classified with a margin > 1: zero gradient",
            4 * np.eye(3),
            np.array([1.0, 0.0, 0.0]),
            0,
        )
    )
    # A tie: W_1·x - W_0·x + 1 = 0 exactly, so class 1 does not contribute.
    cases.append(
        (
            "a term exactly at the margin (v_r - v_c + 1 = 0)",
            np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 2.0, 0.0]]),
            np.array([1.0, 0.5, 0.0]),
            0,
        )
    )
    for words, Wc, x, label in cases:
        got = _array(
            ex,
            words,
            "grad",
            _call(ex, fn, (_f(Wc), _f(x), label), words),
            Wc.shape,
            hint="the gradient has the shape of W: one row per class, (k, d).",
        )
        expected = _ww_reference(Wc, x, label)
        v = Wc @ x
        delta = np.array([float(r != label and v[r] - v[label] + 1 > 0) for r in range(3)])
        no_true_row = np.outer(delta, x)
        slips = [
            (
                no_true_row,
                "the true class's row gets -(number of violating classes) * x (Eq 2.26).",
            ),
            (-expected, "wrong sign: a violating class r gets +x (its score should go down)."),
            (
                _outer_ge(v, label, x),
                "a class with v_r - v_c + 1 exactly 0 adds nothing to the loss: use > 0, not >= 0.",
            ),
        ]
        hint = None if _same(got, expected) else _slip_hint(got, slips, None)
        _compare(ex, words, "grad", got, expected, hint=hint)
    _passed(ex, len(cases))


def _outer_ge(v: np.ndarray, label: int, x: np.ndarray) -> np.ndarray:
    delta = np.array([float(r != label and v[r] - v[label] + 1 >= 0) for r in range(v.size)])
    g = delta.copy()
    g[label] = -delta.sum()
    return np.outer(g, x)


# ------------------------------------------------------------------------------ Exercise 2.6

_EX_SOFTMAX = Exercise("softmax_loss_and_grad", "2.6")


def _softmax_objective(W: jax.Array, X: jax.Array, labels: jax.Array) -> jax.Array:
    """Mean cross-entropy written out here: mean(-log_softmax(v)_c), stable in float32."""
    v = X @ W.T
    logp = jax.nn.log_softmax(v, axis=1)
    return -jnp.mean(jnp.take_along_axis(logp, labels[:, None], axis=1)[:, 0])


def softmax_loss_and_grad(fn: Callable) -> None:
    r"""Check ``fn(W, X, labels) -> (loss, grad)``: the mean softmax cross-entropy and its gradient.

    ``W: (k, d)``, ``X: (n, d)``, ``labels: (n,)``; ``loss`` is
    $\frac1n\sum_i(-v_{c_i} + \log\sum_j e^{v_j})$ with $v = X W^T$, ``grad`` its gradient
    $\frac1n (P - Y)^T X$, shape ``(k, d)`` (Eq 2.36). The reference is
    ``jax.value_and_grad`` of the loss written out here; one case has huge scores (thousands),
    where a naive ``log(sum(exp(v)))`` overflows.
    """
    ex = _EX_SOFTMAX
    X, labels, W = np.array(_X4), np.array(_LABELS4), np.array(_W4)
    cases = [
        ("W = 0: every class has probability 1/3", np.zeros((3, 3)), X, labels),
        ("6 points, 3 classes, 3 features", W, X, labels),
        ("6 points, 2 classes", W[:2], X, np.array([0, 1, 1, 0, 0, 1])),
        ("huge scores (W scaled by 5000)", 5000 * W, X, labels),
    ]
    for words, Wc, Xc, yc in cases:
        out = _unpack(
            ex, words, _call(ex, fn, (_f(Wc), _f(Xc), jnp.asarray(yc)), words), ("loss", "grad")
        )
        loss = _scalar(ex, words, "loss", out[0])
        grad = _array(
            ex,
            words,
            "grad",
            out[1],
            Wc.shape,
            hint="grad has the shape of W, (k, d): (P - Y)ᵀ X / n.",
        )
        ref_loss, ref_grad = jax.value_and_grad(_softmax_objective)(_f(Wc), _f(Xc), jnp.asarray(yc))
        n = Xc.shape[0]
        loss_hint = None
        if not np.isfinite(loss):
            loss_hint = (
                "subtract the largest score before exponentiating (or use jax.nn.logsumexp)."
            )
        elif np.isclose(loss, n * float(ref_loss), rtol=1e-4):
            loss_hint = "average over the examples (mean), do not sum."
        _compare(ex, words, "loss", loss, float(ref_loss), rtol=1e-4, atol=1e-4, hint=loss_hint)
        slips = [
            (n * np.asarray(ref_grad), "average the gradient over the examples too (divide by n)."),
            (-np.asarray(ref_grad), "wrong sign: the gradient is P - onehot, not onehot - P."),
        ]
        hint = (
            None
            if _same(grad, ref_grad)
            else _slip_hint(
                grad,
                slips,
                "with P = softmax(X Wᵀ) row by row and Y one-hot, the gradient is (P - Y)ᵀ X / n.",
            )
        )
        _compare(ex, words, "grad", grad, ref_grad, rtol=1e-4, atol=1e-4, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ Exercise 2.1

_EX_MARGIN = Exercise("scaled_margin_loss", "2.1")


def scaled_margin_loss(fn: Callable) -> None:
    r"""Check ``fn(w, X, y, a) -> loss``: the mean of $\max\{0, a - y_i\,w\cdot x_i\}$.

    The reference is the definition, computed here with NumPy; $a = 0$ is the perceptron
    criterion and $a = 1$ the hinge loss.
    """
    ex = _EX_MARGIN
    X = np.array(_X4)
    y = np.array([1.0, -1.0, 1.0, -1.0, 1.0, 1.0])
    cases = [
        ("a = 1 (the hinge loss)", np.array([0.5, -0.25, 0.25]), 1.0),
        ("a = 0 (the perceptron criterion)", np.array([0.5, -0.25, 0.25]), 0.0),
        ("a = 2.5", np.array([1.0, 0.5, -0.5]), 2.5),
        ("a = 0.5, w = 0", np.zeros(3), 0.5),
    ]
    for words, w, a in cases:
        got = _scalar(ex, words, "loss", _call(ex, fn, (_f(w), _f(X), _f(y), a), words))
        margins = y * (X @ w)
        expected = float(np.mean(np.maximum(0.0, a - margins)))
        slips = [
            (
                float(np.sum(np.maximum(0.0, a - margins))),
                "take the mean over the examples, not the sum.",
            ),
            (
                float(np.mean(np.maximum(0.0, 1.0 - margins))),
                "use the margin a you are given, not 1.",
            ),
            (
                float(np.mean(np.maximum(0.0, a - X @ w))),
                "the margin is y_i (w · x_i): multiply by the label.",
            ),
        ]
        hint = (
            None
            if np.isclose(got, expected, rtol=1e-5, atol=1e-5)
            else _slip_hint(got, slips, None)
        )
        _compare(ex, words, "loss", got, expected, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ Exercise 2.3

_EX_MCP = Exercise("multiclass_perceptron_epoch", "2.3")


def _mcp_reference(W: np.ndarray, X: np.ndarray, labels: np.ndarray, lr: float) -> np.ndarray:
    index = jnp.asarray(linear_models.MULTICLASS_LOSSES.index("multiclass_perceptron"))
    Wj = _f(W)
    for x, c in zip(X, labels, strict=True):
        Wj, _ = linear_models.multiclass_sgd_step(Wj, _f(x), jnp.asarray(c), _f(lr), _f(0.0), index)
    return np.asarray(Wj, float)


def multiclass_perceptron_epoch(fn: Callable) -> None:
    r"""Check ``fn(W, X, labels, lr) -> new_W``: one pass of the multiclass perceptron (Eq 2.24).

    Rows in order; for each, $r^\ast = \arg\max_{r\ne c} W_r\cdot x$ (the first on a tie); if
    $W_{r^\ast}\cdot x \ge W_c\cdot x$ then $W_c \mathrel{+}= \alpha x$ and
    $W_{r^\ast} \mathrel{-}= \alpha x$. The reference is
    :func:`course_lib.linear_models.multiclass_sgd_step` with $\lambda = 0$.
    """
    ex = _EX_MCP
    X, labels = np.array(_X4), np.array(_LABELS4)
    cases = [
        ("W = 0 (every score ties: every point is a mistake), lr = 1", np.zeros((3, 3)), 1.0),
        ("W given, lr = 0.5", np.array(_W4), 0.5),
        ("W given, lr = 2", np.array(_W4), 2.0),
    ]
    for words, W, lr in cases:
        got = _array(
            ex,
            words,
            "new_W",
            _call(ex, fn, (_f(W), _f(X), jnp.asarray(labels), lr), words),
            W.shape,
            hint="return the whole weight matrix, one row per class.",
        )
        expected = _mcp_reference(W, X, labels, lr)
        hint = None
        if not _same(got, expected):
            hint = (
                "visit the rows in order; find the highest-scoring WRONG class r*; if its score is "
                ">= the true class's score, add lr * x to the true row and subtract it from row r*."
            )
            if _same(got, W):
                hint = "nothing changed: with W = 0 all scores tie, and a tie is a mistake (>=)."
        _compare(ex, words, "new_W", got, expected, hint=hint)
    _passed(ex, len(cases))


__all__ = [
    "mistake_factor",
    "multiclass_perceptron_epoch",
    "ridge_solution",
    "scaled_margin_loss",
    "softmax_loss_and_grad",
    "weston_watkins_grad",
]
