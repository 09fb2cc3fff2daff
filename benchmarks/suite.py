"""The benchmark suite behind ``make bench``: course_lib against NumPy and against the peers.

    make bench                                   # writes benchmarks/RESULTS.md
    <bench python> benchmarks/suite.py [--quick] [--out benchmarks/RESULTS.md]

``make bench`` runs this in ``.venv-bench``, a virtual environment that sees the course's
packages (a ``.pth`` file pointing at ``.venv``) and adds the benchmark-only peers pinned in
``benchmarks/requirements-bench.txt`` (PyTorch, CPU build; Flax). Without them the peer rows are
left out and the table says so.

Method, for every table: each variant runs ``--steps`` training steps per round after a warm-up
that compiles; the variants of one table run interleaved, round after round, in this one
process, so that they share the machine's state; the figure is the median over ``--rounds``
rounds with the min-max, and the ratio is against the table's baseline (> 1: slower than it).

Sections: the machine's practical limit (a 2048³ float32 matrix product, in FLOP/s); the MLP
training step (784-256-256-10, ReLU, batch 128, SGD with momentum) in course_lib, NumPy written
by hand, Flax + optax and PyTorch, with achieved FLOP/s as a fraction of the limit; every
optimizer's update step in course_lib against optax's on the MLP's parameters; the LeNet and
char-LSTM training steps against Flax and PyTorch (the models of ``bench_cnn.py`` and
``bench_char_lstm.py``).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import optax  # noqa: E402

from course_lib import mlp, optim  # noqa: E402

try:  # the peers are optional: rows are left out without them
    import torch
except ImportError:  # pragma: no cover
    torch = None
try:
    import flax
    import flax.linen as nn
except ImportError:  # pragma: no cover
    flax = nn = None

Runner = Callable[[int], None]  # run n steps and wait for the result


# ------------------------------------------------------------------------------ timing


def interleaved(runners: dict[str, Runner], steps: int, rounds: int) -> dict[str, list[float]]:
    """Seconds per step of each runner: warm up all, then ``rounds`` interleaved rounds."""
    for run in runners.values():
        run(max(2, steps // 4))  # compiles, allocates, fills caches
    times: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(rounds):
        for name, run in runners.items():
            start = time.perf_counter()
            run(steps)
            times[name].append((time.perf_counter() - start) / steps)
    return times


def table(
    times: dict[str, list[float]],
    baseline: str,
    *,
    per_step: int | None = None,
    unit: str = "examples/s",
    flops: float | None = None,
    peak: float | None = None,
) -> list[str]:
    """Markdown rows: median ms (min-max), throughput, achieved FLOP/s, ratio to the baseline."""
    head = ["variant", "ms/step, median (min–max)"]
    if per_step:
        head.append(unit)
    if flops and peak:
        head.append("GFLOP/s (share of the limit)")
    head.append(f"× {baseline}")
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    base = statistics.median(times[baseline])
    for name, ts in times.items():
        med = statistics.median(ts)
        row = [name, f"{med * 1e3:.3g} ({min(ts) * 1e3:.3g}–{max(ts) * 1e3:.3g})"]
        if per_step:
            row.append(f"{per_step / med:,.0f}")
        if flops and peak:
            row.append(f"{flops / med / 1e9:.0f} ({flops / med / peak:.0%})")
        row.append(f"{med / base:.2f}")
        lines.append("| " + " | ".join(row) + " |")
    return lines


# ------------------------------------------------------------------------------ matmul


def matmul_section(rounds: int) -> tuple[list[str], float]:
    n = 2048
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    b = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
    ja, jb = jnp.asarray(a), jnp.asarray(b)
    mm = jax.jit(jnp.matmul)
    runners: dict[str, Runner] = {
        "JAX (XLA)": lambda k: [mm(ja, jb).block_until_ready() for _ in range(k)] and None,
        "NumPy": lambda k: [a @ b for _ in range(k)] and None,
    }
    if torch is not None:
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        runners["PyTorch"] = lambda k: [ta @ tb for _ in range(k)] and None
    times = interleaved(runners, 3, rounds)
    flops = 2.0 * n**3
    peak = max(flops / min(ts) for ts in times.values())  # the best round of the best library
    lines = table(times, "JAX (XLA)", flops=flops, peak=peak)
    return lines, peak


# ------------------------------------------------------------------------------ MLP

SIZES = (784, 256, 256, 10)
BATCH = 128
LR, MOMENTUM = 0.01, 0.9


def _mlp_data(steps: int):
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((steps, BATCH, SIZES[0]), dtype=np.float32)
    ys = rng.integers(0, SIZES[-1], (steps, BATCH))
    return xs, ys


def _step_runner(step, params, opt_state, batches) -> Runner:
    """Run a jitted ``step(params, opt_state, x, y) -> (params, opt_state, loss)`` over
    ``batches`` (a list of ``(x, y)``), carrying the state from call to call."""
    state = {"p": params, "o": opt_state}

    def run(n: int) -> None:
        p, o = state["p"], state["o"]
        for i in range(n):
            p, o, v = step(p, o, *batches[i % len(batches)])
        v.block_until_ready()
        state["p"], state["o"] = p, o

    return run


def _flax_runner(model, tx, params, batches) -> Runner:
    """A Flax model's softmax cross-entropy step with an optax optimizer, the usual way."""

    @jax.jit
    def step(p, o, x, y):
        def loss(p):
            return optax.softmax_cross_entropy_with_integer_labels(model.apply(p, x), y).mean()

        value, grads = jax.value_and_grad(loss)(p)
        updates, o = tx.update(grads, o, p)
        return optax.apply_updates(p, updates), o, value

    return _step_runner(step, params, tx.init(params), batches)


