"""Tests for course_lib.activations: every hand-written derivative against two oracles
(``jax.grad`` and central finite differences), the book's identities, and input checks."""

import functools
import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import activations as act

# (name, Φ, Φ', points where Φ is not differentiable)
CASES = [
    ("identity", act.identity, act.identity_grad, ()),
    ("sign", act.sign, act.sign_grad, (0.0,)),
    ("sigmoid", act.sigmoid, act.sigmoid_grad, ()),
    ("tanh", act.tanh, act.tanh_grad, ()),
    ("relu", act.relu, act.relu_grad, (0.0,)),
    ("hard_tanh", act.hard_tanh, act.hard_tanh_grad, (-1.0, 1.0)),
    ("leaky_relu", act.leaky_relu, act.leaky_relu_grad, (0.0,)),
    (
        "leaky_relu(alpha=0.3)",
        functools.partial(act.leaky_relu, alpha=0.3),
        functools.partial(act.leaky_relu_grad, alpha=0.3),
        (0.0,),
    ),
]
IDS = [c[0] for c in CASES]

# Relative tolerance of the textbook's gradient check; the absolute part covers the rounding
# error of central differences (~1e-16 * |Φ| / h ≈ 1e-10) where Φ' itself is tiny (tails).
RTOL, ATOL = 1e-6, 1e-9


def grid_avoiding(kinks, low=-6.0, high=6.0, num=601, gap=1e-3):
    """A float64 grid on [low, high] with every point at least ``gap`` away from each kink."""
    v = np.linspace(low, high, num)
    if kinks:
        dist = np.min(np.abs(v[:, None] - np.asarray(kinks)[None, :]), axis=1)
        v = v[dist > gap]
    return v


