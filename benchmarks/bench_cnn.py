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
- ``cnn.train_steps, 4 a call``: the library's 4 steps unrolled in one jitted call (what
  ``cnn.fit(..., steps_per_call=4)`` does);
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
            h = pool(jax.nn.relu(conv(h, w) + b[None, None, None, :]))
    if nchw:
        h = jnp.transpose(h, (0, 2, 3, 1))
    h = h.reshape(h.shape[0], -1)
    (W1, b1), (W2, b2) = params["dense"]
    return jax.nn.relu(h @ W1 + b1[None, :]) @ W2 + b2[None, :]


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
        "cnn.train_steps, 4 a call": (cnn.train_steps, "fused4"),
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


# ------------------------------------------------------------------------------ NumPy by hand


def _np_patches(x: np.ndarray) -> np.ndarray:
    """``(n, H, W, C)`` -> ``(n, H, W, 9C)``: the 3×3 neighbourhoods (zero padding 1), in the
    row order of an HWIO filter reshaped to ``(9C, C_out)``."""
    n, H, W, C = x.shape
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    return np.concatenate([xp[:, i : i + H, j : j + W] for i in range(3) for j in range(3)], -1)


def _np_patches_transpose(d: np.ndarray, C: int) -> np.ndarray:
    """The adjoint of :func:`_np_patches`: ``(n, H, W, 9C)`` -> ``(n, H, W, C)``."""
    n, H, W, _ = d.shape
    out = np.zeros((n, H + 2, W + 2, C), d.dtype)
    for k in range(9):
        i, j = divmod(k, 3)
        out[:, i : i + H, j : j + W] += d[..., k * C : (k + 1) * C]
    return out[:, 1:-1, 1:-1]


def numpy_lenet_loss_and_grads(params, x: np.ndarray, y: np.ndarray):
    """The LeNet loss of :func:`course_lib.cnn.loss` and its gradient, by hand in NumPy:
    convolution as patches × filter matrix, 2×2 max-pooling by reshape (a tie shares the
    gradient equally, as JAX's does), backpropagation written out. ``params`` as NumPy arrays
    in ``cnn.init``'s structure; returns ``(loss, grads)`` in the same structure."""
    n = x.shape[0]
    h, tape = x, []
    for w, b in params["conv"]:
        cols = _np_patches(h)
        a = np.maximum(cols @ w.reshape(-1, w.shape[-1]) + b, 0)  # conv + bias, ReLU
        N, H, W, C = a.shape
        blocks = a.reshape(N, H // 2, 2, W // 2, 2, C)
        pooled = blocks.max(axis=(2, 4))
        tape.append((h.shape[-1], cols, a, blocks, pooled))
        h = pooled
    flat = h.reshape(n, -1)
    (W1, b1), (W2, b2) = params["dense"]
    u = np.maximum(flat @ W1 + b1, 0)
    z = u @ W2 + b2
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(p[np.arange(n), y]))
    dz = p.copy()
    dz[np.arange(n), y] -= 1
    dz /= n
    dW2, db2 = u.T @ dz, dz.sum(0)
    du = (dz @ W2.T) * (u > 0)
    dW1, db1 = flat.T @ du, du.sum(0)
    dh = (du @ W1.T).reshape(h.shape)
    conv_grads = []
    for (w, _), (c_in, cols, a, blocks, pooled) in zip(
        reversed(params["conv"]), reversed(tape), strict=True
    ):
        hit = blocks == pooled[:, :, None, :, None, :]
        share = hit / hit.sum(axis=(2, 4), keepdims=True)
        da = (share * dh[:, :, None, :, None, :]).reshape(a.shape) * (a > 0)
        dcols = da.reshape(-1, da.shape[-1])
        dw = (cols.reshape(-1, cols.shape[-1]).T @ dcols).reshape(w.shape)
        conv_grads.append((dw, dcols.sum(0)))
        dh = _np_patches_transpose(da @ w.reshape(-1, w.shape[-1]).T, c_in)
    grads = {"conv": conv_grads[::-1], "dense": [(dW1, db1), (dW2, db2)]}
    return loss, grads


class _NumpyAdam:
    """Adam (Kingma & Ba 2015; optax's defaults) on a list of NumPy arrays, in place."""

    def __init__(self, arrays, lr, b1=0.9, b2=0.999, eps=1e-8):
        self.lr, self.b1, self.b2, self.eps, self.t = lr, b1, b2, eps, 0
        self.m = [np.zeros_like(a) for a in arrays]
        self.v = [np.zeros_like(a) for a in arrays]

    def update(self, arrays, grads) -> None:
        self.t += 1
        c1, c2 = 1 - self.b1**self.t, 1 - self.b2**self.t
        for a, g, m, v in zip(arrays, grads, self.m, self.v, strict=True):
            m *= self.b1
            m += (1 - self.b1) * g
            v *= self.b2
            v += (1 - self.b2) * g * g
            a -= self.lr * (m / c1) / (np.sqrt(v / c2) + self.eps)


def max_relative_error(want, got) -> float:
    """The largest ``max|want - got| / max|want|`` over the leaves of two pytrees."""
    return max(
        float(
            np.max(np.abs(np.asarray(a) - np.asarray(b))) / (np.max(np.abs(np.asarray(a))) + 1e-30)
        )
        for a, b in zip(jax.tree.leaves(want), jax.tree.leaves(got), strict=True)
    )


def check_numpy_matches(size: int = 8, n: int = 16) -> float:
    """The NumPy gradient equals ``jax.grad(cnn.loss)`` (float32); returns the largest error."""
    params = cnn.init(jax.random.key(1), image_size=size)
    x = jax.random.uniform(jax.random.key(2), (n, size, size, 1), jnp.result_type(float))
    y = jnp.arange(n) % 10
    want_loss, want = jax.value_and_grad(cnn.loss)(params, x, y)
    to_np = jax.tree.map(np.asarray, params)
    loss, got = numpy_lenet_loss_and_grads(to_np, np.asarray(x), np.asarray(y))
    err = max_relative_error(want, got)
    tol = 1e-4 if np.asarray(x).dtype == np.float32 else 1e-9
    if abs(float(want_loss) - float(loss)) > tol or err > tol:
        raise AssertionError(f"NumPy LeNet gradient differs from jax.grad: {err:.2e}")
    return err


class _NumpyRunner:
    """The same training as :class:`_JaxRunner` (Adam, lr 3e-3), in NumPy by hand."""

    def __init__(self, size, batch, steps, key):
        self.steps = steps
        k1, k2, k3 = jax.random.split(key, 3)
        self.params0 = jax.tree.map(np.asarray, cnn.init(k1, image_size=size))
        self.xs = np.asarray(jax.random.uniform(k2, (steps, batch, size, size, 1)))
        self.ys = np.asarray(jax.random.randint(k3, (steps, batch), 0, 10))

    def prepare(self):
        self.params = jax.tree.map(np.array, self.params0)  # fresh, writable copies
        self.leaves = jax.tree.leaves(self.params)
        self.adam = _NumpyAdam(self.leaves, 3e-3)

    def run(self) -> float:
        start = time.perf_counter()
        for i in range(self.steps):
            _, grads = numpy_lenet_loss_and_grads(self.params, self.xs[i], self.ys[i])
            self.adam.update(self.leaves, jax.tree.leaves(grads))
        return time.perf_counter() - start


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
