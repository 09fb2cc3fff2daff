"""course_lib.margin_classifiers: the pocket loop against a NumPy loop, Eq 2.15 against the
logistic loss, its gradient against jax.grad and finite differences (float64), Newton's fit
against a NumPy Newton, the SVM path against a brute-force search in 2-D and the hard-margin
solver, determinism, no recompiles, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import widget_views

from course_lib import data, margin_classifiers, perceptron

RNG = np.random.default_rng(0)


def _integer_blobs(seed, n=30):
    r = np.random.default_rng(seed)
    a = np.round(r.normal([1.5, 1.5], 1.8, (n // 2, 2)))
    b = np.round(r.normal([-1.5, -1.5], 1.8, (n // 2, 2)))
    X = np.c_[np.r_[a, b], np.ones(n)]
    y = np.r_[np.ones(n // 2), -np.ones(n // 2)]
    return X.astype(np.float32), y.astype(np.float32)


def test_pocket_matches_a_numpy_loop_and_its_errors_never_increase():
    X, y = _integer_blobs(1)
    key = jax.random.key(3)
    run = margin_classifiers.pocket(X, y, key=key, epochs=4)
    order = np.asarray(data.epoch_orders(key=key, n=len(y), epochs=4)).reshape(-1)
    w, best_w, best_e = np.zeros(3), np.zeros(3), len(y)
    for t, i in enumerate(order):
        if y[i] * (X[i] @ w) <= 0:
            w = w + y[i] * X[i]
        e = int(np.sum(y * (X @ w) <= 0))
        if e < best_e:
            best_w, best_e = w.copy(), e
        assert int(run.errors[t]) == e
        assert float(run.criterion[t]) == np.sum(np.maximum(0, -y * (X @ w)))
        assert int(run.pocket_errors[t]) == best_e
        np.testing.assert_array_equal(run.w[t], w)
    np.testing.assert_array_equal(run.pocket_w, best_w)
    assert np.all(np.diff(np.asarray(run.pocket_errors)) <= 0)
    assert int(margin_classifiers.zero_one_errors(run.pocket_w, X, y)) == best_e


def test_pocket_is_deterministic_and_lr_does_not_recompile():
    X, y = _integer_blobs(2)
    a = margin_classifiers.pocket(X, y, key=jax.random.key(0), epochs=2)
    b = margin_classifiers.pocket(X, y, key=jax.random.key(0), epochs=2)
    np.testing.assert_array_equal(a.w, b.w)
    n = widget_views.compiles()
    c = margin_classifiers.pocket(X, y, key=jax.random.key(0), epochs=2, lr=2.0)
    assert widget_views.compiles() == n, "lr is traced"
    # from w0 = 0 the step size only rescales the weights: same errors
    np.testing.assert_array_equal(c.errors, a.errors)


def test_nll_eq215_equals_the_logistic_loss_and_its_gradient_is_right():
    with jax.enable_x64(True):
        X = jnp.asarray(RNG.normal(size=(20, 3)))
        y = jnp.asarray(np.where(RNG.random(20) < 0.5, 1.0, -1.0))
        w = jnp.asarray(RNG.normal(size=3))
        loop = sum(np.log1p(np.exp(-y[i] * float(X[i] @ w))) for i in range(20))
        np.testing.assert_allclose(margin_classifiers.nll_eq215(w, X, y), loop, rtol=1e-12)
        np.testing.assert_allclose(margin_classifiers.logistic_nll(w, X, y), loop, rtol=1e-12)
        g = margin_classifiers.logistic_nll_grad(w, X, y)
        np.testing.assert_allclose(
            g, jax.grad(margin_classifiers.logistic_nll)(w, X, y), rtol=1e-12
        )
        eps, fd = 1e-6, np.zeros(3)
        for j in range(3):
            e = jnp.zeros(3).at[j].set(eps)
            fd[j] = (
                margin_classifiers.logistic_nll(w + e, X, y)
                - margin_classifiers.logistic_nll(w - e, X, y)
            ) / (2 * eps)
        np.testing.assert_allclose(g, fd, rtol=1e-7)
        H = jax.hessian(margin_classifiers.logistic_nll)(w, X, y)
        np.testing.assert_allclose(margin_classifiers.fisher_information(w, X), H, rtol=1e-10)


def test_newton_fit_matches_numpy_newton_and_zeroes_the_gradient():
    with jax.enable_x64(True):
        X, y = margin_classifiers.logistic_data(
            key=jax.random.key(1), w=jnp.array([0.5, 1.0, -2.0]), n=300
        )
        w, hist = margin_classifiers.fit_logistic(X, y, steps=30)
        Xn, yn, v = np.asarray(X), np.asarray(y), np.zeros(3)
        for _ in range(30):
            p = 1 / (1 + np.exp(-Xn @ v))
            g = -Xn.T @ (yn / (1 + np.exp(yn * (Xn @ v))))
            v = v - np.linalg.solve((Xn * (p * (1 - p))[:, None]).T @ Xn, g)
        np.testing.assert_allclose(w, v, rtol=1e-10)
        assert float(jnp.max(jnp.abs(margin_classifiers.logistic_nll_grad(w, X, y)))) < 1e-9
        assert np.all(np.diff(np.asarray(hist)) <= 1e-12), "Newton from 0 descends here"


def _sep2d(seed, n=30):
    r = np.random.default_rng(seed)
    y = np.where(np.arange(n) < n // 2, 1.0, -1.0)
    along, across = y * (0.4 + np.abs(r.normal(size=n))), r.normal(0, 1.5, n)
    u = np.array([np.cos(0.5), np.sin(0.5)])
    return np.outer(along, u) + np.outer(across, [-u[1], u[0]]), y


def test_svm_path_against_brute_force_and_the_hard_margin():
    with jax.enable_x64(True):
        X, y = _sep2d(4)
        lams = jnp.array([0.01, 0.3, 3.0])
        path = margin_classifiers.svm_path(X, y, lams, epochs=300)
        assert float(jnp.max(jnp.abs(path.primal - path.dual))) < 1e-9, "duality gap"
        # brute force in 2-D: the primal over a fine polar grid of w, refined once
        for lam, w, primal in zip(lams, path.w, path.primal, strict=True):
            lam = float(lam)

            def obj(W, lam=lam):
                return lam / 2 * np.sum(W * W, 1) + np.maximum(0, 1 - y * (W @ X.T)).sum(1)

            ang = np.linspace(0, 2 * np.pi, 1441)
            r = np.geomspace(0.01, 50, 400)
            grid = (r[:, None, None] * np.stack([np.cos(ang), np.sin(ang)], -1)[None]).reshape(
                -1, 2
            )
            best = grid[np.argmin(obj(grid))]
            fine = best + np.stack(np.meshgrid(*[np.linspace(-0.02, 0.02, 201)] * 2), -1).reshape(
                -1, 2
            ) * max(1.0, np.linalg.norm(best))
            brute = obj(fine).min()
            assert float(primal) <= brute + 1e-12, "coordinate ascent beats the grid"
            assert brute - float(primal) < 1e-3 * max(1.0, brute)
            np.testing.assert_allclose(float(primal), obj(np.asarray(w)[None])[0], rtol=1e-12)
        hard = perceptron.max_margin(X, y)
        np.testing.assert_allclose(float(path.margin[0]), 2 * hard.margin, rtol=1e-9)
        assert np.all(np.diff(np.asarray(path.margin)) >= -1e-9)
        assert np.all(np.diff(np.asarray(path.hinge)) >= -1e-9)


def test_svm_path_is_deterministic_and_new_lams_do_not_recompile():
    X, y = _sep2d(5)
    a = margin_classifiers.svm_path(X, y, jnp.array([0.1, 1.0]), epochs=50)
    b = margin_classifiers.svm_path(X, y, jnp.array([0.1, 1.0]), epochs=50)
    np.testing.assert_array_equal(a.w, b.w)
    n = widget_views.compiles()
    margin_classifiers.svm_path(X, y, jnp.array([0.2, 2.0]), epochs=50)
    assert widget_views.compiles() == n, "lams are traced"


def test_bad_input_is_rejected():
    X, y = _integer_blobs(0, n=6)
    with pytest.raises(ValueError, match="`y` must contain only the labels -1 and \\+1"):
        margin_classifiers.pocket(X, (y + 1) / 2, key=jax.random.key(0), epochs=1)
    with pytest.raises(ValueError, match="`w0` must have shape \\(3,\\)"):
        margin_classifiers.pocket(X, y, key=jax.random.key(0), epochs=1, w0=np.zeros(2))
    with pytest.raises(TypeError, match="`epochs` must be a positive integer"):
        margin_classifiers.pocket(X, y, key=jax.random.key(0), epochs=1.5)
    with pytest.raises(ValueError, match="`w` must have one weight per column of X"):
        margin_classifiers.logistic_nll(np.zeros(2), X, y)
    with pytest.raises(ValueError, match="`lams` must all be positive"):
        margin_classifiers.svm_path(X, y, np.array([0.1, 0.0]))
    with pytest.raises(ValueError, match="`X` must be 2-dimensional"):
        margin_classifiers.svm_path(X[0], y, np.array([0.1]))
