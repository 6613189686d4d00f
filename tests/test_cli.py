"""The command line: commands, output formats and the shared error policy."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib

import pytest

import sim
import sim.cli
from sim.cli import diff_data, format_changes
from sim.scenario.overrides import scenario_data
from tests.conftest import OWN

from .conftest import ROOT, SCENARIOS


def test_version(cli) -> None:
    result = cli("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"marketsim {sim.__version__}"


def test_help_lists_commands(cli) -> None:
    result = cli("--help")
    assert result.exit_code == 0
    for command in ("validate", "show", "scenarios", "schema"):
        assert command in result.stdout


def test_usage_error_exits_2(cli) -> None:
    result = cli("valdate", "baseline")
    assert result.exit_code == 2
    assert "No such command 'valdate'" in result.stderr
    assert "Traceback" not in result.stderr
    result = cli("validate")
    assert result.exit_code == 2
    assert "Missing argument" in result.stderr


@pytest.mark.parametrize(("args", "expected"), [
    (["run", *OWN, "baseline", "-r", "0"],
     "error: -r/--replications: invalid value '0': Input should be greater than or equal to 1 "
     "(try 'marketsim run --help')"),
    (["run", *OWN, "baseline", "-j", "0"], "error: -j/--jobs: invalid value '0'"),
    (["run", *OWN, "baseline", "--months", "0"], "error: --months: invalid value '0'"),
    (["run", *OWN, "baseline", "--months", "abc"], "error: --months: invalid value 'abc'"),
    (["run", *OWN, "baseline", "--seed", "-1"], "error: --seed: invalid value '-1'"),
    (["run", *OWN, "baseline", "--bogus"], "error: No such option: --bogus"),
    (["--bogus"], "error: No such option: --bogus (try 'marketsim --help')"),
    (["valdate"], "error: No such command 'valdate'"),
    (["validate"], "error: Missing argument 'SCENARIO...' (try 'marketsim validate --help')"),
    (["run", *OWN, "baseline", "-o"], "error: Option '-o' requires an argument"),
    # click escapes the option itself (\\x0a); the line must stay one inert line either way
    (["validate", "baseline", "--bogus\n\x1b[2J"], "error: No such option: --bogus\\x"),
])
def test_usage_errors_are_one_line(cli, args: list[str], expected: str) -> None:
    result = cli(*args)
    assert result.exit_code == 2, result
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result
    assert result.stderr.startswith(expected), result
    assert "Usage:" not in result.stderr and "\x1b" not in result.stderr


def test_usage_error_in_a_real_process_is_one_line() -> None:
    proc = subprocess.run([sys.executable, "-m", "sim", "run", *OWN, "baseline", "-r", "0"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: -r/--replications: ")
    assert proc.stderr.count("\n") == 1 and proc.stdout == ""


def test_no_arguments_prints_help_on_stdout(cli) -> None:
    result = cli()
    assert result.exit_code == 2
    assert result.stdout.startswith("Usage: marketsim")
    assert "validate" in result.stdout
    assert result.stderr == ""


def test_safe_text_escapes_every_control_character() -> None:
    raw = "a\nb\rc\td\x1b[31me\x07f\x9bg\u2028h\u202ei\x00j\udcff"
    safe = sim.cli.safe_text(raw)
    assert safe == "a\\nb\\rc\\td\\x1b[31me\\x07f\\x9bg\\u2028h\\u202ei\\x00j\\udcff"
    assert len(safe.splitlines()) == 1
    assert sim.cli.safe_text("Zürich 東京 — ok") == "Zürich 東京 — ok"


def test_scenario_error_with_control_characters_is_one_inert_line(cli, monkeypatch) -> None:
    import sim.scenario.loader

    def bad(source: str) -> None:
        raise sim.ScenarioError("regions.EU\n\x1b[2Jerror: fake: unknown region")

    monkeypatch.setattr(sim.scenario.loader, "load_with_parent", bad)
    result = cli("show", "baseline")
    assert result.exit_code == 2
    assert result.stderr == "error: regions.EU\\n\\x1b[2Jerror: fake: unknown region\n"


def test_several_problems_are_one_line(cli, monkeypatch) -> None:
    from sim.errors import Problem

    def bad(source: str) -> None:
        raise sim.ScenarioError([Problem("must be >= 1", path="scenario.months"),
                                 Problem("must be <= 1", path="world.kappa_open")],
                                file="x.toml")

    monkeypatch.setattr(sim.cli, "_load", bad)
    result = cli("validate", "x.toml")
    assert result.exit_code == 2
    assert result.stderr == ("error: x.toml: 2 problems: scenario.months: must be >= 1; "
                             "world.kappa_open: must be <= 1\n")


def test_runtime_warnings_do_not_reach_stderr(cli, monkeypatch) -> None:
    import warnings

    def noisy(source: str) -> None:
        warnings.warn("invalid value encountered in divide", RuntimeWarning, stacklevel=1)
        warnings.warn("old API", FutureWarning, stacklevel=1)
        raise sim.ScenarioError("world.network_effect: the model produced NaN")

    monkeypatch.setattr(sim.cli, "_load", noisy)
    monkeypatch.delenv("MARKETSIM_DEBUG", raising=False)
    result = cli("validate", "baseline")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "warning: FutureWarning: old API",
        "error: world.network_effect: the model produced NaN"]


@pytest.mark.parametrize("args", [["schema"], ["scenarios"], ["--help"]])
def test_broken_pipe_exits_quietly(args: list[str]) -> None:
    """``marketsim schema | head -1``: the reader went away; exit 0, nothing on stderr."""
    process = subprocess.Popen([sys.executable, "-m", "sim", *args], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # before the command writes anything
    stderr = process.stderr.read()
    assert process.wait(timeout=60) == 0, stderr
    assert stderr == b""


def test_validate_shipped(cli) -> None:
    files = sorted(SCENARIOS.glob("*.toml"))
    result = cli("validate", *files)
    assert result.exit_code == 0, result
    assert result.stderr == ""
    title = sim.load_scenario("baseline").scenario.name
    assert f"ok  {SCENARIOS / 'baseline.toml'}: {title}" in result.stdout
    assert len(result.stdout.splitlines()) == len(files)


def test_scenarios_lists_shipped(cli) -> None:
    result = cli("scenarios")
    assert result.exit_code == 0, result
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == sorted(sim.shipped_scenarios())
    eu = next(line for line in lines if line.startswith("eu_blocks_open"))
    # the first sentence of the description, not all of it
    assert eu.rstrip().endswith("citing security?")


def test_schema_is_json_schema(cli) -> None:
    result = cli("schema")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["additionalProperties"] is False
    assert {"scenario", "world", "segments", "regions", "vendors", "policies"} <= set(
        document["properties"])
    assert "BanOpenWeights" in document["$defs"]


def test_show_prints_loadable_toml_and_changes(cli, write) -> None:
    result = cli("show", "eu_blocks_open")
    assert result.exit_code == 0, result
    resolved = tomllib.loads(result.stdout)  # changes are comments: still valid TOML
    assert resolved["scenario"]["name"] == "EU blocks open-weights models"
    title = sim.load_scenario("baseline").scenario.name
    assert f"# Changes from baseline ({title}):" in result.stdout
    # the added policy is addressed by its label
    assert ('#   + policies."EU bans open weights" = {kind = "ban_open_weights", '
            'label = "EU bans open weights", region = "EU", start = "2027-01"'
            in result.stdout)
    path = write("resolved.toml", result.stdout)
    assert sim.load_scenario(path) == sim.load_scenario("eu_blocks_open")


def test_show_without_parent(cli) -> None:
    result = cli("show", "baseline")
    assert result.exit_code == 0
    assert "extends nothing" in result.stdout
    assert "Changes from" not in result.stdout


def test_show_lists_removed_items(cli, write) -> None:
    path = write("child.toml", """
