"""The shipped fit-window targets and the scenario library.

``scenarios/targets/fit.toml`` lists the dated facts of the fit window (CALIBRATION.md:
2024-01 .. 2025-06 only; later facts are the hindcast's and must never be fitted). Each
target must measure what was measured: a metric that exists in its (region, segment) cell,
a date inside the window, a source. Whether the baseline reproduces them is the
calibration's result, not a property of the file, so it is not asserted here; what is
asserted is that every target evaluates to a number on a short baseline run (a target on a
cell the model leaves NaN could never be fitted) and that the library is complete.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import sim
from sim.engine.metrics import POOLED_NAN
from sim.experiment.calibration import fit_table, load_targets
from sim.scenario.months import step_of
from tests.conftest import OWN, SCENARIOS

TARGETS_FILE = SCENARIOS / "targets" / "fit.toml"
FIT_WINDOW = ("2024-01", "2025-06")  # CALIBRATION.md: fit only to facts dated 2025-06 or earlier

LIBRARY = ("baseline", "adaptive_openness", "antitrust_trigger", "closed_merger",
           "eu_ai_act_no_exemption", "eu_blocks_open", "eu_blocks_open_contributors",
           "eu_blocks_open_high_enforcement", "eu_blocks_open_low_enforcement",
           "eu_embraces_open", "no_ai_act", "strong_network_effects", "us_china_decoupling")

BASELINE = sim.load_scenario("baseline")
TARGETS = load_targets(TARGETS_FILE, BASELINE)
START = BASELINE.scenario.start


def test_targets_are_facts_of_the_fit_window_only() -> None:
    first, last = (step_of(d, START) for d in FIT_WINDOW)
    assert len(TARGETS.target) >= 8
    for target in TARGETS.target:
        assert target.date is not None, f"{target.name}: give the fact's calendar month"
        assert first <= target.step(START) <= last, f"{target.name} ({target.date})"
        assert target.source.strip() and target.half_width > 0, target.name
        assert not (target.segment == "all" and target.metric in POOLED_NAN), target.name
    assert len({t.name for t in TARGETS.target}) == len(TARGETS.target)


def test_targets_cover_the_facts_the_design_names() -> None:
    """CALIBRATION.md's measures: US enterprise open share and concentration (Menlo), the
    open-closed gap (Epoch), prices, developer and consumer facts."""
    cells = {(t.metric, t.region, t.segment, t.date) for t in TARGETS.target}
    assert ("open_usage_share", "US", "enterprise", "2024-11") in cells
    assert ("gap_months", "World", "all", "2024-11") in cells
    open_us = next(t for t in TARGETS.target if (t.metric, t.region, t.segment, t.date)
                   == ("open_usage_share", "US", "enterprise", "2024-11"))
    assert open_us.centre == pytest.approx(0.19)
    gap = next(t for t in TARGETS.target if t.metric == "gap_months")
    assert (gap.centre - gap.half_width, gap.centre + gap.half_width) == (5.0, 22.0)
    metrics = {t.metric for t in TARGETS.target}
    assert {"hhi_market", "price_frontier", "price_constant_capability", "adoption",
            "users"} <= metrics
    assert {t.segment for t in TARGETS.target} >= {"enterprise", "developer", "consumer"}


def test_the_shipped_targets_are_found_by_name() -> None:
    assert load_targets("fit", BASELINE) == TARGETS


@pytest.fixture(scope="module")
def fit() -> pd.DataFrame:
    horizon = max(t.step(START) for t in TARGETS.target)
    res = sim.run({"baseline": BASELINE}, replications=1, seed=2025, months=horizon, jobs=1,
                  engine="expected", progress=False)
    return fit_table(res.market, TARGETS, START).set_index("target")


def test_every_target_measures_a_number_of_the_model(fit) -> None:
    """A target on a cell the model leaves NaN (a pooled HHI, a missing market) never fits."""
    assert list(fit.index) == [t.name for t in TARGETS.target]
    for target in TARGETS.target:
        row = fit.loc[target.name]
        assert row["month"] == target.step(START)
        assert math.isfinite(row["fitted_mean"]), target.name
        assert math.isfinite(row["z"]), target.name


# --- the scenario library --------------------------------------------------------------


def test_marketsim_scenarios_lists_the_library(cli) -> None:
    result = cli("scenarios")
    assert result.exit_code == 0, result
    listed = [line.split()[0] for line in result.stdout.splitlines()]
    assert sorted(listed) == sorted(LIBRARY), result.stdout


def test_library_validates(cli) -> None:
    result = cli("validate", *LIBRARY)
    assert result.exit_code == 0, result
    assert len(result.stdout.splitlines()) == len(LIBRARY)


def test_library_extends_the_baseline() -> None:
    for name in LIBRARY[1:]:
        scenario = sim.load_scenario(name)
        assert scenario.scenario.description.strip(), name
        assert scenario.scenario.start == START
        assert scenario.scenario.format_version == 2


def test_library_runs_with_a_short_horizon(cli, tmp_path) -> None:
    """``marketsim run`` of the whole library, 3 months, one replication."""
    out = tmp_path / "library"
    result = cli("run", *OWN, *LIBRARY, "-r", "1", "--months", "3", "-j", "1", "-o", out,
                 "--no-report", "--engine", "expected")
    assert result.exit_code == 0, result
    market = pd.read_parquet(out / "market.parquet")
    assert sorted(market["scenario"].unique()) == sorted(LIBRARY)
    for name in LIBRARY:
        rows = market[(market["scenario"] == name) & (market["region"] == "EU")]
        enterprise = rows[rows["segment"] == "enterprise"]
        assert list(enterprise["month"]) == list(range(4)), name
        for metric in ("hhi_market", "open_usage_share", "adoption", "price_paid"):
            assert np.isfinite(enterprise[metric].to_numpy(float)).all(), (name, metric)
        assert ((enterprise["hhi_market"] > 0) & (enterprise["hhi_market"] <= 10_000)).all()
        pooled = rows[rows["segment"] == "all"]
        assert pooled["hhi_market"].isna().all(), name  # no relevant market for "all"
        assert np.isfinite(pooled["consumer_surplus_usd"].to_numpy(float)).all(), name
