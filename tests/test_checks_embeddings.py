"""The chapter-2b self-checks pass on right answers and explain plausible wrong ones."""

import re
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import checks
from course_lib.checks import CheckFailed

# ------------------------------------------------------------------------------ right answers


def good_optimal_encoder(V):
    return jnp.linalg.solve(V.T @ V, V.T)


def good_logistic_mf_nll(U, V, B):
    S = U @ V.T
    return -jnp.sum(B * jax.nn.log_sigmoid(S) + (1 - B) * jax.nn.log_sigmoid(-S))


def good_nmf_step(D, U, V, lr):
    E = D - U @ V.T
    return jnp.maximum(U + lr * E @ V, 0.0), jnp.maximum(V + lr * E.T @ U, 0.0)


def good_sgns_example_update(u, v_pos, v_neg, lr):
    pos = 1 - jax.nn.sigmoid(u @ v_pos)
    neg = jax.nn.sigmoid(v_neg @ u)
    return (
        u + lr * (pos * v_pos - neg @ v_neg),
        v_pos + lr * pos * u,
        v_neg - lr * neg[:, None] * u[None, :],
    )


def good_cbow_update(U, V, context, target, lr):
    h = jnp.sum(U[context], axis=0)
    eps = jax.nn.one_hot(target, V.shape[0]) - jax.nn.softmax(V @ h)
    return U.at[context].add(lr * (V.T @ eps)[None, :]), V + lr * eps[:, None] * h[None, :]


def good_negative_sampling_distribution(counts, power):
    w = counts**power
    return w / jnp.sum(w)


def good_masked_mf_grad(U, V, R, mask, lam):
    E = jnp.where(mask > 0, R - U @ V.T, 0.0)
    return -E @ V + lam * U, -E.T @ U + lam * V


GOOD = {
    "optimal_encoder": good_optimal_encoder,
    "logistic_mf_nll": good_logistic_mf_nll,
    "nmf_step": good_nmf_step,
    "sgns_example_update": good_sgns_example_update,
    "cbow_update": good_cbow_update,
    "negative_sampling_distribution": good_negative_sampling_distribution,
    "masked_mf_grad": good_masked_mf_grad,
}


# ------------------------------------------------------------------------------ wrong answers


def _naive_nll(U, V, B):
    p = jax.nn.sigmoid(U @ V.T)
    return -jnp.sum(B * jnp.log(p) + (1 - B) * jnp.log(1 - p))


def _cbow_set(U, V, context, target, lr):
    h = jnp.sum(U[context], axis=0)
    eps = jax.nn.one_hot(target, V.shape[0]) - jax.nn.softmax(V @ h)
    return U.at[context].set(U[context] + lr * (V.T @ eps)[None, :]), V + lr * eps[:, None] * h[
        None, :
    ]


def _sgns_wrong_pos(u, v_pos, v_neg, lr):
    pos = jax.nn.sigmoid(u @ v_pos)  # should be 1 - sigmoid
    neg = jax.nn.sigmoid(v_neg @ u)
    return (
        u + lr * (pos * v_pos - neg @ v_neg),
        v_pos + lr * pos * u,
        v_neg - lr * neg[:, None] * u[None, :],
    )


def _sgns_no_neg_on_u(u, v_pos, v_neg, lr):
    pos = 1 - jax.nn.sigmoid(u @ v_pos)
    neg = jax.nn.sigmoid(v_neg @ u)
    return (u + lr * pos * v_pos, v_pos + lr * pos * u, v_neg - lr * neg[:, None] * u[None, :])


def _sgns_sequential(u, v_pos, v_neg, lr):
    pos = 1 - jax.nn.sigmoid(u @ v_pos)
    new_u = u + lr * pos * v_pos
    neg = jax.nn.sigmoid(v_neg @ new_u)
    return (
        new_u - lr * neg @ v_neg,
        v_pos + lr * pos * u,
        v_neg - lr * neg[:, None] * new_u[None, :],
    )


def _masked_multiply(U, V, R, mask, lam):
    E = mask * (R - U @ V.T)  # NaN * 0 = NaN
    return -E @ V + lam * U, -E.T @ U + lam * V


