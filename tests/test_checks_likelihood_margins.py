"""course_lib.checks.likelihood_margins: each check passes a right answer and fails plausible
mistakes.

The right answers are written here independently of the solutions notebook (the library's
Weston-Watkins loss, jax.grad of the masked loss, a loop for the updates)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import checks, data, losses
from course_lib.checks import CheckFailed


def _stub(*args):
    raise NotImplementedError("Exercise: replace this with your code")


ALL = [
    checks.ww_loss,
    checks.neighbourhood_step,
    checks.plsa_update,
    checks.ensemble_network,
    checks.stack_features,
]


@pytest.mark.parametrize("check", ALL)
def test_every_check_says_not_implemented_for_the_stub(check):
    with pytest.raises(CheckFailed, match="not implemented yet"):
        check(_stub)


def _passes(check, fn, capsys):
    check(fn)
    assert "✔" in capsys.readouterr().out


def _fails(check, fn, hint_word):
    with pytest.raises(CheckFailed) as info:
        check(fn)
    assert hint_word in str(info.value), str(info.value)


# ---- Exercise 2.2


def _ww_vectorized(W, X, y, a, own=False, mean=False, sign=1.0):
    s = X @ W.T
    true = jnp.take_along_axis(s, jnp.asarray(y)[:, None], axis=1)
    v = jnp.maximum(0.0, a + sign * (s - true))
    if not own:
        v = v * (1 - jax.nn.one_hot(jnp.asarray(y), W.shape[0]))
    return v.sum(axis=1).mean() if mean else v.sum()


def test_ww_loss(capsys):
    _passes(checks.ww_loss, _ww_vectorized, capsys)

    def via_library(W, X, y, a):  # a = 1 scaled: L_a(W) = a L_1(W / a) for a > 0
        if a == 0:
            return _ww_vectorized(W, X, y, 0.0)
        return a * jnp.sum(losses.weston_watkins(X @ (W / a).T, jnp.asarray(y)))

    _passes(checks.ww_loss, via_library, capsys)
    _fails(checks.ww_loss, lambda W, X, y, a: _ww_vectorized(W, X, y, a, own=True), "r = y_i")
    _fails(checks.ww_loss, lambda W, X, y, a: _ww_vectorized(W, X, y, a, mean=True), "average")
    _fails(checks.ww_loss, lambda W, X, y, a: _ww_vectorized(W, X, y, a, sign=-1.0), "not minus")
    _fails(checks.ww_loss, lambda W, X, y, a: _ww_vectorized(W, X, y, 1.0), "margin a")


# ---- Exercise 2.7


def _nb_grad_step(W, R, lr, mask=True, sign=-1.0, scale=1.0):
    d = W.shape[0]
    M = 1.0 - jnp.eye(d) if mask else jnp.ones((d, d))

    def loss(W):
        return 0.5 * scale * jnp.sum((R - R @ (W * M)) ** 2)

    return W + sign * lr * jax.grad(loss)(W)


def test_neighbourhood_step(capsys):
    _passes(checks.neighbourhood_step, _nb_grad_step, capsys)
    _fails(checks.neighbourhood_step, lambda W, R, lr: _nb_grad_step(W, R, lr, mask=False), "mask")
    _fails(checks.neighbourhood_step, lambda W, R, lr: _nb_grad_step(W, R, lr, sign=1.0),
           "against")  # fmt: skip
    _fails(checks.neighbourhood_step, lambda W, R, lr: _nb_grad_step(W, R, lr, scale=2.0),
           "1/2")  # fmt: skip


# ---- Exercise 2.10


def _plsa_loops(D, U, V, simultaneous=False, frobenius=False, normalize=True):
    D, U, V = (np.asarray(a, np.float64) for a in (D, U, V))
    n, m = D.shape
    r = U.shape[1]
    P = U @ V.T
    U2 = np.empty_like(U)
    for i in range(n):
        for z in range(r):
            if frobenius:
                U2[i, z] = U[i, z] * (D[i] @ V[:, z]) / ((U @ V.T @ V)[i, z])
            else:
                num = sum(D[i, j] / P[i, j] * V[j, z] for j in range(m))
                U2[i, z] = U[i, z] * num / (V[:, z].sum() if normalize else 1.0)
    Uv = U if simultaneous else U2
    P = Uv @ V.T
    V2 = np.empty_like(V)
    for j in range(m):
        for z in range(r):
            num = sum(D[i, j] / P[i, j] * Uv[i, z] for i in range(n))
            V2[j, z] = V[j, z] * num / (Uv[:, z].sum() if normalize else 1.0)
    return U2, V2


def test_plsa_update(capsys):
    _passes(checks.plsa_update, _plsa_loops, capsys)
    _fails(checks.plsa_update, lambda D, U, V: _plsa_loops(D, U, V, simultaneous=True), "new U")
    _fails(checks.plsa_update, lambda D, U, V: _plsa_loops(D, U, V, frobenius=True), "squared")
    _fails(checks.plsa_update, lambda D, U, V: _plsa_loops(D, U, V, normalize=False),
           "column sums")  # fmt: skip


# ---- Exercise 2.11


def _net(X, W1, v, act=None, swap=False):
    h1 = X @ W1[0]
    h2 = jnp.tanh(X @ W1[1] / 2) if act is None else act(X @ W1[1])  # 2 sigma(z) - 1
    if swap:
        v = v[::-1]
    return jnp.stack([h1, h2], axis=1) @ v


def test_ensemble_network(capsys):
    _passes(checks.ensemble_network, _net, capsys)
    _fails(checks.ensemble_network, lambda X, W, v: _net(X, W, v, act=jax.nn.sigmoid), "[-1, 1]")
    _fails(checks.ensemble_network, lambda X, W, v: _net(X, W, v, swap=True), "v[0]")

    def both_sigmoid(X, W1, v):
        return v[0] * jnp.tanh(X @ W1[0] / 2) + v[1] * jnp.tanh(X @ W1[1] / 2)

    _fails(checks.ensemble_network, both_sigmoid, "linear")


# ---- Exercise 2.12


def _features(X, W1, order=(0, 1, 2), logistic=None, bias=True):
    cols = [X @ W1[0], jnp.tanh(X @ W1[1] / 2), jnp.ones(X.shape[0])]  # 2 sigma(z) - 1 = tanh(z/2)
    if logistic is not None:
        cols[1] = logistic(X @ W1[1])
    F = jnp.stack([cols[i] for i in order], axis=1)
    return F if bias else F[:, :2]


def test_stack_features(capsys):
    _passes(checks.stack_features, _features, capsys)

    def via_library(X, W1):  # the two hidden units of the Exercise 2.11 network, then add_bias
        h = jnp.stack([X @ W1[0], 2 * jax.nn.sigmoid(X @ W1[1]) - 1], axis=1)
        return data.add_bias(h)

    _passes(checks.stack_features, via_library, capsys)
    _fails(checks.stack_features, lambda X, W1: _features(X, W1, logistic=jax.nn.sigmoid),
           "[-1, 1]")  # fmt: skip
    _fails(checks.stack_features, lambda X, W1: _features(X, W1, logistic=lambda z: z),
           "raw score")  # fmt: skip
    _fails(checks.stack_features, lambda X, W1: _features(X, W1, order=(2, 0, 1)), "goes last")
    _fails(checks.stack_features, lambda X, W1: _features(X, W1, order=(1, 0, 2)), "row 0")
    _fails(checks.stack_features, lambda X, W1: _features(X, W1, bias=False), "constant")
