"""Chapter 10d: a Kohonen map unfolding over its data, played back snapshot by snapshot."""

from __future__ import annotations

from typing import Any, NamedTuple

import ipywidgets as W
import jax
import numpy as np
from matplotlib.collections import LineCollection

from course_lib import plotting, som
from course_lib.widgets.demo import Demo, LiveFigure


class SOMPlayback(NamedTuple):
    """One lattice's precomputed run: weights per snapshot and the errors at each."""

    kind: str
    snapshots: np.ndarray  # (S + 1, m, 2)
    edges: np.ndarray  # (E, 2) neighbour pairs on the lattice
    topographic: np.ndarray  # (S + 1,)
    quantization: np.ndarray  # (S + 1,)
    steps: np.ndarray  # (S + 1,) training steps at each snapshot


class _SOMView:
    """Left: the data and the map drawn as a net (lattice neighbours joined). Right: the
    topographic error over training, with a dot at the snapshot shown."""

    def __init__(self, X: np.ndarray, total_steps: int) -> None:
        self.live = live = LiveFigure(2, width=4.6, height=4.0)
        ax, ax2 = live.axes
        ax.scatter(X[:, 0], X[:, 1], s=4, color="0.75", zorder=0, label="data")
        self.net = LineCollection([], colors=plotting.OKABE_ITO[0], linewidths=1.0, animated=True)
        ax.add_collection(self.net)
        (self.nodes,) = ax.plot([], [], "o", ms=3.5, color=plotting.OKABE_ITO[3], animated=True)
        ax.set(xlim=(-0.05, 1.05), ylim=(-0.05, 1.05), xlabel="$x_1$", ylabel="$x_2$")
        ax.set_aspect("equal")
        self.title = ax.set_title(" ", animated=True)
        (self.curve,) = ax2.plot([], [], "-", color=plotting.OKABE_ITO[0], lw=1.8,
                                 label="topographic error", animated=True)  # fmt: skip
        (self.qcurve,) = ax2.plot([], [], "--", color=plotting.OKABE_ITO[1], lw=1.6,
                                  label="quantization error × 5", animated=True)  # fmt: skip
        (self.dot,) = ax2.plot([], [], "o", ms=8, color=plotting.OKABE_ITO[3], animated=True)
        ax2.set(xlim=(0, total_steps), ylim=(0.0, 1.0), xlabel="training step")
        ax2.set_ylabel("error of the map")
        ax2.legend(loc="upper right", fontsize=8.5)
        self.title2 = ax2.set_title(" ", animated=True)

    def update(self, res: SOMPlayback, values: dict[str, Any]) -> None:
        k = int(values["snapshot"])
        Wk = res.snapshots[k]
        self.net.set_segments(Wk[res.edges])
        self.nodes.set_data(Wk[:, 0], Wk[:, 1])
        self.curve.set_data(res.steps, res.topographic)
        self.qcurve.set_data(res.steps, 5.0 * res.quantization)
        self.dot.set_data([res.steps[k]], [res.topographic[k]])
        self.title.set_text(f"{res.kind} 8×8 map after {int(res.steps[k])} steps")
        self.title2.set_text(
            f"topographic error {res.topographic[k]:.3f}, quantization {res.quantization[k]:.3f}"
        )

    def alt(self, res: SOMPlayback, values: dict[str, Any]) -> str:
        k = int(values["snapshot"])
        return (
            f"Left: a {res.kind} 8-by-8 self-organizing map drawn as a net over 1000 points "
            f"spread uniformly on the unit square, after {int(res.steps[k])} of "
            f"{int(res.steps[-1])} training steps. Right: its topographic error over training, "
            f"{res.topographic[k]:.3f} at this snapshot (it started at {res.topographic[0]:.3f}), "
            f"and its quantization error, {res.quantization[k]:.3f} here."
        )


def _playback(X, kind: str, rows: int, cols: int, steps: int, snapshots: int, seed: int):
    key = jax.random.key(seed)
    ldist = som.lattice_distances(som.lattice_coords(rows, cols, kind))
    W0 = som.init(jax.random.fold_in(key, 1), X, rows * cols)
    run = som.train(W0, X, ldist, key=jax.random.fold_in(key, 2), steps=steps,
                    snapshots=snapshots)  # fmt: skip
    te, qe = som.snapshot_errors(run.snapshots, X, ldist)
    return SOMPlayback(
        kind=kind,
        snapshots=np.asarray(run.snapshots, np.float64),
        edges=np.asarray(som.lattice_edges(rows, cols, kind)),
        topographic=np.asarray(te, np.float64),
        quantization=np.asarray(qe, np.float64),
        steps=np.arange(snapshots + 1) * (steps // snapshots),
    )


def som_player(*, steps: int = 3000, snapshots: int = 30, seed: int = 0) -> Demo:
    r"""Play an 8×8 Kohonen map unfolding over uniform data on the unit square.

    Both lattices (rectangular, hexagonal) are trained once when the widget is built, by
    :func:`course_lib.som.train` (one ``lax.scan``, the same compiled function for both), with
    ``snapshots + 1`` stored weight sets and their topographic and quantization errors. The
    slider picks a snapshot and the dropdown a lattice: both only redraw.
    """
    X = np.asarray(jax.random.uniform(jax.random.key(seed + 100), (1000, 2)))
    runs = {
        kind: _playback(X, kind, 8, 8, steps, snapshots, seed)
        for kind in ("rectangular", "hexagonal")
    }

    def compute(lattice: str) -> SOMPlayback:
        return runs[lattice]

    controls = {
        "snapshot": W.IntSlider(
            value=snapshots // 3,
            min=0,
            max=snapshots,
            description="snapshot",
            continuous_update=True,
        ),  # fmt: skip
        "lattice": W.Dropdown(
            options=["rectangular", "hexagonal"], value="rectangular", description="lattice"
        ),  # fmt: skip
    }
    play = W.Play(value=snapshots // 3, min=0, max=snapshots, interval=150, description="play")
    W.jslink((play, "value"), (controls["snapshot"], "value"))
    return Demo(controls, compute, _SOMView(X, steps), redraw_only=("snapshot",), play=play)
