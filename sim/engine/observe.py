"""Observation (MODEL.md 8): the month's metrics of every market, ``[W, R + 1, S + 1, M]``.

Row ``R`` is ``World`` (regions pooled: one world market per segment) and column ``S`` is
``all`` (segments pooled for money and tokens only). Concentration is over **firms** (a
line's quantities go to its owner), openness over **products**. Third-party hosts of open
weights are a fringe: their revenue counts in the market's total but in no firm's share,
and self-hosted open usage is attributed to the model's owner (MODEL.md 8, developers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.engine.market import MarketFlows
from sim.engine.metrics import INDEX, METRICS, POOLED_NAN
from sim.engine.params import Params
from sim.engine.state import State
from sim.mechanisms import concentration as conc
from sim.mechanisms import harm as harm_mech
from sim.mechanisms import welfare
from sim.mechanisms.capability import gap_months

__all__ = ["MonthExtras", "observe", "harm_parameters", "marginal_utility",
           "REFERENCE_SUBSCRIPTION"]

#: Reference monthly subscription price of the welfare conversion for subscription segments
#: (USD per paying user-month: the common $20 plan of ChatGPT Plus, Claude Pro and Gemini
#: Advanced in 2024, vendors' pricing pages; fixed so paired runs share lambda).
REFERENCE_SUBSCRIPTION = 20.0


@dataclass
class MonthExtras:
    """What observation needs besides the flows and the state.

    Attributes:
        inclusive_value: ``[W, R, S, G]`` log-sum of the choice set, utils.
        outside_utility: ``[W, R, S]`` utility of the outside option, utils.
        profit: ``[W, F, R, S]`` operating profit by firm and cell, USD.
        raised: ``[W, F]`` venture rounds raised this month, USD.
        rd: ``[W, F]`` R&D spent this month, USD.
        markup_capped: ``[W, R, K]`` bool.
        entries: ``[W]`` entries this month.
        exits: ``[W]``.
        acquisitions: ``[W]``.
        reference_capability: ``[W]`` capability of the 2024-01 closed frontier.
    """

    inclusive_value: np.ndarray
    outside_utility: np.ndarray
    profit: np.ndarray
    raised: np.ndarray
    rd: np.ndarray
    markup_capped: np.ndarray
    entries: np.ndarray
    exits: np.ndarray
    acquisitions: np.ndarray
    reference_capability: np.ndarray


def harm_parameters(params: Params) -> harm_mech.HarmParameters:
    """The ``[harm]`` table as the harm mechanism's parameters (``[W]`` each)."""
    return harm_mech.HarmParameters(**{k: params.harm[k] for k in (
        "misuse_premium", "leakage", "openness_discount", "hazard_scale",
        "hazard_capability_slope", "reference_capability")})


def task_deflator(params: Params, month: int) -> np.ndarray:
    """``[W, 1, S, 1]`` step-0 tasks per token: ``usage_growth_per_year ** (-d t / 12)``.

    Tokens per task multiply as reasoning models and agents spend more tokens on the same
    task; ``tau_s(t)`` grows at ``usage_growth_per_year`` for that reason. Harm comes from
    uses, so the hazard, anchored on 2024 token volumes, applies to tokens deflated by that
    growth (``harm.task_deflation`` = d = 1; d = 0 counts raw tokens, under which harm per
    token outgrew the price 50-fold by 2030: docs/validation.md 4).
    """
    growth = params.segment["usage_growth_per_year"]  # [W, S]
    d = params.harm.get("task_deflation", np.ones(params.worlds))[:, None]
    return (growth ** (-d * month / 12.0))[:, None, :, None]


def marginal_utility(params: Params, month: int) -> np.ndarray:
    """``[W, 1, S]`` lambda, utils per USD a month, from exogenous reference spend.

    Token segments: the reference price times usage at it; subscription segments: the paying
    fraction times :data:`REFERENCE_SUBSCRIPTION`. Exogenous, so paired runs share it and
    the difference of surplus levels is the compensating variation.
    """
    from sim.engine.market import base_usage, reference_price

    seg = params.segment
    token = params.structure.token_billed[None, :]
    spend_ref = np.where(token, reference_price(params, month) * base_usage(params, month),
                         seg["paying_fraction"] * REFERENCE_SUBSCRIPTION)
    return welfare.marginal_utility_of_money(seg["price_weight"], spend_ref)[:, None, :]


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.full(np.broadcast(num, den).shape, np.nan), where=den > 0)


def _hhi_fringe(firm_quantity: np.ndarray, total: np.ndarray) -> np.ndarray:
    """HHI of firms' shares of a total that may include a fringe (third-party hosts)."""
    share = _ratio(firm_quantity, total[..., None])
    return 10_000.0 * np.sum(share * share, axis=-1)


