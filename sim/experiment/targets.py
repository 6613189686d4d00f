"""Targets files: the observed facts a calibration aims at, and the fit table against them.

A targets file (TOML, validated like scenarios) lists facts, each naming the
exact metric, region, segment and month it corresponds to, with its source and
a tolerance (or a band ``low``-``high``). :func:`load_targets` validates one
(errors name the file and the key path); :func:`fit_table` sets a run's
simulated means beside each fact. :mod:`sim.experiment.calibration` and
:mod:`sim.experiment.bayes` fit to them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.errors import Problem, ScenarioError, suggest
from sim.experiment.studies import no_such_market, unknown_metric
from sim.experiment.summary import t_interval
from sim.metric_names import MARKET_METRICS
from sim.scenario.loader import read_toml
from sim.scenario.months import step_of
from sim.scenario.schema import Scenario

__all__ = ["Target", "TargetsMeta", "TargetsFile", "load_targets", "fit_table"]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class Target(_Strict):
    """One observed fact the model should reproduce."""

    name: str = Field(..., min_length=1, max_length=100, description="Short identifier.")
    metric: str = Field(..., description="Metric name (see the metrics list).")
    region: str = Field("World", description="Region name or World.")
    segment: str = Field("all", description="Segment name or all.")
    month: int | None = Field(None, ge=0, le=1200, description="Step the fact refers to.")
    date: Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] | None = Field(
        None, description="Calendar month 'YYYY-MM' the fact refers to (instead of month).")
    value: float | None = Field(None, description="Observed value (in the metric's units).")
    low: float | None = Field(None, description="Lower end of the observed band.")
    high: float | None = Field(None, description="Upper end of the observed band.")
    tolerance: float | None = Field(None, gt=0, description="Acceptable absolute miss.")
    weight: float = Field(1.0, ge=0, description="Weight in the objective.")
    scale: float = Field(1.0, gt=0, description="Multiply the metric by this first (e.g. 12 "
                         "for a monthly spend compared with an annual figure).")
    source: str = Field(..., min_length=1, description="Where the fact comes from.")

    @model_validator(mode="after")
    def _consistent(self) -> Target:
        if self.metric not in MARKET_METRICS:
            message, hint = unknown_metric(self.metric)
            raise ValueError(message + (f" (did you mean {hint!r}?)" if hint else ""))
        why = no_such_market(self.metric, self.segment)
        if why:
            raise ValueError(why)
        if (self.month is None) == (self.date is None):
            raise ValueError("give exactly one of 'month' or 'date'")
        band = self.low is not None or self.high is not None
        if band:
            if self.low is None or self.high is None or self.low >= self.high:
                raise ValueError("a band needs 'low' < 'high'")
            if self.value is not None or self.tolerance is not None:
                raise ValueError("give either 'low'/'high' or 'value'/'tolerance', not both")
        elif self.value is None or self.tolerance is None:
            raise ValueError("give 'value' and 'tolerance' (or a band 'low'/'high')")
        return self

    @property
    def centre(self) -> float:
        """The value aimed at (band midpoint)."""
        return self.value if self.value is not None else (self.low + self.high) / 2

    @property
    def half_width(self) -> float:
        """The tolerance (band half-width)."""
        return self.tolerance if self.tolerance is not None else (self.high - self.low) / 2

    def step(self, start: str) -> int:
        """The target's month as a step of a scenario starting at ``start``."""
        return self.month if self.month is not None else step_of(self.date, start)


class TargetsMeta(_Strict):
    """The ``[targets]`` table."""

    name: str = Field(..., min_length=1)
    description: str = ""


class TargetsFile(_Strict):
    """A targets file: ``[targets]`` and ``[[target]]`` items."""

    targets: TargetsMeta
    target: list[Target] = Field(..., min_length=1)


