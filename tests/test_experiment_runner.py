"""The runner and the results folder: determinism across executors, resume, refusal, manifest.

Issue 5 "Done when": same seed -> identical Parquet files for -j 1, -j 2 and a Dask
LocalCluster; an interrupted run resumed equals an uninterrupted one; a scenario compared
with itself differs by exactly 0; paired CIs are narrower than unpaired ones.
"""

from __future__ import annotations

import gc
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from scipy import stats

import sim
from sim.experiment.store import ResultsFolder
from sim.experiment.summary import SUMMARY_COLUMNS

TABLES = ("market", "vendors", "products", "events")
DATA_FILES = (*(f"{table}.parquet" for table in TABLES), "summary.csv")
SCENARIOS = ["baseline", "eu_blocks_open"]
SEED, REPS, MONTHS = 11, 3, 6


def digests(folder: Path) -> dict[str, str]:
    """SHA-256 of each data file of a results folder."""
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest()
            for name in DATA_FILES}


def assert_same_data(a: Path, b: Path) -> None:
    """Both folders hold the same tables and byte-identical data files."""
    for table in TABLES:
        assert pq.read_table(a / f"{table}.parquet").equals(pq.read_table(b / f"{table}.parquet"))
    assert digests(a) == digests(b)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted in-process run (-j 1) of baseline vs eu_blocks_open."""
    out = tmp_path_factory.mktemp("reference") / "run"
    sim.run(SCENARIOS, replications=REPS, seed=SEED, months=MONTHS, jobs=1, out=out)
    return out


# --- determinism across executors ------------------------------------------------------


def test_process_pool_matches_in_process(reference: Path, tmp_path: Path) -> None:
    sim.run(SCENARIOS, replications=REPS, seed=SEED, months=MONTHS, jobs=2, out=tmp_path)
    assert_same_data(reference, tmp_path)


def test_in_memory_tables_match_folder(reference: Path) -> None:
    res = sim.run(SCENARIOS, replications=REPS, seed=SEED, months=MONTHS, jobs=1)
    assert res.folder is None
    stored = sim.experiment.Results.from_folder(reference)
    for table in TABLES:
        pd.testing.assert_frame_equal(getattr(res, table), getattr(stored, table))
    pd.testing.assert_frame_equal(res.summary(), stored.summary())
    assert res.summary().to_csv(index=False, float_format="%.10g") == \
        (reference / "summary.csv").read_text()


@pytest.mark.slow
def test_dask_local_cluster_matches(reference: Path, tmp_path: Path, cli) -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        sim.run(SCENARIOS, replications=REPS, seed=SEED, months=MONTHS,
                executor=client.get_executor(), out=tmp_path / "api")
        # the command line, given the scheduler's address
        result = cli("run", *SCENARIOS, "--posterior", "none", "-r", REPS, "--seed", SEED,
                     "--months", MONTHS,
                     "--scheduler", cluster.scheduler_address, "-o", tmp_path / "cli",
                     "--no-report")
        assert result.exit_code == 0, result
    assert_same_data(reference, tmp_path / "api")
    assert_same_data(reference, tmp_path / "cli")


def test_replication_streams_do_not_depend_on_the_scenario_list(reference: Path) -> None:
    """Replication i of a scenario is the same whether it runs alone or with others."""
    res = sim.run(["eu_blocks_open"], replications=REPS, seed=SEED, months=MONTHS, jobs=1)
    stored = pd.read_parquet(reference / "market.parquet")
    pd.testing.assert_frame_equal(
        res.market, stored[stored["scenario"] == "eu_blocks_open"].reset_index(drop=True))


def test_saved_scenarios_rerun_to_the_same_results(reference: Path) -> None:
    path = reference / "scenarios" / "eu_blocks_open.toml"
    res = sim.run({"eu_blocks_open": sim.load_scenario(path)}, replications=1, seed=SEED,
                  jobs=1)
    stored = pd.read_parquet(reference / "market.parquet")
    expected = stored[(stored["scenario"] == "eu_blocks_open") & (stored["replication"] == 0)]
    pd.testing.assert_frame_equal(res.market, expected.reset_index(drop=True))


# --- interruption and resume -----------------------------------------------------------


class _Interrupt:
    """Wraps run_replications (one batch of worlds a call): KeyboardInterrupt on call ``at``."""

    def __init__(self, real, at: int | None):
        self.real, self.at, self.calls = real, at, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.at is not None and self.calls == self.at:
            raise KeyboardInterrupt
        return self.real(*args, **kwargs)


def test_interrupted_in_process_then_resumed_equals_uninterrupted(
        reference: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sim.replication

    real = sim.replication.run_replications
    interrupt = _Interrupt(real, at=3)
    monkeypatch.setattr(sim.replication, "run_replications", interrupt)
    with pytest.raises(KeyboardInterrupt):
        sim.run(SCENARIOS, replications=REPS, seed=SEED, months=MONTHS, jobs=1, out=tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    assert manifest["finished"] == {"baseline": 2, "eu_blocks_open": 0}
    assert sorted(p.name for p in (tmp_path / "parts").rglob("*.done")) == [
        "000000.done", "000001.done"]
    assert not (tmp_path / "market.parquet").exists()

    counting = _Interrupt(real, at=None)
    monkeypatch.setattr(sim.replication, "run_replications", counting)
    sim.run(SCENARIOS, replications=REPS, seed=SEED, months=MONTHS, jobs=1, out=tmp_path,
            resume=True)
    assert counting.calls == 2 * REPS - 2  # only what was missing
    assert_same_data(reference, tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["finished"] == {"baseline": REPS, "eu_blocks_open": REPS}
    assert len(manifest["timings"]) == 2 * REPS  # earlier timings are kept


def test_a_failed_run_is_marked_and_resumable(reference: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import sim.replication

    real = sim.replication.run_replications

    def broken(*args, **kwargs):
        if 1 in args[2]:  # replication 1 of each scenario
            raise RuntimeError("boom")
        return real(*args, **kwargs)

    monkeypatch.setattr(sim.replication, "run_replications", broken)
    with pytest.raises(RuntimeError, match="boom"):
        sim.run(SCENARIOS, replications=REPS, seed=SEED, months=MONTHS, jobs=1, out=tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["status"] == "failed" and manifest["finished"]["baseline"] == 1
    monkeypatch.setattr(sim.replication, "run_replications", real)
    sim.run(SCENARIOS, replications=REPS, seed=SEED, months=MONTHS, jobs=1, out=tmp_path,
            resume=True)
    assert_same_data(reference, tmp_path)


def test_a_part_without_its_done_marker_is_run_again(reference: Path, tmp_path: Path) -> None:
    """A replication killed while being written counts as not done."""
    sim.run(SCENARIOS, replications=REPS, seed=SEED, months=MONTHS, jobs=1, out=tmp_path)
    folder = ResultsFolder(tmp_path)
    folder.done_marker("eu_blocks_open", 1).unlink()
    folder.part("eu_blocks_open", 1, "market").write_bytes(b"torn write")
    (tmp_path / "market.parquet").unlink()
    sim.run(SCENARIOS, replications=REPS, seed=SEED, months=MONTHS, jobs=1, out=tmp_path,
            resume=True)
    assert_same_data(reference, tmp_path)


def test_resume_of_a_complete_run_changes_nothing(reference: Path, tmp_path: Path) -> None:
    import shutil

    shutil.copytree(reference, tmp_path / "run")
    sim.run(SCENARIOS, replications=REPS, seed=SEED, months=MONTHS, jobs=1,
            out=tmp_path / "run", resume=True)
    assert_same_data(reference, tmp_path / "run")


def test_resume_on_missing_or_empty_folder_starts_fresh(reference: Path, tmp_path: Path
                                                        ) -> None:
    (tmp_path / "empty").mkdir()
    for out in (tmp_path / "missing", tmp_path / "empty"):
        sim.run(SCENARIOS, replications=REPS, seed=SEED, months=MONTHS, jobs=1, out=out,
                resume=True)
        assert_same_data(reference, out)


def test_non_empty_folder_is_refused_unless_resume_or_force(reference: Path, tmp_path: Path
                                                            ) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(sim.ScenarioError, match="not empty.*--resume.*--force"):
        sim.run(SCENARIOS, replications=REPS, seed=SEED, months=MONTHS, jobs=1, out=tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"
    with pytest.raises(sim.ScenarioError, match="no manifest"):
        sim.run(SCENARIOS, replications=REPS, seed=SEED, months=MONTHS, jobs=1, out=tmp_path,
                resume=True)
    # force=True replaces only a folder marketsim wrote: this one is refused, untouched
    with pytest.raises(sim.ScenarioError, match="not a marketsim results folder"):
        sim.run(SCENARIOS, replications=REPS, seed=SEED, months=MONTHS, jobs=1, out=tmp_path,
                force=True)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    # a marketsim folder: its files are replaced, the user's file stays
    import shutil

    run = tmp_path / "run"
    shutil.copytree(reference, run)
    (run / "notes.txt").write_text("mine")
    sim.run(SCENARIOS, replications=REPS, seed=SEED, months=MONTHS, jobs=1, out=run,
            force=True)
    assert (run / "notes.txt").read_text() == "mine"
    assert_same_data(reference, run)


@pytest.mark.parametrize(("change", "message"), [
    ({"scenarios": ["baseline", "baseline"]}, "another run"),
    ({"months": MONTHS + 1}, "another run"),
    ({"seed": SEED + 1}, "different seed"),
    ({"replications": REPS + 1}, "different seed or replication count"),
    ({"engine": "expected"}, "different engine .folder: exact, now: expected"),
])
def test_resume_of_a_different_run_is_refused(reference: Path, tmp_path: Path,
                                              change: dict, message: str) -> None:
    import shutil

    shutil.copytree(reference, tmp_path / "run")
    options = {"scenarios": SCENARIOS, "replications": REPS, "seed": SEED, "months": MONTHS,
               **change}
    with pytest.raises(sim.ScenarioError, match=message):
        sim.run(options.pop("scenarios"), **options, jobs=1, out=tmp_path / "run",
                resume=True)
    assert_same_data(reference, tmp_path / "run")


# --- engines ---------------------------------------------------------------------------


def test_the_engine_reaches_every_replication_and_the_manifest(
        reference: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sim.replication

    real, seen = sim.replication.run_replications, []

    def spy(*args, **kwargs):
        seen.append(kwargs.get("engine"))
        return real(*args, **kwargs)

    monkeypatch.setattr(sim.replication, "run_replications", spy)
    res = sim.run(SCENARIOS, replications=2, seed=SEED, months=MONTHS, jobs=1,
                  out=tmp_path, engine="expected")
    assert seen == ["expected"] * 4
    assert res.engine == "expected" and "expected engine" in repr(res)
    assert json.loads((tmp_path / "manifest.json").read_text())["engine"] == "expected"
    assert sim.experiment.Results.from_folder(tmp_path).engine == "expected"
    # expected counts are not the exact draws (but replication 0 is the same scenario)
    exact = pd.read_parquet(reference / "market.parquet")
    expected = res.market
    key = (expected["replication"] == 0) & (expected["month"] == MONTHS)
    assert not np.allclose(expected.loc[key, "users"].to_numpy(float),
                           exact.loc[(exact["replication"] == 0)
                                     & (exact["month"] == MONTHS), "users"].to_numpy(float),
                           equal_nan=True)


@pytest.mark.parametrize("engine", ["exactly", "", 1])
def test_an_unknown_engine_is_bad_input(engine, tmp_path: Path) -> None:
    with pytest.raises(sim.ScenarioError, match="unknown engine") as info:
        sim.run(["baseline"], replications=1, months=1, jobs=1, engine=engine,
                out=tmp_path / "x")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "x").exists()


# --- what a results folder holds -------------------------------------------------------


def test_folder_layout_manifest_and_no_pickle(reference: Path) -> None:
    names = {p.relative_to(reference).as_posix() for p in reference.rglob("*") if p.is_file()}
    assert {"manifest.json", *DATA_FILES, "scenarios/baseline.toml",
            "scenarios/eu_blocks_open.toml"} <= names
    assert all(Path(n).suffix in {".json", ".parquet", ".csv", ".toml", ".done"} for n in names)
    assert not any(n.endswith(".tmp") or "/." in n for n in names)  # no temporary leftovers
    for name in names:
        assert b"pickle" not in (reference / name).read_bytes().lower(), name
    manifest = json.loads((reference / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["seed"] == SEED and manifest["replications"] == REPS
    assert manifest["engine"] == "exact"  # sim.replication.DEFAULT_ENGINE
    assert [s["id"] for s in manifest["scenarios"]] == SCENARIOS
    assert {"marketsim", "python", "numpy", "pandas", "pyarrow", "mesa"} <= set(
        manifest["versions"])
    assert manifest["git"] is None or set(manifest["git"]) == {"commit", "dirty"}
    assert len(manifest["timings"]) == 2 * REPS
    # files get ordinary permissions (not the 0600 of a bare temporary file)
    assert (reference / "summary.csv").stat().st_mode & 0o044 == \
        (reference / "scenarios").stat().st_mode & 0o044


KEYS = ["scenario", "draw", "replication", "month", "date", "region"]


def test_tables_are_tidy_and_ordered(reference: Path) -> None:
    from sim.metric_names import MARKET_METRICS

    market = pd.read_parquet(reference / "market.parquet")
    assert list(market.columns) == [*KEYS, "segment", *MARKET_METRICS]
    order = market[["scenario", "replication"]].drop_duplicates()
    assert list(map(tuple, order.to_numpy())) == [
        (s, r) for s in SCENARIOS for r in range(REPS)]
    assert sorted(market["month"].unique()) == list(range(MONTHS + 1))
    assert (market["draw"] == 0).all()  # no posterior ensemble
    assert {"World"} < set(market["region"]) and {"all"} < set(market["segment"])
    vendors = pd.read_parquet(reference / "vendors.parquet")
    assert list(vendors.columns[:6]) == KEYS
    assert set(vendors.columns) == {*KEYS, "vendor", "revenue", "usage", "users", "cash",
                                    "capability", "alive", "raised", "rd_spend"}
    products = pd.read_parquet(reference / "products.parquet")
    assert list(products.columns[:7]) == [*KEYS, "segment"]
    assert set(products.columns) == {*KEYS, "segment", "vendor", "product", "openness", "users",
                                     "usage", "revenue", "price", "share"}
    # a firm owns product lines: Meta's open Llama, OpenAI's closed GPT
    lines = products.drop_duplicates(["vendor", "product"]).set_index("product")
    assert lines.loc["Llama", "vendor"] == "Meta" and lines.loc["GPT", "vendor"] == "OpenAI"
    assert set(products["openness"]) == {"open", "closed"}
    events = pd.read_parquet(reference / "events.parquet")
    assert list(events.columns) == [*KEYS, "vendor", "product", "kind", "detail"]
    assert "policy_on" in set(events["kind"])


# --- summaries: ids, paired differences ------------------------------------------------


def test_summary_csv_columns_and_empty_diff_for_first_scenario(reference: Path) -> None:
    text = (reference / "summary.csv").read_text().splitlines()
    assert text[0].split(",") == list(SUMMARY_COLUMNS)
    summary = pd.read_csv(reference / "summary.csv", keep_default_na=False)
    first = summary[summary["scenario"] == "baseline"]
    assert (first[["diff_mean", "diff_ci_low", "diff_ci_high"]] == "").all().all()
    second = summary[summary["scenario"] == "eu_blocks_open"]
    hhi = second[(second["metric"] == "hhi_market") & (second["region"] == "EU")
                 & (second["segment"] == "enterprise")]
    assert len(hhi) == 1 and hhi["diff_mean"].iloc[0] != ""
    # no relevant market pools segments: hhi_market of "all" is empty, not a number
    pooled = second[(second["metric"] == "hhi_market") & (second["segment"] == "all")]
    assert len(pooled) and (pooled["mean"] == "").all()
    assert set(summary["month"]) == {MONTHS}
    assert list(summary["scenario"].unique()) == SCENARIOS


def test_repeated_scenarios_get_ids_and_a_self_comparison_is_exactly_zero() -> None:
    res = sim.run(["baseline", "baseline"], replications=3, seed=2, months=4, jobs=1)
    assert res.ids == ["baseline", "baseline-2"]
    assert list(res.market["scenario"].unique()) == ["baseline", "baseline-2"]
    summary = res.summary()
    second = summary[summary["scenario"] == "baseline-2"]
    finite = second[np.isfinite(second["mean"])]
    assert len(finite) > 0
    assert (finite["diff_mean"] == 0).all()
    assert (finite["diff_ci_low"] == 0).all() and (finite["diff_ci_high"] == 0).all()
    assert summary[summary["scenario"] == "baseline"]["diff_mean"].isna().all()


def test_ids_from_a_mapping_and_from_files(tmp_path: Path) -> None:
    from sim.experiment.runner import assign_ids

    base = sim.load_scenario("baseline")
    assert assign_ids([base, base, base], ["a", "a", None]) == ["a", "a-2", "baseline"]
    res = sim.run({"low": base, "high": base.with_overrides({"world.network_effect": 1.0})},
                  replications=1, seed=0, months=2, jobs=1)
    assert res.ids == ["low", "high"]


def test_paired_differences_are_narrower_than_unpaired() -> None:
    """Common random numbers: the same luck in both arms cancels in the difference.

    Spend-share concentration (``hhi_market`` of enterprise) is left out: a discrete entry
    decision that flips between the arms (one replication here sees one more entrant in one
    arm) decorrelates it, so its paired interval is narrower but not by half; token
    concentration (``hhi_usage``) keeps the property."""
    base = sim.load_scenario("baseline")
    alt = base.with_overrides({"world.network_effect": base.world.network_effect + 0.05})
    res = sim.run({"base": base, "alt": alt}, replications=8, seed=3, months=12, jobs=1)
    summary = res.summary()
    cell = {"region": "World", "segment": "enterprise"}
    final = res.market[(res.market["month"] == 12) & (res.market["region"] == cell["region"])
                       & (res.market["segment"] == cell["segment"])]
    for metric in ("hhi_usage", "open_usage_share", "price_paid", "consumer_surplus_usd"):
        row = summary[(summary["scenario"] == "alt") & (summary["region"] == cell["region"])
                      & (summary["segment"] == cell["segment"])
                      & (summary["metric"] == metric)].iloc[0]
        a = final[final["scenario"] == "base"].sort_values("replication")[metric].to_numpy()
        b = final[final["scenario"] == "alt"].sort_values("replication")[metric].to_numpy()
        assert row["diff_mean"] == pytest.approx(b.mean() - a.mean(), rel=1e-9, abs=1e-12)
        paired_half = (row["diff_ci_high"] - row["diff_ci_low"]) / 2
        unpaired_half = stats.t.ppf(0.975, len(a) + len(b) - 2) * np.sqrt(
            a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
        assert paired_half < unpaired_half / 2, metric
        # the paired CI is the t-interval of the per-replication differences
        d = b - a
        half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
        assert paired_half == pytest.approx(half, rel=1e-9)


# --- memory ----------------------------------------------------------------------------


def test_finished_models_are_freed() -> None:
    """Mesa 3.3 keeps every model in Agent._ids; the runner makes that weak."""
    import weakref

    import mesa

    from sim.model import MarketModel

    model = MarketModel(sim.load_scenario("baseline").with_overrides({"scenario.months": 1}),
                        seed=0)
    model.step()
    ref = weakref.ref(model)
    del model
    gc.collect()
    assert ref() is None
    sim.run(["baseline"], replications=2, seed=0, months=2, jobs=1)
    gc.collect()
    assert len(getattr(mesa.Agent, "_ids", {})) == 0


def test_progress_bar_only_when_asked_or_on_a_terminal(capsys: pytest.CaptureFixture) -> None:
    sim.run(["baseline"], replications=2, seed=0, months=2, jobs=1)  # stderr is not a tty
    assert capsys.readouterr().err == ""
    sim.run(["baseline"], replications=2, seed=0, months=2, jobs=1, progress=True)
    assert "replications" in capsys.readouterr().err


def test_combined_tables_stream_in_row_groups(reference: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Parts are combined into row groups of about ROW_GROUP_ROWS rows, in (scenario,
    replication) order; month reads stream them."""
    import shutil

    import sim.experiment.store as store

    shutil.copytree(reference, tmp_path / "run")
    folder = ResultsFolder(tmp_path / "run")
    monkeypatch.setattr(store, "ROW_GROUP_ROWS", 100)
    order = [(s, r) for s in SCENARIOS for r in range(REPS)]
    folder.combine(order)
    for table in TABLES:
        parts = pd.concat([pd.read_parquet(folder.part(s, r, table)) for s, r in order],
                          ignore_index=True)
        pd.testing.assert_frame_equal(folder.read(table), parts)
    market = pq.ParquetFile(tmp_path / "run" / "market.parquet").metadata
    assert market.num_row_groups > 1
    everything = folder.read("market")
    columns = ["scenario", "month", "hhi_market"]
    some = folder.read_months("market", [0, MONTHS], columns)
    expected = everything[everything["month"].isin([0, MONTHS])][columns]
    pd.testing.assert_frame_equal(some, expected.reset_index(drop=True))
    assert folder.final_months() == dict.fromkeys(SCENARIOS, MONTHS)
    assert folder.read_months("market", [999], ["month"]).empty
