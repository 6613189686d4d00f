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
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from sim.engine.engine import EngineStateError
from sim.errors import Problem, ScenarioError, printable
from sim.mechanisms.entry import entrant_name
from sim.scenario import reading
from sim.scenario.loader import MAX_FILE_BYTES, read_toml
from sim.scenario.schema import ScenarioWarning
from tests.conftest import OWN

from .conftest import ROOT, invoke

MINIMAL = """\
[scenario]
format_version = 2
name = "Minimal"
months = 3

[[segments]]
name = "s"

[[regions]]
name = "R"
adopters = { s = 1.0e6 }
aware = { s = 0.5 }
adoption = { s = 0.2 }

[[vendors]]
name = "A"
home = "R"

[[vendors.products]]
name = "A1"
openness = "closed"
capability = 100
"""


def _minimal(tmp_path: Path, text: str = MINIMAL) -> sim.Scenario:
    path = tmp_path / "minimal.toml"
    path.write_text(text, encoding="utf-8")
    return sim.load_scenario(path)


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
    capability = sim.load_scenario(path).vendors[0].products[0].capability
    assert capability == 100.0 and isinstance(capability, float)


@pytest.mark.parametrize(("path", "value", "expected"), [
    ("scenario.months", True, "expected an integer, got true (a boolean)"),
    ("scenario.months", 12.5, "expected an integer, got 12.5 (a number)"),
    ("world.network_effect", False, "expected a number, got false (a boolean)"),
    ("vendors.Meta.products.Llama.capability", "true",
     "expected a number, got true (a boolean)"),
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
                                   "scenario.name": "2026",
                                   "vendors.Meta.products.Llama.capability": "90"})
    assert changed.scenario.months == 12
    assert changed.world.network_effect == 0.5
    assert changed.scenario.name == "2026"  # a text field keeps text
    meta = next(v for v in changed.vendors if v.name == "Meta")
    assert next(p for p in meta.products if p.name == "Llama").capability == 90.0


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


def test_firm_and_product_names_are_not_reserved(tmp_path: Path) -> None:
    """Firms and products have their own columns; no aggregate row is named after them."""
    text = MINIMAL.replace('name = "A"', 'name = "World"').replace('home = "R"', 'home = "R"')
    text = text.replace('name = "A1"', 'name = "all"')
    sc = _minimal(tmp_path, text)
    assert sc.firm_names == ["World"] and sc.product_names == ["all"]


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
    assert entrant_name(3, "EU") == "Entrant#3-EU"
    with pytest.raises(ScenarioError, match="invalid name"):
        base.with_overrides({"vendors.Meta.name": entrant_name(1, "US")})
    with pytest.raises(ValueError):
        entrant_name(-1, "US")


@settings(max_examples=200, deadline=None)
@given(a=st.integers(min_value=0, max_value=10**6), b=st.integers(min_value=0, max_value=10**6),
       home_a=st.text(_NAME_CHARS, min_size=1, max_size=12),
       home_b=st.text(_NAME_CHARS, min_size=1, max_size=12),
       other=st.text(_NAME_CHARS, min_size=1, max_size=40))
def test_entrant_names_never_collide(a: int, b: int, home_a: str, home_b: str,
                                     other: str) -> None:
    """Distinct entrants of a world get distinct names, none equal to a scenario's name."""
    if a != b:
        assert entrant_name(a, home_a) != entrant_name(b, home_b)
    assert entrant_name(a, home_a) != other


def test_entrants_never_duplicate_a_name(base: sim.Scenario) -> None:
    """A run with entry: every entrant has its own name, never an incumbent's."""
    sc = base.with_overrides({"world.entry_rate": 10.0, "world.entry_cost": 1.0,
                              "scenario.months": 6})
    tables = sim.run_replication(sc, seed=1)
    entries = tables["events"].query("kind == 'entry'")["vendor"]
    assert len(entries) > 0, "no entrant entered: the test would prove nothing"
    assert entries.is_unique and not set(entries) & set(base.firm_names)
    rows = tables["vendors"][["month", "region", "vendor"]]
    assert not rows.duplicated().any()


# --------------------------------------------------------------------------- empty markets

#: Metrics of a (region, segment) cell that are shares of its users: undefined when empty.
SHARE_METRICS = ["hhi_market", "hhi_users", "cr1", "open_user_share", "adoption"]
#: Metrics of the "all" rows (shares are per relevant market, so they have no "all" value).
ALL_METRICS = ["open_usage_share", "price_paid"]


@pytest.fixture
def strict_arithmetic() -> Any:
    """Numpy raises on overflow, 0/0 and x/0, and every warning is an error."""
    with np.errstate(over="raise", invalid="raise", divide="raise"), \
            warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("default", ScenarioWarning)  # policies after a short horizon
        yield


def _run_quietly(sc: sim.Scenario, months: int = 3) -> Any:
    """Run the version-2 model: an empty market must not divide by zero."""
    return sim.run_replication(sc, seed=2, months=months)["market"]


