"""reproduce as a researcher uses it: the plan, --dry-run, --keep-checkpoints, progress, --help.

Issue 25, items 6, 7, 10, 11.
"""

from __future__ import annotations

import io
import json

import pytest

from fgsm_studio.core.cli.main import _parser, main
from fgsm_studio.core.runs.reproduce import first_plan


@pytest.fixture
def root(mnist_1k):
    from tests.conftest import DATA

    return str(DATA / "mnist_1k.csv.gz")


def _args(*extra: str):
    return _parser().parse_args(["reproduce", "--out", "/tmp/x", *extra])


def test_every_run_that_depends_on_no_other_is_planned_at_once():
    """Issue 25.11: the defenses waited behind Table 1; now only Table 1 waits (for its sweep)."""
    plan = first_plan(_args("--defenses", "wr_fgsm,pgd", "--rounds", "2"), sweep_only=False)
    defenses = [s.train.defense for s in plan]
    assert defenses.count("none") == 2 and defenses.count("pgd") == 2
    assert defenses.count("wr_fgsm") == 5 * 2 + 1 * 2  # the sweep, scaled and literal
    assert len({s.key() for s in plan}) == len(plan)


def test_help_is_plain_text_with_useful_defaults_and_examples(capsys):
    """Issue 25.7."""
    for command in ([], ["train"], ["reproduce"]):
        with pytest.raises(SystemExit):
            main([*command, "--help"])
        text = capsys.readouterr().out
        assert "``" not in text and "(default: None)" not in text and "(default: False)" not in text
        assert "(default: ('" not in text and "(default: (0" not in text
    assert "examples:" in text and "--dry-run" in text
    assert "(default: 0,0.25,0.5,0.75,1)" in " ".join(text.split())  # the comma syntax
    assert "free now (with Ray: the task's CPUs)" in " ".join(text.split())
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = capsys.readouterr().out.split("options:")[1]
    arch = text.split("--arch {")[1].split("--defense")[0]
    assert "network:" in arch
    assert "(Madry et al.)" in text.split("--defense {")[1]
    assert "seed of folds, samples and weights [0 to 4294967295] (default: 0)" in " ".join(
        text.split()
    )


def test_ray_only_options_are_refused_without_ray(capsys):
    assert main(["reproduce", "--out", "/tmp/x", "--cpus-per-run", "2"]) == 2
    assert "only make sense with --executor ray" in capsys.readouterr().err
    assert main(["reproduce", "--out", "/tmp/x", "--gpus-per-run", "1.5"]) == 2
    assert "fraction of one GPU" in capsys.readouterr().err


TINY = [
    "reproduce", "--folds", "5", "--rounds", "1", "--sweep-rounds", "1", "--a1s", "0,1",
    "--literal-a1s", "", "--epochs", "1", "--limit", "100", "--eval-limit", "30",
    "--attacks", "fgsm", "--worst-case", "off", "--threads", "1",
]  # fmt: skip


def test_dry_run_lists_the_runs_and_estimates_from_a_measured_epoch(tmp_path, root, capsys):
    assert main([*TINY, "--root", root, "--out", str(tmp_path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.count("to run  mnist-5k_small_cnn_") == 3
    assert "measured: one standard epoch on 100 images took" in out
    assert "estimate:" in out and "nothing was trained" in out
    assert not (tmp_path / "runs").exists()


def test_keep_checkpoints_keeps_each_runs_model_to_open_in_the_explorer(tmp_path, root, capsys):
    """Issue 25.6: `runs/` held JSON only."""
    from fgsm_studio.core.models.checkpoint import load

    args = [*TINY, "--root", root, "--out", str(tmp_path), "--keep-checkpoints"]
    assert main(args) == 0
    models = sorted((tmp_path / "models").glob("*.safetensors"))
    runs = sorted((tmp_path / "runs").glob("*.json"))
    assert [m.stem for m in models] == [r.stem for r in runs] and len(models) == 3
    assert not list((tmp_path / "models").glob("*best-so-far*"))
    record = json.loads(runs[0].read_text())
    assert record["saved_to"] == str(models[0])
    _, card = load(models[0])
    assert card.metrics["clean"] == record["test"]["clean"]
    assert "fgsm-studio --model" in (tmp_path / "report.md").read_text()
    err = capsys.readouterr().err
    # progress: the plan's state on every line, the Table 1 choice said, no ANSI in a log
    assert "3/3 done, 0 running, 0 queued" in err and "best pair: a1=" in err
    assert "\x1b[" not in err and "started" in err


def test_progress_lines_say_done_running_queued_and_an_eta():
    from fgsm_studio.core.progress import Progress, RunEvent
    from tests.core.test_report import _run

    stream = io.StringIO()
    p = Progress(3, stream, parallel=2)
    a, b = _run(a1=0.0), _run(a1=1.0)
    p(RunEvent(a.key, "started"))
    p(RunEvent(b.key, "started"))
    p(RunEvent(a.key, a.history[0]))
    p.done(a)
    p(RunEvent(b.key, "started"))  # a retry
    lines = stream.getvalue().splitlines()
    assert lines[1].startswith("[0/3 done, 2 running, 1 queued,")
    assert "epoch 1/2 val 90.0%" in lines[2] and a.key in lines[2]
    assert lines[3].startswith("[1/3 done, 1 running, 1 queued, ETA ")
    assert "started again" in lines[-1]
    flagged = _run(a1=0.5, clean=0.1)
    p.done(flagged, trained=False)
    assert "warning: this run is flagged: at chance" in stream.getvalue()


def test_ddp_without_torchrun_is_refused_before_torch_is_imported(tmp_path):
    """Issue 25.20: the sentence came after torch's import (17 s under load)."""
    import os
    import subprocess
    import sys

    code = (
        "import sys; from fgsm_studio.core.cli.main import main; "
        f"rc = main(['train', '--ddp', '--out', {str(tmp_path / 'm.safetensors')!r}]); "
        "print(rc, 'torch' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "MASTER_ADDR")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.stdout.split() == ["2", "False"], done.stderr
    assert "torchrun --nproc_per_node 2" in done.stderr


def test_a_ddp_run_has_its_own_key_and_its_card_says_how_it_ran():
    """Issue 25.17: a 2-process batch-32 run had the key of a 1-process batch-32 run."""
    from fgsm_studio.core.runs.spec import RunSpec

    one = RunSpec.of(batch_size=32)
    two = RunSpec.of(batch_size=32, world_size=2, backend="gloo")
    assert one.key() != two.key() and "_ddp2gloo_" in two.key()
    assert RunSpec.of(batch_size=32, world_size=1).key() == one.key()  # old keys hold
    assert two.identity()["global_batch"] == 64
    assert RunSpec.from_dict(two.to_dict()) == two


def test_a_remote_head_without_token_auth_is_warned_about_once(monkeypatch, caplog):
    """Issue 25.14."""
    from fgsm_studio.core.runs import ray_executor

    monkeypatch.setattr(ray_executor, "_WARNED", set())
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    for address in ("auto", "127.0.0.1:6379", "ray://localhost:10001"):
        ray_executor.warn_if_open(address)
    assert not caplog.records
    ray_executor.warn_if_open("ray://10.1.2.3:10001")
    ray_executor.warn_if_open("ray://10.1.2.3:10001")
    assert len(caplog.records) == 1 and "without token authentication" in caplog.text
    assert "docs/cluster.md" in caplog.text
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    ray_executor.warn_if_open("head.lab:6379")
    assert len(caplog.records) == 1
