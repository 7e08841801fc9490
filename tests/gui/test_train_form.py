"""The Train form's expert options (issues 14 and 16): where they show, what presets put
in them, what a bad combination says, and that a real run records them."""

from __future__ import annotations

from dataclasses import replace

import pytest

from fgsm_studio.core.models.checkpoint import load
from fgsm_studio.core.runs.spec import RunRecord, RunSpec
from fgsm_studio.gui.train.options import NOTES, PRESETS, problem

NEW = ("augment", "attack_steps", "beta", "warmup_epochs", "stem")


@pytest.fixture
def form(qtbot):
    from fgsm_studio.gui.train.form import TrainForm

    f = TrainForm()
    qtbot.addWidget(f)
    f.show()
    return f


@pytest.fixture
def view(qtbot, settings):
    from fgsm_studio.gui.train.view import TrainView

    v = TrainView(settings)
    qtbot.addWidget(v)
    v.show()
    yield v
    assert v.shutdown(60000)


def _pick(box, value) -> None:
    box.setCurrentIndex(box.findData(value))
    assert box.currentData() == value


def shown(form) -> set[str]:
    """The new expert options whose field and note are both visible."""
    notes = {w.text(): w for w, _ in form.expert.rows if hasattr(w, "wordWrap")}
    return {k for k in NEW if getattr(form, k).isVisible() and notes[NOTES[k]].isVisible()}


def test_expert_options_show_only_where_they_apply(form, qtbot):
    assert shown(form) == set() and form.expert.summary.isVisible()  # closed: a one-line summary
    assert "augmentation auto (digits)" in form.expert.summary.text()
    form.expert.button.click()
    assert not form.expert.summary.isVisible() and form.lr.isVisible()
    # WR_FGSM on the small CNN: no attack steps, no beta, no stem to choose
    assert shown(form) == {"augment", "warmup_epochs"}
    _pick(form.defense, "pgd")
    assert shown(form) == {"augment", "warmup_epochs", "attack_steps"}
    _pick(form.defense, "trades")
    assert shown(form) == {"augment", "warmup_epochs", "attack_steps", "beta"}
    for arch in ("mobilenet_v2", "resnet50", "densenet121"):
        form.arch.setCurrentText(arch)
        assert "stem" in shown(form)
    _pick(form.defense, "none")  # no attack in training: no warm-up either
    assert shown(form) == {"augment", "stem"}
    for key in NEW:  # each explained in a line and, at more length, in its tooltip
        assert getattr(form, key).toolTip() and len(NOTES[key]) <= 90
    form.expert.button.click()
    assert shown(form) == set() and "stem auto" in form.expert.summary.text()


def test_presets_fill_the_expert_options(form):
    form.preset.setCurrentText("Strongest defense we have")
    t = form.job().spec.train  # PGD training on varied digits, as the bundled PGD-AT model
    assert (t.defense, t.a1, t.augment, t.attack_steps, t.select_by) == (
        "pgd",
        1.0,
        "digits",
        10,
        "pgd",
    )
    assert "augmentation digits, 10 attack steps" in form.expert.summary.text()
    form.preset.setCurrentText("The paper's WR_FGSM")
    t = form.job().spec.train
    assert (t.defense, t.augment, t.warmup_epochs) == ("wr_fgsm", "none", 0.0)
    form.warmup_epochs.setValue(3)
    form.preset.setCurrentText("Quick look: about a minute")
    t = form.job().spec.train
    assert (t.augment, t.warmup_epochs, t.epochs) == ("auto", 0.0, 3)
    for p in PRESETS.values():
        assert set(NEW[:-1]) <= set(p)


def test_augment_auto_says_what_it_is_for_the_dataset(form):
    assert form.augment.currentData() == "auto"  # on by default
    assert form.augment.itemText(0) == "auto: digits for this dataset"
    form.dataset.setCurrentIndex(3)  # CIFAR-10
    assert form.augment.itemText(0) == "auto: photos for this dataset"


def test_options_that_do_not_apply_stay_at_their_defaults(form):
    """A hidden field never changes the run (nor its record's key)."""
    _pick(form.defense, "trades")
    form.beta.setValue(2.0)
    form.attack_steps.setValue(3)
    form.warmup_epochs.setValue(1.5)
    _pick(form.stem, "half")
    t = form.job().spec.train
    assert (t.beta, t.attack_steps, t.warmup_epochs, t.stem) == (2.0, 3, 1.5, "auto")
    form.arch.setCurrentText("resnet50")
    assert form.job().spec.train.stem == "half"
    _pick(form.defense, "pgd")
    t = form.job().spec.train
    assert (t.beta, t.attack_steps, t.stem) == (6.0, 3, "half")
    _pick(form.defense, "none")
    t = form.job().spec.train
    assert (t.attack_steps, t.warmup_epochs) == (10, 0.0)


