"""Openness of each new generation (MODEL.md 6.5): adaptive firms choose with the demand model.

Launches dated up to :data:`HISTORY_END` are data. From the month after, every alive line of
an alive ``adaptive`` firm gets its next generation with monthly probability
``1 - exp(-1 / review_months)`` (``sim.mechanisms.openness``), and the firm chooses whether
that generation's weights are open. Each option is valued as the firm's **whole** expected
operating profit a month (:func:`expected_firm_profit`) with the line so and every other line
as it is:

- demand is the long-run logit share of the cell's aware adopters (what the adopters would
  choose if all reconsidered: the brand constants inverted at step 0 make today's shares the
  logit shares, so the long run is the same model without the switching friction);
- closed: the line is priced like the closed line nearest it in capability, keeps all its
  usage, and loses its ecosystem (the derivatives were of open weights);
- open: hosts price it at cost x (1 + margin); the owner serves :data:`OPEN_HOSTED_FRACTION`
  of its token usage; developers' taste for open weights and the line's ecosystem enter
  utility;
- the firm's other lines are in the sum (cannibalisation), compliance is what this month's
  rules would charge the line so (a ban on open weights makes the open option unavailable
  where it binds), and a parent-funded firm adds its parent's indirect value per user.

The rule sees today's state only (myopic: it does not foresee contributors' future effort
or rivals' answers); docs/mechanisms/openness.md says what that leaves out.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from sim.engine import market, releases
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
    openness_terms,
)
from sim.mechanisms import openness as opn
from sim.scenario.months import step_of
from sim.streams import GLOBAL_REGION, KeyedStreams, Mechanism

__all__ = ["HISTORY_END", "Verdict", "with_openness", "judge", "decide_openness"]

#: Last month whose launches are data (MODEL.md 2: the fit window ends 2025-06).
HISTORY_END = "2025-06"
#: The arrays an openness change touches.
_OPENNESS_ARRAYS = ("is_open", "hosted_fraction", "self_hosted_fraction", "markup", "price",
                    "ecosystem")


@dataclass(frozen=True)
class Verdict:
    """The rule's valuation of one line's next generation in each world (``[W]`` arrays).

    Attributes:
        line: Line row judged (-1: none in that world).
        profit_open: The owner's expected operating profit a month with the line open, USD.
        profit_closed: The same with the line closed.
        indirect_open: Of ``profit_open``, the parent's indirect value.
        indirect_closed: Of ``profit_closed``, the parent's indirect value.
        value_open: Value of an open generation (profit over its life, less switching).
        value_closed: Value of a closed generation.
        p_open: Probability the rule chooses open.
        expected_closed: The whole expected profit of the state with the line closed (a
            release decision starts from it when nothing changed).
    """

    line: np.ndarray
    profit_open: np.ndarray
    profit_closed: np.ndarray
    indirect_open: np.ndarray
    indirect_closed: np.ndarray
    value_open: np.ndarray
    value_closed: np.ndarray
    p_open: np.ndarray
    expected_closed: ExpectedProfit


def _comparable_markup(state: State, rows: np.ndarray, line: np.ndarray) -> np.ndarray:
    """``[n, R]`` markup of the alive closed line nearest ``line`` in capability (2 if none)."""
    closed = state.product_alive[rows] & ~state.is_open[rows]
    closed[np.arange(rows.size), line] = False
    distance = np.where(closed, np.abs(state.capability[rows] - state.capability[rows, line][
        :, None]), np.inf)
    nearest = np.argmin(distance, axis=1)
    markup = state.markup[rows, :, nearest]  # [n, R]
    found = np.isfinite(distance.min(axis=1))[:, None] & np.isfinite(markup) & (markup > 1.0)
    return np.where(found, markup, 2.0)  # assumption: 2x cost when no closed line is alive


def with_openness(params: Params, state: State, line: np.ndarray, is_open: np.ndarray,
                  cost: np.ndarray) -> State:
    """A copy of ``state`` with line ``line[w]`` of world ``w`` open or closed (-1: as it is).

    Only the arrays an openness change touches are copied; the rest are shared.
    """
    rows = np.flatnonzero(line >= 0)
    k = line[rows]
    new_open = np.asarray(is_open, dtype=bool)[rows]
    changing = new_open != state.is_open[rows, k]
    rows, k, new_open = rows[changing], k[changing], new_open[changing]
    out = {name: getattr(state, name).copy() for name in _OPENNESS_ARRAYS}
    if rows.size == 0:
        return replace(state, **out)
    opening, closing = rows[new_open], rows[~new_open]
    k_open, k_close = k[new_open], k[~new_open]
    out["is_open"][rows, k] = new_open
    out["hosted_fraction"][opening, k_open] = OPEN_HOSTED_FRACTION
    out["self_hosted_fraction"][opening, k_open] = OPEN_SELF_HOSTED_FRACTION
    out["markup"][opening, :, k_open] = (1.0 + params.world["third_party_margin"][opening])[
        :, None]
    out["hosted_fraction"][closing, k_close] = 1.0
    out["self_hosted_fraction"][closing, k_close] = 0.0
    out["ecosystem"][closing, k_close] = 0.0  # derivatives were built on the open weights
    if closing.size:
        out["markup"][closing, :, k_close] = _comparable_markup(state, closing, k_close)
    out["price"][rows, :, k] = out["markup"][rows, :, k] * cost[rows, k][:, None]
    return replace(state, **out)


def judge(params: Params, state: State, rules: Rules, month: int, cost: np.ndarray,
          line: np.ndarray, terms: opn.OpennessTerms | None = None) -> Verdict:
    """Value line ``line[w]``'s next generation open and closed in every world.

    Args:
        params: Parameters.
        state: The state the firm decides in.
        rules: This month's rules.
        month: Step.
        cost: ``[W, K]`` serving cost this month.
        line: ``[W]`` line row to judge (-1: none; its verdict keeps the line as it is).
        terms: Decision terms (default: from ``params``).
    """
    terms = openness_terms(params) if terms is None else terms
    w = state.worlds
    rows, k = np.arange(w), np.maximum(line, 0)
    now_open = state.is_open[rows, k]
    firm = state.owner[rows, k]
    profit, indirect, stake, expected = {}, {}, {}, {}
    for option in (True, False):
        hypothetical = with_openness(params, state, line, np.full(w, option), cost)
        expected[option] = expected_firm_profit(params, hypothetical, rules, month, cost)
        profit[option] = expected[option].firm[rows, firm]
        indirect[option] = expected[option].indirect[rows, firm]
        stake[option] = expected[option].line[rows, k]
    v_open = opn.generation_value(profit[True], terms.generation_months, ~now_open,
                                  terms.switch_cost_usd)
    v_closed = opn.generation_value(profit[False], terms.generation_months, now_open,
                                    terms.switch_cost_usd)
    # the scale is the line's own stake, not the firm's: Google's Gemma decision is not
    # a coin flip because Gemini earns billions
    at_stake = np.maximum(np.abs(stake[True]), np.abs(stake[False])) * terms.generation_months
    p_open = opn.open_probability(v_open, v_closed, terms.noise,
                                  scale_of=at_stake, floor=terms.switch_cost_usd)
    p_open = np.where(line >= 0, p_open, now_open.astype(float))
    return Verdict(line, profit[True], profit[False], indirect[True], indirect[False],
                   v_open, v_closed, p_open, expected[False])


def decide_openness(params: Params, state: State, rules: Rules, month: int,
                    streams: KeyedStreams) -> bool:
    """This month's generations and their openness; returns whether any line changed.

    Three uniforms per line and month (arrival, choice, release) from the ``OPENNESS``
    stream, so a world's decisions do not depend on its batch. A line that stays closed may
    also release its previous generation's weights (``sim.engine.releases``). Lines due in
    the same world are decided one after another, each seeing the changes before it.
    """
    if month <= step_of(HISTORY_END, params.structure.start):
        return False
    w, n_k = state.product_alive.shape
    rows = np.arange(w)[:, None]
    owner = np.maximum(state.owner, 0)
    deciding = (state.product_alive & state.firm_alive[rows, owner]
                & state.adaptive[rows, owner])
    if not deciding.any():
        return False
    terms = openness_terms(params)
    u = streams.uniforms(Mechanism.OPENNESS, month, GLOBAL_REGION, 3 * n_k)
    due = deciding & (u[:, :n_k] < opn.generation_probability(terms.generation_months)[:, None])
    cost = market.serving_costs(params, state, month)
    changed = False
    while due.any():
        line = np.where(due.any(axis=1), np.argmax(due, axis=1), -1)
        verdict = judge(params, state, rules, month, cost, line, terms)
        k = np.maximum(line, 0)
        choice_open = opn.choose_open(u[np.arange(w), n_k + k], verdict.p_open)
        flip = (line >= 0) & (choice_open != state.is_open[np.arange(w), k])
        if flip.any():
            _apply(params, state, month, np.where(flip, line, -1), choice_open, cost, verdict,
                   terms)
            changed = True
        # a closed generation may come with its predecessor's weights (gpt-oss)
        closed = (line >= 0) & ~state.is_open[np.arange(w), k]
        if closed.any():
            # with nothing flipped, the state is the verdict's closed option: reuse its profit
            offer = releases.judge_release(params, state, rules, month, cost,
                                           np.where(closed, line, -1), terms,
                                           None if flip.any() else verdict.expected_closed)
            go = (offer.slot >= 0) & (u[np.arange(w), 2 * n_k + k] < offer.p_release)
            if go.any():
                releases.apply_release(params, state, month, offer, go, terms)
                cost = market.serving_costs(params, state, month)
                changed = True
        due[np.flatnonzero(line >= 0), line[line >= 0]] = False
    return changed


def _apply(params: Params, state: State, month: int, line: np.ndarray, is_open: np.ndarray,
           cost: np.ndarray, verdict: Verdict, terms: opn.OpennessTerms) -> None:
    """Make the chosen changes in ``state`` and say why, one event each."""
    adopt(state, with_openness(params, state, line, is_open, cost), _OPENNESS_ARRAYS)
    months = np.broadcast_to(terms.generation_months, (state.worlds,))
    for w in np.flatnonzero(line >= 0):  # changes are rare events
        k = int(line[w])
        side = "open" if is_open[w] else "closed"
        detail = (f"next generation {side} weights: expected profit "
                  f"{verdict.profit_open[w] / 1e6:,.1f}M USD a month open (indirect value "
                  f"{verdict.indirect_open[w] / 1e6:,.1f}M) against "
                  f"{verdict.profit_closed[w] / 1e6:,.1f}M closed (indirect "
                  f"{verdict.indirect_closed[w] / 1e6:,.1f}M) over {months[w]:g} months, "
                  f"P(open) = {verdict.p_open[w]:.2f}")
        state.events.append(line_event(params, state, w, month, k, "openness_change", detail))
