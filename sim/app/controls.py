"""The explorer's controls: the parameters a user can move, their ranges, what a setting means.

A :class:`Control` is one slider on a dotted scenario path. :func:`controls_for` picks the
parameters that matter for the question the explorer asks (MODEL.md 4-7; issue 20): the
network effect, the focus segment's price weight and usage elasticity, the misuse premium
(harm, so net welfare) and the start month of each policy the scenario adds to the baseline
(:func:`added_policies`); such a policy can also be switched off. The baseline's own policies
are dated facts (the EU AI Act, withheld launches: CALIBRATION.md), not levers, so they are
not offered.
Ranges come from the baseline's priors (``scenarios/priors/baseline.toml``, where each has its
source) when the path has one, and otherwise from a documented rule (:func:`_fallback_range`).

A setting (``{path: value}`` plus the policies switched off) changes two scenarios:

* the **what-if**: the scenario explored, with every setting applied;
* the **reference**: the baseline under the same *world* settings (every setting that is not
  a policy's), so the gap between the two lines is the policy's effect in the world the
  sliders describe. When the explored scenario is the baseline itself, the reference is the
  baseline as shipped, so moving a slider shows what that assumption does.

The notebook panel (:mod:`sim.widgets`) and the browser explorer (:mod:`sim.app.page`) share
this module, so both offer the same sliders with the same labels and ranges.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sim.errors import Problem, ScenarioError
from sim.scenario.loader import load_scenario
from sim.scenario.months import month_index, step_of
from sim.scenario.overrides import apply_overrides, value_at
from sim.scenario.schema import Scenario

__all__ = ["Control", "Setting", "controls_for", "focus_of", "scenarios_for", "month_label",
           "added_policies", "every_control", "controls_from_ranges", "legend_names", "nice_step"]

#: Slider positions per control: fine enough to feel continuous, coarse enough that a key
#: press moves the value visibly.
STEPS = 40


@dataclass(frozen=True)
class Control:
    """One slider on a dotted scenario path.

    Attributes:
        path: Dotted scenario path (``world.network_effect``).
        label: What a reader sees (short, no path: the path is in ``help``).
        low: Smallest value.
        high: Largest value.
        step: Slider step.
        value: The scenario's own value (where the slider starts).
        kind: ``"float"``, or ``"month"`` for a policy's start (an integer step).
        policy: The policy's label when the control belongs to one (not a world setting).
        help: The path and where the range comes from.
    """

    path: str
    label: str
    low: float
    high: float
    step: float
    value: float
    kind: str = "float"
    policy: str | None = None
    help: str = ""


@dataclass(frozen=True)
class Setting:
    """Where the controls stand: values by path and the policies switched off.

    Attributes:
        values: Dotted path -> value, for every control moved or not.
        disabled: Labels of the policies switched off.
    """

    values: Mapping[str, float] = field(default_factory=dict)
    disabled: frozenset[str] = frozenset()

    def world_key(self, controls: list[Control]) -> tuple[tuple[str, float], ...]:
        """The world settings (not the policies') as a hashable key (the reference's cache)."""
        world = {c.path for c in controls if c.policy is None}
        return tuple(sorted((p, float(v)) for p, v in self.values.items() if p in world))

    def key(self) -> tuple[Any, ...]:
        """The whole setting as a hashable key."""
        return (tuple(sorted((p, float(v)) for p, v in self.values.items())),
                tuple(sorted(self.disabled)))


def month_label(step: int, start: str) -> str:
    """Step ``step`` of a scenario starting at ``start`` as ``"YYYY-MM"``.

    Example:
        >>> month_label(36, "2024-01")
        '2027-01'
    """
    index = month_index(start) + int(step)
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def added_policies(scenario: Scenario, baseline: Scenario | str = "baseline") -> list[Any]:
    """The policies of ``scenario`` that ``baseline`` does not have (matched by label).

    Example:
        >>> [p.label for p in added_policies(load_scenario("eu_blocks_open"))]
        ['EU bans open weights']
    """
    known = {p.label for p in load_scenario(baseline).policies}
    return [p for p in scenario.policies if p.label not in known]


def focus_of(scenario: Scenario) -> tuple[str, str]:
    """The market the explorer opens on: the first added policy's region (or World), developers.

    Developers are the default segment because they are the one that chooses open weights
    most (MODEL.md 4): the segment where a policy on openness shows first.

    Example:
        >>> focus_of(load_scenario("eu_blocks_open"))
        ('EU', 'developer')
    """
    region = "World"
    for policy in added_policies(scenario):
        candidate = getattr(policy, "region", None)
        if isinstance(candidate, str) and candidate in scenario.region_names:
            region = candidate
            break
    segments = scenario.segment_names
    return region, ("developer" if "developer" in segments else segments[0])


@functools.lru_cache(maxsize=1)
def _priors() -> dict[str, tuple[float, float, str]]:
    """The baseline priors' ranges by path (empty when the file is not there), read once.

    Every :func:`controls_for` call reads them (once per segment for the panel and page).
    """
    from sim.experiment.priors import load_priors

    try:
        priors = load_priors("baseline")
    except (ScenarioError, OSError):
        return {}
    return {p.path: (p.low, p.high, p.scale) for p in priors.prior}


def _fallback_range(value: float) -> tuple[float, float]:
    """A range for a path without a prior: a quarter to four times the value (assumption).

    Four-fold either way spans the ranges the priors file gives the parameters it covers
    (e.g. the network effect's 0-0.6 around 0.105), without claiming a source.
    """
    if value > 0:
        return value / 4, value * 4
    return value - 1.0, value + 1.0


def _slider(path: str, label: str, value: float, priors: Mapping[str, Any]) -> Control:
    if path in priors:
        low, high, scale = priors[path]
        origin = f"range: the baseline prior ({scale})"
        if scale == "log" and high / max(low, 1e-12) > 100:
            # a log prior over decades (the misuse premium's 0.01-100) is unreadable on a
            # linear slider; the slider keeps the prior's low end and stops at 10x the value
            high = max(value * 10, low * 10)
            origin += f", cut at {high:g}"
    else:
        low, high = _fallback_range(value)
        origin = "range: 1/4 to 4x the scenario's value (assumption; no prior)"
    low, high = min(low, value), max(high, value)
    step = nice_step((high - low) / STEPS)
    # the slider's positions are low + n * step: put the scenario's value on one, or the
    # browser's slider snaps it to the nearest and the page opens on a setting nobody chose
    low = round(value - math.floor((value - low) / step + 1e-9) * step, 12)
    high = round(value + math.floor((high - value) / step + 1e-9) * step, 12)
    return Control(path=path, label=label, low=low, high=high, step=step, value=value,
                   help=f"{path}; {origin}")


def nice_step(raw: float) -> float:
    """``raw`` rounded down to 1, 2 or 5 times a power of ten (readable slider values)."""
    if raw <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(raw))
    for factor in (5, 2, 1):
        if factor * power <= raw:
            return factor * power
    return power


def controls_for(scenario: Scenario | str, segment: str | None = None) -> list[Control]:
    """The sliders of the explorer for ``scenario`` (segment parameters of ``segment``).

    Example:
        >>> [c.path for c in controls_for("eu_blocks_open")][:4]  # doctest: +NORMALIZE_WHITESPACE
        ['world.network_effect', 'segments.developer.price_weight',
         'segments.developer.usage_elasticity', 'harm.misuse_premium']
        >>> controls_for("eu_blocks_open")[-1].label
        'EU bans open weights: start'

        Every slider's own value is one of its positions (``low + n * step``):

        >>> eta = controls_for("eu_blocks_open")[0]
        >>> eta.value, round((eta.value - eta.low) / eta.step, 9).is_integer()
        (0.105, True)
    """
    scenario = load_scenario(scenario)
    segment = segment or focus_of(scenario)[1]
    priors = _priors()
    rows = [("world.network_effect", "Network effect (eta)"),
            (f"segments.{segment}.price_weight", f"Price weight, {segment}s (alpha)"),
            (f"segments.{segment}.usage_elasticity", f"Usage elasticity, {segment}s"),
            ("harm.misuse_premium", "Misuse premium of open weights (m)")]
    controls = [_slider(path, label, float(value_at(scenario, path)), priors)
                for path, label in rows]
    start, months = scenario.scenario.start, scenario.scenario.months
    for policy in added_policies(scenario):
        label = policy.label
        first = 1 if policy.kind == "merger" else 0
        controls.append(Control(
            path=f"policies.{_quoted(label)}.start", label=f"{label}: start",
            low=first, high=months, step=1, value=step_of(policy.start, start), kind="month",
            policy=label, help=f"first month the policy applies (step; 0 = {start})"))
    return controls


def _quoted(label: str) -> str:
    """A policy label as a path part (quoted when it is not a bare name)."""
    return label if label.isidentifier() else '"' + label.replace('"', '\\"') + '"'


def scenarios_for(scenario: Scenario | str, baseline: Scenario | str, controls: list[Control],
                  setting: Setting) -> tuple[Scenario, Scenario]:
    """The (reference, what-if) scenarios of ``setting`` (see the module docstring).

    Example:
        >>> base, what_if = load_scenario("baseline"), load_scenario("eu_blocks_open")
        >>> ctl = controls_for(what_if)
        >>> ref, new = scenarios_for(what_if, base, ctl,
        ...                          Setting({"world.network_effect": 0.3}))
        >>> ref.world.network_effect, new.world.network_effect
        (0.3, 0.3)
        >>> _, new = scenarios_for(what_if, base, ctl,
        ...                        Setting({}, frozenset({"EU bans open weights"})))
        >>> len(new.policies) == len(base.policies)
        True
    """
    scenario, baseline = load_scenario(scenario), load_scenario(baseline)
    by_path = {c.path: c for c in controls}
    world = {p: v for p, v in setting.values.items() if p in by_path and
             by_path[p].policy is None}
    policy = {p: (int(v) if by_path[p].kind == "month" else v)
              for p, v in setting.values.items()
              if p in by_path and by_path[p].policy is not None
              and by_path[p].policy not in setting.disabled}
    what_if = scenario
    if setting.disabled:
        kept = [p for p in scenario.policies if p.label not in setting.disabled]
        what_if = Scenario.model_validate({**scenario.model_dump(mode="python"),
                                           "policies": [p.model_dump(mode="python")
                                                        for p in kept]})
    # quiet: the scenarios were checked (and warned about) when they loaded; a slider's move
    # must not repeat those warnings at every update
    if world or policy:
        what_if = apply_overrides(what_if, {**world, **policy}, quiet=True)
    same = scenario.scenario.name == baseline.scenario.name
    reference = baseline if same or not world else apply_overrides(baseline, world, quiet=True)
    return reference, what_if


def legend_names(scenario: Scenario, baseline: Scenario) -> tuple[str, str]:
    """Legend names of (reference, what-if): scenario names, never ids (panel and page alike).

    Example:
        >>> legend_names(load_scenario("eu_blocks_open"), load_scenario("baseline"))[1]
        'EU blocks open-weights models'
    """
    what_if, reference = scenario.scenario.name, baseline.scenario.name
    if what_if == reference:
        return f"{reference} (as shipped)", f"{what_if} (your settings)"
    return reference, what_if


def every_control(scenario: Scenario) -> tuple[list[Control], dict[str, set[str]]]:
    """Every segment's controls (a moved slider keeps its value when the segment changes)."""
    rows = {segment: controls_for(scenario, segment) for segment in scenario.segment_names}
    seen: dict[str, Control] = {}
    for same_row in zip(*rows.values(), strict=True):  # each segment's price weight together
        for control in same_row:
            seen.setdefault(control.path, control)
    return list(seen.values()), {s: {c.path for c in mine} for s, mine in rows.items()}


def controls_from_ranges(scenario: Scenario,
                         ranges: Mapping[str, Sequence[float]]) -> list[Control]:
    """Controls from path -> (low, high): the explorer's label where it has one.

    Example:
        >>> [c.label for c in controls_from_ranges(load_scenario("baseline"), {
        ...     "world.network_effect": (0, 1), "world.entry_rate": (0, 2)})]
        ['Network effect (eta)', 'Entry rate (world)']
    """
    known = {c.path: c for c in every_control(scenario)[0]}
    controls = []
    for path, bounds in ranges.items():
        if (len(bounds) != 2 or not all(isinstance(b, int | float) for b in bounds)
                or not bounds[0] < bounds[1]):
            raise ScenarioError(Problem(f"expected (low, high) with low < high, got "
                                        f"{bounds!r}", path=path))
        low, high = float(bounds[0]), float(bounds[1])
        if path in known:  # a month stays a month; a value keeps its readable label
            old = known[path]
            controls.append(replace(old, low=low, high=high) if old.kind == "month" else
                            replace(old, low=low, high=high, step=nice_step((high - low) / STEPS),
                                    help=f"{path}; range: given"))
            continue
        value = value_at(scenario, path)  # an unknown path: one line, with a suggestion
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ScenarioError(Problem(f"a slider needs a number, the scenario has "
                                        f"{value!r}", path=path))
        controls.append(Control(path=path, label=_label(path), low=low, high=high,
                                step=nice_step((high - low) / STEPS), value=float(value),
                                help=f"{path}; range: given"))
    return controls


def _label(path: str) -> str:
    """``world.entry_rate`` -> ``Entry rate (world)``: the field in words, then where it is."""
    *where, name = path.split(".")
    words = name.replace("_", " ").capitalize()
    return f"{words} ({'.'.join(where)})" if where else words
