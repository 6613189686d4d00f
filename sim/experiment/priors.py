"""Priors as data: the uncertain parameters of a scenario, their ranges and sources.

A priors file (``scenarios/priors/<scenario>.toml``) lists one ``[[prior]]`` per dotted path:
a uniform prior on ``[low, high]`` or, with ``scale = "log"``, on the logarithm (a positive
quantity known to an order of magnitude). Each range names its source or says why it is an
assumption; ``informed = false`` flags parameters the calibration data cannot inform (harm:
nothing in the market depends on them), which the sampler leaves at their prior.

The sampler works on the unit cube: ``u`` in ``[0, 1]^d`` maps to a parameter by
:meth:`Prior.value`, so every prior is uniform there and the prior density is constant inside
the cube and zero outside (docs/calibration.md 5).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.errors import Problem, ScenarioError
from sim.scenario.reading import read_toml
from sim.scenario.schema import Scenario

__all__ = ["Prior", "PriorsFile", "load_priors", "unit_to_values", "values_to_unit"]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class Prior(_Strict):
    """One uncertain parameter: a dotted path and a uniform prior on a range."""

    path: str = Field(..., min_length=1, max_length=200, description="Dotted path.")
    low: float = Field(..., description="Lower end of the range.")
    high: float = Field(..., description="Upper end of the range.")
    scale: Literal["linear", "log"] = Field("linear", description="Uniform on the value or "
                                            "on its logarithm.")
    informed: bool = Field(True, description="False: the data cannot inform it (kept at "
                           "its prior, and flagged so).")
    source: str = Field(..., min_length=1, description="Where the range comes from.")

    @model_validator(mode="after")
    def _ordered(self) -> Prior:
        if not self.low < self.high:
            raise ValueError("a prior needs 'low' < 'high'")
        if self.scale == "log" and self.low <= 0:
            raise ValueError("a log-scale prior needs 'low' > 0")
        return self

    def value(self, u: np.ndarray) -> np.ndarray:
        """Parameter values at unit-cube coordinates ``u``."""
        u = np.asarray(u, dtype=float)
        if self.scale == "log":
            return np.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        return self.low + u * (self.high - self.low)

    def unit(self, value: np.ndarray) -> np.ndarray:
        """Unit-cube coordinates of parameter values (inverse of :meth:`value`)."""
        value = np.asarray(value, dtype=float)
        if self.scale == "log":
            return ((np.log(value) - math.log(self.low))
                    / (math.log(self.high) - math.log(self.low)))
        return (value - self.low) / (self.high - self.low)


class PriorsMeta(_Strict):
    """The ``[priors]`` table."""

    name: str = Field(..., min_length=1)
    scenario: str = Field(..., min_length=1, description="The scenario the paths address.")
    description: str = ""


class PriorsFile(_Strict):
    """A priors file: ``[priors]`` and ``[[prior]]`` items."""

    priors: PriorsMeta
    prior: list[Prior] = Field(..., min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> PriorsFile:
        paths = [p.path for p in self.prior]
        twice = sorted({p for p in paths if paths.count(p) > 1})
        if twice:
            raise ValueError(f"a path has two priors: {', '.join(twice)}")
        return self

    @property
    def informed(self) -> list[Prior]:
        """The priors the calibration fits."""
        return [p for p in self.prior if p.informed]

    @property
    def uninformed(self) -> list[Prior]:
        """The priors the data cannot inform (left at the prior, flagged)."""
        return [p for p in self.prior if not p.informed]


def load_priors(path: str | Path, scenario: Scenario | None = None) -> PriorsFile:
    """Read and validate a priors file; with ``scenario``, check every path and range.

    A path must name a number of the scenario, and both ends of its range must be values the
    scenario accepts there (the field's bounds), so a draw can never be refused mid-run.

    Raises:
        ScenarioError: One problem per bad item, naming the file and the item.

    Example:
        >>> from sim.scenario.loader import load_scenario
        >>> priors = load_priors("baseline", load_scenario("baseline"))
        >>> len(priors.informed) >= 10
        True
    """
    from sim.scenario.loader import shipped_dir

    candidate = Path(path)
    if not candidate.is_file():
        shipped = shipped_dir() / "priors" / f"{candidate.stem}.toml"
        if candidate.suffix or not shipped.is_file():
            raise ScenarioError(f"{path}: no such priors file")
        candidate = shipped
    data = read_toml(candidate)
    try:
        priors = PriorsFile.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            where = ".".join(str(x) for x in err["loc"]) or None
            message = str(err["msg"]).removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = f"unknown key {err['loc'][-1]!r}"
            problems.append(Problem(message, file=str(candidate), path=where))
        raise ScenarioError(problems) from None
    if scenario is not None:
        _check_against(priors, scenario, str(candidate))
    return priors


def _check_against(priors: PriorsFile, scenario: Scenario, file: str) -> None:
    from sim.scenario.overrides import value_at as current_value

    problems = []
    for i, prior in enumerate(priors.prior):
        where = f"prior.{i}.path"
        try:
            current = current_value(scenario, prior.path)
        except ScenarioError as exc:
            problems.append(Problem(str(exc).splitlines()[0], file=file, path=where))
            continue
        if current is not None and (isinstance(current, bool)
                                    or not isinstance(current, int | float)):
            problems.append(Problem(f"{prior.path} is not a number", file=file, path=where))
            continue
        for end in ("low", "high"):
            try:
                scenario.with_overrides({prior.path: getattr(prior, end)})
            except ScenarioError as exc:
                problems.append(Problem(f"{end} = {getattr(prior, end)!r} is refused: "
                                        + str(exc).splitlines()[0], file=file,
                                        path=f"prior.{i}.{end}"))
    if problems:
        raise ScenarioError(problems)


def unit_to_values(priors: list[Prior], u: np.ndarray) -> list[dict[str, float]]:
    """One draw (dotted path -> value) per row of ``u`` ``[N, d]``."""
    columns = [p.value(u[:, j]) for j, p in enumerate(priors)]
    return [{p.path: float(col[i]) for p, col in zip(priors, columns, strict=True)}
            for i in range(u.shape[0])]


def values_to_unit(priors: list[Prior], values: dict[str, np.ndarray]) -> np.ndarray:
    """``[N, d]`` unit-cube coordinates of columns of values keyed by path."""
    return np.column_stack([p.unit(values[p.path]) for p in priors])
