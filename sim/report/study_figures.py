"""Figures of studies (sweeps, sensitivity) and of calibrations."""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sim.report.data import ReportData
from sim.report.figures import PALETTE, initial_choice, layout, outcome_labels, region_cells, rgba
from sim.report.labels import plot_text, spec
from sim.report.selector import finish

__all__ = ["sweep_scatter", "sweep_heatmap", "sobol_bars", "morris_plot", "calibration_misses",
           "calibration_values", "calibration_evaluations", "is_numeric"]


def is_numeric(series: pd.Series) -> bool:
    """Whether a design column is a number (booleans are categories)."""
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def sweep_scatter(data: ReportData, outcomes: list[str],
                  regions: list[str] | None = None) -> go.Figure:
    """Final-month outcome vs each varied parameter, with a linear trend (categorical: means)."""
    regions = region_cells(data, regions)
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
            for region, segment in _study_cells(data, regions):
                sub = means[(means["region"] == region) & (means["segment"] == segment)]
                if sub.empty:
                    continue
                meta = {"region": region, "segment": segment, "metric": metric}
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
    layout(fig, height=440 + 300 * (rows - 1), legend_y=-0.2 / rows)
    fig.update_yaxes(title_text="outcome (choose above)", col=1)
    return finish(fig, f"Outcome at month {data.final_month} vs each varied parameter",
                  ["region", "segment", "metric"], {**_study_choice(data, regions),
                                                    "metric": outcomes[0]},
                  "Each point: one design point, mean over its replications. "
                  "Other parameters vary at the same time, so a trend is a marginal effect.",
                  labels=outcome_labels(outcomes))


def _study_cells(data: ReportData, regions: list[str]) -> list[tuple[str, str]]:
    return [(r, s) for r in regions for s in data.segments]


def _study_choice(data: ReportData, regions: list[str]) -> dict[str, str]:
    return initial_choice(data, _study_cells(data, regions))


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
    regions = region_cells(data, regions)
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
        for region, segment in _study_cells(data, regions):
            sub = means[(means["region"] == region) & (means["segment"] == segment)]
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
                    showscale=k == len(grids) - 1,
                    meta={"region": region, "segment": segment, "metric": metric},
                    colorbar={"title": {"text": plot_text(s.label), "side": "right"}},
                    hovertemplate=f"{plot_text(a)} \u2248 %{{x:.3g}}<br>{plot_text(b)} \u2248 "
                                  f"%{{y:.3g}}<br>mean %{{z:{s.d3}}}<extra></extra>"),
                    row=row, col=col)
                fig.update_xaxes(title_text=plot_text(a), row=row, col=col)
                fig.update_yaxes(title_text=plot_text(b), row=row, col=col)
    layout(fig, height=430 + 300 * (rows - 1), legend_below=False)
    return finish(fig, f"Outcome at month {data.final_month} over pairs of parameters",
                  ["region", "segment", "metric"], {**_study_choice(data, regions),
                                                    "metric": outcomes[0]},
                  "Cell: mean over the design points that fall in it (blank: none); the other "
                  "parameters are averaged over.", labels=outcome_labels(outcomes))


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
    layout(fig, height=440)
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
    layout(fig, height=440)
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
    fig.add_vrect(x0=-1, x1=1, fillcolor=rgba(PALETTE[2], 0.12), line_width=0,
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
    layout(fig, height=max(320, 120 + 42 * len(fit)))
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
    layout(fig, height=280 + 250 * rows)
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
    layout(fig, height=400)
    positive = bool(np.all(y > 0))
    fig.update_yaxes(title_text="objective (sum of squared misses in tolerances)",
                     type="log" if positive else "linear")
    fig.update_xaxes(title_text="evaluation")
    return finish(fig, "Search for the best fit", [], {},
                  "Powell search over the fitted parameters; every evaluation uses the same "
                  "seed and replications.")
