"""Plotly figure builders for reports and notebooks.

Each builder returns a :class:`plotly.graph_objects.Figure` holding the traces of every
cell it was asked for (region x segment); :func:`sim.report.selector.finish` then shows
one cell and records what the selector may change. No figure is duplicated per region.
"""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sim.report.data import ALL, WORLD, ReportData
from sim.report.labels import is_region_level, plot_text, spec
from sim.report.selector import finish

__all__ = ["timeseries", "capability", "contributors", "vendor_shares", "sweep_scatter",
           "sweep_heatmap", "sobol_bars", "morris_plot", "calibration_misses",
           "calibration_values", "calibration_evaluations", "PALETTE", "HHI_REFERENCES",
           "BAND_NOTE", "STUDY_BAND_NOTE", "cells_for"]

#: One colour per scenario (first = reference).
PALETTE = ("#1f5aa6", "#d1495b", "#2e933c", "#edae49", "#6c4f9e", "#00798c", "#8d6a5b",
           "#e07a5f", "#5c7080", "#b5179e")
#: Vendor colours (stacked areas).
VENDOR_PALETTE = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#eeca3b",
                  "#b279a2", "#ff9da6", "#9d755d", "#bab0ac", "#1f5aa6", "#7f3c8d")

#: Horizontal HHI reference lines: (value, label, side, dash).
HHI_REFERENCES = (
    (1000, "EU 2004: 1,000", "left", "dot"),
    (2000, "EU 2004: 2,000", "left", "dot"),
    (1500, "US 2010: 1,500", "right", "dash"),
    (2500, "US 2010: 2,500", "right", "dash"),
    (1800, "US 2023: 1,800", "", "longdash"),
)

BAND_NOTE = ("Line: mean over replications. Band: 5-95 % spread across replications at fixed "
             "parameters, not parameter uncertainty.")
STUDY_BAND_NOTE = ("Line: mean over design points. Band: 5-95 % across design points "
                   "(each averaged over its replications): the effect of the varied parameters.")
#: Short forms shown under figure titles (Plotly does not wrap them).
BAND_SUBTITLE = "Band: 5-95 % across replications at fixed parameters (not parameter uncertainty)"
STUDY_BAND_SUBTITLE = "Band: 5-95 % across design points (parameter variation)"

POLICY_KINDS = ("policy_on", "policy_off", "trigger")


