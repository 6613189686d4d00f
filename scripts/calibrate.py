"""Regenerate the shipped posterior: ``make calibrate`` (docs/calibration.md 5).

Runs the Bayesian calibration of the baseline (``marketsim calibrate baseline --method
bayes``; the local, ordered sampler: chunks in a fixed order, every draw keyed by its stage and
replication) into ``reports/calibration/``, then the hindcast: the posterior predicts every
fact of ``scenarios/targets/validation.toml``. It copies the posterior, and its diagnostics
with the command, seed, versions and hindcast scores, to ``scenarios/posterior/
baseline.parquet`` and ``baseline.diagnostics.json`` (keeping the coverage check's results
that ``make sbc`` wrote there). The same seed and particles reproduce the posterior bit for
bit.

Usage:
    python scripts/calibrate.py [--particles N] [--seed S] [--jobs J] [--resume]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from calibration_docs import write_docs  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "scenarios" / "posterior"


def main(argv: list[str] | None = None) -> int:
    """Run the calibration and ship its posterior."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--particles", type=int, default=500)
    parser.add_argument("--seed", type=int, default=20240101)
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "calibration")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--ship", type=Path, default=SHIPPED,
                        help="where the posterior is copied (default scenarios/posterior/)")
    args = parser.parse_args(argv)

    from sim.experiment.bayes import calibrate_bayes
    from sim.experiment.calibration import load_targets
    from sim.experiment.predictive import bands_over_time
    from sim.experiment.priors import load_priors
    from sim.report.posterior import write_posterior_report
    from sim.scenario.loader import load_scenario
    from sim.scenario.schema import ScenarioWarning

    warnings.simplefilter("ignore", ScenarioWarning)  # the shortened horizon's notes
    scenario = load_scenario("baseline")
    targets = load_targets(ROOT / "scenarios" / "targets" / "fit.toml", scenario)
    priors = load_priors(ROOT / "scenarios" / "priors" / "baseline.toml", scenario)
    # --resume is left out: a resumed run gives the uninterrupted run's posterior bit for bit
    given = [a for a in (argv if argv is not None else sys.argv[1:]) if a != "--resume"]
    command = ("python scripts/calibrate.py " + " ".join(given)).strip()
    result = calibrate_bayes(scenario, targets, priors, out=args.out,
                             particles=args.particles, seed=args.seed, jobs=args.jobs,
                             resume=args.resume, force=not args.resume, progress=None,
                             command=command)
    hindcast, validation, events = hindcast_scores(scenario, targets, result.posterior,
                                                   args.seed, args.jobs)
    hindcast.to_csv(result.folder / "hindcast.csv", index=False)
    bands, facts = bands_over_time(scenario, {"fit": targets, "validation": validation},
                                   result.posterior, seed=args.seed, jobs=args.jobs)
    bands.to_csv(result.folder / "bands.csv", index=False)
    facts.to_csv(result.folder / "bands_facts.csv", index=False)
    gap = gap_over_posterior(scenario, result.posterior, args.seed, args.jobs)
    args.ship.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(result.folder / "posterior.parquet", args.ship / "baseline.parquet")
    manifest = json.loads((result.folder / "manifest.json").read_text(encoding="utf-8"))
    shipped = args.ship / "baseline.diagnostics.json"
    before = json.loads(shipped.read_text(encoding="utf-8")) if shipped.is_file() else {}
    diagnostics = {"command": command, "seed": args.seed, "particles": args.particles,
                   "versions": manifest["versions"], **result.diagnostics,
                   "hindcast": hindcast_summary(hindcast, events), "gap_months": gap}
    if "coverage_check" in before:
        diagnostics["coverage_check"] = before["coverage_check"]
    shipped.write_text(json.dumps(diagnostics, indent=1) + "\n", encoding="utf-8")
    (result.folder / "diagnostics.json").write_text(json.dumps(diagnostics, indent=1) + "\n",
                                                    encoding="utf-8")
    report = write_posterior_report(result.folder)
    write_docs(diagnostics)
    cover = result.diagnostics["fit_coverage_90"]
    h = diagnostics["hindcast"]
    print(f"report: {report}")
    print(f"posterior: {args.ship / 'baseline.parquet'} ({len(result.posterior)} draws); "
          f"fit coverage {cover['inside']}/{cover['targets']}; hindcast: {h['inside_90']}/"
          f"{h['facts']} inside their 90 % intervals, {h['beats_persistence']}/"
          f"{h['scored_against_persistence']} beat persistence on CRPS")
    return 0


#: Months at which the open-closed gap is checked over the posterior (issue 15: Epoch's
#: 1.1-5.3 months in 2025-10, and 2-6 months in every year 2026-2030).
GAP_DATES = ("2025-10", "2026-12", "2027-12", "2028-12", "2029-12", "2030-12")


def gap_over_posterior(scenario, posterior, seed, jobs):
    """The posterior's median and 90 % band of ``gap_months`` at :data:`GAP_DATES`."""
    import numpy as np

    from sim.experiment.draws import Cell
    from sim.experiment.predictive import predictive_values
    from sim.scenario.months import step_of

    start = scenario.scenario.start
    cells = tuple(Cell("gap_months", "World", "all", step_of(d, start)) for d in GAP_DATES)
    values = predictive_values(scenario, None, posterior, seed=seed, jobs=jobs, cells=cells)
    low, mid, high = np.nanpercentile(values, [5, 50, 95], axis=0)
    return [{"date": d, "p05": float(a), "p50": float(b), "p95": float(c)}
            for d, a, b, c in zip(GAP_DATES, low, mid, high, strict=True)]


def hindcast_scores(scenario, fit_targets, posterior, seed, jobs):
    """The validation facts scored against the posterior's predictions."""
    from sim.experiment.calibration import load_targets
    from sim.experiment.event_facts import event_queries, event_table, load_event_facts
    from sim.experiment.predictive import hindcast_table, predictive_values

    validation = load_targets(ROOT / "scenarios" / "targets" / "validation.toml", scenario)
    facts = load_event_facts(ROOT / "scenarios" / "targets" / "validation_events.toml")
    queries = event_queries(facts, scenario.scenario.start)
    values = predictive_values(scenario, validation, posterior, seed=seed, jobs=jobs,
                               events=queries)
    n = len(validation.target)
    table = hindcast_table(scenario, validation, fit_targets, values[:, :n], seed)
    return table, validation, event_table(facts, values[:, n:])


def hindcast_summary(table, events):
    """Counts and one record per fact and per event fact, for diagnostics.json."""
    scored = table[table["beats_persistence"].notna()]
    columns = ["target", "date", "observed", "p05", "p50", "p95", "inside_90", "crps_model",
               "persistence", "crps_persistence", "beats_persistence"]
    records = json.loads(table[columns].to_json(orient="records"))
    return {"facts": int(len(table)), "inside_90": int(table["inside_90"].sum()),
            "coverage_90": float(table["inside_90"].mean()),
            "scored_against_persistence": int(len(scored)),
            "beats_persistence": int(scored["beats_persistence"].astype(bool).sum()),
            "facts_table": records,
            "events": json.loads(events.drop(columns=["source"]).to_json(orient="records")),
            "mean_brier": float(events["brier"].mean())}


if __name__ == "__main__":
    raise SystemExit(main())
