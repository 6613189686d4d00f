"""A small live ensemble: the reference and the what-if, run fast enough to follow a slider.

Speed comes from three choices, measured in docs/explorer.md:

* the engine's arrays are read directly (no tidy tables, no results folder): one
  :class:`~sim.engine.engine.Engine` batch of ``replications`` worlds per scenario, with the
  expected-count demand engine (the ensemble commands' default);
* the reference and the what-if run at the same time in two worker processes;
* reference runs are cached by their world settings, so moving a policy's slider re-runs the
  what-if only.

Both scenarios are compiled with the access groups of both (``shared_cuts``), and world ``i``
of each uses replication ``i``'s random streams: the pair differs only by what the setting
changes (common random numbers, as in ``sim.run``). The same (setting, seed, replications)
gives the same numbers in any process.

The band drawn around each line is the range over the replications: luck only (contributors
and entrants), with every parameter fixed at the sliders. It is not a credible interval.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass

import numpy as np

from sim.engine.compile import shared_cuts
from sim.engine.engine import Engine
from sim.engine.metrics import INDEX
from sim.engine.names import firm_name
from sim.engine.record import FIRM_FIELDS
from sim.replication import compile_worlds
from sim.scenario.schema import Scenario

__all__ = ["Outcome", "simulate", "LiveEnsemble", "Comparison"]

#: Reference runs kept (settings of the world sliders); each is a few MB.
CACHE_SIZE = 16


@dataclass(frozen=True)
class Outcome:
    """One scenario's small ensemble.

    Attributes:
        market: ``[W, T, R + 1, S + 1, M]`` market metrics (``World`` and ``all`` last).
        firm_usage: Firm name -> ``[W, T, R + 1]`` tokens used (0 where the firm is absent).
        regions: Region names (``World`` appended).
        segments: Segment names (``all`` appended).
        start: Calendar month of step 0.
        seconds: Wall time of the run.
        scenario: The scenario run.
    """

    market: np.ndarray
    firm_usage: dict[str, np.ndarray]
    regions: tuple[str, ...]
    segments: tuple[str, ...]
    start: str
    seconds: float
    scenario: Scenario

    def series(self, metric: str, region: str, segment: str) -> np.ndarray:
        """``[W, T]`` values of one metric in one market."""
        r, s = self.regions.index(region), self.segments.index(segment)
        return self.market[:, :, r, s, INDEX[metric]]

    def firm_shares(self, region: str) -> dict[str, np.ndarray]:
        """Firm name -> ``[W, T]`` share of the region's tokens (firms with any usage)."""
        r = self.regions.index(region)
        total = sum(u[:, :, r] for u in self.firm_usage.values())
        with np.errstate(invalid="ignore", divide="ignore"):
            return {name: np.where(total > 0, u[:, :, r] / total, np.nan)
                    for name, u in self.firm_usage.items() if np.nansum(u[:, :, r]) > 0}


def simulate(scenario: Scenario, partner: Scenario, seed: int, replications: int) -> Outcome:
    """Run ``replications`` worlds of ``scenario``, paired with ``partner`` (its access groups).

    Example:
        >>> from sim.scenario.loader import load_scenario
        >>> from sim.scenario.overrides import with_horizon
        >>> base = with_horizon(load_scenario("baseline"), 3)
        >>> out = simulate(base, base, seed=1, replications=2)
        >>> out.series("hhi_market", "EU", "developer").shape
        (2, 4)
    """
    began = time.perf_counter()
    cuts = shared_cuts([scenario, partner])
    params = compile_worlds(scenario, None, replications, cuts)
    engine = Engine(params, int(seed), np.arange(replications), "expected").run()
    recorder, state = engine.recorder, engine.state
    usage = recorder.firms[..., FIRM_FIELDS.index("usage")]  # [W, T, R + 1, F]
    firm_usage: dict[str, np.ndarray] = {}
    for world in range(replications):
        for row in range(usage.shape[3]):
            series = np.nan_to_num(usage[world, :, :, row])
            if not series.any():
                continue
            name = firm_name(params, state, world, row)
            firm_usage.setdefault(name, np.zeros(usage.shape[:3]))[world] += series
    st = params.structure
    return Outcome(market=recorder.market, firm_usage=firm_usage,
                   regions=(*st.regions, "World"), segments=(*st.segments, "all"),
                   start=scenario.scenario.start, seconds=time.perf_counter() - began,
                   scenario=scenario)


@dataclass(frozen=True)
class Comparison:
    """The reference and the what-if of one setting, and how long the update took.

    Attributes:
        reference: The reference's outcome.
        what_if: The what-if's outcome.
        seconds: Wall time from the request to both outcomes (cache hits are fast).
        cached: Whether the reference came from the cache.
    """

    reference: Outcome
    what_if: Outcome
    seconds: float
    cached: bool


class LiveEnsemble:
    """Runs (reference, what-if) pairs, in an executor when one is given, caching references.

    Args:
        seed: Root seed.
        replications: Worlds per scenario.
        executor: Where to run (two processes let both scenarios run at once); None runs in
            this process.

    Example:
        >>> from sim.scenario.loader import load_scenario
        >>> from sim.scenario.overrides import with_horizon
        >>> base = with_horizon(load_scenario("baseline"), 2)
        >>> live = LiveEnsemble(seed=1, replications=2)
        >>> first = live.compare(base, base, key=("base",))
        >>> again = live.compare(base, base, key=("base",))
        >>> first.cached, again.cached
        (False, True)
    """

    def __init__(self, seed: int = 0, replications: int = 4, executor: Executor | None = None):
        self.seed = int(seed)
        self.replications = int(replications)
        self.executor = executor
        self._cache: OrderedDict[tuple, Outcome] = OrderedDict()

    def _submit(self, scenario: Scenario, partner: Scenario) -> Callable[[], Outcome]:
        if self.executor is None:
            return lambda: simulate(scenario, partner, self.seed, self.replications)
        future: Future = self.executor.submit(simulate, scenario, partner, self.seed,
                                              self.replications)
        return future.result

    def compare(self, reference: Scenario, what_if: Scenario, key: tuple) -> Comparison:
        """Both outcomes; ``key`` identifies the reference (its world settings).

        The access groups the pair shares are part of the cache key: switching a partially
        enforced ban off changes them, and with them the reference's arithmetic.
        """
        began = time.perf_counter()
        key = (tuple(key), shared_cuts([reference, what_if]))
        cached = key in self._cache
        later_ref = None if cached else self._submit(reference, what_if)
        later_new = self._submit(what_if, reference)
        ref = self._cache[key] if cached else later_ref()
        new = later_new()
        if not cached:
            self._cache[key] = ref
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        self._cache.move_to_end(key)
        return Comparison(reference=ref, what_if=new, seconds=time.perf_counter() - began,
                          cached=cached)
