"""Plotly figure builders for reports and notebooks.

Each builder returns a :class:`plotly.graph_objects.Figure` holding the traces of every
cell it was asked for (region x segment); :func:`sim.report.selector.finish` then shows
one cell and records what the selector may change. No figure is duplicated per region.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sim.report.data import ALL, ReportData
from sim.report.events import add_events
from sim.report.labels import is_region_level, plot_text, spec
from sim.report.selector import finish
from sim.report.styles import DASHES, PALETTE, VENDOR_PALETTE, rgba, scenario_style

__all__ = ["timeseries", "capability", "PALETTE", "VENDOR_PALETTE", "HHI_REFERENCES",
           "BAND_NOTE", "POSTERIOR_BAND_NOTE", "STUDY_BAND_NOTE", "DASHES", "band_note",
           "scenario_style", "cells_for", "initial_choice", "outcome_labels",
           "layout", "rgba", "x_dates", "region_cells", "subtitle"]

#: Horizontal HHI reference lines (CALIBRATION.md "Concentration conventions"): the US 2023
#: Merger Guidelines' highly-concentrated level and the EU 2004 Horizontal Merger Guidelines'
#: 1,000 / 2,000 screens, as (value, label, which end of the line is labelled, dash).
HHI_REFERENCES = (
    (1000, "EU 2004: 1,000", "left", "dot"),
    (2000, "EU 2004: 2,000", "left", "dot"),
    (1800, "US 2023: 1,800 (highly concentrated)", "right", "longdash"),
)

BAND_NOTE = ("Line: mean over replications. Band: 5-95 % spread across replications at fixed "
             "parameters, not parameter uncertainty.")
POSTERIOR_BAND_NOTE = (
    "Line: mean over the worlds (posterior draws x replications). Band: 5-95 % across those "
    "worlds, parameter and stochastic uncertainty together; summary.csv keeps them apart "
    "(sd_parametric, sd_stochastic) and gives each paired effect over draws (diff_p05 .. "
    "diff_p95).")
STUDY_BAND_NOTE = ("Line: mean over design points. Band: 5-95 % across design points "
                   "(each averaged over its replications): the effect of the varied parameters.")
#: Short forms shown under figure titles (Plotly does not wrap them).
BAND_SUBTITLE = "Band: 5-95 % across replications at fixed parameters (not parameter uncertainty)"
POSTERIOR_BAND_SUBTITLE = ("Band: 5-95 % across {draws} posterior draws x {reps} replications "
                           "(parameter and stochastic uncertainty)")
STUDY_BAND_SUBTITLE = "Band: 5-95 % across design points (parameter variation)"

def layout(fig: go.Figure, height: int = 470, legend_below: bool = True,
            legend_y: float = -0.12) -> go.Figure:
    """The reports' common layout: white template, title at the left, legend below."""
    fig.update_layout(
        template="plotly_white", height=height, font={"size": 12},
        margin={"l": 70, "r": 30, "t": 80, "b": 40},
        title={"x": 0.0, "xanchor": "left", "font": {"size": 15}},
        hoverlabel={"namelength": -1},
        legend={"orientation": "h", "yanchor": "top", "y": legend_y, "x": 0.0} if legend_below
        else {},
    )
    return fig


def cells_for(data: ReportData, metric: str | None, regions: list[str] | None = None,
              segments: list[str] | None = None) -> list[tuple[str, str | None]]:
    """(region, segment) cells a figure holds; segment None for a region-level metric.

    ``hhi_market`` has no cell for segment ``all`` (no single relevant market: it is NaN).
    """
    regions = data.regions if regions is None else regions
    if metric is not None and is_region_level(metric):
        return [(r, None) for r in regions]
    segments = data.segments if segments is None else segments
    if metric == "hhi_market":
        segments = [s for s in segments if s != ALL] or segments
    return [(r, s) for r in regions for s in segments]


def initial_choice(data: ReportData, cells: list[tuple[str, str | None]]) -> dict[str, str]:
    """The report's default (region, segment) when the figure has it, else its first cell."""
    want = data.default_choice
    regions = [r for r, _ in cells]
    segments = [s for _, s in cells if s is not None]
    region = want["region"] if want["region"] in regions else regions[0]
    segment = want["segment"] if want["segment"] in segments or not segments else segments[0]
    return {"region": region, "segment": segment}


def _meta(region: str, segment: str | None, **extra: str) -> dict[str, str]:
    meta = {"region": region}
    if segment is not None:
        meta["segment"] = segment
    meta.update(extra)
    return meta


def x_dates(data: ReportData, months: np.ndarray) -> list[str]:
    """Calendar months ('YYYY-MM') of steps, the x axis of time figures."""
    return [data.dates[int(m)] for m in months]


