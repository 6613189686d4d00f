"""Regulators and every policy kind, each in a small scenario built for the test (issue 4).

The scenario (tests/policy_scenarios.py) has two symmetric regions A and B, one segment,
two closed and two open vendors, and entry turned off, so a policy in A can be compared with
B (same seed: common random numbers) and with the same run without the policy.
"""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim.agents.contributor import NONE
from sim.agents.vendor import LEDGER_FLOWS
from sim.errors import ScenarioError
from sim.policies import compliance_fixed_cost
from sim.scenario.schema import ComplianceCost
from sim.strategy import expected_margin
from tests.policy_scenarios import adopters_of, small

OPEN = ("OpenA", "OpenB")


def _open_adopters(model, region: str) -> int:
    return sum(adopters_of(model, v, region) for v in OPEN)


def _metric(model, name: str, region: str) -> float:
    frame = model.metrics()
    row = frame[(frame["region"] == region) & (frame["segment"] == "all")]
    return float(row[name].iloc[0])


def _engaged(model, region: str) -> int:
    rows = model.contributors.region == model.regions.index(region)
    return int((model.contributors.ecosystem[rows] != NONE).sum())


def _events(model, kind: str) -> list[tuple]:
    return [e for e in model.events if e[3] == kind]


# --------------------------------------------------------------------------- ban_open_weights


def test_ban_open_weights_empties_the_region_for_its_window_then_open_models_return():
    model = sim.MarketModel(small(policies=[
        {"kind": "ban_open_weights", "region": "A", "start": 4, "end": 10}]), seed=1)
    for month in range(1, 25):
        model.step()
        if 4 <= month < 10:
            assert _open_adopters(model, "A") == 0, month
            assert _metric(model, "open_share", "A") == 0.0
            assert _engaged(model, "A") == 0  # allow_contributors defaults to false
            assert not model.rules.contributor_allowed[0, 2:].any()
        else:
            assert _open_adopters(model, "A") > 0, month
        assert _open_adopters(model, "B") > 0  # the other region is untouched
        if month == 3:
            before = _engaged(model, "A")
            assert before > 0
    assert _metric(model, "open_share", "A") > 0.2  # they came back after the end
    assert _engaged(model, "A") > 0  # and so did the region's contributors
    on = _events(model, "policy_on")
    off = _events(model, "policy_off")
    assert [(e[0], e[1]) for e in on] == [(4, "A")]
    assert [(e[0], e[1]) for e in off] == [(10, "A")]


def test_ban_with_allow_contributors_keeps_the_regions_communities_working():
    model = sim.MarketModel(small(policies=[
        {"kind": "ban_open_weights", "region": "A", "start": 2, "allow_contributors": True}]),
        seed=1)
    model.run(8)
    assert _open_adopters(model, "A") == 0
    assert model.rules.contributor_allowed.all()
    assert _engaged(model, "A") > 0
    engaged = model.contributors.ecosystem[model.contributors.region == 0]
    assert set(engaged[engaged != NONE]) <= {2, 3}  # the open vendors' ecosystems


def test_capability_threshold_bans_only_models_above_it():
    # OpenA starts at 95, OpenB at 93: a threshold of 94 bans OpenA only
    model = sim.MarketModel(small(policies=[
        {"kind": "ban_open_weights", "region": "A", "start": 1, "end": 3,
         "min_capability": 94.0, "allow_contributors": True}]), seed=1)
    model.step()
    assert adopters_of(model, "OpenA", "A") == 0
    assert adopters_of(model, "OpenB", "A") > 0
    assert model.rules.available[0, :, 2].sum() == 0 and model.rules.available[0, :, 3].all()
    assert adopters_of(model, "OpenA", "B") > 0


# --------------------------------------------------------------------------- ban_vendors


