"""Phase 1 of the month: what the policies in force mean (MODEL.md 7; architecture.md 4).

Policies act on **product lines** and **firms**. This module turns the compiled policies of
:class:`~sim.engine.params.Structure` into this month's :class:`Rules`: which lines each
access group may choose, which current adopters must reconsider, what contributors may work
on, compliance costs per line, the switching-cost multiplier, subsidies, mergers due and the
policy_on / policy_off events.

A policy in force is a policy with a mask ``where[W, R]``: scheduled policies are in force in
their regions in every world alike; a trigger's nested policy is in force only in the worlds
(and watched regions) where the trigger fired, so one world's market can cross a threshold
and another's not. Triggers keep their counters in a :class:`TriggerMemory`
(``sim.engine.triggers``, re-exported here).

Access groups implement enforcement below 1: a ban with enforcement ``e_s`` in segment s
binds group g when ``group_evasion[r, s, g] > 1 - e_s`` (the most evasive ``1 - e_s`` of the
cell's adopters still reach the lines). Under an open-weights ban adopters keep running the
weights they downloaded, so only ``download_decay`` of them a month are forced out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.engine.params import CompiledPolicy, Params
from sim.engine.state import Event, State
from sim.engine.triggers import (
    Metric,
    TriggerMemory,
    advance_trigger,
    new_trigger_memory,
    policy_detail,
    policy_events,
    region_mask,
)

__all__ = ["Rules", "Subsidy", "MergerDue", "LineRules", "TriggerMemory", "new_trigger_memory",
           "publish_rules", "line_rules", "rules_for_lines", "Metric"]

#: Tolerance of the evasion comparison (cumulative group fractions carry rounding error).
_TOL = 1e-12
_BANS = ("ban_open_weights", "ban_vendors")


@dataclass(frozen=True)
class Subsidy:
    """An open-source subsidy in force.

    Attributes:
        label: The policy's label.
        where: ``[W, R]`` regions (per world) where it is in force.
        budget: ``[W]`` USD per month, paid in each region where it is in force (version 1).
        recipients: ``"vendors"``, ``"contributors"`` or ``"both"``.
        contributor_fraction: With ``both``: the contributors' part.
        cost_per_effort: USD per developer-month of subsidised effort.
    """

    label: str
    where: np.ndarray
    budget: np.ndarray
    recipients: str
    contributor_fraction: float
    cost_per_effort: float


@dataclass(frozen=True)
class MergerDue:
    """A merger due this month: ``target`` (firm row) is absorbed by ``acquirer``.

    ``where[W]`` are the worlds in which both firms are alive (elsewhere it cannot happen).
    """

    label: str
    acquirer: int
    target: int
    where: np.ndarray


@dataclass
class Rules:
    """The rules in force this month (phase 1 output; read by every later phase).

    Attributes:
        available: ``[W, R, S, G, K]`` bool: adopters of group g may choose line k.
        forced: ``[W, R, S, G, K]`` in [0, 1]: share of the line's current adopters in the
            group who must reconsider this month (0 where available).
        contributor_allowed: ``[W, R, K]`` the region's communities may work on the line.
        compliance_fixed: ``[W, R, K]`` USD/month a line owes for being served in the region
            (the rate: accounting charges it where the line is served; it is 0 for dead and
            withheld lines, and kept for withdrawn ones so that re-entry decisions see it).
        compliance_share: ``[W, R, K]`` share of the line's regional revenue owed.
        switching_multiplier: ``[W, R]`` multiplies every segment's switching cost.
        contributor_friction: ``[W, R]`` extra share of contributors' effort lost.
        subsidies: Subsidies in force.
        mergers: Mergers due this month.
        events: ``policy_on`` / ``policy_off`` events of this month (not yet in the state).
        in_force: ``(policy, where[W, R])`` pairs, for :func:`line_rules`.
    """

    available: np.ndarray
    forced: np.ndarray
    contributor_allowed: np.ndarray
    compliance_fixed: np.ndarray
    compliance_share: np.ndarray
    switching_multiplier: np.ndarray
    contributor_friction: np.ndarray
    subsidies: list[Subsidy] = field(default_factory=list)
    mergers: list[MergerDue] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    in_force: list[tuple[CompiledPolicy, np.ndarray]] = field(default_factory=list)

    def legally_offered(self) -> np.ndarray:
        """``[W, R, S, K]``: available to the last access group, which every ban binds.

        A line reached only by evaders of a ban is not legally offered (version 1: it earns
        no subsidy and has nothing to withdraw).
        """
        return self.available[:, :, :, -1, :]


@dataclass(frozen=True)
class LineRules:
    """The rules a prospective line (an entrant's, or a firm's next generation) would face.

    Attributes:
        available: ``[W, R, S, G]``.
        compliance_fixed: ``[W, R]`` USD/month.
        compliance_share: ``[W, R]``.
    """

    available: np.ndarray
    compliance_fixed: np.ndarray
    compliance_share: np.ndarray


@dataclass(frozen=True)
class _Lines:
    """The attributes of product lines the rules look at (``K`` lines, maybe hypothetical)."""

    is_open: np.ndarray  #: [W, K] bool
    capability: np.ndarray  #: [W, K] points
    owner: np.ndarray  #: [W, K] firm row (-1: none)
    home: np.ndarray  #: [W, K] owner's home region (-1: none)
    row: np.ndarray  #: [K] product row (-1: a line not yet in the table)
    alive: np.ndarray  #: [W, K] line and owner alive
    served: np.ndarray  #: [W, R, K]


def _per_world(value: Any, worlds: int, default: float, tail: tuple[int, ...] = ()
               ) -> np.ndarray:
    """A number (or ``[W]``, or ``[*tail]`` / ``[W, *tail]`` array) broadcast to the batch."""
    value = default if value is None else value
    return np.broadcast_to(np.asarray(value, dtype=float), (worlds, *tail))


def _rows(values: dict[str, Any], key: str) -> np.ndarray:
    return np.asarray(values.get(key, ()), dtype=np.int64).reshape(-1)


def _hit(policy: CompiledPolicy, lines: _Lines) -> np.ndarray:
    """``[W, K]`` lines a ban or withholding covers (before regions and access groups)."""
    v, w = policy.values, lines.is_open.shape[0]
    if policy.kind == "ban_open_weights":
        floor = _per_world(v.get("min_capability"), w, -np.inf)
        return lines.is_open & (lines.capability >= floor[:, None])
    if policy.kind == "withhold":  # the firm's decision: binds while it still owns the lines
        return np.isin(lines.row, _rows(v, "products"))[None, :] & (lines.owner == int(v["firm"]))
    hit = (np.isin(lines.owner, _rows(v, "firms")) | np.isin(lines.row, _rows(v, "products"))
           | np.isin(lines.home, _rows(v, "home_regions")))
    openness = v.get("openness", "any")
    if openness != "any":
        hit &= lines.is_open == (openness == "open")
    return hit


def _binds(params: Params, enforcement: Any) -> np.ndarray:
    """``[W, R, S, G]`` groups a ban with this enforcement (number, ``[S]`` or ``[W, S]``) binds."""
    st = params.structure
    e = _per_world(enforcement, params.worlds, 1.0, (st.n_segments,))
    return st.group_evasion[None] > (1.0 - e)[:, None, :, None] + _TOL


def _evaluate(params: Params, in_force: list[tuple[CompiledPolicy, np.ndarray]],
              lines: _Lines) -> tuple[np.ndarray, ...]:
    """Availability, forced shares, contributor access and compliance for ``lines``."""
    st, w = params.structure, params.worlds
    r, s, g, k = st.n_regions, st.n_segments, st.n_groups, lines.row.shape[0]
    base = lines.alive[:, None, :] & lines.served  # [W, R, K]
    stop = np.broadcast_to(~base[:, :, None, None, :], (w, r, s, g, k)).copy()
    decayed = np.zeros((w, r, s, g, k))
    kept = np.zeros((w, r, s, g, k), dtype=bool)  # open-weights bans: downloads still run
    withheld = np.zeros((w, r, k), dtype=bool)
    allowed = np.ones((w, r, k), dtype=bool)
    fixed, share = np.zeros((w, r, k)), np.zeros((w, r, k))
    for policy, where in in_force:
        v = policy.values
        if policy.kind in (*_BANS, "withhold"):
            hit = _hit(policy, lines)[:, None, :] & where[:, :, None]  # [W, R, K]
            if policy.kind == "withhold":
                segs = v.get("segments")
                if segs is None:  # every segment: the line is not served in the region
                    withheld |= hit
                else:  # some segments only (Meta AI, not Llama, kept from EU consumers)
                    stop |= hit[:, :, None, None, :] & np.asarray(segs, bool)[
                        None, None, :, None, None]
                continue
            bound = _binds(params, v.get("enforcement"))[..., None] & hit[:, :, None, None, :]
            if policy.kind == "ban_vendors":
                stop |= bound
                continue
            kept |= bound
            decay = _per_world(v.get("download_decay"), w, np.log(2.0) / 12.0)
            decayed = np.maximum(decayed, np.where(bound, decay[:, None, None, None, None], 0.0))
            if not v.get("allow_contributors", False):
                allowed &= ~hit
        elif policy.kind == "compliance_cost":
            cost = _compliance_cost(v, lines.is_open, lines.capability)  # [W, K]
            fixed += where[:, :, None] * cost[:, None, :]
            share += where[:, :, None] * _per_world(v.get("revenue_share"), w, 0.0)[:, None, None]
    stop |= withheld[:, :, None, None, :]
    forced = np.where(stop, 1.0, decayed)
    owes = lines.alive[:, None, :] & ~withheld  # a withheld line is not served there
    return ~(stop | kept), forced, allowed, fixed * owes, share * owes


def _compliance_cost(v: dict[str, Any], is_open: np.ndarray, capability: np.ndarray
                     ) -> np.ndarray:
    """``[W, K]`` fixed USD/month a line owes under one ``compliance_cost`` policy.

    Open lines below the systemic threshold pay ``fixed * (1 - exempt_fraction)`` (AI Act
    Art. 53(2) exempts them from some duties only); lines at or above it pay
    ``systemic_fixed`` (default ``fixed``) with no exemption (Art. 51).
    """
    w = is_open.shape[0]
    base = _per_world(v.get("fixed"), w, 0.0)[:, None]
    systemic_fixed = base if v.get("systemic_fixed") is None else \
        _per_world(v["systemic_fixed"], w, 0.0)[:, None]
    exempt = _per_world(v.get("exempt_fraction"), w, 0.5)[:, None]
    systemic = capability >= _per_world(v.get("systemic_capability"), w, np.inf)[:, None]
    open_rate = base * (1.0 - exempt)
    return np.where(systemic, systemic_fixed, np.where(is_open, open_rate, base))


def _lines_of(state: State) -> _Lines:
    owner = np.asarray(state.owner, dtype=np.int64)
    valid = (owner >= 0) & (owner < state.firm_alive.shape[1])
    safe = np.where(valid, owner, 0)
    owner_alive = np.take_along_axis(state.firm_alive, safe, axis=1) & valid
    home = np.where(valid, np.take_along_axis(state.home, safe, axis=1), -1)
    return _Lines(is_open=state.is_open.astype(bool), capability=state.capability,
                  owner=np.where(valid, owner, -1), home=home,
                  row=np.arange(owner.shape[1]), alive=state.product_alive & owner_alive,
                  served=state.served.astype(bool))


def publish_rules(params: Params, state: State, month: int, trigger_memory: TriggerMemory,
                  metric: Metric) -> Rules:
    """The rules in force in ``month`` for every world of the batch.

    Args:
        params: The batch's parameters (``structure.policies`` are read).
        state: The state before this month's decisions (lines, owners, firms alive).
        month: The step.
        trigger_memory: From :func:`new_trigger_memory`; updated in place.
        metric: Last month's value of a market metric per world, ``[W]``.

    Returns:
        This month's :class:`Rules`; its ``events`` are not yet appended to the state.
    """
    st, w = params.structure, params.worlds
    in_force: list[tuple[CompiledPolicy, np.ndarray]] = []
    mergers: list[MergerDue] = []
    events: list[Event] = []
    for p, policy in enumerate(st.policies):
        if policy.kind == "merger":
            if month == policy.start:
                a, t = int(policy.values["acquirer"]), int(policy.values["target"])
                alive = state.firm_alive[:, a] & state.firm_alive[:, t]
                mergers.append(MergerDue(policy.label, a, t, alive))
            continue
        if policy.kind == "trigger":
            applying = advance_trigger(params, p, policy, month, trigger_memory, metric, events)
            if policy.nested is not None and applying.any():
                if set(policy.nested.regions) != set(policy.regions):  # applies elsewhere
                    applying = (applying.any(axis=1)[:, None]
                                & region_mask(policy.nested.regions, st.n_regions)[None, :])
                in_force.append((policy.nested, applying))
            continue
        now = np.full(w, policy.active(month))
        was = trigger_memory.active[:, p]
        firm = None
        if policy.kind == "withhold":
            row = int(policy.values["firm"])
            firm = st.firms[row] if row < len(st.firms) else None
        regions = region_mask(policy.regions, st.n_regions)[None, :]
        events += policy_events(params, month, (now & ~was)[:, None] & regions, "policy_on",
                          policy_detail(policy), firm)
        events += policy_events(params, month, (was & ~now)[:, None] & regions, "policy_off",
                          policy_detail(policy), firm)
        trigger_memory.active[:, p] = now
        if now.any():
            in_force.append((policy, now[:, None] & regions))
    available, forced, allowed, fixed, share = _evaluate(params, in_force, _lines_of(state))
    multiplier, friction = np.ones((w, st.n_regions)), np.zeros((w, st.n_regions))
    subsidies: list[Subsidy] = []
    for policy, where in in_force:
        v = policy.values
        if policy.kind == "interoperability":
            m = _per_world(v.get("switching_cost_multiplier"), w, 0.5)[:, None]
            multiplier = np.where(where, multiplier * m, multiplier)
        elif policy.kind == "compliance_cost":
            f = _per_world(v.get("contributor_friction"), w, 0.0)[:, None]
            friction = np.where(where, 1.0 - (1.0 - friction) * (1.0 - f), friction)
        elif policy.kind == "open_source_subsidy":
            subsidies.append(Subsidy(policy.label, where, _per_world(v["budget"], w, 0.0),
                                     str(v.get("recipients", "vendors")),
                                     float(v.get("contributor_fraction", 0.5)),
                                     float(v.get("cost_per_effort", 10_000.0))))
    return Rules(available, forced, allowed, fixed, share, multiplier, friction, subsidies,
                 mergers, events, in_force)


def rules_for_lines(params: Params, rules: Rules, state: State
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Availability and compliance this month's policies would give the lines of ``state``.

    ``state`` may be hypothetical (an openness decision's, one line's openness changed).

    Returns:
        ``(available[W, R, S, G, K], compliance_fixed[W, R, K], compliance_share[W, R, K])``.
    """
    available, _, _, fixed, share = _evaluate(params, rules.in_force, _lines_of(state))
    return available, fixed, share


