"""course_lib.checks.seq2seq: each check passes a right answer and fails plausible mistakes.

The right answers here are written independently of the solutions notebook (NumPy loops where
the notebook uses jnp, the library where the notebook writes the decoding loop out).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import checks, seq2seq
from course_lib.checks import CheckFailed

START, END, PAD = seq2seq.START, seq2seq.END, seq2seq.PAD


def _stub(*args):
    raise NotImplementedError("Exercise: replace this with your code")


ALL = [
    checks.decoder_inputs,
    checks.teacher_forced_loss,
    checks.greedy_decode,
    checks.recommender_scores,
    checks.copy_targets,
    checks.top_hashtags,
    checks.code_cosine,
]


@pytest.mark.parametrize("check", ALL)
def test_every_check_says_not_implemented_for_the_stub(check):
    with pytest.raises(CheckFailed, match="not implemented yet"):
        check(_stub)


def _passes(check, fn, capsys):
    check(fn)
    assert "✔" in capsys.readouterr().out


def _fails(check, fn, match):
    with pytest.raises(CheckFailed, match=match):
        check(fn)


# ------------------------------------------------------------------------------ decoder inputs


def _shift_loop(targets):
    t = np.asarray(targets)
    out = np.empty_like(t)
    for i in range(t.shape[0]):
        out[i, 0] = START
        for j in range(1, t.shape[1]):
            out[i, j] = t[i, j - 1]
    return out


def test_decoder_inputs(capsys):
    _passes(checks.decoder_inputs, _shift_loop, capsys)
    _passes(checks.decoder_inputs, seq2seq.shift_right, capsys)
    _fails(checks.decoder_inputs, lambda t: t, "not the targets themselves")
    _fails(checks.decoder_inputs, lambda t: jnp.roll(t, -1, axis=1).at[:, -1].set(START), "left")

    def too_long(t):
        return jnp.concatenate([jnp.full((t.shape[0], 1), START), t], 1)

    _fails(checks.decoder_inputs, too_long, "drop the last")


# ------------------------------------------------------------------------------ loss


def _loss_loop(logits, targets, mask):
    logits, targets, mask = (np.asarray(a, np.float64) for a in (logits, targets, mask))
    total = count = 0.0
    for i in range(logits.shape[0]):
        for t in range(logits.shape[1]):
            if mask[i, t]:
                z = logits[i, t]
                total += np.log(np.exp(z - z.max()).sum()) + z.max() - z[int(targets[i, t])]
                count += 1
    return total / count


def _ce(logits, targets):
    logp = jax.nn.log_softmax(logits, axis=-1)
    return -jnp.take_along_axis(logp, targets[..., None], axis=-1)[..., 0]


def test_teacher_forced_loss(capsys):
    _passes(checks.teacher_forced_loss, _loss_loop, capsys)
    _fails(checks.teacher_forced_loss, lambda lg, t, m: _ce(lg, t).mean(), "mask")
    _fails(checks.teacher_forced_loss, lambda lg, t, m: (_ce(lg, t) * m).sum(), "divide")

    def per_sequence(lg, t, m):
        return ((_ce(lg, t) * m).sum(1) / m.sum(1)).mean()

    _fails(checks.teacher_forced_loss, per_sequence, "not per sequence")


# ------------------------------------------------------------------------------ greedy


def test_greedy_decode(capsys):
    def library(params, src, length):
        return seq2seq.decode(params, src, length)[0]

    def no_stop(params, src, length):
        s = seq2seq.bridge(params, seq2seq.encode(params, src, length))
        tok, out = START, []
        for _ in range(src.shape[0] + 1):
            s, logits = seq2seq.decoder_step(params, s, jnp.asarray(tok))
            tok = int(jnp.argmax(logits))
            out.append(tok)
        return np.array(out)

    def from_code(params, src, length):  # forgets the link W_es
        s = seq2seq.encode(params, src, length)
        tok, out, done = START, [], False
        for _ in range(src.shape[0] + 1):
            s, logits = seq2seq.decoder_step(params, s, jnp.asarray(tok))
            tok = int(jnp.argmax(logits))
            out.append(PAD if done else tok)
            done = done or tok == END
        return np.array(out)

    _passes(checks.greedy_decode, library, capsys)
    _fails(checks.greedy_decode, no_stop, "PAD")
    _fails(checks.greedy_decode, from_code, "wrong value")


# ------------------------------------------------------------------------------ Ex 7.3


def _rec_loop(items, W_xh, W_hh, W_hy):
    W_xh, W_hh, W_hy = (np.asarray(a, np.float64) for a in (W_xh, W_hh, W_hy))
    h = np.zeros(W_hh.shape[0])
    for i in np.asarray(items):
        pre = W_xh[int(i)].copy()
        for k in range(W_hh.shape[0]):
            pre += h[k] * W_hh[k]
        h = np.tanh(pre)
    return h @ W_hy


def test_recommender_scores(capsys):
    _passes(checks.recommender_scores, _rec_loop, capsys)
    _fails(checks.recommender_scores, lambda it, a, b, c: jnp.tanh(a[it[-1]]) @ c, "only the last")

    def no_tanh(items, W_xh, W_hh, W_hy):
        h = jnp.zeros(W_hh.shape[0])
        for i in items:
            h = W_xh[i] + h @ W_hh
        return h @ W_hy

    _fails(checks.recommender_scores, no_tanh, "tanh")


# ------------------------------------------------------------------------------ Ex 7.7


def _copy_loop(src, length):
    src, length = np.asarray(src), np.asarray(length)
    out = np.full((src.shape[0], src.shape[1] + 1), PAD)
    for i, n in enumerate(length):
        out[i, :n] = src[i, :n]
        out[i, n] = END
    return out


def test_copy_targets(capsys):
    _passes(checks.copy_targets, _copy_loop, capsys)
    _fails(checks.copy_targets, lambda s, n: seq2seq.make_batch(s, n).dec_tgt, "reversal")
    _fails(checks.copy_targets, lambda s, n: s, "one more position")
    _fails(checks.copy_targets,
           lambda s, n: jnp.where(jnp.arange(s.shape[1] + 1)[None, :] < n[:, None],
                                  jnp.pad(s, ((0, 0), (0, 1))), PAD), "END")  # fmt: skip


# ------------------------------------------------------------------------------ Ex 7.8


def _tags_np(h, W, b, k):
    z = np.asarray(h, np.float64) @ np.asarray(W, np.float64) + np.asarray(b, np.float64)
    p = np.exp(z - z.max())
    p /= p.sum()
    order = sorted(range(len(p)), key=lambda i: -p[i])[:k]
    return np.array(order), p[order]


def test_top_hashtags(capsys):
    _passes(checks.top_hashtags, _tags_np, capsys)

    def raw_scores(h, W, b, k):
        z = h @ W + b
        order = jnp.argsort(-z)[:k]
        return order, z[order]

    def ascending(h, W, b, k):
        idx, p = _tags_np(h, W, b, k)
        return idx[::-1], p[::-1]

    _fails(checks.top_hashtags, raw_scores, "raw scores")
    _fails(checks.top_hashtags, ascending, "decreasing")


# ------------------------------------------------------------------------------ Ex 7.10


def test_code_cosine(capsys):
    def loop(a, b):
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        return np.array([x @ y / np.sqrt((x @ x) * (y @ y)) for x, y in zip(a, b, strict=True)])

    _passes(checks.code_cosine, loop, capsys)
    _fails(checks.code_cosine, lambda a, b: jnp.sum(a * b, axis=1), "dot product")
    _fails(checks.code_cosine, lambda a, b: 1 - jnp.asarray(loop(a, b)), "distance")
    _fails(checks.code_cosine, lambda a, b: (a @ b.T) / jnp.outer(
        jnp.linalg.norm(a, axis=1), jnp.linalg.norm(b, axis=1)), "one number per pair")  # fmt: skip