def test_ban_vendors_by_name():
    model = sim.MarketModel(small(policies=[
        {"kind": "ban_vendors", "region": "A", "vendors": ["ClosedB"], "start": 2}]), seed=1)
    model.run(6)
    assert adopters_of(model, "ClosedB", "A") == 0
    assert adopters_of(model, "ClosedB", "B") > 0
    assert all(adopters_of(model, v, "A") > 0 for v in ("ClosedA", "OpenA", "OpenB"))


@pytest.mark.parametrize("openness,banned", [("any", ("ClosedB", "OpenB")),
                                             ("closed", ("ClosedB",)), ("open", ("OpenB",))])
def test_ban_vendors_by_home_region(openness, banned):
    model = sim.MarketModel(small(policies=[
        {"kind": "ban_vendors", "region": "A", "home_regions": ["B"], "openness": openness,
         "start": 1}]), seed=1)
    model.run(3)
    for name in ("ClosedA", "ClosedB", "OpenA", "OpenB"):
        assert (adopters_of(model, name, "A") == 0) == (name in banned), name
        assert adopters_of(model, name, "B") > 0


# --------------------------------------------------------------------------- merger


def test_merger_moves_every_adopter_and_all_cash_to_the_acquirer():
    model = sim.MarketModel(small(policies=[
        {"kind": "merger", "acquirer": "ClosedA", "target": "ClosedB", "start": 3}]), seed=1)
    model.run(2)
    vt = model.vendors
    a, t = vt.names.index("ClosedA"), vt.names.index("ClosedB")
    seen = {}
    decide = model._vendors_decide

    def spy(month):  # phase 2 runs right after the regulators (phase 1) merged the two
        seen["counts"] = model.counts.copy()
        seen["cash"] = vt.cash[: vt.count].copy()
        decide(month)

    before_counts = model.counts.copy()
    before_cash = vt.cash[: vt.count].copy()
    before_q = vt.capability[: vt.count].copy()
    model._vendors_decide = spy
    model.step()  # month 3
    after = seen["counts"]
    assert (after[..., t + 1] == 0).all()
    np.testing.assert_array_equal(after[..., a + 1],
                                  before_counts[..., a + 1] + before_counts[..., t + 1])
    np.testing.assert_array_equal(after.sum(axis=-1), before_counts.sum(axis=-1))
    assert seen["cash"][a] == before_cash[a] + before_cash[t]
    assert seen["cash"][t] == 0.0
    assert seen["cash"].sum() == pytest.approx(before_cash.sum(), rel=1e-15)
    assert vt.capability[a] >= max(before_q[a], before_q[t])
    assert not vt.alive[t]
    ledger = dict(zip(LEDGER_FLOWS, vt.ledger[: vt.count].T, strict=True))
    assert ledger["merger_in"][a] == before_cash[t] == -ledger["merger_out"][t]
    model.run(3)
    assert adopters_of(model, "ClosedB") == 0
    # the books still balance: cash = initial cash + every recorded flow
    initial = np.array([v.cash for v in model.scenario.vendors])
    np.testing.assert_allclose(vt.cash[: vt.count], initial + vt.ledger[: vt.count].sum(axis=1),
                               rtol=1e-12, atol=0.01)
    assert [(e[0], e[2], e[3]) for e in model.events] == [(3, "ClosedA", "merger")]


@pytest.mark.parametrize("start", [0, "2025-01", None])
def test_merger_at_step_zero_is_refused_with_a_clear_message(start):
    policy = {"kind": "merger", "acquirer": "ClosedA", "target": "ClosedB"}
    if start is not None:
        policy["start"] = start
    with pytest.raises(ScenarioError, match=r"policies\.0\.start.*merger cannot take effect at "
                                            r"step 0"):
        small(policies=[policy])


# --------------------------------------------------------------------------- compliance_cost


