"""Chapter 4b: L1 against L2 on a problem with a planted sparse answer (the penalty explorer)."""

from __future__ import annotations

from typing import Any, NamedTuple

import ipywidgets as W
import jax
import jax.numpy as jnp
import numpy as np

from course_lib import plotting, regularization
from course_lib.widgets.demo import Demo, LiveFigure


class PenaltyResult(NamedTuple):
    """One fit of :func:`penalty_explorer`: the weights, their zeros, the two errors."""

    w: np.ndarray  # (d,)
    zeros: int
    train_mse: float
    val_mse: float


class _PenaltyView:
    """Left: fitted and planted weights. Right: validation error against lambda, both penalties."""

    def __init__(self, w_true: np.ndarray, curves: dict[str, regularization.Sweep]) -> None:
        self.live = live = LiveFigure(2, width=4.6, height=3.7)
        ax, ax2 = live.axes
        d = w_true.size
        top = 1.15 * float(np.max(np.abs(w_true)))
        ax.set(xlim=(-1, d), ylim=(-top, top), xlabel="feature $j$", ylabel="weight $w_j$")
        ax.axhline(0.0, color="0.6", lw=0.8)
        ax.plot(np.arange(d), w_true, "o", mfc="none", ms=7, color="0.35", label="planted $w^*$")
        (self.stems,) = ax.plot([], [], "-", lw=2.0, color=plotting.OKABE_ITO[0], animated=True)
        (self.dots,) = ax.plot([], [], ".", ms=7, color=plotting.OKABE_ITO[0], animated=True)
        ax.legend(loc="upper right")
        self.title = ax.set_title(" ", animated=True)
        hi = 0.0
        self.colors = {"l2": plotting.OKABE_ITO[1], "l1": plotting.OKABE_ITO[2]}
        for name, sweep in curves.items():
            lams, val = np.asarray(sweep.lams), np.asarray(sweep.val_mse)
            ax2.plot(lams, val, "-", color=self.colors[name], label=f"{name.upper()} validation")
            j = int(np.argmin(val))
            ax2.plot(lams[j], val[j], "*", ms=12, color=self.colors[name])
            hi = max(hi, float(np.max(val)))
        lo = min(float(np.min(np.asarray(s.lams))) for s in curves.values())
        top_lam = max(float(np.max(np.asarray(s.lams))) for s in curves.values())
        ax2.set(xscale="log", xlim=(lo, top_lam), ylim=(0.0, 1.05 * hi))
        ax2.set_xlabel("penalty $\\lambda$ (stars: the best $\\lambda$)")
        ax2.set_ylabel("validation mean squared error")
        ax2.legend(loc="upper left")
        (self.marker,) = ax2.plot([], [], "o", ms=9, color="k", animated=True)
        self.title2 = ax2.set_title(" ", animated=True)

    def update(self, result: PenaltyResult, values: dict[str, Any]) -> None:
        d = result.w.size
        xs = np.repeat(np.arange(d, dtype=float), 3)
        ys = np.stack([np.zeros(d), result.w, np.full(d, np.nan)], axis=1).ravel()
        self.stems.set_data(xs, ys)
        self.dots.set_data(np.arange(d), result.w)
        self.title.set_text(f"{values['penalty'].upper()}: {result.zeros} of {d} weights exactly 0")
        self.marker.set_data([values["lam"]], [result.val_mse])
        self.title2.set_text(f"λ = {values['lam']:.3g}: validation MSE {result.val_mse:.2f}")

    def alt(self, result: PenaltyResult, values: dict[str, Any]) -> str:
        return (
            f"Left: the {result.w.size} weights of the {values['penalty'].upper()}-penalized fit "
            f"at lambda {values['lam']:.3g} as stems beside the planted weights (only the "
            f"first few are non-zero); {result.zeros} fitted weights are exactly zero. Right: "
            f"validation error against lambda on a log scale for L1 and L2, each with its "
            f"minimum starred, and the current setting as a black dot at {result.val_mse:.2f}."
        )


def penalty_explorer(
    problem: regularization.SparseProblem, *, n_train: int = 60, steps: int = 3000
) -> Demo:
    r"""A $\lambda$ slider and an L1/L2 toggle on a regression with a planted sparse answer.

    The first ``n_train`` rows of ``problem`` are the training set, the others the validation
    set. Each setting is one call of :func:`course_lib.regularization.penalized_solution`
    (ridge in closed form, or ISTA), with $\lambda$ and the penalty traced: no recompilation.
    The validation curves of both penalties are computed once, on a grid of 25 values.
    """
    X, y = problem.X[:n_train], problem.y[:n_train]
    Xv, yv = problem.X[n_train:], problem.y[n_train:]
    grid = jnp.asarray(np.geomspace(0.1, 1000.0, 25), X.dtype)
    curves = {
        name: regularization.lambda_sweep(X, y, Xv, yv, penalty=name, lams=grid, steps=steps)
        for name in regularization.SOLUTION_PENALTIES
    }

    def compute(lam: float, penalty: str) -> PenaltyResult:
        w = regularization.penalized_solution(X, y, penalty=penalty, lam=lam, steps=steps)
        w = np.asarray(jax.device_get(w), dtype=float)
        Xn, yn, Xvn, yvn = (np.asarray(a, dtype=float) for a in (X, y, Xv, yv))
        return PenaltyResult(
            w,
            int(np.sum(w == 0.0)),
            float(np.mean((Xn @ w - yn) ** 2)),
            float(np.mean((Xvn @ w - yvn) ** 2)),
        )

    controls = {
        "lam": W.FloatLogSlider(
            value=10.0,
            base=10,
            min=-1,
            max=3,
            step=0.125,
            description="penalty λ",
            readout_format=".3g",
            continuous_update=False,
        ),
        "penalty": W.Dropdown(
            options=[("L1 (exact zeros)", "l1"), ("L2 (ridge)", "l2")],
            value="l1",
            description="penalty",
        ),
    }
    return Demo(controls, compute, _PenaltyView(np.asarray(problem.w_true), curves))