def _batches(xs, ys) -> list:
    return [(jnp.asarray(x), jnp.asarray(y)) for x, y in zip(xs, ys, strict=True)]


def _mlp_course(steps: int) -> Runner:
    params = mlp.init(SIZES, key=jax.random.key(0), scheme="he")
    tx = optim.sgd(LR, MOMENTUM)

    @jax.jit
    def step(p, o, x, y):
        value, grads = jax.value_and_grad(mlp.loss)(p, x, y, "relu")
        updates, o = tx.update(grads, o, p)
        return optim.apply_updates(p, updates), o, value

    return _step_runner(step, params, tx.init(params), _batches(*_mlp_data(steps)))


def _mlp_course_scan(steps: int) -> Runner:
    """The same step, ``steps`` of them in one ``lax.scan`` (one dispatch per epoch)."""
    params = mlp.init(SIZES, key=jax.random.key(0), scheme="he")
    tx = optim.sgd(LR, MOMENTUM)
    state = {"p": params, "o": tx.init(params)}

    def body(carry, batch):
        p, o = carry
        value, grads = jax.value_and_grad(mlp.loss)(p, *batch, "relu")
        updates, o = tx.update(grads, o, p)
        return (optim.apply_updates(p, updates), o), value

    epoch = jax.jit(lambda p, o, xs, ys: jax.lax.scan(body, (p, o), (xs, ys)))
    xs, ys = (jnp.asarray(a) for a in _mlp_data(steps))

    def run(n: int) -> None:
        p, o = state["p"], state["o"]
        for _ in range(max(1, round(n / steps))):
            (p, o), values = epoch(p, o, xs, ys)
        values.block_until_ready()
        state["p"], state["o"] = p, o

    return run


def _mlp_numpy(steps: int) -> Runner:
    rng = np.random.default_rng(0)
    Ws = [
        (rng.standard_normal((i, o)) * np.sqrt(2.0 / i)).astype(np.float32)
        for i, o in zip(SIZES[:-1], SIZES[1:], strict=True)
    ]
    bs = [np.zeros(o, np.float32) for o in SIZES[1:]]
    vel = [np.zeros_like(w) for w in Ws] + [np.zeros_like(b) for b in bs]
    xs, ys = _mlp_data(steps)
    eye = np.eye(SIZES[-1], dtype=np.float32)

    def step(x, y):
        hs, h = [x], x
        for k, (W, b) in enumerate(zip(Ws, bs, strict=True)):
            a = h @ W + b
            h = np.maximum(a, 0) if k < len(Ws) - 1 else a
            hs.append(h)
        logits = hs[-1]
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        delta = (p - eye[y]) / len(y)
        grads_W, grads_b = [None] * len(Ws), [None] * len(Ws)
        for k in range(len(Ws) - 1, -1, -1):
            grads_W[k] = hs[k].T @ delta
            grads_b[k] = delta.sum(0)
            if k:
                delta = (delta @ Ws[k].T) * (hs[k] > 0)
        for i, (param, g) in enumerate(zip(Ws + bs, grads_W + grads_b, strict=True)):
            vel[i] *= MOMENTUM
            vel[i] += g
            param -= LR * vel[i]

    def run(n: int) -> None:
        for i in range(n):
            step(xs[i % steps], ys[i % steps])

    return run


