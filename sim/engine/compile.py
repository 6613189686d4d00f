"""Compile a format-2 scenario into the engine's plain arrays (docs/architecture.md 3).

This is the model layer's entry: it reads the scenario layer's validated models and
produces the engine's ``Params``; nothing below the model layer imports it.

One scenario becomes one :class:`~sim.engine.params.Structure` (names, sizes, access
groups, contributor communities, compiled policies) and a single-world
:class:`~sim.engine.params.Params`; ``Params.repeat`` and per-world changes (posterior
draws, sweep points) make batches of it. Keys of the parameter groups are the scenario
file's own keys, so a dotted path addresses one array slot.

Contributor communities are laid out deterministically: sizes at the quantiles of the
truncated Pareto distribution and regions by the largest-remainder split of
``contributor_share``, so compiling needs no random numbers and every world of a batch
has the same communities (only their choices are random).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.engine.params import PARENT, VENTURE, CompiledPolicy, Params, Structure
from sim.scenario.months import step_of

__all__ = ["compile_scenario", "ENTRANT_SLOTS", "access_groups", "ban_cuts", "shared_cuts",
           "GroupCuts", "MAX_SHARED_CUTS"]

#: Free firm and product rows for entrants (at most one entry a world a month; the 2023-25
#: pace of a few frontier-class entrants a year fills far fewer over 84 months).
ENTRANT_SLOTS = 24

_WORLD_SKIP = {"price_scope"}
_SEGMENT_SKIP = {"name", "remove", "unit", "billing", "relevant_market"}
_CONTRIBUTOR_STRUCTURE = {"count", "size_min", "size_shape", "size_max"}


def _row(values: list[float], dtype: Any = float) -> np.ndarray:
    return np.asarray(values, dtype=dtype)[None, ...]


def _numeric_fields(model: Any, skip: set[str]) -> dict[str, float]:
    out = {}
    for key, value in model.model_dump().items():
        if key in skip or isinstance(value, bool | str | dict | list) or value is None:
            continue
        out[key] = float(value)
    return out


def _contributors(contributors: Any) -> dict[str, np.ndarray]:
    """The ``[contributors]`` numbers of one world.

    ``capability_effect = "off"`` (a structural alternative, MODEL.md 9) is a gain of 0
    points a month: effort, the ecosystem size and its pull on developers stay.
    """
    out = {k: np.array([v]) for k, v in _numeric_fields(contributors,
                                                         _CONTRIBUTOR_STRUCTURE).items()}
    if contributors.capability_effect == "off":
        out["community_gain"] = np.array([0.0])
    return out


def _windows(policy: Any, start: str) -> tuple[int, int | None]:
    first = step_of(policy.start, start)
    last = None if policy.end is None else step_of(policy.end, start)
    return max(first, 0), last


def _enforcement(value: Any, segments: list[str]) -> np.ndarray:
    if isinstance(value, dict):
        return np.array([float(value.get(s, 1.0)) for s in segments])
    return np.full(len(segments), float(value))


#: Where bans split cells into access groups: (region, segment, cut) triples, a cut being
#: the share of the cell's adopters more evasive than a ban with enforcement ``1 - cut``.
GroupCuts = tuple[tuple[str, str, float], ...]
#: Most cuts a run shares in one cell (more groups cost memory and time in proportion).
MAX_SHARED_CUTS = 6


def ban_cuts(scenario: Any) -> GroupCuts:
    """The access-group cuts a scenario's bans make (those with enforcement below 1).

    Example:
        >>> from sim.scenario.loader import load_scenario
        >>> cuts = ban_cuts(load_scenario("eu_blocks_open"))
        >>> [(region, round(cut, 2)) for region, segment, cut in cuts if segment == "developer"]
        [('CN', 0.1), ('EU', 0.3), ('EU', 0.87)]
    """
    regions = [r.name for r in scenario.regions]
    segments = [s.name for s in scenario.segments]
    cuts: set[tuple[str, str, float]] = set()
    for policy in scenario.policies:
        inner = getattr(policy, "policy", None) if policy.kind == "trigger" else policy
        if inner is None or inner.kind not in ("ban_open_weights", "ban_vendors"):
            continue
        region = inner.region if inner.region != "*" else policy.region
        levels = _enforcement(inner.enforcement, segments)
        for name in regions:
            if region not in ("*", name):
                continue
            cuts.update((name, seg, float(1.0 - e))
                        for seg, e in zip(segments, levels, strict=True) if e < 1.0)
    return tuple(sorted(cuts))


def shared_cuts(scenarios: Any) -> GroupCuts:
    """Every cut any of ``scenarios`` makes: the access groups of a paired run.

    Paired worlds must be the same arithmetic until a policy acts. A partially enforced ban
    splits each cell's adopters into access groups from month 0; were only the scenario with
    the ban split, its worlds would round, sum and (exact engine) draw per group while its
    partner does not, and would drift apart from month 1, long before the ban (in the demo's
    paired worlds the EU enterprise HHI differed by -32 to +33 points, 5-95 %, in 2024-02;
    docs/architecture.md 5). Compiled with the same groups
    (an unbound group behaves as the whole cell does), paired worlds are identical, bit for
    bit, until the first policy that one of them has and the other has not
    (tests/test_pairing.py).

    Where the scenarios together would cut a cell more than :data:`MAX_SHARED_CUTS` times
    (a sweep over a ban's enforcement), there are no shared cuts (``()``): each scenario
    keeps its own groups, and its worlds drift from their partners' before the policy, as
    before this rule.

    Example:
        >>> from sim.scenario.loader import load_scenario
        >>> ban = load_scenario("eu_blocks_open")
        >>> set(ban_cuts(ban)) <= set(shared_cuts([load_scenario("baseline"), ban]))
        True
        >>> levels = [ban.with_overrides({"policies.EU bans open weights.enforcement."
        ...                               "enterprise": 0.5 + i / 100}) for i in range(9)]
        >>> shared_cuts(levels)
        ()
    """
    cuts = tuple(sorted({cut for scenario in scenarios for cut in ban_cuts(scenario)}))
    per_cell: dict[tuple[str, str], int] = {}
    for region, segment, _ in cuts:
        per_cell[(region, segment)] = per_cell.get((region, segment), 0) + 1
    if max(per_cell.values(), default=0) > MAX_SHARED_CUTS:
        # e.g. a sweep over a ban's enforcement: hundreds of groups per cell would cost
        # hundreds of times the memory and time, so each scenario keeps its own groups
        return ()
    return cuts


def access_groups(scenario: Any, extra: GroupCuts = ()) -> tuple[np.ndarray, np.ndarray]:
    """``(fractions[R, S, G], evasion[R, S, G])``: cells split by how far adopters evade bans.

    A ban with enforcement ``e`` in a cell binds every group except the most evasive
    ``1 - e`` of its adopters; groups are fixed for the run (the same adopters keep evading).
    ``extra`` adds the cuts of the scenarios this one is paired with (:func:`shared_cuts`).
    """
    regions = [r.name for r in scenario.regions]
    segments = [s.name for s in scenario.segments]
    cuts: list[list[set[float]]] = [[set() for _ in segments] for _ in regions]
    for region, segment, cut in (*ban_cuts(scenario), *extra):
        if region in regions and segment in segments:
            cuts[regions.index(region)][segments.index(segment)].add(cut)
    n_groups = 1 + max((len(c) for row in cuts for c in row), default=0)
    fractions = np.zeros((len(regions), len(segments), n_groups))
    evasion = np.full((len(regions), len(segments), n_groups), np.inf)
    for r in range(len(regions)):
        for s in range(len(segments)):
            bounds = [0.0, *sorted(cuts[r][s]), 1.0]
            for g in range(len(bounds) - 1):
                fractions[r, s, g] = bounds[g + 1] - bounds[g]
                evasion[r, s, g] = bounds[g + 1] if g < len(bounds) - 2 else np.inf
    return fractions, evasion


def _communities(scenario: Any, n_regions: int) -> tuple[np.ndarray, np.ndarray]:
    c = scenario.contributors
    n = int(c.count)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    u = (np.arange(n) + 0.5) / n
    top = 1.0 - (c.size_min / c.size_max) ** c.size_shape  # truncated Pareto's CDF at the max
    sizes = c.size_min * (1.0 - u * top) ** (-1.0 / c.size_shape)
    shares = np.array([r.contributor_share for r in scenario.regions], dtype=float)
    shares = shares / shares.sum() if shares.sum() > 0 else np.full(n_regions, 1.0 / n_regions)
    # sizes from the largest down, each to the region furthest below its share so far, so
    # every region gets communities of every size in proportion
    region = np.zeros(n, dtype=np.int64)
    assigned = np.zeros(n_regions)
    for i in range(n):
        r = int(np.argmax(shares * (i + 1) - assigned))
        region[i] = r
        assigned[r] += 1
    return region, sizes[::-1].copy()

def compile_scenario(scenario: Any, group_cuts: GroupCuts = ()) -> Params:
    """Compile a validated format-2 scenario into a single-world ``Params``.

    Args:
        scenario: A ``sim.scenario.schema.Scenario``.
        group_cuts: Access-group cuts of the scenarios it is paired with
            (:func:`shared_cuts`), so that paired worlds have the same groups.

    Returns:
        ``Params`` with W = 1 (``.repeat(W)`` for a batch).
    """
    start = scenario.scenario.start
    regions = [r.name for r in scenario.regions]
    segments = [s.name for s in scenario.segments]
    firms = [f.name for f in scenario.vendors]
    lines = [(fi, p) for fi, f in enumerate(scenario.vendors) for p in f.products]
    products = [p.name for _, p in lines]
    k_cap, f_cap = len(lines) + ENTRANT_SLOTS, len(firms) + ENTRANT_SLOTS
    fractions, evasion = access_groups(scenario, group_cuts)
    c_region, c_size = _communities(scenario, len(regions))
    structure = Structure(
        start=start, months=scenario.scenario.months, regions=tuple(regions),
        segments=tuple(segments),
        token_billed=np.array([s.billing == "tokens" for s in scenario.segments]),
        relevant_market=tuple(s.relevant_market for s in scenario.segments),
        firms=tuple(firms), products=tuple(products), firm_capacity=f_cap,
        product_capacity=k_cap, group_fractions=fractions, group_evasion=evasion,
        contributor_region=c_region, contributor_size=c_size,
        price_scope=scenario.world.price_scope,
        policies=tuple(_policy(p, scenario, start, regions, segments, firms, products)
                       for p in scenario.policies))
    world = {k: np.array([v]) for k, v in _numeric_fields(scenario.world, _WORLD_SKIP).items()}
    seg_fields = _numeric_fields(scenario.segments[0], _SEGMENT_SKIP).keys()
    segment = {k: _row([getattr(s, k) for s in scenario.segments]) for k in seg_fields}
    return Params(structure=structure, world=world, segment=segment,
                  region=_regions(scenario, segments, products, lines, k_cap),
                  firm=_firms(scenario, regions, f_cap),
                  product=_products(scenario, lines, regions, start, k_cap),
                  harm={k: np.array([v]) for k, v in _numeric_fields(scenario.harm, set()).items()},
                  contributors=_contributors(scenario.contributors))


def _served(scenario: Any, lines: list[tuple[int, Any]], regions: list[str]) -> np.ndarray:
    served = np.zeros((len(regions), len(lines)), dtype=bool)
    for k, (fi, p) in enumerate(lines):
        firm_regions = scenario.vendors[fi].regions
        where = p.regions if p.regions is not None else firm_regions
        served[:, k] = [where is None or r in where for r in regions]
    return served


def _regions(scenario: Any, segments: list[str], products: list[str],
             lines: list[tuple[int, Any]], k_cap: int) -> dict[str, np.ndarray]:
    r_list = scenario.regions
    served = _served(scenario, lines, [r.name for r in r_list])
    launched = np.array([p.launch is None or step_of(p.launch, scenario.scenario.start) <= 0
                         for _, p in lines])
    adopters = [[r.adopters.get(s, 0.0) for s in segments] for r in r_list]
    adoption = [[r.adoption.get(s, 0.0) for s in segments] for r in r_list]
    aware = [[max(r.aware.get(s, r.adoption.get(s, 0.0)), r.adoption.get(s, 0.0))
              for s in segments] for r in r_list]
    shares = np.zeros((len(r_list), len(segments), k_cap))
    for ri, region in enumerate(r_list):
        for si, s in enumerate(segments):
            offered = served[ri] & launched
            given = region.shares.get(s, {})
            for name, share in given.items():
                shares[ri, si, products.index(name)] = share
            unlisted = offered & np.array([n not in given for n in products])
            rest = max(0.0, 1.0 - sum(given.values()))
            if unlisted.any():  # unlisted products share what the listed ones leave
                shares[ri, si, : len(products)][unlisted] = max(rest / unlisted.sum(), 1e-4)
            total = shares[ri, si].sum()
            if total > 0:
                shares[ri, si] /= total
    token = [s.billing == "subscription" for s in scenario.segments]
    persons = [sum(a for a, sub in zip(row, token, strict=True) if sub) or sum(row)
               for row in adopters]
    exposure = [r.exposure if r.exposure is not None else persons[i]
                for i, r in enumerate(r_list)]
    if sum(exposure) <= 0:  # nobody anywhere (a test of an empty market): share it equally
        exposure = [1.0] * len(r_list)
    total_exposure = sum(exposure)
    return {
        "adopters": _row(adopters), "adoption": _row(adoption), "aware": _row(aware),
        "adopters_growth_per_year": _row([[r.adopters_growth_per_year.get(s, 1.0)
                                           for s in segments] for r in r_list]),
        "shares": shares[None, ...], "contributor_share": _row([r.contributor_share
                                                                for r in r_list]),
        "legal_friction": _row([r.legal_friction for r in r_list]),
        "exposure": _row([e / total_exposure for e in exposure]),
    }


def _firms(scenario: Any, regions: list[str], f_cap: int) -> dict[str, np.ndarray]:
    n = len(scenario.vendors)

    def col(values: list[Any], fill: Any = 0.0, dtype: Any = float) -> np.ndarray:
        return _row([*values, *([fill] * (f_cap - n))], dtype)

    v = scenario.vendors
    return {
        "home": col([regions.index(f.home) for f in v], 0, np.int64),
        "funding": col([PARENT if f.funding == "parent" else VENTURE for f in v], VENTURE,
                       np.int64),
        "cash": col([f.cash for f in v]), "rd_share": col([f.rd_share for f in v], 0.7),
        "adaptive": col([f.strategy == "adaptive" for f in v], False, bool),
        "indirect_value": col([f.indirect_value for f in v]),
        "parent_budget": col([f.parent_budget for f in v]),
        "lab_budget": col([f.lab_budget for f in v]),
    }


def _products(scenario: Any, lines: list[tuple[int, Any]], regions: list[str], start: str,
              k_cap: int) -> dict[str, np.ndarray]:
    n = len(lines)

    def col(values: list[Any], fill: Any = 0.0, dtype: Any = float) -> np.ndarray:
        return _row([*values, *([fill] * (k_cap - n))], dtype)

    ps = [p for _, p in lines]
    served = np.zeros((len(regions), k_cap), dtype=bool)
    served[:, :n] = _served(scenario, lines, regions)
    return {
        "owner": col([fi for fi, _ in lines], 0, np.int64),
        "is_open": col([p.openness == "open" for p in ps], False, bool),
        "capability": col([p.capability for p in ps]), "size": col([p.size for p in ps], 1.0),
        "licence": col([p.licence for p in ps]),
        "hosted_fraction": col([p.hosted_fraction if p.openness == "open" else 1.0 for p in ps]),
        "self_hosted_fraction": col([p.self_hosted_fraction if p.openness == "open" else 0.0
                                     for p in ps]),
        "subscription_price": col([p.subscription_price for p in ps]),
        "launch": col([0 if p.launch is None else max(step_of(p.launch, start), 0)
                       for p in ps], -1, np.int64),
        "served": served[None, ...],
    }


def _policy(policy: Any, scenario: Any, start: str, regions: list[str], segments: list[str],
            firms: list[str], products: list[str]) -> CompiledPolicy:
    first, last = _windows(policy, start)
    where = tuple(range(len(regions))) if policy.region == "*" else (
        regions.index(policy.region),)
    kind = policy.kind
    v: dict[str, Any] = {}
    nested = None
    if kind == "ban_open_weights":
        v = {"enforcement": _enforcement(policy.enforcement, segments),
             "min_capability": policy.min_capability,
             "allow_contributors": policy.allow_contributors,
             "download_decay": policy.download_decay}
    elif kind == "ban_vendors":
        v = {"firms": np.array([firms.index(n) for n in policy.vendors], dtype=np.int64),
             "products": np.array([products.index(n) for n in policy.products], dtype=np.int64),
             "home_regions": np.array([regions.index(n) for n in policy.home_regions],
                                      dtype=np.int64),
             "openness": policy.openness,
             "enforcement": _enforcement(policy.enforcement, segments)}
    elif kind == "withhold":
        v = {"firm": firms.index(policy.vendor),
             "products": np.array([products.index(n) for n in policy.products], dtype=np.int64),
             "segments": None if policy.segments is None else np.array(
                 [s in policy.segments for s in segments])}
    elif kind == "compliance_cost":
        v = {"fixed": policy.fixed, "revenue_share": policy.revenue_share,
             "systemic_capability": policy.systemic_capability,
             "systemic_fixed": policy.systemic_fixed, "exempt_fraction": policy.exempt_fraction,
             "contributor_friction": policy.contributor_friction}
    elif kind == "open_source_subsidy":
        v = {"budget": policy.budget, "recipients": policy.recipients,
             "contributor_fraction": policy.contributor_fraction,
             "cost_per_effort": policy.cost_per_effort}
    elif kind == "interoperability":
        v = {"switching_cost_multiplier": policy.switching_cost_multiplier}
    elif kind == "merger":
        v = {"acquirer": firms.index(policy.acquirer), "target": firms.index(policy.target)}
    elif kind == "trigger":
        v = {"metric": policy.metric,
             "segment": None if policy.segment == "all" else segments.index(policy.segment),
             "above": policy.above, "below": policy.below, "months": policy.months,
             "duration": policy.duration, "repeat": policy.repeat}
        nested = _policy(policy.policy, scenario, start, regions, segments, firms, products)
    return CompiledPolicy(kind=kind, label=policy.label or kind, regions=where, start=first,
                          end=last, values=v, nested=nested)
