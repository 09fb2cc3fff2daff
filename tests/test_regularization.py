"""course_lib.regularization: penalties, noise injection, L1, hidden-unit penalties, early stopping.

conftest turns on float64. Every hand formula is compared with ``jax.grad`` and with central
finite differences, and with an independent implementation where one exists: scikit-learn's
Lasso and a coordinate-descent loop written here in NumPy (the L1 solution), NumPy's normal
equations (ridge), a plain Python loop (the early-stopping rule), explicit gradient descent
(the shrinkage factors).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import data, linear_models, mlp, regularization

KEY = jax.random.key(0)


def _central_diff(f, x, eps=1e-6):
    x = np.asarray(x, dtype=np.float64)
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[idx] = eps
        g[idx] = (f(x + e) - f(x - e)) / (2 * eps)
    return g


def _problem(seed=1, n=60, d=12, k=3, noise=0.5):
    return regularization.planted_sparse(key=jax.random.key(seed), n=n, d=d, k=k, noise=noise)


# ------------------------------------------------------------------------------ weight decay


@pytest.mark.parametrize(("scale", "decay_factor"), [(0.5, 1.0), (1.0, 2.0)])
def test_decay_step_is_a_gradient_step_on_the_penalized_loss(scale, decay_factor):
    """E2: (lam/2)||w||^2 decays by 1 - a*lam; lam||w||^2 by 1 - 2a*lam. jax.grad and FD."""
    rng = np.random.default_rng(0)
    X, y, w = rng.standard_normal((15, 4)), rng.standard_normal(15), rng.standard_normal(4)
    lr, lam = 0.02, 0.8

    def data_loss(v):
        return jnp.sum((X @ v - y) ** 2)

    def objective(v):
        return data_loss(v) + scale * lam * jnp.sum(v**2)

    step = regularization.decay_step(w, jax.grad(data_loss)(w), lr=lr, decay=decay_factor * lam)
    np.testing.assert_allclose(step, w - lr * jax.grad(objective)(w), rtol=1e-13, atol=1e-14)
    fd = _central_diff(lambda v: float(objective(v)), w)
    np.testing.assert_allclose(step, w - lr * fd, rtol=1e-6, atol=1e-7)


def test_the_books_factor_on_lam_norm_squared_misses_alpha_lam_w():
    w, g = np.array([1.0, -2.0, 0.5]), np.array([0.3, 0.1, -0.2])
    lr, lam = 0.1, 0.5
    exact = w - lr * (g + 2 * lam * w)
    books = regularization.decay_step(w, g, lr=lr, decay=lam)
    np.testing.assert_allclose(exact - books, -lr * lam * w, atol=1e-15)


# ------------------------------------------------------------------------------ noise and L2


def test_expected_noisy_loss_matches_monte_carlo_within_four_standard_errors():
    rng = np.random.default_rng(1)
    w, x, y = rng.standard_normal(6), rng.standard_normal(6), 0.7
    for i, lam in enumerate([0.05, 0.3, 1.5]):
        draws = np.asarray(
            regularization.noisy_input_losses(
                w, x, y, lam=lam, key=jax.random.key(10 + i), samples=200_000
            )
        )
        exact = float(regularization.expected_noisy_loss(w, x, y, lam))
        r, v = y - w @ x, lam * w @ w
        var = 4 * r**2 * v + 2 * v**2  # the variance of (r - z)^2, z ~ N(0, v)
        assert abs(draws.var() / var - 1) < 0.05  # the variance formula itself
        assert abs(draws.mean() - exact) < 4 * np.sqrt(var / draws.size)
        assert exact == pytest.approx((y - w @ x) ** 2 + lam * w @ w, rel=1e-14)


def test_noisy_copies_converge_to_ridge_with_n_lambda():
    p = _problem(2, n=25, d=4, k=4)
    lam = 0.4
    ridge_n = np.asarray(linear_models.ridge_closed_form(p.X, p.y, 25 * lam))
    ridge_1 = np.asarray(linear_models.ridge_closed_form(p.X, p.y, lam))
    Xa, ya = regularization.noisy_copies(p.X, p.y, lam=lam, key=jax.random.key(3), copies=8000)
    assert Xa.shape == (8000 * 25, 4) and ya.shape == (8000 * 25,)
    np.testing.assert_array_equal(np.asarray(ya[:25]), np.asarray(p.y))
    w_aug = np.linalg.lstsq(np.asarray(Xa), np.asarray(ya), rcond=None)[0]
    assert np.linalg.norm(w_aug - ridge_n) / np.linalg.norm(ridge_n) < 0.02
    assert np.linalg.norm(w_aug - ridge_1) / np.linalg.norm(ridge_1) > 0.1


def test_noisy_copies_without_noise_are_plain_copies():
    p = _problem(4, n=5, d=3)
    Xa, _ = regularization.noisy_copies(p.X, p.y, lam=0.0, key=KEY, copies=3)
    np.testing.assert_array_equal(np.asarray(Xa), np.tile(np.asarray(p.X), (3, 1)))


# ------------------------------------------------------------------------------ L1, L2 fits


def test_planted_sparse_is_deterministic_and_sparse():
    a, b = _problem(5, n=30, d=20, k=4), _problem(5, n=30, d=20, k=4)
    np.testing.assert_array_equal(np.asarray(a.X), np.asarray(b.X))
    w = np.asarray(a.w_true)
    assert np.all(w[4:] == 0) and np.all((np.abs(w[:4]) >= 1) & (np.abs(w[:4]) <= 2))


def test_soft_threshold_is_the_l1_prox_by_brute_force():
    """S_t(v) = argmin_w (w - v)^2 / 2 + t|w|, found on a fine grid."""
    grid = np.linspace(-4, 4, 80001)
    for v in [-3.0, -0.4, 0.0, 0.2, 1.7]:
        for t in [0.0, 0.5, 1.0]:
            best = grid[np.argmin(0.5 * (grid - v) ** 2 + t * np.abs(grid))]
            assert float(regularization.soft_threshold(v, t)) == pytest.approx(best, abs=2e-4)


def test_fit_linear_l2_converges_to_the_closed_form_and_steps_are_gradient_steps():
    p = _problem(6)
    lam = 3.0
    lr = 0.5 / (float(np.linalg.norm(np.asarray(p.X), 2)) ** 2 + lam)
    fit = regularization.fit_linear(p.X, p.y, penalty="l2", lam=lam, lr=lr, steps=3000)
    X, y = np.asarray(p.X), np.asarray(p.y)
    np.testing.assert_allclose(
        fit.w, np.linalg.solve(X.T @ X + lam * np.eye(12), X.T @ y), atol=1e-9
    )

    def J(w):
        return jnp.sum((p.X @ w - p.y) ** 2) + lam * jnp.sum(w**2)

    w1 = fit.path[0]  # one step from 0
    np.testing.assert_allclose(w1, -lr * jax.grad(J)(jnp.zeros(12)), atol=1e-13)
    assert float(fit.objective[0]) == pytest.approx(float(J(jnp.zeros(12))))
    assert float(fit.objective[-1]) <= float(fit.objective[0])


def _coordinate_descent(X, y, lam, sweeps=3000):
    """min ||Xw - y||^2 + lam ||w||_1 one coordinate at a time (the exact 1-D minimizer)."""
    n, d = X.shape
    w = np.zeros(d)
    col_sq = (X**2).sum(axis=0)
    for _ in range(sweeps):
        for j in range(d):
            r = y - X @ w + X[:, j] * w[j]
            rho = X[:, j] @ r
            w[j] = np.sign(rho) * max(abs(rho) - lam / 2, 0.0) / col_sq[j]
    return w


def test_ista_fixed_point_equals_sklearn_lasso_and_coordinate_descent():
    from sklearn.linear_model import Lasso

    p = _problem(7, n=40, d=12, k=3, noise=0.5)
    X, y = np.asarray(p.X), np.asarray(p.y)
    lam = 8.0
    lr = float(regularization.stable_step(X))
    w = np.asarray(regularization.fit_linear(X, y, penalty="l1_ista", lam=lam, lr=lr, steps=5000).w)
    # sklearn minimizes ||y - Xw||^2 / (2n) + a ||w||_1: the same minimizer at a = lam / (2n)
    sk = Lasso(alpha=lam / (2 * 40), fit_intercept=False, tol=1e-14, max_iter=100_000).fit(X, y)
    np.testing.assert_allclose(w, sk.coef_, atol=1e-9)
    np.testing.assert_allclose(w, _coordinate_descent(X, y, lam, sweeps=500), atol=1e-9)
    assert np.sum(w == 0) >= 5 and np.all(w[:3] != 0)  # exact zeros, informative kept
    sol = regularization.penalized_solution(X, y, penalty="l1", lam=lam, steps=5000)
    np.testing.assert_allclose(sol, w, atol=1e-12)


def test_subgradient_hops_around_zero_on_the_scale_alpha_lambda():
    """E3: the book's update leaves no exact zero; null weights hop by ~alpha*lambda."""
    p = _problem(8, n=60, d=20, k=3)
    lr = float(regularization.stable_step(p.X))
    lam = 30.0
    fit = regularization.fit_linear(p.X, p.y, penalty="l1_subgradient", lam=lam, lr=lr, steps=3000)
    ista = regularization.fit_linear(p.X, p.y, penalty="l1_ista", lam=lam, lr=lr, steps=3000)
    null = np.asarray(ista.w) == 0
    assert null.sum() >= 10
    tail = np.abs(np.asarray(fit.path[-300:]))[:, null] / (lr * lam)
    assert np.all(np.asarray(fit.w) != 0)
    assert 0.05 < np.median(tail) < 2.0 and tail.max() < 6.0
    # one update changes a weight by lr*lam*sign(w) + lr*grad exactly
    w0 = np.asarray(fit.path[-2])
    g = 2 * np.asarray(p.X).T @ (np.asarray(p.X) @ w0 - np.asarray(p.y))
    np.testing.assert_allclose(fit.path[-1], w0 - lr * lam * np.sign(w0) - lr * g, atol=1e-12)