WRONG: dict[str, list[tuple[str, Callable, str]]] = {
    "optimal_encoder": [
        ("V transposed", lambda V: V.T, "orthonormal"),
        ("the decoder itself", lambda V: V, "W has the wrong shape"),
        ("twice the answer", lambda V: 2 * good_optimal_encoder(V), "wrong value of W"),
    ],
    "logistic_mf_nll": [
        ("positives only", lambda U, V, B: -jnp.sum(B * jax.nn.log_sigmoid(U @ V.T)), "(1 - b)"),
        ("a mean", lambda U, V, B: good_logistic_mf_nll(U, V, B) / B.size, "not a mean"),
        ("no minus sign", lambda U, V, B: -good_logistic_mf_nll(U, V, B), "minus sign"),
        ("naive logs overflow", _naive_nll, "log_sigmoid"),
        ("an array", lambda U, V, B: jnp.ones(3), "single number"),
    ],
    "nmf_step": [
        (
            "no projection",
            lambda D, U, V, lr: (U + lr * (D - U @ V.T) @ V, V + lr * (D - U @ V.T).T @ U),
            "project",
        ),
        ("ascent", lambda D, U, V, lr: good_nmf_step(D, U, V, -lr), "against the gradient"),
        (
            "V from the new U",
            lambda D, U, V, lr: (
                (U2 := jnp.maximum(U + lr * (D - U @ V.T) @ V, 0.0)),
                jnp.maximum(V + lr * (D - U2 @ V.T).T @ U2, 0.0),
            ),
            "same old values",
        ),
    ],
    "sgns_example_update": [
        ("sigmoid for the positive mistake", _sgns_wrong_pos, "1 - sigmoid(u.v_pos)"),
        ("negatives do not move u", _sgns_no_neg_on_u, "negatives also move u"),
        ("u updated in two steps", _sgns_sequential, "wrong value"),
        (
            "two outputs",
            lambda u, vp, vn, lr: (u, vp),
            "expected a tuple (new_u, new_v_pos, new_v_neg)",
        ),
    ],
    "cbow_update": [
        ("repeated words updated once", _cbow_set, "updated twice"),
        (
            "V left alone",
            lambda U, V, c, t, lr: (good_cbow_update(U, V, c, t, lr)[0], V),
            "output embeddings too",
        ),
    ],
    "negative_sampling_distribution": [
        ("not normalized", lambda c, p: c**p, "divide by the sum"),
        ("normalized before the power", lambda c, p: (c / c.sum()) ** p, "AFTER"),
        ("no power", lambda c, p: c / c.sum(), "raise the counts"),
    ],
    "masked_mf_grad": [
        (
            "no mask",
            lambda U, V, R, M, lam: good_masked_mf_grad(U, V, R, jnp.ones_like(M), lam),
            "must not count",
        ),
        ("no penalty", lambda U, V, R, M, lam: good_masked_mf_grad(U, V, R, M, 0.0), "penalty"),
        ("mask by multiplication", _masked_multiply, "NaN * 0 is NaN"),
        (
            "wrong sign",
            lambda U, V, R, M, lam: tuple(
                -g + 2 * lam * p
                for g, p in zip(good_masked_mf_grad(U, V, R, M, lam), (U, V), strict=True)
            ),
            "sign of the error",
        ),
    ],
}

NAMES = sorted(GOOD)
WRONG_CASES = [(n, d, f, needle) for n in NAMES for d, f, needle in WRONG[n]]


def _not_implemented(*args):
    raise NotImplementedError


@pytest.mark.parametrize("name", NAMES)
def test_right_answer_passes(name, capsys):
    getattr(checks, name)(GOOD[name])
    out = capsys.readouterr().out
    assert re.fullmatch(rf"✔ {name}( \(Exercise 2\.\d+\))?: all \d+ checks passed\.\n", out), out


@pytest.mark.parametrize("name", NAMES)
def test_not_implemented(name):
    with pytest.raises(CheckFailed, match="not implemented yet"):
        getattr(checks, name)(_not_implemented)


@pytest.mark.parametrize(
    ("name", "desc", "fn", "needle"), WRONG_CASES, ids=[f"{c[0]}-{c[1]}" for c in WRONG_CASES]
)
def test_wrong_answer_is_explained(name, desc, fn, needle):
    with pytest.raises(CheckFailed) as info:
        getattr(checks, name)(fn)
    text = str(info.value)
    assert needle in text, text
    assert info.value.case, "the message must say which input went wrong"
    assert "Traceback" not in "\n".join(info.value._render_traceback_())


def test_checks_are_registered():
    assert set(NAMES) <= set(checks.__all__)


def test_numpy_answers_are_accepted(capsys):
    checks.negative_sampling_distribution(
        lambda c, p: np.asarray(c) ** p / np.sum(np.asarray(c) ** p)
    )
    assert "✔" in capsys.readouterr().out
