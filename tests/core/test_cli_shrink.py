"""``fgsm-studio-cli shrink``: a checkpoint in 8 bits, its size and the change of its logits
printed; bad options are one line and exit 2 before anything is read or written."""

from __future__ import annotations

import pytest
import torch

import fgsm_studio.core.models.checkpoint as checkpoint
from fgsm_studio.core.cli.main import main
from fgsm_studio.core.models.card import ModelCard
from fgsm_studio.core.models.checkpoint import load, read_card, save
from fgsm_studio.core.models.networks import build


@pytest.fixture
def model_file(tmp_path):
    torch.manual_seed(0)
    model = build(
        "small_cnn", num_classes=10, in_channels=1, image_size=28, mean=[0.13], std=[0.31]
    )
    card = ModelCard(
        arch="small_cnn",
        num_classes=10,
        class_names=[str(i) for i in range(10)],
        in_channels=1,
        image_size=28,
        mean=[0.13],
        std=[0.31],
        dataset="mnist-5k",
    )
    return save(tmp_path / "m.safetensors", model, card, half=True)


def test_shrink_writes_int8_and_says_what_it_cost(tmp_path, model_file, capsys):
    before = model_file.read_bytes()
    out = tmp_path / "q.safetensors"
    assert main(["shrink", str(model_file), "--out", str(out), "--int8"]) == 0
    text = capsys.readouterr().out
    assert model_file.read_bytes() == before  # MODEL is left as it is
    assert read_card(out).storage == "int8"
    assert f"{len(before) / 2**20:.2f} MB -> {out.stat().st_size / 2**20:.2f} MB" in text
    assert "largest change of a logit: " in text
    assert "on 20 sample image(s) of mnist-5k and 4 random image(s)" in text
    a, _ = load(model_file)
    b, _ = load(out)
    x = torch.rand(4, 1, 28, 28)
    with torch.no_grad():
        assert torch.allclose(a(x), b(x), atol=0.01)


def test_shrink_replaces_model_only_when_out_names_it(tmp_path, model_file, capsys):
    assert main(["shrink", str(model_file), "--out", str(model_file), "--int8"]) == 0
    assert read_card(model_file).storage == "int8"
    assert main(["shrink", str(model_file), "--out", str(model_file), "--float16"]) == 0
    assert read_card(model_file).storage == "float"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]  # no temp file left


def test_bad_shrink_options_are_one_line_before_any_work(tmp_path, model_file, capsys, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("work started before the options were checked")

    monkeypatch.setattr(checkpoint, "load", refuse)
    out = str(tmp_path / "q.safetensors")
    cases = [
        (["shrink", str(model_file), "--int8"], "the following arguments are required: --out"),
        (["shrink", str(model_file), "--out", out], "one of the arguments --int8 --float16"),
        (
            ["shrink", str(model_file), "--out", out, "--int8", "--float16"],
            "--float16: not allowed with argument --int8",
        ),
        (["shrink", str(tmp_path / "none"), "--out", out, "--int8"], "does not exist"),
        (["shrink", str(model_file), "--out", str(tmp_path) + "/", "--int8"], "ends in '/'"),
        (["shrink", str(model_file), "--out", str(tmp_path), "--int8"], "is not a regular file"),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1 and "Traceback" not in err, (argv, err)
    assert not (tmp_path / "q.safetensors").exists()


def test_shrink_of_a_file_that_is_not_a_model_is_one_sentence(tmp_path, capsys):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 64)
    out = tmp_path / "q.safetensors"
    assert main(["shrink", str(bad), "--out", str(out), "--int8"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "bad.safetensors" in err and err.count("\n") == 1
    assert not out.exists()
