"""Running replications of scenarios, in process, on a process pool, or on a Dask cluster.

The runner sits outside the model: a replication is a function of (scenario,
seed, replication number), so any executor gives bit-identical results, and
replication i of every scenario gets the same random streams (common random
numbers). Tasks carry the resolved scenario as TOML text (data, not objects),
so they travel to spawned processes and remote workers alike.
"""

from __future__ import annotations

import re
import sys
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sim.errors import ScenarioError
from sim.experiment.results import Results
from sim.experiment.store import (
    TABLES,
    ResultsFolder,
    git_state,
    now_iso,
    scenario_hash,
    versions,
)
from sim.scenario.loader import load_scenario, source_id
from sim.scenario.schema import Scenario, ScenarioWarning

__all__ = ["run", "Task", "execute_task", "assign_ids", "default_jobs"]


import sim.mesa_compat  # noqa: E402,F401  (frees finished models in workers too)


@dataclass(frozen=True)
class Task:
    """One replication to run (plain data: picklable by any executor)."""

    scenario_id: str
    scenario_toml: str
    seed: int
    replication: int
    out_dir: str | None = None


def execute_task(task: Task) -> tuple[str, int, float, dict[str, pd.DataFrame] | None]:
    """Run one replication; store it when the task names a folder.

    Returns:
        ``(scenario_id, replication, seconds, tables or None if stored)``.
    """
    import tomllib

    from sim.replication import run_replication
    from sim.scenario.loader import validate_data

    start = time.perf_counter()
    with warnings.catch_warnings():  # the caller validated (and warned about) it already
        warnings.simplefilter("ignore", ScenarioWarning)
        scenario = validate_data(tomllib.loads(task.scenario_toml))
    tables = run_replication(scenario, task.seed, task.replication, task.scenario_id)
    seconds = time.perf_counter() - start
    if task.out_dir is None:
        return task.scenario_id, task.replication, seconds, tables
    ResultsFolder(task.out_dir).write_replication(task.scenario_id, task.replication, tables)
    return task.scenario_id, task.replication, seconds, None


def ignore_interrupts() -> None:
    """Pool worker initializer: Ctrl-C is the parent's to handle.

    A terminal sends SIGINT to the whole process group; workers that took it would
    print tracebacks. The parent cancels what has not started, waits for the
    replications in flight (they are stored) and exits with 130.
    """
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def process_pool(jobs: int | None) -> ProcessPoolExecutor:
    """The local process pool (``-j``; default all cores)."""
    return ProcessPoolExecutor(max_workers=jobs or default_jobs(), initializer=ignore_interrupts)


@contextmanager
def _interrupts_ignored(active: bool) -> Iterator[None]:
    """Ignore SIGINT while local workers are started: they inherit it.

    See :func:`ignore_interrupts`. Only the main thread may change signal handlers.
    """
    import signal
    import threading

    if not active or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def default_jobs() -> int:
    """All cores."""
    import os

    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else (os.cpu_count() or 1))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-").lower() or "scenario"


def assign_ids(scenarios: Sequence[Scenario], labels: Sequence[str | None]) -> list[str]:
    """Scenario ids: the label (shipped name or file stem), ``-2``, ``-3`` when repeated."""
    ids: list[str] = []
    seen: dict[str, int] = {}
    for scenario, label in zip(scenarios, labels, strict=True):
        base = label or source_id(scenario) or _slug(scenario.scenario.name)
        seen[base] = seen.get(base, 0) + 1
        ids.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return ids


def _normalise(scenarios: Any) -> tuple[list[Scenario], list[str | None]]:
    if isinstance(scenarios, Scenario | str | Path):
        scenarios = [scenarios]
    if isinstance(scenarios, Mapping):
        items = list(scenarios.items())
        return [load_scenario(s) for _, s in items], [str(k) for k, _ in items]
    loaded, labels = [], []
    for item in scenarios:
        loaded.append(load_scenario(item))
        labels.append(Path(str(item)).stem if isinstance(item, str | Path) else None)
    if not loaded:
        raise ScenarioError("no scenario given")
    return loaded, labels


