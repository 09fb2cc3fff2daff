"""course_lib.optim: step for step equal to optax, the book's forms, clipping, Newton and CG."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from course_lib import optim


def bowl(w):
    """The book's bowl L = x^2 + 4 y^2 (Aggarwal Fig 3.9b)."""
    return w[0] ** 2 + 4.0 * w[1] ** 2


def _quadratic_problem():
    """A pytree problem: a (3, 2) matrix and a (2,) vector, an ill-conditioned quadratic."""
    rng = np.random.default_rng(0)
    scales_m = jnp.asarray(rng.uniform(0.5, 5.0, (3, 2)))
    scales_v = jnp.asarray(rng.uniform(0.1, 2.0, (2,)))

    def loss(p):
        m, v = p["m"], p["v"]
        return jnp.sum(scales_m * (m - 1.0) ** 2) + jnp.sum(scales_v * (v + 2.0) ** 4)

    params = {"m": jnp.asarray(rng.normal(size=(3, 2))), "v": jnp.asarray(rng.normal(size=2))}
    return loss, params


# (ours, optax's), with the same hyperparameters; the defaults must agree as well.
PAIRS = {
    "sgd": (lambda: optim.sgd(0.01), lambda: optax.sgd(0.01)),
    "momentum": (lambda: optim.sgd(0.01, momentum=0.9), lambda: optax.sgd(0.01, momentum=0.9)),
    "nesterov": (
        lambda: optim.sgd(0.01, momentum=0.8, nesterov=True),
        lambda: optax.sgd(0.01, momentum=0.8, nesterov=True),
    ),
    "adagrad": (lambda: optim.adagrad(0.3), lambda: optax.adagrad(0.3)),
    "adagrad-book": (
        lambda: optim.adagrad(0.3, initial_accumulator_value=0.0, eps=1e-8),
        lambda: optax.adagrad(0.3, initial_accumulator_value=0.0, eps=1e-8),
    ),
    "rmsprop": (lambda: optim.rmsprop(0.05), lambda: optax.rmsprop(0.05)),
    "rmsprop-decay": (
        lambda: optim.rmsprop(0.05, decay=0.5, eps=1e-6),
        lambda: optax.rmsprop(0.05, decay=0.5, eps=1e-6),
    ),
    "rmsprop-nesterov": (
        lambda: optim.rmsprop(0.05, momentum=0.8, nesterov=True),
        lambda: optax.rmsprop(0.05, momentum=0.8, nesterov=True),
    ),
    "rmsprop-momentum": (
        lambda: optim.rmsprop(0.05, momentum=0.5),
        lambda: optax.rmsprop(0.05, momentum=0.5),
    ),
    "adadelta": (lambda: optim.adadelta(1.0), lambda: optax.adadelta(1.0)),
    "adadelta-lr": (
        lambda: optim.adadelta(0.5, rho=0.95, eps=1e-5),
        lambda: optax.adadelta(0.5, rho=0.95, eps=1e-5),
    ),
    "adam": (lambda: optim.adam(0.05), lambda: optax.adam(0.05)),
    "adam-betas": (
        lambda: optim.adam(0.05, b1=0.5, b2=0.9, eps=1e-6),
        lambda: optax.adam(0.05, b1=0.5, b2=0.9, eps=1e-6),
    ),
    "clip+sgd": (
        lambda: optim.chain(optim.clip(0.5), optim.sgd(0.1)),
        lambda: optax.chain(optax.clip(0.5), optax.sgd(0.1)),
    ),
    "global-norm+momentum": (
        lambda: optim.chain(optim.clip_by_global_norm(1.0), optim.sgd(0.1, momentum=0.5)),
        lambda: optax.chain(optax.clip_by_global_norm(1.0), optax.sgd(0.1, momentum=0.5)),
    ),
}


@pytest.mark.parametrize("name", list(PAIRS))
def test_every_step_equals_optax(name):
    ours, theirs = PAIRS[name][0](), PAIRS[name][1]()
    loss, params = _quadratic_problem()
    p_ours, p_theirs = params, params
    s_ours, s_theirs = ours.init(params), theirs.init(params)
    for step in range(25):
        # Both follow their own trajectory; they must stay equal.
        u_ours, s_ours = ours.update(jax.grad(loss)(p_ours), s_ours, p_ours)
        u_theirs, s_theirs = theirs.update(jax.grad(loss)(p_theirs), s_theirs, p_theirs)
        for key in params:
            np.testing.assert_allclose(
                u_ours[key], u_theirs[key], rtol=1e-9, atol=1e-12, err_msg=f"step {step}, {key}"
            )
        p_ours = optim.apply_updates(p_ours, u_ours)
        p_theirs = optax.apply_updates(p_theirs, u_theirs)
    assert loss(p_ours) < loss(params)  # and they descend


