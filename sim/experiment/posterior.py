"""Ensembles over a calibrated posterior: which draws, and what each draw sets.

A posterior (``scenarios/posterior/<name>.parquet``, or any file ``marketsim calibrate
--method bayes`` wrote) has one row per draw: ``draw``, ``weight`` and one column per dotted
path. An ensemble over it runs every scenario once per chosen draw (times its replications),
so a world is the pair (draw, replication) and a policy's paired effect has a distribution
over draws: the parametric uncertainty of MODEL.md 9.

**What a draw sets.** A draw sets a path only where the scenario leaves it at the value of the
scenario the posterior was fitted to (its *reference*, the shipped scenario of the same name,
else ``baseline``). A value the scenario's own files or ``--set`` changed is the scenario's
question, so it is kept: ``strong_network_effects`` keeps its network effect while every
other calibrated parameter varies. The one case this rule cannot tell apart, a scenario that
sets a path to exactly the reference's value, is treated as not setting it
(docs/calibration.md 12).

**Which draws.** ``k`` draws are chosen by a random stream of their own, keyed by the run's
seed (never global random state): without replacement when the weights are equal and
``k`` is at most the number of draws, else by weight with replacement. The same seed and
``k`` choose the same draws in any process; the first ``k`` of ``k + 1`` are not a prefix
(each ``k`` is its own sample).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import ScenarioError
from sim.scenario.schema import Scenario

__all__ = ["Posterior", "load_posterior", "choose_draws", "own_paths", "draw_overrides",
           "DEFAULT_POSTERIOR", "DEFAULT_DRAWS", "DEFAULT_DRAW_REPLICATIONS", "NONE"]

#: The posterior ``marketsim run``, ``robustness`` and ``make demo`` use unless told otherwise.
DEFAULT_POSTERIOR = "baseline"
#: Draws of an ensemble when none are asked for: 64 draws give the 5 % and 95 % points of a
#: paired effect to about +-0.03 in probability (binomial sd of a 5 % tail at n = 64).
DEFAULT_DRAWS = 64
#: Replications per draw when none are asked for: two, so the stochastic spread (within a
#: draw) is estimated from 64 degrees of freedom while nearly all worlds go to the draws.
DEFAULT_DRAW_REPLICATIONS = 2
#: ``--posterior none``: run the scenario's own parameter values.
NONE = "none"
_TAG = 0x706F7374  # "post": the draw-selection stream, apart from every model stream


@dataclass(frozen=True)
class Posterior:
    """A posterior's draws and where they came from."""

    name: str  #: shipped name or file stem
    path: Path
    frame: pd.DataFrame  #: draw, weight, one column per dotted path
    reference: str  #: the scenario it was fitted to (decides what a draw sets)

    @property
    def paths(self) -> list[str]:
        """The dotted paths a draw sets (when the scenario leaves them alone)."""
        return [c for c in self.frame.columns if c not in ("draw", "weight")]

    def values(self, row: int) -> dict[str, float]:
        """Dotted path -> value of the draw in row ``row``."""
        record = self.frame.iloc[row]
        return {p: float(record[p]) for p in self.paths}


