"""Validating a scenario document against a model, with pydantic's errors as one-line problems.

Kept apart from the loader so that overrides (which re-validate a changed scenario) need
neither the loader nor the schema module: they validate against ``type(scenario)``.
"""

from __future__ import annotations

import warnings
from typing import Any

from pydantic import BaseModel, ValidationError

from sim.errors import Problem, ScenarioError
from sim.scenario.base import ScenarioWarning
from sim.scenario.problems import Origins, problems_of

__all__ = ["validate_model"]


def validate_model(model: type[BaseModel], data: dict[str, Any],
                   origins: Origins | None = None, file: str | None = None,
                   quiet: bool = False) -> Any:
    """Validate ``data`` as ``model``, turning pydantic's errors into one ScenarioError.

    Args:
        model: The pydantic model (the scenario class).
        data: The document.
        origins: Which file set each value (for error messages).
        file: File to name when ``origins`` does not know.
        quiet: Drop the scenario's warnings (a worker re-validating a scenario its caller
            validated and warned about already).

    Raises:
        ScenarioError: Listing every problem found.
    """
    try:
        with warnings.catch_warnings():
            # "default" re-shows warnings each load (a filter change resets the registry)
            warnings.simplefilter("ignore" if quiet else "default", ScenarioWarning)
            return model.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(list(problems_of(exc, data, origins or {}, model, file))) from None
    except RecursionError:
        raise ScenarioError(Problem("document nested too deeply", file=file)) from None