@pytest.mark.parametrize(("name", "fn", "grad", "kinks"), CASES, ids=IDS)
def test_hand_derivative_equals_jax_grad(name, fn, grad, kinks):
    v = grid_avoiding(kinks)
    auto = jax.vmap(jax.grad(fn))(jnp.asarray(v))
    np.testing.assert_allclose(grad(v), auto, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize(("name", "fn", "grad", "kinks"), CASES, ids=IDS)
def test_hand_derivative_equals_finite_differences(name, fn, grad, kinks, fd_derivative):
    v = grid_avoiding(kinks)
    np.testing.assert_allclose(grad(v), fd_derivative(fn, v), rtol=RTOL, atol=ATOL)


def test_grid_really_avoids_kinks_and_is_dense():
    v = grid_avoiding((-1.0, 0.0, 1.0))
    assert np.min(np.abs(v)) > 1e-3 and np.min(np.abs(np.abs(v) - 1.0)) > 1e-3
    assert v.size > 590  # only the few points next to the kinks were dropped


def test_subgradients_at_kinks_follow_the_docstrings():
    # ReLU'(0) = 1 and hard tanh'(±1) = 1 (the book's choice); leaky ReLU'(0) = 1 like ReLU.
    assert float(act.relu_grad(0.0)) == 1.0
    np.testing.assert_array_equal(act.hard_tanh_grad(jnp.array([-1.0, 1.0])), [1.0, 1.0])
    assert float(act.leaky_relu_grad(0.0, alpha=0.2)) == 1.0
    assert float(act.sign_grad(0.0)) == 0.0
    # Just past each kink the other branch applies.
    eps = 1e-12
    assert float(act.relu_grad(-eps)) == 0.0
    np.testing.assert_array_equal(
        act.hard_tanh_grad(jnp.array([-1.0 - eps, 1.0 + eps])), [0.0, 0.0]
    )
    assert float(act.leaky_relu_grad(-eps, alpha=0.2)) == 0.2


def test_each_kink_choice_is_a_subgradient():
    """The chosen value lies between the one-sided derivatives (so it is a valid subgradient)."""
    for fn, grad, kink in [
        (act.relu, act.relu_grad, 0.0),
        (act.hard_tanh, act.hard_tanh_grad, -1.0),
        (act.hard_tanh, act.hard_tanh_grad, 1.0),
    ]:
        h = 1e-6
        left = (float(fn(kink)) - float(fn(kink - h))) / h
        right = (float(fn(kink + h)) - float(fn(kink))) / h
        g = float(grad(kink))
        assert min(left, right) - 1e-9 <= g <= max(left, right) + 1e-9


def test_tanh_is_a_rescaled_sigmoid():
    v = np.linspace(-20.0, 20.0, 401)
    np.testing.assert_allclose(act.tanh(v), 2.0 * act.sigmoid(2.0 * v) - 1.0, atol=1e-14)


def test_sigmoid_symmetry():
    v = np.linspace(-20.0, 20.0, 401)
    np.testing.assert_allclose(act.sigmoid(-v), 1.0 - act.sigmoid(v), atol=1e-15)


@pytest.mark.parametrize(
    "fn", [act.tanh, act.hard_tanh, act.sign], ids=["tanh", "hard_tanh", "sign"]
)
def test_odd_functions(fn):
    v = np.linspace(-5.0, 5.0, 201)
    np.testing.assert_allclose(fn(-v), -fn(v), rtol=0, atol=1e-15)


def test_activations_match_their_closed_forms():
    """Independent NumPy formulas from §1.2.1.3 (Fig 1.8)."""
    v = np.linspace(-5.0, 5.0, 101)
    np.testing.assert_allclose(act.sigmoid(v), 1.0 / (1.0 + np.exp(-v)), rtol=1e-14)
    np.testing.assert_allclose(
        act.tanh(v), (np.exp(2 * v) - 1) / (np.exp(2 * v) + 1), rtol=1e-12, atol=1e-15
    )
    np.testing.assert_array_equal(act.relu(v), np.where(v > 0, v, 0.0))
    np.testing.assert_array_equal(act.hard_tanh(v), np.minimum(np.maximum(v, -1.0), 1.0))
    np.testing.assert_allclose(act.leaky_relu(v, alpha=0.1), np.maximum(0.1 * v, v), rtol=1e-15)
    np.testing.assert_array_equal(act.sign(v), np.sign(v))
    np.testing.assert_array_equal(act.identity(v), v)


def test_closed_form_derivatives_of_the_book():
    """Eq 1.18 and 1.21 in their exponential forms, not the σ(1-σ) / 1-tanh² forms the code uses."""
    v = np.linspace(-8.0, 8.0, 161)
    np.testing.assert_allclose(
        act.sigmoid_grad(v), np.exp(-v) / (1 + np.exp(-v)) ** 2, rtol=1e-10, atol=1e-15
    )
    np.testing.assert_allclose(
        act.tanh_grad(v), 4 * np.exp(2 * v) / (np.exp(2 * v) + 1) ** 2, rtol=1e-8, atol=1e-15
    )


@pytest.mark.parametrize(
    ("grad", "peak"),
    [(act.sigmoid_grad, 0.25), (act.tanh_grad, 1.0)],
    ids=["sigmoid (Exercise 7)", "tanh (Exercise 8)"],
)
def test_derivative_maximum_is_at_zero(grad, peak):
    # A fine grid that contains 0; the peak value and place are the analytic facts σ'(0) = 1/4
    # and tanh'(0) = 1, found here by search rather than by evaluating at 0.
    v = np.arange(-100_000, 100_001) * 1e-4  # step 1e-4 on [-10, 10]; v[100_000] == 0 exactly
    for values in (np.asarray(grad(v)), np.asarray(jax.vmap(jax.grad(_fn_of(grad)))(v))):
        i = int(np.argmax(values))
        assert v[i] == 0.0
        assert values[i] == pytest.approx(peak, rel=1e-14)
        assert np.all(values <= peak + 1e-15)


def _fn_of(grad):
    return {act.sigmoid_grad: act.sigmoid, act.tanh_grad: act.tanh}[grad]


def test_sigmoid_and_tanh_are_stable_for_huge_inputs():
    v = jnp.array([-1e4, -1e3, -710.0, -100.0, 0.0, 100.0, 710.0, 1e3, 1e4])
    for fn in (act.sigmoid, act.sigmoid_grad, act.tanh, act.tanh_grad):
        out = np.asarray(fn(v))
        assert np.all(np.isfinite(out)), fn.__name__
    s = np.asarray(act.sigmoid(v))
    assert np.all((s >= 0) & (s <= 1))
    assert s[0] == pytest.approx(0.0, abs=1e-300) and s[-1] == 1.0
    assert np.all(np.diff(s) >= 0)  # monotone, even where it saturates
    assert np.all(np.asarray(act.sigmoid_grad(v)) >= 0)
    assert np.all(np.isfinite(jax.vmap(jax.grad(act.sigmoid))(v)))
    # float32 too: 1e4 overflows exp in float32, and the result stays finite and in [0, 1].
    s32 = act.sigmoid(jnp.array([-1e4, 1e4], dtype=jnp.float32))
    assert s32.dtype == jnp.float32
    np.testing.assert_array_equal(s32, [0.0, 1.0])


@pytest.mark.parametrize("name", sorted(act.ACTIVATIONS))
@pytest.mark.parametrize("shape", [(), (5,), (3, 4)], ids=["0-d", "1-d", "2-d"])
def test_shapes_and_dtypes_are_preserved(name, shape):
    a = act.get(name)
    v = jnp.asarray(np.random.default_rng(0).normal(size=shape))
    for f in (a.fn, a.grad):
        out = f(v)
        assert out.shape == shape
        assert out.dtype == v.dtype
    # Elementwise: the 2-d result equals the function applied to each entry on its own (to a
    # few float64 ulps: XLA may evaluate tanh one way in a vector and another for a scalar)
    if shape == (3, 4):
        np.testing.assert_allclose(a.fn(v)[1, 2], a.fn(v[1, 2]), rtol=1e-14, atol=1e-300)
        np.testing.assert_allclose(a.grad(v)[2, 3], a.grad(v[2, 3]), rtol=1e-14, atol=1e-300)
    v32 = v.astype(jnp.float32)
    assert a.fn(v32).dtype == jnp.float32 and a.grad(v32).dtype == jnp.float32


def test_integer_inputs_are_promoted_to_float():
    out = act.relu(jnp.array([-2, 0, 3]))
    assert jnp.issubdtype(out.dtype, jnp.floating)
    np.testing.assert_array_equal(out, [0.0, 0.0, 3.0])
    np.testing.assert_array_equal(act.relu_grad([-2, 0, 3]), [0.0, 1.0, 1.0])


def test_registry_covers_every_activation_in_the_module():
    # Every public function `f` with a companion `f_grad` is an activation.
    pairs = {
        name
        for name, obj in inspect.getmembers(act, inspect.isfunction)
        if not name.startswith("_") and hasattr(act, f"{name}_grad")
    }
    assert pairs == set(act.ACTIVATIONS)
    for name, entry in act.ACTIVATIONS.items():
        assert entry.name == name
        assert entry.fn is getattr(act, name)
        assert entry.grad is getattr(act, f"{name}_grad")
        assert act.get(name) is entry
        assert entry.formula and entry.grad_formula


def test_get_unknown_name_lists_the_choices():
    with pytest.raises(ValueError, match=r"unknown activation 'softplus'.*relu.*tanh"):
        act.get("softplus")


ALL_FUNCTIONS = [f for a in act.ACTIVATIONS.values() for f in (a.fn, a.grad)]


@pytest.mark.parametrize("fn", ALL_FUNCTIONS, ids=[f.__name__ for f in ALL_FUNCTIONS])
@pytest.mark.parametrize(
    "bad",
    ["1.0", None, 1 + 2j, jnp.array([1 + 0j]), True, np.array([True, False]), ["a", "b"]],
    ids=["str", "None", "complex", "complex-array", "bool", "bool-array", "list-of-str"],
)
def test_bad_inputs_raise_type_error_naming_v(fn, bad):
    with pytest.raises(TypeError, match=r"`v`"):
        fn(bad)


@pytest.mark.parametrize("fn", [act.leaky_relu, act.leaky_relu_grad])
@pytest.mark.parametrize("alpha", [-0.01, 1.5, float("nan")])
def test_leaky_relu_alpha_out_of_range(fn, alpha):
    with pytest.raises(ValueError, match=r"`alpha`"):
        fn(jnp.ones(3), alpha=alpha)


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_leaky_relu_alpha_endpoints_are_allowed(alpha):
    v = jnp.array([-2.0, 3.0])
    np.testing.assert_array_equal(act.leaky_relu(v, alpha=alpha), [-2.0 * alpha, 3.0])
    np.testing.assert_array_equal(act.leaky_relu_grad(v, alpha=alpha), [alpha, 1.0])


def test_leaky_relu_alpha_can_be_traced():
    """A slider can move alpha inside jit: one compile for two values."""
    f = jax.jit(lambda v, a: act.leaky_relu(v, alpha=a))
    v = jnp.array([-2.0, 3.0])
    np.testing.assert_allclose(f(v, 0.1), [-0.2, 3.0])
    np.testing.assert_allclose(f(v, 0.5), [-1.0, 3.0])
    assert f._cache_size() <= 1


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "hard_tanh", "leaky_relu"])
@pytest.mark.parametrize("weight", [0.5, 1.0, 2.5])
def test_chain_gradients_equal_autodiff_of_the_composition(name, weight):
    fn = act.get(name).fn
    hand = np.asarray(act.chain_gradients(name, weight, x0=0.3, max_depth=8))

    def composed(x, depth):
        for _ in range(depth):
            x = fn(weight * x)
        return x

    auto = [float(jax.grad(composed)(jnp.float32(0.3), L)) for L in range(1, 9)]
    np.testing.assert_allclose(hand, auto, rtol=2e-5, atol=1e-30)


