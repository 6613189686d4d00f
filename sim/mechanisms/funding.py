"""Funding that follows success, R&D budgets and the cash books (MODEL.md 6.1).

Venture-funded firms raise a round when cash falls below ``runway_months`` of net burn. The
round is a multiple of the revenue run-rate ``12 * revenue_month``:

    multiple = min(base * (max(G - G_min, 0) / (G_ref - G_min)) ** elasticity
                   * (1 + leader_premium * lead), max_multiple)
    round    = min(max(multiple * run_rate, leader_floor * lead), max_round)

with ``G`` the smoothed log growth of revenue per year (:func:`update_log_growth`) and ``lead``
in [0, 1] (:func:`leadership`). A firm with falling revenue (``G <= G_min``) and no lead gets
nothing; a pre-revenue lab raises on its lead alone (the floor). Parent-funded firms get a
monthly transfer valuing the indirect value of their users (:func:`parent_transfer`).

Cash is kept in **integer cents** (int64): every flow is rounded to the cent once, when booked,
and then added exactly, so ``cash_T = cash_0 + sum(ledger)`` holds with no error at all (float64
USD would drift by up to ``n_additions * 1.1e-16 * |cash|``: 7 cents over 84 months of 8 flows
at $1e12; docs/mechanisms/supply-finance-entry.md). Decisions take cash in USD
(:func:`cents_to_usd`). Defaults and sources: docs/mechanisms/supply-finance-entry.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

VENTURE = 0  #: ``funding_type`` code of a venture-funded firm
PARENT = 1  #: ``funding_type`` code of a parent-funded firm

#: Ledger flows booked by :func:`close_books`, in this order (costs booked negative).
LEDGER_FLOWS = ("revenue", "indirect_value", "subsidy", "funding", "serving_cost",
                "compliance", "overhead", "rd")

#: Largest flow accepted, USD: int64 cents hold 9.2e16 USD, so sums of 84 months stay exact.
MAX_FLOW_USD = 1e15

#: EMA weight of this month's log growth: 2 / (6 + 1), the EMA matching a 6-month mean
#: (assumption; the brief's "last 6 or 12 months").
GROWTH_SMOOTHING = 2.0 / 7.0
#: Revenue added before taking logs, USD/month (assumption: growth below a $1.2M run-rate is
#: noise, and a pre-revenue firm's first dollar is not infinite growth).
REVENUE_FLOOR_USD = 1e5


class RoundCode(IntEnum):
    """Why a firm did or did not raise this month (one code per firm)."""

    NOT_NEEDED = 0  #: cash covers the runway
    RAISED = 1
    NO_APPETITE = 2  #: growth at or below the minimum and no capability lead
    TOO_SOON = 3  #: fewer than ``min_months_between_rounds`` since the last round
    NOT_VENTURE = 4  #: parent-funded
    DEAD = 5


@dataclass(frozen=True)
class VentureTerms:
    """Investors' terms. Fields are scalars or ``[W]`` arrays (world-varying draws)."""

    #: run-rate multiple at reference growth without lead (CALIBRATION.md: OpenAI $40B in
    #: 2025-03 against $5.5B (2024-12) / $10B (2025-06) run-rates: 4.0-5.4x as leader)
    base_multiple: float | np.ndarray = 3.0
    growth_elasticity: float | np.ndarray = 0.5  #: assumption (curvature of the growth factor)
    #: log growth per year at which the growth factor is 1: OpenAI 2024-12 -> 2025-06,
    #: 2 ln(10 / 5.5) = 1.2 (CALIBRATION.md)
    growth_reference: float | np.ndarray = 1.2
    min_growth: float | np.ndarray = 0.0  #: log growth per year below which no revenue round
    leader_premium: float | np.ndarray = 0.5  #: assumption: 3.0 * 1.5 = 4.5x for the leader
    #: round for a full lead on lead alone, USD: Mistral EUR 600M (2024-06, CALIBRATION.md) at
    #: ~1.08 USD/EUR (indicative, ECB reference rate June 2024)
    leader_floor_usd: float | np.ndarray = 6.5e8
    runway_months: float | np.ndarray = 12.0  #: assumption: raise with a year of burn left
    max_multiple: float | np.ndarray = 25.0  #: safeguard (assumption); binds only on spikes
    #: largest round, USD: no private round exceeded OpenAI's $40B (2025-03, CALIBRATION.md)
    #: in the fit window; above it the rule would extrapolate beyond any observed capital
    #: market (assumption; a structural uncertainty, docs/validation.md)
    max_round_usd: float | np.ndarray = 4.0e10
    min_months_between_rounds: float | np.ndarray = 6.0  #: assumption


