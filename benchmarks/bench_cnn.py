"""How fast does the course's LeNet train on this CPU, in which form, and against PyTorch?

    .venv/bin/python benchmarks/bench_cnn.py [--steps 40] [--rounds 5]
    <python with torch==2.13.0> benchmarks/bench_cnn.py   # adds PyTorch rows when torch imports

The model is :func:`course_lib.cnn.init`'s LeNet ([3×3 conv, padding 1 → ReLU → 2×2 max-pool]
× (16, 32) channels → dense 64 → 10), trained by Adam on random images of 8×8 (the scikit-learn
digits the notebook trains on) and 28×28 (MNIST size). Every variant computes the same function
(tests/test_cnn.py asserts the equalities of the forms adopted in the library); they differ in
how XLA is asked to compute it:

- ``cnn.train_step``: the library's step (the baseline every ratio is against);
- ``reduce_window pool``: max-pooling with ``lax.reduce_window`` instead of reshape + max;
- ``NCHW``: the convolutions with ``("NCHW", "OIHW", "NCHW")`` dimension numbers;
- ``im2col``: ``lax.conv_general_dilated_patches`` then one matmul per layer;
- ``donate``: the step with ``donate_argnums`` for the parameters and optimizer state;
- ``scan epoch``: ``lax.scan`` over the minibatches of an epoch (one dispatch per epoch);
- ``4 steps fused``: a jitted function that runs 4 steps in an unrolled Python loop;
- batch sizes 64 / 128 / 256 for the baseline; PyTorch (``torch.set_num_threads(2)``) at the
  same architecture, initialization scale, optimizer (Adam, lr 3e-3) and batch, with 1 and with
  2 intra-op threads (``torch.set_num_threads``; on a busy 2-core machine 2 threads can be
  *much* slower: its thread pool waits for a core).

Timing: variants are interleaved in ``--rounds`` rounds of ``--steps`` steps (after a warm-up
that compiles), and the median over rounds is reported, in ms per step and examples per second,
with the ratio to ``cnn.train_step`` at the same image size and batch (> 1 = slower).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from course_lib import cnn, optim

try:  # optional: PyTorch in the same process
    import torch
except ImportError:  # pragma: no cover
    torch = None

# ------------------------------------------------------------------------- JAX variants

_NHWC = ("NHWC", "HWIO", "NHWC")


def _pool_reshape(h):
    n, H, W, C = h.shape
    return h.reshape(n, H // 2, 2, W // 2, 2, C).max(axis=(2, 4))


def _pool_window(h):
    return jax.lax.reduce_window(h, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")


def _conv_nhwc(h, w):
    return jax.lax.conv_general_dilated(h, w, (1, 1), [(1, 1), (1, 1)], dimension_numbers=_NHWC)


def _conv_im2col(h, w):
    p = jax.lax.conv_general_dilated_patches(
        h, (3, 3), (1, 1), [(1, 1), (1, 1)], dimension_numbers=_NHWC
    )  # (n, H, W, C_in * 9), feature order (c, r, s)
    wm = jnp.transpose(w, (2, 0, 1, 3)).reshape(-1, w.shape[3])
    return p @ wm


def _apply(params, x, *, conv, pool, nchw=False):
    h = jnp.transpose(x, (0, 3, 1, 2)) if nchw else x
    for w, b in params["conv"]:
        if nchw:
            a = jax.lax.conv_general_dilated(
                h,
                jnp.transpose(w, (3, 2, 0, 1)),
                (1, 1),
                [(1, 1), (1, 1)],
                dimension_numbers=("NCHW", "OIHW", "NCHW"),
            )
            a = jax.nn.relu(a + b[None, :, None, None])
            n, C, H, W = a.shape
            h = a.reshape(n, C, H // 2, 2, W // 2, 2).max(axis=(3, 5))
        else:
            h = pool(jax.nn.relu(conv(h, w) + b))
    if nchw:
        h = jnp.transpose(h, (0, 2, 3, 1))
    h = h.reshape(h.shape[0], -1)
    (W1, b1), (W2, b2) = params["dense"]
    return jax.nn.relu(h @ W1 + b1) @ W2 + b2


def _loss(params, x, y, **kw):
    logp = jax.nn.log_softmax(_apply(params, x, **kw), axis=1)
    return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))


def _step(params, opt, x, y, lr, **kw):
    value, grads = jax.value_and_grad(_loss)(params, x, y, **kw)
    updates, opt = optim.adam(lr).update(grads, opt, params)
    return optim.apply_updates(params, updates), opt, value


def _jax_variants() -> dict[str, tuple[Callable, str]]:
    """name -> (step(params, opt, x, y, lr) -> (params, opt, loss), how it consumes batches)."""
    base = dict(conv=_conv_nhwc, pool=_pool_reshape)
    one = jax.jit(partial(_step, **base))

    def fused4(params, opt, xs, ys, lr):
        for i in range(4):
            params, opt, value = one.__wrapped__(params, opt, xs[i], ys[i], lr)
        return params, opt, value

    def scan_epoch(params, opt, xs, ys, lr):
        def body(carry, batch):
            p, o, _ = _step(*carry, *batch, lr, **base)
            return (p, o), _

        (params, opt), _ = jax.lax.scan(body, (params, opt), (xs, ys))
        return params, opt, jnp.zeros(())

    return {
        "cnn.train_step": (cnn.train_step, "step"),
        "cnn.fit's inner step": (cnn._train_step, "step"),
        "same step, jitted here": (one, "step"),
        "reduce_window pool": (jax.jit(partial(_step, conv=_conv_nhwc, pool=_pool_window)), "step"),
        "NCHW": (jax.jit(partial(_step, **base, nchw=True)), "step"),
        "im2col": (jax.jit(partial(_step, conv=_conv_im2col, pool=_pool_reshape)), "step"),
        "donate": (jax.jit(partial(_step, **base), donate_argnums=(0, 1)), "step"),
        "4 steps fused": (jax.jit(fused4), "fused4"),
        "scan epoch": (jax.jit(scan_epoch), "epoch"),
    }


class _JaxRunner:
    def __init__(self, step, mode, size, batch, steps, key):
        self.step, self.mode, self.steps = step, mode, steps
        k1, k2, k3 = jax.random.split(key, 3)
        self.params0 = cnn.init(k1, image_size=size)
        self.opt0 = cnn.init_optimizer(self.params0)
        self.xs = jax.random.uniform(k2, (steps, batch, size, size, 1))
        self.ys = jax.random.randint(k3, (steps, batch), 0, 10)
        # the library's public step is called with a Python float, as a user would
        self.lr = 3e-3 if step is cnn.train_step else jnp.asarray(3e-3)

    def run(self) -> float:
        """Run ``steps`` steps; return seconds."""
        p, o = self.params, self.opt
        start = time.perf_counter()
        if self.mode == "step":
            for i in range(self.steps):
                p, o, v = self.step(p, o, self.xs[i], self.ys[i], self.lr)
        elif self.mode == "fused4":
            for i in range(0, self.steps, 4):
                p, o, v = self.step(p, o, self.xs[i : i + 4], self.ys[i : i + 4], self.lr)
        else:
            p, o, v = self.step(p, o, self.xs, self.ys, self.lr)
        jax.block_until_ready((p, o, v))
        return time.perf_counter() - start

    def prepare(self):
        """Donation deletes the inputs: fresh copies of the initial state for every round."""
        self.params = jax.tree.map(jnp.copy, self.params0)
        self.opt = jax.tree.map(jnp.copy, self.opt0)


# ------------------------------------------------------------------------------ PyTorch


class _TorchRunner:
    def __init__(self, size, batch, steps, seed, threads):
        self.threads = threads
        torch.manual_seed(seed)
        nn = torch.nn
        flat = 32 * (size // 4) ** 2
        self.model = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(flat, 64),
            nn.ReLU(),
            nn.Linear(64, 10),
        )
        for m in self.model:
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=3e-3)
        self.loss = nn.CrossEntropyLoss()
        self.steps = steps
        self.xs = torch.rand(steps, batch, 1, size, size)
        self.ys = torch.randint(0, 10, (steps, batch))

    def prepare(self):
        pass

    def run(self) -> float:
        torch.set_num_threads(self.threads)
        start = time.perf_counter()
        for i in range(self.steps):
            self.opt.zero_grad(set_to_none=True)
            value = self.loss(self.model(self.xs[i]), self.ys[i])
            value.backward()
            self.opt.step()
        value.item()
        return time.perf_counter() - start


# --------------------------------------------------------------------------------- main


def _check_variants_agree() -> None:
    """Every JAX form computes the library's loss (float32 round-off apart)."""
    params = cnn.init(jax.random.key(1), image_size=8)
    x = jax.random.uniform(jax.random.key(2), (16, 8, 8, 1))
    y = jnp.arange(16) % 10
    want = float(cnn.loss(params, x, y))
    for kw in (
        dict(conv=_conv_nhwc, pool=_pool_window),
        dict(conv=_conv_im2col, pool=_pool_reshape),
        dict(conv=_conv_nhwc, pool=_pool_reshape, nchw=True),
    ):
        got = float(_loss(params, x, y, **kw))
        assert abs(got - want) < 1e-5 * max(1.0, abs(want)), (kw, got, want)


