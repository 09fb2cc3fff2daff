"""course_lib.tuning: the grid has sqrt(budget) distinct learning rates and random search
budget-many; each vmapped trial equals the same gradient descent written out as a Python loop
(float64), trials are deterministic, a new set of trials never recompiles; bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import widget_views

from course_lib import data, mlp, tuning

BOX = tuning.Box((-2.0, 1.0), (-5.0, -2.0))


def test_grid_and_random_distinct_values():
    grid = tuning.grid_trials(BOX, 16)
    rnd = tuning.random_trials(BOX, 16, key=jax.random.key(0))
    assert grid.shape == rnd.shape == (16, 2)
    assert tuning.distinct_values(grid, 0) == tuning.distinct_values(grid, 1) == 4
    assert tuning.distinct_values(rnd, 0) == tuning.distinct_values(rnd, 1) == 16
    assert float(grid[:, 0].min()) == -2.0 and float(grid[:, 0].max()) == 1.0
    assert np.all((np.asarray(rnd) >= [-2, -5]) & (np.asarray(rnd) <= [1, -2]))
    np.testing.assert_array_equal(rnd, tuning.random_trials(BOX, 16, key=jax.random.key(0)))


def _setup():
    d = data.digits()
    p = mlp.init((64, 8, 10), key=jax.random.key(3), scheme="he")
    return p, d.X[:300], d.y[:300], d.X[300:500], d.y[300:500]


def test_trials_equal_a_hand_written_loop_and_do_not_recompile():
    p, X, y, Xv, yv = _setup()
    trials = jnp.asarray([[-1.0, -4.0], [0.0, -2.0]])
    with jax.enable_x64(True):
        p64 = jax.tree.map(lambda a: jnp.asarray(a, jnp.float64), p)
        got = tuning.train_trials(p64, X, y, Xv, yv, trials, steps=20)
        for (u, v), acc in zip(np.asarray(trials), np.asarray(got), strict=True):
            lr, wd = 10.0**u, 10.0**v
            q = p64
            for _ in range(20):
                g = jax.grad(mlp.loss)(q, X, y, "relu")
                q = tuple(mlp.Dense(a.W - lr * (ga.W + wd * a.W), a.b - lr * ga.b)
                          for a, ga in zip(q, g, strict=True))  # fmt: skip
            assert float(acc) == float(mlp.accuracy(q, Xv, yv, "relu"))
    a = tuning.train_trials(p, X, y, Xv, yv, trials, steps=20)
    other = trials + 0.1
    n = widget_views.compiles()
    b = tuning.train_trials(p, X, y, Xv, yv, other, steps=20)
    assert widget_views.compiles() == n, "new hyperparameters must not recompile"
    np.testing.assert_array_equal(a, tuning.train_trials(p, X, y, Xv, yv, trials, steps=20))
    assert a.shape == b.shape == (2,)


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="square"):
        tuning.grid_trials(BOX, 10)
    with pytest.raises(ValueError, match="interval"):
        tuning.grid_trials(tuning.Box((1.0, 0.0), (0.0, 1.0)), 9)
    with pytest.raises(TypeError, match="key"):
        tuning.random_trials(BOX, 9, key=None)
    p, X, y, Xv, yv = _setup()
    with pytest.raises(ValueError, match="2 columns"):
        tuning.train_trials(p, X, y, Xv, yv, jnp.zeros((3, 3)), steps=2)