def test_sigmoid_chain_vanishes_at_least_like_a_quarter_to_the_depth():
    g = np.asarray(act.chain_gradients("sigmoid", 1.0, max_depth=20))
    assert np.all(np.abs(g) <= 0.25 ** np.arange(1, 21))
    relu = np.asarray(act.chain_gradients("relu", 1.0, x0=0.5, max_depth=20))
    np.testing.assert_array_equal(relu, 1.0)


def test_chain_gradients_rejects_unknown_activation():
    with pytest.raises(ValueError, match="`name` must be one of"):
        act.chain_gradients("softsign", 1.0)


def test_chain_gradients_rejects_bad_depth():
    with pytest.raises(ValueError, match="max_depth"):
        act.chain_gradients("relu", 1.0, max_depth=0)


def test_chain_gradient_bound_holds_and_is_tight_for_identity():
    for name in act.CHAIN_ACTIVATIONS:
        for weight in (0.5, 1.0, 3.0):
            g = np.abs(np.asarray(act.chain_gradients(name, weight, max_depth=12)))
            bound = np.asarray(act.chain_gradient_bound(name, weight, max_depth=12))
            assert bound.shape == (12,)
            assert np.all(g <= bound * (1 + 1e-5)), (name, weight)
    # |w| max|Phi'| per layer: the identity meets it exactly, the sigmoid's factor is w / 4
    np.testing.assert_allclose(act.chain_gradient_bound("identity", -2.0, max_depth=3), [2, 4, 8])
    np.testing.assert_allclose(act.chain_gradient_bound("sigmoid", 2.0, max_depth=2), [0.5, 0.25])
    # the maximum slopes are what the hand-written derivatives reach
    v = jnp.linspace(-5.0, 5.0, 2001)
    for name, slope in act.CHAIN_MAX_SLOPE.items():
        assert float(jnp.max(jnp.abs(act.get(name).grad(v)))) == pytest.approx(slope, rel=1e-4)
    before = act.chain_gradients_cache_size()
    with pytest.raises(ValueError, match="`name` must be one of"):
        act.chain_gradient_bound("softplus", 1.0)
    with pytest.raises((TypeError, ValueError), match="max_depth"):
        act.chain_gradient_bound("tanh", 1.0, max_depth=0)
    assert act.chain_gradients_cache_size() == before
