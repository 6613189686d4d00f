"""The ``[[policies]]`` items of a scenario (MODEL.md 7; docs/architecture.md 8).

Policies act on **product lines** and **firms** (the TOML key of firms stays ``vendors``).
Each has a ``label`` (policies are addressed by label as well as by index), a ``region``
(``"*"``: every region), a ``start`` and an optional ``end`` (a month ``"YYYY-MM"`` or a step
number). Names a policy refers to (regions, segments, firms, products) are checked by
:class:`sim.scenario.schema.Scenario`, which sees the whole scenario and gives dotted paths.
"""

from __future__ import annotations

import math
import warnings
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from sim.metric_names import MARKET_METRICS, VERSION_1_METRICS
from sim.scenario.base import (
    ALL_REGIONS,
    ALL_SEGMENTS,
    F,
    Fraction,
    Frozen,
    Line,
    Name,
    Problems,
    ScenarioWarning,
    When,
)
from sim.scenario.months import step_of

__all__ = [
    "POLICY_KINDS",
    "PolicyBase",
    "BanOpenWeights",
    "BanVendors",
    "ComplianceCost",
    "OpenSourceSubsidy",
    "Interoperability",
    "Merger",
    "Withhold",
    "Trigger",
    "NestedPolicy",
    "Policy",
    "check_policies",
]

POLICY_KINDS: tuple[str, ...] = (
    "ban_open_weights", "ban_vendors", "compliance_cost", "open_source_subsidy",
    "interoperability", "merger", "withhold", "trigger",
)


class PolicyBase(Frozen):
    """Fields every policy has: where and when it acts, and its label."""

    label: Line = F("", "Name shown in reports; policies can be addressed by it in override "
                    "paths (policies.\"EU bans open weights\".start), so labels are unique.",
                    max_length=500)
    region: str = F(ALL_REGIONS, "Region the policy applies in, or '*' for every region.",
                    pattern=r"^([A-Za-z0-9_-]+|\*)$")
    start: When = F(0, "First month it applies: 'YYYY-MM' or a step number (0 = the "
                    "scenario's start).", unit="month")
    end: When | None = F(None, "First month it no longer applies (after start); omitted: "
                         "never ends.", unit="month")


class BanOpenWeights(PolicyBase):
    """Open-weights product lines unavailable in the region; the owners' closed lines stay."""

    kind: Literal["ban_open_weights"]
    min_capability: float | None = F(
        None, "Only open lines at or above this capability are banned; omitted: every open "
        "line.", unit="points", ge=0, le=1000)
    allow_contributors: bool = F(
        False, "Whether the region's contributors may still work on banned open families.")
    enforcement: Fraction | dict[Name, Fraction] = F(
        1.0, "Share of the region's adopters the ban binds (the rest self-host or use VPNs): "
        "one number, or a table per segment (developers evade more than enterprises; "
        "segments not listed: 1).", unit="fraction",
        source="assumption (MODEL.md 7: evasion differs by segment)")
    download_decay: float = F(
        math.log(2.0) / 12.0, "Share of the usage of weights downloaded before the ban that "
        "stops each month (they cannot be recalled; they are superseded).", unit="per month",
        source="assumption: a base generation is superseded in about a year "
        "(docs/mechanisms/capability-and-ecosystems.md 4.3)", ge=0, le=1)


class BanVendors(PolicyBase):
    """Named firms or product lines, or firms homed in named regions, unavailable there."""

    kind: Literal["ban_vendors"]
    vendors: list[Name] = F(default_factory=list, description="Firms banned by name (all "
                            "their product lines).")
    products: list[Name] = F(default_factory=list, description="Product lines banned by name.")
    home_regions: list[Name] = F(default_factory=list, description="Firms homed in these "
                                 "regions are banned.")
    openness: Literal["any", "open", "closed"] = F(
        "any", "Restrict the ban to open or closed product lines (e.g. US closed lines in CN).")
    enforcement: Fraction = F(1.0, "Share of the region's adopters the ban binds.",
                              unit="fraction", source="assumption")

    @model_validator(mode="after")
    def _names_something(self) -> BanVendors:
        if not (self.vendors or self.products or self.home_regions):
            raise ValueError("ban_vendors needs 'vendors', 'products' or 'home_regions'")
        return self


