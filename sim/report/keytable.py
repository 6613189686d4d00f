"""The key-figures table: levels and paired effects per region and segment, over time.

One table per (region, segment); the page's Region and Segment selectors show one
(``data-region-table``, ``data-segment-table``). A row per scenario and metric gives the
level at the final month and the paired effect against the first scenario in a column per
month: 12, 36 and 72 (those inside the horizon) and the final month, so a reader sees an
effect's course, not only its end, and 3-5 scenarios stay readable (rows, not columns, grow
with them).

Two readings, by what the run is:

- over a posterior ensemble, each scenario's level is its mean over the worlds with the
  5-95 % range across them, and each paired effect is the median over posterior draws with
  its 90 % interval and the share of draws on each side of zero (MODEL.md 9; the headline);
- without one, the level is the mean with its 95 % CI and the effect the mean paired
  difference with its 95 % CI: luck only, at one parameter set.

:func:`key_figures_csv` is the same numbers as CSV, in the metrics' own units, for the
page's download button. Every text that comes from a scenario passes through :func:`esc`.
"""

from __future__ import annotations

import io

import pandas as pd

from sim.numbers import supported_decimals
from sim.report.compact import pack
from sim.report.data import ALL, ReportData
from sim.report.labels import UNITS, esc, spec
from sim.report.tables import (
    KEY_METRICS,
    diff_text,
    hhi_reading,
    is_finite,
    segment_key_metrics,
    value_text,
)

__all__ = ["TABLE_MONTHS", "table_months", "key_table_summary", "key_figures_html",
           "key_figures_csv", "csv_block", "ensemble", "CSV_COLUMNS"]

#: Months (since the start) the table offers besides the final month.
TABLE_MONTHS = (12, 36, 72)


def table_months(final_month: int) -> list[int]:
    """The table's months: :data:`TABLE_MONTHS` inside the horizon, then the final month.

    Example:
        >>> table_months(84), table_months(6)
        ([12, 36, 72, 84], [6])
    """
    return [m for m in TABLE_MONTHS if m < final_month] + [final_month]


def ensemble(data: ReportData) -> bool:
    """Whether the run is a posterior ensemble with two draws or more (median readings)."""
    post = getattr(data.results, "posterior", None)
    return bool(post) and int(post.get("draws", 0)) >= 2


def key_table_summary(data: ReportData) -> pd.DataFrame:
    """The summary rows the table and the CSV show (key metrics, table months)."""
    key = "key_table_summary"
    if key not in data._cache:
        data._cache[key] = data.results.summary(month=table_months(data.final_month),
                                                metrics=list(KEY_METRICS))
    return data._cache[key]


def _interval(metric: str, lo: float, hi: float, diff: bool = False) -> str:
    if not (is_finite(lo) and is_finite(hi)):
        return ""
    f = diff_text if diff else value_text
    cap = supported_decimals(lo, hi)
    return f' <span class="ci">[{f(metric, lo, cap)}, {f(metric, hi, cap)}]</span>'


def _reading(metric: str, row: pd.Series, base: pd.Series, segment: str,
             posterior: bool) -> str:
    """How to read the final month's effect: merger screens for HHI, size for money."""
    if metric == "hhi_market" and segment == ALL:
        return ("No relevant-market HHI for all segments together: choose a segment "
                "(enterprise, developer or consumer).")
    if not (is_finite(row["mean"]) and is_finite(base["mean"])):
        return ("Undefined in at least one scenario: the metric is NaN there (an empty market, "
                "or no open model available).")
    mid, lo, hi, what = _effect(row, posterior)
    parts = []
    if metric == "hhi_market":
        parts.append(hhi_reading(row["mean"], mid, lo, hi, interval=what))
    elif (metric == "price_paid" or metric.endswith("_usd")) and is_finite(mid) and base["mean"]:
        parts.append(f"{100 * mid / abs(base['mean']):+.1f} % of the reference's level.")
    if not posterior and is_finite(lo) and is_finite(hi):
        parts.append("95 % CI excludes zero." if lo > 0 or hi < 0
                     else "Not distinguishable from zero at 95 %.")
    return " ".join(p for p in parts if p)


def _effect(row: pd.Series, posterior: bool) -> tuple[float, float, float, str]:
    """An effect, its interval's ends and what the interval is."""
    if posterior:
        return row["diff_p50"], row["diff_p05"], row["diff_p95"], "90 % interval"
    return row["diff_mean"], row["diff_ci_low"], row["diff_ci_high"], "95 % CI"


def _effect_cell(metric: str, row: pd.Series | None, posterior: bool) -> str:
    if row is None:
        return "<td class='num'>\u2013</td>"
    mid, lo, hi, _ = _effect(row, posterior)
    share = ""
    if posterior and is_finite(row["diff_share_positive"]):
        up, down = row["diff_share_positive"], row["diff_share_negative"]
        words = ("no effect in any draw" if up == 0 and down == 0
                 else f"&gt; 0 in {up:.0%} of draws")
        share = f"<br><span class='ci'>{words}</span>"
    cap = supported_decimals(lo, hi)
    return (f"<td class='num'>{diff_text(metric, mid, cap)}{_interval(metric, lo, hi, True)}"
            f"{share}</td>")


