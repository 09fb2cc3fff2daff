"""Direct tests of course_lib._validate: every message names the argument, value checks run on
concrete inputs and are skipped on traced ones, shape and dtype checks run on both."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import _validate as v


def test_test_config_is_float64_and_strict():
    """conftest.py's settings are in force (a misspelt option name would change nothing)."""
    assert jax.config.jax_enable_x64
    assert jax.config.jax_numpy_rank_promotion == "raise"
    assert jnp.asarray(1.0).dtype == jnp.float64
    with pytest.raises(ValueError, match="rank_promotion"):
        jnp.ones((3, 1)) * jnp.ones(2)


# ---------------------------------------------------------------- is_traced


def test_is_traced():
    assert not v.is_traced(jnp.ones(2))
    assert not v.is_traced(1.0)
    seen = []
    jax.jit(lambda x: seen.append(v.is_traced(x)) or x)(jnp.ones(2))
    jax.vmap(lambda x: seen.append(v.is_traced(x)) or x)(jnp.ones(2))
    jax.grad(lambda x: seen.append(v.is_traced(x)) or x)(1.0)
    assert seen == [True, True, True]


# ---------------------------------------------------------------- float_array


@pytest.mark.parametrize(
    ("x", "shape"),
    [(3, ()), ([1, 2], (2,)), (np.arange(6).reshape(2, 3), (2, 3)), (np.float32(1.5), ())],
)
def test_float_array_accepts_numbers_and_promotes_integers(x, shape):
    arr = v.float_array("x", x)
    assert isinstance(arr, jax.Array)
    assert arr.shape == shape
    assert jnp.issubdtype(arr.dtype, jnp.floating)
    np.testing.assert_array_equal(arr, np.asarray(x, dtype=float))


def test_float_array_keeps_float_dtype_and_identity_of_jax_arrays():
    a32 = jnp.ones(3, jnp.float32)
    assert v.float_array("x", a32).dtype == jnp.float32
    assert v.float_array("x", a32) is a32  # no copy of a valid JAX array
    assert v.float_array("x", [1, 2]).dtype == jnp.float64  # default float under x64


@pytest.mark.parametrize(
    ("bad", "what"),
    [
        ("abc", "numeric array"),
        (None, "numeric array"),
        (["a", "b"], "numeric array"),
        ({"a": 1}, "numeric array|real numbers"),
        (1 + 2j, "real numbers"),
        (np.array([1j]), "real numbers"),
        (True, "real numbers"),
        (jnp.array([True]), "real numbers"),
    ],
    ids=["str", "None", "list-of-str", "dict", "complex", "complex-array", "bool", "bool-array"],
)
def test_float_array_rejects_non_real_input_naming_the_argument(bad, what):
    with pytest.raises(TypeError, match=rf"`weights` must (be a|hold).*({what})"):
        v.float_array("weights", bad)


def test_float_array_ndim():
    assert v.float_array("X", np.ones((2, 3)), ndim=2).shape == (2, 3)
    assert v.float_array("X", np.ones(3), ndim=(1, 2)).shape == (3,)
    with pytest.raises(ValueError, match=r"`X` must be 2-dimensional, got shape \(3,\)"):
        v.float_array("X", np.ones(3), ndim=2)
    with pytest.raises(ValueError, match=r"`X` must be 1 or 2-dimensional, got shape \(1, 1, 1\)"):
        v.float_array("X", np.ones((1, 1, 1)), ndim=(1, 2))


def test_float_array_shape_checks_still_run_under_jit():
    f = jax.jit(lambda x: v.float_array("X", x, ndim=2))
    assert f(jnp.ones((2, 2))).shape == (2, 2)
    with pytest.raises(ValueError, match=r"`X` must be 2-dimensional"):
        f(jnp.ones(3))
    with pytest.raises(TypeError, match=r"`X` must hold real numbers"):
        jax.jit(lambda x: v.float_array("X", x))(jnp.array([True]))


# ---------------------------------------------------------------- finite


def test_finite():
    x = jnp.array([1.0, 2.0])
    assert v.finite("X", x) is x
    with pytest.raises(ValueError, match=r"`X` contains 2 NaN or infinite"):
        v.finite("X", jnp.array([jnp.nan, 1.0, jnp.inf]))
    with pytest.raises(ValueError, match=r"`X` contains 1 NaN"):
        v.finite("X", jnp.array(-jnp.inf))


def test_finite_is_skipped_inside_jit():
    out = jax.jit(lambda x: v.finite("X", x))(jnp.array([jnp.nan, 1.0]))
    assert np.isnan(np.asarray(out)[0])


# ---------------------------------------------------------------- labels_pm1


def test_labels_pm1():
    out = v.labels_pm1("y", [1, -1, 1])
    assert jnp.issubdtype(out.dtype, jnp.floating)
    np.testing.assert_array_equal(out, [1.0, -1.0, 1.0])
    with pytest.raises(ValueError, match=r"`y` must contain only the labels -1 and \+1.*0\.0"):
        v.labels_pm1("y", [0, 1, 1])
    with pytest.raises(ValueError, match=r"found values \[-1\.0, 0\.5, 1\.0\]"):
        v.labels_pm1("y", [1.0, -1.0, 0.5])
    with pytest.raises(ValueError, match=r"`y` must have one label per example: expected shape"):
        v.labels_pm1("y", [1, -1], n=3)
    with pytest.raises(ValueError, match=r"`y` must be 1-dimensional"):
        v.labels_pm1("y", [[1, -1]])
    with pytest.raises(TypeError, match=r"`y`"):
        v.labels_pm1("y", ["+", "-"])


