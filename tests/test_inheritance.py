"""Inheritance through ``extends``: merging rules, removal, relative paths, warnings."""

from __future__ import annotations

import warnings

import pytest

import sim
from sim.scenario import load_with_parent
from sim.scenario.schema import ScenarioWarning

from .conftest import SCENARIOS

PARENT = """
[scenario]
name = "Parent"
months = 24

[world]
network_effect = 0.4
spillover = 0.1

[[segments]]
name = "enterprise"
switching_cost = 1.0

[[segments]]
name = "consumer"

[[regions]]
name = "US"
adopters = { enterprise = 1000.0, consumer = 5000.0 }
initial_shares = { Alpha = 0.5, Beta = 0.3 }

[[regions]]
name = "EU"
adopters = { enterprise = 800.0 }

[[vendors]]
name = "Alpha"
home = "US"
openness = "closed"
capability = 100.0

[[vendors]]
name = "Beta"
home = "EU"
openness = "open"
capability = 95.0
regions = ["US", "EU"]

[[policies]]
kind = "interoperability"
region = "EU"
start = 6
"""


def vendor(sc: sim.Scenario, name: str):
    return next(v for v in sc.vendors if v.name == name)


def region(sc: sim.Scenario, name: str):
    return next(r for r in sc.regions if r.name == name)


@pytest.fixture
def parent(write):
    return write("family/parent.toml", PARENT)


def test_child_overrides_a_world_value(write, parent) -> None:
    child = sim.load_scenario(write("family/child.toml", """
[scenario]
name = "Child"
extends = "parent.toml"

[world]
network_effect = 1.5
"""))
    base = sim.load_scenario(parent)
    assert child.world.network_effect == 1.5
    assert child.world.spillover == base.world.spillover == 0.1  # the rest is inherited
    assert child.scenario.months == 24
    assert child.scenario.name == "Child"
    assert child.scenario.extends is None  # resolved scenarios extend nothing


def test_named_items_merge_by_name(write, parent) -> None:
    child = sim.load_scenario(write("family/child.toml", """
[scenario]
name = "Child"
extends = "parent.toml"

[[vendors]]
name = "Beta"
capability = 99.0

[[vendors]]
name = "Gamma"
home = "US"
openness = "open"
capability = 90.0

[[regions]]
name = "US"
adopters = { consumer = 6000.0 }
initial_shares = { Gamma = 0.1 }

[[segments]]
name = "enterprise"
price_elasticity = 3.0
"""))
    assert child.vendor_names == ["Alpha", "Beta", "Gamma"]
    beta = vendor(child, "Beta")
    assert beta.capability == 99.0
    assert beta.openness == "open" and beta.home == "EU"  # untouched fields kept
    us = region(child, "US")
    assert us.adopters == {"enterprise": 1000.0, "consumer": 6000.0}  # tables merge too
    assert us.initial_shares == {"Alpha": 0.5, "Beta": 0.3, "Gamma": 0.1}
    enterprise = child.segments[0]
    assert (enterprise.price_elasticity, enterprise.switching_cost) == (3.0, 1.0)


def test_remove_drops_an_inherited_vendor(write, parent) -> None:
    child = sim.load_scenario(write("family/child.toml", """
[scenario]
name = "Child"
extends = "parent.toml"

[[vendors]]
name = "Beta"
remove = true
"""))
    assert child.vendor_names == ["Alpha"]
    assert region(child, "US").initial_shares == {"Alpha": 0.5}  # its shares go with it


def test_remove_drops_a_segment(write, parent) -> None:
    child = sim.load_scenario(write("family/child.toml", """
[scenario]
name = "Child"
extends = "parent.toml"

[[segments]]
name = "consumer"
remove = true
"""))
    assert child.segment_names == ["enterprise"]
    assert region(child, "US").adopters == {"enterprise": 1000.0}


