"""Sweeps, sensitivity and calibration: designs, SALib plumbing, recovering a known parameter."""

from __future__ import annotations

import json
import math
import tomllib
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from sim.experiment.calibration import (
    BoundWarning,
    calibrate,
    child_toml,
    fit_table,
    load_targets,
    on_bounds,
    write_calibration,
)
from sim.experiment.design import apply_row, make_design, parse_range
from sim.experiment.studies import indices, sample, sensitivity, sweep

from .conftest import FIXTURES

TARGETS = FIXTURES / "targets"


@pytest.fixture(scope="module")
def base() -> sim.Scenario:
    return sim.load_scenario("baseline")


# --- ranges and designs ----------------------------------------------------------------


def test_parse_range_kinds(base) -> None:
    real = parse_range("world.network_effect=0.1:1.5", base)
    assert (real.low, real.high, real.integer, real.choices) == (0.1, 1.5, False, None)
    whole = parse_range("contributors.count=10:50", base)
    assert whole.integer and (whole.low, whole.high) == (10, 50)
    choice = parse_range("vendors.Meta.products.Llama.openness=open,closed", base)
    assert choice.choices == ("open", "closed") and not choice.numeric
    line = parse_range("vendors.Meta.products.Llama.capability=85:95", base)
    assert (line.low, line.high, line.integer) == (85, 95, False)


@pytest.mark.parametrize(("text", "message"), [
    ("world.netwrk_effect=0.1:1", "did you mean 'network_effect'"),
    ("vendors.Mta.strategy=fixed,adaptive", "did you mean 'Meta'"),
    ("vendors.Meta.products.Lama.openness=open,closed", "did you mean 'Llama'"),
    ("vendors.Meta.openness=open,closed", "vendors.Meta.openness"),  # a product's, in v2
    ("world.network_effect=1:0.5", "LOW must be below HIGH"),
    ("world.network_effect=1:1", "LOW must be below HIGH"),
    ("world.network_effect=a:b", "must be numbers"),
    ("world.network_effect=0.1:inf", "finite"),
    ("world.network_effect", "expects PATH=LOW:HIGH"),
    ("world.network_effect=0.5", "LOW:HIGH"),
    ("vendors.Meta.products.Llama.openness=0:1", "not numeric"),
    ("vendors.Meta.products.Llama.openness=open,shut", "vendors.Meta.products.Llama.openness"),
])
def test_parse_range_rejects(base, text: str, message: str) -> None:
    with pytest.raises(sim.ScenarioError, match=message) as info:
        parse_range(text, base)
    assert "\n" not in str(info.value)


def test_range_ends_must_be_valid_values(base) -> None:
    with pytest.raises(sim.ScenarioError, match="world.network_effect"):
        parse_range("world.network_effect=-5:1", base)


def test_grid_has_k_to_the_d_rows_with_the_ends(base) -> None:
    params = [parse_range("world.network_effect=0.1:1.5", base),
              parse_range("contributors.count=10:50", base)]
    design = make_design(params, "grid", 4, seed=0)
    assert len(design) == 4 ** 2
    assert sorted(design["world.network_effect"].unique()) == pytest.approx(
        [0.1, 0.1 + 1.4 / 3, 0.1 + 2.8 / 3, 1.5])
    assert sorted(design["contributors.count"].unique()) == [10, 23, 37, 50]
    llama = "vendors.Meta.products.Llama.openness"
    with_choice = make_design([*params, parse_range(f"{llama}=open,closed", base)],
                              "grid", 3, seed=0)
    assert len(with_choice) == 3 * 3 * 2  # every choice of a categorical parameter
    assert set(with_choice[llama]) == {"open", "closed"}
    for row in with_choice.to_dict(orient="records")[:2]:  # a row reaches the product line
        line = apply_row(base, row).vendors[3].products[0]
        assert (line.name, line.openness) == ("Llama", row[llama])


