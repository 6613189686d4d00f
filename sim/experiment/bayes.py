"""Bayesian calibration: a posterior over the uncertain parameters, fitted to dated facts.

``calibrate_bayes`` runs the tempered SMC sampler of :mod:`sim.experiment.smc` on a scenario,
a targets file (the fit window's facts) and a priors file. Each population is a batch of
parameter draws run as worlds of the batched engine (:mod:`sim.experiment.draws`), in chunks,
on the local pool or on Dask. The run stops each world at the last target month.

The results folder holds ``stages/stage-<k>.parquet`` (each stage's particles, written
atomically, then ``stage-<k>.json``, its marker), so ``resume=True`` continues from the last
complete stage and gives, bit for bit, the uninterrupted run's posterior. At the end it writes
``posterior.parquet`` (one row per draw: ``draw``, ``weight`` and one column per dotted path of
*every* prior, the uninformed ones drawn from their prior), ``predictive.csv`` (90 %
posterior-predictive interval of every target) and ``diagnostics.json``.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import ScenarioError
from sim.experiment.calibration import BoundWarning
from sim.experiment.draws import DrawTask, cells_of_targets, run_draw_task
from sim.experiment.pool import execute_tasks, lasting_pool, shows_progress
from sim.experiment.priors import Prior, PriorsFile, unit_to_values
from sim.experiment.smc import (
    Population,
    Settings,
    first_population,
    shrinkage,
    smc_stage,
    stages_left,
)
from sim.experiment.store import (
    MANIFEST_FORMAT,
    STAGES_DIR,
    TOOL,
    ResultsFolder,
    atomic_write_text,
    git_state,
    now_iso,
    open_output,
    scenario_hash,
    shown,
    status_of,
    versions,
    write_frame,
)
from sim.scenario.overrides import with_horizon
from sim.scenario.schema import Scenario

__all__ = ["BayesCalibration", "calibrate_bayes", "DEFAULT_PARTICLES", "load_stage", "facts",
           "simulator", "CHUNK", "FIT_WINDOW_END", "pile_messages"]

DEFAULT_PARTICLES = 1000
#: Worlds per task of a population (the batched engine's sweet spot, docs/performance.md).
CHUNK = 128
#: Seed offset of the uninformed parameters' prior draws (apart from every stage's streams).
_UNINFORMED = 1_000_003
#: The fit window's last month (MODEL.md 2; CALIBRATION.md: fit only to facts dated up to it).
FIT_WINDOW_END = "2025-06"
#: A posterior "piles up at a bound" when this share of it lies in the outer 5 % of a range
#: (five times the prior's own share there): :func:`calibrate_bayes` warns about it.
PILE_SHARE = 0.25


@dataclass(frozen=True)
class BayesCalibration:
    """What :func:`calibrate_bayes` found.

    Attributes:
        folder: The results folder.
        posterior: One row per draw: ``draw``, ``weight`` and one column per prior's path.
        predictive: Per target, the observed value and the 90 % posterior-predictive interval.
        diagnostics: The contents of ``diagnostics.json``.
    """

    folder: Path
    posterior: pd.DataFrame
    predictive: pd.DataFrame
    diagnostics: dict[str, Any]


def facts(targets: Any) -> tuple[np.ndarray, np.ndarray]:
    """The facts' values and standard deviations (a band's half-width is its sigma)."""
    observed = np.array([t.centre * 1.0 for t in targets.target])
    sigma = np.array([t.half_width * 1.0 for t in targets.target])
    return observed, sigma


def simulator(text: str, informed: list[Prior], cells: tuple, seed: int, engine: str,
              jobs: int | None, executor: Executor | None, chunk: int):
    """``simulate(u, replications)``: the facts of draws ``u`` of ``informed``, in chunks."""
    def simulate(u: np.ndarray, reps: np.ndarray) -> np.ndarray:
        draws = unit_to_values(informed, u)
        tasks = [DrawTask(text, tuple(tuple(d.items()) for d in draws[lo:lo + chunk]),
                          tuple(int(r) for r in reps[lo:lo + chunk]), seed, engine, cells, lo)
                 for lo in range(0, len(draws), chunk)]
        out = np.full((len(draws), len(cells)), np.nan)
        for first, values in execute_tasks(tasks, run_draw_task, jobs, executor, False):
            out[first:first + values.shape[0]] = values
        return out
    return simulate


def _stage_path(folder: ResultsFolder, stage: int, suffix: str) -> Path:
    return folder.root / STAGES_DIR / f"stage-{stage:03d}.{suffix}"


def save_stage(folder: ResultsFolder, pop: Population) -> None:
    """Write a stage's particles, then its marker (the marker says the stage is whole)."""
    (folder.root / STAGES_DIR).mkdir(exist_ok=True)
    frame = pd.DataFrame(pop.u, columns=[f"u{j}" for j in range(pop.u.shape[1])])
    frame["loglik"] = pop.loglik
    for j in range(pop.sims.shape[1]):
        frame[f"sim{j}"] = pop.sims[:, j]
    write_frame(_stage_path(folder, pop.stage, "parquet"), frame)
    state = {"stage": pop.stage, "beta": pop.beta, "next_replication": pop.next_replication,
             "simulations": pop.simulations, "log": list(pop.log)}
    atomic_write_text(_stage_path(folder, pop.stage, "json"), json.dumps(state, indent=1))


