"""Sweeps, global sensitivity (SALib) and calibration, all built on :func:`sim.run`.

Every study runs each design point with the same seed and replications, so the
points differ only by their parameters (common random numbers): differences
between points, Sobol indices and the calibration objective are not blurred by
different luck.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.engine.metrics import POOLED_NAN
from sim.errors import Problem, ScenarioError, suggest
from sim.experiment.design import Parameter, apply_row, design_size, make_design
from sim.experiment.limits import check_points, check_runs
from sim.experiment.results import Results
from sim.experiment.runner import check_count, run
from sim.experiment.store import (
    ResultsFolder,
    atomic_write_text,
    inspect_output,
    safe_id,
    write_frame,
)
from sim.metric_names import MARKET_METRICS
from sim.scenario.schema import Scenario, ScenarioWarning

__all__ = ["sweep", "sensitivity", "sample", "indices", "metric_at", "check_cell",
           "SENSITIVITY_METHODS", "VERSION1_METRICS", "unknown_metric", "no_such_market"]

SENSITIVITY_METHODS = ("sobol", "morris")

#: Version-1 metric names and what measures the same thing in version 2 (None: gone)
VERSION1_METRICS: dict[str, str | None] = {
    "hhi": "hhi_market", "open_share": "open_usage_share", "price_mean": "price_paid",
    "consumer_welfare": "consumer_surplus_usd", "adopters": "users",
    "vendors_active": "firms_active", "vendors_open": "products_open", "contributors": None,
    "effort": None, "derivatives": None, "compliance_paid": None, "subsidy_paid": None,
    "withdrawals": None,
}


def unknown_metric(metric: str) -> tuple[str, str | None]:
    """What to say about a name that is not a metric: ``(message, suggestion)``.

    Example:
        >>> unknown_metric("open_share")[0]
        "unknown metric 'open_share' (version 1's name; version 2 calls it open_usage_share)"
    """
    if metric in VERSION1_METRICS:
        now = VERSION1_METRICS[metric]
        return (f"unknown metric {metric!r} (version 1's name; "
                + (f"version 2 calls it {now})" if now else "version 2 does not record it)"),
                None)
    return f"unknown metric {metric!r}", suggest(metric, MARKET_METRICS)


def no_such_market(metric: str, segment: str) -> str | None:
    """Why ``metric`` does not exist for ``segment``, or None if it does.

    Concentration of the relevant market and headcount metrics
    (:data:`sim.engine.metrics.POOLED_NAN`) do not exist for segment ``all``: it pools
    people and organisations, so it is no single market (they are NaN there).
    """
    if segment == "all" and metric in POOLED_NAN:
        return (f"{metric} does not exist for segment 'all' (no such market: 'all' pools "
                "people and organisations); name a segment")
    return None


def _point_ids(base_id: str, n: int) -> list[str]:
    width = max(4, len(str(n - 1)))
    base = safe_id(base_id, "point")
    return [f"{base}-{i:0{width}d}" for i in range(n)]


def _preflight(scenario: Scenario, points: int, detail: str, replications: int | None,
               run_options: dict[str, Any]) -> None:
    """Check a study's size and results folder before any point is built or run."""
    check_points(points, detail)
    reps = check_count(scenario.experiment.replications if replications is None
                       else replications, "replications", 1)
    out = run_options.get("out")
    check_runs(points * reps, f"{points} design points x {reps} replication"
               f"{'s' if reps != 1 else ''}", in_memory=out is None)
    if out is not None:
        inspect_output(out, force=bool(run_options.get("force")),
                       resume=bool(run_options.get("resume")))


def sweep(scenario: Scenario, parameters: list[Parameter], *, design: str = "lhs",
          samples: int = 16, replications: int | None = None, seed: int | None = None,
          base_id: str = "sweep", design_seed: int | None = None,
          **run_options: Any) -> tuple[Results, pd.DataFrame]:
    """Run ``scenario`` at every point of a design.

    Returns:
        ``(results, design)``; ``design`` has a ``point`` column (the scenario id of each
        row) and one column per parameter, and is saved as ``design.parquet`` when a
        results folder is written.

    Example:
        >>> import sim
        >>> base = sim.load_scenario("baseline")
        >>> vary = [sim.parse_range("world.network_effect=0.1:0.5", base)]
        >>> results, design = sim.sweep(base, vary, design="grid", samples=2,
        ...                             replications=1, months=2, jobs=1)
        >>> list(design["world.network_effect"]), results.ids
        ([0.1, 0.5], ['sweep-0000', 'sweep-0001'])
    """
    seed = scenario.experiment.seed if seed is None else seed
    points, detail = design_size(parameters, design, samples)
    _preflight(scenario, points, detail, replications, run_options)
    table = make_design(parameters, design, samples, seed if design_seed is None else design_seed)
    ids = _point_ids(base_id, len(table))
    points = {pid: apply_row(scenario, row) for pid, row in
              zip(ids, table.to_dict(orient="records"), strict=True)}
    table.insert(0, "point", ids)
    results = run(points, replications, seed, **run_options)
    if results.folder is not None:
        write_frame(Path(results.folder) / "design.parquet", table)
    return results, table


