"""The scenario format (format 2): frozen pydantic models mirroring the TOML file.

:class:`Scenario` is the whole file; its tables and named items are in
:mod:`sim.scenario.schema_parts`, its policies in :mod:`sim.scenario.schema_policies` and the
shared base types (``F``, ``Frozen``, ``Name``, ``When``, ...) in :mod:`sim.scenario.base`;
all are re-exported here. Every field has a type, bounds, a unit and its meaning, a default
where one makes sense and, for numbers taken from the world, a source
(``docs/scenario-reference.md`` is generated from them). Unknown keys are errors everywhere.

Cross-references (a firm's home region, shares naming products, policies naming firms) are
checked by :class:`Scenario` as a whole, so each problem names its dotted path
(``regions.EU.shares.enterprise.Llama``); problems are packed into one ``ValueError`` with
:func:`sim.scenario.base.pack_problems` for the loader to decode. A version-1 file is recognised by
:func:`detect_version_1` before validation (docs/migration-v2.md).
"""

from __future__ import annotations

import warnings
from typing import Any

from pydantic import model_validator

from sim.metric_names import MARKET_METRICS
from sim.scenario.base import (
    ALL_REGIONS,
    ALL_SEGMENTS,
    PROBLEM_SEPARATOR,
    WORLD_REGION,
    Experiment,
    F,
    Fraction,
    Frozen,
    Line,
    MonthText,
    Name,
    Problems,
    RegionName,
    ScenarioWarning,
    SegmentName,
    Text,
    When,
    pack_problems,
)
from sim.scenario.months import step_of
from sim.scenario.schema_parts import (
    FORMAT_VERSION,
    Contributors,
    Firm,
    Harm,
    Product,
    Region,
    ScenarioMeta,
    Segment,
    World,
)
from sim.scenario.schema_policies import (
    POLICY_KINDS,
    BanOpenWeights,
    BanVendors,
    ComplianceCost,
    Interoperability,
    Merger,
    NestedPolicy,
    OpenSourceSubsidy,
    Policy,
    PolicyBase,
    Trigger,
    Withhold,
    check_policies,
    known_names,
    unique_names,
)

__all__ = [
    # the scenario and its parts
    "Scenario", "ScenarioMeta", "World", "Segment", "Region", "Firm", "Product", "Harm",
    "Contributors", "Experiment",
    # policies
    "Policy", "PolicyBase", "NestedPolicy", "BanOpenWeights", "BanVendors", "ComplianceCost",
    "OpenSourceSubsidy", "Interoperability", "Merger", "Withhold", "Trigger", "POLICY_KINDS",
    "MARKET_METRICS",
    # base types
    "F", "Frozen", "Name", "Line", "Text", "RegionName", "SegmentName", "MonthText", "When",
    "Fraction", "ScenarioWarning", "ALL_REGIONS", "ALL_SEGMENTS", "WORLD_REGION",
    "PROBLEM_SEPARATOR", "Problems",
    # version 1
    "FORMAT_VERSION", "VERSION_1_MESSAGE", "detect_version_1",
]

VERSION_1_MESSAGE = (
    "this is a version-1 scenario file: firms now own product lines ([[vendors.products]] "
    "with openness and capability); see docs/migration-v2.md")


