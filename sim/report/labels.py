"""How metrics are named, scaled and formatted in reports, and text made safe for display.

Units come from the metric table (``UNITS``: INTERFACES.md "Metrics"), so a figure's axis
says what the CLI says; this module only adds a short label, a display scale and a format.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

from sim.numbers import round_to_interval

try:  # the table is moving to sim.metric_names; the engine re-exports it meanwhile
    from sim.metric_names import MARKET_METRICS, UNITS
except ImportError:  # pragma: no cover - until sim.metric_names has UNITS
    from sim.engine.metrics import METRICS as MARKET_METRICS
    from sim.engine.metrics import UNITS

__all__ = ["MetricSpec", "spec", "esc", "plot_text", "is_region_level", "fmt_number",
           "fmt_money", "REGION_LEVEL", "WORLD_ONLY", "UNITS", "MARKET_METRICS"]

#: Metrics of the region, not of a (region, segment) market: the same on every segment row.
REGION_LEVEL = ("frontier_closed", "frontier_open", "gap_months", "firms_active",
                "products_open", "entries", "exits", "acquisitions", "funding_raised",
                "markup_capped")
#: Region-level metrics recorded on ``World`` rows only.
WORLD_ONLY = ("entries", "exits", "acquisitions")


@dataclass(frozen=True)
class MetricSpec:
    """Display of one metric."""

    label: str  #: short name (titles, tables)
    unit: str  #: axis title (the unit, after ``scale``)
    scale: float = 1.0  #: multiply values by this for display (shares -> %)
    d3: str = ".4g"  #: d3 format for hover and axes
    log: bool = False  #: log axis


_HHI = ",.0f"
_PCT = ".1f"
#: (label, display unit or None for the table's unit, scale, d3, log)
_DISPLAY: dict[str, tuple[str, str | None, float, str, bool]] = {
    "hhi_market": ("HHI of the relevant market", "HHI points (0-10,000)", 1, _HHI, False),
    "hhi_revenue": ("HHI (spend shares)", "HHI points (0-10,000)", 1, _HHI, False),
    "hhi_usage": ("HHI (token shares)", "HHI points (0-10,000)", 1, _HHI, False),
    "hhi_users": ("HHI (adopter shares)", "HHI points (0-10,000)", 1, _HHI, False),
    "cr1": ("Largest firm's share (CR1)", "% of the relevant market", 100, _PCT, False),
    "cr4": ("Four largest firms (CR4)", "% of the relevant market", 100, _PCT, False),
    "effective_firms": ("Effective firms", None, 1, ".2f", False),
    "open_usage_share": ("Open-weights usage share", "% of tokens", 100, _PCT, False),
    "open_revenue_share": ("Open-weights revenue share", "% of spend", 100, _PCT, False),
    "open_user_share": ("Open-weights user share", "% of adopters", 100, _PCT, False),
    "aware": ("Aware", "% of potential adopters", 100, _PCT, False),
    "adoption": ("Adoption", "% of potential adopters using a product", 100, _PCT, False),
    "users": ("Users", None, 1, ",.0f", False),
    "usage": ("Usage", None, 1, ".3s", False),
    "spend": ("Spend", None, 1, ".3s", False),
    "price_frontier": ("Frontier list price", "USD per M tokens (log scale)", 1, ".3g", True),
    "price_paid": ("Price paid", "USD per M tokens, spend / billed tokens (log scale)", 1,
                   ".3g", True),
    "price_constant_capability": ("Price at constant capability",
                                  "USD per M tokens (log scale)", 1, ".3g", True),
    "consumer_surplus_usd": ("Consumer surplus", None, 1, ".3s", False),
    "producer_surplus_usd": ("Producer surplus", None, 1, ".3s", False),
    "harm_usd": ("Expected harm", None, 1, ".3s", False),
    "harm_closed_usd": ("Expected harm of closed lines", None, 1, ".3s", False),
    "harm_open_base_usd": ("Open weights' harm before the premium", None, 1, ".3s", False),
    "net_welfare_usd": ("Net welfare", None, 1, ".3s", False),
    "home_share": ("Home firms' share", "% of tokens served by home firms", 100, _PCT, False),
    "foreign_dependence": ("Foreign dependence", "% of tokens from the largest foreign region",
                           100, _PCT, False),
    "frontier_closed": ("Closed frontier", None, 1, ".1f", False),
    "frontier_open": ("Open frontier", None, 1, ".1f", False),
    "gap_months": ("Open-closed gap", None, 1, ".1f", False),
    "firms_active": ("Firms active", None, 1, ".1f", False),
    "products_open": ("Open-weights lines", None, 1, ".1f", False),
    "entries": ("Entries", None, 1, ".2f", False),
    "exits": ("Exits", None, 1, ".2f", False),
    "acquisitions": ("Acquisitions", None, 1, ".2f", False),
    "funding_raised": ("Funding raised", None, 1, ".3s", False),
    "markup_capped": ("Markups at the cap", None, 1, ".2f", False),
}


def spec(metric: str) -> MetricSpec:
    """Display spec of a metric; the unit is the metric table's unless a scale changes it.

    Example:
        >>> spec("consumer_surplus_usd").unit
        'USD per month'
        >>> spec("open_usage_share").scale
        100
    """
    unit = UNITS.get(metric, metric)
    if metric not in _DISPLAY:
        return MetricSpec(metric.replace("_", " ").capitalize(), unit)
    label, shown, scale, d3, log = _DISPLAY[metric]
    return MetricSpec(label, shown or unit, scale, d3, log)


def is_region_level(metric: str) -> bool:
    """Whether the metric belongs to the region (the same on every segment row)."""
    return metric in REGION_LEVEL


def esc(text: object) -> str:
    """Escape text for HTML (element content and quoted attributes)."""
    return html.escape(str(text), quote=True)


def plot_text(text: object) -> str:
    """Text for a Plotly label (legend, hover, annotation), shown literally.

    Plotly reads a small HTML subset in labels (``<b>``, ``<br>``, ``<a href>``) and decodes
    entities, so escaping ``&``, ``<`` and ``>`` makes any text show as written. Braces are
    escaped too, so a name cannot act as a hover-template placeholder.
    """
    return (html.escape(str(text), quote=False).replace("{", "&#123;")
            .replace("}", "&#125;"))


def fmt_number(value: float, digits: int = 3, cap: int | None = None) -> str:
    """A number with ``digits`` significant digits and thousands separators; '-' for NaN.

    ``cap``: at most this many decimal places (negative: round to tens, hundreds, ...), the
    precision its interval supports (:func:`sim.numbers.supported_decimals`).

    Example:
        >>> fmt_number(12.345), fmt_number(12.345, cap=0), fmt_number(2254.0, cap=-1)
        ('12.3', '12', '2,250')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "\u2013"
    value = round_to_interval(float(value), cap)
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = max(0, digits - 1 - magnitude)
    if cap is not None:
        decimals = max(0, min(decimals, cap))
    return f"{value:,.{decimals}f}"


def fmt_money(value: float, cap: int | None = None) -> str:
    """USD with a k / M / B / T suffix and three significant digits.

    ``cap`` as in :func:`fmt_number`, in USD.

    Example:
        >>> fmt_money(-1.234e9), fmt_money(-1.234e9, cap=-8)
        ('-1.23B USD', '-1.2B USD')
        >>> fmt_money(3_200.0, cap=-6)
        '0 USD'

    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "\u2013"
    size = abs(float(value))
    for power, suffix in ((12, "T"), (9, "B"), (6, "M"), (3, "k")):
        if size >= 10 ** power:
            scaled_cap = None if cap is None else cap + power
            text = fmt_number(value / 10 ** power, cap=scaled_cap)
            # rounded away by its interval: zero has no scale
            return "0 USD" if text in ("0", "-0") else f"{text}{suffix} USD"
    return f"{fmt_number(value, cap=cap)} USD"