def test_momentum_takes_the_books_steps():
    """Aggarwal: V <- beta V - alpha g, W <- W + V."""
    alpha, beta = 0.05, 0.7
    w = jnp.array([30.0, 20.0])
    opt = optim.sgd(alpha, momentum=beta)
    state = opt.init(w)
    w_book, v = w, jnp.zeros(2)
    for _ in range(30):
        u, state = opt.update(jax.grad(bowl)(w), state)
        w = optim.apply_updates(w, u)
        v = beta * v - alpha * jax.grad(bowl)(w_book)
        w_book = w_book + v
        np.testing.assert_allclose(w, w_book, rtol=1e-12)


def test_nesterov_iterates_are_the_books_lookahead_points():
    """The book: V <- beta V - alpha grad L(W + beta V), W <- W + V. Ours are W~ = W + beta V."""
    alpha, beta = 0.05, 0.6
    w0 = jnp.array([30.0, 20.0])
    opt = optim.sgd(alpha, momentum=beta, nesterov=True)
    state = opt.init(w0)
    w_ours = w0
    w_book, v = w0, jnp.zeros(2)
    for _ in range(30):
        u, state = opt.update(jax.grad(bowl)(w_ours), state)
        w_ours = optim.apply_updates(w_ours, u)
        v = beta * v - alpha * jax.grad(bowl)(w_book + beta * v)
        w_book = w_book + v
        np.testing.assert_allclose(w_ours, w_book + beta * v, rtol=1e-10, atol=1e-12)


def test_adam_equals_the_books_folded_step_size_when_eps_is_zero():
    """Eq 3.44-3.46: alpha_t = alpha sqrt(1 - rho^t) / (1 - rho_f^t), step alpha_t F / sqrt(A)."""
    alpha, rho_f, rho = 0.1, 0.9, 0.999
    w = jnp.array([30.0, 20.0])
    opt = optim.adam(alpha, b1=rho_f, b2=rho, eps=0.0)
    state = opt.init(w)
    w_book, F, A = w, jnp.zeros(2), jnp.zeros(2)
    for t in range(1, 40):
        u, state = opt.update(jax.grad(bowl)(w), state)
        w = optim.apply_updates(w, u)
        g = jax.grad(bowl)(w_book)
        A = rho * A + (1 - rho) * g**2
        F = rho_f * F + (1 - rho_f) * g
        alpha_t = alpha * np.sqrt(1 - rho**t) / (1 - rho_f**t)
        w_book = w_book - alpha_t * F / jnp.sqrt(A)
        np.testing.assert_allclose(w, w_book, rtol=1e-10)


def test_adagrad_effective_step_never_grows():
    w = jnp.array([30.0, 20.0])
    opt = optim.adagrad(1.0)
    state = opt.init(w)
    previous = np.inf
    for _ in range(50):
        u, state = opt.update(jax.grad(bowl)(w), state)
        w = optim.apply_updates(w, u)
        rate = 1.0 / np.sqrt(np.asarray(state[0].sum_of_squares) + 1e-7)
        assert np.all(rate <= previous)
        previous = rate


def test_gradient_descent_on_the_bowl_diverges_exactly_past_alpha_one_quarter():
    """Hessian diag(2, 8): x_k = (1 - 2 alpha)^k x_0 and y_k = (1 - 8 alpha)^k y_0, so GD is
    stable iff |1 - 8 alpha| < 1, i.e. alpha < 1/4."""
    run = jax.jit(lambda lr: optim.run(bowl, optim.sgd(lr), jnp.array([1.0, 1.0]), 400).loss)
    k = np.arange(401)
    for lr in [0.24, 0.2499, 0.25, 0.2501]:
        closed_form = (1 - 2 * lr) ** (2 * k) + 4 * (1 - 8 * lr) ** (2 * k)
        np.testing.assert_allclose(run(lr), closed_form, rtol=1e-9)
    assert run(0.24)[-1] < 1e-6
    below, above = run(0.2499), run(0.2501)
    assert np.all(np.diff(below) < 0)  # just below the limit: shrinks at every step ...
    assert np.all(np.diff(above[100:]) > 0) and above[-1] > above[0]  # ... just above: grows


