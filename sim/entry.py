"""Entry (phase 6): Poisson arrivals of potential entrants that enter when it pays (MODEL.md 4.7).

An entrant builds on the best open model when one exists (it starts
``entrant_gap`` points below it: open weights lower the barrier) and otherwise
starts ``entrant_gap_no_open`` points below the closed frontier. It enters when
its expected margin over ``entry_horizon`` months, computed with the demand
model at long-run shares, exceeds the entry cost.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim import demand
from sim.agents.vendor import Vendor
from sim.policies import candidate_rules
from sim.rng import Mechanism

if TYPE_CHECKING:
    from sim.model import MarketModel

__all__ = ["arrivals", "entry_cost", "entrant_capability", "entrant_brand", "entrant_name",
           "ENTRANT_PREFIX"]


#: Entrants are named ``Entrant#1``, ``Entrant#2``, ...: ``#`` is outside the alphabet of
#: scenario names (letters, digits, ``_``, ``-``), so an entrant's name can never be a
#: scenario vendor's, whatever the scenario calls its vendors.
ENTRANT_PREFIX = "Entrant#"


def entrant_name(n: int) -> str:
    """The name of the ``n``-th entrant of a run (1-based).

    Example:
        >>> entrant_name(2)
        'Entrant#2'
    """
    return f"{ENTRANT_PREFIX}{n}"


def entry_cost(model: MarketModel, month: int) -> float:
    """Sunk cost of entry at ``month`` (USD)."""
    return model.world.entry_cost * model.world.entry_cost_growth_per_year ** (month / 12.0)


def entrant_capability(model: MarketModel) -> float:
    """Starting capability: below the best open model, or far below the closed frontier."""
    vt = model.vendors
    open_alive = vt.view("alive") & vt.view("is_open")
    if open_alive.any():
        return float(vt.view("capability")[open_alive].max() - model.world.entrant_gap)
    closed = vt.view("alive") & ~vt.view("is_open")
    frontier = vt.view("capability")[closed].max() if closed.any() else 0.0
    return float(max(frontier - model.world.entrant_gap_no_open, 0.0))


def entrant_brand(model: MarketModel, incumbents: int | None = None) -> np.ndarray:
    """An entrant's brand constants ``[region, segment]``: the weakest live vendor's in each cell.

    A newcomer has no reputation, so it gets the lowest constant of the vendors alive
    (all vendors if none is) among the first ``incumbents`` rows (default: all).
    """
    vt = model.vendors
    n = vt.count if incumbents is None else incumbents
    brand = model.brand[..., :n]
    alive = vt.alive[:n]
    pool = brand[..., alive] if alive.any() else brand
    return np.min(pool, axis=-1)


def _expected_margin(model: MarketModel, capability: float, is_open: bool, home: int,
                     month: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """A candidate entrant's monthly prospects per region at long-run shares.

    Long-run shares are the stationary shares of the choice chain with the entrant
    added to today's market (the weakest incumbent's brand, no installed base, the bans
    and compliance costs a vendor of its openness, capability and home would face), the
    others' prices held fixed.

    Returns:
        ``(margin, revenue, net, price)``: margin and revenue per region (USD/month), the
        margin net of compliance where that is positive (it would not serve the other
        regions), and its price (USD per M tokens).
    """
    vt = model.vendors
    n = vt.count
    own_cost = float(model.world.serving_cost * model.world.serving_cost_fall_per_year
                     ** (-month / 12.0) * (1.0 if is_open else 2.0))  # at its own start
    price = own_cost * (1 + model.world.open_margin) if is_open else float(
        np.median(vt.view("price")[vt.view("alive") & ~vt.view("is_open")])
        if (vt.view("alive") & ~vt.view("is_open")).any() else own_cost * 2)
    capability_all = np.append(vt.view("capability"), capability)
    price_all = np.append(vt.view("price"), price)
    open_all = np.append(vt.view("is_open"), is_open)
    home_all = np.append(vt.view("home"), home)
    brand = model.brand[..., :n]
    brand_all = np.concatenate([brand, entrant_brand(model)[..., None]], axis=-1)
    share_all = np.concatenate([model.network_share, np.zeros((*brand.shape[:2], 1))], axis=-1)
    utilities = demand.vendor_utilities(model.tastes, capability_all, price_all, open_all,
                                        home_all, brand_all, share_all)
    own, fixed, dues = candidate_rules(model._active_policies(), is_open, capability, home,
                                       model.regions, model.group_evade_upto)
    available = np.concatenate([model.rules.available, own[..., None]], axis=-1)
    weights, _ = demand.option_weights(utilities, model._outside_utility(month), available)
    shares = demand.stationary_shares(weights, model._switching())[..., -1]
    adopters = (shares * model.group_fractions[:, None, :]).sum(axis=-1) * model.potential
    tokens = (adopters * model._tokens(month)[None, :]).sum(axis=1)  # [region]
    hosted = 0.3 if is_open else 1.0
    margin = tokens * hosted * (price - own_cost)
    revenue = tokens * hosted * price
    # it would serve only the regions that pay their compliance costs (MODEL.md 4.6)
    net = np.maximum(margin - fixed - dues * revenue, 0.0)
    return margin, revenue, net, price


def arrivals(model: MarketModel, month: int) -> int:
    """Draw potential entrants for ``month``; those for whom it pays enter. Returns entries."""
    world = model.world
    if world.entry_rate <= 0:
        return 0
    rng = model.streams.generator(Mechanism.ENTRY, month)
    n = int(rng.poisson(world.entry_rate))
    entered = 0
    for _ in range(n):
        is_open = bool(rng.random() < world.entrant_open_probability)
        weights = model.potential.sum(axis=1).astype(float)
        # with no potential adopters anywhere every region is as likely a home (the entrant
        # then expects no margin and stays out)
        home = int(rng.choice(len(model.regions),
                              p=weights / weights.sum() if weights.sum() > 0 else None))
        capability = entrant_capability(model)
        margin, revenue, net, price = _expected_margin(model, capability, is_open, home, month)
        cost = entry_cost(model, month)
        if net.sum() * world.entry_horizon <= cost:
            continue
        index = _enter(model, month, capability, is_open, home, price, cost)
        # its expectations per region start from the estimate it entered on
        model.vendors.margin_region[index] = margin
        model.vendors.revenue_region[index] = revenue
        entered += 1
    return entered


def _enter(model: MarketModel, month: int, capability: float, is_open: bool, home: int,
           price: float, cost: float) -> int:
    vt = model.vendors
    world = model.world
    name = entrant_name(sum(1 for n in vt.names if n.startswith(ENTRANT_PREFIX)) + 1)
    index = vt.add(name, home=home, is_open=is_open, adaptive=False, capability=capability,
                   cost_factor=1.0 if is_open else 2.0, cash=0.0,
                   funding0=world.entrant_funding, rd_share=0.7,
                   hosted=0.3 if is_open else 1.0, indirect=0.0, license=0.0,
                   served=np.ones(len(model.regions), dtype=bool), born=month)
    # the entrant raises the entry cost and spends it at once: booked both ways
    vt.book("entry", cost, index)
    vt.book("entry", -cost, index)
    vt.price[index] = price
    model._grow_for_entrant()
    model.vendor_agents.append(Vendor(model, index))
    model.flows["entries"][home] += 1
    kind = "open" if is_open else "closed"
    model.record_event(month, model.regions[home], name, "entry",
                       f"{kind} entrant at capability {capability:.1f}")
    return index
