"""marketsim robustness (issue 19 part 2): paired effects over uncertainties, and rules."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from sim.errors import ScenarioError
from sim.experiment.design import parse_range
from sim.experiment.discovery import cart_rules, feature_scores, inside_box, prim_rule
from sim.scenario.loader import load_scenario


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> sim.experiment.robustness.Robustness:
    out = tmp_path_factory.mktemp("robustness") / "study"
    vary = [parse_range("harm.misuse_premium=0:5", load_scenario("baseline"))]
    return sim.robustness("baseline", "eu_blocks_open", draws=4, month=30, vary=vary,
                          jobs=1, out=out, progress=False)


# --- scenario discovery on problems with a known answer -----------------------------------


def test_prim_recovers_a_known_box() -> None:
    rng = np.random.default_rng(11)
    x = pd.DataFrame(rng.uniform(size=(600, 4)), columns=["a", "b", "c", "d"])
    y = ((x.a > 0.6) & (x.b < 0.4)).to_numpy()
    rule = prim_rule(x, y, "in the box")
    assert rule.coverage >= 0.8 and rule.density >= 0.8
    assert set(rule.bounds) == {"a", "b"}
    assert rule.bounds["a"][0] == pytest.approx(0.6, abs=0.08) and rule.bounds["a"][1] is None
    assert rule.bounds["b"][1] == pytest.approx(0.4, abs=0.08) and rule.bounds["b"][0] is None
    # coverage and density are what the box says, recomputed from the data
    inside = inside_box(x, rule.bounds)
    assert rule.coverage == pytest.approx((inside & y).sum() / y.sum())
    assert rule.density == pytest.approx((inside & y).sum() / inside.sum())


def test_cart_recovers_a_box_with_a_category_and_is_reproducible() -> None:
    rng = np.random.default_rng(3)
    x = pd.DataFrame(rng.uniform(size=(500, 2)), columns=["a", "b"])
    x["scope"] = rng.choice(["global", "regional"], 500)
    y = ((x.a > 0.5) & (x.scope == "regional")).to_numpy()
    best = cart_rules(x, y, "o", seed=1)[0]
    assert best.bounds["scope"] == ["regional"] and best.coverage >= 0.8
    assert best.density >= 0.8
    assert cart_rules(x, y, "o", seed=1) == cart_rules(x, y, "o", seed=1)


def test_nothing_to_discover_when_every_world_agrees() -> None:
    x = pd.DataFrame({"a": np.linspace(0, 1, 50)})
    assert prim_rule(x, np.ones(50, dtype=bool), "o") is None
    assert cart_rules(x, np.zeros(50, dtype=bool), "o") == []


def test_feature_scores_rank_the_input_that_matters_first() -> None:
    rng = np.random.default_rng(5)
    x = pd.DataFrame(rng.uniform(size=(300, 3)), columns=["a", "b", "c"])
    x["scope"] = rng.choice(["global", "regional"], 300)
    effect = 3 * x.b + (x.scope == "regional") + rng.normal(0, 0.05, 300)
    scores = feature_scores(x, effect.to_numpy(), seed=0)
    assert scores.index[0] == "b" and scores.index[1] == "scope"
    assert scores.sum() == pytest.approx(1.0)


# --- the study --------------------------------------------------------------------------


def test_a_study_pairs_every_world_and_writes_its_files(study) -> None:
    table = study.table
    assert len(table) == 4 * 4  # 4 draws x 2 price scopes x 2 contributor effects, one policy
    assert sorted(table["world.price_scope"].unique()) == ["global", "regional"]
    assert sorted(table["contributors.capability_effect"].unique()) == ["off", "on"]
    assert "harm.misuse_premium" in study.inputs and "world.network_effect" in study.inputs
    outcome = "hhi_market.EU.enterprise"
    assert (table[outcome] == table[outcome]).all()  # every world has an effect
    row = study.effects[study.effects["outcome"] == outcome].iloc[0]
    assert row["p05"] <= row["median"] <= row["p95"]
    assert 0 <= row["share_positive"] <= 1
    assert {"median[world.price_scope=global]", "median[world.price_scope=regional]"} <= set(
        study.effects.columns)
    root = study.folder
    for name in ("robustness.parquet", "effects.csv", "feature_scores.csv", "rules.json",
                 "manifest.json"):
        assert (root / name).is_file(), name
    rules = json.loads((root / "rules.json").read_text())
    assert {r["outcome"] for r in rules} == set(study.effects["outcome"])
    for entry in rules:
        for box in entry["rules"]:
            assert 0 <= box["coverage"] <= 1 and 0 <= box["density"] <= 1 and box["text"]


def test_a_study_is_reproducible(study, tmp_path: Path) -> None:
    vary = [parse_range("harm.misuse_premium=0:5", load_scenario("baseline"))]
    again = sim.robustness("baseline", "eu_blocks_open", draws=4, month=30, vary=vary,
                           jobs=2, progress=False)
    pd.testing.assert_frame_equal(study.table, again.table, check_exact=True)


def test_policies_given_by_id_keep_their_values_and_names() -> None:
    """{id: scenario} (what the command passes, --set applied) is run as given."""
    ban = load_scenario("eu_blocks_open").with_overrides({"harm.misuse_premium": 3.0})
    found = sim.robustness(load_scenario("baseline"), {"ban": ban}, base_id="ref", draws=2,
                           month=2, jobs=1, progress=False)
    assert found.meta["ids"] == ["ref", "ban"]
    assert set(found.effects["policy"]) == {"ban"}


def test_a_study_needs_a_policy_and_an_uncertainty() -> None:
    with pytest.raises(ScenarioError, match="at least one policy"):
        sim.robustness("baseline", [], draws=4)
    with pytest.raises(ScenarioError, match="posterior or at least one --vary"):
        sim.robustness("baseline", "eu_blocks_open", posterior=None, draws=4)


def test_the_command_prints_rules_and_writes_a_report(cli, tmp_path: Path) -> None:
    out = tmp_path / "rob"
    result = cli("robustness", "baseline", "eu_blocks_open", "--draws", 3, "--month", 26,
                 "-j", 1, "-o", out)
    assert result.exit_code == 0, result
    assert "rules (PRIM first" in result.stdout and "hhi_market.EU.enterprise" in result.stdout
    html = (out / "report.html").read_text()
    assert "When the effect flips" in html and "coverage" in html.lower()
    rebuilt = cli("report", out)
    assert rebuilt.exit_code == 0, rebuilt


@pytest.mark.parametrize("args, message", [
    (("baseline",), "at least one policy"),
    (("baseline", "eu_blocks_open", "--vary", "world.nope=0:1"), "nope"),
    (("baseline", "eu_blocks_open", "--posterior", "nosuch"), "no such posterior"),
    (("baseline", "eu_blocks_open", "--draws", "1"), "1"),
], ids=["one_scenario", "unknown_vary_path", "unknown_posterior", "one_draw"])
def test_bad_input_is_one_clear_line(cli, tmp_path: Path, args, message) -> None:
    result = cli("robustness", *args, "--month", 2, "-o", tmp_path / "x")
    assert result.exit_code != 0, result
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert any(message in line for line in errors), result
    assert "Traceback" not in result.stderr + result.stdout


def test_an_interrupted_study_offers_no_resume(cli, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A study runs again rather than resumes, so the interrupt names no --resume command."""
    import sim.cli_app

    monkeypatch.setattr(sim.cli_app, "_FOLDER", [])
    result = cli("robustness", "baseline", "eu_blocks_open", "--draws", 2, "--month", 1,
                 "-j", 1, "-o", tmp_path / "r", "--no-report")
    assert result.exit_code == 0, result
    assert sim.cli_app.resume_hint(["robustness", "baseline", "eu_blocks_open"]) == ""
