"""The tasks of a run: blocks of worlds of one scenario, and what a worker does with one.

A task is plain data (the resolved scenario as TOML text, the seed, the world numbers), so it
travels to spawned processes and remote workers alike; :func:`execute_task` is the function
every executor runs. How a run is cut into tasks is fixed here too (:func:`batch_size`,
:func:`plan_tasks`): the cut depends only on the number of worlds, so that any worker count,
executor or resume writes identical files (docs/performance.md). Separate from
:mod:`sim.experiment.runner`, which decides what to run and collects the results, because
this is the part the workers import; the runner re-exports ``Task`` and ``execute_task``.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Any

import pandas as pd

import sim.mesa_compat  # noqa: F401  (the workers' entry point: frees their finished models)
from sim.engine.compile import GroupCuts
from sim.experiment.store import ResultsFolder
from sim.scenario.schema import ScenarioWarning

__all__ = ["Task", "execute_task", "MAX_BATCH", "batch_size", "plan_tasks"]

#: Worlds per task at most: a batch's monthly tables stay in the tens of MB.
MAX_BATCH = 16


@dataclass(frozen=True)
class Task:
    """Worlds of one scenario to run as one batch (plain data: picklable by any executor).

    World ``i`` of the task is replication number ``replications[i]`` (its random streams)
    of posterior draw ``draws[i]`` with that draw's ``overrides[i]`` (dotted path, value);
    without a posterior every draw is 0 and there are no overrides.
    """

    scenario_id: str
    scenario_toml: str
    seed: int
    replications: tuple[int, ...]
    out_dir: str | None = None
    engine: str = "exact"
    draws: tuple[int, ...] = ()
    overrides: tuple[tuple[tuple[str, float], ...], ...] = ()
    #: the access groups every scenario of the run is compiled with (shared_cuts)
    group_cuts: tuple[tuple[str, str, float], ...] = ()


def execute_task(task: Task) -> tuple[str, tuple[int, ...], float,
                                      dict[str, pd.DataFrame] | None]:
    """Run a task's worlds in one batched engine; store each world when the task names a folder.

    A world's tables do not depend on the batch it ran in (its draws are keyed by its
    replication number; docs/performance.md), so chunking changes speed, never results.

    Returns:
        ``(scenario_id, replications, seconds, tables or None if stored)``.
    """
    import tomllib

    import sim.replication  # looked up at call time: tests wrap it to interrupt a run
    from sim.scenario.loader import validate_data

    start = time.perf_counter()
    with warnings.catch_warnings():  # the caller validated (and warned about) it already
        warnings.simplefilter("ignore", ScenarioWarning)
        scenario = validate_data(tomllib.loads(task.scenario_toml), quiet=True)
        tables = sim.replication.run_replications(
            scenario, task.seed, task.replications, task.scenario_id, engine=task.engine,
            draws=task.draws or None,
            overrides=[dict(o) for o in task.overrides] if task.overrides else None,
            group_cuts=task.group_cuts)
    seconds = time.perf_counter() - start
    if task.out_dir is None:
        return task.scenario_id, task.replications, seconds, tables
    folder = ResultsFolder(task.out_dir)
    by_world = {t: dict(iter(frame.groupby("replication", sort=False)))
                for t, frame in tables.items()}
    for rep in task.replications:
        folder.write_replication(task.scenario_id, rep, {
            t: (parts[rep].reset_index(drop=True) if rep in parts
                else tables[t].iloc[:0]) for t, parts in by_world.items()})
    return task.scenario_id, task.replications, seconds, None


def batch_size(worlds: int) -> int:
    """Worlds per task: about eight tasks per scenario, at most :data:`MAX_BATCH`.

    It depends on the number of worlds only, never on the worker count or on what an earlier
    attempt finished: a world alone (a batch of one) can differ from the same world in a
    batch in the last bit of a funding round (docs/performance.md), so every run, resume and
    executor must cut the same blocks to give identical files.
    """
    return max(1, min(MAX_BATCH, -(-worlds // 8)))


def plan_tasks(ids: list[str], texts: list[str], seed: int, worlds: int, engine: str,
           root: str | None, ensemble: dict[str, Any] | None,
           folder: ResultsFolder | None, cuts: GroupCuts = ()) -> list[Task]:
    """The blocks of consecutive world numbers still to run.

    A block with any world missing runs whole, so it is cut as in an uninterrupted run.
    """
    size = batch_size(worlds)
    per_draw = ensemble["replications_per_draw"] if ensemble else worlds
    tasks = []
    for sid, text in zip(ids, texts, strict=True):
        for first in range(0, worlds, size):
            reps = tuple(range(first, min(first + size, worlds)))
            if folder is not None and all(folder.is_done(sid, w) for w in reps):
                continue
            if ensemble is None:
                tasks.append(Task(sid, text, seed, reps, root, engine, group_cuts=cuts))
                continue
            draws = tuple(int(ensemble["draw_ids"][w // per_draw]) for w in reps)
            overrides = tuple(tuple(sorted(ensemble["overrides"][sid][w // per_draw].items()))
                              for w in reps)
            tasks.append(Task(sid, text, seed, reps, root, engine, draws, overrides, cuts))
    return tasks
