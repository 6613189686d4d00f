"""``marketsim explore``: what it checks before it starts a server (each bad input, one line).

The browser test (:mod:`tests.test_explore_browser`) drives a running explorer; these tests
never start one: every case fails before the server would.
"""

from __future__ import annotations

import importlib.util
import socket

import pytest

from sim.cli_explore import HOST, free_port


def _one_line_error(result, *expected: str) -> None:
    assert result.exit_code == 2, result
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), result
    for part in expected:
        assert part in result.stderr, result


def test_an_unknown_region_is_one_line(cli) -> None:
    _one_line_error(cli("explore", "eu_blocks_open", "--region", "Mars", "--port", "0"),
                    "--region", "'Mars'", "EU", "World")


def test_an_unknown_segment_is_one_line(cli) -> None:
    _one_line_error(cli("explore", "--segment", "robots", "--port", "0"),
                    "--segment", "'robots'", "developer")


def test_an_unknown_scenario_is_one_line(cli) -> None:
    result = cli("explore", "no_such_scenario", "--port", "0")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, result
    assert "no_such_scenario" in result.stderr


def test_a_bad_set_is_one_line(cli) -> None:
    result = cli("explore", "--set", "world.network_effect=lots", "--port", "0")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, result
    assert "world.network_effect" in result.stderr


def test_a_port_in_use_is_one_line(cli) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind((HOST, 0))
        taken.listen()
        port = taken.getsockname()[1]
        _one_line_error(cli("explore", "--port", str(port)), f"port {port}", "--port 0")


def test_a_missing_extra_is_one_line(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "solara" else real(name, *a))
    _one_line_error(cli("explore", "--port", "0"), "'explore' extra", "make explore")


@pytest.mark.parametrize("args", [["-r", "0"], ["-r", "33"], ["-j", "3"], ["--port", "70000"]])
def test_out_of_range_options_are_one_line(cli, args: list[str]) -> None:
    _one_line_error(cli("explore", *args), args[0], "invalid value")


def test_free_port_is_free_on_the_loopback() -> None:
    port = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, port))  # raises if something listens there
    assert 0 < port < 65536