def _rows(market: Any, region: str, segment: str) -> Any:
    last = market[market["month"] == market["month"].max()]
    return last[(last["region"] == region) & (last["segment"] == segment)].iloc[0]


def test_region_with_no_adopters_runs(base: sim.Scenario, strict_arithmetic: None) -> None:
    empty = {f"regions.EU.adopters.{s}": 0.0 for s in base.segment_names}
    market = _run_quietly(base.with_overrides(empty))
    for segment in base.segment_names:
        row = _rows(market, "EU", segment)
        assert row[SHARE_METRICS].isna().all(), (segment, row[SHARE_METRICS])
        assert row["users"] == 0 and row["spend"] == 0
        assert _rows(market, "US", segment)[SHARE_METRICS].notna().all()
        assert _rows(market, "World", segment)[SHARE_METRICS].notna().all()
    assert _rows(market, "EU", "all")[ALL_METRICS].isna().all()
    assert _rows(market, "US", "all")[ALL_METRICS].notna().all()
    assert _rows(market, "World", "all")[ALL_METRICS].notna().all()


def test_empty_cell_runs(base: sim.Scenario, strict_arithmetic: None) -> None:
    market = _run_quietly(base.with_overrides({"regions.EU.adopters.enterprise": 0.0}))
    assert _rows(market, "EU", "enterprise")[SHARE_METRICS].isna().all()
    assert _rows(market, "EU", "developer")[SHARE_METRICS].notna().all()
    assert _rows(market, "EU", "all")[ALL_METRICS].notna().all()


def test_region_without_adopters_table_runs(tmp_path: Path, strict_arithmetic: None) -> None:
    path = tmp_path / "mars.toml"
    path.write_text('[scenario]\nname = "Mars"\nextends = "baseline"\nmonths = 3\n\n'
                    '[[regions]]\nname = "Mars"\n', encoding="utf-8")
    market = _run_quietly(sim.load_scenario(path))
    assert _rows(market, "Mars", "consumer")[SHARE_METRICS].isna().all()
    assert _rows(market, "World", "consumer")[SHARE_METRICS].notna().all()
    assert _rows(market, "World", "all")[ALL_METRICS].notna().all()


def test_no_adopters_anywhere_runs_and_nobody_enters(tmp_path: Path,
                                                    strict_arithmetic: None) -> None:
    sc = _minimal(tmp_path, MINIMAL.replace("s = 1.0e6", "s = 0.0")
                  + "\n[world]\nentry_rate = 10.0\nentry_cost = 1.0\n")
    model = sim.MarketModel(sc, seed=0)
    model.run_model()
    tables = model.results()
    assert sorted(tables["vendors"]["vendor"].unique()) == ["A"]  # no margin, no entry
    assert tables["events"].query("kind == 'entry'").empty
    market = tables["market"]
    cells = market[market["segment"] != "all"]
    assert cells[SHARE_METRICS].isna().all().all()
    assert (cells["users"] == 0).all()


def test_empty_market_runs_from_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "empty.toml"
    path.write_text(MINIMAL.replace("s = 1.0e6", "s = 0")
                    + "\n[world]\nentry_rate = 5.0\nentry_cost = 1.0\n", encoding="utf-8")
    result = invoke("run", *OWN, path, "-r", "2", "--months", "3", "-j", "1", "--no-report",
                    "-o", tmp_path / "out")
    assert result.exit_code == 0, result
    assert "Warning" not in result.stderr and "Traceback" not in result.stderr


# --------------------------------------------------------------------------- numerical guard


def test_guard_names_month_world_and_quantity(tmp_path: Path) -> None:
    """State that is no longer finite stops the engine with one line saying where."""
    model = sim.MarketModel(_minimal(tmp_path), seed=0)
    model.step()
    model.state.capability[...] = np.inf  # what an overflow would leave behind
    with np.errstate(all="ignore"), pytest.raises(EngineStateError,
                                                  match=r"month 2, world 0: .* not finite"):
        model.step()


def test_guard_is_one_line_from_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "overflow.toml"
    path.write_text(MINIMAL, encoding="utf-8")
    plugin = tmp_path / "sitecustomize.py"  # poisons the engine's check in the child only
    plugin.write_text(
        "import numpy as np\n"
        "import sim.engine.engine as e\n"
        "_check = e.Engine._check_finite\n"
        "def _poisoned(self, month):\n"
        "    self.state.price[...] = np.inf\n"
        "    _check(self, month)\n"
        "e.Engine._check_finite = _poisoned\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}
    proc = subprocess.run([sys.executable, "-m", "sim", "run", *OWN, str(path), "-r", "1",
                           "--months", "3", "-j", "1", "--no-report", "-o",
                           str(tmp_path / "out")], capture_output=True, text=True, cwd=ROOT,
                          timeout=120, env=env)
    assert proc.returncode == 1, proc
    assert "RuntimeWarning" not in proc.stderr and "Traceback" not in proc.stderr
    assert "not finite" in proc.stderr
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
