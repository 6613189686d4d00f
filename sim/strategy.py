"""Vendors' discrete strategy: serve or withdraw per region, openness, mergers (MODEL.md 4.6-4.7).

Withdrawal is emergent: a vendor compares its expected margin in a region (an
exponential average over ``withdrawal_horizon`` months, so one bad month does
not trigger it) with the region's compliance cost, and leaves when the cost is
higher; it may come back after ``reentry_lag`` months when the margin it could
earn there (its margin per unit of reachable usage elsewhere, scaled to the
region) beats the cost again. Adaptive vendors evaluate their profit with
openness flipped using the demand model itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim import demand, pricing
from sim.policies import compliance_fixed_cost  # noqa: F401  (re-exported for strategy users)
from sim.scenario.schema import Merger

if TYPE_CHECKING:
    from sim.model import MarketModel

__all__ = ["review_regions", "review_openness", "merge_vendors", "expected_margin"]


def expected_margin(model: MarketModel, k: int) -> np.ndarray:
    """Expected monthly margin of vendor ``k`` in each region (USD), net of revenue-share dues.

    Served regions use the smoothed margin it earned there; others, its margin per unit
    of reachable usage where it sells, times the region's reachable usage.
    """
    vt = model.vendors
    margin = vt.margin_region[k].copy()
    served = vt.served[k]
    reach = (model.potential * model._tokens(model.month)[None, :]).sum(axis=1)
    if served.any() and reach[served].sum() > 0:
        per_reach = max(margin[served].sum(), 0.0) / reach[served].sum()
    else:
        per_reach = 0.0
    margin = np.where(served, margin, per_reach * reach)
    dues = model.rules.compliance_share[:, k] * np.where(served, vt.revenue_region[k], 0.0)
    return margin - dues


def review_regions(model: MarketModel, k: int) -> None:
    """Withdraw from regions whose compliance cost exceeds the expected margin; re-enter later."""
    vt = model.vendors
    month = model.month + 1
    fixed = model.rules.compliance_fixed[:, k]
    allowed = model.rules.available[:, 0, k] | ~vt.served[k]  # ignore regions that ban it
    margin = expected_margin(model, k)
    for r, name in enumerate(model.regions):
        if fixed[r] <= 0 and vt.served[k, r]:
            continue
        if vt.served[k, r] and allowed[r] and margin[r] < fixed[r]:
            vt.served[k, r] = False
            vt.reentry_month[k, r] = month + model.world.reentry_lag
            model.flows["withdrawals"][r] += 1
            model.record_event(month, name, vt.names[k], "withdrawal",
                               f"expected margin {margin[r]:,.0f} < compliance {fixed[r]:,.0f} "
                               "USD/month")
        elif (not vt.served[k, r] and month >= vt.reentry_month[k, r]
              and vt.reentry_month[k, r] > 0 and margin[r] > fixed[r]):
            vt.served[k, r] = True
            model.record_event(month, name, vt.names[k], "reentry",
                               f"expected margin {margin[r]:,.0f} > compliance {fixed[r]:,.0f} "
                               "USD/month")


def _profit_as(model: MarketModel, k: int, is_open: bool) -> float:
    """Monthly profit of vendor ``k`` at the long-run shares if it had openness ``is_open``."""
    vt = model.vendors
    month = model.month
    cost = model._serving_cost(month)
    opened = vt.view("is_open").copy()
    opened[k] = is_open
    capability = vt.view("capability").copy()
    if is_open and not vt.is_open[k]:
        others = opened & vt.view("alive")
        others[k] = False
        typical = model.effort[: vt.count][others].mean() if others.any() else 0.0
        w = model.world
        capability[k] += model.world.review_horizon / 2 * w.community_productivity * (
            typical / w.effort_scale) ** w.effort_elasticity
    price = vt.view("price").copy()
    if is_open:
        price[k] = pricing.open_prices(cost[k:k + 1], model.world.open_margin)[0]
    utilities = demand.vendor_utilities(model.tastes, capability, price, opened,
                                        vt.view("home"), model.brand[..., : vt.count],
                                        model.network_share)
    weights, _ = demand.option_weights(utilities, model._outside_utility(month),
                                       model.rules.available)
    shares = demand.stationary_shares(weights, model._switching())  # [R, S, G, O]
    groups = model.group_fractions[:, None, :]
    adopters = (shares[..., k + 1] * groups).sum(axis=-1) * model.potential  # [R, S]
    tokens = (adopters * model._tokens(month)[None, :]).sum()
    if not is_open:
        elasticity = (model.tastes.alpha[None, :] * (1 - adopters / np.maximum(model.potential, 1))
                      * adopters * model._tokens(month)[None, :]).sum() / max(tokens, 1e-12)
        target, _ = pricing.best_response(cost[k:k + 1], np.array([elasticity]),
                                          model.world.markup_max)
        return float(tokens * (target[0] - cost[k]))
    hosted = vt.hosted[k] if vt.is_open[k] else 0.3
    indirect = vt.indirect[k] * adopters.sum()
    return float(tokens * hosted * (price[k] - cost[k]) + indirect)


def review_openness(model: MarketModel, k: int) -> None:
    """Every ``review_months``, switch openness if the flipped profit beats the switching cost."""
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
    vt.is_open[k] = not vt.is_open[k]
    if vt.is_open[k] and vt.hosted[k] >= 1.0:
        vt.hosted[k] = 0.3
    elif not vt.is_open[k]:
        vt.hosted[k] = 1.0
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
    if month > 0:
        model.counts[..., a + 1] += model.counts[..., t + 1]
        model.counts[..., t + 1] = 0
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
