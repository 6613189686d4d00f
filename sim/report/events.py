"""Events on time figures: policy switches (triangles, dotted lines) and other events.

Events are read from the event table and counted over the worlds; hovering a marker lists
what happened that month and in how many worlds.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from sim.report.data import WORLD, ReportData
from sim.report.labels import plot_text
from sim.report.styles import PALETTE

__all__ = ["POLICY_KINDS", "RARE_EVENT_RUNS", "RARE_EVENT_SHARE", "ENTRANT", "UNMARKED_KINDS",
           "add_events"]

POLICY_KINDS = ("policy_on", "policy_off", "trigger")
#: In an ensemble of at least RARE_EVENT_RUNS worlds, other events (exit, acquisition of a
#: named firm) are marked only where they happen in RARE_EVENT_SHARE of the worlds or more,
#: and entrants' events not at all (entrants differ from world to world; the firms-and-entry
#: figure counts entries, exits and acquisitions with their bands). events.parquet has all.
RARE_EVENT_RUNS = 20
RARE_EVENT_SHARE = 0.05
ENTRANT = "an entrant"
#: Events never marked: funding rounds are routine (most firms raise every year or two, so
#: an ensemble has one in some world every month); the firms-and-entry figure shows the
#: funding raised, and events.parquet lists every round.
UNMARKED_KINDS = ("funding_round",)


def _event_rows(data: ReportData, regions: set[str], runs: int) -> pd.DataFrame:
    events = data.events
    if events is None or len(events) == 0:
        return pd.DataFrame()
    ev = events[events["region"].isin(regions | {WORLD})
                & ~events["kind"].isin(UNMARKED_KINDS)].copy()
    ev["detail"] = ev["detail"].fillna("").astype(str)
    ev["vendor"] = ev["vendor"].fillna("").astype(str)
    if data.is_study:  # policies only, pooled over design points
        ev = ev[ev["kind"].isin(POLICY_KINDS)]
        ev["scenario"] = "design points"
    # an entrant's name is its world's own: across worlds, entrants are "an entrant"
    ev["vendor"] = ev["vendor"].where(ev["vendor"].isin(data.known_firms)
                                      | (ev["vendor"] == ""), ENTRANT)
    keys = ["scenario", "region", "month", "kind", "vendor"]
    grouped = ev.groupby(keys, sort=True, observed=True)
    rows = pd.DataFrame({"n": grouped["replication"].nunique(),
                         "details": grouped["detail"].nunique(),
                         "detail": grouped["detail"].first()}).reset_index()
    rows.loc[rows["details"] > 1, "detail"] = "details differ by world (events.parquet)"
    if runs >= RARE_EVENT_RUNS:  # an ensemble: mark what happens in a visible share of it
        other = ~rows["kind"].isin(POLICY_KINDS)
        rare = other & ((rows["n"] < RARE_EVENT_SHARE * runs) | (rows["vendor"] == ENTRANT))
        rows = rows[~rare]
    return rows.drop(columns="details")


def add_events(fig: go.Figure, data: ReportData, regions: set[str]) -> None:
    """Mark each scenario's events in ``regions`` (and the World's) on ``fig``'s top edge."""
    runs = data.results.replications * (len(data.ids) if data.is_study else 1)
    rows = _event_rows(data, regions, runs)
    if rows.empty:
        return
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
