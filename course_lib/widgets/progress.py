"""A progress bar for a training loop that also reads well in a notebook nobody has run.

:class:`TrainingProgress` shows an ipywidgets bar with one line of text beside it. The training
loop calls :meth:`~TrainingProgress.update` after every epoch and
:meth:`~TrainingProgress.finish` at the end::

    bar = progress.TrainingProgress("LeNet", epochs=20)
    ...  # after epoch e: bar.update(e, loss=..., accuracy=...)
    bar.finish()

Two things make it readable before the notebook is run, where a bare widget shows the repr
``HBox(children=(IntProgress(value=0, ...``:

- the bar and its label keep their final values, so the widget state that Jupyter saves with
  the notebook shows a finished run;
- its plain-text form, which JupyterLab shows when it cannot draw the widget (an untrusted
  notebook, a static web page, a terminal), is a sentence: ``LeNet: 20 epochs, loss 0.007,
  test accuracy 0.984 (run the notebook to watch it train)``. :meth:`finish` re-sends the
  output, so the saved notebook holds the final sentence rather than the one shown at the start.

Elapsed seconds appear in the live label only, never in the plain text (they differ between
machines and runs).
"""

from __future__ import annotations

import math
import time
from typing import Any

import ipywidgets as W
from IPython import display as _ipy_display

from course_lib import _validate

__all__ = ["TrainingProgress"]

_HINT = "(run the notebook to watch it train)"


class TrainingProgress:
    """A live progress bar for ``epochs`` epochs of training, labelled ``label``.

    Args:
        label: the name of the run, shown before the bar (e.g. ``"LeNet"``).
        epochs: the number of epochs the run will take (the bar's length).
        metric: what the ``accuracy`` passed to :meth:`update` measures (shown in the text).
        show: display the bar at once (in a notebook). ``False`` builds it without displaying,
            for tests or to display it later with ``display(bar)``.
    """

    def __init__(
        self, label: str, epochs: int, *, metric: str = "test accuracy", show: bool = True
    ) -> None:
        for name, value in (("label", label), ("metric", metric)):
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"`{name}` must be a non-empty string, got {value!r}.")
        self.label, self.metric = label.strip(), metric.strip()
        self.epochs = _validate.positive_int("epochs", epochs)
        self.epoch = 0
        self.loss: float | None = None
        self.accuracy: float | None = None
        self.seconds: float | None = None
        self.bar = W.IntProgress(value=0, min=0, max=self.epochs, description=self.label)
        self.note = W.Label(f"{self.epochs} epochs to go")
        self.view = W.HBox([self.bar, self.note], layout=W.Layout(flex_flow="row wrap"))
        self._start = time.perf_counter()
        self._handle = _ipy_display.display(self, display_id=True) if show else None

    def update(self, epoch: int, *, loss: float, accuracy: float | None = None) -> None:
        """Record that ``epoch`` (1-based) ended with mean training ``loss`` and ``accuracy``."""
        epoch = _validate.positive_int("epoch", epoch)
        if epoch > self.epochs:
            raise ValueError(f"`epoch` must be at most epochs={self.epochs}, got {epoch}.")
        loss = float(loss)
        if not math.isfinite(loss):
            raise ValueError(f"`loss` must be a finite number, got {loss}.")
        if accuracy is not None:
            accuracy = float(accuracy)
            if not 0.0 <= accuracy <= 1.0:
                raise ValueError(f"`accuracy` must lie in [0, 1], got {accuracy}.")
        self.epoch, self.loss, self.accuracy = epoch, loss, accuracy
        self.bar.value = epoch
        self.note.value = f"epoch {epoch}: {self._numbers()}"

    def finish(self) -> None:
        """End the run: the label gets the elapsed time, the bar turns green, and the saved
        output gets the final sentence (see the module note)."""
        self.seconds = time.perf_counter() - self._start
        self.note.value = f"epoch {self.epoch}: {self._numbers()} ({self.seconds:.1f} s)"
        self.bar.bar_style = "success"
        if self._handle is not None:
            self._handle.update(self)

    def summary(self) -> str:
        """The run in one sentence, without timings: the plain-text form of the bar."""
        if self.epoch == 0:
            return f"{self.label}: {self.epochs} epochs of training {_HINT}"
        done = (
            f"{self.epochs} epochs"
            if self.epoch == self.epochs
            else f"epoch {self.epoch} of {self.epochs}"
        )
        return f"{self.label}: {done}, {self._numbers()} {_HINT}"

    def _numbers(self) -> str:
        text = f"loss {self.loss:.3f}"
        if self.accuracy is not None:
            text += f", {self.metric} {self.accuracy:.3f}"
        return text

    def __repr__(self) -> str:
        return self.summary()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        # The widget view for a live kernel (or the saved widget state), and a sentence for
        # every front end that cannot draw widgets.
        return {
            "application/vnd.jupyter.widget-view+json": {
                "version_major": 2,
                "version_minor": 0,
                "model_id": self.view.model_id,
            },
            "text/plain": self.summary(),
        }