def check_cell(scenario: Scenario, metric: str, region: str, segment: str = "all") -> None:
    """Raise ScenarioError (with a suggestion) unless the metric exists in that cell.

    ``hhi_market``, ``hhi_users``, ``adoption`` and the other headcount metrics do not
    exist for segment ``all`` (:func:`no_such_market`).
    """
    if metric not in MARKET_METRICS:
        message, hint = unknown_metric(metric)
        raise ScenarioError(Problem(message, path="--metric", suggestion=hint))
    for option, value, known in (("--region", region, [*scenario.region_names, "World"]),
                                 ("--segment", segment, [*scenario.segment_names, "all"])):
        if value not in known:
            raise ScenarioError(Problem(f"unknown {option[2:]} {value!r}; known: "
                                        f"{', '.join(known)}", path=option,
                                        suggestion=suggest(value, known)))
    why = no_such_market(metric, segment)
    if why:
        raise ScenarioError(Problem(f"{why}: {', '.join(scenario.segment_names)}",
                                    path="--segment"))


def metric_at(results: Results, metric: str, region: str, segment: str = "all",
              month: int | None = None) -> pd.Series:
    """Mean over replications of one metric in one cell at one month, per scenario id."""
    check_cell(results.scenarios[0], metric, region, segment)
    summary = results.summary(month=month, metrics=[metric])
    cell = summary[(summary["region"] == region) & (summary["segment"] == segment)]
    return cell.set_index("scenario")["mean"].reindex(results.ids)


def _check_method(method: str) -> None:
    if method not in SENSITIVITY_METHODS:
        raise ScenarioError(Problem(f"unknown method {method!r}; choose sobol or morris",
                                    path="--method",
                                    suggestion=suggest(method, SENSITIVITY_METHODS)))


def sample(problem: dict[str, Any], method: str, samples: int, seed: int) -> np.ndarray:
    """Points at which to evaluate a model for SALib's ``method`` (one row per point).

    Args:
        problem: SALib problem (``num_vars``, ``names``, ``bounds``).
        method: ``sobol`` (Saltelli/Sobol' sequence with base sample ``samples``,
            ``samples * (d + 2)`` points, no second-order indices) or ``morris``
            (``samples`` trajectories on 4 levels, ``samples * (d + 1)`` points).
        samples: See ``method``.
        seed: Seed of the sample.
    """
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    _check_method(method)
    if method == "morris":
        return morris_sample.sample(problem, samples, num_levels=4, seed=seed)
    if samples & (samples - 1):
        better = 1 << samples.bit_length()
        warnings.warn(ScenarioWarning(f"--samples {samples} is not a power of 2; Sobol' "
                                      f"indices converge best with 2^k (e.g. {better})"),
                      stacklevel=2)
    with warnings.catch_warnings():  # SALib's own (multi-line) version of that warning
        warnings.filterwarnings("ignore", category=UserWarning, module="SALib")
        return sobol_sample.sample(problem, samples, calc_second_order=False, seed=seed)


def indices(problem: dict[str, Any], method: str, x: np.ndarray, y: np.ndarray, seed: int
            ) -> pd.DataFrame:
    """Sensitivity indices of outputs ``y`` at the points ``x`` given by :func:`sample`.

    Returns:
        One row per parameter: ``sobol`` gives S1, S1_conf, ST, ST_conf (bootstrap 95 %
        half-widths); ``morris`` gives mu_star, mu_star_conf, mu, sigma.
    """
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze

    _check_method(method)
    y = np.asarray(y, dtype=float)
    if method == "sobol":
        found = sobol_analyze.analyze(problem, y, calc_second_order=False, seed=seed)
        table = pd.DataFrame({"parameter": problem["names"], "S1": found["S1"],
                              "S1_conf": found["S1_conf"], "ST": found["ST"],
                              "ST_conf": found["ST_conf"]})
    else:
        found = morris_analyze.analyze(problem, np.asarray(x, dtype=float), y, num_levels=4,
                                       seed=seed)
        table = pd.DataFrame({"parameter": problem["names"], "mu_star": found["mu_star"],
                              "mu_star_conf": found["mu_star_conf"], "mu": found["mu"],
                              "sigma": found["sigma"]})
    table.insert(1, "method", method)
    return table


