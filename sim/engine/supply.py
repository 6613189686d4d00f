"""Accounting, funding and capability (MODEL.md 6.1-6.2): the month's supply phase.

Per firm: revenue and serving cost from the market phase, compliance from the rules,
indirect value to a parent, funding rounds on run-rate and growth (venture) or a parent's
budget rule (parent), R&D out of funding and profit, and cash booked in cents so that a
run balances to the cent (``sim.mechanisms.funding``). R&D raises each line's capability,
open weights set a floor and closed APIs a weaker pull (``sim.mechanisms.capability``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.engine.params import PARENT, Params
from sim.engine.rules import Rules
from sim.engine.state import Event, State
from sim.mechanisms import capability as cap
from sim.mechanisms import funding as fund
from sim.mechanisms.concentration import firm_totals

__all__ = ["Books", "venture_terms", "parent_terms", "close_month", "grow_capability",
           "record_frontiers"]


def venture_terms(params: Params) -> fund.VentureTerms:
    """Investors' terms from ``[world]`` (the mechanism's defaults where a key is absent)."""
    d = fund.VentureTerms()
    return fund.VentureTerms(
        base_multiple=params.world_value("round_multiple", d.base_multiple),
        growth_elasticity=params.world_value("round_growth_elasticity", d.growth_elasticity),
        growth_reference=params.world_value("round_growth_reference", d.growth_reference),
        min_growth=params.world_value("round_min_growth", d.min_growth),
        leader_premium=params.world_value("round_leader_premium", d.leader_premium),
        leader_floor_usd=params.world_value("round_leader_floor", d.leader_floor_usd),
        runway_months=params.world_value("runway_months", d.runway_months),
        min_months_between_rounds=params.world_value("months_between_rounds",
                                    d.min_months_between_rounds),
        max_round_usd=params.world_value("max_round", d.max_round_usd))


def parent_terms(params: Params) -> fund.ParentTerms:
    """A parent's budget rule from ``[world]``."""
    d = fund.ParentTerms()
    return fund.ParentTerms(
        payout_share=params.world_value("parent_payout_share", d.payout_share),
        capacity_share=params.world_value("parent_capacity_share", d.capacity_share))


@dataclass
class Books:
    """This month's firm-level flows (USD a month, ``[W, F]`` unless noted).

    Attributes:
        revenue: Billed revenue over every region.
        revenue_by_region: ``[W, F, R]``.
        serving: Serving cost.
        compliance: Compliance cost.
        compliance_by_region: ``[W, F, R]``.
        indirect: Indirect value a parent-funded firm's users bring its parent.
        subsidy: Public money received.
        raised: Venture rounds this month.
        transfer: Parent transfers this month.
        rd: R&D spend.
        overhead: Spending outside R&D (sales, administration, staff).
        ledger: Every flow booked, in cents (``sim.mechanisms.funding.close_books``).
        round_codes: ``[W, F]`` why a round was or was not raised (``RoundCode``).
    """

    revenue: np.ndarray
    revenue_by_region: np.ndarray
    serving: np.ndarray
    compliance: np.ndarray
    compliance_by_region: np.ndarray
    indirect: np.ndarray
    subsidy: np.ndarray
    raised: np.ndarray
    transfer: np.ndarray
    rd: np.ndarray
    overhead: np.ndarray
    ledger: dict[str, np.ndarray]
    round_codes: np.ndarray

    @property
    def burn(self) -> np.ndarray:
        """``[W, F]`` net burn: everything spent minus revenue, floored at 0, USD a month."""
        return np.maximum(self.serving + self.compliance + self.rd + self.overhead
                          - self.revenue, 0.0)

    @property
    def operating_profit_by_region(self) -> np.ndarray:
        """``[W, F, R]`` revenue minus serving and compliance, serving split by revenue."""
        total = self.revenue[..., None]
        weight = np.divide(self.revenue_by_region, total, out=np.zeros_like(
            self.revenue_by_region), where=total > 0)
        return self.revenue_by_region - weight * self.serving[..., None] \
            - self.compliance_by_region


def _by_firm(quantity: np.ndarray, state: State) -> np.ndarray:
    """``[W, ..., K]`` -> ``[W, ..., F]`` by owner."""
    return firm_totals(quantity, state.owner, state.firm_alive.shape[1])


