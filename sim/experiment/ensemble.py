"""Ensembles of 10^4-10^6 worlds: chunks of worlds per task, per-world values in Parquet shards.

A run (``sim.run``) keeps every monthly table of every replication; at 10^4 worlds and more
that is tens of GB. An ensemble stores only what a study needs: the chosen market metrics at
the chosen months, one row per (world, month, region, segment). Worlds are run in chunks (one
batched :class:`~sim.engine.engine.Engine` of ``chunk`` worlds per task, on the local pool or
on Dask alike), each chunk keeping only those months (``Recorder(keep_months=...)``) and
writing one shard, ``shards/<id>/<first>-<stop>.parquet``, then its ``.done`` marker. The
manifest lists the run; ``resume`` runs only the chunks without a marker. Nothing holds all
worlds' monthly tables, so memory does not grow with the number of worlds; the summary reads
one metric at a time.

World ``i`` of every scenario is replication ``i`` (common random numbers), and a world's
values do not depend on its chunk, the chunk size, the worker count or the executor: the
engine's draws are keyed by replication (docs/performance.md).
"""

from __future__ import annotations

import re
import time
import tomllib
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from sim.engine.compile import shared_cuts
from sim.engine.metrics import INDEX
from sim.errors import Problem, ScenarioError, suggest
from sim.experiment.pool import execute_tasks
from sim.experiment.runner import assign_ids, check_count, check_engine, normalise_scenarios
from sim.experiment.store import (
    MANIFEST_FORMAT,
    TOOL,
    ResultsFolder,
    atomic_write_text,
    check_id,
    git_state,
    now_iso,
    open_output,
    scenario_hash,
    shown,
    status_of,
    versions,
    write_frame,
)
from sim.experiment.summary import nan_percentile, t_interval
from sim.metric_names import MARKET_METRICS
from sim.scenario.months import date_of, step_of
from sim.scenario.overrides import with_horizon
from sim.scenario.schema import ScenarioWarning

__all__ = ["Chunk", "Ensemble", "ensemble", "run_chunk", "ENSEMBLE_COLUMNS", "DEFAULT_CHUNK",
           "SHARDS_DIR", "SHARD"]

#: Worlds per task: large enough that a month's numpy calls work on long arrays, small
#: enough that a chunk's state and records stay in the tens of MB (docs/performance.md).
DEFAULT_CHUNK = 256
SHARDS_DIR = "shards"
#: A shard and its marker: ``<first>-<stop>.parquet`` / ``.done`` (world numbers, 9 digits).
SHARD = re.compile(r"[0-9]{9}-[0-9]{9}\.(?:parquet|done)")
KEYS = ("scenario", "replication", "month", "region", "segment")
#: Columns of :meth:`Ensemble.summary`: the run summary's, with the median and, for the
#: paired difference from the first scenario, its spread over worlds and the share above 0.
ENSEMBLE_COLUMNS = ("scenario", "region", "segment", "metric", "month", "date", "worlds",
                    "mean", "sd", "ci_low", "ci_high", "p05", "p50", "p95", "diff_mean",
                    "diff_ci_low", "diff_ci_high", "diff_p05", "diff_p95", "diff_share_positive")
MAX_WORLDS = 10 ** 9


@dataclass(frozen=True)
class Chunk:
    """Worlds ``first .. first + count - 1`` of one scenario (plain data: any executor)."""

    scenario_id: str
    scenario_toml: str
    seed: int
    first: int
    count: int
    engine: str
    months: tuple[int, ...]
    metrics: tuple[str, ...]
    out_dir: str
    #: access groups shared with the scenarios paired with this one (shared_cuts)
    group_cuts: tuple[tuple[str, str, float], ...] = ()

    @property
    def stem(self) -> str:
        """The shard's file name without suffix."""
        return f"{self.first:09d}-{self.first + self.count:09d}"


def _shard(root: str | Path, sid: str, stem: str, suffix: str) -> Path:
    return Path(root) / SHARDS_DIR / check_id(sid) / f"{stem}.{suffix}"


