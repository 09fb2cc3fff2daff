"""Tests for course_lib.widgets.progress: a training progress bar that reads as a sentence
where the widget cannot be drawn, and whose saved output shows the finished run."""

import pytest

from course_lib.widgets import progress

VIEW = "application/vnd.jupyter.widget-view+json"
HINT = "(run the notebook to watch it train)"


class _Recorder:
    """Stands in for IPython's display(): records what was displayed and every update."""

    def __init__(self):
        self.shown, self.updates = [], []

    def __call__(self, obj, display_id=None):
        assert display_id is True, "the bar must ask for a display id, to update its output"
        self.shown.append(obj._repr_mimebundle_())
        recorder = self

        class Handle:
            def update(self, new):
                recorder.updates.append(new._repr_mimebundle_())

        return Handle()


def _train(bar, losses, accuracies):
    for epoch, (loss, acc) in enumerate(zip(losses, accuracies, strict=True), start=1):
        bar.update(epoch, loss=loss, accuracy=acc)


def test_plain_text_is_a_sentence_not_a_widget_repr():
    bar = progress.TrainingProgress("LeNet", 20, show=False)
    bundle = bar._repr_mimebundle_()
    assert bundle["text/plain"] == f"LeNet: 20 epochs of training {HINT}"
    assert bundle[VIEW]["model_id"] == bar.view.model_id
    assert "IntProgress" not in repr(bar) and repr(bar) == bundle["text/plain"]


def test_updates_move_the_bar_and_the_label():
    bar = progress.TrainingProgress("LeNet", 4, show=False)
    _train(bar, [2.0, 1.0], [0.5, 0.75])
    assert bar.bar.value == 2 and bar.bar.max == 4 and bar.bar.description == "LeNet"
    assert bar.note.value == "epoch 2: loss 1.000, test accuracy 0.750"
    assert bar.summary() == f"LeNet: epoch 2 of 4, loss 1.000, test accuracy 0.750 {HINT}"


def test_finish_keeps_the_final_state_and_has_no_timing_in_the_plain_text():
    bar = progress.TrainingProgress("shuffled", 3, metric="validation accuracy", show=False)
    _train(bar, [2.0, 0.5, 0.0123], [0.3, 0.8, 0.9784])
    bar.finish()
    assert bar.bar.value == 3 and bar.bar.bar_style == "success"
    assert bar.note.value.startswith("epoch 3: loss 0.012, validation accuracy 0.978 (")
    assert bar.note.value.endswith(" s)") and bar.seconds >= 0.0
    assert bar.summary() == f"shuffled: 3 epochs, loss 0.012, validation accuracy 0.978 {HINT}"
    assert " s)" not in bar.summary()


def test_accuracy_is_optional():
    bar = progress.TrainingProgress("MLP", 2, show=False)
    bar.update(2, loss=0.25)
    assert bar.summary() == f"MLP: 2 epochs, loss 0.250 {HINT}"


def test_the_saved_output_is_updated_to_the_final_sentence(monkeypatch):
    recorder = _Recorder()
    monkeypatch.setattr(progress._ipy_display, "display", recorder)
    bar = progress.TrainingProgress("LeNet", 2)
    _train(bar, [1.5, 0.5], [0.6, 0.9])
    assert len(recorder.shown) == 1 and recorder.updates == []  # epochs move the widget only
    assert recorder.shown[0]["text/plain"] == f"LeNet: 2 epochs of training {HINT}"
    bar.finish()
    (final,) = recorder.updates
    assert final["text/plain"] == f"LeNet: 2 epochs, loss 0.500, test accuracy 0.900 {HINT}"
    assert final[VIEW] == recorder.shown[0][VIEW]  # the same widget, not a new one


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"label": "", "epochs": 3}, "label"),
        ({"label": "LeNet", "epochs": 0}, "epochs"),
        ({"label": "LeNet", "epochs": 2.5}, "epochs"),
        ({"label": "LeNet", "epochs": 3, "metric": " "}, "metric"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, name):
    with pytest.raises((TypeError, ValueError), match=f"`{name}`"):
        progress.TrainingProgress(**kwargs, show=False)


@pytest.mark.parametrize(
    ("epoch", "loss", "accuracy", "name"),
    [
        (0, 1.0, 0.5, "epoch"),
        (4, 1.0, 0.5, "epoch"),
        (1, float("nan"), 0.5, "loss"),
        (1, 1.0, 1.5, "accuracy"),
    ],
)
def test_bad_updates_name_the_argument(epoch, loss, accuracy, name):
    bar = progress.TrainingProgress("LeNet", 3, show=False)
    with pytest.raises(ValueError, match=f"`{name}`"):
        bar.update(epoch, loss=loss, accuracy=accuracy)
    assert bar.bar.value == 0 and bar.epoch == 0  # a rejected update changes nothing
