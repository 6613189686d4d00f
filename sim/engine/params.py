"""The compiled parameters of a batch of worlds: plain arrays, a leading world axis on each.

A scenario is compiled once (``sim/scenario/compile.py``) into a :class:`Structure` (what
all worlds of a batch share: names, sizes, the policy list) and a :class:`Params` (values,
one row per world). Keys are the scenario file's own keys, so a dotted path of a posterior
draw or a sweep addresses one array slot:

| dotted path | array slot |
|---|---|
| ``world.<key>`` | ``params.world[key][w]`` |
| ``segments.<segment>.<key>`` | ``params.segment[key][w, s]`` |
| ``regions.<region>.<key>.<segment>`` | ``params.region[key][w, r, s]`` |
| ``regions.<region>.<key>`` | ``params.region[key][w, r]`` |
| ``vendors.<firm>.<key>`` | ``params.firm[key][w, f]`` |
| ``vendors.<firm>.products.<product>.<key>`` | ``params.product[key][w, k]`` |
| ``harm.<key>`` | ``params.harm[key][w]`` |
| ``contributors.<key>`` | ``params.contributors[key][w]`` |

Products and firms are padded to a capacity: rows past the scenario's own are free slots
that entrants fill (``Structure.scenario_products`` / ``scenario_firms`` say how many are the
scenario's). Past this boundary the model sees no pydantic object.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

__all__ = ["Structure", "Params", "CompiledPolicy", "VENTURE", "PARENT", "select_worlds",
           "stack_worlds"]

#: ``funding`` codes of the firm table (sim.mechanisms.funding uses the same numbers).
VENTURE, PARENT = 0, 1


@dataclass(frozen=True)
class CompiledPolicy:
    """One policy with its window in steps and its targets as indices.

    Attributes:
        kind: The policy kind (``ban_open_weights``, ``ban_vendors``, ``compliance_cost``,
            ``open_source_subsidy``, ``interoperability``, ``merger``, ``withhold``,
            ``trigger``).
        label: Free text for events and reports.
        regions: Region indices it applies in.
        start: First step it applies.
        end: First step it no longer applies (None: never ends).
        values: Kind-specific numbers and index arrays (e.g. ``enforcement`` ``[S]``,
            ``firms``, ``products``, ``min_capability``).
        nested: A trigger's policy.
    """

    kind: str
    label: str
    regions: tuple[int, ...]
    start: int
    end: int | None
    values: dict[str, Any] = field(default_factory=dict)
    nested: CompiledPolicy | None = None

    def active(self, month: int) -> bool:
        """Whether the policy's window covers ``month``."""
        return self.start <= month and (self.end is None or month < self.end)


@dataclass(frozen=True)
class Structure:
    """What every world of a batch shares.

    Attributes:
        start: Calendar month of step 0, ``"YYYY-MM"``.
        months: Steps after step 0 (the last step is ``months``).
        regions: Region names, ``R``.
        segments: Segment names, ``S``.
        token_billed: ``[S]`` True for token-billed segments, False for subscription ones.
        relevant_market: Per segment, the measure of ``hhi_market``: ``"revenue"``,
            ``"usage"`` or ``"users"``.
        firms: Names of the scenario's firms (the first rows of the firm table).
        products: Names of the scenario's product lines (the first rows of the product table).
        firm_capacity: ``F``, rows of the firm table (scenario firms plus entrant slots).
        product_capacity: ``K``, rows of the product table.
        group_fractions: ``[R, S, G]`` share of each cell's adopters in access group g.
        group_evasion: ``[R, S, G]`` upper end of group g's evasiveness: a ban whose evader
            share is ``x`` does not bind group g when ``group_evasion <= x``.
        contributor_region: ``[C]`` region index of each contributor community.
        contributor_size: ``[C]`` developers in each community.
        price_scope: ``"global"`` or ``"regional"`` (MODEL.md 5; a structural alternative).
        policies: The compiled policies, in file order.
    """

    start: str
    months: int
    regions: tuple[str, ...]
    segments: tuple[str, ...]
    token_billed: np.ndarray
    relevant_market: tuple[str, ...]
    firms: tuple[str, ...]
    products: tuple[str, ...]
    firm_capacity: int
    product_capacity: int
    group_fractions: np.ndarray
    group_evasion: np.ndarray
    contributor_region: np.ndarray
    contributor_size: np.ndarray
    price_scope: str = "global"
    policies: tuple[CompiledPolicy, ...] = ()

    @property
    def n_regions(self) -> int:
        """``R``."""
        return len(self.regions)

    @property
    def n_segments(self) -> int:
        """``S``."""
        return len(self.segments)

    @property
    def n_groups(self) -> int:
        """``G``."""
        return int(self.group_fractions.shape[-1])

    @property
    def scenario_products(self) -> int:
        """How many product rows are the scenario's own."""
        return len(self.products)

    @property
    def scenario_firms(self) -> int:
        """How many firm rows are the scenario's own."""
        return len(self.firms)