def imprecise_indices(indices: pd.DataFrame) -> list[str]:
    """One line per index whose 95 % half-width is wider than the index itself.

    Such an index cannot be told from zero (or from its neighbours) at this sample size:
    raise ``samples`` before reading it.

    Example:
        >>> rows = pd.DataFrame({"parameter": ["a", "b"], "S1": [0.4, 0.05],
        ...                      "S1_conf": [0.1, 0.2], "ST": [0.5, 0.1], "ST_conf": [0.1, 0.05]})
        >>> imprecise_indices(rows)
        ['b: S1 = 0.05 +- 0.2 (the interval is wider than the index; raise --samples)']
    """
    lines = []
    for name, conf in (("S1", "S1_conf"), ("ST", "ST_conf"), ("mu_star", "mu_star_conf")):
        if name not in indices.columns:
            continue
        for _, row in indices.iterrows():
            value, half = float(row[name]), float(row[conf])
            if np.isfinite(half) and half > abs(value):
                lines.append(f"{row['parameter']}: {name} = {value:.3g} +- {half:.3g} (the "
                             "interval is wider than the index; raise --samples)")
    return lines


def sensitivity(scenario: Scenario, parameters: list[Parameter], *, method: str = "sobol",
                samples: int = 64, metric: str = "hhi_market", region: str = "EU",
                segment: str = "enterprise", month: int | None = None,
                replications: int | None = None, seed: int | None = None,
                base_id: str = "sensitivity", **run_options: Any
                ) -> tuple[Results, pd.DataFrame, pd.DataFrame]:
    """Global sensitivity indices of one outcome with SALib.

    ``sobol``: Saltelli sampling with base sample ``samples`` (``samples * (d + 2)`` runs),
    first-order and total indices with bootstrap CIs. ``morris``: ``samples`` trajectories
    (``samples * (d + 1)`` runs), mu*, its CI, and sigma. Sampling and analysis are the
    model-free :func:`sample` and :func:`indices`. Inputs are checked before any run.

    Returns:
        ``(results, design, indices)``; ``indices`` is written to ``sensitivity.csv``.

    Example:
        >>> import sim
        >>> base = sim.load_scenario("baseline")
        >>> vary = [sim.parse_range("world.network_effect=0.1:0.5", base)]
        >>> _, design, indices = sim.sensitivity(base, vary, method="morris", samples=2,
        ...                                      replications=1, months=2, jobs=1)
        >>> len(design), list(indices["parameter"])
        (4, ['world.network_effect'])
    """
    _check_method(method)
    if not parameters:
        raise ScenarioError("sensitivity needs at least one --vary PATH=LOW:HIGH")
    if any(not p.numeric for p in parameters):
        raise ScenarioError("sensitivity needs numeric ranges (PATH=LOW:HIGH), not choices")
    check_cell(scenario, metric, region, segment)
    horizon = run_options.get("months") or scenario.scenario.months
    if month is not None and not 0 <= month <= horizon:
        raise ScenarioError(Problem(f"month {month} is outside the run's 0..{horizon}",
                                    path="--month"))
    seed = scenario.experiment.seed if seed is None else seed
    samples = check_count(samples, "--samples", 1)
    d = len(parameters)
    per = d + 2 if method == "sobol" else d + 1
    _preflight(scenario, samples * per, f"--samples {samples} with {d} parameter"
               f"{'s' if d != 1 else ''} ({method}: {samples} x {per})", replications,
               run_options)
    problem = {"num_vars": len(parameters), "names": [p.path for p in parameters],
               "bounds": [[p.low, p.high] for p in parameters]}
    x = sample(problem, method, samples, seed)
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
    found = indices(problem, method, x, y, seed)
    found["metric"], found["region"], found["segment"] = metric, region, segment
    found["month"] = results.final_month() if month is None else month
    if results.folder is not None:
        folder = ResultsFolder(results.folder)
        write_frame(folder.root / "design.parquet", table)
        atomic_write_text(folder.root / "sensitivity.csv",
                          found.to_csv(index=False, float_format="%.10g"))
    return results, table, found
