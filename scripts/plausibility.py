"""Print the plausibility checks of issue 14 for a scenario (``make plausibility``).

Runs the scenario (expected-count engine, a few replications) and prints one row per check
of :mod:`sim.experiment.plausibility` with what it measured and whether it is inside its
tolerance; ``--markdown`` prints the table that docs/validation.md quotes. The exit code is
0 whatever the outcome: this is a report, the assertions are tests/test_plausibility.py's.

Usage:
    python scripts/plausibility.py                    # the baseline
    python scripts/plausibility.py --scenario eu_blocks_open --replications 4 --markdown
"""

from __future__ import annotations

import argparse
import warnings

from sim.experiment.plausibility import evaluate
from sim.replication import run_replications


def main(argv: list[str] | None = None) -> int:
    """Run the scenario and print the checks; returns the exit code (always 0)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="baseline")
    parser.add_argument("--replications", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--engine", default="expected", choices=("expected", "exact"))
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scenario notes are not what this report is about
        tables = run_replications(args.scenario, seed=args.seed,
                                  replications=range(args.replications), engine=args.engine)
    table = evaluate(tables)
    if args.markdown:
        print("| check | measured | tolerance | within |")
        print("|---|---|---|---|")
        for row in table.itertuples():
            print(f"| {row.what} | {row.measured} | {row.tolerance} | "
                  f"{'yes' if row.passed else '**no**'} |")
    else:
        for row in table.itertuples():
            print(f"{'ok  ' if row.passed else 'MISS'} {row.check:32s} {row.measured} "
                  f"[{row.tolerance}]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