def _mlp_flax(steps: int) -> Runner:
    class MLP(nn.Module):
        @nn.compact
        def __call__(self, x):
            for width in SIZES[1:-1]:
                x = nn.relu(nn.Dense(width)(x))
            return nn.Dense(SIZES[-1])(x)

    batches = _batches(*_mlp_data(steps))
    params = MLP().init(jax.random.key(0), batches[0][0])
    return _flax_runner(MLP(), optax.sgd(LR, MOMENTUM), params, batches)


def _mlp_torch(steps: int, threads: int) -> Runner:
    torch.manual_seed(0)
    layers: list = []
    for i, (d_in, d_out) in enumerate(zip(SIZES[:-1], SIZES[1:], strict=True)):
        layers.append(torch.nn.Linear(d_in, d_out))
        if i < len(SIZES) - 2:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    xs, ys = _mlp_data(steps)
    xs, ys = torch.from_numpy(xs), torch.from_numpy(ys)

    def run(n: int) -> None:
        torch.set_num_threads(threads)
        for i in range(n):
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(model(xs[i % steps]), ys[i % steps])
            loss.backward()
            opt.step()
        loss.item()

    return run


def mlp_section(steps: int, rounds: int, peak: float) -> list[str]:
    runners: dict[str, Runner] = {
        "course_lib (jitted step)": _mlp_course(steps),
        "course_lib (epoch in one lax.scan)": _mlp_course_scan(steps),
        "NumPy by hand": _mlp_numpy(steps),
    }
    if nn is not None:
        runners["Flax linen + optax (jitted step)"] = _mlp_flax(steps)
    if torch is not None:
        for threads in (1, 2):
            runners[f"PyTorch, {threads} thread{'s' * (threads > 1)}"] = _mlp_torch(steps, threads)
    times = interleaved(runners, steps, rounds)
    macs = sum(i * o for i, o in zip(SIZES[:-1], SIZES[1:], strict=True))
    # forward (one matmul per layer), backward: weight gradients for every layer and input
    # gradients for every layer but the first (nobody needs dL/dX)
    flops = 2.0 * BATCH * (2 * macs + macs - SIZES[0] * SIZES[1])
    ours = min(
        ("course_lib (jitted step)", "course_lib (epoch in one lax.scan)"),
        key=lambda k: statistics.median(times[k]),
    )
    return table(
        times, "course_lib (jitted step)", per_step=BATCH, flops=flops, peak=peak
    ) + _verdict(times, ours, target=2.5, against="PyTorch")


def _verdict(times, ours: str, *, target: float = 1.0, against: str = "") -> list[str]:
    peers = {k: v for k, v in times.items() if k != ours and against in k and "NumPy" not in k}
    if not peers:
        return ["", "(no peer installed: no verdict)"]
    mine = statistics.median(times[ours])
    best_name, best = min(((k, statistics.median(v)) for k, v in peers.items()), key=lambda t: t[1])
    speedup = best / mine
    ok = "reached" if speedup >= target else "NOT reached"
    return [
        "",
        f"Fastest peer{f' ({against})' if against else ''}: {best_name}; {ours} is "
        f"{speedup:.2f}× its speed (target ≥ {target:g}×: {ok}).",
    ]


# ------------------------------------------------------------------------------ per-example SGD


def _digits_with_bias():
    from course_lib import data

    d = data.digits()
    X = np.asarray(data.add_bias(d.X), np.float32)
    return X, np.asarray(d.y)


