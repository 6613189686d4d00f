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

__all__ = ["summarise", "SUMMARY_COLUMNS", "SPREAD_COLUMNS", "t_interval", "nan_percentile",
           "draw_spread"]

SUMMARY_COLUMNS = ("scenario", "region", "segment", "metric", "month", "mean", "sd", "ci_low",
                   "ci_high", "p05", "p95", "diff_mean", "diff_ci_low", "diff_ci_high",
                   *("draws", "sd_stochastic", "sd_parametric", "sd_structural", "diff_p05",
                     "diff_p50", "diff_p95", "diff_share_positive", "diff_share_negative"),
                   "note")
#: The columns that keep the kinds of spread apart (MODEL.md 9; :func:`draw_spread`).
SPREAD_COLUMNS = SUMMARY_COLUMNS[14:-1]


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
    labels = units["draw"].to_numpy() if "draw" in units else np.zeros(len(units), dtype=int)
    block = {"mean": mean, "sd": sd, "ci_low": lo, "ci_high": hi, "p05": p05, "p95": p95,
             "diff_mean": dmean, "diff_ci_low": dlo, "diff_ci_high": dhi,
             **draw_spread(values, diff, labels)}
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


def draw_spread(values: np.ndarray, diff: np.ndarray, draws: np.ndarray
                ) -> dict[str, np.ndarray]:
    """The stochastic, parametric and structural spread, and the paired effect over draws.

    ``values`` and ``diff`` are ``[cell, world, metric]``; ``draws`` labels each world with
    its posterior draw (sorted, so a draw's worlds are adjacent). A one-way random-effects
    decomposition (law of total variance) keeps the kinds apart:

    - ``sd_stochastic``: the pooled sd of worlds within a draw (the luck of one world; NaN
      when no draw has two replications);
    - ``sd_parametric``: the sd of the draw means with their own stochastic share removed,
      ``sqrt(max(var(draw means) - sd_stochastic**2 * mean(1 / n_draw), 0))`` (NaN with
      fewer than two draws);
    - ``sd_structural``: NaN here: one run has one set of structural rules; ``marketsim
      robustness`` runs the alternatives (MODEL.md 9);
    - ``diff_p05``, ``diff_p50``, ``diff_p95``, ``diff_share_positive``,
      ``diff_share_negative``: the paired effect averaged within each draw, then its 5th,
      50th and 95th percentile over draws and the share of draws where it is above and below
      zero (NaN with fewer than two draws: one parameter set says nothing of the others).

    Example:
        >>> values = np.array([[[1.0], [3.0], [5.0], [7.0]]])  # one cell, 4 worlds, 1 metric
        >>> out = draw_spread(values, values - 4.0, np.array([0, 0, 1, 1]))
        >>> float(out["sd_stochastic"][0, 0]), int(out["draws"][0, 0])
        (1.4142135623730951, 2)
        >>> float(out["diff_share_positive"][0, 0]), float(out["diff_p50"][0, 0])
        (0.5, 0.0)
    """
    starts = np.flatnonzero(np.r_[True, draws[1:] != draws[:-1]])
    shape = (values.shape[0], len(starts), values.shape[2])

    def per_draw(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ok = ~np.isnan(a)
        n = np.add.reduceat(ok, starts, axis=1)
        total = np.add.reduceat(np.where(ok, a, 0.0), starts, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return total / n, n

    means, n = per_draw(values)
    dmeans, _ = per_draw(diff)
    sizes = np.diff(np.r_[starts, len(draws)])
    centred = values - np.repeat(means, sizes, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"), _quiet():
        within = (np.nansum(centred ** 2, axis=1)
                  / np.sum(np.maximum(n - 1, 0), axis=1))  # pooled within-draw variance
        between = np.nanvar(means, axis=1, ddof=1)
        parametric = np.sqrt(np.maximum(between - np.nan_to_num(within)
                                        * np.nanmean(1.0 / n, axis=1), 0.0))
        finite = ~np.isnan(dmeans)
        count = finite.sum(axis=1)
        positive = np.sum(dmeans > 0, axis=1) / count
        negative = np.sum(dmeans < 0, axis=1) / count
    many = shape[1] >= 2
    nothing = np.full(shape[::2], np.nan)
    return {
        "draws": np.full(shape[::2], float(shape[1])),
        "sd_stochastic": np.sqrt(within),
        "sd_parametric": parametric if many else nothing,
        "sd_structural": nothing,
        **{f"diff_p{q:02d}": nan_percentile(dmeans, q, axis=1) if many else nothing
           for q in (5, 50, 95)},
        "diff_share_positive": np.where(count > 0, positive, np.nan) if many else nothing,
        "diff_share_negative": np.where(count > 0, negative, np.nan) if many else nothing,
    }


_TEXT = ("scenario", "region", "segment", "metric", "note")


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=float if c not in _TEXT else object)
                         for c in SUMMARY_COLUMNS})
