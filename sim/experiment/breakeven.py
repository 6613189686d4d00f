"""The break-even misuse premium ``m*`` of every policy comparison (MODEL.md 7; INTERFACES.md).

Harm does not feed back into the market, so a pair of runs (the same draw and replication
under the baseline and the policy) gives the policy's net-welfare effect at *every* misuse
premium ``m``. Per region, segment ``all`` and month:

    effect(m) = a - (1 + m) b,   a = dCS + dPS_home - d harm_closed,   b = d harm_open_base

with ``dPS_home = d net_welfare - dCS + d harm`` (``net_welfare = CS + PS_home - harm``), so
``a = d net_welfare + d harm - d harm_closed``. ``m* = (a - b) / b`` is the premium at which
the effect is zero (``sim.mechanisms.welfare.break_even_misuse_premium``, which also says why
a pair has none in ``[0, 100]``). Over pairs, the summary reports the median and the 5-95 %
range of ``m*`` among pairs that have one, and in ``note`` how many have one and why the
others do not. ``tests/test_break_even.py`` checks that setting ``m`` to ``m*`` zeroes the
effect.

Harm is also proportional to the hazard scale ``h0``, so the same pair gives the multiple
``k*`` of the run's ``h0`` at which the effect is zero at the run's ``m``:
``k* = (dCS + dPS_home) / d harm`` (``break_even_hazard_multiple``). Together the two say
which harm parameters decide the sign: the effect is zero on the curve
``k (d harm_closed + (1 + m) d harm_open_base) = dCS + dPS_home``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.mechanisms import welfare
from sim.mechanisms.harm import HarmComponents

__all__ = ["BREAK_EVEN_METRIC", "BREAK_EVEN_HAZARD_METRIC", "BREAK_EVEN_METRICS",
           "BREAK_EVEN_INPUTS", "paired_effect_terms", "break_even_rows"]

#: The summary's metric name for ``m*`` (INTERFACES.md).
BREAK_EVEN_METRIC = "break_even_misuse_premium"
#: The summary's metric name for ``k*``, the hazard-scale multiple at break-even.
BREAK_EVEN_HAZARD_METRIC = "break_even_hazard_multiple"
#: Summary metrics computed from paired runs rather than stored.
BREAK_EVEN_METRICS = (BREAK_EVEN_METRIC, BREAK_EVEN_HAZARD_METRIC)
#: Market metrics ``m*`` is computed from.
BREAK_EVEN_INPUTS = ("consumer_surplus_usd", "net_welfare_usd", "harm_usd", "harm_closed_usd",
                     "harm_open_base_usd")


def paired_effect_terms(base: pd.DataFrame, policy: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """``(delta_cs, delta_ps_home, components_base, components_policy)`` of paired rows.

    Args:
        base: Rows of the reference scenario, with the :data:`BREAK_EVEN_INPUTS` columns.
        policy: The policy's rows, paired with ``base`` row by row (same unit and region).

    Returns:
        Arrays ``[n, 1]`` (one region axis of length 1 per row), for
        ``welfare.break_even_misuse_premium``.
    """
    def col(frame: pd.DataFrame, name: str) -> np.ndarray:
        return frame[name].to_numpy(dtype=float)[:, None]

    delta = {name: col(policy, name) - col(base, name) for name in BREAK_EVEN_INPUTS}
    delta_cs = delta["consumer_surplus_usd"]
    delta_ps_home = delta["net_welfare_usd"] - delta_cs + delta["harm_usd"]

    def components(frame: pd.DataFrame) -> HarmComponents:
        return HarmComponents(closed=col(frame, "harm_closed_usd"),
                              open_local=col(frame, "harm_open_base_usd"),
                              open_leaked=np.zeros((len(frame), 1)))

    return delta_cs, delta_ps_home, components(base), components(policy)


def _note(found: int, total: int, reasons: dict[str, float], rising: int, symbol: str) -> str:
    parts = [f"break-even in {found}/{total} paired runs"]
    if found:  # which side of the root the policy helps on: the sign of the effect's slope
        parts.append(f"the policy raises net welfare above {symbol}" if rising == found else
                     f"the policy raises net welfare below {symbol}" if rising == 0 else
                     f"the policy raises net welfare above {symbol} in {rising}/{found} and "
                     "below it in the others")
    parts += [f"{round(share * total)}/{total}: {text}" for text, share in sorted(reasons.items())
              if share > 0]
    return "; ".join(parts)


def _row(sid: str, metric: str, symbol: str, month: int, region: str,
         cell: pd.DataFrame) -> dict:
    """One summary row of a root over the paired runs of one month and region."""
    summary = welfare.summarise_break_even(cell["root"].to_numpy()[:, None],
                                           cell["reason"].to_numpy()[:, None])
    shares = {text: float(v[0]) for text, v in summary.share_by_reason.items()}
    has = np.isfinite(cell["root"].to_numpy())
    found, rising = int(has.sum()), int(cell["up"].to_numpy()[has].sum())
    return {"scenario": sid, "region": region, "segment": "all", "metric": metric,
            "month": int(month), "mean": float(summary.median[0]),
            "p05": float(summary.low[0]), "p95": float(summary.high[0]),
            "note": _note(found, len(cell), shares, rising, symbol)}


def break_even_rows(market: pd.DataFrame, scenario_ids: list[str], columns: tuple[str, ...],
                    months: dict[str, list[int]],
                    wanted: tuple[str, ...] = BREAK_EVEN_METRICS) -> pd.DataFrame:
    """Summary rows of ``m*`` and ``k*`` for every scenario after the first, per month and region.

    Args:
        market: The market table (segment ``all`` rows are used).
        scenario_ids: Scenario ids; the first is the reference.
        columns: The summary's columns (the rows fill ``mean`` with the median root,
            ``p05``/``p95`` with its 5-95 % range and ``note``; the rest NaN).
        months: Months summarised per scenario id.
        wanted: Which of :data:`BREAK_EVEN_METRICS` to return.

    Returns:
        Rows in ``columns`` order (empty when the inputs are missing).
    """
    if len(scenario_ids) < 2 or not set(BREAK_EVEN_INPUTS) <= set(market.columns):
        return pd.DataFrame(columns=list(columns))
    unit = ["draw", "replication"] if "draw" in market.columns else ["replication"]
    keys = ["month", "region", *unit]
    pooled = market[market["segment"] == "all"]
    reference = pooled[pooled["scenario"] == scenario_ids[0]].set_index(keys)
    rows = []
    for sid in scenario_ids[1:]:
        policy = pooled[(pooled["scenario"] == sid) & pooled["month"].isin(months.get(sid, []))]
        policy = policy.set_index(keys)
        common = policy.index.intersection(reference.index)
        if common.empty:
            continue
        base_rows, policy_rows = reference.loc[common], policy.loc[common]
        terms = paired_effect_terms(base_rows, policy_rows)
        delta_harm = (policy_rows["harm_usd"].to_numpy(dtype=float)
                      - base_rows["harm_usd"].to_numpy(dtype=float))[:, None]
        # (metric, root, reason, whether the policy gains above the root), per pair
        roots = [(BREAK_EVEN_METRIC, "m*", *welfare.break_even_misuse_premium(*terms),
                  (terms[3].open_before_premium - terms[2].open_before_premium)[:, 0] < 0),
                 (BREAK_EVEN_HAZARD_METRIC, "k*",
                  *welfare.break_even_hazard_multiple(terms[0], terms[1], delta_harm),
                  delta_harm[:, 0] < 0)]
        for metric, symbol, root, reason, slope_up in roots:
            if metric not in wanted:
                continue
            frame = pd.DataFrame({"month": common.get_level_values("month"),
                                  "region": common.get_level_values("region"),
                                  "root": root[:, 0], "reason": reason[:, 0], "up": slope_up})
            rows += [_row(sid, metric, symbol, month, region, cell)
                     for (month, region), cell in frame.groupby(["month", "region"], sort=False)]
    out = pd.DataFrame(rows, columns=list(columns))
    return out.astype({c: float for c in columns if c not in
                       ("scenario", "region", "segment", "metric", "month", "note")})
