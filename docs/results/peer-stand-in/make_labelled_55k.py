"""The training images of the 60k-labelled stand-in peer (docs/results/peer-stand-in.md).

MNIST's 60,000 training digits less any that is, pixel for pixel, one of the bundled 5,000
(which are MNIST's first 500 training digits of each class), with MNIST's own labels, as an
``.npz`` for ``fgsm-studio-cli train --extra-train``. Not part of the app: a measurement aid.

    python3 docs/results/peer-stand-in/make_labelled_55k.py MNIST_IDX_FOLDER OUT.npz
"""

import sys

from fgsm_studio.core.data.dataset import ImageDataset
from fgsm_studio.core.data.extra import save_extra
from fgsm_studio.core.data.loaders import load_dataset, load_mnist


def main(folder: str, out: str) -> None:
    mnist = load_mnist(folder, "train")
    bundled = {x.numpy().tobytes() for x in load_dataset("mnist-5k", None).images}
    keep = [i for i, x in enumerate(mnist.images) if x.numpy().tobytes() not in bundled]
    data = ImageDataset(mnist.images[keep], mnist.labels[keep], list(mnist.class_names), "mnist")
    about = {
        "method": "MNIST's own labels for its training digits outside the bundled 5,000 "
        "(a 60k-labelled stand-in for the public peer)",
        "images_from": {"dataset": "mnist", "n": len(mnist.images), "new": len(keep)},
    }
    save_extra(out, data, about)
    print(f"{len(keep)} of {len(mnist.images)} digits written to {out}")  # noqa: T201


if __name__ == "__main__":
    main(*sys.argv[1:3])
