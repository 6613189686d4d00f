"""``marketsim ensemble``: 10^4-10^6 worlds, per-world values streamed to Parquet shards.

Registers on :data:`sim.cli_app.app` (imported by :mod:`sim.cli`), with the options and the
error policy every experiment command shares (:mod:`sim.cli_experiments`).
"""

from __future__ import annotations

from typing import Annotated

import typer

from sim.cli_app import app
from sim.cli_common import (
    Force,
    Jobs,
    Months,
    Out,
    Resume,
    Scheduler,
    Seed,
    Sets,
    command_line,
    dask_executor,
    load_with_sets,
    results_folder,
    shown,
)

__all__ = ["ensemble_command"]

#: The cells ``marketsim ensemble`` prints: (metric, region, segment), where kept.
PRINTED = (("hhi_market", "EU", "enterprise"), ("open_usage_share", "EU", "all"),
           ("net_welfare_usd", "EU", "all"), ("harm_usd", "EU", "all"))


@app.command("ensemble")
def ensemble_command(
    scenarios: Annotated[list[str], typer.Argument(help="Scenario names or files; with two "
                                                   "or more, each is paired with the first.")],
    worlds: Annotated[int, typer.Option("-n", "--worlds", min=1,
                                        help="Worlds (replications) per scenario.")] = 1000,
    at: Annotated[list[str] | None, typer.Option(
        "--at", metavar="YYYY-MM|STEP", help="Month to keep (repeatable; default the "
        "final month).")] = None,
    metric: Annotated[list[str] | None, typer.Option(
        "--metric", help="Market metric to keep (repeatable; default all).")] = None,
    chunk: Annotated[int, typer.Option("--chunk", min=1, help="Worlds per task.")] = 256,
    engine: Annotated[str, typer.Option("--engine", metavar="expected|exact",
                                        help="Demand engine (default: expected).")
                      ] = "expected",
    seed: Seed = None, months: Months = None, set_: Sets = None, out: Out = None,
    jobs: Jobs = None, scheduler: Scheduler = None, resume: Resume = False,
    force: Force = False,
) -> None:
    """Run many worlds of scenarios, keeping chosen metrics and months per world."""
    from sim.experiment.ensemble import ensemble
    from sim.experiment.keyfigures import figure_texts
    from sim.experiment.runner import assign_ids, check_engine
    from sim.experiment.store import inspect_output

    loaded, labels = load_with_sets(scenarios, set_)
    ids = assign_ids(loaded, labels)
    check_engine(engine)
    folder = results_folder(out, "ensemble_" + "_vs_".join(ids[:3]))
    inspect_output(folder, force=force, resume=resume)
    steps = [int(a) if a.strip().isdigit() else a.strip() for a in at] if at else None
    with dask_executor(scheduler) as executor:
        result = ensemble(dict(zip(ids, loaded, strict=True)), worlds, seed, out=folder,
                          months=months, at=steps, metrics=metric, engine=engine, chunk=chunk,
                          jobs=jobs, executor=executor, resume=resume, force=force,
                          command=command_line())
    typer.echo(f"{len(result.ids)} scenario(s) x {worlds:,} worlds, seed "
               f"{result.manifest['seed']}, {engine} engine, chunks of {chunk}")
    summary = result.summary()
    for name, region, segment in PRINTED:
        rows = summary[(summary["metric"] == name) & (summary["region"] == region)
                       & (summary["segment"] == segment)]
        if rows.empty:
            continue
        typer.echo(f"{name} {region} {segment}: mean [5 %, 95 % over worlds]; paired "
                   "difference [5 %, 95 %], share of worlds above 0")
        for _, row in rows.iterrows():
            mean, low, high = figure_texts([row["mean"], row["p05"], row["p95"]],
                                           interval=(row["p05"], row["p95"]))
            line = f"  {shown(row['scenario']):<20} {row['date']}  {mean} [{low}, {high}]"
            if row["diff_mean"] == row["diff_mean"]:
                d, d_low, d_high = figure_texts([row["diff_mean"], row["diff_p05"],
                                                 row["diff_p95"]], sign=True,
                                                interval=(row["diff_p05"], row["diff_p95"]))
                line += f"  {d} [{d_low}, {d_high}], {row['diff_share_positive']:.0%}"
            typer.echo(line)
    typer.echo(f"results: {shown(result.root)} (shards/, summary.csv)")
