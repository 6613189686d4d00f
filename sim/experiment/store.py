"""The results folder: atomic per-replication parts, a manifest, and combined tables.

Layout (INTERFACES.md): ``manifest.json``, ``scenarios/<id>.toml`` (resolved),
``market.parquet``, ``vendors.parquet``, ``events.parquet``, ``summary.csv``, and
``parts/`` with one file per table per finished replication. A part is written to
a temporary name and renamed, and its ``.done`` marker is written last, so an
interrupted run keeps exactly the replications that finished and ``--resume``
runs only the missing ones. Combining streams the parts in a fixed order
(scenario, replication) through a Parquet writer, so memory does not grow with
the number of runs and the files are identical whatever order the parts
finished in. No pickle anywhere.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
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
from sim.errors import ScenarioError

__all__ = ["ResultsFolder", "TABLES", "atomic_write_text", "atomic_writer", "write_frame",
           "versions", "git_state"]

TABLES = ("market", "vendors", "events")

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


class ResultsFolder:
    """A results folder being written or read."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    @property
    def manifest_path(self) -> Path:
        """Where the manifest lives."""
        return self.root / "manifest.json"

    def part(self, scenario_id: str, replication: int, table: str) -> Path:
        """Path of one replication's table."""
        return self.root / "parts" / scenario_id / f"{replication:06d}.{table}.parquet"

    def done_marker(self, scenario_id: str, replication: int) -> Path:
        """Marker written after all of a replication's tables."""
        return self.root / "parts" / scenario_id / f"{replication:06d}.done"

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

    def read_manifest(self) -> dict[str, Any] | None:
        """The manifest, or None if absent."""
        if not self.manifest_path.exists():
            return None
        try:
            return json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ScenarioError(f"{self.manifest_path}: unreadable manifest ({exc}); use "
                                "--force to start over") from None

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        """Write the manifest atomically."""
        atomic_write_text(self.manifest_path, json.dumps(manifest, indent=2, sort_keys=True)
                          + "\n")

    def write_scenario(self, scenario_id: str, toml_text: str) -> None:
        """Save a resolved scenario as ``scenarios/<id>.toml``."""
        atomic_write_text(self.root / "scenarios" / f"{scenario_id}.toml", toml_text)

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
                    part = pq.read_table(self.part(scenario_id, rep, table))
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

    def read(self, table: str, filters: list[Any] | None = None,
             columns: list[str] | None = None) -> pd.DataFrame:
        """Read a combined table (optionally some columns, filtered, e.g. one month)."""
        return pq.read_table(self.root / f"{table}.parquet", filters=filters,
                             columns=columns).to_pandas()

    def scan(self, table: str, columns: list[str] | None = None,
             months: Iterable[int] | None = None) -> Iterator[pa.Table]:
        """Stream a combined table one row group at a time.

        With ``months``, only those months' rows are kept; memory stays that of one
        row group (about :data:`ROW_GROUP_ROWS` rows), whatever the number of runs.
        """
        source = pq.ParquetFile(self.root / f"{table}.parquet")
        wanted = None if months is None else pa.array(sorted(set(months)), pa.int64())
        for i in range(source.num_row_groups):
            chunk = source.read_row_group(i, columns=columns)
            if wanted is not None:
                chunk = chunk.filter(pc.is_in(chunk["month"], value_set=wanted))
            yield chunk

    def read_months(self, table: str, months: Iterable[int],
                    columns: list[str] | None = None) -> pd.DataFrame:
        """Only the rows of some months (streamed; a large sweep's table is never loaded)."""
        chunks = list(self.scan(table, columns, months))
        if not chunks:
            schema = pq.read_schema(self.root / f"{table}.parquet")
            return schema.empty_table().select(columns or schema.names).to_pandas()
        return pa.concat_tables(chunks).to_pandas()

    def final_months(self) -> dict[str, int]:
        """Each scenario's last month in ``market.parquet`` (streams two columns)."""
        ends: dict[str, int] = {}
        for chunk in self.scan("market", ["scenario", "month"]):
            found = chunk.group_by("scenario").aggregate([("month", "max")]).to_pydict()
            for sid, month in zip(found["scenario"], found["month_max"], strict=True):
                ends[str(sid)] = max(int(month), ends.get(str(sid), int(month)))
        return ends


def scenario_hash(toml_text: str) -> str:
    """Fingerprint of a resolved scenario (to refuse resuming a different run)."""
    return hashlib.sha256(toml_text.encode("utf-8")).hexdigest()


def now_iso() -> str:
    """Current UTC time, ISO 8601."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