def sgd_section(rounds: int) -> list[str]:
    """One epoch of per-example SGD on the 1797 digits: the jitted scan vs a NumPy loop."""
    from course_lib import linear_models, perceptron

    X, labels = _digits_with_bias()
    y = np.where(labels % 2 == 0, 1.0, -1.0).astype(np.float32)
    n, d = X.shape
    Xj, yj, lj = jnp.asarray(X), jnp.asarray(y), jnp.asarray(labels)
    st = {"w": jnp.zeros(d), "W": jnp.zeros((10, d)), "wn": np.zeros(d, np.float32)}
    st["Wn"] = np.zeros((10, d), np.float32)

    def perceptron_jax(k: int) -> None:
        w = st["w"]
        for _ in range(k):
            w, mistakes = perceptron.epoch(w, Xj, yj, lr=1.0)
        mistakes.block_until_ready()
        st["w"] = w

    def perceptron_numpy(k: int) -> None:
        w = st["wn"]
        for _ in range(k):
            for i in range(n):
                if y[i] * (X[i] @ w) <= 0:
                    w += y[i] * X[i]

    def softmax_jax(k: int) -> None:
        for i in range(k):
            fit = linear_models.multiclass_fit(
                Xj, lj, loss="softmax", lr=0.01, lam=1e-4, epochs=1, key=jax.random.key(i),
                num_classes=10, W0=st["W"],
            )  # fmt: skip
            st["W"] = fit.W
        st["W"].block_until_ready()

    order = np.random.default_rng(0).permutation(n)

    def softmax_numpy(k: int) -> None:
        W = st["Wn"]
        for _ in range(k):
            for i in order:
                v = W @ X[i]
                p = np.exp(v - v.max())
                p /= p.sum()
                p[labels[i]] -= 1.0
                W *= 1 - 0.01 * 1e-4
                W -= 0.01 * np.outer(p, X[i])

    lines = []
    for name, ours, theirs in (
        ("perceptron (even vs odd)", perceptron_jax, perceptron_numpy),
        ("softmax regression (10 classes)", softmax_jax, softmax_numpy),
    ):
        times = interleaved({"course_lib": ours, "NumPy loop": theirs}, 2, rounds)
        a, b = statistics.median(times["course_lib"]), statistics.median(times["NumPy loop"])
        lines.append(
            f"| {name} | {a * 1e3:.3g} ms ({n / a:,.0f} ex/s) | {b * 1e3:.3g} ms "
            f"({n / b:,.0f} ex/s) | {b / a:.1f}× |"
        )
    return [
        "| model, one epoch of per-example SGD on 1797 digits | course_lib (jitted lax.scan) "
        "| NumPy loop | course_lib speed-up |",
        "| --- | --- | --- | --- |",
        *lines,
    ]


def script_section(script: str, *script_args: str) -> list[str]:
    """Run one of the other benchmark scripts (its own interleaved tables) and keep its output."""
    import subprocess

    python = ROOT / ".venv" / "bin" / "python"
    done = subprocess.run(
        [str(python if python.exists() else sys.executable), str(ROOT / "benchmarks" / script),
         *script_args],
        capture_output=True, text=True, cwd=ROOT, timeout=1800,
    )  # fmt: skip
    if done.returncode != 0:
        return [f"`{script}` failed:", "", "```", done.stderr[-2000:], "```"]
    return [line for line in done.stdout.splitlines() if not line.startswith("# ")]


def notebook_section() -> list[str]:
    """Each lecture notebook executed from scratch with the course kernel, one at a time."""
    import subprocess
    import tempfile

    jupyter = ROOT / ".venv" / "bin" / "jupyter"
    rows, total = [], 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for nb in sorted((ROOT / "notebooks").glob("ch*.ipynb")):
            start = time.perf_counter()
            done = subprocess.run(
                [str(jupyter), "nbconvert", "--to", "notebook", "--execute",
                 "--ExecutePreprocessor.kernel_name=dl-course",
                 "--ExecutePreprocessor.timeout=600", "--output-dir", tmp, str(nb)],
                capture_output=True, text=True, cwd=nb.parent,
            )  # fmt: skip
            seconds = time.perf_counter() - start
            total += seconds
            status = "" if done.returncode == 0 else " (FAILED)"
            rows.append(f"| {nb.name} | {seconds:.1f}{status} |")
    return [
        "| notebook | seconds (kernel start included) |",
        "| --- | --- |",
        *rows,
        f"| **all {len(rows)}** | **{total:.0f}** |",
    ]


# ------------------------------------------------------------------------------ optimizers


def _optimizer_pairs() -> dict[
    str, tuple[optim.GradientTransformation, optax.GradientTransformation]
]:
    return {
        "SGD": (optim.sgd(0.01), optax.sgd(0.01)),
        "momentum": (optim.sgd(0.01, 0.9), optax.sgd(0.01, 0.9)),
        "Nesterov": (optim.sgd(0.01, 0.9, nesterov=True), optax.sgd(0.01, 0.9, nesterov=True)),
        "AdaGrad": (optim.adagrad(0.01), optax.adagrad(0.01)),
        "RMSProp": (optim.rmsprop(0.01), optax.rmsprop(0.01)),
        "AdaDelta": (optim.adadelta(1.0), optax.adadelta(1.0)),
        "Adam": (optim.adam(0.001), optax.adam(0.001)),
    }


