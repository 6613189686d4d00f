"""The tables and named items of a scenario: world, segments, regions, firms and products.

The specification is docs/architecture.md section 8 (every field, with its unit) and
INTERFACES.md (the outline): firms (TOML ``[[vendors]]``) own product lines
(``[[vendors.products]]``), each with its own openness, capability, size and licence. Every
field has a type, bounds, a unit and a description, and numbers from the world carry a
``source`` (CALIBRATION.md facts, MODEL.md sections, docs/mechanisms/*.md) or say
"assumption". Every named array item (regions, segments, vendors, vendors.products) has
``name`` and ``remove`` so that ``extends`` can merge it by name. Checks that need the whole
scenario (names that refer to other items) are :class:`sim.scenario.schema.Scenario`'s.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import Field, model_validator

from sim.scenario.base import (
    F,
    Fraction,
    Frozen,
    Line,
    MonthText,
    Name,
    Problems,
    RegionName,
    SegmentName,
    Text,
    When,
    pack_problems,
)

__all__ = ["ScenarioMeta", "World", "Segment", "Region", "Product", "Firm", "Harm",
           "Contributors", "FORMAT_VERSION"]

#: The scenario file format this package reads (version-1 files get a migration message).
FORMAT_VERSION = 2

_LN2 = math.log(2.0)
Count = Annotated[float, Field(ge=0, le=1e16)]
Growth = Annotated[float, Field(ge=0.1, le=10)]


class ScenarioMeta(Frozen):
    """The ``[scenario]`` table (``format_version`` is inherited through ``extends``)."""

    format_version: Literal[2] = F(..., "Version of the file format: 2 (version-1 files get "
                                   "a migration message, docs/migration-v2.md).")
    name: Line = F(..., "Free-text title shown in reports.", min_length=1, max_length=200)
    description: Text = F("", "The question the scenario asks and where its numbers come "
                          "from.", max_length=20_000)
    extends: str | None = F(None, "Parent scenario: a shipped scenario's name or a path "
                            "relative to this file.")
    start: MonthText = F("2024-01", "Calendar month of step 0, 'YYYY-MM'.", unit="month",
                         source="MODEL.md 2")
    months: int = F(83, "Steps after step 0 (83: last row 2030-12).", unit="months", ge=1,
                    le=600, source="MODEL.md 2")


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


class Segment(Frozen):
    """One ``[[segments]]`` item: a type of adopter, the same in every region."""

    name: SegmentName = F(..., "Segment name (not 'all', the aggregate).")
    remove: bool = F(False, "In a child scenario: drop this inherited segment.")
    unit: Line = F("adopter", "What one adopter is (organisation, developer, person).",
                   max_length=100)
    billing: Literal["tokens", "subscription"] = F("tokens", "How adopters pay.")
    relevant_market: Literal["revenue", "usage", "users"] = F(
        "revenue", "Measure of hhi_market (MODEL.md 8: enterprise revenue, consumer users, "
        "developer usage).")
    bass_p: float = F(0.0025, "Bass innovation rate.", unit="per month", ge=0, le=1,
                      source="Sultan, Farley & Lehmann 1990: 0.03 a year (a prior)")
    bass_q: float = F(0.0317, "Bass imitation rate.", unit="per month", ge=0, le=1,
                      source="Sultan, Farley & Lehmann 1990: 0.38 a year (a prior)")
    capability_weight: float = F(0.4, "beta: utility per capability point.",
                                 unit="utility per point", ge=0, le=10,
                                 source="MODEL.md 4.3 (indicative): version 1's 0.6 x 10/15")
    price_weight: float = F(2.0, "alpha: weight of -ln(price) in utility.",
                            unit="utility per log-price", ge=0, le=20,
                            source="MODEL.md 4.3 (indicative; version 1)")
    open_preference: float = F(0.0, "omega: utility of open weights.", unit="utility",
                               ge=-10, le=10, source="assumption")
    switching_cost: float = F(0.5, "Utility lost when leaving the current product.",
                              unit="utility", ge=0, le=20, source="assumption (version 1)")
    reconsider_rate: float = F(0.1, "lambda: probability an adopter reconsiders a month.",
                               unit="per month", gt=0, le=1, source="assumption (version 1)")
    home_bias: float = F(0.0, "Utility of a firm homed in the adopter's region.",
                         unit="utility", ge=-10, le=10, source="assumption")
    ecosystem_weight: float = F(0.1, "d_s: utility per ln(1 + ecosystem size).",
                                unit="utility per log-size", ge=0, le=10,
                                source="assumption (capability-and-ecosystems.md 5)")
    usage: float = F(100.0, "tau_s: usage per adopter at step 0 at the reference price.",
                     unit="M tokens per adopter-month", gt=0, le=1e9,
                     source="assumption (version 1)")
    usage_growth_per_year: float = F(3.0, "Factor by which tau_s grows a year.",
                                     unit="x per year", ge=0.1, le=100,
                                     source="assumption (version 1)")
    usage_elasticity: float = F(1.5, "e_s: price elasticity of usage; above 1 by "
                                "construction (MODEL.md 5).", unit="dimensionless", gt=1, le=10,
                                source="assumption; spend rose as prices fell (CALIBRATION.md"
                                ", Menlo 2025)")
    reference_price: float = F(10.0, "p_ref at step 0.", unit="USD per M tokens", gt=0,
                               le=1000, source="assumption: near the 2024-01 flagship list "
                               "price (CALIBRATION.md)")
    reference_price_tracking: Fraction = F(0.0, "theta_s: p_ref(t) = p_ref (c_F(t) / c_F(0))"
                                           "^theta; 0 a fixed reference, 1 one that follows "
                                           "serving costs.", unit="fraction",
                                           source="assumption (calibrated)")
    usage_satiation: float = F(20.0, "S_s: the most an adopter uses, as a multiple of "
                               "tau_s(t) (approached smoothly as the price falls).",
                               unit="multiple of tau_s", gt=1, le=1e6,
                               source="assumption: an adopter has only so many tasks")
    paying_fraction: Fraction = F(0.05, "Subscription segments: share of adopters who pay.",
                                  unit="fraction", source="assumption")


class Region(Frozen):
    """One ``[[regions]]`` item: a jurisdiction with its adopters per segment."""

    name: RegionName = F(..., "Region code, e.g. US, EU, CN (not 'World', the aggregate).")
    remove: bool = F(False, "In a child scenario: drop this inherited region.")
    adopters: dict[Name, Count] = F(default_factory=dict, description="Potential adopters "
                                    "per segment at step 0 (missing: none).",
                                    unit="adopters")
    adopters_growth_per_year: dict[Name, Growth] = F(
        default_factory=dict, description="Factor by which potential grows a year, per "
        "segment (missing: 1).", unit="x per year")
    aware: dict[Name, Fraction] = F(default_factory=dict, description="Share of potential "
                                    "aware at step 0, per segment (missing: the adoption "
                                    "share).", unit="fraction")
    adoption: dict[Name, Fraction] = F(default_factory=dict, description="Share of potential "
                                       "using a product at step 0, per segment, at most aware "
                                       "(missing: 0).", unit="fraction")
    shares: dict[Name, dict[Name, Fraction]] = F(
        default_factory=dict, description="shares.<segment>.<product>: product shares of the "
        "cell's users at step 0, summing to at most 1; unlisted available products share the "
        "rest.", unit="fraction")
    contributor_share: Fraction = F(0.25, "Share of contributor communities based here.",
                                    unit="fraction", source="assumption")
    legal_friction: float = F(0.0, "Share of contributors' effort lost to legal uncertainty.",
                              unit="fraction", ge=0, lt=1, source="assumption")
    exposure: float | None = F(None, "Weight in leaked harm (normalised over regions); "
                               "omitted: the region's consumer potential.", unit="weight", ge=0,
                               le=1e16,
                               source="welfare-and-harm.md 1 (exposure rule)")


class Product(Frozen):
    """One ``[[vendors.products]]`` item: a product line owned by a firm."""

    name: Name = F(..., "Product name, unique across the scenario (e.g. GPT, gpt-oss).")
    remove: bool = F(False, "In a child scenario: drop this inherited product line.")
    openness: Literal["open", "closed"] = F(..., "Whether the line's weights are published.")
    capability: float = F(..., "q at launch (ECI-like index; the closed frontier at step 0 is "
                          "about 100).", unit="points", ge=0, le=1000)
    size: float = F(1.0, "Serving-cost factor (c_k = c_F size exp(-gamma gap)).", unit="x",
                    gt=0, le=100, source="docs/mechanisms/pricing.md 1")
    licence: Fraction = F(0.0, "Licence restrictiveness (0 permissive, e.g. Apache 2.0 0.1, "
                          "Llama licence 0.5).", unit="fraction",
                          source="capability-and-ecosystems.md 4.3 (assumption)")
    hosted_fraction: Fraction = F(0.3, "Open lines: share of usage served by the owner's "
                                  "API.", unit="fraction", source="assumption (version 1)")
    self_hosted_fraction: Fraction = F(0.3, "Open lines: share run by users themselves, "
                                       "unbilled (the rest: third-party hosts).",
                                       unit="fraction", source="assumption")
    launch: When | None = F(None, "Launch month ('YYYY-MM') or step; omitted or before the "
                            "start: on the market at step 0.", unit="month")
    subscription_price: float = F(20.0, "Subscription segments: monthly price.",
                                  unit="USD per month", gt=0, le=10_000,
                                  source="indicative: consumer assistant plans at $20/month")
    price: float | None = F(None, "List price at step 0; omitted: the Nash price (closed or "
                            "owner-hosted) or cost x (1 + margin).", unit="USD per M tokens",
                            gt=0, le=10_000)
    regions: list[Name] | None = F(None, "Regions served at step 0; omitted: the firm's.")


class Firm(Frozen):
    """One ``[[vendors]]`` item: a firm (a Mesa agent) owning product lines."""

    name: Name = F(..., "Firm name, e.g. OpenAI, Meta.")
    remove: bool = F(False, "In a child scenario: drop this inherited firm.")
    home: Name = F(..., "Home region (one of the scenario's regions).")
    funding: Literal["venture", "parent"] = F("venture", "Venture rounds or a parent's "
                                              "budget (MODEL.md 6.1).")
    cash: float = F(1e9, "Cash at step 0.", unit="USD", ge=0, le=1e15, source="assumption")
    rd_share: Fraction = F(0.7, "Share of funding and profit spent on R&D.", unit="fraction",
                           source="supply-finance-entry.md 2 (assumption)")
    strategy: Literal["fixed", "adaptive"] = F("fixed", "Whether the firm decides its lines' "
                                               "openness (MODEL.md 6.5).")
    indirect_value: float = F(0.0, "Value to a parent per user-month (ads, data).",
                              unit="USD per user-month", ge=0, le=1000,
                              source="indicative: a few USD, ad-funded platforms")
    parent_budget: float = F(0.0, "Parent-funded: the parent's capacity; the lab gets at "
                             "most world.parent_capacity_share of it.", unit="USD per month",
                             ge=0, le=1e13)
    lab_budget: float = F(0.0, "Parent-funded: what the parent commits to the lab each month "
                          "whatever its users (capped like every transfer at "
                          "world.parent_capacity_share x parent_budget).", unit="USD per month",
                          ge=0, le=1e13, source="assumption (labs' budgets are not published)")
    regions: list[Name] | None = F(None, "Regions served at step 0; omitted: all.")
    products: list[Product] = F(..., description="Its product lines.", min_length=1)


class Harm(Frozen):
    """The ``[harm]`` table (MODEL.md 7; defaults are the priors' centres)."""

    misuse_premium: float = F(1.0, "m: open weights' harm per use is 1 + m times a closed "
                              "model's at equal capability.", unit="ratio", ge=0, le=100,
                              source="welfare-and-harm.md 1: log-uniform prior [0.01, 100] "
                              "with an atom at 0 (Kapoor et al. 2024)")
    leakage: Fraction = F(0.5, "L: share of open harm that is global.", unit="fraction",
                          source="welfare-and-harm.md 1 (assumption: uniform [0, 1])")
    openness_discount: float = F(0.25, "delta: benefits of openness per use.",
                                 unit="fraction", ge=0, lt=1, source="welfare-and-harm.md 1 "
                                 "(uniform [0, 0.5]; Kapoor et al. 2024)")
    hazard_scale: float = F(10.0 ** -1.5, "h0: harm per M tokens of a closed line at the "
                            "reference capability.", unit="USD per M tokens", ge=0, le=1000,
                            source="welfare-and-harm.md 1 (log-uniform [1e-4, 10])")
    hazard_capability_slope: float = F(_LN2 / 15.0, "kappa: log hazard per point.",
                                       unit="per point", ge=0, le=1,
                                       source="welfare-and-harm.md 1 (uniform [0, ln 4/15])")
    reference_capability: float = F(100.0, "q_ref: the closed frontier at step 0.",
                                    unit="points", ge=0, le=1000,
                                    source="welfare-and-harm.md 1 (a normalisation)")
    task_deflation: Fraction = F(1.0, "d: harm counts tokens deflated by the growth of tokens "
                                 "per task (usage_growth_per_year ** (d t)): 1 is harm per "
                                 "2024-equivalent task, 0 per raw token.", unit="fraction",
                                 source="welfare-and-harm.md 1 (assumption; a structural "
                                 "alternative)")


class Contributors(Frozen):
    """The ``[contributors]`` table (MODEL.md 6.4; capability-and-ecosystems.md 4)."""

    count: int = F(300, "Contributor communities (agents).", unit="communities", ge=0,
                    le=1_000_000, source="assumption (version 1)")
    size_min: float = F(10.0, "Smallest community.", unit="developers", gt=0, le=1e7,
                         source="assumption (version 1)")
    size_shape: float = F(1.3, "Pareto shape of sizes.", unit="dimensionless", gt=1, le=10,
                          source="Dalle & David 2005 (version 1)")
    size_max: float = F(1e5, "Largest community (at least size_min).", unit="developers",
                        gt=0, le=1e8, source="assumption (version 1)")
    productivity: float = F(1.0, "Effort per developer; 0 switches communities off.",
                            unit="developer-months per month", ge=0, le=10,
                            source="assumption (version 1)")
    initial_engaged: Fraction = F(0.5, "Share engaged at step 0.", unit="fraction",
                                  source="assumption")
    reconsider_rate: float = F(0.1, "mu: probability a community reconsiders a month.",
                               unit="per month", gt=0, le=1, source="assumption (version 1)")
    capability_weight: float = F(0.10, "a_q: utility per point.", unit="utility per point",
                                 ge=0, le=10, source="version 1's 0.15 x 10/15")
    ecosystem_weight: float = F(0.3, "a_n: utility per ln(1 + ecosystem size) (below 1: no "
                                "tipping).", unit="utility per log-size", ge=0, le=10,
                                source="assumption (version 1)")
    licence_weight: float = F(1.0, "a_l: utility per unit of licence restrictiveness.",
                              unit="utility per unit", ge=0, le=10, source="assumption (version 1)")
    effort_scale: float = F(2e4, "E0: effort that yields community_gain.",
                            unit="developer-months per month", gt=0, le=1e9,
                            source="capability-and-ecosystems.md 4.3 (normalisation)")
    capability_effect: Literal["on", "off"] = F(
        "on", "Whether contributors' effort raises their open family's capability; off keeps "
        "their effort, the ecosystem size D_k and its pull on developers (a structural "
        "alternative, MODEL.md 9).")
    community_gain: float = F(0.125, "g_c: points a month at effort E0.",
                              unit="points per month", ge=0, le=20,
                              source="capability-and-ecosystems.md 4.3 (assumption)")
    effort_elasticity: float = F(0.5, "theta: returns to effort, (E/E0)^theta.",
                                 unit="dimensionless", ge=0, le=1,
                                 source="assumption (version 1)")
    derivative_rate: float = F(_LN2 / 12.0 * 113_000 / 2e4, "rho: derivatives per "
                               "developer-month.", unit="models per developer-month", ge=0,
                               le=100, source="HF retrospective: Qwen >113k derivatives "
                               "mid-2025 (CALIBRATION.md); rho = delta x 113,000 / E0")
    derivative_decay: float = F(_LN2 / 12.0, "delta: share of derivatives superseded a "
                                "month.", unit="per month", ge=0, le=1,
                                source="capability-and-ecosystems.md 4.3 (assumption)")

    @model_validator(mode="after")
    def _size_bounds(self) -> Contributors:
        if self.size_min > self.size_max:
            raise ValueError(pack_problems([("contributors.size_max", f"must be at least size_min "
                                     f"({self.size_min:g}), got {self.size_max:g}")]))
        return self
