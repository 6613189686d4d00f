"""The scenario format: frozen pydantic models mirroring the TOML file.

Every field has a type, bounds, a unit and its meaning in the description, a
default where one makes sense and, for numbers taken from the world, a source
(``json_schema_extra``: ``unit`` and ``source``; ``docs/scenario-reference.md``
is generated from them). Unknown keys are errors everywhere.

Cross-references (a vendor's home region, a policy's region, initial shares
naming vendors) are checked by :class:`Scenario` as a whole, so each error names
the dotted path of the offending value.
"""

from __future__ import annotations

import math
import re
import warnings
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from sim.metric_names import MARKET_METRICS
from sim.scenario.months import MONTH_PATTERN, step_of

__all__ = [
    "Name",
    "Segment",
    "Region",
    "Vendor",
    "Contributors",
    "World",
    "ScenarioMeta",
    "Experiment",
    "Policy",
    "BanOpenWeights",
    "BanVendors",
    "ComplianceCost",
    "OpenSourceSubsidy",
    "Interoperability",
    "Merger",
    "Trigger",
    "Scenario",
    "POLICY_KINDS",
    "ScenarioWarning",
]

FORMAT_VERSION = 1

WORLD_REGION = "World"
ALL_SEGMENTS = "all"
ALL_REGIONS = "*"

_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_MONTH_RE = re.compile(MONTH_PATTERN)


def _check_name(value: str) -> str:
    if not _NAME_RE.match(value):
        raise ValueError(f"invalid name {value!r}: use 1-64 letters, digits, '_' or '-' "
                         "(no spaces, slashes or dots)")
    return value


def _check_month(value: Any) -> Any:
    if not isinstance(value, str) or not _MONTH_RE.match(value):
        raise ValueError(f"expected a month as 'YYYY-MM' (e.g. '2026-01'), got {value!r}")
    return value


