"""Inheritance through ``extends`` (format 2): merging by name, removal, cycles, version 1."""

from __future__ import annotations

import warnings

import pytest

import sim
from sim.scenario import load_with_parent
from sim.scenario.schema import VERSION_1_MESSAGE, ScenarioWarning

from .conftest import SCENARIOS

PARENT = """
[scenario]
format_version = 2
name = "Parent"
months = 24

[world]
network_effect = 0.4
kappa_open = 0.2

[[segments]]
name = "enterprise"
switching_cost = 1.0

[[segments]]
name = "consumer"
billing = "subscription"

[[regions]]
name = "US"
adopters = { enterprise = 1000.0, consumer = 5000.0 }
adoption = { enterprise = 0.5, consumer = 0.1 }

[regions.shares]
enterprise = { A1 = 0.5, B1 = 0.3 }
consumer = { A1 = 0.6, A2 = 0.2 }

[[regions]]
name = "EU"
adopters = { enterprise = 800.0 }

[[vendors]]
name = "Alpha"
home = "US"
cash = 2.0e9

[[vendors.products]]
name = "A1"
openness = "closed"
capability = 100.0
size = 1.0

[[vendors.products]]
name = "A2"
openness = "open"
capability = 90.0
licence = 0.5

[[vendors]]
name = "Beta"
home = "EU"
regions = ["US", "EU"]

[[vendors.products]]
name = "B1"
openness = "open"
capability = 95.0

[[policies]]
kind = "interoperability"
region = "EU"
start = 6
label = "EU interoperability"

[[policies]]
kind = "ban_vendors"
region = "US"
start = 12
vendors = ["Beta"]
label = "US bans Beta"
"""

CHILD_HEAD = """
[scenario]
name = "Child"
extends = "parent.toml"
"""


def firm(sc: sim.Scenario, name: str):
    return next(v for v in sc.vendors if v.name == name)


def product(sc: sim.Scenario, name: str):
    return next(p for v in sc.vendors for p in v.products if p.name == name)


def region(sc: sim.Scenario, name: str):
    return next(r for r in sc.regions if r.name == name)


@pytest.fixture
def parent(write):
    return write("family/parent.toml", PARENT)


@pytest.fixture
def child(write, parent):
    """``child(body)`` writes family/child.toml extending the parent; returns its path."""
    return lambda body: write("family/child.toml", CHILD_HEAD + body)


def error(path) -> sim.ScenarioError:
    with pytest.raises(sim.ScenarioError) as info:
        sim.load_scenario(path)
    return info.value


# --------------------------------------------------------------------------- merging


def test_child_inherits_format_version_and_overrides_a_world_value(child, parent) -> None:
    sc = sim.load_scenario(child("\n[world]\nnetwork_effect = 1.5\n"))
    base = sim.load_scenario(parent)
    assert sc.scenario.format_version == 2  # the child does not repeat it
    assert sc.world.network_effect == 1.5
    assert sc.world.kappa_open == base.world.kappa_open == 0.2  # the rest is inherited
    assert (sc.scenario.months, sc.scenario.name) == (24, "Child")
    assert sc.scenario.extends is None  # resolved scenarios extend nothing


def test_firms_regions_and_segments_merge_by_name(child) -> None:
    sc = sim.load_scenario(child("""
[[vendors]]
name = "Beta"
cash = 7.0e9

[[vendors]]
name = "Gamma"
home = "US"

[[vendors.products]]
name = "G1"
openness = "open"
capability = 80.0

[[regions]]
name = "US"
adopters = { consumer = 6000.0 }

[regions.shares]
enterprise = { G1 = 0.1 }

[[segments]]
name = "enterprise"
price_weight = 3.0
"""))
    assert sc.firm_names == sc.vendor_names == ["Alpha", "Beta", "Gamma"]
    beta = firm(sc, "Beta")
    assert beta.cash == 7.0e9 and beta.home == "EU" and [p.name for p in beta.products] == ["B1"]
    us = region(sc, "US")
    assert us.adopters == {"enterprise": 1000.0, "consumer": 6000.0}  # tables merge too
    assert us.shares["enterprise"] == {"A1": 0.5, "B1": 0.3, "G1": 0.1}
    assert (sc.segments[0].price_weight, sc.segments[0].switching_cost) == (3.0, 1.0)
    assert sc.product_owner["G1"] == "Gamma"