def test_run_records_every_iterate_and_never_recompiles_for_new_hyperparameters():
    @jax.jit
    def trajectory(lr, beta):
        return optim.run(bowl, optim.sgd(lr, momentum=beta), jnp.array([30.0, 20.0]), 60)

    first = trajectory(0.1, 0.5)
    assert first.params.shape == (61, 2) and first.loss.shape == (61,)
    np.testing.assert_allclose(first.params[0], [30.0, 20.0])
    np.testing.assert_allclose(first.loss, jax.vmap(bowl)(first.params), rtol=1e-12)
    size = trajectory._cache_size()
    for lr, beta in [(0.05, 0.9), (0.2, 0.0), (0.01, 0.3)]:
        trajectory(lr, beta)
    assert trajectory._cache_size() == size == 1
    # The same trajectory by hand, step by step.
    w, state = jnp.array([30.0, 20.0]), optim.sgd(0.1, momentum=0.5).init(jnp.zeros(2))
    opt = optim.sgd(0.1, momentum=0.5)
    for k in range(60):
        np.testing.assert_allclose(first.params[k], w, rtol=1e-10)
        u, state = opt.update(jax.grad(bowl)(w), state)
        w = optim.apply_updates(w, u)


def test_norm_clipping_bounds_the_norm_and_keeps_the_direction():
    rng = np.random.default_rng(1)
    clipper = optim.clip_by_global_norm(2.0)
    for scale in [0.1, 1.0, 10.0, 1e4]:
        g = {
            "a": jnp.asarray(rng.normal(size=(4, 3)) * scale),
            "b": jnp.asarray(rng.normal(size=5)),
        }
        out, _ = clipper.update(g, clipper.init(g))
        norm_in, norm_out = float(optim.global_norm(g)), float(optim.global_norm(out))
        assert norm_out <= 2.0 + 1e-12
        if norm_in <= 2.0:
            assert norm_out == pytest.approx(norm_in)
        flat_in = np.concatenate([np.ravel(g["a"]), g["b"]])
        flat_out = np.concatenate([np.ravel(out["a"]), out["b"]])
        cosine = flat_in @ flat_out / (np.linalg.norm(flat_in) * np.linalg.norm(flat_out))
        assert cosine == pytest.approx(1.0, abs=1e-12)


def test_value_clipping_bounds_every_component():
    g = jnp.array([-5.0, -0.2, 0.0, 0.3, 7.0])
    out, _ = optim.clip(0.25).update(g, optim.EmptyState())
    np.testing.assert_allclose(out, [-0.25, -0.2, 0.0, 0.25, 0.25])


def test_newton_reaches_the_minimum_of_a_quadratic_in_one_step():
    np.testing.assert_allclose(optim.newton_step(bowl, jnp.array([30.0, 20.0])), [0, 0], atol=1e-12)
    rng = np.random.default_rng(2)
    M = rng.normal(size=(5, 5))
    A = jnp.asarray(M @ M.T + 5 * np.eye(5))
    b = jnp.asarray(rng.normal(size=5))
    w = optim.newton_step(lambda w: 0.5 * w @ A @ w - b @ w, jnp.zeros(5))
    np.testing.assert_allclose(w, np.linalg.solve(A, b), rtol=1e-10)


def test_conjugate_gradients_two_steps_on_the_bowl_and_d_steps_in_general():
    A = jnp.diag(jnp.array([2.0, 8.0]))  # the bowl's Hessian: L = w^T A w / 2
    result = optim.conjugate_gradient(A, jnp.zeros(2), jnp.array([30.0, 20.0]), 2)
    assert result.iterates.shape == (3, 2)
    assert float(bowl(result.iterates[1])) > 1.0  # one step is not enough ...
    np.testing.assert_allclose(result.iterates[2], [0.0, 0.0], atol=1e-10)  # ... two are
    # The first step is gradient descent with exact line search: check it independently.
    w0 = np.array([30.0, 20.0])
    g0 = np.array([2.0, 8.0]) * w0
    alpha0 = (g0 @ g0) / (g0 @ (np.array([2.0, 8.0]) * g0))
    np.testing.assert_allclose(result.iterates[1], w0 - alpha0 * g0, rtol=1e-12)

    rng = np.random.default_rng(3)
    M = rng.normal(size=(6, 6))
    A = jnp.asarray(M @ M.T + np.eye(6))
    b = jnp.asarray(rng.normal(size=6))
    result = optim.conjugate_gradient(A, b, jnp.zeros(6), 6)
    np.testing.assert_allclose(result.iterates[-1], np.linalg.solve(A, b), rtol=1e-6)
    Q = np.asarray(result.directions)
    conj = Q @ np.asarray(A) @ Q.T
    off = conj - np.diag(np.diag(conj))
    assert np.max(np.abs(off)) < 1e-8 * np.max(np.abs(np.diag(conj)))  # q_i^T A q_j = 0


def test_optimizers_reach_the_tolerance_on_the_bowl():
    start = jnp.array([30.0, 20.0])
    for opt in [
        optim.sgd(0.1),
        optim.sgd(0.1, momentum=0.5),
        optim.sgd(0.1, momentum=0.5, nesterov=True),
        optim.adagrad(5.0),
        optim.rmsprop(0.5),
        optim.adam(1.0),
    ]:
        assert float(optim.run(bowl, opt, start, 1000).loss.min()) < 1e-6
    # RMSProp with a constant rate gets there, then hovers: its step g / sqrt(A) does not
    # shrink with the gradient (|step| is about alpha near the minimum).
    rms = optim.run(bowl, optim.rmsprop(0.5), start, 1000).loss
    assert float(rms[-100:].min()) > 1e-2


