"""Regenerate the numbers of docs/findings.md and the README's headline block (``make findings``).

Every shipped scenario is run against the baseline with paired replications (common random
numbers: replication i of every scenario draws the same random streams), and the paired
differences with their 95 % CIs are written between the ``<!-- findings:NAME -->`` markers of
docs/findings.md (the prose around them is written by hand, from these numbers). The headline,
``eu_blocks_open`` vs ``baseline`` (the EU bans open-weights models from 2027-01), is reported
at 2027-12 (12 months after the ban) and 2030-12, and a short form of it replaces the README's
``<!-- headline -->`` block. Both carry the same run stamp, so a check can tell that they come
from one run (tests/test_headline.py).

Every scenario runs over draws of the shipped posterior (scenarios/posterior/baseline.parquet;
docs/calibration.md 12), so an effect is posterior-predictive: the median of the per-draw paired
effect with its 90 % interval over draws and the share of draws above zero (MODEL.md 9).
``--posterior none`` runs the provisional point calibration instead (stochastic bands only).

Usage:
    python scripts/findings.py             # full scale: 64 draws x 2 replications, 83 months
    python scripts/findings.py --draws 3 --replications 1 --months 30 \
        --doc /tmp/f.md --readme /tmp/R.md
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
from pathlib import Path

import pandas as pd

from sim.numbers import round_to_interval, supported_decimals

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "findings.md"
README = ROOT / "README.md"
#: Version of the generated blocks' format (tests/test_headline.py parses it).
FORMAT = 2
#: Calendar months of the headline: 12 months after the EU ban (2027-01), and the horizon.
HEADLINE_DATES = ("2027-12", "2030-12")
BASELINE, HEADLINE = "baseline", "eu_blocks_open"
#: The summary's row of the break-even misuse premium (sim.experiment.breakeven).
BREAK_EVEN = "break_even_misuse_premium"
#: The row of the break-even hazard multiple (the hazard scale that turns the sign).
BREAK_EVEN_HAZARD = "break_even_hazard_multiple"
PROVISIONAL = ("The headline runs at the baseline's **provisional point calibration** (6 of "
               "13 fit-window targets met, docs/calibration.md 4), not over the Bayesian "
               "posterior, so these numbers are provisional: they show what the mechanisms do "
               "at one parameter set, with stochastic bands only, not a forecast.")
#: The caveat of a run over the posterior: what its intervals are and are not.
POSTERIOR = ("The intervals are **posterior-predictive**: the 5-95 % range over {draws} draws of "
             "the Bayesian posterior (scenarios/posterior/baseline.parquet, docs/calibration.md "
             "6-12), each with paired replications. They carry the parametric uncertainty the "
             "fit-window facts leave, not the model's structural error: the posterior fits 9 "
             "of 13 fit-window facts inside their 90 % intervals and 5 of 9 held-out facts "
             "(docs/calibration.md 7, 10), its coverage check falls short (61-72 % inside 90 % "
             "intervals, docs/calibration.md 9), and harm has no informative data (its priors "
             "are carried unchanged). Read the numbers as what the calibrated model implies, "
             "not as a forecast.")

#: Headline rows: (metric, region, segment, what it is).
HEADLINE_ROWS = (
    ("hhi_market", "EU", "enterprise", "HHI, EU enterprise (spend shares)"),
    ("hhi_market", "EU", "developer", "HHI, EU developers (token shares)"),
    ("hhi_market", "EU", "consumer", "HHI, EU consumers (user shares)"),
    ("open_usage_share", "EU", "all", "open-weights usage share, EU"),
    ("price_paid", "EU", "all", "price paid, EU"),
    ("consumer_surplus_usd", "EU", "all", "consumer surplus, EU"),
    ("harm_usd", "EU", "all", "expected harm, EU"),
    ("net_welfare_usd", "EU", "all", "net welfare, EU"),
)
#: Library table: every scenario's paired effect at the horizon, (metric, segment).
LIBRARY = (("hhi_market", "enterprise"), ("open_usage_share", "all"), ("price_paid", "all"),
           ("consumer_surplus_usd", "all"), ("harm_usd", "all"), ("net_welfare_usd", "all"))
LIBRARY_REGIONS = ("EU", "US", "CN", "World")
#: Structural uncertainty: the headline's effect on the US (outside the ban) under each price
#: scope (MODEL.md 9): rows (metric, region, segment, what).
STRUCTURAL_ROWS = (
    ("hhi_market", "US", "enterprise", "HHI, US enterprise (spend shares)"),
    ("open_usage_share", "US", "all", "open-weights usage share, US"),
    ("price_paid", "US", "all", "price paid, US"),
)
#: The contributor alternative's table: the ban's effect in the EU, where it acts.
CONTRIBUTOR_ROWS = (
    ("open_usage_share", "EU", "all", "open-weights usage share, EU"),
    ("hhi_market", "EU", "developer", "HHI, EU developers (token shares)"),
    ("net_welfare_usd", "EU", "all", "net welfare, EU"),
)


def units() -> dict[str, str]:
    """The metric table's units (INTERFACES.md "Metrics")."""
    try:
        from sim.metric_names import UNITS
    except ImportError:  # until sim.metric_names has UNITS
        from sim.engine.metrics import UNITS
    return dict(UNITS)