def _rows(data: ReportData, cell: pd.DataFrame, segment: str, months: list[int],
          posterior: bool) -> list[str]:
    """One row per scenario and metric: level (final month), effect at each month, reading."""
    ids, final = data.ids, months[-1]
    at = cell.set_index(["metric", "scenario", "month"]).sort_index()
    rows = []
    for metric in segment_key_metrics(segment):
        if (metric, ids[0], final) not in at.index:
            continue
        base = at.loc[(metric, ids[0], final)]
        if metric != "hhi_market" and not is_finite(base["mean"]):
            continue  # e.g. no token price in a subscription segment
        s = spec(metric)
        for i, sid in enumerate(ids):
            r = at.loc[(metric, sid, final)]
            lo, hi = (r["p05"], r["p95"]) if posterior else (r["ci_low"], r["ci_high"])
            cap = supported_decimals(r["ci_low"], r["ci_high"])
            cells = []
            if i == 0:
                cells.append(f"<th scope='rowgroup' rowspan='{len(ids)}'>{esc(s.label)}<br>"
                             f"<span class='ci'>{esc(s.unit)}</span></th>")
            cells.append(f"<td class='scenario'>{esc(data.labels[sid])}</td>")
            cells.append(f"<td class='num'>{value_text(metric, r['mean'], cap)}"
                         f"{_interval(metric, lo, hi)}</td>")
            if i == 0 and len(ids) > 1:
                cells.append(f"<td class='note' colspan='{len(months) + 1}'>the reference"
                             "</td>")
            elif i > 0:
                for month in months:
                    key = (metric, sid, month)
                    cells.append(_effect_cell(metric, at.loc[key] if key in at.index
                                              else None, posterior))
                cells.append(f"<td class='reading'>"
                             f"{esc(_reading(metric, r, base, segment, posterior))}</td>")
            rows.append(f"<tr{' class=first' if i == 0 else ''}>" + "".join(cells) + "</tr>")
    return rows


def _head(data: ReportData, months: list[int], posterior: bool) -> str:
    final = months[-1]
    level = "mean [5-95 % over worlds]" if posterior else "mean [95 % CI]"
    head = ["<th>Metric</th>", "<th>Scenario</th>",
            f"<th>Level, {esc(data.dates.get(final, ''))}<br><span class='ci'>{level}</span>"
            "</th>"]
    if len(data.ids) > 1:
        effect = ("median [90 % over draws]" if posterior else "mean [95 % CI], paired")
        for month in months:
            head.append(f"<th>Effect, {esc(data.dates.get(month, ''))}<br><span class='ci'>"
                        f"month {month}; {effect}</span></th>")
        head.append(f"<th>Reading, {esc(data.dates.get(final, ''))}</th>")
    return "".join(head)


def key_figures_html(data: ReportData, choice: dict[str, str] | None = None) -> str:
    """One table per (region, segment); the chosen one is shown.

    Each table has a row per scenario and metric: its level at the final month and its
    paired effect against the first scenario at each of :func:`table_months`.
    """
    choice = choice or data.default_choice
    posterior = ensemble(data)
    summary = key_table_summary(data)
    months = sorted(int(m) for m in summary["month"].unique())
    head = _head(data, months, posterior)
    post = getattr(data.results, "posterior", None)
    worlds = (f"{post['draws']} posterior draws x {post['replications_per_draw']} "
              "replications per scenario" if posterior else
              f"{data.results.replications} replications per scenario")
    effects = (f"; effects against {data.labels[data.ids[0]]}, paired world by world"
               if len(data.ids) > 1 else "")
    out = []
    for (region, segment), cell in summary.groupby(["region", "segment"], sort=False,
                                                   observed=True):
        if region not in data.regions or segment not in data.segments:
            continue
        rows = _rows(data, cell, segment, months, posterior)
        shown = region == choice["region"] and segment == choice["segment"]
        where = "all segments" if segment == ALL else segment
        out.append(
            f"<div class='table-wrap' data-region-table='{esc(region)}' "
            f"data-segment-table='{esc(segment)}'{'' if shown else ' hidden'}>"
            f"<table class='key'><caption>{esc(region)}, {esc(where)}; {esc(worlds)}"
            f"{esc(effects)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>")
    return "\n".join(out)


#: Columns of the key-figures CSV, in the metrics' own units (INTERFACES.md).
CSV_COLUMNS = ("scenario", "region", "segment", "metric", "unit", "month",
               "date", "mean", "ci_low", "ci_high", "p05", "p95", "diff_mean", "diff_ci_low",
               "diff_ci_high", "draws", "diff_p05", "diff_p50", "diff_p95",
               "diff_share_positive", "diff_share_negative")


def key_figures_csv(data: ReportData) -> str:
    """The key figures as CSV (every region, segment, month and key metric)."""
    table = key_table_summary(data)
    table = table[table["metric"].isin(KEY_METRICS)].copy()
    table["unit"] = table["metric"].map(lambda m: UNITS.get(m, ""))
    table["date"] = table["month"].map(lambda m: data.dates.get(int(m), ""))
    buffer = io.StringIO()
    table[list(CSV_COLUMNS)].to_csv(buffer, index=False, float_format="%.6g")
    return buffer.getvalue()


def csv_block(data: ReportData) -> str:
    """The CSV packed in a script block (gzip + base64: no ``<`` or ``>``) and its button."""
    return (f"<script type='application/octet-stream' id='key-figures-csv' "
            f"data-encoding='gzip+base64'>{pack(key_figures_csv(data))}</script>"
            "<button type='button' class='download' data-download='key-figures-csv' "
            "data-filename='key-figures.csv'>Download the key figures (CSV)</button>")