@dataclass(frozen=True)
class ParentTerms:
    """A parent's budget rule. Fields are scalars or ``[W]`` arrays."""

    payout_share: float | np.ndarray = 0.5  #: assumption: share of indirect value paid in
    capacity_share: float | np.ndarray = 0.2  #: assumption: share of the parent's capacity


def _world(x: float | np.ndarray) -> np.ndarray:
    """A scalar or ``[W]`` parameter as an array broadcasting against ``[W, F]``."""
    a = np.asarray(x, dtype=np.float64)
    return a[:, None] if a.ndim == 1 else a


def update_log_growth(smoothed: np.ndarray, revenue_now: np.ndarray,
                      revenue_before: np.ndarray, smoothing: float = GROWTH_SMOOTHING,
                      revenue_floor_usd: float = REVENUE_FLOOR_USD) -> np.ndarray:
    """Exponentially smoothed monthly log growth of revenue (the caller's state).

    ``g' = (1 - a) g + a ln((rev_now + floor) / (rev_before + floor))``. Reset a row to 0 when a
    firm enters.

    Args:
        smoothed: ``[W, F]`` last month's smoothed log growth (per month).
        revenue_now: ``[W, F]`` revenue this month, USD/month (>= 0).
        revenue_before: ``[W, F]`` revenue last month, USD/month (>= 0).
        smoothing: EMA weight ``a`` in (0, 1].
        revenue_floor_usd: floor added to both revenues, USD/month (> 0).

    Returns:
        ``[W, F]`` smoothed log growth per month.
    """
    now = np.maximum(revenue_now, 0.0) + revenue_floor_usd
    before = np.maximum(revenue_before, 0.0) + revenue_floor_usd
    return (1.0 - smoothing) * smoothed + smoothing * np.log(now / before)


def growth_per_year(smoothed: np.ndarray) -> np.ndarray:
    """Annual log growth ``G = 12 g`` from the monthly smoothed log growth (``[W, F]``)."""
    return 12.0 * np.asarray(smoothed, dtype=np.float64)


def leadership(capability_gap: np.ndarray, window_points: float | np.ndarray = 15.0
               ) -> np.ndarray:
    """Capability lead in [0, 1]: ``clip(1 - gap / window, 0, 1)``.

    Args:
        capability_gap: ``[W, F]`` points behind the frontier the caller measures against
            (>= 0; e.g. the closed frontier, or the open frontier for open-weights labs).
        window_points: gap at which the lead reaches 0 (default 15: one year of frontier
            progress after 2024-04, CALIBRATION.md; assumption).

    Returns:
        ``[W, F]`` lead, 1 at the frontier.
    """
    return np.clip(1.0 - np.asarray(capability_gap) / _world(window_points), 0.0, 1.0)


def round_multiple(growth: np.ndarray, lead: np.ndarray, terms: VentureTerms) -> np.ndarray:
    """Run-rate multiple investors pay (module formula), ``[W, F]``; 0 when ``G <= G_min``."""
    excess = np.maximum(growth - _world(terms.min_growth), 0.0)
    scale = _world(terms.growth_reference) - _world(terms.min_growth)
    if not np.all(scale > 0):
        raise ValueError("growth_reference must exceed min_growth")
    factor = (excess / scale) ** _world(terms.growth_elasticity)
    multiple = _world(terms.base_multiple) * factor * (1.0 + _world(terms.leader_premium) * lead)
    return np.minimum(multiple, _world(terms.max_multiple))


@dataclass(frozen=True)
class FundingRound:
    """This month's rounds, ``[W, F]`` each."""

    amount: np.ndarray  #: USD raised (0 if none)
    multiple: np.ndarray  #: amount / run-rate (NaN without revenue or round)
    code: np.ndarray  #: :class:`RoundCode` values (int8)


