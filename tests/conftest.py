"""Shared setup for the unit tests.

- float64 everywhere, so that gradient checks can use the textbook's 1e-6 relative error
  (TESTING.md: float32 central differences are too coarse for that);
- silent rank promotion raises, as in equinox's test setup, so a library function that
  broadcasts ``(n, 1)`` against ``(d,)`` by accident fails here instead of in a notebook;
- central finite differences in float64, as fixtures (an oracle independent of ``jax.grad``);
- JAX's caches emptied after each test module (``_fresh_jax_caches_per_module``);
- this process's programs compiled with XLA:CPU's backend optimisations off
  (``--xla_backend_optimization_level=0``): most of a unit test's time is compiling small
  programs it runs once, and level 0 compiles them in about two thirds of the time (the unit
  tests took 17 min 50 s at level 0 against 26 min 52 s at the default on 2 idle cores). It is a
  second code generator beside the notebooks' default one, so a test that holds at only one level
  asserts rounding, not mathematics. Processes the tests start (kernels, the grader) inherit the
  environment as the session found it: XLA reads XLA_FLAGS once, when this process's backend
  compiles its first program, below. ``COURSE_TEST_XLA_OPT=1`` keeps the default here too.
"""

import gc
import os
from collections.abc import Callable

_XLA_FLAGS = os.environ.get("XLA_FLAGS")  # as the session found them
if os.environ.get("COURSE_TEST_XLA_OPT") != "1":
    os.environ["XLA_FLAGS"] = f"{_XLA_FLAGS or ''} --xla_backend_optimization_level=0".strip()

import jax  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

jax.jit(lambda x: x + 1)(1.0).block_until_ready()  # XLA parses XLA_FLAGS now, once
if _XLA_FLAGS is None:
    os.environ.pop("XLA_FLAGS", None)
else:
    os.environ["XLA_FLAGS"] = _XLA_FLAGS

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


@pytest.fixture(autouse=True, scope="module")
def _fresh_jax_caches_per_module():
    """Empty JAX's compilation caches once a test module is done.

    A pytest-xdist worker runs test modules for half an hour and compiles thousands of programs.
    Every executable XLA:CPU keeps loaded holds about five memory mappings of JIT-compiled code,
    and the jit caches keep every one of them alive: a worker of the full run reached 15,000
    mappings by half-way, and Linux allows a process 65,530 (``vm.max_map_count``). Past that,
    LLVM's next ``mmap`` fails and the worker dies in the compiler with a segmentation fault (CI
    did, at 98 %). Tests within a module still share their compiled programs (the no-recompile
    tests count compiles inside one module); the next module starts with none loaded.
    """
    yield
    jax.clear_caches()
    gc.collect()
