"""Hostile inputs to scenario files and the model: each class of fault ends cleanly.

Reading never fills memory or blocks; types are strict; reserved and colliding names
are impossible; empty markets run; the numerical guard speaks in one line; whatever a
name holds, an error about it stays one printable line.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sim
from sim.entry import ENTRANT_PREFIX, entrant_name
from sim.errors import Problem, ScenarioError, printable
from sim.model import MarketModel, ModelStateError
from sim.scenario import reading
from sim.scenario.loader import MAX_FILE_BYTES, read_toml

from .conftest import ROOT, invoke
from .model_helpers import scenario, vendor

MINIMAL = """\
[scenario]
name = "Minimal"
months = 3

[[segments]]
name = "s"

[[regions]]
name = "R"
adopters = { s = 1.0e6 }

[[vendors]]
name = "A"
home = "R"
openness = "closed"
capability = 100
"""


def _run_cli(*args: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python -m sim ARGS`` in a real process (what a user's terminal sees)."""
    return subprocess.run([sys.executable, "-m", "sim", *map(str, args)], capture_output=True,
                          text=True, cwd=ROOT, timeout=timeout)


# --------------------------------------------------------------------------- reading files


def test_oversized_file_is_refused_before_it_is_read(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "huge.toml"
    with path.open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)  # sparse: no disk used, but stat says too large

    def no_reading(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the file was opened although stat says it is too large")

    monkeypatch.setattr(Path, "open", no_reading)
    monkeypatch.setattr(Path, "read_bytes", no_reading)
    with pytest.raises(ScenarioError, match=r"a scenario is at most 5,000,000 bytes"):
        read_toml(path)


def test_file_larger_than_stat_said_is_read_only_to_the_limit(tmp_path: Path,
                                                               monkeypatch) -> None:
    """A file that grows after stat (or lies about its size) is still bounded."""
    path = tmp_path / "growing.toml"
    path.write_text(MINIMAL + "#" * 200 + "\n", encoding="utf-8")
    monkeypatch.setattr(reading, "MAX_FILE_BYTES", 100)
    real_stat = Path.stat

    def small_stat(self: Path, *args: Any, **kwargs: Any) -> os.stat_result:
        info = real_stat(self, *args, **kwargs)
        return os.stat_result((info.st_mode, info.st_ino, info.st_dev, info.st_nlink,
                               info.st_uid, info.st_gid, 10, 0, 0, 0))

    monkeypatch.setattr(Path, "stat", small_stat)
    with pytest.raises(ScenarioError, match="more than 100 bytes"):
        read_toml(path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    proc = _run_cli("validate", fifo, timeout=60)  # reading a FIFO would block: the timeout
    assert proc.returncode == 2, proc
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert "not a regular file" in proc.stderr


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_device_is_refused() -> None:
    with pytest.raises(ScenarioError, match="not a regular file"):
        sim.load_scenario("/dev/zero")


def test_folder_is_named_as_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "results.toml"
    folder.mkdir()
    with pytest.raises(ScenarioError, match="is a folder, not a scenario file"):
        sim.load_scenario(folder)


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    plain = tmp_path / "plain.toml"
    plain.write_text(MINIMAL, encoding="utf-8")
    bom = tmp_path / "bom.toml"
    bom.write_bytes(b"\xef\xbb\xbf" + MINIMAL.encode("utf-8"))
    assert sim.load_scenario(bom) == sim.load_scenario(plain)


def test_bom_only_file_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "bom_only.toml"
    path.write_bytes(b"\xef\xbb\xbf\n")
    with pytest.raises(ScenarioError, match="empty scenario file"):
        sim.load_scenario(path)


def test_bom_keeps_syntax_error_positions(tmp_path: Path) -> None:
    path = tmp_path / "bom_syntax.toml"
    path.write_bytes(b"\xef\xbb\xbf[scenario]\nname = \n")
    with pytest.raises(ScenarioError) as info:
        sim.load_scenario(path)
    assert info.value.problems[0].line == 2


# --------------------------------------------------------------------------- strict types


@pytest.fixture(scope="module")
def base() -> sim.Scenario:
    return sim.load_scenario("baseline")


def test_integer_accepted_where_a_float_is_expected(tmp_path: Path) -> None:
    path = tmp_path / "int.toml"
    path.write_text(MINIMAL, encoding="utf-8")  # capability = 100, an integer
    capability = sim.load_scenario(path).vendors[0].capability
    assert capability == 100.0 and isinstance(capability, float)


@pytest.mark.parametrize(("path", "value", "expected"), [
    ("scenario.months", True, "expected an integer, got true (a boolean)"),
    ("scenario.months", 12.5, "expected an integer, got 12.5 (a number)"),
    ("world.network_effect", False, "expected a number, got false (a boolean)"),
    ("vendors.Meta.capability", "true", "expected a number, got true (a boolean)"),
    ("scenario.name", 7, "expected text (in quotes), got 7 (an integer)"),
])
def test_override_values_are_strict(base: sim.Scenario, path: str, value: Any,
                                    expected: str) -> None:
    with pytest.raises(ScenarioError) as info:
        base.with_overrides({path: value})
    assert expected in str(info.value)
    assert path in str(info.value)


def test_override_text_is_parsed_to_the_field_type(base: sim.Scenario) -> None:
    changed = base.with_overrides({"scenario.months": "12", "world.network_effect": "0.5",
                                   "scenario.name": "2026", "vendors.Meta.capability": "90"})
    assert changed.scenario.months == 12
    assert changed.world.network_effect == 0.5
    assert changed.scenario.name == "2026"  # a text field keeps text
    assert next(v for v in changed.vendors if v.name == "Meta").capability == 90.0


def test_override_numpy_scalars_are_plain_numbers(base: sim.Scenario) -> None:
    """Sweep designs and calibration pass numpy scalars; they are the numbers they hold."""
    changed = base.with_overrides({"scenario.months": np.int64(12),
                                   "world.network_effect": np.float64(0.5)})
    assert changed.scenario.months == 12 and isinstance(changed.scenario.months, int)
    assert changed.world.network_effect == 0.5


# --------------------------------------------------------------------------- names and bounds


@pytest.mark.parametrize("name", ["World", "world", "WORLD"])
def test_region_name_world_is_reserved(base: sim.Scenario, name: str) -> None:
    with pytest.raises(ScenarioError) as info:
        base.with_overrides({"regions.EU.name": name})
    assert "reserved for aggregates" in str(info.value)


@pytest.mark.parametrize("name", ["all", "All", "ALL"])
def test_segment_name_all_is_reserved(base: sim.Scenario, name: str) -> None:
    with pytest.raises(ScenarioError) as info:
        base.with_overrides({"segments.consumer.name": name})
    assert "reserved for aggregates" in str(info.value)


def test_vendor_names_are_not_reserved() -> None:
    """Vendors have their own column; no aggregate row is named after a vendor."""
    sc = scenario(vendors=[vendor("World"), vendor("all")], shares={})
    assert sc.vendor_names == ["World", "all"]


def test_contributor_size_bounds(base: sim.Scenario) -> None:
    equal = base.with_overrides({"contributors.size_min": 50.0, "contributors.size_max": 50.0})
    assert equal.contributors.size_min == equal.contributors.size_max
    with pytest.raises(ScenarioError) as info:
        base.with_overrides({"contributors.size_min": 500.0, "contributors.size_max": 100.0})
    assert "contributors.size_max" in str(info.value)
    assert "must be at least size_min" in str(info.value)


# --------------------------------------------------------------------------- entrant names

_NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"


def test_entrant_names_are_outside_the_scenario_name_alphabet(base: sim.Scenario) -> None:
    assert entrant_name(3) == f"{ENTRANT_PREFIX}3"
    with pytest.raises(ScenarioError, match="invalid name"):
        base.with_overrides({"vendors.Meta.name": entrant_name(1)})


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    numbers=st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=5,
                     unique=True),
    others=st.lists(st.text(_NAME_CHARS, min_size=1, max_size=10), max_size=2, unique=True),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_entrants_never_duplicate_a_name(numbers: list[int], others: list[str],
                                         seed: int) -> None:
    """Vendors named ``Entrant1``, ``Entrant2``, ... (and anything else) stay unique."""
    names = [f"Entrant{n}" for n in numbers]
    names += [n for n in others if n not in names]
    sc = scenario(vendors=[vendor(n) for n in names], shares={}, months=3, adopters=1.0e6,
                  world={"entry_rate": 10.0, "entry_cost": 1.0})
    model = MarketModel(sc, seed=seed).run()
    all_names = model.vendors.names
    assert len(all_names) > len(names), "no entrant entered: the test would prove nothing"
    assert len(set(all_names)) == len(all_names)
    tables = model.results()
    rows = tables["vendors"][["month", "region", "vendor"]]
    assert not rows.duplicated().any()
    entries = tables["events"].query("kind == 'entry'")["vendor"]
    assert entries.is_unique and not set(entries) & set(names)


# --------------------------------------------------------------------------- empty markets

SHARE_METRICS = ["hhi", "cr1", "open_share", "adoption", "price_mean"]


@pytest.fixture
def strict_arithmetic(monkeypatch) -> None:
    """Numpy raises on overflow, 0/0 and x/0 inside the model (it is silenced for the guard)."""
    import sim.model

    monkeypatch.setattr(sim.model, "_quiet_arithmetic",
                        lambda: np.errstate(over="raise", invalid="raise", divide="raise"))


def _run_quietly(sc: sim.Scenario, months: int = 3) -> Any:
    """Run with every warning an error: an empty market must not divide by zero."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = MarketModel(sc, seed=2).run(months)
    return model.results()["market"]


def _rows(market: Any, region: str, segment: str) -> Any:
    last = market[market["month"] == market["month"].max()]
    return last[(last["region"] == region) & (last["segment"] == segment)].iloc[0]


def test_region_with_no_adopters_runs(base: sim.Scenario, strict_arithmetic: None
                                       ) -> None:
    empty = {f"regions.EU.adopters.{s}": 0.0 for s in base.segment_names}
    market = _run_quietly(base.with_overrides({**empty, "scenario.months": 3}))
    for segment in [*base.segment_names, "all"]:
        row = _rows(market, "EU", segment)
        assert row[SHARE_METRICS].isna().all(), (segment, row[SHARE_METRICS])
    assert _rows(market, "US", "all")[SHARE_METRICS].notna().all()
    assert _rows(market, "World", "all")[SHARE_METRICS].notna().all()


def test_empty_cell_runs(base: sim.Scenario, strict_arithmetic: None) -> None:
    market = _run_quietly(base.with_overrides({"regions.EU.adopters.enterprise": 0.0,
                                               "scenario.months": 3}))
    assert _rows(market, "EU", "enterprise")[SHARE_METRICS].isna().all()
    assert _rows(market, "EU", "developer")[SHARE_METRICS].notna().all()
    assert _rows(market, "EU", "all")[SHARE_METRICS].notna().all()


def test_region_without_adopters_table_runs(tmp_path: Path, strict_arithmetic: None
                                             ) -> None:
    path = tmp_path / "mars.toml"
    path.write_text('[scenario]\nname = "Mars"\nextends = "baseline"\nmonths = 3\n\n'
                    '[[regions]]\nname = "Mars"\n', encoding="utf-8")
    market = _run_quietly(sim.load_scenario(path))
    assert _rows(market, "Mars", "all")[SHARE_METRICS].isna().all()
    assert _rows(market, "World", "all")[SHARE_METRICS].notna().all()


def test_no_adopters_anywhere_runs_and_nobody_enters(strict_arithmetic: None) -> None:
    sc = scenario(vendors=[vendor("A")], shares={}, months=3, adopters=0.0,
                  world={"entry_rate": 10.0, "entry_cost": 1.0})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = MarketModel(sc, seed=0).run()
    assert model.vendors.names == ["A"]  # no market, no expected margin, no entry
    market = model.results()["market"]
    assert market[SHARE_METRICS].isna().all().all()


def test_empty_market_runs_from_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "empty.toml"
    path.write_text(MINIMAL.replace("s = 1.0e6", "s = 0")
                    + "\n[world]\nentry_rate = 5.0\nentry_cost = 1.0\n", encoding="utf-8")
    result = invoke("run", path, "-r", "2", "--months", "3", "-j", "1", "--no-report",
                    "-o", tmp_path / "out")
    assert result.exit_code == 0, result
    assert "Warning" not in result.stderr and "Traceback" not in result.stderr


# --------------------------------------------------------------------------- numerical guard

OVERFLOW = MINIMAL.replace('capability = 100', 'capability = 100\ncash = 1.7e308\nfunding = 1e308')


def test_guard_raises_before_any_runtime_warning(tmp_path: Path) -> None:
    path = tmp_path / "overflow.toml"
    path.write_text(OVERFLOW, encoding="utf-8")
    model = MarketModel(path, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning would be raised instead
        with pytest.raises(ModelStateError, match=r"month 1 .*vendor A: cash is inf"):
            model.step()


def test_guard_is_one_line_from_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "overflow.toml"
    path.write_text(OVERFLOW, encoding="utf-8")
    proc = _run_cli("run", path, "-r", "1", "--months", "3", "-j", "1", "--no-report",
                    "-o", tmp_path / "out")
    assert proc.returncode == 1, proc
    assert "RuntimeWarning" not in proc.stderr and "Traceback" not in proc.stderr
    assert "cash is inf" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


# --------------------------------------------------------------------------- printed safely


@pytest.mark.parametrize(("raw", "shown"), [
    ("Evil\nName", "Evil\\nName"),
    ("a\rb", "a\\rb"),
    ("\x1b[31mRed\x1b[0m", "\\x1b[31mRed\\x1b[0m"),
    ("bell\x07", "bell\\x07"),
    ("next\x85line", "next\\x85line"),
    ("sep\u2028arator", "sep\\u2028arator"),
    ("\u202eesrever", "\\u202eesrever"),
    ("plain Ünïcode-name_1", "plain Ünïcode-name_1"),
])
def test_printable_escapes_control_characters(raw: str, shown: str) -> None:
    assert printable(raw) == shown


def test_problem_is_always_one_line() -> None:
    problem = Problem("bad value \x1b[2J", file="dir\n/evil\r.toml",
                      path="vendors.Evil\nName.home", suggestion="Good\nName")
    text = str(problem)
    assert len(text.splitlines()) == 1
    assert text.isprintable()
    error = ScenarioError([problem, Problem("second\nproblem", path="x\u2028y")])
    assert len(str(error).splitlines()) == 3  # "2 problems:" and one line each


def test_file_name_with_a_newline(tmp_path: Path) -> None:
    path = tmp_path / "evil\nname\x1b[31m.toml"
    path.write_text('[scenario]\nname = "x"\nextends = "baseline"\n\n[world]\nbogus = 1\n',
                    encoding="utf-8")
    result = invoke("validate", path)
    assert result.exit_code == 2, result
    assert len(result.stderr.strip().splitlines()) == 1, result
    assert "evil\\nname\\x1b[31m.toml" in result.stderr
    assert "\x1b" not in result.stderr
