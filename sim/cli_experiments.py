"""Experiment commands: ``run``, ``sweep``, ``sensitivity``, ``calibrate`` and ``report``.

They share one set of options (INTERFACES.md): ``-r``, ``--seed``, ``--months``,
``--set``, ``--engine``, ``-o``, ``-j``, ``--scheduler``, ``--resume``, ``--force`` and
``--no-report``; command-line options override the scenario's ``[experiment]``
table, which overrides built-in defaults. Registered on :data:`sim.cli.app`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sim.cli_app import app
from sim.errors import Problem, ScenarioError

if TYPE_CHECKING:
    from sim.experiment.results import Results
    from sim.scenario.schema import Scenario

__all__ = ["run_command", "sweep_command", "sensitivity_command", "calibrate_command",
           "report_command"]

Replications = Annotated[int | None, typer.Option("-r", "--replications", min=1,
                                                   help="Replications per scenario.")]
Seed = Annotated[int | None, typer.Option("--seed", min=0, help="Root seed.")]
Months = Annotated[int | None, typer.Option("--months", min=1, max=600,
                                            help="Override the horizon (months).")]
Sets = Annotated[list[str] | None, typer.Option("--set", metavar="PATH=VALUE",
                                                help="Override a value (repeatable).")]
Out = Annotated[Path | None, typer.Option("-o", "--out", help="Results folder "
                                          "(default: a new folder under reports/).")]
Jobs = Annotated[int | None, typer.Option("-j", "--jobs", min=1,
                                          help="Worker processes (default: all cores).")]
Scheduler = Annotated[str | None, typer.Option("--scheduler", metavar="ADDRESS",
                                               help="Dask scheduler, e.g. tcp://host:8786.")]
Resume = Annotated[bool, typer.Option("--resume", help="Continue an interrupted run in -o.")]
Force = Annotated[bool, typer.Option("--force", help="Replace the files marketsim wrote in "
                                      "-o (a folder with a marketsim manifest.json); "
                                      "nothing else in it is removed.")]
NoReport = Annotated[bool, typer.Option("--no-report", help="Do not write report.html.")]
Engine = Annotated[str | None, typer.Option("--engine", metavar="exact|expected",
                                            help="Demand engine: exact draws or expected "
                                            "counts (default: exact).")]
Vary = Annotated[list[str], typer.Option("--vary", metavar="PATH=LOW:HIGH",
                                         help="Parameter range, or PATH=a,b,c (repeatable).")]


def command_line() -> str:
    """The command line as typed (shell-quoted), for the manifest."""
    return " ".join(shlex.quote(a) for a in ["marketsim", *sys.argv[1:]])


def load_with_sets(names: list[str], sets: list[str] | None) -> tuple[list[Scenario], list[str]]:
    """Load scenarios by name or path, apply ``--set`` overrides; labels are the file stems."""
    from sim.scenario.loader import load_scenario
    from sim.scenario.overrides import apply_overrides

    scenarios, labels = [], []
    for name in names:
        scenario = load_scenario(name)
        if sets:
            scenario = apply_overrides(scenario, sets)
        scenarios.append(scenario)
        labels.append(Path(name).stem)
    return scenarios, labels


def default_out(label: str) -> Path:
    """A new folder ``reports/<label>-<timestamp>`` (suffixed if it exists)."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path("reports") / f"{label}-{stamp}"
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


#: seconds to reach a scheduler's port, and then for it to answer as a Dask scheduler
CONNECT_TIMEOUT = 3.0
ANSWER_TIMEOUT = 5.0
_ADDRESS = re.compile(r"(?:(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://)?"
                      r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(?P<port>[0-9]{1,5})")


def shown(text: Any) -> str:
    """Text with control characters escaped (see :func:`sim.experiment.store.shown`)."""
    from sim.experiment.store import shown as escape

    return escape(text)


def _scheduler_problem(scheduler: str, message: str) -> ScenarioError:
    return ScenarioError(Problem(f"{shown(repr(scheduler))[:120]}: {message}",
                                 path="--scheduler"))


def check_scheduler(scheduler: str) -> str:
    """Check that ``scheduler`` is a Dask scheduler answering, within a few seconds.

    A malformed address, a closed port, a host that does not resolve, and a server that
    accepts connections but is not a Dask scheduler (a silent port, a web server) are
    each one ScenarioError line, after at most :data:`CONNECT_TIMEOUT` +
    :data:`ANSWER_TIMEOUT` seconds.

    Returns:
        The address with its scheme (``tcp://`` when none was given).
    """
    import socket

    match = _ADDRESS.fullmatch(scheduler.strip())
    if match is None:
        raise _scheduler_problem(scheduler, "expected a Dask scheduler address such as "
                                 "tcp://HOST:8786")
    scheme = (match["scheme"] or "tcp").lower()
    if scheme not in ("tcp", "tls"):
        raise _scheduler_problem(scheduler, f"{scheme}:// is not a Dask scheduler address; "
                                 "expected tcp://HOST:PORT (or tls://HOST:PORT)")
    host, port = match["host"].strip("[]"), int(match["port"])
    if not 0 < port < 65536:
        raise _scheduler_problem(scheduler, f"port {port} is outside 1..65535")
    try:
        from distributed.comm import connect
        from distributed.security import Security
    except ImportError:
        raise ScenarioError("--scheduler needs Dask: pip install 'marketsim[dask]'") from None
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT):
            pass
    except socket.gaierror:
        raise _scheduler_problem(scheduler, f"cannot resolve the host {shown(host)!r}"
                                 ) from None
    except ConnectionRefusedError:
        raise _scheduler_problem(scheduler, "connection refused (is the scheduler running?)"
                                 ) from None
    except TimeoutError:
        raise _scheduler_problem(scheduler, f"no connection within {CONNECT_TIMEOUT:g} s"
                                 ) from None
    except OSError as exc:
        raise _scheduler_problem(scheduler, f"cannot connect ({shown(exc.strerror or exc)})"
                                 ) from None
    address = f"{scheme}://{match['host']}:{port}"

    async def identity() -> Any:
        comm = await connect(address, timeout=ANSWER_TIMEOUT,
                             **Security().get_connection_args("client"))
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    logger = logging.getLogger("distributed")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        reply = asyncio.run(asyncio.wait_for(identity(), ANSWER_TIMEOUT))
    except Exception:  # noqa: BLE001 - whatever it is, it did not answer as a scheduler
        reply = None
    finally:
        logger.setLevel(level)
    kind = reply.get("type") if isinstance(reply, dict) else None
    if kind != "Scheduler":
        said = f" (it answers as a Dask {shown(kind)})" if isinstance(kind, str) else ""
        raise _scheduler_problem(scheduler, f"not a Dask scheduler: no scheduler answered "
                                 f"within {ANSWER_TIMEOUT:g} s{said}")
    return address