def test_products_merge_by_name_inside_their_firm(child) -> None:
    sc = sim.load_scenario(child("""
[[vendors]]
name = "Alpha"

[[vendors.products]]
name = "A2"
capability = 94.0

[[vendors.products]]
name = "A3"
openness = "closed"
capability = 70.0
launch = "2025-01"
"""))
    alpha = firm(sc, "Alpha")
    assert [p.name for p in alpha.products] == ["A1", "A2", "A3"]
    a2 = product(sc, "A2")
    assert a2.capability == 94.0
    assert (a2.openness, a2.licence) == ("open", 0.5)  # untouched fields kept
    assert product(sc, "A1").size == 1.0 and alpha.cash == 2.0e9
    assert sc.product_names == ["A1", "A2", "A3", "B1"]


def test_remove_drops_an_inherited_product_and_its_shares(child) -> None:
    sc = sim.load_scenario(child("""
[[vendors]]
name = "Alpha"

[[vendors.products]]
name = "A2"
remove = true
"""))
    assert [p.name for p in firm(sc, "Alpha").products] == ["A1"]
    assert region(sc, "US").shares["consumer"] == {"A1": 0.6}


def test_remove_drops_a_firm_with_its_products_shares(child) -> None:
    path = child("""
[[vendors]]
name = "Beta"
remove = true
""")
    # the parent's US ban still names Beta: policies are not silently dropped, and the error
    # names the child, which removed it, and says where the reference was set
    err = error(path)
    assert err.path == "policies.1.vendors.Beta"
    assert err.file is not None and err.file.endswith("child.toml")
    assert "unknown vendor 'Beta'" in str(err) and "set in parent.toml" in str(err)
    path.write_text(path.read_text() + """
[[policies]]
label = "US bans Beta"
remove = true
""")
    sc = sim.load_scenario(path)
    assert sc.firm_names == ["Alpha"]
    assert region(sc, "US").shares["enterprise"] == {"A1": 0.5}  # B1's share went with it
    assert [p.label for p in sc.policies] == ["EU interoperability"]


def test_remove_drops_a_segment_and_its_entries(child) -> None:
    sc = sim.load_scenario(child("""
[[segments]]
name = "consumer"
remove = true
"""))
    assert sc.segment_names == ["enterprise"]
    us = region(sc, "US")
    assert us.adopters == {"enterprise": 1000.0} and us.adoption == {"enterprise": 0.5}
    assert set(us.shares) == {"enterprise"}


def test_remove_region_drops_it_from_firm_lists_but_not_policies(child) -> None:
    err = error(child("""
[[regions]]
name = "EU"
remove = true

[[vendors]]
name = "Beta"
home = "US"
"""))
    assert err.path == "policies.0.region"
    assert err.file is not None and err.file.endswith("child.toml")
    assert "unknown region 'EU'" in str(err)
    assert "removed with 'remove = true' in this file" in str(err)


def test_removing_an_unknown_product_suggests_a_name(child) -> None:
    err = error(child("""
[[vendors]]
name = "Alpha"

[[vendors.products]]
name = "A3"
remove = true
"""))
    assert err.path == "vendors.Alpha.products.A3.remove"
    assert "cannot remove 'A3'" in str(err)


def test_remove_in_a_file_that_extends_nothing_is_an_error(write) -> None:
    text = PARENT.replace('name = "A2"\n', 'name = "A2"\nremove = true\n')
    err = error(write("root.toml", text))
    assert err.path == "vendors.Alpha.products.A2.remove"
    assert "extends nothing" in str(err)


