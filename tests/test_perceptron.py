"""Tests for course_lib.perceptron: the jitted, scanned perceptron and margin-loss SGD against a
plain Python/NumPy loop, Novikoff's convergence theorem measured on keyed data, the XOR cycle of
Exercise 1.4, and the no-recompile contract."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import nnls

from course_lib import data, losses, perceptron

KEY = jax.random.key(0)
N, D, EPOCHS = 25, 3, 8  # one shape for most tests, so _fit compiles once per loss


# ---------------------------------------------------------------- an independent oracle


def numpy_dloss(loss, z):
    """L'(z) from the book's formulas, written again here (not read from course_lib)."""
    if loss == "perceptron":
        return -1.0 if z <= 0 else 0.0
    if loss == "hinge":
        return -1.0 if z < 1 else 0.0
    if loss == "logistic":
        return -1.0 / (1.0 + np.exp(z))
    raise AssertionError(loss)


def numpy_sgd(X, y, *, epochs, lr, w0=None, orders=None, loss="perceptron"):
    """Plain loops: visit examples in order, w <- w - lr L'(y w.x) y x; a perceptron step
    (L' = -1 when y w.x <= 0) is w <- w + lr y x."""
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    n, d = X.shape
    w = np.zeros(d) if w0 is None else np.array(w0, dtype=np.float64)
    orders = np.tile(np.arange(n), (epochs, 1)) if orders is None else np.asarray(orders)
    mistakes, updated, weights = [], [], []
    for e in range(epochs):
        count, flags, path = 0, [], []
        for i in orders[e]:
            z = y[i] * sum(w[j] * X[i, j] for j in range(d))
            count += z <= 0
            new_w = w - lr * numpy_dloss(loss, z) * y[i] * X[i]
            flags.append(bool(np.any(new_w != w)))  # "updated" means the step changed w
            w = new_w
            path.append(w.copy())
        mistakes.append(count)
        updated.append(flags)
        weights.append(path)
    return w, np.array(mistakes), np.array(updated), np.array(weights)


def assert_same_run(res, oracle):
    w, mistakes, updated, weights = oracle
    # Same additions in the same order; only the dot product may round differently.
    np.testing.assert_allclose(res.w, w, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(res.history.mistakes, mistakes)
    np.testing.assert_array_equal(res.history.updated, updated)
    np.testing.assert_allclose(res.history.weights, weights, rtol=1e-12, atol=1e-14)


def separable(seed, n=N, d=D, margin=0.1):
    ds = data.linearly_separable(key=jax.random.key(seed), n=n, d=d, margin=margin)
    return ds.X, ds.y


def noisy(seed, n=N, d=D):
    """Not separable (random labels), so the perceptron keeps updating."""
    rng = np.random.default_rng(seed)
    return jnp.asarray(rng.normal(size=(n, d))), jnp.asarray(rng.choice([-1.0, 1.0], size=n))


DATASETS = [("separable", s) for s in (1, 2, 3)] + [("noisy", s) for s in (4, 5, 6)]
MAKERS = {"separable": separable, "noisy": noisy}


# ---------------------------------------------------------------- fit against the oracle


@pytest.mark.parametrize(("kind", "seed"), DATASETS)
@pytest.mark.parametrize("lr", [1.0, 0.37])
def test_fit_equals_numpy_loop_in_row_order(kind, seed, lr):
    X, y = MAKERS[kind](seed)
    res = perceptron.fit(X, y, epochs=EPOCHS, lr=lr)
    np.testing.assert_array_equal(res.history.order, np.tile(np.arange(N), (EPOCHS, 1)))
    assert_same_run(res, numpy_sgd(X, y, epochs=EPOCHS, lr=lr))
    assert res.history.mistakes.sum() > 0  # something happened


@pytest.mark.parametrize(("kind", "seed"), DATASETS)
def test_fit_with_shuffle_key_equals_numpy_loop_replaying_the_order(kind, seed):
    X, y = MAKERS[kind](seed)
    w0 = np.random.default_rng(seed).normal(size=D)
    res = perceptron.fit(X, y, epochs=EPOCHS, lr=0.5, w0=w0, shuffle_key=jax.random.key(seed))
    order = np.asarray(res.history.order)
    # Each epoch visits every example once, in a fresh order.
    assert order.shape == (EPOCHS, N)
    np.testing.assert_array_equal(np.sort(order, axis=1), np.tile(np.arange(N), (EPOCHS, 1)))
    assert len({tuple(o) for o in order.tolist()}) == EPOCHS
    assert_same_run(res, numpy_sgd(X, y, epochs=EPOCHS, lr=0.5, w0=w0, orders=order))
    # The same key gives the same run.
    again = perceptron.fit(X, y, epochs=EPOCHS, lr=0.5, w0=w0, shuffle_key=jax.random.key(seed))
    np.testing.assert_array_equal(again.history.order, order)
    np.testing.assert_array_equal(again.w, res.w)


def test_updated_means_the_weights_changed():
    """XOR in {0, 1} form with a bias column and an all-zero example: an update may change only
    some coordinates (still an update), and a mistake on x = 0 changes nothing (not one)."""
    X01, y01 = data.xor_01()
    X = jnp.concatenate([data.add_bias(X01), jnp.zeros((1, 3))])
    y = jnp.concatenate([y01, jnp.array([1.0])])
    res = perceptron.fit(X, y, epochs=4)
    assert_same_run(res, numpy_sgd(X, y, epochs=4, lr=1.0))
    h = res.history
    np.testing.assert_array_equal(h.updated[:, -1], False)  # x = 0: always a mistake, no change
    assert int(h.mistakes.sum()) == int(np.sum(np.asarray(h.updated))) + 4


def test_history_shapes_and_properties():
    X, y = noisy(0)
    res = perceptron.fit(X, y, epochs=EPOCHS)
    h = res.history
    assert res.w.shape == (D,)
    assert h.mistakes.shape == (EPOCHS,) and jnp.issubdtype(h.mistakes.dtype, jnp.integer)
    assert h.updated.shape == (EPOCHS, N) and h.updated.dtype == jnp.bool_
    assert h.weights.shape == (EPOCHS, N, D)
    assert h.order.shape == (EPOCHS, N)
    np.testing.assert_array_equal(h.weights[-1, -1], res.w)
    assert int(res.num_updates) == int(np.sum(np.asarray(h.updated)))
    assert bool(res.converged) == (int(h.mistakes[-1]) == 0)
    # For the perceptron an update happens exactly at a mistake.
    np.testing.assert_array_equal(h.mistakes, np.sum(np.asarray(h.updated), axis=1))
    path = perceptron.update_path(res)
    assert path.shape == (int(res.num_updates) + 1, D)
    np.testing.assert_array_equal(path[0], np.zeros(D))
    np.testing.assert_array_equal(path[-1], res.w)


def test_epoch_equals_one_epoch_of_fit():
    X, y = noisy(7)
    w0 = np.array([0.3, -0.2, 0.1])
    w, mistakes = perceptron.epoch(w0, X, y, lr=0.7)
    res = perceptron.fit(X, y, epochs=1, lr=0.7, w0=w0)
    np.testing.assert_array_equal(w, res.w)
    assert int(mistakes) == int(res.history.mistakes[0])
    w_np, m_np, _, _ = numpy_sgd(X, y, epochs=1, lr=0.7, w0=w0)
    np.testing.assert_allclose(w, w_np, rtol=1e-12, atol=1e-14)
    assert int(mistakes) == int(m_np[0]) > 0


def test_epoch_with_hinge_loss():
    X, y = noisy(8)
    w, _ = perceptron.epoch(np.zeros(D), X, y, lr=0.1, loss="hinge")
    w_np, _, _, _ = numpy_sgd(X, y, epochs=1, lr=0.1, loss="hinge")
    np.testing.assert_allclose(w, w_np, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("loss", ["hinge", "logistic"])
@pytest.mark.parametrize("shuffle", [False, True])
def test_fit_sgd_equals_numpy_sgd_loop(loss, shuffle):
    X, y = separable(11)
    key = jax.random.key(11) if shuffle else None
    res = perceptron.fit_sgd(X, y, loss=loss, epochs=EPOCHS, lr=0.1, shuffle_key=key)
    oracle = numpy_sgd(X, y, epochs=EPOCHS, lr=0.1, orders=res.history.order, loss=loss)
    assert_same_run(res, oracle)
    if loss == "hinge":
        # The hinge keeps updating correctly classified points inside the margin (z < 1):
        # more updates than mistakes, unlike the perceptron.
        assert int(res.num_updates) > int(res.history.mistakes.sum())


def test_fit_is_fit_sgd_with_the_perceptron_criterion():
    X, y = noisy(12)
    a = perceptron.fit(X, y, epochs=EPOCHS, lr=0.5)
    b = perceptron.fit_sgd(X, y, loss="perceptron", epochs=EPOCHS, lr=0.5)
    for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(u, v)


# ---------------------------------------------------------------- the perceptron is SGD


def test_step_is_sgd_on_the_perceptron_criterion():
    rng = np.random.default_rng(13)
    for _ in range(5):
        w, x = jnp.asarray(rng.normal(size=D)), jnp.asarray(rng.normal(size=D))
        z0 = float(w @ x)
        for y, lr in ((1.0, 0.5), (-1.0, 2.0)):
            y = jnp.asarray(y)
            lr = jnp.asarray(lr)
            new_w, mistake = perceptron.step(w, x, y, lr)
            grad = jax.grad(lambda w, x=x, y=y: losses.perceptron(y * w @ x))(w)
            if float(y) * z0 < 0:  # misclassified: a gradient step, and grad = -y x
                assert bool(mistake)
                np.testing.assert_allclose(grad, -y * x, rtol=1e-15)
                np.testing.assert_allclose(new_w, w - lr * grad, rtol=1e-14)
                np.testing.assert_allclose(new_w, w + lr * y * x, rtol=1e-14)
            else:  # correct: the criterion is flat there, nothing moves
                assert not bool(mistake)
                np.testing.assert_array_equal(grad, 0.0)
                np.testing.assert_array_equal(new_w, w)


def test_step_on_the_boundary_counts_as_a_mistake():
    """From w = 0 every point has y w.x = 0: the update must fire, or learning never starts."""
    x, y = jnp.array([1.0, -2.0]), jnp.asarray(-1.0)
    new_w, mistake = perceptron.step(jnp.zeros(2), x, y, jnp.asarray(1.0))
    assert bool(mistake)
    np.testing.assert_array_equal(new_w, y * x)


# ---------------------------------------------------------------- convergence theorem


@pytest.mark.parametrize("d", [2, 3])
def test_novikoff_bound_and_proof_invariants(d):
    """Over 16 keyed datasets per dimension with margins in [0.05, 0.5]: the number of updates
    from w = 0 is at most (R/γ)², training ends with no mistake, and along the updates
    w*·w_t ≥ tγ and ‖w_t‖² ≤ tR² (the two halves of the proof)."""
    n, count = 200, 16
    # Log-uniform margins, so that the hard end of the range (γ near 0.05) is well represented.
    margins = np.exp(np.random.default_rng(d).uniform(np.log(0.05), np.log(0.5), size=count))
    # One compile per (n, d): generate in a loop, then train all datasets at once with vmap.
    sets = [
        data.linearly_separable(key=jax.random.key(1000 * d + b), n=n, d=d, margin=float(m))
        for b, m in enumerate(margins)
    ]
    # Convergence is checked (the last epoch is mistake-free), and after it nothing changes,
    # so num_updates is final. The theorem would only force it within 401 epochs (R ≤ 1 and
    # γ ≥ 0.05 allow 400 updates); in practice a few epochs suffice, and 40 keeps this fast.
    epochs = 40
    fit_all = jax.vmap(lambda X, y: perceptron.fit(X, y, epochs=epochs))
    results = fit_all(jnp.stack([ds.X for ds in sets]), jnp.stack([ds.y for ds in sets]))
    results = jax.tree.map(np.asarray, results)  # slice on the host: no per-dataset compiles
    updates = []
    for b, ds in enumerate(sets):
        res = jax.tree.map(lambda a, b=b: a[b], results)
        X, y, w_star = np.asarray(ds.X), np.asarray(ds.y), np.asarray(ds.w_star)
        gamma, R = float(ds.margin), float(ds.radius)
        assert gamma >= margins[b] - 1e-12 and R <= 1.0 + 1e-12
        t_total = int(res.num_updates)
        updates.append(t_total)
        assert t_total <= (R / gamma) ** 2
        assert bool(res.converged)
        assert np.all(np.sign(X @ res.w) == y)  # zero training mistakes
        path = np.asarray(perceptron.update_path(res))
        assert path.shape == (t_total + 1, d)
        t = np.arange(t_total + 1)
        assert np.all(path @ w_star >= t * gamma - 1e-9)
        assert np.all(np.sum(path**2, axis=1) <= t * R**2 + 1e-9)
    # The check is not vacuous: some runs need several updates. (Measured: 1 to a few dozen
    # updates against bounds of about 4 to 400; on this data the bound is far from tight.)
    assert max(updates) >= 5


# ---------------------------------------------------------------- learning rate and XOR


@pytest.mark.parametrize(("kind", "seed"), [("separable", 21), ("noisy", 22)])
def test_learning_rate_only_rescales_the_weights_from_zero(kind, seed):
    X, y = MAKERS[kind](seed)
    key = jax.random.key(seed)
    a = perceptron.fit(X, y, epochs=EPOCHS, lr=1.0, shuffle_key=key)
    b = perceptron.fit(X, y, epochs=EPOCHS, lr=0.01, shuffle_key=key)
    np.testing.assert_array_equal(a.history.mistakes, b.history.mistakes)
    np.testing.assert_array_equal(a.history.updated, b.history.updated)
    np.testing.assert_allclose(b.history.weights, 0.01 * a.history.weights, rtol=1e-12, atol=1e-15)
    assert int(a.num_updates) > 0


def test_xor_cycles_with_period_four_and_never_converges():
    """Exercise 1.4: ±1-XOR from w = 0 with α = 1."""
    X, y = data.xor_pm1()
    epochs = 6
    res = perceptron.fit(X, y, epochs=epochs, lr=1.0)
    np.testing.assert_array_equal(res.history.mistakes, np.full(epochs, 4))
    assert bool(np.all(np.asarray(res.history.updated)))
    assert not bool(res.converged)
    path = np.asarray(perceptron.update_path(res))
    assert path.shape == (4 * epochs + 1, 2)
    np.testing.assert_array_equal(path[4:], path[:-4])  # period 4 ...
    assert not np.array_equal(path[2:], path[:-2])  # ... and not 2 (nor 1)
    assert np.max(np.abs(path)) <= 1.0  # bounded: it cycles rather than diverges
    # Same as the oracle loop.
    assert_same_run(res, numpy_sgd(X, y, epochs=epochs, lr=1.0))


# ---------------------------------------------------------------- jit and vmap


def test_changing_lr_does_not_recompile():
    X, y = noisy(30)
    perceptron.fit(X, y, epochs=EPOCHS, lr=1.0)
    size = perceptron._fit._cache_size()
    perceptron.fit(X, y, epochs=EPOCHS, lr=0.25)
    perceptron.fit(X, y, epochs=EPOCHS, lr=3)  # a Python int too
    X2, y2 = noisy(31)
    perceptron.fit(X2, y2, epochs=EPOCHS, lr=0.5, w0=np.ones(D))  # new data, same shapes
    assert perceptron._fit._cache_size() == size
    # A new number of epochs is a new shape: that one does compile (the assert above can fail).
    perceptron.fit(X, y, epochs=EPOCHS + 5, lr=1.0)
    assert perceptron._fit._cache_size() <= size + 1


def test_fit_vmaps_over_a_batch_of_datasets():
    Xs = jnp.stack([separable(s)[0] for s in (41, 42)] + [noisy(s)[0] for s in (43, 44)])
    ys = jnp.stack([separable(s)[1] for s in (41, 42)] + [noisy(s)[1] for s in (43, 44)])
    counts = jax.vmap(lambda X, y: perceptron.fit(X, y, epochs=10).num_updates)(Xs, ys)
    assert counts.shape == (4,)
    for b in range(4):
        _, _, updated, _ = numpy_sgd(Xs[b], ys[b], epochs=10, lr=1.0)
        assert int(counts[b]) == int(updated.sum())


# ---------------------------------------------------------------- predict and accuracy


def test_predict_and_accuracy():
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, -2.0], [2.0, -2.0]])
    w = np.array([1.0, -1.0])
    scores = X @ w  # [1, -1, 0, 1, 4]
    np.testing.assert_array_equal(perceptron.predict(w, X), np.sign(scores))
    assert float(perceptron.predict(w, X)[2]) == 0.0  # on the boundary
    y = np.array([1.0, -1.0, 1.0, -1.0, 1.0])
    # The boundary point counts as wrong whatever its label; point 3 is simply wrong.
    assert float(perceptron.accuracy(w, X, y)) == pytest.approx(np.mean(np.sign(scores) == y))
    assert float(perceptron.accuracy(w, X, y)) == pytest.approx(3 / 5)


