"""HTML reports without a browser: escaping, reproducibility, structure, readings (issue 6).

Version 2: relevant-market HHI with thresholds, units from the metric table, the default
view on the compared policy's region, firms' shares from the firm table, product lines.
"""

from __future__ import annotations

import math
import re

import pandas as pd
import plotly.graph_objects as go
import pytest

import sim
from sim.errors import ScenarioError
from sim.experiment.results import Results
from sim.report import build_html, write_report
from sim.report.compact import expand
from sim.report.data import ReportData
from sim.report.labels import UNITS, plot_text, spec
from sim.report.selector import matches
from sim.report.tables import hhi_reading, segment_key_metrics

EVIL_NAME = "Evil </script><script>alert(2)</script> & co"
EVIL_DESCRIPTION = "Says <script>alert(1)</script> and <b>bold</b> & more"
EVIL_LABEL = "<img src=x onerror=alert(3)>"

EVIL_TOML = f'''
[scenario]
format_version = 2
name = "{EVIL_NAME}"
description = "{EVIL_DESCRIPTION}"
extends = "baseline"
months = 3

[[policies]]
kind = "ban_open_weights"
region = "EU"
start = "2024-02"
label = "{EVIL_LABEL}"
'''


@pytest.fixture(scope="module")
def evil_run(tmp_path_factory: pytest.TempPathFactory) -> Results:
    root = tmp_path_factory.mktemp("report")
    path = root / "evil.toml"
    path.write_text(EVIL_TOML, encoding="utf-8")
    return sim.run(["baseline", str(path)], replications=2, seed=3, months=3, jobs=1,
                   out=root / "out", progress=False)


@pytest.fixture(scope="module")
def evil_raw(evil_run: Results) -> str:
    """The report file as written (its tables, figures and CSV packed)."""
    return write_report(evil_run.folder).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def evil_html(evil_raw: str) -> str:
    """What the browser holds: the tables written out, the figures' JSON after the page."""
    return expand(evil_raw)


#: plotly.js as the page holds it (packed), or written out by expand().
PLOTLYJS = re.compile(r"<script type='(application/octet-stream|text/plain)' id='plotly-js'"
                      r"[^>]*>.*?</script>", re.S)


def _without_plotlyjs(html: str) -> str:
    return PLOTLYJS.sub("", html, count=1)


def test_scenario_text_shows_literally(evil_html: str) -> None:
    page = _without_plotlyjs(evil_html)
    assert "Says &lt;script&gt;alert(1)&lt;/script&gt; and &lt;b&gt;bold&lt;/b&gt; &amp; more" \
        in page
    assert "Evil &lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt; &amp; co" in page
    assert "&lt;img src=x onerror=alert(3)&gt;" in page  # the policy label, in the header
    for raw in ("<script>alert", "</script><script>", "<b>bold", "<img src=x", "alert(2)</"):
        assert raw not in page


def test_no_script_but_ours(evil_raw: str) -> None:
    page = evil_raw
    # plotly.js, the key figures' CSV, their tables and the figures, each packed (gzip +
    # base64); the figures' loader (which runs plotly.js) and the selector: nothing else runs
    assert re.findall(r"<script[^>]*>", page) == [
        "<script type='application/octet-stream' id='plotly-js' data-encoding='gzip+base64'>",
        "<script type='application/octet-stream' id='key-figures-csv' "
        "data-encoding='gzip+base64'>",
        "<script type='application/octet-stream' id='key-tables' data-encoding='gzip+base64'>",
        "<script type='application/octet-stream' id='marketsim-figures' "
        "data-encoding='gzip+base64'>",
        "<script type='text/javascript'>", "<script type='text/javascript'>"]
    assert page.count("</script>") == 6
    assert "<script src" not in page and "cdn.plot.ly" not in page
    for block in re.findall(r"<script type='application/octet-stream'[^>]*>(.*?)</script>",
                            page, re.S):
        assert re.fullmatch(r"[A-Za-z0-9+/=]+", block)  # base64 only: nothing can close it