def test_hyperparameter_errors():
    with pytest.raises(ValueError, match=r"`learning_rate` must be in \(0.0, inf\), got -0.1"):
        optim.sgd(-0.1)
    with pytest.raises(ValueError, match=r"`decay` must be in \[0.0, 1.0\], got 1.5"):
        optim.sgd(0.1, momentum=1.5)
    with pytest.raises(ValueError, match=r"`nesterov=True` needs a `momentum`"):
        optim.sgd(0.1, nesterov=True)
    with pytest.raises(ValueError, match=r"`b2`"):
        optim.adam(0.1, b2=2.0)
    with pytest.raises(ValueError, match=r"`max_norm`"):
        optim.clip_by_global_norm(0.0)
    with pytest.raises(TypeError, match=r"`learning_rate` must be a real number"):
        optim.adam("fast")
    with pytest.raises(TypeError, match=r"chain\(\) argument 1 must be a GradientTransformation"):
        optim.chain(optim.sgd(0.1), optax.sgd(0.1)._replace)
    with pytest.raises(ValueError, match=r"shapes do not match"):
        optim.conjugate_gradient(jnp.eye(2), jnp.zeros(3), jnp.zeros(2), 2)
    with pytest.raises(ValueError, match=r"`steps`"):
        optim.run(bowl, optim.sgd(0.1), jnp.zeros(2), 0)


# ------------------------------------------------------------------------------ schedules


def test_schedules_equal_their_definitions_and_optax():
    t = np.arange(40)
    np.testing.assert_allclose(
        optim.exponential_decay(0.5, 0.1)(t), 0.5 * np.exp(-0.1 * t), rtol=1e-12
    )
    np.testing.assert_allclose(
        optim.exponential_decay(0.5, 0.1)(t),
        optax.exponential_decay(0.5, transition_steps=1, decay_rate=np.exp(-0.1))(t),
        rtol=1e-6,
    )
    np.testing.assert_allclose(optim.inverse_decay(0.5, 0.2)(t), 0.5 / (1 + 0.2 * t), rtol=1e-12)
    step = optim.step_decay(0.8, 0.5, 5)
    assert float(step(10)) == pytest.approx(0.8 / 4)  # the book's halving, twice by t = 10
    assert float(step(9)) == pytest.approx(0.8 / 2)
    np.testing.assert_allclose(
        step(t),
        optax.exponential_decay(0.8, transition_steps=5, decay_rate=0.5, staircase=True)(t),
        rtol=1e-6,
    )


def test_sgd_with_a_schedule_takes_optax_steps_and_never_recompiles():
    ours = optim.sgd(optim.inverse_decay(0.1, 0.05), momentum=0.5)
    theirs = optax.sgd(lambda t: 0.1 / (1 + 0.05 * t), momentum=0.5)
    loss, params = _quadratic_problem()
    p1, p2, s1, s2 = params, params, ours.init(params), theirs.init(params)
    for _ in range(20):
        u1, s1 = ours.update(jax.grad(loss)(p1), s1, p1)
        u2, s2 = theirs.update(jax.grad(loss)(p2), s2, p2)
        p1, p2 = optim.apply_updates(p1, u1), optax.apply_updates(p2, u2)
        for key in params:
            np.testing.assert_allclose(p1[key], p2[key], rtol=1e-10, atol=1e-12)

    @jax.jit
    def final(alpha0, k):
        return optim.run(bowl, optim.sgd(optim.exponential_decay(alpha0, k)), jnp.ones(2), 30)

    final(0.1, 0.01)
    final(0.2, 0.05)
    assert final._cache_size() <= 1
    # With an exponential schedule the steps sum to a finite total: GD can stop short.
    stuck = final(0.01, 0.5).params[-1]
    assert float(stuck[0]) > 0.9  # x barely moved (sum of rates is about 0.025)


def test_schedule_errors():
    with pytest.raises(TypeError, match=r"`step_size_fn` must be a function"):
        optim.scale_by_schedule(0.1)
    with pytest.raises(ValueError, match=r"`factor` must be in \(0.0, 1.0\], got 2"):
        optim.step_decay(0.1, 2, 5)
    with pytest.raises(ValueError, match=r"`every`"):
        optim.step_decay(0.1, 0.5, 0)
    with pytest.raises(ValueError, match=r"`init_value`"):
        optim.exponential_decay(-1.0, 0.1)
    with pytest.raises(ValueError, match=r"`rate`"):
        optim.inverse_decay(1.0, -0.1)


