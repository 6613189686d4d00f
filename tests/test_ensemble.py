"""Ensembles: chunks of worlds, per-world values in Parquet shards (sim/experiment/ensemble.py).

A world's values must be the run's (same seed, engine and replication), whatever the chunk
size, the worker count or the executor; an interrupted ensemble resumes to identical data;
``--force`` removes only marketsim's shards; bad options get one clear line.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from sim.engine.engine import Engine
from sim.engine.record import Recorder
from sim.errors import ScenarioError
from sim.experiment.ensemble import ENSEMBLE_COLUMNS, Ensemble, ensemble

SCENARIOS = ["baseline", "eu_blocks_open"]
MONTHS, SEED, WORLDS = 5, 3, 6
METRICS = ["hhi_market", "net_welfare_usd", "open_usage_share"]


def _ensemble(out: Path, **options) -> Ensemble:
    settings = {"worlds": WORLDS, "seed": SEED, "months": MONTHS, "metrics": METRICS,
                "at": [2, MONTHS], "chunk": 4, "jobs": 1, "progress": False, **options}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ensemble(SCENARIOS, out=out, **settings)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Ensemble:
    return _ensemble(tmp_path_factory.mktemp("ens") / "ref")


def _data(result: Ensemble) -> pd.DataFrame:
    return result.worlds().sort_values(["scenario", "replication", "month", "region",
                                        "segment"]).reset_index(drop=True)


def test_a_world_is_the_runs_replication(reference: Ensemble) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = sim.run(SCENARIOS, replications=WORLDS, seed=SEED, months=MONTHS, jobs=1,
                      engine="expected")
    market = run.market[run.market["month"].isin([2, MONTHS])]
    keys = ["scenario", "replication", "month", "region", "segment"]
    expected = market[keys + METRICS].sort_values(keys).reset_index(drop=True)
    got = _data(reference)[keys + METRICS]
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)


def test_chunks_workers_and_resume_give_identical_data(reference: Ensemble,
                                                       tmp_path: Path) -> None:
    other = _ensemble(tmp_path / "other", chunk=5, jobs=2)
    pd.testing.assert_frame_equal(_data(other), _data(reference))
    # an interrupted ensemble: one chunk lost; --resume runs only it
    lost = sorted((tmp_path / "other" / "shards" / "eu_blocks_open").glob("*.done"))[0]
    lost.unlink()
    lost.with_suffix(".parquet").unlink()
    kept = sorted((tmp_path / "other" / "shards" / "baseline").glob("*.parquet"))[0]
    before = kept.stat().st_mtime_ns
    again = _ensemble(tmp_path / "other", chunk=5, jobs=2, resume=True)
    pd.testing.assert_frame_equal(_data(again), _data(reference))
    assert kept.stat().st_mtime_ns == before  # finished chunks are not re-run
    with pytest.raises(ScenarioError, match="different metrics"):
        _ensemble(tmp_path / "other", chunk=5, metrics=["hhi_market"], resume=True)


def test_summary_is_the_spread_over_worlds_and_the_paired_effect(reference: Ensemble) -> None:
    summary = reference.summary()
    assert list(summary.columns) == list(ENSEMBLE_COLUMNS)
    data = _data(reference)
    cell = dict(region="EU", segment="all", month=MONTHS, metric="net_welfare_usd")
    rows = summary[(summary["region"] == "EU") & (summary["segment"] == "all")
                   & (summary["month"] == MONTHS) & (summary["metric"] == cell["metric"])]
    pick = data[(data["region"] == "EU") & (data["segment"] == "all")
                & (data["month"] == MONTHS)]
    base = pick[pick["scenario"] == "baseline"]["net_welfare_usd"].to_numpy()
    ban = pick[pick["scenario"] == "eu_blocks_open"]["net_welfare_usd"].to_numpy()
    policy = rows[rows["scenario"] == "eu_blocks_open"].iloc[0]
    assert policy["mean"] == pytest.approx(ban.mean(), rel=1e-12)
    assert policy["diff_mean"] == pytest.approx((ban - base).mean(), rel=1e-9)
    assert policy["p50"] == pytest.approx(np.median(ban), rel=1e-12)
    assert policy["diff_share_positive"] == pytest.approx(np.mean(ban - base > 0))
    assert policy["worlds"] == WORLDS
    assert np.isnan(rows[rows["scenario"] == "baseline"].iloc[0]["diff_mean"])
    assert (Path(reference.root) / "summary.csv").is_file()


def test_force_removes_only_marketsims_shards(reference: Ensemble, tmp_path: Path) -> None:
    out = tmp_path / "forced"
    _ensemble(out)
    mine = out / "shards" / "baseline" / "notes.txt"
    mine.write_text("keep me")
    _ensemble(out, force=True, worlds=2)
    assert mine.read_text() == "keep me"
    assert len(list((out / "shards" / "baseline").glob("*.parquet"))) == 1


def test_an_ensemble_keeps_only_its_months_and_no_tables() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from sim.engine.compile import compile_scenario

        params = compile_scenario(sim.load_scenario("baseline")).repeat(2)
    engine = Engine(params, 1, np.arange(2), "expected", keep_months=(1, 3))
    engine.run(3)
    recorder: Recorder = engine.recorder
    assert recorder.market.shape[1] == 2 and not hasattr(recorder, "products")
    assert np.isfinite(recorder.market[:, 1]).any()
    with pytest.raises(RuntimeError, match="no tidy tables"):
        recorder.frames(engine.state, ["x", "x"], np.arange(2))


@pytest.mark.parametrize("options, message", [
    ({"metrics": ["hhi_markt"]}, "hhi_market"),
    ({"at": ["2099-01"]}, "outside the run's months"),
    ({"at": ["soon"]}, "neither a 'YYYY-MM' month"),
    ({"worlds": 0}, "worlds"),
    ({"chunk": 0}, "chunk"),
    ({"engine": "approximate"}, "engine"),
])
def test_bad_options_are_one_clear_error(options, message, tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=message):
        _ensemble(tmp_path / "bad", **options)
    assert not (tmp_path / "bad").exists()  # refused before anything was written


def test_the_command_runs_an_ensemble_and_refuses_bad_input(tmp_path: Path, cli) -> None:
    result = cli("ensemble", *SCENARIOS, "-n", "4", "--chunk", "2", "--months", "3",
                 "--at", "2024-03", "--metric", "net_welfare_usd", "-o", tmp_path / "e",
                 "-j", "1")
    assert result.exit_code == 0, result
    assert "net_welfare_usd EU all" in result.stdout and "share of worlds above 0" in \
        result.stdout
    assert (tmp_path / "e" / "summary.csv").is_file()
    bad = cli("ensemble", "baseline", "-n", "2", "--metric", "nope", "-o", tmp_path / "b")
    assert bad.exit_code == 2 and bad.stderr.count("\n") == 1 and "metric" in bad.stderr


@pytest.mark.slow
def test_dask_workers_give_the_same_worlds(reference: Ensemble, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        on_dask = _ensemble(tmp_path / "dask", chunk=3, executor=client.get_executor())
    pd.testing.assert_frame_equal(_data(on_dask), _data(reference))


def test_the_engine_agreement_study_runs_small(capsys) -> None:
    """scripts/engine_agreement.py (make engine-agreement) on one scenario, 3 worlds, and
    its rule: the expected engine's means within 5 standard errors of the exact engine's."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "scripts" / "engine_agreement.py"
    spec = importlib.util.spec_from_file_location("engine_agreement", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeyed = module.MONTHS
    module.MONTHS = (6, 12)  # a short run; make engine-agreement uses 12, 36, 72
    try:
        rows = module.compare(["eu_blocks_open"], worlds=3, seed=2)
        print(module.report(rows, 3, markdown=True))
    finally:
        module.MONTHS = monkeyed
    out = capsys.readouterr().out
    assert "| eu_blocks_open |" in out and "comparisons" in out
    finite = [r for r in rows if np.isfinite(r["z"])]
    assert len(finite) >= len(module.CELLS)
    assert all(abs(r["z"]) <= 5 for r in finite), [r for r in finite if abs(r["z"]) > 5]


def test_a_report_of_an_ensemble_folder_is_one_clear_line(reference: Ensemble, cli) -> None:
    result = cli("report", reference.root)
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "an ensemble folder" in result.stderr and "sim.Ensemble" in result.stderr
