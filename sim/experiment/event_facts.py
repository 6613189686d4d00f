"""Dated events of the validation window, and the posterior's probability of each.

Some validation facts are events, not values: OpenAI released open weights (gpt-oss, 2025-08);
Meta kept Llama in the EU after the AI Act's GPAI duties began; Mistral raised a round
(2025-09). An events file (``scenarios/targets/validation_events.toml``) states each as the
engine events that would count (kinds, firm, region, product or reason text) in a window of
months, with what happened (``outcome``). The posterior's probability of an event is the
share of draws whose world saw a matching event; it is scored by the Brier score
``(p - outcome)^2``, against the no-skill forecast ``p = 0.5`` (Brier 0.25).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.engine.state import EVENT_KINDS
from sim.errors import Problem, ScenarioError
from sim.experiment.draws import EventQuery
from sim.scenario.months import step_of
from sim.scenario.reading import read_toml

__all__ = ["EventFact", "EventFacts", "load_event_facts", "event_queries", "event_table"]

_Month = Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class EventFact(_Strict):
    """One dated event (or dated absence of one) and the engine events that count."""

    name: str = Field(..., min_length=1, max_length=100)
    kinds: list[str] = Field(..., min_length=1, description="Engine event kinds that count.")
    firm: str | None = Field(None, description="The firm (None: any).")
    region: str | None = Field(None, description="Region of the event (None: any).")
    product: str | None = Field(None, description="The product line, exactly (None: any).")
    product_contains: str | None = Field(None, description="Text in the product's name.")
    detail_prefix: str | None = Field(None, description="Start of the event's reason.")
    start: _Month = Field(..., description="First month of the window.")
    end: _Month = Field(..., description="Last month of the window.")
    outcome: bool = Field(..., description="Whether such an event happened.")
    source: str = Field(..., min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> EventFact:
        unknown = sorted(set(self.kinds) - set(EVENT_KINDS))
        if unknown:
            raise ValueError(f"unknown event kind {unknown[0]!r}; expected one of "
                             f"{', '.join(EVENT_KINDS)}")
        if self.end < self.start:
            raise ValueError("'end' is before 'start'")
        return self


class EventFacts(_Strict):
    """An events file: ``[events]`` and ``[[event]]`` items."""

    events: dict[str, str]
    event: list[EventFact] = Field(..., min_length=1)


def load_event_facts(path: str | Path) -> EventFacts:
    """Read and validate an events file (errors as one ScenarioError naming the file)."""
    path = Path(path)
    if not path.is_file():
        raise ScenarioError(f"{path}: no such events file")
    try:
        return EventFacts.model_validate(read_toml(path))
    except ValidationError as exc:
        raise ScenarioError([Problem(str(e["msg"]).removeprefix("Value error, "),
                                     file=str(path),
                                     path=".".join(str(x) for x in e["loc"]) or None)
                             for e in exc.errors(include_url=False)]) from None


def event_queries(facts: EventFacts, start: str) -> tuple[EventQuery, ...]:
    """The engine queries of each fact, with the window in steps of a run from ``start``."""
    return tuple(EventQuery(tuple(f.kinds), f.firm, step_of(f.start, start),
                            step_of(f.end, start), f.region, f.product_contains,
                            f.detail_prefix, f.product) for f in facts.event)


def event_table(facts: EventFacts, seen: np.ndarray) -> pd.DataFrame:
    """Per fact: the posterior's probability, the outcome and the Brier scores.

    Args:
        facts: The event facts.
        seen: ``[draws, facts]`` 0/1, whether each draw's world saw the event.
    """
    rows: list[dict[str, Any]] = []
    for j, fact in enumerate(facts.event):
        p = float(np.mean(seen[:, j]))
        rows.append({"event": fact.name, "window": f"{fact.start} .. {fact.end}",
                     "outcome": fact.outcome, "probability": p,
                     "brier": (p - float(fact.outcome)) ** 2, "brier_no_skill": 0.25,
                     "source": fact.source})
    return pd.DataFrame(rows)