def _band_traces(fig: go.Figure, data: ReportData, metric: str, group: str, colour: str,
                 cell: pd.DataFrame, meta: dict[str, str], *, band: bool = True,
                 dash: str = "solid",
                 name_suffix: str = "", row: int | None = None, col: int | None = None,
                 showlegend: bool = True) -> None:
    s = spec(metric)
    x = x_dates(data, cell.index.to_numpy())
    mean = cell["mean"].to_numpy(dtype=float) * s.scale
    lo = cell["lo"].to_numpy(dtype=float) * s.scale
    hi = cell["hi"].to_numpy(dtype=float) * s.scale
    label = plot_text(data.group_label(group)) + name_suffix
    where = {"row": row, "col": col} if row is not None else {}
    if band and np.nanmax(np.abs(hi - lo), initial=0.0) > 0:
        fig.add_trace(go.Scatter(x=x, y=lo, mode="lines", line={"width": 0}, hoverinfo="skip",
                                 showlegend=False, legendgroup=group, meta=meta), **where)
        fig.add_trace(go.Scatter(x=x, y=hi, mode="lines", line={"width": 0}, fill="tonexty",
                                 fillcolor=rgba(colour, 0.18), hoverinfo="skip",
                                 name=f"{label}: 5-95 %", legendgroup=group,
                                 showlegend=showlegend, meta=meta), **where)
    fig.add_trace(go.Scatter(
        x=x, y=mean, mode="lines", line={"color": colour, "width": 2.2, "dash": dash},
        name=label,
        legendgroup=group, showlegend=showlegend, meta=meta,
        customdata=np.column_stack([lo, hi]),
        hovertemplate=f"%{{y:{s.d3}}} (5-95 %: %{{customdata[0]:{s.d3}}} to "
                      f"%{{customdata[1]:{s.d3}}})"), **where)


def subtitle(data: ReportData) -> str:
    """What the bands mean, under a figure's title."""
    if data.is_study:
        return STUDY_BAND_SUBTITLE
    post = getattr(data.results, "posterior", None)
    if post:
        return POSTERIOR_BAND_SUBTITLE.format(draws=post["draws"],
                                              reps=post["replications_per_draw"])
    return BAND_SUBTITLE


def band_note(data: ReportData) -> str:
    """What the lines and bands mean, for the report's notes."""
    if data.is_study:
        return STUDY_BAND_NOTE
    return POSTERIOR_BAND_NOTE if getattr(data.results, "posterior", None) else BAND_NOTE


def _value_axis(metric: str, **extra: object) -> dict[str, object]:
    """Main y axis of a metric: title, scale and tick format."""
    s = spec(metric)
    axis: dict[str, object] = {"title": {"text": s.unit}, **extra}
    if s.log:
        axis.update(type="log", tickformat=".3~g")
    elif metric.startswith("hhi"):
        axis["tickformat"] = s.d3
    axis["hoverformat"] = s.d3
    return axis


def _stats(data: ReportData, metric: str) -> pd.DataFrame:
    return data.bands([metric])[metric]


def timeseries(data: ReportData, metric: str | list[str], *,
               cells: list[tuple[str, str | None]], references: bool | None = None,
               events: bool = True, title: str | None = None,
               choice: dict[str, str] | None = None) -> go.Figure:
    """Metrics over time: mean line and 5-95 % band per scenario, for every cell.

    Args:
        data: The report data.
        metric: A market metric, or several (the figure then has a ``metric`` select).
        cells: (region, segment) pairs to include (segment None: region-level metric).
        references: Draw the merger-guideline HHI lines. They are drawn on ``hhi_market``
            only (the relevant-market HHI the guidelines speak of); default: for it.
        events: Draw policy switches and other events as vertical markers.
        title: Base title (default: the metric's label).
        choice: What to show first (default: the report's default region and segment).
    """
    metrics = [metric] if isinstance(metric, str) else list(metric)
    references = (metrics == ["hhi_market"]) if references is None else (
        references and metrics == ["hhi_market"])
    fig = go.Figure()
    for m in metrics:
        stats = _stats(data, m)
        have = set(stats.index.droplevel(3))
        for gi, group in enumerate(data.groups):
            colour, dash = scenario_style(gi)
            for region, segment in cells:
                key = (group, region, segment or ALL)
                if key not in have:
                    continue
                meta = _meta(region, segment)
                if len(metrics) > 1:
                    meta["metric"] = m
                _band_traces(fig, data, m, group, colour, stats.loc[key], meta, dash=dash)
    if events:
        add_events(fig, data, {r for r, _ in cells})
    if references:
        _add_references(fig, data)
    if "hhi_market" in metrics and any(s == ALL for s in data.segments):
        _no_market_note(fig, data)
    layout(fig)
    fig.update_layout(yaxis=_value_axis(metrics[0], rangemode="tozero" if references
                                        else "normal"))
    fig.update_xaxes(title_text=None, hoverformat="%Y-%m")
    fig.update_layout(hovermode="x unified")
    dims = ["region"] if all(seg is None for _, seg in cells) else ["region", "segment"]
    start = dict(choice or initial_choice(data, cells))
    labels = None
    if len(metrics) > 1:
        dims.append("metric")
        start.setdefault("metric", metrics[0])
        labels = outcome_labels(metrics)
        _axis_meta(fig, metrics)
    base = title or spec(metrics[0]).label
    return finish(fig, base, dims, start, subtitle(data), labels=labels)


