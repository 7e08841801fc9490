"""Feature Squeezing measured honestly: the calibrated threshold, the strongest attack, the table."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from fgsm_studio.core.attacks.squeezing import (
    CARD_KEY,
    DETECT_THRESHOLD,
    STRONGEST,
    FeatureSqueezing,
    calibrate,
    calibration,
    for_card,
    gaps,
    strongest,
    strongest_words,
)
from fgsm_studio.core.measure.squeezing_report import (
    COLUMNS,
    SqueezeMeasurement,
    attack_table,
    calibration_table,
    measure_squeezing,
)
from fgsm_studio.core.models.checkpoint import read_card
from fgsm_studio.core.paths import resource_path


def _images(data, n):
    return data.batch(torch.arange(n))


def test_calibrated_threshold_flags_the_asked_share_of_clean_images(trained_cnn):
    model, data = trained_cnn
    squeezer = FeatureSqueezing(model, bits=1, median=2)
    x, _ = _images(data, 200)
    for rate in (0.05, 0.2):
        squeezer.threshold = calibrate(squeezer, x, rate)
        flagged = int(squeezer.flags(x).sum())
        assert 200 * rate - 2 <= flagged <= 200 * rate  # the quantile: at most the rate
    assert squeezer.straight_through_copy().threshold == squeezer.threshold
    with pytest.raises(ValueError, match="fraction"):
        calibrate(squeezer, x, 1.5)
    with pytest.raises(ValueError, match="no clean images"):
        calibrate(squeezer, x[:0])
    assert gaps(squeezer, x, batch=7).shape == (200,)


def test_for_card_reads_the_threshold_stored_in_the_card(trained_cnn):
    model, _ = trained_cnn
    card = read_card(resource_path("models", "mnist_small_cnn_standard.safetensors"))
    bare = replace(card, metrics={k: v for k, v in card.metrics.items() if k != CARD_KEY})
    assert calibration(bare) is None and for_card(model, bare).threshold == DETECT_THRESHOLD
    stored = replace(card, metrics={**bare.metrics, CARD_KEY: {"threshold": 0.42}})
    squeezer = for_card(model, stored)
    assert squeezer.threshold == 0.42 and (squeezer.bits, squeezer.median) == (1, 2)


def test_bundled_digit_cards_carry_a_calibrated_threshold():
    """The window's detector reads these: each MNIST small CNN's threshold was set on its own
    validation digits for 5% false alarms, and its clean cost measured on the sets."""
    for name in ("mnist_small_cnn_standard", "mnist_small_cnn_wr_fgsm"):
        record = calibration(read_card(resource_path("models", f"{name}.safetensors")))
        assert record is not None, name
        assert record["false_alarm_target"] == 0.05 and "validation" in record["calibrated_on"]
        assert {"own", "optdigits", "fonts"} <= set(record["clean"])
        for c in record["clean"].values():
            assert 0 <= c["squeezed"] <= 1 and 0 <= c["false_alarms"] <= 1 and c["n"] > 0


def test_strongest_attack_stays_in_the_ball_and_beats_each_of_its_parts(trained_cnn):
    model, data = trained_cnn
    defended = FeatureSqueezing(model, bits=1, median=2)
    x, y = _images(data, 24)
    eps = 0.2
    torch.manual_seed(0)
    result = strongest(defended, x, y, eps, restarts=2, steps=10, queries=50)
    assert ((result.adversarial - x).abs() <= eps + 1e-6).all()
    assert result.adversarial.min() >= 0 and result.adversarial.max() <= 1
    with torch.no_grad():
        wrong = defended(result.adversarial).argmax(1) != y
    assert torch.equal(wrong, result.fooled)  # judged by the squeezed model itself
    assert set(result.by) <= {"", "clean", *STRONGEST}
    assert [b != "" for b in result.by] == result.fooled.tolist()
    # at least as strong as BPDA alone, as the transfer attack alone
    from fgsm_studio.core.attacks.gradient import fgsm

    with torch.no_grad():
        transfer = defended(fgsm(model, x, y, eps)).argmax(1) != y
    assert (result.fooled | ~transfer).all()
    assert "Square (50 queries" in strongest_words(result.settings)
    none = strongest(defended, x, y, eps, restarts=1, steps=5, queries=0)
    assert "square" not in none.by and "no Square" in strongest_words(none.settings)


def test_measurement_worst_case_is_the_lowest_and_round_trips(trained_cnn):
    model, data = trained_cnn
    defended = FeatureSqueezing(model, bits=1, median=2, threshold=0.5)
    torch.manual_seed(0)
    m = measure_squeezing(
        defended,
        data.subset(list(range(0, 200, 10))),
        epsilons=(0.1, 0.3),
        restarts=1,
        steps=5,
        queries=20,
        name="m.safetensors",
        set_name="own",
    )
    assert m.n == 20 and set(m.attacks) == set(COLUMNS)
    for eps in (0.1, 0.3):
        worst = m.attacks["worst"][eps]
        assert all(worst <= m.attacks[c][eps] for c in COLUMNS)
        assert worst <= m.clean and 0 <= m.unflagged[eps] <= m.clean - worst + 1e-9
    assert m.attacks["bpda-pgd"][0.3] < m.clean  # BPDA finds a gradient again
    assert SqueezeMeasurement.from_dict(m.to_dict()) == m
    table = attack_table([m], {"m.safetensors": "tiny CNN"})
    assert "| tiny CNN | own | 20 | 0.3 |" in table
    record = {
        "threshold": 0.5,
        "calibrated_on": "validation part of fold 0 of 10",
        "n_calibration": 500,
        "clean": {
            "own": {"set": "own", "n": 20, "plain": 0.9, "squeezed": 0.8, "false_alarms": 0.05}
        },
    }
    assert "| 10.0 | 5.0 |" in calibration_table({"tiny CNN": record})
