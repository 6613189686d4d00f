"""Sweeps, global sensitivity (SALib) and calibration, all built on :func:`sim.run`.

Every study runs each design point with the same seed and replications, so the
points differ only by their parameters (common random numbers): differences
between points, Sobol indices and the calibration objective are not blurred by
different luck.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import Problem, ScenarioError, suggest
from sim.experiment.design import Parameter, apply_row, make_design
from sim.experiment.results import Results
from sim.experiment.runner import run
from sim.experiment.store import ResultsFolder, atomic_write_text, write_frame
from sim.metric_names import MARKET_METRICS
from sim.scenario.schema import Scenario

__all__ = ["sweep", "sensitivity", "metric_at", "SENSITIVITY_METHODS"]

SENSITIVITY_METHODS = ("sobol", "morris")


def _point_ids(base_id: str, n: int) -> list[str]:
    width = max(4, len(str(n - 1)))
    return [f"{base_id}-{i:0{width}d}" for i in range(n)]


def sweep(scenario: Scenario, parameters: list[Parameter], *, design: str = "lhs",
          samples: int = 16, replications: int | None = None, seed: int | None = None,
          base_id: str = "sweep", design_seed: int | None = None,
          **run_options: Any) -> tuple[Results, pd.DataFrame]:
    """Run ``scenario`` at every point of a design.

    Returns:
        ``(results, design)``; ``design`` has a ``point`` column (the scenario id of each
        row) and one column per parameter, and is saved as ``design.parquet`` when a
        results folder is written.
    """
    seed = scenario.experiment.seed if seed is None else seed
    table = make_design(parameters, design, samples, seed if design_seed is None else design_seed)
    ids = _point_ids(base_id, len(table))
    points = {pid: apply_row(scenario, row) for pid, row in
              zip(ids, table.to_dict(orient="records"), strict=True)}
    table.insert(0, "point", ids)
    results = run(points, replications, seed, **run_options)
    if results.folder is not None:
        write_frame(Path(results.folder) / "design.parquet", table)
    return results, table


def metric_at(results: Results, metric: str, region: str, segment: str = "all",
              month: int | None = None) -> pd.Series:
    """Mean over replications of one metric in one cell at one month, per scenario id."""
    if metric not in MARKET_METRICS:
        raise ScenarioError(Problem(f"unknown metric {metric!r}",
                                    suggestion=suggest(metric, MARKET_METRICS)))
    names = results.scenarios[0]
    if region != "World" and region not in names.region_names:
        raise ScenarioError(Problem(f"unknown region {region!r}",
                                    suggestion=suggest(region, [*names.region_names, "World"])))
    if segment != "all" and segment not in names.segment_names:
        raise ScenarioError(Problem(f"unknown segment {segment!r}",
                                    suggestion=suggest(segment, [*names.segment_names, "all"])))
    summary = results.summary(month=month, metrics=[metric])
    cell = summary[(summary["region"] == region) & (summary["segment"] == segment)]
    return cell.set_index("scenario")["mean"].reindex(results.ids)


def sensitivity(scenario: Scenario, parameters: list[Parameter], *, method: str = "sobol",
                samples: int = 64, metric: str = "hhi", region: str = "World",
                segment: str = "all", month: int | None = None,
                replications: int | None = None, seed: int | None = None,
                base_id: str = "sensitivity", **run_options: Any
                ) -> tuple[Results, pd.DataFrame, pd.DataFrame]:
    """Global sensitivity indices of one outcome with SALib.

    ``sobol``: Saltelli sampling with base sample ``samples`` (``samples * (d + 2)`` runs),
    first-order and total indices with bootstrap CIs. ``morris``: ``samples`` trajectories
    (``samples * (d + 1)`` runs), mu*, its CI, and sigma.

    Returns:
        ``(results, design, indices)``; ``indices`` is written to ``sensitivity.csv``.
    """
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    if method not in SENSITIVITY_METHODS:
        raise ScenarioError(Problem(f"unknown method {method!r}; choose sobol or morris",
                                    suggestion=suggest(method, SENSITIVITY_METHODS)))
    if any(not p.numeric for p in parameters):
        raise ScenarioError("sensitivity needs numeric ranges (PATH=LOW:HIGH), not choices")
    if not parameters:
        raise ScenarioError("sensitivity needs at least one --vary PATH=LOW:HIGH")
    seed = scenario.experiment.seed if seed is None else seed
    problem = {"num_vars": len(parameters), "names": [p.path for p in parameters],
               "bounds": [[p.low, p.high] for p in parameters]}
    if method == "sobol":
        x = sobol_sample.sample(problem, samples, calc_second_order=False, seed=seed)
    else:
        x = morris_sample.sample(problem, samples, num_levels=4, seed=seed)
    table = pd.DataFrame({p.path: p.scale((x[:, i] - p.low) / (p.high - p.low))
                          for i, p in enumerate(parameters)})
    ids = _point_ids(base_id, len(table))
    points = {pid: apply_row(scenario, row) for pid, row in
              zip(ids, table.to_dict(orient="records"), strict=True)}
    table.insert(0, "point", ids)
    results = run(points, replications, seed, **run_options)
    y = metric_at(results, metric, region, segment, month).to_numpy(dtype=float)
    if np.isnan(y).any():
        raise ScenarioError(f"{metric} in {region}/{segment} is undefined (NaN) at some design "
                            "points; choose another metric or region")
    if method == "sobol":
        found = sobol_analyze.analyze(problem, y, calc_second_order=False, seed=seed)
        indices = pd.DataFrame({"parameter": problem["names"], "S1": found["S1"],
                                "S1_conf": found["S1_conf"], "ST": found["ST"],
                                "ST_conf": found["ST_conf"]})
    else:
        found = morris_analyze.analyze(problem, x, y, num_levels=4, seed=seed)
        indices = pd.DataFrame({"parameter": problem["names"], "mu_star": found["mu_star"],
                                "mu_star_conf": found["mu_star_conf"], "mu": found["mu"],
                                "sigma": found["sigma"]})
    indices.insert(1, "method", method)
    indices["metric"], indices["region"], indices["segment"] = metric, region, segment
    indices["month"] = results.final_month() if month is None else month
    if results.folder is not None:
        folder = ResultsFolder(results.folder)
        write_frame(folder.root / "design.parquet", table)
        atomic_write_text(folder.root / "sensitivity.csv",
                          indices.to_csv(index=False, float_format="%.10g"))
    return results, table, indices
