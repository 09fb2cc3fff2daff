"""Tests for course_lib.losses: margin losses and their derivatives, empirical risk of a linear
model, and softmax cross-entropy, each against an independent oracle (jax.grad, central
differences, NumPy loops, or an analytic identity)."""

import inspect
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import losses

RTOL, ATOL = 1e-6, 1e-9  # see test_activations: the absolute part covers FD rounding

# name -> (points to keep grids away from, independent NumPy L, independent NumPy L')
NUMPY_LOSSES = {
    "zero_one": ((0.0,), lambda z: (z <= 0).astype(float), lambda z: 0.0 * z),
    "perceptron": ((0.0,), lambda z: np.where(z < 0, -z, 0.0), lambda z: -1.0 * (z <= 0)),
    "hinge": ((1.0,), lambda z: np.where(z < 1, 1 - z, 0.0), lambda z: -1.0 * (z < 1)),
    "logistic": ((), lambda z: np.log1p(np.exp(-z)), lambda z: -np.exp(-z) / (1 + np.exp(-z))),
    "widrow_hoff": ((), lambda z: (1 - z) ** 2, lambda z: 2 * (z - 1)),
    # L2-SVM: L' is continuous, but L'' jumps at z = 1, where central differences err by h/2.
    "l2_svm": (
        (1.0,),
        lambda z: np.where(z < 1, (1 - z) ** 2, 0.0),
        lambda z: np.where(z < 1, 2 * (z - 1), 0.0),
    ),
}
NAMES = sorted(NUMPY_LOSSES)


def grid_avoiding(kinks, low=-5.0, high=5.0, num=501, gap=1e-3):
    z = np.linspace(low, high, num)
    if kinks:
        dist = np.min(np.abs(z[:, None] - np.asarray(kinks)[None, :]), axis=1)
        z = z[dist > gap]
    return z


# ---------------------------------------------------------------- margin losses


def test_registry_covers_every_loss_in_the_module():
    pairs = {
        name
        for name, _ in inspect.getmembers(losses, inspect.isfunction)
        if not name.startswith("_")
        and hasattr(losses, f"{name}_grad")
        and name not in {"risk", "softmax_cross_entropy"}  # not functions of the margin
        and name not in losses.MULTICLASS_LOSSES  # functions of a score vector (below)
    }
    assert pairs == set(losses.MARGIN_LOSSES) == set(NUMPY_LOSSES)
    for name, entry in losses.MARGIN_LOSSES.items():
        assert entry.name == name
        assert entry.fn is getattr(losses, name)
        assert entry.grad is getattr(losses, f"{name}_grad")
        assert losses.get(name) is entry


