"""A sequential Monte Carlo sampler whose populations are batches of worlds.

The posterior is ``p(theta | y) ∝ p(theta) L(y | theta)``, with ``L`` the probability of the
facts ``y`` given a simulated path: each fact is the model's value plus an independent normal
error of the fact's own tolerance (observation error and model discrepancy together; ABC with
the error model as its kernel, which makes the answer exact for that error model:
Wilkinson 2013, *Stat. Appl. Genet. Mol. Biol.* 12(2)). The model is stochastic, so the
likelihood is estimated by one simulation per particle, which is unbiased: the moves below are
pseudo-marginal Metropolis-Hastings steps (Andrieu & Roberts 2009) and target the exact
posterior.

The sampler tempers the likelihood, ``p(theta) L^beta`` from ``beta = 0`` (the prior) to 1
(Del Moral, Doucet & Jasra 2006; the adaptive schedule of Jasra et al. 2011): each stage picks
the next ``beta`` by bisection so that the importance weights keep an effective sample size of
``ess_fraction`` x particles, resamples (systematic), and moves every particle by random-walk
MH steps on the logit of the unit cube with the population's scaled covariance (Roberts &
Rosenthal 2001's ``2.38^2 / d``), repeated until most particles have moved. Every
simulation of a stage is one call of ``simulate`` on the whole population: the batched engine
steps them as worlds of one batch, on the local pool or on Dask.

Randomness: every stage's draws come from ``numpy.random.default_rng((seed, stage, use))``,
and every simulation has its own replication number (``next_replication`` counts them), so a
run interrupted after stage k and resumed from the stored stage gives, bit for bit, what the
uninterrupted run gives.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field, replace

import numpy as np

__all__ = ["Population", "Settings", "log_likelihood", "ess", "next_beta", "smc_stage",
           "systematic_resample", "first_population", "credible_interval", "shrinkage",
           "drive", "first_requests", "stage_requests", "Requests", "stages_left"]

#: ``simulate(u [N, d], replications [N]) -> [N, J]`` simulated values of the facts.
Simulate = Callable[[np.ndarray, np.ndarray], np.ndarray]

_PROPOSE, _RESAMPLE, _ACCEPT = 1, 2, 3


@dataclass(frozen=True)
class Settings:
    """The sampler's settings (every one is recorded beside the posterior).

    Attributes:
        particles: Population size N.
        ess_fraction: Effective sample size kept by each reweighting, as a share of N.
        moved_fraction: Move a stage's particles until this share has moved at least once.
        max_moves: At most this many MH sweeps a stage.
        max_stages: Give up (with a clear message) after this many stages.
    """

    particles: int = 1000
    ess_fraction: float = 0.6
    moved_fraction: float = 0.8
    max_moves: int = 8
    max_stages: int = 60


@dataclass(frozen=True)
class Population:
    """A stage's particles: unit-cube coordinates, log-likelihoods and simulated facts.

    Attributes:
        stage: 0 for the prior sample.
        beta: The likelihood's tempering exponent the particles target.
        u: ``[N, d]`` unit-cube coordinates.
        loglik: ``[N]`` log-likelihood of each particle's own simulation.
        sims: ``[N, J]`` each particle's simulated facts.
        next_replication: Replication number of the next simulation.
        simulations: Simulations run so far (all stages).
        log: One record per stage (beta, ESS, acceptance, sweeps).
    """

    stage: int
    beta: float
    u: np.ndarray
    loglik: np.ndarray
    sims: np.ndarray
    next_replication: int
    simulations: int
    log: tuple[dict[str, float], ...] = field(default_factory=tuple)

    @property
    def finished(self) -> bool:
        """Whether the particles target the posterior (beta = 1)."""
        return self.beta >= 1.0


def log_likelihood(sims: np.ndarray, observed: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """``[N]`` log L of each simulation, up to a constant (-inf where a value is NaN).

    Example:
        >>> log_likelihood(np.array([[1.0, 2.0], [np.nan, 2.0]]), np.array([1.0, 4.0]),
        ...                np.array([1.0, 2.0]))
        array([-0.5, -inf])
    """
    z = (sims - observed[None, :]) / sigma[None, :]
    out = -0.5 * np.sum(z ** 2, axis=1)
    return np.where(np.isfinite(out), out, -np.inf)


def ess(log_weights: np.ndarray) -> float:
    """Kish's effective sample size of normalised ``exp(log_weights)``."""
    finite = np.isfinite(log_weights)
    if not finite.any():
        return 0.0
    w = np.exp(log_weights - log_weights[finite].max())
    return float(w.sum() ** 2 / np.sum(w ** 2))


