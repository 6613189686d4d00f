"""Validation benchmark (docs/validation.md): cost of a replication and its population scaling.

Times a 60-month baseline replication (median of 5 runs), then the same with every region's
potential adopters multiplied by 1,000: the engine's cost must not grow with the population
(adopters are counts), so the ratio should stay near 1. Also prints the baseline's EU
enterprise market HHI and open usage share and the capability gap at months 0, 12 and 60.
Nothing is asserted.

Usage::

    .venv/bin/python benchmarks/validation.py [--repeats 5] [--seed 0]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import sim
from sim.replication import run_replication

# money grows with the population: at x 1e4 funding passes the engine's 1e15 USD bound
SCALE = 1e3
MONTHS = 60


def scaled(scenario: sim.Scenario, factor: float) -> sim.Scenario:
    """``scenario`` with every ``regions.<r>.adopters.<segment>`` multiplied by ``factor``."""
    overrides = {f"regions.{region.name}.adopters.{segment}": count * factor
                 for region in scenario.regions for segment, count in region.adopters.items()}
    return scenario.with_overrides(overrides)


def median_time(scenario: sim.Scenario, seed: int, repeats: int) -> float:
    """Median wall time of ``repeats`` full replications (seconds)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run_replication(scenario, seed=seed, months=MONTHS)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    base = sim.load_scenario("baseline").with_overrides({"scenario.months": MONTHS})
    big = scaled(base, SCALE)
    run_replication(base, seed=args.seed, months=2)  # warm-up: imports, caches
    t_base = median_time(base, args.seed, args.repeats)
    t_big = median_time(big, args.seed, args.repeats)
    adopters = sum(sum(r.adopters.values()) for r in base.regions)
    print(f"python {platform.python_version()} on {platform.machine()}, "
          f"{args.repeats} repeats, seed {args.seed}")
    print(f"baseline 60-month replication: median {t_base:.3f} s "
          f"({adopters:.3g} potential adopters)")
    print(f"adopters x {SCALE:g}: median {t_big:.3f} s "
          f"({adopters * SCALE:.3g} potential adopters); ratio {t_big / t_base:.2f}")

    market = run_replication(base, seed=args.seed, months=MONTHS)["market"]
    cell = market[(market["region"] == "EU") & (market["segment"] == "enterprise")]
    print(f"\nbaseline, EU / enterprise (seed {args.seed}, replication 0):")
    print(f"{'month':>5} {'date':>8} {'hhi_market':>11} {'open_usage_share':>17} "
          f"{'gap_months':>11}")
    for month in (0, 12, 60):
        row = cell[cell["month"] == month].iloc[0]
        print(f"{month:>5} {row['date']:>8} {row['hhi_market']:>11.0f} "
              f"{row['open_usage_share']:>17.3f} {row['gap_months']:>11.1f}")


if __name__ == "__main__":
    main()
