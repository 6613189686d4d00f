"""Regenerate the numbers of docs/findings.md (``make findings``).

1. Every shipped scenario against the baseline with common random numbers
   (``--replications`` each, default 100): paired differences with 95 % CIs in HHI,
   open share, mean price and consumer welfare per region at months 12, 36 and 60.
2. Robustness of the headline (EU blocks open-weights models): the paired effect on the
   EU's HHI and open share at month 60 across ``--samples`` Latin-hypercube draws of the
   uncertain parameters (default 200), each run with ``--robust-replications`` paired
   replications of baseline and ban.

The tables are written between the ``<!-- findings:... -->`` markers of
docs/findings.md (the prose around them is written by hand, from these numbers), and
the raw summaries go to ``reports/findings/``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "findings.md"
MONTHS = (12, 36, 60)
REGIONS = ("US", "EU", "CN", "RoW", "World")
METRICS = {"hhi": "HHI (points)", "open_share": "open share", "price_mean": "mean price ($/M tok)",
           "consumer_welfare": "welfare (utils/alpha)"}

#: Uncertain parameters and their plausible ranges for the robustness ensemble.
UNCERTAIN = {
    "world.network_effect": (0.1, 0.9),
    "world.spillover": (0.04, 0.15),
    "world.spillover_closed": (0.0, 0.08),
    "world.rd_productivity": (0.35, 0.55),
    "world.outside_cost_fall_per_year": (1.1, 2.5),
    "world.community_productivity": (0.1, 0.6),
    "segments.enterprise.capability_weight": (0.2, 0.6),
    "segments.enterprise.price_elasticity": (1.3, 2.5),
    "segments.enterprise.switching_cost": (0.5, 3.0),
    "segments.developer.open_preference": (0.0, 2.0),
}


def _fmt(mean: float, low: float, high: float, metric: str) -> str:
    digits = {"hhi": 0, "open_share": 3, "price_mean": 4, "consumer_welfare": 3}[metric]
    return f"{mean:+.{digits}f} [{low:+.{digits}f}, {high:+.{digits}f}]"


def scenario_table(summary: pd.DataFrame, ids: list[str]) -> str:
    """Markdown: per scenario, region, month, the paired difference vs baseline per metric."""
    rows = ["| scenario | region | month | " + " | ".join(METRICS.values()) + " |",
            "|---|---|---|" + "---|" * len(METRICS)]
    cells = summary[(summary["segment"] == "all") & summary["region"].isin(REGIONS)]
    for sid in ids[1:]:
        sub = cells[cells["scenario"] == sid]
        for region in REGIONS:
            for month in MONTHS:
                pick = sub[(sub["region"] == region) & (sub["month"] == month)].set_index("metric")
                values = [_fmt(pick.loc[m, "diff_mean"], pick.loc[m, "diff_ci_low"],
                               pick.loc[m, "diff_ci_high"], m) for m in METRICS]
                rows.append(f"| {sid} | {region} | {month} | " + " | ".join(values) + " |")
    return "\n".join(rows)


def level_table(summary: pd.DataFrame) -> str:
    """Markdown: the baseline's own levels (mean and 95 % CI) at months 0, 12, 36 and 60."""
    rows = ["| region | month | " + " | ".join(METRICS.values()) + " |",
            "|---|---|" + "---|" * len(METRICS)]
    base = summary[(summary["scenario"] == "baseline") & (summary["segment"] == "all")]
    for region in REGIONS:
        for month in (0, *MONTHS):
            pick = base[(base["region"] == region) & (base["month"] == month)].set_index("metric")
            values = [f"{pick.loc[m, 'mean']:.4g}" for m in METRICS]
            rows.append(f"| {region} | {month} | " + " | ".join(values) + " |")
    return "\n".join(rows)


def run_library(replications: int, seed: int, jobs: int | None, out: Path) -> tuple[str, str]:
    """Part 1: every scenario vs the baseline."""
    import sim

    names = ["baseline", *[n for n in sim.shipped_scenarios() if n != "baseline"]]
    results = sim.run(names, replications=replications, seed=seed, jobs=jobs,
                      out=out / "library", force=True, progress=True,
                      command="scripts/findings.py")
    summary = results.summary(month=[0, *MONTHS], metrics=list(METRICS))
    summary.to_csv(out / "library-summary.csv", index=False)
    return scenario_table(summary, results.ids), level_table(summary)