@pytest.mark.parametrize("name", NAMES)
def test_loss_values_match_numpy_formulas(name):
    kinks, np_loss, _ = NUMPY_LOSSES[name]
    z = np.linspace(-5.0, 5.0, 401)  # includes the kinks: values are defined there
    np.testing.assert_allclose(losses.get(name).fn(z), np_loss(z), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", NAMES)
def test_hand_grad_equals_jax_grad(name):
    kinks = NUMPY_LOSSES[name][0]
    z = grid_avoiding(kinks)
    loss = losses.get(name)
    np.testing.assert_allclose(
        loss.grad(z), jax.vmap(jax.grad(loss.fn))(jnp.asarray(z)), rtol=RTOL, atol=ATOL
    )


@pytest.mark.parametrize("name", NAMES)
def test_hand_grad_equals_finite_differences(name, fd_derivative):
    kinks = NUMPY_LOSSES[name][0]
    z = grid_avoiding(kinks)
    loss = losses.get(name)
    np.testing.assert_allclose(loss.grad(z), fd_derivative(loss.fn, z), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("name", NAMES)
def test_hand_grad_matches_numpy_derivative(name):
    kinks, _, np_grad = NUMPY_LOSSES[name]
    z = grid_avoiding(kinks)
    np.testing.assert_allclose(losses.get(name).grad(z), np_grad(z), rtol=1e-12, atol=1e-15)


def test_kink_conventions():
    # A point on the boundary counts as a mistake for the perceptron criterion ...
    assert float(losses.perceptron_grad(0.0)) == -1.0
    assert float(losses.zero_one(0.0)) == 1.0
    # ... while the hinge stops pushing exactly at the margin z = 1 (y w.x < 1 updates).
    assert float(losses.hinge_grad(1.0)) == 0.0
    assert float(losses.l2_svm_grad(1.0)) == 0.0
    # Each choice lies between the one-sided derivatives.
    eps = 1e-12
    assert float(losses.perceptron_grad(eps)) == 0.0
    assert float(losses.perceptron_grad(-eps)) == -1.0
    assert float(losses.hinge_grad(1.0 - eps)) == -1.0
    assert float(losses.hinge_grad(1.0 + eps)) == 0.0


def test_hinge_is_the_perceptron_criterion_shifted_right_by_one():
    z = np.linspace(-5.0, 5.0, 1001)
    np.testing.assert_allclose(losses.hinge(z), losses.perceptron(z - 1.0), rtol=0, atol=1e-15)
    # The derivatives agree away from the kink; at it the two conventions differ on purpose
    # (a tie is a mistake for the perceptron, while the hinge is satisfied at z = 1).
    away = z[np.abs(z - 1.0) > 1e-9]
    np.testing.assert_array_equal(losses.hinge_grad(away), losses.perceptron_grad(away - 1.0))
    assert float(losses.hinge_grad(1.0)) == 0.0 and float(losses.perceptron_grad(0.0)) == -1.0


def test_logistic_is_stable_for_huge_margins():
    z = jnp.array([-1e4, -1e3, 0.0, 1e3, 1e4])
    value, grad = np.asarray(losses.logistic(z)), np.asarray(losses.logistic_grad(z))
    assert np.all(np.isfinite(value)) and np.all(np.isfinite(grad))
    # log(1 + e^{-z}) = -z + log(1 + e^{z}) ≈ -z for z → -∞, and ≈ e^{-z} → 0 for z → +∞.
    np.testing.assert_allclose(value[[0, 1]], [1e4, 1e3], rtol=1e-15)
    assert value[2] == pytest.approx(math.log(2.0), rel=1e-15)
    np.testing.assert_allclose(value[[3, 4]], [0.0, 0.0], atol=1e-300)
    np.testing.assert_allclose(grad, [-1.0, -1.0, -0.5, 0.0, 0.0], atol=1e-300)
    assert np.all(np.isfinite(jax.vmap(jax.grad(losses.logistic))(z)))


def test_widrow_hoff_of_the_margin_is_the_squared_error():
    yhat = np.random.default_rng(1).normal(scale=3.0, size=50)
    for y in (-1.0, 1.0):
        np.testing.assert_allclose(losses.widrow_hoff(y * yhat), (y - yhat) ** 2, rtol=1e-12)


def test_zero_one_identity_of_eq_1_7():
    """½(y − s)² = 1 − y s for y, s ∈ {±1}, and the 0/1 loss is half of it."""
    for y in (-1.0, 1.0):
        for s in (-1.0, 1.0):
            assert 0.5 * (y - s) ** 2 == 1.0 - y * s
            assert float(losses.zero_one(y * s)) == (1.0 - y * s) / 2.0 == 0.25 * (y - s) ** 2


def test_zero_one_gives_no_gradient():
    z = np.array([-3.0, -0.5, 0.5, 3.0])
    np.testing.assert_array_equal(losses.zero_one_grad(z), 0.0)
    np.testing.assert_array_equal(jax.vmap(jax.grad(losses.zero_one))(jnp.asarray(z)), 0.0)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shape", [(), (4,), (2, 3)], ids=["0-d", "1-d", "2-d"])
def test_margin_loss_shapes(name, shape):
    z = jnp.asarray(np.random.default_rng(0).normal(size=shape))
    loss = losses.get(name)
    assert loss.fn(z).shape == shape and loss.grad(z).shape == shape


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("bad", ["0.5", None, 1j, True], ids=["str", "None", "complex", "bool"])
def test_margin_loss_bad_input_names_z(name, bad):
    loss = losses.get(name)
    for f in (loss.fn, loss.grad):
        with pytest.raises(TypeError, match=r"`z`"):
            f(bad)


def test_get_unknown_loss():
    with pytest.raises(ValueError, match=r"unknown loss 'squared'.*hinge.*perceptron"):
        losses.get("squared")


# ---------------------------------------------------------------- risk of a linear model


def random_problem(seed, n=40, d=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = rng.choice([-1.0, 1.0], size=n)
    w = rng.normal(size=d)
    return w, X, y


def numpy_risk(name, w, X, y):
    """Independent oracle: a Python loop over examples with the NumPy formulas above."""
    _, np_loss, np_grad = NUMPY_LOSSES[name]
    total, grad = 0.0, np.zeros_like(w)
    for x_i, y_i in zip(X, y, strict=True):
        z_i = y_i * sum(w_j * x_j for w_j, x_j in zip(w, x_i, strict=True))
        total += float(np_loss(np.float64(z_i)))
        grad += float(np_grad(np.float64(z_i))) * y_i * x_i
    return total / len(y), grad / len(y)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_risk_and_risk_grad_match_a_numpy_loop(name, seed):
    w, X, y = random_problem(seed)
    value, grad = numpy_risk(name, w, X, y)
    assert float(losses.risk(name, w, X, y)) == pytest.approx(value, rel=1e-12, abs=1e-15)
    np.testing.assert_allclose(losses.risk_grad(name, w, X, y), grad, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_risk_grad_equals_jax_grad_of_risk(name, seed):
    w, X, y = random_problem(seed)
    auto = jax.grad(lambda w: losses.risk(name, w, X, y))(jnp.asarray(w))
    np.testing.assert_allclose(losses.risk_grad(name, w, X, y), auto, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("name", ["logistic", "widrow_hoff", "l2_svm", "hinge", "perceptron"])
def test_risk_grad_equals_finite_differences(name, fd_gradient):
    w, X, y = random_problem(7)
    fd = fd_gradient(lambda w: losses.risk(name, w, X, y), w)
    np.testing.assert_allclose(losses.risk_grad(name, w, X, y), fd, rtol=RTOL, atol=ATOL)


def test_risk_grad_is_not_trivially_zero():
    """Guard for the tests above: on random data the gradients really are nonzero."""
    w, X, y = random_problem(0)
    for name in ("perceptron", "hinge", "logistic", "widrow_hoff", "l2_svm"):
        assert np.linalg.norm(losses.risk_grad(name, w, X, y)) > 1e-3


def test_risk_accepts_lists_and_integer_data():
    X = [[1, 0], [0, 2], [-1, -1]]
    y = [1, -1, 1]
    w = [0.5, 0.25]
    z = np.array([1.0 * 0.5, -1.0 * 0.5, -0.75])
    assert float(losses.risk("hinge", w, X, y)) == pytest.approx(np.mean(np.maximum(1 - z, 0)))


def test_risk_wrong_w_length():
    w, X, y = random_problem(0, d=3)
    with pytest.raises(ValueError, match=r"`w`.*3 columns.*\(2,\)"):
        losses.risk("hinge", w[:2], X, y)
    with pytest.raises(ValueError, match=r"`w`"):
        losses.risk_grad("hinge", np.ones(4), X, y)


def test_risk_labels_must_be_pm1_and_message_lists_them():
    w, X, _ = random_problem(0, n=4)
    y01 = np.array([0.0, 2.0, 0.0, 2.0])
    for f in (losses.risk, losses.risk_grad):
        with pytest.raises(ValueError, match=r"`y`.*found values.*0\.0.*2\.0"):
            f("logistic", w, X, y01)


def test_risk_label_count_and_ranks():
    w, X, y = random_problem(0, n=5)
    with pytest.raises(ValueError, match=r"`y`.*\(5,\)"):
        losses.risk("hinge", w, X, y[:4])
    with pytest.raises(ValueError, match=r"`X`.*2-dimensional"):
        losses.risk("hinge", w, X[0], y)
    with pytest.raises(ValueError, match=r"`w`.*1-dimensional"):
        losses.risk("hinge", w[None, :], X, y)


def test_risk_unknown_loss_name():
    w, X, y = random_problem(0)
    for f in (losses.risk, losses.risk_grad):
        with pytest.raises(ValueError, match=r"unknown loss 'svm'"):
            f("svm", w, X, y)


# ---------------------------------------------------------------- softmax and cross-entropy


def numpy_softmax(v):
    e = np.exp(v - np.max(v, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def test_softmax_sums_to_one_and_is_positive():
    v = np.random.default_rng(3).normal(scale=4.0, size=(6, 5))
    p = np.asarray(losses.softmax(v))
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=1e-14)
    assert np.all(p > 0)
    np.testing.assert_allclose(p, numpy_softmax(v), rtol=1e-13)


def test_softmax_is_shift_invariant():
    v = np.random.default_rng(4).normal(size=(3, 4))
    for c in (-1000.0, 1.5, 1e4):
        np.testing.assert_allclose(losses.softmax(v + c), losses.softmax(v), rtol=1e-10)


def test_softmax_axis_argument():
    v = np.random.default_rng(5).normal(size=(3, 4))
    p0 = np.asarray(losses.softmax(v, axis=0))
    np.testing.assert_allclose(p0.sum(axis=0), 1.0, rtol=1e-14)
    np.testing.assert_allclose(p0, numpy_softmax(v.T).T, rtol=1e-13)


def test_cross_entropy_matches_numpy_on_moderate_logits():
    rng = np.random.default_rng(6)
    logits = rng.normal(scale=3.0, size=(20, 4))
    labels = rng.integers(0, 4, size=20)
    expected = -np.log(numpy_softmax(logits)[np.arange(20), labels])
    out = losses.softmax_cross_entropy(logits, jnp.asarray(labels))
    assert out.shape == (20,)
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    # Single example: logits (k,), label ().
    one = losses.softmax_cross_entropy(logits[3], jnp.asarray(labels[3]))
    assert one.shape == ()
    assert float(one) == pytest.approx(expected[3], rel=1e-12)


@pytest.mark.parametrize("scale", [1e4, -1e4])
def test_cross_entropy_is_finite_and_exact_for_huge_logits(scale):
    # Logits c + (0, -2, -5) with |c| = 1e4: a naive exp overflows (or underflows to 0/0),
    # and the exact loss of class r is (−δ_r) + log(1 + e^{-2} + e^{-5}).
    offsets = np.array([0.0, -2.0, -5.0])
    logits = scale + offsets
    lse = math.log(1.0 + math.exp(-2.0) + math.exp(-5.0))
    for r in range(3):
        out = losses.softmax_cross_entropy(logits, jnp.asarray(r))
        assert np.isfinite(float(out))
        # log-sum-exp is rounded at the scale of |c|: a few ulps of 1e4 is ~1e-12 absolute.
        assert float(out) == pytest.approx(lse - offsets[r], abs=1e-11)
    g = losses.softmax_cross_entropy_grad(logits, jnp.asarray(0))
    p = np.exp(offsets) / np.exp(offsets).sum()
    np.testing.assert_allclose(g, p - np.eye(3)[0], rtol=1e-12, atol=1e-15)
    # A gap of 2e4 between logits: the loss of the losing class is the gap itself.
    big = jnp.array([scale, -scale])
    assert float(losses.softmax_cross_entropy(big, jnp.asarray(0 if scale < 0 else 1))) == (
        pytest.approx(2 * abs(scale), rel=1e-15)
    )


@pytest.mark.parametrize("centre", [1e4, -1e4, 3e4])
def test_cross_entropy_in_float32_is_accurate_for_logits_near_1e4(centre):
    """float32 logits c + N(0, 2²) with |c| up to 3e4, against float64 on the same float32 values.

    Every logit is within a factor of 2 of the largest, so v_j − max v is exact in float32
    (Sterbenz) and the loss, of order 1, is accurate to a few float32 ulps of 1: 2e-6 allows 16.
    The form logsumexp(v) − v_r rounds both terms at the scale of |c| (ulp(1e4) ≈ 1e-3) and
    misses by ~5e-4 here; the assert on ``naive`` proves the test would catch it.
    """
    rng = np.random.default_rng(61)
    logits64 = centre + rng.normal(scale=2.0, size=(64, 10))
    labels = rng.integers(0, 10, size=64)
    logits32 = logits64.astype(np.float32)
    exact = np.asarray(losses.softmax_cross_entropy(logits32.astype(np.float64), labels))
    out = losses.softmax_cross_entropy(jnp.asarray(logits32), jnp.asarray(labels, jnp.int32))
    assert out.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(out, np.float64), exact, rtol=0, atol=2e-6)
    picked = jnp.take_along_axis(jnp.asarray(logits32), jnp.asarray(labels)[:, None], axis=1)
    naive = jax.nn.logsumexp(jnp.asarray(logits32), axis=1) - picked[:, 0]
    assert np.max(np.abs(np.asarray(naive, np.float64) - exact)) > 1e-4
    # The mean loss the MLP trains on inherits the accuracy.
    mean = jnp.mean(out)
    assert abs(float(mean) - exact.mean()) < 2e-6


def test_cross_entropy_grad_equals_jax_grad_and_p_minus_onehot():
    rng = np.random.default_rng(8)
    logits = rng.normal(scale=2.0, size=(7, 5))
    labels = jnp.asarray(rng.integers(0, 5, size=7))
    hand = losses.softmax_cross_entropy_grad(logits, labels)
    auto = jax.grad(lambda v: jnp.sum(losses.softmax_cross_entropy(v, labels)))(jnp.asarray(logits))
    onehot = np.zeros((7, 5))
    onehot[np.arange(7), np.asarray(labels)] = 1.0
    assert hand.shape == (7, 5)
    np.testing.assert_allclose(hand, auto, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(hand, numpy_softmax(logits) - onehot, rtol=1e-12, atol=1e-15)
    # A single example gives the same row as the batch.
    g1 = losses.softmax_cross_entropy_grad(logits[0], labels[0])
    assert g1.shape == (5,)
    np.testing.assert_allclose(g1, hand[0], rtol=1e-14)


def test_cross_entropy_grad_equals_finite_differences(fd_gradient):
    logits = np.random.default_rng(9).normal(size=4)
    label = jnp.asarray(2)
    fd = fd_gradient(lambda v: losses.softmax_cross_entropy(v, label), logits)
    np.testing.assert_allclose(
        losses.softmax_cross_entropy_grad(logits, label), fd, rtol=RTOL, atol=ATOL
    )


def test_two_class_cross_entropy_is_the_logistic_loss_of_the_margin():
    """k = 2 (Eq 1.15 → Eq 1.14): −log p_r = log(1 + e^{−(v_r − v_other)})."""
    rng = np.random.default_rng(10)
    logits = rng.normal(scale=3.0, size=(30, 2))
    labels = rng.integers(0, 2, size=30)
    margin = logits[np.arange(30), labels] - logits[np.arange(30), 1 - labels]
    np.testing.assert_allclose(
        losses.softmax_cross_entropy(logits, jnp.asarray(labels)),
        losses.logistic(margin),
        rtol=1e-12,
    )


def test_cross_entropy_labels_must_be_integers():
    with pytest.raises(TypeError, match=r"`labels`.*integer"):
        losses.softmax_cross_entropy(np.zeros((2, 3)), jnp.array([0.0, 1.0]))
    with pytest.raises(TypeError, match=r"`labels`"):
        losses.softmax_cross_entropy_grad(np.zeros(3), 1.0)


def test_cross_entropy_label_shape():
    with pytest.raises(ValueError, match=r"`labels` must have shape \(2,\).*\(3,\)"):
        losses.softmax_cross_entropy(np.zeros((2, 3)), jnp.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"`labels` must have shape \(\)"):
        losses.softmax_cross_entropy(np.zeros(3), jnp.array([0]))


@pytest.mark.parametrize("bad", [3, -1])
def test_cross_entropy_labels_out_of_range(bad):
    for f in (losses.softmax_cross_entropy, losses.softmax_cross_entropy_grad):
        with pytest.raises(ValueError, match=r"`labels` must lie in 0\.\.2 for 3 classes"):
            f(np.zeros((2, 3)), jnp.array([0, bad]))


def test_cross_entropy_logits_rank():
    with pytest.raises(ValueError, match=r"`logits`"):
        losses.softmax_cross_entropy(np.zeros((2, 3, 4)), jnp.zeros((2, 3), int))
    with pytest.raises(TypeError, match=r"`logits`"):
        losses.softmax_cross_entropy("abc", jnp.asarray(0))


def test_cross_entropy_under_jit_with_traced_labels():
    """Inside jit the label range cannot be checked; shapes still are, and the value is right."""
    logits = jnp.asarray(np.random.default_rng(11).normal(size=(4, 3)))
    labels = jnp.array([0, 2, 1, 1])
    jitted = jax.jit(losses.softmax_cross_entropy)
    np.testing.assert_allclose(
        jitted(logits, labels), losses.softmax_cross_entropy(logits, labels), rtol=1e-14
    )
    with pytest.raises(ValueError, match=r"`labels` must have shape"):
        jitted(logits, labels[:3])


# ---------------------------------------------------------------- multiclass losses (§2.3)

MULTICLASS = ("multiclass_perceptron", "weston_watkins", "softmax")


def _np_multiclass(name, v, c):
    """Independent per-example NumPy loops for Eq 2.22, 2.25 and 2.31."""
    out = []
    for row, cls in zip(np.atleast_2d(v), np.atleast_1d(c), strict=True):
        others = [row[r] - row[cls] for r in range(row.size) if r != cls]
        if name == "multiclass_perceptron":
            out.append(max(max(others), 0.0))
        elif name == "weston_watkins":
            out.append(sum(max(t + 1.0, 0.0) for t in others))
        else:
            out.append(-row[cls] + math.log(sum(math.exp(x) for x in row)))
    return np.array(out)


def _random_scores(seed, n=40, k=4):
    rng = np.random.default_rng(seed)
    return rng.normal(scale=2.0, size=(n, k)), rng.integers(0, k, size=n)


def test_multiclass_registry():
    assert set(losses.MULTICLASS_LOSSES) == set(MULTICLASS)
    assert losses.MULTICLASS_LOSSES["weston_watkins"].grad is losses.weston_watkins_grad
    assert losses.get_multiclass("softmax").fn is losses.softmax_cross_entropy
    with pytest.raises(ValueError, match=r"unknown multiclass loss 'svm'.*weston_watkins"):
        losses.get_multiclass("svm")


@pytest.mark.parametrize("name", MULTICLASS)
def test_multiclass_loss_values_match_numpy_loops(name):
    v, c = _random_scores(20)
    got = losses.get_multiclass(name).fn(v, jnp.asarray(c))
    np.testing.assert_allclose(got, _np_multiclass(name, v, c), rtol=1e-12, atol=1e-14)
    assert losses.get_multiclass(name).fn(v[0], jnp.asarray(c[0])).shape == ()


@pytest.mark.parametrize("name", MULTICLASS)
def test_multiclass_hand_grad_equals_jax_grad(name):
    v, c = _random_scores(21)  # continuous random scores: no ties, no kinks
    loss = losses.get_multiclass(name)
    auto = jax.vmap(jax.grad(loss.fn))(jnp.asarray(v), jnp.asarray(c))
    np.testing.assert_allclose(loss.grad(v, jnp.asarray(c)), auto, rtol=RTOL, atol=ATOL)
    assert np.any(np.asarray(auto) != 0)  # not a vacuous comparison


@pytest.mark.parametrize("name", MULTICLASS)
def test_multiclass_hand_grad_equals_finite_differences(name, fd_gradient):
    v, c = _random_scores(22, n=8)
    loss = losses.get_multiclass(name)
    for row, cls in zip(v, c, strict=True):
        fd = fd_gradient(lambda s, cls=cls: loss.fn(s, jnp.asarray(cls)), row)
        np.testing.assert_allclose(loss.grad(row, jnp.asarray(cls)), fd, rtol=1e-6, atol=1e-8)


def test_multiclass_grads_touch_two_rows_some_rows_all_rows():
    """Eq 2.23: the perceptron touches at most 2 classes; Weston–Watkins up to k; softmax all k."""
    v, c = _random_scores(23, n=200, k=5)
    c = jnp.asarray(c)
    nz = {
        name: np.sum(np.asarray(losses.get_multiclass(name).grad(v, c)) != 0, axis=1)
        for name in MULTICLASS
    }
    assert set(nz["multiclass_perceptron"]) == {0, 2}
    assert nz["weston_watkins"].max() == 5 and nz["weston_watkins"].min() == 0
    assert np.all(nz["softmax"] == 5)
    # Every gradient with respect to the scores sums to zero (adding a constant to all scores
    # changes no loss).
    for name in MULTICLASS:
        np.testing.assert_allclose(
            losses.get_multiclass(name).grad(v, c).sum(axis=1), 0, atol=1e-12
        )


def test_softmax_score_gradient_is_p_minus_onehot_eq_2_34():
    v, c = _random_scores(24)
    p = np.exp(v) / np.exp(v).sum(axis=1, keepdims=True)
    onehot = np.eye(v.shape[1])[c]
    np.testing.assert_allclose(
        losses.get_multiclass("softmax").grad(v, jnp.asarray(c)), p - onehot, rtol=1e-12, atol=1e-15
    )


def test_multiclass_perceptron_tie_counts_as_a_mistake():
    g = losses.multiclass_perceptron_grad(jnp.zeros(3), jnp.asarray(1))
    np.testing.assert_array_equal(g, [1.0, -1.0, 0.0])  # first other class on a tie
    g = losses.multiclass_perceptron_grad(jnp.array([0.0, 1.0, 0.5]), jnp.asarray(1))
    np.testing.assert_array_equal(g, [0.0, 0.0, 0.0])


@pytest.mark.parametrize(
    ("multi", "binary"),
    [("multiclass_perceptron", "perceptron"), ("weston_watkins", "hinge"), ("softmax", "logistic")],
)
def test_two_classes_reduce_to_binary_losses_of_w1_minus_w2(multi, binary):
    """Exercises 2.4/2.5: with k = 2, class 0 <-> y = +1, the loss is L(y (v_0 - v_1))."""
    v, c = _random_scores(25, n=60, k=2)
    y = np.where(c == 0, 1.0, -1.0)
    z = y * (v[:, 0] - v[:, 1])
    np.testing.assert_allclose(
        losses.get_multiclass(multi).fn(v, jnp.asarray(c)),
        losses.get(binary).fn(z),
        rtol=1e-12,
        atol=1e-14,
    )
    g = np.asarray(losses.get_multiclass(multi).grad(v, jnp.asarray(c)))
    # d/dv_0 = y L'(z) and d/dv_1 = -y L'(z).
    np.testing.assert_allclose(
        g[:, 0], y * np.asarray(losses.get(binary).grad(z)), rtol=1e-12, atol=1e-14
    )
    np.testing.assert_allclose(g[:, 1], -g[:, 0], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", ["multiclass_perceptron", "weston_watkins"])
def test_multiclass_loss_input_errors(name):
    loss = losses.get_multiclass(name)
    with pytest.raises(TypeError, match=r"`labels`.*integer"):
        loss.fn(np.zeros((2, 3)), jnp.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"`labels` must have shape \(2,\).*`scores`"):
        loss.grad(np.zeros((2, 3)), jnp.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"`labels` must lie in 0\.\.2"):
        loss.fn(np.zeros((2, 3)), jnp.array([0, 3]))
    with pytest.raises(ValueError, match=r"`scores` must be 1 or 2-dimensional"):
        loss.fn(np.zeros((2, 3, 1)), jnp.zeros((2, 3), int))
