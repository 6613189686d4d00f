"""Prices and the month's usage, spend and revenue (MODEL.md 4.2, 5): the market phase.

Serving cost depends on capability relative to the frontier (``sim.mechanisms.costs``).
Closed lines are priced by their firm at the multi-product Bertrand-Nash target
(``sim.mechanisms.pricing``), markups adjusting partially; open weights are free and their
hosted use is billed at cost times ``1 + third_party_margin`` by whoever hosts them (the
owner's API for ``hosted_fraction`` of the usage, third-party hosts for the rest except
the ``self_hosted_fraction`` that users run themselves, which pays its own cost and
earns the owner nothing). Decision (docs/architecture.md): open lines are not
Nash-priced because any host can serve the weights, so competition between hosts holds
their price near cost (Nagle & Yue 2025: open models average $0.23 per M tokens on
OpenRouter, far below closed ones).

Subscription-billed segments (consumers) pay ``subscription_price`` on a paying fraction;
their usage is served at the owner's cost whatever the openness (a free assistant built
on open weights is served by its firm).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.engine.params import Params
from sim.engine.state import State
from sim.mechanisms import costs, pricing, usage

__all__ = ["MarketFlows", "serving_costs", "base_usage", "reference_price",
           "usage_per_adopter", "token_market", "price_lines", "subscription_floor",
           "effective_prices", "market_flows", "SUBSCRIPTION_PRICE_FLOOR"]

#: A free assistant's price in the logit is floored here (USD per month): ln(0) has no value,
#: and a price below what a month of the cheapest paid plan costs a paying fraction is as
#: good as free (assumption; it only shifts free products' brand constants, which the
#: step-0 inversion absorbs).
SUBSCRIPTION_PRICE_FLOOR = 1.0


def subscription_floor(price: np.ndarray) -> np.ndarray:
    """Subscription prices as they enter utility: floored at :data:`SUBSCRIPTION_PRICE_FLOOR`."""
    return np.maximum(price, SUBSCRIPTION_PRICE_FLOOR)


def serving_costs(params: Params, state: State, month: int) -> np.ndarray:
    """``[W, K]`` serving cost, USD per M tokens, of every line this month.

    The frontier is the best alive line (open or closed): a fixed capability gets
    ``exp(cost_capability_slope)`` cheaper for every point the frontier moves past it.
    """
    w = params.world
    alive_q = np.where(state.product_alive, state.capability, -np.inf)
    frontier_q = alive_q.max(axis=1)
    frontier_q = np.where(np.isfinite(frontier_q), frontier_q, 0.0)
    c_f = costs.frontier_cost(month, w["frontier_serving_cost"], w["serving_cost_fall_per_year"])
    cost = costs.serving_cost(c_f, state.size, state.capability, frontier_q,
                              w["cost_capability_slope"])
    return np.where(state.product_alive, cost, np.nan)


def base_usage(params: Params, month: int) -> np.ndarray:
    """``[W, S]`` usage per adopter at the reference price, M tokens a month (``tau_s(t)``)."""
    seg = params.segment
    return seg["usage"] * seg["usage_growth_per_year"] ** (month / 12.0)


def reference_price(params: Params, month: int) -> np.ndarray:
    """``[W, S]`` the reference price ``p_ref_s(t)`` of the usage curve, USD per M tokens.

    ``p_ref_s(t) = p_ref_s (c_F(t) / c_F(0))^theta_s`` with ``theta_s`` =
    ``reference_price_tracking``: how far an adopter's sense of "normal" prices follows the
    fall of serving costs. ``theta = 0`` is a fixed reference (every fall of the price level
    raises usage per adopter with elasticity ``e_s``, compounding over years); ``theta = 1``
    leaves the level of usage to ``tau_s(t)`` and lets prices move only usage *between* lines.
    """
    seg, w = params.segment, params.world
    fall = costs.frontier_cost(month, 1.0, w["serving_cost_fall_per_year"])  # c_F(t) / c_F(0)
    return seg["reference_price"] * np.asarray(fall)[:, None] ** seg["reference_price_tracking"]


def usage_per_adopter(params: Params, month: int, price: np.ndarray) -> np.ndarray:
    """``[W, R, S, K]`` M tokens a month per adopter of each line at ``price`` ``[W, R, K]``.

    Token segments: the satiated constant-elasticity curve (``sim.mechanisms.usage``);
    subscription segments: ``tau_s(t)``, whatever the price.
    """
    seg = params.segment
    token = params.structure.token_billed[None, None, :, None]
    tau_s = base_usage(params, month)
    safe_price = np.where(np.isfinite(price) & (price > 0), price, 1.0)
    per_token = usage.token_usage_per_adopter(
        tau_s, safe_price, reference_price(params, month)[:, None, :], seg["usage_elasticity"],
        seg["usage_satiation"])
    return np.where(token, per_token, tau_s[:, None, :, None])


def token_market(params: Params, state: State, month: int, utility: np.ndarray,
                 outside: np.ndarray, available: np.ndarray) -> pricing.TokenMarket:
    """The demand side of this month's token-billed cells, as the pricing mechanism sees it."""
    token = params.structure.token_billed
    aware = state.counts.sum(axis=(3, 4))  # [W, R, S]
    size = np.where(token[None, None, :], aware, 0.0)  # subscription cells are not priced here
    seg = params.segment
    return pricing.TokenMarket(
        market_size=size, utility=utility, outside_utility=outside, available=available,
        price_weight=seg["price_weight"], usage_elasticity=seg["usage_elasticity"],
        base_usage=base_usage(params, month),
        reference_price=reference_price(params, month)[:, None, :],
        satiation=seg["usage_satiation"],
        alive=state.product_alive)


