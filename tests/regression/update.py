"""Regenerate the regression baselines of the shipped scenarios (deliberately).

Run ``make regression-update`` (or ``.venv/bin/python tests/regression/update.py``)
after a change that is *meant* to move the model's results, then review the diff of
``tests/regression/baselines.csv`` and commit it with the change that caused it.

Every shipped scenario runs at a fixed seed (:data:`SEED`), :data:`REPLICATIONS`
replications and :data:`MONTHS` months with the :data:`ENGINE` demand engine (common
random numbers, so replication i of every scenario sees the same luck). For each region
in :data:`REGIONS`, segment in :data:`SEGMENTS`, metric in :data:`METRICS` and month in
:data:`CHECK_MONTHS`, the mean over replications is stored in ``baselines.csv`` (long
format, 17 significant digits so a re-read is bit-exact). ``meta.json`` records the
versions of numpy, scipy, pandas, mesa, Python and marketsim and the git commit (and
whether the checkout was dirty) that produced them, plus a hash of each resolved
scenario, so a failing comparison can say whether a scenario file or the code changed.

``tests/test_regression.py`` compares a fresh run with these files.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
BASELINES = HERE / "baselines.csv"
META = HERE / "meta.json"

SEED = 20251
REPLICATIONS = 4
MONTHS = 24
CHECK_MONTHS = (0, 12, 24)
REGIONS = ("World", "US", "EU", "CN")
SEGMENTS = ("all", "enterprise")
# version-2 metrics (sim.metric_names); hhi_market, open_user_share and adoption are NaN for
# segment "all" (no relevant market pools people and organisations), and must stay NaN
METRICS = ("hhi_market", "hhi_revenue", "open_usage_share", "open_user_share", "adoption",
           "price_paid", "consumer_surplus_usd", "gap_months", "frontier_closed")
ENGINE = "exact"
JOBS = 2
UPDATE_COMMAND = "make regression-update"
VERSION_KEYS = ("marketsim", "python", "numpy", "scipy", "pandas", "mesa")


def scenario_names() -> list[str]:
    """The shipped scenarios, baseline first (every other one is compared with it)."""
    import sim

    names = sorted(sim.shipped_scenarios())
    return ["baseline", *[n for n in names if n != "baseline"]]


def simulate(names: list[str] | None = None, jobs: int = JOBS) -> pd.DataFrame:
    """Run the scenarios and return the summary in the stored long format.

    Columns: scenario, region, segment, metric, month, value (mean over replications).
    """
    import sim

    names = scenario_names() if names is None else names
    res = sim.run(names, replications=REPLICATIONS, seed=SEED, months=MONTHS, jobs=jobs,
                  progress=False, engine=ENGINE)
    market = res.market
    cell = market[market["month"].isin(CHECK_MONTHS) & market["region"].isin(REGIONS)
                  & market["segment"].isin(SEGMENTS)]
    means = (cell.groupby(["scenario", "region", "segment", "month"], observed=True)
             [list(METRICS)].mean().reset_index())
    long = means.melt(id_vars=["scenario", "region", "segment", "month"], value_vars=METRICS,
                      var_name="metric", value_name="value")
    long = long.astype({"scenario": str, "region": str, "segment": str, "metric": str,
                        "month": int, "value": float})
    return sort(long)


def sort(frame: pd.DataFrame) -> pd.DataFrame:
    """Canonical row order: scenario, region, segment, metric, month."""
    return (frame[["scenario", "region", "segment", "metric", "month", "value"]]
            .sort_values(["scenario", "region", "segment", "metric", "month"])
            .reset_index(drop=True))


def scenario_hashes(names: list[str]) -> dict[str, str]:
    """sha256 of each resolved scenario's TOML (what a replication actually reads)."""
    import sim

    return {n: hashlib.sha256(sim.load_scenario(n).to_toml().encode()).hexdigest()
            for n in names}


def current_versions() -> dict[str, str]:
    """Versions of marketsim, Python and the numerical libraries results depend on."""
    from sim.experiment.store import versions

    found = versions()
    return {k: found.get(k, "absent") for k in VERSION_KEYS}


def read_baselines() -> pd.DataFrame:
    """The stored baselines."""
    frame = pd.read_csv(BASELINES, dtype={"scenario": str, "region": str, "segment": str,
                                          "metric": str, "month": int, "value": float})
    return sort(frame)


def read_meta() -> dict:
    """The stored metadata."""
    return json.loads(META.read_text(encoding="utf-8"))


def write(frame: pd.DataFrame, names: list[str]) -> None:
    """Write baselines.csv and meta.json."""
    from sim.experiment.store import git_state, now_iso

    frame.to_csv(BASELINES, index=False, float_format="%.17g", lineterminator="\n")
    meta = {
        "command": UPDATE_COMMAND,
        "created_at": now_iso(),
        "versions": current_versions(),
        "git": git_state(),
        "seed": SEED,
        "replications": REPLICATIONS,
        "months": MONTHS,
        "engine": ENGINE,
        "check_months": list(CHECK_MONTHS),
        "regions": list(REGIONS),
        "segments": list(SEGMENTS),
        "metrics": list(METRICS),
        "statistic": "mean over replications",
        "scenarios": scenario_hashes(names),
    }
    META.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Regenerate the baselines; print what changed compared with the stored ones."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=JOBS, help="worker processes")
    args = parser.parse_args(argv)
    names = scenario_names()
    frame = simulate(names, jobs=args.jobs)
    if BASELINES.is_file():
        old = read_baselines()
        both = old.merge(frame, on=["scenario", "region", "segment", "metric", "month"],
                         how="outer", suffixes=("_old", "_new"), indicator=True)
        same = (both["value_old"] == both["value_new"]) | (
            both["value_old"].isna() & both["value_new"].isna() & (both["_merge"] == "both"))
        changed = both[~same]
        print(f"{len(changed)} of {len(both)} values changed")
        if len(changed):
            print(changed.groupby(["scenario", "metric"]).size().to_string())
    write(frame, names)
    print(f"wrote {BASELINES.relative_to(HERE.parents[1])} ({len(frame)} rows) and "
          f"{META.relative_to(HERE.parents[1])}")
    return 0


if __name__ == "__main__":  # workers are spawned: keep the run behind the guard
    sys.exit(main())
