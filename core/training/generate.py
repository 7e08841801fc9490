"""Images made by a small generative model of a run's training part (issue 22, item 2).

A class-conditional variational auto-encoder (Kingma & Welling 2014; Sohn et al.
2015) learns the training part of one fold, never its validation or held-out part
and never an other-writers set. Images are then sampled class by class and kept only
where a standard classifier, trained on the same part, gives the class asked for at
least ``min_confidence`` (Gowal et al. 2021 label generated images with a classifier
in the same way). ``fgsm-studio-cli generate`` writes them for ``train --extra-train``.

The auto-encoder is small (two strided convolutions each way, a 16-number code) so
that it learns 4,500 digits in a few CPU minutes; its samples are smoother than real
strokes, which is what the classifier's filter and the report say.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..data.dataset import ImageDataset
from ..models.networks import build
from .config import TrainConfig
from .loop import run


class ConditionalVAE(nn.Module):
    """Encoder and decoder of images given their class (one-hot), with a ``latent``-number code."""

    def __init__(self, classes: int, channels: int = 1, size: int = 28, latent: int = 16) -> None:
        super().__init__()
        if size % 4:
            raise ValueError(f"The generator needs an image size divisible by 4, not {size}.")
        self.classes, self.latent, self.side = classes, latent, size // 4
        flat = 64 * self.side * self.side
        self.encoder = nn.Sequential(
            nn.Conv2d(channels, 32, 4, 2, 1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(32, 64, 4, 2, 1),
            nn.LeakyReLU(0.2),
            nn.Flatten(),
        )
        self.code = nn.Sequential(nn.Linear(flat + classes, 256), nn.LeakyReLU(0.2))
        self.mu, self.logvar = nn.Linear(256, latent), nn.Linear(256, latent)
        self.expand = nn.Sequential(
            nn.Linear(latent + classes, 256), nn.ReLU(), nn.Linear(256, flat), nn.ReLU()
        )
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(64, 32, 4, 2, 1),
            nn.ReLU(),
            nn.ConvTranspose2d(32, channels, 4, 2, 1),
        )

    def _onehot(self, y: torch.Tensor) -> torch.Tensor:
        return F.one_hot(y, self.classes).float()

    def decode(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Pixel logits (sigmoid: the image in [0, 1])."""
        h = self.expand(torch.cat([z, self._onehot(y)], 1))
        return self.decoder(h.view(-1, 64, self.side, self.side))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, ...]:
        h = self.code(torch.cat([self.encoder(x), self._onehot(y)], 1))
        mu, logvar = self.mu(h), self.logvar(h).clamp(-10, 10)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        return self.decode(z, y), mu, logvar


def vae_loss(logits: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor):
    """The negative evidence lower bound per image (Bernoulli pixels, Gaussian code)."""
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return (recon + kl) / len(x)


@dataclass(frozen=True)
class GenerateOptions:
    n: int = 20_000  # images to keep, spread evenly over the classes
    epochs: int = 30  # of the auto-encoder
    classifier_epochs: int = (
        6  # of the filtering classifier (standard small CNN, digit augmentation)
    )
    min_confidence: float = 0.9
    temperature: float = 1.0  # the code is drawn from N(0, temperature^2)
    seed: int = 0
    batch_size: int = 64


def train_vae(
    data: ImageDataset, opts: GenerateOptions, say: Callable[[str], None] = print
) -> ConditionalVAE:
    """The auto-encoder, trained on ``data`` (every image, ``opts.epochs`` passes)."""
    torch.manual_seed(opts.seed)
    vae = ConditionalVAE(len(data.class_names), data.channels, data.image_size)
    opt = torch.optim.Adam(vae.parameters(), lr=1e-3)
    for epoch in range(1, opts.epochs + 1):
        order, total = torch.randperm(len(data)), 0.0
        for i in range(0, len(data), opts.batch_size):
            x, y = data.batch(order[i : i + opts.batch_size])
            logits, mu, logvar = vae(x, y)
            loss = vae_loss(logits, x, mu, logvar)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(x)
        if epoch == 1 or epoch % 5 == 0 or epoch == opts.epochs:
            say(f"generator epoch {epoch}/{opts.epochs}: {total / len(data):.1f} nats per image")
    return vae.eval()


def train_filter(
    train: ImageDataset, val: ImageDataset, opts: GenerateOptions
) -> tuple[nn.Module, float]:
    """A standard small CNN on the same training part, and its validation accuracy (%)."""
    mean, std = train.mean_std()
    torch.manual_seed(opts.seed)
    model = build(
        "small_cnn",
        num_classes=len(train.class_names),
        in_channels=train.channels,
        image_size=train.image_size,
        mean=mean,
        std=std,
    )
    config = TrainConfig(
        epochs=opts.classifier_epochs, augment="digits", seed=opts.seed, device="cpu", patience=100
    )
    result = run(model, train, val, config)
    last = result.history[-1].val_acc if result.history else float("nan")
    return model.eval(), 100 * float(last)


