r"""Self-checks for the chapter-3 optimizer exercises (Aggarwal §3.5, §3.10 Exercise 3.6).

Each public function takes the student's function, runs it on a few fixed cases and compares
with an independent reference: :mod:`course_lib.optim` (tested step by step against optax) for
momentum, Adam, AdaGrad, clipping and Newton's step, ``numpy.linalg`` for eigenvalues and linear
solves, and :func:`course_lib.optim.run` for gradient descent on $x^2 + y^{10}$. Update rules are
checked over several consecutive steps, so a slip that only shows after the first step (a state
that is not carried, a step count that starts at 0) is caught too.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import numpy as np

from course_lib import optim
from course_lib.checks import Exercise, _array, _call, _compare, _f, _fmt, _passed, _scalar, _unpack

# ------------------------------------------------------------------------------ shared


def _bowl(w):
    return w[0] ** 2 + 4.0 * w[1] ** 2


# A 3-D quadratic with mixed curvatures and a tilt, so that no coordinate is special.
_H3 = np.array([[3.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 1.0]])
_B3 = np.array([1.0, -2.0, 0.5])


def _quad3(w):
    return 0.5 * w @ _f(_H3) @ w - _f(_B3) @ w


# (label, loss, start, hyperparameters): every rule is run on both problems.
_PROBLEMS = [
    ("the bowl x^2 + 4y^2 from (3, 2)", _bowl, [3.0, 2.0]),
    ("a tilted 3-D quadratic from (1, -1, 2)", _quad3, [1.0, -1.0, 2.0]),
]


def _trajectory_check(
    ex: Exercise,
    fn: Callable,
    *,
    names: tuple[str, ...],
    init_state: Callable[[np.ndarray], tuple],
    call_args: Callable[[jax.Array, tuple, jax.Array, int], tuple],
    reference: Callable[[Callable, np.ndarray], np.ndarray],
    settings: list[tuple[str, dict]],
    steps: int,
    hint: str,
    rtol: float = 1e-4,
    atol: float = 1e-5,
) -> int:
    """Run ``fn`` for ``steps`` steps on each problem and setting; compare every iterate.

    ``call_args(w, state, grad, t)`` builds the arguments of one call (``t`` = 1, 2, ...);
    ``fn`` returns ``(new_w, *new_state)``; ``reference(loss, w0, **setting)`` gives the
    ``(steps + 1, d)`` iterates of the library.
    """
    count = 0
    for label, loss, start in _PROBLEMS:
        for words, setting in settings:
            case_base = f"{label}, {words}"
            w = _f(start)
            state = init_state(np.asarray(start))
            expected = reference(loss, np.asarray(start), **setting)
            for t in range(1, steps + 1):
                case = f"{case_base}, step {t}"
                g = jax.grad(loss)(w)
                out = _call(ex, fn, call_args(w, state, g, t, **setting), case)
                out = _unpack(ex, case, out, names)
                arrays = [
                    _array(ex, case, n, v, (len(start),)) for n, v in zip(names, out, strict=True)
                ]
                _compare(
                    ex,
                    case,
                    names[0],
                    arrays[0],
                    expected[t],
                    rtol=rtol,
                    atol=atol,
                    hint=hint,
                    details=[f"w before this step = {_fmt(np.asarray(w))}"],
                )
                w = _f(arrays[0])
                state = tuple(_f(a) for a in arrays[1:])
            count += 1
    return count


# ------------------------------------------------------------------------------ momentum


def momentum_step(fn: Callable) -> None:
    r"""``momentum_step(w, v, grad, lr, beta) -> (new_w, new_v)``: the book's momentum (§3.5.2).

    $V \leftarrow \beta V - \alpha g$, $W \leftarrow W + V$, checked over 15 steps against
    ``optim.sgd(lr, momentum=beta)`` (optax's form, which takes the same steps).
    """
    ex = Exercise("momentum_step", "")
    settings = [("lr = 0.05, beta = 0.9", {"lr": 0.05, "beta": 0.9})]
    settings.append(("lr = 0.1, beta = 0.5", {"lr": 0.1, "beta": 0.5}))
    settings.append(("lr = 0.1, beta = 0 (plain GD)", {"lr": 0.1, "beta": 0.0}))

    def reference(loss, w0, lr, beta):
        return np.asarray(optim.run(loss, optim.sgd(lr, momentum=beta), _f(w0), 15).params)

    n = _trajectory_check(
        ex,
        fn,
        names=("new_w", "new_v"),
        init_state=lambda w0: (_f(np.zeros_like(w0)),),
        call_args=lambda w, s, g, t, lr, beta: (w, s[0], g, lr, beta),
        reference=reference,
        settings=settings,
        steps=15,
        hint=(
            "first the velocity, v = beta * v - lr * grad, then the position, w = w + v, using "
            "the NEW v; return both (the next call gets your new_v back)."
        ),
    )
    _passed(ex, n)


# ------------------------------------------------------------------------------ Adam


def adam_step(fn: Callable) -> None:
    r"""``adam_step(w, F, A, t, grad, lr, rho_f, rho, eps) -> (new_w, new_F, new_A)`` (§3.5.3.5).

    With bias correction and optax's $\epsilon$: checked over 20 steps against ``optim.adam``.
    """
    ex = Exercise("adam_step", "")
    settings = [
        (
            "lr = 0.1, rho_f = 0.9, rho = 0.999, eps = 1e-8",
            {"lr": 0.1, "b1": 0.9, "b2": 0.999, "eps": 1e-8},
        ),
        (
            "lr = 0.3, rho_f = 0.5, rho = 0.9, eps = 0.1",
            {"lr": 0.3, "b1": 0.5, "b2": 0.9, "eps": 0.1},
        ),
    ]

    def reference(loss, w0, lr, b1, b2, eps):
        opt = optim.adam(lr, b1=b1, b2=b2, eps=eps)
        return np.asarray(optim.run(loss, opt, _f(w0), 20).params)

    zeros = lambda w0: (_f(np.zeros_like(w0)), _f(np.zeros_like(w0)))  # noqa: E731
    n = _trajectory_check(
        ex,
        fn,
        names=("new_w", "new_F", "new_A"),
        init_state=zeros,
        call_args=lambda w, s, g, t, lr, b1, b2, eps: (w, s[0], s[1], t, g, lr, b1, b2, eps),
        reference=reference,
        settings=settings,
        steps=20,
        hint=(
            "update F and A first; then divide by the bias corrections 1 - rho_f**t and "
            "1 - rho**t (t = 1 at the first step), and step by lr * F_hat / (sqrt(A_hat) + eps): "
            "eps is added after the square root."
        ),
    )
    _passed(ex, n)


# ------------------------------------------------------------------------------ AdaGrad


def adagrad_step(fn: Callable) -> None:
    r"""``adagrad_step(w, A, grad, lr, eps) -> (new_w, new_A)`` (§3.5.3.1, Eq 3.40).

    $A \leftarrow A + g^2$, $w \leftarrow w - \alpha\,g/\sqrt{A + \epsilon}$, started from
    $A = 0$: checked over 20 steps against ``optim.adagrad(lr, initial_accumulator_value=0)``.
    """
    ex = Exercise("adagrad_step", "")
    settings = [
        ("lr = 1, eps = 1e-8", {"lr": 1.0, "eps": 1e-8}),
        ("lr = 0.5, eps = 0.5", {"lr": 0.5, "eps": 0.5}),
    ]

    def reference(loss, w0, lr, eps):
        opt = optim.adagrad(lr, initial_accumulator_value=0.0, eps=eps)
        return np.asarray(optim.run(loss, opt, _f(w0), 20).params)

    n = _trajectory_check(
        ex,
        fn,
        names=("new_w", "new_A"),
        init_state=lambda w0: (_f(np.zeros_like(w0)),),
        call_args=lambda w, s, g, t, lr, eps: (w, s[0], g, lr, eps),
        reference=reference,
        settings=settings,
        steps=20,
        hint=(
            "A is a running SUM of squared gradients (no decay): A = A + grad**2, updated "
            "before it is used; then w - lr * grad / sqrt(A + eps), eps inside the root."
        ),
    )
    _passed(ex, n)


# ------------------------------------------------------------------------------ clipping


def clip_by_norm(fn: Callable) -> None:
    r"""``clip_by_norm(g, c) -> clipped``: $g \min(1, c/\|g\|)$ (§3.5.5), vs the library."""
    ex = Exercise("clip_by_norm", "")
    cases = [
        ("a long gradient (norm 5), c = 1", [3.0, 4.0], 1.0),
        ("a short gradient (norm 0.5), c = 1: unchanged", [0.3, -0.4], 1.0),
        ("norm exactly c", [0.0, 2.0, 0.0], 2.0),
        ("a 4-D gradient, norm 10, c = 2.5", [1.0, -3.0, 9.0, 3.0], 2.5),
        ("the zero gradient", [0.0, 0.0], 1.0),
        ("one huge component: clipping by value would turn the direction", [100.0, 1.0], 1.0),
    ]
    for words, g, c in cases:
        g = _f(g)
        got = _array(ex, words, "clipped", _call(ex, fn, (g, c), words), g.shape)
        expected, _ = optim.clip_by_global_norm(c).update(g, optim.EmptyState())
        _compare(
            ex,
            words,
            "clipped",
            got,
            np.asarray(expected),
            hint=(
                "rescale the WHOLE vector by min(1, c / ||g||), with ||g|| = sqrt(sum g**2): "
                "the direction stays, only the length is capped at c."
            ),
            details=[f"input g = {_fmt(np.asarray(g))}, c = {c:g}"],
        )
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ Newton


def newton_step_quadratic(fn: Callable) -> None:
    r"""``newton_step_quadratic(H, b, w) -> new_w`` for $L = \tfrac12 w^\top H w - b^\top w$.

    Compared with ``optim.newton_step`` (which differentiates the loss with ``jax.hessian``) and
    with the minimizer ``numpy.linalg.solve(H, b)``, which one step must reach (Eq 3.48).
    """
    ex = Exercise("newton_step_quadratic", "")
    cases = [
        (
            "the bowl: H = diag(2, 8), b = 0, from (30, 20)",
            np.diag([2.0, 8.0]),
            [0.0, 0.0],
            [30.0, 20.0],
        ),
        ("a tilted 3-D quadratic", _H3, _B3, [1.0, -1.0, 2.0]),
        (
            "a saddle, H = diag(2, -2), b = 0: Newton jumps onto it",
            np.diag([2.0, -2.0]),
            [0.0, 0.0],
            [1.0, 0.5],
        ),
        (
            "a coupled 2-D quadratic, b != 0",
            np.array([[4.0, 1.5], [1.5, 1.0]]),
            [1.0, 2.0],
            [-2.0, 3.0],
        ),
    ]
    for words, H, b, w in cases:
        H, b, w = _f(H), _f(b), _f(w)
        got = _array(ex, words, "new_w", _call(ex, fn, (H, b, w), words), w.shape)
        reference = np.asarray(optim.newton_step(lambda v, H=H, b=b: 0.5 * v @ H @ v - b @ v, w))
        minimum = np.linalg.solve(np.asarray(H, np.float64), np.asarray(b, np.float64))
        hint = (
            "the gradient of 1/2 w^T H w - b^T w is H w - b and its Hessian is H; "
            "Newton's step is w - H^{-1} (H w - b): use jnp.linalg.solve(H, gradient)."
        )
        details = [f"input H = {_fmt(np.asarray(H))}", f"input b = {_fmt(np.asarray(b))}"]
        _compare(
            ex, words, "new_w", got, reference, rtol=1e-4, atol=1e-4, hint=hint, details=details
        )
        _compare(ex, words, "new_w", got, minimum, rtol=1e-4, atol=1e-4, hint=hint, details=details)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ stability limit


def stability_limit(fn: Callable) -> None:
    r"""``stability_limit(H) -> float``: the largest stable GD step $2/\lambda_{\max}(H)$.

    Compared with ``numpy.linalg.eigvalsh`` (the notebook then runs GD on both sides of it).
    """
    ex = Exercise("stability_limit", "")
    rng = np.random.default_rng(7)
    M = rng.normal(size=(4, 4))
    cases = [
        ("the bowl x^2 + 4y^2: H = diag(2, 8)", np.diag([2.0, 8.0])),
        ("the round bowl: H = 2 I", 2.0 * np.eye(2)),
        (
            "a coupled 2-D Hessian (its largest entry is not its largest eigenvalue)",
            np.array([[4.0, 3.0], [3.0, 4.0]]),
        ),
        ("a random 4 x 4 positive definite Hessian", M @ M.T + 0.5 * np.eye(4)),
    ]
    for words, H in cases:
        got = _scalar(ex, words, "limit", _call(ex, fn, (_f(H),), words))
        expected = 2.0 / np.linalg.eigvalsh(H).max()
        _compare(
            ex,
            words,
            "limit",
            np.asarray(got),
            expected,
            rtol=1e-4,
            hint=(
                "along an eigenvector with eigenvalue lambda, GD multiplies the error by "
                "(1 - alpha * lambda) per step; which eigenvalue sets the limit, and where does "
                "|1 - alpha * lambda| reach 1? (jnp.linalg.eigvalsh gives the eigenvalues)"
            ),
            details=[f"input H = {_fmt(H)}"],
        )
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ Exercise 3.6


def _x2_y10(w):
    return w[0] ** 2 + w[1] ** 10


def gd_x2_y10(fn: Callable) -> None:
    r"""``gd_x2_y10(w0, lr, steps) -> path``: GD on $L = x^2 + y^{10}$ (Exercise 3.6).

    ``path`` has shape ``(steps + 1, 2)``, the start first; compared with ``optim.run``.
    """
    ex = Exercise("gd_x2_y10", "3.6")
    cases = [
        ("from (0.5, 0.5), lr = 0.01, 50 steps", [0.5, 0.5], 0.01, 50),
        ("from (0.5, 0.5), lr = 0.1, 50 steps", [0.5, 0.5], 0.1, 50),
        ("from (1, 0.9), lr = 0.02, 30 steps", [1.0, 0.9], 0.02, 30),
        ("from (-1, -1), lr = 0.05, 10 steps", [-1.0, -1.0], 0.05, 10),
    ]
    for words, w0, lr, steps in cases:
        w0j = _f(w0)
        got = _array(
            ex,
            words,
            "path",
            _call(ex, fn, (w0j, lr, steps), words),
            (steps + 1, 2),
            hint="one row per iterate: w0 first, then one row per step (steps + 1 rows).",
        )
        expected = np.asarray(optim.run(_x2_y10, optim.sgd(lr), w0j, steps).params)
        _compare(
            ex,
            words,
            "path",
            got,
            expected,
            rtol=1e-4,
            atol=1e-6,
            hint=(
                "the gradient of x^2 + y^10 is (2x, 10 y^9); the path starts with w0 itself and "
                "has one more row per step: steps + 1 rows in all."
            ),
        )
    _passed(ex, len(cases))
