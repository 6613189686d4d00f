"""Write the calibration's tables into docs/calibration.md (called by make calibrate / sbc).

Each table sits between ``<!-- name -->`` and ``<!-- /name -->`` markers and is rebuilt from
``scenarios/posterior/baseline.diagnostics.json``, so every number in that part of the docs
comes from the shipped posterior and the commands that made it.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "calibration.md"


def _g(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return f"{value:.{digits}g}"
    return str(value)


def _reading(p: dict[str, Any]) -> str:
    if not p["informed"]:
        return "not informed by the data: left at its prior"
    if p.get("at_bound"):
        return f"**piles up at its {p['at_bound']} bound** (section 8)"
    if not p["identified"]:
        return "**not identified** (spread shrank < 20 %)"
    return "identified"


def posterior_block(d: dict[str, Any]) -> str:
    """The parameter table and the run's summary line."""
    lines = [f"`{d['command']}` (seed {d['seed']}): {d['draws']} draws after {d['stages']} "
             f"stages and {d['simulations']:,} simulations; effective sample size "
             f"{d['ess_final_reweighting']:.0f} at the last reweighting, "
             f"{d['distinct_draws']} distinct draws.", "",
             "| parameter | prior | posterior median [5 %, 95 %] | spread shrank | reading |",
             "|---|---|---|---|---|"]
    for p in d["parameters"]:
        lines.append(f"| `{p['path']}` | {_g(p['prior_low'])} .. {_g(p['prior_high'])} "
                     f"({p['scale']}) | {_g(p['p50'])} [{_g(p['p05'])}, {_g(p['p95'])}] | "
                     f"{100 * p['shrinkage']:.0f} % | {_reading(p)} |")
    return "\n".join(lines)


def fit_block(d: dict[str, Any]) -> str:
    """Each fit target against its 90 % posterior-predictive interval."""
    c = d["fit_coverage_90"]
    lines = [f"{c['inside']} of {c['targets']} fit targets ({100 * c['share']:.0f} %) lie "
             "inside their 90 % posterior-predictive interval (model plus each fact's "
             "observation error).", "",
             "| target | date | fact | predictive median [5 %, 95 %] | inside |",
             "|---|---|---|---|---|"]
    for r in d["fit_table"]:
        lines.append(f"| {r['target']} | {r['date']} | {_g(r['observed'])} | {_g(r['p50'])} "
                     f"[{_g(r['p05'])}, {_g(r['p95'])}] | {_g(r['inside_90'])} |")
    return "\n".join(lines)


def flags_block(d: dict[str, Any]) -> str:
    """The parameters that are flagged: at a bound of their prior, or not identified."""
    lines = []
    for p in d["parameters"]:
        if not p["informed"]:
            continue
        share = p["share_in_outer_5pct"]
        if p.get("at_bound"):
            lines.append(f"- `{p['path']}` piles up at its {p['at_bound']} bound: "
                         f"{100 * share[p['at_bound']]:.0f} % of the posterior lies in the "
                         "outer 5 % of the prior's range on that side.")
        elif not p["identified"]:
            lines.append(f"- `{p['path']}` is not identified: its spread shrank by "
                         f"{100 * p['shrinkage']:.0f} %.")
    return "\n".join(lines) if lines else "No informed parameter is flagged."


def hindcast_block(d: dict[str, Any]) -> str:
    """The validation-window facts, scored."""
    h = d.get("hindcast")
    if not h:
        return "(not run yet: `make calibrate`)"
    lines = [f"{h['inside_90']} of {h['facts']} validation facts ({100 * h['coverage_90']:.0f} "
             f"%) lie inside their 90 % predictive interval; the model's CRPS beats "
             f"persistence's for {h['beats_persistence']} of the "
             f"{h['scored_against_persistence']} facts that have a fit-window counterpart.",
             "", "| fact | date | value | predictive median [5 %, 95 %] | inside | CRPS model"
             " | CRPS persistence | beats persistence |", "|---|---|---|---|---|---|---|---|"]
    for r in h["facts_table"]:
        lines.append(f"| {r['target']} | {r['date']} | {_g(r['observed'])} | {_g(r['p50'])} "
                     f"[{_g(r['p05'])}, {_g(r['p95'])}] | {_g(r['inside_90'])} | "
                     f"{_g(r['crps_model'])} | {_g(r['crps_persistence'])} | "
                     f"{_g(r['beats_persistence'])} |")
    if h.get("events"):
        lines += ["", f"Event facts: mean Brier score {h['mean_brier']:.3f} (a coin: 0.25).", "",
                  "| event | window | happened | posterior probability | Brier |",
                  "|---|---|---|---|---|"]
        for e in h["events"]:
            lines.append(f"| {e['event']} | {e['window']} | {_g(e['outcome'])} | "
                         f"{e['probability']:.2f} | {e['brier']:.3f} |")
    return "\n".join(lines)


def coverage_block(d: dict[str, Any]) -> str:
    """The coverage check's per-parameter shares."""
    c = d.get("coverage_check")
    if not c:
        return "(not run yet: `make sbc`)"
    lines = [f"`{c['command']}` (seed {c['seed']}): {c['truths']} truths, {c['particles']} "
             f"particles and at most {c['max_moves']} move sweeps a stage each, "
             f"{c['seconds']:.0f} s.", "",
             "| parameter | truths | inside the 90 % interval | mean shrinkage | in 80-97 % |",
             "|---|---|---|---|---|"]
    for r in c["parameters"]:
        lines.append(f"| `{r['path']}` | {r['truths']} | {100 * r['coverage_90']:.0f} % | "
                     f"{100 * r['mean_shrinkage']:.0f} % | {_g(r['within_80_97'])} |")
    return "\n".join(lines)


def gap_block(d: dict[str, Any]) -> str:
    """The open-closed gap over the posterior at the dates issue 15 checks."""
    rows = d.get("gap_months")
    if not rows:
        return "(not run yet: `make calibrate`)"
    lines = ["| date | gap_months: median [5 %, 95 %] over the posterior |", "|---|---|"]
    for r in rows:
        lines.append(f"| {r['date']} | {_g(r['p50'])} [{_g(r['p05'])}, {_g(r['p95'])}] |")
    return "\n".join(lines)


BLOCKS = {"gap": gap_block, "posterior": posterior_block, "fit": fit_block, "flags": flags_block,
          "hindcast": hindcast_block,
          "coverage-check": coverage_block}


def write_docs(diagnostics: dict[str, Any], doc: Path = DOC) -> None:
    """Replace every marked block of ``doc`` with its table."""
    text = doc.read_text(encoding="utf-8")
    for name, render in BLOCKS.items():
        pattern = re.compile(rf"(<!-- {name} -->\n)(?:.*?\n)?(<!-- /{name} -->)", re.S)
        if not pattern.search(text):
            raise SystemExit(f"{doc}: no <!-- {name} --> block")
        text = pattern.sub(lambda m, r=render: m.group(1) + r(diagnostics) + "\n" + m.group(2),
                           text)
    doc.write_text(text, encoding="utf-8")
