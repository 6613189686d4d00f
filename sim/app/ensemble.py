"""A small live ensemble: the reference and the what-if, run fast enough to follow a slider.

Speed comes from three choices, measured in docs/explorer.md:

* the engine's arrays are read directly (no tidy tables, no results folder): one
  :class:`~sim.engine.engine.Engine` batch of ``replications`` worlds per scenario, with the
  expected-count demand engine (the ensemble commands' default);
* the reference and the what-if run at the same time in two worker processes;
* reference runs are cached by their world settings, so moving a policy's slider re-runs the
  what-if only, and only from the month it departs from the reference: the cached reference
  keeps a snapshot of every month (:mod:`sim.engine.fork`), and a what-if that differs only
  by policies starting in 2027-01 continues from the reference's 2026-12 (bit-identical to a
  run from the start; ``tests/test_fork.py``).

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
from dataclasses import dataclass, replace

import numpy as np

from sim.engine.compile import shared_cuts
from sim.engine.engine import Engine
from sim.engine.fork import Snapshot, branch, divergence_month, snapshot
from sim.engine.metrics import INDEX
from sim.engine.names import firm_name
from sim.engine.params import Params
from sim.engine.record import FIRM_FIELDS, Recorder
from sim.replication import compile_worlds
from sim.scenario.schema import Scenario

__all__ = ["Outcome", "Trunk", "simulate", "LiveEnsemble", "Comparison"]

#: Reference runs kept (settings of the world sliders); each is ~15 MB with its snapshots.
CACHE_SIZE = 8


@dataclass(frozen=True)
class Trunk:
    """What a run that branches off a reference needs from it (:func:`sim.engine.fork.branch`).

    Attributes:
        params: The reference's compiled parameters.
        recorder: Its records (the months before the branch are copied).
        events: Its final event list.
        snapshots: Its state after each month, month 0 first.
    """

    params: Params
    recorder: Recorder
    events: list
    snapshots: tuple[Snapshot, ...]


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
        branched_at: The first month stepped when the run continued from a reference's
            snapshot (None: run from month 0).
        trunk: The run's snapshots, when asked for (a reference's, to branch from).
    """

    market: np.ndarray
    firm_usage: dict[str, np.ndarray]
    regions: tuple[str, ...]
    segments: tuple[str, ...]
    start: str
    seconds: float
    scenario: Scenario
    branched_at: int | None = None
    trunk: Trunk | None = None

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