# ------------------------------------------------------------------------------ race


def test_race_rows_equal_separate_runs_and_optax():
    start = jnp.array([30.0, 20.0])
    zoo = optim.optimizer_zoo(0.1, 1.0, 0.5)
    result = optim.race(bowl, list(zoo.values()), start, 80)
    assert result.params.shape == (7, 81, 2) and result.loss.shape == (7, 81)
    assert tuple(zoo) == optim.ZOO
    for i, opt in enumerate(zoo.values()):
        alone = optim.run(bowl, opt, start, 80)
        np.testing.assert_allclose(result.params[i], alone.params, rtol=1e-12)
        np.testing.assert_allclose(result.loss[i], alone.loss, rtol=1e-12)
    # An independent oracle: the same settings in optax, stepped in a Python loop.
    oracle = [
        optax.sgd(0.1),
        optax.sgd(0.1, momentum=0.5),
        optax.sgd(0.1, momentum=0.5, nesterov=True),
        optax.adagrad(1.0, initial_accumulator_value=0.0, eps=1e-8),
        optax.rmsprop(1.0),
        optax.adadelta(1.0),
        optax.adam(1.0),
    ]
    for i, opt in enumerate(oracle):
        w, state = start, opt.init(start)
        for k in range(80):
            np.testing.assert_allclose(result.params[i, k], w, rtol=1e-8, atol=1e-10)
            u, state = opt.update(jax.grad(bowl)(w), state, w)
            w = optax.apply_updates(w, u)


def test_race_is_one_compiled_scan_for_every_hyperparameter():
    @jax.jit
    def race(lr, adaptive_lr, beta, b):
        zoo = optim.optimizer_zoo(lr, adaptive_lr, beta)
        return optim.race(
            lambda w: w[0] ** 2 + b * w[1] ** 2, list(zoo.values()), jnp.array([30.0, 20.0]), 50
        )

    race(0.1, 1.0, 0.5, 4.0)
    for args in [(0.2, 0.3, 0.9, 1.0), (0.01, 5.0, 0.0, 10.0)]:
        race(*args)
    assert race._cache_size() <= 1
    text = race.lower(0.1, 1.0, 0.5, 4.0).as_text()
    assert text.count("stablehlo.while") == 1  # one loop for all seven optimizers


def test_steps_to_tolerance_matches_a_python_loop():
    rng = np.random.default_rng(4)
    losses = np.exp(rng.normal(size=(5, 30)).cumsum(axis=1) * 0.5)
    losses[2] = 10.0  # never below
    losses[3, 4] = np.nan  # a NaN is never "below"
    tol = 0.3

    def first_below(row):
        for k, value in enumerate(row):
            if np.isfinite(value) and value < tol:
                return k
        return -1

    got = np.asarray(optim.steps_to_tolerance(jnp.asarray(losses), tol))
    assert got.tolist() == [first_below(r) for r in losses]

    def first_staying(row):
        for k in range(len(row)):
            if all(np.isfinite(v) and v < tol for v in row[k:]):
                return k
        return -1

    stay = np.asarray(optim.steps_to_tolerance(jnp.asarray(losses), tol, stay=True))
    assert stay.tolist() == [first_staying(r) for r in losses]
    assert np.any(stay != got)  # the case must differ somewhere, or it tests nothing
    assert got[2] == -1
    # On the bowl, GD's count has a closed form: y_k = (1 - 8a)^k y0 dominates for a = 0.1 ...
    trajectory = optim.run(bowl, optim.sgd(0.1), jnp.array([30.0, 20.0]), 200)
    k = np.arange(201)
    closed = 900 * 0.8 ** (2 * k) + 4 * 400 * 0.2 ** (2 * k)
    assert int(optim.steps_to_tolerance(trajectory.loss, 1e-6)) == int(np.argmax(closed < 1e-6))


def test_race_errors():
    with pytest.raises(ValueError, match=r"`optimizers` must hold at least one"):
        optim.race(bowl, [], jnp.zeros(2), 5)
    with pytest.raises(TypeError, match=r"`optimizers\[1\]` must be a GradientTransformation"):
        optim.race(bowl, [optim.sgd(0.1), optax.sgd(0.1)._asdict()], jnp.zeros(2), 5)
    with pytest.raises(ValueError, match=r"`steps`"):
        optim.race(bowl, [optim.sgd(0.1)], jnp.zeros(2), 0)


# ------------------------------------------------------------------------------ Polyak


