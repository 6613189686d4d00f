"""Scenario format 2 (sim/scenario/schema*.py): models, cross-references, strict types."""

from __future__ import annotations

import copy
import json
import math
import warnings
from typing import Any

import pytest
from pydantic import ValidationError

from sim.metric_names import MARKET_METRICS
from sim.scenario.schema import (
    PROBLEM_SEPARATOR,
    VERSION_1_MESSAGE,
    Firm,
    Product,
    Region,
    Scenario,
    ScenarioWarning,
    Segment,
    World,
    detect_version_1,
)


def base() -> dict[str, Any]:
    """A small valid format-2 scenario: two regions, two segments, three firms."""
    return {
        "scenario": {"format_version": 2, "name": "Small", "months": 24},
        "world": {"network_effect": 0.5},
        "segments": [
            {"name": "enterprise", "relevant_market": "revenue"},
            {"name": "consumer", "billing": "subscription", "relevant_market": "users"},
        ],
        "regions": [
            {"name": "US", "adopters": {"enterprise": 1000, "consumer": 5e6},
             "aware": {"enterprise": 0.6}, "adoption": {"enterprise": 0.5},
             "shares": {"enterprise": {"GPT": 0.5, "Llama": 0.2}}},
            {"name": "EU", "adopters": {"enterprise": 800.0}},
        ],
        "vendors": [
            {"name": "OpenAI", "home": "US", "products": [
                {"name": "GPT", "openness": "closed", "capability": 100},
                {"name": "gpt-oss", "openness": "open", "capability": 90, "launch": "2025-08"},
            ]},
            {"name": "Meta", "home": "US", "funding": "parent", "parent_budget": 1e9,
             "products": [{"name": "Llama", "openness": "open", "capability": 92,
                           "licence": 0.5}]},
            {"name": "Mistral", "home": "EU", "regions": ["EU"], "products": [
                {"name": "Mixtral", "openness": "open", "capability": 85}]},
        ],
        "policies": [
            {"kind": "ban_open_weights", "region": "EU", "start": "2024-07",
             "label": "EU bans open weights", "enforcement": {"consumer": 0.9}},
            {"kind": "withhold", "region": "EU", "vendor": "Meta", "products": ["Llama"],
             "start": "2024-06", "end": "2025-03"},
        ],
    }


def paths(exc: ValidationError) -> set[str]:
    """The dotted paths of a validation error: packed cross-reference paths or pydantic locs."""
    found: set[str] = set()
    for err in exc.errors(include_url=False):
        message = str(err.get("msg", ""))
        if PROBLEM_SEPARATOR in message:
            parts = message.split("Value error, ", 1)[-1].split(PROBLEM_SEPARATOR)
            found.update(parts[0::2])
        else:
            found.add(".".join(str(part) for part in err["loc"]))
    return found


def fails_at(data: dict[str, Any], path: str) -> str:
    """Assert validation fails with a problem at ``path``; return the error text."""
    with pytest.raises(ValidationError) as info:
        Scenario.model_validate(data)
    assert path in paths(info.value), paths(info.value)
    return str(info.value)


def test_small_scenario_validates_with_defaults() -> None:
    sc = Scenario.model_validate(base())
    assert sc.scenario.start == "2024-01" and sc.scenario.months == 24
    assert sc.vendors[0].products[1].name == "gpt-oss"
    assert sc.vendors[0].products[0].remove is False
    assert sc.regions[0].adopters["enterprise"] == 1000.0
    assert isinstance(sc.regions[0].adopters["enterprise"], float)
    assert sc.policies[0].enforcement == {"consumer": 0.9}
    assert math.isclose(sc.world.cost_capability_slope, 0.0924, rel_tol=1e-3)
    assert sc.world.kappa_open + sc.world.kappa_closed <= 1
    assert sc.harm.misuse_premium == 1.0 and sc.contributors.productivity == 1.0
    assert math.isclose(sc.contributors.derivative_rate, 0.326, rel_tol=1e-2)
    with pytest.raises(ValidationError):  # frozen
        sc.scenario.months = 5  # type: ignore[misc]


def test_meta_defaults_are_the_baseline_horizon() -> None:
    data = base()
    del data["scenario"]["months"]
    assert Scenario.model_validate(data).scenario.months == 83


def test_named_arrays_have_name_and_remove() -> None:
    for model in (Segment, Region, Firm, Product):
        assert {"name", "remove"} <= set(model.model_fields)
        assert model.model_fields["remove"].default is False


def test_unknown_key_is_an_error() -> None:
    data = base()
    data["vendors"][0]["products"][0]["opennes"] = "open"
    fails_at(data, "vendors.0.products.0.opennes")