@pytest.mark.parametrize("method", ["lhs", "sobol"])
@pytest.mark.parametrize("samples", [1, 7, 16])
def test_lhs_and_sobol_have_k_rows_within_bounds(base, method: str, samples: int) -> None:
    params = [parse_range("world.network_effect=0.1:1.5", base),
              parse_range("contributors.count=10:50", base),
              parse_range("vendors.Meta.products.Llama.openness=open,closed", base)]
    design = make_design(params, method, samples, seed=3)
    assert len(design) == samples
    assert list(design.columns) == [p.path for p in params]
    real = design["world.network_effect"]
    assert ((real >= 0.1) & (real <= 1.5)).all()
    counts = design["contributors.count"].tolist()
    assert all(type(v) is int and 10 <= v <= 50 for v in counts)
    assert set(design["vendors.Meta.products.Llama.openness"]) <= {"open", "closed"}
    pd.testing.assert_frame_equal(design, make_design(params, method, samples, seed=3))
    for row in design.to_dict(orient="records"):  # every row makes a valid scenario
        apply_row(base, row)


def test_lhs_is_stratified(base) -> None:
    design = make_design([parse_range("world.network_effect=0:1", base)], "lhs", 10, seed=5)
    strata = np.floor(design["world.network_effect"].to_numpy() * 10).astype(int)
    assert sorted(strata) == list(range(10))


@pytest.mark.parametrize(("method", "samples", "message"), [
    ("grd", 4, "did you mean 'grid'"),
    ("latin", 4, "unknown design"),
    ("lhs", 0, "at least 1"),
])
def test_bad_designs(base, method: str, samples: int, message: str) -> None:
    params = [parse_range("world.network_effect=0.1:1.5", base)]
    with pytest.raises(sim.ScenarioError, match=message):
        make_design(params, method, samples, seed=0)


# --- SALib plumbing on functions with known indices ------------------------------------


def ishigami(x: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


def test_sobol_indices_of_ishigami() -> None:
    problem = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[-math.pi, math.pi]] * 3}
    x = sample(problem, "sobol", 4096, seed=1)
    assert x.shape == (4096 * (3 + 2), 3)
    found = indices(problem, "sobol", x, ishigami(x), seed=1).set_index("parameter")
    # analytic values for a=7, b=0.1
    assert found["S1"].to_numpy() == pytest.approx([0.3139, 0.4424, 0.0], abs=0.03)
    assert found["ST"].to_numpy() == pytest.approx([0.5576, 0.4424, 0.2437], abs=0.03)
    assert (found["S1_conf"] > 0).all() and (found["S1_conf"] < 0.06).all()


def test_morris_ranks_a_linear_function() -> None:
    problem = {"num_vars": 3, "names": ["a", "b", "c"], "bounds": [[0, 1], [0, 1], [0, 1]]}
    x = sample(problem, "morris", 20, seed=2)
    assert x.shape == (20 * 4, 3)
    found = indices(problem, "morris", x, 1 * x[:, 0] + 5 * x[:, 1], seed=2)
    assert found["mu_star"].to_numpy() == pytest.approx([1, 5, 0], abs=1e-9)
    assert list(found.columns) == ["parameter", "method", "mu_star", "mu_star_conf", "mu",
                                   "sigma"]


def test_unknown_method_is_bad_input() -> None:
    with pytest.raises(sim.ScenarioError, match="did you mean 'sobol'"):
        sample({"num_vars": 1, "names": ["a"], "bounds": [[0, 1]]}, "sobl", 4, seed=0)


# --- sweeps and sensitivity through the model ------------------------------------------


def test_sweep_writes_design_and_applies_each_point(base, tmp_path: Path) -> None:
    params = [parse_range("world.network_effect=0.2:1.0", base)]
    results, design = sweep(base, params, design="grid", samples=3, replications=1, seed=4,
                            months=2, jobs=1, out=tmp_path, base_id="ne")
    assert results.ids == ["ne-0000", "ne-0001", "ne-0002"] == design["point"].tolist()
    stored = pd.read_parquet(tmp_path / "design.parquet")
    pd.testing.assert_frame_equal(stored, design)
    assert stored["world.network_effect"].tolist() == pytest.approx([0.2, 0.6, 1.0])
    for pid, value in zip(design["point"], design["world.network_effect"], strict=True):
        saved = sim.load_scenario(tmp_path / "scenarios" / f"{pid}.toml")
        assert saved.world.network_effect == pytest.approx(value)
    assert set(pd.read_csv(tmp_path / "summary.csv")["scenario"]) == set(results.ids)