def test_polyak_averages_equal_their_explicit_forms():
    rng = np.random.default_rng(5)
    path = rng.normal(size=(25, 3))
    uniform = np.asarray(optim.polyak_average(jnp.asarray(path)))
    np.testing.assert_allclose(uniform, np.cumsum(path, 0) / np.arange(1, 26)[:, None], rtol=1e-12)
    beta = 0.8
    expo = np.asarray(optim.polyak_average(jnp.asarray(path), beta))
    for t in range(1, 26):  # the explicit normalized form, term by term
        weights = beta ** (t - np.arange(1, t + 1))
        np.testing.assert_allclose(expo[t - 1], weights @ path[:t] / weights.sum(), rtol=1e-10)
    with pytest.raises(ValueError, match=r"`decay` must be in"):
        optim.polyak_average(jnp.asarray(path), 1.5)
    with pytest.raises(ValueError, match=r"`path` needs a leading time axis"):
        optim.polyak_average(jnp.asarray(1.0))


def test_rmsprop_with_nesterov_takes_the_books_lookahead_steps():
    """Eq 3.42: A and the velocity both use the gradient at the look-ahead point W + beta V;
    the library's iterates are those look-ahead points."""
    lr, beta, rho = 0.05, 0.8, 0.9
    W, V, A = np.array([3.0, 2.0]), np.zeros(2), np.zeros(2)
    look = optim.run(bowl, optim.rmsprop(lr, rho, 0.0, momentum=beta, nesterov=True), W, 30)
    for k in range(30):
        ahead = W + beta * V
        np.testing.assert_allclose(look.params[k], ahead, rtol=1e-9, atol=1e-12)
        g = np.array([2.0, 8.0]) * ahead
        A = rho * A + (1 - rho) * g**2
        V = beta * V - lr * g / np.sqrt(A)
        W = W + V
    with pytest.raises(ValueError, match=r"`nesterov=True` needs a `momentum`"):
        optim.rmsprop(0.1, nesterov=True)


def test_minimize_equals_run_without_the_history():
    loss, params = _quadratic_problem()
    opt = optim.adam(optim.linear_decay(0.05, 40, 0.1))
    last, losses = optim.minimize(loss, opt, params, 40)
    trajectory = optim.run(loss, opt, params, 40)
    np.testing.assert_allclose(losses, trajectory.loss[:-1], rtol=1e-12)
    for key in params:
        np.testing.assert_allclose(last[key], trajectory.params[key][-1], rtol=1e-12)
    # extra arguments reach the loss
    shifted, _ = optim.minimize(
        lambda w, c: jnp.sum((w - c) ** 2),
        optim.sgd(0.25),
        jnp.zeros(2),
        50,
        jnp.array([1.0, -2.0]),
    )
    np.testing.assert_allclose(shifted, [1.0, -2.0], atol=1e-9)


def test_linear_decay_goes_from_init_to_the_final_fraction():
    schedule = optim.linear_decay(0.2, 100, 0.1)
    np.testing.assert_allclose([schedule(t) for t in (0, 50, 100)], [0.2, 0.11, 0.02], rtol=1e-12)
    with pytest.raises(ValueError, match=r"`final_fraction`"):
        optim.linear_decay(0.2, 100, 1.5)
    with pytest.raises(ValueError, match=r"`steps`"):
        optim.linear_decay(0.2, 0)


# ------------------------------------------------------------------------------ issue 14 additions


def _nesterov_by_the_book(w0, alpha, beta, steps):
    """Aggarwal §3.5.2.1 in NumPy: V <- beta V - alpha grad L(W + beta V); W <- W + V."""
    W, V = np.asarray(w0, dtype=np.float64), np.zeros(2)
    path = [W.copy()]
    for _ in range(steps):
        V = beta * V - alpha * np.array([2.0, 8.0]) * (W + beta * V)
        W = W + V
        path.append(W.copy())
    return np.array(path)


def test_nesterov_iterates_recover_the_books_W_from_the_lookahead_points():
    start = jnp.array([30.0, 20.0])
    for alpha, beta in [(0.1, 0.5), (0.05, 0.9), (0.2, 0.0)]:
        look = optim.run(bowl, optim.sgd(alpha, momentum=beta, nesterov=True), start, 60)
        book = _nesterov_by_the_book(start, alpha, beta, 60)
        np.testing.assert_allclose(
            optim.nesterov_iterates(look.params, beta), book, rtol=1e-10, atol=1e-12
        )
    # The off-by-one of the lecture: the book's W first has L < 1e-6 at iteration 17 (from
    # (30, 20), alpha = 0.1, beta = 0.5); optax's look-ahead point W + beta V at 16.
    book = _nesterov_by_the_book(start, 0.1, 0.5, 60)
    book_loss = book[:, 0] ** 2 + 4 * book[:, 1] ** 2
    assert int(np.argmax(book_loss < 1e-6)) == 17
    look = optim.run(bowl, optim.sgd(0.1, momentum=0.5, nesterov=True), start, 60)
    assert int(optim.steps_to_tolerance(look.loss, 1e-6)) == 16
    w = optim.nesterov_iterates(look.params, 0.5)
    assert int(optim.steps_to_tolerance(jax.vmap(bowl)(w), 1e-6)) == 17
    # a pytree-free path of any trailing shape, and a traced beta
    traced = jax.jit(optim.nesterov_iterates)(look.params, 0.5)
    np.testing.assert_allclose(traced, w, rtol=1e-12)
    with pytest.raises(ValueError, match=r"`momentum` must be in"):
        optim.nesterov_iterates(look.params, 1.5)
    with pytest.raises(ValueError, match=r"`path` needs a leading time axis"):
        optim.nesterov_iterates(jnp.asarray(1.0), 0.5)


