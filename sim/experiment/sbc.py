"""Does the calibration recover what it should? A coverage check on synthetic truths.

Simulation-based calibration (Talts et al. 2018, "Validating Bayesian inference algorithms
with simulation-based calibration"): draw a parameter vector from the prior, simulate the
facts it implies (one world, plus each fact's observation error), calibrate on those synthetic
facts with the same sampler, settings and error model as the real calibration, and ask
whether the 90 % credible interval of each parameter holds its true value. Over many truths
the share should be about 90 % for a calibrated procedure; far below says the posterior is
over-confident, far above that it is too wide. The rank of the truth among the posterior
draws is kept too (uniform when calibrated).

Affordability: every truth's sampler is a coroutine (``sim.experiment.smc.stage_requests``),
and all truths still sampling send their proposals to one batched simulation per round, so
100 truths of 48 particles run as batches of thousands of worlds rather than 100 separate
calibrations of small batches.
"""

from __future__ import annotations

import sys
from concurrent.futures import Executor
from typing import Any

import numpy as np
import pandas as pd

from sim.experiment.bayes import CHUNK, facts, simulator
from sim.experiment.draws import cells_of_targets
from sim.experiment.pool import lasting_pool, shows_progress
from sim.experiment.priors import PriorsFile
from sim.experiment.smc import (
    Population,
    Requests,
    Settings,
    first_requests,
    shrinkage,
    stage_requests,
)
from sim.scenario.overrides import with_horizon
from sim.scenario.schema import Scenario

__all__ = ["coverage_check", "coverage_summary", "TRUTH_REPLICATION"]

#: Replication numbers of the truths' own simulations (far above any sampler's; < 2^32).
TRUTH_REPLICATION = 2 ** 31
_TRUTHS, _NOISE = 7_000_001, 7_000_002


def coverage_check(scenario: Scenario, targets: Any, priors: PriorsFile, *, truths: int = 100,
                   particles: int = 48, seed: int = 1, engine: str = "expected",
                   jobs: int | None = None, executor: Executor | None = None,
                   progress: bool | None = None, settings: Settings | None = None,
                   chunk: int = CHUNK) -> pd.DataFrame:
    """Calibrate on ``truths`` synthetic truths drawn from the prior; one row per (truth, path).

    Columns: ``truth``, ``path``, ``true``, ``p05``, ``p50``, ``p95``, ``inside_90`` and
    ``rank`` (the share of posterior draws below the true value).

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> from sim.scenario.loader import load_scenario
        >>> from sim.experiment.calibration import load_targets
        >>> from sim.experiment.priors import load_priors
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (folder / "t.toml").write_text('''[targets]
        ... name = "one fact"
        ... [[target]]
        ... name = "eu_hhi"
        ... metric = "hhi_market"
        ... region = "EU"
        ... segment = "enterprise"
        ... month = 3
        ... value = 3000.0
        ... tolerance = 500.0
        ... source = "an example"
        ... ''')
        >>> _ = (folder / "p.toml").write_text('''[priors]
        ... name = "one parameter"
        ... scenario = "baseline"
        ... [[prior]]
        ... path = "world.network_effect"
        ... low = 0.0
        ... high = 0.6
        ... source = "an example"
        ... ''')
        >>> sc = load_scenario("baseline")
        >>> rows = coverage_check(sc, load_targets(folder / "t.toml", sc),
        ...                       load_priors(folder / "p.toml", sc), truths=2, particles=6,
        ...                       jobs=1, progress=False)
        >>> list(rows["path"]), len(rows)
        (['world.network_effect', 'world.network_effect'], 2)
    """
    settings = settings or Settings(particles=particles)
    cells = cells_of_targets(targets, scenario.scenario.start)
    short = with_horizon(scenario, max(max(c.step for c in cells), 1))
    informed = priors.informed
    dims = len(informed)
    with lasting_pool(jobs, executor) as pool:
        simulate = simulator(short.to_toml(), informed, cells, seed, engine, jobs, pool, chunk)
        results, true_u = _calibrate_truths(simulate, targets, dims, truths, settings, seed,
                                            progress)
    rows = []
    for i, pop in sorted(results.items()):
        for j, prior in enumerate(informed):
            draws = prior.value(pop.u[:, j])
            true = float(prior.value(true_u[i, j]))
            low, mid, high = np.percentile(draws, [5, 50, 95])
            rows.append({"truth": i, "path": prior.path, "true": true, "p05": low, "p50": mid,
                         "p95": high, "inside_90": bool(low <= true <= high),
                         "rank": float(np.mean(draws < true)),
                         "shrinkage": float(shrinkage(pop.u[:, j:j + 1])[0])})
    return pd.DataFrame(rows)