[scenario]
name = "No Moonshot"
extends = "baseline"

[[vendors]]
name = "Moonshot"
remove = true
""")
    result = cli("show", path)
    assert result.exit_code == 0, result
    changes = result.stdout.split("# Changes from baseline", 1)[1]
    assert "#   - vendors.Moonshot\n" in changes
    # its product's shares go with it
    assert "#   - regions.CN.shares.consumer.Kimi\n" in changes


def test_show_bad_child_exits_2(cli, write) -> None:
    path = write("child.toml", """
[scenario]
name = "Child"
extends = "baseline"

[[regions]]
name = "EU"

[regions.shares]
enterprise = { Nobody = 0.0 }
""")
    result = cli("show", path)
    assert result.exit_code == 2, result
    assert result.stdout == ""
    assert "regions.EU.shares.enterprise.Nobody" in result.stderr
    assert "unknown product 'Nobody'" in result.stderr


def test_show_diff_paths(cli, write) -> None:
    path = write("child.toml", """
[scenario]
name = "Child"
extends = "baseline"

[world]
network_effect = 1.2

[[vendors]]
name = "Mistral"

[[vendors.products]]
name = "Mistral-open"
capability = 93.0

[[regions]]
name = "EU"
adopters = { consumer = 4.5e8 }
""")
    result = cli("show", path)
    assert result.exit_code == 0, result
    changes = result.stdout.split("# Changes from baseline", 1)[1]
    was = sim.load_scenario("baseline").world.network_effect
    assert f"~ world.network_effect = 1.2 (was {was})" in changes
    assert "~ vendors.Mistral.products.Mistral-open.capability = 93.0 (was 91.0)" in changes
    assert "~ regions.EU.adopters.consumer = 450000000.0 (was 410000000.0)" in changes
    assert "policies" not in changes


def test_diff_data_addresses_items_by_name_and_policies_by_index() -> None:
    base = sim.load_scenario("baseline")
    old = scenario_data(base)
    new = json.loads(json.dumps(old))
    new["vendors"] = [v for v in new["vendors"] if v["name"] != "Baidu"]
    new["vendors"].append({**old["vendors"][0], "name": "Newco"})
    new["vendors"].reverse()  # order alone is not a change
    new["segments"][0]["switching_cost"] = 9.0
    new["policies"].append({"kind": "interoperability", "region": "EU"})
    added = f"policies.{len(base.policies)}"  # unlabelled: addressed by index
    changes = {(op, path) for op, path, _, _ in diff_data(old, new)}
    assert changes == {
        ("-", "vendors.Baidu"),
        ("+", "vendors.Newco"),
        ("~", "segments.enterprise.switching_cost"),
        ("+", added),
    }
    lines = format_changes(diff_data(old, new))
    assert f'+ {added} = {{kind = "interoperability", region = "EU"}}' in lines
    assert "- vendors.Baidu" in lines


def test_diff_data_type_change_counts() -> None:
    assert diff_data({"a": 1}, {"a": 1.0}) == [("~", "a", 1, 1.0)]
    assert diff_data({"a": [1, 2]}, {"a": [1, 2]}) == []


# --------------------------------------------------------------------------- error policy


def test_unexpected_error_is_one_line_exit_1(cli, monkeypatch) -> None:
    def boom(source: str) -> None:
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setattr(sim.cli, "_load", boom)
    monkeypatch.delenv("MARKETSIM_DEBUG", raising=False)
    result = cli("validate", "baseline")
    assert result.exit_code == 1
    # one line, the debug hint on it
    assert result.stderr.splitlines() == [
        "marketsim: error: RuntimeError: disk on fire second line "
        "(set MARKETSIM_DEBUG=1 to see the traceback)"]
    assert "Traceback" not in result.stderr


def test_debug_shows_traceback(cli, monkeypatch) -> None:
    def boom(source: str) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(sim.cli, "_load", boom)
    monkeypatch.setenv("MARKETSIM_DEBUG", "1")
    result = cli("validate", "baseline")
    assert result.exit_code == 1
    assert "Traceback" in result.stderr
    assert "marketsim: error: RuntimeError: disk on fire" in result.stderr


def test_keyboard_interrupt_exits_130(cli, monkeypatch) -> None:
    def interrupted(source: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(sim.cli, "_load", interrupted)
    result = cli("validate", "baseline")
    assert result.exit_code == 130
    assert result.stderr.strip() == "interrupted"  # validate writes no folder: nothing to resume


def test_scenario_error_from_any_command_exits_2(cli, monkeypatch) -> None:
    import sim.scenario.loader

    def bad(source: str) -> None:
        raise sim.ScenarioError("targets.csv: column 'month' is missing")

    monkeypatch.setattr(sim.scenario.loader, "load_with_parent", bad)
    result = cli("show", "baseline")
    assert result.exit_code == 2
    assert result.stderr == "error: targets.csv: column 'month' is missing\n"


def test_long_unexpected_messages_are_cut(cli, monkeypatch) -> None:
    def boom(source: str) -> None:
        raise ValueError("x" * 5000)

    monkeypatch.setattr(sim.cli, "_load", boom)
    result = cli("validate", "baseline")
    assert result.exit_code == 1
    assert len(result.stderr.splitlines()[0]) < 600


def test_main_exits_with_codes(monkeypatch, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        sim.cli.main(["validate", "baseline"])
    assert info.value.code == 0
    assert "ok  baseline" in capsys.readouterr().out
    with pytest.raises(SystemExit) as info:
        sim.cli.main(["validate", "no-such-scenario"])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        sim.cli.main(["--bogus"])
    assert info.value.code == 2


def test_scenario_warning_is_one_line(cli, write) -> None:
    path = write("late.toml", """
[scenario]
name = "Late policy"
extends = "baseline"
months = 24                       # after every dated input of the baseline (2025-08)

[[policies]]
kind = "interoperability"
region = "EU"
start = "2030-01"
""")
    result = cli("validate", path)
    assert result.exit_code == 0, result
    assert "ok  " in result.stdout
    lines = result.stderr.splitlines()
    first = len(sim.load_scenario("baseline").policies)
    assert lines == [
        f"warning: policies.{first} starts after the horizon (24 months) and never acts"]


def test_help_does_not_import_heavy_modules() -> None:
    code = ("import sys, sim.cli; heavy = [m for m in ('pandas', 'plotly', 'mesa', 'scipy', "
            "'pyarrow') if m in sys.modules]; print(','.join(heavy))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", f"imported at startup: {proc.stdout.strip()}"
    proc = subprocess.run([sys.executable, "-m", "sim", "--help"], capture_output=True,
                          text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0
    assert "validate" in proc.stdout
