"""course_lib.dropout: masks, inverted scaling, exact enumeration, weight scaling, training."""

from __future__ import annotations

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import data, mlp
from course_lib import dropout as D

KEY = jax.random.key(0)


def test_mask_is_bernoulli_with_the_keep_probability():
    mask = D.dropout_mask(key=KEY, shape=(200, 100), keep=0.7)
    assert set(np.unique(np.asarray(mask)).tolist()) == {0.0, 1.0}
    sd = math.sqrt(0.7 * 0.3 / mask.size)  # binomial standard error of the mean
    assert abs(float(mask.mean()) - 0.7) < 4 * sd


def test_inverted_dropout_keeps_or_zeroes_and_scales_by_one_over_keep():
    x = jax.random.normal(jax.random.key(1), (30, 8)) + 3.0
    out = D.dropout(x, key=KEY, keep=0.6)
    kept = np.asarray(out) != 0
    mask = np.asarray(jax.random.bernoulli(KEY, 0.6, x.shape))
    np.testing.assert_array_equal(kept, mask)  # the mask comes from the key, as documented
    np.testing.assert_allclose(np.asarray(out)[kept], np.asarray(x)[kept] / 0.6, rtol=1e-14)
    np.testing.assert_array_equal(D.dropout(x, key=KEY, keep=1.0), x)


def test_the_derivative_of_dropout_is_the_mask_over_keep_by_grad_and_finite_differences():
    x = jax.random.normal(jax.random.key(2), (12,))
    mask = np.asarray(jax.random.bernoulli(KEY, 0.5, x.shape), float)
    g = jax.grad(lambda v: jnp.sum(D.dropout(v, key=KEY, keep=0.5)))(x)
    np.testing.assert_allclose(g, mask / 0.5, rtol=1e-14)
    h = 1e-6
    fd = [
        (
            jnp.sum(D.dropout(x + h * e, key=KEY, keep=0.5))
            - jnp.sum(D.dropout(x - h * e, key=KEY, keep=0.5))
        )
        / (2 * h)
        for e in jnp.eye(12)
    ]
    np.testing.assert_allclose(fd, mask / 0.5, rtol=1e-8)


def test_monte_carlo_mean_of_a_dropout_linear_layer_is_the_plain_output():
    """N masks; each output coordinate's error is within 5 standard errors of the exact 0."""
    d, k, N, keep = 6, 3, 20_000, 0.7
    W = jax.random.normal(jax.random.key(3), (d, k))
    x = jax.random.normal(jax.random.key(4), (d,))
    outs = jax.vmap(lambda kk: D.dropout(x, key=kk, keep=keep) @ W)(jax.random.split(KEY, N))
    var = ((x[:, None] * W) ** 2).sum(axis=0) * (1 - keep) / keep  # per coordinate
    err = np.abs(np.asarray(outs.mean(axis=0) - x @ W))
    assert np.all(err < 5 * np.sqrt(np.asarray(var) / N))


def test_all_masks_are_every_binary_vector_once():
    masks = D.all_masks(5)
    assert masks.shape == (32, 5)
    assert {tuple(r) for r in masks.astype(int).tolist()} == set(
        itertools.product([0, 1], repeat=5)
    )


def test_mask_probabilities_are_the_product_of_bernoullis_and_sum_to_one():
    masks = D.all_masks(4)
    probs = np.asarray(D.mask_probabilities(masks, 0.3))
    want = [np.prod([0.3 if b else 0.7 for b in row]) for row in masks]
    np.testing.assert_allclose(probs, want, rtol=1e-13)
    assert probs.sum() == pytest.approx(1.0, abs=1e-14)


def test_enumerated_expectation_of_a_linear_layer_is_exactly_the_test_time_output():
    W = jax.random.normal(jax.random.key(5), (8, 3))
    b = jax.random.normal(jax.random.key(6), (3,))
    x = jax.random.normal(jax.random.key(7), (4, 8))
    for keep in (0.5, 0.8, 0.25):
        mean, test_time = D.linear_expectation(W, b, x, keep=keep)
        assert np.max(np.abs(mean - test_time)) < 1e-12


def _geometric_loop(params, X, keep, layer, activation="tanh"):
    """An independent geometric mean: a Python loop over the masks, in NumPy."""
    act = {"tanh": np.tanh, "relu": lambda z: np.maximum(z, 0)}[activation]
    Ws = [(np.asarray(p.W, float), np.asarray(p.b, float)) for p in params]
    M = Ws[layer][0].shape[0]
    acc = 0.0
    for bits in itertools.product([0, 1], repeat=M):
        m = np.array(bits, float)
        h = np.asarray(X, float)
        for k, (W, b) in enumerate(Ws):
            if k == layer:
                h = h * m
            h = h @ W + b
            if k < len(Ws) - 1:
                h = act(h)
        logp = h - np.log(np.exp(h).sum(axis=1, keepdims=True))
        acc = acc + keep ** m.sum() * (1 - keep) ** (M - m.sum()) * logp
    g = np.exp(acc)
    return g / g.sum(axis=1, keepdims=True)


