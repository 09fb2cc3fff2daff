"""SGNS training throughput: JAX (epoch in one lax.scan, or jitted step in a loop) vs NumPy.

Run: ``.venv/bin/python benchmarks/bench_word2vec.py`` (about 20 s on 2 idle cores).

All three do the same work per minibatch: ``batch`` (centre, context) pairs of the real English
corpus (``data.english_text()``, window 3), ``k`` negatives per pair drawn from $f^{3/4}$ by an
inverse-CDF search, the SGNS gradient ("positive/negative mistakes") at the old parameters and a
scatter-add update (``np.add.at`` in NumPy). First the NumPy step is checked to equal the JAX
step on the same batch and negatives. Then the variants run interleaved, ``REPEATS`` times, on
the same ``N_BATCHES`` minibatches; the report is pairs/s, median (min-max), and the ratios.
"""

from __future__ import annotations

import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

from course_lib import data
from course_lib import word2vec as w2v

DIM, K, BATCH, N_BATCHES, REPEATS, LR = 50, 5, 256, 400, 5, 0.05


def numpy_step(U, V, centres, contexts, negatives, lr):
    """The same SGNS minibatch update as ``word2vec.sgns_update``, in NumPy (in place)."""
    u, vp, vn = U[centres], V[contexts], V[negatives]  # (B, p), (B, p), (B, k, p)
    pos = 1.0 / (1.0 + np.exp(np.sum(u * vp, axis=1)))  # 1 - sigmoid(u.v_pos)
    neg = 1.0 / (1.0 + np.exp(-np.einsum("bkp,bp->bk", vn, u)))  # sigmoid(u.v_neg)
    g_u = -pos[:, None] * vp + np.einsum("bk,bkp->bp", neg, vn)
    g_pos = -pos[:, None] * u
    g_neg = neg[:, :, None] * u[:, None, :]
    np.add.at(U, centres, -lr * g_u)
    np.add.at(V, contexts, -lr * g_pos)
    np.add.at(V, negatives.reshape(-1), -lr * g_neg.reshape(-1, u.shape[1]))


def main() -> None:
    tokens = w2v.tokenize(data.english_text())
    vocab = w2v.build_vocabulary(tokens, min_count=5)
    centres, contexts = w2v.context_pairs(vocab.encode(tokens), 3)
    # Words per second: a corpus word is the centre of this many (centre, context) pairs.
    pairs_per_word = centres.shape[0] / len(vocab.encode(tokens))
    n = N_BATCHES * BATCH
    perm = jax.random.permutation(jax.random.key(0), centres.shape[0])[:n]
    centres, contexts = centres[perm], contexts[perm]
    probs = w2v.negative_distribution(vocab.counts)
    print(
        f"corpus: {len(tokens)} words, vocabulary {len(vocab)}, dim {DIM}, k {K}, "
        f"batch {BATCH}, {N_BATCHES} batches = {n} pairs per run"
    )
    init = w2v.init(key=jax.random.key(1), vocab_size=len(vocab), dim=DIM)
    init = w2v.Embeddings(init.U, 0.01 * jax.random.normal(jax.random.key(2), init.U.shape))

    # Correctness first: one NumPy step equals one JAX step on the same batch and negatives.
    negs = w2v.sample_negatives(probs, (BATCH, K), key=jax.random.key(3))
    ref = w2v.sgns_update(init, centres[:BATCH], contexts[:BATCH], negs, LR)
    U_np, V_np = np.array(init.U, np.float64), np.array(init.V, np.float64)
    numpy_step(
        U_np, V_np, np.asarray(centres[:BATCH]), np.asarray(contexts[:BATCH]), np.asarray(negs), LR
    )
    assert np.allclose(U_np, ref.U, atol=1e-5) and np.allclose(V_np, ref.V, atol=1e-5)
    print("NumPy step == JAX step on the same batch: OK")

    lr = jnp.float32(LR)
    cdf = np.cumsum(np.asarray(probs, np.float64))
    c_np, x_np = np.asarray(centres), np.asarray(contexts)
    rng = np.random.default_rng(0)

    def run_scan():
        p = jax.tree.map(jnp.copy, init)
        t = time.perf_counter()
        p = w2v.sgns_epoch(
            p, centres, contexts, probs, lr, key=jax.random.key(4), k=K, batch_size=BATCH
        )
        p.U.block_until_ready()
        return time.perf_counter() - t

    def run_step_loop():
        p = jax.tree.map(jnp.copy, init)
        keys = jax.random.split(jax.random.key(5), N_BATCHES)
        cb, xb = centres.reshape(N_BATCHES, BATCH), contexts.reshape(N_BATCHES, BATCH)
        t = time.perf_counter()
        for b in range(N_BATCHES):
            p = w2v.sgns_step(p, cb[b], xb[b], probs, lr, key=keys[b], k=K)
        p.U.block_until_ready()
        return time.perf_counter() - t

    def run_numpy():
        U, V = np.array(init.U), np.array(init.V)  # float32, like JAX
        t = time.perf_counter()
        for b in range(N_BATCHES):
            sl = slice(b * BATCH, (b + 1) * BATCH)
            negs = np.searchsorted(cdf, rng.uniform(0, cdf[-1], (BATCH, K)), side="right")
            numpy_step(U, V, c_np[sl], x_np[sl], np.minimum(negs, len(cdf) - 1), LR)
        return time.perf_counter() - t

    runs = {
        "JAX epoch in lax.scan": run_scan,
        "JAX jitted step, Python loop": run_step_loop,
        "NumPy": run_numpy,
    }
    for fn in runs.values():  # warm up: compile
        fn()
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(REPEATS):  # interleaved
        for name, fn in runs.items():
            times[name].append(fn())
    rates = {name: [n / t for t in ts] for name, ts in times.items()}
    for name, r in rates.items():
        print(
            f"{name:30s} {statistics.median(r) / 1e3:8.0f} k pairs/s "
            f"(min {min(r) / 1e3:.0f}, max {max(r) / 1e3:.0f}) = "
            f"{statistics.median(r) / pairs_per_word / 1e3:.0f} k words/s"
        )
    print(f"({pairs_per_word:.2f} pairs per corpus word in the vocabulary, window 3)")
    med = {name: statistics.median(r) for name, r in rates.items()}
    print(
        f"scan / NumPy: {med['JAX epoch in lax.scan'] / med['NumPy']:.1f}x;  "
        f"scan / step loop: "
        f"{med['JAX epoch in lax.scan'] / med['JAX jitted step, Python loop']:.2f}x"
    )


if __name__ == "__main__":
    main()
