"""Chapter 10a: a content-addressed memory read, live (key strength β, which row, key noise)."""

from __future__ import annotations

from typing import Any, NamedTuple

import ipywidgets as W
import jax
import jax.numpy as jnp
import numpy as np

from course_lib import _validate, memory, plotting
from course_lib.widgets.demo import Demo, LiveFigure


class ReadResult(NamedTuple):
    """One read: the key ``v (m,)``, the weights ``w (N,)``, the read ``r (m,)`` and the row
    ``target (m,)`` the key was copied from."""

    v: np.ndarray
    w: np.ndarray
    r: np.ndarray
    target: np.ndarray


@jax.jit
def _read(M, noise_dirs, row, noise, beta):
    v = M[row] + noise * noise_dirs[row]
    w, r = memory.content_read(M, v, beta)
    return v, w, r, M[row]


def read_cache_size() -> int:
    """Compiled versions of the explorer's read (tests: moving a control never recompiles)."""
    return _read._cache_size()


class _ReadView:
    """Left: the weights w(i) over the memory rows. Right: the read r against the copied row."""

    def __init__(self, N: int, m: int, lim: float) -> None:
        self.live = live = LiveFigure(2, width=4.4, height=3.4)
        ax, ax2 = live.axes
        rows = np.arange(N)
        self.bars = ax.bar(rows, np.zeros(N), color=plotting.OKABE_ITO[0], width=0.7)
        live.animate(*self.bars.patches)
        self.uniform = ax.axhline(1.0 / N, color="0.4", lw=1.0, ls=":", label="uniform $1/N$")
        ax.set(xlim=(-0.6, N - 0.4), ylim=(0.0, 1.02), xlabel="memory row $i$")
        ax.set_ylabel("read weight $w(i)$")
        ax.set_xticks(rows)
        ax.legend(loc="upper left", fontsize=8.5)
        cols = np.arange(m)
        (self.target,) = ax2.plot([], [], "s", ms=9, mfc="none", mew=1.6,
                                  color=plotting.OKABE_ITO[5], label="the copied row $M_j$",
                                  animated=True)  # fmt: skip
        (self.key,) = ax2.plot([], [], "x", ms=7, color="0.35", label="the key $v$",
                               animated=True)  # fmt: skip
        (self.read,) = ax2.plot([], [], "o-", ms=6, lw=1.4, color=plotting.OKABE_ITO[3],
                                label=r"the read $r=\sum_i w(i)M_i$", animated=True)  # fmt: skip
        ax2.axhline(0.0, color="0.7", lw=0.8)
        ax2.set(xlim=(-0.5, m - 0.5), ylim=(-lim, lim), xlabel="memory column")
        ax2.set_xticks(cols)
        ax2.legend(loc="lower left", fontsize=8.5)
        self.title = ax.set_title(" ", animated=True)
        self.title2 = ax2.set_title(" ", animated=True)
        self.cols = cols

    def update(self, res: ReadResult, values: dict[str, Any]) -> None:
        for bar, w in zip(self.bars.patches, res.w, strict=True):
            bar.set_height(float(w))
        j = int(values["row"])
        for i, bar in enumerate(self.bars.patches):
            bar.set_facecolor(plotting.OKABE_ITO[5] if i == j else plotting.OKABE_ITO[0])
        self.target.set_data(self.cols, res.target)
        self.key.set_data(self.cols, res.v)
        self.read.set_data(self.cols, res.r)
        self.title.set_text(f"β = {values['beta']:.1f}: w(row {j}) = {float(res.w[j]):.2f}")
        err = float(np.linalg.norm(res.r - res.target))
        self.title2.set_text(f"key noise {values['noise']:.2f}: |r − M_j| = {err:.2f}")

    def alt(self, res: ReadResult, values: dict[str, Any]) -> str:
        j = int(values["row"])
        best = int(np.argmax(res.w))
        err = float(np.linalg.norm(res.r - res.target))
        return (
            f"Left: the content-addressed read weights over {res.w.size} memory rows for a key "
            f"copied from row {j} with noise {values['noise']:.2f} and key strength beta = "
            f"{values['beta']:.1f}; the largest weight, {float(res.w[best]):.2f}, is on row "
            f"{best}. Right: the read vector against the copied row, at distance {err:.2f}."
        )


def content_read_explorer(M: Any = None, *, seed: int = 0) -> Demo:
    r"""Slide the key strength $\beta$ of a content-addressed read (Aggarwal Eq 10.13, 10.9),
    the memory row the key copies, and the noise added to the key.

    ``M (N, m)`` the memory (default: an 8 x 5 standard-normal memory drawn from ``seed``). One
    call of a jitted read whose row, noise and $\beta$ are traced: no control recompiles.
    """
    if M is None:
        M = jax.random.normal(jax.random.key(seed), (8, 5))
    M = _validate.float_array("M", M, ndim=2)
    _validate.nonempty("M", M, what="memory row")
    N, m = M.shape
    dirs = jax.random.normal(jax.random.fold_in(jax.random.key(seed), 1), (N, m), M.dtype)

    def compute(beta: float, row: int, noise: float) -> ReadResult:
        v, w, r, target = _read(M, dirs, jnp.int32(row), jnp.asarray(noise, M.dtype),
                                jnp.asarray(beta, M.dtype))  # fmt: skip
        return ReadResult(np.asarray(v), np.asarray(w), np.asarray(r), np.asarray(target))

    controls = {
        "beta": W.FloatSlider(
            value=5.0,
            min=0.0,
            max=40.0,
            step=0.5,
            description="key strength β",
            readout_format=".1f",
            continuous_update=True,
        ),  # fmt: skip
        "row": W.IntSlider(
            value=2, min=0, max=N - 1, description="key copies row", continuous_update=True
        ),  # fmt: skip
        "noise": W.FloatSlider(
            value=0.5,
            min=0.0,
            max=2.0,
            step=0.05,
            description="key noise",
            readout_format=".2f",
            continuous_update=True,
        ),  # fmt: skip
    }
    lim = float(np.ceil(np.max(np.abs(np.asarray(M))) + 1.0))
    return Demo(controls, compute, _ReadView(N, m, lim))