def fmt(metric: str, value: float, signed: bool = False, cap: int | None = None) -> str:
    """A value in the metric's display units: HHI points, %, USD, USD per M tokens.

    ``cap``: the decimal places (in the metric's own units) its interval supports
    (:func:`sim.numbers.supported_decimals`); no digit finer than that is printed. A value
    that rounds to zero has no sign ("0", never "-0" or "+0"): its sign is below the
    precision shown.
    """
    text = _fmt(metric, value, signed, cap)
    if text[:1] in "+-" and not any(ch in "123456789" for ch in text):
        return text[1:]
    return text


def _fmt(metric: str, value: float, signed: bool, cap: int | None) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    sign = "+" if signed else ""
    value = round_to_interval(value, cap)
    if metric.startswith("hhi"):
        return f"{value:{sign},.0f}"
    if "share" in metric:
        decimals = 1 if cap is None else max(0, min(1, cap - 2))
        return f"{100 * value:{sign}.{decimals}f}" + (" pp" if signed else " %")
    if metric.endswith("_usd"):
        size = abs(value)
        for power, suffix in ((12, "T"), (9, "B"), (6, "M"), (3, "k")):
            if size >= 10 ** power:
                return f"{significant(value / 10 ** power, sign, cap, power)}{suffix}"
        return significant(value, sign, cap, 0)
    return significant(value, sign, cap, 0)


def significant(value: float, sign: str, cap: int | None, power: int) -> str:
    """Three significant figures of ``value`` (already scaled by ``10**power``), capped."""
    if value == 0:
        return f"{sign}0" if sign else "0"
    decimals = max(0, 2 - math.floor(math.log10(abs(value))))
    if cap is not None:
        decimals = max(0, min(decimals, cap + power))
    if abs(value) < 1e-2 and cap is None:
        return f"{value:{sign}.3g}"
    return f"{value:{sign},.{decimals}f}"


def unit_text(metric: str) -> str:
    """Unit column of a table: the metric table's unit, as displayed by :func:`fmt`."""
    if "share" in metric:
        return "% (difference: percentage points)"
    return units().get(metric, "")


def with_ci(metric: str, mean: float, low: float, high: float, signed: bool) -> str:
    """``mean [low, high]`` in display units, to the precision the interval supports."""
    cap = supported_decimals(low, high)
    return (f"{fmt(metric, mean, signed, cap)} [{fmt(metric, low, signed, cap)}, "
            f"{fmt(metric, high, signed, cap)}]")


def over_draws(row: pd.Series) -> bool:
    """Whether a summary row comes from a posterior ensemble (two or more draws)."""
    draws = row.get("draws", 1.0)
    return bool(draws == draws and draws >= 2)


def level(metric: str, row: pd.Series) -> str:
    """A scenario's mean with its 5-95 % range over worlds (ensembles) or its 95 % CI."""
    if over_draws(row):
        return with_ci(metric, row["mean"], row["p05"], row["p95"], False)
    return with_ci(metric, row["mean"], row["ci_low"], row["ci_high"], False)


def effect(metric: str, row: pd.Series) -> str:
    """A paired effect: median [90 % over draws] and the share above 0, or mean [95 % CI]."""
    if over_draws(row) and math.isfinite(row["diff_p50"]):
        return (with_ci(metric, row["diff_p50"], row["diff_p05"], row["diff_p95"], True)
                + f" ({row['diff_share_positive']:.0%} > 0)")
    return with_ci(metric, row["diff_mean"], row["diff_ci_low"], row["diff_ci_high"], True)


def effect_legend(summary: pd.DataFrame) -> str:
    """What :func:`effect` prints for this summary."""
    if "draws" in summary and (summary["draws"] >= 2).any():
        return ("median of the per-draw paired effect [5 %, 95 % over posterior draws] "
                "(share of draws above zero)")
    return "mean paired difference [95 % CI over replications]"


