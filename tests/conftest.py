"""Shared setup for the unit tests.

- float64 everywhere, so that gradient checks can use the textbook's 1e-6 relative error
  (TESTING.md: float32 central differences are too coarse for that);
- silent rank promotion raises, as in equinox's test setup, so a library function that
  broadcasts ``(n, 1)`` against ``(d,)`` by accident fails here instead of in a notebook;
- central finite differences in float64, as fixtures (an oracle independent of ``jax.grad``);
"""

from collections.abc import Callable

import jax
import numpy as np
import pytest

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
