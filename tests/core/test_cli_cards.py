"""``cards``: the bundled models' table, and README's generated table with the worst case."""

from __future__ import annotations

import re
from pathlib import Path

from fgsm_studio.core.cli.main import main
from fgsm_studio.core.models.bundled import bundled_models
from fgsm_studio.core.reports.readme_table import END, START, headline_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_table_is_the_generated_one():
    text = README.read_text()
    block = text[text.index(START) : text.index(END) + len(END)]
    assert block == headline_table(), "run: fgsm-studio-cli cards --readme README.md"


def test_every_model_has_a_row_with_its_worst_case_labelled():
    entries = bundled_models()
    table = headline_table(entries)
    assert "**Worst case**: an image counts only if" in table
    header = next(line for line in table.splitlines() if line.startswith("| model"))
    assert "**worst 0.1**" in header and "**worst 0.3**" in header
    rows = [line for line in table.splitlines() if line.startswith("| ") and line != header]
    assert len(rows) == len(entries)
    for entry, row in zip(entries, rows, strict=True):
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        assert cells[0] == entry.title
        worst = entry.metrics.get("worst-case", 0.1)
        if worst is None:
            assert cells[4] == "**-**" and cells[-1] == "-"
        else:
            assert cells[4] == f"**{100 * worst:.1f}**"
            assert re.match(r"\d+ images \(", cells[-1]), cells[-1]


def test_cards_rewrites_only_the_block(tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\nbefore\n\n{START}\nold table\n{END}\n\nafter\n")
    assert main(["cards", "--readme", str(readme)]) == 0
    text = readme.read_text()
    assert text.startswith("# Title\n\nbefore\n\n") and text.endswith(f"{END}\n\nafter\n")
    assert "old table" not in text and headline_table() in text
    assert capsys.readouterr().out == ""  # with --readme alone nothing is printed


def test_cards_readme_errors_are_one_line(tmp_path, capsys):
    plain = tmp_path / "plain.md"
    plain.write_text("# no markers\n")
    for path, message in (
        (tmp_path / "missing.md", "does not exist or is not a file"),
        (plain, "has no generated bundled-models block"),
    ):
        assert main(["cards", "--readme", str(path)]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert plain.read_text() == "# no markers\n"


def test_the_tables_say_which_models_keep_their_weights_in_8_bits(tmp_path):
    from fgsm_studio.core.models.bundled import ModelEntry, cards_markdown
    from fgsm_studio.core.models.card import ModelCard
    from fgsm_studio.core.models.checkpoint import read_card, save
    from fgsm_studio.core.models.networks import build

    card = ModelCard("small_cnn", 10, [str(i) for i in range(10)], 1, 28, [0.13], [0.31])
    model = build(
        "small_cnn", num_classes=10, in_channels=1, image_size=28, mean=[0.13], std=[0.31]
    )
    entries = []
    for name, int8 in (("f.safetensors", False), ("q.safetensors", True)):
        path = save(tmp_path / name, model, card, half=True, int8=int8)
        entries.append(ModelEntry(path, read_card(path)))
    assert "MB together, float16 weights; 1 small_cnn in 8 bits), each" in headline_table(entries)
    assert "float16 weights)" in headline_table(entries[:1])
    rows = [line for line in cards_markdown(entries).splitlines() if line.startswith("| `")]
    assert rows[0].endswith(" MB |") and rows[1].endswith(" MB, int8 |")