def test_lambda_sweep_matches_one_fit_per_lambda_and_ridge_norm_falls():
    p = _problem(9, n=80, d=10, k=3)
    X, y, Xv, yv = p.X[:40], p.y[:40], p.X[40:], p.y[40:]
    lams = np.geomspace(0.1, 100, 6)
    sw = regularization.lambda_sweep(X, y, Xv, yv, penalty="l2", lams=lams)
    for j, lam in enumerate(lams):
        w = np.asarray(linear_models.ridge_closed_form(X, y, lam))
        np.testing.assert_allclose(sw.w[j], w, atol=1e-10)
        assert float(sw.val_mse[j]) == pytest.approx(float(np.mean((np.asarray(Xv) @ w - yv) ** 2)))
    assert np.all(np.diff(np.linalg.norm(np.asarray(sw.w), axis=1)) < 0)
    assert np.all(np.diff(np.asarray(sw.train_mse)) > 0)
    assert np.all(np.asarray(sw.zeros) == 0)


def test_penalized_solution_does_not_recompile_for_new_lambda_or_penalty():
    p = _problem(10)
    regularization.penalized_solution(p.X, p.y, penalty="l1", lam=1.0, steps=50)
    before = regularization.penalized_solution_cache_size()
    for lam, pen in [(2.0, "l1"), (5.0, "l2"), (0.0, "l2")]:
        regularization.penalized_solution(p.X, p.y, penalty=pen, lam=lam, steps=50)
    assert regularization.penalized_solution_cache_size() == before
    regularization.fit_linear(p.X, p.y, penalty="l2", lam=1.0, lr=1e-3, steps=20)
    before = regularization.fit_linear_cache_size()
    for pen in regularization.PENALTIES:
        regularization.fit_linear(p.X, p.y, penalty=pen, lam=3.0, lr=2e-3, steps=20)
    assert regularization.fit_linear_cache_size() == before


