"""Vendors' discrete strategy: serve or withdraw per region, openness, mergers (MODEL.md 4.6-4.7).

Withdrawal is emergent: a vendor compares its expected margin in a region (an
exponential average with span ``withdrawal_horizon`` months, kept by
:mod:`sim.finance` and started from the month-0 state, so one bad month does not
trigger it) with the region's compliance cost, and leaves when the cost is
higher; it may come back after ``reentry_lag`` months when the margin it could
earn there (its margin per unit of potential usage where it sells, scaled to the
region) beats the cost again. Adaptive vendors evaluate their profit with
openness flipped using the demand model itself (stationary shares, the price
rule, the rules they would face and the community effort they would attract).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim import contributors as contrib
from sim import demand, pricing
from sim.finance import legally_offered
from sim.policies import Rules, publish_rules
from sim.scenario.schema import Merger

if TYPE_CHECKING:
    from sim.model import MarketModel

__all__ = ["review_regions", "review_openness", "merge_vendors", "expected_margin"]


def _prospects(model: MarketModel, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Monthly margin and revenue vendor ``k`` would earn in each region if it served it.

    Margin is before compliance; both at the stationary shares of the demand model.
    Its availability is what serving every region would give (bans still apply); the
    installed base it would rebuild is found by iterating its network share to the
    stationary share it implies (a contraction for ``eta < 1``; at most 20 rounds).
    Rivals' prices and installed bases are held fixed.
    """
    vt = model.vendors
    was = vt.served[k].copy()
    vt.served[k] = True
    try:
        rules = publish_rules(model._active_policies(), vt, model.regions,
                              model.group_evade_upto, model.month + 1)
    finally:
        vt.served[k] = was
    month = model.month
    network = model.network_share.copy()
    outside = model._outside_utility(month)
    for _ in range(20):
        utilities = demand.vendor_utilities(model.tastes, vt.view("capability"),
                                            vt.view("price"), vt.view("is_open"),
                                            vt.view("home"), model.brand[..., : vt.count],
                                            network)
        weights, _ = demand.option_weights(utilities, outside, rules.available)
        shares = demand.stationary_shares(weights, model._switching())  # [R, S, G, O]
        pooled = (shares * model.group_fractions[:, None, :, None]).sum(axis=2)  # [R, S, O]
        inside = pooled[..., 1:].sum(axis=-1)
        own = np.divide(pooled[..., k + 1], inside, out=np.zeros_like(inside),
                        where=inside > 0)
        if np.max(np.abs(own - network[..., k])) < 1e-9:
            break
        network[..., k] = own
    adopters = pooled[..., k + 1] * model.potential  # [R, S]
    billed = (adopters * model._tokens(month)[None, :]).sum(axis=1) * vt.hosted[k]
    revenue = billed * vt.price[k]
    cost = model._serving_cost(month)[k]
    indirect = vt.indirect[k] * adopters.sum(axis=1) if vt.is_open[k] else 0.0
    return revenue - billed * cost + indirect, revenue


