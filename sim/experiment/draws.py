"""Worlds that differ in their parameters: one batched engine over parameter draws.

A calibration population, a posterior ensemble or a synthetic truth is a list of *draws*,
each a mapping of dotted paths to values (``{"world.network_effect": 0.2, ...}``). Each
world is the scenario with its draw's overrides, validated like any ``--set`` (so a draw
outside a field's bounds is refused with the field's own message), compiled, and stacked
into one :class:`~sim.engine.params.Params` batch (``stack_worlds``): W draws step in one
vectorised call, as W replications do.

What comes back is only what a study reads: the values of chosen *cells*, (metric, region,
segment, step), per world. A :class:`DrawTask` is plain data (the scenario as TOML text), so
it runs on the local pool or on Dask alike; a world's values do not depend on the task it
ran in, because its random draws are keyed by its replication number (``sim.streams``).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.engine.metrics import INDEX

__all__ = ["Cell", "EventQuery", "DrawTask", "run_draws", "run_draw_task", "cells_of_targets"]


@dataclass(frozen=True)
class Cell:
    """One value per world: ``metric`` in ``region``/``segment`` at ``step``, times ``scale``."""

    metric: str
    region: str
    segment: str
    step: int
    scale: float = 1.0


@dataclass(frozen=True)
class EventQuery:
    """Whether a world saw an event of ``kinds`` by ``firm`` in steps ``first .. last``.

    ``region``, ``product`` (exact), ``product_contains`` and ``detail_prefix`` narrow it
    further.
    """

    kinds: tuple[str, ...]
    firm: str | None
    first: int
    last: int
    region: str | None = None
    product_contains: str | None = None
    detail_prefix: str | None = None
    product: str | None = None

    def matches(self, event: Any) -> bool:
        """Whether one engine :class:`~sim.engine.state.Event` is of this kind."""
        return (event.kind in self.kinds and self.first <= event.month <= self.last
                and (self.firm is None or event.firm == self.firm)
                and (self.region is None or event.region == self.region)
                and (self.product is None or event.product == self.product)
                and (self.product_contains is None
                     or self.product_contains in (event.product or ""))
                and (self.detail_prefix is None or event.detail.startswith(self.detail_prefix)))


@dataclass(frozen=True)
class DrawTask:
    """Worlds ``draws[i]`` with replication numbers ``replications[i]`` (plain data)."""

    scenario_toml: str
    draws: tuple[tuple[tuple[str, float], ...], ...]
    replications: tuple[int, ...]
    seed: int
    engine: str
    cells: tuple[Cell, ...]
    first: int = 0  #: position of the task's first world in the caller's population
    events: tuple[EventQuery, ...] = ()  #: one 0/1 column each, after the cells
    #: access groups shared with the scenarios paired with this one (shared_cuts)
    group_cuts: tuple[tuple[str, str, float], ...] = ()


def run_draws(task: DrawTask) -> np.ndarray:
    """``[W, len(cells) + len(events)]`` values of the task's worlds.

    A cell's value is NaN where its metric is undefined; an event query's is 1.0 when the
    world saw a matching event, else 0.0.

    Example:
        >>> from sim.scenario.dump import dump_toml
        >>> from sim.scenario.loader import load_scenario
        >>> from sim.scenario.overrides import with_horizon
        >>> text = dump_toml(with_horizon(load_scenario("baseline"), 2))
        >>> cell = Cell("open_usage_share", "US", "enterprise", 2)
        >>> task = DrawTask(text, ((("world.network_effect", 0.1),),
        ...                        (("world.network_effect", 0.5),)), (0, 1), 7, "expected",
        ...                 (cell,))
        >>> run_draws(task).shape
        (2, 1)
    """
    from sim.engine.engine import Engine
    from sim.replication import compile_worlds
    from sim.scenario.loader import validate_data

    # the caller validated (and warned about) the scenario and its ranges already
    scenario = validate_data(tomllib.loads(task.scenario_toml), quiet=True)
    params = compile_worlds(scenario, [dict(draw) for draw in task.draws], len(task.draws),
                            task.group_cuts)
    steps = tuple(sorted({c.step for c in task.cells} | {q.last for q in task.events}))
    reps = np.asarray(task.replications, dtype=np.int64)
    engine = Engine(params, task.seed, reps, task.engine, keep_months=steps)
    engine.run(max(steps))
    st = params.structure
    regions = [*st.regions, "World"]
    segments = [*st.segments, "all"]
    market = engine.recorder.market  # [W, T', R + 1, S + 1, M]
    cells = len(task.cells)
    out = np.zeros((len(task.draws), cells + len(task.events)))
    for j, cell in enumerate(task.cells):
        out[:, j] = market[:, steps.index(cell.step), regions.index(cell.region),
                           segments.index(cell.segment), INDEX[cell.metric]] * cell.scale
    for e in engine.state.events:
        for j, query in enumerate(task.events):
            if query.matches(e):
                out[e.world, cells + j] = 1.0
    return out


def run_draw_task(task: DrawTask) -> tuple[int, np.ndarray]:
    """``(task.first, run_draws(task))``: pool results come in completion order."""
    return task.first, run_draws(task)


def cells_of_targets(targets: Any, start: str) -> tuple[Cell, ...]:
    """The cells a targets file measures (one per target, in file order)."""
    return tuple(Cell(t.metric, t.region, t.segment, t.step(start), t.scale)
                 for t in targets.target)
