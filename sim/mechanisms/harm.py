"""Expected external harm of model use, USD per month and region (MODEL.md 7).

Harm is usage times a hazard per million tokens that rises with capability. Open weights carry
a misuse premium ``m`` (their harm per unit of use is ``1 + m`` times a closed model's at equal
capability: INTERFACES.md) and a discount ``delta`` for the auditing and local-deployment
benefits of openness. A share ``L`` (leakage) of open weights' harm is global whoever serves
them and falls on regions by exposure weights, so a regional ban removes less of a region's
harm than of its usage. The maths, priors and sources are in docs/mechanisms/welfare-and-harm.md.

The model is run once; :func:`harm_components` returns the parts of harm that do not depend on
``m`` and :func:`harm_usd` is then a cheap, linear function of ``1 + m``, which is what the
break-even misuse premium (sim.mechanisms.welfare) needs.

Shapes follow the v2 convention: a leading world axis ``W``, then regions ``R``, optional cell
axes (segments ``S``, access groups ``G``) and products ``K``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

ArrayLike = float | np.ndarray

#: Misuse premium accepted by the scenario schema (INTERFACES.md: ``harm.misuse_premium`` 0-100).
MISUSE_PREMIUM_RANGE = (0.0, 100.0)


@dataclass(frozen=True)
class HarmParameters:
    """Harm parameters of one world, or of many worlds as arrays of shape ``[W]``.

    Defaults are the central values of :data:`PRIORS` (geometric centres for log-scaled
    parameters), chosen so that no default decides the sign of a policy's effect; results
    report the break-even misuse premium rather than rest on any one of them.

    Attributes:
        misuse_premium: ``m >= 0``; open weights' harm per M tokens is ``1 + m`` times a closed
            model's at equal capability. Default 1: the log-midpoint of the non-zero prior
            range [0.01, 100] (assumption; see the doc).
        leakage: ``L`` in [0, 1]; share of open weights' harm that is global, spread over
            regions by exposure. Default 0.5, the prior mean (assumption).
        openness_discount: ``delta`` in [0, 1); open harm per use is multiplied by
            ``1 - delta`` for auditing and local-deployment benefits. Default 0.25 (assumption).
        hazard_scale: ``h0``, expected harm of a closed model at the reference capability,
            USD per M tokens. Default 10**-1.5, the geometric centre of [1e-4, 10] (assumption).
        hazard_capability_slope: ``kappa``, per capability index point. Default ln 2 / 15:
            hazard doubles with one year of frontier progress at ~15 index points a year
            (Epoch AI via CALIBRATION.md; the doubling is an assumption).
        reference_capability: ``q_ref``, index points, where the hazard equals ``h0``. A
            normalisation, not an uncertainty: set it to the closed frontier at step 0 on the
            scale in use (the v1 scenarios put it at 100).
    """

    misuse_premium: ArrayLike = 1.0
    leakage: ArrayLike = 0.5
    openness_discount: ArrayLike = 0.25
    hazard_scale: ArrayLike = 10.0**-1.5
    hazard_capability_slope: ArrayLike = math.log(2.0) / 15.0
    reference_capability: ArrayLike = 100.0

    def __post_init__(self) -> None:
        low_m, high_m = MISUSE_PREMIUM_RANGE
        checks = {
            "misuse_premium": lambda x: (x >= low_m) & (x <= high_m),
            "leakage": lambda x: (x >= 0.0) & (x <= 1.0),
            "openness_discount": lambda x: (x >= 0.0) & (x < 1.0),
            "hazard_scale": lambda x: x >= 0.0,
            "hazard_capability_slope": lambda x: x >= 0.0,
            "reference_capability": lambda x: np.isfinite(x),
        }
        for name, ok in checks.items():
            value = np.asarray(getattr(self, name), dtype=float)
            if value.ndim > 1 or not np.all(np.isfinite(value) & ok(value)):
                raise ValueError(f"harm.{name} out of range or not a scalar/[W] array: {value}")


@dataclass(frozen=True)
class Prior:
    """Prior of one harm parameter (scenario path ``harm.<name>``).

    Attributes:
        name: field of :class:`HarmParameters`.
        low: lower bound of the support.
        high: upper bound of the support.
        distribution: ``uniform``, ``log-uniform`` or ``log-uniform-with-zero`` (an atom of
            probability ``zero_mass`` at 0, log-uniform on [``positive_low``, ``high``]).
        unit: unit of the parameter.
        source: where the range comes from, and what in it is an assumption.
        zero_mass: probability of exactly 0 (``log-uniform-with-zero`` only).
        positive_low: lower bound of the log-uniform part (``log-uniform-with-zero`` only).
    """

    name: str
    low: float
    high: float
    distribution: str
    unit: str
    source: str
    zero_mass: float = 0.0
    positive_low: float | None = None


#: Priors of every uncertain harm parameter (``reference_capability`` is a normalisation).
PRIORS: tuple[Prior, ...] = (
    Prior(
        "misuse_premium", 0.0, 100.0, "log-uniform-with-zero", "ratio",
        "Kapoor et al. (2024), 'On the Societal Impact of Open Foundation Models' (ICML; "
        "arXiv:2403.07918): the question is the marginal risk of open weights, evidence of "
        "which is strong for few misuse vectors (e.g. NCII, CSAM) and weak or absent for "
        "others; CALIBRATION.md: wide and including zero. Assumption: 25 % at exactly 0, "
        "otherwise log-uniform over four orders of magnitude [0.01, 100] (schema range).",
        zero_mass=0.25, positive_low=0.01,
    ),
    Prior(
        "leakage", 0.0, 1.0, "uniform", "share",
        "No measurement exists of how much open-weights misuse crosses borders; uniform over "
        "the whole admissible range (assumption).",
    ),
    Prior(
        "openness_discount", 0.0, 0.5, "uniform", "share",
        "Kapoor et al. (2024) list benefits of open weights (external auditing, transparency, "
        "local deployment keeping data in-house) that reduce harm per use, without a size; "
        "assumption: they remove between none and half of it.",
    ),
    Prior(
        "hazard_scale", 1e-4, 10.0, "log-uniform", "USD per M tokens",
        "No consensus figure. Order-of-magnitude anchors (assumption): Google alone served "
        "~4.8e8 M tokens a month (Google I/O, 2025-05); Deloitte (2024) projects US "
        "generative-AI-enabled fraud losses of USD 40B a year by 2027. At ~1e9 M tokens a month "
        "the range spans ~USD 1M a year (negligible) to ~USD 100B a year (the size of the "
        "market itself).",
    ),
    Prior(
        "hazard_capability_slope", 0.0, math.log(4.0) / 15.0, "uniform", "per index point",
        "Frontier gains ~15 index points a year (Epoch AI, CALIBRATION.md). Assumption: per "
        "year of frontier progress the hazard is unchanged (0) to quadrupled (ln 4 / 15); the "
        "midpoint, doubling, is the default.",
    ),
)


def sample_priors(rng: np.random.Generator, size: int) -> dict[str, np.ndarray]:
    """Draw harm parameters from :data:`PRIORS` (for sweeps and prior-predictive checks).

    Args:
        rng: numpy random generator owned by the caller (no global random state).
        size: number of draws (worlds) ``W``.

    Returns:
        Mapping from parameter name to an array ``[W]`` of draws.
    """
    draws: dict[str, np.ndarray] = {}
    for prior in PRIORS:
        if prior.distribution == "uniform":
            draws[prior.name] = rng.uniform(prior.low, prior.high, size)
        elif prior.distribution == "log-uniform":
            draws[prior.name] = np.exp(rng.uniform(np.log(prior.low), np.log(prior.high), size))
        else:  # log-uniform-with-zero
            assert prior.positive_low is not None
            positive = np.exp(rng.uniform(np.log(prior.positive_low), np.log(prior.high), size))
            draws[prior.name] = np.where(rng.uniform(size=size) < prior.zero_mass, 0.0, positive)
    return draws


@dataclass(frozen=True, eq=False)
class HarmComponents:
    """Parts of expected harm that do not depend on the misuse premium, USD per month.

    Every field has the shape of ``usage`` without its product axis: ``[W, R, *cells]``.

    Attributes:
        closed: harm of closed products' usage, falling on the region of use.
        open_local: open products' harm before the premium (after the openness discount) that
            falls on the region of use: ``(1 - L)`` of it.
        open_leaked: open products' harm before the premium that is global: ``L`` of the world
            total, spread over regions by exposure.
    """

    closed: np.ndarray
    open_local: np.ndarray
    open_leaked: np.ndarray

    @property
    def open_before_premium(self) -> np.ndarray:
        """Open harm before the premium falling on each region, ``[W, R, *cells]``, USD/month."""
        return self.open_local + self.open_leaked


def _per_world(value: ArrayLike, ndim: int) -> np.ndarray:
    """Reshape a scalar or ``[W]`` parameter so it broadcasts against a ``ndim`` array."""
    array = np.asarray(value, dtype=float)
    return array.reshape(array.shape + (1,) * (ndim - array.ndim)) if array.ndim == 1 else array


def hazard_per_million_tokens(capability: np.ndarray, params: HarmParameters) -> np.ndarray:
    """Expected harm per M tokens of a closed product, ``h0 exp(kappa (q - q_ref))``.

    Exponential in capability (assumption): each index point multiplies the hazard by the
    same factor, so a year of frontier progress multiplies it by ``exp(15 kappa)``.

    Args:
        capability: ``[W, K]`` capability ``q``, index points.
        params: harm parameters (scalars or ``[W]``).

    Returns:
        ``[W, K]`` hazard, USD per M tokens.
    """
    q = np.asarray(capability, dtype=float)
    scale = _per_world(params.hazard_scale, q.ndim)
    slope = _per_world(params.hazard_capability_slope, q.ndim)
    reference = _per_world(params.reference_capability, q.ndim)
    return scale * np.exp(slope * (q - reference))


def harm_components(
    usage: np.ndarray,
    capability: np.ndarray,
    is_open: np.ndarray,
    exposure: np.ndarray,
    params: HarmParameters,
) -> HarmComponents:
    """Split expected harm into the parts that do not depend on the misuse premium.

    Args:
        usage: ``[W, R, *cells, K]`` usage by adopters in region ``R``, M tokens per month,
            every billing route included (hosted and self-hosted open usage, downloaded weights
            still in use after a ban). ``*cells`` may be empty or e.g. ``S`` for harm by segment.
        capability: ``[W, K]`` capability, index points.
        is_open: ``[W, K]`` True for open-weights products.
        exposure: ``[W, R]`` or ``[R]`` non-negative weights summing to 1 over regions: the
            share of global (leaked) open harm each region bears, e.g. potential adopters'
            shares (the rule is the caller's; the doc discusses choices).
        params: harm parameters; ``misuse_premium`` is not used here.

    Returns:
        The components, each ``[W, R, *cells]``, USD per month.

    Raises:
        ValueError: if exposure is negative or does not sum to 1 over regions.
    """
    usage = np.asarray(usage, dtype=float)
    n_cells = usage.ndim - 3
    weights = np.broadcast_to(np.asarray(exposure, dtype=float), usage.shape[:2])
    if np.any(weights < 0.0) or not np.allclose(weights.sum(axis=1), 1.0, rtol=0, atol=1e-9):
        raise ValueError("exposure must be non-negative and sum to 1 over regions")
    hazard = hazard_per_million_tokens(capability, params)
    # [W, K] -> [W, 1, *1, K] so that it meets usage's region and cell axes
    hazard = hazard.reshape(hazard.shape[0], 1, *(1,) * n_cells, hazard.shape[1])
    opened = np.asarray(is_open, dtype=bool).reshape(hazard.shape)
    harm_per_product = usage * hazard
    closed = np.where(opened, 0.0, harm_per_product).sum(axis=-1)
    discount = _per_world(params.openness_discount, usage.ndim - 1)
    open_at_use = (1.0 - discount) * np.where(opened, harm_per_product, 0.0).sum(axis=-1)
    leakage = _per_world(params.leakage, usage.ndim - 1)
    world_open = open_at_use.sum(axis=1, keepdims=True)
    weights = weights.reshape(weights.shape + (1,) * n_cells)
    return HarmComponents(
        closed=closed,
        open_local=(1.0 - leakage) * open_at_use,
        open_leaked=leakage * weights * world_open,
    )


def harm_usd(components: HarmComponents, misuse_premium: ArrayLike) -> np.ndarray:
    """Expected external harm per region, ``closed + (1 + m) (open_local + open_leaked)``.

    Args:
        components: output of :func:`harm_components`, fields ``[W, R, *cells]``.
        misuse_premium: ``m >= 0``: a scalar, ``[W]`` (one per world) or an array that
            broadcasts against the components.

    Returns:
        ``[W, R, *cells]`` harm, USD per month. Summed over regions it equals the world's harm
        whatever the leakage (exposure sums to 1).
    """
    premium = _per_world(misuse_premium, components.closed.ndim)
    return components.closed + (1.0 + premium) * components.open_before_premium
