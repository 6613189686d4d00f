"""Experiment commands: ``run``, ``sweep``, ``sensitivity``, ``calibrate`` and ``report``.

They share one set of options (INTERFACES.md): ``-r``, ``--seed``, ``--months``,
``--set``, ``--engine``, ``-o``, ``-j``, ``--scheduler``, ``--resume``, ``--force`` and
``--no-report``; command-line options override the scenario's ``[experiment]``
table, which overrides built-in defaults. Registered on :data:`sim.cli.app`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sim.cli_app import app
from sim.cli_common import (  # noqa: F401  (re-exported: earlier imports name this module)
    Draws,
    Engine,
    Force,
    Jobs,
    Months,
    NoReport,
    Out,
    Posterior,
    Replications,
    Resume,
    Scheduler,
    Seed,
    Sets,
    Vary,
    check_scheduler,
    command_line,
    dask_executor,
    default_out,
    load_with_sets,
    results_folder,
    shown,
    warnings_unless_error,
)
from sim.errors import ScenarioError

if TYPE_CHECKING:
    from sim.experiment.results import Results
    from sim.scenario.schema import Scenario

__all__ = ["run_command", "sweep_command", "sensitivity_command", "calibrate_command",
           "report_command"]


def _run_options(out: Path | None, label: str, jobs: int | None, resume: bool, force: bool,
                 engine: str | None = None) -> dict[str, Any]:
    """Options every study passes to :func:`sim.run`, with ``-o`` and ``--engine`` checked.

    Nothing is written yet, so a refused folder is reported before any scheduler is
    contacted or any design is built.
    """
    from sim.experiment.runner import check_engine
    from sim.experiment.store import inspect_output

    engine = check_engine(engine)
    folder = results_folder(out, label)
    inspect_output(folder, force=force, resume=resume)
    return {"out": folder, "jobs": jobs, "resume": resume, "force": force,
            "command": command_line(), "engine": engine}


def _finish(results: Results, no_report: bool, kind: str = "run") -> None:
    folder = Path(results.folder)
    typer.echo(f"results: {shown(folder)}")
    if not no_report:
        from sim.experiment.pool import phase
        from sim.report import write_report

        with phase("writing report", None):
            path = write_report(folder)
        typer.echo(f"report:  {shown(path)}")


def _key_figures(results: Results) -> None:
    """Print the final month's key figures (:mod:`sim.experiment.keyfigures`)."""
    from sim.experiment.keyfigures import key_figure_lines

    for line in key_figure_lines(results):
        typer.echo(line)


@app.command("run")
def run_command(
    scenarios: Annotated[list[str], typer.Argument(help="Scenario names or files; with two "
                                                   "or more, each is compared with the first.")],
    replications: Replications = None, seed: Seed = None, months: Months = None,
    set_: Sets = None, engine: Engine = None, out: Out = None, jobs: Jobs = None,
    scheduler: Scheduler = None, resume: Resume = False, force: Force = False,
    no_report: NoReport = False, posterior: Posterior = None, draws: Draws = None,
) -> None:
    """Run scenarios with common random numbers, over the calibrated posterior by default."""
    from sim.experiment.runner import assign_ids, run

    loaded, labels = load_with_sets(scenarios, set_)
    label = "_vs_".join(assign_ids(loaded, labels)[:3])
    options = _run_options(out, label, jobs, resume, force, engine)
    chosen = _posterior_for(loaded, posterior, draws)
    with dask_executor(scheduler) as executor:
        results = run(dict(zip(assign_ids(loaded, labels), loaded, strict=True)), replications,
                      seed, months=months, executor=executor, posterior=chosen, draws=draws,
                      **options)
    post = results.posterior
    worlds = (f"{post['draws']} draws of the {post['name']} posterior x "
              f"{post['replications_per_draw']} replications" if post
              else f"{results.replications} replications (the scenarios' own values)")
    typer.echo(f"{len(results.ids)} scenario(s) x {worlds}, seed {results.seed}, "
               f"{results.engine} engine")
    _key_figures(results)
    _finish(results, no_report)


def _posterior_for(scenarios: list[Scenario], asked: str | None, draws: int | None
                   ) -> str | None:
    """The posterior to run: the one asked for, none for ``none``, else the shipped default.

    The default applies only where it fits: a scenario without one of its paths (another
    world) runs its own values, and a ``note:`` says so; a posterior asked for by name must fit.
    """
    from sim.experiment.posterior import DEFAULT_POSTERIOR, NONE, load_posterior, own_paths
    from sim.scenario.loader import load_scenario

    if asked is not None and asked.strip().lower() == NONE:
        if draws is not None:
            raise ScenarioError("--draws needs a posterior; drop --posterior none")
        return None
    if asked is not None:
        return asked
    post = load_posterior(DEFAULT_POSTERIOR)
    reference = load_scenario(post.reference)
    try:
        for scenario in scenarios:
            own_paths(scenario, reference, post.paths)
    except ScenarioError as exc:
        if draws is not None:
            raise
        typer.echo(f"note: {str(exc).splitlines()[0].split(' (')[0]}; running the scenarios' "
                   "own values (no posterior)", err=True)
        return None
    return DEFAULT_POSTERIOR


