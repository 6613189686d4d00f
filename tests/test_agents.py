"""Vendors' responses, entry and exit, adaptive openness and contributors (issue 4).

Each mechanism is tested on its own in the small two-region scenario of
tests/policy_scenarios.py (entry off unless a test turns it on).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

import sim
from sim import contributors as contrib
from sim import strategy
from sim.agents.contributor import NONE
from sim.agents.vendor import LEDGER_FLOWS
from tests.policy_scenarios import BASE, adopters_of, small

# --------------------------------------------------------------------------- entry


def _entries(overrides, seeds=range(4)):
    counts = []
    for seed in seeds:
        model = sim.MarketModel(small({"world.entry_rate": 1.0, "world.entry_cost": 2.0e4,
                                       **overrides}), seed=seed)
        model.run()
        counts.append(sum(1 for e in model.events if e[3] == "entry"))
    return np.array(counts)


def test_entry_falls_when_no_open_model_exists():
    with_open = _entries({})
    all_closed = _entries({"vendors.OpenA.openness": "closed",
                           "vendors.OpenB.openness": "closed"})
    # with open weights to build on, entrants start 3 points below the best open model;
    # without, 25 points below the closed frontier, and it rarely pays
    assert with_open.mean() >= 5
    assert all_closed.mean() < 0.5 * with_open.mean()


def test_entrant_builds_on_the_best_open_model_and_gets_consistent_arrays():
    model = sim.MarketModel(small({"world.entry_rate": 1.0, "world.entry_cost": 2.0e4}), seed=0)
    vt = model.vendors
    while vt.count == 4:
        month = model.month + 1
        best_open = max(vt.capability[2], vt.capability[3])
        model.step()
    k = vt.count - 1
    entry = [e for e in model.events if e[3] == "entry"][-1]  # several may enter at once
    assert entry[0] == month and entry[2] == vt.names[k]
    gap = model.world.entrant_gap
    assert vt.capability[k] == pytest.approx(max(vt.capability[2], vt.capability[3]) - gap,
                                             abs=1.0)
    assert vt.capability[k] < best_open + 1.0  # built below the best open model of the month
    n_options = vt.count + 1
    assert model.counts.shape[-1] == n_options
    assert model.counts[..., k + 1].sum() == 0  # no adopters yet
    assert model.rules.available.shape[-1] == vt.count
    assert model.network_share.shape[-1] == vt.count
    assert model.effort.shape[0] >= vt.count
    alive = vt.alive[:k]
    np.testing.assert_array_equal(model.brand[..., k], model.brand[..., :k][..., alive].min(-1))
    assert vt.margin_region[k].sum() > 0  # its expectations start from the entry estimate
    assert len(model.vendor_agents) == vt.count
    frame = model.results()["vendors"]
    assert set(frame.query(f"month == {month}")["vendor"]) == set(vt.names)
    model.run(6)  # and the model runs on with it
    assert model.counts[..., k + 1].sum() > 0
    np.testing.assert_array_equal(model.counts.sum(axis=(2, 3)), model.potential)


def test_entrant_weighs_compliance_costs():
    # a compliance cost far above any entrant's margin in both regions: nobody enters
    policies = [{"kind": "compliance_cost", "region": "*", "start": 0, "fixed": 1.0e7}]
    model = sim.MarketModel(small({"world.entry_rate": 2.0, "world.entry_cost": 2.0e4},
                                  policies=policies), seed=0)
    model.run(12)
    assert not [e for e in model.events if e[3] == "entry"]


# --------------------------------------------------------------------------- exit


def test_exiting_vendor_adopters_and_contributors_all_choose_again():
    sc = small({"vendors.OpenA.cash": -1.0e9, "vendors.OpenA.funding": 0.0,
                "world.exit_after": 3})
    model = sim.MarketModel(sc, seed=0)
    k = model.vendors.names.index("OpenA")
    model.run(2)
    assert model.vendors.alive[k]
    model.step()  # month 3: third month of negative cash
    assert not model.vendors.alive[k]
    assert [(e[0], e[2], e[3]) for e in model.events] == [(3, "OpenA", "exit")]
    assert adopters_of(model, "OpenA") > 0  # they choose again next month
    assert (model.contributors.ecosystem == k).any()
    model.step()
    assert adopters_of(model, "OpenA") == 0  # every one of them re-assigned
    assert not (model.contributors.ecosystem == k).any()
    np.testing.assert_array_equal(model.counts.sum(axis=(2, 3)), model.potential)
    assert model.metrics().query("region == 'World' and segment == 'all'")[
        "vendors_active"].item() == 3


# --------------------------------------------------------------------------- withdrawal


def test_no_spurious_withdrawal_when_compliance_starts_at_once():
    """Expected margins start from the month-0 state, not from zero."""
    model = sim.MarketModel(small(policies=[
        {"kind": "compliance_cost", "region": "A", "start": 0, "fixed": 1000.0}]), seed=1)
    model.run(6)
    assert not [e for e in model.events if e[3] == "withdrawal"]


def test_expected_margin_is_an_exponential_average_of_margins():
    model = sim.MarketModel(small(), seed=1)
    vt = model.vendors
    start = vt.margin_region[:4].copy()
    model.step()
    weight = 2.0 / (model.world.withdrawal_horizon + 1)
    from sim import finance

    _, now = finance.region_margins(vt, model.counts.sum(axis=2)[..., 1:], model._tokens(1),
                                    model._serving_cost(1))
    np.testing.assert_allclose(vt.margin_region[:4], start + weight * (now - start))


def test_indirect_value_is_earned_by_open_vendors_only():
    sc = small({"vendors.ClosedA.indirect_value": 3.0, "vendors.OpenA.indirect_value": 3.0})
    model = sim.MarketModel(sc, seed=1)
    model.step()
    indirect = model.vendors.ledger[:4, LEDGER_FLOWS.index("indirect")]
    assert indirect[0] == 0.0
    assert indirect[2] == pytest.approx(3.0 * adopters_of(model, "OpenA"))


# --------------------------------------------------------------------------- adaptive openness


def _adaptive(indirect: float):
    """ClosedA (the leader) and Laggard (20 points behind, 2 % of adopters) both adaptive,
    their parents valuing each open-model adopter at ``indirect`` USD a month."""
    vendors = copy.deepcopy(BASE["vendors"])
    vendors[0].update(strategy="adaptive", indirect_value=indirect)
    vendors.append({"name": "Laggard", "home": "A", "openness": "closed", "capability": 80.0,
                    "cost_factor": 2.0, "cash": 1e10, "funding": 1e8, "strategy": "adaptive",
                    "indirect_value": indirect})
    sc = small({"world.review_months": 6, "world.openness_switch_cost": 2.0e5,
                "world.spillover": 0.0, "scenario.months": 8,
                "regions.A.initial_shares.Laggard": 0.02, "regions.A.initial_shares.ClosedA": 0.33,
                "regions.B.initial_shares.Laggard": 0.02,
                "regions.B.initial_shares.ClosedB": 0.33},
               vendors=vendors)
    return sim.MarketModel(sc, seed=0)


def test_adaptive_laggard_opens_and_leader_with_a_large_closed_margin_stays_closed():
    model = _adaptive(indirect=8.0)
    laggard, leader = model.vendors.names.index("Laggard"), 0
    # same parameters, but the leader's large share gives it a high markup (A = alpha (1 - s))
    # and little room to grow, the laggard the reverse: opening pays for the laggard only
    assert strategy._profit_as(model, leader, True) < 0.9 * strategy._profit_as(
        model, leader, False)
    assert strategy._profit_as(model, laggard, True) > strategy._profit_as(
        model, laggard, False)
    model.run()
    switches = [e for e in model.events if e[3] == "openness_switch"]
    assert [(e[0], e[2]) for e in switches] == [(6, "Laggard")]  # at its first review
    assert "now open" in switches[0][4]
    assert model.vendors.is_open[laggard] and not model.vendors.is_open[leader]
    assert model.vendors.ledger[laggard, LEDGER_FLOWS.index("switching")] == -2.0e5
    assert model.vendors.hosted[laggard] == pytest.approx(0.3)  # the spec's hosted_fraction


def test_adaptive_vendors_stay_closed_when_opening_brings_nothing():
    model = _adaptive(indirect=0.0)
    model.run()
    assert not [e for e in model.events if e[3] == "openness_switch"]


def test_opening_counts_the_community_an_open_ecosystem_would_attract():
    model = _adaptive(indirect=8.0)
    laggard = model.vendors.names.index("Laggard")
    rules = strategy._rules_as(model, laggard, True)
    points = strategy._community_points(model, laggard, rules)
    assert points > 0
    # a ban of open weights everywhere without contributors leaves no community to expect
    banned = small(policies=[{"kind": "ban_open_weights", "region": "*", "start": 1}])
    other = sim.MarketModel(banned, seed=0)
    other.step()
    rules = strategy._rules_as(other, 0, True)
    assert strategy._community_points(other, 0, rules) == 0.0
    assert not rules.available[:, :, 0].any()  # and opening would ban it


# --------------------------------------------------------------------------- contributors


def test_contributors_are_heavy_tailed_mesa_agents_sorted_by_region():
    sc = small({"contributors.count": 400})
    model = sim.MarketModel(sc, seed=2)
    table = model.contributors
    assert len(model.contributor_agents) == table.count == 400
    assert np.bincount(table.region).tolist() == [200, 200]
    sizes = np.sort(table.developers)[::-1]
    assert sizes.min() >= sc.contributors.size_min
    assert sizes[:40].sum() > 0.4 * sizes.sum()  # the top 10 % do a large part of the work
    engaged = (table.ecosystem != NONE).mean()
    assert 0.35 < engaged < 0.65  # initial_engaged = 0.5 in expectation
    agent = model.contributor_agents[0]
    assert agent.ecosystem in (None, "OpenA", "OpenB")


def test_contributors_reconsider_at_rate_mu():
    model = sim.MarketModel(small({"contributors.count": 2000,
                                   "contributors.reconsider_rate": 0.1}), seed=2)
    changed = 0
    for _ in range(5):
        before = model.contributors.ecosystem.copy()
        model.step()
        changed += (before != model.contributors.ecosystem).sum()
    # a reconsidering community keeps its choice with some probability: fewer than mu move
    assert 0.02 < changed / (5 * 2000) < 0.1


def test_contributor_effort_feeds_open_capability_with_diminishing_returns():
    world = sim.load_scenario("baseline").world
    from sim.capability import capability_growth

    effort = np.array([0.0, 1.0e4, 4.0e4, 4.0e4])
    growth = capability_growth(world, np.full(4, 90.0), np.array([True, True, True, False]),
                               np.ones(4, dtype=bool), np.zeros(4), effort, 0)
    community = growth[:3] - growth[0]
    assert community[2] == pytest.approx(2 * community[1])  # theta = 0.5: 4x effort, 2x points
    assert growth[3] == growth[0]  # closed models get no community effort


def test_expected_effort_is_the_fixed_point_of_the_contributors_choice():
    spec = sim.load_scenario("baseline").contributors
    supply = np.array([1000.0, 500.0])
    allowed = np.array([[True, True], [True, False]])
    values = np.array([10.0, 12.0])
    outside = np.array([12.0, 11.0])
    e = contrib.expected_effort(spec, supply, allowed, values, outside, 0, 90.0, 0.2)
    own = (spec.capability_weight * 90 + spec.community_weight * np.log1p(e)
           - spec.license_weight * 0.2)
    p0 = np.exp(own) / (np.exp(outside[0]) + np.exp(values[1]) + np.exp(own))
    p1 = np.exp(own) / (np.exp(outside[1]) + np.exp(own))
    assert e == pytest.approx(supply[0] * p0 + supply[1] * p1, rel=1e-6)
    blocked = np.array([[False, True], [False, False]])
    assert contrib.expected_effort(spec, supply, blocked, values, outside, 0, 90.0, 0.2) == 0.0


def test_derivatives_are_reported_in_proportion_to_effort():
    model = sim.MarketModel(small({"contributors.count": 200,
                                   "contributors.derivative_rate": 0.1}), seed=4)
    model.run(12)
    market = model.results()["market"].query("region == 'World' and segment == 'all'")
    market = market[market["month"] >= 1]  # a monthly flow: nothing is released at month 0
    assert market["derivatives"].iloc[0] >= 0
    ratio = market["derivatives"].sum() / market["effort"].sum()
    assert ratio == pytest.approx(0.1, rel=0.1)


def test_every_event_kind_is_recorded():
    sc = small({"world.entry_rate": 1.0, "world.entry_cost": 2.0e4}, policies=[
        {"kind": "ban_vendors", "region": "B", "vendors": ["ClosedA"], "start": 1, "end": 2},
        {"kind": "merger", "acquirer": "ClosedA", "target": "ClosedB", "start": 2}])
    model = sim.MarketModel(sc, seed=0)
    model.run(6)
    kinds = {e[3] for e in model.events}
    assert {"policy_on", "policy_off", "merger", "entry"} <= kinds
    events = model.results()["events"]
    assert list(events.columns) == ["scenario", "replication", "month", "date", "region",
                                    "vendor", "kind", "detail"]
    assert len(events) == len(model.events)


def test_legal_friction_and_compliance_friction_reduce_contributors_effort():
    sc = small({"regions.A.legal_friction": 0.5}, policies=[
        {"kind": "compliance_cost", "region": "A", "start": 1, "contributor_friction": 0.2}])
    model = sim.MarketModel(sc, seed=2)
    model.step()
    table = model.contributors
    in_a = table.region == 0
    np.testing.assert_allclose(model.rules.contributor_friction, [0.2, 0.0])
    effort = table.effort(model.rules.contributor_friction)
    np.testing.assert_allclose(effort[in_a], table.developers[in_a] * table.productivity
                               * 0.5 * 0.8)
    np.testing.assert_allclose(effort[~in_a], table.developers[~in_a] * table.productivity)
