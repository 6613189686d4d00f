"""The ``marketsim`` command line (also ``python -m sim``): the scenario commands and ``main``.

The application, its shared error policy and its exit codes live in :mod:`sim.cli_app`
(so the experiment commands of :mod:`sim.cli_experiments` can register on it without an
import cycle); this module adds the scenario commands, then imports the experiment
commands, and is the console entry point (``sim.cli:main``).
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from sim.cli_app import (
    DEBUG_ENV,
    EXIT_BAD_INPUT,
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TERMINATED,
    MarketsimGroup,
    Terminated,
    app,
    debug_enabled,
    error_line,
    handle_exception,
    print_error,
    quiet_stdout,
    safe_text,
    scenario_warnings,
    usage_line,
)
from sim.errors import ScenarioError
from sim.scenario.diff import diff_data, format_changes

if TYPE_CHECKING:
    from sim.scenario.schema import Scenario

__all__ = [
    "DEBUG_ENV",
    "EXIT_BAD_INPUT",
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_TERMINATED",
    "MarketsimGroup",
    "Terminated",
    "app",
    "diff_data",
    "error_line",
    "format_changes",
    "handle_exception",
    "main",
    "safe_text",
    "scenario_warnings",
    "usage_line",
]

# --------------------------------------------------------------------------- helpers


def _load(source: str) -> Scenario:
    """Load a scenario by shipped name or path (ScenarioError on bad input)."""
    from sim.scenario.loader import load_scenario

    return load_scenario(source)


def _first_sentence(text: str) -> str:
    text = " ".join(text.split())
    match = re.search(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])", text)
    return text[: match.start()] if match else text


# --------------------------------------------------------------------------- commands


@app.command()
def validate(
    scenarios: Annotated[list[str], typer.Argument(
        metavar="SCENARIO...", help="Scenario files or shipped scenario names.")],
) -> None:
    """Check scenario files and say what is wrong (exit 2 if anything is)."""
    failed = 0
    for source in scenarios:
        try:
            scenario = _load(source)
        except ScenarioError as exc:
            failed += 1
            print_error(f"error: {error_line(exc)}")
            continue
        # the name is free text from the file: printed inert, like everything on stderr
        typer.echo(safe_text(f"ok  {source}: {scenario.scenario.name}"))
    if failed:
        if len(scenarios) > 1:
            print_error(f"{failed} of {len(scenarios)} scenarios are invalid")
        raise typer.Exit(EXIT_BAD_INPUT)


@app.command()
def show(
    scenario: Annotated[str, typer.Argument(
        metavar="SCENARIO", help="A scenario file or shipped scenario name.")],
) -> None:
    """Print the resolved scenario (valid TOML) and what it changes from its parent."""
    from sim.scenario.loader import find_scenario, load_with_parent, read_toml
    from sim.scenario.overrides import scenario_data

    child, parent = load_with_parent(scenario)
    typer.echo(child.to_toml().rstrip("\n"))
    if parent is None:
        typer.echo("\n# No parent scenario: this file extends nothing.")
        return
    ref = read_toml(find_scenario(scenario)).get("scenario", {}).get("extends", "parent")
    changes = diff_data(scenario_data(parent), scenario_data(child))
    typer.echo(f"\n# Changes from {ref} ({parent.scenario.name}):")
    lines = format_changes(changes) or ["(none)"]
    for line in lines:
        typer.echo(f"#   {line}")


@app.command("scenarios")
def list_scenarios() -> None:
    """List the shipped scenarios with one-line descriptions."""
    from sim.scenario.loader import shipped_scenarios

    shipped = shipped_scenarios()
    if not shipped:
        print_error("no shipped scenarios found")
        raise typer.Exit(EXIT_FAILURE)
    width = max(len(name) for name in shipped)
    bad = 0
    for name in shipped:
        try:
            scenario = _load(name)
        except ScenarioError as exc:
            bad += 1
            typer.echo(safe_text(f"{name:<{width}}  (invalid: {exc.problems[0]})"))
            continue
        about = _first_sentence(scenario.scenario.description) or scenario.scenario.name
        typer.echo(safe_text(f"{name:<{width}}  {about}"))
    if bad:
        raise typer.Exit(EXIT_BAD_INPUT)


@app.command()
def schema() -> None:
    """Print the JSON Schema of scenario files (for editors)."""
    from sim.scenario.schema import Scenario

    document = Scenario.model_json_schema()
    document.setdefault("$schema", "https://json-schema.org/draft/2020-12/schema")
    document.setdefault("title", "marketsim scenario")
    typer.echo(json.dumps(document, indent=2, ensure_ascii=False))


# --------------------------------------------------------------------------- entry point


def _terminate(signum: int, frame: Any) -> None:
    """Turn SIGTERM into :class:`Terminated` (exit 143, 128 + 15, the shell's convention)."""
    raise Terminated()


def _quiet_workers() -> None:
    """Keep floating-point RuntimeWarnings out of worker processes' stderr too.

    Spawned workers start with fresh warning filters and read them from the environment;
    a user's own PYTHONWARNINGS (or MARKETSIM_DEBUG) wins.
    """
    if not debug_enabled() and "PYTHONWARNINGS" not in os.environ:
        os.environ["PYTHONWARNINGS"] = "ignore::RuntimeWarning"


def _flush_stdout() -> bool:
    """Flush stdout now (not at interpreter exit); False when its reader has gone."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        quiet_stdout()
        return False
    except (OSError, ValueError, AttributeError):
        return True
    return True


def _exit_code(code: Any) -> int:
    """The integer exit code of a SystemExit's ``code``."""
    if code is None:
        return EXIT_OK
    if isinstance(code, int):
        return code
    print_error(f"error: {code}")  # sys.exit("message") convention
    return EXIT_FAILURE


def main(argv: list[str] | None = None) -> NoReturn:
    """Run the command line and exit with its code.

    Exit codes: 0 success, 2 bad input, 1 a failure while running, 130 SIGINT,
    143 SIGTERM.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).
    """
    # SIGTERM (kill, a job scheduler's time limit) unwinds like an exit, so process pools
    # shut their workers down and finished replications stay on disk for --resume
    signal.signal(signal.SIGTERM, _terminate)
    if argv is None:  # this process is the command (not a program calling main())
        _quiet_workers()
    try:
        try:
            # standalone mode: click calls sys.exit itself; MarketsimGroup has already
            # printed any error as one line
            typer.main.get_command(app).main(args=argv, standalone_mode=True)
            code = EXIT_OK  # pragma: no cover - click always exits in standalone mode
        except Terminated as exc:
            code = handle_exception(exc)
        except SystemExit as exc:
            code = _exit_code(exc.code)
        except BrokenPipeError:
            quiet_stdout()
            code = EXIT_OK
        except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - last resort
            code = handle_exception(exc)
        _flush_stdout()  # a reader that went away is not an error (see the module doc)
    except Terminated as exc:  # SIGTERM while reporting
        code = handle_exception(exc)
    except KeyboardInterrupt as exc:
        code = handle_exception(exc)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    main()


# Experiment commands register themselves on `app` (kept in their own module).
import sim.cli_ensemble  # noqa: E402,F401  (likewise: marketsim ensemble)
import sim.cli_experiments  # noqa: E402,F401  (registers on sim.cli_app.app)
import sim.cli_explore  # noqa: E402,F401  (likewise: marketsim explore)
import sim.cli_robustness  # noqa: E402,F401  (likewise: marketsim robustness)
