"""The ``marketsim`` command line (also ``python -m sim``).

Every command shares one error policy, applied by :class:`MarketsimGroup` around
whatever command runs (so it holds for ``main()`` and for ``CliRunner`` alike):

* bad input (:class:`sim.ScenarioError`) prints its message to stderr, exit 2;
* usage errors are click's: a short message on stderr, exit 2;
* Ctrl-C prints ``interrupted``, exit 130;
* anything else prints one line ``marketsim: error: <type>: <message>`` and a hint to
  set ``MARKETSIM_DEBUG=1`` for the traceback, exit 1.

Scenario warnings print as one ``warning: ...`` line each. Commands raise
``ScenarioError`` for bad input and otherwise just do their work; they import heavy
modules (pandas, plotly, mesa) inside the command so ``marketsim --help`` stays fast.
To add a command, decorate a function with ``@app.command()`` in this module.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import traceback
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

from sim._version import __version__
from sim.errors import ScenarioError

if TYPE_CHECKING:
    from sim.scenario.schema import Scenario

__all__ = ["app", "main", "MarketsimGroup", "handle_exception", "scenario_warnings", "diff_data",
           "format_changes", "EXIT_BAD_INPUT", "EXIT_FAILURE", "EXIT_INTERRUPTED", "DEBUG_ENV"]

EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
DEBUG_ENV = "MARKETSIM_DEBUG"


def _click_exception_type() -> type[BaseException]:
    """Return click's ClickException, wherever this typer version keeps click."""
    for cls in typer.BadParameter.__mro__:
        if cls.__name__ == "ClickException":
            return cls
    return typer.BadParameter  # pragma: no cover - every click has ClickException

# Exceptions that are click's own control flow (usage errors, --help, explicit exits).
_CLI_CONTROL: tuple[type[BaseException], ...] = (
    typer.Exit, typer.Abort, _click_exception_type(), BrokenPipeError,
)


def _debug() -> bool:
    return os.environ.get(DEBUG_ENV, "").strip().lower() not in ("", "0", "false", "no")


def _err(text: str) -> None:
    typer.echo(text, err=True)


def handle_exception(exc: BaseException) -> int:
    """Print ``exc`` the way the command line reports it and return the exit code.

    Args:
        exc: A ScenarioError, KeyboardInterrupt or any other exception.

    Returns:
        2 for bad input, 130 for an interrupt, 1 for anything else.
    """
    if isinstance(exc, ScenarioError):
        if _debug():
            traceback.print_exception(exc)
        _err(f"error: {exc}")
        return EXIT_BAD_INPUT
    if isinstance(exc, KeyboardInterrupt):
        _err("interrupted")
        return EXIT_INTERRUPTED
    if _debug():
        traceback.print_exception(exc)
    message = _short(" ".join(str(exc).split()) or "(no message)", 500)
    _err(f"marketsim: error: {type(exc).__name__}: {message}")
    if not _debug():
        _err(f"(set {DEBUG_ENV}=1 to see the traceback)")
    return EXIT_FAILURE


@contextmanager
def scenario_warnings() -> Iterator[None]:
    """Print scenario warnings as ``warning: ...`` lines on stderr, each once."""
    shown: set[str] = set()
    original = warnings.showwarning

    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
             file: Any = None, line: str | None = None) -> None:
        from sim.scenario.schema import ScenarioWarning

        if issubclass(category, ScenarioWarning):
            text = f"warning: {message}"
            if text not in shown:
                shown.add(text)
                _err(text)
        else:
            original(message, category, filename, lineno, file, line)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


class MarketsimGroup(TyperGroup):
    """The command group: applies the shared error policy around every command."""

    def invoke(self, ctx: Any) -> Any:
        """Run the chosen command, turning exceptions into messages and exit codes."""
        with scenario_warnings():
            try:
                return super().invoke(ctx)
            except _CLI_CONTROL:
                raise
            except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - the CLI boundary
                raise typer.Exit(handle_exception(exc)) from None


app = typer.Typer(
    cls=MarketsimGroup,
    name="marketsim",
    help="Agent-based simulator of AI-model markets: open-weights vs closed vendors.\n\n"
    "SCENARIO is a path to a .toml file or the name of a shipped scenario "
    "(see 'marketsim scenarios').",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"marketsim {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option(
        "--version", callback=_version_callback, is_eager=True,
        help="Print the version and exit.")] = False,
) -> None:
    """Agent-based simulator of AI-model markets: open-weights vs closed vendors."""


# --------------------------------------------------------------------------- helpers


def _load(source: str) -> Scenario:
    """Load a scenario by shipped name or path (ScenarioError on bad input)."""
    from sim.scenario.loader import load_scenario

    return load_scenario(source)


