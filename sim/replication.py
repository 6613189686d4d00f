"""Replications: a function of (scenario, seed, replication numbers) returning tidy tables.

Several replications of one scenario run as one batch of worlds (the engine steps them
together); a world's results are the same whatever the batch (its random streams are
keyed by its replication number), so the experiment layer may batch them as it likes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.scenario.loader import load_scenario
from sim.scenario.overrides import with_horizon
from sim.scenario.schema import Scenario

if TYPE_CHECKING:
    from sim.engine.params import Params

__all__ = ["run_replication", "run_replications", "compile_worlds", "DEFAULT_ENGINE"]

#: The demand engine when none is named: exact binomial/multinomial draws, the model as
#: specified; ``"expected"`` (expected counts) is the fast alternative for large ensembles.
DEFAULT_ENGINE = "exact"


def run_replications(scenario: Scenario | str, seed: int = 0,
                     replications: Sequence[int] = (0,), scenario_id: str = "scenario",
                     months: int | None = None, engine: str = DEFAULT_ENGINE, *,
                     draws: Sequence[int] | None = None,
                     overrides: Sequence[Mapping[str, float]] | None = None,
                     group_cuts: tuple[tuple[str, str, float], ...] = (),
                     ) -> dict[str, pd.DataFrame]:
    """Run several replications of one scenario as one batch of worlds.

    Args:
        scenario: Scenario, shipped name or path.
        seed: Root seed.
        replications: Replication numbers (each world's random streams).
        scenario_id: Value of the ``scenario`` column.
        months: Override the horizon (a shorter run).
        engine: ``"exact"`` or ``"expected"``.
        draws: Each world's posterior draw id (the ``draw`` column; default 0).
        overrides: Each world's parameter values (dotted path -> value), e.g. its posterior
            draw; the worlds then differ in their parameters and step as one batch.
        group_cuts: Access-group cuts shared with the scenarios this one is paired with
            (:func:`sim.engine.compile.shared_cuts`; ``sim.run`` passes them).

    Returns:
        ``{"market", "vendors", "products", "events"}`` tidy DataFrames (INTERFACES.md).

    Example:
        >>> tables = run_replications("baseline", seed=1, replications=[0, 1], months=2)
        >>> sorted(tables["market"]["replication"].unique().tolist())
        [0, 1]
        >>> tables = run_replications("baseline", seed=1, replications=[0, 1], months=2,
        ...                           draws=[7, 9], overrides=[{"world.network_effect": 0.1},
        ...                                                    {"world.network_effect": 0.5}])
        >>> sorted(tables["market"]["draw"].unique().tolist())
        [7, 9]
    """
    from sim.engine.engine import Engine

    scenario = load_scenario(scenario)
    if months is not None:
        scenario = with_horizon(scenario, int(months))
    reps = np.asarray(list(replications), dtype=np.int64)
    if overrides is not None and len(overrides) != len(reps):
        raise ValueError("one set of overrides per replication")
    params = compile_worlds(scenario, overrides, len(reps), group_cuts)
    labels = np.zeros(len(reps), dtype=np.int64) if draws is None else \
        np.asarray(list(draws), dtype=np.int64)
    model = Engine(params, int(seed), reps, engine).run()
    return model.recorder.frames(model.state, [scenario_id] * len(reps), reps, labels)


def compile_worlds(scenario: Scenario, overrides: Sequence[Mapping[str, Any]] | None,
                   count: int, group_cuts: tuple[tuple[str, str, float], ...] = ()) -> Params:
    """``count`` worlds of ``scenario`` as one :class:`~sim.engine.params.Params` batch.

    Each world has its own overrides (a posterior draw), or all are copies when there are
    none; ``group_cuts`` are the access groups of the scenarios it is paired with.

    Example:
        >>> from sim.scenario.loader import load_scenario
        >>> compile_worlds(load_scenario("baseline"), None, 3).worlds
        3
    """
    from sim.engine.compile import compile_scenario
    from sim.engine.params import stack_worlds
    from sim.scenario.overrides import apply_overrides

    if overrides is not None and any(overrides):
        return stack_worlds([compile_scenario(apply_overrides(scenario, dict(o), quiet=True),
                                              group_cuts) for o in overrides])
    return compile_scenario(scenario, group_cuts).repeat(count)


def run_replication(scenario: Scenario | str, seed: int = 0, replication: int = 0,
                    scenario_id: str = "scenario", months: int | None = None,
                    engine: str = DEFAULT_ENGINE) -> dict[str, pd.DataFrame]:
    """Run one replication to the horizon.

    Replication ``i`` draws the same random numbers whatever the scenario (common random
    numbers), so paired scenarios differ only by what the scenarios change.

    Example:
        >>> tables = run_replication("baseline", seed=1, months=3)
        >>> int(tables["market"]["month"].max()), sorted(tables)
        (3, ['events', 'market', 'products', 'vendors'])
    """
    return run_replications(scenario, seed, [replication], scenario_id, months, engine)
