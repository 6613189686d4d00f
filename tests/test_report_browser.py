"""The HTML report in a real browser: Debian's Chromium driven by Playwright (issue 6).

Opens each report from disk with every non-file request blocked, waits for the plots,
and checks that every figure drew, that nothing logged an error, that a comparison opens on
the region and segment its policy targets, and that the region, segment and per-figure
selectors change what is shown. Without /usr/bin/chromium the tests skip, unless
REQUIRE_BROWSER=1 (as in CI), when they fail. The fixtures ``browser`` and
``open_report`` are tests/browser_support.py's; test_report_kinds_browser.py checks every
other kind of report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import sim
from sim.report import write_report
from tests.browser_support import Page


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from sim.experiment.design import parse_range
    from sim.experiment.studies import sweep

    root = tmp_path_factory.mktemp("browser")
    small = {"replications": 2, "seed": 1, "months": 6, "jobs": 1, "progress": False}
    one = sim.run(["baseline"], out=root / "one", **small)
    two = sim.run(["baseline", "eu_blocks_open"], out=root / "two", **small)
    base = sim.load_scenario("baseline")
    params = [parse_range("world.network_effect=0.5:1.5", base),
              parse_range("segments.enterprise.switching_cost=0:3", base)]
    swept, _ = sweep(base, params, design="lhs", samples=4, base_id="baseline",
                     out=root / "sweep", **small)
    return {name: write_report(res.folder) for name, res in
            (("one", one), ("two", two), ("sweep", swept))}


@pytest.mark.parametrize("name", ["one", "two", "sweep"])
def test_every_figure_draws_offline_without_errors(reports: dict[str, Path], open_report: Any,
                                                   name: str) -> None:
    page = open_report(reports[name])
    assert page.expected >= 6
    assert page.drawn() == page.expected
    assert page.page.locator(".js-plotly-plot .main-svg").count() >= page.expected
    assert page.errors == []
    assert page.blocked == []  # nothing tried to reach the network


#: Where each report opens: the comparison on the region its policy targets (EU), the
#: others on the World; all on the enterprise market.
START = {"one": "World", "two": "EU", "sweep": "World"}


def _matches(meta: dict[str, Any], key: str, value: str) -> bool:
    got = meta.get(key, value)
    return got == value or (isinstance(got, list) and value in got)


@pytest.mark.parametrize("name", ["one", "two", "sweep"])
def test_region_selector_changes_what_is_shown(reports: dict[str, Path], open_report: Any,
                                               name: str) -> None:
    page = open_report(reports[name])
    start = START[name]
    other = "US" if start == "EU" else "EU"
    assert page.page.locator("#region-select").input_value() == start
    assert page.page.locator("#segment-select").input_value() == "enterprise"
    figures = range(page.expected)
    before = [page.shown(i) for i in figures if page.shown(i)["metas"]]
    assert before and all(_matches(m, "region", start) for b in before for m in b["metas"])
    assert all(_matches(m, "segment", "enterprise") for b in before for m in b["metas"])
    page.page.select_option("#region-select", other)
    page.settle()
    after = [page.shown(i) for i in figures if page.shown(i)["metas"]]
    assert len(after) == len(before)
    for old, new in zip(before, after, strict=True):
        assert other in new["title"] and other not in old["title"]
        assert all(_matches(m, "region", other) for m in new["metas"])
        assert new["visible"] != old["visible"]  # other traces are shown
    # and what is plotted differs (the first figure: HHI over time, or outcome vs parameter)
    assert after[0]["firstY"] and after[0]["firstY"] != before[0]["firstY"]
    if name != "sweep":
        table = "[data-region-table='{}'][data-segment-table='enterprise']"
        assert page.page.locator(table.format(other)).is_visible()
        assert not page.page.locator(table.format(start)).is_visible()
    assert page.errors == []


def _threshold_lines_visible(page: Page) -> int:
    return page.page.evaluate(
        """() => document.querySelectorAll('.js-plotly-plot')[0]._fullData.filter(
             t => t.visible === true && t.mode === 'lines+text').length""")


def test_segment_selector_and_outcome_select(reports: dict[str, Path], open_report: Any) -> None:
    page = open_report(reports["two"])
    hhi = page.shown(0)
    assert "HHI of the relevant market" in hhi["title"] and "enterprise" in hhi["title"]
    assert _threshold_lines_visible(page) == 3  # EU 2004 1,000 / 2,000 and US 2023 1,800
    page.page.select_option("#segment-select", "developer")
    page.settle()
    now = page.shown(0)
    assert "developer" in now["title"]
    assert {m.get("segment") for m in now["metas"] if "segment" in m} == {"developer"}
    assert now["firstY"] and now["firstY"] != hhi["firstY"]
    page.page.select_option("#segment-select", "all")
    page.settle()
    assert _threshold_lines_visible(page) == 0  # no relevant market, no thresholds
    assert page.page.locator("[data-region-table='EU'][data-segment-table='all']").is_visible()
    assert page.errors == []

    # a figure's own metric select switches the series, the title and the axis's unit
    box = page.page.locator("#openness .figure").first
    box.locator("select[data-dim='metric']").select_option("open_user_share")
    page.settle()
    axis = page.page.evaluate(
        """() => { const d = document.querySelector('#openness .js-plotly-plot');
                 return [d.layout.title.text, d.layout.yaxis.title.text]; }""")
    assert "Open-weights user share" in axis[0] and axis[1] == "% of adopters"
    assert page.errors == []

    sweep = open_report(reports["sweep"])
    before = sweep.shown(0)
    sweep.page.locator(".figure").first.locator("select[data-dim='metric']").select_option(
        "open_usage_share")
    sweep.settle()
    after = sweep.shown(0)
    assert "Open-weights usage share" in after["title"]
    assert {m["metric"] for m in after["metas"]} == {"open_usage_share"}
    assert after["firstY"] and after["firstY"] != before["firstY"]
    assert sweep.errors == []


def test_product_lines_firm_select(reports: dict[str, Path], open_report: Any) -> None:
    page = open_report(reports["two"])
    select = page.page.locator("#vendors select[data-dim='firm']")
    assert select.count() == 1
    firms = select.locator("option").all_inner_texts()
    assert "Google" in firms
    select.select_option("Google")
    page.settle()
    shown = page.page.evaluate(
        """() => { const divs = document.querySelectorAll('#vendors .js-plotly-plot');
                 const d = divs[divs.length - 1];
                 return [d.layout.title.text, d._fullData.filter(t => t.visible === true
                   && t.meta && t.meta.firm).map(t => [t.meta.firm, t.name, t.line.dash])]; }""")
    title, traces = shown
    assert "Google" in title
    assert traces and {f for f, _, _ in traces} == {"Google"}
    assert {dash for _, _, dash in traces} == {"solid", "dash"}  # Gemini closed, Gemma open
    assert page.errors == []