def _cr(firm_quantity: np.ndarray, total: np.ndarray, *sizes: int) -> list[np.ndarray]:
    """The top-``n`` firms' share of ``total`` for each ``n`` in ``sizes`` (one sort for all)."""
    ranked = -np.sort(-firm_quantity, axis=-1)
    return [_ratio(ranked[..., :n].sum(axis=-1), total) for n in sizes]


def _pool(x: np.ndarray) -> np.ndarray:
    """``[W, R, S, ...]`` -> ``[W, R + 1, S + 1, ...]`` with World and all as sums."""
    with_world = np.concatenate([x, x.sum(axis=1, keepdims=True)], axis=1)
    return np.concatenate([with_world, with_world.sum(axis=2, keepdims=True)], axis=2)


def observe(params: Params, state: State, flows: MarketFlows, extras: MonthExtras) -> np.ndarray:
    """The month's metrics, ``[W, R + 1, S + 1, len(METRICS)]`` (NaN where undefined)."""
    st = params.structure
    n_f = state.firm_alive.shape[1]
    out = np.full((state.worlds, st.n_regions + 1, st.n_segments + 1, len(METRICS)), np.nan)
    owner_usage_attr = flows.usage - np.where(  # third-party hosted usage is the fringe
        state.is_open[:, None, None, :],
        flows.usage * (1 - state.hosted_fraction - state.self_hosted_fraction)[:, None, None, :]
        * st.token_billed[None, None, :, None], 0.0)
    by_firm = {name: _pool(conc.firm_totals(q, state.owner, n_f)) for name, q in (
        ("revenue", flows.revenue), ("usage", owner_usage_attr), ("users", flows.users))}
    totals = {"revenue": _pool(flows.spend.sum(axis=-1)), "usage": _pool(flows.usage.sum(-1)),
              "users": _pool(flows.users.sum(-1))}
    for measure in ("revenue", "usage", "users"):
        out[..., INDEX[f"hhi_{measure}"]] = _hhi_fringe(by_firm[measure], totals[measure])
    measure_of = [*st.relevant_market, "revenue"]
    for s, measure in enumerate(measure_of):
        out[:, :, s, INDEX["hhi_market"]] = out[:, :, s, INDEX[f"hhi_{measure}"]]
        out[:, :, s, INDEX["cr1"]], out[:, :, s, INDEX["cr4"]] = _cr(
            by_firm[measure][:, :, s], totals[measure][:, :, s], 1, 4)
    out[..., INDEX["effective_firms"]] = _ratio(np.full(out.shape[:3], 10_000.0),
                                                out[..., INDEX["hhi_market"]])
    is_open = state.is_open[:, None, None, :]
    for name, q, total in (("open_usage_share", flows.usage, "usage"),
                           ("open_revenue_share", flows.spend, "revenue"),
                           ("open_user_share", flows.users, "users")):
        out[..., INDEX[name]] = _ratio(_pool(np.where(is_open, q, 0.0).sum(-1)), totals[total])
    aware = state.counts.sum(axis=(3, 4))
    out[..., INDEX["aware"]] = _ratio(_pool(aware), _pool(state.potential))
    out[..., INDEX["adoption"]] = _ratio(totals["users"], _pool(state.potential))
    out[..., INDEX["users"]] = totals["users"]
    out[..., INDEX["usage"]] = totals["usage"]
    out[..., INDEX["spend"]] = totals["revenue"]
    out[..., INDEX["price_paid"]] = _ratio(totals["revenue"] * np.r_[st.token_billed, True][
        None, None, :], _pool(flows.billed_usage.sum(-1)))
    _prices(params, state, out, extras)
    _welfare(params, state, flows, extras, out)
    _dependence(params, state, flows, out)
    _supply(params, state, out, extras)
    for name in POOLED_NAN:
        out[:, :, -1, INDEX[name]] = np.nan
    return out


def _prices(params: Params, state: State, out: np.ndarray, extras: MonthExtras) -> None:
    closed = state.product_alive & ~state.is_open
    q = np.where(closed, state.capability, -np.inf)
    flagship = np.argmax(q, axis=1)
    price = np.take_along_axis(state.price, flagship[:, None, None], axis=2)[..., 0]  # [W, R]
    price = np.where(np.isfinite(q.max(axis=1))[:, None], price, np.nan)
    world = np.nanmean(price, axis=1, keepdims=True) if price.size else price
    out[..., INDEX["price_frontier"]] = np.concatenate([price, world], axis=1)[:, :, None]
    good = state.product_alive & (state.capability >= extras.reference_capability[:, None])
    cheap = np.where(good[:, None, :] & state.served, state.price, np.inf).min(axis=2)
    cheap = np.where(np.isfinite(cheap), cheap, np.nan)
    world_cheap = np.nanmin(np.where(np.isnan(cheap), np.inf, cheap), axis=1, keepdims=True)
    world_cheap = np.where(np.isfinite(world_cheap), world_cheap, np.nan)
    out[..., INDEX["price_constant_capability"]] = np.concatenate([cheap, world_cheap],
                                                                  axis=1)[:, :, None]
    sub = params.structure.token_billed
    for name in ("price_frontier", "price_constant_capability"):  # per-token prices only
        out[:, :, :-1, INDEX[name]] = np.where(sub[None, None, :], out[:, :, :-1, INDEX[name]],
                                               np.nan)


