"""How fast does every widget of the course answer, and does moving it ever recompile?

    .venv/bin/python benchmarks/bench_widgets.py [--repeats 20]

For each widget, built as its notebook builds it, the script moves one control through
``--repeats`` new values, the way a student drags a slider, and times each change twice:

- *compute*: the widget's ``compute`` (the jitted numbers: what a slider move costs JAX);
- *compute + draw*: ``compute``, then ``draw`` and rendering the matplotlib figure to pixels
  (``fig.canvas.draw()``), i.e. everything but the browser's round trip.

The first change is a warm-up and is not timed. Compilations are counted with JAX's own
monitoring hook (every backend compile fires ``/jax/core/compile/backend_compile_duration``)
over all the timed changes: it must be 0. Prints a Markdown table: median and min-max in ms.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import matplotlib

matplotlib.use("Agg")

import ipywidgets  # noqa: E402
import jax  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

from course_lib import cnn, data, mlp, widgets  # noqa: E402
from course_lib import language_model as lm  # noqa: E402

_COMPILES = 0


def _count(event: str, duration: float, **kwargs: Any) -> None:
    global _COMPILES
    if event == "/jax/core/compile/backend_compile_duration":
        _COMPILES += 1


jax.monitoring.register_event_duration_secs_listener(_count)


def _cases() -> list[tuple[str, Callable[[], widgets.Demo], str, list[Any]]]:
    """(name, how the notebook builds it, the control moved, values) for every widget."""
    digits = data.digits()
    three = data.blobs(key=jax.random.key(1), n=150)
    k1, k2, k3 = jax.random.split(jax.random.key(2), 3)
    net = mlp.init((4, 5, 3), key=k1, scheme="normal", scale=0.8)
    X_gc = jax.random.normal(k2, (6, 4))
    y_gc = jax.random.randint(k3, (6,), 0, 3)
    # chapters 7 and 8 train their models in the notebook; an untrained model of the same shape
    # costs a slider move the same
    text = data.english_text()
    vocab = lm.build_vocab(text)
    char_lstm = lm.init(key=jax.random.key(4), vocab_size=vocab.size, hidden_dim=128)
    images = cnn.as_images(digits.X[:449])
    lenet = cnn.init(jax.random.key(5), image_size=8)
    return [
        (
            "ch01 margin explorer",
            widgets.margin_explorer,
            "margin",
            [0.02 + 0.01 * i for i in range(40)],
        ),
        (
            "ch01 activation explorer",
            widgets.activation_explorer,
            "weight",
            [0.5 + 0.1 * i for i in range(40)],
        ),
        (
            "ch02a multiclass explorer",
            lambda: widgets.multiclass_explorer(three.X, three.y, key=jax.random.key(3), epochs=20),
            "lam",
            [10 ** (-4 + 0.1 * i) for i in range(40)],
        ),
        (
            "ch02b code-size explorer",
            lambda: widgets.code_size_explorer(digits.X[:600]),
            "k",
            [1 + i % 16 for i in range(40)],
        ),
        (
            "ch03a gradient-check explorer",
            lambda: widgets.gradcheck_explorer(net, X_gc, y_gc, activation="tanh", eps=1e-5),
            "eps",
            [10 ** (-12 + 0.25 * i) for i in range(40)],
        ),
        (
            "ch03b optimizer race",
            widgets.optimizer_race,
            "lr",
            [0.01 + 0.006 * i for i in range(40)],
        ),
        (
            "ch03c depth explorer",
            lambda: widgets.depth_explorer(max_depth=30, width=64),
            "gain",
            [0.5 + 0.05 * i for i in range(40)],
        ),
        (
            "ch07a spectral-radius explorer",
            widgets.spectral_radius_explorer,
            "rho",
            [0.5 + 0.025 * i for i in range(40)],
        ),
        (
            "ch07b temperature explorer",
            lambda: widgets.temperature_explorer(char_lstm, vocab, "The for statement is used to "),
            "temperature",
            [0.2 + 0.05 * i for i in range(40)],
        ),
        (
            "ch08a sliding filter",
            widgets.conv_slider,
            "f",
            [1 + i % 5 for i in range(1, 41)],
        ),
        (
            "ch08b digit inspector",
            lambda: widgets.digit_inspector(lenet, images, digits.y[:449]),
            "index",
            list(range(1, 41)),
        ),
    ]


def _values_for(demo: widgets.Demo, control: str, value: Any) -> dict[str, Any]:
    values = demo.compute_values()
    values[control] = value
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)

    print(
        f"# Widget latency ({platform.machine()}, {os.cpu_count()} CPUs, jax {jax.__version__}, "
        f"matplotlib {matplotlib.__version__}, Python {sys.version.split()[0]})"
    )
    print()
    print(
        "| widget | control | compute: median (min-max) ms "
        "| compute + draw: median (min-max) ms | compilations after the first change |"
    )
    print("| --- | --- | --- | --- | --- |")
    for name, build, control, values in _cases():
        with contextlib.redirect_stdout(io.StringIO()):  # outside Jupyter, display() prints
            demo = build()
        if control not in demo.controls:
            raise SystemExit(f"{name}: no control {control!r}; it has {sorted(demo.controls)}")
        widget = demo.controls[control]
        lo, hi = getattr(widget, "min", None), getattr(widget, "max", None)
        if isinstance(widget, ipywidgets.FloatLogSlider):  # its min and max are exponents
            lo, hi = widget.base**lo, widget.base**hi
        values = [v for v in values if (lo is None or v >= lo) and (hi is None or v <= hi)]
        values = values[: args.repeats + 1]
        demo.compute(**_values_for(demo, control, values[0]))  # warm-up
        before = _COMPILES
        compute_ms, total_ms = [], []
        for v in values[1:]:
            kwargs = _values_for(demo, control, v)
            t0 = time.perf_counter()
            result = demo.compute(**kwargs)
            jax.block_until_ready(result)
            compute_ms.append(1e3 * (time.perf_counter() - t0))
            t0 = time.perf_counter()
            result = demo.compute(**kwargs)
            fig = demo.draw(result, {**demo.values, **kwargs})
            fig.canvas.draw()
            plt.close(fig)
            total_ms.append(1e3 * (time.perf_counter() - t0))
        compiles = _COMPILES - before

        def fmt(xs: list[float]) -> str:
            return f"{statistics.median(xs):.3g} ({min(xs):.3g}-{max(xs):.3g})"

        print(
            f"| {name} | {control} | {fmt(compute_ms)} | {fmt(total_ms)} | {compiles} |", flush=True
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