# ------------------------------------------------------------------------------ hidden units


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
def test_hidden_l1_delta_equals_jax_grad_and_finite_differences(activation):
    a = np.array([[-2.0, -0.3, 0.4], [1.1, 2.5, -1.7]])  # no 0: |h| is smooth there
    lam = 0.7
    phi = {"tanh": jnp.tanh, "sigmoid": jax.nn.sigmoid, "relu": jax.nn.relu}[activation]

    def penalty(v):
        return lam * jnp.sum(jnp.abs(phi(v)))

    hand = regularization.hidden_l1_delta(a, lam, activation)
    np.testing.assert_allclose(hand, jax.grad(penalty)(a), atol=1e-14)
    np.testing.assert_allclose(hand, _central_diff(lambda v: float(penalty(v)), a), atol=1e-7)


def test_hidden_l1_loss_adds_the_mean_activity_and_training_sparsifies():
    digits = data.digits()
    X, y = digits.X[:300], digits.y[:300]
    params = mlp.init((64, 16, 10), key=jax.random.key(1), scheme="he")
    cache = mlp.forward_cache(params, X, "relu")
    activity = float(jnp.sum(jnp.abs(cache.post[1])) / 300)
    base = float(regularization.hidden_l1_loss(params, X, y, 0.0, "relu"))
    assert base == pytest.approx(float(mlp.loss(params, X, y, "relu")), rel=1e-12)
    assert float(regularization.hidden_l1_loss(params, X, y, 0.1, "relu")) == pytest.approx(
        base + 0.1 * activity, rel=1e-12
    )
    means = []
    for lam in [0.0, 0.02]:
        trained, curve = regularization.train_hidden_l1(params, X, y, lam=lam, lr=0.3, steps=100)
        assert float(curve[-1]) < float(curve[0])
        means.append(float(regularization.mean_abs_hidden(trained, X)))
    assert means[1] < 0.7 * means[0]


