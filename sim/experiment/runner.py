"""Running replications of scenarios, in process, on a process pool, or on a Dask cluster.

The runner sits outside the model: a replication is a function of (scenario,
seed, replication number), so any executor gives bit-identical results, and
replication i of every scenario gets the same random streams (common random
numbers). Tasks carry the resolved scenario as TOML text (data, not objects),
so they travel to spawned processes and remote workers alike.

The tasks and what a worker does with one are :mod:`sim.experiment.run_tasks` (``Task`` and
``execute_task`` are re-exported here); the results folder's manifest and resume checks are
:mod:`sim.experiment.run_folder`.
"""

from __future__ import annotations

import numbers
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import pandas as pd

from sim.engine.compile import shared_cuts
from sim.engine.engine import ENGINES
from sim.errors import Problem, ScenarioError, suggest
from sim.experiment.limits import check_jobs, check_runs, usable_cores
from sim.experiment.pool import execute_tasks, phase
from sim.experiment.posterior import (
    DEFAULT_DRAW_REPLICATIONS,
    DEFAULT_DRAWS,
    choose_draws,
    draw_overrides,
    load_posterior,
)
from sim.experiment.results import Results
from sim.experiment.run_folder import finished_counts, prepare_folder, run_manifest, split_key
from sim.experiment.run_tasks import Task, execute_task, plan_tasks
from sim.experiment.store import (
    MAX_ID_LENGTH,
    TABLES,
    check_id,
    now_iso,
    safe_id,
    shown,
    status_of,
    write_frame,
)
from sim.scenario.loader import load_scenario, source_id
from sim.scenario.overrides import with_horizon
from sim.scenario.schema import Scenario

__all__ = ["run", "Task", "execute_task", "assign_ids", "default_jobs", "check_count",
           "check_engine", "normalise_scenarios"]


import sim.mesa_compat  # noqa: E402,F401  (frees finished models in workers too)


def check_engine(engine: Any) -> str:
    """``engine`` if it names a demand engine; None gives the default.

    Example:
        >>> check_engine(None), check_engine("expected")
        ('exact', 'expected')
    """
    from sim.replication import DEFAULT_ENGINE

    if engine is None:
        return DEFAULT_ENGINE
    if not isinstance(engine, str) or engine not in ENGINES:
        text = shown(repr(engine))[:60]
        raise ScenarioError(Problem(f"unknown engine {text}; choose {' or '.join(ENGINES)}",
                                    path="--engine",
                                    suggestion=suggest(engine, ENGINES)
                                    if isinstance(engine, str) else None))
    return engine


def default_jobs() -> int:
    """All usable cores."""
    return usable_cores()


def assign_ids(scenarios: Sequence[Scenario], labels: Sequence[str | None]) -> list[str]:
    """Scenario ids: the label (shipped name or file stem), ``-2``, ``-3`` when repeated.

    An id names files in the results folder, so a label is made safe first (letters,
    digits, ``_`` and ``-``; anything else becomes ``-``; ``...`` or an empty stem becomes
    ``scenario``), and ids are unique even on a file system that ignores case.
    """
    ids: list[str] = []
    used: set[str] = set()
    for scenario, label in zip(scenarios, labels, strict=True):
        base = safe_id(label or source_id(scenario) or scenario.scenario.name,
                       length=MAX_ID_LENGTH)
        candidate, n = base, 1
        while candidate.lower() in used:
            n += 1
            suffix = f"-{n}"
            candidate = base[:MAX_ID_LENGTH - len(suffix)] + suffix
        used.add(candidate.lower())
        ids.append(candidate)
    return ids