def _expectations(model: MarketModel, k: int, unserved: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Expected monthly margin (before compliance) and revenue of vendor ``k`` per region.

    In a region it serves, the expectation is the exponential average of its margin
    there (span ``world.withdrawal_horizon`` months, kept by :mod:`sim.finance`; at
    month 0 the initial state's margin). In the regions ``unserved`` (default: every
    region it does not serve) it is what it would earn there if it came back
    (:func:`_prospects`); other regions it does not serve get 0.
    """
    vt = model.vendors
    served = vt.served[k]
    margin = np.where(served, vt.margin_region[k], 0.0)
    revenue = np.where(served, vt.revenue_region[k], 0.0)
    if unserved is None:
        unserved = ~served
    if unserved.any():
        prospect, prospect_revenue = _prospects(model, k)
        margin = np.where(unserved, prospect, margin)
        revenue = np.where(unserved, prospect_revenue, revenue)
    return margin, revenue


def expected_margin(model: MarketModel, k: int) -> np.ndarray:
    """Expected monthly margin of vendor ``k`` in each region (USD), net of revenue-share dues.

    See :func:`_expectations`; dues are the expected revenue times the region's share.
    """
    margin, revenue = _expectations(model, k)
    return margin - model.rules.compliance_share[:, k] * revenue


def review_regions(model: MarketModel, k: int) -> None:
    """Withdraw from regions whose compliance cost exceeds the expected margin; re-enter later.

    Only regions that let the vendor in count (a region that bans it is not a choice).
    A withdrawal sets the earliest re-entry month (``world.reentry_lag`` later); once it
    has passed, the vendor re-enters a region it left when what it would earn there
    (:func:`_prospects`) beats the fixed cost, and its expectation there restarts from
    that estimate (so it does not leave again while its adopters come back).
    """
    vt = model.vendors
    month = model.month + 1
    fixed = model.rules.compliance_fixed[:, k]
    allowed = legally_offered(model.rules)[:, k] | ~vt.served[k]  # ignore regions that ban it
    due = ~vt.served[k] & (vt.reentry_month[k] > 0) & (month >= vt.reentry_month[k])
    if not (fixed > 0).any() and not due.any():
        return
    gross, revenue = _expectations(model, k, due)
    margin = gross - model.rules.compliance_share[:, k] * revenue
    for r, name in enumerate(model.regions):
        if vt.served[k, r] and fixed[r] > 0 and allowed[r] and margin[r] < fixed[r]:
            vt.served[k, r] = False
            vt.reentry_month[k, r] = month + model.world.reentry_lag
            model.flows["withdrawals"][r] += 1
            model.record_event(month, name, vt.names[k], "withdrawal",
                               f"expected margin {margin[r]:,.0f} < compliance {fixed[r]:,.0f} "
                               "USD/month")
        elif due[r] and margin[r] > fixed[r]:
            vt.served[k, r] = True
            vt.margin_region[k, r], vt.revenue_region[k, r] = gross[r], revenue[r]
            model.record_event(month, name, vt.names[k], "reentry",
                               f"expected margin {margin[r]:,.0f} > compliance {fixed[r]:,.0f} "
                               "USD/month")


def _hosted_as(model: MarketModel, k: int, is_open: bool) -> float:
    """Share of usage the vendor would bill with openness ``is_open``.

    Closed vendors bill all usage; an open vendor keeps its hosted fraction, and a closed
    vendor that opens takes its scenario's ``hosted_fraction`` (entrants: 0.3).
    """
    vt = model.vendors
    if not is_open:
        return 1.0
    if vt.is_open[k]:
        return float(vt.hosted[k])
    spec = next((v for v in model.scenario.vendors if v.name == vt.names[k]), None)
    return float(spec.hosted_fraction) if spec is not None else 0.3


def _rules_as(model: MarketModel, k: int, is_open: bool) -> Rules:
    """This month's rules as they would be if vendor ``k`` had openness ``is_open``.

    Bans of open weights and the open-source exemption from compliance costs depend on
    openness, so the counterfactual must face them too.
    """
    vt = model.vendors
    was = bool(vt.is_open[k])
    vt.is_open[k] = is_open
    try:
        return publish_rules(model._active_policies(), vt, model.regions,
                             model.group_evade_upto, model.month + 1)
    finally:
        vt.is_open[k] = was


def _community_points(model: MarketModel, k: int, rules: Rules) -> float:
    """Capability vendor ``k``'s open ecosystem would add over the review horizon (on average).

    The effort is what contributors would give it in the long run under their own choice
    rule (:func:`sim.contributors.expected_effort`) with the rules it would face if open;
    the points are ``g_c (E / E0)^theta`` a month, on average over half the horizon.
    The same expectation applies whether the vendor is open now or considers opening, so a
    vendor that has just opened (and has no community yet) judges itself as it did before.
    """
    vt = model.vendors
    w = model.world
    spec = model.scenario.contributors
    table = model.contributors
    n_r = len(model.regions)
    supply = np.bincount(table.region, weights=table.effort(rules.contributor_friction),
                         minlength=n_r) if table.count else np.zeros(n_r)
    opened = vt.view("is_open").copy()
    opened[k] = True
    allowed = rules.contributor_allowed & opened[None, :] & vt.view("alive")[None, :]
    values = (spec.capability_weight * vt.view("capability")
              + spec.community_weight * np.log1p(model.effort[: vt.count])
              - spec.license_weight * vt.view("license"))
    frontier = float(model._reference_history[model.month])
    outside = model.outside_contribution + spec.capability_weight * frontier
    effort = contrib.expected_effort(spec, supply, allowed, values, outside, k,
                                     float(vt.capability[k]), float(vt.license[k]))
    return w.review_horizon / 2 * w.community_productivity * (
        effort / w.effort_scale) ** w.effort_elasticity


def _profit_as(model: MarketModel, k: int, is_open: bool) -> float:
    """Monthly profit of vendor ``k`` at the long-run shares if it had openness ``is_open``.

    Uses the demand model itself: stationary shares of the choice chain with the
    vendor's openness (open preference, bans of open weights), capability (community
    effort gained or lost), price (cost plus ``open_margin`` if open; if closed, the
    best response at the shares that price yields, found by iteration) and the
    compliance costs it would owe where it sells. Others' prices are held fixed.
    """
    vt = model.vendors
    month = model.month
    w = model.world
    cost = model._serving_cost(month)
    rules = _rules_as(model, k, is_open)
    opened = vt.view("is_open").copy()
    opened[k] = is_open
    capability = vt.view("capability").copy()
    if is_open:
        capability[k] += _community_points(model, k, rules)
    price = vt.view("price").copy()
    hosted = _hosted_as(model, k, is_open)
    if is_open:
        price[k] = pricing.open_prices(cost[k:k + 1], w.open_margin)[0]
    tokens = model._tokens(month)
    outside = model._outside_utility(month)
    potential = np.maximum(model.potential, 1)
    for _ in range(50):
        utilities = demand.vendor_utilities(model.tastes, capability, price, opened,
                                            vt.view("home"), model.brand[..., : vt.count],
                                            model.network_share)
        weights, _ = demand.option_weights(utilities, outside, rules.available)
        shares = demand.stationary_shares(weights, model._switching())  # [R, S, G, O]
        adopters = (shares[..., k + 1] * model.group_fractions[:, None, :]).sum(axis=-1) \
            * model.potential  # [R, S]
        if is_open:
            break
        usage = adopters * tokens[None, :]
        elasticity = (model.tastes.alpha[None, :] * (1 - adopters / potential) * usage).sum() \
            / max(usage.sum(), 1e-12)
        target, _ = pricing.best_response(cost[k:k + 1], np.array([elasticity]), w.markup_max)
        done = abs(np.log(target[0] / price[k])) < 1e-6
        price[k] = target[0]
        if done:
            break
    billed = (adopters * tokens[None, :]).sum(axis=1) * hosted  # [R]
    revenue = billed * price[k]
    indirect = vt.indirect[k] * adopters.sum() if is_open else 0.0
    selling = vt.served[k] & legally_offered(rules)[:, k]
    compliance = np.where(selling, rules.compliance_fixed[:, k]
                          + rules.compliance_share[:, k] * revenue, 0.0).sum()
    return float((revenue - billed * cost[k]).sum() + indirect - compliance)


def review_openness(model: MarketModel, k: int) -> None:
    """Every ``review_months``, switch openness if the flipped profit beats the switching cost.

    The gain is the difference in monthly profit (:func:`_profit_as`) over
    ``world.review_horizon`` months; it must exceed ``world.openness_switch_cost``, which
    the vendor then pays.
    """
    vt = model.vendors
    month = model.month + 1
    if month - vt.last_review[k] < model.world.review_months:
        return
    vt.last_review[k] = month
    now = _profit_as(model, k, bool(vt.is_open[k]))
    flipped = _profit_as(model, k, not vt.is_open[k])
    gain = (flipped - now) * model.world.review_horizon
    if gain <= model.world.openness_switch_cost:
        return
    vt.hosted[k] = _hosted_as(model, k, not vt.is_open[k])
    vt.is_open[k] = not vt.is_open[k]
    vt.cash[k] -= model.world.openness_switch_cost
    vt.book("switching", -model.world.openness_switch_cost, k)
    kind = "open" if vt.is_open[k] else "closed"
    model.record_event(month, "World", vt.names[k], "openness_switch",
                       f"now {kind}: expected gain {gain:,.0f} USD over "
                       f"{model.world.review_horizon} months")


def merge_vendors(model: MarketModel, merger: Merger, month: int) -> None:
    """``merger.target`` is absorbed by ``merger.acquirer``: adopters, cash, capability max."""
    vt = model.vendors
    a, t = vt.names.index(merger.acquirer), vt.names.index(merger.target)
    if not (vt.alive[a] and vt.alive[t]):
        model.record_event(month, "World", merger.target, "merger",
                           f"merger with {merger.acquirer} did not happen: a party has exited")
        return
    # the schema refuses mergers at step 0 (the initial state is data): counts exist here
    model.counts[..., a + 1] += model.counts[..., t + 1]
    model.counts[..., t + 1] = 0
    model.network_share = demand.inside_shares(model.counts)  # the installed base moves too
    cash = vt.cash[t]
    vt.book("merger_in", cash, a)
    vt.book("merger_out", -cash, t)
    vt.cash[a] += cash
    vt.cash[t] = 0.0
    vt.capability[a] = max(vt.capability[a], vt.capability[t])
    vt.served[a] |= vt.served[t]
    vt.funding0[a] += vt.funding0[t]
    vt.alive[t] = False
    model.record_event(month, "World", merger.acquirer, "merger",
                       f"{merger.acquirer} absorbs {merger.target}")
