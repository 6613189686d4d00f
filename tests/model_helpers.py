"""Helpers shared by the market-core tests: small hand-built scenarios and analytic formulas.

Everything here is written from MODEL.md, independently of the model's own code, so the
tests compare the model with the specification rather than with itself.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from sim.scenario.loader import validate_data
from sim.scenario.schema import Scenario

#: World parameters that freeze every attribute: no R&D, no community, no spill-over,
#: no cost or usage trends, no entry, an outside option that does not move.
STATIC_WORLD: dict[str, Any] = {
    "network_effect": 0.0,
    "serving_cost": 0.2,
    "serving_cost_fall_per_year": 1.0,
    "outside_cost_fall_per_year": 1.0,
    "outside_lag_months": 0.0,
    "rd_productivity": 0.0,
    "community_productivity": 0.0,
    "spillover": 0.0,
    "spillover_closed": 0.0,
    "entry_rate": 0.0,
    "price_adjustment": 0.0,
    "markup_max": 1000.0,
}


def segment(name: str = "s", **kw: Any) -> dict[str, Any]:
    """A segment with fixed usage; keyword arguments override the tastes."""
    base = {
        "name": name,
        "capability_weight": 0.5,
        "price_elasticity": 2.0,
        "open_preference": 0.0,
        "switching_cost": 0.0,
        "reconsider_rate": 0.2,
        "usage": 100.0,
        "usage_growth_per_year": 1.0,
    }
    base.update(kw)
    return base


def vendor(name: str, openness: str = "closed", capability: float = 100.0, **kw: Any
           ) -> dict[str, Any]:
    """A vendor homed in region ``R`` (override with ``home=``)."""
    base = {
        "name": name,
        "home": "R",
        "openness": openness,
        "capability": capability,
        "cost_factor": 1.0,
        "cash": 1.0e9,
        "funding": 1.0e7,
        "rd_share": 0.5,
    }
    base.update(kw)
    return base


def scenario(*, vendors: list[dict[str, Any]], shares: dict[str, float],
             adopters: float = 1.0e9, adoption: float = 0.5, months: int = 60,
             world: dict[str, Any] | None = None, segments: list[dict[str, Any]] | None = None,
             regions: list[dict[str, Any]] | None = None,
             policies: list[dict[str, Any]] | None = None) -> Scenario:
    """A one-region (``R``), one-segment (``s``) static scenario, validated by the loader."""
    segments = segments or [segment()]
    data: dict[str, Any] = {
        "scenario": {"name": "test", "start": "2025-01", "months": months},
        "world": {**STATIC_WORLD, **(world or {})},
        "segments": copy.deepcopy(segments),
        "regions": regions or [{
            "name": "R",
            "adopters": {s["name"]: adopters for s in segments},
            "initial_adoption": {s["name"]: adoption for s in segments},
            "initial_shares": shares,
        }],
        "vendors": copy.deepcopy(vendors),
        "contributors": {"count": 0},
        "policies": policies or [],
    }
    return validate_data(data)


def logit_shares(utilities: np.ndarray) -> np.ndarray:
    """Closed-form logit shares ``exp(U_j) / sum_i exp(U_i)`` (stable)."""
    u = np.asarray(utilities, dtype=float)
    e = np.exp(u - u.max())
    return e / e.sum()


def hand_utilities(model: Any, region: int = 0, segment_index: int = 0,
                   counts: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """``(U0, U[k])`` written out from MODEL.md 4.1 with the model's state as data.

    ``counts`` (default: the model's current counts) give the network shares: pass last
    month's counts to get the utilities adopters chose with this month.

    ``U_k = beta q_k - alpha ln p_k + omega open_k + xi_k + eta ln(share_k + eps)
    + home [home_k == r]`` and ``U0 = u0 + beta q_ref`` with ``q_ref`` the closed frontier
    ``outside_lag_months`` ago (here always a static scenario: lag 0, frontier constant).
    """
    sc = model.scenario
    seg = sc.segments[segment_index]
    world = sc.world
    vt = model.vendors
    n = vt.count
    counts = (model.counts if counts is None else counts).sum(axis=2)[
        region, segment_index, 1:].astype(float)
    inside = counts.sum()
    share = counts / inside if inside > 0 else np.zeros(n)
    at_home = vt.view("home") == region
    u = (seg.capability_weight * vt.view("capability")
         - seg.price_elasticity * np.log(vt.view("price"))
         + seg.open_preference * vt.view("is_open")
         + model.brand[region, segment_index, :n]
         + world.network_effect * np.log(share + world.share_floor)
         + seg.home_bias * at_home)
    assert world.outside_lag_months == 0 and world.outside_cost_fall_per_year == 1
    closed = vt.view("alive") & ~vt.view("is_open")
    u0 = seg.capability_weight * vt.view("capability")[closed].max()
    return float(u0), u


def option_shares(model: Any, region: int = 0, segment_index: int = 0) -> np.ndarray:
    """Current shares of every option (0 = no model) in one cell, access groups pooled."""
    counts = model.counts.sum(axis=2)[region, segment_index].astype(float)
    return counts / counts.sum()


def set_option_counts(model: Any, counts: list[int] | np.ndarray, region: int = 0,
                      segment_index: int = 0) -> None:
    """Replace one cell's counts (single access group) and refresh the network shares."""
    from sim import demand

    assert model.counts.shape[2] == 1, "helper assumes one access group"
    model.counts[region, segment_index, 0, :] = np.asarray(counts, dtype=np.int64)
    model.network_share = demand.inside_shares(model.counts)