def venture_round(cash: np.ndarray, burn: np.ndarray, revenue_month: np.ndarray,
                  growth: np.ndarray, lead: np.ndarray, funding_type: np.ndarray,
                  alive: np.ndarray, terms: VentureTerms,
                  months_since_round: np.ndarray | None = None) -> FundingRound:
    """Rounds raised this month by venture-funded firms.

    A firm raises when alive, venture-funded, ``cash < runway_months * burn`` or
    ``cash <= 0`` (so an empty or negative account always qualifies) and at least
    ``min_months_between_rounds`` since its last round; it gets
    ``min(max(multiple * 12 * revenue_month, leader_floor * lead), max_round_usd)``, which may
    be 0.

    Args:
        cash: ``[W, F]`` cash before this month's books, USD.
        burn: ``[W, F]`` net burn, USD/month (>= 0; :func:`monthly_burn` of last month).
        revenue_month: ``[W, F]`` revenue this month (or last), USD/month.
        growth: ``[W, F]`` annual log growth (:func:`growth_per_year`).
        lead: ``[W, F]`` capability lead in [0, 1] (:func:`leadership`).
        funding_type: ``[W, F]`` :data:`VENTURE` or :data:`PARENT` (or bool "parent-funded").
        alive: ``[W, F]`` bool.
        terms: investors' terms.
        months_since_round: ``[W, F]`` months since the last round (None: no spacing rule).

    Returns:
        The rounds (amount, effective multiple, reason code).
    """
    alive = np.asarray(alive, dtype=bool)
    run_rate = 12.0 * np.maximum(revenue_month, 0.0)
    offer = np.minimum(np.maximum(round_multiple(growth, lead, terms) * run_rate,
                                  _world(terms.leader_floor_usd) * lead),
                       _world(terms.max_round_usd))
    venture = np.asarray(funding_type).astype(np.int64) == VENTURE
    # no cash at all is a need even with nothing spent yet (an entrant's first month)
    needs = (cash < _world(terms.runway_months) * burn) | (cash <= 0.0)
    spaced = (np.ones(np.shape(cash), dtype=bool) if months_since_round is None
              else months_since_round >= _world(terms.min_months_between_rounds))
    code = np.select(
        [~alive, ~venture, ~needs, ~spaced, offer <= 0.0],
        [RoundCode.DEAD, RoundCode.NOT_VENTURE, RoundCode.NOT_NEEDED, RoundCode.TOO_SOON,
         RoundCode.NO_APPETITE], RoundCode.RAISED).astype(np.int8)
    amount = np.where(code == RoundCode.RAISED, offer, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        multiple = np.where((amount > 0) & (run_rate > 0), amount / run_rate, np.nan)
    return FundingRound(amount, multiple, code)


def _money(usd: float) -> str:
    return f"${usd / 1e9:.2f}B" if abs(usd) >= 1e9 else f"${usd / 1e6:.0f}M"


def round_reason(code: int, amount: float, run_rate: float, growth: float, lead: float,
                 terms: VentureTerms = VentureTerms()) -> str:
    """Reason string of one firm's ``funding_round`` event (scalars; called per event).

    Args:
        code: the firm's :class:`RoundCode`.
        amount: USD raised.
        run_rate: annualised revenue, USD/year.
        growth: annual log growth.
        lead: capability lead in [0, 1].
        terms: this world's terms (scalars; for the floor and minimum growth quoted).

    Returns:
        e.g. "raised $40.00B at 5.4x run-rate (growth +231 %/yr, leader)".
    """
    pct = 100.0 * float(np.expm1(growth))
    tag = f"lead {lead:.2f}" if 0.0 < lead < 1.0 else ("leader" if lead >= 1.0 else "no lead")
    if code == RoundCode.RAISED:
        if run_rate > 0 and amount > float(np.max(terms.leader_floor_usd)) * lead:
            return (f"raised {_money(amount)} at {amount / run_rate:.1f}x run-rate "
                    f"(growth {pct:+.0f} %/yr, {tag})")
        return f"raised {_money(amount)} on capability lead alone ({tag}, run-rate " \
               f"{_money(run_rate)})"
    if code == RoundCode.NO_APPETITE:
        floor = 100.0 * float(np.expm1(np.max(terms.min_growth)))
        return f"no round: growth {pct:+.0f} %/yr not above {floor:+.0f} %/yr and no lead"
    return {RoundCode.NOT_NEEDED: "no round needed: cash covers the runway",
            RoundCode.TOO_SOON: "no round: too soon after the last one",
            RoundCode.NOT_VENTURE: "parent-funded", RoundCode.DEAD: "not alive"}[RoundCode(code)]


def parent_transfer(users: np.ndarray, value_per_user: np.ndarray,
                    parent_capacity: np.ndarray, cash: np.ndarray, funding_type: np.ndarray,
                    alive: np.ndarray, terms: ParentTerms,
                    base_budget: np.ndarray | float = 0.0) -> np.ndarray:
    """Monthly transfer from the parent to a parent-funded firm, USD/month ``[W, F]``.

    ``min(base + payout_share * users * value_per_user + max(-cash, 0),
    capacity_share * parent_capacity)``: the parent pays for the indirect value of the lab's
    users (ads, data, distribution accrue to the parent, so the caller books no
    ``indirect_value`` for these firms), covers its deficit, and never more than a share of
    its own capacity. The lab's own profits stay in its books (and fund R&D by
    :func:`spending`).

    Args:
        users: ``[W, F]`` adopters of the firm's products.
        value_per_user: ``[W, F]`` indirect value per user, USD per user-month.
        parent_capacity: ``[W, F]`` parent's capacity (e.g. operating cash flow), USD/month.
        cash: ``[W, F]`` the firm's cash before this month's books, USD.
        funding_type: ``[W, F]`` :data:`VENTURE` / :data:`PARENT`.
        alive: ``[W, F]`` bool.
        terms: the budget rule.
        base_budget: committed budget, USD/month (scenario data; default 0).

    Returns:
        ``[W, F]`` transfer (0 for venture-funded or dead firms).
    """
    wanted = (base_budget + _world(terms.payout_share) * users * value_per_user
              + np.maximum(-cash, 0.0))
    capped = np.clip(wanted, 0.0, _world(terms.capacity_share) * parent_capacity)
    parent = np.asarray(funding_type).astype(np.int64) == PARENT
    return np.where(alive & parent, capped, 0.0)


def update_spending_plan(plan: np.ndarray, raised: np.ndarray, cash_after: np.ndarray,
                         drawdown_months: float | np.ndarray = 18.0) -> np.ndarray:
    """Monthly drawdown of a venture firm's war chest: reset after each round.

    A round's cash is spent over ``drawdown_months`` (assumption: 18), so that cash falls
    linearly and the runway test fires again about a year later.

    Args:
        plan: ``[W, F]`` drawdown so far, USD/month.
        raised: ``[W, F]`` round raised this month, USD.
        cash_after: ``[W, F]`` cash after this month's books, USD.
        drawdown_months: months over which a round is planned to be spent.

    Returns:
        ``[W, F]`` drawdown, USD/month.
    """
    return np.where(raised > 0, np.maximum(cash_after, 0.0) / _world(drawdown_months), plan)


@dataclass(frozen=True)
class Spending:
    """This month's discretionary spending, USD/month ``[W, F]`` each."""

    rd: np.ndarray  #: R&D (training compute, research staff): raises capability
    overhead: np.ndarray  #: everything else the budget pays for: sales, administration, staff


def spending(rd_share: np.ndarray, operating_profit: np.ndarray, cash: np.ndarray,
             monthly_funding: np.ndarray, drawdown: np.ndarray,
             round_raised: np.ndarray) -> Spending:
    """R&D and overhead spent this month, USD/month ``[W, F]``.

    ``budget = monthly_funding + drawdown + max(operating_profit, 0)``, paid only out of what
    the firm has: ``spent = min(budget, max(cash + round + monthly_funding + profit, 0))``;
    ``rd = rd_share * spent`` and ``overhead = (1 - rd_share) * spent``. The whole budget is
    spent: ``rd_share`` is the R&D share of a lab's spending, not a saving rate (until
    version 2.1 the other ``1 - rd_share`` was never booked, so a lab kept 30 % of every round
    and its runway test fired years late). Spending never takes cash below zero; cash goes
    negative only through operating losses (serving and compliance costs of demand already
    served: the firm "has no choice").

    Args:
        rd_share: ``[W, F]`` share in [0, 1].
        operating_profit: ``[W, F]`` revenue + indirect value - serving - compliance, USD.
        cash: ``[W, F]`` cash before this month's books, USD.
        monthly_funding: ``[W, F]`` parent transfer + subsidies received, USD.
        drawdown: ``[W, F]`` venture spending plan (:func:`update_spending_plan`), USD.
        round_raised: ``[W, F]`` venture round this month, USD (spent via the plan).

    Returns:
        R&D and overhead (both >= 0).
    """
    budget = monthly_funding + drawdown + np.maximum(operating_profit, 0.0)
    available = np.maximum(cash + round_raised + monthly_funding + operating_profit, 0.0)
    spent = np.minimum(np.maximum(budget, 0.0), available)
    share = np.clip(rd_share, 0.0, 1.0)
    return Spending(rd=share * spent, overhead=(1.0 - share) * spent)


def usd_to_cents(usd: np.ndarray | float) -> np.ndarray:
    """USD to int64 cents, rounded half to even; refuses NaN, inf and |x| > MAX_FLOW_USD."""
    a = np.asarray(usd, dtype=np.float64)
    if not np.all(np.abs(a) <= MAX_FLOW_USD):  # also refuses NaN
        raise ValueError(f"money must be finite and at most {MAX_FLOW_USD:.0e} USD in size")
    return np.rint(a * 100.0).astype(np.int64)


def cents_to_usd(cents: np.ndarray) -> np.ndarray:
    """int64 cents to float64 USD (for decisions; exact below 2**53 cents, $9e13)."""
    return np.asarray(cents, dtype=np.int64) / 100.0


def monthly_burn(ledger: Mapping[str, np.ndarray]) -> np.ndarray:
    """Net burn, USD/month: ``max(0, -(all flows but funding))`` from a ledger in cents."""
    net = sum(v for k, v in ledger.items() if k != "funding")
    return np.maximum(-cents_to_usd(net), 0.0)


def close_books(cash: np.ndarray, *, alive: np.ndarray, revenue: np.ndarray,
                indirect_value: np.ndarray, subsidy: np.ndarray, funding: np.ndarray,
                serving_cost: np.ndarray, compliance: np.ndarray, overhead: np.ndarray,
                rd: np.ndarray,
                other_flows_usd: Mapping[str, np.ndarray] | None = None,
                other_flows_cents: Mapping[str, np.ndarray] | None = None,
                ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Book the month's flows and return next month's cash, exactly.

    The eight flows of :data:`LEDGER_FLOWS` are given as non-negative amounts in USD/month
    (costs are booked negative) and are zero on dead rows; ``other_flows_*`` are signed and
    booked on every row (e.g. ``acquisition``: cash after :func:`entry.acquire` minus before,
    already in cents; ``entry``). Each flow is rounded to the cent once; then
    ``cash_next = cash + sum(ledger.values())`` in int64, exactly.

    Args:
        cash: ``[W, F]`` int64 cents.
        alive: ``[W, F]`` bool.
        revenue: ``[W, F]`` billed revenue over all regions, USD.
        indirect_value: ``[W, F]`` indirect value the firm itself captures, USD.
        subsidy: ``[W, F]`` subsidies received, USD.
        funding: ``[W, F]`` round raised + parent transfer, USD.
        serving_cost: ``[W, F]`` USD.
        compliance: ``[W, F]`` USD.
        overhead: ``[W, F]`` spending outside R&D (:func:`spending`), USD.
        rd: ``[W, F]`` R&D spend (:func:`spending`), USD.
        other_flows_usd: further signed flows in USD, rounded to the cent.
        other_flows_cents: further signed flows in int64 cents, booked as given.

    Returns:
        ``(cash_next, ledger)``: int64 cents ``[W, F]`` and the signed flows in cents by name.
    """
    if not np.issubdtype(np.asarray(cash).dtype, np.integer):
        raise TypeError("cash must be int64 cents (usd_to_cents)")
    signs = {"revenue": 1, "indirect_value": 1, "subsidy": 1, "funding": 1,
             "serving_cost": -1, "compliance": -1, "overhead": -1, "rd": -1}
    given = {"revenue": revenue, "indirect_value": indirect_value, "subsidy": subsidy,
             "funding": funding, "serving_cost": serving_cost, "compliance": compliance,
             "overhead": overhead, "rd": rd}
    ledger = {name: np.where(alive, signs[name] * usd_to_cents(given[name]), 0)
              for name in LEDGER_FLOWS}
    for name, flow in (other_flows_usd or {}).items():
        ledger[name] = ledger.get(name, 0) + usd_to_cents(flow)
    for name, flow in (other_flows_cents or {}).items():
        ledger[name] = ledger.get(name, 0) + np.asarray(flow, dtype=np.int64)
    cash_next = np.asarray(cash, dtype=np.int64) + sum(ledger.values())
    return cash_next, ledger
