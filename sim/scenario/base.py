"""Base types of the scenario format: field helper, strict base model, names, months, text.

Shared by every scenario model (:mod:`sim.scenario.schema`, :mod:`sim.scenario.schema_parts`,
:mod:`sim.scenario.schema_policies`). ``F`` is pydantic's ``Field`` plus a ``unit`` and a
``source`` in the JSON Schema (``docs/scenario-reference.md`` is generated from them).
Cross-reference problems found by a model's validator are packed into one ``ValueError`` with
:func:`pack_problems` (path and message pairs), which the loader decodes into one problem each.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from sim.scenario.months import MONTH_PATTERN

__all__ = [
    "ALL_REGIONS", "ALL_SEGMENTS", "WORLD_REGION", "PROBLEM_SEPARATOR", "Problems",
    "F", "Frozen", "Name", "Line", "Text", "RegionName", "SegmentName", "MonthText", "When",
    "Fraction", "ScenarioWarning", "Experiment", "pack_problems",
]

WORLD_REGION = "World"
ALL_SEGMENTS = "all"
ALL_REGIONS = "*"

_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_MONTH_RE = re.compile(MONTH_PATTERN)


def _check_name(value: str) -> str:
    if not _NAME_RE.match(value):
        raise ValueError(f"invalid name {value!r}: use 1-64 letters, digits, '_' or '-' "
                         "(no spaces, slashes or dots)")
    return value


def _check_month(value: Any) -> Any:
    if not isinstance(value, str) or not _MONTH_RE.match(value):
        raise ValueError(f"expected a month as 'YYYY-MM' (e.g. '2026-01'), got {value!r}")
    return value


def _check_when(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 1200:
        return value
    if isinstance(value, str) and _MONTH_RE.match(value):
        return value
    raise ValueError(f"expected a month 'YYYY-MM' or a step number 0-1200, got {value!r}")


def _check_line(value: str) -> str:
    bad = _control_characters(value, allowed="")
    if bad:
        raise ValueError(f"must be one line of text without control characters, found {bad}")
    return value


def _check_text(value: str) -> str:
    bad = _control_characters(value, allowed="\n\r\t")
    if bad:
        raise ValueError(f"must be text without control characters (other than newlines and "
                         f"tabs), found {bad}")
    return value


def _control_characters(value: str, allowed: str) -> str:
    """The control characters of ``value`` not in ``allowed``, as escaped text ('' if none)."""
    import unicodedata

    found = sorted({c for c in value if c not in allowed and (
        unicodedata.category(c) in ("Cc", "Zl", "Zp")
        or "\u202a" <= c <= "\u202e" or "\u2066" <= c <= "\u2069")})
    return ", ".join(repr(c) for c in found)


def _reserved(value: str, reserved: str, what: str) -> str:
    # matched ignoring case: 'world' next to 'World' in one column would be easily confused,
    # and case-insensitive tools (spreadsheets, SQL collations) would merge the two
    if value.lower() == reserved.lower():
        raise ValueError(f"{what} name {value!r} is reserved for aggregates: {reserved!r} is "
                         f"the results' total over every {what}; choose another name "
                         "(reserved names are matched ignoring case)")
    return value


def _reserved_region(value: str) -> str:
    return _reserved(value, WORLD_REGION, "region")


def _reserved_segment(value: str) -> str:
    return _reserved(value, ALL_SEGMENTS, "segment")


Name = Annotated[str, AfterValidator(_check_name)]
"""Names of regions, segments, firms and products: letters, digits, ``_`` and ``-``."""

Line = Annotated[str, AfterValidator(_check_line)]
"""One line of free text (titles, units, labels): no control characters."""

Text = Annotated[str, AfterValidator(_check_text)]
"""Free text that may span lines: no control characters but newlines and tabs."""

RegionName = Annotated[Name, AfterValidator(_reserved_region)]
"""A region's name: a :data:`Name` other than the aggregate ``World``."""

SegmentName = Annotated[Name, AfterValidator(_reserved_segment)]
"""A segment's name: a :data:`Name` other than the aggregate ``all``."""

MonthText = Annotated[str, BeforeValidator(_check_month)]
When = Annotated[str | int, BeforeValidator(_check_when)]
"""A calendar month ``"YYYY-MM"`` or a step number (0 = the scenario's start)."""

Fraction = Annotated[float, Field(ge=0, le=1)]
"""A number in [0, 1] (also the value type of per-segment tables)."""


class ScenarioWarning(UserWarning):
    """A scenario that is valid but probably not what its author meant."""


def F(  # noqa: N802 - reads like pydantic's Field at the call site
    default: Any = ...,
    description: str = "",
    *,
    unit: str | None = None,
    source: str | None = None,
    **constraints: Any,
) -> Any:
    """A pydantic ``Field`` whose schema also carries ``unit`` and ``source``."""
    extra: dict[str, str] = {}
    if unit:
        extra["unit"] = unit
    if source:
        extra["source"] = source
    return Field(default, description=description, json_schema_extra=extra or None, **constraints)


class Frozen(BaseModel):
    """Base of every scenario model: immutable, strict about unknown keys."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        validate_default=True,
        str_strip_whitespace=False,
        allow_inf_nan=False,
        # a boolean is never a number and text is never a number (months = true, a
        # quoted "0.5"); an integer is still accepted where a float is expected
        strict=True,
    )



class Experiment(Frozen):
    """The ``[experiment]`` table: defaults for runs (command-line options win)."""

    replications: int = F(20, "Replications per scenario.", ge=1, le=100_000)
    seed: int = F(0, "Root seed; replication i of every scenario uses the same stream.",
                  ge=0, le=2**63 - 1)


PROBLEM_SEPARATOR = "\x1f"

Problems = list[tuple[str, str]]
"""(dotted path, message) pairs, packed into one ValueError by a validator."""


def pack_problems(problems: list[tuple[str, str]]) -> str:
    """Encode (path, message) pairs into one ValueError message (decoded by the loader)."""
    return PROBLEM_SEPARATOR.join(f"{path}{PROBLEM_SEPARATOR}{msg}" for path, msg in problems)
