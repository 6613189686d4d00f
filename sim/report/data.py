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

__all__ = ["ReportData", "WORLD", "ALL"]

WORLD = "World"
ALL = "all"


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
        """The per-vendor table."""
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

    def vendor_shares(self) -> pd.DataFrame:
        """Mean share of adopters per scenario, region (and World), vendor and month."""
        if "vendor_shares" in self._cache:
            return self._cache["vendor_shares"]
        v = self.vendors[["scenario", "replication", "month", "region", "vendor", "adopters"]]
        world = v.groupby(["scenario", "replication", "month", "vendor"], sort=True,
                          observed=True)["adopters"].sum().reset_index()
        world["region"] = WORLD
        both = pd.concat([v, world[v.columns]], ignore_index=True)
        totals = both.groupby(["scenario", "replication", "month", "region"], sort=True,
                              observed=True)["adopters"].transform("sum")
        with np.errstate(invalid="ignore", divide="ignore"):
            both = both.assign(share=np.where(totals > 0, both["adopters"] / totals.where(
                totals > 0, 1.0), np.nan))
        out = both.groupby(["scenario", "region", "vendor", "month"], sort=True,
                           observed=True)["share"].mean()
        self._cache["vendor_shares"] = out
        return out

    @cached_property
    def vendor_order(self) -> list[str]:
        """Vendors in scenario order, then entrants in order of appearance."""
        known = list(self.results.scenarios[0].vendor_names)
        extra = [v for v in pd.unique(self.vendors["vendor"]) if v not in known]
        return [*known, *[str(v) for v in extra]]

    @cached_property
    def open_vendors(self) -> set[str]:
        """Vendors whose weights are open in most rows (labelled in the shares figure)."""
        frac = self.vendors.groupby("vendor", observed=True)["open"].mean()
        return {str(v) for v, f in frac.items() if f >= 0.5}

    def point_means(self, metrics: list[str], month: int | None = None) -> pd.DataFrame:
        """Mean over replications per design point and region, at one month.

        Segment ``all``; joined with the design's parameter values.
        """
        month = self.final_month if month is None else month
        m = self.market
        rows = m[(m["month"] == month) & (m["segment"] == ALL)]
        means = rows.groupby(["scenario", "region"], sort=True, observed=True)[metrics].mean()
        means = means.reset_index().rename(columns={"scenario": "point"})
        if self.design is not None:
            means = means.merge(self.design, on="point", how="left")
        return means
