"""The explorer's charts: a metric over time, what-if against reference, and firm shares.

Plain Plotly figures, so the browser explorer (``solara.FigurePlotly``) and the notebook panel
(``go.FigureWidget``) draw the same thing. Labels, units and colours are the report's
(:mod:`sim.report.labels`, :mod:`sim.report.styles`); scenario names (never ids) are in the
legend, and every name that came from a scenario file goes through
:func:`~sim.report.labels.plot_text`.
"""

from __future__ import annotations

import warnings

import numpy as np
import plotly.graph_objects as go

from sim.app.controls import month_label
from sim.app.ensemble import Comparison, Outcome
from sim.report.labels import plot_text, spec
from sim.report.styles import PALETTE, VENDOR_PALETTE, rgba

__all__ = ["CHART_METRICS", "metric_figure", "firm_share_figure"]

#: The live charts (issue 20): concentration, open share, prices, net welfare.
CHART_METRICS = ("hhi_market", "open_usage_share", "price_paid", "net_welfare_usd")

_HEIGHT = 300


def _months(out: Outcome) -> list[str]:
    return [month_label(t, out.start) for t in range(out.market.shape[1])]


def _stats(values: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, min and max over ``axis``, NaN where every value is (an empty market)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices
        return (np.nanmean(values, axis=axis), np.nanmin(values, axis=axis),
                np.nanmax(values, axis=axis))


def _band(fig: go.Figure, x: list[str], values: np.ndarray, name: str, colour: str,
          dash: str) -> None:
    """Mean line and the replications' range (luck only) as a shaded band."""
    mean, low, high = _stats(values)
    fig.add_trace(go.Scatter(x=x + x[::-1], y=np.r_[high, low[::-1]], fill="toself",
                             fillcolor=rgba(colour, 0.15), line={"width": 0},
                             hoverinfo="skip", showlegend=False, legendgroup=name))
    fig.add_trace(go.Scatter(x=x, y=mean, name=name, legendgroup=name,
                             line={"color": colour, "dash": dash, "width": 2}))


def _example_pair() -> Comparison:
    """The docstring examples' pair: the baseline against itself, two months, two worlds."""
    from sim.app.ensemble import LiveEnsemble
    from sim.scenario.loader import load_scenario
    from sim.scenario.overrides import with_horizon

    base = with_horizon(load_scenario("baseline"), 2)
    return LiveEnsemble(seed=1, replications=2).compare(base, base, key=())


def _layout(fig: go.Figure, title: str, yaxis: dict, bottom: int) -> None:
    """The explorer charts' common layout: small title, legend below, room for the axis title."""
    fig.update_layout(title={"text": title, "font": {"size": 13}}, height=_HEIGHT,
                      template="plotly_white", margin={"l": 60, "r": 10, "t": 40, "b": bottom},
                      yaxis={**yaxis, "title": {"text": yaxis["title"], "font": {"size": 10}}},
                      legend={"orientation": "h", "y": -0.2 if bottom <= 40 else -0.3})


def metric_figure(pair: Comparison, metric: str, region: str, segment: str,
                  names: tuple[str, str]) -> go.Figure:
    """One metric in one market over time: the reference and the what-if.

    Args:
        pair: The two outcomes.
        metric: Market metric name.
        region: Region (or ``World``).
        segment: Segment (or ``all``).
        names: Display names of (reference, what-if).

    Example:
        >>> pair = _example_pair()
        >>> fig = metric_figure(pair, "hhi_market", "EU", "developer", ("Baseline", "What if"))
        >>> [t.name for t in fig.data if t.showlegend is not False]
        ['Baseline', 'What if']
    """
    shown = spec(metric)
    fig = go.Figure()
    x = _months(pair.what_if)
    for i, (out, name) in enumerate(((pair.reference, names[0]), (pair.what_if, names[1]))):
        values = out.series(metric, region, segment) * shown.scale
        _band(fig, x, values, plot_text(name), PALETTE[i], "dash" if i == 0 else "solid")
    where = f"{region}, {segment}s" if segment != "all" else f"{region}, all segments"
    _layout(fig, f"{shown.label} ({plot_text(where)})",
            {"title": shown.unit, "tickformat": shown.d3,
             "type": "log" if shown.log else "linear"}, bottom=40)
    fig.update_layout(hovermode="x unified")
    return fig


def firm_share_figure(pair: Comparison, region: str, names: tuple[str, str],
                      top: int = 8) -> go.Figure:
    """Token shares of the largest firms in ``region`` at the horizon: reference vs what-if.

    Firm records are kept by region, not by segment, so this chart pools the region's
    segments (its title says so).

    Example:
        >>> pair = _example_pair()
        >>> len(firm_share_figure(pair, "EU", ("Baseline", "What if")).data)
        2
    """
    last = {}
    for out in (pair.reference, pair.what_if):
        last[id(out)] = {name: float(_stats(share[:, -1])[0]) * 100
                         for name, share in out.firm_shares(region).items()}
    ref, new = last[id(pair.reference)], last[id(pair.what_if)]
    firms = sorted(set(ref) | set(new), key=lambda n: -max(ref.get(n, 0), new.get(n, 0)))[:top]
    fig = go.Figure()
    for i, (values, name) in enumerate(((ref, names[0]), (new, names[1]))):
        fig.add_trace(go.Bar(x=[plot_text(f) for f in firms],
                             y=[values.get(f, 0.0) for f in firms], name=plot_text(name),
                             marker={"color": PALETTE[i] if i else VENDOR_PALETTE[0],
                                     "opacity": 0.55 if i == 0 else 1.0}))
    end = month_label(pair.what_if.market.shape[1] - 1, pair.what_if.start)
    _layout(fig, f"Firm shares of tokens, {plot_text(region)}, {end} (all segments)",
            {"title": "% of tokens", "tickformat": ".1f"}, bottom=60)
    fig.update_layout(barmode="group")
    return fig