def _rgba(colour: str, alpha: float) -> str:
    colour = colour.lstrip("#")
    r, g, b = (int(colour[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _layout(fig: go.Figure, height: int = 470, legend_below: bool = True,
            legend_y: float = -0.12) -> go.Figure:
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
    """(region, segment) cells a figure holds; segment None for a region-level metric."""
    regions = data.regions if regions is None else regions
    if metric is not None and is_region_level(metric):
        return [(r, None) for r in regions]
    segments = data.segments if segments is None else segments
    return [(r, s) for r in regions for s in segments]


def _meta(region: str, segment: str | None, **extra: str) -> dict[str, str]:
    meta = {"region": region}
    if segment is not None:
        meta["segment"] = segment
    meta.update(extra)
    return meta


def _x(data: ReportData, months: np.ndarray) -> list[str]:
    return [data.dates[int(m)] for m in months]


def _band_traces(fig: go.Figure, data: ReportData, metric: str, group: str, colour: str,
                 cell: pd.DataFrame, meta: dict[str, str], *, band: bool = True,
                 name_suffix: str = "", row: int | None = None, col: int | None = None,
                 showlegend: bool = True) -> None:
    s = spec(metric)
    x = _x(data, cell.index.to_numpy())
    mean = cell["mean"].to_numpy(dtype=float) * s.scale
    lo = cell["lo"].to_numpy(dtype=float) * s.scale
    hi = cell["hi"].to_numpy(dtype=float) * s.scale
    label = plot_text(data.group_label(group)) + name_suffix
    where = {"row": row, "col": col} if row is not None else {}
    if band and np.nanmax(np.abs(hi - lo), initial=0.0) > 0:
        fig.add_trace(go.Scatter(x=x, y=lo, mode="lines", line={"width": 0}, hoverinfo="skip",
                                 showlegend=False, legendgroup=group, meta=meta), **where)
        fig.add_trace(go.Scatter(x=x, y=hi, mode="lines", line={"width": 0}, fill="tonexty",
                                 fillcolor=_rgba(colour, 0.18), hoverinfo="skip",
                                 name=f"{label}: 5-95 %", legendgroup=group,
                                 showlegend=showlegend, meta=meta), **where)
    fig.add_trace(go.Scatter(
        x=x, y=mean, mode="lines", line={"color": colour, "width": 2.2}, name=label,
        legendgroup=group, showlegend=showlegend, meta=meta,
        customdata=np.column_stack([lo, hi]),
        hovertemplate=f"%{{y:{s.d3}}} (5-95 %: %{{customdata[0]:{s.d3}}} to "
                      f"%{{customdata[1]:{s.d3}}})"), **where)


def _subtitle(data: ReportData) -> str:
    return STUDY_BAND_SUBTITLE if data.is_study else BAND_SUBTITLE


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


def timeseries(data: ReportData, metric: str, *, cells: list[tuple[str, str | None]],
               references: bool = False, events: bool = True,
               title: str | None = None) -> go.Figure:
    """A metric over time: mean line and 5-95 % band per scenario, for every cell.

    Args:
        data: The report data.
        metric: A market metric.
        cells: (region, segment) pairs to include (segment None: region-level metric).
        references: Draw the merger-guideline HHI lines (for HHI metrics).
        events: Draw policy switches and other events as vertical markers.
        title: Base title (default: the metric's label).
    """
    s = spec(metric)
    stats = _stats(data, metric)
    fig = go.Figure()
    for gi, group in enumerate(data.groups):
        colour = PALETTE[gi % len(PALETTE)]
        for region, segment in cells:
            key = (group, region, segment or ALL)
            if key not in stats.index.droplevel(3):
                continue
            cell = stats.loc[key]
            _band_traces(fig, data, metric, group, colour, cell, _meta(region, segment))
    if events:
        _add_events(fig, data, {r for r, _ in cells})
    if references:
        _add_references(fig, data)
    _layout(fig)
    fig.update_layout(yaxis=_value_axis(metric, rangemode="tozero" if references else "normal"))
    fig.update_xaxes(title_text=None, hoverformat="%Y-%m")
    fig.update_layout(hovermode="x unified")
    dims = ["region"] if all(seg is None for _, seg in cells) else ["region", "segment"]
    return finish(fig, title or s.label, dims, {"region": cells[0][0],
                                               "segment": cells[0][1] or ALL}, _subtitle(data))


def _add_references(fig: go.Figure, data: ReportData) -> None:
    for value, label, side, dash in HHI_REFERENCES:
        fig.add_hline(y=value, line={"color": "#7a7a7a", "width": 1, "dash": dash},
                      annotation_text=label, annotation_position=f"top {side}".strip(),
                      annotation_font={"size": 10, "color": "#555"})
    # keep every reference line inside the autoscaled range, whatever cell is shown
    first = data.dates[min(data.dates)]
    fig.add_trace(go.Scatter(x=[first], y=[2650], mode="markers", marker={"opacity": 0},
                             hoverinfo="skip", showlegend=False))


def _event_rows(data: ReportData, regions: set[str]) -> pd.DataFrame:
    events = data.events
    if events is None or len(events) == 0:
        return pd.DataFrame()
    ev = events[events["region"].isin(regions | {WORLD})].copy()
    ev["detail"] = ev["detail"].fillna("").astype(str)
    ev["vendor"] = ev["vendor"].fillna("").astype(str)
    if data.is_study:  # policies only, pooled over design points
        ev = ev[ev["kind"].isin(POLICY_KINDS)]
        ev["scenario"] = "design points"
    keys = ["scenario", "region", "month", "kind", "vendor", "detail"]
    counts = ev.groupby(keys, sort=True, observed=True)["replication"].size()
    return counts.rename("n").reset_index()


def _add_events(fig: go.Figure, data: ReportData, regions: set[str]) -> None:
    rows = _event_rows(data, regions)
    if rows.empty:
        return
    runs = data.results.replications * (len(data.ids) if data.is_study else 1)
    fig.update_layout(yaxis2={"overlaying": "y", "range": [0, 1], "visible": False,
                              "fixedrange": True})
    for gi, group in enumerate(data.groups):
        colour = PALETTE[gi % len(PALETTE)]
        mine = rows[rows["scenario"] == group]
        for region, block in mine.groupby("region", sort=True, observed=True):
            meta = {} if region == WORLD else {"region": [str(region), WORLD]}
            for policy in (True, False):
                part = block[block["kind"].isin(POLICY_KINDS) == policy]
                if part.empty:
                    continue
                _event_trace(fig, data, part, colour, meta, policy, str(region), runs,
                             data.group_label(group))


def _event_trace(fig: go.Figure, data: ReportData, part: pd.DataFrame, colour: str,
                 meta: dict[str, object], policy: bool, region: str, runs: int,
                 label: str) -> None:
    xs, texts, symbols = [], [], []
    for month, at in part.groupby("month", sort=True):
        lines = []
        for row in at.head(6).itertuples():
            who = f" {row.vendor}" if row.vendor else ""
            what = row.kind.replace("_", " ")
            lines.append(f"{plot_text(what)}{plot_text(who)}: {plot_text(row.detail)} "
                         f"({row.n} of {runs} runs)")
        if len(at) > 6:
            lines.append(f"and {len(at) - 6} more")
        xs.append(data.dates.get(int(month), str(month)))
        texts.append(f"<b>{plot_text(label)}, {plot_text(region)}</b><br>" + "<br>".join(lines))
        kinds = set(at["kind"])
        symbols.append("triangle-down-open" if kinds == {"policy_off"} else "triangle-down")
    y = 1.0 if policy else 0.965
    if policy:
        lx, ly = [], []
        for x in xs:
            lx += [x, x, None]
            ly += [0, 1, None]
        fig.add_trace(go.Scatter(x=lx, y=ly, yaxis="y2", mode="lines", hoverinfo="skip",
                                 line={"color": colour, "width": 1.2, "dash": "dot"},
                                 showlegend=False, meta=meta))
    fig.add_trace(go.Scatter(
        x=xs, y=[y] * len(xs), yaxis="y2", mode="markers", hovertext=texts,
        hovertemplate="%{hovertext}<extra></extra>",
        marker={"color": colour, "size": 11 if policy else 7,
                "symbol": symbols if policy else "diamond"},
        name=f"{plot_text(label)}: {'policy' if policy else 'other'} events",
        legendgroup=f"events-{policy}", showlegend=False, meta=meta))


def _region_cells(data: ReportData, regions: list[str] | None) -> list[str]:
    return data.regions if regions is None else regions


def capability(data: ReportData, regions: list[str] | None = None) -> go.Figure:
    """Capability frontiers (closed solid, open dashed) and the gap in months."""
    regions = _region_cells(data, regions)
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
            x = _x(data, front.loc[key].index.to_numpy())
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
    _layout(fig, height=620)
    fig.update_layout(hovermode="x unified")
    fig.update_yaxes(title_text="capability, points", row=1, col=1)
    fig.update_yaxes(title_text="gap, months", rangemode="tozero", row=2, col=1)
    fig.update_xaxes(hoverformat="%Y-%m")
    return finish(fig, "Capability frontier, open vs closed, and the gap", ["region"],
                  {"region": regions[0]}, "Top: closed frontier solid, open dashed. Bottom: "
                  "gap in months. " + _subtitle(data))


def contributors(data: ReportData, regions: list[str] | None = None) -> go.Figure:
    """Contributor communities working on open ecosystems, and their effort."""
    regions = _region_cells(data, regions)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    stats = data.bands(["contributors", "effort"])
    for gi, group in enumerate(data.groups):
        colour = PALETTE[gi % len(PALETTE)]
        for region in regions:
            key = (group, region, ALL)
            if key not in stats.index.droplevel(3):
                continue
            meta = {"region": region}
            _band_traces(fig, data, "contributors", group, colour, stats.loc[key]["contributors"],
                         meta, row=1, col=1)
            _band_traces(fig, data, "effort", group, colour, stats.loc[key]["effort"], meta,
                         name_suffix=": effort", row=2, col=1, showlegend=False)
    _layout(fig, height=600)
    fig.update_layout(hovermode="x unified")
    fig.update_yaxes(title_text=spec("contributors").unit, rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text=spec("effort").unit, rangemode="tozero", row=2, col=1)
    fig.update_xaxes(hoverformat="%Y-%m")
    return finish(fig, "Open-source contributors", ["region"], {"region": regions[0]},
                  "Top: communities contributing. Bottom: their effort. " + _subtitle(data))


def vendor_shares(data: ReportData, regions: list[str] | None = None,
                  max_panels: int = 6) -> go.Figure:
    """Stacked shares of adopters by vendor over time, one panel per scenario."""
    regions = _region_cells(data, regions)
    shares = data.vendor_shares()
    groups = data.ids[:max_panels]
    if data.is_study:  # pool the design points
        shares = shares.groupby(level=["region", "vendor", "month"], observed=True).mean()
        shares = pd.concat({"design points": shares}, names=["scenario"])
        groups = ["design points"]
    cols = min(len(groups), 2)
    rows = math.ceil(len(groups) / cols)
    fig = make_subplots(rows=rows, cols=cols, shared_yaxes=True, horizontal_spacing=0.07,
                        vertical_spacing=0.14,
                        subplot_titles=[plot_text(data.group_label(g)) for g in groups])
    vendors = data.vendor_order
    available = set(shares.index.get_level_values("vendor"))
    for gi, group in enumerate(groups):
        row, col = gi // cols + 1, gi % cols + 1
        for region in regions:
            for vi, vendor in enumerate(vendors):
                if vendor not in available:
                    continue
                try:
                    series = shares.loc[(group, region, vendor)]
                except KeyError:
                    continue
                colour = VENDOR_PALETTE[vi % len(VENDOR_PALETTE)]
                is_open = vendor in data.open_vendors
                name = plot_text(vendor) + (" (open)" if is_open else "")
                fig.add_trace(go.Scatter(
                    x=_x(data, series.index.to_numpy()),
                    y=series.to_numpy(dtype=float) * 100, mode="lines",
                    stackgroup=f"{group}|{region}", name=name, legendgroup=vendor,
                    showlegend=gi == 0, line={"width": 0.6, "color": colour},
                    fillcolor=_rgba(colour, 0.75),
                    fillpattern={"shape": "/", "fgcolor": "rgba(255,255,255,0.6)",
                                 "size": 6} if is_open else None,
                    meta={"region": region}, hovertemplate="%{y:.1f} %"),
                    row=row, col=col)
    _layout(fig, height=450 + 280 * (rows - 1))
    fig.update_layout(hovermode="x unified", margin={"t": 110})
    fig.update_annotations(font={"size": 13}, yshift=4)
    fig.update_yaxes(range=[0, 100], ticksuffix=" %")
    fig.update_yaxes(title_text="share of adopters", col=1)
    fig.update_xaxes(hoverformat="%Y-%m")
    note = ("Mean over " + ("design points and replications" if data.is_study
                            else "replications") + "; hatched: open-weights vendors.")
    if len(data.ids) > len(groups) and not data.is_study:
        note += f" First {len(groups)} of {len(data.ids)} scenarios."
    return finish(fig, "Vendor shares of adopters", ["region"], {"region": regions[0]}, note)


# ---------------------------------------------------------------------- studies


def is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _outcome_labels(outcomes: list[str]) -> dict[str, str]:
    return {m: spec(m).label for m in outcomes}


def sweep_scatter(data: ReportData, outcomes: list[str],
                  regions: list[str] | None = None) -> go.Figure:
    """Final-month outcome vs each varied parameter, with a linear trend (categorical: means)."""
    regions = _region_cells(data, regions)
    params = data.parameters
    means = data.point_means(outcomes)
    cols = min(len(params), 3)
    rows = math.ceil(len(params) / cols)
    fig = make_subplots(rows=rows, cols=cols, shared_yaxes=True, horizontal_spacing=0.04,
                        vertical_spacing=0.16)
    for pi, param in enumerate(params):
        row, col = pi // cols + 1, pi % cols + 1
        fig.update_xaxes(title_text=plot_text(param), row=row, col=col)
        for metric in outcomes:
            s = spec(metric)
            for region in regions:
                sub = means[means["region"] == region]
                if sub.empty:
                    continue
                meta = {"region": region, "metric": metric}
                x = sub[param]
                y = sub[metric].to_numpy(dtype=float) * s.scale
                numeric = is_numeric(x)
                xs = x.to_numpy(dtype=float) if numeric else [plot_text(v) for v in x]
                fig.add_trace(go.Scatter(
                    x=xs, y=y, mode="markers", name="design points", legendgroup="points",
                    showlegend=pi == 0, meta=meta,
                    marker={"color": PALETTE[0], "size": 7, "opacity": 0.75},
                    text=[plot_text(p) for p in sub["point"]],
                    hovertemplate=f"%{{text}}<br>{plot_text(param)} = %{{x}}<br>"
                                  f"{plot_text(s.label)} = %{{y:{s.d3}}}<extra></extra>"),
                    row=row, col=col)
                tx, ty = _trend(x, y, numeric)
                if tx is not None:
                    fig.add_trace(go.Scatter(
                        x=tx, y=ty, mode="lines", name="trend" + (" (linear fit)" if numeric
                                                                 else " (mean per value)"),
                        legendgroup="trend", showlegend=pi == 0, meta=meta,
                        line={"color": PALETTE[1], "width": 2},
                        hovertemplate=f"trend: %{{y:{s.d3}}}<extra></extra>"),
                        row=row, col=col)
    _layout(fig, height=440 + 300 * (rows - 1), legend_y=-0.2 / rows)
    fig.update_yaxes(title_text="outcome (choose above)", col=1)
    return finish(fig, f"Outcome at month {data.final_month} vs each varied parameter",
                  ["region", "metric"], {"region": regions[0], "metric": outcomes[0]},
                  "Each point: one design point, mean over its replications (segment: all). "
                  "Other parameters vary at the same time, so a trend is a marginal effect.",
                  labels=_outcome_labels(outcomes))


def _trend(x: pd.Series, y: np.ndarray, numeric: bool) -> tuple[list | None, list | None]:
    ok = ~np.isnan(y)
    if numeric:
        xv = x.to_numpy(dtype=float)
        ok &= ~np.isnan(xv)
        if ok.sum() < 3 or np.ptp(xv[ok]) == 0:
            return None, None
        slope, intercept = np.polyfit(xv[ok], y[ok], 1)
        ends = np.array([xv[ok].min(), xv[ok].max()])
        return ends.tolist(), (intercept + slope * ends).tolist()
    frame = pd.DataFrame({"x": [str(v) for v in x], "y": y})[ok]
    if frame.empty:
        return None, None
    means = frame.groupby("x", sort=False)["y"].mean()
    return [plot_text(v) for v in means.index], means.to_list()


def _bins(values: np.ndarray, n_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Bin index of each value and the bin centres (the levels themselves for a grid)."""
    levels = np.unique(values[~np.isnan(values)])
    if len(levels) <= 10 and len(levels) < n_points:  # a grid: values repeat
        index = np.searchsorted(levels, values)
        return index, levels
    k = int(np.clip(math.floor(math.sqrt(n_points / 2)), 2, 8))
    edges = np.linspace(levels[0], levels[-1], k + 1)
    index = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, k - 1)
    return index, (edges[:-1] + edges[1:]) / 2


def sweep_heatmap(data: ReportData, outcomes: list[str], regions: list[str] | None = None,
                  max_pairs: int = 6) -> go.Figure | None:
    """Mean outcome over pairs of numeric parameters (binned); None with fewer than two."""
    regions = _region_cells(data, regions)
    means = data.point_means(outcomes)
    numeric = [p for p in data.parameters if is_numeric(means[p])]
    pairs = list(combinations(numeric, 2))[:max_pairs]
    if not pairs:
        return None
    cols = min(len(pairs), 3)
    rows = math.ceil(len(pairs) / cols)
    fig = make_subplots(rows=rows, cols=cols, horizontal_spacing=0.08, vertical_spacing=0.16)
    for metric in outcomes:
        s = spec(metric)
        for region in regions:
            sub = means[means["region"] == region]
            if sub.empty:
                continue
            grids = []
            for a, b in pairs:
                ia, ca = _bins(sub[a].to_numpy(dtype=float), len(sub))
                ib, cb = _bins(sub[b].to_numpy(dtype=float), len(sub))
                z = np.full((len(cb), len(ca)), np.nan)
                y = sub[metric].to_numpy(dtype=float) * s.scale
                frame = pd.DataFrame({"a": ia, "b": ib, "y": y}).dropna()
                for (i, j), val in frame.groupby(["a", "b"])["y"].mean().items():
                    z[j, i] = val
                grids.append((a, b, ca, cb, z))
            finite = [g[4][~np.isnan(g[4])] for g in grids]
            values = np.concatenate(finite) if finite else np.array([])
            zmin = float(values.min()) if values.size else None
            zmax = float(values.max()) if values.size else None
            for k, (a, b, ca, cb, z) in enumerate(grids):
                row, col = k // cols + 1, k % cols + 1
                fig.add_trace(go.Heatmap(
                    x=ca, y=cb, z=z, zmin=zmin, zmax=zmax, colorscale="Viridis",
                    showscale=k == len(grids) - 1, meta={"region": region, "metric": metric},
                    colorbar={"title": {"text": plot_text(s.label), "side": "right"}},
                    hovertemplate=f"{plot_text(a)} \u2248 %{{x:.3g}}<br>{plot_text(b)} \u2248 "
                                  f"%{{y:.3g}}<br>mean %{{z:{s.d3}}}<extra></extra>"),
                    row=row, col=col)
                fig.update_xaxes(title_text=plot_text(a), row=row, col=col)
                fig.update_yaxes(title_text=plot_text(b), row=row, col=col)
    _layout(fig, height=430 + 300 * (rows - 1), legend_below=False)
    return finish(fig, f"Outcome at month {data.final_month} over pairs of parameters",
                  ["region", "metric"], {"region": regions[0], "metric": outcomes[0]},
                  "Cell: mean over the design points that fall in it (blank: none); the other "
                  "parameters are averaged over.", labels=_outcome_labels(outcomes))


def _sensitivity_title(indices: pd.DataFrame, what: str) -> str:
    row = indices.iloc[0]
    return (f"{what} of {spec(str(row['metric'])).label} ({plot_text(row['region'])}, "
            f"{plot_text(row['segment'])}, month {int(row['month'])})")


def sobol_bars(indices: pd.DataFrame) -> go.Figure:
    """First-order and total Sobol indices with their bootstrap 95 % CIs."""
    names = [plot_text(p) for p in indices["parameter"]]
    fig = go.Figure()
    for col, label, colour in (("S1", "first order S1", PALETTE[0]),
                               ("ST", "total ST", PALETTE[1])):
        fig.add_trace(go.Bar(x=names, y=indices[col].to_numpy(dtype=float), name=label,
                             marker_color=colour,
                             error_y={"type": "data", "array":
                                      indices[f"{col}_conf"].to_numpy(dtype=float),
                                      "visible": True},
                             hovertemplate="%{x}: %{y:.3f}<extra>" + label + "</extra>"))
    _layout(fig, height=440)
    fig.update_layout(barmode="group")
    fig.update_yaxes(title_text="share of output variance")
    return finish(fig, _sensitivity_title(indices, "Sobol indices"), [], {},
                  "Error bars: bootstrap 95 % CIs (SALib). ST much above S1 means interactions.")


def morris_plot(indices: pd.DataFrame) -> go.Figure:
    """Morris elementary effects: mu* (with CI) against sigma."""
    names = [plot_text(p) for p in indices["parameter"]]
    mu = indices["mu_star"].to_numpy(dtype=float)
    conf = np.nan_to_num(indices["mu_star_conf"].to_numpy(dtype=float))
    sigma = indices["sigma"].to_numpy(dtype=float)
    x_top = float(np.nanmax(mu + conf, initial=0.0)) or 1.0
    y_top = float(np.nanmax(sigma, initial=0.0)) or 1.0
    fig = go.Figure(go.Scatter(
        x=mu, y=sigma, mode="markers+text", text=names, cliponaxis=False,
        textposition=["top left" if m > x_top / 2 else "top right" for m in mu],
        marker={"size": 11, "color": PALETTE[0]}, name="parameters",
        error_x={"type": "data", "array": conf},
        hovertemplate="%{text}<br>mu* %{x:.4g}<br>sigma %{y:.4g}<extra></extra>"))
    _layout(fig, height=440)
    fig.update_xaxes(title_text="mu* (mean absolute elementary effect)",
                     range=[0, 1.1 * x_top])
    fig.update_yaxes(title_text="sigma (spread: non-linearity, interactions)",
                     range=[0, 1.2 * y_top])
    return finish(fig, _sensitivity_title(indices, "Morris screening"), [], {},
                  "Error bars: bootstrap 95 % CI of mu*. Far right: influential; high: "
                  "non-linear or interacting.")


# ---------------------------------------------------------------------- calibration


def _target_labels(fit: pd.DataFrame) -> list[str]:
    return [f"{plot_text(t)} ({plot_text(r)}, m{int(m)})" for t, r, m in
            zip(fit["target"], fit["region"], fit["month"], strict=True)]


def calibration_misses(fit: pd.DataFrame) -> go.Figure:
    """Standardised miss of each target, (fitted - observed) / tolerance, with its CI."""
    labels = _target_labels(fit)
    tol = fit["tolerance"].to_numpy(dtype=float)
    z = fit["z"].to_numpy(dtype=float)
    lo = (fit["fitted_ci_low"].to_numpy(dtype=float) - fit["observed"].to_numpy(dtype=float)) / tol
    hi = (fit["fitted_ci_high"].to_numpy(dtype=float) - fit["observed"].to_numpy(dtype=float)) \
        / tol
    colours = [PALETTE[2] if w else PALETTE[1] for w in fit["within"]]
    fig = go.Figure()
    fig.add_vrect(x0=-1, x1=1, fillcolor=_rgba(PALETTE[2], 0.12), line_width=0,
                  annotation_text="within tolerance", annotation_position="top left",
                  annotation_font={"size": 10})
    fig.add_trace(go.Scatter(
        x=z, y=labels, mode="markers", marker={"size": 11, "color": colours},
        error_x={"type": "data", "symmetric": False, "array": np.nan_to_num(hi - z),
                 "arrayminus": np.nan_to_num(z - lo)},
        customdata=np.column_stack([fit["observed"].to_numpy(dtype=float), tol,
                                    fit["fitted_mean"].to_numpy(dtype=float)]),
        name="fitted", hovertemplate="%{y}<br>target %{customdata[0]:.4g} \u00b1 "
                                     "%{customdata[1]:.4g}<br>fitted %{customdata[2]:.4g}"
                                     "<br>miss %{x:.2f} tolerances<extra></extra>"))
    _layout(fig, height=max(320, 120 + 42 * len(fit)))
    fig.add_vline(x=0, line={"color": "#555", "width": 1})
    fig.update_xaxes(title_text="(fitted - target) / tolerance", zeroline=False)
    fig.update_yaxes(autorange="reversed")
    return finish(fig, "Fitted vs target, in tolerances", [], {},
                  "Point: simulated mean at the fitted parameters; bar: its 95 % CI across "
                  "replications. Shaded: the target's tolerance.")


def calibration_values(fit: pd.DataFrame) -> go.Figure:
    """Each target and its tolerance next to the fitted mean and CI, in the metric's units."""
    n = len(fit)
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    labels = _target_labels(fit)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=labels, horizontal_spacing=0.08,
                        vertical_spacing=0.5 / rows if rows > 1 else 0.1)
    for k, row in enumerate(fit.itertuples()):
        r, c = k // cols + 1, k % cols + 1
        fig.add_trace(go.Scatter(
            x=["target"], y=[row.observed], mode="markers", name="target \u00b1 tolerance",
            marker={"symbol": "diamond", "size": 11, "color": "#444"}, legendgroup="target",
            showlegend=k == 0, error_y={"type": "data", "array": [row.tolerance]},
            hovertemplate="target %{y:.4g}<extra></extra>"), row=r, col=c)
        fig.add_trace(go.Scatter(
            x=["fitted"], y=[row.fitted_mean], mode="markers", name="fitted mean (95 % CI)",
            marker={"size": 11, "color": PALETTE[2] if row.within else PALETTE[1]},
            legendgroup="fitted", showlegend=k == 0,
            error_y={"type": "data", "symmetric": False,
                     "array": [np.nan_to_num(row.fitted_ci_high - row.fitted_mean)],
                     "arrayminus": [np.nan_to_num(row.fitted_mean - row.fitted_ci_low)]},
            hovertemplate="fitted %{y:.4g}<extra></extra>"), row=r, col=c)
    _layout(fig, height=280 + 250 * rows)
    fig.update_layout(margin={"t": 110})
    fig.update_annotations(font={"size": 11})
    return finish(fig, "Targets and fitted values", [], {},
                  "Each panel in the metric's own units (after the target's scale).")


def calibration_evaluations(evaluations: pd.DataFrame) -> go.Figure:
    """Objective of every evaluated point, in order, with the best so far."""
    y = evaluations["objective"].to_numpy(dtype=float)
    x = np.arange(1, len(y) + 1)
    params = [c for c in evaluations.columns if c != "objective"]
    text = ["<br>".join(f"{plot_text(p)} = {evaluations[p].iloc[i]:.4g}" for p in params)
            for i in range(len(y))]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=y, mode="markers", name="evaluation", text=text,
                             marker={"color": PALETTE[0], "size": 7},
                             hovertemplate="#%{x}: %{y:.4g}<br>%{text}<extra></extra>"))
    fig.add_trace(go.Scatter(x=x, y=np.minimum.accumulate(y), mode="lines",
                             name="best so far", line={"color": PALETTE[1], "width": 2},
                             hoverinfo="skip"))
    _layout(fig, height=400)
    positive = bool(np.all(y > 0))
    fig.update_yaxes(title_text="objective (sum of squared misses in tolerances)",
                     type="log" if positive else "linear")
    fig.update_xaxes(title_text="evaluation")
    return finish(fig, "Search for the best fit", [], {},
                  "Powell search over the fitted parameters; every evaluation uses the same "
                  "seed and replications.")
