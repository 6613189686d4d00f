"""What the experiment commands share: their options, folders, the Dask executor, warnings.

``run``, ``sweep``, ``sensitivity``, ``calibrate`` (both methods) and ``ensemble`` take one set
of options (INTERFACES.md): ``-r``, ``--seed``, ``--months``, ``--set``, ``--engine``, ``-o``,
``-j``, ``--scheduler``, ``--resume``, ``--force`` and ``--no-report``. Kept apart from the
commands so that every command module can import it (``sim/cli_experiments.py``,
``sim/cli_ensemble.py``, ``sim/cli_bayes.py``) without an import cycle.
"""

from __future__ import annotations

import asyncio
import logging
import re
import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sim.errors import Problem, ScenarioError

if TYPE_CHECKING:
    from sim.scenario.schema import Scenario

__all__ = ["command_line", "load_with_sets", "results_folder", "default_out", "shown",
           "check_scheduler", "dask_executor", "warnings_unless_error"]

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
Posterior = Annotated[str | None, typer.Option(
    "--posterior", metavar="NAME|FILE",
    help="Run an ensemble over a calibrated posterior: a shipped name or a posterior.parquet "
         "(default: the shipped baseline posterior; 'none' runs the scenarios' own values).")]
Draws = Annotated[int | None, typer.Option("--draws", min=1, max=100_000,
                                           help="Posterior draws (default 64); -r is then "
                                           "replications per draw (default 2).")]
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


def results_folder(out: Path | None, label: str) -> Path:
    """``out``, or a new ``reports/<label>-<timestamp>``; remembered for the resume hint."""
    from sim.cli_app import remember_folder

    folder = out if out is not None else default_out(label)
    remember_folder(folder)
    return folder


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


@contextmanager
def warnings_unless_error() -> Iterator[None]:
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
