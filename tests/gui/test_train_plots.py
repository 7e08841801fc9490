"""The Train tab's charts in a narrow window: each title fits its chart (cut with "..."
where it must, whole in the tooltip), and nothing of the chart is cut at its edge."""

from __future__ import annotations

import pytest

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
