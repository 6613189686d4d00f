"""Every kind of report in Chromium (issue 19): what a reader sees and can share.

Each kind (a run, a comparison over the posterior, five scenarios, a sweep, a sensitivity
study, a point calibration, a Bayesian calibration, a robustness study) is built small and
opened offline; every one must draw all its figures with no console error and no network
request, fit a 1280 px window without a horizontal scroll (tables scroll in their own
box), offer no upload to Plotly's cloud and weigh under 3.5 MB. The comparison over the
posterior then checks what an analyst relies on: the headline card against summary.csv,
the month select and deep links, the CSV download and the print layout.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import sim
from sim.report import write_report
from tests.conftest import FIXTURES

#: The largest report a reader should have to open (issue 19).
MAX_BYTES = 3.5e6
SMALL = {"seed": 2, "jobs": 1, "progress": False}


@pytest.fixture(scope="module")
def kinds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from sim.experiment.calibration import calibrate, load_targets
    from sim.experiment.design import parse_range
    from sim.experiment.studies import sensitivity, sweep
    from sim.report import write_calibration_report
    from sim.report.robustness import write_robustness_report

    root = tmp_path_factory.mktemp("kinds")
    base = sim.load_scenario("baseline")
    out: dict[str, Path] = {}
    one = sim.run(["baseline"], replications=2, months=6, out=root / "one", **SMALL)
    out["one"] = write_report(one.folder)
    # months 14: the table offers month 12 and the final month; the ban from 2024-07, so
    # that it acts within them (paired worlds are identical until it does)
    early = sim.load_scenario("eu_blocks_open").with_overrides(
        {"policies.EU bans open weights.start": "2024-07"})
    ensemble = sim.run({"baseline": base, "eu_blocks_open": early}, posterior="baseline",
                       draws=4, replications=1, months=14, engine="expected",
                       out=root / "ensemble", **SMALL)
    out["ensemble"] = write_report(ensemble.folder)
    five = ["baseline", "eu_blocks_open", "us_china_decoupling", "no_ai_act",
            "strong_network_effects"]
    many = sim.run(five, replications=1, months=4, out=root / "five", **SMALL)
    out["five"] = write_report(many.folder)
    params = [parse_range("world.network_effect=0.5:1.5", base)]
    swept, _ = sweep(base, params, design="lhs", samples=3, replications=1, months=4,
                     base_id="baseline", out=root / "sweep", **SMALL)
    out["sweep"] = write_report(swept.folder)
    sens, _, _ = sensitivity(base, params, method="morris", samples=2, replications=1,
                             months=4, out=root / "sensitivity", **SMALL)
    out["sensitivity"] = write_report(sens.folder)
    year = base.with_overrides({"scenario.months": 12})
    targets = FIXTURES / "targets" / "good.toml"
    fitted = calibrate(year, load_targets(targets, year), params, replications=1,
                       max_evaluations=2, jobs=1, progress=False, out=root / "calibration")
    out["calibration"] = write_calibration_report(root / "calibration", fitted,
                                                  load_targets(targets, year))
    out["posterior"] = _bayes_report(root / "bayes")
    vary = [parse_range("harm.misuse_premium=0:5", base)]
    sim.robustness("baseline", "eu_blocks_open", draws=4, month=6, vary=vary, jobs=1,
                   out=root / "robustness", progress=False)
    out["robustness"] = write_robustness_report(root / "robustness")
    return out


def _bayes_report(folder: Path) -> Path:
    from sim.experiment import bayes
    from sim.experiment.calibration import load_targets
    from sim.experiment.priors import load_priors
    from sim.report.posterior import write_posterior_report

    scenario = sim.load_scenario("baseline")
    targets = load_targets(FIXTURES / "targets" / "good.toml", scenario)
    priors = load_priors(FIXTURES / "priors" / "good.toml", scenario)
    bayes.calibrate_bayes(scenario, targets, priors, out=folder, particles=8, seed=5, jobs=1,
                          progress=False)
    return write_posterior_report(folder)


KINDS = ["one", "ensemble", "five", "sweep", "sensitivity", "calibration", "posterior",
         "robustness"]


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_draws_offline_fits_the_window_and_stays_small(
        kinds: dict[str, Path], open_report: Any, kind: str) -> None:
    path = kinds[kind]
    assert path.stat().st_size < MAX_BYTES
    page = open_report(path)
    assert page.expected >= 1 and page.drawn() == page.expected
    assert page.errors == [] and page.blocked == []
    # no horizontal scroll of the page at 1280 px (a wide table scrolls in its own box)
    assert page.page.evaluate("document.documentElement.scrollWidth") <= 1280
    # the mode bar offers a PNG and zoom, never an upload to Plotly's cloud
    titles = page.page.evaluate(
        "Array.from(document.querySelectorAll('.modebar-btn'))"
        ".map(b => b.getAttribute('data-title') || '')")
    assert titles and "Download plot as a PNG" in titles
    assert not [t for t in titles if re.search(r"share|cloud|chart studio|edit", t, re.I)]


def _number(text: str) -> float:
    """The first signed number in ``text`` ('+30 HHI points' -> 30.0)."""
    match = re.search(r"[+-]?\d[\d,]*(?:\.\d+)?", text)
    assert match, text
    return float(match.group(0).replace(",", ""))


def test_the_headline_card_matches_the_summary_and_the_table(kinds: dict[str, Path],
                                                             open_report: Any) -> None:
    folder = kinds["ensemble"].parent
    summary = pd.read_csv(folder / "summary.csv")
    want = summary[(summary["metric"] == "hhi_market") & (summary["region"] == "EU")
                   & (summary["segment"] == "enterprise")
                   & (summary["scenario"] == "eu_blocks_open")].iloc[-1]
    tolerance = 0.06 * abs(want["diff_p95"] - want["diff_p05"]) + 1.0  # its rounding
    page = open_report(kinds["ensemble"])
    card = page.page.locator("#headline").inner_text()
    assert "EU enterprise" in card and "posterior draws" in card
    assert math.isclose(_number(card.split(": ", 1)[1]), want["diff_p50"], abs_tol=tolerance)
    assert f"above zero in {want['diff_share_positive']:.0%}" in card
    # the table shown first is the headline's cell; the compared scenario's HHI row ends
    # with the final month's effect: the card's number and sign share
    table = page.page.locator("[data-region-table]:not([hidden])")
    assert table.count() == 1
    assert table.get_attribute("data-region-table") == "EU"
    assert table.get_attribute("data-segment-table") == "enterprise"
    heads = table.locator("thead th").all_inner_texts()
    assert heads[3].startswith("Effect, 2025-01") and heads[-2].startswith("Effect, 2025-03")
    row = table.locator("tbody tr").nth(1)
    assert row.locator("td.scenario").inner_text() == "EU blocks open-weights models"
    cell = row.locator("td.num").last.inner_text()
    assert math.isclose(_number(cell), want["diff_p50"], abs_tol=tolerance), cell
    assert f"> 0 in {want['diff_share_positive']:.0%} of draws" in cell
    assert page.errors == []


def _state(page: Any) -> dict[str, Any]:
    return page.page.evaluate(
        """() => ({hash: location.hash,
                   selects: ['region', 'segment'].map(
                     d => document.querySelector(`select[data-dim=${d}]`).value),
                   tables: Array.from(document.querySelectorAll('[data-region-table]'))
                     .filter(t => !t.hidden).map(t => [t.dataset.regionTable,
                       t.dataset.segmentTable]),
                   title: document.querySelectorAll('.js-plotly-plot')[0].layout.title.text})""")


def test_a_deep_link_restores_the_selects_and_a_change_writes_the_address(
        kinds: dict[str, Path], open_report: Any) -> None:
    path = kinds["ensemble"]
    page = open_report(path, fragment="#region=US&segment=developer")
    state = _state(page)
    assert state["selects"] == ["US", "developer"]
    assert state["tables"] == [["US", "developer"]]
    assert "US" in state["title"] and "developer" in state["title"]
    page.page.select_option("select[data-dim=segment]", "consumer")
    page.settle()
    state = _state(page)
    assert state["tables"] == [["US", "consumer"]] and "consumer" in state["title"]
    assert state["hash"] == "#region=US&segment=consumer"
    # a value the report does not have keeps the report's own choice
    odd = open_report(path, fragment="#region=Mars&segment=enterprise")
    assert _state(odd)["selects"] == ["EU", "enterprise"]
    # a section link is not a state
    section = open_report(path, fragment="#prices")
    assert _state(section)["selects"] == ["EU", "enterprise"]
    assert page.errors == [] and odd.errors == [] and section.errors == []


def test_the_csv_download_is_the_key_figures(kinds: dict[str, Path], open_report: Any,
                                             tmp_path: Path) -> None:
    from sim.report.data import ReportData
    from sim.report.keytable import CSV_COLUMNS, key_figures_csv

    page = open_report(kinds["ensemble"])
    with page.page.expect_download() as info:
        page.page.locator("button[data-download]").click()
    download = info.value
    assert download.suggested_filename == "key-figures.csv"
    saved = tmp_path / "key.csv"
    download.save_as(saved)
    text = saved.read_text(encoding="utf-8")
    assert text == key_figures_csv(ReportData.from_folder(kinds["ensemble"].parent))
    table = pd.read_csv(saved)
    assert tuple(table.columns) == CSV_COLUMNS
    assert set(table["month"]) == {12, 14} and set(table["region"]) >= {"EU", "US", "World"}
    assert page.errors == []


def test_print_hides_the_controls_and_keeps_the_figures(kinds: dict[str, Path],
                                                        open_report: Any) -> None:
    page = open_report(kinds["ensemble"])
    page.page.emulate_media(media="print")
    shown = page.page.evaluate(
        """() => [getComputedStyle(document.querySelector('nav.toolbar')).display,
                  getComputedStyle(document.querySelector('.table-controls')).display,
                  getComputedStyle(document.querySelector('.figure')).display]""")
    assert shown[:2] == ["none", "none"] and shown[2] != "none"


def test_scenarios_differ_in_colour_and_dash(kinds: dict[str, Path], open_report: Any) -> None:
    from sim.report.figures import scenario_style

    page = open_report(kinds["five"])
    lines = page.page.evaluate(
        """() => document.querySelectorAll('.js-plotly-plot')[0]._fullData
             .filter(t => t.visible === true && t.legendgroup && t.showlegend
                     && t.line && t.line.width > 1)
             .map(t => [t.line.color, t.line.dash])""")
    assert lines == [list(scenario_style(i)) for i in range(5)]
    assert len({c for c, _ in lines}) == 5
    # five scenarios: a row each, so the table grows down, not across the page; were it
    # wider than its box it would scroll there, with the metric column kept in view
    wrap = page.page.locator("[data-region-table]:not([hidden])")
    assert wrap.locator("tbody tr").count() >= 5 * 5
    assert wrap.evaluate("w => getComputedStyle(w).overflowX") == "auto"
    assert wrap.evaluate("w => getComputedStyle(w.querySelector('tbody th')).position") \
        == "sticky"
    assert page.page.evaluate("document.documentElement.scrollWidth") <= 1280
    assert page.errors == []


def test_the_plotted_lines_are_the_results(kinds: dict[str, Path], open_report: Any) -> None:
    """What Chromium draws (after the block's coding) is the mean over the worlds."""
    folder = kinds["ensemble"].parent
    market = pd.read_parquet(folder / "market.parquet",
                             columns=["scenario", "month", "region", "segment", "hhi_market"])
    cell = market[(market["region"] == "EU") & (market["segment"] == "enterprise")]
    page = open_report(kinds["ensemble"])
    lines = page.page.evaluate(
        """() => document.querySelectorAll('.js-plotly-plot')[0]._fullData
             .filter(t => t.visible === true && t.showlegend && t.line && t.line.width > 1)
             .map(t => Array.from(t.y))""")
    assert len(lines) == 2
    for sid, drawn in zip(["baseline", "eu_blocks_open"], lines, strict=True):
        want = cell[cell["scenario"] == sid].groupby("month")["hhi_market"].mean().to_numpy()
        assert len(drawn) == len(want)
        assert max(abs(d - w) / abs(w) for d, w in zip(drawn, want, strict=True)) < 3e-4
