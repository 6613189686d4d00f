"""The Bayesian calibration: the sampler against analytic posteriors, priors files, resume,
the command line, and the shipped posterior (issue 18)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.errors import ScenarioError
from sim.experiment import smc
from sim.experiment.priors import load_priors
from tests.conftest import FIXTURES, SCENARIOS

PRIORS = FIXTURES / "priors"
TARGETS = FIXTURES / "targets" / "good.toml"


def _run_toy(simulate, dims, observed, sigma, particles, seed=3):
    settings = smc.Settings(particles=particles)
    pop = smc.first_population(simulate, dims, observed, sigma, settings, seed)
    while not pop.finished:
        pop = smc.smc_stage(pop, simulate, observed, sigma, settings, seed)
    return pop


def test_posterior_of_a_normal_mean_matches_the_analytic_one():
    """s = theta exactly; y = 0.4 +- 0.05 with a uniform prior: the posterior is N(0.4, 0.05)
    truncated to [0, 1], which is the normal itself to 1e-15."""
    pop = _run_toy(lambda u, reps: u.copy(), 1, np.array([0.4]), np.array([0.05]), 2000)
    theta = pop.u[:, 0]
    assert abs(theta.mean() - 0.4) < 0.006
    assert abs(theta.std() - 0.05) / 0.05 < 0.12
    low, high = smc.credible_interval(theta)
    assert low == pytest.approx(0.4 - 1.645 * 0.05, abs=0.012)
    assert high == pytest.approx(0.4 + 1.645 * 0.05, abs=0.012)


def test_a_linear_gaussian_posterior_has_the_analytic_covariance():
    """s = A theta, two facts, a flat prior far wider than the likelihood: the posterior is
    normal with precision A' S^-1 A (the textbook linear-Gaussian result)."""
    a = np.array([[1.0, 0.5], [0.2, 1.0]])
    sigma = np.array([0.04, 0.05])
    truth = np.array([0.45, 0.55])
    observed = a @ truth
    pop = _run_toy(lambda u, reps: u @ a.T, 2, observed, sigma, 2000)
    precision = a.T @ np.diag(sigma ** -2) @ a
    cov = np.linalg.inv(precision)
    np.testing.assert_allclose(pop.u.mean(axis=0), truth, atol=0.01)
    np.testing.assert_allclose(np.cov(pop.u, rowvar=False), cov, rtol=0.25, atol=2e-5)


def test_a_noisy_simulator_still_targets_the_exact_posterior():
    """Pseudo-marginal moves: s = theta + N(0, tau) noise and y +- sigma give the posterior of
    a normal with variance sigma^2 + tau^2 (the likelihood's expectation over the noise)."""
    tau = 0.03

    def simulate(u, reps):
        noise = np.array([np.random.default_rng([9, int(r)]).normal() for r in reps])
        return u + tau * noise[:, None]

    pop = _run_toy(simulate, 1, np.array([0.5]), np.array([0.04]), 2000)
    assert abs(pop.u[:, 0].std() - np.hypot(0.04, tau)) / np.hypot(0.04, tau) < 0.15
    assert abs(pop.u[:, 0].mean() - 0.5) < 0.008


def test_the_tempering_step_keeps_the_chosen_effective_sample_size():
    ll = stats.norm.logpdf(np.random.default_rng(1).normal(size=500), scale=0.01)
    beta = smc.next_beta(0.0, ll, 300)
    assert 0 < beta < 1
    assert smc.ess(beta * ll) == pytest.approx(300, rel=1e-6)
    assert smc.next_beta(0.0, np.zeros(10), 5) == 1.0  # a flat likelihood: straight to 1


def test_systematic_resampling_keeps_each_particle_to_within_one_copy():
    w = np.random.default_rng(2).random(200)
    idx = smc.systematic_resample(np.log(w), np.random.default_rng(3))
    counts = np.bincount(idx, minlength=200)
    expected = 200 * w / w.sum()
    assert counts.sum() == 200
    assert np.all(np.abs(counts - expected) < 1.0)


def test_the_shipped_priors_cover_at_least_ten_informed_parameters_with_sources():
    from sim.scenario.loader import load_scenario

    priors = load_priors("baseline", load_scenario("baseline"))
    assert len(priors.informed) >= 10
    assert all(len(p.source) > 10 for p in priors.prior)
    assert {p.path.split(".")[0] for p in priors.uninformed} == {"harm"}


