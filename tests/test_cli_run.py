"""``marketsim run/sweep/sensitivity/calibrate``: interruption, resume, refusal, bad input.

The report module is tested elsewhere; every command here passes ``--no-report``.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import OWN

from .conftest import FIXTURES, ROOT

TARGETS = FIXTURES / "targets"
DATA_FILES = ("market.parquet", "vendors.parquet", "products.parquet", "events.parquet",
              "summary.csv")
# enough work (40 replications of 60 months) that a signal sent when the first replication
# is stored always arrives before the last one is
RUN = ["run", *OWN, "baseline", "eu_blocks_open", "-r", "20", "--seed", "9", "--months", "60",
       "--no-report"]


def digests(folder: Path) -> dict[str, str]:
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest()
            for name in DATA_FILES}


def default_sigint() -> None:
    """In the child: Ctrl-C handled normally even if the test runner ignores SIGINT.

    A job started in the background of a non-interactive shell (as CI may start the suite)
    inherits SIGINT ignored, and Python then never raises KeyboardInterrupt.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def marketsim(*args: str | Path, stderr=subprocess.PIPE) -> subprocess.Popen:
    """Start ``python -m sim ARGS`` with stdout and stderr piped (not a terminal)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "sim", *map(str, args)], cwd=ROOT, env=env,
                            preexec_fn=default_sigint,
                            stdout=subprocess.PIPE, stderr=stderr, text=True)


def wait_for_first_done(process: subprocess.Popen, folder: Path, limit: float = 120) -> None:
    deadline = time.monotonic() + limit
    while not any((folder / "parts").glob("*/*.done")):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no replication finished in time"
        time.sleep(0.01)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from .conftest import invoke

    out = tmp_path_factory.mktemp("cli") / "fresh"
    result = invoke(*RUN, "-o", out, "-j", "1")
    assert result.exit_code == 0, result
    return out


@pytest.mark.slow
def test_ctrl_c_then_resume_equals_an_uninterrupted_run(uninterrupted: Path, tmp_path: Path,
                                                        cli) -> None:
    out = tmp_path / "run"
    process = marketsim(*RUN, "-o", out, "-j", "1")
    wait_for_first_done(process, out)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, (stdout, stderr)
    last = stderr.strip().splitlines()[-1]
    prefix = "interrupted; continue with: marketsim "
    assert last.startswith(prefix), last
    assert "Traceback" not in stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    assert manifest["command"].startswith(
        "marketsim run --posterior none baseline eu_blocks_open -r 20")
    done = sum(manifest["finished"].values())
    assert 1 <= done < 40
    assert len(list((out / "parts").glob("*/*.done"))) == done

    import shlex

    resume = shlex.split(last.removeprefix(prefix))  # the printed command, as printed
    assert resume[-3:] == ["-o", str(out), "--resume"]
    result = cli(*resume)
    assert result.exit_code == 0, result
    assert digests(out) == digests(uninterrupted)
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"


@pytest.mark.slow
def test_killed_run_resumes_too(uninterrupted: Path, tmp_path: Path, cli) -> None:
    out = tmp_path / "run"
    process = marketsim(*RUN, "-o", out, "-j", "1")
    wait_for_first_done(process, out)
    process.kill()
    process.communicate(timeout=60)
    assert json.loads((out / "manifest.json").read_text())["status"] == "running"
    result = cli(*RUN, "-o", out, "-j", "2", "--resume")  # another job count, same files
    assert result.exit_code == 0, result
    assert digests(out) == digests(uninterrupted)


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX process groups")
def test_ctrl_c_on_a_terminal_with_workers_is_one_line(tmp_path: Path) -> None:
    """A terminal's Ctrl-C reaches the workers too; only the parent reports it."""
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "sim", *RUN, "-o", str(out), "-j", "2"],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True,
                               preexec_fn=default_sigint)
    wait_for_first_done(process, out)
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130
    assert stderr.count("\n") == 1 and stderr.startswith("interrupted; continue with: ")
    assert stderr.endswith(f" -j 2 -o {out} --resume\n")
    assert json.loads((out / "manifest.json").read_text())["status"] == "interrupted"


