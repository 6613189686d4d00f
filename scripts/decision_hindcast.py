"""Decision hindcasts of issue 15: the openness and withdrawal rules at dated decisions.

For each dated decision of the validation window (Ernie 4.5, gpt-oss, Meta's 2025 stance;
Meta's EU withholding of 2024), runs the baseline to the month before and prints what the
model's rule would have chosen with the state it had then (``sim.experiment.hindcast``).
docs/validation.md quotes its tables; ``make hindcast`` regenerates them.

Usage:
    python scripts/decision_hindcast.py [--replications 20] [--markdown]
"""

from __future__ import annotations

import argparse

from sim.experiment import hindcast


def main(argv: list[str] | None = None) -> int:
    """Print the tables; returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=20)
    parser.add_argument("--markdown", action="store_true", help="(tables are markdown anyway)")
    args = parser.parse_args(argv)
    n = args.replications
    print(f"Openness rule ({n} baseline worlds, expected engine, seed 1): P(open) of the line's "
          "next generation, median [5 %, 95 %] over worlds; the firm's expected profit a month "
          "(medians).\n")
    print("| decision | date | line | the firm chose | P(open) | profit open | profit closed "
          "| of which indirect (open) | P(release older weights) | release's profit change |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for case in hindcast.OPENNESS_CASES:
        r = hindcast.openness_hindcast(case, n)
        mid, lo, hi = r["p_open"]
        release, gain = "not asked", "n/a"
        if r["p_release"] is not None:
            r_mid, r_lo, r_hi = r["p_release"]
            release = f"{r_mid:.2f} [{r_lo:.2f}, {r_hi:.2f}]"
            gain = f"${r['release_gain'] / 1e6:+,.2f}M"
        print(f"| {case.label} | {case.date} | {case.vendor} {case.product} | {case.chosen} "
              f"| {mid:.2f} [{lo:.2f}, {hi:.2f}] | ${r['profit_open'] / 1e6:,.1f}M "
              f"| ${r['profit_closed'] / 1e6:,.1f}M | ${r['indirect_open'] / 1e6:,.1f}M "
              f"| {release} | {gain} |")
    print(f"\nWithdrawal rule ({n} baseline worlds without Meta's dated EU withholding): the "
          "line's EU operating margin the month before, median [5 %, 95 %], against the EU "
          "compliance cost; share of worlds where the rule withdraws it that month.\n")
    print("| case | date | EU margin a month | EU compliance cost a month | withdrawn |")
    print("|---|---|---|---|---|")
    for case in hindcast.WITHDRAWAL_CASES:
        r = hindcast.withdrawal_hindcast(case, n)
        mid, lo, hi = r["margin"]
        print(f"| {case.label} | {case.date} | ${mid:,.0f} [${lo:,.0f}, ${hi:,.0f}] "
              f"| ${r['cost']:,.0f} | {r['share_withdrawing']:.0%} |")
    a = hindcast.adaptive_summary(n)
    print(f"\nEvery firm adaptive (scenarios/adaptive_openness.toml, {n} worlds): "
          f"{a['changes_per_world_year']:.1f} openness changes a world-year after 2025-06, "
          f"{a['to_open']} to open and {a['to_closed']} to closed, and {a['releases']} "
          "releases of an older generation's weights as a new line; World open usage share "
          f"{a['open_share']:.2f} at {a['date']} against the baseline's "
          f"{a['open_share_baseline']:.2f}.\n")
    print("| firm | changes to open | changes to closed |")
    print("|---|---|---|")
    for vendor, (to_open, to_closed) in a["by_vendor"].items():
        print(f"| {vendor} | {to_open} | {to_closed} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
