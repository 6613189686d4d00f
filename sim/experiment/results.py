"""Results of a run: tidy tables and their summary with uncertainty."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from sim.experiment.store import ResultsFolder, atomic_writer
from sim.experiment.summary import summarise
from sim.metric_names import MARKET_METRICS
from sim.scenario.schema import Scenario

__all__ = ["Results"]


class Results:
    """Market, vendor and event tables of one run, with summaries.

    Attributes:
        ids: Scenario ids in run order (differences are against the first).
        scenarios: The resolved scenarios, in the same order.
        seed: Root seed; replication i of every scenario used the same streams.
        replications: Replications per scenario.
        folder: The results folder, when the run wrote one.

    Example:
        >>> import sim
        >>> res = sim.run(["baseline", "eu_blocks_open"], replications=3, seed=1, months=6, jobs=1)
        >>> table = res.summary()
        >>> list(table.columns[:5])
        ['scenario', 'region', 'segment', 'metric', 'month']
    """

    def __init__(self, market: pd.DataFrame | None, vendors: pd.DataFrame | None,
                 events: pd.DataFrame | None, *, ids: list[str], scenarios: list[Scenario],
                 seed: int, replications: int, run_seconds: float | None = None,
                 folder: Path | None = None):
        self._tables: dict[str, pd.DataFrame | None] = {"market": market, "vendors": vendors,
                                                        "events": events}
        self.ids = list(ids)
        self.scenarios = list(scenarios)
        self.seed = seed
        self.replications = replications
        self.run_seconds = run_seconds
        self.folder = folder

    @classmethod
    def from_folder(cls, root: str | Path, **known: Any) -> Results:
        """Open a results folder written by :func:`sim.run` or ``marketsim run``.

        Tables are read from the folder when first used.

        Example:
            >>> import sim, tempfile
            >>> folder = tempfile.mkdtemp() + "/run"
            >>> _ = sim.run("baseline", replications=2, months=6, jobs=1, out=folder)
            >>> sim.Results.from_folder(folder)
            Results(baseline; 2 replications, seed 0)
        """
        from sim.scenario.loader import load_scenario

        folder = ResultsFolder(root)
        manifest = folder.read_manifest() or {}
        ids = known.get("ids") or [s["id"] for s in manifest.get("scenarios", [])]
        scenarios = known.get("scenarios") or [
            load_scenario(folder.root / "scenarios" / f"{sid}.toml") for sid in ids]
        return cls(None, None, None, ids=ids, scenarios=scenarios,
                   seed=known.get("seed", manifest.get("seed", 0)),
                   replications=known.get("replications", manifest.get("replications", 0)),
                   run_seconds=manifest.get("run_seconds"), folder=folder.root)

    def _table(self, name: str) -> pd.DataFrame:
        table = self._tables[name]
        if table is None:
            if self.folder is None:
                raise RuntimeError(f"no {name} table")
            table = ResultsFolder(self.folder).read(name)
            self._tables[name] = table
        return table

    @property
    def market(self) -> pd.DataFrame:
        """Tidy metrics: scenario, replication, month, date, region, segment, <metrics>.

        One row per scenario, replication, month (0 to the horizon), region and segment;
        region ``World`` and segment ``all`` rows aggregate the others.

        Example:
            >>> import sim
            >>> res = sim.run("baseline", replications=2, seed=1, months=6, jobs=1)
            >>> list(res.market.columns[:6])
            ['scenario', 'replication', 'month', 'date', 'region', 'segment']
            >>> row = res.market.query("month == 6 and region == 'EU' and segment == 'all'")
            >>> len(row), bool(0 < row["hhi"].iloc[0] <= 10_000)
            (2, True)
        """
        return self._table("market")

    @property
    def vendors(self) -> pd.DataFrame:
        """Per vendor and region: scenario, replication, month, date, region, vendor, ...

        Example:
            >>> import sim
            >>> res = sim.run("baseline", replications=2, seed=1, months=6, jobs=1)
            >>> "Meta" in set(res.vendors["vendor"]), "share" in res.vendors.columns
            (True, True)
        """
        return self._table("vendors")

    @property
    def events(self) -> pd.DataFrame:
        """Events: scenario, replication, month, date, region, vendor, kind, detail.

        Policy switches, withdrawals, re-entries, entries, exits, mergers, triggers.

        Example:
            >>> import sim
            >>> res = sim.run("eu_blocks_open", replications=2, seed=1, months=12, jobs=1)
            >>> list(res.events.columns)
            ['scenario', 'replication', 'month', 'date', 'region', 'vendor', 'kind', 'detail']
        """
        return self._table("events")

    def summary(self, month: int | list[int] | None = None,
                metrics: list[str] | None = None) -> pd.DataFrame:
        """Per scenario, region, segment and metric: mean, sd, CI, spread and paired difference.

        Mean, sd, 95 % CI of the mean, 5-95 % spread, and the paired difference vs the
        first scenario with its 95 % CI.

        Args:
            month: Month or months (default: the final month).
            metrics: Metrics to include (default: all).

        Returns:
            Columns ``scenario, region, segment, metric, month, mean, sd, ci_low, ci_high,
            p05, p95, diff_mean, diff_ci_low, diff_ci_high``; the ``diff_*`` columns are
            the paired difference from the first scenario (common random numbers), NaN for
            the first scenario itself.

        Example:
            >>> import sim
            >>> res = sim.run(["baseline", "eu_blocks_open"], replications=2, seed=1, months=6,
            ...               jobs=1)
            >>> table = res.summary(metrics=["hhi"])
            >>> eu = table[(table["region"] == "EU") & (table["segment"] == "all")]
            >>> eu[["scenario", "metric", "month"]].values.tolist()
            [['baseline', 'hhi', 6], ['eu_blocks_open', 'hhi', 6]]
            >>> bool(eu["diff_mean"].isna().iloc[0])  # no difference for the reference
            True
        """
        return summarise(self._market_for(month, metrics), self.ids, month=month,
                         metrics=metrics)

    def final_month(self) -> int:
        """The last month of the run (the latest of the scenarios' horizons).

        Example:
            >>> import sim
            >>> sim.run("baseline", replications=2, months=6, jobs=1).final_month()
            6
        """
        if self._tables["market"] is None and self.folder is not None:
            return max(ResultsFolder(self.folder).final_months().values())
        return int(self.market["month"].max())

    def _market_for(self, month: int | list[int] | None, metrics: list[str] | None
                    ) -> pd.DataFrame:
        """The market table, or only the months and columns a summary needs.

        Read from the folder when the table is not loaded, so a large sweep's table never
        has to fit in memory.
        """
        if self._tables["market"] is not None or self.folder is None:
            return self.market
        folder = ResultsFolder(self.folder)
        if month is None:
            months = sorted(set(folder.final_months().values()))
        else:
            months = [int(month)] if isinstance(month, int) else [int(m) for m in month]
        columns = ["scenario", "replication", "month", "region", "segment",
                   *(metrics or MARKET_METRICS)]
        return folder.read_months("market", months, columns)

    def write_summary(self, block: int = 100) -> Path:
        """Write ``summary.csv`` (final month) into the results folder.

        Scenarios are summarised ``block`` at a time and appended, so a sweep of many
        points never holds its whole summary in memory; the file is the same.
        :func:`sim.run` calls it when it writes a folder.

        Example:
            >>> import sim, tempfile
            >>> folder = tempfile.mkdtemp() + "/run"
            >>> res = sim.run("baseline", replications=2, months=6, jobs=1, out=folder)
            >>> res.write_summary().name
            'summary.csv'
        """
        if self.folder is None:
            raise RuntimeError("these results have no folder; use summary().to_csv(path)")
        path = Path(self.folder) / "summary.csv"
        market = self._market_for(None, None)
        base, rest = self.ids[:1], self.ids[1:]
        with atomic_writer(path) as handle:
            for start in range(0, max(len(rest), 1), block):
                ids = rest[start:start + block]
                table = summarise(market[market["scenario"].isin([*base, *ids])],
                                  [*base, *ids])
                if start:
                    table = table[table["scenario"] != base[0]]
                table.to_csv(handle, index=False, header=start == 0, float_format="%.10g")
        return path

    def figure(self, metric: str, region: str = "World", segment: str = "all",
               **options: Any) -> Any:
        """A report figure (plotly ``Figure``) with a region dropdown.

        Args:
            metric: A market metric (``hhi``, ``open_share``, ``price_mean``, ...) or
                ``capability``, ``contributors``, ``vendor_shares``.
            region: Region shown first, or ``World``.
            segment: Segment, or ``all``.
            **options: Passed to the figure builder (e.g. ``events=False``).

        Raises:
            ScenarioError: Unknown metric, region or segment (with a suggestion).

        Example:
            >>> import sim
            >>> res = sim.run(["baseline", "eu_blocks_open"], replications=2, months=6, jobs=1)
            >>> fig = res.figure("hhi", region="EU")
            >>> type(fig).__name__
            'Figure'
            >>> fig.show()  # doctest: +SKIP
        """
        from sim.report import figure

        return figure(self, metric, region=region, segment=segment, **options)

    def to_html(self, path: str | Path) -> Path:
        """Write the HTML report of these results to ``path`` (one self-contained file).

        Example:
            >>> import sim, tempfile
            >>> res = sim.run(["baseline", "eu_blocks_open"], replications=2, months=6, jobs=1)
            >>> res.to_html(tempfile.mkdtemp() + "/report.html").name
            'report.html'
        """
        from sim.report import to_html

        return to_html(self, path)

    def __repr__(self) -> str:
        return (f"Results({', '.join(self.ids)}; {self.replications} replications, "
                f"seed {self.seed})")