def test_compliance_fixed_cost_arithmetic():
    policy = ComplianceCost(kind="compliance_cost", fixed=1000.0, exempt_fraction=0.4,
                            systemic_capability=100.0, systemic_fixed=5000.0)
    is_open = np.array([True, True, False, False])
    capability = np.array([99.0, 100.0, 99.0, 120.0])
    np.testing.assert_allclose(compliance_fixed_cost(policy, is_open, capability),
                               [1000.0 * (1 - 0.4), 5000.0, 1000.0, 5000.0])
    no_systemic = ComplianceCost(kind="compliance_cost", fixed=1000.0, exempt_fraction=0.4)
    np.testing.assert_allclose(compliance_fixed_cost(no_systemic, is_open, capability),
                               [600.0, 600.0, 1000.0, 1000.0])
    default_systemic = ComplianceCost(kind="compliance_cost", fixed=1000.0,
                                      systemic_capability=100.0)  # systemic_fixed = fixed
    np.testing.assert_allclose(compliance_fixed_cost(default_systemic, is_open, capability),
                               [500.0, 1000.0, 1000.0, 1000.0])


@pytest.mark.parametrize("threshold,expected", [
    # capabilities: ClosedA 100, ClosedB 99, OpenA 95, OpenB 93
    (94.0, ["systemic", "systemic", "systemic", "exempt"]),
    (99.5, ["systemic", "fixed", "exempt", "exempt"]),
])
def test_compliance_costs_are_paid_per_region_served_with_the_open_source_exemption(
        threshold, expected):
    fixed, exempt, systemic = 2000.0, 0.25, 3000.0
    model = sim.MarketModel(small(policies=[
        {"kind": "compliance_cost", "region": "A", "start": 1, "end": 2, "fixed": fixed,
         "exempt_fraction": exempt, "systemic_capability": threshold,
         "systemic_fixed": systemic}]), seed=1)
    model.step()
    paid = -model.vendors.ledger[:4, LEDGER_FLOWS.index("compliance")]
    cost = {"systemic": systemic, "fixed": fixed, "exempt": fixed * (1 - exempt)}
    np.testing.assert_allclose(paid, [cost[e] for e in expected])
    assert _metric(model, "compliance_paid", "A") == pytest.approx(paid.sum())
    assert _metric(model, "compliance_paid", "B") == 0.0
    assert not _events(model, "withdrawal")  # cheap enough: everybody stays


def _margin_pair(policies):
    """OpenA and OpenB identical (home A, capability 95, shares 0.2) except that OpenA's
    parent values each adopter at 5 USD a month: only their margins differ."""
    return small({"vendors.OpenB.home": "A", "vendors.OpenB.capability": 95.0,
                  "vendors.OpenA.indirect_value": 5.0,
                  "regions.A.initial_shares.OpenA": 0.2, "regions.A.initial_shares.OpenB": 0.2,
                  "regions.B.initial_shares.OpenA": 0.2, "regions.B.initial_shares.OpenB": 0.2},
                 policies=policies)


def test_vendor_whose_margin_is_below_the_compliance_cost_withdraws_the_other_stays():
    fixed = 40_000.0  # between the two vendors' monthly margins in A (about 15k and 115k)
    model = sim.MarketModel(_margin_pair([
        {"kind": "compliance_cost", "region": "A", "start": 3, "end": 12, "fixed": fixed,
         "exempt_fraction": 0.0}]), seed=1)
    model.run(2)
    margin = model.vendors.margin_region[[2, 3], 0]
    assert margin[1] < fixed < margin[0]  # the numbers, not a script, decide
    model.run(4)
    withdrawals = _events(model, "withdrawal")
    assert [(e[0], e[1], e[2]) for e in withdrawals] == [(3, "A", "OpenB")]
    assert "< compliance 40,000" in withdrawals[0][4]
    assert adopters_of(model, "OpenB", "A") == 0  # its adopters in A had to choose again
    assert adopters_of(model, "OpenB", "B") > 0  # it still serves B
    assert adopters_of(model, "OpenA", "A") > 0
    assert model.vendors.served[3].tolist() == [False, True]
    assert _metric(model, "withdrawals", "World") == 0.0  # a flow: only in month 3
    # the policy ends at 12; the re-entry lag (6) has passed, so it comes back when it pays
    model.run(18)
    reentry = _events(model, "reentry")
    assert [(e[0], e[1], e[2]) for e in reentry] == [(12, "A", "OpenB")]
    assert adopters_of(model, "OpenB", "A") > 0


