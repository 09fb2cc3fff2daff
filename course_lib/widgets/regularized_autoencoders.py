"""Chapter 4d: the VAE's 2-D code space, live (latent explorer)."""

from __future__ import annotations

from typing import Any, NamedTuple

import ipywidgets as W
import jax.numpy as jnp
import numpy as np
from matplotlib import colormaps

from course_lib import vae
from course_lib._types import Array
from course_lib.widgets.demo import Demo, LiveFigure


class LatentResult(NamedTuple):
    """The code $(z_1, z_2)$ and the decoder's image of it, ``(64,)`` grey levels in [0, 1]."""

    z: np.ndarray  # (2,)
    image: np.ndarray  # (d,)


class _LatentView:
    """Left: held-out digits' codes coloured by digit, and the chosen point. Right: its image."""

    def __init__(self, codes: np.ndarray, labels: np.ndarray, lim: float, side: int) -> None:
        self.side = side
        self.live = live = LiveFigure(2, width=4.3, height=3.9)
        ax, ax_img = live.axes
        cmap = colormaps["tab10"]
        for digit in range(10):
            pts = codes[labels == digit]
            ax.scatter(pts[:, 0], pts[:, 1], s=7, color=cmap(digit), alpha=0.6, lw=0)
            if len(pts):
                cx, cy = np.median(pts, axis=0)
                ax.text(cx, cy, str(digit), fontsize=12, weight="bold", ha="center", va="center",
                        color="black", bbox={"boxstyle": "round,pad=0.15", "fc": cmap(digit),
                                             "alpha": 0.8, "lw": 0})  # fmt: skip
        ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal")
        ax.set_xlabel("code $h_1$ (mean $\\mu_1$ of each test digit)")
        ax.set_ylabel("code $h_2$")
        (self.dot,) = ax.plot([], [], "X", ms=14, color="black", mec="white", animated=True)
        self.title = ax.set_title(" ", animated=True)
        self.img = ax_img.imshow(
            np.zeros((side, side)), cmap="gray_r", vmin=0, vmax=1, interpolation="nearest",
            animated=True,
        )  # fmt: skip
        ax_img.set_xticks([])
        ax_img.set_yticks([])
        ax_img.grid(False)
        ax_img.set_title("decoder's mean $g(h)$ at the cross")

    def update(self, res: LatentResult, values: dict[str, Any]) -> None:
        self.dot.set_data([res.z[0]], [res.z[1]])
        self.img.set_data(np.clip(res.image, 0, 1).reshape(self.side, self.side))
        self.title.set_text(f"h = ({res.z[0]:+.2f}, {res.z[1]:+.2f})")

    def alt(self, res: LatentResult, values: dict[str, Any]) -> str:
        return (
            "Left: the two-dimensional codes of held-out digits, coloured and labelled by "
            f"digit, with a cross at ({res.z[0]:.2f}, {res.z[1]:.2f}). Right: the 8 by 8 "
            "image the VAE's decoder produces for the code under the cross."
        )


def latent_explorer(
    params: vae.VAE, codes: Array, labels: Array, *, lim: float = 3.0, step: float = 0.05
) -> Demo:
    r"""Move a point $(z_1, z_2)$ through a trained VAE's 2-D code space and see its image.

    ``codes: (n, 2)`` (e.g. the means $\mu$ of held-out digits) and ``labels: (n,)`` draw the
    map once; each slider move is one jitted decoder call (:func:`course_lib.vae.decode_one`),
    with the code as a traced argument: nothing recompiles.
    """
    codes = np.asarray(codes, dtype=float)
    labels = np.asarray(labels)
    if codes.ndim != 2 or codes.shape[1] != 2:
        raise ValueError(f"`codes` must have shape (n, 2), got {codes.shape}.")
    d = params.dec_out.W.shape[1]
    side = int(round(np.sqrt(d)))
    dtype = params.dec_out.W.dtype

    def compute(z1: float, z2: float) -> LatentResult:
        image = vae.decode_one(params, jnp.asarray(z1, dtype), jnp.asarray(z2, dtype))
        return LatentResult(np.array([z1, z2]), np.asarray(image))

    def slider(name: str) -> W.FloatSlider:
        return W.FloatSlider(
            value=0.0, min=-lim, max=lim, step=step, description=name, readout_format=".2f",
            continuous_update=True,
        )  # fmt: skip

    controls = {"z1": slider("code h₁"), "z2": slider("code h₂")}
    return Demo(controls, compute, _LatentView(codes, labels, lim, side))