def test_run_noisy_is_run_plus_seeded_gaussian_noise():
    start = jnp.array([30.0, 20.0])
    exact = optim.run(bowl, optim.sgd(0.1), start, 50)
    quiet = optim.run_noisy(bowl, optim.sgd(0.1), start, 50, 0.0, key=jax.random.key(0))
    np.testing.assert_allclose(quiet.params, exact.params, rtol=1e-12)
    np.testing.assert_allclose(quiet.loss, exact.loss, rtol=1e-12)
    # Same key, same run; another key, another run.
    a = optim.run_noisy(bowl, optim.sgd(0.1), start, 2000, 0.5, key=jax.random.key(1))
    b = optim.run_noisy(bowl, optim.sgd(0.1), start, 2000, 0.5, key=jax.random.key(1))
    c = optim.run_noisy(bowl, optim.sgd(0.1), start, 2000, 0.5, key=jax.random.key(2))
    np.testing.assert_array_equal(a.params, b.params)
    assert not np.allclose(a.params, c.params)
    # The loss recorded is the true loss of each iterate.
    np.testing.assert_allclose(a.loss, jax.vmap(bowl)(a.params), rtol=1e-12)
    # Recover the noise from the steps: w_{k+1} = w_k - alpha (grad L(w_k) + sigma xi_k).
    w = np.asarray(a.params)
    xi = -((w[1:] - w[:-1]) / 0.1 + np.array([2.0, 8.0]) * w[:-1]) / 0.5
    assert abs(xi.mean()) < 0.05 and abs(xi.std() - 1.0) < 0.05  # N(0, 1), 4000 draws
    assert abs(np.corrcoef(xi[1:, 0], xi[:-1, 0])[0, 1]) < 0.1  # fresh at every step


def test_run_noisy_settles_at_the_predicted_noise_floor():
    """Constant-step GD with gradient noise sigma on x^2 + 4 y^2: the stationary expected loss is
    (alpha sigma^2 / 2) sum_i 1 / (2 - alpha lambda_i), lambda = (2, 8)."""
    alpha, sigma = 0.1, 1.0

    @jax.jit
    def tail_mean(key):
        run = optim.run_noisy(bowl, optim.sgd(alpha), jnp.zeros(2), 3000, sigma, key=key)
        return run.loss[1000:].mean()

    measured = float(jnp.mean(jax.vmap(tail_mean)(jax.random.split(jax.random.key(3), 32))))
    predicted = 0.5 * alpha * sigma**2 * (1 / (2 - 2 * alpha) + 1 / (2 - 8 * alpha))
    assert abs(measured / predicted - 1) < 0.05


def test_run_noisy_takes_pytrees_and_rejects_bad_input():
    loss, params = _quadratic_problem()
    run = optim.run_noisy(loss, optim.sgd(0.01), params, 5, 0.1, key=jax.random.key(0))
    assert run.params["m"].shape == (6, 3, 2) and run.params["v"].shape == (6, 2)
    with pytest.raises(TypeError, match=r"`key` is required"):
        optim.run_noisy(bowl, optim.sgd(0.1), jnp.zeros(2), 5, 0.1, key=None)
    with pytest.raises(ValueError, match=r"`noise` must be in"):
        optim.run_noisy(bowl, optim.sgd(0.1), jnp.zeros(2), 5, -1.0, key=jax.random.key(0))
    with pytest.raises(ValueError, match=r"`steps`"):
        optim.run_noisy(bowl, optim.sgd(0.1), jnp.zeros(2), 0, 0.1, key=jax.random.key(0))