def test_plotly_data_is_json_escaped(evil_html: str) -> None:
    page = _without_plotlyjs(evil_html)
    # Event details are Plotly data: HTML-escaped first (so Plotly shows them literally),
    # and in the figures' JSON any '<' or '>' would be \u003c / \u003e.
    assert "policy on: ban_open_weights: &lt;img src=x onerror=alert(3)&gt; (2 of 2 runs)" \
        in page
    assert "\\u003cbr\\u003epolicy on" in page
    assert plot_text("<b>x</b> {y}") == "&lt;b&gt;x&lt;/b&gt; &#123;y&#125;"


def test_plotlyjs_inlined_once(evil_raw: str, evil_html: str) -> None:
    from sim.report.plotly_js import packed_plotly_js, partial_bundle, plotly_js

    # a run report draws only scatter traces: the basic partial bundle, once, packed
    assert partial_bundle(frozenset({"scatter"})).name == "plotly-basic.min.js"
    assert evil_raw.count(packed_plotly_js(frozenset({"scatter"}))) == 1
    assert "* plotly.js" not in evil_raw  # nothing of it is plain text in the file
    assert evil_html.count(plotly_js(frozenset({"scatter"}))) == 1
    assert evil_html.count("plotly.js (basic - minified) v") == 1
    assert evil_html.count("* plotly.js") == 1


def test_rebuild_is_identical(evil_run: Results, evil_raw: str) -> None:
    again = write_report(evil_run.folder).read_bytes()
    assert again == evil_raw.encode("utf-8")
    fresh, _ = build_html(ReportData.from_folder(evil_run.folder))
    assert fresh == evil_raw


def test_run_has_six_figures_and_fixed_ids(evil_html: str) -> None:
    n = int(re.search(r"data-figures='(\d+)'", evil_html).group(1))
    assert n >= 6
    ids = re.findall(r"<div id='(fig-\d+)' class='plotly-graph-div'", evil_html)
    assert ids == [f"fig-{i}" for i in range(1, n + 1)]


def test_header_facts_come_from_the_manifest(evil_run: Results, evil_html: str) -> None:
    import json

    manifest = json.loads((evil_run.folder / "manifest.json").read_text())
    for key in ("created_at", "finished_at"):  # the run's times, not the build's
        shown = manifest[key].replace("T", " ").removesuffix("Z") + " UTC"
        assert shown in evil_html
    assert "<dd>2 per scenario (the scenarios&#x27; own values, no posterior)</dd>" in evil_html
    assert f"<dd>{manifest['seed']}, common random numbers</dd>" in evil_html
    assert f"<dt>Demand engine</dt><dd>{manifest['engine']} (" in evil_html  # which engine ran
    # what the second scenario changes from the first, as dotted paths
    assert "1 change from Baseline (v2)" in evil_html
    assert ("+ policies.&quot;&lt;img src=x onerror=alert(3)&gt;&quot; = {kind = "
            "&quot;ban_open_weights&quot;, label = &quot;&lt;img src=x onerror=alert(3)&gt;"
            "&quot;, region = &quot;EU&quot;") in evil_html


def test_key_figures_per_region_and_segment(evil_html: str) -> None:
    for region in ("World", "US", "EU", "CN", "RoW"):
        for segment in ("enterprise", "developer", "consumer", "all"):
            assert (f"data-region-table='{region}' data-segment-table='{segment}'"
                    in evil_html)
    # the table shown first is where the compared scenario's own policy acts (EU, not CN
    # where the baseline's first, historical policy acts), in the enterprise market
    shown = re.findall(r"data-region-table='(\w+)' data-segment-table='(\w+)'>", evil_html)
    assert shown == [("EU", "enterprise")]
    assert "<body data-figures" in evil_html and "data-region='EU'" in evil_html
    assert "data-segment='enterprise'" in evil_html
    assert "US 2023" in evil_html and "EU 2004" in evil_html
    # units come from the metric table
    assert "USD per month" in evil_html and UNITS["consumer_surplus_usd"] == "USD per month"
    for gone in ("consumer_welfare", "open_share", "price_mean", "Like a uniform price"):
        assert gone not in _without_plotlyjs(evil_html)
    assert "No relevant-market HHI for all segments together" in evil_html


def test_in_memory_results_to_html(tmp_path) -> None:
    res = sim.run(["baseline"], replications=2, seed=1, months=3, jobs=1)
    path = res.to_html(tmp_path / "r.html")
    html = path.read_text(encoding="utf-8")
    assert "in memory" in html
    assert int(re.search(r"data-figures='(\d+)'", html).group(1)) >= 6
    # one scenario: no policy to open on, so the World's enterprise market
    assert "data-region='World' data-segment='enterprise'" in html