def run_robustness(samples: int, replications: int, seed: int, jobs: int | None,
                   out: Path) -> str:
    """Part 2: the headline's effect across a Latin-hypercube ensemble of uncertain parameters."""
    from scipy.stats import qmc

    import sim

    base, ban = sim.load_scenario("baseline"), sim.load_scenario("eu_blocks_open")
    unit = qmc.LatinHypercube(d=len(UNCERTAIN), seed=seed).random(samples)
    lows = np.array([lo for lo, _ in UNCERTAIN.values()])
    highs = np.array([hi for _, hi in UNCERTAIN.values()])
    points = lows + unit * (highs - lows)
    design = pd.DataFrame(points, columns=list(UNCERTAIN))
    design.insert(0, "sample", range(samples))
    design.to_csv(out / "robustness-design.csv", index=False)
    scenarios = {}
    for i, row in enumerate(points):
        values = {path: float(v) for path, v in zip(UNCERTAIN, row, strict=True)}
        scenarios[f"s{i:04d}-base"] = base.with_overrides(values)
        scenarios[f"s{i:04d}-ban"] = ban.with_overrides(values)
    sim.run(scenarios, replications=replications, seed=seed, jobs=jobs,
                      out=out / "robustness", force=True, progress=True,
                      command="scripts/findings.py --robustness")
    frame = pd.read_parquet(out / "robustness" / "market.parquet",
                            columns=["scenario", "replication", "month", "region", "segment",
                                     "hhi", "open_share"],
                            filters=[("month", "=", 60), ("region", "=", "EU"),
                                     ("segment", "=", "all")])
    frame["sample"] = frame["scenario"].str.slice(1, 5).astype(int)
    frame["arm"] = frame["scenario"].str.slice(6)
    wide = frame.pivot_table(index=["sample", "replication"], columns="arm",
                             values=["hhi", "open_share"])
    effects = pd.DataFrame({
        "hhi": wide[("hhi", "ban")] - wide[("hhi", "base")],
        "open_share": wide[("open_share", "ban")] - wide[("open_share", "base")],
    }).groupby("sample").mean()
    effects.join(design.set_index("sample")).to_csv(out / "robustness-effects.csv")
    rows = ["| outcome (EU, month 60) | median effect | 5-95 % across samples | share of "
            "samples with the headline's sign | Spearman rank correlation with the effect "
            "(largest) |", "|---|---|---|---|---|"]
    for metric, sign in (("hhi", 1), ("open_share", -1)):
        values = effects[metric].to_numpy()
        share = float(np.mean(np.sign(values) == sign))
        corr = design.set_index("sample").join(effects[metric]).corr(method="spearman")[metric]
        corr = corr.drop(metric)
        top = corr.abs().sort_values(ascending=False).index[:2]
        drivers = ", ".join(f"{name} {corr[name]:+.2f}" for name in top)
        rows.append(f"| {metric} | {np.median(values):+.4g} | [{np.percentile(values, 5):+.4g}, "
                    f"{np.percentile(values, 95):+.4g}] | {share:.0%} | {drivers} |")
    return "\n".join(rows)


def replace_block(text: str, name: str, body: str) -> str:
    """Replace the text between ``<!-- findings:NAME -->`` and ``<!-- /findings:NAME -->``."""
    begin, end = f"<!-- findings:{name} -->", f"<!-- /findings:{name} -->"
    if begin not in text:
        return text + f"\n{begin}\n{body}\n{end}\n"
    head, _, rest = text.partition(begin)
    _, _, tail = rest.partition(end)
    return f"{head}{begin}\n{body}\n{end}{tail}"


def main() -> None:
    """Run both parts and update docs/findings.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=100)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--robust-replications", type=int, default=4)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "findings")
    parser.add_argument("--skip-robustness", action="store_true")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    differences, levels = run_library(args.replications, args.seed, args.jobs, args.out)
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Findings\n"
    text = replace_block(text, "levels", levels)
    text = replace_block(text, "differences", differences)
    if not args.skip_robustness:
        robust = run_robustness(args.samples, args.robust_replications, args.seed, args.jobs,
                                args.out)
        text = replace_block(text, "robustness", robust)
    meta = {"replications": args.replications, "samples": args.samples,
            "robust_replications": args.robust_replications, "seed": args.seed,
            "seconds": round(time.time() - started, 1)}
    text = replace_block(text, "meta", "Generated by `make findings` (`python scripts/"
                         f"findings.py`) with {json.dumps(meta)}.")
    DOC.write_text(text, encoding="utf-8")
    print(f"updated {DOC.relative_to(ROOT)} in {meta['seconds']} s", file=sys.stderr)


if __name__ == "__main__":
    main()