def check_count(value: Any, what: str, minimum: int) -> int:
    """``value`` as an int if it is a whole number >= ``minimum`` (not a bool or 2.5)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ScenarioError(f"{what} must be an integer of at least {minimum}, got "
                            f"{shown(repr(value))[:60]}")
    return int(value)


def normalise_scenarios(scenarios: Any) -> tuple[list[Scenario], list[str | None]]:
    """Scenarios as loaded objects and the ids asked for (``{id: scenario}``), or None each."""
    if isinstance(scenarios, Scenario | str | Path):
        scenarios = [scenarios]
    if isinstance(scenarios, Mapping):
        items = list(scenarios.items())
        if not items:
            raise ScenarioError("no scenario given")
        return ([load_scenario(s) for _, s in items],
                [check_id(k if isinstance(k, str) else str(k)) for k, _ in items])
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
        progress: bool | None = None, command: str | None = None,
        engine: str | None = None, posterior: str | Path | None = None,
        draws: int | None = None) -> Results:
    """Run replications of one or more scenarios with common random numbers.

    Args:
        scenarios: A scenario, a list of scenarios (objects, shipped names or paths), or
            ``{id: scenario}`` to choose the ids (letters, digits, ``_``, ``-``). With two
            or more, each is compared with the first.
        replications: Replications per scenario, or per draw with a posterior (default: the
            first scenario's ``[experiment].replications``; with a posterior
            :data:`~sim.experiment.posterior.DEFAULT_DRAW_REPLICATIONS`).
        seed: Root seed (default: the first scenario's ``[experiment].seed``).
        months: Override every scenario's horizon.
        jobs: Worker processes (default all cores; 1 runs in this process); never more
            than the usable cores (a ``note:`` says so) or the replications to run.
        executor: Any ``concurrent.futures.Executor`` (e.g. a Dask client's
            ``get_executor()``); overrides ``jobs``.
        out: Results folder to write (parts, manifest, combined tables); None keeps
            everything in memory (then at most ``MARKETSIM_MAX_RUNS / 100`` runs).
        resume: Continue an interrupted run in ``out`` (only missing replications run).
        force: Replace a results folder marketsim wrote: only the files marketsim writes
            are removed, anything else in it stays; a folder without a marketsim
            ``manifest.json`` is refused (see :func:`sim.experiment.store.inspect_output`).
        progress: Show a progress bar (default: when stderr is a terminal).
        command: The command line, recorded in the manifest.
        engine: ``"exact"`` (binomial/multinomial draws) or ``"expected"`` (expected
            counts); default :data:`sim.replication.DEFAULT_ENGINE`. Recorded in the
            manifest; ``resume`` refuses a folder run with another engine.
        posterior: Run an ensemble over a calibrated posterior (shipped name such as
            ``"baseline"`` or a ``posterior.parquet``); None (default) runs the scenarios'
            own values. Each draw sets only the paths a scenario leaves at the posterior's
            reference values (:mod:`sim.experiment.posterior`).
        draws: Posterior draws (default
            :data:`~sim.experiment.posterior.DEFAULT_DRAWS`); needs ``posterior``.

    Returns:
        A :class:`Results`. With a posterior, world ``j * replications + r`` is replication
        ``r`` of the ``j``-th chosen draw: the tables' ``replication`` column is the world
        number (its random streams, the same in every scenario) and ``draw`` the
        posterior's draw id.

    Raises:
        ScenarioError: Bad input, an unusable ``out`` (``.``, the home folder, a folder
            marketsim did not write, ...), or more runs than ``MARKETSIM_MAX_RUNS``.

    Example:
        >>> import sim
        >>> res = sim.run(["baseline", "eu_blocks_open"], replications=2, seed=7, months=6, jobs=1)
        >>> sorted(res.market["scenario"].unique())
        ['baseline', 'eu_blocks_open']
        >>> ens = sim.run(["baseline", "eu_blocks_open"], replications=1, seed=7, months=3,
        ...               jobs=1, posterior="baseline", draws=3)
        >>> int(ens.market["draw"].nunique()), ens.posterior["draws"]
        (3, 3)
    """
    loaded, labels = normalise_scenarios(scenarios)
    if months is not None:
        months = check_count(months, "months", 1)
        loaded = [with_horizon(s, months) for s in loaded]
    first = loaded[0].experiment
    if posterior is None and draws is not None:
        raise ScenarioError("draws needs a posterior (--posterior NAME|FILE)")
    if replications is None:
        replications = first.replications if posterior is None else DEFAULT_DRAW_REPLICATIONS
    replications = check_count(replications, "replications", 1)
    seed = check_count(first.seed if seed is None else seed, "seed", 0)
    if seed >= 2 ** 63:
        raise ScenarioError(f"seed must be below 2^63, got {seed}")
    check_jobs(jobs)
    engine = check_engine(engine)
    ids = assign_ids(loaded, labels)
    ensemble = (_posterior_plan(posterior, draws, seed, ids, loaded)
                if posterior is not None else None)
    per_draw = replications
    worlds = per_draw * (ensemble["draws"] if ensemble else 1)
    if ensemble is not None:
        ensemble["replications_per_draw"] = per_draw
    what = (f"{ensemble['draws']} draws x {per_draw} replication{'s' if per_draw != 1 else ''}"
            if ensemble else f"{replications} replication{'s' if replications != 1 else ''}")
    check_runs(len(ids) * worlds,
               f"{len(ids)} scenario{'s' if len(ids) != 1 else ''} x {what}",
               in_memory=out is None)
    replications = worlds  # the store counts worlds: (draw, replication) pairs
    texts = [s.to_toml() for s in loaded]
    cuts = shared_cuts(loaded)  # paired worlds: the same access groups in every scenario
    folder, earlier = (prepare_folder(out, ids, texts, seed, replications, engine, resume,
                                       force, _public(ensemble), cuts)
                       if out is not None else (None, None))
    root = str(folder.root.resolve()) if folder else None  # remote workers resolve it too
    tasks = plan_tasks(ids, texts, seed, replications, engine, root, ensemble, folder, cuts)
    started = time.perf_counter()
    manifest = (run_manifest(ids, loaded, texts, seed, replications, engine, command,
                          _public(ensemble), cuts) if folder else None)
    timings: dict[str, float] = {}
    if folder is not None:
        if earlier:  # keep the timings of replications an earlier attempt finished
            timings = {key: value for key, value in earlier.get("timings", {}).items()
                       if folder.is_done(*split_key(key))}
        # the manifest first: from now on the folder is recognisably marketsim's
        folder.write_manifest({**manifest, "status": "running"})
        for sid, text in zip(ids, texts, strict=True):
            folder.write_scenario(sid, text)
        if ensemble is not None:
            write_frame(folder.root / DRAWS_FILE, ensemble["table"])
    collected: dict[tuple[str, int], dict[str, pd.DataFrame]] = {}
    order = [(sid, rep) for sid in ids for rep in range(replications)]
    try:
        for sid, reps, seconds, tables in execute_tasks(
                tasks, execute_task, jobs, executor, progress, unit="world",
                desc="worlds" if ensemble else "replications",
                size=lambda task: len(task.replications)):
            for rep in reps:
                timings[f"{sid}/{rep}"] = round(seconds / len(reps), 4)
            if tables is not None:
                collected[(sid, reps[0])] = tables
        elapsed = time.perf_counter() - started
        info = _public(ensemble)
        if folder is not None:
            with phase(f"combining {len(order):,} worlds' tables", progress):
                folder.combine(order)
            results = Results.from_folder(folder.root, ids=ids, scenarios=loaded, seed=seed,
                                          replications=replications, engine=engine)
            with phase("summarising (summary.csv)", progress):
                results.write_summary()
            folder.write_manifest({**manifest, "status": "complete",
                                   "run_seconds": round(elapsed, 3), "finished_at": now_iso(),
                                   "timings": timings,
                                   "finished": finished_counts(folder, ids, replications)})
            return results
    except BaseException as exc:
        if folder is not None:  # what finished is kept; --resume continues
            folder.write_manifest({**manifest, "status": status_of(exc), "timings": timings,
                                   "finished": finished_counts(folder, ids, replications)})
        raise
    starts = sorted(collected, key=lambda key: (ids.index(key[0]), key[1]))
    tables = {t: pd.concat([collected[key][t] for key in starts], ignore_index=True)
              for t in TABLES}
    return Results(tables["market"], tables["vendors"], tables["events"], tables["products"],
                   ids=ids, scenarios=loaded, seed=seed, replications=replications,
                   run_seconds=elapsed, engine=engine, posterior=info)


#: The ensemble's chosen draws and their parameter values, beside the tables.
DRAWS_FILE = "draws.parquet"


def _posterior_plan(posterior: str | Path, draws: int | None, seed: int, ids: list[str],
                    scenarios: list[Scenario]) -> dict[str, Any]:
    """The chosen draws, each scenario's overrides per draw (checked here, not mid-run)."""
    from sim.experiment.store import file_hash
    from sim.scenario.loader import load_scenario
    from sim.scenario.overrides import apply_overrides

    post = load_posterior(posterior)
    k = check_count(DEFAULT_DRAWS if draws is None else draws, "draws", 1)
    rows = choose_draws(post, k, seed)
    reference = load_scenario(post.reference)
    overrides, kept = {}, {}
    for sid, scenario in zip(ids, scenarios, strict=True):
        per_draw, own = draw_overrides(scenario, post, rows, reference)
        for values in {tuple(sorted(d.items())) for d in per_draw}:  # bounds, before any run
            apply_overrides(scenario, dict(values), quiet=True)
        overrides[sid], kept[sid] = per_draw, sorted(own)
    table = post.frame.iloc[rows].reset_index(drop=True)
    table.insert(0, "position", range(k))
    return {"name": post.name, "file": shown(post.path), "sha256": file_hash(post.path),
            "reference": post.reference, "draws": k,
            "draw_ids": [int(d) for d in table["draw"]], "kept": kept,
            "overrides": overrides, "table": table}


def _public(ensemble: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the manifest and :class:`Results` record of an ensemble (no per-draw values)."""
    if ensemble is None:
        return None
    return {k: v for k, v in ensemble.items() if k not in ("overrides", "table")}
