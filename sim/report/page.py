"""HTML assembly: one self-contained page, plotly.js inlined once, fixed figure ids.

Text from scenario files is escaped before it gets here (headers, tables) or is Plotly
data (JSON, in which plotly escapes ``<``, ``>`` and ``/``), so nothing in a scenario can
close a tag or a script. The page holds no timestamp of its own: the dates shown are the
run's, from the manifest, so rebuilding a report gives the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

from sim.report.labels import esc
from sim.report.selector import SELECTOR_JS

__all__ = ["FigureItem", "Section", "render_page", "figure_html", "PLOT_CONFIG"]

PLOT_CONFIG = {"responsive": True, "displaylogo": False,
               "modeBarButtonsToRemove": ["select2d", "lasso2d"],
               "toImageButtonOptions": {"format": "png", "scale": 2}}


@dataclass
class FigureItem:
    """A figure with a caption and optional selects of its own dimensions.

    ``selects``: (dimension, label, [(value, shown text)], initial value).
    """

    fig: go.Figure
    caption: str = ""
    selects: list[tuple[str, str, list[tuple[str, str]], str]] = field(default_factory=list)


@dataclass
class Section:
    """A titled part of the page: pre-built HTML blocks and figures, in order."""

    anchor: str
    title: str
    items: list[FigureItem | str] = field(default_factory=list)


CSS = """
:root { --ink: #1d2733; --muted: #5b6775; --line: #dde2e8; --bg: #f5f7fa; --card: #fff;
        --accent: #1f5aa6; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
       font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
       sans-serif; }
main { max-width: 1220px; margin: 0 auto; padding: 0 20px 40px; }
header.top { background: var(--card); border-bottom: 1px solid var(--line); }
header.top .inner { max-width: 1220px; margin: 0 auto; padding: 18px 20px 12px; }
h1 { font-size: 22px; margin: 0 0 2px; }
h1 .sub { display: block; font-size: 15px; font-weight: 400; color: var(--muted); }
h2 { font-size: 18px; margin: 28px 0 10px; }
h3 { font-size: 15px; margin: 0 0 4px; }
.headline { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
            border-left: 6px solid var(--accent); padding: 4px 16px; margin-top: 14px; }
.headline h2 { margin: 8px 0 4px; font-size: 16px; }
.headline p { margin: 4px 0 8px; font-size: 15px; }
.facts { display: flex; flex-wrap: wrap; gap: 2px 26px; margin: 10px 0 0; font-size: 13px; }
.facts div { display: flex; gap: 6px; min-width: 0; }
.facts div.wide { flex-basis: 100%; }
.facts dt { color: var(--muted); white-space: nowrap; }
.facts dd { margin: 0; overflow-wrap: anywhere; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr));
         gap: 12px; margin-top: 14px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
        padding: 10px 14px; border-top: 4px solid var(--swatch, var(--accent)); }
.card p { margin: 4px 0; font-size: 14px; white-space: pre-line; }
.card code, .changes code { font-size: 12px; }
.card .id { color: var(--muted); font-size: 12px; }
.changes { margin: 4px 0 0; padding-left: 18px; font-size: 12.5px; }
.changes li { overflow-wrap: anywhere; }
details summary { cursor: pointer; font-size: 13px; color: var(--muted); }
nav.toolbar { position: sticky; top: 0; z-index: 10; background: rgba(255,255,255,0.96);
              border-bottom: 1px solid var(--line); backdrop-filter: blur(4px); }
nav.toolbar .inner { max-width: 1220px; margin: 0 auto; padding: 7px 20px; display: flex;
                     flex-wrap: wrap; gap: 8px 18px; align-items: center; font-size: 14px; }
