"""Branching one batch from another's month: the months two paired scenarios share, run once.

A what-if that adds a policy starting in 2027-01 to the baseline steps, until then, exactly
as the baseline does under the same parameters and random streams (common random numbers):
a policy is inert before its start (:func:`~sim.engine.rules.publish_rules`: no rule, no
event, no trigger counting). So the what-if can continue from a copy of the baseline's state
at the month before it diverges instead of stepping from month 0 again. The explorer uses
this when a policy's slider moves (``sim.app.ensemble``): the cached reference supplies the
shared months and only the rest is stepped.

The rule is conservative. :func:`divergence_month` allows a branch only when every compiled
parameter and every structural field except the policy list is identical, and the policies
that are not in both lists (in order) all start after month 0; otherwise it returns None and
the caller runs from the start. A branched run is bit-identical to a run from month 0:
``tests/test_fork.py`` checks it on every shipped scenario that adds policies to the baseline.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from sim.engine.engine import Engine
from sim.engine.params import CompiledPolicy, Params
from sim.engine.record import Recorder
from sim.engine.rules import Rules, TriggerMemory, new_trigger_memory
from sim.engine.state import State

__all__ = ["Snapshot", "snapshot", "divergence_month", "branch"]


@dataclass(frozen=True)
class Snapshot:
    """An engine's state after one month, small enough to keep one per month.

    Attributes:
        month: The step just taken.
        state: A copy of the state, without its events (``events`` says how many there were:
            events are only ever appended, so the final list's first ``events`` are these).
        events: Number of events so far.
        trigger_memory: A copy of the trigger counters.
        latest: ``[W, R + 1, S + 1, M]`` the month's market metrics (the rules read them).
        rules: The month's rules in force (shared, not copied: the engine publishes a new
            :class:`~sim.engine.rules.Rules` each month and never changes an old one).
    """

    month: int
    state: State
    events: int
    trigger_memory: TriggerMemory
    latest: np.ndarray
    rules: Rules


def _copy(value: Any) -> Any:
    """A copy of an array or a (possibly nested) dict of arrays; other values are shared."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    return value


def snapshot(engine: Engine) -> Snapshot:
    """The engine's state now (arrays copied: the engine goes on mutating its own).

    Example:
        >>> from sim.replication import compile_worlds
        >>> from sim.scenario.loader import load_scenario
        >>> from sim.scenario.overrides import with_horizon
        >>> engine = Engine(compile_worlds(with_horizon(load_scenario("baseline"), 2), None, 1),
        ...                 seed=1, replications=np.arange(1))
        >>> snapshot(engine.run(1)).month
        1
    """
    s = engine.state
    state = State(**{f.name: _copy(getattr(s, f.name)) for f in fields(s)
                     if f.name not in ("events", "scratch")},
                  events=[], scratch=_copy(s.scratch))
    memory = engine.trigger_memory
    return Snapshot(month=s.month, state=state, events=len(s.events),
                    trigger_memory=TriggerMemory(*(a.copy() for a in (
                        memory.active, memory.streak, memory.until, memory.fired))),
                    latest=engine.recorder.latest.copy(), rules=engine.rules)


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, CompiledPolicy) or isinstance(b, CompiledPolicy):
        return (isinstance(a, CompiledPolicy) and isinstance(b, CompiledPolicy)
                and _same_policy(a, b))
    if isinstance(a, dict) or isinstance(b, dict):
        return (isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys()
                and all(_same_value(a[k], b[k]) for k in a))
    if isinstance(a, np.ndarray | list | tuple) or isinstance(b, np.ndarray | list | tuple):
        a, b = np.asarray(a), np.asarray(b)
        if a.dtype == object or b.dtype == object:
            return a.shape == b.shape and all(_same_value(x, y) for x, y in
                                              zip(a.ravel(), b.ravel(), strict=True))
        floating = np.issubdtype(a.dtype, np.floating) and np.issubdtype(b.dtype, np.floating)
        return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=floating))
    return type(a) is type(b) and a == b