def _shown(fig: go.Figure) -> list:
    return [t for t in fig.data if t.visible is not False]


def test_results_figure(evil_run: Results) -> None:
    fig = evil_run.figure("hhi_market", region="EU", segment="enterprise")
    assert isinstance(fig, go.Figure)
    shown = [t for t in _shown(fig) if isinstance(t.meta, dict) and "region" in t.meta]
    assert shown and all(t.meta["region"] == "EU" and t.meta["segment"] == "enterprise"
                         for t in shown if "segment" in t.meta)
    menu = fig.layout.updatemenus[0]
    assert [b.label for b in menu.buttons] == ["World", "US", "EU", "CN", "RoW"]
    assert "EU" in fig.layout.title.text and "enterprise" in fig.layout.title.text
    assert fig.layout.yaxis.title.text == spec("hhi_market").unit
    for kind in ("capability", "firm_shares", "product_lines", "price_paid", "gap_months",
                 "harm_usd"):
        assert len(evil_run.figure(kind).data) > 0
    with pytest.raises(ScenarioError):
        evil_run.figure("hhi")  # a version-1 name
    with pytest.raises(ScenarioError):
        evil_run.figure("hhi_market", region="Mars")


def _reference_lines(fig: go.Figure) -> set[float]:
    return {t.y[0] for t in fig.data if t.mode == "lines+text"}


def test_thresholds_only_on_the_relevant_market_hhi(evil_run: Results) -> None:
    fig = evil_run.figure("hhi_market", region="EU", segment="developer")
    assert _reference_lines(fig) == {1000.0, 1800.0, 2000.0}
    # the lines belong to the segments' markets, so segment "all" hides them
    lines = [t for t in fig.data if t.mode == "lines+text"]
    assert all("all" not in t.meta["segment"] and "developer" in t.meta["segment"]
               for t in lines)
    assert not matches(lines[0].meta, {"region": "EU", "segment": "all"})
    for other in ("hhi_revenue", "hhi_usage", "hhi_users", "cr1", "open_usage_share"):
        assert _reference_lines(evil_run.figure(other, region="EU")) == set()
    assert not fig.layout.shapes  # no layout-wide line that would show on "all"


def test_default_figure_view_and_region_level_metrics(evil_run: Results) -> None:
    from sim.report import figure

    fig = figure(evil_run, "gap_months")  # region-level: no segment dimension
    assert fig.layout.meta["dims"] == ["region"]
    regions = {t.meta["region"] for t in _shown(fig)
               if isinstance(t.meta, dict) and isinstance(t.meta.get("region"), str)}
    assert regions == {"EU"}  # where the compared scenario's own policy acts
    default = figure(evil_run, "hhi_market")  # opens on the compared policy's market
    assert "EU" in default.layout.title.text and "enterprise" in default.layout.title.text


def test_firm_shares_read_the_firm_table(evil_run: Results) -> None:
    data = ReportData.from_results(evil_run)
    shares = data.firm_shares("revenue")
    month = data.final_month
    for region in ("World", "EU"):
        total = shares.xs((evil_run.ids[0], region), level=("scenario", "region"))
        total = total.xs(month, level="month").sum()
        assert total == pytest.approx(1.0, abs=1e-9)
    # World shares come from the firm table's own World rows
    v = evil_run.vendors
    world = v[(v["region"] == "World") & (v["month"] == month)
              & (v["scenario"] == evil_run.ids[0])]
    per_rep = world["revenue"] / world.groupby("replication")["revenue"].transform("sum")
    expect = per_rep.groupby(world["vendor"]).mean()
    got = shares.xs((evil_run.ids[0], "World"), level=("scenario", "region")).xs(
        month, level="month")
    assert got["OpenAI"] == pytest.approx(expect["OpenAI"])
    assert 0 < got["OpenAI"] < 1
    fig = evil_run.figure("firm_shares", region="EU")
    assert {t.meta["measure"] for t in fig.data} == {"revenue", "usage"}


