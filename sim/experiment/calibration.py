"""Calibration: fit scenario parameters to observed targets (``marketsim calibrate``).

The facts come from a targets file (:mod:`sim.experiment.targets`, re-exported here).
The objective is the weighted sum of squared standardised misses,
``sum_i w_i ((mean_i(x) - value_i) / tolerance_i)^2``,
of the mean over replications. Every evaluation uses the same seed and
replications (common random numbers), so the objective is a smooth-ish function
of the parameters rather than a noisy one, and scipy's bounded Powell search
can follow it. Runs stop at the last target month.

A fitted value that ends on a bound of its search range (within :data:`BOUND_TOLERANCE` of
the range) is suspect: the search may have stopped there because the best value lies
beyond it. :func:`calibrate` warns about each one (:class:`BoundWarning`, a ``warning:``
line on the command line) and records them in :attr:`Calibration.on_bound` and the
manifest's ``on_bound``.
"""

from __future__ import annotations

import math
import time
import tomllib
import warnings
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import tomli_w

from sim.errors import Problem, ScenarioError
from sim.experiment.design import Parameter
from sim.experiment.limits import check_jobs, check_runs, worker_count
from sim.experiment.pool import process_pool
from sim.experiment.runner import check_count, check_engine, run
from sim.experiment.store import (
    MANIFEST_FORMAT,
    TOOL,
    ResultsFolder,
    atomic_write_text,
    git_state,
    now_iso,
    open_output,
    shown,
    status_of,
    versions,
)
from sim.experiment.targets import Target, TargetsFile, fit_table, load_targets
from sim.scenario.overrides import with_horizon
from sim.scenario.schema import Scenario, ScenarioWarning

__all__ = ["Target", "TargetsFile", "load_targets", "calibrate", "Calibration", "fit_table",
           "BoundWarning", "BOUND_TOLERANCE", "on_bounds"]

#: A fitted value this close to a bound, as a share of its range, is "on" the bound: Powell's
#: bounded line searches stop a hair inside a bound they push against, so exact equality
#: would miss most cases, and 1 % is below any difference a calibration could resolve.
BOUND_TOLERANCE = 0.01


class BoundWarning(ScenarioWarning):
    """A fitted value on a bound of its search range: the optimum may lie outside it."""


@dataclass
class Calibration:
    """Outcome of a calibration."""

    values: dict[str, Any]  #: fitted parameter values by path
    objective: float
    evaluations: pd.DataFrame  #: every evaluated point and its objective
    fit: pd.DataFrame  #: fit vs targets at the optimum
    scenario: Scenario  #: the calibrated scenario
    #: the fitted values on a bound of their range (:func:`on_bounds`), each warned about
    on_bound: list[dict[str, Any]] = field(default_factory=list)


def on_bounds(values: dict[str, Any], parameters: list[Parameter],
              tolerance: float = BOUND_TOLERANCE) -> list[dict[str, Any]]:
    """The fitted values within ``tolerance`` of the range of a bound of their range.

    Returns:
        One entry per such parameter: ``path``, ``value``, ``bound`` (``"low"`` or
        ``"high"``), ``at`` (the bound's value), ``low``, ``high`` and ``message`` (the
        warning's text).

    Example:
        >>> from sim.experiment.design import Parameter
        >>> p = Parameter("world.network_effect", 0.1, 0.4)
        >>> [e["bound"] for e in on_bounds({"world.network_effect": 0.399}, [p])]
        ['high']
        >>> on_bounds({"world.network_effect": 0.25}, [p])
        []
    """
    found = []
    for p in parameters:
        value = float(values[p.path])
        margin = tolerance * (p.high - p.low)
        side = "low" if value - p.low <= margin else "high" if p.high - value <= margin else None
        if side is None:
            continue
        at = p.low if side == "low" else p.high
        message = (f"{p.path} = {value:.6g} is on the {side} bound ({at:g}) of its search "
                   f"range {p.low:g}:{p.high:g}: the best value may lie outside the range; "
                   "widen it and fit again")
        found.append({"path": p.path, "value": value, "bound": side, "at": at, "low": p.low,
                      "high": p.high, "message": message})
    return found