def price_lines(params: Params, state: State, month: int, cost: np.ndarray,
                utility: np.ndarray, outside: np.ndarray, available: np.ndarray,
                adjust: bool = True) -> np.ndarray:
    """Set this month's prices in ``state``; returns ``markup_capped`` ``[W, R, K]``.

    Args:
        params: Parameters.
        state: State; ``markup`` and ``price`` are updated.
        month: Step.
        cost: ``[W, K]`` serving cost.
        utility: ``[W, R, S, K]`` non-price utility of every line (the demand side).
        outside: ``[W, R, S]`` outside option's utility.
        available: ``[W, R, K]`` lines sold in the region this month.
        adjust: Markups move ``price_adjustment`` of the way to the target (False at step 0:
            prices start at the equilibrium).
    """
    w = params.world
    market = token_market(params, state, month, utility, outside, available)
    priced = state.product_alive & ~state.is_open
    host_price = cost * (1.0 + w["third_party_margin"][:, None])
    safe_cost = np.where(np.isfinite(cost) & (cost > 0), cost, 1.0)
    start = np.where(np.isfinite(state.markup) & (state.markup > 1.0), state.markup, np.nan)
    equilibrium = pricing.solve_prices(
        market, safe_cost, state.owner, priced, np.where(np.isfinite(host_price), host_price, 1.0),
        n_firms=state.firm_alive.shape[1], scope=params.structure.price_scope,
        markup_max=w["markup_max"],  # each world's own cap (no world sets another's)
        initial_markup=None if np.isnan(start).all() else np.where(np.isnan(start), 2.0, start))
    target = equilibrium.markup
    if adjust:
        markup = pricing.adjust_markups(np.where(np.isnan(start), target, start), target,
                                        w["price_adjustment"][:, None, None])
    else:
        markup = target
    open_markup = 1.0 + w["third_party_margin"][:, None, None]
    markup = np.where(priced[:, None, :], markup, open_markup)
    state.markup = np.where(state.product_alive[:, None, :], markup, np.nan)
    state.price = state.markup * cost[:, None, :]
    return equilibrium.markup_capped & priced[:, None, :]


def effective_prices(params: Params, state: State) -> np.ndarray:
    """``[W, R, S, K]`` the price each segment's adopters weigh: per M tokens or per month."""
    token = params.structure.token_billed[None, None, :, None]
    per_token = state.price[:, :, None, :]
    per_month = subscription_floor(state.subscription_price)[:, None, None, :]
    price = np.where(token, per_token, per_month)
    return np.where(np.isfinite(price) & (price > 0), price, 1.0)  # dead lines are masked later


@dataclass
class MarketFlows:
    """The month's quantities by region, segment and line, ``[W, R, S, K]`` unless noted.

    Attributes:
        users: Adopters of the line.
        usage: M tokens used (every host, self-hosting included).
        billed_usage: M tokens billed by anyone (self-hosting excluded).
        spend: USD paid to any provider (the owner and third-party hosts).
        revenue: USD billed by the line's owner (tokens and subscriptions).
        owner_usage: M tokens the owner serves (and pays to serve).
        serving: USD the owner pays to serve them.
    """

    users: np.ndarray
    usage: np.ndarray
    billed_usage: np.ndarray
    spend: np.ndarray
    revenue: np.ndarray
    owner_usage: np.ndarray
    serving: np.ndarray


def market_flows(params: Params, state: State, month: int, cost: np.ndarray) -> MarketFlows:
    """Usage, spend, revenue and serving cost of this month's adopters."""
    seg = params.segment
    token = params.structure.token_billed[None, None, :, None]
    users = state.users()
    price = state.price[:, :, None, :]
    safe_price = np.where(np.isfinite(price) & (price > 0), price, 1.0)
    used = users * usage_per_adopter(params, month, state.price)
    is_open = state.is_open[:, None, None, :]
    owner_share = np.where(is_open, state.hosted_fraction[:, None, None, :], 1.0)
    billed_share = np.where(is_open, 1.0 - state.self_hosted_fraction[:, None, None, :], 1.0)
    owner_share_tokens = np.where(token, owner_share, 1.0)  # subscriptions: the owner serves
    billed = np.where(token, used * billed_share, 0.0)
    spend_tokens = billed * safe_price
    subscriptions = (users * seg["paying_fraction"][:, None, :, None]
                     * state.subscription_price[:, None, None, :])
    spend = np.where(token, spend_tokens, subscriptions)
    revenue = np.where(token, used * owner_share * safe_price, subscriptions)
    owner_usage = used * owner_share_tokens
    unit_cost = np.where(np.isfinite(cost), cost, 0.0)[:, None, None, :]
    alive = state.product_alive[:, None, None, :]
    zero = np.zeros_like(used)
    return MarketFlows(
        users=users, usage=np.where(alive, used, zero), billed_usage=np.where(alive, billed, zero),
        spend=np.where(alive, spend, zero), revenue=np.where(alive, revenue, zero),
        owner_usage=np.where(alive, owner_usage, zero),
        serving=np.where(alive, owner_usage * unit_cost, zero))