def _cases(sizes, batches) -> list[tuple[str, int, int, Callable[[int], object]]]:
    cases = []
    variants = _jax_variants()
    for size in sizes:
        for batch in batches:
            names = list(variants) if batch == 64 else ["cnn.train_step"]
            for name in names:
                step, mode = variants[name]
                cases.append(
                    (
                        name,
                        size,
                        batch,
                        lambda steps, step=step, mode=mode, size=size, batch=batch: _JaxRunner(
                            step, mode, size, batch, steps, jax.random.key(0)
                        ),
                    )
                )
            for threads in (1, 2) if torch is not None else ():
                cases.append(
                    (
                        f"PyTorch, {threads} thread{'s' * (threads > 1)}",
                        size,
                        batch,
                        lambda steps, size=size, batch=batch, t=threads: _TorchRunner(
                            size, batch, steps, 0, t
                        ),
                    )
                )
    return cases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40, help="steps per timed round (mult. of 4)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 28])
    parser.add_argument("--batches", type=int, nargs="+", default=[64, 128, 256])
    args = parser.parse_args(argv)
    steps = max(4, args.steps - args.steps % 4)
    _check_variants_agree()
    runners = []
    for name, size, batch, make in _cases(args.sizes, args.batches):
        r = make(steps)
        r.prepare()
        r.run()  # warm-up: compiles
        runners.append((name, size, batch, r, []))
    for _ in range(args.rounds):  # interleaved rounds
        for *_, r, times in runners:
            r.prepare()
            times.append(r.run() / steps)
    torch_text = f", torch {torch.__version__}" if torch else ""
    print(
        f"# LeNet training step ({platform.machine()}, {os.cpu_count()} CPUs, jax "
        f"{jax.__version__}{torch_text}); median of {args.rounds} rounds × {steps} steps\n"
    )
    print("| image | batch | form | ms/step | examples/s | × cnn.train_step |")
    print("| --- | --- | --- | --- | --- | --- |")
    base = {}
    for name, size, batch, _, times in runners:
        ms = statistics.median(times) * 1e3
        if name == "cnn.train_step":
            base[(size, batch)] = ms
        ratio = ms / base[(size, batch)]
        print(
            f"| {size}×{size} | {batch} | {name} | {ms:.3g} | {batch / ms * 1e3:,.0f} | "
            f"{ratio:.2f} |"
        )
    return 0


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    raise SystemExit(main())
