"""The domain's words, written once: every attack, defense, dataset, augmentation, stem
and selection rule, with its names, plain words, options and properties.

Each is one ``Entry``: ``name`` (what configs, cards, records and the CLI say),
``label`` (short, for a menu or a bar), ``words`` (a sentence for a newcomer),
``report`` (what the reproduction report and the card tables call it; ``{a1}``-style
fields are filled from the run), ``options`` (the training options it reads, beyond
the common ones) and ``properties`` (``"defended"``, ``"multi_step"``,
``"needs_folder"`` ...). The CLI's choices, the Train form's menus and the rules of
``TrainConfig.problems``, a card's title and detail line, the report's defense
names and the Explorer's attack menu all read these tables, so a new defense is
its entry here plus its loss in ``core.training.defenses`` (``tests/core/test_catalogue.py``
walks every entry through the CLI parser, the Train form, a card title and the
report label). No torch, no numpy: ``fgsm-studio-cli --help`` imports it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Entry:
    name: str
    label: str  # short: a menu item, a bar's title
    words: str = ""  # plain words for a newcomer (a tooltip, a card's first sentence)
    report: str = ""  # the report's and the card tables' name; may hold {a1}, {a2}, {reg}
    options: tuple[str, ...] = ()  # TrainConfig fields it reads beyond the common ones
    properties: frozenset[str] = field(default_factory=frozenset)
    detail: str = ""  # defenses: its name in a card's detail line
    title: str = ""  # defenses: its kind in a card's title, "... (PGD-defended)"

    def has(self, prop: str) -> bool:
        return prop in self.properties

    def report_name(self, **values: Any) -> str:
        """``report`` (or ``label``) with its ``{field}`` places filled from ``values``."""
        text = self.report or self.label
        return text.format(**values) if "{" in text else text


def _p(*names: str) -> frozenset[str]:
    return frozenset(names)


# ------------------------------------------------------------------ attacks
# properties: "evaluate" (the CLI's evaluation attacks), "explorer" (the Explorer's menu),
# "robust" (core.measure.robustness's worst case), "multi_step", "targeted" (can aim at a class)
ATTACK_ENTRIES = (
    Entry(
        "fgsm",
        "FGSM (one step)",
        "Fast Gradient Sign Method: one step, each pixel moved by epsilon in the direction "
        "that most increases the model's error",
        report="FGSM",
        properties=_p("evaluate", "explorer", "robust", "targeted"),
    ),
    Entry(
        "bim",
        "BIM (iterative)",
        "Basic Iterative Method: many small FGSM steps, never leaving the epsilon limit; "
        "stronger than FGSM",
        report="BIM",
        properties=_p("evaluate", "explorer", "multi_step", "targeted"),
    ),
    Entry(
        "pgd",
        "PGD (random start)",
        "Projected Gradient Descent: BIM from a random starting point; the standard strong "
        "attack to judge a defense by",
        report="PGD",
        properties=_p("evaluate", "explorer", "robust", "multi_step", "targeted"),
    ),
    Entry(
        "apgd-ce",
        "APGD-CE (auto step)",
        "Auto-PGD with the cross-entropy loss (Croce & Hein 2020, the first attack of "
        "AutoAttack): PGD that tunes its own step size; it shows the image unchanged "
        "where it finds no flip. Untargeted only",
        report="APGD-CE",
        properties=_p("explorer", "robust", "multi_step"),
    ),
    Entry(
        "apgd-t",
        "APGD-T (targeted DLR)",
        "Auto-PGD with the targeted DLR loss, against each of the most likely wrong classes",
        report="APGD-T",
        properties=_p("robust", "multi_step"),
    ),
    Entry(
        "square",
        "Square (black box)",
        "A random search of small squares that uses no gradient at all",
        report="Square",
        properties=_p("robust"),
    ),
)

# ------------------------------------------------------------------ defenses
# properties: "defended" (trains on attacked images), "paper" (the paper's WR_FGSM: the
# sweep, Table 1), "reuses_gradient" (its attack is the clean pass's own input gradient),
# "multi_step" (its training attack takes attack_steps steps), "ddp" (trains under --ddp)
DEFENSE_ENTRIES = (
    Entry(
        "none",
        "none (standard)",
        "Standard training, no defense: small attacks fool it.",
        report="standard",
        properties=_p("ddp"),
        detail="standard training (no defense)",
        title="standard",
    ),
    Entry(
        "wr_fgsm",
        "WR_FGSM (paper, Eq. 8)",
        "Trained to resist attacks (WR_FGSM): small attacks rarely fool it.",
        report="WR_FGSM a1={a1:g} a2={a2:g} ({reg})",
        options=("a1", "reg", "warmup_epochs"),
        properties=_p("defended", "paper", "reuses_gradient", "ddp"),
        detail="WR_FGSM-defended (the paper's defense)",
        title="WR_FGSM-defended",
    ),
    Entry(
        "fgsm-rs",
        "FGSM, random start",
        "Trained to resist attacks (fast FGSM with a random start): small attacks rarely fool it.",
        report="FGSM-RS (Wong et al.)",
        options=("a1", "reg", "warmup_epochs"),
        properties=_p("defended"),
        detail="FGSM-RS-defended (FGSM from a random start)",
        title="FGSM-RS-defended",
    ),
    Entry(
        "pgd",
        "PGD training",
        "Trained against the strongest usual attack (PGD): resists attacks up to the size "
        "it was trained for.",
        report="PGD-AT (Madry et al.)",
        options=("attack_steps", "warmup_epochs"),
        properties=_p("defended", "multi_step"),
        detail="PGD adversarial training",
        title="PGD-defended",
    ),
    Entry(
        "trades",
        "TRADES",
        "Trained to resist attacks (TRADES): resists attacks up to the size it was trained for.",
        report="TRADES (Zhang et al.)",
        options=("attack_steps", "beta", "warmup_epochs"),
        properties=_p("defended", "multi_step"),
        detail="TRADES-defended",
        title="TRADES-defended",
    ),
)

# ------------------------------------------------------------------ datasets
# properties: "needs_folder" (read from a folder the user names), "own_split" (its own
# train/test split, not the 10-fold protocol), "digits" (handwritten digits: no flips)
DATASET_ENTRIES = (
    Entry(
        "mnist-5k",
        "MNIST: 5,000 bundled digits, 10 folds",
        "handwritten digits",
        properties=_p("digits"),
    ),
    Entry(
        "mnist",
        "MNIST idx files in a folder...",
        "handwritten digits",
        properties=_p("needs_folder", "own_split", "digits"),
    ),
    Entry(
        "fashion-mnist",
        "Fashion-MNIST (train/test split)",
        "clothing photos (Fashion-MNIST)",
        properties=_p("own_split"),
    ),
    Entry(
        "cifar10",
        "CIFAR-10 python batches folder...",
        "small colour photos (CIFAR-10)",
        properties=_p("needs_folder", "own_split"),
    ),
    Entry(
        "folder",
        "Images, a folder per class, 10 folds...",
        "its images",
        properties=_p("needs_folder"),
    ),
)

# ------------------------------------------------------------------ augmentations
AUGMENT_ENTRIES = (
    Entry("none", "none", "Every training image as it is."),
    Entry("digits", "digits: shift, turn, pen", "Shifts, small turns and scaling, pen width."),
    Entry(
        "digits-elastic",
        "digits + elastic bends",
        "digits, then every stroke bent a little (Simard et al. 2003's elastic distortion).",
    ),
    Entry(
        "photos",
        "photos: crop and flip",
        "Random crops and left-right flips.",
        properties=_p("flips"),  # a flipped digit is not a digit
    ),
    Entry("auto", "auto: by dataset", "digits for MNIST, photos otherwise."),
)

# ------------------------------------------------------------------ stems (core.models.networks)
STEM_ENTRIES = (
    Entry("auto", "auto: cifar up to 64 px", "cifar up to 64 px, standard above."),
    Entry("cifar", "cifar: every pixel, slowest", "A stride-1 first layer: every pixel kept."),
    Entry("half", "half: 2.7x cheaper on 28 px", "Stride 2: 2.7x less work on 28 px digits."),
    Entry("standard", "standard (ImageNet's)", "The first layer made for 224 px photos."),
)

# ------------------------------------------------------------------ selection rules
SELECTION_ENTRIES = (
    Entry("auto", "auto", "clean + FGSM with a defense, clean without."),
    Entry("clean", "clean accuracy", "The epoch right most often on clean images."),
    Entry("clean+fgsm", "clean + FGSM", "Clean plus FGSM accuracy on the validation set."),
    Entry("pgd", "PGD accuracy", "PGD accuracy: the honest choice for a defense."),
)

TRAINABLE = ("small_cnn", "mobilenet_v2", "resnet50", "densenet121", "small_cnn_wide")
BIG_NETWORKS = ("mobilenet_v2", "resnet50", "densenet121")  # ImageNet's: a stem to choose
LR_SCHEDULES = ("constant", "cosine")
WORST_CASE_SETTINGS = ("light", "full")  # core.measure.robustness


def _names(entries: tuple[Entry, ...], prop: str | None = None) -> tuple[str, ...]:
    return tuple(e.name for e in entries if prop is None or e.has(prop))


DEFENSES = _names(DEFENSE_ENTRIES)
DATASETS = _names(DATASET_ENTRIES)
AUGMENTS = _names(AUGMENT_ENTRIES)
STEMS = _names(STEM_ENTRIES)
SELECT_BY = _names(SELECTION_ENTRIES)
ATTACKS = _names(ATTACK_ENTRIES, "evaluate")  # the evaluation attacks (core.attacks.gradient)
EXPLORER_ATTACKS = _names(ATTACK_ENTRIES, "explorer")
ROBUST_ATTACKS = _names(ATTACK_ENTRIES, "robust")
MULTI_STEP = _names(DEFENSE_ENTRIES, "multi_step")  # defenses with attack_steps
DIGIT_DATASETS = _names(DATASET_ENTRIES, "digits")
NEEDS_FOLDER = _names(DATASET_ENTRIES, "needs_folder")
PAPER = _names(DEFENSE_ENTRIES, "paper")[0]  # the paper's defense: the sweep, Table 1

_TABLES = {
    "attack": ATTACK_ENTRIES,
    "defense": DEFENSE_ENTRIES,
    "dataset": DATASET_ENTRIES,
    "augment": AUGMENT_ENTRIES,
    "stem": STEM_ENTRIES,
    "select_by": SELECTION_ENTRIES,
}


# The Train form's menus list these first (its default at the top), then the rest in order.
_MENU_FIRST = {
    "defense": (PAPER, "none"),
    "dataset": ("mnist-5k", "fashion-mnist"),
    "augment": ("auto",),
    "stem": ("auto", "half"),
}


def menu(kind: str) -> tuple[Entry, ...]:
    """The entries of ``kind`` in the order a menu shows them (the default first)."""
    first = _MENU_FIRST.get(kind, ())
    table = _TABLES[kind]
    return tuple(entry(kind, n) for n in first) + tuple(e for e in table if e.name not in first)


def entries(kind: str) -> tuple[Entry, ...]:
    """Every entry of ``kind`` ("attack", "defense", "dataset", "augment", "stem", "select_by")."""
    return _TABLES[kind]


def entries_named(kind: str) -> tuple[str, ...]:
    """The names of every entry of ``kind``."""
    return _names(_TABLES[kind])


def entry(kind: str, name: str) -> Entry:
    """The entry ``name`` of ``kind``; ValueError with the names to choose from if unknown."""
    for e in _TABLES[kind]:
        if e.name == name:
            return e
    choices = ", ".join(e.name for e in _TABLES[kind])
    raise ValueError(f"{kind} must be one of {choices}, not {name!r}")


def defense(name: str) -> Entry:
    """The defense ``name``; an unknown one (a card from a newer version) gets words made
    from its name, so an old window still shows it."""
    try:
        return entry("defense", name)
    except ValueError:
        return Entry(
            name,
            name,
            "Trained to resist attacks.",
            report=name,
            properties=_p("defended"),
            detail=f"{name}-defended",
            title=f"{name}-defended",
        )


def defended(name: str) -> bool:
    """Whether a model trained with the defense ``name`` trained on attacked images."""
    return defense(name).has("defended")


_defense = defense  # for the functions whose keyword argument is called defense


def is_paper(name: str) -> bool:
    """Whether ``name`` is the paper's defense (WR_FGSM: its sweep, Table 1, its report rows)."""
    return defense(name).has("paper")


def applies(option: str, *, defense: str, arch: str) -> bool:
    """Whether the training ``option`` changes anything for this defense and architecture."""
    if option in ("attack_steps", "beta", "warmup_epochs"):
        return option in _defense(defense).options
    if option == "stem":
        return arch in BIG_NETWORKS
    return True


def resolve_augment(name: str, dataset: str = "") -> str:
    """The augmentation ``name`` stands for; ``"auto"`` decides by the dataset."""
    if name not in AUGMENTS:
        raise ValueError(f"augment must be one of {', '.join(AUGMENTS)}, not {name!r}")
    if name == "auto":
        return "digits" if dataset in DIGIT_DATASETS else "photos"
    return name