def run_chunk(chunk: Chunk) -> tuple[str, int, int, float]:
    """Run one chunk of worlds and store its shard; returns ``(id, first, count, seconds)``."""
    from sim.engine.compile import compile_scenario
    from sim.engine.engine import Engine
    from sim.scenario.loader import validate_data

    start = time.perf_counter()
    with warnings.catch_warnings():  # the caller validated (and warned about) it already
        warnings.simplefilter("ignore", ScenarioWarning)
        scenario = validate_data(tomllib.loads(chunk.scenario_toml), quiet=True)
    params = compile_scenario(scenario, chunk.group_cuts).repeat(chunk.count)
    reps = np.arange(chunk.first, chunk.first + chunk.count, dtype=np.int64)
    engine = Engine(params, chunk.seed, reps, chunk.engine, keep_months=chunk.months)
    engine.run(max(chunk.months))  # nothing after the last kept month is needed
    st = params.structure
    columns = [INDEX[m] for m in chunk.metrics]
    values = engine.recorder.market[..., columns]  # [W, T', R + 1, S + 1, M']
    index = pd.MultiIndex.from_product(
        [reps, list(chunk.months), [*st.regions, "World"], [*st.segments, "all"]],
        names=list(KEYS[1:]))
    frame = pd.DataFrame(values.reshape(-1, len(columns)), columns=list(chunk.metrics),
                         index=index).reset_index()
    frame.insert(0, "scenario", chunk.scenario_id)
    Path(chunk.out_dir, SHARDS_DIR, chunk.scenario_id).mkdir(parents=True, exist_ok=True)
    write_frame(_shard(chunk.out_dir, chunk.scenario_id, chunk.stem, "parquet"), frame)
    atomic_write_text(_shard(chunk.out_dir, chunk.scenario_id, chunk.stem, "done"), "done\n")
    return chunk.scenario_id, chunk.first, chunk.count, time.perf_counter() - start


def _metrics(metrics: Any) -> tuple[str, ...]:
    if metrics is None:
        return tuple(MARKET_METRICS)
    names = [metrics] if isinstance(metrics, str) else list(metrics)
    problems = [Problem(f"unknown metric {shown(repr(name))[:60]}", path="metrics",
                        suggestion=suggest(str(name), MARKET_METRICS))
                for name in names if name not in MARKET_METRICS]
    if problems:
        raise ScenarioError(problems)
    if not names:
        raise ScenarioError("metrics: give at least one metric")
    return tuple(dict.fromkeys(names))


def _months(at: Any, start: str, horizon: int) -> tuple[int, ...]:
    """Steps to keep: ``"YYYY-MM"`` dates or step numbers, within the horizon."""
    if at is None:
        return (horizon,)
    items = [at] if isinstance(at, str | int) else list(at)
    steps = []
    for item in items:
        try:
            step = step_of(item if isinstance(item, int) else str(item).strip(), start)
        except ValueError:
            raise ScenarioError(f"at: {shown(repr(item))} is neither a 'YYYY-MM' month nor a "
                                "step number") from None
        if not 0 <= step <= horizon:
            raise ScenarioError(f"at: {shown(str(item))} is step {step}, outside the run's "
                                f"months 0..{horizon} ({start} .. {date_of(horizon, start)})")
        steps.append(step)
    if not steps:
        raise ScenarioError("at: give at least one month")
    return tuple(sorted(set(steps)))