def load_stage(folder: ResultsFolder | Path, stage: int) -> Population:
    """A stored stage (the inverse of :func:`save_stage`)."""
    folder = folder if isinstance(folder, ResultsFolder) else ResultsFolder(Path(folder))
    state = json.loads(_stage_path(folder, stage, "json").read_text(encoding="utf-8"))
    frame = pd.read_parquet(_stage_path(folder, stage, "parquet"))
    # C order, as the sampler made them: BLAS sums a Fortran-ordered array in another order
    u = np.ascontiguousarray(frame[[c for c in frame.columns if c.startswith("u")]].to_numpy())
    sims = np.ascontiguousarray(frame[[c for c in frame.columns
                                       if c.startswith("sim")]].to_numpy())
    return Population(state["stage"], state["beta"], u, frame["loglik"].to_numpy(), sims,
                      state["next_replication"], state["simulations"],
                      tuple(state["log"]))


def _last_stage(folder: ResultsFolder) -> int | None:
    stages = sorted(int(p.stem.split("-")[1]) for p in (folder.root / STAGES_DIR).glob(
        "stage-[0-9][0-9][0-9].json")) if (folder.root / STAGES_DIR).is_dir() else []
    return stages[-1] if stages else None


@contextmanager
def _progress(show: bool | None) -> Iterator[Any]:
    """A bar over tempering stages; its total is re-estimated every stage (:func:`_show`)."""
    import sys

    from tqdm.auto import tqdm

    bar = tqdm(total=None, disable=not shows_progress(show), desc="stage 0 (prior)",
               unit="stage", file=sys.stderr,
               bar_format="{desc} | {elapsed} elapsed{postfix}")
    try:
        yield bar
    finally:
        bar.close()


def calibrate_bayes(scenario: Scenario, targets: Any, priors: PriorsFile, *, out: str | Path,
                    particles: int = DEFAULT_PARTICLES, seed: int = 1,
                    engine: str = "expected", jobs: int | None = None,
                    executor: Executor | None = None, resume: bool = False,
                    force: bool = False, progress: bool | None = None,
                    settings: Settings | None = None, chunk: int = CHUNK,
                    command: str | None = None) -> BayesCalibration:
    """Fit a posterior to ``targets`` with the tempered SMC sampler; write it to ``out``.

    Args:
        scenario: The scenario whose parameters are fitted (its months must reach the
            last target).
        targets: A validated targets file (``load_targets``), the fit window's facts only.
        priors: A validated priors file (``load_priors``).
        out: The results folder (the rules of :func:`sim.experiment.store.open_output`).
        particles: Population size (the posterior has this many draws).
        seed: Root seed of the sampler and of the simulations.
        engine: ``"expected"`` (default) or ``"exact"``.
        jobs: Local worker processes.
        executor: A ``concurrent.futures.Executor`` (a Dask client's ``get_executor()``).
        resume: Continue from the last complete stage in ``out``.
        force: Replace a folder marketsim wrote (only its own files).
        progress: Show the stage, beta, ESS and acceptance (default: when on a terminal).
        settings: Sampler settings (default :class:`Settings` with ``particles``).
        chunk: Worlds per task.
        command: The command line, for the manifest.
    """
    from sim.experiment.runner import check_count, check_engine

    particles = check_count(particles if settings is None else settings.particles,
                            "particles", 2)
    seed = check_count(seed, "seed", 0)
    engine = check_engine(engine)
    settings = settings or Settings(particles=particles)
    start = scenario.scenario.start
    _check_fit_window(targets, start)
    cells = cells_of_targets(targets, start)
    horizon = max(c.step for c in cells)
    short = with_horizon(scenario, max(horizon, 1))
    text = short.to_toml()
    informed = priors.informed
    if not informed:
        raise ScenarioError("the priors file has no informed parameter to fit")
    observed, sigma = facts(targets)
    manifest = {
        "tool": TOOL, "format": MANIFEST_FORMAT, "kind": "calibration", "method": "bayes",
        "command": command, "created_at": now_iso(), "versions": versions(),
        "git": git_state(), "seed": seed, "replications": settings.particles,
        "engine": engine, "chunk": chunk,
        "settings": asdict(settings), "start": start,
        "priors": [p.model_dump() for p in priors.prior],
        "targets": [t.model_dump() for t in targets.target],
        "scenarios": [{"id": "fit", "name": scenario.scenario.name, "months": horizon,
                       "sha256": scenario_hash(text)}],
    }
    folder = _open(out, manifest, resume, force)
    folder.write_manifest({**manifest, "status": "running"})
    started = time.perf_counter()
    try:
        last = _last_stage(folder) if resume else None
        with lasting_pool(jobs, executor) as pool, _progress(progress) as bar:
            simulate = simulator(text, informed, cells, seed, engine, jobs, pool, chunk)
            if last is None:
                pop = first_population(simulate, len(informed), observed, sigma, settings,
                                       seed)
                save_stage(folder, pop)
            else:
                pop = load_stage(folder, last)
            _show(bar, pop)
            while not pop.finished:
                if pop.stage >= settings.max_stages:
                    raise ScenarioError(f"no posterior after {pop.stage} stages (beta = "
                                        f"{pop.beta:.3g}); raise --particles")
                pop = smc_stage(pop, simulate, observed, sigma, settings, seed)
                save_stage(folder, pop)
                _show(bar, pop)
    except BaseException as exc:
        folder.write_manifest({**manifest, "status": status_of(exc)})
        raise
    result = _finish(folder, pop, priors, targets, observed, sigma, seed, settings)
    folder.write_manifest({**manifest, "status": "complete", "finished_at": now_iso(),
                           "run_seconds": round(time.perf_counter() - started, 3)})
    for message in pile_messages(result.diagnostics["parameters"]):
        warnings.warn(BoundWarning(message), stacklevel=2)
    return result


