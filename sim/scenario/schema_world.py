"""The ``[world]`` table of a scenario: trends and market-wide parameters.

One table, but the longest of the format: the parameters of every market-wide mechanism
(demand, serving costs and prices, capability, funding, entry and exit, regions and
openness), each with its type, bounds, unit and ``source`` (docs/architecture.md section 8).
It has a module of its own so that the other tables and named items stay readable in
:mod:`sim.scenario.schema_parts`, which re-exports :class:`World` (the name
:mod:`sim.scenario.schema` and callers import).
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import model_validator

from sim.scenario.base import F, Fraction, Frozen, Problems, pack_problems

__all__ = ["World"]


class World(Frozen):
    """The ``[world]`` table: trends and market-wide parameters (docs/architecture.md 8)."""

    # demand
    network_effect: float = F(0.3, "eta: weight of ln(firm share + eps) in utility; above 1 "
                              "a symmetric market tips.", unit="utility per log-share",
                              source="MODEL.md 4.3 (indicative); Brock & Durlauf 2001",
                              ge=0, le=10)
    share_floor: float = F(1e-3, "eps in ln(share + eps).", unit="share", gt=0, le=0.1,
                           source="assumption")
    outside_lag_months: float = F(12.0, "The outside option has the closed frontier's "
                                  "capability of this many months ago.", unit="months", ge=0,
                                  le=120, source="assumption (version 1)")
    # costs and prices
    frontier_serving_cost: float = F(
        7.5, "c_F: serving cost of a size-1 line at the frontier at step 0.",
        unit="USD per M tokens", gt=0, le=1000, source="CALIBRATION.md: GPT-4 Turbo 10/30 "
        "(2024-01), 15 blended 3:1, halved for a ~50 % inference gross margin (MODEL.md 5)")
    serving_cost_fall_per_year: float = F(
        2.5, "f: factor by which c_F falls a year (the flagship's price decline).",
        unit="x per year", ge=1, le=100, source="docs/mechanisms/pricing.md 1; CALIBRATION.md "
        "flagship list prices 2024-01 -> 2025-05 (1.5-4x a year)")
    cost_capability_slope: float = F(
        math.log(4.0) / 15.0, "gamma: log serving cost per capability point below the "
        "frontier, ln(D/f)/g.", unit="per point", ge=0, le=2,
        source="docs/mechanisms/pricing.md 1: D = 10x/yr (a16z LLMflation), f = 2.5, "
        "g = 15 points/yr (Epoch AI)")
    price_scope: Literal["global", "regional"] = F(
        "global", "One list price per line worldwide, or one per region (a structural "
        "alternative, MODEL.md 9).")
    price_adjustment: float = F(0.3, "phi: share of the log distance to the target markup "
                                "closed a month.", unit="per month", ge=0, le=1,
                                source="assumption (version 1)")
    markup_max: float = F(50.0, "Safeguard: price never exceeds this multiple of cost "
                          "(markup_capped reports it).", unit="x cost", gt=1, le=1000,
                          source="docs/mechanisms/pricing.md 4")
    third_party_margin: float = F(0.1, "Hosts of open weights price at cost x (1 + margin).",
                                  unit="fraction", ge=0, le=10, source="Nagle & Yue 2025 "
                                  "(open models priced near cost; CALIBRATION.md)")
    # capability
    rd_scale: float = F(2.5e7, "R0 at step 0: the R&D spend that buys g ln 2 points a month.",
                        unit="USD per month", gt=0, le=1e12,
                        source="docs/mechanisms/capability-and-ecosystems.md 2.4 (assumption)")
    compute_cost_fall_per_year: float = F(1.4, "Factor by which a dollar's compute grows a "
                                          "year.", unit="x per year", ge=1, le=10,
                                          source="Epoch AI hardware price-performance")
    difficulty_growth_per_year: float = F(
        3.5, "Factor by which the compute needed for a month's gain grows a year.",
        unit="x per year", ge=1, le=100,
        source="capability-and-ecosystems.md 2.3 (assumption; prior 3-5)")
    rd_productivity: float = F(1.25 / math.log(10.0), "g: points a month per ln(1 + R/R0).",
                               unit="points per month", ge=0, le=20,
                               source="capability-and-ecosystems.md 2.4 (assumption)")
    kappa_open: float = F(0.3, "Share of the gap to the best open model closed a month.",
                          unit="per month", ge=0, le=1,
                          source="capability-and-ecosystems.md 2.4 (assumption)")
    kappa_closed: float = F(0.1, "Share of the gap to the best closed model closed a month "
                            "(kappa_open + kappa_closed <= 1).", unit="per month", ge=0, le=1,
                            source="capability-and-ecosystems.md 2.4, 3.4 (assumption)")
    parent_budget_tracking: float = F(
        1.0, "Exponent on R0(t)/R0(0) by which a parent's committed lab budget grows (1: it "
        "keeps its lab's place in the race; 0: fixed 2024 dollars).", unit="exponent", ge=0,
        le=2, source="supply-finance-entry.md 3 (assumption)")
    absorption_budget: float = F(3.0e6, "R&D spend at which a firm takes up half the "
                                 "spill-overs (R / (R + R_abs)); 0 makes them free.",
                                 unit="USD per month", ge=0, le=1e12,
                                 source="capability-and-ecosystems.md 2.5 (assumption)")
    flagship_share: float = F(0.8, "Share of a firm's R&D on its best line.", unit="fraction",
                              ge=0, le=1, source="capability-and-ecosystems.md 2.2 "
                              "(assumption)")
    frontier_pace_before: float = F(8.0 / 12.0, "Frontier pace before step 0 (for "
                                    "gap_months).", unit="points per month", gt=0, le=100,
                                    source="Epoch AI: ~8 ECI points a year before 2024-04")
    # funding
    round_multiple: float = F(3.0, "Round size per unit of annualised revenue at the "
                              "reference growth.", unit="x run-rate", gt=0, le=100,
                              source="supply-finance-entry.md 2 (OpenAI $40B, 2025-03)")
    round_growth_reference: float = F(1.2, "G_ref: annual log revenue growth at which a "
                                      "round is round_multiple.", unit="log per year", gt=0,
                                      le=10, source="CALIBRATION.md: OpenAI run-rate $5.5B "
                                      "-> $10B, 2024-12 -> 2025-06")
    round_min_growth: float = F(0.0, "G_min: at or below it no revenue round.",
                                unit="log per year", ge=-10, le=10, source="MODEL.md 6.1")
    round_growth_elasticity: float = F(0.5, "Curvature of the round in growth.",
                                       unit="dimensionless", ge=0, le=5,
                                       source="assumption")
    round_leader_premium: float = F(0.5, "Extra multiple for a full capability lead.",
                                    unit="fraction", ge=0, le=10, source="assumption")
    round_leader_floor: float = F(6.5e8, "Round of a full leader whatever its revenue.",
                                  unit="USD", ge=0, le=1e12, source="CALIBRATION.md: Mistral "
                                  "EUR 600M round (2024-06)")
    runway_months: float = F(12.0, "A venture firm raises when cash is below this many "
                             "months of burn.", unit="months", gt=0, le=120,
                             source="assumption")
    months_between_rounds: int = F(6, "Minimum months between rounds.", unit="months", ge=0,
                                   le=120, source="assumption")
    max_round: float = F(4.0e10, "Largest venture round investors fund.", unit="USD",
                         gt=0, le=1e13, source="supply-finance-entry.md 2 (assumption: OpenAI's "
                         "$40B of 2025-03, the largest private round of the fit window)")
    drawdown_months: float = F(18.0, "A round is spent over this many months.", unit="months",
                               gt=0, le=240, source="assumption")
    parent_payout_share: Fraction = F(0.5, "Share of indirect value a parent pays its lab.",
                                      unit="fraction", source="assumption")
    parent_capacity_share: Fraction = F(0.2, "Share of the parent's budget the lab can get "
                                        "at most.", unit="fraction", source="assumption")
    # entry and exit
    entry_rate: float = F(4.0 / 6.0, "Potential entrants arriving a month (Poisson).",
                          unit="per month", ge=0, le=10, source="supply-finance-entry.md 6: "
                          "4 entries a year at an entry probability of 0.5")
    entry_cost: float = F(5e8, "Full entry cost at step 0.", unit="USD", gt=0, le=1e13,
                          source="supply-finance-entry.md 6 (assumption; $0.1-1B)")
    entry_cost_growth_per_year: float = F(2.4, "Factor by which entry cost grows a year.",
                                          unit="x per year", ge=0.1, le=100,
                                          source="Epoch AI: frontier training cost ~2.4x/yr")
    entry_horizon: int = F(36, "Months of margin an entrant values.", unit="months", ge=1,
                           le=240, source="assumption")
    discount_rate: float = F(0.15, "Entrants' discount rate.", unit="per year", ge=0, le=5,
                             source="assumption (venture hurdle rate)")
    entrant_open_gap: float = F(1.0, "An entrant building on open weights starts this far "
                                "below the best open model.", unit="points", ge=0, le=200,
                                source="assumption")
    entrant_open_cost_fraction: Fraction = F(0.1, "Its cost as a share of entry_cost.",
                                             unit="fraction", source="assumption")
    entrant_gap_no_open: float = F(20.0, "A from-scratch entrant starts this far below the "
                                   "closed frontier.", unit="points", ge=0, le=200,
                                   source="supply-finance-entry.md 6 (Grok-1 vs GPT-4)")
    entrant_open_probability: Fraction = F(0.5, "Probability an entrant's line is open.",
                                           unit="fraction", source="assumption")
    exit_after: int = F(3, "Months of negative cash before exit.", unit="months", ge=1,
                        le=120, source="assumption")
    acquisition_run_rate_multiple: float = F(1.0, "Acquisition price per unit of run-rate.",
                                             unit="x run-rate", ge=0, le=100,
                                             source="assumption (distressed discount)")
    # regions and openness
    withdrawal_horizon: int = F(12, "Months of margin weighed against a region's compliance "
                                "cost.", unit="months", ge=1, le=120, source="assumption")
    reentry_lag: int = F(6, "Months before a withdrawn line can return.", unit="months", ge=0,
                         le=120, source="assumption")
    review_months: int = F(12, "Mean months between a line's generations; each is an "
                           "adaptive firm's openness decision (a Poisson process).",
                           unit="months", ge=1, le=120,
                           source="openness.md 1 (release dates, indicative)")
    openness_switch_cost: float = F(5e7, "One-off cost a firm weighs against changing a line's "
                                    "openness (a decision friction, not booked as cash).",
                                    unit="USD", ge=0, le=1e12, source="assumption")
    release_gap: float = F(7.5, "Points a released older generation's weights trail the "
                           "closed line they come from.", unit="points", ge=0, le=100,
                           source="openness.md 5 (assumption: half a generation)")
    openness_noise: float = F(0.25, "Logit scale of the openness decision, as a share of the "
                              "line's value at stake (0: always the better option).",
                              unit="fraction", ge=0, le=10, source="openness.md 2 (assumption)")

    @model_validator(mode="after")
    def _joint_bounds(self) -> World:
        problems: Problems = []
        if self.kappa_open + self.kappa_closed > 1 + 1e-12:
            problems.append(("world.kappa_closed", "kappa_open + kappa_closed must be at most "
                             f"1 (capability-and-ecosystems.md 2.1), got "
                             f"{self.kappa_open:g} + {self.kappa_closed:g}"))
        if self.round_growth_reference <= self.round_min_growth:
            problems.append(("world.round_growth_reference", "must exceed round_min_growth "
                             f"({self.round_min_growth:g})"))
        if problems:
            raise ValueError(pack_problems(problems))
        return self
