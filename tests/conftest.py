"""Shared setup for the unit tests.

- float64 everywhere, so that gradient checks can use the textbook's 1e-6 relative error
  (TESTING.md: float32 central differences are too coarse for that);
- silent rank promotion raises, as in equinox's test setup, so a library function that
  broadcasts ``(n, 1)`` against ``(d,)`` by accident fails here instead of in a notebook;
- central finite differences in float64, as fixtures (an oracle independent of ``jax.grad``);
- XLA:CPU compiles the tests' programs with its backend optimisations off
  (``--xla_backend_optimization_level=0``), in this process and in every process a test starts
  (the grader's kernels, the exercise notebooks' kernels, command-line runs): most of a unit
  test's time is compiling small programs it runs once, and this halves it
  (tests/test_linear_models.py + test_cnn.py: 284 s -> 155 s on 2 busy cores). It is also a
  second code generator beside the notebooks' default one: a test that passes at only one
  optimisation level asserts rounding, not mathematics. The notebooks that nbval runs in the
  same session keep the default (their stored outputs were made with it): XLA_FLAGS is changed
  only while a test of this folder runs. ``COURSE_TEST_XLA_OPT=1`` keeps the default everywhere.
"""

import os
from collections.abc import Callable

_XLA_FLAGS = os.environ.get("XLA_FLAGS")  # as the session found them
_FAST_COMPILE = os.environ.get("COURSE_TEST_XLA_OPT") != "1"
_TEST_XLA_FLAGS = (
    f"{_XLA_FLAGS or ''} --xla_backend_optimization_level=0".strip() if _FAST_COMPILE else None
)


def _set_xla_flags(value: str | None) -> None:
    if value is None:
        os.environ.pop("XLA_FLAGS", None)
    else:
        os.environ["XLA_FLAGS"] = value


_set_xla_flags(_TEST_XLA_FLAGS or _XLA_FLAGS)

import jax  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

jax.devices()  # start this process's CPU backend: it reads XLA_FLAGS once, now
_set_xla_flags(_XLA_FLAGS)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """While a test of this folder runs (fixtures included), processes it starts compile as
    this one does; nbval's notebook items (not in this folder) never see it."""
    _set_xla_flags(_TEST_XLA_FLAGS or _XLA_FLAGS)
    try:
        return (yield)
    finally:
        _set_xla_flags(_XLA_FLAGS)


jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")

FD_STEP = 1e-6


def central_derivative(f: Callable, v: np.ndarray, h: float = FD_STEP) -> np.ndarray:
    """Elementwise derivative of an elementwise function: (f(v + h) - f(v - h)) / 2h."""
    v = np.asarray(v, dtype=np.float64)
    return (np.asarray(f(v + h)) - np.asarray(f(v - h))) / (2.0 * h)


def central_gradient(f: Callable, w: np.ndarray, h: float = FD_STEP) -> np.ndarray:
    """Gradient of a scalar function of an array, one coordinate at a time."""
    w = np.asarray(w, dtype=np.float64)
    grad = np.zeros_like(w)
    for idx in np.ndindex(w.shape):
        e = np.zeros_like(w)
        e[idx] = h
        grad[idx] = (float(f(w + e)) - float(f(w - e))) / (2.0 * h)
    return grad


@pytest.fixture
def fd_derivative() -> Callable:
    """``fd_derivative(f, v)``: central differences of an elementwise ``f`` at the points ``v``."""
    return central_derivative


@pytest.fixture
def fd_gradient() -> Callable:
    """``fd_gradient(f, w)``: central-difference gradient of a scalar ``f`` at ``w``."""
    return central_gradient
