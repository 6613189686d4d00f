"""Resolved dump and overrides (format 2): load -> to_toml() -> load gives an equal scenario."""

from __future__ import annotations

import tomllib

import pytest

import sim
from sim.cli import diff_data
from sim.scenario.overrides import scenario_data
from sim.scenario.paths import split_path

SHIPPED = sorted(sim.shipped_scenarios())
BAN = "EU bans open weights"


def test_there_are_shipped_scenarios() -> None:
    assert {"baseline", "eu_blocks_open", "no_ai_act", "eu_ai_act_no_exemption"} <= set(SHIPPED)
    assert "eu_ai_act" not in SHIPPED  # version 1's, retired


@pytest.mark.parametrize("name", SHIPPED)
def test_round_trip(name: str, tmp_path) -> None:
    scenario = sim.load_scenario(name)
    text = scenario.to_toml()
    data = tomllib.loads(text)
    assert "extends" not in data["scenario"] and data["scenario"]["format_version"] == 2
    # products are nested under their firm, as in a hand-written file
    assert all(firm["products"] for firm in data["vendors"])
    assert "[[vendors.products]]" in text
    path = tmp_path / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    again = sim.load_scenario(path)
    assert again == scenario
    assert again.to_toml() == text  # and the dump is stable


def test_convenience_names() -> None:
    sc = sim.load_scenario("baseline")
    assert sc.region_names == [r.name for r in sc.regions]
    assert sc.segment_names == [s.name for s in sc.segments]
    assert sc.vendor_names == sc.firm_names == [v.name for v in sc.vendors]
    assert sc.product_names == [p.name for v in sc.vendors for p in v.products]
    assert len(sc.product_names) > len(sc.firm_names)
    assert sc.product_owner["Llama"] == "Meta" and sc.product_owner["Gemma"] == "Google"
    assert list(sc.product_owner) == sc.product_names


# --------------------------------------------------------------------------- overrides


def llama(sc: sim.Scenario):
    return next(p for v in sc.vendors for p in v.products if p.name == "Llama")


def test_override_a_product_by_name() -> None:
    base = sim.load_scenario("baseline")
    sc = base.with_overrides({"vendors.Meta.products.Llama.openness": "closed",
                              "vendors.Meta.products.Llama.capability": "91.5"})
    assert (llama(sc).openness, llama(sc).capability) == ("closed", 91.5)
    assert llama(base).openness == "open"  # the original is unchanged
    others = [p for p in sc.vendors[3].products if p.name != "Llama"]
    assert others == [p for p in base.vendors[3].products if p.name != "Llama"]


def test_override_a_policy_by_label_or_index() -> None:
    sc = sim.load_scenario("eu_blocks_open")
    index = next(i for i, p in enumerate(sc.policies) if p.label == BAN)
    by_label = sc.with_overrides({f'policies."{BAN}".start': "2028-01"})
    by_index = sc.with_overrides({f"policies.{index}.start": "2028-01"})
    assert by_label == by_index
    assert by_label.policies[index].start == "2028-01"
    quoted = sc.with_overrides({f"policies.'{BAN}'.enforcement.developer": 0.5})
    assert quoted.policies[index].enforcement["developer"] == 0.5  # type: ignore[union-attr]


def test_unknown_label_is_an_error_with_a_suggestion() -> None:
    sc = sim.load_scenario("eu_blocks_open")
    with pytest.raises(sim.ScenarioError) as info:
        sc.with_overrides({'policies."EU bans open weight".start': "2028-01"})
    assert "no policy labelled 'EU bans open weight'" in str(info.value)
    assert info.value.problems[0].suggestion == BAN


def test_unknown_product_is_an_error_with_a_suggestion() -> None:
    sc = sim.load_scenario("baseline")
    with pytest.raises(sim.ScenarioError) as info:
        sc.with_overrides({"vendors.Meta.products.Lama.openness": "closed"})
    assert "unknown product 'Lama'" in str(info.value)
    assert info.value.problems[0].suggestion == "Llama"


def test_an_invalid_product_override_names_the_product() -> None:
    sc = sim.load_scenario("baseline")
    with pytest.raises(sim.ScenarioError) as info:
        sc.with_overrides({"vendors.Meta.products.Llama.capability": -1})
    assert "vendors.Meta.products.Llama.capability" in str(info.value)
    with pytest.raises(sim.ScenarioError) as info:
        sc.with_overrides({"vendors.Meta.products.Llama.openness": "ajar"})
    assert "vendors.Meta.products.Llama.openness" in str(info.value)


def test_version_1_paths_get_a_suggestion_not_a_silent_change() -> None:
    with pytest.raises(sim.ScenarioError) as info:
        sim.load_scenario("baseline").with_overrides({"vendors.Meta.openness": "closed"})
    assert "unknown key 'openness'" in str(info.value)


@pytest.mark.parametrize(("path", "parts"), [
    ("world.network_effect", ["world", "network_effect"]),
    ('policies."EU bans open weights".start', ["policies", "EU bans open weights", "start"]),
    ("policies.'a.b c'.end", ["policies", "a.b c", "end"]),
    ('policies."x".policy.region', ["policies", "x", "policy", "region"]),
])
def test_split_path(path: str, parts: list[str]) -> None:
    assert split_path(path) == parts


@pytest.mark.parametrize("path", ["", "world.", ".world", "a..b", 'policies."open.start',
                                  'policies."x"y.start', 'policies."".start'])
def test_split_path_refuses_bad_paths(path: str) -> None:
    with pytest.raises(sim.ScenarioError):
        split_path(path)


def test_round_trip_after_overrides(tmp_path) -> None:
    scenario = sim.load_scenario("eu_blocks_open").with_overrides({
        "world.network_effect": 1.2,
        "vendors.Meta.products.Llama.openness": "closed",
        "regions.EU.adopters.consumer": "4.5e8",
        f'policies."{BAN}".end': "2029-01",
        "scenario.name": "2026",
    })
    assert scenario.scenario.name == "2026"  # text fields stay text
    path = tmp_path / "changed.toml"
    path.write_text(scenario.to_toml(), encoding="utf-8")
    assert sim.load_scenario(path) == scenario


# --------------------------------------------------------------------------- show / validate


def test_diff_names_products_and_policies() -> None:
    base = sim.load_scenario("baseline")
    child = base.with_overrides({"vendors.Meta.products.Llama.capability": 93.0})
    changes = diff_data(scenario_data(base), scenario_data(child))
    assert [(op, path) for op, path, *_ in changes] == [
        ("~", "vendors.Meta.products.Llama.capability")]
    no_act = sim.load_scenario("no_ai_act")
    removed = [path for op, path, *_ in diff_data(scenario_data(base), scenario_data(no_act))
               if op == "-"]
    assert removed == ['policies."AI Act GPAI duties (Art. 53(2) open-source exemption below '
                       'the systemic threshold)"']


def test_shipped_scenarios_validate_quietly(cli) -> None:
    result = cli("validate", *SHIPPED)
    assert result.exit_code == 0, result
    assert result.stderr == ""
    assert result.stdout.count("ok  ") == len(SHIPPED)


def test_show_lists_changes_by_name(cli) -> None:
    result = cli("show", "eu_ai_act_no_exemption")
    assert result.exit_code == 0, result
    assert '+ policies."AI Act GPAI duties, no open-source exemption"' in result.stdout
    assert "[[vendors.products]]" in result.stdout
