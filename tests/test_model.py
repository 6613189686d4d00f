"""The Mesa model: a world of the engine that behaves like a Mesa model (issue 20's idioms)."""

from __future__ import annotations

import mesa
import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

import sim
from sim.agents import Community, Firm, Regulator
from sim.engine.metrics import METRICS
from sim.model import MarketModel, overrides_from_keywords

MONTHS = 4


@pytest.fixture(scope="module")
def model() -> MarketModel:
    m = MarketModel("baseline", seed=3, scenario__months=MONTHS)  # policies after month 4 warn
    m.run_model()
    return m


def test_run_model_runs_to_the_horizon_and_stops(model: MarketModel) -> None:
    assert model.month == MONTHS == model.horizon
    assert model.running is False


def test_datacollector_has_a_row_per_month_fed_by_the_records(model: MarketModel) -> None:
    frame = model.datacollector.get_model_vars_dataframe()
    assert len(frame) == MONTHS + 1
    column = "hhi_market|EU|enterprise"
    recorded = model.engine.recorder.market[0, :, 1, 0, METRICS.index("hhi_market")]
    assert np.allclose(frame[column].to_numpy(), recorded, equal_nan=True)
    agents = model.datacollector.get_agent_vars_dataframe()
    assert {"revenue", "users", "cash", "capability"} <= set(agents.columns)


def test_agents_are_views_reachable_by_type(model: MarketModel) -> None:
    firms = list(model.agents_by_type[Firm])
    names = {f.name for f in firms if f.alive}
    assert set(model.scenario.firm_names) <= names
    assert len(model.agents_by_type[Regulator]) == len(model.regions)
    assert len(model.agents_by_type[Community]) == model.scenario.contributors.count
    openai = next(f for f in firms if f.name == "OpenAI")
    assert openai.cash == pytest.approx(float(model.state.cash[0, openai.row]) / 100)


def test_metrics_are_this_months_rows(model: MarketModel) -> None:
    table = model.metrics()
    assert set(table["region"]) == {*model.regions, "World"}
    assert set(table["segment"]) == {*model.segments, "all"}
    assert (table["month"] == MONTHS).all()
    assert table["hhi_market"].dropna().between(0, 10_000).all()


def test_results_give_the_four_tables(model: MarketModel) -> None:
    tables = model.results("base", 0)
    assert sorted(tables) == ["events", "market", "products", "vendors"]
    products = tables["products"]
    assert {"vendor", "product", "openness", "segment", "share"} <= set(products.columns)
    # a firm can own open and closed lines at once
    google = products[products["vendor"] == "Google"]
    assert set(google["openness"]) == {"open", "closed"}


def test_keyword_overrides_use_double_underscores() -> None:
    assert overrides_from_keywords({"world__network_effect": 1.2}) == {
        "world.network_effect": 1.2}
    m = MarketModel("baseline", seed=1, world__network_effect=0.9, scenario__months=1)
    assert m.scenario.world.network_effect == 0.9


def test_mesa_batch_run_works_on_market_model() -> None:
    rows = mesa.batch_run(MarketModel, parameters={"scenario": ["baseline"], "seed": [1, 2],
                                                    "scenario__months": [2]},
                          iterations=1, max_steps=5, number_processes=1,
                          display_progress=False)
    frame = pd.DataFrame(rows)
    assert set(frame["seed"]) == {1, 2}
    # Mesa 3.3 reports collected rows 0 .. steps - 1 (its datacollector row 0 is the start)
    assert frame["Step"].max() == 1
    assert frame["hhi_market|EU|enterprise"].notna().all()
    assert {"revenue", "cash"} <= set(frame.columns)  # the per-firm reporters


def test_same_seed_same_tables_and_engines_differ_only_in_draws() -> None:
    a = sim.run_replication("baseline", seed=5, months=6)
    b = sim.run_replication("baseline", seed=5, months=6)
    for name in ("market", "vendors", "products", "events"):
        pdt.assert_frame_equal(a[name], b[name], check_exact=True)
    c = sim.run_replication("baseline", seed=6, months=6)
    assert not a["market"].equals(c["market"])


def test_bad_seed_is_refused() -> None:
    with pytest.raises(ValueError, match="seed"):
        MarketModel("baseline", seed=-1)
