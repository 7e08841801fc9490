"""``fgsm-studio-cli shrink``: store a checkpoint's weights in fewer bits, and say what it cost.

``shrink MODEL --out OUT --int8`` writes MODEL's weights in 8 bits with a scale per
output channel (``core.models.int8``), ``--float16`` in 16 bits; the card goes along,
saying so. ``--out`` is required and may name MODEL itself, which then is replaced
(atomically, like every save); nothing is overwritten that the user did not name.
The new file is opened again as any checkpoint is, and the command prints the old
and new size and the largest change of a logit, with how many top classes changed,
on the bundled sample images of the card's dataset and a few random images.

The options are torch-free (``add_shrink``); the work (``shrink``) imports torch.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .values import display, out_file

RANDOM_IMAGES = 4  # besides the samples: inputs no dataset was made of
MAX_SAMPLES = 20
EXAMPLE = """examples:
  fgsm-studio-cli shrink resnet50.safetensors --out resnet50_int8.safetensors --int8
  fgsm-studio-cli shrink m.safetensors --out m.safetensors --int8   (replaces m.safetensors)"""


def add_shrink(sub: argparse._SubParsersAction, fmt: type[argparse.HelpFormatter]) -> None:
    """shrink: a checkpoint's weights in 8 or 16 bits."""
    s = sub.add_parser(
        "shrink",
        help="store a checkpoint's weights in 8 bits (or 16), with the change of its outputs",
        epilog=EXAMPLE,
        formatter_class=fmt,
    )
    s.add_argument("model", type=Path, help="the checkpoint to convert")
    s.add_argument(
        "--out",
        type=out_file,
        required=True,
        help="the file to write; name MODEL itself to replace it",
    )
    bits = s.add_mutually_exclusive_group(required=True)
    bits.add_argument(
        "--int8",
        action="store_true",
        help="conv and linear weights in 8 bits with a scale per output channel, the rest "
        "in 16 (a ResNet50: about half its float16 size)",
    )
    bits.add_argument("--float16", action="store_true", help="every weight in 16 bits (float16)")


def shrink(args: argparse.Namespace) -> int:
    """Convert, open the result again, and print the sizes and the change of the logits."""
    import torch

    from ..models.checkpoint import load, save

    old_size = args.model.stat().st_size
    before, card = load(args.model)
    save(args.out, before, card, half=args.float16, int8=args.int8)
    after, _ = load(args.out)  # what every reader will get from the new file
    new_size = args.out.stat().st_size
    images, sampled = _inputs(card)
    with torch.no_grad():
        a, b = before(images), after(images)
    change = float((a - b).abs().max())
    moved = int((a.argmax(1) != b.argmax(1)).sum())
    kind = "8 bits (int8, a scale per output channel)" if args.int8 else "16 bits (float16)"
    print(f"wrote {display(args.out)}: weights in {kind}")
    print(
        f"size: {old_size / 2**20:.2f} MB -> {new_size / 2**20:.2f} MB ({new_size / old_size:.2f}x)"
    )
    print(
        f"largest change of a logit: {change:.4g} on {sampled} sample image(s) of "
        f"{card.dataset} and {RANDOM_IMAGES} random image(s); top class changed on "
        f"{moved} of {len(images)}"
    )
    return 0


def _inputs(card):
    """(images, how many are samples): the dataset's bundled samples, then random ones."""
    import torch

    from ..data.images import load_image, to_model_input
    from ..models.bundled import samples_for

    shape = (card.in_channels, card.image_size, card.image_size)
    images = []
    try:
        samples = samples_for(card.dataset)[:MAX_SAMPLES]
    except OSError:
        samples = []
    for s in samples:
        try:
            images.append(to_model_input(load_image(s.path), card.in_channels, card.image_size))
        except (ValueError, OSError):
            continue  # a sample that cannot be read is not this command's concern
    generator = torch.Generator().manual_seed(0)
    noise = torch.rand((RANDOM_IMAGES, *shape), generator=generator)
    if not images:
        return noise, 0
    return torch.cat([torch.stack(images), noise]), len(images)