def test_withdrawal_waits_for_the_reentry_lag():
    model = sim.MarketModel(_margin_pair([
        {"kind": "compliance_cost", "region": "A", "start": 3, "end": 5, "fixed": 40_000.0,
         "exempt_fraction": 0.0}]).with_overrides({"world.reentry_lag": 8}), seed=1)
    model.run(16)
    assert [(e[0], e[2]) for e in _events(model, "reentry")] == [(11, "OpenB")]


def test_withdrawn_vendor_stays_out_while_the_cost_is_above_what_it_would_earn():
    """Re-entry prospects come from the demand model, so no enter-and-leave-again cycles."""
    model = sim.MarketModel(_margin_pair([
        {"kind": "compliance_cost", "region": "A", "start": 3, "fixed": 40_000.0,
         "exempt_fraction": 0.0}]).with_overrides({"world.reentry_lag": 2}), seed=1)
    model.run(24)
    assert [(e[0], e[2], e[3]) for e in model.events if e[3] in ("withdrawal", "reentry")] == [
        (3, "OpenB", "withdrawal")]
    prospect = expected_margin(model, 3)[0]
    assert 0 < prospect < 40_000.0


def test_revenue_share_is_charged_on_the_regions_revenue():
    model = sim.MarketModel(small(policies=[
        {"kind": "compliance_cost", "region": "B", "start": 1, "revenue_share": 0.1}]), seed=1)
    model.step()
    revenue_b = model.results()["vendors"].query("month == 1 and region == 'B'")["revenue"]
    paid = -model.vendors.ledger[:4, LEDGER_FLOWS.index("compliance")]
    np.testing.assert_allclose(paid, 0.1 * revenue_b.to_numpy(), rtol=1e-12)


# --------------------------------------------------------------------------- enforcement


def test_enforcement_below_one_lets_the_evaders_keep_reaching_banned_models():
    enforcement = 0.7
    evaders = 1 - enforcement
    ban = sim.MarketModel(small(policies=[
        {"kind": "ban_open_weights", "region": "A", "start": 2, "enforcement": enforcement}]),
        seed=1)
    free = sim.MarketModel(small(), seed=1)
    ban.run(12)
    free.run(12)
    np.testing.assert_allclose(ban.group_fractions[0], [evaders, enforcement])
    open_cols = [3, 4]  # options of OpenA and OpenB
    a = ban.counts[0]
    assert a[:, 1:, open_cols].sum() == 0  # the bound group cannot reach them
    assert a[:, 0, open_cols].sum() > 0  # the evaders can
    banned_share = a[..., open_cols].sum() / ban.potential[0].sum()
    assert 0 < banned_share < evaders
    # about the evaders' part of what open models would have had without the ban
    ratio = _open_adopters(ban, "A") / _open_adopters(free, "A")
    assert 0.6 * evaders < ratio < 1.05 * evaders
    assert 0 < _metric(ban, "open_share", "A") < _metric(free, "open_share", "A")


# --------------------------------------------------------------------------- trigger


def _trigger_run(ban_end: int, repeat: bool = False):
    return sim.MarketModel(small(policies=[
        {"kind": "ban_open_weights", "region": "A", "start": 2, "end": ban_end},
        {"kind": "trigger", "region": "A", "metric": "open_share", "below": 0.01, "months": 3,
         "duration": 4, "repeat": repeat,
         "policy": {"kind": "interoperability", "switching_cost_multiplier": 0.2}}]), seed=1)