def test_format_version_must_be_2() -> None:
    data = base()
    data["scenario"]["format_version"] = 1
    fails_at(data, "scenario.format_version")


# --------------------------------------------------------------------------- cross-references


def test_duplicate_product_names_across_firms() -> None:
    data = base()
    data["vendors"][2]["products"][0]["name"] = "GPT"
    text = fails_at(data, "vendors.Mistral.products.GPT")
    assert "unique across the scenario" in text and "vendors.OpenAI" in text


def test_duplicate_firm_names() -> None:
    data = base()
    data["vendors"][2]["name"] = "Meta"
    fails_at(data, "vendors.Meta")


def test_duplicate_region_and_segment_names() -> None:
    data = base()
    data["regions"][1]["name"] = "US"
    data["segments"][1]["name"] = "enterprise"
    with pytest.raises(ValidationError) as info:
        Scenario.model_validate(data)
    assert {"regions.US", "segments.enterprise"} <= paths(info.value)


@pytest.mark.parametrize("name", ["World", "world"])
def test_world_is_reserved_as_a_region(name: str) -> None:
    data = base()
    data["regions"][1]["name"] = name
    assert "reserved" in fails_at(data, "regions.1.name")


def test_all_is_reserved_as_a_segment() -> None:
    data = base()
    data["segments"][1]["name"] = "all"
    assert "reserved" in fails_at(data, "segments.1.name")


def test_firm_home_must_exist() -> None:
    data = base()
    data["vendors"][2]["home"] = "FR"
    assert "unknown region 'FR'" in fails_at(data, "vendors.Mistral.home")


def test_firm_regions_must_exist() -> None:
    data = base()
    data["vendors"][2]["regions"] = ["EU", "UK"]
    fails_at(data, "vendors.Mistral.regions.UK")


def test_product_regions_must_be_served_by_its_firm() -> None:
    data = base()
    data["vendors"][2]["products"][0]["regions"] = ["US"]
    fails_at(data, "vendors.Mistral.products.Mixtral.regions.US")


def test_shares_name_known_segments() -> None:
    data = base()
    data["regions"][0]["shares"]["developer"] = {"GPT": 0.1}
    fails_at(data, "regions.US.shares.developer")


def test_shares_name_known_products() -> None:
    data = base()
    data["regions"][0]["shares"]["enterprise"]["OpenAI"] = 0.1  # a firm, not a product
    assert "unknown product" in fails_at(data, "regions.US.shares.enterprise.OpenAI")


def test_shares_name_products_served_in_the_region() -> None:
    data = base()
    data["regions"][0]["shares"]["enterprise"]["Mixtral"] = 0.1  # Mistral serves EU only
    fails_at(data, "regions.US.shares.enterprise.Mixtral")


def test_shares_per_cell_sum_to_at_most_one() -> None:
    data = base()
    data["regions"][0]["shares"]["enterprise"] = {"GPT": 0.7, "Llama": 0.4}
    assert "1.1" in fails_at(data, "regions.US.shares.enterprise")
    data["regions"][0]["shares"]["enterprise"] = {"GPT": 0.7, "Llama": 0.3}
    Scenario.model_validate(data)


def test_share_out_of_range() -> None:
    data = base()
    data["regions"][0]["shares"]["enterprise"]["GPT"] = 1.5
    fails_at(data, "regions.0.shares.enterprise.GPT")


def test_region_tables_name_known_segments() -> None:
    data = base()
    data["regions"][1]["adopters"]["enterprize"] = 10.0
    assert "did you mean 'enterprise'" in fails_at(data, "regions.EU.adopters.enterprize")


def test_adoption_at_most_aware() -> None:
    data = base()
    data["regions"][0]["adoption"]["enterprise"] = 0.7  # aware is 0.6
    fails_at(data, "regions.US.adoption.enterprise")
    data["regions"][0]["aware"] = {}  # missing aware: the adoption share
    Scenario.model_validate(data)


def test_kappas_sum_to_at_most_one() -> None:
    data = base()
    data["world"] = {"kappa_open": 0.8, "kappa_closed": 0.3}
    fails_at(data, "world.kappa_closed")
    World(kappa_open=0.9, kappa_closed=0.1)


def test_size_min_at_most_size_max() -> None:
    data = base()
    data["contributors"] = {"size_min": 100.0, "size_max": 50.0}
    fails_at(data, "contributors.size_max")


def test_usage_elasticity_above_one() -> None:
    data = base()
    data["segments"][0]["usage_elasticity"] = 1.0
    fails_at(data, "segments.0.usage_elasticity")
    data["segments"][0]["usage_elasticity"] = 1.01
    Scenario.model_validate(data)