def test_labels_pm1_value_check_is_skipped_inside_jit_but_shape_is_not():
    f = jax.jit(lambda y: v.labels_pm1("y", y, n=2))
    np.testing.assert_array_equal(f(jnp.array([0.0, 1.0])), [0.0, 1.0])  # no value check
    with pytest.raises(ValueError, match=r"`y` must have one label per example"):
        f(jnp.array([1.0, -1.0, 1.0]))


# ---------------------------------------------------------------- positive and in_range


def test_positive():
    assert v.positive("lr", 0.5) == 0.5
    assert float(v.positive("lr", jnp.asarray(2.0))) == 2.0  # concrete arrays are checked too
    with pytest.raises(ValueError, match=r"`lr` must be positive"):
        v.positive("lr", jnp.asarray(-2.0))
    assert v.positive("noise", 0.0, allow_zero=True) == 0.0
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match=r"`lr` must be positive"):
            v.positive("lr", bad)
    with pytest.raises(ValueError, match=r"`noise` must be non-negative"):
        v.positive("noise", -0.1, allow_zero=True)
    with pytest.raises(TypeError, match=r"`lr` must be a real number"):
        v.positive("lr", "fast")
    with pytest.raises(TypeError, match=r"`lr` must be a real number"):
        v.positive("lr", None)


def test_positive_is_skipped_inside_jit():
    out = jax.jit(lambda a: v.positive("lr", a))(-1.0)
    assert float(out) == -1.0


def test_in_range():
    for ok in (0.0, 0.5, 1.0):
        assert v.in_range("alpha", ok, 0.0, 1.0) == ok
    for bad in (-1e-9, 1.0 + 1e-9, float("nan")):
        with pytest.raises(ValueError, match=r"`alpha` must lie in \[0\.0, 1\.0\]"):
            v.in_range("alpha", bad, 0.0, 1.0)
    out = jax.jit(lambda a: v.in_range("alpha", a, 0.0, 1.0))(5.0)
    assert float(out) == 5.0


# ---------------------------------------------------------------- positive_int


def test_positive_int():
    assert v.positive_int("n", 3) == 3
    out = v.positive_int("n", np.int64(4))
    assert out == 4 and type(out) is int
    with pytest.raises(ValueError, match=r"`n` must be a positive integer, got 0"):
        v.positive_int("n", 0)
    with pytest.raises(ValueError, match=r"`n`"):
        v.positive_int("n", -2)
    for bad in (2.5, 3.0, True, "3", None, jnp.asarray(3)):
        with pytest.raises(TypeError, match=r"`n` must be a positive integer"):
            v.positive_int("n", bad)


# ---------------------------------------------------------------- prng_key


def test_prng_key():
    k = jax.random.key(0)
    assert v.prng_key("key", k) is k
    legacy = jax.random.PRNGKey(0)
    assert v.prng_key("key", legacy) is legacy
    batch = jax.random.split(k, 3)
    assert v.prng_key("key", batch) is batch  # a batch of typed keys is still keys
    with pytest.raises(TypeError, match=r"`key` is required.*key=jax\.random\.key\(0\)"):
        v.prng_key("key", None)
    for bad in (0, np.array([0, 1], dtype=np.uint32), jnp.zeros(2), jnp.zeros(3, jnp.uint32)):
        with pytest.raises(TypeError, match=r"`key` must be a JAX random key"):
            v.prng_key("key", bad)


def test_prng_key_accepts_traced_keys():
    out = jax.jit(lambda k: jax.random.key_data(v.prng_key("key", k)))(jax.random.key(1))
    np.testing.assert_array_equal(out, jax.random.key_data(jax.random.key(1)))


# ---------------------------------------------------------------- same_rows


def test_same_rows():
    v.same_rows("X", jnp.ones((3, 2)), "y", jnp.ones(3))
    with pytest.raises(ValueError, match=r"`X` and `y` must have the same number of rows.*3 and 4"):
        v.same_rows("X", jnp.ones((3, 2)), "y", jnp.ones(4))


def test_describe_is_short_and_informative():
    assert "shape (2, 3)" in v._describe(jnp.ones((2, 3)))
    assert "float" in v._describe(jnp.ones((2, 3)))
    assert len(v._describe("x" * 1000)) <= 120


def test_value_checks_work_on_concrete_arrays_captured_inside_jit():
    """Inside jax.jit a closed-over array is concrete, but jnp ops on it are traced: the value
    checks must use NumPy so that they still run (and still catch bad values)."""
    y_good = jnp.array([1.0, -1.0, 1.0])
    y_bad = jnp.array([1.0, 0.0, 1.0])
    x_bad = jnp.array([1.0, jnp.nan])

    @jax.jit
    def uses_good(w):
        return w * v.labels_pm1("y", y_good).sum()

    assert float(uses_good(2.0)) == 2.0
    with pytest.raises(ValueError, match=r"only the labels -1 and \+1, found values \[0.0, 1.0\]"):
        jax.jit(lambda w: w * v.labels_pm1("y", y_bad).sum())(1.0)
    with pytest.raises(ValueError, match=r"`x` contains 1 NaN"):
        jax.jit(lambda w: w * v.finite("x", x_bad).sum())(1.0)