def _update_runner(tx, apply, params, grads) -> Runner:
    state = {"p": params, "o": tx.init(params)}

    @jax.jit
    def step(p, o, g):
        updates, o = tx.update(g, o, p)
        return apply(p, updates), o

    def run(n: int) -> None:
        p, o = state["p"], state["o"]
        for _ in range(n):
            p, o = step(p, o, grads)
        jax.block_until_ready(p)
        state["p"], state["o"] = p, o

    return run


def optimizer_section(steps: int, rounds: int) -> list[str]:
    params = mlp.init(SIZES, key=jax.random.key(0), scheme="he")
    grads = jax.tree.map(lambda x: 1e-3 * jnp.ones_like(x), params)
    lines = [
        "| optimizer | course_lib µs/step | optax µs/step | course_lib / optax |",
        "| --- | --- | --- | --- |",
    ]
    for name, (ours, theirs) in _optimizer_pairs().items():
        times = interleaved(
            {
                "ours": _update_runner(ours, optim.apply_updates, params, grads),
                "optax": _update_runner(theirs, optax.apply_updates, params, grads),
            },
            steps,
            rounds,
        )
        a, b = statistics.median(times["ours"]), statistics.median(times["optax"])
        lines.append(f"| {name} | {a * 1e6:.1f} | {b * 1e6:.1f} | {a / b:.2f} |")
    return lines


# ------------------------------------------------------------------------------ CNN, LSTM


def cnn_section(steps: int, rounds: int) -> list[str]:
    import bench_cnn

    out: list[str] = []
    for size, batch in ((8, 64), (28, 128)):
        runners: dict[str, Runner] = {}
        for name, make in (
            ("course_lib cnn.train_step", lambda s, b: _cnn_jax(bench_cnn, s, b, steps)),
            ("Flax linen + optax", lambda s, b: _cnn_flax(s, b, steps) if nn else None),
            ("PyTorch, 2 threads", lambda s, b: _cnn_torch(bench_cnn, s, b, steps, 2)),
            ("PyTorch, 1 thread", lambda s, b: _cnn_torch(bench_cnn, s, b, steps, 1)),
        ):
            runner = make(size, batch)
            if runner is not None:
                runners[name] = runner
        times = interleaved(runners, steps, rounds)
        out += [f"**{size}×{size} images, batch {batch}**", ""]
        out += table(times, "course_lib cnn.train_step", per_step=batch)
        out += _verdict(times, "course_lib cnn.train_step") + [""]
    return out


def _cnn_jax(bench_cnn, size, batch, steps) -> Runner:
    from course_lib import cnn

    r = bench_cnn._JaxRunner(cnn.train_step, "step", size, batch, steps, jax.random.key(0))
    r.prepare()
    return lambda n: _repeat(r, n, steps)


def _cnn_torch(bench_cnn, size, batch, steps, threads) -> Runner | None:
    if torch is None:
        return None
    r = bench_cnn._TorchRunner(size, batch, steps, 0, threads)
    return lambda n: _repeat(r, n, steps)


def _repeat(r, n: int, steps: int) -> None:
    for _ in range(max(1, round(n / steps))):
        r.run()


def _cnn_flax(size, batch, steps) -> Runner:
    class LeNet(nn.Module):
        @nn.compact
        def __call__(self, x):
            for channels in (16, 32):
                x = nn.relu(nn.Conv(channels, (3, 3), padding=1)(x))
                n, h, w, c = x.shape
                x = x.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))
            x = nn.relu(nn.Dense(64)(x.reshape(x.shape[0], -1)))
            return nn.Dense(10)(x)

    k1, k2, k3 = jax.random.split(jax.random.key(0), 3)
    xs = jax.random.uniform(k2, (steps, batch, size, size, 1))
    ys = jax.random.randint(k3, (steps, batch), 0, 10)
    batches = _batches(xs, ys)
    params = LeNet().init(k1, batches[0][0])
    return _flax_runner(LeNet(), optax.adam(3e-3), params, batches)


def lstm_section(steps: int, rounds: int) -> list[str]:
    import bench_char_lstm

    from course_lib import data
    from course_lib import language_model as lm

    args = argparse.Namespace(hidden=128, seq=32, batch=64)
    text = data.english_text()
    vocab = lm.build_vocab(text)
    ids = lm.encode(vocab, text)
    runners: dict[str, Runner] = {
        "course_lib language_model.train_step": bench_char_lstm._jax_runner(ids, vocab.size, args)
    }
    if nn is not None:
        runners["Flax linen OptimizedLSTMCell + optax"] = _lstm_flax(ids, vocab.size, args)
    if torch is not None:
        for threads in (2, 1):
            run = bench_char_lstm._torch_runner(ids, vocab.size, args)

            def threaded(n: int, run=run, threads=threads) -> None:
                torch.set_num_threads(threads)
                run(n)

            runners[f"PyTorch nn.LSTM, {threads} thread{'s' * (threads > 1)}"] = threaded
    times = interleaved(runners, steps, rounds)
    base = "course_lib language_model.train_step"
    return table(times, base, per_step=args.batch * args.seq, unit="characters/s") + _verdict(
        times, base
    )