def _calibrate_truths(simulate: Any, targets: Any, dims: int, truths: int, settings: Settings,
                      seed: int, progress: bool | None
                      ) -> tuple[dict[int, Population], np.ndarray]:
    """Every truth's posterior population, sampled in lockstep (one batch a round)."""
    from tqdm.auto import tqdm

    _, sigma = facts(targets)
    true_u = np.random.default_rng([seed, _TRUTHS]).random((truths, dims))
    true_sims = simulate(true_u, TRUTH_REPLICATION + np.arange(truths))
    noise = np.random.default_rng([seed, _NOISE]).standard_normal(true_sims.shape)
    observed = true_sims + noise * sigma[None, :]
    usable = [i for i in range(truths) if np.isfinite(observed[i]).all()]
    coroutines: dict[int, Requests] = {
        i: first_requests(dims, observed[i], sigma, settings, seed + 1 + i) for i in usable}
    results: dict[int, Population] = {}
    show = shows_progress(progress)
    bar = tqdm(total=len(usable), disable=not show, unit="truth", file=sys.stderr,
               desc="coverage check: truths calibrated")
    pending: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    try:
        for i, gen in coroutines.items():
            pending[i] = next(gen)
        while pending:
            order = sorted(pending)
            u = np.concatenate([pending[i][0] for i in order])
            reps = np.concatenate([pending[i][1] for i in order])
            # one batch for every truth still sampling; replication numbers repeat across
            # truths (common random numbers), which the batch allows
            sims = simulate(u, reps)
            offset = 0
            for i in order:
                size = pending[i][0].shape[0]
                part = sims[offset:offset + size]
                offset += size
                pending[i] = _advance(i, part, coroutines, results, observed, sigma, settings,
                                     seed, bar)
            pending = {i: req for i, req in pending.items() if req is not None}
    finally:
        bar.close()
    return results, true_u


def _advance(i: int, sims: np.ndarray, coroutines: dict[int, Requests],
             results: dict[int, Population], observed: np.ndarray, sigma: np.ndarray,
             settings: Settings, seed: int, bar: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """Send truth ``i`` its simulations; start its next stage when one ends."""
    try:
        return coroutines[i].send(sims)
    except StopIteration as done:
        pop: Population = done.value
    if pop.finished:
        results[i] = pop
        bar.update()
        return None
    if pop.stage >= settings.max_stages:
        raise RuntimeError(f"truth {i}: no posterior after {pop.stage} stages")
    coroutines[i] = stage_requests(pop, observed[i], sigma, settings, seed + 1 + i)
    return next(coroutines[i])


def coverage_summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Per parameter: truths, share inside the 90 % interval, mean shrinkage, in 80-97 %?

    The band is the issue's acceptance band for every identified parameter (issue 18).
    """
    summary = rows.groupby("path", sort=False).agg(
        truths=("truth", "size"), coverage_90=("inside_90", "mean"),
        mean_shrinkage=("shrinkage", "mean")).reset_index()
    summary["within_80_97"] = summary["coverage_90"].between(0.80, 0.97)
    return summary
