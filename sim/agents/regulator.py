"""Regulators: one Mesa agent per region, owning that region's policies.

Each month (phase 1) a regulator switches its scheduled policies on and off by
their windows, evaluates its reactive triggers on last month's metrics, and
reports the policies in force; :mod:`sim.policies` turns them into rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import mesa

from sim.scenario.months import step_of
from sim.scenario.schema import Merger, Trigger

if TYPE_CHECKING:
    from sim.model import MarketModel

__all__ = ["Regulator", "Window"]


@dataclass
class Window:
    """A policy with its window in steps (``end`` exclusive; None = open-ended)."""

    policy: Any
    start: int
    end: int | None
    active: bool = False

    def covers(self, month: int) -> bool:
        """Whether the policy applies in ``month``."""
        return self.start <= month and (self.end is None or month < self.end)


@dataclass
class TriggerState:
    """A reactive rule's counters."""

    trigger: Trigger
    start: int
    end: int | None
    streak: int = 0
    fired_until: int | None = None
    fired: int = 0


def describe(policy: Any) -> str:
    """Short human text for a policy (used in events)."""
    if getattr(policy, "label", ""):
        return f"{policy.kind}: {policy.label}"
    return policy.kind


class Regulator(mesa.Agent):
    """The regulator of one region.

    Args:
        model: The market model.
        region: Region index.
    """

    def __init__(self, model: MarketModel, region: int):
        super().__init__(model)
        self.region = region
        self.region_name = model.scenario.region_names[region]
        start = model.scenario.scenario.start
        self.windows: list[Window] = []
        self.triggers: list[TriggerState] = []
        for policy in model.scenario.policies:
            if not self._concerns(policy, region):
                continue
            begin = step_of(policy.start, start)
            end = None if policy.end is None else step_of(policy.end, start)
            if isinstance(policy, Trigger):
                self.triggers.append(TriggerState(policy, begin, end))
            else:
                self.windows.append(Window(policy, begin, end))

    def _concerns(self, policy: Any, region: int) -> bool:
        if isinstance(policy, Merger):  # a merger is global: the first regulator runs it
            return region == 0
        return policy.region in ("*", self.region_name)

    def update(self, month: int) -> tuple[list[Any], list[Merger]]:
        """Switch policies for ``month`` and evaluate triggers.

        Returns:
            ``(active, mergers)``: policies in force in this region this month, and
            mergers that take effect this month.
        """
        active: list[Any] = []
        mergers: list[Merger] = []
        for window in self.windows:
            now = window.covers(month)
            if isinstance(window.policy, Merger):
                if month == window.start:
                    mergers.append(window.policy)
                continue
            if now != window.active:
                kind = "policy_on" if now else "policy_off"
                self.model.record_event(month, self.region_name, None, kind,
                                        describe(window.policy))
                window.active = now
            if now:
                active.append(self._localise(window.policy))
        for state in self.triggers:
            active.extend(self._evaluate(state, month))
        return active, mergers

    def _localise(self, policy: Any) -> Any:
        """A ``"*"`` policy applies here as this region's policy."""
        if policy.region == "*":
            return policy.model_copy(update={"region": self.region_name})
        return policy

    def _evaluate(self, state: TriggerState, month: int) -> list[Any]:
        trigger = state.trigger
        if state.fired_until is not None:
            if month < state.fired_until:
                return [self._nested(trigger)]
            state.fired_until = None
            state.streak = 0
            self.model.record_event(month, self.region_name, None, "policy_off",
                                    f"trigger expired: {describe(trigger.policy)}")
        watching = month >= max(1, state.start) and (state.end is None or month < state.end)
        if not watching or (state.fired and not trigger.repeat):
            return []
        value = self.model.last_metric(trigger.metric, self.region, trigger.segment)
        crossed = (value > trigger.above) if trigger.above is not None else (value < trigger.below)
        state.streak = state.streak + 1 if crossed else 0
        if state.streak < trigger.months:
            return []
        state.fired += 1
        state.fired_until = month + trigger.duration
        side = f"above {trigger.above:g}" if trigger.above is not None else \
            f"below {trigger.below:g}"
        self.model.record_event(
            month, self.region_name, None, "trigger",
            f"{trigger.metric} {side} for {trigger.months} months: applying "
            f"{describe(trigger.policy)} for {trigger.duration} months")
        return [self._nested(trigger)]

    def _nested(self, trigger: Trigger) -> Any:
        return trigger.policy.model_copy(update={"region": self.region_name})
