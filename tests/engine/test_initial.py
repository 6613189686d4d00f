"""Step 0 of the engine (issue 14): token shares, the reference price, opening budgets."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from sim.engine import market
from sim.engine.compile import compile_scenario
from sim.engine.engine import Engine
from sim.engine.initial import adopter_shares
from sim.scenario.loader import load_scenario
from sim.scenario.overrides import apply_overrides


@pytest.fixture(scope="module")
def baseline_engine() -> Engine:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        params = compile_scenario(load_scenario("baseline"))
    return Engine(params, 1, np.array([0]), "expected")


def test_step0_token_shares_are_the_data(baseline_engine: Engine) -> None:
    """Token segments: the data's shares are shares of tokens, not of adopters."""
    p, s = baseline_engine.params, baseline_engine.state
    flows = market.market_flows(p, s, 0, market.serving_costs(p, s, 0))
    usage = flows.usage  # [W, R, S, K]
    # China bans US closed services at step 0, so its shares are renormalised over the rest
    regions = [r for r, name in enumerate(p.structure.regions) if name != "CN"]
    data = p.region["shares"][0][regions]
    for seg, token in enumerate(p.structure.token_billed):
        measured = (usage if token else flows.users)[0][regions]
        share = measured[:, seg] / measured[:, seg].sum(axis=-1, keepdims=True)
        listed = data[:, seg] > 0.02  # whole adopters round small shares
        assert np.allclose(share[listed], data[:, seg][listed], rtol=0.02), seg


def test_adopter_shares_divide_by_usage() -> None:
    params = compile_scenario(load_scenario("baseline"))
    shares = np.zeros(params.region["shares"].shape)
    shares[..., :2] = 0.5
    usage = np.ones(shares.shape)
    usage[..., 1] = 4.0  # line 1's adopters use 4x the tokens
    converted = adopter_shares(params, shares, usage)
    for seg, token in enumerate(params.structure.token_billed):
        expected = [0.8, 0.2] if token else [0.5, 0.5]
        assert np.allclose(converted[0, 0, seg, :2], expected)


def test_reference_price_tracks_costs_by_theta() -> None:
    scenario = load_scenario("baseline")
    fixed = compile_scenario(apply_overrides(scenario, {
        "segments.enterprise.reference_price_tracking": 0.0}, quiet=True))
    tracking = compile_scenario(apply_overrides(scenario, {
        "segments.enterprise.reference_price_tracking": 1.0}, quiet=True))
    fall = float(fixed.world["serving_cost_fall_per_year"][0])
    assert market.reference_price(fixed, 24)[0, 0] == pytest.approx(
        market.reference_price(fixed, 0)[0, 0])
    assert market.reference_price(tracking, 24)[0, 0] == pytest.approx(
        market.reference_price(tracking, 0)[0, 0] / fall ** 2)


def test_venture_labs_start_spending_their_cash(baseline_engine: Engine) -> None:
    """The opening drawdown plan is cash / drawdown_months for venture firms, 0 for parents."""
    p, s = baseline_engine.params, baseline_engine.state
    venture = p.firm["funding"][0] == 0
    months = p.world_value("drawdown_months", 18.0)[0]
    alive = s.firm_alive[0]
    assert np.allclose(s.spending_plan[0][venture & alive], p.firm["cash"][0][venture & alive]
                       / months)
    assert np.all(s.spending_plan[0][~venture] == 0.0)


def test_firms_withdraw_from_foreign_regions_never_from_home() -> None:
    """MODEL.md 7 (emergent withdrawal) with the home rule: a compliance cost no margin covers
    makes every line leave every region but its owner's home."""
    from types import SimpleNamespace

    from sim.engine.decisions import MARGIN_KEY, withdraw_and_reenter

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        params = compile_scenario(load_scenario("baseline"))
    engine = Engine(params, 1, np.array([0]), "expected")
    s = engine.state
    s.scratch[MARGIN_KEY] = np.zeros(s.served.shape)
    before = s.served.copy()
    rules = SimpleNamespace(compliance_fixed=np.full(s.served.shape, 1e9))
    assert withdraw_and_reenter(params, s, rules, 1)
    home = np.take_along_axis(s.home, s.owner, axis=1)[0]
    alive = s.product_alive[0]
    for r in range(s.served.shape[1]):
        at_home = (home == r) & alive
        assert np.array_equal(s.served[0, r, at_home], before[0, r, at_home])
        assert not s.served[0, r, ~at_home & alive].any()


def test_a_tiled_start_equals_solving_every_world(monkeypatch) -> None:
    """Replications of one scenario share step 0's deterministic part, solved once and tiled
    (sim/engine/initial.py); it must equal solving every world, array for array."""
    from dataclasses import fields

    from sim.engine import initial
    from sim.engine.params import Params
    from sim.streams import KeyedStreams

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        params = compile_scenario(load_scenario("eu_blocks_open")).repeat(3)
    assert params.identical_worlds()
    reps = np.array([4, 0, 9])
    tiled = initial.initial_state(params, KeyedStreams(5, reps), "expected")
    monkeypatch.setattr(Params, "identical_worlds", lambda self: False)
    solved = initial.initial_state(params, KeyedStreams(5, reps), "expected")
    for field in fields(tiled):
        a, b = getattr(tiled, field.name), getattr(solved, field.name)
        if isinstance(a, np.ndarray):
            assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), field.name
    # worlds that differ (parameter draws) are not identical, so they are solved, not tiled
    mixed = compile_scenario(load_scenario("baseline")).repeat(2)
    key = next(iter(mixed.world))
    mixed.world[key] = mixed.world[key] * np.array([1.0, 1.5])
    assert not mixed.identical_worlds()
