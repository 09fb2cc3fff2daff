"""How fast is the character transformer's training step, against Flax (nnx) at the same shapes?

    .venv/bin/python benchmarks/bench_transformer.py            # course_lib only
    .venv-bench/bin/python benchmarks/bench_transformer.py       # + Flax nnx, checked and timed

Times one training step of :func:`course_lib.transformer_lm.train_step` (embedding + sinusoidal
positions, 2 pre-LN blocks with 4-head causal self-attention and a GELU MLP, final layer norm,
softmax readout; global-norm clipping at 5; Adam) at the size the lecture notebook ch10b trains:
V = 103 characters of ``data.english_prose()``, d = 64, 2 blocks, 4 heads, windows of 32
characters, 32 windows a batch. The peer is the same model written with ``flax.nnx`` modules
(``nnx.Embed``, ``nnx.LayerNorm``, ``nnx.MultiHeadAttention`` without biases and with the causal
mask, ``nnx.Linear``) and ``optax.chain(clip_by_global_norm(5), adam)``, its step jitted the
usual fast way (``nnx.split`` once, then ``jax.jit`` of a pure function of the state).

Before timing, the course's parameters are copied into the Flax model and the two losses and
attention outputs are checked equal (float32): this is the independent check of
``course_lib.transformer``'s multi-head attention against Flax's. Then both steps run
interleaved, round after round, in this process (``suite.interleaved``), and the table gives
the median ms/step (min-max) and the ratio to the course's step.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from course_lib import (
    data,  # noqa: E402
    transformer,  # noqa: E402
)
from course_lib import language_model as lm  # noqa: E402
from course_lib import transformer_lm as tlm  # noqa: E402

try:
    import optax
    from flax import nnx
except ImportError:  # pragma: no cover
    nnx = optax = None

D_MODEL, LAYERS, HEADS, SEQ, BATCH, LR = 64, 2, 4, 32, 32, 5e-3

Runner = Callable[[int], None]


def setup(n_batches: int = 8):
    """The vocabulary size, ``n_batches`` training batches and the course's initial model."""
    text = data.english_prose()
    vocab = lm.build_vocab(text)
    train_ids, _ = lm.split_ids(lm.encode(vocab, text), val_fraction=0.1)
    batches = [
        lm.text_windows(train_ids, key=jax.random.key(i), batch_size=BATCH, seq_len=SEQ)
        for i in range(n_batches)
    ]
    params = tlm.init(key=jax.random.key(0), vocab_size=vocab.size, d_model=D_MODEL,
                      n_layers=LAYERS, n_heads=HEADS, max_len=SEQ)  # fmt: skip
    return vocab.size, batches, params


def course_runner(params, batches) -> Runner:
    state = {"p": params, "o": tlm.adam_init(params)}

    def run(n: int) -> None:
        p, o = state["p"], state["o"]
        for i in range(n):
            p, o, v = tlm.train_step(p, o, *batches[i % len(batches)], LR, n_heads=HEADS)
        v.block_until_ready()
        state["p"], state["o"] = p, o

    return run


# ------------------------------------------------------------------------------ Flax nnx


def flax_model(V: int):
    """The same architecture in flax.nnx (defined here so that the module imports without Flax)."""

    class Block(nnx.Module):
        def __init__(self, rngs):
            self.ln1 = nnx.LayerNorm(D_MODEL, epsilon=transformer.LN_EPS, rngs=rngs)
            self.attn = nnx.MultiHeadAttention(
                num_heads=HEADS, in_features=D_MODEL, use_bias=False, decode=False, rngs=rngs
            )
            self.ln2 = nnx.LayerNorm(D_MODEL, epsilon=transformer.LN_EPS, rngs=rngs)
            self.fc1 = nnx.Linear(D_MODEL, transformer.MLP_RATIO * D_MODEL, rngs=rngs)
            self.fc2 = nnx.Linear(transformer.MLP_RATIO * D_MODEL, D_MODEL, rngs=rngs)

        def __call__(self, x, mask):
            x = x + self.attn(self.ln1(x), mask=mask)
            return x + self.fc2(jax.nn.gelu(self.fc1(self.ln2(x)), approximate=False))

    class CharTransformer(nnx.Module):
        def __init__(self, rngs):
            self.embed = nnx.Embed(V, D_MODEL, rngs=rngs)
            self.blocks = nnx.List([Block(rngs) for _ in range(LAYERS)])
            self.ln = nnx.LayerNorm(D_MODEL, epsilon=transformer.LN_EPS, rngs=rngs)
            self.out = nnx.Linear(D_MODEL, V, rngs=rngs)
            self.positions = nnx.Variable(
                transformer.sinusoidal_positions(SEQ, D_MODEL)
            )  # not a Param

        def __call__(self, ids):  # (B, T) int -> (B, T, V)
            T = ids.shape[1]
            x = self.embed(ids) + self.positions.get_value()[None, :T]
            mask = nnx.make_causal_mask(ids)  # (B, 1, T, T)
            for block in self.blocks:
                x = block(x, mask)
            return self.out(self.ln(x))

    return CharTransformer(nnx.Rngs(0))


