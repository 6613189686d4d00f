"""Interactive HTML reports (plotly): one self-contained file per results folder.

``marketsim run`` writes ``report.html`` into its results folder and ``marketsim report DIR``
rebuilds it; :meth:`sim.experiment.results.Results.figure` and ``Results.to_html`` give the
same figures in a notebook.

Modules: :mod:`~sim.report.data` (what a report reads), :mod:`~sim.report.figures` (plotly
figure builders), :mod:`~sim.report.selector` (region / segment choice), :mod:`~sim.report.
tables` (key figures and their reading), :mod:`~sim.report.page` (HTML assembly and
escaping), :mod:`~sim.report.compact` (the figures' data, packed),
:mod:`~sim.report.keytable` (the key-figures table), :mod:`~sim.report.build` (the reports),
:mod:`~sim.report.notebook` (one figure for a notebook).
"""

from __future__ import annotations

from sim.report.build import build_html, to_html, write_report
from sim.report.calibration_page import write_calibration_report
from sim.report.data import ReportData
from sim.report.notebook import figure

__all__ = ["write_report", "write_calibration_report", "build_html", "figure", "to_html",
           "ReportData"]
