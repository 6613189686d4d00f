"""Outputs declared up front (STYLE.md 7): preallocated arrays filled month by month.

``market[W, T, R + 1, S + 1, M]`` holds every metric of :mod:`sim.engine.metrics`;
``firms[W, T, R + 1, F, ...]`` and ``products[W, T, R, S, K, ...]`` hold the firm and
product-line records. Tidy pandas tables are built only when asked for (:meth:`Recorder.
frames`), so a batch that streams only some metrics never builds them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.engine.market import MarketFlows
from sim.engine.metrics import INDEX, METRICS
from sim.engine.names import firm_name, product_name
from sim.engine.observe import MonthExtras, observe
from sim.engine.params import Params
from sim.engine.state import State
from sim.mechanisms.concentration import firm_totals
from sim.mechanisms.funding import cents_to_usd

__all__ = ["Recorder", "FIRM_FIELDS", "PRODUCT_FIELDS"]

FIRM_FIELDS = ("revenue", "usage", "users", "cash", "capability", "alive", "raised", "rd_spend")
PRODUCT_FIELDS = ("users", "usage", "revenue", "price")


class Recorder:
    """Month-by-month records of a batch.

    Args:
        params: Compiled parameters.
        state: The state at step 0 (sizes).
        keep_months: None records everything (the tidy tables of a run). A sequence of
            steps keeps only the market metrics of those months (``market[W, len(keep),
            ...]``, in that order) and no firm or product records: what an ensemble streams
            (``sim.experiment.ensemble``), at a fraction of the memory.
    """

    def __init__(self, params: Params, state: State, keep_months: tuple[int, ...] | None = None):
        st = params.structure
        w, t = params.worlds, st.months + 1
        r, s = st.n_regions, st.n_segments
        self.params = params
        self.keep_months = None if keep_months is None else tuple(int(m) for m in keep_months)
        kept = t if self.keep_months is None else len(self.keep_months)
        self.market = np.full((w, kept, r + 1, s + 1, len(METRICS)), np.nan)
        self.latest = self.market[:, 0]  # the last recorded month's metrics (the rules read it)
        if self.keep_months is None:
            self.firms = np.full((w, t, r + 1, st.firm_capacity, len(FIRM_FIELDS)), np.nan)
            self.products = np.full((w, t, r, s, st.product_capacity, len(PRODUCT_FIELDS)),
                                    np.nan)
            self.openness = np.zeros((w, t, st.product_capacity), dtype=bool)
            self.alive = np.zeros((w, t, st.product_capacity), dtype=bool)
        self.reference_capability = state.closed_frontier[:, 0].copy()
        self.last = -1

    def record(self, state: State, flows: MarketFlows, extras: MonthExtras) -> None:
        """Store month ``state.month``."""
        m = state.month
        self.latest = observe(self.params, state, flows, extras)
        self.last = m
        if self.keep_months is not None:
            if m in self.keep_months:
                self.market[:, self.keep_months.index(m)] = self.latest
            return
        self.market[:, m] = self.latest
        n_f = state.firm_alive.shape[1]

        def by_firm(q: np.ndarray) -> np.ndarray:  # [W, R, S, K] -> [W, R + 1, F]
            per_region = firm_totals(q.sum(axis=2), state.owner, n_f)
            return np.concatenate([per_region, per_region.sum(axis=1, keepdims=True)], axis=1)

        firms = self.firms[:, m]
        firms[..., 0] = by_firm(flows.revenue)
        firms[..., 1] = by_firm(flows.usage)
        firms[..., 2] = by_firm(flows.users)
        firms[:, -1, :, 3] = cents_to_usd(state.cash)
        best = np.full(state.firm_alive.shape, -np.inf)
        w_idx = np.repeat(np.arange(state.worlds), state.owner.shape[1])
        np.maximum.at(best, (w_idx, state.owner.ravel()),
                      np.where(state.product_alive, state.capability, -np.inf).ravel())
        firms[..., 4] = np.where(np.isfinite(best), best, np.nan)[:, None, :]
        firms[..., 5] = state.firm_alive[:, None, :]
        firms[:, -1, :, 6] = extras.raised  # firm-wide flows: the World row only, as cash
        firms[:, -1, :, 7] = extras.rd
        products = self.products[:, m]
        products[..., 0] = flows.users
        products[..., 1] = flows.usage
        products[..., 2] = flows.revenue
        products[..., 3] = state.price[:, :, None, :]
        self.openness[:, m] = state.is_open
        self.alive[:, m] = state.product_alive

    def copy_months(self, other: Recorder, last: int, latest: np.ndarray) -> None:
        """Take months ``0 .. last`` from ``other`` (a branched run: ``sim.engine.fork``).

        ``latest`` is month ``last``'s market metrics (what the rules read next month).
        """
        if self.keep_months is None:
            for mine, theirs in ((self.market, other.market), (self.firms, other.firms),
                                 (self.products, other.products),
                                 (self.openness, other.openness), (self.alive, other.alive)):
                mine[:, : last + 1] = theirs[:, : last + 1]
        else:
            for i, m in enumerate(self.keep_months):
                if m <= last:
                    self.market[:, i] = other.market[:, other.keep_months.index(m)]
        self.latest = latest.copy()
        self.reference_capability = other.reference_capability.copy()
        self.last = last

    def last_metric(self, name: str, region: int, segment: int | None) -> np.ndarray:
        """``[W]`` last recorded month's value of a market metric (``segment`` None = all)."""
        s = -1 if segment is None else segment
        return self.latest[:, region, s, INDEX[name]]

    # ------------------------------------------------------------------ tables

    def frames(self, state: State, scenario_ids: list[str], replications: np.ndarray,
               draws: np.ndarray | None = None) -> dict[str, pd.DataFrame]:
        """Tidy ``market``, ``vendors``, ``products`` and ``events`` tables of every world."""
        from sim.scenario.months import date_of

        if self.keep_months is not None:
            raise RuntimeError("a recorder that keeps only some months has no tidy tables")

        st = self.params.structure
        months = np.arange(self.last + 1)
        dates = [date_of(int(m), st.start) for m in months]
        regions = [*st.regions, "World"]
        segments = [*st.segments, "all"]
        draws = np.zeros(len(replications), dtype=np.int64) if draws is None else draws
        index = pd.MultiIndex.from_product([range(len(replications)), months, regions, segments],
                                           names=["world", "month", "region", "segment"])
        market = pd.DataFrame(self.market[:, : self.last + 1].reshape(-1, len(METRICS)),
                              columns=list(METRICS), index=index).reset_index()
        market = _label(market, scenario_ids, replications, draws, dates)
        vendors = self._firm_frame(state, scenario_ids, replications, draws, dates, regions)
        products = self._product_frame(state, scenario_ids, replications, draws, dates)
        events = pd.DataFrame([{
            "scenario": scenario_ids[e.world], "draw": int(draws[e.world]),
            "replication": int(replications[e.world]), "month": e.month,
            "date": date_of(e.month, st.start), "region": e.region, "vendor": e.firm,
            "product": e.product, "kind": e.kind, "detail": e.detail} for e in state.events],
            columns=["scenario", "draw", "replication", "month", "date", "region", "vendor",
                     "product", "kind", "detail"])
        return {"market": market, "vendors": vendors, "products": products, "events": events}

    def _firm_frame(self, state: State, ids: list[str], reps: np.ndarray, draws: np.ndarray,
                    dates: list[str], regions: list[str]) -> pd.DataFrame:
        w, t, r1, f, _ = self.firms[:, : self.last + 1].shape
        index = pd.MultiIndex.from_product([range(w), range(t), regions, range(f)],
                                           names=["world", "month", "region", "row"])
        frame = pd.DataFrame(self.firms[:, : self.last + 1].reshape(-1, len(FIRM_FIELDS)),
                             columns=list(FIRM_FIELDS), index=index).reset_index()
        names = np.array([[firm_name(self.params, state, wi, fi) for fi in range(f)]
                          for wi in range(w)])
        frame["vendor"] = names[frame["world"].to_numpy(), frame["row"].to_numpy()]
        frame = frame[~frame["vendor"].str.startswith("(free slot")].drop(columns="row")
        frame["alive"] = frame["alive"].astype(bool)
        frame = frame[["world", "month", "region", "vendor", *FIRM_FIELDS]]
        return _label(frame.reset_index(drop=True), ids, reps, draws, dates)

    def _product_frame(self, state: State, ids: list[str], reps: np.ndarray, draws: np.ndarray,
                       dates: list[str]) -> pd.DataFrame:
        st = self.params.structure
        data = self.products[:, : self.last + 1]
        w, t, r, s, k, _ = data.shape
        index = pd.MultiIndex.from_product([range(w), range(t), st.regions, st.segments,
                                            range(k)],
                                           names=["world", "month", "region", "segment", "row"])
        frame = pd.DataFrame(data.reshape(-1, len(PRODUCT_FIELDS)), columns=list(PRODUCT_FIELDS),
                             index=index).reset_index()
        wi, ki = frame["world"].to_numpy(), frame["row"].to_numpy()
        products = np.array([[product_name(self.params, state, a, b) for b in range(k)]
                             for a in range(w)])
        firms = np.array([[firm_name(self.params, state, a, int(state.owner[a, b]))
                           for b in range(k)] for a in range(w)])
        frame["product"] = products[wi, ki]
        frame["vendor"] = firms[wi, ki]
        opened = self.openness[:, : self.last + 1][wi, frame["month"].to_numpy(), ki]
        frame["openness"] = np.where(opened, "open", "closed")
        frame = frame[self.alive[:, : self.last + 1][wi, frame["month"].to_numpy(), ki]]
        cell = frame.groupby(["world", "month", "region", "segment"])["users"].transform("sum")
        frame["share"] = np.divide(frame["users"], cell, out=np.full(len(frame), np.nan),
                                   where=cell.to_numpy() > 0)
        frame = frame[["world", "month", "region", "segment", "vendor", "product", "openness",
                       *PRODUCT_FIELDS, "share"]]
        return _label(frame.reset_index(drop=True), ids, reps, draws, dates)


def _label(frame: pd.DataFrame, ids: list[str], reps: np.ndarray, draws: np.ndarray,
           dates: list[str]) -> pd.DataFrame:
    """Replace the world index by scenario, draw and replication columns; add the date."""
    world = frame.pop("world").to_numpy()
    frame.insert(0, "scenario", np.asarray(ids, dtype=object)[world])
    frame.insert(1, "draw", np.asarray(draws)[world])
    frame.insert(2, "replication", np.asarray(reps)[world])
    frame.insert(4, "date", np.asarray(dates, dtype=object)[frame["month"].to_numpy()])
    return frame