def test_remove_region_drops_it_from_vendor_lists_but_not_policies(write, parent) -> None:
    path = write("family/child.toml", """
[scenario]
name = "Child"
extends = "parent.toml"

[[regions]]
name = "EU"
remove = true

[[vendors]]
name = "Beta"
home = "US"
""")
    # the parent's EU policy still names EU: policies are not silently dropped. The child
    # removed EU and only the child can mend it, so the error names the child and says
    # where the reference was set
    with pytest.raises(sim.ScenarioError) as info:
        sim.load_scenario(path)
    assert info.value.path == "policies.0.region"
    assert info.value.file is not None and info.value.file.endswith("child.toml")
    assert "unknown region 'EU'" in str(info.value)
    assert "set in parent.toml" in str(info.value)
    assert "removed with 'remove = true' in this file" in str(info.value)


def test_remove_baseline_vendor(write) -> None:
    child = sim.load_scenario(write("no_meta.toml", """
[scenario]
name = "No Meta"
extends = "baseline"

[[vendors]]
name = "Meta"
remove = true
"""))
    assert "Meta" not in child.vendor_names
    assert all("Meta" not in r.initial_shares for r in child.regions)


def test_policies_append(write, parent) -> None:
    child = sim.load_scenario(write("family/child.toml", """
[scenario]
name = "Child"
extends = "parent.toml"

[[policies]]
kind = "ban_open_weights"
region = "US"
start = 12
end = 18
"""))
    assert [p.kind for p in child.policies] == ["interoperability", "ban_open_weights"]
    assert child.policies[1].end == 18


def test_extends_by_relative_path_from_the_childs_folder(write, parent, monkeypatch,
                                                        tmp_path) -> None:
    grandchild = write("family/deeper/grandchild.toml", """
[scenario]
name = "Grandchild"
extends = "../child.toml"

[world]
spillover = 0.2
""")
    write("family/child.toml", """
[scenario]
name = "Child"
extends = "parent.toml"

[world]
network_effect = 1.5
""")
    monkeypatch.chdir(tmp_path)  # relative to the file, not to the working directory
    sc = sim.load_scenario(grandchild)
    assert (sc.world.network_effect, sc.world.spillover) == (1.5, 0.2)
    assert sc.scenario.name == "Grandchild"
    scenario, parent_sc = load_with_parent(grandchild)
    assert scenario == sc
    assert parent_sc is not None and parent_sc.scenario.name == "Child"


def test_extends_a_shipped_scenario_by_name(write) -> None:
    child = sim.load_scenario(write("child.toml", """
[scenario]
name = "Stronger network effects"
extends = "eu_blocks_open"

[world]
network_effect = 1.2
"""))
    eu = sim.load_scenario("eu_blocks_open")
    assert child.world.network_effect == 1.2
    assert child.policies == eu.policies


def test_error_names_the_file_that_set_the_value(write, parent) -> None:
    child = write("family/child.toml", """
[scenario]
name = "Child"
extends = "parent.toml"

[[vendors]]
name = "Beta"
capability = -5.0
""")
    with pytest.raises(sim.ScenarioError) as info:
        sim.load_scenario(child)
    assert info.value.file == str(child.resolve())
    assert info.value.path == "vendors.Beta.capability"


def test_duplicate_names_in_one_file_are_errors(write) -> None:
    path = write("dup.toml", """
[scenario]
name = "Dup"

[[segments]]
name = "a"

[[segments]]
name = "a"

[[regions]]
name = "US"

[[vendors]]
name = "V"
home = "US"
openness = "open"
capability = 1.0
""")
    with pytest.raises(sim.ScenarioError, match="duplicate name 'a'"):
        sim.load_scenario(path)


# --------------------------------------------------------------------------- warnings


LATE = """
[scenario]
name = "Late"
extends = "baseline"
months = 12

[[policies]]
kind = "ban_open_weights"
region = "EU"
start = "2027-01"
"""


def test_policy_after_horizon_is_a_warning_not_an_error(write) -> None:
    path = write("late.toml", LATE)
    with pytest.warns(ScenarioWarning, match=r"policies\.1 starts after the horizon"):
        sc = sim.load_scenario(path)
    assert len(sc.policies) == 2


def test_policy_within_horizon_does_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", ScenarioWarning)
        sim.load_scenario(SCENARIOS / "eu_blocks_open.toml")


def test_short_override_of_a_long_scenario_only_warns() -> None:
    with pytest.warns(ScenarioWarning):
        sc = sim.load_scenario("eu_blocks_open").with_overrides({"scenario.months": 3})
    assert sc.scenario.months == 3
