"""How metrics are named, scaled and formatted in reports, and text made safe for display."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

from sim.metrics import REGION_LEVEL

__all__ = ["MetricSpec", "spec", "esc", "plot_text", "is_region_level", "fmt_number"]


@dataclass(frozen=True)
class MetricSpec:
    """Display of one metric."""

    label: str  #: short name (titles, tables)
    unit: str  #: axis title
    scale: float = 1.0  #: multiply values by this for display (shares -> %)
    d3: str = ".4g"  #: d3 format for hover and axes
    log: bool = False  #: log axis


_SPECS: dict[str, MetricSpec] = {
    "hhi": MetricSpec("HHI", "HHI of adopter shares, points (0-10,000)", 1, ",.0f"),
    "hhi_usage": MetricSpec("HHI (usage)", "HHI of token shares, points", 1, ",.0f"),
    "hhi_revenue": MetricSpec("HHI (revenue)", "HHI of revenue shares, points", 1, ",.0f"),
    "cr1": MetricSpec("Largest share (CR1)", "% of adopters", 100, ".1f"),
    "cr4": MetricSpec("Four largest (CR4)", "% of adopters", 100, ".1f"),
    "effective_firms": MetricSpec("Effective firms", "10,000 / HHI", 1, ".2f"),
    "open_share": MetricSpec("Open-weights share", "% of adopters using open-weights models",
                             100, ".1f"),
    "open_usage_share": MetricSpec("Open-weights usage share", "% of tokens", 100, ".1f"),
    "open_revenue_share": MetricSpec("Open-weights revenue share", "% of spend", 100, ".1f"),
    "adopters": MetricSpec("Adopters", "adopters", 1, ",.0f"),
    "adoption": MetricSpec("Adoption", "% of potential adopters using any vendor", 100, ".1f"),
    "usage": MetricSpec("Usage", "M tokens per month", 1, ".3s"),
    "spend": MetricSpec("Spend", "USD per month", 1, ".3s"),
    "price_mean": MetricSpec("Mean price", "USD per M tokens, usage-weighted (log scale)", 1,
                             ".3g", log=True),
    "price_constant_capability": MetricSpec(
        "Price at constant capability", "USD per M tokens (log scale)", 1, ".3g", log=True),
    "consumer_welfare": MetricSpec("Consumer welfare", "inclusive value / alpha (utility in "
                                   "log-price units)", 1, ".4g"),
    "frontier_closed": MetricSpec("Closed frontier", "capability, points", 1, ".1f"),
    "frontier_open": MetricSpec("Open frontier", "capability, points", 1, ".1f"),
    "gap_months": MetricSpec("Capability gap", "months the open frontier trails the closed",
                             1, ".1f"),
    "vendors_active": MetricSpec("Vendors active", "vendors", 1, ".1f"),
    "vendors_open": MetricSpec("Open vendors", "vendors", 1, ".1f"),
    "contributors": MetricSpec("Contributor communities", "communities contributing", 1,
                               ",.0f"),
    "effort": MetricSpec("Contributor effort", "effort (developer-months)", 1, ".3s"),
    "derivatives": MetricSpec("Derivative models", "derivatives", 1, ",.0f"),
    "compliance_paid": MetricSpec("Compliance paid", "USD per month", 1, ".3s"),
    "subsidy_paid": MetricSpec("Subsidy paid", "USD per month", 1, ".3s"),
}


def spec(metric: str) -> MetricSpec:
    """Display spec of a metric (a plain one for metrics without a special spec)."""
    return _SPECS.get(metric, MetricSpec(metric.replace("_", " ").capitalize(), metric))


def is_region_level(metric: str) -> bool:
    """Whether the metric is recorded per region only (segment ``all``)."""
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


def fmt_number(value: float, digits: int = 3) -> str:
    """A number with ``digits`` significant digits and thousands separators; '-' for NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "\u2013"
    value = float(value)
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = max(0, digits - 1 - magnitude)
    return f"{value:,.{decimals}f}"