def _one(scenario: str, sets: list[str] | None) -> tuple[Scenario, str]:
    """One scenario and its label (made safe: it names the default folder and the ids)."""
    from sim.experiment.store import safe_id

    loaded, labels = load_with_sets([scenario], sets)
    return loaded[0], safe_id(labels[0])


def _ranges(texts: list[str], scenario: Scenario, option: str) -> list[Any]:
    from sim.experiment.design import parse_range

    if not texts:
        raise ScenarioError(f"give at least one {option} PATH=LOW:HIGH")
    return [parse_range(t, scenario, option) for t in texts]


@app.command("sweep")
def sweep_command(
    scenario: Annotated[str, typer.Argument(help="Scenario name or file.")],
    vary: Vary,
    design: Annotated[str, typer.Option("--design", help="grid, lhs or sobol.")] = "lhs",
    samples: Annotated[int, typer.Option("--samples", min=1, help="Design points (lhs, sobol) "
                                         "or levels per parameter (grid).")] = 16,
    replications: Replications = None, seed: Seed = None, months: Months = None,
    set_: Sets = None, engine: Engine = None, out: Out = None, jobs: Jobs = None,
    scheduler: Scheduler = None, resume: Resume = False, force: Force = False,
    no_report: NoReport = False,
) -> None:
    """Run a scenario over a design of parameter values (design.parquet lists the points)."""
    from sim.experiment.studies import sweep

    base, label = _one(scenario, set_)
    parameters = _ranges(vary, base, "--vary")
    options = _run_options(out, f"{label}-sweep", jobs, resume, force, engine)
    with dask_executor(scheduler) as executor:
        results, table = sweep(base, parameters, design=design, samples=samples,
                               replications=replications, seed=seed, months=months,
                               executor=executor, base_id=label, **options)
    typer.echo(f"{len(table)} design points x {results.replications} replications")
    _finish(results, no_report)


@app.command("sensitivity")
def sensitivity_command(
    scenario: Annotated[str, typer.Argument(help="Scenario name or file.")],
    vary: Vary,
    method: Annotated[str, typer.Option("--method", help="sobol or morris.")] = "sobol",
    metric: Annotated[str, typer.Option("--metric", help="Outcome metric.")] = "hhi_market",
    region: Annotated[str, typer.Option("--region", help="Region or World.")] = "EU",
    segment: Annotated[str, typer.Option("--segment", help="Segment or all.")] = "enterprise",
    month: Annotated[int | None, typer.Option("--month", min=0,
                                              help="Month (default: final).")] = None,
    samples: Annotated[int, typer.Option("--samples", min=1, help="Base sample N (sobol) or "
                                         "trajectories (morris).")] = 64,
    replications: Replications = None, seed: Seed = None, months: Months = None,
    set_: Sets = None, engine: Engine = None, out: Out = None, jobs: Jobs = None,
    scheduler: Scheduler = None, resume: Resume = False, force: Force = False,
    no_report: NoReport = False,
) -> None:
    """Global sensitivity indices (SALib) of one outcome; writes sensitivity.csv."""
    from sim.experiment.studies import sensitivity

    base, label = _one(scenario, set_)
    parameters = _ranges(vary, base, "--vary")
    options = _run_options(out, f"{label}-sensitivity", jobs, resume, force, engine)
    with dask_executor(scheduler) as executor:
        results, _, indices = sensitivity(
            base, parameters, method=method, samples=samples, metric=metric, region=region,
            segment=segment, month=month, replications=replications, seed=seed, months=months,
            executor=executor, base_id=label, **options)
    typer.echo(indices.drop(columns=["metric", "region", "segment", "month"]).to_string(
        index=False, float_format=lambda v: f"{v:.3f}"))
    from sim.experiment.studies import imprecise_indices

    for line in imprecise_indices(indices):
        typer.echo(f"warning: {line}", err=True)
    _finish(results, no_report)


