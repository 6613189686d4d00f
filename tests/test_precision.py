"""No figure is printed with more digits than its interval supports (sim.numbers; issue 16).

Every formatter that prints a figure beside its interval (the CLI's key figures, the report's
tables, ``make findings``) keeps no digit finer than two significant digits of the interval's
half-width. These properties check the rule on arbitrary intervals, and that rounding moves a
figure by at most half of the last kept digit.
"""

from __future__ import annotations

import math
import re

from hypothesis import assume, given
from hypothesis import strategies as st

from sim.experiment.keyfigures import figure_texts
from sim.numbers import round_to_interval, supported_decimals
from sim.report.labels import fmt_money, fmt_number

finite = st.floats(min_value=-1e13, max_value=1e13, allow_nan=False, allow_infinity=False)
width = st.floats(min_value=1e-6, max_value=1e12, allow_nan=False)
_SUFFIX = {"": 0, " M": 6, " bn": 9, " tn": 12, "M": 6, "B": 9, "T": 12, "k": 3}


def _finest_digit(text: str) -> int | None:
    """Power of ten of the last printed digit of a figure (None for n/a or 0)."""
    found = re.fullmatch(r"([+-]?[\d,]+)(?:\.(\d+))?(?:e([+-]\d+))?( ?(?:M|bn|tn|B|T|k))?"
                         r"(?: USD)?", text.strip())
    assert found, text
    whole, decimals, exponent, suffix = found.groups()
    if whole.lstrip("+-").replace(",", "") == "0" and not decimals:
        return None
    digits = whole.lstrip("+-").replace(",", "")
    # without decimals, trailing zeros of the integer part are placeholders, not digits
    places = -len(decimals) if decimals else len(digits) - len(digits.rstrip("0"))
    power = places + _SUFFIX[(suffix or "")]
    return power + (int(exponent) if exponent else 0)


@given(finite, finite, width)
def test_key_figures_print_no_digit_finer_than_the_interval_supports(mean, low, span) -> None:
    high = low + span
    cap = supported_decimals(low, high)
    assume(cap is not None)  # a span below float resolution at this magnitude
    for text in figure_texts([mean, low, high], sign=True, interval=(low, high)):
        finest = _finest_digit(text)
        assert finest is None or finest >= -cap, (text, cap)


@given(finite, width)
def test_report_numbers_and_money_respect_the_cap(value, span) -> None:
    cap = supported_decimals(0.0, span)
    for text in (fmt_number(value, cap=cap), fmt_money(value, cap=cap)):
        finest = _finest_digit(text)
        assert finest is None or finest >= -cap, (text, cap)


@given(finite, st.integers(min_value=-12, max_value=8))
def test_rounding_moves_a_figure_by_at_most_half_its_last_digit(value, decimals) -> None:
    rounded = round_to_interval(value, decimals)
    assert abs(rounded - value) <= 0.5 * 10.0 ** -decimals * (1 + 1e-9) + 1e-9 * abs(value)


def test_two_significant_digits_of_the_half_width() -> None:
    assert supported_decimals(-28.0, 36.5) == 0       # half-width 32
    assert supported_decimals(-3.16e9, -3.03e9) == -6  # half-width 6.5e7
    assert supported_decimals(1.0, 1.0) is None and supported_decimals(0.0, math.nan) is None
