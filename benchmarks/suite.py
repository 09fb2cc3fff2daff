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
optimizer's update step in course_lib against optax's on the MLP's parameters; the MLP as the
course trains it (``mlp.train`` on the digits) against Flax and PyTorch; the LeNet and
char-LSTM training steps against Flax and PyTorch (the models of ``bench_cnn.py`` and
``bench_char_lstm.py``), with the other forms we tried and the library's step pinned to one
core; where each step spends its time (JAX's profiler, per compiled operation); the speed
targets, reached or not, with what it would take, written from this run's figures; and, unless
``--quick``, word2vec, the widgets' latency and each lecture notebook's Run All without JAX's
compilation cache, cold and warm (the scripts ``bench_word2vec.py``, ``bench_widgets.py``,
``bench_runall.py``, each in its own process).
"""

from __future__ import annotations

import argparse
import datetime
import functools
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

# Medians (seconds per step) of the tables, for the closing "targets" section: table -> variant
MEASURED: dict[str, dict[str, float]] = {}


def _keep(table_name: str, times: dict[str, list[float]]) -> None:
    MEASURED[table_name] = {k: statistics.median(v) for k, v in times.items()}


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


def pinned_to_one_core(run: Runner) -> Runner | None:
    """``run`` with every thread of this process (XLA's pool included) allowed one core only;
    the affinity is restored afterwards. None where the OS cannot pin threads."""
    if not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2:
        return None
    tasks = Path("/proc/self/task")

    def set_all(cpus) -> None:
        for tid in tasks.iterdir():
            try:
                os.sched_setaffinity(int(tid.name), cpus)
            except OSError:  # a thread that ended meanwhile
                pass

    def wrapped(n: int) -> None:
        before = os.sched_getaffinity(0)
        set_all({min(before)})
        try:
            run(n)
        finally:
            set_all(before)

    return wrapped


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


def _mlp_step(tx) -> Callable:
    """The jitted training step of a ReLU ``mlp`` with the course's optimizer ``tx``."""

    @jax.jit
    def step(p, o, x, y):
        value, grads = jax.value_and_grad(mlp.loss)(p, x, y, "relu")
        updates, o = tx.update(grads, o, p)
        return optim.apply_updates(p, updates), o, value

    return step


def _mlp_course(steps: int) -> Runner:
    params = mlp.init(SIZES, key=jax.random.key(0), scheme="he")
    tx = optim.sgd(LR, MOMENTUM)
    return _step_runner(_mlp_step(tx), params, tx.init(params), _batches(*_mlp_data(steps)))


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


def mlp_flops(sizes, batch: int) -> float:
    """Floating-point operations of one MLP training step: 2 per multiply-add of the forward
    products (one a layer) and of the backward ones (a weight gradient for every layer, an input
    gradient for every layer but the first: nobody needs dL/dX)."""
    macs = sum(i * o for i, o in zip(sizes[:-1], sizes[1:], strict=True))
    return 2.0 * batch * (3 * macs - sizes[0] * sizes[1])


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
    _keep("mlp", times)
    flops = mlp_flops(SIZES, BATCH)
    ours = min(
        ("course_lib (jitted step)", "course_lib (epoch in one lax.scan)"),
        key=lambda k: statistics.median(times[k]),
    )
    return table(
        times, "course_lib (jitted step)", per_step=BATCH, flops=flops, peak=peak
    ) + _verdict(times, ours, target=2.5, against="PyTorch")


# The MLP as the course trains it (ch03c): 64-64-10 ReLU on the digits' training split, full-batch
# gradient descent, 300 steps per mlp.train call.
COURSE_SIZES = (64, 64, 10)
COURSE_STEPS, COURSE_LR = 300, 0.5


@functools.cache
def _digits_split():
    from course_lib import data

    digits = data.digits()
    train, _ = data.train_test_split(digits, key=jax.random.key(2), test_fraction=0.25)
    return np.array(train.X, np.float32), np.array(train.y, np.int64)


def _course_mlp_train() -> Runner:
    """``mlp.train``: the 300 steps of one call are one jitted ``lax.scan``."""
    X, y = (jnp.asarray(a) for a in _digits_split())
    state = {"p": mlp.init(COURSE_SIZES, key=jax.random.key(0), scheme="he")}

    def run(n: int) -> None:
        p = state["p"]
        for _ in range(max(1, round(n / COURSE_STEPS))):
            p, curve = mlp.train(p, X, y, lr=COURSE_LR, steps=COURSE_STEPS, activation="relu")
        curve.block_until_ready()
        state["p"] = p

    return run


def _course_mlp_step() -> Runner:
    """The same gradient step, jitted alone and called from a Python loop."""
    X, y = (jnp.asarray(a) for a in _digits_split())
    tx = optim.sgd(COURSE_LR)
    params = mlp.init(COURSE_SIZES, key=jax.random.key(0), scheme="he")
    return _step_runner(_mlp_step(tx), params, tx.init(params), [(X, y)])


def _course_mlp_flax() -> Runner:
    class MLP(nn.Module):
        @nn.compact
        def __call__(self, x):
            return nn.Dense(COURSE_SIZES[2])(nn.relu(nn.Dense(COURSE_SIZES[1])(x)))

    X, y = (jnp.asarray(a) for a in _digits_split())
    params = MLP().init(jax.random.key(0), X)
    return _flax_runner(MLP(), optax.sgd(COURSE_LR), params, [(X, y)])


def _course_mlp_torch(threads: int) -> Runner:
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(COURSE_SIZES[0], COURSE_SIZES[1]),
        torch.nn.ReLU(),
        torch.nn.Linear(COURSE_SIZES[1], COURSE_SIZES[2]),
    )
    opt = torch.optim.SGD(model.parameters(), lr=COURSE_LR)
    X, y = (torch.from_numpy(a) for a in _digits_split())

    def run(n: int) -> None:
        torch.set_num_threads(threads)
        for _ in range(n):
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(model(X), y)
            loss.backward()
            opt.step()
        loss.item()

    return run


def course_mlp_section(rounds: int) -> list[str]:
    n = len(_digits_split()[1])
    runners: dict[str, Runner] = {
        "course_lib mlp.train (300 steps in one lax.scan)": _course_mlp_train(),
        "course_lib (jitted step, Python loop)": _course_mlp_step(),
    }
    if nn is not None:
        runners["Flax linen + optax (jitted step)"] = _course_mlp_flax()
    if torch is not None:
        for threads in (1, 2):
            runners[f"PyTorch, {threads} thread{'s' * (threads > 1)}"] = _course_mlp_torch(threads)
    times = interleaved(runners, COURSE_STEPS, rounds)
    _keep("course mlp", times)
    ours = "course_lib mlp.train (300 steps in one lax.scan)"
    return table(times, ours, per_step=n) + _verdict(times, ours, target=2.5, against="PyTorch")


def _verdict(times, ours: str, *, target: float = 1.0, against: str = "") -> list[str]:
    peers = {
        k: v
        for k, v in times.items()
        if against in k and not k.startswith(("course_lib", "form:", "NumPy"))
    }
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


def script_section(script: str, *script_args: str, timeout: float = 1800) -> list[str]:
    """Run one of the other benchmark scripts (its own interleaved tables) and keep its output."""
    import subprocess

    python = ROOT / ".venv" / "bin" / "python"
    done = subprocess.run(
        [str(python if python.exists() else sys.executable), str(ROOT / "benchmarks" / script),
         *script_args],
        capture_output=True, text=True, cwd=ROOT, timeout=timeout,
    )  # fmt: skip
    if done.returncode != 0:
        return [f"`{script}` failed:", "", "```", done.stderr[-2000:], "```"]
    return [line for line in done.stdout.splitlines() if not line.startswith("# ")]


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


FUSED_CNN = "course_lib cnn.train_steps (4 a call; cnn.fit(steps_per_call=4))"


def lenet_flops(size: int, batch: int, channels=(16, 32), hidden: int = 64, classes: int = 10):
    """Floating-point operations of one LeNet training step: 2 per multiply-add of every
    convolution and matrix product, forward (1×) and backward (weight gradient and input
    gradient, 2×; the first layer needs no input gradient). Elementwise work is not counted."""
    total, c_in, s = 0.0, 1, size
    for k, c_out in enumerate(channels):
        total += 2.0 * batch * s * s * 9 * c_in * c_out * (2 if k == 0 else 3)
        c_in, s = c_out, s // 2
    return total + 3 * 2.0 * batch * (s * s * c_in * hidden + hidden * classes)


def lstm_flops(batch: int, seq: int, hidden: int, vocab: int) -> float:
    """The same count for the char-LSTM step: the recurrent product ``h @ W_hh`` and the readout,
    forward and twice backward, at every step; the one-hot input products count as lookups."""
    return 3 * 2.0 * batch * seq * (hidden * 4 * hidden + hidden * vocab)


def cnn_section(steps: int, rounds: int, peak: float) -> list[str]:
    import bench_cnn

    from course_lib import cnn

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
        runners[FUSED_CNN] = _cnn_jax(bench_cnn, size, batch, steps, cnn.train_steps, "fused4")
        one_core = pinned_to_one_core(_cnn_jax(bench_cnn, size, batch, steps))
        if one_core is not None:
            runners["course_lib cnn.train_step, pinned to one core"] = one_core
        times = interleaved(runners, steps, rounds)
        _keep(f"cnn {size}", times)
        out += [f"**{size}×{size} images, batch {batch}**", ""]
        out += table(
            times,
            "course_lib cnn.train_step",
            per_step=batch,
            flops=lenet_flops(size, batch),
            peak=peak,
        )
        ours = min(
            ("course_lib cnn.train_step", FUSED_CNN),
            key=lambda k: statistics.median(times[k]),
        )
        out += _verdict(times, ours) + [""]
    return out


def cnn_forms_section(rounds: int) -> list[str]:
    """Every form of bench_cnn.py at 28×28, batch 128 (some are slow: 12 steps a round)."""
    import bench_cnn

    steps = 12
    runners: dict[str, Runner] = {}
    for name, (step, mode) in bench_cnn._jax_variants().items():
        if name in ("cnn.fit's inner step", "same step, jitted here"):
            continue
        runners[name] = _cnn_jax(bench_cnn, 28, 128, steps, step, mode)
    times = interleaved(runners, steps, rounds)
    _keep("cnn forms", times)
    return table(times, "cnn.train_step", per_step=128)


def _cnn_jax(bench_cnn, size, batch, steps, step=None, mode="step") -> Runner:
    from course_lib import cnn

    step = cnn.train_step if step is None else step
    return _repeated(bench_cnn._JaxRunner(step, mode, size, batch, steps, jax.random.key(0)), steps)


def _repeated(r, steps: int) -> Runner:
    """A Runner from one of bench_cnn's runners (``prepare()``, then ``run()``: ``steps``
    steps): as many whole runs as make ``n`` steps, each from a fresh copy of the initial state
    (the donating form deletes its inputs)."""

    def run(n: int) -> None:
        for _ in range(max(1, round(n / steps))):
            r.prepare()
            r.run()

    return run


def numpy_section(rounds: int) -> list[str]:
    """The LeNet and char-LSTM training steps against NumPy written by hand (each checked equal
    to ``jax.grad`` of the library's loss first)."""
    import bench_char_lstm
    import bench_cnn

    from course_lib import data
    from course_lib import language_model as lm

    bench_cnn.check_numpy_matches(8)
    bench_cnn.check_numpy_matches(28, 4)
    text = data.english_text()
    vocab = lm.build_vocab(text)
    ids = lm.encode(vocab, text)
    bench_char_lstm.check_numpy_matches(ids, vocab.size)
    rows: list[tuple[str, int, str, dict[str, list[float]]]] = []
    for size, batch, steps in ((8, 64, 20), (28, 128, 4)):
        runners = {
            "course_lib cnn.train_step": _cnn_jax(bench_cnn, size, batch, steps),
            "NumPy by hand": _repeated(
                bench_cnn._NumpyRunner(size, batch, steps, jax.random.key(0)), steps
            ),
        }
        times = interleaved(runners, steps, rounds)
        rows.append((f"LeNet, {size}×{size} images, batch {batch}", batch, "examples/s", times))
    args = argparse.Namespace(hidden=128, seq=32, batch=64)
    runners = {
        "course_lib language_model.train_step": bench_char_lstm._jax_runner(ids, vocab.size, args),
        "NumPy by hand": bench_char_lstm._numpy_runner(ids, vocab.size, args),
    }
    times = interleaved(runners, 4, rounds)
    rows.append(("char-LSTM, 64 × 32 characters", 64 * 32, "characters/s", times))
    out = []
    for title, per_step, unit, times in rows:
        out += [f"**{title}**", ""]
        out += table(times, next(iter(times)), per_step=per_step, unit=unit) + [""]
    return out


def _cnn_torch(bench_cnn, size, batch, steps, threads) -> Runner | None:
    if torch is None:
        return None
    return _repeated(bench_cnn._TorchRunner(size, batch, steps, 0, threads), steps)


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


def lstm_section(steps: int, rounds: int, peak: float) -> list[str]:
    import bench_char_lstm

    from course_lib import data
    from course_lib import language_model as lm

    args = argparse.Namespace(hidden=128, seq=32, batch=64)
    text = data.english_text()
    vocab = lm.build_vocab(text)
    ids = lm.encode(vocab, text)
    bench_char_lstm.check_forms(ids, vocab.size)
    runners: dict[str, Runner] = {
        "course_lib language_model.train_step": bench_char_lstm._jax_runner(ids, vocab.size, args)
    }
    for name, step in bench_char_lstm.forms(vocab.size).items():
        runners[f"form: {name}"] = bench_char_lstm._jax_runner(ids, vocab.size, args, step)
    one_core = pinned_to_one_core(bench_char_lstm._jax_runner(ids, vocab.size, args))
    if one_core is not None:
        runners["course_lib language_model.train_step, pinned to one core"] = one_core
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
    _keep("lstm", times)
    base = "course_lib language_model.train_step"
    flops = lstm_flops(args.batch, args.seq, args.hidden, vocab.size)
    return table(
        times, base, per_step=args.batch * args.seq, unit="characters/s", flops=flops, peak=peak
    ) + _verdict(times, base)


def transformer_section(steps: int, rounds: int) -> list[str]:
    """The ch10b character transformer's step against the same model in Flax nnx
    (``bench_transformer.py``: the parameters are copied across and the losses and attention
    outputs checked equal before timing)."""
    import bench_transformer

    V, batches, params = bench_transformer.setup()
    lines = []
    if bench_transformer.nnx is not None:
        got = bench_transformer.check_against_flax(V, params, batches[0])
        lines += [
            f"Same parameters in both: loss {got['loss']:.6f} (course_lib) and "
            f"{got['loss_flax']:.6f} (Flax); multi-head attention outputs agree to "
            f"{got['mha_rel_err']:.1e} (relative).",
            "",
        ]
    times = interleaved(bench_transformer.runners(V, params, batches), steps, rounds)
    _keep("transformer", times)
    base = "course_lib transformer_lm.train_step"
    b = bench_transformer
    return (
        lines
        + table(times, base, per_step=b.BATCH * b.SEQ, unit="characters/s")
        + _verdict(times, base)
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


# ------------------------------------------------------------------------------ targets


def _fastest(table_name: str, prefix: str) -> tuple[str, float]:
    rows = {k: v for k, v in MEASURED.get(table_name, {}).items() if k.startswith(prefix)}
    if not rows:
        return "", float("nan")
    name = min(rows, key=rows.get)
    return name, rows[name]


def _faster_forms() -> str:
    rows = MEASURED.get("cnn forms", {})
    base = rows.get("cnn.train_step", float("nan"))
    faster = [f"{k} ({v / base:.2f}×)" for k, v in rows.items() if v < base]
    return ", ".join(faster) or "none"


def _fastest_peer(rows: dict[str, float]) -> tuple[str, float]:
    """The fastest row that is not ours (the library's steps and the forms we tried)."""
    peers = [(k, v) for k, v in rows.items() if not k.startswith(("course_lib", "form:"))]
    return min(peers, key=lambda kv: kv[1], default=("", float("nan")))


def _reached(ok: bool) -> str:
    return "Reached" if ok else "NOT reached"


def _ratio(rows: dict[str, float], a: str, b: str) -> float:
    return rows.get(a, float("nan")) / rows.get(b, float("nan"))


def targets_section(peak: float, shares: dict[str, float]) -> list[str]:
    """The targets of issue 7, from this run's measurements: met or not, and if not, why."""
    out = []
    torch_name, torch_t = _fastest("mlp", "PyTorch")
    ours_name, ours_t = _fastest("mlp", "course_lib")
    if torch_name:
        flops = mlp_flops(SIZES, BATCH)
        need = flops / (torch_t / 2.5)
        out += [
            f"- **MLP {'-'.join(map(str, SIZES))}, batch {BATCH}: ≥ 2.5× PyTorch.** "
            f"{_reached(torch_t / ours_t >= 2.5)}: {torch_t / ours_t:.2f}× ({ours_name}). "
            f"2.5× {torch_name}'s {torch_t * 1e3:.2f} ms "
            f"is {torch_t / 2.5 * 1e3:.2f} ms a step, {need / 1e9:.0f} GFLOP/s: "
            f"{need / peak:.0%} of this machine's practical limit (the matrix-product table). "
            + (
                "No formulation reaches it here: the step is three matrix products forward "
                "and five backward, and they alone would have to run faster than the fastest "
                "large matrix product this machine does. PyTorch is not slow on this shape: it "
                f"reaches {flops / torch_t / peak:.0%} of the limit."
                if need > peak
                else "That is below the limit, so possible in principle; but the step reaches "
                f"{flops / ours_t / peak:.0%} of it: its weight-gradient products (contracting "
                "over the batch) run in XLA's own Eigen `dot`, not in YNNPACK, and take "
                f"{shares.get('mlp dot', float('nan')):.0%} of the step (profile below). Tried: "
                "the epoch in one `lax.scan` (the table)."
            ),
        ]
    torch_name, torch_t = _fastest("course mlp", "PyTorch")
    ours_name, ours_t = _fastest("course mlp", "course_lib")
    if torch_name:
        out += [
            f"- **The MLP as the course trains it: ≥ 2.5× PyTorch.** "
            f"{_reached(torch_t / ours_t >= 2.5)}: {torch_t / ours_t:.2f}× ({ours_name}; "
            f"{torch_name}). The step is small "
            f"({ours_t * 1e6:.0f} µs); 2.5× needs the products themselves faster: in the "
            "profile below, the weight-gradient products (`dot`, contracting over the batch) "
            "run in XLA's own Eigen kernel, not in YNNPACK, and take "
            f"{shares.get('course mlp dot', float('nan')):.0%} of the step.",
        ]
    for key, title in (("cnn 8", "LeNet, 8×8 images"), ("cnn 28", "LeNet, 28×28 images")):
        rows = MEASURED.get(key, {})
        peer_name, peer_t = _fastest_peer(rows)
        ours_name, ours_t = _fastest(key, "course_lib")
        if not peer_name:
            continue
        pinned = rows.get("course_lib cnn.train_step, pinned to one core", float("nan"))
        base = rows.get("course_lib cnn.train_step", float("nan"))
        reached = ours_t <= peer_t
        out += [
            f"- **{title}: no slower than the fastest peer.** {_reached(reached)}: {ours_name} "
            f"{ours_t * 1e3:.2f} ms against {peer_name} {peer_t * 1e3:.2f} ms."
        ]
        if key == "cnn 8" and not reached and peer_name.startswith("Flax"):
            out[-1] += (
                " Flax compiles the same model to the same XLA:CPU operations (YNNPACK "
                "convolutions, the same pooling fusions); the gap is between two XLA programs "
                "of one model, and was not closed here."
            )
        if key == "cnn 28":
            out[-1] += (
                " Tried (the forms table): pooling by `reduce_window`, NCHW layout, "
                "convolution as patches × matrix (im2col), the epoch in one `lax.scan`, "
                "buffer donation, 4 steps unrolled in one jitted call. Faster than one step a "
                f"call in this run's forms table: {_faster_forms()}. The library offers 4 steps a "
                "call as `cnn.train_steps` and `cnn.fit(..., steps_per_call=4)` (not the "
                "default: it compiles about 3 s longer); in the LeNet tables above it takes "
                f"{_ratio(MEASURED.get('cnn 8', {}), FUSED_CNN, 'course_lib cnn.train_step'):.2f}× "
                "(8×8) and "
                f"{_ratio(rows, FUSED_CNN, 'course_lib cnn.train_step'):.2f}× (28×28) the time "
                "of `cnn.train_step`. The profile shows where the time "
                f"goes: {shares.get('cnn ynn', float('nan')):.0%} of the step is YNNPACK's "
                "convolutions and their gradients. From its second core XLA:CPU gains "
                f"{pinned / base:.2f}× on this step (the row pinned to one core), PyTorch "
                f"{_ratio(rows, 'PyTorch, 1 thread', 'PyTorch, 2 threads'):.2f}×."
            )
            if not reached:
                out[-1] += (
                    " What it would take: convolution kernels that use both cores better on "
                    "convolutions this small, i.e. a change inside XLA:CPU or YNNPACK, or our "
                    "own kernels called through `jax.ffi` (C++ built against oneDNN, as "
                    "PyTorch's are): neither is code a course library should carry."
                )
    rows = MEASURED.get("lstm", {})
    peer_name, peer_t = _fastest_peer(rows)
    if peer_name:
        base = rows["course_lib language_model.train_step"]
        before = rows.get("form: one-hot product in the loop", float("nan"))
        pinned = rows.get("course_lib language_model.train_step, pinned to one core", float("nan"))
        verdict = _reached(base <= peer_t)
        out += [
            f"- **Char-LSTM: no slower than the fastest peer.** {verdict}: "
            f"{base * 1e3:.1f} ms against {peer_name} {peer_t * 1e3:.1f} ms. The library now looks "
            "up the one-hot input products before the loop (the form before it took "
            f"{before / base:.2f}× as long). Tried and not kept (the LSTM table): a "
            "hand-written BPTT whose weight gradient is one product after the loop, sigmoid "
            "through tanh, an unrolled loop. The loop's products are 64 × 128 × 512 (forward) "
            "and 64 × 512 × 128 (backward), 32 of each a step; from its second core XLA:CPU "
            f"gains {pinned / base:.2f}× on this step (the row pinned to one core), PyTorch "
            f"{_ratio(rows, 'PyTorch nn.LSTM, 1 thread', 'PyTorch nn.LSTM, 2 threads'):.2f}×.",
        ]
        if base > peer_t:
            out[-1] += (
                " What it would take is the same as for the CNN: XLA:CPU kernels that use the "
                "second core better on products this small."
            )
    return out


# ------------------------------------------------------------------------------ profiles


def _op_profile(
    fn, args, n: int = 10, per_call: int = 1
) -> tuple[dict[str, float], dict[str, str]]:
    """Seconds per step spent in each compiled operation of jitted ``fn`` (JAX's profiler;
    ``per_call`` steps a call), and each operation's output shape and source (compiled HLO)."""
    import collections
    import re
    import shutil
    import tempfile

    from jax.profiler import ProfileData

    for _ in range(3):
        out = fn(*args)
    jax.block_until_ready(out)
    folder = tempfile.mkdtemp(prefix="course-profile-")
    try:
        jax.profiler.start_trace(folder)
        for _ in range(n):
            out = fn(*args)
        jax.block_until_ready(out)
        jax.profiler.stop_trace()
        (trace,) = Path(folder).rglob("*.xplane.pb")
        data = ProfileData.from_file(str(trace))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    seconds: collections.Counter = collections.Counter()
    for plane in data.planes:
        for line in plane.lines:
            if not line.name.startswith(("tf_XLAEigen", "tf_XLAPjRt")):
                continue  # the XLA runtime's threads only
            for event in line.events:  # skip the executor and loops (they contain their ops)
                if not event.name.startswith(("ThunkExecutor", "SlinkyThreadPool", "while")):
                    seconds[event.name] += event.duration_ns / 1e9 / n / per_call
    about = {}
    for row in fn.lower(*args).compile().as_text().splitlines():
        m = re.match(r"\s*(?:ROOT )?%([\w.\-]+) = (\S+) ", row)
        if m:
            op = re.search(r'op_name="([^"]+)"', row)
            source = op.group(1).split("/")[-1] if op else ""
            if op and "transpose(" in op.group(1):
                source += " (backward)"
            about[m.group(1)] = f"`{m.group(2).split('{')[0]}` {source}".strip()
    return dict(seconds), about


def profile_section() -> tuple[list[str], dict[str, float]]:
    """Where each training step spends its time, operation by operation; and the shares the
    targets section quotes."""
    import bench_cnn

    from course_lib import cnn, data
    from course_lib import language_model as lm

    cases = []
    params = mlp.init(SIZES, key=jax.random.key(0), scheme="he")
    tx = optim.sgd(LR, MOMENTUM)
    mlp_step = _mlp_step(tx)
    (x, y), *_ = _batches(*_mlp_data(1))
    cases.append(("MLP 784-256-256-10, batch 128", mlp_step, (params, tx.init(params), x, y), 1))
    X, labels = (jnp.asarray(a) for a in _digits_split())
    course = jax.jit(
        lambda p, X, y, lr: mlp._train(p, X, y, lr, activation="relu", steps=COURSE_STEPS)
    )
    p0 = mlp.init(COURSE_SIZES, key=jax.random.key(0), scheme="he")
    cases.append(
        (
            f"The course's MLP ({'-'.join(map(str, COURSE_SIZES))}, mlp.train, per step)",
            course,
            (p0, X, labels, jnp.asarray(COURSE_LR)),
            COURSE_STEPS,
        )
    )
    r = bench_cnn._JaxRunner(cnn._train_step, "step", 28, 128, 1, jax.random.key(0))
    r.prepare()
    cases.append(
        (
            "LeNet, 28×28 images, batch 128",
            cnn._train_step,
            (r.params, r.opt, r.xs[0], r.ys[0], jnp.asarray(3e-3)),
            1,
        )
    )
    text = data.english_text()
    vocab = lm.build_vocab(text)
    ids = lm.encode(vocab, text)
    params = lm.init(key=jax.random.key(0), vocab_size=vocab.size, hidden_dim=128)
    x, y = lm.text_windows(ids, key=jax.random.key(0), batch_size=64, seq_len=32)
    cases.append(
        (
            "char-LSTM, 64 × 32 characters",
            lm._train_step,
            (params, lm.adam_init(params), x, y, jnp.asarray(1e-3)),
            1,
        )
    )
    out = [
        "JAX's profiler (`jax.profiler`, read back with `jax.profiler.ProfileData`) over 10 "
        "steps: the time in each operation of the compiled step, summed over XLA's threads. "
        "`ynn_fusion` operations are calls into YNNPACK (XNNPACK's successor, the library "
        "XLA:CPU hands matrix products and convolutions to); `dot` and `convolution` are "
        "XLA's own Eigen kernels; the other fusions are code XLA generates.",
        "",
    ]
    shares: dict[str, float] = {}
    for title, fn, args, per_call in cases:
        seconds, about = _op_profile(fn, args, n=3 if per_call > 1 else 10, per_call=per_call)
        total = sum(seconds.values())
        ynn = sum(v for k, v in seconds.items() if k.startswith("ynn_fusion"))
        eigen_dot = sum(v for k, v in seconds.items() if k == "dot" or k.startswith("dot."))
        if title.startswith("The course's MLP"):
            shares["course mlp dot"] = eigen_dot / total
        if title.startswith("MLP"):
            shares["mlp dot"] = eigen_dot / total
        if title.startswith("LeNet"):
            shares["cnn ynn"] = ynn / total
        out += [
            f"**{title}**: {total * 1e3:.1f} ms of operations per step, "
            f"{ynn / total:.0%} of it in YNNPACK calls, {eigen_dot / total:.0%} in XLA's `dot`",
            "",
            "| operation | ms/step | share | output, source |",
            "| --- | --- | --- | --- |",
        ]
        for name, sec in sorted(seconds.items(), key=lambda kv: -kv[1])[:8]:
            out.append(f"| {name} | {sec * 1e3:.3f} | {sec / total:.0%} | {about.get(name, '')} |")
        out.append("")
    return out, shares


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
        f"Every table: variants interleaved in one process, {rounds} rounds after a warm-up "
        f"({steps} steps a round unless the table says otherwise), median (min–max); the last "
        "column is the ratio to the table's baseline (> 1: slower).",
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
    lines += [
        f"## The MLP as the course trains it: {'-'.join(map(str, COURSE_SIZES))}, ReLU, "
        f"full-batch gradient descent on the digits' training split, {COURSE_STEPS} steps",
        "",
    ]
    lines += [*course_mlp_section(rounds), ""]
    print("optimizers ...", file=sys.stderr)
    lines += ["## One optimizer update on the MLP's parameters (235k), jitted: vs optax", ""]
    lines += [*optimizer_section(steps * 5, rounds), ""]
    print("CNN ...", file=sys.stderr)
    lines += ["## LeNet training step (Adam)", "", *cnn_section(steps, rounds, peak)]
    print("LSTM ...", file=sys.stderr)
    lines += ["## Character-LSTM training step (V = 103, hidden 128, 64 × 32 characters)", ""]
    lines += [*lstm_section(max(4, steps // 2), rounds, peak), ""]
    print("transformer ...", file=sys.stderr)
    lines += [
        "## Character-transformer training step (ch10b: V = 103, d 64, 2 blocks, 4 heads, "
        "32 × 32 characters)",
        "",
    ]
    lines += [*transformer_section(max(4, steps // 2), rounds), ""]
    print("NumPy ...", file=sys.stderr)
    lines += ["## LeNet and char-LSTM training steps against NumPy by hand", ""]
    lines += [
        "The same model, loss, gradient and update (Adam; the LSTM's clipped at norm 5) "
        "written in NumPy, checked equal to `jax.grad` of the library's loss before timing; "
        "20 steps a round (LeNet 8×8), 4 (LeNet 28×28 and the LSTM).",
        "",
    ]
    lines += [*numpy_section(rounds)]
    print("CNN forms ...", file=sys.stderr)
    lines += ["## LeNet: the forms tried (28×28 images, batch 128; 12 steps a round)", ""]
    lines += [*cnn_forms_section(rounds), ""]
    print("profiles ...", file=sys.stderr)
    profile_lines, shares = profile_section()
    lines += ["## Where the time goes: the compiled steps, operation by operation", ""]
    lines += [*profile_lines]
    lines += ["## The targets: reached or not, and what it would take", ""]
    lines += [*targets_section(peak, shares), ""]
    print("per-example SGD ...", file=sys.stderr)
    lines += ["## Per-example SGD: the jitted scan against NumPy", ""]
    lines += [*sgd_section(rounds), ""]
    if not args.quick:
        print("word2vec ...", file=sys.stderr)
        lines += ["## Word2vec (SGNS) against NumPy (benchmarks/bench_word2vec.py)", ""]
        lines += [*script_section("bench_word2vec.py"), ""]
        print("reinforcement-learning environment ...", file=sys.stderr)
        lines += [
            "## CartPole episodes per second: jitted and vmapped against a Python loop "
            "(benchmarks/bench_rl_env.py)",
            "",
        ]
        lines += [*script_section("bench_rl_env.py"), ""]
        print("widgets ...", file=sys.stderr)
        lines += ["## Widget latency (benchmarks/bench_widgets.py)", ""]
        lines += [*script_section("bench_widgets.py"), ""]
        print("notebooks, Run All cold and warm ...", file=sys.stderr)
        lines += ["## Run All, cold and warm, of each lecture notebook (bench_runall.py)", ""]
        lines += [*script_section("bench_runall.py", timeout=3600), ""]
    lines += [f"Suite run time: {time.monotonic() - started:.0f} s.", ""]
    text = "\n".join(lines)
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
