"""Plausibility checks of a run against the patterns of the fit window (issue 14).

Each check reads the tidy tables of a run (``market``, ``products``, ``vendors``), measures one
quantity the way the facts measure it, and compares it with a stated tolerance; the
tolerances and their sources are in ``docs/validation.md`` ("Plausibility"). These are
*pattern* checks of the calibrated baseline, not of the code: the code's analytic checks
are the mechanism and engine tests. ``scripts/plausibility.py`` (``make plausibility``)
prints the table for the shipped baseline; ``tests/test_plausibility.py`` asserts it.

Quantities are read from the replication mean (the stochastic spread of a market metric
is tiny at these populations, MODEL.md 9).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Check", "CHECKS", "evaluate", "series"]

#: Step of 2025-06, the last month of the fit window (the baseline starts in 2024-01).
FIT_END = 17


@dataclass(frozen=True)
class Check:
    """One pattern check.

    Attributes:
        name: Identifier (used by the tests).
        what: What is measured, in words.
        tolerance: The accepted range, in words.
        measure: ``tables -> (measured value in words, passed)``.
    """

    name: str
    what: str
    tolerance: str
    measure: Callable[[dict[str, pd.DataFrame]], tuple[str, bool]]


def series(market: pd.DataFrame, metric: str, region: str, segment: str) -> pd.Series:
    """The replication mean of ``metric`` in one market, indexed by month."""
    cell = market[(market["region"] == region) & (market["segment"] == segment)]
    return cell.groupby("month")[metric].mean()


def _annual_fall(values: pd.Series, start: int, end: int) -> float:
    """Factor by which a price falls a year between two months (> 1 when it falls)."""
    return float((values.loc[start] / values.loc[end]) ** (12.0 / (end - start)))


def _fall_check(metric: str, low: float, high: float) -> Callable[[dict], tuple[str, bool]]:
    def measure(tables: dict[str, pd.DataFrame]) -> tuple[str, bool]:
        factor = _annual_fall(series(tables["market"], metric, "World", "all"), 0, FIT_END)
        return f"{factor:.2f}x a year", bool(low <= factor <= high)
    return measure


def _spend_grows_fit(tables: dict[str, pd.DataFrame]) -> tuple[str, bool]:
    spend = series(tables["market"], "spend", "World", "enterprise")
    ratio = float(spend.loc[FIT_END] / spend.loc[0])
    return f"x{ratio:.2f} from 2024-01 to 2025-06", ratio > 1.0


def _yearly(tables: dict[str, pd.DataFrame], metric: str, segment: str,
            how: str) -> pd.Series:
    values = series(tables["market"], metric, "World", segment)
    years = values.index // 12  # step 0 is January 2024
    grouped = values.groupby(years)
    return (grouped.sum() if how == "sum" else grouped.last()).loc[0:3]  # 2024 .. 2027


def _prices_keep_falling(tables: dict[str, pd.DataFrame]) -> tuple[str, bool]:
    flagship = _yearly(tables, "price_frontier", "all", "last")
    paid = _yearly(tables, "price_paid", "enterprise", "last")
    falls = bool(np.all(np.diff(flagship.to_numpy()) < 0) and np.all(np.diff(paid.to_numpy()) < 0))
    text = ", ".join(f"{2024 + int(y)}: {v:.3g}" for y, v in flagship.items())
    return f"flagship at each December {text}", falls


def _spend_grows_yearly(tables: dict[str, pd.DataFrame]) -> tuple[str, bool]:
    spend = _yearly(tables, "spend", "enterprise", "sum")
    text = ", ".join(f"{2024 + int(y)}: {v / 1e9:.3g}B" for y, v in spend.items())
    return f"World enterprise spend {text} USD", bool(np.all(np.diff(spend.to_numpy()) > 0))


def _open_share_band(tables: dict[str, pd.DataFrame]) -> tuple[str, bool]:
    share = series(tables["market"], "open_usage_share", "US", "enterprise").loc[0:35]
    low, high = float(share.min()), float(share.max())
    return f"{low:.3f} .. {high:.3f}", bool(low >= 0.05 and high <= 0.30)


def _adoption_below(tables: dict[str, pd.DataFrame]) -> tuple[str, bool]:
    market = tables["market"]
    cells = market[market["segment"].isin(["consumer", "enterprise"]) & (market["month"] < 48)]
    worst = cells.groupby(["region", "segment", "month"])["adoption"].mean()
    where = worst.idxmax()
    return (f"highest {worst.max():.3f} ({where[1]}, {where[0]}, step {where[2]})",
            bool(worst.max() < 0.95))


def _chatgpt_leads(tables: dict[str, pd.DataFrame]) -> tuple[str, bool]:
    products = tables["products"]
    cells = products[(products["segment"] == "consumer") & (products["region"] != "CN")
                     & products["month"].between(12, 23)]
    users = cells.groupby(["month", "vendor"])["users"].sum().unstack("vendor")
    users = users.div(users.sum(axis=1), axis=0)
    leaders = users.idxmax(axis=1)
    share = users["OpenAI"] if "OpenAI" in users else pd.Series(0.0, index=users.index)
    return (f"OpenAI {share.min():.3f} .. {share.max():.3f} of users outside China; leader "
            f"every month: {', '.join(sorted(set(leaders)))}"), bool((leaders == "OpenAI").all())


def _never_capped(tables: dict[str, pd.DataFrame]) -> tuple[str, bool]:
    capped = series(tables["market"], "markup_capped", "World", "all")
    return f"{int(capped.max())} lines at most", bool(capped.max() == 0)


#: Venture rounds of the leading closed labs (the two largest in the fit window's enterprise
#: facts) over 2024-01 .. 2025-06, USD: OpenAI $6.6B (2024-10, OpenAI [P]) and $40B
#: (2025-03, CALIBRATION.md [R]); Anthropic $2.75B from Amazon (2024-03, Amazon [P]), $4B
#: from Amazon (2024-11, Anthropic [P]), $1B from Google (2025-01, FT [R]) and its $3.5B
#: Series E (2025-03, Anthropic [P]). Rounds announced, tranches counted at announcement.
ROUNDS_FIT_WINDOW = {"OpenAI": 46.6e9, "Anthropic": 11.25e9}


def _rounds_fit(tables: dict[str, pd.DataFrame]) -> tuple[str, bool]:
    vendors = tables["vendors"]
    cells = vendors[(vendors["region"] == "World") & (vendors["month"].between(1, FIT_END))]
    raised = cells.groupby(["vendor", "replication"])["raised"].sum().groupby("vendor").mean()
    ratios = {f: float(raised.get(f, 0.0)) / fact for f, fact in ROUNDS_FIT_WINDOW.items()}
    text = "; ".join(f"{f} ${raised.get(f, 0.0) / 1e9:.1f}B vs ${fact / 1e9:.2f}B "
                     f"(x{ratios[f]:.2f})" for f, fact in ROUNDS_FIT_WINDOW.items())
    return text, all(0.5 <= r <= 2.0 for r in ratios.values())


#: The checks of issues 14 and 15, in the order of docs/validation.md.
CHECKS: tuple[Check, ...] = (
    Check("flagship_price_fall", "price_frontier, World, 2024-01 -> 2025-06, a year",
          "falls 1.5-4x a year", _fall_check("price_frontier", 1.5, 4.0)),
    Check("constant_capability_price_fall",
          "price_constant_capability (2024-01 frontier), World, 2024-01 -> 2025-06, a year",
          "falls 8-60x a year", _fall_check("price_constant_capability", 8.0, 60.0)),
    Check("enterprise_spend_grows_fit", "spend, World enterprise, 2025-06 against 2024-01",
          "grows", _spend_grows_fit),
    Check("prices_keep_falling", "price_frontier (World) and price_paid (World enterprise) "
          "each December 2024-2027", "each below the last", _prices_keep_falling),
    Check("enterprise_spend_grows_yearly", "spend, World enterprise, summed over 2024 .. 2027",
          "each year above the last", _spend_grows_yearly),
    Check("us_enterprise_open_share", "open_usage_share, US enterprise, 2024-01 .. 2026-12",
          "within 5-30 %", _open_share_band),
    Check("adoption_below_saturation", "adoption, consumer and enterprise, every region, "
          "before 2028", "below 95 %", _adoption_below),
    Check("chatgpt_largest_consumer", "consumer user shares outside China, every month of "
          "2025", "OpenAI the largest firm", _chatgpt_leads),
    Check("markup_never_capped", "markup_capped, every month", "0", _never_capped),
    Check("leading_closed_rounds_fit", "venture rounds of OpenAI and Anthropic, "
          "2024-01 .. 2025-06", "within a factor of 2 of the announced rounds", _rounds_fit),
)


def evaluate(tables: dict[str, pd.DataFrame],
             checks: tuple[Check, ...] = CHECKS) -> pd.DataFrame:
    """Run ``checks`` on one run's tables.

    Returns:
        One row per check: ``check``, ``what``, ``tolerance``, ``measured``, ``passed``.
    """
    rows = []
    for check in checks:
        measured, passed = check.measure(tables)
        rows.append({"check": check.name, "what": check.what, "tolerance": check.tolerance,
                     "measured": measured, "passed": passed})
    return pd.DataFrame(rows)
