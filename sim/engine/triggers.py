"""Triggers: policies that come into force when a market metric crosses a threshold.

A ``trigger`` policy watches last month's value of a metric in its regions, per world; when
it has stayed beyond the threshold for ``months`` months the trigger fires and its nested
policy applies for ``duration`` months (again and again with ``repeat``). Its counters live
from month to month in a :class:`TriggerMemory`, which also remembers which scheduled
policies were in force last month, so that a policy switching on or off writes a
``policy_on`` / ``policy_off`` event (:func:`policy_events`).

Separate from :mod:`sim.engine.rules` because it is the one part of phase 1 that keeps
state across months; ``rules.publish_rules`` advances the triggers and reads what they
apply. ``sim.engine.rules`` re-exports ``Metric``, ``TriggerMemory`` and
``new_trigger_memory``, the names its callers use.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sim.engine.params import CompiledPolicy, Params
from sim.engine.state import Event

__all__ = ["Metric", "TriggerMemory", "new_trigger_memory", "region_mask", "policy_detail",
           "policy_events", "advance_trigger"]

#: ``metric(name, region_index, segment_index_or_None) -> [W]`` last month's value per world.
Metric = Callable[[str, int, int | None], np.ndarray]


@dataclass
class TriggerMemory:
    """Counters of policies across months (mutated in place by ``rules.publish_rules``).

    ``P`` is the number of top-level policies; entries of non-trigger policies in the
    trigger arrays are unused.

    Attributes:
        active: ``[W, P]`` bool: the scheduled policy was in force last month (for events).
        streak: ``[W, P, R]`` months in a row the trigger's condition has held.
        until: ``[W, P, R]`` first month the fired nested policy no longer applies (-1: not
            applying).
        fired: ``[W, P, R]`` times the trigger has fired.
    """

    active: np.ndarray
    streak: np.ndarray
    until: np.ndarray
    fired: np.ndarray

    def select(self, index: np.ndarray) -> TriggerMemory:
        """The memory of worlds ``index`` (as :func:`~sim.engine.params.select_worlds`)."""
        return TriggerMemory(*(np.take(a, index, axis=0)
                               for a in (self.active, self.streak, self.until, self.fired)))


def new_trigger_memory(params: Params) -> TriggerMemory:
    """Fresh counters for the batch: nothing in force, no trigger fired."""
    w, p, r = params.worlds, len(params.structure.policies), params.structure.n_regions
    return TriggerMemory(active=np.zeros((w, p), dtype=bool),
                         streak=np.zeros((w, p, r), dtype=np.int64),
                         until=np.full((w, p, r), -1, dtype=np.int64),
                         fired=np.zeros((w, p, r), dtype=np.int64))


@functools.lru_cache(maxsize=256)
def region_mask(regions: tuple[int, ...], n_regions: int) -> np.ndarray:
    """``[R]`` bool (read-only: one array per policy, reused every month of every run)."""
    mask = np.zeros(n_regions, dtype=bool)
    mask[list(regions)] = True
    mask.flags.writeable = False
    return mask


def policy_detail(policy: CompiledPolicy) -> str:
    """The policy as an event's ``detail`` names it: its kind, and its label if it has one."""
    return f"{policy.kind}: {policy.label}" if policy.label else policy.kind


def policy_events(params: Params, month: int, mask: np.ndarray, kind: str, detail: str,
            firm: str | None = None) -> list[Event]:
    """One event per (world, region) of ``mask[W, R]`` (events are rare: a short loop)."""
    if not mask.any():  # the usual month: nothing switches (a quick exit, called per policy)
        return []
    regions = params.structure.regions
    return [Event(int(w), month, regions[r], firm, None, kind, detail)
            for w, r in zip(*np.nonzero(mask), strict=True)]


def advance_trigger(params: Params, p: int, policy: CompiledPolicy, month: int,
             memory: TriggerMemory, metric: Metric, events: list[Event]) -> np.ndarray:
    """Advance trigger ``p`` to ``month``; ``[W, R]`` watched regions where its policy applies."""
    v, n_r = policy.values, params.structure.n_regions
    watched = region_mask(policy.regions, n_r)[None, :]
    streak, until, fired = memory.streak[:, p], memory.until[:, p], memory.fired[:, p]
    nested = policy_detail(policy.nested) if policy.nested is not None else "nothing"
    expired = (until >= 0) & (until <= month)
    events += policy_events(params, month, expired, "policy_off", f"trigger expired: {nested}")
    until[expired], streak[expired] = -1, 0
    applying = until > month
    # last month's metric exists from step 1 on; the window bounds the watching only
    if month >= max(1, policy.start) and (policy.end is None or month < policy.end):
        eligible = watched & ~applying & (bool(v.get("repeat", False)) | (fired == 0))
        above, below = v.get("above"), v.get("below")
        for r in policy.regions:
            value = np.asarray(metric(v["metric"], r, v.get("segment")), dtype=float)
            crossed = value > above if above is not None else value < below  # NaN: False
            streak[:, r] = np.where(eligible[:, r], np.where(crossed, streak[:, r] + 1, 0),
                                    streak[:, r])
        fire = eligible & (streak >= int(v.get("months", 1)))
        fired += fire
        until[fire] = month + int(v.get("duration", 1))
        side = f"above {above:g}" if above is not None else f"below {below:g}"
        events += policy_events(params, month, fire, "policy_on",
                          f"trigger: {v['metric']} {side} for {v.get('months', 1)} months: "
                          f"applying {nested} for {v.get('duration', 1)} months")
        applying |= fire
    return applying & watched