def test_each_bad_combination_is_one_sentence():
    ok = RunSpec.of(defense="pgd", epsilon=0.1, epochs=5)
    assert problem(ok) is None
    bad = {
        "warm-up": RunSpec.of(defense="pgd", epochs=2, warmup_epochs=3),
        "above 0": RunSpec.of(defense="trades", epsilon=0.0),
        "flips": RunSpec.of(augment="photos", dataset="mnist-5k"),
        "cannot train": RunSpec.of(arch="small_cnn", stem="half"),
    }
    for words, spec in bad.items():
        said = problem(spec)
        assert words in said and said.endswith(".") and said.count(". ") == 0, said
    assert problem(RunSpec.of(augment="photos", dataset="cifar10", root="/x")) is None
    assert "Browse" in problem(RunSpec.of(dataset="cifar10"), needs_folder=True)


def test_a_bad_combination_starts_nothing_and_says_why(view, qtbot):
    f = view.form
    _pick(f.defense, "pgd")
    f.epochs.setValue(2)
    f.warmup_epochs.setValue(3)
    view.train_button.click()
    assert not view.running and not view.queue
    assert view.status.text().startswith("Not started: the epsilon warm-up (3 epochs)")
    f.warmup_epochs.setValue(0)
    _pick(f.augment, "photos")
    view.sweep_button.click()  # the sweep is checked too: five runs, none started
    assert not view.running and not view.queue and "flips" in view.status.text()
    assert view.log.toPlainText().count("Not started") == 2


def test_a_real_run_from_the_form_records_the_expert_options(view, qtbot):
    """Issue 16.1/16.2: the options reach the RunSpec, the record, the card, the saved results."""
    from fgsm_studio.core.runs.record_store import RecordStore

    f = view.form
    f.dataset.setCurrentIndex(0)
    _pick(f.defense, "trades")
    _pick(f.augment, "digits")
    f.attack_steps.setValue(2)
    f.beta.setValue(3.0)
    f.warmup_epochs.setValue(0.5)
    f.epochs.setValue(1)
    f.limit.setValue(200)
    _pick(f.device, "cpu")
    with qtbot.waitSignal(view.run_ended, timeout=180000) as done:
        view.train_button.click()
    how, _, record = done.args
    assert how == "finished" and isinstance(record, RunRecord)
    want = {"defense": "trades", "augment": "digits", "attack_steps": 2, "beta": 3.0}
    want |= {"warmup_epochs": 0.5, "stem": "auto"}
    t = record.spec.train
    assert {k: getattr(t, k) for k in want} == want
    _, card = load(record.saved_to)
    assert {k: card.training[k] for k in want} == want
    again = RecordStore(view.state.store.folder)  # the results as they come back after a restart
    again.load()
    assert {k: getattr(again.records[-1].spec.train, k) for k in want} == want


@pytest.mark.slow
def test_a_real_run_of_a_big_network_records_its_stem(view, qtbot):
    f = view.form
    f.dataset.setCurrentIndex(0)
    f.arch.setCurrentText("mobilenet_v2")
    _pick(f.defense, "none")
    _pick(f.stem, "half")
    f.epochs.setValue(1)
    f.limit.setValue(100)
    _pick(f.device, "cpu")
    job = f.job()
    with qtbot.waitSignal(view.run_ended, timeout=600000) as done:
        view.enqueue(replace(job, spec=replace(job.spec, eval_limit=50)))  # a quick evaluation
    how, _, record = done.args
    assert how == "finished" and record.spec.train.stem == "half"
    model, card = load(record.saved_to)
    assert card.training["stem"] == "half" and card.training["arch"] == "mobilenet_v2"


@pytest.fixture
def train_tab(qtbot, settings, settle):
    """The main window sized for a 1280x720 screen, on its Train tab."""
    from PySide6.QtCore import QRect

    from fgsm_studio.gui.main_window import MainWindow, fitted_size

    win = MainWindow(settings)
    qtbot.addWidget(win)
    win.resize(fitted_size(QRect(0, 0, 1280, 720)))
    win.show()
    win.finish_setup()
    with qtbot.waitSignal(win.explorer.frame_rendered, timeout=60000):
        pass
    qtbot.waitUntil(lambda: win.explorer.idle, timeout=30000)
    win.tabs.setCurrentWidget(win.trainer)
    settle(win)
    yield win
    win.shutdown()


def test_the_form_fits_1280x720_closed_and_scrolls_to_its_expert_rows(train_tab, qtbot, settle):
    from PySide6.QtWidgets import QScrollArea

    from tests.gui.test_fits_screen import box, outside

    assert outside(train_tab) == []  # closed, every control is on screen without scrolling
    f = train_tab.trainer.form
    f.arch.setCurrentText("resnet50")
    _pick(f.defense, "trades")  # every expert row applies
    f.expert.button.click()
    scroll = train_tab.trainer.findChild(QScrollArea)
    qtbot.waitUntil(lambda: scroll.verticalScrollBar().value() > 0, timeout=2000)
    assert box(f.expert.button, train_tab).top() >= box(scroll.viewport(), train_tab).top()
    assert scroll.horizontalScrollBar().maximum() == 0  # never sideways
    for key in NEW:  # each can be scrolled to, and then lies wholly on screen
        scroll.ensureWidgetVisible(getattr(f, key))
        settle(train_tab)
        field = box(getattr(f, key), train_tab)
        assert box(scroll.viewport(), train_tab).contains(field) and train_tab.rect().contains(
            field
        )
