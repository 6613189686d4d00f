"""Adaptive firms choose the openness of each generation (sim.engine.generations, MODEL.md 6.5).

Properties on the shipped scenarios: no decision inside the history window, every change an
event that says why, a ban on open weights lowers the probability of opening, batches do not
change a world's decisions, and the hindcast pipeline runs (its tables: make hindcast).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from sim.engine import generations, market, releases
from sim.engine.compile import compile_scenario
from sim.engine.engine import Engine
from sim.engine.names import product_name
from sim.engine.valuation import openness_terms
from sim.experiment import hindcast
from sim.mechanisms.entry import SCENARIO_NAME_PATTERN
from sim.replication import run_replications
from sim.scenario.loader import load_scenario
from sim.scenario.months import step_of
from sim.scenario.overrides import apply_overrides

HISTORY_END_STEP = step_of(generations.HISTORY_END, "2024-01")


@pytest.fixture(scope="module")
def adaptive_events():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tables = run_replications("adaptive_openness", seed=1, replications=range(3),
                                  engine="expected")
    return tables["events"], tables["products"]


def test_some_adaptive_firm_changes_a_line_after_the_history_window(adaptive_events) -> None:
    events, _ = adaptive_events
    changes = events[events["kind"] == "openness_change"]
    assert len(changes) > 0  # the "done when": a change in some shipped scenario
    assert (changes["month"] > HISTORY_END_STEP).all()  # launches up to 2025-06 are data
    assert changes["detail"].str.contains("expected profit").all()
    assert changes["detail"].str.contains(r"P\(open\) = ").all()
    assert changes["product"].notna().all() and changes["vendor"].notna().all()


def test_the_products_table_follows_the_changes(adaptive_events) -> None:
    events, products = adaptive_events
    change = events[events["kind"] == "openness_change"].iloc[0]
    row = products[(products["replication"] == change["replication"])
                   & (products["product"] == change["product"])]
    side = "open" if change["detail"].startswith("next generation open") else "closed"
    before = row[row["month"] == change["month"] - 1]["openness"].iloc[0]
    after = row[row["month"] == change["month"]]["openness"].iloc[0]
    assert after == side and before != side


def test_fixed_firms_never_change_openness() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        events = run_replications("baseline", seed=1, replications=range(2),
                                  engine="expected")["events"]
    assert (events["kind"] != "openness_change").all()


def _state_at(scenario, month: int, worlds: int = 2) -> Engine:
    params = compile_scenario(scenario).repeat(worlds)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Engine(params, 1, np.arange(worlds), "expected").run(month)


def test_a_ban_on_open_weights_makes_opening_less_likely() -> None:
    month = HISTORY_END_STEP + 1
    base = load_scenario("baseline")
    banned = load_scenario("tests/fixtures/supply/open_weights_banned_from_2025_07.toml")
    k = compile_scenario(base).structure.products.index("Llama")
    p = {}
    for name, scenario in (("base", base), ("banned", banned)):
        engine = _state_at(scenario, month)
        cost = market.serving_costs(engine.params, engine.state, month)
        verdict = generations.judge(engine.params, engine.state, engine.rules, month, cost,
                                    np.full(2, k))
        p[name] = verdict.p_open
        assert np.all((verdict.p_open >= 0) & (verdict.p_open <= 1))
    assert np.all(p["banned"] < p["base"])


def test_judging_no_line_keeps_every_line_as_it_is() -> None:
    engine = _state_at(load_scenario("baseline"), HISTORY_END_STEP + 1)
    s = engine.state
    same = generations.with_openness(engine.params, s, np.full(2, -1), np.ones(2, bool),
                                     market.serving_costs(engine.params, s, s.month))
    for name in ("is_open", "hosted_fraction", "markup", "price", "ecosystem"):
        np.testing.assert_array_equal(getattr(same, name), getattr(s, name))
        assert getattr(same, name) is not getattr(s, name)  # a copy: the state is not touched


def test_zero_noise_decides_by_the_larger_value() -> None:
    scenario = apply_overrides(load_scenario("adaptive_openness"), {"world.openness_noise": 0.0},
                               quiet=True)
    engine = _state_at(scenario, HISTORY_END_STEP + 1)
    s = engine.state
    cost = market.serving_costs(engine.params, s, s.month)
    k = compile_scenario(scenario).structure.products.index("GPT")
    verdict = generations.judge(engine.params, s, engine.rules, s.month, cost, np.full(2, k))
    expected = np.where(verdict.value_open > verdict.value_closed, 1.0,
                        np.where(verdict.value_open < verdict.value_closed, 0.0, 0.5))
    np.testing.assert_array_equal(verdict.p_open, expected)


def test_a_worlds_decisions_do_not_depend_on_its_batch() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        batch = run_replications("adaptive_openness", seed=3, replications=[0, 1, 2])["events"]
        alone = run_replications("adaptive_openness", seed=3, replications=[1])["events"]
    pick = ["month", "vendor", "product", "kind", "detail"]
    one = batch[batch["replication"] == 1][pick].reset_index(drop=True)
    assert (one["kind"] == "openness_change").any()
    assert one.equals(alone[pick].reset_index(drop=True))


def test_hindcast_pipeline_small() -> None:
    case = hindcast.OPENNESS_CASES[0]
    result = hindcast.openness_hindcast(case, replications=2)
    mid, lo, hi = result["p_open"]
    assert 0.0 <= lo <= mid <= hi <= 1.0
    withdrawal = hindcast.withdrawal_hindcast(hindcast.WITHDRAWAL_CASES[-1], replications=2)
    assert withdrawal["served_before"] == 1.0  # the run without the dated withholding sells
    # the rule withdraws exactly where the margin falls short of the cost
    margin_short = withdrawal["margin"][2] < withdrawal["cost"]
    assert (withdrawal["share_withdrawing"] == 1.0) == margin_short


def test_without_policy_names_a_missing_label() -> None:
    with pytest.raises(KeyError, match="no policy labelled"):
        hindcast.without_policy(load_scenario("baseline"), "no such policy")


# --------------------------------------------------------------------------- releases


def test_a_release_fills_a_free_slot_with_older_open_weights_of_the_same_firm() -> None:
    scenario = load_scenario("baseline")
    engine = _state_at(scenario, HISTORY_END_STEP + 2)
    params, s = engine.params, engine.state
    k = params.structure.products.index("GPT")
    slot = releases.free_slots(params, s)
    assert (slot >= params.structure.scenario_products).all()
    out = releases.with_release(params, s, np.full(2, k), slot, s.month)
    rows = np.arange(2)
    assert out.product_alive[rows, slot].all() and out.is_open[rows, slot].all()
    np.testing.assert_array_equal(out.owner[rows, slot], s.owner[rows, k])
    np.testing.assert_allclose(out.capability[rows, slot],
                               s.capability[rows, k] - releases.RELEASE_GAP)
    np.testing.assert_array_equal(out.served[rows, :, slot], s.served[rows, :, k])
    assert np.isfinite(out.price[rows, :, slot]).all()
    assert not s.product_alive[rows, slot].any()  # the state itself is untouched
    name = product_name(params, out, 0, int(slot[0]))
    assert name == "GPT-weights@2025-08"  # the line's name and the month of the release
    # the name is outside the scenario alphabet, so no scenario line can carry it
    assert not SCENARIO_NAME_PATTERN.fullmatch(name)


def test_a_release_is_judged_only_for_closed_only_firms() -> None:
    engine = _state_at(load_scenario("baseline"), HISTORY_END_STEP + 1)
    params, s = engine.params, engine.state
    cost = market.serving_costs(params, s, s.month)
    terms = openness_terms(params)
    for product, asked in (("GPT", True), ("Gemini", False), ("Llama", False)):
        k = params.structure.products.index(product)  # Google sells Gemma; Llama is open
        offer = releases.judge_release(params, s, engine.rules, s.month, cost,
                                       np.full(2, k), terms)
        assert bool((offer.line >= 0).all()) == asked, product
        assert np.all((offer.p_release >= 0) & (offer.p_release <= 1))
        if not asked:
            assert (offer.p_release == 0).all()


def test_releases_are_events_with_reasons_and_names_that_never_collide() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scenario = apply_overrides(load_scenario("adaptive_openness"),
                                   {"world.openness_switch_cost": 0.0}, quiet=True)
        tables = run_replications(scenario, seed=1, replications=range(3))
    events = tables["events"]
    released = events[(events["kind"] == "launch")
                      & events["detail"].str.startswith("released the weights")]
    assert len(released) > 0  # free releases: some must pay a little
    assert released["detail"].str.contains(r"P\(release\) = ").all()
    assert released["product"].str.contains("-weights@").all()
    products = tables["products"]
    for rep, rows in products.groupby("replication"):
        lines = rows[["product", "vendor"]].drop_duplicates()
        assert not lines["product"].duplicated().any(), rep