class Scenario(Frozen):
    """A fully resolved scenario (after ``extends`` and overrides).

    Load one with :func:`sim.load_scenario`; change it with :meth:`with_overrides`. It is
    immutable, so it can be shared between runs.

    Example:
        >>> import sim
        >>> sc = sim.load_scenario("baseline")
        >>> sc.regions[0].name, sc.product_owner["Llama"]
        ('US', 'Meta')
        >>> sc.with_overrides({"world.network_effect": 1.2}).world.network_effect
        1.2
    """

    scenario: ScenarioMeta
    world: World = F(default_factory=World, description="Trends and market parameters.")
    segments: list[Segment] = F(..., description="Adopter segments.", min_length=1)
    regions: list[Region] = F(..., description="Regions.", min_length=1)
    vendors: list[Firm] = F(..., description="Firms and their product lines.", min_length=1)
    harm: Harm = F(default_factory=Harm, description="External harm (MODEL.md 7).")
    contributors: Contributors = F(default_factory=Contributors,
                                    description="Open-source contributor communities.")
    policies: list[Policy] = F(default_factory=list, description="Policies, in order.")
    experiment: Experiment = F(default_factory=Experiment, description="Run defaults.")

    @model_validator(mode="after")
    def _cross_references(self) -> Scenario:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ScenarioWarning)
            self._check_all()
        _warn_grouped([w.message for w in caught if issubclass(w.category, ScenarioWarning)])
        return self

    def _check_all(self) -> None:
        problems: Problems = []
        for items, where in ((self.segments, "segments"), (self.regions, "regions"),
                             (self.vendors, "vendors")):
            unique_names([item.name for item in items], where, problems)
        segments = [s.name for s in self.segments]
        regions = [r.name for r in self.regions]
        owner: dict[str, Firm] = {}
        served: dict[str, list[str]] = {}  # product -> regions it serves at step 0
        for firm in self.vendors:
            base = f"vendors.{firm.name}"
            known_names([firm.home], regions, f"{base}.home", "region", problems, scalar=True)
            known_names(firm.regions or [], regions, f"{base}.regions", "region", problems)
            for product in firm.products:
                path = f"{base}.products.{product.name}"
                if product.name in owner:
                    problems.append((path, f"duplicate product name {product.name!r} (also "
                                     f"vendors.{owner[product.name].name}): product names "
                                     "must be unique across the scenario"))
                owner.setdefault(product.name, firm)
                self._check_product(firm, product, path, regions, problems)
                served.setdefault(product.name, product.regions or firm.regions or regions)
        for region in self.regions:
            self._check_region(region, segments, owner, served, problems)
        check_policies(self, owner, problems)
        if problems:
            raise ValueError(pack_problems(problems))
        for firm in self.vendors:
            if firm.funding == "parent" and firm.parent_budget == 0:
                warnings.warn(f"vendors.{firm.name}: parent-funded with parent_budget = 0, so "
                              "its parent never pays it anything", ScenarioWarning,
                              stacklevel=2)

    def _check_product(self, firm: Firm, product: Product, path: str, regions: list[str],
                       problems: Problems) -> None:
        total = product.hosted_fraction + product.self_hosted_fraction
        if total > 1 + 1e-9:
            problems.append((f"{path}.self_hosted_fraction", "self_hosted_fraction + "
                             f"hosted_fraction must be at most 1, got {total:.4g}"))
        allowed = firm.regions if firm.regions is not None else regions
        for name in product.regions or []:
            if name not in regions:
                known_names([name], regions, f"{path}.regions", "region", problems)
            elif name not in allowed:
                problems.append((f"{path}.regions.{name}", f"region {name!r} is not served "
                                 f"by its firm (vendors.{firm.name}.regions)"))
        if product.launch is not None and step_of(product.launch, self.scenario.start) > \
                self.scenario.months:
            warnings.warn(f"{path}.launch: {product.launch!r} is after the horizon; the line "
                          "never launches", ScenarioWarning, stacklevel=3)

    def _check_region(self, region: Region, segments: list[str], owner: dict[str, Firm],
                      served: dict[str, list[str]], problems: Problems) -> None:
        base = f"regions.{region.name}"
        for key in ("adopters", "adopters_growth_per_year", "aware", "adoption", "shares"):
            known_names(getattr(region, key), segments, f"{base}.{key}", "segment", problems)
        for segment, adoption in region.adoption.items():
            aware = region.aware.get(segment, adoption)
            if adoption > aware:
                problems.append((f"{base}.adoption.{segment}", f"adoption {adoption:g} "
                                 f"exceeds aware {aware:g}: users must be aware"))
        for segment, cell in region.shares.items():
            where = f"{base}.shares.{segment}"
            for product in cell:
                if product not in owner:
                    known_names([product], list(owner), where, "product", problems)
                elif region.name not in served[product]:
                    problems.append((f"{where}.{product}", f"product {product!r} is not "
                                     f"served in region {region.name!r} at step 0"))
            total = sum(cell.values())
            if total > 1 + 1e-9:
                problems.append((where, f"shares sum to {total:.4g}; they must sum to at "
                                 "most 1"))

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
    def firm_names(self) -> list[str]:
        """Firm names (TOML ``[[vendors]]``) in file order."""
        return [v.name for v in self.vendors]

    @property
    def vendor_names(self) -> list[str]:
        """Alias of :attr:`firm_names` (the TOML key of firms is ``vendors``)."""
        return self.firm_names

    @property
    def product_names(self) -> list[str]:
        """Every product line, firm by firm in file order."""
        return [p.name for v in self.vendors for p in v.products]

    @property
    def product_owner(self) -> dict[str, str]:
        """The firm owning each product line: ``{product: firm}``."""
        return {p.name: v.name for v in self.vendors for p in v.products}

    def with_overrides(self, overrides: dict[str, Any] | None = None, **kw: Any) -> Scenario:
        """Return a copy with values changed by dotted path.

        Args:
            overrides: ``{"world.network_effect": 1.2,
                "vendors.Meta.products.Llama.openness": "closed"}``. Named items (regions,
                segments, vendors, their products) are addressed by name, policies by label
                (``'policies."EU bans open weights".start'``) or index (``policies.0.start``).
                String values are parsed to the field's type (``"1.2"`` -> 1.2), as the
                command line's ``--set`` does.
            **kw: Not accepted; present to give a clear error if keywords are passed.

        Returns:
            A new validated Scenario.

        Raises:
            ScenarioError: Unknown path (with a suggestion) or a value of the wrong type.

        Example:
            >>> import sim
            >>> base = sim.load_scenario("baseline")
            >>> sc = base.with_overrides({"vendors.Meta.products.Llama.openness": "closed"})
            >>> sc.vendors[3].products[0].openness
            'closed'
        """
        from sim.scenario.overrides import apply_overrides

        if kw:
            raise TypeError("pass overrides as a dict: with_overrides({'world.network_effect': 1})")
        return apply_overrides(self, overrides or {})

    def to_toml(self) -> str:
        """Return the resolved scenario as TOML that loads back to an equal scenario.

        The text spells out every value (no ``extends``); products are nested
        ``[[vendors.products]]`` tables. Runs save their scenarios so.

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


def _warn_grouped(messages: list[Warning | str]) -> None:
    """Re-issue the checks' warnings, one line for each kind that concerns many items.

    A short test run of a long scenario leaves many policies and launches past its
    horizon; one line naming them all says as much as one line each.
    """
    late_policies: list[str] = []
    late_lines: list[str] = []
    other: list[str] = []
    for message in map(str, messages):
        if message.endswith("and never acts") and " starts after the horizon " in message:
            late_policies.append(message)
        elif message.endswith("the line never launches"):
            late_lines.append(message)
        else:
            other.append(message)
    if len(late_policies) > 1:
        names = [m.split(" starts after the horizon ")[0] for m in late_policies]
        late_policies = [f"{len(names)} policies start after the horizon and never act "
                         f"({', '.join(names)})"]
    if len(late_lines) > 1:
        names = [m.split(".launch: ")[0] for m in late_lines]
        late_lines = [f"{len(names)} product lines launch after the horizon and never launch "
                      f"({', '.join(names)})"]
    other += late_policies + late_lines
    for message in other:
        warnings.warn(message, ScenarioWarning, stacklevel=4)


def detect_version_1(data: dict[str, Any]) -> str | None:
    """Return a one-line message if raw scenario data is version 1, else None.

    A version-1 document has ``format_version = 1`` in ``[scenario]`` or a ``[[vendors]]`` item
    with ``openness`` or ``capability`` at firm level (version 2 puts them on products). Call
    it on the merged document after ``extends`` (``format_version`` is inherited) and before
    validating with :class:`Scenario`.

    Example:
        >>> detect_version_1({"vendors": [{"name": "Meta", "openness": "open"}]}) is not None
        True
        >>> detect_version_1({"scenario": {"format_version": 2}}) is None
        True
    """
    meta = data.get("scenario")
    if isinstance(meta, dict):
        version = meta.get("format_version")
        if version == 1 and not isinstance(version, bool):
            return VERSION_1_MESSAGE
    vendors = data.get("vendors")
    if isinstance(vendors, list):
        for vendor in vendors:
            if isinstance(vendor, dict) and ("openness" in vendor or "capability" in vendor):
                return VERSION_1_MESSAGE
    return None
