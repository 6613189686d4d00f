"""The calibration's coverage check on synthetic truths: ``make sbc`` (docs/calibration.md 6).

Draws ``--truths`` parameter vectors from the baseline's priors, simulates the fit-window
facts each implies (plus each fact's observation error), calibrates on them with the same
sampler and error model as ``make calibrate`` (smaller populations: see the settings below),
and records whether each identified parameter's 90 % credible interval holds its true value.
Writes ``scenarios/posterior/baseline.sbc.csv`` (one row per truth and parameter), the
per-parameter summary into ``baseline.diagnostics.json`` under ``coverage_check``, and the
tables of docs/calibration.md.

Usage:
    python scripts/sbc.py [--truths 100] [--particles 32] [--max-moves 8] [--jobs J]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from calibration_docs import write_docs  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "scenarios" / "posterior"


def main(argv: list[str] | None = None) -> int:
    """Run the coverage check and store its results beside the posterior."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--truths", type=int, default=100)
    parser.add_argument("--particles", type=int, default=32)
    parser.add_argument("--max-moves", type=int, default=8)
    parser.add_argument("--seed", type=int, default=20240102)
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--ship", type=Path, default=SHIPPED)
    args = parser.parse_args(argv)

    from sim.experiment.calibration import load_targets
    from sim.experiment.priors import load_priors
    from sim.experiment.sbc import coverage_check, coverage_summary
    from sim.experiment.smc import Settings
    from sim.scenario.loader import load_scenario
    from sim.scenario.schema import ScenarioWarning

    warnings.simplefilter("ignore", ScenarioWarning)
    scenario = load_scenario("baseline")
    targets = load_targets(ROOT / "scenarios" / "targets" / "fit.toml", scenario)
    priors = load_priors(ROOT / "scenarios" / "priors" / "baseline.toml", scenario)
    settings = Settings(particles=args.particles, max_moves=args.max_moves)
    started = time.perf_counter()
    rows = coverage_check(scenario, targets, priors, truths=args.truths, seed=args.seed,
                          settings=settings, jobs=args.jobs, progress=None)
    seconds = time.perf_counter() - started
    summary = coverage_summary(rows)
    args.ship.mkdir(parents=True, exist_ok=True)
    rows.to_csv(args.ship / "baseline.sbc.csv", index=False)
    shipped = args.ship / "baseline.diagnostics.json"
    diagnostics = json.loads(shipped.read_text(encoding="utf-8")) if shipped.is_file() else {}
    command = ("python scripts/sbc.py " + " ".join(argv if argv is not None
                                                   else sys.argv[1:])).strip()
    diagnostics["coverage_check"] = {
        "command": command, "seed": args.seed, "truths": args.truths,
        "particles": args.particles, "max_moves": args.max_moves,
        "seconds": round(seconds, 1),
        "parameters": json.loads(summary.to_json(orient="records"))}
    shipped.write_text(json.dumps(diagnostics, indent=1) + "\n", encoding="utf-8")
    if "parameters" in diagnostics:  # the posterior's tables exist: refresh the docs
        write_docs(diagnostics)
    print(summary.to_string(index=False))
    print(f"{args.truths} truths in {seconds:.0f} s; results in {args.ship / 'baseline.sbc.csv'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