def test_sensitivity_writes_indices(base, tmp_path: Path) -> None:
    params = [parse_range("world.network_effect=0.1:1.5", base),
              parse_range("segments.developer.open_preference=0:0.5", base)]
    results, design, found = sensitivity(base, params, method="morris", samples=2,
                                         metric="open_usage_share", region="EU", months=2,
                                         replications=1, seed=0, jobs=1, out=tmp_path)
    assert len(design) == 2 * (len(params) + 1) == len(results.ids)
    written = pd.read_csv(tmp_path / "sensitivity.csv")
    assert list(written.columns) == ["parameter", "method", "mu_star", "mu_star_conf", "mu",
                                     "sigma", "metric", "region", "segment", "month"]
    assert written["parameter"].tolist() == [p.path for p in params]
    assert (written["month"] == 2).all() and (written["region"] == "EU").all()
    assert (written["segment"] == "enterprise").all()  # the default segment
    assert (tmp_path / "design.parquet").exists()
    assert np.isfinite(found["mu_star"]).all()


@pytest.mark.parametrize(("options", "message"), [
    ({"metric": "hhi_markt"}, "did you mean 'hhi_market'"),
    ({"metric": "hhi"}, "version 1's name; version 2 calls it hhi_market"),
    ({"region": "Mars"}, "unknown region 'Mars'; known: US, EU"),
    ({"segment": "al"}, "did you mean 'all'"),
    ({"segment": "all"}, "hhi_market does not exist for segment 'all' .no such market"),
    ({"metric": "hhi_users", "segment": "all"}, "hhi_users does not exist for segment 'all'"),
    ({"metric": "adoption", "segment": "all"}, "adoption does not exist for segment 'all'"),
    ({"engine": "exactly"}, "unknown engine"),
    ({"method": "sobl"}, "did you mean 'sobol'"),
    ({"month": 99}, "outside the run"),
])
def test_sensitivity_checks_inputs_before_running(base, options: dict, message: str,
                                                  tmp_path: Path) -> None:
    params = [parse_range("world.network_effect=0.1:1.5", base)]
    with pytest.raises(sim.ScenarioError, match=message):
        sensitivity(base, params, months=3, replications=1, jobs=1, out=tmp_path / "x",
                    **options)
    assert not (tmp_path / "x").exists()  # nothing ran


# --- calibration -----------------------------------------------------------------------


def test_good_targets_file_loads(base) -> None:
    targets = load_targets(TARGETS / "good.toml", base)
    assert [t.name for t in targets.target] == ["eu_enterprise_hhi", "eu_open_usage_share"]
    band = targets.target[1]
    assert band.centre == pytest.approx(0.35) and band.half_width == pytest.approx(0.25)
    assert band.step(base.scenario.start) == 5  # 2024-06 with a 2024-01 start


@pytest.mark.parametrize(("name", "message"), [
    ("syntax_error", r"syntax_error.toml:8:\d+: TOML syntax error"),
    ("unknown_key", "target.0.tolerence: unknown key 'tolerence' .did you mean 'tolerance'"),
    ("missing_source", "target.0.source: required field is missing"),
    ("band_low_above_high", "a band needs 'low' < 'high'"),
    ("unknown_metric", "unknown metric 'hhi_markt' .did you mean 'hhi_market'"),
    ("version1_metric", "unknown metric 'open_share' .version 1's name; version 2 calls it "
     "open_usage_share"),
    ("no_such_market", "target.0: hhi_market does not exist for segment 'all' .no such market"),
    ("date_outside_horizon", "date 2040-01 is month 192, outside the scenario's months 0..83"),
    ("unknown_region", "target.0.region: unknown region 'Mars'"),
    ("no_targets", "target: required field is missing"),
    ("not_text", "not a TOML text file"),
    ("does_not_exist", "no such targets file"),
])
def test_bad_targets_files(base, name: str, message: str) -> None:
    with pytest.raises(sim.ScenarioError, match=message) as info:
        load_targets(TARGETS / f"{name}.toml", base)
    assert str(info.value).count("\n") == 0
    assert f"{name}.toml" in str(info.value)