# ------------------------------------------------------------------------------ early stopping


def _rule(v, patience):
    best, best_t, wait = v[0], 0, 0
    for t in range(1, len(v)):
        if v[t] < best:
            best, best_t, wait = v[t], t, 0
        else:
            wait += 1
            if wait >= patience:
                return best_t, t
    return best_t, len(v) - 1


def test_early_stopping_rule_equals_a_python_loop():
    rng = np.random.default_rng(3)
    for trial in range(40):
        T = int(rng.integers(1, 30))
        v = np.round(rng.standard_normal(T).cumsum() * 0.3 + np.linspace(2, 0, T), 1)  # ties
        patience = int(rng.integers(1, 6))
        assert regularization.early_stopping(v, patience) == _rule(list(v), patience), trial


def test_early_stopping_fit_restores_the_best_epoch_exactly():
    p = regularization.planted_sparse(key=jax.random.key(11), n=230, d=40, k=40, noise=2.0)
    X, y, Xv, yv = p.X[:30], p.y[:30], p.X[30:], p.y[30:]
    lr = float(regularization.stable_step(X))
    run = regularization.early_stopping_fit(X, y, Xv, yv, lr=lr, epochs=200, patience=15)
    b, s = int(run.best_epoch), int(run.stop_epoch)
    np.testing.assert_array_equal(np.asarray(run.best), np.asarray(run.path[b]))
    assert (b, s) == _rule(list(np.asarray(run.val_loss)), 15)
    # the path is plain gradient descent on the sum of squares
    w, Xn, yn = np.zeros(40), np.asarray(X), np.asarray(y)
    for _ in range(5):
        w = w - lr * 2 * Xn.T @ (Xn @ w - yn)
    np.testing.assert_allclose(run.path[4], w, atol=1e-12)
    np.testing.assert_allclose(run.val_loss[4], np.mean((np.asarray(Xv) @ w - yv) ** 2), rtol=1e-12)


