"""The key figures ``marketsim run`` prints: concentration, openness, price and welfare.

Numbers are printed to about three significant figures whatever their magnitude (HHI
points, shares, USD per M tokens, USD per month), each block headed by its metric's unit.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from sim.experiment.breakeven import BREAK_EVEN_HAZARD_METRIC, BREAK_EVEN_METRIC
from sim.experiment.store import shown
from sim.metric_names import METRIC_UNITS
from sim.numbers import round_to_interval, supported_decimals
from sim.scenario.months import date_of

if TYPE_CHECKING:
    import pandas as pd

    from sim.experiment.results import Results

__all__ = ["KEY_FIGURES", "BREAK_EVEN_REGIONS", "HEADLINE_METRIC", "figure_text",
           "figure_texts", "key_figure_lines", "headline_cell", "headline_lines", "policy_region"]

#: The headline's metric: the relevant-market HHI of the segment the policy targets.
HEADLINE_METRIC = "hhi_market"

#: The run command's key figures: (metric, region, segment), in print order. Concentration
#: of each relevant market of the EU and the US, openness of their enterprise and developer
#: markets, the world enterprise price and EU consumer surplus (MODEL.md 8).
KEY_FIGURES: tuple[tuple[str, str, str], ...] = (
    *(("hhi_market", region, segment) for region in ("EU", "US")
      for segment in ("enterprise", "developer", "consumer")),
    *(("open_usage_share", region, segment) for region in ("EU", "US")
      for segment in ("enterprise", "developer")),
    ("price_paid", "World", "enterprise"),
    ("consumer_surplus_usd", "EU", "all"),
    ("harm_usd", "EU", "all"),
    ("net_welfare_usd", "EU", "all"),
)

#: Regions whose break-even misuse premium ``m*`` the run command prints.
BREAK_EVEN_REGIONS = ("EU", "US", "World")

_SCALES = ((1e12, " tn"), (1e9, " bn"), (1e6, " M"))


def figure_texts(values: list[float], sign: bool = False,
                 interval: tuple[float, float] | None = None) -> list[str]:
    """Numbers that are read together (a difference and its CI) to one common precision.

    About three significant figures of the largest of them: thousands get separators and
    no decimals, millions and more a suffix (M, bn, tn), magnitudes below 0.01 an
    exponent; NaN is ``n/a``. With ``interval``, no digit finer than the interval supports
    is printed (two significant digits of its half-width, :mod:`sim.numbers`).

    Example:
        >>> figure_texts([4.23, -28.0, 36.5], sign=True)
        ['+4.2', '-28.0', '+36.5']
        >>> figure_texts([4.23, -28.0, 36.5], sign=True, interval=(-28.0, 36.5))
        ['+4', '-28', '+37']
        >>> figure_texts([1.04e-4, -0.00252, 0.00273], sign=True)
        ['+1.04e-04', '-2.52e-03', '+2.73e-03']
        >>> figure_texts([1.04e-4, -0.00252, 0.00273], sign=True, interval=(-0.00252, 0.00273))
        ['+1e-04', '-2.5e-03', '+2.7e-03']
        >>> figure_texts([-0.00485, -0.0587, 0.049], sign=True)
        ['-0.0049', '-0.0587', '+0.0490']
        >>> figure_texts([2.37e10, -2.16e10, 6.89e10], sign=True)
        ['+23.7 bn', '-21.6 bn', '+68.9 bn']
        >>> figure_texts([-3.1e9, -3.16e9, -3.03e9], interval=(-3.16e9, -3.03e9))
        ['-3.10 bn', '-3.16 bn', '-3.03 bn']
    """
    plus = "+" if sign else ""
    cap = None if interval is None else supported_decimals(*interval)
    values = [round_to_interval(v, cap) for v in values]
    finite = [abs(v) for v in values if math.isfinite(v)]
    size = max(finite, default=0.0)
    suffix, scale = "", 1.0
    for unit, name in _SCALES:
        if size >= unit:
            suffix, scale = name, unit
            break
    exponent = 0 < size < 1e-2  # never 0.00x: leading zeros hide the figures
    digits = 0 if exponent or size == 0 else max(0, 2 - math.floor(math.log10(size / scale)))
    if cap is not None:
        digits = max(0, min(digits, cap + round(math.log10(scale))))
    out = []
    for value in values:
        if not math.isfinite(value):
            out.append("n/a")
        elif value == 0:
            out.append(f"{plus}0")
        elif exponent:
            mantissa = 2 if cap is None else min(2, max(0, math.floor(math.log10(abs(value)))
                                                        + cap))
            out.append(f"{value:{plus}.{mantissa}e}")
        else:
            out.append(f"{value / scale:{plus},.{digits}f}{suffix}")
    return out


def figure_text(value: float, sign: bool = False) -> str:
    """One number to about three significant figures (see :func:`figure_texts`).

    Example:
        >>> [figure_text(v) for v in (2593.6, 0.19123, 0.000211, 4.46e7, 12.345, 0.0)]
        ['2,594', '0.191', '2.11e-04', '44.6 M', '12.3', '0']
        >>> figure_text(-0.0004, sign=True), figure_text(float("nan"))
        ('-4.00e-04', 'n/a')
    """
    return figure_texts([value], sign)[0]


def policy_region(base: Any, policy: Any, regions: list[str] | None = None) -> str:
    """The region of the first policy ``policy`` has and ``base`` does not, else ``World``.

    Scenarios inherit the baseline's history (the AI Act is a policy of the baseline), so
    the policies a compared scenario adds are its own question. With ``regions``, only a
    region among them counts.
    """
    reference = list(base.policies)
    for item in policy.policies:
        region = getattr(item, "region", None)
        if item not in reference and isinstance(region, str) and (
                regions is None or region in regions):
            return region
    return "World"


def headline_cell(results: Results) -> tuple[str, str]:
    """The (region, segment) the compared policies target: where a report opens.

    The region of the first policy the second scenario adds (:func:`policy_region`); the
    segment is ``enterprise``, the market whose concentration the EU ban is about (seed
    article).

    Example:
        >>> import sim
        >>> res = sim.run(["baseline", "eu_blocks_open"], replications=1, months=1, jobs=1)
        >>> headline_cell(res)
        ('EU', 'enterprise')
    """
    if len(results.scenarios) >= 2:
        return policy_region(results.scenarios[0], results.scenarios[1]), "enterprise"
    return "World", "enterprise"


def headline_lines(results: Results, table: pd.DataFrame | None = None) -> list[str]:
    """The headline: each policy's paired effect on :data:`HEADLINE_METRIC` where it targets.

    Over a posterior ensemble it is the median and 90 % interval over draws of the
    per-draw paired effect with the share of draws on each side of zero (MODEL.md 9);
    without one, the mean paired effect and its 95 % CI over replications, said to be
    stochastic only.
    """
    if len(results.ids) < 2:
        return []
    region, segment = headline_cell(results)
    table = results.summary(metrics=[HEADLINE_METRIC]) if table is None else table
    rows = table[(table["metric"] == HEADLINE_METRIC) & (table["region"] == region)
                 & (table["segment"] == segment) & (table["scenario"] != results.ids[0])]
    month = int(rows["month"].max()) if not rows.empty else None
    if month is None:
        return []
    when = date_of(month, results.scenarios[0].scenario.start)
    unit = METRIC_UNITS[HEADLINE_METRIC]
    lines = []
    for _, row in rows[rows["month"] == month].iterrows():
        name = shown(row["scenario"])
        if row["draws"] >= 2 and math.isfinite(row["diff_p50"]):
            band = (row["diff_p05"], row["diff_p95"])
            mid, low, high = figure_texts([row["diff_p50"], *band], sign=True, interval=band)
            lines.append(f"headline: {name} vs {shown(results.ids[0])}, {HEADLINE_METRIC} "
                         f"{region} {segment} in {when}: {mid} {unit} (median; 90 % interval "
                         f"{low} to {high} over {int(row['draws'])} posterior draws); above "
                         f"zero in {row['diff_share_positive']:.0%} of draws, below in "
                         f"{row['diff_share_negative']:.0%}")
        elif math.isfinite(row["diff_mean"]):
            ci = (row["diff_ci_low"], row["diff_ci_high"])
            mid, low, high = figure_texts([row["diff_mean"], *ci], sign=True, interval=ci)
            lines.append(f"headline: {name} vs {shown(results.ids[0])}, {HEADLINE_METRIC} "
                         f"{region} {segment} in {when}: {mid} {unit} (mean; 95 % CI {low} to "
                         f"{high} over replications of one parameter set: luck only, no "
                         "parameter uncertainty; add --posterior baseline)")
    return lines


def key_figure_lines(results: Results) -> list[str]:
    """The final month's key figures, with the paired difference vs the first scenario.

    A header naming the month's date, then one block per metric headed by its unit: the
    :data:`KEY_FIGURES` cells the scenarios have, each scenario's mean and, from the
    second scenario on, the paired difference from the first with its 95 % CI.
    """
    metrics = list(dict.fromkeys(metric for metric, _, _ in KEY_FIGURES))
    table = results.summary(metrics=[*metrics, BREAK_EVEN_METRIC, BREAK_EVEN_HAZARD_METRIC])
    if table.empty:
        return []
    lines = headline_lines(results, table)
    first = results.scenarios[0].scenario
    month = int(table["month"].max())
    over_draws = bool(results.posterior) and (table["draws"] >= 2).any()
    lines.append(f"key figures in {date_of(month, first.start)} (month {month}); paired "
                 f"difference vs {results.ids[0]} "
                 + ("[median and 90 % interval over posterior draws; share of draws above "
                    "zero]" if over_draws else "[95 % CI]"))
    cells = {key: rows for key, rows in table.groupby(["metric", "region", "segment"],
                                                      sort=False)}
    width = max(12, *(len(sid) for sid in results.ids))
    for metric in metrics:
        found = [(r, s) for m, r, s in KEY_FIGURES if m == metric and (m, r, s) in cells]
        if not found:
            continue
        lines.append(f"{metric} ({METRIC_UNITS[metric]})")
        for region, segment in found:
            for _, row in cells[(metric, region, segment)].iterrows():
                diff = ""
                if (over_draws and row["scenario"] != results.ids[0]
                        and math.isfinite(row["diff_p50"])):
                    band = (row["diff_p05"], row["diff_p95"])
                    mid, low, high = figure_texts([row["diff_p50"], *band], sign=True,
                                                  interval=band)
                    diff = f"  {mid} [{low}, {high}] {row['diff_share_positive']:.0%} > 0"
                elif row["scenario"] != results.ids[0] and row["diff_mean"] == row["diff_mean"]:
                    ci = (row["diff_ci_low"], row["diff_ci_high"])
                    mean, low, high = figure_texts([row["diff_mean"], *ci], sign=True,
                                                   interval=ci)
                    diff = f"  {mean} [{low}, {high}]"
                level = figure_texts([row["mean"]], interval=(row["ci_low"], row["ci_high"]))[0]
                lines.append(f"  {shown(row['scenario']):<{width}} {region:<6} {segment:<11} "
                             f"{level:>10}{diff}")
    return lines + _break_even_lines(table, width)


#: The break-even rows the run command prints: (metric, what its number is).
_BREAK_EVENS = (
    (BREAK_EVEN_METRIC, "misuse premium m at which the policy's net-welfare effect is zero"),
    (BREAK_EVEN_HAZARD_METRIC, "multiple of the run's hazard scale at which the effect is "
                               "zero at the run's m"),
)


def _break_even_lines(table: pd.DataFrame, width: int) -> list[str]:
    """``m*`` and ``k*`` per policy and region: median [5 %, 95 %] over paired runs, or why none."""
    lines = []
    for metric, what in _BREAK_EVENS:
        rows = table[(table["metric"] == metric) & table["region"].isin(BREAK_EVEN_REGIONS)]
        if rows.empty:
            continue
        lines.append(f"{metric} ({what}; median [5 %, 95 %] over paired runs)")
        for _, row in rows.iterrows():
            if math.isfinite(row["mean"]):
                mid, low, high = figure_texts([row["mean"], row["p05"], row["p95"]],
                                              interval=(row["p05"], row["p95"]))
                value = f"{mid} [{low}, {high}]"
            else:
                value = "none"
            lines.append(f"  {shown(row['scenario']):<{width}} {row['region']:<6} {value}  "
                         f"({row['note']})")
    return lines