def test_quiet_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    # the whole horizon: a shorter run warns about the baseline's later launches and policies
    process = marketsim("run", *OWN, "baseline", "-r", "1", "-o", tmp_path / "q",
                        "--no-report", "-j", "1", "--engine", "expected")
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    assert stderr == ""
    assert "results:" in stdout


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    import fcntl
    import pty
    import struct
    import termios

    leader, follower = pty.openpty()
    # a terminal 100 columns wide (a fresh pseudo-terminal has 0, and tqdm draws nothing)
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    process = marketsim("run", *OWN, "baseline", "-r", "3", "--months", "2", "-o", tmp_path / "t",
                        "--no-report", "-j", "1", stderr=follower)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=120)
    os.close(leader)
    assert process.returncode == 0
    shown = b"".join(chunks).decode(errors="replace")
    assert "replications" in shown and "3/3" in shown


# --- the results folder ----------------------------------------------------------------


def test_non_empty_folder_refused_then_forced(uninterrupted: Path, tmp_path: Path, cli) -> None:
    """--force replaces only a marketsim results folder, and only marketsim's files in it."""
    out = tmp_path / "busy"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    result = cli(*RUN, "-o", out, "-j", "1")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "--resume" in result.stderr
    assert "--force" in result.stderr and str(out) in result.stderr
    # not a marketsim folder: --force is refused and nothing is removed
    result = cli(*RUN, "-o", out, "-j", "1", "--force")
    assert result.exit_code == 2, result
    assert result.stderr.count("\n") == 1 and "not a marketsim results folder" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    # a marketsim folder holding a file of the user's: replaced, the user's file kept
    import shutil

    shutil.rmtree(out)
    shutil.copytree(uninterrupted, out)
    (out / "keep.txt").write_text("x")
    (out / "market.parquet").write_bytes(b"stale")
    result = cli(*RUN, "-o", out, "-j", "1", "--force")
    assert result.exit_code == 0, result
    assert (out / "keep.txt").read_text() == "x"
    assert result.stderr.startswith("note: ") and result.stderr.count("\n") == 1
    assert "keep.txt" in result.stderr
    assert digests(out) == digests(uninterrupted)


def test_resume_on_a_folder_from_another_scenario_is_refused(uninterrupted: Path, cli) -> None:
    before = digests(uninterrupted)
    result = cli("run", *OWN, "baseline", "-r", "6", "--seed", "9", "--months", "36", "--no-report",
                 "-o", uninterrupted, "--resume")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "another run" in result.stderr and "eu_blocks_open" in result.stderr
    assert digests(uninterrupted) == before


def test_resume_on_a_missing_folder_starts_fresh(tmp_path: Path, cli) -> None:
    result = cli("run", *OWN, "baseline", "-r", "1", "--months", "2", "--no-report", "-j", "1",
                 "-o", tmp_path / "new", "--resume")
    assert result.exit_code == 0, result
    assert json.loads((tmp_path / "new" / "manifest.json").read_text())["status"] == "complete"