@torch.no_grad()
def sample(
    vae: ConditionalVAE,
    judge: nn.Module,
    opts: GenerateOptions,
    say: Callable[[str], None] = print,
) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """``opts.n`` images (uint8) and labels, each class in its share, the judge agreeing."""
    gen = torch.Generator().manual_seed(opts.seed + 1)
    per_class = [opts.n // vae.classes + (c < opts.n % vae.classes) for c in range(vae.classes)]
    images, labels, drawn = [], [], 0
    for c, want in enumerate(per_class):
        kept: list[torch.Tensor] = []
        have, tries = 0, 0
        while have < want and tries < 20:
            tries += 1
            m = max(256, math.ceil((want - have) * 1.5))
            z = torch.randn(m, vae.latent, generator=gen) * opts.temperature
            y = torch.full((m,), c, dtype=torch.long)
            x = torch.sigmoid(vae.decode(z, y))
            x = (x * 255).round().to(torch.uint8)
            probs = torch.softmax(judge(x.float() / 255).float(), 1)[:, c]
            good = x[probs >= opts.min_confidence][: want - have]
            drawn += m
            kept.append(good)
            have += len(good)
        got = torch.cat(kept) if kept else torch.empty(0, dtype=torch.uint8)
        if have < want:
            say(f"class {c}: only {have} of {want} images passed the classifier")
        images.append(got)
        labels.append(torch.full((len(got),), c, dtype=torch.long))
    out = torch.cat(images)
    if not len(out):
        raise ValueError(
            f"No generated image passed the classifier (p >= {opts.min_confidence}) in {drawn} "
            "samples: train the generator longer (--epochs) or lower --min-confidence."
        )
    stats = {"drawn": drawn, "kept": len(out), "keep_rate": round(len(out) / max(drawn, 1), 4)}
    return out, torch.cat(labels), stats


def generate(
    train: ImageDataset,
    val: ImageDataset,
    opts: GenerateOptions,
    say: Callable[[str], None] = print,
) -> tuple[ImageDataset, dict]:
    """Images made from ``train`` alone (``val`` checks the filtering classifier), and how."""
    started = time.perf_counter()
    vae = train_vae(train, opts, say)
    say("training the classifier that filters the samples")
    judge, judge_acc = train_filter(train, val, opts)
    say(f"filter classifier: {judge_acc:.1f}% on the validation part")
    images, labels, stats = sample(vae, judge, opts, say)
    about = {
        "method": "class-conditional VAE (16-number code), samples kept where a standard "
        f"small CNN trained on the same part gives the class with p >= {opts.min_confidence}",
        "trained_on": {"dataset": train.name, "n": len(train)},
        "generator_epochs": opts.epochs,
        "filter_val_accuracy": round(judge_acc, 1),
        "temperature": opts.temperature,
        "seed": opts.seed,
        "seconds": round(time.perf_counter() - started, 1),
        **stats,
    }
    data = ImageDataset(images, labels, list(train.class_names), f"{train.name}-generated")
    return data, about


def _pixel_keys(images: torch.Tensor) -> set[bytes]:
    return {bytes(x) for x in images.reshape(len(images), -1).numpy()}


def pseudo_label(
    train: ImageDataset,
    val: ImageDataset,
    unlabelled: ImageDataset,
    opts: GenerateOptions,
    *,
    exclude: ImageDataset | None = None,
    say: Callable[[str], None] = print,
) -> tuple[ImageDataset, dict]:
    """Self-training (Carmon et al. 2019): ``unlabelled`` images labelled by a standard
    classifier trained on ``train`` alone, kept where it is at least ``min_confidence`` sure.

    Any image that is pixel for pixel one of ``train``, ``val`` or ``exclude`` (say the
    whole labelled dataset, held-out part included) is dropped first. The labels that
    ``unlabelled`` may carry are never used, except to report how often the classifier's
    label was right (``label_accuracy``): a measurement, not an input.
    """
    started = time.perf_counter()
    known = _pixel_keys(train.images) | _pixel_keys(val.images)
    if exclude is not None:
        known |= _pixel_keys(exclude.images)
    fresh = [
        i
        for i, x in enumerate(unlabelled.images.reshape(len(unlabelled), -1).numpy())
        if bytes(x) not in known
    ]
    say(f"{len(unlabelled) - len(fresh)} of {len(unlabelled)} images are labelled ones: left out")
    pool = unlabelled.subset(fresh)
    say("training the classifier that labels the images")
    judge, judge_acc = train_filter(train, val, opts)
    say(f"labelling classifier: {judge_acc:.1f}% on the validation part")
    with torch.no_grad():
        probs = torch.cat(
            [
                torch.softmax(
                    judge(pool.batch(torch.arange(i, min(i + 1024, len(pool))))[0]).float(), 1
                )
                for i in range(0, len(pool), 1024)
            ]
        )
    conf, label = probs.max(1)
    keep = torch.nonzero(conf >= opts.min_confidence).flatten()
    if opts.n and len(keep) > opts.n:  # at most n of them, drawn at random
        keep = keep[torch.randperm(len(keep), generator=torch.Generator().manual_seed(opts.seed))]
        keep = keep[: opts.n]
    if not len(keep):
        raise ValueError(
            f"No image was labelled with p >= {opts.min_confidence}: lower --min-confidence."
        )
    keep = keep.sort().values
    right = float((label[keep] == pool.labels[keep]).float().mean()) * 100
    data = ImageDataset(
        pool.images[keep], label[keep].clone(), list(train.class_names), f"{pool.name}-pseudo"
    )
    about = {
        "method": "self-training: images labelled by a standard small CNN trained on the same "
        f"part, kept where p >= {opts.min_confidence} (their own labels unused)",
        "trained_on": {"dataset": train.name, "n": len(train)},
        "images_from": {"dataset": unlabelled.name, "n": len(unlabelled), "new": len(pool)},
        "filter_val_accuracy": round(judge_acc, 1),
        "kept": len(data),
        "keep_rate": round(len(keep) / max(len(pool), 1), 4),
        "label_accuracy": round(right, 2),
        "seed": opts.seed,
        "seconds": round(time.perf_counter() - started, 1),
    }
    return data, about