nav.toolbar label { font-weight: 600; }
nav.toolbar select, .figure select { font: inherit; padding: 2px 6px; border-radius: 5px;
                                     border: 1px solid #b8c0ca; background: #fff; }
nav.toolbar .links { display: flex; flex-wrap: wrap; gap: 4px 12px; margin-left: auto; }
nav.toolbar a { color: var(--accent); text-decoration: none; font-size: 13px; }
.figure { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
          padding: 8px 10px 6px; margin: 0 0 16px; }
.figure .controls { font-size: 13px; padding: 2px 4px 0; }
.figure .caption { font-size: 13px; color: var(--muted); margin: 2px 6px 4px; }
.table-wrap { overflow-x: auto; background: var(--card); border: 1px solid var(--line);
              border-radius: 8px; margin-bottom: 12px; }
table.key { border-collapse: collapse; width: 100%; font-size: 13.5px; }
table.key caption { text-align: left; padding: 8px 10px 2px; color: var(--muted);
                    font-size: 13px; }
table.key th, table.key td { padding: 6px 10px; border-top: 1px solid var(--line);
                             vertical-align: top; text-align: left; }
table.key thead th { border-top: 0; font-weight: 600; }
table.key tbody th { min-width: 150px; }
table.key td.num { white-space: nowrap; font-variant-numeric: tabular-nums; }
table.key td.point { white-space: nowrap; }
table.key td.reading { font-size: 12.5px; min-width: 260px; }
table.key .source { font-size: 12px; color: var(--muted); }
.ci { color: var(--muted); font-size: 12px; font-weight: 400; }
.note, .notes li { font-size: 13px; color: var(--muted); }
.notes { padding-left: 18px; }
footer { font-size: 12px; color: var(--muted); margin-top: 24px; }
"""


def figure_html(item: FigureItem, div_id: str) -> str:
    """A figure's block: its own selects, the Plotly div (no plotly.js), the caption."""
    height = item.fig.layout.height or 450
    plot = pio.to_html(item.fig, include_plotlyjs=False, full_html=False, div_id=div_id,
                       config=PLOT_CONFIG, default_width="100%",
                       default_height=f"{height}px", validate=False)
    controls = ""
    if item.selects:
        parts = []
        for dim, label, options, initial in item.selects:
            opts = "".join(f"<option value='{esc(v)}'{' selected' if v == initial else ''}>"
                           f"{esc(t)}</option>" for v, t in options)
            parts.append(f"<label>{esc(label)} <select data-dim='{esc(dim)}' "
                         f"data-initial='{esc(initial)}' autocomplete='off'>{opts}</select>"
                         "</label>")
        controls = f"<div class='controls'>{' '.join(parts)}</div>"
    caption = f"<p class='caption'>{esc(item.caption)}</p>" if item.caption else ""
    return f"<div class='figure' id='{div_id}-box'>{controls}{plot}{caption}</div>"


def _toolbar(regions: list[str], segments: list[str], sections: list[Section],
             choice: dict[str, str]) -> str:
    def chosen(dim: str, value: str) -> str:
        return " selected" if choice.get(dim) == value else ""

    region_opts = "".join(f"<option value='{esc(r)}'{chosen('region', r)}>{esc(r)}</option>"
                          for r in regions)
    segment_opts = "".join(
        f"<option value='{esc(s)}'{chosen('segment', s)}>"
        f"{esc('all segments' if s == 'all' else s)}</option>" for s in segments)
    links = "".join(f"<a href='#{esc(s.anchor)}'>{esc(s.title)}</a>" for s in sections)
    selects = ""
    if regions:
        selects += (f"<label for='region-select'>Region</label><select id='region-select' "
                    f"autocomplete='off'>{region_opts}</select>")
    if segments:
        selects += (f"<label for='segment-select'>Segment</label><select id='segment-select' "
                    f"autocomplete='off'>{segment_opts}</select>")
    return (f"<nav class='toolbar'><div class='inner'>{selects}<span class='links'>{links}"
            "</span></div></nav>")


def render_page(*, title: str, subtitle: str, header_html: str, sections: list[Section],
                regions: list[str], segments: list[str], footer_html: str = "",
                choice: dict[str, str] | None = None) -> tuple[str, int]:
    """The whole page and its number of figures.

    Args:
        title: Page title (plain text; escaped here).
        subtitle: Line under the title (plain text; escaped here).
        header_html: Header blocks (already escaped HTML).
        sections: The body, in order.
        regions: Region choices of the toolbar (empty: no region select).
        segments: Segment choices (empty: no segment select).
        footer_html: Closing notes (already escaped HTML).
        choice: Region and segment the toolbar starts on (default: the first of each).
    """
    body, n = [], 0
    for section in sections:
        body.append(f"<section id='{esc(section.anchor)}'><h2>{esc(section.title)}</h2>")
        for item in section.items:
            if isinstance(item, FigureItem):
                n += 1
                body.append(figure_html(item, f"fig-{n}"))
            else:
                body.append(item)
        body.append("</section>")
    toolbar = _toolbar(regions, segments, sections, choice or {}) if (
        regions or segments or sections) else ""
    start = ""
    if regions:
        region = (choice or {}).get("region", regions[0])
        start += f" data-region='{esc(region)}'"
    if segments:
        segment = (choice or {}).get("segment", segments[0])
        start += f" data-segment='{esc(segment)}'"
    page = "\n".join([
        "<!DOCTYPE html>",
        "<html lang='en'>",
        "<head>",
        "<meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        "<meta name='generator' content='marketsim'>",
        f"<title>{esc(title)}</title>",
        f"<style>{CSS}</style>",
        f"<script type='text/javascript'>{get_plotlyjs()}</script>",
        "</head>",
        f"<body data-figures='{n}'{start}>",
        f"<header class='top'><div class='inner'><h1>{esc(title)}"
        f"<span class='sub'>{esc(subtitle)}</span></h1>{header_html}</div></header>",
        toolbar,
        "<main>",
        *body,
        f"<footer>{footer_html}</footer>",
        "</main>",
        f"<script type='text/javascript'>{SELECTOR_JS}</script>",
        "</body>",
        "</html>",
        "",
    ])
    return page, n
