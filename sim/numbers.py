"""How many digits an interval supports: the one precision rule of every printed figure.

A figure printed beside its interval (a mean and its 95 % CI, a median and its 5-95 % range)
keeps no digit finer than two significant digits of the interval's half-width: with
``-3.10e9 [-3.16e9, -3.03e9]`` the half-width is 6.5e7, so digits down to 1e6 are kept
(``-3.10 bn``); with ``4.23 [-28.0, 36.5]`` the half-width is 32, so ``+4 [-28, +37]``. The
formatters of the CLI (``sim.experiment.keyfigures``), the report (``sim.report.labels``) and
``make findings`` apply it on top of their three-significant-figure rule, so no figure shows
more precision than its own uncertainty supports (issue 16).
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

__all__ = ["supported_decimals", "round_to_interval"]


def supported_decimals(low: float, high: float) -> int | None:
    """Decimal places (negative: tens, hundreds, ...) an interval's width supports.

    Args:
        low: Lower end of the interval.
        high: Upper end.

    Returns:
        ``1 - floor(log10(half-width))``, i.e. two significant digits of the half-width;
        None when the interval is missing or has no width (then nothing limits precision).

    Example:
        >>> supported_decimals(-28.0, 36.5), supported_decimals(-3.16e9, -3.03e9)
        (0, -6)
        >>> supported_decimals(0.0012, 0.0014), supported_decimals(1.0, 1.0) is None
        (5, True)
    """
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return None
    half = abs(high - low) / 2.0
    if half == 0.0:
        return None
    return 1 - math.floor(math.log10(half))


def round_to_interval(value: float, decimals: int | None) -> float:
    """``value`` rounded half away from zero to ``decimals`` places (None: unchanged).

    Half away from zero, as people round by hand (Python's ``round`` rounds 36.5 to 36).

    Example:
        >>> round_to_interval(225.4, -1), round_to_interval(0.12345, 3), round_to_interval(36.5, 0)
        (230.0, 0.123, 37.0)
    """
    if decimals is None or value is None or not math.isfinite(value):
        return value
    step = Decimal(1).scaleb(-decimals)
    return float(Decimal(repr(float(value))).quantize(step, rounding=ROUND_HALF_UP))
