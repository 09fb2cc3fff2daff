"""course_lib.checks.optim: each self-check passes a right answer and fails plausible mistakes.

The right answers here are written independently of the solutions notebook (NumPy where it is
natural). Every wrong answer models a slip a student makes: a sign, a missing bias correction,
value clipping instead of norm clipping, the wrong eigenvalue ...
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import checks
from course_lib.checks import CheckFailed

# ------------------------------------------------------------------------------ right answers


def good_momentum(w, v, grad, lr, beta):
    v = beta * np.asarray(v) - lr * np.asarray(grad)
    return np.asarray(w) + v, v


def good_adam(w, F, A, t, grad, lr, rho_f, rho, eps):
    g = np.asarray(grad)
    F = rho_f * np.asarray(F) + (1 - rho_f) * g
    A = rho * np.asarray(A) + (1 - rho) * g**2
    step = (F / (1 - rho_f**t)) / (np.sqrt(A / (1 - rho**t)) + eps)
    return np.asarray(w) - lr * step, F, A


def good_adagrad(w, A, grad, lr, eps):
    A = np.asarray(A) + np.asarray(grad) ** 2
    return np.asarray(w) - lr * np.asarray(grad) / np.sqrt(A + eps), A


def good_clip(g, c):
    g = np.asarray(g)
    norm = np.sqrt(np.sum(g**2))
    return g if norm <= c else g * (c / norm)


def good_newton(H, b, w):
    return np.asarray(w) - np.linalg.solve(np.asarray(H), np.asarray(H) @ np.asarray(w) - b)


def good_limit(H):
    return 2.0 / jnp.linalg.eigvalsh(H).max()


def good_gd_x2_y10(w0, lr, steps):
    w = np.asarray(w0, dtype=np.float64)
    path = [w]
    for _ in range(steps):
        w = w - lr * np.array([2 * w[0], 10 * w[1] ** 9])
        path.append(w)
    return np.array(path)


# ------------------------------------------------------------------------------ wrong answers


def stub(*args):
    raise NotImplementedError("write this function")


def momentum_wrong_sign(w, v, grad, lr, beta):
    v = beta * v + lr * grad
    return w + v, v


def momentum_old_velocity(w, v, grad, lr, beta):
    return w + v, beta * v - lr * grad  # moves with the previous v


def momentum_no_memory(w, v, grad, lr, beta):
    v = -lr * grad
    return w + v, v


def adam_no_bias_correction(w, F, A, t, grad, lr, rho_f, rho, eps):
    F = rho_f * F + (1 - rho_f) * grad
    A = rho * A + (1 - rho) * grad**2
    return w - lr * F / (jnp.sqrt(A) + eps), F, A


def adam_t_from_zero(w, F, A, t, grad, lr, rho_f, rho, eps):
    return good_adam(w, F, A, t + 1, grad, lr, rho_f, rho, eps)


def adam_eps_inside(w, F, A, t, grad, lr, rho_f, rho, eps):
    g = np.asarray(grad)
    F = rho_f * np.asarray(F) + (1 - rho_f) * g
    A = rho * np.asarray(A) + (1 - rho) * g**2
    step = (F / (1 - rho_f**t)) / np.sqrt(A / (1 - rho**t) + eps)
    return np.asarray(w) - lr * step, F, A


def adam_correction_without_root(w, F, A, t, grad, lr, rho_f, rho, eps):
    F = rho_f * F + (1 - rho_f) * grad
    A = rho * A + (1 - rho) * grad**2
    alpha_t = lr * (1 - rho**t) / (1 - rho_f**t)  # the extraction's misprint
    return w - alpha_t * F / (jnp.sqrt(A) + eps), F, A


def adagrad_old_accumulator(w, A, grad, lr, eps):
    return w - lr * grad / jnp.sqrt(A + grad**2 * 0 + eps), A + grad**2


def adagrad_decaying(w, A, grad, lr, eps):  # RMSProp, not AdaGrad
    A = 0.9 * A + 0.1 * grad**2
    return w - lr * grad / jnp.sqrt(A + eps), A


def adagrad_no_square(w, A, grad, lr, eps):
    A = A + jnp.abs(grad)
    return w - lr * grad / jnp.sqrt(A + eps), A


def clip_by_value(g, c):
    return jnp.clip(g, -c, c)


def clip_always(g, c):
    return g * c / jnp.linalg.norm(g)


def clip_squared_norm(g, c):
    return g * jnp.minimum(1.0, c / jnp.sum(g**2))


def newton_gradient_step(H, b, w):
    return w - (H @ w - b)


def newton_forgot_b(H, b, w):
    return w - jnp.linalg.solve(H, H @ w)


def newton_wrong_sign(H, b, w):
    return w + jnp.linalg.solve(H, H @ w - b)


def limit_one_over(H):
    return 1.0 / jnp.linalg.eigvalsh(H).max()


def limit_smallest(H):
    return 2.0 / jnp.linalg.eigvalsh(H).min()


def limit_diagonal(H):
    return 2.0 / jnp.max(jnp.diag(H))


def gd_wrong_power(w0, lr, steps):
    w = np.asarray(w0, dtype=np.float64)
    path = [w]
    for _ in range(steps):
        w = w - lr * np.array([2 * w[0], 9 * w[1] ** 8])
        path.append(w)
    return np.array(path)


def gd_without_start(w0, lr, steps):
    return good_gd_x2_y10(w0, lr, steps)[1:]


def gd_ascent(w0, lr, steps):
    w = np.asarray(w0, dtype=np.float64)
    path = [w]
    for _ in range(steps):
        w = w + lr * np.array([2 * w[0], 10 * w[1] ** 9])
        path.append(w)
    return np.array(path)


CASES = {
    "momentum_step": (
        good_momentum,
        [momentum_wrong_sign, momentum_old_velocity, momentum_no_memory],
    ),
    "adam_step": (
        good_adam,
        [adam_no_bias_correction, adam_t_from_zero, adam_eps_inside, adam_correction_without_root],
    ),
    "adagrad_step": (good_adagrad, [adagrad_old_accumulator, adagrad_decaying, adagrad_no_square]),
    "clip_by_norm": (good_clip, [clip_by_value, clip_always, clip_squared_norm]),
    "newton_step_quadratic": (
        good_newton,
        [newton_gradient_step, newton_forgot_b, newton_wrong_sign],
    ),
    "stability_limit": (good_limit, [limit_one_over, limit_smallest, limit_diagonal]),
    "gd_x2_y10": (good_gd_x2_y10, [gd_wrong_power, gd_without_start, gd_ascent]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_check_passes_a_right_answer(name, capsys):
    getattr(checks, name)(CASES[name][0])
    out = capsys.readouterr().out
    assert out.startswith("✔")
    assert name in out and "checks passed" in out


@pytest.mark.parametrize("name", list(CASES))
def test_check_says_not_implemented_for_the_stub(name):
    with pytest.raises(CheckFailed, match="not implemented yet"):
        getattr(checks, name)(stub)


@pytest.mark.parametrize(
    ("name", "wrong"),
    [(name, wrong) for name, (_, wrongs) in CASES.items() for wrong in wrongs],
    ids=lambda x: x if isinstance(x, str) else x.__name__,
)
def test_check_fails_a_plausible_mistake(name, wrong):
    with pytest.raises(CheckFailed) as info:
        getattr(checks, name)(wrong)
    failure = info.value
    assert failure.exercise.name == name
    assert failure.case  # the message names the input case ...
    text = str(failure)
    assert "expected" in text and "got" in text  # ... and shows expected against got
    assert failure.hint


def test_a_wrong_shape_is_explained():
    with pytest.raises(CheckFailed, match="wrong shape"):
        checks.clip_by_norm(lambda g, c: g[:1])
    with pytest.raises(CheckFailed, match=r"expected a tuple \(new_w, new_v\)"):
        checks.momentum_step(lambda w, v, g, lr, beta: w)
