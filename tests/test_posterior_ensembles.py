"""Ensembles over the calibrated posterior (issue 19 part 1): draws, what they set, spreads."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from sim.errors import ScenarioError
from sim.experiment.posterior import choose_draws, draw_overrides, load_posterior
from sim.experiment.summary import draw_spread
from sim.replication import run_replications
from sim.scenario.loader import load_scenario

MONTHS = 3


@pytest.fixture(scope="module")
def ensemble() -> sim.Results:
    return sim.run(["baseline", "eu_blocks_open"], replications=2, seed=5, months=MONTHS,
                   jobs=1, posterior="baseline", draws=3, progress=False)


# --- reading a posterior ------------------------------------------------------------------


def _write(path: Path, frame: pd.DataFrame) -> Path:
    frame.to_parquet(path)
    return path


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_text("draw,weight\n0,1\n") and p, "not a readable Parquet file"),
    (lambda p: _write(p, pd.DataFrame({"weight": [1.0], "world.network_effect": [0.1]})),
     "not a posterior"),
    (lambda p: _write(p, pd.DataFrame({"draw": [0], "weight": [1.0]})), "not a posterior"),
    (lambda p: _write(p, pd.DataFrame({"draw": [0, 1], "weight": [0.5, 0.5],
                                       "world.network_effect": [0.1, np.nan]})),
     "must be finite"),
    (lambda p: _write(p, pd.DataFrame({"draw": [0, 1], "weight": [1.5, -0.5],
                                       "world.network_effect": [0.1, 0.2]})),
     "non-negative"),
], ids=["not_parquet", "no_draw_column", "no_parameter", "nan_value", "negative_weight"])
def test_a_malformed_posterior_is_one_clear_error(tmp_path: Path, make, message: str) -> None:
    path = make(tmp_path / "posterior.parquet")
    with pytest.raises(ScenarioError, match=message) as err:
        load_posterior(path)
    assert len(str(err.value).splitlines()) == 1


def test_an_unknown_posterior_names_the_shipped_ones() -> None:
    with pytest.raises(ScenarioError, match=r"no such posterior \(shipped: baseline"):
        load_posterior("nosuch")


def test_draws_are_chosen_by_their_own_seeded_stream() -> None:
    post = load_posterior("baseline")
    rows = choose_draws(post, 50, seed=3)
    assert len(set(rows.tolist())) == 50  # equal weights: without replacement
    assert (rows == choose_draws(post, 50, seed=3)).all()
    assert not (rows == choose_draws(post, 50, seed=4)).all()
    more = choose_draws(post, 2 * len(post.frame), seed=3)  # more than there are: by weight
    assert len(more) == 2 * len(post.frame) and more.max() < len(post.frame)


def test_a_draw_keeps_what_the_scenario_sets_itself() -> None:
    post = load_posterior("baseline")
    rows = choose_draws(post, 4, seed=1)
    strong = load_scenario("strong_network_effects")
    draws, kept = draw_overrides(strong, post, rows)
    assert "world.network_effect" in kept
    assert all("world.network_effect" not in d for d in draws)
    # a --set value is the scenario's own as well
    mine = load_scenario("baseline").with_overrides({"segments.enterprise.bass_q": 0.2})
    draws, kept = draw_overrides(mine, post, rows)
    assert kept == {"segments.enterprise.bass_q"}
    assert all(set(d) == set(post.paths) - kept for d in draws)
    assert [d["world.network_effect"] for d in draws] == \
        post.frame["world.network_effect"].iloc[rows].tolist()


# --- the ensemble ---------------------------------------------------------------------------


def test_every_world_is_a_draw_and_a_replication(ensemble: sim.Results) -> None:
    market = ensemble.market
    worlds = market.groupby("scenario")[["draw", "replication"]].apply(
        lambda t: sorted(set(map(tuple, t.to_numpy().tolist()))))
    assert worlds["baseline"] == worlds["eu_blocks_open"]  # paired, world by world
    assert len(worlds["baseline"]) == 6 and len({d for d, _ in worlds["baseline"]}) == 3
    for table in ("vendors", "products"):
        assert "draw" in getattr(ensemble, table).columns
    assert ensemble.posterior["draws"] == 3 and ensemble.posterior["replications_per_draw"] == 2


def test_a_batch_of_draws_equals_each_world_run_alone(ensemble: sim.Results) -> None:
    post = load_posterior("baseline")
    eu = load_scenario("eu_blocks_open")
    market = ensemble.market[ensemble.market["scenario"] == "eu_blocks_open"]
    for world in (0, 3, 5):
        row = market[market["replication"] == world].iloc[0]
        position = int(np.flatnonzero(post.frame["draw"] == row["draw"])[0])
        values = post.values(position)
        alone = run_replications(eu, 5, [world], "eu_blocks_open", months=MONTHS,
                                 draws=[int(row["draw"])], overrides=[values])["market"]
        mine = market[market["replication"] == world].reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, alone, check_exact=True)


def test_the_summary_keeps_the_kinds_of_spread_apart(ensemble: sim.Results) -> None:
    table = ensemble.summary(metrics=["hhi_market"])
    row = table[(table["scenario"] == "eu_blocks_open") & (table["region"] == "EU")
                & (table["segment"] == "enterprise")].iloc[0]
    assert row["draws"] == 3
    assert row["sd_stochastic"] >= 0 and row["sd_parametric"] >= 0
    assert np.isnan(row["sd_structural"])  # one run, one set of structural rules
    assert row["diff_p05"] <= row["diff_p50"] <= row["diff_p95"]
    assert 0 <= row["diff_share_positive"] + row["diff_share_negative"] <= 1
    # without a posterior there is one draw: no parametric spread, no sign share
    plain = sim.run(["baseline", "eu_blocks_open"], replications=2, seed=5, months=MONTHS,
                    jobs=1).summary(metrics=["hhi_market"])
    assert plain["sd_parametric"].isna().all() and plain["diff_share_positive"].isna().all()
    assert np.allclose(plain["sd_stochastic"], plain["sd"], equal_nan=True)


def test_draw_spread_matches_the_variance_decomposition() -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(0.0, 3.0, size=40)  # parametric sd 3
    worlds = centres.repeat(25) + rng.normal(0.0, 0.5, size=40 * 25)  # stochastic sd 0.5
    values = worlds[None, :, None]
    out = draw_spread(values, values, np.arange(40).repeat(25))
    within = np.mean([np.var(worlds[i * 25:(i + 1) * 25], ddof=1) for i in range(40)])
    assert out["sd_stochastic"][0, 0] == pytest.approx(np.sqrt(within))
    means = worlds.reshape(40, 25).mean(axis=1)
    expected = np.sqrt(np.var(means, ddof=1) - within / 25)
    assert out["sd_parametric"][0, 0] == pytest.approx(expected)
    assert out["diff_share_positive"][0, 0] == pytest.approx(np.mean(means > 0))
    assert out["diff_p50"][0, 0] == pytest.approx(np.median(means))


def test_a_folder_records_the_draws_and_resume_refuses_other_draws(tmp_path: Path) -> None:
    out = tmp_path / "run"
    sim.run("baseline", replications=2, seed=2, months=2, jobs=1, posterior="baseline",
            draws=2, out=out, progress=False)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["posterior"]["draws"] == 2 and len(manifest["posterior"]["draw_ids"]) == 2
    draws = pd.read_parquet(out / "draws.parquet")
    assert draws["draw"].tolist() == manifest["posterior"]["draw_ids"]
    assert "world.network_effect" in draws.columns
    assert sim.Results.from_folder(out).posterior["name"] == "baseline"
    with pytest.raises(ScenarioError, match="different posterior or number of draws"):
        # the same number of worlds (2 x 2 = 4 x 1), other draws
        sim.run("baseline", replications=1, seed=2, months=2, jobs=1, posterior="baseline",
                draws=4, out=out, resume=True, progress=False)


def test_draws_without_a_posterior_is_an_error() -> None:
    with pytest.raises(ScenarioError, match="draws needs a posterior"):
        sim.run("baseline", replications=1, months=1, draws=2)


# --- the command line ---------------------------------------------------------------------


def test_run_defaults_to_the_shipped_posterior_and_prints_the_headline(cli, tmp_path: Path
                                                                       ) -> None:
    result = cli("run", "baseline", "eu_blocks_open", "--months", 2, "--draws", 3, "-r", 1,
                 "-j", 1, "-o", tmp_path / "run", "--no-report")
    assert result.exit_code == 0, result
    assert "3 draws of the baseline posterior x 1 replications" in result.stdout
    headline = [line for line in result.stdout.splitlines() if line.startswith("headline:")]
    assert len(headline) == 1 and "EU enterprise" in headline[0]
    assert "over 3 posterior draws" in headline[0] and "of draws" in headline[0]
    summary = pd.read_csv(tmp_path / "run" / "summary.csv")
    assert (summary["draws"].dropna() == 3).all()


@pytest.mark.parametrize("args, message", [
    (("--posterior", "none", "--draws", "2"), "--draws needs a posterior"),
    (("--posterior", "nosuch"), "no such posterior"),
    (("--draws", "0"), "0"),
], ids=["draws_without_posterior", "unknown_posterior", "zero_draws"])
def test_bad_posterior_options_are_one_clear_line(cli, tmp_path: Path, args, message) -> None:
    result = cli("run", "baseline", "--months", 1, "-o", tmp_path / "x", *args)
    assert result.exit_code != 0, result
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert any(message in line for line in errors), result
    assert "Traceback" not in result.stderr + result.stdout