def test_a_converged_perceptron_has_full_training_accuracy():
    X, y = separable(50, margin=0.2)
    res = perceptron.fit(X, y, epochs=EPOCHS * 20)
    assert bool(res.converged)
    assert float(perceptron.accuracy(res.w, X, y)) == 1.0


def test_predict_and_accuracy_errors():
    X = np.ones((4, 3))
    with pytest.raises(ValueError, match=r"`w` must have one weight per feature"):
        perceptron.predict(np.ones(2), X)
    with pytest.raises(ValueError, match=r"`y`.*-1 and \+1"):
        perceptron.accuracy(np.ones(3), X, np.array([0.0, 1.0, 1.0, 0.0]))
    with pytest.raises(ValueError, match=r"`y`.*\(4,\)"):
        perceptron.accuracy(np.ones(3), X, np.ones(3))


# ---------------------------------------------------------------- errors


def test_fit_errors():
    X, y = noisy(60)
    with pytest.raises(ValueError, match=r"`y` must contain only the labels -1 and \+1.*2\*y - 1"):
        perceptron.fit(X, (y + 1) / 2, epochs=2)
    Xnan = X.at[3, 1].set(jnp.nan)
    with pytest.raises(ValueError, match=r"`X` contains 1 NaN"):
        perceptron.fit(Xnan, y, epochs=2)
    for lr in (0.0, -0.5, float("nan")):
        with pytest.raises(ValueError, match=r"`lr` must be positive"):
            perceptron.fit(X, y, epochs=2, lr=lr)
    with pytest.raises(ValueError, match=r"`epochs` must be a positive integer"):
        perceptron.fit(X, y, epochs=0)
    with pytest.raises(TypeError, match=r"`epochs` must be a positive integer"):
        perceptron.fit(X, y, epochs=1.5)
    with pytest.raises(ValueError, match=r"`w0` must have one weight per feature.*\(2,\)"):
        perceptron.fit(X, y, epochs=2, w0=np.zeros(2))
    with pytest.raises(ValueError, match=r"`w0`.*NaN"):
        perceptron.fit(X, y, epochs=2, w0=np.array([0.0, np.nan, 0.0]))
    with pytest.raises(ValueError, match=r"`X` must be 2-dimensional"):
        perceptron.fit(X[:, 0], y, epochs=2)
    with pytest.raises(ValueError, match=r"`y` must have one label per example"):
        perceptron.fit(X, y[:-1], epochs=2)
    for bad_key in (0, np.array([1, 2], dtype=np.uint32), jnp.array([1, 2, 3], jnp.uint32)):
        with pytest.raises(TypeError, match=r"`shuffle_key` must be a JAX random key"):
            perceptron.fit(X, y, epochs=2, shuffle_key=bad_key)
    with pytest.raises(ValueError, match=r"unknown loss 'svm'"):
        perceptron.fit_sgd(X, y, loss="svm", epochs=2)