def test_gd_shrinkage_predicts_gradient_descent_and_ridge_shrinkage_the_ridge():
    rng = np.random.default_rng(4)
    A = rng.standard_normal((8, 5))
    H = A.T @ A  # a quadratic (1/2)(w - w*)^T H (w - w*)
    w_star = rng.standard_normal(5)
    ev, V = np.linalg.eigh(H)
    lr, t = 0.5 / ev.max(), 37
    w = np.zeros(5)
    for _ in range(t):
        w = w - lr * H @ (w - w_star)
    shrink = np.asarray(regularization.gd_shrinkage(ev, lr, t))
    np.testing.assert_allclose(V @ (shrink * (V.T @ w_star)), w, atol=1e-12)
    mu = 1.0 / (lr * t)
    ridge = np.linalg.solve(H + mu * np.eye(5), H @ w_star)
    np.testing.assert_allclose(
        V @ (np.asarray(regularization.ridge_shrinkage(ev, mu)) * (V.T @ w_star)), ridge, atol=1e-12
    )
    # continuous limit: the two factors differ by at most sup_x |1 - e^-x - x/(1+x)| ~ 0.2036
    x = np.geomspace(1e-4, 1e4, 20001)
    gap = np.abs(
        np.asarray(regularization.gd_shrinkage(x / 1e6, 1.0, 10**6))
        - np.asarray(regularization.ridge_shrinkage(x, 1.0))
    )
    assert 0.2 < gap.max() < 0.2037


# ------------------------------------------------------------------------------ Exercise 4.3


def test_penalty_on_splits_equals_fit_binary_on_the_same_split():
    cancer = data.breast_cancer()
    key = jax.random.key(5)
    res = regularization.penalty_on_splits(
        cancer.X, cancer.y, key=key, n_train=40, lams=[0.0, 0.1], splits=2, steps=200
    )
    perm = np.asarray(jax.random.permutation(jax.random.fold_in(key, 1), 569))
    X, y = np.asarray(cancer.X)[perm], np.asarray(cancer.y)[perm]
    mu, sd = X[:40].mean(0), X[:40].std(0) + 1e-8
    Atr, Ate = (np.c_[(Z - mu) / sd, np.ones(len(Z))] for Z in (X[:40], X[40:]))
    for j, lam in enumerate([0.0, 0.1]):
        fit = linear_models.fit_binary(Atr, y[:40], loss="logistic", lr=1.0, lam=lam, steps=200)
        w = np.asarray(fit.w)
        assert float(res.weight_norm[1, j]) == pytest.approx(np.linalg.norm(w[:-1]), rel=1e-9)
        acc = np.mean(np.where(Ate @ w >= 0, 1.0, -1.0) == y[40:])
        assert float(res.test_accuracy[1, j]) == pytest.approx(acc)
    assert np.all(np.asarray(res.weight_norm)[:, 1] < np.asarray(res.weight_norm)[:, 0])


def test_breast_cancer_loader():
    ds = data.breast_cancer()
    assert ds.X.shape == (569, 30) and ds.y.shape == (569,)
    assert set(np.unique(np.asarray(ds.y)).tolist()) == {-1.0, 1.0}
    assert int(np.sum(np.asarray(ds.y) == 1)) == 357  # benign
    assert bool(jnp.all(jnp.isfinite(ds.X)))


# ------------------------------------------------------------------------------ bad input

