"""course_lib.deep_belief: unrolled RBMs, greedy stacking, fine-tuning (Aggarwal §6.5.1, §6.7).

Oracles: ``course_lib.rbm.reconstruct`` (Eq 6.19-6.20) for one unrolled RBM, a forward pass
written out in NumPy for a stack, ``jax.grad`` against central differences for the fine-tuning
loss.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import central_gradient
from course_lib import deep_belief as D
from course_lib import rbm

KEY = jax.random.key(0)


def _rbms(dims=(6, 4, 3), seed=0):
    rng = np.random.default_rng(seed)
    return [
        rbm.RBMParams(
            jnp.asarray(rng.normal(size=(a, b))),
            jnp.asarray(rng.normal(size=a)),
            jnp.asarray(rng.normal(size=b)),
        )  # fmt: skip
        for a, b in zip(dims[:-1], dims[1:], strict=True)
    ]


def _data(n=20, d=6, seed=1):
    return jnp.asarray((np.random.default_rng(seed).uniform(size=(n, d)) < 0.4).astype(float))


def _sig(z):
    return 1 / (1 + np.exp(-z))


def test_stack_dims():
    assert D.stack_dims([64, 32, 16]) == [(64, 32), (32, 16)]
    assert D.stack_dims((5, 2)) == [(5, 2)]
    with pytest.raises(ValueError, match="at least two"):
        D.stack_dims([64])
    with pytest.raises(TypeError, match="positive integer"):
        D.stack_dims([64, 3.5])
    with pytest.raises(TypeError, match="sequence"):
        D.stack_dims(64)


def test_one_unrolled_rbm_is_eq_6_19_and_6_20():
    (p,) = _rbms((6, 4))
    v = _data()
    ae = D.unroll([p])
    np.testing.assert_array_equal(ae.decoder[0].W, p.W.T)
    np.testing.assert_allclose(D.reconstruct(ae, v), rbm.reconstruct(p, v), rtol=1e-14, atol=0)
    np.testing.assert_allclose(D.encode(ae, v), rbm.hidden_probs(p, v), rtol=1e-14, atol=0)


def test_a_stack_unrolls_into_encoder_then_transposed_decoder():
    rbms = _rbms()
    v = _data()
    ae = D.unroll(rbms)
    x = np.asarray(v)
    for p in rbms:
        x = _sig(x @ np.asarray(p.W) + np.asarray(p.b_h))
    np.testing.assert_allclose(D.encode(ae, v), x, rtol=1e-12)
    for p in reversed(rbms):
        x = _sig(x @ np.asarray(p.W).T + np.asarray(p.b_v))
    np.testing.assert_allclose(D.reconstruct(ae, v), x, rtol=1e-12)
    np.testing.assert_allclose(D.decode(ae, D.encode(ae, v)), x, rtol=1e-12)
    assert float(D.reconstruction_error(ae, v)) == pytest.approx(np.mean((x - np.asarray(v)) ** 2))
    np.testing.assert_array_equal(D.transpose_gap(ae), [0.0, 0.0])


def test_cross_entropy_gradient_matches_central_differences():
    rbms = _rbms()
    v = _data()
    ae = D.unroll(rbms)
    g = jax.grad(D.cross_entropy)(ae, v)

    def of_decoder_W(W):
        dec = (D.Layer(jnp.asarray(W), ae.decoder[0].b), *ae.decoder[1:])
        return D.cross_entropy(D.DeepAutoencoder(ae.encoder, dec), v)

    np.testing.assert_allclose(g.decoder[0].W, central_gradient(of_decoder_W,
                               np.asarray(ae.decoder[0].W)), rtol=1e-6, atol=1e-9)  # fmt: skip
    # the stable form equals the textbook cross-entropy
    r = np.asarray(D.reconstruct(ae, v))
    x = np.asarray(v)
    want = -np.mean(np.sum(x * np.log(r) + (1 - x) * np.log(1 - r), axis=1))
    assert float(D.cross_entropy(ae, v)) == pytest.approx(want, rel=1e-10)


def test_finetuning_lowers_the_loss_unties_the_decoder_and_does_not_recompile():
    ae = D.unroll(_rbms())
    v = _data(40)
    tuned, losses = D.finetune(ae, v, steps=100, lr=0.01)
    size = D._finetune._cache_size()
    D.finetune(ae, v, steps=100, lr=0.02)
    assert D._finetune._cache_size() == size
    assert losses.shape == (100,) and float(losses[-1]) < float(losses[0])
    assert float(D.cross_entropy(tuned, v)) < float(D.cross_entropy(ae, v))
    assert bool(jnp.all(D.transpose_gap(tuned) > 0))


def test_greedy_stack_trains_each_layer_on_the_one_below_deterministically():
    v = _data(60, 8)
    kw = {"key": KEY, "dims": [8, 5, 3], "steps": 30, "batch_size": 10, "lr": 0.1}
    stack = D.greedy_stack(v, **kw)
    assert [p.W.shape for p in stack] == [(8, 5), (5, 3)]
    again = D.greedy_stack(v, **kw)
    for a, b in zip(stack, again, strict=True):
        np.testing.assert_array_equal(a.W, b.W)
    with pytest.raises(ValueError, match="width"):
        D.greedy_stack(v, **{**kw, "dims": [7, 3]})


def test_bad_inputs_are_refused_with_clear_errors():
    rbms = _rbms()
    ae = D.unroll(rbms)
    with pytest.raises(ValueError, match="visible units"):
        D.unroll([rbms[1], rbms[0]])
    with pytest.raises(TypeError, match="list of RBMParams"):
        D.unroll(rbms[0])
    with pytest.raises(TypeError, match="DeepAutoencoder"):
        D.reconstruct(rbms, _data())
    with pytest.raises(ValueError, match="6 units"):
        D.reconstruct(ae, jnp.ones((3, 5)))
    with pytest.raises(ValueError, match="lr"):
        D.finetune(ae, _data(), steps=3, lr=0.0)
    with pytest.raises(TypeError, match="key"):
        D.greedy_stack(_data(), key=None, dims=[6, 2], steps=2)