def test_duplicate_product_names_in_one_firm_are_errors(write) -> None:
    err = error(write("dup.toml", PARENT.replace('name = "A2"', 'name = "A1"')))
    assert err.path == "vendors.Alpha.products.A1" and "duplicate name 'A1'" in str(err)


def test_removing_every_product_of_a_firm_is_an_error(child) -> None:
    err = error(child("""
[[vendors]]
name = "Beta"

[[vendors.products]]
name = "B1"
remove = true
"""))
    assert err.path == "vendors.Beta.products"
    assert "at least one product" in str(err)


def test_shipped_child_removes_a_baseline_firm(write) -> None:
    sc = sim.load_scenario(write("no_meta.toml", """
[scenario]
name = "No Meta"
extends = "baseline"

[[vendors]]
name = "Meta"
remove = true

[[policies]]
label = "Meta AI not in the EU (paused 2024-06; text assistant launched 2025-03)"
remove = true

[[policies]]
label = "Meta withholds multimodal Llama from the EU"
remove = true
"""))
    assert "Meta" not in sc.firm_names and "Llama" not in sc.product_owner
    assert all("Llama" not in cell for r in sc.regions for cell in r.shares.values())


# --------------------------------------------------------------------------- policies


def test_policies_append(child) -> None:
    sc = sim.load_scenario(child("""
[[policies]]
kind = "ban_open_weights"
region = "US"
start = 12
end = 18
"""))
    assert [p.kind for p in sc.policies] == ["interoperability", "ban_vendors",
                                             "ban_open_weights"]
    assert sc.policies[2].end == 18


def test_policy_removal_by_label(child) -> None:
    sc = sim.load_scenario(child("""
[[policies]]
label = "EU interoperability"
remove = true

[[policies]]
kind = "interoperability"
region = "EU"
start = 8
label = "EU interoperability"
switching_cost_multiplier = 0.2
"""))
    assert [p.label for p in sc.policies] == ["US bans Beta", "EU interoperability"]
    assert sc.policies[1].start == 8


def test_an_error_after_policy_removal_names_the_right_file(child) -> None:
    err = error(child("""
[[policies]]
label = "EU interoperability"
remove = true

[[policies]]
kind = "interoperability"
region = "FR"
"""))
    # the child's new policy is policies.1 once the parent's first one is gone
    assert err.path == "policies.1.region" and err.file.endswith("child.toml")


def test_removing_an_unknown_label_suggests_one(child) -> None:
    err = error(child("""
[[policies]]
label = "EU interoperabilty"
remove = true
"""))
    assert err.path == "policies.0.label"
    assert "no policy with that label" in str(err)
    assert err.problems[0].suggestion == "EU interoperability"


def test_policy_removal_has_only_label_and_remove(child) -> None:
    err = error(child("""
[[policies]]
kind = "interoperability"
label = "EU interoperability"
remove = true
"""))
    assert err.path == "policies.0" and "only 'label' and 'remove'" in str(err)


def test_policy_removal_needs_a_parent(write) -> None:
    text = PARENT + '\n[[policies]]\nlabel = "EU interoperability"\nremove = true\n'
    assert "extends nothing" in str(error(write("root.toml", text)))


def test_shipped_counterfactuals_remove_the_ai_act_by_label() -> None:
    act = "AI Act GPAI duties (Art. 53(2) open-source exemption below the systemic threshold)"
    base = [p.label for p in sim.load_scenario("baseline").policies]
    assert act in base
    no_act = [p.label for p in sim.load_scenario("no_ai_act").policies]
    assert no_act == [label for label in base if label != act]
    no_exemption = sim.load_scenario("eu_ai_act_no_exemption").policies
    assert act not in [p.label for p in no_exemption]
    assert no_exemption[-1].exempt_fraction == 0.0  # type: ignore[union-attr]


# --------------------------------------------------------------------------- files and cycles


