"""The results folder: atomic per-replication parts, a manifest, and combined tables.

Layout (INTERFACES.md): ``manifest.json``, ``scenarios/<id>.toml`` (resolved),
``market.parquet``, ``vendors.parquet`` (firms), ``products.parquet``, ``events.parquet``,
``summary.csv``, and
``parts/`` with one file per table per finished replication. A part is written to
a temporary name and renamed, and its ``.done`` marker is written last, so an
interrupted run keeps exactly the replications that finished and ``--resume``
runs only the missing ones. Combining streams the parts in a fixed order
(scenario, replication) through a Parquet writer, so memory does not grow with
the number of runs and the files are identical whatever order the parts
finished in. No pickle anywhere.

What a folder may hold, and what ``--force`` may remove, is decided here and nowhere
else: :data:`OWNED_FILES` and the ``scenarios/<id>.toml`` and ``parts/<id>/...`` patterns
are every file marketsim writes, :func:`open_output` is the one rule every command
(``run``, ``sweep``, ``sensitivity``, ``calibrate``, and any later one) applies to its
``-o``, and :func:`parse_manifest` checks every field a manifest is read for, so a
folder's contents can never make marketsim read or write outside it.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sim._version import __version__
from sim.engine.engine import ENGINES
from sim.errors import ScenarioError

__all__ = ["ResultsFolder", "TABLES", "atomic_write_text", "atomic_writer", "write_frame",
           "versions", "git_state", "OWNED_FILES", "STATUSES", "TOOL", "MANIFEST_FORMAT",
           "check_id", "safe_id", "shown", "note", "check_output_path", "open_output",
           "inspect_output", "parse_manifest", "identifies", "status_of"]

#: the tables of a run (INTERFACES.md "Results folder"), in the order they are written
TABLES = ("market", "vendors", "products", "events")

#: the marker that identifies a results folder's manifest as marketsim's
TOOL = "marketsim"
#: version of the manifest's layout (older manifests have ``format`` 1 and no ``tool``)
MANIFEST_FORMAT = 1
#: what a manifest's ``kind`` may be: replications of scenarios, a calibration, or an
#: ensemble (per-world values in shards, ``sim.experiment.ensemble``)
KINDS = ("run", "calibration", "ensemble", "robustness")
#: a run's status: ``running`` until it ends; SIGINT gives ``interrupted``, SIGTERM
#: ``terminated``, any other exception ``failed``
STATUSES = ("running", "complete", "interrupted", "terminated", "failed")

#: Every file marketsim writes at the top of a results folder. ``--force`` removes these,
#: ``scenarios/<id>.toml``, ``parts/<id>/<NNNNNN>.<table>.parquet`` / ``.done``, an
#: ensemble's ``shards/<id>/`` shards and markers for the ids the manifest lists, and its
#: own temporary files (``.<name>.<random>.tmp``); nothing else. A new output file must be
#: added here (tests check every file a command writes).
OWNED_FILES = ("manifest.json", *(f"{table}.parquet" for table in TABLES), "summary.csv",
               "report.html", "design.parquet", "sensitivity.csv", "calibrated.toml",
               "calibration.csv", "evaluations.csv", "posterior.parquet", "diagnostics.json",
               "predictive.csv", "hindcast.csv", "bands.csv", "bands_facts.csv",
               "calibration.html", "draws.parquet", "robustness.parquet", "effects.csv",
               "feature_scores.csv", "rules.json")
SCENARIOS_DIR = "scenarios"
PARTS_DIR = "parts"
#: an ensemble's per-world shards: ``shards/<id>/<first>-<stop>.parquet`` and ``.done``
SHARDS_DIR = "shards"
_SHARD = re.compile(r"[0-9]{9}-[0-9]{9}\.(?:parquet|done)")
#: a Bayesian calibration's populations, one per stage: ``stages/stage-<k>.parquet`` / ``.json``
STAGES_DIR = "stages"
_STAGE = re.compile(r"stage-[0-9]{3}\.(?:parquet|json)")

#: scenario ids (and so file names): letters, digits, ``_`` and ``-``, at most this long
MAX_ID_LENGTH = 100
_ID = re.compile(r"[A-Za-z0-9_-]+")
_PART = re.compile(r"[0-9]{6}\.(?:done|(?:" + "|".join(TABLES) + r")\.parquet)")
_TEMPORARY = re.compile(r"\.(?P<name>.+)\.[A-Za-z0-9_]+\.tmp")
#: a manifest larger than this is not one marketsim wrote (100,000 runs take about 5 MB)
MAX_MANIFEST_BYTES = 64_000_000


def check_id(value: Any, what: str = "scenario id") -> str:
    """Return ``value`` if it is a valid scenario id, else raise ScenarioError.

    An id names files (``scenarios/<id>.toml``, ``parts/<id>/``), so it is 1 to
    :data:`MAX_ID_LENGTH` letters, digits, ``_`` or ``-``: never ``.``, ``..`` or a path.

    Example:
        >>> check_id("eu_blocks_open")
        'eu_blocks_open'
    """
    if not isinstance(value, str) or not _ID.fullmatch(value) or len(value) > MAX_ID_LENGTH:
        text = shown(repr(value) if isinstance(value, str) else type(value).__name__)
        raise ScenarioError(f"{what} {text} is not allowed: an id is 1-{MAX_ID_LENGTH} "
                            "letters, digits, '_' or '-'")
    return value


def safe_id(label: str, fallback: str = "scenario", length: int = 64) -> str:
    """A valid id made from a label (a file stem, a name): other characters become ``-``.

    Example:
        >>> safe_id("my scenario (v2)"), safe_id(".."), safe_id("")
        ('my-scenario-v2', 'scenario', 'scenario')
    """
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", str(label)).strip("-")[:length].strip("-")
    return slug or fallback


_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
                          "\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
    if char in named:
        return named[char]
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def shown(text: Any) -> str:
    r"""``text`` with control characters escaped, so a path or name prints as one inert line.

    Example:
        >>> shown("a\nb\x1b[2J")
        'a\\nb\\x1b[2J'
    """
    return _UNPRINTABLE.sub(_escape, str(text))


def note(text: str) -> None:
    """Print one ``note: ...`` line on stderr (something the user should know, not an error)."""
    try:
        print(f"note: {shown(text)}", file=sys.stderr, flush=True)
    except (OSError, ValueError):  # nobody reads stderr
        pass


#: rows per row group of the combined tables (a part is added whole, so a group ends
#: with the first part that reaches this size)
ROW_GROUP_ROWS = 16_384


def _file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_FILE_MODE = _file_mode()  # what open() would give; mkstemp alone gives 0600


def _temporary(path: Path) -> str:
    """A new empty temporary file next to ``path`` with ordinary permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    os.chmod(tmp, _FILE_MODE)
    return tmp


