"""Where the EU ban's net-welfare effect changes sign over the harm priors (issue 16).

Draws the ``[harm]`` parameters from their priors (``sim.mechanisms.harm.PRIORS``), runs the
baseline and the EU ban (``eu_blocks_open``) paired at each draw, and prints:
- the share of draws in which the ban raises EU net welfare at the horizon;
- for each harm parameter, its Spearman rank correlation with the effect and its medians among
  the draws where the ban helps and where it hurts: which parameters decide it.

docs/validation.md quotes the table; ``make harm-priors`` regenerates it. Harm does not feed
back into the market, so only the harm figures differ between draws.

Usage:
    python scripts/harm_priors.py [--draws 32] [--replications 2] [--seed 1] [--months M]
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import pandas as pd
from scipy import stats

import sim
from sim.mechanisms.harm import PRIORS, sample_priors
from sim.scenario.loader import load_scenario
from sim.scenario.overrides import apply_overrides


def effects(draws: dict[str, np.ndarray], replications: int, seed: int,
            months: int | None = None) -> np.ndarray:
    """``[n]`` mean paired effect of the EU ban on EU net welfare at the horizon, USD/month."""
    base, ban = load_scenario("baseline"), load_scenario("eu_blocks_open")
    n = len(next(iter(draws.values())))
    scenarios = {}
    for i in range(n):
        values = {f"harm.{k}": float(v[i]) for k, v in draws.items()}
        scenarios[f"base{i}"] = apply_overrides(base, values, quiet=True)
        scenarios[f"ban{i}"] = apply_overrides(ban, values, quiet=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = sim.run(scenarios, replications=replications, seed=seed, engine="expected",
                          months=months)
    market = results.market
    final = market[(market["region"] == "EU") & (market["segment"] == "all")
                   & (market["month"] == market["month"].max())]
    value = final.set_index(["scenario", "replication"])["net_welfare_usd"]
    return np.array([(value[f"ban{i}"] - value[f"base{i}"]).mean() for i in range(n)])


def main(argv: list[str] | None = None) -> int:
    """Print the table; returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=32)
    parser.add_argument("--replications", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--months", type=int, default=None, help="horizon (default: 2030-12)")
    args = parser.parse_args(argv)
    draws = sample_priors(np.random.default_rng(args.seed), args.draws)
    effect = effects(draws, args.replications, args.seed, args.months)
    helps = effect > 0
    print(f"EU ban (eu_blocks_open) vs baseline, EU net welfare at the horizon, {args.draws} "
          f"draws of the harm priors x {args.replications} paired replications (expected "
          f"engine, seed {args.seed}): the ban raises it in {helps.sum()} of {args.draws} "
          f"draws; median effect {np.median(effect) / 1e9:+.3g}B USD a month.\n")
    print("| parameter | prior | Spearman rho with the effect | median where the ban helps "
          "| median where it hurts |")
    print("|---|---|---|---|---|")
    for prior in PRIORS:
        x = draws[prior.name]
        rho = stats.spearmanr(x, effect).statistic if np.ptp(x) > 0 else float("nan")
        where = [f"{np.median(x[mask]):.3g}" if mask.any() else "n/a"
                 for mask in (helps, ~helps)]
        print(f"| `{prior.name}` | {prior.distribution} [{prior.low:g}, {prior.high:g}] "
              f"| {rho:+.2f} | {where[0]} | {where[1]} |")
    table = pd.DataFrame({**draws, "effect_usd": effect})
    print(f"\nLargest effects: {table['effect_usd'].max() / 1e9:+.3g}B, smallest "
          f"{table['effect_usd'].min() / 1e9:+.3g}B USD a month.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
