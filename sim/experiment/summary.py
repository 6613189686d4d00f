"""Summaries with uncertainty: means, CIs, spreads and paired differences (common random numbers).

Replication i of every scenario used the same random streams, so the difference
between a scenario and the first one is estimated from per-replication *paired*
differences, whose variance excludes the luck both runs shared. CIs are
Student-t intervals of the mean (scipy.stats).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from sim.metric_names import MARKET_METRICS

__all__ = ["summarise", "SUMMARY_COLUMNS", "t_interval"]

SUMMARY_COLUMNS = ("scenario", "region", "segment", "metric", "month", "mean", "sd", "ci_low",
                   "ci_high", "p05", "p95", "diff_mean", "diff_ci_low", "diff_ci_high")


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
        market: Tidy market table of a run.
        scenario_ids: Scenario ids in run order; differences are against the first.
        month: Month(s) to summarise; default the final month.
        metrics: Metrics to include; default all.

    Returns:
        One row per scenario, region, segment, metric and month. ``diff_*`` are the
        paired difference vs the first scenario (NaN for the first).
    """
    metrics = list(metrics or MARKET_METRICS)
    months = [int(market["month"].max())] if month is None else (
        [month] if isinstance(month, int) else list(month))
    frame = market[market["month"].isin(months)]
    keys = ["month", "region", "segment"]
    reps = sorted(frame["replication"].unique())
    pieces = []
    base_values = None
    for i, sid in enumerate(scenario_ids):
        sub = frame[frame["scenario"] == sid].sort_values([*keys, "replication"])
        cells = sub[keys].drop_duplicates().reset_index(drop=True)
        n_cells = len(cells)
        values = sub[metrics].to_numpy(dtype=float).reshape(n_cells, len(reps), len(metrics))
        mean, sd, lo, hi = t_interval(values, axis=1)
        with _quiet():
            p05 = np.nanpercentile(values, 5, axis=1)
            p95 = np.nanpercentile(values, 95, axis=1)
        if i == 0:
            base_values = values
            dmean = dlo = dhi = np.full(mean.shape, np.nan)
        else:
            dmean, _, dlo, dhi = t_interval(values - base_values, axis=1)
        block = {"mean": mean, "sd": sd, "ci_low": lo, "ci_high": hi, "p05": p05, "p95": p95,
                 "diff_mean": dmean, "diff_ci_low": dlo, "diff_ci_high": dhi}
        long = pd.DataFrame({
            "scenario": sid,
            "region": np.repeat(cells["region"].to_numpy(), len(metrics)),
            "segment": np.repeat(cells["segment"].to_numpy(), len(metrics)),
            "metric": np.tile(metrics, n_cells),
            "month": np.repeat(cells["month"].to_numpy(), len(metrics)),
            **{k: v.reshape(-1) for k, v in block.items()},
        })
        pieces.append(long)
    out = pd.concat(pieces, ignore_index=True)
    return out[list(SUMMARY_COLUMNS)]
