"""course_lib.rbf_classifiers: the margin updates of Eq 5.10/5.12 (and Ex 5.2) against jax.grad
and finite differences, XOR made separable with W = [1, -1, 1, -1], the best-line baseline
against brute force, training, no recompiles, bad input."""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import data, rbf
from course_lib import rbf_classifiers as RC

KEY = jax.random.key(0)

LOSS_FNS = {
    "perceptron": lambda z: jnp.maximum(-z, 0.0),
    "hinge": lambda z: jnp.maximum(1.0 - z, 0.0),
    "logistic": lambda z: jnp.log1p(jnp.exp(-z)),
}


@pytest.mark.parametrize("loss", RC.LOSSES)
def test_margin_update_is_minus_the_gradient_of_the_summed_loss_plus_decay(loss):
    rng = np.random.default_rng(1)
    with jax.enable_x64(True):
        H, W = rng.random((16, 5)), rng.normal(size=5)
        y = np.where(rng.random(16) < 0.5, -1.0, 1.0)
        lr, lam = 0.3, 0.2
        z = y * (H @ W)
        assert np.min(np.abs(z)) > 1e-3 and np.min(np.abs(z - 1)) > 1e-3  # away from kinks

        def J(w):
            return jnp.sum(LOSS_FNS[loss](y * (H @ w))) + 0.5 * lam * w @ w

        new = np.asarray(RC.margin_update(W, H, y, loss=loss, lr=lr, lam=lam))
        np.testing.assert_allclose(new, W - lr * jax.grad(J)(W), rtol=1e-12, atol=1e-12)
        eps = 1e-6
        fd = np.array([(J(W + eps * e) - J(W - eps * e)) / (2 * eps) for e in np.eye(5)])
        np.testing.assert_allclose(new, W - lr * fd, rtol=1e-7, atol=1e-8)
        # the book's form, a loop over the set S+ (Eq 5.10 / 5.12)
        book = W * (1 - lr * lam)
        for h, t, zi in zip(H, y, z, strict=True):
            if loss == "perceptron" and zi <= 0 or loss == "hinge" and zi < 1:
                book = book + lr * t * h
            elif loss == "logistic":
                book = book + lr * t * h / (1 + np.exp(zi))
        np.testing.assert_allclose(new, book, rtol=1e-12)


def test_xor_prototypes_with_the_books_weights_classify_every_point_for_every_sigma():
    X, y = data.xor_blobs(key=KEY, n=400, noise=0.2)
    for sigma in np.geomspace(0.2, 10.0, 9):
        H = rbf.rbf_activations(X, RC.XOR_PROTOTYPES, sigma)
        assert float(RC.accuracy(RC.XOR_WEIGHTS, H, y)) == 1.0, sigma
    # the score is 2C[cosh((x1+x2)/s^2) - cosh((x1-x2)/s^2)]: its sign is sign(x1 x2)
    with jax.enable_x64(True):
        Xg = np.random.default_rng(0).normal(size=(200, 2))
        s = np.asarray(rbf.rbf_activations(Xg, RC.XOR_PROTOTYPES, 0.7)) @ np.asarray(RC.XOR_WEIGHTS)
        np.testing.assert_array_equal(np.sign(s), np.sign(Xg[:, 0] * Xg[:, 1]))
    assert float(RC.best_linear_accuracy(X, y)) < 0.8


def test_best_linear_accuracy_equals_a_brute_force_over_lines_through_point_pairs():
    X, y = data.xor_blobs(key=jax.random.fold_in(KEY, 1), n=24, noise=0.6)
    Xn, yn = np.asarray(X, np.float64), np.asarray(y)
    best = 0.0
    for i, j in itertools.combinations(range(24), 2):  # lines through two points, nudged
        d = Xn[j] - Xn[i]
        u = np.array([-d[1], d[0]])
        for shift in (-1e-9, 1e-9):
            for sign in (-1, 1):
                pred = np.sign(sign * ((Xn - Xn[i]) @ u + shift))
                best = max(best, np.mean(pred == yn))
    got = float(RC.best_linear_accuracy(X, y, angles=4000))
    assert got <= best + 1e-9 and got >= best - 1 / 24 - 1e-9


def test_fit_output_trains_a_hinge_rbf_on_rings_deterministically_without_recompiling():
    X, lab = RC.rings(key=KEY, n=200, k=2, noise=0.1)
    y = jnp.where(lab == 0, -1.0, 1.0)
    assert float(RC.best_linear_accuracy(X, y)) < 0.8
    H = rbf.rbf_activations(X, X[:20], 1.0)
    H = jnp.hstack([H, jnp.ones((200, 1))])
    fit = RC.fit_output(H, y, loss="hinge", lr=0.1, lam=1e-3, epochs=40, batch_size=20, key=KEY)
    assert fit.W.shape == (21,) and fit.accuracy.shape == (40,) and fit.active.shape == (40,)
    assert float(fit.accuracy[-1]) >= 0.97
    np.testing.assert_array_equal(
        fit.W,
        RC.fit_output(H, y, loss="hinge", lr=0.1, lam=1e-3, epochs=40, batch_size=20, key=KEY).W,
    )
    before = RC.fit_output_cache_size()
    for loss in RC.LOSSES:
        RC.fit_output(H, y, loss=loss, lr=0.05, lam=0.0, epochs=40, batch_size=20, key=KEY)
    assert RC.fit_output_cache_size() == before


def test_rings_shapes_and_radii():
    X, lab = RC.rings(key=KEY, n=300, k=3, noise=0.0)
    r = np.linalg.norm(np.asarray(X), axis=1)
    np.testing.assert_allclose(r, np.asarray(lab) + 1.0, rtol=1e-5)
    assert set(np.asarray(lab).tolist()) == {0, 1, 2}


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (
            lambda: RC.margin_update(np.ones(3), np.ones((4, 2)), np.ones(4), loss="hinge", lr=0.1),
            ValueError,
            "one weight per column",
        ),
        (
            lambda: RC.margin_update(np.ones(2), np.ones((4, 2)), np.ones(4), loss="svm", lr=0.1),
            ValueError,
            "unknown loss",
        ),
        (
            lambda: RC.margin_update(
                np.ones(2), np.ones((4, 2)), np.zeros(4), loss="hinge", lr=0.1
            ),
            ValueError,
            "labels -1 and",
        ),
        (
            lambda: RC.margin_update(
                np.ones(2), np.ones((4, 2)), np.ones(4), loss="hinge", lr=-1.0
            ),
            ValueError,
            "lr",
        ),
        (
            lambda: RC.fit_output(
                np.ones((4, 2)), np.ones(4), loss="hinge", lr=0.1, epochs=2, batch_size=8, key=KEY
            ),
            ValueError,
            "batch_size",
        ),
        (
            lambda: RC.fit_output(
                np.ones((4, 2)), np.ones(4), loss="hinge", lr=0.1, epochs=2, batch_size=2, key=None
            ),
            TypeError,
            "key",
        ),
        (lambda: RC.best_linear_accuracy(np.ones((4, 3)), np.ones(4)), ValueError, "2 columns"),
        (lambda: RC.rings(key=KEY, n=0), ValueError, "positive integer"),
    ],
)
def test_bad_input_is_rejected_with_a_clear_message(call, error, words):
    with pytest.raises(error, match=words):
        call()
