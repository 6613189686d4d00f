"""One report figure on its own, with a region dropdown, for notebooks (``Results.figure``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import plotly.graph_objects as go

import sim.report.figures as F
import sim.report.firm_figures as FF
from sim.report.data import ALL, ReportData
from sim.report.labels import MARKET_METRICS, is_region_level
from sim.report.selector import add_menu

if TYPE_CHECKING:
    from sim.experiment.results import Results

__all__ = ["figure", "FIGURE_KINDS"]

#: Figures :func:`figure` draws besides the market metrics.
FIGURE_KINDS = ("capability", "firm_shares", "product_lines")


def figure(results: Results, metric: str, region: str | None = None,
           segment: str | None = None, **options: Any) -> go.Figure:
    """One report figure with a region dropdown (for notebooks).

    Args:
        results: The results.
        metric: A market metric (``hhi_market``, ``open_usage_share``, ...) or one of
            ``capability``, ``firm_shares``, ``product_lines``.
        region: Region shown first (the dropdown switches); default: where the compared
            scenario's policies act, as in the report.
        segment: Segment (default: ``enterprise``); region-level metrics ignore it.
        **options: Passed to the builder (e.g. ``events=False``; ``firm=`` for
            ``product_lines``).
    """
    from sim.errors import Problem, ScenarioError, suggest

    data = ReportData.from_results(results)
    region = data.default_region if region is None else region
    segment = data.default_segment if segment is None else segment
    if region not in data.regions:
        raise ScenarioError(Problem(f"unknown region {region!r}",
                                    suggestion=suggest(region, data.regions)))
    if segment not in data.segments:
        raise ScenarioError(Problem(f"unknown segment {segment!r}",
                                    suggestion=suggest(segment, data.segments)))
    regions = [region, *[r for r in data.regions if r != region]]
    choice = {"region": region, "segment": segment}
    if metric in MARKET_METRICS:
        cells = F.cells_for(data, metric, regions, [segment])
        fig = F.timeseries(data, metric, cells=cells, choice=choice, **options)
        if is_region_level(metric):
            choice["segment"] = ALL
    elif metric == "capability":
        fig = F.capability(data, regions)
    elif metric == "firm_shares":
        fig = FF.firm_shares(data, regions, **options)
        choice["measure"] = "revenue"
    elif metric == "product_lines":
        firms = data.mixed_firms or data.vendor_order
        firm = options.pop("firm", firms[0] if firms else "")
        fig = FF.product_lines(data, firm, regions, **options)
        choice["firm"] = firm
    else:
        choices = [*MARKET_METRICS, *FIGURE_KINDS]
        raise ScenarioError(Problem(f"unknown metric {metric!r}",
                                    suggestion=suggest(metric, choices)))
    return add_menu(fig, "region", data.regions, choice)
