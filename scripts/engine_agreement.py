"""Whether the expected and exact demand engines agree (issue 17; ``make engine-agreement``).

For every shipped scenario, runs ``--worlds`` worlds with each engine (the same replication
numbers, so contributors', entrants' and decisions' draws are keyed alike) to 72 months and
compares the headline metrics at 12, 36 and 72 months: ``z = (mean_expected - mean_exact) /
se``, with ``se`` the standard error of the difference of the two means over worlds (the
exact engine's multinomial noise plus the randomness both engines share). The issue's rule:
at most 1 % of comparisons beyond 3 and none beyond 5. docs/performance.md quotes the table.

Usage:
    python scripts/engine_agreement.py [--worlds 12] [--scenarios baseline ...] [--markdown]
"""

from __future__ import annotations

import argparse
import math
import warnings

import numpy as np

from sim.engine.compile import compile_scenario
from sim.engine.engine import Engine
from sim.engine.metrics import INDEX
from sim.scenario.loader import load_scenario, shipped_scenarios

MONTHS = (12, 36, 72)
#: The headline metrics compared: (metric, region, segment).
CELLS = (("hhi_market", "EU", "enterprise"), ("hhi_market", "US", "enterprise"),
         ("hhi_market", "EU", "developer"), ("open_usage_share", "EU", "all"),
         ("open_usage_share", "US", "all"), ("open_usage_share", "World", "developer"),
         ("price_paid", "World", "enterprise"), ("consumer_surplus_usd", "EU", "all"),
         ("net_welfare_usd", "EU", "all"), ("harm_usd", "EU", "all"),
         ("gap_months", "World", "all"))


def values(name: str, engine: str, worlds: int, seed: int) -> dict[tuple, np.ndarray]:
    """``{(metric, region, segment, month): [worlds] values}`` of one scenario and engine."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scenario = load_scenario(name)
        params = compile_scenario(scenario).repeat(worlds)
    run = Engine(params, seed, np.arange(worlds), engine, keep_months=MONTHS).run(max(MONTHS))
    st = params.structure
    regions, segments = [*st.regions, "World"], [*st.segments, "all"]
    out = {}
    for metric, region, segment in CELLS:
        if region not in regions or segment not in segments:
            continue
        for i, month in enumerate(MONTHS):
            out[(metric, region, segment, month)] = run.recorder.market[
                :, i, regions.index(region), segments.index(segment), INDEX[metric]]
    return out


def z_score(expected: np.ndarray, exact: np.ndarray) -> float:
    """Difference of means in standard errors (0 when both are equal and noiseless)."""
    e, x = expected[np.isfinite(expected)], exact[np.isfinite(exact)]
    if len(e) < 2 or len(x) < 2:
        return math.nan
    diff = e.mean() - x.mean()
    se = math.sqrt(e.var(ddof=1) / len(e) + x.var(ddof=1) / len(x))
    if se == 0.0:
        return 0.0 if diff == 0.0 else math.inf
    return diff / se


def compare(names: list[str], worlds: int, seed: int) -> list[dict]:
    """One row per (scenario, cell, month) with both means and the z-score."""
    rows = []
    for name in names:
        exact, expected = values(name, "exact", worlds, seed), values(name, "expected", worlds,
                                                                        seed)
        for key, x in exact.items():
            e = expected[key]
            rows.append({"scenario": name, "cell": key, "exact": float(np.nanmean(x)),
                         "expected": float(np.nanmean(e)), "z": z_score(e, x)})
    return rows


def report(rows: list[dict], worlds: int, markdown: bool) -> str:
    """The agreement table: per scenario, comparisons beyond 3 and 5 and the largest |z|."""
    lines = []
    if markdown:
        lines += [f"Expected against exact engine, {worlds} worlds each, headline metrics at "
                  f"months {', '.join(map(str, MONTHS))} (`make engine-agreement`):", "",
                  "| scenario | comparisons | beyond 3 se | beyond 5 se | largest abs(z) (cell) |",
                  "|---|---|---|---|---|"]
    total = {"n": 0, "3": 0, "5": 0}
    for name in dict.fromkeys(r["scenario"] for r in rows):
        mine = [r for r in rows if r["scenario"] == name and not math.isnan(r["z"])]
        beyond3 = sum(abs(r["z"]) > 3 for r in mine)
        beyond5 = sum(abs(r["z"]) > 5 for r in mine)
        worst = max(mine, key=lambda r: abs(r["z"]), default=None)
        where = "" if worst is None else (f"{abs(worst['z']):.2f} ({worst['cell'][0]} "
                                          f"{worst['cell'][1]} {worst['cell'][2]}, month "
                                          f"{worst['cell'][3]})")
        total["n"] += len(mine)
        total["3"] += beyond3
        total["5"] += beyond5
        lines.append(f"| {name} | {len(mine)} | {beyond3} | {beyond5} | {where} |" if markdown
                     else f"{name:<36} {len(mine):>4} {beyond3:>3} {beyond5:>3}  {where}")
    share = total["3"] / max(total["n"], 1)
    verdict = ("meets" if share <= 0.01 and total["5"] == 0 else "misses")
    summary = (f"All: {total['n']} comparisons, {total['3']} beyond 3 se ({share:.1%}), "
               f"{total['5']} beyond 5 se: {verdict} the rule (at most 1 % beyond 3, none "
               "beyond 5).")
    lines += ["", summary] if markdown else [summary]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Compare the engines and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worlds", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scenarios", nargs="*", default=None)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    names = args.scenarios or sorted(shipped_scenarios())
    print(report(compare(names, args.worlds, args.seed), args.worlds, args.markdown))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
