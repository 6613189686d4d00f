"""HTML assembly: one self-contained page, plotly.js inlined once (packed), fixed figure ids.

The figures are one compact JSON block drawn by one loader (:mod:`sim.report.compact`),
and plotly.js is the partial bundle when it can draw them (:mod:`sim.report.plotly_js`).

Text from scenario files is escaped before it gets here (headers, tables) or is Plotly
data (JSON, in which plotly escapes ``<``, ``>`` and ``/``), so nothing in a scenario can
close a tag or a script. The page holds no timestamp of its own: the dates shown are the
run's, from the manifest, so rebuilding a report gives the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import plotly.graph_objects as go

from sim.report.compact import LOADER_JS, compact_figures, figures_json, pack, trace_types
from sim.report.labels import esc
from sim.report.plotly_js import packed_plotly_js
from sim.report.selector import SELECTOR_JS

__all__ = ["FigureItem", "Section", "render_page", "figure_html", "PLOT_CONFIG"]

#: Plotly's options for every figure: no logo, no link or upload to Plotly's cloud (a
#: report stays on the reader's machine), a PNG download at twice the screen's resolution.
PLOT_CONFIG = {"responsive": True, "displaylogo": False, "showLink": False,
               "showSendToCloud": False, "showEditInChartStudio": False,
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
.unpack-error { background: #fdecea; border: 1px solid #d55e00; padding: 8px 12px;
                border-radius: 6px; }
.table-controls { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 14px;
                  margin: 0 0 8px; font-size: 14px; }
.table-controls label { font-weight: 600; }
.table-controls select { font: inherit; padding: 2px 6px; border-radius: 5px;
                         border: 1px solid #b8c0ca; background: #fff; }
button.download { font: inherit; font-size: 13px; padding: 3px 10px; border-radius: 5px;
                  border: 1px solid var(--accent); color: var(--accent); background: #fff;
                  cursor: pointer; margin-left: auto; }
/* the first column stays in view when a table with many scenarios scrolls sideways */
table.key tbody th, table.key thead th:first-child { position: sticky; left: 0; z-index: 1;
                                                      background: var(--card); }
table.key thead th { min-width: 110px; }
table.key tbody tr:not(.first) td { border-top-color: #eef1f4; }
table.key tbody tr.first td, table.key tbody tr.first th { border-top: 2px solid var(--line); }
table.key td.scenario { min-width: 140px; font-size: 13px; }
@media print {
  body { background: #fff; font-size: 11pt; }
  nav.toolbar, .table-controls, .modebar-container, details summary { display: none; }
  details > *:not(summary) { display: block; }
  header.top, .headline, .card, .figure, .table-wrap { border-color: #999;
                                                         break-inside: avoid; }
  main, header.top .inner { max-width: none; padding: 0; }
  .table-wrap { overflow: visible; }
  table.key tbody th, table.key thead th:first-child { position: static; }
  a { color: inherit; text-decoration: none; }
  section { break-before: auto; }
  h2 { break-after: avoid; }
}
"""


def figure_html(item: FigureItem, div_id: str) -> str:
    """A figure's block: its own selects, the empty Plotly div, the caption.

    The figure itself is drawn from the page's JSON block (:mod:`sim.report.compact`).
    """
    height = item.fig.layout.height or 450
    plot = (f"<div id='{div_id}' class='plotly-graph-div' "
            f"style='height:{int(height)}px; width:100%;'></div>")
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
                    f"data-dim='region' autocomplete='off'>{region_opts}</select>")
    if segments:
        selects += (f"<label for='segment-select'>Segment</label><select id='segment-select' "
                    f"data-dim='segment' autocomplete='off'>{segment_opts}</select>")
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
    body, figures = [], []
    for section in sections:
        body.append(f"<section id='{esc(section.anchor)}'><h2>{esc(section.title)}</h2>")
        for item in section.items:
            if isinstance(item, FigureItem):
                figures.append((f"fig-{len(figures) + 1}", item.fig))
                body.append(figure_html(item, figures[-1][0]))
            else:
                body.append(item)
        body.append("</section>")
    n = len(figures)
    block = pack(figures_json(compact_figures(figures, PLOT_CONFIG)))
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
        # packed (gzip + base64): a third of the bytes; LOADER_JS runs it before drawing
        "<script type='application/octet-stream' id='plotly-js' data-encoding='gzip+base64'>"
        f"{packed_plotly_js(trace_types([f for _, f in figures]))}</script>",
        "</head>",
        f"<body data-figures='{n}'{start}>",
        f"<header class='top'><div class='inner'><h1>{esc(title)}"
        f"<span class='sub'>{esc(subtitle)}</span></h1>{header_html}</div></header>",
        toolbar,
        "<main>",
        *body,
        f"<footer>{footer_html}</footer>",
        "</main>",
        f"<script type='application/octet-stream' id='marketsim-figures' "
        f"data-encoding='gzip+base64'>{block}</script>",
        f"<script type='text/javascript'>{LOADER_JS}</script>",
        f"<script type='text/javascript'>{SELECTOR_JS}</script>",
        "</body>",
        "</html>",
        "",
    ])
    return page, n