def _axis_meta(fig: go.Figure, metrics: list[str]) -> None:
    """Axis title and type per metric, for the selector to switch with the metric."""
    meta = dict(fig.layout.meta or {})
    meta["axis"] = {m: spec(m).unit for m in metrics}
    meta["axistype"] = {m: "log" if spec(m).log else "linear" for m in metrics}
    fig.update_layout(meta=meta)


def _no_market_note(fig: go.Figure, data: ReportData) -> None:
    """Say, on the chart, why segment ``all`` shows no relevant-market HHI."""
    first = data.dates[min(data.dates)]
    fig.add_trace(go.Scatter(
        x=[first], y=[5000], mode="text", hoverinfo="skip", showlegend=False,
        text=["No relevant-market HHI for all segments together (people and organisations "
              "are not pooled): choose a segment"], textposition="middle right",
        textfont={"size": 13, "color": "#5b6775"}, meta={"segment": ALL}))


def _add_references(fig: go.Figure, data: ReportData) -> None:
    """Merger-guideline thresholds, shown for every (region, segment) market, not for ``all``.

    Traces rather than layout shapes, so the selector hides them with segment ``all``
    (which has no relevant market) like any other cell-specific trace.
    """
    named = [s for s in data.segments if s != ALL]
    first, last = data.dates[min(data.dates)], data.dates[data.final_month]
    meta = {"segment": named}
    for value, label, side, dash in HHI_REFERENCES:
        text = [plot_text(label), ""] if side == "left" else ["", plot_text(label)]
        fig.add_trace(go.Scatter(
            x=[first, last], y=[value, value], mode="lines+text", text=text,
            textposition="top right" if side == "left" else "top left",
            textfont={"size": 10, "color": "#555"}, hoverinfo="skip", showlegend=False,
            line={"color": "#7a7a7a", "width": 1, "dash": dash}, meta=meta))
    # keep every reference line inside the autoscaled range, whatever cell is shown
    fig.add_trace(go.Scatter(x=[first], y=[2300], mode="markers", marker={"opacity": 0},
                             hoverinfo="skip", showlegend=False, meta=meta))


def region_cells(data: ReportData, regions: list[str] | None) -> list[str]:
    """The regions a figure holds (default: all, ``World`` first)."""
    return data.regions if regions is None else regions


def capability(data: ReportData, regions: list[str] | None = None) -> go.Figure:
    """Capability frontiers (closed solid, open dashed) and the gap in months."""
    regions = region_cells(data, regions)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        row_heights=[0.58, 0.42])
    front = data.bands(["frontier_closed", "frontier_open"])
    gap = _stats(data, "gap_months")
    for gi, group in enumerate(data.groups):
        colour = PALETTE[gi % len(PALETTE)]
        label = plot_text(data.group_label(group))
        for region in regions:
            key = (group, region, ALL)
            if key not in gap.index.droplevel(3):
                continue
            meta = {"region": region}
            x = x_dates(data, front.loc[key].index.to_numpy())
            for metric, dash, what in (("frontier_closed", "solid", "closed"),
                                       ("frontier_open", "dash", "open")):
                fig.add_trace(go.Scatter(
                    x=x, y=front.loc[key][(metric, "mean")].to_numpy(dtype=float),
                    mode="lines", line={"color": colour, "width": 2, "dash": dash},
                    name=f"{label}" if what == "closed" else f"{label}: open frontier",
                    legendgroup=group, showlegend=what == "closed", meta=meta,
                    hovertemplate=f"{what} %{{y:.1f}}"), row=1, col=1)
            _band_traces(fig, data, "gap_months", group, colour, gap.loc[key], meta,
                         name_suffix=": gap", row=2, col=1, showlegend=False)
    layout(fig, height=620)
    fig.update_layout(hovermode="x unified")
    fig.update_yaxes(title_text="capability, points", row=1, col=1)
    fig.update_yaxes(title_text="gap, months", rangemode="tozero", row=2, col=1)
    fig.update_xaxes(hoverformat="%Y-%m")
    first = data.default_region if data.default_region in regions else regions[0]
    return finish(fig, "Capability frontier, open vs closed, and the gap", ["region"],
                  {"region": first}, "Top: closed frontier solid, open dashed. Bottom: "
                  "gap in months. " + subtitle(data))


def outcome_labels(outcomes: list[str]) -> dict[str, str]:
    """Display label of each metric of a ``metric`` select."""
    return {m: spec(m).label for m in outcomes}