def pile_messages(parameters: list[dict[str, Any]]) -> list[str]:
    """A warning per parameter whose posterior piles up at a prior bound (``at_bound``).

    Args:
        parameters: ``diagnostics.json``'s ``parameters`` entries.

    Example:
        >>> entry = {"path": "world.network_effect", "at_bound": "high", "prior_low": 0.0,
        ...          "prior_high": 0.6, "share_in_outer_5pct": {"low": 0.0, "high": 0.4}}
        >>> print(pile_messages([entry, {"path": "x", "at_bound": None}])[0])
        world.network_effect: 40 % of the posterior lies in the outer 5 % of its prior range
        at the high bound (0.6): the facts push it against the prior, so the posterior may be
        cut off there; widen the prior if its source allows, or look for a fact the model
        misses
    """
    messages = []
    for p in parameters:
        side = p.get("at_bound")
        if side:
            share = p["share_in_outer_5pct"][side]
            messages.append(
                f"{p['path']}: {100 * share:.0f} % of the posterior lies in the outer 5 % of "
                f"its prior range at the {side} bound ({p[f'prior_{side}']:g}): the facts push "
                "it against the prior, so the posterior may be cut off there; widen the prior "
                "if its source allows, or look for a fact the model misses")
    return messages


def _check_fit_window(targets: Any, start: str) -> None:
    """Refuse facts dated after the fit window: they are the hindcast's, never fitted."""
    from sim.scenario.months import date_of

    late = [f"{t.name} ({date_of(t.step(start), start)})" for t in targets.target
            if date_of(t.step(start), start) > FIT_WINDOW_END]
    if late:
        raise ScenarioError(f"targets dated after the fit window ({FIT_WINDOW_END}) are for "
                            f"the hindcast, never fitted: {', '.join(late[:3])}"
                            + (f" and {len(late) - 3} more" if len(late) > 3 else ""))


def _show(bar: Any, pop: Population) -> None:
    """Describe the stage, and estimate the stages and time left (:func:`stages_left`)."""
    record = pop.log[-1]
    accept = record["acceptance"]
    bar.set_description_str(
        f"stage {pop.stage} beta {pop.beta:.3g} ESS {record['ess']:.0f}"
        + ("" if accept != accept else f" acceptance {accept:.2f}")
        + f" ({pop.simulations:,} simulations)", refresh=False)
    bar.update(pop.stage - bar.n)
    left = stages_left([r["beta"] for r in pop.log])
    elapsed = bar.format_dict["elapsed"]
    if left is None or pop.stage == 0:
        bar.set_postfix_str("; stages left: estimated after two tempered stages")
    elif left == 0:
        bar.set_postfix_str("; done")
    else:  # the mean stage so far, times the stages the pace of log beta says are left
        eta = elapsed / pop.stage * left
        when = f"{eta:.0f} s" if eta < 90 else f"{eta / 60:.0f} min"
        bar.set_postfix_str(f"; about {left} stage{'s' * (left > 1)} left, ~{when} "
                            "(re-estimated each stage)")


