"""course_lib.checks.rnn_architectures: each check passes a right answer and fails plausible
mistakes.

The right answers here are written independently of the solutions notebook (Python loops and
the library where the notebook uses lax.scan and jnp).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import checks, rnn, transformer
from course_lib import rnn_architectures as ra
from course_lib.checks import CheckFailed


def _stub(*args):
    raise NotImplementedError("Exercise: replace this with your code")


ALL = [
    checks.birnn_states,
    checks.stacked_states,
    checks.layer_norm_grads,
    checks.tagging_loss,
    checks.block_esn_predictions,
    checks.standardize,
    checks.ar_coefficients,
]


@pytest.mark.parametrize("check", ALL)
def test_every_check_says_not_implemented_for_the_stub(check):
    with pytest.raises(CheckFailed, match="not implemented yet"):
        check(_stub)


def _passes(check, fn, capsys):
    check(fn)
    assert "✔" in capsys.readouterr().out


def _fails(check, fn, hint_word):
    with pytest.raises(CheckFailed) as err:
        check(fn)
    assert hint_word in str(err.value), str(err.value)


# ------------------------------------------------------------------------------ bidirectional


def _loop_states(W_x, W_h, b, xs, order):
    h, out = jnp.zeros(W_h.shape[0]), [None] * xs.shape[0]
    for t in order:
        h = jnp.tanh(W_x @ xs[t] + W_h @ h + b)
        out[t] = h
    return jnp.stack(out)


def _birnn_loop(params, xs, backward_order="reverse", use_back=True):
    T = xs.shape[0]
    hf = _loop_states(params.W_xf, params.W_ff, params.b_f, xs, range(T))
    order = range(T - 1, -1, -1) if backward_order == "reverse" else range(T)
    hb = _loop_states(params.W_xb, params.W_bb, params.b_b, xs, order)
    ys = hf @ params.W_fy.T + params.b_y[None, :]
    if use_back:
        ys = ys + hb @ params.W_by.T
    return hf, hb, ys


def test_birnn_states(capsys):
    _passes(checks.birnn_states, _birnn_loop, capsys)
    _passes(checks.birnn_states, ra.birnn_forward, capsys)
    _fails(checks.birnn_states, lambda p, x: _birnn_loop(p, x, backward_order="forward"), "t = T")
    _fails(checks.birnn_states, lambda p, x: _birnn_loop(p, x, use_back=False), "W_by")

    def flipped(p, x):
        hf, hb, ys = _birnn_loop(p, x)
        return hf, hb[::-1], ys

    _fails(checks.birnn_states, flipped, "time order")


# ------------------------------------------------------------------------------ stacked


def _stacked_loop(params, xs, *, same_input=False):
    p = params.bs[0].shape[0]
    below, out = xs, []
    for W, b in zip(params.Ws, params.bs, strict=True):
        src = xs if same_input else below
        h, hs = jnp.zeros(p), []
        for t in range(xs.shape[0]):
            h = jnp.tanh(W @ jnp.concatenate([src[t], h]) + b)
            hs.append(h)
        below = jnp.stack(hs)
        out.append(below)
    return jnp.stack(out)


def test_stacked_states(capsys):
    _passes(checks.stacked_states, _stacked_loop, capsys)
    _passes(checks.stacked_states, lambda p, x: ra.stacked_forward(p, x)[0], capsys)
    _fails(checks.stacked_states, lambda p, x: _stacked_loop(p, x, same_input=True), "below")
    _fails(checks.stacked_states, lambda p, x: _stacked_loop(p, x)[-1], "shape")


# ------------------------------------------------------------------------------ layer norm


@jax.jit
def _ln_vjp(x, gamma, dy):
    _, vjp = jax.vjp(transformer.layer_norm, x, gamma, jnp.zeros_like(gamma))
    return vjp(dy)


def test_layer_norm_grads(capsys):
    _passes(checks.layer_norm_grads, _ln_vjp, capsys)
    _passes(checks.layer_norm_grads, transformer.layer_norm_backward, capsys)

    def constant_stats(x, gamma, dy):
        dx, dg, db = _ln_vjp(x, gamma, dy)
        s = jnp.sqrt(x.var(-1, keepdims=True) + 1e-5)
        return gamma[None, :] * dy / s, dg, db

    _fails(checks.layer_norm_grads, constant_stats, "constants")

    def swapped(x, gamma, dy):
        dx, dg, db = _ln_vjp(x, gamma, dy)
        return dx, db, db

    _fails(checks.layer_norm_grads, swapped, "dbeta")


# ------------------------------------------------------------------------------ tagging loss


def _tag_loop(logits, labels, mask):
    total, count = 0.0, 0.0
    lp = np.asarray(jax.nn.log_softmax(logits, axis=-1))
    for i in range(lp.shape[0]):
        for t in range(lp.shape[1]):
            total -= float(mask[i, t]) * lp[i, t, int(labels[i, t])]
            count += float(mask[i, t])
    return total / count


def test_tagging_loss(capsys):
    _passes(checks.tagging_loss, _tag_loop, capsys)
    _passes(checks.tagging_loss, ra.tagging_loss, capsys)
    _fails(checks.tagging_loss, lambda y, j, m: ra.tagging_loss(y, j), "padded")
    _fails(checks.tagging_loss, lambda y, j, m: ra.tagging_loss(y, j, m) * jnp.sum(m), "divide")


# ------------------------------------------------------------------------------ ESN blocks


_esn_states = jax.jit(rnn.esn_states)  # one compile per shape, not one per call


def _esn_right(esns, xs, targets, ridge, *, mode="right"):
    joint_states = _esn_states(ra.block_diagonal_esn(esns), xs)
    joint = rnn.readout_predict(joint_states, rnn.ridge_readout(joint_states, targets, ridge))
    preds = []
    for e in esns:
        S = _esn_states(e, xs)
        preds.append(rnn.readout_predict(S, rnn.ridge_readout(S, targets, ridge)))
    total = sum(preds)
    if mode == "sum":
        return joint, total
    if mode == "joint twice":
        return joint, joint
    return joint, total / len(preds)


def test_block_esn_predictions(capsys):
    _passes(checks.block_esn_predictions, _esn_right, capsys)
    _fails(checks.block_esn_predictions, lambda *a: _esn_right(*a, mode="sum"), "average")
    _fails(checks.block_esn_predictions, lambda *a: _esn_right(*a, mode="joint twice"), "joint")


# ------------------------------------------------------------------------------ standardize


def _std_np(x, axis):
    x = np.asarray(x, np.float64)
    return (x - x.mean(axis, keepdims=True)) / np.sqrt(x.var(axis, keepdims=True) + 1e-5)


def test_standardize(capsys):
    _passes(checks.standardize, _std_np, capsys)
    _fails(checks.standardize, lambda x, axis: _std_np(x, 1 - axis), "other axis")

    def sample_std(x, axis):
        x = np.asarray(x, np.float64)
        m = x.mean(axis, keepdims=True)
        return (x - m) / np.sqrt(x.var(axis, ddof=1, keepdims=True) + 1e-5)

    _fails(checks.standardize, sample_std, "population")


# ------------------------------------------------------------------------------ AR coefficients


def _ar_loop(W_xh, W_hh, W_hy, k):
    return np.array(
        [float((W_hy @ np.linalg.matrix_power(np.asarray(W_hh), j) @ W_xh)[0, 0]) for j in range(k)]
    )


def test_ar_coefficients(capsys):
    _passes(checks.ar_coefficients, _ar_loop, capsys)
    _passes(checks.ar_coefficients, lambda a, b, c, k: ra.ar_coefficients(a, b, c, k)[:, 0, 0],
            capsys)  # fmt: skip
    _fails(checks.ar_coefficients, lambda a, b, c, k: _ar_loop(a, b, c, k + 1)[1:], "W_hh^0")
    _fails(checks.ar_coefficients, lambda a, b, c, k: _ar_loop(a, b, c, k)[::-1], "newest")
