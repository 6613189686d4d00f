"""``marketsim explore [SCENARIO]``: the browser explorer (Mesa SolaraViz), served on 127.0.0.1.

Registers on :data:`sim.cli_app.app` (imported by :mod:`sim.cli`). The command checks what it
can before it starts anything (the scenarios load, the region and segment exist, the port is
free, the ``explore`` extra is installed), then runs ``solara run sim.app.page`` in a child
process with the settings in ``MARKETSIM_EXPLORE`` (:mod:`sim.app.page`), waits until the
server answers, prints its address and serves until Ctrl-C. The server listens on 127.0.0.1
only and needs no network: solara's assets come from the ``solara-assets`` package and its
telemetry is switched off.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Annotated

import typer

from sim.cli_app import app
from sim.cli_common import Seed, Sets, load_with_sets, shown

__all__ = ["explore_command", "free_port", "HOST"]

#: The only interface the explorer listens on.
HOST = "127.0.0.1"
#: How long the server may take to answer before the command gives up (first imports of
#: solara, mesa and plotly take a few seconds on a cold disk).
START_TIMEOUT = 120.0

_NEEDS_EXTRA = ("the explorer needs the 'explore' extra: run 'make explore', or "
                ".venv/bin/pip install -e '.[explore]'")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            return True
    return False


def _answers(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


def _relay(child: subprocess.Popen) -> None:
    """Pass the server's output on, without its own banner.

    Solara announces its address before it answers; the one address a user (or a script
    waiting for ``http://127.0.0.1:``) should act on is the command's own line, printed once
    the server answers.
    """
    assert child.stdout is not None
    for line in child.stdout:
        if not line.startswith("Solara server is starting at"):
            sys.stdout.write(line)
            sys.stdout.flush()


def _wait_until_up(child: subprocess.Popen, port: int) -> None:
    from sim.errors import ScenarioError

    deadline = time.monotonic() + START_TIMEOUT
    while not _answers(port):
        if child.poll() is not None:
            raise RuntimeError(f"the explorer's server stopped (exit {child.returncode}) "
                               "before it answered; see the lines above")
        if time.monotonic() > deadline:
            child.terminate()
            raise ScenarioError(f"the explorer's server did not answer on port {port} within "
                                f"{START_TIMEOUT:.0f} s")
        time.sleep(0.2)


@app.command("explore")
def explore_command(
    scenario: Annotated[str, typer.Argument(help="The what-if scenario (name or file).")]
    = "eu_blocks_open",
    baseline: Annotated[str, typer.Option("--baseline", help="The reference scenario.")]
    = "baseline",
    region: Annotated[str | None, typer.Option("--region", help="Region shown first "
                                               "(default: the policy's, or World).")] = None,
    segment: Annotated[str | None, typer.Option("--segment", help="Segment shown first "
                                                "(default: developer).")] = None,
    replications: Annotated[int, typer.Option("-r", "--replications", min=1, max=32,
                                              help="Worlds per scenario in each update.")]
    = 4,
    seed: Seed = None, set_: Sets = None,
    jobs: Annotated[int, typer.Option("-j", "--jobs", min=1, max=2, help="Worker processes "
                                      "(2: both scenarios run at once).")] = 2,
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port on 127.0.0.1 "
                                      "(0: any free one).")] = 8765,
) -> None:
    """Explore a scenario in the browser: sliders re-run a small ensemble against the baseline."""
    import importlib.util

    from sim.errors import ScenarioError
    from sim.scenario.loader import find_scenario

    if importlib.util.find_spec("solara") is None or importlib.util.find_spec("anywidget") is None:
        raise ScenarioError(_NEEDS_EXTRA)
    (what_if, reference), _ = load_with_sets([scenario, baseline], set_)
    regions, segments = [*what_if.region_names, "World"], list(what_if.segment_names)
    if region is not None and region not in regions:
        raise ScenarioError(f"--region: unknown region {shown(region)!r}; expected one of "
                            f"{', '.join(regions)}")
    if segment is not None and segment not in segments:
        raise ScenarioError(f"--segment: unknown segment {shown(segment)!r}; expected one of "
                            f"{', '.join(segments)}")
    if port and _port_in_use(port):
        raise ScenarioError(f"--port: port {port} on {HOST} is in use; pass another, or "
                            "--port 0 for any free one")
    chosen = port or free_port()

    def located(name: str) -> str:
        return str(Path(name).resolve()) if Path(name).is_file() else str(find_scenario(name))

    settings = {"scenario": located(scenario), "baseline": located(baseline),
                "sets": list(set_ or []), "replications": replications,
                "seed": 0 if seed is None else seed, "jobs": jobs, "region": region,
                "segment": segment}
    env = {**os.environ, "MARKETSIM_EXPLORE": json.dumps(settings),
           "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "false",  # no telemetry requests
           # Mesa 3.3's SolaraViz breaks a rule-of-hooks lint (an early return before a
           # use_state); the warning is about Mesa's code, not a user's, so it is not shown
           "SOLARA_CHECK_HOOKS": "off",
           # solara warns that SameSite=None cookies need https; on 127.0.0.1 it falls back
           # to SameSite=Lax, which is what a local app wants
           "PYTHONWARNINGS": "ignore:Cookies with samesite=none:UserWarning"}
    command = [sys.executable, "-m", "solara", "run", "sim.app.page", "--host", HOST,
               "--port", str(chosen), "--no-open", "--production",
               "--no-check-version",  # solara would ask PyPI for its latest version
               "--log-level", "warning"]
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, bufsize=1)
    threading.Thread(target=_relay, args=(child,), daemon=True).start()
    try:
        _wait_until_up(child, chosen)
        typer.echo(f"marketsim explorer: {shown(what_if.scenario.name)} against "
                   f"{shown(reference.scenario.name)} at http://{HOST}:{chosen}/ "
                   "(Ctrl-C stops it)")
        child.wait()
    finally:
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