def copy_course_params(model, params) -> None:
    """Put the course's parameters into the Flax model (head i = columns i*d/h ... of W_q)."""
    dh = D_MODEL // HEADS
    model.embed.embedding.value = params.embed
    for blk, p in zip(model.blocks, params.blocks, strict=True):
        blk.ln1.scale.value, blk.ln1.bias.value = p.ln1_gamma, p.ln1_beta
        blk.ln2.scale.value, blk.ln2.bias.value = p.ln2_gamma, p.ln2_beta
        blk.attn.query.kernel.value = p.attn.W_q.reshape(D_MODEL, HEADS, dh)
        blk.attn.key.kernel.value = p.attn.W_k.reshape(D_MODEL, HEADS, dh)
        blk.attn.value.kernel.value = p.attn.W_v.reshape(D_MODEL, HEADS, dh)
        blk.attn.out.kernel.value = p.attn.W_o.reshape(HEADS, dh, D_MODEL)
        blk.fc1.kernel.value, blk.fc1.bias.value = p.mlp.W1, p.mlp.b1
        blk.fc2.kernel.value, blk.fc2.bias.value = p.mlp.W2, p.mlp.b2
    model.ln.scale.value, model.ln.bias.value = params.ln_gamma, params.ln_beta
    model.out.kernel.value, model.out.bias.value = params.W_out, params.b_out


def _flax_loss(model, x, y):
    logp = jax.nn.log_softmax(model(x), axis=-1)
    return -jnp.mean(jnp.take_along_axis(logp, y[..., None], axis=-1))


def check_against_flax(V: int, params, batch) -> dict[str, float]:
    """The same parameters in both: multi-head attention outputs and losses agree (float32)."""
    model = flax_model(V)
    copy_course_params(model, params)
    x, y = batch
    ours = float(tlm.evaluate(params, x, y, n_heads=HEADS))
    theirs = float(_flax_loss(model, x, y))
    z = jax.random.normal(jax.random.key(1), (BATCH, SEQ, D_MODEL))
    mha_ours = transformer.multi_head_attention(params.blocks[0].attn, z, n_heads=HEADS,
                                       mask=transformer.causal_mask(SEQ))  # fmt: skip
    mha_flax = model.blocks[0].attn(z, mask=nnx.make_causal_mask(jnp.ones((BATCH, SEQ))))
    mha_err = float(jnp.abs(mha_ours - mha_flax).max() / jnp.abs(mha_flax).max())
    assert abs(ours - theirs) < 1e-5 * abs(theirs), f"losses differ: {ours} vs {theirs}"
    assert mha_err < 1e-5, f"multi-head attention differs from Flax's: {mha_err:.2e}"
    n_flax = sum(int(a.size) for a in jax.tree.leaves(nnx.state(model, nnx.Param)))
    assert n_flax == tlm.param_count(params), f"parameter counts: {n_flax} vs ours"
    return {"loss": ours, "loss_flax": theirs, "mha_rel_err": mha_err}


def flax_runner(V: int, batches) -> Runner:
    model = flax_model(V)
    tx = optax.chain(optax.clip_by_global_norm(tlm.CLIP_NORM), optax.adam(LR))
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    opt_state = tx.init(params)

    @jax.jit
    def step(params, opt_state, x, y):
        def loss_fn(p):
            return _flax_loss(nnx.merge(graphdef, p, rest), x, y)

        value, grads = jax.value_and_grad(loss_fn)(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, value

    state = {"p": params, "o": opt_state}

    def run(n: int) -> None:
        p, o = state["p"], state["o"]
        for i in range(n):
            p, o, v = step(p, o, *batches[i % len(batches)])
        v.block_until_ready()
        state["p"], state["o"] = p, o

    return run


def runners(V: int, params, batches) -> dict[str, Runner]:
    out = {"course_lib transformer_lm.train_step": course_runner(params, batches)}
    if nnx is not None:
        out["Flax nnx (MultiHeadAttention, LayerNorm, Linear) + optax"] = flax_runner(V, batches)
    return out


def main() -> None:
    import suite  # benchmarks/suite.py: the interleaved timer and the table

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    V, batches, params = setup()
    if nnx is not None:
        print("check against Flax:", check_against_flax(V, params, batches[0]), file=sys.stderr)
    times = suite.interleaved(runners(V, params, batches), args.steps, args.rounds)
    print("\n".join(suite.table(times, "course_lib transformer_lm.train_step",
                                per_step=BATCH * SEQ, unit="characters/s")))  # fmt: skip
    med = {k: float(np.median(v)) for k, v in times.items()}
    if len(med) == 2:
        (a, ta), (b, tb) = med.items()
        print(f"\nratio {b} / {a}: {tb / ta:.2f}")


if __name__ == "__main__":
    main()