def calibrate(scenario: Scenario, targets: TargetsFile, parameters: list[Parameter], *,
              replications: int | None = None, seed: int | None = None,
              max_evaluations: int = 60, jobs: int | None = None,
              executor: Executor | None = None, progress: bool | None = None,
              out: str | Path | None = None, force: bool = False, resume: bool = False,
              command: str | None = None, extends: str | None = None,
              fixed: dict[str, Any] | None = None, name: str | None = None,
              engine: str | None = None) -> Calibration:
    """Fit ``parameters`` so the model's mean reproduces ``targets``.

    Args:
        scenario: The scenario to fit.
        targets: Observed facts (:func:`load_targets`).
        parameters: Numeric ranges to fit (``--fit PATH=LOW:HIGH``).
        replications: Replications per evaluation (default: the scenario's).
        seed: Root seed, the same for every evaluation (default: the scenario's).
        max_evaluations: Objective evaluations of the Powell search.
        jobs: Worker processes (clamped to the usable cores and the replications).
        executor: Any ``concurrent.futures.Executor``; overrides ``jobs``.
        progress: Show a bar over the evaluations with the best objective so far and an
            ETA (every evaluation runs the same worlds, so the ETA holds after the first;
            it is an upper bound, as the search may stop early). Default: when stderr is
            a terminal.
        out: Results folder: ``manifest.json`` (kind ``calibration``), ``calibrated.toml``,
            ``calibration.csv`` and ``evaluations.csv``. The same rule as
            :func:`sim.run`'s ``out`` applies (see
            :func:`sim.experiment.store.inspect_output`); a calibration cannot be resumed.
        force: Replace a results folder marketsim wrote (only marketsim's files).
        resume: Accepted for symmetry: a missing or empty ``out`` starts afresh; a
            calibration folder is refused (run it again with ``force``).
        command: The command line, recorded in the manifest.
        extends: What ``calibrated.toml`` extends (a shipped name or a path relative to
            ``out``); None writes the fitted scenario fully resolved.
        fixed: Overrides the fit was made under (``--set``), kept in ``calibrated.toml``.
        name: Name of the input, for the calibrated scenario's name.
        engine: The demand engine of every evaluation (default
            :data:`sim.replication.DEFAULT_ENGINE`), recorded in the manifest.

    Raises:
        ScenarioError: Bad input, an unusable ``out``, or more runs than
            ``MARKETSIM_MAX_RUNS``; all checked before the first evaluation.

    Warns:
        BoundWarning: For each fitted value on a bound of its range (:func:`on_bounds`,
            also in :attr:`Calibration.on_bound`, the manifest's ``on_bound``, and
            ``calibrated.toml``'s comments): the best value may lie outside the range.

    Example:
        >>> import sim
        >>> from sim.scenario.overrides import with_horizon
        >>> short = with_horizon(sim.load_scenario("baseline"), 17)  # to the last fact
        >>> fit = sim.calibrate(short, sim.load_targets("fit", short),
        ...                     [sim.parse_range("world.network_effect=0.05:0.5", short)],
        ...                     replications=1, max_evaluations=3, jobs=1, engine="expected")
        >>> sorted(fit.values), len(fit.fit)
        (['world.network_effect'], 13)
    """
    if not parameters or any(not p.numeric for p in parameters):
        raise ScenarioError("calibrate needs numeric ranges: --fit PATH=LOW:HIGH")
    for p in parameters:
        if p.path.startswith("policies."):
            raise ScenarioError(Problem("policies cannot be calibrated by index; give the "
                                        "value in the scenario file", path=p.path))
    start = scenario.scenario.start
    horizon = max(t.step(start) for t in targets.target)
    short = with_horizon(scenario, max(horizon, 1))
    replications = check_count(replications or scenario.experiment.replications,
                               "replications", 1)
    max_evaluations = check_count(max_evaluations, "--max-evaluations", 1)
    seed = check_count(scenario.experiment.seed if seed is None else seed, "seed", 0)
    check_jobs(jobs)
    engine = check_engine(engine)
    reps = f"{replications} replication{'s' if replications != 1 else ''}"
    check_runs(replications, f"each evaluation's {reps}", in_memory=True,
               instead="use fewer replications")
    check_runs((max_evaluations + 1) * replications,
               f"--max-evaluations {max_evaluations} (+1 final run) x {reps}")
    folder = _open_folder(out, force, resume) if out is not None else None
    manifest = _manifest(seed, replications, max_evaluations, parameters, targets, engine,
                         command)
    if folder is not None:
        folder.write_manifest({**manifest, "status": "running"})
    started = time.perf_counter()
    try:
        result = _search(scenario, short, targets, parameters, replications, seed,
                         max_evaluations, jobs, executor, start, horizon, engine, progress)
        result.on_bound = on_bounds(result.values, parameters)
        if folder is not None:
            write_calibration(folder.root, result, extends, name or scenario.scenario.name,
                              fixed)
            folder.write_manifest({**manifest, "status": "complete", "finished_at": now_iso(),
                                   "run_seconds": round(time.perf_counter() - started, 3),
                                   "objective": result.objective,
                                   "on_bound": [{k: v for k, v in e.items() if k != "message"}
                                                for e in result.on_bound]})
    except BaseException as exc:
        if folder is not None:
            folder.write_manifest({**manifest, "status": status_of(exc)})
        raise
    for entry in result.on_bound:
        warnings.warn(BoundWarning(entry["message"]), stacklevel=2)
    return result