def report_months(final: int, dates: dict[int, str]) -> list[int]:
    """Steps of the headline dates within the run (the final month if none is)."""
    steps = [m for m, d in dates.items() if d in HEADLINE_DATES and m <= final]
    return sorted(steps) or [final]


def headline_table(summary: pd.DataFrame, months: list[int], dates: dict[int, str]) -> str:
    """Markdown: the headline rows, baseline and ban levels and their paired difference."""
    spread = ("5 %, 95 % over worlds" if "draws" in summary and (summary["draws"] >= 2).any()
              else "95 % CI")
    rows = [f"Levels: mean [{spread}]; paired effect: {effect_legend(summary)}.", "",
            "| outcome | month | baseline | EU bans open weights | paired effect | unit |",
            "|---|---|---|---|---|---|"]
    key = summary.set_index(["scenario", "metric", "region", "segment", "month"])
    for metric, region, segment, what in HEADLINE_ROWS:
        for month in months:
            base = key.loc[(BASELINE, metric, region, segment, month)]
            ban = key.loc[(HEADLINE, metric, region, segment, month)]
            rows.append(f"| {what} | {dates[month]} | {level(metric, base)} | "
                        f"{level(metric, ban)} | {effect(metric, ban)} | {unit_text(metric)} |")
    for month in months:  # the break-even misuse premium of the comparison (issue 16)
        row = key.loc[(HEADLINE, BREAK_EVEN, "EU", "all", month)]
        rows.append(f"| break-even misuse premium m*, EU | {dates[month]} | | | "
                    f"{break_even_text(row)} | m (open weights' harm per use is 1 + m times "
                    f"a closed model's); {row['note']} |")
    for month in months:  # and the multiple of harm per token that would turn it
        row = key.loc[(HEADLINE, BREAK_EVEN_HAZARD, "EU", "all", month)]
        rows.append(f"| break-even hazard multiple k*, EU | {dates[month]} | | | "
                    f"{break_even_text(row, 'none')} | times the run's harm per token "
                    f"(hazard scale); {row['note']} |")
    return "\n".join(rows)


def break_even_text(row: pd.Series, none: str = "none in [0, 100]") -> str:
    """A break-even's median [5 %, 95 %] over paired runs, or ``none``."""
    if not math.isfinite(row["mean"]):
        return none
    return with_ci("m", row["mean"], row["p05"], row["p95"], False)


def library_table(summary: pd.DataFrame, ids: list[str], month: int, date: str) -> str:
    """Markdown: every scenario's paired difference vs the baseline at ``month``."""
    head = " | ".join(f"{m} ({s})" for m, s in LIBRARY)
    rows = [f"| scenario | region | {head} |", "|---|---|" + "---|" * len(LIBRARY)]
    key = summary[summary["month"] == month].set_index(["scenario", "metric", "region",
                                                        "segment"])
    for sid in ids[1:]:
        for region in LIBRARY_REGIONS:
            cells = []
            for metric, segment in LIBRARY:
                if (sid, metric, region, segment) not in key.index:
                    cells.append("n/a")
                    continue
                cells.append(effect(metric, key.loc[(sid, metric, region, segment)]))
            rows.append(f"| {sid} | {region} | " + " | ".join(cells) + " |")
    legend = "; ".join(f"`{m}`: {unit_text(m)}" for m, _ in LIBRARY)
    return (f"Paired effects vs the baseline at {date}: {effect_legend(summary)}.\n\n"
            + "\n".join(rows) + f"\n\nUnits: {legend}.")


def structural_table(by_scope: dict[str, pd.DataFrame], months: list[int],
                     dates: dict[int, str], rows_of: tuple = STRUCTURAL_ROWS,
                     column: str = "effect, `{}` prices") -> str:
    """Markdown: the EU ban's paired effect under each structural alternative.

    Args:
        by_scope: Alternative name -> the headline pair's summary under it.
        months: Months shown.
        dates: Month -> ``YYYY-MM``.
        rows_of: The (metric, region, segment, label) rows.
        column: Column title, ``{}`` standing for the alternative's name.
    """
    scopes = list(by_scope)
    rows = ["| outcome | month | " + " | ".join(column.format(s) for s in scopes)
            + " | unit |", "|---|---|" + "---|" * len(scopes) + "---|"]
    keys = {s: t.set_index(["scenario", "metric", "region", "segment", "month"])
            for s, t in by_scope.items()}
    for metric, region, segment, what in rows_of:
        for month in months:
            cells = [effect(metric, keys[s].loc[(HEADLINE, metric, region, segment, month)])
                     for s in scopes]
            rows.append(f"| {what} | {dates[month]} | " + " | ".join(cells)
                        + f" | {unit_text(metric)} |")
    return "\n".join(rows)


