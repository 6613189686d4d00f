"""The report of a point calibration (``marketsim calibrate --method point``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import sim.report.study_figures as SF
from sim._version import __version__
from sim.experiment.store import atomic_write_text
from sim.report.build import facts_html
from sim.report.labels import esc
from sim.report.page import FigureItem, Section, render_page
from sim.report.tables import calibration_table_html, param_text

if TYPE_CHECKING:
    from sim.experiment.calibration import Calibration, TargetsFile

__all__ = ["write_calibration_report"]


def write_calibration_report(folder: str | Path, result: Calibration,
                             targets: TargetsFile) -> Path:
    """Write ``report.html`` of a calibration into ``folder``; returns its path."""
    folder = Path(folder)
    fit = result.fit
    meta = targets.targets
    facts = [("Targets", meta.name), ("Objective", f"{result.objective:.6g}"),
             ("Evaluations", str(len(result.evaluations))),
             ("Within tolerance", f"{int(fit['within'].sum())} of {len(fit)}"),
             ("marketsim", __version__)]
    bound = {e["path"]: e for e in result.on_bound}
    fitted = "".join(f"<li><code>{esc(p)}</code> = {esc(param_text(v))}" + (
        f" <strong>(on the {esc(bound[p]['bound'])} bound of its range "
        f"{bound[p]['low']:g}:{bound[p]['high']:g}: the best value may lie outside it; "
        "widen the range)</strong>" if p in bound else "") + "</li>"
        for p, v in result.values.items())
    scenario = result.scenario.scenario
    card = (f"<div class='card'><h3>{esc(scenario.name)}</h3>"
            f"<p>{esc(scenario.description.strip())}</p>"
            f"<p><strong>Fitted values</strong></p><ul class='changes'>{fitted}</ul></div>")
    if meta.description:
        card += (f"<div class='card'><h3>{esc(meta.name)}</h3>"
                 f"<p>{esc(meta.description.strip())}</p></div>")
    header = facts_html(facts) + f"<div class='cards'>{card}</div>"
    sections = [
        Section("fit", "Fit", [calibration_table_html(fit),
                               FigureItem(SF.calibration_misses(fit)),
                               FigureItem(SF.calibration_values(fit))]),
        Section("search", "Search",
                [FigureItem(SF.calibration_evaluations(result.evaluations))]),
    ]
    footer = ("<h2 id='notes'>Notes</h2><ul class='notes'><li>The objective is the weighted "
              "sum of squared misses in tolerances of the mean over replications; every "
              "evaluation used the same seed and replications (common random numbers).</li>"
              "<li>calibrated.toml extends the input scenario with the fitted values; "
              "calibration.csv and evaluations.csv hold these tables.</li></ul>"
              f"<p>Made by marketsim {esc(__version__)}.</p>")
    html, _ = render_page(title=f"Calibration: {scenario.name}",
                          subtitle=f"fitted to {meta.name}", header_html=header,
                          sections=sections, regions=[], segments=[], footer_html=footer)
    path = folder / "report.html"
    atomic_write_text(path, html)
    return path