P = _problem(12, n=10, d=3, k=2)
BAD = [
    (
        "decay-shape",
        lambda: regularization.decay_step(np.ones(3), np.ones(2), lr=0.1, decay=1.0),
        ValueError,
        "`grad_loss`",
    ),
    (
        "decay-neg",
        lambda: regularization.decay_step(np.ones(3), np.ones(3), lr=0.1, decay=-1.0),
        ValueError,
        "`decay`",
    ),
    (
        "decay-lr",
        lambda: regularization.decay_step(np.ones(3), np.ones(3), lr=0.0, decay=1.0),
        ValueError,
        "`lr`",
    ),
    (
        "noise-shape",
        lambda: regularization.expected_noisy_loss(np.ones(3), np.ones(4), 1.0, 0.1),
        ValueError,
        "`x`",
    ),
    (
        "noise-lam",
        lambda: regularization.noisy_input_losses(
            np.ones(3), np.ones(3), 1.0, lam=-1.0, key=KEY, samples=5
        ),
        ValueError,
        "`lam`",
    ),
    (
        "noise-key",
        lambda: regularization.noisy_input_losses(
            np.ones(3), np.ones(3), 1.0, lam=1.0, key=3, samples=5
        ),
        TypeError,
        "`key`",
    ),
    (
        "copies-int",
        lambda: regularization.noisy_copies(P.X, P.y, lam=0.1, key=KEY, copies=2.5),
        TypeError,
        "`copies`",
    ),
    (
        "copies-rows",
        lambda: regularization.noisy_copies(P.X, P.y[:4], lam=0.1, key=KEY, copies=2),
        ValueError,
        "`y`",
    ),
    ("sparse-k", lambda: regularization.planted_sparse(key=KEY, n=5, d=3, k=4), ValueError, "`k`"),
    ("soft-t", lambda: regularization.soft_threshold(np.ones(3), -1.0), ValueError, "`t`"),
    ("soft-str", lambda: regularization.soft_threshold("abc", 1.0), TypeError, "`v`"),
    (
        "fit-penalty",
        lambda: regularization.fit_linear(P.X, P.y, penalty="l3", lam=1.0, lr=0.1, steps=5),
        ValueError,
        "penalty",
    ),
    (
        "fit-nan",
        lambda: regularization.fit_linear(
            np.full((3, 2), np.nan), np.ones(3), penalty="l2", lam=1.0, lr=0.1, steps=5
        ),
        ValueError,
        "`X`",
    ),
    (
        "fit-w0",
        lambda: regularization.fit_linear(
            P.X, P.y, penalty="l2", lam=1.0, lr=0.1, steps=5, w0=np.ones(5)
        ),
        ValueError,
        "`w0`",
    ),
    (
        "fit-steps",
        lambda: regularization.fit_linear(P.X, P.y, penalty="l2", lam=1.0, lr=0.1, steps=0),
        ValueError,
        "`steps`",
    ),
    (
        "hidden-act",
        lambda: regularization.hidden_l1_delta(np.ones(3), 0.1, "swish"),
        ValueError,
        "activation",
    ),
    (
        "stop-empty",
        lambda: regularization.early_stopping(np.zeros(0), 3),
        ValueError,
        "`val_losses`",
    ),
    (
        "stop-patience",
        lambda: regularization.early_stopping(np.ones(4), 0),
        ValueError,
        "`patience`",
    ),
    (
        "esfit-cols",
        lambda: regularization.early_stopping_fit(
            P.X, P.y, P.X[:, :2], P.y, lr=0.1, epochs=3, patience=1
        ),
        ValueError,
        "`X_val`",
    ),
    ("shrink-lr", lambda: regularization.gd_shrinkage(np.ones(3), -0.1, 3), ValueError, "`lr`"),
    ("shrink-mu", lambda: regularization.ridge_shrinkage(np.ones(3), -1.0), ValueError, "`mu`"),
    (
        "sweep-neg",
        lambda: regularization.lambda_sweep(P.X, P.y, P.X, P.y, penalty="l2", lams=[-1.0]),
        ValueError,
        "`lams`",
    ),
    (
        "solution-pen",
        lambda: regularization.penalized_solution(P.X, P.y, penalty="l1_ista", lam=1.0),
        ValueError,
        "penalty",
    ),
    (
        "splits-n",
        lambda: regularization.penalty_on_splits(
            np.ones((4, 2)), np.array([1.0, -1, 1, -1]), key=KEY, n_train=4, lams=[0.0], splits=1
        ),
        ValueError,
        "`n_train`",
    ),
    (
        "splits-labels",
        lambda: regularization.penalty_on_splits(
            np.ones((4, 2)), np.array([1.0, 0, 1, 0]), key=KEY, n_train=2, lams=[0.0], splits=1
        ),
        ValueError,
        "`y`",
    ),
    (
        "train-hidden-labels",
        lambda: regularization.train_hidden_l1(
            mlp.init((3, 2, 2), key=KEY),
            np.ones((2, 3)),
            np.array([0, 5]),
            lam=0.1,
            lr=0.1,
            steps=2,
        ),
        ValueError,
        "`labels`",
    ),
]


@pytest.mark.parametrize(("name", "thunk", "error", "match"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_raises_a_clear_error(name, thunk, error, match):
    with pytest.raises(error, match=match):
        thunk()