def _firm_lead(state: State) -> np.ndarray:
    """``[W, F]`` points each firm's best line is behind the frontier it is judged against.

    Open-weights labs against the open frontier, the others against the closed one
    (sim.mechanisms.funding.leadership; docs/mechanisms/supply-finance-entry.md).
    """
    best = np.full(state.firm_alive.shape, -np.inf)
    q = np.where(state.product_alive, state.capability, -np.inf)
    w_idx = np.repeat(np.arange(state.worlds), q.shape[1])
    np.maximum.at(best, (w_idx, state.owner.ravel()), q.ravel())
    closed_q, open_q = cap.frontiers(state.capability, state.is_open, state.product_alive)
    open_lab = firm_totals(np.where(state.product_alive & state.is_open, 1.0, 0.0), state.owner,
                           state.firm_alive.shape[1]) > 0
    reference = np.where(open_lab, np.where(np.isnan(open_q), closed_q, open_q)[:, None],
                         closed_q[:, None])
    gap = np.where(np.isfinite(best), reference - best, np.inf)
    return fund.leadership(np.maximum(gap, 0.0))


def _race_index(params: Params, month: int) -> np.ndarray:
    """``[W, 1]`` growth of a parent's commitment since step 0: ``(R0(t) / R0(0))^tracking``.

    A parent commits to a place in the race, not to a sum of dollars: with ``tracking = 1``
    its lab's committed budget grows as the R&D a month of frontier progress costs
    (``capability.rd_scale``), capped by the parent's capacity in ``parent_transfer``
    (docs/mechanisms/supply-finance-entry.md 3). 0 keeps the 2024 dollars.
    """
    w = params.world
    growth = cap.rd_scale(month, 1.0, w["compute_cost_fall_per_year"],
                          w["difficulty_growth_per_year"])
    tracking = params.world_value("parent_budget_tracking", 1.0)
    return np.broadcast_to(growth ** tracking, (params.worlds,))[:, None]


def close_month(params: Params, state: State, rules: Rules, month: int, revenue: np.ndarray,
                serving: np.ndarray, users: np.ndarray, subsidy: np.ndarray) -> Books:
    """Book the month: funding, R&D and cash for every firm.

    Args:
        params: Parameters.
        state: State (cash and funding state updated).
        rules: This month's rules (compliance).
        month: Step.
        revenue: ``[W, R, S, K]`` owner revenue, USD.
        serving: ``[W, R, S, K]`` owner serving cost, USD.
        users: ``[W, R, S, K]`` adopters.
        subsidy: ``[W, F]`` public money received this month, USD.
    """
    line_revenue = revenue.sum(axis=2)  # [W, R, K]
    selling = users.sum(axis=2) > 0
    compliance_line = np.where(selling & state.served, rules.compliance_fixed
                               + rules.compliance_share * line_revenue, 0.0)
    revenue_by_region = np.moveaxis(_by_firm(line_revenue, state), 1, 2)  # [W, F, R]
    compliance_by_region = np.moveaxis(_by_firm(compliance_line, state), 1, 2)
    firm_revenue = revenue_by_region.sum(axis=2)
    firm_serving = _by_firm(serving.sum(axis=(1, 2)), state)
    firm_compliance = compliance_by_region.sum(axis=2)
    firm_users = _by_firm(users.sum(axis=(1, 2)), state)
    alive = state.firm_alive
    cash_usd = fund.cents_to_usd(state.cash)
    indirect = np.where(state.funding == PARENT, firm_users * state.indirect_value, 0.0)
    transfer = fund.parent_transfer(firm_users, state.indirect_value, state.parent_budget,
                                    cash_usd, state.funding, alive, parent_terms(params),
                                    base_budget=state.lab_budget * _race_index(params, month))
    burn = np.maximum(firm_serving + firm_compliance + state.scratch.get(
        "spent_last", np.zeros_like(firm_revenue)) - firm_revenue, 0.0)
    growth = fund.growth_per_year(state.log_growth)
    lead = _firm_lead(state)
    offer = fund.venture_round(cash_usd, burn, firm_revenue, growth, lead,
                               state.funding, alive, venture_terms(params),
                               state.months_since_round)
    raised = np.where(alive, offer.amount, 0.0)
    profit = firm_revenue - firm_serving - firm_compliance
    drawdown = state.spending_plan
    spent = fund.spending(state.rd_share, profit, cash_usd, transfer + subsidy, drawdown, raised)
    rd = np.where(alive, spent.rd, 0.0)
    overhead = np.where(alive, spent.overhead, 0.0)
    cash, ledger = fund.close_books(
        state.cash, alive=alive, revenue=firm_revenue, indirect_value=np.zeros_like(indirect),
        subsidy=subsidy, funding=raised + transfer, serving_cost=firm_serving,
        compliance=firm_compliance, overhead=overhead, rd=rd)
    state.cash = cash
    state.spending_plan = fund.update_spending_plan(
        state.spending_plan, raised, fund.cents_to_usd(cash),
        params.world_value("drawdown_months", 18.0)[:, None])
    state.log_growth = np.where(alive, fund.update_log_growth(state.log_growth, firm_revenue,
                                                              state.revenue_last), 0.0)
    state.revenue_last = firm_revenue
    state.months_since_round = np.where(raised > 0, 0, state.months_since_round + 1)
    state.scratch["spent_last"] = rd + overhead
    state.scratch["ledger"] = ledger
    _round_events(params, state, month, raised, offer, firm_revenue, growth, lead)
    return Books(revenue=firm_revenue, revenue_by_region=revenue_by_region,
                 serving=firm_serving, compliance=firm_compliance,
                 compliance_by_region=compliance_by_region, indirect=indirect, subsidy=subsidy,
                 raised=raised, transfer=transfer, rd=rd, overhead=overhead, ledger=ledger,
                 round_codes=offer.code)


