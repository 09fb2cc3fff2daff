"""Chapter 6b: a Gibbs chain on a five-unit Boltzmann machine against the exact distribution."""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import ipywidgets as W
import jax
import jax.numpy as jnp
import numpy as np

from course_lib import boltzmann, plotting
from course_lib.widgets.demo import Demo, LiveFigure

#: The chain lengths the slider offers (sweeps kept after the burn-in).
CHAIN_LENGTHS = (10, 30, 100, 300, 1000, 3000)
BURN_IN = 20
N_CHAINS = 8


class GibbsResult(NamedTuple):
    exact: np.ndarray  # (32,) P(s) at temperature T
    sampled: np.ndarray  # (32,) state frequencies over the first `length` kept sweeps
    tv: float  # total variation between the two
    tv_curve: np.ndarray  # (len(CHAIN_LENGTHS),) the TV at every offered length, same chain


@functools.lru_cache(maxsize=32)
def _chain(T: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """One chain of max(CHAIN_LENGTHS) + BURN_IN sweeps at temperature T (weights / T):
    state indices after the burn-in, and the exact distribution. T is traced (jnp scalar)."""
    base = boltzmann.example_machine()
    params = boltzmann.BMParams(base.W / jnp.float32(T), base.b / jnp.float32(T))
    # 8 chains (the lecture's shape, so nothing compiles twice); the picture shows the first
    states = boltzmann.gibbs_sample(params, key=jax.random.key(seed), n_chains=N_CHAINS,
                                    n_sweeps=max(CHAIN_LENGTHS) + BURN_IN)  # fmt: skip
    idx = np.asarray(boltzmann.state_index(states[BURN_IN:, 0]))
    return idx, np.asarray(boltzmann.exact_distribution(params), np.float64)


def gibbs_run(length: int, T: float, seed: int = 0) -> GibbsResult:
    """The numbers behind :func:`equilibrium_explorer` (the chain is shared by all lengths)."""
    idx, exact = _chain(round(float(T), 4), seed)

    def freq(n):
        return np.bincount(idx[:n], minlength=exact.size) / n

    curve = np.array([0.5 * np.abs(freq(n) - exact).sum() for n in CHAIN_LENGTHS])
    sampled = freq(int(length))
    return GibbsResult(exact, sampled, float(0.5 * np.abs(sampled - exact).sum()), curve)


class _GibbsView:
    """Left: exact P(s) and the chain's frequencies over the 32 states. Right: TV vs length."""

    def __init__(self) -> None:
        self.live = live = LiveFigure(2, width=4.7, height=3.6)
        ax, ax2 = live.axes
        x = np.arange(32)
        kw = {"animated": True}
        self.exact = ax.bar(x - 0.2, np.zeros(32), width=0.4, color=plotting.OKABE_ITO[0],
                            label="exact $P(s)$", **kw)  # fmt: skip
        self.sampled = ax.bar(x + 0.2, np.zeros(32), width=0.4, color=plotting.OKABE_ITO[1],
                              label="Gibbs chain", **kw)  # fmt: skip
        ax.set(xlim=(-0.8, 31.8), ylim=(0.0, 0.8), xlabel="state $s$ (as a 5-bit number)",
               ylabel="probability")  # fmt: skip
        ax.set_xticks([0, 8, 16, 24, 31])
        ax.legend(loc="upper right", fontsize=8.5)
        lengths = np.array(CHAIN_LENGTHS, float)
        ax2.plot(lengths, 0.5 / np.sqrt(lengths / 10), ":", color="0.3", lw=1.2,
                 label=r"$\propto 1/\sqrt{L}$")  # fmt: skip
        (self.curve,) = ax2.plot([], [], "o-", color=plotting.OKABE_ITO[2], lw=1.8,
                                 label="this chain", **kw)  # fmt: skip
        (self.dot,) = ax2.plot([], [], "o", ms=10, color=plotting.OKABE_ITO[3], **kw)
        ax2.set(xscale="log", yscale="log", xlim=(7, 4500), ylim=(0.008, 1.2),
                xlabel="chain length $L$ (sweeps after burn-in)",
                ylabel="total variation to exact")  # fmt: skip
        ax2.legend(loc="lower left", fontsize=8.5)
        self.title = ax.set_title(" ", animated=True)
        self.title2 = ax2.set_title(" ", animated=True)

    def update(self, res: GibbsResult, values: dict[str, Any]) -> None:
        top = 0.799
        for bar, h in zip(self.exact, res.exact, strict=True):
            bar.set_height(min(float(h), top))
        for bar, h in zip(self.sampled, res.sampled, strict=True):
            bar.set_height(min(float(h), top))
        self.curve.set_data(np.array(CHAIN_LENGTHS, float), np.clip(res.tv_curve, 0.009, 1.1))
        self.dot.set_data([float(values["length"])], [float(np.clip(res.tv, 0.009, 1.1))])
        self.title.set_text(f"T = {values['T']:.2f}, L = {values['length']} sweeps")
        self.title2.set_text(f"TV = {res.tv:.3f}")

    def alt(self, res: GibbsResult, values: dict[str, Any]) -> str:
        top = int(np.argmax(res.exact))
        return (
            f"Left: the exact probabilities of the 32 states of a five-unit Boltzmann machine at "
            f"temperature {values['T']:.2f} beside the frequencies of one Gibbs chain of "
            f"{values['length']} sweeps; the likeliest state, number {top}, has probability "
            f"{res.exact[top]:.2f} and frequency {res.sampled[top]:.2f}. Right: the total "
            f"variation between them against the chain length, {res.tv:.3f} at this length, "
            f"falling from {res.tv_curve[0]:.2f} at {CHAIN_LENGTHS[0]} sweeps to "
            f"{res.tv_curve[-1]:.3f} at {CHAIN_LENGTHS[-1]}."
        )


def equilibrium_explorer(*, seed: int = 0) -> Demo:
    r"""Slide the chain length $L$ and the temperature $T$ (every weight and bias divided by
    $T$) of the lecture's five-unit machine; the bars compare the chain's state frequencies
    with the exact $P(s)$, the right panel the total variation against $L$.

    A temperature runs one chain (``gibbs_sample``, traced parameters: never recompiles) and is
    remembered; a length only counts the first $L$ states of it.
    """
    controls = {
        "length": W.SelectionSlider(options=list(CHAIN_LENGTHS), value=100,
                                    description="chain length L", continuous_update=False),
        "T": W.FloatSlider(value=1.0, min=0.5, max=3.0, step=0.25, description="temperature T",
                           readout_format=".2f", continuous_update=False),
    }  # fmt: skip
    view = _GibbsView()
    return Demo(controls, lambda length, T: gibbs_run(length, T, seed), view, alt=view.alt)
