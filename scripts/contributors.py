"""How much contributors matter: open usage share against contributor productivity (issue 15).

Runs the baseline with ``contributors.productivity`` scaled (0 switches communities off) and
prints, for developers and for all segments (World, 2028-12), the open usage share and the arc
elasticity between neighbouring values, ``d ln share / d ln productivity``. docs/validation.md
quotes its table; ``make contributors`` regenerates it.

Usage:
    python scripts/contributors.py [--replications 4] [--markdown]
"""

from __future__ import annotations

import argparse
import math
import warnings

from sim.replication import run_replications
from sim.scenario.loader import load_scenario
from sim.scenario.overrides import apply_overrides

MONTH = 59  # 2028-12
FACTORS = (0.0, 0.5, 1.0, 2.0)


def open_shares(factor: float, replications: int) -> dict[str, float]:
    """World open usage share at 2028-12, developers and all segments, at a productivity factor."""
    base = load_scenario("baseline")
    scenario = apply_overrides(base, {"contributors.productivity":
                                      factor * base.contributors.productivity}, quiet=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        market = run_replications(scenario, seed=1, replications=range(replications),
                                  engine="expected", months=MONTH)["market"]
    cells = market[(market["region"] == "World") & (market["month"] == MONTH)]
    return {seg: float(cells[cells["segment"] == seg]["open_usage_share"].mean())
            for seg in ("developer", "all")}


def main(argv: list[str] | None = None) -> int:
    """Print the table; returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=4)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    rows = [(f, open_shares(f, args.replications)) for f in FACTORS]
    if args.markdown:
        print("| productivity (x baseline) | open share, developers | open share, all "
              "| elasticity, developers | elasticity, all |")
        print("|---|---|---|---|---|")
    for i, (factor, share) in enumerate(rows):
        elastic = {}
        if i > 0 and rows[i - 1][0] > 0:
            before = rows[i - 1]
            for seg in share:
                elastic[seg] = (math.log(share[seg] / before[1][seg])
                                / math.log(factor / before[0]))
        cells = [f"{share['developer']:.3f}", f"{share['all']:.3f}",
                 *(f"{elastic[s]:+.3f}" if s in elastic else "n/a" for s in ("developer", "all"))]
        if args.markdown:
            print(f"| {factor:g} | " + " | ".join(cells) + " |")
        else:
            print(f"{factor:>4g}  " + "  ".join(cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