def test_epoch_errors():
    X, y = noisy(61)
    with pytest.raises(ValueError, match=r"`lr` must be positive"):
        perceptron.epoch(np.zeros(D), X, y, lr=0.0)
    with pytest.raises(ValueError, match=r"`X` contains"):
        perceptron.epoch(np.zeros(D), X.at[0, 0].set(jnp.inf), y)
    with pytest.raises(ValueError, match=r"`w` must have one weight per feature"):
        perceptron.epoch(np.zeros(D + 1), X, y)


def test_keep_weights_false_records_the_same_counts_without_weights():
    ds = data.linearly_separable(key=jax.random.key(11), n=30, margin=0.05)
    full = perceptron.fit(ds.X, ds.y, epochs=15)
    light = perceptron.fit(ds.X, ds.y, epochs=15, keep_weights=False)
    assert light.history.weights is None
    np.testing.assert_array_equal(light.history.mistakes, full.history.mistakes)
    np.testing.assert_array_equal(light.history.updated, full.history.updated)
    np.testing.assert_array_equal(light.w, full.w)
    with pytest.raises(ValueError, match="keep_weights=True"):
        perceptron.update_path(light)
    with pytest.raises(TypeError, match="keep_weights"):
        perceptron.fit(ds.X, ds.y, epochs=2, keep_weights="no")


