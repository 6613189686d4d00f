"""Posterior-predictive forecasts of dated facts, and their scores (the hindcast).

The hindcast asks the calibrated model for facts it never saw (``scenarios/targets/
validation.toml``, dated after the fit window): every posterior draw is run as one world to
the fact's month, each fact's observation error is added (the same error model as the fit),
and the fact is scored against that predictive distribution:

- **coverage**: is the fact inside the central 90 % predictive interval?
- **CRPS**, the continuous ranked probability score (Gneiting & Raftery 2007), in the fact's
  units, against the **persistence** forecast: the last fit-window fact of the same metric,
  region and segment carried forward (a point forecast, whose CRPS is its absolute error).
  A fact with no fit-window counterpart has no persistence score, and says so.
"""

from __future__ import annotations

from concurrent.futures import Executor
from typing import Any

import numpy as np
import pandas as pd

from sim.experiment.bayes import CHUNK, facts
from sim.experiment.draws import Cell, DrawTask, EventQuery, cells_of_targets, run_draw_task
from sim.experiment.pool import execute_tasks, lasting_pool
from sim.scenario.overrides import with_horizon
from sim.scenario.schema import Scenario

__all__ = ["crps_ensemble", "predictive_values", "hindcast_table", "bands_over_time",
           "PARAMETER_COLUMNS"]

#: Columns of a posterior file that are not parameters.
PARAMETER_COLUMNS = ("draw", "weight")
_NOISE = 8_000_001


def crps_ensemble(samples: np.ndarray, observed: float) -> float:
    """CRPS of the empirical distribution of ``samples`` at ``observed`` (lower is better).

    ``E|X - y| - E|X - X'| / 2``, with the second term from the sorted samples in
    O(n log n).

    Example:
        >>> round(crps_ensemble(np.array([1.0]), 3.0), 12)  # a point forecast: |error|
        2.0
        >>> x = np.random.default_rng(0).normal(size=20000)
        >>> abs(crps_ensemble(x, 0.0) - 0.2337) < 0.01  # N(0,1) at 0: (sqrt(2) - 1)/sqrt(pi)
        True
    """
    x = np.sort(np.asarray(samples, dtype=float))
    x = x[np.isfinite(x)]
    n = x.size
    if n == 0:
        return float("nan")
    first = np.mean(np.abs(x - observed))
    weights = 2 * np.arange(1, n + 1) - n - 1
    spread = 2 * np.sum(weights * x) / n ** 2
    return float(first - 0.5 * spread)


def predictive_values(scenario: Scenario, targets: Any, posterior: pd.DataFrame, *,
                      seed: int, engine: str = "expected", jobs: int | None = None,
                      executor: Executor | None = None, chunk: int = CHUNK,
                      cells: tuple[Cell, ...] | None = None,
                      events: tuple[EventQuery, ...] = ()) -> np.ndarray:
    """``[draws, targets]``: each posterior draw's simulated value of each target.

    World ``i`` is draw ``i`` with replication ``i``; every parameter column of the posterior
    (informed or not) is set. ``cells`` replaces the targets' own cells (e.g. every month of
    each target's metric, for bands over time); ``events`` adds one 0/1 column each.
    """
    cells = cells if cells is not None else cells_of_targets(targets, scenario.scenario.start)
    last = max([c.step for c in cells] + [q.last for q in events])
    short = with_horizon(scenario, max(last, 1))
    text = short.to_toml()
    paths = [c for c in posterior.columns if c not in PARAMETER_COLUMNS]
    values = posterior[paths].to_numpy(dtype=float)
    n = len(posterior)
    tasks = [DrawTask(text, tuple(tuple(zip(paths, (float(v) for v in row), strict=True))
                                  for row in values[lo:lo + chunk]),
                      tuple(range(lo, min(lo + chunk, n))), seed, engine, cells, lo, events)
             for lo in range(0, n, chunk)]
    out = np.full((n, len(cells) + len(events)), np.nan)
    with lasting_pool(jobs, executor) as pool:
        for first, part in execute_tasks(tasks, run_draw_task, jobs, pool, False):
            out[first:first + part.shape[0]] = part
    return out