def _check_when(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 1200:
        return value
    if isinstance(value, str) and _MONTH_RE.match(value):
        return value
    raise ValueError(f"expected a month 'YYYY-MM' or a step number 0-1200, got {value!r}")


def _check_line(value: str) -> str:
    bad = _control_characters(value, allowed="")
    if bad:
        raise ValueError(f"must be one line of text without control characters, found {bad}")
    return value


def _check_text(value: str) -> str:
    bad = _control_characters(value, allowed="\n\r\t")
    if bad:
        raise ValueError(f"must be text without control characters (other than newlines and "
                         f"tabs), found {bad}")
    return value


def _control_characters(value: str, allowed: str) -> str:
    """The control characters of ``value`` not in ``allowed``, as escaped text ('' if none)."""
    import unicodedata

    found = sorted({c for c in value if c not in allowed and (
        unicodedata.category(c) in ("Cc", "Zl", "Zp")
        or "\u202a" <= c <= "\u202e" or "\u2066" <= c <= "\u2069")})
    return ", ".join(repr(c) for c in found)


def _reserved(value: str, reserved: str, what: str) -> str:
    # matched ignoring case: 'world' next to 'World' in one column would be easily confused,
    # and case-insensitive tools (spreadsheets, SQL collations) would merge the two
    if value.lower() == reserved.lower():
        raise ValueError(f"{what} name {value!r} is reserved for aggregates: {reserved!r} is "
                         f"the results' total over every {what}; choose another name "
                         "(reserved names are matched ignoring case)")
    return value


def _reserved_region(value: str) -> str:
    return _reserved(value, WORLD_REGION, "region")


def _reserved_segment(value: str) -> str:
    return _reserved(value, ALL_SEGMENTS, "segment")


Name = Annotated[str, AfterValidator(_check_name)]
"""Names of regions, segments and vendors: letters, digits, ``_`` and ``-``."""

Line = Annotated[str, AfterValidator(_check_line)]
"""One line of free text (titles, units, labels): no control characters."""

Text = Annotated[str, AfterValidator(_check_text)]
"""Free text that may span lines: no control characters but newlines and tabs."""

RegionName = Annotated[Name, AfterValidator(_reserved_region)]
"""A region's name: a :data:`Name` other than the aggregate ``World``."""

SegmentName = Annotated[Name, AfterValidator(_reserved_segment)]
"""A segment's name: a :data:`Name` other than the aggregate ``all``."""

MonthText = Annotated[str, BeforeValidator(_check_month)]
When = Annotated[str | int, BeforeValidator(_check_when)]
"""A calendar month ``"YYYY-MM"`` or a step number (0 = the scenario's start)."""



class ScenarioWarning(UserWarning):
    """A scenario that is valid but probably not what its author meant."""


def F(  # noqa: N802 - reads like pydantic's Field at the call site
    default: Any = ...,
    description: str = "",
    *,
    unit: str | None = None,
    source: str | None = None,
    **constraints: Any,
) -> Any:
    """A pydantic ``Field`` whose schema also carries ``unit`` and ``source``."""
    extra: dict[str, str] = {}
    if unit:
        extra["unit"] = unit
    if source:
        extra["source"] = source
    return Field(default, description=description, json_schema_extra=extra or None, **constraints)


class Frozen(BaseModel):
    """Base of every scenario model: immutable, strict about unknown keys."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        validate_default=True,
        str_strip_whitespace=False,
        allow_inf_nan=False,
        # a boolean is never a number and text is never a number (months = true, a
        # quoted "0.5"); an integer is still accepted where a float is expected
        strict=True,
    )


# --------------------------------------------------------------------------- scenario table


class ScenarioMeta(Frozen):
    """The ``[scenario]`` table: what this scenario is and its time frame."""

    format_version: Literal[1] = F(1, "Version of this file format; only 1 exists.")
    name: Line = F(..., "Free-text title shown in reports.", min_length=1, max_length=200)
    description: Text = F("", "What question the scenario asks and where its numbers come from.",
                         max_length=20_000)
    extends: str | None = F(
        None,
        "Parent scenario: a shipped scenario's name or a path relative to this file. "
        "Tables merge recursively (this file wins); regions, segments and vendors merge by "
        "name; policies are appended.",
    )
    start: MonthText = F("2025-07", "Calendar month of step 0, 'YYYY-MM'.", unit="month")
    months: int = F(60, "Number of monthly steps simulated after step 0.", unit="months",
                    ge=1, le=600)


class Experiment(Frozen):
    """The ``[experiment]`` table: defaults for runs (command-line options win)."""

    replications: int = F(20, "Replications per scenario.", ge=1, le=100_000)
    seed: int = F(0, "Root seed; replication i of every scenario uses the same stream.",
                  ge=0, le=2**63 - 1)


# --------------------------------------------------------------------------- world


class World(Frozen):
    """The ``[world]`` table: trends, technology and market-wide parameters."""

    network_effect: float = F(
        0.3, "Weight eta of ln(share) of a vendor's installed base in a cell in adopters' "
        "utility. Below 1 two symmetric vendors settle at equal shares; above 1 the market tips.",
        unit="utility per log-share", source="MODEL.md 4.1 (indicative); Brock & Durlauf 2001",
        ge=0, le=10)
    share_floor: float = F(1e-3, "eps in ln(share + eps): keeps the network term finite for "
                           "a vendor with no users.", unit="share", gt=0, le=0.1)
    serving_cost: float = F(
        0.25, "Serving cost per million tokens at step 0 of a model with cost factor 1.",
        unit="USD per M tokens", source="Nagle & Yue 2025 (open models average $0.23/M tokens)",
        gt=0)
    serving_cost_fall_per_year: float = F(
        3.0, "Factor by which serving cost at constant capability falls each year.",
        unit="x per year", source="MODEL.md 4.2 (indicative); a16z 'LLMflation' 2024", ge=1, le=100)
    serving_cost_per_point: float = F(
        0.0, "Serving cost grows by exp(this) per capability point a model gains over its "
        "starting capability (better models are bigger); with serving_cost_fall_per_year "
        "this separates the fast fall at constant capability from the slow fall at the "
        "frontier.", unit="log cost per point",
        source="calibrated to a16z 'LLMflation' (10x/yr at constant capability) and the slower "
        "frontier price decline", ge=0, le=2)
    rd_scale: float = F(
        3.0e8, "R0: R&D spend that buys g_rd*ln(2) capability points a month at step 0.",
        unit="USD per month", source="calibrated", gt=0)
    rd_scale_growth_per_year: float = F(
        2.0, "Factor by which R0 grows each year: a frontier point needs ~3x more compute a "
        "year while compute gets ~1.4x cheaper.", unit="x per year",
        source="Epoch AI: training compute 4-5x/yr, budgets 2-3x/yr", ge=0.1, le=100)
    rd_productivity: float = F(
        0.6, "g_rd: capability points a month per unit of ln(1 + R/R0).",
        unit="points per month", source="calibrated (frontier gains ~10 points a year)",
        ge=0, le=20)
    community_productivity: float = F(
        0.3, "g_c: capability points a month an open model gains at community effort E0.",
        unit="points per month", source="calibrated", ge=0, le=20)
    effort_scale: float = F(
        20_000.0, "E0: contributor effort (developer-months a month) that yields g_c points.",
        unit="developer-months per month", gt=0)
    effort_elasticity: float = F(
        0.5, "theta: diminishing returns of community effort, dq ~ (E/E0)^theta.",
        ge=0, le=1)
    spillover: float = F(
        0.05, "kappa: share of the gap to the best open model closed each month by anyone "
        "(open weights are a floor: distillation, fine-tuning).", unit="per month", ge=0, le=1)
    spillover_closed: float = F(
        0.0, "kappa_closed: share of the gap to the best closed model laggards close each month "
        "by learning from closed APIs.", unit="per month", ge=0, le=1)
    funding_growth_per_year: float = F(
        2.0, "Factor by which vendors' external funding grows each year.",
        unit="x per year", source="Epoch AI: development budgets 2-3x a year", ge=0.1, le=100)
    outside_lag_months: float = F(
        12.0, "The outside option (no model / in-house) has the capability the closed frontier "
        "had this many months ago.", unit="months", ge=0, le=120)
    outside_cost_fall_per_year: float = F(
        3.0, "Factor by which the outside option's cost falls each year (in-house runs on the "
        "same cheaper compute).", unit="x per year", ge=1, le=100)
    reference_capability: float = F(
        95.0, "Capability threshold for price_constant_capability: the cheapest price of this "
        "capability, from models at or above it (scaled down by serving_cost_per_point).",
        unit="points", ge=0)
    price_adjustment: float = F(
        0.3, "phi: share of the log-distance to the best-response price closed each month.",
        unit="per month", ge=0, le=1)
    markup_max: float = F(
        20.0, "Safeguard: price never exceeds this multiple of serving cost (results report "
        "when it binds).", unit="x cost", gt=1, le=1000)
    open_margin: float = F(
        0.1, "Margin of open vendors' hosted price over serving cost.", unit="fraction",
        source="Nagle & Yue 2025 (open models priced near cost)", ge=0, le=10)
    frontier_points_per_month: float = F(
        10.0 / 12.0, "Capability points the closed frontier gains per month, used to convert "
        "capability gaps into months for the outside option and reports.",
        unit="points per month", source="MODEL.md 2 (one point ~ five weeks)", gt=0)
    withdrawal_horizon: int = F(
        12, "Months of expected margin a vendor weighs against a region's compliance cost.",
        unit="months", ge=1, le=120)
    reentry_lag: int = F(
        6, "Months a vendor that withdrew waits before it can serve the region again.",
        unit="months", ge=0, le=120)
    exit_after: int = F(
        6, "A vendor whose cash stays negative this many months exits.", unit="months",
        ge=1, le=120)
    entry_rate: float = F(
        0.1, "Mean number of potential entrants arriving a month (Poisson).",
        unit="per month", source="Epoch AI: 12 developers above 1e25 FLOP by 2025", ge=0, le=10)
    entry_cost: float = F(
        2.0e9, "Sunk cost of entering at step 0 (training a competitive model).", unit="USD",
        gt=0)
    entry_cost_growth_per_year: float = F(
        2.0, "Factor by which the entry cost grows each year.", unit="x per year", ge=0.1, le=100)
    entry_horizon: int = F(
        36, "Months of expected margin a potential entrant weighs against the entry cost.",
        unit="months", ge=1, le=240)
    entrant_gap: float = F(
        3.0, "An entrant starts this many points below the best open model when one exists.",
        unit="points", ge=0)
    entrant_gap_no_open: float = F(
        25.0, "An entrant starts this many points below the closed frontier when no open model "
        "is available to build on.", unit="points", ge=0)
    entrant_funding: float = F(
        5.0e7, "External funding per month of an entrant at step 0.", unit="USD per month", ge=0)
    entrant_open_probability: float = F(
        0.5, "Probability an entrant releases open weights.", ge=0, le=1)
    openness_switch_cost: float = F(
        5.0e8, "One-off cost of switching openness (adaptive vendors weigh it).", unit="USD",
        ge=0)
    review_months: int = F(12, "Adaptive vendors review openness every this many months.",
                           unit="months", ge=1, le=120)
    review_horizon: int = F(24, "Months of expected profit an adaptive vendor compares.",
                            unit="months", ge=1, le=240)


# --------------------------------------------------------------------------- segments


class Segment(Frozen):
    """One ``[[segments]]`` item: a type of adopter, the same in every region."""

    name: SegmentName = F(..., "Segment name, e.g. enterprise, developer, consumer; not "
                          "'all' (the aggregate over segments).")
    remove: bool = F(False, "In a child scenario: drop this inherited segment.")
    unit: Line = F("adopter", "What one adopter is (organisation, developer, person).",
                  max_length=100)
    capability_weight: float = F(
        0.6, "beta: utility per capability point.", unit="utility per point",
        source="MODEL.md 4.1 (indicative)", ge=0, le=10)
    price_elasticity: float = F(
        2.0, "alpha: weight of -ln(price) in utility; the own-price elasticity at small share. "
        "Must exceed 1 for a profit-maximising price to exist (MODEL.md 4.3).",
        source="MODEL.md 4.1 (indicative)", gt=1, le=20)
    open_preference: float = F(
        0.0, "omega: utility of open weights (control, privacy, fine-tuning).",
        unit="utility", source="MODEL.md 4.1 (indicative)", ge=-10, le=10)
    switching_cost: float = F(
        0.5, "c: utility lost when leaving the current vendor.", unit="utility",
        source="MODEL.md 4.1 (indicative)", ge=0, le=20)
    reconsider_rate: float = F(
        0.1, "lambda: probability an adopter reconsiders its choice in a month.",
        unit="per month", source="MODEL.md 4.1 (indicative)", gt=0, le=1)
    home_bias: float = F(
        0.0, "Utility of a vendor homed in the adopter's own region.", unit="utility",
        ge=-10, le=10)
    usage: float = F(
        100.0, "tau: tokens an adopter uses a month at step 0.", unit="M tokens per month",
        gt=0)
    usage_growth_per_year: float = F(
        3.0, "Factor by which usage per adopter grows each year.", unit="x per year",
        ge=0.1, le=100)


# --------------------------------------------------------------------------- regions


class Region(Frozen):
    """One ``[[regions]]`` item: a jurisdiction with its adopters."""

    name: RegionName = F(..., "Region code, e.g. US, EU, CN, RoW; not 'World' (the "
                         "aggregate over regions).")
    remove: bool = F(False, "In a child scenario: drop this inherited region.")
    adopters: dict[Name, float] = F(
        default_factory=dict,
        description="Potential adopters per segment (`adopters.<segment>`), in the segment's unit; "
        "missing segments have none. An empty cell (or region) is allowed: its share-based "
        "metrics are NaN.", unit="adopters")
    initial_adoption: dict[Name, float] = F(
        default_factory=dict,
        description="Share of potential adopters using any vendor at step 0, per segment "
        "(`initial_adoption.<segment>`); missing segments use 0.5.", unit="fraction")
    initial_shares: dict[Name, float] = F(
        default_factory=dict,
        description="Vendors' shares of the region's adopters at step 0 (every segment), "
        "summing to at most 1; unlisted available vendors split the rest equally.",
        unit="fraction")
    segment_shares: dict[Name, dict[Name, float]] = F(
        default_factory=dict,
        description="Per-segment initial shares (`segment_shares.<segment>.<vendor>`) that "
        "replace initial_shares for that segment.", unit="fraction")
    contributor_share: float = F(
        0.25, "Share of contributor communities based in this region.", unit="fraction",
        ge=0, le=1)
    legal_friction: float = F(
        0.0, "Share of contributors' effort lost to legal uncertainty in this region.",
        unit="fraction", ge=0, lt=1)

    @field_validator("adopters")
    @classmethod
    def _adopters_non_negative(cls, value: dict[str, float]) -> dict[str, float]:
        for key, count in value.items():
            if not (math.isfinite(count) and 0 <= count <= 1e16):
                raise ValueError(f"adopters.{key} must be a finite number in [0, 1e16]")
        return value

    @field_validator("initial_adoption")
    @classmethod
    def _adoption_in_unit_interval(cls, value: dict[str, float]) -> dict[str, float]:
        for key, share in value.items():
            if not 0 <= share < 1:
                raise ValueError(f"initial_adoption.{key} must be in [0, 1), got {share}")
        return value

    @field_validator("initial_shares")
    @classmethod
    def _shares_valid(cls, value: dict[str, float]) -> dict[str, float]:
        return _check_shares(value, "initial_shares")

    @field_validator("segment_shares")
    @classmethod
    def _segment_shares_valid(
        cls, value: dict[str, dict[str, float]]
    ) -> dict[str, dict[str, float]]:
        for segment, shares in value.items():
            _check_shares(shares, f"segment_shares.{segment}")
        return value


def _check_shares(shares: dict[str, float], where: str) -> dict[str, float]:
    for key, share in shares.items():
        if not 0 <= share <= 1:
            raise ValueError(f"{where}.{key} must be in [0, 1], got {share}")
    total = sum(shares.values())
    if total > 1 + 1e-9:
        raise ValueError(f"{where} sum to {total:.4g}; they must sum to at most 1")
    return shares


# --------------------------------------------------------------------------- vendors


class Vendor(Frozen):
    """One ``[[vendors]]`` item: a model developer (a Mesa agent in the model)."""

    name: Name = F(..., "Vendor name, e.g. OpenAI, Meta.")
    remove: bool = F(False, "In a child scenario: drop this inherited vendor.")
    home: Name = F(..., "Home region (must be one of the scenario's regions).")
    openness: Literal["open", "closed"] = F(..., "Whether the vendor publishes model weights.")
    strategy: Literal["fixed", "adaptive"] = F(
        "fixed", "fixed keeps openness; adaptive reviews it every world.review_months.")
    capability: float = F(..., "q at step 0 (closed frontier ~100).", unit="points", ge=0,
                          le=1000)
    price: float | None = F(
        None, "Price per million tokens at step 0; omitted: the best-response price for closed "
        "vendors, cost plus open_margin for open ones.", unit="USD per M tokens", gt=0)
    cost_factor: float = F(
        1.0, "Serving cost relative to world.serving_cost (frontier closed models ~3x).",
        unit="x", source="MODEL.md 4.2 (indicative)", gt=0, le=100)
    cash: float = F(1.0e10, "Cash at step 0.", unit="USD")
    funding: float = F(5.0e8, "External funding (investors, parent) at step 0.",
                       unit="USD per month", ge=0)
    rd_share: float = F(0.6, "Share of funding plus profit spent on R&D.", unit="fraction",
                        ge=0, le=1)
    hosted_fraction: float = F(
        0.3, "Open vendors: share of their models' usage they host and bill.",
        unit="fraction", ge=0, le=1)
    indirect_value: float = F(
        0.0, "Open vendors: strategic value to the parent per adopter a month.",
        unit="USD per adopter per month", ge=0)
    license_restrictiveness: float = F(
        0.0, "Open vendors: how restrictive the licence is (0 permissive, 1 very).",
        unit="fraction", ge=0, le=1)
    regions: list[Name] | None = F(
        None, "Regions the vendor serves at step 0; omitted: all regions.")


# --------------------------------------------------------------------------- contributors


class Contributors(Frozen):
    """The ``[contributors]`` table: open-source communities and organisations."""

    count: int = F(300, "Number of contributor communities (agents).", ge=0, le=1_000_000)
    size_min: float = F(10.0, "Smallest community, in developers.", unit="developers", gt=0)
    size_shape: float = F(
        1.3, "Pareto shape of community sizes (heavy-tailed: a few do most of the work).",
        source="Dalle & David 2005 (high Gini of contributions)", gt=1, le=10)
    size_max: float = F(1.0e5, "Largest community (truncates the Pareto tail); at least "
                        "size_min.", unit="developers", gt=0)
    productivity: float = F(1.0, "Effort per developer a month.",
                            unit="developer-months per month", gt=0, le=10)
    initial_engaged: float = F(0.5, "Share of communities contributing to some ecosystem at "
                               "step 0 (split by open vendors' capability).", unit="fraction",
                               ge=0, le=1)
    reconsider_rate: float = F(0.1, "mu: probability a community reconsiders in a month.",
                               unit="per month", gt=0, le=1)
    capability_weight: float = F(0.15, "a_q: utility per capability point of the ecosystem.",
                                 unit="utility per point", ge=0, le=10)
    community_weight: float = F(0.3, "a_n: utility per ln(1 + effort) of the ecosystem "
                                "(Lerner & Tirole: visibility, peers).", ge=0, le=10)
    license_weight: float = F(1.0, "a_l: utility lost per unit of licence restrictiveness.",
                              ge=0, le=10)
    derivative_rate: float = F(
        0.05, "Derivative models (fine-tunes) per unit of effort a month (Poisson).",
        unit="models per developer-month", source="Meta: 60k+ Llama derivatives by Aug 2024 "
        "(check)", ge=0, le=100)

    @model_validator(mode="after")
    def _size_bounds(self) -> Contributors:
        if self.size_min > self.size_max:
            raise ValueError(_pack([("contributors.size_max",
                                     f"must be at least size_min ({self.size_min:g}), got "
                                     f"{self.size_max:g}")]))
        return self


# --------------------------------------------------------------------------- policies


class PolicyBase(Frozen):
    """Fields every policy has."""

    region: str = F("*", "Region the policy applies in, or '*' for every region.",
                    pattern=r"^([A-Za-z0-9_-]+|\*)$")
    start: When = F(0, "First month it applies: 'YYYY-MM' or a step number.")
    end: When | None = F(None, "First month it no longer applies; omitted: never ends.")
    label: Line = F("", "Free text shown in reports.", max_length=500)


class BanOpenWeights(PolicyBase):
    """Open-weights models unavailable in the region."""

    kind: Literal["ban_open_weights"]
    min_capability: float | None = F(
        None, "Only models at or above this capability are banned; omitted: all open models.",
        unit="points", ge=0)
    allow_contributors: bool = F(
        False, "Whether contributors in the region may still work on open ecosystems.")
    enforcement: float = F(
        1.0, "Share of the region's adopters the ban binds; the rest can still reach banned "
        "models (VPNs, self-hosting).", unit="fraction", ge=0, le=1)


class BanVendors(PolicyBase):
    """Named vendors, or vendors homed in named regions, unavailable in the region."""

    kind: Literal["ban_vendors"]
    vendors: list[Name] = F(default_factory=list, description="Vendors banned by name.")
    home_regions: list[Name] = F(
        default_factory=list, description="Vendors homed in these regions are banned.")
    openness: Literal["any", "open", "closed"] = F(
        "any", "Restrict the ban to open or closed vendors (e.g. US closed vendors in CN).")
    enforcement: float = F(1.0, "Share of the region's adopters the ban binds.",
                           unit="fraction", ge=0, le=1)

    @model_validator(mode="after")
    def _names_something(self) -> BanVendors:
        if not self.vendors and not self.home_regions:
            raise ValueError("ban_vendors needs 'vendors' or 'home_regions' (or both)")
        return self


class ComplianceCost(PolicyBase):
    """Regulatory compliance costs for vendors serving the region (EU AI Act style)."""

    kind: Literal["compliance_cost"]
    fixed: float = F(0.0, "Fixed cost per vendor serving the region.", unit="USD per month",
                     source="uncertain: CEPS / Center for Data Innovation estimates (high-risk)",
                     ge=0)
    revenue_share: float = F(0.0, "Share of revenue earned in the region.", unit="fraction",
                             ge=0, le=1)
    systemic_capability: float | None = F(
        None, "Models at or above this capability carry systemic risk (AI Act Art. 51, "
        "1e25 FLOP): no open-source exemption and systemic_fixed applies.", unit="points", ge=0)
    systemic_fixed: float | None = F(
        None, "Fixed cost above the systemic threshold; omitted: same as fixed.",
        unit="USD per month", ge=0)
    exempt_fraction: float = F(
        0.5, "Share of the fixed cost open models below the systemic threshold are exempt "
        "from (Art. 53(2) exempts them from two of four duties). Uncertain.",
        unit="fraction", source="AI Act Art. 53(2)", ge=0, le=1)
    contributor_friction: float = F(
        0.0, "Extra share of contributors' effort lost to legal friction in the region.",
        unit="fraction", ge=0, lt=1)


class OpenSourceSubsidy(PolicyBase):
    """Public money for open ecosystems in the region."""

    kind: Literal["open_source_subsidy"]
    budget: float = F(..., "Budget per month.", unit="USD per month", ge=0)
    recipients: Literal["vendors", "contributors", "both"] = F(
        "vendors", "Who receives it: open vendors available in the region (split by usage "
        "there), contributors (as extra effort), or both (split by contributor_fraction).")
    contributor_fraction: float = F(0.5, "With recipients = both: the contributors' part.",
                                    unit="fraction", ge=0, le=1)
    cost_per_effort: float = F(
        10_000.0, "Public cost of one developer-month of subsidised effort.",
        unit="USD per developer-month", gt=0)


class Interoperability(PolicyBase):
    """Mandated interoperability / portability: lower switching costs."""

    kind: Literal["interoperability"]
    switching_cost_multiplier: float = F(
        0.5, "m_r: multiplies every segment's switching cost in the region.", ge=0, le=10)


class Merger(PolicyBase):
    """At ``start``, ``target`` is absorbed by ``acquirer`` (adopters, cash; capability max)."""

    kind: Literal["merger"]
    acquirer: Name = F(..., "Vendor that survives.")
    target: Name = F(..., "Vendor absorbed.")

    @model_validator(mode="after")
    def _distinct(self) -> Merger:
        if self.acquirer == self.target:
            raise ValueError("a vendor cannot merge with itself")
        if self.end is not None:
            raise ValueError("a merger happens once at 'start'; remove 'end'")
        return self


NestedPolicy = Annotated[
    BanOpenWeights | BanVendors | ComplianceCost | OpenSourceSubsidy | Interoperability,
    Field(discriminator="kind"),
]


class Trigger(PolicyBase):
    """A reactive rule: when a metric crosses a threshold for N months, apply a policy."""

    kind: Literal["trigger"]
    metric: str = F(..., "Metric watched (e.g. hhi, open_share).")
    segment: str = F("all", "Segment of the metric, or 'all'.")
    above: float | None = F(None, "Fire when the metric is above this value.")
    below: float | None = F(None, "Fire when the metric is below this value.")
    months: int = F(3, "Consecutive months the condition must hold.", unit="months", ge=1,
                    le=600)
    duration: int = F(24, "Months the nested policy applies once fired.", unit="months", ge=1,
                      le=1200)
    repeat: bool = F(False, "Whether it may fire again after the policy expires.")
    policy: NestedPolicy = F(..., description="The policy applied (its region defaults to the "
                             "trigger's; its start and end are set when it fires).")

    @model_validator(mode="before")
    @classmethod
    def _nested_region(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("policy"), dict):
            nested = dict(data["policy"])
            nested.setdefault("region", data.get("region", ALL_REGIONS))
            data = {**data, "policy": nested}
        return data

    @model_validator(mode="after")
    def _one_direction(self) -> Trigger:
        if (self.above is None) == (self.below is None):
            raise ValueError("a trigger needs exactly one of 'above' or 'below'")
        if self.metric not in MARKET_METRICS:
            from sim.errors import did_you_mean

            raise ValueError(
                f"unknown metric {self.metric!r}{did_you_mean(self.metric, MARKET_METRICS)}"
            )
        return self


Policy = Annotated[
    BanOpenWeights
    | BanVendors
    | ComplianceCost
    | OpenSourceSubsidy
    | Interoperability
    | Merger
    | Trigger,
    Field(discriminator="kind"),
]

POLICY_KINDS: tuple[str, ...] = (
    "ban_open_weights",
    "ban_vendors",
    "compliance_cost",
    "open_source_subsidy",
    "interoperability",
    "merger",
    "trigger",
)


# --------------------------------------------------------------------------- the scenario


class Scenario(Frozen):
    """A fully resolved scenario (after ``extends`` and overrides).

    Load one with :func:`sim.load_scenario`; change it with
    :meth:`with_overrides`. It is immutable, so it can be shared between runs.

    Example:
        >>> import sim
        >>> sc = sim.load_scenario("baseline")
        >>> sc.regions[0].name
        'US'
        >>> sc.with_overrides({"world.network_effect": 1.2}).world.network_effect
        1.2
    """

    scenario: ScenarioMeta
    world: World = F(default_factory=World, description="Trends and market-wide parameters.")
    segments: list[Segment] = F(..., description="Adopter segments.", min_length=1)
    regions: list[Region] = F(..., description="Regions.", min_length=1)
    vendors: list[Vendor] = F(..., description="Vendors.", min_length=1)
    contributors: Contributors = F(default_factory=Contributors,
                                   description="Open-source contributor communities.")
    policies: list[Policy] = F(default_factory=list, description="Policies, in order.")
    experiment: Experiment = F(default_factory=Experiment, description="Run defaults.")

    @model_validator(mode="after")
    def _cross_references(self) -> Scenario:
        problems: list[tuple[str, str]] = []
        _unique(self.segments, "segments", problems)
        _unique(self.regions, "regions", problems)
        _unique(self.vendors, "vendors", problems)
        segments = [s.name for s in self.segments]
        regions = [r.name for r in self.regions]
        vendors = [v.name for v in self.vendors]
        for region in self.regions:
            base = f"regions.{region.name}"
            _known(region.adopters, segments, f"{base}.adopters", "segment", problems)
            _known(region.initial_adoption, segments, f"{base}.initial_adoption", "segment",
                   problems)
            _known(region.initial_shares, vendors, f"{base}.initial_shares", "vendor", problems)
            _known(region.segment_shares, segments, f"{base}.segment_shares", "segment",
                   problems)
            for seg, shares in region.segment_shares.items():
                _known(shares, vendors, f"{base}.segment_shares.{seg}", "vendor", problems)
        for vendor in self.vendors:
            base = f"vendors.{vendor.name}"
            _known([vendor.home], regions, f"{base}.home", "region", problems)
            if vendor.regions is not None:
                _known(vendor.regions, regions, f"{base}.regions", "region", problems)
        for i, policy in enumerate(self.policies):
            self._check_policy(policy, f"policies.{i}", regions, vendors, segments, problems)
        if problems:
            raise ValueError(_pack(problems))
        self._check_capability_valued()
        return self

    def _check_capability_valued(self) -> None:
        """Warn when a capability point costs a segment more (in price) than it is worth."""
        per_point = self.world.serving_cost_per_point
        for segment in self.segments:
            if segment.capability_weight <= segment.price_elasticity * per_point:
                warnings.warn(
                    f"segments.{segment.name}: capability_weight {segment.capability_weight:g} "
                    f"<= price_elasticity x world.serving_cost_per_point "
                    f"({segment.price_elasticity * per_point:.3g}): a better model lowers this "
                    "segment's utility, because serving it costs more than it is worth",
                    ScenarioWarning, stacklevel=2)

    def _check_policy(self, policy: Any, base: str, regions: list[str], vendors: list[str],
                      segments: list[str], problems: list[tuple[str, str]]) -> None:
        if policy.region != ALL_REGIONS:
            _known([policy.region], regions, f"{base}.region", "region", problems)
        try:
            start = step_of(policy.start, self.scenario.start)
            end = None if policy.end is None else step_of(policy.end, self.scenario.start)
        except ValueError as exc:  # pragma: no cover - patterns already checked
            problems.append((base, str(exc)))
            return
        if start < 0:
            problems.append((f"{base}.start", f"starts before the scenario "
                             f"({self.scenario.start}); use a month on or after it"))
        if end is not None and end <= start:
            problems.append((f"{base}.end", f"must be after start ({policy.start!r}), "
                             f"got {policy.end!r}"))
        if start > self.scenario.months and not isinstance(policy, Trigger):
            warnings.warn(f"{base} starts after the horizon ({self.scenario.months} months) "
                          "and never acts", ScenarioWarning, stacklevel=2)
        if isinstance(policy, BanVendors):
            _known(policy.vendors, vendors, f"{base}.vendors", "vendor", problems)
            _known(policy.home_regions, regions, f"{base}.home_regions", "region", problems)
        elif isinstance(policy, Merger):
            if start == 0:
                problems.append((f"{base}.start", "a merger cannot take effect at step 0 (the "
                                 f"scenario's start, {self.scenario.start}, and the default "
                                 "when 'start' is omitted): the initial state "
                                 "is data, so give the merged firm's shares instead, or set "
                                 "'start' to a later month (step 1 or more)"))
            _known([policy.acquirer], vendors, f"{base}.acquirer", "vendor", problems)
            _known([policy.target], vendors, f"{base}.target", "vendor", problems)
        elif isinstance(policy, Trigger):
            if policy.segment != "all":
                _known([policy.segment], segments, f"{base}.segment", "segment", problems)
            self._check_policy(policy.policy, f"{base}.policy", regions, vendors, segments,
                               problems)

    # -- convenience ---------------------------------------------------------------------------

    @property
    def region_names(self) -> list[str]:
        """Region names in file order."""
        return [r.name for r in self.regions]

    @property
    def segment_names(self) -> list[str]:
        """Segment names in file order."""
        return [s.name for s in self.segments]

    @property
    def vendor_names(self) -> list[str]:
        """Vendor names in file order."""
        return [v.name for v in self.vendors]

    def with_overrides(self, overrides: dict[str, Any] | None = None, **kw: Any) -> Scenario:
        """Return a copy with values changed by dotted path.

        Args:
            overrides: ``{"world.network_effect": 1.2, "vendors.Meta.openness": "closed"}``.
                Named items (regions, segments, vendors) are addressed by name, policies by
                index (``policies.0.start``). String values are parsed to the field's type
                (``"1.2"`` -> 1.2), as the command line's ``--set`` does.
            **kw: Not accepted; present to give a clear error if keywords are passed.

        Returns:
            A new validated Scenario.

        Raises:
            ScenarioError: Unknown path (with a suggestion) or a value of the wrong type.

        Example:
            >>> import sim
            >>> base = sim.load_scenario("baseline")
            >>> sc = base.with_overrides({"vendors.Meta.openness": "closed"})
            >>> next(v for v in sc.vendors if v.name == "Meta").openness
            'closed'
        """
        from sim.scenario.overrides import apply_overrides

        if kw:
            raise TypeError("pass overrides as a dict: with_overrides({'world.network_effect': 1})")
        return apply_overrides(self, overrides or {})

    def to_toml(self) -> str:
        """Return the resolved scenario as TOML that loads back to an equal scenario.

        The text spells out every value (no ``extends``); runs save their scenarios so.

        Example:
            >>> import sim, tempfile
            >>> sc = sim.load_scenario("eu_blocks_open")
            >>> path = tempfile.mkdtemp() + "/mine.toml"
            >>> with open(path, "w", encoding="utf-8") as f:
            ...     _ = f.write(sc.to_toml())
            >>> sim.load_scenario(path) == sc
            True
        """
        from sim.scenario.dump import dump_toml

        return dump_toml(self)


def _unique(items: list[Any], where: str, problems: list[tuple[str, str]]) -> None:
    seen: set[str] = set()
    for item in items:
        if item.name in seen:
            problems.append((f"{where}.{item.name}", f"duplicate name {item.name!r}"))
        seen.add(item.name)


def _known(names: Any, valid: list[str], where: str, what: str,
           problems: list[tuple[str, str]]) -> None:
    from sim.errors import did_you_mean

    for name in names:
        if name not in valid:
            problems.append((f"{where}.{name}" if not where.endswith((".home", ".region",
                                                                       ".acquirer", ".target",
                                                                       ".segment"))
                             else where,
                             f"unknown {what} {name!r}{did_you_mean(name, valid)}; "
                             f"known: {', '.join(valid)}"))


PROBLEM_SEPARATOR = "\x1f"


def _pack(problems: list[tuple[str, str]]) -> str:
    """Encode (path, message) pairs into one ValueError message (decoded by the loader)."""
    return PROBLEM_SEPARATOR.join(f"{path}{PROBLEM_SEPARATOR}{msg}" for path, msg in problems)