@pytest.mark.parametrize(("name", "message"), [
    ("unknown_path", "network_efect"),
    ("low_above_high", "'low' < 'high'"),
    ("log_not_positive", "'low' > 0"),
    ("outside_bounds", "high = 50.0 is refused"),
    ("not_a_number", "is not a number"),
    ("unknown_key", "unknown key 'shape'"),
    ("missing_source", "source"),
    ("bad_scale", "scale"),
    ("duplicate_path", "two priors: world.network_effect"),
    ("no_priors", "prior"),
    ("syntax_error", "syntax_error.toml"),
])
def test_a_bad_priors_file_is_one_clear_error(name, message):
    from sim.scenario.loader import load_scenario

    with pytest.raises(ScenarioError) as caught:
        load_priors(PRIORS / f"{name}.toml", load_scenario("baseline"))
    assert message in str(caught.value)
    assert "Traceback" not in str(caught.value)


def _calibrate(out, monkeypatch=None, fail_at=None):
    from sim.experiment import bayes
    from sim.experiment.calibration import load_targets
    from sim.scenario.loader import load_scenario

    scenario = load_scenario("baseline")
    targets = load_targets(TARGETS, scenario)
    priors = load_priors(PRIORS / "good.toml", scenario)
    if fail_at is not None:
        real = bayes.smc_stage

        def stage(pop, *args, **kwargs):
            if pop.stage + 1 == fail_at:
                raise KeyboardInterrupt
            return real(pop, *args, **kwargs)

        monkeypatch.setattr(bayes, "smc_stage", stage)
    return bayes.calibrate_bayes(scenario, targets, priors, out=out, particles=12, seed=5,
                                 jobs=1, progress=False, resume=fail_at is None and
                                 (Path(out) / "stages").exists())