def _persistence(target: Any, fit_targets: Any, start: str) -> tuple[float, str] | None:
    """The last fit-window fact measuring the same metric, region and segment."""
    same = [t for t in fit_targets.target if (t.metric, t.region, t.segment, t.scale)
            == (target.metric, target.region, target.segment, target.scale)]
    if not same:
        return None
    last = max(same, key=lambda t: t.step(start))
    return last.centre, last.name


def hindcast_table(scenario: Scenario, targets: Any, fit_targets: Any, values: np.ndarray,
                   seed: int) -> pd.DataFrame:
    """One row per fact: predictive interval, coverage, CRPS of the model and of persistence.

    Args:
        scenario: The scenario (its start month dates the targets).
        targets: The validation facts.
        fit_targets: The fit window's facts (persistence carries the last one forward).
        values: :func:`predictive_values` for ``targets``.
        seed: Seed of the observation-error draws added to the model's values.
    """
    start = scenario.scenario.start
    observed, sigma = facts(targets)
    noise = np.random.default_rng([seed, _NOISE]).standard_normal(values.shape)
    predictive = values + noise * sigma[None, :]
    rows = []
    for j, target in enumerate(targets.target):
        column = predictive[:, j]
        low, mid, high = np.nanpercentile(column, [5, 50, 95])
        model_crps = crps_ensemble(column, observed[j])
        persist = _persistence(target, fit_targets, start)
        row = {"target": target.name, "metric": target.metric, "region": target.region,
               "segment": target.segment, "date": target.date, "observed": observed[j],
               "sigma": sigma[j], "p05": low, "p50": mid, "p95": high,
               "inside_90": bool(low <= observed[j] <= high), "crps_model": model_crps,
               "persistence": np.nan, "persistence_from": "", "crps_persistence": np.nan,
               "beats_persistence": None, "source": target.source}
        if persist is not None:
            value, name = persist
            row.update(persistence=value, persistence_from=name,
                       crps_persistence=abs(value - observed[j]),
                       beats_persistence=bool(model_crps < abs(value - observed[j])))
        rows.append(row)
    return pd.DataFrame(rows)


def bands_over_time(scenario: Scenario, groups: dict[str, Any], posterior: pd.DataFrame, *,
                    seed: int, engine: str = "expected", jobs: int | None = None
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Monthly 5/50/95 % of each target's metric over the posterior, and the facts.

    Args:
        scenario: The scenario the posterior belongs to.
        groups: ``{"fit": targets, "validation": targets, ...}``; every metric, region,
            segment (and scale) one of them measures gets a band from step 0 to the last
            target month.
        posterior: The posterior draws.
        seed: Root seed of the runs.
        engine: The demand engine.
        jobs: Local worker processes.

    Returns:
        ``(bands, facts)``: bands with ``metric, region, segment, date, p05, p50, p95``;
        facts with ``window, target, metric, region, segment, date, observed, sigma``.
    """
    from sim.scenario.months import date_of

    start = scenario.scenario.start
    every = [t for targets in groups.values() for t in targets.target]
    keys = list(dict.fromkeys((t.metric, t.region, t.segment, t.scale) for t in every))
    last = max(t.step(start) for t in every)
    cells = tuple(Cell(m, r, s, step, scale) for m, r, s, scale in keys
                  for step in range(last + 1))
    values = predictive_values(scenario, None, posterior, seed=seed, engine=engine, jobs=jobs,
                               cells=cells)
    low, mid, high = np.nanpercentile(values, [5, 50, 95], axis=0)
    bands = pd.DataFrame({"metric": [c.metric for c in cells],
                          "region": [c.region for c in cells],
                          "segment": [c.segment for c in cells],
                          "date": [date_of(c.step, start) for c in cells],
                          "p05": low, "p50": mid, "p95": high})
    facts_rows = []
    for window, targets in groups.items():
        observed, sigma = facts(targets)
        for t, value, sd in zip(targets.target, observed, sigma, strict=True):
            facts_rows.append({"window": window, "target": t.name, "metric": t.metric,
                               "region": t.region, "segment": t.segment,
                               "date": date_of(t.step(start), start), "observed": value,
                               "sigma": sd})
    return bands, pd.DataFrame(facts_rows)
