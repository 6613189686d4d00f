"""Step 0 from data: counts from the scenario's shares, prices, brand constants by inversion.

The counts reproduce each cell's awareness, adoption and product shares (to whole adopters);
in token-billed segments the data's shares are shares of tokens, so adopter shares are
solved from them at the step-0 prices (:func:`adopter_shares`). Prices start at the multi-
product Nash equilibrium and the brand constants are set so that the data's shares are the
**long-run** shares of the choice chain at those prices (a Berry-style inversion against the
stationary distribution, as version 1 did), so month 1 starts from a steady state of the
choice dynamics rather than a jump. Prices and brands are solved together by a fixed point:
brands at given prices, prices at given brands, until the brands stop moving.

Ecosystems start at the steady state of their step-0 contributor effort (assumption:
end-2023 ecosystems had grown for a year or more at about that effort).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.engine import choice, community, market
from sim.engine.params import Params, select_worlds
from sim.engine.rules import new_trigger_memory, publish_rules
from sim.engine.state import State
from sim.mechanisms import capability as cap
from sim.mechanisms import ecosystem as eco
from sim.mechanisms.concentration import firm_totals
from sim.mechanisms.funding import VENTURE, usd_to_cents
from sim.streams import KeyedStreams

__all__ = ["initial_state", "firm_shares", "adopter_shares", "BRAND_TOLERANCE"]

#: Largest change of a brand constant at which the price-brand fixed point stops (utils).
BRAND_TOLERANCE = 1e-9
_MAX_ROUNDS = 60
_MAX_COUNT_ROUNDS = 12


def _blank_state(params: Params) -> State:
    st, p = params.structure, params
    w = p.worlds
    r, s, g = st.n_regions, st.n_segments, st.n_groups
    k, f, c = st.product_capacity, st.firm_capacity, st.contributor_region.shape[0]
    prod, firm = p.product, p.firm
    t = st.months + 1
    firm_alive = np.zeros((w, f), dtype=bool)
    firm_alive[:, : st.scenario_firms] = True
    launch = prod["launch"].astype(np.int64)
    return State(
        month=0, potential=p.region["adopters"].astype(float).copy(),
        unaware=np.zeros((w, r, s, g)), counts=np.zeros((w, r, s, g, k + 1)),
        brand=np.zeros((w, r, s, k)), outside_level=np.zeros((w, r, s)),
        firm_share=np.zeros((w, r, s, f)),
        product_alive=launch == 0, is_open=prod["is_open"].astype(bool).copy(),
        owner=prod["owner"].astype(np.int64).copy(),
        capability=prod["capability"].astype(float).copy(), size=prod["size"].astype(float),
        licence=prod["licence"].astype(float).copy(),
        hosted_fraction=prod["hosted_fraction"].astype(float).copy(),
        self_hosted_fraction=prod["self_hosted_fraction"].astype(float).copy(),
        subscription_price=prod["subscription_price"].astype(float).copy(), launch=launch,
        product_entrant=np.full((w, k), -1, dtype=np.int64),
        product_origin=np.full((w, k), -1, dtype=np.int64),
        served=prod["served"].astype(bool).copy(),
        withdrawn_at=np.full((w, r, k), -1, dtype=np.int64),
        markup=np.full((w, r, k), np.nan), price=np.full((w, r, k), np.nan),
        effort=np.zeros((w, k)), ecosystem=np.zeros((w, k)), firm_alive=firm_alive,
        home=firm["home"].astype(np.int64).copy(), funding=firm["funding"].astype(np.int64),
        cash=usd_to_cents(np.where(firm_alive, firm["cash"], 0.0)),
        rd_share=firm["rd_share"].astype(float).copy(),
        adaptive=firm["adaptive"].astype(bool).copy(),
        indirect_value=firm["indirect_value"].astype(float).copy(),
        parent_budget=firm["parent_budget"].astype(float).copy(),
        lab_budget=firm["lab_budget"].astype(float).copy(),
        log_growth=np.zeros((w, f)), spending_plan=_opening_plan(params, firm_alive),
        months_negative=np.zeros((w, f), dtype=np.int64),
        months_since_round=np.full((w, f), 12, dtype=np.int64), revenue_last=np.zeros((w, f)),
        firm_entrant=np.full((w, f), -1, dtype=np.int64),
        family=np.full((w, c), -1, dtype=np.int64), closed_frontier=np.full((w, t), np.nan),
        open_frontier=np.full((w, t), np.nan), entrants=np.zeros(w, dtype=np.int64))


def _opening_plan(params: Params, firm_alive: np.ndarray) -> np.ndarray:
    """Venture firms spend their step-0 cash as if just raised: over ``drawdown_months``.

    Without this a venture lab would spend nothing of its opening war chest until its
    next round (OpenAI started 2024 with billions raised in 2023).
    """
    venture = params.firm["funding"].astype(np.int64) == VENTURE
    months = params.world_value("drawdown_months", 18.0)[:, None]
    return np.where(firm_alive & venture, params.firm["cash"] / months, 0.0)


def _no_metric(name: str, region: int, segment: int | None) -> np.ndarray:
    raise RuntimeError("no metric is recorded before step 0")  # triggers watch from step 1


def initial_state(params: Params, streams: KeyedStreams, engine: str) -> State:
    """The state at step 0 of every world.

    Args:
        params: Compiled parameters.
        streams: Random streams (contributors' first choice).
        engine: ``"exact"`` or ``"expected"`` (counts are whole numbers either way at step 0).
    """
    if params.worlds > 1 and params.identical_worlds():
        # replications of one scenario: the deterministic start is solved once and tiled
        # (at W = 256 it took as long as 30 months of stepping)
        state = _market_start(select_worlds(params, np.zeros(1, dtype=np.int64)))
        state = state.repeated(params.worlds)
    else:
        state = _market_start(params)
    rules = publish_rules(params, state, 0, new_trigger_memory(params), _no_metric)
    _contributors(params, state, rules, streams)
    cost = market.serving_costs(params, state, 0)
    flows = market.market_flows(params, state, 0, cost)
    state.revenue_last = firm_totals(flows.revenue.sum(axis=(1, 2)), state.owner,
                                     state.firm_alive.shape[1])
    del engine  # both engines start from the same whole-number counts
    return state


def _market_start(params: Params) -> State:
    """Step 0 without its random part: lines, frontiers, counts, prices and brands."""
    state = _blank_state(params)
    closed_q, open_q = cap.frontiers(state.capability, state.is_open, state.product_alive)
    state.closed_frontier[:, 0] = closed_q
    state.open_frontier[:, 0] = open_q
    rules = publish_rules(params, state, 0, new_trigger_memory(params), _no_metric)
    _counts_prices_and_brands(params, state, rules.available)
    return state


def firm_shares(state: State) -> np.ndarray:
    """``[W, R, S, F]`` each firm's share of its cell's users (0 in an empty cell)."""
    by_firm = firm_totals(state.users(), state.owner, state.firm_alive.shape[1])
    total = by_firm.sum(axis=-1, keepdims=True)
    return np.divide(by_firm, total, out=np.zeros_like(by_firm), where=total > 0)


def adopter_shares(params: Params, data_shares: np.ndarray,
                   per_adopter_usage: np.ndarray) -> np.ndarray:
    """``[W, R, S, K]`` adopter shares whose **token** shares are the data's.

    The step-0 shares of token-billed segments are shares of usage: Menlo reports shares
    of enterprise LLM *usage* (CALIBRATION.md, fit window) and OpenRouter routes tokens;
    the state counts adopters, each using ``tau_k`` tokens at the step-0 prices, so adopters
    of line ``k`` are in proportion to ``share_k / tau_k``. Subscription segments' shares
    are user shares already. (Decision, docs/calibration.md: reading Menlo's shares as
    spend shares instead would make open weights ~70 % of enterprise tokens at step 0,
    against Menlo's own ~20 % of usage.)

    Args:
        params: Parameters (segments' billing).
        data_shares: ``[W, R, S, K]`` the scenario's shares.
        per_adopter_usage: ``[W, R, S, K]`` M tokens a month per adopter at step 0 (> 0).
    """
    token = params.structure.token_billed[None, None, :, None]
    weighted = np.where(token, data_shares / per_adopter_usage, data_shares)
    total = weighted.sum(axis=-1, keepdims=True)
    return np.divide(weighted, total, out=np.zeros_like(weighted), where=total > 0)


def _counts_prices_and_brands(params: Params, state: State, available: np.ndarray) -> None:
    """Counts, prices and brands of step 0, solved together.

    Prices depend on shares (Nash), adopter shares of token segments on prices
    (:func:`adopter_shares`), so the counts are rebuilt from the data at each round's
    prices until they stop changing; rounding to whole adopters ends it within a few rounds.
    """
    st = params.structure
    shares = params.region["shares"]
    previous = None
    active = np.ones(params.worlds, dtype=bool)
    for _ in range(_MAX_COUNT_ROUNDS):
        kept = _saved(state, _COUNT_FIELDS)
        state.unaware, state.counts = choice.initial_counts(
            state.potential, params.region["aware"], params.region["adoption"],
            shares, st.group_fractions, available)
        state.firm_share = firm_shares(state)
        _prices_and_brands(params, state, available, active)
        _restore(state, kept, ~active)
        if previous is not None:
            active &= _per_world(state.counts != previous, np.any) > 0  # still changing
            if not active.any():
                break
        previous = state.counts.copy()
        shares = adopter_shares(params, params.region["shares"],
                                market.usage_per_adopter(params, 0, state.price))


def _prices_and_brands(params: Params, state: State, available: np.ndarray,
                       active: np.ndarray | None = None) -> None:
    """Solve step-0 prices and brand constants together (see the module docstring).

    Convergence is judged per world, and a world that has converged (or that ``active``
    leaves out) keeps its prices and brands exactly: no world's answer depends on how long
    another takes, so a batch of different parameter draws equals its worlds run alone.
    """
    active = np.ones(params.worlds, dtype=bool) if active is None else active.copy()
    aware = state.counts.sum(axis=(3, 4))
    target = np.divide(state.counts.sum(axis=3), aware[..., None],
                       out=np.zeros(state.counts.shape[:3] + state.counts.shape[4:]),
                       where=aware[..., None] > 0)
    empty = aware <= 0
    target[..., 0] = np.where(empty, 1.0, target[..., 0])  # an empty cell: all outside
    legal = available[:, :, :, -1, :].any(axis=2)  # the most restricted group, any segment
    switching = np.broadcast_to(params.segment["switching_cost"][:, None, :], aware.shape)
    cost = market.serving_costs(params, state, 0)
    for _ in range(_MAX_ROUNDS):
        if not active.any():
            break
        kept = _saved(state, _PRICE_FIELDS)
        nonprice, outside = choice.utilities(params, state, 0, np.ones(state.brand.shape))
        market.price_lines(params, state, 0, cost, nonprice, outside, available.any(axis=(2, 3)),
                           adjust=False)
        utility, outside = choice.utilities(params, state, 0, market.effective_prices(
            params, state))
        brand = choice.invert_brands(target, utility - state.brand, outside, switching, legal)
        change = _per_world(np.abs(brand - state.brand), np.max)
        state.brand = brand
        _restore(state, kept, ~active)
        active &= ~(change < BRAND_TOLERANCE)


#: What a step-0 round writes: restored in worlds that have converged already.
_PRICE_FIELDS = ("markup", "price", "brand")
_COUNT_FIELDS = ("unaware", "counts", "firm_share", *_PRICE_FIELDS)


def _saved(state: State, fields: tuple[str, ...]) -> dict[str, np.ndarray]:
    return {name: np.array(getattr(state, name), copy=True) for name in fields}


def _restore(state: State, saved: dict[str, np.ndarray], frozen: np.ndarray) -> None:
    """Put back ``saved`` values in the ``frozen`` worlds (the world axis is first)."""
    if not frozen.any():
        return
    for name, before in saved.items():
        now = getattr(state, name)
        if now.shape != before.shape:  # a field that did not exist yet: nothing to keep
            continue
        now[frozen] = before[frozen]


def _per_world(x: np.ndarray, reduce: Any) -> np.ndarray:
    """``reduce`` over every axis but the first (0 for a world with no or only NaN entries)."""
    flat = x.reshape(x.shape[0], -1).astype(float)
    if flat.shape[1] == 0:
        return np.zeros(x.shape[0])
    flat = np.where(np.isnan(flat), -np.inf, flat)  # NaN (a dead line) never counts
    return np.maximum(np.asarray(reduce(flat, axis=1), dtype=float), 0.0)


def _contributors(params: Params, state: State, rules, streams: KeyedStreams) -> None:
    """Communities choose once at step 0 (everyone), ecosystems at their steady state."""
    community.calibrate_outside(params, state, rules.contributor_allowed)
    everyone = np.ones(params.worlds)
    community.contributors_choose(params, state, rules, 0, streams, reconsider_rate=everyone)
    c = params.contributors
    state.ecosystem = eco.steady_state_ecosystem_size(state.effort, c["derivative_rate"][:, None],
                                                      c["derivative_decay"])
