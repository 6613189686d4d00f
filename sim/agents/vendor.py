"""Vendors: Mesa agents whose state lives in one structure of arrays.

Demand, pricing and accounting are vectorised over vendors, so each vendor's
numbers are stored in :class:`VendorTable` (one array per attribute, indexed by
the vendor's ``index``); the :class:`Vendor` agent is a thin view on its row and
makes the discrete, per-vendor decisions (serve or withdraw per region, openness
review). Option ``index + 1`` in the demand arrays is this vendor; option 0 is
"no model / in-house".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import mesa
import numpy as np

if TYPE_CHECKING:
    from sim.model import MarketModel
    from sim.scenario.schema import Vendor as VendorSpec

__all__ = ["VendorTable", "Vendor", "LEDGER_FLOWS"]

#: Cash flows recorded per vendor, so a run's cash can be balanced to the cent.
LEDGER_FLOWS: tuple[str, ...] = (
    "funding",
    "revenue",
    "indirect",
    "subsidy",
    "serving",
    "compliance",
    "rd",
    "switching",
    "entry",
    "merger_in",
    "merger_out",
)


@dataclass
class VendorTable:
    """Every vendor's state, one array per attribute (structure of arrays).

    Rows are never reused: a vendor that exits or is absorbed keeps its row with
    ``alive = False``, so indices stay stable for the whole run.
    """

    n_regions: int
    capacity: int = 16
    count: int = 0
    names: list[str] = field(default_factory=list)
    home: np.ndarray = field(init=False)
    is_open: np.ndarray = field(init=False)
    adaptive: np.ndarray = field(init=False)
    capability: np.ndarray = field(init=False)
    capability0: np.ndarray = field(init=False)  #: capability when it started (cost scale)
    price: np.ndarray = field(init=False)
    cost_factor: np.ndarray = field(init=False)
    cash: np.ndarray = field(init=False)
    funding0: np.ndarray = field(init=False)
    born: np.ndarray = field(init=False)
    rd_share: np.ndarray = field(init=False)
    hosted: np.ndarray = field(init=False)
    indirect: np.ndarray = field(init=False)
    license: np.ndarray = field(init=False)
    alive: np.ndarray = field(init=False)
    served: np.ndarray = field(init=False)
    reentry_month: np.ndarray = field(init=False)
    negative_months: np.ndarray = field(init=False)
    profit: np.ndarray = field(init=False)
    revenue_region: np.ndarray = field(init=False)
    margin_region: np.ndarray = field(init=False)
    capped: np.ndarray = field(init=False)
    last_review: np.ndarray = field(init=False)
    ledger: np.ndarray = field(init=False)

    _FLOAT = ("capability", "capability0", "price", "cost_factor", "cash", "funding0",
              "rd_share", "hosted", "indirect", "license", "profit")
    _BOOL = ("is_open", "adaptive", "alive", "capped")
    _INT = ("home", "born", "negative_months", "last_review")

    def __post_init__(self) -> None:
        cap, n_r = self.capacity, self.n_regions
        for name in self._FLOAT:
            setattr(self, name, np.zeros(cap))
        for name in self._BOOL:
            setattr(self, name, np.zeros(cap, dtype=bool))
        for name in self._INT:
            setattr(self, name, np.zeros(cap, dtype=np.int64))
        self.served = np.zeros((cap, n_r), dtype=bool)
        self.reentry_month = np.zeros((cap, n_r), dtype=np.int64)
        self.revenue_region = np.zeros((cap, n_r))
        self.margin_region = np.zeros((cap, n_r))
        self.ledger = np.zeros((cap, len(LEDGER_FLOWS)))

    def _grow(self) -> None:
        new = self.capacity * 2
        for name in (*self._FLOAT, *self._BOOL, *self._INT, "served", "reentry_month",
                     "revenue_region", "margin_region", "ledger"):
            old = getattr(self, name)
            grown = np.zeros((new, *old.shape[1:]), dtype=old.dtype)
            grown[: self.capacity] = old
            setattr(self, name, grown)
        self.capacity = new

    def add(self, name: str, *, home: int, is_open: bool, adaptive: bool, capability: float,
            cost_factor: float, cash: float, funding0: float, rd_share: float, hosted: float,
            indirect: float, license: float, served: np.ndarray, born: int) -> int:
        """Append a vendor and return its index."""
        if self.count == self.capacity:
            self._grow()
        i = self.count
        self.names.append(name)
        self.home[i], self.is_open[i], self.adaptive[i] = home, is_open, adaptive
        self.capability[i], self.cost_factor[i], self.cash[i] = capability, cost_factor, cash
        self.capability0[i] = capability
        self.funding0[i], self.rd_share[i], self.hosted[i] = funding0, rd_share, hosted
        self.indirect[i], self.license[i] = indirect, license
        self.served[i] = served
        self.alive[i] = True
        self.born[i] = born
        self.last_review[i] = born
        self.count += 1
        return i

    def view(self, name: str) -> np.ndarray:
        """Return attribute ``name`` for the vendors that exist (not spare capacity)."""
        return getattr(self, name)[: self.count]

    def book(self, flow: str, amounts: np.ndarray | float, index: int | None = None) -> None:
        """Record a cash flow in the ledger (positive = into the vendor)."""
        column = LEDGER_FLOWS.index(flow)
        if index is None:
            self.ledger[: self.count, column] += amounts
        else:
            self.ledger[index, column] += amounts


class Vendor(mesa.Agent):
    """A model developer: a Mesa agent viewing its row of the :class:`VendorTable`.

    Args:
        model: The market model.
        index: Row in ``model.vendors``.
    """

    def __init__(self, model: MarketModel, index: int):
        super().__init__(model)
        self.index = index

    @classmethod
    def from_spec(cls, model: MarketModel, spec: VendorSpec, born: int = 0) -> Vendor:
        """Create the agent and its table row from a scenario ``[[vendors]]`` item."""
        regions = model.scenario.region_names
        served = np.array([spec.regions is None or r in spec.regions for r in regions])
        index = model.vendors.add(
            spec.name,
            home=regions.index(spec.home),
            is_open=spec.openness == "open",
            adaptive=spec.strategy == "adaptive",
            capability=spec.capability,
            cost_factor=spec.cost_factor,
            cash=spec.cash,
            funding0=spec.funding,
            rd_share=spec.rd_share,
            hosted=spec.hosted_fraction if spec.openness == "open" else 1.0,
            indirect=spec.indirect_value,
            license=spec.license_restrictiveness,
            served=served,
            born=born,
        )
        return cls(model, index)

    # -- views -----------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The vendor's name."""
        return self.model.vendors.names[self.index]

    @property
    def is_open(self) -> bool:
        """Whether it publishes weights."""
        return bool(self.model.vendors.is_open[self.index])

    @property
    def alive(self) -> bool:
        """Whether it is still in the market."""
        return bool(self.model.vendors.alive[self.index])

    @property
    def capability(self) -> float:
        """Capability q, in points."""
        return float(self.model.vendors.capability[self.index])

    @property
    def price(self) -> float:
        """Price per million tokens."""
        return float(self.model.vendors.price[self.index])

    @property
    def cash(self) -> float:
        """Cash in USD."""
        return float(self.model.vendors.cash[self.index])

    def __repr__(self) -> str:
        kind = "open" if self.is_open else "closed"
        return f"Vendor({self.name!r}, {kind}, q={self.capability:.1f}, p={self.price:.3g})"

    # -- decisions -------------------------------------------------------------------------------

    def decide(self) -> None:
        """The vendor's monthly discrete decisions (phase 2 of the schedule).

        Serve or withdraw per region (compliance costs against expected margin)
        and, for adaptive vendors every ``review_months``, openness. Prices and
        R&D budgets are set for all vendors at once in :mod:`sim.pricing` and
        :mod:`sim.capability`.
        """
        if not self.alive:
            return
        from sim.strategy import review_openness, review_regions

        review_regions(self.model, self.index)
        if self.model.vendors.adaptive[self.index]:
            review_openness(self.model, self.index)
