"""What a firm expects to earn (MODEL.md 6.5): the valuation behind its openness decisions.

Shared by ``sim.engine.generations`` (a generation open or closed) and
``sim.engine.releases`` (an older generation's weights released as a new line).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from sim.engine import choice, market
from sim.engine.names import firm_name, product_name
from sim.engine.params import PARENT, Params
from sim.engine.rules import Rules, rules_for_lines
from sim.engine.state import Event, State
from sim.mechanisms import openness as opn
from sim.mechanisms.concentration import firm_totals

__all__ = ["OPEN_HOSTED_FRACTION", "OPEN_SELF_HOSTED_FRACTION", "ExpectedProfit",
           "expected_firm_profit", "openness_terms", "adopt", "line_event"]

#: Share of an opened line's token usage its owner's API serves, and share users run
#: themselves (assumption: the means of the scenario's open lines; entrants use the same).
OPEN_HOSTED_FRACTION = 0.3
OPEN_SELF_HOSTED_FRACTION = 0.4


def openness_terms(params: Params) -> opn.OpennessTerms:
    """The decision's terms from ``[world]``."""
    d = opn.OpennessTerms()
    return opn.OpennessTerms(
        generation_months=params.world_value("review_months", d.generation_months),
        switch_cost_usd=params.world_value("openness_switch_cost", d.switch_cost_usd),
        noise=params.world_value("openness_noise", d.noise))


@dataclass(frozen=True)
class ExpectedProfit:
    """Expected profit a month at the long-run demand of a state, USD.

    Attributes:
        firm: ``[W, F]`` operating margin of all the firm's lines, less compliance, plus a
            parent-funded firm's indirect value.
        indirect: ``[W, F]`` of which indirect value.
        line: ``[W, K]`` each line's own part of ``firm`` (its stake in a decision).
    """

    firm: np.ndarray
    indirect: np.ndarray
    line: np.ndarray


def expected_firm_profit(params: Params, state: State, rules: Rules, month: int,
                         cost: np.ndarray) -> ExpectedProfit:
    """Each firm's and line's expected profit a month at the long run of ``state``.

    Operating margin (revenue minus serving) at the long-run logit shares of ``state``
    (maybe a hypothetical one), less the compliance this month's policies would charge the
    line, plus a parent-funded firm's indirect value of the line's users.
    """
    available, fixed, share = rules_for_lines(params, rules, state)
    utility, outside = choice.utilities(params, state, month,
                                        market.effective_prices(params, state))
    weights, _ = choice.choice_weights(utility, outside, available)
    aware = state.counts.sum(axis=-1, keepdims=True)
    long_run = aware * weights / weights.sum(axis=-1, keepdims=True)  # outside option > 0
    flows = market.market_flows(params, replace(state, counts=long_run), month, cost)
    line_revenue = flows.revenue.sum(axis=2)  # [W, R, K]
    selling = flows.users.sum(axis=2) > 0
    compliance = np.where(selling & state.served, fixed + share * line_revenue, 0.0).sum(axis=1)
    margin = (flows.revenue - flows.serving).sum(axis=(1, 2)) - compliance  # [W, K]
    n_f = state.firm_alive.shape[1]
    per_user = np.where(state.funding == PARENT, state.indirect_value, 0.0)  # [W, F]
    line_indirect = flows.users.sum(axis=(1, 2)) * np.take_along_axis(
        per_user, np.clip(state.owner, 0, n_f - 1), axis=1)
    line = margin + line_indirect
    return ExpectedProfit(firm_totals(line, state.owner, n_f),
                          firm_totals(line_indirect, state.owner, n_f), line)


def adopt(state: State, decided: State, names: tuple[str, ...]) -> None:
    """Make a decided hypothetical real: ``state``'s arrays ``names`` become ``decided``'s."""
    for name in names:
        setattr(state, name, getattr(decided, name))


def line_event(params: Params, state: State, world: int, month: int, line: int, kind: str,
               detail: str) -> Event:
    """A firm's decision about one of its lines, named as the tables name them."""
    return Event(int(world), month, "World",
                 firm_name(params, state, world, int(state.owner[world, line])),
                 product_name(params, state, world, line), kind, detail)