def test_trigger_fires_after_the_stated_months_applies_for_the_duration_and_is_recorded():
    model = _trigger_run(ban_end=10)
    multipliers = []
    for _ in range(16):
        model.step()
        multipliers.append(model.rules.switching_multiplier[0])
        assert model.rules.switching_multiplier[1] == 1.0  # only the trigger's region
    # open share is 0 from month 2; months 2, 3, 4 are seen at months 3, 4, 5: fires at 5
    assert multipliers == [1.0] * 4 + [0.2] * 4 + [1.0] * 8
    fired = _events(model, "trigger")
    assert [(e[0], e[1]) for e in fired] == [(5, "A")]
    assert "open_share below 0.01 for 3 months" in fired[0][4]
    assert "for 4 months" in fired[0][4]
    off = [e for e in _events(model, "policy_off") if "trigger" in e[4]]
    assert [(e[0], e[1]) for e in off] == [(9, "A")]


def test_trigger_does_not_fire_when_the_condition_holds_too_briefly():
    model = _trigger_run(ban_end=4)  # open share 0 in months 2 and 3 only
    model.run(16)
    assert not _events(model, "trigger")


def test_trigger_with_repeat_fires_again_while_the_condition_holds():
    model = _trigger_run(ban_end=20, repeat=True)
    model.run(20)
    # fires at 5, expires at 9 and counts afresh (months 8, 9, 10, read at 9, 10, 11): fires at 11
    assert [e[0] for e in _events(model, "trigger")] == [5, 11, 17]


# --------------------------------------------------------------------------- subsidy


def test_vendor_subsidy_raises_the_receivers_cash_by_exactly_the_budget():
    """The subsidy flows into the receivers' cash exactly; they spend rd_share of it on R&D."""
    budget, start, end = 250_000.0, 2, 8
    policy = {"kind": "open_source_subsidy", "region": "A", "start": start, "end": end,
              "budget": budget}
    paid = sim.MarketModel(small(policies=[policy]), seed=3)
    none = sim.MarketModel(small(), seed=3)
    paid.run(start - 1)
    none.run(start - 1)
    rd_before = paid.vendors.ledger[:4, LEDGER_FLOWS.index("rd")].copy()
    cash_before = paid.vendors.cash[:4].copy()
    paid.step()
    none.step()
    first = paid.vendors.ledger[:4, LEDGER_FLOWS.index("subsidy")]
    assert first.sum() == pytest.approx(budget, rel=1e-12)
    # same demand this month, so the only differences are the subsidy and the R&D it funds
    extra_rd = -(paid.vendors.ledger[:4, LEDGER_FLOWS.index("rd")] - rd_before) - (
        -none.vendors.ledger[:4, LEDGER_FLOWS.index("rd")] + rd_before)
    np.testing.assert_allclose(extra_rd, paid.vendors.rd_share[:4] * first, rtol=1e-9, atol=1e-6)
    gain = (paid.vendors.cash[:4] - cash_before) - (none.vendors.cash[:4] - cash_before)
    np.testing.assert_allclose(gain, first - extra_rd, rtol=1e-9, atol=1e-3)
    paid.run(10 - start)
    months = end - start
    subsidy = paid.vendors.ledger[:4, LEDGER_FLOWS.index("subsidy")]
    assert subsidy.sum() == pytest.approx(budget * months, rel=1e-12)
    assert subsidy[0] == subsidy[1] == 0.0  # closed vendors get none
    assert (subsidy[2:] > 0).all()
    market = paid.results()["market"].query("region == 'A' and segment == 'all'")
    np.testing.assert_allclose(market["subsidy_paid"], [0.0] * start + [budget] * months
                               + [0.0] * (10 - end + 1), rtol=1e-12)


