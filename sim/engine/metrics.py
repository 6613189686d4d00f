"""Market metric names and units of version 2 (INTERFACES.md "Metrics"; MODEL.md 8).

Names are contracts; each has a unit the CLI and the reports print. Relevant markets
are (region, segment); ``World`` pools regions of one segment (one world market per
segment) and ``all`` pools segments of one region **only for money and tokens**: an HHI of
adopter headcounts that pools people and organisations is never computed (it is NaN), nor
is ``hhi_market`` for ``all`` (no single relevant market). Empty markets are NaN.
"""

from __future__ import annotations

from sim.metric_names import MARKET_METRICS, METRIC_TABLE

__all__ = ["METRICS", "UNITS", "INDEX", "POOLED_NAN"]

# the (name, unit) table lives in sim.metric_names: the scenario layer must not import sim.engine
METRICS: tuple[str, ...] = MARKET_METRICS
UNITS: dict[str, str] = dict(METRIC_TABLE)
INDEX: dict[str, int] = {name: i for i, name in enumerate(METRICS)}

#: Metrics that do not exist for segment ``all`` (headcounts are never pooled; there is no
#: single relevant market): NaN there.
POOLED_NAN = ("hhi_market", "hhi_users", "cr1", "cr4", "effective_firms", "open_user_share",
              "aware", "adoption", "users")
