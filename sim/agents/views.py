"""Mesa agents as views on the engine's rows (STYLE.md 2: objects for the few, arrays for the many).

A :class:`Firm` is a row of the firm table (its product lines are the product rows it
owns), a :class:`Community` a row of the contributor table, a :class:`Regulator` a region
with the policies in force there. They hold no state of their own: reading an attribute
reads the engine's arrays (world 0 of a single-world model), so agents and arrays can never
disagree, and ``model.agents_by_type[Firm]`` is the Mesa way in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.engine.names import firm_name, product_name
from sim.mechanisms.funding import cents_to_usd

if TYPE_CHECKING:
    from sim.model import MarketModel

__all__ = ["Firm", "Community", "Regulator"]


class Firm(mesa.Agent):
    """A firm: a view on firm row ``row`` (free rows are future entrants' slots)."""

    def __init__(self, model: MarketModel, row: int):
        super().__init__(model)
        self.row = row

    @property
    def name(self) -> str:
        """The firm's name (an entrant's is ``Entrant#<n>-<home>``)."""
        return firm_name(self.model.params, self.model.state, 0, self.row)

    @property
    def alive(self) -> bool:
        """Whether the firm is in the market."""
        return bool(self.model.state.firm_alive[0, self.row])

    @property
    def home(self) -> str:
        """Home region."""
        return self.model.regions[int(self.model.state.home[0, self.row])]

    @property
    def cash(self) -> float:
        """Cash, USD."""
        return float(cents_to_usd(self.model.state.cash[0, self.row]))

    @property
    def revenue(self) -> float:
        """Last month's revenue, USD."""
        return float(self.model.state.revenue_last[0, self.row])

    @property
    def users(self) -> float:
        """Adopters of its lines, every region and segment."""
        s = self.model.state
        return float(s.users()[0][..., s.owner[0] == self.row].sum())

    @property
    def products(self) -> list[str]:
        """Its alive product lines."""
        s = self.model.state
        rows = np.flatnonzero((s.owner[0] == self.row) & s.product_alive[0])
        return [product_name(self.model.params, s, 0, int(k)) for k in rows]

    @property
    def capability(self) -> float:
        """Capability of its best alive line, ECI points (NaN: none)."""
        s = self.model.state
        mine = (s.owner[0] == self.row) & s.product_alive[0]
        return float(s.capability[0][mine].max()) if mine.any() else float("nan")


class Community(mesa.Agent):
    """A contributor community: a view on contributor row ``row``."""

    def __init__(self, model: MarketModel, row: int):
        super().__init__(model)
        self.row = row

    @property
    def region(self) -> str:
        """Where the community is based."""
        return self.model.regions[int(self.model.params.structure.contributor_region[self.row])]

    @property
    def size(self) -> float:
        """Developers."""
        return float(self.model.params.structure.contributor_size[self.row])

    @property
    def family(self) -> str | None:
        """The open line it works on, or None."""
        k = int(self.model.state.family[0, self.row])
        return None if k < 0 else product_name(self.model.params, self.model.state, 0, k)


class Regulator(mesa.Agent):
    """One region's regulator: the policies in force there this month."""

    def __init__(self, model: MarketModel, region: int):
        super().__init__(model)
        self.region_index = region

    @property
    def region(self) -> str:
        """The region."""
        return self.model.regions[self.region_index]

    @property
    def policies(self) -> list[str]:
        """Labels of the policies in force in the region this month."""
        rules = self.model.engine.rules
        return [policy.label for policy, where in rules.in_force
                if bool(np.asarray(where)[0, self.region_index])]
