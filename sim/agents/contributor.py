"""Contributors: communities or organisations that work on open ecosystems.

Each community is a Mesa agent viewing its row of :class:`ContributorTable`
(region, developers, productivity, current ecosystem); their monthly choice is
made for all of them at once in :mod:`sim.contributors`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import mesa
import numpy as np

if TYPE_CHECKING:
    from sim.model import MarketModel

__all__ = ["ContributorTable", "Contributor", "NONE"]

#: ``ecosystem`` value of a community that contributes to no open model.
NONE = -1


@dataclass
class ContributorTable:
    """All communities' state, sorted by region (so a region is a slice)."""

    region: np.ndarray  #: region index [c]
    developers: np.ndarray  #: community size [c]
    productivity: float  #: effort per developer per month
    ecosystem: np.ndarray  #: vendor index or NONE [c]
    region_slices: list[slice]  #: rows of each region
    legal_friction: np.ndarray | None = None  #: [region] share of effort lost (Region field)

    @property
    def count(self) -> int:
        """Number of communities."""
        return len(self.region)

    def effort(self, friction: np.ndarray) -> np.ndarray:
        """Effort each community supplies this month, after its region's legal friction.

        Args:
            friction: ``[region]`` share of effort lost to the policies in force
                (``compliance_cost.contributor_friction``); the region's own
                ``legal_friction`` is lost on top of it.
        """
        kept = 1.0 - friction[self.region]
        if self.legal_friction is not None:
            kept = kept * (1.0 - self.legal_friction[self.region])
        return self.developers * self.productivity * kept


class Contributor(mesa.Agent):
    """One contributor community (a view on a row of the table)."""

    def __init__(self, model: MarketModel, row: int):
        super().__init__(model)
        self.row = row

    @property
    def developers(self) -> float:
        """Community size in developers."""
        return float(self.model.contributors.developers[self.row])

    @property
    def ecosystem(self) -> str | None:
        """Name of the open vendor it works on, or None."""
        k = int(self.model.contributors.ecosystem[self.row])
        return None if k == NONE else self.model.vendors.names[k]

    def __repr__(self) -> str:
        region = self.model.scenario.region_names[self.model.contributors.region[self.row]]
        return f"Contributor({region}, {self.developers:.0f} devs, {self.ecosystem})"