def test_hosted_plus_self_hosted_at_most_one() -> None:
    data = base()
    data["vendors"][1]["products"][0].update(hosted_fraction=0.6, self_hosted_fraction=0.5)
    fails_at(data, "vendors.Meta.products.Llama.self_hosted_fraction")


def test_policy_region_must_exist() -> None:
    data = base()
    data["policies"][0]["region"] = "UK"
    fails_at(data, "policies.0.region")


def test_policy_firms_and_products_must_exist() -> None:
    data = base()
    data["policies"].append({"kind": "ban_vendors", "region": "EU", "vendors": ["DeepSeek"],
                             "products": ["Qwen"]})
    with pytest.raises(ValidationError) as info:
        Scenario.model_validate(data)
    assert {"policies.2.vendors.DeepSeek", "policies.2.products.Qwen"} <= paths(info.value)


def test_enforcement_table_names_known_segments() -> None:
    data = base()
    data["policies"][0]["enforcement"] = {"developer": 0.5}
    fails_at(data, "policies.0.enforcement.developer")


def test_merger_acquirer_differs_from_target() -> None:
    data = base()
    data["policies"].append({"kind": "merger", "acquirer": "Meta", "target": "Meta",
                             "start": 3})
    assert "itself" in fails_at(data, "policies.2.target")


def test_merger_names_known_firms() -> None:
    data = base()
    data["policies"].append({"kind": "merger", "acquirer": "Meta", "target": "xAI",
                             "start": 3})
    fails_at(data, "policies.2.target")


def test_policy_window_end_after_start() -> None:
    data = base()
    data["policies"][1]["end"] = "2024-06"  # equal to start
    fails_at(data, "policies.1.end")
    data["policies"][1]["end"] = 5  # a step before 2024-06 (step 5 is 2024-06 too)
    fails_at(data, "policies.1.end")


def test_policy_window_after_horizon_is_a_warning() -> None:
    data = base()
    data["policies"][0]["start"] = "2030-01"  # months = 24: beyond the horizon
    with pytest.warns(ScenarioWarning, match="policies.0 starts after the horizon"):
        Scenario.model_validate(data)


def test_valid_scenario_gives_no_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Scenario.model_validate(base())


def test_withhold_names_products_of_its_firm() -> None:
    data = base()
    data["policies"][1]["products"] = ["Llama", "GPT"]
    assert "belongs to vendors.OpenAI" in fails_at(data, "policies.1.products.GPT")


def test_policy_labels_are_unique() -> None:
    data = base()
    data["policies"][1]["label"] = "EU bans open weights"
    fails_at(data, "policies.1.label")


def test_trigger_metric_is_a_v2_metric() -> None:
    data = base()
    trigger = {"kind": "trigger", "region": "EU", "metric": "hhi", "above": 2500,
               "policy": {"kind": "interoperability"}}
    data["policies"].append(trigger)
    assert "unknown metric 'hhi'" in fails_at(data, "policies.2.trigger")
    data["policies"][-1] = {**trigger, "metric": "hhi_market", "segment": "enterprise"}
    sc = Scenario.model_validate(data)
    assert sc.policies[-1].policy.region == "EU"  # type: ignore[union-attr]
    data["policies"][-1] = {**trigger, "metric": "hhi_market", "segment": "developer"}
    fails_at(data, "policies.2.segment")


def test_metric_names_are_the_interface_list() -> None:
    from sim.engine.metrics import METRICS, UNITS

    # the interface's 33 names plus the engine's headcount column "users" and the two parts
    # of harm that do not depend on m (the break-even m* is computed from them), in engine
    # order
    assert MARKET_METRICS == METRICS
    assert len(MARKET_METRICS) == len(set(MARKET_METRICS)) == 36
    assert {"harm_closed_usd", "harm_open_base_usd"} <= set(MARKET_METRICS)
    assert {"hhi_market", "net_welfare_usd", "gap_months", "markup_capped", "users"} <= set(
        MARKET_METRICS)
    assert "hhi" not in MARKET_METRICS and "open_share" not in MARKET_METRICS
    assert all(UNITS[name] for name in MARKET_METRICS)


# --------------------------------------------------------------------------- strict types


@pytest.mark.parametrize("value", [True, "0.5", "1"])
def test_booleans_and_strings_are_not_numbers(value: Any) -> None:
    data = base()
    data["world"]["network_effect"] = value
    fails_at(data, "world.network_effect")


def test_boolean_is_not_an_integer() -> None:
    data = base()
    data["scenario"]["months"] = True
    fails_at(data, "scenario.months")


def test_float_is_not_an_integer() -> None:
    data = base()
    data["world"]["exit_after"] = 3.5
    fails_at(data, "world.exit_after")


