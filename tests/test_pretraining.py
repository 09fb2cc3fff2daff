"""course_lib.pretraining: greedy layer-wise autoencoder stages and fine-tuning."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import data, mlp
from course_lib import pretraining as P

KEY = jax.random.key(0)
SIZES = (64, 16, 8, 10)


@pytest.fixture(scope="module")
def digits():
    d = data.digits()
    return data.Dataset(d.X[:200], d.y[:200])


@pytest.fixture(scope="module")
def pre(digits):
    return P.greedy_pretrain(digits.X, digits.y, key=KEY, sizes=SIZES, steps=60, lr=0.02)


def test_stage_loss_equals_a_numpy_forward_pass():
    stage = P.init_stage(key=KEY, d=5, h=3)
    H = np.random.default_rng(0).uniform(size=(7, 5))
    W, b = np.asarray(stage.encoder.W), np.asarray(stage.encoder.b)
    V, c = np.asarray(stage.decoder.W), np.asarray(stage.decoder.b)
    recon = (1 / (1 + np.exp(-(H @ W + b)))) @ V + c
    assert float(P.stage_loss(stage, jnp.asarray(H))) == pytest.approx(((H - recon) ** 2).mean())


def test_stage_gradient_matches_central_finite_differences():
    stage = P.init_stage(key=KEY, d=4, h=3)
    H = jnp.asarray(np.random.default_rng(1).uniform(size=(6, 4)))
    g = jax.grad(P.stage_loss)(stage, H).encoder.W
    h = 1e-6
    for i, j in [(0, 0), (2, 1), (3, 2)]:
        e = jnp.zeros_like(stage.encoder.W).at[i, j].set(h)
        plus = stage._replace(encoder=stage.encoder._replace(W=stage.encoder.W + e))
        minus = stage._replace(encoder=stage.encoder._replace(W=stage.encoder.W - e))
        fd = (P.stage_loss(plus, H) - P.stage_loss(minus, H)) / (2 * h)
        assert float(g[i, j]) == pytest.approx(float(fd), rel=1e-6, abs=1e-10)


def test_pretraining_shapes(pre):
    assert len(pre.stages) == 2
    for stage, (d, h) in zip(pre.stages, [(64, 16), (16, 8)], strict=True):
        assert stage.encoder.W.shape == (d, h) and stage.encoder.b.shape == (h,)
        assert stage.decoder.W.shape == (h, d) and stage.decoder.b.shape == (d,)
    assert pre.output.W.shape == (8, 10)
    assert [layer.W.shape for layer in pre.network] == [(64, 16), (16, 8), (8, 10)]
    assert [H.shape[1] for H in pre.inputs] == [64, 16]


def test_each_stage_reconstructs_its_own_inputs_better_than_at_init(pre):
    for start, stage, H in zip(pre.initial_stages, pre.stages, pre.inputs, strict=True):
        assert float(P.stage_loss(stage, H)) < 0.5 * float(P.stage_loss(start, H))


def test_stage_inputs_are_the_codes_of_the_stages_below(pre, digits):
    np.testing.assert_array_equal(pre.inputs[0], digits.X)
    np.testing.assert_array_equal(pre.inputs[1], P.encode(pre.stages[0].encoder, digits.X))


def test_the_output_layer_is_fitted_on_the_codes_and_beats_chance(pre, digits):
    assert P.accuracy(pre.network, digits) > 0.3  # labels only used here, 10 classes


def test_fine_tuning_starts_exactly_from_the_pretrained_weights(pre, digits):
    tuned, losses = P.fine_tune(pre.network, digits.X, digits.y, steps=5, lr=0.01)
    assert float(losses[0]) == float(mlp.loss(pre.network, digits.X, digits.y))
    for layer, stage in zip(pre.network[:-1], pre.stages, strict=True):
        assert layer.W is stage.encoder.W  # the encoders themselves, not copies
    assert float(losses[-1]) < float(losses[0])
    moved = P.relative_change(pre.network, tuned)
    want = [
        np.linalg.norm(np.asarray(a.W) - np.asarray(b.W)) / np.linalg.norm(np.asarray(b.W))
        for b, a in zip(pre.network, tuned, strict=True)
    ]
    np.testing.assert_allclose(moved, want, rtol=1e-10)


def test_greedy_pretrain_is_deterministic(digits):
    a = P.greedy_pretrain(digits.X, digits.y, key=KEY, sizes=(64, 4, 10), steps=5)
    b = P.greedy_pretrain(digits.X, digits.y, key=KEY, sizes=(64, 4, 10), steps=5)
    for x, y in zip(jax.tree.leaves(a.network), jax.tree.leaves(b.network), strict=True):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda X, y: P.greedy_pretrain(X, y, key=None, sizes=SIZES), TypeError, "key"),
        (lambda X, y: P.greedy_pretrain(X, y, key=KEY, sizes=(64, 10)), ValueError, "hidden"),
        (lambda X, y: P.greedy_pretrain(X, y, key=KEY, sizes=(32, 8, 10)), ValueError, "features"),
        (lambda X, y: P.greedy_pretrain(X, y + 10, key=KEY, sizes=SIZES), ValueError, "y"),
        (lambda X, y: P.greedy_pretrain(X, y, key=KEY, sizes=SIZES, lr=0), ValueError, "lr"),
        (
            lambda X, y: P.train_stage(P.init_stage(key=KEY, d=5, h=2), X, steps=3),
            ValueError,
            "columns",
        ),
        (lambda X, y: P.train_stage("stage", X, steps=3), TypeError, "Stage"),
        (lambda X, y: P.fine_tune(mlp.init(SIZES, key=KEY), X, y, steps=0), ValueError, "steps"),
        (
            lambda X, y: P.relative_change(mlp.init(SIZES, key=KEY), mlp.init((64, 10), key=KEY)),
            ValueError,
            "layers",
        ),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(call, error, match, digits):
    with pytest.raises(error, match=match):
        call(digits.X, digits.y)
