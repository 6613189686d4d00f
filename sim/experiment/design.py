"""Parameter ranges (``--vary PATH=LOW:HIGH``) and experimental designs (grid, LHS, Sobol).

A range names a scenario field by the same dotted paths as overrides. Numeric
ranges sample uniformly (integers for integer fields, rounded); ``PATH=a,b,c``
lists categorical choices. Designs come from :mod:`scipy.stats.qmc`.
"""

from __future__ import annotations

import copy
import itertools
import math
from dataclasses import dataclass
from typing import Any, Literal, get_args, get_origin

import numpy as np
import pandas as pd
from scipy.stats import qmc

from sim.errors import Problem, ScenarioError
from sim.experiment.limits import check_points
from sim.scenario.overrides import parse_value, scenario_data
from sim.scenario.paths import locate, strip_annotation
from sim.scenario.schema import Scenario

__all__ = ["Parameter", "parse_range", "make_design", "design_size", "DESIGNS", "apply_row"]

DESIGNS = ("grid", "lhs", "sobol")


@dataclass(frozen=True)
class Parameter:
    """A varied parameter: a numeric range or a list of choices."""

    path: str
    low: float | None = None
    high: float | None = None
    integer: bool = False
    choices: tuple[Any, ...] | None = None

    @property
    def numeric(self) -> bool:
        """Whether it is a numeric range (SALib needs these)."""
        return self.choices is None

    def scale(self, unit: np.ndarray) -> list[Any]:
        """Map points in [0, 1) to values."""
        if self.choices is not None:
            index = np.minimum((unit * len(self.choices)).astype(int), len(self.choices) - 1)
            return [self.choices[i] for i in index]
        values = self.low + unit * (self.high - self.low)
        if self.integer:
            return [int(v) for v in np.clip(np.round(values), self.low, self.high)]
        return [float(v) for v in values]

    def level_count(self, k: int) -> int:
        """How many levels :meth:`levels` gives (at most; integers may coincide)."""
        if self.choices is not None:
            return len(self.choices)
        if self.integer:
            return min(k, self._integers() + 2)
        return k

    def _integers(self) -> int:
        return max(0, math.floor(self.high) - math.ceil(self.low) + 1)

    def levels(self, k: int) -> list[Any]:
        """Grid levels: ``k`` evenly spaced values from low to high (or every choice)."""
        if self.choices is not None:
            return list(self.choices)
        if self.integer:  # beyond a step below 1, more points give no new integer
            k = min(k, self._integers() + 2)
        values = np.linspace(self.low, self.high, k) if k > 1 else np.array(
            [(self.low + self.high) / 2])
        if self.integer:
            return sorted({int(round(v)) for v in values})
        return [float(v) for v in values]


def _field_kind(annotation: Any) -> str:
    stripped = strip_annotation(annotation)
    if stripped is bool:
        return "bool"
    if stripped is int:
        return "int"
    if stripped is float:
        return "float"
    if get_origin(stripped) is Literal:
        return "choice"
    if get_origin(stripped) is not None and get_args(stripped):
        kinds = {_field_kind(a) for a in get_args(stripped)}
        if kinds <= {"int", "float"}:
            return "float"
    return "other"


