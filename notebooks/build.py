"""Generate the tutorial notebooks from the cell sources below.

The notebooks are committed without outputs or execution counts and with fixed cell ids,
so a diff shows only what changed in the text. Edit this file, then run

    .venv/bin/python notebooks/build.py          # rewrite notebooks/*.ipynb
    .venv/bin/python notebooks/build.py --check  # exit 1 if a notebook is out of date

``tests/test_notebooks.py`` checks that the committed notebooks equal this script's output
and executes each one top to bottom.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def md(text: str) -> tuple[str, str]:
    """A markdown cell."""
    return "markdown", textwrap.dedent(text).strip("\n")


def code(text: str) -> tuple[str, str]:
    """A code cell."""
    return "code", textwrap.dedent(text).strip("\n")


# --------------------------------------------------------------------------- 01 quick start

QUICKSTART = [
    md("""
    # Quick start: run, compare and plot scenarios from Python

    **What this notebook teaches.** How to

    1. find and load the shipped scenarios (`sim.shipped_scenarios`, `sim.load_scenario`) and
       look inside one;
    2. change parameters without editing a file (`Scenario.with_overrides` with dotted paths);
    3. run replications of several scenarios with common random numbers (`sim.run`), on a
       process pool;
    4. read the summary table: means, confidence intervals and **paired differences** against
       the first scenario;
    5. draw the report's Plotly figures inline (`Results.figure`) and your own from the tidy
       tables, and write the HTML report;
    6. write and reopen a results folder, check that parallel runs are reproducible, and step a
       model month by month (`sim.MarketModel`).

    The number of replications comes from the environment variable
    `MARKETSIM_NB_REPLICATIONS` (default 20; the test suite uses 3), so the same notebook is a
    quick check or a real answer. Everything is found through the package and written to a
    temporary folder, so the notebook works from any working directory.
    """),
    code("""
    import os
    import tempfile
    from pathlib import Path

    import pandas as pd
    import plotly.graph_objects as go

    import sim

    REPLICATIONS = int(os.environ.get("MARKETSIM_NB_REPLICATIONS", "20"))
    OUT = Path(tempfile.mkdtemp(prefix="marketsim-quickstart-"))
    pd.set_option("display.width", 140)
    print(f"marketsim {sim.__version__}: {REPLICATIONS} replications per scenario; "
          f"files go to {OUT}")
    """),
    md("""
    ## 1. Shipped scenarios

    Scenarios are TOML files installed with the package. `sim.shipped_scenarios()` maps each
    name to its file, and `sim.load_scenario` takes a name or a path and resolves `extends`
    (a scenario is usually a change to its parent rather than a copy of it).
    """),
    code("""
    rows = []
    for name in sim.shipped_scenarios():
        scenario = sim.load_scenario(name)
        rows.append({"name": name, "title": scenario.scenario.name,
                     "policies": ", ".join(p.kind for p in scenario.policies)})
    pd.DataFrame(rows)
    """),
    md("""
    A `Scenario` is a frozen (immutable) pydantic model that mirrors the TOML file: tables
    are attributes, and regions, segments and vendors are lists of named items.
    """),
    code("""
    base = sim.load_scenario("baseline")
    ban = sim.load_scenario("eu_blocks_open")
    print(f"{base.scenario.name}: starts {base.scenario.start}, {base.scenario.months} months")
    print("regions: ", base.region_names)
    print("segments:", base.segment_names)
    pd.DataFrame([{"vendor": v.name, "home": v.home, "openness": v.openness,
                   "capability": v.capability, "strategy": v.strategy} for v in base.vendors])
    """),
    code("""
    print(ban.scenario.description)
    ban.policies[-1]          # the policy eu_blocks_open adds to the baseline
    """),
    md("""
    ## 2. Change parameters with `with_overrides`

    Dotted paths name any field; named items are addressed by name
    (`segments.enterprise.switching_cost`, `vendors.Meta.openness`,
    `regions.EU.adopters.consumer`). The same paths work with `marketsim run --set`, in sweeps
    and in calibration. `with_overrides` returns a new, validated scenario and leaves the
    original alone.
    """),
    code("""
    ban_sticky = ban.with_overrides({
        "world.network_effect": 1.2,                # network effects four times the baseline
        "segments.enterprise.switching_cost": 3.0,  # enterprises twice as sticky
    })
    print("network effect:", ban.world.network_effect, "->", ban_sticky.world.network_effect)
    """),
    md("A wrong path or value is a `sim.ScenarioError` that names it and suggests a fix:"),
    code("""
    for bad in ({"world.network_efect": 1.2}, {"world.network_effect": -1}):
        try:
            ban.with_overrides(bad)
        except sim.ScenarioError as err:
            print("ScenarioError:", err)
    """),
    md("""
    ## 3. Run replications

    `sim.run` runs `replications` replications of each scenario. Passing a dict chooses the
    scenario ids; the first scenario is the reference the others are compared with. With
    `jobs=2` the replications run on a pool of two worker processes; the results are the same
    bit for bit whatever the number of workers.
    """),
    code("""
    res = sim.run({"baseline": base, "eu_ban": ban, "eu_ban_sticky": ban_sticky},
                  replications=REPLICATIONS, seed=7, jobs=2)
    print(res, f"ran in {res.run_seconds:.1f} s")
    """),
    md("""
    `res.market` is a tidy table: one row per scenario, replication, month, region and
    segment, with `World` and `all` rows aggregating regions and segments. `res.vendors` and
    `res.events` hold per-vendor rows and events (policy switches, withdrawals, entries, ...).
    """),
    code("""
    print(list(res.market.columns))
    res.market.head()
    """),
    code("""
    res.events.drop_duplicates(["scenario", "kind", "detail"]).head(10)
    """),
    md("""
    ## 4. The summary table

    `res.summary()` has one row per scenario, region, segment and metric at the final month
    (or at `month=`): the mean over replications with its 95 % confidence interval
    (`ci_low`, `ci_high`), the 5-95 % spread across replications (`p05`, `p95`), and for every
    scenario but the first the **paired difference** from the first (`diff_mean`,
    `diff_ci_low`, `diff_ci_high`). `summary.csv` in a results folder is the same table.
    """),
    code("""
    KEY = ["hhi", "open_share", "price_mean", "consumer_welfare"]
    summary = res.summary(metrics=KEY)
    eu = summary[(summary["region"] == "EU") & (summary["segment"] == "all")]
    eu[["scenario", "metric", "mean", "ci_low", "ci_high",
        "diff_mean", "diff_ci_low", "diff_ci_high"]]
    """),
    md("""
    ## 5. Paired differences and common random numbers

    Replication *i* of every scenario uses the same random streams (**common random
    numbers**): the same adopters reconsider, the same entrants arrive, the same communities
    switch. A scenario's difference from the reference in replication *i* is therefore due to
    the scenario, not to luck, and the paired difference (mean of the per-replication
    differences) has a much narrower confidence interval than the difference of two
    independent means. Here it is by hand:
    """),
    code("""
    market = res.market
    final = market[(market["month"] == res.final_month()) & (market["region"] == "EU")
                   & (market["segment"] == "all")]
    hhi = final.pivot(index="replication", columns="scenario", values="hhi")
    paired = hhi["eu_ban"] - hhi["baseline"]
    print(f"EU HHI at month {res.final_month()}: baseline {hhi['baseline'].mean():.0f}, "
          f"EU ban {hhi['eu_ban'].mean():.0f}")
    print(f"spread across replications (sd): baseline {hhi['baseline'].std():.1f}, "
          f"EU ban {hhi['eu_ban'].std():.1f}")
    print(f"paired difference: mean {paired.mean():+.1f}, sd {paired.std():.1f}")
    row = eu[(eu["scenario"] == "eu_ban") & (eu["metric"] == "hhi")].iloc[0]
    assert abs(row["diff_mean"] - paired.mean()) <= 1e-6 * max(1.0, abs(paired.mean()))
    print(f"summary: diff_mean {row['diff_mean']:+.1f}, "
          f"95 % CI [{row['diff_ci_low']:+.1f}, {row['diff_ci_high']:+.1f}]")
    """),
    md("""
    ## 6. Figures

    `res.figure(metric, region=..., segment=...)` returns the report's Plotly figure: lines
    are means over replications, bands the 5-95 % spread across replications (the model's
    randomness at fixed parameters, not parameter uncertainty), and a dropdown switches the
    region. Metrics are listed in `res.market.columns`; `capability`, `contributors` and
    `vendor_shares` are figures too.
    """),
    code("""
    res.figure("hhi", region="EU")
    """),
    code("""
    res.figure("open_share", region="EU", segment="enterprise")
    """),
    code("""
    res.figure("vendor_shares", region="EU")
    """),
    md("""
    The tables are plain pandas, so any other figure is a few lines. The paired difference of
    the EU's HHI over time, with its 95 % confidence interval:
    """),
    code("""
    months = list(range(0, res.final_month() + 1, 3))
    over_time = res.summary(month=months, metrics=["hhi"])
    cells = over_time[(over_time["region"] == "EU") & (over_time["segment"] == "all")
                      & (over_time["scenario"] != res.ids[0])]
    fig = go.Figure()
    for sid, part in cells.groupby("scenario", sort=False):
        fig.add_scatter(x=part["month"], y=part["diff_mean"], name=sid, mode="lines+markers",
                        error_y={"type": "data", "symmetric": False,
                                 "array": part["diff_ci_high"] - part["diff_mean"],
                                 "arrayminus": part["diff_mean"] - part["diff_ci_low"]})
    fig.update_layout(title="EU HHI minus baseline (paired, 95 % CI)", xaxis_title="month",
                      yaxis_title="HHI difference", height=420)
    fig
    """),
    md("""
    ## 7. HTML report and results folders

    `res.to_html(path)` writes the same self-contained report as `marketsim run`. With
    `out=`, `sim.run` writes a results folder (`manifest.json`, `scenarios/<id>.toml`, the
    Parquet tables, `summary.csv`), exactly as
    `marketsim run baseline eu_blocks_open -r N --seed 7 --months 24 -o DIR` would, and
    `sim.Results.from_folder` opens one again.
    """),
    code("""
    page = res.to_html(OUT / "quickstart.html")
    print(page, f"{page.stat().st_size / 1e6:.1f} MB")
    """),
    code("""
    folder = OUT / "run"
    sim.run(["baseline", "eu_blocks_open"], replications=REPLICATIONS, seed=7, months=24,
            jobs=2, out=folder)
    print(sorted(p.name for p in folder.iterdir()))
    reopened = sim.Results.from_folder(folder)
    print(reopened)
    pd.read_csv(folder / "summary.csv").head()
    """),
    md("""
    ## 8. Parallel runs are reproducible, whatever the executor

    A replication is a function of the scenario, the seed and the replication number only,
    and tasks travel to workers as plain data (the scenario as TOML text), so any
    `concurrent.futures.Executor` works: the default process pool, a pool that *spawns* its
    workers (the default on macOS and Windows), or a Dask cluster's executor. The results are
    identical:
    """),
    code("""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    serial = sim.run(["baseline", "eu_blocks_open"], replications=2, seed=3, months=12, jobs=1)
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=spawn) as pool:
        spawned = sim.run(["baseline", "eu_blocks_open"], replications=2, seed=3, months=12,
                          executor=pool)
    pd.testing.assert_frame_equal(serial.market, spawned.market)
    pd.testing.assert_frame_equal(serial.vendors, spawned.vendors)
    print("one process and a spawned pool of two give identical tables")
    """),
    md("""
    ## 9. Step a model yourself

    `sim.MarketModel` is a `mesa.Model`. `step()` advances one month and `metrics()` returns
    this month's metrics, one row per region and segment; `results()` returns the tidy
    tables of the months run so far.
    """),
    code("""
    model = sim.MarketModel(ban, seed=1)
    for _ in range(12):
        model.step()
    now = model.metrics()
    now[now["segment"] == "all"][["month", "date", "region", "hhi", "open_share", "price_mean"]]
    """),
    md("""
    ## Next

    - `02_explore.ipynb`: widgets to try parameter values, a sweep and a sensitivity analysis;
    - `03_build_a_scenario.ipynb`: write a scenario in Python, save it as TOML and run it from
      the command line;
    - `docs/guide.md`: the user guide, for the command line and for notebooks.
    """),
]


# --------------------------------------------------------------------------- 02 explore

EXPLORE = [
    md("""
    # Explore: widgets, a parameter sweep and a sensitivity analysis

    **What this notebook teaches.** How to

    1. build a what-if panel with ipywidgets: sliders and dropdowns for the network effect,
       switching costs, an EU compliance cost, an EU open-source subsidy and the start of an
       EU ban on open-weights models; every change re-runs a small experiment against the
       baseline and redraws the Plotly figure in place;
    2. run a parameter sweep from Python (`sim.experiment.studies.sweep`) and draw its
       figures;
    3. run a global sensitivity analysis (Sobol indices with SALib,
       `sim.experiment.studies.sensitivity`) and read it.

    Runs are kept small: a 36-month horizon, `MARKETSIM_NB_REPLICATIONS` replications
    (default 6) for the panel and half as many (at least 2) per design point, and
    `MARKETSIM_NB_SAMPLES` design points (default 16). Raise them for real answers. The
    widgets need a live notebook front end (JupyterLab, Notebook 7, VS Code); executed
    without one, the panel runs once with its initial values.
    """),
    code("""
    import os
    import tempfile
    import time
    from pathlib import Path

    import ipywidgets as widgets
    import pandas as pd
    from IPython.display import display

    import sim
    from sim.scenario.schema import BanOpenWeights, ComplianceCost, OpenSourceSubsidy

    REPLICATIONS = int(os.environ.get("MARKETSIM_NB_REPLICATIONS", "6"))
    STUDY_REPLICATIONS = max(2, REPLICATIONS // 2)
    SAMPLES = int(os.environ.get("MARKETSIM_NB_SAMPLES", "16"))
    MONTHS = 36
    OUT = Path(tempfile.mkdtemp(prefix="marketsim-explore-"))
    pd.set_option("display.width", 140)

    base = sim.load_scenario("baseline").with_overrides({"scenario.months": MONTHS})
    print(f"{base.scenario.name}: {base.scenario.start} + {MONTHS} months; "
          f"{REPLICATIONS} replications per run; files go to {OUT}")
    """),
    md("""
    ## 1. A what-if panel

    `make_scenario` turns the panel's values into a scenario: the network effect and the
    segments' switching costs are overrides, the EU policies are schema models appended to the
    baseline's policies. `with_overrides` validates the result.
    """),
    code("""
    def make_scenario(network_effect, switching, compliance, subsidy, ban_start):
        \"\"\"The baseline with the panel's values.

        switching multiplies every segment's switching cost; compliance and subsidy are in
        USD million a month; ban_start is a month ('YYYY-MM') or 'none'.
        \"\"\"
        overrides = {"world.network_effect": network_effect}
        for segment in base.segments:
            overrides[f"segments.{segment.name}.switching_cost"] = (
                segment.switching_cost * switching)
        policies = list(base.policies)
        if compliance > 0:
            policies.append(ComplianceCost(kind="compliance_cost", region="EU",
                                           start="2025-08", fixed=compliance * 1e6,
                                           label="EU compliance cost"))
        if subsidy > 0:
            policies.append(OpenSourceSubsidy(kind="open_source_subsidy", region="EU",
                                              start="2026-01", budget=subsidy * 1e6,
                                              recipients="both",
                                              label="EU open-source subsidy"))
        if ban_start != "none":
            policies.append(BanOpenWeights(kind="ban_open_weights", region="EU",
                                           start=ban_start,
                                           label="EU bans open-weights models"))
        overrides["policies"] = policies
        return base.with_overrides(overrides)
    """),
    code("""
    wide = {"style": {"description_width": "240px"}, "layout": widgets.Layout(width="560px")}
    controls = {
        "network_effect": widgets.FloatSlider(
            value=base.world.network_effect, min=0.0, max=2.0, step=0.05,
            description="network effect (world.network_effect)", continuous_update=False,
            **wide),
        "switching": widgets.FloatSlider(
            value=1.0, min=0.0, max=4.0, step=0.25,
            description="switching costs (x baseline)", continuous_update=False, **wide),
        "compliance": widgets.FloatSlider(
            value=0.0, min=0.0, max=20.0, step=0.5,
            description="EU compliance cost (USD M/month)", continuous_update=False, **wide),
        "subsidy": widgets.FloatSlider(
            value=0.0, min=0.0, max=500.0, step=25.0,
            description="EU open-source subsidy (USD M/month)", continuous_update=False,
            **wide),
        "ban_start": widgets.Dropdown(
            options=[("no ban", "none"), ("2026-01", "2026-01"), ("2026-07", "2026-07"),
                     ("2027-01", "2027-01"), ("2027-07", "2027-07"), ("2028-01", "2028-01")],
            value="2026-01", description="EU open-weights ban from", **wide),
    }
    metric = widgets.Dropdown(
        options=[("HHI (concentration)", "hhi"), ("open-weights share", "open_share"),
                 ("mean price", "price_mean"), ("consumer welfare", "consumer_welfare")],
        value="hhi", description="outcome")
    region = widgets.Dropdown(options=["EU", "US", "CN", "RoW", "World"], value="EU",
                              description="region")
    status = widgets.HTML()
    output = widgets.Output()
    state = {"results": None}


    def redraw(_=None):
        \"\"\"Show the chosen outcome of the last run (no re-run).\"\"\"
        res = state["results"]
        if res is None:
            return
        table = res.summary(metrics=[metric.value])
        row = table[(table["scenario"] == "what_if") & (table["region"] == region.value)
                    & (table["segment"] == "all")].iloc[0]
        figure = res.figure(metric.value, region=region.value)
        text = (f"what-if minus baseline at month {res.final_month()}: "
                f"{row['diff_mean']:+.4g} (95 % CI {row['diff_ci_low']:+.4g} to "
                f"{row['diff_ci_high']:+.4g}), paired over {res.replications} replications")
        # One assignment replaces the figure and the text in place. (Capturing with
        # `with output:` works in a browser too, but can stall headless runs with nbclient.)
        output.outputs = (
            {"output_type": "display_data", "data": figure._repr_mimebundle_(),
             "metadata": {}},
            {"output_type": "stream", "name": "stdout", "text": text + "\\n"},
        )


    def rerun(_=None):
        \"\"\"Re-run the baseline and the what-if scenario, then redraw.\"\"\"
        values = {name: control.value for name, control in controls.items()}
        status.value = "<i>running...</i>"
        try:
            scenario = make_scenario(**values)
        except sim.ScenarioError as err:
            status.value = f"<b>invalid:</b> {err}"
            return
        res = sim.run({"baseline": base, "what_if": scenario}, replications=REPLICATIONS,
                      seed=11, jobs=1)
        state["results"] = res
        status.value = (f"{REPLICATIONS} replications of the baseline and the what-if "
                        f"scenario in {res.run_seconds:.1f} s")
        redraw()


    for control in controls.values():
        control.observe(rerun, names="value")
    metric.observe(redraw, names="value")
    region.observe(redraw, names="value")

    display(widgets.VBox([*controls.values(), widgets.HBox([metric, region]), status, output]))
    rerun()  # the first run; afterwards every change of a control re-runs
    """),
    md("""
    Things to try: set the network effect above 1 (the market tips towards the leader), set
    switching costs to zero, or move the ban later and watch how much of the effect is left
    at the horizon. The outcome and region dropdowns only redraw; the other controls re-run.

    The panel can also be driven from code, which is how it runs when the notebook is
    executed without a front end:
    """),
    code("""
    controls["ban_start"].value = "none"        # re-runs: no ban at all
    controls["subsidy"].value = 100.0           # re-runs: a subsidy instead
    metric.value = "open_share"                 # redraws only
    print(status.value)
    """),
    md("""
    ## 2. A parameter sweep

    A sweep runs one scenario at every point of a design: `grid` (every combination of levels),
    `lhs` (Latin hypercube) or `sobol` (a scrambled Sobol sequence). Ranges are written as on
    the command line (`PATH=LOW:HIGH`, or `PATH=a,b,c` for choices) and checked against the
    scenario by `parse_range`. Every point uses the same seed and replications, so points
    differ only by their parameters. The command-line equivalent is
    `marketsim sweep eu_blocks_open --vary world.network_effect=0.1:1.5
    --vary segments.enterprise.switching_cost=0.5:3 --design lhs --samples 16 -r 3 --months 36`.
    """),
    code("""
    from sim.experiment.design import parse_range
    from sim.experiment.studies import sensitivity, sweep

    ban = sim.load_scenario("eu_blocks_open").with_overrides({"scenario.months": MONTHS})
    parameters = [parse_range("world.network_effect=0.1:1.5", ban),
                  parse_range("segments.enterprise.switching_cost=0.5:3", ban)]
    sweep_dir = OUT / "sweep"
    started = time.perf_counter()
    sweep_results, design = sweep(ban, parameters, design="lhs", samples=SAMPLES,
                                  replications=STUDY_REPLICATIONS, seed=5, jobs=2,
                                  out=sweep_dir, base_id="ban")
    print(f"{len(design)} design points x {STUDY_REPLICATIONS} replications "
          f"in {time.perf_counter() - started:.1f} s")
    design.head()
    """),
    md("""
    The report's study figures take a `ReportData`, which reads the results folder together
    with its `design.parquet`. The scatter shows each design point's mean outcome at the
    final month against each parameter (other parameters vary at the same time, so a trend
    is a marginal effect); the heatmap bins pairs of parameters. The dropdowns choose the
    outcome and the region.
    """),
    code("""
    from sim.report import figures, write_report
    from sim.report.data import ReportData

    study = ReportData.from_folder(sweep_dir)
    figures.sweep_scatter(study, ["hhi", "open_share", "price_mean"], regions=["EU", "World"])
    """),
    code("""
    figures.sweep_heatmap(study, ["hhi", "open_share"], regions=["EU", "World"])
    """),
    code("""
    means = study.point_means(["hhi", "open_share"])
    means[means["region"] == "EU"].sort_values("world.network_effect").head(8)
    """),
    code("""
    print(write_report(sweep_dir))  # the report `marketsim sweep` writes
    """),
    md("""
    ## 3. A sensitivity analysis

    `sensitivity` draws a Saltelli sample (`samples * (d + 2)` runs for `d` parameters), runs
    it, and computes Sobol indices of one outcome (a metric in one region and segment at one
    month) with SALib: `S1` is the share of the outcome's variance explained by a parameter
    alone, `ST` includes its interactions; the `_conf` columns are bootstrap 95 % half-widths.
    With the small sample used here the intervals are wide (and a small negative `S1` is
    noise); use `samples=64` or more, a power of two, for real work. `method="morris"` screens
    many parameters more cheaply. The command-line equivalent is
    `marketsim sensitivity eu_blocks_open --vary ... --method sobol --metric hhi --region EU`.
    """),
    code("""
    sens_results, sens_design, indices = sensitivity(
        ban, parameters, method="sobol", samples=SAMPLES, metric="hhi", region="EU",
        replications=STUDY_REPLICATIONS, seed=5, jobs=2)
    print(f"{len(sens_design)} design points in {sens_results.run_seconds:.1f} s")
    indices
    """),
    code("""
    figures.sobol_bars(indices)
    """),
]


# --------------------------------------------------------------------------- 03 build a scenario

BUILD = [
    md("""
    # Build a scenario in Python, save it as TOML, run it from the command line

    **What this notebook teaches.** How to

    1. start from a shipped scenario and add policies built with the schema models
       (`ComplianceCost`, `Interoperability`, `OpenSourceSubsidy`, ...);
    2. validate a scenario and read the errors `sim.ScenarioError` gives;
    3. save the resolved scenario as TOML (`Scenario.to_toml()`), or write a short file that
       `extends` the baseline, and load either back;
    4. run the file with the `marketsim` command line, and open its results folder in Python.

    Files are written to a temporary folder.
    """),
    code("""
    import shlex
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    import pandas as pd
    import tomli_w
    from pydantic import ValidationError

    import sim
    from sim.scenario.schema import (
        POLICY_KINDS,
        ComplianceCost,
        Interoperability,
        OpenSourceSubsidy,
    )

    OUT = Path(tempfile.mkdtemp(prefix="marketsim-build-"))
    pd.set_option("display.width", 140, "display.max_colwidth", 90)
    print("files go to", OUT)
    """),
    md("""
    ## 1. Start from the baseline

    The baseline already has one policy (US closed vendors do not serve China). A new
    scenario's policies are appended to it.
    """),
    code("""
    base = sim.load_scenario("baseline")
    print(base.scenario.name, "-", base.scenario.description[:200], "...")
    base.policies
    """),
    md("""
    ## 2. Policies are schema models

    Each policy kind is a pydantic model in `sim.scenario.schema`; its fields, units and
    bounds are those of the TOML format (`docs/scenario-reference.md` lists them all). A model
    checks its own fields when it is built.
    """),
    code("""
    print(POLICY_KINDS)
    pd.DataFrame([{"field": name, "required": field.is_required(),
                   "default": None if field.is_required() else field.default,
                   "description": field.description}
                  for name, field in OpenSourceSubsidy.model_fields.items()])
    """),
    code("""
    try:
        OpenSourceSubsidy(kind="open_source_subsidy", region="EU", budget=-1)
    except ValidationError as err:
        print(err)
    """),
    md("""
    Our scenario, "EU open stack": the AI Act's GPAI duties with the open-source exemption
    (as in the shipped `eu_ai_act`), a fund for open-source contributors from 2026 and a
    portability mandate that halves switching costs in the EU from 2027.
    """),
    code("""
    act = ComplianceCost(kind="compliance_cost", region="EU", start="2025-08", fixed=1.0e6,
                         systemic_capability=97.0, systemic_fixed=5.0e6, exempt_fraction=0.5,
                         label="AI Act GPAI duties")
    fund = OpenSourceSubsidy(kind="open_source_subsidy", region="EU", start="2026-01",
                             budget=5.0e7, recipients="contributors",
                             label="EU open-source contributor fund")
    portability = Interoperability(kind="interoperability", region="EU", start="2027-01",
                                   switching_cost_multiplier=0.5,
                                   label="EU portability mandate")

    mine = base.with_overrides({
        "scenario.name": "EU open stack",
        "scenario.description": "AI Act duties with the open-source exemption, an EU fund "
                                "for open-source contributors and a portability mandate.",
        "scenario.months": 48,
        "policies": [*base.policies, act, fund, portability],
    })
    [(p.kind, p.region, p.start) for p in mine.policies]
    """),
    md("""
    ## 3. Validation

    `with_overrides` validates the whole scenario, including cross-references (a policy's
    region, vendors named by a merger) and policy windows. Problems are a `sim.ScenarioError`
    naming the dotted path, with a suggestion where there is one:
    """),
    code("""
    wrong = [
        ComplianceCost(kind="compliance_cost", region="EUR", fixed=1.0e6),
        Interoperability(kind="interoperability", region="EU", start="2027-01", end="2026-01"),
    ]
    for policy in wrong:
        try:
            base.with_overrides({"policies": [*base.policies, policy]})
        except sim.ScenarioError as err:
            print("ScenarioError:", err)
    """),
    md("""
    ## 4. Save as TOML and load it back

    `to_toml()` writes the fully resolved scenario: every value spelled out, no `extends`, so
    the file means the same thing even if the baseline changes later. Every run saves its
    scenarios this way, next to the results.
    """),
    code("""
    path = OUT / "eu_open_stack.toml"
    text = mine.to_toml()
    path.write_text(text, encoding="utf-8")
    print(f"{path} ({len(text.splitlines())} lines); its policies:")
    print("[[policies]]" + text.split("[[policies]]", 1)[1].split("[experiment]")[0])
    """),
    code("""
    loaded = sim.load_scenario(path)
    assert loaded == mine
    print("loaded back:", loaded.scenario.name, "- equal to the scenario built in Python")
    """),
    md("""
    A hand-maintained file is usually shorter: it `extends` the baseline and lists only what
    changes (tables merge, named items merge by name, policies are appended). The same
    scenario as a child file:
    """),
    code("""
    child = {
        "scenario": {"format_version": 1, "name": mine.scenario.name,
                     "description": mine.scenario.description, "extends": "baseline",
                     "months": 48},
        "policies": [{"kind": p.kind, **p.model_dump(exclude_unset=True)}
                     for p in (act, fund, portability)],
    }
    short = OUT / "eu_open_stack_short.toml"
    short.write_text(tomli_w.dumps(child), encoding="utf-8")
    print(short.read_text())
    assert sim.load_scenario(short) == mine
    """),
    md("""
    ## 5. Run it from the command line

    The command line takes a shipped name or a path; with two or more scenarios, each is
    compared with the first, so the baseline goes first. `marketsim validate` checks files
    without running them. A real run would be

        marketsim run baseline PATH -r 20 --months 48

    which writes the results folder and `report.html` under `reports/`. Here we run a short
    version (2 replications, 6 months, one process, no report) through `python -m sim`, the
    same program. Six months end before the portability mandate starts (2027-01), so
    marketsim warns that this policy never acts: a warning, not an error, so that short test
    runs of long scenarios work.
    """),
    code("""
    def marketsim(*args):
        \"\"\"Run `marketsim ARGS` with this kernel's Python and show what it printed.\"\"\"
        print("$", shlex.join(["marketsim", *map(str, args)]))
        done = subprocess.run([sys.executable, "-m", "sim", *map(str, args)],
                              capture_output=True, text=True, check=False)
        print(done.stdout + done.stderr)
        assert done.returncode == 0, f"exit code {done.returncode}"


    results_dir = OUT / "cli-run"
    marketsim("validate", path)
    marketsim("run", "baseline", path, "-r", "2", "--months", "6", "-j", "1",
              "-o", results_dir, "--no-report")
    """),
    md("""
    The scenario's id is the file's stem, `eu_open_stack`. The results folder opens in Python
    like any other:
    """),
    code("""
    import warnings

    from sim.scenario.schema import ScenarioWarning

    with warnings.catch_warnings():  # the saved scenarios have the run's 6-month horizon
        warnings.simplefilter("ignore", ScenarioWarning)
        res = sim.Results.from_folder(results_dir)
    print(res, "| files:", sorted(p.name for p in results_dir.iterdir()))
    table = res.summary(metrics=["hhi", "open_share", "consumer_welfare"])
    table[(table["region"] == "EU") & (table["segment"] == "all")][
        ["scenario", "metric", "mean", "diff_mean", "diff_ci_low", "diff_ci_high"]]
    """),
    code("""
    res.figure("hhi", region="EU")
    """),
    md("""
    ## Next

    - `marketsim show PATH` prints a resolved scenario and what it changes from its parent;
    - `marketsim schema` prints a JSON Schema of the format, for editors;
    - `docs/scenario-reference.md` describes every field, `docs/guide.md` the whole workflow.
    """),
]

NOTEBOOKS: dict[str, list[tuple[str, str]]] = {
    "01_quickstart.ipynb": QUICKSTART,
    "02_explore.ipynb": EXPLORE,
    "03_build_a_scenario.ipynb": BUILD,
}


def build(name: str) -> nbformat.NotebookNode:
    """The notebook ``name`` (no outputs, no execution counts, fixed cell ids)."""
    stem = name.split("_")[0]
    cells = []
    for i, (kind, source) in enumerate(NOTEBOOKS[name]):
        cell = (nbformat.v4.new_markdown_cell(source) if kind == "markdown"
                else nbformat.v4.new_code_cell(source))
        cell.id = f"nb{stem}-{i:02d}"
        cells.append(cell)
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata = {"kernelspec": dict(KERNELSPEC),
                   "language_info": {"name": "python", "pygments_lexer": "ipython3"}}
    nbformat.validate(nb)
    return nb


def render(name: str) -> str:
    """The notebook's file text."""
    return nbformat.writes(build(name)) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the notebooks, or with ``--check`` report those that differ."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check, write nothing")
    args = parser.parse_args(argv)
    stale = []
    for name in NOTEBOOKS:
        path = HERE / name
        text = render(name)
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current == text:
            continue
        stale.append(name)
        if not args.check:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    if args.check and stale:
        print(f"out of date: {', '.join(stale)}; run python notebooks/build.py",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
