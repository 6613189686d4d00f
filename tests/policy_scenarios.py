"""Small scenarios built for the policy and agent tests (tests/test_policies.py, test_agents.py).

Two regions (``A``, ``B``), one segment and four vendors: two closed (one homed in each
region) and two open (likewise). Entry is off unless a test turns it on, so each test
sees only the mechanism it is about.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from sim.scenario.loader import validate_data
from sim.scenario.schema import Scenario

BASE: dict[str, Any] = {
    "scenario": {"name": "test market", "start": "2025-01", "months": 24},
    "world": {"entry_rate": 0.0, "rd_scale": 3.0e7, "rd_productivity": 0.7},
    "segments": [{"name": "org", "capability_weight": 0.6, "price_elasticity": 2.0,
                  "open_preference": 0.5, "switching_cost": 0.5, "reconsider_rate": 0.2,
                  "usage": 100.0}],
    "regions": [
        {"name": "A", "adopters": {"org": 200_000}, "initial_adoption": {"org": 0.5},
         "initial_shares": {"ClosedA": 0.35, "ClosedB": 0.25, "OpenA": 0.25, "OpenB": 0.15},
         "contributor_share": 0.5},
        {"name": "B", "adopters": {"org": 200_000}, "initial_adoption": {"org": 0.5},
         "initial_shares": {"ClosedA": 0.25, "ClosedB": 0.35, "OpenA": 0.15, "OpenB": 0.25},
         "contributor_share": 0.5},
    ],
    "vendors": [
        {"name": "ClosedA", "home": "A", "openness": "closed", "capability": 100.0,
         "cost_factor": 2.0, "cash": 1e10, "funding": 1e8},
        {"name": "ClosedB", "home": "B", "openness": "closed", "capability": 99.0,
         "cost_factor": 2.0, "cash": 1e10, "funding": 1e8},
        {"name": "OpenA", "home": "A", "openness": "open", "capability": 95.0,
         "cash": 1e10, "funding": 1e8},
        {"name": "OpenB", "home": "B", "openness": "open", "capability": 93.0,
         "cash": 1e10, "funding": 1e8},
    ],
    "contributors": {"count": 60},
}


def small(overrides: dict[str, Any] | None = None, policies: list[dict[str, Any]] | None = None,
          **tables: Any) -> Scenario:
    """The small test scenario, with tables replaced or updated and policies added.

    Args:
        overrides: Dotted-path overrides applied after validation.
        policies: Policies (dicts as in TOML).
        **tables: Top-level tables to update (dicts are merged shallowly; lists replace).
    """
    data = copy.deepcopy(BASE)
    for key, value in tables.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    if policies:
        data["policies"] = policies
    scenario = validate_data(data)
    return scenario.with_overrides(overrides) if overrides else scenario


def adopters_of(model: Any, vendor: str, region: str | None = None) -> int:
    """Current adopters of ``vendor`` (in ``region``, or everywhere)."""
    k = model.vendors.names.index(vendor)
    counts = model.counts[..., k + 1]
    if region is not None:
        counts = counts[model.regions.index(region)]
    return int(np.sum(counts))
