"""Shared test helpers: running the command line in-process, fixture paths."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

#: The browser fixtures (``browser``, ``open_report``) of the report and explorer tests.
pytest_plugins = ["tests.browser_support"]

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
BAD = FIXTURES / "bad"
SCENARIOS = ROOT / "scenarios"
#: ``marketsim run`` options for the scenarios' own values: the command runs over the shipped
#: posterior by default (issue 19), which tests of other behaviour do not need
#: (test_posterior_ensembles.py tests the default).
OWN = ("--posterior", "none")


@dataclass
class CliResult:
    """What a command printed and its exit code."""

    exit_code: int
    stdout: str
    stderr: str
    exception: BaseException | None

    def __str__(self) -> str:  # shown by pytest when an assertion fails
        return (f"exit {self.exit_code}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"
                f"\n--- exception\n{self.exception!r}")


def invoke(*args: str | Path) -> CliResult:
    """Run ``marketsim ARGS...`` in-process and capture its output."""
    from sim.cli import app

    runner = CliRunner()
    result = runner.invoke(app, [str(a) for a in args], prog_name="marketsim")
    exception = result.exception
    if isinstance(exception, SystemExit):
        exception = None
    return CliResult(result.exit_code, result.stdout, result.stderr, exception)


@pytest.fixture
def cli() -> Callable[..., CliResult]:
    """``cli("validate", path)`` runs the command line in-process."""
    return invoke


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """``write("name.toml", text)`` writes a file under tmp_path and returns its path."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return _write