def test_extends_by_relative_path_from_the_childs_folder(write, parent, monkeypatch,
                                                        tmp_path) -> None:
    grandchild = write("family/deeper/grandchild.toml", """
[scenario]
name = "Grandchild"
extends = "../child.toml"

[world]
kappa_open = 0.3
""")
    write("family/child.toml", CHILD_HEAD + "\n[world]\nnetwork_effect = 1.5\n")
    monkeypatch.chdir(tmp_path)  # relative to the file, not to the working directory
    sc = sim.load_scenario(grandchild)
    assert (sc.world.network_effect, sc.world.kappa_open) == (1.5, 0.3)
    scenario, parent_sc = load_with_parent(grandchild)
    assert scenario == sc
    assert parent_sc is not None and parent_sc.scenario.name == "Child"


def test_extends_a_shipped_scenario_by_name(write) -> None:
    sc = sim.load_scenario(write("child.toml", """
[scenario]
name = "Stronger network effects"
extends = "eu_blocks_open"

[world]
network_effect = 1.2
"""))
    assert sc.world.network_effect == 1.2
    assert sc.policies == sim.load_scenario("eu_blocks_open").policies


def test_extends_cycle_is_an_error(write) -> None:
    write("a.toml", '[scenario]\nname = "A"\nextends = "b.toml"\n')
    path = write("b.toml", '[scenario]\nname = "B"\nextends = "a.toml"\n')
    err = error(path)
    assert "extends cycle: b.toml -> a.toml -> b.toml" in str(err)
    assert err.path == "scenario.extends"


def test_error_names_the_file_and_the_product(child) -> None:
    path = child("""
[[vendors]]
name = "Beta"

[[vendors.products]]
name = "B1"
capability = -5.0
""")
    err = error(path)
    assert err.file == str(path.resolve())
    assert err.path == "vendors.Beta.products.B1.capability"


def test_parent_values_are_blamed_on_the_parent(write, parent, child) -> None:
    parent.write_text(PARENT.replace("capability = 95.0", "capability = 2000.0"))
    err = error(child("\n[world]\nnetwork_effect = 1.0\n"))
    assert err.file is not None and err.file.endswith("parent.toml")
    assert err.path == "vendors.Beta.products.B1.capability"


# --------------------------------------------------------------------------- version 1


def test_a_version_1_file_gets_the_migration_message(write) -> None:
    err = error(write("old.toml", """
[scenario]
name = "Old"

[[segments]]
name = "enterprise"

[[regions]]
name = "US"

[[vendors]]
name = "V"
home = "US"
openness = "open"
capability = 1.0
"""))
    assert str(err).count("\n") == 0 and "docs/migration-v2.md" in str(err)
    assert err.problems[0].message == VERSION_1_MESSAGE
    assert err.path == "vendors.V.openness"


def test_a_child_of_a_version_1_parent_is_refused(write) -> None:
    write("old.toml", '[scenario]\nformat_version = 1\nname = "Old"\n')
    err = error(write("new.toml", '[scenario]\nname = "New"\nextends = "old.toml"\n'))
    assert err.problems[0].message == VERSION_1_MESSAGE
    assert err.file is not None and err.file.endswith("old.toml")
    assert err.path == "scenario.format_version"


def test_a_version_1_child_of_a_version_2_parent_is_refused(child) -> None:
    err = error(child('\n[[vendors]]\nname = "Alpha"\ncapability = 99.0\n'))
    assert err.problems[0].message == VERSION_1_MESSAGE
    assert err.path == "vendors.Alpha.capability"


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
    count = len(sim.load_scenario("baseline").policies)
    with pytest.warns(ScenarioWarning, match=r"starts? after the horizon") as caught:
        sc = sim.load_scenario(path)
    # several late policies are named in one line, a single one in its own
    assert any(f"policies.{count}" in str(w.message) for w in caught)
    assert len(sc.policies) == count + 1


def test_shipped_scenarios_load_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", ScenarioWarning)
        for path in sorted(SCENARIOS.glob("*.toml")):
            sim.load_scenario(path)


def test_short_override_of_a_long_scenario_only_warns() -> None:
    with pytest.warns(ScenarioWarning):
        sc = sim.load_scenario("eu_blocks_open").with_overrides({"scenario.months": 3})
    assert sc.scenario.months == 3
