"""Report tables: how numbers and HHI changes read, design points, calibration fits.

The key-figures table itself is :mod:`sim.report.keytable`.

Every text that comes from a scenario or targets file passes through :func:`esc`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.numbers import round_to_interval
from sim.report.data import ReportData
from sim.report.labels import esc, fmt_money, fmt_number, spec

if TYPE_CHECKING:
    from sim.scenario.schema import Scenario

__all__ = ["KEY_METRICS", "hhi_reading", "segment_key_metrics", "value_text", "diff_text",
           "is_finite", "design_table_html", "calibration_table_html", "changes_vs",
           "WELFARE_NOTE", "HHI_NOTE"]

#: Rows of the key-figures tables (per region and segment), in order.
KEY_METRICS = ("hhi_market", "open_usage_share", "open_user_share", "price_paid",
               "consumer_surplus_usd", "producer_surplus_usd", "harm_usd", "net_welfare_usd",
               "gap_months")

HHI_NOTE = (
    "Concentration is over firms (a firm's open and closed lines add up) in one relevant "
    "market, a (region, segment): hhi_market is the HHI of enterprise spend, developer tokens "
    "(self-hosted open use counted to the model's owner) or consumer users. It is the only HHI "
    "compared with merger-guideline thresholds, and it does not exist for all segments "
    "together (people and organisations are never pooled). HHI changes are read against "
    "merger screens by analogy (they were written for mergers, not for policies): US Merger "
    "Guidelines 2023, a market with HHI above 1,800 is highly concentrated and an increase of "
    "more than 100 points is significant; EU Horizontal Merger Guidelines 2004 (paras 19-20), "
    "concerns are unlikely below HHI 1,000, between 1,000 and 2,000 with an increase below "
    "250, or above 2,000 with an increase below 150.")

WELFARE_NOTE = (
    "Welfare in money: consumer surplus, producer surplus (operating profit earned in the "
    "region), expected external harm and net welfare (consumer surplus + producer surplus of "
    "firms headquartered in the region - harm) are USD per month. Consumer surplus is a level "
    "against a stated reference (a choke price), so its paired difference between scenarios "
    "is the policy's effect in USD per month (compensating variation), not the level itself. "
    "Harm rests on uncertain parameters (the misuse premium of open weights, leakage) with "
    "wide priors: read a net-welfare effect together with the break-even misuse premium.")


def segment_key_metrics(segment: str) -> tuple[str, ...]:
    """Key-figure rows of one segment: consumers' openness is a share of users, not tokens.

    Example:
        >>> "open_user_share" in segment_key_metrics("consumer")
        True
        >>> "open_user_share" in segment_key_metrics("enterprise")
        False
    """
    drop = "open_usage_share" if segment == "consumer" else "open_user_share"
    return tuple(m for m in KEY_METRICS if m != drop)


def is_finite(x: float) -> bool:
    """Whether ``x`` is a number (not None, not NaN)."""
    return x is not None and not (isinstance(x, float) and math.isnan(x))


def hhi_reading(level: float, diff: float, lo: float = math.nan,
                hi: float = math.nan, interval: str = "95 % CI") -> str:
    """Read an HHI change against the US 2023 and EU 2004 merger screens.

    Args:
        level: HHI after the change (the compared scenario's mean).
        diff: Mean change vs the reference scenario (points).
        lo: Lower end of the interval of the change.
        hi: Upper end.
        interval: What the interval is (``95 % CI`` of a mean, ``90 % interval`` over
            posterior draws).

    Example:
        >>> hhi_reading(2600, 180, 120, 240).startswith("US 2023: above")
        True
    """
    if not (is_finite(level) and is_finite(diff)):
        return "HHI undefined (empty market) in at least one scenario."
    if diff <= 0:
        return (f"HHI falls by {-diff:,.0f}: no concentration concern under the US 2023 or "
                "EU 2004 screens.")

    def ci_side(threshold: float) -> str:
        if not (is_finite(lo) and is_finite(hi)):
            return ""
        if lo > threshold:
            return f" (whole {interval} above)"
        if hi < threshold:
            return f" (whole {interval} below)"
        return f" ({interval} straddles it)"

    if level > 1800:
        us = (f"US 2023: {'above' if diff > 100 else 'below'} the +100 screen in a highly "
              f"concentrated market (HHI > 1,800){ci_side(100)}.")
    else:
        us = "US 2023: HHI at most 1,800, not highly concentrated."
    if level < 1000:
        eu = "EU 2004: HHI below 1,000, concerns unlikely."
    else:
        step = 150 if level > 2000 else 250
        band = "HHI > 2,000" if level > 2000 else "HHI 1,000-2,000"
        eu = (f"EU 2004: {'above' if diff > step else 'below'} +{step} with {band}"
              f"{ci_side(step)}.")
    return f"{us} {eu}"


def value_text(metric: str, value: float, cap: int | None = None) -> str:
    """A level in display units; ``cap``: decimals its interval supports (in metric units)."""
    s = spec(metric)
    if not is_finite(value):
        return "\u2013"
    v = value * s.scale
    cap = None if cap is None else cap - round(math.log10(s.scale))
    if metric.startswith("hhi"):
        return f"{round_to_interval(v, None if cap is None else min(cap, 0)):,.0f}"
    if metric.endswith("_usd"):
        return fmt_money(v, cap)
    if s.scale == 100:
        return f"{fmt_number(v, 3, min(1, cap) if cap is not None else 1)} %"
    return fmt_number(v, cap=cap)


def diff_text(metric: str, value: float, cap: int | None = None) -> str:
    """A paired difference in display units, signed (``cap`` as in :func:`value_text`).

    A difference its interval rounds to zero has no sign.

    Example:
        >>> diff_text("hhi_market", 31.6, 0), diff_text("hhi_market", -0.2, 0)
        ('+32', '0')
    """
    s = spec(metric)
    if not is_finite(value):
        return "\u2013"
    if s.scale == 100:
        v, c = value * s.scale, None if cap is None else min(1, cap - 2)
        text, unit = fmt_number(v, 3, 1 if c is None else c), " pp"
    else:
        text, unit = value_text(metric, value, cap), ""
    if not any(ch in "123456789" for ch in text.split(" ")[0]):
        return text.lstrip("+-") + unit
    return (text if text.startswith("-") else "+" + text) + unit


def design_table_html(data: ReportData, max_rows: int = 200) -> str:
    """Design points with their parameter values and outcomes at the final month.

    In the report's default region and segment (a relevant market, so ``hhi_market`` exists).
    """
    region, segment = data.default_region, data.default_segment
    means = data.point_means(list(KEY_METRICS))
    world = means[(means["region"] == region) & (means["segment"] == segment)]
    world = world.set_index("point").reindex(data.ids)
    params = data.parameters
    head = "".join(["<th>Point</th>", *(f"<th>{esc(p)}</th>" for p in params),
                    *(f"<th>{esc(spec(m).label)}</th>" for m in KEY_METRICS)])
    rows = []
    for point, row in world.head(max_rows).iterrows():
        cells = [f"<td class='point'>{esc(point)}</td>"]
        cells += [f"<td class='num'>{esc(param_text(row.get(p)))}</td>" for p in params]
        cells += [f"<td class='num'>{value_text(m, row[m])}</td>" for m in KEY_METRICS]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = ""
    if len(world) > max_rows:
        more = (f"<p class='note'>First {max_rows} of {len(world)} points; all are in "
                "design.parquet and summary.csv.</p>")
    return (f"<div class='table-wrap'><table class='key'><caption>{esc(region)}, "
            f"{esc(segment)}, month {data.final_month}: mean over "
            f"{data.results.replications} replications per point</caption>"
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>{more}")


def param_text(value: Any) -> str:
    if isinstance(value, bool | np.bool_):
        return str(bool(value)).lower()
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        return fmt_number(float(value), 4)
    return str(value)


def calibration_table_html(fit: pd.DataFrame) -> str:
    """Targets (with their sources) against fitted values."""
    head = ("<th>Target<br><span class='ci'>source</span></th><th>Metric</th>"
            "<th>Region, segment, month</th><th>Target value</th>"
            "<th>Fitted mean [95 % CI]</th><th>Miss<br><span class='ci'>in tolerances</span>"
            "</th><th>Within</th>")
    rows = []
    for r in fit.itertuples():
        rows.append(
            "<tr>" + "".join([
                f"<td>{esc(r.target)}<br><span class='source'>{esc(r.source)}</span></td>",
                f"<td>{esc(r.metric)}</td>",
                f"<td>{esc(r.region)}, {esc(r.segment)}, {int(r.month)}</td>",
                f"<td class='num'>{fmt_number(r.observed, 4)} \u00b1 "
                f"{fmt_number(r.tolerance, 3)}</td>",
                f"<td class='num'>{fmt_number(r.fitted_mean, 4)}<br><span class='ci'>["
                f"{fmt_number(r.fitted_ci_low, 4)}, {fmt_number(r.fitted_ci_high, 4)}]</span>"
                "</td>",
                f"<td class='num'>{r.z:+.2f}</td>",
                f"<td>{'yes' if r.within else '<strong>no</strong>'}</td>"]) + "</tr>")
    return (f"<div class='table-wrap'><table class='key'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>")


_SKIP = ("scenario.name", "scenario.description", "scenario.extends")


def changes_vs(first: Scenario, other: Scenario) -> list[str]:
    """What ``other`` changes from ``first`` (dotted paths, as ``marketsim show`` prints)."""
    from sim.scenario.diff import diff_data, format_changes
    from sim.scenario.overrides import scenario_data

    changes = [c for c in diff_data(scenario_data(first), scenario_data(other))
               if c[1] not in _SKIP]
    return format_changes(changes)


def as_text(value: Any) -> str:
    """Plain text of a manifest value."""
    return "" if value is None else str(value)
