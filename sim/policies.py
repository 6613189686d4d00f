"""What the active policies mean for this month: the region's published rules.

Regulators (:mod:`sim.agents.regulator`) decide *which* policies are active;
this module turns the active set into arrays the other mechanisms read:
availability per (region, access group, vendor), what contributors may work
on, compliance costs, subsidies and the switching-cost multiplier.

Access groups implement ``enforcement < 1``: each region's adopters are split
once, at the start, into groups by how far they go to reach banned models (VPNs,
self-hosting). A ban with enforcement ``e`` binds every group except the
``1 - e`` most evasive share of adopters. Groups are fixed for the run, so the
same adopters keep evading, as a persistent population would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.scenario.schema import (
    BanOpenWeights,
    BanVendors,
    ComplianceCost,
    Interoperability,
    OpenSourceSubsidy,
    Trigger,
)

if TYPE_CHECKING:
    from sim.agents.vendor import VendorTable
    from sim.scenario.schema import Scenario

__all__ = ["Rules", "access_groups", "publish_rules", "regions_of", "candidate_rules",
           "compliance_fixed_cost"]


def regions_of(policy: Any, region_names: list[str]) -> list[int]:
    """Indices of the regions a policy applies in (``"*"`` = all)."""
    if policy.region == "*":
        return list(range(len(region_names)))
    return [region_names.index(policy.region)]


def _bans(scenario: Scenario) -> list[Any]:
    found = []
    for policy in scenario.policies:
        if isinstance(policy, Trigger):
            policy = policy.policy
        if isinstance(policy, BanOpenWeights | BanVendors):
            found.append(policy)
    return found


def access_groups(scenario: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """Split each region's adopters into access groups by evasiveness.

    Returns:
        ``(fractions, evade_upto)``: ``fractions[r, g]`` is group g's share of region
        r's adopters; group g evades a ban whose evader share is ``f`` when
        ``evade_upto[r, g] <= f`` (it lies wholly inside the most evasive ``f``).
    """
    names = scenario.region_names
    levels: list[list[float]] = [[] for _ in names]
    for ban in _bans(scenario):
        if ban.enforcement < 1:
            for r in regions_of(ban, names):
                levels[r].append(1.0 - ban.enforcement)
    cuts = [sorted(set(level)) for level in levels]
    n_groups = 1 + max((len(c) for c in cuts), default=0)
    fractions = np.zeros((len(names), n_groups))
    evade_upto = np.full((len(names), n_groups), np.inf)
    for r, c in enumerate(cuts):
        bounds = [0.0, *c, 1.0]
        for g in range(len(bounds) - 1):
            fractions[r, g] = bounds[g + 1] - bounds[g]
            evade_upto[r, g] = bounds[g + 1] if g < len(bounds) - 2 else np.inf
    return fractions, evade_upto


@dataclass
class Rules:
    """The rules in force this month (phase 1 output).

    Attributes:
        available: ``[region, group, vendor]`` whether adopters can choose the vendor.
        contributor_allowed: ``[region, vendor]`` whether the region's contributors may
            work on the vendor's (open) ecosystem.
        compliance_fixed: ``[region, vendor]`` USD/month owed by a vendor serving the region.
        compliance_share: ``[region, vendor]`` share of regional revenue owed.
        switching_multiplier: ``[region]`` m_r.
        contributor_friction: ``[region]`` extra effort lost to legal friction.
        subsidies: active subsidy policies with their region indices.
    """

    available: np.ndarray
    contributor_allowed: np.ndarray
    compliance_fixed: np.ndarray
    compliance_share: np.ndarray
    switching_multiplier: np.ndarray
    contributor_friction: np.ndarray
    subsidies: list[tuple[OpenSourceSubsidy, list[int]]]


def _hits(policy: Any, names: list[str], is_open: np.ndarray, capability: np.ndarray,
          home: np.ndarray, region_names: list[str]) -> np.ndarray:
    """Which vendors (given by their attributes) a ban covers, before access groups."""
    if isinstance(policy, BanOpenWeights):
        hit = np.asarray(is_open, dtype=bool).copy()
        if policy.min_capability is not None:
            hit &= capability >= policy.min_capability
        return hit
    named = np.array([name in policy.vendors for name in names], dtype=bool)
    homes = np.array([region_names[h] in policy.home_regions for h in home], dtype=bool)
    hit = named | homes
    if policy.openness != "any":
        hit &= np.asarray(is_open, dtype=bool) == (policy.openness == "open")
    return hit


def _banned(policy: Any, vendors: VendorTable, region_names: list[str]) -> np.ndarray:
    """Which vendors a ban covers (before access groups)."""
    return _hits(policy, vendors.names, vendors.view("is_open"), vendors.view("capability"),
                 vendors.view("home"), region_names)


def candidate_rules(active: list[Any], is_open: bool, capability: float, home: int,
                    region_names: list[str], groups_evade_upto: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rules a not-yet-existing vendor (a potential entrant) would face.

    Returns:
        ``(available [region, group], compliance_fixed [region], compliance_share [region])``.
    """
    n_r, n_g = groups_evade_upto.shape
    available = np.ones((n_r, n_g), dtype=bool)
    fixed = np.zeros(n_r)
    share = np.zeros(n_r)
    flag = np.array([is_open])
    level = np.array([capability], dtype=float)
    for policy in active:
        regions = regions_of(policy, region_names)
        if isinstance(policy, BanOpenWeights | BanVendors):
            if not _hits(policy, [""], flag, level, np.array([home]), region_names)[0]:
                continue
            for r in regions:
                available[r] &= ~(groups_evade_upto[r] > (1.0 - policy.enforcement) + 1e-12)
        elif isinstance(policy, ComplianceCost):
            cost = compliance_fixed_cost(policy, flag, level)[0]
            for r in regions:
                fixed[r] += cost
                share[r] += policy.revenue_share
    return available, fixed, share


