"""The sampler's own coverage on a problem with a known answer (docs/calibration.md 9).

A linear-Gaussian model of the calibration's size (16 parameters on the unit cube, 13 facts,
each fact a sparse linear combination of parameters plus a normal error of sd 0.15) has an
exact posterior, so 90 % credible intervals from a calibrated sampler hold the truth 90 % of
the time. This runs the calibration's SMC sampler (same settings, only the particle count
varies) on ``--truths`` truths drawn from the prior and writes the coverage per particle count
into docs/calibration.md (the ``sampler-coverage`` block). It separates what the sampler does
at a population size from what the model's facts identify.

Usage:
    python scripts/sampler_coverage.py [--truths 100]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from sim.experiment import smc  # noqa: E402

DOC = ROOT / "docs" / "calibration.md"
DIMS, FACTS, SIGMA = 16, 13, 0.15


def coverage(particles: int, truths: int, seed: int = 0) -> np.ndarray:
    """Per parameter, the share of truths inside the 90 % interval."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(FACTS, DIMS)) * (rng.random((FACTS, DIMS)) < 0.3)
    sigma = np.full(FACTS, SIGMA)
    settings = smc.Settings(particles=particles)
    inside = []
    for t in range(truths):
        truth = np.random.default_rng([seed, 1, t]).random(DIMS)
        observed = truth @ a.T + np.random.default_rng([seed, 2, t]).normal(size=FACTS) * sigma

        def simulate(u: np.ndarray, reps: np.ndarray) -> np.ndarray:
            return u @ a.T

        pop = smc.first_population(simulate, DIMS, observed, sigma, settings, 100 + t)
        while not pop.finished:
            pop = smc.smc_stage(pop, simulate, observed, sigma, settings, 100 + t)
        low, high = np.percentile(pop.u, [5, 95], axis=0)
        inside.append((low <= truth) & (truth <= high))
    return np.mean(inside, axis=0)


def main(argv: list[str] | None = None) -> int:
    """Measure and write the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--truths", type=int, default=100)
    args = parser.parse_args(argv)
    lines = [f"`python scripts/sampler_coverage.py --truths {args.truths}`: {DIMS} parameters, "
             f"{FACTS} linear facts, exact posterior.", "",
             "| particles | coverage of 90 % intervals: mean over parameters | lowest |",
             "|---|---|---|"]
    for n in (32, 128, 500):
        share = coverage(n, args.truths)
        lines.append(f"| {n} | {100 * share.mean():.0f} % | {100 * share.min():.0f} % |")
        print(lines[-1], flush=True)
    text = DOC.read_text(encoding="utf-8")
    pattern = re.compile(r"(<!-- sampler-coverage -->\n)(?:.*?\n)?(<!-- /sampler-coverage -->)",
                         re.S)
    if not pattern.search(text):
        raise SystemExit(f"{DOC}: no <!-- sampler-coverage --> block")
    DOC.write_text(pattern.sub(lambda m: m.group(1) + "\n".join(lines) + "\n" + m.group(2),
                               text), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