def _first_sentence(text: str) -> str:
    text = " ".join(text.split())
    match = re.search(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])", text)
    return text[: match.start()] if match else text


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _inline(value: Any) -> str:
    """Format a value as an inline TOML value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(f"{_key(k)} = {_inline(v)}" for k, v in value.items())
        return "{" + items + "}" if items else "{}"
    return json.dumps(str(value))


def _key(key: Any) -> str:
    key = str(key)
    return key if _BARE_KEY.match(key) else json.dumps(key, ensure_ascii=False)


def _short(text: str, limit: int = 100) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


NAMED_ARRAYS = ("regions", "segments", "vendors")


def diff_data(old: Any, new: Any, path: tuple[str, ...] = ()) -> list[tuple[str, str, Any, Any]]:
    """List the differences between two scenario dicts, as dotted paths.

    Named items (regions, segments, vendors) are matched by name, policies by index,
    so the paths are the ones ``--set`` and ``with_overrides`` accept.

    Args:
        old: The parent's data (``scenario_data(parent)``).
        new: The child's data.
        path: Prefix of the paths (used when recursing).

    Returns:
        ``(op, dotted_path, old_value, new_value)`` tuples, op being ``+`` (added),
        ``-`` (removed) or ``~`` (changed); missing values are None.
    """
    dotted = ".".join(path)
    if isinstance(old, dict) and isinstance(new, dict):
        changes: list[tuple[str, str, Any, Any]] = []
        for key in [*new, *(k for k in old if k not in new)]:
            sub = (*path, str(key))
            if key not in old:
                changes.append(("+", ".".join(sub), None, new[key]))
            elif key not in new:
                changes.append(("-", ".".join(sub), old[key], None))
            elif len(path) == 0 and key in NAMED_ARRAYS and _named_list(old[key]) and \
                    _named_list(new[key]):
                changes.extend(diff_data(_by_name(old[key]), _by_name(new[key]), sub))
            elif len(path) == 0 and key == "policies" and isinstance(old[key], list) and \
                    isinstance(new[key], list):
                changes.extend(diff_data(dict(enumerate(old[key])), dict(enumerate(new[key])),
                                         sub))
            else:
                changes.extend(diff_data(old[key], new[key], sub))
        return changes
    if old == new and type(old) is type(new):
        return []
    return [("~", dotted, old, new)]


def _named_list(items: Any) -> bool:
    return isinstance(items, list) and all(isinstance(i, dict) and "name" in i for i in items)


def _by_name(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {str(item["name"]): item for item in items}


def format_changes(changes: list[tuple[str, str, Any, Any]]) -> list[str]:
    """Format :func:`diff_data` output as lines (``+ path = value``, ``~ path = new (was old)``)."""
    from sim.scenario.dump import kind_first

    lines = []
    for op, path, old, new in changes:
        if op == "+":
            if isinstance(new, dict):
                new = kind_first(new)
            lines.append(f"+ {path} = {_short(_inline(new), 200)}")
        elif op == "-":
            lines.append(f"- {path}")
        else:
            lines.append(f"~ {path} = {_short(_inline(new), 70)} (was {_short(_inline(old), 40)})")
    return lines


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
            _err(f"error: {exc}")
            continue
        typer.echo(f"ok  {source}: {scenario.scenario.name}")
    if failed:
        if len(scenarios) > 1:
            _err(f"{failed} of {len(scenarios)} scenarios are invalid")
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
        _err("no shipped scenarios found")
        raise typer.Exit(EXIT_FAILURE)
    width = max(len(name) for name in shipped)
    bad = 0
    for name in shipped:
        try:
            scenario = _load(name)
        except ScenarioError as exc:
            bad += 1
            typer.echo(f"{name:<{width}}  (invalid: {exc.problems[0]})")
            continue
        about = _first_sentence(scenario.scenario.description) or scenario.scenario.name
        typer.echo(f"{name:<{width}}  {about}")
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
    """Turn SIGTERM into SystemExit(143) (128 + 15, the shell's convention)."""
    raise SystemExit(128 + signal.SIGTERM)


def main(argv: list[str] | None = None) -> NoReturn:
    """Run the command line and exit with its code.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).
    """
    # SIGTERM (kill, a job scheduler's time limit) unwinds like an exit, so process pools
    # shut their workers down and finished replications stay on disk for --resume
    signal.signal(signal.SIGTERM, _terminate)
    try:
        # standalone mode: click reports usage errors (exit 2) and calls sys.exit itself
        typer.main.get_command(app).main(args=argv, standalone_mode=True)
    except SystemExit:
        raise
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - last resort
        sys.exit(handle_exception(exc))
    sys.exit(0)  # pragma: no cover - click always exits in standalone mode


if __name__ == "__main__":  # pragma: no cover
    main()


# Experiment commands register themselves on `app` (kept in their own module).
import sim.cli_experiments  # noqa: E402,F401
