r"""Self-checks for the exercises on penalties and early stopping (Aggarwal §4.4, §4.6, and the
book's Exercises 4.3 and 4.11).

Every check runs the student's function on a few fixed cases and compares with an independent
reference written out here: the weight-decay step as ``jax.grad`` of the penalized objective,
the noise-equivalent ridge as the normal equations solved in NumPy float64, the soft threshold
and the shrinkage factor as NumPy formulas, the hidden-unit $\delta$ adjustment as ``jax.grad``
of $\lambda\sum|\tanh a|$, the early-stopping rule (the course's own exercise) as a plain loop,
the regularized perceptron step (Ex 4.3, Eq 1.33) as a loop over the rows, the ridge
$\lambda$ sweep (Ex 4.11) as the augmented normal equations in float64. Common slips (the
book's factor $1-\alpha\lambda$ for the penalty $\lambda\|w\|^2$, forgetting the $n$ of a sum,
hard instead of soft thresholding, forgetting $\Phi'$, ignoring the patience,
$(1-\alpha\lambda)^t$ instead of one minus it, decaying the bias or decaying after the update,
a strict tie rule, penalizing the bias, $n\lambda$ for $\lambda$, sums for means) are
recognized and answered with a targeted hint.
"""

from __future__ import annotations

import functools
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
    _scalar,
    _unpack,
)

_close = _close_within(rtol=1e-5, atol=1e-6)


def _rng_cases(seed: int, shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in shapes]


# ------------------------------------------------------------------------------ weight decay

_EX_DECAY = Exercise("weight_decay_step", "")


