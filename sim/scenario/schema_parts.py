"""The tables and named items of a scenario: world, segments, regions, firms and products.

The specification is docs/architecture.md section 8 (every field, with its unit) and
INTERFACES.md (the outline): firms (TOML ``[[vendors]]``) own product lines
(``[[vendors.products]]``), each with its own openness, capability, size and licence. Every
field has a type, bounds, a unit and a description, and numbers from the world carry a
``source`` (CALIBRATION.md facts, MODEL.md sections, docs/mechanisms/*.md) or say
"assumption". Every named array item (regions, segments, vendors, vendors.products) has
``name`` and ``remove`` so that ``extends`` can merge it by name. Checks that need the whole
scenario (names that refer to other items) are :class:`sim.scenario.schema.Scenario`'s. The
``[world]`` table, the longest, is :mod:`sim.scenario.schema_world` (re-exported here).
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
    RegionName,
    SegmentName,
    Text,
    When,
    pack_problems,
)
from sim.scenario.schema_world import World

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