@dataclass(frozen=True)
class Params:
    """Parameter values of W worlds (every array has the world axis first).

    Attributes:
        structure: What the worlds share.
        world: ``[W]`` arrays of ``[world]`` keys (plus ``price_scope``-free numbers only).
        segment: ``[W, S]`` arrays of segment keys.
        region: ``[W, R]`` or ``[W, R, S]`` arrays of region keys (per-segment tables such as
            ``adopters``), and ``shares`` ``[W, R, S, K]``.
        firm: ``[W, F]`` arrays of firm keys (``home`` and ``funding`` as integers).
        product: ``[W, K]`` arrays of product keys (``owner`` as integers, ``is_open`` as
            booleans, ``launch`` as steps: -1 for free slots); ``served`` ``[W, R, K]``.
        harm: ``[W]`` arrays of ``[harm]`` keys.
        contributors: ``[W]`` arrays of ``[contributors]`` keys.
    """

    structure: Structure
    world: dict[str, np.ndarray]
    segment: dict[str, np.ndarray]
    region: dict[str, np.ndarray]
    firm: dict[str, np.ndarray]
    product: dict[str, np.ndarray]
    harm: dict[str, np.ndarray]
    contributors: dict[str, np.ndarray]

    @property
    def worlds(self) -> int:
        """``W``."""
        return int(self.world["network_effect"].shape[0])

    def world_value(self, key: str, default: float) -> np.ndarray:
        """``[W]`` values of ``world.<key>``, or ``default`` in every world when absent."""
        value = self.world.get(key)
        return np.full(self.worlds, default) if value is None else value

    def identical_worlds(self) -> bool:
        """Whether every world has the same values (replications of one scenario)."""
        for group in (self.world, self.segment, self.region, self.firm, self.product,
                      self.harm, self.contributors):
            for values in group.values():
                values = np.asarray(values)
                if values.ndim == 0 or values.shape[0] <= 1:
                    continue
                first = np.broadcast_to(values[:1], values.shape)
                floating = np.issubdtype(values.dtype, np.floating)
                if not np.array_equal(values, first, equal_nan=floating):
                    return False
        return True

    def repeat(self, worlds: int) -> Params:
        """The same values for ``worlds`` worlds (a batch of one scenario's replications)."""
        if self.worlds != 1:
            raise ValueError("repeat() expects a single-world Params")

        def tile(group: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
            return {k: np.repeat(v, worlds, axis=0) for k, v in group.items()}

        return replace(self, world=tile(self.world), segment=tile(self.segment),
                       region=tile(self.region), firm=tile(self.firm),
                       product=tile(self.product), harm=tile(self.harm),
                       contributors=tile(self.contributors))


def select_worlds(params: Params, index: np.ndarray) -> Params:
    """The worlds ``index`` of a batch, as a smaller batch (same structure)."""
    def take(group: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {k: np.take(v, index, axis=0) for k, v in group.items()}

    return replace(params, world=take(params.world), segment=take(params.segment),
                   region=take(params.region), firm=take(params.firm),
                   product=take(params.product), harm=take(params.harm),
                   contributors=take(params.contributors))


def stack_worlds(batches: list[Params]) -> Params:
    """One batch of the worlds of ``batches``, in order (parameter draws of one scenario).

    Every batch must come from the same scenario structure (names, sizes, policies): only
    numeric values differ, as when each world is the scenario with a posterior draw's
    overrides. The first batch's structure is kept.

    Raises:
        ValueError: The batches' arrays do not line up (another structure).
    """
    if not batches:
        raise ValueError("stack_worlds() needs at least one batch")
    first = batches[0]

    def join(name: str) -> dict[str, np.ndarray]:
        groups = [getattr(b, name) for b in batches]
        keys = groups[0].keys()
        if any(g.keys() != keys for g in groups):
            raise ValueError(f"stack_worlds(): the {name} tables have different keys")
        try:
            return {k: np.concatenate([np.asarray(g[k]) for g in groups], axis=0) for k in keys}
        except ValueError as exc:
            raise ValueError(f"stack_worlds(): the {name} arrays do not line up ({exc})") from None

    return replace(first, world=join("world"), segment=join("segment"), region=join("region"),
                   firm=join("firm"), product=join("product"), harm=join("harm"),
                   contributors=join("contributors"))