def simulate(scenario: Scenario, partner: Scenario, seed: int, replications: int, *,
             keep_trunk: bool = False, trunk: Trunk | None = None) -> Outcome:
    """Run ``replications`` worlds of ``scenario``, paired with ``partner`` (its access groups).

    Args:
        scenario: The scenario run.
        partner: The scenario it is compared with (both are compiled with the access groups
            of both).
        seed: Root seed.
        replications: Worlds (replications ``0 .. replications - 1``).
        keep_trunk: Keep a snapshot of every month in ``Outcome.trunk`` (a reference's).
        trunk: A reference run's trunk (same seed and replications): continue from its
            month before the two runs can first differ, when :func:`~sim.engine.fork.
            divergence_month` allows it; run from month 0 otherwise.

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
    worlds = np.arange(replications)
    first = None if trunk is None else divergence_month(trunk.params, params)
    if first is not None:
        at = trunk.snapshots[min(first, params.structure.months + 1) - 1]
        engine = branch(params, trunk.params, int(seed), worlds, "expected", at,
                        trunk.recorder, trunk.events)
    else:
        engine = Engine(params, int(seed), worlds, "expected")
    snapshots = [snapshot(engine)] if keep_trunk else []
    while engine.month < engine.horizon:
        engine.step()
        if keep_trunk:
            snapshots.append(snapshot(engine))
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
    kept = Trunk(params, recorder, list(state.events), tuple(snapshots)) if keep_trunk else None
    return Outcome(market=recorder.market, firm_usage=firm_usage,
                   regions=(*st.regions, "World"), segments=(*st.segments, "all"),
                   start=scenario.scenario.start, seconds=time.perf_counter() - began,
                   scenario=scenario, branched_at=None if first is None else first, trunk=kept)


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


#: The trunks of cached references, in the process that ran them (the reference worker, or
#: this process without workers), by (seed, replications, cache key): a branch runs where
#: its trunk is, so the ~30 MB of snapshots and records never cross a process boundary. A
#: cache only: a missing trunk means a run from month 0, with the same numbers.
_TRUNKS: OrderedDict[tuple, Trunk] = OrderedDict()


def _run_reference(scenario: Scenario, partner: Scenario, seed: int, replications: int,
                   key: tuple) -> Outcome:
    """A reference run; its trunk stays in this process under ``key``."""
    outcome = simulate(scenario, partner, seed, replications, keep_trunk=True)
    _TRUNKS[key] = outcome.trunk
    while len(_TRUNKS) > CACHE_SIZE:
        _TRUNKS.popitem(last=False)
    return replace(outcome, trunk=None)


def _run_what_if(scenario: Scenario, partner: Scenario, seed: int, replications: int,
                 key: tuple | None) -> Outcome:
    """A what-if run, branching off the trunk stored under ``key`` when there is one."""
    trunk = None if key is None else _TRUNKS.get(key)
    if trunk is not None:
        _TRUNKS.move_to_end(key)
    return simulate(scenario, partner, seed, replications, trunk=trunk)


class LiveEnsemble:
    """Runs (reference, what-if) pairs, caching references and branching off them.

    With ``jobs`` > 1 two worker processes run: the reference worker runs (and keeps the
    trunks of) references and every what-if that branches off one; the other runs the
    what-if of an uncached setting at the same time as its reference. Use it as a context
    manager, or call :meth:`close`, to stop them.

    Args:
        seed: Root seed.
        replications: Worlds per scenario.
        jobs: 2 runs in two worker processes; 1 runs in this process.

    Example:
        >>> from sim.scenario.loader import load_scenario
        >>> from sim.scenario.overrides import with_horizon
        >>> base = with_horizon(load_scenario("baseline"), 2)
        >>> with LiveEnsemble(seed=1, replications=2) as live:
        ...     first = live.compare(base, base, key=("base",))
        ...     again = live.compare(base, base, key=("base",))
        >>> first.cached, again.cached
        (False, True)
    """

    def __init__(self, seed: int = 0, replications: int = 4, jobs: int = 1):
        self.seed = int(seed)
        self.replications = int(replications)
        self._workers: tuple[Executor, Executor] | None = None
        if jobs > 1:
            from sim.experiment.pool import process_pool

            self._workers = (process_pool(1), process_pool(1))
        self._cache: OrderedDict[tuple, Outcome] = OrderedDict()

    def __enter__(self) -> LiveEnsemble:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker processes (nothing to do without them)."""
        if self._workers is not None:
            for worker in self._workers:
                worker.shutdown(wait=False, cancel_futures=True)
            self._workers = None

    def _submit(self, worker: int, task: Callable[..., Outcome], scenario: Scenario,
                partner: Scenario, key: tuple | None) -> Callable[[], Outcome]:
        args = (scenario, partner, self.seed, self.replications, key)
        if self._workers is None:
            return lambda: task(*args)
        future: Future = self._workers[worker].submit(task, *args)
        return future.result

    def compare(self, reference: Scenario, what_if: Scenario, key: tuple) -> Comparison:
        """Both outcomes; ``key`` identifies the reference (its world settings).

        The access groups the pair shares are part of the cache key: switching a partially
        enforced ban off changes them, and with them the reference's arithmetic. On a cache
        hit the what-if branches off the cached reference (in the reference worker, where its
        trunk is); on a miss both run from month 0 at the same time, because waiting for
        the reference's shared months would take longer than stepping them again.
        """
        began = time.perf_counter()
        key = (self.seed, self.replications, tuple(key), shared_cuts([reference, what_if]))
        cached = key in self._cache
        if cached:
            ref = self._cache[key]
            new = self._submit(0, _run_what_if, what_if, reference, key)()
        else:
            later_ref = self._submit(0, _run_reference, reference, what_if, key)
            later_new = self._submit(1, _run_what_if, what_if, reference, None)
            ref, new = later_ref(), later_new()
            self._cache[key] = ref
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        self._cache.move_to_end(key)
        return Comparison(reference=ref, what_if=new, seconds=time.perf_counter() - began,
                          cached=cached)