def test_integers_are_accepted_for_floats() -> None:
    data = base()
    data["world"]["network_effect"] = 1
    data["vendors"][0]["products"][0]["capability"] = 100
    sc = Scenario.model_validate(data)
    assert sc.world.network_effect == 1.0 and isinstance(sc.world.network_effect, float)
    assert isinstance(sc.vendors[0].products[0].capability, float)


@pytest.mark.parametrize("value", [-1, 1201, "2025-13", True, 2.0])
def test_launch_is_a_month_or_a_step(value: Any) -> None:
    data = base()
    data["vendors"][0]["products"][1]["launch"] = value
    fails_at(data, "vendors.0.products.1.launch")


def test_boolean_is_not_a_per_segment_enforcement() -> None:
    data = base()
    data["policies"][0]["enforcement"] = True
    with pytest.raises(ValidationError):
        Scenario.model_validate(data)


# --------------------------------------------------------------------------- schema


def test_json_schema_carries_units_and_sources() -> None:
    schema = Scenario.model_json_schema()
    json.dumps(schema)
    world = schema["$defs"]["World"]["properties"]
    assert world["cost_capability_slope"]["unit"] == "per point"
    assert "pricing.md" in world["cost_capability_slope"]["source"]
    product = schema["$defs"]["Product"]["properties"]
    assert set(product["openness"]["enum"]) == {"open", "closed"}
    kinds = {ref["$ref"].rsplit("/", 1)[-1]
             for ref in schema["properties"]["policies"]["items"]["oneOf"]}
    assert {"Withhold", "Trigger", "Merger"} <= kinds


def test_every_number_has_bounds_description_and_unit() -> None:
    defs = Scenario.model_json_schema()["$defs"]
    missing = []
    for model, spec in defs.items():
        if model == "Experiment":  # version 1's, reused unchanged
            continue
        for field, prop in spec.get("properties", {}).items():
            numbers = [o for o in prop.get("anyOf", [prop]) if o.get("type") in
                       ("number", "integer")]
            # months and steps (start, end, launch) are checked by the When type: 0-1200
            if not numbers or field in ("above", "below", "format_version", "start", "end",
                                        "launch"):
                continue
            low = {"minimum", "exclusiveMinimum"} & set(numbers[0])
            high = {"maximum", "exclusiveMaximum"} & set(numbers[0])
            if not (low and high and prop.get("description") and prop.get("unit")):
                missing.append(f"{model}.{field}")
    assert not missing, missing


# --------------------------------------------------------------------------- version 1


def test_detect_version_1_by_format_version() -> None:
    data = {"scenario": {"format_version": 1, "name": "old"}}
    assert detect_version_1(data) == VERSION_1_MESSAGE
    assert "docs/migration-v2.md" in VERSION_1_MESSAGE and "\n" not in VERSION_1_MESSAGE


@pytest.mark.parametrize("key", ["openness", "capability"])
def test_detect_version_1_by_vendor_fields(key: str) -> None:
    data = base()
    data["vendors"][1][key] = "open" if key == "openness" else 95.0
    assert detect_version_1(data) == VERSION_1_MESSAGE


def test_detect_version_1_passes_version_2() -> None:
    assert detect_version_1(base()) is None
    assert detect_version_1({"scenario": {"format_version": True}}) is None  # not 1
    assert detect_version_1({}) is None
    child = {"scenario": {"name": "child", "extends": "baseline"}, "policies": []}
    assert detect_version_1(child) is None


def test_base_is_not_mutated_by_validation() -> None:
    data = base()
    before = copy.deepcopy(data)
    Scenario.model_validate(data)
    assert data == before


def test_launch_after_horizon_is_a_warning() -> None:
    data = base()
    data["vendors"][0]["products"][1]["launch"] = "2027-01"  # months = 24
    with pytest.warns(ScenarioWarning, match="gpt-oss.launch"):
        Scenario.model_validate(data)


def test_parent_firm_without_budget_is_a_warning() -> None:
    data = base()
    data["vendors"][1]["parent_budget"] = 0.0
    with pytest.warns(ScenarioWarning, match="vendors.Meta: parent-funded"):
        Scenario.model_validate(data)


def test_migration_note_examples() -> None:
    """The before/after example of docs/migration-v2.md: v1 detected, v2 a valid firm."""
    import re
    import tomllib
    from pathlib import Path

    text = (Path(__file__).parents[1] / "docs" / "migration-v2.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(.*?)```", text, flags=re.S)
    before = tomllib.loads(blocks[1])
    after = tomllib.loads(blocks[2])
    assert detect_version_1(before) == VERSION_1_MESSAGE
    assert detect_version_1(after) is None
    firm = Firm.model_validate(after["vendors"][0])
    assert firm.products[0].licence == 0.5 and firm.funding == "parent"