@app.command("calibrate")
def calibrate_command(
    scenario: Annotated[str, typer.Argument(help="Scenario name or file.")],
    targets: Annotated[Path, typer.Option("--targets", help="Targets file (TOML).")],
    fit: Annotated[list[str] | None, typer.Option(
        "--fit", metavar="PATH=LOW:HIGH", help="Parameter to fit (repeatable; --method "
        "point).")] = None,
    method: Annotated[str, typer.Option("--method", metavar="point|bayes", help="point: "
                                        "bounded Powell on --fit ranges; bayes: a posterior "
                                        "over --priors (docs/calibration.md 5).")] = "point",
    priors: Annotated[str | None, typer.Option("--priors", help="Priors file (--method "
                                               "bayes; default: the scenario's own, "
                                               "scenarios/priors/).")] = None,
    particles: Annotated[int, typer.Option("--particles", min=2, help="Posterior draws "
                                           "(--method bayes).")] = 1000,
    max_evaluations: Annotated[int, typer.Option("--max-evaluations", min=1,
                                                 help="Objective evaluations.")] = 60,
    replications: Replications = None, seed: Seed = None, months: Months = None,
    set_: Sets = None, engine: Engine = None, out: Out = None, jobs: Jobs = None,
    scheduler: Scheduler = None, resume: Resume = False, force: Force = False,
    no_report: NoReport = False,
) -> None:
    """Fit parameters to observed targets: a point (calibrated.toml) or a posterior."""
    from sim.experiment.calibration import calibrate, load_targets
    from sim.experiment.runner import check_engine
    from sim.scenario.loader import load_scenario, shipped_scenarios

    if method not in ("point", "bayes"):
        raise ScenarioError(f"--method must be 'point' or 'bayes', got {method!r}")
    if method == "bayes":
        from sim.cli_bayes import bayes_command

        if fit:
            raise ScenarioError("--fit belongs to --method point; --method bayes fits the "
                                "priors file's parameters (--priors)")
        base, label = _one(scenario, set_)
        bayes_command(base, label, targets, priors, particles=particles, seed=seed,
                      engine=check_engine(engine or "expected"), out=out, jobs=jobs,
                      scheduler=scheduler, resume=resume, force=force)
        return
    engine = check_engine(engine)
    if not fit:
        raise ScenarioError("--method point needs at least one --fit PATH=LOW:HIGH")

    base, label = _one(scenario, set_)
    parameters = _ranges(fit, base, "--fit")
    with warnings_unless_error():  # a bad targets file is one line, not the horizon's notes
        if months is not None:
            from sim.scenario.overrides import with_horizon

            base = with_horizon(base, months)
        folder = results_folder(out, f"{label}-calibration")
        from sim.experiment.store import check_output_path, inspect_output

        inspect_output(folder, force=force, resume=resume)
        goals = load_targets(targets, base)
    source = Path(scenario)
    extends = scenario if scenario in shipped_scenarios() and not source.exists() else \
        os.path.relpath(source.resolve(), check_output_path(folder).resolve())
    with dask_executor(scheduler) as executor:
        result = calibrate(base, goals, parameters, replications=replications, seed=seed,
                           max_evaluations=max_evaluations, jobs=jobs, executor=executor,
                           out=folder, force=force, resume=resume, command=command_line(),
                           extends=extends, fixed=_fixed(base, set_), name=label,
                           engine=engine)
    path = check_output_path(folder) / "calibrated.toml"
    load_scenario(path)  # the written file must load (and reproduce the fit)
    typer.echo(result.fit[["target", "observed", "tolerance", "fitted_mean", "within"]]
               .to_string(index=False))
    typer.echo(f"fitted: {', '.join(f'{k}={v:.6g}' for k, v in result.values.items())}")
    typer.echo(f"scenario: {shown(path)}")
    if not no_report:
        from sim.report import write_calibration_report

        typer.echo(f"report:  {shown(write_calibration_report(path.parent, result, goals))}")


def _fixed(scenario: Scenario, sets: list[str] | None) -> dict[str, Any]:
    """The ``--set`` overrides (as resolved values) for the calibrated scenario file."""
    from sim.experiment.calibration import current_value
    from sim.scenario.overrides import parse_assignment

    paths = [parse_assignment(item)[0] for item in sets or []]
    return {path: current_value(scenario, path) for path in paths
            if not path.startswith("policies.")}


@app.command("report")
def report_command(
    folder: Annotated[Path, typer.Argument(help="A results folder written by run/sweep/...")],
) -> None:
    """(Re)build report.html of a results folder."""
    from sim.experiment.results import Results
    from sim.experiment.store import ResultsFolder
    from sim.report import write_report

    manifest = ResultsFolder(folder).read_manifest() if Path(folder).is_dir() else None
    if manifest is not None and manifest.get("kind") == "robustness":
        from sim.report.robustness import write_robustness_report

        if manifest.get("status") != "complete":
            raise ScenarioError(f"{shown(folder)}: the robustness study did not finish "
                                f"(status {manifest.get('status')}); run it again")
        typer.echo(f"report: {shown(write_robustness_report(folder))}")
        return
    Results.from_folder(folder)  # a marketsim results folder, its manifest checked
    ResultsFolder(folder).check_report_inputs()  # a run that finished, nothing linked in
    typer.echo(f"report: {shown(write_report(folder))}")
