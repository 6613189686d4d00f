"""Resolved dump: load -> to_toml() -> load gives an equal scenario."""

from __future__ import annotations

import tomllib

import pytest

import sim

SHIPPED = sorted(sim.shipped_scenarios())


def test_there_are_shipped_scenarios() -> None:
    assert {"baseline", "eu_blocks_open"} <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_round_trip(name: str, tmp_path) -> None:
    scenario = sim.load_scenario(name)
    text = scenario.to_toml()
    assert "extends" not in tomllib.loads(text)["scenario"]
    path = tmp_path / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    again = sim.load_scenario(path)
    assert again == scenario
    assert again.to_toml() == text  # and the dump is stable


def test_round_trip_after_overrides(tmp_path) -> None:
    scenario = sim.load_scenario("eu_blocks_open").with_overrides({
        "world.network_effect": 1.2,
        "vendors.Meta.openness": "closed",
        "regions.EU.adopters.consumer": "4.5e8",
        "policies.1.end": "2028-01",
        "scenario.name": "2026",
    })
    assert scenario.scenario.name == "2026"  # text fields stay text
    path = tmp_path / "changed.toml"
    path.write_text(scenario.to_toml(), encoding="utf-8")
    assert sim.load_scenario(path) == scenario


def test_shipped_scenarios_validate_quietly(cli) -> None:
    result = cli("validate", *SHIPPED)
    assert result.exit_code == 0, result
    assert result.stderr == ""
