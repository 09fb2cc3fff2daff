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
import numpy as np  # noqa: E402

from course_lib import data  # noqa: E402
from course_lib import language_model as lm  # noqa: E402


def _jax_runner(ids, V: int, args) -> Callable[[int], None]:
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
            p, o, loss = lm.train_step(p, o, x, y, 1e-3)
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
    runners = {"JAX (course_lib)": _jax_runner(ids, vocab.size, args)}
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
