"""Releasing an older generation's weights (MODEL.md 6.5): a closed-only firm adds an open line.

When a closed line's next generation arrives and its firm sells no open line, an adaptive firm
also asks whether to release the weights of the line's previous generation as an open line of
its own: gpt-oss (2025-08) beside a closed GPT-5. The release is valued like a generation
(``sim.engine.valuation``): the firm's whole expected profit a month with the extra line
against without it (cannibalisation of the closed line included), over the generation's life,
less the switching cost, and chosen with the same logit on the released line's own stake.

The released line (assumptions, docs/mechanisms/openness.md 5):
- capability: the closed line's, less ``release_gap`` points (an older, smaller generation);
- the parent line's size, regions and, for token buyers, brand (the weights carry the firm's
  name); as an assistant it is nobody's product (the cell's weakest brand, the parent's plan
  price), since consumers do not download weights;
- served like any open line: its owner's API serves ``OPEN_HOSTED_FRACTION`` of its tokens.
It fills a free product slot and is named ``<line>-weights@<YYYY-MM>`` (``@`` is outside the
scenario name alphabet, so it never collides).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from sim.engine import market
from sim.engine.names import product_name
from sim.engine.params import Params
from sim.engine.rules import Rules
from sim.engine.state import State
from sim.engine.valuation import (
    OPEN_HOSTED_FRACTION,
    OPEN_SELF_HOSTED_FRACTION,
    ExpectedProfit,
    adopt,
    expected_firm_profit,
    line_event,
)
from sim.mechanisms import openness as opn

__all__ = ["RELEASE_GAP", "ReleaseVerdict", "free_slots", "with_release", "judge_release",
           "apply_release"]

#: Points a released older generation trails the line (assumption: half a generation, six
#: months at the frontier's ~15 points a year; gpt-oss-120b, 2025-08, was reported near
#: o4-mini, 2025-04 [press], a few months behind the closed flagship).
RELEASE_GAP = 7.5

_PRODUCT_ARRAYS = ("product_alive", "is_open", "owner", "capability", "size", "licence",
                   "hosted_fraction", "self_hosted_fraction", "subscription_price", "launch",
                   "product_origin", "served", "withdrawn_at", "markup", "price", "effort",
                   "ecosystem", "brand")


@dataclass(frozen=True)
class ReleaseVerdict:
    """The rule's valuation of releasing line ``line[w]``'s older weights (``[W]`` arrays).

    Attributes:
        line: Closed line judged (-1: none).
        slot: Product row the release would fill (-1: none free).
        profit_with: The firm's expected profit a month with the released line, USD.
        profit_without: The same without it.
        stake: The released line's own profit a month.
        p_release: Probability the rule releases.
    """

    line: np.ndarray
    slot: np.ndarray
    profit_with: np.ndarray
    profit_without: np.ndarray
    stake: np.ndarray
    p_release: np.ndarray


def free_slots(params: Params, state: State) -> np.ndarray:
    """``[W]`` the first free product row of each world (-1: none)."""
    free = state.free_product_rows(params.structure.scenario_products)
    return np.where(free.any(axis=1), np.argmax(free, axis=1), -1)


def with_release(params: Params, state: State, line: np.ndarray, slot: np.ndarray,
                 month: int) -> State:
    """A copy of ``state`` where slot ``slot[w]`` holds line ``line[w]``'s released weights.

    Worlds with ``line`` or ``slot`` -1 are unchanged. Only product arrays are copied.
    """
    out = {name: getattr(state, name).copy() for name in _PRODUCT_ARRAYS}
    rows = np.flatnonzero((line >= 0) & (slot >= 0))
    if rows.size == 0:
        return replace(state, **out)
    k, j = line[rows], slot[rows]
    gap = params.world_value("release_gap", RELEASE_GAP)[rows]
    for name in ("owner", "size", "licence", "subscription_price"):
        out[name][rows, j] = getattr(state, name)[rows, k]
    out["product_alive"][rows, j] = True
    out["is_open"][rows, j] = True
    out["capability"][rows, j] = state.capability[rows, k] - gap
    out["hosted_fraction"][rows, j] = OPEN_HOSTED_FRACTION
    out["self_hosted_fraction"][rows, j] = OPEN_SELF_HOSTED_FRACTION
    out["launch"][rows, j] = month
    out["product_origin"][rows, j] = k
    out["served"][rows, :, j] = state.served[rows, :, k]
    out["withdrawn_at"][rows, :, j] = -1
    out["effort"][rows, j] = 0.0
    out["ecosystem"][rows, j] = 0.0
    token = params.structure.token_billed
    alive = np.where(state.product_alive[rows][:, None, None, :], state.brand[rows], np.inf)
    weakest = np.where(np.isfinite(alive.min(axis=-1)), alive.min(axis=-1), 0.0)  # [n, R, S]
    out["brand"][rows, :, :, j] = np.where(token[None, None, :], state.brand[rows, :, :, k],
                                           weakest)
    out["markup"][rows, :, j] = (1.0 + params.world["third_party_margin"][rows])[:, None]
    hypothetical = replace(state, **out)
    cost = market.serving_costs(params, hypothetical, month)
    out["price"][rows, :, j] = out["markup"][rows, :, j] * cost[rows, j][:, None]
    return replace(state, **out)


def judge_release(params: Params, state: State, rules: Rules, month: int, cost: np.ndarray,
                  line: np.ndarray, terms: opn.OpennessTerms,
                  without: ExpectedProfit | None = None) -> ReleaseVerdict:
    """Value releasing the older weights of closed line ``line[w]`` in every world.

    A world is judged only where the line is alive and closed, its firm sells no open line
    and a product slot is free; elsewhere ``p_release`` is 0. ``without`` is the expected
    profit of ``state`` itself when the caller has it (it is computed otherwise).
    """
    w = state.worlds
    rows, k = np.arange(w), np.maximum(line, 0)
    firm = state.owner[rows, k]
    has_open = (state.product_alive & state.is_open & (state.owner == firm[:, None])).any(axis=1)
    slot = free_slots(params, state)
    eligible = ((line >= 0) & state.product_alive[rows, k] & ~state.is_open[rows, k]
                & ~has_open & (slot >= 0))
    slot = np.where(eligible, slot, -1)
    if without is None:
        without = expected_firm_profit(params, state, rules, month, cost)
    released = with_release(params, state, np.where(eligible, line, -1), slot, month)
    with_cost = market.serving_costs(params, released, month)
    with_line = expected_firm_profit(params, released, rules, month, with_cost)
    profit_with, profit_without = with_line.firm[rows, firm], without.firm[rows, firm]
    stake = np.where(eligible, with_line.line[rows, np.maximum(slot, 0)], 0.0)
    value = opn.generation_value(profit_with - profit_without, terms.generation_months,
                                 np.ones(w, dtype=bool), terms.switch_cost_usd)
    p = opn.open_probability(value, np.zeros(w), terms.noise,
                             scale_of=np.abs(stake) * terms.generation_months,
                             floor=terms.switch_cost_usd)
    return ReleaseVerdict(np.where(eligible, line, -1), slot, profit_with, profit_without,
                          stake, np.where(eligible, p, 0.0))


def apply_release(params: Params, state: State, month: int, verdict: ReleaseVerdict,
                  go: np.ndarray, terms: opn.OpennessTerms) -> None:
    """Release where ``go[w]`` (and the verdict found a slot); one ``launch`` event each."""
    line = np.where(go & (verdict.slot >= 0), verdict.line, -1)
    adopt(state, with_release(params, state, line, verdict.slot, month), _PRODUCT_ARRAYS)
    months = np.broadcast_to(terms.generation_months, (state.worlds,))
    for w in np.flatnonzero(line >= 0):  # releases are rare events
        j, k = int(verdict.slot[w]), int(line[w])
        detail = (f"released the weights of {product_name(params, state, w, k)}'s previous "
                  f"generation: expected profit {verdict.profit_with[w] / 1e6:,.1f}M USD a month "
                  f"with them against {verdict.profit_without[w] / 1e6:,.1f}M without (the "
                  f"release itself {verdict.stake[w] / 1e6:,.1f}M) over {months[w]:g} months, "
                  f"P(release) = {verdict.p_release[w]:.2f}")
        state.events.append(line_event(params, state, w, month, j, "launch", detail))