def _open(out: str | Path, manifest: dict[str, Any], resume: bool, force: bool
          ) -> ResultsFolder:
    folder, action, found = open_output(out, force=force, resume=resume)
    if action != "resume":
        return folder
    where = shown(folder.root)
    if found.get("kind") != "calibration" or found.get("method") != "bayes":
        raise ScenarioError(f"{where}: not a Bayesian calibration's folder; --resume "
                            "continues only one (use --force to replace it)")
    for key in ("seed", "engine", "chunk", "settings", "priors", "targets", "scenarios"):
        if found.get(key) != json.loads(json.dumps(manifest[key])):
            raise ScenarioError(f"{where}: --resume with a different {key}; use --force "
                                "to start over")
    return folder


def _finish(folder: ResultsFolder, pop: Population, priors: PriorsFile, targets: Any,
            observed: np.ndarray, sigma: np.ndarray, seed: int, settings: Settings
            ) -> BayesCalibration:
    n = pop.u.shape[0]
    rng = np.random.default_rng([seed, _UNINFORMED])
    columns: dict[str, np.ndarray] = {}
    informed_index = {p.path: j for j, p in enumerate(priors.informed)}
    for prior in priors.prior:
        u = pop.u[:, informed_index[prior.path]] if prior.informed else rng.random(n)
        columns[prior.path] = prior.value(u)
    posterior = pd.DataFrame({"draw": np.arange(n), "weight": np.full(n, 1.0 / n), **columns})
    write_frame(folder.root / "posterior.parquet", posterior)
    noisy = pop.sims + rng.standard_normal(pop.sims.shape) * sigma[None, :]
    low, mid, high = np.nanpercentile(noisy, [5, 50, 95], axis=0)
    predictive = pd.DataFrame({
        "target": [t.name for t in targets.target], "metric": [t.metric for t in targets.target],
        "region": [t.region for t in targets.target],
        "segment": [t.segment for t in targets.target],
        "date": [t.date for t in targets.target], "observed": observed, "sigma": sigma,
        "p05": low, "p50": mid, "p95": high, "model_median": np.nanmedian(pop.sims, axis=0)})
    predictive["inside_90"] = (predictive["observed"] >= low) & (predictive["observed"] <= high)
    atomic_write_text(folder.root / "predictive.csv", predictive.to_csv(index=False))
    shrink = shrinkage(pop.u)
    parameters = []
    for prior in priors.prior:
        values = columns[prior.path]
        entry: dict[str, Any] = {
            "path": prior.path, "informed": prior.informed, "scale": prior.scale,
            "prior_low": prior.low, "prior_high": prior.high,
            "p05": float(np.percentile(values, 5)), "p50": float(np.median(values)),
            "p95": float(np.percentile(values, 95)), "source": prior.source}
        if prior.informed:
            j = informed_index[prior.path]
            u = pop.u[:, j]
            entry["shrinkage"] = float(shrink[j])
            entry["identified"] = bool(shrink[j] >= 0.2)
            low_pile, high_pile = float(np.mean(u < 0.05)), float(np.mean(u > 0.95))
            entry["share_in_outer_5pct"] = {"low": low_pile, "high": high_pile}
            entry["at_bound"] = ("low" if low_pile >= PILE_SHARE else "high"
                                 if high_pile >= PILE_SHARE else None)
        else:
            entry.update(shrinkage=0.0, identified=False, at_bound=None,
                         note="not informed by the fit-window facts: left at its prior")
        parameters.append(entry)
    corr = np.corrcoef(pop.u, rowvar=False) if pop.u.shape[1] > 1 else np.ones((1, 1))
    record = pop.log[-1]
    diagnostics = {
        "method": "tempered SMC (pseudo-marginal MH moves), docs/calibration.md 5",
        "seed": seed, "settings": asdict(settings), "stages": pop.stage,
        "simulations": pop.simulations, "draws": n,
        "ess_final_reweighting": record["ess"],
        "distinct_draws": int(np.unique(pop.u, axis=0).shape[0]),
        "stage_log": list(pop.log), "parameters": parameters,
        "correlations": {"paths": [p.path for p in priors.informed],
                         "matrix": np.round(corr, 4).tolist()},
        "fit_coverage_90": {"inside": int(predictive["inside_90"].sum()),
                            "targets": int(len(predictive)),
                            "share": float(predictive["inside_90"].mean())},
        "fit_table": json.loads(predictive.to_json(orient="records")),
    }
    atomic_write_text(folder.root / "diagnostics.json", json.dumps(diagnostics, indent=1))
    return BayesCalibration(folder.root, posterior, predictive, diagnostics)
