"""Results folders and execution cannot destroy files, escape the folder or run away.

Reliability issue, items 1 (``--force``), 2 (ids), 3 (limits, ``-j``, ``--scheduler``),
5 (folder and manifest messages) and 6 (SIGTERM):

* ``--force`` replaces only a folder whose ``manifest.json`` says marketsim wrote it, and
  only the files marketsim writes; ``.``, ``~``, ``/``, the current and home folders and
  anything that contains them are refused, with or without it;
* scenario ids are safe file names, and a tampered manifest (one fixture per defect in
  ``tests/fixtures/manifests``) is one clear error line, never a traceback, and never a
  read or write outside the folder;
* runs and design points are capped before anything is built, ``-j`` is clamped to the
  cores, and a ``--scheduler`` that is not a Dask scheduler fails within seconds;
* SIGTERM leaves the manifest ``terminated`` and exits 143.

Every refused command must change nothing: each test snapshots its sandbox (a working
folder with a user's notes and thesis, and a home folder) before and after.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import sim
from sim.errors import ScenarioError
from sim.experiment import limits
from sim.experiment.design import Parameter, design_size, make_design, parse_range
from sim.experiment.runner import assign_ids
from sim.experiment.store import (
    OWNED_FILES,
    ResultsFolder,
    check_id,
    check_output_path,
    identifies,
    inspect_output,
    safe_id,
    status_of,
)
from tests.conftest import OWN

from .conftest import FIXTURES, ROOT

MANIFESTS = FIXTURES / "manifests"
TARGETS = FIXTURES / "targets" / "good.toml"
QUICK = ["-r", "1", "--seed", "0", "--months", "1", "--no-report", "-j", "1"]
RUN = ["run", *OWN, "baseline", *QUICK]
DATA_FILES = ("market.parquet", "vendors.parquet", "products.parquet", "events.parquet",
              "summary.csv")
FIT = ["--targets", str(TARGETS), "--fit", "world.network_effect=0.1:1.5",
       "--max-evaluations", "1"]
VARY = ["--vary", "world.network_effect=0.1:1.0"]


# --------------------------------------------------------------------------- helpers


def snapshot(root: Path) -> dict[str, tuple[Any, ...]]:
    """Every entry under ``root`` (links not followed): type, size, mtime, content hash."""
    state: dict[str, tuple[Any, ...]] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder, name)
            info = path.lstat()
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                state[rel] = ("link", os.readlink(path))
            elif path.is_file():
                state[rel] = ("file", info.st_size, info.st_mtime_ns,
                              hashlib.sha256(path.read_bytes()).hexdigest())
            else:
                state[rel] = ("dir",)
    return state


def changed(before: dict[str, Any], after: dict[str, Any], allowed: str | None = None
            ) -> list[str]:
    keys = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    if allowed is not None:
        keys = {k for k in keys if k != allowed and not k.startswith(allowed + "/")}
    return sorted(keys)


def said(stderr: str) -> str:
    """``stderr`` without the scenario's notes that a one-month run (``--months 1``) skips
    the baseline's later launches and policies: what is left is what the command said."""
    return "".join(line for line in stderr.splitlines(keepends=True)
                   if not (line.startswith("warning: ") and line.rstrip().endswith(
                       ("never acts", "the line never launches"))))


def one_error(result: Any, *expect: str) -> None:
    """Bad input: exit 2, exactly one ``error:`` line on stderr, no traceback."""
    assert result.exit_code == 2, result
    stderr = said(result.stderr)
    assert stderr.startswith("error: ") and stderr.count("\n") == 1, result
    assert "Traceback" not in result.stderr + result.stdout
    assert "\x1b" not in result.stderr, result
    for text in expect:
        assert text in stderr, result