class ComplianceCost(PolicyBase):
    """Compliance costs for product lines served in the region (EU AI Act GPAI duties)."""

    kind: Literal["compliance_cost"]
    fixed: float = F(
        0.0, "Fixed cost per product line a firm serves in the region (GPAI duties attach to "
        "models).", unit="USD per month", ge=0, le=1e12,
        source="uncertain: CALIBRATION.md Regulation (CEPS, Center for Data Innovation "
        "high-risk estimates); wide prior")
    revenue_share: Fraction = F(0.0, "Share of revenue earned in the region.", unit="fraction",
                                source="assumption")
    systemic_capability: float | None = F(
        None, "Lines at or above this capability carry systemic risk (AI Act Art. 51(2), "
        "1e25 FLOP): no open-source exemption and systemic_fixed applies.", unit="points",
        ge=0, le=1000, source="CALIBRATION.md Regulation: AI Act Art. 51(2)")
    systemic_fixed: float | None = F(
        None, "Fixed cost per line above the systemic threshold; omitted: same as fixed.",
        unit="USD per month", ge=0, le=1e12)
    exempt_fraction: Fraction = F(
        0.5, "Share of the fixed cost open lines below the systemic threshold are exempt from "
        "(Art. 53(2) exempts them from two of four duties).", unit="fraction",
        source="CALIBRATION.md Regulation: AI Act Art. 53(1)-(2)")
    contributor_friction: float = F(
        0.0, "Extra share of contributors' effort lost to legal friction in the region.",
        unit="fraction", ge=0, lt=1, source="assumption")


class OpenSourceSubsidy(PolicyBase):
    """Public money for open ecosystems in the region."""

    kind: Literal["open_source_subsidy"]
    budget: float = F(..., "Budget per month.", unit="USD per month", ge=0, le=1e12)
    recipients: Literal["vendors", "contributors", "both"] = F(
        "vendors", "Who receives it: firms with open lines available in the region (split by "
        "open usage there), contributors (as extra effort), or both.")
    contributor_fraction: Fraction = F(0.5, "With recipients = both: the contributors' part.",
                                       unit="fraction", source="assumption")
    cost_per_effort: float = F(
        10_000.0, "Public cost of one developer-month of subsidised effort.",
        unit="USD per developer-month", gt=0, le=1e7, source="assumption (version 1)")


class Interoperability(PolicyBase):
    """Mandated interoperability / portability: lower switching costs."""

    kind: Literal["interoperability"]
    switching_cost_multiplier: float = F(
        0.5, "Multiplies every segment's switching cost in the region.", unit="x",
        ge=0, le=10, source="assumption (version 1)")


class Merger(PolicyBase):
    """At ``start`` (step 1 or later) firm ``target`` is absorbed by ``acquirer``.

    The acquirer takes the target's product lines (with their adopters) and its cash.
    """

    kind: Literal["merger"]
    acquirer: Name = F(..., "Firm that survives.")
    target: Name = F(..., "Firm absorbed (must differ from acquirer).")


class Withhold(PolicyBase):
    """A firm withholds named product lines from a region (Meta, EU, 2024: dated data)."""

    kind: Literal["withhold"]
    vendor: Name = F(..., "The firm that withholds.")
    products: list[Name] = F(..., description="Its product lines withheld from the region.",
                             min_length=1)
    segments: list[Name] | None = F(None, description="Segments it is withheld from; omitted: "
                                    "all (Meta AI was withheld from EU consumers while Llama "
                                    "stayed open to EU developers).")


NestedPolicy = Annotated[
    BanOpenWeights | BanVendors | ComplianceCost | OpenSourceSubsidy | Interoperability,
    Field(discriminator="kind"),
]


class Trigger(PolicyBase):
    """A reactive rule: when a metric crosses a threshold for N months, apply a policy."""

    kind: Literal["trigger"]
    metric: str = F(..., "Metric watched: a market metric of version 2 (INTERFACES.md "
                    "'Metrics'; docs/scenario-reference.md lists them with their units).")
    segment: Name = F("all", "Segment of the metric, or 'all'.")
    above: float | None = F(None, "Fire when the metric is above this value (the metric's "
                            "unit).")
    below: float | None = F(None, "Fire when the metric is below this value (the metric's "
                            "unit).")
    months: int = F(3, "Consecutive months the condition must hold.", unit="months", ge=1,
                    le=600)
    duration: int = F(24, "Months the nested policy applies once fired.", unit="months", ge=1,
                      le=1200)
    repeat: bool = F(False, "Whether it may fire again after the policy expires.")
    policy: NestedPolicy = F(..., description="The policy applied (its region defaults to "
                              "the trigger's; its start and end are set when it fires).")

    @model_validator(mode="before")
    @classmethod
    def _nested_region(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("policy"), dict):
            nested = dict(data["policy"])
            nested.setdefault("region", data.get("region", ALL_REGIONS))
            data = {**data, "policy": nested}
        return data

    @model_validator(mode="after")
    def _metric_and_direction(self) -> Trigger:
        if (self.above is None) == (self.below is None):
            raise ValueError("a trigger needs exactly one of 'above' or 'below'")
        if self.metric not in MARKET_METRICS:
            from sim.errors import did_you_mean

            renamed = VERSION_1_METRICS.get(self.metric)
            hint = (f" (did you mean {renamed!r}? version 1's {self.metric!r} was renamed: "
                    "docs/migration-v2.md)" if renamed
                    else did_you_mean(self.metric, MARKET_METRICS))
            raise ValueError(f"unknown metric {self.metric!r}{hint}")
        return self


Policy = Annotated[
    BanOpenWeights | BanVendors | ComplianceCost | OpenSourceSubsidy | Interoperability
    | Merger | Withhold | Trigger,
    Field(discriminator="kind"),
]


