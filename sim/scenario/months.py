"""Calendar months and step numbers.

A scenario starts at a calendar month (``"2025-07"``); step 0 is that month.
Policy windows may be given as ``"YYYY-MM"`` or as a step number.
"""

from __future__ import annotations

import re

__all__ = ["MONTH_PATTERN", "parse_month", "month_index", "step_of", "date_of"]

MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
_MONTH_RE = re.compile(MONTH_PATTERN)


def parse_month(text: str) -> tuple[int, int]:
    """Parse ``"YYYY-MM"`` into ``(year, month)``.

    Raises:
        ValueError: If ``text`` is not a valid calendar month.
    """
    if not isinstance(text, str) or not _MONTH_RE.match(text):
        raise ValueError(f"expected a month as 'YYYY-MM' (e.g. '2026-01'), got {text!r}")
    year, month = text.split("-")
    return int(year), int(month)


def month_index(text: str) -> int:
    """Return months since year 0 for ``"YYYY-MM"`` (for differences)."""
    year, month = parse_month(text)
    return year * 12 + (month - 1)


def step_of(when: str | int, start: str) -> int:
    """Return the step number of ``when`` in a scenario starting at ``start``.

    Args:
        when: A ``"YYYY-MM"`` month or a step number.
        start: The scenario's start month.

    Returns:
        The step (may be negative if ``when`` is before ``start``).
    """
    if isinstance(when, bool):
        raise ValueError("a month must be 'YYYY-MM' or a step number, not a boolean")
    if isinstance(when, int):
        return when
    return month_index(when) - month_index(start)


def date_of(step: int, start: str) -> str:
    """Return the calendar month ``"YYYY-MM"`` of ``step``."""
    index = month_index(start) + step
    return f"{index // 12:04d}-{index % 12 + 1:02d}"
