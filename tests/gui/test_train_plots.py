"""The Train tab's charts in a narrow window: each title fits its chart (cut with "..."
where it must, whole in the tooltip), and nothing of the chart is cut at its edge."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPointF

from fgsm_studio.gui.train.plots import TrainPlots


@pytest.mark.parametrize("width", [730, 800, 840, 1300])
def test_every_chart_title_fits_its_chart_and_says_it_all_on_hover(qtbot, settle, width):
    """Session 7, 1c: below a ~1180 px window (the form beside the charts: ~240 px a chart)
    the robustness chart's title "Figure 3: per a1 (bars: 95% CI)" was clipped, and with it
    the chart's right edge (its axis's last number, its legend's PGD)."""
    plots = TrainPlots()
    qtbot.addWidget(plots)
    plots.resize(width, 300)
    plots.show()
    settle(plots)
    for chart in (plots.loss_chart, plots.acc_chart, plots.sweep_chart):
        view = chart.viewport().rect()
        layout = chart.ci.mapRectToScene(chart.ci.boundingRect())  # the plot and its legend
        title = chart.plot.titleLabel.mapRectToScene(chart.plot.titleLabel.boundingRect())
        assert layout.right() <= view.width() + 1, (chart.title, layout, view)
        assert title.right() <= view.width(), (chart.title, title, view)
        shown = chart.plot.titleLabel.text
        if chart.title not in shown:  # cut: the whole title is on hover
            assert shown.endswith("…") or "..." in shown
            assert chart.toolTip().startswith(chart.title)
        else:
            assert not chart.toolTip().startswith(chart.title)
    if width >= 840:  # the charts' row at 1280x720: the whole title (it fits)
        assert plots.sweep_chart.title in plots.sweep_chart.plot.titleLabel.text


@pytest.mark.parametrize(("x", "loss"), [(1.0, 2.3), (0.2, 2.3), (2.6, 0.4)])
def test_a_stopped_epochs_words_lie_inside_the_loss_plot(qtbot, settle, x, loss):
    """Session 7, 3 (seen at 1280x720): a run stopped in its first epoch put "epoch 1: 100%,
    not validated" above and left of its marker, at the plot's top: cut to "%, not valid";
    stopped at 20% of it, the marker itself was left of the axis (which began at 0.7)."""
    from fgsm_studio.core.training.config import EpochMetrics

    plots = TrainPlots()
    qtbot.addWidget(plots)
    plots.resize(840, 300)
    plots.show()
    if x > 2:  # two validated epochs before it
        ep = [EpochMetrics(i, 3, 1.0, 1.0, 1.0, 0.0, 0.9, 0.9, 0.6, 0.9, True, 1.0, 1.0, 0.5)
              for i in (1, 2)]  # fmt: skip
        plots.show_epochs(ep)
    plots.show_partial(x, loss, f"epoch {int(x) + 1}: {round(100 * (x % 1 or 1))}%, not validated")
    settle(plots)
    box = plots.loss_plot.vb.sceneBoundingRect()
    words = plots.partial_text.sceneBoundingRect()
    assert box.contains(words), (words, box)
    assert box.contains(plots.loss_plot.vb.mapViewToScene(QPointF(x, loss)))