def line_rules(params: Params, rules: Rules, is_open: np.ndarray, capability: np.ndarray,
               home: np.ndarray, firm: np.ndarray | None = None) -> LineRules:
    """The rules a prospective line would face this month, served everywhere.

    For entry (an entrant's first line) and openness decisions (a firm's next generation):
    bans by product name cannot name it; bans by firm reach it when ``firm`` is given.

    Args:
        params: The batch's parameters.
        rules: This month's rules (their ``in_force`` list is read).
        is_open: ``[W]`` bool, the line would be open.
        capability: ``[W]`` points.
        home: ``[W]`` the owner's home region.
        firm: ``[W]`` the owner's firm row (None or -1: a new firm).
    """
    w, n_r = params.worlds, params.structure.n_regions
    owner = np.full(w, -1) if firm is None else np.asarray(firm, dtype=np.int64)
    lines = _Lines(is_open=np.asarray(is_open, dtype=bool)[:, None],
                   capability=np.asarray(capability, dtype=float)[:, None],
                   owner=owner[:, None], home=np.asarray(home, dtype=np.int64)[:, None],
                   row=np.array([-1]), alive=np.ones((w, 1), dtype=bool),
                   served=np.ones((w, n_r, 1), dtype=bool))
    available, _, _, fixed, share = _evaluate(params, rules.in_force, lines)
    return LineRules(available[..., 0], fixed[..., 0], share[..., 0])