def _same_policy(a: CompiledPolicy, b: CompiledPolicy) -> bool:
    return all(_same_value(getattr(a, f.name), getattr(b, f.name)) for f in fields(a))


def _matches(reference: tuple[CompiledPolicy, ...], other: tuple[CompiledPolicy, ...]
             ) -> list[tuple[int, int]]:
    """In-order pairs (i, j) of identical policies (greedy: the lists are short)."""
    pairs, start = [], 0
    for j, policy in enumerate(other):
        for i in range(start, len(reference)):
            if _same_policy(reference[i], policy):
                pairs.append((i, j))
                start = i + 1
                break
    return pairs


def divergence_month(reference: Params, other: Params) -> int | None:
    """The first step at which ``other`` can differ from ``reference``; None: from step 0.

    Returns ``months + 1`` when nothing differs (the runs are the same).

    Example:
        >>> from sim.engine.compile import shared_cuts
        >>> from sim.replication import compile_worlds
        >>> from sim.scenario.loader import load_scenario
        >>> base, ban = load_scenario("baseline"), load_scenario("eu_blocks_open")
        >>> cuts = shared_cuts([base, ban])
        >>> divergence_month(compile_worlds(base, None, 2, cuts),
        ...                  compile_worlds(ban, None, 2, cuts))  # 2027-01
        36
    """
    a, b = reference.structure, other.structure
    if reference.worlds != other.worlds:
        return None
    for f in fields(a):
        if f.name != "policies" and not _same_value(getattr(a, f.name), getattr(b, f.name)):
            return None
    for f in fields(reference):
        if f.name != "structure" and not _same_value(getattr(reference, f.name),
                                                     getattr(other, f.name)):
            return None
    pairs = _matches(a.policies, b.policies)
    unmatched = ([p for i, p in enumerate(a.policies) if i not in {i for i, _ in pairs}]
                 + [p for j, p in enumerate(b.policies) if j not in {j for _, j in pairs}])
    first = min((p.start for p in unmatched), default=a.months + 1)
    return first if first >= 1 else None


def branch(params: Params, reference: Params, seed: int, replications: np.ndarray,
           engine: str, at: Snapshot, recorded: Recorder, events: list) -> Engine:
    """An engine for ``params`` continuing from the reference's snapshot ``at``.

    Args:
        params: The other scenario's parameters (:func:`divergence_month` must allow
            ``at.month + 1``).
        reference: The reference's parameters (its policy list maps the trigger counters).
        seed: Root seed (the reference's).
        replications: ``[W]`` replication numbers (the reference's).
        engine: Demand engine (the reference's).
        at: The reference's snapshot of the last shared month.
        recorded: The reference's recorder (months ``0 .. at.month`` are copied).
        events: The reference's final event list (its first ``at.events`` are copied).
    """
    first = divergence_month(reference, params)
    if first is None or first <= at.month:
        raise ValueError(f"the runs diverge at step {first}, before the snapshot's "
                         f"step {at.month + 1}")
    state = State(**{f.name: _copy(getattr(at.state, f.name)) for f in fields(at.state)
                     if f.name not in ("events", "scratch")},
                  events=list(events[: at.events]), scratch=_copy(at.state.scratch))
    memory = new_trigger_memory(params)
    for i, j in _matches(reference.structure.policies, params.structure.policies):
        for mine, theirs in zip((memory.active, memory.streak, memory.until, memory.fired),
                                (at.trigger_memory.active, at.trigger_memory.streak,
                                 at.trigger_memory.until, at.trigger_memory.fired), strict=True):
            mine[:, j] = theirs[:, i]
    recorder = Recorder(params, state, recorded.keep_months)
    recorder.copy_months(recorded, at.month, at.latest)
    return Engine.resumed(params, seed, replications, engine, state, memory, recorder, at.rules)
