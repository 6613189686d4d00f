"""The ``marketsim`` command-line application and its error policy (``sim.cli`` adds the commands).

Every command shares one error policy, applied by :class:`MarketsimGroup` around
whatever command runs (so it holds for ``main()`` and for ``CliRunner`` alike):

* bad input (:class:`sim.ScenarioError`) prints one line ``error: <message>`` on
  stderr, exit 2; several problems are joined on that line with ``;``;
* usage errors (an unknown option or command, a missing argument, a value out of range)
  print one line ``error: <option>: <what is wrong> (try 'marketsim run --help')``, exit 2;
  ``marketsim`` alone prints the help on stdout, exit 2;
* Ctrl-C prints ``interrupted``, exit 130; SIGTERM prints ``terminated``, exit 143
  (``main()`` turns SIGTERM into :class:`Terminated`, so pools shut down and finished
  replications stay on disk);
* anything else prints one line ``marketsim: error: <type>: <message> (set
  MARKETSIM_DEBUG=1 to see the traceback)``, exit 1;
* a closed stdout (``marketsim schema | head -1``) ends quietly with exit 0: whether the
  writer notices depends on pipe buffer sizes, so any other code would be a race.

Everything written to stderr goes through :func:`safe_text`, which escapes newlines,
carriage returns, ANSI escape sequences and every other control character: one message
is always one line, and nothing a scenario file contains can drive the terminal.

Warnings: a :class:`~sim.scenario.schema.ScenarioWarning` prints as one ``warning: ...``
line, each once. Floating-point ``RuntimeWarning``s (numpy's "invalid value encountered
in divide" and the like) are not shown, in this process or in the worker processes it
starts: they name source files, and the model's numerical guard reports the problem they
announce as a clear error. Other warnings print as one ``warning: <type>: <message>``
line, without a source path. ``MARKETSIM_DEBUG=1`` restores Python's own warnings and
tracebacks.

Commands raise ``ScenarioError`` for bad input and otherwise just do their work; they
import heavy modules (pandas, plotly, mesa) inside the command so ``marketsim --help``
stays fast. To add a command, decorate a function with ``@app.command()`` in this module.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
import sys
import traceback
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from sim._version import __version__
from sim.errors import ScenarioError
from sim.scenario.diff import shorten

if TYPE_CHECKING:
    pass

__all__ = ["app", "MarketsimGroup", "handle_exception", "scenario_warnings", "safe_text",
           "print_error", "debug_enabled", "quiet_stdout", "error_line", "usage_line", "Terminated",
           "EXIT_OK", "EXIT_BAD_INPUT", "EXIT_FAILURE", "EXIT_INTERRUPTED", "EXIT_TERMINATED",
           "DEBUG_ENV"]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, the shell's convention
EXIT_TERMINATED = 143  # 128 + SIGTERM
DEBUG_ENV = "MARKETSIM_DEBUG"

# Typer may vendor click (typer._click) or use the click package: find click's classes
# through typer's own BadParameter rather than importing click.
_CLICK = sys.modules[typer.BadParameter.__module__]
_ClickException: type[Exception] = _CLICK.ClickException
_BadParameter: type[Exception] = _CLICK.BadParameter
_MissingParameter: type[Exception] = _CLICK.MissingParameter
_NoArgsIsHelp: type[Exception] | None = getattr(_CLICK, "NoArgsIsHelpError", None)

# Exceptions that are click's own control flow (--help, --version, explicit exits).
_CLI_CONTROL: tuple[type[BaseException], ...] = (typer.Exit, typer.Abort)


class Terminated(SystemExit):
    """SIGTERM, raised in the main thread so that it unwinds like an exit (code 143)."""

    def __init__(self) -> None:
        super().__init__(EXIT_TERMINATED)


def debug_enabled() -> bool:
    """Whether ``MARKETSIM_DEBUG`` asks for tracebacks and Python's own warnings."""
    return os.environ.get(DEBUG_ENV, "").strip().lower() not in ("", "0", "false", "no")


