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
    # Quick start: run and compare version-2 scenarios from Python

    **What this notebook teaches.** How to

    1. find and load the shipped scenarios (`sim.shipped_scenarios`, `sim.load_scenario`) and
       look inside one: firms and the product lines they own (scenario format 2);
    2. change parameters without editing a file (`Scenario.with_overrides` with dotted paths);
    3. run replications of two scenarios with common random numbers (`sim.run`);
    4. read the tidy tables with version-2 metric names (`hhi_market`, `open_usage_share`,
       `price_paid`, `consumer_surplus_usd`, ...) and the summary's **paired differences**;
    5. plot a metric from the tidy table.

    **The baseline has only a provisional point calibration** (`docs/calibration.md`): what you
    see is what the mechanisms do at one parameter set, not a forecast. Runs are short on
    purpose: `MARKETSIM_NB_MONTHS` (default 6) months and `MARKETSIM_NB_REPLICATIONS` (default
    2) replications; raise them for a real answer (the baseline's horizon is 83 months, to 2030-12).
    """),
    code("""
    import os
    import warnings

    import pandas as pd
    import plotly.graph_objects as go

    import sim
    from sim.scenario.schema import ScenarioWarning

    MONTHS = int(os.environ.get("MARKETSIM_NB_MONTHS", "6"))
    REPLICATIONS = int(os.environ.get("MARKETSIM_NB_REPLICATIONS", "2"))
    # a short horizon leaves later launches and policies out; the scenario layer warns about
    # each of them, which is expected here
    warnings.simplefilter("ignore", ScenarioWarning)
    pd.set_option("display.width", 140)
    print(f"marketsim {sim.__version__}: {MONTHS} months, {REPLICATIONS} replications")
    """),
    md("""
    ## 1. Shipped scenarios, firms and product lines

    `sim.shipped_scenarios()` maps each name to its file; `sim.load_scenario` takes a name or
    a path and resolves `extends`. In format 2 a firm (`vendors`) owns product lines
    (`products`), each open or closed.
    """),
    code("""
    sorted(sim.shipped_scenarios())
    """),
    code("""
    base = sim.load_scenario("baseline")
    print(base.scenario.name, "| start", base.scenario.start, "| months", base.scenario.months)
    lines = pd.DataFrame([{"firm": v.name, "home": v.home, "funding": v.funding,
                           "product": p.name, "openness": p.openness,
                           "capability": p.capability, "launch": p.launch}
                          for v in base.vendors for p in v.products])
    lines
    """),
    md("""
    ## 2. Overrides by dotted path

    Named items are addressed by name, products through their firm. The same paths work with
    `marketsim run --set`.
    """),
    code("""
    base = base.with_overrides({"scenario.months": MONTHS})
    ban = sim.load_scenario("eu_blocks_open").with_overrides({
        "scenario.months": MONTHS,
        "policies.EU bans open weights.start": 1,   # the ban acts from step 1 in this short run
    })
    meta_closed = base.with_overrides({"vendors.Meta.products.Llama.openness": "closed"})
    [p.openness for v in meta_closed.vendors if v.name == "Meta" for p in v.products]
    """),
    md("""
    ## 3. Run with common random numbers

    Replication *i* of every scenario uses the same random numbers, so the difference between
    two scenarios in one replication is due to the scenarios, not to luck.
    """),
    code("""
    res = sim.run([base, ban], replications=REPLICATIONS, seed=7, jobs=1)
    res.market.head()
    """),
    code("""
    cols = ["scenario", "replication", "month", "hhi_market", "open_usage_share",
            "price_paid", "consumer_surplus_usd"]
    eu = res.market.query("region == 'EU' and segment == 'enterprise'")
    eu[cols].tail(6)
    """),
    md("""
    ## 4. The summary and paired differences

    One row per scenario, region, segment and metric at the final month; `diff_mean` is the
    mean over replications of (scenario - first scenario) in the same replication.
    """),
    code("""
    summary = res.summary()
    summary.query("region == 'EU' and segment == 'enterprise' and "
                  "metric in ['hhi_market', 'open_usage_share', 'price_paid']")[
        ["scenario", "metric", "mean", "ci_low", "ci_high", "diff_mean"]]
    """),
    md("""
    ## 5. Firms and events

    `res.vendors` holds the firm records (revenue, cash, ...), `res.events` launches, policy
    switches, withdrawals, entries, exits and funding rounds.
    """),
    code("""
    res.vendors.head()
    """),
    code("""
    res.events[["scenario", "replication", "month", "region", "vendor", "kind", "detail"]].head(10)
    """),
    md("""
    ## 6. A plot from the tidy table
    """),
    code("""
    fig = go.Figure()
    for scenario, frame in eu.groupby("scenario"):
        mean = frame.groupby("month")["open_usage_share"].mean()
        fig.add_trace(go.Scatter(x=mean.index, y=mean.values, name=scenario))
    fig.update_layout(title="Open usage share, EU enterprise (uncalibrated baseline)",
                      xaxis_title="month (0 = 2024-01)", yaxis_title="share of tokens")
    fig
    """),
]

# --------------------------------------------------------------------------- 02 explore

EXPLORE = [
    md("""
    # Explore one world: `sim.MarketModel`, Mesa idioms and a small sweep

    **What this notebook teaches.** How to

    1. build a `sim.MarketModel` (a `mesa.Model`: one world of the batched engine) with
       overrides written with `__` for dots;
    2. step it month by month and read `metrics()` (one row per region and segment);
    3. run it to the horizon with Mesa's `run_model()` and read `datacollector`;
    4. look at the agents: firms, contributor communities and regulators are views on the
       engine's rows;
    5. read the product-line table (`results()["products"]`);
    6. sweep one parameter by hand and compare outcomes;
    7. tweak parameters with sliders and watch a policy's effect against the baseline
       (`sim.widgets.panel`).

    The baseline's calibration is **provisional**; runs are short (`MARKETSIM_NB_MONTHS`,
    default 6).
    """),
    code("""
    import os
    import warnings

    import numpy as np
    import pandas as pd
    import plotly.graph_objects as go

    import sim
    from sim.scenario.schema import ScenarioWarning

    MONTHS = int(os.environ.get("MARKETSIM_NB_MONTHS", "6"))
    SAMPLES = int(os.environ.get("MARKETSIM_NB_SAMPLES", "3"))
    REPLICATIONS = int(os.environ.get("MARKETSIM_NB_REPLICATIONS", "2"))
    warnings.simplefilter("ignore", ScenarioWarning)
    pd.set_option("display.width", 140)
    """),
    md("""
    ## 1. One world, stepped by hand
    """),
    code("""
    model = sim.MarketModel("baseline", seed=1, scenario__months=MONTHS)
    print("month", model.month, "of", model.horizon, "| regions", model.regions,
          "| segments", model.segments)
    model.step()
    model.metrics().query("segment == 'enterprise'")[
        ["month", "region", "hhi_market", "hhi_revenue", "open_usage_share", "price_paid"]]
    """),
    code("""
    model.metric("cr1", region="World", segment="consumer")
    """),
    md("""
    ## 2. Mesa idioms: `run_model()` and `datacollector`

    `run_model()` steps to the horizon and sets `running = False`. The data collector's model
    variables are named `metric|region|segment`.
    """),
    code("""
    model.run_model()
    print("running:", model.running, "| month", model.month)
    frame = model.datacollector.get_model_vars_dataframe()
    frame[["hhi_market|US|enterprise", "open_usage_share|US|enterprise",
           "consumer_surplus_usd|World|consumer"]]
    """),
    md("""
    ## 3. Agents are views

    Firms, communities and regulators are Mesa agents that read the engine's arrays; there is
    no second bookkeeping.
    """),
    code("""
    pd.Series({type_.__name__: len(agents)
               for type_, agents in model.agents_by_type.items()})
    """),
    code("""
    agents = model.datacollector.get_agent_vars_dataframe()
    agents.tail(12)
    """),
    md("""
    ## 4. Product lines

    Concentration is measured over firms, openness over product lines; the products table
    has one row per line and cell.
    """),
    code("""
    tables = model.results()
    products = tables["products"]
    products[products["month"] == model.month].head(12)
    """),
    md("""
    ## 5. A small sweep by hand

    Each value of the network effect is a new model with the same seed (common random
    numbers). `marketsim sweep` and `sim.sweep` do this at scale.
    """),
    code("""
    rows = []
    for eta in np.linspace(0.1, 1.5, SAMPLES):
        m = sim.MarketModel("baseline", seed=1, engine="expected", scenario__months=MONTHS,
                            world__network_effect=float(eta))
        m.run_model()
        rows.append({"network_effect": eta,
                     "hhi_market_US_enterprise": m.metric("hhi_market", "US", "enterprise"),
                     "cr1_World_consumer": m.metric("cr1", "World", "consumer")})
    sweep = pd.DataFrame(rows)
    sweep
    """),
    code("""
    go.Figure(go.Scatter(x=sweep["network_effect"], y=sweep["hhi_market_US_enterprise"],
                         mode="lines+markers")).update_layout(
        title=f"US enterprise hhi_market after {MONTHS} months", xaxis_title="network_effect",
        yaxis_title="HHI points")
    """),
    md("""
    ## 6. Tweak and watch: `sim.widgets.panel`

    `sim.widgets.panel(scenario)` puts the browser explorer's sliders (`marketsim explore`) in
    a cell: the network effect, the segment's price weight and usage elasticity, the misuse
    premium, and the start of each policy the scenario adds (with a switch to turn it off).
    Each chart shows the scenario against the baseline under the same world settings, with a
    band for the replications' range (luck only). A slider re-runs the small ensemble once it
    has been still for a moment, so a burst of arrow-key presses costs one run;
    `p.set(path, value)` moves a slider from code and `p.update()` runs at once.

    The ban starts in 2027, after this notebook's short horizon, so it is brought forward to
    month 1 here.
    """),
    code("""
    import sim.widgets
    from sim.scenario.overrides import with_horizon

    p = sim.widgets.panel(with_horizon(sim.load_scenario("eu_blocks_open"), MONTHS),
                          replications=REPLICATIONS)
    p.set('policies."EU bans open weights".start', 1)
    pair = p.update()
    print(p.status.value)
    p
    """),
]

# --------------------------------------------------------------------------- 03 build

BUILD = [
    md("""
    # Build a format-2 scenario, validate it, save it as TOML and run it

    **What this notebook teaches.** How to

    1. write a scenario file that `extends` the baseline and adds a policy (format 2: policies
       act on firms and product lines);
    2. validate it, and read the one-line errors `sim.ScenarioError` gives;
    3. save a resolved scenario as TOML (`Scenario.to_toml()`) and load it back;
    4. check a file with the command line (`marketsim validate`, `marketsim show`);
    5. run it against the baseline.

    Files are written to a temporary folder. Runs are short (`MARKETSIM_NB_MONTHS`, default 6).
    """),
    code("""
    import os
    import subprocess
    import sys
    import tempfile
    import warnings
    from pathlib import Path

    import pandas as pd

    import sim
    from sim.scenario.schema import POLICY_KINDS, ScenarioWarning

    MONTHS = int(os.environ.get("MARKETSIM_NB_MONTHS", "6"))
    REPLICATIONS = int(os.environ.get("MARKETSIM_NB_REPLICATIONS", "2"))
    OUT = Path(tempfile.mkdtemp(prefix="marketsim-build-"))
    warnings.simplefilter("ignore", ScenarioWarning)
    pd.set_option("display.width", 140, "display.max_colwidth", 90)
    print("policy kinds:", POLICY_KINDS)
    print("files go to", OUT)
    """),
    md("""
    ## 1. A scenario is a change to the baseline

    Here Meta withholds both Llama lines from EU consumers from step 1: the kind of decision
    it took in 2024 (pattern 7 of MODEL.md). `withhold` names a firm and its own lines.
    """),
    code("""
    text = '''
    [scenario]
    format_version = 2
    name = "Meta withholds Llama from EU consumers"
    description = "Both Llama lines leave EU consumer assistants from step 1."
    extends = "baseline"

    [[policies]]
    kind = "withhold"
    vendor = "Meta"
    products = ["Llama", "Llama-vision"]
    region = "EU"
    segments = ["consumer"]
    start = 1
    label = "Meta withholds Llama (EU consumers)"
    '''
    path = OUT / "meta_withholds.toml"
    path.write_text(text, encoding="utf-8")
    withhold = sim.load_scenario(path)
    print(withhold.scenario.name, "|", len(withhold.policies),
          "policies (the baseline's and one more)")
    withhold.policies[-1]
    """),
    md("""
    ## 2. Errors name the file and the dotted path
    """),
    code("""
    bad = OUT / "bad.toml"
    bad.write_text(text.replace('vendor = "Meta"', 'vendor = "Metaa"'), encoding="utf-8")
    try:
        sim.load_scenario(bad)
    except sim.ScenarioError as err:
        print(err)
    """),
    code("""
    try:
        withhold.with_overrides({"vendors.Meta.products.Llama.openness": "half-open"})
    except sim.ScenarioError as err:
        print(err)
    """),
    md("""
    ## 3. Save the resolved scenario as TOML and load it back

    `to_toml()` writes every value (no `extends`), which is what a results folder keeps so that
    any run can be repeated.
    """),
    code("""
    resolved = OUT / "meta_withholds_resolved.toml"
    resolved.write_text(withhold.to_toml(), encoding="utf-8")
    again = sim.load_scenario(resolved)
    print(resolved.stat().st_size, "bytes;", "same policies:",
          [p.label for p in again.policies] == [p.label for p in withhold.policies])
    """),
    md("""
    ## 4. The command line checks files too

    `marketsim validate` prints `ok` or what is wrong (exit code 2); `marketsim show` prints
    the resolved scenario and what it changes from its parent.
    """),
    code("""
    for args in (["validate", str(path)], ["validate", str(bad)]):
        done = subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True,
                              text=True)
        print("exit", done.returncode, "|", (done.stdout + done.stderr).strip().splitlines()[-1])
    """),
    code("""
    done = subprocess.run([sys.executable, "-m", "sim", "show", str(path)], capture_output=True,
                          text=True)
    print("\\n".join(done.stdout.strip().splitlines()[-15:]))
    """),
    md("""
    ## 5. Run it against the baseline

    The same as `marketsim run baseline meta_withholds.toml`, here in Python with a short
    horizon.
    """),
    code("""
    short = {"scenario.months": MONTHS}
    res = sim.run([sim.load_scenario("baseline").with_overrides(short),
                   withhold.with_overrides(short)], replications=REPLICATIONS, seed=3, jobs=1)
    eu = res.market.query("region == 'EU' and segment == 'consumer' and month == @MONTHS")
    eu.groupby("scenario")[["hhi_market", "open_user_share", "consumer_surplus_usd"]].mean()
    """),
    code("""
    res.events.query("kind in ['policy_on', 'policy_off']")[
        ["scenario", "month", "region", "kind", "detail"]].drop_duplicates().head()
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