def stamp(meta: dict[str, object], headline: str) -> str:
    """Run stamp shared by findings.md and the README: format, settings, digest of the numbers."""
    digest = hashlib.sha256(headline.encode("utf-8")).hexdigest()[:12]
    return (f"<!-- findings format {FORMAT}; run {digest}; "
            f"{json.dumps(meta, sort_keys=True)} -->")


def readme_block(summary: pd.DataFrame, months: list[int], dates: dict[int, str],
                 replications: int, run_stamp: str, draws: int | None = None) -> str:
    """The README's headline: EU enterprise HHI, open share and net welfare, and the caveat."""
    key = summary.set_index(["scenario", "metric", "region", "segment", "month"])
    month = months[-1]
    parts = []
    for metric, segment, what in (("hhi_market", "enterprise", "EU enterprise HHI"),
                                  ("open_usage_share", "all", "EU open-weights usage share"),
                                  ("net_welfare_usd", "all", "EU net welfare")):
        r = key.loc[(HEADLINE, metric, "EU", segment, month)]
        unit = " USD per month" if metric.endswith("_usd") else (
            " points" if metric.startswith("hhi") else "")
        text = effect(metric, r)
        if text.endswith("> 0)"):  # the unit before the share of draws
            head, _, share = text.rpartition(" (")
            text = f"{head}{unit} ({share}"
        else:
            text += unit
        parts.append(f"{what} {text}")
    m_star = key.loc[(HEADLINE, BREAK_EVEN, "EU", "all", month)]
    parts.append(f"break-even misuse premium m* {break_even_text(m_star)} "
                 f"({m_star['note'].split('; ', 1)[-1]})")
    k_star = key.loc[(HEADLINE, BREAK_EVEN_HAZARD, "EU", "all", month)]
    parts.append(f"break-even hazard multiple k* {break_even_text(k_star, 'none')} (times the "
                 f"assumed harm per token; {k_star['note'].split('; ', 1)[-1]})")
    if draws:
        opening = (f"> **Headline.** If the EU bans open-weights models from 2027-01, at "
                   f"{dates[month]} (posterior-predictive paired effects vs the baseline: "
                   f"median [90 % interval] over {draws} posterior draws x {replications} "
                   f"replications, and the share of draws above zero): ")
        caveat = POSTERIOR.format(draws=draws)
    else:
        opening = (f"> **Headline (provisional).** If the EU bans open-weights models from "
                   f"2027-01, at {dates[month]} (paired differences vs the baseline, "
                   f"{replications} replications, 95 % CI): ")
        caveat = PROVISIONAL
    return "\n".join([
        run_stamp,
        opening + "; ".join(parts) + ".",
        "> " + caveat.replace("**", ""),
        "> Details and every scenario: [docs/findings.md](docs/findings.md).",
    ])


def replace_block(text: str, name: str, body: str) -> str:
    """Replace the text between ``<!-- findings:NAME -->`` and ``<!-- /findings:NAME -->``."""
    begin, end = f"<!-- findings:{name} -->", f"<!-- /findings:{name} -->"
    if begin not in text:
        return text + f"\n{begin}\n{body}\n{end}\n"
    head, _, rest = text.partition(begin)
    _, _, tail = rest.partition(end)
    return f"{head}{begin}\n{body}\n{end}{tail}"


def replace_headline(text: str, body: str) -> str:
    """Replace the README's ``<!-- headline -->`` block (up to ``<!-- /headline -->``).

    A README without the closing marker (as written by hand) has its block end at the first
    line after the marker that is neither a quote, a comment nor empty-before-quote.
    """
    begin, end = "<!-- headline -->", "<!-- /headline -->"
    if begin not in text:
        raise SystemExit("README.md has no <!-- headline --> marker")
    head, _, rest = text.partition(begin)
    if end in rest:
        _, _, tail = rest.partition(end)
    else:
        lines = rest.split("\n")
        i = 1  # rest starts with the newline after the marker
        while i < len(lines) and (lines[i].startswith(">") or lines[i].startswith("<!--")):
            i += 1
        tail = "\n" + "\n".join(lines[i:])
    return f"{head}{begin}\n{body}\n{end}{tail}"


