"""Summaries with uncertainty: means, CIs, spreads and paired differences (common random numbers).

Replication i of every scenario used the same random streams, so the difference
between a scenario and the first one is estimated from per-replication *paired*
differences, whose variance excludes the luck both runs shared. A pair is the same
``draw`` (of a posterior ensemble; 0 otherwise) and replication. CIs are Student-t
intervals of the mean (scipy.stats).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from sim.experiment.breakeven import BREAK_EVEN_METRICS, break_even_rows
from sim.metric_names import MARKET_METRICS

__all__ = ["summarise", "SUMMARY_COLUMNS", "t_interval", "nan_percentile"]

SUMMARY_COLUMNS = ("scenario", "region", "segment", "metric", "month", "mean", "sd", "ci_low",
                   "ci_high", "p05", "p95", "diff_mean", "diff_ci_low", "diff_ci_high", "note")


def t_interval(values: np.ndarray, axis: int = 0, level: float = 0.95
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean, sd, and the Student-t CI of the mean along ``axis`` (NaNs ignored).

    With one observation the sd and CI are NaN; with zero spread the CI is the mean.
    """
    n = np.sum(~np.isnan(values), axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"), _quiet():
        mean = np.nanmean(values, axis=axis)
        sd = np.nanstd(values, axis=axis, ddof=1)
        half = stats.t.ppf(0.5 + level / 2, np.maximum(n - 1, 1)) * sd / np.sqrt(n)
    half = np.where(n > 1, half, np.nan)
    half = np.where(sd == 0, 0.0, half)
    return mean, np.where(n > 1, sd, np.nan), mean - half, mean + half


def nan_percentile(values: np.ndarray, q: float, axis: int = 1) -> np.ndarray:
    """``np.nanpercentile(values, q, axis)`` (linear method), bit for bit, vectorised.

    NumPy falls back to a Python loop over every slice as soon as one NaN is present,
    which made summaries of large sweeps take tens of seconds.
    """
    a = np.moveaxis(np.sort(values, axis=axis), axis, -1)  # NaNs sort last
    n = np.sum(~np.isnan(a), axis=-1)
    quantile = np.true_divide(q, 100)
    virtual = (n - 1) * quantile
    lower = np.floor(virtual)
    gamma = virtual - lower
    lower = np.clip(lower, 0, np.maximum(n - 1, 0)).astype(np.intp)
    upper = np.clip(lower + 1, 0, np.maximum(n - 1, 0))
    below = np.take_along_axis(a, lower[..., None], axis=-1)[..., 0]
    above = np.take_along_axis(a, upper[..., None], axis=-1)[..., 0]
    diff = above - below
    out = below + diff * gamma
    out = np.where(gamma >= 0.5, above - diff * (1 - gamma), out)
    return np.where(n > 0, out, np.nan)


class _quiet:
    def __enter__(self) -> None:
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc: object) -> None:
        self._ctx.__exit__(*exc)


