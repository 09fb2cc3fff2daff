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
import matplotlib.ticker
import numpy as np
from IPython.display import display
from jax.flatten_util import ravel_pytree
from matplotlib.figure import Figure

from course_lib import (
    activations,
    autoencoders,
    cnn,
    data,
    deepnets,
    gradcheck,
    language_model,
    linear_models,
    mlp,
    optim,
    perceptron,
    plotting,
    rnn,
)
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


# --------------------------------------------------------------------------------------------
# Chapter 2a (ch02a_shallow_models): three multiclass losses on three blobs.


class MulticlassRun(NamedTuple):
    """A multiclass fit on 2-D data and its training accuracy."""

    fit: Any  # linear_models.MulticlassFit
    accuracy: float


def multiclass_explorer(
    X: Array, labels: Array, *, key: Array, epochs: int = 20, lr: float = 0.1
) -> Demo:
    r"""Switch the multiclass loss and move $\lambda$; see the decision regions it learns.

    ``X: (n, 2)`` points (a bias feature is added here) and ``labels: (n,)`` in ``0..k-1``.
    The loss is a traced index and $\lambda$ a traced float inside one jitted ``lax.scan``
    (:func:`course_lib.linear_models.multiclass_fit`), so nothing recompiles.
    """
    Xb = data.add_bias(X)

    def compute(loss: str, lam: float) -> MulticlassRun:
        fit = linear_models.multiclass_fit(
            Xb, labels, loss=loss, lr=lr, lam=lam, epochs=epochs, key=key
        )
        return MulticlassRun(fit, float(linear_models.accuracy(fit.W, Xb, labels)))

    def draw(run: MulticlassRun, values: dict[str, Any]) -> Figure:
        fig, (ax, ax2) = plotting.figure(2, width=4.4, height=3.8)
        W = run.fit.W
        plotting.class_regions(
            ax, lambda P: linear_models.predict_class(W, data.add_bias(P)), X, labels
        )
        ax.set_title(f"{values['loss']}: accuracy {run.accuracy:.3f}")
        ax.legend(fontsize=8, loc="lower center", ncols=3)
        ax2.plot(np.arange(1, epochs + 1), np.asarray(run.fit.history.objective), "o-", ms=3)
        ax2.set_xlabel("epoch")
        ax2.set_ylabel("$J(W)$ after the epoch")
        ax2.set_title(f"λ = {values['lam']:.3g},  ‖W‖ = {float(jnp.linalg.norm(W)):.3g}")
        return fig

    controls = {
        "loss": W.Dropdown(
            options=list(linear_models.MULTICLASS_LOSSES), value="softmax", description="loss"
        ),
        "lam": W.FloatLogSlider(
            value=1e-3,
            base=10,
            min=-4,
            max=0,
            step=0.25,
            description="λ",
            readout_format=".4f",
            continuous_update=False,
        ),
    }
    return Demo(controls, compute, draw)


# --------------------------------------------------------------------------------------------
# ch02b_autoencoders_word2vec: the linear autoencoder's code size k, live.


class CodeSizeResult(NamedTuple):
    """The linear autoencoder trained with ``k`` active code units, and the SVD's error."""

    k: int
    error: float  # relative reconstruction error of the autoencoder
    svd_error: float  # the Eckart–Young optimum at this k (relative)
    svd_curve: np.ndarray  # (k_max + 1,) relative SVD error for k = 0..k_max
    recon: np.ndarray  # (n_show, d) reconstructions of the first images (mean added back)
    originals: np.ndarray  # (n_show, d)


