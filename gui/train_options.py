"""What the Train view's form offers, and the check of a combination before work starts.

The choices (datasets, defenses, what the best epoch is chosen by, augmentation,
the first layer of the big networks), the presets in plain words, the one-line
explanations of the expert options, which option applies where (``applies``),
and ``problem(spec)``: the one sentence that says why a ``RunSpec`` made by the
form should not start, or None. No widgets here: the form (``train_form``) draws
these and the view refuses a job that has a problem.
"""

from __future__ import annotations

from fgsm_studio.core.augment import DIGIT_DATASETS
from fgsm_studio.core.experiments import RunSpec

# (label, dataset name, needs a folder, uses the dataset's own train/test split)
DATASETS = [
    ("MNIST digits: 5000 bundled (10-fold protocol)", "mnist-5k", False, False),
    ("Fashion-MNIST (train/test split)", "fashion-mnist", False, True),
    ("MNIST idx files in a folder...", "mnist", True, True),
    ("CIFAR-10 python batches folder...", "cifar10", True, True),
    ("Images, one folder per class (10-fold protocol)...", "folder", True, False),
]
# (value, label) of every defense; the form offers those this TrainConfig knows.
DEFENSES = [
    ("wr_fgsm", "WR_FGSM (paper, Eq. 8)"),
    ("none", "none (standard)"),
    ("fgsm-rs", "FGSM, random start"),
    ("pgd", "PGD training"),
    ("trades", "TRADES"),
]
SELECT_BY = [
    ("auto", "auto"),
    ("clean", "clean accuracy"),
    ("clean+fgsm", "clean + FGSM"),
    ("pgd", "PGD accuracy"),
]
AUGMENTS = [
    ("auto", "auto: by dataset"),
    ("none", "none"),
    ("digits", "digits: shift, turn, pen"),
    ("digits-elastic", "digits + elastic bends"),
    ("photos", "photos: crop and flip"),
]
STEMS = [
    ("auto", "auto: cifar up to 64 px"),
    ("half", "half: 2.7x cheaper on 28 px"),
    ("cifar", "cifar: every pixel, slowest"),
    ("standard", "standard (ImageNet's)"),
]
BIG_NETWORKS = ("mobilenet_v2", "resnet50", "densenet121")  # the paper's: a stem to choose
MULTI_STEP = ("pgd", "trades")  # defenses whose training attack takes several steps

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
PRESETS = {
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


def applies(option: str, *, defense: str, arch: str) -> bool:
    """Whether the expert ``option`` changes anything for this defense and architecture."""
    if option == "attack_steps":
        return defense in MULTI_STEP
    if option == "beta":
        return defense == "trades"
    if option == "warmup_epochs":
        return defense != "none"
    if option == "stem":
        return arch in BIG_NETWORKS
    return True


def problem(spec: RunSpec, *, needs_folder: bool = False) -> str | None:
    """One sentence on why ``spec`` should not start (None when it may)."""
    t = spec.train
    if needs_folder and not spec.root:
        return "This dataset is read from a folder: choose it with Browse... first."
    if t.defense != "none" and t.epsilon == 0:
        return (
            "A defense trains on attacked images, so its training epsilon must be above 0 "
            "(0.1 is usual for digits); or choose the defense none."
        )
    if t.defense != "none" and t.warmup_epochs > t.epochs:
        return (
            f"The epsilon warm-up ({t.warmup_epochs:g} epochs) is longer than the run "
            f"({t.epochs} epochs), so training would never reach epsilon {t.epsilon:g}: "
            "use fewer warm-up epochs or more epochs."
        )
    if t.augment == "photos" and spec.dataset in DIGIT_DATASETS:
        return (
            "Photo augmentation flips images left to right, which turns digits into shapes "
            "that are not digits: choose auto or digits for MNIST."
        )
    try:
        t.validate()
    except ValueError as exc:
        return f"These settings cannot train: {exc}."
    return None