def _round_events(params: Params, state: State, month: int, raised: np.ndarray,
                  offer: fund.FundingRound, revenue: np.ndarray, growth: np.ndarray,
                  lead: np.ndarray) -> None:
    """One ``funding_round`` event per round raised, with the investors' reason."""
    from sim.engine.names import firm_name

    terms = venture_terms(params)
    for w, f in zip(*np.nonzero(raised > 0), strict=True):  # rounds are rare: a few a year
        reason = fund.round_reason(int(offer.code[w, f]), float(raised[w, f]),
                                   float(12 * revenue[w, f]), float(growth[w, f]),
                                   float(lead[w, f]), terms)
        state.events.append(Event(int(w), month, "World", firm_name(params, state, w, f), None,
                                  "funding_round", reason))


def grow_capability(params: Params, state: State, rd: np.ndarray,
                    community_gain: np.ndarray, month: int) -> np.ndarray:
    """Add this month's capability gains to every alive line; returns ``dq`` ``[W, K]``."""
    w = params.world
    n_firms = state.firm_alive.shape[1]
    weights = cap.flagship_weights(state.capability, state.owner, state.product_alive, n_firms,
                                   w["flagship_share"])
    line_rd = cap.split_rd_budget(rd, state.owner, state.product_alive, weights)
    scale = cap.rd_scale(month, w["rd_scale"], w["compute_cost_fall_per_year"],
                         w["difficulty_growth_per_year"])
    dq = cap.capability_gain(state.capability, state.is_open, state.product_alive, line_rd,
                             scale[:, None] if np.ndim(scale) else scale,
                             w["rd_productivity"][:, None], community_gain,
                             w["kappa_open"][:, None], w["kappa_closed"][:, None],
                             absorption=cap.absorptive_capacity(rd, state.owner,
                                                                params.world_value(
                                                                    "absorption_budget", 3e6)))
    state.capability = state.capability + np.where(state.product_alive, dq, 0.0)
    return dq


def record_frontiers(state: State, month: int) -> None:
    """Write the closed and open frontiers of ``month`` into the history."""
    closed_q, open_q = cap.frontiers(state.capability, state.is_open, state.product_alive)
    if month > 0:  # the closed frontier never falls in the history (an exit does not undo it)
        closed_q = np.fmax(closed_q, state.closed_frontier[:, month - 1])
    state.closed_frontier[:, month] = closed_q
    state.open_frontier[:, month] = open_q
