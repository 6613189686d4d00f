"""``marketsim calibrate --method bayes``: the posterior of a scenario's uncertain parameters.

Kept apart from the point calibration's command (``sim/cli_experiments.py``): it reads a
priors file, runs :func:`sim.experiment.bayes.calibrate_bayes` with its progress bar (stage,
beta, effective sample size, acceptance) and prints where the posterior and its diagnostics
are, the fit's coverage, and any parameter the data did not identify or that piles up at a
bound of its prior.
"""

from __future__ import annotations

from pathlib import Path

import typer

from sim.cli_common import command_line, dask_executor, results_folder, warnings_unless_error
from sim.errors import ScenarioError
from sim.scenario.schema import Scenario

__all__ = ["bayes_command"]


def bayes_command(base: Scenario, label: str, targets: Path, priors: str | None, *,
                  particles: int, seed: int | None, engine: str, out: Path | None,
                  jobs: int | None, scheduler: str | None, resume: bool, force: bool) -> None:
    """Run the Bayesian calibration and print what it found (see the module docstring)."""
    from sim.experiment.bayes import calibrate_bayes
    from sim.experiment.calibration import load_targets
    from sim.experiment.priors import load_priors
    from sim.experiment.store import inspect_output, shown

    folder = results_folder(out, f"{label}-posterior")
    with warnings_unless_error():
        inspect_output(folder, force=force, resume=resume)
        goals = load_targets(targets, base)
        name = priors if priors is not None else label
        try:
            prior_file = load_priors(name, base)
        except ScenarioError as exc:
            if priors is None and "no such priors file" in str(exc):
                raise ScenarioError(f"no priors file for {name!r} in scenarios/priors/; give "
                                    "one with --priors") from None
            raise
    with dask_executor(scheduler) as executor:
        result = calibrate_bayes(base, goals, prior_file, out=folder, particles=particles,
                                 seed=base.experiment.seed if seed is None else seed,
                                 engine=engine, jobs=jobs, executor=executor, resume=resume,
                                 force=force, command=command_line())
    d = result.diagnostics
    cover = d["fit_coverage_90"]
    typer.echo(f"posterior: {shown(result.folder / 'posterior.parquet')} ({d['draws']} draws, "
               f"{d['stages']} stages, {d['simulations']:,} simulations, ESS "
               f"{d['ess_final_reweighting']:.0f} at the last reweighting)")
    typer.echo(f"fit: {cover['inside']} of {cover['targets']} targets inside their 90 % "
               "posterior-predictive interval")
    for p in d["parameters"]:
        if not p["informed"]:
            flag = "not informed by the data (left at its prior)"
        elif p["at_bound"]:
            flag = f"piles up at its {p['at_bound']} bound"
        elif not p["identified"]:
            flag = f"not identified (spread shrank {100 * p['shrinkage']:.0f} %)"
        else:
            flag = f"spread shrank {100 * p['shrinkage']:.0f} %"
        typer.echo(f"  {p['path']}: {p['p50']:.4g} [{p['p05']:.4g}, {p['p95']:.4g}]  {flag}")
    typer.echo(f"diagnostics: {shown(result.folder / 'diagnostics.json')}")
