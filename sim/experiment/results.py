"""Results of a run: tidy tables (market, firms, products, events) and their summary."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from sim.errors import ScenarioError
from sim.experiment.breakeven import BREAK_EVEN_INPUTS, BREAK_EVEN_METRICS
from sim.experiment.store import ResultsFolder, atomic_writer, scenario_hash, shown
from sim.experiment.summary import summarise
from sim.metric_names import MARKET_METRICS
from sim.replication import DEFAULT_ENGINE
from sim.scenario.schema import Scenario

__all__ = ["Results"]


class Results:
    """Market, firm, product and event tables of one run, with summaries.

    Attributes:
        ids: Scenario ids in run order (differences are against the first).
        scenarios: The resolved scenarios, in the same order.
        seed: Root seed; replication i of every scenario used the same streams.
        replications: Worlds per scenario (with a posterior: draws x replications per draw).
        engine: The demand engine (``exact`` or ``expected``).
        folder: The results folder, when the run wrote one.

    Example:
        >>> import sim
        >>> res = sim.run(["baseline", "eu_blocks_open"], replications=3, seed=1, months=6, jobs=1)
        >>> table = res.summary()
        >>> list(table.columns[:5])
        ['scenario', 'region', 'segment', 'metric', 'month']
    """

    def __init__(self, market: pd.DataFrame | None, vendors: pd.DataFrame | None,
                 events: pd.DataFrame | None, products: pd.DataFrame | None = None, *,
                 ids: list[str], scenarios: list[Scenario], seed: int, replications: int,
                 run_seconds: float | None = None, folder: Path | None = None,
                 engine: str = DEFAULT_ENGINE, posterior: dict[str, Any] | None = None):
        self._tables: dict[str, pd.DataFrame | None] = {"market": market, "vendors": vendors,
                                                        "products": products,
                                                        "events": events}
        self.ids = list(ids)
        self.scenarios = list(scenarios)
        self.seed = seed
        self.replications = replications
        self.run_seconds = run_seconds
        self.folder = folder
        self.engine = engine
        #: The posterior ensemble's record (name, draws, replications per draw, kept paths),
        #: or None when the run used the scenarios' own values.
        self.posterior = posterior

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
        folder = ResultsFolder(root)
        where = shown(folder.root)
        if not folder.root.is_dir():
            raise ScenarioError(f"{where}: no such results folder" if not
                                os.path.lexists(folder.root) else
                                f"{where}: not a folder, so not a marketsim results folder")
        manifest = folder.read_manifest()
        if manifest is None:
            raise ScenarioError(f"{where}: not a marketsim results folder (no manifest.json)")
        if manifest["kind"] == "ensemble":
            raise ScenarioError(f"{where}: an ensemble folder: per-world values in shards/ and "
                                "summary.csv, not the monthly tables of a run that a report "
                                "draws (read it with sim.Ensemble)")
        if manifest["kind"] != "run":
            raise ScenarioError(f"{where}: a {manifest['kind']} folder, not the results of a "
                                "run (its report is written when it finishes)")
        ids = known.get("ids") or [s["id"] for s in manifest["scenarios"]]
        scenarios = known.get("scenarios") or [
            _saved_scenario(folder, entry) for entry in manifest["scenarios"]]
        return cls(None, None, None, None, ids=ids, scenarios=scenarios,
                   seed=known.get("seed", manifest["seed"]),
                   replications=known.get("replications", manifest["replications"]),
                   run_seconds=manifest.get("run_seconds"), folder=folder.root,
                   engine=known.get("engine", manifest["engine"]),
                   posterior=manifest.get("posterior"))

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
        """Tidy metrics: scenario, draw, replication, month, date, region, segment, <metrics>.

        One row per scenario, draw, replication, month (0 to the horizon), region and
        segment; region ``World`` and segment ``all`` rows aggregate the others (money and
        tokens only: ``hhi_market`` and headcount metrics are NaN for ``all``).

        Example:
            >>> import sim
            >>> res = sim.run("baseline", replications=2, seed=1, months=6, jobs=1)
            >>> list(res.market.columns[:7])
            ['scenario', 'draw', 'replication', 'month', 'date', 'region', 'segment']
            >>> row = res.market.query("month == 6 and region == 'EU' and segment == 'enterprise'")
            >>> len(row), bool(0 < row["hhi_market"].iloc[0] <= 10_000)
            (2, True)
        """
        return self._table("market")

    @property
    def vendors(self) -> pd.DataFrame:
        """Per firm and region: revenue, usage, users, cash, capability, alive, raised, rd_spend.

        Columns: scenario, draw, replication, month, date, region (and ``World``), vendor
        (the firm), revenue, usage, users, cash (``World`` rows only), capability, alive,
        raised (venture rounds this month, ``World`` rows only), rd_spend (R&D this month,
        ``World`` rows only).

        Example:
            >>> import sim
            >>> res = sim.run("baseline", replications=2, seed=1, months=6, jobs=1)
            >>> "Meta" in set(res.vendors["vendor"]), "revenue" in res.vendors.columns
            (True, True)
        """
        return self._table("vendors")

    @property
    def products(self) -> pd.DataFrame:
        """Per product line, region and segment: users, usage, revenue, price, share.

        Columns: scenario, draw, replication, month, date, region, segment, vendor (the
        firm that owns the line), product, openness, users, usage, revenue, price, share.

        Example:
            >>> import sim
            >>> res = sim.run("baseline", replications=2, seed=1, months=6, jobs=1)
            >>> row = res.products.query("month == 6 and product == 'Llama'").iloc[0]
            >>> row["vendor"], row["openness"]
            ('Meta', 'open')
        """
        return self._table("products")

    @property
    def events(self) -> pd.DataFrame:
        """Events: what happened, to which firm or product line, where and when.

        Columns: scenario, draw, replication, month, date, region, vendor, product, kind,
        detail. Kinds: policy_on, policy_off, launch, withdrawal, reentry, entry, exit, acquisition,
        merger, openness_change, funding_round.

        Example:
            >>> import sim
            >>> res = sim.run("eu_blocks_open", replications=2, seed=1, months=12, jobs=1)
            >>> list(res.events.columns)  # doctest: +NORMALIZE_WHITESPACE
            ['scenario', 'draw', 'replication', 'month', 'date', 'region', 'vendor', 'product',
             'kind', 'detail']
        """
        return self._table("events")

    def summary(self, month: int | list[int] | None = None,
                metrics: list[str] | None = None) -> pd.DataFrame:
        """Per scenario, region, segment and metric: mean, sd, CI, spread and paired difference.

        Mean, sd, 95 % CI of the mean, 5-95 % spread, and the paired difference vs the
        first scenario with its 95 % CI (pairs are the same draw and replication).

        Args:
            month: Month or months (default: the final month).
            metrics: Metrics to include (default: every metric of
                :data:`sim.metric_names.MARKET_METRICS`).

        Returns:
            Columns ``scenario, region, segment, metric, month, mean, sd, ci_low, ci_high,
            p05, p95, diff_mean, diff_ci_low, diff_ci_high, note``; the ``diff_*`` columns
            are the paired difference from the first scenario (common random numbers), NaN
            for the first scenario itself. Every scenario after the first also has a row
            ``break_even_misuse_premium`` per region (segment ``all``): ``mean`` is the
            median over paired runs of the misuse premium at which the policy's net-welfare
            effect is zero, ``p05``/``p95`` its 5-95 % range, and ``note`` says in how many
            pairs it exists in [0, 100] and why not in the others
            (``sim.experiment.breakeven``); and a row ``break_even_hazard_multiple``, the
            multiple of the run's hazard scale at which the effect is zero.

        Example:
            >>> import sim
            >>> res = sim.run(["baseline", "eu_blocks_open"], replications=2, seed=1, months=6,
            ...               jobs=1)
            >>> table = res.summary(metrics=["hhi_market"])
            >>> eu = table[(table["region"] == "EU") & (table["segment"] == "enterprise")]
            >>> eu[["scenario", "metric", "month"]].values.tolist()
            [['baseline', 'hhi_market', 6], ['eu_blocks_open', 'hhi_market', 6]]
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
        wanted = list(metrics or MARKET_METRICS)
        if set(BREAK_EVEN_METRICS) & set(wanted):  # m*, k* come from their inputs, not stored
            wanted = [m for m in wanted if m not in BREAK_EVEN_METRICS] + [
                m for m in BREAK_EVEN_INPUTS if m not in wanted]
        columns = ["scenario", "draw", "replication", "month", "region", "segment", *wanted]
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
            metric: A market metric (``hhi_market``, ``open_usage_share``, ``price_paid``,
                ...) or one of the report's other figures (see :mod:`sim.report`).
            region: Region shown first, or ``World``.
            segment: Segment, or ``all``.
            **options: Passed to the figure builder (e.g. ``events=False``).

        Raises:
            ScenarioError: Unknown metric, region or segment (with a suggestion).

        Example:
            >>> import sim
            >>> res = sim.run(["baseline", "eu_blocks_open"], replications=2, months=6, jobs=1)
            >>> fig = res.figure("hhi_market", region="EU", segment="enterprise")
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
        engine = "" if self.engine == DEFAULT_ENGINE else f", {self.engine} engine"
        if self.posterior:
            post = self.posterior
            return (f"Results({', '.join(self.ids)}; posterior {post['name']}: {post['draws']} "
                    f"draws x {post['replications_per_draw']} replications, seed "
                    f"{self.seed}{engine})")
        return (f"Results({', '.join(self.ids)}; {self.replications} replications, "
                f"seed {self.seed}{engine})")


def _saved_scenario(folder: ResultsFolder, entry: dict[str, Any]) -> Scenario:
    """``scenarios/<id>.toml`` of a results folder, as the run saved it.

    The file must be a regular file inside the folder (a link is not followed) with the
    hash the manifest recorded, so what is read is what was run; it is validated as data
    (a resolved scenario has no ``extends`` to follow).
    """
    import tomllib

    from sim.experiment.store import is_regular_file
    from sim.scenario.loader import validate_data

    path = folder.scenario_path(entry["id"])
    where = shown(path)
    if not is_regular_file(path):
        raise ScenarioError(f"{where}: missing (or not a regular file) in the results folder")
    try:
        size = path.stat().st_size
        if size > 5_000_000:
            raise ScenarioError(f"{where}: larger than any scenario marketsim writes")
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{where}: unreadable ({shown(exc)})") from None
    if scenario_hash(text) != entry["sha256"]:
        raise ScenarioError(f"{where}: changed since the run (its SHA-256 differs from the "
                            "manifest's)")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{where}: not valid TOML ({shown(exc)})") from None
    return validate_data(data, file=str(path), quiet=True)  # warned about when it ran