def digests(folder: Path) -> dict[str, str]:
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest()
            for name in DATA_FILES}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete results folder of the command the folder tests use (``RUN``)."""
    out = tmp_path_factory.mktemp("template") / "res"
    sim.run("baseline", replications=1, seed=0, months=1, jobs=1, out=out)
    return out


@pytest.fixture
def box(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A sandboxed user: ``work`` (the current folder) and ``home`` (``$HOME``)."""
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    (home / "thesis.pdf").write_bytes(b"%PDF-1.7\n" + bytes(range(256)))
    work.mkdir()
    (work / "notes.txt").write_text("do not lose these notes\n")
    (work / "thesis" / "figures").mkdir(parents=True)
    (work / "thesis" / "chapter1.tex").write_text("\\chapter{Markets}\n")
    (work / "thesis" / "figures" / "fig1.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    return tmp_path


def results_copy(template: Path, box: Path, name: str = "res") -> Path:
    target = box / "work" / name
    shutil.copytree(template, target)
    return target


@pytest.fixture
def no_rmtree(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing may call shutil.rmtree (the old --force did, on any folder)."""
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"shutil.rmtree{args} called")

    monkeypatch.setattr(shutil, "rmtree", refuse)


# --------------------------------------------------------------------------- item 1: paths


REFUSED_PATHS = {
    ".": "the current folder",
    "": "the current folder",  # the command line turns '' into '.'
    "..": "contains the current folder",
    "~": "your home folder",
    "{home}": "your home folder",
    "{root}": "contains the current folder",
    "{work}": "the current folder",
    "notes.txt": "exists and is not a folder",
    "notes.txt/sub": "is a file, not a folder",
}


def _expand(text: str, box: Path) -> str:
    return text.format(home=box / "home", work=box / "work", root=box)


@pytest.mark.parametrize("flag", ["", "--force", "--resume"])
@pytest.mark.parametrize("out", list(REFUSED_PATHS))
def test_unsafe_output_paths_are_refused(out: str, flag: str, box: Path, cli,
                                         no_rmtree: None) -> None:
    before = snapshot(box)
    result = cli(*RUN, "-o", _expand(out, box), *([flag] if flag else []))
    one_error(result, REFUSED_PATHS[out])
    assert changed(before, snapshot(box)) == []


@pytest.mark.parametrize("flag", ["", "--resume"])  # never --force: see test_root_is_refused
def test_filesystem_root_is_refused_on_the_command_line(flag: str, box: Path, cli) -> None:
    before = snapshot(box)
    one_error(cli(*RUN, "-o", "/", *([flag] if flag else [])), "the filesystem root")
    assert changed(before, snapshot(box)) == []


def test_root_home_and_their_ancestors_are_refused_by_the_one_rule(box: Path) -> None:
    """Checked on the rule itself, so no regression can ever point --force at /."""
    for path in ("/", str(box / "home"), str(box), str(box.parent), "~", "."):
        with pytest.raises(ScenarioError, match="refusing to use"):
            check_output_path(path)
        for force, resume in ((True, False), (False, True), (True, True)):
            with pytest.raises(ScenarioError, match="refusing to use"):
                inspect_output(path, force=force, resume=resume)
    with pytest.raises(ScenarioError, match="path is empty"):
        check_output_path("")
    assert check_output_path("runs/new") == Path("runs/new")
    assert check_output_path("~/runs/x") == box / "home" / "runs" / "x"


def test_symlink_to_home_is_refused(box: Path, cli) -> None:
    (box / "work" / "link").symlink_to(box / "home")
    before = snapshot(box)
    one_error(cli(*RUN, "-o", "link", "--force"), "your home folder")
    assert changed(before, snapshot(box)) == []


def test_python_api_refuses_unsafe_paths(box: Path, no_rmtree: None) -> None:
    base = sim.load_scenario("baseline")
    before = snapshot(box)
    for out in (".", "", "..", "~", box / "home", "notes.txt"):
        with pytest.raises(ScenarioError):
            sim.run(base, replications=1, months=1, jobs=1, out=out, force=True)
    assert changed(before, snapshot(box)) == []


# --------------------------------------------------------------------------- item 1: --force


def _foreign_manifest(folder: Path) -> None:
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps({"name": "left-pad", "version": "1.0"}))
    (folder / "index.js").write_text("module.exports = s => s;\n")


def _manifest_folder(folder: Path) -> None:
    folder.mkdir()
    (folder / "manifest.json").mkdir()
    (folder / "data.csv").write_text("a,b\n1,2\n")


def _manifest_not_json(folder: Path) -> None:
    folder.mkdir()
    (folder / "manifest.json").write_text("{not json")
    (folder / "data.csv").write_text("a,b\n1,2\n")


FOREIGN = {
    "thesis": None,  # the sandbox's thesis: no manifest at all
    "pkg": _foreign_manifest,
    "manifest-folder": _manifest_folder,
    "manifest-not-json": _manifest_not_json,
}

COMMANDS = {
    "run": RUN,
    "sweep": ["sweep", "baseline", *VARY, "--samples", "2", *QUICK],
    "sensitivity": ["sensitivity", "baseline", *VARY, "--samples", "2", *QUICK],
    # the targets' last month is 6
    "calibrate": ["calibrate", "baseline", *FIT, "-r", "1", "--seed", "0", "--months", "12",
                  "--no-report", "-j", "1"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("name", list(FOREIGN))
def test_force_never_touches_a_folder_marketsim_did_not_write(name: str, command: str,
                                                              box: Path, cli,
                                                              no_rmtree: None) -> None:
    folder = box / "work" / name
    if FOREIGN[name] is not None:
        FOREIGN[name](folder)
    before = snapshot(box)
    one_error(cli(*COMMANDS[command], "-o", folder, "--force"), str(folder), "nothing")
    assert changed(before, snapshot(box)) == []


def test_force_does_not_follow_a_linked_manifest(template: Path, box: Path, cli) -> None:
    """A manifest.json that links to a real marketsim manifest elsewhere is not trusted."""
    folder = box / "work" / "linked"
    folder.mkdir()
    (folder / "market.parquet").write_text("not marketsim's")
    (folder / "manifest.json").symlink_to(template / "manifest.json")
    before = snapshot(box)
    one_error(cli(*RUN, "-o", folder, "--force"), "not a regular file")
    assert changed(before, snapshot(box)) == []


def test_force_true_in_python_refuses_a_foreign_folder(box: Path, no_rmtree: None) -> None:
    from sim.experiment.calibration import calibrate, load_targets
    from sim.experiment.studies import sensitivity, sweep

    base = sim.load_scenario("baseline").with_overrides({"scenario.months": 1})
    year = base.with_overrides({"scenario.months": 12})  # beyond the targets' months (6)
    params = [parse_range("world.network_effect=0.1:1.0", base)]
    thesis = box / "work" / "thesis"
    before = snapshot(box)
    calls = [
        lambda: sim.run(base, replications=1, jobs=1, out=thesis, force=True),
        lambda: sweep(base, params, samples=2, replications=1, jobs=1, out=thesis,
                      force=True),
        lambda: sensitivity(base, params, samples=2, replications=1, jobs=1, out=thesis,
                            force=True),
        lambda: calibrate(year, load_targets(TARGETS, year), params, replications=1,
                          max_evaluations=1, jobs=1, out=thesis, force=True),
    ]
    for call in calls:
        with pytest.raises(ScenarioError, match="not a marketsim results folder"):
            call()
    assert changed(before, snapshot(box)) == []


def test_force_removes_only_what_marketsim_wrote(template: Path, box: Path, cli,
                                                 no_rmtree: None) -> None:
    res = results_copy(template, box)
    mine = {
        "my-notes.txt": "mine\n",
        "analysis/plot.py": "print(1)\n",
        "scenarios/my_variant.toml": "[scenario]\n",
        "parts/README.txt": "mine\n",
        "parts/baseline/comments.txt": "mine\n",
    }
    for rel, text in mine.items():
        (res / rel).parent.mkdir(parents=True, exist_ok=True)
        (res / rel).write_text(text)
    # marketsim's own leftovers: a killed writer's temporaries and a stale replication
    leftovers = [".market.parquet.ab12_cd.tmp", "parts/baseline/.000000.done.x1y2z3.tmp",
                 "scenarios/.baseline.toml.abcdef.tmp", "parts/baseline/000007.done",
                 "parts/baseline/000007.market.parquet"]
    for rel in leftovers:
        (res / rel).write_text("stale")
    outside = snapshot(box / "home")
    result = cli(*RUN, "-o", res, "--force")
    assert result.exit_code == 0, result
    lines = said(result.stderr).splitlines()
    assert len(lines) == 1 and lines[0].startswith("note: ") and "kept" in lines[0], result
    assert "my-notes.txt" in lines[0] and "analysis/" in lines[0]
    for rel, text in mine.items():
        assert (res / rel).read_text() == text, rel
    for rel in leftovers:
        assert not (res / rel).exists(), rel
    assert digests(res) == digests(template)
    assert json.loads((res / "manifest.json").read_text())["status"] == "complete"
    assert snapshot(box / "home") == outside


def test_force_on_an_own_folder_without_extra_files_says_nothing(template: Path, box: Path,
                                                                 cli) -> None:
    res = results_copy(template, box)
    result = cli(*RUN, "-o", res, "--force")
    assert result.exit_code == 0 and said(result.stderr) == "", result


def test_force_removes_a_link_at_a_file_name_but_never_its_target(template: Path, box: Path,
                                                                  cli) -> None:
    res = results_copy(template, box)
    precious = box / "home" / "thesis.pdf"
    (res / "report.html").symlink_to(precious)
    before = precious.read_bytes()
    assert cli(*RUN, "-o", res, "--force").exit_code == 0
    assert precious.read_bytes() == before
    assert not (res / "report.html").exists()


@pytest.mark.parametrize("where", ["parts", "scenarios", "parts/baseline"])
def test_a_link_in_place_of_an_own_folder_is_refused(where: str, template: Path, box: Path,
                                                     cli) -> None:
    """Writing through it would put files outside the results folder."""
    res = results_copy(template, box)
    elsewhere = box / "home" / "elsewhere"
    shutil.copytree(res / where, elsewhere)
    shutil.rmtree(res / where) if (res / where).is_dir() else None
    (res / where).symlink_to(elsewhere)
    before = snapshot(box)
    for flag in ("--force", "--resume"):
        one_error(cli(*RUN, "-o", res, flag), "symbolic link")
    assert changed(before, snapshot(box)) == []


def test_a_folder_where_marketsim_writes_a_file_is_refused(template: Path, box: Path,
                                                           cli) -> None:
    res = results_copy(template, box)
    (res / "summary.csv").unlink()
    (res / "summary.csv").mkdir()
    (res / "summary.csv" / "mine.txt").write_text("mine")
    before = snapshot(box)
    one_error(cli(*RUN, "-o", res, "--force"), "summary.csv")
    assert changed(before, snapshot(box)) == []


def test_an_older_manifest_without_the_marker_is_still_recognised(template: Path, box: Path,
                                                                  cli) -> None:
    res = results_copy(template, box)
    manifest = json.loads((res / "manifest.json").read_text())
    old = {k: v for k, v in manifest.items() if k not in ("tool", "kind")}
    (res / "manifest.json").write_text(json.dumps(old))
    assert identifies(old) and not identifies({**old, "format": 2, "tool": "other"})
    result = cli(*RUN, "-o", res, "--resume")
    assert result.exit_code == 0, result
    (res / "manifest.json").write_text(json.dumps(old))
    result = cli(*RUN, "-o", res, "--force")
    assert result.exit_code == 0 and said(result.stderr) == "", result
    assert json.loads((res / "manifest.json").read_text())["tool"] == "marketsim"


def _clear_leaves_nothing(folder: Path) -> None:
    """Every file the command wrote is one --force would remove: OWNED_FILES is complete."""
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["tool"] == "marketsim"
    ids = [s["id"] for s in manifest["scenarios"]]
    assert ResultsFolder(folder).clear(ids) == []
    assert list(folder.iterdir()) == []


@pytest.mark.slow
@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_file_a_command_writes_is_one_force_may_remove(command: str, box: Path,
                                                             cli) -> None:
    out = box / "work" / "out"
    args = [a for a in COMMANDS[command] if a != "--no-report"]  # the report too
    result = cli(*args, "-o", out)
    assert result.exit_code == 0, result
    assert (out / "report.html").is_file()
    assert set(p.name for p in out.iterdir() if p.is_file()) <= set(OWNED_FILES)
    _clear_leaves_nothing(out)


def test_the_owned_list_covers_a_run_and_its_parts(template: Path, box: Path) -> None:
    _clear_leaves_nothing(results_copy(template, box))


# --------------------------------------------------------------------------- item 2: ids


def test_ids_are_safe_file_names() -> None:
    base = sim.load_scenario("baseline")
    assert assign_ids([base] * 7, ["...", "..", ".", "a b/c", "../x", "A", "a"]) == [
        "scenario", "scenario-2", "scenario-3", "a-b-c", "x", "A", "a-2"]
    # an explicit id that a suffix would repeat
    assert assign_ids([base] * 3, ["a", "a", "a-2"]) == ["a", "a-2", "a-2-2"]
    long = assign_ids([base] * 2, ["x" * 300, "x" * 300])
    assert [len(i) for i in long] == [100, 100] and long[0] != long[1]
    for sid in assign_ids([base] * 3, ["\x1b[31m", "base\nline", "ü"]):
        assert check_id(sid) == sid
    assert safe_id("my scenario (v2)") == "my-scenario-v2"


@pytest.mark.parametrize("bad", ["../evil", "..", ".", "", "a/b", "/tmp/x", "a\nb",
                                 "x" * 101, "é"])
def test_invalid_ids_never_name_a_file(bad: str, tmp_path: Path) -> None:
    base = sim.load_scenario("baseline")
    with pytest.raises(ScenarioError, match="not allowed"):
        sim.run({bad: base}, replications=1, months=1, jobs=1, out=tmp_path / "out")
    assert not (tmp_path / "out").exists()
    folder = ResultsFolder(tmp_path / "res")
    for call in (lambda: folder.part(bad, 0, "market"), lambda: folder.done_marker(bad, 0),
                 lambda: folder.scenario_path(bad), lambda: folder.is_done(bad, 0)):
        with pytest.raises(ScenarioError, match="not allowed"):
            call()


@pytest.mark.parametrize("name", ["...toml", "..toml", "my scenario.toml", "\x1b[31m.toml"])
def test_odd_file_names_get_ids_inside_the_folder(name: str, box: Path, cli) -> None:
    shutil.copy(ROOT / "scenarios" / "baseline.toml", box / "work" / "base.toml")
    (box / "work" / name).write_text('[scenario]\nname = "Odd"\nextends = "base.toml"\n')
    before = snapshot(box)
    result = cli("run", *OWN, name, *QUICK, "-o", "out")
    assert result.exit_code == 0, result
    assert changed(before, snapshot(box), allowed="work/out") == []
    [sid] = [s["id"] for s in json.loads((box / "work/out/manifest.json").read_text())
             ["scenarios"]]
    assert check_id(sid) == sid and (box / "work" / "out" / "scenarios" / f"{sid}.toml").is_file()


# --------------------------------------------------------------------------- tampered manifests

#: tampered manifests that still say marketsim wrote the folder: --force may replace it
#: (only marketsim's files, only for the valid ids it lists)
FORCE_ALLOWED = {p.stem for p in MANIFESTS.glob("*.json")} - {
    "not_json", "empty_file", "truncated", "json_list", "json_null", "json_string",
    "json_number", "empty_object", "not_utf8", "deep_nesting", "foreign_package",
    "foreign_tool"}
FIXTURES_ = sorted(p.name for p in MANIFESTS.glob("*.json"))


def _tampered(template: Path, box: Path, fixture: str) -> Path:
    res = results_copy(template, box)
    shutil.copy(MANIFESTS / fixture, res / "manifest.json")
    # what an id such as "../../escape" would reach: it must stay untouched
    escape = box / "work" / "escape"
    escape.mkdir(exist_ok=True)
    (escape / "000000.done").write_text("not marketsim's\n")
    (escape / "000000.market.parquet").write_text("not marketsim's\n")
    return res


def test_one_fixture_per_tampered_manifest() -> None:
    assert len(FIXTURES_) >= 40
    for name in FIXTURES_:
        with pytest.raises(ScenarioError):
            from sim.experiment.store import parse_manifest

            text = (MANIFESTS / name).read_bytes()
            try:
                data = json.loads(text)
            except (ValueError, RecursionError):
                raise ScenarioError("unreadable") from None
            parse_manifest(data)


@pytest.mark.parametrize("fixture", FIXTURES_)
def test_resume_on_a_tampered_manifest_is_one_line(fixture: str, template: Path, box: Path,
                                                   cli) -> None:
    res = _tampered(template, box, fixture)
    before = snapshot(box)
    one_error(cli(*RUN, "-o", res, "--resume"), "manifest")
    assert changed(before, snapshot(box)) == []


@pytest.mark.parametrize("fixture", FIXTURES_)
def test_report_on_a_tampered_manifest_is_one_line(fixture: str, template: Path, box: Path,
                                                   cli) -> None:
    res = _tampered(template, box, fixture)
    before = snapshot(box)
    one_error(cli("report", res), "manifest")
    assert changed(before, snapshot(box)) == []
    with pytest.raises(ScenarioError, match="manifest"):
        sim.Results.from_folder(res)


@pytest.mark.parametrize("fixture", FIXTURES_)
def test_force_on_a_tampered_manifest(fixture: str, template: Path, box: Path, cli) -> None:
    res = _tampered(template, box, fixture)
    (res / "mine.txt").write_text("mine")
    before = snapshot(box)
    result = cli(*RUN, "-o", res, "--force")
    if Path(fixture).stem in FORCE_ALLOWED:
        assert result.exit_code == 0, result
        assert changed(before, snapshot(box), allowed="work/res") == []
        assert (res / "mine.txt").read_text() == "mine"
        assert digests(res) == digests(template)
    else:
        one_error(result, "nothing was removed")
        assert changed(before, snapshot(box)) == []


def test_the_untampered_manifest_reads(template: Path, box: Path) -> None:
    res = results_copy(template, box)
    results = sim.Results.from_folder(res)
    assert results.ids == ["baseline"] and results.seed == 0 and results.replications == 1


def test_a_scenario_file_changed_after_the_run_is_refused(template: Path, box: Path,
                                                          cli) -> None:
    res = results_copy(template, box)
    path = res / "scenarios" / "baseline.toml"
    path.write_text(path.read_text().replace("months = 1", "months = 2"))
    one_error(cli("report", res), "changed since the run")


def test_a_linked_scenario_file_is_not_followed(template: Path, box: Path, cli) -> None:
    res = results_copy(template, box)
    path = res / "scenarios" / "baseline.toml"
    outside = box / "home" / "baseline.toml"
    shutil.move(path, outside)
    path.symlink_to(outside)
    one_error(cli("report", res), "not a regular file")


@pytest.mark.parametrize(("setup", "expect"), [
    ("missing", "no such results folder"),
    ("file", "not a folder"),
    ("empty", "no manifest.json"),
    ("thesis", "no manifest.json"),
    ("unfinished", "did not finish"),
    ("calibration", "calibration folder"),
])
def test_report_of_something_that_is_not_a_finished_run(setup: str, expect: str,
                                                        template: Path, box: Path,
                                                        cli) -> None:
    target = box / "work" / setup
    if setup == "file":
        target = box / "work" / "notes.txt"
    elif setup == "empty":
        target.mkdir()
    elif setup == "thesis":
        target = box / "work" / "thesis"
    elif setup == "unfinished":
        target = results_copy(template, box, setup)
        (target / "market.parquet").unlink()
    elif setup == "calibration":
        target.mkdir()
        manifest = json.loads((template / "manifest.json").read_text())
        (target / "manifest.json").write_text(json.dumps(
            {**manifest, "kind": "calibration", "scenarios": [], "timings": {},
             "finished": {}}))
    before = snapshot(box)
    one_error(cli("report", target), expect)
    assert changed(before, snapshot(box)) == []


# --------------------------------------------------------------------------- item 3: limits


def _fast(seconds: float = 10.0):
    start = time.monotonic()
    return lambda: time.monotonic() - start < seconds


@pytest.mark.parametrize(("args", "expect"), [
    (["run", *OWN, "baseline", "-r", "10000000", "--months", "1", "--no-report"],
     ["10000000", "MARKETSIM_MAX_RUNS"]),
    (["run", *OWN, "baseline", "baseline", "-r", "60000", "--months", "1", "--no-report"],
     ["120,000", "MARKETSIM_MAX_RUNS=120000"]),
    (["sweep", "baseline", *VARY, "--vary", "world.kappa_open=0.1:0.5", "--design", "grid",
      "--samples", "10000000", "-r", "1"], ["10000000", "MARKETSIM_MAX_POINTS"]),
    (["sweep", "baseline", *VARY, "--vary", "world.kappa_open=0.1:0.5", "--vary",
      "world.share_floor=0.001:0.01", "--design", "grid", "--samples", "30", "-r", "1"],
     ["27,000", "MARKETSIM_MAX_POINTS"]),
    (["sweep", "baseline", *VARY, "--design", "lhs", "--samples", "10000000", "-r", "1"],
     ["10000000", "MARKETSIM_MAX_POINTS"]),
    (["sweep", "baseline", *VARY, "--design", "sobol", "--samples", "20000", "-r", "1"],
     ["20000", "MARKETSIM_MAX_POINTS"]),
    (["sweep", "baseline", *VARY, "--samples", "200", "-r", "1000"],
     ["200 design points x 1000 replications", "MARKETSIM_MAX_RUNS"]),
    (["sensitivity", "baseline", *VARY, "--samples", "10000000", "-r", "1"],
     ["10000000", "MARKETSIM_MAX_POINTS"]),
    (["sensitivity", "baseline", *VARY, "--method", "morris", "--samples", "10000000",
      "-r", "1"], ["10000000", "MARKETSIM_MAX_POINTS"]),
    (["calibrate", "baseline", "--targets", str(TARGETS), "--fit",
      "world.network_effect=0.1:1.5", "--max-evaluations", "100000", "-r", "5"],
     ["--max-evaluations 100000", "MARKETSIM_MAX_RUNS"]),
    (["calibrate", "baseline", "--targets", str(TARGETS), "--fit",
      "world.network_effect=0.1:1.5", "-r", "5000"], ["memory", "MARKETSIM_MAX_RUNS"]),
])
def test_oversized_work_is_refused_before_anything_is_built(args: list[str],
                                                            expect: list[str], box: Path,
                                                            cli) -> None:
    fast = _fast()
    before = snapshot(box)
    one_error(cli(*args, "-o", "out"), *expect)
    assert fast(), "the check must come before the work"
    assert changed(before, snapshot(box)) == []


def test_grid_size_is_computed_not_built() -> None:
    import tracemalloc

    p = Parameter("world.network_effect", 0.1, 1.0)
    tracemalloc.start()
    try:
        assert design_size([p] * 3, "grid", 10_000_000)[0] == 10 ** 21
        with pytest.raises(ScenarioError, match="MARKETSIM_MAX_POINTS"):
            make_design([p] * 3, "grid", 10_000_000, seed=0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000
    # integer levels stop growing once every integer is a level
    q = Parameter("experiment.replications", 0, 3, integer=True)
    assert q.level_count(10 ** 12) <= 6 and q.levels(10 ** 12) == q.levels(50) == [0, 1, 2, 3]
    choice = Parameter("vendors.Meta.products.Llama.openness", choices=("open", "closed"))
    assert design_size([choice, p], "grid", 7) == (14, "a grid of --samples 7 levels for "
                                                   "2 parameters")


def test_limits_can_be_raised_deliberately(monkeypatch: pytest.MonkeyPatch) -> None:
    p = Parameter("world.network_effect", 0.1, 1.0)
    monkeypatch.setenv(limits.MAX_POINTS_ENV, "3")
    with pytest.raises(ScenarioError, match="MARKETSIM_MAX_POINTS=4"):
        make_design([p, p], "grid", 2, seed=0)
    monkeypatch.setenv(limits.MAX_POINTS_ENV, "4")
    assert len(make_design([p, p], "grid", 2, seed=0)) == 4
    monkeypatch.setenv(limits.MAX_RUNS_ENV, "1_000")
    assert limits.max_runs() == 1000
    limits.check_runs(1000, "x")
    with pytest.raises(ScenarioError, match="MARKETSIM_MAX_RUNS=1001"):
        limits.check_runs(1001, "x")
    for bad in ("abc", "0", "-5", "1e9"):
        monkeypatch.setenv(limits.MAX_RUNS_ENV, bad)
        with pytest.raises(ScenarioError, match="positive whole number"):
            limits.max_runs()


def test_bad_limit_setting_is_one_line(box: Path, cli,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARKETSIM_MAX_RUNS", "lots")
    one_error(cli(*RUN, "-o", "out"), "MARKETSIM_MAX_RUNS")
    assert not (box / "work" / "out").exists()


def test_runs_kept_in_memory_have_a_lower_limit(monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="kept in memory.*give out="):
        sim.run("baseline", replications=1001, months=1, jobs=1)
    monkeypatch.setenv(limits.MAX_RUNS_ENV, "200")
    with pytest.raises(ScenarioError, match="limit of 2 for tables held in memory"):
        sim.run("baseline", replications=3, months=1, jobs=1)
    # with a results folder, the full limit
    res = sim.run("baseline", replications=3, months=1, jobs=1, out=tmp_path / "ok")
    assert res.replications == 3


@pytest.mark.parametrize(("option", "value"), [
    ("replications", 0), ("replications", 2.5), ("replications", True), ("seed", -1),
    ("seed", 2 ** 63), ("seed", "1"), ("months", 0), ("jobs", 0), ("jobs", -2),
    ("jobs", True), ("jobs", 1.5),
])
def test_python_counts_are_checked(option: str, value: Any, tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=option if option != "jobs" else "jobs"):
        sim.run("baseline", **{"replications": 1, "months": 1, option: value},
                out=tmp_path / "out")
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- item 3: -j


class _Spy:
    """Records the max_workers of every pool the runner starts."""

    started: list[int] = []

    def __init__(self, real: type) -> None:
        self.real = real

    def __call__(self, max_workers: int | None = None, **kwargs: Any) -> Any:
        _Spy.started.append(max_workers)
        return self.real(max_workers=max_workers, **kwargs)


def test_jobs_are_clamped_to_the_cores_and_the_tasks(monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture,
                                                     tmp_path: Path) -> None:
    import sim.experiment.pool as runner  # where the local pool is built

    _Spy.started = []
    monkeypatch.setattr(runner, "ProcessPoolExecutor", _Spy(runner.ProcessPoolExecutor))
    cores = limits.usable_cores()
    one = sim.run("baseline", replications=3, seed=4, months=2, jobs=1, out=tmp_path / "one")
    capsys.readouterr()
    many = sim.run("baseline", replications=3, seed=4, months=2, jobs=1000,
                   out=tmp_path / "many")
    err = capsys.readouterr().err
    assert _Spy.started and all(n <= min(cores, 3) for n in _Spy.started)
    assert err.count("\n") == 1 and err.startswith("note: -j 1000 is more than the")
    assert digests(Path(one.folder)) == digests(Path(many.folder))


def test_worker_count(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setattr(limits, "usable_cores", lambda: 4)
    assert limits.worker_count(None, 2) == 2
    assert limits.worker_count(None, 100) == 4
    assert limits.worker_count(3, 100) == 3
    assert capsys.readouterr().err == ""
    assert limits.worker_count(1000, 100) == 4
    assert limits.worker_count(1000, 2) == 2
    assert capsys.readouterr().err.count("note: -j 1000 is more than the 4 usable cores") == 2
    for bad in (0, -1, True, 2.5, "2"):
        with pytest.raises(ScenarioError, match="positive integer"):
            limits.worker_count(bad, 10)


def test_cli_notes_a_clamped_j(box: Path, cli) -> None:
    result = cli("run", *OWN, "baseline", "-r", "2", "--months", "1", "--no-report", "-j", "1000",
                 "-o", "out")
    assert result.exit_code == 0, result
    assert said(result.stderr).startswith("note: -j 1000")
    assert said(result.stderr).count("\n") == 1


# --------------------------------------------------------------------------- item 3: --scheduler


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A TCP server on 127.0.0.1 that accepts connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        server.close()


@pytest.fixture
def http_port() -> Iterator[int]:
    """A web server on 127.0.0.1 (it answers, but not as a Dask scheduler)."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _scheduler_refused(cli, box: Path, address: str, *expect: str, seconds: float) -> None:
    pytest.importorskip("distributed")
    fast = _fast(seconds)
    before = snapshot(box)
    one_error(cli(*RUN, "-o", "out", "--scheduler", address), "--scheduler", *expect)
    assert fast(), f"took longer than {seconds} s"
    assert changed(before, snapshot(box)) == []


def test_scheduler_silent_server_fails_in_seconds(silent_port: int, box: Path, cli) -> None:
    _scheduler_refused(cli, box, f"tcp://127.0.0.1:{silent_port}", "not a Dask scheduler",
                       seconds=15)


def test_scheduler_web_server_fails_in_seconds(http_port: int, box: Path, cli) -> None:
    _scheduler_refused(cli, box, f"tcp://127.0.0.1:{http_port}", "not a Dask scheduler",
                       seconds=15)


def test_scheduler_closed_port_fails_at_once(box: Path, cli) -> None:
    _scheduler_refused(cli, box, f"tcp://127.0.0.1:{closed_port()}", "refused", seconds=5)


@pytest.mark.parametrize(("address", "expect"), [
    ("garbage", "tcp://HOST:8786"),
    ("not a scheduler", "tcp://HOST:8786"),
    ("tcp://", "tcp://HOST:8786"),
    ("", "tcp://HOST:8786"),
    ("tcp://127.0.0.1:notaport", "tcp://HOST:8786"),
    ("tcp://127.0.0.1:70000", "outside 1..65535"),
    ("http://127.0.0.1:8786", "not a Dask scheduler address"),
    ("inproc://x:1", "not a Dask scheduler address"),
    ("tcp://\x1b[31m127.0.0.1:1", "tcp://HOST:8786"),
])
def test_scheduler_malformed_address(address: str, expect: str, box: Path, cli) -> None:
    _scheduler_refused(cli, box, address, expect, seconds=5)


def test_scheduler_check_accepts_a_real_scheduler() -> None:
    distributed = pytest.importorskip("distributed")
    from sim.cli_experiments import check_scheduler

    with distributed.LocalCluster(n_workers=0, processes=False, protocol="tcp",
                                  dashboard_address=None) as c:
        assert check_scheduler(c.scheduler_address) == c.scheduler_address
        host_port = c.scheduler_address.removeprefix("tcp://")
        assert check_scheduler(host_port) == c.scheduler_address


# --------------------------------------------------------------------------- item 6: SIGTERM


def test_status_of_what_ended_a_run() -> None:
    assert status_of(KeyboardInterrupt()) == "interrupted"
    assert status_of(SystemExit(143)) == "terminated"
    assert status_of(SystemExit(1)) == "failed"
    assert status_of(RuntimeError("boom")) == "failed"
    try:
        from sim.cli import Terminated
    except ImportError:  # pragma: no cover - the command line raises SystemExit(143)
        return
    assert status_of(Terminated()) == "terminated"


def test_sigterm_in_process_marks_terminated_and_resumes(template: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    import sim.replication

    real = sim.replication.run_replications  # one call per block of worlds (1 world here)
    calls = []

    def terminated(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise SystemExit(143)  # what sim.cli's SIGTERM handler raises
        return real(*args, **kwargs)

    monkeypatch.setattr(sim.replication, "run_replications", terminated)
    with pytest.raises(SystemExit):
        sim.run("baseline", replications=3, seed=0, months=1, jobs=1, out=tmp_path / "r")
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert manifest["status"] == "terminated" and manifest["finished"] == {"baseline": 1}
    monkeypatch.setattr(sim.replication, "run_replications", real)
    sim.run("baseline", replications=3, seed=0, months=1, jobs=1, out=tmp_path / "r",
            resume=True)
    assert json.loads((tmp_path / "r" / "manifest.json").read_text())["status"] == "complete"


def test_a_failure_while_combining_is_recorded(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    def full_disk(self: ResultsFolder, order: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ResultsFolder, "combine", full_disk)
    with pytest.raises(OSError):
        sim.run("baseline", replications=2, seed=0, months=1, jobs=1, out=tmp_path / "r")
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert manifest["status"] == "failed" and manifest["finished"] == {"baseline": 2}
    monkeypatch.undo()
    sim.run("baseline", replications=2, seed=0, months=1, jobs=1, out=tmp_path / "r",
            resume=True)
    assert json.loads((tmp_path / "r" / "manifest.json").read_text())["status"] == "complete"


def _default_signals() -> None:
    """In the child: SIGINT and SIGTERM as usual (a background suite may inherit them off)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_sigterm_exits_143_and_marks_the_run_terminated(jobs: str, tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["run", *OWN, "baseline", "-r", "16", "--seed", "3", "--months", "60", "--no-report",
            "-j", jobs, "-o", str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "sim", *args], cwd=ROOT, env=env,
                               preexec_fn=_default_signals, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not any((out / "parts").glob("*/*.done")):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no replication finished in time"
        time.sleep(0.01)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 143, (stdout, stderr)
    assert "Traceback" not in stderr and stderr.count("\n") <= 1, stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "terminated"
    done = sum(manifest["finished"].values())
    assert 1 <= done < 16 and len(list((out / "parts").glob("*/*.done"))) == done
    result = subprocess.run([sys.executable, "-m", "sim", *args, "--resume"], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"
    market = pd.read_parquet(out / "market.parquet", columns=["replication"])
    assert sorted(market["replication"].unique()) == list(range(16))


# --------------------------------------------------------------------------- docs


def test_docs_say_what_force_deletes_the_limits_and_the_exit_codes() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    guide = (ROOT / "docs" / "guide.md").read_text(encoding="utf-8")
    for code in ("0", "1", "2", "130", "143"):
        assert f"\n| {code} |" in readme, code
        assert f"\n| {code} |" in guide, code
    for text in ("MARKETSIM_MAX_RUNS", "MARKETSIM_MAX_POINTS", "--force", "terminated",
                 "SIGTERM", "SIGINT"):
        assert text in readme and text in guide, text
    for name in OWNED_FILES:
        assert f"`{name}`" in guide, name


# --------------------------------------------------------------------------- damaged data files


def test_report_refuses_damaged_or_linked_study_files(template: Path, box: Path, cli) -> None:
    res = results_copy(template, box)
    (res / "design.parquet").write_text("garbage")
    one_error(cli("report", res), "design.parquet", "unreadable")
    (res / "design.parquet").unlink()
    (res / "sensitivity.csv").symlink_to(box / "home" / "thesis.pdf")
    before = snapshot(box)
    one_error(cli("report", res), "sensitivity.csv", "not a regular file")
    assert changed(before, snapshot(box)) == []


def test_resume_over_a_damaged_part_is_one_line(template: Path, box: Path, cli) -> None:
    res = results_copy(template, box)
    (res / "parts" / "baseline" / "000000.vendors.parquet").write_text("torn")
    result = cli(*RUN, "-o", res, "--resume")
    one_error(result, "000000.vendors.parquet", "unreadable")
    assert json.loads((res / "manifest.json").read_text())["status"] == "failed"


def test_a_force_cut_short_can_be_finished(template: Path, box: Path, cli,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The manifest is removed last, so an interrupted --force leaves a folder it can redo."""
    res = results_copy(template, box)
    real = Path.unlink
    calls: list[Path] = []

    def unlink(self: Path, missing_ok: bool = False) -> None:
        calls.append(self)
        if len(calls) == 3:
            raise KeyboardInterrupt
        real(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", unlink)
    with pytest.raises(KeyboardInterrupt):
        ResultsFolder(res).clear(["baseline"])
    monkeypatch.setattr(Path, "unlink", real)
    assert (res / "manifest.json").is_file()
    result = cli(*RUN, "-o", res, "--force")
    assert result.exit_code == 0 and said(result.stderr) == "", result
    assert digests(res) == digests(template)
