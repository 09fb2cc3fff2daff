"""Chapter 9d: REINFORCE estimates of a softmax policy's gradient, live (samples, baseline)."""

from __future__ import annotations

from typing import Any, NamedTuple

import ipywidgets as W
import jax
import jax.numpy as jnp
import numpy as np

from course_lib import plotting, policy_gradient
from course_lib.widgets.demo import Demo, LiveFigure


class ReinforceResult(NamedTuple):
    estimates: np.ndarray  # (repeats, k) REINFORCE estimates, each from n samples
    exact: np.ndarray  # (k,) jax.grad of sum_a pi(a) Q(a)
    measured_var: float  # total variance of the estimates (sum over the k components)
    formula_var: float  # estimator_variance(b) / n
    b: float  # the baseline in use (0 when off)


class _ReinforceView:
    """Left: histogram of one component of the estimate, with the exact value. Right: the
    total variance against the baseline value b (closed form / n), the current b marked."""

    def __init__(self, logits, q, component: int, bins: np.ndarray, b_grid: np.ndarray) -> None:
        self.live = live = LiveFigure(2, width=4.4, height=3.5)
        ax, ax2 = live.axes
        self.component, self.bins, self.b_grid = component, bins, b_grid
        self.logits, self.q = logits, q
        centers = 0.5 * (bins[1:] + bins[:-1])
        self.centers = centers
        (self.hist,) = ax.plot([], [], drawstyle="steps-mid", color=plotting.OKABE_ITO[4], lw=1.8,
                               label="REINFORCE estimates", animated=True)  # fmt: skip
        (self.mean,) = ax.plot([], [], color=plotting.OKABE_ITO[5], lw=1.5, ls="--",
                               label="their mean", animated=True)  # fmt: skip
        self.exact_line = ax.axvline(0.0, color="0.1", lw=1.5, label="exact (jax.grad)")
        ax.set(xlim=(bins[0], bins[-1]), ylim=(0.0, 1.0), xlabel=f"estimate of ∂J/∂z{component}",
               ylabel="fraction of estimates per bin")  # fmt: skip
        ax.legend(loc="upper left", fontsize=8.5)
        (self.curve,) = ax2.plot([], [], color=plotting.OKABE_ITO[0], lw=1.8,
                                 label="closed form / n", animated=True)  # fmt: skip
        (self.dot,) = ax2.plot([], [], "o", ms=8, color=plotting.OKABE_ITO[5],
                               label="measured, current b", animated=True)  # fmt: skip
        ax2.set(xlim=(b_grid[0], b_grid[-1]), xlabel="baseline b", yscale="log",
                ylim=(1e-4, 10.0), ylabel="total variance of the estimate")  # fmt: skip
        ax2.axvline(float(np.sum(np.exp(logits) / np.exp(logits).sum() * q)), color="0.5",
                    lw=0.9, ls=":", label="b = V (expected reward)")  # fmt: skip
        ax2.legend(loc="upper right", fontsize=8.5)
        self.title = ax.set_title(" ", animated=True)
        self.title2 = ax2.set_title(" ", animated=True)

    def update(self, res: ReinforceResult, values: dict[str, Any]) -> None:
        j = self.component
        counts, _ = np.histogram(res.estimates[:, j], bins=self.bins)
        frac = counts / res.estimates.shape[0]
        self.hist.set_data(self.centers, np.minimum(frac, 0.999))
        m = float(np.mean(res.estimates[:, j]))
        self.mean.set_data([m, m], [0.0, 1.0])
        self.exact_line.set_xdata([res.exact[j], res.exact[j]])
        n = int(values["n"])
        curve = np.asarray(policy_gradient.estimator_variance(self.logits, self.q, self.b_grid)) / n
        self.curve.set_data(self.b_grid, curve)
        self.dot.set_data([res.b], [max(res.measured_var, 1e-4)])
        self.title.set_text(f"n = {n} samples per estimate")
        on = "on" if values["use_baseline"] else "off"
        self.title2.set_text(f"baseline {on}: variance {res.measured_var:.4f}")

    def alt(self, res: ReinforceResult, values: dict[str, Any]) -> str:
        j = self.component
        how = f"a baseline b = {res.b:.2f}" if values["use_baseline"] else "no baseline"
        return (
            f"Left: a histogram of {res.estimates.shape[0]} REINFORCE estimates of the gradient "
            f"component dJ/dz{j}, each averaging {int(values['n'])} sampled actions with {how}; "
            f"their mean {float(np.mean(res.estimates[:, j])):.3f} sits near the exact value "
            f"{float(res.exact[j]):.3f}. Right: the total variance of the estimate against the "
            f"baseline value, a parabola (closed form divided by n); measured now "
            f"{res.measured_var:.4f} against {res.formula_var:.4f} from the formula."
        )


def reinforce_explorer(
    logits=(0.5, -0.2, 0.1, 0.0),
    q=(1.0, 2.0, 0.5, 3.0),
    *,
    component: int = 3,
    repeats: int = 400,
    seed: int = 0,
) -> Demo:
    r"""Slide the number of samples $n$ per estimate, toggle a baseline and move its value $b$.

    Each setting is one call of :func:`course_lib.policy_gradient.sample_estimates`
    (``repeats`` estimates of $\nabla_z\sum_a\pi_z(a)Q(a)$, each from $n$ sampled actions) with
    $n$ and $b$ traced: no control recompiles.
    """
    z = jnp.asarray(logits, jnp.result_type(float))
    qv = jnp.asarray(q, jnp.result_type(float))
    exact = np.asarray(jax.grad(policy_gradient.expected_reward)(z, qv))
    key = jax.random.key(seed)
    n_max = 1000

    def compute(n: int, use_baseline: bool, b: float) -> ReinforceResult:
        b_used = float(b) if use_baseline else 0.0
        est = np.asarray(policy_gradient.sample_estimates(z, qv, key=key, n=int(n),
                         baseline=b_used, repeats=repeats, n_max=n_max))  # fmt: skip
        formula = float(policy_gradient.estimator_variance(z, qv, b_used)) / int(n)
        return ReinforceResult(est, exact, float(est.var(axis=0).sum()), formula, b_used)

    bins = np.linspace(exact[component] - 0.8, exact[component] + 0.8, 65)
    b_grid = np.linspace(-1.0, 4.0, 101)
    controls = {
        "n": W.IntSlider(
            value=10, min=1, max=n_max, description="samples n", continuous_update=False
        ),  # fmt: skip
        "use_baseline": W.Checkbox(value=False, description="subtract a baseline"),
        "b": W.FloatSlider(
            value=1.5,
            min=-1.0,
            max=4.0,
            step=0.1,
            description="baseline b",
            readout_format=".1f",
            continuous_update=False,
        ),  # fmt: skip
    }
    view = _ReinforceView(np.asarray(z), np.asarray(qv), component, bins, b_grid)
    return Demo(controls, compute, view)