@contextmanager
def dask_executor(scheduler: str | None):
    """A Dask executor for ``--scheduler``, or None for the local process pool."""
    if scheduler is None:
        yield None
        return
    address = check_scheduler(scheduler)
    from distributed import Client

    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise _scheduler_problem(scheduler, f"cannot use the Dask scheduler "
                                 f"({shown(' '.join(str(exc).split()))[:160]})") from None
    try:
        yield client.get_executor()
    finally:
        client.close()


def _run_options(out: Path | None, label: str, jobs: int | None, resume: bool, force: bool,
                 engine: str | None = None) -> dict[str, Any]:
    """Options every study passes to :func:`sim.run`, with ``-o`` and ``--engine`` checked.

    Nothing is written yet, so a refused folder is reported before any scheduler is
    contacted or any design is built.
    """
    from sim.experiment.runner import check_engine
    from sim.experiment.store import inspect_output

    engine = check_engine(engine)
    folder = out if out is not None else default_out(label)
    inspect_output(folder, force=force, resume=resume)
    return {"out": folder, "jobs": jobs, "resume": resume, "force": force,
            "command": command_line(), "engine": engine}


def _finish(results: Results, no_report: bool, kind: str = "run") -> None:
    folder = Path(results.folder)
    typer.echo(f"results: {shown(folder)}")
    if not no_report:
        from sim.report import write_report

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
    no_report: NoReport = False,
) -> None:
    """Run replications of scenarios with common random numbers and write results."""
    from sim.experiment.runner import assign_ids, run

    loaded, labels = load_with_sets(scenarios, set_)
    label = "_vs_".join(assign_ids(loaded, labels)[:3])
    options = _run_options(out, label, jobs, resume, force, engine)
    with dask_executor(scheduler) as executor:
        results = run(dict(zip(assign_ids(loaded, labels), loaded, strict=True)), replications,
                      seed, months=months, executor=executor, **options)
    typer.echo(f"{len(results.ids)} scenario(s) x {results.replications} replications, "
               f"seed {results.seed}, {results.engine} engine")
    _key_figures(results)
    _finish(results, no_report)


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
    _finish(results, no_report)


@app.command("calibrate")
def calibrate_command(
    scenario: Annotated[str, typer.Argument(help="Scenario name or file.")],
    targets: Annotated[Path, typer.Option("--targets", help="Targets file (TOML).")],
    fit: Annotated[list[str], typer.Option("--fit", metavar="PATH=LOW:HIGH",
                                           help="Parameter to fit (repeatable).")],
    max_evaluations: Annotated[int, typer.Option("--max-evaluations", min=1,
                                                 help="Objective evaluations.")] = 60,
    replications: Replications = None, seed: Seed = None, months: Months = None,
    set_: Sets = None, engine: Engine = None, out: Out = None, jobs: Jobs = None,
    scheduler: Scheduler = None, resume: Resume = False, force: Force = False,
    no_report: NoReport = False,
) -> None:
    """Fit parameters to observed targets; writes calibrated.toml (extends the input)."""
    from sim.experiment.calibration import calibrate, load_targets
    from sim.experiment.runner import check_engine
    from sim.scenario.loader import load_scenario, shipped_scenarios

    engine = check_engine(engine)

    base, label = _one(scenario, set_)
    parameters = _ranges(fit, base, "--fit")
    with _warnings_unless_error():  # a bad targets file is one line, not the horizon's notes
        if months is not None:
            from sim.scenario.overrides import with_horizon

            base = with_horizon(base, months)
        folder = out if out is not None else default_out(f"{label}-calibration")
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


@contextmanager
def _warnings_unless_error() -> Iterator[None]:
    """Hold scenario warnings: shown once each if the block succeeds, dropped if it fails.

    Bad input must be one error line; warnings about the shortened horizon
    (``--months``) that come before it would only bury it.
    """
    import warnings

    from sim.scenario.schema import ScenarioWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ScenarioWarning)
        yield
    for text in dict.fromkeys(str(w.message) for w in caught
                              if issubclass(w.category, ScenarioWarning)):
        warnings.warn(ScenarioWarning(text), stacklevel=3)
    for w in caught:  # anything else, as it was
        if not issubclass(w.category, ScenarioWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


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

    Results.from_folder(folder)  # a marketsim results folder, its manifest checked
    ResultsFolder(folder).check_report_inputs()  # a run that finished, nothing linked in
    typer.echo(f"report: {shown(write_report(folder))}")
