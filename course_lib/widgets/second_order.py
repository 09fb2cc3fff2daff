"""Chapter 3d: gradient descent, coordinate descent, CG, BFGS and Newton on one bowl, live.

Slide the bowl's curvature ratio $b$ ($L = u^2 + b v^2$) and turn it by an angle: the paths of
five methods and their losses, from one jitted function whose ``b`` and ``angle`` are traced
(no move recompiles).
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import ipywidgets as W
import jax
import jax.numpy as jnp
import numpy as np

from course_lib import coordinate_descent, optim, plotting, quasi_newton
from course_lib.widgets.demo import Demo, LiveFigure

#: the methods of :func:`second_order_race`, in its order
METHODS = ("GD", "coordinate descent", "CG", "BFGS", "Newton")
_COLORS = tuple(plotting.OKABE_ITO[i] for i in (5, 1, 2, 0, 3))
_LEVELS = (0.3, 0.1, 0.03, 0.01, 0.001)  # fractions of the starting loss drawn as ellipses


class SecondOrderRace(NamedTuple):
    """Five methods on one turned bowl: paths ``(5, steps + 1, 2)``, losses ``(5, steps + 1)``,
    and the first iteration with $L < $ ``tol`` (``counts``, -1 if never)."""

    paths: np.ndarray
    losses: np.ndarray
    counts: np.ndarray
    ellipses: np.ndarray  # (levels, 2, 200) level sets of the bowl
    bfgs_evals: np.ndarray  # (steps + 1,) BFGS's gradient evaluations up to each iterate


@functools.partial(jax.jit, static_argnames=("steps",))
def _second_order_race(b, angle, start, *, steps: int):
    c, s = jnp.cos(angle), jnp.sin(angle)
    w0 = jnp.stack([c * start[0] - s * start[1], s * start[0] + c * start[1]])
    loss = lambda w: optim.bowl(w, b, angle)  # noqa: E731
    H = jax.hessian(loss)(w0)  # constant: the bowl is a quadratic
    gd = optim.run(loss, optim.sgd(1.0 / (1.0 + b)), w0, steps).params  # 2/(l_min + l_max)
    coord = coordinate_descent.coordinate_descent(H, jnp.zeros(2), w0, sweeps=steps).points
    cg = optim.conjugate_gradient(H, jnp.zeros(2), w0, steps).iterates
    bfgs = quasi_newton.bfgs(loss, w0, steps=steps)
    newton = jnp.concatenate([w0[None], jnp.zeros((steps, 2), w0.dtype)])
    paths = jnp.stack([gd, coord[: steps + 1], cg, bfgs.iterates, newton])
    losses = jax.vmap(jax.vmap(loss))(paths)
    t = jnp.linspace(0.0, 2 * jnp.pi, 200)
    level = loss(w0) * jnp.asarray(_LEVELS)[:, None]
    u, v = jnp.sqrt(level) * jnp.cos(t)[None], jnp.sqrt(level / b) * jnp.sin(t)[None]
    ellipses = jnp.stack([c * u - s * v, s * u + c * v], axis=1)
    return paths, losses, ellipses, bfgs.evals


def second_order_race(
    b: float = 10.0, angle_deg: float = 30.0, *, steps: int = 40, tol: float = 1e-6
) -> SecondOrderRace:
    r"""The five :data:`METHODS` on $u^2 + b v^2$ turned by ``angle_deg``, from (30, 20) turned
    with it. GD with $\alpha = 1/(1+b)$ (the best fixed rate, $2/(\lambda_{\min}+\lambda_{\max})$);
    coordinate descent counts one coordinate step as an iteration; CG and Newton are exact on
    this quadratic; BFGS uses Armijo backtracking. One call of one jitted function."""
    f = jnp.result_type(float)
    paths, losses, ellipses, evals = _second_order_race(
        jnp.asarray(b, f), jnp.asarray(np.deg2rad(angle_deg), f), jnp.asarray([30.0, 20.0], f),
        steps=steps,
    )  # fmt: skip
    counts = optim.steps_to_tolerance(losses, tol)
    return SecondOrderRace(np.asarray(paths), np.asarray(losses), np.asarray(counts),
                           np.asarray(ellipses), np.asarray(evals))  # fmt: skip


class _RaceView:
    def __init__(self, steps: int) -> None:
        self.live = live = LiveFigure(2, width=4.2, height=3.9)
        ax, ax2 = live.axes
        kw = {"animated": True}
        self.rings = [ax.plot([], [], color="0.75", lw=0.8, **kw)[0] for _ in _LEVELS]
        self.paths = [
            ax.plot([], [], "-o", ms=2.5, lw=1.3, color=col, label=name, **kw)[0]
            for name, col in zip(METHODS, _COLORS, strict=True)
        ]
        ax.plot([0], [0], "k+", ms=10)
        ax.set(xlim=(-40, 40), ylim=(-40, 40), xlabel="$x$", ylabel="$y$", aspect="equal")
        ax.legend(loc="lower left", fontsize=8)
        self.curves = [ax2.semilogy([], [], "-", lw=1.6, color=col, **kw)[0] for col in _COLORS]
        ax2.set(xlim=(0, steps), ylim=(1e-10, 1e5), xlabel="iteration $k$",
                ylabel="$L(w_k)$")  # fmt: skip
        ax2.axhline(1e-6, color="0.5", lw=0.8, ls=":")
        self.title = ax.set_title(" ", animated=True)
        ax2.set_title("loss; iterations to $L < 10^{-6}$:")
        self.counts = [
            ax2.text(0.97, 0.62 - 0.075 * i, " ", transform=ax2.transAxes, ha="right",
                     va="top", color=col, fontsize=9.5, animated=True)
            for i, col in enumerate(_COLORS)
        ]  # fmt: skip
        self.steps = steps

    def update(self, res: SecondOrderRace, values: dict[str, Any]) -> None:
        for ring, e in zip(self.rings, res.ellipses, strict=True):
            ring.set_data(e[0], e[1])
        k = np.arange(self.steps + 1)
        for line, curve, path, loss in zip(self.paths, self.curves, res.paths, res.losses,
                                           strict=True):  # fmt: skip
            line.set_data(path[:, 0], path[:, 1])
            curve.set_data(k, np.maximum(loss, 1e-10))
        self.title.set_text(f"u² + {values['b']:.0f} v², turned {values['angle_deg']:.0f}°")
        for text, name, count in zip(self.counts, METHODS, res.counts, strict=True):
            text.set_text(f"{name}: {count if count >= 0 else f'> {self.steps}'}")

    def _counts(self, res: SecondOrderRace) -> str:
        return ", ".join(f"{n} {c if c >= 0 else f'more than {self.steps}'}"
                         for n, c in zip(METHODS, res.counts, strict=True))  # fmt: skip

    def alt(self, res: SecondOrderRace, values: dict[str, Any]) -> str:
        return (
            f"Left: contours of the bowl u² + {values['b']:.0f} v² turned by "
            f"{values['angle_deg']:.0f} degrees and the paths of gradient descent, coordinate "
            "descent, conjugate gradients, BFGS and Newton from (30, 20). Right: their losses "
            f"on a log scale. Iterations to a loss below 1e-6: {self._counts(res)}."
        )


def second_order_explorer(*, steps: int = 40) -> Demo:
    r"""Slide the curvature ratio $b$ of the bowl and its angle: every method's path and loss.

    Coupled coordinates (an angle other than 0° or 90°) slow coordinate descent down; GD feels
    $b$ whatever the angle; CG (2 steps), BFGS and Newton (1 step) barely notice either.
    """

    def compute(b: float, angle_deg: float) -> SecondOrderRace:
        return second_order_race(float(b), float(angle_deg), steps=steps)

    controls = {
        "b": W.FloatSlider(
            value=10.0,
            min=1.0,
            max=50.0,
            step=1.0,
            description="curvature ratio b",
            readout_format=".0f",
            continuous_update=False,
        ),  # fmt: skip
        "angle_deg": W.FloatSlider(
            value=30.0,
            min=0.0,
            max=90.0,
            step=5.0,
            description="angle (degrees)",
            readout_format=".0f",
            continuous_update=False,
        ),  # fmt: skip
    }
    return Demo(controls, compute, _RaceView(steps))
