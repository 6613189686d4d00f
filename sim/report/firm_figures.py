"""Figures of firms and product lines.

Firms' shares (concentration is over firms) and one firm's open and closed lines
(openness is over products).
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sim.report.data import ALL, ENTRANTS, ReportData
from sim.report.figures import (
    PALETTE,
    VENDOR_PALETTE,
    initial_choice,
    layout,
    region_cells,
    rgba,
    x_dates,
)
from sim.report.labels import plot_text
from sim.report.selector import finish

__all__ = ["firm_shares", "product_lines", "FIRM_MEASURES"]


#: Measures of the firm-share chart: (column of the firm table, label).
FIRM_MEASURES = (("revenue", "spend (revenue)"), ("usage", "tokens (usage)"))


def firm_shares(data: ReportData, regions: list[str] | None = None,
                max_panels: int = 6) -> go.Figure:
    """Stacked shares of the region's spend (or tokens) by firm, one panel per scenario.

    Firms, not product lines: concentration is over firms (a firm's open and closed lines
    add up). Read from the firm table, which has ``World`` rows of its own. Entrants are
    one series (:data:`~sim.report.data.ENTRANTS`): each world has its own.
    """
    regions = region_cells(data, regions)
    groups = data.ids[:max_panels]
    tables = {m: data.firm_shares(m) for m, _ in FIRM_MEASURES}
    if data.is_study:  # pool the design points
        for m, shares in tables.items():
            pooled = shares.groupby(level=["region", "vendor", "month"], observed=True).mean()
            tables[m] = pd.concat({"design points": pooled}, names=["scenario"])
        groups = ["design points"]
    cols = min(len(groups), 2)
    rows = math.ceil(len(groups) / cols)
    fig = make_subplots(rows=rows, cols=cols, shared_yaxes=True, horizontal_spacing=0.07,
                        vertical_spacing=0.14,
                        subplot_titles=[plot_text(data.group_label(g)) for g in groups])
    vendors = [*data.known_firms, ENTRANTS]
    for measure, shares in tables.items():
        index = set(shares.index.droplevel("month"))
        for gi, group in enumerate(groups):
            row, col = gi // cols + 1, gi % cols + 1
            for region in regions:
                for vi, vendor in enumerate(vendors):
                    if (group, region, vendor) not in index:
                        continue
                    series = shares.loc[(group, region, vendor)]
                    colour = VENDOR_PALETTE[vi % len(VENDOR_PALETTE)]
                    is_open = vendor in data.open_vendors
                    fig.add_trace(go.Scatter(
                        x=x_dates(data, series.index.to_numpy()),
                        y=series.to_numpy(dtype=float) * 100, mode="lines",
                        stackgroup=f"{group}|{region}|{measure}",
                        name=plot_text(vendor) + (" (open)" if is_open else ""),
                        legendgroup=vendor, showlegend=gi == 0,
                        line={"width": 0.6, "color": colour}, fillcolor=rgba(colour, 0.75),
                        fillpattern={"shape": "/", "fgcolor": "rgba(255,255,255,0.6)",
                                     "size": 6} if is_open else None,
                        meta={"region": region, "measure": measure},
                        hovertemplate="%{y:.1f} %"), row=row, col=col)
    layout(fig, height=450 + 280 * (rows - 1))
    fig.update_layout(hovermode="x unified", margin={"t": 110})
    fig.update_annotations(font={"size": 13}, yshift=4)
    fig.update_yaxes(range=[0, 100], ticksuffix=" %")
    fig.update_yaxes(title_text="% of the region's spend or tokens", col=1)
    fig.update_xaxes(hoverformat="%Y-%m")
    note = ("Mean over " + ("design points and replications" if data.is_study
                            else "replications") + "; all segments; hatched: firms whose "
            "lines are mostly open-weights.")
    if len(data.ids) > len(groups) and not data.is_study:
        note += f" First {len(groups)} of {len(data.ids)} scenarios."
    first = data.default_region if data.default_region in regions else regions[0]
    return finish(fig, "Firms' shares", ["region", "measure"],
                  {"region": first, "measure": FIRM_MEASURES[0][0]}, note,
                  labels={m: label for m, label in FIRM_MEASURES})


def product_lines(data: ReportData, firm: str, regions: list[str] | None = None,
                  firms: list[str] | None = None) -> go.Figure:
    """One firm's product lines over time: open (dashed) and closed (solid), per scenario.

    Each line's share of its (region, segment) relevant market (the measure of
    ``hhi_market``: enterprise spend, developer tokens, consumer users). The firm is a
    figure-level choice (``firm``), so one figure serves every firm.
    """
    regions = region_cells(data, regions)
    firms = firms or [firm]
    shares = data.line_shares()
    fig = go.Figure()
    if not shares.empty:
        frame = shares.reset_index()
        frame = frame[frame["region"].isin(regions) & frame["vendor"].isin(firms)]
        keys = ["scenario", "region", "segment", "vendor", "product", "openness"]
        for gi, group in enumerate(data.groups if not data.is_study else data.ids[:1]):
            colour = PALETTE[gi % len(PALETTE)]
            mine = frame[frame["scenario"] == group]
            for (_, region, segment, vendor, product, openness), part in mine.groupby(
                    keys, sort=True, observed=True):
                dash = "dash" if openness == "open" else "solid"
                label = f"{plot_text(product)} ({openness}), {plot_text(data.group_label(group))}"
                fig.add_trace(go.Scatter(
                    x=x_dates(data, part["month"].to_numpy()),
                    y=part["share"].to_numpy(dtype=float) * 100, mode="lines", name=label,
                    line={"color": colour, "width": 2, "dash": dash},
                    meta={"region": region, "segment": segment, "firm": vendor},
                    hovertemplate="%{y:.1f} %"))
    layout(fig)
    fig.update_layout(hovermode="x unified")
    fig.update_yaxes(title_text="% of the relevant market", rangemode="tozero")
    fig.update_xaxes(hoverformat="%Y-%m")
    cells = [(r, s) for r in regions for s in data.segments if s != ALL]
    start = initial_choice(data, cells)
    start["firm"] = firm
    return finish(fig, "Product lines", ["region", "segment", "firm"], start,
                  "Solid: closed lines; dashed: open-weights lines; colour: scenario. Share of "
                  "the segment's relevant market (enterprise spend, developer tokens, consumer "
                  "users).", labels={f: f for f in firms})
