"""CartPole throughput: the jitted, vmapped JAX rollout vs a plain Python loop of the same physics.

Run: ``.venv/bin/python benchmarks/bench_rl_env.py`` (about 20 s on 2 idle cores).

JAX: ``N_ENVS`` CartPoles side by side (``jax.vmap`` of ``cartpole.step_auto_reset``) for
``STEPS`` steps in one jitted ``lax.scan``, every action a fair coin, episodes restarting as they
end. Python: one environment at a time, the same equations written with ``math`` on Python
floats (:func:`numpy_step`, what a Gym-style environment does per step), random actions from
NumPy, for ``PY_STEPS`` steps. First the two are checked to give the same trajectories for the
same actions. Then they run interleaved, ``REPEATS`` times; the report is finished episodes per
second (and environment steps per second), median (min-max), and the ratio.
"""

from __future__ import annotations

import functools
import math
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

from course_lib import cartpole

N_ENVS, STEPS, PY_STEPS, REPEATS = 4096, 500, 50_000, 5


def numpy_step(s: list[float], action: int) -> tuple[list[float], bool]:
    """Gym's CartPole-v1 step for one environment, on Python floats (explicit Euler)."""
    x, x_dot, theta, theta_dot = s
    force = 10.0 if action == 1 else -10.0
    c, si = math.cos(theta), math.sin(theta)
    tmp = (force + 0.05 * theta_dot * theta_dot * si) / 1.1
    theta_acc = (9.8 * si - c * tmp) / (0.5 * (4.0 / 3.0 - 0.1 * c * c / 1.1))
    x_acc = tmp - 0.05 * theta_acc * c / 1.1
    new = [x + 0.02 * x_dot, x_dot + 0.02 * x_acc, theta + 0.02 * theta_dot,
           theta_dot + 0.02 * theta_acc]  # fmt: skip
    done = abs(new[0]) > 2.4 or abs(new[2]) > 12 * 2 * math.pi / 360
    return new, done


def check_same_trajectories(step=numpy_step, n_envs: int = 16, steps: int = 60) -> float:
    """Run both on the same start states and actions; return the largest difference of the
    states before termination, or raise AssertionError (also when the episode ends differ)."""
    states, _ = jax.vmap(cartpole.reset)(jax.random.split(jax.random.key(0), n_envs))
    actions = np.asarray(jax.random.bernoulli(jax.random.key(1), 0.5, (steps, n_envs)), int)

    @jax.jit
    def rollout(states, actions):
        def body(s, a):
            s, obs, _, done = jax.vmap(cartpole._step)(s, a)
            return s, (obs, done)

        return jax.lax.scan(body, states, jnp.asarray(actions, jnp.int32))[1]

    obs, done = (np.asarray(a) for a in rollout(states, actions))
    worst = 0.0
    for e in range(n_envs):
        s = [float(v) for v in np.asarray(states.physics[e], np.float64)]
        for t in range(steps):
            s, d = step(s, int(actions[t, e]))
            worst = max(worst, float(np.max(np.abs(np.asarray(s) - obs[t, e]))))
            assert worst < 1e-4, f"env {e}, step {t}: the trajectories differ by {worst:.2g}"
            assert d == bool(done[t, e]), f"env {e}, step {t}: one ended and the other did not"
            if d:
                break
    return worst


@functools.partial(jax.jit, static_argnames=("n_envs", "steps"))
def _jax_rollout(key, *, n_envs, steps):
    k_reset, k_run = jax.random.split(key)
    states, _ = jax.vmap(cartpole._reset)(jax.random.split(k_reset, n_envs))

    def body(s, k):
        k_act, k_new = jax.random.split(k)
        actions = jax.random.bernoulli(k_act, 0.5, (n_envs,)).astype(jnp.int32)
        out = jax.vmap(cartpole._step_auto_reset)(s, actions, jax.random.split(k_new, n_envs))
        return out.state, jnp.sum(out.done)

    _, finished = jax.lax.scan(body, states, jax.random.split(k_run, steps))
    return jnp.sum(finished)


def main() -> None:
    worst = check_same_trajectories()
    print(f"same trajectories for the same actions: OK (largest difference {worst:.1e}, float32)")
    rng = np.random.default_rng(0)

    def run_jax(seed=[0]):  # noqa: B006 (a counter: a new key every run)
        seed[0] += 1
        t = time.perf_counter()
        episodes = int(_jax_rollout(jax.random.key(seed[0]), n_envs=N_ENVS, steps=STEPS))
        return episodes, N_ENVS * STEPS, time.perf_counter() - t

    def run_python():
        t = time.perf_counter()
        s = list(rng.uniform(-0.05, 0.05, 4))
        actions = rng.integers(0, 2, PY_STEPS).tolist()
        episodes = 0
        for a in actions:
            s, done = numpy_step(s, a)
            if done:
                episodes += 1
                s = list(rng.uniform(-0.05, 0.05, 4))
        return episodes, PY_STEPS, time.perf_counter() - t

    runs = {f"JAX vmap x{N_ENVS}, scan {STEPS} steps": run_jax, "Python loop, one env": run_python}
    for fn in runs.values():  # warm up: compile
        fn()
    eps: dict[str, list[float]] = {name: [] for name in runs}
    sps: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(REPEATS):  # interleaved
        for name, fn in runs.items():
            episodes, steps, seconds = fn()
            eps[name].append(episodes / seconds)
            sps[name].append(steps / seconds)
    for name in runs:
        e, s = eps[name], sps[name]
        print(
            f"{name:32s} {statistics.median(e):12,.0f} episodes/s (min {min(e):,.0f}, max "
            f"{max(e):,.0f});  {statistics.median(s) / 1e6:.2f} M steps/s"
        )
    names = list(runs)
    ratio = statistics.median(eps[names[0]]) / statistics.median(eps[names[1]])
    print(f"JAX / Python: {ratio:.0f}x more episodes per second")


if __name__ == "__main__":
    main()
