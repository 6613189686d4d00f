"""Per-adopter reference: the same demand rules with one Mesa agent per adopter.

For validation and benchmarks only (small populations): its cost grows with the
number of adopters, which is exactly what the cohort engine avoids. Each
:class:`Adopter` reconsiders with probability lambda (or must, when its option
became unavailable) and then draws its new option from the same transition
probabilities ``P[region, segment, group, from, to]`` the cohort engine uses. Both
engines are exact samplers of the same individual-level model, so they agree in
distribution (tested), not draw by draw.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

if TYPE_CHECKING:
    from sim.model import MarketModel

__all__ = ["Adopter", "AdopterPopulation", "MAX_ADOPTERS"]

#: The reference refuses larger populations: use the cohort engine.
MAX_ADOPTERS = 2_000_000


class Adopter(mesa.Agent):
    """One adopter: where it lives, its segment, access group and current option."""

    def __init__(self, model: MarketModel, region: int, segment: int, group: int, option: int):
        super().__init__(model)
        self.region = region
        self.segment = segment
        self.group = group
        self.option = option

    def choose(self, probs: np.ndarray, forced: np.ndarray, lam: float,
               rng: np.random.Generator) -> None:
        """Reconsider (with probability ``lam``, or when forced) and pick an option."""
        if not forced[self.group, self.option] and rng.random() >= lam:
            return
        row = probs[self.segment, self.group, self.option]
        self.option = int(rng.choice(row.shape[0], p=row / row.sum()))


class AdopterPopulation:
    """All adopters of a model as agents, replacing the cohort update."""

    def __init__(self, model: MarketModel):
        total = int(model.counts.sum())
        if total > MAX_ADOPTERS:
            raise ValueError(f"the per-adopter reference is for small populations "
                             f"(<= {MAX_ADOPTERS:,} adopters); this scenario has {total:,}")
        self.model = model
        self.by_region: list[list[Adopter]] = []
        for r in range(model.counts.shape[0]):
            agents = []
            for (s, g, o), n in np.ndenumerate(model.counts[r]):
                agents.extend(Adopter(model, r, s, g, o) for _ in range(int(n)))
            self.by_region.append(agents)

    def step(self, probs: np.ndarray, forced: np.ndarray,
             generators: list[np.random.Generator]) -> np.ndarray:
        """Let every adopter choose; return the counts ``N[region, segment, group, option]``."""
        model = self.model
        lam = model.tastes.reconsider
        counts = np.zeros((model.counts.shape[0], model.counts.shape[1], model.counts.shape[2],
                           probs.shape[-1]), dtype=np.int64)
        for r, agents in enumerate(self.by_region):
            rng = generators[r]
            for agent in agents:
                agent.choose(probs[r], forced[r], lam[agent.segment], rng)
                counts[r, agent.segment, agent.group, agent.option] += 1
        return counts