def publish_rules(active: list[Any], vendors: VendorTable, region_names: list[str],
                  groups_evade_upto: np.ndarray, month: int) -> Rules:
    """Combine the active policies into this month's :class:`Rules`.

    Args:
        active: Active policies (scheduled ones in their window and fired triggers'
            nested policies).
        vendors: The vendor table (alive, served, openness, capability).
        region_names: Region names, in order.
        groups_evade_upto: From :func:`access_groups`.
        month: Current month (for re-entry lags).
    """
    n_r, n_g = groups_evade_upto.shape
    n_k = vendors.count
    base = vendors.view("alive")[None, :] & vendors.view("served").T  # [region, vendor]
    available = np.repeat(base[:, None, :], n_g, axis=1)
    contributor_allowed = np.ones((n_r, n_k), dtype=bool)
    fixed = np.zeros((n_r, n_k))
    share = np.zeros((n_r, n_k))
    multiplier = np.ones(n_r)
    friction = np.zeros(n_r)
    subsidies: list[tuple[OpenSourceSubsidy, list[int]]] = []
    for policy in active:
        regions = regions_of(policy, region_names)
        if isinstance(policy, BanOpenWeights | BanVendors):
            hit = _banned(policy, vendors, region_names)
            evader_share = 1.0 - policy.enforcement
            for r in regions:
                binds = groups_evade_upto[r] > evader_share + 1e-12  # [group]
                available[r][np.ix_(binds, hit)] = False
                if isinstance(policy, BanOpenWeights) and not policy.allow_contributors:
                    contributor_allowed[r, hit] = False
        elif isinstance(policy, ComplianceCost):
            _compliance(policy, vendors, regions, fixed, share, friction)
        elif isinstance(policy, Interoperability):
            for r in regions:
                multiplier[r] *= policy.switching_cost_multiplier
        elif isinstance(policy, OpenSourceSubsidy):
            subsidies.append((policy, regions))
    return Rules(available, contributor_allowed, fixed, share, multiplier, friction, subsidies)


def compliance_fixed_cost(policy: ComplianceCost, is_open: np.ndarray,
                          capability: np.ndarray) -> np.ndarray:
    """Fixed monthly compliance cost per vendor under ``policy``.

    Open models below the systemic threshold pay ``fixed * (1 - exempt_fraction)``
    (AI Act Art. 53(2) exempts them from some duties only); models at or above
    ``systemic_capability`` pay ``systemic_fixed`` (default ``fixed``) with no
    exemption (Art. 51).
    """
    systemic = (capability >= policy.systemic_capability
                if policy.systemic_capability is not None
                else np.zeros_like(is_open, dtype=bool))
    systemic_fixed = policy.fixed if policy.systemic_fixed is None else policy.systemic_fixed
    exempt = is_open & ~systemic
    return np.where(systemic, systemic_fixed,
                    np.where(exempt, policy.fixed * (1.0 - policy.exempt_fraction), policy.fixed))


def _compliance(policy: ComplianceCost, vendors: VendorTable, regions: list[int],
                fixed: np.ndarray, share: np.ndarray, friction: np.ndarray) -> None:
    cost = compliance_fixed_cost(policy, vendors.view("is_open"), vendors.view("capability"))
    for r in regions:
        fixed[r] += cost
        share[r] += policy.revenue_share
        friction[r] = 1.0 - (1.0 - friction[r]) * (1.0 - policy.contributor_friction)
