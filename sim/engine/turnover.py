"""Exit, acquisition and entry (MODEL.md 6.3): who is in the market next month.

A firm whose cash stays negative ``exit_after`` months and cannot raise exits with its
lines; a distressed firm is absorbed first if a cash-rich firm values it above its price
(acquisitions conserve adopters and cash: ``sim.mechanisms.entry.acquire``). Potential
entrants arrive as a Poisson process (one uniform per world and month) and enter when the
value of a comparable incumbent's margin over the horizon exceeds the entry cost; starting
from the best open model lowers both the cost and the gap, which is how open weights check
market control.
"""

from __future__ import annotations

import numpy as np

from sim.engine.names import firm_name, product_name
from sim.engine.params import VENTURE, Params
from sim.engine.rules import Rules
from sim.engine.state import Event, State
from sim.mechanisms import entry as ent
from sim.mechanisms import funding as fund
from sim.streams import GLOBAL_REGION, KeyedStreams, Mechanism

__all__ = ["entry_terms", "exit_terms", "exits_and_acquisitions", "arrivals",
           "ENTRANT_MARGIN_SHARE"]

#: An entrant expects this share of the margin of the incumbent line closest to it in
#: capability and openness (assumption: a newcomer starts with the weakest brand and no
#: installed base; docs/mechanisms/supply-finance-entry.md).
ENTRANT_MARGIN_SHARE = 0.5


def entry_terms(params: Params) -> ent.EntryTerms:
    """Entry terms from ``[world]``."""
    d = ent.EntryTerms()
    return ent.EntryTerms(
        full_cost_usd=params.world_value("entry_cost", d.full_cost_usd),
        cost_growth_per_year=params.world_value("entry_cost_growth_per_year",
                                                d.cost_growth_per_year),
        open_cost_fraction=params.world_value("entrant_open_cost_fraction", d.open_cost_fraction),
        open_start_gap=params.world_value("entrant_open_gap", d.open_start_gap),
        scratch_gap=params.world_value("entrant_gap_no_open", d.scratch_gap),
        horizon_months=params.world_value("entry_horizon", d.horizon_months),
        annual_discount_rate=params.world_value("discount_rate", d.annual_discount_rate))


def exit_terms(params: Params) -> ent.ExitTerms:
    """Exit and acquisition terms from ``[world]``."""
    d = ent.ExitTerms()
    return ent.ExitTerms(
        exit_after_months=params.world_value("exit_after", d.exit_after_months),
        price_run_rate_multiple=params.world_value("acquisition_run_rate_multiple",
                                     d.price_run_rate_multiple))


