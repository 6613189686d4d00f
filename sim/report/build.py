"""Assembling reports: a run, a sweep or a sensitivity study."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import sim.report.figures as F
import sim.report.firm_figures as FF
import sim.report.study_figures as SF
from sim._version import __version__
from sim.experiment.store import atomic_write_text
from sim.report.breakeven import break_even_html
from sim.report.compact import packed_html
from sim.report.data import ReportData
from sim.report.keytable import csv_block, ensemble, key_figures_html
from sim.report.labels import esc, fmt_number, spec
from sim.report.page import FigureItem, Section, render_page
from sim.report.tables import (
    HHI_NOTE,
    KEY_METRICS,
    WELFARE_NOTE,
    changes_vs,
    design_table_html,
)

if TYPE_CHECKING:
    from sim.experiment.results import Results

__all__ = ["build_html", "write_report", "to_html", "facts_html"]

STUDY_OUTCOMES = (*KEY_METRICS, "adoption")

#: Metric groups of the run report's over-time figures (the first is shown first).
OPENNESS = ("open_usage_share", "open_user_share", "open_revenue_share")
PRICES = ("price_paid", "price_frontier", "price_constant_capability")
WELFARE = ("consumer_surplus_usd", "producer_surplus_usd", "harm_usd", "net_welfare_usd")
ADOPTION = ("adoption", "aware", "users", "usage", "spend")
OTHER_HHI = ("hhi_revenue", "hhi_usage", "hhi_users", "cr1", "cr4", "effective_firms")
SUPPLY = ("firms_active", "products_open", "entries", "exits", "acquisitions",
          "funding_raised")
DEPENDENCE = ("home_share", "foreign_dependence")


# ---------------------------------------------------------------------- header

#: What each demand engine does, for the report's header (docs/performance.md).
ENGINE_TEXT = {"exact": "binomial and multinomial draws of adopters' moves",
               "expected": "expected counts of adopters' moves; other mechanisms drawn"}


def _facts(data: ReportData) -> list[tuple[str, str]]:
    res, man = data.results, data.manifest or {}
    facts: list[tuple[str, str]] = []
    facts.append(("Seed", f"{res.seed}, common random numbers"))
    post = getattr(res, "posterior", None)
    if post:
        facts.append(("Posterior", f"{post['name']}: {post['draws']} draws x "
                                   f"{post['replications_per_draw']} replications = "
                                   f"{res.replications} worlds per scenario"))
    else:
        facts.append(("Replications", f"{res.replications} per scenario (the scenarios' own "
                                      "values, no posterior)"))
    facts.append(("Demand engine", f"{res.engine} ({ENGINE_TEXT.get(res.engine, '')})"))
    first, last = data.dates[min(data.dates)], data.dates[data.final_month]
    facts.append(("Horizon", f"{data.final_month} months, {first} to {last}"))
    versions = man.get("versions") or {}
    facts.append(("marketsim", str(versions.get("marketsim", __version__))))
    git = man.get("git")
    if git:
        facts.append(("Git commit", f"{str(git.get('commit', ''))[:12]}"
                                    f"{' (uncommitted changes)' if git.get('dirty') else ''}"))
    if man:
        facts.append(("Run started", _when(man.get("created_at"))))
        facts.append(("Run finished", _when(man.get("finished_at"))))
    else:
        facts.append(("Run", "in memory (no results folder)"))
    seconds = res.run_seconds if res.run_seconds is not None else man.get("run_seconds")
    if seconds is not None:
        facts.append(("Run time", f"{float(seconds):,.1f} s"))
    if man.get("status") and man.get("status") != "complete":
        facts.append(("Status", str(man["status"])))
    others = ", ".join(f"{k} {v}" for k, v in sorted(versions.items())
                       if k not in ("marketsim",) and v != "absent")
    if others:
        facts.append(("Versions", others))
    if man.get("command"):
        facts.append(("Command", str(man["command"])))
    return facts


def _when(stamp: Any) -> str:
    """'2026-01-02T03:04:05Z' as '2026-01-02 03:04:05 UTC' (the manifest's time, not now)."""
    if not stamp:
        return "not recorded"
    text = str(stamp)
    return text.replace("T", " ").removesuffix("Z") + (" UTC" if text.endswith("Z") else "")


def facts_html(facts: list[tuple[str, str]]) -> str:
    """The header's facts as a definition list (keys and values escaped)."""
    wide = ("Versions", "Command")
    items = "".join(f"<div{' class=wide' if k in wide else ''}><dt>{esc(k)}</dt>"
                    f"<dd>{esc(v)}</dd></div>" for k, v in facts)
    return f"<dl class='facts'>{items}</dl>"


def _policy_lines(scenario: Any) -> list[str]:
    lines = []
    for p in scenario.policies:
        when = f"from {p.start}" + (f" to {p.end}" if p.end is not None else "")
        label = f": {p.label}" if p.label else ""
        lines.append(f"{p.kind} in {p.region} {when}{label}")
    return lines


def _card(data: ReportData, index: int, sid: str, scenario: Any, changes: list[str] | None,
          colour: str) -> str:
    meta = scenario.scenario
    parts = [f"<div class='card' style='--swatch: {colour}'>",
             f"<h3>{esc(data.labels[sid])}</h3>",
             f"<div class='id'>id <code>{esc(sid)}</code>"
             f"{' &middot; reference' if index == 0 and len(data.ids) > 1 else ''}</div>"]
    if meta.description:
        parts.append(f"<p>{esc(meta.description.strip())}</p>")
    policies = _policy_lines(scenario)
    if policies:
        items = "".join(f"<li>{esc(line)}</li>" for line in policies)
        parts.append(f"<details><summary>{len(policies)} polic"
                     f"{'y' if len(policies) == 1 else 'ies'}</summary>"
                     f"<ul class='changes'>{items}</ul></details>")
    if changes is not None:
        if changes:
            items = "".join(f"<li><code>{esc(line)}</code></li>" for line in changes)
            parts.append(f"<details{' open' if len(changes) <= 8 else ''}><summary>"
                         f"{len(changes)} change{'s' if len(changes) != 1 else ''} from "
                         f"{esc(data.labels[data.ids[0]])}</summary>"
                         f"<ul class='changes'>{items}</ul></details>")
        else:
            parts.append("<p class='note'>Same parameters as the reference.</p>")
    parts.append("</div>")
    return "".join(parts)


def _run_header(data: ReportData) -> str:
    cards = []
    first = data.results.scenarios[0]
    for i, (sid, sc) in enumerate(zip(data.ids, data.results.scenarios, strict=True)):
        changes = None if i == 0 else changes_vs(first, sc)
        cards.append(_card(data, i, sid, sc, changes, F.PALETTE[i % len(F.PALETTE)]))
    return (_headline_html(data) + facts_html(_facts(data))
            + f"<div class='cards'>{''.join(cards)}</div>")


def _headline_html(data: ReportData) -> str:
    """The headline card: the line ``marketsim run`` prints, word for word."""
    from sim.experiment.keyfigures import headline_lines

    lines = headline_lines(data.results)
    if not lines:
        return ""
    items = "".join(f"<p>{esc(line.removeprefix('headline: '))}</p>" for line in lines)
    return f"<section class='headline' id='headline'><h2>Headline</h2>{items}</section>"


def _study_header(data: ReportData) -> str:
    base = data.results.scenarios[0]
    design = data.design
    rows = []
    for p in data.parameters:
        col = design[p]
        if SF.is_numeric(col):
            span = f"{fmt_number(col.min(), 4)} to {fmt_number(col.max(), 4)}"
        else:
            span = ", ".join(str(v) for v in col.drop_duplicates().tolist()[:12])
        rows.append(f"<li><code>{esc(p)}</code>: {esc(span)} ({col.nunique()} distinct)</li>")
    what = "Sensitivity study" if data.kind == "sensitivity" else "Sweep"
    card = (f"<div class='card'><h3>{esc(base.scenario.name)}</h3>"
            f"<p>{esc(base.scenario.description.strip())}</p>"
            f"<p><strong>{esc(what)}</strong>: {len(data.ids)} design points &times; "
            f"{data.results.replications} replications; varied:</p>"
            f"<ul class='changes'>{''.join(rows)}</ul></div>")
    return facts_html(_facts(data)) + f"<div class='cards'>{card}</div>"


# ---------------------------------------------------------------------- bodies


def _timeseries_item(data: ReportData, metric: str | tuple[str, ...], caption: str,
                     **kw: Any) -> FigureItem:
    metrics = [metric] if isinstance(metric, str) else list(metric)
    fig = F.timeseries(data, metrics, cells=F.cells_for(data, metrics[0]), **kw)
    selects = _outcome_select(tuple(metrics)) if len(metrics) > 1 else []
    return FigureItem(fig, caption, selects)


def _product_item(data: ReportData) -> FigureItem | None:
    firms = data.mixed_firms or data.vendor_order
    if data.products is None or data.products.empty or not firms:
        return None
    fig = FF.product_lines(data, firms[0], firms=firms)
    return FigureItem(fig, "One firm's product lines (choose the firm above): a ban on open "
                      "weights removes its open lines only, and its closed lines may take "
                      "their place. Firms listed first own open and closed lines at once.",
                      [("firm", "Firm", [(f, f) for f in firms], firms[0])])


def _run_sections(data: ReportData) -> list[Section]:
    compare = len(data.ids) > 1
    if ensemble(data):
        how = ("Each scenario: mean over the worlds with the 5-95 % range across them. "
               "Effects: the paired effect (same draw, same luck) averaged within each "
               "posterior draw, then its median and 90 % interval over draws, and the share "
               "of draws on each side of zero.")
    else:
        how = ("Mean over replications with its 95 % CI" + (
            "; differences are paired by replication (common random numbers), so their CIs "
            "exclude the luck the scenarios share" if compare else "") + ".")
    key = Section("key", "Key figures", [
        f"<p class='note'>{esc(how)} Levels are at the final month, effects at months 12, 36 "
        "and 72 and the final month; the region and segment selectors above choose the "
        "table; money is USD per month.</p>",
        f"<div class='table-controls'>{csv_block(data)}</div>",
        packed_html("key-tables", key_figures_html(data))])
    sections = [key]
    sections.append(Section("concentration", "Concentration", [
        _timeseries_item(data, "hhi_market", "HHI over firms in the segment's relevant market "
                         "(enterprise spend, developer tokens, consumer users). Horizontal "
                         "lines: merger-guideline thresholds (US 2023 Merger Guidelines 1,800, "
                         "highly concentrated; EU 2004 Horizontal Merger Guidelines 1,000 / "
                         "2,000). Triangles and dotted lines: policy switches (hover for "
                         "detail); diamonds: launches, withdrawals, exits and acquisitions (in an "
                         "ensemble, named firms' that happen in at least 5 % of its worlds; "
                         "funding rounds are under Firms and entry)."),
        _timeseries_item(data, OTHER_HHI, title="Other concentration measures",
                         caption="Other measures over firms (no thresholds: only the "
                         "relevant-market HHI compares with merger guidelines).",
                         events=False)]))
    sections.append(Section("openness", "Openness", [_timeseries_item(
        data, OPENNESS, title="Openness",
        caption="Shares of open-weights product lines (openness is over products; a firm may "
        "own both kinds). For consumers read the user share.")]))
    sections.append(Section("prices", "Prices", [_timeseries_item(
        data, PRICES, title="Prices",
        caption="USD per M tokens, log axis: price paid is spend over billed tokens; the "
        "frontier price is the flagship closed line's list price.", events=False)]))
    sections.append(Section("welfare", "Welfare and harm", [_timeseries_item(
        data, WELFARE, title="Welfare and harm",
        caption="USD per month. Net welfare = consumer surplus + producer surplus of firms "
        "headquartered in the region - expected harm."),
        *([break_even_html(data)] if compare else [])]))
    sections.append(Section("capability", "Capability", [FigureItem(
        F.capability(data), "Top: best closed (solid) and open (dashed) model reachable in the "
        "region, ECI points. Bottom: months since the closed frontier first reached today's "
        "best open model.")]))
    sections.append(Section("adoption", "Adoption", [_timeseries_item(
        data, ADOPTION, title="Adoption", caption="Awareness (Bass diffusion), then choice.",
        events=False),
        _timeseries_item(data, DEPENDENCE, title="Dependence",
                         caption="Who serves the region's tokens: firms headquartered there, "
                         "or the largest foreign region's.", events=False)]))
    sections.append(Section("supply", "Firms and entry", [_timeseries_item(
        data, SUPPLY, title="Firms and entry",
        caption="Region-level (the segment choice does not apply); entries, exits and "
        "acquisitions are counted for the World only.", events=False)]))
    firms = [FigureItem(FF.firm_shares(data), "Shares of the region's spend (or tokens) by "
                        "firm, all segments, stacked to 100 %; choose the measure above.",
                        [("measure", "Measure", list(FF.FIRM_MEASURES), "revenue")])]
    lines = _product_item(data)
    if lines is not None:
        firms.append(lines)
    sections.append(Section("vendors", "Firms and product lines", firms))
    return sections


def _outcome_select(outcomes: tuple[str, ...]) -> list[tuple[str, str, list[tuple[str, str]],
                                                           str]]:
    return [("metric", "Outcome", [(m, spec(m).label) for m in outcomes], outcomes[0])]


def _study_sections(data: ReportData) -> list[Section]:
    sections = []
    if data.sensitivity is not None and len(data.sensitivity):
        ind = data.sensitivity
        fig = SF.sobol_bars(ind) if "S1" in ind.columns else SF.morris_plot(ind)
        sections.append(Section("sensitivity", "Sensitivity", [FigureItem(fig)]))
    outcomes = STUDY_OUTCOMES
    study = [FigureItem(SF.sweep_scatter(data, list(outcomes)),
                        selects=_outcome_select(outcomes))]
    heat = SF.sweep_heatmap(data, list(outcomes))
    if heat is not None:
        study.append(FigureItem(heat, selects=_outcome_select(outcomes)))
    sections.append(Section("parameters", "Outcomes vs parameters", study))
    sections.append(Section("points", "Design points", [design_table_html(data)]))
    sections.append(Section("time", "Over time", [
        _timeseries_item(data, "hhi_market", "Merger-guideline thresholds as in a run report; "
                         "markers: policy switches."),
        _timeseries_item(data, OPENNESS, "", title="Openness"),
        _timeseries_item(data, PRICES, "", title="Prices", events=False),
        _timeseries_item(data, WELFARE, "", title="Welfare and harm", events=False)]))
    return sections


def _notes(data: ReportData) -> str:
    notes = [F.band_note(data), HHI_NOTE]
    if not data.is_study and len(data.ids) > 1:
        notes.append(WELFARE_NOTE)
    notes.append("Units are the metric table's (marketsim's metric names and units, "
                 "INTERFACES.md): shares shown in %, money in USD per month, prices in USD per "
                 "M tokens, capability in ECI points. Region-level metrics (capability, firms "
                 "and entry, firms' shares) ignore the segment choice. " + _data_files(data))
    items = "".join(f"<li>{esc(n)}</li>" for n in notes)
    return (f"<h2 id='notes'>Notes</h2><ul class='notes'>{items}</ul>"
            f"<p>Made by marketsim {esc(__version__)}.</p>")


#: The tables a results folder may hold, as the notes name them.
DATA_FILES = ("market.parquet", "vendors.parquet", "products.parquet", "events.parquet",
              "draws.parquet", "summary.csv", "design.parquet", "sensitivity.csv")


def _data_files(data: ReportData) -> str:
    """Where the figures' data are: the folder's files that exist, or the Results object."""
    folder = data.results.folder
    present = [name for name in DATA_FILES
               if folder is not None and (Path(folder) / name).is_file()]
    if not present:
        return ("The figures' data are in the Results object this report was made from "
                "(its tables: market, vendors, products, events); this run wrote no folder.")
    return "Every figure's data are in the results folder beside this report (" + ", ".join(
        present) + ")."


def build_html(data: ReportData) -> tuple[str, int]:
    """The report page of a run or study, and its number of figures."""
    if data.is_study:
        base = data.results.scenarios[0].scenario.name
        kind = "Sensitivity study" if data.kind == "sensitivity" else "Parameter sweep"
        title = f"{kind}: {base}"
        subtitle = (f"{len(data.ids)} design points x {data.results.replications} "
                    "replications")
        header = _study_header(data)
        sections = _study_sections(data)
    else:
        labels = [data.labels[s] for s in data.ids]
        title = labels[0] if len(labels) == 1 else " vs ".join(labels[:2]) + (
            f" and {len(labels) - 2} more" if len(labels) > 2 else "")
        subtitle = ("marketsim report: " + ("one scenario" if len(labels) == 1 else
                    f"{len(labels)} scenarios, each compared with the first"))
        header = _run_header(data)
        sections = _run_sections(data)
    return render_page(title=title, subtitle=subtitle, header_html=header, sections=sections,
                       regions=data.regions, segments=data.segments, footer_html=_notes(data),
                       choice=data.default_choice)


def write_report(folder: str | Path) -> Path:
    """(Re)build ``report.html`` of a results folder; returns its path."""
    folder = Path(folder)
    html, _ = build_html(ReportData.from_folder(folder))
    path = folder / "report.html"
    atomic_write_text(path, html)
    return path


def to_html(results: Results, path: str | Path) -> Path:
    """Write the report of ``results`` (in memory or from a folder) to ``path``."""
    path = Path(path)
    html, _ = build_html(ReportData.from_results(results))
    atomic_write_text(path, html)
    return path