@pytest.mark.slow
def test_calibration_end_to_end_and_resume_is_bit_identical(tmp_path, monkeypatch):
    whole = _calibrate(tmp_path / "whole")
    with pytest.raises(KeyboardInterrupt):
        _calibrate(tmp_path / "cut", monkeypatch, fail_at=2)
    manifest = json.loads((tmp_path / "cut" / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    monkeypatch.undo()
    resumed = _calibrate(tmp_path / "cut")
    pd.testing.assert_frame_equal(whole.posterior, resumed.posterior, check_exact=True)
    posterior = pd.read_parquet(tmp_path / "whole" / "posterior.parquet")
    assert list(posterior.columns) == ["draw", "weight", "world.network_effect",
                                       "segments.enterprise.bass_q", "harm.leakage"]
    assert posterior["weight"].sum() == pytest.approx(1.0)
    assert posterior["world.network_effect"].between(0.0, 0.6).all()
    assert posterior["segments.enterprise.bass_q"].between(0.02, 0.2).all()
    diagnostics = json.loads((tmp_path / "whole" / "diagnostics.json").read_text())
    assert [p["path"] for p in diagnostics["parameters"]] == list(posterior.columns[2:])
    leakage = diagnostics["parameters"][2]
    assert leakage["informed"] is False and leakage["identified"] is False
    assert diagnostics["fit_coverage_90"]["targets"] == 2

    from sim.report.posterior import write_posterior_report

    html = write_posterior_report(tmp_path / "whole").read_text(encoding="utf-8")
    for anchor in ("parameters", "correlations", "fit"):
        assert f"<section id='{anchor}'>" in html
    assert "segments.enterprise.bass_q" in html and "not informed by the data" in html


def test_the_command_line_refuses_mixed_methods(cli):
    result = cli("calibrate", "baseline", "--targets", TARGETS, "--method", "bayes", "--fit",
                 "world.network_effect=0:1")
    assert result.exit_code == 2
    assert "--fit belongs to --method point" in result.stderr
    result = cli("calibrate", "baseline", "--targets", TARGETS, "--method", "mcmc")
    assert result.exit_code == 2 and "'point' or 'bayes'" in result.stderr
    result = cli("calibrate", "baseline", "--targets", TARGETS)
    assert result.exit_code == 2 and "needs at least one --fit" in result.stderr


def test_the_shipped_posterior_carries_every_prior():
    from sim.scenario.loader import load_scenario

    priors = load_priors("baseline", load_scenario("baseline"))
    posterior = pd.read_parquet(SCENARIOS / "posterior" / "baseline.parquet")
    diagnostics = json.loads((SCENARIOS / "posterior" / "baseline.diagnostics.json")
                             .read_text(encoding="utf-8"))
    assert len(posterior) >= 500
    assert diagnostics["ess_final_reweighting"] >= 300
    assert list(posterior.columns) == ["draw", "weight", *(p.path for p in priors.prior)]
    assert posterior["weight"].sum() == pytest.approx(1.0)
    for prior in priors.prior:
        assert posterior[prior.path].between(prior.low, prior.high).all(), prior.path
    assert {"command", "seed", "versions"} <= diagnostics.keys()
    # a posterior at a bound is flagged, and the docs give a reason written by hand (outside
    # the generated blocks, which only list the flags)
    import re

    text = (Path(__file__).parents[1] / "docs" / "calibration.md").read_text(encoding="utf-8")
    by_hand = re.sub(r"<!-- ([a-z-]+) -->.*?<!-- /\1 -->", "", text, flags=re.S)
    for entry in diagnostics["parameters"]:
        if entry["at_bound"]:
            assert f"`{entry['path']}` (at its {entry['at_bound']} bound" in by_hand


@pytest.mark.slow
def test_the_coverage_check_runs_on_five_truths():
    """The pipeline of ``make sbc`` at small scale: five truths, batched together."""
    from sim.experiment.calibration import load_targets
    from sim.experiment.sbc import coverage_check, coverage_summary
    from sim.scenario.loader import load_scenario

    scenario = load_scenario("baseline")
    rows = coverage_check(scenario, load_targets(TARGETS, scenario),
                          load_priors(PRIORS / "good.toml", scenario), truths=5, particles=10,
                          seed=4, jobs=1, progress=False)
    assert len(rows) == 10  # five truths x two informed parameters
    assert rows["rank"].between(0, 1).all()
    assert (rows["p05"] <= rows["p95"]).all()
    inside = (rows["p05"] <= rows["true"]) & (rows["true"] <= rows["p95"])
    assert (inside == rows["inside_90"]).all()
    summary = coverage_summary(rows)
    assert list(summary["truths"]) == [5, 5]
    again = coverage_check(scenario, load_targets(TARGETS, scenario),
                           load_priors(PRIORS / "good.toml", scenario), truths=5, particles=10,
                           seed=4, jobs=1, progress=False)
    pd.testing.assert_frame_equal(rows, again, check_exact=True)


def test_the_hindcast_scores_facts_against_persistence():
    from sim.experiment.calibration import load_targets
    from sim.experiment.predictive import crps_ensemble, hindcast_table, predictive_values
    from sim.scenario.loader import load_scenario

    scenario = load_scenario("baseline")
    fit = load_targets(SCENARIOS / "targets" / "fit.toml", scenario)
    validation = load_targets(SCENARIOS / "targets" / "validation.toml", scenario)
    posterior = pd.DataFrame({"draw": [0, 1], "weight": [0.5, 0.5],
                              "world.network_effect": [0.1, 0.3]})
    values = predictive_values(scenario, validation, posterior, seed=1, jobs=1)
    assert values.shape == (2, len(validation.target))
    table = hindcast_table(scenario, validation, fit, values, seed=1)
    assert list(table["target"]) == [t.name for t in validation.target]
    gap = table.set_index("target").loc["open_closed_gap_2025_10"]
    assert gap["persistence_from"] == "open_closed_gap_2024_11"
    assert gap["crps_persistence"] == pytest.approx(abs(13.5 - 3.2))
    price = table.set_index("target").loc["flagship_price_2025_08"]
    assert price["beats_persistence"] == (price["crps_model"] < price["crps_persistence"])
    assert crps_ensemble(np.array([2.0, 2.0]), 2.0) == 0.0


def test_every_validation_fact_is_dated_after_the_fit_window_and_never_fitted(tmp_path):
    from sim.experiment.bayes import FIT_WINDOW_END, calibrate_bayes
    from sim.experiment.calibration import load_targets
    from sim.scenario.loader import load_scenario
    from sim.scenario.months import date_of

    scenario = load_scenario("baseline")
    start = scenario.scenario.start
    validation = load_targets(SCENARIOS / "targets" / "validation.toml", scenario)
    fit = load_targets(SCENARIOS / "targets" / "fit.toml", scenario)
    assert all(date_of(t.step(start), start) > FIT_WINDOW_END for t in validation.target)
    assert all(date_of(t.step(start), start) <= FIT_WINDOW_END for t in fit.target)
    with pytest.raises(ScenarioError, match="for the hindcast, never fitted"):
        calibrate_bayes(scenario, validation, load_priors(PRIORS / "good.toml", scenario),
                        out=tmp_path / "x", particles=4, jobs=1, progress=False)
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_the_command_line_prints_the_posterior_and_its_flags(cli, tmp_path):
    out = tmp_path / "post"
    result = cli("calibrate", "baseline", "--targets", TARGETS, "--method", "bayes", "--priors",
                 PRIORS / "good.toml", "--particles", "6", "-j", "1", "--seed", "2", "-o", out)
    assert result.exit_code == 0, result
    assert "posterior:" in result.stdout and "(6 draws," in result.stdout
    assert "harm.leakage:" in result.stdout and "not informed by the data" in result.stdout
    assert (out / "posterior.parquet").is_file() and (out / "diagnostics.json").is_file()


def test_an_interrupt_prints_the_exact_resume_command(cli, tmp_path, monkeypatch):
    from sim.experiment import bayes

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(bayes, "calibrate_bayes", interrupted)
    out = tmp_path / "post"
    result = cli("calibrate", "baseline", "--targets", TARGETS, "--method", "bayes",
                 "--particles", "6", "--force", "-o", out)
    assert result.exit_code == 130
    expected = (f"interrupted; continue with: marketsim calibrate baseline --targets {TARGETS} "
                f"--method bayes --particles 6 -o {out} --resume")
    assert expected in result.stderr


@pytest.mark.parametrize(("name", "message"), [
    ("unknown_kind", "unknown event kind 'ipo'"),
    ("end_before_start", "'end' is before 'start'"),
    ("bad_month", "event.0.start"),
])
def test_a_bad_events_file_is_one_clear_error(name, message):
    from sim.experiment.event_facts import load_event_facts

    with pytest.raises(ScenarioError) as caught:
        load_event_facts(FIXTURES / "events" / f"{name}.toml")
    assert message in str(caught.value)


def test_an_event_query_matches_only_its_firm_product_region_and_window():
    from sim.engine.state import Event
    from sim.experiment.draws import EventQuery

    query = EventQuery(("withdrawal",), "Meta", 19, 23, region="EU", product="Llama")
    assert query.matches(Event(0, 20, "EU", "Meta", "Llama", "withdrawal", "margin"))
    assert not query.matches(Event(0, 20, "EU", "Meta", "Llama-vision", "withdrawal", "m"))
    assert not query.matches(Event(0, 24, "EU", "Meta", "Llama", "withdrawal", "m"))
    assert not query.matches(Event(0, 20, "US", "Meta", "Llama", "withdrawal", "m"))
    assert not query.matches(Event(0, 20, "EU", "Meta", "Llama", "reentry", "m"))


def test_event_facts_get_a_probability_and_a_brier_score():
    from sim.experiment.event_facts import event_queries, event_table, load_event_facts
    from sim.experiment.predictive import predictive_values
    from sim.scenario.loader import load_scenario

    scenario = load_scenario("baseline")
    facts = load_event_facts(SCENARIOS / "targets" / "validation_events.toml")
    queries = event_queries(facts, scenario.scenario.start)
    posterior = pd.DataFrame({"draw": [0, 1], "weight": [0.5, 0.5],
                              "world.network_effect": [0.1, 0.3]})
    seen = predictive_values(scenario, None, posterior, seed=1, jobs=1, cells=(),
                             events=queries)
    assert seen.shape == (2, len(facts.event)) and set(np.unique(seen)) <= {0.0, 1.0}
    table = event_table(facts, seen)
    expected = (seen.mean(axis=0) - np.array([f.outcome for f in facts.event])) ** 2
    np.testing.assert_allclose(table["brier"], expected)


def test_a_batch_of_different_draws_equals_its_worlds_run_alone():
    """Step 0 converges and freezes per world, so no world waits on another's rounds."""
    from sim.experiment.calibration import load_targets
    from sim.experiment.draws import DrawTask, cells_of_targets, run_draws
    from sim.scenario.loader import load_scenario
    from sim.scenario.overrides import with_horizon

    scenario = with_horizon(load_scenario("baseline"), 17)
    cells = cells_of_targets(load_targets("fit", scenario), scenario.scenario.start)
    rng = np.random.default_rng(3)
    draws = tuple((("world.network_effect", float(a)), ("world.kappa_open", float(b)),
                   ("segments.enterprise.usage_elasticity", float(c)))
                  for a, b, c in zip(rng.uniform(0, 0.6, 6), rng.uniform(0.005, 0.3, 6),
                                     rng.uniform(1.05, 2.5, 6), strict=True))
    text = scenario.to_toml()
    whole = run_draws(DrawTask(text, draws, tuple(range(6)), 4, "expected", cells))
    parts = np.vstack([run_draws(DrawTask(text, draws[lo:hi], tuple(range(lo, hi)), 4,
                                          "expected", cells)) for lo, hi in ((0, 1), (1, 6))])
    np.testing.assert_array_equal(whole, parts)


def test_one_worlds_markup_cap_does_not_bind_another_world():
    from sim.experiment.draws import Cell, DrawTask, run_draws
    from sim.scenario.loader import load_scenario
    from sim.scenario.overrides import with_horizon

    text = with_horizon(load_scenario("baseline"), 3).to_toml()
    cells = (Cell("price_frontier", "World", "enterprise", 3),)
    draws = ((("world.markup_max", 50.0),), (("world.markup_max", 1.5),))
    both = run_draws(DrawTask(text, draws, (0, 0), 2, "expected", cells))
    alone = run_draws(DrawTask(text, draws[:1], (0,), 2, "expected", cells))
    assert both[0, 0] == alone[0, 0]
    assert both[1, 0] < both[0, 0]  # the tight cap does bind in its own world


@pytest.mark.parametrize(("options", "message"), [
    ({"particles": 1}, "particles"),
    ({"seed": -1}, "seed"),
    ({"engine": "fast"}, "unknown engine"),
])
def test_bad_sampler_options_are_one_clear_error(options, message, tmp_path):
    from sim.experiment.bayes import calibrate_bayes
    from sim.experiment.calibration import load_targets
    from sim.scenario.loader import load_scenario

    scenario = load_scenario("baseline")
    with pytest.raises(ScenarioError, match=message):
        calibrate_bayes(scenario, load_targets(TARGETS, scenario),
                        load_priors(PRIORS / "good.toml", scenario), out=tmp_path / "x",
                        jobs=1, progress=False, **options)
    assert not (tmp_path / "x").exists()


def test_the_committed_coverage_check_matches_its_rows():
    diagnostics = json.loads((SCENARIOS / "posterior" / "baseline.diagnostics.json")
                             .read_text(encoding="utf-8"))
    check = diagnostics["coverage_check"]
    rows = pd.read_csv(SCENARIOS / "posterior" / "baseline.sbc.csv")
    assert check["truths"] >= 100 and rows["truth"].nunique() == check["truths"]
    informed = [p["path"] for p in diagnostics["parameters"] if p["informed"]]
    assert [p["path"] for p in check["parameters"]] == informed
    inside = (rows["p05"] <= rows["true"]) & (rows["true"] <= rows["p95"])
    assert (inside == rows["inside_90"]).all()
    for p in check["parameters"]:
        share = rows.loc[rows["path"] == p["path"], "inside_90"].mean()
        assert share == pytest.approx(p["coverage_90"])
        assert p["within_80_97"] == (0.80 <= share <= 0.97)


def test_the_sampler_coverage_study_runs_small():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "sampler_coverage", Path(__file__).parents[1] / "scripts" / "sampler_coverage.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    share = module.coverage(particles=16, truths=3)
    assert share.shape == (module.DIMS,)
    assert ((share >= 0) & (share <= 1)).all()
    assert np.array_equal(share, module.coverage(particles=16, truths=3))  # seeded


def test_a_posterior_piled_against_a_prior_bound_warns(tmp_path, monkeypatch):
    """The sampler is not run: its first population is a made-up finished one, in which 40 %
    of world.network_effect's particles lie in the top 5 % of its prior and bass_q's none."""
    from sim.experiment import bayes
    from sim.experiment.calibration import BoundWarning, load_targets
    from sim.scenario.loader import load_scenario

    scenario = load_scenario("baseline")
    targets = load_targets(TARGETS, scenario)
    priors = load_priors(PRIORS / "good.toml", scenario)
    n = 20
    u = np.column_stack([np.r_[np.full(8, 0.98), np.linspace(0.2, 0.8, 12)],
                         np.linspace(0.3, 0.7, n)])

    def finished(simulate, dims, observed, sigma, settings, seed):
        record = {"stage": 0, "beta": 1.0, "ess": float(n), "acceptance": 1.0, "sweeps": 0,
                  "simulations": n}
        return smc.Population(0, 1.0, u, np.zeros(n), np.zeros((n, len(observed))), n, n,
                              (record,))

    monkeypatch.setattr(bayes, "first_population", finished)
    with pytest.warns(BoundWarning, match=r"^world\.network_effect: 40 % of the posterior lies "
                      r"in the outer 5 % of its prior range at the high bound \(0\.6\): the "
                      "facts push it against the prior") as caught:
        result = bayes.calibrate_bayes(scenario, targets, priors, out=tmp_path / "post",
                                       particles=n, seed=5, jobs=1, progress=False)
    assert len([w for w in caught if issubclass(w.category, BoundWarning)]) == 1
    assert [p["at_bound"] for p in result.diagnostics["parameters"]] == ["high", None, None]