def write_targets(path: Path, rows: list[dict]) -> Path:
    lines = ['[targets]', 'name = "generated"', ""]
    for row in rows:
        lines.append("[[target]]")
        lines += [f"{k} = {v!r}" if isinstance(v, str) else f"{k} = {v}" for k, v in row.items()]
        lines.append("")
    path.write_text("\n".join(lines).replace("'", '"'))
    return path


#: The network effect the generated targets were made with.
TRUTH = 0.8


@pytest.fixture(scope="module")
def truth_targets(base, tmp_path_factory) -> Path:
    """Month-6 facts made by the model itself at ``world.network_effect = TRUTH``."""
    made = sim.run([base.with_overrides({"world.network_effect": TRUTH})], replications=3,
                   seed=101, months=6, jobs=1)
    observed = made.summary(month=6, metrics=["open_usage_share", "hhi_market"])
    rows = []
    for metric, region, tolerance in (("open_usage_share", "World", 0.002),
                                      ("hhi_market", "EU", 10.0)):
        value = observed[(observed["metric"] == metric) & (observed["region"] == region)
                         & (observed["segment"] == "enterprise")]["mean"].iloc[0]
        rows.append({"name": f"{metric}_{region}", "metric": metric, "region": region,
                     "segment": "enterprise", "month": 6, "value": float(value),
                     "tolerance": tolerance, "source": f"sim.run with network_effect={TRUTH}"})
    return write_targets(tmp_path_factory.mktemp("targets") / "targets.toml", rows)


def test_calibration_recovers_a_known_network_effect(base, truth_targets: Path,
                                                     tmp_path: Path) -> None:
    targets = load_targets(truth_targets, base)
    param = parse_range("world.network_effect=0.1:1.5", base)
    # another seed than the one that made the targets: the fit must see through the noise
    with warnings.catch_warnings():
        warnings.simplefilter("error", BoundWarning)  # an interior optimum: no bound warning
        result = calibrate(base, targets, [param], replications=3, seed=7,
                           max_evaluations=30, jobs=1)
    assert result.values["world.network_effect"] == pytest.approx(TRUTH, abs=0.1)
    assert result.on_bound == []
    assert result.fit["within"].all()
    assert list(result.fit.columns) == ["target", "metric", "region", "segment", "month",
                                        "observed", "tolerance", "fitted_mean",
                                        "fitted_ci_low", "fitted_ci_high", "z", "within",
                                        "source"]
    assert result.objective == result.evaluations["objective"].min()
    # the fitted scenario file extends the input and reproduces the fitted value
    path = write_calibration(tmp_path / "out", result, "baseline", "baseline")
    fitted = sim.load_scenario(path)
    assert fitted.world.network_effect == pytest.approx(result.values["world.network_effect"])
    assert tomllib.loads(path.read_text())["scenario"]["extends"] == "baseline"
    assert {"calibration.csv", "evaluations.csv"} <= {p.name for p in (tmp_path / "out")
                                                      .iterdir()}


def test_a_fit_whose_range_excludes_the_best_value_warns(base, truth_targets: Path) -> None:
    """The truth (0.8) is above the range: the search ends on its high bound and says so."""
    targets = load_targets(truth_targets, base)
    param = parse_range("world.network_effect=0.1:0.4", base)
    with pytest.warns(BoundWarning, match=r"^world\.network_effect = 0\.[34]\d* is on the "
                      r"high bound \(0\.4\) of its search range 0\.1:0\.4: the best value "
                      r"may lie outside the range; widen it") as caught:
        result = calibrate(base, targets, [param], replications=1, seed=7,
                           max_evaluations=12, jobs=1)
    assert len([w for w in caught if issubclass(w.category, BoundWarning)]) == 1
    assert [(e["path"], e["bound"], e["at"]) for e in result.on_bound] == [
        ("world.network_effect", "high", 0.4)]
    assert result.values["world.network_effect"] >= 0.4 - 0.01 * 0.3


def test_on_bounds_tolerance_and_sides() -> None:
    from sim.experiment.design import Parameter

    real, whole = Parameter("a", 0.0, 10.0), Parameter("b", 10, 20, integer=True)
    assert [e["bound"] for e in on_bounds({"a": 0.1, "b": 20}, [real, whole])] == ["low",
                                                                                   "high"]
    assert on_bounds({"a": 0.11, "b": 19}, [real, whole]) == []  # 1.1 % and 10 % inside
    assert [e["bound"] for e in on_bounds({"a": 9.95, "b": 15}, [real, whole])] == ["high"]


