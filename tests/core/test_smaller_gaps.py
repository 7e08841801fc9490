"""Issue 20, section 4: a full disk, odd --out values, garbage addresses, text bombs.

A full disk is simulated by making ``os.write`` fail with ENOSPC once the file
being written has received ``room`` bytes (``core.atomic`` writes through
``os.write``), as a real full disk fails mid-file.
"""

from __future__ import annotations

import errno
import io
import os
import zlib

import pytest
from PIL import Image, PngImagePlugin

import fgsm_studio.core.atomic as atomic
from fgsm_studio.core.atomic import DiskFullError, write_atomic
from fgsm_studio.core.cli.main import main
from fgsm_studio.core.data.images import ImageError, load_image
from fgsm_studio.core.measure.evaluation import EvalResult
from fgsm_studio.core.runs.records import read_record, write_record
from fgsm_studio.core.runs.spec import RunRecord, RunSpec


@pytest.fixture
def full_disk(monkeypatch):
    """After ``room`` bytes (default 100), every write fails as on a full disk."""
    state = {"room": 100}
    real = os.write

    def write(fd, data):
        if state["room"] <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        n = real(fd, bytes(data)[: state["room"]])
        state["room"] -= n
        return n

    monkeypatch.setattr(atomic.os, "write", write)
    return state


def test_a_full_disk_keeps_the_old_file_and_leaves_nothing_half_written(tmp_path, full_disk):
    target = tmp_path / "table.md"
    target.write_text("the old table\n")
    with pytest.raises(DiskFullError) as caught:
        write_atomic(target, "x" * 5000, "the cards table")
    message = str(caught.value)
    assert message.startswith("Could not save the cards table: the disk holding")
    assert "is full (" in message and "free; 4.9 KB needed" in message and "Errno" not in message
    assert target.read_text() == "the old table\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.md"]


def test_cards_out_on_a_full_disk_is_one_sentence_and_no_empty_file(tmp_path, full_disk, capsys):
    out = tmp_path / "README.md"
    assert main(["cards", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "Could not save the cards table" in err and "[Errno" not in err
    assert err.count("\n") == 1 and not out.exists() and list(tmp_path.iterdir()) == []
    full_disk["room"] = 10**9
    assert main(["cards", "--out", str(out)]) == 0 and out.stat().st_size > 1000


def test_a_run_record_on_a_full_disk_names_the_run_and_resumes_cleanly(tmp_path, full_disk):
    """reproduce writes each run's record with ``core.runs.records.write_record`` (``execute``)."""
    spec = RunSpec.of(eval_epsilons=(0.1,))
    test = EvalResult(n=50, clean=0.9, attacks={"fgsm": {0.1: 0.4}}, held_out=spec.held_out())
    record = RunRecord(spec, test, n_train=400, n_val=50, best_epoch=1, train_seconds=3.0)
    path = tmp_path / "runs" / f"{spec.key()}.json"
    with pytest.raises(DiskFullError, match=rf"the record of run {spec.key()} .*is full"):
        write_record(path, record)
    assert list((tmp_path / "runs").iterdir()) == []  # no empty .tmp, no torn record
    full_disk["room"] = 10**9
    write_record(path, record)  # the same run again, cleanly
    assert read_record(path) == record and len(list(path.parent.iterdir())) == 1


def test_train_out_ending_in_a_slash_names_a_folder(tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path / "subdir") + "/"]) == 2
    err = capsys.readouterr().err
    assert "ends in '/', so it names a folder" in err and "subdir/model.safetensors" in err


def test_the_out_probe_creates_a_file_instead_of_trusting_os_access(tmp_path, capsys, monkeypatch):
    """As root, os.access says yes for /proc and /sys; a real file must be creatable."""
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    real_mkstemp = __import__("tempfile").mkstemp

    def mkstemp(*args, dir=None, **kwargs):
        if dir is not None and str(dir) == str(blocked):
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_mkstemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr("fgsm_studio.core.cli.checks.tempfile.mkstemp", mkstemp)
    monkeypatch.setattr(os, "access", lambda *a, **k: True)
    assert main(["reproduce", "--out", str(blocked / "rp")]) == 2
    err = capsys.readouterr().err
    assert "no file can be created in" in err and "Permission denied" in err
    assert list(blocked.iterdir()) == []


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="no /proc here")
def test_proc_is_refused_as_an_out_folder(capsys):
    assert main(["reproduce", "--out", "/proc/rp"]) == 2
    assert "no file can be created in '/proc'" in capsys.readouterr().err


@pytest.mark.parametrize("address", ["ray://%%%:abc", "ray://head", "head:99999", "a b:1"])
def test_a_garbage_ray_address_gets_a_sentence(address, capsys):
    argv = ["reproduce", "--out", "r", "--executor", "ray", "--address", address]
    if __import__("importlib").util.find_spec("ray") is None:
        pytest.skip("Ray is not installed")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "is not a Ray address: use auto, host:port or ray://host:port" in err
    assert "ray[client]" not in err


def _png_with_text_bomb(after_image: bool) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("comment", "a" * (20 * 2**20), zip=True)
    buf = io.BytesIO()
    Image.new("L", (8, 8), 128).save(buf, "PNG", pnginfo=None if after_image else info)
    data = buf.getvalue()
    if not after_image:
        return data
    body = b"comment\x00\x00" + zlib.compress(b"a" * (20 * 2**20), 9)
    chunk = len(body).to_bytes(4, "big") + b"zTXt" + body
    chunk += zlib.crc32(b"zTXt" + body).to_bytes(4, "big")
    end = data.rindex(b"IEND") - 4
    return data[:end] + chunk + data[end:]


@pytest.mark.parametrize("after_image", [False, True])
def test_a_png_text_chunk_bomb_is_too_large_not_damaged(after_image):
    data = _png_with_text_bomb(after_image)
    assert len(data) < 40_000
    with pytest.raises(ImageError, match="is too large to open: its text") as caught:
        load_image(data)
    assert "damaged" not in str(caught.value)


def test_a_zip_bomb_checkpoint_is_too_large_not_damaged(tmp_path):
    """A 50 KB .pth whose one member inflates to 50 MB (300 MB took 10 s and 830 MB)."""
    import zipfile

    import torch

    from fgsm_studio.core.models.card import CheckpointError, ModelCard
    from fgsm_studio.core.models.checkpoint import load
    from fgsm_studio.core.models.networks import build

    model = build("small_cnn", num_classes=2, in_channels=1, image_size=8, mean=[0.5], std=[0.5])
    card = ModelCard("small_cnn", 2, ["a", "b"], 1, 8, [0.5], [0.5])
    good, bomb = tmp_path / "good.pth", tmp_path / "bomb.pth"
    torch.save(model.state_dict(), good)
    assert load(good, card=card)[1].arch == "small_cnn"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bomb, "w") as dst:
        for i, info in enumerate(src.infolist()):
            if i == 0:
                dst.writestr("good/data/999", b"\0" * (50 * 2**20), zipfile.ZIP_DEFLATED)
            dst.writestr(info, src.read(info.filename))
    assert bomb.stat().st_size < 2 * good.stat().st_size + 100_000
    with pytest.raises(
        CheckpointError, match=r"is too large to open: its \d+ member\(s\) expand to 51 MB"
    ) as caught:
        load(bomb, card=card)
    assert "damaged" not in str(caught.value)