def _welfare(params: Params, state: State, flows: MarketFlows, extras: MonthExtras,
             out: np.ndarray) -> None:
    lam = marginal_utility(params, state.month)
    aware = state.counts.sum(axis=4)
    cs = welfare.consumer_surplus_usd(extras.inclusive_value, aware, lam,
                                      extras.outside_utility[..., None])  # [W, R, S]
    exposure = params.region["exposure"]
    exposure = exposure / np.maximum(exposure.sum(axis=1, keepdims=True), 1e-300)
    comps = harm_mech.harm_components(flows.usage * task_deflator(params, state.month),
                                      state.capability, state.is_open, exposure,
                                      harm_parameters(params))
    harm = harm_mech.harm_usd(comps, params.harm["misuse_premium"])  # [W, R, S]
    profit = extras.profit  # [W, F, R, S]
    earned = profit.sum(axis=1)  # [W, R, S]
    r = params.structure.n_regions
    onehot = (state.home[:, :, None] == np.arange(r)[None, None, :]) & state.firm_alive[..., None]
    home = np.einsum("wfh,wfs->whs", onehot.astype(float), profit.sum(axis=2))
    out[..., INDEX["consumer_surplus_usd"]] = _pool(cs)
    out[..., INDEX["producer_surplus_usd"]] = _pool(earned)
    out[..., INDEX["harm_usd"]] = _pool(harm)
    # the parts that do not depend on m: paired runs give the break-even m* from them
    out[..., INDEX["harm_closed_usd"]] = _pool(comps.closed)
    out[..., INDEX["harm_open_base_usd"]] = _pool(comps.open_before_premium)
    out[..., INDEX["net_welfare_usd"]] = _pool(welfare.net_welfare_usd(cs, home, harm))


def _dependence(params: Params, state: State, flows: MarketFlows, out: np.ndarray) -> None:
    usage = np.concatenate([flows.usage, flows.usage.sum(axis=2, keepdims=True)], axis=2)
    home = conc.home_share(usage, state.owner, state.home)
    dep = conc.foreign_dependence(usage, state.owner, state.home)
    out[:, :-1, :, INDEX["home_share"]] = home
    out[:, :-1, :, INDEX["foreign_dependence"]] = dep


def _supply(params: Params, state: State, out: np.ndarray, extras: MonthExtras) -> None:
    month = state.month
    closed, opened = state.closed_frontier[:, month], state.open_frontier[:, month]
    out[..., INDEX["frontier_closed"]] = closed[:, None, None]
    out[..., INDEX["frontier_open"]] = opened[:, None, None]
    gap = gap_months(state.closed_frontier, opened, month, params.world["frontier_pace_before"])
    out[..., INDEX["gap_months"]] = gap[:, None, None]
    selling = state.served & state.product_alive[:, None, :]  # [W, R, K]
    n_f = state.firm_alive.shape[1]
    firm_selling = conc.firm_totals(selling.astype(float), state.owner, n_f) > 0
    active = (firm_selling & state.firm_alive[:, None, :]).sum(axis=-1)
    any_region = (firm_selling.any(axis=1) & state.firm_alive).sum(axis=-1)
    out[..., INDEX["firms_active"]] = np.concatenate([active, any_region[:, None]],
                                                     axis=1)[:, :, None]
    open_lines = (selling & state.is_open[:, None, :]).sum(axis=-1)
    open_any = (selling.any(axis=1) & state.is_open).sum(axis=-1)
    out[..., INDEX["products_open"]] = np.concatenate([open_lines, open_any[:, None]],
                                                      axis=1)[:, :, None]
    capped = extras.markup_capped.sum(axis=-1)
    out[..., INDEX["markup_capped"]] = np.concatenate(
        [capped, extras.markup_capped.any(axis=1).sum(axis=-1)[:, None]], axis=1)[:, :, None]
    r = params.structure.n_regions
    home = state.home[:, :, None] == np.arange(r)[None, None, :]
    raised = np.einsum("wfh,wf->wh", home.astype(float), extras.raised)
    out[..., INDEX["funding_raised"]] = np.concatenate(
        [raised, raised.sum(axis=1, keepdims=True)], axis=1)[:, :, None]
    for name in ("entries", "exits", "acquisitions"):  # world events: on the World rows
        value = getattr(extras, name).astype(float)
        out[:, -1, :, INDEX[name]] = value[:, None]
        out[:, :-1, :, INDEX[name]] = np.nan
