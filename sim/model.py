"""The market model as a ``mesa.Model``: one world of the batched engine (MODEL.md 3).

``MarketModel`` is the W = 1 case of :class:`sim.engine.engine.Engine` (no second
implementation): its ``step`` is the engine's month, its agents are views on the engine's
firm and contributor rows and one regulator per region, and its ``datacollector`` reads
the engine's recorded arrays (no second bookkeeping). Mesa idioms work: ``run_model()``
runs to the horizon and sets ``running = False``; ``mesa.batch_run(MarketModel, ...)``
takes scenarios, seeds and overrides as parameters (dotted paths with ``.`` written as
``__``).
"""

from __future__ import annotations

from typing import Any

import mesa
import numpy as np
import pandas as pd

import sim.mesa_compat  # noqa: F401  (mesa 3.3 keeps every model alive otherwise)
from sim.agents import Community, Firm, Regulator
from sim.engine.compile import compile_scenario
from sim.engine.engine import ENGINES, Engine
from sim.engine.metrics import INDEX, METRICS
from sim.scenario.loader import load_scenario
from sim.scenario.schema import Scenario

__all__ = ["MarketModel", "overrides_from_keywords"]


def overrides_from_keywords(keywords: dict[str, Any]) -> dict[str, Any]:
    """``{"world__network_effect": 1.2}`` -> ``{"world.network_effect": 1.2}`` (batch_run)."""
    return {key.replace("__", "."): value for key, value in keywords.items()}


class MarketModel(mesa.Model):
    """An AI-model market: firms, product lines, adopters, contributors and regulators.

    Args:
        scenario: A Scenario, a shipped scenario's name or a path.
        rng: Root seed (Mesa's keyword); ``seed`` is the same, for Mesa 3.3's older name.
        seed: Root seed.
        replication: Replication number (its random streams; common random numbers).
        engine: ``"exact"`` (binomial/multinomial draws) or ``"expected"`` (expected counts).
        **overrides: Dotted paths with ``.`` written as ``__`` (``world__network_effect=1.2``).

    Example:
        >>> import sim
        >>> model = sim.MarketModel("baseline", seed=1)
        >>> model.step()
        >>> model.month
        1
        >>> sorted(model.metrics()["region"].unique())
        ['CN', 'EU', 'RoW', 'US', 'World']
    """

    def __init__(self, scenario: Scenario | str = "baseline", *, rng: int | None = None,
                 seed: int | None = None, replication: int = 0, engine: str = "exact",
                 **overrides: Any):
        root = rng if rng is not None else (seed if seed is not None else 0)
        if isinstance(root, bool) or not isinstance(root, int | np.integer) or root < 0:
            raise ValueError(f"seed must be a non-negative integer, got {root!r}")
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
        super().__init__(rng=int(root))
        loaded = load_scenario(scenario)
        if overrides:
            loaded = loaded.with_overrides(overrides_from_keywords(overrides))
        self.scenario = loaded
        self.seed_value = int(root)
        self.replication = int(replication)
        self.params = compile_scenario(loaded)
        self.engine = Engine(self.params, int(root), np.array([self.replication]), engine)
        self.regions = list(self.params.structure.regions)
        self.segments = list(self.params.structure.segments)
        for row in range(self.params.structure.firm_capacity):
            Firm(self, row)
        for r in range(len(self.regions)):
            Regulator(self, r)
        for c in range(self.params.structure.contributor_region.shape[0]):
            Community(self, c)
        self.running = True
        self.datacollector = mesa.DataCollector(
            model_reporters={f"{name}|{region}|{segment}": _reporter(name, r, s)
                             for name in METRICS
                             for r, region in enumerate([*self.regions, "World"])
                             for s, segment in enumerate([*self.segments, "all"])},
            agent_reporters={"revenue": "revenue", "users": "users", "cash": "cash",
                             "capability": "capability"},
            agenttype_reporters=None)
        self.datacollector.collect(self)

    # ------------------------------------------------------------------ Mesa idioms

    @property
    def state(self):  # noqa: ANN201 - the engine's State
        """The engine's state arrays (world axis of size 1).

        Example:
            >>> import sim
            >>> sim.MarketModel("baseline", seed=1).state.counts.shape[0]
            1
        """
        return self.engine.state

    @property
    def month(self) -> int:
        """Steps taken (0 at the start)."""
        return self.engine.month

    @property
    def horizon(self) -> int:
        """The scenario's last step.

        Example:
            >>> import sim
            >>> sim.MarketModel("baseline", seed=1).horizon
            83
        """
        return self.engine.horizon

    def step(self) -> None:
        """One month (MODEL.md's schedule, written once in ``Engine.step``)."""
        self.engine.step()
        self.datacollector.collect(self)
        self.running = self.month < self.horizon

    def run_model(self) -> None:
        """Run to the horizon; ``running`` is False at the end (Mesa's idiom).

        Example:
            >>> import sim
            >>> model = sim.MarketModel("baseline", seed=1, scenario__months=2)
            >>> model.run_model()
            >>> model.month, model.running
            (2, False)
        """
        while self.running:
            self.step()

    def run(self, months: int | None = None) -> MarketModel:
        """Step to the horizon (or ``months`` more steps); returns self.

        Example:
            >>> import sim
            >>> sim.MarketModel("baseline", seed=1).run(months=2).month
            2
        """
        end = self.horizon if months is None else min(self.horizon, self.month + months)
        while self.month < end:
            self.step()
        return self

    # ------------------------------------------------------------------ outputs

    def metric(self, name: str, region: str = "World", segment: str = "all",
               month: int | None = None) -> float:
        """One metric of one market, this month (or ``month``).

        Example:
            >>> import sim
            >>> model = sim.MarketModel("baseline", seed=1)
            >>> 0 < model.metric("hhi_market", "US", "enterprise") <= 10_000
            True
        """
        r = [*self.regions, "World"].index(region)
        s = [*self.segments, "all"].index(segment)
        m = self.month if month is None else month
        return float(self.engine.recorder.market[0, m, r, s, INDEX[name]])

    def metrics(self) -> pd.DataFrame:
        """This month's metrics: one row per (region, segment), World and all included."""
        table = self.engine.recorder.market[0, self.month]
        rows = [{"month": self.month, "region": region, "segment": segment,
                 **dict(zip(METRICS, table[r, s], strict=True))}
                for r, region in enumerate([*self.regions, "World"])
                for s, segment in enumerate([*self.segments, "all"])]
        return pd.DataFrame(rows)

    def results(self, scenario_id: str = "scenario", replication: int | None = None
                ) -> dict[str, pd.DataFrame]:
        """Tidy ``market``, ``vendors``, ``products`` and ``events`` of the months run so far.

        Example:
            >>> import sim
            >>> tables = sim.MarketModel("baseline", seed=1).run(months=1).results("base")
            >>> sorted(tables), int(tables["market"]["month"].max())
            (['events', 'market', 'products', 'vendors'], 1)
        """
        rep = self.replication if replication is None else replication
        return self.engine.recorder.frames(self.engine.state, [scenario_id], np.array([rep]))


def _reporter(name: str, region: int, segment: int):  # noqa: ANN202 - a Mesa reporter
    index = INDEX[name]

    def report(model: MarketModel) -> float:
        return float(model.engine.recorder.market[0, model.month, region, segment, index])

    return report