def test_hessian_vector_product_equals_the_hessian_and_finite_differences():
    rng = np.random.default_rng(7)

    def loss(w):
        return jnp.sum(jnp.tanh(w) ** 2 * jnp.arange(1.0, 5.0)) + (w[0] * w[3]) ** 2

    w = jnp.asarray(rng.normal(size=4))
    v = jnp.asarray(rng.normal(size=4))
    hv = optim.hessian_vector_product(loss, w, v)
    np.testing.assert_allclose(hv, jax.hessian(loss)(w) @ v, rtol=1e-10)
    delta = 1e-5  # Eq 3.51, centred: (grad L(w + d v) - grad L(w - d v)) / 2d
    g = jax.grad(loss)
    np.testing.assert_allclose(hv, (g(w + delta * v) - g(w - delta * v)) / (2 * delta), rtol=1e-6)
    with pytest.raises(ValueError, match=r"`v` must have the shape of `w`"):
        optim.hessian_vector_product(loss, w, jnp.zeros(3))


def test_hessian_free_conjugate_gradients_equal_the_dense_ones():
    rng = np.random.default_rng(8)
    M = rng.normal(size=(6, 6))
    A = jnp.asarray(M @ M.T + np.eye(6))
    b = jnp.asarray(rng.normal(size=6))

    def loss(w):
        return 0.5 * w @ A @ w - b @ w

    w0 = jnp.asarray(rng.normal(size=6))
    dense = optim.conjugate_gradient(A, b, w0, 6)
    free = optim.conjugate_gradient(lambda v: optim.hessian_vector_product(loss, w0, v), b, w0, 6)
    np.testing.assert_allclose(free.iterates, dense.iterates, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(free.directions, dense.directions, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(free.iterates[-1], np.linalg.solve(A, b), rtol=1e-6)
    with pytest.raises(ValueError, match=r"shapes do not match"):
        optim.conjugate_gradient(lambda v: v, jnp.zeros(3), jnp.zeros(2), 2)


def test_adaptive_step_sizes_on_a_steady_gradient():
    """A constant gradient: AdaGrad steps alpha / sqrt(t), Adam alpha, RMSProp
    alpha / sqrt(1 - rho^t) (its A starts at 0), whatever the gradient's size."""
    c = jnp.array([0.01, 100.0])
    t = np.arange(1, 51)[:, None]
    for opt, expected in [
        (optim.adagrad(0.5, initial_accumulator_value=0.0, eps=0.0), 0.5 / np.sqrt(t)),
        (optim.adam(0.5, eps=0.0), 0.5 * np.ones_like(t)),
        (optim.rmsprop(0.5, decay=0.9, eps=0.0), 0.5 / np.sqrt(1 - 0.9**t)),
    ]:
        path = optim.run(lambda w: c @ w, opt, jnp.zeros(2), 50).params
        np.testing.assert_allclose(
            np.abs(np.diff(np.asarray(path), axis=0)), np.broadcast_to(expected, (50, 2)), rtol=1e-9
        )


# ------------------------------------------------------------------------------ the bowl race


def test_bowl_is_the_books_bowl_and_turning_keeps_its_values_on_turned_points():
    w = jnp.array([3.0, -2.0])
    assert float(optim.bowl(w)) == pytest.approx(9.0 + 4.0 * 4.0)
    assert float(optim.bowl(w, 1.0)) == pytest.approx(13.0)
    theta = 0.7
    c, s = np.cos(theta), np.sin(theta)
    turned = jnp.array([c * 3.0 - s * -2.0, s * 3.0 + c * -2.0])  # w turned by theta
    assert float(optim.bowl(turned, 4.0, theta)) == pytest.approx(25.0, rel=1e-6)
    grid = jnp.stack(jnp.meshgrid(jnp.arange(3.0), jnp.arange(2.0)))  # (2, 2, 3)
    assert optim.bowl(grid).shape == (2, 3)


def test_race_bowl_rows_equal_separate_runs_and_new_values_never_recompile():
    result = optim.race_bowl(0.1, 1.0, 0.5, steps=40)
    assert result.names == optim.ZOO and result.paths.shape == (7, 41, 2)
    gd = optim.run(optim.bowl, optim.sgd(0.1), jnp.array([30.0, 20.0]), 40)
    np.testing.assert_allclose(result.paths[0], gd.params, rtol=1e-6, atol=1e-8)
    before = optim.race_cache_size()
    optim.race_bowl(0.2, 3.0, 0.9, 2.0, 0.5, steps=40)
    assert optim.race_cache_size() == before


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lr": 0.0}, "`lr` must be positive"),
        ({"adaptive_lr": -1.0}, "`adaptive_lr` must be positive"),
        ({"beta": 1.5}, "`beta` must be in"),
        ({"b": 0.0}, "`b` must be positive"),
        ({"steps": 0}, "steps"),
    ],
)
def test_race_bowl_rejects_bad_input_naming_the_argument(kwargs, match):
    args = {"lr": 0.1, "adaptive_lr": 1.0, "beta": 0.5, "b": 4.0, "steps": 10, **kwargs}
    with pytest.raises(ValueError, match=match):
        optim.race_bowl(**args)
