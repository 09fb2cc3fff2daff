"""Interactive demos for the notebooks, built on ipywidgets.

A :class:`Demo` ties some controls (sliders, dropdowns, a play button) to two *plain* functions:

- ``compute(**values) -> result``: the numbers, usually one call of a jitted function whose
  hyperparameters are traced arrays, so moving a slider never recompiles;
- ``draw(result, values) -> Figure``: the picture, with matplotlib.

Tests and ``assert`` cells call ``demo.compute(...)`` directly, or ``demo.set(...)`` to move the
controls as a person would, and inspect ``demo.last``. Controls listed in ``redraw_only`` only
redraw the last result (e.g. which update of a stored run to show), without recomputing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import ipywidgets as W
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display
from matplotlib.figure import Figure

from course_lib import activations, data, perceptron, plotting
from course_lib._types import Array


class Demo:
    """Controls bound to a compute function and a draw function (see the module docstring)."""

    def __init__(
        self,
        controls: dict[str, W.ValueWidget],
        compute: Callable[..., Any],
        draw: Callable[[Any, dict[str, Any]], Figure],
        *,
        redraw_only: Iterable[str] = (),
        after_compute: Callable[[Demo, Any], None] | None = None,
        extra: Iterable[W.Widget] = (),
    ) -> None:
        self.controls = dict(controls)
        self.compute = compute
        self.draw = draw
        self.redraw_only = set(redraw_only)
        self.after_compute = after_compute
        self.output = W.Output()
        self.widget = W.VBox(
            [W.HBox([*self.controls.values(), *extra]), self.output],
        )
        self.last: Any = None
        self._busy = False
        for name, control in self.controls.items():
            control.observe(functools.partial(self._on_change, name), names="value")
        self.refresh()

    @property
    def values(self) -> dict[str, Any]:
        """The current value of every control, by name."""
        return {name: c.value for name, c in self.controls.items()}

    def compute_values(self) -> dict[str, Any]:
        """The values that ``compute`` takes (all but the redraw-only controls)."""
        return {k: v for k, v in self.values.items() if k not in self.redraw_only}

    def refresh(self, *, recompute: bool = True, render: bool = True) -> Any:
        """Recompute (unless told not to) and redraw; returns the result."""
        if recompute or self.last is None:
            self.last = self.compute(**self.compute_values())
            if self.after_compute is not None:
                self._busy = True  # after_compute may move controls: do not recurse
                try:
                    self.after_compute(self, self.last)
                finally:
                    self._busy = False
        if render:
            fig = self.draw(self.last, self.values)
            with self.output:
                self.output.clear_output(wait=True)
                display(fig)
            plt.close(fig)
        return self.last

    def set(self, **values: Any) -> Any:
        """Move controls as a person would (one refresh at the end); returns the result."""
        unknown = set(values) - set(self.controls)
        if unknown:
            raise ValueError(f"unknown control(s) {sorted(unknown)}; have {sorted(self.controls)}.")
        self._busy = True
        try:
            for name, value in values.items():
                self.controls[name].value = value
        finally:
            self._busy = False
        recompute = any(name not in self.redraw_only for name in values)
        return self.refresh(recompute=recompute)

    def _on_change(self, name: str, change: dict) -> None:
        if not self._busy:
            self.refresh(recompute=name not in self.redraw_only)

    def _ipython_display_(self) -> None:
        display(self.widget)


# --------------------------------------------------------------------------------------------
# Chapter 1: the perceptron convergence theorem, live.


class MarginRun(NamedTuple):
    """One keyed separable dataset and the perceptron's run on it."""

    data: data.SeparableData
    fit: perceptron.FitResult
    path: np.ndarray  # (num_updates + 1, 2) weights after each update
    num_updates: int
    bound: float
    converged: bool


@functools.partial(jax.jit, static_argnames=("n", "epochs"))
def _margin_run(key: Array, margin: Array, *, n: int, epochs: int):
    ds = data.linearly_separable(key=key, n=n, d=2, margin=margin, radius=1.0)
    return ds, perceptron.fit(ds.X, ds.y, epochs=epochs)