def code_size_explorer(
    X: Array, *, k_max: int = 16, steps: int = 600, n_show: int = 8, seed: int = 0
) -> Demo:
    r"""Slide $k$, the number of code units of a linear autoencoder on images ``X: (n, 64)``.

    One autoencoder shape (``k_max`` units) is compiled once; the slider switches units off
    with a traced mask, so moving it never recompiles. Shows reconstructions and the error
    against the truncated SVD's (the best any rank-$k$ model can do).
    """
    X = jnp.asarray(X)
    mean = jnp.mean(X, axis=0)
    D = X - mean[None, :]
    total = float(jnp.sum(D**2))
    s2 = np.asarray(jnp.linalg.svd(D, compute_uv=False), np.float64) ** 2
    # Eckart-Young at every k at once: the energy left in the discarded singular values
    svd_curve = np.array([s2[k:].sum() for k in range(k_max + 1)]) / total

    def compute(k: int) -> CodeSizeResult:
        params, _ = autoencoders.fit_linear(
            D, key=jax.random.key(seed), k=k_max, k_active=k, steps=steps
        )
        mask = autoencoders.code_mask(k, k_max)
        err = float(autoencoders.linear_loss(params, D, code_mask=mask)) / total
        recon = autoencoders.linear_reconstruct(params, D[:n_show], code_mask=mask) + mean[None, :]
        return CodeSizeResult(
            k, err, float(svd_curve[k]), svd_curve, np.asarray(recon), np.asarray(X[:n_show])
        )

    def draw(res: CodeSizeResult, values: dict[str, Any]) -> Figure:
        fig = plt.figure(figsize=(9.0, 2.5), layout="constrained")
        left, right = fig.subfigures(1, 2, width_ratios=[1.4, 1.0])
        axes = left.subplots(2, res.recon.shape[0])
        for c in range(res.recon.shape[0]):
            for r, imgs in enumerate((res.originals, np.clip(res.recon, 0, 1))):
                axes[r, c].imshow(imgs[c].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
                axes[r, c].set_xticks([])
                axes[r, c].set_yticks([])
                axes[r, c].grid(False)
        axes[0, 0].set_ylabel("input", fontsize=8)
        axes[1, 0].set_ylabel(f"k = {res.k}", fontsize=8)
        ax = right.subplots()
        ax.plot(np.arange(k_max + 1), res.svd_curve, "k.-", label="truncated SVD (optimum)")
        ax.plot([res.k], [res.error], "ro", ms=8, label="linear autoencoder")
        ax.set_xlabel("code size $k$")
        ax.set_ylabel("relative error $\\|D - \\hat D\\|^2 / \\|D\\|^2$")
        ax.set_title(f"k = {res.k}: error {res.error:.3f} (SVD {res.svd_error:.3f})", fontsize=9)
        ax.legend(fontsize=8)
        return fig

    controls = {
        "k": W.IntSlider(
            value=4, min=1, max=k_max, description="code size k", continuous_update=False
        )
    }
    return Demo(controls, compute, draw)


# --------------------------------------------------------------------------------------------
# ch03b_optimizers: the optimizer race on the bowl L = x^2 + b y^2.


def bowl(w: Array, b: Any = 4.0, angle: Any = 0.0) -> Array:
    r"""The bowl $L = x^2 + b\,y^2$ of Aggarwal Fig 3.9 ($b = 4$; $b = 1$ is the round one),
    optionally turned by ``angle`` (radians): $L = u^2 + b\,v^2$ with
    $(u, v) = (x\cos\theta + y\sin\theta,\; -x\sin\theta + y\cos\theta)$. The same
    eigenvalues, but at $\theta \ne 0$ the Hessian is no longer diagonal in $(x, y)$.

    ``w`` has shape ``(2, ...)``: a point, or a grid of points stacked on the first axis.
    """
    c, s = jnp.cos(angle), jnp.sin(angle)
    u, v = c * w[0] + s * w[1], c * w[1] - s * w[0]
    return u**2 + b * v**2


_NESTEROV = optim.ZOO.index("Nesterov")


@functools.partial(jax.jit, static_argnames=("steps",))
def _race(lr, adaptive_lr, beta, b, angle, start, *, steps: int):
    # Turn the start with the bowl, so that the problem is the same one seen in turned axes.
    c, s = jnp.cos(angle), jnp.sin(angle)
    start = jnp.stack([c * start[0] - s * start[1], s * start[0] + c * start[1]])
    zoo = optim.optimizer_zoo(lr, adaptive_lr, beta)
    out = optim.race(lambda w: bowl(w, b, angle), list(zoo.values()), start, steps)
    # Nesterov's iterates in optax's form are the look-ahead points W + beta V: show the book's W.
    book_w = optim.nesterov_iterates(out.params[_NESTEROV], beta)
    book_loss = jax.vmap(lambda w: bowl(w, b, angle))(book_w)
    return optim.Trajectory(
        out.params.at[_NESTEROV].set(book_w), out.loss.at[_NESTEROV].set(book_loss)
    )


def race_cache_size() -> int:
    """How many times the race's jitted scan has been compiled (for no-recompile checks)."""
    return _race._cache_size()


class RaceResult(NamedTuple):
    """Seven optimizers on one bowl: their paths, losses and iteration counts."""

    names: tuple[str, ...]
    paths: np.ndarray  # (7, steps + 1, 2)
    losses: np.ndarray  # (7, steps + 1)
    counts: np.ndarray  # (7,) first k with L(w_k) < tol, -1 if never


def race_bowl(
    lr: float,
    adaptive_lr: float,
    beta: float,
    b: float = 4.0,
    angle: float = 0.0,
    *,
    start: tuple[float, float] = (30.0, 20.0),
    steps: int = 300,
    tol: float = 1e-6,
) -> RaceResult:
    r"""Race the seven methods of :func:`course_lib.optim.optimizer_zoo` on $x^2 + b\,y^2$,
    turned by ``angle`` radians (:func:`bowl`) together with ``start``: the same problem in
    turned axes, on which GD, momentum and Nesterov take the same (turned) steps.

    One call of one jitted ``lax.scan``; ``lr``, ``adaptive_lr``, ``beta``, ``b`` and ``angle``
    are traced, so new values never recompile (only a new ``steps`` does). Nesterov's row holds
    the book's iterates $W$ (:func:`course_lib.optim.nesterov_iterates`), not optax's
    look-ahead points $W + \beta V$.
    """
    f = jnp.result_type(float)
    out = _race(
        jnp.asarray(lr, f),
        jnp.asarray(adaptive_lr, f),
        jnp.asarray(beta, f),
        jnp.asarray(b, f),
        jnp.asarray(angle, f),
        jnp.asarray(start, f),
        steps=steps,
    )
    counts = optim.steps_to_tolerance(out.loss, tol)
    return RaceResult(optim.ZOO, np.asarray(out.params), np.asarray(out.loss), np.asarray(counts))


_POWER_OF_TEN = matplotlib.ticker.FuncFormatter(lambda v, _: f"1e{round(np.log10(v)):d}")


def draw_race(
    result: RaceResult,
    methods: Iterable[str],
    t: int,
    b: float,
    angle: float = 0.0,
    *,
    tol: float = 1e-6,
    width: float = 4.6,
    height: float = 3.9,
) -> Figure:
    """The race at iteration ``t``: paths over the contours, and the loss curves (log scale)."""
    chosen = [m for m in result.names if m in set(methods)]
    index = {m: i for i, m in enumerate(result.names)}
    t = int(min(max(t, 0), result.paths.shape[1] - 1))
    # A fixed layout, not "constrained": the layout solver took 60% of a redraw.
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(2 * width, height))
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.13, top=0.92, wspace=0.22)
    plotting.loss_contours(
        ax, lambda w: bowl(w, b, angle), levels=np.geomspace(10, 4000, 9), resolution=81
    )
    plotting.optimizer_paths(
        ax, {m: np.clip(result.paths[index[m]], -1e3, 1e3) for m in chosen}, upto=t
    )
    # Plain text, no mathtext: parsing "$...$" anew for every frame cost more than the plot.
    turned = f", turned {np.degrees(angle):.0f}°" if angle else ""
    ax.set_title(f"L = x² + {b:.3g} y²{turned},  iteration {t}")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    plotting.loss_curves(
        ax2, {m: result.losses[index[m]] for m in chosen}, upto=result.paths.shape[1] - 1, tol=tol
    )
    ax2.axvline(t, color="0.5", lw=1)
    ax2.set_xlabel("iteration k")
    ax2.set_ylabel("L(w_k)")
    ax2.yaxis.set_major_formatter(_POWER_OF_TEN)
    ax2.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    labels = [
        f"{m}: {result.counts[index[m]]}" if result.counts[index[m]] >= 0 else f"{m}: —"
        for m in chosen
    ]
    ax2.set_title("iterations to reach the tolerance", fontsize=9)
    handles = ax2.get_lines()[: len(chosen)]
    if handles:
        ax2.legend(handles, labels, fontsize=7, loc="upper right", ncols=2)
    return fig


