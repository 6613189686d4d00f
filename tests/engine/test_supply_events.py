"""Entry in the engine (issues 14-15): the rate, what entrants build on, and their names."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from sim.engine.compile import compile_scenario
from sim.engine.engine import Engine
from sim.engine.names import firm_name, product_name
from sim.replication import run_replications
from sim.scenario.loader import load_scenario
from sim.scenario.overrides import apply_overrides

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "supply"
YEARS = 7  # 2024-01 .. 2030-12


def _entries(scenario, replications: int = 20):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        events = run_replications(scenario, seed=1, replications=range(replications),
                                  engine="expected")["events"]
    return events[events["kind"] == "entry"]


@pytest.fixture(scope="module")
def baseline_entries():
    return _entries("baseline")


def test_entries_per_year_are_those_of_frontier_class_labs(baseline_entries) -> None:
    """Issue 15: 1-5 entries a year on average over 20 replications, some on open weights."""
    per_year = len(baseline_entries) / 20 / YEARS
    assert 1.0 <= per_year <= 5.0, per_year
    assert baseline_entries["detail"].str.contains("from the best open model").any()


def test_a_worldwide_ban_on_open_weights_lowers_entry(baseline_entries) -> None:
    """MODEL.md 6.3: starting from the best open model lowers entry cost and gap, so with open
    weights banned everywhere (fully enforced) entrants have nothing to build on at home."""
    banned = _entries(FIXTURES / "open_weights_banned_everywhere.toml")
    assert len(banned) < len(baseline_entries)
    assert not banned["detail"].str.contains("from the best open model").any()


def _busy_engine() -> Engine:
    """The baseline with many arrivals and one scenario firm dead from month 1."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scenario = apply_overrides(load_scenario("baseline"), {"world.entry_rate": 10.0},
                                   quiet=True)
        params = compile_scenario(scenario)
    engine = Engine(params, 1, np.array([0]), "expected")
    dead = list(params.structure.firms).index("Moonshot")
    engine.state.firm_alive[0, dead] = False
    engine.state.product_alive[0, engine.state.owner[0] == dead] = False
    return engine


def test_entrants_never_take_a_scenario_firms_row_or_name() -> None:
    engine = _busy_engine()
    for _ in range(12):
        engine.step()
    st, s = engine.params.structure, engine.state
    assert s.entrants[0] > 0  # entries happened
    assert np.all(s.firm_entrant[0, : st.scenario_firms] < 0)
    entries = [e for e in s.events if e.kind == "entry"]
    assert entries and all(e.firm.startswith("Entrant#") for e in entries)
    assert not {e.firm for e in entries} & set(st.firms)


def test_an_acquired_entrants_line_keeps_its_name() -> None:
    engine = _busy_engine()
    while engine.state.entrants[0] == 0:
        engine.step()
    s = engine.state
    line = int(np.flatnonzero(s.product_entrant[0] == 1)[0])
    before = product_name(engine.params, s, 0, line)
    s.owner[0, line] = 0  # as an acquisition by the first scenario firm would
    assert product_name(engine.params, s, 0, line) == before
    assert before == firm_name(engine.params, s, 0, int(np.flatnonzero(s.firm_entrant[0] == 1)[0]))


def test_a_stagnant_lab_runs_out_of_funding_and_leaves() -> None:
    """Issue 15: a lab with no revenue growth and no lead exits or is absorbed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        events = run_replications(FIXTURES / "stagnant_firm.toml", seed=1, replications=range(3),
                                  engine="expected")["events"]
    gone = events[(events["kind"].isin(["exit", "acquisition"]))
                  & ((events["vendor"] == "Stagnant")
                     | events["detail"].str.contains("absorbed Stagnant", regex=False))]
    assert gone["replication"].nunique() == 3