# --------------------------------------------------------------------------- cross-references


def check_policies(scenario: Any, owner: dict[str, Any], problems: Problems) -> None:
    """Check every policy's window and names against the whole scenario.

    Args:
        scenario: The :class:`~sim.scenario.schema.Scenario` being validated.
        owner: The firm owning each product line, by product name.
        problems: Where (dotted path, message) pairs are appended.
    """
    names = {
        "region": [r.name for r in scenario.regions],
        "segment": [s.name for s in scenario.segments],
        "vendor": [v.name for v in scenario.vendors],
        "product": list(owner),
    }
    labels: dict[str, int] = {}
    for i, policy in enumerate(scenario.policies):
        base = f"policies.{i}"
        if policy.label:
            if policy.label in labels:
                problems.append((f"{base}.label", f"duplicate label {policy.label!r} (also "
                                 f"policies.{labels[policy.label]}): labels address policies"))
            labels.setdefault(policy.label, i)
        _check_window(policy, base, scenario.scenario, problems)
        _check_names(policy, base, names, owner, problems)
        if isinstance(policy, Trigger):
            _check_names(policy.policy, f"{base}.policy", names, owner, problems)


def _check_window(policy: Any, base: str, meta: Any, problems: Problems) -> None:
    start = step_of(policy.start, meta.start)
    if start < 0:
        problems.append((f"{base}.start", f"starts before the scenario ({meta.start}); use a "
                         "month on or after it"))
    if policy.end is not None and step_of(policy.end, meta.start) <= start:
        problems.append((f"{base}.end", f"must be after start ({policy.start!r}), got "
                         f"{policy.end!r}"))
    if isinstance(policy, Merger):
        if policy.end is not None:
            problems.append((f"{base}.end", "a merger happens once at 'start'; remove 'end'"))
        if start == 0:
            problems.append((f"{base}.start", "a merger cannot take effect at step 0 (the "
                             "initial state is data): give the merged firm's lines instead, "
                             "or start at step 1 or later"))
    if start > meta.months:
        warnings.warn(f"{base} starts after the horizon ({meta.months} months) and never "
                      "acts", ScenarioWarning, stacklevel=5)


def _check_names(policy: Any, base: str, names: dict[str, list[str]], owner: dict[str, Any],
                 problems: Problems) -> None:
    if policy.region != ALL_REGIONS:
        known_names([policy.region], names["region"], f"{base}.region", "region", problems, True)
    if isinstance(policy, BanOpenWeights) and isinstance(policy.enforcement, dict):
        known_names(policy.enforcement, names["segment"], f"{base}.enforcement", "segment",
               problems)
    elif isinstance(policy, BanVendors):
        known_names(policy.vendors, names["vendor"], f"{base}.vendors", "vendor", problems)
        known_names(policy.products, names["product"], f"{base}.products", "product", problems)
        known_names(policy.home_regions, names["region"], f"{base}.home_regions", "region",
               problems)
    elif isinstance(policy, Merger):
        known_names([policy.acquirer], names["vendor"], f"{base}.acquirer", "vendor", problems,
                    True)
        known_names([policy.target], names["vendor"], f"{base}.target", "vendor", problems, True)
        if policy.acquirer == policy.target:
            problems.append((f"{base}.target", f"a firm cannot merge with itself "
                             f"({policy.target!r} is also the acquirer)"))
    elif isinstance(policy, Withhold):
        known_names([policy.vendor], names["vendor"], f"{base}.vendor", "vendor", problems, True)
        for product in policy.products:
            if product not in owner:
                known_names([product], names["product"], f"{base}.products", "product", problems)
            elif owner[product].name != policy.vendor:
                problems.append((f"{base}.products.{product}", f"product {product!r} belongs "
                                 f"to vendors.{owner[product].name}, not {policy.vendor!r}"))
        if policy.segments is not None:
            known_names(policy.segments, names["segment"], f"{base}.segments", "segment", problems)
    elif isinstance(policy, Trigger) and policy.segment != ALL_SEGMENTS:
        known_names([policy.segment], names["segment"], f"{base}.segment", "segment", problems,
               True)


def unique_names(names: list[str], where: str, problems: Problems) -> None:
    """Report every repeated name at ``where.<name>``."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            problems.append((f"{where}.{name}", f"duplicate name {name!r}"))
        seen.add(name)


def known_names(names: Any, valid: list[str], where: str, what: str, problems: Problems,
           scalar: bool = False) -> None:
    """Report every name of ``names`` not in ``valid`` (path ``where.<name>`` unless scalar).

    The message starts "unknown <what> '<name>'", which the loader's problem decoder relies on
    (it adds which file removed an inherited item).
    """
    from sim.errors import did_you_mean

    for name in names:
        if name not in valid:
            problems.append((where if scalar else f"{where}.{name}",
                             f"unknown {what} {name!r}{did_you_mean(name, valid)}; known: "
                             f"{', '.join(valid) or '(none)'}"))