def exits_and_acquisitions(params: Params, state: State, month: int, raised: np.ndarray,
                           burn: np.ndarray, value_to_acquirer: np.ndarray,
                           operating_profit: np.ndarray | None = None
                           ) -> dict[str, np.ndarray]:
    """Absorb distressed firms where someone will pay, then retire firms out of cash.

    ``raised`` is this month's funding from outside: venture rounds and parent transfers (a
    parent that pays its lab's bills is an investor on offer, so its lab is not distressed).

    ``operating_profit`` (``[W, F]`` USD this month) lets a firm at zero cash with nothing
    coming in count as out of money (``sim.mechanisms.entry.update_negative_months``).

    Returns:
        ``{"exits": [W], "acquisitions": [W]}`` counts this month.
    """
    terms = exit_terms(params)
    state.months_negative = ent.update_negative_months(state.months_negative,
                                                       fund.cents_to_usd(state.cash),
                                                       state.firm_alive, operating_profit)
    offered = raised > 0
    cash_usd = fund.cents_to_usd(state.cash)
    distressed = ent.distressed(cash_usd, burn, state.firm_alive, offered, terms)
    target = ent.pick_target(distressed, cash_usd)
    price = ent.acquisition_price(12.0 * state.revenue_last, terms)
    target_price = np.where(target >= 0, np.take_along_axis(
        price, np.maximum(target, 0)[:, None], axis=1)[:, 0], 0.0)
    acquirer = ent.pick_acquirer(target, cash_usd, state.firm_alive, value_to_acquirer,
                                 target_price)
    target = np.where(acquirer >= 0, target, -1)
    acquisitions = (target >= 0).astype(np.int64)
    for w in np.flatnonzero(target >= 0):  # at most one a world a month: events are rare
        state.events.append(Event(
            int(w), month, "World", firm_name(params, state, w, int(acquirer[w])), None,
            "acquisition", f"absorbed {firm_name(params, state, w, int(target[w]))}, which had "
            f"{cash_usd[w, target[w]] / 1e6:,.0f}M USD of cash and no round on offer, for "
            f"{target_price[w] / 1e6:,.0f}M USD"))
    owner, cash, alive = ent.acquire(state.owner, state.cash, state.firm_alive, target,
                                     acquirer, fund.usd_to_cents(target_price))
    state.owner, state.cash, state.firm_alive = owner, cash, alive
    exiting = ent.exits_due(state.months_negative, state.firm_alive, raised, terms)
    for w, f in zip(*np.nonzero(exiting), strict=True):
        state.events.append(Event(int(w), month, "World", firm_name(params, state, w, int(f)),
                                  None, "exit", f"cash negative for "
                                  f"{int(state.months_negative[w, f])} months and no investor "
                                  "or acquirer"))
    state.firm_alive, state.product_alive = ent.retire_firms(
        state.firm_alive, state.product_alive, state.owner, exiting)
    return {"exits": exiting.sum(axis=1), "acquisitions": acquisitions}


def arrivals(params: Params, state: State, month: int, streams: KeyedStreams,
             line_margin: np.ndarray, brand_floor: np.ndarray,
             rules: Rules | None = None) -> np.ndarray:
    """Potential entrants arrive; those whose value is positive enter. Returns ``[W]`` entries.

    Args:
        params: Parameters.
        state: State; an entrant fills a free firm row and a free product row.
        month: Step.
        streams: Random streams (one arrival uniform and three choice uniforms per world).
        line_margin: ``[W, K]`` last month's operating margin of each line, USD.
        brand_floor: ``[W, R, S]`` weakest alive brand constant of each cell (an entrant's).
        rules: This month's rules (None: every line usable). An entrant builds only on open
            weights someone in its home region can still use: a ban on open weights there
            takes away the cheaper, closer start (MODEL.md 6.3).
    """
    u = streams.uniforms(Mechanism.ENTRY, month, GLOBAL_REGION, 4)
    rate = params.world_value("entry_rate", 0.3)
    arriving = ent.arrival_count_from_uniform(u[:, 0], rate) > 0  # at most one entry a month
    if not arriving.any():
        return np.zeros(state.worlds, dtype=np.int64)
    terms = entry_terms(params)
    is_open = u[:, 1] < params.world_value("entrant_open_probability", 0.5)
    home = _entrant_home(state, u[:, 2])
    usable = state.product_alive & state.is_open
    if rules is not None:
        usable &= rules.available.any(axis=(2, 3))[np.arange(state.worlds), home]
    best_open = np.where(usable, state.capability, -np.inf).max(1)
    closed = np.where(state.product_alive & ~state.is_open, state.capability, -np.inf).max(1)
    q0, cost, from_open = ent.entrant_start(best_open, closed, terms, month)
    same = state.product_alive & (state.is_open == is_open[:, None])
    distance = np.where(same, np.abs(state.capability - q0[:, None]), np.inf)
    nearest = np.argmin(distance, axis=1)
    comparable = np.take_along_axis(line_margin, nearest[:, None], axis=1)[:, 0]
    comparable = np.where(np.isfinite(distance.min(axis=1)), comparable, 0.0)
    value = ent.entry_value(ENTRANT_MARGIN_SHARE * np.maximum(comparable, 0.0)[:, None],
                            cost[:, None], terms)[:, 0]  # one candidate a world
    free_firm = ~state.firm_alive & (state.firm_entrant < 0)
    free_firm[:, : params.structure.scenario_firms] = False  # a dead firm's row keeps its name
    free_line = state.free_product_rows(params.structure.scenario_products)
    enter = arriving & (value > 0) & free_firm.any(axis=1) & free_line.any(axis=1)
    for w in np.flatnonzero(enter):  # entries are rare (a few a year): a loop is clearer
        _enter(params, state, month, int(w), int(np.argmax(free_firm[w])),
               int(np.argmax(free_line[w])), bool(is_open[w]), float(q0[w]), float(cost[w]),
               bool(from_open[w]), int(home[w]), brand_floor[w], int(nearest[w]))
    return enter.astype(np.int64)


