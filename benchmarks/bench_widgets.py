"""How fast does every widget of the course answer, and does moving it ever recompile?

    .venv/bin/python benchmarks/bench_widgets.py [--repeats 20] [--only NAME]

Each widget is built as its notebook builds it (chapters 7 and 8 with untrained models of the
same shapes: a slider move costs the same). Then every one of its controls in turn is moved
through ``--repeats`` new values, the others left at their defaults, and each move is timed
three ways, interleaved:

- *compute*: the widget's ``compute`` alone (the jitted numbers; blank for a control that
  only redraws);
- *set*: ``demo.set(control=value)``, what the kernel spends on one slider move: compute,
  update the animated artists, render (the cached static part plus the animated artists),
  encode the JPEG frame;
- *full redraw*: the same move after ``live.invalidate()``, so matplotlib lays out and
  rasterises the whole figure: the cost of the old way of drawing (a new figure per move cost
  more still), the baseline of the ratio column, measured in the same process.

The first move of each control is a warm-up and is not timed. Compilations are counted with
JAX's own monitoring hook (every backend compile fires
``/jax/core/compile/backend_compile_duration``) over all the timed moves: it must be 0.
Prints a Markdown table: median (min-max) in ms, and full redraw / set as a ratio of medians.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import itertools
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
import numpy as np  # noqa: E402

from course_lib import cnn, data, mlp, plotting, widgets  # noqa: E402
from course_lib import language_model as lm  # noqa: E402

_COMPILES = 0


def _count(event: str, duration: float, **kwargs: Any) -> None:
    global _COMPILES
    if event == "/jax/core/compile/backend_compile_duration":
        _COMPILES += 1


jax.monitoring.register_event_duration_secs_listener(_count)


def _cases() -> dict[str, Callable[[], widgets.Demo]]:
    """How each notebook builds its widget, by the name the table shows."""
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
    return {
        "ch01 margin explorer": widgets.margin_explorer,
        "ch01 activation explorer": widgets.activation_explorer,
        "ch02a multiclass explorer": lambda: widgets.multiclass_explorer(
            three.X, three.y, key=jax.random.key(3), epochs=20
        ),
        "ch02b code-size explorer": lambda: widgets.code_size_explorer(digits.X[:600]),
        "ch03a gradient-check explorer": lambda: widgets.gradcheck_explorer(
            net, X_gc, y_gc, activation="tanh", eps=1e-5
        ),
        "ch03b optimizer race": widgets.optimizer_race,
        "ch03c depth explorer": lambda: widgets.depth_explorer(max_depth=30, width=64),
        "ch07a spectral-radius explorer": widgets.spectral_radius_explorer,
        "ch07b temperature explorer": lambda: widgets.temperature_explorer(
            char_lstm, vocab, "The for statement is used to "
        ),
        "ch08a sliding filter": widgets.conv_slider,
        "ch08b digit inspector": lambda: widgets.digit_inspector(lenet, images, digits.y[:449]),
    }


def _moves(control: ipywidgets.ValueWidget, count: int) -> list[Any]:
    """``count`` values for a control, each different from the one before (and the current),
    spread over its range as a student drags it."""
    current = control.value
    if isinstance(control, ipywidgets.Checkbox):
        pool = [not current, current]
    elif hasattr(control, "options"):  # Dropdown, ToggleButtons, ...
        pool = list(control.options)
        pool = [o[1] if isinstance(o, tuple) else o for o in pool]
    elif isinstance(control, ipywidgets.FloatLogSlider):  # its min and max are exponents
        pool = list(control.base ** np.linspace(control.min, control.max, 12))
    elif isinstance(control, ipywidgets.FloatSlider):
        pool = list(np.linspace(control.min, control.max, 12))
    elif isinstance(control, ipywidgets.IntSlider):
        pool = list(range(control.min, control.max + 1))
        if len(pool) > 12:
            pool = sorted({int(v) for v in np.linspace(control.min, control.max, 12)})
    else:  # a control of the widget's own making: the table says it was not moved
        return []
    pool = [type(current)(v) if isinstance(current, (int, float)) else v for v in pool]
    out: list[Any] = []
    for v in itertools.cycle(pool):
        if len(out) == count:
            break
        if v != (out[-1] if out else current) and len(pool) > 1:
            out.append(v)
    return out


def _timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    jax.block_until_ready(fn())
    return 1e3 * (time.perf_counter() - t0)


def _fmt(xs: list[float]) -> str:
    if not xs:
        return "-"
    return f"{statistics.median(xs):.3g} ({min(xs):.3g}-{max(xs):.3g})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--only", default=None, help="only the widgets whose name contains this")
    args = parser.parse_args(argv)
    plotting.style()  # the notebooks' figure size and dpi

    print(
        f"# Widget latency ({platform.machine()}, {os.cpu_count()} CPUs, jax {jax.__version__}, "
        f"matplotlib {matplotlib.__version__}, Python {sys.version.split()[0]})"
    )
    print()
    print(
        "| widget | control | compute ms | set: compute + update + render + encode ms "
        "| full redraw ms | full redraw / set | compilations |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, build in _cases().items():
        if args.only and args.only not in name:
            continue
        with contextlib.redirect_stdout(io.StringIO()):  # outside Jupyter, display() prints
            demo = build()
        live = getattr(demo.view, "live", None)
        for control in list(demo.controls):
            moves = _moves(demo.controls[control], 2 * args.repeats + 1)
            if not moves:
                kind = type(demo.controls[control]).__name__
                print(f"| {name} | {control} | (a {kind}: not moved) | | | | |")
                continue
            recompute = control not in demo.redraw_only
            demo.set(**{control: moves[0]})  # warm-up
            before = _COMPILES
            compute_ms, set_ms, full_ms = [], [], []
            for k, v in enumerate(moves[1:]):
                move = {control: v}
                if recompute:
                    values = {**demo.compute_values(), **move}
                    compute_ms.append(_timed(functools.partial(demo.compute, **values)))
                if k % 2 == 1 and live is not None:
                    live.invalidate()  # interleaved: every other move pays for a whole figure
                    full_ms.append(_timed(functools.partial(demo.set, **move)))
                else:
                    set_ms.append(_timed(functools.partial(demo.set, **move)))
            compiles = _COMPILES - before
            ratio = (
                f"{statistics.median(full_ms) / statistics.median(set_ms):.2g}x"
                if full_ms and set_ms
                else "-"
            )
            print(
                f"| {name} | {control} | {_fmt(compute_ms)} | {_fmt(set_ms)} | {_fmt(full_ms)} "
                f"| {ratio} | {compiles} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
