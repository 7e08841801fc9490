"""What the Train view's form offers, and the check of a combination before work starts.

The choices (datasets, defenses, what the best epoch is chosen by, augmentation,
the first layer of the big networks) as menus of ``core.catalogue``'s entries, the
presets in plain words, the one-line explanations of the expert options, and
``problem(spec)``: the one sentence that says why a ``RunSpec`` made by the form
should not start, or None (``TrainConfig.problems``, which the CLI shows too, plus
the form's own: a folder to browse for). No widgets here: the form (``train_form``)
draws these and the view refuses a job that has a problem.
"""

from __future__ import annotations

from typing import Any

from fgsm_studio.core import catalogue
from fgsm_studio.core.runs.spec import RunSpec

# (label, dataset name, needs a folder, uses the dataset's own train/test split)
DATASETS = [
    (e.label, e.name, e.has("needs_folder"), e.has("own_split")) for e in catalogue.menu("dataset")
]
# (value, label) of every defense, augmentation, stem and selection rule (core.catalogue)
DEFENSES = [(e.name, e.label) for e in catalogue.menu("defense")]
SELECT_BY = [(e.name, e.label) for e in catalogue.menu("select_by")]
AUGMENTS = [(e.name, e.label) for e in catalogue.menu("augment")]
STEMS = [(e.name, e.label) for e in catalogue.menu("stem")]

# One line under each expert option, in plain words (the tooltip says a little more).
NOTES = {
    "augment": "Varies each training image a little, so the model holds on images it never saw.",
    "attack_steps": "Steps of the training attack: more make stronger examples, each costs a pass.",
    "beta": "TRADES: how much robustness counts against clean accuracy (6 is usual).",
    "warmup_epochs": "The training epsilon grows from 0 over these epochs (helps at eps 0.3).",
    "stem": "First layer on small images: half is 2.7x cheaper on 28 px digits than cifar.",
}
TIPS = {
    "augment": "digits: shifts of a few pixels, small turns and scaling, a thicker or thinner "
    "pen; photos: random crops and left-right flips; auto: digits for MNIST, photos otherwise.",
    "attack_steps": "PGD and TRADES build each training example in this many small steps "
    "(10 is usual; 5-7 trains about twice as fast and holds nearly as well).",
    "beta": "TRADES weighs the change of the prediction under attack by beta: higher is more "
    "robust and less accurate on clean images (Zhang et al. 2019 use 6).",
    "warmup_epochs": "A usual precaution at a large epsilon: the attack starts weak so the "
    "network can learn the digits first (the bundled eps 0.3 model used 2).",
    "stem": "MobileNetV2, ResNet50 and DenseNet121 were made for 224 px photos. cifar: a "
    "stride-1 first layer (all 28 px kept, slowest); half: stride 2 (14 px in, 2.7x less work); "
    "standard: ImageNet's; auto: cifar up to 64 px, standard above.",
}

# name -> the fields it sets; "defense" falls back to the first one offered of a list.
PRESETS: dict[str, dict[str, Any]] = {
    "Quick look: about a minute": dict(
        defense=("wr_fgsm",),
        a1=0.5,
        epsilon=0.1,
        epochs=3,
        limit=1000,
        select_by="auto",
        augment="auto",
        attack_steps=10,
        beta=6.0,
        warmup_epochs=0.0,
    ),
    "The paper's WR_FGSM": dict(
        defense=("wr_fgsm",),
        a1=0.5,
        epsilon=0.1,
        epochs=10,
        limit=0,
        select_by="auto",
        augment="none",  # the paper trains on the images as they are
        attack_steps=10,
        beta=6.0,
        warmup_epochs=0.0,
    ),
    # As the bundled PGD-AT model (resources/models/build.sh): a1 = 1, 10 steps, digits varied.
    "Strongest defense we have": dict(
        defense=("pgd", "trades", "wr_fgsm"),
        a1=1.0,
        epsilon=0.1,
        epochs=15,
        limit=0,
        select_by="pgd",
        augment="digits",
        attack_steps=10,
        beta=6.0,
        warmup_epochs=0.0,
    ),
}


def problem(spec: RunSpec, *, needs_folder: bool = False) -> str | None:
    """One sentence on why ``spec`` should not start (None when it may)."""
    if needs_folder and not spec.root:
        return "This dataset is read from a folder: choose it with Browse... first."
    problems = spec.problems()
    return problems[0] if problems else None