def load_posterior(ref: str | Path) -> Posterior:
    """Read a posterior by shipped name (``"baseline"``) or path.

    Raises:
        ScenarioError: No such file, not Parquet, or not a posterior (no ``draw`` column,
            no parameter column, non-finite values or weights).

    Example:
        >>> post = load_posterior("baseline")
        >>> "world.network_effect" in post.paths, post.reference
        (True, 'baseline')
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from sim.experiment.store import shown
    from sim.scenario.loader import shipped_dir

    candidate = Path(ref)
    if not candidate.is_file():
        shipped = shipped_dir() / "posterior" / f"{candidate.name}.parquet"
        if candidate.suffix or not shipped.is_file():
            names = sorted(p.stem for p in (shipped_dir() / "posterior").glob("*.parquet"))
            raise ScenarioError(f"{shown(str(ref))[:120]}: no such posterior (shipped: "
                                f"{', '.join(names) or 'none'}; or give a posterior.parquet)")
        candidate = shipped
    where = shown(candidate)
    try:
        frame = pq.read_table(candidate).to_pandas()
    except (pa.ArrowException, OSError) as exc:
        raise ScenarioError(f"{where}: not a readable Parquet file "
                            f"({shown(str(exc))[:100]})") from None
    paths = [c for c in frame.columns if c not in ("draw", "weight")]
    if "draw" not in frame.columns or not paths or frame.empty:
        raise ScenarioError(f"{where}: not a posterior (needs a 'draw' column, at least one "
                            "dotted-path column and one row)")
    if "weight" not in frame.columns:
        frame = frame.assign(weight=1.0 / len(frame))
    numbers = frame[[*paths, "weight"]].apply(pd.to_numeric, errors="coerce")
    if not np.isfinite(numbers.to_numpy(dtype=float)).all() or (numbers["weight"] < 0).any() \
            or numbers["weight"].sum() <= 0:
        raise ScenarioError(f"{where}: a posterior's values and weights must be finite "
                            "numbers, the weights non-negative and not all zero")
    frame = pd.concat([frame[["draw"]], numbers], axis=1)[["draw", "weight", *paths]]
    reference = candidate.stem if (shipped_dir() / f"{candidate.stem}.toml").is_file() \
        else DEFAULT_POSTERIOR
    return Posterior(candidate.stem, candidate, frame.reset_index(drop=True), reference)


def choose_draws(posterior: Posterior, k: int, seed: int) -> np.ndarray:
    """Row positions of ``k`` draws, chosen by a stream keyed by ``seed``.

    Example:
        >>> post = load_posterior("baseline")
        >>> rows = choose_draws(post, 8, seed=1)
        >>> len(rows), len(set(rows.tolist())), bool((rows == choose_draws(post, 8, 1)).all())
        (8, 8, True)
    """
    weights = posterior.frame["weight"].to_numpy(dtype=float)
    rng = np.random.default_rng([int(seed), _TAG])
    n = len(weights)
    if k <= n and np.allclose(weights, weights[0]):
        return np.sort(rng.choice(n, size=k, replace=False))
    return rng.choice(n, size=k, replace=True, p=weights / weights.sum())


def own_paths(scenario: Scenario, reference: Scenario, paths: list[str]) -> set[str]:
    """The paths whose value in ``scenario`` differs from ``reference`` (kept by a draw).

    Raises:
        ScenarioError: A path the scenario does not have (a posterior of another world).
    """
    from sim.scenario.overrides import value_at as current_value

    own = set()
    for path in paths:
        try:
            mine = current_value(scenario, path)
        except ScenarioError as exc:
            raise ScenarioError(f"scenario {scenario.scenario.name!r} has no {path} for the "
                                f"posterior to set ({str(exc).splitlines()[0]}); use "
                                "--posterior none (posterior=None) to run its own values"
                                ) from None
        try:
            theirs = current_value(reference, path)
        except ScenarioError:
            theirs = None
        if mine != theirs:
            own.add(path)
    return own


def draw_overrides(scenario: Scenario, posterior: Posterior, rows: np.ndarray,
                   reference: Scenario | None = None) -> tuple[list[dict[str, float]], set[str]]:
    """Each chosen draw's overrides for ``scenario``, and the paths it keeps as its own.

    Example:
        >>> from sim.scenario.loader import load_scenario
        >>> post = load_posterior("baseline")
        >>> draws, kept = draw_overrides(load_scenario("strong_network_effects"), post,
        ...                              choose_draws(post, 2, seed=1))
        >>> sorted(kept), "world.network_effect" in draws[0]
        (['world.network_effect'], False)
    """
    from sim.scenario.loader import load_scenario

    reference = reference if reference is not None else load_scenario(posterior.reference)
    kept = own_paths(scenario, reference, posterior.paths)
    draws = [{p: v for p, v in posterior.values(int(r)).items() if p not in kept}
             for r in rows]
    return draws, kept
