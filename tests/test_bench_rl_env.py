"""benchmarks/bench_rl_env.py: its correctness check passes for the Python transcription of
CartPole and catches a wrong one (semi-implicit Euler, a flipped force)."""

import importlib.util
import math
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_rl_env.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_rl_env", _PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_rl_env", module)
    spec.loader.exec_module(module)
    return module


def test_the_python_step_gives_the_jax_trajectories():
    bench = _bench()
    assert bench.check_same_trajectories(n_envs=4, steps=40) < 1e-4


def _semi_implicit(s, action):
    new, _ = _bench().numpy_step(s, action)
    x, _, theta, _ = s
    new = [x + 0.02 * new[1], new[1], theta + 0.02 * new[3], new[3]]
    return new, abs(new[0]) > 2.4 or abs(new[2]) > 12 * math.pi / 180


@pytest.mark.parametrize(
    "wrong",
    [_semi_implicit, lambda s, a: _bench().numpy_step(s, 1 - a)],
    ids=["semi-implicit Euler", "flipped force"],
)
def test_the_check_catches_a_wrong_step(wrong):
    with pytest.raises(AssertionError, match="differ|ended"):
        _bench().check_same_trajectories(wrong, n_envs=4, steps=40)