def summarise(market: pd.DataFrame, scenario_ids: list[str], month: int | list[int] | None = None,
              metrics: list[str] | None = None) -> pd.DataFrame:
    """Summary table (columns :data:`SUMMARY_COLUMNS`).

    Args:
        market: Tidy market table of a run (it may hold only the months summarised); its
            ``draw`` column, when present, is part of what pairs two scenarios' rows.
        scenario_ids: Scenario ids in run order; differences are against the first.
        month: Month(s) to summarise; default each scenario's final month.
        metrics: Metrics to include; default every market metric in the table.

    Returns:
        One row per scenario, month, region, segment and metric (in that order).
        ``diff_*`` are the paired difference vs the first scenario in the same month,
        region and segment (NaN for the first scenario, and for cells it lacks).
    """
    break_even = BREAK_EVEN_METRICS if metrics is None else tuple(
        m for m in BREAK_EVEN_METRICS if m in metrics)
    if metrics is None:
        metrics = [m for m in MARKET_METRICS if m in market.columns]
    metrics = [m for m in metrics if m not in BREAK_EVEN_METRICS]
    keys = ["month", "region", "segment"]
    frame = market[market["scenario"].isin(scenario_ids)]
    if month is None:
        final = frame.groupby("scenario", sort=False)["month"].transform("max")
        frame = frame[frame["month"] == final]
    else:
        months = [month] if isinstance(month, int | np.integer) else list(month)
        frame = frame[frame["month"].isin(months)]
    if frame.empty or not (metrics or break_even):
        return _empty()
    months = {sid: sorted(rows["month"].unique().tolist())
              for sid, rows in frame.groupby("scenario", sort=False)}
    rows_m = (break_even_rows(frame, list(scenario_ids), SUMMARY_COLUMNS, months, break_even)
              if break_even else _empty())
    if not metrics:
        return rows_m.reset_index(drop=True)
    order = {sid: i for i, sid in enumerate(scenario_ids)}
    frame = frame.assign(_order=frame["scenario"].map(order))
    # the unit of pairing: replication i of draw d is the same luck in every scenario
    unit = ["draw", "replication"] if "draw" in frame.columns else ["replication"]
    units = frame[unit].drop_duplicates().sort_values(unit).reset_index(drop=True)
    cells = (frame[["_order", *keys]].drop_duplicates()
             .sort_values(["_order", *keys], kind="stable").reset_index(drop=True))
    # (cell, unit, metric) array; a missing replication is NaN
    tiled = pd.DataFrame({c: np.tile(units[c].to_numpy(), len(cells)) for c in unit})
    repeated = cells.loc[cells.index.repeat(len(units))].reset_index(drop=True)
    full = pd.MultiIndex.from_frame(pd.concat([repeated, tiled], axis=1))
    values = (frame.set_index(["_order", *keys, *unit])[metrics].reindex(full)
              .to_numpy(dtype=float).reshape(len(cells), len(units), len(metrics)))
    mean, sd, lo, hi = t_interval(values, axis=1)
    p05 = nan_percentile(values, 5, axis=1)
    p95 = nan_percentile(values, 95, axis=1)
    # the first scenario's cell with the same month, region and segment
    base = cells[cells["_order"] == 0][keys].assign(_base=lambda t: t.index)
    match = cells.merge(base, on=keys, how="left")["_base"].to_numpy(dtype=float)
    paired = (cells["_order"].to_numpy() > 0) & ~np.isnan(match)
    diff = np.full(values.shape, np.nan)
    diff[paired] = values[paired] - values[match[paired].astype(int)]
    dmean, _, dlo, dhi = t_interval(diff, axis=1)
    m = len(metrics)
    block = {"mean": mean, "sd": sd, "ci_low": lo, "ci_high": hi, "p05": p05, "p95": p95,
             "diff_mean": dmean, "diff_ci_low": dlo, "diff_ci_high": dhi}
    out = pd.DataFrame({
        "scenario": np.repeat(np.asarray(scenario_ids, dtype=object)[cells["_order"]], m),
        "region": np.repeat(cells["region"].to_numpy(dtype=object), m),
        "segment": np.repeat(cells["segment"].to_numpy(dtype=object), m),
        "metric": np.tile(np.asarray(metrics, dtype=object), len(cells)),
        "month": np.repeat(cells["month"].to_numpy(), m),
        **{k: v.reshape(-1) for k, v in block.items()},
        "note": "",
    })[list(SUMMARY_COLUMNS)]
    if rows_m.empty:
        return out
    # each m* row closes its (scenario, month, region, all) cell
    order = {sid: i for i, sid in enumerate(scenario_ids)}
    both = pd.concat([out, rows_m], ignore_index=True)
    rank = both["scenario"].map(order)
    both = both.assign(_rank=rank).sort_values(["_rank", "month", "region", "segment"],
                                               kind="stable")
    return both.drop(columns="_rank").reset_index(drop=True)


_TEXT = ("scenario", "region", "segment", "metric", "note")


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=float if c not in _TEXT else object)
                         for c in SUMMARY_COLUMNS})
