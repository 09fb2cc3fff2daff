"""How fast is the character-level LSTM's training step, and how does it compare with PyTorch?

    .venv/bin/python benchmarks/bench_char_lstm.py [--hidden 128 --seq 32 --batch 64 --steps 50]
    <python with torch==2.13.0> benchmarks/bench_char_lstm.py   # adds PyTorch nn.LSTM

Times one training step of :func:`course_lib.language_model.train_step` (one-hot input, fused
``[x, h] @ W`` LSTM cell in a ``lax.scan``, softmax readout, BPTT, global-norm clipping at 5,
Adam) on random windows of ``data.english_text()``, at the size the lecture notebook trains
(V = 103, p = 128, 32 characters x 64 windows by default). When ``torch`` is importable, the
same model in PyTorch (``nn.LSTM`` on one-hot inputs, ``nn.Linear`` readout,
``clip_grad_norm_``, ``torch.optim.Adam``) is timed in the same process, interleaved with ours,
and reported as a ratio against our step. Compile/warm-up steps are not timed. Prints a
Markdown table: median ms/step (min-max over ``--repeats`` blocks), characters/s and
sequences/s. On a loaded 2-core machine PyTorch's OpenMP threads suffer far more than XLA's
from other processes: compare ``--torch-threads 1`` and re-measure on an idle machine.

Other forms of the same step (:func:`forms`, timed by ``make bench``; :func:`check_forms` asserts
that their losses and gradients equal the library's):

- ``one-hot product in the loop``: the library's form before it adopted the row lookup: every
  step multiplies the concatenated ``[x_t, h_{t-1}]`` (one-hot ``x_t``) by the whole ``W``;
- ``hand-written BPTT``: the library's row lookup, with a ``jax.custom_vjp`` whose backward
  loop carries only ``(dh, dc)`` and stacks the gate gradients; the weight gradient
  ``sum_t h_{t-1}^T dz_t`` is then one ``(p, BT) @ (BT, 4p)`` product after the loop instead
  of ``T`` small ones inside it;
- ``+ sigmoid via tanh, unroll 4``: ``sigmoid(u) = (1 + tanh(u/2))/2`` (one transcendental
  instead of ``exp`` and a division) and ``lax.scan(..., unroll=4)``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from bench_cnn import _NumpyAdam, max_relative_error  # noqa: E402  (benchmarks/ is on the path)
from jax import lax  # noqa: E402

from course_lib import data, optim, rnn  # noqa: E402
from course_lib import language_model as lm  # noqa: E402

# ------------------------------------------------------------------ other forms of the step


def _sigmoid_tanh(u):
    return 0.5 * jnp.tanh(0.5 * u) + 0.5


def _gates(z, sigmoid):
    zi, zf, zo, zg = jnp.split(z, 4, axis=-1)
    return sigmoid(zi), sigmoid(zf), sigmoid(zo), jnp.tanh(zg)


def _recurrence(zx, W_hh, sigmoid, unroll):
    """Hidden states, cell states and gates over the input projections ``zx (T, B, 4p)``."""
    B, p = zx.shape[1], W_hh.shape[0]
    zero = jnp.zeros((B, p), zx.dtype)

    def step(state, z):
        h, c = state
        i, f, o, g = _gates(z + h @ W_hh, sigmoid)
        c = f * c + i * g
        h = o * jnp.tanh(c)
        return (h, c), (h, c, jnp.concatenate([i, f, o, g], axis=-1))

    _, (hs, cs, gates) = lax.scan(step, (zero, zero), zx, unroll=unroll)
    return hs, cs, gates


def _bptt_recurrence(sigmoid, unroll):
    """The recurrence with a hand-written backward pass (BPTT, as in ch07a)."""

    @jax.custom_vjp
    def run(zx, W_hh):
        return _recurrence(zx, W_hh, sigmoid, unroll)[0]

    def fwd(zx, W_hh):
        hs, cs, gates = _recurrence(zx, W_hh, sigmoid, unroll)
        return hs, (hs, cs, gates, W_hh)

    def bwd(res, dhs):
        hs, cs, gates, W_hh = res
        p = hs.shape[-1]
        zero = jnp.zeros_like(hs[0])
        c_prev = jnp.concatenate([zero[None], cs[:-1]])

        def step(carry, xs):
            dh, dc = carry
            dh_out, c, cp, g4 = xs
            i, f, o, g = jnp.split(g4, 4, axis=-1)
            dh = dh + dh_out
            tc = jnp.tanh(c)
            dc = dc + dh * o * (1 - tc * tc)
            dz = jnp.concatenate(
                [
                    dc * g * i * (1 - i),
                    dc * cp * f * (1 - f),
                    dh * tc * o * (1 - o),
                    dc * i * (1 - g * g),
                ],
                axis=-1,
            )
            return (dz @ W_hh.T, dc * f), dz

        xs = (dhs, cs, c_prev, gates)
        _, dzs = lax.scan(step, (zero, zero), xs, reverse=True, unroll=unroll)
        h_prev = jnp.concatenate([zero[None], hs[:-1]])
        return dzs, h_prev.reshape(-1, p).T @ dzs.reshape(-1, 4 * p)

    run.defvjp(fwd, bwd)
    return run


def _readout_loss(params, hs, targets):
    """Mean cross-entropy of the softmax readout of hidden states ``hs (T, B, p)``."""
    logits = jnp.swapaxes(hs @ params.W_hy + params.b_y[None, None, :], 0, 1)
    logp = jax.nn.log_softmax(logits, axis=-1)
    return -jnp.mean(jnp.take_along_axis(logp, targets[..., None], axis=-1))


def _form_loss(V: int, recurrence):
    def loss(params, inputs, targets):
        W_x, W_hh = params.W[:V], params.W[V:]
        zx = jnp.take(W_x, inputs.T, axis=0) + params.b[None, None, :]  # one-hot rows: a gather
        hs = recurrence(zx, W_hh)
        return _readout_loss(params, hs, targets)

    return loss


def _form_step(loss):
    @jax.jit
    def step(params, opt_state, inputs, targets, learning_rate):
        value, grads = jax.value_and_grad(loss)(params, inputs, targets)
        grads = rnn.clip_by_norm(grads, lm.CLIP_NORM)
        updates, opt_state = optim.adam(learning_rate).update(grads, opt_state, params)
        return optim.apply_updates(params, updates), opt_state, value

    return step


def _one_hot_loss(params, inputs, targets):
    """The one-hot product ``[x_t, h_{t-1}] @ W`` at every step (rnn.lstm_cell, vmapped)."""
    V = params.W.shape[0] - params.W_hy.shape[0]
    xs = jax.nn.one_hot(inputs.T, V, dtype=params.W.dtype)  # (T, B, V)
    zero = jnp.zeros((inputs.shape[0], params.W_hy.shape[0]), params.W.dtype)
    cell = jax.vmap(rnn.lstm_cell, in_axes=(None, 0, 0))

    def step(state, x):
        state = cell(params, state, x)
        return state, state[0]

    _, hs = lax.scan(step, (zero, zero), xs)
    return _readout_loss(params, hs, targets)


def form_losses(V: int) -> dict[str, Callable]:
    """name -> loss(params, inputs, targets): the function ``lm.loss`` computes, other forms."""
    return {
        "one-hot product in the loop": _one_hot_loss,
        "hand-written BPTT": _form_loss(V, _bptt_recurrence(jax.nn.sigmoid, 1)),
        "hand-written BPTT + sigmoid via tanh, unroll 4": _form_loss(
            V, _bptt_recurrence(_sigmoid_tanh, 4)
        ),
    }


def forms(V: int) -> dict[str, Callable]:
    """name -> jitted ``step(params, opt_state, inputs, targets, lr)``, as ``lm.train_step``."""
    return {name: _form_step(loss) for name, loss in form_losses(V).items()}


def check_forms(ids, V: int, hidden: int = 32) -> None:
    """Every form's loss and gradient equal ``lm.loss``'s (float32 round-off)."""
    params = lm.init(key=jax.random.key(0), vocab_size=V, hidden_dim=hidden)
    x, y = lm.text_windows(ids, key=jax.random.key(1), batch_size=4, seq_len=9)
    want_value, want = jax.value_and_grad(lm.loss)(params, x, y)
    for name, loss in form_losses(V).items():
        value, got = jax.value_and_grad(loss)(params, x, y)
        err = max(float(jnp.max(jnp.abs(a - b))) for a, b in zip(want, got, strict=True))
        if abs(float(value) - float(want_value)) > 1e-5 or err > 1e-5:
            raise AssertionError(f"form {name!r} differs from lm.loss: gradient error {err:.2e}")


# ------------------------------------------------------------------ NumPy by hand


def _np_sigmoid(u):
    return 0.5 * np.tanh(0.5 * u) + 0.5  # = 1/(1 + e^-u), without overflow warnings


def numpy_lstm_loss_and_grads(params, inputs: np.ndarray, targets: np.ndarray, V: int):
    """:func:`course_lib.language_model.loss` and its gradient, by hand in NumPy: a loop over
    time forward (one-hot input products as row lookups), backpropagation through time in a
    loop backward. ``params``: ``(W, b, W_hy, b_y)`` as NumPy arrays."""
    W, b, W_hy, b_y = params
    W_x, W_hh = W[:V], W[V:]
    B, T = inputs.shape
    p = W_hh.shape[0]
    h, c = np.zeros((B, p), W.dtype), np.zeros((B, p), W.dtype)
    hs, cs, gates = [h], [c], []
    for t in range(T):
        z = W_x[inputs[:, t]] + h @ W_hh + b
        i, f, o = (_np_sigmoid(z[:, k * p : (k + 1) * p]) for k in range(3))
        g = np.tanh(z[:, 3 * p :])
        c = f * c + i * g
        h = o * np.tanh(c)
        hs.append(h)
        cs.append(c)
        gates.append((i, f, o, g))
    H = np.stack(hs[1:], axis=1)  # (B, T, p)
    z = H @ W_hy + b_y
    z = z - z.max(axis=-1, keepdims=True)
    prob = np.exp(z)
    prob /= prob.sum(axis=-1, keepdims=True)
    bi, ti = np.meshgrid(np.arange(B), np.arange(T), indexing="ij")
    loss = -np.mean(np.log(prob[bi, ti, targets]))
    dz = prob
    dz[bi, ti, targets] -= 1
    dz /= B * T
    dW_hy = H.reshape(-1, p).T @ dz.reshape(-1, V)
    db_y = dz.sum(axis=(0, 1))
    dH = dz @ W_hy.T
    dpre = np.empty((B, T, 4 * p), W.dtype)  # the gate pre-activations' gradients
    dh, dc = np.zeros((B, p), W.dtype), np.zeros((B, p), W.dtype)
    for t in range(T - 1, -1, -1):
        i, f, o, g = gates[t]
        tc = np.tanh(cs[t + 1])
        dh = dh + dH[:, t]
        dc = dc + dh * o * (1 - tc * tc)
        d = dpre[:, t]
        d[:, :p] = dc * g * i * (1 - i)
        d[:, p : 2 * p] = dc * cs[t] * f * (1 - f)
        d[:, 2 * p : 3 * p] = dh * tc * o * (1 - o)
        d[:, 3 * p :] = dc * i * (1 - g * g)
        dh, dc = d @ W_hh.T, dc * f
    # the weight gradients, summed over time and batch: one product each after the loop
    dpre = dpre.reshape(-1, 4 * p)
    h_prev = np.stack(hs[:-1], axis=1).reshape(-1, p)
    dW_hh = h_prev.T @ dpre
    dW_x = np.zeros_like(W_x)
    np.add.at(dW_x, inputs.reshape(-1), dpre)  # the one-hot products' transpose
    db = dpre.sum(axis=0)
    return loss, (np.concatenate([dW_x, dW_hh]), db, dW_hy, db_y)


def check_numpy_matches(ids, V: int, hidden: int = 16) -> float:
    """The NumPy gradient equals ``jax.grad(lm.loss)``; returns the largest relative error."""
    params = lm.init(key=jax.random.key(0), vocab_size=V, hidden_dim=hidden)
    x, y = lm.text_windows(ids, key=jax.random.key(1), batch_size=4, seq_len=9)
    want_loss, want = jax.value_and_grad(lm.loss)(params, x, y)
    loss, got = numpy_lstm_loss_and_grads(
        tuple(np.asarray(a) for a in params), np.asarray(x), np.asarray(y), V
    )
    err = max_relative_error(want, got)
    tol = 1e-4 if params.W.dtype == np.float32 else 1e-9
    if abs(float(want_loss) - float(loss)) > tol or err > tol:
        raise AssertionError(f"NumPy LSTM gradient differs from jax.grad: {err:.2e}")
    return err


def _numpy_runner(ids, V: int, args) -> Callable[[int], None]:
    """The step of :func:`_jax_runner` in NumPy: same batches, clipping at 5 and Adam."""
    start = lm.init(key=jax.random.key(0), vocab_size=V, hidden_dim=args.hidden)
    arrays = [np.array(a) for a in start]
    adam = _NumpyAdam(arrays, 1e-3)
    batches = [
        tuple(
            np.asarray(a)
            for a in lm.text_windows(
                ids, key=jax.random.key(i), batch_size=args.batch, seq_len=args.seq
            )
        )
        for i in range(8)
    ]

    def run(n: int) -> None:
        for i in range(n):
            x, y = batches[i % len(batches)]
            _, grads = numpy_lstm_loss_and_grads(arrays, x, y, V)
            norm = np.sqrt(sum(float(np.sum(g * g)) for g in grads))
            scale = min(1.0, lm.CLIP_NORM / norm)
            adam.update(arrays, [g * scale for g in grads])

    return run


def _jax_runner(ids, V: int, args, step=None) -> Callable[[int], None]:
    """Runs ``step`` (default: ``lm.train_step``) on 8 fixed random windows, in turn."""
    step = lm.train_step if step is None else step
    params = lm.init(key=jax.random.key(0), vocab_size=V, hidden_dim=args.hidden)
    opt = lm.adam_init(params)
    batches = [
        lm.text_windows(ids, key=jax.random.key(i), batch_size=args.batch, seq_len=args.seq)
        for i in range(8)
    ]
    state = {"params": params, "opt": opt}

    def run(n: int) -> None:
        p, o = state["params"], state["opt"]
        for i in range(n):
            x, y = batches[i % len(batches)]
            p, o, loss = step(p, o, x, y, 1e-3)
        loss.block_until_ready()
        state["params"], state["opt"] = p, o

    return run


def _torch_runner(ids, V: int, args) -> Callable[[int], None] | None:
    try:
        import torch
    except ImportError:
        return None
    torch.manual_seed(0)

    class CharLSTM(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = torch.nn.LSTM(V, args.hidden, batch_first=True)
            self.out = torch.nn.Linear(args.hidden, V)

        def forward(self, x):  # x: (B, T, V) one-hot
            h, _ = self.lstm(x)
            return self.out(h)  # (B, T, V)

    model = CharLSTM()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    eye = torch.eye(V)
    batches = []
    for i in range(8):
        x, y = lm.text_windows(ids, key=jax.random.key(i), batch_size=args.batch, seq_len=args.seq)
        xt = torch.as_tensor(np.array(x), dtype=torch.long)
        batches.append((eye[xt], torch.as_tensor(np.array(y), dtype=torch.long)))

    def run(n: int) -> None:
        for i in range(n):
            x, y = batches[i % len(batches)]
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(model(x).reshape(-1, V), y.reshape(-1))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()

    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--seq", type=int, default=32)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=30, help="steps per timed block")
    ap.add_argument("--repeats", type=int, default=5, help="timed blocks per framework")
    ap.add_argument(
        "--torch-threads", type=int, default=0, help="torch.set_num_threads (0: torch's default)"
    )
    args = ap.parse_args()

    text = data.english_text()
    vocab = lm.build_vocab(text)
    ids = lm.encode(vocab, text)
    check_forms(ids, vocab.size)
    runners = {"JAX (course_lib)": _jax_runner(ids, vocab.size, args)}
    for name, step in forms(vocab.size).items():
        runners[f"JAX form: {name}"] = _jax_runner(ids, vocab.size, args, step)
    torch_run = _torch_runner(ids, vocab.size, args)
    if torch_run is not None:
        import torch

        if args.torch_threads:
            torch.set_num_threads(args.torch_threads)
        name = f"PyTorch {torch.__version__} nn.LSTM (threads={torch.get_num_threads()})"
        runners[name] = torch_run
    for run in runners.values():  # warm-up: compile, first allocations, oneDNN kernel caches
        run(20)
    times: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(args.repeats):  # interleaved, so both see the same machine load
        for name, run in runners.items():
            t0 = time.perf_counter()
            run(args.steps)
            times[name].append((time.perf_counter() - t0) / args.steps * 1e3)

    chars = args.batch * args.seq
    cpu = platform.processor() or platform.machine()
    print(
        f"char-LSTM train step: V = {vocab.size}, hidden {args.hidden}, seq {args.seq}, "
        f"batch {args.batch} ({chars} characters/step); {cpu}, "
        f"{os.cpu_count()} CPUs, jax {jax.__version__}\n"
    )
    print("| implementation | ms/step (median, min-max) | characters/s | sequences/s | vs JAX |")
    print("| --- | --- | --- | --- | --- |")
    base = statistics.median(times["JAX (course_lib)"])
    for name, ts in times.items():
        med = statistics.median(ts)
        print(
            f"| {name} | {med:.2f} ({min(ts):.2f}-{max(ts):.2f}) | {chars / med * 1e3:,.0f} | "
            f"{args.batch / med * 1e3:,.0f} | {med / base:.2f}x |"
        )


if __name__ == "__main__":
    main()
