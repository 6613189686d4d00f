"""Branching a run off a reference's month (sim.engine.fork): bit-identical, or refused."""

from __future__ import annotations

import numpy as np
import pytest

from sim.app.ensemble import _TRUNKS, LiveEnsemble, simulate
from sim.engine.compile import shared_cuts
from sim.engine.engine import Engine
from sim.engine.fork import branch, divergence_month, snapshot
from sim.replication import compile_worlds
from sim.scenario.loader import load_scenario, shipped_scenarios
from sim.scenario.months import step_of
from sim.scenario.overrides import apply_overrides, with_horizon

#: Months run past the first possible divergence (enough for a ban's effects to show).
AFTER = 6
WORLDS = 2


def _pair(name: str, months: int | None = None):
    base, other = load_scenario("baseline"), load_scenario(name)
    if months is not None:
        base, other = with_horizon(base, months), with_horizon(other, months)
    cuts = shared_cuts([base, other])
    return compile_worlds(base, None, WORLDS, cuts), compile_worlds(other, None, WORLDS, cuts)


def _trunk(params, engine: str):
    ref = Engine(params, 11, np.arange(WORLDS), engine)
    snaps = [snapshot(ref)]
    while ref.month < ref.horizon:
        ref.step()
        snaps.append(snapshot(ref))
    return ref, snaps


def _records(engine: Engine) -> list[np.ndarray]:
    r = engine.recorder
    return [r.market, r.firms, r.products, r.openness, r.alive, engine.state.cash]


def _branching_scenarios() -> list[str]:
    names = []
    for name in shipped_scenarios():
        if name == "baseline":
            continue
        ref, other = _pair(name, 1)
        if divergence_month(ref, other) is not None:
            names.append(name)
    return names


BRANCHING = _branching_scenarios()


def test_the_headline_pair_can_branch():
    """The explorer's default pair qualifies (else the speed-up would silently vanish)."""
    assert "eu_blocks_open" in BRANCHING


@pytest.mark.parametrize("name", BRANCHING)
def test_a_branched_run_is_the_run_from_month_0(name):
    whole_ref, whole_other = _pair(name)
    first = divergence_month(whole_ref, whole_other)
    months = min(first + AFTER, whole_ref.structure.months)
    ref_params, params = _pair(name, months)
    assert divergence_month(ref_params, params) == first
    ref, snaps = _trunk(ref_params, "expected")
    scratch = Engine(params, 11, np.arange(WORLDS), "expected").run()
    forked = branch(params, ref_params, 11, np.arange(WORLDS), "expected", snaps[first - 1],
                    ref.recorder, ref.state.events).run()
    for a, b in zip(_records(scratch), _records(forked), strict=True):
        assert np.array_equal(a, b, equal_nan=True)
    assert forked.state.events == scratch.state.events
    # and the branch did change something after the divergence (not the reference copied)
    assert not np.array_equal(forked.recorder.market, ref.recorder.market, equal_nan=True)


def test_the_exact_engine_branches_bit_identically_too():
    ref_params, params = _pair("eu_blocks_open", 36 + AFTER)
    ref, snaps = _trunk(ref_params, "exact")
    scratch = Engine(params, 11, np.arange(WORLDS), "exact").run()
    forked = branch(params, ref_params, 11, np.arange(WORLDS), "exact", snaps[35],
                    ref.recorder, ref.state.events).run()
    for a, b in zip(_records(scratch), _records(forked), strict=True):
        assert np.array_equal(a, b, equal_nan=True)


def test_the_divergence_is_the_first_start_of_a_policy_not_in_both():
    base = load_scenario("baseline")
    ban = load_scenario("eu_blocks_open")
    later = apply_overrides(ban, {"policies.EU bans open weights.start": "2028-06"}, quiet=True)
    cuts = shared_cuts([base, later])
    got = divergence_month(compile_worlds(base, None, 1, cuts),
                           compile_worlds(later, None, 1, cuts))
    assert got == step_of("2028-06", base.scenario.start)
    # a baseline policy removed: the divergence is that policy's start
    ref, other = _pair("no_ai_act", 1)
    removed = [p for p in ref.structure.policies
               if not any(p.label == q.label for q in other.structure.policies)]
    assert removed and divergence_month(ref, other) == min(p.start for p in removed)


def test_no_branch_when_a_parameter_differs():
    ref, other = _pair("strong_network_effects", 1)
    assert divergence_month(ref, other) is None
    base = load_scenario("baseline")
    nudged = apply_overrides(base, {"world.network_effect": base.world.network_effect * 1.01},
                             quiet=True)
    assert divergence_month(compile_worlds(base, None, 1), compile_worlds(nudged, None, 1)) is None


def test_the_same_scenario_never_diverges_and_worlds_must_match():
    params = compile_worlds(load_scenario("baseline"), None, 2)
    assert divergence_month(params, params) == params.structure.months + 1
    assert divergence_month(params, compile_worlds(load_scenario("baseline"), None, 3)) is None


def test_a_snapshot_after_the_divergence_is_refused():
    ref_params, params = _pair("eu_blocks_open", 38)
    ref, snaps = _trunk(ref_params, "expected")
    with pytest.raises(ValueError, match="diverge at step 36"):
        branch(params, ref_params, 11, np.arange(WORLDS), "expected", snaps[36], ref.recorder,
               ref.state.events)


def test_a_snapshot_is_a_copy_not_a_view():
    ref_params, _ = _pair("eu_blocks_open", 3)
    engine = Engine(ref_params, 11, np.arange(WORLDS), "expected")
    taken = snapshot(engine)
    before = taken.state.counts.copy()
    engine.run()
    assert taken.month == 0 and np.array_equal(taken.state.counts, before)
    assert not np.array_equal(engine.state.counts, before)


def test_the_live_ensemble_branches_on_a_cache_hit_with_the_same_numbers():
    base = with_horizon(load_scenario("baseline"), 40)
    ban = with_horizon(load_scenario("eu_blocks_open"), 40)
    later = apply_overrides(ban, {"policies.EU bans open weights.start": "2027-03"}, quiet=True)
    with LiveEnsemble(seed=3, replications=2) as live:
        first = live.compare(base, ban, key=("test-fork",))
        second = live.compare(base, later, key=("test-fork",))
    assert not first.cached and first.what_if.branched_at is None
    assert second.cached and second.what_if.branched_at == step_of("2027-03", "2024-01")
    scratch = simulate(later, base, seed=3, replications=2)
    assert np.array_equal(second.what_if.market, scratch.market, equal_nan=True)
    assert second.what_if.firm_usage.keys() == scratch.firm_usage.keys()
    for name, usage in scratch.firm_usage.items():
        assert np.array_equal(second.what_if.firm_usage[name], usage)


def test_a_missing_trunk_means_a_run_from_month_0():
    base = with_horizon(load_scenario("baseline"), 38)
    ban = with_horizon(load_scenario("eu_blocks_open"), 38)
    with LiveEnsemble(seed=4, replications=2) as live:
        live.compare(base, ban, key=("test-missing",))
        for key in [k for k in _TRUNKS if k[:3] == (4, 2, ("test-missing",))]:
            del _TRUNKS[key]
        again = live.compare(base, ban, key=("test-missing",))
    assert again.cached and again.what_if.branched_at is None
    assert np.array_equal(again.what_if.market,
                          simulate(ban, base, seed=4, replications=2).market, equal_nan=True)
