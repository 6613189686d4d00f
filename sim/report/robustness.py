"""The report of a robustness study: effect distributions, feature scores, rules in words.

Built from the study's folder files (``effects.csv``, ``feature_scores.csv``, ``rules.json``,
``robustness.parquet``), so ``marketsim report DIR`` can rebuild it. Colours are the
Okabe-Ito palette (distinguishable with every common colour-vision deficiency).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from sim.experiment.keyfigures import figure_texts
from sim.experiment.store import atomic_write_text
from sim.report.labels import esc
from sim.report.page import FigureItem, Section, render_page

__all__ = ["write_robustness_report", "OKABE_ITO"]

#: Okabe & Ito (2008): blue, vermillion, bluish green, orange, reddish purple, sky blue.
OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9")


def write_robustness_report(folder: str | Path) -> Path:
    """Write ``report.html`` of a robustness folder; returns its path."""
    root = Path(folder)
    effects = pd.read_csv(root / "effects.csv")
    scores = pd.read_csv(root / "feature_scores.csv")
    rules = json.loads((root / "rules.json").read_text(encoding="utf-8"))
    table = pd.read_parquet(root / "robustness.parquet")
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    ids = [s["id"] for s in manifest["scenarios"]]
    sections = [Section("effects", "Paired effects over the uncertainties",
                        [_effects_table(effects), *_histograms(table, effects)]),
                Section("scores", "What the effect depends on (feature scores)",
                        [*_score_figures(scores)]),
                Section("rules", "When the effect flips: scenario-discovery rules",
                        [_rules_html(rules)])]
    header = (f"<p class='note'>{esc(ids[0])} vs {esc(', '.join(ids[1:]))}: "
              f"{manifest['replications']} parameter draws x the structural alternatives, "
              f"{esc(manifest['engine'])} engine, seed {manifest['seed']}. Each world's "
              "effect is paired (the same draw, alternative and random streams in both "
              "scenarios).</p>")
    html, _ = render_page(title=f"Robustness: {', '.join(ids[1:])} vs {ids[0]}",
                          subtitle="policy x uncertainty", header_html=header,
                          sections=sections, regions=[], segments=[],
                          footer_html=_notes())
    path = root / "report.html"
    atomic_write_text(path, html)
    return path


def _effects_table(effects: pd.DataFrame) -> str:
    structural = [c for c in effects.columns if c.startswith("median[")]
    head = ("<tr><th>policy</th><th>outcome</th><th>median</th><th>90 % interval</th>"
            "<th>share &gt; 0</th><th>share &lt; 0</th>"
            + "".join(f"<th>{esc(c)}</th>" for c in structural) + "</tr>")
    rows = []
    for _, r in effects.iterrows():
        mid, low, high = figure_texts([r["median"], r["p05"], r["p95"]], sign=True,
                                      interval=(r["p05"], r["p95"]))
        alts = figure_texts([r[c] for c in structural], sign=True) if structural else []
        rows.append(f"<tr><td>{esc(r['policy'])}</td><td>{esc(r['outcome'])}</td>"
                    f"<td>{mid}</td><td>{low} to {high}</td>"
                    f"<td>{r['share_positive']:.0%}</td><td>{r['share_negative']:.0%}</td>"
                    + "".join(f"<td>{a}</td>" for a in alts) + "</tr>")
    return ("<div class='table-wrap'><table class='summary'>" + head + "".join(rows)
            + "</table></div>")


def _histograms(table: pd.DataFrame, effects: pd.DataFrame) -> list[FigureItem]:
    items = []
    for outcome, rows in effects.groupby("outcome", sort=False):
        fig = go.Figure()
        for i, policy in enumerate(rows["policy"]):
            values = table.loc[table["policy"] == policy, outcome]
            fig.add_trace(go.Histogram(x=values, name=policy, opacity=0.75,
                                       marker_color=OKABE_ITO[i % len(OKABE_ITO)]))
        threshold = float(rows["threshold"].iloc[0])
        fig.add_vline(x=threshold, line_dash="dash", line_color="#555",
                      annotation_text=f"threshold {threshold:g}")
        fig.update_layout(barmode="overlay", height=320, margin=dict(t=30, b=40),
                          xaxis_title=f"paired effect on {outcome}", yaxis_title="worlds")
        items.append(FigureItem(fig, f"Distribution of the paired effect on {outcome} over "
                                     "the worlds (posterior draws x structural alternatives)"))
    return items


def _score_figures(scores: pd.DataFrame) -> list[FigureItem]:
    items = []
    for (policy, outcome), rows in scores.groupby(["policy", "outcome"], sort=False):
        top = rows.sort_values("score").tail(10)
        fig = go.Figure(go.Bar(x=top["score"], y=top["input"], orientation="h",
                               marker_color=OKABE_ITO[0]))
        fig.update_layout(height=300, margin=dict(l=260, t=30, b=40),
                          xaxis_title="feature score (extra trees; sums to 1)")
        items.append(FigureItem(fig, f"{policy}: inputs that explain the effect on {outcome}"))
    return items


def _rules_html(rules: list[dict[str, Any]]) -> str:
    parts = []
    for entry in rules:
        parts.append(f"<h3>{esc(entry['policy'])}: {esc(entry['outcome'])}</h3>")
        if not entry["rules"]:
            parts.append(f"<p>{esc(entry['reading'])}.</p>")
            continue
        items = "".join(f"<li><b>{esc(r['method'].upper())}</b>: {esc(r['text'])}</li>"
                        for r in entry["rules"])
        parts.append(f"<ul class='rules'>{items}</ul>")
    return "".join(parts)


def _notes() -> str:
    return ("<h2 id='notes'>Notes</h2><ul class='notes'><li><b>Coverage</b> is the share of "
            "all worlds with the outcome that lie in the box; <b>density</b> the share of "
            "the worlds in the box that have it. A rule with both high is a good summary of "
            "when the outcome happens.</li><li>PRIM: EMA Workbench (Kwakkel 2017); CART and "
            "feature scores: scikit-learn (docs/robustness.md).</li></ul>")