def run(args: argparse.Namespace) -> dict[str, str]:
    """Run the library and return the generated blocks."""
    import sim

    names = [BASELINE, *[n for n in sim.shipped_scenarios() if n != BASELINE]]
    started = time.time()
    posterior = None if args.posterior.lower() == "none" else args.posterior
    options = {"replications": args.replications, "seed": args.seed, "jobs": args.jobs,
               "out": args.out / "library", "force": True, "progress": True,
               "posterior": posterior, "draws": args.draws if posterior else None}
    if args.months is not None:
        options["months"] = args.months
    if args.engine is not None:
        options["engine"] = args.engine
    results = sim.run(names, **options)
    market = results.market
    dates = dict(zip(market["month"], market["date"], strict=False))
    dates = {int(m): str(d) for m, d in dates.items()}
    final = results.final_month()
    months = report_months(final, dates)
    summary = results.summary(month=sorted({*months, final}))
    summary.to_csv(args.out / "library-summary.csv", index=False)
    # The headline pair on its own, exactly as `make demo` runs it: a run compiles every
    # scenario with the access groups of all of them (paired worlds stay identical until a
    # policy acts; sim.engine.compile.shared_cuts), so the pair alone and the pair inside
    # the library are split differently and agree only within their intervals.
    pair = sim.run([BASELINE, HEADLINE], **{**options, "out": args.out / "headline"})
    pair_summary = pair.summary(month=sorted({*months, final}))
    headline = headline_table(pair_summary, months, dates)
    shown = sorted({*months, final})
    regional = _alternative_summary(options, shown, {"world.price_scope": "regional"},
                                    "regional-prices")
    structural = structural_table({"global": pair_summary, "regional": regional}, months, dates)
    without = _alternative_summary(options, shown, {"contributors.capability_effect": "off"},
                                   "contributors-off")
    contributors = structural_table({"on": pair_summary, "off": without}, months, dates,
                                    CONTRIBUTOR_ROWS, "effect, contributors' capability `{}`")
    meta = {"replications": args.replications, "seed": args.seed, "months": final,
            "engine": getattr(results, "engine", args.engine or "default"),
            "scenarios": len(names), "seconds": round(time.time() - started, 1),
            "posterior": posterior, "draws": args.draws if posterior else None}
    run_stamp = stamp({k: v for k, v in meta.items() if k != "seconds"}, headline)
    return {
        "stamp": run_stamp,
        "provisional": POSTERIOR.format(draws=args.draws) if posterior else PROVISIONAL,
        "headline": headline,
        "library": library_table(summary, results.ids, final, dates[final]),
        "structural": structural,
        "contributors": contributors,
        "meta": (f"{run_stamp}\nGenerated by `make findings` (`python scripts/findings.py`) "
                 f"with {json.dumps(meta)}."),
        "readme": readme_block(pair_summary, months, dates, args.replications, run_stamp,
                               args.draws if posterior else None),
    }


def _alternative_summary(options: dict, months: list[int], overrides: dict[str, str],
                         folder: str) -> pd.DataFrame:
    """The headline pair again under a structural alternative (``overrides``)."""
    import sim
    from sim.scenario.loader import load_scenario
    from sim.scenario.overrides import apply_overrides

    pair = [apply_overrides(load_scenario(name), overrides, quiet=True)
            for name in (BASELINE, HEADLINE)]
    results = sim.run(pair, **{**options, "out": options["out"].parent / folder})
    summary = results.summary(month=months)
    ids = dict(zip(results.ids, (BASELINE, HEADLINE), strict=True))
    return summary.assign(scenario=summary["scenario"].map(ids))


def main() -> None:
    """Run the library and update docs/findings.md and the README's headline block."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posterior", default="baseline",
                        help="posterior to run over (shipped name or file; 'none': the "
                        "provisional point calibration)")
    parser.add_argument("--draws", type=int, default=64, help="posterior draws")
    parser.add_argument("--replications", type=int, default=2,
                        help="paired replications per draw (per scenario with --posterior "
                        "none; stochastic spread is small at these populations)")
    parser.add_argument("--months", type=int, default=None,
                        help="shorter horizon for a quick check (default: each scenario's)")
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--engine", choices=("exact", "expected"), default=None)
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "findings")
    parser.add_argument("--doc", type=Path, default=DOC, help="findings file to update")
    parser.add_argument("--readme", type=Path, default=README, help="README to update")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    blocks = run(args)
    text = args.doc.read_text(encoding="utf-8") if args.doc.exists() else "# Findings\n"
    for name in ("meta", "provisional", "headline", "structural", "contributors", "library"):
        text = replace_block(text, name, blocks[name])
    args.doc.write_text(text, encoding="utf-8")
    readme = args.readme.read_text(encoding="utf-8")
    args.readme.write_text(replace_headline(readme, blocks["readme"]), encoding="utf-8")
    print(f"updated {args.doc} and the headline block of {args.readme}", file=sys.stderr)


if __name__ == "__main__":
    main()