def test_product_lines_show_a_firms_open_and_closed_lines(evil_run: Results) -> None:
    data = ReportData.from_results(evil_run)
    assert "Google" in data.mixed_firms  # Gemini (closed) and Gemma (open)
    fig = evil_run.figure("product_lines", region="US", segment="developer", firm="Google")
    shown = [t for t in _shown(fig) if isinstance(t.meta, dict) and "firm" in t.meta]
    assert shown and {t.meta["firm"] for t in shown} == {"Google"}
    dashes = {t.name.split(" (")[0]: t.line.dash for t in shown}
    assert dashes.get("Gemini") == "solid"
    assert dashes.get("Gemma") == "dash"
    assert all(0 <= y <= 100 for t in shown for y in t.y if y == y)


def test_selector_rule() -> None:
    assert matches(None, {"region": "EU"})
    assert matches({"region": ["EU", "World"]}, {"region": "World", "segment": "all"})
    assert not matches({"region": "US", "segment": "all"}, {"region": "EU", "segment": "all"})
    assert matches({"region": "EU"}, {"region": "EU", "segment": "developer"})


def test_hhi_reading() -> None:
    assert hhi_reading(2600, 180, 120, 240) == (
        "US 2023: above the +100 screen in a highly concentrated market (HHI > 1,800) "
        "(whole 95 % CI above). EU 2004: above +150 with HHI > 2,000 (95 % CI straddles it).")
    assert "below +250 with HHI 1,000-2,000" in hhi_reading(1500, 120)
    assert "not highly concentrated" in hhi_reading(1500, 120)
    assert "falls" in hhi_reading(3000, -50)
    assert "undefined" in hhi_reading(math.nan, 10)


def test_segment_key_metrics() -> None:
    assert segment_key_metrics("enterprise")[0] == "hhi_market"
    assert "open_user_share" in segment_key_metrics("consumer")
    assert "open_usage_share" not in segment_key_metrics("consumer")
    assert {"consumer_surplus_usd", "harm_usd", "net_welfare_usd"} <= set(
        segment_key_metrics("all"))


def test_sensitivity_and_calibration_reports(tmp_path) -> None:
    from sim.experiment.calibration import Calibration, TargetsFile
    from sim.experiment.design import parse_range
    from sim.experiment.studies import sensitivity
    from sim.report import write_calibration_report

    base = sim.load_scenario("baseline")
    params = [parse_range("world.network_effect=0.5:1.5", base),
              parse_range("segments.enterprise.switching_cost=0:3", base)]
    res, _, _ = sensitivity(base, params, method="morris", samples=2, replications=1, seed=1,
                            months=3, jobs=1, out=tmp_path / "morris", progress=False)
    html = expand(write_report(res.folder).read_text(encoding="utf-8"))
    assert "Morris screening" in html and "Outcomes vs parameters" in html
    assert int(re.search(r"data-figures='(\d+)'", html).group(1)) >= 6

    targets = TargetsFile.model_validate({
        "targets": {"name": "t <i>x</i>", "description": "d"},
        "target": [{"name": "hhi_world", "metric": "hhi_market", "segment": "enterprise",
                    "month": 3, "value": 3000,
                    "tolerance": 300, "source": "<script>alert(4)</script>"}]})
    fit = pd.DataFrame([{"target": "hhi_world", "metric": "hhi_market", "region": "World",
                         "segment": "enterprise", "month": 3, "observed": 3000.0,
                         "tolerance": 300.0,
                         "fitted_mean": 3100.0, "fitted_ci_low": 3000.0,
                         "fitted_ci_high": 3200.0, "z": 1 / 3, "within": True,
                         "source": "<script>alert(4)</script>"}])
    evaluations = pd.DataFrame({"world.network_effect": [1.0, 1.1], "objective": [2.0, 0.11]})
    result = Calibration({"world.network_effect": 1.1}, 0.11, evaluations, fit,
                         base.with_overrides({"world.network_effect": 1.1}))
    out = tmp_path / "cal"
    out.mkdir()
    page = expand(_without_plotlyjs(write_calibration_report(out, result, targets)
                                    .read_text()))
    assert "&lt;script&gt;alert(4)&lt;/script&gt;" in page and "<script>alert" not in page
    assert "t &lt;i&gt;x&lt;/i&gt;" in page
    assert int(re.search(r"data-figures='(\d+)'", page).group(1)) == 3
