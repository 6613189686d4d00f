"""Names of the metrics the model records (MODEL.md section 5).

Kept apart from :mod:`sim.metrics` so the scenario schema (triggers) and the
targets file can validate metric names without importing the model.
"""

from __future__ import annotations

#: Metrics recorded per (region, segment) and month, in column order.
MARKET_METRICS: tuple[str, ...] = (
    # concentration
    "hhi",
    "hhi_usage",
    "hhi_revenue",
    "cr1",
    "cr4",
    "effective_firms",
    # openness
    "open_share",
    "open_usage_share",
    "open_revenue_share",
    # demand
    "adopters",
    "adoption",
    "usage",
    "spend",
    "price_mean",
    "price_constant_capability",
    # welfare
    "consumer_welfare",
    # capability
    "frontier_closed",
    "frontier_open",
    "gap_months",
    # supply side
    "vendors_active",
    "vendors_open",
    "contributors",
    "effort",
    "derivatives",
    "compliance_paid",
    "subsidy_paid",
    "withdrawals",
    "entries",
    "exits",
    "markup_capped",
)

#: Columns of the per-vendor, per-region table.
VENDOR_COLUMNS: tuple[str, ...] = (
    "share",
    "adopters",
    "usage",
    "revenue",
    "price",
    "capability",
    "cash",
    "open",
    "served",
    "available",
    "alive",
)
