"""The state of W worlds: one array per attribute, the world axis first (STYLE.md 2).

Adopters are counts, never objects: ``counts[W, R, S, G, O]`` are aware adopters of each
cell and access group by option (option 0 = the outside option / in-house, option ``k + 1``
= product line ``k``), ``unaware[W, R, S, G]`` the part of each cell's potential that has
not yet heard of the products (MODEL.md 4.1). Counts are float64 holding whole numbers in
the exact engine (exact below 2**53) and expected values in the expected engine.

Firms and product lines are rows of padded tables; entrants fill free rows. Mesa agents
(``sim/agents``) are views on these rows. Cash is int64 cents (``sim.mechanisms.funding``:
float64 dollars cannot balance to the cent over 84 months at 1e12 USD).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["State", "Event", "EVENT_KINDS"]

#: Event kinds (INTERFACES.md results folder).
EVENT_KINDS = ("policy_on", "policy_off", "launch", "withdrawal", "reentry", "entry", "exit",
               "acquisition", "merger", "openness_change", "funding_round")


@dataclass(frozen=True)
class Event:
    """Something that happened in one world: a row of the ``events`` table.

    Attributes:
        world: World index in the batch.
        month: Step.
        region: Region name or ``"World"``.
        firm: Firm name, or None.
        product: Product line name, or None.
        kind: One of :data:`EVENT_KINDS`.
        detail: Why, in words (a reason string every decision gives).
    """

    world: int
    month: int
    region: str
    firm: str | None
    product: str | None
    kind: str
    detail: str


@dataclass
class State:
    """Mutable state of a batch; phases read and write its arrays in place.

    Shapes use ``W`` worlds, ``R`` regions, ``S`` segments, ``G`` access groups, ``K``
    product rows, ``F`` firm rows, ``C`` contributor communities, ``T = months + 1``.
    """

    month: int
    # demand
    potential: np.ndarray  #: [W, R, S] potential adopters
    unaware: np.ndarray  #: [W, R, S, G]
    counts: np.ndarray  #: [W, R, S, G, K + 1] aware adopters by option
    brand: np.ndarray  #: [W, R, S, K] brand constants xi (inverted at step 0)
    outside_level: np.ndarray  #: [W, R, S] outside option's utility at step 0
    firm_share: np.ndarray  #: [W, R, S, F] firm's share of the cell's users, last month
    # product lines
    product_alive: np.ndarray  #: [W, K] launched and not retired
    is_open: np.ndarray  #: [W, K]
    owner: np.ndarray  #: [W, K] firm row
    capability: np.ndarray  #: [W, K] ECI points
    size: np.ndarray  #: [W, K] serving-cost factor
    licence: np.ndarray  #: [W, K] restrictiveness 0-1
    hosted_fraction: np.ndarray  #: [W, K] open lines: usage served by the owner's API
    self_hosted_fraction: np.ndarray  #: [W, K] open lines: usage run by users, unbilled
    subscription_price: np.ndarray  #: [W, K] USD per paying user-month
    launch: np.ndarray  #: [W, K] step of launch (-1: a free slot)
    product_entrant: np.ndarray  #: [W, K] entrant number of the row (-1: scenario's)
    product_origin: np.ndarray  #: [W, K] line whose older weights the row carries (-1: none)
    served: np.ndarray  #: [W, R, K] the owner offers the line in the region
    withdrawn_at: np.ndarray  #: [W, R, K] step of the last withdrawal (-1: none)
    markup: np.ndarray  #: [W, R, K] price / serving cost of priced lines
    price: np.ndarray  #: [W, R, K] USD per M tokens (token segments)
    effort: np.ndarray  #: [W, K] contributor effort, developer-months a month
    ecosystem: np.ndarray  #: [W, K] ecosystem size D (derivatives and tools)
    # firms
    firm_alive: np.ndarray  #: [W, F]
    home: np.ndarray  #: [W, F] region index
    funding: np.ndarray  #: [W, F] VENTURE or PARENT
    cash: np.ndarray  #: [W, F] int64 cents
    rd_share: np.ndarray  #: [W, F]
    adaptive: np.ndarray  #: [W, F] chooses openness of new generations
    indirect_value: np.ndarray  #: [W, F] USD per user-month to a parent
    parent_budget: np.ndarray  #: [W, F] USD a month the parent can give at most
    lab_budget: np.ndarray  #: [W, F] USD a month the parent commits whatever the lab's users
    log_growth: np.ndarray  #: [W, F] smoothed monthly log growth of revenue
    spending_plan: np.ndarray  #: [W, F] USD a month of raised money still to spend
    months_negative: np.ndarray  #: [W, F] consecutive months with negative cash
    months_since_round: np.ndarray  #: [W, F]
    revenue_last: np.ndarray  #: [W, F] last month's revenue, USD
    firm_entrant: np.ndarray  #: [W, F] entrant number (-1: scenario's)
    # contributors
    family: np.ndarray  #: [W, C] open line each community works on (-1: none)
    # history
    closed_frontier: np.ndarray  #: [W, T] best closed capability by step (NaN: not yet)
    open_frontier: np.ndarray  #: [W, T]
    entrants: np.ndarray  #: [W] entrants so far (numbers their names)
    events: list[Event] = field(default_factory=list)
    scratch: dict[str, Any] = field(default_factory=dict)  #: this month's flows, for records

    @property
    def worlds(self) -> int:
        """``W``."""
        return int(self.potential.shape[0])

    def repeated(self, worlds: int) -> State:
        """This one-world state as ``worlds`` identical worlds (a copy; events must be none).

        Used at step 0, whose deterministic part is the same for every world of one
        scenario: solving it once and tiling it gives exactly what solving every world does
        (a world's results never depend on its batch).
        """
        if self.worlds != 1 or self.events:
            raise ValueError("repeated() expects a one-world state without events")

        def tile(value: Any) -> Any:
            if isinstance(value, np.ndarray) and value.ndim and value.shape[0] == 1:
                return np.repeat(value, worlds, axis=0)
            return value

        fields = {name: tile(getattr(self, name)) for name in self.__dataclass_fields__
                  if name not in ("events", "scratch")}
        return State(**fields, events=[],
                     scratch={key: tile(value) for key, value in self.scratch.items()})

    def free_product_rows(self, scenario_products: int) -> np.ndarray:
        """``[W, K]`` rows no line has used yet (entrants' and released lines' slots).

        The first ``scenario_products`` rows are the scenario's own lines, never free: a
        retired line's row keeps its name.
        """
        free = (self.launch < 0) & ~self.product_alive & (self.product_entrant < 0)
        free[:, :scenario_products] = False
        return free

    def users(self) -> np.ndarray:
        """``[W, R, S, K]`` adopters of each product line (access groups pooled)."""
        return self.counts[..., 1:].sum(axis=3)