def ensemble(scenarios: Any, worlds: int, seed: int | None = None, *, out: str | Path,
             months: int | None = None, at: Any = None, metrics: Any = None,
             engine: str | None = "expected", chunk: int = DEFAULT_CHUNK, jobs: int | None = None,
             executor: Any = None, resume: bool = False, force: bool = False,
             progress: bool | None = None, command: str | None = None) -> Ensemble:
    """Run ``worlds`` worlds of each scenario, storing per-world values in Parquet shards.

    Args:
        scenarios: As :func:`sim.run`; with two or more, each is paired with the first.
        worlds: Worlds (replications) per scenario.
        seed: Root seed (default: the first scenario's ``[experiment].seed``).
        out: The results folder (the rules of :func:`sim.experiment.store.open_output`).
        months: Override every scenario's horizon.
        at: Months to keep (``"YYYY-MM"`` or step numbers; default the final month).
        metrics: Market metrics to keep (default all of ``MARKET_METRICS``).
        engine: ``"expected"`` (default for ensembles, docs/performance.md) or ``"exact"``.
        chunk: Worlds per task.
        jobs: Local worker processes (default all usable cores).
        executor: A ``concurrent.futures.Executor`` (a Dask client's ``get_executor()``).
        resume: Continue an interrupted ensemble in ``out`` (only chunks without a marker).
        force: Replace a folder marketsim wrote (only its own files).
        progress: Progress bar (default: when stderr is a terminal).
        command: The command line, for the manifest.

    Returns:
        The :class:`Ensemble`, with ``summary.csv`` written.

    Example:
        >>> import sim, tempfile
        >>> folder = tempfile.mkdtemp()
        >>> ens = sim.ensemble(["baseline", "eu_blocks_open"], worlds=4, seed=1, months=3,
        ...                    metrics=["hhi_market"], chunk=2, jobs=1, out=folder + "/e")
        >>> len(ens.worlds()["replication"].unique())
        4
    """
    loaded, labels = normalise_scenarios(scenarios)
    if months is not None:
        months = check_count(months, "months", 1)
        loaded = [with_horizon(s, months) for s in loaded]
    worlds = check_count(worlds, "worlds", 1)
    if worlds > MAX_WORLDS:
        raise ScenarioError(f"worlds: at most {MAX_WORLDS:,} per scenario, got {worlds:,}")
    chunk = check_count(chunk, "chunk", 1)
    first = loaded[0]
    seed = check_count(first.experiment.seed if seed is None else seed, "seed", 0)
    if seed >= 2 ** 63:
        raise ScenarioError(f"seed must be below 2^63, got {seed}")
    engine = check_engine(engine)
    horizons = {s.scenario.months for s in loaded}
    starts = {s.scenario.start for s in loaded}
    if len(horizons) > 1 or len(starts) > 1:
        raise ScenarioError("an ensemble's scenarios must share start and horizon (they are "
                            "paired month by month); use months= to give them one")
    kept = _months(at, first.scenario.start, first.scenario.months)
    names = _metrics(metrics)
    ids = assign_ids(loaded, labels)
    texts = [s.to_toml() for s in loaded]
    cuts = shared_cuts(loaded)  # paired worlds: the same access groups in every scenario
    manifest = {
        "tool": TOOL, "format": MANIFEST_FORMAT, "kind": "ensemble", "command": command,
        "created_at": now_iso(), "versions": versions(), "git": git_state(), "seed": seed,
        "replications": worlds, "engine": engine, "chunk": chunk, "months": list(kept),
        "metrics": list(names), "start": first.scenario.start,
        "access_groups": [list(c) for c in cuts],
        "scenarios": [{"id": sid, "name": sc.scenario.name, "months": sc.scenario.months,
                       "sha256": scenario_hash(text)}
                      for sid, sc, text in zip(ids, loaded, texts, strict=True)],
    }
    folder = _prepare(out, manifest, resume, force)
    root = str(folder.root.resolve())  # remote (Dask) workers resolve it themselves
    chunks = [Chunk(sid, text, seed, lo, min(chunk, worlds - lo), engine, kept, names, root,
                    cuts)
              for sid, text in zip(ids, texts, strict=True) for lo in range(0, worlds, chunk)]
    todo = [c for c in chunks
            if not _shard(root, c.scenario_id, c.stem, "done").exists()]
    folder.write_manifest({**manifest, "status": "running"})
    for sid, text in zip(ids, texts, strict=True):
        folder.write_scenario(sid, text)
    started = time.perf_counter()
    try:
        for _ in execute_tasks(todo, run_chunk, jobs, executor, progress, unit="chunk",
                               desc=f"chunks of {chunk} worlds"):
            pass
    except BaseException as exc:
        folder.write_manifest({**manifest, "status": status_of(exc)})
        raise
    result = Ensemble(folder.root)
    result.write_summary()
    folder.write_manifest({**manifest, "status": "complete", "finished_at": now_iso(),
                           "run_seconds": round(time.perf_counter() - started, 3)})
    return result


def _prepare(out: str | Path, manifest: dict[str, Any], resume: bool, force: bool
             ) -> ResultsFolder:
    """Open ``out``; when resuming, refuse a folder of another ensemble."""
    folder, action, found = open_output(out, force=force, resume=resume)
    if action != "resume":
        return folder
    where = shown(folder.root)
    if found["kind"] != "ensemble":
        raise ScenarioError(f"{where}: a {found['kind']} folder; --resume continues only an "
                            "ensemble (use --force to replace it)")
    for key in ("seed", "replications", "engine", "chunk", "months", "metrics", "start",
                "access_groups"):
        if found.get(key) != manifest[key]:
            raise ScenarioError(f"{where}: --resume with a different {key} (folder: "
                                f"{shown(str(found.get(key)))[:80]}); use --force to start over")
    before = {s["id"]: s["sha256"] for s in found["scenarios"]}
    if before != {s["id"]: s["sha256"] for s in manifest["scenarios"]}:
        raise ScenarioError(f"{where}: --resume on a folder from another ensemble (its "
                            "scenarios differ); use --force to start over")
    return folder