def _open_folder(out: str | Path, force: bool, resume: bool) -> ResultsFolder:
    """A calibration's results folder, by the rule every command's ``-o`` follows."""
    folder, action, manifest = open_output(out, force=force, resume=resume)
    if action == "resume":
        kind = manifest["kind"]
        raise ScenarioError(f"{shown(folder.root)}: " + (
            "a calibration cannot be resumed; use --force to run it again"
            if kind == "calibration" else
            f"a {kind} folder; --resume continues only a calibration's (use --force to "
            "replace it)"))
    return folder


def _manifest(seed: int, replications: int, max_evaluations: int,
              parameters: list[Parameter], targets: TargetsFile, engine: str,
              command: str | None) -> dict[str, Any]:
    return {"tool": TOOL, "format": MANIFEST_FORMAT, "kind": "calibration",
            "command": command, "created_at": now_iso(), "versions": versions(),
            "git": git_state(), "seed": seed, "replications": replications,
            "engine": engine, "max_evaluations": max_evaluations, "scenarios": [],
            "fit": [{"path": p.path, "low": p.low, "high": p.high} for p in parameters],
            "targets": targets.targets.name}


def _search(scenario: Scenario, short: Scenario, targets: TargetsFile,
            parameters: list[Parameter], replications: int, seed: int, max_evaluations: int,
            jobs: int | None, executor: Executor | None, start: str, horizon: int,
            engine: str, progress: bool | None = None) -> Calibration:
    """The bounded Powell search and the fit at its best point."""
    import sys

    from tqdm.auto import tqdm

    from sim.experiment.pool import shows_progress

    own_pool = None
    if executor is None:
        workers = worker_count(jobs, replications)
        if workers > 1:
            own_pool = executor = process_pool(workers, replications)
    history: list[dict[str, Any]] = []
    bar = tqdm(total=max_evaluations + 1, unit="evaluation", desc="calibrate",
               file=sys.stderr, disable=not shows_progress(progress))

    def values_of(unit: np.ndarray) -> dict[str, Any]:
        return {p.path: p.scale(np.clip(np.array([u]), 0.0, 1.0 - 1e-12))[0]
                for p, u in zip(parameters, unit, strict=True)}

    def objective(unit: np.ndarray) -> float:
        values = values_of(unit)
        res = run({"fit": short.with_overrides(values)}, replications, seed, jobs=1 if
                  executor is None else None, executor=executor, progress=False,
                  engine=engine)
        table = fit_table(res.market, targets, start)
        weights = np.array([t.weight for t in targets.target])
        score = float(np.nansum(weights * table["z"].to_numpy() ** 2))
        if not math.isfinite(score):
            score = 1e12
        history.append({**values, "objective": score})
        bar.set_postfix_str(f"best objective {min(h['objective'] for h in history):.4g}")
        bar.update(1)
        return score

    from scipy.optimize import minimize

    x0 = np.array([_unit_of(p, current_value(scenario, p.path)) for p in parameters])
    try:
        minimize(objective, x0, method="Powell", bounds=[(0.0, 1.0)] * len(parameters),
                 options={"maxfev": max_evaluations, "xtol": 1e-3, "ftol": 1e-4})
        best = min(history, key=lambda h: h["objective"])
        values = {p.path: best[p.path] for p in parameters}
        fitted = scenario.with_overrides(values)
        bar.set_description_str("calibrate: the fit at the best point")
        res = run({"fit": with_horizon(fitted, max(horizon, 1))},
                  replications, seed, jobs=1, progress=False, engine=engine)
        bar.update(max(0, bar.total - bar.n))
    finally:
        bar.close()
        if own_pool is not None:
            own_pool.shutdown(wait=True, cancel_futures=True)
    return Calibration(values, best["objective"], pd.DataFrame(history),
                       fit_table(res.market, targets, start), fitted)


