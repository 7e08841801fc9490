"""Generated training images (issue 22, item 2): `generate`, `train --extra-train`, and the
checks that refuse a wrong file before any training starts."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from fgsm_studio.core.cli.main import main
from fgsm_studio.core.data.dataset import DatasetError, ImageDataset, folds
from fgsm_studio.core.data.extra import load_extra, mixed, save_extra
from fgsm_studio.core.measure.evaluation import drive
from fgsm_studio.core.models.checkpoint import load
from fgsm_studio.core.runs.experiments import execute
from fgsm_studio.core.runs.spec import RunSpec
from fgsm_studio.core.training.generate import ConditionalVAE, GenerateOptions, generate, sample
from tests.conftest import DATA

ROOT = str(DATA / "mnist_1k.csv.gz")


def _npz(path, **arrays):
    np.savez(path, **arrays)
    return path


def _digits(n: int, label: int = 3) -> dict:
    return {"images": np.zeros((n, 28, 28), np.uint8), "labels": np.full(n, label)}


@pytest.fixture(scope="module")
def made(mnist_1k):
    """Images made from 800 real digits (2 epochs, a 1-epoch filter: seconds, not minutes)."""
    f = folds(mnist_1k, k=5, seed=0)[0]
    train, val = mnist_1k.subset(f.train), mnist_1k.subset(f.val)
    opts = GenerateOptions(n=60, epochs=2, classifier_epochs=1, min_confidence=0.0)
    return generate(train, val, opts, say=lambda _: None), len(train)


def test_generated_images_are_digits_of_every_class_and_say_how_they_were_made(made):
    (data, about), n_train = made
    assert data.images.dtype == torch.uint8 and tuple(data.images.shape[1:]) == (1, 28, 28)
    counts = torch.bincount(data.labels, minlength=10)
    assert len(data) <= 60 and counts.max() <= 6  # each class at most its share
    assert about["trained_on"]["n"] == n_train and about["kept"] == len(data)
    assert 0 < about["keep_rate"] <= 1 and about["drawn"] >= len(data)
    assert data.images.float().std() > 10  # images, not a constant


class _Judge(torch.nn.Module):
    """Sure of class 0 for bright images, of class 1 for dark ones."""

    def forward(self, x):
        bright = (x.mean(dim=(1, 2, 3)) > 0.5).float()
        return torch.stack([bright, 1 - bright], 1) * 20


def test_only_samples_the_classifier_agrees_with_are_kept():
    torch.manual_seed(0)
    vae = ConditionalVAE(classes=2)
    with torch.no_grad():  # class 0 decodes bright, class 1 dark, whatever the code
        vae.decoder[-1].bias.fill_(0.0)
        vae.decoder[-1].weight.zero_()
        vae.expand[0].weight.zero_()
        vae.expand[2].bias.fill_(1.0)
        vae.decoder[-1].bias.fill_(3.0)
    judge = _Judge()
    images, labels, stats = sample(vae, judge, GenerateOptions(n=20), say=lambda _: None)
    assert len(images) == 10 and (labels == 0).all()  # class 1 decodes bright: never agreed
    assert judge(images.float() / 255).argmax(1).eq(labels).all()
    assert stats["kept"] == 10 and stats["drawn"] > 20


def test_no_sample_passing_the_filter_is_one_sentence():
    vae = ConditionalVAE(classes=2)
    never = GenerateOptions(n=4, min_confidence=1.0)  # the judge is never that sure
    with pytest.raises(ValueError, match="No generated image passed"):
        sample(vae, lambda x: torch.zeros(len(x), 2), never, say=lambda _: None)


def test_a_saved_file_reads_back_with_how_it_was_made(made, tmp_path, mnist_1k):
    (data, about), _ = made
    save_extra(tmp_path / "g.npz", data, about)
    back, about_back = load_extra(tmp_path / "g.npz", mnist_1k)
    assert torch.equal(back.images, data.images) and torch.equal(back.labels, data.labels)
    assert about_back == json.loads(json.dumps(about))
    both = mixed(mnist_1k, back)
    assert len(both) == len(mnist_1k) + len(back)
    assert torch.equal(both.images[: len(mnist_1k)], mnist_1k.images)  # the real ones first


@pytest.mark.parametrize(
    ("arrays", "says"),
    [
        ({"images": np.zeros((4, 28, 28), np.uint8)}, "no 'labels'"),
        ({"images": np.zeros((4, 28, 28)), "labels": np.zeros(4, int)}, "must be uint8"),
        ({"images": np.zeros((4, 3, 32, 32), np.uint8), "labels": np.zeros(4, int)}, "do not fit"),
        ({"images": np.zeros((4, 28, 28), np.uint8), "labels": np.zeros(3, int)}, "one whole"),
        ({"images": np.zeros((4, 28, 28), np.uint8), "labels": np.full(4, 0.5)}, "one whole"),
        (_digits(4, label=10), "outside 0-9"),
        (_digits(4, label=-1), "outside 0-9"),
        ({"images": np.zeros((0, 28, 28), np.uint8), "labels": np.zeros(0, int)}, "1 to"),
    ],
)
def test_a_wrong_file_is_one_sentence(tmp_path, mnist_1k, arrays, says):
    path = _npz(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DatasetError, match=says):
        load_extra(path, mnist_1k)


def test_a_file_that_is_not_an_npz_or_holds_objects_is_refused(tmp_path, mnist_1k):
    (tmp_path / "text.npz").write_text("not a zip")
    with pytest.raises(DatasetError, match="not a readable .npz"):
        load_extra(tmp_path / "text.npz", mnist_1k)
    objects = np.array([{"x": 1}] * 4, dtype=object)  # a pickle inside: never unpickled
    _npz(tmp_path / "obj.npz", images=objects, labels=np.zeros(4, int))
    with pytest.raises(DatasetError, match="not a readable .npz"):
        load_extra(tmp_path / "obj.npz", mnist_1k)
    with pytest.raises(DatasetError, match="not a file"):
        load_extra(tmp_path, mnist_1k)


def _spec(**options) -> RunSpec:
    base = dict(dataset="mnist-5k", root=ROOT, folds=5, epochs=1, limit=100, seed=0)
    base.update(eval_attacks=("fgsm",), eval_limit=32, device="cpu")
    return RunSpec.of(**{**base, **options})


def test_extra_images_join_training_only_and_the_card_names_them(tmp_path):
    extra = _npz(tmp_path / "g.npz", **_digits(40))
    out = tmp_path / "m.safetensors"
    record = drive(execute(_spec(extra_train=str(extra)), save_model=out))
    plain = drive(execute(_spec()))
    assert record.n_train == plain.n_train + 40  # training grew by the file
    assert record.n_val == plain.n_val and record.test.n == plain.test.n == 32  # the rest: real
    _, card = load(out)
    info = card.training["extra_train"]
    assert info["file"] == "g.npz" and info["n"] == 40 and len(info["sha256"]) == 64


def test_the_run_key_follows_the_images_not_the_file_name(tmp_path):
    a = _npz(tmp_path / "a.npz", **_digits(8))
    same = _npz(tmp_path / "same.npz", **_digits(8))
    other = _npz(tmp_path / "other.npz", **_digits(8, label=4))
    key = _spec(extra_train=str(a)).key()
    assert key != _spec().key()
    assert _spec(extra_train=str(same)).key() == key
    assert _spec(extra_train=str(other)).key() != key
    # a record whose file was deleted since still has a key
    other.unlink()
    assert _spec(extra_train=str(other)).key() not in (key, _spec().key())


def test_cli_refuses_a_bad_extra_file_before_training(tmp_path, capsys):
    out = tmp_path / "m.safetensors"
    assert main(["train", "--extra-train", str(tmp_path / "none.npz"), "--out", str(out)]) == 2
    assert "is not a file" in capsys.readouterr().err
    bad = _npz(tmp_path / "rgb.npz", images=np.zeros((2, 3, 32, 32), np.uint8), labels=[0, 1])
    argv = ["train", "--root", ROOT, "--limit", "50", "--epochs", "1", "--threads", "1"]
    assert main([*argv, "--extra-train", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "do not fit" in err and "Traceback" not in err and not out.exists()


def test_cli_generate_checks_its_options(tmp_path, capsys):
    assert main(["generate", "--n", "5", "--out", str(tmp_path / "g.npz")]) == 2
    assert "--n" in capsys.readouterr().err
    assert main(["generate", "--out", str(tmp_path / "dir") + "/"]) == 2
    assert main(["generate", "--folds", "5", "--fold", "7", "--out", str(tmp_path / "g.npz")]) == 2
    assert "--fold" in capsys.readouterr().err


def test_dataset_needs_the_images_it_is_given():
    with pytest.raises(DatasetError):
        ImageDataset(torch.zeros(2, 28, 28, dtype=torch.uint8), torch.zeros(2), ["a"])


def test_pseudo_labels_leave_out_labelled_images_and_never_read_their_labels(mnist_1k):
    from fgsm_studio.core.training.generate import pseudo_label

    f = folds(mnist_1k, k=5, seed=0)[0]
    train, val, rest = (mnist_1k.subset(i) for i in (f.train, f.val, f.test))
    pool = mixed(rest, train.subset(list(range(20))))  # 20 of them are labelled ones
    opts = GenerateOptions(n=0, classifier_epochs=3, min_confidence=0.3)
    quiet = {"say": lambda _: None}
    data, about = pseudo_label(train, val, pool, opts, **quiet)
    assert about["images_from"]["new"] == len(rest)  # the 20 known images are left out
    assert len(data) == about["kept"] <= len(rest) and 0 < about["label_accuracy"] <= 100
    scrambled = ImageDataset(pool.images, pool.labels.roll(1), pool.class_names, "scrambled")
    again, about2 = pseudo_label(train, val, scrambled, opts, **quiet)
    assert torch.equal(again.labels, data.labels)  # the pool's own labels change nothing
    assert about2["label_accuracy"] < about["label_accuracy"]  # they only score it
