"""Tests for course_lib.linear_models: closed forms against NumPy, hand gradients and updates
against jax.grad and central differences, the trainers against independent loops and against
the book's claims (Fisher = Widrow–Hoff on centred data, k = 2 reductions, at most two rows
per multiclass-perceptron update), the no-recompile promise, and every input error."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import data, linear_models, losses, perceptron

BINARY = linear_models.BINARY_LOSSES
MULTI = linear_models.MULTICLASS_LOSSES


def _two_gaussians(seed, n=80, d=3, shift=2.0):
    rng = np.random.default_rng(seed)
    y = np.where(rng.random(n) < 0.5, 1.0, -1.0)
    X = rng.normal(size=(n, d)) + shift * y[:, None] * np.linspace(1.0, 0.3, d)[None, :]
    return X, y


# ------------------------------------------------------------------------------ closed forms


@pytest.mark.parametrize("lam", [0.0, 0.5, 7.0])
def test_ridge_closed_form_matches_numpy_lstsq_of_the_augmented_system(lam):
    """min ||Xw - y||^2 + lam ||w||^2 is least squares on [X; sqrt(lam) I] and [y; 0]."""
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(30, 4)), rng.normal(size=30)
    A = np.vstack([X, math.sqrt(lam) * np.eye(4)])
    b = np.concatenate([y, np.zeros(4)])
    expected = np.linalg.lstsq(A, b, rcond=None)[0]
    np.testing.assert_allclose(linear_models.ridge_closed_form(X, y, lam), expected, rtol=1e-10)


def test_gradient_descent_converges_to_the_closed_form():
    """Full-batch GD on mean (y - w.x)^2 + lam/2 ||w||^2 reaches (X^T X + n lam/2 I)^{-1} X^T y."""
    X, y = _two_gaussians(2, n=60, d=3)
    X = np.hstack([X / 2.0, np.ones((60, 1))])
    n, lam = X.shape[0], 0.1
    closed = linear_models.ridge_closed_form(X, y, n * lam / 2)
    fit = linear_models.fit_binary(X, y, loss="widrow_hoff", lr=0.1, lam=lam, steps=3000)
    np.testing.assert_allclose(fit.w, closed, atol=1e-3)
    assert np.max(np.abs(np.asarray(fit.w) - np.asarray(closed))) < 1e-6  # in float64, far less
    assert np.all(np.diff(np.asarray(fit.objective)) <= 1e-12)  # GD on a convex quadratic


def test_fisher_direction_matches_a_numpy_computation():
    X, y = _two_gaussians(3)
    mu_p, mu_n = X[y > 0].mean(0), X[y < 0].mean(0)
    Sw = sum(
        np.outer(x - (mu_p if t > 0 else mu_n), x - (mu_p if t > 0 else mu_n))
        for x, t in zip(X, y, strict=True)
    )
    np.testing.assert_allclose(
        linear_models.fisher_direction(X, y), np.linalg.solve(Sw, mu_p - mu_n), rtol=1e-10
    )


def test_widrow_hoff_on_centred_data_is_parallel_to_fisher():
    """§2.2.2.1: least squares on centred data (±1 targets) points along S_w^{-1}(mu+ - mu-)."""
    X, y = _two_gaussians(4, n=100, d=4)
    Xc = X - X.mean(0)
    fisher = np.asarray(linear_models.fisher_direction(X, y))
    cos = lambda a, b: float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))  # noqa: E731
    exact = np.asarray(linear_models.ridge_closed_form(Xc, y, 0.0))
    assert cos(exact, fisher) > 1 - 1e-12
    learned = np.asarray(linear_models.fit_binary(Xc, y, loss="widrow_hoff", lr=0.1, steps=500).w)
    assert cos(learned, fisher) > 0.999
    # and not trivially: the plain mean difference is a different direction here
    assert cos(X[y > 0].mean(0) - X[y < 0].mean(0), fisher) < 0.999


def test_fisher_needs_both_classes():
    with pytest.raises(ValueError, match=r"`y` must contain both classes"):
        linear_models.fisher_direction(np.ones((4, 2)), np.ones(4))


# ------------------------------------------------------------------------------ binary models


@pytest.mark.parametrize("name", BINARY)
def test_mistake_factor_times_scale_is_minus_the_derivative(name):
    """Ex 2.13: -dL/dz = s * delta, s = 2 for the squared losses (the book drops it, Eq 2.7)."""
    z = np.linspace(-3.0, 3.0, 61) + 0.013  # off the kinks
    auto = -jax.vmap(jax.grad(losses.get(name).fn))(jnp.asarray(z))
    delta = np.asarray(linear_models.mistake_factor(name, z))
    np.testing.assert_allclose(
        linear_models.delta_scale(name) * delta, auto, rtol=1e-12, atol=1e-15
    )


def test_mistake_factor_formulas_of_exercise_2_13():
    z = np.array([-2.0, -0.5, 0.0, 0.5, 1.0, 2.0])
    expected = {
        "perceptron": (z <= 0).astype(float),
        "hinge": (z < 1).astype(float),
        "logistic": 1.0 / (1.0 + np.exp(z)),
        "widrow_hoff": 1.0 - z,
        "l2_svm": np.maximum(1.0 - z, 0.0),
    }
    for name, want in expected.items():
        np.testing.assert_allclose(linear_models.mistake_factor(name, z), want, rtol=1e-12)
    assert (
        linear_models.delta_scale("widrow_hoff") == 2.0
        and linear_models.delta_scale("hinge") == 1.0
    )
    # Only Widrow–Hoff pushes back on a point that is "too correct" (z > 1).
    for name in BINARY:
        assert (float(linear_models.mistake_factor(name, 2.0)) < 0) == (name == "widrow_hoff")


def test_book_drops_the_factor_two_of_the_squared_loss(fd_gradient):
    """Eq 2.7 writes d e^2/dW = -e X; the true gradient (jax.grad and FD) is -2 e X."""
    rng = np.random.default_rng(5)
    w, x, y = rng.normal(size=3), rng.normal(size=3), 1.0
    sq = lambda w: (y - w @ x) ** 2  # noqa: E731
    e = y - w @ x
    np.testing.assert_allclose(jax.grad(sq)(jnp.asarray(w)), -2 * e * x, rtol=1e-12)
    np.testing.assert_allclose(fd_gradient(sq, w), -2 * e * x, rtol=1e-6)
    assert not np.allclose(np.asarray(jax.grad(sq)(jnp.asarray(w))), -e * x)


@pytest.mark.parametrize("name", BINARY)
def test_one_gd_step_is_the_hand_gradient_of_the_objective(name, fd_gradient):
    """fit_binary with one step from w0 equals w0 - lr grad J; grad J from jax.grad and FD."""
    X, y = _two_gaussians(6, n=20, d=3, shift=0.5)
    rng = np.random.default_rng(7)
    w0 = rng.normal(size=3)
    lr, lam = 0.3, 0.2
    loss = losses.get(name).fn

    def J(w):
        return jnp.mean(loss(jnp.asarray(y) * (jnp.asarray(X) @ w))) + 0.5 * lam * jnp.sum(w**2)

    fit = linear_models.fit_binary(X, y, loss=name, lr=lr, lam=lam, steps=1, w0=w0)
    np.testing.assert_allclose(
        fit.w, w0 - lr * np.asarray(jax.grad(J)(jnp.asarray(w0))), rtol=1e-10
    )
    np.testing.assert_allclose(fit.w, w0 - lr * fd_gradient(J, w0), rtol=1e-6, atol=1e-8)
    assert float(fit.objective[0]) == pytest.approx(float(J(jnp.asarray(w0))), rel=1e-12)


@pytest.mark.parametrize("name", BINARY)
def test_update_has_the_mistake_function_form(name):
    """W(1 - a lam) + a y delta X (times the scale) equals W - a (dL/dW + lam W)."""
    rng = np.random.default_rng(8)
    w, x, y, a, lam = rng.normal(size=4), rng.normal(size=4), -1.0, 0.1, 0.5
    z = y * (w @ x)
    by_delta = (
        w * (1 - a * lam)
        + a * linear_models.delta_scale(name) * y * float(linear_models.mistake_factor(name, z)) * x
    )
    grad = jax.grad(lambda w: losses.get(name).fn(y * (w @ jnp.asarray(x))))(jnp.asarray(w))
    np.testing.assert_allclose(by_delta, w - a * (np.asarray(grad) + lam * w), rtol=1e-12)


def test_fit_binary_never_recompiles_for_loss_lr_or_lam():
    X, y = _two_gaussians(9, n=17, d=2)
    linear_models.fit_binary(X, y, loss="hinge", lr=0.1, steps=7)
    before = linear_models.fit_binary_cache_size()
    for name in BINARY:
        for lr, lam in [(0.5, 0.0), (0.01, 3.0)]:
            linear_models.fit_binary(X, y, loss=name, lr=lr, lam=lam, steps=7)
    assert linear_models.fit_binary_cache_size() == before


def test_only_widrow_hoff_is_dragged_by_a_far_correct_point():
    """Fig 2.4 caption: a point far on the correct side moves the least-squares boundary only."""
    X, y = _two_gaussians(10, n=60, d=2, shift=1.5)
    X_out = np.vstack([X, [[25.0, 8.0]]])
    y_out = np.append(y, 1.0)
    assert np.array([25.0, 8.0]) @ np.array([1.0, 0.65]) > 0  # on the +1 side of the data
    moved = {}
    for name in ("hinge", "logistic", "widrow_hoff"):
        kw = dict(loss=name, lr=0.05, lam=0.01, steps=3000)
        w0 = np.asarray(linear_models.fit_binary(data.add_bias(X), y, **kw).w)
        w1 = np.asarray(linear_models.fit_binary(data.add_bias(X_out), y_out, **kw).w)
        moved[name] = 1 - w0 @ w1 / np.linalg.norm(w0) / np.linalg.norm(w1)
        acc0 = np.mean(np.sign(data.add_bias(X) @ w0) == y)
        acc1 = np.mean(np.sign(data.add_bias(X) @ w1) == y)
        if name == "widrow_hoff":
            assert acc1 < acc0 - 0.1  # the outlier costs it real mistakes on the other points
        else:
            assert acc1 == acc0
    assert moved["widrow_hoff"] > 0.1 > 1e-4 > max(moved["hinge"], moved["logistic"])


# ------------------------------------------------------------------------------ multiclass


def _blobs():
    ds = data.blobs(key=jax.random.key(0), n=60)
    return np.asarray(data.add_bias(ds.X)), np.asarray(ds.y)


@pytest.mark.parametrize("name", MULTI)
def test_multiclass_step_is_minus_lr_times_the_gradient(name, fd_gradient):
    rng = np.random.default_rng(11)
    W, x, c = rng.normal(size=(3, 4)), rng.normal(size=4), 2
    lr, lam = 0.2, 0.3
    loss = losses.get_multiclass(name).fn

    def J(W):
        return loss(W @ jnp.asarray(x), jnp.asarray(c)) + 0.5 * lam * jnp.sum(W**2)

    index = jnp.asarray(MULTI.index(name))
    new_W, rows = linear_models.multiclass_sgd_step(
        jnp.asarray(W), jnp.asarray(x), jnp.asarray(c), lr, lam, index
    )
    np.testing.assert_allclose(new_W, W - lr * np.asarray(jax.grad(J)(jnp.asarray(W))), rtol=1e-10)
    np.testing.assert_allclose(new_W, W - lr * fd_gradient(J, W), rtol=1e-6, atol=1e-8)
    g = np.asarray(losses.get_multiclass(name).grad(W @ x, jnp.asarray(c)))
    assert int(rows) == np.sum(g != 0)


def test_multiclass_fit_matches_a_numpy_sgd_loop():
    X, y = _blobs()
    key = jax.random.key(3)
    fit = linear_models.multiclass_fit(
        X, y, loss="weston_watkins", lr=0.1, lam=0.01, epochs=3, key=key
    )
    W = np.zeros((3, 3))
    for order in np.asarray(fit.history.order):
        for i in order:
            v = W @ X[i]
            delta = np.array([float(r != y[i] and v[r] - v[y[i]] + 1 > 0) for r in range(3)])
            g = delta.copy()
            g[y[i]] = -delta.sum()
            W = W * (1 - 0.1 * 0.01) - 0.1 * np.outer(g, X[i])
    np.testing.assert_allclose(fit.W, W, rtol=1e-10, atol=1e-12)
    # the visiting order is perceptron.fit_sgd's, from the same key
    ref = perceptron.fit_sgd(
        X, np.where(y == 0, 1.0, -1.0), loss="hinge", epochs=3, shuffle_key=key
    )
    np.testing.assert_array_equal(fit.history.order, ref.history.order)


def test_multiclass_perceptron_changes_at_most_two_rows_weston_watkins_more():
    X, y = _blobs()
    kw = dict(lr=0.5, epochs=4, key=jax.random.key(4))
    rows_p = np.asarray(
        linear_models.multiclass_fit(X, y, loss="multiclass_perceptron", **kw).history.rows_changed
    )
    rows_ww = np.asarray(
        linear_models.multiclass_fit(X, y, loss="weston_watkins", **kw).history.rows_changed
    )
    rows_sm = np.asarray(
        linear_models.multiclass_fit(X, y, loss="softmax", **kw).history.rows_changed
    )
    assert set(rows_p.ravel()) == {0, 2}
    assert rows_ww.max() == 3
    assert np.all(rows_sm == 3)


@pytest.mark.parametrize(
    ("multi", "binary"),
    [("multiclass_perceptron", "perceptron"), ("weston_watkins", "hinge"), ("softmax", "logistic")],
)
def test_two_class_sgd_is_binary_sgd_on_w1_minus_w2_with_twice_the_step(multi, binary):
    """Exercises 2.3-2.5: from W = 0, W_0 = -W_1 and W_0 - W_1 follows binary SGD with step 2 lr."""
    X, y = _two_gaussians(12, n=40, d=3, shift=0.7)
    labels = np.where(y > 0, 0, 1)
    key = jax.random.key(5)
    fit = linear_models.multiclass_fit(X, labels, loss=multi, lr=0.25, epochs=5, key=key)
    ref = perceptron.fit_sgd(X, y, loss=binary, lr=0.5, epochs=5, shuffle_key=key)
    np.testing.assert_allclose(fit.W[0], -fit.W[1], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(fit.W[0] - fit.W[1], ref.w, rtol=1e-10, atol=1e-12)
    assert np.linalg.norm(np.asarray(ref.w)) > 0.1


def test_multiclass_fit_learns_blobs_and_digits():
    X, y = _blobs()
    for name in MULTI:
        fit = linear_models.multiclass_fit(
            X, y, loss=name, lr=0.1, lam=1e-3, epochs=10, key=jax.random.key(6)
        )
        assert float(linear_models.accuracy(fit.W, X, y)) > 0.95
        assert (
            fit.history.objective[-1] < fit.history.objective[0] or name == "multiclass_perceptron"
        )


def test_multiclass_fit_is_deterministic_and_never_recompiles():
    X, y = _blobs()
    a = linear_models.multiclass_fit(X, y, loss="softmax", lr=0.1, epochs=2, key=jax.random.key(7))
    before = linear_models.multiclass_fit_cache_size()
    b = linear_models.multiclass_fit(X, y, loss="softmax", lr=0.1, epochs=2, key=jax.random.key(7))
    np.testing.assert_array_equal(a.W, b.W)
    for name in MULTI:
        linear_models.multiclass_fit(
            X, y, loss=name, lr=0.3, lam=0.2, epochs=2, key=jax.random.key(8)
        )
    assert linear_models.multiclass_fit_cache_size() == before
    c = linear_models.multiclass_fit(X, y, loss="softmax", lr=0.1, epochs=2, key=jax.random.key(9))
    assert not np.array_equal(np.asarray(a.W), np.asarray(c.W))


def test_objective_predict_accuracy_match_numpy():
    X, y = _blobs()
    W = np.random.default_rng(13).normal(size=(3, 3))
    v = X @ W.T
    for name in MULTI:
        per = [losses.get_multiclass(name).fn(v[i], jnp.asarray(y[i])) for i in range(len(y))]
        want = np.mean(per) + 0.5 * 0.4 * np.sum(W**2)
        got = linear_models.multiclass_objective(W, X, y, loss=name, lam=0.4)
        assert float(got) == pytest.approx(want, rel=1e-12)
    np.testing.assert_array_equal(linear_models.predict_class(W, X), np.argmax(v, axis=1))
    assert float(linear_models.accuracy(W, X, y)) == pytest.approx(np.mean(np.argmax(v, 1) == y))


# ------------------------------------------------------------------------------ saliency


def test_saliency_of_a_linear_model_is_the_winning_row():
    rng = np.random.default_rng(14)
    W, x = jnp.asarray(rng.normal(size=(4, 6))), jnp.asarray(rng.normal(size=6))
    sal, m = linear_models.saliency(lambda x: W @ x, x)
    assert int(m) == int(np.argmax(np.asarray(W @ x)))
    np.testing.assert_allclose(sal, np.abs(np.asarray(W)[int(m)]), rtol=1e-12)


def test_saliency_of_a_nonlinear_model_matches_finite_differences(fd_gradient):
    rng = np.random.default_rng(15)
    A, B = rng.normal(size=(5, 3)), rng.normal(size=(2, 5))
    f = lambda x: jnp.asarray(B) @ jnp.tanh(jnp.asarray(A) @ x)  # noqa: E731
    x = rng.normal(size=3)
    sal, m = linear_models.saliency(f, x)
    fd = fd_gradient(lambda x: f(x)[int(m)], x)
    np.testing.assert_allclose(sal, np.abs(fd), rtol=1e-6, atol=1e-9)


# ------------------------------------------------------------------------------ input errors


def test_input_errors_name_the_argument():
    X, y = _two_gaussians(16, n=10, d=2)
    with pytest.raises(ValueError, match=r"unknown loss 'svm'; choose one of"):
        linear_models.fit_binary(X, y, loss="svm", lr=0.1, steps=3)
    with pytest.raises(ValueError, match=r"unknown loss 'zero_one'"):
        linear_models.fit_binary(X, y, loss="zero_one", lr=0.1, steps=3)  # no gradient to follow
    with pytest.raises(ValueError, match=r"`lr` must be positive"):
        linear_models.fit_binary(X, y, loss="hinge", lr=-1.0, steps=3)
    with pytest.raises(ValueError, match=r"`lam` must be non-negative"):
        linear_models.fit_binary(X, y, loss="hinge", lr=0.1, lam=-1.0, steps=3)
    with pytest.raises(ValueError, match=r"`y` must contain only the labels -1 and \+1"):
        linear_models.fit_binary(X, (y > 0).astype(float), loss="hinge", lr=0.1, steps=3)
    with pytest.raises(ValueError, match=r"`w0` must have shape \(2,\)"):
        linear_models.fit_binary(X, y, loss="hinge", lr=0.1, steps=3, w0=np.zeros(3))
    with pytest.raises(TypeError, match=r"`steps` must be a positive integer"):
        linear_models.fit_binary(X, y, loss="hinge", lr=0.1, steps=2.0)
    with pytest.raises(ValueError, match=r"`lam` must be non-negative"):
        linear_models.ridge_closed_form(X, y, -0.1)
    with pytest.raises(ValueError, match=r"`X` and `y` must have the same number of rows"):
        linear_models.ridge_closed_form(X, y[:5])
    with pytest.raises(ValueError, match=r"unknown loss 'l1'"):
        linear_models.mistake_factor("l1", 0.0)


def test_multiclass_input_errors():
    X, y = _blobs()
    kw = dict(loss="softmax", lr=0.1, epochs=1)
    with pytest.raises(TypeError, match=r"`key` is required"):
        linear_models.multiclass_fit(X, y, key=None, **kw)
    with pytest.raises(TypeError, match=r"`labels` must be integer"):
        linear_models.multiclass_fit(X, y.astype(float), key=jax.random.key(0), **kw)
    with pytest.raises(ValueError, match=r"`labels` must have shape \(60,\)"):
        linear_models.multiclass_fit(X, y[:5], key=jax.random.key(0), **kw)
    with pytest.raises(ValueError, match=r"`num_classes` must be at least 2 and larger"):
        linear_models.multiclass_fit(X, y, key=jax.random.key(0), num_classes=2, **kw)
    with pytest.raises(ValueError, match=r"unknown loss 'hinge'"):
        linear_models.multiclass_fit(X, y, key=jax.random.key(0), loss="hinge", lr=0.1, epochs=1)
    with pytest.raises(ValueError, match=r"`W0` must have shape \(3, 3\)"):
        linear_models.multiclass_fit(X, y, key=jax.random.key(0), W0=np.zeros((2, 3)), **kw)
    with pytest.raises(ValueError, match=r"`W` must have one column per feature"):
        linear_models.predict_class(np.zeros((3, 2)), X)
    with pytest.raises(ValueError, match=r"`labels` must lie in 0\.\.1"):
        linear_models.accuracy(np.zeros((2, 3)), X, y)
    with pytest.raises(TypeError, match=r"`scores_fn` must be a function"):
        linear_models.saliency(np.zeros(3), X[0])
    with pytest.raises(ValueError, match=r"must return a vector of class scores"):
        linear_models.saliency(lambda x: jnp.sum(x), X[0])


# ------------------------------------------------------------------------------ the chapter's demo


def test_multiclass_explorer_computes_draws_and_never_recompiles():
    """The widget of notebooks/ch02a (widgets.multiclass_explorer)."""
    import matplotlib

    matplotlib.use("Agg")

    from course_lib import widgets

    ds = data.blobs(key=jax.random.key(1), n=45)
    demo = widgets.multiclass_explorer(ds.X, ds.y, key=jax.random.key(2), epochs=3)
    before = linear_models.multiclass_fit_cache_size()
    runs = [demo.compute(loss=name, lam=lam) for name in MULTI for lam in (1e-4, 1.0)]
    assert linear_models.multiclass_fit_cache_size() == before
    assert all(0.0 <= r.accuracy <= 1.0 for r in runs)
    small, big = runs[4].fit.W, runs[5].fit.W  # softmax, lambda 1e-4 then 1
    assert np.linalg.norm(np.asarray(big)) < np.linalg.norm(np.asarray(small))
    # the picture: the regions of the shown fit, its accuracy in the title; drawn in place
    demo.set(loss=MULTI[0], lam=1e-4)
    assert demo.view.title.get_text().startswith(f"{MULTI[0]}: training accuracy")
    regions = demo.frame.copy()
    demo.set(loss="softmax")
    assert not np.array_equal(demo.frame, regions)
    assert demo.view.live.full_draws == 1