def current_value(scenario: Scenario, path: str) -> Any:
    """The value at a dotted path (:func:`sim.scenario.overrides.value_at`)."""
    from sim.scenario.overrides import value_at

    return value_at(scenario, path)


def _unit_of(p: Parameter, value: Any) -> float:
    if value is None or not isinstance(value, int | float):
        return 0.5
    return float(np.clip((value - p.low) / (p.high - p.low), 0.0, 1.0))


#: arrays of tables whose items are addressed by name in a dotted path, and the arrays of
#: tables an item of each holds (a firm's product lines)
_NAMED = {"regions": (), "segments": (), "vendors": ("products",)}


def child_toml(values: dict[str, Any], extends: str, name: str, description: str,
               fixed: dict[str, Any] | None = None) -> str:
    """A scenario file that extends ``extends`` and sets ``values`` (dotted paths).

    Named items are addressed by name, down to a firm's product lines
    (``vendors.Meta.products.Llama.capability``); ``fixed`` are overrides the fit was
    made under (``--set``), written too so the file reproduces the fit.

    Example:
        >>> import tomllib
        >>> data = tomllib.loads(child_toml({"vendors.Meta.products.Llama.capability": 93.0},
        ...                                 "baseline", "fit", "d"))
        >>> data["scenario"]["format_version"], data["vendors"]
        (2, [{'name': 'Meta', 'products': [{'name': 'Llama', 'capability': 93.0}]}])
    """
    data: dict[str, Any] = {"scenario": {"format_version": 2, "name": name,
                                         "description": description, "extends": extends}}
    fixed = fixed or {}
    for path, value in {**fixed, **values}.items():
        node, rest, arrays = data, path.split("."), tuple(_NAMED)
        # walk named items (a vendor, then its product) as long as the path names them
        while len(rest) > 2 and rest[0] in arrays:
            items = node.setdefault(rest[0], [])
            item = next((i for i in items if i["name"] == rest[1]), None)
            if item is None:
                item = {"name": rest[1]}
                items.append(item)
            node, arrays, rest = item, _NAMED.get(rest[0], ()), rest[2:]
        for part in rest[:-1]:
            node = node.setdefault(part, {})
        node[rest[-1]] = value
    lines = [f"# {path} = {value!r}  (calibrated)" for path, value in values.items()]
    lines += [f"# {path} = {value!r}  (--set)" for path, value in fixed.items()
              if path not in values]
    return "\n".join(["# Written by marketsim calibrate.", *lines, "", tomli_w.dumps(data)])


def write_calibration(out: Path, result: Calibration, extends: str | None, source_name: str,
                      fixed: dict[str, Any] | None = None) -> Path:
    """Write ``calibrated.toml``, ``calibration.csv`` and ``evaluations.csv`` into ``out``.

    ``calibrated.toml`` extends ``extends`` and sets the fitted values (and ``fixed``: the
    overrides the fit was made under, ``--set``); with ``extends=None`` it is the fitted
    scenario fully resolved.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    description = f"Parameters fitted by marketsim calibrate; objective {result.objective:.4g}."
    if extends is None:
        fitted = result.scenario.with_overrides({"scenario.name": f"{source_name} (calibrated)",
                                                 "scenario.description": description})
        lines = [f"# {path} = {value!r}  (calibrated)" for path, value in result.values.items()]
        text = "\n".join(["# Written by marketsim calibrate.", *lines, "", fitted.to_toml()])
    else:
        text = child_toml(result.values, extends, f"{source_name} (calibrated)", description,
                          fixed)
    if result.on_bound:  # whoever runs the file later should see the caveat too
        first, rest = text.split("\n", 1)
        text = "\n".join([first, *(f"# warning: {e['message']}" for e in result.on_bound),
                           rest])
    tomllib.loads(text)  # never write a file that would not load
    atomic_write_text(out / "calibrated.toml", text)
    atomic_write_text(out / "calibration.csv", result.fit.to_csv(index=False,
                                                                 float_format="%.10g"))
    atomic_write_text(out / "evaluations.csv", result.evaluations.to_csv(index=False,
                                                                         float_format="%.10g"))
    return out / "calibrated.toml"