def run(scenarios: Any, replications: int | None = None, seed: int | None = None, *,
        months: int | None = None, jobs: int | None = None, executor: Executor | None = None,
        out: str | Path | None = None, resume: bool = False, force: bool = False,
        progress: bool | None = None, command: str | None = None) -> Results:
    """Run replications of one or more scenarios with common random numbers.

    Args:
        scenarios: A scenario, a list of scenarios (objects, shipped names or paths), or
            ``{id: scenario}`` to choose the ids. With two or more, each is compared with
            the first.
        replications: Replications per scenario (default: the first scenario's
            ``[experiment].replications``).
        seed: Root seed (default: the first scenario's ``[experiment].seed``).
        months: Override every scenario's horizon.
        jobs: Worker processes (default all cores; 1 runs in this process).
        executor: Any ``concurrent.futures.Executor`` (e.g. a Dask client's
            ``get_executor()``); overrides ``jobs``.
        out: Results folder to write (parts, manifest, combined tables); None keeps
            everything in memory.
        resume: Continue an interrupted run in ``out`` (only missing replications run).
        force: Overwrite a non-empty ``out``.
        progress: Show a progress bar (default: when stderr is a terminal).
        command: The command line, recorded in the manifest.

    Returns:
        A :class:`Results`.

    Example:
        >>> import sim
        >>> res = sim.run(["baseline", "eu_blocks_open"], replications=2, seed=7, months=6, jobs=1)
        >>> sorted(res.market["scenario"].unique())
        ['baseline', 'eu_blocks_open']
    """
    loaded, labels = _normalise(scenarios)
    if months is not None:
        loaded = [s.with_overrides({"scenario.months": int(months)}) for s in loaded]
    first = loaded[0].experiment
    replications = first.replications if replications is None else int(replications)
    seed = first.seed if seed is None else int(seed)
    if replications < 1:
        raise ScenarioError(f"replications must be at least 1, got {replications}")
    if seed < 0:
        raise ScenarioError(f"seed must be a non-negative integer, got {seed}")
    ids = assign_ids(loaded, labels)
    texts = [s.to_toml() for s in loaded]
    folder = _prepare_folder(out, ids, texts, seed, replications, resume, force) if out else None
    # an absolute path: remote (Dask) workers resolve it in their own working directory
    tasks = [Task(sid, text, seed, rep, str(folder.root.resolve()) if folder else None)
             for sid, text in zip(ids, texts, strict=True) for rep in range(replications)
             if folder is None or not folder.is_done(sid, rep)]
    started = time.perf_counter()
    manifest = _manifest(ids, loaded, texts, seed, replications, command) if folder else None
    timings: dict[str, float] = {}
    if folder is not None:
        if resume:  # keep the timings of replications an earlier attempt finished
            earlier = (folder.read_manifest() or {}).get("timings") or {}
            timings = {key: value for key, value in earlier.items()
                       if folder.is_done(*_split_key(key))}
        for sid, text in zip(ids, texts, strict=True):
            folder.write_scenario(sid, text)
        folder.write_manifest({**manifest, "status": "running"})
    collected: dict[tuple[str, int], dict[str, pd.DataFrame]] = {}
    try:
        for sid, rep, seconds, tables in _execute(tasks, jobs, executor, progress):
            timings[f"{sid}/{rep}"] = round(seconds, 4)
            if tables is not None:
                collected[(sid, rep)] = tables
    except BaseException as exc:
        if folder is not None:  # what finished is kept; --resume continues
            status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
            folder.write_manifest({**manifest, "status": status, "timings": timings,
                                   "finished": _finished(folder, ids, replications)})
        raise
    elapsed = time.perf_counter() - started
    order = [(sid, rep) for sid in ids for rep in range(replications)]
    if folder is not None:
        folder.combine(order)
        results = Results.from_folder(folder.root, ids=ids, scenarios=loaded, seed=seed,
                                      replications=replications)
        results.write_summary()
        folder.write_manifest({**manifest, "status": "complete", "run_seconds": round(elapsed, 3),
                               "finished_at": now_iso(), "timings": timings,
                               "finished": _finished(folder, ids, replications)})
        return results
    tables = {t: pd.concat([collected[key][t] for key in order], ignore_index=True)
              for t in TABLES}
    return Results(tables["market"], tables["vendors"], tables["events"], ids=ids,
                   scenarios=loaded, seed=seed, replications=replications,
                   run_seconds=elapsed)


