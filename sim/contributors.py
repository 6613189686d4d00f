"""Contributors' monthly choice of ecosystem and the effort it yields (MODEL.md 4.5).

A reconsidering community in region r picks among the open vendors its region
allows, or none:
``V[c, k] = a_q q_k + a_n ln(1 + E_k) - a_l license_k + gumbel`` and
``V[c, 0] = v_r + a_q q_frontier(t) + gumbel`` (the outside option keeps pace
with the frontier, or everyone would end up contributing). The constant ``v_r``
is inverted at month 0 so that ``initial_engaged`` of the region's communities
contribute, as brand constants are inverted from initial shares. Lerner & Tirole's
motives: capability (career value of working on good models), community size
(visibility, peers), licence terms. One vectorised call per region per month.
"""

from __future__ import annotations

import numpy as np

from sim.agents.contributor import NONE, ContributorTable
from sim.scenario.schema import Contributors as ContributorSpec
from sim.scenario.schema import Scenario

__all__ = ["create_table", "choose_ecosystems", "ecosystem_effort", "derivatives",
           "expected_effort"]


def create_table(scenario: Scenario, rng: np.random.Generator) -> ContributorTable:
    """Draw communities: Pareto sizes, regions by ``contributor_share``."""
    spec = scenario.contributors
    weights = np.array([r.contributor_share for r in scenario.regions], dtype=float)
    legal = np.array([r.legal_friction for r in scenario.regions], dtype=float)
    if spec.count == 0 or weights.sum() <= 0:
        empty = np.zeros(0, dtype=np.int64)
        return ContributorTable(empty, np.zeros(0), spec.productivity, empty.copy(),
                                [slice(0, 0) for _ in scenario.regions], legal)
    weights = weights / weights.sum()
    per_region = np.floor(weights * spec.count).astype(int)
    short = spec.count - per_region.sum()
    per_region[np.argsort(-(weights * spec.count - per_region))[:short]] += 1
    region = np.repeat(np.arange(len(weights)), per_region)
    sizes = spec.size_min * (1.0 + rng.pareto(spec.size_shape, size=spec.count))
    sizes = np.minimum(sizes, spec.size_max)
    bounds = np.concatenate([[0], np.cumsum(per_region)])
    slices = [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    return ContributorTable(region, sizes, spec.productivity,
                            np.full(spec.count, NONE, dtype=np.int64), slices, legal)


def _values(spec: ContributorSpec, capability: np.ndarray, license_: np.ndarray,
            effort: np.ndarray) -> np.ndarray:
    return (spec.capability_weight * capability + spec.community_weight * np.log1p(effort)
            - spec.license_weight * license_)


def choose_ecosystems(table: ContributorTable, spec: ContributorSpec, allowed: np.ndarray,
                      capability: np.ndarray, license_: np.ndarray, effort: np.ndarray,
                      frontier: float, generators: list[np.random.Generator],
                      engaged_share: float | None = None,
                      outside_offset: np.ndarray | None = None) -> None:
    """Let communities reconsider (forced if their ecosystem is no longer allowed).

    Args:
        table: Communities (updated in place).
        spec: The scenario's contributors table.
        allowed: ``[region, vendor]``: open, alive, and allowed to the region's contributors.
        capability: ``q[vendor]``.
        license_: Licence restrictiveness per vendor.
        effort: Last month's effort per ecosystem ``[vendor]``.
        frontier: Closed frontier capability now.
        generators: One stream per region.
        engaged_share: At initialisation only: everyone chooses, and the outside
            option's utility is set so that this share engages in expectation.
        outside_offset: Per region, the outside option's constant (inverted at month 0
            from ``initial_engaged``); its utility is this plus ``a_q * frontier``.
    """
    inside = _values(spec, capability, license_, effort)
    for r, rows in enumerate(table.region_slices):
        n = rows.stop - rows.start
        if n == 0:
            continue
        rng = generators[r]
        current = table.ecosystem[rows]
        options = np.flatnonzero(allowed[r])
        if engaged_share is None:
            # stale: the ecosystem is no longer allowed to this region's contributors
            stale = (current != NONE) & ~allowed[r][np.maximum(current, 0)]
            moving = np.flatnonzero((rng.random(n) < spec.reconsider_rate) | stale)
            offset = 0.0 if outside_offset is None else outside_offset[r]
            outside = offset + spec.capability_weight * frontier
        else:
            moving = np.arange(n)
            outside = _calibrated_outside(inside[options], engaged_share)
        if moving.size == 0:
            continue
        # Gumbel-max draws for the movers only: the cost follows who reconsiders
        values = np.concatenate([[outside], inside[options]])
        noisy = values[None, :] + rng.gumbel(size=(moving.size, len(values)))
        pick = noisy.argmax(axis=1)
        labels = np.concatenate([[NONE], options])
        current[moving] = labels[pick]
        table.ecosystem[rows] = current


def _calibrated_outside(values: np.ndarray, share: float) -> float:
    if len(values) == 0 or share <= 0:
        return np.inf
    if share >= 1:
        return -np.inf
    lse = np.log(np.exp(values - values.max()).sum()) + values.max()
    return float(lse + np.log((1.0 - share) / share))


def ecosystem_effort(table: ContributorTable, friction: np.ndarray, n_vendors: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Effort per ecosystem ``[vendor]`` and per region ``[region, vendor]``."""
    effort = table.effort(friction)
    engaged = table.ecosystem != NONE
    by_region = np.zeros((len(table.region_slices), n_vendors))
    np.add.at(by_region, (table.region[engaged], table.ecosystem[engaged]), effort[engaged])
    return by_region.sum(axis=0), by_region


def derivatives(rate: float, effort_by_region: np.ndarray,
                generators: list[np.random.Generator]) -> np.ndarray:
    """Derivative models (fine-tunes) released per region this month (Poisson)."""
    lam = rate * effort_by_region.sum(axis=1)
    return np.array([rng.poisson(x) for rng, x in zip(generators, lam, strict=True)])


def expected_effort(spec: ContributorSpec, supply: np.ndarray, allowed: np.ndarray,
                    values: np.ndarray, outside: np.ndarray, k: int, capability: float,
                    license_: float, iterations: int = 100) -> float:
    """Long-run effort an open ecosystem ``k`` attracts under the contributors' own choice rule.

    Communities choose by logit (Gumbel noise, no inertia in the long run), so region r's
    communities pick k with probability ``e^V_k / (e^V_0 + sum_j e^V_j)``; the effort k
    attracts, ``sum_r supply_r P_r(k)``, enters its own value through ``a_n ln(1 + E_k)``,
    so the answer is the fixed point (found by damped iteration from 0). Used by adaptive
    vendors weighing openness (MODEL.md 4.7: "expected community effort").

    Args:
        spec: The contributors table.
        supply: ``[region]`` effort the region's communities supply when engaged (after
            legal friction).
        allowed: ``[region, vendor]`` options of each region's communities, with k as it
            would be (open; banned or not).
        values: ``[vendor]`` current values of the options (capability, effort, licence).
        outside: ``[region]`` value of contributing to none.
        k: The ecosystem evaluated.
        capability: Its capability.
        license_: Its licence restrictiveness.
        iterations: Most damped iterations of the fixed point.
    """
    others = allowed.copy()
    others[:, k] = False
    effort = 0.0
    for _ in range(iterations):
        own = (spec.capability_weight * capability + spec.community_weight * np.log1p(effort)
               - spec.license_weight * license_)
        new = 0.0
        for r in range(len(supply)):
            if not allowed[r, k] or supply[r] <= 0:
                continue
            rivals = np.concatenate([[outside[r]], values[others[r]]])
            top = max(own, rivals.max())
            share = np.exp(own - top) / (np.exp(own - top) + np.exp(rivals - top).sum())
            new += supply[r] * share
        if abs(new - effort) <= 1e-9 * max(1.0, new):
            return float(new)
        effort = 0.5 * effort + 0.5 * new
    return float(effort)
