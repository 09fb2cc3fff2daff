"""The chapter 9c widget (the DQN agent's greedy action over the pole's angle and angular
velocity, after each chunk of a stored training run): every control changes the picture,
nothing recompiles or trains on a move, the picture fits JupyterLab, and its words match the
state. The run here is a stand-in (random Q-networks shaped like a DQNRun): the widget only
reads what train() stored."""

import functools

import matplotlib

matplotlib.use("Agg")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from widget_views import (  # noqa: E402, F401 (course_style: an autouse fixture)
    build_quietly,
    check_controls,
    check_fits_and_words,
    course_style,
)

from course_lib import dqn, widgets  # noqa: E402


@functools.cache
def _run():
    runs, chunks = 2, 3
    keys = jax.random.split(jax.random.key(0), runs * chunks)
    nets = [dqn.init_q_network(key=k, sizes=(4, 16, 2)) for k in keys]
    params = jax.tree.map(
        lambda *leaves: (
            jnp.stack(leaves).reshape(runs, chunks, *leaves[0].shape).astype(jnp.float32)
        ),
        *nets,
    )
    greedy = jnp.asarray([[20.0, 150.0, 300.0], [15.0, 60.0, 480.0]])
    return dqn.DQNRun(jnp.asarray([100, 200, 300]), greedy, greedy, greedy, params, None)


def _build():
    return widgets.q_policy_explorer(_run())


def test_every_control_changes_the_picture_and_nothing_recompiles():
    check_controls(_build, {"chunk": [1], "seed_run": [1]})


def test_the_picture_fits_jupyterlab_and_its_words_match_the_state():
    demo = build_quietly(_build)
    check_fits_and_words(demo)
    res = demo.set(chunk=2, seed_run=1)
    assert res.steps == 200 and res.run == 1 and res.greedy_return == 60.0
    q = np.asarray(dqn.q_values(jax.tree.map(lambda a: a[1, 1], _run().params),
                                jnp.asarray([0.0, 0.0, 0.1, 1.0])))  # fmt: skip
    assert 0.0 <= res.right_fraction <= 1.0 and res.actions.shape == (81, 81)
    # the top-right corner of the grid (theta max, theta_dot max) is the network's own choice
    assert res.actions[-1, -1] == float(
        np.argmax(
            np.asarray(
                dqn.q_values(
                    jax.tree.map(lambda a: a[1, 1], _run().params),
                    jnp.asarray([0.0, 0.0, widgets.dqn.THETA_MAX, 2.0]),
                )
            )
        )  # fmt: skip
    )
    assert q.shape == (2,)
    assert "after 200 environment steps" in demo.alt and "60 of 500" in demo.alt
