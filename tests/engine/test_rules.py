"""Phase 1, the rules in force (sim/engine/rules.py), on the tiny factory batch.

Factory lines: X1 closed (firm X, 100 points), Y1 open (Y, 92), Y2 closed (Y, 97), Z1 open
(Z, 90), a free slot (not launched). Regions A, B; segments ent, con.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.engine.params import CompiledPolicy
from sim.engine.rules import line_rules, new_trigger_memory, publish_rules
from tests.engine import factory

pytestmark = pytest.mark.filterwarnings("error")

X1, Y1, Y2, Z1, FREE = range(5)
A, B = 0, 1
DECAY = 0.05


def no_metric(name, region, segment):
    raise AssertionError("no trigger here: the metric must not be read")


def publish(p, month=0, state=None, memory=None, metric=no_metric):
    state = factory.state(p) if state is None else state
    memory = new_trigger_memory(p) if memory is None else memory
    return publish_rules(p, state, month, memory, metric)


def ban_open(regions=(A,), start=0, end=None, **values):
    values = {"enforcement": 1.0, "download_decay": DECAY, "allow_contributors": False,
              **values}
    return CompiledPolicy("ban_open_weights", "open ban", regions, start, end, values)


def test_without_policies_every_launched_line_is_available_and_nothing_is_forced():
    rules = publish(factory.params())
    assert rules.available[..., :FREE].all()
    assert not rules.available[..., FREE].any()  # a free slot is not launched
    assert (rules.forced[..., :FREE] == 0).all() and (rules.forced[..., FREE] == 1).all()
    assert rules.contributor_allowed.all()
    assert (rules.compliance_fixed == 0).all() and (rules.compliance_share == 0).all()
    assert (rules.switching_multiplier == 1).all() and (rules.contributor_friction == 0).all()
    assert rules.events == [] and rules.subsidies == [] and rules.mergers == []


def test_ban_on_open_weights_leaves_the_owners_closed_lines_available():
    rules = publish(factory.with_policies(factory.params(), ban_open()))
    in_a = rules.available[:, A]
    assert not in_a[..., Y1].any() and not in_a[..., Z1].any()
    assert in_a[..., Y2].all() and in_a[..., X1].all()  # firm Y's closed line stays
    assert rules.available[:, B, ..., :FREE].all()  # the other region is untouched


def test_enforcement_per_segment_binds_the_least_evasive_groups():
    p = factory.params(groups=4)  # equal groups; evasion upper ends 0.25, 0.5, 0.75, inf
    rules = publish(factory.with_policies(p, ban_open(enforcement=np.array([0.5, 1.0]))))
    ent, con = rules.available[:, A, 0, :, Y1], rules.available[:, A, 1, :, Y1]
    # the ban binds groups whose evasion exceeds 1 - 0.5: the least evasive half (2 and 3)
    np.testing.assert_array_equal(ent, np.array([[True, True, False, False]] * 2))
    assert not con.any()
    np.testing.assert_array_equal(rules.forced[:, A, 0, :, Y1],
                                  np.array([[0.0, 0.0, DECAY, DECAY]] * 2))
    assert rules.available[:, A, :, :, Y2].all()
    np.testing.assert_array_equal(rules.legally_offered()[:, A, :, Y1], False)


def test_forced_is_the_download_decay_under_an_open_ban_and_one_under_a_vendor_ban():
    p = factory.with_policies(factory.params(), ban_open(regions=(A,)),
                              CompiledPolicy("ban_vendors", "ban Y", (B,), 0, None,
                                             {"firms": [1], "enforcement": 1.0}))
    rules = publish(p)
    assert (rules.forced[:, A, ..., Y1] == DECAY).all()
    assert (rules.forced[:, A, ..., Z1] == DECAY).all()
    assert (rules.forced[:, A, ..., Y2] == 0).all()
    assert (rules.forced[:, B, ..., Y1] == 1).all() and (rules.forced[:, B, ..., Y2] == 1).all()
    assert (rules.forced[:, B, ..., Z1] == 0).all() and rules.available[:, B, ..., Z1].all()


def test_vendor_ban_by_home_region_and_openness():
    ban = CompiledPolicy("ban_vendors", "home A, open only", (B,), 0, None,
                         {"home_regions": [A], "openness": "open"})
    rules = publish(factory.with_policies(factory.params(), ban))
    # X and Y are homed in A, Z in B: only Y's open line Y1 is banned (in B)
    assert not rules.available[:, B, ..., Y1].any()
    assert rules.available[:, B, ..., [X1, Y2, Z1]].all()
    assert rules.available[:, A, ..., :FREE].all()


def test_withholding_makes_the_lines_unavailable_to_everyone_there_and_owes_nothing():
    withhold = CompiledPolicy("withhold", "Z withholds Z1 from A", (A,), 0, None,
                              {"firm": 2, "products": [Z1]})
    compliance = CompiledPolicy("compliance_cost", "duties", (A,), 0, None, {"fixed": 1e6})
    p = factory.with_policies(factory.params(groups=3), withhold, compliance)
    rules = publish(p)
    assert not rules.available[:, A, ..., Z1].any()
    assert (rules.forced[:, A, ..., Z1] == 1).all()
    assert rules.available[:, B, ..., Z1].all()
    assert (rules.compliance_fixed[:, A, Z1] == 0).all()  # not served there: owes nothing
    assert [(e.world, e.month, e.region, e.firm, e.kind) for e in rules.events
            if e.detail.startswith("withhold")] == [(0, 0, "A", "Z", "policy_on"),
                                                    (1, 0, "A", "Z", "policy_on")]


def test_min_capability_spares_weaker_open_lines():
    rules = publish(factory.with_policies(factory.params(), ban_open(min_capability=91.0)))
    assert not rules.available[:, A, ..., Y1].any()  # 92 >= 91
    assert rules.available[:, A, ..., Z1].all()  # 90 < 91
    assert (rules.forced[:, A, ..., Z1] == 0).all()


def test_window_start_and_end_with_events_at_the_right_months():
    p = factory.with_policies(factory.params(), ban_open(regions=(A, B), start=3, end=6))
    state, memory = factory.state(p), new_trigger_memory(p)
    seen = {}
    for month in range(9):
        rules = publish(p, month, state, memory)
        seen[month] = not rules.available[0, A, 0, 0, Y1]
        for e in rules.events:
            assert e.detail == "ban_open_weights: open ban"
        kinds = sorted((e.kind, e.world, e.region) for e in rules.events)
        if month == 3:
            assert kinds == [("policy_on", w, r) for w in (0, 1) for r in ("A", "B")]
        elif month == 6:
            assert kinds == [("policy_off", w, r) for w in (0, 1) for r in ("A", "B")]
        else:
            assert kinds == []
    assert [m for m, banned in seen.items() if banned] == [3, 4, 5]


def test_compliance_exemption_arithmetic():
    fixed, exempt, systemic_fixed = 1e6, 0.4, 5e6
    policy = CompiledPolicy("compliance_cost", "AI Act", (A,), 0, None, {
        "fixed": fixed, "revenue_share": 0.02, "systemic_capability": 98.0,
        "systemic_fixed": systemic_fixed, "exempt_fraction": exempt,
        "contributor_friction": 0.1})
    second = CompiledPolicy("compliance_cost", "more", (A,), 0, None,
                            {"fixed": 0.0, "contributor_friction": 0.2})
    rules = publish(factory.with_policies(factory.params(), policy, second))
    expected = [systemic_fixed,  # X1 closed, 100 >= 98: systemic, no exemption
                fixed * (1 - exempt),  # Y1 open, 92 < 98: exempt from part
                fixed,  # Y2 closed, 97 < 98: the full fixed cost
                fixed * (1 - exempt),  # Z1 open, 90
                0.0]  # free slot: no line
    np.testing.assert_allclose(rules.compliance_fixed[:, A], [expected] * 2)
    assert (rules.compliance_fixed[:, B] == 0).all()
    np.testing.assert_allclose(rules.compliance_share[:, A, :FREE], 0.02)
    np.testing.assert_allclose(rules.contributor_friction[:, A], 1 - 0.9 * 0.8)
    np.testing.assert_allclose(rules.contributor_friction[:, B], 0.0)


def test_open_line_at_the_systemic_threshold_pays_systemic_fixed():
    policy = CompiledPolicy("compliance_cost", "AI Act", (A, B), 0, None, {
        "fixed": 100.0, "systemic_capability": 92.0, "systemic_fixed": 300.0,
        "exempt_fraction": 0.5})
    rules = publish(factory.with_policies(factory.params(), policy))
    np.testing.assert_allclose(rules.compliance_fixed[:, :, Y1], 300.0)  # 92 >= 92
    np.testing.assert_allclose(rules.compliance_fixed[:, :, Z1], 50.0)


def test_trigger_fires_per_world_and_expires_after_its_duration():
    trigger = CompiledPolicy(
        "trigger", "watch", (A,), 0, None,
        {"metric": "hhi_market", "segment": 0, "above": 2500.0, "months": 2, "duration": 3,
         "repeat": False}, nested=ban_open(regions=(A,)))
    p = factory.with_policies(factory.params(), trigger)
    state, memory = factory.state(p), new_trigger_memory(p)
    calls = []

    def metric(name, region, segment):
        calls.append((name, region, segment))
        return np.array([3000.0, np.nan])  # world 0 above; world 1 has an empty market

    banned, events = {}, []
    for month in range(10):
        rules = publish(p, month, state, memory, metric)
        banned[month] = (~rules.available[:, A, 0, 0, Y1]).tolist()
        events += [(e.month, e.world, e.kind) for e in rules.events]
        assert rules.available[:, B, ..., :FREE].all()
    # held in months 1 and 2 (month 0 has no last month): applies in 2, 3, 4; not again
    assert [m for m, b in banned.items() if b[0]] == [2, 3, 4]
    assert not any(b[1] for b in banned.values())
    assert events == [(2, 0, "policy_on"), (5, 0, "policy_off")]
    assert set(calls) == {("hhi_market", A, 0)}


def test_trigger_with_repeat_fires_again_after_expiry_when_the_condition_holds():
    trigger = CompiledPolicy(
        "trigger", "watch", (A,), 0, None,
        {"metric": "open_user_share", "segment": None, "below": 0.5, "months": 1,
         "duration": 2, "repeat": True},
        nested=CompiledPolicy("interoperability", "portability", (A,), 0, None,
                              {"switching_cost_multiplier": 0.25}))
    p = factory.with_policies(factory.params(), trigger)
    state, memory = factory.state(p), new_trigger_memory(p)
    values = {1: [0.1, 0.9], 2: [0.9, 0.9], 3: [0.1, 0.1], 4: [0.1, 0.1], 5: [0.1, 0.1]}
    multipliers = {}
    for month in range(6):
        rules = publish(p, month, state, memory,
                        lambda name, r, s, m=month: np.array(values.get(m, [0.9, 0.9])))
        multipliers[month] = rules.switching_multiplier[:, A].tolist()
        np.testing.assert_array_equal(rules.switching_multiplier[:, B], 1.0)
    # world 0: fires at 1 (applies 1, 2), expires at 3 and fires again at once (3, 4), then 5
    assert [m for m, v in multipliers.items() if v[0] == 0.25] == [1, 2, 3, 4, 5]
    # world 1: below from month 3 on
    assert [m for m, v in multipliers.items() if v[1] == 0.25] == [3, 4, 5]


def test_contributors_barred_only_from_the_banned_regions_open_lines():
    rules = publish(factory.with_policies(factory.params(), ban_open(allow_contributors=False)))
    expected = np.ones((2, 2, 5), dtype=bool)
    expected[:, A, [Y1, Z1]] = False
    np.testing.assert_array_equal(rules.contributor_allowed, expected)
    rules = publish(factory.with_policies(factory.params(), ban_open(allow_contributors=True)))
    assert rules.contributor_allowed.all()


def test_a_dead_firms_lines_are_unavailable_in_that_world_only():
    p = factory.params()
    state = factory.state(p)
    state.firm_alive[0, 2] = False  # Z exits in world 0
    rules = publish(p, state=state)
    assert not rules.available[0, ..., Z1].any() and (rules.forced[0, ..., Z1] == 1).all()
    assert rules.available[1, ..., Z1].all() and (rules.forced[1, ..., Z1] == 0).all()


def test_a_withdrawn_line_is_forced_out_but_still_sees_its_compliance_rate():
    p = factory.with_policies(factory.params(), CompiledPolicy(
        "compliance_cost", "duties", (A,), 0, None, {"fixed": 7.0}))
    state = factory.state(p)
    state.served[:, A, X1] = False
    rules = publish(p, state=state)
    assert (rules.forced[:, A, ..., X1] == 1).all() and not rules.available[:, A, ..., X1].any()
    np.testing.assert_allclose(rules.compliance_fixed[:, A, X1], 7.0)  # for re-entry


def test_subsidies_mergers_and_interoperability_pass_through():
    p = factory.with_policies(
        factory.params(),
        CompiledPolicy("open_source_subsidy", "EU fund", (B,), 0, None,
                       {"budget": 1e7, "recipients": "both", "contributor_fraction": 0.3,
                        "cost_per_effort": 2e4}),
        CompiledPolicy("merger", "X buys Z", (), 2, None, {"acquirer": 0, "target": 2}),
        CompiledPolicy("interoperability", "portability", (A, B), 0, None,
                       {"switching_cost_multiplier": 0.5}))
    state, memory = factory.state(p), new_trigger_memory(p)
    state.firm_alive[1, 2] = False
    at = {m: publish(p, m, state, memory) for m in range(4)}
    (subsidy,) = at[0].subsidies
    np.testing.assert_array_equal(subsidy.where, [[False, True]] * 2)
    np.testing.assert_allclose(subsidy.budget, 1e7)
    assert (subsidy.recipients, subsidy.contributor_fraction, subsidy.cost_per_effort) == (
        "both", 0.3, 2e4)
    assert [len(at[m].mergers) for m in range(4)] == [0, 0, 1, 0]
    merger = at[2].mergers[0]
    assert (merger.acquirer, merger.target) == (0, 2)
    np.testing.assert_array_equal(merger.where, [True, False])  # Z is dead in world 1
    np.testing.assert_allclose(at[0].switching_multiplier, 0.5)
    assert not any(e.detail.startswith("merger") for r in at.values() for e in r.events)


def test_line_rules_for_a_prospective_line():
    p = factory.with_policies(
        factory.params(groups=2), ban_open(regions=(A,), min_capability=95.0),
        CompiledPolicy("compliance_cost", "duties", (B,), 0, None,
                       {"fixed": 10.0, "exempt_fraction": 0.5, "revenue_share": 0.1}))
    rules = publish(p)
    found = line_rules(p, rules, is_open=np.array([True, True]),
                       capability=np.array([96.0, 94.0]), home=np.array([B, B]))
    assert not found.available[0, A].any() and found.available[1, A].all()
    assert found.available[:, B].all()
    np.testing.assert_allclose(found.compliance_fixed, [[0.0, 5.0]] * 2)
    np.testing.assert_allclose(found.compliance_share, [[0.0, 0.1]] * 2)