def margin_explorer(*, n: int = 60, epochs: int = 60, seed: int = 0) -> Demo:
    r"""Move the margin $\gamma$ and the seed; watch the perceptron's updates and $R^2/\gamma^2$.

    Controls: ``margin`` (the requested $\gamma$, with $R = 1$), ``seed`` (the data key), and
    ``t``, which update of the run to show (a play button steps through them).
    """

    def compute(margin: float, seed: int) -> MarginRun:
        ds, fit = _margin_run(jax.random.key(seed), jnp.float32(margin), n=n, epochs=epochs)
        path = np.asarray(perceptron.update_path(fit))
        return MarginRun(
            ds, fit, path, int(fit.num_updates), float(ds.mistake_bound), bool(fit.converged)
        )

    def after_compute(demo: Demo, run: MarginRun) -> None:
        demo.controls["t"].max = run.num_updates
        demo.controls["t"].value = run.num_updates

    def draw(run: MarginRun, values: dict[str, Any]) -> Figure:
        t = min(int(values["t"]), run.num_updates)
        fig, (ax, ax2) = plotting.figure(2, width=4.4, height=4.0)
        ds = run.data
        plotting.scatter_classes(ax, ds.X, ds.y, s=18)
        plotting.linear_boundary(
            ax, ds.w_star, color="0.6", normal=False, ls="--", label="planted $w^\\star$"
        )
        plotting.linear_boundary(ax, run.path[t], label=f"$w_{{{t}}}$")
        update_steps = np.flatnonzero(np.asarray(run.fit.history.updated).ravel())
        if t > 0:  # ring the example that caused update t
            i = int(np.asarray(run.fit.history.order).ravel()[update_steps[t - 1]])
            ax.scatter(*np.asarray(ds.X[i]), s=160, facecolors="none", edgecolors="k", lw=1.5)
        ax.set_title(f"after update {t} of {run.num_updates}")
        ax.legend(fontsize=8, loc="lower left", framealpha=0.8, frameon=True)
        cum = np.cumsum(np.asarray(run.fit.history.updated).ravel())
        ax2.plot(np.arange(1, cum.size + 1) / n, cum, lw=2, label="updates so far")
        ax2.axhline(run.bound, color="r", ls="--", label=f"$R^2/\\gamma^2$ = {run.bound:.1f}")
        ax2.set_yscale("log")
        ax2.set_ylim(0.8, max(run.bound, cum[-1]) * 2)
        if t > 0:  # where update t happened
            ax2.plot((update_steps[t - 1] + 1) / n, t, "ko", ms=7, mfc="none", label=f"update {t}")
        busy_epochs = (update_steps[-1] + 1) / n if update_steps.size else 1.0
        ax2.set_xlim(0, max(2.0, 1.5 * busy_epochs))  # zoom on the epochs with updates
        ax2.set_xlabel("epoch")
        ax2.set_ylabel("number of updates")
        status = "converged" if run.converged else f"not converged in {epochs} epochs"
        ax2.set_title(f"{run.num_updates} updates, {status}")
        ax2.legend(fontsize=8, loc="lower right")
        return fig

    controls = {
        "margin": W.FloatLogSlider(
            value=0.1,
            base=10,
            min=-2,
            max=np.log10(0.5),
            step=0.05,
            description="margin γ",
            readout_format=".3f",
            continuous_update=False,
        ),
        "seed": W.IntSlider(
            value=seed, min=0, max=49, description="data seed", continuous_update=False
        ),
        "t": W.IntSlider(value=0, min=0, max=1, description="update t"),
    }
    play = W.Play(interval=800, min=0, description="play")
    W.jslink((play, "value"), (controls["t"], "value"))
    W.jslink((controls["t"], "max"), (play, "max"))
    return Demo(
        controls, compute, draw, redraw_only={"t"}, after_compute=after_compute, extra=[play]
    )


def margin_run_cache_size() -> int:
    """How many times the explorer's jitted run has been compiled (for no-recompile checks)."""
    return _margin_run._cache_size()


# --------------------------------------------------------------------------------------------
# Chapter 1: activations and why their derivatives matter for depth.


class ChainResult(NamedTuple):
    """Derivatives along a chain of one-unit layers $x_l = \\Phi(w\\,x_{l-1})$."""

    depths: np.ndarray  # (max_depth,) 1..max_depth
    grads: np.ndarray  # (max_depth,) d x_L / d x_0 for each depth L
    bound: np.ndarray  # (max_depth,) (w * max Phi')^L


def activation_explorer(*, max_depth: int = 30) -> Demo:
    """Pick an activation and a weight; see $\\Phi$, $\\Phi'$ and the gradient through L layers."""
    max_slope = {
        "sigmoid": 0.25,
        "tanh": 1.0,
        "relu": 1.0,
        "hard_tanh": 1.0,
        "leaky_relu": 1.0,
        "identity": 1.0,
    }

    def compute(name: str, weight: float) -> ChainResult:
        g = np.asarray(activations.chain_gradients(name, weight, max_depth=max_depth))
        depths = np.arange(1, max_depth + 1)
        return ChainResult(depths, g, (abs(weight) * max_slope[name]) ** depths)

    def draw(res: ChainResult, values: dict[str, Any]) -> Figure:
        fig, (ax, ax2) = plotting.figure(2, width=4.4, height=3.6)
        plotting.activation(ax, values["name"])
        ax2.semilogy(
            res.depths,
            np.abs(res.grads) + 1e-45,
            "o-",
            ms=3,
            label="$|\\partial x_L/\\partial x_0|$",
        )
        ax2.semilogy(res.depths, res.bound, "r--", label="$(|w|\\max\\Phi')^L$")
        ax2.set_ylim(1e-20, 1e10)
        ax2.set_xlabel("depth $L$")
        ax2.set_title(f"gradient through $L$ layers, $w$ = {values['weight']:.2f}")
        ax2.legend(fontsize=8)
        return fig

    controls = {
        "name": W.Dropdown(
            options=list(activations.CHAIN_ACTIVATIONS), value="sigmoid", description="Φ"
        ),
        "weight": W.FloatSlider(
            value=1.0, min=0.25, max=4.0, step=0.05, description="weight w", continuous_update=False
        ),
    }
    return Demo(controls, compute, draw)
