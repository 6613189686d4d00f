"""The HTML report of a Bayesian calibration (``calibration.html`` in its results folder).

Sections: the parameters (prior against posterior, shrinkage, flags), their posterior
correlations, the fit (each target against its 90 % posterior-predictive interval), the
predictive bands over time with the fit-window and validation-window facts, the hindcast's
scores and the coverage check on synthetic truths, when those were run. Everything is read
from the folder (``posterior.parquet``, ``predictive.csv``, ``diagnostics.json``, the prior
sample ``stages/stage-000.parquet`` and, when present, ``bands.csv`` and ``hindcast.csv``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sim._version import __version__
from sim.experiment.store import atomic_write_text
from sim.report.labels import esc
from sim.report.page import FigureItem, Section, render_page

__all__ = ["write_posterior_report"]

_PRIOR, _POSTERIOR, _FACT = "#9aa5b1", "#1f5aa6", "#d1495b"


def _table(frame: pd.DataFrame, columns: dict[str, str], digits: int = 3) -> str:
    head = "".join(f"<th>{esc(label)}</th>" for label in columns.values())
    rows = []
    for _, row in frame.iterrows():
        cells = []
        for key in columns:
            value = row[key]
            if isinstance(value, float | np.floating):
                text = "" if not math.isfinite(value) else f"{value:.{digits}g}"
            else:
                text = "" if value is None else str(value)
            cells.append(f"<td>{esc(text)}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return (f"<div class='table-wrap'><table class='data'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>")


def _parameters(diagnostics: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for p in diagnostics["parameters"]:
        if not p["informed"]:
            flag = "not informed by the data: left at its prior"
        elif p.get("at_bound"):
            flag = f"piles up at its {p['at_bound']} bound"
        elif not p["identified"]:
            flag = "not identified (spread shrank < 20 %)"
        else:
            flag = "identified"
        rows.append({"path": p["path"], "prior": f"{p['prior_low']:.4g} .. {p['prior_high']:.4g}"
                     f" ({p['scale']})", "p50": p["p50"], "p05": p["p05"], "p95": p["p95"],
                     "shrinkage": p["shrinkage"], "flag": flag, "source": p["source"]})
    return pd.DataFrame(rows)


def _marginals(prior_u: np.ndarray, posterior: pd.DataFrame, diagnostics: dict[str, Any]
               ) -> go.Figure:
    informed = [p for p in diagnostics["parameters"] if p["informed"]]
    cols = 4
    rows = max(1, math.ceil(len(informed) / cols))
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[p["path"] for p in informed],
                        vertical_spacing=0.12 / max(rows / 4, 1))
    for k, p in enumerate(informed):
        r, c = k // cols + 1, k % cols + 1
        low, high = p["prior_low"], p["prior_high"]
        if p["scale"] == "log":
            prior = np.exp(np.log(low) + prior_u[:, k] * (np.log(high) - np.log(low)))
        else:
            prior = low + prior_u[:, k] * (high - low)
        for values, name, colour in ((prior, "prior", _PRIOR),
                                     (posterior[p["path"]].to_numpy(), "posterior", _POSTERIOR)):
            x = np.log10(values) if p["scale"] == "log" else values
            fig.add_trace(go.Histogram(x=x, name=name, marker_color=colour, opacity=0.6,
                                       histnorm="probability density", nbinsx=25,
                                       showlegend=k == 0, legendgroup=name), row=r, col=c)
        if p["scale"] == "log":
            fig.update_xaxes(title_text="log10", row=r, col=c)
    fig.update_layout(barmode="overlay", height=260 * rows, margin=dict(t=40, l=40, r=20),
                      font=dict(size=10))
    fig.update_annotations(font_size=10)
    return fig


def _correlations(diagnostics: dict[str, Any]) -> go.Figure:
    corr = diagnostics["correlations"]
    names = [p.split(".", 1)[-1] for p in corr["paths"]]
    fig = go.Figure(go.Heatmap(z=corr["matrix"], x=names, y=names, zmin=-1, zmax=1,
                               colorscale="RdBu", reversescale=True,
                               colorbar=dict(title="corr")))
    fig.update_layout(height=560, margin=dict(l=200, b=200, t=20))
    return fig


def _fit(predictive: pd.DataFrame) -> go.Figure:
    z = lambda v: (v - predictive["observed"]) / predictive["sigma"]  # noqa: E731
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=z(predictive["p50"]), y=predictive["target"], mode="markers", name="predictive",
        marker=dict(color=_POSTERIOR, size=9),
        error_x=dict(type="data", symmetric=False, array=z(predictive["p95"]) -
                     z(predictive["p50"]), arrayminus=z(predictive["p50"]) -
                     z(predictive["p05"]))))
    fig.add_vline(x=0, line_color=_FACT)
    fig.update_layout(height=40 + 34 * len(predictive), margin=dict(l=260, t=20),
                      xaxis_title="(prediction - fact) / tolerance; the fact is at 0")
    return fig


def _bands(bands: pd.DataFrame, facts: pd.DataFrame) -> go.Figure:
    keys = list(dict.fromkeys(zip(bands["metric"], bands["region"], bands["segment"],
                                  strict=True)))
    cols = 3
    rows = max(1, math.ceil(len(keys) / cols))
    fig = make_subplots(rows=rows, cols=cols,
                        subplot_titles=[f"{m} {r} {s}" for m, r, s in keys])
    for k, key in enumerate(keys):
        r, c = k // cols + 1, k % cols + 1
        cell = bands[(bands["metric"] == key[0]) & (bands["region"] == key[1])
                     & (bands["segment"] == key[2])]
        fig.add_trace(go.Scatter(x=list(cell["date"]) + list(cell["date"])[::-1],
                                 y=list(cell["p95"]) + list(cell["p05"])[::-1], fill="toself",
                                 fillcolor="rgba(31,90,166,0.18)", line=dict(width=0),
                                 name="90 % band", showlegend=k == 0, legendgroup="band"),
                      row=r, col=c)
        fig.add_trace(go.Scatter(x=cell["date"], y=cell["p50"], line=dict(color=_POSTERIOR),
                                 name="median", showlegend=k == 0, legendgroup="median"),
                      row=r, col=c)
        mine = facts[(facts["metric"] == key[0]) & (facts["region"] == key[1])
                     & (facts["segment"] == key[2])]
        for window, symbol in (("fit", "circle"), ("validation", "diamond")):
            part = mine[mine["window"] == window]
            if len(part):
                fig.add_trace(go.Scatter(
                    x=part["date"], y=part["observed"], mode="markers",
                    marker=dict(symbol=symbol, color=_FACT, size=9), name=f"{window} fact",
                    error_y=dict(type="data", array=part["sigma"]), showlegend=k == 0,
                    legendgroup=window), row=r, col=c)
    fig.update_layout(height=280 * rows, margin=dict(t=40), font=dict(size=10))
    fig.update_annotations(font_size=10)
    return fig


def write_posterior_report(folder: str | Path) -> Path:
    """Write ``calibration.html`` for a Bayesian calibration's results folder."""
    root = Path(folder)
    diagnostics = json.loads((root / "diagnostics.json").read_text(encoding="utf-8"))
    posterior = pd.read_parquet(root / "posterior.parquet")
    predictive = pd.read_csv(root / "predictive.csv")
    prior = pd.read_parquet(root / "stages" / "stage-000.parquet")
    prior_u = prior[[c for c in prior.columns if c.startswith("u")]].to_numpy()
    cover = diagnostics["fit_coverage_90"]
    facts = [("Draws", str(diagnostics["draws"])), ("Stages", str(diagnostics["stages"])),
             ("Simulations", f"{diagnostics['simulations']:,}"),
             ("ESS (last reweighting)", f"{diagnostics['ess_final_reweighting']:.0f}"),
             ("Fit targets in 90 % PPI", f"{cover['inside']} of {cover['targets']}"),
             ("marketsim", __version__)]
    header = "<dl class='facts'>" + "".join(
        f"<div><dt>{esc(k)}</dt><dd>{esc(v)}</dd></div>" for k, v in facts) + "</dl>"
    params = _parameters(diagnostics)
    sections = [
        Section("parameters", "Parameters: prior and posterior", [
            _table(params, {"path": "parameter", "prior": "prior", "p50": "median",
                            "p05": "5 %", "p95": "95 %", "shrinkage": "spread shrank by",
                            "flag": "reading", "source": "source of the range"}),
            FigureItem(_marginals(prior_u, posterior, diagnostics),
                       "Prior (grey) against posterior (blue); log-scale priors on log10.")]),
        Section("correlations", "Posterior correlations", [
            FigureItem(_correlations(diagnostics), "On the unit cube of the priors.")]),
        Section("fit", "Fit: each target against its posterior-predictive interval", [
            FigureItem(_fit(predictive), "Median and 90 % interval, with each fact's "
                       "observation error, in units of the fact's tolerance."),
            _table(predictive, {"target": "target", "date": "date", "observed": "fact",
                                "p05": "5 %", "p50": "median", "p95": "95 %",
                                "inside_90": "inside"})])]
    if (root / "bands.csv").is_file():
        bands = pd.read_csv(root / "bands.csv")
        fact_rows = pd.read_csv(root / "bands_facts.csv")
        sections.append(Section("bands", "Over time: predictive bands and the facts", [
            FigureItem(_bands(bands, fact_rows), "90 % posterior-predictive band of the "
                       "model (without observation error); circles: fit-window facts, "
                       "diamonds: validation-window facts (never fitted).")]))
    if (root / "hindcast.csv").is_file():
        hindcast = pd.read_csv(root / "hindcast.csv")
        sections.append(Section("hindcast", "Hindcast: the validation window", [
            _table(hindcast, {"target": "fact", "date": "date", "observed": "value",
                              "p05": "5 %", "p50": "median", "p95": "95 %",
                              "inside_90": "inside", "crps_model": "CRPS model",
                              "crps_persistence": "CRPS persistence",
                              "beats_persistence": "beats persistence"})]))
    check = diagnostics.get("coverage_check")
    if check:
        sections.append(Section("coverage", "Coverage check on synthetic truths", [
            f"<p>{esc(check['truths'])} truths drawn from the prior, {esc(check['particles'])}"
            " particles each: the share of truths inside each parameter's 90 % credible "
            "interval (about 0.9 when the procedure is calibrated).</p>",
            _table(pd.DataFrame(check["parameters"]),
                   {"path": "parameter", "truths": "truths", "coverage_90": "coverage",
                    "mean_shrinkage": "mean shrinkage", "within_80_97": "in 80-97 %"})]))
    footer = ("<h2 id='notes'>Notes</h2><ul class='notes'><li>Method, error model and the "
              "reading of each diagnostic: docs/calibration.md.</li><li>posterior.parquet "
              "holds one row per draw; diagnostics.json every figure of this page.</li></ul>")
    html, _ = render_page(title="Bayesian calibration", subtitle="posterior of the "
                          "baseline's uncertain parameters", header_html=header,
                          sections=sections, regions=[], segments=[], footer_html=footer)
    path = root / "calibration.html"
    atomic_write_text(path, html)
    return path