def _entrant_home(state: State, u_home: np.ndarray) -> np.ndarray:
    """``[W]`` an entrant's home region, drawn in proportion to the regions' potential adopters."""
    weights = state.potential.sum(axis=2)  # [W, R]
    total = weights.sum(axis=1, keepdims=True)
    weights = np.divide(weights, total, out=np.full(weights.shape, 1.0 / weights.shape[1]),
                        where=total > 0)
    cumulative = np.cumsum(weights, axis=1)
    home = (cumulative <= u_home[:, None]).sum(axis=1)  # searchsorted(side="right") per world
    return np.minimum(home, weights.shape[1] - 1)


def _enter(params: Params, state: State, month: int, w: int, f: int, k: int, is_open: bool,
           capability: float, cost: float, from_open: bool, home: int,
           brand_floor: np.ndarray, comparable: int) -> None:
    state.entrants[w] += 1
    state.firm_entrant[w, f] = state.entrants[w]
    state.firm_alive[w, f] = True
    state.home[w, f] = home
    state.funding[w, f] = VENTURE
    state.cash[w, f] = 0  # the entry cost is raised and spent at once (a wash in the ledger)
    state.rd_share[w, f] = 0.7  # assumption: the median of the scenario's venture labs
    state.log_growth[w, f] = 0.0
    state.spending_plan[w, f] = 0.0
    state.indirect_value[w, f] = 0.0  # a slot may be a dead firm's: nothing of it carries over
    state.parent_budget[w, f] = 0.0
    state.lab_budget[w, f] = 0.0
    state.months_negative[w, f] = 0
    # the entry cost was a seed of its own: the entrant may raise its first round next month
    # (with 0 it waited min_months_between_rounds with no cash and was absorbed at once)
    state.months_since_round[w, f] = 12
    state.revenue_last[w, f] = 0.0
    state.product_entrant[w, k] = state.entrants[w]
    state.product_origin[w, k] = -1
    state.product_alive[w, k] = True
    state.owner[w, k] = f
    state.is_open[w, k] = is_open
    state.capability[w, k] = capability
    state.size[w, k] = 1.0  # assumption: a mid-sized model
    state.licence[w, k] = 0.0
    state.hosted_fraction[w, k] = 0.3 if is_open else 1.0  # assumption (open: mean of scenario)
    state.self_hosted_fraction[w, k] = 0.4 if is_open else 0.0
    state.subscription_price[w, k] = 0.0 if is_open else 20.0  # assumption: the common plan
    state.launch[w, k] = month
    state.served[w, :, k] = True
    state.withdrawn_at[w, :, k] = -1
    state.brand[w, :, :, k] = brand_floor
    # until its first pricing round the entrant charges what the comparable line charges
    state.markup[w, :, k] = state.markup[w, :, comparable]
    state.price[w, :, k] = state.price[w, :, comparable]
    state.effort[w, k] = 0.0
    state.ecosystem[w, k] = 0.0
    start = "the best open model" if from_open else "scratch"
    state.events.append(Event(
        w, month, params.structure.regions[home], firm_name(params, state, w, f),
        product_name(params, state, w, k), "entry",
        f"entered from {start} at {capability:.1f} points ({'open' if is_open else 'closed'} "
        f"weights), cost {cost / 1e6:,.0f}M USD, expecting a comparable line's margin"))
