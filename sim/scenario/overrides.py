"""Overrides by dotted path (``--set``, sweeps, calibration, ``Scenario.with_overrides``)."""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.errors import Problem, ScenarioError
from sim.scenario.paths import is_text, locate
from sim.scenario.validate import validate_model

if TYPE_CHECKING:
    from sim.scenario.schema import Scenario

__all__ = ["apply_overrides", "parse_assignment", "parse_value", "scenario_data", "value_at"]


def scenario_data(scenario: Scenario) -> dict[str, Any]:
    """Return a scenario as the plain dict its TOML would load into."""
    data = scenario.model_dump(mode="python", exclude_none=True)
    for key in ("segments", "regions", "vendors"):
        for item in data.get(key, []):
            item.pop("remove", None)  # always false once resolved: not worth saying
    for firm in data.get("vendors", []):
        for product in firm.get("products", []):
            product.pop("remove", None)
    return data


def parse_value(text: str, annotation: Any = None) -> Any:
    """Parse a command-line value as TOML (``1.2``, ``true``, ``["US"]``), else text.

    Values for text fields stay text, so ``--set scenario.name=2026`` keeps ``"2026"``.
    """
    if annotation is not None and is_text(annotation):
        return text
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_assignment(text: str) -> tuple[str, str]:
    """Split ``PATH=VALUE`` (as given to ``--set``).

    Raises:
        ScenarioError: If there is no ``=`` or the path is empty.
    """
    path, sep, value = text.partition("=")
    if not sep or not path.strip():
        raise ScenarioError(Problem(f"expected PATH=VALUE (e.g. world.network_effect=1.2), "
                                    f"got {text!r}"))
    return path.strip(), value.strip()


def apply_overrides(scenario: Scenario, overrides: Mapping[str, Any] | Iterable[str],
                    quiet: bool = False) -> Scenario:
    """Return ``scenario`` with values replaced by dotted path.

    Args:
        scenario: The base scenario.
        overrides: ``{path: value}``; string values are parsed to the field's type.
            An iterable of ``"PATH=VALUE"`` strings is accepted too.
        quiet: Drop the changed scenario's warnings (see :func:`with_horizon`).

    Raises:
        ScenarioError: Unknown path or invalid value; the error names the path.
    """
    if not isinstance(overrides, Mapping):
        overrides = dict(parse_assignment(item) for item in overrides)
    if not overrides:
        return scenario
    data = copy.deepcopy(scenario_data(scenario))
    for path, value in overrides.items():
        if not isinstance(path, str):
            raise ScenarioError(Problem(f"override paths are text, got {path!r}"))
        target = locate(data, path, type(scenario))
        if isinstance(value, str):
            value = parse_value(value, target.annotation)
        target.container[target.key] = _plain(value)
    try:
        return validate_model(type(scenario), data, file="override", quiet=quiet)
    except ScenarioError as exc:
        problems = [Problem(p.message, file=None if p.file == "override" else p.file,
                            path=p.path, line=p.line, column=p.column,
                            suggestion=p.suggestion) for p in exc.problems]
        # point at the override that caused it when the paths agree
        raise ScenarioError([_blame(p, overrides) for p in problems]) from None


def _plain(value: Any) -> Any:
    """Numpy scalars (from sweep designs and calibration) as the Python values they hold.

    Scenario types are strict, and ``numpy.int64`` is not an ``int``; ``.item()`` gives the
    same number as a Python value, so a design's integers stay integers.
    """
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _blame(problem: Problem, overrides: Mapping[str, Any]) -> Problem:
    if problem.path in overrides:
        value = overrides[problem.path]
        return Problem(f"override {problem.path}={value!r}: {problem.message}",
                       path=None, suggestion=problem.suggestion)
    return problem


def with_horizon(scenario: Scenario, months: int) -> Scenario:
    """``scenario`` run for ``months`` steps, without warnings about what falls after them.

    A run shortened on purpose (``--months``, ``months=``, a short calibration) would
    otherwise warn about every dated launch and policy past its new horizon; those warnings
    are for scenario files, where a policy that never acts is probably a mistake.
    """
    return apply_overrides(scenario, {"scenario.months": int(months)}, quiet=True)


def value_at(scenario: Scenario, path: str) -> Any:
    """The value at a dotted path of ``scenario`` (None where the path is unset).

    Raises:
        ScenarioError: The path does not exist (with a suggestion).

    Example:
        >>> from sim.scenario.loader import load_scenario
        >>> value_at(load_scenario("strong_network_effects"), "world.network_effect")
        1.2
    """
    from sim.scenario.paths import locate

    target = locate(copy.deepcopy(scenario_data(scenario)), path, type(scenario))
    return target.container.get(target.key)