# C0 and C1 controls (newline, carriage return, ESC, ...), DEL, lone surrogates (undecodable
# bytes of a file name), the characters str.splitlines() also breaks on, and the bidi
# overrides that can make a terminal show text in another order than it was written.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
                     "\ud800-\udfff]")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _ESCAPES:
        return _ESCAPES[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_text(text: str) -> str:
    r"""Return ``text`` with every control character escaped, so it prints as one inert line.

    Args:
        text: Any text, e.g. a message that quotes a name from a scenario file.

    Returns:
        The text with a newline as ``\n``, ESC as ``\x1b`` and so on.

    Example:
        >>> safe_text("EU\n\x1b[31mred")
        'EU\\n\\x1b[31mred'
    """
    return _UNSAFE.sub(_escape, text)


def quiet_stdout() -> None:
    """Point stdout at /dev/null, so a reader that went away breaks nothing at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # not a real file (CliRunner, closed)
        pass


def print_error(text: str) -> None:
    """Write one line to stderr, escaped (the only way the CLI reports to stderr)."""
    try:
        typer.echo(safe_text(text), err=True)
    except (BrokenPipeError, ValueError):  # nobody reads stderr (any more): nothing to do
        pass


def error_line(exc: BaseException) -> str:
    """Return the one-line text of a :class:`ScenarioError` (without ``error:``).

    One problem prints as ``str(exc)``; several print on one line, separated by ``;``,
    with their common file named once.

    Args:
        exc: A ScenarioError (or any exception).

    Returns:
        The message, possibly still holding control characters (see :func:`safe_text`).
    """
    problems = list(getattr(exc, "problems", ()) or ())
    if len(problems) <= 1:
        return " ".join(str(exc).splitlines()) or "invalid input"
    limit = int(getattr(exc, "MAX_LISTED", 8))
    files = {getattr(p, "file", None) for p in problems}
    prefix = ""
    if len(files) == 1 and None not in files:
        prefix = f"{files.pop()}: "
        try:
            problems = [dataclasses.replace(p, file=None) for p in problems]
        except TypeError:  # not a dataclass: keep each problem's own text
            prefix = ""
    shown = [str(p) for p in problems[:limit]]
    more = f"; and {len(problems) - limit} more" if len(problems) > limit else ""
    return f"{prefix}{len(problems)} problems: " + "; ".join(shown) + more


def _param_name(param: Any) -> str:
    opts = list(getattr(param, "opts", None) or [])
    if getattr(param, "param_type_name", "") == "option" and opts:
        return "/".join(opts)
    return str(getattr(param, "human_readable_name", None) or getattr(param, "name", "value"))


def _given_value(exc: BaseException) -> Any:
    """The value the user typed, when typer's validation error records it."""
    cause = exc.__cause__
    errors = getattr(cause, "errors", None)
    if callable(errors):
        try:
            first = errors()[0]
        except (IndexError, TypeError, ValueError):
            return None
        value = first.get("input") if isinstance(first, dict) else None
        return value if isinstance(value, str | int | float) else None
    return None


def usage_line(exc: BaseException) -> str:
    """Return the one line a click usage error prints (``error: ... (try '... --help')``).

    Args:
        exc: A click exception (usage error, bad parameter, missing argument, ...).

    Returns:
        The line, starting ``error:``.
    """
    param = getattr(exc, "param", None)
    if isinstance(exc, _BadParameter) and not isinstance(exc, _MissingParameter) \
            and param is not None and getattr(exc, "param_hint", None) is None:
        value = _given_value(exc)
        given = f"invalid value {str(value)!r}: " if value is not None else ""
        message = f"{_param_name(param)}: {given}{getattr(exc, 'message', exc)}"
    else:
        format_message = getattr(exc, "format_message", None)
        message = format_message() if callable(format_message) else str(exc)
    message = " ".join(str(message).split()).rstrip(".") or "invalid usage"
    ctx = getattr(exc, "ctx", None)
    path = getattr(ctx, "command_path", None)
    hint = f" (try '{path} --help')" if path else ""
    return f"error: {message}{hint}"


def handle_exception(exc: BaseException) -> int:
    """Print ``exc`` the way the command line reports it and return the exit code.

    Args:
        exc: A ScenarioError, a click usage error, KeyboardInterrupt, SIGTERM
            (:class:`Terminated`) or any other exception.

    Returns:
        2 for bad input, 130 for an interrupt, 143 for SIGTERM, 1 for anything else.
    """
    if isinstance(exc, ScenarioError):
        if debug_enabled():
            traceback.print_exception(exc)
        print_error(f"error: {error_line(exc)}")
        return EXIT_BAD_INPUT
    if isinstance(exc, _ClickException):
        print_error(usage_line(exc))
        return int(getattr(exc, "exit_code", EXIT_BAD_INPUT))
    if isinstance(exc, KeyboardInterrupt):
        print_error("interrupted" + resume_hint())
        return EXIT_INTERRUPTED
    if isinstance(exc, Terminated):
        print_error("terminated" + resume_hint())
        return EXIT_TERMINATED
    if debug_enabled():
        traceback.print_exception(exc)
    message = shorten(" ".join(str(exc).split()) or "(no message)", 500)
    hint = "" if debug_enabled() else f" (set {DEBUG_ENV}=1 to see the traceback)"
    print_error(f"marketsim: error: {type(exc).__name__}: {message}{hint}")
    return EXIT_FAILURE


#: The results folder the running command writes (set by ``remember_folder``), for the hint
#: an interrupt prints.
_FOLDER: list[Path] = []
#: The arguments of the running command line (``marketsim`` excluded).
_ARGV: list[str] = []


def remember_folder(folder: str | Path) -> None:
    """Note the results folder of the running command (the interrupt's resume hint names it)."""
    _FOLDER[:] = [Path(folder)]


def resume_hint(argv: list[str] | None = None) -> str:
    """``"; continue with: marketsim ... -o FOLDER --resume"``, or ``""`` without a folder.

    The command line as typed, with ``--force`` and any ``-o``/``--out`` replaced by the
    folder the command chose (a default folder has a timestamp, so it must be named).

    Example:
        >>> remember_folder("reports/x")
        >>> resume_hint(["run", "baseline", "--force", "-o", "old"])
        '; continue with: marketsim run baseline -o reports/x --resume'
    """
    if not _FOLDER:
        return ""
    args = list(_ARGV if argv is None else argv)
    kept, skip = [], False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg in ("-o", "--out"):
            skip = True
            continue
        if arg.startswith("--out=") or arg in ("--force", "--resume"):
            continue
        kept.append(arg)
    words = ["marketsim", *kept, "-o", str(_FOLDER[0]), "--resume"]
    return "; continue with: " + " ".join(shlex.quote(w) for w in words)


@contextmanager
def scenario_warnings() -> Iterator[None]:
    """Print warnings as one ``warning: ...`` line on stderr each, once (see the module doc)."""
    shown: set[str] = set()
    original = warnings.showwarning
    debug = debug_enabled()

    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
             file: Any = None, line: str | None = None) -> None:
        from sim.scenario.schema import ScenarioWarning

        if issubclass(category, ScenarioWarning):
            text = f"warning: {message}"
        elif debug:
            original(message, category, filename, lineno, file, line)
            return
        elif issubclass(category, RuntimeWarning):
            return  # floating point: the numerical guard says what went wrong
        elif category is UserWarning:
            text = f"warning: {message}"
        else:
            text = f"warning: {category.__name__}: {message}"
        text = " ".join(text.split())
        if text not in shown:
            shown.add(text)
            print_error(text)

    with warnings.catch_warnings():
        warnings.showwarning = show
        if not debug:
            warnings.filterwarnings("ignore", category=RuntimeWarning)
        yield


class MarketsimGroup(TyperGroup):
    """The command group: applies the shared error policy around every command."""

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None,
                     **extra: Any) -> Any:
        """Parse the top-level options, reporting usage errors as one line."""
        if parent is None:  # a new command line: forget the last one's folder
            _FOLDER.clear()
            _ARGV[:] = [str(a) for a in args]
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except _CLI_CONTROL:
            raise
        except BrokenPipeError:  # `marketsim --help | head -1`
            quiet_stdout()
            raise typer.Exit(EXIT_OK) from None
        except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - before any command
            if _NoArgsIsHelp is not None and isinstance(exc, _NoArgsIsHelp):
                # `marketsim` alone: the help, on stdout where help goes, exit 2 as click does
                typer.echo(exc.format_message())
                raise typer.Exit(EXIT_BAD_INPUT) from None
            raise typer.Exit(handle_exception(exc)) from None

    def invoke(self, ctx: Any) -> Any:
        """Run the chosen command, turning exceptions into messages and exit codes."""
        with scenario_warnings():
            try:
                return super().invoke(ctx)
            except _CLI_CONTROL:
                raise
            except BrokenPipeError:
                quiet_stdout()  # the reader (| head) has what it wanted
                raise typer.Exit(EXIT_OK) from None
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
