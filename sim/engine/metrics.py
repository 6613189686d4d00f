"""Market metric names and units of version 2 (INTERFACES.md "Metrics"; MODEL.md 8).

Names are contracts; each has a unit the CLI and the reports print. Relevant markets
are (region, segment); ``World`` pools regions of one segment (one world market per
segment) and ``all`` pools segments of one region **only for money and tokens**: an HHI of
adopter headcounts that pools people and organisations is never computed (it is NaN), nor
is ``hhi_market`` for ``all`` (no single relevant market). Empty markets are NaN.
"""

from __future__ import annotations

__all__ = ["METRICS", "UNITS", "INDEX", "POOLED_NAN"]

#: (name, unit) in table order.
_TABLE: tuple[tuple[str, str], ...] = (
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

METRICS: tuple[str, ...] = tuple(name for name, _ in _TABLE)
UNITS: dict[str, str] = dict(_TABLE)
INDEX: dict[str, int] = {name: i for i, name in enumerate(METRICS)}

#: Metrics that do not exist for segment ``all`` (headcounts are never pooled; there is no
#: single relevant market): NaN there.
POOLED_NAN = ("hhi_market", "hhi_users", "cr1", "cr4", "effective_firms", "open_user_share",
              "aware", "adoption", "users")
