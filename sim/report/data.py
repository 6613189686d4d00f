"""What a report is built from: the results, the manifest, and a study's design or indices.

Everything here is read from a results folder (or an in-memory :class:`Results`) and is
deterministic, so rebuilding a report from the same folder gives the same file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from sim.experiment.results import Results

__all__ = ["ReportData", "WORLD", "ALL", "ENTRANTS"]

WORLD = "World"
ALL = "all"
#: The firm-share charts' one series for every entrant (entrants differ from world to world).
ENTRANTS = "Entrants (all)"


@dataclass
class ReportData:
    """A run (or sweep, or sensitivity study) as the report sees it.

    Attributes:
        results: The results.
        manifest: ``manifest.json`` of the folder, or None for an in-memory run.
        design: ``design.parquet`` of a sweep or sensitivity study (column ``point`` = id).
        sensitivity: ``sensitivity.csv`` of a sensitivity study.
    """

    results: Results
    manifest: dict[str, Any] | None = None
    design: pd.DataFrame | None = None
    sensitivity: pd.DataFrame | None = None
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_results(cls, results: Results) -> ReportData:
        """Collect what the report needs; reads the folder's extra files when there is one."""
        manifest = design = sens = None
        if results.folder is not None:
            root = Path(results.folder)
            if (root / "manifest.json").is_file():
                manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
            if (root / "design.parquet").is_file():
                design = pd.read_parquet(root / "design.parquet")
            if (root / "sensitivity.csv").is_file():
                sens = pd.read_csv(root / "sensitivity.csv")
        return cls(results, manifest, design, sens)

    @classmethod
    def from_folder(cls, folder: str | Path) -> ReportData:
        """Open a results folder."""
        from sim.experiment.results import Results

        return cls.from_results(Results.from_folder(folder))

    # ------------------------------------------------------------------ shape of the study

    @property
    def kind(self) -> str:
        """``run``, ``sweep`` or ``sensitivity``."""
        if self.sensitivity is not None:
            return "sensitivity"
        if self.design is not None and "point" in self.design.columns:
            return "sweep"
        return "run"

    @property
    def is_study(self) -> bool:
        """Whether the scenarios are design points (sweep or sensitivity) rather than cases."""
        return self.kind != "run"

    @property
    def ids(self) -> list[str]:
        """Scenario ids in run order."""
        return list(self.results.ids)

    @cached_property
    def labels(self) -> dict[str, str]:
        """Display label of each scenario id: its name, or the id when names repeat."""
        names = [s.scenario.name for s in self.results.scenarios]
        unique = len(set(names)) == len(names)
        return {sid: (name if unique else sid)
                for sid, name in zip(self.ids, names, strict=True)}

    @cached_property
    def regions(self) -> list[str]:
        """``World`` then the regions in scenario order (plus any others in the data)."""
        known = list(self.results.scenarios[0].region_names)
        seen = [r for r in pd.unique(self.market["region"]) if r != WORLD and r not in known]
        return [WORLD, *known, *sorted(str(r) for r in seen)]

    @cached_property
    def segments(self) -> list[str]:
        """``all`` then the segments in scenario order."""
        known = list(self.results.scenarios[0].segment_names)
        seen = [s for s in pd.unique(self.market["segment"]) if s != ALL and s not in known]
        return [ALL, *known, *sorted(str(s) for s in seen)]

    @cached_property
    def parameters(self) -> list[str]:
        """Varied parameter paths of a study (design columns other than ``point``)."""
        if self.design is None:
            return []
        return [c for c in self.design.columns if c != "point"]

    @property
    def market(self) -> pd.DataFrame:
        """The tidy market table."""
        return self.results.market

    @property
    def vendors(self) -> pd.DataFrame:
        """The firm table (``vendors``: one row per firm, region and ``World``)."""
        return self.results.vendors

    @property
    def events(self) -> pd.DataFrame:
        """The events table."""
        return self.results.events

    @cached_property
    def final_month(self) -> int:
        """The last month recorded."""
        return int(self.market["month"].max())

    @cached_property
    def dates(self) -> dict[int, str]:
        """Calendar month ('YYYY-MM') of each step."""
        pairs = self.market[["month", "date"]].drop_duplicates("month").sort_values("month")
        return {int(m): str(d) for m, d in zip(pairs["month"], pairs["date"], strict=True)}

    # ------------------------------------------------------------------ statistics

    def bands(self, metrics: list[str]) -> pd.DataFrame:
        """Mean and 5-95 % spread over time per group, region and segment.

        For a run the groups are the scenarios and the spread is across replications. For a
        study the mean over replications is taken per design point first, and the single
        group ``design points`` spreads across the points (parameter variation).

        Returns:
            Indexed by (group, region, segment, month); columns (metric, stat) with stat in
            mean, lo, hi.
        """
        key = "bands:" + ",".join(metrics)
        if key in self._cache:
            return self._cache[key]
        cells = ["scenario", "region", "segment", "month"]
        frame = self.market[[*cells, *metrics]]
        if self.is_study:
            frame = frame.groupby(cells, sort=True, observed=True)[metrics].mean().reset_index()
            frame["scenario"] = "design points"
        grouped = frame.groupby(cells, sort=True, observed=True)[metrics]
        out = pd.concat({"mean": grouped.mean(), "lo": grouped.quantile(0.05),
                         "hi": grouped.quantile(0.95)}, axis=1)
        out = out.swaplevel(0, 1, axis=1).sort_index(axis=1)
        self._cache[key] = out
        return out

    @property
    def groups(self) -> list[str]:
        """Groups of :meth:`bands`: scenario ids, or the single ``design points``."""
        return ["design points"] if self.is_study else self.ids

    def group_label(self, group: str) -> str:
        """Display label of a group of :meth:`bands`."""
        return self.labels.get(group, group)

    def firm_shares(self, measure: str = "revenue") -> pd.Series:
        """Mean share of the region's ``measure`` per scenario, region, firm and month.

        Read from the firm table (``vendors``), which has ``World`` rows of its own.
        ``measure`` is ``revenue`` (spend) or ``usage`` (tokens): adopter headcounts are
        not pooled across segments, so there is no firm share of users here.
        """
        key = f"firm_shares:{measure}"
        if key in self._cache:
            return self._cache[key]
        v = self.vendors[["scenario", "replication", "month", "region", "vendor", measure]]
        totals = v.groupby(["scenario", "replication", "month", "region"], sort=True,
                           observed=True)[measure].transform("sum")
        share = np.divide(v[measure].to_numpy(dtype=float), totals.to_numpy(dtype=float),
                          out=np.full(len(v), np.nan), where=totals.to_numpy() > 0)
        # An entrant's name is its world's ("Entrant#3-EU" in one world is not the firm of
        # that name in another), so entrants are one firm here: their shares add up in
        # each world before the mean over worlds.
        firm = v["vendor"].astype(str)
        firm = firm.where(firm.isin(self.known_firms), ENTRANTS)
        per_world = (v.assign(share=share, vendor=firm)
                     .groupby(["scenario", "replication", "region", "vendor", "month"],
                              sort=True, observed=True)["share"].sum(min_count=1)
                     .reset_index())
        out = _mean_over_replications(per_world, ["scenario", "region", "vendor", "month"])
        self._cache[key] = out
        return out

    @cached_property
    def known_firms(self) -> list[str]:
        """The scenarios' own firms, in order; any other name is an entrant's (per world)."""
        return list(self.results.scenarios[0].vendor_names)

    @cached_property
    def vendor_order(self) -> list[str]:
        """Firms in scenario order, then entrants in order of appearance."""
        known = self.known_firms
        extra = [v for v in pd.unique(self.vendors["vendor"]) if v not in known]
        return [*known, *[str(v) for v in extra]]

    @cached_property
    def open_vendors(self) -> set[str]:
        """Firms whose product lines are all open in most product rows (hatched in charts)."""
        products = self.products
        if products is None or products.empty:
            return set()
        frac = (products["openness"] == "open").groupby(products["vendor"], observed=True).mean()
        return {str(v) for v, f in frac.items() if f >= 0.5}

    @cached_property
    def products(self) -> pd.DataFrame | None:
        """The product-line table, or None when the results have none."""
        try:
            table = self.results.products
        except (AttributeError, RuntimeError, KeyError, FileNotFoundError):
            table = None
        if table is None and self.results.folder is not None:
            path = Path(self.results.folder) / "products.parquet"
            table = pd.read_parquet(path) if path.is_file() else None
        return table

    @cached_property
    def relevant_measure(self) -> dict[str, str]:
        """Each segment's relevant-market measure (``revenue``, ``usage`` or ``users``)."""
        return {s.name: getattr(s, "relevant_market", "usage")
                for s in self.results.scenarios[0].segments}

    def line_shares(self) -> pd.Series:
        """Mean share of each product line in its (region, segment) relevant market.

        The share is of the segment's relevant measure (enterprise revenue, developer usage,
        consumer users: the measure of ``hhi_market``), with ``World`` rows pooling regions.

        Returns:
            Indexed by (scenario, region, segment, vendor, product, openness, month).
        """
        if "line_shares" in self._cache:
            return self._cache["line_shares"]
        p = self.products
        if p is None or p.empty:
            out = pd.Series(dtype=float)
            self._cache["line_shares"] = out
            return out
        keys = ["scenario", "replication", "month", "segment", "vendor", "product"]
        p = p.assign(value=_relevant(p, self.relevant_measure))
        world = p.groupby(keys, sort=True, observed=True).agg(
            value=("value", "sum"), openness=("openness", "first")).reset_index()
        world["region"] = WORLD
        both = pd.concat([p[[*keys, "region", "openness", "value"]], world], ignore_index=True)
        totals = both.groupby(["scenario", "replication", "month", "region", "segment"],
                              sort=True, observed=True)["value"].transform("sum")
        share = np.divide(both["value"].to_numpy(dtype=float), totals.to_numpy(dtype=float),
                          out=np.full(len(both), np.nan), where=totals.to_numpy() > 0)
        out = _mean_over_replications(
            both.assign(share=share),
            ["scenario", "region", "segment", "vendor", "product", "openness", "month"])
        self._cache["line_shares"] = out
        return out

    @cached_property
    def mixed_firms(self) -> list[str]:
        """Firms that own open and closed lines at once somewhere in the results."""
        p = self.products
        if p is None or p.empty:
            return []
        kinds = p.groupby("vendor", observed=True)["openness"].nunique()
        return [v for v in self.vendor_order if kinds.get(v, 0) > 1]

    # ------------------------------------------------------------------ default view

    @cached_property
    def default_region(self) -> str:
        """Region the report opens on: where the compared scenario's own policies act.

        The first policy of the first non-reference scenario that the reference does not
        have (scenarios inherit the baseline's history, so its first policy is history);
        ``World`` for a single scenario, a study, or a policy without one region.
        """
        if self.is_study or len(self.ids) < 2:
            return WORLD
        from sim.experiment.keyfigures import policy_region

        first = self.results.scenarios[0]
        for scenario in self.results.scenarios[1:]:
            region = policy_region(first, scenario, self.regions)
            if region != WORLD:
                return region
        return WORLD

    @cached_property
    def default_segment(self) -> str:
        """Segment the report opens on: ``enterprise`` when there is one (a relevant market)."""
        named = [s for s in self.segments if s != ALL]
        if "enterprise" in named:
            return "enterprise"
        return named[0] if named else ALL

    @property
    def default_choice(self) -> dict[str, str]:
        """The toolbar's initial choice."""
        return {"region": self.default_region, "segment": self.default_segment}

    def point_means(self, metrics: list[str], month: int | None = None) -> pd.DataFrame:
        """Mean over replications per design point, region and segment, at one month.

        Joined with the design's parameter values.
        """
        month = self.final_month if month is None else month
        m = self.market
        rows = m[m["month"] == month]
        means = rows.groupby(["scenario", "region", "segment"], sort=True,
                             observed=True)[metrics].mean()
        means = means.reset_index().rename(columns={"scenario": "point"})
        if self.design is not None:
            means = means.merge(self.design, on="point", how="left")
        return means


def _relevant(products: pd.DataFrame, measure: dict[str, str]) -> np.ndarray:
    """Each product row's value in its segment's relevant measure."""
    values = np.full(len(products), np.nan)
    segment = products["segment"].to_numpy()
    for name, column in measure.items():
        pick = segment == name
        if column in products.columns:
            values[pick] = products[column].to_numpy(dtype=float)[pick]
    return values


def _mean_over_replications(frame: pd.DataFrame, keys: list[str]) -> pd.Series:
    """Mean ``share`` over a scenario's replications, a missing row counting as zero.

    An entrant has rows only in the worlds it entered; averaging over those alone would
    overstate its share and make a region's shares sum to more than one.
    """
    reps = frame.groupby("scenario", observed=True)["replication"].nunique()
    total = frame.groupby(keys, sort=True, observed=True)["share"].sum(min_count=1)
    count = reps.reindex(total.index.get_level_values("scenario")).to_numpy(dtype=float)
    return total / count