def test_calibrate_command_prints_and_records_a_value_on_its_bound(
        truth_targets: Path, tmp_path: Path, cli) -> None:
    result = cli("calibrate", "baseline", "--targets", truth_targets,
                 "--fit", "world.network_effect=0.1:0.4", "--max-evaluations", "12", "-r", "1",
                 "--seed", "7", "--months", "6", "-j", "1", "-o", tmp_path / "fit")
    assert result.exit_code == 0, result
    lines = [line for line in result.stderr.splitlines() if "bound" in line]
    assert len(lines) == 1 and lines[0].startswith(
        "warning: world.network_effect = 0.4 is on the high bound (0.4) of its search range "
        "0.1:0.4: the best value may lie outside the range; widen it"), result
    manifest = json.loads((tmp_path / "fit" / "manifest.json").read_text())
    assert [(e["path"], e["bound"]) for e in manifest["on_bound"]] == [
        ("world.network_effect", "high")]
    text = (tmp_path / "fit" / "calibrated.toml").read_text()
    assert "\n# warning: world.network_effect = 0.4 is on the high bound" in text
    assert "on the high bound of its range 0.1:0.4" in (tmp_path / "fit" / "report.html"
                                                         ).read_text(encoding="utf-8")


def test_fit_table_uses_dates_and_bands(base) -> None:
    targets = load_targets(TARGETS / "good.toml", base)
    res = sim.run([base], replications=2, seed=0, months=6, jobs=1)
    table = fit_table(res.market, targets, base.scenario.start)
    assert table["month"].tolist() == [6, 5]
    assert table["observed"].tolist() == pytest.approx([3000.0, 0.35])
    assert np.isfinite(table["fitted_mean"]).all()


def test_child_toml_addresses_named_items(base, tmp_path: Path) -> None:
    values = {"world.network_effect": 0.5, "vendors.Meta.cash": 3e9,
              "vendors.Meta.products.Llama.capability": 93.0,
              "vendors.Meta.products.Llama-vision.size": 2.0,
              "regions.EU.adopters.consumer": 4e8}
    text = child_toml(values, "baseline", "fit", "d",
                      fixed={"segments.enterprise.switching_cost": 2.0})
    data = tomllib.loads(text)
    assert data["scenario"]["format_version"] == 2
    assert data["world"] == {"network_effect": 0.5}
    assert data["vendors"] == [{"name": "Meta", "cash": 3e9, "products": [
        {"name": "Llama", "capability": 93.0}, {"name": "Llama-vision", "size": 2.0}]}]
    assert data["regions"] == [{"name": "EU", "adopters": {"consumer": 4e8}}]
    assert data["segments"] == [{"name": "enterprise", "switching_cost": 2.0}]
    # the file loads, extends the baseline, and changes only what it names
    path = tmp_path / "fit.toml"
    path.write_text(text.replace('extends = "baseline"',
                                 f'extends = "{(tmp_path / "base.toml").as_posix()}"'))
    (tmp_path / "base.toml").write_text(base.to_toml())
    fitted = sim.load_scenario(path)
    meta = next(v for v in fitted.vendors if v.name == "Meta")
    lines = {p.name: p for p in meta.products}
    assert (meta.cash, lines["Llama"].capability, lines["Llama-vision"].size) == (3e9, 93.0, 2.0)
    before = next(v for v in base.vendors if v.name == "Meta").products[0]
    assert lines["Llama"].openness == before.openness  # inherited, not overwritten


def test_sobol_sample_size_not_a_power_of_two_warns_once_clearly() -> None:
    import warnings

    from sim.scenario.schema import ScenarioWarning

    problem = {"num_vars": 1, "names": ["a"], "bounds": [[0, 1]]}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        x = sample(problem, "sobol", 3, seed=0)
    assert len(x) == 3 * 3
    assert [str(w.message) for w in caught] == [
        "--samples 3 is not a power of 2; Sobol' indices converge best with 2^k (e.g. 4)"]
    assert caught[0].category is ScenarioWarning