def weight_decay_step(fn: Callable) -> None:
    r"""Check ``fn(w, grad_loss, lr, lam)`` $= w(1 - 2\alpha\lambda) - \alpha\,\nabla L$.

    The reference is a gradient step, by ``jax.grad``, on $L(w) + \lambda\|w\|^2$ where $L$
    is a linear function with gradient ``grad_loss`` (any $L$ would do: only its gradient
    enters the step).
    """
    ex = _EX_DECAY
    w_a, g_a, w_b, g_b = _rng_cases(1, [(4,), (4,), (3, 2), (3, 2)])
    cases = [
        ("4 weights, lr = 0.1, lam = 0.5", w_a, g_a, 0.1, 0.5),
        ("a 3x2 weight matrix, lr = 0.01, lam = 2", w_b, g_b, 0.01, 2.0),
        ("no penalty: lam = 0", w_a, g_b[:, 0].repeat(2)[:4], 0.05, 0.0),
        ("zero data gradient: pure decay", w_b, np.zeros((3, 2)), 0.2, 1.0),
    ]
    for words, w, g, lr, lam in cases:
        w_j, g_j = _f(w), _f(g)

        def objective(v, g_j=g_j, lam=lam):
            return jnp.sum(g_j * v) + lam * jnp.sum(v**2)

        expected = np.asarray(w_j - lr * jax.grad(objective)(w_j), np.float64)
        got = _array(
            ex,
            words,
            "the new weights",
            _call(ex, fn, (w_j, g_j, lr, lam), words),
            w.shape,
            hint="return an array shaped like w.",
        )
        if _close(got, expected):
            continue
        hint = "a gradient step on L + lam ||w||^2 is w - lr * (dL/dw + 2 lam w); regroup it."
        if _close(got, w * (1 - lr * lam) - lr * g):
            hint = (
                "that is the book's form w(1 - lr*lam), exact for the penalty (lam/2)||w||^2. "
                "Here the penalty is lam ||w||^2: its gradient is 2 lam w (erratum E2)."
            )
        elif _close(got, w * (1 - 2 * lr * lam) + lr * g):
            hint = "gradient *descent* subtracts lr * dL/dw."
        elif _close(got, w * (1 + 2 * lr * lam) - lr * g):
            hint = "the penalty pulls the weights towards 0: the factor is 1 - 2 lr lam, below 1."
        _compare(ex, words, "the new weights", got, expected, rtol=1e-5, atol=1e-6, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ noise = L2

_EX_NOISE = Exercise("noise_equivalent_ridge", "")


def noise_equivalent_ridge(fn: Callable) -> None:
    r"""Check ``fn(X, y, sigma2)`` $= (X^\top X + n\sigma^2 I)^{-1}X^\top y$, shape ``(d,)``."""
    ex = _EX_NOISE
    X1, y1, X2, y2 = _rng_cases(2, [(12, 3), (12,), (40, 5), (40,)])
    cases = [
        ("12 points, 3 features, sigma2 = 0.5", X1, y1, 0.5),
        ("40 points, 5 features, sigma2 = 0.1", X2, y2, 0.1),
        ("40 points, 5 features, sigma2 = 2", X2, 3.0 * y2, 2.0),
        ("no noise: sigma2 = 0 (least squares)", X1, y1, 0.0),
    ]
    for words, X, y, s2 in cases:
        n, d = X.shape
        got = _array(
            ex,
            words,
            "the weights",
            _call(ex, fn, (_f(X), _f(y), s2), words),
            (d,),
            hint="return one weight per feature: shape (d,).",
        )
        expected = np.linalg.solve(X.T @ X + n * s2 * np.eye(d), X.T @ y)
        if _close(got, expected, rtol=1e-4, atol=1e-5):
            continue
        hint = "expand E[(y - w.(x + noise))^2] for one example, then sum over the n rows of X."
        if _close(got, np.linalg.solve(X.T @ X + s2 * np.eye(d), X.T @ y), rtol=1e-4, atol=1e-5):
            hint = (
                "each of the n examples brings its own sigma2 ||w||^2: over a sum of n squared "
                "errors the penalty is n * sigma2 ||w||^2."
            )
        elif _close(
            got, np.linalg.solve(X.T @ X + n * np.sqrt(s2) * np.eye(d), X.T @ y), 1e-4, 1e-5
        ):
            hint = "sigma2 is already the variance of the noise: do not take its square root."
        _compare(ex, words, "the weights", got, expected, rtol=1e-4, atol=1e-5, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ soft threshold

_EX_SOFT = Exercise("soft_threshold", "")


def soft_threshold(fn: Callable) -> None:
    r"""Check ``fn(v, t)`` $= \operatorname{sign}(v)\max(|v| - t, 0)$, elementwise."""
    ex = _EX_SOFT
    (m,) = _rng_cases(3, [(3, 4)])
    cases = [
        ("v = [-2, -0.5, 0, 0.3, 1.5], t = 1", np.array([-2.0, -0.5, 0.0, 0.3, 1.5]), 1.0),
        ("t = 0 leaves v unchanged", np.array([-1.0, 0.25, 2.0]), 0.0),
        ("a 3x4 matrix, t = 0.7", m, 0.7),
        ("every entry within t: all zeros", np.array([0.1, -0.2, 0.05]), 0.5),
    ]
    for words, v, t in cases:
        got = _array(
            ex,
            words,
            "S_t(v)",
            _call(ex, fn, (_f(v), t), words),
            v.shape,
            hint="return an array shaped like v.",
        )
        expected = np.sign(v) * np.maximum(np.abs(v) - t, 0.0)
        if _close(got, expected):
            continue
        hint = "move every entry t towards 0, and stop at 0: sign(v) * max(|v| - t, 0)."
        if _close(got, np.where(np.abs(v) > t, v, 0.0)):
            hint = (
                "that is *hard* thresholding (keep or kill). The L1 prox also shrinks the "
                "entries it keeps by t."
            )
        elif _close(got, v - t * np.sign(v)):
            hint = "entries within t of 0 must become exactly 0, not cross to the other side."
        elif _close(got, np.maximum(v - t, 0.0)):
            hint = "negative entries shrink towards 0 too: use sign(v) and |v|."
        _compare(ex, words, "S_t(v)", got, expected, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ hidden units

_EX_HIDDEN = Exercise("hidden_l1_delta", "")


@jax.jit
def _hidden_grad(a: jax.Array, lam: jax.Array) -> jax.Array:
    return jax.grad(lambda a: lam * jnp.sum(jnp.abs(jnp.tanh(a))))(a)


def hidden_l1_delta(fn: Callable) -> None:
    r"""Check ``fn(a, lam)`` $= \lambda(1 - \tanh^2 a)\operatorname{sign}(\tanh a)$ against
    ``jax.grad`` of $\lambda\sum|\tanh a|$ (no entry of ``a`` is 0)."""
    ex = _EX_HIDDEN
    (m,) = _rng_cases(4, [(4, 3)])
    m = np.where(np.abs(m) < 0.05, 0.5, m) * 1.5
    cases = [
        ("a = [-2, -0.5, 0.3, 1, 3], lam = 0.1", np.array([-2.0, -0.5, 0.3, 1.0, 3.0]), 0.1),
        ("a 4x3 batch of pre-activations, lam = 1", m, 1.0),
        ("lam = 0: no adjustment", np.array([0.7, -1.2]), 0.0),
    ]
    for words, a, lam in cases:
        got = _array(
            ex,
            words,
            "the adjustment",
            _call(ex, fn, (_f(a), lam), words),
            a.shape,
            hint="return one number per entry of a.",
        )
        expected = np.asarray(_hidden_grad(_f(a), _f(lam)), np.float64)
        if _close(got, expected):
            continue
        h = np.tanh(a)
        hint = "differentiate lam |tanh(a)| with respect to a: the chain rule gives two factors."
        if _close(got, lam * np.sign(h)):
            hint = (
                "you differentiated with respect to h; the delta is with respect to a: "
                "multiply by Phi'(a)."
            )
        elif _close(got, lam * (1 - a**2) * np.sign(a)):
            hint = "Phi'(a) for tanh is 1 - tanh(a)^2, evaluated with h = tanh(a), not with a."
        elif _close(got, lam * (1 - h**2)):
            hint = "|h| has slope sign(h): negative units are pushed up, not down."
        _compare(ex, words, "the adjustment", got, expected, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ early stopping

_EX_STOP = Exercise("early_stopping", "")  # the course's own exercise (§4.6), not a book one


def _reference_stopping(
    v: list[float], patience: int, *, ties_improve: bool = False
) -> tuple[int, int]:
    best, best_t, wait = v[0], 0, 0
    for t in range(1, len(v)):
        if v[t] < best or (ties_improve and v[t] == best):
            best, best_t, wait = v[t], t, 0
        else:
            wait += 1
            if wait >= patience:
                return best_t, t
    return best_t, len(v) - 1


def early_stopping(fn: Callable) -> None:
    r"""Check ``fn(val_losses, patience)`` returns ``(best_epoch, stop_epoch)`` (two ints)."""
    ex = _EX_STOP
    u = [5.0, 4.0, 3.0, 3.5, 3.2, 2.9, 3.0, 3.1, 3.3, 3.4, 3.6, 3.8]
    cases = [
        ("a U-shaped curve, patience 3", u, 3),
        ("the same curve, patience 1 (stops at the first uptick)", u, 1),
        ("never worse for long: patience 10 (no stop)", u, 10),
        ("a tie is no improvement, patience 2", [2.0, 1.0, 1.0, 1.0, 0.5], 2),
        ("falls all the way, patience 2", [4.0, 3.0, 2.0, 1.0, 0.5], 2),
        ("best at epoch 0, patience 2", [1.0, 2.0, 3.0, 0.1, 0.0], 2),
    ]
    for words, v, patience in cases:
        inputs = [f"val_losses = {v}", f"patience = {patience}"]
        result = _call(ex, fn, (np.asarray(v), patience), words, inputs)
        best_got, stop_got = _unpack(ex, words, result, ("best_epoch", "stop_epoch"))
        best_got = _scalar(ex, words, "best_epoch", best_got, integer=True)
        stop_got = _scalar(ex, words, "stop_epoch", stop_got, integer=True)
        best, stop = _reference_stopping(v, patience)
        if (best_got, stop_got) == (best, stop):
            continue
        hint = "walk the epochs once, keeping the best loss, its epoch and a counter."
        argmin = int(np.argmin(v))
        if (best_got, stop_got) == _reference_stopping(v, patience, ties_improve=True):
            hint = "only a strictly lower loss counts as an improvement; a tie does not."
        elif best_got == argmin and best != argmin:
            hint = (
                "the best epoch is the best *before the stop*: the stopper never sees the "
                "epochs after it."
            )
        elif (best_got, stop_got) in (
            _reference_stopping(v, patience + 1),
            _reference_stopping(v, max(patience - 1, 1)),
        ):
            hint = "off by one in the patience: stop at the epoch where the counter reaches it."
        elif stop_got == len(v) - 1 and stop != len(v) - 1:
            hint = "stop as soon as `patience` epochs in a row brought no improvement."
        raise CheckFailed(
            ex,
            "wrong (best_epoch, stop_epoch)",
            case=words,
            details=[
                f"expected ({best}, {stop})",
                f"got      ({best_got:g}, {stop_got:g})",
                *inputs,
            ],
            hint=hint,
        )
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ shrinkage

_EX_SHRINK = Exercise("gd_shrinkage", "")


def gd_shrinkage(fn: Callable) -> None:
    r"""Check ``fn(eigvals, lr, t)`` $= 1 - (1 - \alpha\lambda_i)^t$, elementwise."""
    ex = _EX_SHRINK
    cases = [
        (
            "eigenvalues [0.01, 0.1, 1, 10], lr = 0.05, t = 20",
            np.array([0.01, 0.1, 1.0, 10.0]),
            0.05,
            20,
        ),
        ("one step: t = 1", np.array([0.5, 2.0, 4.0]), 0.1, 1),
        ("many steps: t = 500", np.array([1e-4, 1e-2, 1.0]), 0.5, 500),
        ("a zero eigenvalue never moves", np.array([0.0, 3.0]), 0.2, 7),
    ]
    for words, ev, lr, t in cases:
        got = _array(
            ex,
            words,
            "the factors",
            _call(ex, fn, (_f(ev), lr, t), words),
            ev.shape,
            hint="return one factor per eigenvalue.",
        )
        expected = 1.0 - (1.0 - lr * ev) ** t
        if _close(got, expected, rtol=1e-3, atol=1e-5):
            continue
        hint = "from w = 0, each eigen-coordinate obeys w(t) - w* = (1 - lr*lam_i)^t (0 - w*)."
        if _close(got, (1.0 - lr * ev) ** t, rtol=1e-3, atol=1e-5):
            hint = "that is the part of w* still missing; the function asks for the part reached."
        elif _close(got, 1.0 - (1.0 - lr * ev) ** (t - 1), rtol=1e-3, atol=1e-5) or _close(
            got, 1.0 - (1.0 - lr * ev) ** (t + 1), rtol=1e-4, atol=1e-6
        ):
            hint = "off by one step: after t steps the power is exactly t."
        elif _close(got, ev / (ev + 1.0 / (lr * t)), rtol=1e-3, atol=1e-5):
            hint = "that is ridge's factor with mu = 1/(lr t): close, but not gradient descent's."
        _compare(ex, words, "the factors", got, expected, rtol=1e-3, atol=1e-5, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ Exercise 4.3

_EX_PERC = Exercise("perceptron_decay_step", "4.3")


def _perceptron_decay_reference(
    w: np.ndarray,
    b: float,
    X: np.ndarray,
    y: np.ndarray,
    lr: float,
    lam: float,
    *,
    ties: bool = True,
    decay_bias: bool = False,
    decay_after: bool = False,
    sign: float = 1.0,
    decay: float = 1.0,
    error_factor: bool = False,
) -> tuple[np.ndarray, float]:
    """A plain loop over the rows: which are mistakes at the *old* weights, then Eq 1.33.

    The keyword arguments switch on one slip each (used to recognize it, never to pass)."""
    push_w, push_b = np.zeros_like(w), 0.0
    for xi, yi in zip(X, y, strict=True):
        score = float(xi @ w + b)
        if yi * score < 0 or (ties and yi * score == 0):
            e = yi - np.sign(score) if error_factor else yi
            push_w, push_b = push_w + e * xi, push_b + e
    keep = 1.0 - decay * lr * lam
    if decay_after:
        return (w + sign * lr * push_w) * keep, (b + sign * lr * push_b) * (
            keep if decay_bias else 1.0
        )
    return w * keep + sign * lr * push_w, b * (keep if decay_bias else 1.0) + sign * lr * push_b


def perceptron_decay_step(fn: Callable) -> None:
    r"""Check ``fn(w, b, X, y, lr, lam)`` returns ``(new_w, new_b)`` of one full-batch step of
    Eq 1.33 with the course's conventions: the mistakes are the rows with
    $y\,(w\cdot x + b) \le 0$ (a tie counts, as in :mod:`course_lib.perceptron`), each adds
    $\alpha\,y\,x$ (the factor 2 of $y - \hat y$ folded into $\alpha$), and only $w$ decays by
    $1 - \alpha\lambda$ (the exact step for $\frac\lambda2\|w\|^2$, erratum E2), not the bias.

    Every input is a small integer or a power of 2, so float32 and the float64 reference loop
    agree exactly, ties included.
    """
    ex = _EX_PERC
    rng = np.random.default_rng(43)
    X_big = rng.integers(-3, 4, size=(10, 3)).astype(np.float64)
    y_big = np.where(rng.integers(0, 2, size=10) == 1, 1.0, -1.0)
    X4 = np.array([[1.0, 2.0], [-1.0, 1.0], [2.0, -1.0], [0.0, -2.0]])
    y4 = np.array([1.0, -1.0, -1.0, 1.0])
    cases = [
        ("4 points, 2 features, lr = 0.5, lam = 0.5", [1.0, -1.0], 0.5, X4, y4, 0.5, 0.5),
        ("no penalty: lam = 0", [1.0, -1.0], 0.5, X4, y4, 0.5, 0.0),
        (
            "w = 0, b = 0: every point lies on the boundary (ties)",
            [0.0, 0.0],
            0.0,
            X4,
            y4,
            1.0,
            0.5,
        ),
        (
            "one point exactly on the boundary, w = (1, -1), b = 0",
            [1.0, -1.0],
            0.0,
            np.array([[2.0, 2.0], [1.0, -1.0], [-1.0, 1.0]]),
            np.array([1.0, 1.0, -1.0]),
            0.5,
            0.25,
        ),
        (
            "no mistakes: only the decay acts",
            [2.0, 1.0],
            1.0,
            np.array([[1.0, 1.0], [-2.0, -1.0]]),
            np.array([1.0, -1.0]),
            0.5,
            0.5,
        ),
        (
            "10 points, 3 features, lr = 0.25, lam = 1",
            [0.5, -1.0, 0.25],
            -0.5,
            X_big,
            y_big,
            0.25,
            1.0,
        ),
    ]
    for words, w, b, X, y, lr, lam in cases:
        w = np.asarray(w, np.float64)
        inputs = [f"w = {w.tolist()}, b = {b:g}", f"lr = {lr:g}, lam = {lam:g}"]
        if len(X) <= 4:
            inputs += [f"X = {X.tolist()}", f"y = {y.tolist()}"]
        result = _call(ex, fn, (_f(w), _f(b), _f(X), _f(y), lr, lam), words, inputs)
        w_got, b_got = _unpack(ex, words, result, ("new_w", "new_b"))
        w_got = _array(ex, words, "new_w", w_got, w.shape, hint="new_w has the shape of w.")
        b_got = _scalar(ex, words, "new_b", b_got)
        w_exp, b_exp = _perceptron_decay_reference(w, b, X, y, lr, lam)

        def same(ref: tuple[np.ndarray, float], w_got=w_got, b_got=b_got) -> bool:
            return _close(w_got, ref[0]) and _close(b_got, ref[1])

        if same((w_exp, b_exp)):
            continue
        slip = functools.partial(_perceptron_decay_reference, w, b, X, y, lr, lam)
        hint = (
            "find the mistakes at the old weights, y (w.x + b) <= 0; add lr * y * x (and lr * y "
            "to b) for each; decay w alone by (1 - lr * lam)."
        )
        if same(slip(decay_bias=True)):
            hint = "the penalty is on w only: do not decay the bias b."
        elif same(slip(decay_after=True)) or same(slip(decay_after=True, decay_bias=True)):
            hint = (
                "decay the *old* weights and then add the updates: W (1 - lr lam) + lr sum y x, "
                "not (W + lr sum y x)(1 - lr lam)."
            )
        elif same(slip(sign=-1.0)):
            hint = "a mistake moves w *towards* y x: add lr * y * x, do not subtract it."
        elif same(slip(ties=False)):
            hint = (
                "a point on the boundary, y (w.x + b) = 0, counts as a mistake (the course's "
                "convention): with < 0, w = 0 would never move."
            )
        elif same(slip(decay=2.0)):
            hint = (
                "the factor 1 - 2 lr lam is for the penalty lam ||w||^2; this exercise uses "
                "Eq 1.33's 1 - lr lam, the exact step for (lam / 2) ||w||^2 (erratum E2)."
            )
        elif same(slip(error_factor=True)):
            hint = (
                "E(X) = y - sign(score) is 2y on a mistake but y on a tie: fold the factor 2 "
                "into lr and add lr * y * x for every mistake."
            )
        elif _close(b_got, b):
            hint = "the bias is updated too, by lr * y for each mistake (it is a weight on a 1)."
        _compare(ex, words, "new_w", w_got, w_exp, hint=hint, details=inputs)
        _compare(ex, words, "new_b", b_got, b_exp, hint=hint, details=inputs)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ Exercise 4.11

_EX_SWEEP = Exercise("ridge_sweep", "4.11")


def _ridge_errors(
    X: np.ndarray,
    y: np.ndarray,
    Xt: np.ndarray,
    yt: np.ndarray,
    lams: np.ndarray,
    *,
    bias_penalty: float = 0.0,
    scale_n: bool = False,
    bias: bool = True,
    sse: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Training and test errors of ridge with a free bias, from the augmented normal equations
    $(A^\\top A + \\lambda D)v = A^\\top y$, $A = [X, 1]$, $D = \\mathrm{diag}(1, \\dots, 1, 0)$.
    The keyword arguments switch on one slip each."""
    n, d = X.shape
    A = np.hstack([X, np.ones((n, 1))]) if bias else X
    At = np.hstack([Xt, np.ones((len(Xt), 1))]) if bias else Xt
    D = np.eye(A.shape[1])
    if bias:
        D[-1, -1] = bias_penalty
    train, test = [], []
    for lam in lams:
        pen = lam * (n if scale_n else 1.0)
        v = np.linalg.solve(A.T @ A + pen * D, A.T @ y)
        reduce = np.sum if sse else np.mean
        train.append(reduce((A @ v - y) ** 2))
        test.append(reduce((At @ v - yt) ** 2))
    return np.array(train), np.array(test)


def ridge_sweep(fn: Callable) -> None:
    r"""Check ``fn(X_tr, y_tr, X_te, y_te, lams)`` returns ``(train_mse, test_mse)``, each of
    shape ``(len(lams),)``: for every $\lambda$ the fit minimizing
    $\sum_i (w\cdot x_i + b - y_i)^2 + \lambda\|w\|^2$ (sum over the training rows, bias $b$
    not penalized), then its mean squared error on the training and on the test rows.

    The reference solves the augmented normal equations in NumPy float64.
    """
    ex = _EX_SWEEP
    X1, e1, X1t, e1t, X2, e2, X2t, e2t = _rng_cases(
        411, [(12, 3), (12,), (8, 3), (8,), (30, 4), (30,), (20, 4), (20,)]
    )
    w1, w2 = np.array([1.0, -2.0, 0.5]), np.array([0.5, 0.0, -1.0, 2.0])
    y1, y1t = X1 @ w1 + 3.0 + 0.5 * e1, X1t @ w1 + 3.0 + 0.5 * e1t
    y2, y2t = X2 @ w2 - 2.0 + e2, X2t @ w2 - 2.0 + e2t
    cases = [
        ("12 training and 8 test points, 3 features", X1, y1, X1t, y1t, [0.5, 5.0, 50.0]),
        ("30 training and 20 test points, 4 features", X2, y2, X2t, y2t, [0.1, 1.0, 10.0, 100.0]),
        ("a single lambda", X2, y2, X2t, y2t, [3.0]),
        ("lam = 0: least squares with a bias", X1, y1, X1t, y1t, [0.0]),
    ]
    for words, X, y, Xt, yt, lams in cases:
        lams = np.asarray(lams, np.float64)
        inputs = [f"lams = {lams.tolist()}"]
        result = _call(ex, fn, (_f(X), _f(y), _f(Xt), _f(yt), _f(lams)), words, inputs)
        tr_got, te_got = _unpack(ex, words, result, ("train_mse", "test_mse"))
        shape_hint = "return one error per lambda: two arrays of shape (len(lams),)."
        tr_got = _array(ex, words, "train_mse", tr_got, lams.shape, hint=shape_hint)
        te_got = _array(ex, words, "test_mse", te_got, lams.shape, hint=shape_hint)
        tr_exp, te_exp = _ridge_errors(X, y, Xt, yt, lams)

        def same(ref: tuple[np.ndarray, np.ndarray], tr=tr_got, te=te_got) -> bool:
            return _close(tr, ref[0], 1e-4, 1e-6) and _close(te, ref[1], 1e-4, 1e-6)

        if same((tr_exp, te_exp)):
            continue
        slip = functools.partial(_ridge_errors, X, y, Xt, yt, lams)
        hint = (
            "for each lambda solve the penalized least squares with a free bias, then average "
            "the squared errors over the rows of each set."
        )
        if same(slip(bias_penalty=1.0)):
            hint = (
                "the bias is not penalized: only ||w||^2 is (centre X and y with the training "
                "means, or give the bias a 0 on the diagonal of the penalty)."
            )
        elif same(slip(scale_n=True)) or same(slip(scale_n=True, bias_penalty=1.0)):
            hint = (
                "the objective is a *sum* of squared errors plus lam ||w||^2: use X^T X + lam I, "
                "not + n lam I (that is the mean plus lam ||w||^2)."
            )
        elif same(slip(sse=True)):
            hint = "return the *mean* squared error of each set, not the sum."
        elif same(slip(bias=False)):
            hint = "the model has a bias b: y is not centred, so fit w.x + b, not w.x alone."
        elif same(tuple(reversed((tr_exp, te_exp)))):
            hint = "return (train_mse, test_mse), in that order."
        _compare(ex, words, "train_mse", tr_got, tr_exp, rtol=1e-4, atol=1e-6, hint=hint)
        _compare(ex, words, "test_mse", te_got, te_exp, rtol=1e-4, atol=1e-6, hint=hint)
    _passed(ex, len(cases))