def load_targets(path: str | Path, scenario: Scenario | None = None) -> TargetsFile:
    """Read and validate a targets file (errors as ScenarioError naming file and path).

    ``path`` is a file or the name of a shipped targets file (``"fit"``, ``"validation"``).

    Example:
        >>> import sim
        >>> targets = sim.load_targets("fit", sim.load_scenario("baseline"))
        >>> len(targets.target), targets.target[0].metric
        (13, 'open_usage_share')
    """
    from sim.scenario.loader import find_scenario

    candidate = Path(path)
    if not candidate.is_file():
        shipped = find_scenario.__globals__["shipped_dir"]() / "targets" / f"{candidate.stem}.toml"
        if not candidate.suffix and shipped.is_file():
            candidate = shipped
        else:
            raise ScenarioError(f"{path}: no such targets file")
    data = read_toml(candidate)
    try:
        targets = TargetsFile.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError([_problem(err, str(candidate))
                             for err in exc.errors(include_url=False)]) from None
    if scenario is not None:
        for i, target in enumerate(targets.target):
            where = f"target.{i}"
            if target.region != "World" and target.region not in scenario.region_names:
                raise ScenarioError(Problem(f"unknown region {target.region!r}",
                                            file=str(candidate), path=f"{where}.region",
                                            suggestion=suggest(target.region,
                                                               scenario.region_names)))
            if target.segment != "all" and target.segment not in scenario.segment_names:
                raise ScenarioError(Problem(f"unknown segment {target.segment!r}",
                                            file=str(candidate), path=f"{where}.segment",
                                            suggestion=suggest(target.segment,
                                                               scenario.segment_names)))
            step = target.step(scenario.scenario.start)
            if not 0 <= step <= scenario.scenario.months:
                when = f"date {target.date} is month {step}" if target.date else f"month {step}"
                raise ScenarioError(Problem(f"{when}, outside the scenario's months 0.."
                                            f"{scenario.scenario.months} (starting "
                                            f"{scenario.scenario.start})", file=str(candidate),
                                            path=f"{where}.date" if target.date else
                                            f"{where}.month"))
    return targets


def _problem(err: Any, file: str) -> Problem:
    """A targets-file validation error as a Problem (unknown keys get a suggestion)."""
    loc = tuple(err["loc"])
    path = ".".join(str(x) for x in loc) or None
    kind = err["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        model = {(): TargetsFile, ("targets",): TargetsMeta}.get(loc[:-1], Target)
        valid = sorted(model.model_fields)
        hint = suggest(key, valid)
        return Problem(f"unknown key {key!r}" + ("" if hint else
                                                  f"; expected one of: {', '.join(valid)}"),
                       file=file, path=path, suggestion=hint)
    if kind == "missing":
        return Problem("required field is missing", file=file, path=path)
    message = str(err["msg"]).removeprefix("Value error, ")
    if kind not in ("model_type", "dict_type", "list_type", "value_error") and "input" in err:
        shown = repr(err["input"])
        message += f", got {shown}" if len(shown) <= 60 else ""
    return Problem(message, file=file, path=path)


def fit_table(market: pd.DataFrame, targets: TargetsFile, start: str) -> pd.DataFrame:
    """Simulated mean (95 % CI) against each target."""
    rows = []
    for target in targets.target:
        step = target.step(start)
        cell = market[(market["month"] == step) & (market["region"] == target.region)
                      & (market["segment"] == target.segment)]
        values = cell[target.metric].to_numpy(dtype=float) * target.scale
        mean, _, lo, hi = t_interval(values[:, None], axis=0)
        miss = (mean[0] - target.centre) / target.half_width
        rows.append({"target": target.name, "metric": target.metric, "region": target.region,
                     "segment": target.segment, "month": step, "observed": target.centre,
                     "tolerance": target.half_width, "fitted_mean": mean[0],
                     "fitted_ci_low": lo[0], "fitted_ci_high": hi[0], "z": miss,
                     "within": bool(abs(miss) <= 1.0), "source": target.source})
    return pd.DataFrame(rows)
