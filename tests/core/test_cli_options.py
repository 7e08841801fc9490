"""fgsm-studio-cli: every bad option is one line and exit 2 before any work; quick --help; logs.

Issue 11, item 16, and issue 12 section 5 (tqdm progress, a --help that starts fast).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest

import fgsm_studio.core.runs.experiments as experiments
from fgsm_studio.core.cli import options
from fgsm_studio.core.cli.main import Progress, main


@pytest.fixture(autouse=True)
def _no_work(monkeypatch):
    """A bad option must stop the CLI before it trains or evaluates anything."""

    def refuse(*args, **kwargs):
        raise AssertionError("work started before the options were checked")

    monkeypatch.setattr(experiments, "execute", refuse)


def _train(tmp_path, *extra):
    return ["train", "--out", str(tmp_path / "m.safetensors"), *extra]


BAD_TRAIN = [
    (["--epsilon", "nan"], "--epsilon: must be a number from 0 to 1, not 'nan'"),
    (["--epsilon", "inf"], "--epsilon: must be a number from 0 to 1"),
    (["--epsilon", "-0.1"], "--epsilon: must be a number from 0 to 1"),
    (["--epsilon", "1.5"], "--epsilon: must be a number from 0 to 1"),
    (["--eval-epsilons", ","], "--eval-epsilons: expected numbers from 0 to 1"),
    (["--a1", "2"], "--a1: must be a number from 0 to 1"),
    (["--fold", "-1"], "--fold: must be a whole number from 0 to 99"),
    (["--fold", "10"], "--fold must be from 0 to 9 with --folds 10, not 10"),
    (["--folds", "5", "--fold", "5"], "--fold must be from 0 to 4"),
    (["--folds", "2"], "--folds: must be 0 (the dataset's train/test split) or at least 3"),
    (["--limit", "0"], "--limit: must be a whole number from 1 to 10000000"),
    (["--limit", "-5"], "--limit: must be a whole number from 1 to"),
    (["--eval-limit", "0"], "--eval-limit: must be a whole number from 1 to"),
    (["--attacks", "fgsm,cw"], "--attacks: unknown attack 'cw'; choose from fgsm,bim,pgd"),
    (["--device", "foo"], "--device: unknown device 'foo'"),
    (["--device", "meta"], "--device: unknown device 'meta'"),
    (["--seed", str(2**64)], "--seed: must be a whole number from 0 to 4294967295"),
    (["--epochs", "0"], "--epochs: must be a whole number from 1 to 1000"),
    (["--lr", "nan"], "--lr: must be a number above 0, up to 10"),
    (["--arch", "vgg"], "--arch: invalid choice: 'vgg'"),
    # issue 20, 1: every number has a range, checked before any work
    (["--folds", "1000000000"], "--folds: must be a whole number from 0 to 100"),
    (["--threads", "100000"], "--threads: must be a whole number from 1 to"),
    (["--attack-steps", str(10**12)], "--attack-steps: must be a whole number from 1 to 1000"),
    (["--epochs", str(10**12)], "--epochs: must be a whole number from 1 to 1000"),
    (["--warmup-epochs", "nan"], "--warmup-epochs: must be a number 0 to 1000, not 'nan'"),
    (["--warmup-epochs", "inf"], "--warmup-epochs: must be a number 0 to 1000"),
    (["--warmup-epochs", "-5"], "--warmup-epochs: must be a number 0 to 1000, not '-5'"),
    (  # TrainConfig.problems: the sentence the Train form shows
        ["--defense", "pgd", "--warmup-epochs", "11"],
        "The epsilon warm-up (11 epochs) is longer than the run (10 epochs)",
    ),
    (["--batch-size", str(10**9)], "--batch-size: must be a whole number from 1 to 65536"),
    (["--beta", "1e300"], "--beta: must be a number above 0, up to 100"),
    (["--patience", str(10**9)], "--patience: must be a whole number from 0 to 1000"),
    (["--root", "/nonexistent"], "--root '/nonexistent' does not exist"),
    (["--dataset", "folder"], "--dataset folder needs --root"),
    (["--dataset", "folder", "--root", "/dev/zero"], "--root '/dev/zero' is not a folder"),
    (["--eval-epsilons", ",".join(f"0.{i:02d}" for i in range(40))], "at most 32 different"),
]


@pytest.mark.parametrize(("extra", "message"), BAD_TRAIN, ids=[" ".join(a) for a, _ in BAD_TRAIN])
def test_bad_train_options_are_one_line_and_exit_2(tmp_path, capsys, extra, message):
    assert main(_train(tmp_path, *extra)) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_unwritable_outputs_are_refused_before_training(tmp_path, capsys):
    (tmp_path / "file.txt").write_text("x")
    cases = [
        ("/dev/null", "exists and is not a regular file"),
        (tmp_path / "file.txt" / "m.safetensors", "is a file, not a folder"),
        (tmp_path / ("a" * 300 + ".safetensors"), "File name too long"),
        (tmp_path, "exists and is not a regular file"),
    ]
    for out, message in cases:
        assert main(["train", "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert "--out" in err and message in err and err.count("\n") == 1


def test_bad_evaluate_and_reproduce_options(tmp_path, capsys):
    model = tmp_path / "m.safetensors"
    model.write_bytes(b"x")
    out = str(tmp_path / "runs")
    cases = [
        (["evaluate", str(tmp_path / "missing.safetensors")], "does not exist or is not a file"),
        (["evaluate", str(model), "--epsilons", "0.1,nan"], "--epsilons: must be a number"),
        (["evaluate", str(model), "--limit", "0"], "--limit: must be a whole number"),
        (["evaluate", str(model), "--attacks", ","], "--attacks: no attack"),
        (["reproduce", "--out", out, "--epsilon", ","], "--epsilon: expected numbers"),
        (["reproduce", "--out", out, "--a1s", "0.5,1.5"], "--a1s: must be a number from 0 to 1"),
        (["sweep", "--out", out, "--archs", "vgg"], "--archs: unknown architecture 'vgg'"),
        (["sweep", "--out", str(model)], "--out '"),
        (["reproduce", "--out", out, "--rounds", "0"], "--rounds: must be a whole number"),
        (["reproduce", "--out", out, "--defenses", "pgd,mart"], "unknown defense 'mart'"),
        (["reproduce", "--out", out, "--defenses", "none"], "unknown defense 'none'"),
        (["sweep", "--out", out, "--defenses", "pgd"], "unrecognized arguments"),
        (["reproduce", "--out", out, "--worst-case", "heavy"], "--worst-case: invalid choice"),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, (argv, err)


def _choices(command: str, option: str):
    """The choices the parser offers for ``command``'s ``option``."""
    import argparse

    parser = options.build_parser("x")
    subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return next(a for a in subs.choices[command]._actions if option in a.option_strings).choices