def parse_range(text: str, scenario: Scenario, option: str = "--vary") -> Parameter:
    """Parse ``PATH=LOW:HIGH`` or ``PATH=a,b,c`` against ``scenario``.

    Example:
        >>> import sim
        >>> p = sim.parse_range("world.network_effect=0.1:0.5", sim.load_scenario("baseline"))
        >>> p.path, p.low, p.high
        ('world.network_effect', 0.1, 0.5)

    Raises:
        ScenarioError: Unknown path (with a suggestion), LOW >= HIGH, a non-numeric bound
            for a numeric field, or a range on a field that cannot vary.
    """
    path, sep, spec = text.partition("=")
    path = path.strip()
    if not sep or not path or not spec.strip():
        raise ScenarioError(f"{option} expects PATH=LOW:HIGH or PATH=a,b,c, got {text!r}")
    target = locate(copy.deepcopy(scenario_data(scenario)), path, type(scenario))
    kind = _field_kind(target.annotation)
    if "," in spec or kind in ("choice", "bool"):
        choices = tuple(parse_value(v.strip(), target.annotation) for v in spec.split(","))
        if len(choices) < 2 and ":" not in spec:
            raise ScenarioError(Problem(f"{option} needs LOW:HIGH or at least two choices "
                                        f"a,b, got {spec!r}", path=path))
        if ":" not in spec:
            for choice in choices:  # every choice must be a valid value of the field
                scenario.with_overrides({path: choice})
            return Parameter(path, choices=choices)
    low_text, colon, high_text = spec.partition(":")
    if not colon:
        raise ScenarioError(Problem(f"{option} expects LOW:HIGH, got {spec!r}", path=path))
    if kind not in ("int", "float"):
        raise ScenarioError(Problem(f"{option}: {path} is not numeric; list choices as "
                                    "a,b,c instead", path=path))
    try:
        low, high = float(low_text), float(high_text)
    except ValueError:
        raise ScenarioError(Problem(f"{option}: LOW and HIGH must be numbers, got {spec!r}",
                                    path=path)) from None
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ScenarioError(Problem(f"{option}: bounds must be finite, got {spec!r}", path=path))
    if low >= high:
        raise ScenarioError(Problem(f"{option}: LOW must be below HIGH, got {spec!r}", path=path))
    parameter = Parameter(path, low, high, integer=kind == "int")
    for value in (low, high):  # both ends must be valid values of the field
        scenario.with_overrides({path: int(value) if parameter.integer else value})
    return parameter


def make_design(parameters: list[Parameter], method: str, samples: int, seed: int
                ) -> pd.DataFrame:
    """One row per sample with each parameter's value (column = path).

    Args:
        parameters: The varied parameters.
        method: ``grid`` (``samples`` levels per numeric parameter, every choice of a
            categorical one), ``lhs`` or ``sobol`` (``samples`` points).
        samples: See ``method``.
        seed: Seed of the design (scrambling, permutations).

    Raises:
        ScenarioError: See :func:`design_size`, or more points than ``MARKETSIM_MAX_POINTS``
            (checked before anything is built).
    """
    points, detail = design_size(parameters, method, samples)
    check_points(points, detail)
    if method == "grid":
        rows = list(itertools.product(*(p.levels(samples) for p in parameters)))
        return pd.DataFrame(rows, columns=[p.path for p in parameters])
    d = len(parameters)
    if method == "lhs":
        unit = qmc.LatinHypercube(d=d, seed=seed).random(samples)
    else:
        sampler = qmc.Sobol(d=d, scramble=True, seed=seed)
        m = int(math.ceil(math.log2(samples))) if samples > 1 else 0
        unit = sampler.random_base2(m)[:samples]
    return pd.DataFrame({p.path: p.scale(unit[:, i]) for i, p in enumerate(parameters)})


def design_size(parameters: list[Parameter], method: str, samples: int) -> tuple[int, str]:
    """Points a design will have, computed without building it, and how they come about.

    A grid has one point per combination of levels (``K^d`` for ``d`` numeric parameters),
    so its size is the product of each parameter's level count; LHS and Sobol' designs have
    ``samples`` points.

    Raises:
        ScenarioError: Unknown design, ``samples`` below 1 or no parameter.

    Example:
        >>> p = Parameter("world.network_effect", 0.1, 1.0)
        >>> design_size([p, p, p], "grid", 10)
        (1000, 'a grid of --samples 10 levels for 3 parameters')
    """
    if method not in DESIGNS:
        from sim.errors import suggest

        raise ScenarioError(Problem(f"unknown design {method!r}; choose one of "
                                    f"{', '.join(DESIGNS)}", suggestion=suggest(method, DESIGNS)))
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ScenarioError(f"--samples must be an integer of at least 1, got {samples!r}")
    if not parameters:
        raise ScenarioError("a sweep needs at least one --vary PATH=LOW:HIGH")
    if method != "grid":
        return samples, f"--samples {samples} ({method})"
    total = 1
    for parameter in parameters:
        total *= max(1, parameter.level_count(samples))
    d = len(parameters)
    return total, f"a grid of --samples {samples} levels for {d} parameter{'s' if d != 1 else ''}"


def apply_row(scenario: Scenario, row: dict[str, Any]) -> Scenario:
    """The scenario with one design row's values."""
    return scenario.with_overrides({k: (v.item() if hasattr(v, "item") else v)
                                    for k, v in row.items()})
