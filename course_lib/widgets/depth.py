"""Chapter 1b: the tent map composed r times, its linear pieces, and what depth saves."""

from __future__ import annotations

from typing import Any, NamedTuple

import ipywidgets as W
import jax.numpy as jnp
import numpy as np

from course_lib import depth, plotting
from course_lib.widgets.demo import Demo, LiveFigure


class TentResult(NamedTuple):
    """One setting of :func:`tent_explorer`."""

    xs: np.ndarray  # (m,) dyadic grid on [0, 1]
    ys: np.ndarray  # (m,) t^r on the grid
    r: int  # the depth
    pieces: int  # linear pieces, counted on the grid
    deep_params: int  # parameters of the deep network (r hidden layers of 2 units)
    shallow_params: int  # parameters of the fewest-unit one-hidden-layer network (2^r - 1 units)


class _TentView:
    """The zig-zag t^r on [0, 1]; the title says the piece count and both parameter counts."""

    def __init__(self) -> None:
        self.live = live = LiveFigure(1, width=7.0, height=3.4)
        ax = live.ax
        (self.line,) = ax.plot([], [], color=plotting.OKABE_ITO[4], lw=0.7, animated=True)
        ax.set(xlim=(0.0, 1.0), ylim=(-0.05, 1.05), xlabel="$x$", ylabel=r"$t^{\circ r}(x)$")
        self.title = ax.set_title(" ", fontsize=9.5, animated=True)

    def update(self, res: TentResult, values: dict[str, Any]) -> None:
        self.line.set_data(res.xs, res.ys)
        self.title.set_text(
            f"r = {res.r}: {res.pieces} pieces  |  deep: {2 * res.r} units, {res.deep_params} "
            f"params  |  1 hidden layer: ≥ {2**res.r - 1} units, {res.shallow_params} params"
        )

    def alt(self, res: TentResult, values: dict[str, Any]) -> str:
        return (
            f"The tent map composed {res.r} times on [0, 1]: a zig-zag between 0 and 1 with "
            f"{res.pieces} linear pieces. A deep ReLU network of {res.r} layers of 2 units "
            f"({res.deep_params} parameters) computes it; a network with one hidden layer needs "
            f"at least {2**res.r - 1} units ({res.shallow_params} parameters)."
        )


def tent_explorer(max_depth: int = 10, *, grid: int = 12) -> Demo:
    r"""Slide the depth $r$ of $t^{\circ r}$; see its $2^r$ pieces and the parameter counts.

    The curve is :func:`course_lib.depth.compose_tent` on the dyadic grid $k/2^{grid}$ (every
    kink a grid point, so :func:`course_lib.depth.count_pieces` counts exactly while
    $r \le grid$); ``r`` is traced, so moving the slider never recompiles. Parameter counts:
    widths $(1, 2, \dots, 2, 1)$ for the deep network, $(1, 2^r - 1, 1)$ for the shallow bound.
    """
    max_depth = int(max_depth)
    if not 1 <= max_depth <= min(grid, depth.MAX_DEPTH):
        raise ValueError(
            f"`max_depth` must lie in [1, {min(grid, depth.MAX_DEPTH)}] (the grid has "
            f"2^{grid} intervals), got {max_depth}."
        )
    xs = jnp.arange(2**grid + 1) / 2**grid
    xs_np = np.asarray(xs, np.float64)

    def compute(r: int) -> TentResult:
        ys = np.asarray(depth.compose_tent(xs, int(r)), np.float64)
        return TentResult(
            xs_np,
            ys,
            int(r),
            depth.count_pieces(xs_np, ys),
            depth.param_count((1, *[2] * int(r), 1)),
            depth.param_count((1, 2 ** int(r) - 1, 1)),
        )

    controls = {
        "r": W.IntSlider(
            value=3, min=1, max=max_depth, description="depth r", continuous_update=True
        ),
    }
    return Demo(controls, compute, _TentView())
