"""``marketsim robustness BASE POLICY...``: policy x uncertainty, with scenario discovery.

Registers on :data:`sim.cli_app.app` (imported by :mod:`sim.cli`). It runs
:func:`sim.experiment.robustness.robustness` over the shipped posterior by default, prints
each policy's paired effect (median, 90 % interval, sign shares, per structural alternative)
and the first rule of each outcome in words, and writes the folder and its report.
"""

from __future__ import annotations

from typing import Annotated

import typer

from sim.cli_app import app
from sim.cli_common import (
    Engine,
    Force,
    Jobs,
    NoReport,
    Out,
    Posterior,
    Scheduler,
    Seed,
    Sets,
    Vary,
    command_line,
    dask_executor,
    default_out,
    load_with_sets,
    shown,
)

__all__ = ["robustness_command"]


@app.command("robustness")
def robustness_command(
    scenarios: Annotated[list[str], typer.Argument(help="The reference scenario, then one or "
                                                   "more policy scenarios.")],
    posterior: Posterior = None,
    draws: Annotated[int | None, typer.Option("--draws", "--samples", min=2, max=100_000,
                                              help="Parameter draws (default 64).")] = None,
    vary: Vary = None,  # type: ignore[assignment]
    month: Annotated[int | None, typer.Option("--month", min=1, max=600,
                                              help="Month of the outcomes (default: the "
                                              "horizon).")] = None,
    seed: Seed = None, set_: Sets = None, engine: Engine = None, out: Out = None,
    jobs: Jobs = None, scheduler: Scheduler = None, force: Force = False,
    no_report: NoReport = False,
) -> None:
    """Each policy's paired effect over posterior draws, ranges and structural alternatives."""
    from sim.errors import ScenarioError
    from sim.experiment.design import parse_range
    from sim.experiment.keyfigures import figure_texts
    from sim.experiment.posterior import DEFAULT_POSTERIOR, NONE
    from sim.experiment.robustness import robustness
    from sim.experiment.runner import assign_ids
    from sim.experiment.store import inspect_output

    if len(scenarios) < 2:
        raise ScenarioError("give the reference scenario and at least one policy scenario")
    loaded, labels = load_with_sets(scenarios, set_)
    ids = assign_ids(loaded, labels)
    # not results_folder(): that arms the interrupt's "--resume" hint, and a study is short
    # enough to run again rather than resume
    folder = out if out is not None else default_out(
        f"{ids[0]}_robustness_{'_'.join(ids[1:3])}")
    inspect_output(folder, force=force, resume=False)
    chosen = DEFAULT_POSTERIOR if posterior is None else (
        None if posterior.strip().lower() == NONE else posterior)
    ranges = [parse_range(t, loaded[0], "--vary") for t in (vary or [])]
    with dask_executor(scheduler) as executor:
        found = robustness(loaded[0], dict(zip(ids[1:], loaded[1:], strict=True)), base_id=ids[0],
                           posterior=chosen, draws=draws, vary=ranges, month=month,
                           seed=loaded[0].experiment.seed if seed is None else seed,
                           engine=engine or "expected", jobs=jobs, executor=executor,
                           out=folder, force=force, command=command_line())
    meta = found.meta
    typer.echo(f"{meta['worlds']} worlds ({meta['draws']} draws x the structural "
               f"alternatives), {meta['engine']} engine, month {meta['month']}, "
               f"{meta['seconds']:.0f} s")
    typer.echo("paired effect vs the reference: median [90 % interval]; share of worlds "
               "above zero; median per structural alternative")
    structural = [c for c in found.effects.columns if c.startswith("median[")]
    for _, r in found.effects.iterrows():
        mid, low, high = figure_texts([r["median"], r["p05"], r["p95"]], sign=True,
                                      interval=(r["p05"], r["p95"]))
        alts = ", ".join(f"{c[7:-1]}: {figure_texts([r[c]], sign=True)[0]}"
                         for c in structural)
        typer.echo(f"  {shown(r['policy'])} {r['outcome']}: {mid} [{low}, {high}]; "
                   f"{r['share_positive']:.0%} > 0; {alts}")
    typer.echo("rules (PRIM first; all of them in rules.json):")
    for entry in found.rules:
        first = entry["rules"][0]["text"] if entry["rules"] else entry["reading"]
        typer.echo(f"  {first}")
    typer.echo(f"results: {shown(folder)}")
    if not no_report:
        from sim.experiment.pool import phase
        from sim.report.robustness import write_robustness_report

        with phase("writing report", None):
            path = write_robustness_report(folder)
        typer.echo(f"report:  {shown(path)}")