def test_docstring_example_runs():
    import doctest

    result = doctest.testmod(perceptron, verbose=False)
    assert result.attempted >= 3 and result.failed == 0


# ---------------------------------------------------------------- max_margin


def test_max_margin_of_two_points_by_hand():
    # z1 = (1, 0) and z2 = (0, 1): the closest point of their hull to 0 is (1/2, 1/2),
    # so gamma* = 1/sqrt(2) with w* = (1, 1)/sqrt(2); the labels flip the rows of X.
    X = np.array([[1.0, 0.0], [0.0, -1.0]])
    y = np.array([1.0, -1.0])
    res = perceptron.max_margin(X, y)
    np.testing.assert_allclose(res.w, [2**-0.5, 2**-0.5], atol=1e-12)
    assert abs(res.margin - 2**-0.5) < 1e-12
    assert abs(res.upper - 2**-0.5) < 1e-12


def brute_force_margin_2d(X, y, num=200_001):
    """max over the angle of min_i y_i (cos t, sin t).x_i on a fine grid (an independent oracle,
    a lower bound on gamma* that is within about R * (pi / num) of it)."""
    t = np.linspace(0.0, 2 * np.pi, num)
    U = np.stack([np.cos(t), np.sin(t)], axis=1)  # (num, 2)
    Z = np.asarray(y, float)[:, None] * np.asarray(X, float)
    return float(np.max(np.min(U @ Z.T, axis=1)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_max_margin_against_a_brute_force_angle_search_in_2d(seed):
    ds = data.linearly_separable(key=jax.random.key(seed), n=30, d=2, margin=0.05)
    res = perceptron.max_margin(ds.X, ds.y)
    brute = brute_force_margin_2d(ds.X, ds.y)
    assert brute <= res.margin + 1e-12  # nothing beats the optimum ...
    assert res.margin - brute < 1e-4  # ... and the grid gets within its resolution of it
    assert res.upper - res.margin < 1e-10  # the duality certificate
    assert abs(np.linalg.norm(res.w) - 1.0) < 1e-12


@pytest.mark.parametrize("d", [2, 5])
def test_max_margin_is_at_least_the_planted_margin(d):
    ds = data.linearly_separable(key=jax.random.key(7), n=100, d=d, margin=0.02)
    res = perceptron.max_margin(ds.X, ds.y)
    Z = np.asarray(ds.y, float)[:, None] * np.asarray(ds.X, float)
    assert res.margin >= float(np.min(Z @ np.asarray(ds.w_star, float))) - 1e-7
    assert res.upper - res.margin < 1e-10
    # optimality: w* is a non-negative combination of the points at the margin (KKT)
    support = Z[Z @ res.w < res.margin + 1e-9]
    _, residual = nnls(support.T, res.w)
    assert residual < 1e-9 and len(support) <= d + 1


def test_max_margin_rejects_inseparable_data_and_bad_input():
    xor = data.xor_pm1()
    with pytest.raises(ValueError, match="not linearly separable"):
        perceptron.max_margin(xor.X, xor.y)
    with pytest.raises(ValueError, match="`y`"):
        perceptron.max_margin(np.ones((3, 2)), np.array([1.0, 0.0, -1.0]))
    with pytest.raises(ValueError, match="`X`"):
        perceptron.max_margin(np.ones(3), np.ones(3))
