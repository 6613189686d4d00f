"""Names and units of the market metrics of version 2 (INTERFACES.md "Metrics"; MODEL.md 8).

Kept apart from :mod:`sim.engine` so the scenario layer (trigger metrics), the targets file
and the reports can validate and label metric names without importing the engine;
:mod:`sim.engine.metrics` takes its table from here.
"""

from __future__ import annotations

__all__ = ["METRIC_TABLE", "MARKET_METRICS", "METRIC_UNITS", "VERSION_1_METRICS"]

#: (name, unit) in table order.
METRIC_TABLE: tuple[tuple[str, str], ...] = (
    ("hhi_market", "HHI points (0-10,000), the segment's relevant-market measure"),
    ("hhi_revenue", "HHI points (0-10,000) of firms' spend shares"),
    ("hhi_usage", "HHI points (0-10,000) of firms' token shares"),
    ("hhi_users", "HHI points (0-10,000) of firms' adopter shares"),
    ("cr1", "share of the largest firm in the relevant market (0-1)"),
    ("cr4", "share of the four largest firms in the relevant market (0-1)"),
    ("effective_firms", "firms (10,000 / hhi_market)"),
    ("open_usage_share", "share of tokens on open-weights lines (0-1)"),
    ("open_revenue_share", "share of spend on open-weights lines (0-1)"),
    ("open_user_share", "share of adopters on open-weights lines (0-1)"),
    ("aware", "share of potential adopters aware of the products (0-1)"),
    ("adoption", "share of potential adopters using a product (0-1)"),
    ("users", "adopters (the segment's unit)"),
    ("usage", "M tokens per month"),
    ("spend", "USD per month"),
    ("price_frontier", "USD per M tokens (flagship closed line's list price)"),
    ("price_paid", "USD per M tokens (spend / billed tokens)"),
    ("price_constant_capability", "USD per M tokens (cheapest line at the 2024-01 frontier's "
                                  "capability)"),
    ("consumer_surplus_usd", "USD per month"),
    ("producer_surplus_usd", "USD per month (operating profit earned in the region)"),
    ("harm_usd", "USD per month (expected external harm)"),
    ("harm_closed_usd", "USD per month (expected harm of closed lines' use)"),
    ("harm_open_base_usd", "USD per month (open weights' expected harm before the misuse "
                           "premium m: harm_usd = harm_closed_usd + (1 + m) x this)"),
    ("net_welfare_usd", "USD per month (CS + PS of home firms - harm)"),
    ("home_share", "share of tokens served by firms headquartered in the region (0-1)"),
    ("foreign_dependence", "largest share of tokens served by one foreign region's firms (0-1)"),
    ("frontier_closed", "ECI points"),
    ("frontier_open", "ECI points"),
    ("gap_months", "months (how long ago the closed frontier was where open is now)"),
    ("firms_active", "firms selling in the market"),
    ("products_open", "open-weights lines available"),
    ("entries", "entries this month"),
    ("exits", "exits this month"),
    ("acquisitions", "acquisitions this month"),
    ("funding_raised", "USD raised this month by firms headquartered in the region"),
    ("markup_capped", "lines whose markup hit markup_max"),
)

#: Metrics recorded per (region, segment) and month, in column order.
MARKET_METRICS: tuple[str, ...] = tuple(name for name, _ in METRIC_TABLE)

#: The unit of each metric, shown by the CLI and the reports.
METRIC_UNITS: dict[str, str] = dict(METRIC_TABLE)


#: Version 1's metric names and what measures the same thing in version 2 (for messages).
VERSION_1_METRICS: dict[str, str] = {
    "hhi": "hhi_market", "open_share": "open_usage_share", "price_mean": "price_paid",
    "consumer_welfare": "consumer_surplus_usd", "adopters": "users",
    "vendors_active": "firms_active", "vendors_open": "products_open",
}
