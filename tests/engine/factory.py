"""Small hand-built batches for engine tests: a Params and a State with known values.

Two regions (A, B), two segments (``ent``: token-billed, relevant market revenue;
``con``: subscription, users), three firms (X closed, Y open and closed, Z open), four
product rows (X1 closed, Y1 open, Y2 closed, Z1 open) plus one free slot for an entrant.
Every value is set here, so tests can compute what to expect from the definitions.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from sim.engine.params import PARENT, VENTURE, CompiledPolicy, Params, Structure
from sim.engine.state import State

REGIONS = ("A", "B")
SEGMENTS = ("ent", "con")
FIRMS = ("X", "Y", "Z")
PRODUCTS = ("X1", "Y1", "Y2", "Z1")
OWNER = np.array([0, 1, 1, 2, 0])  # the free slot's owner is a placeholder
IS_OPEN = np.array([False, True, False, True, False])
K, F, C = 5, 4, 12


def structure(policies: tuple[CompiledPolicy, ...] = (), groups: int = 1,
              months: int = 24, price_scope: str = "global") -> Structure:
    """The shared structure; ``groups`` access groups of equal size in every cell."""
    fractions = np.full((2, 2, groups), 1.0 / groups)
    evasion = np.cumsum(fractions, axis=-1)
    evasion[..., -1] = np.inf
    return Structure(
        start="2024-01", months=months, regions=REGIONS, segments=SEGMENTS,
        token_billed=np.array([True, False]), relevant_market=("revenue", "users"),
        firms=FIRMS, products=PRODUCTS, firm_capacity=F, product_capacity=K,
        group_fractions=fractions, group_evasion=evasion,
        contributor_region=np.arange(C) % 2, contributor_size=np.linspace(10.0, 200.0, C),
        price_scope=price_scope, policies=policies)


def params(worlds: int = 2, **structure_options: object) -> Params:
    """W identical worlds (change rows in tests to make them differ)."""
    st = structure(**structure_options)  # type: ignore[arg-type]
    one = {
        "world": {
            "network_effect": 0.3, "share_floor": 1e-3, "outside_lag_months": 12.0,
            "frontier_serving_cost": 2.0, "serving_cost_fall_per_year": 2.5,
            "cost_capability_slope": 0.092, "price_adjustment": 0.3, "markup_max": 50.0,
            "third_party_margin": 0.1, "rd_scale": 2.5e7, "compute_cost_fall_per_year": 1.4,
            "difficulty_growth_per_year": 3.5, "rd_productivity": 0.5, "kappa_open": 0.3,
            "kappa_closed": 0.1, "flagship_share": 0.8, "frontier_pace_before": 8.0 / 12.0,
            "entry_rate": 0.3, "entry_cost": 5e8, "entry_cost_growth_per_year": 2.4,
            "entry_horizon": 36.0, "discount_rate": 0.15, "entrant_open_gap": 1.0,
            "entrant_open_cost_fraction": 0.1, "entrant_gap_no_open": 20.0,
            "entrant_open_probability": 0.5, "exit_after": 3.0,
            "acquisition_run_rate_multiple": 1.0, "withdrawal_horizon": 12.0,
            "reentry_lag": 6.0, "review_months": 12.0, "openness_switch_cost": 5e8,
        },
        "segment": {
            "bass_p": [0.01, 0.02], "bass_q": [0.1, 0.2], "capability_weight": [0.1, 0.05],
            "price_weight": [1.5, 0.8], "open_preference": [0.0, -0.2],
            "switching_cost": [1.0, 0.3], "reconsider_rate": [0.1, 0.2], "home_bias": [0.2, 0.1],
            "ecosystem_weight": [0.05, 0.0], "usage": [5000.0, 1.0],
            "usage_growth_per_year": [1.0, 1.5], "usage_elasticity": [1.4, 1.2],
            "reference_price": [5.0, 5.0], "paying_fraction": [1.0, 0.05],
            "reference_price_tracking": [0.0, 0.0], "usage_satiation": [1e6, 1e6],
        },
        "region": {
            "adopters": [[1e5, 1e8], [5e4, 2e8]],
            "adopters_growth_per_year": [[1.05, 1.02], [1.05, 1.02]],
            "aware": [[0.6, 0.5], [0.5, 0.4]], "adoption": [[0.4, 0.3], [0.3, 0.2]],
            "contributor_share": [0.6, 0.4], "legal_friction": [0.0, 0.1],
            "exposure": [0.4, 0.6],
            # product shares of each cell's users at step 0 (rows: products, free slot 0)
            "shares": [[[0.5, 0.2, 0.2, 0.1, 0.0], [0.7, 0.1, 0.1, 0.1, 0.0]],
                       [[0.4, 0.3, 0.2, 0.1, 0.0], [0.6, 0.2, 0.1, 0.1, 0.0]]],
        },
        "firm": {
            "home": [0, 0, 1, 0], "funding": [VENTURE, PARENT, VENTURE, VENTURE],
            "cash": [2e10, 5e10, 1e9, 0.0], "rd_share": [0.7, 0.6, 0.8, 0.7],
            "adaptive": [False, False, False, False], "indirect_value": [0.0, 0.5, 0.0, 0.0],
            "parent_budget": [0.0, 2e9, 0.0, 0.0], "lab_budget": [0.0, 0.0, 0.0, 0.0],
        },
        "product": {
            "owner": OWNER, "is_open": IS_OPEN, "capability": [100.0, 92.0, 97.0, 90.0, 0.0],
            "size": [3.0, 1.0, 2.0, 1.0, 1.0], "licence": [0.0, 0.5, 0.0, 0.1, 0.0],
            "hosted_fraction": [1.0, 0.1, 1.0, 0.3, 0.0],
            "self_hosted_fraction": [0.0, 0.5, 0.0, 0.4, 0.0],
            "subscription_price": [20.0, 0.0, 20.0, 0.0, 0.0],
            "launch": [0, 0, 0, 0, -1],
        },
        "harm": {"misuse_premium": 1.0, "leakage": 0.5, "openness_discount": 0.25,
                 "hazard_scale": 10 ** -1.5, "hazard_capability_slope": np.log(2) / 15,
                 "reference_capability": 100.0},
        "contributors": {"productivity": 1.0, "initial_engaged": 0.5, "reconsider_rate": 0.1,
                         "capability_weight": 0.1, "ecosystem_weight": 0.3,
                         "licence_weight": 1.0, "effort_scale": 2e4, "community_gain": 0.125,
                         "effort_elasticity": 0.5, "derivative_rate": 0.326,
                         "derivative_decay": np.log(2) / 12},
    }

    def batch(group: dict[str, object]) -> dict[str, np.ndarray]:
        out = {}
        for key, value in group.items():
            array = np.asarray(value)
            out[key] = np.repeat(array[None, ...], worlds, axis=0)
        return out

    product = batch(one["product"])
    product["served"] = np.ones((worlds, 2, K), dtype=bool)
    return Params(structure=st, world=batch(one["world"]), segment=batch(one["segment"]),
                  region=batch(one["region"]), firm=batch(one["firm"]), product=product,
                  harm=batch(one["harm"]), contributors=batch(one["contributors"]))


def state(p: Params) -> State:
    """A plausible state at step 0 (counts from the shares; brand constants zero)."""
    w, st = p.worlds, p.structure
    r, s, g = st.n_regions, st.n_segments, st.n_groups
    potential = p.region["adopters"].astype(float)
    aware = potential * p.region["aware"]
    users = potential * p.region["adoption"]
    fractions = np.broadcast_to(st.group_fractions, (w, r, s, g))
    counts = np.zeros((w, r, s, g, K + 1))
    counts[..., 0] = ((aware - users)[..., None] * fractions)
    counts[..., 1:] = (users[..., None, None] * fractions[..., None]
                       * p.region["shares"][:, :, :, None, :])
    unaware = (potential - aware)[..., None] * fractions
    T = st.months + 1
    closed = np.full((w, T), np.nan)
    closed[:, 0] = 100.0
    opened = np.full((w, T), np.nan)
    opened[:, 0] = 92.0
    prod = {k: v.copy() for k, v in p.product.items()}
    firm = {k: v.copy() for k, v in p.firm.items()}
    return State(
        month=0, potential=potential, unaware=unaware, counts=counts,
        brand=np.zeros((w, r, s, K)), outside_level=np.zeros((w, r, s)),
        firm_share=np.zeros((w, r, s, F)),
        product_alive=prod["launch"] == 0, is_open=prod["is_open"].astype(bool),
        owner=prod["owner"].astype(np.int64), capability=prod["capability"].astype(float),
        size=prod["size"].astype(float), licence=prod["licence"].astype(float),
        hosted_fraction=prod["hosted_fraction"].astype(float),
        self_hosted_fraction=prod["self_hosted_fraction"].astype(float),
        subscription_price=prod["subscription_price"].astype(float),
        launch=prod["launch"].astype(np.int64), product_entrant=np.full((w, K), -1),
        product_origin=np.full((w, K), -1),
        served=prod["served"].copy(), withdrawn_at=np.full((w, r, K), -1),
        markup=np.full((w, r, K), 2.0), price=np.full((w, r, K), 4.0),
        effort=np.zeros((w, K)), ecosystem=np.zeros((w, K)),
        firm_alive=np.array([True, True, True, False])[None, :].repeat(w, axis=0),
        home=firm["home"].astype(np.int64), funding=firm["funding"].astype(np.int64),
        cash=np.round(firm["cash"] * 100).astype(np.int64), rd_share=firm["rd_share"],
        adaptive=firm["adaptive"].astype(bool), indirect_value=firm["indirect_value"],
        parent_budget=firm["parent_budget"], lab_budget=firm["lab_budget"],
        log_growth=np.zeros((w, F)),
        spending_plan=np.zeros((w, F)), months_negative=np.zeros((w, F), dtype=np.int64),
        months_since_round=np.zeros((w, F), dtype=np.int64), revenue_last=np.zeros((w, F)),
        firm_entrant=np.full((w, F), -1), family=np.full((w, C), -1, dtype=np.int64),
        closed_frontier=closed, open_frontier=opened, entrants=np.zeros(w, dtype=np.int64))


def with_policies(p: Params, *policies: CompiledPolicy) -> Params:
    """The same params with these compiled policies in the structure."""
    return replace(p, structure=replace(p.structure, policies=tuple(policies)))