@contextmanager
def atomic_writer(path: Path) -> Iterator[TextIO]:
    """Write text to ``path`` atomically: a temporary file, renamed when the block ends."""
    tmp = _temporary(path)
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            yield handle
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write text to ``path`` atomically (temporary file in the same folder, then rename)."""
    with atomic_writer(path) as handle:
        handle.write(text)


def write_frame(path: Path, frame: pd.DataFrame) -> None:
    """Write a DataFrame to Parquet atomically."""
    tmp = _temporary(path)
    try:
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def versions() -> dict[str, str]:
    """Versions of marketsim, Python and the libraries results depend on."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"marketsim": __version__, "python": platform.python_version()}
    for name in ("numpy", "scipy", "pandas", "pyarrow", "mesa", "pydantic", "plotly", "SALib"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "absent"
    return out


def git_state() -> dict[str, Any] | None:
    """Commit and dirty flag of the checkout marketsim runs from, if it is one."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "-C", str(root), "status", "--porcelain",
                                     "--untracked-files=no"], capture_output=True, text=True,
                                    timeout=10, check=True).stdout.strip())
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": dirty}


def _home() -> Path | None:
    try:
        return Path.home().resolve()
    except (KeyError, OSError, RuntimeError):  # no HOME and no password entry
        return None


def check_output_path(out: str | Path) -> Path:
    """Check a results folder's path before anything is written (ScenarioError if unusable).

    Refused: an empty path; the current folder or any folder that contains it (``.``,
    ``..``); the home folder or a folder that contains it (``~``); the filesystem root;
    a path that exists and is not a folder, or lies under a file. ``~`` is expanded.

    Returns:
        The path (``~`` expanded, otherwise as given).

    Example:
        >>> check_output_path("runs/eu")
        PosixPath('runs/eu')
        >>> check_output_path("/")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        sim.errors.ScenarioError: refusing to use / (the filesystem root) as a results ...
    """
    text = str(out)
    if not text.strip():
        raise ScenarioError("the results folder's path is empty: give a folder of its own, "
                            "e.g. -o runs/NAME")
    if "\x00" in text:
        raise ScenarioError(f"results folder {shown(repr(text))}: a path cannot hold a NUL "
                            "character")
    try:
        path = Path(text).expanduser()
    except RuntimeError:  # "~user" for an unknown user: a folder of that name
        path = Path(text)
    try:
        target = path.resolve()
        cwd = Path.cwd().resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop, a deleted working folder
        raise ScenarioError(f"{shown(path)}: cannot use this path as a results folder "
                            f"({shown(getattr(exc, 'strerror', None) or exc)})") from None
    home = _home()
    why = None
    if target == Path(target.anchor):
        why = "the filesystem root"
    elif target == cwd:
        why = "the current folder"
    elif cwd.is_relative_to(target):
        why = "a folder that contains the current folder"
    elif home is not None and target == home:
        why = "your home folder"
    elif home is not None and home.is_relative_to(target):
        why = "a folder that contains your home folder"
    if why:
        raise ScenarioError(f"refusing to use {shown(path)} ({why}) as a results folder: give "
                            "a folder of its own, e.g. -o runs/NAME")
    probe = target
    while not os.path.lexists(probe) and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        if probe == target:
            raise ScenarioError(f"{shown(path)}: exists and is not a folder")
        raise ScenarioError(f"{shown(path)}: {shown(probe)} is a file, not a folder")
    return path


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
             int: "a number", float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _short_repr(value: Any, limit: int = 40) -> str:
    text = shown(json.dumps(value, default=str) if not isinstance(value, str) else repr(value))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and value == value and abs(value) != float("inf"))


def identifies(data: Any) -> bool:
    """Whether a manifest's content says marketsim wrote the folder.

    New manifests carry ``"tool": "marketsim"``; older ones (before the marker) are
    recognised by ``"format": 1`` with a ``scenarios`` list.
    """
    if not isinstance(data, dict):
        return False
    if "tool" in data:
        return data["tool"] == TOOL
    return data.get("format") == 1 and isinstance(data.get("scenarios"), list)


def manifest_ids(data: Any) -> list[str]:
    """The valid scenario ids a (possibly damaged) manifest lists; invalid ones are skipped."""
    items = data.get("scenarios") if isinstance(data, dict) else None
    ids = []
    for item in items if isinstance(items, list) else []:
        sid = item.get("id") if isinstance(item, dict) else None
        if isinstance(sid, str) and _ID.fullmatch(sid) and len(sid) <= MAX_ID_LENGTH:
            ids.append(sid)
    return ids


def parse_manifest(data: Any, where: str = "manifest.json") -> dict[str, Any]:
    """Check every field of a manifest marketsim reads; return it with defaults filled in.

    Raises:
        ScenarioError: One line naming the first field that is wrong (a manifest edited
            by hand, truncated, or not marketsim's), never a KeyError or TypeError.
    """
    def bad(what: str) -> ScenarioError:
        return ScenarioError(f"{where}: not a valid marketsim manifest: {what}")

    if not isinstance(data, dict):
        raise bad(f"expected a JSON object, got {_json_type(data)}")
    if not identifies(data):
        raise bad(f'no "tool": "{TOOL}" marker')
    fmt = data.get("format")
    if not _is_int(fmt) or fmt < 1:
        raise bad(f"'format' must be a positive integer, got {_short_repr(fmt)}")
    if fmt > MANIFEST_FORMAT:
        raise ScenarioError(f"{where}: written by a newer marketsim (manifest format {fmt}); "
                            "upgrade marketsim to read it")
    kind = data.get("kind", "run")
    if kind not in KINDS:
        raise bad(f"'kind' must be one of {', '.join(KINDS)}, got {_short_repr(kind)}")
    scenarios = data.get("scenarios", [] if kind == "calibration" else None)
    if not isinstance(scenarios, list):
        raise bad(f"'scenarios' must be a list, got {_json_type(scenarios)}")
    if kind == "run" and not scenarios:
        raise bad("'scenarios' is empty")
    entries: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, item in enumerate(scenarios):
        if not isinstance(item, dict):
            raise bad(f"scenarios.{i} must be an object, got {_json_type(item)}")
        sid = item.get("id")
        if not (isinstance(sid, str) and _ID.fullmatch(sid) and len(sid) <= MAX_ID_LENGTH):
            raise bad(f"scenarios.{i}.id {_short_repr(sid)} is not an id (1-{MAX_ID_LENGTH} "
                      "letters, digits, '_' or '-')")
        if sid.lower() in seen:
            raise bad(f"scenario id {sid!r} is listed twice")
        seen.add(sid.lower())
        digest = item.get("sha256")
        if not (isinstance(digest, str) and re.fullmatch(r"[0-9a-f]{64}", digest)):
            raise bad(f"scenarios.{i}.sha256 is not a SHA-256 digest")
        name = item.get("name", sid)
        if not isinstance(name, str):
            raise bad(f"scenarios.{i}.name must be a string, got {_json_type(name)}")
        months = item.get("months")
        if months is not None and not (_is_int(months) and months >= 0):
            raise bad(f"scenarios.{i}.months must be a non-negative integer, got "
                      f"{_short_repr(months)}")
        entries.append({**item, "id": sid, "sha256": digest, "name": name, "months": months})
    ids = [entry["id"] for entry in entries]
    seed, replications = data.get("seed"), data.get("replications")
    if not (_is_int(seed) and seed >= 0):
        raise bad(f"'seed' must be a non-negative integer, got {_short_repr(seed)}")
    if not (_is_int(replications) and replications >= 1):
        raise bad(f"'replications' must be a positive integer, got {_short_repr(replications)}")
    # manifests written before version 2 have no engine: they ran exact draws
    engine = data.get("engine", "exact")
    if engine not in ENGINES:
        raise bad(f"'engine' must be one of {', '.join(ENGINES)}, got {_short_repr(engine)}")
    status = data.get("status")
    if status not in STATUSES:
        raise bad(f"'status' must be one of {', '.join(STATUSES)}, got {_short_repr(status)}")
    for key in ("command", "created_at", "finished_at"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise bad(f"'{key}' must be a string, got {_json_type(data[key])}")
    if data.get("run_seconds") is not None and not _is_number(data["run_seconds"]):
        raise bad(f"'run_seconds' must be a number, got {_short_repr(data['run_seconds'])}")
    versions_ = data.get("versions", {})
    if not isinstance(versions_, dict) or not all(isinstance(v, str) for v in versions_.values()):
        raise bad("'versions' must map names to version strings")
    git = data.get("git")
    if git is not None and not (isinstance(git, dict) and isinstance(git.get("commit"), str)
                                and isinstance(git.get("dirty"), bool)):
        raise bad("'git' must be null or {\"commit\": text, \"dirty\": true|false}")
    timings = data.get("timings", {})
    if not isinstance(timings, dict):
        raise bad(f"'timings' must be an object, got {_json_type(timings)}")
    known = set(ids)
    for key, value in timings.items():
        sid, _, rep = key.rpartition("/")
        if sid not in known or not (rep.isascii() and rep.isdigit() and len(rep) <= 12
                                    and int(rep) < replications):
            raise bad(f"timings key {_short_repr(key)} is not <scenario id>/<replication>")
        if not _is_number(value):
            raise bad(f"timings[{_short_repr(key)}] must be a number")
    finished = data.get("finished", {})
    if not isinstance(finished, dict) or not all(
            k in known and _is_int(v) and 0 <= v <= replications for k, v in finished.items()):
        raise bad("'finished' must map scenario ids to replication counts")
    return {**data, "tool": TOOL, "format": fmt, "kind": kind, "scenarios": entries,
            "seed": seed, "replications": replications, "engine": engine, "status": status,
            "versions": versions_, "git": git, "timings": timings, "finished": finished}


def status_of(exc: BaseException) -> str:
    """The manifest status of a run that ``exc`` ended.

    SIGINT (KeyboardInterrupt) is ``interrupted``; SIGTERM, which the command line turns
    into ``SystemExit(143)``, is ``terminated``; anything else ``failed``.
    """
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    if isinstance(exc, SystemExit) and exc.code == 128 + 15:
        return "terminated"
    return "failed"


def _owned_temporary(name: str, owned: Iterable[str] | re.Pattern[str]) -> bool:
    match = _TEMPORARY.fullmatch(name)
    if match is None:
        return False
    if isinstance(owned, re.Pattern):
        return owned.fullmatch(match["name"]) is not None
    return match["name"] in set(owned)


def is_regular_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _is_real_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:  # not empty: what is left is not marketsim's
        pass


class ResultsFolder:
    """A results folder being written or read."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    @property
    def manifest_path(self) -> Path:
        """Where the manifest lives."""
        return self.root / "manifest.json"

    def part(self, scenario_id: str, replication: int, table: str) -> Path:
        """Path of one replication's table (the id is checked: never a path outside)."""
        return self._parts(scenario_id) / f"{int(replication):06d}.{table}.parquet"

    def done_marker(self, scenario_id: str, replication: int) -> Path:
        """Marker written after all of a replication's tables."""
        return self._parts(scenario_id) / f"{int(replication):06d}.done"

    def _parts(self, scenario_id: str) -> Path:
        return self.root / PARTS_DIR / check_id(scenario_id)

    def is_done(self, scenario_id: str, replication: int) -> bool:
        """Whether a replication finished and was stored."""
        return self.done_marker(scenario_id, replication).exists()

    def write_replication(self, scenario_id: str, replication: int,
                          tables: dict[str, pd.DataFrame]) -> None:
        """Store one replication atomically: tables first, then the done marker."""
        for table in TABLES:
            write_frame(self.part(scenario_id, replication, table), tables[table])
        atomic_write_text(self.done_marker(scenario_id, replication), "done\n")

    def is_empty(self) -> bool:
        """Whether the folder is missing or has no entries."""
        return not self.root.exists() or not any(self.root.iterdir())

    def has_manifest(self) -> bool:
        """Whether there is anything named ``manifest.json`` (a file, a link, a folder)."""
        return os.path.lexists(self.manifest_path)

    def raw_manifest(self) -> Any:
        """The manifest's JSON as it is (any JSON value, JSON ``null`` included).

        Raises:
            ScenarioError: It is missing, not a regular file inside the folder (a symbolic
                link is not followed), larger than any marketsim writes, or not JSON.
        """
        path = self.manifest_path
        if not os.path.lexists(path):
            raise ScenarioError(f"{shown(path)}: missing")
        where = shown(path)
        if not is_regular_file(path):
            raise ScenarioError(f"{where}: not a regular file (marketsim never writes a "
                                "link or a folder there)")
        try:
            if path.stat().st_size > MAX_MANIFEST_BYTES:
                raise ScenarioError(f"{where}: larger than any manifest marketsim writes "
                                    f"({MAX_MANIFEST_BYTES // 1_000_000} MB)")
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError) as exc:
            reason = shown(" ".join(str(getattr(exc, "strerror", None) or exc).split()))[:120]
            raise ScenarioError(f"{where}: unreadable manifest ({reason})") from None

    def read_manifest(self) -> dict[str, Any] | None:
        """The manifest, every field checked (:func:`parse_manifest`), or None if absent."""
        if not self.has_manifest():
            return None
        return parse_manifest(self.raw_manifest(), shown(self.manifest_path))

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        """Write the manifest atomically."""
        atomic_write_text(self.manifest_path, json.dumps(manifest, indent=2, sort_keys=True)
                          + "\n")

    def scenario_path(self, scenario_id: str) -> Path:
        """``scenarios/<id>.toml`` (the id is checked)."""
        return self.root / SCENARIOS_DIR / f"{check_id(scenario_id)}.toml"

    def write_scenario(self, scenario_id: str, toml_text: str) -> None:
        """Save a resolved scenario as ``scenarios/<id>.toml``."""
        atomic_write_text(self.scenario_path(scenario_id), toml_text)

    def check_layout(self, ids: Iterable[str] = ()) -> None:
        """Refuse a folder whose ``scenarios/`` or ``parts/`` would lead outside it.

        marketsim writes only plain folders there; a symbolic link (or a file) in their
        place would make it write through the link, so it is an error, not followed.
        """
        ids = list(ids)
        for sub in (SCENARIOS_DIR, PARTS_DIR, SHARDS_DIR, STAGES_DIR,
                    *(f"{top}/{sid}" for top in (PARTS_DIR, SHARDS_DIR) for sid in ids)):
            path = self.root / sub
            if os.path.lexists(path) and not _is_real_dir(path):
                what = "a symbolic link" if path.is_symlink() else "not a folder"
                raise ScenarioError(f"{shown(path)}: {what}; marketsim writes only into "
                                    "folders of its own inside the results folder (remove it "
                                    "or choose another -o)")
        for name in (*OWNED_FILES, *(f"{SCENARIOS_DIR}/{sid}.toml" for sid in ids)):
            path = self.root / name
            if _is_real_dir(path):
                raise ScenarioError(f"{shown(path)}: a folder where marketsim writes a file "
                                    "(remove it or choose another -o)")

    def clear(self, ids: Iterable[str]) -> list[str]:
        """Remove the files marketsim writes (and nothing else); return what was kept.

        Removed: :data:`OWNED_FILES`, ``scenarios/<id>.toml``, ``parts/<id>/`` parts and
        markers and ``shards/<id>/`` shards and markers of the given ids, and marketsim's
        temporary files; then the ``scenarios``, ``parts``, ``shards`` and per-id folders if
        that left them empty. Symbolic links are
        never followed (a link at one of those names is removed, not what it points to).
        Anything else stays where it is.
        """
        ids = list(ids)
        self.check_layout(ids)

        def remove(path: Path) -> None:
            # a file, or a link at a name marketsim writes (removing a link never touches
            # what it points to); never a folder
            if is_regular_file(path) or path.is_symlink():
                path.unlink()

        # the manifest goes last: a clear cut short (SIGTERM, a full disk) leaves a folder
        # that is still recognisably marketsim's, so --force can finish the job
        for entry in list(self.root.iterdir()):
            if entry.name != "manifest.json" and (
                    entry.name in OWNED_FILES or _owned_temporary(entry.name, OWNED_FILES)):
                remove(entry)
        scenarios = self.root / SCENARIOS_DIR
        if _is_real_dir(scenarios):
            names = {f"{sid}.toml" for sid in ids}
            for entry in list(scenarios.iterdir()):
                if entry.name in names or _owned_temporary(entry.name, names):
                    remove(entry)
        parts, shards = self.root / PARTS_DIR, self.root / SHARDS_DIR
        for top, pattern in ((parts, _PART), (shards, _SHARD)):
            for sid in ids:
                folder = top / sid
                if _is_real_dir(folder):
                    for entry in list(folder.iterdir()):
                        if pattern.fullmatch(entry.name) or _owned_temporary(entry.name,
                                                                             pattern):
                            remove(entry)
                    _remove_if_empty(folder)
        stages = self.root / STAGES_DIR
        if _is_real_dir(stages):
            for entry in list(stages.iterdir()):
                if _STAGE.fullmatch(entry.name) or _owned_temporary(entry.name, _STAGE):
                    remove(entry)
        for folder in (parts, shards, stages, scenarios):
            if _is_real_dir(folder):
                _remove_if_empty(folder)
        remove(self.manifest_path)
        return sorted(e.name + ("/" if _is_real_dir(e) else "") for e in self.root.iterdir())

    def combine(self, order: Iterable[tuple[str, int]]) -> None:
        """Stream every part, in ``order``, into ``<table>.parquet``.

        Parts are gathered into row groups of about :data:`ROW_GROUP_ROWS` rows (one row
        group per replication would make the file's footer, which every reader holds in
        memory, grow with the number of runs). The files depend only on the parts and
        their order, never on which executor wrote them or when.
        """
        order = list(order)
        for table in TABLES:
            target = self.root / f"{table}.parquet"
            tmp = _temporary(target)
            writer = None
            pending: list[pa.Table] = []
            try:
                for scenario_id, rep in order:
                    path = self.part(scenario_id, rep, table)
                    with _readable(path):  # a damaged part: one line, not a traceback
                        part = pq.read_table(path)
                    if writer is None:
                        writer = pq.ParquetWriter(tmp, part.schema)
                    pending.append(part.cast(writer.schema))
                    if sum(t.num_rows for t in pending) >= ROW_GROUP_ROWS:
                        writer.write_table(pa.concat_tables(pending),
                                           row_group_size=ROW_GROUP_ROWS * 2)
                        pending = []
                if writer is not None:
                    if pending:
                        writer.write_table(pa.concat_tables(pending),
                                           row_group_size=ROW_GROUP_ROWS * 2)
                    writer.close()
                    writer = None
                os.replace(tmp, target)
            except BaseException:
                if writer is not None:
                    writer.close()
                Path(tmp).unlink(missing_ok=True)
                raise

    def table_path(self, table: str) -> Path:
        """``<table>.parquet``; ScenarioError if the run never combined it (not complete)."""
        path = self.root / f"{table}.parquet"
        if not is_regular_file(path):
            raise ScenarioError(f"{shown(path)}: missing; the run did not finish (continue "
                                "it with --resume)")
        return path

    def check_report_inputs(self) -> None:
        """Everything a report reads is a readable file of this folder (never a link).

        The combined tables must exist (the run finished); ``design.parquet`` and
        ``sensitivity.csv`` may be absent, but if present must be regular files that
        parse, so a damaged one is one ScenarioError line rather than a failure later.
        """
        for table in TABLES:
            self.table_path(table)
        design, indices = self.root / "design.parquet", self.root / "sensitivity.csv"
        for path in (design, indices):
            if os.path.lexists(path) and not is_regular_file(path):
                raise ScenarioError(f"{shown(path)}: not a regular file (marketsim never "
                                    "writes a link or a folder there)")
        if is_regular_file(design):
            with _readable(design):
                pq.read_schema(design)
        if is_regular_file(indices):
            try:
                pd.read_csv(indices, nrows=1)
            except (OSError, ValueError) as exc:  # pandas' parser errors are ValueErrors
                raise ScenarioError(f"{shown(indices)}: unreadable "
                                    f"({shown(' '.join(str(exc).split()))[:120]})") from None

    def read(self, table: str, filters: list[Any] | None = None,
             columns: list[str] | None = None) -> pd.DataFrame:
        """Read a combined table (optionally some columns, filtered, e.g. one month)."""
        path = self.table_path(table)
        with _readable(path):
            return pq.read_table(path, filters=filters, columns=columns).to_pandas()

    def scan(self, table: str, columns: list[str] | None = None,
             months: Iterable[int] | None = None) -> Iterator[pa.Table]:
        """Stream a combined table one row group at a time.

        With ``months``, only those months' rows are kept; memory stays that of one
        row group (about :data:`ROW_GROUP_ROWS` rows), whatever the number of runs.
        """
        path = self.table_path(table)
        with _readable(path):
            source = pq.ParquetFile(path)
        wanted = None if months is None else pa.array(sorted(set(months)), pa.int64())
        for i in range(source.num_row_groups):
            with _readable(path):
                chunk = source.read_row_group(i, columns=columns)
                if wanted is not None:
                    chunk = chunk.filter(pc.is_in(chunk["month"], value_set=wanted))
            yield chunk

    def read_months(self, table: str, months: Iterable[int],
                    columns: list[str] | None = None) -> pd.DataFrame:
        """Only the rows of some months (streamed; a large sweep's table is never loaded)."""
        chunks = list(self.scan(table, columns, months))
        if not chunks:
            path = self.table_path(table)
            with _readable(path):
                schema = pq.read_schema(path)
                return schema.empty_table().select(columns or schema.names).to_pandas()
        return pa.concat_tables(chunks).to_pandas()

    def final_months(self) -> dict[str, int]:
        """Each scenario's last month in ``market.parquet`` (streams two columns)."""
        ends: dict[str, int] = {}
        for chunk in self.scan("market", ["scenario", "month"]):
            found = chunk.group_by("scenario").aggregate([("month", "max")]).to_pydict()
            for sid, month in zip(found["scenario"], found["month_max"], strict=True):
                ends[str(sid)] = max(int(month), ends.get(str(sid), int(month)))
        if not ends:
            raise ScenarioError(f"{shown(self.root / 'market.parquet')}: holds no rows")
        return ends


@contextmanager
def _readable(path: Path) -> Iterator[None]:
    """Turn a damaged or foreign Parquet file into one clear ScenarioError line."""
    try:
        yield
    except (pa.ArrowException, OSError) as exc:
        reason = shown(" ".join(str(exc).split()))[:160]
        raise ScenarioError(f"{shown(path)}: unreadable ({reason})") from None


def inspect_output(out: str | Path, *, force: bool = False, resume: bool = False
                   ) -> tuple[Path, str, dict[str, Any] | None]:
    """Decide what writing results to ``out`` will do, changing nothing.

    The rule every command applies to its results folder (``-o``, ``out=``):

    * the path must pass :func:`check_output_path` (never ``.``, ``~``, ``/``, a folder
      that contains the current or home folder, a file);
    * a missing or empty folder is created (``"create"``);
    * with ``resume``, a folder with a valid manifest is continued (``"resume"``);
    * with ``force``, a folder whose ``manifest.json`` says marketsim wrote it has
      marketsim's files replaced (``"replace"``; :meth:`ResultsFolder.clear`), whatever
      else it holds staying; any other folder is refused, and nothing is removed;
    * otherwise a non-empty folder is refused.

    ``force`` wins over ``resume``.

    Returns:
        ``(path, action, manifest)``; the manifest is the folder's (as found for
        ``replace``, checked for ``resume``), or None for ``create``.
    """
    path = check_output_path(out)
    folder = ResultsFolder(path)
    where = shown(path)
    if folder.is_empty():
        return path, "create", None
    if force:
        data = None
        if folder.has_manifest():
            try:
                data = folder.raw_manifest()
            except ScenarioError as exc:
                raise ScenarioError(f"{where}: --force replaces only a folder marketsim wrote, "
                                    f"and its manifest cannot be read ({exc}); nothing was "
                                    "removed") from None
        if not identifies(data):
            found = "has a manifest.json that marketsim did not write" if \
                folder.has_manifest() else "has no manifest.json"
            raise ScenarioError(f"{where}: not a marketsim results folder ({found}); --force "
                                "replaces only a folder marketsim wrote, so nothing was "
                                "removed: choose another -o or empty it yourself")
        folder.check_layout(manifest_ids(data))
        return path, "replace", data
    if resume:
        manifest = folder.read_manifest()
        if manifest is None:
            raise ScenarioError(f"{where}: not a marketsim results folder (no manifest.json); "
                                "choose another -o")
        folder.check_layout(s["id"] for s in manifest["scenarios"])
        return path, "resume", manifest
    raise ScenarioError(f"{where}: folder is not empty; use --resume to continue the run in "
                        "it or --force to replace the files marketsim wrote there")


def open_output(out: str | Path, *, force: bool = False, resume: bool = False
                ) -> tuple[ResultsFolder, str, dict[str, Any] | None]:
    """Apply :func:`inspect_output`'s decision: create the folder or clear marketsim's files.

    With ``"replace"``, a ``note:`` line on stderr lists what was kept (files marketsim
    did not write). Errors creating the folder (permissions, a read-only disk) are
    ScenarioErrors naming it.
    """
    path, action, manifest = inspect_output(out, force=force, resume=resume)
    folder = ResultsFolder(path)
    try:
        if action == "create":
            path.mkdir(parents=True, exist_ok=True)
        elif action == "replace":
            kept = folder.clear(manifest_ids(manifest))
            if kept:
                listed = ", ".join(kept[:3]) + (f" and {len(kept) - 3} more" if len(kept) > 3
                                                else "")
                note(f"{path}: --force replaced marketsim's files and kept {len(kept)} "
                     f"entr{'y' if len(kept) == 1 else 'ies'} it did not write ({listed})")
            manifest = None
    except OSError as exc:
        raise ScenarioError(f"{shown(path)}: cannot prepare the results folder "
                            f"({shown(exc.strerror or exc)})") from None
    return folder, action, manifest


def file_hash(path: str | Path) -> str:
    """SHA-256 of a file's bytes (a posterior's identity in a manifest)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def scenario_hash(toml_text: str) -> str:
    """Fingerprint of a resolved scenario (to refuse resuming a different run)."""
    return hashlib.sha256(toml_text.encode("utf-8")).hexdigest()


def now_iso() -> str:
    """Current UTC time, ISO 8601."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
