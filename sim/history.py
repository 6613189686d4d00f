"""Recording: metrics declared up front and filled by index, tidy tables at the end."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim import demand
from sim.metric_names import MARKET_METRICS, VENDOR_COLUMNS
from sim.metrics import MonthInputs, compute_metrics
from sim.scenario.months import date_of

if TYPE_CHECKING:
    from sim.finance import Books
    from sim.model import MarketModel

__all__ = ["History", "EVENT_COLUMNS"]

EVENT_COLUMNS = ("month", "region", "vendor", "kind", "detail")


class History:
    """Preallocated metric arrays for every month of a run, and per-vendor snapshots."""

    def __init__(self, model: MarketModel):
        n_t = model.horizon + 1
        self.n_regions = len(model.regions)
        self.n_segments = len(model.segments)
        self.market = np.full((n_t, self.n_regions + 1, self.n_segments + 1,
                               len(MARKET_METRICS)), np.nan)
        self.vendor_rows: list[np.ndarray] = []  # per month: [vendor, region, column]
        self.months_recorded = 0
        self.bind(model)

    def record(self, model: MarketModel, flows: dict[str, np.ndarray],
               books: Books | None) -> None:
        """Record the current month."""
        month = model.month
        vt = model.vendors
        pooled = model.counts.sum(axis=2)
        # welfare of the choice set adopters faced this month (month 0: the initial one)
        weights, shift = model._choice_weights if month > 0 else model._weights(month)
        values = demand.inclusive_value(weights, shift)  # [R, S, G]
        welfare = (values * model.group_fractions[:, None, :]).sum(axis=-1) \
            / model.tastes.alpha[None, :]
        inputs = MonthInputs(
            counts=pooled,
            potential=model.potential,
            tokens=model._tokens(month),
            price=vt.view("price"),
            hosted=vt.view("hosted"),
            is_open=vt.view("is_open"),
            capability=vt.view("capability"),
            alive=vt.view("alive"),
            reachable=model.rules.available.any(axis=1),
            welfare=welfare,
            region_flows=flows,
            closed_history=model._closed_history,
            month=month,
            reference_capability=model.world.reference_capability,
            cost_per_point=model.world.serving_cost_per_point,
            points_per_month=model.world.frontier_points_per_month,
        )
        self.market[month] = compute_metrics(inputs)
        self.vendor_rows.append(self._vendor_snapshot(model, pooled, books))
        self.months_recorded = month + 1

    def _vendor_snapshot(self, model: MarketModel, pooled: np.ndarray,
                         books: Books | None) -> np.ndarray:
        vt = model.vendors
        n_k = vt.count
        adopters = pooled[..., 1:].sum(axis=1).T  # [vendor, region]
        inside = adopters.sum(axis=0, keepdims=True)
        share = np.divide(adopters, inside, out=np.full(adopters.shape, np.nan),
                          where=inside > 0)
        usage = (pooled[..., 1:] * model._tokens(model.month)[None, :, None]).sum(axis=1).T
        revenue = books.revenue.T if books is not None else usage * (
            vt.view("hosted") * vt.view("price"))[:, None]
        columns = {
            "share": share,
            "adopters": adopters,
            "usage": usage,
            "revenue": revenue,
            "price": vt.view("price")[:, None],
            "capability": vt.view("capability")[:, None],
            "cash": vt.view("cash")[:, None],
            "open": vt.view("is_open")[:, None],
            "served": vt.view("served"),
            "available": model.rules.available.any(axis=1).T,
            "alive": vt.view("alive")[:, None],
        }
        snap = np.empty((n_k, self.n_regions, len(VENDOR_COLUMNS)))
        for i, name in enumerate(VENDOR_COLUMNS):
            snap[:, :, i] = np.broadcast_to(columns[name], (n_k, self.n_regions))
        return snap

    def market_frame(self, first: int, last: int) -> pd.DataFrame:
        """Market metrics of months ``first..last`` as a tidy DataFrame."""
        return _market_frame(self.market[first: last + 1], first, self._regions, self._segments,
                             self._start)

    def bind(self, model: MarketModel) -> None:
        """Remember labels (regions, segments, start month)."""
        self._regions = [*model.regions, "World"]
        self._segments = [*model.segments, "all"]
        self._start = model.scenario.scenario.start

    def frames(self, model: MarketModel, scenario_id: str, replication: int
               ) -> dict[str, pd.DataFrame]:
        """Tidy ``market``, ``vendors`` and ``events`` tables."""
        market = self.market_frame(0, model.month)
        market.insert(0, "replication", replication)
        market.insert(0, "scenario", scenario_id)
        vendors = self._vendor_frame(model)
        vendors.insert(0, "replication", replication)
        vendors.insert(0, "scenario", scenario_id)
        events = pd.DataFrame(model.events, columns=list(EVENT_COLUMNS))
        events.insert(1, "date", [date_of(m, self._start) for m in events["month"]])
        events.insert(0, "replication", replication)
        events.insert(0, "scenario", scenario_id)
        events = events.astype({"vendor": "string", "region": "string", "kind": "string",
                                "detail": "string", "scenario": "string", "date": "string"})
        events["month"] = events["month"].astype("int64")
        events["replication"] = events["replication"].astype("int64")
        return {"market": market, "vendors": vendors, "events": events}

    def _vendor_frame(self, model: MarketModel) -> pd.DataFrame:
        names = np.array(model.vendors.names, dtype=object)
        regions = np.array(model.regions, dtype=object)
        snaps = self.vendor_rows[: model.month + 1]
        sizes = [snap.shape[0] * snap.shape[1] for snap in snaps]
        values = np.concatenate([snap.reshape(-1, snap.shape[-1]) for snap in snaps])
        month = np.repeat(np.arange(len(snaps)), sizes)
        vendor = np.concatenate([np.repeat(names[: snap.shape[0]], snap.shape[1])
                                 for snap in snaps])
        region = np.concatenate([np.tile(regions, snap.shape[0]) for snap in snaps])
        columns: dict[str, object] = {
            "month": month,
            "date": pd.array(_dates(self._start, len(snaps))[month], dtype="string"),
            "region": pd.array(region, dtype="string"),
            "vendor": pd.array(vendor, dtype="string"),
        }
        for i, name in enumerate(VENDOR_COLUMNS):
            column = values[:, i]
            columns[name] = column.astype(bool) if name in ("open", "served", "available",
                                                            "alive") else column
        return pd.DataFrame(columns)


def _dates(start: str, n: int) -> np.ndarray:
    """Calendar months of steps ``0..n-1`` as an array of strings."""
    return np.array([date_of(m, start) for m in range(n)], dtype=object)


def _market_frame(values: np.ndarray, first: int, regions: list[str], segments: list[str],
                  start: str) -> pd.DataFrame:
    n_t, n_r, n_s, _ = values.shape
    months = np.arange(first, first + n_t)
    frame = pd.DataFrame(values.reshape(n_t * n_r * n_s, -1), columns=list(MARKET_METRICS))
    frame.insert(0, "segment", pd.array(np.tile(segments, n_t * n_r), dtype="string"))
    frame.insert(0, "region", pd.array(np.tile(np.repeat(regions, n_s), n_t), dtype="string"))
    frame.insert(0, "date", pd.array(_dates(start, first + n_t)[np.repeat(months, n_r * n_s)],
                                     dtype="string"))
    frame.insert(0, "month", np.repeat(months, n_r * n_s))
    return frame

