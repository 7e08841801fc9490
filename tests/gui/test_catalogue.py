"""Issue 23, 1 and 2: every entry of core.catalogue reaches the CLI, the Train form, a card's
title and the report, and the CLI and the form refuse the same runs with the same sentence.

A new defense (or attack, dataset ...) is its catalogue entry plus its implementation:
these tests walk the entries, so they cover it without a line added here.
"""

from __future__ import annotations

import pytest

from fgsm_studio.core import catalogue
from fgsm_studio.core.cli import checks, options
from fgsm_studio.core.cli.main import main
from fgsm_studio.core.models.card import ModelCard
from fgsm_studio.core.reports.defenses import defense_name
from fgsm_studio.gui.explorer.card_words import plain_words, training_words

DEFENSES = [e.name for e in catalogue.entries("defense")]


@pytest.fixture
def form(qtbot):
    from fgsm_studio.gui.train.form import TrainForm

    f = TrainForm()
    qtbot.addWidget(f)
    return f


def _pick(box, value) -> None:
    box.setCurrentIndex(box.findData(value))
    assert box.currentData() == value, value


def _card(defense: str) -> ModelCard:
    return ModelCard(
        arch="small_cnn",
        num_classes=10,
        class_names=[str(i) for i in range(10)],
        in_channels=1,
        image_size=28,
        mean=[0.1],
        std=[0.3],
        dataset="mnist-5k",
        training={"defense": defense, "a1": 0.5, "a2": 0.5, "reg": "scaled", "epsilon": 0.1},
    )


@pytest.mark.parametrize("name", DEFENSES)
def test_every_defense_reaches_cli_form_card_and_report(name, form, tmp_path):
    e = catalogue.defense(name)
    # the CLI: train --defense, and reproduce --defenses for the defended ones
    parser = options.build_parser("x")
    args = parser.parse_args(["train", "--out", str(tmp_path / "m.safetensors"), "--defense", name])
    checks.check(args, parser)
    assert args.defense == name
    if e.has("defended"):
        args = parser.parse_args(["reproduce", "--out", str(tmp_path), "--defenses", name])
        assert name in args.defenses
    # the Train form: offered under its label, its job trains it and may start
    _pick(form.defense, name)
    assert form.defense.currentText() == e.label
    assert form.job(reserve=False).spec.train.defense == name
    assert form.problem() is None
    assert form.a1.isEnabled() == e.has("defended")
    # a card: its title and words say how it was trained
    card = _card(name)
    assert card.title().endswith(f"({e.title})")
    assert card.defended == e.has("defended")
    assert ("standard" in card.title()) != e.has("defended"), card.title()
    assert training_words(card).startswith(e.detail)
    assert "Recognises" in plain_words(card)
    # the report's defense table
    row = {"defense": name, "a1": 0.5, "a2": 0.5, "reg": "scaled"}
    assert defense_name(row) == e.report_name(**row) and defense_name(row)


def test_every_other_entry_reaches_the_cli_and_the_form(form, tmp_path):
    parser = options.build_parser("x")
    out = str(tmp_path / "m.safetensors")
    for kind, flag, box in (
        ("dataset", "--dataset", None),
        ("augment", "--augment", form.augment),
        ("stem", "--stem", form.stem),
        ("select_by", "--select-by", form.select_by),
    ):
        for e in catalogue.entries(kind):
            argv = ["train", "--out", out, flag, e.name]
            if kind == "stem":
                argv += ["--arch", "resnet50"]
            args = parser.parse_args(argv)
            assert getattr(args, flag[2:].replace("-", "_")) == e.name
            if box is not None:
                _pick(box, e.name)
                assert box.currentText() == e.label or kind == "augment"
    labels = [form.dataset.itemText(i) for i in range(form.dataset.count())]
    for e in catalogue.menu("dataset"):
        assert e.label in labels or e.name == "fashion-mnist", (e.name, labels)
    for e in catalogue.entries("attack"):
        if e.has("evaluate"):
            assert parser.parse_args(["evaluate", out, "--attacks", e.name]).attacks == (e.name,)


def test_every_attack_resolves_and_the_explorer_offers_its_own():
    from fgsm_studio.core.attacks.gradient import resolve
    from fgsm_studio.gui.explorer.controls import ATTACK_CHOICES

    for e in catalogue.entries("attack"):
        assert callable(resolve(e.name))
        if not e.has("targeted"):
            with pytest.raises(ValueError, match="untargeted"):
                resolve(e.name, targeted=True)
    assert [c[0] for c in ATTACK_CHOICES] == list(catalogue.EXPLORER_ATTACKS)
    with pytest.raises(ValueError, match="Unknown attack"):
        resolve("deepfool")


# (CLI options, the form's fields) of runs both must refuse
BAD_RUNS = {
    "defense at epsilon 0": (
        ["--defense", "pgd", "--epsilon", "0"],
        dict(defense="pgd", epsilon=0.0),
    ),
    "warm-up longer than the run": (
        ["--defense", "wr_fgsm", "--warmup-epochs", "20", "--epochs", "5"],
        dict(defense="wr_fgsm", warmup_epochs=20.0, epochs=5),
    ),
    "photos on digits": (
        ["--augment", "photos", "--dataset", "mnist-5k"],
        dict(augment="photos"),
    ),
}


@pytest.mark.parametrize("case", BAD_RUNS)
def test_the_cli_and_the_form_refuse_the_same_runs_with_the_same_sentence(
    case, form, tmp_path, capsys
):
    argv, fields = BAD_RUNS[case]
    assert main(["train", "--out", str(tmp_path / "m.safetensors"), *argv]) == 2
    said_by_cli = capsys.readouterr().err
    if "defense" in fields:
        _pick(form.defense, fields["defense"])
    if "augment" in fields:
        _pick(form.augment, fields["augment"])
    if "epsilon" in fields:
        form.epsilon.setValue(fields["epsilon"])
    if "epochs" in fields:
        form.epochs.setValue(fields["epochs"])
    if "warmup_epochs" in fields:
        form.warmup_epochs.setValue(fields["warmup_epochs"])
    said_by_form = form.problem()
    assert said_by_form and said_by_form in said_by_cli, (said_by_form, said_by_cli)
    assert form.job(reserve=False).spec.problems()[0] == said_by_form


def test_run_defaults_are_written_once():
    from fgsm_studio.core.runs.spec import RunSpec
    from fgsm_studio.core.training.config import TrainConfig

    args = options.build_parser("x").parse_args(["train", "--out", "m.safetensors"])
    default = TrainConfig()
    assert RunSpec().train == default
    for name in ("patience", "epochs", "lr", "batch_size", "a1", "epsilon", "attack_steps"):
        assert getattr(args, name) == getattr(default, name), name