def _lstm_flax(ids, V: int, args) -> Runner:
    from course_lib import language_model as lm

    class CharLSTM(nn.Module):
        @nn.compact
        def __call__(self, x):  # (B, T) int
            h = nn.RNN(nn.OptimizedLSTMCell(args.hidden))(jax.nn.one_hot(x, V))
            return nn.Dense(V)(h)

    batches = [
        lm.text_windows(ids, key=jax.random.key(i), batch_size=args.batch, seq_len=args.seq)
        for i in range(8)
    ]
    params = CharLSTM().init(jax.random.key(0), batches[0][0])
    tx = optax.chain(optax.clip_by_global_norm(5.0), optax.adam(1e-3))
    return _flax_runner(CharLSTM(), tx, params, batches)


# ------------------------------------------------------------------------------ main


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RESULTS.md")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="fewer steps, for a smoke test")
    args = parser.parse_args(argv)
    steps = 8 if args.quick else 40
    rounds = 2 if args.quick else args.rounds
    started = time.monotonic()
    versions = {
        "python": platform.python_version(),
        "jax": jax.__version__,
        "numpy": np.__version__,
        "optax": optax.__version__,
        "flax": flax.__version__ if flax else "not installed",
        "torch": torch.__version__ if torch else "not installed",
    }
    lines = [
        "# Benchmarks",
        "",
        f"Generated by `make bench` (benchmarks/suite.py) on {datetime.date.today()}: "
        f"{_cpu_model()}, {os.cpu_count()} CPUs; "
        + ", ".join(f"{k} {v}" for k, v in versions.items())
        + ".",
        "",
        f"Every table: variants interleaved in one process, {rounds} rounds of {steps} steps "
        "after a warm-up, median (min–max); the last column is the ratio to the table's "
        "baseline (> 1: slower).",
        "",
    ]
    print("matmul ...", file=sys.stderr)
    mm, peak = matmul_section(rounds)
    lines += ["## The machine's practical limit: 2048³ float32 matrix product", "", *mm, ""]
    lines += [
        f"Practical limit: **{peak / 1e9:.0f} GFLOP/s**, the best round of the fastest library; "
        "the shares below are of this figure.",
        "",
    ]
    print("MLP ...", file=sys.stderr)
    lines += ["## MLP 784-256-256-10, ReLU, batch 128, SGD with momentum", ""]
    lines += [*mlp_section(steps, rounds, peak), ""]
    print("optimizers ...", file=sys.stderr)
    lines += ["## One optimizer update on the MLP's parameters (235k), jitted: vs optax", ""]
    lines += [*optimizer_section(steps * 5, rounds), ""]
    print("CNN ...", file=sys.stderr)
    lines += ["## LeNet training step (Adam)", "", *cnn_section(steps, rounds)]
    print("LSTM ...", file=sys.stderr)
    lines += ["## Character-LSTM training step (V = 103, hidden 128, 64 × 32 characters)", ""]
    lines += [*lstm_section(max(4, steps // 2), rounds), ""]
    print("per-example SGD ...", file=sys.stderr)
    lines += ["## Per-example SGD: the jitted scan against NumPy", ""]
    lines += [*sgd_section(rounds), ""]
    if not args.quick:
        print("word2vec ...", file=sys.stderr)
        lines += ["## Word2vec (SGNS) against NumPy (benchmarks/bench_word2vec.py)", ""]
        lines += [*script_section("bench_word2vec.py"), ""]
        print("widgets ...", file=sys.stderr)
        lines += ["## Widget latency (benchmarks/bench_widgets.py)", ""]
        lines += [*script_section("bench_widgets.py"), ""]
        print("notebooks ...", file=sys.stderr)
        lines += ["## The whole course: each lecture notebook, executed alone", ""]
        lines += [*notebook_section(), ""]
    lines += [f"Suite run time: {time.monotonic() - started:.0f} s.", ""]
    text = "\n".join(lines)
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
