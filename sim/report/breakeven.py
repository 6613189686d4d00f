"""The report's break-even table: which harm parameters decide a policy's net-welfare sign.

Issue 16: for every comparison and region, the break-even misuse premium ``m*`` and the
break-even hazard multiple ``k*`` (``sim.experiment.breakeven``), and a plain reading of which
of them turns the sign inside its prior.
"""

from __future__ import annotations

import math

import pandas as pd

from sim.experiment.breakeven import BREAK_EVEN_HAZARD_METRIC, BREAK_EVEN_METRIC
from sim.numbers import supported_decimals
from sim.report.data import ReportData
from sim.report.labels import esc, fmt_number

__all__ = ["break_even_html"]


def _fin(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _prior(name: str) -> tuple[float, float]:
    from sim.mechanisms.harm import PRIORS

    prior = next(p for p in PRIORS if p.name == name)
    return prior.low, prior.high


def _root_text(row: pd.Series | None, none: str) -> str:
    """A root's median [5 %, 95 %], to the precision its range supports, or ``none``."""
    if row is None or not _fin(row["mean"]):
        return none
    cap = supported_decimals(row["p05"], row["p95"])
    return (f"{fmt_number(row['mean'], cap=cap)}<span class='ci'> ["
            f"{fmt_number(row['p05'], cap=cap)}, {fmt_number(row['p95'], cap=cap)}]</span>")


def _why_none(note: str) -> str:
    """The reason a summary note gives for the most common no-break-even case, shortened."""
    reasons = [part.split(": ", 1)[1] for part in note.split("; ") if "no break-even" in part]
    return reasons[0].split(": ")[-1] if reasons else "no break-even"


def _deciding(m_row: pd.Series, k_row: pd.Series | None, h0: float | None) -> str:
    """Which harm parameters decide the sign of the policy's net-welfare effect (plain text)."""
    counts = [f"m*: {m_row['note'].split(';')[0]}"]
    if _fin(m_row["mean"]):
        parts = [f"The sign turns at a misuse premium m* = {fmt_number(m_row['mean'])}, inside "
                 "its prior [0, 100]"]
    else:
        parts = [f"No misuse premium in [0, 100] turns the sign ({_why_none(m_row['note'])})"]
    if k_row is not None:
        counts.append(f"k*: {k_row['note'].split(';')[0]}")
        if _fin(k_row["mean"]):
            k = k_row["mean"]
            text = f"harm per token k* = {fmt_number(k)} times the run's turns it"
            if h0 is not None and h0 > 0:
                low, high = _prior("hazard_scale")
                where = "inside" if low <= k * h0 <= high else "outside"
                text += (f" (a hazard scale of {fmt_number(k * h0)} USD per M tokens, {where} "
                         f"its prior [{low:g}, {high:g}])")
            parts.append(text)
        else:
            parts.append(f"no hazard scale turns it ({_why_none(k_row['note'])})")
    return "; ".join(parts) + ". " + "; ".join(counts) + "."


def break_even_html(data: ReportData) -> str:
    """Break-even harm parameters of each comparison, per region, and which decide the sign.

    ``m*`` is the misuse premium of open weights at which the policy's net-welfare effect
    is zero, ``k*`` the multiple of the run's hazard scale at which it is zero (at the run's
    ``m``); their medians and 5-95 % ranges over paired runs, and how many pairs have one.
    Harm is proportional to ``1 + m`` (its open part) and to the hazard scale and does not
    feed back into the market, so both are exact on the paired runs.
    """
    if len(data.ids) < 2:
        return ""
    summary = data.results.summary(metrics=[BREAK_EVEN_METRIC, BREAK_EVEN_HAZARD_METRIC])
    hazard = {sid: float(s.harm.hazard_scale)
              for sid, s in zip(data.ids, data.results.scenarios, strict=False)}
    keyed = summary.set_index(["scenario", "region", "metric"])
    rows = []
    for _, r in summary[summary["metric"] == BREAK_EVEN_METRIC].iterrows():
        key = (r["scenario"], r["region"], BREAK_EVEN_HAZARD_METRIC)
        k_row = keyed.loc[key] if key in keyed.index else None
        rows.append(f"<tr><td>{esc(data.labels.get(r['scenario'], r['scenario']))}</td>"
                    f"<td>{esc(r['region'])}</td>"
                    f"<td class='num'>{_root_text(r, 'none in [0, 100]')}</td>"
                    f"<td class='num'>{_root_text(k_row, 'none')}</td>"
                    f"<td class='reading'>{esc(_deciding(r, k_row, hazard.get(r['scenario'])))}"
                    "</td></tr>")
    return ("<div class='table-wrap'><table class='key'><caption>Which harm parameters "
            f"decide the policy's net-welfare effect, month {data.final_month} "
            f"({esc(data.dates.get(data.final_month, ''))}). Break-even misuse premium m*: "
            "the premium on open weights' harm per use (m in harm = closed + (1 + m) open) "
            "at which the effect is zero. Break-even hazard multiple k*: how many times the "
            "run's harm per token (hazard scale h0) makes it zero at the run's m. Median "
            "[5 %, 95 %] over paired runs</caption><thead><tr><th>Policy</th><th>Region</th>"
            "<th>m*</th><th>k*</th><th>Which parameters decide the sign</th></tr></thead>"
            "<tbody>" + "".join(rows) + "</tbody></table>"
            "<p class='note'>Harm is proportional to 1 + m (its open part) and to h0, and "
            "it does not change what adopters and firms do, so m* and k* are exact on these "
            "paired runs: the effect is zero where k (&Delta; closed harm + (1 + m) "
            "&Delta; open harm) = &Delta;CS + &Delta;PS of home firms. The leakage, the "
            "openness discount and the hazard's capability slope reshape the harm components "
            "themselves (which region bears leaked harm, how harm rises with capability), "
            "which these totals cannot undo, so they need re-runs: <code>make harm-priors</code> "
            "draws all five harm parameters from their priors (docs/validation.md 4).</p></div>")