def test_default_folder_is_new_under_reports(tmp_path: Path, cli,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        result = cli("run", *OWN, "baseline", "-r", "1", "--months", "1", "--no-report", "-j", "1")
        assert result.exit_code == 0, result
    folders = sorted((tmp_path / "reports").iterdir())
    assert len(folders) == 2 and all(f.name.startswith("baseline-") for f in folders)


def test_repeated_scenario_ids_on_the_command_line(tmp_path: Path, cli) -> None:
    result = cli("run", *OWN, "baseline", "baseline", "-r", "2", "--months", "2", "--no-report",
                 "-j", "1", "-o", tmp_path)
    assert result.exit_code == 0, result
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert list(summary["scenario"].unique()) == ["baseline", "baseline-2"]
    assert (tmp_path / "scenarios" / "baseline-2.toml").is_file()
    second = summary[(summary["scenario"] == "baseline-2") & summary["mean"].notna()]
    assert (second["diff_mean"] == 0).all()
    assert "+0 [+0, +0]" in result.stdout  # the key figures' paired difference vs itself


def test_key_figures_name_units_date_and_markets(tmp_path: Path, cli) -> None:
    """The run command prints, per scenario and paired against the first, each EU and US
    market's HHI, enterprise and developer open shares, the world enterprise price and EU
    consumer surplus, harm and net welfare, headed by the final month's date and each
    metric's unit, then the break-even misuse premium and hazard multiple of each
    comparison."""
    from sim.metric_names import METRIC_UNITS

    result = cli("run", *OWN, "baseline", "eu_blocks_open", "-r", "2", "--months", "3",
                 "--no-report", "-j", "1", "-o", tmp_path, "--engine", "expected")
    assert result.exit_code == 0, result
    lines = result.stdout.splitlines()
    assert "expected engine" in lines[0]
    assert any(line.startswith("key figures in 2024-04 (month 3)") for line in lines)
    for metric in ("hhi_market", "open_usage_share", "price_paid", "consumer_surplus_usd"):
        assert f"{metric} ({METRIC_UNITS[metric]})" in lines
    start = lines.index(next(line for line in lines
                             if line.startswith("break_even_misuse_premium (")))
    rows = [line.split() for line in lines[:start] if line.startswith("  ")]
    # then m* of the one comparison in the EU, the US and the World, each with its note,
    # then k*, the hazard multiple, likewise
    hazard = lines.index(next(line for line in lines
                              if line.startswith("break_even_hazard_multiple (")))
    assert hazard > start
    for block in (lines[start + 1:hazard], lines[hazard + 1:]):
        break_even = [line.split() for line in block if line.startswith("  ")]
        assert [r[:2] for r in break_even] == [["eu_blocks_open", "EU"],
                                               ["eu_blocks_open", "US"],
                                               ["eu_blocks_open", "World"]]
        assert all("paired runs" in " ".join(r) for r in break_even)
    cells = {(r[0], r[1], r[2]) for r in rows}
    for scenario in ("baseline", "eu_blocks_open"):
        for region in ("EU", "US"):
            for segment in ("enterprise", "developer", "consumer"):
                assert (scenario, region, segment) in cells
        assert (scenario, "World", "enterprise") in cells and (scenario, "EU", "all") in cells
    assert len(rows) == 2 * (6 + 4 + 1 + 3)  # HHIs, open shares, price, CS, harm, net welfare
    compared = [r for r in rows if r[0] == "eu_blocks_open"]
    assert all("[" in " ".join(r) for r in compared)  # every one with its paired difference
    assert not any("[" in " ".join(r) for r in rows if r[0] == "baseline")
    # about three significant figures: never a long run of digits
    import re

    assert not re.search(r"\d{5,}|0\.000", result.stdout.split("key figures", 1)[1])


def test_set_is_applied_and_recorded(tmp_path: Path, cli) -> None:
    result = cli("run", *OWN, "baseline", "-r", "1", "--months", "2", "--no-report", "-j", "1",
                 "--set", "world.network_effect=1.25", "-o", tmp_path)
    assert result.exit_code == 0, result
    saved = tomllib.loads((tmp_path / "scenarios" / "baseline.toml").read_text())
    assert saved["world"]["network_effect"] == 1.25


# --- sweep, sensitivity, calibrate -----------------------------------------------------


def test_sweep_grid(tmp_path: Path, cli) -> None:
    result = cli("sweep", "baseline", "--vary", "world.network_effect=0.2:1.0",
                 "--vary", "vendors.Meta.strategy=fixed,adaptive", "--design", "grid",
                 "--engine", "expected",
                 "--samples", "2", "-r", "1", "--months", "2", "-j", "1", "--no-report",
                 "-o", tmp_path)
    assert result.exit_code == 0, result
    design = pd.read_parquet(tmp_path / "design.parquet")
    assert len(design) == 2 * 2
    assert list(design.columns) == ["point", "world.network_effect", "vendors.Meta.strategy"]
    assert design["vendors.Meta.strategy"].tolist() == ["fixed", "adaptive"] * 2
    assert design["point"].tolist() == [f"baseline-{i:04d}" for i in range(4)]
    market = pd.read_parquet(tmp_path / "market.parquet", columns=["scenario"])
    assert list(market["scenario"].unique()) == design["point"].tolist()
    assert json.loads((tmp_path / "manifest.json").read_text())["engine"] == "expected"


def test_sweep_resume_reruns_nothing(tmp_path: Path, cli) -> None:
    args = ["sweep", "baseline", "--vary", "world.network_effect=0.2:1.0", "--design", "lhs",
            "--samples", "3", "-r", "1", "--months", "2", "-j", "1", "--no-report",
            "-o", tmp_path]
    assert cli(*args).exit_code == 0
    before = {**digests(tmp_path), "design": (tmp_path / "design.parquet").read_bytes()}
    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "parts").rglob("*.parquet")}
    result = cli(*args, "--resume")
    assert result.exit_code == 0, result
    assert {**digests(tmp_path), "design": (tmp_path / "design.parquet").read_bytes()} == before
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "parts").rglob("*.parquet")} == stamps