def test_softmax_regression_weight_scaling_is_the_exact_geometric_mean():
    params = mlp.init((8, 4), key=jax.random.key(8), scheme="normal", scale=1.0)
    X = jax.random.normal(jax.random.key(9), (20, 8))
    for keep in (0.5, 0.8):
        ens = D.mask_ensemble(params, X, keep=keep)
        assert np.max(np.abs(ens.geometric - ens.weight_scaled)) < 1e-12
        np.testing.assert_allclose(ens.geometric, _geometric_loop(params, X, keep, 0), atol=1e-12)
        assert np.max(np.abs(ens.arithmetic - ens.weight_scaled)) > 1e-3  # not the arithmetic mean
        np.testing.assert_allclose(ens.arithmetic.sum(axis=1), 1.0, atol=1e-12)


def test_with_a_nonlinearity_after_the_dropped_units_weight_scaling_is_only_approximate():
    params = mlp.init((6, 10, 3), key=jax.random.key(10), scheme="normal", scale=1.0)
    X = jax.random.normal(jax.random.key(11), (15, 6))
    ens = D.mask_ensemble(params, X, keep=0.5, layer=0, activation="tanh")
    np.testing.assert_allclose(ens.geometric, _geometric_loop(params, X, 0.5, 0), atol=1e-12)
    assert np.max(np.abs(ens.geometric - ens.weight_scaled)) > 1e-3
    # dropping only the last hidden layer keeps the logits affine in the mask: exact again
    last = D.mask_ensemble(params, X, keep=0.5, layer=1, activation="tanh")
    assert np.max(np.abs(last.geometric - last.weight_scaled)) < 1e-12


def test_compare_dropout_with_keep_one_trains_two_identical_networks():
    digits = data.digits()
    train = data.Dataset(digits.X[:60], digits.y[:60])
    test = data.Dataset(digits.X[60:100], digits.y[60:100])
    runs = D.compare_dropout(
        train, test, key=KEY, sizes=(64, 8, 10), seeds=2, steps=5, keep_in=1.0, keep_hidden=1.0
    )
    assert runs.train_accuracy.shape == (2, 2) and runs.loss_gap.shape == (2, 2)
    np.testing.assert_array_equal(runs.train_loss[:, 0], runs.train_loss[:, 1])
    np.testing.assert_array_equal(runs.test_accuracy[:, 0], runs.test_accuracy[:, 1])
    # the plain configuration is ordinary training: the same as mlp.train's loss would give
    drop = D.compare_dropout(train, test, key=KEY, sizes=(64, 8, 10), seeds=2, steps=5)
    np.testing.assert_array_equal(drop.train_loss[:, 0], runs.train_loss[:, 0])
    assert np.all(drop.train_loss[:, 1] != drop.train_loss[:, 0])


def test_dropout_loss_with_keep_one_has_the_gradient_of_the_plain_loss():
    params = mlp.init((5, 7, 3), key=jax.random.key(12), scheme="he")
    X = jax.random.normal(jax.random.key(13), (9, 5))
    y = jnp.array([0, 1, 2, 0, 1, 2, 0, 1, 2])
    g = jax.grad(D._dropout_loss)(params, X, y, KEY, 1.0, 1.0, "relu")
    want = jax.grad(mlp.loss)(params, X, y, "relu")
    for a, b in zip(jax.tree.leaves(g), jax.tree.leaves(want), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: D.dropout(jnp.ones(3), key=KEY, keep=0.0), ValueError, "keep"),
        (lambda: D.dropout(jnp.ones(3), key=KEY, keep=1.5), ValueError, "keep"),
        (lambda: D.dropout(jnp.ones(3), key=None, keep=0.5), TypeError, "key"),
        (lambda: D.dropout_mask(key=KEY, shape=(3,), keep=-0.1), ValueError, "keep"),
        (lambda: D.all_masks(17), ValueError, "at most 16"),
        (
            lambda: D.mask_ensemble(mlp.init((3, 2), key=KEY), jnp.ones((2, 3)), keep=0.5, layer=1),
            ValueError,
            "layer",
        ),
        (
            lambda: D.mask_ensemble(mlp.init((3, 2), key=KEY), jnp.ones((2, 4)), keep=0.5),
            ValueError,
            "features",
        ),
        (
            lambda: D.linear_expectation(jnp.ones((3, 2)), jnp.ones(3), jnp.ones((1, 3)), keep=0.5),
            ValueError,
            "shapes",
        ),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(call, error, match):
    with pytest.raises(error, match=match):
        call()