def optimizer_race(*, steps: int = 300, tol: float = 1e-6) -> Demo:
    r"""Race GD, momentum, Nesterov, AdaGrad, RMSProp, AdaDelta and Adam on $x^2 + b\,y^2$.

    Controls: ``lr`` ($\alpha$ of GD, momentum and Nesterov), ``adaptive_lr`` ($\alpha$ of
    AdaGrad, RMSProp and Adam), ``beta`` (momentum), ``b`` (the bowl's $y$ curvature),
    ``angle`` (degrees the bowl is turned by: the adaptive methods lose their edge when its
    axes are not the coordinate axes),
    ``methods`` (which to show) and ``t`` (the iteration shown; the play button animates it).
    All seven methods are computed at once by one jitted scan; ``methods`` and ``t`` only redraw.
    """

    def compute(
        lr: float, adaptive_lr: float, beta: float, b: float, angle: float = 0.0
    ) -> RaceResult:
        return race_bowl(lr, adaptive_lr, beta, b, np.radians(angle), steps=steps, tol=tol)

    def draw(result: RaceResult, values: dict[str, Any]) -> Figure:
        angle = np.radians(values.get("angle", 0.0))
        return draw_race(result, values["methods"], values["t"], values["b"], angle, tol=tol)

    slider = {"continuous_update": False, "style": {"description_width": "initial"}}
    controls = {
        "lr": W.FloatLogSlider(
            value=0.1,
            base=10,
            min=-2,
            max=np.log10(0.3),
            step=0.02,
            description="α (GD, momentum, Nesterov)",
            readout_format=".3f",
            **slider,
        ),
        "adaptive_lr": W.FloatLogSlider(
            value=1.0,
            base=10,
            min=-1.5,
            max=1.5,
            step=0.05,
            description="α (AdaGrad, RMSProp, Adam)",
            readout_format=".3f",
            **slider,
        ),
        "beta": W.FloatSlider(
            value=0.5, min=0.0, max=0.99, step=0.01, description="momentum β", **slider
        ),
        "b": W.FloatSlider(value=4.0, min=1.0, max=10.0, step=0.5, description="bowl b", **slider),
        "angle": W.FloatSlider(
            value=0.0, min=0.0, max=90.0, step=5.0, description="bowl turned by (°)", **slider
        ),
        "methods": W.SelectMultiple(
            options=list(optim.ZOO),
            value=("GD", "momentum", "Adam"),
            rows=7,
            description="methods",
        ),
        "t": W.IntSlider(value=60, min=0, max=steps, description="iteration t"),
    }
    play = W.Play(value=60, min=0, max=100, step=1, interval=150, description="play")
    W.jslink((play, "value"), (controls["t"], "value"))
    return Demo(controls, compute, draw, redraw_only={"methods", "t"}, extra=[play])


# --------------------------------------------------------------------------------------------
# Chapter 3a (ch03a_backprop): gradient checking, the relative error against the step epsilon.

GRADCHECK_CONFIGS = (
    ("float32", "forward"),
    ("float32", "central"),
    ("float64", "forward"),
    ("float64", "central"),
)
"""The four curves of :func:`gradcheck_explorer`, in the order of its results."""