def test_sensitivity_command(tmp_path: Path, cli) -> None:
    result = cli("sensitivity", "baseline", "--vary", "world.network_effect=0.1:1.5",
                 "--method", "sobol", "--samples", "2", "--metric", "open_usage_share",
                 "--region", "EU", "-r", "1", "--months", "2", "-j", "1", "--no-report",
                 "--engine", "expected", "-o", tmp_path)
    assert result.exit_code == 0, result
    indices = pd.read_csv(tmp_path / "sensitivity.csv")
    assert list(indices.columns) == ["parameter", "method", "S1", "S1_conf", "ST", "ST_conf",
                                     "metric", "region", "segment", "month"]
    assert len(pd.read_parquet(tmp_path / "design.parquet")) == 2 * (1 + 2)
    assert indices[["metric", "region", "segment"]].drop_duplicates().values.tolist() == [
        ["open_usage_share", "EU", "enterprise"]]
    assert json.loads((tmp_path / "manifest.json").read_text())["engine"] == "expected"


def test_calibrate_command_keeps_set_and_extends_the_input(tmp_path: Path, cli) -> None:
    result = cli("calibrate", "baseline", "--targets", TARGETS / "good.toml",
                 "--fit", "world.network_effect=0.1:1.5", "--set", "world.share_floor=0.02",
                 "--max-evaluations", "3", "-r", "1", "-j", "1", "--no-report",
                 "-o", tmp_path)
    assert result.exit_code == 0, result
    assert "fitted: world.network_effect=" in result.stdout
    data = tomllib.loads((tmp_path / "calibrated.toml").read_text())
    assert data["scenario"]["extends"] == "baseline"
    assert data["world"]["share_floor"] == 0.02
    import sim

    fitted = sim.load_scenario(tmp_path / "calibrated.toml")
    assert fitted.world.share_floor == 0.02
    table = pd.read_csv(tmp_path / "calibration.csv")
    assert table["target"].tolist() == ["eu_enterprise_hhi", "eu_open_usage_share"]


def test_calibrate_the_shipped_fit_targets_end_to_end(tmp_path: Path, cli) -> None:
    """The documented small calibration: the fit window's facts, one parameter, 18 months."""
    result = cli("calibrate", "baseline", "--targets", ROOT / "scenarios/targets/fit.toml",
                 "--fit", "world.network_effect=0.1:1", "-r", "1", "--months", "18",
                 "--max-evaluations", "2", "-j", "1", "--no-report", "--engine", "expected",
                 "-o", tmp_path)
    assert result.exit_code == 0, result
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["kind"] == "calibration" and manifest["engine"] == "expected"
    table = pd.read_csv(tmp_path / "calibration.csv")
    targets = tomllib.loads((ROOT / "scenarios/targets/fit.toml").read_text())["target"]
    assert table["target"].tolist() == [t["name"] for t in targets]
    assert table["fitted_mean"].notna().all() and table["z"].notna().all()
    assert table["month"].max() == 17  # 2025-06, the end of the fit window
    fitted = tomllib.loads((tmp_path / "calibrated.toml").read_text())
    assert 0.1 <= fitted["world"]["network_effect"] <= 1.0
    assert fitted["scenario"]["format_version"] == 2