def _split_key(key: str) -> tuple[str, int]:
    """``"<scenario id>/<replication>"`` of the manifest's timings."""
    sid, _, rep = key.rpartition("/")
    return sid, int(rep) if rep.isdigit() else -1


def _finished(folder: ResultsFolder, ids: list[str], replications: int) -> dict[str, int]:
    return {sid: sum(folder.is_done(sid, r) for r in range(replications)) for sid in ids}


def _manifest(ids: list[str], scenarios: list[Scenario], texts: list[str], seed: int,
              replications: int, command: str | None) -> dict[str, Any]:
    return {
        "format": 1,
        "command": command,
        "created_at": now_iso(),
        "versions": versions(),
        "git": git_state(),
        "seed": seed,
        "replications": replications,
        "scenarios": [{"id": sid, "name": sc.scenario.name, "months": sc.scenario.months,
                       "sha256": scenario_hash(text)}
                      for sid, sc, text in zip(ids, scenarios, texts, strict=True)],
    }


def _prepare_folder(out: str | Path, ids: list[str], texts: list[str], seed: int,
                    replications: int, resume: bool, force: bool) -> ResultsFolder:
    folder = ResultsFolder(out)
    if folder.root.exists() and not folder.root.is_dir():
        raise ScenarioError(f"{folder.root}: exists and is not a folder")
    if folder.is_empty():
        folder.root.mkdir(parents=True, exist_ok=True)
        return folder
    if force:
        import shutil

        shutil.rmtree(folder.root)
        folder.root.mkdir(parents=True)
        return folder
    if not resume:
        raise ScenarioError(f"{folder.root}: folder is not empty; use --resume to continue "
                            "the run in it or --force to overwrite it")
    manifest = folder.read_manifest()
    if manifest is None:
        raise ScenarioError(f"{folder.root}: not a marketsim results folder (no manifest.json); "
                            "use --force to overwrite it")
    before = {s["id"]: s["sha256"] for s in manifest.get("scenarios", [])}
    now = {sid: scenario_hash(text) for sid, text in zip(ids, texts, strict=True)}
    if before != now:
        changed = sorted(set(before) ^ set(now)) or sorted(k for k in now if before[k] != now[k])
        raise ScenarioError(f"{folder.root}: --resume on a folder from another run (scenario "
                            f"{', '.join(changed)} differs); use --force to start over")
    if manifest.get("seed") != seed or manifest.get("replications") != replications:
        raise ScenarioError(f"{folder.root}: --resume with a different seed or replication "
                            f"count (folder: seed {manifest.get('seed')}, "
                            f"{manifest.get('replications')} replications)")
    return folder


def _execute(tasks: list[Task], jobs: int | None, executor: Executor | None,
             progress: bool | None) -> Iterable[tuple[str, int, float, Any]]:
    from tqdm.auto import tqdm

    show = sys.stderr.isatty() if progress is None else progress
    bar = tqdm(total=len(tasks), disable=not show or not tasks, unit="run", desc="replications",
               file=sys.stderr)
    try:
        if executor is None and (jobs == 1 or len(tasks) <= 1):
            for task in tasks:
                yield execute_task(task)
                bar.update()
            return
        own = executor is None
        with _interrupts_ignored(own):  # workers start ignoring Ctrl-C, even while importing
            pool = executor or process_pool(jobs)
            futures: list[Future[Any]] = [pool.submit(execute_task, task) for task in tasks]
        try:
            for future in as_completed(futures):
                yield future.result()
                bar.update()
        except BaseException:
            for future in futures:
                future.cancel()
            raise
        finally:
            if own:
                pool.shutdown(wait=True, cancel_futures=True)
    finally:
        bar.close()