def next_beta(beta: float, loglik: np.ndarray, target_ess: float) -> float:
    """The next tempering exponent: the largest step keeping ``ess >= target_ess``.

    Example:
        >>> ll = np.random.default_rng(0).normal(size=1000) * 10
        >>> b = next_beta(0.0, ll, 500)
        >>> 0 < b < 1 and abs(ess(b * ll) - 500) < 1
        True
    """
    if ess((1.0 - beta) * loglik) >= target_ess:
        return 1.0
    low, high = 0.0, 1.0 - beta
    for _ in range(100):  # bisection to ~1e-30 of the remaining step
        mid = 0.5 * (low + high)
        if ess(mid * loglik) >= target_ess:
            low = mid
        else:
            high = mid
    if low <= 0.0:
        raise RuntimeError("the likelihood is degenerate (no step keeps the effective "
                           "sample size); raise the number of particles")
    return beta + low


def systematic_resample(log_weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices of a systematic resample (Kitagawa 1996) of N particles."""
    n = log_weights.size
    w = np.exp(log_weights - np.max(log_weights))
    cumulative = np.cumsum(w / w.sum())
    cumulative[-1] = 1.0
    return np.searchsorted(cumulative, (rng.random() + np.arange(n)) / n)


def _logit(u: np.ndarray) -> np.ndarray:
    u = np.clip(u, 1e-12, 1 - 1e-12)
    return np.log(u) - np.log1p(-u)


def _expit(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # stable for any z


def _log_jacobian(z: np.ndarray) -> np.ndarray:
    """``sum log u (1 - u)`` at ``u = expit(z)``: the uniform prior's density on the logit."""
    return np.sum(-np.logaddexp(0.0, z) - np.logaddexp(0.0, -z), axis=1)


def _stream(seed: int, stage: int, use: int, sweep: int = 0) -> np.random.Generator:
    return np.random.default_rng([seed, stage, use, sweep])


def first_population(simulate: Simulate, dims: int, observed: np.ndarray, sigma: np.ndarray,
                     settings: Settings, seed: int) -> Population:
    """Stage 0: N draws from the prior (uniform on the unit cube), one simulation each."""
    return drive(first_requests(dims, observed, sigma, settings, seed), simulate)


def smc_stage(population: Population, simulate: Simulate, observed: np.ndarray,
              sigma: np.ndarray, settings: Settings, seed: int) -> Population:
    """One stage: reweight to the next beta, resample, move. Returns the new population."""
    return drive(stage_requests(population, observed, sigma, settings, seed), simulate)


#: A stage as a coroutine: it yields ``(u, replications)`` to simulate, is sent the
#: simulated facts, and returns the new :class:`Population`. Many populations (the synthetic
#: truths of a coverage check) can so share one batched simulation per round.
Requests = Generator[tuple[np.ndarray, np.ndarray], np.ndarray, Population]


def drive(requests: Requests, simulate: Simulate) -> Population:
    """Run a stage coroutine to its end with ``simulate``."""
    try:
        u, reps = next(requests)
        while True:
            u, reps = requests.send(simulate(u, reps))
    except StopIteration as done:
        return done.value


def first_requests(dims: int, observed: np.ndarray, sigma: np.ndarray, settings: Settings,
                   seed: int) -> Requests:
    """Stage 0 as a coroutine (see :func:`first_population`)."""
    n = settings.particles
    u = _stream(seed, 0, _PROPOSE).random((n, dims))
    sims = yield u, np.arange(n)
    ll = log_likelihood(sims, observed, sigma)
    if not np.isfinite(ll).any():
        raise RuntimeError("no draw from the prior gives finite values of the targets")
    record = {"stage": 0, "beta": 0.0, "ess": float(n), "acceptance": float("nan"),
              "sweeps": 0, "simulations": n}
    return Population(0, 0.0, u, ll, sims, n, n, (record,))


def stage_requests(population: Population, observed: np.ndarray, sigma: np.ndarray,
                   settings: Settings, seed: int) -> Requests:
    """One stage as a coroutine (see :func:`smc_stage`)."""
    stage = population.stage + 1
    n, dims = population.u.shape
    beta = next_beta(population.beta, population.loglik, settings.ess_fraction * n)
    log_w = (beta - population.beta) * population.loglik
    kept = ess(log_w)
    w = np.exp(log_w - log_w[np.isfinite(log_w)].max())
    w /= w.sum()
    # moves on the logit of the unit cube: a proposal never leaves the prior's support, and
    # the prior density there is the Jacobian u (1 - u) of each coordinate
    z = _logit(np.ascontiguousarray(population.u))  # one memory order, one rounding
    centred = z - w @ z
    cov = (centred * w[:, None]).T @ centred + 1e-9 * np.eye(dims)
    chol = np.linalg.cholesky((2.38 ** 2 / dims) * cov)
    idx = systematic_resample(log_w, _stream(seed, stage, _RESAMPLE))
    z, ll, sims = z[idx], population.loglik[idx], population.sims[idx]
    next_rep, runs = population.next_replication, population.simulations
    moved = np.zeros(n, dtype=bool)
    accepted = proposed = 0
    sweeps = 0
    while sweeps < settings.max_moves and moved.mean() < settings.moved_fraction:
        proposal = z + _stream(seed, stage, _PROPOSE, sweeps).standard_normal((n, dims)) @ chol.T
        new_sims = yield _expit(proposal), next_rep + np.arange(n)
        next_rep += n
        runs += n
        new_ll = log_likelihood(new_sims, observed, sigma)
        log_alpha = (beta * (new_ll - ll) + _log_jacobian(proposal) - _log_jacobian(z))
        log_alpha = np.where(np.isfinite(new_ll), log_alpha, -np.inf)
        uniform = _stream(seed, stage, _ACCEPT, sweeps).random(n)
        accept = np.log(np.maximum(uniform, 1e-300)) < log_alpha
        z = np.where(accept[:, None], proposal, z)
        ll = np.where(accept, new_ll, ll)
        sims = np.where(accept[:, None], new_sims, sims)
        moved |= accept
        accepted += int(accept.sum())
        proposed += n
        sweeps += 1
    u = _expit(z)
    record = {"stage": stage, "beta": beta, "ess": kept, "acceptance": accepted / proposed,
              "sweeps": sweeps, "simulations": runs}
    return replace(population, stage=stage, beta=beta, u=u, loglik=ll, sims=sims,
                   next_replication=next_rep, simulations=runs,
                   log=(*population.log, record))


def credible_interval(values: np.ndarray, level: float = 0.9) -> tuple[float, float]:
    """The central ``level`` interval of equally weighted ``values``."""
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


#: Standard deviation of the uniform prior on each coordinate of the unit cube.
PRIOR_SD = float(np.sqrt(1.0 / 12.0))


def shrinkage(posterior_u: np.ndarray) -> np.ndarray:
    """``1 - sd_posterior / sd_prior`` per column of unit-cube draws (0: nothing learnt).

    Example:
        >>> shrinkage(np.full((4, 1), 0.5)).tolist()  # every draw at one point: pinned
        [1.0]
    """
    return 1.0 - posterior_u.std(axis=0) / PRIOR_SD


def stages_left(betas: list[float], recent: int = 3) -> int | None:
    """How many more tempering stages reach ``beta = 1``, from the pace of ``log beta``.

    With the adaptive schedule (:func:`next_beta`) the stages multiply beta by a factor that
    settles once the likelihood dominates the prior (for a Gaussian likelihood it is
    constant), so the remaining stages are ``-log(beta) / mean(recent steps of log beta)``:
    an estimate that the progress bar revises every stage, never a promise. The bar's ETA is
    this count times the mean time a stage took, where a bar on beta itself would take the
    slow early stages for the whole run.

    Args:
        betas: Each stage's beta so far (stage 0's is 0).
        recent: Steps of ``log beta`` averaged.

    Returns:
        The count (0 once beta is 1), or None before two stages have a positive beta.

    Example:
        >>> stages_left([0.0, 0.001, 0.01, 0.1])   # a factor 10 a stage: one more
        1
        >>> stages_left([0.0, 0.01]) is None, stages_left([0.0, 0.2, 1.0])
        (True, 0)
    """
    if betas and betas[-1] >= 1.0:
        return 0
    logs = np.log([b for b in betas if b > 0])
    if len(logs) < 2:
        return None
    pace = float(np.mean(np.diff(logs)[-recent:]))
    if pace <= 0:
        return None
    return int(np.ceil(-logs[-1] / pace - 1e-9))