def test_the_parser_offers_the_catalogues_names():
    from fgsm_studio.core.catalogue import DATASETS, DEFENSES, TRAINABLE, WORST_CASE_SETTINGS

    assert tuple(_choices("train", "--dataset")) == DATASETS
    assert tuple(_choices("train", "--arch")) == TRAINABLE
    assert tuple(_choices("train", "--defense")) == DEFENSES
    assert tuple(_choices("reproduce", "--worst-case")) == ("off", *WORST_CASE_SETTINGS)


def test_help_does_not_import_torch():
    code = (
        "import sys\nfrom fgsm_studio.core.cli.main import main\n"
        "try:\n    main(['train', '--help'])\nexcept SystemExit:\n    pass\n"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=os.environ, timeout=120
    )
    assert out.stdout.strip().endswith("False"), out.stdout + out.stderr
    assert "--epochs EPOCHS" in out.stdout and "(default: 10)" in out.stdout


def _events():
    from fgsm_studio.core.training.config import BatchProgress, EpochMetrics

    for b in range(1, 4):
        yield BatchProgress(1, b, 3, 0.5, 100.0, 1.0)
    yield EpochMetrics(
        1, 2, 0.5, 0.4, 0.1, 0.0, 0.9, 0.95, 0.6, 1.5, True, 100.0, 2.0, val_pgd_acc=0.4
    )


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_in_a_log_is_plain_lines():
    log = io.StringIO()
    progress = Progress(2, stream=log)
    progress.start("run-a")
    for event in _events():
        progress(event)
    text = log.getvalue()
    assert "\r" not in text and text.count("\n") == 2
    assert all(line == line.rstrip() for line in text.splitlines())
    assert "run-a: epoch 1/2 val 95.0% FGSM 60.0%" in text