def _gradcheck_rho(params, X, labels, eps, activation):
    """Relative error of ``mlp.backprop_pre`` vs finite differences, for every config."""
    out = []
    for dtype_name, kind in GRADCHECK_CONFIGS:
        dtype = jnp.dtype(dtype_name)
        p = jax.tree.map(lambda a, dt=dtype: a.astype(dt), params)
        Xd = X.astype(dtype)
        flat, unravel = ravel_pytree(p)
        analytic = ravel_pytree(mlp.backprop_pre(p, Xd, labels, activation))[0]

        def f(v, Xd=Xd, unravel=unravel):
            return mlp.loss(unravel(v), Xd, labels, activation)

        estimate = gradcheck.fd_gradient(f, flat, eps.astype(dtype), kind)
        out.append(gradcheck.vector_relative_error(estimate, analytic).astype(jnp.float64))
    return jnp.stack(out)


_gradcheck_point = jax.jit(_gradcheck_rho, static_argnames=("activation",))


def gradcheck_cache_size() -> int:
    """How many versions of the per-epsilon function are compiled (should stay 1)."""
    return _gradcheck_point._cache_size()


class GradcheckResult(NamedTuple):
    """What :func:`gradcheck_explorer` computes for one epsilon."""

    eps: float
    rho: np.ndarray  # (4,) relative error for each of GRADCHECK_CONFIGS