class Ensemble:
    """An ensemble's results folder: per-world values and their summary.

    Args:
        root: The folder :func:`ensemble` wrote.

    Example:
        >>> import sim, tempfile
        >>> out = tempfile.mkdtemp() + "/e"
        >>> _ = sim.ensemble("baseline", worlds=2, seed=1, months=2, metrics=["cr1"], jobs=1,
        ...                  out=out)
        >>> again = sim.Ensemble(out)  # e.g. in a later session
        >>> again.ids, again.metrics, sorted(again.worlds()["month"].unique().tolist())
        (['baseline'], ['cr1'], [2])
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)
        manifest = ResultsFolder(self.root).read_manifest()
        if manifest is None or manifest.get("kind") != "ensemble":
            raise ScenarioError(f"{shown(self.root)}: not a marketsim ensemble folder")
        self.manifest = manifest
        self.ids = [s["id"] for s in manifest["scenarios"]]
        self.metrics = list(manifest["metrics"])
        self.start = manifest["start"]

    def _shards(self, sid: str) -> list[Path]:
        folder = self.root / SHARDS_DIR / check_id(sid)
        done = sorted(folder.glob("*.done")) if folder.is_dir() else []
        return [p.with_suffix(".parquet") for p in done]

    def worlds(self, metrics: list[str] | None = None) -> pd.DataFrame:
        """Per-world values: ``scenario, replication, month, region, segment, <metrics>``."""
        wanted = self.metrics if metrics is None else list(_metrics(metrics))
        missing = [m for m in wanted if m not in self.metrics]
        if missing:
            raise ScenarioError(f"this ensemble did not keep {', '.join(missing)}")
        frames = [pq.read_table(path, columns=[*KEYS, *wanted]).to_pandas()
                  for sid in self.ids for path in self._shards(sid)]
        if not frames:
            return pd.DataFrame(columns=[*KEYS, *wanted])
        return pd.concat(frames, ignore_index=True)

    def summary(self) -> pd.DataFrame:
        """Per scenario, month, region, segment and metric: spread over worlds, paired effect.

        ``mean``, ``sd`` and the 95 % t-interval of the mean over worlds, the 5/50/95 %
        quantiles, and for every scenario after the first the paired difference (world ``i``
        minus world ``i`` of the first): its mean and CI, 5-95 % range over worlds and the
        share of worlds where it is positive. One metric is read at a time.
        """
        rows = []
        for metric in self.metrics:
            frame = self.worlds([metric])
            cube = frame.set_index(list(KEYS))[metric].unstack("replication")
            base = cube.loc[self.ids[0]] if self.ids[0] in cube.index else None
            for sid in self.ids:
                if sid not in cube.index:
                    continue
                block = cube.loc[sid]
                values = block.to_numpy(dtype=float)
                mean, sd, lo, hi = t_interval(values, axis=1)
                stats = {"mean": mean, "sd": sd, "ci_low": lo, "ci_high": hi,
                         "p05": nan_percentile(values, 5), "p50": nan_percentile(values, 50),
                         "p95": nan_percentile(values, 95),
                         "worlds": np.sum(~np.isnan(values), axis=1)}
                if sid != self.ids[0] and base is not None:
                    diff = values - base.reindex(block.index)[block.columns].to_numpy(float)
                    d_mean, _, d_lo, d_hi = t_interval(diff, axis=1)
                    with np.errstate(invalid="ignore"):
                        known = np.sum(~np.isnan(diff), axis=1)
                        positive = np.where(known > 0, np.nansum(diff > 0, axis=1) /
                                            np.maximum(known, 1), np.nan)
                    stats.update(diff_mean=d_mean, diff_ci_low=d_lo, diff_ci_high=d_hi,
                                 diff_p05=nan_percentile(diff, 5),
                                 diff_p95=nan_percentile(diff, 95),
                                 diff_share_positive=positive)
                keys = block.index.to_frame(index=False)
                part = keys.assign(scenario=sid, metric=metric, **stats)
                part["date"] = [date_of(int(m), self.start) for m in part["month"]]
                rows.append(part)
        out = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
        return out.reindex(columns=list(ENSEMBLE_COLUMNS))

    def write_summary(self) -> Path:
        """Write ``summary.csv`` and return its path."""
        path = self.root / "summary.csv"
        atomic_write_text(path, self.summary().to_csv(index=False))
        return path