def test_progress_on_a_terminal_draws_a_bar():
    term = _Terminal()
    progress = Progress(1, stream=term)
    progress.start("run-a")
    for event in _events():
        progress(event)
    text = term.getvalue()
    assert (
        "\r[1/1] epoch 1:" in text
        and "/3 [" in text
        and text.endswith("FGSM 60.0% PGD 40.0% 100 img/s (best)\n")
    )


USAGE_ERRORS = [
    ["train", "--out", "m.safetensors", "--root", "/nonexistent"],
    ["train", "--out", "m.safetensors", "--dataset", "folder"],
    ["train", "--out", "m.safetensors", "--epochs", str(10**12)],
    ["train", "--out", "m.safetensors", "--warmup-epochs", "-5"],
    ["reproduce", "--out", "r", "--folds", "1000000000"],
]


def test_usage_errors_answer_before_torch_is_imported(tmp_path):
    """Issue 20, 1: these took 16-45 s under load, importing torch before saying no."""
    code = (
        "import sys\nfrom fgsm_studio.core.cli.main import main\n"
        f"codes = [main(argv) for argv in {USAGE_ERRORS!r}]\n"
        "print(codes, 'torch' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=os.environ,
        timeout=120,
        cwd=tmp_path,
    )
    assert out.stdout.strip() == "[2, 2, 2, 2, 2] False", out.stdout + out.stderr
    assert out.stderr.count("\n") == len(USAGE_ERRORS)


def test_every_numeric_option_shows_its_range_in_help():
    parser = options.build_parser("x")
    subs = parser._subparsers._group_actions[0].choices  # noqa: SLF001
    for name, sub in subs.items():
        help_text = " ".join(sub.format_help().split())
        for action in sub._actions:  # noqa: SLF001
            if action.type in (int, float):
                raise AssertionError(f"{name} {action.option_strings}: a number with no range")
            span = getattr(action.type, "span", None)
            if span:
                assert f"[{span}]" in help_text, (name, action.option_strings)
    epochs = [a for a in subs["train"]._actions if "--epochs" in a.option_strings][0]  # noqa: SLF001
    assert epochs.type.span == "1 to 1000"


def test_lists_are_deduplicated_and_minus_zero_is_zero(tmp_path):
    """Issue 20, 1: 101 copies of 0.1 were each evaluated; -0 gave another resume key."""
    parser = options.build_parser("x")
    args = parser.parse_args(
        _train(tmp_path, "--eval-epsilons", ",".join(["0.1"] * 101), "--epsilon", "-0")
    )
    assert args.eval_epsilons == (0.1,)
    assert args.epsilon == 0.0 and str(args.epsilon) == "0.0"
    sweep = parser.parse_args(["reproduce", "--out", "r", "--epsilon=-0,0,0.1,0.10"])
    assert sweep.epsilon == (0.0, 0.1) and str(sweep.epsilon[0]) == "0.0"
    from fgsm_studio.core.runs.spec import RunSpec

    keys = {RunSpec.of(epsilon=e).key() for e in (args.epsilon, 0.0)}
    assert len(keys) == 1
    spec = RunSpec.of(epsilon=-0.0, a1=-0.0, eval_epsilons=(-0.0, 0.1))
    assert spec.key() == RunSpec.of(epsilon=0.0, a1=0.0, eval_epsilons=(0.0, 0.1)).key()