def gradcheck_explorer(
    params,
    X: Array,
    labels: Array,
    *,
    activation: str = "tanh",
    eps: float = 1e-6,
    grid: int = 45,
    threshold: float = 1e-6,
) -> Demo:
    r"""Slide $\epsilon$ (log scale, $10^{-12}$ to $10^{-1}$) and watch the relative error $\rho$.

    The four V-shaped curves ($\rho$ against $\epsilon$ for forward/central differences in
    float32/float64, Aggarwal §3.2.10) are computed once, on a grid, by the same jitted function
    that the slider calls for the chosen $\epsilon$; $\epsilon$ is traced, so moving the slider
    never recompiles (:func:`gradcheck_cache_size`). Runs under
    ``jax.enable_x64(True)``; ``params`` (a tuple of ``mlp.Dense``) and ``X: (n, d)`` are cast
    to each precision inside.
    """
    eps_grid = np.logspace(-12, -1, grid)
    with jax.enable_x64(True):
        p64 = jax.tree.map(lambda a: jnp.asarray(a, jnp.float64), params)
        X64 = jnp.asarray(X, jnp.float64)
        # One compiled function serves the grid and the slider: eps is traced.
        curves = np.stack(
            [
                np.asarray(
                    _gradcheck_point(p64, X64, labels, jnp.float64(e), activation=activation)
                )
                for e in eps_grid
            ]
        )  # (grid, 4)

    def compute(eps: float) -> GradcheckResult:
        with jax.enable_x64(True):
            rho = _gradcheck_point(p64, X64, labels, jnp.float64(eps), activation=activation)
            return GradcheckResult(float(eps), np.asarray(rho))

    colors = ("#ff7f0e", "#d62728", "#1f77b4", "#2ca02c")

    def draw(result: GradcheckResult, values: dict[str, Any]) -> Figure:
        fig, (ax,) = plotting.figure(1, width=7.0, height=4.2)
        floor = 1e-17  # an exact match (rho = 0) cannot go on a log axis
        for k, (dt, kind) in enumerate(GRADCHECK_CONFIGS):
            ls = "-" if kind == "central" else "--"
            ax.plot(
                eps_grid,
                np.maximum(curves[:, k], floor),
                ls,
                color=colors[k],
                lw=1.8,
                label=f"{dt}, {kind}",
            )
            ax.plot(result.eps, max(result.rho[k], floor), "o", color=colors[k], ms=8)
        ax.axvline(result.eps, color="0.4", lw=1)
        ax.axhline(threshold, color="k", ls=":", lw=1, label=f"threshold {threshold:g}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylim(1e-13, 3.0)
        ax.set_xlabel(r"step $\epsilon$")
        ax.set_ylabel(r"relative error $\rho$")
        best = " | ".join(
            f"f{dt[-2:]} {kind[:3]}: {r:.1e}"
            for (dt, kind), r in zip(GRADCHECK_CONFIGS, result.rho, strict=True)
        )
        ax.set_title(f"ε = {result.eps:.1e}   ({best})", fontsize=9)
        ax.legend(fontsize=8, loc="lower left", ncol=2)
        return fig

    controls = {
        "eps": W.FloatLogSlider(
            value=eps,
            base=10,
            min=-12,
            max=-1,
            step=0.25,
            description="step ε",
            readout_format=".1e",
            continuous_update=False,
        )
    }
    demo = Demo(controls, compute, draw)
    demo.curves = curves
    demo.eps_grid = eps_grid
    return demo


# --------------------------------------------------------------------------------------------
# Chapter 3c (ch03c_training_deep_nets): gradients and activations through a deep network.


def depth_explorer(*, max_depth: int = 30, width: int = 64, seed: int = 0) -> Demo:
    r"""Pick the activation, the depth and the initial scale; see what reaches each layer.

    Draws, per layer of a deep square network (:func:`course_lib.deepnets.depth_statistics`),
    the variance of the activations $h_l$ and the norm of the weight gradient
    $\|\partial L/\partial W_l\|$. The activation, depth and gain are traced arguments of one
    jitted function: moving any control never recompiles.
    """
    key = jax.random.key(seed)

    def compute(activation: str, depth: int, gain: float) -> Any:
        stats = deepnets.depth_statistics(
            activation, depth=depth, gain=gain, key=key, max_depth=max_depth, width=width
        )
        return jax.tree.map(np.asarray, stats)

    def draw(stats: Any, values: dict[str, Any]) -> Figure:
        fig, (ax, ax2) = plotting.figure(2, width=4.4, height=3.4)
        plotting.layer_profile(ax, {"": stats.activation_var}, ylabel="Var$(h_l)$")
        ax.set_title(f"{values['activation']}, gain {values['gain']:.2f}: activations")
        plotting.layer_profile(
            ax2, {"": stats.weight_grad_norm}, ylabel="$\\|\\partial L/\\partial W_l\\|$"
        )
        g = stats.weight_grad_norm[np.isfinite(stats.weight_grad_norm)]
        ratio = g[0] / g[-1] if g[-1] > 0 else np.inf
        ax2.set_title(f"gradient norms (layer 1 / top = {ratio:.2g})")
        for a in (ax, ax2):
            a.set_xlim(0.5, max_depth + 0.5)
        return fig

    controls = {
        "activation": W.Dropdown(
            options=list(deepnets.DEPTH_ACTIVATIONS), value="tanh", description="Φ"
        ),
        "depth": W.IntSlider(
            value=20, min=1, max=max_depth, description="depth", continuous_update=False
        ),
        "gain": W.FloatLogSlider(
            value=1.0,
            base=2,
            min=-2,
            max=2,
            step=0.25,
            description="gain × Xavier",
            readout_format=".2f",
            continuous_update=False,
        ),
    }
    return Demo(controls, compute, draw)


# --------------------------------------------------------------------------------------------
# ch08a_convolution: a filter sliding over a small input (padding, stride, filter size).

_SLIDE_MAX_F = 5  # the largest filter the slider offers
_SLIDE_MAX_P = 2  # the largest padding


@jax.jit
def _slide_map(x: Array, w: Array, f: Array, p: Array, s: Array) -> tuple[Array, Array]:
    """The whole output map for traced filter size ``f``, padding ``p`` and stride ``s``.

    Shapes never change (one compilation): the input sits in a canvas with room for the
    largest padding and filter, the filter is ``w: (5, 5)`` with everything outside its
    top-left ``f``×``f`` block masked to 0, and the output is gathered at the strided positions
    into an ``(m, m)`` array (``m = n + 2 P_max``, the largest output); unused cells are NaN.
    """
    n, P, F = x.shape[0], _SLIDE_MAX_P, _SLIDE_MAX_F
    canvas = jnp.pad(x, ((P, P + F), (P, P + F)))  # (n + 2P + F, n + 2P + F)
    rows = jnp.arange(F)
    wm = jnp.where((rows[:, None] < f) & (rows[None, :] < f), w, 0.0)
    corr = jax.lax.conv_general_dilated(
        canvas[None, :, :, None], wm[:, :, None, None], (1, 1), "VALID", dimension_numbers=cnn._DIMS
    )[0, :, :, 0]  # (n + 2P + 1, n + 2P + 1): every top-left corner in canvas coordinates
    m = n + 2 * P
    n_out = (n + 2 * p - f) // s + 1  # floor, as lax does when the stride does not fit
    # output (i, j) of the p-padded input starts at canvas index P - p + s*i
    idx = jnp.clip(P - p + s * jnp.arange(m), 0, corr.shape[0] - 1)
    out = corr[idx][:, idx]
    used = jnp.arange(m) < n_out
    return jnp.where(used[:, None] & used[None, :], out, jnp.nan), n_out


def conv_slider_cache_size() -> int:
    """How many times the slider's jitted map has been compiled (should stay 1 per input size)."""
    return _slide_map._cache_size()


class SlideResult(NamedTuple):
    """One setting of :func:`conv_slider`: the padded input, the filter and the output map."""

    padded: np.ndarray  # (n + 2p, n + 2p)
    filter: np.ndarray  # (f, f)
    out: np.ndarray  # (n_out, n_out)
    f: int
    padding: int
    stride: int
    exact: bool  # (n + 2p - f) / s is an integer (else the last rows/columns are dropped)

    def products(self, t: int) -> tuple[tuple[int, int], list[tuple[float, float]], float]:
        """Output cell ``t`` (row-major): its (row, column), the non-zero products, the sum."""
        k = self.out.shape[1]
        i, j = divmod(int(t), k)
        r0, c0 = i * self.stride, j * self.stride
        patch = self.padded[r0 : r0 + self.f, c0 : c0 + self.f]
        pairs = [
            (float(a), float(b))
            for a, b in zip(patch.ravel(), self.filter.ravel(), strict=True)
            if a * b
        ]
        return (i, j), pairs, float((patch * self.filter).sum())


def conv_slider(x: Array | None = None, w: Array | None = None) -> Demo:
    r"""Slide a filter over a small input: filter size, padding, stride, and which output cell.

    Left, the zero-padded input with the filter's current window (its receptive field); right,
    the output map filling in, cell by cell, with $(n + 2p - f)/s + 1$ in the title and the
    products that make the current cell underneath (Aggarwal §8.2, Fig 8.2; §8.2.1–8.2.2).

    ``x: (n, n)`` defaults to the 7×7 input of Fig 8.2; ``w: (5, 5)`` to a filter whose top-left
    3×3 block is Fig 8.2's; filter size ``f`` uses the top-left ``f``×``f`` block. Filter size,
    padding and stride are traced arguments of one jitted function
    (:func:`conv_slider_cache_size`); the step ``t`` only redraws.
    """
    x = np.asarray(cnn.FIG_8_2_INPUT if x is None else x, dtype=np.float64)
    if w is None:
        w = np.array(
            [[1, 0, 1, 0, 1], [1, 0, 0, 1, 0], [0, 0, 2, 0, 0], [0, 1, 0, 1, 0], [1, 0, 0, 0, 1]],
            dtype=float,
        )
    w = np.asarray(w, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] != x.shape[1]:
        raise ValueError(f"`x` must be a square (n, n) image, got shape {x.shape}.")
    if w.shape != (_SLIDE_MAX_F, _SLIDE_MAX_F):
        raise ValueError(f"`w` must have shape (5, 5), got {w.shape}.")
    n = x.shape[0]
    xj, wj = jnp.asarray(x, jnp.float32), jnp.asarray(w, jnp.float32)

    def compute(f: int, padding: int, stride: int) -> SlideResult:
        full, n_out = _slide_map(xj, wj, jnp.int32(f), jnp.int32(padding), jnp.int32(stride))
        n_out = int(n_out)
        return SlideResult(
            np.pad(x, padding),
            w[:f, :f],
            np.asarray(full)[:n_out, :n_out],
            f,
            padding,
            stride,
            (n + 2 * padding - f) % stride == 0,
        )

    def after_compute(demo: Demo, res: SlideResult) -> None:
        last = res.out.size - 1
        demo.controls["t"].max = max(last, 0)
        demo.controls["t"].value = min(demo.controls["t"].value, last)

    def draw(res: SlideResult, values: dict[str, Any]) -> Figure:
        fig, (ax, ax2) = plt.subplots(
            1, 2, figsize=(9.0, 4.6), gridspec_kw={"width_ratios": [1.0, 0.8]}
        )
        fig.subplots_adjust(left=0.02, right=0.98, bottom=0.17, top=0.86, wspace=0.08)
        if res.out.size == 0:
            ax.set_title("the filter is larger than the padded input")
            return fig
        t = min(int(values["t"]), res.out.size - 1)
        (i, j), pairs, total = res.products(t)
        N, p, f, s = res.padded.shape[0], res.padding, res.f, res.stride
        inside = np.zeros((N, N), bool)
        inside[p : N - p, p : N - p] = True
        ax.imshow(np.where(inside, 1.0, 0.8), cmap="gray", vmin=0, vmax=1)
        for r in range(N):
            for c in range(N):
                ax.text(
                    c,
                    r,
                    f"{res.padded[r, c]:g}",
                    ha="center",
                    va="center",
                    fontsize=9,
                    color="k" if inside[r, c] else "0.45",
                )
        r0, c0 = i * s, j * s
        ax.add_patch(
            plt.Rectangle(
                (c0 - 0.5, r0 - 0.5), f, f, fill=True, fc="#ff7f0e", alpha=0.3, ec="#d62728", lw=2.5
            )
        )
        for r in range(f):
            for c in range(f):
                ax.text(
                    c0 + c + 0.32,
                    r0 + r + 0.3,
                    f"×{res.filter[r, c]:g}",
                    ha="center",
                    va="center",
                    fontsize=6.5,
                    color="#d62728",
                )
        ax.set_title(
            f"input {N - 2 * p}×{N - 2 * p}, padding {p} (grey), filter {f}×{f}", fontsize=10
        )
        k = res.out.shape[0]
        shown = np.full(res.out.shape, np.nan)
        shown.ravel()[: t + 1] = res.out.ravel()[: t + 1]
        ax2.imshow(np.zeros_like(shown), cmap="gray", vmin=-1, vmax=0)
        for r in range(k):
            for c in range(k):
                if np.isfinite(shown[r, c]):
                    ax2.text(c, r, f"{shown[r, c]:g}", ha="center", va="center", fontsize=9)
        ax2.add_patch(
            plt.Rectangle(
                (j - 0.5, i - 0.5), 1, 1, fill=True, fc="#ff7f0e", alpha=0.3, ec="#d62728", lw=2.5
            )
        )
        n0 = N - 2 * p
        frac = (n0 + 2 * p - f) / s + 1
        note = "" if res.exact else f" = {frac:.3g}, rounded down:"
        ax2.set_title(f"output ({n0} + 2·{p} − {f})/{s} + 1{note} {k}×{k}", fontsize=10)
        for a, size in ((ax, N), (ax2, k)):
            for v in np.arange(size + 1) - 0.5:
                a.axhline(v, color="0.6", lw=0.8)
                a.axvline(v, color="0.6", lw=0.8)
            a.set_xlim(-0.5, size - 0.5)
            a.set_ylim(size - 0.5, -0.5)
            a.grid(False)
            a.set_xticks([])
            a.set_yticks([])
            for side in a.spines.values():
                side.set_visible(True)
        terms = " + ".join(f"{a:g}·{b:g}" for a, b in pairs) or "0"
        if len(terms) > 90:
            terms = terms[:87] + "..."
        fig.text(0.5, 0.05, f"output[{i}, {j}] = {terms} = {total:g}", ha="center", fontsize=10)
        return fig

    slider = {"continuous_update": False}
    controls = {
        "f": W.IntSlider(value=3, min=1, max=_SLIDE_MAX_F, description="filter f", **slider),
        "padding": W.IntSlider(value=0, min=0, max=_SLIDE_MAX_P, description="padding p", **slider),
        "stride": W.IntSlider(value=1, min=1, max=3, description="stride s", **slider),
        "t": W.IntSlider(value=0, min=0, max=24, description="step"),
    }
    play = W.Play(value=0, min=0, max=24, step=1, interval=600, description="play")
    W.jslink((play, "value"), (controls["t"], "value"))
    W.jslink((controls["t"], "max"), (play, "max"))
    return Demo(
        controls, compute, draw, redraw_only={"t"}, after_compute=after_compute, extra=[play]
    )


# --------------------------------------------------------------------------------------------
# Chapter 7a (ch07a_rnn_basics): the spectral radius of W_hh against the gradient through time.


def spectral_radius_explorer(
    *, hidden: int = 16, steps: int = 40, input_dim: int = 3, output_dim: int = 5, seed: int = 0
) -> Demo:
    r"""Move the spectral radius $\rho$ of $W_{hh}$ and its non-normal part $s$; see
    $\|\partial h_T/\partial h_t\|_2$ by step.

    One fixed random RNN (input and output weights, a random input sequence and targets) whose
    recurrent matrix is $W_{hh} = \rho\,Q + s\,N$ (:func:`course_lib.rnn.nonnormal_parts`:
    $Q$ orthogonal, $N$ nilpotent in $Q$'s Schur basis), so its spectral radius is $\rho$ for
    every $s$; $s = 0$ gives a normal matrix. Draws the Jacobian-product norms for the linear
    and the tanh recurrence on a log scale, with the long-run law $\rho^{T-t}$ and the bound
    $\|W_{hh}\|_2^{T-t}$, and reports the BPTT gradient norm $\|\nabla_{W_{hh}}L\|_F$
    (:func:`course_lib.rnn.gradient_profile`, $\rho$ and $s$ traced: moving a slider never
    recompiles).
    """
    k = jax.random.split(jax.random.key(seed), 4)
    params = rnn.init(key=k[0], input_dim=input_dim, hidden_dim=hidden, output_dim=output_dim)
    W_unit, N_unit = rnn.nonnormal_parts(key=k[1], size=hidden)
    xs = jax.random.normal(k[2], (steps, input_dim))
    targets = jax.random.randint(k[3], (steps,), 0, output_dim)

    def compute(rho: float, shear: float = 0.0) -> Any:
        prof = rnn.gradient_profile(params, W_unit, xs, targets, rho, N_unit=N_unit, shear=shear)
        return jax.tree.map(np.asarray, prof)

    def draw(prof: Any, values: dict[str, Any]) -> Figure:
        rho = values["rho"]
        fig, (ax,) = plotting.figure(1, width=6.0, height=3.6)
        plotting.jacobian_norms(ax, {"linear": prof.linear, "tanh": prof.tanh})
        back = np.arange(steps + 1).astype(float)
        ax.plot(back, np.maximum(rho**back, 1e-30), "k:", lw=1, label="$\\rho^{T-t}$")
        bound = np.minimum(float(prof.spectral_norm) ** back, 1e30)
        ax.plot(back, np.maximum(bound, 1e-30), "k--", lw=0.8, label="$\\|W_{hh}\\|_2^{T-t}$")
        ax.legend(fontsize=8)
        ax.set_ylim(1e-12, 1e12)
        ax.set_title(
            f"$\\rho = {rho:.2f}$, $\\|W_{{hh}}\\|_2$ = {float(prof.spectral_norm):.2f}: "
            f"$\\|\\partial h_T/\\partial h_0\\|$ = {prof.linear[0]:.2g} (linear), "
            f"{prof.tanh[0]:.2g} (tanh); "
            f"$\\|\\nabla_{{W_{{hh}}}}L\\|$ = {float(prof.grad_norm):.3g}",
            fontsize=9,
        )
        return fig

    controls = {
        "rho": W.FloatSlider(
            value=0.9,
            min=0.1,
            max=2.0,
            step=0.05,
            description="ρ(W_hh)",
            readout_format=".2f",
            continuous_update=False,
        ),
        "shear": W.FloatSlider(
            value=0.0,
            min=0.0,
            max=2.0,
            step=0.1,
            description="non-normal s",
            readout_format=".1f",
            continuous_update=False,
            style={"description_width": "initial"},
        ),
    }
    demo = Demo(controls, compute, draw)
    demo.params, demo.W_unit, demo.N_unit = params, W_unit, N_unit
    demo.xs, demo.targets = xs, targets
    return demo


# --------------------------------------------------------------------------------------------
# ch08b_cnn_training: what a trained CNN looks at (prediction, saliency, occlusion).


class DigitView(NamedTuple):
    """One test digit as the CNN sees it: the (occluded) image ``(H, W)``, its label, the
    predicted class probabilities ``(n_classes,)`` and the saliency map ``(H, W)``."""

    image: Array
    label: Array
    probs: Array
    saliency: Array


@jax.jit
def _inspect_digit(params, images, labels, index, row, col, patch):
    x = jax.lax.dynamic_index_in_dim(images, index, keepdims=True)
    label = jax.lax.dynamic_index_in_dim(labels, index, keepdims=True)
    x = cnn.occlude(x, row, col, patch)
    probs = jax.nn.softmax(cnn.apply(params, x)[0])
    sal = cnn.saliency(params, x, label)[0]
    return DigitView(x[0, :, :, 0], label[0], probs, sal)


def inspect_digit_cache_size() -> int:
    """Compiled versions of the digit inspector's jitted function (one per data shape)."""
    return _inspect_digit._cache_size()


def digit_inspector(params: Any, images: Any, labels: Any) -> Demo:
    r"""Pick a test digit and blank a square patch of it; see the CNN's class probabilities and
    its saliency map $|\partial f_c/\partial x|$ (:func:`course_lib.cnn.saliency`,
    :func:`course_lib.cnn.occlude`).

    ``images``: ``(n, H, W, 1)``; ``labels``: ``(n,)`` ints. The digit index, the patch's
    position and its size (0 = no patch) are traced arguments of one jitted function: moving
    any control never recompiles.
    """
    images = cnn._images("images", images)
    labels = jnp.asarray(labels)
    n, height, width = images.shape[:3]

    def compute(index: int, row: int, col: int, patch: int) -> DigitView:
        ints = (jnp.asarray(v, jnp.int32) for v in (index, row, col, patch))  # one dtype
        view = _inspect_digit(params, images, labels, *ints)
        return jax.tree.map(np.asarray, view)

    def draw(view: DigitView, values: dict[str, Any]) -> Figure:
        fig, (ax, ax2, ax3) = plotting.figure(3, width=3.0, height=3.0)
        ax.imshow(view.image, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
        p = values["patch"]
        if p:
            r, c = values["row"], values["col"]
            ax.add_patch(plt.Rectangle((c - 0.5, r - 0.5), p, p, fill=False, ec="tab:red", lw=2))
        ax.set_title(f"test digit {values['index']} (label {int(view.label)})", fontsize=9)
        ax2.imshow(view.saliency, cmap="hot", interpolation="nearest")
        ax2.set_title("saliency $|\\partial f_c / \\partial x|$", fontsize=9)
        for a in (ax, ax2):
            a.set_xticks([])
            a.set_yticks([])
            a.grid(False)
        colors = ["tab:gray"] * len(view.probs)
        colors[int(view.label)] = "tab:green"
        ax3.bar(np.arange(len(view.probs)), view.probs, color=colors)
        ax3.set_xticks(np.arange(len(view.probs)))
        ax3.set_ylim(0, 1)
        guess = int(np.argmax(view.probs))
        ax3.set_title(f"predicted {guess} (p = {view.probs[guess]:.2f})", fontsize=9)
        ax3.set_xlabel("class")
        return fig

    controls = {
        "index": W.IntSlider(value=0, min=0, max=n - 1, description="digit"),
        "row": W.IntSlider(value=2, min=0, max=height - 1, description="patch row"),
        "col": W.IntSlider(value=2, min=0, max=width - 1, description="patch col"),
        "patch": W.IntSlider(value=0, min=0, max=max(height, width) // 2, description="patch size"),
    }
    return Demo(controls, compute, draw)


# --------------------------------------------------------------------------------------------
# ch07b_lstm_language_models: temperature sampling from a trained character-level LSTM.


class TemperatureView(NamedTuple):
    """What :func:`temperature_explorer` shows for one temperature and seed."""

    probs: np.ndarray  # (V,) softmax(z / T) of the character after the prompt
    entropy: float  # its entropy in nats
    text: str  # a sampled continuation of the prompt


def temperature_explorer(
    params: rnn.LSTMParams,
    vocab: language_model.Vocab,
    prompt: str,
    *,
    length: int = 200,
) -> Demo:
    r"""Move the temperature $T$: see $\mathrm{softmax}(z/T)$ of the next character and a sample.

    Controls: ``temperature`` (log slider, 0.1 to 3) and ``seed`` (the sampling key). The
    temperature is a traced argument of the jitted sampler: moving it never recompiles
    (:func:`course_lib.language_model.decoding_cache_size`).
    """
    prompt_ids = language_model.encode(vocab, prompt)

    def compute(temperature: float, seed: int) -> TemperatureView:
        probs = language_model.next_char_probs(params, prompt_ids, temperature)
        toks = language_model.sample(
            params, prompt_ids, key=jax.random.key(seed), length=length, temperature=temperature
        )
        return TemperatureView(
            np.asarray(probs),
            float(language_model.entropy(probs)),
            language_model.decode(vocab, toks),
        )

    def draw(view: TemperatureView, values: dict[str, Any]) -> Figure:
        fig = plt.figure(figsize=(9.0, 5.6), layout="constrained")
        ax, ax2 = fig.subplots(2, 1, height_ratios=[1.0, 1.2])
        plotting.next_char_bars(
            ax,
            view.probs,
            vocab.chars,
            title=f"next character after {prompt[-32:]!r}: T = {values['temperature']:.2f}, "
            f"entropy {view.entropy:.2f} nats",
        )
        plotting.text_panel(ax2, prompt + view.text, title=f"a sample (seed {values['seed']})")
        return fig

    controls = {
        "temperature": W.FloatLogSlider(
            value=1.0,
            base=10,
            min=-1,
            max=np.log10(3.0),
            step=0.05,
            description="T",
            readout_format=".2f",
            continuous_update=False,
        ),
        "seed": W.IntSlider(value=0, min=0, max=20, description="seed", continuous_update=False),
    }
    return Demo(controls, compute, draw)