def test_contributor_subsidy_buys_effort_at_its_unit_cost():
    budget, unit = 500_000.0, 10_000.0
    policy = {"kind": "open_source_subsidy", "region": "A", "start": 1, "budget": budget,
              "recipients": "contributors", "cost_per_effort": unit}
    paid = sim.MarketModel(small(policies=[policy]), seed=3)
    none = sim.MarketModel(small(), seed=3)
    paid.step()
    none.step()
    assert paid.vendors.ledger[:, LEDGER_FLOWS.index("subsidy")].sum() == 0.0
    assert _metric(paid, "subsidy_paid", "A") == budget
    extra = paid.effort[:4].sum() - none.effort[:4].sum()
    assert extra == pytest.approx(budget / unit)


def test_both_recipients_split_the_budget():
    policy = {"kind": "open_source_subsidy", "region": "A", "start": 1, "budget": 100_000.0,
              "recipients": "both", "contributor_fraction": 0.3}
    model = sim.MarketModel(small(policies=[policy]), seed=3)
    model.step()
    assert model.vendors.ledger[:, LEDGER_FLOWS.index("subsidy")].sum() == pytest.approx(70_000)
    assert _metric(model, "subsidy_paid", "A") == pytest.approx(100_000)


# --------------------------------------------------------------------------- interoperability


def _switching_rate(multiplier):
    """Share of vendor adopters who move to another vendor per month (per-adopter engine)."""
    policies = None if multiplier is None else [
        {"kind": "interoperability", "region": "A", "switching_cost_multiplier": multiplier}]
    sc = small({"regions.A.adopters.org": 3000, "regions.B.adopters.org": 3000,
                "contributors.count": 10, "segments.org.switching_cost": 2.0},
               policies=policies)
    model = sim.MarketModel(sc, seed=1, demand_engine="agents")
    switched, users = np.zeros(2), np.zeros(2)
    for _ in range(6):
        before = [np.array([a.option for a in agents])
                  for agents in model.adopter_population.by_region]
        model.step()
        for r, agents in enumerate(model.adopter_population.by_region):
            old, new = before[r], np.array([a.option for a in agents])
            switched[r] += ((old >= 1) & (new >= 1) & (old != new)).sum()
            users[r] += (old >= 1).sum()
    return switched / users


def test_interoperability_raises_the_switching_rate():
    base = _switching_rate(None)
    interop = _switching_rate(0.2)
    assert interop[0] > 1.5 * base[0]  # region A, where it applies
    assert interop[1] == pytest.approx(base[1], rel=0.05)  # B: same seed, same tastes


def test_interoperability_multiplies_switching_costs_in_its_region():
    model = sim.MarketModel(small(policies=[
        {"kind": "interoperability", "region": "*", "switching_cost_multiplier": 0.5},
        {"kind": "interoperability", "region": "B", "switching_cost_multiplier": 0.5}]), seed=1)
    model.step()
    np.testing.assert_allclose(model._switching()[:, 0], [0.25, 0.125])


def test_vendor_reached_only_by_evaders_owes_no_compliance_and_gets_no_subsidy():
    model = sim.MarketModel(small(policies=[
        {"kind": "ban_vendors", "region": "A", "vendors": ["OpenB"], "enforcement": 0.5,
         "start": 1},
        {"kind": "compliance_cost", "region": "A", "start": 1, "fixed": 1000.0,
         "exempt_fraction": 0.0},
        {"kind": "open_source_subsidy", "region": "A", "start": 1, "budget": 1.0e5}]), seed=1)
    model.step()
    assert adopters_of(model, "OpenB", "A") > 0  # evaders still use it
    paid = -model.vendors.ledger[:4, LEDGER_FLOWS.index("compliance")]
    np.testing.assert_allclose(paid, [1000.0, 1000.0, 1000.0, 0.0])
    subsidy = model.vendors.ledger[:4, LEDGER_FLOWS.index("subsidy")]
    assert subsidy[3] == 0.0 and subsidy[2] == pytest.approx(1.0e5)