# --- bad input: exit 2, one line, nothing written --------------------------------------

VARY = ["--vary", "world.network_effect=0.1:1.5"]
GOOD_TARGETS = ["--targets", str(TARGETS / "good.toml")]
FIT = ["--fit", "world.network_effect=0.1:1.5"]


@pytest.mark.parametrize(("args", "message"), [
    (["run", *OWN, "baseline", "--set", "world.netwrk_effect=1"], "did you mean 'network_effect'"),
    (["run", *OWN, "baseline", "--set", "world.network_effect=-1"], "world.network_effect"),
    (["run", *OWN, "baselin"], "did you mean 'baseline'"),
    (["sweep", "baseline", "--vary", "world.netwrk_effect=0.1:1"],
     "did you mean 'network_effect'"),
    (["sweep", "baseline", "--vary", "world.network_effect=1.5:0.1"], "LOW must be below HIGH"),
    (["sweep", "baseline", "--vary", "world.network_effect=1:1"], "LOW must be below HIGH"),
    (["sweep", "baseline", *VARY, "--design", "grd"], "did you mean 'grid'"),
    (["sweep", "baseline", "--vary", "vendors.Meta.products.Llama.openness=open,shut"],
     "'shut'"),
    (["sweep", "baseline", *VARY, "--engine", "exactly"], "unknown engine 'exactly'"),
    (["run", *OWN, "baseline", "--engine", "expectd"], "did you mean 'expected'"),
    (["sensitivity", "baseline", *VARY, "--method", "sobl"], "did you mean 'sobol'"),
    (["sensitivity", "baseline", *VARY, "--metric", "hhi_markt"], "did you mean 'hhi_market'"),
    (["sensitivity", "baseline", *VARY, "--metric", "open_share"], "calls it open_usage_share"),
    (["sensitivity", "baseline", *VARY, "--region", "Mars"], "unknown region 'Mars'"),
    (["sensitivity", "baseline", *VARY, "--segment", "al"], "did you mean 'all'"),
    (["sensitivity", "baseline", *VARY, "--segment", "all"], "no such market"),
    (["sensitivity", "baseline", *VARY, "--engine", "fast"], "unknown engine"),
    (["sensitivity", "baseline", *VARY, "--month", "99"], "outside the run"),
    (["sensitivity", "baseline", "--vary", "vendors.Meta.products.Llama.openness=open,closed"],
     "numeric ranges"),
    (["calibrate", "baseline", *GOOD_TARGETS, "--fit", "world.netwrk_effect=0.1:1"],
     "did you mean 'network_effect'"),
    (["calibrate", "baseline", *GOOD_TARGETS, "--fit", "world.network_effect=1:0.1"],
     "LOW must be below HIGH"),
    (["calibrate", "baseline", *GOOD_TARGETS, *FIT, "--engine", "x"], "unknown engine"),
    *[(["calibrate", "baseline", "--targets", str(TARGETS / f"{name}.toml"), *FIT], text)
      for name, text in [("syntax_error", "TOML syntax error"),
                         ("unknown_key", "did you mean 'tolerance'"),
                         ("missing_source", "target.0.source: required field is missing"),
                         ("band_low_above_high", "'low' < 'high'"),
                         ("unknown_metric", "did you mean 'hhi_market'"),
                         ("version1_metric", "version 2 calls it open_usage_share"),
                         ("no_such_market", "does not exist for segment 'all'"),
                         ("date_outside_horizon", "outside the scenario's months"),
                         ("unknown_region", "unknown region 'Mars'"),
                         ("no_targets", "required field is missing"),
                         ("not_text", "not a TOML text file"),
                         ("missing", "no such targets file")]],
])
def test_bad_input_exits_2_with_one_line(args: list[str], message: str, tmp_path: Path,
                                         cli) -> None:
    out = tmp_path / "out"
    result = cli(*args, "-r", "1", "--months", "12", "-j", "1", "--no-report", "-o", out)
    assert result.exit_code == 2, result
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result
    assert message in result.stderr, result
    assert "Traceback" not in result.stderr + result.stdout
    assert not out.exists()
